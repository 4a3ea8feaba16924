/* SPDX-License-Identifier: MIT */
/*
 * Decode + validate one request datagram (the fuzz target). Pure: no I/O.
 *
 * Everything a later stage relies on is established here, once, so that the
 * policy, the audit log and execve all see the very same bytes:
 *  - argv has at least one entry and argv[0] is not empty (pkexec
 *    CVE-2021-4034); a command with a '/' is absolute;
 *  - no string carries an embedded NUL (fields are `bytes` on the wire
 *    precisely so that a NUL cannot silently truncate what the policy sees);
 *  - environment entries are NAME=VALUE with a non-empty name and no
 *    duplicate names within a list (CVE-2016-2381);
 *  - fd indices are in range, every received fd is used, targets unique;
 *  - counts and sizes are under the caps of proto/wire.h.
 */
#define _GNU_SOURCE

#include "request.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "wire.h"

/* Copy a bytes field into a NUL-terminated string, refusing embedded NULs. */
static int
dup_bytes(const ProtobufCBinaryData *b, char **ret)
{
	char *s;

	/* execve counts the NUL toward MAX_ARG_STRLEN (32 pages, 128 KiB with
	 * 4 KiB pages): refuse here, before fork, what it would refuse. */
	if (b->len >= SPAWND_MAX_STRING_BYTES)
		return -E2BIG;
	if (b->len > 0 && memchr(b->data, '\0', b->len))
		return -EINVAL;
	s = malloc(b->len + 1);
	if (!s)
		return -ENOMEM;
	if (b->len > 0)
		memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	*ret = s;
	return 0;
}

/* Copy n bytes fields into a NULL-terminated string array. */
static int
dup_bytes_array(const ProtobufCBinaryData *arr, size_t n, char ***ret)
{
	char **v = calloc(n + 1, sizeof(char *));
	int r;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = dup_bytes(&arr[i], &v[i]);
		if (r < 0) {
			(void)strv_free(v);
			return r;
		}
	}
	*ret = v;
	return 0;
}

/* NAME=VALUE with a non-empty name that has no '='. */
static bool
env_entry_valid(const char *e)
{
	const char *eq = strchr(e, '=');

	return eq && eq != e;
}

static bool
env_same_name(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");

	return la == lb && memcmp(a, b, la) == 0;
}

static int
cmp_env_name(const void *x, const void *y)
{
	const char *a = *(char *const *)x, *b = *(char *const *)y;
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/*
 * Check a list of environment entries: well-formed and no duplicate names.
 * Sorting a scratch copy keeps this O(n log n) for the 4096-entry cap.
 */
static int
validate_env_list(char *const *v, size_t n, const char **ret_error)
{
	_cleanup_free_ char **sorted = NULL;

	for (size_t i = 0; i < n; i++)
		if (!env_entry_valid(v[i])) {
			*ret_error = "malformed environment entry (want NAME=VALUE)";
			return -EINVAL;
		}
	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(char *));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, v, n * sizeof(char *));
	qsort(sorted, n, sizeof(char *), cmp_env_name);
	for (size_t i = 1; i < n; i++)
		if (env_same_name(sorted[i - 1], sorted[i])) {
			*ret_error = "duplicate environment variable";
			return -EINVAL;
		}
	return 0;
}

/* A dup_bytes() failure as the reason the request is refused. */
static int
string_error(int r, const char **ret_error)
{
	if (r == -EINVAL)
		*ret_error = "string contains a NUL byte";
	else if (r == -E2BIG)
		*ret_error = "string too long";
	return r;
}

/* Why a command path (argv[0] or exec_path) is refused, or NULL. */
static const char *
command_refusal(const char *path, const char *empty)
{
	if (path[0] == '\0')
		return empty;
	if (strchr(path, '/') && path[0] != '/')
		return "command path is relative";
	return NULL;
}

