/* SPDX-License-Identifier: MIT */
/* The caps' counts (see usage.h). */
#include "usage.h"

#include <errno.h>
#include <stdlib.h>

#include "wire.h"

struct uid_usage {
	uid_t uid;
	unsigned conns, children, lookups;
	unsigned closing; /* fds of this uid the closer has not closed yet */
	struct uid_usage *next;
};

static struct uid_usage *users;
static unsigned n_conns, n_children;
static uint64_t n_spawns;

static struct uid_usage *
find(uid_t uid, bool create)
{
	struct uid_usage *u;

	for (u = users; u; u = u->next)
		if (u->uid == uid)
			return u;
	if (!create)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->next = users;
	users = u;
	return u;
}

/* Drop u once it counts nothing. */
static void
put(struct uid_usage *u)
{
	if (u->conns > 0 || u->children > 0 || u->lookups > 0 || u->closing > 0)
		return;
	for (struct uid_usage **p = &users; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			free(u);
			return;
		}
}

int
usage_conn_take(uid_t uid)
{
	struct uid_usage *u = find(uid, true);

	if (!u)
		return -ENOMEM;
	if (n_conns >= SPAWND_MAX_CONNECTIONS || u->conns >= SPAWND_MAX_CONNECTIONS_PER_UID) {
		put(u);
		return -EAGAIN;
	}
	u->conns++;
	n_conns++;
	return 0;
}

void
usage_conn_release(uid_t uid)
{
	struct uid_usage *u = find(uid, false);

	n_conns--;
	if (u) {
		u->conns--;
		put(u);
	}
}

bool
usage_child_room(uid_t uid)
{
	const struct uid_usage *u = find(uid, false);

	return n_children < SPAWND_MAX_CHILDREN &&
	       (!u || u->children < SPAWND_MAX_CHILDREN_PER_UID);
}

void
usage_child_take(uid_t uid)
{
	struct uid_usage *u = find(uid, true);

	n_children++;
	if (u)
		u->children++;
}

void
usage_child_release(uid_t uid)
{
	struct uid_usage *u = find(uid, false);

	n_children--;
	if (u && u->children > 0) {
		u->children--;
		put(u);
	}
}

bool
usage_lookup_room(uid_t uid)
{
	const struct uid_usage *u = find(uid, false);

	return !u || u->lookups < SPAWND_MAX_LOOKUPS_PER_UID;
}

int
usage_lookup_take(uid_t uid)
{
	struct uid_usage *u = find(uid, true);

	if (!u)
		return -ENOMEM;
	u->lookups++;
	return 0;
}

void
usage_lookup_release(uid_t uid)
{
	struct uid_usage *u = find(uid, false);

	if (u && u->lookups > 0) {
		u->lookups--;
		put(u);
	}
}

bool
usage_closing_take(uid_t uid)
{
	struct uid_usage *u = find(uid, true);

	if (!u)
		return false;
	u->closing++;
	return true;
}

void
usage_closing_release(uid_t uid)
{
	struct uid_usage *u = find(uid, false);

	if (u && u->closing > 0) {
		u->closing--;
		put(u);
	}
}

unsigned
usage_closing_of(uid_t uid)
{
	const struct uid_usage *u = find(uid, false);

	return u ? u->closing : 0;
}

void
usage_spawned(void)
{
	n_spawns++;
}

unsigned
usage_conns(void)
{
	return n_conns;
}

unsigned
usage_children(void)
{
	return n_children;
}

uint64_t
usage_spawns(void)
{
	return n_spawns;
}

void
usage_reset(void)
{
	while (users) {
		struct uid_usage *u = users;

		users = u->next;
		free(u);
	}
	n_conns = n_children = 0;
	n_spawns = 0;
}
