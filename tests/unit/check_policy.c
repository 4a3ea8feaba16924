/* SPDX-License-Identifier: MIT */
/*
 * policy.c: the decision table. Rules use numeric ids (no NSS lookups, so
 * the cases do not depend on the accounts of the machine; a numeric target
 * must still exist, so targets are root) plus a few unknown names, which
 * must never match, deny rules included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "macro.h"
#include "test-util.h"

static const char policy_text[] = "permit 1000\n"				 /* 1 */
				  "deny 1000 as 0\n"				 /* 2 */
				  "permit :2000 as 0 cmd /usr/bin/id\n"		 /* 3 */
				  "permit 1001 cmd /usr/bin/echo args\n"	 /* 4 */
				  "permit 1001 cmd /usr/bin/printf args a b\n"	 /* 5 */
				  "deny :3000\n"				 /* 6 */
				  "permit 1002 as 0\n"				 /* 7 */
				  "permit no-such-user-xyz\n"			 /* 8 */
				  "permit :no-such-group-xyz\n"			 /* 9 */
				  "permit 1004 as no-such-user-xyz\n"		 /* 10 */
				  "permit 1006\n"				 /* 11 */
				  "deny no-such-user-xyz\n"			 /* 12 */
				  "deny :no-such-group-xyz\n"			 /* 13 */
				  "permit 1007 cmd /usr/bin/env args \"\" -i\n"; /* 14 */

/* argv tables are string literals; policy_match() takes them as char *const *. */
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define AV(a) ((char *const *)(a))

static const gid_t g2000[] = {2000};
static const gid_t g3000[] = {5, 3000, 6};

static const struct {
	const char *what;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	uid_t target;
	const char *path;
	const char *const *argv;
	unsigned line; /* 0 = no rule */
	bool permit;
} cases[] = {
	{"user rule, any target", 1000, 1000, NULL, 0, 5, "/bin/x", ARGV("x"), 1, true},
	{"later deny wins", 1000, 1000, NULL, 0, 0, "/bin/x", ARGV("x"), 2, false},
	{"group via primary gid", 1000, 2000, NULL, 0, 0, "/usr/bin/id", ARGV("id"), 3, true},
	{"group via peer groups", 1005, 100, g2000, 1, 0, "/usr/bin/id", ARGV("id", "-u"), 3, true},
	{"group rule, other cmd", 1005, 100, g2000, 1, 0, "/usr/bin/idx", ARGV("idx"), 0, false},
	{"group rule, other target", 1005, 100, g2000, 1, 1, "/usr/bin/id", ARGV("id"), 0, false},
	{"uid equal to a group's gid is no member", 2000, 100, NULL, 0, 0, "/usr/bin/id",
	 ARGV("id"), 0, false},
	{"gid equal to a user rule's uid is no match", 5, 1000, NULL, 0, 0, "/bin/x", ARGV("x"), 0,
	 false},
	{"bare args, no arguments", 1001, 1001, NULL, 0, 0, "/usr/bin/echo", ARGV("echo"), 4, true},
	{"bare args, one argument", 1001, 1001, NULL, 0, 0, "/usr/bin/echo", ARGV("echo", "x"), 0,
	 false},
	{"bare args, empty argument", 1001, 1001, NULL, 0, 0, "/usr/bin/echo", ARGV("echo", ""), 0,
	 false},
	{"args exact", 1001, 1001, NULL, 0, 0, "/usr/bin/printf", ARGV("printf", "a", "b"), 5,
	 true},
	{"argv[0] is not compared", 1001, 1001, NULL, 0, 0, "/usr/bin/printf",
	 ARGV("anything", "a", "b"), 5, true},
	{"args too few", 1001, 1001, NULL, 0, 0, "/usr/bin/printf", ARGV("printf", "a"), 0, false},
	{"args too many", 1001, 1001, NULL, 0, 0, "/usr/bin/printf", ARGV("printf", "a", "b", "c"),
	 0, false},
	{"args differ", 1001, 1001, NULL, 0, 0, "/usr/bin/printf", ARGV("printf", "a", "B"), 0,
	 false},
	{"args prefix only", 1001, 1001, NULL, 0, 0, "/usr/bin/printf", ARGV("printf", "a", "bb"),
	 0, false},
	{"cmd is the literal path", 1001, 1001, NULL, 0, 0, "/usr/bin/../bin/echo", ARGV("echo"), 0,
	 false},
	{"cmd is not a prefix", 1001, 1001, NULL, 0, 0, "/usr/bin/echo2", ARGV("echo"), 0, false},
	{"deny for a group via primary gid", 1000, 3000, NULL, 0, 5, "/bin/x", ARGV("x"), 6, false},
	{"deny for a group via peer groups", 1000, 1000, g3000, 3, 5, "/bin/x", ARGV("x"), 6,
	 false},
	{"target pinned", 1002, 1002, NULL, 0, 0, "/bin/x", ARGV("x"), 7, true},
	{"target pinned, other target", 1002, 1002, NULL, 0, 1004, "/bin/x", ARGV("x"), 0, false},
	{"unknown target never matches", 1004, 1004, NULL, 0, 1004, "/bin/x", ARGV("x"), 0, false},
	{"unknown target never matches root", 1004, 1004, NULL, 0, 0, "/bin/x", ARGV("x"), 0,
	 false},
	/* Deny rules for unknown names match nobody: the permit stands. */
	{"unknown-name deny never matches", 1006, 1006, NULL, 0, 0, "/bin/x", ARGV("x"), 11, true},
	{"no rule for a stranger", 65534, 65534, NULL, 0, 0, "/bin/x", ARGV("x"), 0, false},
	{"empty argument pinned", 1007, 1007, NULL, 0, 0, "/usr/bin/env", ARGV("env", "", "-i"), 14,
	 true},
	{"empty argument missing", 1007, 1007, NULL, 0, 0, "/usr/bin/env", ARGV("env", "-i"), 0,
	 false},
	{"no exec path never matches a cmd rule", 1001, 1001, NULL, 0, 0, NULL, ARGV("echo"), 0,
	 false},
};

