/* SPDX-License-Identifier: MIT */
/*
 * End-to-end tests of spawnd through libspawnd: the real daemon on a
 * socket-activated temp socket, real uid switches, the spawn-probe child
 * reporting its own state. Each START_TEST names the invariant it proves
 * (docs/security.md maps DESIGN.md section 7 onto these names).
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- helpers ---- */

/* "CONF:LINE", the detail of a policy decision by that rule. */
static const char *
rule_ref(unsigned line)
{
	static char buf[PATH_MAX + 16];

	xsnprintf(buf, sizeof(buf), "%s:%u", fx.conf, line);
	return buf;
}

/*
 * A policy detail names the deciding rule: it ends with "CONF:LINE" or with
 * "no matching rule" (the daemon may prefix context such as "PATH as USER: rule").
 */
static bool
detail_names(const char *detail, const char *want)
{
	size_t d = strlen(detail), w = strlen(want);

	return d >= w && strcmp(detail + d - w, want) == 0 && (d == w || detail[d - w - 1] == ' ');
}

/*
 * The detail of a refused setting names the variable: it is the name, or a
 * phrase containing the name as a whole word ("setenv NAME: not allowed").
 */
static bool
detail_mentions(const char *detail, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(detail, name); p; p = strstr(p + 1, name)) {
		char before = p == detail ? ' ' : p[-1], after = p[n];

		if ((before == ' ' || before == '\'' || before == '"') &&
		    (after == '\0' || after == ':' || after == ' ' || after == '\'' ||
		     after == '"'))
			return true;
	}
	return false;
}

#define ASSERT_DETAIL_MENTIONS(detail, name)                                                       \
	ck_assert_msg(detail_mentions((detail), (name)), "detail '%s' does not name %s", (detail), \
		      (name))

#define ASSERT_DETAIL_NAMES(detail, want)                                                          \
	ck_assert_msg(detail_names((detail), (want)), "detail '%s' does not name '%s'", (detail),  \
		      (want))

/* Spawn argv as user with stdout captured, through to the exit. */
static void
spawn_simple(spawnd_client *c, const char *user, const char *const *argv, struct run *ret)
{
	spawnd_options *o = opts_new(user, argv);

	run_spawn(c, o, true, ret);
	spawnd_options_free(o);
}

/* Assert that every env.* key of the report is in the allowed list. */
static void
assert_env_only(const struct report *rep, const char *const *allowed)
{
	size_t pos = 0;
	const char *line;

	while ((line = report_next(rep, &pos))) {
		const char *eq = strchr(line, '=');
		bool ok = false;

		if (strncmp(line, "env.", 4) != 0 || !eq)
			continue;
		for (size_t i = 0; allowed[i]; i++)
			if ((size_t)(eq - line - 4) == strlen(allowed[i]) &&
			    strncmp(line + 4, allowed[i], strlen(allowed[i])) == 0)
				ok = true;
		if (!ok)
			report_dump(rep);
		ck_assert_msg(ok, "unexpected variable in the child's environment: %s", line);
	}
}

/* The probe's fd.N readlink value for fd n. */
static const char *
probe_fd(const struct report *rep, int n)
{
	char key[32];

	xsnprintf(key, sizeof(key), "fd.%d", n);
	return report_need(rep, key);
}

/* ---- credentials and the child's starting state ---- */

/*
 * Invariant: the child's uid/gid/groups equal the target's (getpwnam +
 * getgrouplist), real, effective and saved alike.
 */
START_TEST(test_child_credentials_are_the_targets)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_client *c = client_open();
	struct user_ids nobody, root;
	char groups[1024];
	struct run r;

	lookup_user("nobody", &nobody);
	lookup_user("root", &root);
	ck_assert_uint_ne(nobody.uid, 0);

	spawn_simple(c, "nobody", argv, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert_int_eq(report_num(&r.out, "pid", 10), r.pid);
	ck_assert_int_eq(report_num(&r.out, "uid", 10), nobody.uid);
	ck_assert_int_eq(report_num(&r.out, "euid", 10), nobody.uid);
	ck_assert_int_eq(report_num(&r.out, "suid", 10), nobody.uid);
	ck_assert_int_eq(report_num(&r.out, "gid", 10), nobody.gid);
	ck_assert_int_eq(report_num(&r.out, "egid", 10), nobody.gid);
	ck_assert_int_eq(report_num(&r.out, "sgid", 10), nobody.gid);
	numlist_normalize(report_need(&r.out, "groups"), groups, sizeof(groups));
	ck_assert_str_eq(groups, nobody.groups);
	run_done(&r);

	/* The same by number, and root's own groups for a root target. */
	{
		char uid[32];
		const char *argv2[] = {fx.probe, NULL};

		xsnprintf(uid, sizeof(uid), "%u", (unsigned)nobody.uid);
		spawn_simple(c, uid, argv2, &r);
		ASSERT_EXITED(&r, 0);
		ck_assert_int_eq(report_num(&r.out, "uid", 10), nobody.uid);
		ck_assert_int_eq(report_num(&r.out, "gid", 10), nobody.gid);
		run_done(&r);
	}
	spawn_simple(c, "root", argv, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert_int_eq(report_num(&r.out, "uid", 10), 0);
	ck_assert_int_eq(report_num(&r.out, "gid", 10), root.gid);
	numlist_normalize(report_need(&r.out, "groups"), groups, sizeof(groups));
	ck_assert_str_eq(groups, root.groups);
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/*
 * Invariant: a child starts with fds exactly {0,1,2}, unmapped 0/2 on
 * /dev/null (never the daemon's stderr), default signal dispositions and
 * an empty mask although the daemon inherited ignored and blocked signals,
 * a new session without a controlling terminal, RLIMIT_NOFILE soft <= 1024
 * although the daemon's was raised, oom_score_adj 0 (the daemon's is 0
 * here: test_oom_score_adj_stays_the_daemons starts one with 500), umask 022 although the daemon's is 077, cwd "/" although the
 * daemon runs elsewhere, and an environment built from empty.
 */
START_TEST(test_child_starts_clean)
{
	const char *argv[] = {fx.probe, NULL};
	const char *allowed[] = {"HOME", "SHELL",	"USER",	      "LOGNAME",
				 "PATH", "SPAWND_USER", "SPAWND_UID", NULL};
	spawnd_client *c = client_open();
	struct user_ids nobody;
	struct run r;

	lookup_user("nobody", &nobody);
	spawn_simple(c, "nobody", argv, &r);
	ASSERT_EXITED(&r, 0);

	ASSERT_STREQ_REPORT(&r.out, "fds", "0,1,2");
	ck_assert_str_eq(probe_fd(&r.out, 0), "/dev/null");
	ck_assert_str_eq(probe_fd(&r.out, 1), r.out_link);
	ck_assert_str_eq(probe_fd(&r.out, 2), "/dev/null");

	ck_assert_int_eq(report_num(&r.out, "sigblk", 16), 0);
	ck_assert_int_eq(report_num(&r.out, "sigign", 16), 0);
	ck_assert_int_eq(report_num(&r.out, "tty", 10), 0);
	ck_assert_int_eq(report_num(&r.out, "sid", 10), r.pid);
	ck_assert_int_eq(report_num(&r.out, "pgid", 10), r.pid);
	ck_assert_int_eq(report_num(&r.out, "ppid", 10), fx.pid);
	ck_assert_int_le(report_num(&r.out, "nofile_soft", 10), 1024);
	ck_assert_int_eq(report_num(&r.out, "oom_score_adj", 10), 0);
	ck_assert_int_eq(report_num(&r.out, "umask", 8), 022);
	ASSERT_STREQ_REPORT(&r.out, "cwd", "/");

	ASSERT_STREQ_REPORT(&r.out, "env.HOME", nobody.home);
	ASSERT_STREQ_REPORT(&r.out, "env.SHELL", nobody.shell);
	ASSERT_STREQ_REPORT(&r.out, "env.USER", "nobody");
	ASSERT_STREQ_REPORT(&r.out, "env.LOGNAME", "nobody");
	ASSERT_STREQ_REPORT(&r.out, "env.PATH",
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_USER", "root");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_UID", "0");
	/* Nothing else: in particular no LISTEN_FDS/LISTEN_PID from the activation. */
	assert_env_only(&r.out, allowed);
	run_done(&r);

	/* umask and cwd from the request are applied. */
	{
		spawnd_options *o = opts_new("nobody", argv);

		ck_assert_int_eq(spawnd_options_set_umask(o, 027), 0);
		ck_assert_int_eq(spawnd_options_set_cwd(o, "/tmp"), 0);
		run_spawn(c, o, true, &r);
		spawnd_options_free(o);
		ASSERT_EXITED(&r, 0);
		ck_assert_int_eq(report_num(&r.out, "umask", 8), 027);
		ASSERT_STREQ_REPORT(&r.out, "cwd", "/tmp");
		run_done(&r);
	}
	spawnd_client_close(c);
}
END_TEST

/* ---- identity and policy ---- */

/* One request made by the unprivileged client process. */
struct nobody_case {
	const char *user;
	const char *argv[4];
	const char *exec; /* spawnd_options_set_executable(), or NULL */
};

/*
 * Runs as nobody (no ck_assert here): make each request and print its
 * outcome as caseN.state/stage/errno/detail/exit/signal plus the child's
 * stdout lines as caseN.out.LINE.
 */
static int
nobody_client(void *arg, int out)
{
	const struct nobody_case *cases = arg;
	spawnd_client *c = NULL;
	int r = spawnd_client_open(&c, fx.sock, 0);

	if (r < 0) {
		out_printf(out, "error=connect: %s\n", strerror(-r));
		return 1;
	}
	for (int i = 0; cases[i].user; i++) {
		spawnd_options *o = NULL;
		spawnd_result *res = NULL;
		struct report rep;
		int p[2];

		if (spawnd_options_new(&o) < 0 || spawnd_options_set_user(o, cases[i].user) < 0 ||
		    spawnd_options_set_argv(o, (char *const *)cases[i].argv) < 0 ||
		    spawnd_options_set_executable(o, cases[i].exec) < 0 ||
		    pipe2(p, O_CLOEXEC) < 0 || spawnd_options_add_fd(o, 1, p[1]) < 0) {
			out_printf(out, "error=options\n");
			return 1;
		}
		r = spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res);
		(void)close(p[1]);
		spawnd_options_free(o);
		if (r < 0) {
			out_printf(out, "error=case%d: spawnd_spawn: %s\n", i, strerror(-r));
			return 1;
		}
		out_printf(out,
			   "case%d.state=%d\ncase%d.stage=%d\ncase%d.errno=%d\ncase%d.detail=%s\n",
			   i, (int)spawnd_result_get_state(res), i,
			   (int)spawnd_result_get_stage(res), i, spawnd_result_get_errno(res), i,
			   spawnd_result_get_detail(res));
		if (report_read_fd(p[0], &rep, 20000) == 0) {
			size_t pos = 0;
			const char *line;

			while ((line = report_next(&rep, &pos)))
				out_printf(out, "case%d.out.%s\n", i, line);
			report_done(&rep);
		}
		(void)close(p[0]);
		if (spawnd_result_get_state(res) == SPAWND_STATE_STARTED) {
			uint64_t id = spawnd_result_get_id(res);

			res = spawnd_result_free(res);
			r = spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res);
			if (r < 0) {
				out_printf(out, "error=case%d: spawnd_wait: %s\n", i, strerror(-r));
				return 1;
			}
			out_printf(out, "case%d.exit=%d\ncase%d.signal=%d\n", i,
				   spawnd_result_get_exit_code(res), i,
				   spawnd_result_get_signal(res));
		}
		spawnd_result_free(res);
	}
	spawnd_client_close(c);
	return 0;
}

