/* SPDX-License-Identifier: MIT */
/*
 * The closer (see closer.h): client fds are closed by a helper process,
 * never by the event loop.
 *
 * Why a process and not threads. close() of a FUSE file whose server never
 * answers FLUSH sleeps in request_wait_answer(), and FLUSH is a "forced"
 * request: after the first signal the wait is uninterruptible, SIGKILL
 * included (fs/fuse/dev.c). A process with such a thread can never finish
 * exiting: exit_group() leaves the leader a zombie until every thread is
 * gone, so waitpid() (systemd, a test) never returns and the service can
 * never stop. Measured here: main() returned, the leader went Z, the
 * closing thread stayed D, waitpid() blocked until the FUSE server died.
 * So the closes run in "spawnd-closer", a process of its own that shares
 * our fd table (CLONE_FILES): the fd numbers we hand over are valid there,
 * and its close() removes them from our table. The daemon exits whatever
 * the helper's threads are stuck in; the helper follows (it watches our
 * pidfd) once its closes return.
 *
 * The helper is a double-forked copy of the daemon made at start-up, while
 * the daemon is still single-threaded, so it may use threads and malloc.
 * Being nobody's child but init's (or a subreaper's), it is never seen by
 * the reaper's waitid() nor counted as a child of the daemon.
 *
 * Protocol: 8-byte records {fd, index} on two pipes. The loop writes the
 * fds of a message in one write (at most WIRE_RECV_MAX_FDS records, under
 * PIPE_BUF, so all or nothing); each helper thread reads one record,
 * close()s the fd and writes the record back on the done pipe, which the
 * loop reads as an event. A thread that takes the last idle slot starts
 * another first, so a stuck close never holds up the next one: the helper
 * runs one thread per close in progress, which the quota bounds.
 *
 * Inheritance. A handed-over fd stays in the (shared) table until its close
 * begins. A child started meanwhile would inherit it and close it in its
 * own setup, hanging on the same FLUSH: another client's child held
 * hostage. So before a spawn the loop waits, briefly, until every fd
 * handed over is out of the table (closer_settle()). An fd number can be
 * reused at once after its close began, so "still there" is checked by
 * identity (device and inode, from statx with AT_STATX_DONT_SYNC, which
 * asks no FUSE server), not by number alone.
 */
#define _GNU_SOURCE

#include "closer.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "usage.h"
#include "wire.h"

/* The one record format, both ways. fd < 0 in the helper's hello. */
struct closer_msg {
	int32_t fd;
	uint32_t idx;
};

#define HELLO_OK (-1)
#define HELLO_FAILED (-2)

/* Threads of the helper: one per close in progress, plus idle readers. */
#define HELPER_MAX_THREADS (SPAWND_MAX_CLOSING_FDS + 8u)
#define HELPER_MAX_IDLE 4u
#define HELPER_THREAD_STACK (64u * 1024u)
/* Time the helper has to say hello at start-up. */
#define HELPER_HELLO_MSEC 10000

/* Room for every record that can be outstanding, in either pipe. */
#define PIPE_BYTES_WANTED ((int)(SPAWND_MAX_CLOSING_FDS * sizeof(struct closer_msg) * 2u))

enum rec_state {
	REC_FREE,
	REC_UNSENT, /* in our table, not yet written to the helper */
	REC_SENT,   /* written; may still be in the table (close not begun) */
	REC_GONE,   /* out of the table: its close has begun */
};

struct closer_rec {
	int fd;
	uid_t uid;
	uint8_t state;
	bool have_id;
	dev_t dev;
	ino_t ino;
	unsigned upos; /* index in unsettled[] while UNSENT or SENT */
};

struct closer {
	int cmd_wr;  /* loop -> helper, O_NONBLOCK */
	int cmd_rd;  /* the helper's end (blocking) */
	int done_rd; /* helper -> loop, O_NONBLOCK */
	int done_wr; /* the helper's end (blocking) */
	pid_t helper_pid;
	int helper_pidfd;

	struct closer_rec *recs; /* grows (recs_grow()): a take is never refused */
	unsigned n_recs;
	unsigned *free_idx;
	unsigned n_free;
	unsigned *unsettled; /* indices of UNSENT and SENT records */
	unsigned n_unsettled;
	unsigned n_unsent;
	unsigned n_closing;
	bool stalled; /* the last settle timed out and nothing moved since */
};

/* ---- the helper process ---- */

