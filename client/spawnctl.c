/* SPDX-License-Identifier: MIT */
/*
 * spawnctl: run one command through spawnd and wait for it, like sudo or
 * run0 but without a set-uid binary. The command-line contract (options,
 * exit codes 124..127, the one-line error format) is DESIGN.md section 6.
 *
 * Only main() exits. Signals to forward are blocked and read from a
 * signalfd in the same poll loop as the daemon connection, so that there
 * is no handler and no race between a signal and the poll.
 */
#define _GNU_SOURCE

#include <sys/ioctl.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "spawnd/spawnd.h"
#include "spawnd/version.h"

#define EXIT_TIMED_OUT 124
#define EXIT_REFUSED 125
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

#define DEFAULT_SOCKET "/run/spawnd.sock"
#define SOCKET_ENV "SPAWND_SOCKET"

/* How long to retry while the daemon's listen backlog is full. */
#define CONNECT_RETRY_USEC (5u * 1000000u)

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

#define N_FORWARDED (sizeof(forwarded_signals) / sizeof(forwarded_signals[0]))

static const char usage_line[] =
	"Usage: spawnctl [-s PATH] [-u USER] [-g GROUP] [-G G1,G2...] [-D DIR] [-E NAME=VALUE]... "
	"[--umask MODE] [--fd N[=M]]... [-t] [--detach] [--timeout SECS] [--report] [--json] [--] "
	"COMMAND [ARG...]";

/* Bytes in flight each way between our stdio and the child's terminal. */
#define RELAY_BUF 4096
/* After the child exited: how long the terminal may stay quiet before we stop reading it. */
#define RELAY_DRAIN_MSEC 200

/*
 * -t: the child's terminal (its master) and our side of the relay. Raw
 * mode is set on our stdin only while the child runs, and undone on every
 * way out (tty_restore(), also from atexit()).
 */
struct relay {
	int master;	    /* -1 until Started */
	bool master_eof;    /* read gave EIO (every slave closed) or EOF */
	bool in_eof;	    /* our stdin is done */
	unsigned veof;	    /* VEOF characters still to send after in_eof (not a terminal) */
	bool in_newline;    /* the last input byte was a newline */
	char in[RELAY_BUF]; /* stdin -> master */
	size_t in_len;
	char out[RELAY_BUF]; /* master -> stdout */
	size_t out_len;
};

/* Our terminal's mode before raw mode; restored once. */
static struct termios saved_tty;
static bool tty_is_raw;

static void
tty_restore(void)
{
	if (!tty_is_raw)
		return;
	tty_is_raw = false;
	(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tty);
}

struct ctl {
	const char *socket_path;
	const char *user; /* for messages; what was sent */
	bool detach;
	bool pty; /* -t: a terminal of the child's own, relayed */
	bool report;
	bool json;
	bool timeout; /* --timeout given */
	spawnd_options *opts;

	spawnd_client *client;
	uint64_t id;
	bool started;
	bool finished;
	bool out_of_memory;
	pid_t pid;
	spawnd_result *final; /* FAILED or EXITED */
	/* Signals that arrived before the child existed, in arrival order. */
	int pending[N_FORWARDED];
	size_t n_pending;
	struct relay relay;
};

static void
help(void)
{
	printf("%s\n\n"
	       "Run COMMAND as another user through the spawnd daemon and wait for it.\n\n"
	       "  -s PATH              daemon socket (default $" SOCKET_ENV " or " DEFAULT_SOCKET
	       ")\n"
	       "  -u, --user USER      target user, a name or uid (default root)\n"
	       "  -g, --group GROUP    primary group, one of the target's groups\n"
	       "  -G, --groups G1,G2   supplementary groups (default: all of the target's;\n"
	       "                       leaving any out needs a rule with narrowgroups)\n"
	       "  -D, --chdir DIR      absolute working directory (default /)\n"
	       "  -E, --setenv NAME=VALUE\n"
	       "                       set a variable; the policy must allow it\n"
	       "      --umask MODE     octal file creation mask (default 022; 022 is added\n"
	       "                       unless USER is yourself)\n"
	       "      --fd N[=M]       pass own fd M (default N) as the child's fd N\n"
	       "  -t, --pty            give the child a terminal of its own and relay it\n"
	       "                       (raw mode on ours while it runs)\n"
	       "      --detach         print the pid and exit; the child keeps running\n"
	       "      --timeout SECS   terminate the child after SECS (exit 124)\n"
	       "      --report         print exit status and resource usage on stderr\n"
	       "      --json           the report as one JSON object\n"
	       "  -h, --help           show this help\n"
	       "      --version        show the version\n\n"
	       "Exit status: the command's, 128+N if killed by signal N, 124 timed out,\n"
	       "125 refused or failed before the command started, 126 the command could not\n"
	       "be run, 127 command not found.\n",
	       usage_line);
}

