/* SPDX-License-Identifier: MIT */
/*
 * config.c: every valid form of the grammar, every error with its line
 * number, warnings for unknown names and swappable `cmd` paths, and the
 * owner/mode/type checks of config_load(). Owner checks need root (chown):
 * they are the root-only part (`check_config root`, skipped unless root).
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cleanup.h"
#include "config.h"
#include "test-util.h"

/* Collects warnings so tests can assert them exactly. */
struct warnings {
	char *msg[16];
	size_t n;
};

static void
collect(void *userdata, const char *message)
{
	struct warnings *w = userdata;

	ck_assert_uint_lt(w->n, ELEMENTSOF(w->msg));
	w->msg[w->n++] = strdup(message);
}

static void
warnings_done(struct warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->msg[i]);
	w->n = 0;
}

static struct policy *
parse_ok(const char *text, struct warnings *w)
{
	struct policy *p = NULL;
	char *error = NULL;
	int r = config_parse_string("t.conf", text, collect, w, &p, &error);

	ck_assert_msg(r == 0, "\"%s\": %s", text, error ? error : strerror(-r));
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->path, "t.conf");
	return p;
}

/* One rule per case; fields not listed are expected to be zero/false. */
static const struct {
	const char *text;
	bool permit, is_group, has_target, has_args, keepenv;
	const char *ident, *target, *cmd;
	uid_t ident_id, target_uid;
	size_t n_args, n_env;
	bool narrowgroups;
} valid[] = {
	{"permit root", true, .ident = "root", .ident_id = 0},
	{"deny root", false, .ident = "root", .ident_id = 0},
	{"permit :root", true, true, .ident = "root", .ident_id = 0},
	{"permit 0", true, .ident = "0", .ident_id = 0},
	{"permit 12345", true, .ident = "12345", .ident_id = 12345},
	{"permit 4294967294", true, .ident = "4294967294", .ident_id = 4294967294u},
	{"permit :0", true, true, .ident = "0", .ident_id = 0},
	{"permit :54321", true, true, .ident = "54321", .ident_id = 54321},
	{"permit root as root", true, .has_target = true, .ident = "root", .target = "root"},
	{"permit 7 as 0", true, .has_target = true, .ident = "7", .ident_id = 7, .target = "0"},
	{"permit root cmd /usr/bin/true", true, .ident = "root", .cmd = "/usr/bin/true"},
	{"permit root cmd /usr/bin/true args", true, .has_args = true, .ident = "root",
	 .cmd = "/usr/bin/true"},
	{"permit root cmd /usr/bin/true args a b c", true, .has_args = true, .ident = "root",
	 .cmd = "/usr/bin/true", .n_args = 3},
	{"deny :0 as root cmd /usr/bin/true args -n", false, true, true, true, .ident = "0",
	 .target = "root", .cmd = "/usr/bin/true", .n_args = 1},
	{"permit keepenv root", true, .keepenv = true, .ident = "root"},
	{"permit setenv { FOO BAR=1 -BAZ } root", true, .ident = "root", .n_env = 3},
	{"permit setenv {FOO} root", true, .ident = "root", .n_env = 1},
	{"permit setenv{FOO BAR=}root", true, .ident = "root", .n_env = 2},
	{"permit setenv { } root", true, .ident = "root"},
	{"permit setenv {} root", true, .ident = "root"},
	{"permit keepenv setenv { A } root", true, .keepenv = true, .ident = "root", .n_env = 1},
	{"permit setenv { A } keepenv root", true, .keepenv = true, .ident = "root", .n_env = 1},
	{"permit narrowgroups root", true, .ident = "root", .narrowgroups = true},
	{"permit keepenv narrowgroups setenv { A } root as root", true, .has_target = true,
	 .keepenv = true, .ident = "root", .target = "root", .n_env = 1, .narrowgroups = true},
	{"permit root # a comment", true, .ident = "root"},
	{"permit root#comment right after", true, .ident = "root"},
	{" \t permit\troot \t", true, .ident = "root"},
	{"permit \"root\"", true, .ident = "root"},
	{"permit ro\"o\"t", true, .ident = "root"},
	{"permit r\\oot", true, .ident = "root"},
	{"permit root as root cmd /usr/bin/true args as cmd args", true, .has_target = true,
	 .has_args = true, .ident = "root", .target = "root", .cmd = "/usr/bin/true", .n_args = 3},
};