/* Only ever touched in the helper (the daemon's copy stays unused). */
static struct {
	int cmd_rd, done_wr;
	pthread_mutex_t lock;
	unsigned n_threads, n_idle;
} helper = {.cmd_rd = -1, .done_wr = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static void
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static int helper_spawn_thread(void);

static void *
helper_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct closer_msg m;
		bool more;
		ssize_t n = read(helper.cmd_rd, &m, sizeof(m));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m))
			break; /* cannot happen: we hold the write end too */

		/* Never leave the pipe without a reader while this close may hang. */
		(void)pthread_mutex_lock(&helper.lock);
		helper.n_idle--;
		more = helper.n_idle == 0 && helper.n_threads < HELPER_MAX_THREADS;
		if (more) {
			helper.n_threads++;
			helper.n_idle++;
		}
		(void)pthread_mutex_unlock(&helper.lock);
		if (more && helper_spawn_thread() < 0) {
			(void)pthread_mutex_lock(&helper.lock);
			helper.n_threads--;
			helper.n_idle--;
			(void)pthread_mutex_unlock(&helper.lock);
		}

		/* May sleep for ever (FUSE FLUSH); never retried (close(2)). */
		(void)close(m.fd);
		write_all(helper.done_wr, &m, sizeof(m));

		(void)pthread_mutex_lock(&helper.lock);
		if (helper.n_idle >= HELPER_MAX_IDLE) {
			helper.n_threads--;
			(void)pthread_mutex_unlock(&helper.lock);
			return NULL;
		}
		helper.n_idle++;
		(void)pthread_mutex_unlock(&helper.lock);
	}
	(void)pthread_mutex_lock(&helper.lock);
	helper.n_threads--;
	helper.n_idle--;
	(void)pthread_mutex_unlock(&helper.lock);
	return NULL;
}

static int
helper_spawn_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	r = pthread_attr_init(&attr);
	if (r != 0)
		return -r;
	r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = pthread_attr_setstacksize(&attr, HELPER_THREAD_STACK);
	if (r == 0)
		r = pthread_create(&t, &attr, helper_thread, NULL);
	(void)pthread_attr_destroy(&attr);
	return -r;
}

/*
 * The helper: start the first reader, say hello, then wait for the daemon
 * to exit and exit too. Threads stuck in close() keep the helper's own exit
 * pending until their FUSE server answers or dies; nobody waits for that.
 */
static _Noreturn void
helper_main(pid_t daemon_pid, int cmd_rd, int done_wr)
{
	struct closer_msg hello = {.fd = HELLO_OK};
	int pidfd, r;

	(void)prctl(PR_SET_NAME, "spawnd-closer");
	helper.cmd_rd = cmd_rd;
	helper.done_wr = done_wr;
	/* Our own pidfd of the daemon lands in the shared table; O_CLOEXEC. */
	pidfd = (int)syscall(SYS_pidfd_open, daemon_pid, 0);

	helper.n_threads = helper.n_idle = 1;
	r = helper_spawn_thread();
	if (r < 0) {
		hello.fd = HELLO_FAILED;
		hello.idx = (uint32_t)-r;
		write_all(done_wr, &hello, sizeof(hello));
		_exit(1);
	}
	hello.idx = (uint32_t)getpid();
	write_all(done_wr, &hello, sizeof(hello));

	for (;;) {
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};

			if (poll(&p, 1, -1) > 0)
				break;
		} else {
			/* No pidfd_open (Linux < 5.3): look once a second. */
			(void)sleep(1);
			if (kill(daemon_pid, 0) < 0 && errno == ESRCH)
				break;
		}
	}
	/* exit_group: the idle readers go at once, stuck closers when they return. */
	_exit(0);
}

/* clone3/clone with CLONE_FILES and no new stack: fork() that shares the fd table. */
struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static pid_t
fork_sharing_files(void)
{
	struct clone_args_v0 args = {.flags = CLONE_FILES, .exit_signal = SIGCHLD};
	long r = -1;

#ifdef SYS_clone3
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r >= 0 || (errno != ENOSYS && errno != EPERM))
		return (pid_t)r;
#endif
		/* Seccomp profiles that predate clone3 refuse it with ENOSYS or EPERM. */
#if defined(__s390__) || defined(__CRIS__)
	r = syscall(SYS_clone, 0, CLONE_FILES | SIGCHLD, 0, 0, 0);
#else
	r = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
#endif
	return (pid_t)r;
}

/* ---- the daemon's side ---- */