/* A bad command line: say what is wrong, show the usage, exit 125. */
static void bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("spawnctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\n", usage_line);
}

/*
 * Strict unsigned parse: digits of the base only, no sign, no spaces, no
 * empty string, at most max. Returns false on anything else.
 */
static bool
parse_unsigned(const char *s, unsigned base, unsigned long max, unsigned long *ret)
{
	unsigned long v = 0;

	if (!s[0])
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (d >= base || v > (max - d) / base)
			return false;
		v = v * base + d;
	}
	*ret = v;
	return true;
}

/*
 * SECS as decimal seconds with an optional fraction ("2", "0.5", "1.25").
 * Parsed by hand: strtod would depend on the locale's decimal point.
 * Digits beyond microseconds are accepted and ignored.
 */
static bool
parse_seconds(const char *s, uint64_t *ret_usec)
{
	const uint64_t max_sec = UINT64_MAX / 1000000u - 1;
	uint64_t sec = 0, frac = 0, scale = 100000u;
	bool digits = false;

	for (; *s >= '0' && *s <= '9'; s++) {
		sec = sec * 10 + (uint64_t)(*s - '0');
		if (sec > max_sec)
			return false;
		digits = true;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			frac += (uint64_t)(*s - '0') * scale;
			scale /= 10;
			digits = true;
		}
	}
	if (*s || !digits)
		return false;
	*ret_usec = sec * 1000000u + frac;
	return true;
}

static bool
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

enum {
	OPT_UMASK = 0x100,
	OPT_FD,
	OPT_DETACH,
	OPT_TIMEOUT,
	OPT_REPORT,
	OPT_JSON,
	OPT_VERSION,
};

static int
set_umask(spawnd_options *o, const char *arg)
{
	unsigned long mask;

	return parse_unsigned(arg, 8, 0777, &mask) ? spawnd_options_set_umask(o, (unsigned)mask)
						   : -EINVAL;
}

static int
set_timeout(spawnd_options *o, const char *arg)
{
	uint64_t usec;

	return parse_seconds(arg, &usec) ? spawnd_options_set_timeout(o, usec) : -EINVAL;
}

/*
 * The options that hand their argument to one setter; a refusal is
 * bad_usage("<before>'ARG'<after>").
 */
static const struct {
	int opt;
	int (*set)(spawnd_options *o, const char *arg);
	const char *before, *after;
} setters[] = {
	{'u', spawnd_options_set_user, "invalid user ", ""},
	{'g', spawnd_options_set_group, "invalid group ", ""},
	{'D', spawnd_options_set_cwd, "--chdir needs an absolute path, not ", ""},
	{'E', spawnd_options_setenv, "invalid --setenv ", ": expected NAME=VALUE"},
	{OPT_UMASK, set_umask, "invalid --umask ", ": expected octal 0..777"},
	{OPT_TIMEOUT, set_timeout, "invalid --timeout ", ": expected seconds"},
};

/* -G G1,G2: each group in turn. Returns -1 to go on, or the exit code. */
static int
opt_groups(struct ctl *ctl, const char *arg)
{
	char *list = strdup(arg), *save = NULL;
	int r = 0;

	if (!list) {
		fprintf(stderr, "spawnctl: %s\n", strerror(ENOMEM));
		return EXIT_REFUSED;
	}
	/* strtok_r would skip empty names; "a,,b" is a typo, refuse it. */
	for (char *g = list; g && r >= 0; g = save) {
		save = strchr(g, ',');
		if (save)
			*save++ = '\0';
		r = spawnd_options_add_group(ctl->opts, g);
	}
	free(list);
	if (r < 0) {
		bad_usage("invalid group list '%s'", arg);
		return EXIT_REFUSED;
	}
	return -1;
}

