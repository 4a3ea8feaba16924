/* SPDX-License-Identifier: MIT */
/*
 * A hostile raw client against the real spawnd: the cases of
 * ../shared/HOSTILE.md that tests/integration/check_hostile.c and
 * check_daemon.c do not already cover (docs/security.md maps every case
 * to its test). Each test asserts the exact reply (or the drop), and the
 * fixture's teardown then asserts that the daemon's fd count is back at
 * its baseline, that it has no child left and that it still serves a
 * normal request.
 *
 * Already covered elsewhere, so not repeated here: garbage, oversize and
 * fd-flood datagrams, unknown fields, wrong versions, SCM_CREDENTIALS,
 * argc 0, NUL in argv/cwd/env_inherit, relative paths, malformed and
 * duplicate env entries, bad fd maps, the per-uid connection cap
 * (check_hostile); odd user names, exec ENOENT/EACCES/ENOEXEC, fd swaps,
 * daemon fds in the child, the env allowlist (check_daemon).
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

/* The daemon's fd count when idle, taken in the setup. */
static int baseline_fds;

static void
abuse_setup(void)
{
	fx_start(NULL);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
	ck_assert_int_gt(baseline_fds, 0);
}

static void
abuse_teardown(void)
{
	assert_fds_at(baseline_fds, "after the test");
	assert_no_children(15000, "after the test");
	assert_daemon_serves();
	assert_fds_at(baseline_fds, "after a normal request");
	fx_teardown();
}

/* ---- helpers ---- */

/*
 * Run m (which must not map any fd yet) with a fresh pipe as the child's
 * stdout: Started, the child's output to EOF, Exited{0}.
 */
static void
probe_run(int sock, struct msg *m, struct report *out, const char *what)
{
	uint64_t id = m->req.id;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	msg_map(m, 0, 1);
	ck_send_msg(sock, m, &p[1], 1);
	(void)close(p[1]);
	(void)ck_expect_started(sock, id, what);
	ck_assert_msg(report_read_fd(p[0], out, 20000) == 0, "%s: reading the child's output",
		      what);
	(void)close(p[0]);
	ck_expect_exited(sock, id, 0, 0, what);
}

/* "pipe:[INODE]" of fd, as /proc/PID/fd shows it. */
static void
pipe_link(int fd, char *buf, size_t size)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	xsnprintf(buf, size, "pipe:[%lu]", (unsigned long)st.st_ino);
}

/* Copy a file (an executable to make busy). */
static void
copy_exec(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	(void)close(in);
	ck_assert_int_eq(close(out), 0);
}

/* The audit log has a line with ` id=ID target="TARGET" path=` (permit/started). */
static bool
audit_has(uint64_t id, const char *target)
{
	char needle[256];

	xsnprintf(needle, sizeof(needle), " id=%llu target=\"%s\" path=", (unsigned long long)id,
		  target);
	return log_count(needle) > 0;
}

/* ---- A1: truncated and empty datagrams ---- */

/*
 * Every strict prefix of a valid Spawn request, each on its own
 * connection with a witness fd riding along. A protobuf prefix is either
 * malformed (a field cut in half, or the required id missing) -> dropped
 * with Failed{PROTOCOL}, or, for the one prefix that ends right before the
 * body, a complete Request without a body -> Failed{DECODE, EINVAL} on a
 * connection that stays. No prefix may ever start anything, and every fd
 * must be closed.
 */
START_TEST(test_truncated_requests)
{
	const char *argv[] = {"/bin/true", "arg", NULL};
	struct msg *m = msg_spawn(4242, "nobody", argv), *head = msg_spawn(4242, NULL, NULL);
	size_t len, head_len;
	uint8_t *buf, *hbuf;

	msg_set_cwd(m, "/");
	msg_env(m, false, "TERM=dumb", 9);
	msg_map(m, 0, 1);
	buf = msg_pack(m, &len);
	/* The same envelope without a body: where the body starts. */
	head->req.body_case = SPAWND__V1__REQUEST__BODY__NOT_SET;
	hbuf = msg_pack(head, &head_len);
	ck_assert_uint_lt(head_len, len);
	ck_assert_int_eq(memcmp(buf, hbuf, head_len), 0);

	for (size_t cut = 1; cut < len; cut++) {
		struct witness w;
		char what[64];
		int sock = ck_connect();

		xsnprintf(what, sizeof(what), "prefix of %zu/%zu bytes", cut, len);
		witness_open(&w);
		ck_send_raw(sock, buf, cut, &w.wr, 1);
		if (cut == head_len) {
			ck_expect_failed(sock, 4242, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, what);
			/* Still usable: the same envelope with its body is served. */
			ck_send_raw(sock, buf, len, &w.wr, 1);
			(void)ck_expect_started(sock, 4242, what);
			ck_expect_exited(sock, 4242, 0, 0, what);
		} else
			ck_expect_drop(sock, what);
		witness_assert_closed(&w, what);
		(void)close(sock);
	}
	free(buf);
	free(hbuf);
	msg_free(m);
	msg_free(head);
}
END_TEST

/*
 * A zero-length datagram is how SOCK_SEQPACKET reports EOF, so the daemon
 * cannot tell it from a hangup: it closes without a reply. With an fd on
 * it, it is an empty (malformed) message: dropped, the fd closed.
 */
START_TEST(test_empty_datagrams)
{
	struct witness w;
	int sock = ck_connect();

	ck_send_raw(sock, "", 0, NULL, 0);
	ck_expect_eof(sock, "empty datagram");
	(void)close(sock);

	sock = ck_connect();
	witness_open(&w);
	ck_send_raw(sock, "", 0, &w.wr, 1);
	ck_expect_drop(sock, "empty datagram with an fd");
	witness_assert_closed(&w, "empty datagram with an fd");
	(void)close(sock);
}
END_TEST

/* ---- A4/A5: duplicate, missing and odd fields ---- */

/* Version + id, then raw body bytes: a Request assembled by hand. */
static size_t
envelope(uint8_t *out, uint64_t id)
{
	size_t n = pb_field_varint(out, 1, SPAWND_PROTOCOL_VERSION);

	return n + pb_field_varint(out + n, 2, id);
}

/*
 * A field repeated where the schema has one: protobuf's rule is that the
 * last one wins, and the daemon must act on exactly what it decoded: the
 * policy, the audit log and the child all see the same user. A body
 * (oneof) given twice is replaced whole by protobuf-c, never merged into
 * a request that neither occurrence asked for.
 */
START_TEST(test_duplicate_fields)
{
	const char *argv[] = {fx.probe, NULL};
	uint8_t out[4096], *sb;
	size_t n, sl;
	int sock = ck_connect();

	/* user twice inside the Spawn: nobody then root, and root then nobody. */
	for (int order = 0; order < 2; order++) {
		const char *first = order ? "root" : "nobody", *last = order ? "nobody" : "root";
		uint64_t id = 10 + (uint64_t)order;
		struct msg *m = msg_spawn(id, first, argv);
		struct report rep;
		int p[2];

		msg_map(m, 0, 1);
		sb = msg_pack_spawn(m, &sl);
		ck_assert_uint_lt(sl + 64, sizeof(out));
		memcpy(out, sb, sl);
		sl += pb_field_bytes(out + sl, 2, last, strlen(last));
		free(sb);
		sb = malloc(sl);
		ck_assert_ptr_nonnull(sb);
		memcpy(sb, out, sl);
		n = envelope(out, id);
		n += pb_field_bytes(out + n, 3, sb, sl);
		free(sb);

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		ck_send_raw(sock, out, n, &p[1], 1);
		(void)close(p[1]);
		(void)ck_expect_started(sock, id, "duplicate user");
		ck_assert_int_eq(report_read_fd(p[0], &rep, 20000), 0);
		(void)close(p[0]);
		ck_expect_exited(sock, id, 0, 0, "duplicate user");
		ck_assert_int_eq(report_num(&rep, "uid", 10), order ? 65534 : 0);
		ck_assert_msg(audit_has(id, last) && !audit_has(id, first),
			      "the audit log does not name the user the child ran as (%s)", last);
		report_done(&rep);
		msg_free(m);
	}

	/* Two Spawn bodies: the second (no argv) replaces the first whole. */
	{
		const char *true_argv[] = {"/bin/true", NULL};
		struct msg *a = msg_spawn(0, "nobody", true_argv), *b = msg_spawn(0, "root", NULL);

		n = envelope(out, 20);
		sb = msg_pack_spawn(a, &sl);
		n += pb_field_bytes(out + n, 3, sb, sl);
		free(sb);
		sb = msg_pack_spawn(b, &sl);
		n += pb_field_bytes(out + n, 3, sb, sl);
		free(sb);
		ck_send_raw(sock, out, n, NULL, 0);
		ck_expect_failed(sock, 20, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
				 "two Spawn bodies");
		msg_free(a);
		msg_free(b);
	}

	/* Spawn then Signal: a Signal it is (nothing starts); Signal then Spawn: a Spawn. */
	{
		const char *true_argv[] = {"/bin/true", NULL};
		struct msg *a = msg_spawn(0, "nobody", true_argv);
		uint8_t sig[32];
		size_t k = pb_field_varint(sig, 1, 777);

		k += pb_field_varint(sig + k, 2, SIGKILL);
		sb = msg_pack_spawn(a, &sl);

		n = envelope(out, 21);
		n += pb_field_bytes(out + n, 3, sb, sl);
		n += pb_field_bytes(out + n, 4, sig, k);
		ck_send_raw(sock, out, n, NULL, 0);
		ck_expect_failed(sock, 21, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "Spawn, Signal");

		n = envelope(out, 22);
		n += pb_field_bytes(out + n, 4, sig, k);
		n += pb_field_bytes(out + n, 3, sb, sl);
		ck_send_raw(sock, out, n, NULL, 0);
		(void)ck_expect_started(sock, 22, "Signal, Spawn");
		ck_expect_exited(sock, 22, 0, 0, "Signal, Spawn");

		/* id and version twice: the last of each counts. */
		n = pb_field_varint(out, 1, SPAWND_PROTOCOL_VERSION + 1);
		n += pb_field_varint(out + n, 1, SPAWND_PROTOCOL_VERSION);
		n += pb_field_varint(out + n, 2, 23);
		n += pb_field_varint(out + n, 2, 24);
		n += pb_field_bytes(out + n, 3, sb, sl);
		ck_send_raw(sock, out, n, NULL, 0);
		(void)ck_expect_started(sock, 24, "version 2,1 and id 23,24");
		ck_expect_exited(sock, 24, 0, 0, "version 2,1 and id 23,24");

		n = pb_field_varint(out, 1, SPAWND_PROTOCOL_VERSION);
		n += pb_field_varint(out + n, 1, SPAWND_PROTOCOL_VERSION + 1);
		n += pb_field_varint(out + n, 2, 25);
		n += pb_field_bytes(out + n, 3, sb, sl);
		ck_send_raw(sock, out, n, NULL, 0);
		ck_expect_drop(sock, "version 1,2");
		free(sb);
		msg_free(a);
	}
	(void)close(sock);
}
END_TEST

/*
 * Required fields missing (proto2 `required`): undecodable, dropped, the fd
 * closed. Present but empty security fields: refused, never defaulted.
 */
