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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "spawnd.pb-c.h"
#include "wire.h"

/* The daemon's fd count when idle, taken in the setup. */
static int baseline_fds;

static void
assert_fds_at_baseline(void)
{
	int n = proc_wait_fd_count(fx.pid, baseline_fds, 5000);

	ck_assert_msg(n == baseline_fds, "daemon fd count %d, baseline %d", n, baseline_fds);
}

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
	assert_fds_at_baseline();
	assert_daemon_serves();
	assert_fds_at_baseline();
	fx_teardown();
}

/* ---- the raw client ---- */

static int
raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sa.sun_path, fx.sock);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
		      strerror(errno));
	return fd;
}

/* sendmsg one datagram with fds (n_fds may exceed what the daemon accepts). */
static void
raw_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	char *control = NULL;
	ssize_t n;

	if (n_fds > 0) {
		struct cmsghdr *cm;

		control = calloc(1, CMSG_SPACE(sizeof(int) * n_fds));
		ck_assert_ptr_nonnull(control);
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	free(control);
	ck_assert_msg(n == (ssize_t)len, "sendmsg of %zu bytes: %zd (%s)", len, n, strerror(errno));
}

/*
 * Receive one reply: 1 with *ret set, 0 on EOF (connection dropped),
 * -ETIMEDOUT. Fds riding on a reply (a pidfd) are closed.
 */
static int
raw_recv(int sock, Spawnd__V1__Reply **ret, unsigned timeout_ms)
{
	static uint8_t buf[SPAWND_MAX_MESSAGE_BYTES + 1];
	struct pollfd p = {.fd = sock, .events = POLLIN};
	int fds[SPAWND_MAX_FDS];
	size_t len, n_fds;
	int k;

	do
		k = poll(&p, 1, (int)timeout_ms);
	while (k < 0 && errno == EINTR);
	ck_assert_int_ge(k, 0);
	if (k == 0)
		return -ETIMEDOUT;
	k = wire_recv(sock, buf, sizeof(buf), &len, fds, &n_fds);
	if (k == -ECONNRESET)
		return 0;
	ck_assert_msg(k >= 0, "wire_recv: %s", strerror(-k));
	if (k == 0)
		return 0;
	wire_close_fds(fds, n_fds);
	k = wire_reply_unpack(buf, len, ret);
	ck_assert_msg(k == 0, "undecodable reply from the daemon: %s", strerror(-k));
	return 1;
}

/* Expect Failed{PROTOCOL} with id 0, then EOF: the daemon dropped us. */
static void
expect_protocol_drop(int sock)
{
	Spawnd__V1__Reply *rep = NULL;
	int k = raw_recv(sock, &rep, 5000);

	ck_assert_msg(k == 1, "expected Failed{PROTOCOL} before the drop, got %s",
		      k == 0 ? "EOF" : "nothing");
	ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_FAILED);
	ck_assert_int_eq(rep->failed->stage, SPAWND__V1__STAGE__STAGE_PROTOCOL);
	ck_assert_uint_eq(rep->id, 0);
	wire_reply_free(rep);
	k = raw_recv(sock, &rep, 5000);
	ck_assert_msg(k == 0, "the daemon kept the connection after a framing error");
}

/* Expect Failed{stage, err} for request id on a connection that stays open. */
static void
expect_failed(int sock, uint64_t id, Spawnd__V1__Stage stage, int err, const char *what)
{
	Spawnd__V1__Reply *rep = NULL;
	int k = raw_recv(sock, &rep, 5000);

	ck_assert_msg(k == 1, "%s: expected Failed{%s, %s}, got %s", what,
		      spawnd_stage_to_string((spawnd_stage)stage), strerror(err),
		      k == 0 ? "EOF (dropped)" : "no reply");
	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_FAILED,
		      "%s: expected Failed, got reply body %d", what, (int)rep->body_case);
	ck_assert_msg(rep->failed->stage == stage && rep->failed->errnum == err && rep->id == id,
		      "%s: expected Failed{%s, %s} id %llu, got Failed{%s, %s (%s)} id %llu", what,
		      spawnd_stage_to_string((spawnd_stage)stage), strerror(err),
		      (unsigned long long)id,
		      spawnd_stage_to_string((spawnd_stage)rep->failed->stage),
		      strerror(rep->failed->errnum), rep->failed->detail ? rep->failed->detail : "",
		      (unsigned long long)rep->id);
	wire_reply_free(rep);
}

/*
 * A pipe whose write end rides on a hostile message: once we close our own
 * copy, EOF on the read end proves the daemon closed every copy it got.
 */