/* --fd N[=M]; mapped[N] for N < 3. Returns -1 to go on, or the exit code. */
static int
opt_fd(struct ctl *ctl, char *arg, bool mapped[3])
{
	char *eq = strchr(arg, '=');
	unsigned long child_fd, own_fd;
	bool ok;
	int r;

	if (eq) {
		*eq = '\0';
		ok = parse_unsigned(arg, 10, INT_MAX, &child_fd) &&
		     parse_unsigned(eq + 1, 10, INT_MAX, &own_fd);
		*eq = '=';
	} else {
		ok = parse_unsigned(arg, 10, INT_MAX, &child_fd);
		own_fd = child_fd;
	}
	if (!ok) {
		bad_usage("invalid --fd '%s': expected N or N=M", arg);
		return EXIT_REFUSED;
	}
	if (!fd_is_open((int)own_fd)) {
		fprintf(stderr, "spawnctl: --fd %s: %s\n", arg, strerror(EBADF));
		return EXIT_REFUSED;
	}
	r = spawnd_options_add_fd(ctl->opts, (int)child_fd, (int)own_fd);
	if (r < 0) {
		if (r == -E2BIG)
			bad_usage("too many --fd options");
		else
			bad_usage("invalid --fd '%s': fd out of range or given twice", arg);
		return EXIT_REFUSED;
	}
	if (child_fd < 3)
		mapped[child_fd] = true;
	return -1;
}

/* One option from getopt_long(). Returns -1 to go on, or the exit code. */
static int
parse_option(struct ctl *ctl, int c, char **argv, bool mapped[3])
{
	for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
		if (setters[i].opt != c)
			continue;
		if (setters[i].set(ctl->opts, optarg) < 0) {
			bad_usage("%s'%s'%s", setters[i].before, optarg, setters[i].after);
			return EXIT_REFUSED;
		}
		if (c == 'u')
			ctl->user = optarg;
		ctl->timeout = ctl->timeout || c == OPT_TIMEOUT;
		return -1;
	}
	switch (c) {
	case 'h':
		help();
		return 0;
	case OPT_VERSION:
		printf("spawnctl %s\n", SPAWND_VERSION_STRING);
		return 0;
	case 's':
		if (!optarg[0]) {
			bad_usage("-s needs a socket path");
			return EXIT_REFUSED;
		}
		ctl->socket_path = optarg;
		return -1;
	case 'G':
		return opt_groups(ctl, optarg);
	case OPT_FD:
		return opt_fd(ctl, optarg, mapped);
	case OPT_DETACH:
		ctl->detach = true;
		return -1;
	case 't':
		ctl->pty = true;
		return -1;
	case OPT_REPORT:
	case OPT_JSON:
		/* --json only changes the report's format, so it implies it. */
		ctl->report = true;
		ctl->json = ctl->json || c == OPT_JSON;
		return -1;
	case ':':
		bad_usage("option '%s' needs an argument", argv[optind - 1]);
		return EXIT_REFUSED;
	default:
		if (optopt)
			bad_usage("unknown option '-%c'", optopt);
		else
			bad_usage("unknown option '%s'", argv[optind - 1]);
		return EXIT_REFUSED;
	}
}

