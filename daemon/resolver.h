/* SPDX-License-Identifier: MIT */
/*
 * Resolver threads: the lookups of a Spawn that may block, off the event
 * loop (DESIGN.md 3.5). That is NSS for the target user and its groups
 * (sssd or LDAP can take seconds, a dead server for ever), NSS for the
 * client's own name (SPAWND_USER), and the canonical path of the client's
 * command (realpath() with the client's rights: a FUSE or NFS path can hang).
 *
 * The loop fills a job, submits it and goes on; a thread of a small pool
 * runs it and posts it back through an eventfd that the loop watches
 * (server.c); the loop collects finished jobs and carries on with each
 * request (dispatch.c). The loop owns the deadline: a job that takes too
 * long is abandoned (its request fails with ETIMEDOUT and lets go of its
 * fds), but it stays counted against its client's uid until its thread
 * comes back, which may be never (usage_lookup_take(), usage.h). Threads are made on
 * demand up to RESOLVER_THREADS_MAX; with all of them stuck, new jobs wait
 * in the queue and time out.
 *
 * No libevent here: only main.c, server.c and conn.c touch the loop.
 */
#ifndef SPAWND_RESOLVER_H
#define SPAWND_RESOLVER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "user.h"

/* Threads at most; more jobs wait in the queue. */
#define RESOLVER_THREADS_MAX 32u
/* Idle threads kept; beyond that a thread that finds no work exits. */
#define RESOLVER_MAX_IDLE 4u
/* Their name (at most 15 characters), as ps -L and /proc show it. */
#define RESOLVER_THREAD_NAME "spawnd-resolver"

/* What a job's thread is doing, for the detail of a timeout. */
enum resolve_phase {
	RESOLVE_QUEUED, /* no thread has taken it yet */
	RESOLVE_TARGET, /* NSS: the target user, its groups */
	RESOLVE_CLIENT, /* NSS: the client's user name */
	RESOLVE_PATH,	/* realpath() of the command, with the client's rights */
	RESOLVE_DONE,
};

struct resolve_job {
	/* In: owned by the job, set by the loop, read-only for the thread. */
	uid_t client_uid;
	gid_t client_gid;
	gid_t *client_groups; /* SO_PEERGROUPS */
	size_t n_client_groups;
	bool want_client_name;
	char *user;    /* the target as requested */
	char *group;   /* NULL = the target's own */
	char **groups; /* NULL-terminated, or NULL = all of the target's */
	char *path;    /* the command in normal form (command_resolve()) */
	bool canonicalize;

	/* Out: written by the thread, read by the loop after collecting. */
	int r;		  /* of user_resolve_target() */
	const char *what; /* on failure: what failed (points into the job or is static) */
	struct target_user target;
	char *client_name; /* user_name_of() */
	char *canonical;   /* NULL when not asked for or not resolvable */
	int canonical_error;

	/* Bookkeeping. */
	int phase;   /* enum resolve_phase, atomic: the loop reads it on a timeout */
	void *owner; /* loop only: the request that waits, NULL once abandoned */
	struct resolve_job *next;
};

/* A zeroed job (phase RESOLVE_QUEUED), or NULL. */
struct resolve_job *resolve_job_new(void);
/* NULL-safe; returns NULL. Loop only, and only for a job not submitted or collected. */
struct resolve_job *resolve_job_free(struct resolve_job *j);
/* What the job's thread is doing now (any thread). */
enum resolve_phase resolve_job_phase(const struct resolve_job *j);

/*
 * The fd the loop watches for finished jobs (an eventfd, non-blocking,
 * close-on-exec), created on the first call and kept for the life of the
 * process: a stuck thread may post long after the loop is gone. -errno on
 * failure.
 */
int resolver_fd(void);

/*
 * Queue job (loop thread only); a thread takes it, making one if none is
 * idle and fewer than RESOLVER_THREADS_MAX exist. On success the pool
 * holds the job until resolver_collect() returns it. Returns 0, or -EAGAIN
 * when no thread exists and none can be made (nothing taken).
 */
int resolver_submit(struct resolve_job *job);

/*
 * The jobs finished since the last call, as a list linked by ->next (loop
 * thread only). Drains the eventfd. Each job is the caller's again.
 */
struct resolve_job *resolver_collect(void);

/* Threads running a job now (some may be stuck in the kernel for good). */
unsigned resolver_busy(void);

/* Threads alive now. */
unsigned resolver_threads(void);

#endif
