/* SPDX-License-Identifier: MIT */
/*
 * Every count the caps are checked against, in one place: live
 * connections, live children, resolver lookups in flight and fds waiting
 * for the closer, in total and per client uid (s6-ipcserverd keeps its uid counts the same way, in
 * one spot). Each count is taken by one call and given back by its twin:
 *  - a connection from conn_new() to conn_free();
 *  - a child from the moment its pid exists (reaper_track() or
 *    reaper_abandon()) until it is reaped, stuck and abandoned ones
 *    included: a child that could not be tracked still holds its plan
 *    and its slot;
 *  - a lookup from resolver_submit() until its thread is back, even after
 *    its request timed out (a stuck lookup pins a resolver thread);
 *  - an fd handed to the closer from closer_take() until its close()
 *    returned (per uid; the closer keeps the total with its records).
 * Loop thread only.
 */
#ifndef SPAWND_USAGE_H
#define SPAWND_USAGE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

/* 0, -EAGAIN when a connection cap is reached, -ENOMEM. */
int usage_conn_take(uid_t uid);
void usage_conn_release(uid_t uid);

/* Whether uid may start one more child (the caps, total and per uid). */
bool usage_child_room(uid_t uid);
/* Never fails: the child exists (an uncountable one counts in the total only). */
void usage_child_take(uid_t uid);
void usage_child_release(uid_t uid);

/* Whether uid may have one more lookup in flight (SPAWND_MAX_LOOKUPS_PER_UID). */
bool usage_lookup_room(uid_t uid);
/* 0 or -ENOMEM. */
int usage_lookup_take(uid_t uid);
void usage_lookup_release(uid_t uid);

/*
 * One more fd of uid waits for the closer: false (counted nowhere per uid)
 * only on ENOMEM. Released when its close() returned.
 */
bool usage_closing_take(uid_t uid);
void usage_closing_release(uid_t uid);
unsigned usage_closing_of(uid_t uid);

/* One more child started (for the service manager's STATUS=). */
void usage_spawned(void);

unsigned usage_conns(void);
unsigned usage_children(void);
uint64_t usage_spawns(void);

/* Forget everything (the daemon stops). */
void usage_reset(void);

#endif
