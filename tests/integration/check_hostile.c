/* SPDX-License-Identifier: MIT */
/*
 * A hostile raw client against the real spawnd (HOSTILE.md sections A, C, E):
 * framing errors must get Failed{PROTOCOL} with id 0 and a dropped
 * connection, with every fd that rode on the message closed; invalid
 * requests get Failed{DECODE} and the connection stays usable. After each
 * case the daemon's fd count is back at its baseline and it still serves a
 * normal request.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rawclient.h"

/* The daemon's fd count when idle, taken in the setup. */
static int baseline_fds;

/* Checked fixture: start the daemon, warm it up, record its idle fd count. */
static void
hostile_setup(void)
{
	fx_start(NULL);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
	ck_assert_int_gt(baseline_fds, 0);
}

static void
hostile_teardown(void)
{
	assert_fds_at(baseline_fds, "after the test");
	assert_daemon_serves();
	assert_fds_at(baseline_fds, "after a request that followed the test");
	fx_teardown();
}

/* Send m and free it. */
static void
send_msg(int sock, struct msg *m, const int *fds, size_t n_fds)
{
	ck_send_msg(sock, m, fds, n_fds);
	msg_free(m);
}

/* Send m (freed) and expect Failed{DECODE, EINVAL} for its id, the connection kept. */
static void
expect_invalid(int sock, struct msg *m, const char *what)
{
	uint64_t id = m->req.id;

	send_msg(sock, m, NULL, 0);
	ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, what);
}

/* ---- framing errors: Failed{PROTOCOL} id 0, dropped, fds closed ---- */

START_TEST(test_garbage_datagram_drops_connection)
{
	static const char garbage[] = "\xff\xff\xff\xff\x0f not a protobuf message \x00\x01";
	struct witness w;
	int sock = ck_connect();

	witness_open(&w);
	ck_send_raw(sock, garbage, sizeof(garbage), &w.wr, 1);
	ck_expect_drop(sock, "a garbage datagram");
	witness_assert_closed(&w, "a garbage datagram");
	(void)close(sock);
}
END_TEST

/* A datagram over SPAWND_MAX_MESSAGE_BYTES arrives truncated (MSG_TRUNC). */
START_TEST(test_oversized_message_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	size_t big = 200 * 1024, len;
	int sndbuf = 4 * 1024 * 1024, sock = ck_connect();
	struct msg *m = msg_spawn(7, "nobody", argv);
	struct witness w;
	char *arg = malloc(big);
	uint8_t *buf;

	ck_assert_ptr_nonnull(arg);
	memset(arg, 'A', big);
	msg_arg(m, arg, big);
	buf = msg_pack(m, &len);
	ck_assert_uint_gt(len, SPAWND_MAX_MESSAGE_BYTES);
	/* The kernel caps one SEQPACKET send at SO_SNDBUF: raise it (root may force). */
	ck_assert_int_eq(setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)), 0);

	witness_open(&w);
	ck_send_raw(sock, buf, len, &w.wr, 1);
	ck_expect_drop(sock, "an oversized message");
	witness_assert_closed(&w, "an oversized message");
	free(buf);
	free(arg);
	msg_free(m);
	(void)close(sock);
}
END_TEST

/* An old daemon must not silently ignore a new (security) field: top level. */
START_TEST(test_unknown_field_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	struct msg *m = msg_spawn(9, "nobody", argv);
	struct witness w;
	uint8_t field[16];
	int sock = ck_connect();

	/* Append field 15, varint 1: valid protobuf, unknown to the schema. */
	msg_append_raw(m, field, pb_field_varint(field, 15, 1));
	witness_open(&w);
	send_msg(sock, m, &w.wr, 1);
	ck_expect_drop(sock, "an unknown top-level field");
	witness_assert_closed(&w, "an unknown top-level field");
	(void)close(sock);
}
END_TEST

