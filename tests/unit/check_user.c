/* SPDX-License-Identifier: MIT */
/*
 * user.c: strict id parsing (HOSTILE.md 6, 7) and target resolution against
 * the real accounts root and nobody, whose ids and groups are read from the
 * system at run time rather than assumed; user_cache.c: cache hits, the
 * nsswitch.conf rule, and invalidation when /etc/passwd or /etc/group change.
 * The cases that edit those files (and put them back) run only as root;
 * without root they are left out and the run exits 77.
 */
#define _GNU_SOURCE

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "macro.h"
#include "test-util.h"
#include "user.h"
#include "user_cache.h"

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

/*
 * A requested group the target cannot have does not fail the lookup: the
 * target is resolved and the problem is in group_error/group_what, for the
 * daemon to report after the policy (issue 9 item 8b).
 */
static void
assert_group_refused(const char *spec, const char *group, char *const *groups, int error,
		     const char *what)
{
	struct target_user t = {};
	const char *w = NULL;
	uid_t uid;

	ASSERT_OK(user_lookup_uid(spec, &uid));
	ASSERT_OK(user_resolve_target(spec, group, groups, &t, &w));
	ck_assert_uint_eq(t.uid, uid);
	ck_assert_msg(t.group_error == error, "user %s group %s: group_error %d, expected %d", spec,
		      group ? group : "(null)", t.group_error, error);
	ck_assert_ptr_nonnull(t.group_what);
	ck_assert_str_eq(t.group_what, what);
	target_user_done(&t);
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
	ck_assert(!t.narrowed);
	ck_assert_int_eq(t.group_error, 0);
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
	struct group *gr = getgrgid(0);
	char *name, own[16];

	ck_assert_ptr_nonnull(gr);
	name = strdup(gr->gr_name);
	(void)snprintf(own, sizeof(own), "%u", (unsigned)getpwnam("nobody")->pw_gid);

	assert_group_refused("nobody", name, NULL, -EPERM, name);
	assert_group_refused("nobody", "0", NULL, -EPERM, "0");

	char *groups[] = {name, NULL};
	assert_group_refused("nobody", NULL, groups, -EPERM, name);
	/* The first bad one is named, wherever it is in the list. */
	char *later[] = {own, name, NULL};
	assert_group_refused("nobody", NULL, later, -EPERM, name);
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

	if (bad_cases[_i].group) {
		/* The user is fine: the group's problem comes with the target. */
		assert_group_refused(bad_cases[_i].user, bad_cases[_i].group, NULL, bad_cases[_i].r,
				     bad_cases[_i].what);
		return;
	}
	r = user_resolve_target(bad_cases[_i].user, bad_cases[_i].group, NULL, &t, &what);
	ck_assert_msg(r == bad_cases[_i].r, "user \"%s\" group \"%s\": got %d, expected %d",
		      bad_cases[_i].user, bad_cases[_i].group ? bad_cases[_i].group : "(null)", r,
		      bad_cases[_i].r);
	ck_assert_ptr_nonnull(what);
	ck_assert_str_eq(what, bad_cases[_i].what);
	/* The target is written only on success. */
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

/*
 * The account cache (user_cache.c). The cache reads the nsswitch.conf that
 * the tests point it at (glibc keeps reading the real one); the account files
 * are the real /etc/passwd and /etc/group.
 */

static char nss_dir[] = "/tmp/check-user-XXXXXX";
static char nss_files_only[64], nss_systemd[64];

static bool
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static uint64_t
realtime_usec(void)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t
changed_usec(const char *path)
{
	struct stat st;
	uint64_t m, c;

	ck_assert_int_eq(stat(path, &st), 0);
	m = (uint64_t)st.st_mtim.tv_sec * 1000000 + (uint64_t)st.st_mtim.tv_nsec / 1000;
	c = (uint64_t)st.st_ctim.tv_sec * 1000000 + (uint64_t)st.st_ctim.tv_nsec / 1000;
	return m > c ? m : c;
}

/*
 * The cache serves nothing while a watched file changed less than
 * USER_CACHE_SETTLE_USEC ago. Wait until all of them are older than that.
 */
static void
wait_settled(const char *nsswitch)
{
	const char *paths[] = {"/etc/passwd", "/etc/group", nsswitch};

	for (int tries = 0;; tries++) {
		uint64_t newest = 0, now = realtime_usec();

		for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
			uint64_t t = changed_usec(paths[i]);

			if (t > newest)
				newest = t;
		}
		if (newest + USER_CACHE_SETTLE_USEC + 200000 < now)
			return;
		ck_assert_msg(tries < 200, "the account files keep changing");
		(void)usleep(100000);
	}
}

