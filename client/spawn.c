/* SPDX-License-Identifier: MIT */
/*
 * Spawn and Signal requests. The synchronous calls are the asynchronous
 * ones plus client_run_until() with a deadline: one code path, so that the
 * blocking API cannot drift from what event-loop users get (STYLE.md 7).
 *
 * spawnd_run(), spawnd_start() and spawnd_wait_exit() share sync_collect()
 * and its contract (spawnd.h): 0 only when the state asked for is reached,
 * -errno for everything else, and *ret always set. The 0.1 calls
 * spawnd_spawn() and spawnd_wait() keep their own behaviour below.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wire.h"

/* Sent when the caller chose no user: the protocol has no default user. */
static char default_user[] = "root";

static ProtobufCBinaryData
bytes_of(char *s)
{
	return (ProtobufCBinaryData){.len = strlen(s), .data = (uint8_t *)s};
}

/* Point n binary fields at the strings of v (no copies). */
static ProtobufCBinaryData *
bytes_fill(ProtobufCBinaryData *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = bytes_of(v[i]);
	return out;
}

/* The program, its identity, place and environment; strings point into o. */
static void
pack_program(Spawnd__V1__Spawn *sp, const spawnd_options *o, ProtobufCBinaryData *bytes)
{
	sp->n_argv = o->n_argv;
	sp->argv = bytes_fill(bytes, o->argv, o->n_argv);
	if (o->exec_path) {
		sp->has_exec_path = true;
		sp->exec_path = bytes_of(o->exec_path);
	}
	sp->has_user = true;
	sp->user = bytes_of(o->user ? o->user : default_user);
	if (o->group) {
		sp->has_group = true;
		sp->group = bytes_of(o->group);
	}
	sp->n_groups = o->n_groups;
	sp->groups = bytes_fill(sp->argv + o->n_argv, o->groups, o->n_groups);
	if (o->no_groups) {
		sp->has_no_groups = true;
		sp->no_groups = true;
	}
	if (o->cwd) {
		sp->has_cwd = true;
		sp->cwd = bytes_of(o->cwd);
	}
	if (o->has_umask) {
		sp->has_umask = true;
		sp->umask = o->umask;
	}
	sp->n_env_inherit = o->n_env_inherit;
	sp->env_inherit = bytes_fill(sp->groups + o->n_groups, o->env_inherit, o->n_env_inherit);
	sp->n_env_set = o->n_env_set;
	sp->env_set = bytes_fill(sp->env_inherit + o->n_env_inherit, o->env_set, o->n_env_set);
}

/* How the child lives: disconnect, time limit, kill grace, pidfd, terminal. */
static void
pack_lifecycle(Spawnd__V1__Spawn *sp, Spawnd__V1__PtyRequest *pty, const spawnd_options *o)
{
	/* Only what differs from the daemon's defaults is sent, so that a
	 * plain request stays readable by any daemon of this major version. */
	if (o->on_disconnect != SPAWND_ON_DISCONNECT_TERMINATE) {
		sp->has_on_disconnect = true;
		sp->on_disconnect = o->on_disconnect == SPAWND_ON_DISCONNECT_KEEP
					    ? SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_KEEP
					    : SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_HANGUP;
	}
	if (o->timeout_ms > 0) {
		sp->has_timeout_ms = true;
		sp->timeout_ms = o->timeout_ms;
	}
	if (o->has_kill_grace) {
		sp->has_kill_grace_ms = true;
		sp->kill_grace_ms = o->kill_grace_ms;
	}
	if (o->want_pidfd) {
		sp->has_want_pidfd = true;
		sp->want_pidfd = true;
	}
	if (o->pty) {
		pty->rows = o->pty_rows;
		pty->cols = o->pty_cols;
		if (o->pty_xpixel || o->pty_ypixel) {
			pty->has_xpixel = pty->has_ypixel = true;
			pty->xpixel = o->pty_xpixel;
			pty->ypixel = o->pty_ypixel;
		}
		sp->pty = pty;
	}
}

/*
 * Encode the options as one Request. The protobuf structures only point
 * into o (nothing is copied) and live until wire_pack has serialised them.
 * Returns 0 with the packed message and the fd array to send, or -ENOMEM,
 * -E2BIG.
 */
