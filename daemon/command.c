/* SPDX-License-Identifier: MIT */
/*
 * Exec paths (command.h): resolving a request's command, and checking that
 * an admin-chosen policy `cmd` path cannot be swapped by a non-root user.
 *
 * A client-chosen absolute path is never stat'ed, opened or realpath'ed in
 * the event loop: a path on a FUSE mount (which any user can create with
 * fusermount) can block that call forever and with it the loop (DESIGN.md
 * 3.5). command_resolve() only normalises it lexically; command_canonicalize()
 * resolves its symlinks, and runs on a resolver thread (resolver.c) with the
 * client's file access rights. Bare names are looked up only in the fixed
 * root-owned PATH, never the client's (OpenDoas CVE-2019-25016).
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "command.h"

#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "environ.h"

/* An executable regular file, as execve() would need it to be. */
static bool
is_executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	/* AT_EACCESS: judge with the daemon's effective ids, the ones that
	 * find the file; a root daemon still needs at least one x bit. */
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

int
command_normalize(const char *path, char **ret)
{
	size_t len, n = 0;
	const char *s;
	char *out;

	if (!path || path[0] != '/')
		return -EINVAL;
	len = strlen(path);
	/* The result is never longer than the input (plus a NUL). */
	out = malloc(len + 1);
	if (!out)
		return -ENOMEM;
	out[n++] = '/';
	for (s = path; *s;) {
		size_t clen;

		while (*s == '/')
			s++;
		clen = strcspn(s, "/");
		if (clen == 0)
			break;
		if (!(clen == 1 && s[0] == '.')) {
			if (out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, s, clen);
			n += clen;
		}
		s += clen;
	}
	/*
	 * A trailing "/" or "/." asks for a directory (execve() then fails
	 * with ENOTDIR or EACCES): keep that meaning, so that the normal form
	 * names exactly what the original names.
	 */
	if (n > 1 &&
	    (path[len - 1] == '/' || (len >= 2 && path[len - 1] == '.' && path[len - 2] == '/')))
		out[n++] = '/';
	out[n] = '\0';
	*ret = out;
	return 0;
}

int
command_resolve(const char *command, char **ret_path)
{
	const char *dir = SPAWND_FIXED_PATH;
	char *p;

	if (!command || !*command)
		return -EINVAL;

	if (strchr(command, '/')) {
		/* Relative paths with a slash depend on a cwd the daemon does
		 * not share with the client (pkexec CVE-2021-4034). */
		if (command[0] != '/')
			return -EINVAL;
		return command_normalize(command, ret_path);
	}

	/* These would name the PATH directories themselves. */
	if (strcmp(command, ".") == 0 || strcmp(command, "..") == 0)
		return -EINVAL;

	while (*dir) {
		size_t len = strcspn(dir, ":");

		if (asprintf(&p, "%.*s/%s", (int)len, dir, command) < 0)
			return -ENOMEM;
		if (is_executable_file(p)) {
			*ret_path = p;
			return 0;
		}
		free(p);
		dir += len;
		if (*dir == ':')
			dir++;
	}
	return -ENOENT;
}

/*
 * Check one path component. A symlink's own owner and mode do not matter
 * (nobody can modify a symlink in place; replacing it needs write access
 * to its directory, which is checked as the previous component); its
 * target is covered by the walk over the resolved path.
 */
