/* SPDX-License-Identifier: MIT */
/*
 * spawnd: command line, start-up and the event loop. No protocol logic here.
 * Contract: DESIGN.md section 6 and spawnd(8).
 */
#define _GNU_SOURCE

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "closer.h"
#include "config.h"
#include "log.h"
#include "query.h"
#include "resolver.h"
#include "server.h"
#include "spawn.h"
#include "spawnd/version.h"
#include "util/cleanup.h"
#include "wire.h"

#define DEFAULT_CONFIG "/etc/spawnd.conf"

struct options {
	const char *socket_path;
	const char *config_path;
	enum spawn_engine engine;
	unsigned exit_idle_sec;
	unsigned lookup_timeout_sec;
	int log_level;
	bool check_config;
	bool query;
	char **query_args;	  /* CLIENT TARGET CMD [ARG...] */
	const char *query_group;  /* --group G: the primary group a request would ask for */
	const char *query_groups; /* --groups G1,G2: its supplementary groups (spawnctl -G) */
};

static void
usage(FILE *f)
{
	(void)fprintf(
		f,
		"Usage: spawnd [OPTIONS]\n"
		"       spawnd [-c FILE] --check-config\n"
		"       spawnd [-c FILE] --query [--group G] [--groups G1,G2] CLIENT TARGET -- "
		"CMD [ARG...]\n"
		"\n"
		"Privileged spawn daemon: starts programs as other users for local\n"
		"clients, as the policy allows.\n"
		"\n"
		"  -s, --socket PATH     listen on PATH (default $SPAWND_SOCKET or %s);\n"
		"                        with LISTEN_FDS (socket activation) the passed\n"
		"                        socket is served instead\n"
		"  -c, --config FILE     policy file (default %s)\n"
		"      --engine ENGINE   how children are started: vfork or fork\n"
		"                        (default %s)\n"
		"      --exit-idle SECS  exit after SECS with no connection and no child\n"
		"      --lookup-timeout SECS\n"
		"                        fail a spawn whose user lookup (NSS) or command\n"
		"                        path lookup takes longer (default %u)\n"
		"      --log-level LEVEL err, warning, notice, info (default), debug\n"
		"      --check-config    validate the policy file and exit\n"
		"      --query CLIENT TARGET -- CMD [ARG...]\n"
		"                        print the decision for CLIENT running CMD as TARGET\n"
		"      --group G, --groups G1,G2\n"
		"                        with --query: the primary and supplementary groups\n"
		"                        asked for (spawnctl -g, -G)\n"
		"  -h, --help            show this help\n"
		"      --version         show the version\n",
		SPAWND_DEFAULT_SOCKET, DEFAULT_CONFIG, spawn_engine_to_string(SPAWN_ENGINE_DEFAULT),
		SPAWND_LOOKUP_TIMEOUT_SEC);
}

/* Strict decimal seconds: digits only, 1..86400*365. */
static int
parse_seconds(const char *s, unsigned *ret)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 86400ul * 365)
			return -ERANGE;
	}
	if (v == 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Long options without a short form. */
enum {
	OPT_ENGINE = 0x100,
	OPT_EXIT_IDLE,
	OPT_LOOKUP_TIMEOUT,
	OPT_LOG_LEVEL,
	OPT_CHECK_CONFIG,
	OPT_QUERY,
	OPT_QUERY_GROUP,
	OPT_QUERY_GROUPS,
	OPT_VERSION,
};

static const struct option longopts[] = {
	{"socket", required_argument, NULL, 's'},
	{"config", required_argument, NULL, 'c'},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"exit-idle", required_argument, NULL, OPT_EXIT_IDLE},
	{"lookup-timeout", required_argument, NULL, OPT_LOOKUP_TIMEOUT},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"query", no_argument, NULL, OPT_QUERY},
	{"group", required_argument, NULL, OPT_QUERY_GROUP},
	{"groups", required_argument, NULL, OPT_QUERY_GROUPS},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{0},
};