static int
spawn_pack(const spawnd_options *o, uint64_t id, uint8_t **ret_buf, size_t *ret_len, int **ret_fds)
{
	Spawnd__V1__Request req = SPAWND__V1__REQUEST__INIT;
	Spawnd__V1__Spawn sp = SPAWND__V1__SPAWN__INIT;
	Spawnd__V1__PtyRequest pty = SPAWND__V1__PTY_REQUEST__INIT;
	size_t n_bytes = o->n_argv + o->n_groups + o->n_env_inherit + o->n_env_set;
	ProtobufCBinaryData *bytes = NULL;
	Spawnd__V1__FdMap *maps = NULL;
	Spawnd__V1__FdMap **map_ptrs = NULL;
	int *fds = NULL;
	int r = -ENOMEM;

	bytes = calloc(n_bytes ? n_bytes : 1, sizeof(*bytes));
	if (!bytes)
		goto out;
	if (o->n_fds > 0) {
		maps = calloc(o->n_fds, sizeof(*maps));
		map_ptrs = calloc(o->n_fds, sizeof(*map_ptrs));
		fds = calloc(o->n_fds, sizeof(*fds));
		if (!maps || !map_ptrs || !fds)
			goto out;
	}

	pack_program(&sp, o, bytes);
	/* The fds ride in option order; FdMap.index is the position among them. */
	for (size_t i = 0; i < o->n_fds; i++) {
		spawnd__v1__fd_map__init(&maps[i]);
		maps[i].index = (uint32_t)i;
		maps[i].target = (uint32_t)o->fds[i].child_fd;
		map_ptrs[i] = &maps[i];
		fds[i] = o->fds[i].fd;
	}
	sp.n_fds = o->n_fds;
	sp.fds = map_ptrs;
	pack_lifecycle(&sp, &pty, o);

	req.version = SPAWND_PROTOCOL_VERSION;
	req.id = id;
	req.body_case = SPAWND__V1__REQUEST__BODY_SPAWN;
	req.spawn = &sp;

	r = wire_pack(&req.base, ret_buf, ret_len);
	if (r < 0)
		goto out;
	*ret_fds = fds;
	fds = NULL;
out:
	free(fds);
	free(map_ptrs);
	free(maps);
	free(bytes);
	return r;
}

SPAWND_EXPORT int
spawnd_spawn_async(spawnd_client *c, const spawnd_options *o, spawnd_spawn_cb cb, void *userdata,
		   uint64_t *ret_id)
{
	struct client_spawn *s;
	uint8_t *buf = NULL;
	size_t len = 0;
	int *fds = NULL;
	uint64_t id;
	int r;

	if (!c || !o || !o->argv)
		return -EINVAL;
	if (c->send_error)
		return c->send_error;

	id = c->next_id;
	r = spawn_pack(o, id, &buf, &len, &fds);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		free(buf);
		free(fds);
		return -ENOMEM;
	}
	s->cb = cb;
	s->userdata = userdata;
	s->result.id = id;
	s->result.state = SPAWND_STATE_PENDING;
	s->result.pid = -1;
	s->result.exit_code = -1;
	s->result.pidfd = -EBADF;
	s->result.pty_master = -EBADF;
	s->want_pidfd = o->want_pidfd;
	s->want_pty = o->pty;

	/* client_submit takes buf in every case; no callback runs inside it. */
	r = client_submit(c, id, buf, len, fds, o->n_fds);
	free(fds);
	if (r < 0) {
		free(s);
		return r;
	}
	c->next_id++;
	s->next = c->spawns;
	c->spawns = s;
	if (ret_id)
		*ret_id = id;
	return 0;
}

static bool
spawn_answered(struct spawnd_client *c, void *data)
{
	struct client_spawn *s = client_spawn_find(c, *(const uint64_t *)data);

	return !s || s->result.state != SPAWND_STATE_PENDING;
}

static bool
spawn_finished(struct spawnd_client *c, void *data)
{
	struct client_spawn *s = client_spawn_find(c, *(const uint64_t *)data);

	return !s || s->result.state == SPAWND_STATE_FAILED ||
	       s->result.state == SPAWND_STATE_EXITED;
}

/*
 * A FAILED result with stage PROTOCOL means the connection broke (or a
 * request could not be sent): the synchronous calls report that as their
 * own error, as documented, rather than as a result.
 */
static int
result_connection_error(const struct spawnd_result *r)
{
	if (r->state == SPAWND_STATE_FAILED && r->stage == SPAWND_STAGE_PROTOCOL)
		return -(r->errnum > 0 ? r->errnum : ECONNRESET);
	return 0;
}

/*
 * Started and Exited arrived in one batch, and the caller asked for the
 * start: turn the copy into the STARTED result it would have been (the
 * pidfd stays with it). The exit stays in the entry for a later wait.
 */
static void
result_make_started(struct spawnd_result *res)
{
	struct spawnd_result started = {
		.id = res->id,
		.state = SPAWND_STATE_STARTED,
		.pid = res->pid,
		.exit_code = -1,
		.pidfd = res->pidfd,
		.pty_master = res->pty_master,
	};

	free(res->detail);
	*res = started;
}

/* ---- spawnd_run(), spawnd_start(), spawnd_wait_exit() ---- */

