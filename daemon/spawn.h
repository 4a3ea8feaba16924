/* SPDX-License-Identifier: MIT */
/*
 * Parent side of a spawn: own every array the child reads, create the
 * errpipe, fork with all signals blocked, and decode the child's report.
 * The caller (conn.c) watches the errpipe's read end as an event: the loop
 * never waits for a child.
 */
#ifndef SPAWND_SPAWN_H
#define SPAWND_SPAWN_H

#include <sys/types.h>

#include <stdbool.h>

#include "child_exec.h"
#include "request.h"
#include "user.h"

enum spawn_engine {
	SPAWN_ENGINE_FORK,
	SPAWN_ENGINE_VFORK, /* later issue; spawn_start() returns -EOPNOTSUPP for now */
};

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
 * returning. Returns 0 or -errno (fork/pipe failure, EAGAIN).
 */
int spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid,
		int *ret_pidfd, int *ret_errpipe);

/*
 * Read the errpipe (non-blocking). Returns 0 on EOF without a record (exec
 * succeeded), 1 with *ret filled (setup or exec failed), -EAGAIN when
 * nothing is there yet, -EBADMSG for a short record, or another -errno.
 */
int spawn_read_report(int errpipe, struct child_report *ret);

#endif
