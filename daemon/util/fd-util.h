/* SPDX-License-Identifier: MIT */
#ifndef SPAWND_FD_UTIL_H
#define SPAWND_FD_UTIL_H

#include <stddef.h>

/* Close fd if valid, preserving errno; always returns -EBADF. */
int safe_close(int fd);

/* Count the entries of /proc/self/fd (or /proc/PID/fd when pid > 0). */
int fd_count(int pid);

/* Free a NULL-terminated string array; NULL-safe; returns NULL. */
char **strv_free(char **v);

/* Number of entries of a NULL-terminated string array. */
size_t strv_length(char *const *v);

#endif
