/* SPDX-License-Identifier: MIT */
/*
 * libspawnd: one connection to spawnd, its send queue, reply dispatch and
 * the result getters. The protocol is described in docs/protocol.md; the
 * framing helpers live in proto/wire.c and are shared with the daemon.
 *
 * Everything here is non-blocking except spawnd_client_wait(), which
 * polls with a deadline. The library never logs, never raises signals
 * (wire_send uses MSG_NOSIGNAL) and never exits; errors are -errno.
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "spawnd/version.h"
#include "stage.h"
#include "wire.h"

/* ---- time ---- */

uint64_t
client_now_usec(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Turn a relative timeout into an absolute deadline, saturating at "none". */
uint64_t
client_deadline(uint64_t timeout_usec)
{
	uint64_t now;

	if (timeout_usec == SPAWND_WAIT_INFINITE)
		return UINT64_MAX;
	now = client_now_usec();
	if (timeout_usec >= UINT64_MAX - now)
		return UINT64_MAX;
	return now + timeout_usec;
}

/* ---- entries ---- */

struct client_spawn *
client_spawn_find(struct spawnd_client *c, uint64_t id)
{
	for (struct client_spawn *s = c->spawns; s; s = s->next)
		if (s->result.id == id)
			return s;
	return NULL;
}

struct client_signal *
client_signal_find(struct spawnd_client *c, uint64_t id)
{
	for (struct client_signal *sig = c->signals; sig; sig = sig->next)
		if (sig->id == id)
			return sig;
	return NULL;
}

static bool
state_is_final(spawnd_state state)
{
	return state == SPAWND_STATE_FAILED || state == SPAWND_STATE_EXITED;
}

static void
spawn_unlink(struct spawnd_client *c, struct client_spawn *s)
{
	for (struct client_spawn **p = &c->spawns; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			return;
		}
}

void
client_spawn_release(struct spawnd_client *c, struct client_spawn *s)
{
	bool final = state_is_final(s->result.state);

	if (s->busy > 0 || s->waiters > 0)
		return;
	if (!s->collected && !(final && (s->cb || s->discard)))
		return;
	spawn_unlink(c, s);
	client_result_done(&s->result);
	free(s);
}

void
client_signal_remove(struct spawnd_client *c, struct client_signal *sig)
{
	for (struct client_signal **p = &c->signals; *p; p = &(*p)->next)
		if (*p == sig) {
			*p = sig->next;
			free(sig);
			return;
		}
}

/*
 * Hand the entry's new result to its callback, then free the entry if that
 * was its last reply and nobody waits for it. The busy count keeps the
 * result alive while the callback runs, whatever the callback does.
 */
static void
spawn_deliver(struct spawnd_client *c, struct client_spawn *s)
{
	if (s->cb) {
		s->busy++;
		s->cb(c, &s->result, s->userdata);
		s->busy--;
	}
	if (state_is_final(s->result.state))
		client_spawn_release(c, s);
}

static void
result_set_failed(struct spawnd_result *r, spawnd_stage stage, int errnum, const char *detail)
{
	r->state = SPAWND_STATE_FAILED;
	r->stage = stage;
	r->errnum = errnum;
	free(r->detail);
	/* Without memory the detail reads as "": the stage and errno still tell. */
	r->detail = detail && detail[0] ? strdup(detail) : NULL;
}

/* The answer to a request that never got anywhere, or to a Signal request. */
static void
signal_finish(struct spawnd_client *c, struct client_signal *sig, int error)
{
	sig->done = true;
	sig->error = error;
	if (!sig->waited)
		client_signal_remove(c, sig);
}

/*
 * Fail every spawn that has not finished and every signal request still
 * open. Used when the connection ends: callbacks run one at a time, and
 * the search restarts after each, because a callback may change the list.
 * New requests cannot be added meanwhile: send_error is already set.
 */
static void
fail_all(struct spawnd_client *c, spawnd_stage stage, int errnum, const char *detail)
{
	for (;;) {
		struct client_spawn *s;

		for (s = c->spawns; s; s = s->next)
			if (!state_is_final(s->result.state))
				break;
		if (!s)
			break;
		result_set_failed(&s->result, stage, errnum, detail);
		spawn_deliver(c, s);
	}

	for (struct client_signal *sig = c->signals, *next; sig; sig = next) {
		next = sig->next;
		if (!sig->done)
			signal_finish(c, sig, -errnum);
	}
}

/* A request that was never sent: its spawn or signal request fails now. */
static void
request_failed(struct spawnd_client *c, uint64_t id, int errnum)
{
	struct client_spawn *s = client_spawn_find(c, id);
	struct client_signal *sig;

	if (s && !state_is_final(s->result.state)) {
		result_set_failed(&s->result, SPAWND_STAGE_PROTOCOL, errnum, NULL);
		spawn_deliver(c, s);
		return;
	}
	sig = client_signal_find(c, id);
	if (sig && !sig->done)
		signal_finish(c, sig, -errnum);
}

/* ---- send queue ---- */

static void
send_free(struct client_send *s)
{
	if (!s)
		return;
	wire_close_fds(s->fds, s->n_fds);
	free(s->fds);
	free(s->buf);
	free(s);
}

static void
send_queue_drop(struct spawnd_client *c)
{
	while (c->send_head) {
		struct client_send *s = c->send_head;

		c->send_head = s->next;
		send_free(s);
	}
	c->send_tail = NULL;
}

/*
 * A send error either concerns one message (a bad fd, too many fds in
 * flight, a message over SO_SNDBUF) or the connection itself (the daemon
 * is gone). Only the latter stops all sending.
 */
static bool
send_error_is_fatal(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED;
}

/* The error a caller sees: "the daemon went away" reads the same everywhere. */
static int
send_error_normalize(int r)
{
	if (r == -EPIPE || r == -ENOTCONN || r == -ECONNREFUSED)
		return -ECONNRESET;
	/* wire_send's EMSGSIZE: the request does not fit one datagram. */
	if (r == -EMSGSIZE)
		return -E2BIG;
	return r;
}

int
client_submit(struct spawnd_client *c, uint64_t id, uint8_t *buf, size_t len, const int *fds,
	      size_t n_fds)
{
	struct client_send *s;

	if (c->send_error) {
		free(buf);
		return c->send_error;
	}

	/*
	 * Fast path: nothing is queued, so this request may go out now, with
	 * the caller's own fds. Requests must keep their order, so a request
	 * behind a queued one always waits its turn. Every request carries
	 * our own credentials (SCM_CREDENTIALS): the daemon refuses a message
	 * whose sender is not the process that connected (docs/protocol.md).
	 */
	if (!c->send_head) {
		int r = wire_send_with_creds(c->fd, buf, len, fds, n_fds);

		if (r != -EAGAIN) {
			free(buf);
			if (r < 0 && send_error_is_fatal(r))
				c->send_error = send_error_normalize(r);
			return r < 0 ? send_error_normalize(r) : 0;
		}
	}

	/*
	 * The socket buffer is full. The header promises that the caller's
	 * fds are needed only until spawnd_spawn_async() returns, so the queue
	 * holds its own close-on-exec duplicates (>= 3, never stdio).
	 */
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(buf);
		return -ENOMEM;
	}
	s->id = id;
	s->buf = buf;
	s->len = len;
	if (n_fds > 0) {
		s->fds = malloc(n_fds * sizeof(int));
		if (!s->fds) {
			send_free(s);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n_fds; i++) {
			int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (d < 0) {
				int r = -errno;

				send_free(s);
				return r;
			}
			s->fds[s->n_fds++] = d;
		}
	}
	if (c->send_tail)
		c->send_tail->next = s;
	else
		c->send_head = s;
	c->send_tail = s;
	return 0;
}

