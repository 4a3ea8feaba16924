/* SPDX-License-Identifier: MIT */
/*
 * Allocate a child's terminal (see pty.h). What grantpt(3) and unlockpt(3)
 * do, by hand: as root we need no pt_chown helper, and the owner is the
 * target, not us. The order matters: TIOCGPTPEER refuses a locked pty, so
 * unlock first; until fchown() the slave still belongs to root with the
 * devpts mount's mode, so only root could open it in between.
 */
#define _GNU_SOURCE
#include "pty.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The slave of master: TIOCGPTPEER (Linux >= 4.13, no path), else /dev/pts/N. */
static int
open_slave(int master)
{
	char path[32];
	int fd, n;

	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return -errno;
	(void)snprintf(path, sizeof(path), "/dev/pts/%d", n);
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int
pty_open(const struct pty_setup *setup, int *ret_master, int *ret_slave)
{
	_cleanup_close_ int master = -EBADF, slave = -EBADF;
	struct winsize ws;
	int unlock = 0;

	if (!setup || !ret_master || !ret_slave)
		return -EINVAL;
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -errno;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return -errno;
	slave = open_slave(master);
	if (slave < 0)
		return slave;
	/* Like a login: the user may write to it, group tty (write(1), wall(1)) may too. */
	if (fchown(slave, setup->uid, setup->gid) < 0)
		return -errno;
	if (fchmod(slave, 0620) < 0)
		return -errno;
	ws = (struct winsize){
		.ws_row = setup->rows,
		.ws_col = setup->cols,
		.ws_xpixel = setup->xpixel,
		.ws_ypixel = setup->ypixel,
	};
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return -errno;
	*ret_master = TAKE_FD(master);
	*ret_slave = TAKE_FD(slave);
	return 0;
}
