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
 *     fds, waits in its job (job.h), which the connection holds as
 *     pending; the connection reads nothing more until it is done, so a
 *     client's requests are still handled in order (a Signal right after
 *     its Spawn finds the child). The job's timer is the deadline.
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
 * on_deadline()), or the client leaving or the daemon stopping
 * (dispatch_conn_gone()). On every path the request's fds are let go
 * exactly once: to the closer, by the job (job_release_fds()).
 *
 * Replies go up through ctx->ev.reply (conn.c), never by a call into conn.c.
 */
#define _GNU_SOURCE

#include "dispatch.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit.h"
#include "closer.h"
#include "command.h"
#include "context.h"
#include "environ.h"
#include "job.h"
#include "log.h"
#include "policy.h"
#include "pty.h"
#include "reaper.h"
#include "request.h"
#include "resolver.h"
#include "spawn.h"
#include "usage.h"
#include "user.h"
#include "util/cleanup.h"
#include "wire.h"

/*
 * How long a spawn waits for the closer to begin the closes handed to it
 * (normally microseconds: a helper thread is always waiting for work).
 */
#define CLOSER_SETTLE_MSEC 1000

static void
reply_failed(struct client *c, uint64_t id, int stage, int error, const char *detail)
{
	c->ctx->ev.reply(c, &(struct reply){
				    .kind = REPLY_FAILED,
				    .id = id,
				    .stage = stage,
				    .error = error,
				    .detail = detail,
			    });
}

static void
refuse(struct client *c, const struct audit_subject *subj, int stage, int error, const char *detail)
{
	audit_failed(subj, stage, error, detail);
	reply_failed(c, subj->id, stage, error, detail);
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
 * covers: its new holder sends as itself. Whether fd is one: an AF_UNIX
 * socket whose peer is our listening socket's address (also true under
 * socket activation, where systemd called listen()), or whose peer
 * credentials are our own pid. Only getpeername()/getsockopt() on the fd:
 * nothing that can block.
 */
static bool
fd_is_daemon_connection(const struct context *ctx, int fd)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	struct ucred uc;
	socklen_t uc_len = sizeof(uc);

	/* ENOTSOCK, ENOTCONN...: not a connection to anyone. */
	if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || peer.sun_family != AF_UNIX)
		return false;
	/*
	 * The kernel gives a connection the address of the socket it
	 * connected to (unix_stream_connect copies the listener's), whatever
	 * path the client used (symlink, bind mount, /proc/PID/root/...).
	 */
	if (ctx->listen_addr_len > offsetof(struct sockaddr_un, sun_path) &&
	    len == ctx->listen_addr_len && memcmp(&peer, &ctx->listen_addr, len) == 0)
		return true;
	/* Peer credentials are those of whoever called listen(): us, unless activated. */
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uc_len) == 0 && uc_len == sizeof(uc) &&
	       uc.pid == getpid();
}

/* The fds a Spawn brought, checked before any lookup: 0, or an errno and why in detail. */
static int
check_fds(const struct client *c, const struct job *j, char *detail, size_t size)
{
	const struct spawn_request *sr = &j->req->spawn;

	for (size_t i = 0; i < sr->n_fds; i++) {
		int fd = j->fds[sr->fds[i].index];
		const char *why = sr->fds[i].target <= 2 ? stdio_fd_refusal(fd) : NULL;

		if (why) {
			(void)snprintf(detail, size, "child fd %d %s", sr->fds[i].target, why);
			return EINVAL;
		}
	}
	for (size_t i = 0; i < sr->n_fds; i++)
		if (fd_is_daemon_connection(c->ctx, j->fds[sr->fds[i].index])) {
			(void)snprintf(
				detail, size,
				"child fd %d is a connection to spawnd (it cannot be delegated)",
				sr->fds[i].target);
			return EPERM;
		}
	return 0;
}

