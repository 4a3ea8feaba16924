/* SPDX-License-Identifier: MIT */
/*
 * HOSTILE.md E21 (runc CVE-2024-21626): what a client may pass as the
 * child's stdin, stdout and stderr. A program started with a privileged
 * identity trusts its fds 0-2 to be streams; a directory there lets it
 * (or whatever it runs) reach paths through /proc/self/fd/N or *at()
 * calls, an O_PATH fd is not a stream at all, and a listening socket
 * accepts connections on the program's behalf. So fds 0-2 must be a
 * regular file, a FIFO/pipe, a character device or a socket that is not
 * listening; anything else refuses the request before fork with
 * Failed{DECODE, EINVAL} and the fd closed. Fds 3 and up are the client's
 * explicit delegation (a directory fd for openat(), an inherited listening
 * socket for socket activation) and pass unchanged.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

static int baseline_fds;

static void
fdtypes_setup(void)
{
	fx_start(NULL);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
}

static void
fdtypes_teardown(void)
{
	assert_fds_at(baseline_fds, "after the test");
	assert_no_children(10000, "after the test");
	assert_daemon_serves();
	fx_teardown();
}

/* A listening SOCK_STREAM socket on an abstract address. */
static int
listening_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	/* Autobind (no address) gives an abstract name; listen needs one. */
	ck_assert_int_eq(bind(fd, &(struct sockaddr){.sa_family = AF_UNIX}, sizeof(sa_family_t)),
			 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

struct fd_kind {
	const char *what;
	int fd;
};

START_TEST(test_odd_stdio_refused)
{
	struct fd_kind kinds[] = {
		{"a directory", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)},
		{"an O_PATH fd of a file", open("/etc/passwd", O_PATH | O_CLOEXEC)},
		{"an O_PATH fd of a directory", open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)},
		{"a listening socket", listening_socket()},
	};
	const char *argv[] = {fx.probe, NULL};
	int sock = ck_connect();
	uint64_t id = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		ck_assert_msg(kinds[k].fd >= 0, "%s: %s", kinds[k].what, strerror(errno));
		for (unsigned target = 0; target <= 2; target++) {
			struct msg *m = msg_spawn(++id, "nobody", argv);
			char what[128];
			int dup_fd = fcntl(kinds[k].fd, F_DUPFD_CLOEXEC, 3);
			struct witness w;

			ck_assert_int_ge(dup_fd, 0);
			xsnprintf(what, sizeof(what), "%s as fd %u", kinds[k].what, target);
			/* A witness pipe on another fd shows every fd of the message is closed. */
			witness_open(&w);
			msg_map(m, 0, target);
			msg_map(m, 1, 7);
			ck_send_msg(sock, m, (const int[]){dup_fd, w.wr}, 2);
			msg_free(m);
			(void)close(dup_fd);
			ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_DECODE, EINVAL, what);
			witness_assert_closed(&w, what);
		}
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		(void)close(kinds[k].fd);
	(void)close(sock);
}
END_TEST

/* Streams pass as stdio; any type passes as fd 3 and up (the client's own delegation). */
START_TEST(test_streams_and_delegated_fds_pass)
{
	char out[PATH_MAX], file[PATH_MAX];
	const char *argv[] = {fx.probe, "--out", out, NULL};
	int pipe_fds[2], pair[2], sock = ck_connect();
	int reg, null, dir, listener;
	struct report rep;
	struct msg *m;

	xsnprintf(out, sizeof(out), "%s/fdtypes-report", fx.dir);
	xsnprintf(file, sizeof(file), "%s/regular", fx.dir);
	reg = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	listener = listening_socket();
	ck_assert_int_ge(reg, 0);
	ck_assert_int_ge(null, 0);
	ck_assert_int_ge(dir, 0);
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);

	/* stdin a pipe, stdout a regular file, stderr a connected socket; 3 a char device. */
	m = msg_spawn(1, "root", argv);
	msg_map(m, 0, 0);
	msg_map(m, 1, 1);
	msg_map(m, 2, 2);
	msg_map(m, 3, 3);
	msg_map(m, 4, 4);
	msg_map(m, 5, 5);
	ck_send_msg(sock, m, (const int[]){pipe_fds[0], reg, pair[0], null, dir, listener}, 6);
	msg_free(m);
	(void)ck_expect_started(sock, 1, "streams as stdio, a directory and a listener above");
	ck_expect_exited(sock, 1, 0, 0, "streams as stdio, a directory and a listener above");
	ck_assert_int_eq(report_read_file(out, &rep), 0);
	ASSERT_STREQ_REPORT(&rep, "fds", "0,1,2,3,4,5");
	ASSERT_STREQ_REPORT(&rep, "fd.1", file);
	ASSERT_STREQ_REPORT(&rep, "fd.3", "/dev/null");
	ASSERT_STREQ_REPORT(&rep, "fd.4", "/");
	report_done(&rep);

	(void)close(reg);
	(void)close(null);
	(void)close(dir);
	(void)close(listener);
	(void)close(pipe_fds[0]);
	(void)close(pipe_fds[1]);
	(void)close(pair[0]);
	(void)close(pair[1]);
	(void)close(sock);
}
END_TEST

static Suite *
fdtypes_suite(void)
{
	Suite *s = suite_create("fdtypes");
	TCase *tc = tcase_create("stdio");

	tcase_add_checked_fixture(tc, fdtypes_setup, fdtypes_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_odd_stdio_refused);
	tcase_add_test(tc, test_streams_and_delegated_fds_pass);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(fdtypes_suite());
}