/*
 * Send queued requests until the socket is full again. A request that
 * cannot be sent fails through its callback; when the connection itself
 * is broken, everything still queued fails the same way.
 */
static void
flush(struct spawnd_client *c)
{
	struct client_send *s;

	while ((s = c->send_head)) {
		int r = c->send_error
				? c->send_error
				: wire_send_with_creds(c->fd, s->buf, s->len, s->fds, s->n_fds);
		uint64_t id = s->id;

		if (r == -EAGAIN)
			return;
		c->send_head = s->next;
		if (!c->send_head)
			c->send_tail = NULL;
		send_free(s);
		if (r < 0) {
			if (send_error_is_fatal(r))
				c->send_error = send_error_normalize(r);
			request_failed(c, id, -send_error_normalize(r));
		}
	}
}

/*
 * The connection is over: remember why, stop sending, tell the daemon by
 * shutting the socket down (it then applies each child's on-disconnect
 * choice), and fail everything pending with stage PROTOCOL.
 */
static void
connection_lost(struct spawnd_client *c, int errnum)
{
	if (c->dead_error)
		return;
	c->dead_error = -errnum;
	c->send_error = -errnum;
	(void)shutdown(c->fd, SHUT_RDWR);
	send_queue_drop(c);
	fail_all(c, SPAWND_STAGE_PROTOCOL, errnum, NULL);
}

