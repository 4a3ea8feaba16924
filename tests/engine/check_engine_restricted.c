/* SPDX-License-Identifier: MIT */
/*
 * Both spawn engines where the daemon cannot do what it normally does,
 * with the real daemon and real clients:
 *  - clone(CLONE_VM) refused (tests/helpers/no-vfork: a
 *    seccomp filter as in a container profile, with EPERM or ENOSYS, or
 *    EINVAL as qemu-user gives): every spawn still works, through fork,
 *    and the daemon says so in its log exactly once;
 *  - the daemon not root (uid 65534 with nobody's groups, on the harness's
 *    socket in a temp dir, as a user-level daemon runs): a spawn as its
 *    own user works, with its own ids and groups; a spawn as anyone else
 *    fails at SETGROUPS with EPERM, as its start-up warning says.
 *
 * The daemon is the integration tests' (tests/integration/harness.c) with
 * a policy of its own; the engine comes from SPAWND_IT_ENGINE (fork or
 * vfork; ctest runs both, fork when unset). Skipped (77) unless root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_env.h"
#include "harness.h"

#ifndef NO_VFORK_PATH
#error "NO_VFORK_PATH must be defined by the build"
#endif

#define NOBODY 65534
#define FALLBACK_LINE "clone(CLONE_VM) is not allowed here"
#define SPAWNS 5

static bool
engine_is_vfork(void)
{
	return strcmp(getenv("SPAWND_IT_ENGINE"), "vfork") == 0;
}

/* Lines of the daemon's log that contain needle. */
static int
log_count(const char *needle)
{
	struct report log = {0};
	size_t pos = 0;
	const char *line;
	int n = 0;

	ck_assert_int_eq(report_read_file(fx.log, &log), 0);
	while ((line = report_next(&log, &pos)))
		n += strstr(line, needle) != NULL;
	report_done(&log);
	return n;
}

/* Spawn the probe as user with its stdout captured; it must run and exit 0. */
static void
probe_as(spawnd_client *c, const char *user, struct run *r)
{
	const char *argv[] = {fx.probe, NULL};
	spawnd_options *o = opts_new(user, argv);

	run_spawn(c, o, true, r);
	spawnd_options_free(o);
	ASSERT_EXITED(r, 0);
}

/*
 * _i: the errno of the refusal. The vfork engine gets it from its first
 * clone, logs it once and forks from then on; the fork engine never
 * clones with CLONE_VM and has nothing to say.
 */
START_TEST(test_clone_refused_falls_back_to_fork)
{
	static const char *const errs[] = {"EPERM", "ENOSYS", "EINVAL"};
	const char *const wrapper[] = {NO_VFORK_PATH, errs[_i], NULL};
	const struct fx_daemon d = {.wrapper = wrapper};
	spawnd_client *c;
	struct run r;

	fx_start_with(NULL, &d);
	c = client_open();
	for (int i = 0; i < SPAWNS; i++) {
		probe_as(c, "nobody", &r);
		ASSERT_STREQ_REPORT(&r.out, "uid", "65534");
		run_done(&r);
	}
	/* A client on a new connection too. */
	assert_daemon_serves();
	spawnd_client_close(c);
	fx_stop();
	ck_assert_int_eq(log_count(FALLBACK_LINE), engine_is_vfork() ? 1 : 0);
}
END_TEST

/*
 * A daemon that is not root serves spawns as itself: the child gets the
 * daemon's uid, gid and groups without a single set*id call. Anything
 * else needs root and fails at the first credential step.
 */
START_TEST(test_non_root_daemon_serves_its_own_user)
{
	const struct fx_daemon d = {.as_user = true, .uid = NOBODY, .gid = NOBODY};
	struct user_ids nobody;
	spawnd_client *c;
	struct run r;
	char groups[1024];

	/* The client is root (the test); the policy decides, the daemon's uid limits. */
	lookup_user("nobody", &nobody);
	ck_assert_int_eq(nobody.uid, NOBODY);
	ck_assert_int_eq(nobody.gid, NOBODY);
	fx_start_with("permit root\n", &d);
	ck_assert_int_ge(log_count("Not running as root"), 1);
	c = client_open();
	for (int i = 0; i < SPAWNS; i++) {
		probe_as(c, "nobody", &r);
		ASSERT_STREQ_REPORT(&r.out, "uid", "65534");
		ASSERT_STREQ_REPORT(&r.out, "euid", "65534");
		ASSERT_STREQ_REPORT(&r.out, "gid", "65534");
		ASSERT_STREQ_REPORT(&r.out, "egid", "65534");
		/* Those the daemon got, as initgroups would give them: nobody's. */
		numlist_normalize(report_need(&r.out, "groups"), groups, sizeof(groups));
		ck_assert_str_eq(groups, nobody.groups);
		run_done(&r);
	}

	/* Another user is beyond a daemon that is not root. */
	{
		const char *argv[] = {"/bin/true", NULL};
		spawnd_options *o = opts_new("root", argv);

		run_spawn(c, o, false, &r);
		spawnd_options_free(o);
		ASSERT_FAILED(&r, SPAWND_STAGE_SETGROUPS, EPERM);
		run_done(&r);
	}
	spawnd_client_close(c);
	fx_stop();
}
END_TEST

static Suite *
restricted_suite(void)
{
	Suite *s = suite_create("engine-restricted");
	TCase *tc = tcase_create("restricted");

	tcase_set_timeout(tc, 120);
	/* Each test starts its own daemon; the teardown stops it and removes its dir. */
	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_add_loop_test(tc, test_clone_refused_falls_back_to_fork, 0, 3);
	tcase_add_test(tc, test_non_root_daemon_serves_its_own_user);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	int r = engine_env_check();

	if (r >= 0)
		return r;
	return harness_main(restricted_suite());
}
