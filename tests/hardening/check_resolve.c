/* SPDX-License-Identifier: MIT */
/*
 * What a Spawn must look up, and where (DESIGN.md 3.5 and 5, issue 10 item
 * 4, HOSTILE.md 44), against the real spawnd:
 *
 *  - nss: NSS runs on resolver threads, never in the loop. The test's own
 *    private mount namespace (shared by the daemon it starts) gets
 *    /etc/passwd, /etc/group and an nsswitch.conf ("files") bind-mounted
 *    from tests/helpers/fuse-files, which serves copies of them until
 *    SIGUSR1 freezes it: from then on every open() of them waits, as a
 *    lookup does when sssd or an LDAP server stops answering. While a
 *    client's lookups hang, other clients' Signal requests are still
 *    answered; the stuck spawns get
 *    Failed{PREPARE, ETIMEDOUT} at the deadline (--lookup-timeout) and
 *    their fds go; a client that leaves while its lookup hangs gets its
 *    fds closed at once; one uid's hanging lookups are capped
 *    (SPAWND_MAX_LOOKUPS_PER_UID), stuck threads included; the daemon
 *    still stops cleanly on SIGTERM.
 *  - path: a client that a `cmd` rule names has its command's canonical
 *    path resolved on a resolver thread too; on a FUSE mount that never
 *    answers (tests/helpers/fuse-hang) that spawn times out, and nothing
 *    else waits.
 *  - spellings: `deny ... cmd /bin/sh` denies the program, whatever the
 *    spelling (sh, /bin//sh, /bin/./sh, /usr/bin/sh, dash, a client's own
 *    link); a permit matches the program under its own name; the child
 *    execs the canonical path the policy judged, with the client's argv[0];
 *    and a client learns nothing about directories it cannot search.
 *
 * On the daemon of commit 7c878d2 the nss test freezes with the loop (no
 * reply at all), the path test gets no timeout, and the spellings run.
 * Skipped (77) without root, /dev/fuse or the FUSE helpers.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawclient.h"

#if defined(FUSE_FILES_PATH) && defined(FUSE_HANG_PATH)

/* The deadline the daemon gets (--lookup-timeout) in the nss and path tests. */
#define LOOKUP_TIMEOUT_SEC 4
/* How long a reply that nothing should delay may take (a loaded CI machine). */
#define PROMPT_MS 2000

/* www-data: a client uid with no special standing. */
#define CLIENT_UID 33
#define CLIENT_GID 33

static pid_t fuse_pid;
static char fuse_log[PATH_MAX];

/* ---- a private mount namespace with NSS on fuse-files ---- */

/* From here on, mounts are this test process's (and its children's) only. */
static void
private_mounts(void)
{
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
	ck_assert_msg(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
		      "making / private: %s", strerror(errno));
}

/* Start fuse-files on mnt serving passwd, group and a files-only nsswitch.conf. */
static pid_t
start_account_files(const char *mnt)
{
	char nss[PATH_MAX], nss_arg[PATH_MAX + 32];
	const char *const files[] = {"passwd=/etc/passwd", "group=/etc/group", nss_arg, NULL};

	xsnprintf(nss, sizeof(nss), "%s.nsswitch", mnt);
	xsnprintf(nss_arg, sizeof(nss_arg), "nsswitch.conf=%s", nss);
	xsnprintf(fuse_log, sizeof(fuse_log), "%s.log", mnt);
	write_file(nss, "passwd: files\ngroup: files\nshadow: files\n", 0644);
	return fuse_files_start(FUSE_FILES_PATH, mnt, fuse_log, files);
}

static void
bind_over(const char *mnt, const char *name, const char *target)
{
	char src[PATH_MAX];

	xsnprintf(src, sizeof(src), "%s/%s", mnt, name);
	ck_assert_msg(mount(src, target, NULL, MS_BIND, NULL) == 0, "bind %s over %s: %s", src,
		      target, strerror(errno));
}

static int
log_lines(const char *path, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	(void)fclose(f);
	return n;
}

/* Wait until the log has at least n lines with needle; fails the test otherwise. */
static void
wait_log_lines(const char *path, const char *needle, int n, unsigned timeout_ms)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	while (log_lines(path, needle) < n) {
		ck_assert_msg(now_usec() < end, "%s: %d of %d lines '%s' after %u ms", path,
			      log_lines(path, needle), n, needle, timeout_ms);
		harness_sleep_ms(20);
	}
}

