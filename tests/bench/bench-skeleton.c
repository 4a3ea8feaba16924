/* SPDX-License-Identifier: MIT */
/*
 * bench-skeleton: the floor of spawnd's design, as a program (issue 12;
 * docs/benchmarks.md, "The design's floor, measured whole").
 *
 *   bench-skeleton LOG N [WITHOUT[,WITHOUT...]]
 *   bench-skeleton LOG listen [WITHOUT[,WITHOUT...]]
 *
 * serves N clients, one SOCK_SEQPACKET connection each on fds 3 to 3+N-1;
 * or, with "listen", accepts them on the listening SOCK_SEQPACKET socket
 * on fd 3, as spawnd does for spawnctl (see "A connection per spawn"
 * below), until it is killed.
 *
 * A server with none of spawnd's own code (no libevent, no protobuf, no
 * policy, no job or reaper bookkeeping) that makes, for each request, the
 * system calls that spawnd's loop thread, its resolver thread and the
 * child make today for a spawn of /bin/true through a persistent
 * connection (strace of main 2026-12-07): the request with its
 * credentials; the user lookup on a resolver thread (mutex, condition
 * variable, an edge-triggered eventfd back); an audit line; an errpipe
 * and clone(CLONE_VM | CLONE_PIDFD) from the loop on a stack of its own;
 * in the child the signal resets, the fd table rebuilt around /dev/null
 * and the errpipe, setsid, the credential change and its check, chdir,
 * umask, the soft fd limit and the signal mask (DESIGN.md's child-exec
 * order), then execve; in the loop the errpipe's EOF, /proc/PID/stat (the
 * exec proof, HOSTILE 48), an audit line, Started; the pidfd, wait4, an
 * audit line, Exited. What spawnd-bench measures for this program is
 * therefore what any implementation of these guarantees costs on the
 * machine, and spawnd's persistent connection minus it is the cost of
 * spawnd's own code.
 *
 * WITHOUT drops guarantees, to show what each costs:
 *   lookup   no user lookup and no thread hop (the ids come from the name);
 *   hop      the lookup made on the loop thread (issue 11 forbids it);
 *   stat     no /proc/PID/stat (no proof of exec);
 *   audit    no audit lines;
 *   child    the child only moves the errpipe to fd 3, clears its signal
 *            mask and execs (posix_spawn's own work);
 *   started  no Started reply (the client wakes once);
 *   eof      the errpipe is not watched: no EOF, no /proc, no Started;
 *   fds      ("listen") received fds and sockets closed by the loop itself:
 *            no checks, no park, no closer, no settle.
 *
 * Protocol: each request is a user name ("root" or "nobody"), followed
 * ("listen") by a NUL, the client's environment and up to three fds; the
 * replies are "S<pid>" (unless started or eof) and "E<status>", or
 * "F<errno>" for a failed start. One spawn at a time per connection (a
 * client waits for E); the connections' spawns overlap as the daemon's
 * do: one loop, and one resolver thread with a queue (spawnd adds threads
 * when lookups queue up, so at high concurrency the skeleton's lookups
 * wait more). With N connections it exits when every client has hung up.
 * Any failure of the skeleton itself ends it (exit 1): it is a measuring
 * tool, not a daemon.
 *
 * A connection per spawn ("listen"; bench-skelctl is its client, the
 * request spawnctl makes with none of spawnctl's code): what spawnd does
 * on top for a new connection whose request passes fds 0-2 (strace of
 * main 2026-12-07, docs/benchmarks.md "spawnctl's floor, measured
 * whole"): accept4 until EAGAIN, SO_PEERCRED, SO_PEERGROUPS, SO_PASSCRED,
 * the fd budget (prlimit64); per received fd its flags and type (E21) and
 * getpeername (HOSTILE 43); the fds parked in a socket pair while the
 * lookup runs, and the table's copies handed to a closer process that
 * shares our fd table (CLONE_FILES; HOSTILE 41), whose threads close them
 * and report back; the client's own name looked up once per connection;
 * before the clone the wait until the closer has begun those closes
 * (closer_settle()); the fds taken back, dup'd to 0-2 in the child, the
 * loop's copies to the closer after the clone; at the hang-up the
 * connection's socket to the closer too.
 *
 * The child shares our memory (CLONE_VM) and runs on its own stack, as
 * spawnd's vfork engine does. It calls syscall(), which writes errno (the
 * loop thread's: no CLONE_SETTLS) only when a call fails, which none of
 * these does here; the loop thread reads errno only after failures of its
 * own, which end the program.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

#define FIRST_SOCK_FD 3
#define LISTEN_FD 3
#define MAX_CONNS 64
#define MAX_FDS 3 /* a request passes at most fds 0-2 */
#define STACK_SIZE (64 * 1024)
#define MAX_GROUPS 64
#define PF_FORKNOEXEC_FLAG 0x00000040u /* include/linux/sched.h */
#define TRUE_PATH "/bin/true"
#define CLOSER_THREADS 4 /* the daemon's closer keeps up to four idle readers */
#define MAX_CLOSING 256