static struct user_cache_stats
cache_stats(void)
{
	struct user_cache_stats s;

	user_cache_get_stats(&s);
	return s;
}

/* Whether `gid` is among the default groups user_resolve_target() gives `spec`. */
static bool
target_has_gid(const char *spec, gid_t gid)
{
	struct target_user t = {};
	const char *what = NULL;
	bool r;

	ASSERT_OK(user_resolve_target(spec, NULL, NULL, &t, &what));
	r = has_gid(t.groups, t.n_groups, gid);
	target_user_done(&t);
	return r;
}

START_TEST(test_cache_hit)
{
	struct user_cache_stats s;
	struct target_user t = {};
	const char *what = NULL;
	struct group *gr;
	char *name;

	user_cache_set_nsswitch_path(nss_files_only);
	wait_settled(nss_files_only);

	/* Each twice: the first asks NSS, the second must come from the cache
	 * and still match what the system says in every field. */
	assert_default_target("root", "root");
	assert_default_target("root", "root");
	assert_default_target("nobody", "nobody");
	assert_default_target("nobody", "nobody");
	s = cache_stats();
	ck_assert_uint_eq(s.account_misses, 2);
	ck_assert_uint_eq(s.account_hits, 2);
	ck_assert_uint_eq(s.n_accounts, 2);
	ck_assert_uint_eq(s.bypassed, 0);

	/* "0" is its own key; errors are never cached. */
	assert_default_target("0", "root");
	ASSERT_ERROR(user_resolve_target("no-such-user-xyz", NULL, NULL, &t, &what), -ESRCH);
	ASSERT_ERROR(user_resolve_target("no-such-user-xyz", NULL, NULL, &t, &what), -ESRCH);
	ck_assert_str_eq(what, "no-such-user-xyz");
	s = cache_stats();
	ck_assert_uint_eq(s.account_misses, 5);
	ck_assert_uint_eq(s.n_accounts, 3);

	/* Group names are cached too; the membership check still applies. */
	gr = getgrgid(getpwnam("nobody")->pw_gid);
	ck_assert_ptr_nonnull(gr);
	name = strdup(gr->gr_name);
	for (int i = 0; i < 2; i++) {
		char *only[] = {name, NULL};

		ASSERT_OK(user_resolve_target("nobody", name, only, &t, &what));
		ck_assert_uint_eq(t.gid, getpwnam("nobody")->pw_gid);
		ck_assert_uint_eq(t.n_groups, 1);
		target_user_done(&t);
	}
	s = cache_stats();
	ck_assert_uint_eq(s.group_misses, 1);
	ck_assert_uint_ge(s.group_hits, 2);
	free(name);
	name = strdup(getgrgid(0)->gr_name);
	assert_group_refused("nobody", name, NULL, -EPERM, name);
	assert_group_refused("nobody", "no-such-group-xyz", NULL, -ESRCH, "no-such-group-xyz");
	free(name);
}
END_TEST

/* A source other than "files" (here systemd) turns the cache off. */
START_TEST(test_cache_off_unless_files)
{
	struct user_cache_stats s;
	char missing[80];

	user_cache_set_nsswitch_path(nss_systemd);
	wait_settled(nss_systemd);
	assert_default_target("root", "root");
	assert_default_target("root", "root");
	s = cache_stats();
	ck_assert_uint_eq(s.account_hits, 0);
	ck_assert_uint_eq(s.n_accounts, 0);
	ck_assert_uint_eq(s.bypassed, 2);

	/* No nsswitch.conf: glibc's built-in default is not guessed. */
	(void)snprintf(missing, sizeof(missing), "%s/missing.conf", nss_dir);
	user_cache_set_nsswitch_path(missing);
	assert_default_target("root", "root");
	assert_default_target("root", "root");
	s = cache_stats();
	ck_assert_uint_eq(s.account_hits, 0);
	ck_assert_uint_eq(s.bypassed, 4);
}
END_TEST

