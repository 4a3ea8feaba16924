/* SPDX-License-Identifier: MIT */
/*
 * The child-exec core: the only code that runs between fork/clone and
 * execve (DESIGN.md section 3, STYLE.md section 3).
 *
 * Contract. This code runs in a child of a privileged, multi-threaded
 * daemon, possibly sharing its memory (vfork/CLONE_VM). It makes raw system
 * calls only (sys() below), never a libc function: no malloc/free, no
 * stdio, no strerror, no logging, no getpw* or other NSS, no locale, no
 * assert, no libevent, no protobuf-c, and not even the libc syscall
 * wrappers that signal-safety(7) allows:
 *  - after CLONE_VM (the vfork engine) we run on the event loop thread's
 *    TLS while that thread runs on, so every errno a wrapper writes, and
 *    the cancellation state that a cancellation-point wrapper (write,
 *    close, open, ...) flips on entry and exit, would be written into the
 *    loop thread's state, in the daemon's memory, under its feet;
 *  - glibc's set*id()/setgroups() signal every thread of the process they
 *    think they are in (the daemon's threads, here; CPython
 *    _posixsubprocess.c, bpo-35823), and musl's setrlimit() does the same.
 * sys() returns the kernel's result, >= 0 or -errno, and touches nothing
 * else; so nothing in here writes errno or any other thread state. The
 * child starts with every signal blocked that has a handler: the daemon
 * keeps all but the core-dumping ones (which have none) blocked in every
 * thread for good (main.c), or spawn_start() blocks them around the clone
 * (spawn_set_signals_blocked()); this code resets dispositions first and
 * unblocks last. Every input was computed and
 * allocated in the parent and is only read here. CI enforces the call list:
 * `nm -u` of this object may name only the compiler's helpers in
 * tests/child-exec.allow, so a libc wrapper that creeps back in fails it.
 *
 * Order: DESIGN.md section 3 item 2, with one exception forced by the
 * kernel: oom_score_adj is reset before the credential switch, not after
 * the rlimits (see reset_oom_score_adj()). The daemon's fds are closed
 * right after the fd setup, before anything that can block (chdir and
 * execve on a FUSE mount can hang for ever): a stuck child must not keep the
 * listening socket or other clients' connections open (HOSTILE.md 47).
 *
 * vfork engine: child_clone_entry() (at the end of this file) runs first,
 * on the engine's stack, in the daemon's memory, with every signal blocked.
 * A credential switch in there makes the kernel mark the shared address
 * space non-dumpable (fs.suid_dumpable=0, the default), which is also what
 * keeps the target user from ptracing this child, and through it the
 * daemon's memory, between setresuid and execve (docs/security.md).
 *
 * Failure: one fixed-size struct child_report {stage, errno} on the CLOEXEC
 * errpipe, then exit 127. EOF on the pipe without a record means execve
 * succeeded. We never exec with partially applied credentials.
 */
#define _GNU_SOURCE
#include "child_exec.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/* ---- raw system calls ---- */

/*
 * One system call, without libc: returns what the kernel returns, a
 * non-negative value or -errno. Inline assembly for the architectures we
 * build for; elsewhere glibc's syscall(), which writes errno on failure.
 * errno is thread-local: in a child that shares the daemon's memory it
 * would be the event loop thread's. So there is no vfork engine where
 * syscall() is used (SPAWN_HAVE_VFORK_ENGINE, child_exec.h): only a forked
 * child, whose errno is its own, runs this code there. syscall() is no
 * cancellation point. tests/CMakeLists.txt allows the symbol only on
 * those architectures.
 */
#if defined(__x86_64__)
static inline long
sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static inline long
sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory", "cc");
	return x0;
}
#elif defined(__riscv) && __riscv_xlen == 64
static inline long
sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long a7 __asm__("a7") = nr;
	register long a0 __asm__("a0") = a;
	register long a1 __asm__("a1") = b;
	register long a2 __asm__("a2") = c;
	register long a3 __asm__("a3") = d;
	register long a4 __asm__("a4") = e;
	register long a5 __asm__("a5") = f;

	__asm__ volatile("ecall"
			 : "+r"(a0)
			 : "r"(a7), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5)
			 : "memory");
	return a0;
}
#else
#if SPAWN_HAVE_VFORK_ENGINE
#error "a vfork engine needs inline-assembly system calls: see SPAWN_HAVE_VFORK_ENGINE"
#endif
static long
sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);

	return r < 0 ? -errno : r;
}
#endif

