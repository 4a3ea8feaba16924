/* SPDX-License-Identifier: MIT */
/*
 * One client connection: receive datagrams (each a whole request with its
 * fds), hand them to dispatch.c, queue and send replies.
 *
 * The loop never blocks on a client: the socket is non-blocking, a reply
 * that does not fit the peer's queue waits in an in-memory queue with
 * EV_WRITE armed. That queue is bounded in bytes (HOSTILE.md 45): once it
 * holds SPAWND_MAX_QUEUED_BYTES, or CONN_PAUSE_REPLIES replies, the daemon
 * stops reading the client's requests until it has read enough of its
 * replies, as a full socket buffer makes a writer wait. Only replies that
 * the client's children produce can still add to it then (at most two per
 * live child); a client that lets SPAWND_MAX_QUEUED_REPLIES pile up all
 * the same is dropped. Sends use MSG_NOSIGNAL, so a vanished client costs
 * an EPIPE, never a SIGPIPE.
 *
 * Fds that arrive with a request are never closed here: they go to the
 * closer (closer.h), also on framing errors.
 */
#define _GNU_SOURCE

#include "conn.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit.h"
#include "closer.h"
#include "context.h"
#include "dispatch.h"
#include "log.h"
#include "usage.h"
#include "util/cleanup.h"
#include "wire.h"

/* Datagrams handled per wakeup, so one busy client cannot starve others. */
#define CONN_BURST 32
/* How often a connection whose Spawn waits for its lookups is checked for a hangup. */
#define CONN_HANGUP_CHECK_MSEC 100

/*
 * Queued replies at which reading pauses: low enough that what the
 * client's live children can add on top (Started and Exited for each of
 * at most SPAWND_MAX_CHILDREN_PER_UID) stays below SPAWND_MAX_QUEUED_REPLIES.
 * Reading resumes once the queue is down to half of both bounds.
 */
#define CONN_PAUSE_REPLIES (SPAWND_MAX_QUEUED_REPLIES / 4u)
_Static_assert(CONN_PAUSE_REPLIES + 2u * SPAWND_MAX_CHILDREN_PER_UID < SPAWND_MAX_QUEUED_REPLIES,
	       "children's replies can overflow a paused connection's queue");

/*
 * One unsent reply. fds (n_fds of them: none, or a pidfd and/or a pty
 * master for Started) ride on the reply as SCM_RIGHTS: the pidfd is our
 * own duplicate, closed once sent or when the reply is dropped with the
 * connection; the pty master (the last of fds when pty is set) is the
 * job's own, and goes to the closer then instead (job_release_pty()).
 */
struct outmsg {
	uint8_t *buf;
	size_t len;
	int fds[2];
	size_t n_fds;
	bool pty;
	struct outmsg *next;
};

/* One receive buffer for the whole (single-threaded) daemon; +1 byte so
 * that an oversized datagram is seen as MSG_TRUNC. */
static uint8_t recv_buf[SPAWND_MAX_MESSAGE_BYTES + 1];

static void conn_close_later(struct conn *c);

/*
 * Hand *fd to the closer, counted against uid: for the files whose last
 * release can wait, which the loop never close()s (HOSTILE 46).
 *  - A client's socket: messages still queued on it may carry fds,
 *    closing the socket drops them, and a drop that ends a file's last
 *    reference runs the file's release on this thread (a TCP socket with
 *    SO_LINGER whose peer takes no data waits out its linger time).
 *  - A pty master, even once sent: the client may have received and
 *    closed its copy by then, and the last close hangs up the slave (see
 *    job_release_pty()).
 * Skips an fd < 0, and leaves -EBADF in *fd.
 */
static void
to_closer(const struct context *ctx, uid_t uid, int *fd)
{
	closer_take(ctx->closer, uid, fd, 1);
}

static void
outmsg_free(struct conn *c, struct outmsg *m)
{
	if (m->n_fds > 0)
		c->n_out_fds--;
	if (m->pty)
		to_closer(c->cl.ctx, c->cl.cred.uid, &m->fds[--m->n_fds]);
	for (size_t i = 0; i < m->n_fds; i++)
		(void)safe_close(m->fds[i]);
	c->out_bytes -= m->len;
	free(m->buf);
	free(m);
}

