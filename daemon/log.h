/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging. Under systemd, when stderr is the journal stream that
 * $JOURNAL_STREAM names, messages go to the journal natively
 * (sd_journal_send) with structured fields; otherwise one line per event on
 * stderr, "spawnd: message". Only main.c, server.c, conn.c, dispatch.c,
 * reaper.c and audit.c log; other modules return -errno (STYLE.md 2).
 */
#ifndef SPAWND_LOG_H
#define SPAWND_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

void log_init(void);
/* LOG_ERR..LOG_DEBUG; messages above it are dropped. */
void log_set_max_level(int level);
/* "err", "warning", "notice", "info", "debug" (or 3..7) -> level, or -EINVAL. */
int log_level_from_string(const char *s);
/* True when messages go to the journal natively. */
bool log_to_journal(void);

/*
 * Log at level; error (a positive or negative errno, or 0) is available to
 * the format as %m. Returns -abs(error), so that callers can write
 * `return log_error_errno(r, "...: %m");`.
 */
int log_internal(int level, int error, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Log message at level with extra journal fields ("NAME=value" strings,
 * NAME in [A-Z0-9_]). On stderr only message is written, so it must carry
 * the same facts in readable form.
 */
void log_struct(int level, const char *message, const char *const *fields, size_t n_fields);

/* A config_warn_fn (config.h) for the daemon: each policy warning at LOG_WARNING. */
void log_config_warning(void *userdata, const char *message);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

#endif