/* -t: the child's terminal, our window's size. Returns -1 to go on, or the exit code. */
static int
setup_pty(struct ctl *ctl, const bool mapped[3])
{
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	int r;

	/* Closing the master when we exit hangs the child's terminal up. */
	if (ctl->detach) {
		bad_usage("--pty and --detach cannot be combined");
		return EXIT_REFUSED;
	}
	if (mapped[0] && mapped[1] && mapped[2]) {
		bad_usage("--pty needs one of fds 0, 1, 2 that no --fd maps");
		return EXIT_REFUSED;
	}
	/* Our window's size, else the classic 80x24 (like ssh -tt). */
	(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	r = spawnd_options_set_pty(ctl->opts, 1, ws.ws_row, ws.ws_col);
	if (r == 0)
		r = spawnd_options_set_pty_pixels(ctl->opts, ws.ws_xpixel, ws.ws_ypixel);
	if (r < 0) {
		fprintf(stderr, "spawnctl: --pty: %s\n", strerror(-r));
		return EXIT_REFUSED;
	}
	return -1;
}

/*
 * What the options leave to the command line as a whole: the command, the
 * terminal, our stdio and environment. Returns -1 to go on, or the exit code.
 */
static int
finish_options(struct ctl *ctl, char **command, const bool mapped[3])
{
	int r = spawnd_options_set_argv(ctl->opts, command);

	if (r < 0) {
		if (r == -E2BIG)
			fprintf(stderr, "spawnctl: too many arguments: %s\n", strerror(E2BIG));
		else
			bad_usage("invalid command '%s'", command[0]);
		return EXIT_REFUSED;
	}
	if (ctl->pty && (r = setup_pty(ctl, mapped)) >= 0)
		return r;
	/*
	 * Our own stdio becomes the child's, but only what is open: a closed
	 * stdio fd is simply not mapped, and the daemon gives /dev/null.
	 * With -t the child's terminal is its stdio instead.
	 */
	for (int fd = 0; fd < 3 && !ctl->pty; fd++) {
		if (mapped[fd] || !fd_is_open(fd))
			continue;
		r = spawnd_options_add_fd(ctl->opts, fd, fd);
		if (r < 0) {
			fprintf(stderr, "spawnctl: fd %d: %s\n", fd, strerror(-r));
			return EXIT_REFUSED;
		}
	}
	r = spawnd_options_inherit_environ(ctl->opts, environ);
	if (r < 0) {
		fprintf(stderr, "spawnctl: environment: %s\n", strerror(-r));
		return EXIT_REFUSED;
	}
	if (ctl->detach)
		(void)spawnd_options_set_keep(ctl->opts, 1);
	return -1;
}

/*
 * Parse the command line into ctl and its options. Returns -1 to go on,
 * or the exit code when done (help, version, bad usage).
 */
static int
parse_args(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"user", required_argument, NULL, 'u'},
		{"group", required_argument, NULL, 'g'},
		{"groups", required_argument, NULL, 'G'},
		{"chdir", required_argument, NULL, 'D'},
		{"setenv", required_argument, NULL, 'E'},
		{"umask", required_argument, NULL, OPT_UMASK},
		{"fd", required_argument, NULL, OPT_FD},
		{"detach", no_argument, NULL, OPT_DETACH},
		{"pty", no_argument, NULL, 't'},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"report", no_argument, NULL, OPT_REPORT},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	bool mapped[3] = {false, false, false};
	int c, r;

	/* '+': stop at the command, whose own options are not ours. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hs:u:g:G:D:E:t", longopts, NULL)) != -1)
		if ((r = parse_option(ctl, c, argv, mapped)) >= 0)
			return r;
	if (optind >= argc) {
		bad_usage("no command given");
		return EXIT_REFUSED;
	}
	return finish_options(ctl, argv + optind, mapped);
}

static void
forward(struct ctl *ctl, int signo)
{
	/* ESRCH (the child just exited) is expected and harmless. */
	(void)spawnd_signal_async(ctl->client, ctl->id, signo, 0);
}

/* Our window's size onto the child's terminal (SIGWINCH). */
static void
relay_winsize(struct ctl *ctl)
{
	struct winsize ws;

	if (ctl->relay.master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(ctl->relay.master, TIOCSWINSZ, &ws);
}

/*
 * Started with -t: keep our own copy of the master (the result's goes with
 * the spawn's final callback), and put our terminal, if stdin is one, in
 * raw mode: every key, Ctrl-C included, goes to the child's terminal, whose
 * line discipline turns it into the child's signal.
 */
static void
relay_start(struct ctl *ctl, const spawnd_result *r)
{
	struct termios raw;
	int fd = spawnd_result_get_pty_master(r);

	if (fd < 0) {
		fprintf(stderr, "spawnctl: the daemon sent no terminal: %s\n", strerror(-fd));
		return;
	}
	ctl->relay.master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (ctl->relay.master < 0) {
		fprintf(stderr, "spawnctl: terminal: %s\n", strerror(errno));
		return;
	}
	/* Our master only: our stdio's file status flags are shared with others. */
	(void)fcntl(ctl->relay.master, F_SETFL, fcntl(ctl->relay.master, F_GETFL) | O_NONBLOCK);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		raw = saved_tty;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
			tty_is_raw = true;
	}
}