/* nsswitch.conf changing from files-only to another source drops the cache. */
START_TEST(test_cache_nsswitch_change)
{
	struct user_cache_stats s;
	char path[80], tmp[80];

	(void)snprintf(path, sizeof(path), "%s/changing.conf", nss_dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/changing.tmp", nss_dir);
	ck_assert(write_file(path, "passwd: files\ngroup: files\n"));
	user_cache_set_nsswitch_path(path);
	wait_settled(path);
	assert_default_target("root", "root");
	assert_default_target("root", "root");
	ck_assert_uint_eq(cache_stats().account_hits, 1);

	ck_assert(write_file(tmp, "passwd: files sss\ngroup: files sss\n"));
	ck_assert_int_eq(rename(tmp, path), 0);
	wait_settled(path);
	assert_default_target("root", "root");
	s = cache_stats();
	ck_assert_uint_eq(s.account_hits, 1);
	ck_assert_uint_eq(s.n_accounts, 0);
	ck_assert_uint_ge(s.flushes, 1);
}
END_TEST

/* An entry older than USER_CACHE_MAX_AGE_USEC is looked up again. */
START_TEST(test_cache_max_age)
{
	struct user_cache_stats s;

	user_cache_set_nsswitch_path(nss_files_only);
	wait_settled(nss_files_only);
	assert_default_target("root", "root");
	(void)usleep((useconds_t)(USER_CACHE_MAX_AGE_USEC + 100000));
	assert_default_target("root", "root");
	s = cache_stats();
	ck_assert_uint_eq(s.account_hits, 0);
	ck_assert_uint_eq(s.account_misses, 2);
	ck_assert_uint_eq(s.n_accounts, 1);
}
END_TEST

static const struct {
	const char *text;
	bool files_only;
} nsswitch_cases[] = {
	{"passwd: files\ngroup: files\n", true},
	{"passwd:files\ngroup:files", true},
	{"  passwd files\ngroup :\tfiles  \nshadow: files systemd\nhosts: files dns\n", true},
	{"# passwd: ldap\n#group: sss\npasswd: files\ngroup: files\n", true},
	{"passwd: files\ngroup: files\ninitgroups: files\n", true},
	{"passwd: files systemd\ngroup: files systemd\n", false},
	{"passwd: files\ngroup: files systemd\n", false},
	{"passwd: sss files\ngroup: files\n", false},
	{"passwd: compat\ngroup: compat\n", false},
	{"passwd: files ldap\ngroup: files\n", false},
	{"passwd: files [NOTFOUND=return] nis\ngroup: files\n", false},
	{"passwd: files[NOTFOUND=return]\ngroup: files\n", false},
	{"passwd: files # only files\ngroup: files\n", false},
	{"passwd: files\ngroup: files\ninitgroups: files sss\n", false},
	{"passwd: files\npasswd: sss\ngroup: files\n", false},
	{"PASSWD: ldap\npasswd: files\ngroup: files\n", false},
	{"passwd: FILES\ngroup: files\n", false},
	{"passwd:\ngroup: files\n", false},
	{"passwd\ngroup: files\n", false},
	{"passwd: files\n", false},
	{"group: files\n", false},
	{"", false},
};

START_TEST(test_nsswitch_parse)
{
	const char *text = nsswitch_cases[_i].text;
	/* fmemopen() of zero bytes fails on older glibc. */
	FILE *f = *text ? fmemopen((void *)text, strlen(text), "r") : fopen("/dev/null", "re");

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(user_cache_nsswitch_files_only(f) == nsswitch_cases[_i].files_only,
		      "\"%s\": expected %s", text,
		      nsswitch_cases[_i].files_only ? "true" : "false");
	(void)fclose(f);
}
END_TEST

/*
 * Root only: the tests below edit the real /etc/passwd and /etc/group. They
 * add an entry nobody else uses and put the original back byte for byte. A
 * watchdog process (in its own process group, so that check's timeout kill
 * misses it) restores the file if the test process dies before it could:
 * a failed ck_assert() leaves a test with _exit(), which runs no cleanup.
 */
struct etc_guard {
	char path[32], link[64];
	char *orig;
	size_t len;
	struct stat st;
	pid_t watchdog;
	int done_fd;
};

static char *
read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (len == cap) {
			char *b = realloc(buf, cap + 4096);

			if (!b)
				break;
			buf = b;
			cap += 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	(void)fclose(f);
	*ret_len = len;
	return buf;
}

static bool
file_is(const char *path, const char *content, size_t len)
{
	size_t n = 0;
	char *now = read_all(path, &n);
	bool same = now && n == len && memcmp(now, content, len) == 0;

	free(now);
	return same;
}

/* Write `content` to a new file next to `path` with path's owner and mode, rename it over. */
static int
replace_file(const char *path, const struct stat *like, const char *content, size_t len)
{
	char tmp[80];
	int fd;

	(void)snprintf(tmp, sizeof(tmp), "%s.spawnd-check-new.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, content, len) != (ssize_t)len || fchown(fd, like->st_uid, like->st_gid) < 0 ||
	    fchmod(fd, like->st_mode & 07777) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		int r = -errno;

		(void)unlink(tmp);
		return r ? r : -EIO;
	}
	return 0;
}

/*
 * Put the original back: the original inode if it was edited in place (we
 * only ever append, so truncating restores it) or renamed away (the hard
 * link still has it), else a rewrite. Returns true when the content is the
 * original byte for byte.
 */
static bool
etc_restore(const struct etc_guard *g)
{
	struct stat st;

	bool back;

	if (stat(g->path, &st) == 0 && st.st_dev == g->st.st_dev && st.st_ino == g->st.st_ino)
		back = truncate(g->path, (off_t)g->len) == 0;
	else
		back = rename(g->link, g->path) == 0;
	if (!back || !file_is(g->path, g->orig, g->len))
		(void)replace_file(g->path, &g->st, g->orig, g->len);
	(void)unlink(g->link);
	return file_is(g->path, g->orig, g->len);
}

static void
etc_guard_begin(struct etc_guard *g, const char *path)
{
	int p[2];

	*g = (struct etc_guard){.done_fd = -EBADF};
	(void)snprintf(g->path, sizeof(g->path), "%s", path);
	(void)snprintf(g->link, sizeof(g->link), "%s.spawnd-check-orig.%d", path, (int)getpid());
	ck_assert_int_eq(stat(path, &g->st), 0);
	g->orig = read_all(path, &g->len);
	ck_assert_ptr_nonnull(g->orig);
	ck_assert_int_eq((off_t)g->len, g->st.st_size);
	ck_assert_int_eq(link(path, g->link), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	g->watchdog = fork();
	ck_assert_int_ge(g->watchdog, 0);
	if (g->watchdog == 0) {
		char c = 0;

		(void)setpgid(0, 0);
		(void)signal(SIGINT, SIG_IGN);
		(void)signal(SIGTERM, SIG_IGN);
		(void)close(p[1]);
		if (read(p[0], &c, 1) == 1 && c == 'k')
			_exit(EXIT_SUCCESS);
		/* The test process is gone without restoring. */
		_exit(etc_restore(g) ? EXIT_SUCCESS : EXIT_FAILURE);
	}
	(void)close(p[0]);
	g->done_fd = p[1];
}

static void
etc_guard_end(struct etc_guard *g)
{
	bool ok = etc_restore(g);
	int status;

	if (ok)
		ck_assert_int_eq(write(g->done_fd, "k", 1), 1);
	(void)close(g->done_fd);
	ck_assert_int_eq(waitpid(g->watchdog, &status, 0), g->watchdog);
	free(g->orig);
	ck_assert_msg(ok, "%s could not be restored", g->path);
}

static void
etc_append(const char *path, const char *line)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	ck_assert_int_eq(close(fd), 0);
}

static gid_t
unused_gid(void)
{
	for (gid_t gid = 4242000; gid < 4243000; gid++)
		if (!getgrgid(gid))
			return gid;
	ck_abort_msg("no unused gid");
	return 0;
}

static uid_t
unused_uid(uid_t from)
{
	for (uid_t uid = from; uid < from + 1000; uid++)
		if (!getpwuid(uid))
			return uid;
	ck_abort_msg("no unused uid");
	return 0;
}

/* Overwrite `len` bytes at `at` in place; with `keep_mtime`, put st_mtim back. */
static void
etc_pwrite(const char *path, const char *bytes, size_t len, off_t at, bool keep_mtime)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	struct stat st;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(pwrite(fd, bytes, len, at), (ssize_t)len);
	if (keep_mtime) {
		struct timespec ts[2] = {st.st_atim, st.st_mtim};

		ck_assert_int_eq(futimens(fd, ts), 0);
	}
	ck_assert_int_eq(close(fd), 0);
}