/* A command-line error: "spawnd: " and the message on stderr; returns exit code 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	(void)fputs("spawnd: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	return 2;
}

/* The defaults, before any option: $SPAWND_SOCKET, when set, names the socket. */
static void
options_init(struct options *o)
{
	o->socket_path = getenv(SPAWND_SOCKET_ENV);
	if (!o->socket_path || !*o->socket_path)
		o->socket_path = SPAWND_DEFAULT_SOCKET;
	o->config_path = DEFAULT_CONFIG;
	o->engine = SPAWN_ENGINE_DEFAULT;
	o->lookup_timeout_sec = SPAWND_LOOKUP_TIMEOUT_SEC;
	o->log_level = LOG_INFO;
}

/* --engine: "fork" or "vfork". Returns -1 to continue, else an exit code. */
static int
parse_engine(const char *arg, enum spawn_engine *ret)
{
	if (strcmp(arg, "fork") == 0)
		*ret = SPAWN_ENGINE_FORK;
	else if (strcmp(arg, "vfork") == 0)
		*ret = SPAWN_ENGINE_VFORK;
	else
		return usage_error("unknown engine '%s' (fork, vfork)", arg);
	return -1;
}

/* One option from getopt_long() (its argument in optarg). Returns -1 to continue, else an
 * exit code. */
