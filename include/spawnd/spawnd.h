/* SPDX-License-Identifier: MIT */
/*
 * libspawnd: client library for the spawnd privileged spawn daemon.
 *
 * A spawnd_client is one connection to the daemon. It can run many spawns at
 * once; each reply is dispatched to the callback of the spawn it belongs to.
 * The library is fd-based so that it can sit inside any event loop: poll
 * spawnd_client_get_fd() for spawnd_client_get_events() and call
 * spawnd_client_process() when it is ready. The synchronous calls are thin
 * layers over that same path.
 *
 * Conventions: functions that do something return >= 0 on success and a
 * negative errno on failure. Destructors accept NULL and return NULL. The
 * library never logs, never installs signal handlers, never spawns threads
 * and never calls exit(); it sends with MSG_NOSIGNAL. A handle is not
 * thread-safe: use one handle per thread or lock around it.
 *
 * Plain C99; usable from C++.
 */
#ifndef SPAWND_SPAWND_H
#define SPAWND_SPAWND_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define SPAWND_EXPORT __attribute__((visibility("default")))
#else
#define SPAWND_EXPORT
#endif

typedef struct spawnd_client spawnd_client;
typedef struct spawnd_options spawnd_options;
typedef struct spawnd_result spawnd_result;

/* What a result describes. */
typedef enum spawnd_state {
	SPAWND_STATE_PENDING = 0, /* no reply yet */
	SPAWND_STATE_STARTED = 1, /* exec succeeded; pid is valid */
	SPAWND_STATE_FAILED = 2,  /* refused or failed before a child ran */
	SPAWND_STATE_EXITED = 3   /* the child exited; status and usage are valid */
} spawnd_state;

/* Where a failure happened (values equal the wire protocol's Stage). */
typedef enum spawnd_stage {
	SPAWND_STAGE_UNKNOWN = 0,
	SPAWND_STAGE_DECODE = 1,    /* invalid request */
	SPAWND_STAGE_POLICY = 2,    /* denied by policy */
	SPAWND_STAGE_PREPARE = 3,   /* daemon-side preparation (user, groups, env) */
	SPAWND_STAGE_RESOLVE = 4,   /* bare command not found on the daemon's PATH */
	SPAWND_STAGE_LIMIT = 5,     /* a cap was reached */
	SPAWND_STAGE_FORK = 6,
	SPAWND_STAGE_FD_SETUP = 7,
	SPAWND_STAGE_SIGNALS = 8,
	SPAWND_STAGE_SETSID = 9,
	SPAWND_STAGE_SETGROUPS = 10,
	SPAWND_STAGE_SETGID = 11,
	SPAWND_STAGE_SETUID = 12,
	SPAWND_STAGE_CHDIR = 13,
	SPAWND_STAGE_RLIMIT = 14,
	SPAWND_STAGE_OOM_ADJ = 15,
	SPAWND_STAGE_CLOSE_FDS = 16,
	SPAWND_STAGE_EXEC = 17,
	SPAWND_STAGE_SIGNAL = 18,   /* a signal request failed */
	SPAWND_STAGE_PROTOCOL = 19  /* framing error; the daemon dropped the connection */
} spawnd_stage;

/*
 * Called for every reply about one spawn: once with STARTED or FAILED, and
 * after STARTED once more with EXITED. The result is owned by the library
 * and valid only during the call (copy what you need, or use
 * spawnd_result_dup()). The callback may start spawns and send signals on
 * the same client, but must not close it.
 */
typedef void (*spawnd_spawn_cb)(spawnd_client *c, const spawnd_result *r, void *userdata);

/* ---- connection ---- */

/*
 * Connect to the daemon at path (NULL: $SPAWND_SOCKET, else
 * /run/spawnd.sock). flags must be 0. The socket is non-blocking and
 * close-on-exec. Returns 0 with *ret set, or -EINVAL, -ENOMEM,
 * -ENAMETOOLONG, or the connect(2) error (-ENOENT, -ECONNREFUSED,
 * -EACCES..., or -EAGAIN when the daemon's listen backlog is full: retry).
 */
SPAWND_EXPORT int spawnd_client_open(spawnd_client **ret, const char *path, unsigned flags);

/*
 * Close the connection and free the handle. Spawns still running follow
 * their on-disconnect choice in the daemon (terminate by default). NULL-safe;
 * returns NULL.
 */
SPAWND_EXPORT spawnd_client *spawnd_client_close(spawnd_client *c);

/* The fd to watch (owned by the client). */
SPAWND_EXPORT int spawnd_client_get_fd(spawnd_client *c);

