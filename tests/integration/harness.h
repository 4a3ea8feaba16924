/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the integration tests: start the real spawnd on a
 * private, socket-activated SOCK_SEQPACKET socket with a generated policy,
 * observe it through /proc, and read the reports of tests/helpers/spawn-probe.
 *
 * Every check test runs in its own forked process (CK_FORK), so the fixture
 * lives in a process-global `fx` that the checked setup fills and the
 * checked teardown empties. A failing assertion _exit()s the test process
 * without teardown: the daemon then gets SIGTERM through PR_SET_PDEATHSIG,
 * and the test's main() prints the daemon logs of failed runs (see
 * harness_main()).
 */
#ifndef SPAWND_IT_HARNESS_H
#define SPAWND_IT_HARNESS_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "spawnd/spawnd.h"

/* Paths of the built programs, from CMake generator expressions. */
#ifndef SPAWND_PATH
#error "SPAWND_PATH must be defined by the build"
#endif
#ifndef SPAWN_PROBE_PATH
#error "SPAWN_PROBE_PATH must be defined by the build"
#endif

#define USEC_PER_SEC 1000000ull
#define SPAWN_TIMEOUT_USEC (20 * USEC_PER_SEC)

/*
 * Lines of the generated policy (see harness.c, policy_lines[]). Tests name
 * the deciding rule as "CONFIG:LINE", so the numbers are part of the test.
 */
enum {
	RULE_ROOT_ANY = 2,	  /* permit root */
	RULE_NOBODY_PROBE = 3,	  /* permit nobody as nobody cmd PROBE */
	RULE_NOBODY_ID = 4,	  /* permit nobody as nobody cmd /usr/bin/id */
	RULE_ECHO_PERMIT = 5,	  /* permit nobody as nobody cmd /bin/echo args last-match */
	RULE_ECHO_DENY = 6,	  /* deny ... same: the last match wins -> deny */
	RULE_TRUE_DENY = 7,	  /* deny nobody as nobody cmd /bin/true */
	RULE_TRUE_PERMIT = 8,	  /* permit ... same: the last match wins -> permit */
	RULE_ROOT_FALSE_DENY = 9, /* deny root as nobody cmd /bin/false */
	RULE_KEEPENV_DAEMON = 10, /* permit keepenv root as daemon cmd PROBE */
	RULE_SETENV_BIN = 11,	  /* permit setenv {...} root as bin cmd PROBE */
};

struct fixture {
	char dir[PATH_MAX];    /* mkdtemp, 0755: nobody can reach the socket and probe */
	char sock[PATH_MAX];   /* the listening socket, 0666 */
	char conf[PATH_MAX];   /* the policy, root-owned 0644 */
	char log[PATH_MAX];    /* spawnd's stderr (audit lines, errors) */
	char probe[PATH_MAX];  /* a 0755 copy of spawn-probe inside dir */
	char notify[PATH_MAX]; /* sd_notify socket: spawnd reports READY=1 there */
	pid_t pid;	       /* spawnd, or 0 */
};

extern struct fixture fx;

/* ---- process-wide ---- */

/*
 * Common main(): exit 77 unless root, create the base temp dir, run the
 * suite, print the daemon logs of failed tests, clean up. Returns the exit
 * status for main().
 */
int harness_main(Suite *s);

/* ---- the daemon ---- */

/* Checked fixture: start spawnd with the default policy. */
void fx_setup(void);
/* Checked fixture: stop spawnd, assert it exited 0, remove the temp dir. */
void fx_teardown(void);

/* Start spawnd with the given policy text (NULL = the default policy). */
void fx_start(const char *policy);

