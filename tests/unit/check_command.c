/* SPDX-License-Identifier: MIT */
/*
 * command.c: resolving a request's command (HOSTILE.md 11, 13) and the
 * swap check of policy `cmd` paths (HOSTILE.md 14). The swap checks chown
 * files to nobody and need a root-owned directory to work in, so they are
 * the root-only part (`check_command root`, skipped unless root).
 */
#define _GNU_SOURCE

#include <sys/fsuid.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "cleanup.h"
#include "command.h"
#include "environ.h"
#include "test-util.h"

/* The first executable regular file named `name` on the fixed PATH, found independently. */
static char *
first_on_fixed_path(const char *name)
{
	_cleanup_free_ char *dirs = strdup(SPAWND_FIXED_PATH);
	char *save = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		struct stat st;
		char *p;

		ck_assert_int_ge(asprintf(&p, "%s/%s", d, name), 0);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

START_TEST(test_resolve_bare)
{
	static const char *const names[] = {"true", "sh", "env"};

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *want = first_on_fixed_path(names[i]), *got = NULL;

		ck_assert_msg(want, "%s is on no fixed PATH directory here", names[i]);
		ASSERT_OK(command_resolve(names[i], &got));
		ck_assert_str_eq(got, want);
	}
}
END_TEST

/* The client's PATH plays no part, even when it points somewhere else first. */
START_TEST(test_resolve_ignores_client_path)
{
	_cleanup_free_ char *want = first_on_fixed_path("true"), *got = NULL;

	ck_assert_int_eq(setenv("PATH", "/tmp:/nonexistent", 1), 0);
	ASSERT_OK(command_resolve("true", &got));
	ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_resolve_absolute)
{
	static const char *const paths[] = {
		"/not/checked", "/", "/usr/bin/../bin/true", "/a b/\"c\"", "/dev/null",
	};

	/* Used literally: never stat'ed, so a nonexistent path comes back as is. */
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		_cleanup_free_ char *got = NULL;

		ASSERT_OK(command_resolve(paths[i], &got));
		ck_assert_str_eq(got, paths[i]);
	}
}
END_TEST

static const struct {
	const char *command;
	int r;
} bad[] = {
	{"", -EINVAL},
	{".", -EINVAL},
	{"..", -EINVAL},
	{"./x", -EINVAL},
	{"../x", -EINVAL},
	{"x/y", -EINVAL},
	{"x/", -EINVAL},
	{"nonexistent-xyz", -ENOENT},
	/* A directory on the way is not an executable file. */
	{"X11-no-such-dir", -ENOENT},
};

START_TEST(test_resolve_bad)
{
	char *got = (char *)0x1;

	ASSERT_ERROR(command_resolve(bad[_i].command, &got), bad[_i].r);
	/* Output parameters are written only on success. */
	ck_assert_ptr_eq(got, (char *)0x1);
}
END_TEST

START_TEST(test_resolve_long_name)
{
	char name[5000], *got = (char *)0x1;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ASSERT_ERROR(command_resolve(name, &got), -ENOENT);
	ASSERT_ERROR(command_resolve(NULL, &got), -EINVAL);
	ck_assert_ptr_eq(got, (char *)0x1);
}
END_TEST

/* HOSTILE.md 44: the lexical normal form names exactly what the original names. */
static const struct {
	const char *in, *out;
} normal[] = {
	{"/bin/sh", "/bin/sh"},
	{"/bin//sh", "/bin/sh"},
	{"/bin/./sh", "/bin/sh"},
	{"//bin/sh", "/bin/sh"},
	{"/./bin/././/sh", "/bin/sh"},
	{"/", "/"},
	{"//", "/"},
	{"/.", "/"},
	/* ".." after a symlink is not "drop the previous component": kept. */
	{"/usr/bin/../bin/true", "/usr/bin/../bin/true"},
	{"/bin/..", "/bin/.."},
	/* A trailing "/" asks for a directory: kept, so execve() still says ENOTDIR. */
	{"/bin/sh/", "/bin/sh/"},
	{"/bin/sh/.", "/bin/sh/"},
	{"/bin/sh//", "/bin/sh/"},
	{"/a b/\"c\"", "/a b/\"c\""},
	{"/.hidden/..x/...", "/.hidden/..x/..."},
};

START_TEST(test_normalize)
{
	_cleanup_free_ char *got = NULL, *resolved = NULL;

	ASSERT_OK(command_normalize(normal[_i].in, &got));
	ck_assert_str_eq(got, normal[_i].out);
	/* command_resolve() gives an absolute command the same form. */
	ASSERT_OK(command_resolve(normal[_i].in, &resolved));
	ck_assert_str_eq(resolved, normal[_i].out);
}
END_TEST

