/* SPDX-License-Identifier: MIT */
/*
 * Both spawn engines against children that hang before exec (DESIGN.md
 * section 3.5), with the real daemon, a real FUSE file system and real
 * clients of two uids.
 *
 * tests/helpers/fuse-hang reads every LOOKUP and never answers it. A child
 * whose cwd (or binary) lies in it sleeps in the kernel before exec, and
 * not even SIGKILL frees it until the FUSE server dies. With the vfork
 * engine each such child also shares the daemon's memory and runs on one
 * of the engine's stacks (a CLONE_VM child, started by the loop itself,
 * with no thread of its own). What must hold, for both engines:
 *  - one client (root) fills its whole live-children quota with stuck
 *    children; the daemon then refuses its next spawn (LIMIT, EAGAIN), so
 *    the stuck children cost it its quota and nothing more: no thread
 *    at all beyond the loop, with either engine;
 *  - meanwhile another client (nobody) is served: every one of its spawns
 *    starts and exits. A loop that waited for a stuck child would never
 *    answer; the per-spawn deadline (30 s) turns that into a failure.
 *    Nothing here measures speed (docs/benchmarks.md does);
 *  - once the FUSE server dies every stuck spawn ends in Failed (chdir or
 *    exec stage, the connection's errno), no child is left, the daemon's
 *    fd count is back to where it was, the quota is free again and the
 *    daemon still has its loop thread only;
 *  - SIGTERM while children are stuck: the daemon still exits 0 (its stop
 *    deadline), whatever its stuck children are waiting for;
 *  - a stuck child holds none of the daemon's fds (HOSTILE.md 47): a client
 *    that the daemon drops sees EOF at once, and once the daemon has
 *    stopped its socket refuses connections, though children still hang.
 *
 * That the scenario is real is checked, not assumed: the FUSE server must
 * hold an unanswered LOOKUP, every stuck child must still be the daemon's
 * image (not exec'd).
 *
 * The daemon is the integration tests' (tests/integration/harness.c) with
 * a policy of its own; like those suites, the engine comes from
 * SPAWND_IT_ENGINE (fork or vfork; ctest runs both, fork when unset).
 * Skipped (77) unless root, with /dev/fuse and the fuse-hang helper.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_env.h"
#include "harness.h"
#include "wire.h"

#ifdef FUSE_HANG_PATH

#define SPAWN_DEADLINE_USEC (30 * USEC_PER_SEC)
/*
 * How long the daemon may go without progress (another stuck child, another
 * reply) while it works through QUOTA requests. Not a bound on the whole:
 * 1024 forks of an ASan daemon on a busy 2-core machine can take minutes,
 * but a loop that blocked makes no progress at all.
 */
#define STALL_USEC (60 * USEC_PER_SEC)
/* A live child of root: the quota the stuck children fill. */
#define QUOTA ((int)SPAWND_MAX_CHILDREN_PER_UID)
/* Spawns of the other client while the first one's children hang. */
#define OTHER_SPAWNS 20

/* Root runs anything (its stuck program lies in the mount); nobody only /bin/true. */
static const char policy[] = "permit root\npermit nobody as nobody cmd /bin/true\n";

/* What the harness's fixture (fx) does not hold: the FUSE server. */
static struct {
	char mnt[PATH_MAX]; /* fx.dir/mnt, where the harness's cleanup looks for a mount */
	char log[PATH_MAX]; /* fuse-hang's stderr: one line per unanswered request */
	pid_t pid;
} fuse;

static bool
engine_is_vfork(void)
{
	return strcmp(getenv("SPAWND_IT_ENGINE"), "vfork") == 0;
}

/* SIGTERM the FUSE server: every request it holds fails, the mount is gone. */
static void
kill_fuse(void)
{
	if (fuse.pid <= 0)
		return;
	fuse_hang_stop(fuse.pid);
	fuse.pid = 0;
	(void)umount2(fuse.mnt, MNT_DETACH);
}

/* Reap orphans handed to us (we are their subreaper) until none is left. */
static int
reap_orphans(unsigned ms)
{
	uint64_t end = now_usec() + (uint64_t)ms * 1000;

	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r < 0 && errno == ECHILD)
			return 0;
		if (r <= 0) {
			if (now_usec() >= end)
				return -1;
			harness_sleep_ms(20);
		}
	}
}

