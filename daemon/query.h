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
 * 0 permit, 1 deny, 2 config error or unknown CLIENT/TARGET.
 */
int query_decide(const char *config_path, const char *client, const char *target,
		 char *const *argv);

#endif
