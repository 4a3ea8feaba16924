/* SPDX-License-Identifier: MIT */
/*
 * Churn (HOSTILE.md E24, issue 6 item 4): 10,000 mixed requests through
 * the real daemon: successes, policy denials, decode errors, exec
 * failures, unknown users, signals for unknown spawns, framing errors, and
 * clients that vanish mid-request (a fresh connection that sends a spawn
 * and hangs up at once, and pipelined connections closed with requests in
 * flight). Every reply is checked against what its request must get.
 * Afterwards the daemon's fd count equals its settled baseline, it has no
 * child or zombie left, and its RSS is back within a small bound.
 *
 * Bounded: 10,000 requests on the default engine (3,000 with --engine
 * fork; 2,000/1,000 in sanitizer builds, which are several times slower per
 * spawn), four pipelined connections eight deep, under a minute on two cores.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

#ifdef SPAWND_IT_SANITIZED
#define CHURN_REQUESTS 2000
#define CHURN_REQUESTS_FORK 1000
#else
#define CHURN_REQUESTS 10000
/*
 * The fork engine copies the daemon for every spawn and runs about five
 * times slower here; the full 10,000 run on the default engine (vfork),
 * this keeps the fork run (same mix, same checks) within the time budget.
 */
#define CHURN_REQUESTS_FORK 3000
#endif
#define CHURN_WARMUP 400
#define CHURN_CONNS 4
#define CHURN_DEPTH 8
/* Every this many requests, one pipelined connection hangs up mid-flight. */
#define CHURN_HANGUP_EVERY 500
/*
 * RSS may grow this much over 10,000 requests: allocator arenas and
 * libevent's tables settle during the warm-up, so more than this is a
 * leak of at least ~200 bytes per request.
 */
#define CHURN_RSS_SLACK_KB 2048

enum kind {
	K_OK,	       /* /bin/true as nobody: Started, Exited{0} */
	K_OK_FD,       /* the same with /dev/null mapped as stdout */
	K_DENY,	       /* /bin/false as nobody: the policy denies (with an fd riding along) */
	K_DECODE,      /* argc 0: Failed{DECODE, EINVAL} (with an fd) */
	K_EXEC,	       /* /nonexistent: Failed{EXEC, ENOENT} after the fork */
	K_USER,	       /* an unknown target user: Failed{PREPARE, ESRCH} */
	K_SIGNAL,      /* Signal for a spawn id never used: Failed{SIGNAL, ESRCH} */
	K_FRAMING,     /* garbage on a fresh connection: Failed{PROTOCOL}, dropped */
	K_VANISH,      /* a fresh connection sends a long spawn and hangs up at once */
	_K_MAX,
};

/* One round of 20 requests: the mix, interleaved. */
static const enum kind mix[20] = {
	K_OK,  K_DENY,	 K_OK_FD, K_DECODE, K_OK,     K_EXEC, K_OK_FD, K_USER, K_OK,  K_DENY,
	K_OK,  K_SIGNAL, K_OK_FD, K_DECODE, K_FRAMING, K_OK,   K_EXEC,  K_DENY, K_VANISH, K_DECODE,
};

enum state {
	S_FREE,
	S_SENT,	   /* waiting for the first reply */
	S_STARTED, /* K_OK*: waiting for Exited */
};

struct pending {
	enum kind kind;
	enum state state;
	int conn; /* index into conns[] */
};

struct churn {
	int devnull;
	int conns[CHURN_CONNS];
	unsigned outstanding[CHURN_CONNS];
	struct pending *p; /* indexed by request id */
	uint64_t next_id;
	unsigned issued, done, abandoned;
	unsigned by_kind[_K_MAX];
};

static const char *const kind_names[_K_MAX] = {
	"ok", "ok+fd", "deny", "decode", "exec failure", "unknown user", "signal", "framing",
	"vanish",
};

