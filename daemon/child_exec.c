/* SPDX-License-Identifier: MIT */
/*
 * The child-exec core: the only code that runs between fork/clone and
 * execve (DESIGN.md section 3, STYLE.md section 3).
 *
 * Contract. This code runs in a child of a privileged, possibly
 * multi-threaded daemon, possibly sharing its memory (vfork/CLONE_VM). It may
 * call only raw syscalls and functions listed in signal-safety(7): no
 * malloc/free, no stdio, no strerror, no logging, no getpw* or other NSS, no
 * locale, no assert, no libevent, no protobuf-c. After CLONE_VM it must not
 * call the libc set*id()/setgroups() wrappers either: glibc implements them
 * by signalling every thread of the process (the daemon's threads, here),
 * so p->raw_syscalls selects syscall(SYS_...) instead (CPython
 * _posixsubprocess.c, bpo-35823). The parent blocks every signal before
 * the fork; this code resets dispositions first and unblocks last. Every
 * input was computed and allocated in the parent and is only read here. CI
 * enforces the call list: `nm -u` of this object may name only symbols
 * from tests/child-exec.allow.
 *
 * Order: DESIGN.md section 3 item 2, with one exception forced by the
 * kernel: oom_score_adj is reset before the credential switch, not after
 * the rlimits (see reset_oom_score_adj()).
 *
 * vfork engine: child_clone_entry() (at the end of this file) runs first,
 * on its own stack, in the daemon's memory, with every signal blocked.
 * After CLONE_VM, errno is the suspended spawner thread's (we share its
 * TLS), which nobody else reads while we run.
 *
 * Failure: one fixed-size struct child_report {stage, errno} on the CLOEXEC
 * errpipe, then _exit(127). EOF on the pipe without a record means execve
 * succeeded. We never exec with partially applied credentials.
 */
#define _GNU_SOURCE
#include "child_exec.h"

#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

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
report(int errfd, enum child_stage stage, int err)
{
	const struct child_report r = {.stage = stage, .err = err > 0 ? err : EIO};
	const char *buf = (const char *)&r;
	size_t left = sizeof(r);

	while (left > 0) {
		ssize_t n = write(errfd, buf, left);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf += n;
		left -= (size_t)n;
	}
}

