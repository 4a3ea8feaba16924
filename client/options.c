/* SPDX-License-Identifier: MIT */
/*
 * The request builder. Options are opaque and set through functions so
 * that fields can be added without an ABI break (STYLE.md section 7).
 * Every setter validates what the client can know for sure and copies its
 * input; the daemon still validates everything again, because it must not
 * trust any client.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wire.h"

static void
strv_free_n(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

SPAWND_EXPORT int
spawnd_options_new(spawnd_options **ret)
{
	spawnd_options *o;

	if (!ret)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
}

SPAWND_EXPORT spawnd_options *
spawnd_options_free(spawnd_options *o)
{
	if (!o)
		return NULL;
	strv_free_n(o->argv, o->n_argv);
	free(o->exec_path);
	free(o->user);
	free(o->group);
	strv_free_n(o->groups, o->n_groups);
	free(o->cwd);
	free(o->fds);
	strv_free_n(o->env_inherit, o->n_env_inherit);
	strv_free_n(o->env_set, o->n_env_set);
	free(o);
	return NULL;
}

SPAWND_EXPORT int
spawnd_options_set_argv(spawnd_options *o, char *const *argv)
{
	char **copy;
	size_t n = 0;

	if (!o || !argv || !argv[0] || !argv[0][0])
		return -EINVAL;
	while (argv[n]) {
		if (++n > SPAWND_MAX_ARGV)
			return -E2BIG;
	}

	/* Build the whole copy first so that a failure leaves o unchanged. */
	copy = calloc(n + 1, sizeof(char *));
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(argv[i]);
		if (!copy[i]) {
			strv_free_n(copy, i);
			return -ENOMEM;
		}
	}
	strv_free_n(o->argv, o->n_argv);
	o->argv = copy;
	o->n_argv = n;
	return 0;
}