static void
send_kind(struct churn *ch, int sock, uint64_t id, enum kind k)
{
	const char *true_argv[] = {"/bin/true", NULL};
	const char *false_argv[] = {"/bin/false", NULL};
	const char *missing_argv[] = {"/nonexistent/spawnd-churn", NULL};
	struct msg *m = NULL;
	bool with_fd = false;

	switch (k) {
	case K_OK:
		m = msg_spawn(id, "nobody", true_argv);
		break;
	case K_OK_FD:
		m = msg_spawn(id, "nobody", true_argv);
		msg_map(m, 0, 1);
		with_fd = true;
		break;
	case K_DENY:
		m = msg_spawn(id, "nobody", false_argv);
		msg_map(m, 0, 1);
		with_fd = true;
		break;
	case K_DECODE:
		m = msg_spawn(id, "nobody", NULL);
		msg_map(m, 0, 1);
		with_fd = true;
		break;
	case K_EXEC:
		m = msg_spawn(id, "nobody", missing_argv);
		break;
	case K_USER:
		m = msg_spawn(id, "spawnd-churn-no-such-user", true_argv);
		break;
	case K_SIGNAL:
		m = msg_signal(id, id + 1000000, SIGTERM, false);
		break;
	default:
		ck_abort_msg("kind %d is not pipelined", (int)k);
	}
	ck_send_msg(sock, m, with_fd ? &ch->devnull : NULL, with_fd ? 1 : 0);
	msg_free(m);
}

/* The one-shot kinds, each on a connection of its own. */
static void
run_oneshot(struct churn *ch, uint64_t id, enum kind k)
{
	int sock = ck_connect();

	if (k == K_FRAMING) {
		static const char garbage[] = "\x0a\xff\xff\xff\xff\x0f churn garbage";

		ck_send_raw(sock, garbage, sizeof(garbage), &ch->devnull, 1);
		ck_expect_drop(sock, "churn: garbage");
	} else {
		/* A spawn the daemon must terminate once we are gone. */
		struct msg *m = msg_spawn(id, "nobody",
					  (const char *const[]){"/bin/sleep", "10", NULL});

		msg_map(m, 0, 1);
		ck_send_msg(sock, m, &ch->devnull, 1);
		msg_free(m);
	}
	(void)close(sock);
}

/* Check one reply against its request; returns true when the request is complete. */
static bool
check_reply(struct churn *ch, const Spawnd__V1__Reply *r)
{
	struct pending *p;
	int want_stage = 0, want_err = 0;

	ck_assert_msg(r->id > 0 && r->id < ch->next_id, "reply for unknown id %llu",
		      (unsigned long long)r->id);
	p = &ch->p[r->id];
	ck_assert_msg(p->state != S_FREE, "second final reply for id %llu (%s)",
		      (unsigned long long)r->id, kind_names[p->kind]);

	switch (p->kind) {
	case K_OK:
	case K_OK_FD:
		if (p->state == S_SENT) {
			ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_STARTED,
				      "id %llu (%s): expected Started, got body %d",
				      (unsigned long long)r->id, kind_names[p->kind],
				      (int)r->body_case);
			p->state = S_STARTED;
			return false;
		}
		ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_EXITED &&
				      r->exited->has_exit_code && r->exited->exit_code == 0,
			      "id %llu (%s): expected Exited{0}, got body %d",
			      (unsigned long long)r->id, kind_names[p->kind], (int)r->body_case);
		return true;
	case K_DENY:
		want_stage = SPAWND__V1__STAGE__STAGE_POLICY;
		want_err = EPERM;
		break;
	case K_DECODE:
		want_stage = SPAWND__V1__STAGE__STAGE_DECODE;
		want_err = EINVAL;
		break;
	case K_EXEC:
		want_stage = SPAWND__V1__STAGE__STAGE_EXEC;
		want_err = ENOENT;
		break;
	case K_USER:
		want_stage = SPAWND__V1__STAGE__STAGE_PREPARE;
		want_err = ESRCH;
		break;
	case K_SIGNAL:
		want_stage = SPAWND__V1__STAGE__STAGE_SIGNAL;
		want_err = ESRCH;
		break;
	default:
		ck_abort_msg("reply for a one-shot kind");
	}
	ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      (int)r->failed->stage == want_stage && r->failed->errnum == want_err,
		      "id %llu (%s): expected Failed{%s, %s}, got body %d (%s)",
		      (unsigned long long)r->id, kind_names[p->kind],
		      spawnd_stage_to_string((spawnd_stage)want_stage), strerror(want_err),
		      (int)r->body_case,
		      r->body_case == SPAWND__V1__REPLY__BODY_FAILED ? r->failed->detail : "");
	return true;
}

