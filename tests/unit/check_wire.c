/* SPDX-License-Identifier: MIT */
/*
 * Framing: one datagram = one message + its fds, through real SEQPACKET
 * sockets. Every malformed-frame case must be refused with every received
 * fd closed (the test counts /proc/self/fd).
 */
#define _GNU_SOURCE

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "fd-util.h"
#include "stage.h"
#include "wire.h"

static uint8_t buf[SPAWND_MAX_MESSAGE_BYTES + 1];

static void
make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void
raise_sndbuf(int fd, int size)
{
	/* SO_SNDBUFFORCE needs CAP_NET_ADMIN; fall back for non-root. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

START_TEST(test_roundtrip_with_fds)
{
	int sv[2], p[2], fds[SPAWND_MAX_FDS];
	size_t len = 0, n = 0;
	char c;

	make_pair(sv);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(wire_send(sv[0], "hello", 5, p, 2), 0);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), 1);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_uint_eq(n, 2);
	/* MSG_CMSG_CLOEXEC: received fds are never inheritable by accident. */
	ck_assert_int_eq(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(fds[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* They are the same pipe. */
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	wire_close_fds(fds, n);
	ck_assert_int_eq(fds[0], -EBADF);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_eof_and_eagain)
{
	int sv[2], fds[SPAWND_MAX_FDS];
	size_t len, n;

	make_pair(sv);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), -EAGAIN);
	close(sv[0]);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), 0);
	close(sv[1]);
}
END_TEST

/* One byte and n fds in one sendmsg(), past wire_send()'s own cap. */
static void
send_many_fds(int sock, const int *fds, size_t n)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * WIRE_RECV_MAX_FDS)];
	} control;
	struct iovec iov = {.iov_base = (void *)"x", .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	ck_assert_uint_le(n, WIRE_RECV_MAX_FDS);
	memset(&control, 0, sizeof(control));
	mh.msg_control = control.b;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	ck_assert_int_eq(sendmsg(sock, &mh, 0), 1);
}

START_TEST(test_too_many_fds_ctrunc)
{
	/* More fds than the receive buffer has room for: the kernel sets
	 * MSG_CTRUNC but installs the fds that fit (systemd#15457). */
	enum { N = 100 };
	int sv[2], fds[SPAWND_MAX_FDS], many[N];
	size_t len, n = 99;
	int before, devnull;

	make_pair(sv);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < N; i++)
		many[i] = devnull;
	send_many_fds(sv[0], many, N);

	before = fd_count(0);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), -EBADMSG);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(fd_count(0), before);
	close(devnull);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_oversize_trunc)
{
	int sv[2], fds[SPAWND_MAX_FDS], p[2];
	size_t big = SPAWND_MAX_MESSAGE_BYTES + 100, len, n;
	char *data = calloc(1, big);
	struct iovec iov = {.iov_base = data, .iov_len = big};
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * 2)];
	} control;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	int before;

	make_pair(sv);
	raise_sndbuf(sv[0], 4 * 1024 * 1024);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	memset(&control, 0, sizeof(control));
	mh.msg_control = control.b;
	mh.msg_controllen = sizeof(control.b);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	memcpy(CMSG_DATA(cm), p, sizeof(p));
	if (sendmsg(sv[0], &mh, 0) < 0) {
		/* Without privilege the kernel may refuse such a big datagram;
		 * then the sender is already stopped by the kernel. */
		ck_assert_int_eq(errno, EMSGSIZE);
		goto out;
	}
	close(p[0]);
	close(p[1]);
	before = fd_count(0);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), -EBADMSG);
	/* The two fds that came with it were closed. */
	ck_assert_int_eq(fd_count(0), before);
	/* And wire_send refuses to produce such a datagram at all. */
	ck_assert_int_eq(wire_send(sv[0], data, big, NULL, 0), -EMSGSIZE);
