/* SPDX-License-Identifier: MIT */
/*
 * DESIGN.md section 3, item 5: the event loop never blocks on a child.
 *
 * tests/helpers/fuse-hang mounts a file system whose lookups are read and
 * never answered. A child whose cwd (or exec path) lies inside it sleeps in
 * the kernel before exec, and not even SIGKILL frees it until the FUSE
 * server dies. Meanwhile other clients must be served at full speed, and
 * the stuck request must end in Failed once the server is gone.
 *
 * Skipped (77) without /dev/fuse or without the fuse-hang helper (built
 * only when libfuse3 is installed).
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifdef FUSE_HANG_PATH

/* A spawn whose reply arrives through the callback. */
struct pending {
	spawnd_state state;
	spawnd_stage stage;
	int err;
	char detail[PATH_MAX];
};

static void
pending_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct pending *p = userdata;

	(void)c;
	p->state = spawnd_result_get_state(r);
	if (p->state == SPAWND_STATE_FAILED) {
		p->stage = spawnd_result_get_stage(r);
		p->err = spawnd_result_get_errno(r);
		xsnprintf(p->detail, sizeof(p->detail), "%s", spawnd_result_get_detail(r));
	}
}

/* Start fuse-hang on mnt and wait for its "ready" line. */
static pid_t
start_fuse_hang(const char *mnt)
{
	int out[2];
	pid_t pid;

	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* If the test dies, the server dies too and frees any stuck child. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || dup2(out[1], 1) < 0)
			_exit(126);
		execl(FUSE_HANG_PATH, "fuse-hang", mnt, (char *)NULL);
		_exit(127);
	}
	(void)close(out[1]);
	/* fuse-hang keeps stdout open: read only the first line. */
	{
		char buf[16] = {0};
		ssize_t n = 0;

		for (int i = 0; i < 500 && !strchr(buf, '\n'); i++) {
			ssize_t k = read(out[0], buf + n, sizeof(buf) - 1 - (size_t)n);

			if (k <= 0)
				break;
			n += k;
		}
		ck_assert_msg(strcmp(buf, "ready\n") == 0, "fuse-hang did not get ready ('%s')",
			      buf);
	}
	(void)close(out[0]);
	return pid;
}

/* Run the client's loop for up to ms, or until the pending request got its reply. */
static void
pump(spawnd_client *c, struct pending *p, unsigned ms)
{
	uint64_t end = now_usec() + (uint64_t)ms * 1000;

	while (p->state == SPAWND_STATE_PENDING) {
		uint64_t now = now_usec();
		int k;

		if (now >= end)
			break;
		k = spawnd_client_wait(c, end - now);

		ck_assert_msg(k >= 0 || k == -ETIMEDOUT || k == -EINTR, "spawnd_client_wait: %s",
			      strerror(-k));
	}
}

static bool
errno_is_dead_fuse(int e)
{
	return e == ECONNABORTED || e == ENOTCONN || e == EIO;
}

START_TEST(test_hung_child_does_not_block_others)
{
	char mnt[PATH_MAX], cwd[PATH_MAX], prog[PATH_MAX];
	const char *true_argv[] = {"/bin/true", NULL};
	spawnd_client *stuck = client_open(), *other;
	struct pending by_cwd = {0}, by_exec = {0};
	spawnd_options *o;
	pid_t fuse;
	int status, zombies;

	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(cwd, sizeof(cwd), "%s/x", mnt);
	xsnprintf(prog, sizeof(prog), "%s/prog", mnt);
	fuse = start_fuse_hang(mnt);

	/* A child stuck in chdir, and one stuck in execve (the daemon must not stat the path). */
	o = opts_new("nobody", true_argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, cwd), 0);
	ck_assert_int_eq(spawnd_spawn_async(stuck, o, pending_cb, &by_cwd, NULL), 0);
	spawnd_options_free(o);
	{
		const char *argv[] = {prog, NULL};

		o = opts_new("root", argv);
		ck_assert_int_eq(spawnd_spawn_async(stuck, o, pending_cb, &by_exec, NULL), 0);
		spawnd_options_free(o);
	}
	pump(stuck, &by_cwd, 500);
	ck_assert_msg(by_cwd.state == SPAWND_STATE_PENDING,
		      "a reply (state %d) arrived although the child cannot have passed chdir",
		      (int)by_cwd.state);
	ck_assert_int_eq(by_exec.state, SPAWND_STATE_PENDING);

	/*
	 * Another client, several spawns, each within 5 s. A loop blocked by
	 * the hung child would not answer at all until the FUSE server dies
	 * (below), so the bound only has to be generous enough for a loaded
	 * CI machine.
	 */
	other = client_open();
	for (int i = 0; i < 5; i++) {
		uint64_t t0 = now_usec();
		struct run r;

		o = opts_new("nobody", true_argv);
		run_spawn(other, o, true, &r);
		spawnd_options_free(o);
		ASSERT_EXITED(&r, 0);
		ck_assert_msg(now_usec() - t0 < 5 * USEC_PER_SEC,
			      "a spawn took %llu ms while another child hung",
			      (unsigned long long)((now_usec() - t0) / 1000));
		run_done(&r);
	}
	spawnd_client_close(other);
	ck_assert_int_eq(by_cwd.state, SPAWND_STATE_PENDING);

	/* The FUSE server dies: the stuck requests fail, nothing is left behind. */
	ck_assert_int_eq(kill(fuse, SIGTERM), 0);
	status = wait_pid_deadline(fuse, 10000);
	if (status == -1) {
		(void)kill(fuse, SIGKILL);
		(void)waitpid(fuse, NULL, 0);
	}
	pump(stuck, &by_cwd, 10000);
	pump(stuck, &by_exec, 10000);
	ck_assert_msg(by_cwd.state == SPAWND_STATE_FAILED && by_cwd.stage == SPAWND_STAGE_CHDIR &&
			      errno_is_dead_fuse(by_cwd.err),
		      "stuck chdir: state %d stage %s errno %d (%s)", (int)by_cwd.state,
		      spawnd_stage_to_string(by_cwd.stage), by_cwd.err, strerror(by_cwd.err));
	ck_assert_str_eq(by_cwd.detail, cwd);
	ck_assert_msg(by_exec.state == SPAWND_STATE_FAILED && by_exec.stage == SPAWND_STAGE_EXEC &&
			      errno_is_dead_fuse(by_exec.err),
		      "stuck exec: state %d stage %s errno %d (%s)", (int)by_exec.state,
		      spawnd_stage_to_string(by_exec.stage), by_exec.err, strerror(by_exec.err));
	ck_assert_str_eq(by_exec.detail, prog);

	(void)umount2(mnt, MNT_DETACH);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
	ck_assert_int_eq(proc_children(fx.pid, &zombies), 0);
	spawnd_client_close(stuck);
}
END_TEST

static Suite *
fuse_suite(void)
{
	Suite *s = suite_create("fuse");
	TCase *tc = tcase_create("hang");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hung_child_does_not_block_others);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (geteuid() != 0)
		return harness_main(fuse_suite()); /* reports the skip (77) for non-root */
	if (access("/dev/fuse", R_OK | W_OK) < 0 || access(FUSE_HANG_PATH, X_OK) < 0) {
		fprintf(stderr, "skipped: needs /dev/fuse and %s\n", FUSE_HANG_PATH);
		return 77;
	}
	return harness_main(fuse_suite());
}

#else

int
main(void)
{
	fprintf(stderr, "skipped: fuse-hang was not built (libfuse3 missing)\n");
	return 77;
}

#endif