static void
outmsg_free_all(struct conn *c)
{
	while (c->out_head) {
		struct outmsg *m = c->out_head;

		c->out_head = m->next;
		outmsg_free(c, m);
	}
	c->out_tail = NULL;
	c->n_out = 0;
}

/*
 * Read requests unless closing, the reply queue is over its bound, or a
 * Spawn waits for its lookups (the requests behind it wait too).
 */
static void
update_reading(struct conn *c)
{
	if (c->cl.closing)
		return;
	if (c->out_full || c->cl.pending)
		(void)event_del(c->ev_read);
	else
		(void)event_add(c->ev_read, NULL);
}

/* Pause or resume reading as the reply queue crosses its bounds. */
static void
check_queue_bound(struct conn *c)
{
	if (c->out_bytes >= SPAWND_MAX_QUEUED_BYTES / 2)
		c->out_was_big = true;
	if (!c->out_full &&
	    (c->out_bytes >= SPAWND_MAX_QUEUED_BYTES || c->n_out >= CONN_PAUSE_REPLIES)) {
		log_debug("Client pid %d: %zu bytes in %u replies unread, pausing its requests",
			  (int)c->cl.cred.pid, c->out_bytes, c->n_out);
		c->out_full = true;
		update_reading(c);
	} else if (c->out_full && c->out_bytes <= SPAWND_MAX_QUEUED_BYTES / 2 &&
		   c->n_out <= CONN_PAUSE_REPLIES / 2) {
		log_debug("Client pid %d read its replies, resuming its requests",
			  (int)c->cl.cred.pid);
		c->out_full = false;
		update_reading(c);
	}
	/* After a burst, give the memory of the queue back to the system. */
	if (c->out_was_big && !c->out_head) {
		c->out_was_big = false;
		c->cl.ctx->ev.trim(c->cl.ctx->ev.server);
	}
}

/* Try to send queued replies; arm EV_WRITE while some remain. */
static void
flush(struct conn *c)
{
	while (c->out_head) {
		struct outmsg *m = c->out_head;
		int r = wire_send(c->fd, m->buf, m->len, m->n_fds > 0 ? m->fds : NULL, m->n_fds);

		if (r == -EAGAIN)
			break;
		if (r < 0) {
			log_debug_errno(r, "Client pid %d: send failed, closing: %m",
					(int)c->cl.cred.pid);
			conn_close_later(c);
			return;
		}
		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->n_out--;
		/* The kernel holds its own reference to a sent fd: ours goes. */
		outmsg_free(c, m);
	}
	if (c->out_head)
		(void)event_add(c->ev_write, NULL);
	else
		(void)event_del(c->ev_write);
	check_queue_bound(c);
}

/*
 * Queue a reply and try to send. Takes fd and pty (-EBADF for none): they
 * ride on the reply, in that order; fd is closed on every path, pty (a pty
 * master) goes to the closer (to_closer()).
 */
static void
queue_reply2(struct conn *c, Spawnd__V1__Reply *reply, int fd, int pty)
{
	_cleanup_close_ int owned_fd = fd;
	struct outmsg *m;
	uint8_t *buf;
	size_t len;
	int r;

	if (!c || c->cl.closing) {
		if (c)
			to_closer(c->cl.ctx, c->cl.cred.uid, &pty);
		return;
	}
	reply->version = SPAWND_PROTOCOL_VERSION;
	r = wire_pack(&reply->base, &buf, &len);
	if (r < 0) {
		log_error_errno(r, "Failed to pack a reply for pid %d, closing: %m",
				(int)c->cl.cred.pid);
		to_closer(c->cl.ctx, c->cl.cred.uid, &pty);
		conn_close_later(c);
		return;
	}
	if (c->n_out >= SPAWND_MAX_QUEUED_REPLIES ||
	    ((owned_fd >= 0 || pty >= 0) && c->n_out_fds >= SPAWND_MAX_QUEUED_FDS)) {
		log_warning("Client pid %d does not read its replies, closing",
			    (int)c->cl.cred.pid);
		free(buf);
		to_closer(c->cl.ctx, c->cl.cred.uid, &pty);
		conn_close_later(c);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(buf);
		to_closer(c->cl.ctx, c->cl.cred.uid, &pty);
		conn_close_later(c);
		return;
	}
	m->buf = buf;
	m->len = len;
	if (owned_fd >= 0)
		m->fds[m->n_fds++] = TAKE_FD(owned_fd);
	if (pty >= 0) {
		m->fds[m->n_fds++] = TAKE_FD(pty);
		m->pty = true;
	}
	if (m->n_fds > 0)
		c->n_out_fds++;
	if (c->out_tail)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	c->n_out++;
	c->out_bytes += len;
	flush(c);
}