/* Up to six arguments, each converted to long as the kernel ABI wants. */
#define SYS_ARG(x) ((long)(x))
#define sys0(nr) sys6((nr), 0, 0, 0, 0, 0, 0)
#define sys1(nr, a) sys6((nr), SYS_ARG(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b) sys6((nr), SYS_ARG(a), SYS_ARG(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c) sys6((nr), SYS_ARG(a), SYS_ARG(b), SYS_ARG(c), 0, 0, 0)
#define sys4(nr, a, b, c, d) sys6((nr), SYS_ARG(a), SYS_ARG(b), SYS_ARG(c), SYS_ARG(d), 0, 0)

/*
 * The size of the kernel's sigset_t, which rt_sigaction and rt_sigprocmask
 * want: 64 signals (128 on MIPS). Its first bytes are laid out like the
 * start of glibc's larger sigset_t, so &plan->sigmask can be passed as is.
 */
#if defined(__mips__)
#define KERNEL_SIGSET_SIZE 16
#else
#define KERNEL_SIGSET_SIZE 8
#endif
/* prlimit64 takes a struct rlimit64: two 64-bit values. */
_Static_assert(sizeof(struct rlimit) == 16, "struct rlimit is not the kernel's rlimit64");

_Noreturn static void
exit_now(int code)
{
	/* No CLONE_THREAD: exit_group ends this child only, never the daemon. */
	for (;;)
		(void)sys1(__NR_exit_group, code);
}

static int
close_fd(int fd)
{
	return (int)sys1(__NR_close, fd);
}

static int
close_span(unsigned first, unsigned last, unsigned flags)
{
	return (int)sys3(__NR_close_range, first, last, flags);
}

/* F_DUPFD_CLOEXEC: the lowest free fd >= min, close-on-exec. */
static int
dup_above(int fd, int min)
{
	return (int)sys3(__NR_fcntl, fd, F_DUPFD_CLOEXEC, min);
}

/* ---- the steps ---- */

/*
 * The record for getdents64(2). Its layout is kernel ABI and never changes;
 * d_name is sized generously, only short fd numbers are ever read from it.
 */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[256];
};

/*
 * Report the failed stage and errno to the parent. The write is a single
 * record smaller than PIPE_BUF into an otherwise unused pipe, so it is
 * atomic; only EINTR needs a retry. Nothing can be done if it fails: the
 * parent then sees EOF and a child that exited 127 without exec, which the
 * reaper reports as such.
 */
static void
send_record(int errfd, int32_t stage, int32_t err)
{
	const struct child_report r = {.stage = stage, .err = err};
	const char *buf = (const char *)&r;
	size_t left = sizeof(r);

	while (left > 0) {
		long n = sys3(__NR_write, errfd, buf, left);

		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		buf += n;
		left -= (size_t)n;
	}
}

static void
report(int errfd, enum child_stage stage, int err)
{
	send_record(errfd, stage, err > 0 ? err : EIO);
}

/* Report, then die: the child never goes on after a failed step. */
_Noreturn static void
fail(int errfd, enum child_stage stage, int err)
{
	report(errfd, stage, err);
	exit_now(127);
}

/*
 * Set the disposition of every signal in `which` to SIG_DFL, handlers and
 * SIG_IGN alike. The parent puts in `which` every signal it saw ignored or
 * caught (spawn_signals_to_reset()), or all of them: one sigaction() per
 * possible signal is 64 syscalls per child, which is measurable where
 * syscalls are slow (docs/benchmarks.md).
 * Handlers must go before the mask is restored: a signal that is pending
 * in the child (all are blocked since before the fork) would otherwise run
 * the daemon's handler in the child (e.g. libevent's, which writes to the
 * daemon's own wakeup socket). SIG_IGN must go because execve keeps it:
 * a daemon that ignores SIGPIPE would hand that on to every child
 * (HOSTILE.md F29). The raw call also resets glibc's internal signals
 * (SIGCANCEL, SIGSETXID), which glibc's sigaction() refuses: harmless, the
 * child has its own handler table (no CLONE_SIGHAND) and execve would
 * reset them anyway.
 *
 * The kernel's struct sigaction for SIG_DFL is all zeroes (handler 0, no
 * flags, no restorer, empty mask) whether or not the architecture has the
 * sa_restorer field, so a zeroed buffer at least that large serves all.
 */