static void
unsettled_remove(struct closer *cl, struct closer_rec *rec)
{
	unsigned last = cl->unsettled[--cl->n_unsettled];

	cl->unsettled[rec->upos] = last;
	cl->recs[last].upos = rec->upos;
	if (rec->state == REC_UNSENT)
		cl->n_unsent--;
}

/* The close of record idx is done (or the record is abandoned). */
static void
rec_release(struct closer *cl, unsigned idx)
{
	struct closer_rec *rec = &cl->recs[idx];

	if (rec->state == REC_UNSENT || rec->state == REC_SENT)
		unsettled_remove(cl, rec);
	if (rec->uid != (uid_t)-1)
		usage_closing_release(rec->uid);
	cl->n_closing--;
	*rec = (struct closer_rec){.fd = -EBADF, .state = REC_FREE};
	cl->free_idx[cl->n_free++] = idx;
}

/*
 * Room for more records. The quota is checked before a client's message is
 * received (closer_may_receive()), but some takes cannot wait for room:
 * the copies of a request's fds taken back for its spawn, a connection's
 * socket, a park socket, a message over SPAWND_MAX_FDS. An fd that could
 * not be taken would stay in the table unnoticed by closer_settle(), for
 * every later child to inherit (HOSTILE 46), so the table grows instead;
 * what it can hold is bounded by the connection, lookup and message caps.
 */
static int
recs_grow(struct closer *cl)
{
	unsigned n = cl->n_recs * 2;
	struct closer_rec *recs = realloc(cl->recs, n * sizeof(*recs));
	unsigned *free_idx, *unsettled;

	if (!recs)
		return -ENOMEM;
	cl->recs = recs;
	free_idx = realloc(cl->free_idx, n * sizeof(*free_idx));
	if (!free_idx)
		return -ENOMEM;
	cl->free_idx = free_idx;
	unsettled = realloc(cl->unsettled, n * sizeof(*unsettled));
	if (!unsettled)
		return -ENOMEM;
	cl->unsettled = unsettled;
	for (unsigned i = n; i > cl->n_recs; i--) {
		cl->recs[i - 1] = (struct closer_rec){.fd = -EBADF, .state = REC_FREE};
		cl->free_idx[cl->n_free++] = i - 1;
	}
	cl->n_recs = n;
	return 0;
}

/* Write the records not yet sent, as many as the pipe takes. */
static void
flush_unsent(struct closer *cl)
{
	struct closer_msg batch[SPAWND_MAX_FDS];
	unsigned idx[SPAWND_MAX_FDS];
	size_t n;

	while (cl->n_unsent > 0) {
		n = 0;
		for (unsigned i = 0; i < cl->n_unsettled && n < SPAWND_MAX_FDS; i++) {
			struct closer_rec *rec = &cl->recs[cl->unsettled[i]];

			if (rec->state != REC_UNSENT)
				continue;
			idx[n] = cl->unsettled[i];
			batch[n].fd = rec->fd;
			batch[n].idx = cl->unsettled[i];
			n++;
		}
		if (n == 0 || write(cl->cmd_wr, batch, n * sizeof(batch[0])) < 0)
			return; /* EAGAIN: the next take, collect or settle tries again */
		for (size_t i = 0; i < n; i++)
			cl->recs[idx[i]].state = REC_SENT;
		cl->n_unsent -= (unsigned)n;
	}
}