START_TEST(test_valid)
{
	struct warnings w = {};
	struct policy *p = parse_ok(valid[_i].text, &w);
	const struct policy_rule *r;

	ck_assert_msg(w.n == 0, "\"%s\": unexpected warning %s", valid[_i].text, w.msg[0]);
	ck_assert_uint_eq(p->n_rules, 1);
	r = &p->rules[0];
	ck_assert_uint_eq(r->line, 1);
	ck_assert(r->permit == valid[_i].permit);
	ck_assert(r->is_group == valid[_i].is_group);
	ck_assert(r->ident_valid);
	ck_assert_str_eq(r->ident_name, valid[_i].ident);
	if (r->is_group)
		ck_assert_uint_eq(r->ident_gid, valid[_i].ident_id);
	else
		ck_assert_uint_eq(r->ident_uid, valid[_i].ident_id);
	ck_assert(r->has_target == valid[_i].has_target);
	if (r->has_target) {
		ck_assert(r->target_valid);
		ck_assert_str_eq(r->target_name, valid[_i].target);
		ck_assert_uint_eq(r->target_uid, valid[_i].target_uid);
	}
	if (valid[_i].cmd)
		ck_assert_str_eq(r->cmd, valid[_i].cmd);
	else
		ck_assert_ptr_null(r->cmd);
	ck_assert(r->has_args == valid[_i].has_args);
	ck_assert_uint_eq(r->n_args, valid[_i].n_args);
	if (r->has_args)
		ck_assert_ptr_null(r->args[r->n_args]);
	ck_assert(r->keepenv == valid[_i].keepenv);
	ck_assert(r->narrowgroups == valid[_i].narrowgroups);
	ck_assert_uint_eq(r->n_env, valid[_i].n_env);
	policy_free(p);
}
END_TEST

START_TEST(test_setenv_entries)
{
	struct warnings w = {};
	struct policy *p = parse_ok("permit setenv { FOO BAR=1 -BAZ EMPTY= Q=\"a b#{}\" } 0", &w);
	const struct env_rule *e = p->rules[0].env;

	ck_assert_uint_eq(p->rules[0].n_env, 5);
	ck_assert_int_eq(e[0].action, ENV_PASS);
	ck_assert_str_eq(e[0].name, "FOO");
	ck_assert_ptr_null(e[0].value);
	ck_assert_int_eq(e[1].action, ENV_SET);
	ck_assert_str_eq(e[1].name, "BAR");
	ck_assert_str_eq(e[1].value, "1");
	ck_assert_int_eq(e[2].action, ENV_REMOVE);
	ck_assert_str_eq(e[2].name, "BAZ");
	ck_assert_ptr_null(e[2].value);
	ck_assert_int_eq(e[3].action, ENV_SET);
	ck_assert_str_eq(e[3].value, "");
	ck_assert_str_eq(e[4].name, "Q");
	ck_assert_str_eq(e[4].value, "a b#{}");
	policy_free(p);
}
END_TEST

/* Quotes and backslashes keep arguments byte-exact (HOSTILE.md 12). */
START_TEST(test_args_quoting)
{
	struct warnings w = {};
	struct policy *p = parse_ok("permit 0 cmd /usr/bin/printf args \"a b\" c\\ d \"x\\\"y\" "
				    "\"\" '1' \\# \"{\" --bind=/ a#gone",
				    &w);
	const struct policy_rule *r = &p->rules[0];
	const char *want[] = {"a b", "c d", "x\"y", "", "'1'", "#", "{", "--bind=/", "a"};

	ck_assert_uint_eq(r->n_args, ELEMENTSOF(want));
	for (size_t i = 0; i < ELEMENTSOF(want); i++)
		ck_assert_str_eq(r->args[i], want[i]);
	ck_assert_ptr_null(r->args[r->n_args]);
	policy_free(p);
}
END_TEST

