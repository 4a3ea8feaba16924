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
 * (static_assert in spawn.c). A vfork engine's child stack must have room.
 */
#define CHILD_MAX_FDS 1024

/* The fixed-size record written to the errpipe on failure (< PIPE_BUF). */
struct child_report {
	int32_t stage; /* enum child_stage */
	int32_t err;   /* positive errno */
};

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
};

/* Never returns: execve()s or writes a child_report and _exit(127)s. */
_Noreturn void child_exec(const struct child_plan *p);

/*
 * The vfork engine (spawn.c) starts the child with
 * clone(CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD) from a spawner
 * thread and child_clone_entry() as the child's function. The child then
 * shares the daemon's memory (until execve) and, for a moment, its fd table.
 *
 * The handshake. The event loop must not go on (and close the fds it
 * received with the request) until the child has a private fd table, and
 * must not wait for anything that can hang (the child's chdir or execve).
 * One 32-bit futex word, three parties:
 *  - the loop (spawn_handshake_wait()) waits while the word is PENDING:
 *    FUTEX_WAIT(word, PENDING) sleeps only if the word still is PENDING
 *    when the kernel compares it, under the futex bucket lock, so a change
 *    made before the wait is never missed; a change made after it needs a
 *    FUTEX_WAKE that comes after the change;
 *  - the child, once it owns a private fd table, stores its pid, then
 *    compare-and-swaps PENDING -> READY (release) and calls FUTEX_WAKE;
 *  - the spawner thread, when clone() returns (the child has exec'd or
 *    exited, or clone() failed), compare-and-swaps PENDING -> READY (or its
 *    failure value) and calls FUTEX_WAKE (spawn_handshake_settle()).
 * Whoever changes the word first wins the compare-and-swap, so it changes
 * exactly once. Both wake unconditionally, winner or not: a child that wins
 * and is killed (SIGKILL cannot be blocked) before its FUTEX_WAKE leaves
 * the loop asleep with the word already READY; the spawner's wake, which
 * comes after clone() returned and so after anything the child did, is
 * then the one that wakes the loop. As a last resort the loop's wait has a
 * timeout, after which it logs loudly and looks at the word again.
 *
 * Lifetime: the word lives in the spawner's job, which the loop frees only
 * after the spawner handed it back, after its wake; the child's wake comes
 * before it execs or exits, so before clone() returns in the spawner.
 */
#define CHILD_HANDSHAKE_PENDING 0u
#define CHILD_HANDSHAKE_READY 1u

struct child_clone_start {
	const struct child_plan *plan;
	/*
	 * The child copies fds [0, keep_fds_below) of the shared table into a
	 * private one (close_range(CLOSE_RANGE_UNSHARE)); every fd the plan
	 * uses (sources, errpipe) must be below it. The parent computes it.
	 */
	unsigned keep_fds_below;
	uint32_t *handshake; /* futex word, see above */
	pid_t *pid;	     /* the child stores its pid here before READY */
};

/*
 * clone() child function of the vfork engine: take a private fd table,
 * publish pid + READY, then child_exec(start->plan). Never returns.
 */
_Noreturn int child_clone_entry(void *start);

#endif
