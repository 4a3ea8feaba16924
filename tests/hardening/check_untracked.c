/* SPDX-License-Identifier: MIT */
/*
 * Children the daemon gives up on are still reaped (DESIGN.md 3.6: "no
 * zombie, ever"). A tracked child is reaped through its pidfd; one that
 * cannot be tracked is killed and left to the reaper's SIGCHLD handling:
 * the list of abandoned pids, and the full waitid(P_ALL) scan that runs at
 * most once a second (daemon/reaper.c). This drives the one such path a
 * client can reach: with the fork engine and exactly two free fds in the
 * daemon, the errpipe (pipe2) fits, fork succeeds and pidfd_open() fails
 * with EMFILE, so the child is killed untracked. Its SIGCHLD comes right
 * after another child's exit, inside the scan's rate-limit window, so the
 * test also fails if a SIGCHLD in that window did not lead to a scan when
 * the window ends. (The vfork engine gets the pidfd from clone() itself:
 * no fd, no child, so this test runs with the fork engine only.)
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

#define ABANDONED 3 /* untracked children per test, back to back */

static const char *const gave_up_line = "Gave up on untracked child";
static const char *const scan_line = "Reaping untracked child";

static int baseline_fds;

static void
untracked_setup(void)
{
	fx_start(NULL);
	assert_daemon_serves();
	baseline_fds = proc_settled_fd_count(fx.pid);
	ck_assert_int_gt(baseline_fds, 0);
}

static void
untracked_teardown(void)
{
	assert_no_children(10000, "after the test");
	assert_fds_at(baseline_fds, "after the test");
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

/* Either needle's count grew within timeout_ms. */
static bool
log_wait_either(const char *a, int a_before, const char *b, int b_before, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 20) {
		if (log_count(a) > a_before || log_count(b) > b_before)
			return true;
		if (waited >= timeout_ms)
			return false;
		(void)usleep(20 * 1000);
	}
}

START_TEST(test_untracked_child_is_reaped)
{
	const char *argv[] = {"/bin/true", NULL};
	int sock = ck_connect(), gave_up, scanned, left, zombies = 0;
	struct msg *m;
	rlim_t old;

	/* The connection is accepted and served before the fds run short. */
	m = msg_spawn(1, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 1, "a spawn before the limit");
	gave_up = log_count(gave_up_line);
	scanned = log_count(scan_line);

	/* Right after that child's exit: its SIGCHLD opened a scan window.
	 * Its pidfd and errpipe are closed once the fd count is back. */
	ck_expect_exited(sock, 1, 0, 0, "a spawn before the limit");
	assert_fds_at(baseline_fds + 1, "after the first spawn"); /* + our connection */
	old = daemon_set_soft_limit(RLIMIT_NOFILE, limit_leaving(2));
	for (uint64_t id = 2; id < 2 + ABANDONED; id++) {
		m = msg_spawn(id, "nobody", argv);
		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		ck_expect_failed(sock, id, SPAWND__V1__STAGE__STAGE_FORK, EMFILE,
				 "a spawn whose pidfd cannot be opened");
	}
	(void)daemon_set_soft_limit(RLIMIT_NOFILE, old);

	/* No other child exits from here on: nothing but the first SIGCHLDs
	 * (and the deferred scan they armed) can reap them. */
	left = proc_wait_children(fx.pid, 0, 5000);
	(void)proc_children(fx.pid, &zombies);
	ck_assert_msg(left == 0 && zombies == 0,
		      "untracked children never reaped: %d children of the daemon, %d zombies",
		      left, zombies);

	/* Proof that the children existed: the daemon gave up on them (and
	 * said so), or, where the pid never reached the reaper, its full
	 * scan reaped them with a warning. */
	ck_assert_msg(log_wait_either(gave_up_line, gave_up, scan_line, scanned, 5000),
		      "no child was forked: the spawn failed before fork (fd limit off?)");

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

int
main(void)
{
	const char *engine = getenv("SPAWND_IT_ENGINE");

	/* Only the fork engine can make a child without a pidfd. */
	if (engine && strcmp(engine, "fork") != 0)
		return 77;
	return harness_main(untracked_suite());
}
