/* SPDX-License-Identifier: MIT */
/*
 * The resolver threads (resolver.h).
 *
 * Why an eventfd rather than event_active() from the worker. libevent can
 * be told to take locks (evthread_use_pthreads()) so that another thread
 * may activate an event, but then every event operation of the loop takes
 * a lock, libevent_pthreads gets linked into a root process, and the
 * worker would call into libevent, which STYLE.md keeps to main.c, server.c
 * and conn.c. An eventfd written by the worker and watched by an
 * edge-triggered read event in the loop needs none of that, costs at most
 * one write() per job and no read, and is the same wake-up libevent's own
 * notification would use. The finished
 * jobs themselves travel on a list under the pool's mutex.
 *
 * Locks. The pool's mutex guards the queue, the done list and the
 * counters, and is never held across a job: a thread stuck in NSS or in a
 * FUSE lookup holds no lock. glibc's NSS functions used here are reentrant
 * (the _r variants and getgrouplist()).
 *
 * Signals. The threads block every signal (they inherit the loop's mask,
 * main.c block_signals(); thread_new() blocks all around the create
 * anyway), so that a signal meant for the loop's signalfds is never taken
 * by a resolver.
 *
 * Per-uid accounting is loop-only data: a job counts from resolver_submit()
 * to resolver_collect(), both called by the loop, so no lock is needed.
 */
#define _GNU_SOURCE

#include "resolver.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "command.h"

/* NSS modules (sssd, LDAP clients) may want more than glibc's minimum. */
#define RESOLVER_THREAD_STACK (1024u * 1024u)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct resolve_job *queue_head, *queue_tail;
	unsigned n_queued;
	struct resolve_job *done;
	unsigned n_threads, n_idle, n_busy;
	int efd;
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.efd = -EBADF,
};

struct resolve_job *
resolve_job_new(void)
{
	struct resolve_job *j = calloc(1, sizeof(*j));

	if (j)
		j->canonical_error = -ENOENT;
	return j;
}

struct resolve_job *
resolve_job_free(struct resolve_job *j)
{
	if (!j)
		return NULL;
	free(j->client_groups);
	free(j->user);
	free(j->group);
	strv_freep(&j->groups);
	free(j->path);
	target_user_done(&j->target);
	free(j->client_name);
	free(j->canonical);
	free(j);
	return NULL;
}

enum resolve_phase
resolve_job_phase(const struct resolve_job *j)
{
	return (enum resolve_phase)__atomic_load_n(&j->phase, __ATOMIC_RELAXED);
}

static void
set_phase(struct resolve_job *j, enum resolve_phase phase)
{
	__atomic_store_n(&j->phase, (int)phase, __ATOMIC_RELAXED);
}

/* The blocking part, on a resolver thread. */
static void
job_run(struct resolve_job *j)
{
	set_phase(j, RESOLVE_TARGET);
	j->r = user_resolve_target(j->user, j->group, j->groups, &j->target, &j->what);
	if (j->r < 0)
		goto done;
	if (j->want_client_name) {
		set_phase(j, RESOLVE_CLIENT);
		/* The decimal uid when there is no name; NULL only without memory. */
		j->client_name = user_name_of(j->client_uid);
	}
	if (j->canonicalize) {
		struct command_cred as = {
			.uid = j->client_uid,
			.gid = j->client_gid,
			.groups = j->client_groups,
			.n_groups = j->n_client_groups,
		};

		set_phase(j, RESOLVE_PATH);
		j->canonical_error = command_canonicalize(j->path, &as, &j->canonical);
	}
done:
	set_phase(j, RESOLVE_DONE);
}

static void
post_done(struct resolve_job *j)
{
	uint64_t one = 1;
	bool wake;

	(void)pthread_mutex_lock(&pool.lock);
	/*
	 * Only a job that finds the done list empty wakes the loop. A list
	 * that holds jobs already has its write, and the loop takes the whole
	 * list (resolver_collect()), this job with the others. Under
	 * concurrency that saves a write and a wake-up of the loop per job.
	 * A write that comes after the loop took the list makes a new edge
	 * (see resolver_collect()), at worst for an empty list.
	 */
	wake = !pool.done;
	j->next = pool.done;
	pool.done = j;
	(void)pthread_mutex_unlock(&pool.lock);
	/*
	 * Cannot block: nobody reads the counter (resolver_collect()), and it
	 * would take 2^64 - 2 posts to fill.
	 */
	if (wake)
		(void)!write(pool.efd, &one, sizeof(one));
}