/* A copy of the lookups' inputs; NULL on ENOMEM. */
static struct resolve_job *
lookup_for(const struct client *c, const struct spawn_request *sr, const char *path)
{
	struct resolve_job *l = resolve_job_new();
	bool ok;

	if (!l)
		return NULL;
	l->client_uid = c->cred.uid;
	l->client_gid = c->cred.gid;
	if (c->cred.n_groups > 0) {
		l->client_groups = calloc(c->cred.n_groups, sizeof(gid_t));
		if (l->client_groups) {
			memcpy(l->client_groups, c->cred.groups, c->cred.n_groups * sizeof(gid_t));
			l->n_client_groups = c->cred.n_groups;
		}
	}
	l->want_client_name = !c->user_name;
	l->user = strdup(sr->user);
	l->group = sr->group ? strdup(sr->group) : NULL;
	l->path = strdup(path);
	ok = l->user && l->path && (!sr->group || l->group) &&
	     (c->cred.n_groups == 0 || l->client_groups);
	if (ok && sr->groups) {
		l->groups = calloc(sr->n_groups + 1, sizeof(char *));
		ok = l->groups != NULL;
		for (size_t i = 0; ok && i < sr->n_groups; i++)
			ok = (l->groups[i] = strdup(sr->groups[i])) != NULL;
	}
	l->canonicalize = policy_wants_canonical(c->ctx->policy, &c->cred);
	if (!ok)
		return resolve_job_free(l);
	return l;
}

static void on_deadline(evutil_socket_t fd, short what, void *userdata);

/*
 * Park j's fds and hand its lookups to a resolver thread. 0, or a refusal
 * (-errno, with *stage and *why set).
 */
static int
start_lookup(struct client *c, struct job *j, int *stage, const char **why)
{
	struct timeval deadline = {.tv_sec = (time_t)c->ctx->lookup_timeout_sec};
	int r;

	/*
	 * A lookup counts against its client's uid until its thread is back,
	 * even after its request timed out: a client whose lookups hang (its
	 * own FUSE path, say) pins only its own share of the threads.
	 */
	*stage = SPAWND__V1__STAGE__STAGE_LIMIT;
	*why = "too many user lookups in progress for this client";
	if (!usage_lookup_room(c->cred.uid))
		return -EAGAIN;
	*stage = SPAWND__V1__STAGE__STAGE_PREPARE;
	*why = "";
	j->lookup = lookup_for(c, &j->req->spawn, j->path);
	j->ev_timer = evtimer_new(c->ctx->base, on_deadline, j);
	if (!j->lookup || !j->ev_timer)
		return -ENOMEM;
	/*
	 * The table's copies go to the closer now, the parked ones later.
	 * Before the lookup starts: the spawn waits for these closes to have
	 * begun (closer_settle() in spawn_launch()), so the closer should get
	 * them as early as it can.
	 */
	r = job_park_fds(j);
	if (r < 0) {
		*stage = r == -EAGAIN ? SPAWND__V1__STAGE__STAGE_LIMIT
				      : SPAWND__V1__STAGE__STAGE_PREPARE;
		*why = "cannot keep the request's fds while the user is looked up";
		return r;
	}
	if (usage_lookup_take(c->cred.uid) < 0)
		return -ENOMEM;
	r = resolver_submit(j->lookup);
	if (r < 0) {
		usage_lookup_release(c->cred.uid);
		*stage = SPAWND__V1__STAGE__STAGE_LIMIT;
		*why = "no thread to look up the user";
		return -EAGAIN;
	}
	j->lookup->owner = j;
	j->looking_up = true;
	(void)event_add(j->ev_timer, &deadline);
	return 0;
}

/*
 * The first half of a Spawn (see the top of this file). Returns true when
 * the request went to a resolver thread (c->pending); else the job is
 * done with.
 */
