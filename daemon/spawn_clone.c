/* SPDX-License-Identifier: MIT */
/*
 * The spawn engine (DESIGN.md section 3): create the errpipe, start the
 * child with all signals blocked, hand the caller a pidfd and the errpipe's
 * non-blocking read end, and decode the child's report. Nothing here waits
 * for a child that is still setting up: the event loop watches the errpipe
 * instead (a child can hang in chdir on a FUSE mount, where not even
 * SIGKILL frees it).
 *
 * Both engines take the pidfd atomically with the child (CLONE_PIDFD):
 *  - fork: clone(CLONE_PIDFD | SIGCHLD), a copy of the daemon;
 *  - vfork (the name is a contract; there is no CLONE_VFORK any more):
 *    clone(CLONE_VM | CLONE_PIDFD | SIGCHLD) straight from the event loop,
 *    on a stack of the engine's. No thread, no handshake: clone() returns
 *    as soon as the child exists, and the loop goes on while the child
 *    runs child_exec() in the daemon's memory. The child's fd table is its
 *    own copy (no CLONE_FILES), so the loop may close the received fds and
 *    the errpipe's write end at once. What the child reads (the plan) and
 *    the stack it runs on belong to the caller's struct spawn_prepared,
 *    which lives until the errpipe reports EOF or the child is reaped
 *    (spawn.h, spawn_start()).
 *
 * The shared-table start, for either engine, while the daemon's fd table is
 * big (many live children, whose pidfds then sit at 4096 and above): the
 * clone adds CLONE_FILES, the child's first act is
 * close_range(cut, ~0U, CLOSE_RANGE_UNSHARE), which copies only the fds
 * below the cut (a copy of 10,000 pidfds per spawn, and their 10,000
 * closes in the child, are what it saves), and the loop waits for its
 * CHILD_REPORT_UNSHARED record before it goes on (await_unshare()).
 * docs/architecture.md has the argument.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static spawn_log_fn log_fn;

void
spawn_set_log(spawn_log_fn fn)
{
	log_fn = fn;
}

/* A message for the daemon's log (spawn_set_log()), or stderr without one. */
static void __attribute__((format(printf, 2, 3))) spawn_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, msg);
	else
		(void)fprintf(stderr, "spawnd: %s\n", msg);
}

const char *
spawn_engine_to_string(enum spawn_engine engine)
{
	return engine == SPAWN_ENGINE_VFORK ? "vfork" : "fork";
}

/* ---- signal dispositions, read once ---- */

/* The hex mask after "\nNAME:\t" in a /proc status text. */
static int
status_mask(const char *text, const char *name, uint64_t *ret)
{
	const char *p = strstr(text, name);
	char *end;

	if (!p)
		return -EBADMSG;
	p += strlen(name);
	errno = 0;
	*ret = strtoull(p, &end, 16);
	if (errno != 0 || end == p || *end != '\n')
		return -EBADMSG;
	return 0;
}

int
spawn_signals_to_reset(uint64_t *ret)
{
	char buf[8192];
	uint64_t ign = 0, cgt = 0;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	/* Our own /proc entry: not a client-chosen path, it cannot hang. */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Read until both lines are in (normally the first read), EOF or a full buffer. */
	r = -EBADMSG;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		r = status_mask(buf, "\nSigIgn:\t", &ign);
		if (r == 0)
			r = status_mask(buf, "\nSigCgt:\t", &cgt);
		if (r == 0)
			break;
	}
	(void)safe_close(fd);
	if (r < 0)
		return r;
	*ret = ign | cgt;
	return 0;
}

/*
 * The set every child resets, read at the first spawn: by then the daemon
 * has set every disposition it will ever set (main.c ignores SIGPIPE; it
 * installs no handler: its signals come through signalfds), and only the
 * loop thread, which spawns, sets any. A disposition that
 * changed later would not be reset in the child; nothing changes one.
 */
static uint64_t
signals_to_reset(void)
{
	static uint64_t mask;
	static bool known;

	if (!known) {
		if (spawn_signals_to_reset(&mask) < 0)
			mask = UINT64_MAX;
		known = true;
	}
	return mask;
}

/* ---- the vfork engine's stacks ---- */

/*
 * child_exec() needs ~8 KiB (CHILD_MAX_FDS ints and a dirent buffer);
 * sanitizers need more. MAP_NORESERVE: untouched pages cost nothing.
 */
#define STACK_SIZE (256u * 1024u)
/* Stacks kept for reuse: as many as children usually start at once. */
#define STACKS_KEPT 8u

