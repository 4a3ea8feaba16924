/* SPDX-License-Identifier: MIT */
/*
 * Cache of NSS account lookups (user_cache.h).
 *
 * Correctness rules, in the order user_cache_begin() applies them:
 *
 * 1. Watch the stat() identity (st_dev, st_ino, st_size, st_mtim, st_ctim) of
 *    /etc/passwd, /etc/group and /etc/nsswitch.conf, taken once per lookup and
 *    BEFORE any NSS call of that lookup. Any difference from the last lookup
 *    drops every entry. An editor that renames a new file into place changes
 *    st_ino; one that writes in place changes st_mtim/st_ctim (and usually
 *    st_size). This is the test glibc itself uses to reload nsswitch.conf
 *    (file_change_detection.c). Because the identity is taken before the
 *    lookup, a write racing with our read is seen by the next lookup.
 *
 * 2. Timestamps are only as fine as the file system's clock: the kernel stamps
 *    with the coarse clock (one tick, up to 10 ms) and some file systems keep
 *    whole seconds. Two writes within one tick that keep the size leave the
 *    identity unchanged, so an entry read between them would be stale forever
 *    ("racy git", git's Documentation/technical/racy-git.txt). So nothing is
 *    cached, or served, while any watched file changed less than
 *    USER_CACHE_SETTLE_USEC ago; the identity is re-taken on the next lookup.
 *    (Linux 6.13's multigrain timestamps close this for ext4/xfs/btrfs/tmpfs
 *    once the ctime has been looked at; older kernels and other file
 *    systems, e.g. Debian 12's 6.1, still need the rule.)
 *
 * 3. Cache only when nsswitch.conf says "files" alone for passwd and group, and
 *    for initgroups if it is listed (getgrouplist() uses initgroups, falling
 *    back to group). Anything else - systemd, sss, ldap, compat, nis, an
 *    [action], a second source, a missing line or a missing/unreadable file -
 *    turns the cache off: other sources change without touching /etc. When
 *    the file is missing glibc uses built-in defaults that depend on how it
 *    was built ("compat [NOTFOUND=return] files" or "files",
 *    nss/nss_database.c); we do not guess and stay off. nsswitch.conf is
 *    re-read whenever any watched identity changes.
 *
 * 4. Only positive results are stored: an account added to /etc/passwd is
 *    found on the next request even without rule 1.
 *
 * 5. Defence in depth: an entry lives at most USER_CACHE_MAX_AGE_USEC, and a
 *    full table evicts its oldest entry.
 *
 * nscd, if it runs, sits below us in glibc and keeps its own rules; with
 * check-files (its default) it reloads on the same file changes.
 *
 * Threads. The cache is shared by the resolver threads (resolver.c), any of
 * which may be stuck in NSS or in a stat() of a file on a dead file system.
 * So the lock is held only around the tables and the file identities, never
 * across a system call that touches a file system: user_cache_begin() takes
 * the stat()s and reads nsswitch.conf unlocked. A lookup that ran while the
 * files changed must not store what it read: every drop of the entries
 * starts a new generation, and an add is refused unless the generation is
 * still the one its user_cache_begin() saw. Finds hand out copies, so that
 * no entry is used after another thread evicted it.
 */
#define _GNU_SOURCE

#include "user_cache.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"

#define NSSWITCH_PATH "/etc/nsswitch.conf"

enum {
	WATCH_NSSWITCH, /* first: while NSS is not files-only, only this one is checked */
	WATCH_PASSWD,
	WATCH_GROUP,
	_WATCH_MAX,
};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct entry {
	char *key;
	uint64_t born_usec;	      /* CLOCK_MONOTONIC */
	struct user_account *account; /* account table */
	gid_t gid;		      /* group table */
};

struct table {
	struct entry e[USER_CACHE_MAX];
	size_t n;
};

/* Everything below is guarded by `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *nsswitch_path;
	struct file_id ids[_WATCH_MAX];
	bool ids_valid; /* ids are those of the last lookup, all stat()s succeeded */
	bool nss_known; /* files_only reflects the nsswitch.conf behind ids */
	bool files_only;
	uint64_t generation; /* bumped by every drop_entries() */
	struct table accounts, groups, names;
	struct user_cache_stats stats;
} cache = {
	.nsswitch_path = NSSWITCH_PATH,
};

