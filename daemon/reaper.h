/* SPDX-License-Identifier: MIT */
/*
 * Live children: each is tracked from fork to reap. The errpipe's read end
 * and the pidfd are libevent events, so the loop never waits for a child:
 * errpipe EOF = exec succeeded (Started), a record = setup failed (Failed),
 * pidfd readable = exited, then wait4(WNOHANG) for status + rusage.
 * Children the daemon gives up on are reaped by pid on SIGCHLD, and a
 * rate-limited full scan is the safety net that reaps anything else: no
 * zombies.
 * Kill escalation (timeouts, disconnects, stop) also lives here.
 */
#ifndef SPAWND_REAPER_H
#define SPAWND_REAPER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "request.h"

struct server;
struct conn;
struct event;
struct reaper;
struct spawn_prepared;

struct child {
	struct reaper *reaper;
	struct conn *owner; /* NULL once the client is gone */
	struct child *owner_prev, *owner_next;
	struct child *hash_next;

	uid_t client_uid;
	pid_t client_pid;
	uint64_t id; /* the Spawn request's id */
	pid_t pid;
	int pidfd;
	int errpipe;	/* read end while exec is not confirmed, else -EBADF */
	int pty_master; /* the child's terminal until Started carries it, else -EBADF */
	struct event *ev_pidfd;
	struct event *ev_errpipe;
	struct event *ev_timer; /* run-time limit, then the SIGKILL grace */

	/*
	 * The plan the child reads (and, vfork engine, the stack it runs on),
	 * until the errpipe's EOF or the reap says the child is done with it
	 * (spawn_start()); then NULL.
	 */
	struct spawn_prepared *plan;

	char *exec_path; /* for detail strings and the audit log */
	char *cwd;
	char *target;

	enum on_disconnect on_disconnect;
	uint64_t timeout_usec;
	uint64_t kill_grace_usec;  /* SIGTERM -> SIGKILL, as requested */
	uint64_t grace_armed_usec; /* the grace actually armed (capped while stopping) */
	bool want_pidfd;	   /* Started carries a duplicate of pidfd */
	struct timespec started_at;

	bool exec_done;	       /* the errpipe said something (EOF or a record) */
	bool exec_ok;	       /* ... EOF after exec: Started was sent */
	bool died_before_exec; /* ... EOF from a child that never exec'd (killed):
				* Failed{EXEC} goes out once it is reaped */
	bool terminating;      /* SIGTERM sent, SIGKILL pending */
	bool timed_out;
};

int reaper_new(struct server *s, struct reaper **ret);
/* Frees the bookkeeping; live children are left alone (keep semantics). */
struct reaper *reaper_free(struct reaper *r);

/*
 * Track a freshly started child. Takes pidfd, errpipe, plan and the strings
 * (a plan that cannot be tracked is orphaned, never freed under a child
 * that may still run on it).
 * The lifecycle settings (on_disconnect, time limit, kill grace, pidfd
 * wanted) are copied from sr. On failure the child is killed and abandoned
 * (reaper_abandon()) before returning -errno.
 */
int reaper_add(struct reaper *r, struct conn *owner, uid_t client_uid, pid_t client_pid,
	       uint64_t id, pid_t pid, int pidfd, int errpipe, struct spawn_prepared *plan,
	       char *exec_path, char *cwd, char *target, const struct spawn_request *sr);

/*
 * Give up on a child that is not tracked (no pidfd, or reaper_add() failed)
 * and that the caller has already killed: it is reaped on SIGCHLD with
 * waitpid(pid, WNOHANG), never waited for (a child stuck on FUSE ignores
 * even SIGKILL). Without this, only the full scan, at most once a second,
 * would reap it, and with a warning.
 */
void reaper_abandon(struct reaper *r, pid_t pid);

/*
 * The child of owner whose spawn id is id and whose final reply (Failed,
 * or Exited) has not been sent yet, or NULL. There is at most one: the
 * daemon refuses a Spawn whose id is still in use on the connection.
 */
struct child *reaper_find_by_id(struct conn *owner, uint64_t id);

/* Send a signal through the pidfd (or to the process group). 0 or -errno. */
int child_signal(struct child *c, int signo, bool process_group);

/*
 * The owner went away (or the daemon stops): forget the owner and apply
 * on_disconnect: terminate, hang up (SIGHUP + SIGCONT to the process group,
 * once, no escalation: like a terminal hangup, the child may survive it),
 * or keep. A time limit keeps running in every case.
 */
void child_orphan(struct child *c);

/* SIGTERM now, SIGKILL after the child's kill grace (capped while stopping). */
void child_terminate(struct child *c);

/* Children being terminated (stop waits for them). */
unsigned reaper_terminating(const struct reaper *r);
/* The daemon stops: cut longer kill graces already running to the stop grace. */
void reaper_stop(struct reaper *r);

#endif
