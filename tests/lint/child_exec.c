/* SPDX-License-Identifier: MIT */
/*
 * Not the child-exec core: a stand-in with the same object name that makes
 * the libc calls the real one must never make (write, close and open are
 * cancellation points; each also writes errno). lint/child-exec-symbols-
 * selftest runs tests/check-child-exec-symbols.sh on it and expects the
 * check to fail and to name each of them: proof that the allowlist would
 * catch such a wrapper in daemon/child_exec.c.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

int child_exec_lint_bad(const char *path);

int
child_exec_lint_bad(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	(void)!write(fd, "x", 1);
	return close(fd);
}
