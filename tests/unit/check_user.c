/* SPDX-License-Identifier: MIT */
/*
 * user.c: strict id parsing (HOSTILE.md 6, 7) and target resolution against
 * the real accounts root and nobody, whose ids and groups are read from the
 * system at run time rather than assumed. The cases that change /etc/group
 * are the root-only part (`check_user root`, skipped unless root): each runs in a mount namespace
 * of its own test process, where the files it changes are private copies bind-mounted over the real
 * ones, which are never written.
 */
#define _GNU_SOURCE

#include <sys/mount.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
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

/* Where unknown_uid() starts looking for a uid that is on no account here. */
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
	} else {
		r = user_resolve_target(bad_cases[_i].user, NULL, NULL, &t, &what);
		ck_assert_msg(r == bad_cases[_i].r, "user \"%s\": got %d, expected %d",
			      bad_cases[_i].user, r, bad_cases[_i].r);
		ck_assert_ptr_nonnull(what);
		ck_assert_str_eq(what, bad_cases[_i].what);
		/* The target is written only on success. */
		ck_assert_mem_eq(&t, &before, sizeof(t));
	}
}
END_TEST

/* The highest uid from UNUSED_ID down that is on no account here. */
static uid_t
unknown_uid(void)
{
	for (uid_t uid = UNUSED_ID; uid > UNUSED_ID - 1000; uid--)
		if (!getpwuid(uid))
			return uid;
	ck_abort_msg("no unused uid below %u", UNUSED_ID);
	return 0;
}

/* A number must still be an account: no HOME, SHELL or groups otherwise. */
START_TEST(test_resolve_unknown_uid)
{
	struct target_user t = {};
	const char *what = NULL;
	char uid[16];

	(void)snprintf(uid, sizeof(uid), "%u", (unsigned)unknown_uid());
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
	uid_t unknown = unknown_uid();
	char *s = user_name_of(0), want[16];

	ck_assert_str_eq(s, "root");
	free(s);
	/* A uid on no account comes back as its number. */
	(void)snprintf(want, sizeof(want), "%u", (unsigned)unknown);
	s = user_name_of(unknown);
	ck_assert_str_eq(s, want);
	free(s);
}
END_TEST

static void
assert_target_zeroed(const struct target_user *t)
{
	ck_assert_uint_eq(t->uid, 0);
	ck_assert_uint_eq(t->gid, 0);
	ck_assert_ptr_null(t->name);
	ck_assert_ptr_null(t->home);
	ck_assert_ptr_null(t->shell);
	ck_assert_ptr_null(t->groups);
	ck_assert_uint_eq(t->n_groups, 0);
	ck_assert(!t->narrowed);
	ck_assert_int_eq(t->group_error, 0);
	ck_assert_ptr_null(t->group_what);
}

/*
 * target_user_done() frees every field (ASan's leak check sees a miss) and
 * leaves the struct zeroed, so that a second call, as on a cleanup path
 * after an explicit one, frees nothing twice; NULL is accepted.
 */
START_TEST(test_done_zeroed)
{
	struct target_user t = {
		.uid = 65534,
		.gid = 65534,
		.name = strdup("nobody"),
		.home = strdup("/nonexistent"),
		.shell = strdup("/usr/sbin/nologin"),
		.groups = calloc(2, sizeof(gid_t)),
		.n_groups = 2,
		.narrowed = true,
		.group_error = -EPERM,
		.group_what = "staff",
	};

	ck_assert(t.name && t.home && t.shell && t.groups);
	target_user_done(&t);
	assert_target_zeroed(&t);
	target_user_done(&t);
	assert_target_zeroed(&t);
	target_user_done(NULL);

	/* And what user_resolve_target() filled in, the same way. */
	ASSERT_OK(user_resolve_target("nobody", NULL, NULL, &t, &(const char *){NULL}));
	ck_assert_ptr_nonnull(t.name);
	target_user_done(&t);
	assert_target_zeroed(&t);
}
END_TEST

static char nss_dir[] = "/tmp/check-user-XXXXXX";

/*
 * Root only: the cases below change /etc/passwd and /etc/group, each in a
 * mount namespace of its own test process (check forks one per test, and
 * test_main_split() always forks the root suite). There private_etc() puts
 * a directory of our own over /etc: passwd and group in it are private
 * copies, files of their own that can be edited in place or replaced by a
 * rename as admins' tools do; every other name is a symlink into the real
 * /etc, bound at etc_real. The real files are never written, not even by a
 * test that dies half-way; and nothing done to them meanwhile, such as a
 * rename over them by another process (which would detach a mount on the
 * file itself), reaches the copies.
 */
static pid_t main_pid;

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

/* Write a new file at path: `len` bytes of content, with like's owner and mode. */
static void
write_like(const char *path, const struct stat *like, const char *content, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	ck_assert_int_eq(fchown(fd, like->st_uid, like->st_gid), 0);
	ck_assert_int_eq(fchmod(fd, like->st_mode & 07777), 0);
	ck_assert_int_eq(close(fd), 0);
}