static struct policy *
load_policy(void)
{
	struct policy *p = NULL;
	char *error = NULL;
	int r = config_parse_string("policy.conf", policy_text, NULL, NULL, &p, &error);

	ck_assert_msg(r == 0, "%s", error);
	ck_assert_uint_eq(p->n_rules, 14);
	return p;
}

START_TEST(test_match)
{
	struct policy *p = load_policy();
	struct peer_cred who = {
		.pid = 4242,
		.uid = cases[_i].uid,
		.gid = cases[_i].gid,
		.groups = cases[_i].groups,
		.n_groups = cases[_i].n_groups,
	};
	/* Canonical paths: test_program_not_spelling. */
	struct policy_command command = {.path = cases[_i].path};
	const struct policy_rule *rule = policy_match(
		p, &who, cases[_i].target, cases[_i].path ? &command : NULL, AV(cases[_i].argv));

	if (cases[_i].line == 0)
		ck_assert_msg(!rule, "%s: matched line %u, expected no rule", cases[_i].what,
			      rule ? rule->line : 0);
	else {
		ck_assert_msg(rule, "%s: no rule, expected line %u", cases[_i].what,
			      cases[_i].line);
		ck_assert_msg(rule->line == cases[_i].line, "%s: line %u, expected %u",
			      cases[_i].what, rule->line, cases[_i].line);
		ck_assert_msg(rule->permit == cases[_i].permit, "%s: wrong verdict",
			      cases[_i].what);
	}
	policy_free(p);
}
END_TEST

START_TEST(test_empty_and_null)
{
	struct peer_cred who = {.uid = 0};
	struct policy *p = NULL;

	ASSERT_OK(config_parse_string("empty.conf", "# nothing\n", NULL, NULL, &p, NULL));
	/* No rule at all means deny, root included. */
	struct policy_command x = {.path = "/bin/x"};

	ck_assert_ptr_null(policy_match(p, &who, 0, &x, AV(ARGV("x"))));
	ck_assert_ptr_null(policy_match(NULL, &who, 0, &x, AV(ARGV("x"))));
	ck_assert_ptr_null(policy_free(p));
	ck_assert_ptr_null(policy_free(NULL));
}
END_TEST

/* A rule built by hand with args but no cmd still pins the arguments. */
START_TEST(test_args_without_cmd)
{
	char *args[] = {(char *)"a", NULL};
	struct policy_rule rule = {
		.permit = true,
		.line = 1,
		.ident_valid = true,
		.ident_uid = 7,
		.has_args = true,
		.args = args,
		.n_args = 1,
	};
	struct policy p = {.rules = &rule, .n_rules = 1};
	struct peer_cred who = {.uid = 7, .gid = 7};
	struct policy_command x = {.path = "/bin/x"};

	ck_assert_ptr_eq(policy_match(&p, &who, 0, &x, AV(ARGV("x", "a"))), &rule);
	ck_assert_ptr_null(policy_match(&p, &who, 0, &x, AV(ARGV("x"))));
}
END_TEST