static bool
handle_spawn(struct client *c, struct job *j)
{
	const struct spawn_request *sr = &j->req->spawn;
	struct audit_subject subj = job_subject(j);
	char detail[256];
	const char *why;
	int r, stage;

	/*
	 * An id names one spawn on this connection until its final reply
	 * (Failed, or Exited after Started): a Signal must never be able to
	 * hit a spawn the client did not mean. The refusal carries that id,
	 * so it is told apart from the earlier spawn's replies only by its
	 * body (a raw client's problem: libspawnd never reuses an id).
	 */
	if (reaper_find_by_id(c->children, j->req->id)) {
		(void)snprintf(detail, sizeof(detail),
			       "spawn id %llu is still in use on this connection",
			       (unsigned long long)j->req->id);
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, EEXIST, detail);
		return false;
	}
	if (c->ctx->stopping) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, ESHUTDOWN, "daemon is stopping");
		return false;
	}
	if (!usage_child_room(c->cred.uid)) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN, "too many live children");
		return false;
	}
	r = check_fds(c, j, detail, sizeof(detail));
	if (r > 0) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, r, detail);
		return false;
	}
	/* The program: exec_path when sent, else argv[0]; judged and exec'd alike. */
	r = command_resolve(request_program(sr), &j->path);
	if (r < 0) {
		refuse(c, &subj,
		       r == -EINVAL ? SPAWND__V1__STAGE__STAGE_DECODE
				    : SPAWND__V1__STAGE__STAGE_RESOLVE,
		       r, request_program(sr));
		return false;
	}
	subj.exec_path = j->path;
	r = start_lookup(c, j, &stage, &why);
	if (r < 0) {
		refuse(c, &subj, stage, -r, why);
		return false;
	}
	c->pending = j;
	return true;
}

/*
 * Failed{PREPARE} for a target user that did not resolve. Only the user:
 * a requested group that cannot be used is reported after the policy
 * (target_user.group_error, spawn_decide()), so that a client without a
 * rule learns nothing about the target's groups.
 */
static void
refuse_target(struct client *c, const struct audit_subject *subj, const struct resolve_job *job)
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

/* The world may have changed while the lookup ran: false when j was refused. */
static bool
spawn_admit(struct client *c, struct job *j, const struct audit_subject *subj)
{
	const struct resolve_job *l = j->lookup;

	if (l->client_name && !c->user_name)
		c->user_name = TAKE_PTR(j->lookup->client_name);
	if (c->ctx->stopping) {
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_LIMIT, ESHUTDOWN, "daemon is stopping");
		return false;
	}
	if (!usage_child_room(c->cred.uid)) {
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN, "too many live children");
		return false;
	}
	if (l->r < 0) {
		refuse_target(c, subj, l);
		return false;
	}
	if (!c->user_name) {
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
		return false;
	}
	/*
	 * A reload while the job ran may have brought a `cmd` rule for this
	 * client, and then the decision needs the canonical path, which only
	 * a resolver thread may compute. Rare: ask the client to try again.
	 */
	if (!l->canonicalize && policy_wants_canonical(c->ctx->policy, &c->cred)) {
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_PREPARE, EAGAIN,
		       "the policy was reloaded during the request, try again");
		return false;
	}
	return true;
}

/* Failed{PREPARE} for a requested group that cannot be used. */
static void
refuse_group(struct client *c, const struct audit_subject *subj, const struct target_user *target)
{
	char detail[PATH_MAX + 256];
	const char *what = target->group_what;
	int r = target->group_error;

	if (r == -ESRCH)
		(void)snprintf(detail, sizeof(detail), "unknown group %s", what);
	else if (r == -EPERM)
		(void)snprintf(detail, sizeof(detail), "group %s is not one of %s's groups", what,
			       target->name);
	else if (r == -EINVAL)
		(void)snprintf(detail, sizeof(detail), "invalid group %s", what);
	else
		(void)snprintf(detail, sizeof(detail), "cannot look up %s", what);
	refuse(c, subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, detail);
}

/*
 * The policy on the peer's identity and the program, then the requested
 * groups. Returns the permitting rule, or NULL when j was refused.
 */