static void
assert_case(const struct report *rep, int i, spawnd_state state, spawnd_stage stage, int err,
	    const char *detail)
{
	char key[64];

	xsnprintf(key, sizeof(key), "case%d.state", i);
	if (report_num(rep, key, 10) != state)
		report_dump(rep);
	ck_assert_int_eq(report_num(rep, key, 10), state);
	if (state == SPAWND_STATE_FAILED) {
		xsnprintf(key, sizeof(key), "case%d.stage", i);
		ck_assert_int_eq(report_num(rep, key, 10), stage);
		xsnprintf(key, sizeof(key), "case%d.errno", i);
		ck_assert_int_eq(report_num(rep, key, 10), err);
		xsnprintf(key, sizeof(key), "case%d.detail", i);
		ASSERT_DETAIL_NAMES(report_need(rep, key), detail);
	} else {
		xsnprintf(key, sizeof(key), "case%d.exit", i);
		ck_assert_int_eq(report_num(rep, key, 10), 0);
	}
}

/*
 * Invariant: identity comes only from the kernel (SO_PEERCRED). A client
 * process running as nobody gets exactly what the policy grants nobody,
 * the child sees SPAWND_USER/SPAWND_UID of that client, and the last
 * matching rule decides (the detail names it).
 */
START_TEST(test_client_identity_from_peercred)
{
	struct nobody_case cases[] = {
		/* 0: permitted by RULE_NOBODY_PROBE */
		{"nobody", {fx.probe, NULL}, NULL},
		/* 1: nobody may not run the probe as root: no rule */
		{"root", {fx.probe, NULL}, NULL},
		/* 2: permit then deny: the deny (last) wins */
		{"nobody", {"/bin/echo", "last-match", NULL}, NULL},
		/* 3: deny then permit: the permit (last) wins */
		{"nobody", {"/bin/true", NULL}, NULL},
		/* 4: `args` must match exactly */
		{"nobody", {"/bin/echo", "other", NULL}, NULL},
		/* 5: a shell is not in the policy */
		{"nobody", {"/bin/sh", "-c", "id", NULL}, NULL},
		/* 6: a bare name is resolved on the fixed PATH, then matched */
		{"nobody", {"id", NULL}, NULL},
		{NULL, {NULL}, NULL},
	};
	struct user_ids nobody;
	struct report rep;
	char uid[32], want[PATH_MAX + 16];
	int status;

	lookup_user("nobody", &nobody);
	status = run_as_user(nobody.uid, nobody.gid, nobody_client, cases, &rep);
	if (status != 0)
		report_dump(&rep);
	ck_assert_int_eq(status, 0);

	assert_case(&rep, 0, SPAWND_STATE_STARTED, 0, 0, NULL);
	ck_assert_int_eq(report_num(&rep, "case0.out.uid", 10), nobody.uid);
	ASSERT_STREQ_REPORT(&rep, "case0.out.env.SPAWND_USER", "nobody");
	xsnprintf(uid, sizeof(uid), "%u", (unsigned)nobody.uid);
	ASSERT_STREQ_REPORT(&rep, "case0.out.env.SPAWND_UID", uid);

	assert_case(&rep, 1, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	xsnprintf(want, sizeof(want), "%s", rule_ref(RULE_ECHO_DENY));
	assert_case(&rep, 2, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, want);
	assert_case(&rep, 3, SPAWND_STATE_STARTED, 0, 0, NULL);
	assert_case(&rep, 4, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	assert_case(&rep, 5, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	assert_case(&rep, 6, SPAWND_STATE_STARTED, 0, 0, NULL);
	{
		/* id's output is one line "uid=65534(nobody) gid=..." */
		const char *v = report_need(&rep, "case6.out.uid");
		char prefix[64];

		xsnprintf(prefix, sizeof(prefix), "%u(nobody) ", (unsigned)nobody.uid);
		ck_assert_msg(strncmp(v, prefix, strlen(prefix)) == 0, "id printed uid=%s", v);
	}
	report_done(&rep);
}
END_TEST

/* True when the daemon's log has a line containing needle. */
static bool
log_has(const char *needle)
{
	struct report rep;
	const char *line;
	bool found = false;
	size_t pos = 0;

	ck_assert_int_eq(report_read_file(fx.log, &rep), 0);
	while (!found && (line = report_next(&rep, &pos)))
		found = strstr(line, needle) != NULL;
	report_done(&rep);
	return found;
}

/*
 * Invariant: with Spawn.exec_path the program is that path, never argv[0]:
 * the policy judges it (normal form and canonical path, a bare name on the
 * fixed PATH), the daemon execs it and the audit log names it, while the
 * program gets argv, argv[0] included, as sent. So argv[0] can neither
 * sneak a program past a `cmd` rule nor dodge a deny. A `cmd` permit also
 * judges argv[0]'s last component, as it does the path's: a multi-call
 * program acts on its name (bash as rbash, vim as rvim, busybox), so a
 * permitted rbash must not run as "bash" (hostile review 2026-12-08).
 */
START_TEST(test_exec_path_is_the_program)
{
	struct nobody_case cases[] = {
		/* 0: the permitted probe, argv[0] its own name in another directory */
		{"nobody", {"/elsewhere/spawn-probe", "--exit", "0", NULL}, fx.probe},
		/* 1: argv[0] names the permitted probe, the program is a shell */
		{"nobody", {fx.probe, "-c", "id", NULL}, "/bin/sh"},
		/* 2: a bare name is resolved on the fixed PATH, then judged */
		{"nobody", {"id", NULL}, "id"},
		/* 3: the permitted probe under another name: the cmd permit refuses it */
		{"nobody", {"renamed-argv0", "--exit", "0", NULL}, fx.probe},
		/* 4: a permitted id under a shell's name */
		{"nobody", {"sh", NULL}, "/usr/bin/id"},
		/* 5: under "/x/id/": empty after the last slash (bash as "/bin/rbash/") */
		{"nobody", {"/x/id/", NULL}, "/usr/bin/id"},
		{NULL, {NULL}, NULL},
	};
	const char *renamed_argv[] = {"renamed-argv0", "--exit", "0", NULL};
	const char *false_argv[] = {"/usr/bin/id", NULL};
	const char *id_argv[] = {"/bin/false", NULL};
	struct user_ids nobody;
	spawnd_client *c;
	spawnd_options *o;
	struct report rep;
	char link[PATH_MAX], canonical[PATH_MAX], want[PATH_MAX + 64];
	int status;
	struct run r;

	lookup_user("nobody", &nobody);
	status = run_as_user(nobody.uid, nobody.gid, nobody_client, cases, &rep);
	if (status != 0)
		report_dump(&rep);
	ck_assert_int_eq(status, 0);
	assert_case(&rep, 0, SPAWND_STATE_STARTED, 0, 0, NULL);
	ASSERT_STREQ_REPORT(&rep, "case0.out.argv.0", "/elsewhere/spawn-probe");
	ASSERT_STREQ_REPORT(&rep, "case0.out.argv.1", "--exit");
	ASSERT_STREQ_REPORT(&rep, "case0.out.execfn", fx.probe);
	assert_case(&rep, 1, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	ASSERT_DETAIL_MENTIONS(report_need(&rep, "case1.detail"), "/bin/sh");
	assert_case(&rep, 2, SPAWND_STATE_STARTED, 0, 0, NULL);
	{
		const char *v = report_need(&rep, "case2.out.uid");
		char prefix[64];

		xsnprintf(prefix, sizeof(prefix), "%u(nobody) ", (unsigned)nobody.uid);
		ck_assert_msg(strncmp(v, prefix, strlen(prefix)) == 0, "id printed uid=%s", v);
	}
	assert_case(&rep, 3, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	{
		const char *d = report_need(&rep, "case3.detail");

		ck_assert_msg(strstr(d, "(argv[0] \"renamed-argv0\")"), "detail '%s' names no argv[0]",
			      d);
	}
	assert_case(&rep, 4, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	assert_case(&rep, 5, SPAWND_STATE_FAILED, SPAWND_STAGE_POLICY, EPERM, "no matching rule");
	report_done(&rep);

	/* As root, under "permit root" (no cmd): any argv[0], passed on unchanged. */
	c = client_open();
	o = opts_new("nobody", renamed_argv);
	ck_assert_int_eq(spawnd_options_set_executable(o, fx.probe), 0);
	run_spawn(c, o, true, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert_str_eq(report_need(&r.out, "argv.0"), "renamed-argv0");
	ck_assert_str_eq(report_need(&r.out, "execfn"), fx.probe);
	run_done(&r);
	spawnd_options_free(o);

	/* As root: RULE_ROOT_FALSE_DENY judges the program, whatever argv[0] says. */
	o = opts_new("nobody", false_argv);
	ck_assert_int_eq(spawnd_options_set_executable(o, "/bin/false"), 0);
	run_spawn(c, o, true, &r);
	ASSERT_FAILED(&r, SPAWND_STAGE_POLICY, EPERM);
	ASSERT_DETAIL_NAMES(r.detail, rule_ref(RULE_ROOT_FALSE_DENY));
	run_done(&r);
	spawnd_options_free(o);
	/* The audit record names the program judged and the argv as sent. */
	ck_assert_ptr_nonnull(realpath("/bin/false", canonical));
	xsnprintf(want, sizeof(want), "path=\"%s\" argv=[\"/usr/bin/id\"]", canonical);
	ck_assert_msg(log_has(want), "no audit record with %s", want);
	/* ... through a symlink too: the canonical path is judged and exec'd. */
	xsnprintf(link, sizeof(link), "%s/innocent", fx.dir);
	ck_assert_int_eq(symlink("/bin/false", link), 0);
	o = opts_new("nobody", false_argv);
	ck_assert_int_eq(spawnd_options_set_executable(o, link), 0);
	run_spawn(c, o, true, &r);
	ASSERT_FAILED(&r, SPAWND_STAGE_POLICY, EPERM);
	ASSERT_DETAIL_NAMES(r.detail, rule_ref(RULE_ROOT_FALSE_DENY));
	ASSERT_DETAIL_MENTIONS(r.detail, link);
	run_done(&r);
	spawnd_options_free(o);
	/* ... and argv[0] = /bin/false does not deny another program. */
	o = opts_new("nobody", id_argv);
	ck_assert_int_eq(spawnd_options_set_executable(o, "/usr/bin/id"), 0);
	run_spawn(c, o, true, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert_ptr_nonnull(report_get(&r.out, "uid"));
	run_done(&r);
	spawnd_options_free(o);
	spawnd_client_close(c);
}
END_TEST

/*
 * In a mount namespace of this test process's own (the forked check test),
 * /etc/group becomes a copy with one more group, of nobody and daemon, so
 * that both have a supplementary group besides their primary one. The
 * real file is never touched. Returns the new group's gid.
 */
static gid_t
private_extra_group(void)
{
	char path[] = "/tmp/spawnd-group.XXXXXX", line[128];
	struct report rep;
	gid_t gid = 0;
	int fd;

	for (gid_t g = 4242400; g < 4242500 && !gid; g++)
		if (!getgrgid(g))
			gid = g;
	ck_assert_uint_ne(gid, 0);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(report_read_file("/etc/group", &rep), 0);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	for (size_t pos = 0;;) {
		const char *l = report_next(&rep, &pos);

		if (!l)
			break;
		ck_assert(dprintf(fd, "%s\n", l) > 0);
	}
	report_done(&rep);
	xsnprintf(line, sizeof(line), "spawnd-extra:x:%u:nobody,daemon\n", (unsigned)gid);
	ck_assert(dprintf(fd, "%s", line) > 0);
	ck_assert_int_eq(fchmod(fd, 0644), 0);
	(void)close(fd);
	ck_assert_int_eq(mount(path, "/etc/group", NULL, MS_BIND, NULL), 0);
	(void)unlink(path);
	return gid;
}

/* The daemon's (fx.pid) oom_score_adj, from /proc. */
static int
daemon_oom_score_adj(void)
{
	char buf[32];

	ck_assert_int_gt(proc_read(fx.pid, "oom_score_adj", buf, sizeof(buf)), 0);
	return atoi(buf);
}

/*
 * Invariant: a daemon started with an oom_score_adj (OOMScoreAdjust= in a
 * unit) keeps it while its children start at 0. A vfork-engine child's
 * write of 0 would go to every process on the daemon's shared memory, the
 * daemon too (__set_oom_adj(), MMF_MULTIPROCESS): such a daemon uses the
 * fork engine instead, says why when asked for vfork, and reports the
 * engine it uses.
 */
START_TEST(test_oom_score_adj_stays_the_daemons)
{
	const char *engine = getenv("SPAWND_IT_ENGINE");
	const struct fx_daemon d = {.oom_score_adj = 500};
	const char *probe_argv[] = {NULL, NULL};
	const char *true_argv[] = {"/bin/true", NULL};
	spawnd_client *c;
	struct run r;

	fx_start_with(NULL, &d);
	probe_argv[0] = fx.probe;
	ck_assert_int_eq(daemon_oom_score_adj(), 500);
	c = client_open();

	spawn_simple(c, "nobody", true_argv, &r);
	ASSERT_EXITED(&r, 0);
	run_done(&r);
	ck_assert_msg(daemon_oom_score_adj() == 500,
		      "the daemon's oom_score_adj is %d after a spawn, not 500",
		      daemon_oom_score_adj());

	spawn_simple(c, "nobody", probe_argv, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert_int_eq(report_num(&r.out, "oom_score_adj", 10), 0);
	run_done(&r);
	ck_assert_int_eq(daemon_oom_score_adj(), 500);
	spawnd_client_close(c);

	ck_assert_msg(log_has("(engine fork)"), "the daemon does not report the fork engine");
	/* The default engine, or --engine vfork: the daemon says why it forks. */
	if (!engine || strcmp(engine, "fork") != 0)
		ck_assert_msg(log_has("oom_score_adj is 500: a vfork-engine child's reset would "
				      "also reset the daemon's (shared memory); using the fork "
				      "engine"),
			      "no warning about the engine in the daemon's log");
}
END_TEST

/*
 * Invariant: Spawn.no_groups gives the child no supplementary groups at
 * all, and it is a narrowing: refused (POLICY, EPERM, naming
 * narrowgroups) unless the deciding rule has narrowgroups.
 */
START_TEST(test_no_groups_is_a_narrowing)
{
	const char *argv[] = {NULL, NULL};
	char want[64], line2[PATH_MAX + 16];
	struct user_ids daemon_user;
	gid_t extra = private_extra_group();
	spawnd_client *c;
	spawnd_options *o;
	struct run r;

	fx_start("# no_groups\n"
		 "permit root as nobody\n"
		 "permit narrowgroups root as daemon\n");
	argv[0] = fx.probe;
	lookup_user("daemon", &daemon_user);
	c = client_open();

	/* The namespace works: daemon runs with the extra group by default. */
	o = opts_new("daemon", argv);
	run_spawn(c, o, true, &r);
	ASSERT_EXITED(&r, 0);
	xsnprintf(want, sizeof(want), "%u,%u", (unsigned)daemon_user.gid, (unsigned)extra);
	ASSERT_STREQ_REPORT(&r.out, "groups", want);
	run_done(&r);
	spawnd_options_free(o);
	/* no_groups under narrowgroups: none at all, the primary gid kept. */
	o = opts_new("daemon", argv);
	ck_assert_int_eq(spawnd_options_set_no_groups(o, 1), 0);
	run_spawn(c, o, true, &r);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "groups", "");
	ck_assert_int_eq(report_num(&r.out, "gid", 10), daemon_user.gid);
	ck_assert_int_eq(report_num(&r.out, "egid", 10), daemon_user.gid);
	run_done(&r);
	spawnd_options_free(o);

	/* Without narrowgroups: refused, and the detail says why. */
	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_no_groups(o, 1), 0);
	run_spawn(c, o, true, &r);
	ASSERT_FAILED(&r, SPAWND_STAGE_POLICY, EPERM);
	ASSERT_DETAIL_MENTIONS(r.detail, "(narrowgroups)");
	xsnprintf(line2, sizeof(line2), "%s:2", fx.conf);
	ASSERT_DETAIL_MENTIONS(r.detail, line2);
	run_done(&r);
	spawnd_options_free(o);
	spawnd_client_close(c);
}
END_TEST

/* Root is the client here: "permit root" allows anything but a later deny line wins. */
START_TEST(test_policy_last_match_wins_for_root)
{
	const char *argv[] = {"/bin/false", NULL};
	spawnd_client *c = client_open();
	struct run r;

	spawn_simple(c, "nobody", argv, &r);
	ASSERT_FAILED(&r, SPAWND_STAGE_POLICY, EPERM);
	ASSERT_DETAIL_NAMES(r.detail, rule_ref(RULE_ROOT_FALSE_DENY));
	run_done(&r);

	/* The deny names a target: as root the earlier permit still applies. */
	spawn_simple(c, "root", argv, &r);
	ASSERT_EXITED(&r, 1);
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/* ---- child setup and exec errors ---- */

/*
 * Invariant: chdir happens after the credential switch, as the target. A
 * root-only 0700 directory cannot be entered by a nobody child; root can.
 */
START_TEST(test_chdir_as_target)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_client *c = client_open();
	char secret[PATH_MAX], missing[PATH_MAX];
	spawnd_options *o;
	struct run r;

	xsnprintf(secret, sizeof(secret), "%s/secret", fx.dir);
	xsnprintf(missing, sizeof(missing), "%s/missing", fx.dir);
	ck_assert_int_eq(mkdir(secret, 0700), 0);
	ck_assert_int_eq(chmod(secret, 0700), 0);

	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, secret), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_CHDIR, EACCES);
	ck_assert_str_eq(r.detail, secret);
	/* No child ran: its stdout saw nothing. */
	ck_assert_uint_eq(r.out.len, 0);
	run_done(&r);

	o = opts_new("root", argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, secret), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "cwd", secret);
	run_done(&r);

	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, missing), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_CHDIR, ENOENT);
	ck_assert_str_eq(r.detail, missing);
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/*
 * exec errors come back as stage + errno + path from the errpipe; no
 * /bin/sh fallback on ENOEXEC; bare names resolve only on the fixed PATH.
 */
START_TEST(test_exec_errors)
{
	spawnd_client *c = client_open();
	char noexec[PATH_MAX], garbage[PATH_MAX];
	struct run r;

	xsnprintf(noexec, sizeof(noexec), "%s/not-executable", fx.dir);
	xsnprintf(garbage, sizeof(garbage), "%s/garbage", fx.dir);
	write_file(noexec, "#!/bin/sh\nexit 0\n", 0644);
	/* No #! line and not ELF: only a shell fallback could run it. */
	write_file(garbage, "echo this must never run\n", 0755);

	{
		const char *argv[] = {"/nonexistent/spawnd-test-program", NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_FAILED(&r, SPAWND_STAGE_EXEC, ENOENT);
		ck_assert_str_eq(r.detail, argv[0]);
		run_done(&r);
	}
	{
		const char *argv[] = {noexec, NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_FAILED(&r, SPAWND_STAGE_EXEC, EACCES);
		ck_assert_str_eq(r.detail, noexec);
		run_done(&r);
	}
	{
		const char *argv[] = {garbage, NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_FAILED(&r, SPAWND_STAGE_EXEC, ENOEXEC);
		ck_assert_str_eq(r.detail, garbage);
		ck_assert_uint_eq(r.out.len, 0);
		run_done(&r);
	}
	{
		const char *argv[] = {"/tmp", NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_FAILED(&r, SPAWND_STAGE_EXEC, EACCES);
		run_done(&r);
	}
	{
		const char *argv[] = {"spawnd-no-such-command", NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_FAILED(&r, SPAWND_STAGE_RESOLVE, ENOENT);
		run_done(&r);
	}
	{
		/* A bare name that exists on the fixed PATH runs (and gets argv[0] as sent). */
		const char *argv[] = {"true", NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_EXITED(&r, 0);
		run_done(&r);
	}
	spawnd_client_close(c);
}
END_TEST

/* Unknown users and groups, uid -1, and groups the target is not in are refused before fork. */
START_TEST(test_unknown_user_and_group_refused)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_client *c = client_open();
	spawnd_options *o;
	struct run r;

	spawn_simple(c, "spawnd-no-such-user", argv, &r);
	ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, ESRCH);
	run_done(&r);

	/* (uid_t)-1 and sloppy numbers never name a user (sudo CVE-2019-14287). */
	{
		const char *bad[] = {"4294967295", "-1", "0x0", "+0", " 0", "00", NULL};

		for (int i = 0; bad[i]; i++) {
			spawn_simple(c, bad[i], argv, &r);
			ck_assert_msg(r.state == SPAWND_STATE_FAILED &&
					      (r.stage == SPAWND_STAGE_PREPARE ||
					       r.stage == SPAWND_STAGE_DECODE) &&
					      r.err != 0,
				      "user '%s': expected a refusal before fork, got %s", bad[i],
				      run_describe(&r));
			run_done(&r);
		}
	}

	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_group(o, "spawnd-no-such-group"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, ESRCH);
	run_done(&r);

	/* nobody is not a member of root's group: neither as primary nor supplementary. */
	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_group(o, "root"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, EPERM);
	run_done(&r);

	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_add_group(o, "0"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, EPERM);
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/* ---- fds ---- */

/* Read a pipe to EOF and compare with want (trailing newline ignored). */
static void
assert_pipe_says(int fd, const char *want)
{
	struct report rep;
	size_t n;

	ck_assert_int_eq(report_read_fd(fd, &rep, 10000), 0);
	/* report_read_fd split lines into NUL-separated strings; rejoin the first. */
	n = rep.len;
	while (n > 0 && rep.text[n - 1] == '\0')
		n--;
	ck_assert_msg(n == strlen(want) && memcmp(rep.text, want, n) == 0,
		      "pipe carried '%.*s', expected '%s'", (int)n, rep.text, want);
	report_done(&rep);
}

/*
 * Fd mapping: pipes passed as the child's 1 and 3 arrive intact, then the
 * same pipes swapped; the child's table is exactly {0,1,2,3}.
 */
START_TEST(test_fd_mapping_and_swap)
{
	char out[PATH_MAX];
	spawnd_client *c = client_open();

	xsnprintf(out, sizeof(out), "%s/fd-report", fx.dir);
	for (int swap = 0; swap < 2; swap++) {
		const char *argv[] = {fx.probe, "--out",      out, "--write-fd", "1",
				      "to-one", "--write-fd", "3", "to-three",	 NULL};
		spawnd_options *o = opts_new("root", argv);
		int a[2], b[2];
		struct stat sa, sb;
		char la[64], lb[64];
		struct report rep;
		struct run r;

		ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
		ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
		ck_assert_int_eq(fstat(a[1], &sa), 0);
		ck_assert_int_eq(fstat(b[1], &sb), 0);
		xsnprintf(la, sizeof(la), "pipe:[%lu]", (unsigned long)sa.st_ino);
		xsnprintf(lb, sizeof(lb), "pipe:[%lu]", (unsigned long)sb.st_ino);
		ck_assert_int_eq(spawnd_options_add_fd(o, swap ? 3 : 1, a[1]), 0);
		ck_assert_int_eq(spawnd_options_add_fd(o, swap ? 1 : 3, b[1]), 0);
		run_spawn(c, o, false, &r);
		spawnd_options_free(o);
		(void)close(a[1]);
		(void)close(b[1]);
		ASSERT_EXITED(&r, 0);
		assert_pipe_says(a[0], swap ? "to-three" : "to-one");
		assert_pipe_says(b[0], swap ? "to-one" : "to-three");
		(void)close(a[0]);
		(void)close(b[0]);

		ck_assert_int_eq(report_read_file(out, &rep), 0);
		ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,3");
		ck_assert_str_eq(probe_fd(&rep, 1), swap ? lb : la);
		ck_assert_str_eq(probe_fd(&rep, 3), swap ? la : lb);
		ck_assert_str_eq(probe_fd(&rep, 0), "/dev/null");
		ck_assert_str_eq(probe_fd(&rep, 2), "/dev/null");
		report_done(&rep);
		run_done(&r);
		(void)unlink(out);
	}
	spawnd_client_close(c);
}
END_TEST

#define N_CHAIN 10

/*
 * Fd numbers that collide: ten pipes whose client fd numbers (20..29) are
 * each another pipe's target, mapped to targets 3..12 in reverse (low
 * numbers, where the daemon's own received fds live), plus stdin from a
 * pipe. Every byte must arrive through the right pipe.
 */
START_TEST(test_fd_mapping_collisions)
{
	char out[PATH_MAX], texts[N_CHAIN][16], nums[N_CHAIN][8];
	const char *argv[4 + 3 * N_CHAIN + 3];
	int rd[N_CHAIN], in[2], k = 0;
	spawnd_client *c = client_open();
	spawnd_options *o;
	struct report rep;
	struct run r;

	xsnprintf(out, sizeof(out), "%s/fd-report", fx.dir);
	argv[k++] = fx.probe;
	argv[k++] = "--out";
	argv[k++] = out;
	argv[k++] = "--read-fd";
	argv[k++] = "0";
	for (int i = 0; i < N_CHAIN; i++) {
		xsnprintf(nums[i], sizeof(nums[i]), "%d", 3 + i);
		xsnprintf(texts[i], sizeof(texts[i]), "fd%d", 3 + i);
		argv[k++] = "--write-fd";
		argv[k++] = nums[i];
		argv[k++] = texts[i];
	}
	argv[k] = NULL;
	o = opts_new("root", argv);

	for (int i = 0; i < N_CHAIN; i++) {
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		rd[i] = p[0];
		/* Client fd 20+i carries the text for target 12-i ... */
		ck_assert_int_eq(dup3(p[1], 20 + i, O_CLOEXEC), 20 + i);
		(void)close(p[1]);
	}
	for (int i = 0; i < N_CHAIN; i++)
		/* ... mapped so that target t is fed from client fd 20 + (12 - t). */
		ck_assert_int_eq(spawnd_options_add_fd(o, 12 - i, 20 + i), 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(write(in[1], "stdin-text", 10), 10);
	(void)close(in[1]);
	ck_assert_int_eq(spawnd_options_add_fd(o, 0, in[0]), 0);

	run_spawn(c, o, false, &r);
	spawnd_options_free(o);
	for (int i = 0; i < N_CHAIN; i++)
		(void)close(20 + i);
	(void)close(in[0]);
	ASSERT_EXITED(&r, 0);
	for (int i = 0; i < N_CHAIN; i++) {
		char want[16];

		xsnprintf(want, sizeof(want), "fd%d", 12 - i);
		assert_pipe_says(rd[i], want);
		(void)close(rd[i]);
	}
	ck_assert_int_eq(report_read_file(out, &rep), 0);
	ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,3,4,5,6,7,8,9,10,11,12");
	ASSERT_STREQ_REPORT(&rep, "read.0", "stdin-text");
	report_done(&rep);
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/*
 * Invariant: no daemon fd (listening socket, other clients' connections,
 * its log) reaches a child. While two other connections are open, the
 * child's fds are exactly {0,1,2} and none of their targets, apart from
 * /dev/null, is one of the daemon's.
 */
START_TEST(test_no_daemon_fd_reaches_child)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_client *c = client_open(), *other1 = client_open(), *other2 = client_open();
	char **daemon_fds = NULL;
	struct run r;
	int n;

	spawn_simple(c, "nobody", argv, &r);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "fds", "0,1,2");

	n = proc_fd_targets(fx.pid, &daemon_fds);
	ck_assert_int_gt(n, 0);
	for (int fd = 0; fd <= 2; fd++) {
		const char *mine = probe_fd(&r.out, fd);

		if (strcmp(mine, "/dev/null") == 0)
			continue;
		for (char **d = daemon_fds; *d; d++) {
			const char *target = strchr(*d, '=') + 1;

			ck_assert_msg(strcmp(target, mine) != 0,
				      "child fd %d (%s) is the daemon's fd %s", fd, mine, *d);
		}
	}
	/* The daemon's stderr (our log file) must not be the child's stderr. */
	ck_assert_str_ne(probe_fd(&r.out, 2), fx.log);
	strv_free(daemon_fds);
	run_done(&r);
	spawnd_client_close(other1);
	spawnd_client_close(other2);
	spawnd_client_close(c);
}
END_TEST

/* ---- environment ---- */

static void
add_inherited(spawnd_options *o, const char *const *entries)
{
	for (size_t i = 0; entries[i]; i++)
		ck_assert_int_eq(spawnd_options_add_inherited_env(o, entries[i]), 0);
}

/* Hostile variables a client might carry in its own environment. */
static const char *const hostile_inherited[] = {
	"LD_PRELOAD=/nonexistent/spawnd-evil.so",
	"LD_LIBRARY_PATH=/nonexistent/spawnd-evil",
	"LD_AUDIT=/nonexistent/spawnd-audit.so",
	"GCONV_PATH=/nonexistent",
	"GLIBC_TUNABLES=glibc.malloc.check=3",
	"BASH_ENV=/nonexistent/bashenv",
	"BASH_FUNC_evil%%=() { id; }",
	"PYTHONPATH=/nonexistent",
	"PATH=/nonexistent/evil-bin",
	"HOME=/nonexistent/evil-home",
	"SPAWND_USER=forged",
	"SPAWND_UID=4242",
	"FOO=bar",
	"TERM=xterm-spawnd-test",
	"LANG=C.UTF-8",
	"LC_ALL=C",
	"TZ=UTC",
	NULL,
};

/*
 * Inherited variables are filtered silently: TERM, LANG, LC_* and TZ pass,
 * LD_PRELOAD and friends and anything else (FOO) do not, and the fixed
 * variables cannot be overridden.
 */
START_TEST(test_env_inherited_filtered)
{
	const char *argv[] = {fx.probe, NULL};
	const char *allowed[] = {"HOME",       "SHELL", "USER", "LOGNAME", "PATH", "SPAWND_USER",
				 "SPAWND_UID", "TERM",	"LANG", "LC_ALL",  "TZ",   NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	struct user_ids nobody;
	struct run r;

	lookup_user("nobody", &nobody);
	add_inherited(o, hostile_inherited);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "env.TERM", "xterm-spawnd-test");
	ASSERT_STREQ_REPORT(&r.out, "env.LANG", "C.UTF-8");
	ASSERT_STREQ_REPORT(&r.out, "env.LC_ALL", "C");
	ASSERT_STREQ_REPORT(&r.out, "env.TZ", "UTC");
	ASSERT_STREQ_REPORT(&r.out, "env.HOME", nobody.home);
	ASSERT_STREQ_REPORT(&r.out, "env.PATH",
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_USER", "root");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_UID", "0");
	assert_env_only(&r.out, allowed);
	ck_assert_ptr_null(report_get(&r.out, "env.LD_PRELOAD"));
	ck_assert_ptr_null(report_get(&r.out, "env.FOO"));
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/*
 * Explicit settings are checked, never dropped silently: LD_PRELOAD (and
 * any variable the rule does not allow) refuses the whole request with
 * PREPARE/EPERM naming the variable.
 */
START_TEST(test_env_explicit_refused)
{
	const char *argv[] = {fx.probe, NULL};
	const char *refused[] = {"LD_PRELOAD=/nonexistent/evil.so", "FOO=bar", NULL};
	spawnd_client *c = client_open();

	for (int i = 0; refused[i]; i++) {
		spawnd_options *o = opts_new("nobody", argv);
		char name[64];
		struct run r;

		xsnprintf(name, sizeof(name), "%.*s", (int)strcspn(refused[i], "="), refused[i]);
		ck_assert_int_eq(spawnd_options_setenv(o, refused[i]), 0);
		run_spawn(c, o, true, &r);
		spawnd_options_free(o);
		ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, EPERM);
		ASSERT_DETAIL_MENTIONS(r.detail, name);
		ck_assert_uint_eq(r.out.len, 0);
		run_done(&r);
	}
	spawnd_client_close(c);
}
END_TEST

/*
 * keepenv passes inherited variables except the denylist, allows explicit
 * settings, but still refuses every denylisted explicit one.
 */
START_TEST(test_env_keepenv_keeps_denylist)
{
	const char *argv[] = {fx.probe, NULL};
	const char *denied[] = {
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",	  "GCONV_PATH",	  "GLIBC_TUNABLES",
		"LOCPATH",    "NLSPATH",	 "HOSTALIASES",	  "RES_OPTIONS",  "IFS",
		"ENV",	      "BASH_ENV",	 "BASH_FUNC_x%%", "SHELLOPTS",	  "PS4",
		"PYTHONPATH", "PERL5LIB",	 "RUBYOPT",	  "NODE_OPTIONS", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("daemon", argv);
	struct run r;

	add_inherited(o, hostile_inherited);
	ck_assert_int_eq(spawnd_options_setenv(o, "EXPLICIT=yes"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "env.FOO", "bar");
	ASSERT_STREQ_REPORT(&r.out, "env.EXPLICIT", "yes");
	ASSERT_STREQ_REPORT(&r.out, "env.USER", "daemon");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_USER", "root");
	ASSERT_STREQ_REPORT(&r.out, "env.PATH",
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (const char *const *h = hostile_inherited; *h; h++) {
		char key[80];

		if (strncmp(*h, "LD_", 3) && strncmp(*h, "GCONV", 5) && strncmp(*h, "GLIBC", 5) &&
		    strncmp(*h, "BASH", 4) && strncmp(*h, "PYTHON", 6))
			continue;
		xsnprintf(key, sizeof(key), "env.%.*s", (int)strcspn(*h, "="), *h);
		if (report_get(&r.out, key))
			report_dump(&r.out);
		ck_assert_msg(!report_get(&r.out, key), "%s passed with keepenv", key);
	}
	run_done(&r);

	for (int i = 0; denied[i]; i++) {
		char entry[128];

		o = opts_new("daemon", argv);
		xsnprintf(entry, sizeof(entry), "%s=x", denied[i]);
		ck_assert_int_eq(spawnd_options_setenv(o, entry), 0);
		run_spawn(c, o, true, &r);
		spawnd_options_free(o);
		ASSERT_FAILED(&r, SPAWND_STAGE_PREPARE, EPERM);
		ASSERT_DETAIL_MENTIONS(r.detail, denied[i]);
		run_done(&r);
	}
	spawnd_client_close(c);
}
END_TEST

/* setenv { NAME NAME=VALUE -NAME }: the admin may pass a denylisted name, set and remove. */
START_TEST(test_env_rule_setenv)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("bin", argv);
	struct run r;

	add_inherited(o, hostile_inherited);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "env.LD_LIBRARY_PATH", "/nonexistent/spawnd-evil");
	ASSERT_STREQ_REPORT(&r.out, "env.SPAWND_TEST_FIXED", "yes");
	ck_assert_ptr_null(report_get(&r.out, "env.TERM"));
	ck_assert_ptr_null(report_get(&r.out, "env.LD_PRELOAD"));
	ck_assert_ptr_null(report_get(&r.out, "env.FOO"));
	run_done(&r);

	o = opts_new("bin", argv);
	ck_assert_int_eq(spawnd_options_setenv(o, "LD_LIBRARY_PATH=/opt/explicit"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_EXITED(&r, 0);
	ASSERT_STREQ_REPORT(&r.out, "env.LD_LIBRARY_PATH", "/opt/explicit");
	run_done(&r);
	spawnd_client_close(c);
}
END_TEST

/* ---- lifecycle ---- */

/* Exit codes, signals and usage come back in Exited. */
START_TEST(test_exit_status)
{
	spawnd_client *c = client_open();
	struct run r;

	{
		const char *argv[] = {fx.probe, "--exit", "42", NULL};

		spawn_simple(c, "nobody", argv, &r);
		ASSERT_EXITED(&r, 42);
		ck_assert_int_eq(r.timed_out, 0);
		ck_assert_uint_gt(r.wall_usec, 0);
		run_done(&r);
	}
	{
		const char *argv[] = {fx.probe, "--kill-self", "9", NULL};

		spawn_simple(c, "nobody", argv, &r);
		ASSERT_KILLED(&r, SIGKILL);
		ck_assert_int_eq(r.exit_code, -1);
		run_done(&r);
	}
	{
		const char *argv[] = {"/bin/false", NULL};

		spawn_simple(c, "root", argv, &r);
		ASSERT_EXITED(&r, 1);
		run_done(&r);
	}
	spawnd_client_close(c);
}
END_TEST

/* Start a probe that sleeps; returns its spawn id and pid. */
static uint64_t
start_sleeper(spawnd_client *c, const char *user, bool keep, uint64_t timeout_usec, pid_t *ret_pid)
{
	const char *argv[] = {fx.probe, "--sleep", "30", NULL};
	spawnd_options *o = opts_new(user, argv);
	spawnd_result *res = NULL;
	uint64_t id;

	ck_assert_int_eq(spawnd_options_set_keep(o, keep), 0);
	if (timeout_usec)
		ck_assert_int_eq(spawnd_options_set_timeout(o, timeout_usec), 0);
	ck_assert_int_eq(spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res), 0);
	spawnd_options_free(o);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_STARTED);
	id = spawnd_result_get_id(res);
	*ret_pid = spawnd_result_get_pid(res);
	ck_assert_int_gt(*ret_pid, 0);
	spawnd_result_free(res);
	return id;
}

/* ---- many live children: the shared-table start ---- */

/* More live children than REAPER_RAISE_PIDFDS_AT (daemon/reaper.c, 32). */
#define MANY_LIVE 100

/*
 * Issue 12, "10,000 live children still flat": with many children alive
 * the daemon keeps their pidfds at 4096 and above, and starts every child
 * on its own fd table (CLONE_FILES), from which the child takes a private
 * copy of the fds below its cut only. Such a child must start exactly as
 * any other: its fds are exactly the ones it was given, a setup failure
 * still reports its stage, and once every child is gone the daemon's fd
 * count is back where it was. On main 27e4c22 no pidfd is ever above 100.
 */
START_TEST(test_many_live_children_shared_table)
{
	const char *argv[] = {fx.probe, NULL};
	char out[PATH_MAX];
	const char *wargv[] = {fx.probe, "--out", out, "--write-fd", "3", "to-three", NULL};
	spawnd_client *c = client_open(), *holder;
	spawnd_options *o;
	struct report rep;
	struct run r;
	int base_fds, p[2];

	xsnprintf(out, sizeof(out), "%s/fd-report", fx.dir);
	spawn_simple(c, "nobody", argv, &r);
	ASSERT_EXITED(&r, 0);
	run_done(&r);
	base_fds = proc_settled_fd_count(fx.pid);
	holder = client_open();
	for (int i = 0; i < MANY_LIVE; i++) {
		pid_t pid;

		(void)start_sleeper(holder, "nobody", false, 0, &pid);
	}
	/*
	 * The pidfds move up only where the soft limit leaves room (>= 8192,
	 * spawn_pidfd_raise()); below it the shared-table start is off and the
	 * children below must come out exactly the same.
	 */
	if (daemon_raises_pidfds())
		ck_assert_int_ge(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), MANY_LIVE - 40);
	else
		ck_assert_int_eq(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), 0);

	for (int round = 0; round < 3; round++) {
		spawn_simple(c, "nobody", argv, &r);
		ASSERT_EXITED(&r, 0);
		ASSERT_STREQ_REPORT(&r.out, "fds", "0,1,2");
		ck_assert_str_eq(probe_fd(&r.out, 0), "/dev/null");
		ck_assert_str_eq(probe_fd(&r.out, 1), r.out_link);
		ck_assert_str_eq(probe_fd(&r.out, 2), "/dev/null");
		run_done(&r);
	}

	o = opts_new("root", wargv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 3, p[1]), 0);
	run_spawn(c, o, false, &r);
	spawnd_options_free(o);
	(void)close(p[1]);
	ASSERT_EXITED(&r, 0);
	assert_pipe_says(p[0], "to-three");
	(void)close(p[0]);
	ck_assert_int_eq(report_read_file(out, &rep), 0);
	ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,3");
	report_done(&rep);
	run_done(&r);

	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, "/nonexistent/spawnd-missing"), 0);
	run_spawn(c, o, true, &r);
	spawnd_options_free(o);
	ASSERT_FAILED(&r, SPAWND_STAGE_CHDIR, ENOENT);
	run_done(&r);

	/* The sleepers go with their connection (terminate on disconnect). */
	spawnd_client_close(holder);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 20000), 0);
	ck_assert_int_eq(proc_wait_fd_count(fx.pid, base_fds, 5000), base_fds);
	ck_assert_int_eq(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), 0);
	spawnd_client_close(c);
}
END_TEST

/*
 * Signal requests reach only this connection's unreaped children: another
 * connection gets ESRCH and the child lives on; after the exit, ESRCH.
 */
START_TEST(test_signal_only_own_children)
{
	spawnd_client *c = client_open(), *other = client_open();
	spawnd_result *res = NULL;
	uint64_t id;
	pid_t pid;

	id = start_sleeper(c, "nobody", false, 0, &pid);
	ck_assert_int_eq(spawnd_signal(other, id, SIGKILL, 0, SPAWN_TIMEOUT_USEC), -ESRCH);
	ck_assert_int_eq(spawnd_signal(c, id + 1000, SIGKILL, 0, SPAWN_TIMEOUT_USEC), -ESRCH);
	/* A signal the daemon sent would be sent before its reply, and still show. */
	ck_assert_msg(proc_untouched(pid), "a foreign signal request reached the child");

	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 0, SPAWN_TIMEOUT_USEC), 0);
	ck_assert_int_eq(spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res), 0);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_signal(res), SIGTERM);
	res = spawnd_result_free(res);
	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 0, SPAWN_TIMEOUT_USEC), -ESRCH);
	spawnd_client_close(other);
	spawnd_client_close(c);
}
END_TEST