/* Hang up connection i with its requests in flight, and reconnect. */
static void
hangup_conn(struct churn *ch, int i)
{
	(void)close(ch->conns[i]);
	for (uint64_t id = 1; id < ch->next_id; id++)
		if (ch->p[id].state != S_FREE && ch->p[id].conn == i) {
			ch->p[id].state = S_FREE;
			ch->abandoned++;
			ch->done++;
		}
	ch->outstanding[i] = 0;
	ch->conns[i] = ck_connect();
}

/* Issue `count` requests of the mix and wait for every answer. */
static void
churn_run(struct churn *ch, unsigned count)
{
	unsigned target = ch->issued + count, target_done = ch->done + count;

	while (ch->done < target_done) {
		struct pollfd pfd[CHURN_CONNS];
		int k;

		for (int i = 0; i < CHURN_CONNS && ch->issued < target; i++) {
			while (ch->outstanding[i] < CHURN_DEPTH && ch->issued < target) {
				uint64_t id = ch->next_id++;
				enum kind kd = mix[ch->issued % 20];

				ch->issued++;
				ch->by_kind[kd]++;
				if (kd == K_FRAMING || kd == K_VANISH) {
					run_oneshot(ch, id, kd);
					ch->done++;
					continue;
				}
				ch->p[id] = (struct pending){.kind = kd, .state = S_SENT, .conn = i};
				send_kind(ch, ch->conns[i], id, kd);
				ch->outstanding[i]++;
				if (ch->issued % CHURN_HANGUP_EVERY == 0)
					hangup_conn(ch, i);
			}
		}
		if (ch->done >= target_done)
			break;

		for (int i = 0; i < CHURN_CONNS; i++)
			pfd[i] = (struct pollfd){.fd = ch->conns[i], .events = POLLIN};
		do
			k = poll(pfd, CHURN_CONNS, 20000);
		while (k < 0 && errno == EINTR);
		ck_assert_msg(k > 0, "no reply within 20 s (%u of %u requests done)", ch->done,
			      target_done);
		for (int i = 0; i < CHURN_CONNS; i++) {
			Spawnd__V1__Reply *r = NULL;
			int got;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = rc_recv(ch->conns[i], &r, NULL, 0);
			ck_assert_msg(got == 1, "connection %d: %s", i,
				      got == 0 ? "dropped by the daemon" : strerror(-got));
			if (check_reply(ch, r)) {
				ch->p[r->id].state = S_FREE;
				ch->outstanding[i]--;
				ch->done++;
			}
			wire_reply_free(r);
		}
	}
}

/* The daemon's sockets: its listener and internal ones, plus one per connection. */
static int
daemon_sockets(void)
{
	char **targets = NULL;
	int n = 0;

	ck_assert_int_ge(proc_fd_targets(fx.pid, &targets), 0);
	for (char **t = targets; t && *t; t++)
		if (strstr(*t, "=socket:"))
			n++;
	strv_free(targets);
	return n;
}

/*
 * Wait until the daemon has closed every client connection, i.e. it has read
 * each one up to its EOF. Only then is "no children" final: a K_VANISH
 * client's spawn still sits in its socket after the hang-up, and the daemon
 * may fork it (and then terminate it at the EOF) after all of ours are closed.
 */
static void
wait_connections_gone(int idle_sockets, const char *when)
{
	uint64_t end = now_usec() + 15 * UINT64_C(1000000);
	int n;

	while ((n = daemon_sockets()) > idle_sockets && now_usec() < end)
		harness_sleep_ms(20);
	ck_assert_msg(n == idle_sockets, "%s: the daemon holds %d sockets, %d when idle", when,
		      n, idle_sockets);
}

