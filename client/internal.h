/* SPDX-License-Identifier: MIT */
/*
 * Private state of libspawnd, shared by client.c (connection, send queue,
 * reply dispatch, results), options.c (the request builder) and spawn.c
 * (spawn and signal requests, the synchronous wrappers). Nothing here is
 * exported: the version script (libspawnd.sym) lists every public symbol.
 */
#ifndef SPAWND_CLIENT_INTERNAL_H
#define SPAWND_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spawnd/spawnd.h"

struct client_fd_map {
	int child_fd; /* the fd number in the child */
	int fd;	      /* the caller's fd, not owned */
};

/* A request under construction. Every string is a private copy. */
struct spawnd_options {
	char **argv; /* NULL-terminated, NULL when unset */
	size_t n_argv;
	char *user;  /* NULL: send "root" */
	char *group; /* NULL: the target's primary group */
	char **groups;
	size_t n_groups;
	char *cwd; /* NULL: not sent, the daemon uses "/" */
	bool has_umask;
	unsigned umask;
	struct client_fd_map *fds;
	size_t n_fds;
	char **env_inherit;
	size_t n_env_inherit;
	char **env_set;
	size_t n_env_set;
	spawnd_on_disconnect on_disconnect; /* TERMINATE is not sent: the default */
	uint64_t timeout_ms;		    /* 0: none */
	bool has_kill_grace;		    /* else the daemon's default */
	uint64_t kill_grace_ms;
	bool want_pidfd;
	bool pty; /* ask the daemon for a terminal of this size */
	unsigned short pty_rows, pty_cols, pty_xpixel, pty_ypixel;
	/* The program when not argv[0] (sent as exec_path), or NULL. */
	char *exec_path;
	/* No supplementary groups at all (sent as no_groups; groups is empty). */
	bool no_groups;
};

/* One reply about one spawn, as the public getters see it. */
struct spawnd_result {
	uint64_t id;
	spawnd_state state;
	pid_t pid;
	spawnd_stage stage;
	int errnum;   /* positive */
	char *detail; /* NULL reads as "" */
	int exit_code;
	int signo;
	bool core_dumped;
	bool timed_out;
	uint64_t user_cpu_usec;
	uint64_t sys_cpu_usec;
	uint64_t max_rss_kb;
	uint64_t wall_usec;
	/*
	 * The child's pidfd (want_pidfd), owned by this result, or -EBADF.
	 * Every result is created with -EBADF here: 0 would be a valid fd.
	 */
	int pidfd;
	/* The master of the child's terminal (pty), owned like pidfd, or -EBADF. */
	int pty_master;
};

/*
 * A spawn the daemon has not finished with, or whose final result waits
 * to be collected by a synchronous call (spawnd_run(), spawnd_start(),
 * spawnd_wait_exit(), or the 0.1 spawnd_spawn()/spawnd_wait()).
 *
 * Lifetime: an entry with a callback is freed right after its final
 * (FAILED or EXITED) callback returns, unless a synchronous call is
 * waiting for it. An entry without a callback keeps its final result until
 * a synchronous call collects it or the client is closed, so that the
 * synchronous API never loses an exit that arrived early, and a wait that
 * timed out can be resumed by id. `busy` counts callbacks running for this
 * entry, so that a callback that collects its own spawn (spawnd_wait_exit()
 * from inside the callback) cannot free the result it is still holding.
 */
struct client_spawn {
	struct client_spawn *next;
	spawnd_spawn_cb cb;
	void *userdata;
	struct spawnd_result result; /* result.id is the request id */
	bool want_pidfd;	     /* Started may (and should) carry a pidfd */
	bool want_pty;		     /* Started may (and should) carry a pty master */
	unsigned waiters;
	unsigned busy;
	bool collected; /* the final result was handed to a waiter */
	bool discard;	/* nobody can collect it (0.1 spawnd_spawn() gave up) */
};

/* A Signal request; kept while someone waits for its answer. */
struct client_signal {
	struct client_signal *next;
	uint64_t id;
	bool waited; /* spawnd_signal() waits; else the answer is dropped */
	bool done;
	int error; /* 0 or -errno, valid when done */
};

/*
 * A packed request that could not be sent yet (the socket buffer was
 * full). Its fds are our own F_DUPFD_CLOEXEC copies, so that a queued
 * request does not depend on the caller keeping its fds open.
 */
struct client_send {
	struct client_send *next;
	uint64_t id;
	uint8_t *buf;
	size_t len;
	int *fds;
	size_t n_fds;
};

struct spawnd_client {
	int fd;
	uint64_t next_id;
	struct client_send *send_head, *send_tail;
	struct client_spawn *spawns;
	struct client_signal *signals;
	uint8_t *rbuf; /* SPAWND_MAX_MESSAGE_BYTES + 1 */
	/*
	 * Sending is impossible (the peer is gone, or it announced that it
	 * drops us): new requests fail with this error. 0 while healthy.
	 */
	int send_error;
	/* The connection is finished: process() returns this. 0 while alive. */
	int dead_error;
};

/* client.c */
struct client_spawn *client_spawn_find(struct spawnd_client *c, uint64_t id);
struct client_signal *client_signal_find(struct spawnd_client *c, uint64_t id);
/* Free the entry if nobody needs it any more (see struct client_spawn). */
void client_spawn_release(struct spawnd_client *c, struct client_spawn *s);
void client_signal_remove(struct spawnd_client *c, struct client_signal *sig);
/*
 * Queue a packed request (taking buf) and send what can be sent. fds are
 * the caller's; they are duplicated only if the request must wait.
 * Returns 0 when sent or queued, or -errno with nothing queued and buf
 * freed.
 */
int client_submit(struct spawnd_client *c, uint64_t id, uint8_t *buf, size_t len, const int *fds,
		  size_t n_fds);
/*
 * Run the loop until done(c, data) is true or the deadline (CLOCK_MONOTONIC
 * microseconds, UINT64_MAX = none) passes; a deadline already passed still
 * processes what has arrived, once, without blocking. Returns 0,
 * -ETIMEDOUT, -EINTR or the connection's error.
 */
int client_run_until(struct spawnd_client *c, bool (*done)(struct spawnd_client *c, void *data),
		     void *data, uint64_t deadline);
uint64_t client_now_usec(void);
/* Absolute deadline of a relative timeout; SPAWND_WAIT_INFINITE: UINT64_MAX. */
uint64_t client_deadline(uint64_t timeout_usec);
/*
 * Copy a result. take_pidfd: move the pidfd into the copy (the source then
 * has none); else the copy gets its own duplicate. NULL on ENOMEM or when
 * the pidfd cannot be duplicated (errno set).
 */
struct spawnd_result *client_result_copy(struct spawnd_result *r, bool take_pidfd);
struct spawnd_result *client_result_dup(const struct spawnd_result *r);
/* Free what a result owns (detail, pidfd), not the result itself. */
void client_result_done(struct spawnd_result *r);

#endif