START_TEST(test_missing_and_empty_fields)
{
	const char *argv[] = {"/bin/true", NULL};
	uint8_t out[1024], body[512], map[32];
	size_t n, b, k;

	/* Request without version / without id. */
	for (int which = 0; which < 2; which++) {
		struct msg *m = msg_spawn(0, "nobody", argv);
		struct witness w;
		uint8_t *sb;
		size_t sl;
		int sock = ck_connect();

		msg_map(m, 0, 1);
		sb = msg_pack_spawn(m, &sl);
		n = which ? pb_field_varint(out, 1, SPAWND_PROTOCOL_VERSION)
			  : pb_field_varint(out, 2, 31);
		n += pb_field_bytes(out + n, 3, sb, sl);
		free(sb);
		msg_free(m);
		witness_open(&w);
		ck_send_raw(sock, out, n, &w.wr, 1);
		ck_expect_drop(sock, which ? "no id" : "no version");
		witness_assert_closed(&w, "missing envelope field");
		(void)close(sock);
	}

	/* FdMap without target / without index. */
	for (int which = 0; which < 2; which++) {
		struct witness w;
		int sock = ck_connect();

		k = pb_field_varint(map, which ? 2 : 1, which ? 1 : 0);
		b = pb_field_bytes(body, 1, "/bin/true", 9);
		b += pb_field_bytes(body + b, 2, "nobody", 6);
		b += pb_field_bytes(body + b, 7, map, k);
		n = envelope(out, 32);
		n += pb_field_bytes(out + n, 3, body, b);
		witness_open(&w);
		ck_send_raw(sock, out, n, &w.wr, 1);
		ck_expect_drop(sock, which ? "FdMap without index" : "FdMap without target");
		witness_assert_closed(&w, "FdMap missing a field");
		(void)close(sock);
	}

	/* Signal without signo / without spawn_id. */
	for (int which = 0; which < 2; which++) {
		int sock = ck_connect();

		k = which ? pb_field_varint(map, 2, SIGTERM) : pb_field_varint(map, 1, 1);
		n = envelope(out, 33);
		n += pb_field_bytes(out + n, 4, map, k);
		ck_send_raw(sock, out, n, NULL, 0);
		ck_expect_drop(sock, which ? "Signal without spawn_id" : "Signal without signo");
		(void)close(sock);
	}

	/* Decodable, but empty where it matters: DECODE/EINVAL, the connection stays. */
	{
		int sock = ck_connect();
		uint64_t id = 40;
		struct msg *m;

		n = envelope(out, ++id);
		n += pb_field_bytes(out + n, 3, "", 0);
		ck_send_raw(sock, out, n, NULL, 0);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "empty Spawn");

		m = msg_spawn(++id, "", argv);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "user \"\"");

		m = msg_spawn(++id, "nobody", argv);
		msg_set_group(m, "", 0);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "group \"\"");

		m = msg_spawn(++id, "nobody", argv);
		msg_group(m, "nogroup", 7);
		msg_group(m, "", 0);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
				 "supplementary group \"\"");

		m = msg_spawn(++id, "nobody", argv);
		msg_set_cwd(m, "");
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "cwd \"\"");

		/* NUL in the fields check_hostile does not cover. */
		m = msg_spawn(++id, NULL, argv);
		msg_set_user(m, "nobody\0root", 11);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in user");

		m = msg_spawn(++id, "nobody", argv);
		msg_set_group(m, "nogroup\0root", 12);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in group");

		m = msg_spawn(++id, "nobody", argv);
		msg_group(m, "nogroup\0root", 12);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
				 "NUL in a supplementary group");

		m = msg_spawn(++id, "nobody", argv);
		msg_env(m, true, "TERM=x\0LD_PRELOAD=/evil.so", 26);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
				 "NUL in an explicit env entry");

		/* The connection survived all of it. */
		m = msg_spawn(++id, "nobody", argv);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		(void)ck_expect_started(sock, id, "valid request after the refusals");
		ck_expect_exited(sock, id, 0, 0, "valid request after the refusals");
		(void)close(sock);
	}
}
END_TEST

/* ---- A3/D17: amplification ---- */

#define EMPTY_ARGV_FIT 90000 /* 2 bytes each on the wire: 180 KB, fits one datagram */

/*
 * Cheap on the wire, expensive decoded. Over the decoder's heap budget:
 * Failed{DECODE, E2BIG} with id 0 (the id could not be read) and the
 * connection stays (docs/protocol.md); over a count cap after decoding:
 * Failed{DECODE, E2BIG} with the id; over the datagram cap: dropped
 * (MSG_TRUNC). The daemon's memory comes back each time.
 */
START_TEST(test_amplification)
{
	const char *argv[] = {"/bin/true", NULL};
	int sock = ck_connect(), sndbuf = 8 * 1024 * 1024;
	long base_rss = proc_rss_kb(fx.pid), rss;
	struct witness w;
	struct msg *m;
	char entry[32];

	/* 90,000 empty argv entries: ~1.4 MB of decoded arrays from 180 KB. */
	m = msg_spawn(50, "nobody", argv);
	for (int i = 0; i < EMPTY_ARGV_FIT; i++)
		msg_arg(m, "", 0);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 0, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG, "90,000 empty argv");

	/* 30,000 fd maps of one fd (6 bytes each): over the heap budget too. */
	witness_open(&w);
	m = msg_spawn(51, "nobody", argv);
	for (int i = 0; i < 30000; i++)
		msg_map(m, 0, 1);
	ck_send_msg(sock, m, &w.wr, 1);
	msg_free(m);
	ck_expect_failed(sock, 0, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG, "30,000 fd maps");
	witness_assert_closed(&w, "30,000 fd maps");

	/* Decodable, but over the count caps: refused with the id. */
	witness_open(&w);
	m = msg_spawn(52, "nobody", argv);
	for (unsigned i = 0; i <= SPAWND_MAX_FDS; i++)
		msg_map(m, 0, i);
	ck_send_msg(sock, m, &w.wr, 1);
	msg_free(m);
	ck_expect_failed(sock, 52, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG, "65 fd maps");
	witness_assert_closed(&w, "65 fd maps");

	m = msg_spawn(53, "nobody", argv);
	for (unsigned i = 0; i < SPAWND_MAX_ARGV; i++)
		msg_arg(m, "a", 1);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 53, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG, "8193 argv");

	for (int list = 0; list < 2; list++) {
		m = msg_spawn(54 + (uint64_t)list, "nobody", argv);
		for (unsigned i = 0; i <= SPAWND_MAX_ENV; i++) {
			xsnprintf(entry, sizeof(entry), "V%u=1", i);
			msg_env(m, list == 1, entry, strlen(entry));
		}
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, 54 + (uint64_t)list, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG,
				 "4097 env entries");
	}

	/* The connection is still served after all of it. */
	m = msg_spawn(56, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 56, "after the amplification attempts");
	ck_expect_exited(sock, 56, 0, 0, "after the amplification attempts");
	(void)close(sock);

	/* 1e6 empty argv and 1e5 env entries (2 MB, 1.1 MB): over the datagram cap. */
	for (int which = 0; which < 2; which++) {
		sock = ck_connect();
		/* The kernel caps one SEQPACKET send at SO_SNDBUF: root may raise it. */
		ck_assert_int_eq(
			setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)), 0);
		m = msg_spawn(57, "nobody", argv);
		for (int i = 0; i < (which ? 100000 : 1000000); i++) {
			if (which) {
				xsnprintf(entry, sizeof(entry), "V%d=1", i);
				msg_env(m, false, entry, strlen(entry));
			} else
				msg_arg(m, "", 0);
		}
		witness_open(&w);
		ck_send_msg(sock, m, &w.wr, 1);
		msg_free(m);
		ck_expect_drop(sock, which ? "1e5 env entries" : "1e6 empty argv");
		witness_assert_closed(&w, "oversized amplification");
		(void)close(sock);
	}

	assert_fds_at(baseline_fds, "after the amplification attempts");
	rss = proc_rss_kb(fx.pid);
#ifndef SPAWND_IT_SANITIZED
	/* The decoder's budget is 1 MiB per message and nothing is kept. */
	ck_assert_msg(rss - base_rss < 4096, "daemon RSS grew from %ld to %ld KiB", base_rss, rss);
#else
	/* ASan's quarantine keeps freed memory resident; only judge RSS without it. */
	(void)rss;
	(void)base_rss;
#endif
}
END_TEST

/* ---- E19: split and foreign control messages ---- */

/*
 * Two SCM_RIGHTS headers in one sendmsg, plus a control message of another
 * level (which the kernel never delivers on AF_UNIX): the daemon must see
 * both fds, in order, and map them exactly.
 */
START_TEST(test_split_cmsgs)
{
	char out[PATH_MAX];
	const char *argv[] = {fx.probe, "--out", out, "--write-fd", "1", "one", "--write-fd", "3",
			      "three", NULL};
	union {
		struct cmsghdr align;
		char buf[2 * CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = {0};
	struct iovec iov;
	struct cmsghdr *cm;
	struct msg *m;
	struct report rep;
	uint8_t *buf;
	size_t len;
	int a[2], b[2], ttl = 64, sock = ck_connect();
	char la[64], lb[64], text[16];

	xsnprintf(out, sizeof(out), "%s/split-report", fx.dir);
	ck_assert_int_eq(pipe2(a, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(b, O_CLOEXEC), 0);
	pipe_link(a[1], la, sizeof(la));
	pipe_link(b[1], lb, sizeof(lb));
	m = msg_spawn(60, "root", argv);
	msg_map(m, 0, 1);
	msg_map(m, 1, 3);
	buf = msg_pack(m, &len);
	msg_free(m);

	memset(&control, 0, sizeof(control));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&mh);
	ck_assert_ptr_nonnull(cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &a[1], sizeof(int));
	cm = CMSG_NXTHDR(&mh, cm);
	ck_assert_ptr_nonnull(cm);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_TTL;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &ttl, sizeof(int));
	cm = CMSG_NXTHDR(&mh, cm);
	ck_assert_ptr_nonnull(cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &b[1], sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
	free(buf);
	(void)close(a[1]);
	(void)close(b[1]);

	(void)ck_expect_started(sock, 60, "split SCM_RIGHTS");
	ck_expect_exited(sock, 60, 0, 0, "split SCM_RIGHTS");
	ck_assert_int_eq(report_read_file(out, &rep), 0);
	ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,3");
	ASSERT_STREQ_REPORT(&rep, "fd.1", la);
	ASSERT_STREQ_REPORT(&rep, "fd.3", lb);
	report_done(&rep);
	/* Each pipe carried its own text and then EOF: no copy left anywhere. */
	ck_assert_int_eq(read(a[0], text, sizeof(text)), 3);
	ck_assert_int_eq(memcmp(text, "one", 3), 0);
	ck_assert_int_eq(read(a[0], text, sizeof(text)), 0);
	ck_assert_int_eq(read(b[0], text, sizeof(text)), 5);
	ck_assert_int_eq(memcmp(text, "three", 5), 0);
	ck_assert_int_eq(read(b[0], text, sizeof(text)), 0);
	(void)close(a[0]);
	(void)close(b[0]);
	(void)close(sock);
}
END_TEST

/* ---- B6/B7: odd user and group specs, exactly ---- */

struct spec_case {
	const char *spec;
	int err;	     /* as the target user */
	int group_err;	     /* as the primary or a supplementary group of nobody */
};

/*
 * Only a plain name or strict decimal names an account: sign, spaces,
 * radix prefixes, leading zeros, case, trailing newlines never parse as
 * root, and (uid_t)-1 or anything over it is invalid rather than wrapped.
 * Every refusal happens before fork (stage PREPARE) with its exact reason.
 */
START_TEST(test_odd_user_and_group_specs)
{
	static const struct spec_case cases[] = {
		{"0x0", ESRCH, ESRCH},
		{"+0", ESRCH, ESRCH},
		{" 0", ESRCH, ESRCH},
		{"0 ", ESRCH, ESRCH},
		{"\t0", ESRCH, ESRCH},
		{"00", EINVAL, EINVAL},
		{"-0", ESRCH, ESRCH},
		{"-1", ESRCH, ESRCH},
		{"1e3", ESRCH, ESRCH},
		{"4294967295", EINVAL, EINVAL},	     /* (uid_t)-1 */
		{"4294967296", EINVAL, EINVAL},	     /* wraps to 0 in 32 bits */
		{"99999999999999999999", EINVAL, EINVAL}, /* over 64 bits */
		{"4294967294", ESRCH, EPERM},	     /* valid number, no such account */
		{"2147483648", ESRCH, EPERM},	     /* > INT_MAX, no such account */
		{"root\n", ESRCH, ESRCH},
		{"ROOT", ESRCH, ESRCH},
		{"root ", ESRCH, ESRCH},
	};
	const char *argv[] = {"/bin/true", NULL};
	int sock = ck_connect();
	uint64_t id = 100;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].spec;
		struct msg *m;

		m = msg_spawn(++id, s, argv);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_PREPARE, cases[i].err, s);

		m = msg_spawn(++id, "nobody", argv);
		msg_set_group(m, s, strlen(s));
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_PREPARE, cases[i].group_err, s);

		m = msg_spawn(++id, "nobody", argv);
		msg_group(m, s, strlen(s));
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_PREPARE, cases[i].group_err, s);
	}
	/* The strict forms still work: "65534" is nobody, by number. */
	{
		struct msg *m = msg_spawn(++id, "65534", (const char *const[]){fx.probe, NULL});
		struct report rep;

		probe_run(sock, m, &rep, "user 65534");
		msg_free(m);
		ck_assert_int_eq(report_num(&rep, "uid", 10), 65534);
		report_done(&rep);
	}
	(void)close(sock);
}
END_TEST

