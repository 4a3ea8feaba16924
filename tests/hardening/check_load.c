/* SPDX-License-Identifier: MIT */
/*
 * Load and exhaustion (issue 6 item 5; HOSTILE.md A2, E20, E23, H36)
 * against the real daemon, with clients that are real processes running
 * as arbitrary uids (no passwd entry needed: identity is SO_PEERCRED):
 *  - 1,000 concurrent connections from 16 uids are all served, hold one
 *    daemon fd each, and leave nothing behind;
 *  - the per-uid connection cap refuses exactly the excess of one uid
 *    while other uids are served; the global cap refuses everyone once
 *    1,024 connections are open, until one closes;
 *  - with RLIMIT_NOFILE exhausted, accept() fails with EMFILE: the daemon
 *    pauses its listener without spinning (CPU time checked), still
 *    answers its existing clients, and accepts the waiting connections
 *    once fds are available again;
 *  - with RLIMIT_NOFILE low, a connection flood cannot take the fds the
 *    existing clients need: a request carrying the maximum number of fds
 *    still works;
 *  - after spawns the idle daemon uses no CPU (the resolver's eventfd is
 *    never read, so a level-triggered watch of it would spin);
 *  - a client uid at SPAWND_MAX_CHILDREN_PER_UID live children gets
 *    Failed{LIMIT, EAGAIN} on every connection while other uids are
 *    served, and gets its capacity back when its children are gone.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

/* All load clients share this gid; the policy grants it /bin/true and /bin/sleep as nobody. */
#define LOAD_GID 74000
#define LOAD_POLICY                                                                                \
	"permit :74000 as nobody cmd /bin/true\n"                                                  \
	"permit :74000 as nobody cmd /bin/sleep"

/* A spawn id that no connection ever uses: a Signal for it is a cheap request. */
#define NO_SUCH_SPAWN 999999999ull

static int baseline_fds;

static void
load_setup(void)
{
	fx_start(NULL);
	fx_append_policy(LOAD_POLICY);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
	ck_assert_int_gt(baseline_fds, 0);
}

static void
load_teardown(void)
{
	assert_no_children(30000, "after the test");
	assert_fds_at(baseline_fds, "after the test");
	assert_daemon_serves();
	fx_teardown();
}

/* ---- the client processes (no ck_assert in here) ---- */

struct flood {
	int n_conns;
	bool spawn;	/* also run /bin/true as nobody on the first served connection */
	bool no_wait;	/* send, report "sent", answer only on 'r' (the daemon may not accept yet) */
};

static int
send_signal_req(int sock, uint64_t id)
{
	struct msg *m = msg_signal(id, NO_SUCH_SPAWN, SIGTERM, false);
	size_t len;
	uint8_t *buf = msg_pack(m, &len);
	int r = rc_send(sock, buf, len, NULL, 0);

	free(buf);
	msg_free(m);
	return r;
}

/*
 * The answer to a Signal for NO_SUCH_SPAWN on a connection: 1 when served
 * (Failed{SIGNAL, ESRCH} with our id), 0 when the daemon refused the
 * connection (Failed{LIMIT, EAGAIN} with id 0, then EOF), -1 otherwise.
 */
static int
read_answer(int sock, uint64_t id, int ctl, unsigned timeout_ms)
{
	Spawnd__V1__Reply *r = NULL;
	int k = rc_recv(sock, &r, NULL, timeout_ms), ret = -1;

	if (k != 1) {
		rc_report(ctl, "error=connection %llu: no answer (%s)", (unsigned long long)id,
			  k == 0 ? "EOF" : strerror(-k));
		return -1;
	}
	if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED && r->id == id &&
	    r->failed->stage == SPAWND__V1__STAGE__STAGE_SIGNAL && r->failed->errnum == ESRCH)
		ret = 1;
	else if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED && r->id == 0 &&
		 r->failed->stage == SPAWND__V1__STAGE__STAGE_LIMIT &&
		 r->failed->errnum == EAGAIN) {
		Spawnd__V1__Reply *more = NULL;

		/* A refused connection is closed right after the reason. */
		ret = rc_recv(sock, &more, NULL, timeout_ms) == 0 ? 0 : -1;
		if (more)
			wire_reply_free(more);
	}
	if (ret < 0)
		rc_report(ctl, "error=connection %llu: unexpected reply body %d id %llu",
			  (unsigned long long)id, (int)r->body_case, (unsigned long long)r->id);
	wire_reply_free(r);
	return ret;
}