static int
reset_signal_dispositions(uint64_t which)
{
	static const unsigned long dfl[4] = {0};

	for (int sig = 1; sig <= 64; sig++) {
		long r;

		if (!(which & (UINT64_C(1) << (sig - 1))))
			continue;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		r = sys4(__NR_rt_sigaction, sig, dfl, NULL, KERNEL_SIGSET_SIZE);
		if (r < 0 && r != -EINVAL)
			return (int)r;
	}
	return 0;
}

static int close_daemon_fds(const struct child_plan *p, const int *moved, int errfd, int fd_bound);

/*
 * Build the fd table: p->fds[i].src becomes p->fds[i].dst, without CLOEXEC.
 * Returns the fd the errpipe now lives on through *errfd, which ends up at
 * exactly max_dst + 1 so that one close_range() call can clear everything
 * above it.
 *
 * Two phases, because a source may sit on another entry's target (swaps
 * 0<->1, cycles, a received fd that happens to be 3 while 3 is a target) and
 * a naive dup2 loop would overwrite it before it is used (flatpak#4286,
 * h2o#1203, CPython bpo-12607; libuv's "low numbered fds" comment):
 *  1. every source at or below max_dst, and the errpipe if it is there, is
 *     copied above max_dst with F_DUPFD_CLOEXEC. Sources already above
 *     max_dst can never be overwritten by phase 2 and stay where they are.
 *     Then every other fd, the daemon's, is closed (close_daemon_fds()):
 *     phase 2 may close a client's fd, which can wait for ever on FUSE.
 *  2. dup3(copy, dst, 0) for every entry. A copy is always > max_dst >= dst,
 *     so it is never the src == dst case (which dup3 refuses and dup2 would
 *     leave with CLOEXEC set, CPython bpo-10806); the new fd never has
 *     FD_CLOEXEC.
 * Several entries may share one source (the same pipe as 1 and 2); each gets
 * its own copy, which costs one fd per entry and keeps the code simple.
 */
static int
setup_fds(const struct child_plan *p, int *errfd, int fd_bound)
{
	int moved[CHILD_MAX_FDS];
	int top = p->max_dst + 1, r;

	if (p->n_fds > CHILD_MAX_FDS || p->max_dst < 0 || p->max_dst >= INT_MAX - 1)
		return -EINVAL;

	/* The errpipe first: every later failure must still reach the parent. */
	if (*errfd <= p->max_dst) {
		int fd = dup_above(*errfd, top);

		if (fd < 0)
			return fd;
		*errfd = fd;
	}

	for (size_t i = 0; i < p->n_fds; i++) {
		int src = p->fds[i].src;

		if (src <= p->max_dst) {
			src = dup_above(src, top);
			if (src < 0)
				return src;
		}
		moved[i] = src;
	}

	r = close_daemon_fds(p, moved, *errfd, fd_bound);
	if (r < 0)
		return r;

	for (size_t i = 0; i < p->n_fds; i++) {
		r = (int)sys3(__NR_dup3, moved[i], p->fds[i].dst, 0);
		if (r < 0)
			return r;
	}

	/*
	 * Only now may max_dst + 1 be overwritten: before phase 2 it could have
	 * held a source (a received fd or a phase-1 copy). dup3 closes whatever
	 * is there; everything above max_dst except the errpipe is garbage from
	 * here on and is closed by close_other_fds().
	 */
	if (*errfd != top) {
		r = (int)sys3(__NR_dup3, *errfd, top, O_CLOEXEC);
		if (r < 0)
			return r;
		/* Above max_dst, so no target: a pipe, whose close never waits. */
		(void)close_fd(*errfd);
		*errfd = top;
	}
	return 0;
}