/* ---- C12: argv bytes reach the child unchanged, no shell ---- */

/* Read fd to EOF into buf; returns the length. */
static size_t
read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		ck_assert_msg(poll(&p, 1, 20000) == 1, "no output within 20 s");
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(n, 0);
		if (n == 0)
			return len;
		len += (size_t)n;
		ck_assert_uint_lt(len, size);
	}
}

/*
 * Quotes, backslashes, shell syntax, option look-alikes, empty strings and
 * invalid UTF-8 reach the program byte for byte: printf '%s\0' prints each
 * argument as it got it, NUL-terminated.
 */
START_TEST(test_argv_bytes_unchanged)
{
	static const char *const args[] = {
		"a\\b", "\\",    "'single'", "\"double\"", "--bind", "/ /",  "$(id)",
		"`id`",  "; id",  "| id",     "*",	    "~",      "",     " ",
		"-c",	 "\xff\xfe\x80", "%s%n", "$HOME", "\\x41", "a=b",  NULL,
	};
	struct msg *m = msg_spawn(200, "nobody", (const char *const[]){"/usr/bin/printf", "%s\\0", NULL});
	char out[4096], want[4096];
	size_t len, want_len = 0;
	int sock = ck_connect(), p[2];

	for (int i = 0; args[i]; i++) {
		size_t l = strlen(args[i]);

		msg_arg(m, args[i], l);
		memcpy(want + want_len, args[i], l + 1);
		want_len += l + 1;
	}
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	msg_map(m, 0, 1);
	ck_send_msg(sock, m, &p[1], 1);
	msg_free(m);
	(void)close(p[1]);
	(void)ck_expect_started(sock, 200, "odd argv");
	len = read_all(p[0], out, sizeof(out));
	(void)close(p[0]);
	ck_expect_exited(sock, 200, 0, 0, "odd argv");
	ck_assert_uint_eq(len, want_len);
	ck_assert_msg(memcmp(out, want, len) == 0, "the arguments arrived changed");
	(void)close(sock);
}
END_TEST

/* ---- C15/G35: exec errors ETXTBSY and E2BIG, and the caps before fork ---- */

START_TEST(test_exec_etxtbsy)
{
	char busy[PATH_MAX];
	struct msg *m;
	int sock = ck_connect(), wfd;

	xsnprintf(busy, sizeof(busy), "%s/busy-true", fx.dir);
	copy_exec("/bin/true", busy);
	/* Open for writing: execve must refuse it with ETXTBSY. */
	wfd = open(busy, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	m = msg_spawn(300, "root", (const char *const[]){busy, NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 300, SPAWND__V1__STAGE__STAGE_EXEC, ETXTBSY, "busy executable");
	(void)close(wfd);

	m = msg_spawn(301, "root", (const char *const[]){busy, NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 301, "no longer busy");
	ck_expect_exited(sock, 301, 0, 0, "no longer busy");
	(void)close(sock);
}
END_TEST

/*
 * E2BIG. The daemon's own caps refuse before fork (Failed{DECODE, E2BIG}):
 * a single string the kernel could not take (execve counts its NUL toward
 * MAX_ARG_STRLEN, 128 KiB), and argv + envp over SPAWND_MAX_EXEC_BYTES.
 * What the kernel refuses below those caps (here: a child whose stack
 * limit shrinks the argument space to 128 KiB) comes back from the child
 * as Failed{EXEC, E2BIG}.
 */
START_TEST(test_exec_e2big)
{
	const size_t longest = SPAWND_MAX_STRING_BYTES - 1;
	char *big = malloc(SPAWND_MAX_STRING_BYTES);
	const char *argv[] = {"/bin/true", NULL};
	int sock = ck_connect();
	struct msg *m;
	char entry[32];
	rlim_t old;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', SPAWND_MAX_STRING_BYTES);

	/* One byte more than execve takes: refused before fork. */
	m = msg_spawn(310, "root", argv);
	msg_arg(m, big, SPAWND_MAX_STRING_BYTES);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 310, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG,
			 "an argument of 128 KiB (plus its NUL)");

	/* The longest argument execve takes runs. */
	m = msg_spawn(311, "root", argv);
	msg_arg(m, big, longest);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 311, "an argument of 128 KiB - 1");
	ck_expect_exited(sock, 311, 0, 0, "an argument of 128 KiB - 1");

	/*
	 * 12,000 entries of 13 bytes: 180 KB on the wire (under the datagram
	 * cap) and under the decoder's heap budget, but 264 KB as execve
	 * counts them (strings, NULs, pointers): over SPAWND_MAX_EXEC_BYTES.
	 * 11,000 of them (242 KB) are under it and run.
	 */
	for (int over = 1; over >= 0; over--) {
		unsigned n = over ? 12000 : 11000;
		uint64_t id = over ? 312 : 313;

		m = msg_spawn(id, "root", NULL);
		msg_arg(m, "/bin/true", 9);
		for (unsigned i = 1; i < n; i++) {
			if (i < SPAWND_MAX_ARGV)
				msg_arg(m, big, 13);
			else {
				xsnprintf(entry, sizeof(entry), "I%05u=xxxxxx", i);
				msg_env(m, false, entry, strlen(entry));
			}
		}
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		if (over)
			ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, E2BIG,
					 "argv + envp over SPAWND_MAX_EXEC_BYTES");
		else {
			(void)ck_expect_started(sock, id, "argv + envp just under the cap");
			ck_expect_exited(sock, id, 0, 0, "argv + envp just under the cap");
		}
	}

	/* A small stack limit (inherited) leaves the kernel's minimum of 128 KiB. */
	old = daemon_set_soft_limit(RLIMIT_STACK, 64 * 1024);
	m = msg_spawn(314, "root", argv);
	msg_arg(m, big, 80 * 1024);
	msg_arg(m, big, 80 * 1024);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 314, SPAWND__V1__STAGE__STAGE_EXEC, E2BIG,
			 "160 KiB of arguments under a 64 KiB stack limit");
	(void)daemon_set_soft_limit(RLIMIT_STACK, old);
	free(big);
	(void)close(sock);
}
END_TEST

/* ---- F27: a credential change that fails never execs ---- */

/*
 * With RLIMIT_NPROC 0, switching to a user with processes marks the child
 * (Linux >= 3.1 lets set*uid() succeed and fails the execve with EAGAIN):
 * the client gets Failed{EXEC, EAGAIN}, the program never runs as root or
 * anyone. A root target is exempt and still runs.
 */