static char *
strdup_opt(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

struct user_account *
user_account_dup(const struct user_account *a)
{
	struct user_account *d = calloc(1, sizeof(*d));
	bool failed = false;

	if (!d)
		return NULL;
	d->uid = a->uid;
	d->gid = a->gid;
	d->name = strdup_opt(a->name, &failed);
	d->home = strdup_opt(a->home, &failed);
	d->shell = strdup_opt(a->shell, &failed);
	if (a->n_groups > 0) {
		d->groups = calloc(a->n_groups, sizeof(gid_t));
		if (d->groups) {
			memcpy(d->groups, a->groups, a->n_groups * sizeof(gid_t));
			d->n_groups = a->n_groups;
		} else
			failed = true;
	}
	if (failed)
		return user_account_free(d);
	return d;
}

struct user_account *
user_account_free(struct user_account *a)
{
	if (!a)
		return NULL;
	free(a->name);
	free(a->home);
	free(a->shell);
	free(a->groups);
	free(a);
	return NULL;
}

static uint64_t
clock_usec(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static const char *
watch_path(int w, const char *nsswitch_path)
{
	switch (w) {
	case WATCH_NSSWITCH:
		return nsswitch_path;
	case WATCH_PASSWD:
		return "/etc/passwd";
	default:
		return "/etc/group";
	}
}

static int
file_id_get(const char *path, struct file_id *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*ret = (struct file_id){
		.dev = st.st_dev,
		.ino = st.st_ino,
		.size = st.st_size,
		.mtim = st.st_mtim,
		.ctim = st.st_ctim,
	};
	return 0;
}

static bool
timespec_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool
file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       timespec_eq(&a->mtim, &b->mtim) && timespec_eq(&a->ctim, &b->ctim);
}

/* Rule 2: changed within USER_CACHE_SETTLE_USEC of `real_usec`, or in the future. */
static bool
file_id_settling(const struct file_id *id, uint64_t real_usec)
{
	const struct timespec *ts[] = {&id->mtim, &id->ctim};

	for (size_t i = 0; i < ELEMENTSOF(ts); i++) {
		uint64_t t;

		if (ts[i]->tv_sec < 0)
			continue;
		t = (uint64_t)ts[i]->tv_sec * 1000000 + (uint64_t)ts[i]->tv_nsec / 1000;
		if (t + USER_CACHE_SETTLE_USEC > real_usec)
			return true;
	}
	return false;
}

static void
table_remove(struct table *t, size_t i)
{
	free(t->e[i].key);
	t->e[i].account = user_account_free(t->e[i].account);
	t->e[i] = t->e[--t->n];
	t->e[t->n] = (struct entry){};
}

static void
table_clear(struct table *t)
{
	while (t->n > 0)
		table_remove(t, t->n - 1);
}

/* The live entry for `key`, or NULL; an entry past its age is dropped here. */
static struct entry *
table_find(struct table *t, const char *key, uint64_t now_usec)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->e[i].key, key) != 0)
			continue;
		/* An entry another thread added after our begin is younger than us. */
		if (now_usec > t->e[i].born_usec &&
		    now_usec - t->e[i].born_usec >= USER_CACHE_MAX_AGE_USEC) {
			table_remove(t, i);
			return NULL;
		}
		return &t->e[i];
	}
	return NULL;
}

/*
 * A fresh slot keyed `key`, or NULL. Another thread may have added the same
 * key since this one looked: that entry is replaced.
 */
static struct entry *
table_add(struct table *t, const char *key, uint64_t now_usec)
{
	char *k = strdup(key);
	size_t i;

	if (!k)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].key, key) == 0) {
			table_remove(t, i);
			break;
		}
	if (t->n == USER_CACHE_MAX) {
		size_t oldest = 0;

		for (i = 1; i < t->n; i++)
			if (t->e[i].born_usec < t->e[oldest].born_usec)
				oldest = i;
		table_remove(t, oldest);
	}
	i = t->n++;
	t->e[i] = (struct entry){.key = k, .born_usec = now_usec};
	return &t->e[i];
}

/* Locked. Also starts a new generation: lookups begun before may not add. */
static void
drop_entries(void)
{
	if (cache.accounts.n > 0 || cache.groups.n > 0 || cache.names.n > 0)
		cache.stats.flushes++;
	table_clear(&cache.accounts);
	table_clear(&cache.groups);
	table_clear(&cache.names);
	cache.generation++;
}

void
user_cache_flush(void)
{
	(void)pthread_mutex_lock(&lock);
	drop_entries();
	cache.ids_valid = false;
	cache.nss_known = false;
	(void)pthread_mutex_unlock(&lock);
}

/*
 * Index of `name` among the databases whose sources decide what we cache
 * (passwd and group must be listed, initgroups may be), or -1.
 */
