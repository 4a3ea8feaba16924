/* SPDX-License-Identifier: MIT */
/*
 * The child plan (DESIGN.md section 3): everything the child reads,
 * computed and allocated here, in the parent, so that the child only reads
 * it (child_exec.c). Starting the child is the engine's (spawn_clone.c).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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
		.reset_signals = UINT64_MAX, /* spawn_start() narrows it down */
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
	spawn_stack_put(sp->stack);
	free(sp);
	return NULL;
}