/*
 * nobody joins a new group by in-place edits of /etc/group (same inode). Each
 * change must show on the next request, whether that request comes at once
 * or after the file settled (then only the stat() identity can tell).
 */
START_TEST(test_cache_group_edit_in_place)
{
	struct etc_guard g;
	struct target_user t = {};
	const char *what = NULL;
	gid_t gid = unused_gid();
	char name[32], line[96];
	struct stat before, after;
	off_t member;

	(void)snprintf(name, sizeof(name), "spawnd-ck%d", (int)getpid());
	(void)snprintf(line, sizeof(line), "%s:x:%u:nobody\n", name, (unsigned)gid);
	user_cache_set_nsswitch_path(nss_files_only);
	/* The guard's hard link changes st_ctim: take it before settling. */
	etc_guard_begin(&g, "/etc/group");
	member = (off_t)(g.len + strlen(line) - strlen("nobody\n"));
	wait_settled(nss_files_only);
	ck_assert(!target_has_gid("nobody", gid));
	ck_assert(!target_has_gid("nobody", gid));
	ck_assert_uint_eq(cache_stats().account_hits, 1);

	/* Appended (size, st_mtim, st_ctim change); seen after settling. */
	ck_assert_int_eq(stat("/etc/group", &before), 0);
	etc_append("/etc/group", line);
	ck_assert_int_eq(stat("/etc/group", &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	wait_settled(nss_files_only);
	ck_assert(target_has_gid("nobody", gid));
	char *groups[] = {name, NULL};
	ASSERT_OK(user_resolve_target("nobody", name, groups, &t, &what));
	ck_assert_uint_eq(t.gid, gid);
	target_user_done(&t);
	ck_assert_uint_eq(cache_stats().account_hits, 2);

	/*
	 * nobody leaves by a same-size edit that puts st_mtim back (as
	 * `rsync --inplace -t` or `touch -r` would): only st_ctim tells.
	 */
	etc_pwrite("/etc/group", "nobodz", 6, member, true);
	wait_settled(nss_files_only);
	ck_assert(!target_has_gid("nobody", gid));
	ck_assert(!target_has_gid("nobody", gid));

	/*
	 * Two same-size edits in quick succession, each followed by a request
	 * at once: within one timestamp tick the identity may not change at all
	 * (kernels before multigrain timestamps), so nothing read while a file
	 * is that fresh may be kept.
	 */
	etc_pwrite("/etc/group", "nobody", 6, member, false);
	ck_assert(target_has_gid("nobody", gid));
	etc_pwrite("/etc/group", "nobodz", 6, member, false);
	ck_assert(!target_has_gid("nobody", gid));
	etc_pwrite("/etc/group", "nobody", 6, member, false);
	ck_assert(target_has_gid("nobody", gid));

	/* Removed again: at once, and after settling. */
	etc_guard_end(&g);
	ck_assert(!target_has_gid("nobody", gid));
	assert_group_refused("nobody", name, NULL, -ESRCH, name);
	wait_settled(nss_files_only);
	ck_assert(!target_has_gid("nobody", gid));
}
END_TEST

/*
 * A user appears, changes uid and disappears through /etc/passwd replaced by
 * rename (a new inode each time, as vipw and most tools do).
 */
START_TEST(test_cache_passwd_replaced)
{
	struct etc_guard g;
	struct target_user t = {};
	const char *what = NULL;
	uid_t uid1 = unused_uid(4242000), uid2 = unused_uid(uid1 + 1);
	char name[32], *text;
	size_t len;

	(void)snprintf(name, sizeof(name), "spawnd-ck%d", (int)getpid());
	user_cache_set_nsswitch_path(nss_files_only);
	etc_guard_begin(&g, "/etc/passwd");
	ASSERT_ERROR(user_resolve_target(name, NULL, NULL, &t, &what), -ESRCH);

	/* Add it; once settled it is cached. */
	len = (size_t)asprintf(&text, "%.*s%s:x:%u:65534::/nonexistent:/usr/sbin/nologin\n",
			       (int)g.len, g.orig, name, (unsigned)uid1);
	ck_assert_int_eq(replace_file("/etc/passwd", &g.st, text, len), 0);
	free(text);
	wait_settled(nss_files_only);
	for (int i = 0; i < 2; i++) {
		ASSERT_OK(user_resolve_target(name, NULL, NULL, &t, &what));
		ck_assert_uint_eq(t.uid, uid1);
		target_user_done(&t);
	}
	ck_assert_uint_eq(cache_stats().account_hits, 1);

	/* Its uid changes. */
	len = (size_t)asprintf(&text, "%.*s%s:x:%u:65534::/nonexistent:/usr/sbin/nologin\n",
			       (int)g.len, g.orig, name, (unsigned)uid2);
	ck_assert_int_eq(replace_file("/etc/passwd", &g.st, text, len), 0);
	free(text);
	wait_settled(nss_files_only);
	ASSERT_OK(user_resolve_target(name, NULL, NULL, &t, &what));
	ck_assert_uint_eq(t.uid, uid2);
	target_user_done(&t);
	ASSERT_OK(user_resolve_target(name, NULL, NULL, &t, &what));
	ck_assert_uint_eq(t.uid, uid2);
	target_user_done(&t);
	ck_assert_uint_eq(cache_stats().account_hits, 2);

	/* It is removed (the original inode comes back): at once, and later. */
	etc_guard_end(&g);
	ASSERT_ERROR(user_resolve_target(name, NULL, NULL, &t, &what), -ESRCH);
	ck_assert_str_eq(what, name);
	wait_settled(nss_files_only);
	ASSERT_ERROR(user_resolve_target(name, NULL, NULL, &t, &what), -ESRCH);
}
END_TEST

/*
 * Root only. Narrowing (HOSTILE.md 40): nobody gets two more groups, A and B,
 * from a copy of /etc/group bind-mounted in a mount namespace of this test
 * process alone (CK_FORK), so the real file is never touched.
 */
static gid_t narrow_a, narrow_b;

static void
private_group_file(void)
{
	char dir[] = "/tmp/check-user-ns-XXXXXX", path[64], line[128];
	size_t len = 0;
	char *orig;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	narrow_a = unused_gid();
	for (narrow_b = narrow_a + 1; getgrgid(narrow_b); narrow_b++)
		;
	(void)snprintf(path, sizeof(path), "%s/group", dir);
	orig = read_all("/etc/group", &len);
	ck_assert_ptr_nonnull(orig);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, orig, len), (ssize_t)len);
	(void)snprintf(line, sizeof(line), "spawnd-ck-a:x:%u:nobody\nspawnd-ck-b:x:%u:nobody\n",
		       (unsigned)narrow_a, (unsigned)narrow_b);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	ck_assert_int_eq(close(fd), 0);
	free(orig);
	ck_assert_int_eq(mount(path, "/etc/group", NULL, MS_BIND, NULL), 0);
	/* The mount holds the file; the directory need not stay. */
	(void)unlink(path);
	(void)rmdir(dir);
}