/* A child of the test that switches to uid/gid and sleeps until released. */
static pid_t
hold_process_as(uid_t uid, gid_t gid)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)close(p[0]);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(1);
		if (write(p[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			(void)pause();
	}
	(void)close(p[1]);
	/* One byte once the child runs as uid; EOF if it failed to switch. */
	ck_assert_msg(read(p[0], &c, 1) == 1, "the holder process could not switch to uid %u",
		      (unsigned)uid);
	(void)close(p[0]);
	return pid;
}

static void
release_process(pid_t pid)
{
	int status;

	(void)kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

START_TEST(test_credential_failure_nproc)
{
	char marker[PATH_MAX];
	const char *argv[] = {fx.probe, "--out", marker, NULL};
	const struct passwd *pw = getpwnam("nobody");
	int sock = ck_connect();
	struct msg *m;
	pid_t holder;
	rlim_t old;

	ck_assert_msg(pw != NULL, "no user nobody");

	xsnprintf(marker, sizeof(marker), "%s/nproc-ran", fx.dir);
	ck_assert_int_eq(chmod(fx.dir, 0777), 0);
	/*
	 * The kernel compares nobody's process count *before* the switch with
	 * the limit (set_user() flags PF_NPROC_EXCEEDED only when it is already
	 * above it) and fails the execve() then.  On a machine where nobody runs
	 * nothing, 0 > 0 is false and the exec would succeed; so nobody gets
	 * one process of ours for the duration.
	 */
	holder = hold_process_as(pw->pw_uid, pw->pw_gid);
	old = daemon_set_soft_limit(RLIMIT_NPROC, 0);
	m = msg_spawn(400, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 400, SPAWND__V1__STAGE__STAGE_EXEC, EAGAIN,
			 "nobody under RLIMIT_NPROC 0");
	ck_assert_msg(access(marker, F_OK) < 0, "the program ran although exec failed");

	m = msg_spawn(401, "root", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 401, "root under RLIMIT_NPROC 0");
	ck_expect_exited(sock, 401, 0, 0, "root under RLIMIT_NPROC 0");
	ck_assert_int_eq(access(marker, F_OK), 0);
	(void)daemon_set_soft_limit(RLIMIT_NPROC, old);
	release_process(holder);
	ck_assert_int_eq(chmod(fx.dir, 0755), 0);
	(void)close(sock);
}
END_TEST

/* ---- F28/G33: capabilities, and the daemon's own credentials ---- */

/* The value of "Name:" in a /proc/PID/status text (tabs trimmed), or "". */
static const char *
status_field(const char *text, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	buf[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1;

			v += strspn(v, " \t");
			xsnprintf(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
			break;
		}
	return buf;
}

/* /proc/self/status of `cat` run as user through the daemon. */
static void
child_status(int sock, uint64_t id, const char *user, char *out, size_t size)
{
	struct msg *m = msg_spawn(id, user, (const char *const[]){"/bin/cat", "/proc/self/status",
								  NULL});
	size_t len;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	msg_map(m, 0, 1);
	ck_send_msg(sock, m, &p[1], 1);
	msg_free(m);
	(void)close(p[1]);
	(void)ck_expect_started(sock, id, user);
	len = read_all(p[0], out, size - 1);
	out[len] = '\0';
	(void)close(p[0]);
	ck_expect_exited(sock, id, 0, 0, user);
}

/*
 * A child of a non-root target has no capabilities at all (the uid change
 * clears them; nothing is kept or ambient). What the unit's sandbox gives
 * the daemon (bounding set, no_new_privs, seccomp) the children inherit,
 * as docs/security.md says: they must equal the daemon's.
 */
START_TEST(test_capabilities)
{
	static const char *const empty_caps[] = {"CapInh", "CapPrm", "CapEff", "CapAmb", NULL};
	static const char *const inherited[] = {"CapBnd", "NoNewPrivs", "Seccomp", NULL};
	static char child[16384], daemon_status[16384];
	char path[64], a[128], b[128];
	struct report rep;
	int sock = ck_connect();

	xsnprintf(path, sizeof(path), "/proc/%d/status", (int)fx.pid);
	ck_assert_int_eq(report_read_file(path, &rep), 0);
	for (size_t i = 0; i < rep.len; i++)
		daemon_status[i] = rep.text[i] ? rep.text[i] : '\n';
	daemon_status[rep.len] = '\0';
	report_done(&rep);

	child_status(sock, 800, "nobody", child, sizeof(child));
	for (int i = 0; empty_caps[i]; i++)
		ck_assert_msg(strcmp(status_field(child, empty_caps[i], a, sizeof(a)),
				     "0000000000000000") == 0,
			      "%s of a child of nobody: '%s'", empty_caps[i], a);
	for (int i = 0; inherited[i]; i++)
		ck_assert_msg(strcmp(status_field(child, inherited[i], a, sizeof(a)),
				     status_field(daemon_status, inherited[i], b, sizeof(b))) == 0 &&
				      a[0],
			      "%s: child '%s', daemon '%s'", inherited[i], a, b);

	/* root keeps root's capabilities: the daemon's. */
	child_status(sock, 801, "root", child, sizeof(child));
	ck_assert_str_eq(status_field(child, "CapEff", a, sizeof(a)),
			 status_field(daemon_status, "CapEff", b, sizeof(b)));
	(void)close(sock);
}
END_TEST

/*
 * The vfork engine switches credentials in a child that shares the
 * daemon's memory: with libc's set*id() that would broadcast the change to
 * every daemon thread (glibc's setxid signal). After spawns as nobody and
 * daemon, every thread of the daemon is still root with root's groups.
 */
START_TEST(test_daemon_keeps_its_credentials)
{
	int sock = ck_connect();
	char dir[64], want_groups[256] = "";
	struct report rep;
	DIR *d;
	struct dirent *de;
	int threads = 0;

	xsnprintf(dir, sizeof(dir), "/proc/%d/status", (int)fx.pid);
	ck_assert_int_eq(report_read_file(dir, &rep), 0);
	{
		char text[8192];
		size_t n = rep.len < sizeof(text) - 1 ? rep.len : sizeof(text) - 1;

		for (size_t i = 0; i < n; i++)
			text[i] = rep.text[i] ? rep.text[i] : '\n';
		text[n] = '\0';
		(void)status_field(text, "Groups", want_groups, sizeof(want_groups));
	}
	report_done(&rep);

	for (uint64_t id = 900; id < 940; id++) {
		struct msg *m = msg_spawn(id, id % 2 ? "nobody" : "daemon",
					  (const char *const[]){"/bin/true", NULL});

		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		(void)ck_expect_started(sock, id, "spawn as another user");
		ck_expect_exited(sock, id, 0, 0, "spawn as another user");
	}

	xsnprintf(dir, sizeof(dir), "/proc/%d/task", (int)fx.pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[128], buf[256];
		char text[8192];

		if (de->d_name[0] == '.')
			continue;
		xsnprintf(path, sizeof(path), "%s/%s/status", dir, de->d_name);
		if (report_read_file(path, &rep) < 0)
			continue; /* the thread just ended */
		for (size_t i = 0; i < rep.len && i < sizeof(text) - 1; i++)
			text[i] = rep.text[i] ? rep.text[i] : '\n';
		text[rep.len < sizeof(text) - 1 ? rep.len : sizeof(text) - 1] = '\0';
		report_done(&rep);
		threads++;
		ck_assert_msg(strcmp(status_field(text, "Uid", buf, sizeof(buf)), "0\t0\t0\t0") == 0,
			      "daemon thread %s: Uid '%s'", de->d_name, buf);
		ck_assert_msg(strcmp(status_field(text, "Gid", buf, sizeof(buf)), "0\t0\t0\t0") == 0,
			      "daemon thread %s: Gid '%s'", de->d_name, buf);
		ck_assert_msg(strcmp(status_field(text, "Groups", buf, sizeof(buf)),
				     want_groups) == 0,
			      "daemon thread %s: Groups '%s', expected '%s'", de->d_name, buf,
			      want_groups);
	}
	(void)closedir(d);
	ck_assert_int_ge(threads, 1);
	(void)close(sock);
}
END_TEST

/* ---- D16/D17: dangerous environment variables ---- */

/* Every HOSTILE.md D16 name, and the prefix families' variants. */
static const char *const dangerous[] = {
	"LD_PRELOAD",	 "LD_LIBRARY_PATH", "LD_AUDIT",	     "LD_DEBUG",      "LD_BIND_NOW",
	"GCONV_PATH",	 "GLIBC_TUNABLES",  "LOCPATH",	     "NLSPATH",	      "HOSTALIASES",
	"RES_OPTIONS",	 "IFS",		    "ENV",	     "BASH_ENV",      "BASH_FUNC_ls%%",
	"BASH_FUNC_x",	 "SHELLOPTS",	    "PS4",	     "PYTHONPATH",    "PYTHONSTARTUP",
	"PYTHONHOME",	 "PYTHONINSPECT",   "PERL5LIB",	     "PERL5OPT",      "PERL5DB",
	"RUBYOPT",	 "NODE_OPTIONS",    NULL,
};

/*
 * Inherited: silently dropped, with the default rule and with keepenv.
 * Explicit: the whole request is refused, naming the variable. A name in
 * both lists resolves deterministically: the explicit value wins.
 */
START_TEST(test_dangerous_env)
{
	const char *argv[] = {fx.probe, NULL};
	int sock = ck_connect();
	uint64_t id = 500;
	char entry[128], key[128];

	/* nobody: the default rule; daemon: keepenv (harness.h RULE_KEEPENV_DAEMON). */
	for (int keep = 0; keep < 2; keep++) {
		struct msg *m = msg_spawn(++id, keep ? "daemon" : "nobody", argv);
		struct report rep;

		for (int i = 0; dangerous[i]; i++) {
			xsnprintf(entry, sizeof(entry), "%s=/nonexistent/evil", dangerous[i]);
			msg_env(m, false, entry, strlen(entry));
		}
		msg_env(m, false, "TERM=inherited", 14);
		probe_run(sock, m, &rep, keep ? "inherited, keepenv" : "inherited");
		msg_free(m);
		for (int i = 0; dangerous[i]; i++) {
			xsnprintf(key, sizeof(key), "env.%s", dangerous[i]);
			if (report_get(&rep, key))
				report_dump(&rep);
			ck_assert_msg(!report_get(&rep, key), "%s reached the child%s", dangerous[i],
				      keep ? " (keepenv)" : "");
		}
		ASSERT_STREQ_REPORT(&rep, "env.TERM", "inherited");
		report_done(&rep);
	}

	for (int i = 0; dangerous[i]; i++) {
		struct msg *m = msg_spawn(++id, "nobody", argv);
		Spawnd__V1__Reply *r;

		xsnprintf(entry, sizeof(entry), "%s=x", dangerous[i]);
		msg_env(m, true, entry, strlen(entry));
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		r = ck_reply(sock, 10000, dangerous[i]);
		ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_FAILED && r->id == id &&
				      r->failed->stage == SPAWND__V1__STAGE__STAGE_PREPARE &&
				      r->failed->errnum == EPERM,
			      "explicit %s was not refused with PREPARE/EPERM", dangerous[i]);
		ck_assert_msg(strstr(r->failed->detail, dangerous[i]),
			      "the refusal of %s does not name it: '%s'", dangerous[i],
			      r->failed->detail);
		wire_reply_free(r);
	}

	/* FOO inherited and set (keepenv allows both): the explicit value, once. */
	{
		struct msg *m = msg_spawn(++id, "daemon", argv);
		struct report rep;
		size_t pos = 0;
		const char *line;
		int seen = 0;

		msg_env(m, false, "SPAWND_T_DUP=inherited", 22);
		msg_env(m, true, "SPAWND_T_DUP=explicit", 21);
		probe_run(sock, m, &rep, "one name in both lists");
		msg_free(m);
		while ((line = report_next(&rep, &pos)))
			seen += strncmp(line, "env.SPAWND_T_DUP=", 17) == 0;
		ck_assert_int_eq(seen, 1);
		ASSERT_STREQ_REPORT(&rep, "env.SPAWND_T_DUP", "explicit");
		report_done(&rep);
	}
	(void)close(sock);
}
END_TEST

/* ---- E22: fd number collisions, the errpipe's number, the highest target ---- */

#define N_LOW 64 /* SPAWND_MAX_FDS fds onto targets 0..63, where the daemon's own fds live */

/*
 * 64 pipes mapped onto child fds 0..63 in reverse (each client fd lands on
 * a number another one had, and on the numbers where the daemon holds its
 * received fds, its errpipe and pidfds): the child sees each pipe exactly
 * where it was mapped, none close-on-exec. The same plan with a failing
 * exec must still report through the errpipe (which the child puts above
 * the highest target). Target 1023, the highest allowed, works both ways.
 */
START_TEST(test_fd_collisions)
{
	char out[PATH_MAX], links[N_LOW][64], want[N_LOW * 4];
	const char *probe_argv[] = {fx.probe, "--out", out, NULL};
	const char *missing_argv[] = {"/nonexistent/spawnd-test", NULL};
	int wr[N_LOW], rd[N_LOW], sock = ck_connect();
	uint64_t id = 600;
	size_t off = 0;

	xsnprintf(out, sizeof(out), "%s/collide-report", fx.dir);
	for (int i = 0; i < N_LOW; i++) {
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		rd[i] = p[0];
		wr[i] = p[1];
		pipe_link(wr[i], links[i], sizeof(links[i]));
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%d", i ? "," : "", i);
	}

	for (int fail = 0; fail < 2; fail++) {
		struct msg *m = msg_spawn(++id, "root", fail ? missing_argv : probe_argv);

		for (int i = 0; i < N_LOW; i++)
			msg_map(m, (unsigned)i, (unsigned)(N_LOW - 1 - i));
		ck_send_msg(sock, m, wr, N_LOW);
		msg_free(m);
		if (fail) {
			ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_EXEC, ENOENT,
					 "64 low targets, exec fails");
		} else {
			struct report rep;

			(void)ck_expect_started(sock, id, "64 low targets");
			ck_expect_exited(sock, id, 0, 0, "64 low targets");
			ck_assert_int_eq(report_read_file(out, &rep), 0);
			ASSERT_STREQ_REPORT(&rep, "fds", want);
			for (int i = 0; i < N_LOW; i++) {
				char key[32];

				xsnprintf(key, sizeof(key), "fd.%d", N_LOW - 1 - i);
				ASSERT_STREQ_REPORT(&rep, key, links[i]);
				xsnprintf(key, sizeof(key), "fd.%d.cloexec", N_LOW - 1 - i);
				ASSERT_STREQ_REPORT(&rep, key, "0");
			}
			report_done(&rep);
			ck_assert_int_eq(unlink(out), 0);
		}
	}
	for (int i = 0; i < N_LOW; i++)
		(void)close(wr[i]);
	/* EOF on every pipe: neither the daemon nor a child kept a copy. */
	for (int i = 0; i < N_LOW; i++) {
		char c;

		ck_assert_msg(read(rd[i], &c, 1) == 0, "pipe %d still has a writer", i);
		(void)close(rd[i]);
	}

	/* The highest target: fd 1023 (the errpipe then sits at 1024). */
	for (int fail = 0; fail < 2; fail++) {
		struct msg *m = msg_spawn(++id, "root", fail ? missing_argv : probe_argv);
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		pipe_link(p[1], links[0], sizeof(links[0]));
		msg_map(m, 0, SPAWND_MAX_TARGET_FD);
		ck_send_msg(sock, m, &p[1], 1);
		(void)close(p[1]);
		msg_free(m);
		if (fail)
			ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_EXEC, ENOENT,
					 "target 1023, exec fails");
		else {
			struct report rep;

			(void)ck_expect_started(sock, id, "target 1023");
			ck_expect_exited(sock, id, 0, 0, "target 1023");
			ck_assert_int_eq(report_read_file(out, &rep), 0);
			ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,1023");
			ASSERT_STREQ_REPORT(&rep, "fd.1023", links[0]);
			report_done(&rep);
			ck_assert_int_eq(unlink(out), 0);
		}
		(void)close(p[0]);
	}
	(void)close(sock);
}
END_TEST

