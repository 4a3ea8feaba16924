/* SPDX-License-Identifier: MIT */
/*
 * Nothing a client sends can stall, freeze or exhaust the event loop
 * (issue 10 items 1, 3, 5 and 9; HOSTILE.md 45, 46, 49):
 *
 *  - fuse:    a client sends fds of a FUSE file whose server never answers
 *             FLUSH, in a denied and in a permitted request. close() of
 *             such an fd sleeps for ever, unkillably. Other clients must
 *             still be answered within a second, the sender's stuck closes
 *             are capped (then its connection is dropped with
 *             Failed{LIMIT, EAGAIN}), and the daemon stops on SIGTERM.
 *  - flood:   a uid with no permit rule sends 128 KiB command names on 8
 *             connections and never reads the Failed{RESOLVE} replies that
 *             echo them: the daemon stops reading those connections (the
 *             senders stall), its RSS stays within tens of MiB and comes
 *             back once they are gone.
 *  - detail:  echoed details are cut at SPAWND_MAX_DETAIL_BYTES, at a UTF-8
 *             character boundary, and say so ("...").
 *  - reset:   a client that closes with replies unread (ECONNRESET) is an
 *             ordinary disconnect: no "malformed datagram" warning.
 *  - nofile:  started with RLIMIT_NOFILE 48:4096 the daemon raises its soft
 *             limit and serves many connections; with 48:48 it exits 1 and
 *             says which limit to raise.
 *  - pty:     the last reference of a pty master is dropped while the
 *             target's child sits in the slave's line discipline (a write
 *             from a page of a frozen FUSE file): the hangup that the
 *             release does waits for it, uninterruptibly. Other clients
 *             must still be answered (HOSTILE.md 46).
 *  - traced:  a tracer holds a child's zombie (the daemon cannot reap it
 *             while the tracer neither waits nor detaches): the loop does
 *             not spin on the readable pidfd; a Signal request, the time
 *             limit, the client's disconnect and the daemon's stop still
 *             behave; once the tracer is gone the child is reaped and the
 *             client gets its Exited.
 */
#define _GNU_SOURCE

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

#define NOBODY 65534
#define WWW_DATA 33

/* ---- helpers ---- */

/* Bytes of a command name that fits the string cap (SPAWND_MAX_STRING_BYTES). */
#define BIG_NAME_BYTES (SPAWND_MAX_STRING_BYTES - 1u)

/* A bare command name of n bytes: no such program, so Failed{RESOLVE} echoes it. */
static char *
big_name(size_t n, const char *unit)
{
	size_t ul = strlen(unit);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i + ul <= n; i += ul)
		memcpy(s + i, unit, ul);
	s[n - n % ul] = '\0';
	return s;
}

/* The readlink of /proc/PID/fd/FD, or "" */
static void
fd_link(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	xsnprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/*
 * The daemon's closer process: "spawnd-closer" sharing the daemon's fd
 * table, recognised by the daemon's listening socket (fd 3) in its table.
 */
static pid_t
find_closer(pid_t daemon)
{
	char want[128], have[128];
	struct dirent *de;
	pid_t found = 0;
	DIR *d;

	fd_link(daemon, 3, want, sizeof(want));
	ck_assert_msg(want[0] != '\0', "cannot read the daemon's fd 3");
	d = opendir("/proc");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && !found) {
		char path[300], comm[64] = "";
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		FILE *f;

		if (*end || pid <= 0 || pid == daemon)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		(void)fclose(f);
		if (strcmp(comm, "spawnd-closer\n") != 0)
			continue;
		fd_link((pid_t)pid, 3, have, sizeof(have));
		if (strcmp(have, want) == 0)
			found = (pid_t)pid;
	}
	(void)closedir(d);
	return found;
}

static int
threads_of(pid_t pid)
{
	char path[64], line[256];
	int n = -1;
	FILE *f;

	xsnprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	(void)fclose(f);
	return n;
}

