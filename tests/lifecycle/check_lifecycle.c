/* SPDX-License-Identifier: MIT */
/*
 * Process lifecycle through the real daemon (issue 4): many children on one
 * connection, pidfds, signals, on_disconnect (verified by SIGKILLing a real
 * client process), time limits, exit reports, and the example programs.
 *
 * Every test starts its own spawnd with tests/integration/harness.c; the
 * children are real programs (/bin/sh, /bin/sleep, dd) running as nobody,
 * so the credential switch is real too. Root only: exit 77 otherwise.
 *
 *   check_lifecycle [lifecycle|examples]
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
#include "rawclient.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* ---- helpers ---- */

/* The State letter of /proc/PID/stat, or 0. */
static char
proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	xsnprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The "Pid:" of a pidfd from /proc/self/fdinfo (-1 once reaped), or -2 when absent. */
static long
pidfd_pid(int fd)
{
	char path[64];
	struct report rep;
	const char *line;
	size_t pos = 0;
	long pid = -2;

	xsnprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (report_read_file(path, &rep) < 0)
		return -2;
	while ((line = report_next(&rep, &pos)))
		if (strncmp(line, "Pid:", 4) == 0)
			pid = strtol(line + 4, NULL, 10);
	report_done(&rep);
	return pid;
}

/* Drive the client until done(arg) or the deadline; transport errors fail the test. */
static void
pump_until(spawnd_client *c, bool (*done)(void *arg), void *arg, unsigned timeout_ms)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	while (!done(arg)) {
		struct pollfd p = {
			.fd = spawnd_client_get_fd(c),
			.events = (short)spawnd_client_get_events(c),
		};
		int n, r;

		ck_assert_msg(now_usec() < end, "timed out after %u ms", timeout_ms);
		n = poll(&p, 1, 100);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n >= 0, "poll: %s", strerror(errno));
		if (n == 0)
			continue;
		r = spawnd_client_process(c);
		ck_assert_msg(r >= 0, "spawnd_client_process: %s", strerror(-r));
	}
}

/* Options for argv as nobody. */
static spawnd_options *
nobody_opts(const char *const *argv)
{
	return opts_new("nobody", argv);
}

/* Start argv as nobody synchronously; returns the STARTED result (owned). */
static spawnd_result *
start_ok(spawnd_client *c, spawnd_options *o)
{
	spawnd_result *res = NULL;
	int r = spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res);

	ck_assert_msg(r == 0, "spawnd_spawn: %s", strerror(-r));
	ck_assert_msg(spawnd_result_get_state(res) == SPAWND_STATE_STARTED,
		      "not started: stage %s, %s, '%s'",
		      spawnd_stage_to_string(spawnd_result_get_stage(res)),
		      strerror(spawnd_result_get_errno(res)), spawnd_result_get_detail(res));
	return res;
}

/* Wait for the exit of spawn id; returns the EXITED result (owned). */
static spawnd_result *
wait_exited(spawnd_client *c, uint64_t id)
{
	spawnd_result *res = NULL;
	int r = spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res);

	ck_assert_msg(r == 0, "spawnd_wait: %s", strerror(-r));
	ck_assert_int_eq(spawnd_result_get_state(res), SPAWND_STATE_EXITED);
	return res;
}

/* Run argv as nobody to its end; returns the EXITED result (owned). */
static spawnd_result *
run_to_exit(spawnd_client *c, const char *const *argv)
{
	spawnd_options *o = nobody_opts(argv);
	spawnd_result *started = start_ok(c, o), *exited;

	spawnd_options_free(o);
	exited = wait_exited(c, spawnd_result_get_id(started));
	ck_assert_int_eq(spawnd_result_get_pid(exited), spawnd_result_get_pid(started));
	spawnd_result_free(started);
	return exited;
}

/* ---- line reader for the events children write on a pipe ---- */

struct lines {
	int fd;
	char buf[4096];
	size_t len;
	char line[512];
	bool eof;
};

/* The next line (without '\n') within timeout_ms, or NULL on timeout or EOF. */
static const char *
line_next(struct lines *l, unsigned timeout_ms)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		uint64_t now;
		ssize_t n;

		if (nl) {
			size_t k = (size_t)(nl - l->buf);

			ck_assert_uint_lt(k, sizeof(l->line));
			memcpy(l->line, l->buf, k);
			l->line[k] = '\0';
			memmove(l->buf, nl + 1, l->len - k - 1);
			l->len -= k + 1;
			return l->line;
		}
		if (l->eof)
			return NULL;
		now = now_usec();
		if (now >= end)
			return NULL;
		if (poll(&p, 1, (int)((end - now) / 1000) + 1) <= 0)
			continue;
		ck_assert_uint_lt(l->len, sizeof(l->buf));
		n = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n >= 0, "read: %s", strerror(errno));
		if (n == 0)
			l->eof = true;
		l->len += (size_t)n;
	}
}

/* ---- 100 children on one connection ---- */

#define N_KIDS 100

struct kid {
	unsigned index;
	uint64_t id;
	pid_t pid;
	unsigned started, exited, failed, bad;
	int code, pidfd_seen; /* pidfd_seen: 1 ok, -1 wrong, 0 none */
	long pidfd_pid;
	unsigned exit_rank;
};

struct kids {
	struct kid k[N_KIDS];
	unsigned finished, rank;
};

static struct kids all_kids;

static void
kid_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct kid *k = userdata;
	struct kids *all = &all_kids;
	int pidfd = spawnd_result_get_pidfd(r);

	(void)c;
	/* The right callback: this spawn's id, and its pid throughout. */
	if (spawnd_result_get_id(r) != k->id)
		k->bad++;
	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		if (k->started++ || k->exited)
			k->bad++;
		k->pid = spawnd_result_get_pid(r);
		if (k->index % 2 == 0) {
			/* A pidfd of exactly this child (or of it already reaped). */
			k->pidfd_pid = pidfd >= 0 ? pidfd_pid(pidfd) : -3;
			k->pidfd_seen = pidfd >= 0 && (k->pidfd_pid == k->pid || k->pidfd_pid == -1)
						? 1
						: -1;
		} else if (pidfd != -ENODATA)
			k->pidfd_seen = -1;
		break;
	case SPAWND_STATE_EXITED:
		if (!k->started || k->exited++ || spawnd_result_get_pid(r) != k->pid)
			k->bad++;
		k->code = spawnd_result_get_exit_code(r);
		k->exit_rank = all->rank++;
		all->finished++;
		break;
	default:
		k->failed++;
		all->finished++;
		break;
	}
}

