/* SPDX-License-Identifier: MIT */
/*
 * Request pipeline (see dispatch.h). A Spawn runs in two halves, because
 * its lookups may block and the loop must not (DESIGN.md 3.5):
 *
 * First half, in the loop, on arrival:
 *  1. decode + validate (pure) — a framing-level failure drops the
 *     connection, a decoded-but-invalid request gets Failed{DECODE} and the
 *     connection stays usable for its other spawns;
 *  2. caps before any work that costs the daemon (live children, and the
 *     uid's share of the resolver threads);
 *  3. the child's stdio fds (statx(AT_STATX_DONT_SYNC), never a FUSE call);
 *  4. resolve the command: a bare name on the fixed root-owned PATH only, an
 *     absolute path in lexical normal form (never stat'ed here);
 *  5. hand a resolve job to a resolver thread (resolver.c): the target user
 *     and groups and the client's name (NSS), and the command's canonical
 *     path (realpath() with the client's rights). The request, with its
 *     fds, waits in a pending_spawn that the connection holds; the
 *     connection reads nothing more until it is done, so a client's
 *     requests are still handled in order (a Signal right after its Spawn
 *     finds the child), and conn.c arms the deadline.
 *
 * Second half, in the loop, when the job is back (dispatch_lookup_done()):
 *  6. policy on the peer's SO_PEERCRED identity and the command (normal
 *     and canonical path: the program, not the spelling); only then the
 *     requested groups (one of the target's, and narrowing only with the
 *     rule's narrowgroups), so that a client without a rule learns nothing
 *     about the target's groups;
 *  7. the environment, built from empty; the umask floor (policy_umask);
 *  8. fork, exec'ing the canonical path that the policy judged (a symlink
 *     swapped after the check cannot change the program; argv[0] stays the
 *     client's). Then the received fds go to the closer (closer.h): the
 *     loop never close()s a client's fd, whose close may wait for ever on
 *     a FUSE server (HOSTILE.md 46).
 *
 * Or, instead of the second half: the deadline (Failed{PREPARE, ETIMEDOUT},
 * dispatch_lookup_timeout()), or the client leaving or the daemon stopping
 * (dispatch_lookup_cancel()). On every path the request's fds are let go
 * exactly once, through release_client_fds().
 */
#define _GNU_SOURCE

#include "dispatch.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "closer.h"
#include "command.h"
#include "conn.h"
#include "environ.h"
#include "log.h"
#include "policy.h"
#include "pty.h"
#include "reaper.h"
#include "request.h"
#include "resolver.h"
#include "server.h"
#include "spawn.h"
#include "user.h"
#include "util/cleanup.h"
#include "wire.h"

/*
 * How long a spawn waits for the closer to begin the closes handed to it
 * (normally microseconds: a helper thread is always waiting for work).
 */
#define CLOSER_SETTLE_MSEC 1000

static void
refuse(struct conn *c, const struct audit_subject *subj, int stage, int error, const char *detail)
{
	static const char *const names[] = {
		[SPAWND__V1__STAGE__STAGE_DECODE] = "decode",
		[SPAWND__V1__STAGE__STAGE_POLICY] = "policy",
		[SPAWND__V1__STAGE__STAGE_PREPARE] = "prepare",
		[SPAWND__V1__STAGE__STAGE_RESOLVE] = "resolve",
		[SPAWND__V1__STAGE__STAGE_LIMIT] = "limit",
		[SPAWND__V1__STAGE__STAGE_FORK] = "fork",
		[SPAWND__V1__STAGE__STAGE_SIGNAL] = "signal",
	};
	const char *name = (size_t)stage < ELEMENTSOF(names) && names[stage] ? names[stage] : "?";

	audit_failed(subj, name, error, detail);
	conn_reply_failed(c, subj->id, stage, error, detail);
}

/*
 * HOSTILE.md E21 (runc CVE-2024-21626): a child's fds 0-2 must be streams:
 * a regular file, a FIFO, a character device or a socket that is not
 * listening. A directory or an O_PATH fd there hands a privileged program
 * a path anchor it does not expect, a listening socket accepts for it.
 * Fds 3 and up are the client's explicit delegation and pass as they are.
 * statx(AT_STATX_DONT_SYNC) takes the type from the cached inode: a plain
 * fstat() may ask a FUSE server (and hang the loop), and an inode's type
 * never changes. Returns NULL when fd is fine, else why it is not.
 */
