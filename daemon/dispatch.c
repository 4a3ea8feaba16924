/* SPDX-License-Identifier: MIT */
/*
 * Request pipeline (see dispatch.h). The order matters:
 *  1. decode + validate (pure) — a framing-level failure drops the
 *     connection, a decoded-but-invalid request gets Failed{DECODE} and the
 *     connection stays usable for its other spawns;
 *  2. caps before any work that costs the daemon;
 *  3. resolve the command: a bare name on the fixed PATH only, an absolute
 *     path literally (never stat'ed here: a FUSE path could hang the loop);
 *  4. the target user and groups (NSS, in the parent, never in the child);
 *  5. policy on the peer's SO_PEERCRED identity and the literal exec path;
 *     only then the requested groups (one of the target's, and narrowing
 *     only with the rule's narrowgroups), so that a client without a rule
 *     learns nothing about the target's groups;
 *  6. the environment, built from empty; the umask floor (policy_umask);
 *  7. fork; the received fds then go to the closer (closer.h): the loop
 *     never close()s a client's fd, whose close may wait for ever on a
 *     FUSE server (HOSTILE.md 46).
 */
#define _GNU_SOURCE

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
#include "dispatch.h"
#include "environ.h"
#include "log.h"
#include "policy.h"
#include "pty.h"
#include "reaper.h"
#include "request.h"
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

