/* SPDX-License-Identifier: MIT */
/*
 * The daemon's state: the listening socket (evconnlistener with EMFILE
 * back-off), the live connections, per-uid usage for the caps, the policy
 * and the settings children are started with.
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
struct evconnlistener;
struct closer;
struct event;
struct conn;
struct reaper;

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

struct server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct sockaddr_un listen_addr; /* getsockname() of the listener */
	socklen_t listen_addr_len;	/* 0 when it has no name */
	struct event *accept_retry;	/* re-enables the listener after EMFILE */
	bool listener_paused;
	struct closer *closer; /* not owned */
	struct event *closer_done, *closer_died;
	struct event *trim_timer; /* malloc_trim() after a burst */
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *stop_deadline;
	struct event *idle_check;
	struct event *notify_tick;   /* STATUS= and WATCHDOG=1, under systemd only */
	struct event *resolved;	     /* the resolver's eventfd: finished lookups */
	unsigned lookup_timeout_sec; /* deadline of a Spawn's lookups (--lookup-timeout) */
	bool watchdog;
	char last_status[128];
	unsigned exit_idle_sec; /* 0 = never */
	struct timespec last_busy;

	char *config_path;
	struct policy *policy;
	struct spawn_env spawn_env;
	enum spawn_engine engine;

	struct conn *conns;
	struct reaper *reaper;

	bool stopping;
	int exit_code;
};

/*
 * Set up the server on an already listening SOCK_SEQPACKET fd (taken).
 * policy is taken. Returns 0 or -errno.
 */
int server_new(struct event_base *base, int listen_fd, struct policy *policy,
	       const char *config_path, const struct spawn_env *env, enum spawn_engine engine,
	       struct server **ret);
struct server *server_free(struct server *s);

/*
 * Whether fd is a connection to this daemon: an AF_UNIX socket whose peer
 * is our listening socket's address (also true under socket activation,
 * where systemd called listen()), or whose peer credentials are our own
 * pid. Such an fd is never handed to a child (HOSTILE 43). Only
 * getpeername()/getsockopt() on the fd: nothing that can block.
 */
bool server_fd_is_connection(const struct server *s, int fd);

/* Stop accepting, let every connection go (children follow on_disconnect),
 * and leave the loop once no child that is being terminated is left. */
void server_stop(struct server *s);
/* Called when state changed in a way that may let a stopping server exit. */
void server_maybe_exit(struct server *s);

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

/* Fds were given back (a connection closed, closes completed): resume a paused listener now. */
void server_fds_released(struct server *s);

/* Give freed heap memory back to the system soon (once per burst). */
void server_trim_memory(struct server *s);

/* Reload the policy from config_path; the old one stays on any error. */
int server_reload(struct server *s);

#endif
