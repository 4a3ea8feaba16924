/* SPDX-License-Identifier: MIT */
/*
 * Children the daemon gives up on are still reaped (DESIGN.md 3.6: "no
 * zombie, ever"). A tracked child is reaped through its pidfd; one that
 * cannot be tracked is killed and put on the reaper's list of abandoned
 * pids, which its SIGCHLD handling reaps (daemon/reaper.c), with the
 * rate-limited full waitid(P_ALL) scan as the last resort, which warns
 * "Reaping untracked child". This drives the one such path a client can
 * reach: with the fork engine, exactly two free fds in the daemon and a
 * kernel that refuses clone(CLONE_PIDFD) (tests/helpers/no-vfork pidfd:,
 * which makes the engine fall back to fork() + pidfd_open()), the errpipe
 * (pipe2) fits, fork succeeds and pidfd_open() fails with EMFILE, so the
 * child is killed untracked. (Where clone takes CLONE_PIDFD, both engines
 * get the pidfd from clone() itself: no fd, no child; so this test runs
 * the daemon under that filter, with the fork engine only.)
 *
 * Left alone, such a child may die before reaper_abandon() looks, and be
 * reaped there at once: the list would go unused. So the test traces the
 * daemon (PTRACE_O_TRACEFORK): each child it forks is traced by the test
 * too, and a traced child that died is a zombie only its tracer can wait
 * for. The daemon's waitpid(WNOHANG) finds nothing, every child goes on the
 * list, every time. The test collects the deaths only after the daemon has
 * replied and it has stopped tracing the daemon; each zombie then passes to
 * the daemon with a SIGCHLD, and must be reaped from the list: quietly, with
 * no "Reaping untracked child" from the full scan, and no zombie left.
 * Where ptrace is not allowed the test is skipped (exit 77), saying so.
 *
 * Until they are reaped, such children count as the client's live children
 * like any other (daemon/usage.h): one that hangs on its way to exec (FUSE)
 * pins a spawner thread and must hold its slot of the cap. The daemon's
 * STATUS= (sd_notify) shows the count: it must name them while they are
 * unreaped, and drop them once they are.
 */
#define _GNU_SOURCE
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

#define ABANDONED 3 /* untracked children per test, back to back */
#define MAX_THREADS 64

static const char *const gave_up_line = "Gave up on untracked child";
static const char *const scan_line = "Reaping untracked child";

static int baseline_fds;

static void
untracked_setup(void)
{
	static const char *const wrapper[] = {NO_VFORK_PATH, "pidfd:EINVAL", NULL};
	const struct fx_daemon d = {.wrapper = wrapper};

	fx_start_with(NULL, &d);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
	ck_assert_int_gt(baseline_fds, 0);
}

static void
untracked_teardown(void)
{
	assert_daemon_idle(baseline_fds, "after the test");
	assert_daemon_serves();
	fx_teardown();
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The RLIMIT_NOFILE soft limit that leaves the daemon exactly `free_fds`
 * fd numbers to allocate (the kernel hands out the lowest free number, and
 * the limit bounds the number, so holes in the table count as free).
 */
static rlim_t
limit_leaving(int free_fds)
{
	char path[64];
	int fds[4096], n = 0, limit = 0;
	struct dirent *e;
	DIR *d;

	xsnprintf(path, sizeof(path), "/proc/%d/fd", (int)fx.pid);
	d = opendir(path);
	ck_assert_msg(d, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			ck_assert_int_lt(n, (int)(sizeof(fds) / sizeof(fds[0])));
			fds[n++] = atoi(e->d_name);
		}
	(void)closedir(d);
	qsort(fds, (size_t)n, sizeof(fds[0]), cmp_int);

	/* Free numbers below limit = limit - (open fds below limit). */
	for (int i = 0;; limit++) {
		while (i < n && fds[i] < limit)
			i++;
		if (limit - i == free_fds)
			return (rlim_t)limit;
	}
}

/* ---- the daemon's STATUS= ---- */

/*
 * The harness closes its end of NOTIFY_SOCKET after READY=1; bind it again.
 * The daemon sends STATUS= there (once a second, when it changed).
 */
static int
notify_listen(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert(strlen(fx.notify) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, fx.notify);
	(void)unlink(fx.notify);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", fx.notify,
		      strerror(errno));
	return fd;
}

/* Wait for a STATUS= line holding want; the last one seen is left in last. */
static bool
status_wait(int fd, const char *want, unsigned timeout_ms, char *last, size_t size)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	while (now_usec() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[1024];
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strncmp(line, "STATUS=", 7) == 0) {
				xsnprintf(last, size, "%s", line);
				if (strstr(line, want))
					return true;
			}
	}
	return false;
}

/* ---- tracing the daemon ---- */

struct tracer {
	pid_t tids[MAX_THREADS]; /* the daemon's threads, each seized; 0 once gone */
	size_t n_tids;
	pid_t children[ABANDONED]; /* what they forked, from PTRACE_EVENT_FORK */
	size_t n_children;
};

