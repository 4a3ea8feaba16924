/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of user/group names and numbers, and resolution of a
 * target user with its groups. NSS is used here, in the daemon, never in a
 * child (sudo CVE-2025-32463), and never on the event loop: sssd or LDAP can
 * take seconds, so the daemon calls the lookups below on its resolver threads
 * (resolver.c). They are thread-safe.
 */
#ifndef SPAWND_USER_H
#define SPAWND_USER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a decimal id: digits only, no sign, no spaces, no leading zeros
 * except "0" itself, <= 4294967294 ((uid_t)-1 is refused). Returns 0 or -EINVAL.
 */
int user_parse_id(const char *s, uint32_t *ret);

/* True when s looks like a numeric id (all digits) rather than a name. */
bool user_is_numeric(const char *s);

struct target_user {
	uid_t uid;
	gid_t gid;  /* the chosen primary gid, one of the target's groups */
	char *name; /* from passwd */
	char *home;
	char *shell;
	gid_t *groups; /* the child's supplementary groups (see below) */
	size_t n_groups;
	/*
	 * The requested supplementary groups together with the primary gid
	 * leave out some of the target's groups. Dropping a group can grant
	 * what the group denies (a file root:blocked 0604), so only a rule
	 * with `narrowgroups` allows it (DESIGN.md section 5).
	 */
	bool narrowed;
	/*
	 * 0, or why a requested group cannot be used (-ESRCH unknown, -EINVAL
	 * malformed, -EPERM not one of the target's groups); group_what names
	 * it. Reported by the caller only after the policy decision, so that a
	 * client no rule lets act as the target learns nothing about its groups.
	 */
	int group_error;
	const char *group_what;
};

/*
 * Resolve `user` (name or strict number; must exist in passwd) with all of
 * its groups (getgrouplist()). The primary gid is `group` (one of those
 * groups) or the passwd gid when NULL; choosing another primary sheds
 * nothing, the passwd gid stays a supplementary group. The supplementary
 * groups are all of the user's groups, or, when `groups` is given, those
 * (each must be one of the user's); then ->narrowed tells whether that
 * leaves any out.
 *
 * Returns 0, or for the user itself -ESRCH (no such user), -EINVAL
 * (malformed), -ENOMEM or another -errno from NSS, with *ret_what naming
 * what failed. A problem with a requested group does not fail the call: it
 * is returned in ret->group_error (see above), with a target that is
 * otherwise complete. *ret_what and ->group_what point into the arguments
 * or are static strings.
 *
 * Every call asks NSS: there is no cache (docs/benchmarks.md, "User lookups").
 */
int user_resolve_target(const char *user, const char *group, char *const *groups,
			struct target_user *ret, const char **ret_what);

/*
 * Resolve a user name or strict number to a uid that exists in passwd.
 * Returns 0, -ESRCH (unknown), -EINVAL (malformed number, uid -1), or another
 * -errno when NSS itself fails (so a caller can fail closed on an outage).
 */
int user_lookup_uid(const char *spec, uid_t *ret_uid);

/*
 * Resolve a group name to a gid, or parse a strict number (a number need not
 * exist in the group database). Returns 0, -ESRCH, -EINVAL or -errno.
 */
int user_lookup_gid(const char *spec, gid_t *ret_gid);

/* One account as NSS gives it, with the defaults of passwd(5) applied. */
struct user_account {
	uid_t uid;
	gid_t gid;     /* the passwd primary gid */
	char *name;    /* pw_name */
	char *home;    /* pw_dir, or "/" when empty */
	char *shell;   /* pw_shell, or "/bin/sh" when empty */
	gid_t *groups; /* getgrouplist(): every group of the account, primary included */
	size_t n_groups;
};

/*
 * The account of a user spec (name or strict number) with all of its groups.
 * Returns 0, -ESRCH, -EINVAL, -E2BIG (more than 65536 groups), -ENOMEM or
 * another -errno from NSS.
 */
int user_account_load(const char *spec, struct user_account *ret);
/* Free the contents (not the struct); safe on a zeroed struct. */
void user_account_done(struct user_account *a);

/* Free the contents (not the struct); safe on a zeroed struct. */
void target_user_done(struct target_user *t);

/* Name of uid from passwd into a malloc'd string, or its decimal form. */
char *user_name_of(uid_t uid);

#endif