/* POLLIN, plus POLLOUT while requests are queued for sending. */
SPAWND_EXPORT int spawnd_client_get_events(spawnd_client *c);

/*
 * Send what is queued and read every reply available without blocking,
 * running callbacks. Returns the number of replies dispatched (>= 0),
 * -ECONNRESET when the daemon closed the connection (pending spawns then
 * get a FAILED callback with stage PROTOCOL), -EBADMSG when the daemon
 * sent something malformed (the library then hangs up, with the same
 * callbacks), or another -errno. Once the connection has ended, every call
 * returns that same error.
 */
SPAWND_EXPORT int spawnd_client_process(spawnd_client *c);

/*
 * Block until the client has something to do or timeout_usec passes
 * (UINT64_MAX = forever), then process. Returns like spawnd_client_process,
 * or -ETIMEDOUT, or -EINTR when a signal interrupted the wait.
 */
SPAWND_EXPORT int spawnd_client_wait(spawnd_client *c, uint64_t timeout_usec);

/* ---- options (a request under construction) ---- */

/* Returns 0 or -ENOMEM. Free with spawnd_options_free(). */
SPAWND_EXPORT int spawnd_options_new(spawnd_options **ret);
SPAWND_EXPORT spawnd_options *spawnd_options_free(spawnd_options *o);

/*
 * argv[0] is the command: an absolute path or a bare name the daemon
 * resolves on its fixed PATH. argv is copied; must have at least one entry.
 * Returns 0, -EINVAL, -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_argv(spawnd_options *o, const char *const *argv);

/*
 * Target user: a name or a decimal uid. Default "root". Copied. In this and
 * the other single-value string setters (group, cwd), NULL restores the
 * default and "" is -EINVAL.
 */
SPAWND_EXPORT int spawnd_options_set_user(spawnd_options *o, const char *user);
/* Primary group: a name or decimal gid; must be one of the target's. */
SPAWND_EXPORT int spawnd_options_set_group(spawnd_options *o, const char *group);
/* Add a supplementary group; when none is added the child gets all of the target's. */
SPAWND_EXPORT int spawnd_options_add_group(spawnd_options *o, const char *group);
/* Working directory (absolute), entered as the target user. Default "/". */
SPAWND_EXPORT int spawnd_options_set_cwd(spawnd_options *o, const char *cwd);
/* umask 0..0777. Default 022. */
SPAWND_EXPORT int spawnd_options_set_umask(spawnd_options *o, unsigned mask);

/*
 * Give the child the caller's fd `fd` as fd number `child_fd`. The fd is
 * not taken, and it is used when spawnd_spawn_async() runs: sent at once,
 * or, if the request has to wait in the send queue, duplicated
 * (close-on-exec) and sent later. Keep it open until spawnd_spawn_async()
 * returns; after that the caller may close it. Child fds 0/1/2 not mapped
 * get /dev/null. Returns 0, -EINVAL (bad number or child_fd mapped twice),
 * -E2BIG (too many), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_add_fd(spawnd_options *o, int child_fd, int fd);

/*
 * Add NAME=VALUE to the inherited environment list: filtered silently by
 * the daemon (only safe variables pass unless the policy says keepenv).
 */
SPAWND_EXPORT int spawnd_options_add_inherited_env(spawnd_options *o, const char *entry);
/* Add every entry of envp (e.g. environ) to the inherited list. */
SPAWND_EXPORT int spawnd_options_inherit_environ(spawnd_options *o, char *const *envp);
/*
 * Explicit setting NAME=VALUE: the policy must allow it or the whole
 * request fails (stage PREPARE, EPERM, the name as detail).
 */
SPAWND_EXPORT int spawnd_options_setenv(spawnd_options *o, const char *entry);

/* 1: the child keeps running when this connection closes (default 0: terminate). */
SPAWND_EXPORT int spawnd_options_set_keep(spawnd_options *o, int keep);
/* Run-time limit enforced by the daemon (0 = none): SIGTERM, SIGKILL 5 s later. */
SPAWND_EXPORT int spawnd_options_set_timeout(spawnd_options *o, uint64_t timeout_usec);

/* ---- spawning ---- */

/*
 * Queue a spawn request and try to send it. cb (may be NULL) is called
 * for its replies from spawnd_client_process(). *ret_id (may be NULL)
 * identifies the spawn; ids increase from 1 per connection. With a
 * callback, the library forgets the spawn after its final (FAILED or
 * EXITED) callback unless spawnd_wait() is waiting for it; without one,
 * the final result is kept until spawnd_wait() collects it or the client
 * is closed. Returns 0, -EINVAL (no argv), -E2BIG (the request does not
 * fit one message), -ENOMEM, -EBADF (a bad fd), -ECONNRESET (the
 * connection has ended), or another send error.
 */