/*
 * HOSTILE.md 44: `cmd` matches the program, not the spelling. Rules built by
 * hand with the canonical paths a merged-/usr system (and a busybox system)
 * would give, so the cases do not depend on this machine's file system:
 *   1 permit 7                     (any command)
 *   2 deny 7 cmd /bin/sh           /bin/sh -> /usr/bin/dash
 *   3 permit 8 cmd /bin/ls         /bin/ls -> /bin/busybox
 *   4 permit 9 cmd /bin/true       /bin/true -> /usr/bin/true
 */
static struct policy_rule spelling_rules[] = {
	{.permit = true, .line = 1, .ident_valid = true, .ident_uid = 7},
	{.permit = false,
	 .line = 2,
	 .ident_valid = true,
	 .ident_uid = 7,
	 .cmd = (char *)"/bin/sh",
	 .cmd_canonical = (char *)"/usr/bin/dash"},
	{.permit = true,
	 .line = 3,
	 .ident_valid = true,
	 .ident_uid = 8,
	 .cmd = (char *)"/bin/ls",
	 .cmd_canonical = (char *)"/bin/busybox"},
	{.permit = true,
	 .line = 4,
	 .ident_valid = true,
	 .ident_uid = 9,
	 .cmd = (char *)"/bin/true",
	 .cmd_canonical = (char *)"/usr/bin/true"},
};

static const struct {
	const char *what;
	uid_t uid;
	const char *path, *canonical;
	unsigned line; /* 0 = no rule */
} spellings[] = {
	{"the rule's own spelling", 7, "/bin/sh", "/usr/bin/dash", 2},
	{"the rule's spelling, not resolvable", 7, "/bin/sh", NULL, 2},
	/* command_resolve() normalised "/bin//sh" and "/bin/./sh" to this: */
	{"sh on the fixed PATH", 7, "/usr/bin/sh", "/usr/bin/dash", 2},
	{"the program itself", 7, "/usr/bin/dash", "/usr/bin/dash", 2},
	{"the program, not resolvable", 7, "/usr/bin/dash", NULL, 2},
	{"a client's own link to it", 7, "/tmp/x/mysh", "/usr/bin/dash", 2},
	{"another program is no sandbox escape here, just not denied", 7, "/usr/bin/bash",
	 "/usr/bin/bash", 1},
	{"a link the client cannot resolve is judged by its spelling", 7, "/root/sh", NULL, 1},
	{"permit: exact spelling", 8, "/bin/ls", "/bin/busybox", 3},
	{"permit: another spelling, same name", 8, "/usr/bin/ls", "/bin/busybox", 3},
	{"permit: same program under another name (argv[0] picks the applet)", 8, "/tmp/x/sh",
	 "/bin/busybox", 0},
	{"permit: the multi-call program itself", 8, "/bin/busybox", "/bin/busybox", 0},
	{"permit: literal match without a canonical path", 9, "/bin/true", NULL, 4},
	{"permit: /usr/bin/true for /bin/true", 9, "/usr/bin/true", "/usr/bin/true", 4},
	{"permit: /usr/bin/true, not resolvable, still the rule's canonical", 9, "/usr/bin/true",
	 NULL, 4},
	{"permit: true under another name", 9, "/tmp/x/mytrue", "/usr/bin/true", 0},
	{"permit: another program named true", 9, "/tmp/x/true", "/tmp/x/true", 0},
};

START_TEST(test_program_not_spelling)
{
	struct policy p = {.rules = spelling_rules, .n_rules = ELEMENTSOF(spelling_rules)};
	struct peer_cred who = {.uid = spellings[_i].uid, .gid = spellings[_i].uid};
	struct policy_command command = {.path = spellings[_i].path,
					 .canonical = spellings[_i].canonical};
	const struct policy_rule *rule = policy_match(&p, &who, 0, &command, AV(ARGV("x")));

	ck_assert_msg((rule ? rule->line : 0) == spellings[_i].line, "%s: line %u, expected %u",
		      spellings[_i].what, rule ? rule->line : 0, spellings[_i].line);
}
END_TEST

/*
 * With exec_path the client names the program (argv[0]) apart from its
 * path: a permit judges that name's last component too, a deny never.
 */
