/* SPDX-License-Identifier: MIT */
/*
 * One spawn, from its decoded request to its reap: the only owner of the
 * request (argv, env, the fds that came with it, the command's path), of
 * the resolved target (the resolver job once it is back), of the child's
 * plan, and then of the child (pid, pidfd, errpipe, their events, the
 * timer). Made once by dispatch.c when a Spawn is decoded, freed once:
 * at a refusal by dispatch.c, or when the child is reaped by reaper.c.
 *
 *   dispatch_message(): job_new() ... lookups on a resolver thread
 *     (job->lookup out; fds parked) -> second half: policy, plan (job->sp),
 *     spawn -> reaper_track() (or reaper_abandon()): the reaper owns it
 *     -> errpipe reports: the plan goes -> reaped: job_free().
 *
 * The plan (struct spawn_prepared) lives until the child's errpipe has
 * reported (EOF or a record) or the child is reaped, whichever comes
 * first, never less: an engine whose child shares the daemon's memory
 * until it execs reads it until then.
 */
#ifndef SPAWND_JOB_H
#define SPAWND_JOB_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "request.h"
#include "wire.h"

struct context;
struct client;
struct event;
struct resolve_job;
struct spawn_prepared;

struct job {
	const struct context *ctx;
	struct client *owner;				   /* NULL once the client is gone */
	struct job **owner_head, *owner_prev, *owner_next; /* the owner's children */
	uid_t client_uid;
	pid_t client_pid;

	/* The request. */
	struct request *req;
	int fds[SPAWND_MAX_FDS]; /* in the fd table: only once unparked */
	size_t n_fds;
	int park; /* the fds in flight while the lookups run (job_park_fds()) */
	size_t n_parked;
	char *path; /* the command in normal form (command_resolve()) */
	/* On a resolver thread while looking_up, then the resolved target
	 * and canonical path. */
	struct resolve_job *lookup;
	bool looking_up;
	struct spawn_prepared *sp;

	/* The child (reaper.c). */
	struct job *hash_next;
	pid_t pid;
	int pidfd;
	int errpipe;	/* read end while exec is not confirmed, else -EBADF */
	int pty_master; /* the child's terminal until Started takes it, else -EBADF */
	struct event *ev_pidfd;
	struct event *ev_errpipe;
	struct event
		*ev_timer; /* the lookup deadline, then the run-time limit and the SIGKILL grace */
	uint64_t grace_armed_usec; /* the grace actually armed (capped while stopping) */
	struct timespec started_at;
	bool counted;	       /* counts against client_uid's children (usage.h) */
	bool abandoned;	       /* untracked: killed, reaped by pid on SIGCHLD */
	bool exec_done;	       /* the errpipe said something (EOF or a record) */
	bool exec_ok;	       /* ... EOF after exec: Started was sent */
	bool died_before_exec; /* ... EOF from a child that never exec'd (killed):
				* Failed{EXEC} goes out once it is reaped */
	bool terminating;      /* SIGTERM sent, SIGKILL pending */
	bool timed_out;
	bool tracked;	 /* in the reaper's table (reaper_track()) */
	bool pidfd_high; /* pidfd was moved high (spawn_pidfd_raise()) */
	/* Exited, but a tracer holds the zombie: its pidfd is no longer
	 * watched, SIGCHLD retries the reap (reaper.c child_hold()). */
	bool held;
	struct job *held_next; /* the reaper's held list */
	/* EOF on the errpipe, but /proc could not tell yet whether it exec'd
	 * (EMFILE, ENOMEM...): retried on a timer and at the reap
	 * (reaper.c exec_settle()); exec_done stays false meanwhile. */
	bool exec_unknown;
	struct job *unknown_next; /* the reaper's list of those */
};

/* A job for req (taken on success) and its fds (taken always); NULL on ENOMEM. */
struct job *job_new(const struct context *ctx, struct client *owner, uid_t client_uid,
		    pid_t client_pid, struct request **req, int *fds, size_t n_fds);
/* Releases whatever it still holds (the fds go to the closer). NULL-safe; returns NULL. */
struct job *job_free(struct job *j);

/* The program as the policy judged it: the canonical path when there is one. */
const char *job_exec_path(const struct job *j);
/* The target's name once resolved, else the user as requested. */
const char *job_target(const struct job *j);
struct audit_subject job_subject(const struct job *j);

/*
 * While its lookups run, a request's fds must not sit in the daemon's fd
 * table (HOSTILE.md 46, see job.c): they wait in flight in a private socket
 * pair, and the table's copies go to the closer. 0 or -errno.
 */
int job_park_fds(struct job *j);
/* Take them back into the table, right before the spawn. 0 or -errno. */
int job_unpark_fds(struct job *j);
/* The table's copies go to the closer (the child has its own by now). */
void job_release_fds(struct job *j);
/* Our copy of the child's terminal, if still held, goes to the closer (never close()d here). */
void job_release_pty(struct job *j);
/* The plan goes (the errpipe reported, or the child is gone). */
void job_drop_plan(struct job *j);
/*
 * Started is sent: until the reap the job needs only the request's id and
 * limits and the exec path. The rest of the request (argv, environment,
 * fd list, cwd, groups) and the lookup (the target's passwd fields and
 * groups) go; the canonical path moves to j->path, so job_exec_path() is
 * unchanged, while job_target() names the target as requested.
 */
void job_trim(struct job *j);

#endif