static const char *
stdio_fd_refusal(int fd)
{
	struct statx stx;
	int flags, listening = 0;
	socklen_t len = sizeof(listening);

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return "cannot be inspected";
	if (flags & O_PATH)
		return "is an O_PATH fd";
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
		return "cannot be inspected";
	switch (stx.stx_mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFCHR:
		return NULL;
	case S_IFSOCK:
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
			return "cannot be inspected";
		return listening ? "is a listening socket" : NULL;
	case S_IFDIR:
		return "is a directory";
	default:
		return "is not a file, pipe, character device or socket";
	}
}

/*
 * HOSTILE 43: a connection to this daemon is never one of the child's fds.
 * The child, or any process of the target's uid through pidfd_getfd(),
 * could take it out and act on the client's connection: read its replies
 * (pidfds included) or, were the per-message credential check in conn.c
 * ever lost, spawn as the client. A connection passed indirectly (queued
 * inside another socket) is not seen here; that one the credential check
 * covers: its new holder sends as itself. Returns the child fd number of
 * the first such fd, or -1.
 */
static int
daemon_connection_fd(const struct server *s, const struct spawn_request *sr, const int *fds)
{
	for (size_t i = 0; i < sr->n_fds; i++)
		if (server_fd_is_connection(s, fds[sr->fds[i].index]))
			return (int)sr->fds[i].target;
	return -1;
}

/*
 * The one place where the fds a client sent are let go, on every path: the
 * synchronous ones at the end of dispatch_message(), the pending ones when
 * their request ends. The child, if any, has its own copies by then.
 */
static void
release_client_fds(struct conn *c, int *fds, size_t n_fds)
{
	closer_take(c->server->closer, c->cred.uid, fds, n_fds);
}

/* A Spawn between its two halves: owns the request, its fds and its path. */
struct pending_spawn {
	struct conn *conn;
	struct request *req;
	int fds[SPAWND_MAX_FDS]; /* in the fd table: only once unparked */
	size_t n_fds;
	int park; /* the fds in flight while the lookups run (park_fds()) */
	size_t n_parked;
	char *path;		 /* the command in normal form (command_resolve()) */
	struct resolve_job *job; /* on a resolver thread; ->owner points back here */
};

/*
 * While its lookups run (up to the deadline), a request's fds must not sit
 * in the daemon's fd table: every child started meanwhile, for any client,
 * inherits the table and closes what it does not keep during its setup,
 * and the close of a FUSE file whose server never answers FLUSH would hang
 * that other client's child (HOSTILE.md 46). So the fds wait in flight, in
 * a private socket pair where the kernel holds them without an fd, and the
 * table's copies go to the closer. Returns the receiving end, or -errno.
 */
static int
park_fds(const int *fds, size_t n_fds)
{
	_cleanup_close_ int tx = -EBADF, rx = -EBADF;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	tx = sv[0];
	rx = sv[1];
	r = wire_send(tx, "p", 1, fds, n_fds);
	if (r < 0)
		return r;
	return TAKE_FD(rx);
}

/* Take the parked fds back into the table, right before the spawn. */
static int
unpark_fds(struct pending_spawn *ps)
{
	char byte;
	size_t len = 0, n = 0;
	int r;

	if (ps->park < 0)
		return 0;
	r = wire_recv(ps->park, &byte, sizeof(byte), &len, ps->fds, &n);
	ps->park = safe_close(ps->park);
	if (r < 0)
		return r;
	if (r == 0 || n != ps->n_parked) {
		release_client_fds(ps->conn, ps->fds, n);
		return -EPROTO;
	}
	ps->n_fds = n;
	ps->n_parked = 0;
	return 0;
}