static struct {
	bool lookup, hop, stat, audit, child, started, eof, fds;
} without;

static bool listening; /* "listen": a connection per client, fds passed */

struct account {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

/* One client connection and its spawn in progress. */
struct conn {
	bool in_use;
	int sock; /* -1 once the client hung up */
	uid_t client_uid;
	bool named; /* the client's own name looked up (once per connection) */
	char target[64];
	struct account account; /* set before clone, read-only while the child runs */
	int fds[MAX_FDS];	/* the request's fds, or -1; dup'd to 0-2 in the child */
	unsigned n_fds;
	int park_rd;	       /* the parked fds wait here during the lookup, or -1 */
	int keep[MAX_FDS + 1]; /* what the child keeps: its fds 0-2 and err_wr, ascending */
	int err_rd, err_wr, pidfd;
	pid_t pid;
	char *stack;
	struct conn *next; /* the resolver's queue or done list */
};

static struct conn conns[MAX_CONNS];
static unsigned n_conns, n_open;

/* What an epoll event is about: the connection's index times 4 plus one of these. */
enum { EV_REQUEST, EV_EOF, EV_EXIT };
/* Or one of these, above every connection's. */
#define EV_RESOLVED ((uint64_t)MAX_CONNS * 4)
#define EV_ACCEPT (EV_RESOLVED + 1)
#define EV_CLOSED (EV_RESOLVED + 2)

static _Noreturn void
fail(const char *what)
{
	fprintf(stderr, "bench-skeleton: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the resolver thread: the loop's lookups in order, as daemon/resolver.c ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct conn *queue_head, **queue_tail = &queue_head; /* under lock */
static struct conn *done;				    /* under lock, newest first */
static int done_fd = -1; /* eventfd: the loop watches it edge-triggered */

static void
lookup(const char *name, struct account *a)
{
	char buf[4096];
	struct passwd pw, *res = NULL;

	if (without.lookup) {
		a->uid = a->gid = strcmp(name, "root") == 0 ? 0 : 65534;
		a->groups[0] = a->gid;
		a->ngroups = 1;
		return;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		errno = ENOENT;
		fail(name);
	}
	a->uid = pw.pw_uid;
	a->gid = pw.pw_gid;
	a->ngroups = MAX_GROUPS;
	if (getgrouplist(name, pw.pw_gid, a->groups, &a->ngroups) < 0)
		fail("getgrouplist");
}

/* The client's own name, for the audit line: once per connection. */
static void
lookup_client(struct conn *c)
{
	char buf[4096];
	struct passwd pw, *res = NULL;

	if (c->named || without.lookup)
		return;
	if (getpwuid_r(c->client_uid, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		errno = ENOENT;
		fail("the client's name");
	}
	c->named = true;
}

static void *
resolver_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct conn *c;
		bool was_empty;
		uint64_t one = 1;

		while (!queue_head)
			pthread_cond_wait(&wake, &lock);
		c = queue_head;
		queue_head = c->next;
		if (!queue_head)
			queue_tail = &queue_head;
		pthread_mutex_unlock(&lock);

		lookup(c->target, &c->account);
		lookup_client(c);

		pthread_mutex_lock(&lock);
		/* Only a job that finds the done list empty wakes the loop. */
		was_empty = !done;
		c->next = done;
		done = c;
		pthread_mutex_unlock(&lock);
		if (was_empty && write(done_fd, &one, sizeof(one)) != sizeof(one))
			fail("write eventfd");
		pthread_mutex_lock(&lock);
	}
	return NULL;
}

/* ---- the closer: a process on our fd table whose threads close clients' fds ---- */

/* A record, both ways, as daemon/closer.c's: the fd and its slot. */
struct closer_msg {
	int32_t fd;
	uint32_t idx;
};

static struct {
	int fd; /* -1: free */
	dev_t dev;
	ino_t ino;
} closing[MAX_CLOSING];
static unsigned n_closing;
static int closer_cmd_rd = -1, closer_cmd_wr = -1, closer_done_rd = -1, closer_done_wr = -1;

static void *
closer_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct closer_msg m;

		if (read(closer_cmd_rd, &m, sizeof(m)) != sizeof(m))
			_exit(1);
		(void)close(m.fd);
		if (write(closer_done_wr, &m, sizeof(m)) != sizeof(m))
			_exit(1);
	}
	return NULL;
}