struct witness {
	int rd, wr;
};

static void
witness_open(struct witness *w)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	w->rd = p[0];
	w->wr = p[1];
}

static void
witness_assert_closed(struct witness *w)
{
	struct pollfd p = {.fd = w->rd, .events = POLLIN};
	char c;
	int k;

	(void)close(w->wr);
	w->wr = -1;
	do
		k = poll(&p, 1, 5000);
	while (k < 0 && errno == EINTR);
	ck_assert_msg(k == 1 && read(w->rd, &c, 1) == 0,
		      "the daemon kept a received fd open after dropping the message");
	(void)close(w->rd);
}

/* ---- requests ---- */

/* A Spawn of argv as user, with fd maps (index -> target) for n_maps fds. */
struct spawn_msg {
	Spawnd__V1__Request req;
	Spawnd__V1__Spawn spawn;
	ProtobufCBinaryData argv[8];
	Spawnd__V1__FdMap maps[8], *map_ptrs[8];
	ProtobufCBinaryData env[4];
};

static void
spawn_msg_init(struct spawn_msg *m, uint64_t id, const char *user, const char *const *argv)
{
	memset(m, 0, sizeof(*m));
	spawnd__v1__request__init(&m->req);
	spawnd__v1__spawn__init(&m->spawn);
	m->req.version = SPAWND_PROTOCOL_VERSION;
	m->req.id = id;
	m->req.body_case = SPAWND__V1__REQUEST__BODY_SPAWN;
	m->req.spawn = &m->spawn;
	for (size_t i = 0; argv && argv[i]; i++) {
		m->argv[i].data = (uint8_t *)argv[i];
		m->argv[i].len = strlen(argv[i]);
		m->spawn.n_argv = i + 1;
	}
	m->spawn.argv = m->argv;
	if (user) {
		m->spawn.has_user = 1;
		m->spawn.user.data = (uint8_t *)user;
		m->spawn.user.len = strlen(user);
	}
}

static void
spawn_msg_map(struct spawn_msg *m, unsigned index, unsigned target)
{
	size_t i = m->spawn.n_fds;

	spawnd__v1__fd_map__init(&m->maps[i]);
	m->maps[i].index = index;
	m->maps[i].target = target;
	m->map_ptrs[i] = &m->maps[i];
	m->spawn.fds = m->map_ptrs;
	m->spawn.n_fds = i + 1;
}

/* Pack any message without the library's size cap (for the oversize case). */
static uint8_t *
pack_uncapped(const ProtobufCMessage *msg, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len + 16);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(protobuf_c_message_pack(msg, buf), len);
	*ret_len = len;
	return buf;
}

static void
send_msg(int sock, const ProtobufCMessage *msg, const int *fds, size_t n_fds)
{
	size_t len;
	uint8_t *buf = pack_uncapped(msg, &len);

	raw_send(sock, buf, len, fds, n_fds);
	free(buf);
}

/* ---- framing errors: Failed{PROTOCOL} id 0, dropped, fds closed ---- */

START_TEST(test_garbage_datagram_drops_connection)
{
	static const char garbage[] = "\xff\xff\xff\xff\x0f not a protobuf message \x00\x01";
	struct witness w;
	int sock = raw_connect();

	witness_open(&w);
	raw_send(sock, garbage, sizeof(garbage), &w.wr, 1);
	expect_protocol_drop(sock);
	witness_assert_closed(&w);
	(void)close(sock);
}
END_TEST

/* A datagram over SPAWND_MAX_MESSAGE_BYTES arrives truncated (MSG_TRUNC). */
START_TEST(test_oversized_message_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL, NULL};
	size_t big = 200 * 1024, len;
	int sndbuf = 4 * 1024 * 1024, sock = raw_connect();
	struct spawn_msg m;
	struct witness w;
	char *arg = malloc(big + 1);
	uint8_t *buf;

	ck_assert_ptr_nonnull(arg);
	memset(arg, 'A', big);
	arg[big] = '\0';
	argv[1] = arg;
	spawn_msg_init(&m, 7, "nobody", argv);
	buf = pack_uncapped(&m.req.base, &len);
	ck_assert_uint_gt(len, SPAWND_MAX_MESSAGE_BYTES);
	/* The kernel caps one SEQPACKET send at SO_SNDBUF: raise it (root may force). */
	ck_assert_int_eq(setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)), 0);

	witness_open(&w);
	raw_send(sock, buf, len, &w.wr, 1);
	expect_protocol_drop(sock);
	witness_assert_closed(&w);
	free(buf);
	free(arg);
	(void)close(sock);
}
END_TEST

