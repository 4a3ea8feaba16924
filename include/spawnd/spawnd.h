/* SPDX-License-Identifier: MIT */
/*
 * libspawnd: client library for the spawnd privileged spawn daemon.
 *
 * A spawnd_client is one connection to the daemon. It can run many spawns at
 * once; each reply is dispatched to the callback of the spawn it belongs to.
 *
 * Two ways to use it:
 *  - Synchronous: spawnd_run() starts a program and waits for its exit in
 *    one call; spawnd_start() waits only for the start, spawnd_wait_exit()
 *    for the exit later. Each returns 0 only when the program reached the
 *    state asked for, and a negative errno for everything else, including
 *    a refusal by the policy or an exec that failed.
 *  - Event loop: the library is fd-based. Poll spawnd_client_get_fd() for
 *    spawnd_client_get_events(), call spawnd_client_process() when it is
 *    ready, and start spawns with spawnd_spawn_async() and a callback. The
 *    synchronous calls are thin layers over that same path.
 * Complete programs for both, and the example of libspawnd(3), are in
 * client/examples/ of the source tree.
 *
 * Conventions, for every call below:
 *  - The failure channel is the return value. A function returns 0 (or a
 *    documented count >= 0) on success and a negative errno on failure.
 *    Each declaration says what "success" means and what happens on
 *    failure. Output parameters are left untouched on failure, except for
 *    spawnd_start(), spawnd_run() and spawnd_wait_exit(), which always set
 *    *ret (to NULL or to a result that says why they failed).
 *  - A failure to run the program never hides in a result that comes with
 *    a 0 return, except in the callbacks of the event-loop API (where the
 *    result's state is the channel) and in spawnd_spawn()/spawnd_wait(),
 *    which are kept, unchanged, for programs written against 0.1.
 *  - Every call validates its arguments: a NULL handle or an out-of-range
 *    value is -EINVAL (getters return their documented "none" value).
 *  - Waits take microseconds: SPAWND_WAIT_INFINITE waits as long as it
 *    takes; 0 polls once and never blocks (what has arrived is processed,
 *    then -ETIMEDOUT if that was not enough); 0 never means "no limit".
 *    The child's run-time limit is a different thing with a different
 *    word ("time limit", spawnd_options_set_time_limit()).
 *  - Destructors accept NULL and return NULL, so `x = x_free(x);` clears.
 *  - Strings passed in are copied; strings returned are owned by the object
 *    they came from and live as long as it does.
 *  - Every fd the library creates or receives is close-on-exec.
 *  - The library never logs, never installs signal handlers, never spawns
 *    threads and never calls exit(); it sends with MSG_NOSIGNAL.
 *  - A handle is not thread-safe: use one handle per thread, or lock
 *    around every call on it (callbacks run inside those calls).
 *  - Deprecated names stay exported and keep working (libspawnd.so.0 only
 *    ever adds symbols). Define SPAWND_WARN_DEPRECATED before including
 *    this header to have the compiler point at their uses.
 *
 * Plain C99; usable from C++.
 */
#ifndef SPAWND_SPAWND_H
#define SPAWND_SPAWND_H

#include <sys/types.h>

#include <poll.h> /* POLLIN, POLLOUT: spawnd_client_get_events() */
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define SPAWND_EXPORT __attribute__((visibility("default")))
#else
#define SPAWND_EXPORT
#endif

/* A name kept for compatibility; see the Conventions above. */
#if defined(SPAWND_WARN_DEPRECATED) && defined(__GNUC__) &&                                        \
	(defined(__clang__) || __GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 5))
#define SPAWND_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define SPAWND_DEPRECATED(msg)
#endif

/* The daemon's socket when neither a path nor $SPAWND_SOCKET is given. */
#define SPAWND_DEFAULT_SOCKET "/run/spawnd.sock"
/* The environment variable spawnd_client_open(&c, NULL, 0) reads. */
#define SPAWND_SOCKET_ENV "SPAWND_SOCKET"

/*
 * Wait without a deadline: the timeout_usec of every call that waits
 * (spawnd_run(), spawnd_start(), spawnd_wait_exit(), spawnd_signal(),
 * spawnd_client_wait(), ...). Equal to UINT64_MAX, as before it had a name.
 * A timeout_usec of 0 is not "no limit": it polls once and never blocks.
 */
#define SPAWND_WAIT_INFINITE ((uint64_t)-1)

/*
 * spawnd_options_set_time_limit(): no run-time limit (the default). A time
 * limit of 0 is refused (-EINVAL) rather than read as "none".
 */
#define SPAWND_NO_TIME_LIMIT ((uint64_t)-1)

typedef struct spawnd_client spawnd_client;
typedef struct spawnd_options spawnd_options;
typedef struct spawnd_result spawnd_result;

