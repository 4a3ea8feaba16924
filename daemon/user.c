/* SPDX-License-Identifier: MIT */
/*
 * Strict user/group id parsing and target-user resolution (user.h).
 *
 * All NSS lookups of the daemon happen here, in the parent: a child never
 * calls getpw*() or getgrouplist() (sudo CVE-2025-32463). Numbers are parsed
 * strictly so that "0x0", "+0", " 0" or "01" can never be read as root
 * (systemd#11026), and (uid_t)-1 is refused everywhere (sudo CVE-2019-14287).
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "user.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* The largest id we accept: (uid_t)-1 means "unchanged" to set*id(). */
#define ID_MAX UINT32_C(4294967294)

/* NSS records are small; this bounds the ERANGE retry loop. */
#define NSS_BUF_MAX (1024 * 1024)

/* getgrouplist() results beyond this are refused rather than allocated. */
#define GROUPS_MAX 65536

bool
user_is_numeric(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int
user_parse_id(const char *s, uint32_t *ret)
{
	uint64_t v = 0;

	/* Digits only: strtoul() would accept sign, spaces and "0x". */
	if (!user_is_numeric(s))
		return -EINVAL;
	/* A leading zero hints at octal or padding; only "0" itself is zero. */
	if (s[0] == '0' && s[1])
		return -EINVAL;
	for (; *s; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > ID_MAX)
			return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

/*
 * The reentrant NSS calls report "not found" in several ways: 0 with a NULL
 * result, or one of ENOENT, ESRCH, EBADF, EPERM depending on the backend
 * (getpwnam_r(3), RETURN VALUE). Fold all of those into -ESRCH so callers can
 * tell an unknown name from a real lookup failure (EIO, EMFILE, ...).
 */
static int
nss_result(int r, const void *found)
{
	if (r == 0)
		return found ? 0 : -ESRCH;
	if (r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return -ESRCH;
	return -r;
}

static size_t
nss_buf_start(int which)
{
	long n = sysconf(which);

	return n > 0 && n < NSS_BUF_MAX ? (size_t)n : 1024;
}

/*
 * One reentrant NSS lookup, its buffer grown on ERANGE: a group by name (gr
 * given), else a passwd entry by name (name != NULL) or by uid. On success
 * *ret_buf holds the storage the entry points into; the caller frees it.
 */
static int
nss_get(const char *name, uid_t uid, struct passwd *pw, struct group *gr, char **ret_buf)
{
	size_t size = nss_buf_start(gr ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);

	for (;;) {
		_cleanup_free_ char *buf = malloc(size);
		struct passwd *pw_found = NULL;
		struct group *gr_found = NULL;
		int r;

		if (!buf)
			return -ENOMEM;
		if (gr)
			r = getgrnam_r(name, gr, buf, size, &gr_found);
		else if (name)
			r = getpwnam_r(name, pw, buf, size, &pw_found);
		else
			r = getpwuid_r(uid, pw, buf, size, &pw_found);
		if (r == ERANGE && size < NSS_BUF_MAX) {
			size *= 2;
			continue;
		}
		r = nss_result(r, gr ? (const void *)gr_found : pw_found);
		if (r < 0)
			return r;
		*ret_buf = TAKE_PTR(buf);
		return 0;
	}
}

/*
 * The one place that decides between "number" and "name" for a user or group
 * spec: returns 1 with *ret_id set for a strict number, 0 for a name, -EINVAL
 * for an empty spec or a malformed number (all digits, but not strict).
 */
static int
spec_parse(const char *spec, uint32_t *ret_id)
{
	int r;

	if (!spec || !*spec)
		return -EINVAL;
	if (!user_is_numeric(spec))
		return 0;
	r = user_parse_id(spec, ret_id);
	return r < 0 ? r : 1;
}

/*
 * The passwd entry of a user spec. A number must name a real account too: its
 * entry gives HOME, SHELL and the group list.
 */
static int
passwd_by_spec(const char *spec, struct passwd *ret_pw, char **ret_buf)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw;
	uint32_t id = 0;
	int r;

	r = spec_parse(spec, &id);
	if (r < 0)
		return r;
	r = nss_get(r > 0 ? NULL : spec, (uid_t)id, &pw, NULL, &buf);
	if (r < 0)
		return r;
	if (pw.pw_uid == (uid_t)-1)
		return -EINVAL;
	*ret_pw = pw;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/*
 * The gid of a group spec: a strict number as is (it need not exist in the
 * group database), a name through NSS.
 */
int
user_lookup_gid(const char *spec, gid_t *ret_gid)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr;
	uint32_t id = 0;
	int r;

	r = spec_parse(spec, &id);
	if (r > 0)
		*ret_gid = (gid_t)id;
	if (r != 0)
		return r < 0 ? r : 0;
	r = nss_get(spec, 0, NULL, &gr, &buf);
	if (r < 0)
		return r;
	if (gr.gr_gid == (gid_t)-1)
		return -EINVAL;
	*ret_gid = gr.gr_gid;
	return 0;
}

int
user_lookup_uid(const char *spec, uid_t *ret_uid)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw;
	int r;

	r = passwd_by_spec(spec, &pw, &buf);
	if (r < 0)
		return r;
	*ret_uid = pw.pw_uid;
	return 0;
}

/*
 * All groups of `name` as the system sees them at login: getgrouplist()
 * always includes `gid` itself. Retries while the list grows between calls.
 */
static int
user_grouplist(const char *name, gid_t gid, gid_t **ret, size_t *ret_n)
{
	int n = 32;

	for (;;) {
		_cleanup_free_ gid_t *list = calloc((size_t)n, sizeof(gid_t));
		int got = n;

		if (!list)
			return -ENOMEM;
		if (getgrouplist(name, gid, list, &got) >= 0) {
			*ret = TAKE_PTR(list);
			*ret_n = (size_t)got;
			return 0;
		}
		/* On -1 glibc stores the needed size in got. */
		if (got <= n)
			n *= 2;
		else
			n = got;
		if (n > GROUPS_MAX)
			return -E2BIG;
	}
}

static char *
strdup_or(const char *s, const char *fallback)
{
	return strdup(s && *s ? s : fallback);
}

int
user_account_load(const char *spec, struct user_account *ret)
{
	_cleanup_(user_account_done) struct user_account a = {};
	_cleanup_free_ char *pwbuf = NULL;
	struct passwd pw;
	int r;

	r = passwd_by_spec(spec, &pw, &pwbuf);
	if (r < 0)
		return r;
	if (pw.pw_gid == (gid_t)-1)
		return -EINVAL;
	r = user_grouplist(pw.pw_name, pw.pw_gid, &a.groups, &a.n_groups);
	if (r < 0)
		return r;
	a.uid = pw.pw_uid;
	a.gid = pw.pw_gid;
	a.name = strdup(pw.pw_name);
	a.home = strdup_or(pw.pw_dir, "/");
	/* An empty shell field means /bin/sh (passwd(5)). */
	a.shell = strdup_or(pw.pw_shell, "/bin/sh");
	if (!a.name || !a.home || !a.shell)
		return -ENOMEM;
	*ret = a;
	a = (struct user_account){};
	return 0;
}

void
user_account_done(struct user_account *a)
{
	free(a->name);
	free(a->home);
	free(a->shell);
	free(a->groups);
	*a = (struct user_account){};
}

static bool
gid_in(gid_t gid, const gid_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == gid)
			return true;
	return false;
}

