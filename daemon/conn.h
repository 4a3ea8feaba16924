/* SPDX-License-Identifier: MIT */
/*
 * One client connection: a plain `struct event` + recvmsg (never a
 * bufferevent: each datagram is a whole message with its fds), the peer's
 * kernel-reported credentials, its children, and a queue of replies that
 * could not be sent yet (the loop never blocks on a client).
 */
#ifndef SPAWND_CONN_H
#define SPAWND_CONN_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct server;
struct child;
struct event;
struct outmsg;
struct pending_spawn;

struct conn {
	struct server *server;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_close; /* deferred free, so no callback frees its own caller */

	struct peer_cred cred; /* SO_PEERCRED + SO_PEERGROUPS at accept */
	gid_t *groups;
	/* The client's user name (for SPAWND_USER): looked up by a resolver
	 * thread with the connection's first Spawn, NULL until then. */
	char *user_name;

	/* A Spawn waiting for its resolver job (dispatch.c); while there is
	 * one, nothing more is read from the connection. */
	struct pending_spawn *pending;
	struct event *ev_deadline; /* the lookup's deadline */
	struct event *ev_hangup;   /* while pending: a timer that notices a client that left */

	struct child *children; /* this connection's live children */

	struct outmsg *out_head, *out_tail;
	unsigned n_out;
	unsigned n_out_fds; /* queued replies that hold an fd (SPAWND_MAX_QUEUED_FDS) */
	size_t out_bytes;   /* bytes of the queued replies (SPAWND_MAX_QUEUED_BYTES) */
	bool out_full;	    /* reading paused until the client reads its replies */
	bool out_was_big;   /* the queue reached the bound: give memory back once it drains */

	bool closing;
	struct conn *prev, *next;
};

/* Take fd (a freshly accepted client); read its credentials. */
int conn_new(struct server *s, int fd, struct conn **ret);
/* Close the connection; its children follow their on_disconnect. NULL-safe. */
struct conn *conn_free(struct conn *c);
/* Mark for closing and free from a fresh loop iteration. */
void conn_close_later(struct conn *c);

/*
 * ps now waits for a resolver thread: stop reading c's requests (they are
 * handled in order), arm the lookup deadline (the server's
 * lookup_timeout_sec; dispatch_lookup_timeout() when it passes), and
 * watch for the client leaving (then the connection closes and
 * dispatch_lookup_cancel() drops ps).
 */
void conn_lookup_begin(struct conn *c, struct pending_spawn *ps);
/* The pending Spawn is over: disarm, forget it, read requests again. */
void conn_lookup_end(struct conn *c);

/*
 * Replies. A NULL conn (client gone) is ignored. Replies go out in the order
 * they are made; one that does not fit the client's queue waits in ours.
 *
 * conn_reply_started: pidfd >= 0 sends a close-on-exec duplicate of it with
 * the reply (want_pidfd); the caller keeps its own pidfd. If no duplicate
 * can be made, Started goes without one and says so (Started.pidfd unset).
 */
void conn_reply_started(struct conn *c, uint64_t id, pid_t pid, int pidfd);
/*
 * The same, plus a close-on-exec duplicate of pty_master (>= 0: the
 * child's terminal, Started.pty_master) after the pidfd; the caller keeps
 * and closes its own pty_master.
 */
void conn_reply_started_pty(struct conn *c, uint64_t id, pid_t pid, int pidfd, int pty_master);
void conn_reply_failed(struct conn *c, uint64_t id, int stage, int error, const char *detail);
void conn_reply_exited(struct conn *c, uint64_t id, pid_t pid, int status, const struct rusage *ru,
		       uint64_t wall_usec, bool timed_out);
void conn_reply_signal_sent(struct conn *c, uint64_t id);

#endif