/* The negative errno of a FAILED result (never 0: a failure stays one). */
static int
result_failure(const struct spawnd_result *r)
{
	return -(r->errnum > 0 ? r->errnum : EIO);
}

/*
 * Wait until spawn `id` has started (to_exit false) or exited (to_exit
 * true), or failed, or the deadline passed; then give the caller a copy
 * of its result in *ret (already NULL) and return as spawnd.h says.
 *
 * A final result (FAILED, or EXITED when the exit was asked for) is
 * collected: the entry goes. Anything else leaves the entry tracked, so
 * that the caller can resume with spawnd_wait_exit() by the id in *ret.
 * The caller's copy takes the pidfd, if nobody took it before.
 */
static int
sync_collect(struct spawnd_client *c, uint64_t id, bool to_exit, uint64_t deadline,
	     spawnd_result **ret)
{
	struct client_spawn *s = client_spawn_find(c, id);
	struct spawnd_result *res;
	spawnd_state state;
	bool final;
	int r;

	if (!s || s->collected)
		return -ESRCH;

	/* A waiter keeps the entry alive across the callbacks that run meanwhile. */
	s->waiters++;
	r = client_run_until(c, to_exit ? spawn_finished : spawn_answered, &id, deadline);
	s->waiters--;
	if (s->collected) {
		/* A callback that ran meanwhile collected it (nested wait). */
		client_spawn_release(c, s);
		return -ESRCH;
	}

	state = s->result.state;
	final = state == SPAWND_STATE_FAILED || (to_exit && state == SPAWND_STATE_EXITED);
	/*
	 * Without memory for the copy, a final result is dropped; anything
	 * else stays tracked (waitable by an id the caller already has, else
	 * freed with the client).
	 */
	res = client_result_copy(&s->result, true);
	if (final) {
		s->collected = true;
		client_spawn_release(c, s);
	}
	if (!res)
		return -ENOMEM;
	*ret = res;

	if (state == SPAWND_STATE_FAILED)
		return result_failure(res);
	if (to_exit ? state == SPAWND_STATE_EXITED : state != SPAWND_STATE_PENDING) {
		if (state == SPAWND_STATE_EXITED && !to_exit)
			result_make_started(res);
		return 0;
	}
	/* Not there yet: the wait ended (-ETIMEDOUT, -EINTR) first. */
	return r < 0 ? r : -ETIMEDOUT;
}

static int
sync_spawn(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec, bool to_exit,
	   spawnd_result **ret)
{
	uint64_t deadline = client_deadline(timeout_usec);
	uint64_t id;
	int r;

	if (!ret)
		return -EINVAL;
	*ret = NULL;
	if (!c || !o)
		return -EINVAL;

	/* No callback: the entry keeps its results until they are collected. */
	r = spawnd_spawn_async(c, o, NULL, NULL, &id);
	if (r < 0)
		return r;
	return sync_collect(c, id, to_exit, deadline, ret);
}

SPAWND_EXPORT int
spawnd_run(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec, spawnd_result **ret)
{
	return sync_spawn(c, o, timeout_usec, true, ret);
}

SPAWND_EXPORT int
spawnd_start(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec, spawnd_result **ret)
{
	return sync_spawn(c, o, timeout_usec, false, ret);
}

SPAWND_EXPORT int
spawnd_wait_exit(spawnd_client *c, uint64_t id, uint64_t timeout_usec, spawnd_result **ret)
{
	uint64_t deadline = client_deadline(timeout_usec);

	if (!ret)
		return -EINVAL;
	*ret = NULL;
	if (!c)
		return -EINVAL;
	return sync_collect(c, id, true, deadline, ret);
}

/* ---- the 0.1 synchronous calls ---- */

SPAWND_EXPORT int
spawnd_spawn(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec, spawnd_result **ret)
{
	uint64_t deadline = client_deadline(timeout_usec);
	struct spawnd_result *res;
	struct client_spawn *s;
	uint64_t id;
	int r;

	if (!c || !o || !ret)
		return -EINVAL;

	/* No callback: the entry keeps its results until they are collected. */
	r = spawnd_spawn_async(c, o, NULL, NULL, &id);
	if (r < 0)
		return r;

	r = client_run_until(c, spawn_answered, &id, deadline);
	s = client_spawn_find(c, id);
	if (!s)
		return r < 0 ? r : -ESRCH;
	if (r < 0) {
		/*
		 * The caller never learns this id, so nobody could collect the
		 * entry: let the final reply free it. The child, if it starts,
		 * runs until it exits or this connection closes.
		 */
		s->discard = true;
		client_spawn_release(c, s);
		return r;
	}

	r = result_connection_error(&s->result);
	if (r < 0) {
		s->collected = true;
		client_spawn_release(c, s);
		return r;
	}

	/* The caller owns the pidfd from here, with the result. */
	res = client_result_copy(&s->result, true);
	if (!res) {
		s->discard = true;
		client_spawn_release(c, s);
		return -ENOMEM;
	}
	if (res->state == SPAWND_STATE_EXITED) {
		result_make_started(res);
	} else if (res->state == SPAWND_STATE_FAILED) {
		s->collected = true;
		client_spawn_release(c, s);
	}
	*ret = res;
	return 0;
}