/*
 * on_disconnect: closing the connection terminates its children unless
 * they were started with keep.
 */
START_TEST(test_disconnect_terminates_unless_keep)
{
	spawnd_client *c = client_open();
	pid_t doomed, kept;

	(void)start_sleeper(c, "nobody", false, 0, &doomed);
	(void)start_sleeper(c, "nobody", true, 0, &kept);
	spawnd_client_close(c);

	ck_assert_msg(proc_wait_gone(doomed, 5000), "child %d survived its client's disconnect",
		      (int)doomed);
	/* The terminated child is reaped: only the kept one is left. */
	ck_assert_int_eq(proc_wait_children(fx.pid, 1, 3000), 1);
	/*
	 * A request served after the disconnect and the reap: whatever the
	 * daemon did on either is done. A signal it sent the kept child would
	 * still show.
	 */
	assert_daemon_serves();
	ck_assert_msg(proc_untouched(kept), "the kept child %d was signalled", (int)kept);
	ck_assert_int_eq(kill(kept, SIGKILL), 0);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
}
END_TEST

/*
 * Daemon stop (SIGTERM): exit 0, terminating children except kept ones,
 * which survive the daemon.
 */
START_TEST(test_daemon_stop_applies_on_disconnect)
{
	spawnd_client *c = client_open();
	pid_t doomed, kept;

	(void)start_sleeper(c, "nobody", false, 0, &doomed);
	(void)start_sleeper(c, "nobody", true, 0, &kept);
	fx_stop(); /* asserts exit status 0 */
	ck_assert_msg(proc_wait_gone(doomed, 5000), "child %d survived the daemon's stop",
		      (int)doomed);
	ck_assert_msg(proc_alive(kept), "the kept child %d did not survive the daemon", (int)kept);
	ck_assert_int_eq(kill(kept, SIGKILL), 0);
	spawnd_client_close(c);
}
END_TEST