static int
parse_option(int c, struct options *o)
{
	switch (c) {
	case 's':
		o->socket_path = optarg;
		return -1;
	case 'c':
		o->config_path = optarg;
		return -1;
	case OPT_ENGINE:
		return parse_engine(optarg, &o->engine);
	case OPT_EXIT_IDLE:
		if (parse_seconds(optarg, &o->exit_idle_sec) < 0)
			return usage_error("invalid --exit-idle '%s'", optarg);
		return -1;
	case OPT_LOOKUP_TIMEOUT:
		if (parse_seconds(optarg, &o->lookup_timeout_sec) < 0 ||
		    o->lookup_timeout_sec > 3600)
			return usage_error("invalid --lookup-timeout '%s' (1..3600)", optarg);
		return -1;
	case OPT_LOG_LEVEL:
		o->log_level = log_level_from_string(optarg);
		if (o->log_level < 0)
			return usage_error("invalid --log-level '%s'", optarg);
		return -1;
	case OPT_CHECK_CONFIG:
		o->check_config = true;
		return -1;
	case OPT_QUERY:
		o->query = true;
		return -1;
	case OPT_QUERY_GROUP:
		o->query_group = optarg;
		return -1;
	case OPT_QUERY_GROUPS:
		o->query_groups = optarg;
		return -1;
	case 'h':
		usage(stdout);
		return 0;
	case OPT_VERSION:
		(void)printf("spawnd %s\n", SPAWND_VERSION_STRING);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
}

/*
 * What follows the options: CLIENT TARGET [--] CMD [ARG...] with --query
 * (getopt already ate a "--" before CLIENT), nothing otherwise. Returns -1
 * to continue, else an exit code.
 */
static int
parse_operands(int argc, char **argv, struct options *o)
{
	if (!o->query) {
		if (optind < argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		if (o->query_group || o->query_groups)
			return usage_error("--group and --groups go with --query");
		return -1;
	}
	if (argc - optind < 3)
		return usage_error("--query needs CLIENT TARGET -- CMD [ARG...]");
	o->query_args = argv + optind;
	if (strcmp(o->query_args[2], "--") == 0) {
		if (argc - optind < 4)
			return usage_error("--query needs a command");
		/* Shift CLIENT TARGET over the "--". */
		o->query_args[2] = o->query_args[1];
		o->query_args[1] = o->query_args[0];
		o->query_args++;
	}
	return -1;
}

/* Returns -1 to continue, else an exit code. */
static int
parse_argv(int argc, char **argv, struct options *o)
{
	int c, r;

	options_init(o);
	while ((c = getopt_long(argc, argv, "+s:c:h", longopts, NULL)) != -1) {
		r = parse_option(c, o);
		if (r >= 0)
			return r;
	}
	return parse_operands(argc, argv, o);
}

/* Bind our own socket, mode 0666: the policy is the gate, not the mode. */
static int
bind_socket(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_umask;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "Socket path %s: %m", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(errno, "socket(): %m");

	/* A stale socket from a previous run is replaced; anything else at
	 * that path is left alone and is an error. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)unlink(path);

	/* Credentials on every message from the first connection on (server.c). */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) < 0) {
		r = log_error_errno(errno, "Failed to set SO_PASSCRED: %m");
		(void)safe_close(fd);
		return r;
	}

	old_umask = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	(void)umask(old_umask);
	if (r < 0) {
		r = log_error_errno(errno, "Failed to bind %s: %m", path);
		(void)safe_close(fd);
		return r;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = log_error_errno(errno, "listen(%s): %m", path);
		(void)safe_close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* One passed socket (socket activation); it must be a listening SEQPACKET one. */
static int
passed_socket(int n, int *ret_fd)
{
	int fd = SD_LISTEN_FDS_START;

	if (n != 1)
		return log_error_errno(EINVAL,
				       "Expected exactly one socket from LISTEN_FDS, got %d", n);
	if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
		return log_error_errno(EINVAL,
				       "The passed socket (fd %d) is not a listening "
				       "AF_UNIX SOCK_SEQPACKET socket",
				       fd);
	*ret_fd = fd;
	return 0;
}

/*
 * Children get RLIMIT_NOFILE soft <= 1024 (select() users break above it),
 * while the daemon raises its own soft limit to the hard one for its
 * clients' fds, as systemd does for its services. Below SERVER_MIN_NOFILE
 * the daemon would keep its listener paused for the clients' reserve after
 * the first few connections (HOSTILE.md 49), so it refuses to start.
 * Returns 0 or -EMFILE (logged).
 */
static int
setup_limits(struct spawn_env *env)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		env->set_nofile = true;
		env->nofile.rlim_cur = rl.rlim_cur < 1024 ? rl.rlim_cur : 1024;
		env->nofile.rlim_max = rl.rlim_max;
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t soft = rl.rlim_cur;

			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
				log_warning_errno(errno,
						  "Failed to raise RLIMIT_NOFILE, ignoring: %m");
				rl.rlim_cur = soft;
			}
		}
		if (rl.rlim_cur < (rlim_t)SERVER_MIN_NOFILE) {
			log_error(
				"RLIMIT_NOFILE is %llu (hard limit %llu), below the %d fds spawnd "
				"needs (%d stay free for the requests of connected clients); raise "
				"the hard limit: LimitNOFILE= in the unit, or ulimit -Hn",
				(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
				SERVER_MIN_NOFILE, SERVER_FD_RESERVE);
			return -EMFILE;
		}
	}
	return 0;
}

/* The engine's messages (spawn_set_log()): a refused clone. */
static void
log_spawn(int level, const char *message)
{
	(void)log_internal(level, 0, "%s", message);
}

/*
 * The vfork engine's child shares the daemon's memory until it execs. The
 * kernel keeps the target user from ptracing it after its uid change by
 * marking the address space non-dumpable, unless fs.suid_dumpable is 1
 * ("debug": everything stays dumpable): then the target user could attach
 * to the child between setresuid and execve and write into the daemon. So
 * a root daemon forks instead there. Read once at start.
 */
static enum spawn_engine
engine_for_suid_dumpable(enum spawn_engine engine)
{
	char buf[16] = "";
	ssize_t n;
	int fd;

	if (engine != SPAWN_ENGINE_VFORK || geteuid() != 0)
		return engine;
	fd = open("/proc/sys/fs/suid_dumpable", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return engine;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)safe_close(fd);
	if (n <= 0 || atoi(buf) != 1)
		return engine;
	log_warning("fs.suid_dumpable is 1: a vfork child could be ptraced by its target user "
		    "while it shares the daemon's memory; using the fork engine");
	return SPAWN_ENGINE_FORK;
}