/*
 * [guard page][ ... the stack grows down ... ][struct spawn_stack]: the
 * bookkeeping sits at the top of its own mapping, and the stack starts
 * just below it. An overflow hits the guard page, not a neighbour.
 */
struct spawn_stack {
	void *base;
	size_t len;
	struct spawn_stack *next;
};

/* Loop thread only (spawn_start() and the callers of spawn_prepared_free()). */
static struct {
	struct spawn_stack *free;
	unsigned n_free;
} stacks;

/* 64: more than the 16 bytes the ABIs want for a stack pointer. */
#define STACK_TOP_ALIGN 64u

#if SPAWN_HAVE_VFORK_ENGINE
static struct spawn_stack *
stack_get(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct spawn_stack *st;
	size_t len;
	void *base;

	if (stacks.free) {
		st = stacks.free;
		stacks.free = st->next;
		stacks.n_free--;
		st->next = NULL;
		return st;
	}
	if (page <= 0)
		return NULL;
	len = (size_t)page + STACK_SIZE;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, (size_t)page, PROT_NONE) < 0) {
		(void)munmap(base, len);
		return NULL;
	}
	/* base + len is page-aligned, so the header is STACK_TOP_ALIGN-aligned. */
	st = (struct spawn_stack *)(void *)((char *)base + len - STACK_TOP_ALIGN);
	*st = (struct spawn_stack){.base = base, .len = len};
	return st;
}

/* Where the child's stack pointer starts: right below the header. */
static void *
stack_top(struct spawn_stack *st)
{
	return st;
}
#endif

void
spawn_stack_put(struct spawn_stack *st)
{
	if (!st)
		return;
	/* LIFO: the stacks whose pages are warm are the ones reused. */
	if (stacks.n_free < STACKS_KEPT) {
		st->next = stacks.free;
		stacks.free = st;
		stacks.n_free++;
		return;
	}
	(void)munmap(st->base, st->len);
}

/* ---- plans given up while a child may run on them ---- */

static struct spawn_prepared *orphans;

void
spawn_prepared_orphan(struct spawn_prepared *sp)
{
	if (!sp)
		return;
	/* Its stack too: a child that is still running may be using it. */
	sp->orphan_next = orphans;
	orphans = sp;
}

/* ---- the engines ---- */

/*
 * The errno with which the system refused clone(CLONE_VM), or 0. Set once,
 * by the loop thread: from then on every spawn forks.
 */
#if SPAWN_HAVE_VFORK_ENGINE
static int clone_vm_refused;
#endif

/*
 * Whether a clone() errno means that this system will never let us do that
 * clone: EPERM or ENOSYS from a seccomp profile (container runtimes,
 * systemd's SystemCallFilter=), EINVAL from an emulator such as qemu-user,
 * which cannot do CLONE_VM without CLONE_THREAD, or from a kernel without
 * CLONE_PIDFD (< 5.2). glibc's posix_spawn and CPython fall back to fork
 * for the same reasons (bpo-47151). EAGAIN and ENOMEM are transient and
 * fail only that spawn.
 */
static bool
clone_errno_is_permanent(int err)
{
	return err == EINVAL || err == ENOSYS || err == EPERM;
}

/*
 * Every signal blocked across the clone: until child_exec() has reset all
 * dispositions, a signal delivered to the child would run one of the
 * daemon's handlers there (glibc spawni.c, CPython do_fork_exec). The
 * child restores plan.sigmask (empty) itself, right before execve.
 *
 * The daemon blocks them for good in every thread instead and says so
 * (spawn_set_signals_blocked()): then the clone inherits that mask and
 * this pair of rt_sigprocmask calls per spawn is not needed.
 */
static bool signals_blocked_for_good;

void
spawn_set_signals_blocked(void)
{
	signals_blocked_for_good = true;
}

static int
block_all(sigset_t *saved)
{
	sigset_t all;

	if (signals_blocked_for_good)
		return 0;
	if (sigfillset(&all) < 0)
		return -errno;
	return -pthread_sigmask(SIG_SETMASK, &all, saved);
}