/* A quoted word is never a keyword: a user may be called "cmd". */
START_TEST(test_quoted_keyword)
{
	struct warnings w = {};
	struct policy *p = parse_ok("permit \"cmd\"\npermit \"as\" as \"args\"", &w);

	ck_assert_uint_eq(p->n_rules, 2);
	ck_assert_str_eq(p->rules[0].ident_name, "cmd");
	ck_assert(!p->rules[0].ident_valid);
	ck_assert_str_eq(p->rules[1].target_name, "args");
	ck_assert_uint_eq(w.n, 3);
	ck_assert_str_eq(w.msg[0], "t.conf:1: warning: unknown user 'cmd'");
	ck_assert_str_eq(w.msg[1], "t.conf:2: warning: unknown user 'as'");
	ck_assert_str_eq(w.msg[2], "t.conf:2: warning: unknown user 'args'");
	warnings_done(&w);
	policy_free(p);
}
END_TEST

START_TEST(test_lines)
{
	struct warnings w = {};
	struct policy *p = parse_ok("# header\n"
				    "\n"
				    "permit 1\n"
				    "   # indented comment\n"
				    "\t\n"
				    "deny 2 as 0\n"
				    "permit :3 cmd /usr/bin/true", /* no final newline */
				    &w);

	ck_assert_uint_eq(p->n_rules, 3);
	ck_assert_uint_eq(p->rules[0].line, 3);
	ck_assert_uint_eq(p->rules[1].line, 6);
	ck_assert_uint_eq(p->rules[2].line, 7);
	ck_assert(p->rules[0].permit);
	ck_assert(!p->rules[1].permit);
	ck_assert(p->rules[2].is_group);
	policy_free(p);

	p = parse_ok("", &w);
	ck_assert_uint_eq(p->n_rules, 0);
	policy_free(p);
	p = parse_ok("\n\n# only comments\n", &w);
	ck_assert_uint_eq(p->n_rules, 0);
	policy_free(p);
	ck_assert_uint_eq(w.n, 0);
}
END_TEST