/* Report, then die: the child never goes on after a failed step. */
_Noreturn static void
fail(int errfd, enum child_stage stage, int err)
{
	report(errfd, stage, err);
	_exit(127);
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
 * (HOSTILE.md F29). glibc refuses its internal signals (SIGCANCEL,
 * SIGSETXID) with EINVAL; those are not ours to reset.
 */
static int
reset_signal_dispositions(uint64_t which)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};

	if (sigemptyset(&sa.sa_mask) < 0)
		return -errno;
	for (int sig = 1; sig < _NSIG; sig++) {
		/* Signals past 64 do not exist on Linux; reset them if asked to reset all. */
		if (sig <= 64 && !(which & (UINT64_C(1) << (sig - 1))))
			continue;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

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
 *  2. dup2(copy, dst) for every entry. A copy is always > max_dst >= dst, so
 *     dup2 is never the src == dst no-op that would leave CLOEXEC set
 *     (CPython bpo-10806); it always clears FD_CLOEXEC on the new fd.
 * Several entries may share one source (the same pipe as 1 and 2); each gets
 * its own copy, which costs one fd per entry and keeps the code simple.
 */
static int
setup_fds(const struct child_plan *p, int *errfd)
{
	int moved[CHILD_MAX_FDS];
	int top = p->max_dst + 1;

	if (p->n_fds > CHILD_MAX_FDS || p->max_dst < 0 || p->max_dst >= INT_MAX - 1)
		return -EINVAL;

	/* The errpipe first: every later failure must still reach the parent. */
	if (*errfd <= p->max_dst) {
		int fd = fcntl(*errfd, F_DUPFD_CLOEXEC, top);

		if (fd < 0)
			return -errno;
		*errfd = fd;
	}

	for (size_t i = 0; i < p->n_fds; i++) {
		int src = p->fds[i].src;

		if (src <= p->max_dst) {
			src = fcntl(src, F_DUPFD_CLOEXEC, top);
			if (src < 0)
				return -errno;
		}
		moved[i] = src;
	}

	for (size_t i = 0; i < p->n_fds; i++)
		if (dup2(moved[i], p->fds[i].dst) < 0)
			return -errno;

	/*
	 * Only now may max_dst + 1 be overwritten: before phase 2 it could have
	 * held a source (a received fd or a phase-1 copy). dup3 closes whatever
	 * is there; everything above max_dst except the errpipe is garbage from
	 * here on and is closed by close_other_fds().
	 */
	if (*errfd != top) {
		if (dup3(*errfd, top, O_CLOEXEC) < 0)
			return -errno;
		*errfd = top;
	}
	return 0;
}

static bool
is_target(const struct child_plan *p, int fd)
{
	size_t lo = 0, hi = p->n_fds;

	/* p->fds is sorted by dst (fdmap_plan). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->fds[mid].dst == fd)
			return true;
		if (p->fds[mid].dst < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
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
 * seccomp filter refuses it: list /proc/self/fd with the raw getdents64
 * syscall (opendir/readdir allocate, which is not allowed here; CPython
 * _close_open_fds_safe does the same) and close every fd that is neither a
 * target nor the errpipe. Closing entries while listing is fine: the kernel
 * walks the fd table by number. Without /proc, close every number up to
 * fd_bound (the hard RLIMIT_NOFILE read before we changed it).
 */
static int
close_other_fds_slow(const struct child_plan *p, int errfd, int fd_bound)
{
	/* The kernel aligns records to 8 bytes from the buffer's start. */
	_Alignas(struct linux_dirent64) char buf[sizeof(struct linux_dirent64) * 8];
	int dirfd;
	long n;

	dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		for (int fd = 0; fd < fd_bound; fd++)
			if (fd != errfd && !is_target(p, fd))
				(void)close(fd);
		return 0;
	}

	while ((n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			const struct linux_dirent64 *de = (const void *)(buf + off);
			int fd = parse_fd_name(de->d_name);

			off += de->d_reclen;
			if (fd < 0 || fd == dirfd || fd == errfd || is_target(p, fd))
				continue;
			(void)close(fd);
		}
	}
	if (n < 0) {
		int r = -errno;

		(void)close(dirfd);
		return r;
	}
	(void)close(dirfd);
	return 0;
}

/*
 * Close every fd that is not a target and not the errpipe (which sits at
 * max_dst + 1): the gaps between targets (targets {0,1,2,7} must not inherit
 * the daemon's 3..6) and everything above the errpipe. The daemon's own fds
 * are CLOEXEC from birth, but the child's fd table must be exactly the plan
 * even if one is not (HOSTILE.md E23, runc CVE-2024-21626).
 */
static int
close_span(unsigned first, unsigned last)
{
	return close_range(first, last, 0) < 0 ? -errno : 0;
}

static int
close_other_fds(const struct child_plan *p, int errfd, int fd_bound)
{
	int next = 0, r;

	for (size_t i = 0; i < p->n_fds; i++) {
		int dst = p->fds[i].dst;

		r = dst > next ? close_span((unsigned)next, (unsigned)dst - 1) : 0;
		if (r < 0)
			goto fallback;
		next = dst + 1;
	}
	/* setup_fds() put the errpipe at max_dst + 1 == next. */
	r = close_span((unsigned)errfd + 1, ~0U);
	if (r < 0)
		goto fallback;
	return 0;

fallback:
	/*
	 * ENOSYS: kernel < 5.9. EPERM: container runtimes whose seccomp
	 * profile predates close_range refuse unknown syscalls with EPERM
	 * (moby#42680). Any other error is real.
	 */
	if (r == -ENOSYS || r == -EPERM)
		return close_other_fds_slow(p, errfd, fd_bound);
	return r;
}

static int
do_setgroups(const struct child_plan *p)
{
	if (p->raw_syscalls)
		return syscall(SYS_setgroups, p->n_groups, p->groups) < 0 ? -errno : 0;
	return setgroups(p->n_groups, p->groups) < 0 ? -errno : 0;
}

static int
do_setresgid(const struct child_plan *p)
{
	if (p->raw_syscalls)
		return syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0 ? -errno : 0;
	return setresgid(p->gid, p->gid, p->gid) < 0 ? -errno : 0;
}

static int
do_setresuid(const struct child_plan *p)
{
	if (p->raw_syscalls)
		return syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0 ? -errno : 0;
	return setresuid(p->uid, p->uid, p->uid) < 0 ? -errno : 0;
}

/*
 * Check that the switch really happened before anything runs as the
 * target. A seccomp filter can make set*id "succeed" without doing anything
 * (SECCOMP_RET_ERRNO with 0), and an exec with root's ids or groups left
 * over is the one outcome we must never allow (HOSTILE.md F27). The kernel
 * returns the groups sorted and the plan need not be, hence the set
 * comparison; lists longer than the scratch buffer are checked by count.
 */
static bool
creds_are(const struct child_plan *p)
{
	gid_t list[256];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int n;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return false;
	if (ru != p->uid || eu != p->uid || su != p->uid)
		return false;
	if (rg != p->gid || eg != p->gid || sg != p->gid)
		return false;
	n = getgroups(0, NULL);
	if (n < 0 || (size_t)n != p->n_groups)
		return false;
	if ((size_t)n > sizeof(list) / sizeof(list[0]))
		return true;
	if (getgroups(n, list) != n)
		return false;
	for (int i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < p->n_groups && !found; j++)
			found = list[i] == p->groups[j];
		if (!found)
			return false;
	}
	return true;
}

