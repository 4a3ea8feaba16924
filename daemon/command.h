/* SPDX-License-Identifier: MIT */
/*
 * Resolve the command of a request. An absolute path is used literally: the
 * daemon never stats, opens or realpaths a client-chosen path (a FUSE mount
 * can make that hang forever). A bare name (no '/') is looked up only on the
 * fixed root-owned PATH, never the client's.
 */
#ifndef SPAWND_COMMAND_H
#define SPAWND_COMMAND_H

#include <stdbool.h>

/*
 * Returns 0 with a malloc'd absolute path, -ENOENT when a bare name is not
 * an executable regular file in any SPAWND_FIXED_PATH directory, -EINVAL for
 * a relative path with a slash, -ENOMEM.
 */
int command_resolve(const char *command, char **ret_path);

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