/* Whether fd is in keep[0..n) (a handful of fds: a scan is enough). */
static bool
is_kept(const int *keep, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/* The lowest fd in keep[0..n) that is >= from, or -1. */
static int
lowest_kept_from(const int *keep, size_t n, int from)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (keep[i] >= from && (best < 0 || keep[i] < best))
			best = keep[i];
	return best;
}

static int
parse_fd_name(const char *s)
{
	int v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * Fallback for kernels without close_range (< 5.9) or sandboxes whose
 * seccomp filter refuses it: list /proc/self/fd with getdents64
 * (opendir/readdir allocate, which is not allowed here; CPython
 * _close_open_fds_safe does the same) and close every fd not in keep.
 * Closing entries while listing is fine: the kernel walks the fd table by
 * number. Without /proc, close every number up to fd_bound (the hard
 * RLIMIT_NOFILE).
 */
static int
close_all_but_slow(const int *keep, size_t n_keep, int fd_bound)
{
	/* The kernel aligns records to 8 bytes from the buffer's start. */
	_Alignas(struct linux_dirent64) char buf[sizeof(struct linux_dirent64) * 8];
	int dirfd;
	long n;

	dirfd = (int)sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dirfd < 0) {
		for (int fd = 0; fd < fd_bound; fd++)
			if (!is_kept(keep, n_keep, fd))
				(void)close_fd(fd);
		return 0;
	}

	while ((n = sys3(__NR_getdents64, dirfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			const struct linux_dirent64 *de = (const void *)(buf + off);
			int fd = parse_fd_name(de->d_name);

			off += de->d_reclen;
			if (fd < 0 || fd == dirfd || is_kept(keep, n_keep, fd))
				continue;
			(void)close_fd(fd);
		}
	}
	(void)close_fd(dirfd);
	return n < 0 ? (int)n : 0;
}

/*
 * Close every fd but those in keep: one close_range() per gap between
 * them, in ascending order, up to the end of the table. The daemon's own
 * fds are CLOEXEC from birth, but the child's fd table must be exactly the
 * plan even if one is not (HOSTILE.md E23, runc CVE-2024-21626), and
 * CLOEXEC acts only at execve, which a child stuck in chdir never reaches
 * (HOSTILE.md 47).
 */
static int
close_all_but(const int *keep, size_t n_keep, int fd_bound)
{
	int next = 0, r;

	for (;;) {
		int k = lowest_kept_from(keep, n_keep, next);

		r = k < 0 || k > next ? close_span((unsigned)next, k < 0 ? ~0U : (unsigned)k - 1, 0)
				      : 0;
		if (r < 0)
			break;
		if (k < 0)
			return 0;
		next = k + 1;
	}
	/*
	 * ENOSYS: kernel < 5.9. EPERM: container runtimes whose seccomp
	 * profile predates close_range refuse unknown syscalls with EPERM
	 * (moby#42680). Any other error is real.
	 */
	if (r == -ENOSYS || r == -EPERM)
		return close_all_but_slow(keep, n_keep, fd_bound);
	return r;
}

/*
 * Before anything closes one of the client's fds: close every fd of the
 * daemon's, keeping only the plan's sources, their phase-1 copies and the
 * errpipe. close() of a FUSE file waits for the server's answer to FLUSH
 * (every close, not only the last), and phase 2's dup3() and
 * close_other_fds() close the client's originals: a server that never
 * answers would leave this child stuck there, and it must not be stuck
 * holding the listening socket, other clients' connections or the loop's
 * pipes (HOSTILE.md 46/47). The daemon's own fds are sockets, pipes,
 * eventfds, pidfds and /dev/null: closing them never waits.
 */
static int
close_daemon_fds(const struct child_plan *p, const int *moved, int errfd, int fd_bound)
{
	int keep[2 * CHILD_MAX_FDS + 1];
	size_t n = 0;

	for (size_t i = 0; i < p->n_fds; i++) {
		keep[n++] = p->fds[i].src;
		keep[n++] = moved[i];
	}
	keep[n++] = errfd;
	return close_all_but(keep, n, fd_bound);
}

/*
 * Close every fd that is not a target and not the errpipe (which sits at
 * max_dst + 1): the gaps between targets (targets {0,1,2,7} must not
 * inherit the daemon's 3..6) and everything above the errpipe: what is
 * left of the client's originals and phase-1 copies.
 */
static int
close_other_fds(const struct child_plan *p, int errfd, int fd_bound)
{
	int keep[CHILD_MAX_FDS + 1];
	size_t n = 0;

	for (size_t i = 0; i < p->n_fds; i++)
		keep[n++] = p->fds[i].dst;
	keep[n++] = errfd;
	return close_all_but(keep, n, fd_bound);
}

/*
 * Whether the process already has exactly the plan's credentials: real,
 * effective and saved uid and gid, and the same set of supplementary groups
 * (the kernel returns them sorted, the plan need not be). A seccomp filter
 * can make set*id "succeed" without doing anything (SECCOMP_RET_ERRNO with
 * 0), and an exec with root's ids or groups left over is the one outcome we
 * must never allow (HOSTILE.md F27), so the result of the switch is checked
 * with this. A list too long for the scratch buffer cannot be compared:
 * `unknown` is returned for it.
 */
static bool
creds_are(const struct child_plan *p, bool unknown)
{
	gid_t list[256];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	long n;

	if (sys3(__NR_getresuid, &ru, &eu, &su) < 0 || sys3(__NR_getresgid, &rg, &eg, &sg) < 0)
		return false;
	if (ru != p->uid || eu != p->uid || su != p->uid)
		return false;
	if (rg != p->gid || eg != p->gid || sg != p->gid)
		return false;
	n = sys2(__NR_getgroups, 0, NULL);
	if (n < 0 || (size_t)n != p->n_groups)
		return false;
	if ((size_t)n > sizeof(list) / sizeof(list[0]))
		return unknown;
	if (sys2(__NR_getgroups, n, list) != n)
		return false;
	for (long i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < p->n_groups && !found; j++)
			found = list[i] == p->groups[j];
		if (!found)
			return false;
	}
	return true;
}