static struct pending_spawn *
pending_spawn_free(struct pending_spawn *ps)
{
	if (!ps)
		return NULL;
	/* A job still out is only abandoned here: the pool frees it when it comes back. */
	if (ps->job)
		ps->job->owner = NULL;
	release_client_fds(ps->conn, ps->fds, ps->n_fds);
	/* Fds still in flight are dropped with the socket: no close(), no FLUSH. */
	ps->park = safe_close(ps->park);
	(void)request_free(ps->req);
	free(ps->path);
	free(ps);
	return NULL;
}

static struct audit_subject
pending_subject(const struct pending_spawn *ps)
{
	return (struct audit_subject){
		.client_pid = ps->conn->cred.pid,
		.client_uid = ps->conn->cred.uid,
		.id = ps->req->id,
		.target = ps->req->spawn.user,
		.argv = ps->req->spawn.argv,
		.exec_path = ps->path,
	};
}

/* A copy of the job's inputs; NULL on ENOMEM. */
static struct resolve_job *
job_for(const struct conn *c, const struct spawn_request *sr, const char *path)
{
	struct resolve_job *j = resolve_job_new();
	bool ok;

	if (!j)
		return NULL;
	j->client_uid = c->cred.uid;
	j->client_gid = c->cred.gid;
	if (c->cred.n_groups > 0) {
		j->client_groups = calloc(c->cred.n_groups, sizeof(gid_t));
		if (j->client_groups) {
			memcpy(j->client_groups, c->cred.groups, c->cred.n_groups * sizeof(gid_t));
			j->n_client_groups = c->cred.n_groups;
		}
	}
	j->want_client_name = !c->user_name;
	j->user = strdup(sr->user);
	j->group = sr->group ? strdup(sr->group) : NULL;
	j->path = strdup(path);
	ok = j->user && j->path && (!sr->group || j->group) &&
	     (c->cred.n_groups == 0 || j->client_groups);
	if (ok && sr->groups) {
		j->groups = calloc(sr->n_groups + 1, sizeof(char *));
		ok = j->groups != NULL;
		for (size_t i = 0; ok && i < sr->n_groups; i++)
			ok = (j->groups[i] = strdup(sr->groups[i])) != NULL;
	}
	j->canonicalize = policy_wants_canonical(c->server->policy, &c->cred);
	if (!ok)
		return resolve_job_free(j);
	return j;
}

/*
 * The first half of a Spawn (see the top of this file). Returns true when
 * the request went to a resolver thread: then the pending request has taken
 * *reqp and the fds; else the caller still owns both.
 */
