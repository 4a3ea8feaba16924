/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "policy.h"
#include "user.h"
#include "util/cleanup.h"

static void
print_warning(void *userdata, const char *message)
{
	(void)userdata;
	(void)fprintf(stderr, "%s\n", message);
}

int
query_check_config(const char *config_path)
{
	struct policy *p = NULL;
	_cleanup_free_ char *error = NULL;
	int r;

	r = config_load(config_path, true, print_warning, NULL, &p, &error);
	if (r < 0) {
		(void)fprintf(stderr, "%s\n", error ? error : strerror(-r));
		return 1;
	}
	(void)policy_free(p);
	return 0;
}

/* "G1,G2" as a NULL-terminated list, as spawnctl -G splits it; "a,,b" is -EINVAL. */
static int
split_groups(const char *list, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;
	size_t n = 1, i = 0;

	for (const char *c = list; *c; c++)
		n += *c == ',';
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (const char *g = list;; g++) {
		size_t len = strcspn(g, ",");

		if (len == 0)
			return -EINVAL;
		v[i] = strndup(g, len);
		if (!v[i])
			return -ENOMEM;
		i++;
		g += len;
		if (!*g)
			break;
	}
	*ret = TAKE_PTR(v);
	return 0;
}

/*
 * CMD as for a real request: resolved on the fixed PATH, and canonical when
 * a `cmd` rule names the client. Returns 0, or -errno when it does not resolve.
 */
static int
query_command(const struct policy *p, const struct peer_cred *peer, const char *cmd,
	      char **ret_path, char **ret_canonical)
{
	/*
	 * As the daemon does on a resolver thread: with CLIENT's file access
	 * rights. Unprivileged, we cannot take them; then with our own, which
	 * shows the caller nothing it cannot see anyway. A path that does not
	 * resolve is judged by its normal form.
	 */
	struct command_cred as = {
		.uid = peer->uid,
		.gid = peer->gid,
		.groups = peer->groups,
		.n_groups = peer->n_groups,
	};
	int r = command_resolve(cmd, ret_path);

	if (r < 0)
		return r;
	if (policy_wants_canonical(p, peer))
		(void)command_canonicalize(*ret_path, geteuid() == 0 ? &as : NULL, ret_canonical);
	return 0;
}

/* The decision on stdout (reasons on stderr), in the daemon's order: the
 * policy, then the requested groups. Returns the exit code. */
static int
print_decision(const struct policy *p, const struct policy_rule *rule, const struct target_user *t)
{
	if (rule && rule->permit && t->group_error < 0) {
		const char *why = strerror(-t->group_error);

		if (t->group_error == -EPERM)
			why = "not one of the target's groups";
		else if (t->group_error == -ESRCH)
			why = "unknown group";
		(void)fprintf(stderr, "spawnd: group '%s': %s\n", t->group_what, why);
		return 2;
	}
	if (rule && rule->permit && t->narrowed && !rule->narrowgroups) {
		/* Denied by this rule: it does not allow leaving out groups. */
		(void)printf("deny %s:%u\n", p->path, rule->line);
		(void)fprintf(stderr,
			      "spawnd: --groups leaves out some of %s's groups and %s:%u does not "
			      "allow narrowing (narrowgroups)\n",
			      t->name, p->path, rule->line);
		return 1;
	}
	if (rule)
		(void)printf("%s %s:%u\n", rule->permit ? "permit" : "deny", p->path, rule->line);
	else
		(void)printf("deny no rule\n");
	return rule && rule->permit ? 0 : 1;
}

int
query_decide(const char *config_path, const char *client, const char *target, const char *group,
	     const char *groups, char *const *argv)
{
	struct policy *p = NULL;
	_cleanup_free_ char *error = NULL, *path = NULL, *canonical = NULL;
	_cleanup_(user_account_done) struct user_account client_account = {};
	_cleanup_strv_free_ char **group_list = NULL;
	struct target_user t = {0};
	struct peer_cred peer;
	const char *what = NULL;
	int r, ret = 2;

	if (groups && split_groups(groups, &group_list) < 0) {
		(void)fprintf(stderr, "spawnd: invalid --groups '%s'\n", groups);
		return 2;
	}
	r = config_load(config_path, true, print_warning, NULL, &p, &error);
	if (r < 0) {
		(void)fprintf(stderr, "%s\n", error ? error : strerror(-r));
		return 2;
	}
	/* The peer a connection from CLIENT would have; getgrouplist() stands
	 * in for SO_PEERGROUPS. */
	r = user_account_load(client, &client_account);
	if (r == -ESRCH || r == -EINVAL)
		(void)fprintf(stderr, "spawnd: unknown client user '%s'\n", client);
	else if (r < 0)
		(void)fprintf(stderr, "spawnd: client user '%s': %s\n", client, strerror(-r));
	if (r < 0)
		goto out;
	peer = (struct peer_cred){
		.uid = client_account.uid,
		.gid = client_account.gid,
		.groups = client_account.groups,
		.n_groups = client_account.n_groups,
	};
	r = user_resolve_target(target, group, group_list, &t, &what);
	if (r < 0) {
		(void)fprintf(stderr, "spawnd: unknown target user '%s'\n", what ? what : target);
		goto out;
	}
	r = query_command(p, &peer, argv[0], &path, &canonical);
	if (r < 0) {
		(void)fprintf(stderr, "spawnd: %s: %s\n", argv[0], strerror(-r));
		goto out;
	}
	ret = print_decision(
		p,
		policy_match(p, &peer, t.uid,
			     &(struct policy_command){.path = path, .canonical = canonical}, argv),
		&t);
out:
	target_user_done(&t);
	(void)policy_free(p);
	return ret;
}