/* ---- replies ---- */

static void
result_set_exited(struct spawnd_result *r, const Spawnd__V1__Exited *e)
{
	r->state = SPAWND_STATE_EXITED;
	if (e->pid > 0)
		r->pid = e->pid;
	r->exit_code = e->has_exit_code ? e->exit_code : -1;
	r->signo = e->has_signal ? e->signal : 0;
	if (e->has_signal)
		r->exit_code = -1;
	r->core_dumped = e->has_core_dumped && e->core_dumped;
	r->timed_out = e->has_timed_out && e->timed_out;
	r->user_cpu_usec = e->has_user_cpu_us ? e->user_cpu_us : 0;
	r->sys_cpu_usec = e->has_sys_cpu_us ? e->sys_cpu_us : 0;
	r->max_rss_kb = e->has_max_rss_kb ? e->max_rss_kb : 0;
	r->wall_usec = e->has_wall_us ? e->wall_us : 0;
}

static int
failed_errnum(const Spawnd__V1__Failed *f)
{
	/* A daemon that sends no usable errno still reports a failure. */
	return f->errnum > 0 ? f->errnum : EIO;
}

/* spawnd_stage's values are the wire's (spawnd.h); the last one marks the end. */
_Static_assert((int)SPAWND_STAGE_PROTOCOL == (int)SPAWND__V1__STAGE__STAGE_PROTOCOL,
	       "spawnd_stage differs from the wire's Stage");

/* A stage the table has no name for (a newer daemon's) is UNKNOWN here. */
static spawnd_stage
failed_stage(const Spawnd__V1__Failed *f)
{
	return wire_stage_name(f->stage) ? (spawnd_stage)f->stage : SPAWND_STAGE_UNKNOWN;
}

/*
 * Check the fds that came with a reply; on success *ret_pidfd and
 * *ret_master are the fds the reply may carry (or -EBADF). Exactly one kind
 * of reply carries fds: a Started that announces them (Started.pidfd,
 * Started.pty_master), for a spawn that asked for them and has not started
 * yet, with exactly the announced fds attached, pidfd first. Anything
 * else is a protocol error: every fd that came is closed and -EBADMSG
 * returned, so that nothing unexpected lingers in the caller's fd table.
 */