/* Undo block_all(). */
static void
restore_mask(const sigset_t *saved)
{
	if (!signals_blocked_for_good)
		(void)pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/*
 * A copy of the daemon, with its pidfd from the same system call. The raw
 * clone (not fork()) skips glibc's at-fork handlers, which the child does
 * not need: it runs child_exec() only, raw system calls. Never inlined
 * (STYLE.md section 3). Returns the pid (0 in the child) or -errno.
 */
static __attribute__((noinline)) pid_t
clone_copy(int *pidfd, unsigned long files)
{
	unsigned long flags = (unsigned long)(CLONE_PIDFD | SIGCHLD) | files;
	long pid;

	/*
	 * The raw clone's argument order is the architecture's (the kernel's
	 * CLONE_BACKWARDS* in kernel/fork.c, glibc's arch-fork.h). With
	 * CLONE_PIDFD the pidfd is stored through parent_tid, so that one
	 * must be in its place; child_tid and tls are unused (0), so where
	 * only those two swap places (CLONE_BACKWARDS: i386, arm, powerpc,
	 * mips, ...) the default order is right as it is.
	 */
#if defined(__s390__)
	/* CLONE_BACKWARDS2 (s390, s390x): stack first, then flags. */
	pid = syscall(SYS_clone, NULL, flags, pidfd, NULL, NULL);
#elif defined(__microblaze__)
	/* CLONE_BACKWARDS3: a stack size between stack and parent_tid. */
	pid = syscall(SYS_clone, flags, NULL, 0, pidfd, NULL, NULL);
#else
	/* flags, stack, parent_tid (the pidfd), then child_tid and tls, both unused. */
	pid = syscall(SYS_clone, flags, NULL, pidfd, NULL, NULL);
#endif
	return pid < 0 ? -errno : (pid_t)pid;
}

/*
 * fork() + pidfd_open(): only where clone refuses CLONE_PIDFD (an old
 * qemu-user, a seccomp profile). A child whose pidfd cannot be had is
 * killed and handed back by pid for the reaper's abandoned list.
 */
static int
start_fork_fallback(struct spawn_prepared *sp, pid_t *ret_pid, int *ret_pidfd)
{
	pid_t pid;
	int pidfd;

	/* fork() copies the fd table: this child never shares ours. */
	sp->plan.shared_cut = 0;
	pid = fork();

	if (pid == 0)
		child_exec(&sp->plan);
	if (pid < 0)
		return -errno;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	*ret_pid = pid;
	if (pidfd < 0) {
		int r = -errno;

		(void)kill(pid, SIGKILL);
		return r;
	}
	*ret_pidfd = pidfd;
	return 0;
}

/*
 * sparc's clone returns the parent's pid in the child as well and tells
 * the child by a second register (%o1), which syscall() drops (glibc has
 * INLINE_CLONE_SYSCALL for it): clone_copy()'s child would carry on as the
 * daemon. So there the fork engine always takes fork() + pidfd_open().
 */
#if defined(__sparc__)
static bool clone_pidfd_refused = true;
#else
static bool clone_pidfd_refused;
#endif

static int
start_fork(struct spawn_prepared *sp, pid_t *ret_pid, int *ret_pidfd)
{
	int pidfd = -EBADF, r;
	sigset_t saved;
	pid_t pid;

	r = block_all(&saved);
	if (r < 0)
		return r;
	if (clone_pidfd_refused) {
		r = start_fork_fallback(sp, ret_pid, ret_pidfd);
		restore_mask(&saved);
		return r;
	}
	pid = clone_copy(&pidfd, sp->plan.shared_cut > 0 ? CLONE_FILES : 0);
	if (pid == 0)
		child_exec(&sp->plan);
	if (pid < 0 && clone_errno_is_permanent(-pid)) {
		clone_pidfd_refused = true;
		spawn_log(LOG_WARNING,
			  "clone(CLONE_PIDFD) is not allowed here (%s); the fork engine uses "
			  "fork() and pidfd_open() from now on",
			  strerror(-pid));
		r = start_fork_fallback(sp, ret_pid, ret_pidfd);
		restore_mask(&saved);
		return r;
	}
	restore_mask(&saved);
	if (pid < 0)
		return pid;
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}

/*
 * The clone itself, in a function of its own that is never inlined
 * (STYLE.md section 3): glibc's clone() switches the child to `top` and
 * calls child_clone_entry(plan) there; this thread returns as soon as the
 * child exists, with the pid or -errno. CLONE_PIDFD stores the pidfd
 * before either runs on. The kernel does not carry the loop thread's rseq
 * registration over to a CLONE_VM child (rseq_fork()), so it never writes
 * into the loop thread's TLS on the child's behalf.
 */
#if SPAWN_HAVE_VFORK_ENGINE
static __attribute__((noinline)) pid_t
clone_vm(const struct child_plan *plan, void *top, int *pidfd)
{
	int files = plan->shared_cut > 0 ? CLONE_FILES : 0;
	pid_t pid = clone(child_clone_entry, top, CLONE_VM | CLONE_PIDFD | SIGCHLD | files,
			  (void *)plan, pidfd);

	return pid < 0 ? -errno : pid;
}
#endif

/* start_vm(): nothing was started; fork instead. */
#define START_USE_FORK 1

#if SPAWN_HAVE_VFORK_ENGINE
static int
start_vm(struct spawn_prepared *sp, pid_t *ret_pid, int *ret_pidfd)
{
	int pidfd = -EBADF, r;
	sigset_t saved;
	pid_t pid;

	if (!sp->stack) {
		sp->stack = stack_get();
		if (!sp->stack)
			return START_USE_FORK;
	}
	r = block_all(&saved);
	if (r < 0)
		return r;
	pid = clone_vm(&sp->plan, stack_top(sp->stack), &pidfd);
	restore_mask(&saved);
	if (pid < 0 && clone_errno_is_permanent(-pid)) {
		clone_vm_refused = -pid;
		spawn_log(LOG_WARNING,
			  "clone(CLONE_VM) is not allowed here (%s); the vfork engine falls back "
			  "to fork for this and every later spawn",
			  strerror(-pid));
		return START_USE_FORK;
	}
	if (pid < 0)
		return pid;
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}
#endif

/* ---- the shared-table start (docs/architecture.md) ---- */

/*
 * Where long-lived pidfds go once many children live (spawn_pidfd_raise()):
 * above the daemon's working fds, so that a shared-table child's cut stays
 * below them. Not at half of a large RLIMIT_NOFILE: the kernel allocates
 * the fd array up to the highest fd, 8 bytes per number.
 */
#define PIDFD_HIGH_BASE 4096

/* Set once, loop thread: the shared-table start is not to be used here. */
static bool shared_refused;
static bool shared_probed;

/*
 * Whether this kernel has close_range() at all: (~0U, ~0U, 0) closes no fd
 * that can exist and returns 0. Never CLOSE_RANGE_UNSHARE here: the loop
 * thread shares its table with the resolver threads and the closer.
 */
static bool
shared_usable(void)
{
	if (!shared_probed) {
		shared_probed = true;
		if (syscall(SYS_close_range, ~0U, ~0U, 0) < 0)
			spawn_shared_refuse(errno);
	}
	return !shared_refused;
}

void
spawn_shared_refuse(int err)
{
	if (shared_refused)
		return;
	shared_refused = true;
	spawn_log(LOG_WARNING,
		  "close_range(CLOSE_RANGE_UNSHARE) is not available here (%s); every child "
		  "copies the daemon's whole fd table from now on",
		  strerror(err));
}

int
spawn_pidfd_raise(int pidfd)
{
	static int base = -1;
	int fd;

	if (base < 0) {
		struct rlimit rl;

		/* main() has raised the soft limit by the time children live. */
		base = 0;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2 * PIDFD_HIGH_BASE)
			base = PIDFD_HIGH_BASE;
	}
	if (base == 0 || pidfd >= base || !shared_usable())
		return pidfd;
	fd = fcntl(pidfd, F_DUPFD_CLOEXEC, base);
	if (fd < 0)
		return pidfd; /* only slower */
	(void)safe_close(pidfd);
	return fd;
}

