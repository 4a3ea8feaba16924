/* SPDX-License-Identifier: MIT */
/*
 * The one raw protocol client of the tests (check_hostile, check_lifecycle,
 * tests/hardening/check_*.c): it builds and sends wire messages byte for
 * byte (so it can send what libspawnd never would), reply expectations, and
 * observations of the daemon from outside (/proc: fds, RSS, CPU time; its
 * log; its limits).
 *
 * Two kinds of helpers: the ck_* ones and everything taking no `what`
 * argument run in the check test process and fail the test with ck_assert;
 * the rc_* ones return -errno and are safe in forked client processes
 * (which must never call ck_assert: they are not the test process).
 */
#ifndef SPAWND_TESTS_RAWCLIENT_H
#define SPAWND_TESTS_RAWCLIENT_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "spawnd.pb-c.h"
#include "wire.h"

/* ---- raw connections (no ck_assert: usable in forked clients) ---- */

/* A blocking SOCK_SEQPACKET connection to path; the fd or -errno. */
int rc_connect(const char *path);
/* sendmsg one datagram with fds (MSG_NOSIGNAL). 0 or -errno. */
int rc_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);
/* rc_send() with an SCM_CREDENTIALS message first, claiming cred (NULL: none). */
struct ucred;
int rc_send_cred(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
		 const struct ucred *cred);
/*
 * Receive one reply within timeout_ms: 1 with *ret set (free with
 * wire_reply_free), 0 on EOF or ECONNRESET, -ETIMEDOUT, -EBADMSG for an
 * undecodable reply, or another -errno. An fd riding on the reply is
 * returned in *ret_fd when ret_fd is not NULL (else closed); -EBADF if none.
 */
int rc_recv(int sock, Spawnd__V1__Reply **ret, int *ret_fd, unsigned timeout_ms);

/* ---- building requests ---- */

/*
 * A Request under construction. Every byte string is copied, so callers
 * can pass temporaries; arrays grow without limit (the caps are the
 * daemon's business, and some tests exceed them on purpose).
 */
struct msg {
	Spawnd__V1__Request req;
	Spawnd__V1__Spawn spawn;
	Spawnd__V1__Signal signal;
	ProtobufCBinaryData *argv, *groups, *env_inherit, *env_set;
	size_t cap_argv, cap_groups, cap_env_inherit, cap_env_set;
	Spawnd__V1__FdMap *maps;
	Spawnd__V1__FdMap **map_ptrs;
	size_t cap_maps;
	uint8_t *extra; /* raw bytes appended after packing (unknown/duplicate fields) */
	size_t n_extra;
};

/* A Spawn of argv (NULL-terminated, may be NULL for argc 0) as user (NULL = no user field). */
struct msg *msg_spawn(uint64_t id, const char *user, const char *const *argv);
/* A Signal request. */
struct msg *msg_signal(uint64_t id, uint64_t spawn_id, int signo, bool process_group);
/* A Request with a version and an id but no body (set one by hand, or send it without). */
struct msg *msg_request(uint64_t id);
/* Append one argv entry / env entry / supplementary group (raw bytes, may hold NULs). */
void msg_arg(struct msg *m, const void *data, size_t len);
void msg_env(struct msg *m, bool explicit_set, const void *data, size_t len);
void msg_group(struct msg *m, const void *data, size_t len);
/* Set a bytes field (user, group, cwd) from raw bytes. */
void msg_set_user(struct msg *m, const void *data, size_t len);
void msg_set_group(struct msg *m, const void *data, size_t len);
void msg_set_cwd(struct msg *m, const char *cwd);
void msg_set_cwd_bytes(struct msg *m, const void *data, size_t len);
/* Map received fd `index` to child fd `target`. */
void msg_map(struct msg *m, unsigned index, unsigned target);
/* Append raw bytes after the packed message (protobuf concatenation = merge). */
void msg_append_raw(struct msg *m, const void *data, size_t len);
/* Pack without any size cap; malloc'd. */
uint8_t *msg_pack(struct msg *m, size_t *ret_len);
/* Pack only the Spawn body (for hand-assembled Requests). */
uint8_t *msg_pack_spawn(struct msg *m, size_t *ret_len);
void msg_free(struct msg *m);

/* Protobuf encoding pieces for hand-made messages. */
size_t pb_varint(uint8_t *out, uint64_t v);
/* tag (field, wire type) + varint value */
size_t pb_field_varint(uint8_t *out, unsigned field, uint64_t v);
/* tag (field, length-delimited) + length + bytes */
size_t pb_field_bytes(uint8_t *out, unsigned field, const void *data, size_t len);