/* What a result describes. */
typedef enum spawnd_state {
	SPAWND_STATE_PENDING = 0, /* no reply yet */
	SPAWND_STATE_STARTED = 1, /* exec succeeded; pid is valid */
	SPAWND_STATE_FAILED = 2,  /* refused or failed before a child ran */
	SPAWND_STATE_EXITED = 3	  /* the child exited; status and usage are valid */
} spawnd_state;

/* Where a failure happened (values equal the wire protocol's Stage). */
typedef enum spawnd_stage {
	SPAWND_STAGE_UNKNOWN = 0,
	SPAWND_STAGE_DECODE = 1,  /* invalid request */
	SPAWND_STAGE_POLICY = 2,  /* denied by policy */
	SPAWND_STAGE_PREPARE = 3, /* daemon-side preparation (user, groups, env) */
	SPAWND_STAGE_RESOLVE = 4, /* bare command not found on the daemon's PATH */
	SPAWND_STAGE_LIMIT = 5,	  /* a cap was reached */
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
	SPAWND_STAGE_SIGNAL = 18,  /* a signal request failed */
	SPAWND_STAGE_PROTOCOL = 19 /* framing error; the daemon dropped the connection */
} spawnd_stage;

/*
 * What the daemon does with a child when its connection closes (the client
 * closed it, exited, crashed or was killed) or when the daemon stops. Only a
 * child that is not reaped yet is acted on, so a recycled pid is never hit.
 */
typedef enum spawnd_on_disconnect {
	/* SIGTERM, then SIGKILL after the kill grace (spawnd_options_set_kill_grace). */
	SPAWND_ON_DISCONNECT_TERMINATE = 0,
	/* Nothing: the child keeps running, detached. */
	SPAWND_ON_DISCONNECT_KEEP = 1,
	/*
	 * SIGHUP, then SIGCONT, to the child's process group (every child leads
	 * its own session and group), once, like a terminal hangup. A child
	 * that handles SIGHUP may live on; processes that left the group are
	 * not reached.
	 */
	SPAWND_ON_DISCONNECT_HANGUP = 2
} spawnd_on_disconnect;

/* The longest kill grace a request may ask for (60 s); the daemon refuses more. */
#define SPAWND_KILL_GRACE_MAX_USEC 60000000ull
/* spawnd_options_set_kill_grace(): use the daemon's default grace (5 s). */
#define SPAWND_KILL_GRACE_DEFAULT ((uint64_t)-1)

/*
 * Called for every reply about one spawn: once with STARTED or FAILED, and
 * after STARTED once more with EXITED (or with FAILED, stage PROTOCOL, if
 * the connection is lost first). Here the result's state is the failure
 * channel: FAILED means the program did not run (or the connection ended),
 * with the stage, errno and detail in the result. The result is owned by
 * the library and valid only during the call: copy what you need, or keep
 * a copy with spawnd_result_dup(). Its pidfd, if any, stays open until
 * this spawn's final (EXITED or FAILED) callback returns.
 *
 * The callback may start spawns, send signals and call spawnd_wait_exit()
 * on the same client, but must not close it.
 *
 * @param c        the client the spawn belongs to
 * @param r        the spawn's state now (borrowed)
 * @param userdata as given to spawnd_spawn_async()
 */
typedef void (*spawnd_spawn_cb)(spawnd_client *c, const spawnd_result *r, void *userdata);

/* ---- connection ---- */

/*
 * Connect to the daemon.
 *
 * @param ret   receives the new client (owned by the caller; free it with
 *              spawnd_client_close())
 * @param path  the daemon's socket; NULL: $SPAWND_SOCKET (SPAWND_SOCKET_ENV;
 *              ignored in a set-uid/set-gid process), else
 *              SPAWND_DEFAULT_SOCKET
 * @param flags must be 0
 * @return 0, or -errno with *ret untouched: -EINVAL (NULL ret, flags not
 *         0, empty path), -ENOMEM, -ENAMETOOLONG (path does not fit a Unix
 *         socket address), or the error of socket(2)/connect(2): -ENOENT,
 *         -ECONNREFUSED, -EACCES..., or -EAGAIN when the daemon's listen
 *         backlog is full (retry later).
 *
 * The socket is non-blocking and close-on-exec.
 */
SPAWND_EXPORT int spawnd_client_open(spawnd_client **ret, const char *path, unsigned flags);

/*
 * Close the connection and free the handle, with every result, pidfd and
 * queued request it still holds. No callback runs. Spawns still running
 * follow their on-disconnect choice in the daemon (terminate by default).
 *
 * @param c the client, or NULL
 * @return NULL (cannot fail)
 */
SPAWND_EXPORT spawnd_client *spawnd_client_close(spawnd_client *c);