/*
 * Become the target: groups, then gid, then uid (after setresuid to a
 * non-root uid we would no longer be allowed to change the other two).
 * setgroups runs even with an empty list, or the child keeps root's groups
 * (CPython CVE-2023-6507).
 *
 * Nothing is called when the process has the target's credentials already:
 * a daemon that is not root can then still start children as its own user
 * (with its own groups), where setgroups() would fail with EPERM even
 * though it changes nothing. Setting equal ids again is a no-op for the
 * kernel (no capability or dumpable change either), so skipping it changes
 * nothing for a root daemon.
 */
static void
switch_credentials(const struct child_plan *p, int errfd)
{
	long r;

	if (creds_are(p, false))
		return;
	r = sys2(__NR_setgroups, p->n_groups, p->groups);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETGROUPS, (int)-r);
	r = sys3(__NR_setresgid, p->gid, p->gid, p->gid);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETGID, (int)-r);
	r = sys3(__NR_setresuid, p->uid, p->uid, p->uid);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETUID, (int)-r);
	if (!creds_are(p, true))
		fail(errfd, CHILD_STAGE_SETUID, EPERM);
}

/*
 * Put oom_score_adj back to 0. This must happen while we are still root,
 * before the credential switch: a uid change makes the process
 * non-dumpable (fs.suid_dumpable=0), /proc/self/ then belongs to root, and
 * the open fails with EACCES (verified on Linux 6.x). Writing as root with
 * CAP_SYS_RESOURCE also raises oom_score_adj_min to 0, so the child cannot
 * lower itself back to the daemon's protected value.
 */