static const struct policy_rule *
spawn_decide(struct client *c, struct job *j, struct audit_subject *subj)
{
	const struct policy *policy = c->ctx->policy;
	const struct target_user *target = &j->lookup->target;
	/* With exec_path, argv[0] is the client's choice of name: a permit judges it too. */
	struct policy_command command = {
		.path = j->path,
		.canonical = j->lookup->canonical,
		.name = j->req->spawn.exec_path ? j->req->spawn.argv[0] : NULL,
	};
	const struct policy_rule *rule;
	char detail[PATH_MAX * 3 + 512], location[PATH_MAX + 16], name[300] = "";

	/* Exec what the policy judged: the canonical path when there is one. */
	subj->exec_path = job_exec_path(j);
	rule = policy_match(policy, &c->cred, target->uid, &command, j->req->spawn.argv);
	if (rule)
		(void)snprintf(location, sizeof(location), "%s:%u", policy->path, rule->line);
	if (!rule || !rule->permit) {
		audit_decision(subj, false, rule ? location : NULL);
		/* A permit may have failed on the name alone: say which name was judged. */
		if (command.name)
			(void)snprintf(name, sizeof(name), " (argv[0] \"%.256s\")", command.name);
		if (command.canonical && strcmp(command.canonical, command.path) != 0)
			(void)snprintf(detail, sizeof(detail), "%s (%s)%s as %s: %s%s",
				       command.path, command.canonical, name, target->name,
				       rule ? "rule " : "no matching rule", rule ? location : "");
		else
			(void)snprintf(detail, sizeof(detail), "%s%s as %s: %s%s", command.path,
				       name, target->name, rule ? "rule " : "no matching rule",
				       rule ? location : "");
		reply_failed(c, j->req->id, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		return NULL;
	}
	/*
	 * Only now the requested groups: a client that no rule lets act as
	 * the target got the same denial above whatever groups it named, so
	 * it learns nothing about the target's groups (HOSTILE.md 40).
	 */
	if (target->group_error < 0) {
		refuse_group(c, subj, target);
		return NULL;
	}
	/* Dropping a group can grant what the group denies: only with narrowgroups. */
	if (target->narrowed && !rule->narrowgroups) {
		(void)snprintf(detail, sizeof(detail),
			       "the requested groups leave out some of %s's groups; "
			       "rule %s does not allow narrowing (narrowgroups)",
			       target->name, location);
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, detail);
		return NULL;
	}
	subj->gid = target->gid;
	subj->groups = target->groups;
	subj->n_groups = target->n_groups;
	audit_decision(subj, true, location);
	/* Later audit lines do not need it. */
	subj->exec_path = NULL;
	return rule;
}

/* The pty's slave is the child's controlling terminal: the lowest of 0-2 that holds it. */
static void
plan_ctty(struct spawn_prepared *sp, int pty_slave)
{
	sp->plan.set_ctty = true;
	sp->plan.ctty_fd = 0;
	for (size_t i = 0; i < sp->plan.n_fds; i++)
		if (sp->plan.fds[i].dst <= 2 && sp->plan.fds[i].src == pty_slave) {
			sp->plan.ctty_fd = sp->plan.fds[i].dst;
			return;
		}
}

/*
 * The child's plan (j->sp): environment, terminal (*pty_slave, and the
 * master in j), fds, umask. 0, or a refusal (-errno, *why set).
 */
static int
spawn_plan(struct client *c, struct job *j, const struct policy_rule *rule, int *pty_slave,
	   char *why, size_t size)
{
	const struct spawn_request *sr = &j->req->spawn;
	const struct target_user *target = &j->lookup->target;
	/* The same request with the umask the child gets (HOSTILE.md 41). */
	struct spawn_request effective = *sr;
	/* The slave stands in for /dev/null on each unmapped fd 0-2. */
	struct spawn_env env = c->ctx->spawn_env;
	_cleanup_strv_free_ char **envp = NULL;
	_cleanup_free_ char *refused = NULL;
	const char *refused_why = NULL;
	char *path;
	int r;

	*why = '\0';
	r = env_build(rule, target, c->cred.uid, c->user_name, sr->env_inherit, sr->env_set, &envp,
		      &refused, &refused_why);
	if (r < 0) {
		if (r == -EPERM && refused && refused_why)
			(void)snprintf(why, size, "setenv %s: %s", refused, refused_why);
		else
			(void)snprintf(why, size, "cannot build the environment");
		return r;
	}
	effective.umask = policy_umask(sr->umask, c->cred.uid, target->uid);
	if (sr->pty) {
		struct pty_setup pty = {
			.uid = target->uid,
			.gid = env.tty_gid,
			.rows = sr->pty_rows,
			.cols = sr->pty_cols,
			.xpixel = sr->pty_xpixel,
			.ypixel = sr->pty_ypixel,
		};

		r = pty_open(&pty, &j->pty_master, pty_slave);
		if (r < 0) {
			(void)snprintf(why, size, "cannot allocate a terminal");
			return r;
		}
		env.devnull = *pty_slave;
	}
	r = job_unpark_fds(j);
	if (r < 0) {
		(void)snprintf(why, size, "cannot take back the request's fds");
		return r;
	}
	path = strdup(job_exec_path(j));
	if (!path)
		return -ENOMEM;
	r = spawn_prepare(&effective, target, path, TAKE_PTR(envp), j->fds, j->n_fds, &env, &j->sp);
	if (r < 0)
		return r;
	if (sr->pty)
		plan_ctty(j->sp, *pty_slave);
	return 0;
}