static void
engine_setup(void)
{
	memset(&fuse, 0, sizeof(fuse));
	/* Orphans (children of a daemon that stopped) come to us to be reaped. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	fx_start(policy);
	xsnprintf(fuse.mnt, sizeof(fuse.mnt), "%s/mnt", fx.dir);
	xsnprintf(fuse.log, sizeof(fuse.log), "%s/fuse-hang.log", fx.dir);
	fuse.pid = fuse_hang_start(FUSE_HANG_PATH, fuse.mnt, fuse.log);
}

/*
 * After a passing test (a failing one exits without teardown: the daemon
 * and fuse-hang then get SIGTERM through PR_SET_PDEATHSIG and
 * harness_main() removes what is left).
 */
static void
engine_teardown(void)
{
	kill_fuse();
	fx_teardown(); /* the daemon must exit 0, if the test has not stopped it */
	(void)reap_orphans(10000);
}

/* ---- clients ---- */

/*
 * One synchronous spawn of /bin/true as user that must start and exit 0,
 * each step within the deadline. Returns 0 or a negative errno; no
 * ck_assert, so that it can run in run_as_user()'s process too.
 */
static int
spawn_true(spawnd_client *c, const char *user)
{
	const char *argv[] = {"/bin/true", NULL};
	spawnd_options *o = NULL;
	spawnd_result *res = NULL;
	uint64_t id;
	int r, code;

	r = spawnd_options_new(&o);
	if (r == 0)
		r = spawnd_options_set_argv(o, (char *const *)argv);
	if (r == 0)
		r = spawnd_options_set_user(o, user);
	if (r == 0)
		r = spawnd_spawn(c, o, SPAWN_DEADLINE_USEC, &res);
	spawnd_options_free(o);
	if (r < 0)
		return r;
	if (spawnd_result_get_state(res) != SPAWND_STATE_STARTED) {
		r = -spawnd_result_get_errno(res);
		spawnd_result_free(res);
		return r < 0 ? r : -EPROTO;
	}
	id = spawnd_result_get_id(res);
	spawnd_result_free(res);
	r = spawnd_wait(c, id, SPAWN_DEADLINE_USEC, &res);
	if (r < 0)
		return r;
	code = spawnd_result_get_exit_code(res);
	spawnd_result_free(res);
	return code == 0 ? 0 : -EPROTO;
}

/* run_as_user() body of other_client(): arg is the number of spawns. */
static int
other_client_run(void *arg, int out)
{
	const int n = *(const int *)arg;
	spawnd_client *c = NULL;
	int good = 0, r;

	r = spawnd_client_open(&c, fx.sock, 0);
	if (r < 0) {
		out_printf(out, "error=connect %s: %s\n", fx.sock, strerror(-r));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		r = spawn_true(c, "nobody");
		if (r < 0) {
			out_printf(out, "error=spawn %d: %s\n", i, strerror(-r));
			break;
		}
		/* A line per spawn: progress for run_as_user()'s read deadline. */
		out_printf(out, "spawned=%d\n", ++good);
	}
	spawnd_client_close(c);
	out_printf(out, "served=%d\n", good);
	return 0;
}

/*
 * Another client, of another uid (nobody): n spawns of /bin/true in a
 * process of its own. Returns how many started and exited 0, each within
 * SPAWN_DEADLINE_USEC.
 */
static int
other_client(int n)
{
	struct user_ids nobody;
	struct report out;
	int status, served;

	lookup_user("nobody", &nobody);
	status = run_as_user(nobody.uid, nobody.gid, other_client_run, &n, &out);
	if (status != 0 || !report_get(&out, "served"))
		report_dump(&out);
	ck_assert_msg(status == 0, "the other client ended with status %d", status);
	served = (int)report_num(&out, "served", 10);
	if (served != n)
		report_dump(&out);
	report_done(&out);
	return served;
}

/*
 * Pump c until none of the n replies is pending, or until none has come for
 * STALL_USEC.
 */
static void
pump_while_progress(spawnd_client *c, struct spawn_reply *p, int n)
{
	uint64_t last = now_usec();
	int best = n + 1;

	for (;;) {
		int pending = 0;

		for (int i = 0; i < n; i++)
			pending += p[i].state == SPAWND_STATE_PENDING;
		if (pending < best) {
			best = pending;
			last = now_usec();
		}
		if (pending == 0 || now_usec() - last >= STALL_USEC)
			return;
		spawn_reply_pump(c, p, (size_t)n, 1000);
	}
}

/*
 * Let `stuck` spawns of c hang in the FUSE mount: stuck - 1 with their cwd
 * in it (as nobody), one with its binary in it (as root). Returns once
 * the FUSE server holds an unanswered LOOKUP and the daemon has that many
 * children that have not exec'd; fails when their number stops growing
 * short of that for STALL_USEC.
 */
static struct spawn_reply *
make_stuck(spawnd_client *c, int stuck)
{
	struct spawn_reply *p = calloc((size_t)stuck, sizeof(*p));
	uint64_t last;
	int pre_exec = 0, best = -1, unanswered = 0;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < stuck; i++) {
		char path[PATH_MAX];
		spawnd_options *o;

		if (i == 0) {
			const char *argv[] = {path, NULL};

			xsnprintf(path, sizeof(path), "%s/prog", fuse.mnt);
			o = opts_new("root", argv);
		} else {
			const char *argv[] = {"/bin/true", NULL};

			xsnprintf(path, sizeof(path), "%s/x%d", fuse.mnt, i);
			o = opts_new("nobody", argv);
			ck_assert_int_eq(spawnd_options_set_cwd(o, path), 0);
		}
		ck_assert_int_eq(spawnd_spawn_async(c, o, spawn_reply_cb, &p[i], NULL), 0);
		spawnd_options_free(o);
		/* Keep the send queue short and read what comes back. */
		(void)spawnd_client_process(c);
	}

	last = now_usec();
	for (;;) {
		(void)spawnd_client_wait(c, 50000);
		unanswered = fuse_hang_unanswered(fuse.log);
		pre_exec = proc_children_pre_exec(fx.pid, SPAWND_PATH);
		if (unanswered >= 1 && pre_exec >= stuck)
			break;
		if (pre_exec > best) {
			best = pre_exec;
			last = now_usec();
		} else if (now_usec() - last >= STALL_USEC)
			break;
	}
	/*
	 * The first child's LOOKUP sits unanswered in fuse-hang; the others
	 * wait behind it for the mount root's directory lock (FUSE without
	 * parallel dirops serialises lookups in a directory), just as stuck.
	 */
	ck_assert_msg(unanswered >= 1 && pre_exec == stuck,
		      "expected %d stuck children: fuse-hang holds %d requests, the daemon has %d "
		      "children before exec",
		      stuck, unanswered, pre_exec);
	for (int i = 0; i < stuck; i++)
		ck_assert_msg(p[i].state == SPAWND_STATE_PENDING,
			      "stuck spawn %d got a reply (state %d) while its child cannot have "
			      "exec'd",
			      i, (int)p[i].state);
	return p;
}

