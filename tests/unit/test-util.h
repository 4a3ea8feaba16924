/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the unit tests. Asserts print strerror() of a
 * -errno result, so a failure says what went wrong rather than "r == -13".
 */
#ifndef SPAWND_TEST_UTIL_H
#define SPAWND_TEST_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
 * Run a suite with check's default fork mode (one process per test) and
 * map the outcome to an exit code: EXIT_FAILURE on any failure, else
 * `success_code` (EXIT_SUCCESS, or 77 when root-only cases were left out
 * so that ctest reports the skip).
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

#endif