out:
	free(data);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_credentials_cmsg_refused)
{
	/* The client side stays strict: a reply carrying SCM_CREDENTIALS
	 * (here delivered because the receiver asked for them) is a
	 * protocol error. */
	int sv[2], fds[SPAWND_MAX_FDS], one = 1, p[2];
	size_t len, n;
	int before;

	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(wire_send(sv[0], "x", 1, p, 2), 0);
	close(p[0]);
	close(p[1]);
	before = fd_count(0);
	ck_assert_int_eq(wire_recv(sv[1], buf, sizeof(buf), &len, fds, &n), -EBADMSG);
	ck_assert_int_eq(fd_count(0), before);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * The daemon side takes every fd a datagram can carry (SCM_MAX_FD) into
 * the table, so the kernel drops none of them on the receiving thread (a
 * drop can end a file's last reference, whose release may wait: HOSTILE
 * 46). More than SPAWND_MAX_FDS is -EBADMSG with all of them left to the
 * caller, open; none is closed here.
 */
START_TEST(test_recv_keeps_every_fd)
{
	int sv[2], one = 1, devnull, many[WIRE_RECV_MAX_FDS], fds[WIRE_RECV_MAX_FDS];
	struct ucred cred;
	size_t len, n = 0;
	int before;

	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(devnull, 0);
	for (size_t i = 0; i < WIRE_RECV_MAX_FDS; i++)
		many[i] = devnull;
	/* The kernel's own cap (SCM_MAX_FD): one more is refused by sendmsg. */
	send_many_fds(sv[0], many, WIRE_RECV_MAX_FDS);
	before = fd_count(0);
	ck_assert_int_eq(wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred),
			 -EBADMSG);
	ck_assert_uint_eq(n, WIRE_RECV_MAX_FDS);
	ck_assert_int_eq(fd_count(0), before + (int)WIRE_RECV_MAX_FDS);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_ge(fcntl(fds[i], F_GETFD), 0);
	wire_close_fds(fds, n);

	/* The same without credentials (the daemon's own socket pairs). */
	n = 0;
	{
		int pair[2];

		make_pair(pair);
		send_many_fds(pair[0], many, SPAWND_MAX_FDS + 1);
		before = fd_count(0);
		ck_assert_int_eq(wire_recv_keep(pair[1], buf, sizeof(buf), &len, fds, &n),
				 -EBADMSG);
		ck_assert_uint_eq(n, SPAWND_MAX_FDS + 1);
		ck_assert_int_eq(fd_count(0), before + (int)SPAWND_MAX_FDS + 1);
		wire_close_fds(fds, n);
		close(pair[0]);
		close(pair[1]);
	}
	close(devnull);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * The daemon side: with SO_PASSCRED every message comes with its sender's
 * credentials next to its fds, whether the kernel attached them
 * (wire_send) or the sender did (wire_send_with_creds, its effective ids).
 */
START_TEST(test_recv_with_creds)
{
	int sv[2], fds[WIRE_RECV_MAX_FDS], one = 1, p[2];
	struct ucred cred;
	size_t len = 0, n = 0;

	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);

	ck_assert_int_eq(wire_send(sv[0], "a", 1, p, 2), 0);
	ck_assert_int_eq(wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred), 1);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(cred.pid, getpid());
	ck_assert_uint_eq(cred.uid, getuid());
	ck_assert_uint_eq(cred.gid, getgid());
	wire_close_fds(fds, n);

	ck_assert_int_eq(wire_send_with_creds(sv[0], "bb", 2, p, 1), 0);
	ck_assert_int_eq(wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred), 1);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cred.pid, getpid());
	ck_assert_uint_eq(cred.uid, geteuid());
	ck_assert_uint_eq(cred.gid, getegid());
	wire_close_fds(fds, n);

	/* The most fds a message may carry still fit next to the credentials. */
	{
		int many[SPAWND_MAX_FDS];

		for (size_t i = 0; i < SPAWND_MAX_FDS; i++)
			many[i] = p[i % 2];
		ck_assert_int_eq(wire_send_with_creds(sv[0], "c", 1, many, SPAWND_MAX_FDS), 0);
		ck_assert_int_eq(
			wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred), 1);
		ck_assert_uint_eq(n, SPAWND_MAX_FDS);
		ck_assert_int_eq(cred.pid, getpid());
		wire_close_fds(fds, n);
	}
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * Without SO_PASSCRED on the receiver no credentials come: reported as
 * pid 0, which the daemon refuses. The kernel says the same (pid 0, the
 * overflow uid) for a message queued before the flag was set.
 */