/*
 * The closer process: shares our fd table (CLONE_FILES), started before
 * any thread, dies with us.
 */
static void
closer_start(void)
{
	int cmd[2], dn[2];
	long pid;

	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(dn, O_CLOEXEC) < 0)
		fail("pipe2");
	closer_cmd_rd = cmd[0];
	closer_cmd_wr = cmd[1];
	closer_done_rd = dn[0];
	closer_done_wr = dn[1];
	pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		fail("clone(CLONE_FILES)");
	if (pid == 0) {
		pthread_t t;

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int i = 0; i < CLOSER_THREADS; i++)
			if (pthread_create(&t, NULL, closer_thread, NULL) != 0)
				_exit(1);
		for (;;)
			pause();
	}
	if (fcntl(closer_cmd_wr, F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(closer_done_rd, F_SETFL, O_NONBLOCK) < 0)
		fail("closer pipes");
}

/* Hand fds to the closer in one write, each with its identity (closer_take()). */
static void
closer_give(const int *fds, unsigned n)
{
	struct closer_msg m[MAX_FDS + 1];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct statx sx;
		unsigned slot = 0;

		if (fds[i] < 0)
			continue;
		if (statx(fds[i], "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &sx) < 0)
			fail("statx");
		while (slot < MAX_CLOSING && closing[slot].fd >= 0)
			slot++;
		if (slot == MAX_CLOSING) {
			errno = ENOSPC;
			fail("closer");
		}
		closing[slot].fd = fds[i];
		closing[slot].dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		closing[slot].ino = sx.stx_ino;
		n_closing++;
		m[k].fd = fds[i];
		m[k++].idx = slot;
	}
	if (k && write(closer_cmd_wr, m, k * sizeof(m[0])) != (ssize_t)(k * sizeof(m[0])))
		fail("write closer");
}

/* The closer's done records: those closes are over. */
static void
closer_done(void)
{
	struct closer_msg m[256];
	ssize_t k = read(closer_done_rd, m, sizeof(m)); /* level-triggered: the rest comes next */

	if (k < 0 && errno != EAGAIN)
		fail("read closer");
	for (ssize_t i = 0; i < k / (ssize_t)sizeof(m[0]); i++) {
		closing[m[i].idx].fd = -1;
		n_closing--;
	}
}

/* Before a clone: every fd handed over is out of our table (closer_settle()). */
static void
closer_settle(void)
{
	for (;;) {
		struct pollfd p = {.fd = closer_done_rd, .events = POLLIN};
		bool all_gone = true;

		for (unsigned i = 0; i < MAX_CLOSING && n_closing; i++) {
			struct statx sx;

			if (closing[i].fd < 0)
				continue;
			if (statx(closing[i].fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO,
				  &sx) == 0 &&
			    makedev(sx.stx_dev_major, sx.stx_dev_minor) == closing[i].dev &&
			    sx.stx_ino == closing[i].ino) {
				all_gone = false;
				break;
			}
		}
		if (all_gone)
			return;
		(void)poll(&p, 1, 1);
		closer_done();
	}
}

/* ---- the child: DESIGN.md's order, raw system calls on the loop's memory ---- */

/* The kernel's struct sigaction (not glibc's): all zero is SIG_DFL. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static int null_fd = -1;
static char *const child_argv[] = {(char *)TRUE_PATH, NULL};
static char *const child_env[] = {(char *)"PATH=/usr/local/bin:/usr/bin:/bin",
				  (char *)"HOME=/",
				  (char *)"USER=x",
				  (char *)"LOGNAME=x",
				  (char *)"SHELL=/bin/sh",
				  NULL};

static int
child_main(void *arg)
{
	static const int handled[] = {SIGINT, SIGQUIT, SIGPIPE, 33 /* glibc's SIGSETXID */};
	const struct conn *c = arg;
	const struct account *a = &c->account;
	struct kernel_sigaction dfl = {0};
	struct rlimit rl;
	uid_t r, e, s;
	gid_t gr, ge, gs, got[MAX_GROUPS];
	uint64_t none = 0;
	int err, from = 0;

	if (without.child) {
		syscall(SYS_dup3, c->err_wr, FIRST_SOCK_FD, O_CLOEXEC);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
		syscall(SYS_execve, TRUE_PATH, child_argv, child_env);
		goto failed;
	}
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		syscall(SYS_rt_sigaction, handled[i], &dfl, NULL, sizeof(uint64_t));
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
	/* All but what the child keeps (spawn(): ascending; a repeated fd closes nothing). */
	for (int i = 0; i <= MAX_FDS; i++) {
		if (c->keep[i] > from)
			syscall(SYS_close_range, from, c->keep[i] - 1, 0);
		from = c->keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
	for (int i = 0; i < MAX_FDS; i++)
		syscall(SYS_dup3, c->fds[i] >= 0 ? c->fds[i] : null_fd, i, 0);
	syscall(SYS_dup3, c->err_wr, 3, O_CLOEXEC);
	syscall(SYS_close, c->err_wr);
	syscall(SYS_close_range, 4, ~0U, 0);
	syscall(SYS_setsid);
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_getresgid, &gr, &ge, &gs);
	if (syscall(SYS_setgroups, a->ngroups, a->groups) < 0 ||
	    syscall(SYS_setresgid, a->gid, a->gid, a->gid) < 0 ||
	    syscall(SYS_setresuid, a->uid, a->uid, a->uid) < 0)
		goto failed;
	syscall(SYS_getresuid, &r, &e, &s);
	syscall(SYS_getresgid, &gr, &ge, &gs);
	syscall(SYS_getgroups, 0, NULL);
	syscall(SYS_getgroups, MAX_GROUPS, got);
	syscall(SYS_chdir, "/");
	syscall(SYS_umask, 022);
	rl.rlim_cur = 1024;
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	syscall(SYS_execve, TRUE_PATH, child_argv, child_env);
failed:
	err = EPERM;
	syscall(SYS_write, 3, &err, sizeof(err));
	syscall(SYS_exit_group, 127);
	return 0;
}