static bool
kids_done(void *arg)
{
	return ((struct kids *)arg)->finished == N_KIDS;
}

static bool
kids_started(void *arg)
{
	const struct kids *all = arg;
	unsigned n = 0;

	for (unsigned i = 0; i < N_KIDS; i++)
		n += all->k[i].started;
	return n == N_KIDS || all->finished > 0;
}

/*
 * 100 children at once on one connection, exiting in roughly the reverse
 * order of their start: each reply reaches its own callback (id, pid, exit
 * code unique per child), pidfds ride along for half of them, and the
 * daemon's fds, the children and our own fds all return to baseline.
 */
START_TEST(test_hundred_children_one_connection)
{
	struct kids *all = &all_kids;
	int daemon_fds = proc_settled_fd_count(fx.pid);
	spawnd_client *c = client_open();
	int own_fds = proc_fd_count(getpid());
	unsigned inversions = 0;
	int gate[2];

	/*
	 * Every child first waits for EOF on a shared gate pipe, released once
	 * all 100 have started, so that the exit order depends only on the
	 * sleeps below and not on how fast a loaded machine spawns.
	 */
	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	memset(all, 0, sizeof(*all));
	for (unsigned i = 0; i < N_KIDS; i++) {
		char script[96];
		const char *const argv[] = {"/bin/sh", "-c", script, NULL};
		spawnd_options *o;
		unsigned ms = (N_KIDS - 1 - i) * 20;

		/* The first started sleeps longest (1.98 s), the last not at all. */
		xsnprintf(script, sizeof(script), "read x <&3; exec 3<&-; sleep %u.%03u; exit %u",
			  ms / 1000, ms % 1000, 100 + i);
		o = nobody_opts(argv);
		ck_assert_int_eq(spawnd_options_set_want_pidfd(o, i % 2 == 0), 0);
		ck_assert_int_eq(spawnd_options_add_fd(o, 3, gate[0]), 0);
		all->k[i].index = i;
		ck_assert_int_eq(spawnd_spawn_async(c, o, kid_cb, &all->k[i], &all->k[i].id), 0);
		spawnd_options_free(o);
	}
	(void)close(gate[0]);
	pump_until(c, kids_started, all, 30000);
	ck_assert_uint_eq(all->finished, 0);
	(void)close(gate[1]); /* EOF for every child at once */
	pump_until(c, kids_done, all, 30000);

	for (unsigned i = 0; i < N_KIDS; i++) {
		const struct kid *k = &all->k[i];

		ck_assert_msg(k->failed == 0 && k->bad == 0, "child %u: failed %u, bad %u", i,
			      k->failed, k->bad);
		ck_assert_msg(k->started == 1 && k->exited == 1, "child %u: started %u, exited %u",
			      i, k->started, k->exited);
		ck_assert_msg(k->code == (int)(100 + i), "child %u: exit code %d in its callback",
			      i, k->code);
		ck_assert_msg(k->pidfd_seen == (i % 2 == 0 ? 1 : 0),
			      "child %u (pid %d): pidfd check %d (fdinfo pid %ld)", i, (int)k->pid,
			      k->pidfd_seen, k->pidfd_pid);
		for (unsigned j = i + 1; j < N_KIDS; j++)
			inversions += all->k[j].exit_rank < k->exit_rank;
	}
	/* Interleaved: the last started exited before the first, and mostly reversed. */
	ck_assert_msg(all->k[N_KIDS - 1].exit_rank < all->k[0].exit_rank,
		      "exits came in start order (ranks %u, %u)", all->k[0].exit_rank,
		      all->k[N_KIDS - 1].exit_rank);
	ck_assert_msg(inversions > N_KIDS * (N_KIDS - 1) / 4, "only %u inversions", inversions);

	/* Every pidfd the library received is closed with its spawn. */
	ck_assert_int_eq(proc_fd_count(getpid()), own_fds);
	spawnd_client_close(c);
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

/* ---- pidfd ---- */

/* As the client uid (not the child's): what a pidfd of another user's child allows. */
static int
pidfd_as_other_user(void *arg, int out)
{
	const char *const argv[] = {"/bin/sleep", "30", NULL};
	spawnd_client *c = NULL;
	spawnd_options *o = NULL;
	spawnd_result *res = NULL;
	struct pollfd p;
	uint64_t id, t0;
	siginfo_t si;
	int fd, r;

	(void)arg;
	if (spawnd_client_open(&c, fx.sock, 0) < 0 || spawnd_options_new(&o) < 0 ||
	    spawnd_options_set_argv(o, (char *const *)argv) < 0 || spawnd_options_set_user(o, "nobody") < 0 ||
	    spawnd_options_set_want_pidfd(o, 1) < 0)
		return 10;
	r = spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res);
	if (r < 0 || spawnd_result_get_state(res) != SPAWND_STATE_STARTED) {
		out_printf(out, "error=spawn %s stage %s\n", strerror(r < 0 ? -r : 0),
			   spawnd_stage_to_string(spawnd_result_get_stage(res)));
		return 11;
	}
	id = spawnd_result_get_id(res);
	fd = spawnd_result_get_pidfd(res);
	out_printf(out, "pid=%d\npidfd=%d\n", (int)spawnd_result_get_pid(res), fd);
	if (fd < 0)
		return 12;
	out_printf(out, "pidfd_pid=%ld\ncloexec=%d\n", pidfd_pid(fd),
		   (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

	p = (struct pollfd){.fd = fd, .events = POLLIN};
	out_printf(out, "readable_before=%d\n", poll(&p, 1, 200));
	/* kill(2) permissions: nobody's process is not ours to signal. */
	r = (int)syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
	out_printf(out, "pidfd_send_signal=%d\npidfd_send_signal_errno=%d\n", r, r < 0 ? errno : 0);
	/* Not our child: only the daemon can reap it. */
	r = waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG);
	out_printf(out, "waitid_errno=%d\n", r < 0 ? errno : 0);

	/* The daemon may signal it on our behalf; the pidfd then turns readable. */
	r = spawnd_signal(c, id, SIGTERM, 0, SPAWN_TIMEOUT_USEC);
	out_printf(out, "daemon_signal=%d\n", r);
	t0 = now_usec();
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	r = poll(&p, 1, 5000);
	out_printf(out, "readable_after=%d\nrevents=%d\nreadable_ms=%llu\n", r, p.revents,
		   (unsigned long long)((now_usec() - t0) / 1000));
	spawnd_result_free(res);
	res = NULL;
	if (spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res) == 0)
		out_printf(out, "exit_signal=%d\n", spawnd_result_get_signal(res));
	spawnd_result_free(res);
	spawnd_options_free(o);
	spawnd_client_close(c);
	return 0;
}