/* ---- E20: a client that hoards pidfds is cut off ---- */

#define HOARD_MAX 1500

/*
 * A client asks for a pidfd with every spawn and never reads its replies.
 * Each unsent Started holds a daemon fd, so once SPAWND_MAX_QUEUED_FDS of
 * them pile up the daemon drops the connection: the client then reads
 * what the kernel had queued and EOF, and the daemon's fds come back.
 */
START_TEST(test_pidfd_hoarding_dropped)
{
	const char *argv[] = {"/bin/true", NULL};
	const char *drop_line = "does not read its replies, closing";
	int sock = ck_connect(), before = log_count(drop_line), sent = 0, got_fds = 0, r;

	for (int i = 1; i <= HOARD_MAX; i++) {
		struct msg *m = msg_spawn((uint64_t)i, "root", argv);
		uint8_t *buf;
		size_t len;

		m->spawn.has_want_pidfd = 1;
		m->spawn.want_pidfd = 1;
		buf = msg_pack(m, &len);
		msg_free(m);
		r = rc_send(sock, buf, len, NULL, 0);
		free(buf);
		if (r == -EPIPE || r == -ECONNRESET)
			break;
		ck_assert_msg(r == 0, "send %d: %s", i, strerror(-r));
		sent++;
		/* Reading the whole log is not free: look now and then. */
		if (i % 64 == 0 && log_count(drop_line) > before)
			break;
	}
	ck_assert_msg(log_wait_count(drop_line, before, 30000),
		      "the daemon kept a client with %d unread replies", sent);

	/* Drain: what the kernel had queued, then EOF. */
	for (;;) {
		Spawnd__V1__Reply *rep = NULL;
		int fd;

		r = rc_recv(sock, &rep, &fd, 10000);
		if (r == 0)
			break;
		ck_assert_msg(r == 1, "draining: %s", strerror(-r));
		if (fd >= 0) {
			got_fds++;
			(void)close(fd);
		}
		wire_reply_free(rep);
	}
	ck_assert_msg(got_fds < sent, "all %d pidfds arrived: the daemon did not cut off", sent);
	(void)close(sock);
}
END_TEST

/* ---- H38/G32: signals ---- */

/* Start /bin/sleep 30 as root on sock with id; returns its pid. */
static pid_t
start_sleeper(int sock, uint64_t id)
{
	struct msg *m = msg_spawn(id, "root", (const char *const[]){"/bin/sleep", "30", NULL});
	pid_t pid;

	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	pid = ck_expect_started(sock, id, "sleeper");
	return pid;
}

static void
send_signal(int sock, uint64_t id, uint64_t spawn_id, int signo, bool group)
{
	struct msg *m = msg_signal(id, spawn_id, signo, group);

	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
}

/*
 * Signals reach only this connection's unreaped children, named by spawn
 * id, never by pid: another connection using the same id, ids 0 and
 * 2^64-1, a reaped child, a failed spawn, negative signal numbers, and a
 * Signal carrying an fd are all refused; the child lives on until its own
 * connection signals it.
 */
START_TEST(test_signal_edge_cases)
{
	int a = ck_connect(), b = ck_connect();
	struct witness w;
	struct msg *m;
	pid_t pid;

	pid = start_sleeper(a, 1);

	/* Connection b uses the same numeric id: it names nothing of b's. */
	send_signal(b, 1, 1, SIGKILL, false);
	ck_expect_failed(b, 1, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "b: spawn id 1 of a");
	send_signal(b, 2, 1, SIGKILL, true);
	ck_expect_failed(b, 2, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH,
			 "b: process group of a's spawn 1");
	send_signal(a, 3, 0, SIGKILL, false);
	ck_expect_failed(a, 3, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "spawn id 0");
	send_signal(a, 4, UINT64_MAX, SIGKILL, true);
	ck_expect_failed(a, 4, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "spawn id 2^64-1");
	send_signal(a, 5, 1, -1, false);
	ck_expect_failed(a, 5, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "signo -1");
	send_signal(a, 6, 1, INT32_MIN, false);
	ck_expect_failed(a, 6, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "signo INT32_MIN");
	witness_open(&w);
	m = msg_signal(7, 1, SIGKILL, false);
	ck_send_msg(a, m, &w.wr, 1);
	msg_free(m);
	ck_expect_failed(a, 7, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "Signal with an fd");
	witness_assert_closed(&w, "Signal with an fd");
	/* Each refusal came after whatever the daemon did: a signal it sent would show. */
	ck_assert_msg(proc_untouched(pid), "a refused Signal reached the child");

	/* The owner's signal to the group works; then the child is gone for good. */
	send_signal(a, 8, 1, SIGKILL, true);
	{
		Spawnd__V1__Reply *r = ck_reply(a, 10000, "group SIGKILL");
		bool sent = r->body_case == SPAWND__V1__REPLY__BODY_SIGNAL_SENT && r->id == 8;

		wire_reply_free(r);
		ck_assert_msg(sent, "the owner's group signal was not sent");
	}
	ck_expect_exited(a, 1, -1, SIGKILL, "sleeper");
	send_signal(a, 9, 1, SIGTERM, false);
	ck_expect_failed(a, 9, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "reaped child");
	send_signal(a, 10, 1, SIGTERM, true);
	ck_expect_failed(a, 10, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "reaped child's group");

	/* A spawn that failed has no child to signal. */
	m = msg_spawn(11, "root", (const char *const[]){"/nonexistent/x", NULL});
	ck_send_msg(a, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(a, 11, SPAWND__V1__STAGE__STAGE_EXEC, ENOENT, "failed spawn");
	send_signal(a, 12, 11, SIGTERM, false);
	ck_expect_failed(a, 12, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "failed spawn's id");
	(void)close(a);
	(void)close(b);
}
END_TEST

/*
 * Rounds per signal: at least EARLY_ROUNDS, and more (up to
 * EARLY_ROUNDS_MAX) until one child was killed before its exec. Whether
 * the Signal beats the exec is a race the test cannot steer; under ASan
 * with the fork engine the daemon is slow enough after fork that most
 * children exec first (about 15% of rounds were Failed), so a fixed ten
 * rounds missed every one now and then. The assertion is unchanged: every
 * signal must produce at least one Failed{EXEC, ECANCELED}.
 */
#define EARLY_ROUNDS 10
#define EARLY_ROUNDS_MAX 200

/* Lines of the daemon's log that contain both a and b. */
static int
log_count2(const char *a, const char *b)
{
	struct report rep;
	size_t pos = 0;
	const char *line;
	int n = 0;

	if (report_read_file(fx.log, &rep) < 0)
		return 0;
	while ((line = report_next(&rep, &pos)))
		if (strstr(line, a) && strstr(line, b))
			n++;
	report_done(&rep);
	return n;
}

/*
 * The replies to a Spawn (spawn_id) of /bin/sleep and to the Signal
 * (sig_id) signo sent for it, read to the end: Failed{EXEC, ECANCELED,
 * want} (killed before exec: true) or Started, then Exited by signo
 * (false); *started says which. Anything else fails the test.
 */
static bool
signal_round_replies(int sock, uint64_t spawn_id, uint64_t sig_id, int signo, const char *want,
		     bool *started)
{
	bool done = false, sent = false, failed = false;

	*started = false;
	while (!(done && sent)) {
		Spawnd__V1__Reply *r = ck_reply(sock, 10000, "early signal");

		if (r->id == sig_id) {
			ck_assert_int_eq(r->body_case, SPAWND__V1__REPLY__BODY_SIGNAL_SENT);
			sent = true;
		} else if (r->body_case == SPAWND__V1__REPLY__BODY_STARTED) {
			ck_assert_uint_eq(r->id, spawn_id);
			*started = true;
		} else if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED) {
			const Spawnd__V1__Failed *f = r->failed;

			ck_assert_msg(r->id == spawn_id && !*started,
				      "signal %d: Failed id %llu after Started", signo,
				      (unsigned long long)r->id);
			ck_assert_msg(f->stage == SPAWND__V1__STAGE__STAGE_EXEC &&
					      f->errnum == ECANCELED && strcmp(f->detail, want) == 0,
				      "signal %d: expected Failed{EXEC, ECANCELED, '%s'}, got stage %d "
				      "errno %d '%s'",
				      signo, want, (int)f->stage, f->errnum, f->detail);
			failed = done = true;
		} else {
			ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_EXITED &&
					      r->id == spawn_id && *started,
				      "signal %d: unexpected reply %d id %llu", signo,
				      (int)r->body_case, (unsigned long long)r->id);
			ck_assert_msg(r->exited->has_signal && r->exited->signal == signo,
				      "signal %d did not kill the child (exit %d, signal %d)", signo,
				      r->exited->exit_code, r->exited->signal);
			done = true;
		}
		wire_reply_free(r);
	}
	return failed;
}

/*
 * One Spawn of /bin/sleep with the Signal signo right behind it, read to
 * the end (signal_round_replies()).
 */
