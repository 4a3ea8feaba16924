/* SPDX-License-Identifier: MIT */
/*
 * Exec paths (command.h): resolving a request's command, and checking that
 * an admin-chosen policy `cmd` path cannot be swapped by a non-root user.
 *
 * A client-chosen absolute path is never stat'ed, opened or realpath'ed: a
 * path on a FUSE mount (which any user can create with fusermount) can block
 * that call forever and with it the daemon's event loop (DESIGN.md 3.5). Only
 * bare names are looked up, and only in the fixed root-owned PATH, never the
 * client's (OpenDoas CVE-2019-25016).
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "command.h"

#include <sys/stat.h>

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
		p = strdup(command);
		if (!p)
			return -ENOMEM;
		*ret_path = p;
		return 0;
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
