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
	gid_t gid;     /* the chosen primary gid */
	char *name;    /* from passwd */
	char *home;
	char *shell;
	gid_t *groups; /* the chosen supplementary groups (may be empty) */
	size_t n_groups;
};

/*
 * Resolve `user` (name or strict number; must exist in passwd), then the
 * primary group (`group`, or the passwd gid when NULL) and the supplementary
 * groups (`groups`, or all of the user's groups from getgrouplist() when
 * NULL). A requested group must be among the target's own groups.
 * Returns 0, -ESRCH (no such user/group; *ret_what names it), -EINVAL
 * (malformed), -EPERM (a requested group is not one of the target's),
 * -ENOMEM. *ret_what points into the arguments or is a static string.
 *
 * Positive answers come from a cache while NSS is files-only and /etc/passwd,
 * /etc/group and /etc/nsswitch.conf are unchanged (user_cache.h); that costs
 * three stat() calls per request instead of parsing the files.
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

/* Free the contents (not the struct); safe on a zeroed struct. */
void target_user_done(struct target_user *t);

/* Name of uid from passwd into a malloc'd string, or its decimal form. */
char *user_name_of(uid_t uid);

#endif
