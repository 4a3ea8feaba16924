/* SPDX-License-Identifier: MIT */
/*
 * usage.c: every count the caps check. Each take has its release, the caps
 * hold per uid and in total, and a uid whose counts are all back to zero
 * leaves no trace (a later take starts from zero).
 */
#include <errno.h>
#include <stdlib.h>

#include <check.h>

#include "usage.h"
#include "wire.h"

static void
reset(void)
{
	usage_reset();
}

START_TEST(test_conn_caps)
{
	for (unsigned i = 0; i < SPAWND_MAX_CONNECTIONS_PER_UID; i++)
		ck_assert_int_eq(usage_conn_take(1000), 0);
	ck_assert_int_eq(usage_conn_take(1000), -EAGAIN);
	/* Another uid has its own share. */
	ck_assert_int_eq(usage_conn_take(1001), 0);
	ck_assert_uint_eq(usage_conns(), SPAWND_MAX_CONNECTIONS_PER_UID + 1);
	usage_conn_release(1000);
	ck_assert_int_eq(usage_conn_take(1000), 0);
	for (unsigned i = 0; i < SPAWND_MAX_CONNECTIONS_PER_UID; i++)
		usage_conn_release(1000);
	usage_conn_release(1001);
	ck_assert_uint_eq(usage_conns(), 0);
}
END_TEST

START_TEST(test_conn_total_cap)
{
	uid_t uid = 2000;
	unsigned n = 0;

	for (; n < SPAWND_MAX_CONNECTIONS; n++) {
		if (n > 0 && n % SPAWND_MAX_CONNECTIONS_PER_UID == 0)
			uid++;
		ck_assert_int_eq(usage_conn_take(uid), 0);
	}
	ck_assert_int_eq(usage_conn_take(uid + 1), -EAGAIN);
	ck_assert_uint_eq(usage_conns(), SPAWND_MAX_CONNECTIONS);
}
END_TEST

START_TEST(test_children_per_uid)
{
	ck_assert_int_eq(usage_conn_take(1000), 0);
	for (unsigned i = 0; i < SPAWND_MAX_CHILDREN_PER_UID; i++) {
		ck_assert(usage_child_room(1000));
		usage_child_take(1000);
	}
	ck_assert(!usage_child_room(1000));
	ck_assert(usage_child_room(1001));
	/* The connection goes; its children still count until reaped. */
	usage_conn_release(1000);
	ck_assert(!usage_child_room(1000));
	ck_assert_uint_eq(usage_children(), SPAWND_MAX_CHILDREN_PER_UID);
	usage_child_release(1000);
	ck_assert(usage_child_room(1000));
	for (unsigned i = 1; i < SPAWND_MAX_CHILDREN_PER_UID; i++)
		usage_child_release(1000);
	ck_assert_uint_eq(usage_children(), 0);
}
END_TEST

START_TEST(test_lookups_per_uid)
{
	for (unsigned i = 0; i < SPAWND_MAX_LOOKUPS_PER_UID; i++) {
		ck_assert(usage_lookup_room(1000));
		ck_assert_int_eq(usage_lookup_take(1000), 0);
	}
	ck_assert(!usage_lookup_room(1000));
	ck_assert(usage_lookup_room(1001));
	usage_lookup_release(1000);
	ck_assert(usage_lookup_room(1000));
	for (unsigned i = 1; i < SPAWND_MAX_LOOKUPS_PER_UID; i++)
		usage_lookup_release(1000);
	/* Nothing left: a release too many changes nothing. */
	usage_lookup_release(1000);
	for (unsigned i = 0; i < SPAWND_MAX_LOOKUPS_PER_UID; i++)
		ck_assert_int_eq(usage_lookup_take(1000), 0);
	ck_assert(!usage_lookup_room(1000));
}
END_TEST

/* Closes in progress count per uid, apart from the other counts of that uid. */
START_TEST(test_closing_per_uid)
{
	for (unsigned i = 0; i < 3; i++)
		ck_assert(usage_closing_take(1000));
	ck_assert_uint_eq(usage_closing_of(1000), 3);
	ck_assert_uint_eq(usage_closing_of(1001), 0);
	ck_assert_int_eq(usage_conn_take(1000), 0);
	usage_conn_release(1000);
	ck_assert_uint_eq(usage_closing_of(1000), 3);
	for (unsigned i = 0; i < 3; i++)
		usage_closing_release(1000);
	ck_assert_uint_eq(usage_closing_of(1000), 0);
	/* A release too many changes nothing. */
	usage_closing_release(1000);
	ck_assert_uint_eq(usage_closing_of(1000), 0);
	ck_assert(usage_closing_take(1000));
	ck_assert_uint_eq(usage_closing_of(1000), 1);
}
END_TEST

static Suite *
usage_suite(void)
{
	Suite *s = suite_create("usage");
	TCase *tc = tcase_create("counts");

	tcase_add_checked_fixture(tc, reset, reset);
	tcase_add_test(tc, test_conn_caps);
	tcase_add_test(tc, test_conn_total_cap);
	tcase_add_test(tc, test_children_per_uid);
	tcase_add_test(tc, test_lookups_per_uid);
	tcase_add_test(tc, test_closing_per_uid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(usage_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
