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

#include <stddef.h>
#include <stdint.h>

struct conn;

struct resolve_job;

/*
 * Takes the fds: they are closed before this returns, or, for a Spawn that
 * waits for its lookups (conn_lookup_begin()), when that request ends.
 */
void dispatch_message(struct conn *c, const uint8_t *buf, size_t len, int *fds, size_t n_fds);

/* A resolver job is back (server.c): carry on with its request, or drop an abandoned job. */
void dispatch_lookup_done(struct resolve_job *job);

/* c's pending Spawn ran out of time: Failed{PREPARE, ETIMEDOUT}; its job is abandoned. */
void dispatch_lookup_timeout(struct conn *c, unsigned timeout_sec);

/* c goes away (disconnect, daemon stop) with a Spawn pending: drop it, fds included. */
void dispatch_lookup_cancel(struct conn *c);

#endif