/*
 * want_pidfd: Started carries a pidfd of exactly the child; an unprivileged
 * client of another uid can poll it (readable on exit) but neither signal
 * nor reap through it, so signals still go through the daemon.
 */
START_TEST(test_pidfd_readable_on_exit)
{
	struct user_ids daemon_user;
	struct report rep;
	int daemon_fds, status;

	fx_stop();
	fx_start("permit root\npermit daemon as nobody cmd /bin/sleep\n");
	daemon_fds = proc_settled_fd_count(fx.pid);
	lookup_user("daemon", &daemon_user);

	status = run_as_user(daemon_user.uid, daemon_user.gid, pidfd_as_other_user, NULL, &rep);
	if (status != 0)
		report_dump(&rep);
	ck_assert_int_eq(status, 0);
	ck_assert_int_ge(report_num(&rep, "pidfd", 10), 0);
	ck_assert_int_eq(report_num(&rep, "pidfd_pid", 10), report_num(&rep, "pid", 10));
	ASSERT_STREQ_REPORT(&rep, "cloexec", "1");
	ASSERT_STREQ_REPORT(&rep, "readable_before", "0");
	ASSERT_STREQ_REPORT(&rep, "pidfd_send_signal", "-1");
	ck_assert_int_eq(report_num(&rep, "pidfd_send_signal_errno", 10), EPERM);
	ck_assert_int_eq(report_num(&rep, "waitid_errno", 10), ECHILD);
	ASSERT_STREQ_REPORT(&rep, "daemon_signal", "0");
	ASSERT_STREQ_REPORT(&rep, "readable_after", "1");
	ck_assert_int_ne(report_num(&rep, "revents", 10) & POLLIN, 0);
	ck_assert_int_lt(report_num(&rep, "readable_ms", 10), 3000);
	ck_assert_int_eq(report_num(&rep, "exit_signal", 10), SIGTERM);
	report_done(&rep);

	/* The daemon's duplicate left with the reply: back to baseline. */
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

struct quick {
	unsigned started, exited, with_pidfd, readable;
};

static void
quick_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct quick *q = userdata;
	int fd = spawnd_result_get_pidfd(r);

	(void)c;
	if (spawnd_result_get_state(r) == SPAWND_STATE_STARTED) {
		q->started++;
		q->with_pidfd += fd >= 0;
	} else if (spawnd_result_get_state(r) == SPAWND_STATE_EXITED) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		q->exited++;
		/* Exited comes after the death: its pidfd must say so at once. */
		q->readable += fd >= 0 && poll(&p, 1, 0) == 1;
	}
}

#define N_QUICK 160

static bool
quick_done(void *arg)
{
	return ((struct quick *)arg)->exited == N_QUICK;
}

/*
 * Pidfds of children that exit at once (often reaped before the daemon
 * sends Started), with replies piling up while the client does not read:
 * 320 replies overflow the socket buffer (a connected SOCK_SEQPACKET peer
 * is bounded by the sender's SO_SNDBUF, about 270 small datagrams), so the
 * daemon's own queue holds Started replies with their pidfd duplicates.
 * Every Started still carries its pidfd, and neither side keeps an fd.
 */