/* The same, nested inside the Spawn and inside an FdMap. */
START_TEST(test_unknown_nested_field_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	static const uint8_t one = 1;
	ProtobufCMessageUnknownField uf = {
		.tag = 99,
		.wire_type = PROTOBUF_C_WIRE_TYPE_VARINT,
		.len = 1,
		.data = (uint8_t *)&one,
	};

	for (int where = 0; where < 2; where++) {
		const char *what = where == 0 ? "an unknown field in the Spawn"
					      : "an unknown field in an FdMap";
		struct msg *m = msg_spawn(10, "nobody", argv);
		struct witness w;
		int sock = ck_connect();

		witness_open(&w);
		msg_map(m, 0, 1);
		if (where == 0) {
			m->spawn.base.n_unknown_fields = 1;
			m->spawn.base.unknown_fields = &uf;
		} else {
			m->maps[0].base.n_unknown_fields = 1;
			m->maps[0].base.unknown_fields = &uf;
		}
		send_msg(sock, m, &w.wr, 1);
		ck_expect_drop(sock, what);
		witness_assert_closed(&w, what);
		(void)close(sock);
	}
}
END_TEST

/* A protocol major version the daemon does not speak is refused. */
START_TEST(test_wrong_version_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	const uint32_t versions[] = {0, SPAWND_PROTOCOL_VERSION + 1, 0xffffffffu};

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct msg *m = msg_spawn(11, "nobody", argv);
		struct witness w;
		int sock = ck_connect();

		witness_open(&w);
		m->req.version = versions[i];
		send_msg(sock, m, &w.wr, 1);
		ck_expect_drop(sock, "a wrong protocol version");
		witness_assert_closed(&w, "a wrong protocol version");
		(void)close(sock);
	}
}
END_TEST

/*
 * 100 fds on one message: more than the daemon's control buffer holds
 * (MSG_CTRUNC). The fds that did arrive must all be closed.
 */
START_TEST(test_fd_flood_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	int fds[100], sock = ck_connect();
	struct msg *m = msg_spawn(12, "nobody", argv);
	struct witness w;

	witness_open(&w);
	for (int i = 0; i < 100; i++)
		fds[i] = w.wr;
	msg_map(m, 0, 1);
	send_msg(sock, m, fds, 100);
	ck_expect_drop(sock, "100 fds on one message");
	witness_assert_closed(&w, "100 fds on one message");
	(void)close(sock);
}
END_TEST

/*
 * SCM_CREDENTIALS claiming to be nobody, from a root client (the kernel lets
 * root claim any uid). Identity comes only from SO_PEERCRED: the daemon
 * either refuses the message (it sets SO_PASSCRED and requires each
 * message's credentials to be the connection's, docs/protocol.md) or
 * serves it as root. Either way the child must see the kernel's identity,
 * never the claimed one.
 */
START_TEST(test_scm_credentials_never_identify)
{
	const char *argv[] = {fx.probe, NULL};
	struct msg *m = msg_spawn(13, "root", argv);
	struct ucred cred = {.pid = getpid(), .uid = 65534, .gid = 65534};
	Spawnd__V1__Reply *rep;
	int p[2], sock = ck_connect();

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	msg_map(m, 0, 1);
	ck_send_msg_cred(sock, m, &p[1], 1, &cred);
	msg_free(m);
	(void)close(p[1]);

	rep = ck_reply(sock, 10000, "a message claiming SCM_CREDENTIALS of nobody");
	if (rep->body_case == SPAWND__V1__REPLY__BODY_FAILED) {
		ck_assert_int_eq(rep->failed->stage, SPAWND__V1__STAGE__STAGE_PROTOCOL);
		ck_assert_uint_eq(rep->id, 0);
		wire_reply_free(rep);
		ck_expect_eof(sock, "after a refused SCM_CREDENTIALS message");
	} else {
		struct report out;

		ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_STARTED);
		wire_reply_free(rep);
		ck_assert_int_eq(report_read_fd(p[0], &out, 10000), 0);
		ASSERT_STREQ_REPORT(&out, "env.SPAWND_UID", "0");
		ASSERT_STREQ_REPORT(&out, "env.SPAWND_USER", "root");
		ck_assert_int_eq(report_num(&out, "uid", 10), 0);
		report_done(&out);
		ck_expect_exited(sock, 13, 0, 0, "the probe run as root");
	}
	(void)close(p[0]);
	(void)close(sock);
}
END_TEST