bool
spawn_pidfd_is_high(int pidfd)
{
	return pidfd >= PIDFD_HIGH_BASE;
}

/* How often a wait for a shared-table child's own table is logged. */
#define UNSHARE_LOG_MSEC 1000

/*
 * Wait until a shared-table child has its own fd table: its
 * CHILD_REPORT_UNSHARED record (consumed here), a failure record (it could
 * not unshare: -errno, and later spawns copy the table), or its death. The
 * child's first system call does it, with every signal blocked and root's
 * credentials still (only root could stop it): normally microseconds, the
 * wake-up that the plain start does not pay. Waiting keeps today's rule
 * that a child copies a table with no other request's fd in it: the loop
 * receives nothing and closes nothing meanwhile (docs/architecture.md).
 */
static int
await_unshare(pid_t pid, int rfd, int pidfd)
{
	unsigned waited = 0;

	for (;;) {
		struct pollfd p[2] = {{.fd = rfd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};
		struct child_report rep;
		int n = poll(p, 2, UNSHARE_LOG_MSEC), r;

		if (n <= 0) {
			if (n == 0 && ++waited % 10 == 1)
				spawn_log(LOG_WARNING,
					  "Child %d has not taken its own fd table after %u s, "
					  "waiting on",
					  (int)pid, waited * UNSHARE_LOG_MSEC / 1000);
			continue;
		}
		if (p[0].revents) {
			r = spawn_read_report(rfd, &rep);
			if (r == 1 && rep.stage == CHILD_REPORT_UNSHARED)
				return 0;
			if (r == 1) {
				spawn_shared_refuse(rep.err);
				return rep.err > 0 ? -rep.err : -EIO;
			}
			if (r != -EAGAIN)
				return 0; /* cannot be while we hold the write end */
		}
		if (p[1].revents)
			return 0; /* dead before it unshared: it copied nothing */
	}
}

/*
 * The cut of a shared-table child: above every fd its plan names (wfd, the
 * errpipe's write end, included), on the kernel's grain. 0 = start plain.
 */
static unsigned
shared_cut(const struct spawn_prepared *sp, int wfd)
{
	int top = wfd;

	if (!sp->share_table || !shared_usable())
		return 0;
	for (size_t i = 0; i < sp->plan.n_fds; i++)
		if (sp->plan.fds[i].src > top)
			top = sp->plan.fds[i].src;
	if (top < 0 || top >= INT_MAX - (int)CHILD_CUT_GRAIN)
		return 0;
	return ((unsigned)top + CHILD_CUT_GRAIN) / CHILD_CUT_GRAIN * CHILD_CUT_GRAIN;
}

int
spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid, int *ret_pidfd,
	    int *ret_errpipe)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	int pipefd[2], pidfd = -EBADF, r;
	pid_t pid = 0;

	if (!sp || !ret_pid || !ret_pidfd || !ret_errpipe)
		return -EINVAL;
	if (engine != SPAWN_ENGINE_FORK && engine != SPAWN_ENGINE_VFORK)
		return -EINVAL;