/* Each error sits on line 3, after a comment and a valid rule. */
static const struct {
	const char *line;
	const char *msg;
} errors[] = {
	{"allow root", "unknown keyword 'allow'"},
	{"\"permit\" root", "unknown keyword 'permit'"},
	{"root", "unknown keyword 'root'"},
	{"{", "unknown keyword '{'"},
	{"permit", "missing identity after 'permit'"},
	{"permit keepenv", "missing identity after 'keepenv'"},
	{"permit setenv { A }", "missing identity after '}'"},
	{"permit as root", "missing identity after 'permit'"},
	{"permit cmd /usr/bin/true", "missing identity after 'permit'"},
	{"permit root as", "missing target user after 'as'"},
	{"permit root as cmd /usr/bin/true", "missing target user after 'as'"},
	{"permit root as :root", "target ':root' must be a user, not a group"},
	{"permit root as \"\"", "empty target user"},
	{"permit root cmd", "missing command after 'cmd'"},
	{"permit root cmd args", "missing command after 'cmd'"},
	{"permit root cmd true", "cmd 'true' must be an absolute path"},
	{"permit root cmd ./true", "cmd './true' must be an absolute path"},
	{"permit root cmd \"\"", "cmd '' must be an absolute path"},
	{"permit root args", "'args' without 'cmd'"},
	{"permit root args x", "'args' without 'cmd'"},
	{"permit root extra", "unexpected word 'extra'"},
	{"permit root root", "unexpected word 'root'"},
	{"permit root as root root", "unexpected word 'root'"},
	{"permit root cmd /usr/bin/true as root", "unexpected word 'as'"},
	{"permit root cmd /usr/bin/true cmd /usr/bin/true", "unexpected word 'cmd'"},
	{"permit root keepenv", "unexpected word 'keepenv'"},
	{"permit root }", "unexpected word '}'"},
	{"permit root {", "unexpected word '{'"},
	{"permit root cmd /usr/bin/true args {", "unexpected '{' in args"},
	{"permit root cmd /usr/bin/true args a }", "unexpected '}' in args"},
	{"permit setenv { FOO root", "missing '}' to close 'setenv {'"},
	{"permit setenv {", "missing '}' to close 'setenv {'"},
	{"permit setenv FOO root", "expected '{' after 'setenv'"},
	{"permit setenv", "expected '{' after 'setenv'"},
	{"permit setenv { { } root", "unexpected '{' inside 'setenv { }'"},
	{"permit setenv { A } setenv { B } root", "duplicate option 'setenv'"},
	{"permit keepenv keepenv root", "duplicate option 'keepenv'"},
	{"permit narrowgroups keepenv narrowgroups root", "duplicate option 'narrowgroups'"},
	{"permit narrowgroups", "missing identity after 'narrowgroups'"},
	{"permit root narrowgroups", "unexpected word 'narrowgroups'"},
	/* CRLF line ends are an error on the line, not a user "root\r". */
	{"permit root\r", "carriage return in line (CRLF line ends?): lines must end with LF only"},
	{"# comment\r", "carriage return in line (CRLF line ends?): lines must end with LF only"},
	{"permit ro\rot", "carriage return in line (CRLF line ends?): lines must end with LF only"},
	{"permit setenv { =x } root", "bad setenv entry '=x'"},
	{"permit setenv { 1X } root", "bad setenv entry '1X'"},
	{"permit setenv { - } root", "bad setenv entry '-'"},
	{"permit setenv { -A=1 } root", "bad setenv entry '-A=1'"},
	{"permit setenv { A-B } root", "bad setenv entry 'A-B'"},
	{"permit setenv { \"\" } root", "bad setenv entry ''"},
	{"permit setenv { FOO -FOO } root", "duplicate setenv entry 'FOO'"},
	{"permit setenv { FOO=1 FOO=2 } root", "duplicate setenv entry 'FOO'"},
	{"permit setenv { A=$B } root",
	 "setenv 'A=$B': copying a variable with $ is not supported"},
	{"permit \"root", "unterminated quotes"},
	{"permit root\\", "unterminated escape at end of line"},
	{"permit :", "missing group name after ':'"},
	{"permit \"\"", "empty identity"},
	{"permit 01", "bad user id '01'"},
	{"permit 4294967295", "bad user id '4294967295'"},
	{"permit 99999999999", "bad user id '99999999999'"},
	{"permit :4294967295", "bad group id '4294967295'"},
	{"permit :00", "bad group id '00'"},
	{"permit root as 4294967295", "bad user id '4294967295'"},
	{"permit root as 007", "bad user id '007'"},
};

START_TEST(test_errors)
{
	struct policy *p = (struct policy *)0x1;
	_cleanup_free_ char *text = NULL, *want = NULL;
	char *error = NULL;
	int r;

	ck_assert_int_ge(
		asprintf(&text, "# comment\npermit root\n%s\npermit root\n", errors[_i].line), 0);
	ck_assert_int_ge(asprintf(&want, "t.conf:3: %s", errors[_i].msg), 0);
	r = config_parse_string("t.conf", text, NULL, NULL, &p, &error);
	ck_assert_msg(r == -EINVAL, "\"%s\": got %d", errors[_i].line, r);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, want);
	/* The policy is written only on success. */
	ck_assert_ptr_eq(p, (struct policy *)0x1);
	free(error);
}
END_TEST

START_TEST(test_line_too_long)
{
	_cleanup_free_ char *text = malloc(9000);
	struct policy *p = NULL;
	char *error = NULL;

	memset(text, 'a', 8999);
	text[8999] = '\0';
	memcpy(text, "# x\npermit ", 11);
	ASSERT_ERROR(config_parse_string("t.conf", text, NULL, NULL, &p, &error), -EINVAL);
	ck_assert_str_eq(error, "t.conf:2: line too long (more than 8192 bytes)");
	ck_assert_ptr_null(p);
	free(error);
}
END_TEST