/* ---- ck helpers (test process only) ---- */

/* Connect to fx.sock; fails the test on error. */
int ck_connect(void);
/* Send m with fds; fails the test if the kernel refuses. */
void ck_send_msg(int sock, struct msg *m, const int *fds, size_t n_fds);
void ck_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);
/* ck_send_msg() with SCM_CREDENTIALS claiming cred (rc_send_cred()). */
void ck_send_msg_cred(int sock, struct msg *m, const int *fds, size_t n_fds,
		      const struct ucred *cred);
/* One reply within timeout_ms; fails on EOF/timeout. Free with wire_reply_free. */
Spawnd__V1__Reply *ck_reply(int sock, unsigned timeout_ms, const char *what);
/* ck_reply() that also fails when an fd rides on the reply (none was asked for). */
Spawnd__V1__Reply *ck_reply_nofd(int sock, unsigned timeout_ms, const char *what);
/* "Failed{stage, err, 'detail'} id N" and the like, for messages (static buffer). */
const char *reply_describe(const Spawnd__V1__Reply *r);
/* Failed{stage, err} for id, and the connection stays usable. */
void ck_expect_failed(int sock, uint64_t id, int stage, int err, const char *what);
/* Failed{PROTOCOL} with id 0, then EOF: the daemon dropped the connection. */
void ck_expect_drop(int sock, const char *what);
/* EOF without any reply (a zero-length datagram, the connection refused silently). */
void ck_expect_eof(int sock, const char *what);
/* Started for id; returns the pid. */
pid_t ck_expect_started(int sock, uint64_t id, const char *what);
/* Exited for id with exit code code (signal 0), or killed by signo when code < 0. */
void ck_expect_exited(int sock, uint64_t id, int code, int signo, const char *what);
/* No reply at all within timeout_ms (the connection is not served yet). */
void ck_expect_silence(int sock, unsigned timeout_ms, const char *what);

/* A pipe whose write end rides on a message; EOF on the read end proves
 * every copy the daemon got was closed. */
struct witness {
	int rd, wr;
};
void witness_open(struct witness *w);
/* Close our write end and wait for EOF (the daemon's copies are gone). */
void witness_assert_closed(struct witness *w, const char *what);

/* ---- the daemon, observed ---- */

/* utime + stime in clock ticks, or -1. */
long long proc_cpu_ticks(pid_t pid);

/* The daemon's fd count returns to want within 5 s. */
void assert_fds_at(int want, const char *when);
/* No child of the daemon left (zombie or not) within timeout_ms. */
void assert_no_children(unsigned timeout_ms, const char *when);
/* Both: no child left within 10 s, then the fd count back at fds. */
void assert_daemon_idle(int fds, const char *when);

/* Occurrences of needle in the daemon's log. */
int log_count(const char *needle);
/* Wait until the log has more than `before` occurrences of needle; true if it did. */
bool log_wait_count(const char *needle, int before, unsigned timeout_ms);

/*
 * Append lines to the policy and reload it (SIGHUP); waits for the
 * daemon's "Reloaded the policy" line. The rules keep the default
 * policy's lines and numbers (harness.h RULE_*); new ones follow.
 */
void fx_append_policy(const char *lines);

/* prlimit() on the daemon: set its soft limit of resource (hard unchanged); returns the old one. */
rlim_t daemon_set_soft_limit(int resource, rlim_t soft);

/*
 * Fork a client process running as uid/gid (no supplementary groups; the
 * uid need not exist in passwd) that runs fn(arg, ctl). ctl is a socket
 * to the test: fn reports on it (rc_report) and may wait on it (rc_wait_go).
 * Returns the pid; *ret_ctl is the test's end.
 */
typedef int (*client_fn)(void *arg, int ctl);
pid_t fork_client(uid_t uid, gid_t gid, client_fn fn, void *arg, int *ret_ctl);
/* In a client: send one line to the test. */
void rc_report(int ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In a client: block until the test says go (one byte) or closes; returns the byte or -1. */
int rc_wait_go(int ctl);
/* In the test: read one line from a client (timeout_ms), fail the test on EOF/timeout. */
void ck_client_line(int ctl, char *buf, size_t size, unsigned timeout_ms, const char *what);
/* In the test: tell a client to go on. */
void ck_client_go(int ctl, char c);
/* In the test: wait for the client to exit 0. */
void ck_client_done(pid_t pid, int ctl, const char *what);

#endif