/* An old daemon must not silently ignore a new (security) field: top level. */
START_TEST(test_unknown_field_drops_connection)
{
	const char *argv[] = {"/bin/true", NULL};
	uint8_t *buf, *ext;
	struct spawn_msg m;
	struct witness w;
	size_t len;
	int sock = raw_connect();

	spawn_msg_init(&m, 9, "nobody", argv);
	buf = pack_uncapped(&m.req.base, &len);
	/* Append field 15, varint 1: valid protobuf, unknown to the schema. */
	ext = realloc(buf, len + 2);
	ck_assert_ptr_nonnull(ext);
	ext[len] = (15 << 3) | 0;
	ext[len + 1] = 1;
	witness_open(&w);
	raw_send(sock, ext, len + 2, &w.wr, 1);
	free(ext);
	expect_protocol_drop(sock);
	witness_assert_closed(&w);
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
		struct spawn_msg m;
		struct witness w;
		int sock = raw_connect();

		witness_open(&w);
		spawn_msg_init(&m, 10, "nobody", argv);
		spawn_msg_map(&m, 0, 1);
		if (where == 0) {
			m.spawn.base.n_unknown_fields = 1;
			m.spawn.base.unknown_fields = &uf;
		} else {
			m.maps[0].base.n_unknown_fields = 1;
			m.maps[0].base.unknown_fields = &uf;
		}
		send_msg(sock, &m.req.base, &w.wr, 1);
		expect_protocol_drop(sock);
		witness_assert_closed(&w);
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
		struct spawn_msg m;
		struct witness w;
		int sock = raw_connect();

		witness_open(&w);
		spawn_msg_init(&m, 11, "nobody", argv);
		m.req.version = versions[i];
		send_msg(sock, &m.req.base, &w.wr, 1);
		expect_protocol_drop(sock);
		witness_assert_closed(&w);
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
	int fds[100], sock = raw_connect();
	struct spawn_msg m;
	struct witness w;

	witness_open(&w);
	for (int i = 0; i < 100; i++)
		fds[i] = w.wr;
	spawn_msg_init(&m, 12, "nobody", argv);
	spawn_msg_map(&m, 0, 1);
	send_msg(sock, &m.req.base, fds, 100);
	expect_protocol_drop(sock);
	witness_assert_closed(&w);
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
	struct spawn_msg m;
	struct ucred cred = {.pid = getpid(), .uid = 65534, .gid = 65534};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	Spawnd__V1__Reply *rep = NULL;
	int p[2], sock = raw_connect(), k;
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	spawn_msg_init(&m, 13, "root", argv);
	spawn_msg_map(&m, 0, 1);
	buf = pack_uncapped(&m.req.base, &len);
	iov.iov_base = buf;
	iov.iov_len = len;
	memset(&control, 0, sizeof(control));
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(cm), &cred, sizeof(cred));
	cm = CMSG_NXTHDR(&mh, cm);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
	free(buf);
	(void)close(p[1]);

	k = raw_recv(sock, &rep, 10000);
	ck_assert_int_eq(k, 1);
	if (rep->body_case == SPAWND__V1__REPLY__BODY_FAILED) {
		ck_assert_int_eq(rep->failed->stage, SPAWND__V1__STAGE__STAGE_PROTOCOL);
		ck_assert_uint_eq(rep->id, 0);
		wire_reply_free(rep);
		ck_assert_int_eq(raw_recv(sock, &rep, 5000), 0);
	} else {
		struct report out;

		ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_STARTED);
		wire_reply_free(rep);
		ck_assert_int_eq(report_read_fd(p[0], &out, 10000), 0);
		ASSERT_STREQ_REPORT(&out, "env.SPAWND_UID", "0");
		ASSERT_STREQ_REPORT(&out, "env.SPAWND_USER", "root");
		ck_assert_int_eq(report_num(&out, "uid", 10), 0);
		report_done(&out);
		ck_assert_int_eq(raw_recv(sock, &rep, 10000), 1);
		ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_EXITED);
		wire_reply_free(rep);
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
	const char *ok_argv[] = {"/bin/true", NULL};
	int sock = raw_connect();
	uint64_t id = 100;

	/* argc == 0 */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", NULL);
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "argc == 0");
	}
	/* empty argv[0] */
	{
		const char *argv[] = {"", NULL};
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", argv);
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "empty argv[0]");
	}
	/* NUL inside argv[0] and inside an argument */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.argv[0].data = (uint8_t *)nul_path;
		m.argv[0].len = sizeof(nul_path) - 1;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in argv[0]");

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.argv[1].data = (uint8_t *)nul_arg;
		m.argv[1].len = sizeof(nul_arg) - 1;
		m.spawn.n_argv = 2;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in argv[1]");
	}
	/* relative paths with a slash */
	{
		const char *rel[] = {"./true", "bin/true", "../bin/true", NULL};

		for (int i = 0; rel[i]; i++) {
			const char *argv[] = {rel[i], NULL};
			struct spawn_msg m;

			spawn_msg_init(&m, ++id, "nobody", argv);
			send_msg(sock, &m.req.base, NULL, 0);
			expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, rel[i]);
		}
	}
	/* relative cwd; NUL in cwd */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.spawn.has_cwd = 1;
		m.spawn.cwd.data = (uint8_t *)"tmp";
		m.spawn.cwd.len = 3;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "relative cwd");

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.spawn.has_cwd = 1;
		m.spawn.cwd.data = (uint8_t *)"/tmp\0/x";
		m.spawn.cwd.len = 7;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in cwd");
	}
	/* missing user: must never default to root */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, NULL, ok_argv);
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "missing user");
	}
	/* malformed and duplicate environment entries, in both lists */
	{
		const char *bad[][2] = {
			{"NOEQUALS", NULL}, {"=value", NULL}, {"A=1", "A=2"}, {NULL, NULL}};

		for (int list = 0; list < 2; list++)
			for (int i = 0; bad[i][0]; i++) {
				struct spawn_msg m;
				size_t n = bad[i][1] ? 2 : 1;

				spawn_msg_init(&m, ++id, "nobody", ok_argv);
				for (size_t j = 0; j < n; j++) {
					m.env[j].data = (uint8_t *)bad[i][j];
					m.env[j].len = strlen(bad[i][j]);
				}
				if (list == 0) {
					m.spawn.env_inherit = m.env;
					m.spawn.n_env_inherit = n;
				} else {
					m.spawn.env_set = m.env;
					m.spawn.n_env_set = n;
				}
				send_msg(sock, &m.req.base, NULL, 0);
				expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
					      bad[i][0]);
			}
	}
	/* NUL inside an environment entry */
	{
		static const char nul_env[] = "TERM=x\0LD_PRELOAD=/evil.so";
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.env[0].data = (uint8_t *)nul_env;
		m.env[0].len = sizeof(nul_env) - 1;
		m.spawn.env_inherit = m.env;
		m.spawn.n_env_inherit = 1;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "NUL in env");
	}
	/* on_disconnect value this daemon does not know; kill grace over the cap */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.spawn.has_on_disconnect = 1;
		m.spawn.on_disconnect = (Spawnd__V1__OnDisconnect)7;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
			      "unknown on_disconnect");

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.spawn.has_kill_grace_ms = 1;
		m.spawn.kill_grace_ms = SPAWND_MAX_KILL_GRACE_MS + 1;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
			      "kill grace over the cap");
	}
	/* umask out of range */
	{
		struct spawn_msg m;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		m.spawn.has_umask = 1;
		m.spawn.umask = 01000;
		send_msg(sock, &m.req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "umask 01000");
	}
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
			struct spawn_msg m;
			struct witness w;
			int fds[3];

			witness_open(&w);
			for (unsigned j = 0; j < cases[i].n_fds; j++)
				fds[j] = w.wr;
			spawn_msg_init(&m, ++id, "nobody", ok_argv);
			for (unsigned j = 0; j < cases[i].n_maps; j++)
				spawn_msg_map(&m, cases[i].maps[j][0], cases[i].maps[j][1]);
			send_msg(sock, &m.req.base, fds, cases[i].n_fds);
			expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL,
				      cases[i].what);
			witness_assert_closed(&w);
		}
	}
	/* a request without a body; a Signal with signo 0 and 65 */
	{
		Spawnd__V1__Request req = SPAWND__V1__REQUEST__INIT;
		Spawnd__V1__Signal sig = SPAWND__V1__SIGNAL__INIT;

		req.version = SPAWND_PROTOCOL_VERSION;
		req.id = ++id;
		send_msg(sock, &req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "no body");

		req.id = ++id;
		req.body_case = SPAWND__V1__REQUEST__BODY_SIGNAL;
		req.signal = &sig;
		sig.spawn_id = 1;
		sig.signo = 0;
		send_msg(sock, &req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "signo 0");

		req.id = ++id;
		sig.signo = 65;
		send_msg(sock, &req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, "signo 65");

		/* A valid Signal for a spawn this connection never made. */
		req.id = ++id;
		sig.spawn_id = 424242;
		sig.signo = SIGKILL;
		send_msg(sock, &req.base, NULL, 0);
		expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "foreign spawn id");
	}

	/* After all that, the same connection still runs a valid request. */
	{
		struct spawn_msg m;
		Spawnd__V1__Reply *rep = NULL;

		spawn_msg_init(&m, ++id, "nobody", ok_argv);
		send_msg(sock, &m.req.base, NULL, 0);
		ck_assert_int_eq(raw_recv(sock, &rep, 10000), 1);
		ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_STARTED,
			      "valid request after errors: reply body %d", (int)rep->body_case);
		ck_assert_uint_eq(rep->id, id);
		wire_reply_free(rep);
		ck_assert_int_eq(raw_recv(sock, &rep, 10000), 1);
		ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_EXITED);
		ck_assert_int_eq(rep->exited->has_exit_code, 1);
		ck_assert_int_eq(rep->exited->exit_code, 0);
		wire_reply_free(rep);
	}
	(void)close(sock);
}
END_TEST