/* Spawn argv as nobody on sock and wait for its end: 1 Exited{0}, 0 Failed{LIMIT, EAGAIN}, -1 other. */
static int
spawn_and_wait(int sock, uint64_t id, const char *const *argv, int ctl)
{
	struct msg *m = msg_spawn(id, "nobody", argv);
	Spawnd__V1__Reply *r = NULL;
	size_t len;
	uint8_t *buf = msg_pack(m, &len);
	int k = rc_send(sock, buf, len, NULL, 0), ret = -1;

	free(buf);
	msg_free(m);
	if (k < 0 || rc_recv(sock, &r, NULL, 20000) != 1) {
		rc_report(ctl, "error=spawn %llu: no reply", (unsigned long long)id);
		return -1;
	}
	if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
	    r->failed->stage == SPAWND__V1__STAGE__STAGE_LIMIT && r->failed->errnum == EAGAIN)
		ret = 0;
	else if (r->body_case == SPAWND__V1__REPLY__BODY_STARTED) {
		wire_reply_free(r);
		r = NULL;
		if (rc_recv(sock, &r, NULL, 20000) == 1 &&
		    r->body_case == SPAWND__V1__REPLY__BODY_EXITED && r->exited->has_exit_code &&
		    r->exited->exit_code == 0)
			ret = 1;
	}
	if (ret < 0)
		rc_report(ctl, "error=spawn %llu: unexpected reply body %d", (unsigned long long)id,
			  r ? (int)r->body_case : -1);
	if (r)
		wire_reply_free(r);
	return ret;
}

/*
 * Open n connections, send a Signal on each, and classify the answers.
 * Then obey the test: 'a' asks again on every held connection, 'r' reads
 * the answers of a no_wait flood, 'c' closes one connection, 'q' (or EOF)
 * closes everything and exits.
 */
static int
flood_client(void *arg, int ctl)
{
	const struct flood *f = arg;
	int *socks = calloc((size_t)f->n_conns, sizeof(int));
	int served = 0, refused = 0, cmd;

	if (!socks)
		return 1;
	for (int i = 0; i < f->n_conns; i++) {
		socks[i] = rc_connect(fx.sock);
		if (socks[i] < 0) {
			rc_report(ctl, "error=connect %d: %s", i, strerror(-socks[i]));
			return 1;
		}
	}
	/* A refused connection may be closed before our send: EPIPE is fine then. */
	for (int i = 0; i < f->n_conns; i++)
		(void)send_signal_req(socks[i], (uint64_t)i + 1);
	if (f->no_wait)
		rc_report(ctl, "sent=%d", f->n_conns);
	else {
		for (int i = 0; i < f->n_conns; i++) {
			int k = read_answer(socks[i], (uint64_t)i + 1, ctl, 20000);

			if (k < 0)
				return 1;
			if (k == 0) {
				(void)close(socks[i]);
				socks[i] = -1;
				refused++;
			} else
				served++;
		}
		if (f->spawn) {
			for (int i = 0; i < f->n_conns; i++)
				if (socks[i] >= 0) {
					if (spawn_and_wait(socks[i], 1000000,
							   (const char *const[]){"/bin/true", NULL},
							   ctl) != 1)
						return 1;
					break;
				}
		}
		rc_report(ctl, "served=%d refused=%d", served, refused);
	}

	while ((cmd = rc_wait_go(ctl)) > 0 && cmd != 'q') {
		int n = 0;

		if (cmd == 'a' || cmd == 'r') {
			for (int i = 0; i < f->n_conns; i++) {
				if (socks[i] < 0)
					continue;
				if (cmd == 'a' && send_signal_req(socks[i], 2000000 + (uint64_t)i) < 0)
					return 1;
				if (read_answer(socks[i], (cmd == 'a' ? 2000000 : 1) + (uint64_t)i, ctl,
						20000) != 1)
					return 1;
				n++;
			}
			rc_report(ctl, "answered=%d", n);
		} else if (cmd == 'c') {
			for (int i = 0; i < f->n_conns; i++)
				if (socks[i] >= 0) {
					(void)close(socks[i]);
					socks[i] = -1;
					break;
				}
			rc_report(ctl, "closed");
		}
	}
	for (int i = 0; i < f->n_conns; i++)
		if (socks[i] >= 0)
			(void)close(socks[i]);
	free(socks);
	return 0;
}