/* ---- invalid requests: Failed{DECODE}, the connection stays ---- */

/*
 * Each request is invalid in one way; each gets Failed{DECODE, EINVAL}
 * with its own id, on one connection that keeps working, and every fd
 * that rode along is closed (HOSTILE.md A4, A5, C11, D17, E19).
 */
START_TEST(test_invalid_requests_refused_connection_kept)
{
	static const char nul_path[] = "/bin/tr\0ue";
	static const char nul_arg[] = "a\0b";
	static const char nul_cwd[] = "/tmp\0/x";
	const char *ok_argv[] = {"/bin/true", NULL};
	int sock = ck_connect();
	uint64_t id = 100;
	struct msg *m;

	/* argc == 0 */
	expect_invalid(sock, msg_spawn(++id, "nobody", NULL), "argc == 0");
	/* empty argv[0] */
	expect_invalid(sock, msg_spawn(++id, "nobody", (const char *const[]){"", NULL}),
		       "empty argv[0]");
	/* NUL inside argv[0] and inside an argument */
	m = msg_spawn(++id, "nobody", NULL);
	msg_arg(m, nul_path, sizeof(nul_path) - 1);
	expect_invalid(sock, m, "NUL in argv[0]");
	m = msg_spawn(++id, "nobody", ok_argv);
	msg_arg(m, nul_arg, sizeof(nul_arg) - 1);
	expect_invalid(sock, m, "NUL in argv[1]");
	/* relative paths with a slash */
	{
		const char *rel[] = {"./true", "bin/true", "../bin/true", NULL};

		for (int i = 0; rel[i]; i++)
			expect_invalid(
				sock,
				msg_spawn(++id, "nobody", (const char *const[]){rel[i], NULL}),
				rel[i]);
	}
	/* exec_path is checked as argv[0] is: empty, NUL, relative with a slash */
	{
		static const char nul_exec[] = "/bin/s\0h";
		const char *bad[] = {"", "./true", "bin/true", NULL};

		for (int i = 0; bad[i]; i++) {
			m = msg_spawn(++id, "nobody", ok_argv);
			m->spawn.has_exec_path = 1;
			m->spawn.exec_path =
				(ProtobufCBinaryData){strlen(bad[i]), (uint8_t *)bad[i]};
			expect_invalid(sock, m, "bad exec_path");
		}
		m = msg_spawn(++id, "nobody", ok_argv);
		m->spawn.has_exec_path = 1;
		m->spawn.exec_path =
			(ProtobufCBinaryData){sizeof(nul_exec) - 1, (uint8_t *)nul_exec};
		expect_invalid(sock, m, "NUL in exec_path");
	}
	/* no_groups contradicts a list of groups */
	m = msg_spawn(++id, "nobody", ok_argv);
	msg_group(m, "nogroup", strlen("nogroup"));
	m->spawn.has_no_groups = 1;
	m->spawn.no_groups = 1;
	expect_invalid(sock, m, "no_groups with groups");
	/* relative cwd; NUL in cwd */
	m = msg_spawn(++id, "nobody", ok_argv);
	msg_set_cwd(m, "tmp");
	expect_invalid(sock, m, "relative cwd");
	m = msg_spawn(++id, "nobody", ok_argv);
	msg_set_cwd_bytes(m, nul_cwd, sizeof(nul_cwd) - 1);
	expect_invalid(sock, m, "NUL in cwd");
	/* missing user: must never default to root */
	expect_invalid(sock, msg_spawn(++id, NULL, ok_argv), "missing user");
	/* malformed and duplicate environment entries, in both lists */
	{
		const char *bad[][2] = {
			{"NOEQUALS", NULL}, {"=value", NULL}, {"A=1", "A=2"}, {NULL, NULL}};

		for (int list = 0; list < 2; list++)
			for (int i = 0; bad[i][0]; i++) {
				m = msg_spawn(++id, "nobody", ok_argv);
				for (size_t j = 0; j < 2 && bad[i][j]; j++)
					msg_env(m, list == 1, bad[i][j], strlen(bad[i][j]));
				expect_invalid(sock, m, bad[i][0]);
			}
	}
	/* NUL inside an environment entry */
	{
		static const char nul_env[] = "TERM=x\0LD_PRELOAD=/evil.so";

		m = msg_spawn(++id, "nobody", ok_argv);
		msg_env(m, false, nul_env, sizeof(nul_env) - 1);
		expect_invalid(sock, m, "NUL in env");
	}
	/* on_disconnect value this daemon does not know; kill grace over the cap */
	m = msg_spawn(++id, "nobody", ok_argv);
	m->spawn.has_on_disconnect = 1;
	m->spawn.on_disconnect = (Spawnd__V1__OnDisconnect)7;
	expect_invalid(sock, m, "unknown on_disconnect");
	m = msg_spawn(++id, "nobody", ok_argv);
	m->spawn.has_kill_grace_ms = 1;
	m->spawn.kill_grace_ms = SPAWND_MAX_KILL_GRACE_MS + 1;
	expect_invalid(sock, m, "kill grace over the cap");
	/* umask out of range */
	m = msg_spawn(++id, "nobody", ok_argv);
	m->spawn.has_umask = 1;
	m->spawn.umask = 01000;
	expect_invalid(sock, m, "umask 01000");
	/* fd maps: index out of range, duplicate target, target too high, fd not mapped */
	{
		struct {
			unsigned n_fds;
			unsigned maps[3][2];
			unsigned n_maps;
			const char *what;
		} cases[] = {
			{1, {{1, 1}}, 1, "fd index out of range"},
			{2, {{0, 1}, {1, 1}}, 2, "duplicate target"},
			{1, {{0, SPAWND_MAX_TARGET_FD + 1}}, 1, "target above the cap"},
			{2, {{0, 1}}, 1, "a received fd not mapped"},
			{0, {{0, 1}}, 1, "a map without fds"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct witness w;
			int fds[3];

			witness_open(&w);
			for (unsigned j = 0; j < cases[i].n_fds; j++)
				fds[j] = w.wr;
			m = msg_spawn(++id, "nobody", ok_argv);
			for (unsigned j = 0; j < cases[i].n_maps; j++)
				msg_map(m, cases[i].maps[j][0], cases[i].maps[j][1]);
			send_msg(sock, m, fds, cases[i].n_fds);
			ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
					 cases[i].what);
			witness_assert_closed(&w, cases[i].what);
		}
	}
	/* a request without a body; a Signal with signo 0 and 65 */
	expect_invalid(sock, msg_request(++id), "no body");
	expect_invalid(sock, msg_signal(++id, 1, 0, false), "signo 0");
	expect_invalid(sock, msg_signal(++id, 1, 65, false), "signo 65");
	/* A valid Signal for a spawn this connection never made. */
	send_msg(sock, msg_signal(++id, 424242, SIGKILL, false), NULL, 0);
	ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "foreign spawn id");

	/* After all that, the same connection still runs a valid request. */
	send_msg(sock, msg_spawn(++id, "nobody", ok_argv), NULL, 0);
	(void)ck_expect_started(sock, id, "a valid request after errors");
	ck_expect_exited(sock, id, 0, 0, "a valid request after errors");
	(void)close(sock);
}
END_TEST

