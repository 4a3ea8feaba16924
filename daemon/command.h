/* SPDX-License-Identifier: MIT */
/*
 * Resolve the command of a request. An absolute path is used literally: the
 * daemon never stats, opens or realpaths a client-chosen path (a FUSE mount
 * can make that hang forever). A bare name (no '/') is looked up only on the
 * fixed root-owned PATH, never the client's.
 */
#ifndef SPAWND_COMMAND_H
#define SPAWND_COMMAND_H

/*
 * Returns 0 with a malloc'd absolute path, -ENOENT when a bare name is not
 * an executable regular file in any SPAWND_FIXED_PATH directory, -EINVAL for
 * a relative path with a slash, -ENOMEM.
 */
int command_resolve(const char *command, char **ret_path);

#endif
