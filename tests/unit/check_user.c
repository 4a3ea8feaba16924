/* SPDX-License-Identifier: MIT */
/*
 * user.c: strict id parsing (HOSTILE.md 6, 7) and target resolution against
 * the real accounts root and nobody, whose ids and groups are read from the
 * system at run time rather than assumed.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "macro.h"
#include "test-util.h"
#include "user.h"

/* A uid/gid that is on no account here; tests that need one check that. */
#define UNUSED_ID 4294967290u

static const struct {
	const char *s;
	int r;
	uint32_t id;
} parse_cases[] = {
	{"0", 0, 0},
	{"1", 0, 1},
	{"65534", 0, 65534},
	{"2147483648", 0, 2147483648u},
	{"4294967294", 0, 4294967294u},
	{"4294967295", -EINVAL, 0}, /* (uid_t)-1, sudo CVE-2019-14287 */
	{"4294967296", -EINVAL, 0},
	{"99999999999", -EINVAL, 0},
	{"18446744073709551616", -EINVAL, 0},
	{"0x0", -EINVAL, 0},
	{"0x10", -EINVAL, 0},
	{"+0", -EINVAL, 0},
	{"-0", -EINVAL, 0},
	{"-1", -EINVAL, 0},
	{" 0", -EINVAL, 0},
	{"0 ", -EINVAL, 0},
	{"01", -EINVAL, 0},
	{"00", -EINVAL, 0},
	{"1e3", -EINVAL, 0},
	{"1.0", -EINVAL, 0},
	{"", -EINVAL, 0},
	{"root", -EINVAL, 0},
};

START_TEST(test_parse_id)
{
	uint32_t id = 0xdeadbeef;
	int r = user_parse_id(parse_cases[_i].s, &id);

	ck_assert_msg(r == parse_cases[_i].r, "\"%s\": got %d, expected %d", parse_cases[_i].s, r,
		      parse_cases[_i].r);
	if (r == 0)
		ck_assert_uint_eq(id, parse_cases[_i].id);
	else
		/* Output parameters are written only on success. */
		ck_assert_uint_eq(id, 0xdeadbeef);
}
END_TEST

START_TEST(test_is_numeric)
{
	ck_assert(user_is_numeric("0"));
	ck_assert(user_is_numeric("0123"));
	ck_assert(user_is_numeric("99999999999"));
	ck_assert(!user_is_numeric(""));
	ck_assert(!user_is_numeric(NULL));
	ck_assert(!user_is_numeric("root"));
	ck_assert(!user_is_numeric("12a"));
	ck_assert(!user_is_numeric("-1"));
	ck_assert(!user_is_numeric(" 1"));
}
END_TEST

/* The system's own answer: all groups of a user, primary included. */
static size_t
system_groups(const char *name, gid_t gid, gid_t *list, int max)
{
	int n = max;

	ck_assert_int_ge(getgrouplist(name, gid, list, &n), 0);
	return (size_t)n;
}

static bool
has_gid(const gid_t *list, size_t n, gid_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == gid)
			return true;
	return false;
}