/* ---- the loop ---- */

static int ep = -1, log_fd = -1;

/* A reply on c: its kind ('S', 'E' or 'F') and a number. */
static void
reply(const struct conn *c, char kind, long v)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "%c%ld", kind, v);

	if (c->sock < 0) /* the client hung up */
		return;
	if (send(c->sock, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		fail("send");
}

static void
audit(const struct conn *c, const char *what, long v)
{
	char line[256];
	int n;

	if (without.audit)
		return;
	n = snprintf(line, sizeof(line),
		     "bench-skeleton: audit: %s client_uid=%u client_pid=1 target=%s "
		     "cmd=" TRUE_PATH " argv=[" TRUE_PATH "] cwd=/ id=1 value=%ld\n",
		     what, (unsigned)c->client_uid, c->target, v);
	if (write(log_fd, line, (size_t)n) != n)
		fail("write log");
}

static void
watch(int fd, uint64_t what, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = what};

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		fail("epoll_ctl add");
}

static uint64_t
what(const struct conn *c, unsigned kind)
{
	return (uint64_t)(c - conns) * 4 + kind;
}

static void
unwatch(int fd)
{
	if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0)
		fail("epoll_ctl del");
}

/* A connection's slot is free again once its client left and its spawn is over. */
static void
conn_release(struct conn *c)
{
	if (c->sock < 0 && c->pid == 0)
		c->in_use = false;
}

