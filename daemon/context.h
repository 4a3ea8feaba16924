/* SPDX-License-Identifier: MIT */
/*
 * What the layers of the daemon share. Data flows one way, from the socket
 * down (server.c -> conn.c -> dispatch.c -> job.c/reaper.c); what the lower
 * layers need of the daemon is a read-only struct context that server.c
 * owns, and what they report upward goes through struct events, a few
 * callbacks that server.c and conn.c fill in. No lower layer calls a
 * function of a layer above it.
 */
#ifndef SPAWND_CONTEXT_H
#define SPAWND_CONTEXT_H

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <stdbool.h>
#include <stdint.h>

#include "spawn.h"

struct event_base;
struct closer;
struct policy;
struct reaper;
struct client;
struct conn;

/* One reply to a client. */
enum reply_kind {
	REPLY_STARTED,
	REPLY_FAILED,
	REPLY_EXITED,
	REPLY_SIGNAL_SENT,
};

struct reply {
	enum reply_kind kind;
	uint64_t id;
	pid_t pid;
	/* Started: the pidfd is sent as a duplicate (>= 0), the caller keeps its own. */
	int pidfd;
	/*
	 * Started: the pty master (NULL or < 0: none). The reply takes it
	 * (*pty_master becomes -EBADF) unless the client is gone; no duplicate
	 * is made, so that the only pty masters in the fd table are the ones
	 * pty_open() made (closer_settle(): all masters look alike to statx).
	 */
	int *pty_master;
	/* Failed */
	int stage, error;
	const char *detail;
	/* Exited */
	int status;
	const struct rusage *ru;
	uint64_t wall_usec;
	bool timed_out;
};

/* Reports upward: conn.c and server.c fill them in. */
struct events {
	/* A reply for c; ignored when c is NULL (the client is gone) or closing. */
	void (*reply)(struct client *c, const struct reply *r);
	/* c's pending Spawn is over (dispatch.c): read its requests again. */
	void (*resume)(struct client *c);
	/* A child was reaped: a stopping daemon may exit. */
	void (*child_gone)(void *server);
	/* c closed and is about to be freed: fds were given back. */
	void (*conn_gone)(void *server, struct conn *c);
	/* Give freed heap memory back to the system soon. */
	void (*trim)(void *server);
	void *server;
};

/* Read-only below server.c. */
struct context {
	struct event_base *base;
	struct closer *closer;
	struct reaper *reaper;
	struct policy *policy; /* replaced on reload */
	struct spawn_env spawn_env;
	enum spawn_engine engine;
	unsigned lookup_timeout_sec; /* deadline of a Spawn's lookups (--lookup-timeout) */
	bool stopping;
	struct sockaddr_un listen_addr; /* getsockname() of the listener */
	socklen_t listen_addr_len;	/* 0 when it has no name */
	struct events ev;
};

#endif