/* The daemon's run-time limit: SIGTERM after the timeout, timed_out set. */
START_TEST(test_timeout)
{
	spawnd_client *c = client_open();
	spawnd_result *res = NULL;
	uint64_t id, t0 = now_usec();
	pid_t pid;

	id = start_sleeper(c, "nobody", false, USEC_PER_SEC, &pid);
	ck_assert_int_eq(spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res), 0);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_signal(res), SIGTERM);
	ck_assert_int_eq(spawnd_result_get_timed_out(res), 1);
	ck_assert_uint_lt(now_usec() - t0, 5 * USEC_PER_SEC);
	/* The daemon's timer may fire a little early against our clock (libevent caches time). */
	ck_assert_uint_ge(now_usec() - t0, USEC_PER_SEC * 9 / 10);
	spawnd_result_free(res);
	spawnd_client_close(c);
}
END_TEST

/* ---- pidfd, kill grace, hangup ---- */

/* The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:\tN"), or -1. */
static pid_t
pidfd_pid(int fd)
{
	char path[64];
	struct report rep;
	const char *v;
	pid_t pid = -1;

	xsnprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (report_read_file(path, &rep) < 0)
		return -1;
	{
		size_t pos = 0;
		const char *line;

		while ((line = report_next(&rep, &pos)))
			if (strncmp(line, "Pid:", 4) == 0) {
				v = line + 4;
				pid = (pid_t)strtol(v, NULL, 10);
			}
	}
	report_done(&rep);
	return pid;
}

