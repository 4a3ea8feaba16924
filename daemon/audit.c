/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "audit.h"

#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "stage.h"

#define AUDIT_ARGV_MAX 1024
#define AUDIT_FIELDS_MAX 16
#define AUDIT_TEXT_MAX 8192

/*
 * One audit record, built once from its facts: each put() adds a fact to the
 * readable line (the journal's MESSAGE, or the line on stderr) and to the
 * journal's fields, so that the two cannot disagree.
 */
struct record {
	char text[AUDIT_TEXT_MAX];
	size_t text_len;
	char store[AUDIT_TEXT_MAX]; /* the journal fields, "SPAWND_NAME=value\0" each */
	size_t store_len;
	const char *fields[AUDIT_FIELDS_MAX];
	size_t n;
};

/* snprintf at buf + *len, never past size; *len becomes size when cut. Returns the old *len. */
static size_t append(char *buf, size_t size, size_t *len, const char *format, ...)
	__attribute__((format(printf, 4, 5)));

static size_t
append(char *buf, size_t size, size_t *len, const char *format, ...)
{
	size_t at = *len;
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf + at, size - at, format, ap);
	va_end(ap);
	*len = n < 0 ? at : at + (size_t)n < size ? at + (size_t)n : size;
	return at;
}

static void
record_start(struct record *r, const char *event, const char *verb)
{
	r->text_len = r->store_len = r->n = 0;
	(void)append(r->text, sizeof(r->text), &r->text_len, "audit: %s", verb);
	r->fields[r->n++] = r->store + append(r->store, sizeof(r->store), &r->store_len,
					      "SPAWND_EVENT=%s", event);
	r->store_len++;
}

/*
 * One fact: SPAWND_<name>=value in the journal (unless name is NULL) and
 * " key=value" in the line (unless key is NULL), the value there between
 * quote[0] and quote[1] ("" for none).
 */
static void
put(struct record *r, const char *name, const char *key, const char *quote, const char *value)
{
	if (name && r->n < AUDIT_FIELDS_MAX && r->store_len < sizeof(r->store)) {
		r->fields[r->n++] = r->store + append(r->store, sizeof(r->store), &r->store_len,
						      "SPAWND_%s=%s", name, value);
		r->store_len++;
	}
	if (key)
		(void)append(r->text, sizeof(r->text), &r->text_len, " %s=%.1s%s%.1s", key, quote,
			     value, quote[0] ? quote + 1 : "");
}

static void
put_num(struct record *r, const char *name, const char *key, unsigned long long value)
{
	char s[32];

	(void)snprintf(s, sizeof(s), "%llu", value);
	put(r, name, key, "", s);
}

static void
record_emit(struct record *r, int level)
{
	log_struct(level, r->text, r->fields, r->n);
}

/* Escape s for a log line into buf (always NUL-terminated, "..." when cut). */
static void
escape(const char *s, char *buf, size_t size)
{
	size_t o = 0;

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
			memcpy(buf + (o < size - 4 ? o : size - 4), "...", 4);
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
	for (size_t i = 0; argv && argv[i] && o < size; i++) {
		char word[AUDIT_ARGV_MAX];

		escape(argv[i], word, sizeof(word));
		(void)append(buf, size, &o, "%s\"%s\"", i ? " " : "", word);
	}
	if (o >= size)
		memcpy(buf + size - 4, "...", 4);
}

/* gids as "1,2,3", cut with "..." when they do not fit. */
static void
format_gids(const gid_t *gids, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		(void)append(buf, size, &o, "%s%u", i ? "," : "", (unsigned)gids[i]);
	if (o >= size)
		memcpy(buf + size - 4, "...", 4);
}

/*
 * The facts every record about a request shares. The line always names the
 * target (and the path, with_path); the journal only what is known.
 */
static void
put_subject(struct record *r, const struct audit_subject *s, bool with_path, bool with_argv)
{
	char buf[AUDIT_ARGV_MAX];

	put_num(r, "CLIENT_UID", "client_uid", s->client_uid);
	put_num(r, "CLIENT_PID", "client_pid", (unsigned)s->client_pid);
	put_num(r, "REQUEST_ID", "id", s->id);
	escape(s->target, buf, 128);
	put(r, s->target ? "TARGET_USER" : NULL, "target", "\"\"", buf);
	escape(s->exec_path, buf, 512);
	put(r, s->exec_path ? "PATH" : NULL, with_path ? "path" : NULL, "\"\"", buf);
	format_argv(s->argv, buf, sizeof(buf));
	put(r, s->argv ? "ARGV" : NULL, with_argv ? "argv" : NULL, "[]", buf);
}

void
audit_decision(const struct audit_subject *s, bool permit, const char *rule)
{
	struct record r;
	char groups[AUDIT_ARGV_MAX];

	record_start(&r, "decision", permit ? "permit" : "deny");
	put_subject(&r, s, true, true);
	put(&r, "DECISION", NULL, "", permit ? "permit" : "deny");
	/* The groups the child runs with, once they are chosen. */
	if (s->groups) {
		format_gids(s->groups, s->n_groups, groups, sizeof(groups));
		put_num(&r, "GID", "gid", s->gid);
		put(&r, "GROUPS", "groups", "", groups);
	}
	put(&r, "RULE_LINE", "rule", "", rule ? rule : "none");
	record_emit(&r, permit ? LOG_INFO : LOG_NOTICE);
}

void
audit_failed(const struct audit_subject *s, int stage, int error, const char *detail)
{
	const char *name = wire_stage_name(stage);
	struct record r;
	char det[512];

	if (error < 0)
		error = -error;
	escape(detail, det, sizeof(det));
	record_start(&r, "failed", "failed");
	put_subject(&r, s, false, true);
	put(&r, "STAGE", "stage", "", name ? name : "unknown");
	put(&r, "DETAIL", "detail", "\"\"", det);
	put_num(&r, "ERRNO", NULL, (unsigned)error);
	put(&r, NULL, "error", "\"\"", strerror(error));
	record_emit(&r, LOG_NOTICE);
}

void
audit_started(const struct audit_subject *s, pid_t pid)
{
	struct record r;

	record_start(&r, "started", "started");
	put_subject(&r, s, true, false);
	put_num(&r, "PID", "pid", (unsigned)pid);
	record_emit(&r, LOG_INFO);
}

void
audit_exited(uid_t client_uid, uint64_t id, pid_t pid, int status, bool timed_out)
{
	struct record r;

	record_start(&r, "exited", "exited");
	put_num(&r, "CLIENT_UID", "client_uid", client_uid);
	put_num(&r, "REQUEST_ID", "id", id);
	put_num(&r, "PID", "pid", (unsigned)pid);
	if (WIFEXITED(status))
		put_num(&r, "EXIT_STATUS", "exit_code", (unsigned)WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		put_num(&r, "SIGNAL", "signal", (unsigned)WTERMSIG(status));
		put_num(&r, "EXIT_STATUS", NULL, 128u + (unsigned)WTERMSIG(status));
		if (WCOREDUMP(status))
			put(&r, NULL, "core_dumped", "", "1");
	} else
		put_num(&r, NULL, "status", (unsigned)status);
	if (timed_out)
		put(&r, "TIMED_OUT", "timed_out", "", "1");
	record_emit(&r, LOG_INFO);
}