/* Resolve nobody with group/groups; check the gid, the list and the narrowing flag. */
static void
assert_choice(const char *group, char *const *groups, gid_t want_gid, const gid_t *want,
	      size_t n_want, bool narrowed)
{
	struct target_user t = {};
	const char *what = NULL;

	ASSERT_OK(user_resolve_target("nobody", group, groups, &t, &what));
	ck_assert_int_eq(t.group_error, 0);
	ck_assert_uint_eq(t.gid, want_gid);
	ck_assert_msg(t.narrowed == narrowed, "group %s, groups %s...: narrowed %d, expected %d",
		      group ? group : "-", groups ? groups[0] : "-", t.narrowed, narrowed);
	ck_assert_uint_eq(t.n_groups, n_want);
	for (size_t i = 0; i < n_want; i++)
		ck_assert(has_gid(t.groups, t.n_groups, want[i]));
	target_user_done(&t);
}

START_TEST(test_resolve_narrowing)
{
	gid_t own = getpwnam("nobody")->pw_gid;
	char a[16], b[16], o[16], name_a[] = "spawnd-ck-a", name_b[] = "spawnd-ck-b", root[] = "0";

	if (getenv("CK_FORK") && strcmp(getenv("CK_FORK"), "no") == 0) {
		fprintf(stderr, "CK_FORK=no: the mount namespace case is left out\n");
		return;
	}
	private_group_file();
	(void)snprintf(a, sizeof(a), "%u", (unsigned)narrow_a);
	(void)snprintf(b, sizeof(b), "%u", (unsigned)narrow_b);
	(void)snprintf(o, sizeof(o), "%u", (unsigned)own);
	{
		const gid_t all[] = {own, narrow_a, narrow_b};
		const gid_t only_a[] = {narrow_a};
		const gid_t a_b[] = {narrow_a, narrow_b};
		char *full[] = {o, name_a, b, NULL};
		char *without_own[] = {a, name_b, NULL};
		char *just_a[] = {name_a, NULL};
		char *own_b[] = {o, b, NULL};

		/* All of them by default; -g picks the primary and sheds nothing. */
		assert_choice(NULL, NULL, own, all, 3, false);
		assert_choice("spawnd-ck-a", NULL, narrow_a, all, 3, false);
		/* Every group named, or all but the primary gid: nothing left out. */
		assert_choice(NULL, full, own, all, 3, false);
		assert_choice(NULL, without_own, own, a_b, 2, false);
		assert_choice("spawnd-ck-a", own_b, narrow_a, (const gid_t[]){own, narrow_b}, 2,
			      false);
		/* Leaving out B, or the old primary: narrowed. */
		assert_choice(NULL, just_a, own, only_a, 1, true);
		assert_choice("spawnd-ck-a", without_own, narrow_a, a_b, 2, true);
		assert_choice(a, just_a, narrow_a, only_a, 1, true);
		/* A group that is not nobody's is refused, narrowing or not. */
		assert_group_refused("nobody", NULL, (char *[]){a, root, NULL}, -EPERM, "0");
	}
}
END_TEST

