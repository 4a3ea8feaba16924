/* SPDX-License-Identifier: MIT */
/*
 * fdmap_plan(): table-driven. Each case lists the request's maps and the
 * fds that arrived, and the exact plan expected (sorted by dst, /dev/null
 * for unmapped stdio) or the error.
 */
#include <errno.h>
#include <stdlib.h>

#include <check.h>

#include "fdmap.h"

#define DEVNULL 99
#define MAXN 8

struct fdmap_case {
	const char *name;
	struct fd_map maps[MAXN];
	size_t n_maps;
	int received[MAXN];
	size_t n_received;
	int devnull;
	int want_r;
	struct fd_move want[MAXN + 3];
	size_t n_want;
	int want_max;
};

#define M(i, t)                                                                                    \
	{                                                                                          \
		.index = (i), .target = (t)                                                        \
	}
#define V(s, d)                                                                                    \
	{                                                                                          \
		.src = (s), .dst = (d)                                                             \
	}

static const struct fdmap_case cases[] = {
	{
		.name = "no maps: all stdio is /dev/null",
		.devnull = DEVNULL,
		.want = {V(DEVNULL, 0), V(DEVNULL, 1), V(DEVNULL, 2)},
		.n_want = 3,
		.want_max = 2,
	},
	{
		.name = "identity",
		.maps = {M(0, 0), M(1, 1), M(2, 2)},
		.n_maps = 3,
		.received = {0, 1, 2},
		.n_received = 3,
		.devnull = DEVNULL,
		.want = {V(0, 0), V(1, 1), V(2, 2)},
		.n_want = 3,
		.want_max = 2,
	},
	{
		.name = "swap 0<->1, 2 unmapped",
		.maps = {M(0, 1), M(1, 0)},
		.n_maps = 2,
		.received = {0, 1},
		.n_received = 2,
		.devnull = DEVNULL,
		.want = {V(1, 0), V(0, 1), V(DEVNULL, 2)},
		.n_want = 3,
		.want_max = 2,
	},
	{
		.name = "3-cycle 3->4->5->3",
		.maps = {M(0, 4), M(1, 5), M(2, 3)},
		.n_maps = 3,
		.received = {3, 4, 5},
		.n_received = 3,
		.devnull = DEVNULL,
		.want = {V(DEVNULL, 0), V(DEVNULL, 1), V(DEVNULL, 2), V(5, 3), V(3, 4), V(4, 5)},
		.n_want = 6,
		.want_max = 5,
	},
	{
		.name = "gap: 0,1,2,7",
		.maps = {M(3, 7), M(0, 0), M(1, 1), M(2, 2)},
		.n_maps = 4,
		.received = {10, 11, 12, 13},
		.n_received = 4,
		.devnull = DEVNULL,
		.want = {V(10, 0), V(11, 1), V(12, 2), V(13, 7)},
		.n_want = 4,
		.want_max = 7,
	},
	{
		.name = "shared source for 1 and 2",
		.maps = {M(0, 1), M(0, 2)},
		.n_maps = 2,
		.received = {10},
		.n_received = 1,
		.devnull = DEVNULL,
		.want = {V(DEVNULL, 0), V(10, 1), V(10, 2)},
		.n_want = 3,
		.want_max = 2,
	},
	{
		.name = "unsorted input comes out sorted",
		.maps = {M(0, 9), M(1, 4), M(2, 0)},
		.n_maps = 3,
		.received = {20, 21, 22},
		.n_received = 3,
		.devnull = DEVNULL,
		.want = {V(22, 0), V(DEVNULL, 1), V(DEVNULL, 2), V(21, 4), V(20, 9)},
		.n_want = 5,
		.want_max = 9,
	},
	{
		.name = "highest allowed target",
		.maps = {M(0, 1023)},
		.n_maps = 1,
		.received = {5},
		.n_received = 1,
		.devnull = DEVNULL,
		.want = {V(DEVNULL, 0), V(DEVNULL, 1), V(DEVNULL, 2), V(5, 1023)},
		.n_want = 4,
		.want_max = 1023,
	},
	{
		.name = "no devnull needed when stdio is mapped",
		.maps = {M(0, 0), M(0, 1), M(0, 2)},
		.n_maps = 3,
		.received = {7},
		.n_received = 1,
		.devnull = -1,
		.want = {V(7, 0), V(7, 1), V(7, 2)},
		.n_want = 3,
		.want_max = 2,
	},
	{
		.name = "duplicate target",
		.maps = {M(0, 1), M(1, 1)},
		.n_maps = 2,
		.received = {10, 11},
		.n_received = 2,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "duplicate target above stdio",
		.maps = {M(0, 5), M(1, 6), M(0, 5)},
		.n_maps = 3,
		.received = {10, 11},
		.n_received = 2,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "index out of range",
		.maps = {M(1, 0)},
		.n_maps = 1,
		.received = {10},
		.n_received = 1,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "negative target",
		.maps = {M(0, -1)},
		.n_maps = 1,
		.received = {10},
		.n_received = 1,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "target above SPAWND_MAX_TARGET_FD",
		.maps = {M(0, 1024)},
		.n_maps = 1,
		.received = {10},
		.n_received = 1,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "received fd is invalid",
		.maps = {M(0, 0)},
		.n_maps = 1,
		.received = {-1},
		.n_received = 1,
		.devnull = DEVNULL,
		.want_r = -EINVAL,
	},
	{
		.name = "stdio unmapped and no devnull",
		.maps = {M(0, 1)},
		.n_maps = 1,
		.received = {10},
		.n_received = 1,
		.devnull = -1,
		.want_r = -EINVAL,
	},
};