/*
 * The fd to watch for spawnd_client_get_events().
 *
 * @param c the client
 * @return the fd (>= 0; owned by the client: never close it, and remove it
 *         from your poll set before spawnd_client_close()), or -EINVAL.
 */
SPAWND_EXPORT int spawnd_client_get_fd(spawnd_client *c);

/*
 * The poll(2) events to wait for on spawnd_client_get_fd() now: POLLIN,
 * plus POLLOUT while requests are queued for sending. Ask again after every
 * call that may send (spawnd_spawn_async(), spawnd_signal_async(),
 * spawnd_client_process()).
 *
 * @param c the client
 * @return POLLIN or POLLIN|POLLOUT (> 0), or -EINVAL.
 */
SPAWND_EXPORT int spawnd_client_get_events(spawnd_client *c);

/*
 * Send what is queued and read every reply available without blocking,
 * running callbacks. Call it when the fd is ready (calling it at other
 * times is harmless).
 *
 * @param c the client
 * @return the number of replies dispatched (>= 0), or -errno: -ECONNRESET
 *         when the daemon closed the connection (pending spawns then get a
 *         FAILED callback with stage PROTOCOL); -EBADMSG when the daemon
 *         sent something malformed, including an fd on any reply but a
 *         Started that carries a requested pidfd (every received fd is
 *         closed, the library hangs up, with the same callbacks); -EINVAL;
 *         or another -errno. Once the connection has ended, every call
 *         returns that same error.
 */
SPAWND_EXPORT int spawnd_client_process(spawnd_client *c);

/*
 * Block until the client has something to do or timeout_usec passes, then
 * process. For simple programs and the synchronous calls; event loops use
 * get_fd/get_events/process instead.
 *
 * @param c            the client
 * @param timeout_usec how long to wait at most: SPAWND_WAIT_INFINITE for
 *                     no deadline, 0 to poll once without blocking
 * @return like spawnd_client_process() (>= 0 replies dispatched), or
 *         -ETIMEDOUT (nothing was ready in time), -EINTR when a signal
 *         interrupted the wait (not retried, so a caller can react), or the
 *         errors of spawnd_client_process().
 */
SPAWND_EXPORT int spawnd_client_wait(spawnd_client *c, uint64_t timeout_usec);

/* ---- options (a request under construction) ---- */

/*
 * Start a request description. One options object can be used for any
 * number of spawns; the calls that spawn read it and keep no reference.
 *
 * @param ret receives the options (owned by the caller; free them with
 *            spawnd_options_free())
 * @return 0, or -errno with *ret untouched: -EINVAL (NULL ret), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_new(spawnd_options **ret);

/*
 * @param o the options, or NULL
 * @return NULL (cannot fail)
 */
SPAWND_EXPORT spawnd_options *spawnd_options_free(spawnd_options *o);

/*
 * Every setter below returns 0 or -errno, and on failure leaves the
 * options as they were (the bulk spawnd_options_add_inherited_envp() keeps
 * the entries it added before the failure).
 */

/*
 * The command and its arguments, like execv(3): argv[0] is the command, an
 * absolute path or a bare name the daemon resolves on its own fixed PATH.
 * Takes `char *const *` like execv(3) and posix_spawn(3), so main()'s argv
 * or environ-style arrays pass without a cast; the strings are copied and
 * never modified. (Before 0.2 the parameter was `const char *const *`;
 * the ABI is the same.)
 *
 * @param o    the options
 * @param argv NULL-terminated, at least one entry, argv[0] not empty
 * @return 0, -EINVAL, -E2BIG (more than the daemon's argv cap), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_argv(spawnd_options *o, char *const *argv);

/*
 * The program to run when it is not argv[0], like `exec -a NAME` or
 * execv(path, argv): the daemon resolves, judges (policy), logs and execs
 * `path` exactly as it does argv[0] without it, and the program gets the
 * argv of spawnd_options_set_argv() unchanged, argv[0] included. argv[0]
 * then plays no part in the decision. Default: argv[0] is the program.
 * A daemon that predates this option does not know it and drops the
 * connection (SPAWND_STAGE_PROTOCOL); it never runs argv[0] instead.
 *
 * @param path an absolute path or a bare name (copied), or NULL for argv[0]
 * @return 0, -EINVAL ("" or a relative path with a '/'), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_executable(spawnd_options *o, const char *path);

/*
 * Target user: a name or a decimal uid. Default "root". In this and the
 * other single-value string setters (group, cwd) the string is copied, NULL
 * restores the default and "" is -EINVAL.
 *
 * @param o    the options
 * @param user the user, or NULL
 * @return 0, -EINVAL, -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_user(spawnd_options *o, const char *user);

/*
 * Primary group: a name or decimal gid; the daemon requires one of the
 * target's groups. Default: the target's primary group. The child still
 * gets all of the target's groups.
 *
 * @return 0, -EINVAL, -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_group(spawnd_options *o, const char *group);

/*
 * Add a supplementary group (name or gid; copied); each must be one of the
 * target's groups. When none is added the child gets all of the target's.
 * A list that leaves out any of them is refused unless the policy rule has
 * `narrowgroups`.
 *
 * @return 0, -EINVAL (NULL or ""), -E2BIG (over the daemon's cap), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_add_group(spawnd_options *o, const char *group);

/*
 * none = 1: the child gets no supplementary groups at all (an empty list,
 * which adding none cannot say: that means all of the target's). Forgets
 * the groups added so far; a later spawnd_options_add_group() starts a
 * list again. Like any list that leaves out some of the target's groups,
 * refused (SPAWND_STAGE_POLICY, EPERM) unless the policy rule has
 * `narrowgroups`. none = 0 restores the default. A daemon that predates it
 * drops the connection (SPAWND_STAGE_PROTOCOL).
 *
 * @param none 1 for no supplementary groups, 0 for the default
 * @return 0, -EINVAL (NULL o).
 */
