/* SPDX-License-Identifier: MIT */
/*
 * spawnd-bench: how close spawnd comes to spawning in-process, measured
 * side by side on the same machine in the same run (issue 5, DESIGN.md
 * section 8). docs/benchmarks.md has the table, the commands and what
 * limits each figure.
 *
 * Every figure is a ratio to the reference, an in-process posix_spawn() +
 * waitpid() of /bin/true at the same concurrency, measured in the same
 * round: the machine is shared and noisy, so absolute times drift while
 * the ratio of two batches run one right after the other does not. Each
 * round runs every runner once per concurrency, in an order rotated from
 * round to round; the table gives the median over rounds and the spread
 * (25th-75th percentile) of the per-round ratios.
 *
 * Runners: in-process posix_spawn (reference) and clone(CLONE_VM |
 * CLONE_VFORK); Python's subprocess.run (when python3 exists); s6-sudo
 * through s6-ipcserver + s6-sudod (when Debian's s6 is installed); spawnd
 * through persistent libspawnd connections, with each engine, as root and
 * as nobody; `spawnctl -- /bin/true` as a whole process; and spawnd with N
 * (10,000) sleeping children it tracks; and, as the floor, a bare
 * SOCK_SEQPACKET request/reply between two processes, with and without one
 * fd passed (issue 12). The floor's components are timed in the same
 * rounds at c=1 and printed in the floor section only, not in the table:
 * the thread hop (loop -> resolver thread -> loop, as daemon/resolver.c),
 * the user and path lookups in one thread, a cheap system call, and the
 * start of a static PIE that does nothing (bench-nothing, linked as
 * spawnctl is); from them and the loop's system calls (strace -c) it
 * computes the floors of the daemon path and of spawnctl next to the
 * measured ratios. The design's floor is also measured whole: spawns
 * through bench-skeleton, a server that makes the system calls of
 * spawnd's guarantees (loop, resolver thread and child) with none of
 * spawnd's code, at every concurrency as root and as nobody, and at c=1
 * without the guarantees; the persistent connection minus it is what
 * spawnd's own code costs. What spawnctl adds to one spawn on a
 * persistent connection is split into parts at c=1, as root, in the main
 * table and in "What spawnctl adds": the same connection passing fds
 * 0-2, a new connection per spawn (connect + spawn + wait + close), both
 * (spawnctl's requests made in-process), and `spawnctl --version` (its
 * own start and exit, no connection). --floor-only runs just those.
 * Concurrency c means c threads, each with its own connection (or
 * spawning its own processes), spawning and waiting one child after the
 * other; the figure is the wall time per spawn of the whole batch, i.e.
 * the inverse of throughput.
 *
 * The live children belong to "holder" processes, each a client of its own
 * uid (70000 + i, group of nobody) with 1000 children: the daemon caps
 * live children per client uid (SPAWND_MAX_CHILDREN_PER_UID).
 *
 * --costs N instead counts per-spawn costs that do not depend on load:
 * wake-ups (context switches of every daemon thread, the closer and the
 * client) and system calls (strace -c) of the loop thread and the daemon,
 * on a persistent connection, passing fds 0-2, and with a new connection
 * per spawn with and without them (spawnctl's requests, in-process).
 *
 * This is a benchmark, not a test: nothing here asserts a time. With
 * --quick it runs every runner a few times to prove that the harness and
 * the daemon work (ctest: bench/smoke); any failed spawn is an error.
 * Needs root (uid switches); exits 77 otherwise.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "spawnd/spawnd.h"

#define MAX_CONC 8
#define MAX_CONC_LEVELS 4
#define MAX_RUNNERS 64
#define MAX_DAEMONS 5
#define MAX_CHECKPOINTS 8
#define CHILDREN_PER_HOLDER 1000u
#define HOLDER_UID_BASE 70000u
#define SPAWN_TIMEOUT_USEC (60ull * 1000000ull)
#define CLONE_STACK (64 * 1024)
#define TRUE_PATH "/bin/true"
/* What bench-skeleton drops for its bare variant: every guarantee beyond the spawn itself. */
#define SKELETON_BARE "lookup,stat,audit,child,eof"
/* bench-skeleton "listen" without them and without the fd guarantees (bench-skeleton.c). */
#define SKELCTL_BARE SKELETON_BARE ",fds"
/* Where skeleton_start() moves the skeleton's sockets before they go to fds 3 and up. */
#define SKELETON_SPARE_FD 900
/* How bench-nothing and bench-skelctl are linked (tests/bench/CMakeLists.txt). */
#if NOTHING_STATIC
#define NOTHING_LINK "static PIEs, as spawnctl"
#else
#define NOTHING_LINK "NOT static: sanitizer build or no static libc"
#endif

static const char *const small_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL};
static char *const true_argv[] = {(char *)TRUE_PATH, NULL};

/* ---- options ---- */

static struct {
	bool quick;
	unsigned rounds;
	unsigned batch;
	unsigned live;
	unsigned growth_rounds;
	unsigned conc[MAX_CONC_LEVELS];
	unsigned n_conc;
	bool peers;
	bool keep;
	bool verbose;
	const char *spawnd;
	const char *spawnctl;
	const char *sleeper;
	const char *engine; /* the daemon's engine under test (--engine) */
	bool fork;	    /* also the fork engine */
	unsigned costs;	    /* --costs N: per-spawn syscalls and wake-ups over N spawns */
	bool floor_only;    /* --floor-only: the runners of the floor section only */
} opt = {
	.rounds = 9,
	.batch = 100,
	.live = 10000,
	.growth_rounds = 3,
	.conc = {1, 2, 8},
	.n_conc = 3,
	.peers = true,
	.spawnd = SPAWND_PATH,
	.spawnctl = SPAWNCTL_PATH,
	.sleeper = SLEEPER_PATH,
	.engine = "vfork",
	.fork = true,
};

static char workdir[PATH_MAX];
static char conf_path[PATH_MAX];

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small utilities ---- */

static double
now_sec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void xsnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("string too long: %s", fmt);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile p (0..1) of v[0..n), linear interpolation; v is sorted in place. */
static double
percentile(double *v, size_t n, double p)
{
	double pos, frac;
	size_t i;

	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	pos = p * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	return i + 1 < n ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}

static bool
executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* First executable `name` on the fixed PATH, or NULL. */
static const char *
find_program(const char *name, char *buf, size_t size)
{
	static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin",
					   "/usr/sbin",	     "/sbin",	 NULL};

	for (size_t i = 0; dirs[i]; i++) {
		xsnprintf(buf, size, "%s/%s", dirs[i], name);
		if (executable(buf))
			return buf;
	}
	return NULL;
}

/* A value from /proc/PID/status in kB (VmRSS, ...), or -1. */
static long
proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f;

	xsnprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void
read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void
cpu_model(char *buf, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");

	xsnprintf(buf, size, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');

			if (v) {
				v += 1 + strspn(v + 1, " \t");
				v[strcspn(v, "\n")] = '\0';
				xsnprintf(buf, size, "%s", v);
			}
			break;
		}
	fclose(f);
}

/* Wait for pid; returns its status or -1 after timeout_ms (it then still runs). */
static int
wait_deadline(pid_t pid, unsigned timeout_ms)
{
	double end = now_sec() + timeout_ms / 1000.0;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_sec() >= end)
			return -1;
		sleep_ms(10);
	}
}

/* ---- processes the benchmark owns (daemons, servers, holders) ---- */

/*
 * The first CPU this process may use: where the "on one CPU" runners put
 * every task of a spawn (print_placement()).
 */
static int first_cpu;

/* The calling thread, and what it starts from now on, on cpu only. */
static bool
pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

struct holder {
	pid_t pid;
	int ctl; /* write end; EOF tells the holder to disconnect and exit */
};

struct daemon {
	const char *engine;
	unsigned live_target;
	int cpu; /* >= 0: the daemon, and so its children, on this CPU only */
	char name[64];
	char sock[PATH_MAX];
	char log[PATH_MAX];
	pid_t pid;
	unsigned live;
	struct holder holders[64];
	unsigned n_holders;
	long rss_idle_kb; /* after warm-up, no live children */
	long rss_live_kb; /* with live_target children */
	long rss_end_kb;  /* after all rounds */
	/* Per-spawn cost as live children grow (the daemon's own growth curve). */
	unsigned cp_live[MAX_CHECKPOINTS];
	double cp_ratio[MAX_CHECKPOINTS];
	double cp_lo[MAX_CHECKPOINTS], cp_hi[MAX_CHECKPOINTS];
	long cp_rss[MAX_CHECKPOINTS];
	unsigned n_cp;
};

static struct daemon daemons[MAX_DAEMONS];
static unsigned n_daemons;
static pid_t s6_servers[2];
static char s6_socks[2][PATH_MAX];
static bool cleaned_up;

/* Tell d's holders to disconnect (EOF on their ctl pipe). */
static void
holders_tell(struct daemon *d)
{
	for (unsigned i = 0; i < d->n_holders; i++)
		if (d->holders[i].ctl >= 0) {
			(void)close(d->holders[i].ctl);
			d->holders[i].ctl = -1;
		}
}

static void
holders_release(struct daemon *d)
{
	holders_tell(d);
	for (unsigned i = 0; i < d->n_holders; i++)
		if (d->holders[i].pid > 0) {
			if (wait_deadline(d->holders[i].pid, 20000) == -1) {
				(void)kill(d->holders[i].pid, SIGKILL);
				(void)waitpid(d->holders[i].pid, NULL, 0);
			}
			d->holders[i].pid = 0;
		}
	d->n_holders = 0;
	d->live = 0;
}

static void
stop_pid(pid_t pid, unsigned timeout_ms)
{
	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	if (wait_deadline(pid, timeout_ms) == -1) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
	}
}

static int
rm_entry(const char *dir, const char *name)
{
	char path[PATH_MAX * 2];

	xsnprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

static void ipc_stop_all(void);
static void hop_stop(void);

static void
cleanup(void)
{
	DIR *d;
	struct dirent *de;

	if (cleaned_up)
		return;
	cleaned_up = true;
	/* Holders first: their disconnect makes the daemons terminate the sleepers. */
	for (unsigned i = 0; i < n_daemons; i++)
		holders_tell(&daemons[i]);
	for (unsigned i = 0; i < n_daemons; i++)
		holders_release(&daemons[i]);
	for (unsigned i = 0; i < n_daemons; i++) {
		stop_pid(daemons[i].pid, 20000);
		daemons[i].pid = 0;
	}
	for (unsigned i = 0; i < 2; i++) {
		stop_pid(s6_servers[i], 5000);
		s6_servers[i] = 0;
	}
	ipc_stop_all();
	hop_stop();
	if (!workdir[0] || opt.keep)
		return;
	d = opendir(workdir);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				(void)rm_entry(workdir, de->d_name);
		closedir(d);
	}
	(void)rmdir(workdir);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	(void)fflush(stdout);
	fprintf(stderr, "spawnd-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	for (unsigned i = 0; i < n_daemons; i++)
		if (daemons[i].log[0])
			fprintf(stderr, "  (daemon log %s: %s)\n", daemons[i].name, daemons[i].log);
	opt.keep = true; /* keep the logs for a look */
	cleanup();
	exit(1);
}

_Noreturn static void
on_signal(int sig)
{
	(void)sig;
	/* Best effort from a signal handler: the children die with us (PDEATHSIG). */
	_exit(130);
}

/* Connect with a deadline: the daemon or server is starting up. */
static void
wait_socket(const char *path, int type, pid_t pid, const char *what)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	xsnprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < 1000; i++) {
		int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), r;

		if (fd < 0)
			die("socket: %s", strerror(errno));
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		(void)close(fd);
		if (r == 0)
			return;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			die("%s exited at start-up", what);
		sleep_ms(10);
	}
	die("%s did not listen on %s", what, path);
}

static void
daemon_start(struct daemon *d)
{
	pid_t parent = getpid(), pid;
	int log;

	xsnprintf(d->sock, sizeof(d->sock), "%s/%s.sock", workdir, d->name);
	xsnprintf(d->log, sizeof(d->log), "%s/%s.log", workdir, d->name);
	log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log < 0)
		die("open %s: %s", d->log, strerror(errno));
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Nothing else of ours: only 0, 1, 2 (a daemon inherits what it gets). */
		/* Its own session: its closer process is found by that (--costs). */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent || null < 0 ||
		    setsid() < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log, 2) < 0 ||
		    close_range(3, ~0U, 0) < 0)
			_exit(126);
		if (d->cpu >= 0 && !pin_to_cpu(d->cpu))
			_exit(126);
		/* Not socket-activated: it binds its own socket. */
		(void)unsetenv("LISTEN_FDS");
		(void)unsetenv("LISTEN_PID");
		(void)unsetenv("NOTIFY_SOCKET");
		execl(opt.spawnd, "spawnd", "-s", d->sock, "-c", conf_path, "--engine", d->engine,
		      (char *)NULL);
		_exit(127);
	}
	(void)close(log);
	d->pid = pid;
	wait_socket(d->sock, SOCK_SEQPACKET, pid, d->name);
}

/* s6-ipcserver SOCK s6-sudod /bin/true, optionally dropping to nobody (-u/-g). */
static pid_t
s6_start(const char *ipcserver, const char *sudod, const char *sock, bool as_nobody)
{
	char uid[16], gid[16];
	pid_t parent = getpid(), pid;
	struct passwd *pw = getpwnam("nobody");

	if (!pw)
		die("no user nobody");
	xsnprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
	xsnprintf(gid, sizeof(gid), "%u", (unsigned)pw->pw_gid);
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent ||
		    close_range(3, ~0U, 0) < 0)
			_exit(126);
		if (as_nobody)
			execl(ipcserver, "s6-ipcserver", "-u", uid, "-g", gid, "-G", gid, sock,
			      sudod, TRUE_PATH, (char *)NULL);
		else
			execl(ipcserver, "s6-ipcserver", sock, sudod, TRUE_PATH, (char *)NULL);
		_exit(127);
	}
	wait_socket(sock, SOCK_STREAM, pid, "s6-ipcserver");
	return pid;
}

/* ---- holders: clients that keep live children in a daemon ---- */

struct holder_count {
	unsigned started, failed;
	int stage, err;
};

static void
holder_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct holder_count *hc = userdata;

	(void)c;
	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		hc->started++;
		break;
	case SPAWND_STATE_FAILED:
		hc->failed++;
		hc->stage = spawnd_result_get_stage(r);
		hc->err = spawnd_result_get_errno(r);
		break;
	default:
		break;
	}
}