static void
spawn(struct conn *c)
{
	int p[2];

	audit(c, "permit", c->account.uid);
	if (c->park_rd >= 0) { /* the fds back from their parking place */
		union {
			struct cmsghdr h;
			char space[CMSG_SPACE(MAX_FDS * sizeof(int))];
		} u;
		char byte;
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.space,
				    .msg_controllen = sizeof(u.space)};
		struct cmsghdr *cm;

		if (recvmsg(c->park_rd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1 ||
		    !(cm = CMSG_FIRSTHDR(&mh)) || cm->cmsg_type != SCM_RIGHTS)
			fail("the parked fds");
		memcpy(c->fds, CMSG_DATA(cm), c->n_fds * sizeof(int));
		(void)close(c->park_rd);
		c->park_rd = -1;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		fail("pipe2");
	c->err_rd = p[0];
	c->err_wr = p[1];
	/* The child keeps its fds 0-2 (or /dev/null, maybe more than once) and err_wr: sorted. */
	for (int i = 0; i <= MAX_FDS; i++) {
		int fd = i < MAX_FDS ? (c->fds[i] >= 0 ? c->fds[i] : null_fd) : c->err_wr, j = i;

		for (; j > 0 && c->keep[j - 1] > fd; j--)
			c->keep[j] = c->keep[j - 1];
		c->keep[j] = fd;
	}
	if (n_closing)
		closer_settle();
	c->pid = clone(child_main, c->stack + STACK_SIZE, CLONE_VM | CLONE_PIDFD | SIGCHLD, c,
		       &c->pidfd);
	if (c->pid < 0)
		fail("clone");
	(void)close(c->err_wr);
	if (c->n_fds) { /* our copies: the child has its own */
		if (without.fds)
			for (int i = 0; i < MAX_FDS; i++)
				(void)close(c->fds[i]);
		else
			closer_give(c->fds, MAX_FDS);
		for (int i = 0; i < MAX_FDS; i++)
			c->fds[i] = -1;
	}
	watch(c->pidfd, what(c, EV_EXIT), EPOLLIN);
	if (without.eof)
		return;
	watch(c->err_rd, what(c, EV_EOF), EPOLLIN);
}

/*
 * The received fds: their flags and type (E21), whether they are sockets
 * (HOSTILE 43), then parked for the lookup and the table's copies handed
 * to the closer (daemon/request.c, job_park_fds()).
 */
static void
take_fds(struct conn *c, const int *fds, unsigned n)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} u;
	char byte = 'p';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct sockaddr_un peer;
	int park[2];

	if (without.fds) {
		memcpy(c->fds, fds, n * sizeof(int));
		c->n_fds = n;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct statx sx;

		if (fcntl(fds[i], F_GETFL) < 0 ||
		    statx(fds[i], "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &sx) < 0)
			fail("a received fd");
	}
	for (unsigned i = 0; i < n; i++) {
		socklen_t len = sizeof(peer);

		(void)getpeername(fds[i], (struct sockaddr *)&peer, &len);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, park) < 0)
		fail("socketpair");
	memset(u.space, 0, sizeof(u.space));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	if (sendmsg(park[0], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
		fail("park");
	closer_give(fds, n);
	(void)close(park[0]);
	c->park_rd = park[1];
	c->n_fds = n;
}

/* The client hung up: its socket goes to the closer ("listen") or is closed. */
static void
hang_up(struct conn *c)
{
	unwatch(c->sock);
	if (listening && !without.fds)
		closer_give(&c->sock, 1);
	else
		(void)close(c->sock);
	c->sock = -1;
	conn_release(c);
	if (--n_open == 0 && !listening)
		exit(0);
}

static void
on_request(struct conn *c)
{
	static char payload[64 * 1024]; /* the target's name, then (listen) the environment */
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(64 * sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof(u.space)};
	struct cmsghdr *cm;
	bool creds = false;
	ssize_t k = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (k == 0) {
		hang_up(c);
		return;
	}
	if (k < 0)
		fail("recvmsg");
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS)
			creds = true;
		else if (cm->cmsg_type == SCM_RIGHTS) {
			unsigned n = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int fds[MAX_FDS];

			if (n > MAX_FDS) {
				errno = E2BIG;
				fail("a request with more than 3 fds");
			}
			memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
			take_fds(c, fds, n);
		}
	}
	if (!creds) {
		errno = EBADMSG;
		fail("a request without credentials");
	}
	payload[k] = '\0';
	k = (ssize_t)strnlen(payload, sizeof(c->target) - 1);
	memcpy(c->target, payload, (size_t)k);
	c->target[k] = '\0';
	if (without.lookup || without.hop) {
		lookup(c->target, &c->account);
		lookup_client(c);
		spawn(c);
		return;
	}
	pthread_mutex_lock(&lock);
	c->next = NULL;
	*queue_tail = c;
	queue_tail = &c->next;
	pthread_mutex_unlock(&lock);
	/* After the unlock, as daemon/resolver.c does: the woken thread does not block on it. */
	pthread_cond_signal(&wake);
}