START_TEST(test_recv_without_creds_is_pid_0)
{
	int sv[2], fds[SPAWND_MAX_FDS], one = 1;
	struct ucred cred;
	size_t len = 0, n = 0;

	make_pair(sv);
	ck_assert_int_eq(wire_send(sv[0], "a", 1, NULL, 0), 0);
	ck_assert_int_eq(wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred), 1);
	ck_assert_int_eq(cred.pid, 0);
	ck_assert_uint_eq(cred.uid, (uid_t)-1);
	ck_assert_uint_eq(cred.gid, (gid_t)-1);

	ck_assert_int_eq(wire_send(sv[0], "b", 1, NULL, 0), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_int_eq(wire_recv_with_creds(sv[1], buf, sizeof(buf), &len, fds, &n, &cred), 1);
	ck_assert_int_eq(cred.pid, 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static size_t
pack_request(Spawnd__V1__Request *r, uint8_t *out)
{
	return protobuf_c_message_pack(&r->base, out);
}

START_TEST(test_unpack_version_and_unknown_fields)
{
	Spawnd__V1__Request req = SPAWND__V1__REQUEST__INIT;
	Spawnd__V1__Signal sig = SPAWND__V1__SIGNAL__INIT;
	Spawnd__V1__Request *out = NULL;
	uint8_t b[256];
	size_t n;

	req.version = SPAWND_PROTOCOL_VERSION;
	req.id = 7;
	req.body_case = SPAWND__V1__REQUEST__BODY_SIGNAL;
	req.signal = &sig;
	sig.spawn_id = 1;
	sig.signo = 15;

	n = pack_request(&req, b);
	ck_assert_int_eq(wire_request_unpack(b, n, &out), 0);
	ck_assert_uint_eq(out->id, 7);
	wire_request_free(out);

	/* An unknown top-level field (number 99, varint 1). */
	b[n] = (99 << 3) & 0xff;
	b[n] |= 0x80;
	b[n + 1] = 99 >> 4;
	b[n + 2] = 1;
	ck_assert_int_eq(wire_request_unpack(b, n + 3, &out), -EBADMSG);

	/* An unknown field nested inside Signal: an old daemon must not
	 * silently ignore a new option anywhere in the message. */
	{
		uint8_t inner[64], whole[128];
		size_t ni = protobuf_c_message_pack(&sig.base, inner), nw = 0;

		inner[ni++] = (20 << 3); /* field 20, varint */
		inner[ni++] = 1;
		whole[nw++] = (1 << 3);
		whole[nw++] = SPAWND_PROTOCOL_VERSION;
		whole[nw++] = (2 << 3);
		whole[nw++] = 7;
		whole[nw++] = (4 << 3) | 2; /* signal, length-delimited */
		whole[nw++] = (uint8_t)ni;
		memcpy(whole + nw, inner, ni);
		nw += ni;
		ck_assert_int_eq(wire_request_unpack(whole, nw, &out), -EBADMSG);
	}

	req.version = 2;
	n = pack_request(&req, b);
	ck_assert_int_eq(wire_request_unpack(b, n, &out), -EPROTONOSUPPORT);

	/* Garbage. */
	memset(b, 0xff, 32);
	ck_assert_int_eq(wire_request_unpack(b, 32, &out), -EBADMSG);
	/* Missing required fields (an empty message). */
	ck_assert_int_eq(wire_request_unpack(b, 0, &out), -EBADMSG);
}
END_TEST

START_TEST(test_unpack_budget)
{
	/* 60,000 empty argv entries are 120 KB on the wire but would cost
	 * protobuf-c far more heap: the counting allocator refuses. */
	size_t n_entries = 60000, o = 0;
	uint8_t *b = malloc(SPAWND_MAX_MESSAGE_BYTES);
	uint8_t *spawn = malloc(SPAWND_MAX_MESSAGE_BYTES);
	size_t ns = 0;
	Spawnd__V1__Request *out = NULL;

	for (size_t i = 0; i < n_entries; i++) {
		spawn[ns++] = (1 << 3) | 2;
		spawn[ns++] = 0;
	}
	b[o++] = (1 << 3);
	b[o++] = SPAWND_PROTOCOL_VERSION;
	b[o++] = (2 << 3);
	b[o++] = 1;
	b[o++] = (3 << 3) | 2;
	/* varint length of the nested Spawn */
	for (size_t v = ns;; v >>= 7) {
		b[o++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	memcpy(b + o, spawn, ns);
	o += ns;
	ck_assert_uint_le(o, SPAWND_MAX_MESSAGE_BYTES);
	ck_assert_int_eq(wire_request_unpack(b, o, &out), -E2BIG);
	free(b);
	free(spawn);
}
END_TEST

START_TEST(test_pack_cap)
{
	Spawnd__V1__Reply reply = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Failed failed = SPAWND__V1__FAILED__INIT;
	char *detail = malloc(SPAWND_MAX_MESSAGE_BYTES + 10);
	uint8_t *out;
	size_t len;

	memset(detail, 'a', SPAWND_MAX_MESSAGE_BYTES + 9);
	detail[SPAWND_MAX_MESSAGE_BYTES + 9] = '\0';
	reply.version = SPAWND_PROTOCOL_VERSION;
	reply.body_case = SPAWND__V1__REPLY__BODY_FAILED;
	reply.failed = &failed;
	failed.detail = detail;
	ck_assert_int_eq(wire_pack(&reply.base, &out, &len), -E2BIG);
	failed.detail = (char *)"ok";
	ck_assert_int_eq(wire_pack(&reply.base, &out, &len), 0);
	free(out);
	free(detail);
}
END_TEST

/*
 * Every value of the wire's Stage enum has a name in the one table that the
 * daemon, libspawnd and spawnctl share (proto/stage.c); a value beyond the
 * enum has none.
 */
START_TEST(test_every_stage_named)
{
	const ProtobufCEnumDescriptor *d = &spawnd__v1__stage__descriptor;
	int max = 0;

	ck_assert_uint_gt(d->n_values, 0);
	for (unsigned i = 0; i < d->n_values; i++) {
		const char *name = wire_stage_name(d->values[i].value);

		ck_assert_msg(name && name[0], "Stage %s (%d) has no name", d->values[i].name,
			      d->values[i].value);
		if (d->values[i].value > max)
			max = d->values[i].value;
	}
	ck_assert_ptr_null(wire_stage_name(max + 1));
	ck_assert_ptr_null(wire_stage_name(-1));
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip_with_fds);
	tcase_add_test(tc, test_eof_and_eagain);
	tcase_add_test(tc, test_too_many_fds_ctrunc);
	tcase_add_test(tc, test_oversize_trunc);
	tcase_add_test(tc, test_credentials_cmsg_refused);
	tcase_add_test(tc, test_recv_with_creds);
	tcase_add_test(tc, test_recv_keeps_every_fd);
	tcase_add_test(tc, test_recv_without_creds_is_pid_0);
	tcase_add_test(tc, test_unpack_version_and_unknown_fields);
	tcase_add_test(tc, test_unpack_budget);
	tcase_add_test(tc, test_every_stage_named);
	tcase_add_test(tc, test_pack_cap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
