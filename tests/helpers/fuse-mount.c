/* SPDX-License-Identifier: MIT */
/* The FUSE test helpers' mount and unmount (fuse-mount.h). */
#include "fuse-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Tell the test that the mount exists: a line on stdout and an optional marker file. */
static int
announce_ready(const char *marker)
{
	if (printf("ready\n") < 0 || fflush(stdout) != 0)
		return -EIO;
	if (marker) {
		int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);

		if (fd < 0)
			return -errno;
		(void)close(fd);
	}
	return 0;
}

int
fuse_mount_start(struct fuse_mount *m, const char *name, const char *extra,
		 const struct fuse_lowlevel_ops *ops, size_t ops_size, const char *mountpoint,
		 const char *marker)
{
	int r;

	/* allow_other needs root (or user_allow_other in /etc/fuse.conf). */
	r = snprintf(m->opts, sizeof(m->opts), "%s%sfsname=%s",
		     geteuid() == 0 ? "allow_other," : "", extra, name);
	if (r < 0 || (size_t)r >= sizeof(m->opts)) {
		fprintf(stderr, "%s: mount options too long\n", name);
		return -1;
	}
	m->argv[0] = (char *)name;
	m->argv[1] = (char *)"-o";
	m->argv[2] = m->opts;
	m->argv[3] = NULL;
	m->args = (struct fuse_args)FUSE_ARGS_INIT(3, m->argv);

	m->se = fuse_session_new(&m->args, ops, ops_size, NULL);
	if (!m->se) {
		fprintf(stderr, "%s: cannot create the session\n", name);
		goto out_args;
	}
	if (fuse_set_signal_handlers(m->se) != 0) {
		fprintf(stderr, "%s: cannot install signal handlers\n", name);
		goto out_destroy;
	}
	if (fuse_session_mount(m->se, mountpoint) != 0) {
		fprintf(stderr, "%s: cannot mount %s\n", name, mountpoint);
		goto out_signals;
	}
	r = announce_ready(marker);
	if (r < 0) {
		fprintf(stderr, "%s: cannot announce readiness: %s\n", name, strerror(-r));
		goto out_unmount;
	}
	return 0;

out_unmount:
	fuse_session_unmount(m->se);
out_signals:
	fuse_remove_signal_handlers(m->se);
out_destroy:
	fuse_session_destroy(m->se);
	m->se = NULL;
out_args:
	fuse_opt_free_args(&m->args);
	return -1;
}

void
fuse_mount_stop(struct fuse_mount *m)
{
	fuse_session_unmount(m->se);
	fuse_remove_signal_handlers(m->se);
	fuse_session_destroy(m->se);
	m->se = NULL;
	fuse_opt_free_args(&m->args);
}
