/* SPDX-License-Identifier: MIT */
/*
 * Parent side of a spawn: own every array the child reads, create the
 * errpipe, start the child with all signals blocked (fork, or the vfork
 * engine's spawner threads), and decode the child's report. The caller
 * watches the errpipe's read end as an event: the loop never waits for a
 * child (DESIGN.md section 3.5).
 */
#ifndef SPAWND_SPAWN_H
#define SPAWND_SPAWN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "child_exec.h"
#include "request.h"
#include "user.h"

enum spawn_engine {
	/* fork() from the event loop. */
	SPAWN_ENGINE_FORK,
	/*
	 * clone(CLONE_VM | CLONE_VFORK) from a spawner thread (spawn.c):
	 * no copy of the daemon's memory or fd table per spawn. Falls back to
	 * fork for a spawn when no spawner thread can be had; for good (logged
	 * once) when the system refuses that clone with EPERM, ENOSYS or EINVAL
	 * (seccomp profiles, qemu-user); and is fork throughout in a
	 * SPAWND_FORCE_FORK build.
	 */
	SPAWN_ENGINE_VFORK,
};

/*
 * The engine the daemon uses without --engine. DESIGN.md 3.5 allows vfork
 * only once a stuck child is shown to cost no more than its client's quota
 * (tests/engine/check_engine_fuse.c) and it measures faster: per
 * docs/benchmarks.md it costs 0.8-0.95x of in-process posix_spawn where
 * fork costs 1.7-1.9x (fork's COW page faults), and it stays flat with
 * 10,000 live children where fork does not.
 */
#define SPAWN_ENGINE_DEFAULT SPAWN_ENGINE_VFORK

/* "fork" or "vfork". */
const char *spawn_engine_to_string(enum spawn_engine engine);

/* Owns everything plan points to. */
struct spawn_prepared {
	struct child_plan plan;
	char *path;
	char **argv;
	char **envp;
	char *cwd;
	struct fd_move *fds;
	gid_t *groups;
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

/* NULL-safe; returns NULL. */
struct spawn_prepared *spawn_prepared_free(struct spawn_prepared *sp);

/*
 * Create the errpipe, start the child and return at once: *ret_pid, a pidfd
 * (*ret_pidfd, O_CLOEXEC) and the errpipe's read end (*ret_errpipe,
 * O_CLOEXEC|O_NONBLOCK). The write end is closed in the parent before
 * returning. Returns 0 or -errno (fork/pipe failure, EAGAIN). On failure
 * *ret_pid is 0, or the pid of a child that was started but could not be
 * tracked (no pidfd): it has been sent SIGKILL, and the caller must have it
 * reaped (reaper_abandon()).
 *
 * The received fds the plan names may be closed as soon as this returns.
 * With the vfork engine the child reads the plan's memory after we return
 * (it shares our memory until it execs), so the engine takes the contents
 * of sp: sp is left empty, and the caller frees it as usual. The vfork
 * engine also moves a pidfd that would land above fd 63 to a high number
 * (>= 4096 where the fd limit allows), so that the long-lived pidfds of
 * many live children stay out of the low range every child copies (see
 * child_clone_entry()).
 *
 * Call from one thread only (the event loop).
 */
int spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid, int *ret_pidfd,
		int *ret_errpipe);

/*
 * Spawner threads of the vfork engine that are not idle: each waits in
 * clone(CLONE_VFORK) for a child that has not exec'd yet (normally for
 * well under a millisecond; for ever if the child hangs on a FUSE mount).
 */
unsigned spawn_busy_spawners(void);

/*
 * The signals whose disposition is not SIG_DFL in this process right now
 * (ignored or caught), bit n-1 for signal n, from the SigIgn and SigCgt
 * lines of /proc/self/status. spawn_start() hands that set to the child,
 * which resets only those. Returns 0, or -errno / -EBADMSG when /proc
 * cannot tell (spawn_start() then has the child reset every signal).
 */
int spawn_signals_to_reset(uint64_t *ret);

/*
 * Where spawn.c's messages go: a clone that the system refuses (once), a
 * handshake that takes seconds. spawn.c does not link log.c (STYLE.md 2),
 * but these must reach the log while they happen, so the daemon installs
 * its logger here. level is a syslog level; without a logger, messages go
 * to stderr as "spawnd: MESSAGE". Loop thread only.
 */
typedef void (*spawn_log_fn)(int level, const char *message);
void spawn_set_log(spawn_log_fn fn);

/*
 * The loop's and the spawner's halves of the vfork engine's handshake
 * (protocol in child_exec.h); exported for the unit tests.
 * spawn_handshake_settle(): compare-and-swap word from PENDING to `to`
 * (unless the child did first), then wake the waiter, always.
 * spawn_handshake_wait(): wait while word is PENDING and return its new
 * value; every stall_ms without a change logs an error and waits on.
 */
void spawn_handshake_settle(uint32_t *word, uint32_t to);
uint32_t spawn_handshake_wait(uint32_t *word, unsigned stall_ms);

/*
 * Read the errpipe (non-blocking). Returns 0 on EOF without a record (exec
 * succeeded), 1 with *ret filled (setup or exec failed), -EAGAIN when
 * nothing is there yet, -EBADMSG for a short record, or another -errno.
 */
int spawn_read_report(int errpipe, struct child_report *ret);

#endif