/* ---- connection caps ---- */

#define FLOOD_CONNECTIONS ((int)SPAWND_MAX_CONNECTIONS_PER_UID + 16)

/* True when the daemon closed sock (EOF, possibly after one Failed{LIMIT}). */
static bool
closed_by_daemon(int sock)
{
	for (int tries = 0; tries < 2; tries++) {
		char buf[4096];
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
	}
	return false;
}

static int
count_closed(const int *socks, bool *closed)
{
	int n = 0;

	for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
		if (!closed[i] && closed_by_daemon(socks[i]))
			closed[i] = true;
		n += closed[i];
	}
	return n;
}

/*
 * Runs as nobody (fork_client): open more connections than the per-uid
 * cap, wait for the excess to be closed and report the count; then, once
 * the test has had a request served behind all of them (so the daemon has
 * accepted every one), count again and report; hold the rest until the test
 * hangs up.
 */
static int
connection_flood(void *arg, int ctl)
{
	const int expected = FLOOD_CONNECTIONS - (int)SPAWND_MAX_CONNECTIONS_PER_UID;
	int socks[FLOOD_CONNECTIONS], refused = 0;
	bool closed[FLOOD_CONNECTIONS] = {false};
	uint64_t end;

	(void)arg;
	for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
		socks[i] = rc_connect(fx.sock);
		if (socks[i] < 0) {
			rc_report(ctl, "error=connect %d: %s", i, strerror(-socks[i]));
			return 1;
		}
	}
	/* Under load, accepting 80 connections takes a while. */
	end = now_usec() + 20 * USEC_PER_SEC;
	while ((refused = count_closed(socks, closed)) < expected && now_usec() < end)
		harness_sleep_ms(20);
	rc_report(ctl, "refused=%d", refused);
	if (rc_wait_go(ctl) != 'g')
		return 1;
	rc_report(ctl, "refused=%d", count_closed(socks, closed));
	(void)rc_wait_go(ctl);
	return 0;
}