static void
nss_teardown(void)
{
	/* Before the server goes: /etc then shows the real files again. */
	(void)umount2("/etc/passwd", MNT_DETACH);
	(void)umount2("/etc/group", MNT_DETACH);
	(void)umount2("/etc/nsswitch.conf", MNT_DETACH);
	if (fuse_pid > 0) {
		(void)kill(fuse_pid, SIGTERM);
		if (wait_pid_deadline(fuse_pid, 10000) == -1) {
			(void)kill(fuse_pid, SIGKILL);
			(void)waitpid(fuse_pid, NULL, 0);
		}
		fuse_pid = 0;
	}
	fx_teardown();
}

/* ---- small raw-protocol helpers (test process) ---- */

/* Spawn /bin/true as target on sock: Started and Exited{0}, each within PROMPT_MS. */
static void
expect_true_runs(int sock, uint64_t id, const char *target, const char *what)
{
	const char *argv[] = {"/bin/true", NULL};
	struct msg *m = msg_spawn(id, target, argv);
	Spawnd__V1__Reply *r;

	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	r = ck_reply(sock, PROMPT_MS, what);
	ck_assert_msg(r->id == id && r->body_case == SPAWND__V1__REPLY__BODY_STARTED,
		      "%s: expected Started, got body %d (%s)", what, (int)r->body_case,
		      r->body_case == SPAWND__V1__REPLY__BODY_FAILED ? r->failed->detail : "");
	wire_reply_free(r);
	r = ck_reply(sock, PROMPT_MS * 5, what);
	ck_assert_msg(r->id == id && r->body_case == SPAWND__V1__REPLY__BODY_EXITED &&
			      r->exited->has_exit_code && r->exited->exit_code == 0,
		      "%s: expected Exited{0}, got body %d", what, (int)r->body_case);
	wire_reply_free(r);
}

/* A Signal for a spawn id never used: Failed{SIGNAL, ESRCH} within PROMPT_MS. */
static void
expect_signal_answered(int sock, uint64_t id, const char *what)
{
	struct msg *m = msg_signal(id, 424242, SIGTERM, false);
	Spawnd__V1__Reply *r;

	ck_send_msg(sock, m, NULL, 0);
	msg_free(m);
	r = ck_reply(sock, PROMPT_MS, what);
	ck_assert_msg(r->id == id && r->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      r->failed->stage == SPAWND__V1__STAGE__STAGE_SIGNAL &&
			      r->failed->errnum == ESRCH,
		      "%s: expected Failed{SIGNAL, ESRCH}, got body %d", what, (int)r->body_case);
	wire_reply_free(r);
}

/* Send a Spawn of /bin/true as target with w's write end as the child's stdout. */
static void
send_with_witness(int sock, uint64_t id, const char *target, struct witness *w)
{
	const char *argv[] = {"/bin/true", NULL};
	struct msg *m = msg_spawn(id, target, argv);

	witness_open(w);
	msg_map(m, 0, 1);
	ck_send_msg(sock, m, &w->wr, 1);
	msg_free(m);
	(void)close(w->wr);
	w->wr = -1;
}

/* The witness's read end sees EOF within timeout_ms: every copy was closed. */
static bool
witness_closed_within(struct witness *w, unsigned timeout_ms)
{
	struct pollfd p = {.fd = w->rd, .events = POLLIN};
	char c;
	int k;

	do
		k = poll(&p, 1, (int)timeout_ms);
	while (k < 0 && errno == EINTR);
	return k == 1 && read(w->rd, &c, 1) == 0;
}

/* ---- the client whose lookups hang (uid CLIENT_UID, forked) ---- */

#define STUCK ((int)SPAWND_MAX_LOOKUPS_PER_UID)

/* One reply within timeout_ms as "stage,errno,detail" (or "none"/"exited"...). */
static void
report_reply(int ctl, const char *key, int sock, unsigned timeout_ms)
{
	Spawnd__V1__Reply *r = NULL;
	int k = rc_recv(sock, &r, NULL, timeout_ms);

	if (k != 1)
		rc_report(ctl, "%s=none %s", key, k == 0 ? "EOF" : strerror(-k));
	else if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED)
		rc_report(ctl, "%s=%d,%u,%s", key, (int)r->failed->stage, r->failed->errnum,
			  r->failed->detail);
	else
		rc_report(ctl, "%s=body%d", key, (int)r->body_case);
	if (k == 1)
		wire_reply_free(r);
}

