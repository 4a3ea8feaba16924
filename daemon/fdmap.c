/* SPDX-License-Identifier: MIT */
/*
 * The child's fd table, planned in the parent so that child_exec() only has
 * to walk a sorted array. Pure: no syscalls, the fds are only numbers here.
 */
#include "fdmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "wire.h"

static int
cmp_dst(const void *a, const void *b)
{
	const struct fd_move *x = a, *y = b;

	return (x->dst > y->dst) - (x->dst < y->dst);
}

int
fdmap_plan(const struct fd_map *maps, size_t n_maps, const int *received, size_t n_received,
	   int devnull, struct fd_move **ret, size_t *ret_n, int *ret_max_dst)
{
	bool have_stdio[3] = {false, false, false};
	struct fd_move *moves;
	size_t n = 0;

	/*
	 * Targets are unique and bounded, so a valid map never has more than
	 * SPAWND_MAX_TARGET_FD + 1 entries; checking this first also keeps the
	 * size computation below from overflowing.
	 */
	if (n_maps > SPAWND_MAX_TARGET_FD + 1u)
		return -EINVAL;
	if (n_maps > 0 && (!maps || !received))
		return -EINVAL;

	for (size_t i = 0; i < n_maps; i++) {
		if (maps[i].index >= n_received || received[maps[i].index] < 0)
			return -EINVAL;
		if (maps[i].target < 0 || (unsigned)maps[i].target > SPAWND_MAX_TARGET_FD)
			return -EINVAL;
		if (maps[i].target <= 2)
			have_stdio[maps[i].target] = true;
	}
	if ((!have_stdio[0] || !have_stdio[1] || !have_stdio[2]) && devnull < 0)
		return -EINVAL;

	moves = malloc((n_maps + 3) * sizeof(*moves));
	if (!moves)
		return -ENOMEM;

	for (size_t i = 0; i < n_maps; i++)
		moves[n++] =
			(struct fd_move){.src = received[maps[i].index], .dst = maps[i].target};

	/*
	 * Unmapped stdio gets /dev/null, never the daemon's own 0/1/2 (those
	 * may be the journal stream): a child that writes to an fd it was not
	 * given must not reach anything of the daemon's (DESIGN.md section 2).
	 */
	for (int d = 0; d <= 2; d++)
		if (!have_stdio[d])
			moves[n++] = (struct fd_move){.src = devnull, .dst = d};

	qsort(moves, n, sizeof(*moves), cmp_dst);

	/* Sorted, so a duplicate target sits next to its twin. */
	for (size_t i = 1; i < n; i++)
		if (moves[i].dst == moves[i - 1].dst) {
			free(moves);
			return -EINVAL;
		}

	/* n >= 3 because 0, 1 and 2 are always present. */
	*ret_max_dst = moves[n - 1].dst;
	*ret_n = n;
	*ret = moves;
	return 0;
}