/* Poll fd for POLLIN for up to ms; true when readable. */
static bool
readable_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int k;

	do
		k = poll(&p, 1, ms);
	while (k < 0 && errno == EINTR);
	return k == 1 && (p.revents & POLLIN);
}

/*
 * want_pidfd: Started carries a close-on-exec pidfd of exactly this child,
 * which becomes readable when the child exits; without it there is none.
 */
START_TEST(test_started_carries_pidfd)
{
	const char *argv[] = {fx.probe, "--sleep", "30", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	spawnd_result *res = NULL, *ex = NULL;
	uint64_t id;
	pid_t pid;
	int pidfd;

	ck_assert_int_eq(spawnd_options_set_want_pidfd(o, 1), 0);
	ck_assert_int_eq(spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res), 0);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_STARTED);
	id = spawnd_result_get_id(res);
	pid = spawnd_result_get_pid(res);
	pidfd = spawnd_result_get_pidfd(res);
	ck_assert_msg(pidfd >= 0, "no pidfd with Started: %s", strerror(-pidfd));
	ck_assert_int_eq(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(pidfd_pid(pidfd), pid);
	ck_assert_msg(!readable_within(pidfd, 200), "pidfd readable while the child runs");

	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 0, SPAWN_TIMEOUT_USEC), 0);
	ck_assert_msg(readable_within(pidfd, 5000), "pidfd not readable after the child died");
	ck_assert_int_eq(spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &ex), 0);
	ck_assert_int_eq(spawnd_result_get_signal(ex), SIGTERM);
	spawnd_result_free(ex);
	spawnd_result_free(res);

	/* Not asked for: no pidfd, and no fd arrived with the reply. */
	{
		int before = proc_fd_count(getpid());

		ck_assert_int_eq(spawnd_options_set_want_pidfd(o, 0), 0);
		ck_assert_int_eq(spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res), 0);
		ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_STARTED);
		ck_assert_int_eq(spawnd_result_get_pidfd(res), -ENODATA);
		ck_assert_int_eq(proc_fd_count(getpid()), before);
		id = spawnd_result_get_id(res);
		ck_assert_int_eq(spawnd_signal(c, id, SIGKILL, 0, SPAWN_TIMEOUT_USEC), 0);
		ck_assert_int_eq(spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &ex), 0);
		spawnd_result_free(ex);
		spawnd_result_free(res);
	}
	spawnd_options_free(o);
	spawnd_client_close(c);
}
END_TEST

