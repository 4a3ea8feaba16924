/* SPDX-License-Identifier: MIT */
/*
 * One client connection: a plain `struct event` + recvmsg (never a
 * bufferevent: each datagram is a whole message with its fds), the peer's
 * kernel-reported credentials, and a queue of replies that could not be
 * sent yet (the loop never blocks on a client). Requests go down to
 * dispatch.c; replies come up through conn_reply() (struct events).
 */
#ifndef SPAWND_CONN_H
#define SPAWND_CONN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "dispatch.h"

struct context;
struct event;
struct outmsg;
struct reply;

struct conn {
	struct client cl; /* what dispatch.c sees of it */
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_close;	 /* deferred free, so no callback frees its own caller */
	struct event *ev_hangup; /* while a Spawn is pending: notices a client that left */
	gid_t *groups;

	struct outmsg *out_head, *out_tail;
	unsigned n_out;
	unsigned n_out_fds; /* queued replies that hold an fd (SPAWND_MAX_QUEUED_FDS) */
	size_t out_bytes;   /* bytes of the queued replies (SPAWND_MAX_QUEUED_BYTES) */
	bool out_full;	    /* reading paused until the client reads its replies */
	bool out_was_big;   /* the queue reached the bound: give memory back once it drains */

	struct conn *prev, *next; /* server.c's list */
};

/* Take fd (a freshly accepted client); read its credentials. -EAGAIN over a cap. */
int conn_new(const struct context *ctx, int fd, struct conn **ret);
/* Close the connection; its children follow their on_disconnect. NULL-safe. */
struct conn *conn_free(struct conn *c);

/*
 * struct events' reply: queue r for c (NULL, or closing: ignored). Replies
 * go out in the order they are made; one that does not fit the client's
 * queue waits in ours. Started carries a close-on-exec duplicate of the
 * pidfd (want_pidfd; the caller keeps its own: if none can be made,
 * Started goes without it and says so) and the pty master itself, which
 * it takes (r->pty_master); once sent or dropped, the daemon's copy of the
 * master goes to the closer, never to close().
 */
void conn_reply(struct client *c, const struct reply *r);
/* struct events' resume: the pending Spawn is over, read requests again. */
void conn_resume(struct client *c);

#endif