/* How fx_start_with() runs the daemon; all zero = as fx_start() does. */
struct fx_daemon {
	/*
	 * Not root: switch to uid/gid with the groups initgroups() would give
	 * (getgrouplist() of uid's name and gid) right before exec, as a
	 * user-level daemon runs.
	 */
	bool as_user;
	uid_t uid;
	gid_t gid;
	/*
	 * Exec this argv prefix (NULL-terminated; wrapper[0] is the program)
	 * with spawnd's path and arguments appended, e.g. a helper that
	 * installs a seccomp filter and execs the rest. NULL: exec spawnd.
	 */
	const char *const *wrapper;
	/* More spawnd options (NULL-terminated, may be NULL). */
	const char *const *extra_args;
	/*
	 * The oom_score_adj the daemon starts with (written right before
	 * exec; 0 whatever the test runner has). Not 0 makes the daemon use
	 * the fork engine (daemon/main.c, engine_for_oom_score_adj()).
	 */
	int oom_score_adj;
};
void fx_start_with(const char *policy, const struct fx_daemon *d);
/* fx_start() with more spawnd options (NULL-terminated, may be NULL). */
void fx_start_args(const char *policy, const char *const *extra_args);
/* SIGTERM, wait (deadline), assert exit status 0. */
void fx_stop(void);
/* fx_stop() with another deadline (fx_stop() gives the daemon 15 s). */
void fx_stop_within(unsigned timeout_ms);

/* Number of open fds of pid (from /proc/PID/fd), or -1. */
int proc_fd_count(pid_t pid);
/*
 * Readlink targets of pid's open fds, one malloc'd NUL-separated list in
 * *ret (entries "N=TARGET"); returns the count or -1.
 */
int proc_fd_targets(pid_t pid, char ***ret);
void strv_free(char **v);
/* Poll until pid's fd count equals want or timeout_ms passes; returns the last count. */
int proc_wait_fd_count(pid_t pid, int want, unsigned timeout_ms);
/* pid's fd count once it has not changed for 10 polls 10 ms apart (an idle daemon). */
int proc_settled_fd_count(pid_t pid);
/*
 * Read /proc/PID/NAME into buf (NUL-terminated, at most size - 1 bytes);
 * returns the length, or -errno (-EIO when empty).
 */
ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size);
/* State, parent and task flags (PF_*) of pid from /proc/PID/stat; ret_flags may be NULL. */
int proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid, unsigned *ret_flags);
/* The daemon's (fx.pid) soft RLIMIT_NOFILE, by prlimit(2). */
unsigned long daemon_nofile_soft(void);
/* How many of the daemon's (fx.pid) fds are numbered min or above. */
int daemon_fds_from(int min);
/*
 * Where the daemon moves the pidfds of long-lived children once many are
 * alive (PIDFD_HIGH_BASE, daemon/spawn_clone.c), which turns on the
 * shared-table start.
 */
#define DAEMON_PIDFD_HIGH_BASE 4096
/*
 * Whether the daemon (fx.pid) has room to do that: its soft RLIMIT_NOFILE
 * is at least twice DAEMON_PIDFD_HIGH_BASE (spawn_pidfd_raise()).
 */
bool daemon_raises_pidfds(void);
/* Children of ppid in /proc: total, and how many are zombies. */
int proc_children(pid_t ppid, int *ret_zombies);
/* Poll until ppid has at most `want` children (0 zombies) or timeout; returns the count. */
int proc_wait_children(pid_t ppid, int want, unsigned timeout_ms);
/* True when pid exists and is not a zombie. */
bool proc_alive(pid_t pid);
/* Poll until pid is no longer proc_alive() (a zombie counts as gone); false on timeout. */
bool proc_wait_gone(pid_t pid, unsigned timeout_ms);
/*
 * True when pid is alive and no signal is pending for it (SigPnd and ShdPnd
 * of /proc/PID/status): nothing was sent to it that it has not handled. A
 * signal sent earlier cannot hide: one that is fatal leaves the process a
 * zombie, or gone, or exiting with the signal still pending in ShdPnd
 * (kill(2) and pidfd_send_signal(2) queue on the whole process); only a
 * signal the process ignores is dropped unseen. Proof of absence without a
 * sleep: call it after a reply from the daemon that comes after whatever
 * would have sent the signal.
 */
bool proc_untouched(pid_t pid);
/* VmRSS in KiB, or -1. */
long proc_rss_kb(pid_t pid);
/* Threads of pid (the Threads: line of /proc/PID/status); fails the test when unreadable. */
int proc_threads(pid_t pid);
/* Threads of pid whose name (/proc/PID/task/TID/comm) is comm, e.g. "spawnd-resolver". */
int proc_threads_named(pid_t pid, const char *comm);
/* The name the daemon gives its resolver threads (daemon/resolver.c). */
#define RESOLVER_THREAD_NAME "spawnd-resolver"
/*
 * Children of ppid that are not zombies and whose image (/proc/PID/exe) is
 * still exe, e.g. SPAWND_PATH: children that have not exec'd yet. Reads
 * only ppid's children (/proc/PPID/task/TID/children) where the kernel
 * lists them, so that polling it is cheap on a machine with many processes.
 */