static void
handle_spawn(struct conn *c, const struct request *req, const int *fds, size_t n_fds)
{
	struct server *s = c->server;
	const struct spawn_request *sr = &req->spawn;
	struct audit_subject subj = {
		.client_pid = c->cred.pid,
		.client_uid = c->cred.uid,
		.id = req->id,
		.target = sr->user,
		.argv = sr->argv,
	};
	struct target_user target = {0};
	_cleanup_free_ char *path = NULL, *refused = NULL;
	const char *refused_why = NULL;
	_cleanup_strv_free_ char **envp = NULL;
	const struct policy_rule *rule;
	struct spawn_prepared *sp = NULL;
	struct uid_usage *u;
	const char *what = NULL;
	char detail[PATH_MAX * 2 + 512], location[PATH_MAX + 16];
	pid_t pid = 0;
	int pidfd = -EBADF, errpipe = -EBADF;
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
		return;
	}
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
	for (size_t i = 0; i < sr->n_fds; i++) {
		const char *why;

		if (sr->fds[i].target > 2)
			continue;
		why = stdio_fd_refusal(fds[sr->fds[i].index]);
		if (why) {
			(void)snprintf(detail, sizeof(detail), "child fd %d %s", sr->fds[i].target,
				       why);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, detail);
			return;
		}
	}
	r = daemon_connection_fd(s, sr, fds);
	if (r >= 0) {
		(void)snprintf(detail, sizeof(detail),
			       "child fd %d is a connection to spawnd (it cannot be delegated)", r);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EPERM, detail);
		return;
	}

	r = command_resolve(sr->argv[0], &path);
	if (r < 0) {
		refuse(c, &subj,
		       r == -EINVAL ? SPAWND__V1__STAGE__STAGE_DECODE
				    : SPAWND__V1__STAGE__STAGE_RESOLVE,
		       r, sr->argv[0]);
		return;
	}
	subj.exec_path = path;

	r = user_resolve_target(sr->user, sr->group, sr->groups, &target, &what);
	if (r < 0) {
		/* A self-describing detail, so that every client can show it. */
		if (!what)
			what = sr->user;
		if (r == -ESRCH)
			(void)snprintf(detail, sizeof(detail), "unknown user %s", what);
		else if (r == -EINVAL)
			(void)snprintf(detail, sizeof(detail), "invalid user %s", what);
		else
			(void)snprintf(detail, sizeof(detail), "cannot look up %s", what);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
		goto out;
	}

	rule = policy_match(s->policy, &c->cred, target.uid, path, sr->argv);
	if (rule)
		(void)snprintf(location, sizeof(location), "%s:%u", s->policy->path, rule->line);
	if (!rule || !rule->permit) {
		audit_decision(&subj, false, rule ? location : NULL);
		(void)snprintf(detail, sizeof(detail), "%s as %s: %s%s", path, target.name,
			       rule ? "rule " : "no matching rule", rule ? location : "");
		conn_reply_failed(c, req->id, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		goto out;
	}

	/*
	 * Only now the requested groups: a client that no rule lets act as
	 * the target got the same denial above whatever groups it named, so
	 * it learns nothing about the target's groups (HOSTILE.md 40).
	 */
	if (target.group_error < 0) {
		r = target.group_error;
		what = target.group_what;
		if (r == -ESRCH)
			(void)snprintf(detail, sizeof(detail), "unknown group %s", what);
		else if (r == -EPERM)
			(void)snprintf(detail, sizeof(detail), "group %s is not one of %s's groups",
				       what, target.name);
		else if (r == -EINVAL)
			(void)snprintf(detail, sizeof(detail), "invalid group %s", what);
		else
			(void)snprintf(detail, sizeof(detail), "cannot look up %s", what);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
		goto out;
	}
	/* Dropping a group can grant what the group denies: only with narrowgroups. */
	if (target.narrowed && !rule->narrowgroups) {
		(void)snprintf(detail, sizeof(detail),
			       "the requested groups leave out some of %s's groups; "
			       "rule %s does not allow narrowing (narrowgroups)",
			       target.name, location);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		goto out;
	}
	subj.gid = target.gid;
	subj.groups = target.groups;
	subj.n_groups = target.n_groups;
	audit_decision(&subj, true, location);
	/* path is handed over below; later audit lines do not need it. */
	subj.exec_path = NULL;

	r = env_build(rule, &target, c->cred.uid, c->user_name, sr->env_inherit, sr->env_set,
		      &envp, &refused, &refused_why);
	if (r < 0) {
		if (r == -EPERM && refused && refused_why)
			(void)snprintf(detail, sizeof(detail), "setenv %s: %s", refused,
				       refused_why);
		else
			(void)snprintf(detail, sizeof(detail), "cannot build the environment");
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
		goto out;
	}

	{
		_cleanup_free_ char *exec_path = strdup(path);
		_cleanup_free_ char *cwd = strdup(sr->cwd);
		_cleanup_free_ char *target_name = strdup(target.name);
		/* The same request with the umask the child gets (HOSTILE.md 41). */
		struct spawn_request effective = *sr;
		/* The slave stands in for /dev/null on each unmapped fd 0-2. */
		struct spawn_env env = s->spawn_env;
		_cleanup_close_ int pty_master = -EBADF, pty_slave = -EBADF;
		struct child *child;

		if (!exec_path || !cwd || !target_name) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
			goto out;
		}
		effective.umask = policy_umask(sr->umask, c->cred.uid, target.uid);
		if (sr->pty) {
			struct pty_setup pty = {
				.uid = target.uid,
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
				goto out;
			}
			env.devnull = pty_slave;
		}
		r = spawn_prepare(&effective, &target, TAKE_PTR(path), TAKE_PTR(envp), fds, n_fds,
				  &env, &sp);
		if (r < 0) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, "");
			goto out;
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
		r = closer_settle(s->closer, CLOSER_SETTLE_MSEC, fds, n_fds);
		if (r < 0) {
			log_warning("Fds of earlier requests are still waiting to be closed, "
				    "refusing a spawn of client pid %d",
				    (int)c->cred.pid);
			sp = spawn_prepared_free(sp);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
			       "fds of earlier requests are still waiting to be closed");
			goto out;
		}
		pid = 0;
		r = spawn_start(sp, s->engine, &pid, &pidfd, &errpipe);
		sp = spawn_prepared_free(sp);
		/* The child has its own copy now (both engines): ours goes. */
		pty_slave = safe_close(pty_slave);
		if (r < 0) {
			if (pid > 0)
				reaper_abandon(s->reaper, pid);
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_FORK, r, "");
			goto out;
		}
		r = reaper_add(s->reaper, c, c->cred.uid, c->cred.pid, req->id, pid, pidfd, errpipe,
			       TAKE_PTR(exec_path), TAKE_PTR(cwd), TAKE_PTR(target_name), sr);
		if (r < 0) {
			refuse(c, &subj, SPAWND__V1__STAGE__STAGE_FORK, r, "cannot track child");
			goto out;
		}
		/* Sent on Started, closed by the reaper (reaper.c). */
		child = reaper_find_by_id(c, req->id);
		if (child && pty_master >= 0)
			child->pty_master = TAKE_FD(pty_master);
		s->n_spawns++;
	}
out:
	target_user_done(&target);
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
	} else if (req->kind == REQUEST_SPAWN)
		handle_spawn(c, req, fds, n_fds);
	else
		handle_signal(c, req);

	/* The child (if any) has its own copies now; ours go to the closer. */
	closer_take(c->server->closer, c->cred.uid, fds, n_fds);
	(void)request_free(req);
}