static bool
handle_spawn(struct conn *c, struct request **reqp, int *fds, size_t n_fds)
{
	const struct request *req = *reqp;
	struct server *s = c->server;
	const struct spawn_request *sr = &req->spawn;
	struct audit_subject subj = {
		.client_pid = c->cred.pid,
		.client_uid = c->cred.uid,
		.id = req->id,
		.target = sr->user,
		.argv = sr->argv,
	};
	_cleanup_free_ char *path = NULL;
	struct pending_spawn *ps;
	struct resolve_job *job;
	struct uid_usage *u;
	char detail[256];
	int r;

	/*
	 * An id names one spawn on this connection until its final reply
	 * (Failed, or Exited after Started): a Signal must never be able to
	 * hit a spawn the client did not mean. The refusal carries that id,
	 * so it is told apart from the earlier spawn's replies only by its
	 * body (a raw client's problem: libspawnd never reuses an id).
	 */
	if (reaper_find_by_id(c, req->id)) {
		(void)snprintf(detail, sizeof(detail),
			       "spawn id %llu is still in use on this connection",
			       (unsigned long long)req->id);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EEXIST, detail);
		return false;
	}
	if (s->stopping) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, ESHUTDOWN, "daemon is stopping");
		return false;
	}
	u = server_usage(s, c->cred.uid, false);
	if (s->n_children >= SPAWND_MAX_CHILDREN ||
	    (u && u->children >= SPAWND_MAX_CHILDREN_PER_UID)) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN, "too many live children");
		return false;
	}
	for (size_t i = 0; i < sr->n_fds; i++) {
		const char *why;

		if (sr->fds[i].target > 2)
			continue;
		why = stdio_fd_refusal(fds[sr->fds[i].index]);
		if (why) {
			(void)snprintf(detail, sizeof(detail), "child fd %d %s", sr->fds[i].target,
				       why);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, detail);
			return false;
		}
	}
	r = daemon_connection_fd(s, sr, fds);
	if (r >= 0) {
		(void)snprintf(detail, sizeof(detail),
			       "child fd %d is a connection to spawnd (it cannot be delegated)", r);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EPERM, detail);
		return false;
	}

	r = command_resolve(sr->argv[0], &path);
	if (r < 0) {
		refuse(c, &subj,
		       r == -EINVAL ? SPAWND__V1__STAGE__STAGE_DECODE
				    : SPAWND__V1__STAGE__STAGE_RESOLVE,
		       r, sr->argv[0]);
		return false;
	}
	subj.exec_path = path;

	/*
	 * A job counts against its client's uid until its thread is back,
	 * even after its request timed out: a client whose lookups hang
	 * (its own FUSE path, say) pins only its own share of the threads.
	 */
	if (resolver_jobs_of(c->cred.uid) >= SPAWND_MAX_LOOKUPS_PER_UID) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
		       "too many user lookups in progress for this client");
		return false;
	}
	job = job_for(c, sr, path);
	ps = calloc(1, sizeof(*ps));
	if (!job || !ps) {
		resolve_job_free(job);
		free(ps);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
		return false;
	}
	r = resolver_submit(job);
	if (r < 0) {
		resolve_job_free(job);
		free(ps);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
		       "no thread to look up the user");
		return false;
	}

	ps->conn = c;
	ps->park = -EBADF;
	ps->path = TAKE_PTR(path);
	ps->job = job;
	job->owner = ps;
	if (n_fds > 0) {
		/* The table's copies go to the closer now, the parked ones later. */
		r = closer_may_receive(s->closer, c->cred.uid) ? park_fds(fds, n_fds) : -EAGAIN;
		if (r < 0) {
			subj.exec_path = ps->path;
			refuse(c, &subj,
			       r == -EAGAIN ? SPAWND__V1__STAGE__STAGE_LIMIT
					    : SPAWND__V1__STAGE__STAGE_PREPARE,
			       -r, "cannot keep the request's fds while the user is looked up");
			/* The job is abandoned: the pool frees it when it comes back. */
			pending_spawn_free(ps);
			return false;
		}
		ps->park = r;
		ps->n_parked = n_fds;
	}
	ps->req = TAKE_PTR(*reqp);
	conn_lookup_begin(c, ps);
	/* Parked: the table's copies go (the caller's array is done with). */
	release_client_fds(c, fds, n_fds);
	return true;
}

/*
 * Failed{PREPARE} for a target user that did not resolve. Only the user:
 * a requested group that cannot be used is reported after the policy
 * (target_user.group_error, spawn_continue()), so that a client without a
 * rule learns nothing about the target's groups.
 */