static int
send_spawn_fd(int sock, uint64_t id, const char *target, int fd)
{
	const char *argv[] = {"/bin/true", NULL};
	struct msg *m = msg_spawn(id, target, argv);
	uint8_t *buf;
	size_t len;
	int r;

	if (fd >= 0)
		msg_map(m, 0, 1);
	buf = msg_pack(m, &len);
	r = rc_send(sock, buf, len, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
	free(buf);
	msg_free(m);
	return r;
}

/*
 * STUCK connections, each with a Spawn as "daemon" (not cached: its lookup
 * hangs) whose stdout is a pipe of ours; then, on go, one more (over the
 * cap); on go, every reply and whether our pipes saw EOF; then one more.
 */
static int
stuck_client(void *arg, int ctl)
{
	int socks[STUCK], rd[STUCK], extra;

	(void)arg;
	for (int i = 0; i < STUCK; i++) {
		int p[2];

		socks[i] = rc_connect(fx.sock);
		if (socks[i] < 0 || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0 ||
		    send_spawn_fd(socks[i], (uint64_t)i + 1, "daemon", p[1]) < 0) {
			rc_report(ctl, "error=sending spawn %d", i);
			return 1;
		}
		(void)close(p[1]);
		rd[i] = p[0];
	}
	rc_report(ctl, "sent");

	(void)rc_wait_go(ctl);
	extra = rc_connect(fx.sock);
	if (extra < 0 || send_spawn_fd(extra, 100, "daemon", -1) < 0)
		rc_report(ctl, "error=sending the extra spawn");
	report_reply(ctl, "extra", extra, PROMPT_MS);

	(void)rc_wait_go(ctl);
	for (int i = 0; i < STUCK; i++) {
		struct pollfd p = {.fd = rd[i], .events = POLLIN};
		char c;

		report_reply(ctl, "reply", socks[i], (LOOKUP_TIMEOUT_SEC + 10) * 1000);
		rc_report(ctl, "closed=%d", poll(&p, 1, PROMPT_MS) == 1 && read(rd[i], &c, 1) == 0);
	}
	/* The threads are still stuck in NSS: they still count. */
	if (send_spawn_fd(extra, 101, "daemon", -1) < 0)
		rc_report(ctl, "error=sending the last spawn");
	report_reply(ctl, "again", extra, PROMPT_MS);
	return 0;
}

static void
expect_line(int ctl, const char *want, const char *what)
{
	char line[512];

	ck_client_line(ctl, line, sizeof(line), (LOOKUP_TIMEOUT_SEC + 15) * 1000, what);
	ck_assert_msg(strcmp(line, want) == 0, "%s: got '%s', want '%s'", what, line, want);
}

START_TEST(test_nss_hangs_loop_serves)
{
	static const char policy[] = "permit root\n"
				     "permit www-data as nobody cmd /bin/true\n";
	const char *args[] = {"--lookup-timeout", "4", NULL};
	char mnt[PATH_MAX], want[256];
	struct witness gone;
	int b, e, ctl, threads;
	pid_t client;

	private_mounts();
	fx_start_args(policy, args);
	xsnprintf(mnt, sizeof(mnt), "%s/nss", fx.dir);
	fuse_pid = start_account_files(mnt);
	bind_over(mnt, "passwd", "/etc/passwd");
	bind_over(mnt, "group", "/etc/group");
	bind_over(mnt, "nsswitch.conf", "/etc/nsswitch.conf");

	/* Served while NSS answers: by name and by number. */
	b = ck_connect();
	expect_true_runs(b, 1, "nobody", "as nobody");
	expect_true_runs(b, 2, "65534", "as 65534");

	/* NSS stops answering: every open of passwd or group hangs from now on. */
	ck_assert_int_eq(kill(fuse_pid, SIGUSR1), 0);
	wait_log_lines(fuse_log, "fuse-files: frozen", 1, 5000);

	/* A client fills its share of lookups; each holds a resolver thread in open(). */
	client = fork_client(CLIENT_UID, CLIENT_GID, stuck_client, NULL, &ctl);
	expect_line(ctl, "sent", "stuck client");

	/*
	 * Meanwhile the loop serves everyone else: a Signal. The loop read the
	 * stuck client's requests, which came first, no later than the iteration
	 * that answers this Signal. (A spawn needs NSS: there is no account cache.)
	 */
	expect_signal_answered(b, 3, "Signal while lookups hang");

	/* The stuck client is over its share now, and told so at once. */
	ck_client_go(ctl, 'g');
	xsnprintf(want, sizeof(want),
		  "extra=%d,%d,too many user lookups in progress for this client",
		  (int)SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN);
	expect_line(ctl, want, "over the lookup cap");

	/* A client that leaves while its lookup hangs gets its fds closed, without the deadline. */
	e = ck_connect();
	send_with_witness(e, 1, "bin", &gone);
	expect_signal_answered(b, 6, "Signal after a lookup that will hang");
	(void)close(e);
	ck_assert_msg(witness_closed_within(&gone, PROMPT_MS),
		      "the fds of a client that left while its lookup hung are still open");
	(void)close(gone.rd);

	/* The deadline: Failed{PREPARE, ETIMEDOUT} for each, and their fds are gone. */
	ck_client_go(ctl, 'g');
	xsnprintf(want, sizeof(want), "reply=%d,%d,user lookup timed out after %d s",
		  (int)SPAWND__V1__STAGE__STAGE_PREPARE, ETIMEDOUT, LOOKUP_TIMEOUT_SEC);
	for (int i = 0; i < STUCK; i++) {
		expect_line(ctl, want, "a stuck spawn at its deadline");
		expect_line(ctl, "closed=1", "the fds of a timed-out spawn");
	}
	/* Its threads are still stuck in open(): they still count against it. */
	xsnprintf(want, sizeof(want),
		  "again=%d,%d,too many user lookups in progress for this client",
		  (int)SPAWND__V1__STAGE__STAGE_LIMIT, EAGAIN);
	expect_line(ctl, want, "still over the cap after the deadline");
	ck_client_done(client, ctl, "stuck client");

	/* Stuck threads are bounded: the client's share, the one that left, a few idle. */
	threads = proc_threads_named(fx.pid, RESOLVER_THREAD_NAME);
	ck_assert_msg(threads >= STUCK + 1 && threads <= STUCK + 1 + 4,
		      "%d resolver threads with %d lookups stuck", threads, STUCK + 1);
	expect_signal_answered(b, 7, "Signal after the deadline");
	(void)close(b);

	/* SIGTERM while lookups hang: a clean exit 0 (fx_stop() asserts it). */
	fx_stop();
}
END_TEST

/* ---- a command path on a FUSE mount that never answers ---- */

START_TEST(test_command_path_hangs)
{
	/* root has a `cmd` rule, so its commands are resolved (policy_wants_canonical()). */
	static const char policy[] = "permit root\n"
				     "deny root as nobody cmd /bin/sh\n";
	const char *args[] = {"--lookup-timeout", "4", NULL};
	char mnt[PATH_MAX], prog[PATH_MAX], want[128];
	Spawnd__V1__Reply *r;
	struct witness w;
	struct msg *m;
	uint64_t t0;
	int a, b;
	pid_t hang;

	fx_start_args(policy, args);
	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(prog, sizeof(prog), "%s/prog", mnt);
	hang = fuse_hang_start(FUSE_HANG_PATH, mnt, NULL);

	a = ck_connect();
	witness_open(&w);
	m = msg_spawn(1, "nobody", (const char *const[]){prog, NULL});
	msg_map(m, 0, 1);
	ck_send_msg(a, m, &w.wr, 1);
	msg_free(m);
	(void)close(w.wr);
	w.wr = -1;
	t0 = now_usec();

	/* Another client is served at once, and so is a Signal. */
	b = ck_connect();
	expect_true_runs(b, 1, "nobody", "spawn while a command path hangs");
	expect_signal_answered(b, 2, "Signal while a command path hangs");
	ck_expect_silence(a, 500, "the spawn whose path hangs");

	/* At the deadline: Failed{PREPARE, ETIMEDOUT}, and the fds are closed. */
	r = ck_reply(a, (LOOKUP_TIMEOUT_SEC + 10) * 1000, "the spawn whose path hangs");
	xsnprintf(want, sizeof(want), "command path lookup timed out after %d s",
		  LOOKUP_TIMEOUT_SEC);
	ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      r->failed->stage == SPAWND__V1__STAGE__STAGE_PREPARE &&
			      r->failed->errnum == ETIMEDOUT &&
			      strcmp(r->failed->detail, want) == 0,
		      "expected Failed{PREPARE, ETIMEDOUT, '%s'}, got body %d '%s'", want,
		      (int)r->body_case,
		      r->body_case == SPAWND__V1__REPLY__BODY_FAILED ? r->failed->detail : "");
	wire_reply_free(r);
	ck_assert_msg(now_usec() - t0 >= (LOOKUP_TIMEOUT_SEC - 1) * USEC_PER_SEC,
		      "the timeout came before the deadline");
	witness_assert_closed(&w, "the fds of the timed-out spawn");
	(void)close(a);
	(void)close(b);

	fuse_hang_stop(hang);
	(void)umount2(mnt, MNT_DETACH);
	assert_daemon_serves();
}
END_TEST

