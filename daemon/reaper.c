/* SPDX-License-Identifier: MIT */
/*
 * Child lifecycle from fork to reap (see reaper.h). Ordering rules:
 *  - Started must reach the client before Exited. A child can exec and exit
 *    before the loop saw its errpipe EOF, so the exit path first drains the
 *    errpipe: once the child is dead every write end is closed (it was
 *    O_CLOEXEC, and the daemon closed its copy right after fork), so that
 *    read is final and does not block.
 *  - The pid stays ours until we reap it, so pidfd_send_signal() and
 *    kill(-pgid) on an unreaped child can never hit a recycled pid.
 *  - Tracked children are reaped through their pidfd (on_pidfd). Children
 *    the daemon gives up on (killed because they cannot be tracked) go on a
 *    short list of pids that every SIGCHLD reaps with waitpid(pid, WNOHANG).
 *    SIGCHLD comes through a signalfd that is watched only while that list
 *    is non-empty (sigchld_watch()): a tracked child's exit costs the loop
 *    nothing but its pidfd event.
 *  - Defence in depth: a full scan peeks with waitid(P_ALL, WNOWAIT), hands
 *    tracked children to the normal path and reaps anything else, so no
 *    zombie survives even if a pidfd event were missed or an untracked
 *    child never made the list. That scan is O(all children) in the kernel
 *    (do_wait walks the children list of every thread of the daemon; with
 *    10,000 live children, scanning on every SIGCHLD made each spawn about
 *    1.4x as expensive), so it runs at most once per
 *    REAPER_SCAN_INTERVAL_USEC: a request inside that window arms a timer
 *    for the rest of it, and the scan then sees every zombie made meanwhile.
 *    What requests one: every reap through a pidfd and every SIGCHLD read,
 *    so each exit the daemon sees is followed by a scan that starts after
 *    it; and, for an exit that nothing reports (an untracked child that
 *    never made the list), a fallback timer: while the daemon has any
 *    child at all (waitid() does not say ECHILD), a scan comes at least
 *    every REAPER_FALLBACK_SCAN_SEC, activity or not.
 *  - A tracer can hold a zombie: the pidfd says the child exited (and
 *    stays readable), but wait4() cannot reap it until the tracer waits
 *    for it, detaches or exits. Such a child is "held" (child_hold()):
 *    its pidfd leaves the loop (it is level-triggered and would fire for
 *    ever) and it joins a held list that every SIGCHLD retries, like the
 *    abandoned list; the kernel sends the real parent SIGCHLD when the
 *    tracer lets the zombie go (__ptrace_detach -> do_notify_parent), and
 *    the full scan (the fallback timer) sees it too once it is ours.
 *  - Started means the program ran (HOSTILE 48, DESIGN.md section 4); see
 *    child_execed() for how EOF on the errpipe is told apart.
 */
#define _GNU_SOURCE

#include "reaper.h"

#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit.h"
#include "context.h"
#include "job.h"
#include "log.h"
#include "spawn.h"
#include "usage.h"
#include "util/cleanup.h"
#include "wire.h"

#define REAPER_BUCKETS 4096u
/*
 * From this many live tracked children on, a new child's pidfd is moved
 * high (spawn_pidfd_raise()), and while any is there every spawn uses the
 * shared-table start (docs/architecture.md): the fd table is then big
 * enough that copying it costs more than the wait for the child's marker
 * record. Below it, children copy the (small) table as they always did.
 * The first ones' pidfds stay low, so it is kept small: each of them is an
 * fd that every shared-table child still copies and closes.
 */
#define REAPER_RAISE_PIDFDS_AT 32u
/* At most one full waitid(P_ALL) scan per this interval (see the top comment). */
#define REAPER_SCAN_INTERVAL_USEC 1000000u
/* While the daemon has any child, a full scan at least this often (see the top comment). */
#define REAPER_FALLBACK_SCAN_SEC 10
/* How often /proc is asked again about a child it could not tell about (exec_settle()). */
#define REAPER_EXEC_RETRY_USEC 100000u

struct reaper {
	const struct context *ctx;
	int sigchld_fd;		   /* signalfd of SIGCHLD */
	struct event *sigchld;	   /* its event */
	struct event *scan_timer;  /* a deferred full scan, pending inside the window */
	struct event *fallback;	   /* the next full scan when nothing else asks for one */
	struct timespec last_scan; /* CLOCK_MONOTONIC start of the last full scan */
	bool scanned;		   /* last_scan is set */
	struct job *buckets[REAPER_BUCKETS];
	unsigned n_terminating;
	unsigned n_tracked;	/* children in the table */
	unsigned n_high_pidfds; /* ... whose pidfd was moved high */
	/* Untracked children that were killed and not reaped yet: each still
	 * counts against its client uid (usage.h) until it is. */
	struct job *abandoned; /* linked through hash_next: they are not in the table */
	/* Tracked children whose zombie a tracer holds (child_hold()), linked
	 * through held_next; they stay in the table. */
	struct job *held;
	/* Children whose exec /proc could not tell yet (exec_settle()),
	 * linked through unknown_next, and the timer that asks again. */
	struct job *unknown;
	struct event *unknown_timer;
};