START_TEST(test_normalize_bad)
{
	char *got = (char *)0x1;

	ASSERT_ERROR(command_normalize("bin/sh", &got), -EINVAL);
	ASSERT_ERROR(command_normalize("", &got), -EINVAL);
	ASSERT_ERROR(command_normalize(NULL, &got), -EINVAL);
	ck_assert_ptr_eq(got, (char *)0x1);
}
END_TEST

/* With the caller's own rights: plain realpath(). */
START_TEST(test_canonicalize_own)
{
	_cleanup_free_ char *got = NULL, *want = realpath("/bin/sh", NULL);
	char *untouched = (char *)0x1;

	ck_assert_ptr_nonnull(want);
	ASSERT_OK(command_canonicalize("/bin/sh", NULL, &got));
	ck_assert_str_eq(got, want);
	ASSERT_ERROR(command_canonicalize("/no/such/spawnd-prog", NULL, &untouched), -ENOENT);
	ASSERT_ERROR(command_canonicalize("relative", NULL, &untouched), -EINVAL);
	ck_assert_ptr_eq(untouched, (char *)0x1);
}
END_TEST

static char base[PATH_MAX], dir[PATH_MAX], prog[PATH_MAX + 8];

static int
remove_entry(const char *path, const struct stat *st _unused_, int flag _unused_,
	     struct FTW *ftw _unused_)
{
	(void)remove(path);
	return 0;
}

static void
remove_dir(void)
{
	if (dir[0])
		(void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh root-owned 0755 directory with a root-owned 0755 prog, under a trusted parent. */
static void
make_trusted_dir(void)
{
	static const char *const candidates[] = {"/run", "/root", "/var/lib"};
	char *culprit = NULL;
	int fd;

	base[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(candidates) && !base[0]; i++)
		if (command_check_trusted(candidates[i], &culprit, NULL) == 0 &&
		    access(candidates[i], W_OK) == 0)
			(void)snprintf(base, sizeof(base), "%s", candidates[i]);
		else {
			free(culprit);
			culprit = NULL;
		}
	ck_assert_msg(base[0], "no root-owned, non-writable directory to work in");

	(void)snprintf(dir, sizeof(dir), "%s/spawnd-command-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	(void)snprintf(prog, sizeof(prog), "%s/prog", dir);
	fd = open(prog, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0755), 0);
	close(fd);
}

static void
expect_trusted(const char *path)
{
	char *culprit = (char *)0x1;

	ck_assert_msg(command_check_trusted(path, &culprit, NULL) == 0, "%s: %s not trusted", path,
		      culprit);
}

static void
expect_untrusted(const char *path, int r, const char *culprit, bool is_dir)
{
	char *got = NULL;
	bool got_dir = !is_dir;

	ASSERT_ERROR(command_check_trusted(path, &got, &got_dir), r);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, culprit);
	if (r == -EPERM)
		ck_assert(got_dir == is_dir);
	free(got);
}

START_TEST(test_trusted_file)
{
	struct passwd *nobody = getpwnam("nobody");
	_cleanup_free_ char *doubled = NULL;

	ck_assert_ptr_nonnull(nobody);
	make_trusted_dir();
	expect_trusted(prog);
	ck_assert_int_ge(asprintf(&doubled, "%s//prog", dir), 0);
	expect_trusted(doubled);

	ck_assert_int_eq(chmod(prog, 0775), 0);
	expect_untrusted(prog, -EPERM, prog, false);
	ck_assert_int_eq(chmod(prog, 0757), 0);
	expect_untrusted(prog, -EPERM, prog, false);
	ck_assert_int_eq(chmod(prog, 0755), 0);
	/* Its owner can rewrite it whatever the mode. */
	ck_assert_int_eq(chown(prog, nobody->pw_uid, 0), 0);
	expect_untrusted(prog, -EPERM, prog, false);
	ck_assert_int_eq(chown(prog, 0, 0), 0);
	expect_trusted(prog);
}
END_TEST

START_TEST(test_trusted_dir)
{
	struct passwd *nobody = getpwnam("nobody");

	ck_assert_ptr_nonnull(nobody);
	make_trusted_dir();
	ck_assert_int_eq(chmod(dir, 0775), 0);
	expect_untrusted(prog, -EPERM, dir, true);
	/* The sticky bit does not help: a new name can still be planted. */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	expect_untrusted(prog, -EPERM, dir, true);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chown(dir, nobody->pw_uid, 0), 0);
	expect_untrusted(prog, -EPERM, dir, true);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	expect_trusted(prog);
}
END_TEST

