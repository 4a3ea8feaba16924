/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging: one line per event on stderr, "<level>spawnd: message".
 * Under systemd (JOURNAL_STREAM set) the "<N>" syslog-priority prefix is
 * understood by journald; elsewhere it is omitted. Only main.c, server.c,
 * conn.c, reaper.c and audit.c log; other modules return -errno.
 */
#ifndef SPAWND_LOG_H
#define SPAWND_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_init(void);
/* LOG_ERR..LOG_DEBUG; messages above it are dropped. */
void log_set_max_level(int level);
/* "err", "warning", "notice", "info", "debug" (or 3..7) -> level, or -EINVAL. */
int log_level_from_string(const char *s);
bool log_enabled(int level);

/*
 * Log at level; error (a positive or negative errno, or 0) is available to
 * the format as %m. Returns -abs(error), so that callers can write
 * `return log_error_errno(r, "...: %m");`.
 */
int log_internal(int level, int error, const char *format, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

#endif