START_TEST(test_churn_10000_mixed)
{
	const char *engine = getenv("SPAWND_IT_ENGINE");
	unsigned requests = engine && strcmp(engine, "fork") == 0 ? CHURN_REQUESTS_FORK
								   : CHURN_REQUESTS;
	struct churn ch = {.next_id = 1};
	int base_fds, idle_sockets;
	long base_rss, rss;
	uint64_t t0, elapsed;

	/* Idle: once the fixture's own probe connection is gone too. */
	(void)proc_settled_fd_count(fx.pid);
	idle_sockets = daemon_sockets();
	ck_assert_int_ge(idle_sockets, 1); /* at least the listener */
	ch.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(ch.devnull, 0);
	ch.p = calloc(CHURN_WARMUP + requests + 1, sizeof(*ch.p));
	ck_assert_ptr_nonnull(ch.p);
	for (int i = 0; i < CHURN_CONNS; i++)
		ch.conns[i] = ck_connect();

	/* Warm up (allocator arenas, libevent tables, spawner threads), then measure. */
	churn_run(&ch, CHURN_WARMUP);
	for (int i = 0; i < CHURN_CONNS; i++)
		(void)close(ch.conns[i]);
	wait_connections_gone(idle_sockets, "after the warm-up");
	assert_no_children(15000, "after the warm-up");
	/* The baseline: an idle daemon without connections. */
	base_fds = proc_settled_fd_count(fx.pid);
	base_rss = proc_rss_kb(fx.pid);
	ck_assert_int_gt(base_fds, 0);
	ck_assert_int_gt(base_rss, 0);
	memset(ch.by_kind, 0, sizeof(ch.by_kind));
	for (int i = 0; i < CHURN_CONNS; i++)
		ch.conns[i] = ck_connect();

	t0 = now_usec();
	churn_run(&ch, requests);
	elapsed = now_usec() - t0;
	fprintf(stderr,
		"churn: %u requests in %.1f s (%.0f/s): %u ok, %u ok+fd, %u deny, %u decode, "
		"%u exec, %u user, %u signal, %u framing, %u vanish; %u abandoned by hang-ups\n",
		ch.issued - CHURN_WARMUP, (double)elapsed / 1e6,
		(double)(ch.issued - CHURN_WARMUP) * 1e6 / (double)elapsed, ch.by_kind[K_OK],
		ch.by_kind[K_OK_FD], ch.by_kind[K_DENY], ch.by_kind[K_DECODE], ch.by_kind[K_EXEC],
		ch.by_kind[K_USER], ch.by_kind[K_SIGNAL], ch.by_kind[K_FRAMING],
		ch.by_kind[K_VANISH], ch.abandoned);
	ck_assert_uint_eq(ch.issued, CHURN_WARMUP + requests);

	for (int i = 0; i < CHURN_CONNS; i++)
		(void)close(ch.conns[i]);
	/* The vanished clients' sleepers get SIGTERM and are reaped. */
	wait_connections_gone(idle_sockets, "after the churn");
	assert_no_children(15000, "after the churn");
	assert_fds_at(base_fds, "after the churn");
	rss = proc_rss_kb(fx.pid);
	fprintf(stderr, "churn: daemon RSS %ld KiB before, %ld KiB after\n", base_rss, rss);
#ifndef SPAWND_IT_SANITIZED
	ck_assert_msg(rss - base_rss <= CHURN_RSS_SLACK_KB, "daemon RSS grew from %ld to %ld KiB",
		      base_rss, rss);
#endif
	assert_daemon_serves();
	free(ch.p);
	(void)close(ch.devnull);
}
END_TEST

static Suite *
churn_suite(void)
{
	Suite *s = suite_create("churn");
	TCase *tc = tcase_create("mixed");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	/* ~1 minute here; the multiplier covers sanitizer builds (CK_TIMEOUT_MULTIPLIER). */
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_churn_10000_mixed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(churn_suite());
}
