/* SPDX-License-Identifier: MIT */
/*
 * A pseudo-terminal for one child (DESIGN.md section 10): the master for
 * the client, the slave for the child, set up as login does it (the slave
 * belongs to the target, group tty, mode 0620). Fixed device paths only,
 * never a client-chosen one: safe on the event loop.
 */
#ifndef SPAWND_PTY_H
#define SPAWND_PTY_H

#include <sys/types.h>

/* The terminal's owner and its initial window size. */
struct pty_setup {
	uid_t uid; /* the slave's owner: the target user */
	gid_t gid; /* the slave's group (tty), or (gid_t)-1 to leave it */
	unsigned short rows, cols, xpixel, ypixel;
};

/*
 * Open /dev/ptmx (O_RDWR|O_NOCTTY|O_CLOEXEC), unlock it, open its slave
 * (O_RDWR|O_NOCTTY|O_CLOEXEC; TIOCGPTPEER, else by name), give the slave
 * to the target (fchown uid:gid, fchmod 0620) and set the window size.
 * Returns 0 with *ret_master and *ret_slave, or -errno with nothing open.
 */
int pty_open(const struct pty_setup *setup, int *ret_master, int *ret_slave);

#endif