/*
 * Someone (OOMScoreAdjust= in a unit, choom, an admin) gave the daemon an
 * oom_score_adj other than 0: its children must not inherit it, so each
 * writes 0 to its own /proc/self/oom_score_adj before its uid change
 * (child_exec.c, reset_oom_score_adj()). A vfork-engine child cannot: it
 * shares the daemon's memory, the kernel then marks that mm as shared by
 * several processes (MMF_MULTIPROCESS, kernel/fork.c), and a write to
 * oom_score_adj goes to every process on that mm (__set_oom_adj() in
 * fs/proc/base.c): the daemon's own value, and with CAP_SYS_RESOURCE its
 * oom_score_adj_min, would be reset at the first spawn (and every write
 * walks all processes of the system). So such a daemon forks: a forked
 * child has its own mm and resets only itself. Read once at start, from
 * the same read that decides whether children write at all.
 */
static enum spawn_engine
engine_for_oom_score_adj(struct spawn_env *env, enum spawn_engine engine)
{
	char buf[32] = "";
	ssize_t n;
	int fd, adj;

	fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return engine;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)safe_close(fd);
	if (n <= 0)
		return engine;
	adj = atoi(buf);
	env->write_oom_adj = adj != 0;
	if (!env->write_oom_adj || engine != SPAWN_ENGINE_VFORK)
		return engine;
	log_warning("oom_score_adj is %d: a vfork-engine child's reset would also reset the "
		    "daemon's (shared memory); using the fork engine",
		    adj);
	return SPAWN_ENGINE_FORK;
}

/*
 * No vfork engine on an architecture for which child_exec.c has no
 * inline-assembly system calls (SPAWN_HAVE_VFORK_ENGINE, child_exec.h):
 * spawn_start() forks there whatever it is asked. Say so instead of
 * pretending.
 */
static enum spawn_engine
engine_for_arch(enum spawn_engine engine)
{
#if !SPAWN_HAVE_VFORK_ENGINE
	if (engine == SPAWN_ENGINE_VFORK) {
		log_notice("No vfork engine on this architecture (its child would call glibc's "
			   "syscall(), which writes the event loop thread's errno in the "
			   "daemon's memory); using the fork engine");
		return SPAWN_ENGINE_FORK;
	}
#endif
	return engine;
}

/*
 * The group of a child's pty (DESIGN.md section 10): looked up once here,
 * never on the loop (NSS). Without a tty group the slave keeps the group
 * the kernel gave it.
 */
static void
tty_group(struct spawn_env *env)
{
	struct group *g;

	errno = 0;
	g = getgrnam("tty");
	if (g)
		env->tty_gid = g->gr_gid;
	else
		log_warning("No group \"tty\": child terminals keep the kernel's group");
}

/* What the daemon sets up at start; daemon_done() releases whatever of it exists. */
struct daemon {
	struct spawn_env env;
	struct event_base *base;
	struct server *server;
	struct policy *policy;
	struct closer *closer;
	int listen_fd;
	bool own_socket; /* bound by us: unlinked at exit */
	bool passed;	 /* the socket came from LISTEN_FDS */
};

/*
 * The child calls no set*id when the target's uid, gid and groups are
 * exactly the daemon's (child_exec.c); any other target needs root.
 */
static void
warn_unless_root(void)
{
	if (geteuid() != 0)
		log_warning("Not running as root: only spawns as the daemon's own user (uid %u, "
			    "gid %u, with the daemon's supplementary groups) can work; any other "
			    "target fails with EPERM",
			    (unsigned)geteuid(), (unsigned)getegid());
}

/* The policy file; an error goes to stderr as one line. Returns 0 or -errno. */
static int
load_policy(const struct options *o, struct daemon *d)
{
	_cleanup_free_ char *error = NULL;
	int r;

	r = config_load(o->config_path, true, log_config_warning, NULL, &d->policy, &error);
	if (r < 0)
		(void)fprintf(stderr, "spawnd: %s\n", error ? error : strerror(-r));
	return r;
}