/* Spawn /bin/true as nobody on a fresh connection; the first reply must come within timeout_ms. */
static void
assert_answered_within(unsigned timeout_ms, const char *when)
{
	const char *argv[] = {"/bin/true", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	struct spawn_reply rep = {0};

	ck_assert_int_eq(spawnd_spawn_async(c, o, spawn_reply_cb, &rep, NULL), 0);
	spawnd_options_free(o);
	spawn_reply_pump(c, &rep, 1, timeout_ms);
	ck_assert_msg(rep.state != SPAWND_STATE_PENDING,
		      "%s: another client's spawn got no reply within %u ms", when, timeout_ms);
	ck_assert_msg(rep.state != SPAWND_STATE_FAILED, "%s: the spawn failed: %s (%s)", when,
		      spawnd_stage_to_string(rep.stage), rep.detail);
	spawnd_client_close(c);
}

/* ---- fuse: close() of a client's fd never runs on the loop ---- */

#ifdef FUSE_HANG_PATH

struct fuse_attack {
	char file[PATH_MAX];
};

/* Send a spawn of argv as nobody with the n fds mapped to targets first_target... */
static int
send_spawn(int sock, uint64_t id, const char *const *argv, const int *fds, size_t n,
	   unsigned first_target)
{
	struct msg *m = msg_spawn(id, "nobody", argv);
	size_t len;
	uint8_t *buf;
	int r;

	for (size_t i = 0; i < n; i++)
		msg_map(m, (unsigned)i, first_target + (unsigned)i);
	buf = msg_pack(m, &len);
	r = rc_send(sock, buf, len, fds, n);
	free(buf);
	msg_free(m);
	return r;
}

/* Report one reply (or EOF) as a line: "reply id=N stage=S err=E" or "eof". */
static int
report_reply(int sock, int ctl, unsigned timeout_ms)
{
	Spawnd__V1__Reply *rep = NULL;
	int r = rc_recv(sock, &rep, NULL, timeout_ms);

	if (r == 0) {
		rc_report(ctl, "eof");
		return 0;
	}
	if (r < 0) {
		rc_report(ctl, "error=%s", strerror(-r));
		return r;
	}
	if (rep->body_case == SPAWND__V1__REPLY__BODY_FAILED)
		rc_report(ctl, "reply id=%llu stage=%d err=%d", (unsigned long long)rep->id,
			  (int)rep->failed->stage, (int)rep->failed->errnum);
	else
		rc_report(ctl, "reply id=%llu body=%d", (unsigned long long)rep->id,
			  (int)rep->body_case);
	wire_reply_free(rep);
	return 1;
}

/*
 * As nobody: open the FUSE file (OPEN and READ are answered), send it in a
 * denied request and in a permitted one, then (on go) in four denied
 * requests with 64 copies each. Our own copies are never closed while the
 * server lives: this process exits only after the test killed it.
 */
static int
fuse_attacker(void *arg, int ctl)
{
	const struct fuse_attack *a = arg;
	const char *denied[] = {"/bin/echo", "x", NULL};
	const char *permitted[] = {"/usr/bin/id", NULL};
	int many[SPAWND_MAX_FDS];
	char byte;
	int fd, sock;

	fd = open(a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &byte, 1) != 1) {
		rc_report(ctl, "error=open/read %s: %s", a->file, strerror(errno));
		return 1;
	}
	sock = rc_connect(fx.sock);
	if (sock < 0) {
		rc_report(ctl, "error=connect: %s", strerror(-sock));
		return 1;
	}
	/* 1: denied by the policy, the fd as stdin. */
	if (send_spawn(sock, 1, denied, &fd, 1, 0) < 0 || report_reply(sock, ctl, 10000) < 0)
		return 1;
	/* 2: permitted: its child hangs in its own close of the fd, which is its business. */
	if (send_spawn(sock, 2, permitted, &fd, 1, 0) < 0) {
		rc_report(ctl, "error=send 2");
		return 1;
	}
	rc_report(ctl, "phase1");
	if (rc_wait_go(ctl) < 0)
		return 1;

	for (size_t i = 0; i < SPAWND_MAX_FDS; i++) {
		many[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (many[i] < 0) {
			rc_report(ctl, "error=dup: %s", strerror(errno));
			return 1;
		}
	}
	for (uint64_t k = 0; k < 4; k++)
		if (send_spawn(sock, 10 + k, denied, many, SPAWND_MAX_FDS, 3) < 0)
			break; /* the daemon may have dropped us already */
	/* The three that fit the quota are denied, then the drop (or id 2 first). */
	for (int i = 0; i < 8; i++)
		if (report_reply(sock, ctl, 10000) <= 0)
			break;
	rc_report(ctl, "done");
	(void)rc_wait_go(ctl);
	return 0;
}

/* Read the attacker's lines up to "done"; count denials, the LIMIT drop and EOF. */
static void
read_attack_result(int ctl, int *ret_denied, int *ret_limit, int *ret_eof)
{
	char line[512];

	*ret_denied = *ret_limit = *ret_eof = 0;
	for (;;) {
		unsigned long long id;
		int stage, err;

		ck_client_line(ctl, line, sizeof(line), 30000, "attacker");
		if (strcmp(line, "done") == 0)
			return;
		ck_assert_msg(strncmp(line, "error=", 6) != 0, "attacker: %s", line);
		if (strcmp(line, "eof") == 0)
			(*ret_eof)++;
		else if (sscanf(line, "reply id=%llu stage=%d err=%d", &id, &stage, &err) == 3) {
			if (id >= 10 && stage == SPAWND__V1__STAGE__STAGE_POLICY && err == EPERM)
				(*ret_denied)++;
			else if (id == 0 && stage == SPAWND__V1__STAGE__STAGE_LIMIT && err == EAGAIN)
				(*ret_limit)++;
			else
				ck_abort_msg("attacker got an unexpected reply: %s", line);
		} else
			ck_abort_msg("attacker: unexpected line '%s'", line);
	}
}

/* The daemon's child whose fd 0 is file (a child stuck before exec), or 0. */
static pid_t
find_stuck_child(pid_t daemon, const char *file)
{
	struct dirent *de;
	pid_t found = 0;
	DIR *d = opendir("/proc");

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && !found) {
		char path[300], stat[512] = "", link[PATH_MAX];
		char *end, *close_paren;
		long pid = strtol(de->d_name, &end, 10);
		int ppid = 0;
		FILE *f;

		if (*end || pid <= 0 || pid == daemon)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(stat, sizeof(stat), f))
			stat[0] = '\0';
		(void)fclose(f);
		close_paren = strrchr(stat, ')');
		if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1 ||
		    ppid != daemon)
			continue;
		fd_link((pid_t)pid, 0, link, sizeof(link));
		if (strcmp(link, file) == 0)
			found = (pid_t)pid;
	}
	(void)closedir(d);
	return found;
}

/*
 * HOSTILE 46/47: a child stuck in the close of its client's FUSE fd (close
 * waits for FLUSH on every close) holds nothing of the daemon's: its fds
 * are copies of that file, /dev/null as its stdout and stderr, and the
 * errpipe right above its targets (fd 3). The daemon's fds were closed
 * before any of the client's.
 */
static void
assert_stuck_child_holds_only_its_own(pid_t daemon, const char *file)
{
	char path[64], link[PATH_MAX], extra[1024] = "";
	struct dirent *de;
	pid_t child = 0;
	DIR *d;

	for (int i = 0; i < 250 && child == 0; i++) {
		child = find_stuck_child(daemon, file);
		if (child == 0)
			harness_sleep_ms(20);
	}
	ck_assert_msg(child > 0, "no child of the daemon with %s as its stdin", file);
	xsnprintf(path, sizeof(path), "/proc/%d/fd", (int)child);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		size_t len = strlen(extra);

		if (*end || de->d_name[0] == '.')
			continue;
		fd_link(child, (int)fd, link, sizeof(link));
		if (strcmp(link, file) == 0 || (fd <= 2 && strcmp(link, "/dev/null") == 0) ||
		    (fd == 3 && strncmp(link, "pipe:", 5) == 0))
			continue;
		if (len < sizeof(extra) - 1)
			(void)snprintf(extra + len, sizeof(extra) - len, " %ld->%.100s", fd, link);
	}
	(void)closedir(d);
	ck_assert_msg(extra[0] == '\0', "child %d, stuck in the close of its FUSE fd, holds:%s",
		      (int)child, extra);
}

