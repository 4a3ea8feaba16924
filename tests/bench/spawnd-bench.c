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
 * (10,000) sleeping children it tracks. Concurrency c means c threads, each
 * with its own connection (or spawning its own processes), spawning and
 * waiting one child after the other; the figure is the wall time per
 * spawn of the whole batch, i.e. the inverse of throughput.
 *
 * The live children belong to "holder" processes, each a client of its own
 * uid (70000 + i, group of nobody) with 1000 children: the daemon caps
 * live children per client uid (SPAWND_MAX_CHILDREN_PER_UID).
 *
 * This is a benchmark, not a test: nothing here asserts a time. With
 * --quick it runs every runner a few times to prove that the harness and
 * the daemon work (ctest: bench/smoke); any failed spawn is an error.
 * Needs root (uid switches); exits 77 otherwise.
 */
#define _GNU_SOURCE
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

#include "spawnd/spawnd.h"

#define MAX_CONC 8
#define MAX_CONC_LEVELS 4
#define MAX_RUNNERS 24
#define MAX_DAEMONS 4
#define MAX_CHECKPOINTS 8
#define CHILDREN_PER_HOLDER 1000u
#define HOLDER_UID_BASE 70000u
#define SPAWN_TIMEOUT_USEC (60ull * 1000000ull)
#define CLONE_STACK (64 * 1024)
#define TRUE_PATH "/bin/true"

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

struct holder {
	pid_t pid;
	int ctl; /* write end; EOF tells the holder to disconnect and exit */
};

struct daemon {
	const char *engine;
	unsigned live_target;
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
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent || null < 0 ||
		    dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log, 2) < 0 ||
		    close_range(3, ~0U, 0) < 0)
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
};