/* PTRACE_SEIZE every thread of the daemon, with its forks traced too. */
static void
tracer_attach(struct tracer *t)
{
	char path[64];
	struct dirent *e;
	DIR *d;

	*t = (struct tracer){};
	xsnprintf(path, sizeof(path), "/proc/%d/task", (int)fx.pid);
	d = opendir(path);
	ck_assert_msg(d, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0)
			continue;
		ck_assert_uint_lt(t->n_tids, MAX_THREADS);
		if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACEFORK) < 0) {
			/* A worker thread that just ended is no loss; the loop thread must be
			 * there. */
			ck_assert_msg(errno == ESRCH && tid != fx.pid, "PTRACE_SEIZE %d: %s",
				      (int)tid, strerror(errno));
			continue;
		}
		t->tids[t->n_tids++] = tid;
	}
	(void)closedir(d);
	ck_assert_uint_gt(t->n_tids, 0);
}

/* A traced daemon thread's status that is not a stop: only a worker may end. */
static void
tracer_thread_gone(struct tracer *t, size_t i, int status)
{
	ck_assert_msg(t->tids[i] != fx.pid, "the daemon ended (status 0x%x)", (unsigned)status);
	t->tids[i] = 0;
}

/*
 * Let every stopped daemon thread go on: a fork event is recorded, a
 * signal is delivered as it would have been. Never waits for the forked
 * children: their deaths must stay unreported until the test wants them.
 */
static void
tracer_serve(struct tracer *t)
{
	for (size_t i = 0; i < t->n_tids; i++) {
		int status;
		pid_t p;

		while (t->tids[i] && (p = waitpid(t->tids[i], &status, __WALL | WNOHANG)) > 0) {
			unsigned long msg = 0;
			int sig = 0;

			if (!WIFSTOPPED(status)) {
				tracer_thread_gone(t, i, status);
				break;
			}
			if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
				ck_assert_int_eq(ptrace(PTRACE_GETEVENTMSG, p, NULL, &msg), 0);
				ck_assert_msg(t->n_children < ABANDONED,
					      "the daemon forked more than one child per request");
				t->children[t->n_children++] = (pid_t)msg;
			} else if (status >> 16 == 0) {
				sig = WSTOPSIG(status); /* signal-delivery-stop: deliver it */
			}
			ck_assert_int_eq(ptrace(PTRACE_CONT, p, NULL, (void *)(long)sig), 0);
		}
	}
}

/* Wait for the next reply on sock, serving the daemon's stops meanwhile. */
static void
tracer_wait_readable(struct tracer *t, int sock, unsigned timeout_ms)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};

		tracer_serve(t);
		if (poll(&p, 1, 10) > 0)
			return;
		ck_assert_msg(now_usec() < end, "no reply within %u ms (daemon stopped?)",
			      timeout_ms);
	}
}

/* Stop tracing the daemon: interrupt each thread, detach at the stop. */
static void
tracer_detach_daemon(struct tracer *t)
{
	for (size_t i = 0; i < t->n_tids; i++) {
		pid_t tid = t->tids[i];
		int status;

		if (!tid)
			continue;
		/* A thread that is ending reports that instead of the interrupt. */
		(void)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		for (;;) {
			int sig = 0;

			ck_assert_int_eq(waitpid(tid, &status, __WALL), tid);
			if (!WIFSTOPPED(status)) {
				tracer_thread_gone(t, i, status);
				break;
			}
			if (status >> 16 == PTRACE_EVENT_STOP)
				break;
			ck_assert_msg(status >> 8 != (SIGTRAP | (PTRACE_EVENT_FORK << 8)),
				      "the daemon forked after its last reply");
			if (status >> 16 == 0)
				sig = WSTOPSIG(status);
			ck_assert_int_eq(ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig), 0);
		}
		if (t->tids[i])
			ck_assert_int_eq(ptrace(PTRACE_DETACH, tid, NULL, NULL), 0);
	}
}

/*
 * Collect a traced child's death as its tracer: the zombie then passes to
 * its parent, the daemon, with a SIGCHLD. The daemon killed it (SIGKILL).
 */
static void
tracer_collect(pid_t child)
{
	uint64_t end = now_usec() + 10 * USEC_PER_SEC;
	int status;

	for (;;) {
		pid_t p = waitpid(child, &status, __WALL | WNOHANG);

		ck_assert_msg(p >= 0, "waitpid %d: %s", (int)child, strerror(errno));
		if (p == child && (WIFEXITED(status) || WIFSIGNALED(status)))
			break;
		/* Its first stop (the start of tracing), or not dead yet. */
		ck_assert_msg(now_usec() < end, "traced child %d never died", (int)child);
		harness_sleep_ms(10);
	}
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "child %d: status 0x%x, expected death by SIGKILL", (int)child,
		      (unsigned)status);
}

/* The daemon's log names child in a "Gave up on untracked child PID" line. */
static bool
log_gave_up_on(pid_t child)
{
	char needle[96];

	xsnprintf(needle, sizeof(needle), "%s %d ", gave_up_line, (int)child);
	return log_count(needle) == 1;
}