START_TEST(test_stuck_children_cost_only_their_quota)
{
	const char *true_argv[] = {"/bin/true", NULL};
	const bool vfork = engine_is_vfork();
	struct spawn_reply *p, extra = {0};
	spawnd_client *hostile = client_open();
	spawnd_options *o;
	int fds_before, threads, threads_after, served;

	/*
	 * A first spawn, then the daemon's fd count once it stops changing: the
	 * Exited reply can overtake the daemon's close of that child's pidfd.
	 */
	ck_assert_int_eq(spawn_true(hostile, "root"), 0);
	fds_before = proc_settled_fd_count(fx.pid);

	/* Root fills its whole quota with children that cannot pass chdir/exec. */
	p = make_stuck(hostile, QUOTA);
	/* The resolver threads (NSS lookups, daemon/resolver.c) are not the engine's. */
	threads = proc_threads(fx.pid) - proc_threads_named(fx.pid, RESOLVER_THREAD_NAME);
	/* No thread waits for a stuck child, whichever the engine: the loop only. */
	ck_assert_msg(threads == 1, "%d threads with %d stuck children (%s engine)", threads, QUOTA,
		      vfork ? "vfork" : "fork");

	/* The quota is full: the next spawn of this client is refused, at once. */
	o = opts_new("root", true_argv);
	ck_assert_int_eq(spawnd_spawn_async(hostile, o, spawn_reply_cb, &extra, NULL), 0);
	spawnd_options_free(o);
	spawn_reply_pump(hostile, &extra, 1, 30000);
	ck_assert_msg(extra.state == SPAWND_STATE_FAILED && extra.stage == SPAWND_STAGE_LIMIT &&
			      extra.err == EAGAIN,
		      "over-quota spawn: state %d stage %s errno %d", (int)extra.state,
		      spawnd_stage_to_string(extra.stage), extra.err);

	/* Another client is served while all of that hangs. */
	served = other_client(OTHER_SPAWNS);
	ck_assert_int_eq(served, OTHER_SPAWNS);
	ck_assert_int_eq(proc_children_pre_exec(fx.pid, SPAWND_PATH), QUOTA);
	ck_assert_int_eq(proc_threads(fx.pid) - proc_threads_named(fx.pid, RESOLVER_THREAD_NAME),
			 1);

	/* The FUSE server dies: every stuck spawn fails, at its own stage. */
	kill_fuse();
	pump_while_progress(hostile, p, QUOTA);
	for (int i = 0; i < QUOTA; i++) {
		spawnd_stage want = i == 0 ? SPAWND_STAGE_EXEC : SPAWND_STAGE_CHDIR;

		ck_assert_msg(p[i].state == SPAWND_STATE_FAILED && p[i].stage == want &&
				      fuse_errno_is_dead(p[i].err),
			      "stuck spawn %d: state %d stage %s errno %d (%s)", i, (int)p[i].state,
			      spawnd_stage_to_string(p[i].stage), p[i].err, strerror(p[i].err));
	}
	free(p);

	/* Nothing left behind, and the quota is free again. */
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 10000), 0);
	ck_assert_int_eq(proc_wait_fd_count(fx.pid, fds_before, 10000), fds_before);
	threads = proc_threads(fx.pid) - proc_threads_named(fx.pid, RESOLVER_THREAD_NAME);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(spawn_true(hostile, "root"), 0);
	/* Neither engine has threads of its own. */
	threads_after = proc_threads(fx.pid) - proc_threads_named(fx.pid, RESOLVER_THREAD_NAME);
	ck_assert_msg(threads_after == threads && threads_after == 1,
		      "threads %d -> %d after 8 spawns", threads, threads_after);

	spawnd_client_close(hostile);
	/* The daemon waits up to its stop deadline (SPAWND_KILL_GRACE_SEC + 2 s). */
	fx_stop_within(30000);
}
END_TEST