static void
refuse_target(struct conn *c, const struct audit_subject *subj, const struct resolve_job *job)
{
	char detail[PATH_MAX + 256];
	const char *what = job->what ? job->what : job->user;
	int r = job->r;

	if (r == -ESRCH)
		(void)snprintf(detail, sizeof(detail), "unknown user %s", what);
	else if (r == -EINVAL)
		(void)snprintf(detail, sizeof(detail), "invalid user %s", what);
	else
		(void)snprintf(detail, sizeof(detail), "cannot look up %s", what);
	refuse(c, subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
}

/* The second half of a Spawn (see the top of this file). */
static void
spawn_continue(struct pending_spawn *ps, struct resolve_job *job)
{
	struct conn *c = ps->conn;
	struct server *s = c->server;
	const struct request *req = ps->req;
	const struct spawn_request *sr = &req->spawn;
	struct audit_subject subj = pending_subject(ps);
	struct policy_command command = {.path = ps->path, .canonical = job->canonical};
	const struct target_user *target = &job->target;
	_cleanup_free_ char *path = NULL, *refused = NULL;
	const char *refused_why = NULL, *what;
	_cleanup_strv_free_ char **envp = NULL;
	const struct policy_rule *rule;
	struct spawn_prepared *sp = NULL;
	struct uid_usage *u;
	char detail[PATH_MAX * 3 + 512], location[PATH_MAX + 16];
	pid_t pid = 0;
	int pidfd = -EBADF, errpipe = -EBADF;
	int r;

	if (job->client_name && !c->user_name)
		c->user_name = TAKE_PTR(job->client_name);
	/* The world may have changed while the lookup ran. */
	if (s->stopping) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, ESHUTDOWN, "daemon is stopping");
		return;
	}
	u = server_usage(s, c->cred.uid, false);
	if (s->n_children >= SPAWND_MAX_CHILDREN ||
	    (u && u->children >= SPAWND_MAX_CHILDREN_PER_UID)) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN, "too many live children");
		return;
	}
	if (job->r < 0) {
		refuse_target(c, &subj, job);
		return;
	}
	if (!c->user_name) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
		return;
	}
	/*
	 * A reload while the job ran may have brought a `cmd` rule for this
	 * client, and then the decision needs the canonical path, which only
	 * a resolver thread may compute. Rare: ask the client to try again.
	 */
	if (!job->canonicalize && policy_wants_canonical(s->policy, &c->cred)) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, EAGAIN,
		       "the policy was reloaded during the request, try again");
		return;
	}

	/* Exec what the policy judged: the canonical path when there is one. */
	subj.exec_path = command.canonical ? command.canonical : command.path;
	rule = policy_match(s->policy, &c->cred, target->uid, &command, sr->argv);
	if (rule)
		(void)snprintf(location, sizeof(location), "%s:%u", s->policy->path, rule->line);
	if (!rule || !rule->permit) {
		audit_decision(&subj, false, rule ? location : NULL);
		if (command.canonical && strcmp(command.canonical, command.path) != 0)
			(void)snprintf(detail, sizeof(detail), "%s (%s) as %s: %s%s", command.path,
				       command.canonical, target->name,
				       rule ? "rule " : "no matching rule", rule ? location : "");
		else
			(void)snprintf(detail, sizeof(detail), "%s as %s: %s%s", command.path,
				       target->name, rule ? "rule " : "no matching rule",
				       rule ? location : "");
		conn_reply_failed(c, req->id, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		return;
	}

	/*
	 * Only now the requested groups: a client that no rule lets act as
	 * the target got the same denial above whatever groups it named, so
	 * it learns nothing about the target's groups (HOSTILE.md 40).
	 */
	if (target->group_error < 0) {
		r = target->group_error;
		what = target->group_what;
		if (r == -ESRCH)
			(void)snprintf(detail, sizeof(detail), "unknown group %s", what);
		else if (r == -EPERM)
			(void)snprintf(detail, sizeof(detail), "group %s is not one of %s's groups",
				       what, target->name);
		else if (r == -EINVAL)
			(void)snprintf(detail, sizeof(detail), "invalid group %s", what);
		else
			(void)snprintf(detail, sizeof(detail), "cannot look up %s", what);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
		return;
	}
	/* Dropping a group can grant what the group denies: only with narrowgroups. */
	if (target->narrowed && !rule->narrowgroups) {
		(void)snprintf(detail, sizeof(detail),
			       "the requested groups leave out some of %s's groups; "
			       "rule %s does not allow narrowing (narrowgroups)",
			       target->name, location);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		return;
	}
	subj.gid = target->gid;
	subj.groups = target->groups;
	subj.n_groups = target->n_groups;
	audit_decision(&subj, true, location);
	path = strdup(subj.exec_path);
	/* Later audit lines do not need it. */
	subj.exec_path = NULL;
	if (!path) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
		return;
	}

	r = env_build(rule, target, c->cred.uid, c->user_name, sr->env_inherit, sr->env_set, &envp,
		      &refused, &refused_why);
	if (r < 0) {
		if (r == -EPERM && refused && refused_why)
			(void)snprintf(detail, sizeof(detail), "setenv %s: %s", refused,
				       refused_why);
		else
			(void)snprintf(detail, sizeof(detail), "cannot build the environment");
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
		return;
	}

	{
		_cleanup_free_ char *exec_path = strdup(path);
		_cleanup_free_ char *cwd = strdup(sr->cwd);
		_cleanup_free_ char *target_name = strdup(target->name);
		/* The same request with the umask the child gets (HOSTILE.md 41). */
		struct spawn_request effective = *sr;
		/* The slave stands in for /dev/null on each unmapped fd 0-2. */
		struct spawn_env env = s->spawn_env;
		_cleanup_close_ int pty_master = -EBADF, pty_slave = -EBADF;
		struct child *child;

		if (!exec_path || !cwd || !target_name) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
			return;
		}
		effective.umask = policy_umask(sr->umask, c->cred.uid, target->uid);
		if (sr->pty) {
			struct pty_setup pty = {
				.uid = target->uid,
				.gid = s->spawn_env.tty_gid,
				.rows = sr->pty_rows,
				.cols = sr->pty_cols,
				.xpixel = sr->pty_xpixel,
				.ypixel = sr->pty_ypixel,
			};

			r = pty_open(&pty, &pty_master, &pty_slave);
			if (r < 0) {
				refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r,
				       "cannot allocate a terminal");
				return;
			}
			env.devnull = pty_slave;
		}
		r = unpark_fds(ps);
		if (r < 0) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, -r,
			       "cannot take back the request's fds");
			return;
		}
		r = spawn_prepare(&effective, target, TAKE_PTR(path), TAKE_PTR(envp), ps->fds,
				  ps->n_fds, &env, &sp);
		if (r < 0) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, "");
			return;
		}
		if (sr->pty) {
			/* The lowest of 0-2 that holds the slave (request.c keeps one free). */
			sp->plan.set_ctty = true;
			sp->plan.ctty_fd = 0;
			for (size_t i = 0; i < sp->plan.n_fds; i++)
				if (sp->plan.fds[i].dst <= 2 && sp->plan.fds[i].src == pty_slave) {
					sp->plan.ctty_fd = sp->plan.fds[i].dst;
					break;
				}
		}
		/*
		 * No other request's fd may be left in the table for the child
		 * to inherit (and close, hanging on the same FLUSH): wait for
		 * the closer to have begun every close handed to it.
		 */
		r = closer_settle(s->closer, CLOSER_SETTLE_MSEC, ps->fds, ps->n_fds);
		if (r < 0) {
			log_warning("Fds of earlier requests are still waiting to be closed, "
				    "refusing a spawn of client pid %d",
				    (int)c->cred.pid);
			sp = spawn_prepared_free(sp);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
			       "fds of earlier requests are still waiting to be closed");
			return;
		}
		pid = 0;
		r = spawn_start(sp, s->engine, &pid, &pidfd, &errpipe);
		/* The child has its own copy now (both engines): ours goes. */
		pty_slave = safe_close(pty_slave);
		if (r < 0) {
			/* No child runs on sp (spawn_start()). */
			sp = spawn_prepared_free(sp);
			if (pid > 0)
				reaper_abandon(s->reaper, pid);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_FORK, r, "");
			return;
		}
		/* The reaper keeps the plan until the child is done with it. */
		r = reaper_add(s->reaper, c, c->cred.uid, c->cred.pid, req->id, pid, pidfd, errpipe,
			       TAKE_PTR(sp), TAKE_PTR(exec_path), TAKE_PTR(cwd),
			       TAKE_PTR(target_name), sr);
		if (r < 0) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_FORK, r, "cannot track child");
			return;
		}
		/* Sent on Started, closed by the reaper (reaper.c). */
		child = reaper_find_by_id(c, req->id);
		if (child && pty_master >= 0)
			child->pty_master = TAKE_FD(pty_master);
		s->n_spawns++;
	}
}