SPAWND_EXPORT int spawnd_options_set_no_groups(spawnd_options *o, int none);

/*
 * Working directory, entered by the child as the target user. Default "/".
 *
 * @param cwd an absolute path (copied), or NULL for the default
 * @return 0, -EINVAL (relative or ""), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_set_cwd(spawnd_options *o, const char *cwd);

/*
 * File mode creation mask of the child. Default 022. Unless the target is
 * the caller's own uid, the daemon adds 022 (never group- or world-writable
 * files for another user).
 *
 * @param mask 0..0777
 * @return 0, -EINVAL.
 */
SPAWND_EXPORT int spawnd_options_set_umask(spawnd_options *o, unsigned mask);

/*
 * Give the child the caller's fd `fd` as fd number `child_fd`. The fd is
 * not taken, and it is used when the request is sent (spawnd_run(),
 * spawnd_start(), spawnd_spawn_async()): sent at once, or, if the request
 * has to wait in the send queue, duplicated (close-on-exec) and sent
 * later. Keep it open until that call returns; after that the caller may
 * close it. Child fds 0/1/2 not mapped get /dev/null.
 *
 * @param child_fd 0..1023, each at most once
 * @param fd       the caller's open fd (not owned)
 * @return 0, -EINVAL (bad number or child_fd mapped twice), -E2BIG (more
 *         than 64 fds), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_add_fd(spawnd_options *o, int child_fd, int fd);

/*
 * The child's environment. The daemon builds it from two lists, and the
 * setters are named after them:
 *  - spawnd_options_add_env(): NAME=VALUE the child must get. The policy
 *    must allow the name (a `setenv` rule) or the whole request fails
 *    (FAILED, stage PREPARE, EPERM, the name in the detail).
 *  - spawnd_options_add_inherited_env() / _add_inherited_envp(): variables
 *    offered from the caller's environment. The daemon filters them
 *    silently: only safe variables pass unless the policy says keepenv.
 * Entries are NAME=VALUE with a non-empty name, copied.
 *
 * @return 0, -EINVAL (not NAME=VALUE with a non-empty name), -E2BIG (over
 *         the daemon's cap), -ENOMEM.
 */
SPAWND_EXPORT int spawnd_options_add_env(spawnd_options *o, const char *entry);
SPAWND_EXPORT int spawnd_options_add_inherited_env(spawnd_options *o, const char *entry);

/*
 * Add every entry of envp (e.g. environ) to the inherited list. Entries
 * without '=' and repeated names (after the first) are skipped.
 *
 * @return 0, -EINVAL (NULL), -E2BIG, -ENOMEM (entries added so far stay).
 */
SPAWND_EXPORT int spawnd_options_add_inherited_envp(spawnd_options *o, char *const *envp);

/* Deprecated name of spawnd_options_add_env(); same behaviour. */
SPAWND_EXPORT int spawnd_options_setenv(spawnd_options *o, const char *entry)
	SPAWND_DEPRECATED("use spawnd_options_add_env");
/* Deprecated name of spawnd_options_add_inherited_envp(); same behaviour. */
SPAWND_EXPORT int spawnd_options_inherit_environ(spawnd_options *o, char *const *envp)
	SPAWND_DEPRECATED("use spawnd_options_add_inherited_envp");

/*
 * Shorthand for spawnd_options_set_on_disconnect(): keep != 0 is
 * SPAWND_ON_DISCONNECT_KEEP, 0 is SPAWND_ON_DISCONNECT_TERMINATE. The last
 * of the two calls wins.
 *
 * @return 0, -EINVAL.
 */