int proc_children_pre_exec(pid_t ppid, const char *exe);

/* ---- tests/helpers/fuse-hang: a FUSE file system that never answers ---- */

/*
 * Create the directory mnt, mount fuse-hang (at path helper) on it and wait
 * for its "ready" line; fails the test otherwise. The server's stderr goes
 * to the file log (created or truncated), or stays ours when log is NULL.
 * It gets SIGTERM when the calling thread dies (PR_SET_PDEATHSIG), which
 * frees every child stuck in the mount. Returns its pid.
 */
pid_t fuse_hang_start(const char *helper, const char *mnt, const char *log);
/* The same with a mode option of fuse-hang ("--flush": only FLUSH hangs), or NULL. */
pid_t fuse_hang_start_mode(const char *helper, const char *mode, const char *mnt, const char *log);
/*
 * SIGTERM the server (SIGKILL after 10 s) and reap it: every request it
 * holds fails, and the mount stays, dead, until it is unmounted.
 */
void fuse_hang_stop(pid_t pid);
/* Requests fuse-hang reported in its log as left unanswered (0 without a log). */
int fuse_hang_unanswered(const char *log);
/* An errno a stuck chdir or exec may end with once the FUSE server is gone. */
bool fuse_errno_is_dead(int e);
/*
 * tests/helpers/fuse-files (at path helper): create the directory mnt,
 * mount it there serving files (a NULL-terminated list of "NAME=SOURCE"
 * arguments) and wait for it to be ready; fails the test otherwise. Its
 * stdout goes to /dev/null, its stderr to the file log (created or
 * truncated). It gets SIGTERM when the calling thread dies. Returns its pid
 * (fuse_hang_stop() stops it as well).
 */
pid_t fuse_files_start(const char *helper, const char *mnt, const char *log,
		       const char *const files[]);
/*
 * harness_main() for suites that mount fuse-hang (helper): as root, exits 77
 * (skipped) unless /dev/fuse and the helper are usable.
 */
int harness_main_fuse(Suite *s, const char *helper);

/* ---- reports (key=value lines) ---- */

struct report {
	char *text; /* owned; lines "key=value" */
	size_t len;
};

/* Value of key, as a malloc-free pointer into a static per-call buffer copy, or NULL. */
const char *report_get(const struct report *r, const char *key);
/* report_get() that fails the test when the key is missing. */
const char *report_need(const struct report *r, const char *key);
long long report_num(const struct report *r, const char *key, int base);
void report_done(struct report *r);
/* Iterate the lines: *pos starts at 0; returns the next line or NULL at the end. */
const char *report_next(const struct report *r, size_t *pos);
/* Print the report to stderr (context for a failing assertion). */
void report_dump(const struct report *r);
/* Read fd until EOF (or timeout_ms without progress) into r. Returns 0 or -errno. */
int report_read_fd(int fd, struct report *r, unsigned timeout_ms);
/* Read a whole file into r. Returns 0 or -errno. */
int report_read_file(const char *path, struct report *r);

/* Sorted, de-duplicated comma list of numbers ("1,3,2,3" -> "1,2,3"). */
void numlist_normalize(const char *in, char *out, size_t size);

/* ---- users ---- */

struct user_ids {
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[PATH_MAX];
	char shell[PATH_MAX];
	char groups[1024]; /* normalized getgrouplist() */
};

/* Look up a user in passwd; fails the test when missing. */
void lookup_user(const char *name, struct user_ids *ret);

/*
 * Fork a process that drops to uid/gid (no supplementary groups) and runs
 * fn(arg, out_fd); the child exits with fn's return value. Everything fn
 * writes to out_fd is returned in *ret_out; the child's exit status (or
 * 128+signal) is returned. fn must not use ck_assert.
 */
typedef int (*as_user_fn)(void *arg, int out_fd);
int run_as_user(uid_t uid, gid_t gid, as_user_fn fn, void *arg, struct report *ret_out);

