/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "log.h"

#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "macro.h"

#define LOG_MAX_FIELDS 16

static int max_level = LOG_INFO;
static bool journal;

/*
 * $JOURNAL_STREAM alone is not proof: a parent may have redirected our
 * stderr and kept the variable (systemd.exec(5)). Compare device and inode.
 */
static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(void)
{
	journal = stderr_is_journal();
}

bool
log_to_journal(void)
{
	return journal;
}

void
log_set_max_level(int level)
{
	max_level = level;
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

void
log_struct(int level, const char *message, const char *const *fields, size_t n_fields)
{
	if (level > max_level)
		return;
	if (journal) {
		struct iovec iov[LOG_MAX_FIELDS + 3];
		char priority[16], *msg = NULL;
		size_t n = 0;

		if (asprintf(&msg, "MESSAGE=%s", message) < 0)
			msg = NULL;
		(void)snprintf(priority, sizeof(priority), "PRIORITY=%d", level);
		iov[n++] = (struct iovec){.iov_base = msg ? msg : (char *)"MESSAGE=(out of memory)",
					  .iov_len = msg ? strlen(msg) : 23};
		iov[n++] = (struct iovec){.iov_base = priority, .iov_len = strlen(priority)};
		iov[n++] = (struct iovec){.iov_base = (char *)"SYSLOG_IDENTIFIER=spawnd",
					  .iov_len = 24};
		for (size_t i = 0; i < n_fields && i < LOG_MAX_FIELDS; i++)
			iov[n++] = (struct iovec){.iov_base = (char *)fields[i],
						  .iov_len = strlen(fields[i])};
		/* If journald is gone, fall back to stderr rather than lose it. */
		if (sd_journal_sendv(iov, (int)n) >= 0) {
			free(msg);
			return;
		}
		free(msg);
	}
	(void)fprintf(stderr, "spawnd: %s\n", message);
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
	log_struct(level, buf, NULL, 0);
	return -error;
}

void
log_config_warning(void *userdata, const char *message)
{
	(void)userdata;
	log_internal(LOG_WARNING, 0, "%s", message);
}
