/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <sys/wait.h>

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "log.h"

#define AUDIT_ARGV_MAX 1024

void
audit_escape(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[5];
		size_t n;

		/* Quotes and backslashes are escaped so the quoting stays
		 * unambiguous; control bytes so that no newline is forged. */
		if (c == '"' || c == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		else {
			tmp[0] = (char)c;
			tmp[1] = '\0';
			n = 1;
		}
		if (o + n + 4 > size) {
			if (size >= 4)
				memcpy(buf + (o < size - 4 ? o : size - 4), "...", 4);
			else
				buf[0] = '\0';
			return;
		}
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
}

/* argv as ["a" "b c"], escaped, cut at AUDIT_ARGV_MAX bytes. */
static void
format_argv(char *const *argv, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++) {
		char word[AUDIT_ARGV_MAX];
		int n;

		audit_escape(argv[i], word, sizeof(word));
		n = snprintf(buf + o, size - o, "%s\"%s\"", i ? " " : "", word);
		if (n < 0 || (size_t)n >= size - o) {
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		o += (size_t)n;
	}
}

void
audit_decision(const struct audit_subject *s, bool permit, const char *rule)
{
	char argv[AUDIT_ARGV_MAX], target[128], path[512];

	format_argv(s->argv, argv, sizeof(argv));
	audit_escape(s->target, target, sizeof(target));
	audit_escape(s->exec_path, path, sizeof(path));
	(void)log_internal(permit ? LOG_INFO : LOG_NOTICE, 0,
			   "audit: %s client_uid=%u client_pid=%d id=%llu target=\"%s\" "
			   "path=\"%s\" argv=[%s] rule=\"%s\"",
			   permit ? "permit" : "deny", (unsigned)s->client_uid, (int)s->client_pid,
			   (unsigned long long)s->id, target, path, argv, rule);
}

void
audit_failed(const struct audit_subject *s, const char *stage, int error, const char *detail)
{
	char argv[AUDIT_ARGV_MAX], target[128], det[512];

	format_argv(s->argv, argv, sizeof(argv));
	audit_escape(s->target, target, sizeof(target));
	audit_escape(detail, det, sizeof(det));
	(void)log_internal(LOG_NOTICE, error,
			   "audit: failed client_uid=%u client_pid=%d id=%llu target=\"%s\" "
			   "argv=[%s] stage=%s detail=\"%s\" error=\"%m\"",
			   (unsigned)s->client_uid, (int)s->client_pid, (unsigned long long)s->id,
			   target, argv, stage, det);
}

void
audit_started(const struct audit_subject *s, pid_t pid)
{
	char target[128], path[512];

	audit_escape(s->target, target, sizeof(target));
	audit_escape(s->exec_path, path, sizeof(path));
	(void)log_internal(LOG_INFO, 0,
			   "audit: started client_uid=%u client_pid=%d id=%llu target=\"%s\" "
			   "path=\"%s\" pid=%d",
			   (unsigned)s->client_uid, (int)s->client_pid, (unsigned long long)s->id,
			   target, path, (int)pid);
}

void
audit_exited(uid_t client_uid, uint64_t id, pid_t pid, int status, bool timed_out)
{
	char how[64];

	if (WIFEXITED(status))
		(void)snprintf(how, sizeof(how), "exit_code=%d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)snprintf(how, sizeof(how), "signal=%d%s", WTERMSIG(status),
			       WCOREDUMP(status) ? " core_dumped=1" : "");
	else
		(void)snprintf(how, sizeof(how), "status=%d", status);
	(void)log_internal(LOG_INFO, 0, "audit: exited client_uid=%u id=%llu pid=%d %s%s",
			   (unsigned)client_uid, (unsigned long long)id, (int)pid, how,
			   timed_out ? " timed_out=1" : "");
}