/* The passed socket (socket activation) or our own. Returns 0 or -errno (logged). */
static int
open_listener(const struct options *o, struct daemon *d)
{
	int n, r;

	n = sd_listen_fds(1);
	if (n < 0)
		return log_error_errno(n, "Failed to read LISTEN_FDS: %m");
	d->passed = n > 0;
	if (d->passed)
		return passed_socket(n, &d->listen_fd);
	r = bind_socket(o->socket_path, &d->listen_fd);
	d->own_socket = r >= 0;
	return r;
}

/* What every child gets from the daemon: /dev/null, the engine, its pty's group. */
static int
prepare_children(struct options *o, struct daemon *d)
{
	d->env.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (d->env.devnull < 0)
		return log_error_errno(errno, "Failed to open /dev/null: %m");
	o->engine = engine_for_oom_score_adj(&d->env, o->engine);
	o->engine = engine_for_suid_dumpable(o->engine);
	o->engine = engine_for_arch(o->engine);
	tty_group(&d->env);
	return 0;
}

/* The event loop and the server on it, with the closer, the idle timer and sd_notify. */
static int
start_server(const struct options *o, struct daemon *d)
{
	int r;

	d->base = event_base_new();
	if (!d->base) {
		log_error("Failed to create the event loop");
		return -ENOMEM;
	}
	r = server_new(d->base, TAKE_FD(d->listen_fd), TAKE_PTR(d->policy), o->config_path, &d->env,
		       o->engine, &d->server);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the server: %m");
	r = server_attach_closer(d->server, d->closer);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the closer process: %m");
	server_set_timeouts(d->server, o->exit_idle_sec, o->lookup_timeout_sec);
	r = server_start_idle_timer(d->server);
	if (r < 0)
		return r;
	return server_start_notify(d->server);
}

/*
 * Every signal blocked, for good, in every thread (the resolver's threads
 * inherit the mask): the daemon installs no handler, it reads SIGTERM,
 * SIGINT, SIGHUP and SIGCHLD from signalfds on the loop (server.c,
 * reaper.c). So no handler and no self-pipe per signal, and since the
 * loop thread's mask is already what the clone needs, the engine skips its
 * block/restore pair around each clone (spawn_set_signals_blocked()).
 *
 * Not blocked: the signals whose default action dumps core. A fault
 * (SIGSEGV, SIGBUS, ...) must reach debuggers and sanitizers as a signal
 * (blocked, the kernel would force its default action anyway); SIGABRT
 * is abort()'s and systemd's watchdog's (WatchdogSignal=), SIGQUIT an
 * admin's way to a core, SIGXCPU and SIGXFSZ the rlimits': each still
 * ends the daemon with a core, as before. The daemon installs no handler
 * for any of them, so in a clone they can only take their default action,
 * which kills the child before it exec'd, like any other death before
 * exec. (A sanitizer build has handlers for some faults: one runs only if
 * the child itself faults, or if root signals it in the few instructions
 * before child_exec() resets every disposition.) SIGKILL and SIGSTOP
 * cannot be blocked, and glibc keeps its own two internal signals.
 *
 * Any other signal now stays pending instead of taking its default
 * action: SIGUSR1, SIGALRM and the like no longer end the daemon.
 */