/* ---- test-side helpers ---- */

struct client {
	pid_t pid;
	int ctl;
	struct flood f;
};

static void
client_start(struct client *c, uid_t uid, int n_conns, bool spawn, bool no_wait)
{
	c->f = (struct flood){.n_conns = n_conns, .spawn = spawn, .no_wait = no_wait};
	c->pid = fork_client(uid, LOAD_GID, flood_client, &c->f, &c->ctl);
}

/* Read the client's "served=S refused=R" and check both. */
static void
client_expect(struct client *c, int served, int refused, const char *what)
{
	char line[256], want[64];

	ck_client_line(c->ctl, line, sizeof(line), 60000, what);
	xsnprintf(want, sizeof(want), "served=%d refused=%d", served, refused);
	ck_assert_msg(strcmp(line, want) == 0, "%s: the client says '%s', expected '%s'", what,
		      line, want);
}

static void
client_cmd(struct client *c, char cmd, const char *want, const char *what)
{
	char line[256];

	ck_client_go(c->ctl, cmd);
	ck_client_line(c->ctl, line, sizeof(line), 60000, what);
	ck_assert_msg(strcmp(line, want) == 0, "%s: the client says '%s', expected '%s'", what,
		      line, want);
}

static void
client_quit(struct client *c, const char *what)
{
	ck_client_go(c->ctl, 'q');
	ck_client_done(c->pid, c->ctl, what);
}