static void
on_resolved(void)
{
	struct conn *list, *oldest_first = NULL;

	/* Edge-triggered: the counter is never read (daemon/resolver.c). */
	pthread_mutex_lock(&lock);
	list = done;
	done = NULL;
	pthread_mutex_unlock(&lock);
	while (list) {
		struct conn *next = list->next;

		list->next = oldest_first;
		oldest_first = list;
		list = next;
	}
	while (oldest_first) {
		struct conn *c = oldest_first;

		oldest_first = c->next;
		spawn(c);
	}
}

/* Whether /proc/PID/stat says pid has exec'd (PF_FORKNOEXEC is clear). */
static bool
execed(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned flags;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fail(path);
	k = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (k <= 0)
		fail("read stat");
	buf[k] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %u", &flags) != 1) {
		errno = EBADMSG;
		fail("parse stat");
	}
	return !(flags & PF_FORKNOEXEC_FLAG);
}

static void
on_eof(struct conn *c)
{
	int err;
	ssize_t k;

	if (c->err_rd < 0) /* handled already, at the exit (on_exit_()) */
		return;
	k = read(c->err_rd, &err, sizeof(err));
	unwatch(c->err_rd);
	(void)close(c->err_rd);
	c->err_rd = -1;
	if (k > 0) {
		reply(c, 'F', err);
		return;
	}
	if (!without.stat && !execed(c->pid)) {
		errno = ECHILD;
		fail("the child died before exec");
	}
	audit(c, "started", c->pid);
	if (!without.started)
		reply(c, 'S', c->pid);
}

static void
on_exit_(struct conn *c)
{
	struct rusage ru;
	int status;

	/* An exit reported with its EOF: Started before Exited. */
	if (c->err_rd >= 0 && !without.eof)
		on_eof(c);
	if (wait4(c->pid, &status, WNOHANG, &ru) != c->pid)
		fail("wait4");
	unwatch(c->pidfd);
	(void)close(c->pidfd);
	c->pidfd = -1;
	c->pid = 0;
	if (c->err_rd >= 0) { /* eof: never watched */
		(void)close(c->err_rd);
		c->err_rd = -1;
	}
	audit(c, "exited", status);
	reply(c, 'E', status);
	conn_release(c);
}

static struct conn *
conn_new(int sock)
{
	static const int one = 1;

	for (unsigned i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->in_use)
			continue;
		c->in_use = true;
		c->sock = sock;
		c->named = false;
		c->client_uid = 0;
		c->err_rd = c->err_wr = c->pidfd = c->park_rd = -1;
		c->pid = 0;
		c->n_fds = 0;
		for (int j = 0; j < MAX_FDS; j++)
			c->fds[j] = -1;
		if (!c->stack) {
			c->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
			if (c->stack == MAP_FAILED)
				fail("mmap");
		}
		if (setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
			fail("SO_PASSCRED");
		n_open++;
		return c;
	}
	errno = EMFILE;
	fail("more than 64 connections");
}

/* New clients: their credentials, SO_PASSCRED, the fd budget (daemon/server.c). */
static void
on_accept(void)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa), cred_len = sizeof(struct ucred), groups_len = 0;
		struct ucred cred;
		struct rlimit rl;
		struct conn *c;
		int fd = accept4(LISTEN_FD, (struct sockaddr *)&sa, &len,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			fail("accept4");
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0)
			fail("SO_PEERCRED");
		(void)getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &groups_len);
		c = conn_new(fd);
		c->client_uid = cred.uid;
		watch(fd, what(c, EV_REQUEST), EPOLLIN);
		if (prlimit(0, RLIMIT_NOFILE, NULL, &rl) < 0)
			fail("prlimit");
	}
}

