/* SPDX-License-Identifier: MIT */
/*
 * bench-skeleton: the floor of spawnd's design, as a program (issue 12;
 * docs/benchmarks.md, "The design's floor, measured whole").
 *
 *   bench-skeleton LOG N [WITHOUT[,WITHOUT...]]
 *
 * serves N clients, one SOCK_SEQPACKET connection each on fds 3 to 3+N-1.
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
 *   eof      the errpipe is not watched: no EOF, no /proc, no Started.
 *
 * Protocol: each request is a user name ("root" or "nobody"); the replies
 * are "S<pid>" (unless started or eof) and "E<status>", or "F<errno>" for
 * a failed start. One spawn at a time per connection (a client waits for
 * E); the connections' spawns overlap as the daemon's do: one loop, and
 * one resolver thread with a queue (spawnd adds threads when lookups
 * queue up, so at high concurrency the skeleton's lookups wait more). It exits when every client
 * has hung up. Any failure of the skeleton itself ends it (exit 1): it is a measuring tool, not a
 * daemon.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#define MAX_CONNS 8
#define STACK_SIZE (64 * 1024)
#define MAX_GROUPS 64
#define PF_FORKNOEXEC_FLAG 0x00000040u /* include/linux/sched.h */
#define TRUE_PATH "/bin/true"

static struct {
	bool lookup, hop, stat, audit, child, started, eof;
} without;

struct account {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
};

/* One client connection and its spawn in progress. */
struct conn {
	int sock;
	char target[64];
	struct account account; /* set before clone, read-only while the child runs */
	int err_rd, err_wr, pidfd;
	pid_t pid;
	char *stack;
	struct conn *next; /* the resolver's queue or done list */
};

static struct conn conns[MAX_CONNS];
static unsigned n_conns, n_open;

/* What an epoll event is about: the connection's index times 4 plus one of these. */
enum { EV_REQUEST, EV_EOF, EV_EXIT, EV_RESOLVED };

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
	int err;

	if (without.child) {
		syscall(SYS_dup3, c->err_wr, FIRST_SOCK_FD, O_CLOEXEC);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
		syscall(SYS_execve, TRUE_PATH, child_argv, child_env);
		goto failed;
	}
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		syscall(SYS_rt_sigaction, handled[i], &dfl, NULL, sizeof(uint64_t));
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
	/* null_fd < err_wr, both above the sockets (main()). */
	syscall(SYS_close_range, 0, null_fd - 1, 0);
	syscall(SYS_close_range, null_fd + 1, c->err_wr - 1, 0);
	syscall(SYS_close_range, c->err_wr + 1, ~0U, 0);
	syscall(SYS_dup3, null_fd, 0, 0);
	syscall(SYS_dup3, null_fd, 1, 0);
	syscall(SYS_dup3, null_fd, 2, 0);
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
		     "bench-skeleton: audit: %s client_uid=0 client_pid=1 target=%s "
		     "cmd=" TRUE_PATH " argv=[" TRUE_PATH "] cwd=/ id=1 value=%ld\n",
		     what, c->target, v);
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

static void
spawn(struct conn *c)
{
	int p[2];

	audit(c, "permit", c->account.uid);
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		fail("pipe2");
	c->err_rd = p[0];
	c->err_wr = p[1];
	c->pid = clone(child_main, c->stack + STACK_SIZE, CLONE_VM | CLONE_PIDFD | SIGCHLD, c,
		       &c->pidfd);
	if (c->pid < 0)
		fail("clone");
	(void)close(c->err_wr);
	watch(c->pidfd, what(c, EV_EXIT), EPOLLIN);
	if (without.eof)
		return;
	watch(c->err_rd, what(c, EV_EOF), EPOLLIN);
}

static void
on_request(struct conn *c)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(64 * sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = c->target, .iov_len = sizeof(c->target) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof(u.space)};
	struct cmsghdr *cm;
	ssize_t k = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (k == 0) { /* the client hung up */
		unwatch(c->sock);
		(void)close(c->sock);
		if (--n_open == 0)
			exit(0);
		return;
	}
	if (k < 0)
		fail("recvmsg");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_CREDENTIALS) {
		errno = EBADMSG;
		fail("a request without credentials");
	}
	c->target[k] = '\0';
	if (without.lookup || without.hop) {
		lookup(c->target, &c->account);
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
	if (c->err_rd >= 0) { /* eof: never watched */
		(void)close(c->err_rd);
		c->err_rd = -1;
	}
	audit(c, "exited", status);
	reply(c, 'E', status);
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
	int one = 1;

	if (argc < 3 || argc > 4 || atoi(argv[2]) < 1 || atoi(argv[2]) > MAX_CONNS) {
		fprintf(stderr, "usage: bench-skeleton LOG N [WITHOUT,...]   (fds 3 to 3+N-1: "
				"the connections, N <= 8)\n");
		return 2;
	}
	n_conns = n_open = (unsigned)atoi(argv[2]);
	if (argc == 4)
		parse_without(argv[3]);
	for (unsigned i = 0; i < n_conns; i++) {
		struct conn *c = &conns[i];

		c->sock = FIRST_SOCK_FD + (int)i;
		c->err_rd = c->err_wr = c->pidfd = -1;
		c->stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (c->stack == MAP_FAILED)
			fail("mmap");
		if (fcntl(c->sock, F_SETFD, FD_CLOEXEC) < 0)
			fail("a connection fd");
		if (setsockopt(c->sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
			fail("SO_PASSCRED");
	}
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
	if (pthread_create(&resolver, NULL, resolver_main, NULL) != 0)
		fail("pthread_create");
	/* As the daemon's loop: every signal blocked (the child clears its mask). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (unsigned i = 0; i < n_conns; i++)
		watch(conns[i].sock, what(&conns[i], EV_REQUEST), EPOLLIN);
	watch(done_fd, EV_RESOLVED, EPOLLIN | EPOLLET);
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(ep, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			uint64_t w = ev[i].data.u64;
			struct conn *c = &conns[w / 4];

			if (w == EV_RESOLVED)
				on_resolved();
			else if (w % 4 == EV_REQUEST)
				on_request(c);
			else if (w % 4 == EV_EOF)
				on_eof(c);
			else if (w % 4 == EV_EXIT)
				on_exit_(c);
		}
	}
}