/* SIGTERM while children hang: the daemon still exits 0. */
START_TEST(test_stop_while_stuck)
{
	spawnd_client *hostile = client_open();
	struct spawn_reply *p;

	p = make_stuck(hostile, 12);
	ck_assert_int_eq(other_client(3), 3);

	fx_stop_within(30000);
	/* The stuck children outlive the daemon (nothing can kill them) until FUSE dies. */
	kill_fuse();
	ck_assert_int_eq(reap_orphans(20000), 0);
	spawnd_client_close(hostile);
	free(p);
}
END_TEST

/*
 * Children of the daemon that have not exec'd (their image is still
 * spawnd): up to max pids into ret; returns how many.
 */
static int
pre_exec_children(pid_t *ret, int max)
{
	char real[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	ck_assert_ptr_nonnull(realpath(SPAWND_PATH, real));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && n < max) {
		char path[PATH_MAX], buf[512], image[PATH_MAX];
		const char *paren;
		long pid = strtol(de->d_name, NULL, 10);
		int ppid = 0, fd;
		ssize_t l;

		if (pid <= 0)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		l = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (l <= 0)
			continue;
		buf[l] = '\0';
		paren = strrchr(buf, ')');
		if (!paren || sscanf(paren + 1, " %*c %d", &ppid) != 1 || ppid != fx.pid)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%ld/exe", pid);
		l = readlink(path, image, sizeof(image) - 1);
		if (l <= 0)
			continue;
		image[l] = '\0';
		if (strcmp(image, real) == 0)
			ret[n++] = (pid_t)pid;
	}
	(void)closedir(d);
	return n;
}

/* A liveness bound, longer under the sanitizers' CK_TIMEOUT_MULTIPLIER. */
static unsigned
liveness_ms(unsigned ms)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");

	return m && atoi(m) > 1 ? ms * (unsigned)atoi(m) : ms;
}