/*
 * The kill grace: a child that ignores SIGTERM gets SIGKILL after the
 * requested grace (0 = at once), not after the 5 s default.
 */
START_TEST(test_kill_grace)
{
	/* sh ignores TERM, and the ignored disposition survives the exec of sleep. */
	const char *argv[] = {"/bin/sh", "-c", "trap '' TERM; exec sleep 30", NULL};
	const uint64_t graces[] = {0, 500000};
	spawnd_client *c = client_open();

	for (size_t i = 0; i < sizeof(graces) / sizeof(graces[0]); i++) {
		spawnd_options *o = opts_new("nobody", argv);
		uint64_t t0 = now_usec(), dt;
		struct run r;

		ck_assert_int_eq(spawnd_options_set_timeout(o, USEC_PER_SEC), 0);
		ck_assert_int_eq(spawnd_options_set_kill_grace(o, graces[i]), 0);
		run_spawn(c, o, true, &r);
		spawnd_options_free(o);
		dt = now_usec() - t0;
		ASSERT_KILLED(&r, SIGKILL);
		ck_assert_int_eq(r.timed_out, 1);
		ck_assert_msg(dt >= USEC_PER_SEC * 9 / 10 + graces[i] * 9 / 10 &&
				      dt < USEC_PER_SEC + graces[i] + 3 * USEC_PER_SEC,
			      "grace %llu us: the child died after %llu us",
			      (unsigned long long)graces[i], (unsigned long long)dt);
		run_done(&r);
	}
	{
		spawnd_options *o = opts_new("nobody", argv);

		ck_assert_int_eq(spawnd_options_set_kill_grace(o, SPAWND_KILL_GRACE_MAX_USEC + 1),
				 -EINVAL);
		spawnd_options_free(o);
	}
	spawnd_client_close(c);
}
END_TEST

