/* SPDX-License-Identifier: MIT */
/*
 * Parent side of a spawn (DESIGN.md section 3): own every array the child
 * reads, create the errpipe, fork with all signals blocked, hand the caller
 * a pidfd and the errpipe's non-blocking read end, and decode the child's
 * report. Nothing here waits for a child that is still setting up: the
 * event loop watches the errpipe instead (a child can hang in chdir on a
 * FUSE mount, where not even SIGKILL frees it).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawnd.pb-c.h"
#include "wire.h"

/* The child's stage goes onto the wire as is (Failed.stage). */
#define ASSERT_STAGE(name)                                                                         \
	_Static_assert((int)CHILD_STAGE_##name == (int)SPAWND__V1__STAGE__STAGE_##name,            \
		       "enum child_stage differs from the wire's Stage for " #name)
ASSERT_STAGE(FD_SETUP);
ASSERT_STAGE(SIGNALS);
ASSERT_STAGE(SETSID);
ASSERT_STAGE(SETGROUPS);
ASSERT_STAGE(SETGID);
ASSERT_STAGE(SETUID);
ASSERT_STAGE(CHDIR);
ASSERT_STAGE(RLIMIT);
ASSERT_STAGE(OOM_ADJ);
ASSERT_STAGE(CLOSE_FDS);
ASSERT_STAGE(EXEC);

/* child_exec() keeps a fixed scratch array of this size on its stack. */
_Static_assert(SPAWND_MAX_TARGET_FD + 1 <= CHILD_MAX_FDS, "fd table larger than CHILD_MAX_FDS");
/* One write() of the record must be atomic, so the parent never sees half. */
_Static_assert(sizeof(struct child_report) <= PIPE_BUF, "child_report larger than PIPE_BUF");

static void
spawn_prepared_freep(struct spawn_prepared **p)
{
	*p = spawn_prepared_free(*p);
}

static char **
strv_copy(char *const *v)
{
	size_t n = strv_length(v);
	_cleanup_strv_free_ char **c = calloc(n + 1, sizeof(char *));

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i])
			return NULL;
	}
	return TAKE_PTR(c);
}

int
spawn_prepare(const struct spawn_request *req, const struct target_user *target, char *path,
	      char **envp, const int *received, size_t n_received, const struct spawn_env *env,
	      struct spawn_prepared **ret)
{
	_cleanup_free_ char *path_owned = path;
	_cleanup_strv_free_ char **envp_owned = envp;
	_cleanup_(spawn_prepared_freep) struct spawn_prepared *sp = NULL;
	struct child_plan *plan;
	size_t n_fds;
	int max_dst, r;

	if (!req || !target || !env || !ret || !path || !envp)
		return -EINVAL;
	/* execve does no PATH search and the policy matched this literal path. */
	if (path[0] != '/')
		return -EINVAL;
	/* argc == 0 makes some programs read envp as argv (pkexec CVE-2021-4034). */
	if (!req->argv || !req->argv[0] || req->argv[0][0] == '\0')
		return -EINVAL;
	if (req->cwd && req->cwd[0] != '/')
		return -EINVAL;
	if (target->n_groups > 0 && !target->groups)
		return -EINVAL;
	/* (uid_t)-1 means "leave unchanged" to setresuid: never a target. */
	if (target->uid == (uid_t)-1 || target->gid == (gid_t)-1)
		return -EINVAL;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->argv = strv_copy(req->argv);
	sp->cwd = strdup(req->cwd ? req->cwd : "/");
	/* Never malloc(0): a NULL list must not read as a failed allocation. */
	sp->groups = malloc((target->n_groups > 0 ? target->n_groups : 1) * sizeof(gid_t));
	if (!sp->argv || !sp->cwd || !sp->groups)
		return -ENOMEM;
	if (target->n_groups > 0)
		memcpy(sp->groups, target->groups, target->n_groups * sizeof(gid_t));

	r = fdmap_plan(req->fds, req->n_fds, received, n_received, env->devnull, &sp->fds, &n_fds,
		       &max_dst);
	if (r < 0)
		return r;

	sp->path = TAKE_PTR(path_owned);
	sp->envp = TAKE_PTR(envp_owned);

	plan = &sp->plan;
	*plan = (struct child_plan){
		.path = sp->path,
		.argv = sp->argv,
		.envp = sp->envp,
		.fds = sp->fds,
		.n_fds = n_fds,
		.max_dst = max_dst,
		.uid = target->uid,
		.gid = target->gid,
		.groups = sp->groups,
		.n_groups = target->n_groups,
		.cwd = sp->cwd,
		.umask = req->umask & 0777,
		.errpipe = -EBADF,
		.set_nofile = env->set_nofile,
		.nofile = env->nofile,
		.write_oom_adj = env->write_oom_adj,
		.raw_syscalls = false,
	};
	/* The child starts with an empty mask (DESIGN.md section 7). */
	if (sigemptyset(&plan->sigmask) < 0)
		return -errno;

	*ret = TAKE_PTR(sp);
	return 0;
}

struct spawn_prepared *
spawn_prepared_free(struct spawn_prepared *sp)
{
	if (!sp)
		return NULL;
	free(sp->path);
	(void)strv_free(sp->argv);
	(void)strv_free(sp->envp);
	free(sp->cwd);
	free(sp->fds);
	free(sp->groups);
	free(sp);
	return NULL;
}

/*
 * Give up on a child we could not get a pidfd for. It is killed but not
 * waited for here: a child already stuck in its setup (a cwd on a FUSE
 * mount that never answers) ignores even SIGKILL, and a blocking waitpid
 * would stall the event loop with it. It is not tracked, so the reaper's
 * SIGCHLD safety net reaps it whenever it does die.
 */
static void
kill_untracked(pid_t pid)
{
	(void)kill(pid, SIGKILL);
}

int
spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid, int *ret_pidfd,
	    int *ret_errpipe)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	sigset_t all, saved;
	int pipefd[2], pidfd, r;
	pid_t pid;

	if (!sp || !ret_pid || !ret_pidfd || !ret_errpipe)
		return -EINVAL;
	if (engine == SPAWN_ENGINE_VFORK)
		return -EOPNOTSUPP;
	if (engine != SPAWN_ENGINE_FORK)
		return -EINVAL;

	/*
	 * Both ends O_NONBLOCK in one call: the parent's read end must not
	 * block the loop, and the child's single 8-byte write into an empty
	 * pipe can never see EAGAIN.
	 */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rfd = pipefd[0];
	wfd = pipefd[1];

	/*
	 * Block every signal across fork: until child_exec() has reset all
	 * dispositions, a signal delivered to the child would run one of the
	 * daemon's handlers there (glibc spawni.c, CPython do_fork_exec). The
	 * child restores plan.sigmask (empty) itself, right before execve.
	 */
	if (sigfillset(&all) < 0)
		return -errno;
	r = pthread_sigmask(SIG_SETMASK, &all, &saved);
	if (r != 0)
		return -r;

	sp->plan.errpipe = wfd;
	pid = fork();
	if (pid == 0)
		child_exec(&sp->plan);
	r = pid < 0 ? -errno : 0;

	(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	sp->plan.errpipe = -EBADF;
	/* Only the child may hold the write end, or EOF would never come. */
	wfd = safe_close(wfd);
	if (r < 0)
		return r;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r = -errno;
		kill_untracked(pid);
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