START_TEST(test_unknown_names)
{
	struct warnings w = {};
	struct policy *p = parse_ok("permit no-such-user-xyz\n"
				    "deny :no-such-group-xyz\n"
				    "permit root as no-such-user-xyz\n"
				    "permit root as 4294967290\n",
				    &w);

	ck_assert_uint_eq(p->n_rules, 4);
	ck_assert(!p->rules[0].ident_valid);
	ck_assert(!p->rules[1].ident_valid);
	ck_assert(p->rules[1].is_group);
	ck_assert(p->rules[2].ident_valid);
	ck_assert(p->rules[2].has_target);
	ck_assert(!p->rules[2].target_valid);
	ck_assert(!p->rules[3].target_valid);
	ck_assert_uint_eq(w.n, 4);
	ck_assert_str_eq(w.msg[0], "t.conf:1: warning: unknown user 'no-such-user-xyz'");
	ck_assert_str_eq(w.msg[1], "t.conf:2: warning: unknown group 'no-such-group-xyz'");
	ck_assert_str_eq(w.msg[2], "t.conf:3: warning: unknown user 'no-such-user-xyz'");
	ck_assert_str_eq(w.msg[3], "t.conf:4: warning: unknown user '4294967290'");
	warnings_done(&w);
	policy_free(p);

	/* Without a callback the warnings are simply not reported. */
	p = NULL;
	ASSERT_OK(config_parse_string("t.conf", "permit no-such-user-xyz", NULL, NULL, &p, NULL));
	ck_assert(!p->rules[0].ident_valid);
	policy_free(p);
}
END_TEST

/*
 * The first directory on the way to path (path itself left out) that is not
 * root-owned or is writable by group or other, symlinks passed over: the
 * one a warning must name (spawnd.conf(5), `cmd`). Malloc'd, or NULL.
 */
static char *
first_unsafe_dir(const char *path)
{
	for (size_t i = 1; path[i]; i++) {
		_cleanup_free_ char *prefix = NULL;
		struct stat st;

		if (path[i] != '/')
			continue;
		prefix = strndup(path, i);
		ck_assert_ptr_nonnull(prefix);
		ck_assert_int_eq(lstat(prefix, &st), 0);
		if (!S_ISLNK(st.st_mode) &&
		    (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))))
			return TAKE_PTR(prefix);
	}
	return NULL;
}

/*
 * HOSTILE.md 14: a cmd under a world-writable directory can be swapped. The
 * directory is made world-writable here, so the warning is due whatever
 * /tmp is like; it names the first unsafe directory on the way (/tmp on
 * most machines).
 */