/* ---- connection caps ---- */

#define FLOOD_CONNECTIONS ((int)SPAWND_MAX_CONNECTIONS_PER_UID + 16)

/*
 * Runs as nobody: open more connections than the per-uid cap, count the
 * ones the daemon closed, report, then hold the rest until stdin (the
 * `go` pipe) closes.
 */
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

/*
 * Runs as nobody: open more connections than the per-uid cap, count the
 * ones the daemon closed, report, then hold the rest until the `go` pipe
 * closes.
 */
static int
connection_flood(int go, int out)
{
	const int expected = FLOOD_CONNECTIONS - (int)SPAWND_MAX_CONNECTIONS_PER_UID;
	int socks[FLOOD_CONNECTIONS], refused = 0;
	bool closed[FLOOD_CONNECTIONS] = {false};
	uint64_t end;

	for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		socks[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		strcpy(sa.sun_path, fx.sock);
		if (socks[i] < 0 || connect(socks[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			out_printf(out, "error=connect %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	/* Wait (under load, accepting 80 connections takes a while) for the refusals... */
	end = now_usec() + 20 * USEC_PER_SEC;
	while (refused < expected && now_usec() < end) {
		for (int i = 0; i < FLOOD_CONNECTIONS; i++)
			if (!closed[i] && closed_by_daemon(socks[i])) {
				closed[i] = true;
				refused++;
			}
		(void)usleep(20000);
	}
	/* ... then give the daemon time to (wrongly) refuse more, and count again. */
	(void)usleep(500000);
	for (int i = 0; i < FLOOD_CONNECTIONS; i++)
		if (!closed[i] && closed_by_daemon(socks[i])) {
			closed[i] = true;
			refused++;
		}
	out_printf(out, "refused=%d\n", refused);
	(void)close(out);
	{
		char c;

		(void)!read(go, &c, 1);
	}
	return 0;
}

/*
 * HOSTILE.md A2: one uid opening more than SPAWND_MAX_CONNECTIONS_PER_UID
 * connections gets the excess closed, and other users are still served
 * meanwhile.
 */
START_TEST(test_connection_cap_per_uid)
{
	struct user_ids nobody;
	struct report rep;
	int go[2], out[2], status;
	pid_t pid;

	lookup_user("nobody", &nobody);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)close(go[1]);
		(void)close(out[0]);
		if (setgroups(0, NULL) < 0 || setresgid(nobody.gid, nobody.gid, nobody.gid) < 0 ||
		    setresuid(nobody.uid, nobody.uid, nobody.uid) < 0)
			_exit(120);
		_exit(connection_flood(go[0], out[1]));
	}
	(void)close(go[0]);
	(void)close(out[1]);
	ck_assert_int_eq(report_read_fd(out[0], &rep, 30000), 0);
	(void)close(out[0]);
	if (!report_get(&rep, "refused"))
		report_dump(&rep);
	ck_assert_int_eq(report_num(&rep, "refused", 10),
			 FLOOD_CONNECTIONS - (int)SPAWND_MAX_CONNECTIONS_PER_UID);
	report_done(&rep);

	/* While nobody holds its 64 connections, root is served. */
	assert_daemon_serves();

	(void)close(go[1]);
	status = wait_pid_deadline(pid, 10000);
	ck_assert_int_ne(status, -1);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