void
dispatch_lookup_done(struct resolve_job *job)
{
	struct pending_spawn *ps = job->owner;
	struct conn *c;

	if (!ps) {
		/* Its request timed out or went with its connection long ago. */
		resolve_job_free(job);
		return;
	}
	c = ps->conn;
	ps->job = NULL;
	conn_lookup_end(c);
	/* A connection on its way out starts nothing (conn_close_later()). */
	if (!c->closing)
		spawn_continue(ps, job);
	pending_spawn_free(ps);
	resolve_job_free(job);
}

void
dispatch_lookup_timeout(struct conn *c, unsigned timeout_sec)
{
	struct pending_spawn *ps = c->pending;
	struct audit_subject subj;
	const char *what;
	char detail[128];

	if (!ps)
		return;
	subj = pending_subject(ps);
	switch (resolve_job_phase(ps->job)) {
	case RESOLVE_QUEUED:
		what = "user lookup (waiting for a lookup thread)";
		break;
	case RESOLVE_PATH:
		what = "command path lookup";
		break;
	default:
		what = "user lookup";
		break;
	}
	(void)snprintf(detail, sizeof(detail), "%s timed out after %u s", what, timeout_sec);
	refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ETIMEDOUT, detail);
	conn_lookup_end(c);
	/* Abandons the job: its thread may come back much later, or never. */
	pending_spawn_free(ps);
}

