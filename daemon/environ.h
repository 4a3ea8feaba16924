/* SPDX-License-Identifier: MIT */
/*
 * Build the child's environment from empty (DESIGN.md section 5):
 *  1. inherited variables pass only if allowlisted (TERM, LANG, LANGUAGE,
 *     LC_*, TZ, COLORTERM, NO_COLOR), or with `keepenv` unless denylisted,
 *     or if the rule names them in setenv (NAME); others are dropped silently;
 *  2. explicit settings must be allowed (keepenv and not denylisted, or named
 *     in setenv as NAME), else the whole request is refused;
 *  3. HOME, SHELL, USER, LOGNAME from the target, PATH fixed, SPAWND_USER and
 *     SPAWND_UID for the client; a client cannot override these unless the
 *     rule names them in setenv;
 *  4. the rule's NAME=VALUE entries are set, -NAME entries removed.
 * The denylisted loader/interpreter variables never cross from a client
 * unless the admin names them in setenv. The values of TERM, LANG,
 * LANGUAGE, LC_*, LINGUAS, TZ, COLORTERM and NO_COLOR are checked whenever
 * a client supplies them (allowlist, keepenv or setenv NAME): a value with
 * '/', '%' or '..' is dropped when inherited and refuses the request when
 * explicit; TZ may name only a zone under SPAWND_ZONEINFO_DIR. Only the
 * admin's own setenv NAME=VALUE is exempt.
 */
#ifndef SPAWND_ENVIRON_H
#define SPAWND_ENVIRON_H

#include <sys/types.h>

#include <stdbool.h>

#include "policy.h"
#include "user.h"

#define SPAWND_FIXED_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The system zone directory: an absolute TZ must name a file under it. */
#define SPAWND_ZONEINFO_DIR "/usr/share/zoneinfo"

/* The longest TZ a client may send, in bytes (a zone path or POSIX rule is far shorter). */
#define SPAWND_TZ_MAX 255

/* One denylist entry: a whole name, or a prefix ("LD_" = LD_*). */
struct env_pattern {
	const char *name;
	bool prefix;
};

/*
 * The denylist (HOSTILE.md 16 and 42): one table, also listed in
 * spawnd.conf(5). Stores it in *ret and returns its length.
 */
size_t env_denylist(const struct env_pattern **ret);

/* True when NAME (without '=') is on the denylist (LD_*, BASH_FUNC_*, PYTHON*, ...). */
bool env_name_denied(const char *name);

/* True when NAME passes from the inherited list without keepenv. */
bool env_name_allowed(const char *name);

/*
 * True when a client may supply VALUE for NAME (HOSTILE.md 39): always for
 * names whose values are not checked; for the checked names (see above) no
 * '/', '%' or '..', and for TZ the zone rules.
 */
bool env_value_allowed(const char *name, const char *value);

/*
 * Build a malloc'd NULL-terminated envp. rule may be NULL only in tests
 * (treated as no keepenv, no setenv). inherit and set are NULL-terminated
 * NAME=VALUE lists, already well-formed (request.c). Returns 0, -EPERM when
 * an explicit setting is not allowed (*ret_refused = malloc'd NAME and
 * *ret_why = a static phrase saying whether the name or its value is the
 * problem; either pointer may be NULL), -ENOMEM.
 */
int env_build(const struct policy_rule *rule, const struct target_user *target, uid_t client_uid,
	      const char *client_name, char *const *inherit, char *const *set, char ***ret_envp,
	      char **ret_refused, const char **ret_why);

#endif