START_TEST(test_fuse_close_does_not_stop_the_loop)
{
	struct fuse_attack a;
	char mnt[PATH_MAX], log[PATH_MAX], line[512];
	int ctl, status, denied, limit, eof, threads, others[8];
	pid_t fuse, attacker, closer, daemon = fx.pid;

	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(log, sizeof(log), "%s/fuse-hang.log", fx.dir);
	xsnprintf(a.file, sizeof(a.file), "%s/f", mnt);
	fuse = fuse_hang_start_mode(FUSE_HANG_PATH, "--flush", mnt, log);
	/*
	 * Holes low in the daemon's table, other clients' connections above
	 * them: the attacker's fds land in the holes, below connections that
	 * its stuck child must not hold (HOSTILE 47).
	 */
	for (int i = 0; i < 8; i++) {
		others[i] = rc_connect(fx.sock);
		ck_assert_int_ge(others[i], 0);
	}
	harness_sleep_ms(200);
	for (int i = 0; i < 5; i++)
		(void)close(others[i]);
	harness_sleep_ms(200);

	attacker = fork_client(NOBODY, NOBODY, fuse_attacker, &a, &ctl);
	ck_client_line(ctl, line, sizeof(line), 10000, "attacker");
	{
		unsigned long long id;
		int stage, err;

		ck_assert_msg(sscanf(line, "reply id=%llu stage=%d err=%d", &id, &stage, &err) == 3 &&
				      id == 1 && stage == SPAWND__V1__STAGE__STAGE_POLICY &&
				      err == EPERM,
			      "the denied request: %s", line);
	}
	ck_client_line(ctl, line, sizeof(line), 10000, "attacker");
	ck_assert_str_eq(line, "phase1");
	/* The closes went to the closer, and hang there. */
	for (int i = 0; i < 250 && fuse_hang_unanswered(log) < 1; i++)
		harness_sleep_ms(20);
	ck_assert_int_ge(fuse_hang_unanswered(log), 1);
	assert_stuck_child_holds_only_its_own(daemon, a.file);
	for (int i = 5; i < 8; i++)
		(void)close(others[i]);
	assert_answered_within(1000, "after a denied and a permitted request with a FUSE fd");
	closer = find_closer(daemon);
	ck_assert_msg(closer > 0, "no spawnd-closer process shares the daemon's fd table");

	/* Four requests with 64 copies each: three fit the quota, then the drop. */
	ck_client_go(ctl, 'g');
	read_attack_result(ctl, &denied, &limit, &eof);
	ck_assert_msg(denied == 3 && limit == 1 && eof == 1,
		      "expected 3 denials, then Failed{LIMIT, EAGAIN} and EOF; got %d, %d, %d",
		      denied, limit, eof);
	ck_assert_int_ge(log_count("of this user's fds are still being closed"), 1);
	assert_answered_within(1000, "with nobody's quota of closes stuck");
	/* One thread per stuck close, no more than the quota allows. */
	threads = threads_of(closer);
	ck_assert_msg(threads > 0 && threads <= (int)SPAWND_MAX_CLOSING_FDS_PER_UID + 8,
		      "the closer runs %d threads", threads);
	ck_assert_msg(threads >= 2 + 3 * (int)SPAWND_MAX_FDS,
		      "only %d closer threads for %d stuck closes", threads,
		      2 + 3 * (int)SPAWND_MAX_FDS);

	/*
	 * SIGTERM: the daemon exits 0, its closer's threads still stuck. It
	 * gives the permitted request's child, stuck before exec in its own
	 * close of the fd, its stop deadline (SIGTERM, SIGKILL after
	 * SPAWND_KILL_GRACE_SEC, 2 s more), which SIGKILL cannot shorten.
	 */
	fx.pid = 0;
	ck_assert_int_eq(kill(daemon, SIGTERM), 0);
	status = wait_pid_deadline(daemon, (SPAWND_KILL_GRACE_SEC + 5) * 1000);
	ck_assert_msg(status != -1, "spawnd did not exit on SIGTERM with closes stuck");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "spawnd exited with status 0x%x", (unsigned)status);
	/* Its main thread has gone with the daemon; the stuck ones stay until FUSE answers. */
	ck_assert_msg(threads_of(closer) > 1, "the closer's threads should still be stuck in close()");

	/* The FUSE server goes: every close returns, the closer and the attacker exit. */
	fuse_hang_stop(fuse);
	(void)umount2(mnt, MNT_DETACH);
	ck_client_go(ctl, 'g');
	ck_client_done(attacker, ctl, "attacker");
	for (int i = 0; i < 500 && threads_of(closer) > 1; i++)
		harness_sleep_ms(20);
	ck_assert_msg(threads_of(closer) <= 1 && !proc_alive(closer),
		      "the closer did not exit after the daemon and FUSE");
}
END_TEST

#endif

/* ---- flood: replies are bounded in bytes, reading pauses ---- */

#define FLOOD_CONNS 8
#define FLOOD_MAX 1000 /* requests per connection: ~125 MiB of echoes each without a bound */

struct flood {
	uint8_t *buf;
	size_t len;
};

