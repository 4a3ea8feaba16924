/* SPDX-License-Identifier: MIT */
/*
 * The daemon's top: the listening socket (evconnlistener with EMFILE
 * back-off), the live connections, signals, the policy, and the context
 * (context.h) that the layers below read. Opaque: only server.c writes it.
 */
#ifndef SPAWND_SERVER_H
#define SPAWND_SERVER_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "policy.h"
#include "spawn.h"
#include "wire.h"

struct event_base;
struct closer;

/*
 * Fds that new connections leave free below RLIMIT_NOFILE for the clients
 * already connected: one request with the most fds (SPAWND_MAX_FDS), its
 * errpipe, the pidfd and the reply's copy of it, with room to spare.
 */
#define SERVER_FD_RESERVE ((int)SPAWND_MAX_FDS + 16)
/*
 * The RLIMIT_NOFILE the daemon needs at the least: the reserve, its own
 * fds (sockets, pipes, the closer's) and room for a few dozen connections.
 * spawnd raises its soft limit to the hard one and refuses to start below
 * this (HOSTILE.md 49).
 */
#define SERVER_MIN_NOFILE 128

struct server;

/*
 * Set up the server on an already listening SOCK_SEQPACKET fd (taken).
 * policy is taken. Returns 0 or -errno.
 */
int server_new(struct event_base *base, int listen_fd, struct policy *policy,
	       const char *config_path, const struct spawn_env *env, enum spawn_engine engine,
	       struct server **ret);
struct server *server_free(struct server *s);

/* --exit-idle (0 = never) and --lookup-timeout, before the loop runs. */
void server_set_timeouts(struct server *s, unsigned exit_idle_sec, unsigned lookup_timeout_sec);
/* The daemon's exit code once the loop is done. */
int server_exit_code(const struct server *s);

/* Stop accepting, let every connection go (children follow on_disconnect),
 * and leave the loop once no child that is being terminated is left. */
void server_stop(struct server *s);

/* With exit_idle_sec set: check once a second whether the daemon has had no
 * connection and no child for that long, and stop if so. */
int server_start_idle_timer(struct server *s);

/*
 * Under a service manager (NOTIFY_SOCKET set): send STATUS= (connections,
 * live children, spawns so far) when it changed, and WATCHDOG=1 at half the
 * WatchdogSec= interval. Without NOTIFY_SOCKET nothing is scheduled.
 */
int server_start_notify(struct server *s);

/*
 * Use the closer (closer.h) for every client fd: watch for completed
 * closes and for the death of its helper (then the daemon stops with exit
 * code 1, as it can no longer get rid of client fds safely).
 */
int server_attach_closer(struct server *s, struct closer *cl);

/* Reload the policy from config_path; the old one stays on any error. */
int server_reload(struct server *s);

#endif