SPAWND_EXPORT int spawnd_options_set_keep(spawnd_options *o, int keep);

/*
 * What the daemon does with the child when this connection closes or the
 * daemon stops (see spawnd_on_disconnect). Default TERMINATE. A daemon too
 * old to know the choice refuses the request (FAILED, stage DECODE, EINVAL)
 * rather than apply another one.
 *
 * @return 0, -EINVAL (unknown value).
 */
SPAWND_EXPORT int spawnd_options_set_on_disconnect(spawnd_options *o, spawnd_on_disconnect how);

/*
 * Run-time limit of the child, enforced by the daemon, so it holds even
 * when this client is gone: SIGTERM when it expires, SIGKILL after the
 * kill grace; the exit report then has spawnd_result_get_timed_out() == 1.
 * This is not a wait: how long a call waits is its own timeout_usec.
 *
 * @param limit_usec SPAWND_NO_TIME_LIMIT for none (the default), else
 *                   1 us to 30 days, rounded up to whole milliseconds
 * @return 0, -EINVAL (0, which is neither a limit nor "none", or over 30
 *         days).
 */
SPAWND_EXPORT int spawnd_options_set_time_limit(spawnd_options *o, uint64_t limit_usec);

/*
 * Deprecated: the 0.1 spelling of spawnd_options_set_time_limit(), where 0
 * means "no limit" (and SPAWND_NO_TIME_LIMIT, being over 30 days, is
 * -EINVAL).
 *
 * @return 0, -EINVAL (over 30 days).
 */
SPAWND_EXPORT int spawnd_options_set_timeout(spawnd_options *o, uint64_t timeout_usec)
	SPAWND_DEPRECATED("use spawnd_options_set_time_limit");

/*
 * Time between SIGTERM and SIGKILL whenever the daemon terminates the child
 * (time limit, TERMINATE on disconnect, daemon stop). A child that the
 * daemon's stop terminates gets at most the default, so a stop is bounded.
 *
 * @param grace_usec 0 (SIGKILL right after SIGTERM) to
 *                   SPAWND_KILL_GRACE_MAX_USEC, rounded up to whole
 *                   milliseconds; SPAWND_KILL_GRACE_DEFAULT for the
 *                   daemon's default (5 s)
 * @return 0, -EINVAL (over the maximum).
 */
SPAWND_EXPORT int spawnd_options_set_kill_grace(spawnd_options *o, uint64_t grace_usec);

/*
 * Ask for the child's pidfd with the STARTED reply (see
 * spawnd_result_get_pidfd()). A pidfd lets a process that is not the
 * child's parent poll for its exit (it becomes readable when the child
 * exits). Signalling through it (pidfd_send_signal(2)) follows kill(2)
 * permissions, so a child running as another user must still be signalled
 * through the daemon (spawnd_signal()). Default 0.
 *
 * @param want 1 to ask for a pidfd, 0 not to
 * @return 0, -EINVAL.
 */
SPAWND_EXPORT int spawnd_options_set_want_pidfd(spawnd_options *o, int want);

/*
 * Ask the daemon for a terminal of the child's own (DESIGN.md section 10):
 * a new pseudo-terminal whose slave belongs to the target user (group tty,
 * mode 0620) and is the child's controlling terminal and each of its fds
 * 0, 1 and 2 that spawnd_options_add_fd() did not map (a request that maps
 * all three is refused with EINVAL). The master comes back with the
 * STARTED reply (spawnd_result_get_pty_master()); closing it hangs the
 * terminal up (the child's session gets SIGHUP). The child never gets the
 * caller's own terminal. Default: no terminal.
 *
 * @param want 1 to ask for a terminal, 0 not to
 * @param rows, cols initial window size in characters (0..65535; 0 =
 *                   unknown, as for TIOCSWINSZ)
 * @return 0, -EINVAL (NULL o, size over 65535).
 */
SPAWND_EXPORT int spawnd_options_set_pty(spawnd_options *o, int want, unsigned rows, unsigned cols);

/*
 * The window size in pixels that goes with spawnd_options_set_pty()
 * (ws_xpixel, ws_ypixel; default 0, 0).
 *
 * @return 0, -EINVAL (NULL o, over 65535).
 */
SPAWND_EXPORT int spawnd_options_set_pty_pixels(spawnd_options *o, unsigned xpixel,
						unsigned ypixel);

/* ---- running a program: the synchronous calls ---- */