/* As a uid without rules: flood 8 connections until each stalls (or FLOOD_MAX), never read. */
static int
flooder(void *arg, int ctl)
{
	const struct flood *f = arg;
	int socks[FLOOD_CONNS];

	for (int i = 0; i < FLOOD_CONNS; i++) {
		socks[i] = rc_connect(fx.sock);
		if (socks[i] < 0) {
			rc_report(ctl, "error=connect: %s", strerror(-socks[i]));
			return 1;
		}
	}
	for (int i = 0; i < FLOOD_CONNS; i++) {
		int sent = 0, stalled = 0;

		while (sent < FLOOD_MAX) {
			struct pollfd p = {.fd = socks[i], .events = POLLOUT};

			if (send(socks[i], f->buf, f->len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
				sent++;
				continue;
			}
			if (errno != EAGAIN) {
				rc_report(ctl, "error=send: %s", strerror(errno));
				return 1;
			}
			/* The daemon reads on as long as it wants more: half a second without room = stalled. */
			if (poll(&p, 1, 500) == 0) {
				stalled = 1;
				break;
			}
		}
		rc_report(ctl, "conn=%d sent=%d stalled=%d", i, sent, stalled);
	}
	rc_report(ctl, "flooded");
	(void)rc_wait_go(ctl);
	for (int i = 0; i < FLOOD_CONNS; i++)
		(void)close(socks[i]);
	return 0;
}

START_TEST(test_flood_is_bounded)
{
	const char *argv[2] = {NULL, NULL};
	struct flood f;
	struct msg *m;
	char line[512];
	long base_rss, rss;
	int ctl, base_fds, stalled_conns = 0;
	pid_t pid;
	char *name = big_name(BIG_NAME_BYTES, "x");

	/* A warm daemon: the first spawns allocate what every later one reuses. */
	for (int i = 0; i < 3; i++)
		assert_daemon_serves();
	base_fds = proc_settled_fd_count(fx.pid);
	base_rss = proc_rss_kb(fx.pid);
	ck_assert_int_gt(base_rss, 0);

	argv[0] = name;
	m = msg_spawn(1, "nobody", argv);
	f.buf = msg_pack(m, &f.len);
	msg_free(m);
	free(name);

	pid = fork_client(WWW_DATA, WWW_DATA, flooder, &f, &ctl);
	for (int i = 0; i < FLOOD_CONNS; i++) {
		int conn, sent, stalled;

		ck_client_line(ctl, line, sizeof(line), 120000, "flooder");
		ck_assert_msg(sscanf(line, "conn=%d sent=%d stalled=%d", &conn, &sent, &stalled) == 3,
			      "flooder: %s", line);
		stalled_conns += stalled;
	}
	ck_client_line(ctl, line, sizeof(line), 10000, "flooder");
	ck_assert_str_eq(line, "flooded");
	free(f.buf);

	rss = proc_rss_kb(fx.pid);
#ifndef SPAWND_IT_SANITIZED
	ck_assert_msg(rss - base_rss < 48 * 1024,
		      "RSS grew from %ld to %ld KiB under a flood of unread replies", base_rss,
		      rss);
#endif
	/* The daemon stopped reading every flooded connection (backpressure)... */
	ck_assert_msg(stalled_conns == FLOOD_CONNS,
		      "only %d of %d connections that never read were paused", stalled_conns,
		      FLOOD_CONNS);
	/* ...and serves everyone else meanwhile. */
	assert_daemon_serves();

	/* They disconnect: the memory goes back (malloc_trim after a burst). */
	ck_client_go(ctl, 'g');
	ck_client_done(pid, ctl, "flooder");
	assert_fds_at(base_fds, "after the flooders left");
	rss = proc_rss_kb(fx.pid);
#ifndef SPAWND_IT_SANITIZED
	/* Polled, not slept on: it passes as soon as the memory is back. */
	for (uint64_t end = now_usec() + 5 * USEC_PER_SEC;
	     rss - base_rss >= 16 * 1024 && now_usec() < end; rss = proc_rss_kb(fx.pid))
		harness_sleep_ms(20);
	ck_assert_msg(rss - base_rss < 16 * 1024,
		      "RSS %ld KiB after the flood, %ld KiB before: the memory did not come back",
		      rss, base_rss);
#endif
	(void)rss;
	assert_daemon_serves();
}
END_TEST

/* ---- detail: echoed client bytes are cut and say so ---- */

static void
expect_cut_detail(const char *unit, size_t unit_len)
{
	const char *argv[2] = {NULL, NULL};
	Spawnd__V1__Reply *rep;
	char *name = big_name(BIG_NAME_BYTES, unit);
	int sock = ck_connect();
	struct msg *m;
	size_t len;

	argv[0] = name;
	m = msg_spawn(7, "nobody", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	rep = ck_reply(sock, 10000, "a 128 KiB command name");
	ck_assert_int_eq(rep->body_case, SPAWND__V1__REPLY__BODY_FAILED);
	ck_assert_int_eq(rep->failed->stage, SPAWND__V1__STAGE__STAGE_RESOLVE);
	len = strlen(rep->failed->detail);
	ck_assert_msg(len <= SPAWND_MAX_DETAIL_BYTES, "the detail echoes %zu bytes", len);
	ck_assert_msg(len > 3 && strcmp(rep->failed->detail + len - 3, "...") == 0,
		      "a cut detail must end with '...': '%.40s'", rep->failed->detail);
	/* Whole characters only: what precedes "..." is a run of complete units. */
	ck_assert_msg((len - 3) % unit_len == 0 && strncmp(rep->failed->detail, name, len - 3) == 0,
		      "the detail is not a prefix of whole characters (%zu bytes)", len - 3);
	wire_reply_free(rep);
	free(name);
	(void)close(sock);
}

START_TEST(test_detail_is_cut)
{
	expect_cut_detail("x", 1);
	expect_cut_detail("\xc3\xa9", 2);     /* U+00E9, 2 bytes */
	expect_cut_detail("\xe2\x82\xac", 3); /* U+20AC, 3 bytes */
}
END_TEST

/* ---- linger: a passed file whose release waits is not released on the loop ---- */

/*
 * A loopback TCP connection whose peer never reads, its send buffer full,
 * with SO_LINGER: the release of its last reference waits out the linger
 * time (tcp_close(), sk_stream_wait_close()). Returns the lingering end;
 * *ret_peer is the peer, which the caller keeps open.
 */
static int
lingering_socket(int *ret_peer)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	struct linger lg = {.l_onoff = 1, .l_linger = 3600};
	static char junk[65536];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s, peer;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return -1;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0 || (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS))
		return -1;
	peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	(void)close(l);
	if (peer < 0)
		return -1;
	memset(junk, 'x', sizeof(junk));
	while (write(s, junk, sizeof(junk)) > 0)
		;
	if (errno != EAGAIN || setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		return -1;
	*ret_peer = peer;
	return s;
}

enum linger_way {
	LINGER_DENIED,	 /* in a denied Spawn: its parked copy goes with the job */
	LINGER_OVER_CAP, /* the 65th fd of a message (more than SPAWND_MAX_FDS) */
	LINGER_QUEUED,	 /* in a message still queued when the connection goes */
};

#define LINGER_SIGNALS 20000

/*
 * www-data (no permit rule) hands the daemon a lingering socket, then
 * closes its own copy: the daemon's is the last reference.
 */
static int
linger_client(void *arg, int ctl)
{
	enum linger_way way = *(enum linger_way *)arg;
	const char *argv[] = {"/bin/true", NULL};
	int peer = -1, lingering = lingering_socket(&peer), sock = rc_connect(fx.sock), r = 0;
	struct msg *m;
	uint8_t *buf;
	size_t len;

	if (lingering < 0 || sock < 0) {
		rc_report(ctl, "error=setup: %s", strerror(errno));
		return 1;
	}
	if (way != LINGER_DENIED) {
		/*
		 * Leave the replies unread until the daemon stops reading us
		 * (its reply queue is full), so that the message with the fd
		 * waits in the queue while we close our copy.
		 */
		m = msg_signal(1, 424242, SIGTERM, false);
		buf = msg_pack(m, &len);
		msg_free(m);
		for (int i = 0; i < LINGER_SIGNALS && r == 0; i++) {
			struct pollfd p = {.fd = sock, .events = POLLOUT};

			if (poll(&p, 1, 2000) != 1)
				break;
			r = rc_send(sock, buf, len, NULL, 0);
		}
		free(buf);
	}
	m = msg_spawn(1, "root", argv);
	msg_map(m, 0, 3);
	buf = msg_pack(m, &len);
	msg_free(m);
	if (way == LINGER_OVER_CAP) {
		int fds[SPAWND_MAX_FDS + 1];

		for (unsigned i = 0; i < SPAWND_MAX_FDS; i++)
			fds[i] = STDIN_FILENO;
		fds[SPAWND_MAX_FDS] = lingering;
		r = rc_send(sock, buf, len, fds, SPAWND_MAX_FDS + 1);
	} else
		r = rc_send(sock, buf, len, &lingering, 1);
	free(buf);
	if (r < 0 && way != LINGER_QUEUED) {
		rc_report(ctl, "error=send: %s", strerror(-r));
		return 1;
	}
	(void)close(lingering);
	if (way == LINGER_QUEUED)
		(void)close(sock); /* the daemon drops the connection with the message unread */
	if (way == LINGER_OVER_CAP) {
		/* Read the replies: the daemon reads on, and takes the message. */
		Spawnd__V1__Reply *rep = NULL;

		while (rc_recv(sock, &rep, NULL, 1000) == 1) {
			wire_reply_free(rep);
			rep = NULL;
		}
	}
	rc_report(ctl, "sent");
	/* The peer stays open (the socket cannot finish) until the test is done. */
	while (rc_wait_go(ctl) > 0)
		;
	(void)close(peer);
	return 0;
}

/*
 * HOSTILE 46 beyond FLUSH: dropping a passed fd's last reference runs the
 * file's release in the dropping thread. So no path may drop one on the
 * loop: a parked fd of a refused request, fds beyond what the daemon
 * accepts on one message, a message still queued when its connection is
 * closed. A lingering TCP socket makes such a release wait for an hour;
 * a root spawn must still be answered at once.
 */
static void
linger_round(enum linger_way way, const char *what)
{
	char line[128];
	int ctl, sock;
	pid_t pid = fork_client(WWW_DATA, WWW_DATA, linger_client, &way, &ctl);
	struct msg *m;
	const char *argv[] = {"/bin/true", NULL};

	ck_client_line(ctl, line, sizeof(line), 60000, what);
	ck_assert_msg(strcmp(line, "sent") == 0, "%s: %s", what, line);
	/* Time for the daemon to act on it (park, refuse, drop). */
	harness_sleep_ms(300);
	sock = ck_connect();
	m = msg_spawn(7, "root", argv);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	(void)ck_expect_started(sock, 7, what);
	ck_expect_exited(sock, 7, 0, 0, what);
	(void)close(sock);
	ck_client_go(ctl, 'q');
	ck_client_done(pid, ctl, what);
}

START_TEST(test_linger_release_not_on_loop)
{
	linger_round(LINGER_DENIED, "a lingering socket in a denied request");
	linger_round(LINGER_OVER_CAP, "a lingering socket as the 65th fd of a message");
	linger_round(LINGER_QUEUED, "a lingering socket queued on a dropped connection");
	assert_daemon_serves();
}
END_TEST

/* ---- pty: the release of a child's terminal never runs on the loop ---- */

#if defined(FUSE_FILES_PATH) && defined(PTY_STALL_PATH)

/* The spawn's id, and the Signal requests (for no child) that fill the client's queue. */
#define PTY_SPAWN_ID 1
#define PTY_FILL_ID 2

struct pty_attack {
	char file[PATH_MAX], ready[PATH_MAX], go[PATH_MAX];
};

/* Bytes waiting in sock's receive queue (SIOCINQ: all of them, for SOCK_SEQPACKET). */
static int
queued_in(int sock)
{
	int n = -1;

	return ioctl(sock, FIONREAD, &n) < 0 ? -1 : n;
}

/* Whether sock's receive queue stays at n for ms milliseconds. */
static bool
queue_stays(int sock, int n, unsigned ms)
{
	uint64_t end = now_usec() + (uint64_t)ms * 1000u;

	while (now_usec() < end) {
		if (queued_in(sock) != n)
			return false;
		harness_sleep_ms(2);
	}
	return true;
}

/*
 * As root: leave the replies unread until the daemon has to queue them
 * itself (its socket's send buffer is full), so that the Started of a
 * pty-stall spawn (and the pty master riding on it) waits in the daemon's
 * queue. On 'c', close the connection: the daemon drops the queued reply,
 * and with it the last reference of the master.
 */
static int
pty_client(void *arg, int ctl)
{
	const struct pty_attack *a = arg;
	const char *argv[] = {PTY_STALL_PATH, a->file, a->ready, a->go, NULL};
	Spawnd__V1__PtyRequest pty = SPAWND__V1__PTY_REQUEST__INIT;
	int sock = rc_connect(fx.sock), held = -1;
	struct msg *m;
	uint8_t *buf;
	size_t len;

	if (sock < 0) {
		rc_report(ctl, "error=connect: %s", strerror(-sock));
		return 1;
	}
	m = msg_signal(PTY_FILL_ID, 424242, SIGTERM, false);
	buf = msg_pack(m, &len);
	msg_free(m);
	/* One at a time: the first reply that stays out has been queued by the daemon. */
	for (int i = 0; i < 20000; i++) {
		int before = queued_in(sock);
		uint64_t t0 = now_usec();
		int r = before < 0 ? -errno : rc_send(sock, buf, len, NULL, 0);

		if (r < 0) {
			rc_report(ctl, "error=send: %s", strerror(-r));
			return 1;
		}
		while (queued_in(sock) == before && now_usec() - t0 < 1000000)
			harness_sleep_ms(1);
		if (queued_in(sock) == before) {
			held = before;
			break;
		}
	}
	free(buf);
	/* And the queue stays there: the daemon does not just lag behind. */
	if (held < 0 || !queue_stays(sock, held, 500)) {
		rc_report(ctl, "error=the daemon never queued a reply of ours");
		return 1;
	}
	m = msg_spawn(PTY_SPAWN_ID, "nobody", argv);
	pty.rows = 24;
	pty.cols = 80;
	m->spawn.pty = &pty;
	buf = msg_pack(m, &len);
	m->spawn.pty = NULL;
	msg_free(m);
	if (rc_send(sock, buf, len, NULL, 0) < 0) {
		rc_report(ctl, "error=cannot send the spawn");
		return 1;
	}
	free(buf);
	rc_report(ctl, "spawned");
	if (rc_wait_go(ctl) <= 0)
		return 1;
	/* Started (with the master) must still be in the daemon's queue, not in ours. */
	if (queued_in(sock) != held) {
		rc_report(ctl, "error=a reply reached us (%d bytes queued, not %d)", queued_in(sock),
			  held);
		return 1;
	}
	(void)close(sock);
	rc_report(ctl, "closed");
	(void)rc_wait_go(ctl);
	return 0;
}

/* Whether the file at path has a line containing needle. */
static bool
file_has_line(const char *path, const char *needle)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		(void)fclose(f);
	return found;
}