/* The daemon's CPU use over ms milliseconds, as a fraction of one CPU. */
static double
daemon_cpu_share(unsigned ms)
{
	long long t0 = proc_cpu_ticks(fx.pid), t1;
	uint64_t w0 = now_usec(), w1;

	ck_assert_int_ge(t0, 0);
	(void)usleep(ms * 1000);
	t1 = proc_cpu_ticks(fx.pid);
	w1 = now_usec();
	ck_assert_int_ge(t1, 0);
	return (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / ((double)(w1 - w0) / 1e6);
}

/* ---- 1,000 concurrent connections ---- */

#define LOAD_UIDS 16
#define LOAD_CONNS 1000

START_TEST(test_thousand_connections)
{
	struct client clients[LOAD_UIDS];
	long base_rss = proc_rss_kb(fx.pid), rss;
	char want[64];
	int n;

	for (int i = 0; i < LOAD_UIDS; i++) {
		int share = LOAD_CONNS / LOAD_UIDS + (i < LOAD_CONNS % LOAD_UIDS ? 1 : 0);

		client_start(&clients[i], 74001 + (uid_t)i, share, true, false);
	}
	for (int i = 0; i < LOAD_UIDS; i++)
		client_expect(&clients[i], clients[i].f.n_conns, 0, "1,000 connections");

	/* One daemon fd per connection, exactly. */
	n = proc_wait_fd_count(fx.pid, baseline_fds + LOAD_CONNS, 5000);
	ck_assert_msg(n == baseline_fds + LOAD_CONNS, "daemon fd count %d with %d connections open, "
		      "baseline %d", n, LOAD_CONNS, baseline_fds);

	/* Served meanwhile, and none of the 1,000 connections reaches a child (E23). */
	{
		const char *argv[] = {fx.probe, NULL};
		spawnd_client *c = client_open();
		spawnd_options *o = opts_new("nobody", argv);
		struct run r;

		run_spawn(c, o, true, &r);
		spawnd_options_free(o);
		ASSERT_EXITED(&r, 0);
		ASSERT_STREQ_REPORT(&r.out, "fds", "0,1,2");
		run_done(&r);
		spawnd_client_close(c);
	}

	/* Every held connection answers again. */
	for (int i = 0; i < LOAD_UIDS; i++) {
		xsnprintf(want, sizeof(want), "answered=%d", clients[i].f.n_conns);
		client_cmd(&clients[i], 'a', want, "second round");
	}
	for (int i = 0; i < LOAD_UIDS; i++)
		client_quit(&clients[i], "1,000 connections");
	assert_fds_at(baseline_fds, "after 1,000 connections closed");
	rss = proc_rss_kb(fx.pid);
	fprintf(stderr, "load: daemon RSS %ld KiB before 1,000 connections, %ld KiB after\n",
		base_rss, rss);
#ifndef SPAWND_IT_SANITIZED
	/* A connection costs well under 2 KiB; what stays is allocator slack. */
	ck_assert_msg(rss - base_rss < 4096, "daemon RSS grew from %ld to %ld KiB", base_rss, rss);
#endif
}
END_TEST

/* ---- the connection caps ---- */

#define CAP ((int)SPAWND_MAX_CONNECTIONS_PER_UID)

/*
 * One uid asking for 72 connections gets exactly 64 and 8 refusals with
 * Failed{LIMIT, EAGAIN}; another uid and root are served meanwhile. Then
 * 16 uids take all 1,024 connections the daemon allows: any further
 * connection is refused, root's too, until one of them closes.
 */
START_TEST(test_connection_caps)
{
	struct client greedy, other, all[16], late;
	int n;

	client_start(&greedy, 75001, CAP + 8, false, false);
	client_expect(&greedy, CAP, 8, "one uid over its cap");
	client_start(&other, 75002, 1, true, false);
	client_expect(&other, 1, 0, "another uid while the first is capped");
	assert_daemon_serves();
	client_quit(&greedy, "greedy");
	client_quit(&other, "other");
	assert_fds_at(baseline_fds, "after the per-uid cap");

	for (int i = 0; i < 16; i++)
		client_start(&all[i], 75101 + (uid_t)i, CAP, false, false);
	for (int i = 0; i < 16; i++)
		client_expect(&all[i], CAP, 0, "16 uids at their cap");
	n = proc_wait_fd_count(fx.pid, baseline_fds + (int)SPAWND_MAX_CONNECTIONS, 5000);
	ck_assert_int_eq(n, baseline_fds + (int)SPAWND_MAX_CONNECTIONS);

	client_start(&late, 75201, 1, false, false);
	client_expect(&late, 0, 1, "a new uid at the global cap");
	client_quit(&late, "late");
	{
		int sock = ck_connect();

		/* root is not exempt: the cap protects the daemon, not a user. */
		ck_expect_failed(sock, 0, SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN,
				 "root at the global cap");
		ck_expect_eof(sock, "root at the global cap");
		(void)close(sock);
	}
	client_cmd(&all[0], 'c', "closed", "closing one connection");
	n = proc_wait_fd_count(fx.pid, baseline_fds + (int)SPAWND_MAX_CONNECTIONS - 1, 5000);
	ck_assert_int_eq(n, baseline_fds + (int)SPAWND_MAX_CONNECTIONS - 1);
	client_start(&late, 75201, 1, true, false);
	client_expect(&late, 1, 0, "a new uid once a slot is free");
	client_quit(&late, "late");
	for (int i = 0; i < 16; i++)
		client_quit(&all[i], "16 uids");
}
END_TEST

/* ---- RLIMIT_NOFILE ---- */

#define WAITERS 5

/*
 * The daemon's fd table is full (soft limit = its open fds): accept()
 * fails with EMFILE. The pending connections wait in the backlog, the
 * daemon pauses its listener instead of spinning on the readable socket,
 * still answers the client it has (a Signal needs no fd; a spawn fails
 * cleanly with EMFILE) and, once fds are available, accepts and serves
 * the waiting connections.
 */
START_TEST(test_emfile_accept_backoff)
{
	const char *pause_line = "pausing the listener";
	int existing = ck_connect(), waiters[WAITERS], pauses, full;
	double cpu;
	rlim_t old;
	struct msg *m;

	m = msg_signal(1, NO_SUCH_SPAWN, SIGTERM, false);
	ck_send_msg(existing, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(existing, 1, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "before the limit");
	full = proc_settled_fd_count(fx.pid);
	pauses = log_count(pause_line);
	old = daemon_set_soft_limit(RLIMIT_NOFILE, (rlim_t)full);

	for (int i = 0; i < WAITERS; i++) {
		waiters[i] = ck_connect();
		m = msg_signal(100 + (uint64_t)i, NO_SUCH_SPAWN, SIGTERM, false);
		ck_send_msg(waiters[i], m, NULL, 0);
		msg_free(m);
	}
	ck_assert_msg(log_wait_count(pause_line, pauses, 5000),
		      "the daemon did not pause its listener on EMFILE");
	for (int i = 0; i < WAITERS; i++)
		ck_expect_silence(waiters[i], i == 0 ? 1000 : 10, "a connection while fds are out");
	ck_assert_int_le(proc_fd_count(fx.pid), full);

	/* No busy loop on the readable listening socket. */
	cpu = daemon_cpu_share(2000);
	fprintf(stderr, "load: daemon CPU while out of fds: %.1f%% of one CPU\n", cpu * 100);
	ck_assert_msg(cpu < 0.2, "the daemon used %.0f%% of a CPU while out of fds", cpu * 100);

	/* The existing client is answered: a Signal, and a spawn refused cleanly. */
	m = msg_signal(2, NO_SUCH_SPAWN, SIGTERM, false);
	ck_send_msg(existing, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(existing, 2, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "while out of fds");
	m = msg_spawn(3, "nobody", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(existing, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(existing, 3, SPAWND__V1__STAGE__STAGE_FORK, EMFILE,
			 "a spawn while out of fds");

	/* fds again: the waiting connections are accepted and answered. */
	(void)daemon_set_soft_limit(RLIMIT_NOFILE, old);
	for (int i = 0; i < WAITERS; i++) {
		ck_expect_failed(waiters[i], 100 + (uint64_t)i, SPAWND__V1__STAGE__STAGE_SIGNAL,
				 ESRCH, "a waiting connection after the limit is lifted");
		(void)close(waiters[i]);
	}
	m = msg_spawn(4, "nobody", (const char *const[]){"/bin/true", NULL});
	ck_send_msg(existing, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(existing, 4, "a spawn after the limit is lifted");
	ck_expect_exited(existing, 4, 0, 0, "a spawn after the limit is lifted");
	(void)close(existing);
}
END_TEST

#define HEADROOM 100 /* fds the daemon may open above its idle count */
#define FLOODERS 3
#define FLOOD_EACH 50 /* 150 connections > HEADROOM, each uid under its cap */

#define RESERVE_FDS 16 /* fds on the connected client's request during the flood */

/*
 * With room for 100 more fds, 150 connections arrive. They must not take
 * the fds the connected clients need: the daemon keeps at least enough
 * free for a request with SPAWND_MAX_FDS fds (a message whose fds cannot
 * be installed arrives cut, MSG_CTRUNC, and its sender would be dropped),
 * and a request with 16 fds runs end to end while the flood waits. (The
 * child inherits the low limit until it resets RLIMIT_NOFILE, and remaps
 * its fds within it, so the end-to-end request stays modest.) The daemon
 * does not spin meanwhile, and serves the waiting connections once the
 * limit is lifted.
 */
START_TEST(test_fd_reserve_for_existing_clients)
{
	char out[PATH_MAX];
	const char *argv[] = {fx.probe, "--out", out, NULL};
	struct client flood[FLOODERS];
	int existing = ck_connect(), fds[RESERVE_FDS], settled, limit;
	struct report rep;
	struct msg *m;
	char line[64], want[256];
	size_t off = 0;
	double cpu;
	rlim_t old;

	xsnprintf(out, sizeof(out), "%s/reserve-report", fx.dir);
	m = msg_signal(1, NO_SUCH_SPAWN, SIGTERM, false);
	ck_send_msg(existing, m, NULL, 0);
	msg_free(m);
	ck_expect_failed(existing, 1, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, "before the limit");
	limit = proc_settled_fd_count(fx.pid) + HEADROOM;
	old = daemon_set_soft_limit(RLIMIT_NOFILE, (rlim_t)limit);

	for (int i = 0; i < FLOODERS; i++) {
		client_start(&flood[i], 77001 + (uid_t)i, FLOOD_EACH, false, true);
		xsnprintf(want, sizeof(want), "sent=%d", FLOOD_EACH);
		ck_client_line(flood[i].ctl, line, sizeof(line), 30000, "flood");
		ck_assert_str_eq(line, want);
	}
	settled = proc_settled_fd_count(fx.pid);
	fprintf(stderr, "load: %d fds open of a soft limit of %d under a flood of %d connections\n",
		settled, limit, FLOODERS * FLOOD_EACH);
	ck_assert_msg(limit - settled >= (int)SPAWND_MAX_FDS + 4,
		      "the flood left only %d free fds (limit %d) for the connected clients",
		      limit - settled, limit);

	cpu = daemon_cpu_share(2000);
	fprintf(stderr, "load: daemon CPU while the flood waits: %.1f%% of one CPU\n", cpu * 100);
	ck_assert_msg(cpu < 0.2, "the daemon used %.0f%% of a CPU while the flood waits",
		      cpu * 100);

	/* The connected client's request with fds works. */
	m = msg_spawn(2, "root", argv);
	for (unsigned i = 0; i < RESERVE_FDS; i++) {
		int p[2];

		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		(void)close(p[0]);
		fds[i] = p[1];
		msg_map(m, i, i);
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%u", i ? "," : "", i);
	}
	ck_send_msg(existing, m, fds, RESERVE_FDS);
	msg_free(m);
	for (unsigned i = 0; i < RESERVE_FDS; i++)
		(void)close(fds[i]);
	(void)ck_expect_started(existing, 2, "16 fds during the flood");
	ck_expect_exited(existing, 2, 0, 0, "16 fds during the flood");
	ck_assert_int_eq(report_read_file(out, &rep), 0);
	ASSERT_STREQ_REPORT(&rep, "fds", want);
	report_done(&rep);

	/* Lifted: every waiting connection is accepted and answered. */
	(void)daemon_set_soft_limit(RLIMIT_NOFILE, old);
	xsnprintf(want, sizeof(want), "answered=%d", FLOOD_EACH);
	for (int i = 0; i < FLOODERS; i++)
		client_cmd(&flood[i], 'r', want, "the flood after the limit is lifted");
	for (int i = 0; i < FLOODERS; i++)
		client_quit(&flood[i], "flood");
	(void)close(existing);
}
END_TEST

/* ---- the per-uid child cap ---- */

#define CHILD_CAP ((int)SPAWND_MAX_CHILDREN_PER_UID)
#define SPAWN_DEPTH 64

/*
 * Fill this uid's child cap with sleepers on one connection (pipelined),
 * then ask once more on it and on a second connection: both must get
 * Failed{LIMIT, EAGAIN}. Reports "capped=N"; 'q' hangs up (the daemon
 * terminates the sleepers).
 */
static int
child_cap_client(void *arg, int ctl)
{
	const char *argv[] = {"/bin/sleep", "120", NULL};
	int sock = rc_connect(fx.sock), second, started = 0, sent = 0, cmd;

	(void)arg;
	if (sock < 0) {
		rc_report(ctl, "error=connect: %s", strerror(-sock));
		return 1;
	}
	while (started < CHILD_CAP) {
		Spawnd__V1__Reply *r = NULL;

		while (sent < CHILD_CAP && sent - started < SPAWN_DEPTH) {
			struct msg *m = msg_spawn((uint64_t)++sent, "nobody", argv);
			size_t len;
			uint8_t *buf = msg_pack(m, &len);
			int k = rc_send(sock, buf, len, NULL, 0);

			free(buf);
			msg_free(m);
			if (k < 0) {
				rc_report(ctl, "error=send: %s", strerror(-k));
				return 1;
			}
		}
		if (rc_recv(sock, &r, NULL, 30000) != 1 ||
		    r->body_case != SPAWND__V1__REPLY__BODY_STARTED) {
			rc_report(ctl, "error=spawn %d did not start (body %d)", started + 1,
				  r ? (int)r->body_case : -1);
			return 1;
		}
		wire_reply_free(r);
		started++;
	}
	second = rc_connect(fx.sock);
	if (second < 0 ||
	    spawn_and_wait(sock, (uint64_t)CHILD_CAP + 1, argv, ctl) != 0 ||
	    spawn_and_wait(second, 1, argv, ctl) != 0) {
		rc_report(ctl, "error=a spawn over the cap was not refused with LIMIT/EAGAIN");
		return 1;
	}
	rc_report(ctl, "capped=%d", started);
	while ((cmd = rc_wait_go(ctl)) > 0 && cmd != 'q')
		;
	(void)close(second);
	(void)close(sock);
	return 0;
}

START_TEST(test_child_cap_per_uid)
{
	struct client other, again;
	pid_t capped;
	int ctl, n;
	char line[64], want[64];
	uint64_t t0 = now_usec();

	capped = fork_client(76001, LOAD_GID, child_cap_client, NULL, &ctl);
	ck_client_line(ctl, line, sizeof(line), 90000, "filling the child cap");
	xsnprintf(want, sizeof(want), "capped=%d", CHILD_CAP);
	ck_assert_str_eq(line, want);
	fprintf(stderr, "load: %d children started in %.1f s\n", CHILD_CAP,
		(double)(now_usec() - t0) / 1e6);
	n = proc_children(fx.pid, NULL);
	ck_assert_msg(n == CHILD_CAP, "the daemon has %d children, expected %d", n, CHILD_CAP);

	/* Other uids are served meanwhile. */
	client_start(&other, 76002, 1, true, false);
	client_expect(&other, 1, 0, "another uid while one is at its child cap");
	client_quit(&other, "other");
	assert_daemon_serves();

	/* Gone: the children are terminated and reaped, and the uid may spawn again. */
	ck_client_go(ctl, 'q');
	ck_client_done(capped, ctl, "capped client");
	assert_no_children(60000, "after the capped client left");
	client_start(&again, 76001, 1, true, false);
	client_expect(&again, 1, 0, "the capped uid once its children are gone");
	client_quit(&again, "again");
}
END_TEST

/*
 * After spawns, the idle daemon uses no CPU. Each spawn's lookups came
 * back from a resolver thread through an eventfd that the loop watches
 * edge-triggered and never reads (resolver.c): watched level-triggered,
 * the unread eventfd would stay readable and the loop would spin.
 */
START_TEST(test_idle_after_spawns)
{
	struct client c;
	double cpu;

	client_start(&c, 78001, 8, true, false);
	client_expect(&c, 8, 0, "spawns before the idle check");
	client_quit(&c, "spawner");
	cpu = daemon_cpu_share(1000);
	fprintf(stderr, "load: daemon CPU while idle after spawns: %.1f%% of one CPU\n",
		cpu * 100);
	ck_assert_msg(cpu < 0.1, "the idle daemon used %.0f%% of a CPU after its spawns", cpu * 100);
}
END_TEST

static Suite *
load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc;

	tc = tcase_create("connections");
	tcase_add_checked_fixture(tc, load_setup, load_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_thousand_connections);
	tcase_add_test(tc, test_connection_caps);
	tcase_add_test(tc, test_idle_after_spawns);
	suite_add_tcase(s, tc);

	tc = tcase_create("nofile");
	tcase_add_checked_fixture(tc, load_setup, load_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_emfile_accept_backoff);
	tcase_add_test(tc, test_fd_reserve_for_existing_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("children");
	tcase_add_checked_fixture(tc, load_setup, load_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_child_cap_per_uid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(load_suite());
}