static bool
early_signal_round(int sock, uint64_t spawn_id, uint64_t sig_id, int signo, const char *want,
		   bool *started)
{
	struct msg *m = msg_spawn(spawn_id, "root", (const char *const[]){"/bin/sleep", "30", NULL});
	uint8_t *a, *b;
	size_t la, lb;

	a = msg_pack(m, &la);
	msg_free(m);
	m = msg_signal(sig_id, spawn_id, signo, false);
	b = msg_pack(m, &lb);
	msg_free(m);
	/* Back to back: the daemon reads both in one wakeup. */
	ck_send_raw(sock, a, la, NULL, 0);
	ck_send_raw(sock, b, lb, NULL, 0);
	free(a);
	free(b);
	return signal_round_replies(sock, spawn_id, sig_id, signo, want, started);
}

/*
 * A Signal pipelined right behind its Spawn reaches the child while it is
 * still between clone and exec (all signals blocked, dispositions being
 * reset). The signal must act with its default disposition (the child
 * dies of it), even for SIGUSR1 which the daemon inherited ignored, and
 * no daemon handler may run in the child: SIGHUP would make the daemon
 * reload, SIGTERM/SIGINT stop it.
 *
 * HOSTILE 48: a child that died of it before exec never ran the program,
 * so it gets Failed{EXEC, ECANCELED} naming the signal, and the audit log
 * says "failed", never "started". A child that did exec before the signal
 * came gets Started, then Exited with that signal, and is audited started:
 * both outcomes are right, each must be reported as what it was. The
 * signal is sent microseconds after the fork while the child has its whole
 * setup ahead of it, so the first outcome is the usual one (all of them
 * in runs here, with both engines): every signal must produce it at least
 * once. Before the fix every round reported Started.
 */
START_TEST(test_signal_before_exec)
{
	static const int signals[] = {SIGUSR1, SIGHUP, SIGTERM, SIGINT, SIGCHLD};
	int sock = ck_connect(), reloads = log_count("Reloaded the policy");
	char sleep_path[PATH_MAX];
	uint64_t id = 1000;

	ck_assert_ptr_nonnull(realpath("/bin/sleep", sleep_path));
	for (size_t s = 0; s < sizeof(signals) / sizeof(signals[0]); s++) {
		int signo = signals[s] == SIGCHLD ? SIGKILL : signals[s];
		int failed_rounds = 0;

		int rounds;

		for (rounds = 0;
		     rounds < EARLY_ROUNDS || (failed_rounds == 0 && rounds < EARLY_ROUNDS_MAX);
		     rounds++) {
			uint64_t spawn_id = ++id, sig_id = ++id;
			char want[PATH_MAX + 64], audit_id[64], exited_id[64];
			bool started, failed;

			/* The detail names the program executed: the resolved path
			 * the policy judged (this policy has `cmd` rules for root). */
			xsnprintf(want, sizeof(want), "%s: killed by SIG%s before exec", sleep_path,
				  sigabbrev_np(signo));
			failed = early_signal_round(sock, spawn_id, sig_id, signo, want, &started);
			/* The audit trail says what the client was told. */
			xsnprintf(audit_id, sizeof(audit_id),
				  " id=%llu target=", (unsigned long long)spawn_id);
			xsnprintf(exited_id, sizeof(exited_id),
				  " id=%llu pid=", (unsigned long long)spawn_id);
			ck_assert_int_eq(log_count2("audit: started ", audit_id), started ? 1 : 0);
			ck_assert_int_eq(log_count2("audit: exited ", exited_id), started ? 1 : 0);
			if (failed) {
				failed_rounds++;
				ck_assert_int_eq(log_count2("audit: failed ", audit_id), 1);
				ck_assert_int_eq(log_count2(audit_id, " stage=exec detail=\""), 1);
			}
		}
		fprintf(stderr, "signal %d before exec: %d of %d rounds Failed, the rest ran\n",
			signo, failed_rounds, rounds);
		ck_assert_msg(failed_rounds > 0,
			      "signal %d: all %d children killed before exec were reported Started",
			      signo, rounds);
	}
	ck_assert_msg(proc_alive(fx.pid), "the daemon died");
	ck_assert_int_eq(log_count("Reloaded the policy"), reloads);
	ck_assert_int_eq(log_count("Received signal"), 0);
	(void)close(sock);
}
END_TEST

/* ---- H48 without a race: a child held before exec on FUSE ---- */

/*
 * More live children than REAPER_RAISE_PIDFDS_AT (daemon/reaper.c, 32):
 * the daemon then moves pidfds to DAEMON_PIDFD_HIGH_BASE and above
 * (harness.h) and starts every child on its own fd table
 * (docs/architecture.md, "The shared-table start").
 */
#define MANY_LIVE 40
/* How long a child may take to reach its FUSE lookup (it has a few syscalls ahead). */
#define HELD_WAIT_MS 20000
/* PF_FORKNOEXEC in /proc/PID/stat (include/linux/sched.h): not exec'd yet. */
#define PF_FORKNOEXEC 0x00000040u

/*
 * A FUSE mount whose server never reads /dev/fuse, not even INIT: every
 * lookup under it waits in fuse_get_req() for the connection to come up,
 * a killable wait (TASK_KILLABLE, state D) that nothing ends but a fatal
 * signal or the connection's abort (the close of our fd). Unlike
 * tests/helpers/fuse-hang, which reads each request and leaves it
 * unanswered (a request in userspace is waited for even after SIGKILL),
 * a SIGKILL frees a child stuck here at once, and only that can.
 */
struct fuse_stall {
	char mnt[PATH_MAX]; /* fx.dir/mnt: harness_main() detaches it after a failure */
	int fd;		    /* our end of /dev/fuse; its close aborts the connection */
};

static void
fuse_stall_mount(struct fuse_stall *f)
{
	char opts[128];

	xsnprintf(f->mnt, sizeof(f->mnt), "%s/mnt", fx.dir);
	ck_assert_msg(mkdir(f->mnt, 0755) == 0, "mkdir %s: %s", f->mnt, strerror(errno));
	f->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	ck_assert_msg(f->fd >= 0, "open /dev/fuse: %s", strerror(errno));
	xsnprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		  f->fd);
	ck_assert_msg(mount("spawnd-stall", f->mnt, "fuse.spawnd-stall", MS_NOSUID | MS_NODEV,
			    opts) == 0,
		      "mount fuse on %s: %s", f->mnt, strerror(errno));
}

static void
fuse_stall_unmount(struct fuse_stall *f)
{
	ck_assert_int_eq(close(f->fd), 0);
	ck_assert_msg(umount2(f->mnt, MNT_DETACH) == 0, "umount %s: %s", f->mnt, strerror(errno));
	ck_assert_int_eq(rmdir(f->mnt), 0);
}

/* Whether /proc/PID/wchan, where pid sleeps, names a FUSE function. */
static bool
proc_wchan_fuse(pid_t pid)
{
	char buf[128];

	return proc_read(pid, "wchan", buf, sizeof(buf)) > 0 && strncmp(buf, "fuse", 4) == 0;
}

/* The system call pid sleeps in (the first number of /proc/PID/syscall), or -1. */
static long
proc_syscall_nr(pid_t pid)
{
	char buf[256];

	if (proc_read(pid, "syscall", buf, sizeof(buf)) < 0)
		return -1;
	/* "running" while it runs: no number. */
	return (buf[0] >= '0' && buf[0] <= '9') ? strtol(buf, NULL, 10) : -1;
}

/*
 * Wait for the daemon's child that is held by the FUSE mount (asleep in
 * the chdir system call, or in a FUSE function where /proc/PID/syscall is
 * missing: here wchan is fuse_get_req, state D) and has not exec'd
 * (PF_FORKNOEXEC); returns its pid. Fails the test after HELD_WAIT_MS.
 */
static pid_t
wait_held_child(const char *what)
{
	uint64_t end = now_usec() + (uint64_t)HELD_WAIT_MS * 1000;

	for (;;) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		pid_t found = 0;
		unsigned flags = 0;

		ck_assert_ptr_nonnull(d);
		while (!found && (de = readdir(d))) {
			char *e, state;
			long pid = strtol(de->d_name, &e, 10);
			pid_t pp;

			if (*e || pid <= 0 || proc_stat((pid_t)pid, &state, &pp, &flags) < 0)
				continue;
			if (pp == fx.pid && (state == 'D' || state == 'S') &&
			    (proc_syscall_nr((pid_t)pid) == SYS_chdir || proc_wchan_fuse((pid_t)pid)))
				found = (pid_t)pid;
		}
		(void)closedir(d);
		if (found) {
			ck_assert_msg(flags & PF_FORKNOEXEC,
				      "%s: child %d, held in its chdir, has exec'd (flags %#x)", what,
				      (int)found, flags);
			return found;
		}
		ck_assert_msg(now_usec() < end, "%s: no child of the daemon is held in its chdir",
			      what);
		harness_sleep_ms(2);
	}
}

/*
 * One round: Spawn /bin/sleep as root with its cwd in the stalled mount,
 * wait until the child is held in that chdir, SIGKILL it through a Signal
 * request, and assert HOSTILE 48: Failed{EXEC, ECANCELED, "...: killed by
 * SIGKILL before exec"}, never Started, and the audit log says "failed"
 * and neither "started" nor "exited". high_before >= 0: the shared-table
 * start is in use, and the held child's pidfd must have joined the
 * daemon's high ones (one more than high_before); -1: the plain start,
 * and no pidfd of the daemon is high.
 */
static void
held_kill_round(int sock, const struct fuse_stall *f, uint64_t spawn_id, int high_before,
		const char *what)
{
	struct msg *m = msg_spawn(spawn_id, "root", (const char *const[]){"/bin/sleep", "30", NULL});
	char cwd[PATH_MAX], sleep_path[PATH_MAX], want[PATH_MAX + 64], audit_id[64], exited_id[64],
		audit_detail[PATH_MAX + 128];
	bool started, failed;
	pid_t pid;

	ck_assert_ptr_nonnull(realpath("/bin/sleep", sleep_path));
	xsnprintf(cwd, sizeof(cwd), "%s/held", f->mnt);
	msg_set_cwd(m, cwd);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	pid = wait_held_child(what);
	if (high_before >= 0) {
		/*
		 * The loop tracks the child (and raises its pidfd) after the
		 * clone, while the child runs on: it may be held already.
		 */
		uint64_t end = now_usec() + (uint64_t)HELD_WAIT_MS * 1000;
		int high;

		while ((high = daemon_fds_from(DAEMON_PIDFD_HIGH_BASE)) == high_before &&
		       now_usec() < end)
			harness_sleep_ms(2);
		ck_assert_msg(high == high_before + 1,
			      "%s: the held child's pidfd is not above %d (%d fds there, %d before)",
			      what, DAEMON_PIDFD_HIGH_BASE, high, high_before);
	} else /* no pidfd high: reaper_share_table() says no, a plain start */
		ck_assert_int_eq(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), 0);
	/* Nothing was sent yet: the client has no reply for it. */
	ck_expect_silence(sock, 0, what);

	send_signal(sock, spawn_id + 1, spawn_id, SIGKILL, false);
	xsnprintf(want, sizeof(want), "%s: killed by SIGKILL before exec", sleep_path);
	failed = signal_round_replies(sock, spawn_id, spawn_id + 1, SIGKILL, want, &started);
	ck_assert_msg(failed && !started,
		      "%s: child %d, SIGKILLed while held in its chdir before exec, was reported "
		      "Started (then Exited by SIGKILL), not Failed{EXEC, ECANCELED, '%s'}",
		      what, (int)pid, want);
	ck_assert_msg(proc_wait_gone(pid, 10000), "%s: child %d is still there", what, (int)pid);

	/* The audit trail says what the client was told. */
	xsnprintf(audit_id, sizeof(audit_id), " id=%llu target=", (unsigned long long)spawn_id);
	xsnprintf(exited_id, sizeof(exited_id), " id=%llu pid=", (unsigned long long)spawn_id);
	xsnprintf(audit_detail, sizeof(audit_detail), " stage=exec detail=\"%s\"", want);
	ck_assert_int_eq(log_count2("audit: started ", audit_id), 0);
	ck_assert_int_eq(log_count2("audit: exited ", exited_id), 0);
	ck_assert_int_eq(log_count2("audit: failed ", audit_id), 1);
	ck_assert_msg(log_count2(audit_id, audit_detail) == 1, "%s: no audit line with '%s'", what,
		      audit_detail);
	fprintf(stderr, "%s: child %d held in chdir on FUSE, SIGKILLed: Failed '%s'\n", what,
		(int)pid, want);
}

