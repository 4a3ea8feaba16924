/* SPDX-License-Identifier: MIT */
/*
 * fuse-files: a FUSE file system that serves copies of a few files, until
 * SIGUSR1 freezes it: from then on it reads nothing more from /dev/fuse, so
 * whoever opens a file waits in the kernel until the server dies. A stand-in
 * for an NSS source that stops answering (an sssd or LDAP server gone quiet)
 * that any test can set up with plain files:
 *
 *   fuse-files MOUNTPOINT READY_FILE NAME=SOURCE...
 *
 * e.g. fuse-files /tmp/m /tmp/ready passwd=/etc/passwd group=/etc/group,
 * then bind-mount /tmp/m/passwd over /etc/passwd in a private mount
 * namespace. Each SOURCE is read once at start. The root directory holds
 * the NAMEs; the files are root-owned, mode 0644, and all their timestamps
 * lie an hour in the past (so that a cache that distrusts files changed a
 * moment ago trusts these). Entries and attributes may be cached for an
 * hour, so stat() of a file seen before the freeze is answered by the
 * kernel and never hangs; an open() does. Requests are left unread, not
 * read and ignored: like a wait for an sssd or LDAP answer, the waiter
 * stays killable (a FUSE request that the server has read can only be
 * waited out, fuse/dev.c request_wait_answer()).
 * With allow_other when run as root. "ready" goes to stdout and READY_FILE
 * is created once the mount exists; "fuse-files: frozen" goes to stderr on
 * SIGUSR1; SIGTERM/SIGINT/SIGHUP end the loop and
 * abort the connection (the stuck opens then fail with ENOTCONN).
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuse-mount.h"

#define MAX_FILES 16
#define MAX_FILE_BYTES (4u * 1024u * 1024u)

struct file {
	char *name;
	char *data;
	size_t size;
};

static struct file files[MAX_FILES];
static size_t n_files;
static time_t stamp;
static volatile sig_atomic_t frozen;

/* Async-signal-safe: a flag, and a line on stderr that tests may wait for. */
static void
on_freeze(int sig)
{
	static const char msg[] = "fuse-files: frozen\n";

	(void)sig;
	frozen = 1;
	(void)!write(2, msg, sizeof(msg) - 1);
}

/* Inode numbers: the root is FUSE_ROOT_ID (1), file i is i + 2. */
static struct file *
file_of(fuse_ino_t ino)
{
	if (ino < 2 || ino - 2 >= n_files)
		return NULL;
	return &files[ino - 2];
}

static void
fill_attr(fuse_ino_t ino, struct stat *st)
{
	struct file *f = file_of(ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_atime = st->st_mtime = st->st_ctime = stamp;
	if (f) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = (off_t)f->size;
	} else {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	}
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID) {
		(void)fuse_reply_err(req, ENOENT);
		return;
	}
	for (size_t i = 0; i < n_files; i++)
		if (strcmp(files[i].name, name) == 0) {
			memset(&e, 0, sizeof(e));
			e.ino = i + 2;
			e.attr_timeout = 3600.0;
			e.entry_timeout = 3600.0;
			fill_attr(e.ino, &e.attr);
			(void)fuse_reply_entry(req, &e);
			return;
		}
	(void)fuse_reply_err(req, ENOENT);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && !file_of(ino)) {
		(void)fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(ino, &st);
	(void)fuse_reply_attr(req, &st, 3600.0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (!file_of(ino)) {
		(void)fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		(void)fuse_reply_err(req, EROFS);
		return;
	}
	/* Every read comes to us: nothing is served from the page cache. */
	fi->direct_io = 1;
	(void)fuse_reply_open(req, fi);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct file *f = file_of(ino);

	(void)fi;
	if (!f) {
		(void)fuse_reply_err(req, EIO);
		return;
	}
	if (off < 0 || (size_t)off >= f->size) {
		(void)fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > f->size - (size_t)off)
		size = f->size - (size_t)off;
	(void)fuse_reply_buf(req, f->data + off, size);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	(void)fuse_reply_err(req, 0);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	(void)fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.flush = op_flush,
	.release = op_release,
};

static int
load(const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct file *f;
	ssize_t n;
	int fd;

	if (!eq || eq == spec || n_files == MAX_FILES)
		return -EINVAL;
	f = &files[n_files];
	f->name = strndup(spec, (size_t)(eq - spec));
	f->data = malloc(MAX_FILE_BYTES);
	if (!f->name || !f->data)
		return -ENOMEM;
	fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, f->data + f->size, MAX_FILE_BYTES - f->size)) > 0)
		f->size += (size_t)n;
	(void)close(fd);
	if (n < 0)
		return -EIO;
	n_files++;
	return 0;
}

/*
 * fuse_session_loop(), but one that stops reading once frozen. SIGUSR1 is
 * blocked except inside ppoll(), so it cannot slip in between the check of
 * `frozen` and a read that would then take one more request. Frozen, it
 * waits for SIGTERM (fuse_set_signal_handlers() ends the session).
 */
static void
serve_until_frozen(struct fuse_session *se)
{
	struct fuse_buf buf = {.mem = NULL};
	sigset_t usr1, waitmask;
	int r;

	(void)sigemptyset(&usr1);
	(void)sigaddset(&usr1, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	(void)sigdelset(&waitmask, SIGUSR1);
	while (!fuse_session_exited(se) && !frozen) {
		struct pollfd p = {.fd = fuse_session_fd(se), .events = POLLIN};

		if (ppoll(&p, 1, NULL, &waitmask) < 0)
			continue;
		r = fuse_session_receive_buf(se, &buf);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break;
		fuse_session_process_buf(se, &buf);
	}
	(void)sigprocmask(SIG_SETMASK, &waitmask, NULL);
	free(buf.mem);
	while (!fuse_session_exited(se))
		(void)pause();
}

int
main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_freeze};
	struct fuse_mount m;
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: %s MOUNTPOINT READY_FILE NAME=SOURCE...\n", argv[0]);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		r = load(argv[i]);
		if (r < 0) {
			fprintf(stderr, "fuse-files: %s: %s\n", argv[i], strerror(-r));
			return 2;
		}
	}
	stamp = time(NULL) - 3600;
	(void)sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return 1;

	if (fuse_mount_start(&m, "fuse-files", "ro,noatime,", &ops, sizeof(ops), argv[1], argv[2]) <
	    0)
		return 1;
	serve_until_frozen(m.se);
	fprintf(stderr, "fuse-files: loop ended\n");
	fuse_mount_stop(&m);
	return 0;
}