/*
 * spawnd_run(), spawnd_start() and spawnd_wait_exit() share one contract.
 *
 * They return 0 only when the program reached the state asked for (exited,
 * or started). Everything else is a negative errno, and *ret is ALWAYS set,
 * so that the caller frees it on every path (spawnd_result_free(NULL) is
 * fine, and every getter accepts NULL):
 *
 *  return        *ret             meaning
 *  0             EXITED/STARTED   reached; the exit code or signal, the pid
 *  -errno        FAILED           the daemon refused the request or the
 *                                 child failed before the program ran, or
 *                                 the connection ended (stage PROTOCOL).
 *                                 -errno is -spawnd_result_get_errno(*ret):
 *                                 e.g. -EPERM at stage POLICY, -ENOENT at
 *                                 stage EXEC; the stage and the detail
 *                                 (a path, a variable, a rule) say more.
 *  -ETIMEDOUT,   PENDING/STARTED  the wait ended first. The spawn is still
 *  -EINTR                         tracked: wait again with
 *                                 spawnd_wait_exit(c, spawnd_result_get_id(
 *                                 *ret), ...), or signal it.
 *  -errno        NULL             nothing was sent, or the id is unknown:
 *                                 -EINVAL, -E2BIG, -ENOMEM, -EBADF (a bad fd
 *                                 in o), -ECONNRESET (the connection had
 *                                 already ended), -ESRCH (wait_exit only).
 *
 * A daemon's own ETIMEDOUT comes with a FAILED result, a wait's without.
 * The pidfd (want_pidfd) goes to the first result handed out that can
 * carry it. Callbacks of other spawns on this client run meanwhile.
 * A spawn whose wait ended early and that is never waited for again keeps
 * its final result in the client until spawnd_client_close().
 */

/*
 * Run a program and wait for its exit: spawnd_start() and
 * spawnd_wait_exit() in one call (like posix_spawn(3) plus waitpid(2)).
 * Success means the program ran and exited: read the exit with
 * spawnd_result_get_exit_code() (0..255) or, when a signal killed it,
 * spawnd_result_get_signal() (> 0). Whether the program succeeded is
 * its exit code, not this call's return.
 *
 * The caller does not read the child's pipes meanwhile: give it files or
 * fds that something else reads, or use the event-loop API.
 *
 * @param c            the client
 * @param o            the request (read now; not kept)
 * @param timeout_usec the longest wait: SPAWND_WAIT_INFINITE, or 0 to
 *                     poll once (see the contract above)
 * @param ret          always set: an EXITED result on 0, else see above;
 *                     owned by the caller (spawnd_result_free())
 * @return 0 (exited), or -errno as in the contract above.
 */
SPAWND_EXPORT int spawnd_run(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec,
			     spawnd_result **ret);

/*
 * Start a program and wait until it runs (its exec succeeded). Wait for
 * its exit later with spawnd_wait_exit(c, spawnd_result_get_id(*ret), ...).
 *
 * @param ret always set: a STARTED result (pid, id, pidfd) on 0, else see
 *            the contract above; owned by the caller
 * @return 0 (started), or -errno as in the contract above.
 */
SPAWND_EXPORT int spawnd_start(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec,
			       spawnd_result **ret);

/*
 * Wait for spawn `id` (from spawnd_start(), spawnd_run() that timed out,
 * spawnd_spawn_async() or spawnd_spawn()) to exit. A spawn started with a
 * callback can be waited for too, before its final callback has run.
 *
 * @param id  spawnd_result_get_id() or spawnd_spawn_async()'s ret_id
 * @param ret always set: an EXITED result on 0, else see the contract
 *            above; owned by the caller
 * @return 0 (exited), or -errno as in the contract above; -ESRCH (with
 *         *ret NULL) for an unknown id or one whose final result was
 *         already delivered to a callback or collected.
 */
SPAWND_EXPORT int spawnd_wait_exit(spawnd_client *c, uint64_t id, uint64_t timeout_usec,
				   spawnd_result **ret);

/* ---- the event-loop API ---- */

/*
 * Queue a spawn request and try to send it. Its replies reach cb from
 * spawnd_client_process() (or from any call that processes, such as
 * spawnd_wait_exit()); the callback's result state is where a refusal or
 * a failed exec shows (FAILED).
 *
 * With a callback, the library forgets the spawn after its final (FAILED or
 * EXITED) callback returns, unless spawnd_wait_exit() is waiting for it;
 * without one, the final result is kept until spawnd_wait_exit() collects
 * it or the client is closed.
 *
 * @param c        the client
 * @param o        the request (read now; not kept)
 * @param cb       the callback, or NULL
 * @param userdata passed to cb (not owned)
 * @param ret_id   receives the spawn's id (ids increase from 1 per
 *                 connection), or NULL
 * @return 0 (queued or sent), or -errno with nothing queued and *ret_id
 *         untouched: -EINVAL (NULL c/o, no argv), -E2BIG (the request does
 *         not fit one message), -ENOMEM, -EBADF (a bad fd in o),
 *         -ECONNRESET (the connection has ended), or another send error.
 */
