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
 *
 * The policy gives root no `cmd` rule, so the daemon has no reason to
 * resolve the command's path (daemon/resolver.c) and the exec path is only
 * ever touched by the child: the hang is the child's. A client that a `cmd`
 * rule names gets its path resolved on a resolver thread instead, with a
 * deadline: tests/hardening/check_resolve.c.
 */
#define _GNU_SOURCE
#include <sys/mount.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#ifdef FUSE_HANG_PATH

static void
fuse_setup(void)
{
	fx_start("permit root\n");
}

START_TEST(test_hung_child_does_not_block_others)
{
	char mnt[PATH_MAX], cwd[PATH_MAX], prog[PATH_MAX];
	const char *true_argv[] = {"/bin/true", NULL};
	spawnd_client *stuck = client_open(), *other;
	struct spawn_reply by_cwd = {0}, by_exec = {0};
	spawnd_options *o;
	pid_t fuse;
	int zombies;

	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(cwd, sizeof(cwd), "%s/x", mnt);
	xsnprintf(prog, sizeof(prog), "%s/prog", mnt);
	fuse = fuse_hang_start(FUSE_HANG_PATH, mnt, NULL);

	/* A child stuck in chdir, and one stuck in execve (the daemon must not stat the path). */
	o = opts_new("nobody", true_argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, cwd), 0);
	ck_assert_int_eq(spawnd_spawn_async(stuck, o, spawn_reply_cb, &by_cwd, NULL), 0);
	spawnd_options_free(o);
	{
		const char *argv[] = {prog, NULL};

		o = opts_new("root", argv);
		ck_assert_int_eq(spawnd_spawn_async(stuck, o, spawn_reply_cb, &by_exec, NULL), 0);
		spawnd_options_free(o);
	}
	spawn_reply_pump(stuck, &by_cwd, 1, 500);
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
	fuse_hang_stop(fuse);
	spawn_reply_pump(stuck, &by_cwd, 1, 10000);
	spawn_reply_pump(stuck, &by_exec, 1, 10000);
	ck_assert_msg(by_cwd.state == SPAWND_STATE_FAILED && by_cwd.stage == SPAWND_STAGE_CHDIR &&
			      fuse_errno_is_dead(by_cwd.err),
		      "stuck chdir: state %d stage %s errno %d (%s)", (int)by_cwd.state,
		      spawnd_stage_to_string(by_cwd.stage), by_cwd.err, strerror(by_cwd.err));
	ck_assert_str_eq(by_cwd.detail, cwd);
	ck_assert_msg(by_exec.state == SPAWND_STATE_FAILED && by_exec.stage == SPAWND_STAGE_EXEC &&
			      fuse_errno_is_dead(by_exec.err),
		      "stuck exec: state %d stage %s errno %d (%s)", (int)by_exec.state,
		      spawnd_stage_to_string(by_exec.stage), by_exec.err, strerror(by_exec.err));
	ck_assert_str_eq(by_exec.detail, prog);

	(void)umount2(mnt, MNT_DETACH);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
	ck_assert_int_eq(proc_children(fx.pid, &zombies), 0);
	spawnd_client_close(stuck);
}
END_TEST

/*
 * HOSTILE 48 with the daemon's own time limit: a child stuck in chdir on
 * the hung mount outlives its 1 s limit (the SIGTERM waits, blocked; the
 * SIGKILL cannot free a FUSE request the server already read). When the
 * server dies the chdir returns and the pending SIGKILL ends the child
 * before it could exec: Failed{EXEC, ETIMEDOUT} naming the signal and the
 * time limit, never Started (before: Started, then Exited{SIGKILL,
 * timed_out}, although the program never ran).
 */
START_TEST(test_time_limit_before_exec)
{
	char mnt[PATH_MAX], cwd[PATH_MAX];
	const char *true_argv[] = {"/bin/true", NULL};
	spawnd_client *c = client_open();
	struct spawn_reply rep = {0};
	spawnd_options *o;
	pid_t fuse;

	xsnprintf(mnt, sizeof(mnt), "%s/mnt", fx.dir);
	xsnprintf(cwd, sizeof(cwd), "%s/x", mnt);
	fuse = fuse_hang_start(FUSE_HANG_PATH, mnt, NULL);

	o = opts_new("nobody", true_argv);
	ck_assert_int_eq(spawnd_options_set_cwd(o, cwd), 0);
	ck_assert_int_eq(spawnd_options_set_timeout(o, 1000000), 0);
	ck_assert_int_eq(spawnd_options_set_kill_grace(o, 0), 0);
	ck_assert_int_eq(spawnd_spawn_async(c, o, spawn_reply_cb, &rep, NULL), 0);
	spawnd_options_free(o);
	/* The limit fires after 1 s, SIGKILL right after it: the child stays stuck. */
	spawn_reply_pump(c, &rep, 1, 2500);
	ck_assert_msg(rep.state == SPAWND_STATE_PENDING, "a reply (state %d) while stuck",
		      (int)rep.state);

	fuse_hang_stop(fuse);
	spawn_reply_pump(c, &rep, 1, 10000);
	ck_assert_msg(rep.state == SPAWND_STATE_FAILED && rep.stage == SPAWND_STAGE_EXEC &&
			      rep.err == ETIMEDOUT,
		      "killed by the time limit before exec: state %d stage %s errno %d '%s'",
		      (int)rep.state, spawnd_stage_to_string(rep.stage), rep.err, rep.detail);
	ck_assert_str_eq(rep.detail, "/bin/true: killed by SIGKILL before exec (time limit)");
	(void)umount2(mnt, MNT_DETACH);
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
	spawnd_client_close(c);
}
END_TEST

static Suite *
fuse_suite(void)
{
	Suite *s = suite_create("fuse");
	TCase *tc = tcase_create("hang");

	tcase_add_checked_fixture(tc, fuse_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hung_child_does_not_block_others);
	tcase_add_test(tc, test_time_limit_before_exec);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main_fuse(fuse_suite(), FUSE_HANG_PATH);
}

#else

int
main(void)
{
	fprintf(stderr, "skipped: fuse-hang was not built (libfuse3 missing)\n");
	return 77;
}

#endif
