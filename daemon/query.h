/* SPDX-License-Identifier: MIT */
/*
 * Policy dry-runs from the command line (doas -C): --check-config and
 * --query CLIENT TARGET -- CMD [ARG...]. Both return the process exit code.
 */
#ifndef SPAWND_QUERY_H
#define SPAWND_QUERY_H

/* 0 valid, 1 invalid ("FILE:LINE: message" on stderr; warnings too). */
int query_check_config(const char *config_path);

/*
 * Prints "permit FILE:LINE", "deny FILE:LINE" or "deny no rule" on stdout.
 * group and groups (a comma list, NULL = all of the target's) are the
 * primary and supplementary groups a request would ask for (spawnctl -g,
 * -G): a permitting rule without `narrowgroups` denies a list that leaves
 * out some of the target's groups (the reason goes to stderr).
 * 0 permit, 1 deny, 2 config error, unknown CLIENT/TARGET or a group the
 * target cannot have (unknown, or not one of its groups).
 */
int query_decide(const char *config_path, const char *client, const char *target, const char *group,
		 const char *groups, char *const *argv);

#endif