START_TEST(test_trusted_symlinks)
{
	_cleanup_free_ char *inside = NULL, *outside = NULL, *missing = NULL, *open_dir = NULL,
			    *planted = NULL, *real_open = NULL;
	int fd;

	make_trusted_dir();
	/* A symlink's own mode (0777) is irrelevant; its target is checked. */
	ck_assert_int_ge(asprintf(&inside, "%s/inside", dir), 0);
	ck_assert_int_eq(symlink("prog", inside), 0);
	expect_trusted(inside);

	ck_assert_int_ge(asprintf(&missing, "%s/missing", dir), 0);
	expect_untrusted(missing, -ENOENT, missing, false);

	/*
	 * A directory anyone may write to, sticky like /tmp (made here, so the
	 * case does not depend on what /tmp is on this machine), and a
	 * root-owned 0755 file in it.
	 */
	ck_assert_int_ge(asprintf(&open_dir, "%s/open", dir), 0);
	ck_assert_int_eq(mkdir(open_dir, 0755), 0);
	ck_assert_int_eq(chmod(open_dir, 01777), 0);
	ck_assert_int_ge(asprintf(&planted, "%s/prog", open_dir), 0);
	fd = open(planted, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, 0755), 0);
	close(fd);
	ck_assert_int_ge(asprintf(&outside, "%s/outside", dir), 0);
	ck_assert_int_eq(symlink(planted, outside), 0);
	/* The literal path is fine, the file it leads to sits in that directory. */
	real_open = realpath(open_dir, NULL);
	ck_assert_ptr_nonnull(real_open);
	expect_untrusted(outside, -EPERM, real_open, true);
}
END_TEST

START_TEST(test_trusted_system)
{
	_cleanup_free_ char *t = first_on_fixed_path("true");

	/* The system's own binaries, e.g. /bin/true through the /bin -> usr/bin link. */
	ck_assert_ptr_nonnull(t);
	expect_trusted(t);
	ck_assert_msg(access("/bin/true", X_OK) == 0, "/bin/true: %s", strerror(errno));
	expect_trusted("/bin/true");
	ck_assert_int_eq(command_check_trusted("relative/path", NULL, NULL), -EINVAL);
}
END_TEST

/*
 * With another user's rights: what nobody cannot search stays hidden, and
 * the thread gets its own rights back (checked by resolving as root after).
 */
START_TEST(test_canonicalize_as)
{
	struct passwd *pw = getpwnam("nobody");
	struct command_cred as;
	_cleanup_free_ char *link = NULL, *got = NULL, *again = NULL, *want = NULL;
	char *untouched = (char *)0x1;

	ck_assert_ptr_nonnull(pw);
	as = (struct command_cred){.uid = pw->pw_uid, .gid = pw->pw_gid};
	make_trusted_dir();
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_ge(asprintf(&link, "%s/link", dir), 0);
	ck_assert_int_eq(symlink("/bin/sh", link), 0);
	want = realpath("/bin/sh", NULL);
	ck_assert_ptr_nonnull(want);

	/* Root sees through the 0700 directory; nobody does not. */
	ASSERT_OK(command_canonicalize(link, NULL, &got));
	ck_assert_str_eq(got, want);
	ASSERT_ERROR(command_canonicalize(link, &as, &untouched), -EACCES);
	ck_assert_ptr_eq(untouched, (char *)0x1);
	/* Where nobody may look, nobody resolves as root would. */
	free(got);
	got = NULL;
	ASSERT_OK(command_canonicalize("/bin/sh", &as, &got));
	ck_assert_str_eq(got, want);
	/* The thread has its own rights again: fsuid 0, its groups, its capabilities. */
	ck_assert_int_eq(setfsuid((uid_t)-1), 0);
	ck_assert_int_eq(setfsgid((gid_t)-1), 0);
	ASSERT_OK(command_canonicalize(link, NULL, &again));
	ck_assert_str_eq(again, want);
	ck_assert_int_eq(chmod(dir, 0755), 0);
}
END_TEST

static Suite *
command_suite(void)
{
	Suite *s = suite_create("command");
	TCase *tc = tcase_create("resolve");

	tcase_add_test(tc, test_resolve_bare);
	tcase_add_test(tc, test_resolve_ignores_client_path);
	tcase_add_test(tc, test_resolve_absolute);
	tcase_add_loop_test(tc, test_resolve_bad, 0, (int)ELEMENTSOF(bad));
	tcase_add_test(tc, test_resolve_long_name);
	tcase_add_loop_test(tc, test_normalize, 0, (int)ELEMENTSOF(normal));
	tcase_add_test(tc, test_normalize_bad);
	tcase_add_test(tc, test_canonicalize_own);
	suite_add_tcase(s, tc);

	tc = tcase_create("trusted");
	tcase_add_test(tc, test_trusted_system);
	suite_add_tcase(s, tc);
	return s;
}

/* Root only: a fresh root-owned directory, files chowned to nobody, nobody's rights. */
static Suite *
command_root_suite(void)
{
	Suite *s = suite_create("command-root");
	TCase *tc = tcase_create("trusted");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, remove_dir);
	tcase_add_test(tc, test_trusted_file);
	tcase_add_test(tc, test_trusted_dir);
	tcase_add_test(tc, test_trusted_symlinks);
	tcase_add_test(tc, test_canonicalize_as);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	return test_main_split(argc, argv, command_suite, command_root_suite);
}
