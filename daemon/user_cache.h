/* SPDX-License-Identifier: MIT */
/*
 * A small cache of resolved accounts (passwd entry + getgrouplist()) and of
 * group name -> gid lookups, so that a spawn does not pay ~30-45 us of NSS
 * file parsing every time. user.c is its only user.
 *
 * The cache is on only while NSS answers passwd, group (and initgroups, if
 * listed) from "files" alone, and its contents live exactly as long as the
 * stat() identity of /etc/passwd, /etc/group and /etc/nsswitch.conf stays the
 * same. See user_cache.c for the rules and the races they close.
 *
 * Thread-safe: the resolver threads (resolver.c) share it. Its lock is
 * never held across file-system access, so a thread stuck in NSS or in a
 * stat() blocks no other thread (user_cache.c, "Threads").
 */
#ifndef SPAWND_USER_CACHE_H
#define SPAWND_USER_CACHE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Entries per table (accounts, group names); the oldest goes when one is full. */
#define USER_CACHE_MAX 64
/* An entry older than this is looked up again even if no file changed. */
#define USER_CACHE_MAX_AGE_USEC (5 * UINT64_C(1000000))
/*
 * Nothing is cached while a watched file changed less than this long ago:
 * its timestamps may not move again on the next write (see user_cache.c).
 */
#define USER_CACHE_SETTLE_USEC (2 * UINT64_C(1000000))

/* One account as NSS gave it, with the defaults of passwd(5) applied. */
struct user_account {
	uid_t uid;
	gid_t gid;     /* the passwd primary gid */
	char *name;    /* pw_name */
	char *home;    /* pw_dir, or "/" when empty */
	char *shell;   /* pw_shell, or "/bin/sh" when empty */
	gid_t *groups; /* getgrouplist(): every group of the account, primary included */
	size_t n_groups;
};

/* NULL-safe; returns NULL. */
struct user_account *user_account_free(struct user_account *a);
/* A deep copy, or NULL (ENOMEM). */
struct user_account *user_account_dup(const struct user_account *a);

static inline void
user_account_freep(struct user_account **a)
{
	*a = user_account_free(*a);
}

/* One lookup's view of the cache, from user_cache_begin(). */
struct user_cache_ticket {
	bool usable;	     /* the find/add calls may be used */
	uint64_t generation; /* adds are refused once the entries were dropped since */
	uint64_t now_usec;   /* CLOCK_MONOTONIC at the begin, for the entries' age */
};

/*
 * Start one lookup: stat the watched files (once per request), drop every
 * entry if one of them changed, re-read nsswitch.conf if needed. Returns true
 * (and ret->usable) when the find/add calls below may be used for this
 * lookup; when false they find nothing and store nothing, and the caller
 * asks NSS directly.
 */
bool user_cache_begin(struct user_cache_ticket *ret);

/*
 * A copy of the account cached under `spec` (the user name or decimal uid
 * exactly as requested), or NULL. The caller frees it.
 */
struct user_account *user_cache_find_account(const struct user_cache_ticket *t, const char *spec);

/*
 * Store a copy of `a` under `spec`. Returns 0, -ENOMEM, or -ESTALE when the
 * ticket is not usable or the files changed since its user_cache_begin().
 * Only positive results are ever stored.
 */
int user_cache_add_account(const struct user_cache_ticket *t, const char *spec,
			   const struct user_account *a);

/* A cached group name -> gid, true when found. *ret_gid is written only then. */
bool user_cache_find_gid(const struct user_cache_ticket *t, const char *name, gid_t *ret_gid);

/* Remember a group name -> gid; best effort (a failed allocation is ignored). */
void user_cache_add_gid(const struct user_cache_ticket *t, const char *name, gid_t gid);

/* The cached passwd name of uid (a malloc'd copy), or NULL. */
char *user_cache_find_name(const struct user_cache_ticket *t, uid_t uid);

/* Remember the passwd name of uid; best effort. */
void user_cache_add_name(const struct user_cache_ticket *t, uid_t uid, const char *name);

/* Drop every entry and forget what is known about the files. */
void user_cache_flush(void);

struct user_cache_stats {
	uint64_t account_hits, account_misses;
	uint64_t group_hits, group_misses;
	uint64_t bypassed; /* lookups that could not use the cache at all */
	uint64_t flushes;  /* whole-cache drops because a watched file changed */
	size_t n_accounts, n_groups;
};

void user_cache_get_stats(struct user_cache_stats *ret);

/*
 * True when nsswitch.conf text in `f` makes passwd and group (and initgroups,
 * when present) use "files" and nothing else. Conservative: a missing line,
 * any other source, any [action] or an inline comment token means false.
 */
bool user_cache_nsswitch_files_only(FILE *f);

/*
 * For the unit tests only: read (and watch) `path` instead of
 * /etc/nsswitch.conf; NULL restores the default. Flushes the cache. glibc
 * itself keeps reading the real file.
 */
void user_cache_set_nsswitch_path(const char *path);

#endif