static unsigned
bucket_of(pid_t pid)
{
	return (unsigned)pid % REAPER_BUCKETS;
}

static struct job *
reaper_find(struct reaper *r, pid_t pid)
{
	for (struct job *c = r->buckets[bucket_of(pid)]; c; c = c->hash_next)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void
hash_remove(struct reaper *r, struct job *c)
{
	for (struct job **p = &r->buckets[bucket_of(c->pid)]; *p; p = &(*p)->hash_next)
		if (*p == c) {
			*p = c->hash_next;
			return;
		}
}

static void
held_unlink(struct reaper *r, struct job *c)
{
	if (!c->held)
		return;
	for (struct job **p = &r->held; *p; p = &(*p)->held_next)
		if (*p == c) {
			*p = c->held_next;
			break;
		}
	c->held = false;
	c->held_next = NULL;
}

static void
unknown_unlink(struct reaper *r, struct job *c)
{
	if (!c->exec_unknown)
		return;
	for (struct job **p = &r->unknown; *p; p = &(*p)->unknown_next)
		if (*p == c) {
			*p = c->unknown_next;
			break;
		}
	c->exec_unknown = false;
	c->unknown_next = NULL;
}

static void
owner_unlink(struct job *c)
{
	if (c->owner_head) {
		if (c->owner_prev)
			c->owner_prev->owner_next = c->owner_next;
		else
			*c->owner_head = c->owner_next;
		if (c->owner_next)
			c->owner_next->owner_prev = c->owner_prev;
	}
	c->owner = NULL;
	c->owner_head = NULL;
	c->owner_prev = c->owner_next = NULL;
}

/* The child's pidfd and errpipe, with their events. Idempotent. */
static void
child_close_fds(struct job *c)
{
	if (c->ev_pidfd) {
		event_free(c->ev_pidfd);
		c->ev_pidfd = NULL;
	}
	if (c->ev_errpipe) {
		event_free(c->ev_errpipe);
		c->ev_errpipe = NULL;
	}
	c->pidfd = safe_close(c->pidfd);
	c->errpipe = safe_close(c->errpipe);
	job_release_pty(c);
}

/* The child is reaped (or forgotten): its job ends. */
static void
child_free(struct job *c)
{
	struct reaper *r = c->ctx->reaper;

	owner_unlink(c);
	hash_remove(r, c);
	held_unlink(r, c);
	unknown_unlink(r, c);
	if (c->tracked)
		r->n_tracked--;
	if (c->pidfd_high)
		r->n_high_pidfds--;
	c->tracked = c->pidfd_high = false;
	if (c->terminating)
		r->n_terminating--;
	if (c->counted)
		usage_child_release(c->client_uid);
	(void)job_free(c);
}

static struct timeval
usec_to_timeval(uint64_t usec)
{
	return (struct timeval){
		.tv_sec = (time_t)(usec / 1000000u),
		.tv_usec = (suseconds_t)(usec % 1000000u),
	};
}

static uint64_t
usec_since(const struct timespec *t0)
{
	struct timespec now;
	int64_t us;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 + (now.tv_nsec - t0->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}

static void
tell(const struct job *c, struct reply rep)
{
	rep.id = c->req->id;
	c->ctx->ev.reply(c->owner, &rep);
}

static void
reply_failed(const struct job *c, int stage, int error, const char *detail)
{
	tell(c, (struct reply){
			.kind = REPLY_FAILED, .stage = stage, .error = error, .detail = detail});
}

/* The audit lines of a child name the resolved target and the program run. */
static struct audit_subject
subject(const struct job *c)
{
	struct audit_subject subj = job_subject(c);

	subj.target = job_target(c);
	subj.argv = NULL;
	subj.exec_path = job_exec_path(c);
	return subj;
}

/*
 * Whether the child has exec'd: 1 yes, 0 no, -errno when it cannot be
 * told. The child must not be reaped yet (its pid, and /proc/PID, stay
 * ours until then).
 *
 * The race (HOSTILE 48). EOF on the close-on-exec errpipe without a record
 * has two causes: execve() succeeded (the kernel closed the write end), or
 * the child died before execve() (exit closes every fd). The second one
 * happens whenever a signal kills the child on its way: a Signal request
 * pipelined behind the Spawn, a time limit, the client's disconnect, or
 * anyone of the target's uid once the child switched to it. Such a signal
 * waits, blocked, until the child unblocks signals right before execve(),
 * and then kills it with the default action, before the program ran. Nor
 * does the daemon's own timing tell the two apart: a child may exec, then
 * be killed by a signal that the daemon sent before it read the EOF, and
 * that program did run. Whether the child is dead when we look says
 * nothing either: exit closes the files (exit_files) before the child
 * becomes a zombie (exit_notify), so a dying child can look alive.
 *
 * The kernel keeps the fact itself: every new process carries
 * PF_FORKNOEXEC ("forked but didn't exec", what BSD process accounting
 * reports as AFORK) until execve() clears it, and nothing sets it again.
 * begin_new_exec() clears it before do_close_on_exec() closes the
 * errpipe, so by the time EOF can be seen the flag is gone if the child
 * exec'd; a child that died before execve() keeps it, in its zombie too.
 * /proc/PID/stat shows it (field 9, the task's flags; proc(5)), to root
 * whatever the child's uid. Reading it cannot block: procfs answers from
 * the task struct, and a zombie has no memory map to lock.
 */
#define PF_FORKNOEXEC 0x00000040u

static int
child_execed(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned flags;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	(void)safe_close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID PGRP SESSION TTY_NR TPGID FLAGS ...": COMM may hold ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return -EBADMSG;
	return (flags & PF_FORKNOEXEC) ? 0 : 1;
}

/*
 * Whether child_execed()'s error e means that /proc can never tell: it
 * is absent (a bare chroot), not procfs, or of another pid namespace
 * (ENOENT), unreadable to us, or unparsable. Anything else (EMFILE,
 * ENFILE, ENOMEM...) is a shortage that passes.
 */
static bool
proc_cannot_tell(int e)
{
	return e == -ENOENT || e == -ENOTDIR || e == -EACCES || e == -EPERM || e == -EBADMSG;
}

/* Started for c, which exec'd. */
static void
report_started(struct job *c)
{
	struct audit_subject subj = subject(c);

	c->exec_ok = true;
	audit_started(&subj, c->pid);
	/* The pidfd is still open here even when the child was just
	 * reaped (child_collect), so the client always gets one. */
	tell(c, (struct reply){
			.kind = REPLY_STARTED,
			.pid = c->pid,
			.pidfd = c->req->spawn.want_pidfd ? c->pidfd : -EBADF,
			.pty_master = &c->pty_master,
		});
	/* Started took the master, unless the client is gone: then the closer does. */
	job_release_pty(c);
	/* Until the reap only the id, the limits and the exec path are needed. */
	job_trim(c);
}

/*
 * After EOF on c's errpipe, act on e = child_execed(c->pid): Started (1),
 * a death before exec (0: Failed{EXEC} at the reap), or, for an error,
 * one of two things.
 *  - /proc can never tell (proc_cannot_tell()): today's best guess,
 *    Started, said once in the log. Nothing better is to be had.
 *  - A passing shortage (EMFILE, ENFILE, ENOMEM): nothing is decided yet
 *    (c->exec_unknown, exec_done stays false, so a Signal request still
 *    reaches the child): guessing "exec'd" would send Started for a
 *    child that may have been killed before exec (HOSTILE 48), and
 *    guessing "not" would fail a program that runs. /proc is asked
 *    again every REAPER_EXEC_RETRY_USEC (on_exec_retry()) and at the
 *    reap, before wait4(): the zombie keeps PF_FORKNOEXEC, so the answer
 *    is the same as at the EOF. Retrying is what keeps Started (and the
 *    pty master it carries, which the program may be waiting on) from
 *    waiting for the child's exit. Should /proc still fail once the
 *    child is reaped, child_collect() decides from its status.
 */
static void
exec_settle(struct job *c, int e)
{
	struct reaper *r = c->ctx->reaper;

	if (e < 0 && !proc_cannot_tell(e)) {
		if (!c->exec_unknown) {
			static bool warned;

			if (!warned)
				log_warning_errno(
					e,
					"Cannot tell yet whether child %d exec'd "
					"(/proc/%d/stat), asking again until it exits: %m",
					(int)c->pid, (int)c->pid);
			warned = true;
			c->exec_unknown = true;
			c->unknown_next = r->unknown;
			r->unknown = c;
		}
		if (!evtimer_pending(r->unknown_timer, NULL))
			(void)evtimer_add(r->unknown_timer,
					  &(struct timeval){.tv_usec = REAPER_EXEC_RETRY_USEC});
		return;
	}
	unknown_unlink(r, c);
	c->exec_done = true;
	if (e == 0) {
		c->died_before_exec = true;
		return;
	}
	if (e < 0) {
		/* No /proc (a bare chroot?): today's best guess, said once. */
		static bool warned;

		if (!warned)
			log_warning_errno(e,
					  "Cannot tell whether child %d exec'd "
					  "(/proc/%d/stat), reporting it and others "
					  "started: %m",
					  (int)c->pid, (int)c->pid);
		warned = true;
	}
	report_started(c);
}

static void
on_exec_retry(evutil_socket_t fd, short what, void *userdata)
{
	struct reaper *r = userdata;
	struct job *c, *next;

	(void)fd;
	(void)what;
	for (c = r->unknown; c; c = next) {
		next = c->unknown_next;
		/* Decided: off the list; else still on it, and the timer re-armed. */
		exec_settle(c, child_execed(c->pid));
	}
}

/*
 * Failed{EXEC} for a child that died before it exec'd. ETIMEDOUT when the
 * daemon's time limit did it, else ECANCELED; the detail says how it died.
 * docs/protocol.md.
 */
static void
report_died_before_exec(struct job *c, int status)
{
	struct audit_subject subj = subject(c);
	const int err = c->timed_out ? ETIMEDOUT : ECANCELED;
	char detail[PATH_MAX + 128];

	if (WIFSIGNALED(status)) {
		const char *name = sigabbrev_np(WTERMSIG(status));

		if (name)
			(void)snprintf(detail, sizeof(detail), "%s: killed by SIG%s before exec%s",
				       job_exec_path(c), name, c->timed_out ? " (time limit)" : "");
		else
			(void)snprintf(detail, sizeof(detail),
				       "%s: killed by signal %d before exec%s", job_exec_path(c),
				       WTERMSIG(status), c->timed_out ? " (time limit)" : "");
	} else
		(void)snprintf(detail, sizeof(detail), "%s: exited with status %d before exec",
			       job_exec_path(c), WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	audit_failed(&subj, CHILD_STAGE_EXEC, err, detail);
	reply_failed(c, CHILD_STAGE_EXEC, err, detail);
}

/*
 * Act on what the errpipe says. Returns true once it said something final
 * (EOF or a record); false while nothing is there yet. A child that died
 * before exec gets its Failed from child_collect(), which has its status.
 */
static bool
errpipe_process(struct job *c)
{
	struct child_report rep;
	struct audit_subject subj = subject(c);
	const char *detail;
	int r;

	if (c->exec_done || c->exec_unknown)
		return true;
	/*
	 * A shared-table child writes a CHILD_REPORT_UNSHARED record once it
	 * has its own fd table. It is no report: spawn_start() consumes it
	 * (await_unshare()), but it returns as soon as the child is dead,
	 * and when poll() saw only the pidfd readable the record is still
	 * here. It is never on the wire: skip it, the child's real word (EOF
	 * or a failure record) follows it.
	 */
	do
		r = spawn_read_report(c->errpipe, &rep);
	while (r == 1 && rep.stage == CHILD_REPORT_UNSHARED);
	if (r == -EAGAIN)
		return false;

	if (c->ev_errpipe) {
		event_free(c->ev_errpipe);
		c->ev_errpipe = NULL;
	}
	c->errpipe = safe_close(c->errpipe);

	if (r == 0) {
		/* EOF: the child has left our memory (exec or exit) and our plan.
		 * Not before: after a failure record it still runs on the plan's
		 * stack until its exit_group(). */
		job_drop_plan(c);
		exec_settle(c, child_execed(c->pid));
		return true;
	}
	c->exec_done = true;
	if (r < 0) {
		/* A short record or a read error: the child did not report
		 * sanely. Refuse rather than claim success. */
		rep.stage = CHILD_STAGE_EXEC;
		rep.err = r == -EBADMSG ? EPROTO : -r;
	}
	detail = rep.stage == CHILD_STAGE_CHDIR	 ? c->req->spawn.cwd
		 : rep.stage == CHILD_STAGE_EXEC ? job_exec_path(c)
						 : "";
	audit_failed(&subj, rep.stage, rep.err, detail);
	reply_failed(c, rep.stage, rep.err, detail);
	return true;
}

static void sigchld_watch(struct reaper *r);

/*
 * c has exited, but wait4() cannot reap it: a tracer holds its zombie
 * until it waits for it, detaches or exits, however long that takes (a
 * client whose program may run its own code can attach a tracer of its
 * uid). Its pidfd stays readable meanwhile, and the event is
 * level-triggered: it leaves the loop, which would otherwise spin. The
 * kernel sends us SIGCHLD when the tracer lets the zombie go
 * (__ptrace_detach -> do_notify_parent), so the held list is retried on
 * every SIGCHLD (on_sigchld), read while the list is non-empty
 * (sigchld_watch()); the full scan (at least every
 * REAPER_FALLBACK_SCAN_SEC while any child lives) is the net should one
 * be missed. Nothing else changes: the pid stays ours, signals (a Signal
 * request, the time limit, a disconnect, the daemon's stop) go to the
 * zombie harmlessly, and the reap sends Exited as usual.
 */
static void
child_hold(struct job *c)
{
	struct reaper *r = c->ctx->reaper;

	if (c->held)
		return;
	if (c->ev_pidfd)
		(void)event_del(c->ev_pidfd);
	log_debug("Child %d exited but a tracer holds it, reaping it once released", (int)c->pid);
	c->held = true;
	c->held_next = r->held;
	r->held = c;
	sigchld_watch(r);
}

/*
 * Reap c, which has exited: its pidfd is readable (the kernel makes it so
 * only once the child is a zombie) or the full scan's waitid(WNOWAIT) saw
 * it. Returns true when it was reaped (and freed). The errpipe is read
 * first: while the zombie stays, /proc/PID still describes it, and the
 * errpipe holds its final word (see the top comment), so
 * errpipe_process() can tell an exec from a death before exec
 * (child_execed()). No waitid(WNOWAIT) peek first: that was one system
 * call per spawn to learn what the caller knows.
 */
static bool
child_collect(struct job *c)
{
	struct reaper *r = c->ctx->reaper;
	struct rusage ru;
	int status = 0;
	pid_t p;

	(void)errpipe_process(c);
	/* Ask /proc again while the zombie is there to ask about. */
	if (c->exec_unknown)
		exec_settle(c, child_execed(c->pid));

	do
		p = wait4(c->pid, &status, WNOHANG, &ru);
	while (p < 0 && errno == EINTR);
	if (p == 0) {
		/* A zombie (its pidfd said so), but not ours yet: a tracer holds it. */
		child_hold(c);
		return false;
	}
	if (p < 0) {
		/* ECHILD cannot happen for a child we track; if it does, the
		 * bookkeeping is wrong: drop the entry rather than spin. */
		log_error_errno(errno, "wait4(%d) failed, forgetting the child: %m", (int)c->pid);
		child_free(c);
		r->ctx->ev.child_gone(r->ctx->ev.server);
		return true;
	}

	/* Reaped: nothing runs on the plan or its stack any more. */
	job_drop_plan(c);
	if (c->exec_unknown) {
		/*
		 * /proc never told, and the zombie is gone: its status decides
		 * (before child_close_fds(): Started carries the pidfd). A
		 * child that fails before exec exits 127 after its record, or
		 * dies of a signal; any other exit status is the program's.
		 * Never Started for a child that may not have exec'd (HOSTILE
		 * 48): a program that ran and exited 127 or was killed gets
		 * Failed{EXEC} then, a wrong answer that says so in the log.
		 */
		bool ran = WIFEXITED(status) && WEXITSTATUS(status) != 127;

		log_warning("Could not tell whether child %d exec'd, reporting it %s by its "
			    "status",
			    (int)c->pid, ran ? "started" : "killed before exec");
		exec_settle(c, ran ? 1 : 0);
	}
	/*
	 * Nothing of the child stays open once its client reads the final
	 * reply: a client (or test) counting the daemon's fds right after
	 * Exited must not see this pidfd.
	 */
	child_close_fds(c);
	if (!c->exec_done) {
		c->exec_done = true;
		reply_failed(c, CHILD_STAGE_EXEC, EPROTO, job_exec_path(c));
	}
	if (c->died_before_exec)
		report_died_before_exec(c, status);
	if (c->exec_ok) {
		audit_exited(c->client_uid, c->req->id, c->pid, status, c->timed_out);
		tell(c, (struct reply){
				.kind = REPLY_EXITED,
				.pid = c->pid,
				.status = status,
				.ru = &ru,
				.wall_usec = usec_since(&c->started_at),
				.timed_out = c->timed_out,
			});
	}
	child_free(c);
	r->ctx->ev.child_gone(r->ctx->ev.server);
	return true;
}

static void
on_errpipe(evutil_socket_t fd, short what, void *userdata)
{
	struct job *c = userdata;

	(void)fd;
	(void)what;
	(void)errpipe_process(c);
}

static void scan_request(struct reaper *r);

static void
on_pidfd(evutil_socket_t fd, short what, void *userdata)
{
	struct job *c = userdata;
	struct reaper *r = c->ctx->reaper;

	(void)fd;
	(void)what;
	/* Every reap is followed by a full scan that starts after it (rate-limited). */
	if (child_collect(c))
		scan_request(r);
}

/* Reap pid if it has exited: true when it is gone (reaped now, or not our child). */
static bool
reap_pid(pid_t pid)
{
	pid_t p;

	do
		p = waitpid(pid, NULL, WNOHANG);
	while (p < 0 && errno == EINTR);
	return p != 0;
}

/*
 * SIGCHLD is read only while some child is abandoned or held: the
 * signalfd's event is on the loop exactly while either list is non-empty. SIGCHLD stays
 * blocked throughout (main.c), so one that came while nobody read it is
 * pending, and the signalfd reports it as soon as its event is added:
 * no exit of an abandoned child is missed, whenever it happened. A stale
 * one only costs a reap_abandoned() that finds nothing.
 */
static void
sigchld_watch(struct reaper *r)
{
	bool on = event_pending(r->sigchld, EV_READ, NULL);
	bool want = r->abandoned || r->held;

	if (want && !on && event_add(r->sigchld, NULL) < 0)
		/* Never leave a zombie for want of an event: scan for it. */
		(void)evtimer_add(r->fallback, &(struct timeval){.tv_sec = 1});
	else if (!want && on)
		(void)event_del(r->sigchld);
}

/* Reap the abandoned child whose pid is pid, if it is one: true when it was. */
static bool
abandoned_reap(struct reaper *r, pid_t pid)
{
	for (struct job **p = &r->abandoned; *p; p = &(*p)->hash_next)
		if ((*p)->pid == pid) {
			struct job *c = *p;

			*p = c->hash_next;
			(void)reap_pid(pid);
			/* Reaped: nothing runs on its plan any more. */
			job_drop_plan(c);
			child_free(c);
			return true;
		}
	return false;
}

/* Reap exactly the abandoned children that have exited: O(abandoned), not O(children). */
static void
reap_abandoned(struct reaper *r)
{
	struct job **p = &r->abandoned;

	while (*p) {
		struct job *c = *p;

		if (reap_pid(c->pid)) {
			*p = c->hash_next;
			job_drop_plan(c);
			child_free(c);
		} else
			p = &c->hash_next;
	}
}

void
reaper_abandon(struct reaper *r, struct job *c)
{
	assert(c->pid > 0 && !c->ev_pidfd);
	log_notice("Gave up on untracked child %d (killed), reaping it when it exits", (int)c->pid);
	owner_unlink(c);
	c->abandoned = true;
	/* It may be stuck for ever (FUSE), pinning a spawner: it keeps counting. */
	if (!c->counted)
		usage_child_take(c->client_uid);
	c->counted = true;
	c->hash_next = r->abandoned;
	r->abandoned = c;
	sigchld_watch(r);
}

/* Retry the reap of every held child: O(held). */
static void
reap_held(struct reaper *r)
{
	struct job *c, *next;

	for (c = r->held; c; c = next) {
		next = c->held_next;
		/* Reaped: off the list and freed; else still held. */
		(void)child_collect(c);
	}
}

static void fallback_arm(struct reaper *r);

/* One exited child found by the full scan: true when it is gone now. */
static bool
full_scan_one(struct reaper *r, pid_t pid)
{
	struct job *c = reaper_find(r, pid);

	if (c)
		return child_collect(c); /* false cannot happen after WNOWAIT saw it */
	if (abandoned_reap(r, pid))
		return true;
	log_warning("Reaping untracked child %d", (int)pid);
	return reap_pid(pid);
}

/*
 * The full scan: every exited child, tracked or not. Tracked ones take the
 * normal path (child_collect), abandoned ones are reaped quietly, anything
 * else is reaped with a warning (a bookkeeping bug, or a child that never
 * made the abandoned list). While any child is left (waitid() says so: not
 * ECHILD), the fallback timer brings the next scan even if nothing else
 * does.
 */
static void
full_scan(struct reaper *r)
{
	bool children_left = true;

	(void)clock_gettime(CLOCK_MONOTONIC, &r->last_scan);
	r->scanned = true;
	for (;;) {
		siginfo_t si = {0};

		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			children_left = errno != ECHILD;
			break;
		}
		/* A spinning scan is worse than a late one: stop where reaping failed. */
		if (si.si_pid == 0 || !full_scan_one(r, si.si_pid))
			break;
	}
	sigchld_watch(r);
	if (children_left)
		fallback_arm(r);
}

/* The fallback: the next full scan REAPER_FALLBACK_SCAN_SEC from now, unless one is due already. */
static void
fallback_arm(struct reaper *r)
{
	struct timeval tv = {.tv_sec = REAPER_FALLBACK_SCAN_SEC};

	if (!evtimer_pending(r->fallback, NULL))
		(void)evtimer_add(r->fallback, &tv);
}

static void
on_fallback(evutil_socket_t fd, short what, void *userdata)
{
	(void)fd;
	(void)what;
	scan_request(userdata);
}

static void
on_scan_timer(evutil_socket_t fd, short what, void *userdata)
{
	(void)fd;
	(void)what;
	/* The window is over (libevent's coarse clock may be a tick early: no matter). */
	full_scan(userdata);
}

/*
 * Run the full scan now, or at the end of the rate-limit window. Whatever
 * exits inside the window is a zombie that the deferred scan still sees,
 * so every SIGCHLD is followed by a scan that starts after it.
 */
static void
scan_request(struct reaper *r)
{
	uint64_t elapsed;
	struct timeval rest;

	if (evtimer_pending(r->scan_timer, NULL))
		return;
	elapsed = r->scanned ? usec_since(&r->last_scan) : REAPER_SCAN_INTERVAL_USEC;
	if (elapsed >= REAPER_SCAN_INTERVAL_USEC) {
		full_scan(r);
		return;
	}
	rest = usec_to_timeval(REAPER_SCAN_INTERVAL_USEC - elapsed);
	if (evtimer_add(r->scan_timer, &rest) < 0)
		full_scan(r); /* never leave a zombie for want of a timer */
}

static void
on_sigchld(evutil_socket_t fd, short what, void *userdata)
{
	struct reaper *r = userdata;
	struct signalfd_siginfo si;
	ssize_t n;

	(void)what;
	/* One read: SIGCHLD does not queue, one pending instance stands for every exit. */
	do
		n = read(fd, &si, sizeof(si));
	while (n < 0 && errno == EINTR);
	/* Tracked children come through their pidfds; these are the known rest. */
	reap_abandoned(r);
	reap_held(r);
	sigchld_watch(r);
	scan_request(r);
}

static int
pidfd_signal(int pidfd, int signo)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
		return -errno;
	return 0;
}

static void child_terminate(struct job *c);

static void
on_timer(evutil_socket_t fd, short what, void *userdata)
{
	struct job *c = userdata;
	uint64_t elapsed;

	(void)fd;
	(void)what;
	if (c->terminating) {
		log_notice("Child %d did not exit %llu ms after SIGTERM, sending SIGKILL",
			   (int)c->pid, (unsigned long long)(c->grace_armed_usec / 1000));
		(void)pidfd_signal(c->pidfd, SIGKILL);
		return;
	}
	/*
	 * The run-time limit fired. libevent's clock may be coarse
	 * (CLOCK_MONOTONIC_COARSE, a tick behind), so it can fire a little
	 * early: the limit is a promise about the child's wall time, so wait
	 * out the rest rather than terminate too soon.
	 */
	elapsed = usec_since(&c->started_at);
	if (elapsed < c->req->spawn.timeout_usec) {
		struct timeval rest = usec_to_timeval(c->req->spawn.timeout_usec - elapsed + 1000);

		if (event_add(c->ev_timer, &rest) == 0)
			return;
	}
	log_notice("Child %d reached its time limit, terminating", (int)c->pid);
	c->timed_out = true;
	child_terminate(c);
}

/*
 * SIGCHLD comes through a signalfd: main.c blocks it (and every other
 * signal) in every thread, so there is no handler and no self-pipe.
 */
static int
sigchld_open(void)
{
	sigset_t set;
	int fd;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGCHLD);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int
reaper_new(const struct context *ctx, struct reaper **ret)
{
	struct reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->ctx = ctx;
	r->sigchld_fd = sigchld_open();
	if (r->sigchld_fd < 0) {
		int e = r->sigchld_fd;

		free(r);
		return e;
	}
	r->scan_timer = evtimer_new(ctx->base, on_scan_timer, r);
	r->fallback = evtimer_new(ctx->base, on_fallback, r);
	r->unknown_timer = evtimer_new(ctx->base, on_exec_retry, r);
	/* Not added: only while a child is abandoned (sigchld_watch()). */
	r->sigchld = event_new(ctx->base, r->sigchld_fd, EV_READ | EV_PERSIST, on_sigchld, r);
	if (!r->scan_timer || !r->fallback || !r->unknown_timer || !r->sigchld) {
		(void)reaper_free(r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

struct reaper *
reaper_free(struct reaper *r)
{
	if (!r)
		return NULL;
	for (unsigned i = 0; i < REAPER_BUCKETS; i++)
		while (r->buckets[i])
			child_free(r->buckets[i]);
	while (r->abandoned) {
		struct job *c = r->abandoned;

		r->abandoned = c->hash_next;
		child_free(c);
	}
	if (r->sigchld)
		event_free(r->sigchld);
	if (r->scan_timer)
		event_free(r->scan_timer);
	if (r->fallback)
		event_free(r->fallback);
	if (r->unknown_timer)
		event_free(r->unknown_timer);
	(void)safe_close(r->sigchld_fd);
	free(r);
	return NULL;
}

/* The child's events; false when libevent cannot have them. */
static bool
child_watch(struct job *c)
{
	struct event_base *base = c->ctx->base;
	struct timeval tv = usec_to_timeval(c->req->spawn.timeout_usec);

	/* The timer was the lookup's deadline (dispatch.c): it is the child's now. */
	if (c->ev_timer)
		event_free(c->ev_timer);
	c->ev_pidfd = event_new(base, c->pidfd, EV_READ | EV_PERSIST, on_pidfd, c);
	c->ev_errpipe = event_new(base, c->errpipe, EV_READ | EV_PERSIST, on_errpipe, c);
	c->ev_timer = evtimer_new(base, on_timer, c);
	return c->ev_pidfd && c->ev_errpipe && c->ev_timer && event_add(c->ev_pidfd, NULL) == 0 &&
	       event_add(c->ev_errpipe, NULL) == 0 &&
	       (tv.tv_sec == 0 && tv.tv_usec == 0 ? true : event_add(c->ev_timer, &tv) == 0);
}

/* Many children live: this one's pidfd goes high (see REAPER_RAISE_PIDFDS_AT). */
static void
child_raise_pidfd(struct reaper *r, struct job *c)
{
	int fd;

	if (r->n_tracked < REAPER_RAISE_PIDFDS_AT)
		return;
	fd = spawn_pidfd_raise(c->pidfd);
	if (!spawn_pidfd_is_high(fd))
		return;
	c->pidfd = fd;
	c->pidfd_high = true;
	r->n_high_pidfds++;
}

bool
reaper_share_table(const struct reaper *r)
{
	/* Fewer live children: a copy of the table costs less than the wait. */
	return r->n_high_pidfds > 0 && r->n_tracked >= REAPER_RAISE_PIDFDS_AT;
}

int
reaper_track(struct reaper *r, struct job *c, struct job **owner_list)
{
	/*
	 * The child's wall time starts at its clone (spawn_start()), not
	 * here: the loop does not wait for the child, which may have exec'd
	 * and run for a while before the loop gets here.
	 */
	if (c->sp && c->sp->started_at.tv_sec != 0)
		c->started_at = c->sp->started_at;
	else
		(void)clock_gettime(CLOCK_MONOTONIC, &c->started_at);
	usage_child_take(c->client_uid);
	c->counted = true;
	fallback_arm(r);
	child_raise_pidfd(r, c);
	if (!child_watch(c)) {
		/* Untrackable: kill it; SIGCHLD reaps it from the abandoned list
		 * (never a blocking wait: a child stuck on FUSE would stall the loop). */
		(void)pidfd_signal(c->pidfd, SIGKILL);
		child_close_fds(c);
		if (c->ev_timer) {
			event_free(c->ev_timer);
			c->ev_timer = NULL;
		}
		reaper_abandon(r, c);
		return -ENOMEM;
	}
	c->hash_next = r->buckets[bucket_of(c->pid)];
	r->buckets[bucket_of(c->pid)] = c;
	c->tracked = true;
	r->n_tracked++;
	if (c->owner) {
		c->owner_head = owner_list;
		c->owner_next = *owner_list;
		if (*owner_list)
			(*owner_list)->owner_prev = c;
		*owner_list = c;
	}
	return 0;
}

struct job *
reaper_find_by_id(struct job *children, uint64_t id)
{
	for (struct job *c = children; c; c = c->owner_next) {
		/* A setup or exec failure was final: that id is free again. */
		bool final_sent = c->exec_done && !c->exec_ok && !c->died_before_exec;

		if (c->req->id == id && !final_sent)
			return c;
	}
	return NULL;
}

int
child_signal(struct job *c, int signo, bool process_group)
{
	/* Each child leads its own session and group (setsid), and its pid
	 * cannot be recycled before we reap it, so -pid names its group. */
	if (process_group)
		return kill(-c->pid, signo) < 0 ? -errno : 0;
	return pidfd_signal(c->pidfd, signo);
}

/* SIGTERM now, SIGKILL after the child's kill grace (capped while stopping). */
static void
child_terminate(struct job *c)
{
	const uint64_t stop_grace = (uint64_t)SPAWND_KILL_GRACE_SEC * 1000000u;
	struct timeval grace;
	int r;

	if (c->terminating)
		return;
	/*
	 * A stopping daemon waits SPAWND_KILL_GRACE_SEC + 2 s for the children
	 * it terminates (server_stop), so a longer per-request grace is cut
	 * there rather than leaving a child that ignores SIGTERM behind.
	 */
	c->grace_armed_usec = c->req->spawn.kill_grace_usec;
	if (c->ctx->stopping && c->grace_armed_usec > stop_grace)
		c->grace_armed_usec = stop_grace;
	grace = usec_to_timeval(c->grace_armed_usec);

	r = pidfd_signal(c->pidfd, SIGTERM);
	if (r < 0)
		log_warning_errno(r, "Failed to send SIGTERM to child %d, ignoring: %m",
				  (int)c->pid);
	c->terminating = true;
	c->ctx->reaper->n_terminating++;
	if (event_add(c->ev_timer, &grace) < 0) {
		log_error("Failed to arm the kill timer of child %d, sending SIGKILL now",
			  (int)c->pid);
		(void)pidfd_signal(c->pidfd, SIGKILL);
	}
}

/*
 * Signal the child's process group like a terminal hangup does: signo to
 * the whole group. Until the child's setsid() there is no group -pid (the
 * kernel never hands out a pid that is still some group's id, and the pid
 * is ours until we reap it), so kill() fails with ESRCH: then the signal
 * goes to the child alone, through its pidfd. It is blocked in the child
 * until just before execve, by which time the dispositions are default.
 */
static void
group_signal(struct job *c, int signo)
{
	int r = kill(-c->pid, signo) < 0 ? -errno : 0;

	if (r == -ESRCH)
		r = pidfd_signal(c->pidfd, signo);
	if (r < 0)
		log_warning_errno(r, "Failed to send signal %d to child %d's group, ignoring: %m",
				  signo, (int)c->pid);
}

void
child_orphan(struct job *c)
{
	owner_unlink(c);
	switch (c->req->spawn.on_disconnect) {
	case ON_DISCONNECT_TERMINATE:
		child_terminate(c);
		break;
	case ON_DISCONNECT_HANGUP:
		/*
		 * What the kernel does on a terminal hangup (tty_vhangup): SIGHUP,
		 * then SIGCONT so that a stopped member sees the SIGHUP. No
		 * escalation: a child that handles SIGHUP may live on, like a
		 * nohup'ed job; its time limit still applies.
		 */
		log_debug("Client of child %d went away, hanging up its process group",
			  (int)c->pid);
		group_signal(c, SIGHUP);
		group_signal(c, SIGCONT);
		break;
	case ON_DISCONNECT_KEEP:
		break;
	}
}

unsigned
reaper_terminating(const struct reaper *r)
{
	return r->n_terminating;
}

void
reaper_stop(struct reaper *r)
{
	const uint64_t stop_grace = (uint64_t)SPAWND_KILL_GRACE_SEC * 1000000u;

	/*
	 * Children whose client left earlier may be in a per-request grace of
	 * up to SPAWND_MAX_KILL_GRACE_MS. The stopping daemon waits only
	 * SPAWND_KILL_GRACE_SEC + 2 s, so cut those graces to the stop grace:
	 * no child that ignores SIGTERM is left behind without its SIGKILL.
	 */
	for (unsigned i = 0; i < REAPER_BUCKETS; i++)
		for (struct job *c = r->buckets[i]; c; c = c->hash_next) {
			struct timeval grace = usec_to_timeval(stop_grace);

			if (!c->terminating || c->grace_armed_usec <= stop_grace)
				continue;
			c->grace_armed_usec = stop_grace;
			if (event_add(c->ev_timer, &grace) < 0)
				(void)pidfd_signal(c->pidfd, SIGKILL);
		}
}