static int
reset_oom_score_adj(void)
{
	long fd, n;

	fd = sys4(__NR_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	do
		n = sys3(__NR_write, fd, "0", 1);
	while (n == -EINTR);
	(void)close_fd((int)fd);
	if (n < 0)
		return (int)n;
	return n == 1 ? 0 : -EIO;
}

/* ---- the shared-table start ---- */

/*
 * First act of a shared-table child (docs/architecture.md, "The
 * shared-table start"): a private table holding the daemon's fds
 * [0, shared_cut) only, then the marker record, for which spawn_start()
 * waits before the loop goes on. Until the unshare nothing may be dup'ed,
 * closed or opened: it would change the daemon's table. The copy is of the
 * same fds a plain start copies (nothing of another request is in the
 * table, and the loop does nothing while it waits); close_other_fds()
 * closes what the plan does not name, as it does there. If no private
 * table can be had, the failure record goes out through the shared table
 * and we exit, which only drops our reference to that table.
 */
static void
take_own_table(const struct child_plan *p)
{
	int r = close_span(p->shared_cut, ~0U, CLOSE_RANGE_UNSHARE);

	if (r < 0)
		fail(p->errpipe, CHILD_STAGE_CLOSE_FDS, -r);
	send_record(p->errpipe, CHILD_REPORT_UNSHARED, 0);
}

/*
 * The fd table becomes exactly the plan's, with the errpipe above it (its
 * fd returned through *errfd). At once, before any step that can block:
 * from here on the child holds nothing of the daemon's but the errpipe.
 */
static void
own_fds(const struct child_plan *p, int *errfd)
{
	int fd_bound = 1 << 20; /* default fs.nr_open: a ceiling for the last resort */
	struct rlimit rl;
	int r;

	/*
	 * The brute-force fallback's bound: the hard RLIMIT_NOFILE (the soft
	 * one is still the daemon's raised one; the plan's comes later).
	 */
	if (sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
	    rl.rlim_max < (rlim_t)fd_bound)
		fd_bound = (int)rl.rlim_max;
	r = setup_fds(p, errfd, fd_bound);
	if (r < 0)
		fail(*errfd, CHILD_STAGE_FD_SETUP, -r);
	r = close_other_fds(p, *errfd, fd_bound);
	if (r < 0)
		fail(*errfd, CHILD_STAGE_CLOSE_FDS, -r);
}

_Noreturn void
child_exec(const struct child_plan *p)
{
	int errfd = p->errpipe;
	int r;

	if (p->shared_cut > 0) /* first: see take_own_table() */
		take_own_table(p);

	r = reset_signal_dispositions(p->reset_signals);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SIGNALS, -r);

	own_fds(p, &errfd);

	/* Every child leads a new session without a controlling terminal. */
	r = (int)sys0(__NR_setsid);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETSID, -r);

	/*
	 * A pty the daemon allocated becomes the new session's controlling
	 * terminal (arg 0: never steal a terminal that has a session). A raw
	 * syscall, safe in both engines.
	 */
	if (p->set_ctty) {
		r = (int)sys3(__NR_ioctl, p->ctty_fd, TIOCSCTTY, 0);
		if (r < 0)
			fail(errfd, CHILD_STAGE_SETSID, -r);
	}

	/* Still root here on purpose; see reset_oom_score_adj(). */
	if (p->write_oom_adj) {
		r = reset_oom_score_adj();
		if (r < 0)
			fail(errfd, CHILD_STAGE_OOM_ADJ, -r);
	}

	switch_credentials(p, errfd);

	/*
	 * chdir only now, as the target: done as root (as CPython does) it
	 * would let a client start in a directory its target cannot enter
	 * (HOSTILE.md F25).
	 */
	r = (int)sys1(__NR_chdir, p->cwd);
	if (r < 0)
		fail(errfd, CHILD_STAGE_CHDIR, -r);

	(void)sys1(__NR_umask, p->umask);

	if (p->set_nofile) {
		r = (int)sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, &p->nofile, NULL);
		if (r < 0)
			fail(errfd, CHILD_STAGE_RLIMIT, -r);
	}

	/*
	 * Last before execve: from here on signals may be delivered, and every
	 * disposition is already SIG_DFL, so none runs daemon code.
	 */
	r = (int)sys4(__NR_rt_sigprocmask, SIG_SETMASK, &p->sigmask, NULL, KERNEL_SIGSET_SIZE);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SIGNALS, -r);

	r = (int)sys3(__NR_execve, p->path, p->argv, p->envp);
	fail(errfd, CHILD_STAGE_EXEC, -r);
}

/*
 * Entry of a vfork-engine child (see child_exec.h): the plan, on the
 * engine's stack, with every signal blocked. Nothing to do before
 * child_exec(), which takes our own fd table first when we were started
 * on the daemon's (plan.shared_cut); the loop never waits for us.
 */
#if SPAWN_HAVE_VFORK_ENGINE
_Noreturn int
child_clone_entry(void *plan)
{
	child_exec(plan);
}
#endif
