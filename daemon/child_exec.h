/* SPDX-License-Identifier: MIT */
/*
 * The only code that runs between fork/clone and execve. See child_exec.c
 * for the async-signal-safety contract and DESIGN.md section 3 for the order.
 */
#ifndef SPAWND_CHILD_EXEC_H
#define SPAWND_CHILD_EXEC_H

#include <sys/resource.h>
#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdmap.h"

/* Values equal the wire's Stage enum (static_assert in spawn.c). */
enum child_stage {
	CHILD_STAGE_FD_SETUP = 7,
	CHILD_STAGE_SIGNALS = 8,
	CHILD_STAGE_SETSID = 9,
	CHILD_STAGE_SETGROUPS = 10,
	CHILD_STAGE_SETGID = 11,
	CHILD_STAGE_SETUID = 12,
	CHILD_STAGE_CHDIR = 13,
	CHILD_STAGE_RLIMIT = 14,
	CHILD_STAGE_OOM_ADJ = 15,
	CHILD_STAGE_CLOSE_FDS = 16,
	CHILD_STAGE_EXEC = 17,
};

/*
 * Most entries a child_plan's fd table may have: the child keeps a scratch
 * array of this many ints on its stack (it cannot malloc). Every target is
 * unique and <= SPAWND_MAX_TARGET_FD, so fdmap_plan() never produces more
 * (static_assert in spawn.c). The vfork engine's child stack must have room.
 */
#define CHILD_MAX_FDS 1024

/* The fixed-size record written to the errpipe on failure (< PIPE_BUF). */
struct child_report {
	int32_t stage; /* enum child_stage, or CHILD_REPORT_UNSHARED */
	int32_t err;   /* positive errno (0 with CHILD_REPORT_UNSHARED) */
};

/*
 * Not a failure and never on the wire: a child of the shared-table start
 * (plan.shared_cut > 0) writes this record once it has its own fd table,
 * before any step that can fail; spawn_start() waits for it (or for a
 * failure record, or the child's death) and consumes it.
 */
#define CHILD_REPORT_UNSHARED (-1)

/*
 * A shared-table child's cut is a multiple of this: the kernel sizes the
 * copy close_range(CLOSE_RANGE_UNSHARE) makes in whole words of its fd
 * bitmap (BITS_PER_LONG, at least 64 fds), and what it copies at or above
 * the cut it closes again at once. On that grain nothing is copied there
 * (docs/architecture.md, "The shared-table start").
 */
#define CHILD_CUT_GRAIN 64u

/* Everything the child needs, computed and allocated in the parent. */
struct child_plan {
	const char *path;	   /* absolute path to execve (no PATH search) */
	char *const *argv;	   /* NULL-terminated */
	char *const *envp;	   /* NULL-terminated */
	const struct fd_move *fds; /* sorted by dst, unique dst */
	size_t n_fds;
	int max_dst; /* highest dst in fds */
	uid_t uid;
	gid_t gid;
	/*
	 * setgroups() list (may be empty). Always applied, unless the process
	 * has exactly these uid, gid and groups already (a daemon that is not
	 * root, spawning as itself): then no set*id call is made at all.
	 */
	const gid_t *groups;
	size_t n_groups;
	const char *cwd; /* absolute; entered after the credential switch */
	mode_t umask;
	int errpipe;	 /* write end, O_CLOEXEC */
	bool set_nofile; /* apply `nofile` (the daemon raised its own limit) */
	struct rlimit nofile;
	bool write_oom_adj; /* write "0" to /proc/self/oom_score_adj */
	/*
	 * A daemon-allocated pty (DESIGN.md section 10): after setsid, make
	 * the target fd ctty_fd (a slave the plan put there) the controlling
	 * terminal with TIOCSCTTY. A failure reports CHILD_STAGE_SETSID.
	 */
	bool set_ctty;
	int ctty_fd;
	/*
	 * Signals whose disposition may not be SIG_DFL (bit n-1 = signal n):
	 * only these are reset. The parent reads the daemon's ignored and
	 * caught sets (spawn_signals_to_reset()); all ones = reset every
	 * signal.
	 */
	uint64_t reset_signals;
	sigset_t sigmask; /* the mask to install right before execve (empty) */
	/*
	 * 0: the child's fd table is a copy made by clone() (the plain
	 * start). Otherwise the child was started on the daemon's own table
	 * (CLONE_FILES, spawn_clone.c's shared-table start): its first act is
	 * close_range(shared_cut, ~0U, CLOSE_RANGE_UNSHARE), which copies only
	 * fds [0, shared_cut). Every fd the plan names (sources, errpipe) is
	 * below it; a multiple of CHILD_CUT_GRAIN.
	 */
	unsigned shared_cut;
};

/* Never returns: execve()s or writes a child_report and _exit(127)s. */
_Noreturn void child_exec(const struct child_plan *p);

/*
 * 1 where child_exec.c makes its system calls with inline assembly (sys6()
 * there: x86_64, aarch64, riscv64), 0 elsewhere. Elsewhere it calls glibc's
 * syscall(), which writes errno, a thread-local, on failure: in a child
 * that shares the daemon's memory that is the event loop thread's errno,
 * written under its feet. So only where this is 1 is there a vfork engine
 * (and child_clone_entry()); elsewhere spawn_start() forks every child,
 * whose errno is its own, and main.c says so at start. child_exec.c
 * refuses to build if this is 1 without inline assembly.
 */
#if defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)
#define SPAWN_HAVE_VFORK_ENGINE 1
#else
#define SPAWN_HAVE_VFORK_ENGINE 0
#endif

#if SPAWN_HAVE_VFORK_ENGINE
/*
 * The vfork engine (spawn_clone.c) starts the child with
 * clone(CLONE_VM | CLONE_PIDFD | SIGCHLD) from the event loop, on a stack
 * of the engine's, with child_clone_entry() as the child's function and
 * the plan as its argument. The child shares the daemon's memory until it
 * execs or exits, and runs at the same time as the loop: it has its own
 * signal handler table (no CLONE_SIGHAND) and its own fd table (a copy, or
 * with the shared-table start its own from its first system call on), but
 * the loop thread's TLS (no CLONE_SETTLS), which it must never write.
 */
_Noreturn int child_clone_entry(void *plan);
#endif

#endif
