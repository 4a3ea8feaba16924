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

struct context;
struct job;
struct reaper;
struct spawn_prepared;

int reaper_new(const struct context *ctx, struct reaper **ret);
/* Frees the bookkeeping; live children are left alone (keep semantics). */
struct reaper *reaper_free(struct reaper *r);

/*
 * Track a freshly started child (job->pid, pidfd, errpipe set): the reaper
 * owns the job from here and frees it when the child is reaped. Links it
 * into owner_list, the children of job->owner. On failure the child is
 * killed and abandoned (reaper_abandon()) before returning -errno; the
 * job stays valid until the loop runs again.
 */
int reaper_track(struct reaper *r, struct job *job, struct job **owner_list);

/*
 * Whether the next spawn should use the shared-table start
 * (spawn_prepared.share_table): while many children live and pidfds of
 * theirs sit high, that is while the fd table is big.
 */
bool reaper_share_table(const struct reaper *r);

/*
 * Give up on a child that is not tracked (no pidfd, or reaper_track()
 * failed) and that the caller has already killed: it is reaped on SIGCHLD with
 * waitpid(pid, WNOHANG), never waited for (a child stuck on FUSE ignores
 * even SIGKILL). Without this, only the full scan, at most once a second,
 * would reap it, and with a warning. It counts against its client uid's
 * children (usage.h), and keeps its plan, until it is reaped; the reaper
 * owns the job from here.
 */
void reaper_abandon(struct reaper *r, struct job *job);

/*
 * The child of owner whose spawn id is id and whose final reply (Failed,
 * or Exited) has not been sent yet, or NULL. There is at most one: the
 * daemon refuses a Spawn whose id is still in use on the connection.
 */
struct job *reaper_find_by_id(struct job *children, uint64_t id);

/* Send a signal through the pidfd (or to the process group). 0 or -errno. */
int child_signal(struct job *c, int signo, bool process_group);

/*
 * The owner went away (or the daemon stops): forget the owner and apply
 * on_disconnect: terminate, hang up (SIGHUP + SIGCONT to the process group,
 * once, no escalation: like a terminal hangup, the child may survive it),
 * or keep. A time limit keeps running in every case.
 */
void child_orphan(struct job *c);

/* Children being terminated (stop waits for them). */
unsigned reaper_terminating(const struct reaper *r);
/* The daemon stops: cut longer kill graces already running to the stop grace. */
void reaper_stop(struct reaper *r);

#endif