static void
assert_default_target(const char *spec, const char *name)
{
	struct target_user t = {};
	const char *what = NULL;
	struct passwd *pw = getpwnam(name);
	gid_t want[256];
	size_t n_want;

	ck_assert_ptr_nonnull(pw);
	n_want = system_groups(name, pw->pw_gid, want, 256);
	ASSERT_OK(user_resolve_target(spec, NULL, NULL, &t, &what));
	ck_assert_uint_eq(t.uid, pw->pw_uid);
	ck_assert_uint_eq(t.gid, pw->pw_gid);
	ck_assert_str_eq(t.name, name);
	ck_assert_str_eq(t.home, pw->pw_dir[0] ? pw->pw_dir : "/");
	ck_assert_str_eq(t.shell, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	/* By default the child gets every group the system gives the user. */
	ck_assert_uint_eq(t.n_groups, n_want);
	for (size_t i = 0; i < n_want; i++)
		ck_assert(has_gid(t.groups, t.n_groups, want[i]));
	ck_assert(has_gid(t.groups, t.n_groups, pw->pw_gid));
	target_user_done(&t);
	ck_assert_ptr_null(t.name);
	ck_assert_ptr_null(t.groups);
}

START_TEST(test_resolve_root)
{
	assert_default_target("root", "root");
	assert_default_target("0", "root");
}
END_TEST

START_TEST(test_resolve_nobody)
{
	struct passwd *pw = getpwnam("nobody");
	char uid[16];

	ck_assert_ptr_nonnull(pw);
	(void)snprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
	assert_default_target("nobody", "nobody");
	assert_default_target(uid, "nobody");
}
END_TEST

/* nobody asks for its own primary group, by name and by number. */
START_TEST(test_resolve_own_group)
{
	struct passwd *pw = getpwnam("nobody");
	struct target_user t = {};
	const char *what = NULL;
	struct group *gr;
	char gid[16], *name;

	ck_assert_ptr_nonnull(pw);
	(void)snprintf(gid, sizeof(gid), "%u", (unsigned)pw->pw_gid);
	gr = getgrgid(pw->pw_gid);
	ck_assert_ptr_nonnull(gr);
	name = strdup(gr->gr_name);

	char *only[] = {name, NULL};
	ASSERT_OK(user_resolve_target("nobody", name, only, &t, &what));
	ck_assert_uint_eq(t.gid, pw->pw_gid);
	ck_assert_uint_eq(t.n_groups, 1);
	ck_assert_uint_eq(t.groups[0], pw->pw_gid);
	target_user_done(&t);

	/* By number; the same group twice collapses to one entry. */
	char *twice[] = {gid, name, NULL};
	ASSERT_OK(user_resolve_target("nobody", gid, twice, &t, &what));
	ck_assert_uint_eq(t.gid, pw->pw_gid);
	ck_assert_uint_eq(t.n_groups, 1);
	target_user_done(&t);

	/* An explicit empty list means no supplementary groups at all. */
	char *none[] = {NULL};
	ASSERT_OK(user_resolve_target("nobody", NULL, none, &t, &what));
	ck_assert_uint_eq(t.gid, pw->pw_gid);
	ck_assert_uint_eq(t.n_groups, 0);
	target_user_done(&t);
	free(name);
}
END_TEST

/* A group of root's that nobody does not have must be refused as nobody's. */
START_TEST(test_resolve_foreign_group)
{
	struct target_user t = {.uid = 4242}, before;
	struct group *gr = getgrgid(0);
	const char *what = NULL;
	char *name;

	ck_assert_ptr_nonnull(gr);
	name = strdup(gr->gr_name);
	before = t;

	ASSERT_ERROR(user_resolve_target("nobody", name, NULL, &t, &what), -EPERM);
	ck_assert_str_eq(what, name);
	ASSERT_ERROR(user_resolve_target("nobody", "0", NULL, &t, &what), -EPERM);
	ck_assert_str_eq(what, "0");

	char *groups[] = {name, NULL};
	ASSERT_ERROR(user_resolve_target("nobody", NULL, groups, &t, &what), -EPERM);
	ck_assert_str_eq(what, name);
	/* The target is written only on success. */
	ck_assert_mem_eq(&t, &before, sizeof(t));
	free(name);
}
END_TEST

/* If some account has a supplementary group, it may ask for exactly that one. */
START_TEST(test_resolve_supplementary)
{
	struct target_user t = {};
	const char *what = NULL;
	char *user = NULL, *group = NULL;
	struct group *gr;

	setgrent();
	while (!user && (gr = getgrent()))
		for (char **m = gr->gr_mem; *m; m++)
			if (getpwnam(*m)) {
				user = strdup(*m);
				group = strdup(gr->gr_name);
				break;
			}
	endgrent();
	if (!user) {
		fprintf(stderr, "no account with a supplementary group here, case skipped\n");
		return;
	}

	char *groups[] = {group, NULL};
	ASSERT_OK(user_resolve_target(user, NULL, groups, &t, &what));
	ck_assert_uint_eq(t.n_groups, 1);
	ck_assert_uint_eq(t.groups[0], getgrnam(group)->gr_gid);
	target_user_done(&t);
	free(user);
	free(group);
}
END_TEST

static const struct {
	const char *user, *group;
	int r;
	const char *what;
} bad_cases[] = {
	{"no-such-user-xyz", NULL, -ESRCH, "no-such-user-xyz"},
	{"4294967295", NULL, -EINVAL, "4294967295"},
	{"99999999999", NULL, -EINVAL, "99999999999"},
	{"01", NULL, -EINVAL, "01"},
	{"00", NULL, -EINVAL, "00"},
	/* Not numbers, so names; no account has these names. */
	{"0x0", NULL, -ESRCH, "0x0"},
	{"+0", NULL, -ESRCH, "+0"},
	{" 0", NULL, -ESRCH, " 0"},
	{"-1", NULL, -ESRCH, "-1"},
	{"", NULL, -EINVAL, "user"},
	{"nobody", "no-such-group-xyz", -ESRCH, "no-such-group-xyz"},
	{"nobody", "4294967295", -EINVAL, "4294967295"},
	{"nobody", "065534", -EINVAL, "065534"},
	{"nobody", "", -EINVAL, ""},
};

START_TEST(test_resolve_bad)
{
	struct target_user t = {.uid = 4242}, before = t;
	const char *what = NULL;
	int r;

	r = user_resolve_target(bad_cases[_i].user, bad_cases[_i].group, NULL, &t, &what);
	ck_assert_msg(r == bad_cases[_i].r, "user \"%s\" group \"%s\": got %d, expected %d",
		      bad_cases[_i].user, bad_cases[_i].group ? bad_cases[_i].group : "(null)", r,
		      bad_cases[_i].r);
	ck_assert_ptr_nonnull(what);
	ck_assert_str_eq(what, bad_cases[_i].what);
	ck_assert_mem_eq(&t, &before, sizeof(t));
}
END_TEST

/* A number must still be an account: no HOME, SHELL or groups otherwise. */
START_TEST(test_resolve_unknown_uid)
{
	struct target_user t = {};
	const char *what = NULL;
	char uid[16];

	if (getpwuid(UNUSED_ID)) {
		fprintf(stderr, "uid %u exists here, case skipped\n", UNUSED_ID);
		return;
	}
	(void)snprintf(uid, sizeof(uid), "%u", UNUSED_ID);
	ASSERT_ERROR(user_resolve_target(uid, NULL, NULL, &t, &what), -ESRCH);
	ck_assert_str_eq(what, uid);
}
END_TEST

START_TEST(test_lookup)
{
	uid_t uid = 4242;
	gid_t gid = 4242;

	ASSERT_OK(user_lookup_uid("root", &uid));
	ck_assert_uint_eq(uid, 0);
	ASSERT_OK(user_lookup_uid("0", &uid));
	ck_assert_uint_eq(uid, 0);
	uid = 4242;
	ASSERT_ERROR(user_lookup_uid("no-such-user-xyz", &uid), -ESRCH);
	ASSERT_ERROR(user_lookup_uid("4294967295", &uid), -EINVAL);
	ASSERT_ERROR(user_lookup_uid("", &uid), -EINVAL);
	ck_assert_uint_eq(uid, 4242);

	ASSERT_OK(user_lookup_gid(getgrgid(0)->gr_name, &gid));
	ck_assert_uint_eq(gid, 0);
	/* A group number need not exist: the kernel reports bare gids too. */
	ASSERT_OK(user_lookup_gid("4294967294", &gid));
	ck_assert_uint_eq(gid, 4294967294u);
	gid = 4242;
	ASSERT_ERROR(user_lookup_gid("no-such-group-xyz", &gid), -ESRCH);
	ASSERT_ERROR(user_lookup_gid("4294967295", &gid), -EINVAL);
	ASSERT_ERROR(user_lookup_gid("0x0", &gid), -ESRCH);
	ck_assert_uint_eq(gid, 4242);
}
END_TEST

START_TEST(test_name_of)
{
	char *s = user_name_of(0);

	ck_assert_str_eq(s, "root");
	free(s);
	if (!getpwuid(UNUSED_ID)) {
		s = user_name_of(UNUSED_ID);
		ck_assert_str_eq(s, "4294967290");
		free(s);
	}
}
END_TEST

START_TEST(test_done_zeroed)
{
	struct target_user t = {};

	target_user_done(&t);
	target_user_done(&t);
	target_user_done(NULL);
}
END_TEST

static Suite *
user_suite(void)
{
	Suite *s = suite_create("user");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_id, 0, (int)ELEMENTSOF(parse_cases));
	tcase_add_test(tc, test_is_numeric);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_resolve_root);
	tcase_add_test(tc, test_resolve_nobody);
	tcase_add_test(tc, test_resolve_own_group);
	tcase_add_test(tc, test_resolve_foreign_group);
	tcase_add_test(tc, test_resolve_supplementary);
	tcase_add_loop_test(tc, test_resolve_bad, 0, (int)ELEMENTSOF(bad_cases));
	tcase_add_test(tc, test_resolve_unknown_uid);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_name_of);
	tcase_add_test(tc, test_done_zeroed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(user_suite(), EXIT_SUCCESS);
}