static void
queue_reply(struct conn *c, Spawnd__V1__Reply *reply, int fd)
{
	queue_reply2(c, reply, fd, -EBADF);
}

/* Started; takes *pty_master (see struct reply). */
static void
reply_started(struct conn *c, uint64_t id, pid_t pid, int pidfd, int *pty_master)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Started started = SPAWND__V1__STARTED__INIT;
	int fd = -EBADF, master = pty_master ? TAKE_FD(*pty_master) : -EBADF;

	if (pidfd >= 0) {
		/*
		 * Our own duplicate rides in the queue: the child's pidfd is
		 * closed when it is reaped, which may happen before the reply
		 * leaves. The duplicate shares the open file description; the
		 * daemon only polls it and sends signals through it, neither
		 * of which a client can disturb via its file status flags.
		 */
		fd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			log_warning_errno(errno,
					  "Failed to duplicate the pidfd of child %d for client "
					  "pid %d, sending Started without it: %m",
					  (int)pid, (int)c->cl.cred.pid);
	}
	started.pid = pid;
	if (fd >= 0) {
		started.has_pidfd = true;
		started.pidfd = true;
	}
	if (master >= 0) {
		started.has_pty_master = true;
		started.pty_master = true;
	}
	reply.id = id;
	reply.body_case = SPAWND__V1__REPLY__BODY_STARTED;
	reply.started = &started;
	queue_reply2(c, &reply, fd, master);
}

/*
 * detail, or its first SPAWND_MAX_DETAIL_BYTES - 3 bytes (never half a
 * UTF-8 character) and "...", in buf. A detail may echo a path or name of
 * up to SPAWND_MAX_STRING_BYTES that the client sent (HOSTILE.md 45).
 */