void
dispatch_lookup_cancel(struct conn *c)
{
	struct pending_spawn *ps = c->pending;
	struct audit_subject subj;

	if (!ps)
		return;
	subj = pending_subject(ps);
	audit_failed(&subj, "prepare", ECANCELED,
		     c->server->stopping ? "daemon is stopping" : "client disconnected");
	c->pending = NULL;
	pending_spawn_free(ps);
}

static void
handle_signal(struct conn *c, const struct request *req)
{
	struct audit_subject subj = {
		.client_pid = c->cred.pid,
		.client_uid = c->cred.uid,
		.id = req->id,
	};
	struct child *child = reaper_find_by_id(c, req->signal.spawn_id);
	char detail[128];
	int r;

	/* Only this connection's children, and only until they are reaped
	 * (reaped children leave the list), so no pid can be reused under us.
	 * Another connection's child, a finished one and an id never used
	 * all get the same answer: nothing about other clients leaks. A spawn
	 * whose setup or exec failed got Failed ("no child is running"): its
	 * process is only exiting, so it is not a child to signal either. */
	if (!child || (child->exec_done && !child->exec_ok)) {
		(void)snprintf(detail, sizeof(detail),
			       "spawn %llu is not a running child of this connection",
			       (unsigned long long)req->signal.spawn_id);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, detail);
		return;
	}
	r = child_signal(child, req->signal.signo, req->signal.process_group);
	if (r < 0) {
		(void)snprintf(detail, sizeof(detail), "signal %d to %s %d", req->signal.signo,
			       req->signal.process_group ? "process group" : "pid",
			       (int)child->pid);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_SIGNAL, r, detail);
		return;
	}
	log_debug("Client pid %d: signal %d sent to child %d%s", (int)c->cred.pid,
		  req->signal.signo, (int)child->pid,
		  req->signal.process_group ? " (process group)" : "");
	conn_reply_signal_sent(c, req->id);
}

void
dispatch_message(struct conn *c, const uint8_t *buf, size_t len, int *fds, size_t n_fds)
{
	struct request *req = NULL;
	const char *error = NULL;
	uint64_t id = 0;
	int r;

	r = request_decode(buf, len, n_fds, &req, &id, &error);
	if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
		/* Not a request we can talk about: fail closed, drop the peer. */
		log_warning("Client uid %u pid %d: %s, dropping the connection",
			    (unsigned)c->cred.uid, (int)c->cred.pid, error);
		conn_reply_failed(c, 0, SPAWND__V1__STAGE__STAGE_PROTOCOL, -r, error);
		conn_close_later(c);
	} else if (r < 0) {
		struct audit_subject subj = {
			.client_pid = c->cred.pid,
			.client_uid = c->cred.uid,
			.id = id,
		};

		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, r, error);
	} else if (req->kind == REQUEST_SPAWN) {
		/* Waiting for its lookups: the pending request holds req and the fds. */
		if (handle_spawn(c, &req, fds, n_fds))
			return;
	} else
		handle_signal(c, req);

	/* The child (if any) has its own copies now; ours go to the closer. */
	release_client_fds(c, fds, n_fds);
	(void)request_free(req);
}
