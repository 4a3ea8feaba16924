/* SPDX-License-Identifier: MIT */
/*
 * fuse-hang: a FUSE file system that reads every lookup and never answers.
 *
 *   fuse-hang [--flush] MOUNTPOINT [READY_FILE]
 *
 * Mounts an empty directory at MOUNTPOINT (with allow_other when run as
 * root, so that a child running as another user can walk into it), prints
 * "ready" on stdout once the mount exists (and creates READY_FILE if given),
 * and serves requests single-threaded in the foreground. The root inode
 * answers GETATTR; LOOKUP and GETATTR of any other inode are read from
 * /dev/fuse and left unanswered. A process that does chdir("MNT/x") thus
 * sleeps in the kernel (request_wait_answer) with its request consumed by
 * this server: not even SIGKILL frees it until the server dies. That is the
 * "child hangs before exec" case of DESIGN.md section 3, item 5.
 *
 * With --flush it hangs later instead (HOSTILE.md 46): the root directory
 * holds one regular file, "f" (mode 0666, FLUSH_FILE_SIZE bytes of 'x'),
 * whose LOOKUP, GETATTR, OPEN, READ and RELEASE are answered, and every
 * FLUSH is read and left unanswered. Any process can open and read the
 * file, and whoever close()s an fd of it sleeps in the kernel (close ->
 * filp_flush -> fuse_flush -> request_wait_answer), unkillably, until the
 * server dies. Other names get ENOENT.
 *
 * On SIGTERM/SIGINT/SIGHUP the loop ends, the mount is detached and the
 * session fd closed, which aborts the connection: the stuck request then
 * fails (ECONNABORTED) and later ones get ENOTCONN. SIGKILL has the same
 * effect on the connection but leaves the dead mount behind (the caller
 * detaches it with umount2(MNT_DETACH)).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuse-mount.h"

/* Count of requests deliberately left unanswered (for the exit message). */
static unsigned long unanswered;

/* --flush: the one file "f" and its size. */
#define FLUSH_FILE_INO 2
#define FLUSH_FILE_NAME "f"
#define FLUSH_FILE_SIZE 16

/* Fill the attributes of the (only) directory this file system has. */
static void
root_attr(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FUSE_ROOT_ID;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
}

/* LOOKUP: consume the request and never reply; the caller blocks. */
static void
hang_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)req;
	unanswered++;
	fprintf(stderr, "fuse-hang: lookup %lu/%s left unanswered\n", (unsigned long)parent, name);
}

/* GETATTR: answer for the root (mount and stat need it), hang otherwise. */
static void
hang_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		unanswered++;
		fprintf(stderr, "fuse-hang: getattr %lu left unanswered\n", (unsigned long)ino);
		return;
	}
	root_attr(&st);
	(void)fuse_reply_attr(req, &st, 0.0);
}

static const struct fuse_lowlevel_ops hang_ops = {
	.lookup = hang_lookup,
	.getattr = hang_getattr,
};

/* ---- --flush: everything answers but FLUSH ---- */

static void
flush_attr(fuse_ino_t ino, struct stat *st)
{
	if (ino == FUSE_ROOT_ID) {
		root_attr(st);
		return;
	}
	memset(st, 0, sizeof(*st));
	st->st_ino = FLUSH_FILE_INO;
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = 1;
	st->st_size = FLUSH_FILE_SIZE;
}

static void
flush_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, FLUSH_FILE_NAME) != 0) {
		(void)fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FLUSH_FILE_INO;
	e.attr_timeout = 3600.0;
	e.entry_timeout = 3600.0;
	flush_attr(FLUSH_FILE_INO, &e.attr);
	(void)fuse_reply_entry(req, &e);
}

static void
flush_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != FLUSH_FILE_INO) {
		(void)fuse_reply_err(req, ENOENT);
		return;
	}
	flush_attr(ino, &st);
	(void)fuse_reply_attr(req, &st, 3600.0);
}

static void
flush_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FLUSH_FILE_INO) {
		(void)fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1;
	(void)fuse_reply_open(req, fi);
}

static void
flush_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	char data[FLUSH_FILE_SIZE];

	(void)ino;
	(void)fi;
	memset(data, 'x', sizeof(data));
	if (off >= FLUSH_FILE_SIZE) {
		(void)fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > (size_t)(FLUSH_FILE_SIZE - off))
		size = (size_t)(FLUSH_FILE_SIZE - off);
	(void)fuse_reply_buf(req, data + off, size);
}

/* FLUSH: consume the request and never reply; the closer blocks. */
static void
flush_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)req;
	(void)fi;
	unanswered++;
	fprintf(stderr, "fuse-hang: flush %lu left unanswered\n", (unsigned long)ino);
}

static void
flush_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	(void)fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops flush_ops = {
	.lookup = flush_lookup,
	.getattr = flush_getattr,
	.open = flush_open,
	.read = flush_read,
	.flush = flush_flush,
	.release = flush_release,
};

int
main(int argc, char **argv)
{
	const struct fuse_lowlevel_ops *ops = &hang_ops;
	struct fuse_mount m;
	int r;

	if (argc >= 2 && strcmp(argv[1], "--flush") == 0) {
		ops = &flush_ops;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: fuse-hang [--flush] MOUNTPOINT [READY_FILE]\n");
		return 2;
	}
	if (fuse_mount_start(&m, "fuse-hang", "", ops, sizeof(*ops), argv[1],
			     argc == 3 ? argv[2] : NULL) < 0)
		return 1;

	/* Single-threaded on purpose: one reader that never answers (a FLUSH
	 * left unanswered does not stop it from serving other requests). */
	r = fuse_session_loop(m.se);
	fprintf(stderr, "fuse-hang: loop ended (%d), %lu requests unanswered\n", r, unanswered);
	fuse_mount_stop(&m);
	return 0;
}