/* The system call pid is in (/proc/PID/syscall), or -1. */
static long
proc_syscall(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	xsnprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &nr) != 1)
			nr = -1;
		(void)fclose(f);
	}
	return nr;
}

/* Threads of the daemon's closer in uninterruptible sleep (state D), or -1 without a closer. */
static int
closer_threads_in_d(pid_t daemon)
{
	pid_t closer = find_closer(daemon);
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (closer <= 0)
		return -1;
	xsnprintf(path, sizeof(path), "/proc/%d/task", (int)closer);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char state = 0;
		pid_t ppid, tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid > 0 && proc_stat(tid, &state, &ppid, NULL) == 0 && state == 'D')
			n++;
	}
	(void)closedir(d);
	return n;
}

/* Whether another client's spawn is answered (Started, then Exited 0) within timeout_ms. */
static bool
answered_within(unsigned timeout_ms)
{
	const char *argv[] = {"/bin/true", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	struct spawn_reply rep = {0};
	bool answered;

	ck_assert_int_eq(spawnd_spawn_async(c, o, spawn_reply_cb, &rep, NULL), 0);
	spawnd_options_free(o);
	spawn_reply_pump(c, &rep, 1, timeout_ms);
	answered = rep.state != SPAWND_STATE_PENDING;
	spawnd_client_close(c);
	return answered;
}

/*
 * HOSTILE 46 for the terminal. The last close of a pty master hangs up
 * the slave, and the hangup waits, uninterruptibly, until every task
 * inside the slave's line discipline has left (tty_ldisc_hangup() takes
 * the ldisc lock for writing, without a timeout). The target's own child
 * (pty-stall) sits in there: a write() to its terminal from a page of a
 * file whose FUSE server is frozen, all signals blocked. The Started that
 * carries the master waits in the daemon's reply queue (its client reads
 * nothing), and the client closes the connection: the daemon drops the
 * last reference of the master. On the loop, the loop would hang until the
 * FUSE server dies; other clients must be answered at once.
 */
START_TEST(test_pty_release_not_on_loop)
{
	struct pty_attack a;
	char mnt[PATH_MAX], src[PATH_MAX], log[PATH_MAX], line[128], pidline[32] = "";
	int ctl, ready_fd, go_fd = -1;
	pid_t fuse, client, stalled = 0;
	int stuck;
	bool answered;
	ssize_t n = 0;

	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(src, sizeof(src), "%s/page.src", fx.dir);
	xsnprintf(log, sizeof(log), "%s/fuse-files.log", fx.dir);
	xsnprintf(a.file, sizeof(a.file), "%s/page", mnt);
	xsnprintf(a.ready, sizeof(a.ready), "%s/ready.fifo", fx.dir);
	xsnprintf(a.go, sizeof(a.go), "%s/go.fifo", fx.dir);
	{
		char text[8193];

		memset(text, 'p', sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		write_file(src, text, 0644);
	}
	ck_assert_int_eq(mkfifo(a.ready, 0600), 0);
	ck_assert_int_eq(chmod(a.ready, 0666), 0);
	ck_assert_int_eq(mkfifo(a.go, 0600), 0);
	ck_assert_int_eq(chmod(a.go, 0666), 0);
	ready_fd = open(a.ready, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(ready_fd, 0);
	{
		char page[PATH_MAX + 8];
		const char *const files[] = {page, NULL};

		xsnprintf(page, sizeof(page), "page=%s", src);
		fuse = fuse_files_start(FUSE_FILES_PATH, mnt, log, files);
	}

	client = fork_client(0, 0, pty_client, &a, &ctl);
	ck_client_line(ctl, line, sizeof(line), 60000, "pty client");
	ck_assert_msg(strcmp(line, "spawned") == 0, "pty client: %s", line);
	/* pty-stall's child has mapped the page: its pid comes through the fifo. */
	for (int i = 0; i < 1000 && !strchr(pidline, '\n'); i++) {
		ssize_t k = read(ready_fd, pidline + n, sizeof(pidline) - 1 - (size_t)n);

		if (k > 0)
			n += k;
		else
			harness_sleep_ms(10);
	}
	ck_assert_msg(sscanf(pidline, "%d", &stalled) == 1 && stalled > 0,
		      "pty-stall did not report its child ('%s')", pidline);
	/* Freeze the server, then let the child write from the page it never touched. */
	ck_assert_int_eq(kill(fuse, SIGUSR1), 0);
	for (int i = 0; i < 250 && !file_has_line(log, "fuse-files: frozen"); i++)
		harness_sleep_ms(20);
	ck_assert_msg(file_has_line(log, "fuse-files: frozen"), "fuse-files did not freeze");
	for (int i = 0; i < 500 && go_fd < 0; i++) {
		go_fd = open(a.go, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (go_fd < 0)
			harness_sleep_ms(10); /* ENXIO: the child has not opened it yet */
	}
	ck_assert_int_ge(go_fd, 0);
	ck_assert_int_eq(write(go_fd, "g", 1), 1);
	(void)close(go_fd);
	for (int i = 0; i < 500 && proc_syscall(stalled) != SYS_write; i++)
		harness_sleep_ms(10);
	ck_assert_msg(proc_syscall(stalled) == SYS_write, "pty-stall's child %d is not in write()",
		      (int)stalled);
	harness_sleep_ms(200);
	ck_assert_msg(proc_syscall(stalled) == SYS_write,
		      "pty-stall's child %d left write() (the page was read?)", (int)stalled);

	/* The client goes, its Started unsent: the daemon drops the master. */
	ck_client_go(ctl, 'c');
	ck_client_line(ctl, line, sizeof(line), 10000, "pty client");
	ck_assert_msg(strcmp(line, "closed") == 0, "pty client: %s", line);
	harness_sleep_ms(300);
	answered = answered_within(5000);
	/* The release did happen, and hangs: in a thread of the closer. */
	stuck = closer_threads_in_d(fx.pid);

	/* The server goes: the write fails, the hangup ends, wherever it waits. */
	(void)kill(fuse, SIGTERM);
	ck_assert_msg(wait_pid_deadline(fuse, 10000) != -1, "fuse-files did not exit");
	(void)umount2(mnt, MNT_DETACH);
	ck_assert_msg(proc_wait_gone(stalled, 10000), "pty-stall's child %d did not exit",
		      (int)stalled);
	ck_client_go(ctl, 'q');
	ck_client_done(client, ctl, "pty client");
	(void)close(ready_fd);
	ck_assert_msg(answered, "another client got no answer within 5 s while the daemon dropped "
				"the last reference of a pty master whose slave a writer holds");
	ck_assert_msg(stuck >= 1, "no closer thread was stuck in the release of the pty master");
	assert_daemon_serves();
}
END_TEST

#endif

/* ---- reset: unread replies at disconnect are no protocol error ---- */

START_TEST(test_reset_is_a_quiet_disconnect)
{
	int base_fds = proc_settled_fd_count(fx.pid);

	for (int i = 0; i < 3; i++) {
		int sock = ck_connect();
		struct msg *m = msg_signal(5, 12345, SIGTERM, false);
		struct pollfd p = {.fd = sock, .events = POLLIN};

		ck_send_msg(sock, m, NULL, 0);
		msg_free(m);
		/* The reply (Failed{SIGNAL}) is queued for us; we leave without reading it. */
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		(void)close(sock);
	}
	assert_fds_at(base_fds, "after three clients left with replies unread");
	assert_daemon_serves();
	ck_assert_msg(log_count("malformed") == 0,
		      "a disconnect with unread replies was logged as a malformed datagram");
	ck_assert_msg(log_count("Connection reset") == 0,
		      "a disconnect with unread replies was logged as an error");
}
END_TEST

/* ---- traced: a zombie that a tracer holds ---- */

/* The daemon's CPU use over ms milliseconds, as a fraction of one CPU. */
static double
daemon_cpu_share(unsigned ms)
{
	long long t0 = proc_cpu_ticks(fx.pid), t1;
	uint64_t w0 = now_usec(), w1;

	ck_assert_int_ge(t0, 0);
	harness_sleep_ms(ms);
	t1 = proc_cpu_ticks(fx.pid);
	w1 = now_usec();
	ck_assert_int_ge(t1, 0);
	return (double)(t1 - t0) / (double)sysconf(_SC_CLK_TCK) / ((double)(w1 - w0) / 1e6);
}

/*
 * A process (root: CAP_SYS_PTRACE, whatever the Yama scope short of 3)
 * that PTRACE_SEIZEs pid, says so with one byte on the returned fd, and
 * then neither waits nor detaches until it is killed. It closes its copy
 * of close_fd first.
 */
static pid_t
tracer_start(pid_t pid, int close_fd)
{
	int sync[2];
	char b;
	pid_t t;
	struct pollfd p;

	ck_assert_int_eq(pipe2(sync, O_CLOEXEC), 0);
	t = fork();
	ck_assert_int_ge(t, 0);
	if (t == 0) {
		(void)close(sync[0]);
		(void)close(close_fd);
		if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
			_exit(1);
		(void)!write(sync[1], "s", 1);
		for (;;)
			(void)pause();
	}
	(void)close(sync[1]);
	p = (struct pollfd){.fd = sync[0], .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_msg(read(sync[0], &b, 1) == 1, "the tracer could not PTRACE_SEIZE child %d",
		      (int)pid);
	(void)close(sync[0]);
	return t;
}

static void
tracer_stop(pid_t t)
{
	ck_assert_int_eq(kill(t, SIGKILL), 0);
	ck_assert_int_eq(waitpid(t, NULL, 0), t);
}

/*
 * Spawn `sh -c 'read x; exit 7'` as nobody on sock (id 1, stdin a pipe,
 * time limit timeout_ms), let a tracer seize it, make it exit, and wait
 * until it is a zombie that the tracer holds. Returns the tracer's pid.
 */
static pid_t
spawn_held_zombie(int sock, uint64_t timeout_ms, pid_t *ret_child)
{
	const char *argv[] = {"/bin/sh", "-c", "read x; exit 7", NULL};
	struct msg *m = msg_spawn(1, "nobody", argv);
	int in[2];
	pid_t child, tracer, ppid;
	char state = 0;
	uint64_t t0;

	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	msg_map(m, 0, 0);
	if (timeout_ms) {
		m->spawn.has_timeout_ms = true;
		m->spawn.timeout_ms = timeout_ms;
	}
	ck_send_msg(sock, m, &in[0], 1);
	msg_free(m);
	(void)close(in[0]);
	child = ck_expect_started(sock, 1, "the traced child");
	tracer = tracer_start(child, in[1]);
	(void)close(in[1]); /* read gets EOF: exit 7 */
	t0 = now_usec();
	while (proc_stat(child, &state, &ppid, NULL) == 0 && state != 'Z' &&
	       now_usec() - t0 < 10 * USEC_PER_SEC)
		harness_sleep_ms(10);
	ck_assert_msg(state == 'Z', "child %d is not a zombie (state %c)", (int)child, state);
	ck_assert_int_eq(ppid, fx.pid);
	*ret_child = child;
	return tracer;
}

/* While the zombie is held the daemon idles: its pidfd must not make the loop spin. */
static void
assert_loop_idle(const char *when)
{
	double cpu;

	harness_sleep_ms(100);
	cpu = daemon_cpu_share(1000);
	ck_assert_msg(cpu < 0.2,
		      "%s: the daemon used %.0f%% of a CPU while a tracer held its zombie", when,
		      cpu * 100);
}

START_TEST(test_traced_zombie_does_not_spin)
{
	int sock = ck_connect();
	pid_t child, tracer = spawn_held_zombie(sock, 1500, &child);
	struct msg *m;
	Spawnd__V1__Reply *rep;

	assert_loop_idle("zombie held");
	/* A Signal request reaches the (held) child as before: SignalSent. */
	m = msg_signal(2, 1, SIGUSR1, false);
	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	rep = ck_reply_nofd(sock, 10000, "Signal to the held child");
	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_SIGNAL_SENT && rep->id == 2,
		      "Signal to the held child: expected SignalSent id 2, got %s",
		      reply_describe(rep));
	wire_reply_free(rep);
	/* The time limit (1.5 s) fires on the zombie meanwhile: no effect, no spin. */
	assert_loop_idle("zombie held past its time limit");
	ck_expect_silence(sock, 200, "while the zombie is held");
	/* The tracer goes: the zombie is the daemon's to reap (SIGCHLD). */
	tracer_stop(tracer);
	ck_expect_exited(sock, 1, 7, 0, "the traced child, released");
	assert_no_children(10000, "after the tracer let the zombie go");
	(void)close(sock);
	assert_daemon_serves();
}
END_TEST

START_TEST(test_traced_zombie_disconnect_and_stop)
{
	int sock = ck_connect();
	pid_t child, tracer = spawn_held_zombie(sock, 0, &child);

	/* The client leaves: TERMINATE signals the zombie and arms its kill grace. */
	(void)close(sock);
	assert_loop_idle("zombie held, client gone");
	/* The daemon stops within its bound even though it cannot reap the child. */
	fx_stop_within(30000);
	tracer_stop(tracer);
}
END_TEST

START_TEST(test_traced_zombie_orphan_reaped)
{
	int sock = ck_connect();
	pid_t child, tracer = spawn_held_zombie(sock, 0, &child);

	(void)close(sock);
	assert_loop_idle("zombie held, client gone");
	tracer_stop(tracer);
	assert_no_children(10000, "after the tracer let the orphaned zombie go");
	assert_daemon_serves();
}
END_TEST

/* ---- nofile: RLIMIT_NOFILE at start ---- */

/* Run spawnd -s sock with RLIMIT_NOFILE soft:hard, stderr to errlog. */
static pid_t
start_limited(rlim_t soft, rlim_t hard, const char *sock, const char *conf, const char *errlog)
{
	pid_t pid;

	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
		int err = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (err < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(err, 2) < 0 || close_range(3, ~0u, 0) < 0 ||
		    setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(120);
		(void)unsetenv("LISTEN_FDS");
		(void)unsetenv("NOTIFY_SOCKET");
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(SPAWND_PATH, "spawnd", "-s", sock, "-c", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool
file_contains(const char *path, const char *needle)
{
	struct report r;
	bool found;

	if (report_read_file(path, &r) < 0)
		return false;
	found = r.text && strstr(r.text, needle);
	report_done(&r);
	return found;
}

START_TEST(test_nofile_at_start)
{
	char sock[PATH_MAX], conf[PATH_MAX], errlog[PATH_MAX], limits[64], line[256];
	const char *argv[] = {"/bin/true", NULL};
	bool raised = false;
	int status;
	pid_t pid;
	FILE *f;

	xsnprintf(sock, sizeof(sock), "%s/limited.sock", fx.dir);
	xsnprintf(conf, sizeof(conf), "%s/limited.conf", fx.dir);
	xsnprintf(errlog, sizeof(errlog), "%s/limited.log", fx.dir);
	write_file(conf, "permit root\n", 0644);

	/* A hard limit below what the daemon needs: exit 1, naming the limit to raise. */
	pid = start_limited(48, 48, sock, conf, errlog);
	status = wait_pid_deadline(pid, 10000);
	if (status == -1) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
	ck_assert_msg(status != -1, "spawnd ran with RLIMIT_NOFILE 48:48 instead of exiting");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		      "spawnd with RLIMIT_NOFILE 48:48: status 0x%x, expected exit 1",
		      (unsigned)status);
	ck_assert_msg(file_contains(errlog, "RLIMIT_NOFILE") && file_contains(errlog, "LimitNOFILE="),
		      "the error does not name RLIMIT_NOFILE and LimitNOFILE=");

	/* Soft 48, hard 4096: the daemon raises its soft limit and serves many connections. */
	(void)unlink(sock);
	pid = start_limited(48, 4096, sock, conf, errlog);
	/* Ready once it accepts: the socket file exists from bind(), before listen(). */
	for (int i = 0; i < 500; i++) {
		int probe = rc_connect(sock);

		if (probe >= 0) {
			(void)close(probe);
			break;
		}
		ck_assert_msg(proc_alive(pid), "spawnd with RLIMIT_NOFILE 48:4096 exited at start");
		harness_sleep_ms(20);
	}
	xsnprintf(limits, sizeof(limits), "/proc/%d/limits", (int)pid);
	f = fopen(limits, "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long soft, hard;

		if (sscanf(line, "Max open files %lu %lu", &soft, &hard) == 2)
			raised = soft == 4096 && hard == 4096;
	}
	(void)fclose(f);
	ck_assert_msg(raised, "spawnd did not raise its soft RLIMIT_NOFILE to the hard one");
	for (int i = 0; i < 200; i++) {
		spawnd_client *c = NULL;
		spawnd_options *o = opts_new("root", argv);
		struct run r;

		ck_assert_msg(spawnd_client_open(&c, sock, 0) == 0, "connection %d refused", i);
		run_spawn(c, o, false, &r);
		spawnd_options_free(o);
		ck_assert_msg(r.state == SPAWND_STATE_EXITED && r.exit_code == 0, "connection %d: %s",
			      i, run_describe(&r));
		run_done(&r);
		spawnd_client_close(c);
	}
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	status = wait_pid_deadline(pid, 10000);
	ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "spawnd (48:4096) did not exit 0 on SIGTERM (status 0x%x)", (unsigned)status);
}
END_TEST

static Suite *
loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_flood_is_bounded);
	tcase_add_test(tc, test_detail_is_cut);
	tcase_add_test(tc, test_reset_is_a_quiet_disconnect);
	tcase_add_test(tc, test_linger_release_not_on_loop);
	tcase_add_test(tc, test_nofile_at_start);
	tcase_add_test(tc, test_traced_zombie_does_not_spin);
	tcase_add_test(tc, test_traced_zombie_disconnect_and_stop);
	tcase_add_test(tc, test_traced_zombie_orphan_reaped);
	suite_add_tcase(s, tc);
#ifdef FUSE_HANG_PATH
	if (access("/dev/fuse", R_OK | W_OK) == 0 && access(FUSE_HANG_PATH, X_OK) == 0) {
		tc = tcase_create("fuse");
		tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_fuse_close_does_not_stop_the_loop);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "fuse: skipped (needs /dev/fuse and %s)\n", FUSE_HANG_PATH);
#else
	fprintf(stderr, "fuse: skipped (fuse-hang was not built: libfuse3 missing)\n");
#endif
#if defined(FUSE_FILES_PATH) && defined(PTY_STALL_PATH)
	if (access("/dev/fuse", R_OK | W_OK) == 0 && access(FUSE_FILES_PATH, X_OK) == 0) {
		tc = tcase_create("pty");
		tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_pty_release_not_on_loop);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "pty: skipped (needs /dev/fuse and %s)\n", FUSE_FILES_PATH);
#else
	fprintf(stderr, "pty: skipped (fuse-files was not built: libfuse3 missing)\n");
#endif
	return s;
}

int
main(void)
{
	return harness_main(loop_suite());
}