/* argv, the target user and the groups. */
static int
decode_who(const Spawnd__V1__Spawn *m, struct spawn_request *s, const char **ret_error)
{
	int r;

	r = dup_bytes_array(m->argv, m->n_argv, &s->argv);
	if (r < 0)
		return string_error(r, ret_error);
	s->argc = m->n_argv;
	*ret_error = command_refusal(s->argv[0], "argv[0] is empty");
	if (*ret_error)
		return -EINVAL;
	/* The program, when not argv[0]: the same rules. */
	if (m->has_exec_path) {
		r = dup_bytes(&m->exec_path, &s->exec_path);
		if (r < 0)
			return string_error(r, ret_error);
		*ret_error = command_refusal(s->exec_path, "exec_path is empty");
		if (*ret_error)
			return -EINVAL;
	}

	if (!m->has_user) {
		/* Never default to root: a missing field is an error. */
		*ret_error = "no target user";
		return -EINVAL;
	}
	r = dup_bytes(&m->user, &s->user);
	if (r < 0)
		return string_error(r, ret_error);
	if (s->user[0] == '\0') {
		*ret_error = "empty target user";
		return -EINVAL;
	}
	if (m->has_group) {
		r = dup_bytes(&m->group, &s->group);
		if (r < 0)
			return string_error(r, ret_error);
		if (s->group[0] == '\0') {
			*ret_error = "empty group";
			return -EINVAL;
		}
	}
	if (m->n_groups > 0) {
		r = dup_bytes_array(m->groups, m->n_groups, &s->groups);
		if (r < 0)
			return string_error(r, ret_error);
		s->n_groups = m->n_groups;
		for (size_t i = 0; i < s->n_groups; i++)
			if (s->groups[i][0] == '\0') {
				*ret_error = "empty group";
				return -EINVAL;
			}
	}
	/* No supplementary groups: an empty list, which `groups` cannot send. */
	if (m->has_no_groups && m->no_groups) {
		if (m->n_groups > 0) {
			*ret_error = "no_groups with groups";
			return -EINVAL;
		}
		s->groups = calloc(1, sizeof(char *));
		if (!s->groups)
			return -ENOMEM;
	}
	return 0;
}

/* The working directory and the umask. */
static int
decode_where(const Spawnd__V1__Spawn *m, struct spawn_request *s, const char **ret_error)
{
	int r;

	if (m->has_cwd) {
		r = dup_bytes(&m->cwd, &s->cwd);
		if (r < 0)
			return string_error(r, ret_error);
		if (s->cwd[0] != '/') {
			*ret_error = "working directory is not absolute";
			return -EINVAL;
		}
	} else {
		s->cwd = strdup("/");
		if (!s->cwd)
			return -ENOMEM;
	}
	s->umask = 022;
	if (m->has_umask) {
		if (m->umask > 0777) {
			*ret_error = "umask out of range";
			return -EINVAL;
		}
		s->umask = (mode_t)m->umask;
	}
	return 0;
}

/* The fd map: indices in range, targets unique, every received fd used. */
static int
decode_fds(const Spawnd__V1__Spawn *m, size_t n_fds, struct spawn_request *s, bool *target_seen,
	   const char **ret_error)
{
	bool used[SPAWND_MAX_FDS] = {false};

	if (m->n_fds > 0) {
		s->fds = calloc(m->n_fds, sizeof(struct fd_map));
		if (!s->fds)
			return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_fds; i++) {
		const Spawnd__V1__FdMap *f = m->fds[i];

		if (f->index >= n_fds) {
			*ret_error = "fd index out of range";
			return -EINVAL;
		}
		if (f->target > SPAWND_MAX_TARGET_FD) {
			*ret_error = "fd target out of range";
			return -EINVAL;
		}
		if (target_seen[f->target]) {
			*ret_error = "fd target mapped twice";
			return -EINVAL;
		}
		target_seen[f->target] = true;
		used[f->index] = true;
		s->fds[i] = (struct fd_map){.index = f->index, .target = (int)f->target};
	}
	s->n_fds = m->n_fds;
	/* An fd sent but not mapped is a client bug; refuse rather than guess. */
	for (size_t i = 0; i < n_fds; i++)
		if (!used[i]) {
			*ret_error = "received fd not mapped";
			return -EINVAL;
		}
	return 0;
}