static Suite *
user_suite(bool root)
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
	if (root)
		tcase_add_test(tc, test_resolve_narrowing);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	/* Waits for the account files to settle, and once for the max age. */
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_nsswitch_parse, 0, (int)ELEMENTSOF(nsswitch_cases));
	tcase_add_test(tc, test_cache_hit);
	tcase_add_test(tc, test_cache_off_unless_files);
	tcase_add_test(tc, test_cache_nsswitch_change);
	tcase_add_test(tc, test_cache_max_age);
	if (root) {
		tcase_add_test(tc, test_cache_group_edit_in_place);
		tcase_add_test(tc, test_cache_passwd_replaced);
	}
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	bool root = geteuid() == 0;
	char path[80];
	int r;

	if (!mkdtemp(nss_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	(void)snprintf(nss_files_only, sizeof(nss_files_only), "%s/files.conf", nss_dir);
	(void)snprintf(nss_systemd, sizeof(nss_systemd), "%s/systemd.conf", nss_dir);
	if (!write_file(nss_files_only, "passwd: files\ngroup: files\n") ||
	    !write_file(nss_systemd, "passwd: files systemd\ngroup: files systemd\n")) {
		perror(nss_dir);
		return EXIT_FAILURE;
	}
	if (!root)
		fprintf(stderr, "not root: /etc/passwd and /etc/group edit cases left out\n");
	r = test_run_suite(user_suite(root), root ? EXIT_SUCCESS : 77);

	(void)unlink(nss_files_only);
	(void)unlink(nss_systemd);
	(void)snprintf(path, sizeof(path), "%s/changing.conf", nss_dir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/changing.tmp", nss_dir);
	(void)unlink(path);
	(void)rmdir(nss_dir);
	return r;
}
