/* SPDX-License-Identifier: MIT */
/*
 * bench-skelctl: spawnctl's request with none of spawnctl's code (issue 12;
 * docs/benchmarks.md, "spawnctl's floor, measured whole").
 *
 *   bench-skelctl SOCK USER
 *
 * asks the bench-skeleton listening on SOCK ("listen" mode) to run
 * /bin/true as USER and exits with its status, making the system calls
 * `spawnctl -s SOCK -u USER -- /bin/true` makes after its start (strace of
 * main 2026-12-07): the forwarded signals blocked and taken on a signalfd;
 * a new SOCK_SEQPACKET connection; one request carrying the caller's
 * credentials, its fds 0, 1 and 2 (SCM_RIGHTS) and its environment; poll
 * on the socket and the signalfd until Started, again until Exited. It is
 * linked as spawnctl is (a static PIE when the toolchain can;
 * tests/bench/CMakeLists.txt), so that spawnd-bench's whole-process time
 * of it on the skeleton is the floor of a whole `spawnctl -- /bin/true`:
 * the start and exit of such a process, the design's daemon work, and the
 * request, with no code of ours on either side.
 *
 * Replies (bench-skeleton.c): "S<pid>", "E<wait status>", or "F<errno>".
 * Exit status: the program's, 1 for any failure of its own or a failed
 * start, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static _Noreturn void
fail(const char *what)
{
	fprintf(stderr, "bench-skelctl: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The next reply: the signalfd is watched as spawnctl watches it (and never fires here). */
static char
next_reply(int sock, int sigfd, long *value)
{
	struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
	char buf[64];
	ssize_t k;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			fail("poll");
	if (!(p[0].revents & (POLLIN | POLLHUP))) {
		errno = EINTR;
		fail("a signal");
	}
	k = recv(sock, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (k <= 0) {
		if (k == 0)
			errno = ECONNRESET;
		fail("recv");
	}
	buf[k] = '\0';
	*value = strtol(buf + 1, NULL, 10);
	return buf[0];
}

int
main(int argc, char **argv)
{
	static char request[64 * 1024];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(3 * sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = request};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof(u.space)};
	struct cmsghdr *cm;
	struct ucred cred;
	const int stdio[3] = {0, 1, 2};
	sigset_t forwarded;
	size_t len;
	long v;
	int sock, sigfd;
	char kind;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: bench-skelctl SOCK USER\n");
		return 2;
	}
	sigemptyset(&forwarded);
	sigaddset(&forwarded, SIGHUP);
	sigaddset(&forwarded, SIGINT);
	sigaddset(&forwarded, SIGQUIT);
	sigaddset(&forwarded, SIGUSR1);
	sigaddset(&forwarded, SIGUSR2);
	sigaddset(&forwarded, SIGTERM);
	sigprocmask(SIG_BLOCK, &forwarded, NULL);
	sigfd = signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sigfd < 0 || sock < 0)
		fail("signalfd/socket");
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail(argv[1]);

	/* The target's name, then the environment as spawnctl sends it along. */
	len = strlen(argv[2]) + 1;
	if (len > sizeof(request))
		return 2;
	memcpy(request, argv[2], len);
	for (char **e = environ; *e; e++) {
		size_t n = strlen(*e) + 1;

		if (len + n > sizeof(request))
			break;
		memcpy(request + len, *e, n);
		len += n;
	}
	iov.iov_len = len;
	memset(u.space, 0, sizeof(u.space));
	cred.pid = getpid();
	cred.uid = geteuid();
	cred.gid = getegid();
	cm = (struct cmsghdr *)u.space; /* both fit: no CMSG_NXTHDR() NULL to check */
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(cred));
	memcpy(CMSG_DATA(cm), &cred, sizeof(cred));
	cm = (struct cmsghdr *)(u.space + CMSG_SPACE(sizeof(cred)));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(stdio));
	memcpy(CMSG_DATA(cm), stdio, sizeof(stdio));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		fail("sendmsg");

	kind = next_reply(sock, sigfd, &v);
	if (kind == 'S')
		kind = next_reply(sock, sigfd, &v);
	if (kind != 'E') {
		fprintf(stderr, "bench-skelctl: the start failed: %c%ld\n", kind, v);
		return 1;
	}
	(void)close(sigfd);
	(void)close(sock);
	return WIFEXITED((int)v) ? WEXITSTATUS((int)v) : 1;
}
