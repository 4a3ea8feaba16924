/* SPDX-License-Identifier: MIT */
/*
 * A terminal of the child's own (DESIGN.md section 10): ask the daemon for
 * a pty, take its master from the STARTED result and relay it to our own
 * stdin and stdout until the child's side hangs up, then wait for the exit.
 *
 *   spawnd-example-pty-relay SOCKET USER COMMAND [ARG...]
 *
 * Our terminal, if stdin is one, is in raw mode while the child runs, so
 * Ctrl-C reaches the child through its own terminal's line discipline.
 * A resize of our terminal (SIGWINCH, read from a signalfd) is passed on
 * as TIOCSWINSZ on the master, so the child gets its own SIGWINCH. Exits with the child's exit
 * code, 128+N if signal N killed it, 1 if it could not be run.
 */
#define _GNU_SOURCE

#include <sys/ioctl.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawnd/spawnd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define TIMEOUT_USEC (10 * 1000000ull)

/* Write all of buf to fd (blocking). */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Copy both ways until the master reads EIO: every slave fd is closed.
 * winch (a signalfd for SIGWINCH, or -1) copies our window size to the
 * master whenever ours changes.
 */
static void
relay(int master, int winch)
{
	char buf[4096];
	bool in_open = true;

	for (;;) {
		struct pollfd p[3] = {
			{.fd = master, .events = POLLIN},
			{.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
			{.fd = winch, .events = POLLIN},
		};
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents) {
			n = read(master, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return; /* EIO: the child's side hung up */
			if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			struct winsize ws;

			if (read(winch, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				(void)ioctl(master, TIOCSWINSZ, &ws);
		}
		if (p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0)
				(void)write_all(master, buf, (size_t)n);
			else if (!(n < 0 && errno == EINTR)) {
				in_open = false;
				/* Not a terminal: end the child's input as a user would (^D). */
				if (!isatty(STDIN_FILENO))
					(void)write_all(master, "\n\004", 2);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	spawnd_client *c = NULL;
	spawnd_options *o = NULL;
	spawnd_result *started = NULL, *exited = NULL;
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	struct termios saved, raw;
	sigset_t winch_set;
	bool is_raw = false;
	int r, master, winch, code = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET USER COMMAND [ARG...]\n", argv[0]);
		return 1;
	}
	/* Blocked before the size is read: no resize falls in between. */
	sigemptyset(&winch_set);
	sigaddset(&winch_set, SIGWINCH);
	(void)sigprocmask(SIG_BLOCK, &winch_set, NULL);
	winch = signalfd(-1, &winch_set, SFD_CLOEXEC | SFD_NONBLOCK);
	(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);

	r = spawnd_client_open(&c, argv[1], 0);
	if (r == 0)
		r = spawnd_options_new(&o);
	if (r == 0)
		r = spawnd_options_set_argv(o, argv + 3);
	if (r == 0)
		r = spawnd_options_set_user(o, argv[2]);
	/* No fd mapped: the terminal becomes the child's fds 0, 1 and 2. */
	if (r == 0)
		r = spawnd_options_set_pty(o, 1, ws.ws_row, ws.ws_col);
	if (r == 0)
		r = spawnd_start(c, o, TIMEOUT_USEC, &started);
	spawnd_options_free(o);
	if (r < 0) {
		if (spawnd_result_get_state(started) == SPAWND_STATE_FAILED)
			fprintf(stderr, "%s: %s %s: %s\n", argv[3],
				spawnd_stage_to_string(spawnd_result_get_stage(started)),
				spawnd_result_get_detail(started), strerror(-r));
		else
			fprintf(stderr, "%s: %s\n", argv[3], strerror(-r));
		goto out;
	}

	/* Ours from here: closing it would hang the child's terminal up. */
	master = spawnd_result_take_pty_master(started);
	if (master < 0) {
		fprintf(stderr, "no terminal: %s\n", strerror(-master));
		goto out;
	}
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		is_raw = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
	}
	relay(master, winch);
	if (is_raw)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	(void)close(master);

	r = spawnd_wait_exit(c, spawnd_result_get_id(started), TIMEOUT_USEC, &exited);
	if (r < 0) {
		fprintf(stderr, "wait: %s\n", strerror(-r));
		goto out;
	}
	code = spawnd_result_get_signal(exited) > 0 ? 128 + spawnd_result_get_signal(exited)
						    : spawnd_result_get_exit_code(exited);
out:
	if (winch >= 0)
		(void)close(winch);
	spawnd_result_free(exited);
	spawnd_result_free(started);
	spawnd_client_close(c);
	return code;
}
