/* SPDX-License-Identifier: MIT */
/*
 * Parent side of a spawn. spawn.c builds the plan: it owns every array the
 * child reads. spawn_clone.c is the engine: it creates the errpipe, starts
 * the child with all signals blocked (a copy of the daemon, or a CLONE_VM
 * child on a stack of its own) and decodes the child's report. The caller
 * watches the errpipe's read end as an event: the loop never waits for a
 * child (DESIGN.md section 3.5).
 */
#ifndef SPAWND_SPAWN_H
#define SPAWND_SPAWN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "child_exec.h"
#include "request.h"
#include "user.h"

enum spawn_engine {
	/* A copy of the daemon (clone without CLONE_VM) from the event loop. */
	SPAWN_ENGINE_FORK,
	/*
	 * The name is historical (--engine vfork is a contract): today a
	 * clone(CLONE_VM | CLONE_PIDFD) child without CLONE_VFORK, started by
	 * the event loop itself on a stack of its own (spawn_clone.c): no copy
	 * of the daemon's memory, no thread, and the loop returns at once.
	 * Falls back to fork for good (logged once) when the system refuses
	 * that clone with EPERM, ENOSYS or EINVAL (seccomp profiles,
	 * qemu-user); and is fork throughout in a SPAWND_FORCE_FORK build.
	 */
	SPAWN_ENGINE_VFORK,
};

/*
 * The engine the daemon uses without --engine. DESIGN.md 3.5 allows it
 * only once a stuck child is shown to cost no more than its client's quota
 * (tests/engine/check_engine_fuse.c) and it measures faster than fork
 * (docs/benchmarks.md): fork pays for copying the page tables and for the
 * COW faults after.
 */
#define SPAWN_ENGINE_DEFAULT SPAWN_ENGINE_VFORK

/* "fork" or "vfork". */
const char *spawn_engine_to_string(enum spawn_engine engine);

struct spawn_stack;

/*
 * Owns everything plan points to and, with the vfork engine, the stack the
 * child runs on. The child of that engine reads all of it after
 * spawn_start() returned, in the daemon's own memory: see spawn_start() for
 * when it may be freed.
 */
struct spawn_prepared {
	struct child_plan plan;
	char *path;
	char **argv;
	char **envp;
	char *cwd;
	struct fd_move *fds;
	gid_t *groups;
	struct spawn_stack *stack;	    /* vfork engine: the child's stack, else NULL */
	struct timespec started_at;	    /* CLOCK_MONOTONIC right before the clone */
	struct spawn_prepared *orphan_next; /* spawn_prepared_orphan() */
	/*
	 * Start the child on the daemon's fd table (the shared-table start,
	 * docs/architecture.md) if this system allows it. The caller asks
	 * for it while its table is big (reaper_share_table()).
	 */
	bool share_table;
};

/*
 * Daemon-wide settings the child plan needs: the /dev/null fd and the
 * RLIMIT_NOFILE the children get (soft <= 1024).
 */
struct spawn_env {
	int devnull;
	bool set_nofile;
	struct rlimit nofile;
	bool write_oom_adj;
	gid_t tty_gid; /* group of a child's pty slave; (gid_t)-1 = the kernel's */
};

/*
 * Build the child plan. Takes ownership of path and envp (also on failure);
 * copies argv, cwd, groups from req/target. received/n_received are the
 * request's fds (not taken: the caller closes them after the fork).
 * Returns 0, -EINVAL, -ENOMEM.
 */
int spawn_prepare(const struct spawn_request *req, const struct target_user *target, char *path,
		  char **envp, const int *received, size_t n_received, const struct spawn_env *env,
		  struct spawn_prepared **ret);

/*
 * NULL-safe; returns NULL. Its stack goes back to the engine's free list.
 * Only once no child runs on sp any more (spawn_start()).
 */
struct spawn_prepared *spawn_prepared_free(struct spawn_prepared *sp);

/*
 * For a plan whose child may still run on it and that its owner gives up
 * (daemon exit, bookkeeping that failed): sp is never freed, never reused,
 * and stays reachable (for LeakSanitizer). NULL-safe. Loop thread only.
 */
void spawn_prepared_orphan(struct spawn_prepared *sp);