static int
check_component(const char *path, char **ret_culprit, bool *ret_is_dir)
{
	struct stat st = {};
	char *c;
	int r = 0;

	if (lstat(path, &st) < 0)
		r = -errno;
	else if (S_ISLNK(st.st_mode))
		return 0;
	else if (st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	else
		r = -EPERM;

	c = strdup(path);
	if (!c)
		return -ENOMEM;
	*ret_culprit = c;
	if (ret_is_dir)
		*ret_is_dir = r == -EPERM && S_ISDIR(st.st_mode);
	return r;
}

/* Check "/", then every prefix of path ending before a '/', then path. */
static int
check_walk(const char *path, char **ret_culprit, bool *ret_is_dir)
{
	_cleanup_free_ char *buf = strdup(path);
	size_t len;
	int r;

	if (!buf)
		return -ENOMEM;
	len = strlen(buf);
	r = check_component("/", ret_culprit, ret_is_dir);
	if (r < 0)
		return r;
	for (size_t i = 1; i <= len; i++) {
		char saved = buf[i];

		if (saved != '/' && saved != '\0')
			continue;
		/* "//" and a trailing '/' add nothing new to check. */
		if (buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		r = check_component(buf, ret_culprit, ret_is_dir);
		buf[i] = saved;
		if (r < 0)
			return r;
	}
	return 0;
}

int
command_check_trusted(const char *path, char **ret_culprit, bool *ret_is_dir)
{
	_cleanup_free_ char *resolved = NULL;
	int r;

	if (!path || path[0] != '/')
		return -EINVAL;

	/* The literal path: every directory a lookup walks through. */
	r = check_walk(path, ret_culprit, ret_is_dir);
	if (r < 0)
		return r;

	/* The same with symlinks resolved, e.g. /bin -> usr/bin: the files
	 * the symlinks lead to must be just as safe. */
	resolved = realpath(path, NULL);
	if (!resolved) {
		r = -errno;
		*ret_culprit = strdup(path);
		if (!*ret_culprit)
			return -ENOMEM;
		if (ret_is_dir)
			*ret_is_dir = false;
		return r;
	}
	return check_walk(resolved, ret_culprit, ret_is_dir);
}

/*
 * The calling thread's file-system credentials (what path lookups are
 * checked against): fsuid, fsgid and the supplementary groups.
 */
struct fs_creds {
	uid_t fsuid;
	gid_t fsgid;
	gid_t *groups;
	size_t n_groups;
};

static int
fs_creds_save(struct fs_creds *ret)
{
	int n = getgroups(0, NULL);
	gid_t *groups;

	if (n < 0)
		return -errno;
	groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!groups)
		return -ENOMEM;
	n = getgroups(n, groups);
	if (n < 0) {
		free(groups);
		return -errno;
	}
	/* An invalid id changes nothing and reads the current value back. */
	*ret = (struct fs_creds){
		.fsuid = (uid_t)setfsuid((uid_t)-1),
		.fsgid = (gid_t)setfsgid((gid_t)-1),
		.groups = groups,
		.n_groups = (size_t)n,
	};
	return 0;
}

/*
 * Go back to the saved credentials. A thread that kept a client's rights
 * would do its next lookup (NSS, another client's path) with them: if that
 * cannot be undone, nothing may run on, so this aborts.
 */
static void
fs_creds_restore(struct fs_creds *saved)
{
	/* fsuid first: going back to 0 gives back the file capabilities. */
	(void)setfsuid(saved->fsuid);
	(void)setfsgid(saved->fsgid);
	if ((uid_t)setfsuid((uid_t)-1) != saved->fsuid ||
	    (gid_t)setfsgid((gid_t)-1) != saved->fsgid ||
	    syscall(SYS_setgroups, saved->n_groups, saved->groups) < 0)
		abort();
}

/*
 * Take the client's file-system credentials on this thread. Linux keeps
 * credentials per thread; glibc makes setgroups() and the set*id() calls
 * act on every thread of the process (its "setxid" broadcast), so the raw
 * system call is used for the groups, while setfsuid()/setfsgid() are
 * plain per-thread system calls. A change of fsuid from 0 to non-zero
 * also drops CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and the other file
 * capabilities from the thread's effective set, and the change back to 0
 * restores them (capabilities(7), "Effect of user ID changes on
 * capabilities"). On failure nothing is left changed.
 */
static int
fs_creds_take(const struct command_cred *as, struct fs_creds *saved)
{
	int r;

	r = fs_creds_save(saved);
	if (r < 0)
		return r;
	/* Nothing changes when this fails (EPERM: not privileged). */
	if (syscall(SYS_setgroups, as->n_groups, as->groups) < 0) {
		r = -errno;
		goto fail;
	}
	(void)setfsgid(as->gid);
	(void)setfsuid(as->uid);
	if ((gid_t)setfsgid((gid_t)-1) != as->gid || (uid_t)setfsuid((uid_t)-1) != as->uid) {
		fs_creds_restore(saved);
		r = -EPERM;
		goto fail;
	}
	return 0;

fail:
	free(saved->groups);
	saved->groups = NULL;
	return r;
}

int
command_canonicalize(const char *path, const struct command_cred *as, char **ret)
{
	struct fs_creds saved = {};
	char *resolved;
	int r;

	if (!path || path[0] != '/' || !ret)
		return -EINVAL;

	/*
	 * With the client's rights, so that the answer tells the client
	 * nothing it could not find out itself: realpath() as root would
	 * walk into directories the client cannot search, and whether a rule
	 * then matched would tell it what is there. A client of our own uid
	 * (root for a root daemon), or none (as == NULL: --query run by an
	 * unprivileged user), needs no switch. A daemon that cannot switch
	 * (not root) resolves nothing for other users: -EPERM.
	 */
	if (as && as->uid != geteuid()) {
		r = fs_creds_take(as, &saved);
		if (r < 0)
			return r;
	}
	resolved = realpath(path, NULL);
	r = resolved ? 0 : -errno;
	if (saved.groups) {
		fs_creds_restore(&saved);
		free(saved.groups);
	}
	if (r < 0)
		return r;
	*ret = resolved;
	return 0;
}