/*
 * Start the child and hand j to the reaper. Returns true when the reaper
 * owns j (also for a child it could not track); j was refused either way
 * when something failed.
 */
static bool
spawn_launch(struct client *c, struct job *j, const struct audit_subject *subj)
{
	const struct context *ctx = c->ctx;
	int own[SPAWND_MAX_FDS + 1], r;
	size_t n_own = j->n_fds;

	/*
	 * What this spawn holds was made after every fd handed to the closer.
	 * The terminal's master too: all pty masters have the same device and
	 * inode, so one that took the number of a master whose close began
	 * (and may hang) would pass for it (see struct reply).
	 */
	memcpy(own, j->fds, j->n_fds * sizeof(int));
	if (j->pty_master >= 0)
		own[n_own++] = j->pty_master;

	/*
	 * No other request's fd may be left in the table for the child to
	 * inherit (and close, hanging on the same FLUSH): wait for the closer
	 * to have begun every close handed to it.
	 */
	r = closer_settle(ctx->closer, CLOSER_SETTLE_MSEC, own, n_own);
	if (r < 0) {
		log_warning("Fds of earlier requests are still waiting to be closed, "
			    "refusing a spawn of client pid %d",
			    (int)c->cred.pid);
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
		       "fds of earlier requests are still waiting to be closed");
		return false;
	}
	/* The plan stays with the job until the child's errpipe reports (job.h). */
	j->sp->share_table = reaper_share_table(ctx->reaper);
	r = spawn_start(j->sp, ctx->engine, &j->pid, &j->pidfd, &j->errpipe);
	/* The child has its own copies now (both engines): ours go to the closer. */
	job_release_fds(j);
	if (r < 0) {
		/* A child without a pidfd: killed, the reaper reaps it by pid. */
		if (j->pid > 0)
			reaper_abandon(ctx->reaper, j);
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_FORK, r, "");
		return j->pid > 0;
	}
	r = reaper_track(ctx->reaper, j, &c->children);
	if (r < 0)
		refuse(c, subj, SPAWND__V1__STAGE__STAGE_FORK, r, "cannot track child");
	else
		usage_spawned();
	return true;
}

/* The second half of a Spawn (see the top of this file). True when the reaper owns j. */
static bool
spawn_continue(struct client *c, struct job *j)
{
	struct audit_subject subj = job_subject(j);
	const struct policy_rule *rule;
	int pty_slave = -EBADF;
	char why[PATH_MAX + 128];
	bool owned;
	int r;

	if (!spawn_admit(c, j, &subj))
		return false;
	rule = spawn_decide(c, j, &subj);
	if (!rule)
		return false;
	r = spawn_plan(c, j, rule, &pty_slave, why, sizeof(why));
	if (r < 0) {
		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, r, why);
		owned = false;
	} else
		owned = spawn_launch(c, j, &subj);
	/*
	 * The child has its own copy of the slave by now (or there is none).
	 * Ours goes to the closer, like the master (job_release_pty()): the
	 * child may be gone already, and the release of a slave's last file
	 * waits for the tty's lock, which the target's TIOCSETD can hold for
	 * seconds at a time while a writer of its sits in the line discipline.
	 */
	closer_take(c->ctx->closer, c->cred.uid, &pty_slave, 1);
	return owned;
}

/* The pending Spawn of c is over (done, or timed out): read requests again. */
static void
lookup_end(struct client *c, struct job *j)
{
	(void)event_del(j->ev_timer);
	c->pending = NULL;
	c->ctx->ev.resume(c);
}

void
dispatch_lookup_done(struct resolve_job *lookup)
{
	struct job *j = lookup->owner;
	struct client *c;

	usage_lookup_release(lookup->client_uid);
	if (!j) {
		/* Its request timed out or went with its connection long ago. */
		resolve_job_free(lookup);
		return;
	}
	c = j->owner;
	j->looking_up = false;
	lookup_end(c, j);
	/* A connection on its way out starts nothing (conn_close_later()). */
	if (c->closing || !spawn_continue(c, j))
		job_free(j);
}