/*
 * Resolve one requested group (name or strict number) and check that it is
 * one of the account's: a client may choose among the target's groups,
 * never add to them.
 */
static int
resolve_own_group(const char *spec, const struct user_account *a, gid_t *ret_gid)
{
	gid_t gid;
	int r;

	r = user_lookup_gid(spec, &gid);
	if (r < 0)
		return r;
	if (!gid_in(gid, a->groups, a->n_groups))
		return -EPERM;
	*ret_gid = gid;
	return 0;
}

/*
 * The primary gid and the supplementary groups of the child (user.h). A
 * group that cannot be used is recorded in t->group_error, not returned:
 * the caller reports it after the policy. Returns 0 or -ENOMEM.
 */
static int
choose_groups(const struct user_account *a, const char *group, char *const *groups,
	      struct target_user *t)
{
	size_t n = groups ? strv_length(groups) : a->n_groups;
	int r;

	/* The whole list either way, so that the error paths need no other size. */
	t->groups = calloc(n > a->n_groups ? n : (a->n_groups ? a->n_groups : 1), sizeof(gid_t));
	if (!t->groups)
		return -ENOMEM;

	t->gid = a->gid;
	if (group) {
		r = resolve_own_group(group, a, &t->gid);
		if (r < 0) {
			t->group_error = r;
			t->group_what = group;
			return r == -ENOMEM ? r : 0;
		}
	}

	if (!groups) {
		/* All of them: another primary sheds nothing, a->gid stays in here. */
		if (a->n_groups > 0)
			memcpy(t->groups, a->groups, a->n_groups * sizeof(gid_t));
		t->n_groups = a->n_groups;
		return 0;
	}

	for (size_t i = 0; i < n; i++) {
		gid_t gid;

		r = resolve_own_group(groups[i], a, &gid);
		if (r < 0) {
			t->group_error = r;
			t->group_what = groups[i];
			t->n_groups = 0;
			return r == -ENOMEM ? r : 0;
		}
		/* setgroups() does not care, but a clean list reads
		 * better in logs and in the child's /proc status. */
		if (!gid_in(gid, t->groups, t->n_groups))
			t->groups[t->n_groups++] = gid;
	}
	/* The child's groups are its gid and its supplementary groups. */
	for (size_t i = 0; i < a->n_groups; i++)
		if (a->groups[i] != t->gid && !gid_in(a->groups[i], t->groups, t->n_groups))
			t->narrowed = true;
	return 0;
}

int
user_resolve_target(const char *user, const char *group, char *const *groups,
		    struct target_user *ret, const char **ret_what)
{
	_cleanup_(user_account_done) struct user_account a = {};
	struct target_user t = {};
	int r;

	r = user_account_load(user, &a);
	if (r >= 0)
		r = choose_groups(&a, group, groups, &t);
	if (r < 0) {
		target_user_done(&t);
		if (ret_what)
			*ret_what = r == -ENOMEM ? "memory" : user && *user ? user : "user";
		return r;
	}
	t.uid = a.uid;
	t.name = TAKE_PTR(a.name);
	t.home = TAKE_PTR(a.home);
	t.shell = TAKE_PTR(a.shell);
	*ret = t;
	return 0;
}

void
target_user_done(struct target_user *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->home);
	free(t->shell);
	free(t->groups);
	*t = (struct target_user){};
}

char *
user_name_of(uid_t uid)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw;
	char *s;

	if (nss_get(NULL, uid, &pw, NULL, &buf) >= 0)
		return strdup(pw.pw_name);
	if (asprintf(&s, "%u", (unsigned)uid) < 0)
		return NULL;
	return s;
}