void
closer_take(struct closer *cl, uid_t uid, int *fds, size_t n)
{
	struct closer_msg batch[WIRE_RECV_MAX_FDS];
	unsigned idx[WIRE_RECV_MAX_FDS];
	size_t k = 0;

	/* One write of at most WIRE_RECV_MAX_FDS records: under PIPE_BUF. */
	_Static_assert(WIRE_RECV_MAX_FDS * sizeof(struct closer_msg) <= PIPE_BUF,
		       "a batch must be written whole");
	if (n > WIRE_RECV_MAX_FDS) {
		closer_take(cl, uid, fds + WIRE_RECV_MAX_FDS, n - WIRE_RECV_MAX_FDS);
		n = WIRE_RECV_MAX_FDS;
	}
	for (size_t i = 0; i < n; i++) {
		struct closer_rec *rec;
		struct statx stx;

		if (fds[i] < 0)
			continue;
		if (cl->n_free == 0 && recs_grow(cl) < 0) {
			/*
			 * Out of memory: an fd left open is a leak, an fd closed
			 * here could freeze the loop. Leak, and say so.
			 */
			log_error("Out of memory for the closer's records: fd %d stays open",
				  fds[i]);
			fds[i] = -EBADF;
			continue;
		}
		idx[k] = cl->free_idx[--cl->n_free];
		rec = &cl->recs[idx[k]];
		*rec = (struct closer_rec){.fd = fds[i],
					   .uid = usage_closing_take(uid) ? uid : (uid_t)-1,
					   .state = REC_SENT};
		/* The cached inode only: AT_STATX_DONT_SYNC asks no FUSE server. */
		if (statx(rec->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) == 0) {
			rec->have_id = true;
			rec->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
			rec->ino = stx.stx_ino;
		}
		rec->upos = cl->n_unsettled;
		cl->unsettled[cl->n_unsettled++] = idx[k];
		cl->n_closing++;
		batch[k].fd = rec->fd;
		batch[k].idx = idx[k];
		k++;
		fds[i] = -EBADF;
	}
	flush_unsent(cl);
	if (k == 0)
		return;
	/* At most WIRE_RECV_MAX_FDS records: under PIPE_BUF, written whole or not at all. */
	if (cl->n_unsent == 0 && write(cl->cmd_wr, batch, k * sizeof(batch[0])) >= 0)
		return;
	for (size_t i = 0; i < k; i++)
		cl->recs[idx[i]].state = REC_UNSENT;
	cl->n_unsent += (unsigned)k;
}

int
closer_collect(struct closer *cl)
{
	struct closer_msg m[256];
	int count = 0;

	for (;;) {
		ssize_t n = read(cl->done_rd, m, sizeof(m));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(m[0]); i++) {
			unsigned idx = m[i].idx;

			/* Only records we sent: anything else would be a helper bug. */
			if (m[i].fd < 0 || idx >= cl->n_recs || cl->recs[idx].state == REC_FREE ||
			    cl->recs[idx].state == REC_UNSENT || cl->recs[idx].fd != m[i].fd)
				continue;
			rec_release(cl, idx);
			count++;
		}
		if ((size_t)n < sizeof(m))
			break;
	}
	if (count > 0)
		cl->stalled = false;
	flush_unsent(cl);
	return count;
}

/* Whether a SENT record's fd has left the table (its close began). */
static bool
rec_gone(const struct closer_rec *rec)
{
	struct statx stx;

	if (fcntl(rec->fd, F_GETFD) < 0)
		return errno == EBADF;
	/* The number is in use: by our fd, or by a new one that got the number. */
	if (!rec->have_id ||
	    statx(rec->fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
		return false;
	return makedev(stx.stx_dev_major, stx.stx_dev_minor) != rec->dev || stx.stx_ino != rec->ino;
}

static uint64_t
now_msec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool
fd_in(int fd, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

int
closer_settle(struct closer *cl, unsigned timeout_ms, const int *own, size_t n_own)
{
	uint64_t deadline;

	if (!cl || cl->n_unsettled == 0)
		return 0;
	deadline = now_msec() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = cl->done_rd, .events = POLLIN};
		bool moved = false;
		uint64_t now;

		if (closer_collect(cl) > 0)
			moved = true;
		for (unsigned i = 0; i < cl->n_unsettled;) {
			struct closer_rec *rec = &cl->recs[cl->unsettled[i]];

			if (rec->state == REC_SENT &&
			    (fd_in(rec->fd, own, n_own) || rec_gone(rec))) {
				unsettled_remove(cl, rec);
				rec->state = REC_GONE;
				moved = true;
				continue; /* the last entry moved into slot i */
			}
			i++;
		}
		if (cl->n_unsettled == 0) {
			cl->stalled = false;
			return 0;
		}
		if (moved)
			cl->stalled = false;
		now = now_msec();
		if (cl->stalled || now >= deadline) {
			cl->stalled = true;
			return -ETIMEDOUT;
		}
		/* A done record wakes us; a close that began but hangs shows on the next look. */
		(void)poll(&p, 1, 1);
	}
}

bool
closer_may_receive(const struct closer *cl, uid_t uid)
{
	if (!cl)
		return true;
	return cl->n_closing + SPAWND_MAX_FDS <= SPAWND_MAX_CLOSING_FDS &&
	       closer_closing_of(cl, uid) + SPAWND_MAX_FDS <= SPAWND_MAX_CLOSING_FDS_PER_UID;
}

unsigned
closer_closing_of(const struct closer *cl, uid_t uid)
{
	return cl ? usage_closing_of(uid) : 0;
}

unsigned
closer_closing(const struct closer *cl)
{
	return cl ? cl->n_closing : 0;
}

int
closer_done_fd(const struct closer *cl)
{
	return cl->done_rd;
}

int
closer_helper_pidfd(const struct closer *cl)
{
	return cl->helper_pidfd;
}

pid_t
closer_helper_pid(const struct closer *cl)
{
	return cl->helper_pid;
}

/* Wait for the helper's hello: its pid, or why it could not start. */
static int
read_hello(int fd, pid_t *ret_pid)
{
	uint64_t deadline = now_msec() + HELPER_HELLO_MSEC;
	struct closer_msg hello;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = now_msec();
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, &hello, sizeof(hello));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n != (ssize_t)sizeof(hello))
			return -EBADMSG;
		break;
	}
	if (hello.fd == HELLO_FAILED)
		return hello.idx > 0 ? -(int)hello.idx : -EAGAIN;
	if (hello.fd != HELLO_OK || hello.idx == 0)
		return -EBADMSG;
	*ret_pid = (pid_t)hello.idx;
	return 0;
}

