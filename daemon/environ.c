/* SPDX-License-Identifier: MIT */
/*
 * The child's environment (environ.h, DESIGN.md section 5).
 *
 * Built from empty, like doas env.c: a client's variables pass only through
 * the allowlist, `keepenv` or the rule's `setenv`, and the loader/interpreter
 * variables on the denylist never pass unless the admin names them
 * (flatpak CVE-2021-21261; sudo initial_badenv_table). Explicit settings that
 * are not allowed refuse the request instead of being dropped, so a client
 * always learns why its variable is missing.
 *
 * Every candidate (inherited, explicit, forced, rule) becomes an entry with
 * a priority; sorting by name and keeping the highest priority per name
 * gives a sorted, duplicate-free envp in O(n log n) for any request size.
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "environ.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

struct name_pattern {
	const char *text;
	bool prefix; /* text is a prefix ("LD_" = LD_*) rather than the whole name */
};

static const struct name_pattern denylist[] = {
	{"LD_", true},		{"GCONV_PATH", false},	 {"GLIBC_TUNABLES", false},
	{"LOCPATH", false},	{"NLSPATH", false},	 {"HOSTALIASES", false},
	{"RES_OPTIONS", false}, {"IFS", false},		 {"ENV", false},
	{"BASH_ENV", false},	{"BASH_FUNC_", true},	 {"SHELLOPTS", false},
	{"PS4", false},		{"PYTHON", true},	 {"PERL5", true},
	{"RUBYOPT", false},	{"NODE_OPTIONS", false},
};

static const struct name_pattern allowlist[] = {
	{"TERM", false}, {"LANG", false},      {"LANGUAGE", false}, {"LC_", true},
	{"TZ", false},	 {"COLORTERM", false}, {"NO_COLOR", false},
};

/* Set by the daemon for every child; a client overrides them only via setenv NAME. */
enum forced_var {
	FORCED_HOME,
	FORCED_SHELL,
	FORCED_USER,
	FORCED_LOGNAME,
	FORCED_PATH,
	FORCED_SPAWND_USER,
	FORCED_SPAWND_UID,
	_FORCED_MAX,
};

static const char *const forced_names[_FORCED_MAX] = {
	[FORCED_HOME] = "HOME",
	[FORCED_SHELL] = "SHELL",
	[FORCED_USER] = "USER",
	[FORCED_LOGNAME] = "LOGNAME",
	[FORCED_PATH] = "PATH",
	[FORCED_SPAWND_USER] = "SPAWND_USER",
	[FORCED_SPAWND_UID] = "SPAWND_UID",
};

/*
 * For one name, the candidate with the highest priority wins. A forced
 * variable that the rule lets the client set (setenv NAME) drops to the
 * bottom so that the client's value, if any, replaces it.
 */
enum entry_prio {
	PRIO_FORCED_WEAK,
	PRIO_INHERIT,
	PRIO_EXPLICIT,
	PRIO_FORCED,
	PRIO_RULE_SET,
	PRIO_RULE_REMOVE,
};

struct entry {
	const char *name;
	size_t name_len;
	const char *value; /* NULL for a removal */
	enum entry_prio prio;
	size_t seq; /* tie-breaker: keeps qsort() deterministic */
};

static bool
name_eq(const char *a, size_t a_len, const char *b)
{
	return strlen(b) == a_len && memcmp(a, b, a_len) == 0;
}

static bool
name_matches(const struct name_pattern *list, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(list[i].text);

		if (list[i].prefix ? len >= plen && memcmp(name, list[i].text, plen) == 0
				   : name_eq(name, len, list[i].text))
			return true;
	}
	return false;
}

static bool
denied(const char *name, size_t len)
{
	return name_matches(denylist, ELEMENTSOF(denylist), name, len);
}

static bool
allowed(const char *name, size_t len)
{
	return name_matches(allowlist, ELEMENTSOF(allowlist), name, len);
}

bool
env_name_denied(const char *name)
{
	return name && denied(name, strlen(name));
}

bool
env_name_allowed(const char *name)
{
	return name && allowed(name, strlen(name));
}

static bool
forced(const char *name, size_t len)
{
	for (size_t i = 0; i < _FORCED_MAX; i++)
		if (name_eq(name, len, forced_names[i]))
			return true;
	return false;
}

/* The rule's setenv entry for a name, or NULL. */
static const struct env_rule *
rule_entry(const struct policy_rule *rule, const char *name, size_t len)
{
	if (!rule)
		return NULL;
	for (size_t i = 0; i < rule->n_env; i++)
		if (name_eq(name, len, rule->env[i].name))
			return &rule->env[i];
	return NULL;
}

/* Split "NAME=VALUE"; request.c already refused malformed entries, this is a second guard. */
static int
split(const char *s, size_t *ret_len, const char **ret_value)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s)
		return -EINVAL;
	*ret_len = (size_t)(eq - s);
	*ret_value = eq + 1;
	return 0;
}

/* Inherited variables are filtered silently (DESIGN.md 5). */
static bool
inherited_passes(const struct policy_rule *rule, const char *name, size_t len)
{
	const struct env_rule *e = rule_entry(rule, name, len);

	if (e)
		return e->action == ENV_PASS;
	if (denied(name, len))
		return false;
	return (rule && rule->keepenv) || allowed(name, len);
}