/* In the holder process: start n sleepers, report, then wait for EOF on ctl. */
static _Noreturn void
holder_main(const struct daemon *d, unsigned n, int status_fd, int ctl_fd)
{
	const char *argv[] = {opt.sleeper, NULL};
	struct holder_count hc = {0};
	spawnd_options *o = NULL;
	spawnd_client *c = NULL;
	char buf[128];
	int r;

	r = spawnd_client_open(&c, d->sock, 0);
	if (r < 0) {
		dprintf(status_fd, "connect: %s\n", strerror(-r));
		_exit(1);
	}
	if (spawnd_options_new(&o) < 0 || spawnd_options_set_argv(o, (char *const *)argv) < 0 ||
	    spawnd_options_set_user(o, "nobody") < 0)
		_exit(1);
	for (unsigned i = 0; i < n; i++) {
		r = spawnd_spawn_async(c, o, holder_cb, &hc, NULL);
		if (r < 0) {
			dprintf(status_fd, "spawn: %s\n", strerror(-r));
			_exit(1);
		}
	}
	while (hc.started + hc.failed < n) {
		r = spawnd_client_wait(c, SPAWN_TIMEOUT_USEC);
		if (r < 0 && r != -EINTR) {
			dprintf(status_fd, "wait: %s (%u started)\n", strerror(-r), hc.started);
			_exit(1);
		}
	}
	if (hc.failed)
		dprintf(status_fd, "failed: %u, last stage %s: %s\n", hc.failed,
			spawnd_stage_to_string((spawnd_stage)hc.stage), strerror(hc.err));
	else
		dprintf(status_fd, "ok\n");
	(void)close(status_fd);
	/* Keep the connection (and so the children) until the benchmark is done. */
	for (;;) {
		ssize_t k = read(ctl_fd, buf, sizeof(buf));

		if (k == 0 || (k < 0 && errno != EINTR))
			break;
	}
	spawnd_client_close(c);
	_exit(0);
}

static void
holder_add(struct daemon *d, unsigned n)
{
	struct passwd *pw = getpwnam("nobody");
	int status[2], ctl[2];
	uid_t uid = HOLDER_UID_BASE + d->n_holders;
	char line[256] = "";
	ssize_t k, len = 0;
	pid_t parent = getpid(), pid;

	if (!pw)
		die("no user nobody");
	if (d->n_holders >= sizeof(d->holders) / sizeof(d->holders[0]))
		die("too many holders");
	if (pipe2(status, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		gid_t gid = pw->pw_gid;

		/*
		 * Keep nothing of ours but the two pipe ends, as fds 3 and 4: a
		 * holder that inherited another holder's ctl write end (or the
		 * benchmark's connections) would keep that one from ever seeing
		 * EOF, and its connection open.
		 */
		int st = fcntl(status[1], F_DUPFD_CLOEXEC, 1000),
		    cf = fcntl(ctl[0], F_DUPFD_CLOEXEC, 1000);

		if (st < 0 || cf < 0 || dup3(st, 3, O_CLOEXEC) < 0 || dup3(cf, 4, O_CLOEXEC) < 0 ||
		    close_range(5, ~0U, 0) < 0)
			_exit(125);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent ||
		    setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(126);
		holder_main(d, n, 3, 4);
	}
	(void)close(status[1]);
	(void)close(ctl[0]);
	while (len < (ssize_t)sizeof(line) - 1 &&
	       (k = read(status[0], line + len, sizeof(line) - 1 - (size_t)len)) > 0)
		len += k;
	line[len] = '\0';
	(void)close(status[0]);
	if (strcmp(line, "ok\n") != 0)
		die("holder uid %u of %s: %s", (unsigned)uid, d->name, line[0] ? line : "died");
	d->holders[d->n_holders++] = (struct holder){.pid = pid, .ctl = ctl[1]};
	d->live += n;
}

/* Grow d's live children to `target` (in holders of CHILDREN_PER_HOLDER). */
static void
live_grow(struct daemon *d, unsigned target)
{
	while (d->live < target) {
		unsigned n = target - d->live;

		holder_add(d, n < CHILDREN_PER_HOLDER ? n : CHILDREN_PER_HOLDER);
	}
}

/* ---- runners ---- */

enum kind {
	K_POSIX_SPAWN, /* the reference */
	K_CLONE_VFORK,
	K_PYTHON,
	K_S6,
	K_SPAWND,
	K_SPAWNCTL,
	/* What spawnctl adds (c=1 only, printed in the main table): */
	K_SPAWND_CONNECT, /* libspawnd, a new connection per spawn: connect, spawn, wait, close */
	K_SPAWNCTL_START, /* `spawnctl --version`: spawnctl's own start, no connection */
	K_IPC,		  /* bare SOCK_SEQPACKET request/reply with a server process: the floor */
	K_IPC_FD,	  /* the same, the request carrying one fd (SCM_RIGHTS) */
	/* Components of the floor (print_floor), c=1 only, not in the main table: */
	K_HOP,	       /* loop -> resolver thread -> loop, as daemon/resolver.c does it */
	K_LOOKUP_USER, /* getpwnam_r + getgrouplist of nobody, in this thread */
	K_LOOKUP_PATH, /* realpath(/bin/true), in this thread */
	K_SYSCALL,     /* a mix of cheap system calls like the loop's (per call) */
	K_EXEC_STATIC, /* posix_spawn + waitpid of a static PIE that does nothing */
	K_SKELETON, /* a spawn through bench-skeleton: the design's system calls, no spawnd code */
	K_SKELCTL,  /* bench-skelctl on bench-skeleton "listen": spawnctl's request, none of ours */
};

/* System calls in one K_SYSCALL operation (syscall_mix()). */
#define SYSCALL_MIX 8

/* Sizes of the bare round trip's messages: about a spawn request and a reply. */
#define IPC_REQUEST_SIZE 128
#define IPC_REPLY_SIZE 64

struct runner {
	char name[96];
	enum kind kind;
	struct daemon *d;
	const char *user;
	const char *program; /* K_S6: s6-sudo, K_PYTHON: python3 */
	const char *sock;    /* K_S6, K_SKELCTL */
	const char *without; /* K_SKELETON*: the guarantees it drops (bench-skeleton.c) */
	unsigned divisor;    /* batch / divisor spawns: slow whole-process peers */
	unsigned multiplier; /* batch * multiplier: fast runners (the bare round trip) */
	bool seq_only;	     /* concurrency 1 only */
	bool stdio_fds;	     /* K_SPAWND: pass our fds 0, 1, 2 as the child's (as spawnctl does) */
	bool floor_part;     /* a component of the floor: printed in its section only */
	unsigned idle_ms;    /* sleep this long before each operation and time it alone */
	int cpu;	     /* >= 0: the worker thread on this CPU only (c=1; print_placement()) */
	spawnd_client *clients[MAX_CONC];
	spawnd_options *opts[MAX_CONC];
	char *stacks[MAX_CONC];
	int ipc_fd[MAX_CONC];	  /* K_IPC*, K_SKELETON: our end of the socket pair */
	pid_t ipc_pid[MAX_CONC];  /* K_IPC*: the echo server; K_SKELETON*: bench-skeleton */
	int ipc_passed[MAX_CONC]; /* K_IPC_FD: the fd sent with every request */
	/* Per concurrency level, per round: seconds per spawn and the ratio to the reference. */
	double *sec[MAX_CONC_LEVELS];
	double *ratio[MAX_CONC_LEVELS];
	unsigned n[MAX_CONC_LEVELS];
};

static struct runner runners[MAX_RUNNERS];
static unsigned n_runners;

static struct runner *
runner_add(const char *name, enum kind kind)
{
	struct runner *r;

	if (n_runners >= MAX_RUNNERS)
		die("too many runners");
	r = &runners[n_runners++];
	xsnprintf(r->name, sizeof(r->name), "%s", name);
	r->kind = kind;
	r->divisor = 1;
	r->multiplier = 1;
	r->cpu = -1;
	for (unsigned i = 0; i < MAX_CONC; i++)
		r->ipc_fd[i] = r->ipc_passed[i] = -1;
	for (unsigned i = 0; i < MAX_CONC_LEVELS; i++) {
		r->sec[i] = calloc(opt.rounds + 1, sizeof(double));
		r->ratio[i] = calloc(opt.rounds + 1, sizeof(double));
		if (!r->sec[i] || !r->ratio[i])
			die("out of memory");
	}
	return r;
}

static int
exec_true(void *arg)
{
	(void)arg;
	execve(TRUE_PATH, true_argv, (char *const *)small_env);
	_exit(127);
}

static int
wait_ok(pid_t pid, const char *what)
{
	int status;
	pid_t w;

	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	if (w != pid) {
		fprintf(stderr, "%s: waitpid: %s\n", what, strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: status 0x%x\n", what, (unsigned)status);
		return -1;
	}
	return 0;
}

/*
 * The echo server of the bare round trip, in its own process: one reply
 * per request, received fds closed (as the daemon closes what it does not
 * keep). Only async-signal-safe calls: it is forked from a threaded process.
 */
static _Noreturn void
ipc_server(int fd)
{
	char buf[IPC_REQUEST_SIZE * 2], reply[IPC_REPLY_SIZE];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * 4)];
	} u;

	memset(reply, 'r', sizeof(reply));
	for (;;) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.space,
				    .msg_controllen = sizeof(u.space)};
		ssize_t k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (k == 0)
			_exit(0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				int fds[4];

				memcpy(fds, CMSG_DATA(c), n * sizeof(int));
				for (size_t i = 0; i < n && i < 4; i++)
					(void)close(fds[i]);
			}
		if (send(fd, reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply))
			_exit(1);
	}
}

static void
ipc_start(struct runner *r, unsigned idx)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %s", strerror(errno));
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/*
		 * Only our end, as fd 3: a server holding a copy of another
		 * server's peer end would keep that one from seeing EOF.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent ||
		    (sv[1] == 3 ? fcntl(3, F_SETFD, 0) : dup3(sv[1], 3, 0)) < 0 ||
		    close_range(4, ~0U, 0) < 0)
			_exit(126);
		ipc_server(3);
	}
	(void)close(sv[1]);
	r->ipc_fd[idx] = sv[0];
	r->ipc_pid[idx] = pid;
	if (r->kind == K_IPC_FD) {
		r->ipc_passed[idx] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (r->ipc_passed[idx] < 0)
			die("open /dev/null: %s", strerror(errno));
	}
}

static void
ipc_stop(struct runner *r)
{
	/* bench-skeleton "listen" serves until killed (its closer dies with it). */
	if (r->kind == K_SKELCTL && r->ipc_pid[0] > 0)
		(void)kill(r->ipc_pid[0], SIGKILL);
	/* Every EOF first: bench-skeleton serves all workers and exits after the last. */
	for (unsigned i = 0; i < MAX_CONC; i++) {
		if (r->ipc_fd[i] >= 0)
			(void)close(r->ipc_fd[i]); /* EOF: the server exits */
		if (r->ipc_passed[i] >= 0)
			(void)close(r->ipc_passed[i]);
	}
	for (unsigned i = 0; i < MAX_CONC; i++) {
		if (r->ipc_pid[i] > 0 && wait_deadline(r->ipc_pid[i], 5000) == -1) {
			(void)kill(r->ipc_pid[i], SIGKILL);
			(void)waitpid(r->ipc_pid[i], NULL, 0);
		}
		r->ipc_fd[i] = r->ipc_passed[i] = -1;
		r->ipc_pid[i] = 0;
	}
}

static void
ipc_stop_all(void)
{
	for (unsigned j = 0; j < n_runners; j++)
		ipc_stop(&runners[j]);
}

/*
 * One bench-skeleton for all of r's workers, one socket pair each (the
 * skeleton's fds 3 to 3+n-1), as one daemon serves its clients; its audit
 * lines in the work directory. exec'd, not forked: it runs a thread.
 */
static void
skeleton_start(struct runner *r)
{
	char log[PATH_MAX], n_arg[16];
	char *argv[] = {(char *)"bench-skeleton", log, n_arg, (char *)r->without, NULL};
	unsigned n = r->seq_only ? 1 : MAX_CONC;
	posix_spawn_file_actions_t fa;
	int theirs[MAX_CONC], k;
	pid_t pid;

	xsnprintf(log, sizeof(log), "%s/skeleton.log", workdir);
	xsnprintf(n_arg, sizeof(n_arg), "%u", n);
	posix_spawn_file_actions_init(&fa);
	for (unsigned i = 0; i < n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			die("socketpair: %s", strerror(errno));
		r->ipc_fd[i] = sv[0];
		theirs[i] = sv[1];
		/* Out of the way of the targets 3..3+n-1 first, then into place. */
		posix_spawn_file_actions_adddup2(&fa, sv[1], SKELETON_SPARE_FD + (int)i);
	}
	for (unsigned i = 0; i < n; i++) {
		posix_spawn_file_actions_adddup2(&fa, SKELETON_SPARE_FD + (int)i, 3 + (int)i);
		posix_spawn_file_actions_addclose(&fa, SKELETON_SPARE_FD + (int)i);
	}
	k = posix_spawn(&pid, SKELETON_PATH, &fa, NULL, argv, (char *const *)small_env);
	posix_spawn_file_actions_destroy(&fa);
	if (k != 0)
		die("posix_spawn %s: %s", SKELETON_PATH, strerror(k));
	for (unsigned i = 0; i < n; i++)
		(void)close(theirs[i]);
	r->ipc_pid[0] = pid;
}

/*
 * bench-skeleton in "listen" mode for r's bench-skelctl processes, on a
 * socket of its own in the work directory (a new connection per spawn, as
 * spawnctl's). It serves until ipc_stop() kills it.
 */
static void
skelctl_start(struct runner *r)
{
	static char socks[MAX_RUNNERS][PATH_MAX];
	char *sock = socks[r - runners], log[PATH_MAX];
	char *argv[] = {(char *)"bench-skeleton", log, (char *)"listen", (char *)r->without, NULL};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int fd, k;

	xsnprintf(sock, PATH_MAX, "%s/skeleton-%u.sock", workdir, (unsigned)(r - runners));
	xsnprintf(log, sizeof(log), "%s/skeleton.log", workdir);
	if (strlen(sock) >= sizeof(sa.sun_path))
		die("%s: path too long", sock);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0)
		die("listen %s: %s", sock, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, SKELETON_SPARE_FD);
	posix_spawn_file_actions_adddup2(&fa, SKELETON_SPARE_FD, 3);
	posix_spawn_file_actions_addclose(&fa, SKELETON_SPARE_FD);
	k = posix_spawn(&pid, SKELETON_PATH, &fa, NULL, argv, (char *const *)small_env);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(fd);
	if (k != 0)
		die("posix_spawn %s: %s", SKELETON_PATH, strerror(k));
	r->ipc_pid[0] = pid;
	r->sock = sock;
}

/* One reply of bench-skeleton: its first letter is kind, or -1 with a message. */
static int
skeleton_reply(struct runner *r, int fd, char kind)
{
	char buf[64];
	ssize_t k;

	do
		k = recv(fd, buf, sizeof(buf) - 1, 0);
	while (k < 0 && errno == EINTR);
	if (k <= 0 || buf[0] != kind) {
		buf[k > 0 ? k : 0] = '\0';
		fprintf(stderr, "%s: expected %c, got %s\n", r->name, kind,
			k < 0	 ? strerror(errno)
			: k == 0 ? "EOF"
				 : buf);
		return -1;
	}
	buf[k] = '\0';
	if (kind == 'E' && strcmp(buf, "E0") != 0) {
		fprintf(stderr, "%s: %s exited with status %s\n", r->name, TRUE_PATH, buf + 1);
		return -1;
	}
	return 0;
}

/* A spawn of /bin/true as r->user through bench-skeleton, and the wait for it. */
static int
skeleton_spawn(struct runner *r, unsigned idx)
{
	int fd = r->ipc_fd[idx];
	size_t len = strlen(r->user);
	/* Started comes unless the skeleton drops it. */
	bool started = !strstr(r->without, "started") && !strstr(r->without, "eof");

	if (send(fd, r->user, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "%s: send: %s\n", r->name, strerror(errno));
		return -1;
	}
	if (started && skeleton_reply(r, fd, 'S') < 0)
		return -1;
	return skeleton_reply(r, fd, 'E');
}

