/* SPDX-License-Identifier: MIT */
/*
 * Audit trail: one record per decision and per child lifecycle event, with
 * the client's kernel-reported identity (doas syslog lines). In the journal
 * the facts are also fields (SPAWND_EVENT, SPAWND_CLIENT_UID,
 * SPAWND_CLIENT_PID, SPAWND_REQUEST_ID, SPAWND_TARGET_USER, SPAWND_PATH,
 * SPAWND_ARGV, SPAWND_GID, SPAWND_GROUPS, SPAWND_DECISION,
 * SPAWND_RULE_LINE, SPAWND_STAGE, SPAWND_ERRNO, SPAWND_DETAIL, SPAWND_PID,
 * SPAWND_EXIT_STATUS, SPAWND_SIGNAL, SPAWND_TIMED_OUT); on stderr one line
 * carries them all.
 * argv is escaped and truncated so that a client cannot forge or flood
 * log lines.
 */
#ifndef SPAWND_AUDIT_H
#define SPAWND_AUDIT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit_subject {
	pid_t client_pid;
	uid_t client_uid;
	uint64_t id;	       /* request id */
	const char *target;    /* target user as requested (may be NULL) */
	char *const *argv;     /* may be NULL */
	const char *exec_path; /* resolved command (may be NULL) */
	/* The child's primary gid and supplementary groups, once chosen
	 * (groups NULL before): a permit record names them. */
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/* permit/deny with the deciding rule: "FILE:LINE", or NULL for no rule. */
void audit_decision(const struct audit_subject *s, bool permit, const char *rule);
/* A request refused or failed before a child ran; stage is the wire's Stage. */
void audit_failed(const struct audit_subject *s, int stage, int error, const char *detail);
void audit_started(const struct audit_subject *s, pid_t pid);
/* status as from wait4(). */
void audit_exited(uid_t client_uid, uint64_t id, pid_t pid, int status, bool timed_out);

#endif