START_TEST(test_untracked_child_is_reaped)
{
	const char *argv[] = {"/bin/true", NULL};
	int notify = notify_listen(), sock = ck_connect(), gave_up, scanned, zombies = 0;
	char status[256] = "(none)", counted[64];
	struct tracer t;
	struct msg *m;
	rlim_t old;

	/* The connection is accepted and served before the fds run short. */
	m = msg_spawn(1, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 1, "a spawn before the limit");
	ck_expect_exited(sock, 1, 0, 0, "a spawn before the limit");
	/* Its pidfd and errpipe are closed once the fd count is back. */
	assert_fds_at(baseline_fds + 1, "after the first spawn"); /* + our connection */
	assert_no_children(10000, "after the first spawn");
	gave_up = log_count(gave_up_line);
	scanned = log_count(scan_line);

	tracer_attach(&t);
	old = daemon_set_soft_limit(RLIMIT_NOFILE, limit_leaving(2));
	for (uint64_t id = 2; id < 2 + ABANDONED; id++) {
		m = msg_spawn(id, "nobody", argv);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		tracer_wait_readable(&t, sock, 20000);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_FORK, EMFILE,
				 "a spawn whose pidfd cannot be opened");
		ck_assert_msg(t.n_children == id - 1,
			      "request %llu: %zu forks seen, expected %llu (the fork engine forks "
			      "on a thread that was not traced?)",
			      (unsigned long long)id, t.n_children, (unsigned long long)(id - 1));
	}
	(void)daemon_set_soft_limit(RLIMIT_NOFILE, old);
	tracer_detach_daemon(&t);

	/* The daemon gave up on exactly these children, and could not reap them yet. */
	ck_assert_int_eq(log_count(gave_up_line), gave_up + ABANDONED);
	for (size_t i = 0; i < ABANDONED; i++) {
		ck_assert_msg(log_gave_up_on(t.children[i]), "no '%s %d' in the log", gave_up_line,
			      (int)t.children[i]);
	}
	ck_assert_int_eq(proc_children(fx.pid, NULL), ABANDONED);
	/* Unreaped, they still count as the client's live children. */
	xsnprintf(counted, sizeof(counted), ", %d live children,", ABANDONED);
	ck_assert_msg(status_wait(notify, counted, 10000, status, sizeof(status)),
		      "untracked children not counted as live: last %s", status);

	/* Hand each death to the daemon: its abandoned list must reap them all. */
	for (size_t i = 0; i < ABANDONED; i++)
		tracer_collect(t.children[i]);
	ck_assert_msg(proc_wait_children(fx.pid, 0, 10000) == 0,
		      "untracked children never reaped: %d children of the daemon",
		      proc_children(fx.pid, &zombies));
	(void)proc_children(fx.pid, &zombies);
	ck_assert_int_eq(zombies, 0);
	/*
	 * Reaped from the list, not by the full scan's fallback, which logs
	 * its warning before it reaps: with the children gone, it would show.
	 */
	ck_assert_msg(log_count(scan_line) == scanned,
		      "the full scan reaped an abandoned child: the list missed it");
	/* Reaped, they count no more. */
	ck_assert_msg(status_wait(notify, ", 0 live children,", 10000, status, sizeof(status)),
		      "reaped untracked children still counted: last %s", status);
	(void)close(notify);

	/* The daemon still serves this connection. */
	m = msg_spawn(10, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 10, "a spawn after the limit is lifted");
	ck_expect_exited(sock, 10, 0, 0, "a spawn after the limit is lifted");
	(void)close(sock);
}
END_TEST

static Suite *
untracked_suite(void)
{
	Suite *s = suite_create("untracked");
	TCase *tc = tcase_create("reap");

	tcase_add_checked_fixture(tc, untracked_setup, untracked_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_untracked_child_is_reaped);
	suite_add_tcase(s, tc);
	return s;
}

/* Whether this process may PTRACE_SEIZE a child of its own (Yama, seccomp, no CAP_SYS_PTRACE). */
static bool
ptrace_allowed(void)
{
	pid_t pid = fork();
	int r = -1, saved = 0;

	if (pid < 0)
		return false;
	if (pid == 0) {
		(void)pause();
		_exit(0);
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0)
		r = 0;
	else
		saved = errno;
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, __WALL);
	if (r < 0)
		fprintf(stderr, "check_untracked: PTRACE_SEIZE not allowed here (%s): skipped\n",
			strerror(saved));
	return r == 0;
}

int
main(void)
{
	const char *engine = getenv("SPAWND_IT_ENGINE");

	/* Only the fork engine can make a child without a pidfd: the default when run by hand. */
	if (engine && strcmp(engine, "fork") != 0) {
		fprintf(stderr, "check_untracked: only the fork engine makes untracked children\n");
		return 77;
	}
	if (!engine && setenv("SPAWND_IT_ENGINE", "fork", 1) < 0)
		return EXIT_FAILURE;
	if (geteuid() == 0 && !ptrace_allowed())
		return 77;
	return harness_main(untracked_suite());
}