/* Replace *slot with a copy of s; NULL s resets to the default. */
static int
set_string(char **slot, const char *s)
{
	char *copy = NULL;

	if (s) {
		if (!s[0])
			return -EINVAL;
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* Append a copy of s to a string list of at most max entries. */
static int
strv_append(char ***v, size_t *n, size_t max, const char *s)
{
	char **grown;
	char *copy;

	if (*n >= max)
		return -E2BIG;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	grown = realloc(*v, (*n + 1) * sizeof(char *));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[(*n)++] = copy;
	*v = grown;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_executable(spawnd_options *o, const char *path)
{
	if (!o)
		return -EINVAL;
	/* As argv[0]: absolute, or a bare name the daemon looks up. */
	if (path && strchr(path, '/') && path[0] != '/')
		return -EINVAL;
	return set_string(&o->exec_path, path);
}

SPAWND_EXPORT int
spawnd_options_set_user(spawnd_options *o, const char *user)
{
	if (!o)
		return -EINVAL;
	return set_string(&o->user, user);
}

SPAWND_EXPORT int
spawnd_options_set_group(spawnd_options *o, const char *group)
{
	if (!o)
		return -EINVAL;
	return set_string(&o->group, group);
}

SPAWND_EXPORT int
spawnd_options_add_group(spawnd_options *o, const char *group)
{
	int r;

	if (!o || !group || !group[0])
		return -EINVAL;
	r = strv_append(&o->groups, &o->n_groups, SPAWND_MAX_GROUPS, group);
	if (r >= 0)
		o->no_groups = false; /* a list again */
	return r;
}

SPAWND_EXPORT int
spawnd_options_set_no_groups(spawnd_options *o, int none)
{
	if (!o)
		return -EINVAL;
	if (none) {
		strv_free_n(o->groups, o->n_groups);
		o->groups = NULL;
		o->n_groups = 0;
	}
	o->no_groups = none != 0;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_cwd(spawnd_options *o, const char *cwd)
{
	if (!o)
		return -EINVAL;
	/* The daemon never resolves a relative directory against its own cwd. */
	if (cwd && cwd[0] != '/')
		return -EINVAL;
	return set_string(&o->cwd, cwd);
}

SPAWND_EXPORT int
spawnd_options_set_umask(spawnd_options *o, unsigned mask)
{
	if (!o || mask > 0777)
		return -EINVAL;
	o->has_umask = true;
	o->umask = mask;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_add_fd(spawnd_options *o, int child_fd, int fd)
{
	struct client_fd_map *grown;

	if (!o || child_fd < 0 || (unsigned)child_fd > SPAWND_MAX_TARGET_FD || fd < 0)
		return -EINVAL;
	for (size_t i = 0; i < o->n_fds; i++)
		if (o->fds[i].child_fd == child_fd)
			return -EINVAL;
	if (o->n_fds >= SPAWND_MAX_FDS)
		return -E2BIG;
	grown = realloc(o->fds, (o->n_fds + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[o->n_fds++] = (struct client_fd_map){.child_fd = child_fd, .fd = fd};
	o->fds = grown;
	return 0;
}

/* NAME=VALUE with a non-empty name; the daemon refuses anything else. */
static bool
env_entry_valid(const char *entry)
{
	const char *eq;

	if (!entry)
		return false;
	eq = strchr(entry, '=');
	return eq && eq != entry;
}

/*
 * The environment setters are named after the two lists the daemon builds
 * the child's environment from: add_env (env_set on the wire: the policy
 * must allow each name) and add_inherited_env/_envp (env_inherit: filtered
 * silently). setenv and inherit_environ are the 0.1 names, kept as aliases.
 */
SPAWND_EXPORT int
spawnd_options_add_env(spawnd_options *o, const char *entry)
{
	if (!o || !env_entry_valid(entry))
		return -EINVAL;
	return strv_append(&o->env_set, &o->n_env_set, SPAWND_MAX_ENV, entry);
}

SPAWND_EXPORT int
spawnd_options_setenv(spawnd_options *o, const char *entry)
{
	return spawnd_options_add_env(o, entry);
}

SPAWND_EXPORT int
spawnd_options_add_inherited_env(spawnd_options *o, const char *entry)
{
	if (!o || !env_entry_valid(entry))
		return -EINVAL;
	return strv_append(&o->env_inherit, &o->n_env_inherit, SPAWND_MAX_ENV, entry);
}

/* True when the inherited list already has a variable named like entry. */
static bool
env_inherit_has(const spawnd_options *o, const char *entry)
{
	size_t len = (size_t)(strchr(entry, '=') - entry) + 1; /* name and '=' */

	for (size_t i = 0; i < o->n_env_inherit; i++)
		if (strncmp(o->env_inherit[i], entry, len) == 0)
			return true;
	return false;
}

/*
 * environ can hold entries the daemon would refuse (no '=', or a name seen
 * twice, which putenv/execve permit). Such entries are skipped: the first
 * occurrence is the one getenv() returns, so that is the one we keep, and
 * one odd variable must not make every spawn of this process fail.
 */
SPAWND_EXPORT int
spawnd_options_add_inherited_envp(spawnd_options *o, char *const *envp)
{
	if (!o || !envp)
		return -EINVAL;
	for (size_t i = 0; envp[i]; i++) {
		int r;

		if (!env_entry_valid(envp[i]) || env_inherit_has(o, envp[i]))
			continue;
		r = strv_append(&o->env_inherit, &o->n_env_inherit, SPAWND_MAX_ENV, envp[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

SPAWND_EXPORT int
spawnd_options_inherit_environ(spawnd_options *o, char *const *envp)
{
	return spawnd_options_add_inherited_envp(o, envp);
}

SPAWND_EXPORT int
spawnd_options_set_keep(spawnd_options *o, int keep)
{
	if (!o)
		return -EINVAL;
	o->on_disconnect = keep ? SPAWND_ON_DISCONNECT_KEEP : SPAWND_ON_DISCONNECT_TERMINATE;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_on_disconnect(spawnd_options *o, spawnd_on_disconnect how)
{
	if (!o)
		return -EINVAL;
	switch (how) {
	case SPAWND_ON_DISCONNECT_TERMINATE:
	case SPAWND_ON_DISCONNECT_KEEP:
	case SPAWND_ON_DISCONNECT_HANGUP:
		o->on_disconnect = how;
		return 0;
	}
	return -EINVAL;
}

/* The public maximum must be the daemon's cap, or valid requests get refused. */
_Static_assert(SPAWND_KILL_GRACE_MAX_USEC == SPAWND_MAX_KILL_GRACE_MS * 1000,
	       "SPAWND_KILL_GRACE_MAX_USEC differs from the wire cap");

SPAWND_EXPORT int
spawnd_options_set_kill_grace(spawnd_options *o, uint64_t grace_usec)
{
	uint64_t ms;

	if (!o)
		return -EINVAL;
	if (grace_usec == SPAWND_KILL_GRACE_DEFAULT) {
		o->has_kill_grace = false;
		o->kill_grace_ms = 0;
		return 0;
	}
	if (grace_usec > SPAWND_KILL_GRACE_MAX_USEC)
		return -EINVAL;
	/* Round up, like the time limit: a grace is never shorter than asked. */
	ms = grace_usec / 1000 + (grace_usec % 1000 != 0);
	o->has_kill_grace = true;
	o->kill_grace_ms = ms;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_want_pidfd(spawnd_options *o, int want)
{
	if (!o)
		return -EINVAL;
	o->want_pidfd = want != 0;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_pty(spawnd_options *o, int want, unsigned rows, unsigned cols)
{
	if (!o || rows > USHRT_MAX || cols > USHRT_MAX)
		return -EINVAL;
	o->pty = want != 0;
	o->pty_rows = want ? (unsigned short)rows : 0;
	o->pty_cols = want ? (unsigned short)cols : 0;
	return 0;
}

SPAWND_EXPORT int
spawnd_options_set_pty_pixels(spawnd_options *o, unsigned xpixel, unsigned ypixel)
{
	if (!o || xpixel > USHRT_MAX || ypixel > USHRT_MAX)
		return -EINVAL;
	o->pty_xpixel = (unsigned short)xpixel;
	o->pty_ypixel = (unsigned short)ypixel;
	return 0;
}

/*
 * The run-time limit. 0 is refused: as a wait 0 means "do not wait", so
 * reading it as "no limit" here would give one number two meanings.
 */
SPAWND_EXPORT int
spawnd_options_set_time_limit(spawnd_options *o, uint64_t limit_usec)
{
	uint64_t ms;

	if (!o || limit_usec == 0)
		return -EINVAL;
	if (limit_usec == SPAWND_NO_TIME_LIMIT) {
		o->timeout_ms = 0;
		return 0;
	}
	/* Round up, so that a tiny limit never turns into "none" (0 ms). */
	ms = limit_usec / 1000 + (limit_usec % 1000 != 0);
	if (ms > SPAWND_MAX_TIMEOUT_MS)
		return -EINVAL;
	o->timeout_ms = ms;
	return 0;
}

/* The 0.1 setter, unchanged: 0 means no limit there, UINT64_MAX is too long. */
SPAWND_EXPORT int
spawnd_options_set_timeout(spawnd_options *o, uint64_t timeout_usec)
{
	if (!o || timeout_usec == SPAWND_NO_TIME_LIMIT)
		return -EINVAL;
	if (timeout_usec == 0)
		return spawnd_options_set_time_limit(o, SPAWND_NO_TIME_LIMIT);
	return spawnd_options_set_time_limit(o, timeout_usec);
}