#if defined(SPAWND_FORCE_FORK) || !SPAWN_HAVE_VFORK_ENGINE
	/* Built without a vfork engine (child_exec.h): main.c says so. */
	engine = SPAWN_ENGINE_FORK;
#endif
	/*
	 * A child that resets oom_score_adj never shares our memory: the
	 * kernel would apply its write to the daemon too (main.c,
	 * engine_for_oom_score_adj(), which picks the fork engine for such a
	 * daemon and says so).
	 */
	if (sp->plan.write_oom_adj)
		engine = SPAWN_ENGINE_FORK;

	/*
	 * Both ends O_NONBLOCK in one call: the parent's read end must not
	 * block the loop, and the child's single 8-byte write into an empty
	 * pipe can never see EAGAIN.
	 */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rfd = pipefd[0];
	wfd = pipefd[1];

	sp->plan.reset_signals = signals_to_reset();
	sp->plan.errpipe = wfd;
	sp->plan.shared_cut = shared_cut(sp, wfd);
	(void)clock_gettime(CLOCK_MONOTONIC, &sp->started_at);
	r = START_USE_FORK;
#if SPAWN_HAVE_VFORK_ENGINE
	if (engine == SPAWN_ENGINE_VFORK && !clone_vm_refused)
		r = start_vm(sp, &pid, &pidfd);
#endif
	if (r == START_USE_FORK)
		r = start_fork(sp, &pid, &pidfd);
	/* A child on our table (unless the fork fallback cleared the cut). */
	if (r == 0 && sp->plan.shared_cut > 0) {
		r = await_unshare(pid, rfd, pidfd);
		if (r < 0)
			pidfd = safe_close(pidfd); /* it exits by itself: abandoned */
	}
	/*
	 * The child has its own copy of the write end. Ours goes, or EOF would
	 * never come; the plan's number stays for the child to read.
	 */
	wfd = safe_close(wfd);
	if (r < 0) {
		/* 0, or a child untracked: killed (fork fallback), or exiting
		 * after it could not unshare */
		*ret_pid = pid;
		return r;
	}

	*ret_pid = pid;
	*ret_pidfd = pidfd;
	*ret_errpipe = TAKE_FD(rfd);
	return 0;
}

int
spawn_read_report(int errpipe, struct child_report *ret)
{
	struct child_report rep;
	ssize_t n;

	do
		n = read(errpipe, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	/* The child writes the record with one atomic write: half is garbage. */
	if ((size_t)n != sizeof(rep))
		return -EBADMSG;
	if (ret)
		*ret = rep;
	return 1;
}