/*
 * While a Spawn waits for its lookups, its fds are not in the daemon's fd
 * table: a child started meanwhile for another client would inherit them
 * and close them during its setup, and the close of a FUSE file whose
 * server never answers FLUSH would hang that other client's child.
 */
START_TEST(test_pending_fds_not_inherited)
{
	static const char policy[] = "permit root\n"
				     "deny root as nobody cmd /bin/sh\n";
	const char *args[] = {"--lookup-timeout", "4", NULL};
	char mnt[PATH_MAX], prog[PATH_MAX], flush_mnt[PATH_MAX], flush_log[PATH_MAX];
	char file[PATH_MAX];
	Spawnd__V1__Reply *r;
	struct msg *m;
	int a, b, f;
	pid_t hang, flush;

	fx_start_args(policy, args);
	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(prog, sizeof(prog), "%s/prog", mnt);
	xsnprintf(flush_mnt, sizeof(flush_mnt), "%s/flush", fx.dir);
	xsnprintf(flush_log, sizeof(flush_log), "%s/fuse-flush.log", fx.dir);
	xsnprintf(file, sizeof(file), "%s/f", flush_mnt);
	hang = fuse_hang_start(FUSE_HANG_PATH, mnt, NULL);
	flush = fuse_hang_start_mode(FUSE_HANG_PATH, "--flush", flush_mnt, flush_log);
	/* Never closed by us while the server hangs: our own close would wait too. */
	f = open(file, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(f >= 0, "open %s: %s", file, strerror(errno));

	/* A Spawn whose command path hangs, carrying the FUSE file as fd 3. */
	a = ck_connect();
	m = msg_spawn(1, "nobody", (const char *const[]){prog, NULL});
	msg_map(m, 0, 3);
	ck_send_msg(a, m, &f, 1);
	msg_free(m);
	ck_expect_silence(a, 300, "the spawn whose path hangs");

	/* Meanwhile another client's child starts, execs and exits. */
	b = ck_connect();
	expect_true_runs(b, 1, "nobody", "a spawn while another request's FUSE fd waits");
	expect_true_runs(b, 2, "root", "a second spawn while another request's FUSE fd waits");

	r = ck_reply(a, (LOOKUP_TIMEOUT_SEC + 10) * 1000, "the spawn whose path hangs");
	ck_assert_msg(r->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      r->failed->errnum == ETIMEDOUT,
		      "expected Failed{PREPARE, ETIMEDOUT}, got body %d", (int)r->body_case);
	wire_reply_free(r);
	(void)close(a);
	(void)close(b);

	fuse_hang_stop(flush);
	fuse_hang_stop(hang);
	(void)close(f);
	(void)umount2(flush_mnt, MNT_DETACH);
	(void)umount2(mnt, MNT_DETACH);
	assert_daemon_serves();
}
END_TEST

/* ---- HOSTILE.md 44: the program, not the spelling ---- */

struct spelling {
	const char *target;
	const char *command;
	bool capture; /* stdout on a pipe; the child's report follows as "out.KEY=VALUE" lines */
};

/* Run each request as the client; report "r.I=failed STAGE ERRNO" or "r.I=exited CODE". */
static int
spellings_client(void *arg, int ctl)
{
	const struct spelling *s = arg;
	int sock = rc_connect(fx.sock);

	if (sock < 0) {
		rc_report(ctl, "error=connect");
		return 1;
	}
	for (int i = 0; s[i].target; i++) {
		const char *argv[] = {s[i].command, NULL};
		struct msg *m = msg_spawn((uint64_t)i + 1, s[i].target, argv);
		int p[2] = {-1, -1};
		uint8_t *buf;
		size_t len;
		bool done = false;

		if (s[i].capture) {
			if (pipe2(p, O_CLOEXEC) < 0)
				return 1;
			msg_map(m, 0, 1);
		}
		buf = msg_pack(m, &len);
		if (rc_send(sock, buf, len, s[i].capture ? &p[1] : NULL, s[i].capture) < 0) {
			rc_report(ctl, "error=send %d", i);
			return 1;
		}
		free(buf);
		msg_free(m);
		if (p[1] >= 0)
			(void)close(p[1]);
		while (!done) {
			Spawnd__V1__Reply *r = NULL;

			if (rc_recv(sock, &r, NULL, 20000) != 1) {
				rc_report(ctl, "r.%d=no reply", i);
				return 1;
			}
			if (r->body_case == SPAWND__V1__REPLY__BODY_FAILED) {
				rc_report(ctl, "r.%d=failed %d %u", i, (int)r->failed->stage,
					  r->failed->errnum);
				done = true;
			} else if (r->body_case == SPAWND__V1__REPLY__BODY_EXITED) {
				rc_report(ctl, "r.%d=exited %d", i,
					  r->exited->has_exit_code ? r->exited->exit_code : -1);
				done = true;
			}
			wire_reply_free(r);
		}
		if (p[0] >= 0) {
			char out[8192], *line, *save = NULL;
			size_t n = 0;
			ssize_t k;

			while (n < sizeof(out) - 1 &&
			       (k = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
				n += (size_t)k;
			out[n] = '\0';
			(void)close(p[0]);
			for (line = strtok_r(out, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save))
				if (strncmp(line, "argv.0=", 7) == 0 ||
				    strncmp(line, "execfn=", 7) == 0)
					rc_report(ctl, "out.%s", line);
		}
	}
	rc_report(ctl, "done");
	return 0;
}

START_TEST(test_deny_any_spelling)
{
	char policy[4096], links[PATH_MAX], secret[PATH_MAX], mysh[PATH_MAX], mytrue[PATH_MAX];
	char probe_dir[PATH_MAX], probe_link[PATH_MAX], hidden[PATH_MAX], absent[PATH_MAX];
	char line[PATH_MAX + 64], want[PATH_MAX + 64], probe_real[PATH_MAX];
	int ctl, n = 0;
	pid_t client;

	/*
	 * www-data may run anything as nobody, except /bin/sh (no sandbox:
	 * the daemon warns, and this test only proves that every spelling of
	 * that one program meets the deny); true as daemon; the probe as bin.
	 */
	fx_start("permit www-data as nobody\n"
		 "deny www-data as nobody cmd /bin/sh\n"
		 "permit www-data as daemon cmd /usr/bin/true\n");
	/* The probe lives in the fixture's directory, known only now. */
	xsnprintf(policy, sizeof(policy), "permit www-data as bin cmd %s", fx.probe);
	fx_append_policy(policy);
	ck_assert_ptr_nonnull(realpath(fx.probe, probe_real));

	/* Links a client could make: a directory of its own. */
	xsnprintf(links, sizeof(links), "%s/links", fx.dir);
	ck_assert_int_eq(mkdir(links, 0755), 0);
	xsnprintf(mysh, sizeof(mysh), "%s/mysh", links);
	ck_assert_int_eq(symlink("/bin/sh", mysh), 0);
	xsnprintf(mytrue, sizeof(mytrue), "%s/true", links);
	ck_assert_int_eq(symlink("/usr/bin/true", mytrue), 0);
	xsnprintf(probe_dir, sizeof(probe_dir), "%s/sub", links);
	ck_assert_int_eq(mkdir(probe_dir, 0755), 0);
	xsnprintf(probe_link, sizeof(probe_link), "%s/spawn-probe", probe_dir);
	ck_assert_int_eq(symlink(fx.probe, probe_link), 0);
	ck_assert_int_eq(lchown(links, CLIENT_UID, CLIENT_GID), 0);

	/* A root-only directory with a link to a permitted program in it. */
	xsnprintf(secret, sizeof(secret), "%s/secret", fx.dir);
	ck_assert_int_eq(mkdir(secret, 0700), 0);
	xsnprintf(hidden, sizeof(hidden), "%s/true", secret);
	ck_assert_int_eq(symlink("/usr/bin/true", hidden), 0);
	xsnprintf(absent, sizeof(absent), "%s/nothing", secret);

	{
		const struct spelling s[] = {
			/* 0-8: every spelling of /bin/sh is denied by line 2 */
			{"nobody", "/bin/sh", false},
			{"nobody", "/bin//sh", false},
			{"nobody", "/bin/./sh", false},
			{"nobody", "//bin/sh", false},
			{"nobody", "sh", false},
			{"nobody", "/usr/bin/sh", false},
			{"nobody", "dash", false},
			{"nobody", "/usr/bin/dash", false},
			{"nobody", mysh, false},
			/* 9: the broad permit still runs other programs */
			{"nobody", "/bin/true", false},
			/* 10-13: the permit for /usr/bin/true matches the program under its name */
			{"daemon", "/usr/bin/true", false},
			{"daemon", "/bin/true", false},
			{"daemon", "true", false},
			{"daemon", mytrue, false},
			/* 14-15: what the client cannot see is judged by its spelling: no
			 * permit, and the same answer as for a path that does not exist */
			{"daemon", hidden, false},
			{"daemon", absent, false},
			/* 16: the child execs the canonical path, argv[0] stays the client's */
			{"bin", probe_link, true},
			{NULL, NULL, false},
		};
		/* Which of them run: the others are denied (Failed{POLICY, EPERM}). */
		static const bool runs[] = {
			false, false, false, false, false, false, false, false, false,
			true,  true,  true,  true,  true,  false, false, true,
		};
		char denied[64];

		xsnprintf(denied, sizeof(denied), "failed %d %d",
			  (int)SPAWND__V1__STAGE__STAGE_POLICY, EPERM);
		client = fork_client(CLIENT_UID, CLIENT_GID, spellings_client, (void *)s, &ctl);
		for (int i = 0; s[i].target; i++) {
			xsnprintf(want, sizeof(want), "r.%d=%s", i, runs[i] ? "exited 0" : denied);
			ck_client_line(ctl, line, sizeof(line), 30000, "spellings");
			ck_assert_msg(strcmp(line, want) == 0, "%s as %s: got '%s', want '%s'",
				      s[i].command, s[i].target, line, want);
			n++;
		}
		ck_client_line(ctl, line, sizeof(line), 5000, "probe argv[0]");
		xsnprintf(want, sizeof(want), "out.argv.0=%s", probe_link);
		ck_assert_str_eq(line, want);
		ck_client_line(ctl, line, sizeof(line), 5000, "probe execfn");
		xsnprintf(want, sizeof(want), "out.execfn=%s", probe_real);
		ck_assert_str_eq(line, want);
		ck_client_line(ctl, line, sizeof(line), 5000, "spellings");
		ck_assert_str_eq(line, "done");
		ck_client_done(client, ctl, "spellings client");
	}
	ck_assert_int_eq(n, 17);
	/* The audit names the rule: the deny on line 2 decided the spellings. */
	ck_assert_int_ge(log_count("audit: deny"), 9);
}
END_TEST

static Suite *
resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("nss");

	tcase_add_checked_fixture(tc, NULL, nss_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_nss_hangs_loop_serves);
	suite_add_tcase(s, tc);

	tc = tcase_create("path");
	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_command_path_hangs);
	tcase_add_test(tc, test_pending_fds_not_inherited);
	suite_add_tcase(s, tc);

	tc = tcase_create("spellings");
	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_deny_any_spelling);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() == 0 && access(FUSE_FILES_PATH, X_OK) < 0)
		return 77;
	return harness_main_fuse(resolve_suite(), FUSE_HANG_PATH);
}

#else

int
main(void)
{
	fprintf(stderr, "skipped: the FUSE helpers were not built (libfuse3 missing)\n");
	return 77;
}

#endif
