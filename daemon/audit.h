/* SPDX-License-Identifier: MIT */
/*
 * Audit trail: one line per decision and per child lifecycle event, with the
 * client's kernel-reported identity (doas syslog lines). argv is escaped and
 * truncated so that a client cannot forge or flood log lines.
 */
#ifndef SPAWND_AUDIT_H
#define SPAWND_AUDIT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

struct audit_subject {
	pid_t client_pid;
	uid_t client_uid;
	uint64_t id;            /* request id */
	const char *target;     /* target user as requested (may be NULL) */
	char *const *argv;      /* may be NULL */
	const char *exec_path;  /* resolved command (may be NULL) */
};

/* permit/deny with the deciding rule ("FILE:LINE" or "no matching rule"). */
void audit_decision(const struct audit_subject *s, bool permit, const char *rule);
/* A request refused or failed before a child ran. */
void audit_failed(const struct audit_subject *s, const char *stage, int error, const char *detail);
void audit_started(const struct audit_subject *s, pid_t pid);
/* status as from wait4(). */
void audit_exited(uid_t client_uid, uint64_t id, pid_t pid, int status, bool timed_out);

/* Escape s for a log line into buf (always NUL-terminated, "..." when cut). */
void audit_escape(const char *s, char *buf, size_t size);

#endif