/* Copy what is ready, each way; revents of our stdin, stdout and the master. */
static void
relay_io(struct ctl *ctl, short in_ev, short out_ev, short master_ev)
{
	struct relay *x = &ctl->relay;
	ssize_t n;

	if ((master_ev & (POLLIN | POLLHUP | POLLERR)) && x->out_len < sizeof(x->out)) {
		n = read(x->master, x->out + x->out_len, sizeof(x->out) - x->out_len);
		/* EIO: every slave fd is closed, the child's side hung up. */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			x->master_eof = true;
		else if (n > 0)
			x->out_len += (size_t)n;
	}
	if ((out_ev & (POLLOUT | POLLERR | POLLHUP)) && x->out_len > 0) {
		n = write(STDOUT_FILENO, x->out, x->out_len);
		if (n > 0) {
			memmove(x->out, x->out + n, x->out_len - (size_t)n);
			x->out_len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			x->out_len = 0; /* nobody reads our stdout: drop it */
	}
	if ((in_ev & (POLLIN | POLLHUP | POLLERR)) && x->in_len < sizeof(x->in)) {
		n = read(STDIN_FILENO, x->in + x->in_len, sizeof(x->in) - x->in_len);
		if (n > 0) {
			x->in_len += (size_t)n;
			x->in_newline = x->in[x->in_len - 1] == '\n';
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* Not a terminal: end the child's input as a user would, with
			 * VEOF (twice after a partial line, once after a newline). */
			x->in_eof = true;
			x->veof = isatty(STDIN_FILENO) ? 0 : x->in_newline ? 1 : 2;
		}
	}
	if ((master_ev & POLLOUT) && x->in_len > 0) {
		n = write(x->master, x->in, x->in_len);
		if (n > 0) {
			memmove(x->in, x->in + n, x->in_len - (size_t)n);
			x->in_len -= (size_t)n;
		}
	}
	if ((master_ev & POLLOUT) && x->in_len == 0 && x->veof > 0) {
		struct termios t;
		char c = 4; /* ^D */

		if (tcgetattr(x->master, &t) == 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
			c = (char)t.c_cc[VEOF];
		if (write(x->master, &c, 1) == 1)
			x->veof--;
	}
}

/*
 * The child is gone: what it wrote before it exited is already in the
 * terminal; copy it out until EIO (every slave closed) or until the
 * terminal stays quiet for a moment (a descendant still holds the slave).
 */
static void
relay_drain(struct ctl *ctl)
{
	struct relay *x = &ctl->relay;

	while (x->master >= 0 && (!x->master_eof || x->out_len > 0)) {
		struct pollfd p[2] = {
			{.fd = x->out_len > 0 ? STDOUT_FILENO : -1, .events = POLLOUT},
			{.fd = x->master_eof || x->out_len == sizeof(x->out) ? -1 : x->master,
			 .events = POLLIN},
		};
		int r = poll(p, 2, RELAY_DRAIN_MSEC);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		relay_io(ctl, 0, p[0].revents, p[1].revents);
	}
}

static void
on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct ctl *ctl = userdata;

	(void)c;
	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		ctl->started = true;
		ctl->pid = spawnd_result_get_pid(r);
		if (ctl->pty)
			relay_start(ctl, r);
		if (ctl->detach) {
			ctl->finished = true;
			break;
		}
		/* A signal that came before the child existed goes out now. */
		for (size_t i = 0; i < ctl->n_pending; i++)
			forward(ctl, ctl->pending[i]);
		ctl->n_pending = 0;
		break;
	case SPAWND_STATE_FAILED:
	case SPAWND_STATE_EXITED:
		ctl->final = spawnd_result_dup(r);
		if (!ctl->final)
			ctl->out_of_memory = true;
		ctl->finished = true;
		break;
	default:
		break;
	}
}