static const char *
detail_cut(const char *detail, char *buf, size_t size)
{
	size_t len = strlen(detail), keep;

	if (len < size)
		return detail;
	keep = size - 4;
	/* Back up over continuation bytes (10xxxxxx) to a character start. */
	while (keep > 0 && ((unsigned char)detail[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(buf, detail, keep);
	memcpy(buf + keep, "...", 4);
	return buf;
}

static void
reply_failed(struct conn *c, uint64_t id, int stage, int error, const char *detail)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Failed failed = SPAWND__V1__FAILED__INIT;
	char cut[SPAWND_MAX_DETAIL_BYTES + 1];

	failed.stage = (Spawnd__V1__Stage)stage;
	failed.errnum = error < 0 ? -error : error;
	failed.detail = (char *)detail_cut(detail ? detail : "", cut, sizeof(cut));
	reply.id = id;
	reply.body_case = SPAWND__V1__REPLY__BODY_FAILED;
	reply.failed = &failed;
	queue_reply(c, &reply, -EBADF);
}

static uint64_t
timeval_usec(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

static void
reply_exited(struct conn *c, const struct reply *r)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Exited exited = SPAWND__V1__EXITED__INIT;
	const struct rusage *ru = r->ru;

	exited.pid = r->pid;
	if (WIFEXITED(r->status)) {
		exited.has_exit_code = true;
		exited.exit_code = WEXITSTATUS(r->status);
	} else if (WIFSIGNALED(r->status)) {
		exited.has_signal = true;
		exited.signal = WTERMSIG(r->status);
		exited.has_core_dumped = true;
		exited.core_dumped = WCOREDUMP(r->status) != 0;
	}
	exited.has_user_cpu_us = exited.has_sys_cpu_us = exited.has_max_rss_kb = true;
	exited.user_cpu_us = timeval_usec(&ru->ru_utime);
	exited.sys_cpu_us = timeval_usec(&ru->ru_stime);
	exited.max_rss_kb = ru->ru_maxrss > 0 ? (uint64_t)ru->ru_maxrss : 0;
	exited.has_wall_us = true;
	exited.wall_us = r->wall_usec;
	exited.has_timed_out = true;
	exited.timed_out = r->timed_out;
	reply.id = r->id;
	reply.body_case = SPAWND__V1__REPLY__BODY_EXITED;
	reply.exited = &exited;
	queue_reply(c, &reply, -EBADF);
}

void
conn_reply(struct client *cl, const struct reply *r)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__SignalSent sent = SPAWND__V1__SIGNAL_SENT__INIT;
	struct conn *c = (struct conn *)cl; /* cl is its first member */

	if (!c || c->cl.closing)
		return;
	switch (r->kind) {
	case REPLY_STARTED:
		reply_started(c, r->id, r->pid, r->pidfd, r->pty_master);
		break;
	case REPLY_FAILED:
		reply_failed(c, r->id, r->stage, r->error, r->detail);
		break;
	case REPLY_EXITED:
		reply_exited(c, r);
		break;
	case REPLY_SIGNAL_SENT:
		reply.id = r->id;
		reply.body_case = SPAWND__V1__REPLY__BODY_SIGNAL_SENT;
		reply.signal_sent = &sent;
		queue_reply(c, &reply, -EBADF);
		break;
	}
}

/*
 * HOSTILE 43: the authority of a connection must not travel with the
 * socket. SO_PEERCRED names whoever connected; a connected socket can then
 * be handed to anyone (SCM_RIGHTS, inheritance, pidfd_getfd from a child
 * it was passed to). So every message must also carry the credentials of
 * the process that sent it, attached (or checked) by the kernel, and
 * they must be the connection's uid and gid. The pid may differ: a forked
 * child of the client shares the socket legitimately, and the pid does not
 * enter any decision. Pid 0 means the kernel had none to attach (a message
 * queued before SO_PASSCRED was set, see server.c): refused, fail closed.
 * The sender's supplementary groups are not compared; group rules use the
 * connecting process's (SO_PEERGROUPS), which a process of the same uid
 * and gid could act through anyway (ptrace does not compare them).
 *
 * Returns true when the sender is the peer. Otherwise replies
 * Failed{PROTOCOL, EPERM} with id 0, audits it and drops the connection:
 * a socket in the wrong hands is not one to keep serving.
 */
static bool
check_sender(struct conn *c, const struct ucred *sender)
{
	struct audit_subject subj = {
		.client_pid = c->cl.cred.pid,
		.client_uid = c->cl.cred.uid,
	};
	char detail[192];

	if (sender->pid > 0 && sender->uid == c->cl.cred.uid && sender->gid == c->cl.cred.gid)
		return true;
	if (sender->pid <= 0)
		(void)snprintf(detail, sizeof(detail), "message without sender credentials");
	else
		(void)snprintf(detail, sizeof(detail),
			       "message sent by uid %u gid %u pid %d on a connection of uid %u "
			       "gid %u",
			       (unsigned)sender->uid, (unsigned)sender->gid, (int)sender->pid,
			       (unsigned)c->cl.cred.uid, (unsigned)c->cl.cred.gid);
	log_warning("Client uid %u pid %d: %s, dropping the connection", (unsigned)c->cl.cred.uid,
		    (int)c->cl.cred.pid, detail);
	audit_failed(&subj, SPAWND__V1__STAGE__STAGE_PROTOCOL, EPERM, detail);
	reply_failed(c, 0, SPAWND__V1__STAGE__STAGE_PROTOCOL, EPERM,
		     sender->pid > 0 ? "message sent by another uid or gid than the connection's"
				     : "message without sender credentials");
	conn_close_later(c);
	return false;
}

/* Messages discard_input() reads at most: the rest goes with the socket. */
#define DISCARD_MAX 64

/*
 * Closing a socket with unread data makes the peer's next read fail with
 * ECONNRESET, ahead of the reason we just queued. So stop the client from
 * sending (SHUT_RD: its sends now fail with EPIPE) and read what it sent
 * already, as long as no fds ride on it: each message is first peeked at
 * with room for the credentials only, so a message with fds installs none
 * and says so (MSG_CTRUNC), and is left for the closer with the socket
 * (to_closer()). Reading it here would install them, or make the kernel
 * drop them on this thread.
 */
static void
discard_input(struct conn *c)
{
	(void)shutdown(c->fd, SHUT_RD);
	for (int i = 0; i < DISCARD_MAX; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred))];
		} control;
		char byte;
		struct iovec iov = {.iov_base = &byte, .iov_len = sizeof(byte)};
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(c->fd, &mh, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0 || (mh.msg_flags & MSG_CTRUNC))
			return;
		mh.msg_controllen = sizeof(control.buf);
		/* Read by us alone, and nothing more can come (SHUT_RD): the same message. */
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT);
		if (n <= 0 || (mh.msg_flags & MSG_CTRUNC))
			return;
	}
}