/*
 * ON_DISCONNECT_HANGUP: SIGHUP (then SIGCONT) to the child's process group
 * when the connection closes, once: a child that ignores SIGHUP lives on.
 */
START_TEST(test_disconnect_hangup)
{
	const char *dies[] = {fx.probe, "--sleep", "30", NULL};
	/* Tells on fd 3 once it ignores SIGHUP (kept across the exec). */
	const char *survives[] = {"/bin/sh", "-c",
				  "trap '' HUP; echo ready=1 >&3; exec 3>&- sleep 30", NULL};
	spawnd_client *c = client_open();
	spawnd_result *res = NULL;
	pid_t pid_dies, pid_survives;
	spawnd_options *o;
	struct report ready;
	int p[2];

	o = opts_new("nobody", dies);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(o, SPAWND_ON_DISCONNECT_HANGUP), 0);
	ck_assert_int_eq(spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res), 0);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_STARTED);
	pid_dies = spawnd_result_get_pid(res);
	res = spawnd_result_free(res);
	spawnd_options_free(o);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	o = opts_new("nobody", survives);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(o, SPAWND_ON_DISCONNECT_HANGUP), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 3, p[1]), 0);
	ck_assert_int_eq(spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res), 0);
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_STARTED);
	pid_survives = spawnd_result_get_pid(res);
	res = spawnd_result_free(res);
	spawnd_options_free(o);
	(void)close(p[1]);
	/* sh has installed its trap before the hangup: it said so, and closed fd 3. */
	ck_assert_int_eq(report_read_fd(p[0], &ready, 10000), 0);
	(void)close(p[0]);
	ASSERT_STREQ_REPORT(&ready, "ready", "1");
	report_done(&ready);

	spawnd_client_close(c);
	ck_assert_msg(proc_wait_gone(pid_dies, 5000), "child %d survived the hangup",
		      (int)pid_dies);
	ck_assert_int_eq(proc_wait_children(fx.pid, 1, 3000), 1);
	/* Served after the hangup and the reap: a SIGTERM or SIGKILL sent then would show. */
	assert_daemon_serves();
	ck_assert_msg(proc_untouched(pid_survives), "a child ignoring SIGHUP was signalled anyway");
	ck_assert_int_eq(kill(pid_survives, SIGKILL), 0);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
}
END_TEST