START_TEST(test_pidfd_queued_and_quick_children)
{
	const char *const argv[] = {"/bin/true", NULL};
	int daemon_fds = proc_settled_fd_count(fx.pid);
	spawnd_client *c = client_open();
	spawnd_options *o = nobody_opts(argv);
	int own_fds = proc_fd_count(getpid());
	struct quick q = {0};
	char needle[64];

	ck_assert_int_eq(spawnd_options_set_want_pidfd(o, 1), 0);
	/* The requests fit our socket buffer and go out at once; nobody reads. */
	for (int i = 0; i < N_QUICK; i++)
		ck_assert_int_eq(spawnd_spawn_async(c, o, quick_cb, &q, NULL), 0);
	ck_assert_int_eq(spawnd_client_get_events(c), POLLIN);
	/* Until the daemon has reaped the last one and queued its Exited. */
	xsnprintf(needle, sizeof(needle), "audit: exited client_uid=0 id=%d ", N_QUICK);
	ck_assert_msg(log_wait_count(needle, 0, 20000), "the daemon did not get through the requests");
	pump_until(c, quick_done, &q, 20000);
	ck_assert_uint_eq(q.started, N_QUICK);
	ck_assert_uint_eq(q.with_pidfd, N_QUICK);
	ck_assert_uint_eq(q.readable, N_QUICK);
	spawnd_options_free(o);
	ck_assert_int_eq(proc_fd_count(getpid()), own_fds);
	spawnd_client_close(c);
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

/* ---- signals ---- */

/* A Signal request on a raw connection: the library refuses unknown ids itself. */
static void
raw_signal(int sock, uint64_t id, uint64_t spawn_id, int signo, bool group)
{
	struct msg *m = msg_signal(id, spawn_id, signo, group);

	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
}

static void
assert_refused(int sock, uint64_t id, uint64_t spawn_id)
{
	Spawnd__V1__Reply *m = ck_reply_nofd(sock, 10000, "a refused Signal");
	char want[96];

	ck_assert_uint_eq(m->id, id);
	ck_assert_int_eq(m->body_case, SPAWND__V1__REPLY__BODY_FAILED);
	ck_assert_int_eq(m->failed->stage, SPAWND__V1__STAGE__STAGE_SIGNAL);
	ck_assert_int_eq(m->failed->errnum, ESRCH);
	xsnprintf(want, sizeof(want), "spawn %llu is not a running child of this connection",
		  (unsigned long long)spawn_id);
	ck_assert_str_eq(m->failed->detail, want);
	wire_reply_free(m);
}

/*
 * The daemon itself (not just the library) refuses a Signal for another
 * connection's child, with or without process_group, for a reaped child
 * and for an id never used; it carries out one for its own live child.
 */
START_TEST(test_signal_other_connection_refused)
{
	const char *const sleeper[] = {"/bin/sleep", "30", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = nobody_opts(sleeper);
	spawnd_result *res = start_ok(c, o), *exited;
	uint64_t victim = spawnd_result_get_id(res);
	pid_t victim_pid = spawnd_result_get_pid(res);
	Spawnd__V1__Reply *m;
	struct msg *sp;
	int raw = ck_connect();
	pid_t own_pid;

	spawnd_result_free(res);
	spawnd_options_free(o);

	/* Same uid, other connection: refused, and the child is untouched. */
	raw_signal(raw, 1, victim, SIGKILL, false);
	assert_refused(raw, 1, victim);
	raw_signal(raw, 2, victim, SIGKILL, true);
	assert_refused(raw, 2, victim);
	raw_signal(raw, 3, 987654, SIGKILL, false);
	assert_refused(raw, 3, 987654);
	/* A signal the daemon sent would be sent before its reply, and still show. */
	ck_assert_msg(proc_untouched(victim_pid), "a foreign Signal reached child %d",
		      (int)victim_pid);

	/* The raw connection's own child can be signalled, until it is reaped. */
	sp = msg_spawn(10, "nobody", sleeper);
	ck_send_msg(raw, sp, NULL, 0);
	msg_free(sp);
	m = ck_reply_nofd(raw, 10000, "the raw connection's spawn");
	ck_assert_uint_eq(m->id, 10);
	ck_assert_int_eq(m->body_case, SPAWND__V1__REPLY__BODY_STARTED);
	ck_assert(!m->started->has_pidfd || !m->started->pidfd);
	own_pid = m->started->pid;
	wire_reply_free(m);
	raw_signal(raw, 11, 10, SIGUSR1, true);
	m = ck_reply_nofd(raw, 10000, "a Signal to its own child");
	ck_assert_uint_eq(m->id, 11);
	ck_assert_int_eq(m->body_case, SPAWND__V1__REPLY__BODY_SIGNAL_SENT);
	wire_reply_free(m);
	m = ck_reply_nofd(raw, 10000, "its own child's exit");
	ck_assert_uint_eq(m->id, 10);
	ck_assert_int_eq(m->body_case, SPAWND__V1__REPLY__BODY_EXITED);
	ck_assert_int_eq(m->exited->pid, own_pid);
	ck_assert(m->exited->has_signal);
	ck_assert_int_eq(m->exited->signal, SIGUSR1);
	wire_reply_free(m);
	raw_signal(raw, 12, 10, SIGKILL, false);
	assert_refused(raw, 12, 10);
	(void)close(raw);

	ck_assert_msg(proc_alive(victim_pid), "child %d died with the other connection",
		      (int)victim_pid);
	ck_assert_int_eq(spawnd_signal(c, victim, SIGTERM, 0, SPAWN_TIMEOUT_USEC), 0);
	exited = wait_exited(c, victim);
	ck_assert_int_eq(spawnd_result_get_signal(exited), SIGTERM);
	spawnd_result_free(exited);
	spawnd_client_close(c);
}
END_TEST

/* Start a shell that runs `sleep 30` in the background and prints its pid. */
static uint64_t
start_group(spawnd_client *c, pid_t *ret_leader, pid_t *ret_member)
{
	const char *const argv[] = {"/bin/sh", "-c", "sleep 30 >/dev/null & echo $!; wait", NULL};
	spawnd_options *o = nobody_opts(argv);
	struct lines l = {0};
	spawnd_result *res;
	const char *line;
	uint64_t id;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 1, p[1]), 0);
	res = start_ok(c, o);
	(void)close(p[1]);
	spawnd_options_free(o);
	l.fd = p[0];
	line = line_next(&l, 10000);
	ck_assert_ptr_nonnull(line);
	*ret_member = (pid_t)atoi(line);
	ck_assert_int_gt(*ret_member, 0);
	(void)close(p[0]);
	*ret_leader = spawnd_result_get_pid(res);
	id = spawnd_result_get_id(res);
	spawnd_result_free(res);
	/* Each child leads its own group; the background job is in it. */
	ck_assert_int_eq(getpgid(*ret_member), *ret_leader);
	return id;
}

/*
 * A signal to the process group reaches every member; one to the child
 * reaches the child alone.
 */
START_TEST(test_signal_process_group)
{
	spawnd_client *c = client_open();
	spawnd_result *res;
	pid_t leader, member;
	uint64_t id;

	id = start_group(c, &leader, &member);
	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 1, SPAWN_TIMEOUT_USEC), 0);
	res = wait_exited(c, id);
	ck_assert_int_eq(spawnd_result_get_signal(res), SIGTERM);
	spawnd_result_free(res);
	ck_assert_msg(proc_wait_gone(member, 3000), "group member %d survived", (int)member);

	id = start_group(c, &leader, &member);
	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 0, SPAWN_TIMEOUT_USEC), 0);
	res = wait_exited(c, id);
	ck_assert_int_eq(spawnd_result_get_signal(res), SIGTERM);
	spawnd_result_free(res);
	/* Sent before the reply, a signal to the group would still show. */
	ck_assert_msg(proc_untouched(member), "a signal to the child alone reached member %d",
		      (int)member);
	ck_assert_int_eq(kill(member, SIGKILL), 0);
	/* Reaped: the group cannot be signalled any more. */
	ck_assert_int_eq(spawnd_signal(c, id, SIGTERM, 1, SPAWN_TIMEOUT_USEC), -ESRCH);
	spawnd_client_close(c);
}
END_TEST

/* ---- on_disconnect, by SIGKILL of a real client ---- */

struct client_proc {
	pid_t pid;	 /* the client process */
	struct lines ev; /* what the child writes on its fd 3 */
};

/*
 * Fork a client process that spawns `/bin/sh -c script` as nobody (its fd
 * 3 a pipe to us) with the given lifecycle options, and then waits for
 * ever. Returns once the spawn started.
 */
