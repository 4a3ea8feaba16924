/* SPDX-License-Identifier: MIT */
/*
 * Resolve the command of a request. An absolute path is only normalised
 * lexically in the event loop: the loop never stats, opens or realpaths a
 * client-chosen path (a FUSE mount can make that hang forever); its symlinks
 * are resolved on a resolver thread (command_canonicalize()). A bare name (no
 * '/') is looked up only on the fixed root-owned PATH, never the client's.
 */
#ifndef SPAWND_COMMAND_H
#define SPAWND_COMMAND_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns 0 with a malloc'd absolute path (an absolute command in the form
 * of command_normalize()), -ENOENT when a bare name is not
 * an executable regular file in any SPAWND_FIXED_PATH directory, -EINVAL for
 * a relative path with a slash, -ENOMEM.
 */
int command_resolve(const char *command, char **ret_path);

/*
 * The lexical normal form of an absolute path, without touching the file
 * system: "//" becomes "/" and "." components go, so "/bin//sh" and
 * "/bin/./sh" both become "/bin/sh". ".." stays (after a symlink it does not
 * mean "drop the previous component"), and so does a trailing "/" (a
 * trailing "/." becomes "/"): the kernel resolves the normal form exactly as
 * the original. Returns 0 with a malloc'd string, -EINVAL (not absolute),
 * -ENOMEM.
 */
int command_normalize(const char *path, char **ret);

/* Whose file access rights command_canonicalize() resolves a path with. */
struct command_cred {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/*
 * realpath() of path with the file-system credentials of `as` (fsuid,
 * fsgid, supplementary groups), taken on the calling thread only and given
 * back before returning; `as` NULL, or a uid equal to our effective uid,
 * means with the caller's own rights.
 * So a client learns nothing about directories it cannot search: there the
 * lookup fails as it would for the client itself. Returns 0 with a malloc'd
 * canonical path, -EPERM when the credentials cannot be taken (not
 * privileged), or realpath()'s -errno (ENOENT, EACCES, ENOTDIR, ELOOP...).
 * It may block for as long as the file system likes (FUSE, NFS): call it
 * off the event loop (resolver.c) or from a command-line tool only.
 */
int command_canonicalize(const char *path, const struct command_cred *as, char **ret);

/*
 * For an admin-chosen path only (a policy `cmd`, checked at config load,
 * never at request time; HOSTILE.md 14): check that no non-root user can
 * swap the file. The file and every directory above it, on the literal path
 * and on the path with symlinks resolved, must be owned by root and not
 * writable by group or other. Returns 0 when trusted; -EPERM when not, with
 * *ret_culprit = the malloc'd offending path and *ret_is_dir telling whether
 * it is a directory; another -errno when a component cannot be examined
 * (e.g. -ENOENT), with *ret_culprit naming it; -ENOMEM (no culprit).
 */
int command_check_trusted(const char *path, char **ret_culprit, bool *ret_is_dir);

#endif