START_TEST(test_plan_table)
{
	const struct fdmap_case *c = &cases[_i];
	struct fd_move *sentinel = (struct fd_move *)&cases, *moves = sentinel;
	size_t n = 777;
	int max = -777, r;

	r = fdmap_plan(c->maps, c->n_maps, c->received, c->n_received, c->devnull, &moves, &n,
		       &max);
	ck_assert_msg(r == c->want_r, "%s: got %d, want %d", c->name, r, c->want_r);
	if (r < 0) {
		/* Output parameters are written only on success. */
		ck_assert_msg(moves == sentinel && n == 777 && max == -777, "%s: outputs written",
			      c->name);
		return;
	}
	ck_assert_msg(n == c->n_want, "%s: %zu entries, want %zu", c->name, n, c->n_want);
	ck_assert_msg(max == c->want_max, "%s: max %d, want %d", c->name, max, c->want_max);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(moves[i].src == c->want[i].src && moves[i].dst == c->want[i].dst,
			      "%s: entry %zu is {%d,%d}, want {%d,%d}", c->name, i, moves[i].src,
			      moves[i].dst, c->want[i].src, c->want[i].dst);
	free(moves);
}
END_TEST

/* 1024 unique targets (0..1023) is the largest valid plan; 1025 maps cannot be. */
START_TEST(test_plan_full_table)
{
	static struct fd_map maps[1025];
	struct fd_move *moves = NULL;
	size_t n = 0;
	int received[1] = {42}, max = -1;

	for (int i = 0; i < 1024; i++)
		maps[i] = (struct fd_map){.index = 0, .target = 1023 - i};
	ck_assert_int_eq(fdmap_plan(maps, 1024, received, 1, -1, &moves, &n, &max), 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert_int_eq(max, 1023);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(moves[i].dst, (int)i);
	free(moves);

	maps[1024] = (struct fd_map){.index = 0, .target = 5};
	ck_assert_int_eq(fdmap_plan(maps, 1025, received, 1, -1, &moves, &n, &max), -EINVAL);
}
END_TEST

static Suite *
fdmap_suite(void)
{
	Suite *s = suite_create("fdmap");
	TCase *tc = tcase_create("plan");

	tcase_add_loop_test(tc, test_plan_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_plan_full_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fdmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