/* Read every queued signal: forward it, or remember it until Started. */
static void
drain_signals(struct ctl *ctl, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;
		bool seen = false;

		/* -t: our window changed; the child's terminal follows (its
		 * foreground process group gets SIGWINCH from the kernel). */
		if (signo == SIGWINCH) {
			relay_winsize(ctl);
			continue;
		}

		if (ctl->started) {
			forward(ctl, signo);
			continue;
		}
		for (size_t i = 0; i < ctl->n_pending; i++)
			seen = seen || ctl->pending[i] == signo;
		if (!seen && ctl->n_pending < N_FORWARDED)
			ctl->pending[ctl->n_pending++] = signo;
	}
}

/*
 * Connect, retrying briefly with backoff while the daemon's backlog is
 * full (EAGAIN): that is load, not an error worth failing a command for.
 */
static int
connect_daemon(struct ctl *ctl)
{
	struct timespec delay = {.tv_sec = 0, .tv_nsec = 1000000};
	uint64_t waited = 0;
	int r;

	for (;;) {
		r = spawnd_client_open(&ctl->client, ctl->socket_path, 0);
		if (r != -EAGAIN || waited >= CONNECT_RETRY_USEC)
			return r;
		(void)nanosleep(&delay, NULL);
		waited += (uint64_t)delay.tv_nsec / 1000u;
		if (delay.tv_nsec < 100000000)
			delay.tv_nsec *= 2;
	}
}

/*
 * A child that the daemon killed before it exec'd gets Failed{EXEC}
 * (docs/protocol.md): ETIMEDOUT when the time limit did it, which is 124
 * as for a program that ran out of time; ECANCELED otherwise (126, the
 * command did not run).
 */
static int
failed_exit_code(const struct ctl *ctl, spawnd_stage stage, int err)
{
	if (stage == SPAWND_STAGE_RESOLVE || (stage == SPAWND_STAGE_EXEC && err == ENOENT))
		return EXIT_NOT_FOUND;
	if (stage == SPAWND_STAGE_EXEC && err == ETIMEDOUT && ctl->timeout)
		return EXIT_TIMED_OUT;
	if (stage >= SPAWND_STAGE_FD_SETUP && stage <= SPAWND_STAGE_EXEC)
		return EXIT_CANNOT_RUN;
	return EXIT_REFUSED;
}

/* One line on stderr naming the stage, what failed and why. */
static void
print_failure(const struct ctl *ctl, const spawnd_result *r)
{
	spawnd_stage stage = spawnd_result_get_stage(r);
	const char *detail = spawnd_result_get_detail(r);
	int err = spawnd_result_get_errno(r);

	if (stage == SPAWND_STAGE_POLICY) {
		fprintf(stderr, "spawnctl: denied by policy: %s\n",
			detail[0] ? detail : "no matching rule");
		return;
	}
	/* The daemon's detail for these is a whole phrase ("unknown user x",
	 * "setenv LD_PRELOAD: not allowed by policy"). */
	if ((stage == SPAWND_STAGE_PREPARE || stage == SPAWND_STAGE_LIMIT) && detail[0]) {
		fprintf(stderr, "spawnctl: %s (as %s)\n", detail, ctl->user);
		return;
	}
	if (stage == SPAWND_STAGE_PROTOCOL && !detail[0]) {
		fprintf(stderr, "spawnctl: connection to %s: %s\n", ctl->socket_path,
			strerror(err));
		return;
	}
	fprintf(stderr, "spawnctl: %s%s%s: %s (as %s)\n", spawnd_stage_to_string(stage),
		detail[0] ? " " : "", detail, strerror(err), ctl->user);
}