/* One request and its reply over worker idx's socket pair (with an fd for K_IPC_FD). */
static int
ipc_round_trip(struct runner *r, unsigned idx)
{
	char req[IPC_REQUEST_SIZE], reply[IPC_REPLY_SIZE * 2];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = req, .iov_len = sizeof(req)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t k;

	memset(req, 'q', sizeof(req));
	if (r->kind == K_IPC_FD) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.space;
		mh.msg_controllen = sizeof(u.space);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &r->ipc_passed[idx], sizeof(int));
	}
	do
		k = sendmsg(r->ipc_fd[idx], &mh, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)sizeof(req)) {
		fprintf(stderr, "%s: sendmsg: %s\n", r->name, k < 0 ? strerror(errno) : "short");
		return -1;
	}
	do
		k = recv(r->ipc_fd[idx], reply, sizeof(reply), 0);
	while (k < 0 && errno == EINTR);
	if (k != IPC_REPLY_SIZE) {
		fprintf(stderr, "%s: recv: %s\n", r->name, k < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

/*
 * ---- components of the floor (issue 12, docs/benchmarks.md "The floor, measured") ----
 *
 * The thread hop: what handing a Spawn's lookups to the resolver thread
 * and taking the answer back costs the loop, done the way
 * daemon/resolver.c and server.c do it. The "loop" (the benchmark's
 * thread) runs a libevent base with a persistent, edge-triggered read
 * event on an eventfd; it queues a job under a mutex and signals a
 * condition variable (resolver_submit()); the "resolver" thread, asleep in
 * pthread_cond_wait() (worker_main()), takes it, runs it (an empty job: the
 * lookups are timed apart), puts it on the done list under the mutex and
 * writes the eventfd (post_done()); the loop wakes in epoll_wait() and
 * takes the done list without reading the eventfd (resolver_collect()).
 * Two wake-ups, as in the daemon.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	bool queued, done, quit, running;
	int efd;
	pthread_t thread;
	struct event_base *base;
	struct event *ev;
} hop = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

static void *
hop_resolver(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	(void)pthread_mutex_lock(&hop.lock);
	for (;;) {
		while (!hop.queued && !hop.quit)
			(void)pthread_cond_wait(&hop.work, &hop.lock);
		if (hop.quit)
			break;
		hop.queued = false;
		(void)pthread_mutex_unlock(&hop.lock);
		/* job_run(): nothing here. post_done(): */
		(void)pthread_mutex_lock(&hop.lock);
		hop.done = true;
		(void)pthread_mutex_unlock(&hop.lock);
		(void)!write(hop.efd, &one, sizeof(one));
		(void)pthread_mutex_lock(&hop.lock);
	}
	(void)pthread_mutex_unlock(&hop.lock);
	return NULL;
}

/* The loop's read event on the eventfd (server.c's on_resolved()): edge-triggered, no read. */
static void
hop_on_done(evutil_socket_t fd, short what, void *arg)
{
	bool *collected = arg;

	(void)fd;
	(void)what;
	(void)pthread_mutex_lock(&hop.lock);
	*collected = hop.done;
	hop.done = false;
	(void)pthread_mutex_unlock(&hop.lock);
}

static bool hop_collected;

static void
hop_start(void)
{
	sigset_t all, saved;
	int r;

	if (hop.running)
		return;
	hop.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hop.efd < 0)
		die("eventfd: %s", strerror(errno));
	hop.base = event_base_new();
	if (!hop.base)
		die("event_base_new failed");
	hop.ev = event_new(hop.base, hop.efd, EV_READ | EV_PERSIST | EV_ET, hop_on_done,
			   &hop_collected);
	if (!hop.ev || event_add(hop.ev, NULL) < 0)
		die("event_new failed");
	/* Every signal blocked in the "resolver", as in the daemon. */
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = pthread_create(&hop.thread, NULL, hop_resolver, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r != 0)
		die("pthread_create: %s", strerror(r));
	hop.running = true;
}

static void
hop_stop(void)
{
	if (!hop.running)
		return;
	(void)pthread_mutex_lock(&hop.lock);
	hop.quit = true;
	(void)pthread_cond_signal(&hop.work);
	(void)pthread_mutex_unlock(&hop.lock);
	(void)pthread_join(hop.thread, NULL);
	event_free(hop.ev);
	event_base_free(hop.base);
	(void)close(hop.efd);
	hop.running = false;
}

/* One hop: submit, then run the loop until the answer is collected. */
static int
hop_round_trip(void)
{
	(void)pthread_mutex_lock(&hop.lock);
	hop.queued = true;
	(void)pthread_mutex_unlock(&hop.lock);
	/* After the unlock, as resolver_submit() does. */
	(void)pthread_cond_signal(&hop.work);
	hop_collected = false;
	while (!hop_collected)
		if (event_base_loop(hop.base, EVLOOP_ONCE) < 0) {
			fprintf(stderr, "thread hop: event_base_loop failed\n");
			return -1;
		}
	return 0;
}

/* user_account_load() of nobody as the resolver thread makes it (daemon/user.c). */
static int
lookup_user(void)
{
	char buf[4096];
	struct passwd pw, *found = NULL;
	gid_t groups[64];
	int n = 64, r;

	r = getpwnam_r("nobody", &pw, buf, sizeof(buf), &found);
	if (r != 0 || !found) {
		fprintf(stderr, "getpwnam_r(nobody): %s\n", r ? strerror(r) : "not found");
		return -1;
	}
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) {
		fprintf(stderr, "getgrouplist(nobody): more than 64 groups\n");
		return -1;
	}
	return 0;
}

/* command_canonicalize() of /bin/true for a client of our own uid (no fsuid switch). */
static int
lookup_path(void)
{
	char *p = realpath(TRUE_PATH, NULL);

	if (!p) {
		fprintf(stderr, "realpath(%s): %s\n", TRUE_PATH, strerror(errno));
		return -1;
	}
	free(p);
	return 0;
}

/*
 * SYSCALL_MIX cheap system calls of the kinds the loop makes around a
 * spawn, none of which sleeps: read of an empty eventfd (EAGAIN), a write
 * and a read of it, an epoll_ctl add and delete, an epoll_wait that finds
 * nothing, dup and close. fd: the eventfd; ep: an epoll instance.
 */
