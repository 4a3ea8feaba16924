/* SPDX-License-Identifier: MIT */
/*
 * Carry out one request of a connection: decode -> resolve -> target user
 * -> policy -> environment -> spawn, or a signal. Every refusal gets a
 * Failed reply and an audit line; every received fd is closed (or handed
 * to the child) on every path.
 */
#ifndef SPAWND_DISPATCH_H
#define SPAWND_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* Takes the fds: all of them are closed before this returns. */
void dispatch_message(struct conn *c, const uint8_t *buf, size_t len, int *fds, size_t n_fds);

#endif