/*
 * Whether the closer can take one more message's fds for this client's
 * uid. If not, the uid has SPAWND_MAX_CLOSING_FDS_PER_UID - SPAWND_MAX_FDS
 * fds whose close() has not returned (HOSTILE.md 46: a FUSE server that
 * never answers FLUSH): the connection is dropped unread, and what it sent
 * is discarded by the kernel, which drops fds in flight without a FLUSH.
 */
static bool
closer_has_room(struct conn *c)
{
	struct closer *cl = c->cl.ctx->closer;

	if (closer_may_receive(cl, c->cl.cred.uid))
		return true;
	(void)closer_collect(cl);
	if (closer_may_receive(cl, c->cl.cred.uid))
		return true;
	log_warning("Client uid %u pid %d: %u of this user's fds are still being closed "
		    "(a file system that does not answer?), dropping the connection",
		    (unsigned)c->cl.cred.uid, (int)c->cl.cred.pid,
		    closer_closing_of(cl, c->cl.cred.uid));
	reply_failed(c, 0, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
		     "too many of this user's fds are still being closed");
	discard_input(c);
	conn_close_later(c);
	return false;
}

static void on_hangup_check(evutil_socket_t fd, short what, void *userdata);

/*
 * A Spawn waits for its lookups: read nothing more, but notice a hangup.
 * The read event stays armed: a client that waits for its reply sends
 * nothing meanwhile, and then pausing and resuming would cost two
 * epoll_ctl() per spawn for nothing. on_readable() pauses reading the
 * moment something does arrive.
 */
static void
lookup_begin(struct conn *c)
{
	struct timeval check = {.tv_usec = CONN_HANGUP_CHECK_MSEC * 1000};

	(void)event_add(c->ev_hangup, &check);
}