static int
reply_take_fds(struct spawnd_client *c, const Spawnd__V1__Reply *m, int *fds, size_t n_fds,
	       int *ret_pidfd, int *ret_master)
{
	bool started = m->body_case == SPAWND__V1__REPLY__BODY_STARTED;
	bool pidfd = started && m->started->has_pidfd && m->started->pidfd;
	bool master = started && m->started->has_pty_master && m->started->pty_master;
	struct client_spawn *s;

	*ret_pidfd = -EBADF;
	*ret_master = -EBADF;
	if (!pidfd && !master) {
		if (n_fds == 0)
			return 0;
		goto bad;
	}
	s = m->id != 0 ? client_spawn_find(c, m->id) : NULL;
	if (n_fds != (size_t)pidfd + (size_t)master || !s ||
	    s->result.state != SPAWND_STATE_PENDING || (pidfd && !s->want_pidfd) ||
	    (master && !s->want_pty))
		goto bad;
	if (pidfd)
		*ret_pidfd = fds[0];
	if (master)
		*ret_master = fds[pidfd ? 1 : 0];
	return 0;
bad:
	wire_close_fds(fds, n_fds);
	return -EBADMSG;
}

/*
 * Apply one reply. Replies to ids we do not know (a spawn whose result
 * was already collected, a signal sent with spawnd_signal_async()) are
 * dropped. *pidfd (from reply_take_fds()) is reset to -EBADF when a result
 * took it. Returns 1 when a callback or waiter got something, else 0.
 */
static int
dispatch_reply(struct spawnd_client *c, const Spawnd__V1__Reply *m, int *pidfd, int *master)
{
	struct client_spawn *s;
	struct client_signal *sig;

	if (m->id == 0) {
		/*
		 * Id 0 is about the connection, not one request: the daemon
		 * is dropping us (docs/protocol.md). Everything pending fails
		 * with its reason now; EOF follows.
		 */
		if (m->body_case != SPAWND__V1__REPLY__BODY_FAILED)
			return 0;
		c->send_error = -ECONNRESET;
		send_queue_drop(c);
		fail_all(c, failed_stage(m->failed), failed_errnum(m->failed), m->failed->detail);
		return 1;
	}

	s = client_spawn_find(c, m->id);
	if (s) {
		struct spawnd_result *r = &s->result;

		if (state_is_final(r->state))
			return 0;
		switch (m->body_case) {
		case SPAWND__V1__REPLY__BODY_STARTED:
			if (r->state != SPAWND_STATE_PENDING)
				return 0;
			r->state = SPAWND_STATE_STARTED;
			r->pid = m->started->pid;
			/* The result owns it from here (reply_take_fds checked it). */
			r->pidfd = *pidfd;
			*pidfd = -EBADF;
			r->pty_master = *master;
			*master = -EBADF;
			break;
		case SPAWND__V1__REPLY__BODY_FAILED:
			result_set_failed(r, failed_stage(m->failed), failed_errnum(m->failed),
					  m->failed->detail);
			break;
		case SPAWND__V1__REPLY__BODY_EXITED:
			result_set_exited(r, m->exited);
			break;
		default:
			return 0;
		}
		spawn_deliver(c, s);
		return 1;
	}

	sig = client_signal_find(c, m->id);
	if (sig && !sig->done) {
		if (m->body_case == SPAWND__V1__REPLY__BODY_SIGNAL_SENT)
			signal_finish(c, sig, 0);
		else if (m->body_case == SPAWND__V1__REPLY__BODY_FAILED)
			signal_finish(c, sig, -failed_errnum(m->failed));
		else
			return 0;
		return 1;
	}
	return 0;
}

/* Apply one reply that may carry fds; an fd nobody took is closed. */
static int
dispatch(struct spawnd_client *c, const Spawnd__V1__Reply *m, int pidfd, int master)
{
	int n = dispatch_reply(c, m, &pidfd, &master);

	if (pidfd >= 0)
		(void)close(pidfd);
	if (master >= 0)
		(void)close(master);
	return n;
}

/* ---- connection ---- */