/*
 * HOSTILE 48 without the race of test_signal_before_exec: the child is
 * held before exec, in the chdir to its cwd on a FUSE mount that never
 * answers (fuse_stall_mount()), where only SIGKILL can free it; the
 * client's Signal(SIGKILL) then kills it there, for certain before exec.
 * Once with the plain start (no other child), once with the shared-table
 * start (MANY_LIVE sleepers first; where the daemon's soft RLIMIT_NOFILE is
 * below 8192 that start is off, and the output says so). After the
 * sleepers go, the daemon is back to its fd baseline with no child, and
 * serves. A daemon that judged the death by the errpipe's EOF alone (or
 * that child_execed() misread) reports Started, then Exited by SIGKILL.
 */
START_TEST(test_signal_before_exec_held)
{
	int sock = ck_connect(), holder, high = -1;
	struct fuse_stall f;
	char what[128];
	struct msg *m;

	fuse_stall_mount(&f);
	held_kill_round(sock, &f, 1000, -1, "plain start");

	holder = ck_connect();
	for (int i = 0; i < MANY_LIVE; i++)
		(void)start_sleeper(holder, 1 + (uint64_t)i);
	if (daemon_raises_pidfds()) {
		high = daemon_fds_from(DAEMON_PIDFD_HIGH_BASE);
		ck_assert_msg(high > 0, "%d live children, no pidfd at %d or above", MANY_LIVE,
			      DAEMON_PIDFD_HIGH_BASE);
		xsnprintf(what, sizeof(what), "shared-table start (%d live, %d pidfds >= %d)",
			  MANY_LIVE, high, DAEMON_PIDFD_HIGH_BASE);
	} else {
		ck_assert_int_eq(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), 0);
		xsnprintf(what, sizeof(what),
			  "plain start with %d live (the shared-table start is off: soft "
			  "RLIMIT_NOFILE %lu < %d)",
			  MANY_LIVE, daemon_nofile_soft(), 2 * DAEMON_PIDFD_HIGH_BASE);
	}
	held_kill_round(sock, &f, 2000, high, what);
	/* close_range(CLOSE_RANGE_UNSHARE) worked: the start stayed shared. */
	ck_assert_int_eq(log_count("is not available here"), 0);

	/*
	 * The sleepers go with their connection; the daemon is back to its
	 * baseline, but for sock (the fixture's teardown checks it without).
	 */
	(void)close(holder);
	assert_no_children(15000, "after the sleepers");
	assert_fds_at(baseline_fds + 1, "after the sleepers");
	ck_assert_int_eq(daemon_fds_from(DAEMON_PIDFD_HIGH_BASE), 0);

	/* And it serves the same connection. */
	m = msg_spawn(3000, "root", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 3000, "/bin/true after");
	ck_expect_exited(sock, 3000, 0, 0, "/bin/true after");
	ck_assert_msg(proc_alive(fx.pid), "the daemon died");
	(void)close(sock);
	fuse_stall_unmount(&f);
}
END_TEST

/*
 * Item 8a of issue 9: a spawn id names one spawn on its connection until
 * that spawn's final reply. A second Spawn with an id still in use is
 * refused (before, both ran and a Signal for the id hit the newer one);
 * once the final reply went out the id is free again, also right after a
 * Failed whose process is not reaped yet, and other connections have ids
 * of their own.
 */
START_TEST(test_duplicate_spawn_id_refused)
{
	int sock = ck_connect(), other = ck_connect();
	struct msg *m;
	pid_t pid;

	pid = start_sleeper(sock, 900);
	m = msg_spawn(900, "root", (const char *const[]){"/bin/sleep", "30", NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 900, SPAWND__V1__STAGE__STAGE_DECODE, EEXIST, "id 900 again");
	ck_assert_int_eq(proc_children(fx.pid, NULL), 1);

	/* Pipelined behind a Spawn it has not answered yet: refused too. */
	{
		struct msg *a = msg_spawn(901, "root", (const char *const[]){"/bin/true", NULL});
		struct msg *b = msg_spawn(901, "root", (const char *const[]){"/bin/true", NULL});
		bool failed = false, started = false, exited = false;

		ck_send_msg(sock, a, NULL, 0);
		ck_send_msg(sock, b, NULL, 0);
		msg_free(a);
		msg_free(b);
		while (!(failed && started && exited)) {
			Spawnd__V1__Reply *r = ck_reply(sock, 10000, "pipelined id 901");

			ck_assert_uint_eq(r->id, 901);
			if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED) {
				const Spawnd__V1__Failed *f = r->failed;

				ck_assert_msg(!failed && f->stage == SPAWND__V1__STAGE__STAGE_DECODE &&
						      f->errnum == EEXIST,
					      "pipelined id 901: a second Failed, or not DECODE/EEXIST");
				failed = true;
			} else if (r->body_case == SPAWND__V1__REPLY__BODY_STARTED) {
				ck_assert(!started);
				started = true;
			} else {
				ck_assert_int_eq(r->body_case, SPAWND__V1__REPLY__BODY_EXITED);
				ck_assert(started && !exited);
				exited = true;
			}
			wire_reply_free(r);
		}
	}

	/* The Signal for 900 reaches the one child that has that id. */
	send_signal(sock, 902, 900, SIGKILL, false);
	{
		Spawnd__V1__Reply *r = ck_reply(sock, 10000, "SIGKILL to 900");
		bool sent = r->body_case == SPAWND__V1__REPLY__BODY_SIGNAL_SENT && r->id == 902;

		wire_reply_free(r);
		ck_assert_msg(sent, "the signal to spawn 900 was not sent");
	}
	ck_expect_exited(sock, 900, -1, SIGKILL, "sleeper 900");
	ck_assert(!proc_alive(pid));

	/* After its final reply the id is free again. */
	m = msg_spawn(900, "root", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 900, "id 900 reused after Exited");
	ck_expect_exited(sock, 900, 0, 0, "id 900 reused after Exited");
	m = msg_spawn(903, "root", (const char *const[]){"/nonexistent/x", NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(sock, 903, SPAWND__V1__STAGE__STAGE_EXEC, ENOENT, "id 903 fails");
	m = msg_spawn(903, "root", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 903, "id 903 reused after Failed");
	ck_expect_exited(sock, 903, 0, 0, "id 903 reused after Failed");

	/* Ids are per connection. */
	pid = start_sleeper(sock, 904);
	m = msg_spawn(904, "root", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(other, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(other, 904, "id 904 on another connection");
	ck_expect_exited(other, 904, 0, 0, "id 904 on another connection");
	send_signal(sock, 905, 904, SIGKILL, false);
	{
		Spawnd__V1__Reply *r = ck_reply(sock, 10000, "SIGKILL to 904");

		ck_assert_int_eq(r->body_case, SPAWND__V1__REPLY__BODY_SIGNAL_SENT);
		wire_reply_free(r);
	}
	ck_expect_exited(sock, 904, -1, SIGKILL, "sleeper 904");
	(void)close(sock);
	(void)close(other);
}
END_TEST

/* ---- HOSTILE 43: the authority of a connection stays with its owner ---- */

#define WWW_DATA_UID 33

/* In a client: spawn /bin/true as user on sock, expect Started, Exited{0}; 0 or -1 (reported). */
static int
rc_spawn_true(int sock, uint64_t id, const char *user, int ctl)
{
	struct msg *m = msg_spawn(id, user, (const char *const[]){"/bin/true", NULL});
	Spawnd__V1__Reply *r = NULL;
	size_t len;
	uint8_t *buf = msg_pack(m, &len);
	int k = rc_send(sock, buf, len, NULL, 0), ret = -1;

	free(buf);
	msg_free(m);
	if (k == 0 && rc_recv(sock, &r, NULL, 20000) == 1 &&
	    r->body_case == SPAWND__V1__REPLY__BODY_STARTED && r->id == id) {
		wire_reply_free(r);
		r = NULL;
		if (rc_recv(sock, &r, NULL, 20000) == 1 &&
		    r->body_case == SPAWND__V1__REPLY__BODY_EXITED && r->id == id &&
		    r->exited->has_exit_code && r->exited->exit_code == 0)
			ret = 0;
	}
	if (ret < 0)
		rc_report(ctl, "error=spawn %llu as %s: send %d, reply body %d",
			  (unsigned long long)id, user, k, r ? (int)r->body_case : -1);
	if (r)
		wire_reply_free(r);
	return ret;
}

/*
 * www-data (uid 33): connect, spawn once on the connection, hand it over
 * `link` (SCM_RIGHTS) and keep its own copy. Once the test says go: the
 * daemon must have dropped that connection (EOF), and a new one works.
 */
static int
handoff_owner(void *arg, int ctl)
{
	const int *link = arg;
	Spawnd__V1__Reply *r = NULL;
	int sock = rc_connect(fx.sock), k;

	if (sock < 0) {
		rc_report(ctl, "error=connect: %s", strerror(-sock));
		return 1;
	}
	if (rc_spawn_true(sock, 1, "www-data", ctl) < 0)
		return 1;
	k = rc_send(*link, "c", 1, &sock, 1);
	if (k < 0) {
		rc_report(ctl, "error=handing over the connection: %s", strerror(-k));
		return 1;
	}
	rc_report(ctl, "handed");
	if (rc_wait_go(ctl) != 'g')
		return 1;
	k = rc_recv(sock, &r, NULL, 10000);
	if (k != 0) {
		rc_report(ctl, "error=the handed-over connection was kept: %s",
			  k == 1 ? "a reply" : strerror(-k));
		return 1;
	}
	(void)close(sock);
	sock = rc_connect(fx.sock);
	if (sock < 0 || rc_spawn_true(sock, 2, "www-data", ctl) < 0)
		return 1;
	(void)close(sock);
	rc_report(ctl, "ok");
	return 0;
}

/*
 * nobody (uid 65534): take the connection from `link` and send a Spawn as
 * www-data on it; report the first reply and what follows it.
 */
static int
handoff_taker(void *arg, int ctl)
{
	static uint8_t buf[64];
	const int *link = arg;
	struct pollfd p = {.fd = *link, .events = POLLIN};
	Spawnd__V1__Reply *r = NULL;
	int fds[SPAWND_MAX_FDS], sock, k;
	size_t len = 0, n_fds = 0;
	struct msg *m;
	uint8_t *req;

	if (poll(&p, 1, 20000) != 1 || wire_recv(*link, buf, sizeof(buf), &len, fds, &n_fds) != 1 ||
	    n_fds != 1) {
		rc_report(ctl, "error=no connection arrived");
		return 1;
	}
	sock = fds[0];
	m = msg_spawn(7, "www-data", (const char *const[]){"/bin/true", NULL});
	req = msg_pack(m, &len);
	msg_free(m);
	k = rc_send(sock, req, len, NULL, 0);
	free(req);
	if (k < 0) {
		rc_report(ctl, "error=send: %s", strerror(-k));
		return 1;
	}
	k = rc_recv(sock, &r, NULL, 10000);
	if (k != 1) {
		rc_report(ctl, "reply=none (%s)", k == 0 ? "EOF" : strerror(-k));
		return 1;
	}
	if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED)
		rc_report(ctl, "reply=failed id=%llu stage=%s errno=%s", (unsigned long long)r->id,
			  spawnd_stage_to_string((spawnd_stage)r->failed->stage),
			  strerrorname_np(r->failed->errnum));
	else
		rc_report(ctl, "reply=body %d id=%llu", (int)r->body_case,
			  (unsigned long long)r->id);
	wire_reply_free(r);
	r = NULL;
	k = rc_recv(sock, &r, NULL, 10000);
	rc_report(ctl, "then=%s", k == 0 ? "EOF" : k == 1 ? "a reply" : strerror(-k));
	if (r)
		wire_reply_free(r);
	(void)close(sock);
	return 0;
}

/*
 * HOSTILE 43 (a). www-data connects and hands its connected socket to a
 * process running as nobody, which then asks to spawn as www-data: before,
 * the daemon saw SO_PEERCRED (www-data) and ran it. Each message now
 * carries its sender's credentials (SO_PASSCRED), nobody's do not match
 * the connection's: Failed{PROTOCOL, EPERM} with id 0, the audit log names
 * both, the connection is dropped, nothing runs. www-data's own work goes
 * on, on a connection of its own.
 */
START_TEST(test_connection_handed_to_another_uid)
{
	const struct passwd *pw = getpwuid(WWW_DATA_UID);
	int link[2], ctl_owner, ctl_taker;
	pid_t owner, taker;
	char line[256];

	ck_assert_msg(pw && strcmp(pw->pw_name, "www-data") == 0, "no user www-data (uid 33)");
	fx_append_policy("permit www-data as www-data");
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link), 0);
	owner = fork_client(WWW_DATA_UID, WWW_DATA_UID, handoff_owner, &link[0], &ctl_owner);
	taker = fork_client(65534, 65534, handoff_taker, &link[1], &ctl_taker);
	(void)close(link[0]);
	(void)close(link[1]);

	ck_client_line(ctl_owner, line, sizeof(line), 30000, "www-data");
	ck_assert_str_eq(line, "handed");
	ck_client_line(ctl_taker, line, sizeof(line), 30000, "nobody");
	ck_assert_str_eq(line, "reply=failed id=0 stage=protocol errno=EPERM");
	ck_client_line(ctl_taker, line, sizeof(line), 30000, "nobody");
	ck_assert_str_eq(line, "then=EOF");
	ck_client_done(taker, ctl_taker, "nobody");
	ck_client_go(ctl_owner, 'g');
	ck_client_line(ctl_owner, line, sizeof(line), 30000, "www-data");
	ck_assert_str_eq(line, "ok");
	ck_client_done(owner, ctl_owner, "www-data");

	ck_assert_int_eq(log_count2("audit: failed client_uid=33 ",
				    "stage=protocol detail=\"message sent by uid 65534 gid 65534 "),
			 1);
	/* Request 7 never got as far as a decision. */
	ck_assert_int_eq(log_count(" id=7 target="), 0);
}
END_TEST

/* A reply in a few words, for messages. */
static const char *
reply_describe_short(const Spawnd__V1__Reply *r)
{
	static char buf[512];

	if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED)
		xsnprintf(buf, sizeof(buf), "Failed{%s, %s, '%s'} id %llu",
			  spawnd_stage_to_string((spawnd_stage)r->failed->stage),
			  strerror(r->failed->errnum), r->failed->detail,
			  (unsigned long long)r->id);
	else
		xsnprintf(buf, sizeof(buf), "reply body %d id %llu", (int)r->body_case,
			  (unsigned long long)r->id);
	return buf;
}