static void
on_readable(evutil_socket_t fd, short what, void *userdata)
{
	struct conn *c = userdata;

	(void)what;
	/* A Spawn that waits for its lookups holds back the requests behind it. */
	if (c->cl.pending) {
		update_reading(c);
		return;
	}
	for (int i = 0; i < CONN_BURST && !c->cl.closing && !c->out_full && !c->cl.pending; i++) {
		int fds[WIRE_RECV_MAX_FDS];
		size_t len = 0, n_fds = 0;
		struct ucred sender;
		int r;

		if (!closer_has_room(c))
			return;
		r = wire_recv_with_creds(fd, recv_buf, sizeof(recv_buf), &len, fds, &n_fds,
					 &sender);
		if (r == -EAGAIN)
			return;
		if (r == 0) {
			log_debug("Client pid %d disconnected", (int)c->cl.cred.pid);
			conn_close_later(c);
			return;
		}
		if (r == -ECONNRESET) {
			/* It closed with replies unread: a disconnect like any other. */
			log_debug("Client pid %d disconnected with unread replies",
				  (int)c->cl.cred.pid);
			conn_close_later(c);
			return;
		}
		if (r < 0) {
			/* Framing error: the fds that came go to the closer. */
			closer_take(c->cl.ctx->closer, c->cl.cred.uid, fds, n_fds);
			log_warning_errno(r,
					  "Client uid %u pid %d sent a malformed datagram, "
					  "dropping the connection: %m",
					  (unsigned)c->cl.cred.uid, (int)c->cl.cred.pid);
			reply_failed(c, 0, SPAWND__V1__STAGE__STAGE_PROTOCOL, -r,
				     "malformed datagram");
			conn_close_later(c);
			return;
		}
		if (!check_sender(c, &sender)) {
			closer_take(c->cl.ctx->closer, c->cl.cred.uid, fds, n_fds);
			return;
		}
		/* dispatch owns the fds from here and hands them to the closer. */
		switch (dispatch_message(&c->cl, recv_buf, len, fds, n_fds)) {
		case DISPATCH_DONE:
			break;
		case DISPATCH_PENDING:
			lookup_begin(c);
			return;
		case DISPATCH_DROP:
			conn_close_later(c);
			return;
		}
	}
}

static void
on_writable(evutil_socket_t fd, short what, void *userdata)
{
	(void)fd;
	(void)what;
	flush(userdata);
}

static void
on_close(evutil_socket_t fd, short what, void *userdata)
{
	(void)fd;
	(void)what;
	(void)conn_free(userdata);
}

static void
conn_close_later(struct conn *c)
{
	if (c->cl.closing)
		return;
	c->cl.closing = true;
	(void)event_del(c->ev_read);
	(void)event_del(c->ev_write);
	(void)event_del(c->ev_hangup);
	event_active(c->ev_close, EV_TIMEOUT, 0);
}

/*
 * While a Spawn waits for its lookups the connection is not read, so its
 * EOF would go unnoticed until the lookup ends, and the request's fds
 * would stay open that long (until the deadline). So a timer asks
 * poll(POLLRDHUP), which tells a hangup apart even with requests still
 * queued, every CONN_HANGUP_CHECK_MSEC while a lookup is pending (that is
 * rarely: most take well under a millisecond). An fd event does not do:
 * level-triggered it would fire for every queued request we do not read,
 * edge-triggered it would turn the fd's write event edge-triggered too
 * (libevent keeps one epoll registration per fd), and libevent's epoll
 * backend reports a full hangup (EPOLLHUP) as EV_READ|EV_WRITE, never as
 * EV_CLOSED.
 */
static void
on_hangup_check(evutil_socket_t fd, short what, void *userdata)
{
	struct conn *c = userdata;
	struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};

	(void)fd;
	(void)what;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		log_debug("Client pid %d disconnected while its lookup was pending",
			  (int)c->cl.cred.pid);
		conn_close_later(c);
	}
}

void
conn_resume(struct client *cl)
{
	struct conn *c = (struct conn *)cl;

	(void)event_del(c->ev_hangup);
	/* Level-triggered: requests that queued up meanwhile wake us at once. */
	update_reading(c);
}

/* Over a connection cap: say why before closing, best effort (non-blocking). */
static void
refuse_connection(struct conn *c)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Failed failed = SPAWND__V1__FAILED__INIT;
	uint8_t *buf;
	size_t len;

	failed.stage = SPAWND__V1__STAGE__STAGE_LIMIT;
	failed.errnum = EAGAIN;
	failed.detail = (char *)"too many connections";
	reply.version = SPAWND_PROTOCOL_VERSION;
	reply.body_case = SPAWND__V1__REPLY__BODY_FAILED;
	reply.failed = &failed;
	if (wire_pack(&reply.base, &buf, &len) == 0) {
		(void)wire_send(c->fd, buf, len, NULL, 0);
		free(buf);
	}
	discard_input(c);
	log_warning("Refusing a connection from uid %u pid %d: connection cap reached",
		    (unsigned)c->cl.cred.uid, (int)c->cl.cred.pid);
}