static int
nss_db_index(const char *name, size_t len)
{
	static const char *const dbs[] = {"passwd", "group", "initgroups"};

	for (size_t i = 0; i < ELEMENTSOF(dbs); i++)
		/* glibc compares exactly; ignoring case only makes us stricter. */
		if (strlen(dbs[i]) == len && strncasecmp(dbs[i], name, len) == 0)
			return (int)i;
	return -1;
}

/*
 * Tokenise like glibc's process_line()/__nss_action_parse() (nss_database.c,
 * nss_action_parse.c): leading blanks skipped, the database name ends at a
 * blank or ':', then any run of blanks and colons, then the sources. glibc
 * strips no inline comments, so a "#..." token after the sources counts as a
 * source here too (and turns the cache off).
 */
bool
user_cache_nsswitch_files_only(FILE *f)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	bool seen[3] = {};
	bool ok = true;

	for (;;) {
		const char *p, *name;
		size_t n_sources = 0;
		int idx;

		errno = 0;
		if (getline(&line, &cap, f) < 0) {
			if (errno != 0 || ferror(f))
				return false;
			break;
		}
		p = line;
		while (isspace((unsigned char)*p))
			p++;
		name = p;
		while (*p && !isspace((unsigned char)*p) && *p != ':')
			p++;
		idx = nss_db_index(name, (size_t)(p - name));
		if (idx < 0)
			continue;
		while (*p && (isspace((unsigned char)*p) || *p == ':'))
			p++;
		while (*p) {
			const char *tok = p;

			while (*p && !isspace((unsigned char)*p))
				p++;
			if ((size_t)(p - tok) != 5 || strncmp(tok, "files", 5) != 0)
				ok = false;
			n_sources++;
			while (isspace((unsigned char)*p))
				p++;
		}
		if (n_sources == 0)
			ok = false;
		seen[idx] = true;
	}
	return ok && seen[0] && seen[1];
}

static bool
nsswitch_path_files_only(const char *path)
{
	FILE *f = fopen(path, "re");
	bool r;

	if (!f)
		return false;
	r = user_cache_nsswitch_files_only(f);
	(void)fclose(f);
	return r;
}

void
user_cache_set_nsswitch_path(const char *path)
{
	(void)pthread_mutex_lock(&lock);
	cache.nsswitch_path = path ? path : NSSWITCH_PATH;
	(void)pthread_mutex_unlock(&lock);
	user_cache_flush();
}

static bool
ids_eq(const struct file_id *a, const struct file_id *b)
{
	for (int w = 0; w < _WATCH_MAX; w++)
		if (!file_id_eq(&a[w], &b[w]))
			return false;
	return true;
}

bool
user_cache_begin(struct user_cache_ticket *ret)
{
	struct file_id now[_WATCH_MAX] = {}, known_nss = {};
	const char *nss_path;
	uint64_t real_usec;
	bool fast, ok = true, files_only;

	*ret = (struct user_cache_ticket){.now_usec = clock_usec(CLOCK_MONOTONIC)};

	(void)pthread_mutex_lock(&lock);
	nss_path = cache.nsswitch_path;
	fast = cache.ids_valid && cache.nss_known && !cache.files_only;
	if (fast)
		known_nss = cache.ids[WATCH_NSSWITCH];
	(void)pthread_mutex_unlock(&lock);

	/* Known not files-only and nsswitch.conf untouched: one stat() is enough. */
	if (fast && file_id_get(watch_path(WATCH_NSSWITCH, nss_path), &now[WATCH_NSSWITCH]) >= 0 &&
	    file_id_eq(&now[WATCH_NSSWITCH], &known_nss)) {
		(void)pthread_mutex_lock(&lock);
		goto bypass;
	}

	/* Unlocked: a stat() may block (a dead NFS /etc); other threads go on. */
	for (int w = 0; w < _WATCH_MAX; w++)
		if (file_id_get(watch_path(w, nss_path), &now[w]) < 0)
			ok = false;
	real_usec = clock_usec(CLOCK_REALTIME);

	(void)pthread_mutex_lock(&lock);
	if (!ok || !cache.ids_valid || !ids_eq(now, cache.ids)) {
		drop_entries();
		cache.nss_known = false;
	}
	memcpy(cache.ids, now, sizeof(now));
	cache.ids_valid = ok;
	if (!ok)
		goto bypass;

	for (int w = 0; w < _WATCH_MAX; w++)
		if (file_id_settling(&now[w], real_usec)) {
			/* Look again next time, whatever the identity says then. */
			drop_entries();
			cache.ids_valid = false;
			cache.nss_known = false;
			goto bypass;
		}

	if (!cache.nss_known) {
		(void)pthread_mutex_unlock(&lock);
		files_only = nsswitch_path_files_only(watch_path(WATCH_NSSWITCH, nss_path));
		(void)pthread_mutex_lock(&lock);
		/* Only if what we read belongs to the identities still on record. */
		if (!cache.ids_valid || !ids_eq(now, cache.ids))
			goto bypass;
		cache.files_only = files_only;
		cache.nss_known = true;
	}
	if (!cache.files_only)
		goto bypass;
	ret->usable = true;
	ret->generation = cache.generation;
	(void)pthread_mutex_unlock(&lock);
	return true;

bypass:
	cache.stats.bypassed++;
	(void)pthread_mutex_unlock(&lock);
	return false;
}