/*
 * An explicit setting passes when the admin named it (setenv NAME), or under
 * keepenv when nothing else claims the name: not denylisted, not forced by
 * the daemon, not fixed or removed by the rule. Anything else would be
 * silently overridden or dropped, so it refuses the request instead.
 */
static bool
explicit_passes(const struct policy_rule *rule, const char *name, size_t len)
{
	const struct env_rule *e = rule_entry(rule, name, len);

	if (e)
		return e->action == ENV_PASS;
	if (denied(name, len) || forced(name, len))
		return false;
	return rule && rule->keepenv;
}

static int
entry_cmp(const void *a_, const void *b_)
{
	const struct entry *a = a_, *b = b_;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio > b->prio ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
add(struct entry *v, size_t *n, const char *name, size_t len, const char *value,
    enum entry_prio prio)
{
	v[*n] = (struct entry){
		.name = name,
		.name_len = len,
		.value = value,
		.prio = prio,
		.seq = *n,
	};
	(*n)++;
}

int
env_build(const struct policy_rule *rule, const struct target_user *target, uid_t client_uid,
	  const char *client_name, char *const *inherit, char *const *set, char ***ret_envp,
	  char **ret_refused)
{
	_cleanup_free_ struct entry *v = NULL;
	_cleanup_strv_free_ char **envp = NULL;
	size_t n_inherit = strv_length(inherit), n_set = strv_length(set);
	size_t n_rule = rule ? rule->n_env : 0, n = 0, out = 0;
	const char *forced_values[_FORCED_MAX];
	char uid_buf[16];

	if (!target || !target->name || !target->home || !target->shell)
		return -EINVAL;

	/* Refuse first: nothing is allocated for a request that cannot run. */
	for (size_t i = 0; i < n_set; i++) {
		const char *value = NULL;
		size_t len = 0;

		if (split(set[i], &len, &value) < 0)
			return -EINVAL;
		if (!explicit_passes(rule, set[i], len)) {
			if (ret_refused) {
				char *name = strndup(set[i], len);

				if (!name)
					return -ENOMEM;
				*ret_refused = name;
			}
			return -EPERM;
		}
	}

	if (n_inherit > SIZE_MAX / 2 || n_set > SIZE_MAX / 2 - n_inherit)
		return -E2BIG;
	v = calloc(n_inherit + n_set + _FORCED_MAX + n_rule, sizeof(*v));
	if (!v)
		return -ENOMEM;

	for (size_t i = 0; i < n_inherit; i++) {
		const char *value = NULL;
		size_t len = 0;

		if (split(inherit[i], &len, &value) < 0)
			return -EINVAL;
		if (inherited_passes(rule, inherit[i], len))
			add(v, &n, inherit[i], len, value, PRIO_INHERIT);
	}
	for (size_t i = 0; i < n_set; i++) {
		const char *value = NULL;
		size_t len = 0;

		(void)split(set[i], &len, &value);
		add(v, &n, set[i], len, value, PRIO_EXPLICIT);
	}

	(void)snprintf(uid_buf, sizeof(uid_buf), "%u", (unsigned)client_uid);
	forced_values[FORCED_HOME] = target->home;
	forced_values[FORCED_SHELL] = target->shell;
	forced_values[FORCED_USER] = target->name;
	forced_values[FORCED_LOGNAME] = target->name;
	forced_values[FORCED_PATH] = SPAWND_FIXED_PATH;
	forced_values[FORCED_SPAWND_USER] = client_name ? client_name : uid_buf;
	forced_values[FORCED_SPAWND_UID] = uid_buf;
	for (size_t i = 0; i < _FORCED_MAX; i++) {
		const char *name = forced_names[i];
		const struct env_rule *e = rule_entry(rule, name, strlen(name));

		add(v, &n, name, strlen(name), forced_values[i],
		    e && e->action == ENV_PASS ? PRIO_FORCED_WEAK : PRIO_FORCED);
	}

	for (size_t i = 0; i < n_rule; i++) {
		const struct env_rule *e = &rule->env[i];

		if (e->action == ENV_SET)
			add(v, &n, e->name, strlen(e->name), e->value ? e->value : "",
			    PRIO_RULE_SET);
		else if (e->action == ENV_REMOVE)
			add(v, &n, e->name, strlen(e->name), NULL, PRIO_RULE_REMOVE);
	}

	qsort(v, n, sizeof(*v), entry_cmp);

	envp = calloc(n + 1, sizeof(char *));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* After sorting, the first entry of each name is the winner. */
		if (i > 0 && v[i].name_len == v[i - 1].name_len &&
		    memcmp(v[i].name, v[i - 1].name, v[i].name_len) == 0)
			continue;
		if (!v[i].value)
			continue;
		if (asprintf(&envp[out], "%.*s=%s", (int)v[i].name_len, v[i].name, v[i].value) <
		    0) {
			envp[out] = NULL;
			return -ENOMEM;
		}
		out++;
	}
	*ret_envp = TAKE_PTR(envp);
	return 0;
}
