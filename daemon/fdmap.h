/* SPDX-License-Identifier: MIT */
/*
 * Plan the child's fd table (pure, parent side): the received fds mapped to
 * their targets, plus /dev/null for each of 0/1/2 the request left unmapped
 * (never the daemon's own stdio).
 */
#ifndef SPAWND_FDMAP_H
#define SPAWND_FDMAP_H

#include <stddef.h>

#include "request.h"

/* One entry of the child's fd table: the parent's fd src becomes fd dst. */
struct fd_move {
	int src;
	int dst;
};

/*
 * maps/n_maps from the request (validated: indices < n_received, unique
 * targets <= SPAWND_MAX_TARGET_FD); received = the fds that rode on the
 * request; devnull = an O_RDWR|O_CLOEXEC fd of /dev/null. Writes a malloc'd
 * array sorted by dst and its length, and the highest dst. Returns 0,
 * -EINVAL, -ENOMEM.
 */
int fdmap_plan(const struct fd_map *maps, size_t n_maps, const int *received, size_t n_received,
	       int devnull, struct fd_move **ret, size_t *ret_n, int *ret_max_dst);

#endif