static void
on_deadline(evutil_socket_t fd, short what, void *userdata)
{
	struct job *j = userdata;
	struct client *c = j->owner;
	struct audit_subject subj = job_subject(j);
	unsigned timeout_sec = c->ctx->lookup_timeout_sec;
	const char *what_timed_out;
	char detail[128];

	(void)fd;
	(void)what;
	/* A connection on its way out cancels the request itself (dispatch_conn_gone()). */
	if (c->closing)
		return;
	log_warning("Client uid %u pid %d: lookup timed out after %u s", (unsigned)c->cred.uid,
		    (int)c->cred.pid, timeout_sec);
	switch (resolve_job_phase(j->lookup)) {
	case RESOLVE_QUEUED:
		what_timed_out = "user lookup (waiting for a lookup thread)";
		break;
	case RESOLVE_PATH:
		what_timed_out = "command path lookup";
		break;
	default:
		what_timed_out = "user lookup";
		break;
	}
	(void)snprintf(detail, sizeof(detail), "%s timed out after %u s", what_timed_out,
		       timeout_sec);
	refuse(c, &subj, SPAWND__V1__STAGE__STAGE_PREPARE, ETIMEDOUT, detail);
	lookup_end(c, j);
	/* Abandons the lookup: its thread may come back much later, or never. */
	job_free(j);
}

void
dispatch_conn_gone(struct client *c)
{
	struct job *j = c->pending;

	if (j) {
		struct audit_subject subj = job_subject(j);

		audit_failed(&subj, SPAWND__V1__STAGE__STAGE_PREPARE, ECANCELED,
			     c->ctx->stopping ? "daemon is stopping" : "client disconnected");
		c->pending = NULL;
		job_free(j);
	}
	/* Children follow their on_disconnect choice. */
	while (c->children)
		child_orphan(c->children);
}

static void
handle_signal(struct client *c, const struct request *req)
{
	struct audit_subject subj = {
		.client_pid = c->cred.pid,
		.client_uid = c->cred.uid,
		.id = req->id,
	};
	struct job *child = reaper_find_by_id(c->children, req->signal.spawn_id);
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
	c->ctx->ev.reply(c, &(struct reply){.kind = REPLY_SIGNAL_SENT, .id = req->id});
}

enum dispatch_result
dispatch_message(struct client *c, const uint8_t *buf, size_t len, int *fds, size_t n_fds)
{
	struct request *req = NULL;
	struct job *j;
	const char *error = NULL;
	uint64_t id = 0;
	int r;

	r = request_decode(buf, len, n_fds, &req, &id, &error);
	if (r >= 0 && req->kind == REQUEST_SPAWN) {
		/* The job owns the request and the fds from here. */
		j = job_new(c->ctx, c, c->cred.uid, c->cred.pid, &req, fds, n_fds);
		if (!j) {
			reply_failed(c, id, SPAWND__V1__STAGE__STAGE_PREPARE, ENOMEM, "");
			(void)request_free(req);
			return DISPATCH_DONE;
		}
		if (handle_spawn(c, j))
			return DISPATCH_PENDING;
		job_free(j);
		return DISPATCH_DONE;
	}
	/* The fds go to the closer. */
	closer_take(c->ctx->closer, c->cred.uid, fds, n_fds);
	if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
		/* Not a request we can talk about: fail closed, drop the peer. */
		log_warning("Client uid %u pid %d: %s, dropping the connection",
			    (unsigned)c->cred.uid, (int)c->cred.pid, error);
		reply_failed(c, 0, SPAWND__V1__STAGE__STAGE_PROTOCOL, -r, error);
		return DISPATCH_DROP;
	}
	if (r < 0) {
		struct audit_subject subj = {
			.client_pid = c->cred.pid,
			.client_uid = c->cred.uid,
			.id = id,
		};

		refuse(c, &subj, SPAWND__V1__STAGE__STAGE_DECODE, r, error);
	} else
		handle_signal(c, req);
	(void)request_free(req);
	return DISPATCH_DONE;
}