/* ---- churn ---- */

struct churn {
	unsigned in_flight, exited, bad;
};

static void
churn_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct churn *ch = userdata;

	(void)c;
	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		break;
	case SPAWND_STATE_EXITED:
		ch->in_flight--;
		if (spawnd_result_get_exit_code(r) == 0)
			ch->exited++;
		else
			ch->bad++;
		break;
	default:
		ch->in_flight--;
		ch->bad++;
		break;
	}
}

#define CHURN_SEQUENTIAL 700
#define CHURN_CONCURRENT 300
#define CHURN_PARALLEL 50

/*
 * Invariants: no zombies, and the daemon's fd count (and RSS) return to
 * baseline after 1000 spawns, sequential and 50 at a time on one connection.
 */
START_TEST(test_no_zombies_after_1000_spawns)
{
	const char *argv[] = {"/bin/true", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	struct churn ch = {0};
	unsigned issued = 0;
	int base_fds, zombies;
	long base_rss, rss;

	/* Warm up (allocator, libevent tables), then take the baseline. */
	for (int i = 0; i < 50; i++) {
		struct run r;

		run_spawn(c, o, false, &r);
		ASSERT_EXITED(&r, 0);
	}
	base_fds = proc_settled_fd_count(fx.pid);
	base_rss = proc_rss_kb(fx.pid);
	ck_assert_int_gt(base_fds, 0);

	for (int i = 0; i < CHURN_SEQUENTIAL; i++) {
		struct run r;

		run_spawn(c, o, false, &r);
		ck_assert_msg(r.state == SPAWND_STATE_EXITED && r.exit_code == 0,
			      "sequential spawn %d: %s", i, run_describe(&r));
	}

	while (ch.exited + ch.bad < CHURN_CONCURRENT) {
		int k;

		while (issued < CHURN_CONCURRENT && ch.in_flight < CHURN_PARALLEL) {
			ck_assert_int_eq(spawnd_spawn_async(c, o, churn_cb, &ch, NULL), 0);
			ch.in_flight++;
			issued++;
		}
		k = spawnd_client_wait(c, SPAWN_TIMEOUT_USEC);
		ck_assert_msg(k >= 0 || k == -EINTR, "spawnd_client_wait: %s", strerror(-k));
	}
	ck_assert_uint_eq(ch.bad, 0);
	ck_assert_uint_eq(ch.exited, CHURN_CONCURRENT);
	spawnd_options_free(o);

	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
	ck_assert_int_eq(proc_children(fx.pid, &zombies), 0);
	ck_assert_int_eq(zombies, 0);
	ck_assert_int_eq(proc_wait_fd_count(fx.pid, base_fds, 5000), base_fds);
	rss = proc_rss_kb(fx.pid);
#ifndef SPAWND_IT_SANITIZED
	/* ASan's quarantine keeps freed memory resident; only judge RSS without it. */
	ck_assert_msg(rss - base_rss < 2048, "daemon RSS grew from %ld to %ld KiB", base_rss, rss);
#else
	(void)rss;
	(void)base_rss;
#endif
	spawnd_client_close(c);
}
END_TEST

/* A hex mask line ("SigBlk:", "SigCgt:") of /proc/PID/task/TID/status. */
static uint64_t
task_mask(const char *status_path, const char *name)
{
	char line[256];
	uint64_t v = 0;
	bool found = false;
	FILE *f = fopen(status_path, "re");

	ck_assert_msg(f, "fopen %s: %s", status_path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, strlen(name)) == 0) {
			v = strtoull(line + strlen(name), NULL, 16);
			found = true;
		}
	(void)fclose(f);
	ck_assert_msg(found, "no %s in %s", name, status_path);
	return v;
}

#define SIGBIT(sig) (UINT64_C(1) << ((sig)-1))

/*
 * The daemon's signal state (docs/architecture.md, server.c; spawnd(8)
 * SIGNALS). Every thread blocks every signal but SIGKILL, SIGSTOP,
 * glibc's two internal ones and those that dump core, and no handler
 * exists for any signal that is not blocked. That is what lets the
 * engine clone without a block/restore pair of its own: the clone
 * inherits the loop thread's mask, so no handler of the daemon can run
 * in a child before child_exec() has reset every disposition. A signal
 * the daemon does not handle stays pending and does no harm.
 */
START_TEST(test_daemon_signal_state)
{
	/* The signals whose default action dumps core stay deliverable (main.c). */
	const uint64_t core = SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGABRT) |
			      SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) |
			      SIGBIT(SIGXFSZ) | SIGBIT(SIGSYS);
	const uint64_t never = SIGBIT(SIGKILL) | SIGBIT(SIGSTOP) | SIGBIT(32) | SIGBIT(33);
	const char *argv[] = {"/bin/true", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	char dir[64], path[512];
	struct dirent *e;
	unsigned threads = 0;
	struct run r;
	DIR *d;

	/* A spawn first: its lookup starts a resolver thread, which must block them too. */
	run_spawn(c, o, false, &r);
	ASSERT_EXITED(&r, 0);

	xsnprintf(dir, sizeof(dir), "/proc/%d/task", (int)fx.pid);
	d = opendir(dir);
	ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		uint64_t blk, cgt;

		if (e->d_name[0] == '.')
			continue;
		xsnprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		blk = task_mask(path, "SigBlk:");
		cgt = task_mask(path, "SigCgt:");
		ck_assert_msg((blk | core | never) == UINT64_MAX,
			      "thread %s leaves signals unblocked: SigBlk %016llx", e->d_name,
			      (unsigned long long)blk);
		ck_assert_msg((cgt & ~blk & ~core & ~never) == 0,
			      "thread %s has a handler for an unblocked signal: SigCgt %016llx, "
			      "SigBlk %016llx",
			      e->d_name, (unsigned long long)cgt, (unsigned long long)blk);
		threads++;
	}
	(void)closedir(d);
	ck_assert_uint_ge(threads, 2);

	/* A signal it does not handle changes nothing. */
	ck_assert_int_eq(kill(fx.pid, SIGUSR1), 0);
	run_spawn(c, o, false, &r);
	ASSERT_EXITED(&r, 0);
	ck_assert(proc_alive(fx.pid));
	spawnd_options_free(o);
	spawnd_client_close(c);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc;

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_child_credentials_are_the_targets);
	tcase_add_test(tc, test_child_starts_clean);
	tcase_add_test(tc, test_client_identity_from_peercred);
	tcase_add_test(tc, test_policy_last_match_wins_for_root);
	tcase_add_test(tc, test_exec_path_is_the_program);
	suite_add_tcase(s, tc);

	tc = tcase_create("groups");
	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_no_groups_is_a_narrowing);
	suite_add_tcase(s, tc);

	tc = tcase_create("oom");
	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_oom_score_adj_stays_the_daemons);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_chdir_as_target);
	tcase_add_test(tc, test_exec_errors);
	tcase_add_test(tc, test_unknown_user_and_group_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("fds");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fd_mapping_and_swap);
	tcase_add_test(tc, test_fd_mapping_collisions);
	tcase_add_test(tc, test_no_daemon_fd_reaches_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_env_inherited_filtered);
	tcase_add_test(tc, test_env_explicit_refused);
	tcase_add_test(tc, test_env_keepenv_keeps_denylist);
	tcase_add_test(tc, test_env_rule_setenv);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exit_status);
	tcase_add_test(tc, test_signal_only_own_children);
	tcase_add_test(tc, test_disconnect_terminates_unless_keep);
	tcase_add_test(tc, test_daemon_stop_applies_on_disconnect);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_started_carries_pidfd);
	tcase_add_test(tc, test_kill_grace);
	tcase_add_test(tc, test_disconnect_hangup);
	tcase_add_test(tc, test_daemon_signal_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared-table");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_many_live_children_shared_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("churn");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_no_zombies_after_1000_spawns);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(daemon_suite());
}