static int
syscall_mix(int fd, int ep)
{
	struct epoll_event ev = {.events = EPOLLIN}, got;
	uint64_t v = 1;
	int k;

	if (read(fd, &v, sizeof(v)) >= 0 || write(fd, &v, sizeof(v)) != sizeof(v) ||
	    read(fd, &v, sizeof(v)) != sizeof(v) || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0 || epoll_wait(ep, &got, 1, 0) != 0 ||
	    (k = dup(fd)) < 0 || close(k) < 0) {
		fprintf(stderr, "system call mix: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* One spawn + wait by worker `idx` of runner r. Returns 0 or -1 (with a message). */
/* One spawn of /bin/true on client c and the wait for its exit (K_SPAWND*). */
static int
spawn_and_wait(struct runner *r, spawnd_client *c, unsigned idx)
{
	spawnd_result *res = NULL;
	int k;
	uint64_t id;

	k = spawnd_spawn(c, r->opts[idx], SPAWN_TIMEOUT_USEC, &res);
	if (k < 0) {
		fprintf(stderr, "%s: spawnd_spawn: %s\n", r->name, strerror(-k));
		return -1;
	}
	if (spawnd_result_get_state(res) != SPAWND_STATE_STARTED) {
		fprintf(stderr, "%s: spawn failed: stage %s: %s (%s)\n", r->name,
			spawnd_stage_to_string(spawnd_result_get_stage(res)),
			strerror(spawnd_result_get_errno(res)), spawnd_result_get_detail(res));
		spawnd_result_free(res);
		return -1;
	}
	id = spawnd_result_get_id(res);
	res = spawnd_result_free(res);
	k = spawnd_wait(c, id, SPAWN_TIMEOUT_USEC, &res);
	if (k < 0 || spawnd_result_get_exit_code(res) != 0) {
		fprintf(stderr, "%s: wait: %s, exit %d\n", r->name, strerror(k < 0 ? -k : 0),
			res ? spawnd_result_get_exit_code(res) : -1);
		spawnd_result_free(res);
		return -1;
	}
	spawnd_result_free(res);
	return 0;
}

static int
one_spawn(struct runner *r, unsigned idx)
{
	pid_t pid;
	int k;

	switch (r->kind) {
	case K_POSIX_SPAWN:
		k = posix_spawn(&pid, TRUE_PATH, NULL, NULL, true_argv, (char *const *)small_env);
		if (k != 0) {
			fprintf(stderr, "posix_spawn: %s\n", strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	case K_CLONE_VFORK:
		pid = clone(exec_true, r->stacks[idx] + CLONE_STACK,
			    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
		if (pid < 0) {
			fprintf(stderr, "clone: %s\n", strerror(errno));
			return -1;
		}
		return wait_ok(pid, r->name);
	case K_S6: {
		char *argv[] = {(char *)"s6-sudo", (char *)r->sock, NULL};

		k = posix_spawn(&pid, r->program, NULL, NULL, argv, (char *const *)small_env);
		if (k != 0) {
			fprintf(stderr, "posix_spawn s6-sudo: %s\n", strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	}
	case K_SPAWNCTL: {
		char *argv[] = {(char *)"spawnctl", (char *)"-s", r->d->sock,	     (char *)"-u",
				(char *)r->user,    (char *)"--", (char *)TRUE_PATH, NULL};

		k = posix_spawn(&pid, opt.spawnctl, NULL, NULL, argv, (char *const *)small_env);
		if (k != 0) {
			fprintf(stderr, "posix_spawn spawnctl: %s\n", strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	}
	case K_SPAWND:
		return spawn_and_wait(r, r->clients[idx], idx);
	case K_SPAWND_CONNECT: {
		spawnd_client *c = NULL;

		k = spawnd_client_open(&c, r->d->sock, 0);
		if (k < 0) {
			fprintf(stderr, "%s: connect: %s\n", r->name, strerror(-k));
			return -1;
		}
		k = spawn_and_wait(r, c, idx);
		(void)spawnd_client_close(c);
		return k;
	}
	case K_SPAWNCTL_START: {
		char *argv[] = {(char *)"spawnctl", (char *)"--version", NULL};
		posix_spawn_file_actions_t fa;

		/* Its output goes to /dev/null: only the start and exit are timed. */
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		k = posix_spawn(&pid, opt.spawnctl, &fa, NULL, argv, (char *const *)small_env);
		posix_spawn_file_actions_destroy(&fa);
		if (k != 0) {
			fprintf(stderr, "posix_spawn spawnctl --version: %s\n", strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	}
	case K_IPC:
	case K_IPC_FD:
		return ipc_round_trip(r, idx);
	case K_HOP:
		return hop_round_trip();
	case K_SKELETON:
		return skeleton_spawn(r, idx);
	case K_SKELCTL: {
		char *argv[] = {(char *)"bench-skelctl", (char *)r->sock, (char *)r->user, NULL};

		k = posix_spawn(&pid, SKELCTL_PATH, NULL, NULL, argv, (char *const *)small_env);
		if (k != 0) {
			fprintf(stderr, "posix_spawn %s: %s\n", SKELCTL_PATH, strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	}
	case K_LOOKUP_USER:
		return lookup_user();
	case K_LOOKUP_PATH:
		return lookup_path();
	case K_SYSCALL:
		return syscall_mix(r->ipc_fd[idx], r->ipc_passed[idx]);
	case K_EXEC_STATIC: {
		char *argv[] = {(char *)"bench-nothing", NULL};

		k = posix_spawn(&pid, NOTHING_PATH, NULL, NULL, argv, (char *const *)small_env);
		if (k != 0) {
			fprintf(stderr, "posix_spawn %s: %s\n", NOTHING_PATH, strerror(k));
			return -1;
		}
		return wait_ok(pid, r->name);
	}
	case K_PYTHON:
		break;
	}
	return -1;
}

struct worker {
	struct runner *r;
	unsigned idx, n;
	pthread_barrier_t *start;
	int failed;
	double timed; /* idle runners: seconds inside one_spawn() only */
	pthread_t thread;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	/* Moved before the clock starts. */
	if (w->r->cpu >= 0 && !pin_to_cpu(w->r->cpu))
		w->failed = 1;
	(void)pthread_barrier_wait(w->start);
	for (unsigned i = 0; i < w->n && !w->failed; i++) {
		double t0 = 0;

		/* Idle first (every task of the operation asleep), then time the operation. */
		if (w->r->idle_ms) {
			sleep_ms(w->r->idle_ms);
			t0 = now_sec();
		}
		if (one_spawn(w->r, w->idx) < 0)
			w->failed = 1;
		if (w->r->idle_ms)
			w->timed += now_sec() - t0;
	}
	return NULL;
}

/* Python: its own loop, timed inside the interpreter (start-up excluded). */
static double
python_batch(struct runner *r, unsigned n)
{
	static const char script[] = "import subprocess, sys, time\n"
				     "n = int(sys.argv[1]); a = ['" TRUE_PATH "']\n"
				     "t = time.perf_counter()\n"
				     "for _ in range(n): subprocess.run(a, check=True)\n"
				     "print(time.perf_counter() - t)\n";
	char count[16], out[128] = "";
	char *argv[] = {(char *)"python3", (char *)"-c", (char *)script, count, NULL};
	posix_spawn_file_actions_t fa;
	ssize_t len = 0, k;
	int p[2];
	pid_t pid;
	double t;

	xsnprintf(count, sizeof(count), "%u", n);
	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	if (posix_spawn(&pid, r->program, &fa, NULL, argv, (char *const *)small_env) != 0)
		die("cannot start %s", r->program);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(p[1]);
	while (len < (ssize_t)sizeof(out) - 1 &&
	       (k = read(p[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
		len += k;
	(void)close(p[0]);
	if (wait_ok(pid, r->name) < 0 || sscanf(out, "%lf", &t) != 1)
		die("%s failed (output '%s')", r->name, out);
	return t / n;
}

/* Run n spawns (in total) with conc workers; returns wall seconds per spawn. */
static double
run_batch(struct runner *r, unsigned conc, unsigned n)
{
	struct worker w[MAX_CONC];
	pthread_barrier_t start;
	double t0, t1, timed = 0;
	unsigned per;
	int failed = 0;

	if (r->kind == K_PYTHON)
		return python_batch(r, n);
	per = (n + conc - 1) / conc;
	if (per == 0)
		per = 1;
	if (pthread_barrier_init(&start, NULL, conc + 1) != 0)
		die("pthread_barrier_init");
	for (unsigned i = 0; i < conc; i++) {
		w[i] = (struct worker){.r = r, .idx = i, .n = per, .start = &start};
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			die("pthread_create");
	}
	(void)pthread_barrier_wait(&start);
	t0 = now_sec();
	for (unsigned i = 0; i < conc; i++) {
		(void)pthread_join(w[i].thread, NULL);
		failed |= w[i].failed;
		timed += w[i].timed;
	}
	t1 = now_sec();
	(void)pthread_barrier_destroy(&start);
	if (failed)
		die("runner '%s' failed at concurrency %u", r->name, conc);
	return (r->idle_ms ? timed : t1 - t0) / (per * conc);
}

/* Connections and per-worker state, set up before timing. */
static void
runner_prepare(struct runner *r)
{
	const char *argv[] = {TRUE_PATH, NULL};

	for (unsigned i = 0; i < MAX_CONC; i++) {
		if (r->kind == K_CLONE_VFORK) {
			r->stacks[i] = mmap(NULL, CLONE_STACK, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
			if (r->stacks[i] == MAP_FAILED)
				die("mmap: %s", strerror(errno));
		}
		if ((r->kind == K_IPC || r->kind == K_IPC_FD) && (!r->seq_only || i == 0))
			ipc_start(r, i);
		if (r->kind == K_HOP && i == 0)
			hop_start();
		if (r->kind == K_SKELETON && i == 0)
			skeleton_start(r);
		if (r->kind == K_SKELCTL && i == 0)
			skelctl_start(r);
		/* K_SYSCALL: an eventfd and an epoll instance, closed by ipc_stop(). */
		if (r->kind == K_SYSCALL && i == 0) {
			r->ipc_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			r->ipc_passed[i] = epoll_create1(EPOLL_CLOEXEC);
			if (r->ipc_fd[i] < 0 || r->ipc_passed[i] < 0)
				die("eventfd/epoll_create1: %s", strerror(errno));
		}
		if (r->kind == K_SPAWND || r->kind == K_SPAWND_CONNECT) {
			int k = r->kind == K_SPAWND_CONNECT
					? 0
					: spawnd_client_open(&r->clients[i], r->d->sock, 0);

			if (k < 0)
				die("connect %s: %s", r->d->sock, strerror(-k));
			if (spawnd_options_new(&r->opts[i]) < 0 ||
			    spawnd_options_set_argv(r->opts[i], (char *const *)argv) < 0 ||
			    spawnd_options_set_user(r->opts[i], r->user) < 0)
				die("spawnd options");
			for (int fd = 0; r->stdio_fds && fd < 3; fd++)
				if (spawnd_options_add_fd(r->opts[i], fd, fd) < 0)
					die("spawnd options: fd %d", fd);
		}
	}
}

/* Index of concurrency c in opt.conc. */
static int
conc_level(unsigned c)
{
	for (unsigned i = 0; i < opt.n_conc; i++)
		if (opt.conc[i] == c)
			return (int)i;
	return -1;
}

static unsigned
batch_of(const struct runner *r)
{
	unsigned n = opt.batch * r->multiplier / r->divisor;

	return n < 2 ? 2 : n;
}

/*
 * One round: every runner once per concurrency, starting at a different
 * runner each round so that no runner always follows the same one.
 */
static void
run_round(unsigned round)
{
	for (unsigned l = 0; l < opt.n_conc; l++) {
		unsigned c = opt.conc[l];
		double ref;

		for (unsigned j = 0; j < n_runners; j++) {
			struct runner *r = &runners[(j + round) % n_runners];

			if (r->seq_only && c != 1)
				continue;
			double t0 = now_sec();

			r->sec[l][r->n[l]++] = run_batch(r, c, batch_of(r) * (c > 1 ? 2 : 1));
			if (opt.verbose)
				fprintf(stderr, "  c=%u %s: %.0f us per spawn (%.1f s)\n", c,
					r->name, r->sec[l][r->n[l] - 1] * 1e6, now_sec() - t0);
		}
		ref = runners[0].sec[l][round];
		for (unsigned j = 0; j < n_runners; j++) {
			struct runner *r = &runners[j];

			if (r->seq_only && c != 1)
				continue;
			r->ratio[l][round] = r->sec[l][round] / ref;
		}
	}
}

/* ---- live children: growth curve and RSS ---- */

static unsigned
checkpoints(unsigned live, unsigned *cp)
{
	static const double fractions[] = {0, 0.1, 0.25, 0.5, 0.75, 1.0};
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(fractions) / sizeof(fractions[0]); i++) {
		unsigned v = (unsigned)(live * fractions[i]);

		if (n == 0 || v > cp[n - 1])
			cp[n++] = v;
	}
	return n;
}

/*
 * Load d step by step to its live target; at each step measure the
 * per-spawn cost (paired with the reference) and the daemon's RSS.
 */
static void
live_load(struct daemon *d, struct runner *probe, struct runner *ref)
{
	unsigned cp[MAX_CHECKPOINTS];
	unsigned n = checkpoints(d->live_target, cp);

	for (unsigned i = 0; i < n; i++) {
		double ratios[64];
		unsigned g = opt.growth_rounds < 64 ? opt.growth_rounds : 64;

		live_grow(d, cp[i]);
		for (unsigned k = 0; k < g; k++) {
			double a = run_batch(ref, 1, opt.batch);
			double b = run_batch(probe, 1, opt.batch);

			ratios[k] = b / a;
		}
		d->cp_live[i] = d->live;
		d->cp_ratio[i] = percentile(ratios, g, 0.5);
		d->cp_lo[i] = percentile(ratios, g, 0.25);
		d->cp_hi[i] = percentile(ratios, g, 0.75);
		d->cp_rss[i] = proc_status_kb(d->pid, "VmRSS");
		fprintf(stderr, "  %s: %u live children, per-spawn %.2fx, RSS %ld kB\n", d->name,
			d->live, d->cp_ratio[i], d->cp_rss[i]);
	}
	d->n_cp = n;
	d->rss_live_kb = proc_status_kb(d->pid, "VmRSS");
}

/* ---- report ---- */

static void
cell(char *buf, size_t size, struct runner *r, unsigned l)
{
	double v[256], s[256], med, lo, hi, us;
	unsigned n = r->n[l];

	if (n == 0) {
		xsnprintf(buf, size, "-");
		return;
	}
	if (n > 256)
		n = 256;
	memcpy(v, r->ratio[l], n * sizeof(double));
	memcpy(s, r->sec[l], n * sizeof(double));
	med = percentile(v, n, 0.5);
	lo = percentile(v, n, 0.25);
	hi = percentile(v, n, 0.75);
	us = percentile(s, n, 0.5) * 1e6;
	if (med < 0.1) /* the bare round trip: a few hundredths */
		xsnprintf(buf, size, "%.3f [%.3f-%.3f] %.1f us", med, lo, hi, us);
	else
		xsnprintf(buf, size, "%.2f [%.2f-%.2f] %.0f us", med, lo, hi, us);
}

/* Median over rounds of the per-round ratio a/b (paired: same round, same concurrency). */
static double
paired(struct runner *a, struct runner *b, unsigned l, double *ret_lo, double *ret_hi)
{
	double v[256];
	unsigned n = a->n[l] < b->n[l] ? a->n[l] : b->n[l];

	if (n > 256)
		n = 256;
	for (unsigned i = 0; i < n; i++)
		v[i] = a->sec[l][i] / b->sec[l][i];
	*ret_lo = percentile(v, n, 0.25);
	*ret_hi = percentile(v, n, 0.75);
	return percentile(v, n, 0.5);
}

static void
print_machine(const char *when, char *load, size_t size)
{
	char model[256], mem[128];
	cpu_set_t allowed;
	struct utsname u;
	time_t t = time(NULL);
	char date[64];

	read_line("/proc/loadavg", load, size);
	if (strcmp(when, "start") != 0)
		return;
	cpu_model(model, sizeof(model));
	(void)uname(&u);
	(void)strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	xsnprintf(mem, sizeof(mem), "%lld MiB",
		  (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1024 * 1024));
	printf("# spawnd benchmark\n\n");
	printf("- date: %s\n", date);
	printf("- machine: %s, %ld CPUs online, %s RAM, Linux %s (%s)\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), mem, u.release, u.machine);
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 &&
	    CPU_COUNT(&allowed) < sysconf(_SC_NPROCESSORS_ONLN))
		printf("- this run may use %d of them (its CPU affinity, e.g. taskset)\n",
		       CPU_COUNT(&allowed));
	printf("- rounds: %u; batch: %u spawns per runner and round at concurrency 1, %u at "
	       "higher concurrency (s6-sudo: 1/10, spawnctl: 1/2 of that); order rotated per "
	       "round\n",
	       opt.rounds, opt.batch, opt.batch * 2);
	printf("- live children for the \"+N live\" rows: %u\n", opt.live);
}

/*
 * The runner of kind (of daemon d and as user, when given) whose worker
 * runs on CPU cpu, or unpinned for cpu < 0.
 */
static struct runner *
find_runner_on(enum kind kind, const struct daemon *d, const char *user, int cpu)
{
	for (unsigned j = 0; j < n_runners; j++)
		if (runners[j].kind == kind && (!d || runners[j].d == d) &&
		    (cpu < 0 ? runners[j].cpu < 0 : runners[j].cpu == cpu) &&
		    (!user || (runners[j].user && strcmp(runners[j].user, user) == 0)))
			return &runners[j];
	return NULL;
}

/* The unpinned runner of kind (of daemon d and as user, when given). */
static struct runner *
find_runner(enum kind kind, const struct daemon *d, const char *user)
{
	return find_runner_on(kind, d, user, -1);
}

/* Median over rounds (c=1) of a's time minus b's, in us: paired per round. */
static double
paired_diff_us(const struct runner *a, const struct runner *b)
{
	double v[256];
	unsigned n = a->n[0] < b->n[0] ? a->n[0] : b->n[0];

	if (n > 256)
		n = 256;
	for (unsigned i = 0; i < n; i++)
		v[i] = (a->sec[0][i] - b->sec[0][i]) * 1e6;
	return percentile(v, n, 0.5);
}

static double
median_us(const struct runner *r, unsigned l)
{
	double v[256];
	unsigned n = r->n[l] < 256 ? r->n[l] : 256;

	memcpy(v, r->sec[l], n * sizeof(double));
	return percentile(v, n, 0.5) * 1e6;
}

static void print_floor_measured(void);
static void print_placement(void);
static void floor_count_syscalls(struct runner *r);
static struct runner *engine_runner(const char *user);

/*
 * What a spawn through the daemon adds to the reference, in bare round
 * trips (c=1): the floor of the daemon path is the reference plus one
 * request and the replies, i.e. about one round trip with an fd.
 */
/* The runner of kind (as root, on the idle engine daemon) with or without fds 0-2. */
static struct runner *
find_root_runner(enum kind kind, bool stdio_fds)
{
	for (unsigned j = 0; j < n_runners; j++) {
		struct runner *r = &runners[j];

		if (r->kind == kind && r->stdio_fds == stdio_fds && r->n[0] > 0 && r->cpu < 0 &&
		    (!r->d || (r->d->live_target == 0 && strcmp(r->d->engine, opt.engine) == 0)) &&
		    (kind == K_SPAWNCTL_START || (r->user && strcmp(r->user, "root") == 0)))
			return r;
	}
	return NULL;
}

/*
 * What `spawnctl -u root -- /bin/true` adds to one spawn on a persistent
 * connection, part by part, each the median of per-round differences
 * (docs/benchmarks.md, "What spawnctl adds").
 */
static void
print_spawnctl_parts(void)
{
	struct runner *ref = &runners[0], *pers = find_root_runner(K_SPAWND, false),
		      *pers_fds = find_root_runner(K_SPAWND, true),
		      *conn = find_root_runner(K_SPAWND_CONNECT, false),
		      *conn_fds = find_root_runner(K_SPAWND_CONNECT, true),
		      *start = find_root_runner(K_SPAWNCTL_START, false),
		      *ctl = find_runner(K_SPAWNCTL, NULL, "root"),
		      *nothing = find_runner(K_EXEC_STATIC, NULL, NULL);
	double rest[256];
	unsigned n;

	if (!pers || !pers_fds || !conn || !conn_fds || !start || !ctl || !ctl->n[0])
		return;
	n = ctl->n[0] < 256 ? ctl->n[0] : 256;
	if (conn_fds->n[0] < n)
		n = conn_fds->n[0];
	if (start->n[0] < n)
		n = start->n[0];
	printf("\n### What spawnctl adds (c=1, as root)\n\n");
	printf("Medians of per-round differences (paired, same round) in us.\n\n");
	printf("| part | us |\n|---|---|\n");
	printf("| one spawn on a persistent connection, over the reference | %+.0f |\n",
	       paired_diff_us(pers, ref));
	printf("| passing fds 0-2 (persistent conn with fds - without) | %+.0f |\n",
	       paired_diff_us(pers_fds, pers));
	printf("| a new connection per spawn (new conn - persistent, no fds) | %+.0f |\n",
	       paired_diff_us(conn, pers));
	printf("| both: spawnctl's requests in-process (new conn with fds - persistent) | %+.0f "
	       "|\n",
	       paired_diff_us(conn_fds, pers));
	printf("| spawnctl's own start and exit (`spawnctl --version`), over the reference | "
	       "%+.0f |\n",
	       paired_diff_us(start, ref));
	for (unsigned i = 0; i < n; i++)
		rest[i] = (ctl->sec[0][i] - conn_fds->sec[0][i] - start->sec[0][i]) * 1e6;
	if (nothing && nothing->n[0])
		printf("| spawnctl's own start and exit, over the static PIE that does nothing | "
		       "%+.0f |\n",
		       paired_diff_us(start, nothing));
	printf("| `spawnctl -u root` - its start - its requests in-process (the rest) | %+.0f |\n",
	       percentile(rest, n, 0.5));
	printf("| `spawnctl -u root`, over the persistent connection | %+.0f |\n",
	       paired_diff_us(ctl, pers));
}

static void
print_floor(void)
{
	struct runner *ref = &runners[0], *ipc = find_runner(K_IPC, NULL, NULL),
		      *ipc_fd = find_runner(K_IPC_FD, NULL, NULL);
	double rt, rt_fd, ref_us;

	if (!ipc || !ipc_fd || ref->n[0] == 0)
		return;
	rt = median_us(ipc, 0);
	rt_fd = median_us(ipc_fd, 0);
	ref_us = median_us(ref, 0);
	printf("\n## The floor (c=1)\n\n");
	printf("Bare SOCK_SEQPACKET round trip between two processes: %.1f us; passing one fd: "
	       "%.1f us. The reference: %.0f us, so a goal of 1.05 leaves %.0f us over it "
	       "(%.1f round trips with an fd).\n\n",
	       rt, rt_fd, ref_us, ref_us * 0.05, ref_us * 0.05 / rt_fd);
	printf("| runner | over the reference (median of per-round differences) | in round trips "
	       "with an fd |\n|---|---|---|\n");
	for (unsigned j = 1; j < n_runners; j++) {
		struct runner *r = &runners[j];
		double d;

		if ((r->kind != K_SPAWND && r->kind != K_SPAWNCTL && r->kind != K_SPAWND_CONNECT) ||
		    r->n[0] == 0 || (r->d && r->d->live_target) || r->cpu >= 0)
			continue;
		d = paired_diff_us(r, ref);
		printf("| %s | %+.0f us | %.1f |\n", r->name, d, d / rt_fd);
	}
	print_floor_measured();
	print_spawnctl_parts();
	print_placement();
}

static void
print_report(const char *load_start, const char *load_end)
{
	char buf[MAX_CONC_LEVELS][96];
	struct runner *ref = &runners[0];
	double noise[256];
	unsigned n;

	printf("- load average at start: %s; at end: %s\n", load_start, load_end);
	n = ref->n[0] < 256 ? ref->n[0] : 256;
	memcpy(noise, ref->sec[0], n * sizeof(double));
	if (n > 0) {
		double lo = percentile(noise, n, 0.25), hi = percentile(noise, n, 0.75),
		       med = percentile(noise, n, 0.5);

		printf("- noise: the reference's own time per spawn at concurrency 1 varied "
		       "%.0f-%.0f us (25th-75th percentile) around a median of %.0f us, i.e. "
		       "+-%.0f%%\n",
		       lo * 1e6, hi * 1e6, med * 1e6, (hi - lo) / 2 / med * 100);
	}

	printf("\n## Spawn + wait of %s, cost relative to in-process posix_spawn\n\n", TRUE_PATH);
	printf("Each cell: median ratio over rounds [25th-75th percentile] and the median wall "
	       "time per spawn. At concurrency c > 1 the time is wall time / spawns of the whole "
	       "batch, so throughput relative to posix_spawn is 1 / ratio.\n\n");
	printf("| runner |");
	for (unsigned l = 0; l < opt.n_conc; l++)
		printf(" c=%u |", opt.conc[l]);
	printf("\n|---|");
	for (unsigned l = 0; l < opt.n_conc; l++)
		printf("---|");
	printf("\n");
	for (unsigned j = 0; j < n_runners; j++) {
		struct runner *r = &runners[j];

		if (r->floor_part) /* in the floor section */
			continue;
		printf("| %s |", r->name);
		for (unsigned l = 0; l < opt.n_conc; l++) {
			cell(buf[l], sizeof(buf[l]), r, l);
			printf(" %s |", buf[l]);
		}
		printf("\n");
	}

	print_floor();
	if (opt.floor_only)
		return;

	/* Live children: the same engine with and without them, paired per round. */
	printf("\n## Live children tracked by the daemon\n\n");
	printf("| engine | per-spawn cost with %u live / with 0 (c=1) | daemon RSS idle | "
	       "RSS with %u live | per live child |\n|---|---|---|---|---|\n",
	       opt.live, opt.live);
	for (unsigned i = 0; i < n_daemons; i++) {
		struct daemon *live = &daemons[i], *idle = NULL;
		struct runner *rl = NULL, *r0 = NULL;
		double lo, hi, med;
		int l1 = conc_level(1);

		if (live->live_target == 0)
			continue;
		for (unsigned k = 0; k < n_daemons; k++)
			if (daemons[k].live_target == 0 && daemons[k].cpu < 0 &&
			    strcmp(daemons[k].engine, live->engine) == 0)
				idle = &daemons[k];
		for (unsigned j = 0; j < n_runners; j++)
			if (runners[j].kind == K_SPAWND && strcmp(runners[j].user, "nobody") == 0) {
				if (runners[j].d == live)
					rl = &runners[j];
				if (runners[j].d == idle)
					r0 = &runners[j];
			}
		if (!idle || !rl || !r0 || l1 < 0)
			continue;
		med = paired(rl, r0, (unsigned)l1, &lo, &hi);
		/* The live daemon's own RSS before its first live child is the baseline. */
		printf("| %s | %.2f [%.2f-%.2f] | %ld kB | %ld kB | %.0f bytes |\n", live->engine,
		       med, lo, hi, live->cp_rss[0], live->rss_live_kb,
		       live->live
			       ? (double)(live->rss_live_kb - live->cp_rss[0]) * 1024.0 / live->live
			       : 0.0);
	}

	printf("\nDaemon RSS after warm-up and after all rounds (churn must not grow it):");
	for (unsigned i = 0; i < n_daemons; i++)
		printf(" %s %ld -> %ld kB%s", daemons[i].name, daemons[i].rss_idle_kb,
		       daemons[i].rss_end_kb, i + 1 < n_daemons ? ";" : ".\n");

	printf("\n## Per-spawn cost as live children grow (c=1, as nobody, ratio to posix_spawn "
	       "measured right before; %u pairs per step)\n\n",
	       opt.growth_rounds);
	printf("| live children |");
	for (unsigned i = 0; i < n_daemons; i++)
		if (daemons[i].live_target)
			printf(" %s: ratio [IQR], RSS |", daemons[i].engine);
	printf("\n|---|");
	for (unsigned i = 0; i < n_daemons; i++)
		if (daemons[i].live_target)
			printf("---|");
	printf("\n");
	for (unsigned k = 0; k < MAX_CHECKPOINTS; k++) {
		bool any = false;

		for (unsigned i = 0; i < n_daemons; i++)
			if (daemons[i].live_target && k < daemons[i].n_cp) {
				if (!any)
					printf("| %u |", daemons[i].cp_live[k]);
				any = true;
				printf(" %.2f [%.2f-%.2f], %ld kB |", daemons[i].cp_ratio[k],
				       daemons[i].cp_lo[k], daemons[i].cp_hi[k],
				       daemons[i].cp_rss[k]);
			}
		if (any)
			printf("\n");
	}
}

/*
 * ---- --costs N: per-spawn costs that do not depend on load ----
 *
 * Over N spawns + waits through one persistent connection (from this
 * thread): the voluntary context switches (a task that went to sleep and
 * was woken: the wake-ups) of every daemon thread, of the daemon's closer
 * process and of the client thread, from /proc/PID/task/TID/status; then,
 * in separate passes under strace -c (which slows the daemon, not the
 * counts), the system calls of the loop thread, and of all daemon threads
 * and the closer (not the children). Divided by N.
 */

#define MAX_TASKS 256

static struct daemon *daemon_add(const char *engine, unsigned live, int cpu);

struct task_count {
	pid_t tid;
	char comm[32];
	int group; /* enum cost_group */
	long vol, nonvol;
};

enum cost_group { G_LOOP, G_THREADS, G_RESOLVER, G_CLOSER, G_CLIENT, G_N };

static const char *const group_names[G_N] = {"daemon loop thread", "other daemon threads (spawnd)",
					     "resolver threads", "closer process (all threads)",
					     "client (the spawning thread)"};

static bool
task_read(pid_t pid, pid_t tid, struct task_count *t)
{
	char path[96], line[256];
	FILE *f;

	xsnprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	t->tid = tid;
	t->vol = t->nonvol = 0;
	t->comm[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Name:", 5) == 0)
			xsnprintf(t->comm, sizeof(t->comm), "%.*s", (int)strcspn(line + 6, "\n"),
				  line + 6);
		else if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
			t->vol = strtol(line + 24, NULL, 10);
		else if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
			t->nonvol = strtol(line + 27, NULL, 10);
	}
	fclose(f);
	return true;
}

/* The daemon's closer: comm spawnd-closer in the daemon's session (it setsid()s in daemon_start).
 */
static pid_t
find_closer(pid_t daemon_pid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char path[64], buf[512], *p;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		int sid = 0;

		if (pid <= 0 || pid == daemon_pid)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		read_line(path, buf, sizeof(buf));
		p = strrchr(buf, ')');
		/* ") S ppid pgrp session" */
		if (!p || strstr(buf, "(spawnd-closer)") == NULL ||
		    sscanf(p + 1, " %*c %*d %*d %d", &sid) != 1)
			continue;
		if (sid == daemon_pid)
			found = pid;
	}
	closedir(d);
	return found;
}

/* Every task of pid (and of the closer), grouped. */
static unsigned
tasks_snapshot(pid_t pid, pid_t closer, struct task_count *t, unsigned max)
{
	pid_t procs[2] = {pid, closer};
	unsigned n = 0;

	for (unsigned p = 0; p < 2; p++) {
		char path[64];
		DIR *d;
		struct dirent *de;

		if (procs[p] <= 0)
			continue;
		xsnprintf(path, sizeof(path), "/proc/%d/task", (int)procs[p]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d)) && n < max) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

			if (tid <= 0 || !task_read(procs[p], tid, &t[n]))
				continue;
			if (p == 1)
				t[n].group = G_CLOSER;
			else if (tid == pid)
				t[n].group = G_LOOP;
			else if (strcmp(t[n].comm, "spawnd-resolver") == 0)
				t[n].group = G_RESOLVER;
			else
				t[n].group = G_THREADS;
			n++;
		}
		closedir(d);
	}
	if (n < max && task_read(getpid(), gettid(), &t[n])) {
		t[n].group = G_CLIENT;
		n++;
	}
	return n;
}

static void
spawns(struct runner *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (one_spawn(r, 0) < 0)
			die("%s: spawn %u failed", r->name, i);
}

#define COST_PASSES 5

/* Per-spawn context switches of each group in one pass of n spawns. */
static void
wakeup_pass(struct daemon *d, pid_t closer, struct runner *r, unsigned n, double *vol,
	    double *nonvol, unsigned *threads)
{
	static struct task_count a[MAX_TASKS], b[MAX_TASKS];
	unsigned na, nb;

	na = tasks_snapshot(d->pid, closer, a, MAX_TASKS);
	spawns(r, n);
	nb = tasks_snapshot(d->pid, closer, b, MAX_TASKS);
	for (unsigned g = 0; g <= G_N; g++)
		vol[g] = nonvol[g] = threads[g] = 0;
	for (unsigned i = 0; i < nb; i++) {
		long v0 = 0, n0 = 0;

		for (unsigned k = 0; k < na; k++)
			if (a[k].tid == b[i].tid && a[k].group == b[i].group) {
				v0 = a[k].vol;
				n0 = a[k].nonvol;
			}
		threads[b[i].group]++;
		vol[b[i].group] += (double)(b[i].vol - v0) / n;
		nonvol[b[i].group] += (double)(b[i].nonvol - n0) / n;
		vol[G_N] += (double)(b[i].vol - v0) / n; /* G_N: all */
		nonvol[G_N] += (double)(b[i].nonvol - n0) / n;
	}
}

static void
costs_wakeups(struct daemon *d, struct runner *r, unsigned n)
{
	pid_t closer = find_closer(d->pid);
	double vol[COST_PASSES][G_N + 1], nonvol[COST_PASSES][G_N + 1];
	unsigned threads[G_N + 1];

	for (unsigned p = 0; p < COST_PASSES; p++)
		wakeup_pass(d, closer, r, n, vol[p], nonvol[p], threads);
	printf("\n### Wake-ups per spawn, %s (%u passes of %u spawns + waits)\n\n", r->name,
	       COST_PASSES, n);
	printf("Voluntary context switches (the task slept and was woken) and involuntary ones "
	       "(preempted), per spawn, from /proc/PID/task/TID/status: median [min-max] over "
	       "the passes.%s\n\n",
	       closer ? "" : " No closer process was found.");
	printf("| task | threads | voluntary | involuntary |\n|---|---|---|---|\n");
	for (unsigned g = 0; g <= G_N; g++) {
		double v[COST_PASSES], w[COST_PASSES], vm, wm;
		char label[64];

		if (g < G_N && !threads[g])
			continue;
		for (unsigned p = 0; p < COST_PASSES; p++) {
			v[p] = vol[p][g];
			w[p] = nonvol[p][g];
		}
		vm = percentile(v, COST_PASSES, 0.5); /* sorts v */
		wm = percentile(w, COST_PASSES, 0.5);
		if (g < G_N)
			xsnprintf(label, sizeof(label), "%s | %u", group_names[g], threads[g]);
		else
			xsnprintf(label, sizeof(label), "**all** |");
		printf("| %s | %s%.2f%s [%.2f-%.2f] | %.2f [%.2f-%.2f] |\n", label,
		       g < G_N ? "" : "**", vm, g < G_N ? "" : "**", v[0], v[COST_PASSES - 1], wm,
		       w[0], w[COST_PASSES - 1]);
	}
}

struct sc_count {
	char name[40];
	unsigned long calls, errors;
};

static int
cmp_sc(const void *a, const void *b)
{
	const struct sc_count *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls < y->calls ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* strace -c -U calls,errors,name output: "calls [errors] name" lines. */
static unsigned
parse_strace(const char *path, struct sc_count *sc, unsigned max)
{
	char line[256];
	unsigned n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		die("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) && n < max) {
		char a[40], b[40], c[40];
		int k = sscanf(line, "%39s %39s %39s", a, b, c);

		if (k < 2 || a[0] < '0' || a[0] > '9')
			continue;
		if (strcmp(k == 3 ? c : b, "total") == 0)
			continue;
		sc[n].calls = strtoul(a, NULL, 10);
		sc[n].errors = k == 3 ? strtoul(b, NULL, 10) : 0;
		xsnprintf(sc[n].name, sizeof(sc[n].name), "%s", k == 3 ? c : b);
		n++;
	}
	fclose(f);
	qsort(sc, n, sizeof(*sc), cmp_sc);
	return n;
}

static bool
traced(pid_t pid, pid_t tid)
{
	char path[96], line[128];
	bool yes = false;
	FILE *f;

	xsnprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "TracerPid:", 10) == 0) {
			yes = strtol(line + 10, NULL, 10) != 0;
			break;
		}
	fclose(f);
	return yes;
}

/*
 * strace -c the given tasks (no -f: not the children) over n spawns: the
 * counts into sc[0..return value), most frequent first; -1 when strace
 * could not attach.
 */
static int
strace_spawns(struct daemon *d, struct runner *r, unsigned n, bool all, const char *strace,
	      struct sc_count *sc, unsigned max_sc, unsigned *ret_ntraced)
{
	static struct task_count t[MAX_TASKS];
	char out[PATH_MAX], tids[MAX_TASKS][16];
	const char *argv[8 + 2 * MAX_TASKS];
	unsigned nt = tasks_snapshot(d->pid, all ? find_closer(d->pid) : 0, t, MAX_TASKS), na = 0,
		 ntraced = 0;
	pid_t pid;

	xsnprintf(out, sizeof(out), "%s/strace-%s-%u.txt", workdir, all ? "all" : "loop",
		  (unsigned)(r - runners));
	argv[na++] = "strace";
	argv[na++] = "-q";
	argv[na++] = "-c";
	argv[na++] = "-U";
	argv[na++] = "calls,errors,name";
	argv[na++] = "-o";
	argv[na++] = out;
	for (unsigned i = 0; i < nt; i++) {
		if (t[i].group == G_CLIENT || (!all && t[i].group != G_LOOP))
			continue;
		xsnprintf(tids[ntraced], sizeof(tids[0]), "%d", (int)t[i].tid);
		argv[na++] = "-p";
		argv[na++] = tids[ntraced++];
	}
	argv[na] = NULL;
	if (posix_spawn(&pid, strace, NULL, NULL, (char *const *)argv, environ) != 0)
		die("cannot start %s", strace);
	/* Wait until every task is attached (TracerPid), at most 10 s. */
	for (int i = 0; i < 1000; i++) {
		bool all_attached = true;

		for (unsigned k = 0; k < nt; k++)
			if (t[k].group != G_CLIENT && (all || t[k].group == G_LOOP) &&
			    !traced(t[k].group == G_CLOSER ? find_closer(d->pid) : d->pid,
				    t[k].tid))
				all_attached = false;
		if (all_attached)
			break;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(10);
	}
	sleep_ms(100);
	spawns(r, n);
	(void)kill(pid, SIGINT);
	if (wait_deadline(pid, 20000) == -1)
		die("strace did not stop");
	*ret_ntraced = ntraced;
	return (int)parse_strace(out, sc, max_sc);
}

/* strace -c the given tasks over n spawns; print per spawn. */
static void
costs_syscalls(struct daemon *d, struct runner *r, unsigned n, bool all, const char *strace)
{
	static struct sc_count sc[512];
	unsigned long total = 0;
	unsigned ns, ntraced = 0;
	int k = strace_spawns(d, r, n, all, strace, sc, sizeof(sc) / sizeof(sc[0]), &ntraced);

	if (k < 0) {
		printf("\n(strace exited before attaching, ptrace not allowed here?: "
		       "no system call counts)\n");
		return;
	}
	ns = (unsigned)k;
	for (unsigned i = 0; i < ns; i++)
		total += sc[i].calls;
	printf("\n### System calls per spawn in %s, %s (%u spawns + waits)\n\n",
	       all ? "every daemon thread and the closer (not the children)" : "the loop thread",
	       r->name, n);
	printf("**%.1f** per spawn (strace -c on %u task%s):", (double)total / n, ntraced,
	       ntraced == 1 ? "" : "s");
	for (unsigned i = 0, shown = 0; i < ns; i++) {
		if ((double)sc[i].calls / n < 0.05)
			continue;
		printf("%s %s %.1f", shown++ ? "," : "", sc[i].name, (double)sc[i].calls / n);
		if ((double)sc[i].errors / n >= 0.05)
			printf(" (%.1f failed)", (double)sc[i].errors / n);
	}
	printf(" (rarer calls left out)\n");
}

static void
costs_main(void)
{
	char strace_buf[PATH_MAX];
	const char *strace = find_program("strace", strace_buf, sizeof(strace_buf));
	static const struct {
		const char *name, *user;
		bool stdio_fds;
		enum kind kind;
	} cases[] = {
		{"as root", "root", false, K_SPAWND},
		{"as nobody", "nobody", false, K_SPAWND},
		{"as root, passing fds 0-2 as spawnctl does", "root", true, K_SPAWND},
		{"as root, a new connection per spawn", "root", false, K_SPAWND_CONNECT},
		{"as root, a new connection per spawn passing fds 0-2 (spawnctl in-process)",
		 "root", true, K_SPAWND_CONNECT},
	};
	struct daemon *d = daemon_add(opt.engine, 0, -1);
	struct utsname u;
	char load[128];

	(void)uname(&u);
	read_line("/proc/loadavg", load, sizeof(load));
	printf("# spawnd per-spawn costs\n\n- engine: %s (%s)\n- spawns per pass: %u\n- Linux %s, "
	       "%ld CPUs online\n- load average at start: %s\n",
	       opt.engine, opt.spawnd, opt.costs, u.release, sysconf(_SC_NPROCESSORS_ONLN), load);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct runner *r = runner_add(cases[i].name, cases[i].kind);

		r->d = d;
		r->user = cases[i].user;
		r->stdio_fds = cases[i].stdio_fds;
		runner_prepare(r);
		spawns(r, 20); /* warm up: threads, caches, the page cache */
		costs_wakeups(d, r, opt.costs);
		if (!strace) {
			printf("\n(strace not found: no system call counts)\n");
			continue;
		}
		costs_syscalls(d, r, opt.costs, false, strace);
		costs_syscalls(d, r, opt.costs, true, strace);
	}
}

/*
 * ---- the floor, measured (issue 12) ----
 *
 * The daemon path at c=1 beyond the reference, from parts measured in the
 * same rounds: the reference's own clone, exec, exit and its two wake-ups
 * (the vfork wait and the waitpid) have their counterparts in the daemon
 * (clone, the errpipe's EOF, the pidfd), so what a spawn through a
 * persistent connection must add is FLOOR_WAKEUPS cross-process wake-ups
 * (the request, the Started and Exited replies), one thread hop (the
 * lookups off the loop), the lookups themselves and the loop's other
 * system calls. docs/benchmarks.md, "The floor, measured".
 */
#define FLOOR_WAKEUPS 3

/* The loop thread's system calls per spawn (strace -c, as root, after the rounds). */
static struct {
	bool counted;
	unsigned spawns;
	double total;	 /* per spawn */
	double in_parts; /* of which already inside a component or the reference */
} loop_sc;

/* On-CPU time per spawn in us (schedstat, as root, after the rounds). */
static struct {
	bool counted;
	unsigned spawns;
	double loop, others, client; /* the daemon's loop, its other threads, the client */
	double reference;	     /* the thread that spawns in-process (posix_spawn) */
} cpu_us;

/* A task's time on a CPU so far, in ns (the first field of schedstat), or -1. */
static double
task_cpu_ns(pid_t pid, pid_t tid)
{
	char path[96], line[128];

	xsnprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	read_line(path, line, sizeof(line));
	return line[0] ? strtod(line, NULL) : -1;
}

/* On-CPU ns of pid's main thread (*loop) and of all its other threads (*others). */
static bool
daemon_cpu_ns(pid_t pid, double *loop, double *others)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	*loop = *others = 0;
	xsnprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		double ns;

		if (tid <= 0)
			continue;
		ns = task_cpu_ns(pid, tid);
		if (ns < 0) {
			closedir(d);
			return false;
		}
		*(tid == pid ? loop : others) += ns;
	}
	closedir(d);
	return true;
}

/*
 * The on-CPU time per spawn of the daemon's tasks and of the client
 * thread over n spawns of r, and of this thread over n spawns of the
 * reference: where the time goes that no wake-up explains.
 */
static void
floor_count_cpu(struct runner *r, struct runner *ref, unsigned n)
{
	double l0, o0, l1, o1, c0, c1, r0, r1;
	pid_t me = getpid(), tid = gettid();

	if (!daemon_cpu_ns(r->d->pid, &l0, &o0) || (c0 = task_cpu_ns(me, tid)) < 0)
		return;
	spawns(r, n);
	c1 = task_cpu_ns(me, tid);
	if (!daemon_cpu_ns(r->d->pid, &l1, &o1))
		return;
	r0 = task_cpu_ns(me, tid);
	spawns(ref, n);
	r1 = task_cpu_ns(me, tid);
	cpu_us = (typeof(cpu_us)){
		.counted = true,
		.spawns = n,
		.loop = (l1 - l0) / n / 1e3,
		.others = (o1 - o0) / n / 1e3,
		.client = (c1 - c0) / n / 1e3,
		.reference = (r1 - r0) / n / 1e3,
	};
}

/*
 * Calls of the loop that a measured component already contains: the
 * request's recvmsg and the two replies' sendmsg (the wake-ups, timed by
 * the bare round trip), the hop's futex wake and epoll_wait (the thread
 * hop; the loop does not read the resolver's eventfd), and the child's
 * clone and wait (the reference's own).
 */
static const struct {
	const char *name;
	double per_spawn;
} loop_sc_in_parts[] = {
	{"recvmsg", 1}, {"sendmsg", 2}, {"futex", 1},  {"epoll_wait", 1},
	{"clone", 1},	{"clone3", 1},	{"waitid", 1},
};

static int strace_spawns(struct daemon *d, struct runner *r, unsigned n, bool all,
			 const char *strace, struct sc_count *sc, unsigned max_sc,
			 unsigned *ret_ntraced);

/* Count the loop's system calls over a few spawns of r (when strace exists). */
static void
floor_count_syscalls(struct runner *r)
{
	static struct sc_count sc[512];
	char strace_buf[PATH_MAX];
	const char *strace = find_program("strace", strace_buf, sizeof(strace_buf));
	unsigned n = opt.quick ? 10 : 300, ntraced = 0;
	int k;

	if (!r)
		return;
	floor_count_cpu(r, &runners[0], n);
	if (!strace)
		return;
	k = strace_spawns(r->d, r, n, false, strace, sc, sizeof(sc) / sizeof(sc[0]), &ntraced);
	if (k < 0)
		return;
	loop_sc = (typeof(loop_sc)){.counted = true, .spawns = n};
	for (int i = 0; i < k; i++) {
		double per = (double)sc[i].calls / n;

		loop_sc.total += per;
		for (size_t j = 0; j < sizeof(loop_sc_in_parts) / sizeof(loop_sc_in_parts[0]); j++)
			if (strcmp(sc[i].name, loop_sc_in_parts[j].name) == 0)
				loop_sc.in_parts += per < loop_sc_in_parts[j].per_spawn
							    ? per
							    : loop_sc_in_parts[j].per_spawn;
	}
}

/* The persistent-connection runner of the engine under test (no live children). */
static struct runner *
engine_runner(const char *user)
{
	for (unsigned j = 0; j < n_runners; j++) {
		struct runner *r = &runners[j];

		if (r->kind == K_SPAWND && !r->stdio_fds && r->cpu < 0 && r->d &&
		    r->d->live_target == 0 && strcmp(r->d->engine, opt.engine) == 0 &&
		    strcmp(r->user, user) == 0)
			return r;
	}
	return NULL;
}

/* "median [25th-75th]" of v[0..n) (sorted in place), prec decimals, with a sign if asked. */
static void
print_spread(double *v, unsigned n, int prec, bool sign)
{
	double med = percentile(v, n, 0.5), lo = percentile(v, n, 0.25),
	       hi = percentile(v, n, 0.75);

	if (sign)
		printf("%+.*f [%+.*f-%+.*f]", prec, med, prec, lo, prec, hi);
	else
		printf("%.*f [%.*f-%.*f]", prec, med, prec, lo, prec, hi);
}

/* A component's row: per operation (times scale) in us, and as a fraction of the reference. */
static void
floor_part_row(const char *label, const struct runner *r, double scale)
{
	const struct runner *ref = &runners[0];
	unsigned n = r->n[0] < ref->n[0] ? r->n[0] : ref->n[0];
	double us[256], frac[256];

	if (n > 256)
		n = 256;
	for (unsigned i = 0; i < n; i++) {
		us[i] = r->sec[0][i] * scale * 1e6;
		frac[i] = r->sec[0][i] * scale / ref->sec[0][i];
	}
	printf("| %s | ", label);
	print_spread(us, n, us[0] < 10 ? 2 : 1, false);
	printf(" us | ");
	print_spread(frac, n, 4, false);
	printf(" |\n");
}

/* The median per-round ratio of r to the reference at c=1, or NAN. */
static double
ratio_c1(const struct runner *r)
{
	double v[256];
	unsigned n;

	if (!r || r->n[0] == 0)
		return NAN;
	n = r->n[0] < 256 ? r->n[0] : 256;
	memcpy(v, r->ratio[0], n * sizeof(double));
	return percentile(v, n, 0.5);
}

/* The first runner of kind with (idle) or without an idle before each operation. */
static struct runner *
find_part(enum kind kind, bool idle)
{
	for (unsigned j = 0; j < n_runners; j++)
		if (runners[j].kind == kind && (runners[j].idle_ms != 0) == idle)
			return &runners[j];
	return NULL;
}

/*
 * The bench-skeleton runner (K_SKELETON, or K_SKELCTL on it) that spawns as
 * user and drops the guarantees in without.
 */
static struct runner *
find_skeleton(enum kind kind, const char *user, const char *without)
{
	for (unsigned j = 0; j < n_runners; j++)
		if (runners[j].kind == kind && strcmp(runners[j].user, user) == 0 &&
		    strcmp(runners[j].without, without) == 0)
			return &runners[j];
	return NULL;
}

/* Whether each of the k runners in r exists and has n rounds at c=1. */
static bool
have_rounds(const struct runner *const *r, size_t k, unsigned n)
{
	for (size_t i = 0; i < k; i++)
		if (!r[i] || r[i]->n[0] < n)
			return false;
	return true;
}

/*
 * A row of per-round differences against the reference, as root / as
 * nobody: (above - below) / reference, round by round (same rounds).
 */
static void
own_code_row(const char *label, const struct runner *ref, const struct runner *above_root,
	     const struct runner *below_root, const struct runner *above_nobody,
	     const struct runner *below_nobody, unsigned n)
{
	double own[2][256];

	for (unsigned i = 0; i < n; i++) {
		own[0][i] = (above_root->sec[0][i] - below_root->sec[0][i]) / ref->sec[0][i];
		own[1][i] = (above_nobody->sec[0][i] - below_nobody->sec[0][i]) / ref->sec[0][i];
	}
	printf("| %s, per round, as root / as nobody | | ", label);
	print_spread(own[0], n, 3, true);
	printf(" / ");
	print_spread(own[1], n, 3, true);
	printf(" |\n");
}

/*
 * spawnctl's floor, measured whole: bench-skelctl on bench-skeleton
 * "listen" (spawnctl's request, a new connection passing fds 0-2, the
 * daemon's work for it, two static processes' start and exit, none of our
 * code), against `spawnctl` itself in the same rounds.
 */
static void
print_spawnctl_floor(const struct runner *ref, unsigned n)
{
	const struct runner *sc_root = find_skeleton(K_SKELCTL, "root", ""),
			    *sc_nobody = find_skeleton(K_SKELCTL, "nobody", ""),
			    *sc_bare = find_skeleton(K_SKELCTL, "root", SKELCTL_BARE),
			    *ctl_root = find_runner(K_SPAWNCTL, NULL, "root"),
			    *ctl_nobody = find_runner(K_SPAWNCTL, NULL, "nobody");
	const struct runner *const all[] = {sc_root, sc_nobody, sc_bare, ctl_root, ctl_nobody};

	if (!have_rounds(all, sizeof(all) / sizeof(all[0]), n))
		return;
	floor_part_row("bench-skelctl on bench-skeleton as root, whole process: spawnctl's request "
		       "(a new connection, fds 0-2, a signalfd) with none of our code, the "
		       "skeleton's accept, fd checks, park and closer (" NOTHING_LINK ")",
		       sc_root, 1);
	floor_part_row("bench-skelctl on bench-skeleton as nobody", sc_nobody, 1);
	floor_part_row("`spawnctl -u root -- " TRUE_PATH "` (the same rounds)", ctl_root, 1);
	floor_part_row("`spawnctl -u nobody -- " TRUE_PATH "`", ctl_nobody, 1);
	floor_part_row("bench-skelctl on bench-skeleton without the guarantees (" SKELCTL_BARE
		       "): connect, request with fds 0-2, clone, exec, pidfd, one reply",
		       sc_bare, 1);
	own_code_row("spawnd's and spawnctl's own code: spawnctl - bench-skelctl", ref, ctl_root,
		     sc_root, ctl_nobody, sc_nobody, n);
}

/*
 * The design's floor, measured: bench-skeleton's spawns (the system calls
 * of spawnd's guarantees with none of its code) against the reference,
 * and spawnd's persistent connection above them, per round.
 */
static void
print_design_floor(const struct runner *ref, const struct runner *root, const struct runner *nobody,
		   unsigned n)
{
	const struct runner *sk_root = find_skeleton(K_SKELETON, "root", ""),
			    *sk_nobody = find_skeleton(K_SKELETON, "nobody", ""),
			    *sk_bare = find_skeleton(K_SKELETON, "root", SKELETON_BARE);
	const struct runner *const all[] = {sk_root, sk_nobody, sk_bare, root, nobody};

	if (!have_rounds(all, sizeof(all) / sizeof(all[0]), n))
		return;
	printf("\n#### The design's floor, measured (bench-skeleton: the system calls of "
	       "spawnd's guarantees, none of its code)\n\n");
	printf("| spawn of %s through | per spawn | ratio to the reference |\n|---|---|---|\n",
	       TRUE_PATH);
	floor_part_row("bench-skeleton as root: request with credentials, lookup on a "
		       "resolver thread, audit, errpipe + clone(CLONE_VM) from the loop, the "
		       "child's order, EOF + /proc/PID/stat, Started, pidfd + wait4, Exited",
		       sk_root, 1);
	floor_part_row("bench-skeleton as nobody", sk_nobody, 1);
	floor_part_row("spawnd's persistent connection as root (the same rounds)", root, 1);
	floor_part_row("spawnd's persistent connection as nobody", nobody, 1);
	floor_part_row("bench-skeleton without the guarantees (" SKELETON_BARE
		       "): request, clone, exec, pidfd, one reply",
		       sk_bare, 1);
	own_code_row("spawnd's own code: the persistent connection - bench-skeleton", ref, root,
		     sk_root, nobody, sk_nobody, n);
	print_spawnctl_floor(ref, n);
}

enum {
	FL_HOT,
	FL_IDLE,
	FL_CTL_HOT,
	FL_CTL_IDLE,
	FL_CTL_TODAY,
	FL_CTL_DESIGN,
	FL_ABOVE,
	FL_ABOVE_DESIGN,
	FL_N
};

static void
print_floor_measured(void)
{
	struct runner *ref = &runners[0], *ipc = find_part(K_IPC, false),
		      *ipc_idle = find_part(K_IPC, true), *hopr = find_part(K_HOP, false),
		      *hop_idle = find_part(K_HOP, true), *lku = find_part(K_LOOKUP_USER, false),
		      *lkp = find_part(K_LOOKUP_PATH, false), *sysc = find_part(K_SYSCALL, false),
		      *st = find_part(K_EXEC_STATIC, false), *root = engine_runner("root"),
		      *nobody = engine_runner("nobody"),
		      *ctl_root = find_runner(K_SPAWNCTL, NULL, "root"),
		      *ctl_nobody = find_runner(K_SPAWNCTL, NULL, "nobody"),
		      *sk_root = find_skeleton(K_SKELETON, "root", "");
	double rest = loop_sc.counted ? loop_sc.total - loop_sc.in_parts : 0;
	const struct runner *parts[] = {ipc, ipc_idle, hopr, hop_idle, lku,
					lkp, sysc,     st,   root,     sk_root};
	double f_us[FL_N][256], f_ratio[FL_N][256];
	char labels[FL_N][256];
	unsigned n = ref->n[0];
	char sc_term[128] = "";
	const char *start_term = NOTHING_STATIC ? "static start" : "start (NOT static)";

	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		if (!parts[p])
			return;
		if (parts[p]->n[0] < n)
			n = parts[p]->n[0];
	}
	if (n == 0)
		return;
	if (n > 256)
		n = 256;

	printf("\n### The floor, measured (c=1, medians [25th-75th percentile] over the same "
	       "rounds)\n\n");
	printf("| component | per operation | fraction of the reference |\n|---|---|---|\n");
	floor_part_row("the reference: posix_spawn + waitpid of " TRUE_PATH, ref, 1);
	floor_part_row("one cross-process wake-up: half the bare round trip (a message and the "
		       "blocked read it ends), back to back",
		       ipc, 0.5);
	floor_part_row("the same after 1 ms idle (both processes asleep 1 ms before each round "
		       "trip, as between a spawn's steps)",
		       ipc_idle, 0.5);
	floor_part_row("thread hop: loop -> resolver thread -> loop (libevent loop, mutex + "
		       "condition variable, eventfd; 2 wake-ups), back to back",
		       hopr, 1);
	floor_part_row("the same after 1 ms idle", hop_idle, 1);
	floor_part_row("user lookup: getpwnam_r + getgrouplist of nobody, one thread, no hop", lku,
		       1);
	floor_part_row("path lookup: realpath(" TRUE_PATH ") (only for a client that a cmd rule "
		       "names; not in the floor below)",
		       lkp, 1);
	floor_part_row("one cheap system call (read, write, epoll_ctl, epoll_wait, dup, close; "
		       "none sleeps)",
		       sysc, 1.0 / SYSCALL_MIX);
	floor_part_row(NOTHING_STATIC ? "static start: posix_spawn + waitpid of a static PIE "
					"that does nothing"
				      : "start of a program that does nothing (NOT static: "
					"sanitizer build or no static libc)",
		       st, 1);
	print_design_floor(ref, root, nobody, n);
	if (loop_sc.counted) {
		printf("\nThe loop thread's system calls per spawn (strace -c, as root, %u spawns "
		       "after the rounds): %.1f, of which %.1f are inside a component or the "
		       "reference (the request's recvmsg and the 2 replies' sendmsg, the hop's "
		       "futex and epoll_wait, the child's clone and waitid); the "
		       "other %.1f are counted at the cheap call's cost.\n",
		       loop_sc.spawns, loop_sc.total, loop_sc.in_parts, rest);
		xsnprintf(sc_term, sizeof(sc_term), " + %.1f loop system calls", rest);
	} else {
		printf("\n(strace not found or not allowed: the loop's own system calls are left "
		       "out of the floor.)\n");
	}
	if (cpu_us.counted)
		printf("\nOn-CPU time per spawn (schedstat, as root, %u spawns after the rounds, "
		       "not a floor: what the tasks spent running): the daemon's loop thread %.0f "
		       "us, its other threads %.0f us, the client thread %.0f us; the reference's "
		       "spawning thread %.0f us per posix_spawn + waitpid. The loop's time is on "
		       "the spawn's critical path; %.0f us of it more than the reference's.\n",
		       cpu_us.spawns, cpu_us.loop, cpu_us.others, cpu_us.client, cpu_us.reference,
		       cpu_us.loop - cpu_us.reference);

	for (unsigned i = 0; i < n; i++) {
		double r_us = ref->sec[0][i] * 1e6,
		       base = r_us + lku->sec[0][i] * 1e6 +
			      rest * sysc->sec[0][i] * 1e6 / SYSCALL_MIX,
		       s_us = st->sec[0][i] * 1e6;

		f_us[FL_HOT][i] =
			base + FLOOR_WAKEUPS * ipc->sec[0][i] * 1e6 / 2 + hopr->sec[0][i] * 1e6;
		f_us[FL_IDLE][i] = base + FLOOR_WAKEUPS * ipc_idle->sec[0][i] * 1e6 / 2 +
				   hop_idle->sec[0][i] * 1e6;
		f_us[FL_CTL_HOT][i] = s_us + f_us[FL_HOT][i];
		f_us[FL_CTL_IDLE][i] = s_us + f_us[FL_IDLE][i];
		f_us[FL_CTL_TODAY][i] = s_us + root->sec[0][i] * 1e6;
		f_us[FL_CTL_DESIGN][i] = s_us + sk_root->sec[0][i] * 1e6;
		f_us[FL_ABOVE][i] = root->sec[0][i] * 1e6 - f_us[FL_IDLE][i];
		f_us[FL_ABOVE_DESIGN][i] = (root->sec[0][i] - sk_root->sec[0][i]) * 1e6;
		for (unsigned k = 0; k < FL_N; k++)
			f_ratio[k][i] = f_us[k][i] / r_us;
	}
	xsnprintf(labels[FL_HOT], sizeof(labels[FL_HOT]),
		  "**floor of the daemon path at c=1** = reference + %d wake-ups + hop + user "
		  "lookup%s (back to back)",
		  FLOOR_WAKEUPS, sc_term);
	xsnprintf(labels[FL_IDLE], sizeof(labels[FL_IDLE]),
		  "the same with the wake-ups and the hop after 1 ms idle");
	xsnprintf(labels[FL_CTL_HOT], sizeof(labels[FL_CTL_HOT]),
		  "**floor of `spawnctl -- %s`** = %s + the floor of the daemon path "
		  "(back to back)",
		  TRUE_PATH, start_term);
	xsnprintf(labels[FL_CTL_IDLE], sizeof(labels[FL_CTL_IDLE]),
		  "the same with the wake-ups and the hop after 1 ms idle");
	xsnprintf(labels[FL_CTL_TODAY], sizeof(labels[FL_CTL_TODAY]),
		  "spawnctl on today's daemon path = %s + the measured persistent "
		  "connection (as root)",
		  start_term);
	xsnprintf(labels[FL_CTL_DESIGN], sizeof(labels[FL_CTL_DESIGN]),
		  "spawnctl on the design's floor, measured = %s + bench-skeleton (as root)",
		  start_term);
	xsnprintf(labels[FL_ABOVE_DESIGN], sizeof(labels[FL_ABOVE_DESIGN]),
		  "the daemon path above the design's floor, measured = the persistent connection "
		  "(as root) - bench-skeleton (as root)");
	xsnprintf(labels[FL_ABOVE], sizeof(labels[FL_ABOVE]),
		  "the daemon path above its floor = the measured persistent connection (as root) "
		  "- its floor after 1 ms idle");
	printf("\n| computed from the components | per spawn | ratio to the reference | "
	       "measured in this run (ratio) |\n|---|---|---|---|\n");
	for (unsigned k = 0; k < FL_N; k++) {
		bool diff = k == FL_ABOVE || k == FL_ABOVE_DESIGN;

		printf("| %s | ", labels[k]);
		print_spread(f_us[k], n, 0, diff);
		printf(" us | ");
		print_spread(f_ratio[k], n, 2, diff);
		if (k == FL_HOT || k == FL_IDLE)
			printf(" | spawnd %s engine, as root %.2f, as nobody %.2f |\n", opt.engine,
			       ratio_c1(root), ratio_c1(nobody));
		else if (!diff)
			printf(" | spawnctl as root %.2f, as nobody %.2f |\n", ratio_c1(ctl_root),
			       ratio_c1(ctl_nobody));
		else
			printf(" | |\n");
	}
}

/*
 * One row of print_placement(): label, then one (pinned) against ref1 per
 * round, and free_'s own ratios (placed by the scheduler). Nothing without
 * n rounds of each.
 */
static void
placement_row(const char *label, const struct runner *one, const struct runner *free_,
	      const struct runner *ref1, unsigned n)
{
	double v[256];

	if (!one || !free_ || one->n[0] < n || free_->n[0] < n)
		return;
	printf("| %s | ", label);
	for (unsigned i = 0; i < n; i++)
		v[i] = one->sec[0][i] / ref1->sec[0][i];
	print_spread(v, n, 2, false);
	printf(" | ");
	memcpy(v, free_->ratio[0], n * sizeof(double));
	print_spread(v, n, 2, false);
	printf(" |\n");
}

/*
 * The persistent connection with every task of a spawn on one CPU, against
 * the reference on that CPU, per round; next to the same without pinning
 * (docs/benchmarks.md, "All on one CPU"). What the scheduler's placement of
 * the daemon's wake-ups costs on this machine, as against where it runs the
 * reference's two processes.
 */
static void
print_placement(void)
{
	struct runner *ref = &runners[0],
		      *ref1 = find_runner_on(K_POSIX_SPAWN, NULL, NULL, first_cpu);
	const char *users[] = {"root", "nobody"};
	char label[PATH_MAX + 64];
	unsigned n;

	if (!ref1 || ref1->n[0] == 0)
		return;
	n = ref1->n[0] < 256 ? ref1->n[0] : 256;
	printf("\n### All on one CPU (c=1)\n\n");
	printf("The reference, the persistent connection and spawnctl again, with every task "
	       "of a spawn on CPU %d: the benchmark's thread (the reference, or the client), "
	       "spawnctl, the daemon's threads and the children. Each ratio is to the reference of "
	       "the same placement in the same round: median [25th-75th percentile] over "
	       "rounds.\n\n",
	       first_cpu);
	printf("| runner | on CPU %d only | placed by the scheduler |\n|---|---|---|\n", first_cpu);
	printf("| the reference, us per spawn | %.0f | %.0f |\n", median_us(ref1, 0),
	       median_us(ref, 0));
	for (size_t u = 0; u < 2; u++) {
		xsnprintf(label, sizeof(label), "spawnd %s engine, persistent conn, as %s",
			  opt.engine, users[u]);
		placement_row(label, find_runner_on(K_SPAWND, NULL, users[u], first_cpu),
			      engine_runner(users[u]), ref1, n);
	}
	xsnprintf(label, sizeof(label), "`spawnctl -u root -- %s` whole process", TRUE_PATH);
	placement_row(label, find_runner_on(K_SPAWNCTL, NULL, "root", first_cpu),
		      find_runner(K_SPAWNCTL, NULL, "root"), ref1, n);
}

/* ---- set-up ---- */

static void
write_config(void)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr;
	char text[PATH_MAX * 2];
	int fd;

	if (!pw)
		die("no user nobody");
	gr = getgrgid(pw->pw_gid);
	if (!gr)
		die("no group %u", (unsigned)pw->pw_gid);
	/* root may run anything; the holders (group of nobody) only the sleeper, as nobody. */
	xsnprintf(text, sizeof(text), "permit root\npermit :%s as nobody cmd %s\n", gr->gr_name,
		  opt.sleeper);
	xsnprintf(conf_path, sizeof(conf_path), "%s/spawnd.conf", workdir);
	fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, 0644) < 0 || close(fd) < 0)
		die("write %s: %s", conf_path, strerror(errno));
}

static struct daemon *
daemon_add(const char *engine, unsigned live, int cpu)
{
	struct daemon *d = &daemons[n_daemons++];

	d->engine = engine;
	d->live_target = live;
	d->cpu = cpu;
	if (cpu >= 0)
		xsnprintf(d->name, sizeof(d->name), "%s-cpu%d", engine, cpu);
	else
		xsnprintf(d->name, sizeof(d->name), "%s%s", engine, live ? "-live" : "");
	daemon_start(d);
	return d;
}

static void
parse_conc(const char *s)
{
	char *copy = strdup(s), *save = NULL;

	opt.n_conc = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned v = (unsigned)strtoul(t, NULL, 10);

		if (v < 1 || v > MAX_CONC || opt.n_conc >= MAX_CONC_LEVELS)
			die("--conc: values 1..%d, at most %d of them", MAX_CONC, MAX_CONC_LEVELS);
		opt.conc[opt.n_conc++] = v;
	}
	free(copy);
	if (conc_level(1) != 0)
		die("--conc must start with 1");
}

static void
usage(void)
{
	printf("Usage: spawnd-bench [OPTIONS]\n"
	       "  --quick          smoke run: tiny batches, 1 round, 30 live children\n"
	       "  --rounds N       interleaved rounds (default %u)\n"
	       "  --batch N        spawns per runner and round at c=1 (default %u)\n"
	       "  --live N         live children for the +live daemons (default %u; 0 = none)\n"
	       "  --conc LIST      concurrency levels, starting with 1 (default 1,2,8)\n"
	       "  --no-peers       skip Python and s6-sudo\n"
	       "  --keep           keep the work directory (daemon logs)\n"
	       "  --verbose        print every batch as it ends\n"
	       "  --spawnd PATH, --spawnctl PATH, --sleeper PATH   programs to use\n"
	       "  --engine NAME    the daemon's engine under test (default vfork)\n"
	       "  --no-fork        skip the fork engine's daemons\n"
	       "  --costs N        only per-spawn costs over N spawns: wake-ups (context\n"
	       "                   switches of every daemon thread and the client) and\n"
	       "                   system calls (strace -c) of the loop and of the daemon\n"
	       "  --floor-only     only the runners of the floor section (c=1): the\n"
	       "                   reference, the bare round trips, the floor's components,\n"
	       "                   bench-skeleton and bench-skelctl (the design's floor\n"
	       "                   and spawnctl's, measured whole), spawnd (--engine),\n"
	       "                   spawnctl and its parts; no peers, fork, live\n",
	       opt.rounds, opt.batch, opt.live);
}

static void
parse_args(int argc, char **argv)
{
	enum {
		O_QUICK = 0x100,
		O_ROUNDS,
		O_BATCH,
		O_LIVE,
		O_CONC,
		O_NO_PEERS,
		O_KEEP,
		O_VERBOSE,
		O_SPAWND,
		O_SPAWNCTL,
		O_SLEEPER,
		O_ENGINE,
		O_NO_FORK,
		O_COSTS,
		O_FLOOR_ONLY,
		O_HELP
	};
	static const struct option longopts[] = {
		{"quick", no_argument, NULL, O_QUICK},
		{"rounds", required_argument, NULL, O_ROUNDS},
		{"batch", required_argument, NULL, O_BATCH},
		{"live", required_argument, NULL, O_LIVE},
		{"conc", required_argument, NULL, O_CONC},
		{"no-peers", no_argument, NULL, O_NO_PEERS},
		{"keep", no_argument, NULL, O_KEEP},
		{"verbose", no_argument, NULL, O_VERBOSE},
		{"spawnd", required_argument, NULL, O_SPAWND},
		{"spawnctl", required_argument, NULL, O_SPAWNCTL},
		{"sleeper", required_argument, NULL, O_SLEEPER},
		{"engine", required_argument, NULL, O_ENGINE},
		{"no-fork", no_argument, NULL, O_NO_FORK},
		{"costs", required_argument, NULL, O_COSTS},
		{"floor-only", no_argument, NULL, O_FLOOR_ONLY},
		{"help", no_argument, NULL, O_HELP},
		{0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_QUICK:
			opt.quick = true;
			opt.rounds = 1;
			opt.batch = 8;
			opt.live = 30;
			opt.growth_rounds = 1;
			break;
		case O_ROUNDS:
			opt.rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_BATCH:
			opt.batch = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_LIVE:
			opt.live = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_CONC:
			parse_conc(optarg);
			break;
		case O_NO_PEERS:
			opt.peers = false;
			break;
		case O_KEEP:
			opt.keep = true;
			break;
		case O_VERBOSE:
			opt.verbose = true;
			break;
		case O_SPAWND:
			opt.spawnd = optarg;
			break;
		case O_SPAWNCTL:
			opt.spawnctl = optarg;
			break;
		case O_SLEEPER:
			opt.sleeper = optarg;
			break;
		case O_ENGINE:
			opt.engine = optarg;
			break;
		case O_NO_FORK:
			opt.fork = false;
			break;
		case O_COSTS:
			opt.costs = (unsigned)strtoul(optarg, NULL, 10);
			if (opt.costs < 1)
				die("--costs N: N >= 1");
			break;
		case O_FLOOR_ONLY:
			opt.floor_only = true;
			break;
		case O_HELP:
			usage();
			exit(0);
		default:
			usage();
			exit(2);
		}
	}
	if (opt.floor_only) {
		opt.peers = false;
		opt.fork = false;
		opt.live = 0;
		opt.conc[0] = 1;
		opt.n_conc = 1;
	}
	if (opt.rounds < 1 || opt.rounds > 200 || opt.batch < 2 || opt.live > 60000)
		die("out-of-range option (rounds 1..200, batch >= 2, live <= 60000)");
}

int
main(int argc, char **argv)
{
	char py_buf[PATH_MAX], s6ipc_buf[PATH_MAX], s6sudo_buf[PATH_MAX], s6sudod_buf[PATH_MAX];
	char load_start[128], load_end[128];
	const char *py, *s6ipc, *s6sudo, *s6sudod;
	struct daemon *d_fork, *d_vfork, *d_one_cpu, *d_fork_live = NULL, *d_vfork_live = NULL;
	struct runner *r;
	struct rlimit rl;

	parse_args(argc, argv);
	{
		cpu_set_t allowed;

		if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
			while (first_cpu < CPU_SETSIZE - 1 && !CPU_ISSET(first_cpu, &allowed))
				first_cpu++;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "spawnd-bench: needs root (uid switches, holder clients); "
				"skipped\n");
		return 77;
	}
	if (!executable(opt.spawnd) || !executable(opt.spawnctl) || !executable(opt.sleeper))
		die("missing program: %s, %s or %s", opt.spawnd, opt.spawnctl, opt.sleeper);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGINT, on_signal);
	(void)signal(SIGTERM, on_signal);
	/* The daemons inherit this: room for their live children's pidfds. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	(void)umask(022);
	xsnprintf(workdir, sizeof(workdir), "/tmp/spawnd-bench.XXXXXX");
	if (!mkdtemp(workdir) || chmod(workdir, 0755) < 0)
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	write_config();

	py = opt.peers ? find_program("python3", py_buf, sizeof(py_buf)) : NULL;
	s6ipc = opt.peers ? find_program("s6-ipcserver", s6ipc_buf, sizeof(s6ipc_buf)) : NULL;
	s6sudo = opt.peers ? find_program("s6-sudo", s6sudo_buf, sizeof(s6sudo_buf)) : NULL;
	s6sudod = opt.peers ? find_program("s6-sudod", s6sudod_buf, sizeof(s6sudod_buf)) : NULL;
	if (!s6ipc || !s6sudo || !s6sudod)
		s6ipc = NULL;

	if (opt.costs) {
		costs_main();
		cleanup();
		return 0;
	}
	print_machine("start", load_start, sizeof(load_start));
	fprintf(stderr, "spawnd-bench: work directory %s\n", workdir);

	d_fork = opt.fork ? daemon_add("fork", 0, -1) : NULL;
	d_vfork = daemon_add(opt.engine, 0, -1);
	d_one_cpu = daemon_add(opt.engine, 0, first_cpu);
	if (opt.live) {
		d_fork_live = opt.fork ? daemon_add("fork", opt.live, -1) : NULL;
		d_vfork_live = daemon_add(opt.engine, opt.live, -1);
	}
	if (s6ipc) {
		xsnprintf(s6_socks[0], sizeof(s6_socks[0]), "%s/s6-root.sock", workdir);
		xsnprintf(s6_socks[1], sizeof(s6_socks[1]), "%s/s6-nobody.sock", workdir);
		s6_servers[0] = s6_start(s6ipc, s6sudod, s6_socks[0], false);
		s6_servers[1] = s6_start(s6ipc, s6sudod, s6_socks[1], true);
	}

	/* The reference is runner 0. */
	runner_add("in-process posix_spawn (reference)", K_POSIX_SPAWN);
	if (!opt.floor_only)
		runner_add("in-process clone(CLONE_VM|CLONE_VFORK)", K_CLONE_VFORK);
	r = runner_add("bare IPC round trip (SOCK_SEQPACKET, 2 processes; no spawn)", K_IPC);
	r->multiplier = 10;
	r = runner_add("bare IPC round trip passing 1 fd (SCM_RIGHTS; no spawn)", K_IPC_FD);
	r->multiplier = 10;
	/* The floor's components (print_floor_measured()), c=1, not in the main table. */
	{
		static const struct {
			const char *name;
			enum kind kind;
			unsigned multiplier, idle_ms;
		} parts[] = {
			{"floor: thread hop", K_HOP, 10, 0},
			{"floor: getpwnam_r + getgrouplist of nobody", K_LOOKUP_USER, 10, 0},
			{"floor: realpath of " TRUE_PATH, K_LOOKUP_PATH, 10, 0},
			{"floor: cheap system calls", K_SYSCALL, 100, 0},
			{"floor: static start", K_EXEC_STATIC, 1, 0},
			/* The same wake-ups after 1 ms of idle, as between a spawn's steps. */
			{"floor: bare IPC round trip after 1 ms idle", K_IPC, 2, 1},
			{"floor: thread hop after 1 ms idle", K_HOP, 2, 1},
		};
		/* The design's floor, measured (bench-skeleton.c): its spawns, no spawnd code. */
		static const struct {
			const char *name, *user, *without;
			bool floor_part; /* else in the main table too, at every concurrency */
		} skeletons[] = {
			{"bench-skeleton (the design's system calls, no spawnd code), as root",
			 "root", "", false},
			{"bench-skeleton (the design's system calls, no spawnd code), as nobody",
			 "nobody", "", false},
			{"floor: skeleton without the guarantees, as root", "root", SKELETON_BARE,
			 true},
		};

		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			r = runner_add(parts[i].name, parts[i].kind);
			r->multiplier = parts[i].multiplier;
			r->idle_ms = parts[i].idle_ms;
			r->seq_only = true;
			r->floor_part = true;
		}
		for (size_t i = 0; i < sizeof(skeletons) / sizeof(skeletons[0]); i++) {
			r = runner_add(skeletons[i].name, K_SKELETON);
			r->user = skeletons[i].user;
			r->without = skeletons[i].without;
			r->seq_only = r->floor_part = skeletons[i].floor_part;
		}
	}
	if (py) {
		r = runner_add("Python subprocess.run (in-process loop)", K_PYTHON);
		r->program = py;
		r->seq_only = true;
	}
	if (s6ipc) {
		r = runner_add("s6-sudo whole process, s6-sudod as root", K_S6);
		r->program = s6sudo;
		r->sock = s6_socks[0];
		r->divisor = 10;
		r = runner_add("s6-sudo whole process, s6-sudod as nobody", K_S6);
		r->program = s6sudo;
		r->sock = s6_socks[1];
		r->divisor = 10;
	}
	{
		static const struct {
			const char *user;
		} users[] = {{"root"}, {"nobody"}};
		char name[96];

		for (size_t u = 0; u < 2; u++) {
			if (d_fork) {
				xsnprintf(name, sizeof(name),
					  "spawnd fork engine, persistent conn, as %s",
					  users[u].user);
				r = runner_add(name, K_SPAWND);
				r->d = d_fork;
				r->user = users[u].user;
			}
			xsnprintf(name, sizeof(name), "spawnd %s engine, persistent conn, as %s",
				  opt.engine, users[u].user);
			r = runner_add(name, K_SPAWND);
			r->d = d_vfork;
			r->user = users[u].user;
		}
		for (size_t u = 0; u < 2; u++) {
			xsnprintf(name, sizeof(name), "`spawnctl -u %s -- %s` whole process (%s)",
				  users[u].user, TRUE_PATH, opt.engine);
			r = runner_add(name, K_SPAWNCTL);
			r->d = d_vfork;
			r->user = users[u].user;
			r->divisor = 2;
		}
		/* spawnctl's floor, measured whole: its request, no code of ours on either side. */
		for (size_t u = 0; u < 2; u++) {
			xsnprintf(name, sizeof(name),
				  "bench-skelctl on bench-skeleton (spawnctl's request, no code of "
				  "ours), as %s",
				  users[u].user);
			r = runner_add(name, K_SKELCTL);
			r->user = users[u].user;
			r->without = "";
			r->divisor = 2;
		}
		r = runner_add(
			"floor: bench-skelctl on the skeleton without the guarantees, as root",
			K_SKELCTL);
		r->user = "root";
		r->without = SKELCTL_BARE;
		r->divisor = 2;
		r->seq_only = r->floor_part = true;
		/*
		 * What spawnctl adds to (static start + one spawn on a persistent
		 * connection), one part at a time, as root at c=1 (docs/benchmarks.md,
		 * "What spawnctl adds"): the fds 0-2 it passes, a connection of its own
		 * per spawn, both (in-process spawnctl), and its own start.
		 */
		r = runner_add("spawnd persistent conn passing fds 0-2, as root", K_SPAWND);
		r->d = d_vfork;
		r->user = "root";
		r->stdio_fds = true;
		r->seq_only = true;
		r = runner_add(
			"spawnd new conn per spawn (connect + spawn + wait + close), as root",
			K_SPAWND_CONNECT);
		r->d = d_vfork;
		r->user = "root";
		r->seq_only = true;
		r = runner_add(
			"spawnd new conn per spawn passing fds 0-2 (spawnctl in-process), as root",
			K_SPAWND_CONNECT);
		r->d = d_vfork;
		r->user = "root";
		r->stdio_fds = true;
		r->seq_only = true;
		r = runner_add("`spawnctl --version` whole process (its start, no connection)",
			       K_SPAWNCTL_START);
		r->seq_only = true;
		/*
		 * Placement (print_placement()): the reference and the persistent
		 * connection again, with every task of a spawn on one CPU.
		 */
		xsnprintf(name, sizeof(name), "in-process posix_spawn, on CPU %d only", first_cpu);
		r = runner_add(name, K_POSIX_SPAWN);
		r->cpu = first_cpu;
		r->seq_only = true;
		for (size_t u = 0; u < 2; u++) {
			xsnprintf(name, sizeof(name),
				  "spawnd %s engine, persistent conn, as %s, all on CPU %d",
				  opt.engine, users[u].user, first_cpu);
			r = runner_add(name, K_SPAWND);
			r->d = d_one_cpu;
			r->user = users[u].user;
			r->cpu = first_cpu;
			r->seq_only = true;
		}
		/* spawnctl inherits the worker's CPU, its child the daemon's. */
		xsnprintf(name, sizeof(name),
			  "`spawnctl -u root -- %s` whole process, all on CPU %d", TRUE_PATH,
			  first_cpu);
		r = runner_add(name, K_SPAWNCTL);
		r->d = d_one_cpu;
		r->user = "root";
		r->cpu = first_cpu;
		r->divisor = 2;
		r->seq_only = true;
	}
	if (opt.live) {
		char name[96];

		if (d_fork_live) {
			xsnprintf(name, sizeof(name),
				  "spawnd fork engine, %u live children, as nobody", opt.live);
			r = runner_add(name, K_SPAWND);
			r->d = d_fork_live;
			r->user = "nobody";
		}
		xsnprintf(name, sizeof(name), "spawnd %s engine, %u live children, as nobody",
			  opt.engine, opt.live);
		r = runner_add(name, K_SPAWND);
		r->d = d_vfork_live;
		r->user = "nobody";
	}
	for (unsigned j = 0; j < n_runners; j++)
		runner_prepare(&runners[j]);

	/* Warm up (page cache, spawner threads, connections), then the idle RSS. */
	for (unsigned j = 0; j < n_runners; j++)
		(void)run_batch(&runners[j], 1, 4);
	for (unsigned i = 0; i < n_daemons; i++)
		daemons[i].rss_idle_kb = proc_status_kb(daemons[i].pid, "VmRSS");

	if (opt.live) {
		fprintf(stderr, "spawnd-bench: loading %u live children into each +live daemon\n",
			opt.live);
		for (unsigned j = 0; j < n_runners; j++)
			if (d_fork_live && runners[j].d == d_fork_live)
				live_load(d_fork_live, &runners[j], &runners[0]);
		for (unsigned j = 0; j < n_runners; j++)
			if (runners[j].d == d_vfork_live)
				live_load(d_vfork_live, &runners[j], &runners[0]);
	}

	for (unsigned round = 0; round < opt.rounds; round++) {
		fprintf(stderr, "spawnd-bench: round %u/%u\n", round + 1, opt.rounds);
		run_round(round);
	}
	/* The live daemons must still hold every child: nothing may have been lost. */
	for (unsigned i = 0; i < n_daemons; i++)
		if (daemons[i].live_target && daemons[i].live != daemons[i].live_target)
			die("%s holds %u live children, not %u", daemons[i].name, daemons[i].live,
			    daemons[i].live_target);
	for (unsigned i = 0; i < n_daemons; i++)
		daemons[i].rss_end_kb = proc_status_kb(daemons[i].pid, "VmRSS");
	/* The loop's system calls per spawn, for the floor (strace -c, after the timing). */
	floor_count_syscalls(engine_runner("root"));
	print_machine("end", load_end, sizeof(load_end));
	print_report(load_start, load_end);
	cleanup();
	return 0;
}