static void
print_report(const struct ctl *ctl, const spawnd_result *r)
{
	uint64_t user = spawnd_result_get_user_cpu_usec(r);
	uint64_t sys = spawnd_result_get_sys_cpu_usec(r);
	uint64_t rss = spawnd_result_get_max_rss_kb(r);
	uint64_t wall = spawnd_result_get_wall_usec(r);
	int signo = spawnd_result_get_signal(r);
	bool timed_out = spawnd_result_get_timed_out(r);

	if (ctl->json) {
		fputc('{', stderr);
		if (signo > 0)
			fprintf(stderr, "\"signal\":%d,\"core_dumped\":%s", signo,
				spawnd_result_get_core_dumped(r) ? "true" : "false");
		else
			fprintf(stderr, "\"exit_code\":%d", spawnd_result_get_exit_code(r));
		fprintf(stderr,
			",\"user_cpu_us\":%" PRIu64 ",\"sys_cpu_us\":%" PRIu64
			",\"max_rss_kb\":%" PRIu64 ",\"wall_us\":%" PRIu64 ",\"timed_out\":%s}\n",
			user, sys, rss, wall, timed_out ? "true" : "false");
		return;
	}

	if (signo > 0)
		fprintf(stderr, "spawnctl: killed by signal %d (%s)%s", signo, strsignal(signo),
			spawnd_result_get_core_dumped(r) ? ", core dumped" : "");
	else
		fprintf(stderr, "spawnctl: exit status %d", spawnd_result_get_exit_code(r));
	fprintf(stderr,
		"%s; user %" PRIu64 ".%06" PRIu64 " s, system %" PRIu64 ".%06" PRIu64
		" s, max RSS %" PRIu64 " KiB, wall %" PRIu64 ".%06" PRIu64 " s\n",
		timed_out ? " (timed out)" : "", user / 1000000u, user % 1000000u, sys / 1000000u,
		sys % 1000000u, rss, wall / 1000000u, wall % 1000000u);
}

/* The exit code of spawnctl for a finished request (and its messages). */
static int
finish(struct ctl *ctl)
{
	const spawnd_result *r = ctl->final;
	int signo;

	if (ctl->detach && ctl->started) {
		printf("%d\n", (int)ctl->pid);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "spawnctl: cannot print pid %d: %s\n", (int)ctl->pid,
				strerror(errno));
			return EXIT_REFUSED;
		}
		return 0;
	}
	if (!r) {
		fprintf(stderr, "spawnctl: %s\n", strerror(ENOMEM));
		return EXIT_REFUSED;
	}
	if (spawnd_result_get_state(r) == SPAWND_STATE_FAILED) {
		print_failure(ctl, r);
		return failed_exit_code(ctl, spawnd_result_get_stage(r),
					spawnd_result_get_errno(r));
	}

	if (ctl->report)
		print_report(ctl, r);
	if (spawnd_result_get_timed_out(r))
		return EXIT_TIMED_OUT;
	signo = spawnd_result_get_signal(r);
	if (signo > 0)
		return 128 + signo;
	return spawnd_result_get_exit_code(r) & 0xff;
}

/*
 * Block the forwarded signals (and SIGWINCH with -t) and open a signalfd
 * for them. Blocking comes first, so that one arriving at any point from
 * here on is queued for the signalfd instead of killing us (which would
 * make the daemon terminate the child). Returns the fd or -errno.
 */
static int
open_signalfd(const struct ctl *ctl)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaddset(&mask, forwarded_signals[i]);
	if (ctl->pty)
		sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? -errno : sfd;
}

/* Connect and send the request. Returns 0, or -errno after saying what failed. */
static int
send_request(struct ctl *ctl)
{
	int r;

	r = connect_daemon(ctl);
	if (r < 0) {
		fprintf(stderr, "spawnctl: cannot connect to %s: %s\n", ctl->socket_path,
			strerror(-r));
		return r;
	}
	r = spawnd_spawn_async(ctl->client, ctl->opts, on_reply, ctl, &ctl->id);
	if (r < 0) {
		fprintf(stderr, "spawnctl: cannot send request to %s: %s\n", ctl->socket_path,
			strerror(-r));
		return r;
	}
	return 0;
}

/* The poll loop's fds: the daemon, the signalfd, and with -t the relay's three ends. */
enum {
	POLL_CLIENT,
	POLL_SIGNALS,
	POLL_STDIN,
	POLL_STDOUT,
	POLL_MASTER,
	_POLL_MAX,
};

