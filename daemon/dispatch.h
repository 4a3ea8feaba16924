/* SPDX-License-Identifier: MIT */
/*
 * Carry out one request of a connection: decode -> resolve -> (resolver
 * thread: target user, client name, canonical path) -> policy ->
 * environment -> spawn, or a signal. Every refusal gets a Failed reply and
 * an audit line; every received fd is closed (or handed to the child) on
 * every path.
 */
#ifndef SPAWND_DISPATCH_H
#define SPAWND_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct context;
struct job;
struct resolve_job;

/*
 * The part of a connection the pipeline reads and writes (conn.c embeds
 * it); replies to it go up through ctx->ev.reply.
 */
struct client {
	const struct context *ctx;
	struct peer_cred cred; /* SO_PEERCRED + SO_PEERGROUPS at accept */
	/* The client's user name (for SPAWND_USER): looked up by a resolver
	 * thread with the connection's first Spawn, NULL until then. */
	char *user_name;
	/* A Spawn waiting for its lookups; while there is one, nothing more
	 * is read from the connection. */
	struct job *pending;
	struct job *children; /* this connection's live children */
	bool closing;	      /* on its way out: starts nothing */
};

enum dispatch_result {
	DISPATCH_DONE,
	DISPATCH_PENDING, /* a Spawn waits for its lookups (c->pending): read nothing more
			   * until ctx->ev.resume */
	DISPATCH_DROP,	  /* not a request: drop the connection (Failed{PROTOCOL} is queued) */
};

/* Takes the fds: they go to the closer, or to the request's job. */
enum dispatch_result dispatch_message(struct client *c, const uint8_t *buf, size_t len, int *fds,
				      size_t n_fds);

/* A resolver job is back (server.c): carry on with its request, or drop an abandoned job. */
void dispatch_lookup_done(struct resolve_job *lookup);

/* c goes away (disconnect, daemon stop): drop a pending Spawn, fds included;
 * its children follow their on_disconnect. */
void dispatch_conn_gone(struct client *c);

#endif