static void
client_proc_start(struct client_proc *cp, const char *script, spawnd_on_disconnect how,
		  uint64_t grace_usec, uint64_t timeout_usec)
{
	int ev[2], ctl[2];
	char buf[16];
	ssize_t n;

	ck_assert_int_eq(pipe2(ev, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(ctl, O_CLOEXEC), 0);
	(void)fflush(NULL);
	cp->pid = fork();
	ck_assert_int_ge(cp->pid, 0);
	if (cp->pid == 0) {
		const char *const argv[] = {"/bin/sh", "-c", script, NULL};
		spawnd_client *c = NULL;
		spawnd_options *o = NULL;
		spawnd_result *res = NULL;

		(void)close(ev[0]);
		(void)close(ctl[0]);
		if (spawnd_client_open(&c, fx.sock, 0) < 0 || spawnd_options_new(&o) < 0 ||
		    spawnd_options_set_argv(o, (char *const *)argv) < 0 ||
		    spawnd_options_set_user(o, "nobody") < 0 ||
		    spawnd_options_add_fd(o, 3, ev[1]) < 0 ||
		    spawnd_options_set_on_disconnect(o, how) < 0 ||
		    spawnd_options_set_kill_grace(o, grace_usec) < 0 ||
		    spawnd_options_set_timeout(o, timeout_usec) < 0)
			_exit(2);
		if (spawnd_spawn(c, o, SPAWN_TIMEOUT_USEC, &res) < 0 ||
		    spawnd_result_get_state(res) != SPAWND_STATE_STARTED)
			_exit(3);
		(void)!write(ctl[1], "started\n", 8);
		for (;;)
			pause();
	}
	(void)close(ev[1]);
	(void)close(ctl[1]);
	memset(&cp->ev, 0, sizeof(cp->ev));
	cp->ev.fd = ev[0];
	{
		struct pollfd p = {.fd = ctl[0], .events = POLLIN};

		ck_assert_msg(poll(&p, 1, 10000) == 1,
			      "the client process did not start its child");
	}
	n = read(ctl[0], buf, sizeof(buf));
	(void)close(ctl[0]);
	ck_assert_msg(n == 8, "the client process failed (read %zd)", n);
}

/* SIGKILL the client process and collect it. */
static void
client_proc_kill(struct client_proc *cp)
{
	int status;

	ck_assert_int_eq(kill(cp->pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(cp->pid, &status, 0), cp->pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* The first line "ready PID [PID2]" of a script; returns PID (and PID2). */
static pid_t
expect_ready(struct client_proc *cp, pid_t *ret_second)
{
	const char *line = line_next(&cp->ev, 10000);
	int a = 0, b = 0;

	ck_assert_msg(line && sscanf(line, "ready %d %d", &a, &b) >= 1, "no ready line: '%s'",
		      line ? line : "(none)");
	if (ret_second)
		*ret_second = b;
	return a;
}

/* Ignores nothing, reports SIGTERM/SIGHUP on fd 3, and otherwise keeps running. */
#define STUBBORN_SCRIPT                                                                            \
	"trap 'echo term >&3' TERM; trap 'echo hup >&3' HUP; echo ready $$ >&3; "                  \
	"while :; do sleep 0.05 3>&-; done"

/*
 * TERMINATE: the client's death brings SIGTERM at once and, since this
 * child shrugs it off, SIGKILL after the requested 1 s grace.
 */
START_TEST(test_disconnect_terminate)
{
	struct client_proc cp;
	uint64_t t_kill, t_term, t_gone;
	const char *line;
	char needle[64];
	pid_t pid;

	client_proc_start(&cp, STUBBORN_SCRIPT, SPAWND_ON_DISCONNECT_TERMINATE, USEC_PER_SEC, 0);
	pid = expect_ready(&cp, NULL);
	t_kill = now_usec();
	client_proc_kill(&cp);

	line = line_next(&cp.ev, 5000);
	t_term = now_usec();
	ck_assert_msg(line && strcmp(line, "term") == 0, "expected SIGTERM, got '%s'",
		      line ? line : "(nothing)");
	ck_assert_uint_lt(t_term - t_kill, 2 * USEC_PER_SEC);
	ck_assert_msg(proc_wait_gone(pid, 5000), "child %d survived SIGKILL", (int)pid);
	t_gone = now_usec();
	ck_assert_msg(t_gone - t_term >= 700000, "SIGKILL came %llu ms after SIGTERM, grace 1 s",
		      (unsigned long long)((t_gone - t_term) / 1000));
	ck_assert_uint_lt(t_gone - t_kill, 4 * USEC_PER_SEC);
	xsnprintf(needle, sizeof(needle), "pid=%d signal=%d", (int)pid, SIGKILL);
	ck_assert_msg(log_wait_count(needle, 0, 3000), "no '%s' in the daemon log", needle);
	ck_assert_ptr_null(line_next(&cp.ev, 2000)); /* EOF, nothing else */
	ck_assert(cp.ev.eof);
	(void)close(cp.ev.fd);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 3000), 0);
}
END_TEST

/*
 * A daemon that stops waits SPAWND_KILL_GRACE_SEC + 2 s for the children it
 * terminates. A child already in a long per-request grace (30 s here, its
 * client long gone) must get its SIGKILL within that wait, so that the stop
 * leaves no SIGTERM-ignoring child behind and still exits 0 in time.
 */
START_TEST(test_stop_cuts_long_grace)
{
	struct client_proc cp;
	uint64_t t_stop;
	const char *line;
	pid_t pid;

	client_proc_start(&cp, STUBBORN_SCRIPT, SPAWND_ON_DISCONNECT_TERMINATE,
			  30 * USEC_PER_SEC, 0);
	pid = expect_ready(&cp, NULL);
	client_proc_kill(&cp);
	line = line_next(&cp.ev, 5000);
	ck_assert_msg(line && strcmp(line, "term") == 0, "expected SIGTERM, got '%s'",
		      line ? line : "(nothing)");
	ck_assert_msg(proc_alive(pid), "child %d died from SIGTERM it ignores", (int)pid);

	t_stop = now_usec();
	fx_stop(); /* asserts exit status 0 */
	ck_assert_uint_lt(now_usec() - t_stop, 8 * USEC_PER_SEC);
	ck_assert_msg(proc_wait_gone(pid, 2000), "child %d outlived the daemon's stop", (int)pid);
	(void)close(cp.ev.fd);
}
END_TEST

/*
 * HANGUP: SIGHUP to the whole process group, then SIGCONT, so that even a
 * stopped member that handles SIGHUP sees it; never SIGTERM.
 */
START_TEST(test_disconnect_hangup)
{
	const char *script =
		"trap 'echo hup >&3; exit 7' HUP; trap 'echo term >&3' TERM; "
		"sh -c 'trap \"echo member-hup >&3; exit 0\" HUP; echo member-ready >&3; "
		"while :; do sleep 0.05 3>&-; done' & "
		"echo ready $$ $! >&3; wait";
	struct client_proc cp;
	bool hup = false, member_hup = false;
	const char *line;
	char needle[64];
	pid_t pid, member;

	client_proc_start(&cp, script, SPAWND_ON_DISCONNECT_HANGUP, SPAWND_KILL_GRACE_DEFAULT, 0);
	/* The member says when its trap is set: before that, SIGHUP would simply kill it. */
	line = line_next(&cp.ev, 10000);
	ck_assert_ptr_nonnull(line);
	if (strcmp(line, "member-ready") == 0) {
		pid = expect_ready(&cp, &member);
	} else {
		ck_assert_msg(sscanf(line, "ready %d %d", &pid, &member) == 2, "line '%s'", line);
		line = line_next(&cp.ev, 10000);
		ck_assert_msg(line && strcmp(line, "member-ready") == 0, "line '%s'",
			      line ? line : "(none)");
	}
	ck_assert_int_gt(member, 0);
	ck_assert_int_eq(getpgid(member), pid);
	/* Stopped, it would sit on a handled SIGHUP for ever without SIGCONT. */
	ck_assert_int_eq(kill(member, SIGSTOP), 0);
	for (int i = 0; i < 200 && proc_state(member) != 'T'; i++)
		harness_sleep_ms(10);
	ck_assert_int_eq(proc_state(member), 'T');

	client_proc_kill(&cp);
	while ((line = line_next(&cp.ev, 5000))) {
		ck_assert_msg(strcmp(line, "term") != 0, "HANGUP sent SIGTERM");
		hup = hup || strcmp(line, "hup") == 0;
		member_hup = member_hup || strcmp(line, "member-hup") == 0;
	}
	ck_assert_msg(cp.ev.eof, "the group is still running");
	ck_assert_msg(hup, "the child saw no SIGHUP");
	ck_assert_msg(member_hup, "the stopped group member saw no SIGHUP (no SIGCONT?)");
	ck_assert(proc_wait_gone(pid, 3000));
	ck_assert(proc_wait_gone(member, 3000));
	xsnprintf(needle, sizeof(needle), "pid=%d exit_code=7", (int)pid);
	ck_assert_msg(log_wait_count(needle, 0, 3000), "no '%s' in the daemon log", needle);
	(void)close(cp.ev.fd);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 3000), 0);
}
END_TEST