int
closer_new(struct closer **ret)
{
	struct closer *cl = calloc(1, sizeof(*cl));
	int cmd[2] = {-EBADF, -EBADF}, done[2] = {-EBADF, -EBADF};
	pid_t daemon_pid = getpid(), mid;
	int status, r;

	if (!cl)
		return -ENOMEM;
	cl->cmd_wr = cl->cmd_rd = cl->done_rd = cl->done_wr = cl->helper_pidfd = -EBADF;
	cl->n_recs = SPAWND_MAX_CLOSING_FDS + SPAWND_MAX_FDS;
	cl->recs = calloc(cl->n_recs, sizeof(*cl->recs));
	cl->free_idx = calloc(cl->n_recs, sizeof(*cl->free_idx));
	cl->unsettled = calloc(cl->n_recs, sizeof(*cl->unsettled));
	if (!cl->recs || !cl->free_idx || !cl->unsettled) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < cl->n_recs; i++) {
		cl->recs[i].fd = -EBADF;
		cl->free_idx[cl->n_free++] = cl->n_recs - 1 - i;
	}

	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	cl->cmd_rd = cmd[0];
	cl->cmd_wr = cmd[1];
	cl->done_rd = done[0];
	cl->done_wr = done[1];
	if (fcntl(cl->cmd_wr, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(cl->done_rd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	/* Best effort: a smaller pipe only means records wait in flush_unsent(). */
	(void)fcntl(cl->cmd_wr, F_SETPIPE_SZ, PIPE_BYTES_WANTED);
	(void)fcntl(cl->done_wr, F_SETPIPE_SZ, PIPE_BYTES_WANTED);

	/* Double fork, both sharing the fd table: the helper is init's child, not ours. */
	mid = fork_sharing_files();
	if (mid < 0) {
		r = -errno;
		goto fail;
	}
	if (mid == 0) {
		pid_t h = fork_sharing_files();

		if (h == 0)
			helper_main(daemon_pid, cl->cmd_rd, cl->done_wr);
		_exit(h < 0 ? 1 : 0);
	}
	/* With SIGCHLD ignored the kernel reaps it (ECHILD): the hello tells. */
	while (waitpid(mid, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != ECHILD) {
			r = -errno;
			goto fail;
		}
		status = 0;
		break;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r = -ECHILD;
		goto fail;
	}
	r = read_hello(cl->done_rd, &cl->helper_pid);
	if (r < 0)
		goto fail;
	cl->helper_pidfd = (int)syscall(SYS_pidfd_open, cl->helper_pid, 0);
	if (cl->helper_pidfd < 0)
		cl->helper_pidfd = -EBADF; /* then nobody notices its death: Linux < 5.3 */
	*ret = cl;
	return 0;

fail:
	(void)closer_free(cl);
	return r;
}

struct closer *
closer_free(struct closer *cl)
{
	if (!cl)
		return NULL;
	/*
	 * The helper exits when we do; records still outstanding are its
	 * business (and its last exit closes what is left in the table).
	 * The table is shared: the helper's ends of the pipes must stay.
	 * Closing our write end gives its idle readers EOF.
	 */
	(void)safe_close(cl->cmd_wr);
	(void)safe_close(cl->done_rd);
	(void)safe_close(cl->helper_pidfd);
	if (cl->helper_pid <= 0) {
		(void)safe_close(cl->cmd_rd);
		(void)safe_close(cl->done_wr);
	}
	free(cl->recs);
	free(cl->free_idx);
	free(cl->unsettled);
	free(cl);
	return NULL;
}