struct runner {
	char name[96];
	enum kind kind;
	struct daemon *d;
	const char *user;
	const char *program; /* K_S6: s6-sudo, K_PYTHON: python3 */
	const char *sock;    /* K_S6 */
	unsigned divisor;    /* batch / divisor spawns: slow whole-process peers */
	bool seq_only;	     /* concurrency 1 only */
	spawnd_client *clients[MAX_CONC];
	spawnd_options *opts[MAX_CONC];
	char *stacks[MAX_CONC];
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

/* One spawn + wait by worker `idx` of runner r. Returns 0 or -1 (with a message). */
static int
one_spawn(struct runner *r, unsigned idx)
{
	spawnd_result *res = NULL;
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
	case K_SPAWND: {
		uint64_t id;

		k = spawnd_spawn(r->clients[idx], r->opts[idx], SPAWN_TIMEOUT_USEC, &res);
		if (k < 0) {
			fprintf(stderr, "%s: spawnd_spawn: %s\n", r->name, strerror(-k));
			return -1;
		}
		if (spawnd_result_get_state(res) != SPAWND_STATE_STARTED) {
			fprintf(stderr, "%s: spawn failed: stage %s: %s (%s)\n", r->name,
				spawnd_stage_to_string(spawnd_result_get_stage(res)),
				strerror(spawnd_result_get_errno(res)),
				spawnd_result_get_detail(res));
			spawnd_result_free(res);
			return -1;
		}
		id = spawnd_result_get_id(res);
		res = spawnd_result_free(res);
		k = spawnd_wait(r->clients[idx], id, SPAWN_TIMEOUT_USEC, &res);
		if (k < 0 || spawnd_result_get_exit_code(res) != 0) {
			fprintf(stderr, "%s: wait: %s, exit %d\n", r->name,
				strerror(k < 0 ? -k : 0),
				res ? spawnd_result_get_exit_code(res) : -1);
			spawnd_result_free(res);
			return -1;
		}
		spawnd_result_free(res);
		return 0;
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
	pthread_t thread;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	(void)pthread_barrier_wait(w->start);
	for (unsigned i = 0; i < w->n && !w->failed; i++)
		if (one_spawn(w->r, w->idx) < 0)
			w->failed = 1;
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
	double t0, t1;
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
	}
	t1 = now_sec();
	(void)pthread_barrier_destroy(&start);
	if (failed)
		die("runner '%s' failed at concurrency %u", r->name, conc);
	return (t1 - t0) / (per * conc);
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
		if (r->kind == K_SPAWND) {
			int k = spawnd_client_open(&r->clients[i], r->d->sock, 0);

			if (k < 0)
				die("connect %s: %s", r->d->sock, strerror(-k));
			if (spawnd_options_new(&r->opts[i]) < 0 ||
			    spawnd_options_set_argv(r->opts[i], (char *const *)argv) < 0 ||
			    spawnd_options_set_user(r->opts[i], r->user) < 0)
				die("spawnd options");
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
	unsigned n = opt.batch / r->divisor;

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
	printf("- rounds: %u; batch: %u spawns per runner and round at concurrency 1, %u at "
	       "higher concurrency (s6-sudo: 1/10, spawnctl: 1/2 of that); order rotated per "
	       "round\n",
	       opt.rounds, opt.batch, opt.batch * 2);
	printf("- live children for the \"+N live\" rows: %u\n", opt.live);
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

		printf("| %s |", r->name);
		for (unsigned l = 0; l < opt.n_conc; l++) {
			cell(buf[l], sizeof(buf[l]), r, l);
			printf(" %s |", buf[l]);
		}
		printf("\n");
	}

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
			if (daemons[k].live_target == 0 &&
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
daemon_add(const char *engine, unsigned live)
{
	struct daemon *d = &daemons[n_daemons++];

	d->engine = engine;
	d->live_target = live;
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
	       "  --spawnd PATH, --spawnctl PATH, --sleeper PATH   programs to use\n",
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
		case O_HELP:
			usage();
			exit(0);
		default:
			usage();
			exit(2);
		}
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
	struct daemon *d_fork, *d_vfork, *d_fork_live = NULL, *d_vfork_live = NULL;
	struct runner *r;
	struct rlimit rl;

	parse_args(argc, argv);
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

	print_machine("start", load_start, sizeof(load_start));
	fprintf(stderr, "spawnd-bench: work directory %s\n", workdir);

	d_fork = daemon_add("fork", 0);
	d_vfork = daemon_add("vfork", 0);
	if (opt.live) {
		d_fork_live = daemon_add("fork", opt.live);
		d_vfork_live = daemon_add("vfork", opt.live);
	}
	if (s6ipc) {
		xsnprintf(s6_socks[0], sizeof(s6_socks[0]), "%s/s6-root.sock", workdir);
		xsnprintf(s6_socks[1], sizeof(s6_socks[1]), "%s/s6-nobody.sock", workdir);
		s6_servers[0] = s6_start(s6ipc, s6sudod, s6_socks[0], false);
		s6_servers[1] = s6_start(s6ipc, s6sudod, s6_socks[1], true);
	}

	/* The reference is runner 0. */
	runner_add("in-process posix_spawn (reference)", K_POSIX_SPAWN);
	runner_add("in-process clone(CLONE_VM|CLONE_VFORK)", K_CLONE_VFORK);
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
			xsnprintf(name, sizeof(name), "spawnd fork engine, persistent conn, as %s",
				  users[u].user);
			r = runner_add(name, K_SPAWND);
			r->d = d_fork;
			r->user = users[u].user;
			xsnprintf(name, sizeof(name), "spawnd vfork engine, persistent conn, as %s",
				  users[u].user);
			r = runner_add(name, K_SPAWND);
			r->d = d_vfork;
			r->user = users[u].user;
		}
		for (size_t u = 0; u < 2; u++) {
			xsnprintf(name, sizeof(name),
				  "`spawnctl -u %s -- %s` whole process (vfork)", users[u].user,
				  TRUE_PATH);
			r = runner_add(name, K_SPAWNCTL);
			r->d = d_vfork;
			r->user = users[u].user;
			r->divisor = 2;
		}
	}
	if (opt.live) {
		char name[96];

		xsnprintf(name, sizeof(name), "spawnd fork engine, %u live children, as nobody",
			  opt.live);
		r = runner_add(name, K_SPAWND);
		r->d = d_fork_live;
		r->user = "nobody";
		xsnprintf(name, sizeof(name), "spawnd vfork engine, %u live children, as nobody",
			  opt.live);
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
			if (runners[j].d == d_fork_live)
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
	print_machine("end", load_end, sizeof(load_end));
	print_report(load_start, load_end);
	cleanup();
	return 0;
}