static int
do_setrlimit(const struct child_plan *p)
{
	/* musl's setrlimit signals all threads like set*id (CPython comment). */
	if (p->raw_syscalls)
		return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &p->nofile, NULL) < 0 ? -errno : 0;
	return setrlimit(RLIMIT_NOFILE, &p->nofile) < 0 ? -errno : 0;
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
	int fd, r = 0;

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = write(fd, "0", 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n != 1)
			r = -EIO;
		break;
	}
	(void)close(fd);
	return r;
}

_Noreturn void
child_exec(const struct child_plan *p)
{
	int errfd = p->errpipe;
	int fd_bound = 1 << 20; /* default fs.nr_open: a ceiling for the last resort */
	struct rlimit rl;
	int r;

	r = reset_signal_dispositions(p->reset_signals);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SIGNALS, -r);

	r = setup_fds(p, &errfd);
	if (r < 0)
		fail(errfd, CHILD_STAGE_FD_SETUP, -r);

	/* Every child leads a new session without a controlling terminal. */
	if (setsid() < 0)
		fail(errfd, CHILD_STAGE_SETSID, errno);

	/*
	 * A pty the daemon allocated becomes the new session's controlling
	 * terminal (arg 0: never steal a terminal that has a session). A raw
	 * syscall, safe in both engines.
	 */
	if (p->set_ctty && syscall(SYS_ioctl, p->ctty_fd, TIOCSCTTY, 0) < 0)
		fail(errfd, CHILD_STAGE_SETSID, errno);

	/* Still root here on purpose; see reset_oom_score_adj(). */
	if (p->write_oom_adj) {
		r = reset_oom_score_adj();
		if (r < 0)
			fail(errfd, CHILD_STAGE_OOM_ADJ, -r);
	}

	/*
	 * Groups, then gid, then uid: after setresuid to a non-root uid we
	 * would no longer be allowed to change the other two. setgroups runs
	 * even with an empty list, or the child keeps root's groups (CPython
	 * CVE-2023-6507).
	 */
	r = do_setgroups(p);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETGROUPS, -r);
	r = do_setresgid(p);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETGID, -r);
	r = do_setresuid(p);
	if (r < 0)
		fail(errfd, CHILD_STAGE_SETUID, -r);
	if (!creds_are(p))
		fail(errfd, CHILD_STAGE_SETUID, EPERM);

	/*
	 * chdir only now, as the target: done as root (as CPython does) it
	 * would let a client start in a directory its target cannot enter
	 * (HOSTILE.md F25).
	 */
	if (chdir(p->cwd) < 0)
		fail(errfd, CHILD_STAGE_CHDIR, errno);

	(void)umask(p->umask);

	/*
	 * The brute-force close fallback needs an upper bound, and the limit we
	 * are about to install may be lower than fds that are open right now.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < (rlim_t)fd_bound)
		fd_bound = (int)rl.rlim_max;
	if (p->set_nofile) {
		r = do_setrlimit(p);
		if (r < 0)
			fail(errfd, CHILD_STAGE_RLIMIT, -r);
	}

	r = close_other_fds(p, errfd, fd_bound);
	if (r < 0)
		fail(errfd, CHILD_STAGE_CLOSE_FDS, -r);

	/*
	 * Last before execve: from here on signals may be delivered, and every
	 * disposition is already SIG_DFL, so none runs daemon code.
	 */
	if (sigprocmask(SIG_SETMASK, &p->sigmask, NULL) < 0)
		fail(errfd, CHILD_STAGE_SIGNALS, errno);

	(void)execve(p->path, p->argv, p->envp);
	fail(errfd, CHILD_STAGE_EXEC, errno);
}