SPAWND_EXPORT int spawnd_spawn_async(spawnd_client *c, const spawnd_options *o, spawnd_spawn_cb cb,
				     void *userdata, uint64_t *ret_id);

/*
 * Ask the daemon to send signo to the child of spawn `id`, or to its whole
 * process group (every child leads its own session and group). The daemon
 * accepts only children of this connection that are not yet reaped, so a
 * recycled pid is never hit; anything else is refused (ESRCH).
 * Asynchronous: the answer is not reported to a spawn callback; use
 * spawnd_signal() to wait for it.
 *
 * @param process_group 1: the child's process group; 0: the child only
 * @return 0 (queued or sent), or -errno: -EINVAL (bad signo), -ESRCH (not
 *         a spawn of this connection that may still run), -ECONNRESET, or
 *         another -errno.
 */
SPAWND_EXPORT int spawnd_signal_async(spawnd_client *c, uint64_t id, int signo, int process_group);

/*
 * Like spawnd_signal_async() but waits for the daemon's answer.
 *
 * @param timeout_usec SPAWND_WAIT_INFINITE, or the longest wait (0 polls
 *                     once: the answer is then rarely there yet)
 * @return 0 (the daemon sent the signal), or -errno: -ESRCH (not a running
 *         child of this connection: another connection's, already reaped,
 *         or never started), -EINVAL, -ETIMEDOUT, -EINTR, -ECONNRESET, or
 *         the kill(2) error the daemon got.
 */
SPAWND_EXPORT int spawnd_signal(spawnd_client *c, uint64_t id, int signo, int process_group,
				uint64_t timeout_usec);

/* ---- the 0.1 synchronous calls (deprecated, unchanged) ---- */

/*
 * Deprecated: use spawnd_start() (or spawnd_run()). Kept with its 0.1
 * behaviour, which has two failure channels: the return value for the
 * transport, and a FAILED result returned with 0 for a refusal or a failed
 * exec, so check spawnd_result_get_state(*ret) too. On an error the spawn
 * is abandoned: its late replies are dropped and a child that does start
 * runs until it exits or the connection closes (spawnd_start() keeps it
 * tracked instead).
 *
 * @param timeout_usec SPAWND_WAIT_INFINITE, or the longest wait (0 polls
 *                     once)
 * @param ret          on 0, a STARTED or FAILED result, owned by the
 *                     caller; untouched on error
 * @return 0 (answered: STARTED or FAILED), or -errno: the errors of
 *         spawnd_spawn_async(), -ETIMEDOUT, -EINTR, -ECONNRESET, -EBADMSG.
 */
SPAWND_EXPORT int spawnd_spawn(spawnd_client *c, const spawnd_options *o, uint64_t timeout_usec,
			       spawnd_result **ret)
	SPAWND_DEPRECATED("use spawnd_start or spawnd_run");

/*
 * Deprecated: use spawnd_wait_exit(). Kept with its 0.1 behaviour: returns
 * 0 with the final result, which is EXITED, or FAILED for a spawn from
 * spawnd_spawn_async() that never started (check the state).
 *
 * @param ret on 0, the EXITED or FAILED result, owned by the caller (with
 *            the pidfd if nobody took it before); untouched on error
 * @return 0, or -errno: -ETIMEDOUT, -EINTR (the spawn can still be waited
 *         for), -ESRCH (unknown id, or its final result was already
 *         delivered to a callback or collected), -ECONNRESET, -EINVAL.
 */
SPAWND_EXPORT int spawnd_wait(spawnd_client *c, uint64_t id, uint64_t timeout_usec,
			      spawnd_result **ret) SPAWND_DEPRECATED("use spawnd_wait_exit");

/* ---- results ---- */

/*
 * Free a result you own (from spawnd_run(), spawnd_start(),
 * spawnd_wait_exit(), spawnd_result_dup(), ...), closing its pidfd unless
 * it was taken.
 *
 * @param r the result, or NULL
 * @return NULL (cannot fail)
 */
SPAWND_EXPORT spawnd_result *spawnd_result_free(spawnd_result *r);

/*
 * Copy a result, e.g. inside a callback. The copy has its own duplicate of
 * the pidfd, if any.
 *
 * @return the copy, owned by the caller (spawnd_result_free()), or NULL
 *         with errno set (EINVAL for NULL r, ENOMEM, EMFILE).
 */
SPAWND_EXPORT spawnd_result *spawnd_result_dup(const spawnd_result *r);

/*
 * The child's pidfd, when the spawn asked for one (want_pidfd) and it
 * started. Borrowed: the result keeps owning it. For a result you own it
 * stays open until spawnd_result_free() or spawnd_result_take_pidfd(); in a
 * callback, until the spawn's final callback returns. Poll it for POLLIN:
 * readable once the child has exited (the daemon still reaps it: waitid(2)
 * on it fails with ECHILD).
 *
 * @return the fd (>= 0, close-on-exec), or -ENODATA (none: not asked for,
 *         not started, already taken, or the daemon could not provide
 *         one), -EINVAL.
 */
