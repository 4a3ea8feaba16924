/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE

#include "fd-util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		/* Linux closes the fd even when close() fails with EINTR:
		 * never retry (close(2), "Dealing with error returns"). */
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}

int
fd_count(int pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (pid > 0)
		(void)snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	else
		(void)snprintf(path, sizeof(path), "/proc/self/fd");
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d);
	/* Our own opendir() fd is in the listing. */
	return pid > 0 ? n : n - 1;
}

char **
strv_free(char **v)
{
	if (v) {
		for (char **s = v; *s; s++)
			free(*s);
		free(v);
	}
	return NULL;
}

size_t
strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}
