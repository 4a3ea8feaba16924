/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix_priority;

void
log_init(void)
{
	/* journald parses "<N>" prefixes on a stream it set up for us. */
	prefix_priority = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_max_level(int level)
{
	max_level = level;
}

bool
log_enabled(int level)
{
	return level <= max_level;
}

int
log_level_from_string(const char *s)
{
	static const char *const names[] = {
		[LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};

	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
			return i;
	if (strcmp(s, "error") == 0)
		return LOG_ERR;
	return -EINVAL;
}

int
log_internal(int level, int error, const char *format, ...)
{
	char buf[4096];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > max_level)
		return -error;

	errno = error;
	va_start(ap, format);
	(void)vsnprintf(buf, sizeof(buf), format, ap);
	va_end(ap);

	if (prefix_priority)
		(void)fprintf(stderr, "<%d>spawnd: %s\n", level, buf);
	else
		(void)fprintf(stderr, "spawnd: %s\n", buf);
	return -error;
}