/* Both environment lists, and argv + envp as execve will see them. */
static int
decode_env(const Spawnd__V1__Spawn *m, struct spawn_request *s, const char **ret_error)
{
	size_t exec_bytes = 0;
	int r;

	r = dup_bytes_array(m->env_inherit, m->n_env_inherit, &s->env_inherit);
	if (r < 0)
		return string_error(r, ret_error);
	s->n_env_inherit = m->n_env_inherit;
	r = validate_env_list(s->env_inherit, s->n_env_inherit, ret_error);
	if (r < 0)
		return r;
	r = dup_bytes_array(m->env_set, m->n_env_set, &s->env_set);
	if (r < 0)
		return string_error(r, ret_error);
	s->n_env_set = m->n_env_set;
	r = validate_env_list(s->env_set, s->n_env_set, ret_error);
	if (r < 0)
		return r;

	/* An ARG_MAX-like cap, before fork. */
	for (size_t i = 0; i < m->n_argv; i++)
		exec_bytes += m->argv[i].len + 1 + sizeof(char *);
	for (size_t i = 0; i < m->n_env_inherit; i++)
		exec_bytes += m->env_inherit[i].len + 1 + sizeof(char *);
	for (size_t i = 0; i < m->n_env_set; i++)
		exec_bytes += m->env_set[i].len + 1 + sizeof(char *);
	if (exec_bytes > SPAWND_MAX_EXEC_BYTES) {
		*ret_error = "argument list too long";
		return -E2BIG;
	}
	return 0;
}

/* on_disconnect, the time limit, the kill grace and the pidfd. */
static int
decode_lifecycle(const Spawnd__V1__Spawn *m, struct spawn_request *s, const char **ret_error)
{
	s->on_disconnect = ON_DISCONNECT_TERMINATE;
	if (m->has_on_disconnect) {
		switch (m->on_disconnect) {
		case SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_TERMINATE:
			break;
		case SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_KEEP:
			s->on_disconnect = ON_DISCONNECT_KEEP;
			break;
		case SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_HANGUP:
			s->on_disconnect = ON_DISCONNECT_HANGUP;
			break;
		default:
			*ret_error = "unknown on_disconnect";
			return -EINVAL;
		}
	}
	if (m->has_timeout_ms) {
		if (m->timeout_ms > SPAWND_MAX_TIMEOUT_MS) {
			*ret_error = "timeout too long";
			return -EINVAL;
		}
		s->timeout_usec = m->timeout_ms * 1000;
	}
	/* Capped: a stuck SIGTERM handler must not pin a child for long. */
	s->kill_grace_usec = (uint64_t)SPAWND_KILL_GRACE_SEC * 1000000u;
	if (m->has_kill_grace_ms) {
		if (m->kill_grace_ms > SPAWND_MAX_KILL_GRACE_MS) {
			*ret_error = "kill grace too long";
			return -EINVAL;
		}
		s->kill_grace_usec = m->kill_grace_ms * 1000;
	}
	s->want_pidfd = m->has_want_pidfd && m->want_pidfd;
	return 0;
}

/* The terminal: it must reach the child as one of its fds 0-2. */
static int
decode_pty(const Spawnd__V1__PtyRequest *t, const bool *target_seen, struct spawn_request *s,
	   const char **ret_error)
{
	if (t->rows > USHRT_MAX || t->cols > USHRT_MAX ||
	    (t->has_xpixel && t->xpixel > USHRT_MAX) || (t->has_ypixel && t->ypixel > USHRT_MAX)) {
		*ret_error = "pty window size out of range";
		return -EINVAL;
	}
	if (target_seen[0] && target_seen[1] && target_seen[2]) {
		*ret_error = "pty requested but fds 0, 1 and 2 are all mapped";
		return -EINVAL;
	}
	s->pty = true;
	s->pty_rows = (unsigned short)t->rows;
	s->pty_cols = (unsigned short)t->cols;
	s->pty_xpixel = t->has_xpixel ? (unsigned short)t->xpixel : 0;
	s->pty_ypixel = t->has_ypixel ? (unsigned short)t->ypixel : 0;
	return 0;
}