/* What to wait for now; an fd of -1 is ignored by poll(). */
static void
poll_set(const struct ctl *ctl, int sfd, struct pollfd p[_POLL_MAX])
{
	const struct relay *x = &ctl->relay;
	bool relaying = x->master >= 0;

	p[POLL_CLIENT] = (struct pollfd){.fd = spawnd_client_get_fd(ctl->client),
					 .events = (short)spawnd_client_get_events(ctl->client)};
	p[POLL_SIGNALS] = (struct pollfd){.fd = sfd, .events = POLLIN};
	p[POLL_STDIN] = (struct pollfd){
		.fd = relaying && !x->in_eof && x->in_len < sizeof(x->in) ? STDIN_FILENO : -1,
		.events = POLLIN};
	p[POLL_STDOUT] = (struct pollfd){.fd = relaying && x->out_len > 0 ? STDOUT_FILENO : -1,
					 .events = POLLOUT};
	p[POLL_MASTER] =
		(struct pollfd){.fd = relaying && !x->master_eof ? x->master : -1,
				.events = (short)((x->out_len < sizeof(x->out) ? POLLIN : 0) |
						  (x->in_len > 0 || x->veof > 0 ? POLLOUT : 0))};
}

/*
 * Serve the daemon connection, the signals and the relay until the request
 * is finished (on_reply; a lost connection fails the spawn there too).
 * Returns 0, or -errno after restoring the terminal and saying what failed.
 */
static int
poll_until_finished(struct ctl *ctl, int sfd)
{
	while (!ctl->finished) {
		bool relaying = ctl->relay.master >= 0;
		struct pollfd p[_POLL_MAX];
		int r;

		poll_set(ctl, sfd, p);
		if (poll(p, _POLL_MAX, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			tty_restore();
			fprintf(stderr, "spawnctl: poll: %s\n", strerror(-r));
			return r;
		}
		if (p[POLL_SIGNALS].revents)
			drain_signals(ctl, sfd);
		if (relaying)
			relay_io(ctl, p[POLL_STDIN].revents, p[POLL_STDOUT].revents,
				 p[POLL_MASTER].revents);
		if (!p[POLL_CLIENT].revents)
			continue;
		r = spawnd_client_process(ctl->client);
		if (r < 0 && !ctl->finished) {
			tty_restore();
			fprintf(stderr, "spawnctl: connection to %s: %s\n", ctl->socket_path,
				strerror(-r));
			return r;
		}
	}
	return 0;
}

/* After the request: copy out what the child's terminal still holds, then
 * close our side of it, which hangs it up, and give our terminal back. */
static void
relay_close(struct ctl *ctl)
{
	relay_drain(ctl);
	if (ctl->relay.master >= 0)
		(void)close(ctl->relay.master);
	ctl->relay.master = -1;
	tty_restore();
}

/* Send the request and run the poll loop until the child is done. */
static int
run(struct ctl *ctl)
{
	int sfd, r;

	sfd = open_signalfd(ctl);
	if (sfd < 0) {
		fprintf(stderr, "spawnctl: signalfd: %s\n", strerror(-sfd));
		return EXIT_REFUSED;
	}
	r = send_request(ctl);
	if (r >= 0)
		r = poll_until_finished(ctl, sfd);
	(void)close(sfd);
	if (r < 0)
		return EXIT_REFUSED;
	relay_close(ctl);
	return finish(ctl);
}

int
main(int argc, char **argv)
{
	struct ctl ctl = {.user = "root", .relay = {.master = -1}};
	int r;

	/* Our stderr may be a closed pipe; a failed write must not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	/* -t: our terminal's mode comes back on every exit, also exit() in a library. */
	(void)atexit(tty_restore);

	r = spawnd_options_new(&ctl.opts);
	if (r < 0) {
		fprintf(stderr, "spawnctl: %s\n", strerror(-r));
		return EXIT_REFUSED;
	}
	r = parse_args(&ctl, argc, argv);
	if (r < 0) {
		if (!ctl.socket_path) {
			const char *env = getenv(SOCKET_ENV);

			ctl.socket_path = env && env[0] ? env : DEFAULT_SOCKET;
		}
		r = run(&ctl);
	}

	ctl.final = spawnd_result_free(ctl.final);
	ctl.client = spawnd_client_close(ctl.client);
	ctl.opts = spawnd_options_free(ctl.opts);
	return r;
}