/* KEEP: the client's death is not the child's business: no signal at all. */
START_TEST(test_disconnect_keep)
{
	struct client_proc cp;
	const char *line;
	pid_t pid;

	client_proc_start(&cp, STUBBORN_SCRIPT, SPAWND_ON_DISCONNECT_KEEP, 0, 0);
	pid = expect_ready(&cp, NULL);
	client_proc_kill(&cp);
	line = line_next(&cp.ev, 1500);
	ck_assert_msg(!line, "the kept child got a signal: '%s'", line);
	ck_assert_msg(proc_alive(pid), "the kept child %d is gone", (int)pid);
	ck_assert_int_eq(proc_wait_children(fx.pid, 1, 3000), 1);

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert(proc_wait_gone(pid, 3000));
	(void)close(cp.ev.fd);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 3000), 0);
}
END_TEST

/*
 * The time limit is the daemon's: it fires after the client died (even for
 * a kept child), SIGTERM first, SIGKILL after the requested grace.
 */
START_TEST(test_timeout_outlives_client)
{
	struct client_proc cp;
	uint64_t t_ready, t_term, t_gone;
	const char *line;
	char needle[80];
	pid_t pid;

	client_proc_start(&cp, STUBBORN_SCRIPT, SPAWND_ON_DISCONNECT_KEEP, 600000, USEC_PER_SEC);
	pid = expect_ready(&cp, NULL);
	t_ready = now_usec();
	client_proc_kill(&cp);

	line = line_next(&cp.ev, 5000);
	t_term = now_usec();
	ck_assert_msg(line && strcmp(line, "term") == 0, "expected SIGTERM, got '%s'",
		      line ? line : "(nothing)");
	ck_assert_msg(t_term - t_ready >= 700000, "SIGTERM after %llu ms, limit 1 s",
		      (unsigned long long)((t_term - t_ready) / 1000));
	ck_assert(proc_wait_gone(pid, 3000));
	t_gone = now_usec();
	ck_assert_msg(t_gone - t_term >= 400000 && t_gone - t_term < 2 * USEC_PER_SEC,
		      "SIGKILL %llu ms after SIGTERM, grace 600 ms",
		      (unsigned long long)((t_gone - t_term) / 1000));
	xsnprintf(needle, sizeof(needle), "pid=%d signal=%d timed_out=1", (int)pid, SIGKILL);
	ck_assert_msg(log_wait_count(needle, 0, 3000), "no '%s' in the daemon log", needle);
	(void)close(cp.ev.fd);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 3000), 0);
}
END_TEST

/* ---- time limit and exit report ---- */

/* Run spawnctl with args, stdin and stdout /dev/null; its stderr in *ret_err. */
static int
run_spawnctl(const char *const *args, struct report *ret_err)
{
	const char *argv[32] = {"spawnctl", "-s", fx.sock};
	size_t n = 3;
	int p[2], status, k;
	pid_t pid;

	for (; *args; args++) {
		ck_assert_uint_lt(n, 31);
		argv[n++] = *args;
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(p[1], 2) < 0)
			_exit(120);
		execv(SPAWNCTL_PATH, (char *const *)argv);
		_exit(121);
	}
	(void)close(p[1]);
	k = report_read_fd(p[0], ret_err, 20000);
	(void)close(p[0]);
	status = wait_pid_deadline(pid, 20000);
	ck_assert_int_eq(k, 0);
	ck_assert_msg(status != -1, "spawnctl did not finish");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The numeric value of "key": in a one-line JSON object, or -1. */