START_TEST(test_cmd_untrusted)
{
	char dir[] = "/tmp/spawnd-config-XXXXXX";
	_cleanup_free_ char *cmd = NULL, *text = NULL, *want = NULL, *unsafe = NULL;
	struct warnings w = {};
	struct policy *p;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_ge(asprintf(&cmd, "%s/prog", dir), 0);
	fd = open(cmd, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	close(fd);

	ck_assert_int_ge(
		asprintf(&text, "permit root cmd %s\npermit root cmd /no/such/prog\n", cmd), 0);
	p = parse_ok(text, &w);
	ck_assert_uint_eq(p->n_rules, 2);
	ck_assert_uint_eq(w.n, 2);
	unsafe = first_unsafe_dir(cmd);
	ck_assert_ptr_nonnull(unsafe);
	ck_assert_int_ge(asprintf(&want,
				  "t.conf:1: warning: cmd %s: directory %s is writable by non-root",
				  cmd, unsafe),
			 0);
	ck_assert_str_eq(w.msg[0], want);
	ck_assert_str_eq(w.msg[1],
			 "t.conf:2: warning: cmd /no/such/prog: /no: No such file or directory");
	warnings_done(&w);
	policy_free(p);
	(void)unlink(cmd);
	(void)rmdir(dir);
}
END_TEST

/*
 * HOSTILE.md 44: a rule's cmd is kept in normal form and, when it resolves
 * at load, with its canonical path; one that does not resolve keeps the
 * normal form only (and the warning above).
 */
START_TEST(test_cmd_forms)
{
	_cleanup_free_ char *sh = realpath("/bin/sh", NULL);
	struct warnings w = {};
	struct policy *p =
		parse_ok("deny root cmd /bin//./sh\npermit root cmd /no//such/./prog\n", &w);

	ck_assert_ptr_nonnull(sh);
	ck_assert_uint_eq(p->n_rules, 2);
	ck_assert_str_eq(p->rules[0].cmd, "/bin/sh");
	ck_assert_str_eq(p->rules[0].cmd_canonical, sh);
	ck_assert_str_eq(p->rules[1].cmd, "/no/such/prog");
	ck_assert_ptr_null(p->rules[1].cmd_canonical);
	ck_assert_uint_eq(w.n, 1);
	warnings_done(&w);
	policy_free(p);
}
END_TEST

/* A deny of one program after a permit of anything for the same client is no sandbox. */
static const struct {
	const char *text;
	const char *warning; /* NULL = none */
} deny_after_permit[] = {
	{"permit 1000\ndeny 1000 cmd /bin/sh\n",
	 "t.conf:2: warning: deny of /bin/sh after the broader permit on line 1 is no sandbox: "
	 "another program (another shell, an interpreter, a copy) still runs; permit only the "
	 "commands that may run"},
	/* Same client written another way, and a target shared with the permit. */
	{"permit root as root\n# x\ndeny 0 as root cmd /bin//sh\n",
	 "t.conf:3: warning: deny of /bin/sh after the broader permit on line 1 is no sandbox: "
	 "another program (another shell, an interpreter, a copy) still runs; permit only the "
	 "commands that may run"},
	{"permit :0 as root\ndeny :0 cmd /bin/sh\n",
	 "t.conf:2: warning: deny of /bin/sh after the broader permit on line 1 is no sandbox: "
	 "another program (another shell, an interpreter, a copy) still runs; permit only the "
	 "commands that may run"},
	/* Not that pattern: a deny first, another client, another target, a narrow permit. */
	{"deny 1000 cmd /bin/sh\npermit 1000\n", NULL},
	{"permit 1000\ndeny 1001 cmd /bin/sh\n", NULL},
	{"permit :1000\ndeny 1000 cmd /bin/sh\n", NULL},
	{"permit 1000 as root\ndeny 1000 as 1 cmd /bin/sh\n", NULL},
	{"permit 1000 cmd /usr/bin/id\ndeny 1000 cmd /usr/bin/id args -g\n", NULL},
	{"permit 1000\ndeny 1000\n", NULL},
};

START_TEST(test_deny_after_permit)
{
	struct warnings w = {};
	struct policy *p = parse_ok(deny_after_permit[_i].text, &w);

	if (deny_after_permit[_i].warning) {
		ck_assert_msg(w.n == 1, "\"%s\": %zu warnings", deny_after_permit[_i].text, w.n);
		ck_assert_str_eq(w.msg[0], deny_after_permit[_i].warning);
	} else
		ck_assert_msg(w.n == 0, "\"%s\": unexpected warning %s", deny_after_permit[_i].text,
			      w.msg[0]);
	warnings_done(&w);
	policy_free(p);
}
END_TEST

/* Load a file through config_load, with the owner check on or off. */
static int
load(const char *path, bool check_owner, struct policy **ret, char **ret_error)
{
	return config_load(path, check_owner, NULL, NULL, ret, ret_error);
}

/*
 * config_load() of path fails with err and the message "<path><suffix>",
 * and writes no policy.
 */
static void
expect_load_error(const char *path, bool check_owner, int err, const char *suffix)
{
	_cleanup_free_ char *want = NULL;
	struct policy *p = NULL;
	char *error = NULL;

	ASSERT_ERROR(load(path, check_owner, &p, &error), err);
	ck_assert_ptr_null(p);
	ck_assert_int_ge(asprintf(&want, "%s%s", path, suffix), 0);
	ck_assert_ptr_nonnull(error);
	ck_assert_str_eq(error, want);
	free(error);
}

static char tmpdir[64];

static void
make_tmpdir(void)
{
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/spawnd-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
remove_entry(const char *path, const struct stat *st _unused_, int flag _unused_,
	     struct FTW *ftw _unused_)
{
	(void)remove(path);
	return 0;
}

/* Checked teardown: runs in the test's own process after a passing test. */
static void
remove_tmpdir(void)
{
	if (tmpdir[0])
		(void)nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char *path;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(test_load_file)
{
	_cleanup_free_ char *path = NULL, *lnk = NULL;
	struct policy *p = NULL;
	char *error = NULL;

	make_tmpdir();
	path = write_file("ok.conf", "permit root\ndeny root as root\n", 30, 0644);
	ASSERT_OK(load(path, false, &p, &error));
	ck_assert_uint_eq(p->n_rules, 2);
	ck_assert_str_eq(p->path, path);
	policy_free(p);

	/* Errors name the file as given. */
	free(path);
	path = write_file("bad.conf", "permit root\nbogus\n", 18, 0644);
	expect_load_error(path, false, -EINVAL, ":2: unknown keyword 'bogus'");

	/* A symlink to a good file is read (the checks apply to the target). */
	ck_assert_int_ge(asprintf(&lnk, "%s/link.conf", tmpdir), 0);
	free(path);
	path = write_file("ok.conf", "permit root\n", 12, 0644);
	ck_assert_int_eq(symlink(path, lnk), 0);
	ASSERT_OK(load(lnk, false, &p, &error));
	ck_assert_uint_eq(p->n_rules, 1);
	policy_free(p);
}
END_TEST

START_TEST(test_load_nul)
{
	_cleanup_free_ char *path = NULL;

	make_tmpdir();
	path = write_file("nul.conf", "permit root\npermit\0root\n", 24, 0644);
	expect_load_error(path, false, -EINVAL, ":2: NUL byte in line");
}
END_TEST

/* A file saved with CRLF line ends: an error naming its first line (issue 9). */
START_TEST(test_load_crlf)
{
	_cleanup_free_ char *path = NULL;
	const char *text = "# saved on Windows\r\npermit root\r\n";

	make_tmpdir();
	path = write_file("crlf.conf", text, strlen(text), 0644);
	expect_load_error(path, false, -EINVAL,
			  ":1: carriage return in line (CRLF line ends?): lines must end with LF "
			  "only");
	free(path);

	/* One CRLF line among LF lines is named too. */
	text = "permit root\n\npermit root\r\n";
	path = write_file("mixed.conf", text, strlen(text), 0644);
	expect_load_error(path, false, -EINVAL,
			  ":3: carriage return in line (CRLF line ends?): lines must end with LF "
			  "only");
}
END_TEST

START_TEST(test_load_not_regular)
{
	_cleanup_free_ char *fifo = NULL;
	struct policy *p = NULL;
	char *error = NULL;

	make_tmpdir();
	expect_load_error(tmpdir, false, -EINVAL, ": not a regular file");

	/* A FIFO must be refused, not block the daemon in open(). */
	ck_assert_int_ge(asprintf(&fifo, "%s/fifo", tmpdir), 0);
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	ASSERT_ERROR(load(fifo, false, &p, &error), -EINVAL);
	free(error);

	ck_assert_ptr_null(p);
	expect_load_error("/no/such/spawnd.conf", false, -ENOENT, ": No such file or directory");
}
END_TEST

START_TEST(test_load_too_large)
{
	_cleanup_free_ char *path = NULL, *big = NULL;
	size_t size = 1024 * 1024 + 1;
	struct policy *p = NULL;
	char *error = NULL;

	make_tmpdir();
	big = malloc(size);
	for (size_t i = 0; i < size; i += 2) {
		big[i] = '#';
		if (i + 1 < size)
			big[i + 1] = '\n';
	}
	path = write_file("big.conf", big, size, 0644);
	expect_load_error(path, false, -EFBIG, ": file too large (more than 1 MiB)");

	/* Exactly 1 MiB is fine. */
	free(path);
	path = write_file("max.conf", big, size - 1, 0644);
	ASSERT_OK(load(path, false, &p, &error));
	ck_assert_uint_eq(p->n_rules, 0);
	policy_free(p);
}
END_TEST

/* Root only: the file must be owned by root and not writable by group/other. */
START_TEST(test_load_owner)
{
	static const char rule[] = "permit root\n";
	static const mode_t refused_modes[] = {0664, 0646, 0666, 0620, 0602};
	static const char refused[] = ": must be owned by root and not writable by group or other";
	_cleanup_free_ char *path = NULL;
	struct passwd *nobody = getpwnam("nobody");
	struct policy *p = NULL;
	char *error = NULL;

	make_tmpdir();
	path = write_file("owner.conf", rule, sizeof(rule) - 1, 0644);

	ASSERT_OK(load(path, true, &p, &error));
	ck_assert_uint_eq(p->n_rules, 1);
	policy_free(p);
	p = NULL;
	ck_assert_int_eq(chmod(path, 0600), 0);
	ASSERT_OK(load(path, true, &p, &error));
	policy_free(p);
	p = NULL;

	for (size_t i = 0; i < ELEMENTSOF(refused_modes); i++) {
		ck_assert_int_eq(chmod(path, refused_modes[i]), 0);
		expect_load_error(path, true, -EPERM, refused);
		/* The grammar-only mode does not care. */
		ASSERT_OK(load(path, false, &p, &error));
		policy_free(p);
		p = NULL;
	}

	ck_assert_ptr_nonnull(nobody);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(chown(path, nobody->pw_uid, 0), 0);
	expect_load_error(path, true, -EPERM, refused);
}
END_TEST

/* tests/policy/example.conf of the source tree this test was built from. */
START_TEST(test_example_file)
{
	const char *path = SPAWND_SOURCE_DIR "/tests/policy/example.conf";
	struct warnings w = {};
	struct policy *p = NULL;
	char *error = NULL;

	ck_assert_msg(config_load(path, false, collect, &w, &p, &error) == 0, "%s", error);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_ge(p->n_rules, 5);
	/* The file ends with a deny for nobody, the last word on it. */
	ck_assert(!p->rules[p->n_rules - 1].permit);
	ck_assert_str_eq(p->rules[p->n_rules - 1].ident_name, "nobody");
	policy_free(p);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("grammar");

	tcase_add_loop_test(tc, test_valid, 0, (int)ELEMENTSOF(valid));
	tcase_add_test(tc, test_setenv_entries);
	tcase_add_test(tc, test_args_quoting);
	tcase_add_test(tc, test_quoted_keyword);
	tcase_add_test(tc, test_lines);
	tcase_add_loop_test(tc, test_errors, 0, (int)ELEMENTSOF(errors));
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_unknown_names);
	tcase_add_test(tc, test_cmd_untrusted);
	tcase_add_test(tc, test_cmd_forms);
	tcase_add_loop_test(tc, test_deny_after_permit, 0, (int)ELEMENTSOF(deny_after_permit));
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, remove_tmpdir);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_nul);
	tcase_add_test(tc, test_load_crlf);
	tcase_add_test(tc, test_load_not_regular);
	tcase_add_test(tc, test_load_too_large);
	tcase_add_test(tc, test_example_file);
	suite_add_tcase(s, tc);
	return s;
}

/* Root only: a policy file chowned to nobody. */
static Suite *
config_root_suite(void)
{
	Suite *s = suite_create("config-root");
	TCase *tc = tcase_create("load");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, remove_tmpdir);
	tcase_add_test(tc, test_load_owner);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	return test_main_split(argc, argv, config_suite, config_root_suite);
}