/* Write a formatted key=value line to fd (best effort). */
void out_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- spawning through libspawnd ---- */

/* Connect to fx.sock; fails the test on error. */
spawnd_client *client_open(void);
/* New options with user (NULL = library default) and argv. */
spawnd_options *opts_new(const char *user, const char *const *argv);

/* Outcome of one spawn, through to its exit. */
struct run {
	uint64_t id;
	spawnd_state state; /* FAILED or EXITED */
	spawnd_stage stage; /* FAILED */
	int err;	    /* FAILED: positive errno */
	char detail[512];   /* FAILED */
	pid_t pid;	    /* EXITED */
	int exit_code;	    /* EXITED: 0..255, or -1 when killed */
	int sig;	    /* EXITED: the killing signal, or 0 */
	int timed_out;
	uint64_t wall_usec;
	struct report out; /* the child's stdout, when captured */
	char out_link[64]; /* "pipe:[INODE]" of the capture pipe, as the child sees it */
};

/* One-line description of a run for assertion messages (static buffer). */
const char *run_describe(const struct run *r);

#define ASSERT_FAILED(r, st, e)                                                                    \
	ck_assert_msg((r)->state == SPAWND_STATE_FAILED && (r)->stage == (st) && (r)->err == (e),  \
		      "expected Failed{%s, %s}, got %s", spawnd_stage_to_string(st), strerror(e),  \
		      run_describe(r))
#define ASSERT_EXITED(r, code)                                                                     \
	ck_assert_msg((r)->state == SPAWND_STATE_EXITED && (r)->exit_code == (code) &&             \
			      (r)->sig == 0,                                                       \
		      "expected Exited{code %d}, got %s", (code), run_describe(r))
#define ASSERT_KILLED(r, signo)                                                                    \
	ck_assert_msg((r)->state == SPAWND_STATE_EXITED && (r)->sig == (signo),                    \
		      "expected Exited{signal %d}, got %s", (signo), run_describe(r))
#define ASSERT_STREQ_REPORT(rep, key, want)                                                        \
	do {                                                                                       \
		const char *_v = report_get((rep), (key));                                         \
		if (!_v || strcmp(_v, (want)) != 0)                                                \
			report_dump(rep);                                                          \
		ck_assert_msg(_v &&strcmp(_v, (want)) == 0, "%s: expected '%s', got '%s'", (key),  \
			      (want), _v ? _v : "(missing)");                                      \
	} while (0)

/*
 * Spawn o (with the child's stdout on a fresh pipe when capture), read
 * that pipe to EOF, then wait for the exit. Transport errors fail the test.
 */
void run_spawn(spawnd_client *c, spawnd_options *o, bool capture, struct run *ret);
void run_done(struct run *r);
/* Spawn /bin/true as nobody on a fresh connection, stdout captured: the daemon serves. */
void assert_daemon_serves(void);

/* The latest reply to a spawnd_spawn_async() request, as spawn_reply_cb() records it. */
struct spawn_reply {
	spawnd_state state;    /* SPAWND_STATE_PENDING (0) until a reply */
	spawnd_stage stage;    /* FAILED */
	int err;	       /* FAILED: positive errno */
	char detail[PATH_MAX]; /* FAILED */
};

/* spawnd_spawn_cb for spawnd_spawn_async(): userdata is a zeroed struct spawn_reply. */
void spawn_reply_cb(spawnd_client *c, const spawnd_result *r, void *userdata);
/* Run c's loop until none of the n replies is still PENDING, or timeout_ms passes. */
void spawn_reply_pump(spawnd_client *c, struct spawn_reply *p, size_t n, unsigned timeout_ms);

/* ---- misc ---- */

/* snprintf that abort()s on truncation (paths and keys must fit). */
void xsnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

uint64_t now_usec(void);
/* Sleep ms milliseconds, resumed after signals. */
void harness_sleep_ms(unsigned ms);
/* Write text to path with mode (root-owned); fails the test on error. */
void write_file(const char *path, const char *text, mode_t mode);
/* Wait for pid with a deadline; returns the raw status, or -1 on timeout (pid then still running).
 */
int wait_pid_deadline(pid_t pid, unsigned timeout_ms);

#endif
