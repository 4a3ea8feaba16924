/* SPDX-License-Identifier: MIT */
/*
 * The policy decision (policy.h): which rule, if any, decides a request.
 *
 * Pure: it compares the peer's kernel-supplied credentials and the exec path
 * (normalised, and canonicalised by the caller off the event loop) with data
 * resolved when the config was loaded. No NSS, no file system, so a decision
 * can neither block nor depend on a lookup that an attacker can influence at
 * request time. Like doas permit(), the last matching rule wins and no match
 * means deny.
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

/* A peer is a member of a group through its primary gid or SO_PEERGROUPS. */
static bool
peer_in_group(const struct peer_cred *who, gid_t gid)
{
	if (who->gid == gid)
		return true;
	for (size_t i = 0; i < who->n_groups; i++)
		if (who->groups[i] == gid)
			return true;
	return false;
}

static bool
identity_matches(const struct policy_rule *rule, const struct peer_cred *who)
{
	/* A name that did not resolve at load time matches nobody. */
	if (!rule->ident_valid)
		return false;
	if (rule->is_group)
		return peer_in_group(who, rule->ident_gid);
	return who->uid == rule->ident_uid;
}

static bool
target_matches(const struct policy_rule *rule, uid_t target_uid)
{
	if (!rule->has_target)
		return true;
	return rule->target_valid && rule->target_uid == target_uid;
}

/*
 * `args` pins argv[1..] exactly: same count, same bytes. A bare `args`
 * therefore permits only the command without arguments.
 */
static bool
args_match(const struct policy_rule *rule, char *const *argv)
{
	char *const *given = argv && argv[0] ? argv + 1 : NULL;
	size_t i;

	if (!rule->has_args)
		return true;
	for (i = 0; i < rule->n_args; i++)
		if (!given || !given[i] || strcmp(given[i], rule->args[i]) != 0)
			return false;
	return !given || !given[i];
}

static bool
streq_opt(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static const char *
last_component(const char *path)
{
	const char *end = path + strlen(path), *p;

	/* "/bin/sh/" names sh as well (and fails as a directory later). */
	while (end > path + 1 && end[-1] == '/')
		end--;
	for (p = end; p > path && p[-1] != '/'; p--)
		;
	return p;
}

static bool
same_last_component(const char *a, const char *b)
{
	const char *x = last_component(a), *y = last_component(b);

	return strcspn(x, "/") == strcspn(y, "/") && strncmp(x, y, strcspn(x, "/")) == 0;
}

/*
 * Whether name (argv[0]) ends in the rule's last component, exactly: what a
 * multi-call program reads is the text after the last '/', so "rbash/"
 * names "" to bash (no restricted shell), not "rbash".
 */
static bool
name_is(const char *cmd, const char *name)
{
	const char *x = last_component(cmd), *slash = strrchr(name, '/');
	size_t n = strcspn(x, "/");

	name = slash ? slash + 1 : name;
	return strlen(name) == n && strncmp(x, name, n) == 0;
}

/* See policy_match() in policy.h for the rules. */
static bool
cmd_matches(const struct policy_rule *rule, const struct policy_command *command)
{
	bool same_program;

	if (!rule->cmd)
		return true;
	if (!command || !command->path)
		return false;
	same_program = streq_opt(rule->cmd, command->path) ||
		       streq_opt(rule->cmd, command->canonical) ||
		       streq_opt(rule->cmd_canonical, command->path) ||
		       streq_opt(rule->cmd_canonical, command->canonical);
	if (!same_program)
		return false;
	if (!rule->permit)
		return true;
	/* The name a multi-call program acts on: the path's, or argv[0] (exec_path). */
	return same_last_component(rule->cmd, command->path) &&
	       (!command->name || name_is(rule->cmd, command->name));
}

static bool
command_matches(const struct policy_rule *rule, const struct policy_command *command,
		char *const *argv)
{
	return cmd_matches(rule, command) && args_match(rule, argv);
}

bool
policy_wants_canonical(const struct policy *p, const struct peer_cred *who)
{
	if (!p || !who)
		return false;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].cmd && identity_matches(&p->rules[i], who))
			return true;
	return false;
}

const struct policy_rule *
policy_match(const struct policy *p, const struct peer_cred *who, uid_t target_uid,
	     const struct policy_command *command, char *const *argv)
{
	const struct policy_rule *last = NULL;

	if (!p || !who)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rule = &p->rules[i];

		if (identity_matches(rule, who) && target_matches(rule, target_uid) &&
		    command_matches(rule, command, argv))
			last = rule;
	}
	return last;
}

mode_t
policy_umask(mode_t requested, uid_t client_uid, uid_t target_uid)
{
	requested &= 0777;
	if (client_uid == target_uid)
		return requested;
	/* sudo does the same: a client must not make another user's files
	 * group- or world-writable (HOSTILE.md 41). */
	return requested | 022;
}

static void
policy_rule_done(struct policy_rule *rule)
{
	free(rule->ident_name);
	free(rule->target_name);
	free(rule->cmd);
	free(rule->cmd_canonical);
	if (rule->args)
		for (size_t i = 0; i < rule->n_args; i++)
			free(rule->args[i]);
	free(rule->args);
	for (size_t i = 0; i < rule->n_env; i++) {
		free(rule->env[i].name);
		free(rule->env[i].value);
	}
	free(rule->env);
}

struct policy *
policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		policy_rule_done(&p->rules[i]);
	free(p->rules);
	free(p->path);
	free(p);
	return NULL;
}
