/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "audit.h"

#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "stage.h"

#define AUDIT_ARGV_MAX 1024
#define AUDIT_FIELDS_MAX 16

/* Journal fields under construction; each is a malloc'd "NAME=value". */
struct fields {
	char *v[AUDIT_FIELDS_MAX];
	size_t n;
};

static void add(struct fields *f, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void
add(struct fields *f, const char *format, ...)
{
	va_list ap;
	char *s;

	if (f->n >= AUDIT_FIELDS_MAX)
		return;
	va_start(ap, format);
	if (vasprintf(&s, format, ap) >= 0)
		f->v[f->n++] = s;
	va_end(ap);
}

static void
emit(int level, const char *message, struct fields *f)
{
	log_struct(level, message, (const char *const *)f->v, f->n);
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
}

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

/* argv as "a" "b c", escaped, cut at AUDIT_ARGV_MAX bytes. */
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

/* gids as "1,2,3", cut with "..." when they do not fit. */
static void
format_gids(const gid_t *gids, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(buf + o, size - o, "%s%u", i ? "," : "", (unsigned)gids[i]);

		if (k < 0 || (size_t)k >= size - o) {
			if (size > 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		o += (size_t)k;
	}
}

/* The facts every record about a request shares. */
static void
add_subject(struct fields *f, const char *event, const struct audit_subject *s, const char *argv,
	    const char *target, const char *path)
{
	add(f, "SPAWND_EVENT=%s", event);
	add(f, "SPAWND_CLIENT_UID=%u", (unsigned)s->client_uid);
	add(f, "SPAWND_CLIENT_PID=%d", (int)s->client_pid);
	add(f, "SPAWND_REQUEST_ID=%llu", (unsigned long long)s->id);
	if (s->target)
		add(f, "SPAWND_TARGET_USER=%s", target);
	if (s->exec_path)
		add(f, "SPAWND_PATH=%s", path);
	if (s->argv)
		add(f, "SPAWND_ARGV=%s", argv);
}

void
audit_decision(const struct audit_subject *s, bool permit, const char *rule)
{
	char argv[AUDIT_ARGV_MAX], target[128], path[512], groups[AUDIT_ARGV_MAX], creds[64];
	char *msg = NULL;
	struct fields f = {0};

	format_argv(s->argv, argv, sizeof(argv));
	audit_escape(s->target, target, sizeof(target));
	audit_escape(s->exec_path, path, sizeof(path));
	add_subject(&f, "decision", s, argv, target, path);
	add(&f, "SPAWND_DECISION=%s", permit ? "permit" : "deny");
	add(&f, "SPAWND_RULE_LINE=%s", rule ? rule : "none");
	/* The groups the child runs with, once they are chosen. */
	creds[0] = groups[0] = '\0';
	if (s->groups) {
		format_gids(s->groups, s->n_groups, groups, sizeof(groups));
		add(&f, "SPAWND_GID=%u", (unsigned)s->gid);
		add(&f, "SPAWND_GROUPS=%s", groups);
		(void)snprintf(creds, sizeof(creds), " gid=%u groups=", (unsigned)s->gid);
	}
	if (asprintf(&msg,
		     "audit: %s client_uid=%u client_pid=%d id=%llu target=\"%s\" path=\"%s\" "
		     "argv=[%s]%s%s rule=%s",
		     permit ? "permit" : "deny", (unsigned)s->client_uid, (int)s->client_pid,
		     (unsigned long long)s->id, target, path, argv, creds, groups,
		     rule ? rule : "none") < 0)
		msg = NULL;
	emit(permit ? LOG_INFO : LOG_NOTICE, msg ? msg : "audit: decision", &f);
	free(msg);
}

void
audit_failed(const struct audit_subject *s, int stage_value, int error, const char *detail)
{
	const char *stage = wire_stage_name(stage_value);
	char argv[AUDIT_ARGV_MAX], target[128], path[512], det[512], *msg = NULL;
	struct fields f = {0};

	if (error < 0)
		error = -error;
	if (!stage)
		stage = "unknown";
	format_argv(s->argv, argv, sizeof(argv));
	audit_escape(s->target, target, sizeof(target));
	audit_escape(s->exec_path, path, sizeof(path));
	audit_escape(detail, det, sizeof(det));
	add_subject(&f, "failed", s, argv, target, path);
	add(&f, "SPAWND_STAGE=%s", stage);
	add(&f, "SPAWND_ERRNO=%d", error);
	add(&f, "SPAWND_DETAIL=%s", det);
	if (asprintf(&msg,
		     "audit: failed client_uid=%u client_pid=%d id=%llu target=\"%s\" argv=[%s] "
		     "stage=%s detail=\"%s\" error=\"%s\"",
		     (unsigned)s->client_uid, (int)s->client_pid, (unsigned long long)s->id, target,
		     argv, stage, det, strerror(error)) < 0)
		msg = NULL;
	emit(LOG_NOTICE, msg ? msg : "audit: failed", &f);
	free(msg);
}

void
audit_started(const struct audit_subject *s, pid_t pid)
{
	char target[128], path[512], *msg = NULL;
	struct fields f = {0};

	audit_escape(s->target, target, sizeof(target));
	audit_escape(s->exec_path, path, sizeof(path));
	add_subject(&f, "started", s, "", target, path);
	add(&f, "SPAWND_PID=%d", (int)pid);
	if (asprintf(&msg,
		     "audit: started client_uid=%u client_pid=%d id=%llu target=\"%s\" path=\"%s\" "
		     "pid=%d",
		     (unsigned)s->client_uid, (int)s->client_pid, (unsigned long long)s->id, target,
		     path, (int)pid) < 0)
		msg = NULL;
	emit(LOG_INFO, msg ? msg : "audit: started", &f);
	free(msg);
}

void
audit_exited(uid_t client_uid, uint64_t id, pid_t pid, int status, bool timed_out)
{
	struct fields f = {0};
	char how[64], *msg = NULL;

	add(&f, "SPAWND_EVENT=exited");
	add(&f, "SPAWND_CLIENT_UID=%u", (unsigned)client_uid);
	add(&f, "SPAWND_REQUEST_ID=%llu", (unsigned long long)id);
	add(&f, "SPAWND_PID=%d", (int)pid);
	if (WIFEXITED(status)) {
		(void)snprintf(how, sizeof(how), "exit_code=%d", WEXITSTATUS(status));
		add(&f, "SPAWND_EXIT_STATUS=%d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		(void)snprintf(how, sizeof(how), "signal=%d%s", WTERMSIG(status),
			       WCOREDUMP(status) ? " core_dumped=1" : "");
		add(&f, "SPAWND_SIGNAL=%d", WTERMSIG(status));
		add(&f, "SPAWND_EXIT_STATUS=%d", 128 + WTERMSIG(status));
	} else
		(void)snprintf(how, sizeof(how), "status=%d", status);
	if (timed_out)
		add(&f, "SPAWND_TIMED_OUT=1");
	if (asprintf(&msg, "audit: exited client_uid=%u id=%llu pid=%d %s%s", (unsigned)client_uid,
		     (unsigned long long)id, (int)pid, how, timed_out ? " timed_out=1" : "") < 0)
		msg = NULL;
	emit(LOG_INFO, msg ? msg : "audit: exited", &f);
	free(msg);
}