static void *
worker_main(void *arg)
{
	(void)arg;
	/* Seen in /proc/PID/task/TID/comm, top -H, gdb (docs/architecture.md, "Threads"). */
	(void)pthread_setname_np(pthread_self(), RESOLVER_THREAD_NAME);
	(void)pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct resolve_job *j;

		while (!pool.queue_head) {
			if (pool.n_idle >= RESOLVER_MAX_IDLE) {
				pool.n_threads--;
				(void)pthread_mutex_unlock(&pool.lock);
				return NULL;
			}
			pool.n_idle++;
			(void)pthread_cond_wait(&pool.work, &pool.lock);
			pool.n_idle--;
		}
		j = pool.queue_head;
		pool.queue_head = j->next;
		if (!pool.queue_head)
			pool.queue_tail = NULL;
		j->next = NULL;
		pool.n_queued--;
		pool.n_busy++;
		(void)pthread_mutex_unlock(&pool.lock);

		job_run(j);
		post_done(j);

		(void)pthread_mutex_lock(&pool.lock);
		pool.n_busy--;
	}
}

/* One more thread, idle until it finds the queue non-empty. Locked. */
static int
thread_new(void)
{
	pthread_attr_t attr;
	sigset_t all, saved;
	pthread_t thread;
	int r;

	r = pthread_attr_init(&attr);
	if (r != 0)
		return -r;
	r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = pthread_attr_setstacksize(&attr, RESOLVER_THREAD_STACK);
	/* The thread inherits our mask: every signal blocked, for good. */
	if (r == 0 && sigfillset(&all) < 0)
		r = errno;
	if (r == 0)
		r = pthread_sigmask(SIG_SETMASK, &all, &saved);
	if (r == 0) {
		r = pthread_create(&thread, &attr, worker_main, NULL);
		(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	(void)pthread_attr_destroy(&attr);
	if (r != 0)
		return -r;
	pool.n_threads++;
	return 0;
}

int
resolver_fd(void)
{
	if (pool.efd < 0) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0)
			return -errno;
		pool.efd = fd;
	}
	return pool.efd;
}

int
resolver_submit(struct resolve_job *job)
{
	int r = 0;

	if (!job)
		return -EINVAL;
	r = resolver_fd();
	if (r < 0)
		return r;
	r = 0;

	(void)pthread_mutex_lock(&pool.lock);
	/* More work waiting than threads waiting for work: one more thread. */
	if (pool.n_queued + 1 > pool.n_idle && pool.n_threads < RESOLVER_THREADS_MAX) {
		r = thread_new();
		/* With threads left, the job just waits for one of them. */
		if (r < 0 && pool.n_threads > 0)
			r = 0;
	}
	if (r == 0) {
		set_phase(job, RESOLVE_QUEUED);
		job->next = NULL;
		if (pool.queue_tail)
			pool.queue_tail->next = job;
		else
			pool.queue_head = job;
		pool.queue_tail = job;
		pool.n_queued++;
	}
	(void)pthread_mutex_unlock(&pool.lock);
	/*
	 * Signalled after the unlock: a worker woken while we still hold the
	 * lock preempts us on this CPU, blocks on the lock, and has to be
	 * woken again (two more context switches per job, measured with perf
	 * sched). A worker that is not waiting yet finds the job in the queue
	 * before it waits, since it tests the queue under the lock.
	 */
	if (r == 0)
		(void)pthread_cond_signal(&pool.work);
	return r < 0 ? -EAGAIN : 0;
}

struct resolve_job *
resolver_collect(void)
{
	struct resolve_job *jobs, *reversed = NULL;

	/*
	 * The eventfd is watched edge-triggered (server.c): every write is a
	 * new edge, whether or not the counter was read, so it is never read.
	 * That is one system call fewer per spawn in the loop.
	 */
	(void)pthread_mutex_lock(&pool.lock);
	jobs = pool.done;
	pool.done = NULL;
	(void)pthread_mutex_unlock(&pool.lock);

	/* Oldest first. */
	while (jobs) {
		struct resolve_job *next = jobs->next;

		jobs->next = reversed;
		reversed = jobs;
		jobs = next;
	}
	return reversed;
}

unsigned
resolver_busy(void)
{
	unsigned n;

	(void)pthread_mutex_lock(&pool.lock);
	n = pool.n_busy;
	(void)pthread_mutex_unlock(&pool.lock);
	return n;
}

unsigned
resolver_threads(void)
{
	unsigned n;

	(void)pthread_mutex_lock(&pool.lock);
	n = pool.n_threads;
	(void)pthread_mutex_unlock(&pool.lock);
	return n;
}