static long long
json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	xsnprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The time limit kills a sleep: library and spawnctl (exit 124, JSON report). */
START_TEST(test_timeout_kills_sleep)
{
	const char *const argv[] = {"/bin/sleep", "30", NULL};
	const char *const ctl[] = {"-u",     "nobody", "--timeout",  "0.5", "--report",
				   "--json", "--",     "/bin/sleep", "30",  NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = nobody_opts(argv);
	spawnd_result *started, *exited;
	struct report err;
	uint64_t t0 = now_usec();
	const char *json;
	int rc;

	ck_assert_int_eq(spawnd_options_set_timeout(o, 500000), 0);
	started = start_ok(c, o);
	exited = wait_exited(c, spawnd_result_get_id(started));
	ck_assert_int_eq(spawnd_result_get_signal(exited), SIGTERM);
	ck_assert_int_eq(spawnd_result_get_exit_code(exited), -1);
	ck_assert_int_eq(spawnd_result_get_timed_out(exited), 1);
	ck_assert_uint_ge(spawnd_result_get_wall_usec(exited), 500000);
	ck_assert_uint_lt(spawnd_result_get_wall_usec(exited), 3 * USEC_PER_SEC);
	ck_assert_uint_lt(now_usec() - t0, 4 * USEC_PER_SEC);
	spawnd_result_free(started);
	spawnd_result_free(exited);
	spawnd_options_free(o);
	spawnd_client_close(c);

	rc = run_spawnctl(ctl, &err);
	json = err.text;
	ck_assert_msg(rc == 124, "spawnctl --timeout exited %d: %s", rc, json);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(json[0] == '{' && strstr(json, "\"timed_out\":true"), "report: %s", json);
	ck_assert_int_eq(json_num(json, "signal"), SIGTERM);
	ck_assert_msg(strstr(json, "\"core_dumped\":false"), "report: %s", json);
	ck_assert_int_ge(json_num(json, "wall_us"), 500000);
	report_done(&err);
}
END_TEST

/*
 * Exit reports are plausible: a CPU-burning shell reports user CPU time
 * close to its wall time, dd's 64 MiB buffer shows in max RSS and system
 * time, a sleeper uses wall time but next to no CPU; codes and signals come
 * back as such. spawnctl prints the same in both report formats.
 */
START_TEST(test_exit_report_plausible)
{
	const char *const burn[] = {"/bin/sh", "-c",
				    "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done", NULL};
	const char *const dd[] = {"/bin/dd", "if=/dev/zero", "of=/dev/null",
				  "bs=64M",  "count=4",	     "status=none",
				  NULL};
	const char *const nap[] = {"/bin/sleep", "0.3", NULL};
	const char *const code[] = {"/bin/sh", "-c", "exit 42", NULL};
	const char *const killed[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
	const char *const ctl_json[] = {"-u",	 "nobody", "--report", "--json", "--",
					burn[0], burn[1],  burn[2],    NULL};
	const char *const ctl_human[] = {"-u",	    "nobody", "--report", "--",
					 "/bin/sh", "-c",     "exit 3",	  NULL};
	spawnd_client *c = client_open();
	spawnd_result *r;
	uint64_t user, sys, wall;
	struct report err;
	int rc;

	r = run_to_exit(c, burn);
	user = spawnd_result_get_user_cpu_usec(r);
	sys = spawnd_result_get_sys_cpu_usec(r);
	wall = spawnd_result_get_wall_usec(r);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 0);
	ck_assert_msg(user >= 100000, "a CPU-bound shell reported %llu us of user CPU",
		      (unsigned long long)user);
	/* One thread: CPU time cannot exceed the wall time (plus tick rounding). */
	ck_assert_msg(user + sys <= wall + 20000, "CPU %llu us > wall %llu us",
		      (unsigned long long)(user + sys), (unsigned long long)wall);
	ck_assert_uint_gt(spawnd_result_get_max_rss_kb(r), 100);
	ck_assert_uint_lt(spawnd_result_get_max_rss_kb(r), 64 * 1024);
	r = spawnd_result_free(r);

	r = run_to_exit(c, dd);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 0);
	ck_assert_msg(spawnd_result_get_max_rss_kb(r) >= 64 * 1024,
		      "dd with a 64 MiB buffer reported max RSS %llu KiB",
		      (unsigned long long)spawnd_result_get_max_rss_kb(r));
	ck_assert_uint_gt(spawnd_result_get_sys_cpu_usec(r), 10000);
	r = spawnd_result_free(r);

	r = run_to_exit(c, nap);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 0);
	ck_assert_uint_ge(spawnd_result_get_wall_usec(r), 300000);
	ck_assert_msg(spawnd_result_get_user_cpu_usec(r) + spawnd_result_get_sys_cpu_usec(r) <
			      100000,
		      "sleep used %llu us of CPU",
		      (unsigned long long)(spawnd_result_get_user_cpu_usec(r) +
					   spawnd_result_get_sys_cpu_usec(r)));
	r = spawnd_result_free(r);

	r = run_to_exit(c, code);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 42);
	ck_assert_int_eq(spawnd_result_get_signal(r), 0);
	ck_assert_int_eq(spawnd_result_get_timed_out(r), 0);
	r = spawnd_result_free(r);

	r = run_to_exit(c, killed);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), -1);
	ck_assert_int_eq(spawnd_result_get_signal(r), SIGKILL);
	ck_assert_int_eq(spawnd_result_get_core_dumped(r), 0);
	r = spawnd_result_free(r);
	spawnd_client_close(c);

	rc = run_spawnctl(ctl_json, &err);
	ck_assert_msg(rc == 0, "spawnctl exited %d: %s", rc, err.text);
	ck_assert_int_eq(json_num(err.text, "exit_code"), 0);
	ck_assert_msg(json_num(err.text, "user_cpu_us") >= 100000, "report: %s", err.text);
	ck_assert_int_ge(json_num(err.text, "max_rss_kb"), 100);
	ck_assert_int_ge(json_num(err.text, "wall_us"), json_num(err.text, "user_cpu_us") - 20000);
	ck_assert_msg(strstr(err.text, "\"timed_out\":false"), "report: %s", err.text);
	report_done(&err);

	rc = run_spawnctl(ctl_human, &err);
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(strncmp(err.text, "spawnctl: exit status 3; user ", 30) == 0 &&
			      strstr(err.text, " s, system ") && strstr(err.text, " KiB, wall "),
		      "human report: %s", err.text);
	report_done(&err);
}
END_TEST

/* Fork nobody in dir, run `sh -c 'kill -QUIT $$'`; returns the raw wait status. */
static int
local_quit(const char *dir)
{
	struct user_ids nobody;
	int status;
	pid_t pid;

	lookup_user("nobody", &nobody);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(nobody.gid, nobody.gid, nobody.gid) < 0 ||
		    setresuid(nobody.uid, nobody.uid, nobody.uid) < 0 || chdir(dir) < 0)
			_exit(120);
		execl("/bin/sh", "sh", "-c", "kill -QUIT $$", (char *)NULL);
		_exit(121);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/*
 * core_dumped is the kernel's word: a child that dies of SIGQUIT reports
 * exactly what the same program run here, as the same user in the same
 * directory with the same RLIMIT_CORE, reports to waitpid().
 */