static void
parse_without(const char *list)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (strcmp(w, "lookup") == 0)
			without.lookup = true;
		else if (strcmp(w, "hop") == 0)
			without.hop = true;
		else if (strcmp(w, "stat") == 0)
			without.stat = true;
		else if (strcmp(w, "audit") == 0)
			without.audit = true;
		else if (strcmp(w, "child") == 0)
			without.child = true;
		else if (strcmp(w, "started") == 0)
			without.started = true;
		else if (strcmp(w, "eof") == 0)
			without.eof = without.started = without.stat = true;
		else if (strcmp(w, "fds") == 0)
			without.fds = true;
		else {
			fprintf(stderr, "bench-skeleton: unknown WITHOUT: %s\n", w);
			exit(2);
		}
	}
}

int
main(int argc, char **argv)
{
	pthread_t resolver;
	sigset_t all;
	unsigned n = 0;

	if (argc >= 3 && strcmp(argv[2], "listen") == 0)
		listening = true;
	else if (argc >= 3)
		n = (unsigned)atoi(argv[2]);
	if (argc < 3 || argc > 4 || (!listening && (n < 1 || n > 8))) {
		fprintf(stderr, "usage: bench-skeleton LOG N [WITHOUT,...]   (fds 3 to 3+N-1: "
				"the connections, N <= 8)\n"
				"       bench-skeleton LOG listen [WITHOUT,...]   (fd 3: a "
				"listening socket)\n");
		return 2;
	}
	if (argc == 4)
		parse_without(argv[3]);
	for (unsigned i = 0; i < MAX_CONNS; i++)
		conns[i].sock = -1;
	for (unsigned i = 0; i < MAX_CLOSING; i++)
		closing[i].fd = -1;
	for (unsigned i = 0; i < n; i++) {
		struct conn *c = conn_new(FIRST_SOCK_FD + (int)i);

		if (fcntl(c->sock, F_SETFD, FD_CLOEXEC) < 0)
			fail("a connection fd");
	}
	n_conns = n;
	if (listening && (fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0 ||
			  fcntl(LISTEN_FD, F_SETFL, O_NONBLOCK) < 0))
		fail("the listening socket");
	log_fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (log_fd < 0 || null_fd < 0 || ep < 0 || done_fd < 0)
		fail("setup");
	if (null_fd < FIRST_SOCK_FD + (int)n_conns) { /* the child's table is rebuilt around it */
		errno = EBADF;
		fail("fds 0-2 must be open");
	}
	/* Before any thread, as the daemon's (a forked copy may use threads). */
	closer_start();
	if (pthread_create(&resolver, NULL, resolver_main, NULL) != 0)
		fail("pthread_create");
	/* As the daemon's loop: every signal blocked (the child clears its mask). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (unsigned i = 0; i < n_conns; i++)
		watch(conns[i].sock, what(&conns[i], EV_REQUEST), EPOLLIN);
	watch(done_fd, EV_RESOLVED, EPOLLIN | EPOLLET);
	watch(closer_done_rd, EV_CLOSED, EPOLLIN);
	if (listening)
		watch(LISTEN_FD, EV_ACCEPT, EPOLLIN);
	for (;;) {
		struct epoll_event ev[16];
		int k = epoll_wait(ep, ev, 16, -1);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			fail("epoll_wait");
		}
		for (int i = 0; i < k; i++) {
			uint64_t w = ev[i].data.u64;
			struct conn *c = w < EV_RESOLVED ? &conns[w / 4] : NULL;

			if (w == EV_RESOLVED)
				on_resolved();
			else if (w == EV_ACCEPT)
				on_accept();
			else if (w == EV_CLOSED)
				closer_done();
			else if (!c)
				continue;
			else if (w % 4 == EV_REQUEST && c->sock >= 0)
				on_request(c);
			else if (w % 4 == EV_EOF)
				on_eof(c);
			else if (w % 4 == EV_EXIT)
				on_exit_(c);
		}
	}
}