/*
 * HOSTILE.md 47. Client B is connected (and served once) before client A's
 * children get stuck, one in execve (binary in the mount), one in chdir
 * (cwd in the mount), so the daemon's fd table holds B's connection when
 * they are made. Then:
 *  - each stuck child's fd table is exactly 0, 1, 2 (/dev/null here) and
 *    the errpipe at 3: nothing of the daemon's;
 *  - B sends garbage; the daemon answers Failed{PROTOCOL} and drops it,
 *    and B sees EOF within a second (a child still holding the daemon's end
 *    of B's connection would keep it open for as long as it hangs);
 *  - the daemon stops; its socket then refuses connections at once,
 *    although the children still hang (none holds the listening socket).
 */
START_TEST(test_stuck_child_holds_no_daemon_fd)
{
	static const char garbage[] = "\xff\xff\xff\xff\x0f not a protobuf message";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	spawnd_client *a = client_open(), *b = client_open();
	struct spawn_reply *p;
	pid_t stuck[4];
	int bfd, n, got = 0, eof = 0, s;
	uint64_t end;

	ck_assert_int_eq(spawn_true(b, "root"), 0);
	p = make_stuck(a, 2);
	n = pre_exec_children(stuck, 4);
	ck_assert_int_eq(n, 2);
	for (int i = 0; i < n; i++) {
		char **fds = NULL;
		int k = proc_fd_targets(stuck[i], &fds), nfd = 0;
		bool ok = true;

		ck_assert_int_ge(k, 0);
		for (char **f = fds; *f; f++) {
			int fd = atoi(*f);
			const char *t = strchr(*f, '=') + 1;

			nfd++;
			if (fd <= 2)
				ok = ok && strcmp(t, "/dev/null") == 0;
			else
				ok = ok && fd == 3 && strncmp(t, "pipe:[", 6) == 0;
		}
		if (!ok || nfd != 4)
			for (char **f = fds; *f; f++)
				fprintf(stderr, "stuck child %d: fd %s\n", (int)stuck[i], *f);
		ck_assert_msg(
			ok && nfd == 4,
			"stuck child %d holds %d fds, not just /dev/null as 0-2 and the errpipe",
			(int)stuck[i], nfd);
		strv_free(fds);
	}

	/* B is dropped: Failed{PROTOCOL}, then EOF, at once. */
	bfd = spawnd_client_get_fd(b);
	ck_assert_int_eq(send(bfd, garbage, sizeof(garbage), MSG_NOSIGNAL),
			 (ssize_t)sizeof(garbage));
	end = now_usec() + liveness_ms(1000) * 1000ull;
	while (!eof && now_usec() < end) {
		struct pollfd pfd = {.fd = bfd, .events = POLLIN};
		char buf[4096];
		ssize_t k;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		k = recv(bfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (k > 0)
			got++;
		else if (k == 0 || errno == ECONNRESET)
			eof = 1;
	}
	ck_assert_msg(got >= 1, "no Failed{PROTOCOL} before the drop");
	ck_assert_msg(eof,
		      "no EOF within %u ms of the daemon dropping the connection: a stuck "
		      "child holds the daemon's end",
		      liveness_ms(1000));
	spawnd_client_close(b);

	/* Nobody listens any more once the daemon is gone, stuck children or not. */
	fx_stop_within(30000);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	xsnprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
	ck_assert_msg(connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED,
		      "connect to the stopped daemon's socket: %s (a stuck child holds it)",
		      strerror(errno));
	(void)close(s);

	kill_fuse();
	ck_assert_int_eq(reap_orphans(20000), 0);
	spawnd_client_close(a);
	free(p);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("fuse");

	tcase_set_timeout(tc, 240);
	tcase_add_checked_fixture(tc, engine_setup, engine_teardown);
	tcase_add_test(tc, test_stuck_children_cost_only_their_quota);
	tcase_add_test(tc, test_stop_while_stuck);
	tcase_add_test(tc, test_stuck_child_holds_no_daemon_fd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* The thread counts asserted depend on the engine: name it, fork by default. */
	int r = engine_env_check();

	if (r >= 0)
		return r;
	return harness_main_fuse(engine_suite(), FUSE_HANG_PATH);
}

#else

int
main(void)
{
	fprintf(stderr, "skipped: fuse-hang was not built (libfuse3 missing)\n");
	return 77;
}

#endif