START_TEST(test_core_dumped_matches_kernel)
{
	const char *const argv[] = {"/bin/sh", "-c", "kill -QUIT $$", NULL};
	struct rlimit rl;
	char dir[PATH_MAX + 8];
	spawnd_client *c;
	spawnd_options *o;
	spawnd_result *started, *exited;
	int local;

	/* Children inherit the daemon's RLIMIT_CORE, which inherits ours. */
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	(void)setrlimit(RLIMIT_CORE, &rl);
	{
		/*
		 * An ASan build of the daemon would zero its own RLIMIT_CORE at
		 * start-up (ASan's disable_coredump=1 default), and its children
		 * would inherit that; other builds ignore the variable.
		 */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[1024];

		xsnprintf(opts, sizeof(opts), "%s%sdisable_coredump=0", asan ? asan : "",
			  asan && asan[0] ? ":" : "");
		ck_assert_int_eq(setenv("ASAN_OPTIONS", opts, 1), 0);
	}
	fx_start(NULL);
	xsnprintf(dir, sizeof(dir), "%s/cores", fx.dir);
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(chmod(dir, 01777), 0);

	local = local_quit(dir);
	ck_assert(WIFSIGNALED(local) && WTERMSIG(local) == SIGQUIT);

	c = client_open();
	o = nobody_opts(argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, dir), 0);
	started = start_ok(c, o);
	exited = wait_exited(c, spawnd_result_get_id(started));
	ck_assert_int_eq(spawnd_result_get_signal(exited), SIGQUIT);
	ck_assert_msg(spawnd_result_get_core_dumped(exited) == (WCOREDUMP(local) != 0),
		      "daemon says core_dumped=%d, the kernel said %d here",
		      spawnd_result_get_core_dumped(exited), WCOREDUMP(local) != 0);
	fprintf(stderr, "core dumps %s here\n", WCOREDUMP(local) ? "happen" : "do not happen");
	spawnd_result_free(started);
	spawnd_result_free(exited);
	spawnd_options_free(o);
	spawnd_client_close(c);
	fx_teardown();
}
END_TEST

/* ---- examples ---- */

/* Run an example program; its stdout in *ret_out, its exit status returned. */
static int
run_example(const char *path, bool socket_arg, struct report *ret_out)
{
	int p[2], status, k;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(120);
		/* Without an argument the example must find the daemon through the environment. */
		if (!socket_arg && setenv("SPAWND_SOCKET", fx.sock, 1) < 0)
			_exit(121);
		if (socket_arg)
			execl(path, path, fx.sock, (char *)NULL);
		else
			execl(path, path, (char *)NULL);
		_exit(122);
	}
	(void)close(p[1]);
	k = report_read_fd(p[0], ret_out, 30000);
	(void)close(p[0]);
	status = wait_pid_deadline(pid, 30000);
	ck_assert_int_eq(k, 0);
	ck_assert_msg(status != -1, "%s did not finish", path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		report_dump(ret_out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when the output has a line starting with prefix; *ret_pos is its position. */
static bool
has_line(const struct report *r, const char *prefix, size_t *ret_pos)
{
	size_t pos = 0, at = 0;
	const char *line;

	while ((line = report_next(r, &pos))) {
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			if (ret_pos)
				*ret_pos = at;
			return true;
		}
		at = pos;
	}
	return false;
}

#define ASSERT_LINE(rep, prefix)                                                                   \
	do {                                                                                       \
		if (!has_line((rep), (prefix), NULL))                                              \
			report_dump(rep);                                                          \
		ck_assert_msg(has_line((rep), (prefix), NULL), "no line '%s...'", (prefix));       \
	} while (0)

START_TEST(test_example_poll)
{
	int daemon_fds = proc_settled_fd_count(fx.pid);
	struct report out;

	ck_assert_int_eq(run_example(EXAMPLE_POLL_PATH, true, &out), 0);
	ASSERT_LINE(&out, "shell: exited id=1 pid=");
	ck_assert_msg(strstr(report_need(&out, "shell: exited id"), " code=3 "), "wrong code");
	ASSERT_LINE(&out, "sleeper: started id=2 pid=");
	ASSERT_LINE(&out, "sleeper: pidfd readable, the child has exited");
	ASSERT_LINE(&out, "ok");
	report_done(&out);
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

START_TEST(test_example_libevent)
{
	int daemon_fds = proc_settled_fd_count(fx.pid);
	size_t first = 0, last = 0;
	struct report out;

	ck_assert_int_eq(run_example(EXAMPLE_LIBEVENT_PATH, false, &out), 0);
	ASSERT_LINE(&out, "sleeper: exited code=-1 signal=15 ");
	ASSERT_LINE(&out, "shell0: exited code=10 signal=0 ");
	ASSERT_LINE(&out, "shell4: exited code=14 signal=0 ");
	/* The last started shell sleeps least: its exit is reported first. */
	ck_assert(has_line(&out, "shell0: exited", &first));
	ck_assert(has_line(&out, "shell4: exited", &last));
	ck_assert_uint_lt(last, first);
	ASSERT_LINE(&out, "ok: 6 of 6 as expected");
	report_done(&out);
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

START_TEST(test_example_sync)
{
	int daemon_fds = proc_settled_fd_count(fx.pid);
	struct report out;

	for (int env = 0; env < 2; env++) {
		ck_assert_int_eq(run_example(EXAMPLE_SYNC_PATH, env == 0, &out), 0);
		ASSERT_LINE(&out, "/bin/echo: started pid=");
		ASSERT_LINE(&out, "hello from spawnd");
		ASSERT_LINE(&out, "/bin/echo: exited code=0 signal=0 core_dumped=0 ");
		ASSERT_LINE(&out, "/nonexistent/spawnd-example: failed: exec "
				  "/nonexistent/spawnd-example: No such file or directory");
		ASSERT_LINE(&out, "ok");
		report_done(&out);
	}
	assert_daemon_idle(daemon_fds, "after the test");
}
END_TEST

/* ---- suites ---- */

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hundred_children_one_connection);
	suite_add_tcase(s, tc);

	tc = tcase_create("pidfd");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pidfd_readable_on_exit);
	tcase_add_test(tc, test_pidfd_queued_and_quick_children);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_signal_other_connection_refused);
	tcase_add_test(tc, test_signal_process_group);
	suite_add_tcase(s, tc);

	tc = tcase_create("on_disconnect");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_disconnect_terminate);
	tcase_add_test(tc, test_disconnect_hangup);
	tcase_add_test(tc, test_disconnect_keep);
	tcase_add_test(tc, test_stop_cuts_long_grace);
	tcase_add_test(tc, test_timeout_outlives_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("report");
	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_timeout_kills_sleep);
	tcase_add_test(tc, test_exit_report_plausible);
	suite_add_tcase(s, tc);

	/* Starts its own daemon: RLIMIT_CORE must be raised first. */
	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_core_dumped_matches_kernel);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
examples_suite(void)
{
	Suite *s = suite_create("examples");
	TCase *tc = tcase_create("run");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_example_poll);
	tcase_add_test(tc, test_example_libevent);
	tcase_add_test(tc, test_example_sync);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "examples") == 0)
		return harness_main(examples_suite());
	if (argc > 1 && strcmp(argv[1], "lifecycle") != 0) {
		fprintf(stderr, "usage: %s [lifecycle|examples]\n", argv[0]);
		return 2;
	}
	return harness_main(lifecycle_suite());
}