static int
decode_spawn(const Spawnd__V1__Spawn *m, size_t n_fds, struct spawn_request *s,
	     const char **ret_error)
{
	bool target_seen[SPAWND_MAX_TARGET_FD + 1] = {false};
	int r;

	if (m->n_argv == 0) {
		*ret_error = "argv is empty";
		return -EINVAL;
	}
	if (m->n_argv > SPAWND_MAX_ARGV || m->n_env_inherit > SPAWND_MAX_ENV ||
	    m->n_env_set > SPAWND_MAX_ENV || m->n_groups > SPAWND_MAX_GROUPS ||
	    m->n_fds > SPAWND_MAX_FDS) {
		*ret_error = "too many entries";
		return -E2BIG;
	}
	r = decode_who(m, s, ret_error);
	if (r >= 0)
		r = decode_where(m, s, ret_error);
	if (r >= 0)
		r = decode_fds(m, n_fds, s, target_seen, ret_error);
	if (r >= 0)
		r = decode_env(m, s, ret_error);
	if (r >= 0)
		r = decode_lifecycle(m, s, ret_error);
	if (r >= 0 && m->pty)
		r = decode_pty(m->pty, target_seen, s, ret_error);
	return r;
}

static int
decode_signal(const Spawnd__V1__Signal *m, struct signal_request *s, const char **ret_error)
{
	if (m->signo <= 0 || m->signo >= NSIG) {
		*ret_error = "invalid signal number";
		return -EINVAL;
	}
	s->spawn_id = m->spawn_id;
	s->signo = m->signo;
	s->process_group = m->has_process_group && m->process_group;
	return 0;
}

int
request_decode(const uint8_t *buf, size_t len, size_t n_fds, struct request **ret, uint64_t *ret_id,
	       const char **ret_error)
{
	Spawnd__V1__Request *m = NULL;
	struct request *req = NULL;
	const char *error = "invalid request";
	uint64_t id = 0;
	int r;

	r = wire_request_unpack(buf, len, &m);
	if (r < 0) {
		error = r == -EPROTONOSUPPORT ? "unsupported protocol version"
			: r == -E2BIG	      ? "request too large to decode"
					      : "malformed request";
		goto out;
	}
	id = m->id;

	req = calloc(1, sizeof(*req));
	if (!req) {
		r = -ENOMEM;
		goto out;
	}
	req->id = m->id;

	switch (m->body_case) {
	case SPAWND__V1__REQUEST__BODY_SPAWN:
		req->kind = REQUEST_SPAWN;
		r = decode_spawn(m->spawn, n_fds, &req->spawn, &error);
		break;
	case SPAWND__V1__REQUEST__BODY_SIGNAL:
		req->kind = REQUEST_SIGNAL;
		if (n_fds > 0) {
			error = "signal request carries fds";
			r = -EINVAL;
			break;
		}
		r = decode_signal(m->signal, &req->signal, &error);
		break;
	default:
		error = "request has no body";
		r = -EINVAL;
		break;
	}
	if (r < 0)
		goto out;

	*ret = TAKE_PTR(req);
out:
	wire_request_free(m);
	req = request_free(req);
	*ret_id = id;
	if (r < 0)
		*ret_error = error;
	return r;
}

struct request *
request_free(struct request *r)
{
	if (!r)
		return NULL;
	if (r->kind == REQUEST_SPAWN) {
		struct spawn_request *s = &r->spawn;

		(void)strv_free(s->argv);
		free(s->exec_path);
		free(s->user);
		free(s->group);
		(void)strv_free(s->groups);
		free(s->cwd);
		free(s->fds);
		(void)strv_free(s->env_inherit);
		(void)strv_free(s->env_set);
	}
	free(r);
	return NULL;
}

void
request_spawn_trim(struct request *r)
{
	struct spawn_request *s;

	if (!r || r->kind != REQUEST_SPAWN)
		return;
	s = &r->spawn;
	s->argv = strv_free(s->argv);
	s->argc = 0;
	free(s->exec_path);
	s->exec_path = NULL;
	free(s->group);
	s->group = NULL;
	s->groups = strv_free(s->groups);
	s->n_groups = 0;
	free(s->cwd);
	s->cwd = NULL;
	free(s->fds);
	s->fds = NULL;
	s->n_fds = 0;
	s->env_inherit = strv_free(s->env_inherit);
	s->n_env_inherit = 0;
	s->env_set = strv_free(s->env_set);
	s->n_env_set = 0;
}
