/* SPDX-License-Identifier: MIT */
/*
 * The mount and unmount that the FUSE test helpers (fuse-hang, fuse-files)
 * share: a low-level session named after the helper, allow_other when run
 * as root (so that a child running as another user can walk into it),
 * libfuse's SIGTERM/SIGINT/SIGHUP handlers (they end the session loop), and
 * "ready" on stdout plus an optional marker file once the mount exists.
 */
#pragma once

#define FUSE_USE_VERSION 35

#include <stddef.h>

#include <fuse_lowlevel.h>

struct fuse_mount {
	char *argv[4];
	char opts[128];
	struct fuse_args args;
	struct fuse_session *se;
};

/*
 * Mount ops at mountpoint with the options "[allow_other,]EXTRAfsname=NAME"
 * (extra is "" or ends with a comma) and announce it. Returns 0, or -1
 * after a "NAME: ..." line on stderr with nothing left mounted.
 */
int fuse_mount_start(struct fuse_mount *m, const char *name, const char *extra,
		     const struct fuse_lowlevel_ops *ops, size_t ops_size, const char *mountpoint,
		     const char *marker);

/* Unmount, remove the signal handlers and free the session. */
void fuse_mount_stop(struct fuse_mount *m);