SPAWND_EXPORT int spawnd_spawn_async(spawnd_client *c, const spawnd_options *o, spawnd_spawn_cb cb,
				     void *userdata, uint64_t *ret_id);

/*
 * Synchronous spawn: send and wait until the child started or the request
 * failed, at most timeout_usec (UINT64_MAX = forever). Returns 0 with *ret
 * a STARTED or FAILED result (free it with spawnd_result_free()), or
 * -ETIMEDOUT, -EINTR, -ECONNRESET, ... Use spawnd_wait() for the exit.
 * After an error the spawn is abandoned: its late replies are dropped and
 * a child that does start runs until it exits or the connection closes.
 */
SPAWND_EXPORT int spawnd_spawn(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec,
			       spawnd_result **ret);

/*
 * Wait for the spawn `id` (from spawnd_result_get_id()) to exit. Returns 0
 * with *ret an EXITED result (or the FAILED result of a spawn from
 * spawnd_spawn_async() that never started), -ETIMEDOUT, -EINTR, -ESRCH
 * (unknown id, or its final result was already delivered or collected),
 * -ECONNRESET.
 */
SPAWND_EXPORT int spawnd_wait(spawnd_client *c, uint64_t id, uint64_t timeout_usec,
			      spawnd_result **ret);

/*
 * Ask the daemon to send signo to the child of spawn `id` (or its process
 * group when process_group is 1). Asynchronous: the outcome is not
 * reported to a spawn callback; use spawnd_signal() to wait for it.
 * Returns 0, -EINVAL (bad signo), -ESRCH (not a spawn of this connection
 * that may still run), or another -errno.
 */
SPAWND_EXPORT int spawnd_signal_async(spawnd_client *c, uint64_t id, int signo, int process_group);

/*
 * Like spawnd_signal_async() but waits for the daemon's answer: 0, -ESRCH
 * (not a live child of this connection), -EINVAL, -ETIMEDOUT...
 */
SPAWND_EXPORT int spawnd_signal(spawnd_client *c, uint64_t id, int signo, int process_group,
				uint64_t timeout_usec);

/* ---- results ---- */

SPAWND_EXPORT spawnd_result *spawnd_result_free(spawnd_result *r);
/* Copy a result (e.g. inside a callback). Returns NULL on ENOMEM. */
SPAWND_EXPORT spawnd_result *spawnd_result_dup(const spawnd_result *r);

SPAWND_EXPORT uint64_t spawnd_result_get_id(const spawnd_result *r);
SPAWND_EXPORT spawnd_state spawnd_result_get_state(const spawnd_result *r);
/* The child's pid (STARTED, EXITED), else -1. */
SPAWND_EXPORT pid_t spawnd_result_get_pid(const spawnd_result *r);
/* FAILED: the stage and the positive errno; else 0. */
SPAWND_EXPORT spawnd_stage spawnd_result_get_stage(const spawnd_result *r);
SPAWND_EXPORT int spawnd_result_get_errno(const spawnd_result *r);
/* FAILED: what failed (a path, a variable name, a rule) or "" . Owned by r. */
SPAWND_EXPORT const char *spawnd_result_get_detail(const spawnd_result *r);
/* EXITED: exit code (0..255) or -1 when killed by a signal. */
SPAWND_EXPORT int spawnd_result_get_exit_code(const spawnd_result *r);
/* EXITED: the signal that killed the child, or 0. */
SPAWND_EXPORT int spawnd_result_get_signal(const spawnd_result *r);
SPAWND_EXPORT int spawnd_result_get_core_dumped(const spawnd_result *r);
/* EXITED: 1 when the daemon's run-time limit fired. */
SPAWND_EXPORT int spawnd_result_get_timed_out(const spawnd_result *r);
SPAWND_EXPORT uint64_t spawnd_result_get_user_cpu_usec(const spawnd_result *r);
SPAWND_EXPORT uint64_t spawnd_result_get_sys_cpu_usec(const spawnd_result *r);
SPAWND_EXPORT uint64_t spawnd_result_get_max_rss_kb(const spawnd_result *r);
SPAWND_EXPORT uint64_t spawnd_result_get_wall_usec(const spawnd_result *r);

/* Human-readable name of a stage ("chdir", "exec", ...). Never NULL. */
SPAWND_EXPORT const char *spawnd_stage_to_string(spawnd_stage stage);

/* SPAWND_VERSION_HEX of the library actually loaded. */
SPAWND_EXPORT unsigned spawnd_version(void);

#ifdef __cplusplus
}
#endif

#endif