/* SO_PEERCRED + SO_PEERGROUPS: the only source of the client's identity. */
static int
read_peer(struct conn *c)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t *groups = NULL;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	if (len != sizeof(uc) || uc.pid <= 0)
		return -EPROTO;

	/* SO_PEERGROUPS reports ERANGE with the needed size first. */
	len = 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) < 0 && errno != ERANGE)
		return -errno;
	for (int attempt = 0; attempt < 3 && len > 0; attempt++) {
		gid_t *g = realloc(groups, len);

		if (!g) {
			free(groups);
			return -ENOMEM;
		}
		groups = g;
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			break;
		if (errno != ERANGE) {
			free(groups);
			return -errno;
		}
	}

	c->cl.cred.pid = uc.pid;
	c->cl.cred.uid = uc.uid;
	c->cl.cred.gid = uc.gid;
	c->groups = groups;
	c->cl.cred.groups = groups;
	c->cl.cred.n_groups = groups ? len / sizeof(gid_t) : 0;
	return 0;
}

int
conn_new(const struct context *ctx, int fd, struct conn **ret)
{
	struct conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		to_closer(ctx, (uid_t)-1, &fd);
		return -ENOMEM;
	}
	c->cl.ctx = ctx;
	c->cl.cred.uid = (uid_t)-1; /* until read_peer() */
	c->fd = fd;
	r = read_peer(c);
	if (r < 0)
		goto fail;
	/*
	 * Credentials on every message (check_sender()). The listening socket
	 * has SO_PASSCRED already (server.c), which the kernel copies to the
	 * connection (at connect() since Linux 6.16, at accept() before); set
	 * it here too so that a listener without it still gets credentials
	 * for whatever is sent from now on.
	 */
	{
		int one = 1;

		if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
			r = -errno;
			goto fail;
		}
	}

	r = usage_conn_take(c->cl.cred.uid);
	if (r == -EAGAIN)
		refuse_connection(c);
	if (r < 0)
		goto fail;

	/* No NSS here: the user name comes with the first Spawn (resolver.c). */
	c->ev_read = event_new(ctx->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->ev_write = event_new(ctx->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
	c->ev_close = evtimer_new(ctx->base, on_close, c);
	c->ev_hangup = event_new(ctx->base, -1, EV_PERSIST, on_hangup_check, c);
	if (!c->ev_read || !c->ev_write || !c->ev_close || !c->ev_hangup ||
	    event_add(c->ev_read, NULL) < 0) {
		usage_conn_release(c->cl.cred.uid);
		r = -ENOMEM;
		goto fail;
	}

	log_debug("Connection from uid %u pid %d", (unsigned)c->cl.cred.uid, (int)c->cl.cred.pid);
	*ret = c;
	return 0;

fail:
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_close)
		event_free(c->ev_close);
	if (c->ev_hangup)
		event_free(c->ev_hangup);
	free(c->cl.user_name);
	free(c->groups);
	to_closer(ctx, c->cl.cred.uid, &c->fd);
	free(c);
	return r;
}

struct conn *
conn_free(struct conn *c)
{
	const struct events *ev;

	if (!c)
		return NULL;
	ev = &c->cl.ctx->ev;
	/* A pending Spawn is dropped with its fds; children follow their on_disconnect. */
	dispatch_conn_gone(&c->cl);
	usage_conn_release(c->cl.cred.uid);
	if (c->out_was_big)
		ev->trim(ev->server);
	outmsg_free_all(c);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_close);
	event_free(c->ev_hangup);
	to_closer(c->cl.ctx, c->cl.cred.uid, &c->fd);
	free(c->cl.user_name);
	free(c->groups);
	ev->conn_gone(ev->server, c);
	free(c);
	return NULL;
}