static int
block_signals(void)
{
	static const int core[] = {SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,
				   SIGFPE,  SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS};
	sigset_t set;
	int r;

	if (sigfillset(&set) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
		(void)sigdelset(&set, core[i]);
	r = pthread_sigmask(SIG_SETMASK, &set, NULL);
	if (r != 0)
		return -r;
	spawn_set_signals_blocked();
	return 0;
}

/* Everything up to the event loop, in this order. Returns 0 or -errno (logged). */
static int
daemon_start(struct options *o, struct daemon *d)
{
	int r;

	/* A send to a vanished client must never kill the daemon. */
	(void)signal(SIGPIPE, SIG_IGN);

	r = setup_limits(&d->env);
	if (r < 0)
		return r;
	/*
	 * The closer's helper process is a copy of the daemon as it is now:
	 * single-threaded (it uses threads of its own) and holding no client
	 * fd. Nothing in between may create a thread.
	 */
	r = closer_new(&d->closer);
	if (r < 0)
		return log_error_errno(r, "Failed to start the closer process: %m");
	/* After the closer: its helper keeps the mask and dispositions the daemon started with. */
	r = block_signals();
	if (r < 0)
		return log_error_errno(r, "Failed to block signals: %m");
	r = open_listener(o, d);
	if (r < 0)
		return r;
	r = prepare_children(o, d);
	if (r < 0)
		return r;
	return start_server(o, d);
}

/* Tell the service manager we are ready and serve until told to stop. Returns the exit code. */
static int
daemon_run(struct options *o, struct daemon *d)
{
#ifdef SPAWND_FORCE_FORK
	/* spawn_start() forks whatever it is asked; say so instead of pretending. */
	if (o->engine == SPAWN_ENGINE_VFORK)
		log_notice("Built with SPAWND_FORCE_FORK: using the fork engine instead of vfork");
	o->engine = SPAWN_ENGINE_FORK;
#endif
	log_info("spawnd %s ready on %s (engine %s)", SPAWND_VERSION_STRING,
		 d->passed ? "the passed socket" : o->socket_path,
		 spawn_engine_to_string(o->engine));
	(void)sd_notify(0, "READY=1");

	if (event_base_dispatch(d->base) < 0) {
		log_error("The event loop failed");
		return 1;
	}
	log_info("Stopped");
	return server_exit_code(d->server);
}

/* Free and close what daemon_start() made, in reverse; unlink our own socket. */
static void
daemon_done(const struct options *o, struct daemon *d)
{
	d->server = server_free(d->server);
	d->closer = closer_free(d->closer);
	if (d->base)
		event_base_free(d->base);
	d->policy = policy_free(d->policy);
	d->listen_fd = safe_close(d->listen_fd);
	d->env.devnull = safe_close(d->env.devnull);
	if (d->own_socket)
		(void)unlink(o->socket_path);
}

/*
 * A resolver thread may sit in a FUSE or NFS request of NSS or realpath()
 * for ever. exit() does not mind (exit_group ends it), but at-exit handlers
 * that stop every thread first, such as LeakSanitizer's, would wait for
 * ever. So leave without them then; everything is closed and freed already
 * (a stuck resolver job stays reachable from the pool). A child of the vfork
 * engine that hangs before exec is no thread of ours: it keeps the daemon's
 * memory, its plan and its stack alive after we exit
 * (spawn_prepared_orphan()).
 */
static void
exit_now_if_threads_stuck(int ret)
{
	if (resolver_busy() > 0) {
		log_notice("%u lookups are still running; exiting without at-exit handlers",
			   resolver_busy());
		(void)fflush(NULL);
		_exit(ret);
	}
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct daemon d = {
		.env = {.devnull = -EBADF, .tty_gid = (gid_t)-1},
		.listen_fd = -EBADF,
	};
	int r, ret = 1;

	r = parse_argv(argc, argv, &o);
	if (r >= 0)
		return r;
	log_init();
	log_set_max_level(o.log_level);

	if (o.check_config)
		return query_check_config(o.config_path);
	if (o.query)
		return query_decide(o.config_path, o.query_args[0], o.query_args[1], o.query_group,
				    o.query_groups, o.query_args + 2);

	warn_unless_root();
	spawn_set_log(log_spawn);
	if (load_policy(&o, &d) < 0)
		return 1;

	if (daemon_start(&o, &d) >= 0)
		ret = daemon_run(&o, &d);
	daemon_done(&o, &d);
	exit_now_if_threads_stuck(ret);
	return ret;
}