/* Expect Failed{DECODE, EPERM} for id whose detail names child fd target. */
static void
expect_connection_refused(int sock, uint64_t id, int target, const char *what)
{
	Spawnd__V1__Reply *r = ck_reply(sock, 10000, what);
	char want[96];

	xsnprintf(want, sizeof(want), "child fd %d is a connection to spawnd", target);
	ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_FAILED && r->id == id &&
			      r->failed->stage == SPAWND__V1__STAGE__STAGE_DECODE &&
			      r->failed->errnum == EPERM && strstr(r->failed->detail, want),
		      "%s: expected Failed{DECODE, EPERM, '%s...'} id %llu, got %s", what, want,
		      (unsigned long long)id, reply_describe_short(r));
	wire_reply_free(r);
}

/*
 * HOSTILE 43 (b). A child fd that is a connection to this daemon is
 * refused: the client's own connection (as fd 3 and as stdout), another
 * of its connections, and one the daemon has not even accepted yet. In
 * the child, any process of the target's uid could take it out with
 * pidfd_getfd() and act on it. The fixture's daemon is socket-activated
 * (the test called listen()), so this also shows the check does not
 * depend on the daemon's own pid. Every fd is closed; the connections
 * keep working; a socketpair is still delegated as before.
 */
START_TEST(test_daemon_connection_never_a_child_fd)
{
	const char *const true_argv[] = {"/bin/true", NULL};
	int sock = ck_connect(), other = ck_connect(), sv[2];
	struct witness w;
	struct msg *m;

	m = msg_spawn(810, "root", true_argv);
	msg_map(m, 0, 3);
	ck_send_msg(sock, m, &sock, 1);
	msg_free(m);
	expect_connection_refused(sock, 810, 3, "own connection as fd 3");

	m = msg_spawn(811, "root", true_argv);
	msg_map(m, 0, 1);
	ck_send_msg(sock, m, &sock, 1);
	msg_free(m);
	expect_connection_refused(sock, 811, 1, "own connection as stdout");

	witness_open(&w);
	m = msg_spawn(812, "root", true_argv);
	msg_map(m, 0, 1);
	msg_map(m, 1, 7);
	ck_send_msg(sock, m, (const int[]){w.wr, other}, 2);
	msg_free(m);
	expect_connection_refused(sock, 812, 7, "another connection as fd 7");
	witness_assert_closed(&w, "another connection as fd 7");

	{
		/* Connected, perhaps not accepted yet: the same address. */
		int fresh = rc_connect(fx.sock);

		ck_assert_int_ge(fresh, 0);
		m = msg_spawn(813, "root", true_argv);
		msg_map(m, 0, 5);
		ck_send_msg(sock, m, &fresh, 1);
		msg_free(m);
		expect_connection_refused(sock, 813, 5, "a fresh connection as fd 5");
		(void)close(fresh);
	}

	/* A socket to anyone else is the client's to delegate. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	m = msg_spawn(814, "root", true_argv);
	msg_map(m, 0, 3);
	ck_send_msg(sock, m, &sv[1], 1);
	msg_free(m);
	(void)ck_expect_started(sock, 814, "a socketpair as fd 3");
	ck_expect_exited(sock, 814, 0, 0, "a socketpair as fd 3");
	(void)close(sv[0]);
	(void)close(sv[1]);

	/* Both connections still serve. */
	m = msg_spawn(815, "root", true_argv);
	ck_send_msg(other, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(other, 815, "the other connection");
	ck_expect_exited(other, 815, 0, 0, "the other connection");
	ck_assert_int_eq(log_count2(" id=810 ", "stage=decode detail=\"child fd 3 is a connection "
						"to spawnd"),
			 1);
	(void)close(sock);
	(void)close(other);
}
END_TEST

/* ---- H37: a double fork leaves nothing behind in the daemon ---- */

/*
 * The child forks a grandchild and exits at once. The grandchild is not
 * the daemon's (no subreaper): it is re-parented by the kernel, outlives
 * the child untouched (the documented orphan policy: only the child
 * itself, or its process group with on_disconnect=hangup, is acted on),
 * and the daemon reports the child's exit and keeps no zombie.
 */
START_TEST(test_double_fork)
{
	char pidfile[PATH_MAX], script[PATH_MAX + 64];
	struct report rep;
	struct msg *m;
	int sock = ck_connect();
	long long grandchild;

	xsnprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", fx.dir);
	xsnprintf(script, sizeof(script), "sleep 30 </dev/null >/dev/null 2>&1 & echo $! > %s",
		  pidfile);
	m = msg_spawn(700, "root", (const char *const[]){"/bin/sh", "-c", script, NULL});
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 700, "double fork");
	ck_expect_exited(sock, 700, 0, 0, "double fork");
	ck_assert_int_eq(report_read_file(pidfile, &rep), 0);
	grandchild = strtoll(rep.text, NULL, 10);
	report_done(&rep);
	ck_assert_int_gt(grandchild, 0);
	ck_assert_msg(proc_alive((pid_t)grandchild), "the grandchild was killed");
	assert_no_children(5000, "after the double fork");
	(void)kill((pid_t)grandchild, SIGKILL);
	(void)close(sock);
}
END_TEST

static Suite *
abuse_suite(void)
{
	Suite *s = suite_create("abuse");
	struct {
		const char *name;
		const TTest *tests[8];
	} cases[] = {
		{"framing",
		 {test_truncated_requests, test_empty_datagrams, test_duplicate_fields,
		  test_missing_and_empty_fields, test_amplification, test_split_cmsgs, NULL}},
		{"identity", {test_odd_user_and_group_specs, NULL}},
		{"exec",
		 {test_argv_bytes_unchanged, test_exec_etxtbsy, test_exec_e2big,
		  test_credential_failure_nproc, test_capabilities,
		  test_daemon_keeps_its_credentials, NULL}},
		{"env", {test_dangerous_env, NULL}},
		{"fds", {test_fd_collisions, test_pidfd_hoarding_dropped, NULL}},
		{"signals",
		 {test_signal_edge_cases, test_signal_before_exec,
		  test_duplicate_spawn_id_refused, NULL}},
		{"delegation",
		 {test_connection_handed_to_another_uid, test_daemon_connection_never_a_child_fd,
		  NULL}},
		{"lifecycle", {test_double_fork, NULL}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_add_checked_fixture(tc, abuse_setup, abuse_teardown);
		tcase_set_timeout(tc, 90);
		for (size_t j = 0; cases[i].tests[j]; j++)
			tcase_add_test(tc, cases[i].tests[j]);
		suite_add_tcase(s, tc);
	}
	/* A FUSE mount of the kernel's own (no libfuse, no helper): needs /dev/fuse. */
	if (access("/dev/fuse", R_OK | W_OK) == 0) {
		TCase *tc = tcase_create("signals-held");

		tcase_add_checked_fixture(tc, abuse_setup, abuse_teardown);
		tcase_set_timeout(tc, 90);
		tcase_add_test(tc, test_signal_before_exec_held);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "signals-held: skipped (no /dev/fuse)\n");
	return s;
}

int
main(void)
{
	return harness_main(abuse_suite());
}