/* Locked: whether t may still add what it looked up. */
static bool
ticket_current(const struct user_cache_ticket *t)
{
	return t->usable && t->generation == cache.generation;
}

struct user_account *
user_cache_find_account(const struct user_cache_ticket *t, const char *spec)
{
	struct user_account *copy = NULL;
	struct entry *e;

	if (!t->usable)
		return NULL;
	(void)pthread_mutex_lock(&lock);
	e = table_find(&cache.accounts, spec, t->now_usec);
	if (e) {
		cache.stats.account_hits++;
		copy = user_account_dup(e->account);
	} else
		cache.stats.account_misses++;
	(void)pthread_mutex_unlock(&lock);
	return copy;
}

int
user_cache_add_account(const struct user_cache_ticket *t, const char *spec,
		       const struct user_account *a)
{
	struct user_account *copy;
	struct entry *e;
	int r = 0;

	if (!t->usable)
		return -ESTALE;
	/* Copied before taking the lock: malloc() can be slow. */
	copy = user_account_dup(a);
	if (!copy)
		return -ENOMEM;
	(void)pthread_mutex_lock(&lock);
	if (!ticket_current(t))
		r = -ESTALE;
	else if (!(e = table_add(&cache.accounts, spec, t->now_usec)))
		r = -ENOMEM;
	else
		e->account = TAKE_PTR(copy);
	(void)pthread_mutex_unlock(&lock);
	user_account_free(copy);
	return r;
}

bool
user_cache_find_gid(const struct user_cache_ticket *t, const char *name, gid_t *ret_gid)
{
	struct entry *e;
	bool found = false;

	if (!t->usable)
		return false;
	(void)pthread_mutex_lock(&lock);
	e = table_find(&cache.groups, name, t->now_usec);
	if (e) {
		cache.stats.group_hits++;
		*ret_gid = e->gid;
		found = true;
	} else
		cache.stats.group_misses++;
	(void)pthread_mutex_unlock(&lock);
	return found;
}

void
user_cache_add_gid(const struct user_cache_ticket *t, const char *name, gid_t gid)
{
	struct entry *e;

	if (!t->usable)
		return;
	(void)pthread_mutex_lock(&lock);
	if (ticket_current(t) && (e = table_add(&cache.groups, name, t->now_usec)))
		e->gid = gid;
	(void)pthread_mutex_unlock(&lock);
}

char *
user_cache_find_name(const struct user_cache_ticket *t, uid_t uid)
{
	char key[16], *name = NULL;
	struct entry *e;

	if (!t->usable)
		return NULL;
	(void)snprintf(key, sizeof(key), "%u", (unsigned)uid);
	(void)pthread_mutex_lock(&lock);
	e = table_find(&cache.names, key, t->now_usec);
	if (e)
		name = strdup(e->account->name);
	(void)pthread_mutex_unlock(&lock);
	return name;
}

void
user_cache_add_name(const struct user_cache_ticket *t, uid_t uid, const char *name)
{
	struct user_account *a;
	struct entry *e;
	char key[16];

	if (!t->usable)
		return;
	a = calloc(1, sizeof(*a));
	if (!a)
		return;
	a->uid = uid;
	a->name = strdup(name);
	(void)snprintf(key, sizeof(key), "%u", (unsigned)uid);
	(void)pthread_mutex_lock(&lock);
	if (a->name && ticket_current(t) && (e = table_add(&cache.names, key, t->now_usec)))
		e->account = TAKE_PTR(a);
	(void)pthread_mutex_unlock(&lock);
	user_account_free(a);
}

void
user_cache_get_stats(struct user_cache_stats *ret)
{
	(void)pthread_mutex_lock(&lock);
	*ret = cache.stats;
	ret->n_accounts = cache.accounts.n;
	ret->n_groups = cache.groups.n;
	(void)pthread_mutex_unlock(&lock);
}