static const struct {
	const char *what;
	uid_t uid;
	const char *path, *canonical, *name;
	unsigned line; /* 0 = no rule */
} named[] = {
	{"permit: argv[0] picks another applet", 8, "/bin/ls", "/bin/busybox", "sh", 0},
	{"permit: argv[0] of the rule's name, elsewhere", 8, "/bin/ls", "/bin/busybox", "/x/ls", 3},
	{"permit: bare argv[0] of the rule's name", 9, "/usr/bin/true", "/usr/bin/true", "true", 4},
	{"permit: a login shell's -name is another name", 9, "/bin/true", NULL, "-true", 0},
	{"permit: a trailing slash leaves the program no name", 9, "/bin/true", NULL, "true/", 0},
	{"permit: nor does a bare slash", 9, "/bin/true", NULL, "/", 0},
	{"deny: argv[0] does not dodge a deny", 7, "/bin/sh", "/usr/bin/dash", "bash", 2},
	{"deny: nor trigger one", 7, "/usr/bin/bash", "/usr/bin/bash", "sh", 1},
};

START_TEST(test_exec_path_name)
{
	struct policy p = {.rules = spelling_rules, .n_rules = ELEMENTSOF(spelling_rules)};
	struct peer_cred who = {.uid = named[_i].uid, .gid = named[_i].uid};
	struct policy_command command = {
		.path = named[_i].path, .canonical = named[_i].canonical, .name = named[_i].name};
	const struct policy_rule *rule = policy_match(&p, &who, 0, &command, AV(ARGV("x")));

	ck_assert_msg((rule ? rule->line : 0) == named[_i].line, "%s: line %u, expected %u",
		      named[_i].what, rule ? rule->line : 0, named[_i].line);
}
END_TEST

/* Only a client that some `cmd` rule names needs its command resolved. */
START_TEST(test_wants_canonical)
{
	struct policy p = {.rules = spelling_rules, .n_rules = ELEMENTSOF(spelling_rules)};
	struct peer_cred seven = {.uid = 7}, eight = {.uid = 8}, other = {.uid = 10};

	ck_assert(policy_wants_canonical(&p, &seven));
	ck_assert(policy_wants_canonical(&p, &eight));
	ck_assert(!policy_wants_canonical(&p, &other));
	ck_assert(!policy_wants_canonical(NULL, &seven));
	/* The first rule alone (no cmd) never needs it. */
	p.n_rules = 1;
	ck_assert(!policy_wants_canonical(&p, &seven));
}
END_TEST

/*
 * The child's umask (HOSTILE.md 41): never more permissive than 022 for
 * another user's files; as asked when the target is the client itself.
 */
static const struct {
	mode_t requested;
	uid_t client, target;
	mode_t want;
} umask_cases[] = {
	/* Another user: OR 022. */
	{0, 33, 0, 022},
	{0, 33, 65534, 022},
	{002, 33, 0, 022},
	{005, 33, 0, 027},
	{022, 33, 0, 022},
	{077, 33, 0, 077},
	{0666, 33, 0, 0666},
	{0777, 33, 0, 0777},
	{0, 0, 65534, 022},
	{0, 65534, 0, 022},
	{07000, 33, 0, 022},
	/* The client itself (root too): as asked, only the permission bits. */
	{0, 33, 33, 0},
	{002, 33, 33, 002},
	{0777, 33, 33, 0777},
	{07777, 33, 33, 0777},
	{0, 0, 0, 0},
};

START_TEST(test_umask)
{
	mode_t got = policy_umask(umask_cases[_i].requested, umask_cases[_i].client,
				  umask_cases[_i].target);

	ck_assert_msg(got == umask_cases[_i].want,
		      "umask %04o, client %u, target %u: got %04o, expected %04o",
		      (unsigned)umask_cases[_i].requested, (unsigned)umask_cases[_i].client,
		      (unsigned)umask_cases[_i].target, (unsigned)got,
		      (unsigned)umask_cases[_i].want);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("match");

	tcase_add_loop_test(tc, test_match, 0, (int)ELEMENTSOF(cases));
	tcase_add_test(tc, test_empty_and_null);
	tcase_add_test(tc, test_args_without_cmd);
	tcase_add_loop_test(tc, test_program_not_spelling, 0, (int)ELEMENTSOF(spellings));
	tcase_add_loop_test(tc, test_exec_path_name, 0, (int)ELEMENTSOF(named));
	tcase_add_test(tc, test_wants_canonical);
	suite_add_tcase(s, tc);

	tc = tcase_create("umask");
	tcase_add_loop_test(tc, test_umask, 0, (int)ELEMENTSOF(umask_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(policy_suite(), EXIT_SUCCESS);
}