/*
 * Publish the handshake: the pid first, then READY (release, so that the
 * loop's acquire load sees the pid), then wake the loop. Raw syscalls only;
 * the futex word lives in the daemon's memory, which we share (CLONE_VM),
 * so the private futex key (mm, address) is the loop's key too.
 */
static void
handshake(const struct child_clone_start *s)
{
	uint32_t expected = CHILD_HANDSHAKE_PENDING;

	__atomic_store_n(s->pid, (pid_t)syscall(SYS_getpid), __ATOMIC_RELAXED);
	(void)__atomic_compare_exchange_n(s->handshake, &expected, CHILD_HANDSHAKE_READY, false,
					  __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	(void)syscall(SYS_futex, s->handshake, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/*
 * Entry of a vfork-engine child (see child_exec.h).
 *
 * Ordering. We start on the daemon's fd table (CLONE_FILES: copying a
 * table with 10,000 pidfds would cost every spawn ~0.25 ms here, the fd
 * table copy being O(open fds)) while the event loop waits for the
 * handshake. So, strictly in this order:
 *  1. take a private table holding only fds [0, keep_fds_below), which
 *     the parent made cover every fd of the plan. Until this is done
 *     nothing may be dup'ed, closed or opened: it would change the
 *     daemon's own table.
 *  2. handshake. Only now may the loop go on, and close the received fds
 *     and its copy of the errpipe in its table: ours are separate copies.
 *  3. child_exec(), which the loop no longer waits for (a chdir into a
 *     FUSE mount that never answers may hang here for ever; only this
 *     child's spawner thread stays suspended with it, see spawn.c).
 * If no private table can be had, we report on the errpipe (a write does
 * not change the table) BEFORE the handshake, because afterwards the loop
 * closes the errpipe's number in the shared table and the number may be
 * reused, and then exit without touching any fd.
 *
 * CLOSE_RANGE_UNSHARE (Linux 5.9) copies only the fds below the range's
 * start when the range runs to the end of the table (fs/file.c,
 * __close_range()); older kernels, or a seccomp filter that refuses
 * close_range, get unshare(CLONE_FILES), which copies the whole table.
 */
_Noreturn int
child_clone_entry(void *arg)
{
	const struct child_clone_start *s = arg;
	int errfd = s->plan->errpipe, r = 0;

	if (close_range(s->keep_fds_below, ~0U, CLOSE_RANGE_UNSHARE) < 0 &&
	    syscall(SYS_unshare, CLONE_FILES) < 0)
		r = errno;
	if (r != 0)
		report(errfd, CHILD_STAGE_FD_SETUP, r);
	handshake(s);
	if (r != 0)
		_exit(127);
	child_exec(s->plan);
}