SPAWND_EXPORT int
spawnd_wait(spawnd_client *c, uint64_t id, uint64_t timeout_usec, spawnd_result **ret)
{
	uint64_t deadline = client_deadline(timeout_usec);
	struct spawnd_result *res;
	struct client_spawn *s;
	int r;

	if (!c || !ret)
		return -EINVAL;
	s = client_spawn_find(c, id);
	if (!s || s->collected)
		return -ESRCH;

	/* A waiter keeps the entry alive across the callbacks that run meanwhile. */
	s->waiters++;
	r = client_run_until(c, spawn_finished, &id, deadline);
	s->waiters--;
	if (r < 0) {
		client_spawn_release(c, s);
		return r;
	}

	r = result_connection_error(&s->result);
	if (r < 0) {
		s->collected = true;
		client_spawn_release(c, s);
		return r;
	}
	/* A pidfd nobody took yet goes with the final result. */
	res = client_result_copy(&s->result, true);
	if (!res) {
		client_spawn_release(c, s);
		return -ENOMEM;
	}
	s->collected = true;
	client_spawn_release(c, s);
	*ret = res;
	return 0;
}

/*
 * Queue a Signal request with a fresh id. When ret_sig is given, an entry
 * records the answer for a waiter; otherwise the answer is dropped on
 * arrival.
 */
static int
signal_submit(struct spawnd_client *c, uint64_t spawn_id, int signo, int process_group,
	      struct client_signal **ret_sig)
{
	Spawnd__V1__Request req = SPAWND__V1__REQUEST__INIT;
	Spawnd__V1__Signal sm = SPAWND__V1__SIGNAL__INIT;
	struct client_signal *sig = NULL;
	struct client_spawn *s;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!c || signo <= 0 || signo >= _NSIG)
		return -EINVAL;
	if (c->send_error)
		return c->send_error;
	/*
	 * Only a spawn this connection knows and that has not ended can be
	 * signalled; asking the daemon about anything else is a wasted round
	 * trip with a known answer.
	 */
	s = client_spawn_find(c, spawn_id);
	if (!s || s->result.state == SPAWND_STATE_FAILED || s->result.state == SPAWND_STATE_EXITED)
		return -ESRCH;

	sm.spawn_id = spawn_id;
	sm.signo = signo;
	if (process_group) {
		sm.has_process_group = true;
		sm.process_group = true;
	}
	req.version = SPAWND_PROTOCOL_VERSION;
	req.id = c->next_id;
	req.body_case = SPAWND__V1__REQUEST__BODY_SIGNAL;
	req.signal = &sm;

	if (ret_sig) {
		sig = calloc(1, sizeof(*sig));
		if (!sig)
			return -ENOMEM;
		sig->id = req.id;
		sig->waited = true;
	}
	r = wire_pack(&req.base, &buf, &len);
	if (r < 0) {
		free(sig);
		return r;
	}
	r = client_submit(c, req.id, buf, len, NULL, 0);
	if (r < 0) {
		free(sig);
		return r;
	}
	c->next_id++;
	if (sig) {
		sig->next = c->signals;
		c->signals = sig;
		*ret_sig = sig;
	}
	return 0;
}

SPAWND_EXPORT int
spawnd_signal_async(spawnd_client *c, uint64_t id, int signo, int process_group)
{
	return signal_submit(c, id, signo, process_group, NULL);
}

static bool
signal_done(struct spawnd_client *c, void *data)
{
	struct client_signal *sig = client_signal_find(c, *(const uint64_t *)data);

	return !sig || sig->done;
}

SPAWND_EXPORT int
spawnd_signal(spawnd_client *c, uint64_t id, int signo, int process_group, uint64_t timeout_usec)
{
	uint64_t deadline = client_deadline(timeout_usec);
	struct client_signal *sig = NULL;
	uint64_t sig_id;
	int r;

	r = signal_submit(c, id, signo, process_group, &sig);
	if (r < 0)
		return r;
	sig_id = sig->id;

	r = client_run_until(c, signal_done, &sig_id, deadline);
	/* The entry lives until removed here, or dropped on a late answer. */
	sig = client_signal_find(c, sig_id);
	if (!sig)
		return r < 0 ? r : -ECONNRESET;
	if (r < 0) {
		sig->waited = false;
		return r;
	}
	r = sig->error;
	client_signal_remove(c, sig);
	return r;
}