SPAWND_EXPORT int spawnd_result_get_pidfd(const spawnd_result *r);

/*
 * Take the pidfd out of a result you own: the caller closes it; the result
 * has none afterwards.
 *
 * @return the fd (>= 0), or -ENODATA, -EINVAL.
 */
SPAWND_EXPORT int spawnd_result_take_pidfd(spawnd_result *r);

/*
 * The master side of the child's terminal, when the spawn asked for one
 * (spawnd_options_set_pty()) and it started. Borrowed, exactly like the
 * pidfd: the result keeps owning it (spawnd_result_free() closes it), and
 * spawnd_result_take_pty_master() hands it over. It is close-on-exec and
 * blocking; read the child's output from it and write its input to it,
 * set the window size with ioctl(TIOCSWINSZ). A read fails with EIO once
 * every process has closed the slave. Closing the last copy of the master
 * hangs the terminal up: the child's session leader gets SIGHUP.
 *
 * @return the fd, -ENODATA (none: not asked for, not started, already
 *         taken, or the daemon could not provide one), or -EINVAL.
 */
SPAWND_EXPORT int spawnd_result_get_pty_master(const spawnd_result *r);

/*
 * Take the terminal's master out of a result you own: the caller closes it
 * (which hangs the terminal up); the result has none afterwards.
 *
 * @return the fd, -ENODATA, -EINVAL.
 */
SPAWND_EXPORT int spawnd_result_take_pty_master(spawnd_result *r);

/*
 * The getters below cannot fail: they accept NULL (and any state) and then
 * return the "none" value given.
 */

/* The spawn's id (as from spawnd_spawn_async()), or 0. */
SPAWND_EXPORT uint64_t spawnd_result_get_id(const spawnd_result *r);
/* The result's state; PENDING for NULL. */
SPAWND_EXPORT spawnd_state spawnd_result_get_state(const spawnd_result *r);
/* The child's pid (STARTED, EXITED), else -1. */
SPAWND_EXPORT pid_t spawnd_result_get_pid(const spawnd_result *r);
/* FAILED: the stage; else SPAWND_STAGE_UNKNOWN. */
SPAWND_EXPORT spawnd_stage spawnd_result_get_stage(const spawnd_result *r);
/* FAILED: the positive errno; else 0. */
SPAWND_EXPORT int spawnd_result_get_errno(const spawnd_result *r);
/* FAILED: what failed (a path, a variable, a rule) or ""; owned by r. Never NULL. */
SPAWND_EXPORT const char *spawnd_result_get_detail(const spawnd_result *r);
/*
 * EXITED: the exit code (0..255) when the child exited, or -1 when a signal
 * killed it (then spawnd_result_get_signal() > 0); -1 in any other state.
 */
SPAWND_EXPORT int spawnd_result_get_exit_code(const spawnd_result *r);
/* EXITED: the signal that killed the child, or 0 when it exited. */
SPAWND_EXPORT int spawnd_result_get_signal(const spawnd_result *r);
/* EXITED: 1 when a signal killed the child and a core was dumped, else 0. */
SPAWND_EXPORT int spawnd_result_get_core_dumped(const spawnd_result *r);
/* EXITED: 1 when the daemon's run-time limit (set_time_limit) fired, else 0. */
SPAWND_EXPORT int spawnd_result_get_timed_out(const spawnd_result *r);
/* EXITED: user CPU time of the child in microseconds (wait4 ru_utime), else 0. */
SPAWND_EXPORT uint64_t spawnd_result_get_user_cpu_usec(const spawnd_result *r);
/* EXITED: system CPU time in microseconds (ru_stime), else 0. */
SPAWND_EXPORT uint64_t spawnd_result_get_sys_cpu_usec(const spawnd_result *r);
/* EXITED: peak resident set size in KiB (ru_maxrss), else 0. */
SPAWND_EXPORT uint64_t spawnd_result_get_max_rss_kb(const spawnd_result *r);
/* EXITED: microseconds from the daemon's fork to its reap, else 0. */
SPAWND_EXPORT uint64_t spawnd_result_get_wall_usec(const spawnd_result *r);

/* Human-readable name of a stage ("chdir", "exec", ...); static, never NULL. */
SPAWND_EXPORT const char *spawnd_stage_to_string(spawnd_stage stage);

/* SPAWND_VERSION_HEX of the library actually loaded (spawnd/version.h). */
SPAWND_EXPORT unsigned spawnd_version(void);

#ifdef __cplusplus
}
#endif

#endif