/*
 * Create the errpipe, start the child and return at once: *ret_pid, a pidfd
 * (*ret_pidfd, O_CLOEXEC) and the errpipe's read end (*ret_errpipe,
 * O_CLOEXEC|O_NONBLOCK). The write end is closed in the parent before
 * returning, and the child has its own copy of the fd table by then, so the
 * received fds the plan names may be closed as soon as this returns. With
 * sp->share_table the child starts on the daemon's own table and this
 * waits (normally microseconds) until it has taken its own copy of the
 * fds below its cut (plan.shared_cut).
 *
 * Returns 0 or -errno (clone/pipe failure). On failure *ret_pid is 0, and
 * sp may be freed at once; or the pid of a child that was started but
 * cannot be tracked, which the caller must have reaped (reaper_abandon()):
 * where the kernel refuses CLONE_PIDFD and the fork engine falls back to
 * fork() + pidfd_open(), it has been sent SIGKILL; after a shared-table
 * start that could not unshare (the error is its errno) it exits by itself.
 *
 * Ownership (new): sp is not taken. With the vfork engine the child runs
 * on sp->stack and reads the plan in the daemon's memory until it execs or
 * exits, so the caller keeps sp until then and frees it (with
 * spawn_prepared_free()) only once
 *  - spawn_read_report() returned 0 (EOF): the kernel has switched the
 *    child to its new mm, or dropped its mm, before it closed the write
 *    end (docs/architecture.md, "The vfork engine's plan lifetime"); or
 *  - the child has been reaped (or waitid() says it exited).
 * A record (spawn_read_report() == 1) alone is not enough: the child
 * still runs its last instructions, on that stack, up to exit_group.
 * The fork engine's child has its own copy of everything, but the same
 * rule keeps the callers simple.
 *
 * The dispositions the child resets are read from /proc/self/status once,
 * at the first call (spawn_signals_to_reset()): the daemon installs every
 * handler it has before it serves, and none later.
 *
 * Call from one thread only (the event loop).
 */
int spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid, int *ret_pidfd,
		int *ret_errpipe);

/*
 * The signals whose disposition is not SIG_DFL in this process right now
 * (ignored or caught), bit n-1 for signal n, from the SigIgn and SigCgt
 * lines of /proc/self/status. spawn_start() hands that set, read at its
 * first call, to the child, which resets only those. Returns 0, or -errno
 * / -EBADMSG when /proc cannot tell (spawn_start() then has the child
 * reset every signal).
 */
int spawn_signals_to_reset(uint64_t *ret);

/*
 * Where the engine's messages go: a clone that the system refuses (once).
 * spawn_clone.c does not link log.c (STYLE.md 2), but this must reach the
 * log while it happens, so the daemon installs its logger here. level is a
 * syslog level; without a logger, messages go to stderr as
 * "spawnd: MESSAGE". Loop thread only.
 */
typedef void (*spawn_log_fn)(int level, const char *message);
void spawn_set_log(spawn_log_fn fn);

/*
 * The caller promises that the thread calling spawn_start() keeps, from
 * now on, every signal blocked that has a handler in this process (the
 * daemon blocks all but those that dump core, for which it installs
 * none, in every thread: main.c block_signals()). The clone inherits that
 * mask, so spawn_start() no longer blocks and restores it around each
 * clone. Without this call it does (a test that calls the engine with
 * handlers installed). Call before the first spawn_start().
 */
void spawn_set_signals_blocked(void);

/*
 * The shared-table start is not to be used any more (a child could not
 * unshare: err); logged once. Loop thread only.
 */
void spawn_shared_refuse(int err);

/*
 * Move a long-lived pidfd to a number >= 4096 (F_DUPFD_CLOEXEC; the old
 * one is closed), so that the fds a shared-table child copies stay few.
 * Returns the new fd, or pidfd itself where RLIMIT_NOFILE leaves no room
 * (soft < 8192), the system has no close_range(), or the dup fails.
 */
int spawn_pidfd_raise(int pidfd);
/* Whether pidfd is one that spawn_pidfd_raise() moved. */
bool spawn_pidfd_is_high(int pidfd);

/* The engine's half of spawn_prepared_free(): keep or unmap a stack. NULL-safe. */
void spawn_stack_put(struct spawn_stack *st);

/*
 * Read the errpipe (non-blocking). Returns 0 on EOF without a record (exec
 * succeeded, or the child died), 1 with *ret filled (setup or exec
 * failed), -EAGAIN when nothing is there yet, -EBADMSG for a short record,
 * or another -errno.
 */
int spawn_read_report(int errpipe, struct child_report *ret);

#endif
