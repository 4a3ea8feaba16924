/* SPDX-License-Identifier: MIT */
/*
 * pty-stall: a spawn target that camps in its terminal's line discipline.
 *
 *   pty-stall FILE READY_FIFO GO_FIFO
 *
 * Run on a pty the daemon allocated (fd 1 is the slave). It maps the first
 * page of FILE (on a FUSE file system that the test will freeze) without
 * touching it, then forks a child that blocks every signal, writes its pid
 * and "\n" to READY_FIFO, waits for one byte on GO_FIFO and then write()s
 * that page to fd 1. With the FUSE server frozen, the copy from the page
 * faults and waits for a READ nobody answers, inside the slave's line
 * discipline: until then, a hangup of the slave (the last close of its
 * master, pty_close() -> tty_vhangup()) waits for it, uninterruptibly,
 * in tty_ldisc_hangup(). The child outlives this process, which exits 0 at
 * once; it exits once its write returns (the server is gone: EFAULT).
 */
#define _GNU_SOURCE

#include <sys/mman.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char line[32], byte;
	sigset_t all;
	void *page;
	pid_t pid;
	int fd, ready, go;

	if (argc != 4) {
		fprintf(stderr, "usage: pty-stall FILE READY_FIFO GO_FIFO\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	/* Private: the page cache, and so a READ, stands behind it (direct_io or not). */
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/*
	 * Before the fork: neither the daemon's signals, nor the SIGHUP that
	 * our exit sends the terminal's foreground group, nor the hangup's may
	 * end the child or its write.
	 */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid > 0)
		return 0;
	ready = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (ready < 0)
		return 1;
	(void)snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(ready, line, strlen(line)) < 0)
		return 1;
	(void)close(ready);
	go = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (go < 0 || read(go, &byte, 1) != 1)
		return 1;
	(void)!write(STDOUT_FILENO, page, 4096);
	return 0;
}
