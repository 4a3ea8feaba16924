/* SPDX-License-Identifier: MIT */
/* One spawn from decode to reap (see job.h). */
#define _GNU_SOURCE

#include "job.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "closer.h"
#include "context.h"
#include "resolver.h"
#include "spawn.h"
#include "util/cleanup.h"

struct job *
job_new(const struct context *ctx, struct client *owner, uid_t client_uid, pid_t client_pid,
	struct request **req, int *fds, size_t n_fds)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j) {
		closer_take(ctx->closer, client_uid, fds, n_fds);
		return NULL;
	}
	*j = (struct job){
		.ctx = ctx,
		.owner = owner,
		.client_uid = client_uid,
		.client_pid = client_pid,
		.req = TAKE_PTR(*req),
		.n_fds = n_fds,
		.park = -EBADF,
		.pidfd = -EBADF,
		.errpipe = -EBADF,
		.pty_master = -EBADF,
	};
	for (size_t i = 0; i < n_fds; i++)
		j->fds[i] = fds[i];
	return j;
}

struct job *
job_free(struct job *j)
{
	if (!j)
		return NULL;
	/* A lookup still out is only abandoned here: the pool frees it when it comes back. */
	if (j->looking_up)
		j->lookup->owner = NULL;
	else
		(void)resolve_job_free(j->lookup);
	job_release_fds(j);
	/*
	 * Fds still in flight go with the park socket, and dropping them is no
	 * close() (no FLUSH), but it may end a file's last reference, and the
	 * release of some files waits (a TCP socket with SO_LINGER and data its
	 * peer does not take): the closer closes the socket, not the loop.
	 */
	closer_take(j->ctx->closer, j->client_uid, &j->park, 1);
	/*
	 * A child that was started and is not known to be done with its plan
	 * (no errpipe EOF, not reaped: the daemon stops, or gave up on it)
	 * may still read it and run on its stack: keep it for good.
	 */
	if (j->pid > 0)
		spawn_prepared_orphan(TAKE_PTR(j->sp));
	job_drop_plan(j);
	if (j->ev_pidfd)
		event_free(j->ev_pidfd);
	if (j->ev_errpipe)
		event_free(j->ev_errpipe);
	if (j->ev_timer)
		event_free(j->ev_timer);
	(void)safe_close(j->pidfd);
	(void)safe_close(j->errpipe);
	job_release_pty(j);
	(void)request_free(j->req);
	free(j->path);
	free(j);
	return NULL;
}

const char *
job_exec_path(const struct job *j)
{
	if (j->lookup && !j->looking_up && j->lookup->canonical)
		return j->lookup->canonical;
	return j->path;
}

const char *
job_target(const struct job *j)
{
	if (j->lookup && !j->looking_up && j->lookup->r >= 0 && j->lookup->target.name)
		return j->lookup->target.name;
	return j->req->spawn.user;
}

struct audit_subject
job_subject(const struct job *j)
{
	return (struct audit_subject){
		.client_pid = j->client_pid,
		.client_uid = j->client_uid,
		.id = j->req->id,
		.target = j->req->spawn.user,
		.argv = j->req->spawn.argv,
		.exec_path = j->path,
	};
}

/*
 * While its lookups run (up to the deadline), a request's fds must not sit
 * in the daemon's fd table: every child started meanwhile, for any client,
 * inherits the table and closes what it does not keep during its setup,
 * and the close of a FUSE file whose server never answers FLUSH would hang
 * that other client's child (HOSTILE.md 46). So the fds wait in flight, in
 * a private socket pair where the kernel holds them without an fd, and the
 * table's copies go to the closer.
 */
int
job_park_fds(struct job *j)
{
	_cleanup_close_ int tx = -EBADF, rx = -EBADF;
	int sv[2], r;

	if (j->n_fds == 0)
		return 0;
	if (!closer_may_receive(j->ctx->closer, j->client_uid))
		return -EAGAIN;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	tx = sv[0];
	rx = sv[1];
	r = wire_send(tx, "p", 1, j->fds, j->n_fds);
	if (r < 0)
		return r;
	j->park = TAKE_FD(rx);
	j->n_parked = j->n_fds;
	/* Parked: the table's copies go. */
	job_release_fds(j);
	return 0;
}

int
job_unpark_fds(struct job *j)
{
	int fds[WIRE_RECV_MAX_FDS];
	char byte;
	size_t len = 0, n = 0;
	int r;

	if (j->park < 0)
		return 0;
	/*
	 * Never closed or dropped here (HOSTILE 46): what arrived, and the
	 * socket with whatever did not, go to the closer on failure. The fds
	 * land in the table, so the caller made sure there is room for them
	 * (the kernel drops, on this thread, fds it cannot install).
	 */
	r = wire_recv_keep(j->park, &byte, sizeof(byte), &len, fds, &n);
	if (r != 1 || n != j->n_parked || n > SPAWND_MAX_FDS) {
		closer_take(j->ctx->closer, j->client_uid, fds, n);
		closer_take(j->ctx->closer, j->client_uid, &j->park, 1);
		return r < 0 ? r : -EPROTO;
	}
	/* The one message is read: the socket holds nothing more. */
	j->park = safe_close(j->park);
	memcpy(j->fds, fds, n * sizeof(int));
	j->n_fds = n;
	j->n_parked = 0;
	return 0;
}

void
job_release_fds(struct job *j)
{
	closer_take(j->ctx->closer, j->client_uid, j->fds, j->n_fds);
	j->n_fds = 0;
}

/*
 * HOSTILE.md 46 for the terminal: dropping the last reference of a pty
 * master hangs up the slave, and the hangup waits, uninterruptibly, for
 * everyone inside the slave's line discipline (tty_ldisc_hangup()). The
 * target, or any process of its uid, can stay in there for ever: a write()
 * to the slave from a page that a FUSE server never fills. The client may
 * have closed its copy already, or never get it, so ours may be the last:
 * it goes to the closer, counted against the client's uid like its fds.
 */
void
job_release_pty(struct job *j)
{
	closer_take(j->ctx->closer, j->client_uid, &j->pty_master, 1);
}

void
job_drop_plan(struct job *j)
{
	j->sp = spawn_prepared_free(j->sp);
}

void
job_trim(struct job *j)
{
	if (j->looking_up)
		return;
	if (j->lookup && j->lookup->canonical) {
		free(j->path);
		j->path = TAKE_PTR(j->lookup->canonical);
	}
	j->lookup = resolve_job_free(j->lookup);
	request_spawn_trim(j->req);
}
