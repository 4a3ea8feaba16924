/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the unit tests. Asserts print strerror() of a
 * -errno result, so a failure says what went wrong rather than "r == -13".
 */
#ifndef SPAWND_TEST_UTIL_H
#define SPAWND_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

/* Evaluate expr once; fail unless it returned >= 0. Yields the result. */
#define ASSERT_OK(expr)                                                                            \
	({                                                                                         \
		int _r = (expr);                                                                   \
		ck_assert_msg(_r >= 0, "%s failed: %s (%d)", #expr, strerror(-_r), _r);            \
		_r;                                                                                \
	})

/* Evaluate expr once; fail unless it returned exactly err (a negative errno). */
#define ASSERT_ERROR(expr, err)                                                                    \
	({                                                                                         \
		int _r = (expr), _e = (err);                                                       \
		ck_assert_msg(_r == _e, "%s returned %d (%s), expected %d (%s)", #expr, _r,        \
			      _r < 0 ? strerror(-_r) : "success", _e, strerror(-_e));              \
	})

/*
 * Run a suite with check's default fork mode (one process per test, unless
 * CK_FORK=no) and map the outcome to an exit code: EXIT_FAILURE on any
 * failure, else `success_code`.
 */
static inline int
test_run_suite(Suite *s, int success_code)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : success_code;
}

/*
 * main() of a unit test with root-only cases, which form a suite of their
 * own so that ctest reports a skip only for what did not run:
 *   check_foo        the cases anyone can run; exits 0 or 1
 *   check_foo root   the root-only cases; exits 77 (skipped) unless root
 * tests/unit/CMakeLists.txt registers both (UNIT_ROOT_PARTS). The root cases
 * always run one process per test, whatever CK_FORK says: they change
 * process-wide state (a private mount namespace, chowned files).
 */
static inline int
test_main_split(int argc, char **argv, Suite *(*user_suite)(void), Suite *(*root_suite)(void))
{
	SRunner *sr;
	int failed;

	if (argc == 1)
		return test_run_suite(user_suite(), EXIT_SUCCESS);
	if (argc != 2 || strcmp(argv[1], "root") != 0) {
		fprintf(stderr, "usage: %s [root]\n", argv[0]);
		return EXIT_FAILURE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "%s: not root, the root-only cases are skipped\n", argv[0]);
		return 77;
	}
	sr = srunner_create(root_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