static void
private_etc(void)
{
	char etc_real[PATH_MAX], etc_own[PATH_MAX];
	struct dirent *e;
	DIR *d;

	ck_assert_msg(getpid() != main_pid,
		      "a mount namespace case must run in a process of its own (CK_FORK)");
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	/* Nothing mounted here propagates back to the real namespace. */
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	/* Mount points only: in the real namespace they stay empty (main() removes them). */
	(void)snprintf(etc_real, sizeof(etc_real), "%s/etc-real.%d", nss_dir, (int)getpid());
	(void)snprintf(etc_own, sizeof(etc_own), "%s/etc.%d", nss_dir, (int)getpid());
	ck_assert_int_eq(mkdir(etc_real, 0755), 0);
	ck_assert_int_eq(mkdir(etc_own, 0755), 0);
	ck_assert_int_eq(mount("/etc", etc_real, NULL, MS_BIND | MS_REC, NULL), 0);
	/* A tmpfs, so that what the test writes goes with the namespace. */
	ck_assert_int_eq(mount("tmpfs", etc_own, "tmpfs", 0, "mode=0755"), 0);

	d = opendir("/etc");
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char own[PATH_MAX * 2], real[PATH_MAX * 2];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)snprintf(own, sizeof(own), "%s/%s", etc_own, e->d_name);
		(void)snprintf(real, sizeof(real), "%s/%s", etc_real, e->d_name);
		if (strcmp(e->d_name, "passwd") == 0 || strcmp(e->d_name, "group") == 0) {
			struct stat st;
			size_t len = 0;
			char *text;

			ck_assert_int_eq(stat(real, &st), 0);
			text = read_all(real, &len);
			ck_assert_ptr_nonnull(text);
			write_like(own, &st, text, len);
			free(text);
		} else {
			ck_assert_int_eq(symlink(real, own), 0);
		}
	}
	(void)closedir(d);
	ck_assert_int_eq(mount(etc_own, "/etc", NULL, MS_BIND, NULL), 0);
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

/*
 * nobody joins a new group and leaves it again, by edits of /etc/group in
 * place: each change shows on the next request (nothing is cached).
 */
START_TEST(test_group_edit_seen)
{
	struct target_user t = {};
	const char *what = NULL;
	gid_t gid = unused_gid();
	char name[32], line[96];
	struct stat before;

	(void)snprintf(name, sizeof(name), "spawnd-ck%d", (int)getpid());
	(void)snprintf(line, sizeof(line), "%s:x:%u:nobody\n", name, (unsigned)gid);
	private_etc();
	ck_assert_int_eq(stat("/etc/group", &before), 0);
	ck_assert(!target_has_gid("nobody", gid));
	etc_append("/etc/group", line);
	ck_assert(target_has_gid("nobody", gid));
	char *groups[] = {name, NULL};
	ASSERT_OK(user_resolve_target("nobody", name, groups, &t, &what));
	ck_assert_uint_eq(t.gid, gid);
	target_user_done(&t);
	ck_assert_int_eq(truncate("/etc/group", before.st_size), 0);
	ck_assert(!target_has_gid("nobody", gid));
	assert_group_refused("nobody", name, NULL, -ESRCH, name);
}
END_TEST

/*
 * Root only. Narrowing (HOSTILE.md 40): nobody gets two more groups, A and B,
 * in a private copy of /etc/group (private_etc()).
 */
static gid_t narrow_a, narrow_b;

static void
private_group_file(void)
{
	char line[128];

	private_etc();
	narrow_a = unused_gid();
	for (narrow_b = narrow_a + 1; getgrgid(narrow_b); narrow_b++)
		;
	(void)snprintf(line, sizeof(line), "spawnd-ck-a:x:%u:nobody\nspawnd-ck-b:x:%u:nobody\n",
		       (unsigned)narrow_a, (unsigned)narrow_b);
	etc_append("/etc/group", line);
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
		/* Leaving out B, or the old primary: narrowed. Exactly one
		 * supplementary group of an account may be asked for. */
		assert_choice(NULL, just_a, own, only_a, 1, true);
		assert_choice("spawnd-ck-a", without_own, narrow_a, a_b, 2, true);
		assert_choice(a, just_a, narrow_a, only_a, 1, true);
		/* A group that is not nobody's is refused, narrowing or not. */
		assert_group_refused("nobody", NULL, (char *[]){a, root, NULL}, -EPERM, "0");
	}
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
	tcase_add_loop_test(tc, test_resolve_bad, 0, (int)ELEMENTSOF(bad_cases));
	tcase_add_test(tc, test_resolve_unknown_uid);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_name_of);
	tcase_add_test(tc, test_done_zeroed);
	suite_add_tcase(s, tc);

	return s;
}

/* Root only: private copies of /etc/group and /etc/passwd in a mount namespace. */
static Suite *
user_root_suite(void)
{
	Suite *s = suite_create("user-root");
	TCase *tc = tcase_create("resolve");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_resolve_narrowing);
	tcase_add_test(tc, test_group_edit_seen);
	suite_add_tcase(s, tc);
	return s;
}

static int
remove_entry(const char *path, const struct stat *st _unused_, int flag _unused_,
	     struct FTW *ftw _unused_)
{
	(void)remove(path);
	return 0;
}

int
main(int argc, char **argv)
{
	int r;

	main_pid = getpid();
	if (!mkdtemp(nss_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	r = test_main_split(argc, argv, user_suite, user_root_suite);

	/* The mount points of private_etc(), empty here. */
	(void)nftw(nss_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (access(nss_dir, F_OK) == 0)
		fprintf(stderr, "%s left behind\n", nss_dir);
	return r;
}