/*
 * HOSTILE.md A2: one uid opening more than SPAWND_MAX_CONNECTIONS_PER_UID
 * connections gets the excess closed, no more, and other users are still
 * served meanwhile.
 */
START_TEST(test_connection_cap_per_uid)
{
	const int expected = FLOOD_CONNECTIONS - (int)SPAWND_MAX_CONNECTIONS_PER_UID;
	struct user_ids nobody;
	char line[128], want[64];
	int ctl;
	pid_t pid;

	lookup_user("nobody", &nobody);
	xsnprintf(want, sizeof(want), "refused=%d", expected);
	pid = fork_client(nobody.uid, nobody.gid, connection_flood, NULL, &ctl);
	ck_client_line(ctl, line, sizeof(line), 30000, "the flood");
	ck_assert_str_eq(line, want);

	/*
	 * While nobody holds its connections, root is served. Root's
	 * connection was queued after all of nobody's, so the daemon has
	 * accepted (and refused) every one of them by now: a refusal too many
	 * would show in the second count.
	 */
	assert_daemon_serves();
	ck_client_go(ctl, 'g');
	ck_client_line(ctl, line, sizeof(line), 10000, "the count after a served request");
	ck_assert_str_eq(line, want);
	ck_client_done(pid, ctl, "the flood");
}
END_TEST

static Suite *
hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, hostile_setup, hostile_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_garbage_datagram_drops_connection);
	tcase_add_test(tc, test_oversized_message_drops_connection);
	tcase_add_test(tc, test_unknown_field_drops_connection);
	tcase_add_test(tc, test_unknown_nested_field_drops_connection);
	tcase_add_test(tc, test_wrong_version_drops_connection);
	tcase_add_test(tc, test_fd_flood_drops_connection);
	tcase_add_test(tc, test_scm_credentials_never_identify);
	suite_add_tcase(s, tc);

	tc = tcase_create("validation");
	tcase_add_checked_fixture(tc, hostile_setup, hostile_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_invalid_requests_refused_connection_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_add_checked_fixture(tc, hostile_setup, hostile_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_connection_cap_per_uid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(hostile_suite());
}