SPAWND_EXPORT int
spawnd_client_open(spawnd_client **ret, const char *path, unsigned flags)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	spawnd_client *c;
	size_t len;

	if (!ret || flags != 0)
		return -EINVAL;
	if (!path) {
		/*
		 * secure_getenv: a set-uid program linking us must not let its
		 * caller point it at a fake daemon.
		 */
		path = secure_getenv(SPAWND_SOCKET_ENV);
		if (!path || !path[0])
			path = SPAWND_DEFAULT_SOCKET;
	}
	len = strlen(path);
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -EBADF;
	c->next_id = 1;
	/* One byte more than the cap, so that an oversize datagram is detected. */
	c->rbuf = malloc(SPAWND_MAX_MESSAGE_BYTES + 1);
	if (!c->rbuf) {
		spawnd_client_close(c);
		return -ENOMEM;
	}

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		int r = -errno;

		spawnd_client_close(c);
		return r;
	}
	/*
	 * A non-blocking connect on a Unix socket completes at once or fails:
	 * there is no EINPROGRESS. EAGAIN means the daemon's listen backlog is
	 * full, and the caller may retry later.
	 */
	if (connect(c->fd, (const struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0) {
		int r = -errno;

		spawnd_client_close(c);
		return r;
	}
	*ret = c;
	return 0;
}

SPAWND_EXPORT spawnd_client *
spawnd_client_close(spawnd_client *c)
{
	if (!c)
		return NULL;
	send_queue_drop(c);
	while (c->spawns) {
		struct client_spawn *s = c->spawns;

		c->spawns = s->next;
		client_result_done(&s->result);
		free(s);
	}
	while (c->signals) {
		struct client_signal *sig = c->signals;

		c->signals = sig->next;
		free(sig);
	}
	if (c->fd >= 0)
		(void)close(c->fd);
	free(c->rbuf);
	free(c);
	return NULL;
}

SPAWND_EXPORT int
spawnd_client_get_fd(spawnd_client *c)
{
	if (!c)
		return -EINVAL;
	return c->fd;
}

SPAWND_EXPORT int
spawnd_client_get_events(spawnd_client *c)
{
	if (!c)
		return -EINVAL;
	if (c->send_head && !c->send_error)
		return POLLIN | POLLOUT;
	return POLLIN;
}

SPAWND_EXPORT int
spawnd_client_process(spawnd_client *c)
{
	bool reset = false;
	int n = 0;

	if (!c)
		return -EINVAL;
	if (c->dead_error)
		return c->dead_error;

	flush(c);

	while (!c->dead_error) {
		Spawnd__V1__Reply *m = NULL;
		int fds[SPAWND_MAX_FDS];
		size_t len = 0, n_fds = 0;
		int pidfd = -EBADF, master = -EBADF;
		int r;

		r = wire_recv(c->fd, c->rbuf, SPAWND_MAX_MESSAGE_BYTES + 1, &len, fds, &n_fds);
		if (r == -ECONNRESET && !reset) {
			/*
			 * The daemon closed while our requests sat unread in its
			 * queue. The kernel reports that as a pending socket error
			 * (once) before the replies the daemon did send, e.g. an
			 * exit status: read those first, then EOF follows.
			 */
			reset = true;
			continue;
		}
		if (r == -EAGAIN || r == -EWOULDBLOCK) {
			if (reset)
				connection_lost(c, ECONNRESET);
			break;
		}
		if (r == 0) {
			connection_lost(c, ECONNRESET);
			break;
		}
		if (r < 0) {
			/* wire_recv closed any fds; EBADMSG is a framing error. */
			connection_lost(c, -r);
			break;
		}
		r = wire_reply_unpack(c->rbuf, len, &m);
		if (r < 0) {
			wire_close_fds(fds, n_fds);
			connection_lost(c, -r);
			break;
		}
		/*
		 * Only a Started we asked a pidfd for may carry an fd. Anything
		 * else with an fd means we no longer understand the stream:
		 * close what came and fail closed.
		 */
		r = reply_take_fds(c, m, fds, n_fds, &pidfd, &master);
		if (r < 0) {
			wire_reply_free(m);
			connection_lost(c, -r);
			break;
		}
		n += dispatch(c, m, pidfd, master);
		wire_reply_free(m);
	}

	return c->dead_error ? c->dead_error : n;
}

SPAWND_EXPORT int
spawnd_client_wait(spawnd_client *c, uint64_t timeout_usec)
{
	struct pollfd pfd;
	struct timespec ts, *tsp = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (c->dead_error)
		return c->dead_error;

	/* 0 is a zero timespec: ppoll polls once and returns at once. */
	if (timeout_usec != SPAWND_WAIT_INFINITE) {
		ts.tv_sec = (time_t)(timeout_usec / 1000000u);
		ts.tv_nsec = (long)(timeout_usec % 1000000u) * 1000;
		tsp = &ts;
	}
	pfd = (struct pollfd){.fd = c->fd, .events = (short)spawnd_client_get_events(c)};
	/*
	 * ppoll with a NULL mask behaves like poll but takes the timeout as a
	 * timespec, so long timeouts do not overflow poll's int milliseconds.
	 * EINTR is returned, not retried: the caller may have a signal to
	 * handle (spawnctl forwards them).
	 */
	r = ppoll(&pfd, 1, tsp, NULL);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return spawnd_client_process(c);
}

/*
 * A deadline in the past still polls once: a zero timeout means "take what
 * has arrived, never block", not "give up without looking".
 */
int
client_run_until(struct spawnd_client *c, bool (*done)(struct spawnd_client *c, void *data),
		 void *data, uint64_t deadline)
{
	for (;;) {
		uint64_t now, left;
		int r;

		if (done(c, data))
			return 0;
		if (c->dead_error)
			return c->dead_error;
		now = client_now_usec();
		if (deadline == UINT64_MAX)
			left = UINT64_MAX;
		else
			left = deadline > now ? deadline - now : 0;
		r = spawnd_client_wait(c, left);
		if (done(c, data))
			return 0;
		if (r < 0 && r != -ETIMEDOUT)
			return r;
		if (r == -ETIMEDOUT || left == 0)
			return -ETIMEDOUT;
	}
}

/* ---- results ---- */

void
client_result_done(struct spawnd_result *r)
{
	free(r->detail);
	r->detail = NULL;
	if (r->pidfd >= 0)
		(void)close(r->pidfd);
	r->pidfd = -EBADF;
	if (r->pty_master >= 0)
		(void)close(r->pty_master);
	r->pty_master = -EBADF;
}

/*
 * One fd of a result into its copy: moved (take) or duplicated, >= 3 and
 * close-on-exec (never stdio, never inherited). Returns 0 or -errno.
 */
static int
result_fd_copy(int *src, int *dst, bool take)
{
	if (*src < 0)
		return 0;
	if (take) {
		*dst = *src;
		*src = -EBADF;
		return 0;
	}
	*dst = fcntl(*src, F_DUPFD_CLOEXEC, 3);
	return *dst < 0 ? -errno : 0;
}

/* The fd, which the result no longer owns, or -ENODATA. */
static int
result_fd_take(int *fd)
{
	int r = *fd;

	if (r < 0)
		return -ENODATA;
	*fd = -EBADF;
	return r;
}

struct spawnd_result *
client_result_copy(struct spawnd_result *r, bool take_pidfd)
{
	struct spawnd_result *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *r;
	copy->detail = NULL;
	copy->pidfd = -EBADF;
	copy->pty_master = -EBADF;
	if (r->detail) {
		copy->detail = strdup(r->detail);
		if (!copy->detail) {
			free(copy);
			errno = ENOMEM;
			return NULL;
		}
	}
	if (result_fd_copy(&r->pidfd, &copy->pidfd, take_pidfd) < 0 ||
	    result_fd_copy(&r->pty_master, &copy->pty_master, take_pidfd) < 0) {
		int saved = errno;

		client_result_done(copy);
		free(copy);
		errno = saved;
		return NULL;
	}
	return copy;
}

struct spawnd_result *
client_result_dup(const struct spawnd_result *r)
{
	/* Without take_pidfd the source is only read. */
	return client_result_copy((struct spawnd_result *)r, false);
}

SPAWND_EXPORT spawnd_result *
spawnd_result_dup(const spawnd_result *r)
{
	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	return client_result_dup(r);
}

SPAWND_EXPORT spawnd_result *
spawnd_result_free(spawnd_result *r)
{
	if (!r)
		return NULL;
	client_result_done(r);
	free(r);
	return NULL;
}

SPAWND_EXPORT int
spawnd_result_get_pidfd(const spawnd_result *r)
{
	if (!r)
		return -EINVAL;
	return r->pidfd >= 0 ? r->pidfd : -ENODATA;
}

SPAWND_EXPORT int
spawnd_result_take_pidfd(spawnd_result *r)
{
	return r ? result_fd_take(&r->pidfd) : -EINVAL;
}

SPAWND_EXPORT int
spawnd_result_get_pty_master(const spawnd_result *r)
{
	if (!r)
		return -EINVAL;
	return r->pty_master >= 0 ? r->pty_master : -ENODATA;
}

SPAWND_EXPORT int
spawnd_result_take_pty_master(spawnd_result *r)
{
	return r ? result_fd_take(&r->pty_master) : -EINVAL;
}

SPAWND_EXPORT uint64_t
spawnd_result_get_id(const spawnd_result *r)
{
	return r ? r->id : 0;
}

SPAWND_EXPORT spawnd_state
spawnd_result_get_state(const spawnd_result *r)
{
	return r ? r->state : SPAWND_STATE_PENDING;
}

SPAWND_EXPORT pid_t
spawnd_result_get_pid(const spawnd_result *r)
{
	if (!r || (r->state != SPAWND_STATE_STARTED && r->state != SPAWND_STATE_EXITED))
		return -1;
	return r->pid;
}

SPAWND_EXPORT spawnd_stage
spawnd_result_get_stage(const spawnd_result *r)
{
	return r && r->state == SPAWND_STATE_FAILED ? r->stage : SPAWND_STAGE_UNKNOWN;
}

SPAWND_EXPORT int
spawnd_result_get_errno(const spawnd_result *r)
{
	return r && r->state == SPAWND_STATE_FAILED ? r->errnum : 0;
}

SPAWND_EXPORT const char *
spawnd_result_get_detail(const spawnd_result *r)
{
	return r && r->state == SPAWND_STATE_FAILED && r->detail ? r->detail : "";
}

/* The getters below describe an exit; any other state reads as "no exit". */
static bool
is_exited(const spawnd_result *r)
{
	return r && r->state == SPAWND_STATE_EXITED;
}

SPAWND_EXPORT int
spawnd_result_get_exit_code(const spawnd_result *r)
{
	return is_exited(r) ? r->exit_code : -1;
}

SPAWND_EXPORT int
spawnd_result_get_signal(const spawnd_result *r)
{
	return is_exited(r) ? r->signo : 0;
}

SPAWND_EXPORT int
spawnd_result_get_core_dumped(const spawnd_result *r)
{
	return is_exited(r) && r->core_dumped;
}

SPAWND_EXPORT int
spawnd_result_get_timed_out(const spawnd_result *r)
{
	return is_exited(r) && r->timed_out;
}

SPAWND_EXPORT uint64_t
spawnd_result_get_user_cpu_usec(const spawnd_result *r)
{
	return is_exited(r) ? r->user_cpu_usec : 0;
}

SPAWND_EXPORT uint64_t
spawnd_result_get_sys_cpu_usec(const spawnd_result *r)
{
	return is_exited(r) ? r->sys_cpu_usec : 0;
}

SPAWND_EXPORT uint64_t
spawnd_result_get_max_rss_kb(const spawnd_result *r)
{
	return is_exited(r) ? r->max_rss_kb : 0;
}

SPAWND_EXPORT uint64_t
spawnd_result_get_wall_usec(const spawnd_result *r)
{
	return is_exited(r) ? r->wall_usec : 0;
}

SPAWND_EXPORT const char *
spawnd_stage_to_string(spawnd_stage stage)
{
	const char *name = wire_stage_name((int)stage);

	return name ? name : "unknown";
}

SPAWND_EXPORT unsigned
spawnd_version(void)
{
	return SPAWND_VERSION_HEX;
}
