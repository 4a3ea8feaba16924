/* SPDX-License-Identifier: MIT */
/*
 * child_exec + spawn, tested through real processes: every case builds a
 * plan with spawn_prepare(), starts spawn-probe (or a bad program) with
 * spawn_start(), waits for the errpipe, reads the probe's key=value report
 * from a pipe given to the child, reaps the child and compares. The whole
 * suite runs twice, once per engine (fork, then vfork: a
 * CLONE_VM|CLONE_PIDFD child on the engine's stack, no thread). As root, the cases that switch
 * credentials run too, and then everything that needs no privilege runs
 * once more in a process switched to nobody, as a daemon that is not root
 * would: the child then keeps its creator's credentials (no set*id call at
 * all). Not as root, only those run.
 *
 * Each test runs in its own process (CK_FORK), so tests freely change the
 * test process's groups, signal state, limits, fds and seccomp filter to
 * make sure the child does not inherit them.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "child_exec.h"
#include "fd-util.h"
#include "macro.h"
#include "spawn.h"

#define NOBODY 65534
#define MAX_ARGS 24
#define TIMEOUT_MS 20000

/* The engine under test; set by main() before each run of the suite. */
static enum spawn_engine engine = SPAWN_ENGINE_FORK;
/*
 * The suites run a second time with the shared-table start (run() asks for
 * it): the child starts on our fd table and takes its own copy of the fds
 * below its cut first (spawn_clone.c); every case must come out the same.
 */
static bool share_table;

/*
 * Whom probe_spec() spawns as: nobody when we are root, else ourselves
 * (with our own groups), the only target a daemon that is not root can
 * serve. Set by main().
 */
#define MAX_GROUPS 64
static struct {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	size_t n_groups;
	char uid_text[16]; /* probe output: uid= */
} probe_target;

struct spec {
	const char *path;
	const char *argv[MAX_ARGS]; /* NULL-terminated */
	const char *envp[8];	    /* NULL-terminated */
	const char *cwd;
	mode_t umask;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	size_t n_groups;
	int fds[8]; /* received fds besides the output pipe; closed by the test */
	size_t n_fds;
	struct fd_map maps[8];
	size_t n_maps;
	int out_target;	      /* child fd for the output pipe's write end; -1: none */
	struct spawn_env env; /* devnull is filled in by run() */
	bool errpipe_low;     /* free fds 0/1 so that the errpipe lands on them */
};

struct result {
	int report; /* spawn_read_report(): 0 = exec ok, 1 = record */
	struct child_report rep;
	int status;
	pid_t pid;
	char out[65536];
	size_t len;
};

static struct spec
probe_spec(void)
{
	struct spec s = {
		.path = SPAWN_PROBE_PATH,
		.argv = {"spawn-probe"},
		.envp = {"A=1", "SPACE=two words", "EMPTY="},
		.cwd = "/",
		.umask = 022,
		.uid = probe_target.uid,
		.gid = probe_target.gid,
		.n_groups = probe_target.n_groups,
		.out_target = 1,
	};

	memcpy(s.groups, probe_target.groups, probe_target.n_groups * sizeof(gid_t));
	return s;
}

/* Our own credentials right now: what a child gets without any set*id call. */
static void
spec_as_self(struct spec *s)
{
	int n = getgroups(MAX_GROUPS, s->groups);

	ck_assert_int_ge(n, 0);
	s->n_groups = (size_t)n;
	s->uid = geteuid();
	s->gid = getegid();
}

static void
add_args(struct spec *s, const char *const *args)
{
	size_t n = 0;

	while (s->argv[n])
		n++;
	for (; *args; args++) {
		ck_assert_uint_lt(n, MAX_ARGS - 1);
		s->argv[n++] = *args;
	}
	s->argv[n] = NULL;
}
#define ARGS(s, ...) add_args((s), (const char *const[]){__VA_ARGS__, NULL})

/* Add a received fd and map it to target; returns its index. */
static unsigned
add_fd(struct spec *s, int fd, int target)
{
	ck_assert_uint_lt(s->n_fds, ELEMENTSOF(s->fds));
	s->fds[s->n_fds] = fd;
	s->maps[s->n_maps++] = (struct fd_map){.index = (unsigned)s->n_fds, .target = target};
	return (unsigned)s->n_fds++;
}

static void
add_map(struct spec *s, unsigned index, int target)
{
	s->maps[s->n_maps++] = (struct fd_map){.index = index, .target = target};
}

static char **
strv_dup(const char *const *v)
{
	size_t n = 0;
	char **c;

	while (v[n])
		n++;
	c = calloc(n + 1, sizeof(char *));
	ck_assert_ptr_nonnull(c);
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		ck_assert_ptr_nonnull(c[i]);
	}
	return c;
}

/* Move fd to a number >= 3 (closing the original) so fds 0..2 can be restored. */
static int
move_up(int fd)
{
	int n;

	if (fd > 2)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	ck_assert_int_ge(n, 3);
	close(fd);
	return n;
}

static int
wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&pfd, 1, TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r;
}

/*
 * Build the plan, start the child, wait for the errpipe, collect the
 * output and reap the child. The received fds in s->fds stay open (the
 * test owns them); the output pipe and /dev/null are closed after the
 * fork, as conn.c will do with received fds.
 */
static void
run(const struct spec *s, struct result *res)
{
	struct spawn_request req = {0};
	struct target_user tu = {0};
	struct spawn_env env = s->env;
	struct spawn_prepared *sp = NULL;
	struct fd_map maps[16];
	int received[16];
	size_t n_received = s->n_fds, n_maps = s->n_maps, argc = 0;
	int outp[2] = {-1, -1}, devnull, pidfd = -1, errpipe = -1, saved[2] = {-1, -1}, r;

	memset(res, 0, sizeof(*res));
	memcpy(received, s->fds, s->n_fds * sizeof(int));
	memcpy(maps, s->maps, s->n_maps * sizeof(struct fd_map));
	if (s->out_target >= 0) {
		ck_assert_int_eq(pipe2(outp, O_CLOEXEC), 0);
		received[n_received] = outp[1];
		maps[n_maps++] =
			(struct fd_map){.index = (unsigned)n_received, .target = s->out_target};
		n_received++;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(devnull, 0);
	env.devnull = devnull;

	while (s->argv[argc])
		argc++;
	req.argv = (char **)s->argv;
	req.argc = argc;
	req.cwd = (char *)s->cwd;
	req.umask = s->umask;
	req.fds = maps;
	req.n_fds = n_maps;
	tu.uid = s->uid;
	tu.gid = s->gid;
	tu.groups = (gid_t *)s->groups;
	tu.n_groups = s->n_groups;

	r = spawn_prepare(&req, &tu, strdup(s->path), strv_dup(s->envp), received, n_received, &env,
			  &sp);
	ck_assert_int_eq(r, 0);

	if (s->errpipe_low) {
		/* pipe2() takes the lowest free numbers: 0 and 1, both targets. */
		saved[0] = fcntl(0, F_DUPFD_CLOEXEC, 3);
		saved[1] = fcntl(1, F_DUPFD_CLOEXEC, 3);
		ck_assert(saved[0] >= 0 && saved[1] >= 0);
		close(0);
		close(1);
	}
	/* errpipe_low puts our own 0 and 1 back at once: not while a child shares them. */
	sp->share_table = share_table && !s->errpipe_low;
	r = spawn_start(sp, engine, &res->pid, &pidfd, &errpipe);
	/* Shared when asked, unless close_range() is refused here (the engine probes it). */
	ck_assert_int_eq(sp->plan.shared_cut > 0,
			 r == 0 && sp->share_table && syscall(SYS_close_range, ~0U, ~0U, 0) == 0);
	if (s->errpipe_low) {
		/* The read end got 0, so the child's write end was 1. */
		ck_assert_int_eq(errpipe, 0);
		errpipe = move_up(errpipe);
		pidfd = move_up(pidfd);
		ck_assert_int_eq(dup2(saved[0], 0), 0);
		ck_assert_int_eq(dup2(saved[1], 1), 1);
		close(saved[0]);
		close(saved[1]);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_gt(res->pid, 0);
	ck_assert_int_ge(pidfd, 0);
	ck_assert_int_ge(errpipe, 0);
	ck_assert_int_ne(fcntl(errpipe, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(errpipe, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_ne(fcntl(pidfd, F_GETFD) & FD_CLOEXEC, 0);

	/*
	 * The received fds now live in the child; the daemon drops its copies
	 * (after a shared-table start too: spawn_start() waited until the
	 * child had its own table).
	 */
	if (outp[1] >= 0)
		close(outp[1]);
	close(devnull);

	for (;;) {
		r = spawn_read_report(errpipe, &res->rep);
		if (r != -EAGAIN)
			break;
		ck_assert_int_eq(wait_readable(errpipe), 1);
	}
	ck_assert_msg(r == 0 || r == 1, "spawn_read_report: %d", r);
	res->report = r;

	if (outp[0] >= 0) {
		for (;;) {
			ssize_t n =
				read(outp[0], res->out + res->len, sizeof(res->out) - 1 - res->len);

			if (n < 0 && errno == EINTR)
				continue;
			ck_assert_int_ge(n, 0);
			if (n == 0)
				break;
			res->len += (size_t)n;
			ck_assert_uint_lt(res->len, sizeof(res->out) - 1);
		}
		close(outp[0]);
	}
	res->out[res->len] = '\0';

	/* The pidfd refers to our child: it turns readable when it exits. */
	ck_assert_int_eq(wait_readable(pidfd), 1);
	ck_assert_int_eq(waitpid(res->pid, &res->status, 0), res->pid);
	close(pidfd);
	close(errpipe);
	sp = spawn_prepared_free(sp);
	ck_assert_ptr_null(sp);
}

/* The value of "key=" in the probe output, or NULL. */
static const char *
kv(const struct result *r, const char *key)
{
	static char bufs[8][4096];
	static unsigned next;
	size_t klen = strlen(key);
	const char *p = r->out, *end = r->out + r->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		if ((size_t)(nl - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			char *b = bufs[next++ % 8];
			size_t n = (size_t)(nl - p) - klen - 1;

			ck_assert_uint_lt(n, sizeof(bufs[0]));
			memcpy(b, p + klen + 1, n);
			b[n] = '\0';
			return b;
		}
		p = nl + 1;
	}
	return NULL;
}

#define expect_kv(r, key, want)                                                                    \
	do {                                                                                       \
		const char *_v = kv((r), (key));                                                   \
		ck_assert_msg(_v &&strcmp(_v, (want)) == 0, "%s=%s, want %s", (key),               \
			      _v ? _v : "(missing)", (want));                                      \
	} while (0)

static void
expect_started(const struct result *r)
{
	ck_assert_msg(r->report == 0, "child failed: stage %d errno %d (%s)", r->rep.stage,
		      r->rep.err, strerror(r->rep.err));
	ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
		      "probe status 0x%x, output: %s", r->status, r->out);
}

static void
expect_failed(const struct result *r, enum child_stage stage, int err)
{
	ck_assert_msg(r->report == 1, "child did not report a failure (output: %.200s)", r->out);
	ck_assert_msg(r->rep.stage == (int32_t)stage && r->rep.err == err,
		      "report stage %d errno %d (%s), want stage %d errno %d (%s)", r->rep.stage,
		      r->rep.err, strerror(r->rep.err), stage, err, strerror(err));
	ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 127, "status 0x%x",
		      r->status);
	ck_assert_uint_eq(r->len, 0);
}

static void
pipe_ok(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* Read what is in a pipe whose write ends are all closed. */
static const char *
drain(int fd)
{
	static char buf[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

/* Place fd exactly at number want (which must be free), CLOEXEC like a received fd. */
static int
place_at(int fd, int want)
{
	ck_assert_msg(fcntl(want, F_GETFD) < 0 && errno == EBADF, "fd %d is in use", want);
	ck_assert_int_eq(dup3(fd, want, O_CLOEXEC), want);
	close(fd);
	return want;
}

static const char *
pipe_name(int fd)
{
	static char buf[64];
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(buf, sizeof(buf), "pipe:[%lu]", (unsigned long)st.st_ino);
	return buf;
}

/* A few daemon-side fds that must never reach a child, deliberately without CLOEXEC. */
static void
open_daemon_fds(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	ck_assert_int_ge(open("/etc/passwd", O_RDONLY), 0);
	ck_assert_int_ge(open("/dev/zero", O_RDONLY), 0);
	s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_ge(s, 0);
	/* An abstract listening socket, like the daemon's own. */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "spawnd-test-%d", (int)getpid());
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s, 1), 0);
	ck_assert_int_ge(dup2(s, 700), 0);
	ck_assert_int_ge(socket(AF_INET, SOCK_DGRAM, 0), 0);
}

static char tmpdir[64];

/* A 0755 scratch directory nobody can enter; removed by the OS with /tmp. */
static const char *
scratch_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check-child-exec-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	return tmpdir;
}

static void
rm_rf(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * Install a seccomp filter in the test process; the child inherits it. Not
 * as root, the kernel wants no_new_privs first.
 */
static void
install_filter(struct sock_filter *insns, unsigned short n)
{
	struct sock_fprog prog = {.len = n, .filter = insns};

	if (geteuid() != 0)
		ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), 0);
}

/*
 * Raise our RLIMIT_NOFILE as a daemon does (soft = hard >= 4096), so that
 * a child that does not lower it visibly inherits more than 1024.
 */
static void
raise_nofile(struct rlimit *ret)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 4096)
		rl.rlim_max = 4096;
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	*ret = rl;
}

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

/* ---- a child parked in chdir (seccomp user notification) ---- */

/*
 * A child held inside chdir(), as one whose cwd is on a FUSE mount that
 * never answers would be: a seccomp filter in the test process (inherited
 * by the child) turns chdir into a user notification, which we answer
 * when we like.
 */
struct parked {
	int listener;
	struct seccomp_notif req;
	pid_t pid;
	int pidfd, errpipe;
	struct spawn_prepared *sp; /* until the child is reaped (spawn_start()) */
};

/* Install the filter; the test process itself must not chdir from now on. */
static void
park_filter(struct parked *pk)
{
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_chdir, 0, 1),
		RET(SECCOMP_RET_USER_NOTIF),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(f), .filter = f};

	memset(pk, 0, sizeof(*pk));
	pk->pidfd = pk->errpipe = -1;
	pk->sp = NULL;
	if (geteuid() != 0)
		ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	pk->listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	ck_assert_msg(pk->listener >= 0, "seccomp listener: %s", strerror(errno));
}

/* The child pk->pid is in chdir once its notification is here. */
static void
park_wait(struct parked *pk)
{
	ck_assert_int_eq(wait_readable(pk->listener), 1);
	ck_assert_int_eq(ioctl(pk->listener, SECCOMP_IOCTL_NOTIF_RECV, &pk->req), 0);
	ck_assert_int_eq(pk->req.pid, pk->pid);
	ck_assert_int_eq(pk->req.data.nr, __NR_chdir);
}

/* Start spawn-probe as probe_target with cwd "/" and wait until it is in chdir. */
static void
park_in_chdir(struct parked *pk)
{
	struct spawn_request req = {.argv = (char *[]){(char *)"spawn-probe", NULL}, .argc = 1};
	struct target_user tu = {.uid = probe_target.uid,
				 .gid = probe_target.gid,
				 .groups = probe_target.groups,
				 .n_groups = probe_target.n_groups};
	struct spawn_env env = {.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)};
	struct spawn_prepared *sp = NULL;

	ck_assert_int_ge(env.devnull, 0);
	req.cwd = (char *)"/";
	park_filter(pk);
	ck_assert_int_eq(spawn_prepare(&req, &tu, strdup(SPAWN_PROBE_PATH),
				       strv_dup((const char *[]){NULL}), NULL, 0, &env, &sp),
			 0);
	ck_assert_int_eq(spawn_start(sp, engine, &pk->pid, &pk->pidfd, &pk->errpipe), 0);
	pk->sp = sp;
	close(env.devnull);
	park_wait(pk);
}

/* Let the parked chdir run for real; the listener goes. */
static void
unpark_continue(struct parked *pk)
{
	struct seccomp_notif_resp resp = {.id = pk->req.id,
					  .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};

	ck_assert_int_eq(ioctl(pk->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
	close(pk->listener);
}

/* Let chdir fail with err; the child reports CHDIR and exits 127. */
static void
unpark_fail(struct parked *pk, int err)
{
	struct seccomp_notif_resp resp = {.id = pk->req.id, .error = -err};
	struct child_report rep;
	int status, r;

	ck_assert_int_eq(ioctl(pk->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
	for (;;) {
		r = spawn_read_report(pk->errpipe, &rep);
		if (r != -EAGAIN)
			break;
		ck_assert_int_eq(wait_readable(pk->errpipe), 1);
	}
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(rep.stage, CHILD_STAGE_CHDIR);
	ck_assert_int_eq(rep.err, err);
	ck_assert_int_eq(waitpid(pk->pid, &status, 0), pk->pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	pk->sp = spawn_prepared_free(pk->sp);
	close(pk->pidfd);
	close(pk->errpipe);
	close(pk->listener);
}

/* ---- credentials ---- */

static const gid_t test_groups[] = {1, 2, 3};

START_TEST(test_creds_nobody)
{
	struct spec s = probe_spec();
	struct result r;

	/* The child must not keep these (CPython CVE-2023-6507). */
	ck_assert_int_eq(setgroups(3, test_groups), 0);
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "uid", "65534");
	expect_kv(&r, "euid", "65534");
	expect_kv(&r, "suid", "65534");
	expect_kv(&r, "gid", "65534");
	expect_kv(&r, "egid", "65534");
	expect_kv(&r, "sgid", "65534");
	expect_kv(&r, "groups", "65534");
}
END_TEST

START_TEST(test_creds_numeric)
{
	struct spec s = probe_spec();
	struct result r;

	ck_assert_int_eq(setgroups(3, test_groups), 0);
	s.uid = 1234;
	s.gid = 4321;
	s.groups[0] = 4321;
	s.groups[1] = 77;
	s.groups[2] = 5;
	s.n_groups = 3;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "uid", "1234");
	expect_kv(&r, "euid", "1234");
	expect_kv(&r, "suid", "1234");
	expect_kv(&r, "gid", "4321");
	expect_kv(&r, "egid", "4321");
	expect_kv(&r, "sgid", "4321");
	expect_kv(&r, "groups", "5,77,4321");
}
END_TEST

START_TEST(test_creds_empty_groups)
{
	struct spec s = probe_spec();
	struct result r;

	ck_assert_int_eq(setgroups(3, test_groups), 0);
	s.n_groups = 0;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "groups", "");
	expect_kv(&r, "uid", "65534");
}
END_TEST

/*
 * A seccomp filter that makes one credential syscall return 0 without doing
 * anything. child_exec must notice that the switch did not happen and
 * refuse to exec (HOSTILE.md F27).
 */
START_TEST(test_creds_faked_switch)
{
	static const int nrs[] = {__NR_setresuid, __NR_setresgid, __NR_setgroups};
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[_i], 0, 1),
		RET(SECCOMP_RET_ERRNO | 0),
		RET(SECCOMP_RET_ALLOW),
	};
	struct spec s = probe_spec();
	struct result r;

	ck_assert_int_eq(setgroups(3, test_groups), 0);
	install_filter(f, ELEMENTSOF(f));
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_SETUID, EPERM);
}
END_TEST

START_TEST(test_creds_setgroups_fails)
{
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setgroups, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	struct spec s = probe_spec();
	struct result r;

	install_filter(f, ELEMENTSOF(f));
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_SETGROUPS, EPERM);
}
END_TEST

/* ---- fd table ---- */

/*
 * Daemon fds (even without CLOEXEC) must not reach the child; a target
 * above a gap (7) must leave 3..6 closed; unmapped 0 and 2 are /dev/null;
 * the mapped fds are not CLOEXEC.
 */
START_TEST(test_fds_exact)
{
	struct spec s = probe_spec();
	struct result r;
	char name[64];
	int b[2];

	open_daemon_fds();
	pipe_ok(b);
	add_fd(&s, b[1], 7);
	ARGS(&s, "--write-fd", "7", "seven");
	snprintf(name, sizeof(name), "%s", pipe_name(b[1]));
	run(&s, &r);
	close(b[1]);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,7");
	expect_kv(&r, "fd.0", "/dev/null");
	expect_kv(&r, "fd.2", "/dev/null");
	expect_kv(&r, "fd.7", name);
	expect_kv(&r, "fd.0.cloexec", "0");
	expect_kv(&r, "fd.1.cloexec", "0");
	expect_kv(&r, "fd.2.cloexec", "0");
	expect_kv(&r, "fd.7.cloexec", "0");
	expect_kv(&r, "write.7", "ok");
	ck_assert_str_eq(drain(b[0]), "seven");
	close(b[0]);
}
END_TEST

/* No fds at all: the output goes nowhere, the child still gets 0..2. */
START_TEST(test_fds_none)
{
	struct spec s = probe_spec();
	struct result r;
	char path[128];
	FILE *f;

	s.out_target = -1;
	snprintf(path, sizeof(path), "%s/out", scratch_dir());
	ARGS(&s, "--out", path);
	/* The scratch directory is ours; nobody could not write there. */
	spec_as_self(&s);
	run(&s, &r);
	expect_started(&r);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	r.len = fread(r.out, 1, sizeof(r.out) - 1, f);
	r.out[r.len] = '\0';
	fclose(f);
	expect_kv(&r, "fds", "0,1,2");
	expect_kv(&r, "fd.0", "/dev/null");
	expect_kv(&r, "fd.1", "/dev/null");
	expect_kv(&r, "fd.2", "/dev/null");
	rm_rf(tmpdir);
}
END_TEST

/*
 * 0<->1 with the received fds really numbered 0 and 1 in the parent: the
 * test's own fd 0 holds the output pipe, fd 1 the input pipe, and the
 * child must get them the other way round.
 */
START_TEST(test_fds_swap_stdio)
{
	struct spec s = probe_spec();
	struct result r;
	int in[2], out[2], saved0, saved1;

	pipe_ok(in);
	pipe_ok(out);
	ck_assert_int_eq(write(in[1], "hello\n", 6), 6);
	close(in[1]);
	saved0 = fcntl(0, F_DUPFD_CLOEXEC, 3);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	ck_assert_int_eq(dup3(out[1], 0, O_CLOEXEC), 0);
	ck_assert_int_eq(dup3(in[0], 1, O_CLOEXEC), 1);
	close(out[1]);
	close(in[0]);

	s.out_target = -1;
	add_fd(&s, 0, 1); /* our 0 (output pipe) -> child's 1 */
	add_fd(&s, 1, 0); /* our 1 (input pipe) -> child's 0 */
	ARGS(&s, "--read-fd", "0");
	/* The report comes through `out`, not through run()'s own pipe. */
	run(&s, &r);
	ck_assert_int_eq(dup2(saved0, 0), 0);
	ck_assert_int_eq(dup2(saved1, 1), 1);
	close(saved0);
	close(saved1);

	expect_started(&r);
	r.len = strlen(strcpy(r.out, drain(out[0])));
	close(out[0]);
	expect_kv(&r, "read.0", "hello");
	expect_kv(&r, "fds", "0,1,2");
	expect_kv(&r, "fd.2", "/dev/null");
	expect_kv(&r, "fd.0.cloexec", "0");
	expect_kv(&r, "fd.1.cloexec", "0");
}
END_TEST

/*
 * Fds 40, 41, 42 hold pipes P0, P1, P2 (CLOEXEC, as received fds are).
 * _i = 0: a 3-cycle 40->41->42->40. _i = 1: identity 40->40, 41->41,
 * 42->42 (dup2 would be a no-op; CLOEXEC must still be cleared).
 */
START_TEST(test_fds_cycle_identity)
{
	struct spec s = probe_spec();
	struct result r;
	int p[3][2];

	for (int i = 0; i < 3; i++) {
		pipe_ok(p[i]);
		p[i][1] = place_at(p[i][1], 40 + i);
		add_fd(&s, 40 + i, _i == 0 ? 40 + (i + 1) % 3 : 40 + i);
	}
	ARGS(&s, "--write-fd", "40", "A", "--write-fd", "41", "B", "--write-fd", "42", "C");
	run(&s, &r);
	for (int i = 0; i < 3; i++)
		close(p[i][1]);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,40,41,42");
	expect_kv(&r, "fd.40.cloexec", "0");
	expect_kv(&r, "fd.41.cloexec", "0");
	expect_kv(&r, "fd.42.cloexec", "0");
	if (_i == 0) {
		/* Child's 41 is P0, 42 is P1, 40 is P2. */
		ck_assert_str_eq(drain(p[0][0]), "B");
		ck_assert_str_eq(drain(p[1][0]), "C");
		ck_assert_str_eq(drain(p[2][0]), "A");
	} else {
		ck_assert_str_eq(drain(p[0][0]), "A");
		ck_assert_str_eq(drain(p[1][0]), "B");
		ck_assert_str_eq(drain(p[2][0]), "C");
	}
	for (int i = 0; i < 3; i++)
		close(p[i][0]);
}
END_TEST

/*
 * A received fd numbered like another entry's target: X at 40 goes to 41,
 * Y at 41 goes to 5. A naive dup2(40, 41) would destroy Y first.
 */
START_TEST(test_fds_src_is_other_target)
{
	struct spec s = probe_spec();
	struct result r;
	int x[2], y[2];

	pipe_ok(x);
	pipe_ok(y);
	x[1] = place_at(x[1], 40);
	y[1] = place_at(y[1], 41);
	add_fd(&s, 40, 41);
	add_fd(&s, 41, 5);
	ARGS(&s, "--write-fd", "41", "x", "--write-fd", "5", "y");
	run(&s, &r);
	close(x[1]);
	close(y[1]);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,5,41");
	ck_assert_str_eq(drain(x[0]), "x");
	ck_assert_str_eq(drain(y[0]), "y");
	close(x[0]);
	close(y[0]);
}
END_TEST

/* One received fd for two targets (3 and 4), and pipe A as 1 with pipe B as 3. */
START_TEST(test_fds_shared_src)
{
	struct spec s = probe_spec();
	struct result r;
	unsigned idx;
	int b[2];

	pipe_ok(b);
	idx = add_fd(&s, b[1], 3);
	add_map(&s, idx, 4);
	ARGS(&s, "--write-fd", "3", "a", "--write-fd", "4", "b");
	run(&s, &r);
	close(b[1]);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,3,4");
	ck_assert_str_eq(drain(b[0]), "ab");
	close(b[0]);
}
END_TEST

/*
 * The errpipe's write end is fd 1 in the parent, which is also a target:
 * it must be moved away before dup2 fills 1, both when exec succeeds (no
 * stray fd, EOF arrives) and when it fails (the report arrives).
 */
START_TEST(test_fds_errpipe_on_target)
{
	struct spec s = probe_spec();
	struct result r;

	s.errpipe_low = true;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2");

	s = probe_spec();
	s.errpipe_low = true;
	s.path = "/nonexistent/spawn-probe";
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, ENOENT);
}
END_TEST

/*
 * The highest target (1023) with RLIMIT_NOFILE soft lowered to 1024 in the
 * child: the errpipe then sits at 1024, above the new soft limit, and
 * failures after the rlimit step must still be reported.
 */
START_TEST(test_fds_highest_target)
{
	struct spec s = probe_spec();
	struct result r;
	struct rlimit rl;
	int b[2];

	raise_nofile(&rl);
	s.env.set_nofile = true;
	s.env.nofile = (struct rlimit){.rlim_cur = 1024, .rlim_max = rl.rlim_max};

	pipe_ok(b);
	add_fd(&s, b[1], 1023);
	ARGS(&s, "--write-fd", "1023", "top");
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,1023");
	expect_kv(&r, "nofile_soft", "1024");

	s.path = "/nonexistent";
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, ENOENT);
	close(b[1]);
	ck_assert_str_eq(drain(b[0]), "top");
	close(b[0]);
}
END_TEST

/*
 * close_range() unavailable: _i = 0 ENOSYS (old kernel: /proc listing),
 * _i = 1 EPERM (container seccomp) plus opens with O_DIRECTORY failing,
 * which leaves only the brute-force loop. The fd table must still be exact.
 */
START_TEST(test_fds_close_fallback)
{
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
		RET(SECCOMP_RET_ERRNO | (_i == 0 ? ENOSYS : EPERM)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, _i == 1 ? __NR_openat : ~0U, 0, 3),
		/* args[2] (flags); its low half is at the lower address on little endian. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_DIRECTORY, 0, 1),
		RET(SECCOMP_RET_ERRNO | ENOENT),
		RET(SECCOMP_RET_ALLOW),
	};
	struct spec s = probe_spec();
	struct result r;
	int b[2];

	ck_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	open_daemon_fds();
	ck_assert_int_eq(dup2(0, 900), 900);
	pipe_ok(b);
	add_fd(&s, b[1], 7);
	install_filter(f, ELEMENTSOF(f));
	/* Prove the filter works, or the test would pass for the wrong reason. */
	ck_assert_int_eq(close_range(900, 900, 0), -1);
	ck_assert_int_eq(errno, _i == 0 ? ENOSYS : EPERM);
	if (_i == 1)
		ck_assert_int_lt(open("/proc/self/fd", O_RDONLY | O_DIRECTORY), 0);
	run(&s, &r);
	close(b[1]);
	close(b[0]);
	expect_started(&r);
	expect_kv(&r, "fds", "0,1,2,7");
}
END_TEST

/* ---- cwd ---- */

START_TEST(test_cwd_ok)
{
	struct spec s = probe_spec();
	struct result r;

	s.cwd = scratch_dir();
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "cwd", tmpdir);
	rm_rf(tmpdir);
}
END_TEST

/*
 * chdir happens as the target: a 0700 root directory (and a 0777 one below
 * it) is refused for nobody, while root may enter it, which shows the test
 * tells the two apart (HOSTILE.md F25).
 */
START_TEST(test_cwd_as_target)
{
	struct spec s = probe_spec();
	struct result r;
	char sub[128];

	scratch_dir();
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0777), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);

	s.cwd = tmpdir;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_CHDIR, EACCES);

	s.cwd = sub;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_CHDIR, EACCES);

	s.uid = 0;
	s.gid = 0;
	s.groups[0] = 0;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "cwd", sub);

	s = probe_spec();
	s.cwd = "/nonexistent/dir";
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_CHDIR, ENOENT);
	rm_rf(tmpdir);
}
END_TEST

/* ---- session, signals, umask, limits, oom ---- */

/*
 * The test process becomes a session leader with a pty as controlling
 * terminal (in a grandchild: check makes each test a group leader, which
 * cannot call setsid) and hands the pty to the child as fd 0. The child must
 * lead its own session without a controlling terminal.
 */
START_TEST(test_session_no_ctty)
{
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct spec s = probe_spec();
		struct result r;
		char sid[32];
		int m, t, tty;

		if (setsid() < 0)
			_exit(10);
		m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
			_exit(11);
		t = open(ptsname(m), O_RDWR | O_CLOEXEC); /* becomes our ctty */
		tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
		if (t < 0 || tty < 0)
			_exit(12);
		add_fd(&s, t, 0);
		run(&s, &r);
		expect_started(&r);
		snprintf(sid, sizeof(sid), "%d", (int)r.pid);
		expect_kv(&r, "pid", sid);
		expect_kv(&r, "sid", sid);
		expect_kv(&r, "pgid", sid);
		expect_kv(&r, "tty", "0");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "grandchild status 0x%x",
		      status);
}
END_TEST

static void
handler(int sig)
{
	(void)sig;
}

START_TEST(test_signals_default)
{
	struct spec s = probe_spec();
	struct sigaction sa = {.sa_handler = handler};
	struct result r;
	sigset_t set, after;

	ck_assert_ptr_ne(signal(SIGPIPE, SIG_IGN), SIG_ERR);
	ck_assert_ptr_ne(signal(SIGRTMIN + 3, SIG_IGN), SIG_ERR);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &set), 0);

	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "sigign", "0000000000000000");
	expect_kv(&r, "sigblk", "0000000000000000");

	/* spawn_start() gave the parent its own mask back. */
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, NULL, &after), 0);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		ck_assert_int_eq(sigismember(&after, sig), sigismember(&set, sig));
}
END_TEST

START_TEST(test_umask)
{
	struct spec s = probe_spec();
	struct result r;

	(void)umask(0);
	s.umask = 027;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "umask", "0027");

	(void)umask(077);
	s.umask = 0;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "umask", "0000");
}
END_TEST

START_TEST(test_nofile)
{
	struct spec s = probe_spec();
	struct result r;
	struct rlimit rl;
	char hard[32];

	raise_nofile(&rl);
	snprintf(hard, sizeof(hard), "%llu", (unsigned long long)rl.rlim_max);

	/* Without set_nofile the daemon's raised limit is inherited. */
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "nofile_soft", hard);

	s.env.set_nofile = true;
	s.env.nofile = (struct rlimit){.rlim_cur = 1024, .rlim_max = rl.rlim_max};
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "nofile_soft", "1024");
	expect_kv(&r, "nofile_hard", hard);

	/* Raising the hard limit as nobody is refused, at the rlimit stage. */
	s.env.nofile.rlim_max = rl.rlim_max + 1;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_RLIMIT, EPERM);
}
END_TEST

START_TEST(test_oom_score_adj)
{
	struct spec s = probe_spec();
	struct result r;

	/*
	 * The unit protects the daemon (a negative value); the child must not
	 * inherit that. Lowering needs CAP_SYS_RESOURCE, which some containers
	 * drop: then a positive value shows the reset just as well.
	 */
	const char *adj = "-100";
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	if (write(fd, adj, strlen(adj)) < 0) {
		ck_assert_int_eq(errno, EACCES);
		adj = "500";
		ck_assert_int_eq(write(fd, adj, strlen(adj)), (ssize_t)strlen(adj));
	}
	close(fd);
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "oom_score_adj", adj);

	s.env.write_oom_adj = true;
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "oom_score_adj", "0");
	expect_kv(&r, "uid", "65534");

	/*
	 * Ours (the daemon's) is untouched: the engine forks such a child,
	 * whose write would otherwise reach every process on our memory.
	 */
	fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	{
		char buf[16] = "";

		ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
		ck_assert_int_eq(atoi(buf), atoi(adj));
	}
	close(fd);
}
END_TEST

/* ---- exec ---- */

START_TEST(test_exec_errors)
{
	struct spec s = probe_spec();
	struct result r;
	char noexec[128], garbage[128];
	int fd;

	scratch_dir();
	snprintf(noexec, sizeof(noexec), "%s/noexec", tmpdir);
	snprintf(garbage, sizeof(garbage), "%s/garbage", tmpdir);
	fd = open(noexec, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	fd = open(garbage, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "\x01\x02garbage, no shebang\n", 22), 22);
	close(fd);
	ck_assert_int_eq(chmod(garbage, 0755), 0);

	s.path = "/nonexistent/program";
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, ENOENT);

	s.path = noexec;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, EACCES);

	/* No /bin/sh fallback (OpenDoas CVE-2019-25016). */
	s.path = garbage;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, ENOEXEC);

	s.path = tmpdir;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_EXEC, EACCES);
	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_env_and_argv_exact)
{
	struct spec s = probe_spec();
	struct result r;
	size_t n_env = 0;

	ck_assert_int_eq(setenv("LEAK_CHECK", "1", 1), 0);
	s.argv[0] = "not-the-path";
	ARGS(&s, "--exit", "0");
	run(&s, &r);
	expect_started(&r);
	expect_kv(&r, "argc", "3");
	expect_kv(&r, "argv.0", "not-the-path");
	expect_kv(&r, "argv.1", "--exit");
	expect_kv(&r, "argv.2", "0");
	expect_kv(&r, "env.A", "1");
	expect_kv(&r, "env.SPACE", "two words");
	expect_kv(&r, "env.EMPTY", "");
	for (const char *p = r.out; (p = strstr(p, "\nenv.")); p++)
		n_env++;
	ck_assert_uint_eq(n_env, 3);

	s.envp[0] = NULL;
	run(&s, &r);
	expect_started(&r);
	ck_assert_ptr_null(strstr(r.out, "\nenv."));
}
END_TEST

/* The child's exit code and signal reach waitpid unchanged. */
START_TEST(test_exit_status)
{
	struct spec s = probe_spec();
	struct result r;

	ARGS(&s, "--exit", "7");
	run(&s, &r);
	ck_assert_int_eq(r.report, 0);
	ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 7);

	s = probe_spec();
	ARGS(&s, "--kill-self", "15");
	run(&s, &r);
	ck_assert_int_eq(r.report, 0);
	ck_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM);
}
END_TEST

/* ---- parent side ---- */

/* N spawns, successful and failing, leave the parent's fd count unchanged. */
START_TEST(test_no_fd_leak)
{
	struct result r;
	int before, after;

	before = fd_count(0);
	ck_assert_int_gt(before, 0);
	for (int i = 0; i < 20; i++) {
		struct spec s = probe_spec();
		int b[2];

		pipe_ok(b);
		add_fd(&s, b[1], 3 + i);
		if (i % 2)
			s.path = "/nonexistent";
		run(&s, &r);
		close(b[0]);
		close(b[1]);
	}
	after = fd_count(0);
	ck_assert_int_eq(after, before);
}
END_TEST

START_TEST(test_read_report)
{
	const struct child_report rec = {.stage = CHILD_STAGE_CHDIR, .err = EACCES};
	struct child_report got = {0};
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(spawn_read_report(p[0], &got), -EAGAIN);
	ck_assert_int_eq(write(p[1], &rec, sizeof(rec)), (ssize_t)sizeof(rec));
	ck_assert_int_eq(spawn_read_report(p[0], &got), 1);
	ck_assert_int_eq(got.stage, CHILD_STAGE_CHDIR);
	ck_assert_int_eq(got.err, EACCES);
	close(p[1]);
	ck_assert_int_eq(spawn_read_report(p[0], &got), 0);
	close(p[0]);

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	ck_assert_int_eq(write(p[1], &rec, 3), 3);
	close(p[1]);
	ck_assert_int_eq(spawn_read_report(p[0], &got), -EBADMSG);
	close(p[0]);

	ck_assert_int_eq(spawn_read_report(-1, &got), -EBADF);
}
END_TEST

static int
cmp_fd_entry(const void *a, const void *b)
{
	return atoi(*(char *const *)a) - atoi(*(char *const *)b);
}

/* "N=target" for every open fd of pid, sorted by number; returns the count. */
static int
proc_fd_list(pid_t pid, char ***ret)
{
	char **v = calloc(4096, sizeof(char *));
	char dir[64];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(v);
	ck_assert_msg(d, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		char path[400], target_path[256];
		ssize_t l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		l = readlink(path, target_path, sizeof(target_path) - 1);
		ck_assert_int_ge(l, 0);
		target_path[l] = '\0';
		ck_assert_uint_lt(n, 4095);
		ck_assert_int_ge(asprintf(&v[n++], "%s=%s", de->d_name, target_path), 0);
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmp_fd_entry);
	*ret = v;
	return (int)n;
}

static void
fd_list_free(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/* Threads of this process (/proc/self/task entries). */
static int
thread_count(void)
{
	char buf[4096];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * The plan stays the caller's (spawn_start() takes nothing), and the vfork
 * child reads it, in our memory, after spawn_start() returned: the child is
 * held in chdir, before execve reads path, argv and envp, and the caller
 * rewrites one argv string in place. The vfork child execs with the new
 * text, the fork child (its own copy) with the old one. That is why the
 * caller must keep sp until EOF or the reap (spawn.h), and the proof that
 * the engine is a CLONE_VM one.
 */
START_TEST(test_child_reads_callers_plan)
{
	struct spawn_request req = {0};
	struct target_user tu = {.uid = probe_target.uid,
				 .gid = probe_target.gid,
				 .groups = probe_target.groups,
				 .n_groups = probe_target.n_groups};
	const char *argv[] = {"spawn-probe", "--write-fd", "1", "original", NULL};
	const char *envp[] = {"CANARY=still here", NULL};
	struct spawn_env env = {.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)};
	struct spawn_prepared *sp = NULL;
	struct fd_map map = {.index = 0, .target = 1};
	struct parked pk;
	char out[65536];
	size_t len = 0;
	int p[2], status;
	ssize_t n;

	pipe_ok(p);
	req.argv = (char **)argv;
	req.argc = 4;
	req.cwd = (char *)"/";
	req.umask = 022;
	req.fds = &map;
	req.n_fds = 1;
	ck_assert_int_eq(spawn_prepare(&req, &tu, strdup(SPAWN_PROBE_PATH), strv_dup(envp), &p[1],
				       1, &env, &sp),
			 0);
	park_filter(&pk);
	ck_assert_int_eq(spawn_start(sp, engine, &pk.pid, &pk.pidfd, &pk.errpipe), 0);
	/* The received fd may go at once: the child has its own fd table. */
	close(p[1]);
	close(env.devnull);
	park_wait(&pk);

	ck_assert_ptr_nonnull(sp->argv);
	ck_assert_str_eq(sp->argv[3], "original");
	memcpy(sp->argv[3], "REWROTE!", 8);
	unpark_continue(&pk);

	while ((n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(wait_readable(pk.pidfd), 1);
	ck_assert_int_eq(waitpid(pk.pid, &status, 0), pk.pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
	ck_assert_int_eq(spawn_read_report(pk.errpipe, NULL), 0);
	ck_assert_msg(strstr(out, engine == SPAWN_ENGINE_VFORK ? "argv.3=REWROTE!\n"
							       : "argv.3=original\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "env.CANARY=still here\n"), "%s", out);
	sp = spawn_prepared_free(sp);
	close(pk.pidfd);
	close(pk.errpipe);
}
END_TEST

/*
 * No thread per spawn and no mmap per spawn: after a first spawn has made
 * a stack, spawns one after another get that same stack back (the free
 * list), and the process never gains a thread. A stack goes back to the
 * list only when its plan is freed, after EOF or the reap.
 */
START_TEST(test_vfork_no_thread_stack_reused)
{
	int threads = thread_count();
	const struct spawn_stack *first = NULL;

	for (int i = 0; i < 20; i++) {
		struct spawn_request req = {.argv = (char *[]){(char *)"true", NULL}, .argc = 1};
		struct target_user tu = {.uid = probe_target.uid,
					 .gid = probe_target.gid,
					 .groups = probe_target.groups,
					 .n_groups = probe_target.n_groups};
		struct spawn_env env = {.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)};
		struct spawn_prepared *sp = NULL;
		int pidfd, errpipe, status;
		pid_t pid;

		ck_assert_int_eq(spawn_prepare(&req, &tu, strdup("/bin/true"),
					       strv_dup((const char *[]){NULL}), NULL, 0, &env,
					       &sp),
				 0);
		ck_assert_int_eq(spawn_start(sp, SPAWN_ENGINE_VFORK, &pid, &pidfd, &errpipe), 0);
		close(env.devnull);
		ck_assert_ptr_nonnull(sp->stack);
		if (i == 0)
			first = sp->stack;
		ck_assert_ptr_eq(sp->stack, first);
		ck_assert_int_eq(thread_count(), threads);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(status, 0);
		sp = spawn_prepared_free(sp);
		close(pidfd);
		close(errpipe);
	}
}
END_TEST

/* The parent's view of its own non-default dispositions, which the child resets. */
START_TEST(test_signals_to_reset)
{
	struct sigaction sa = {.sa_handler = handler};
	uint64_t mask = 0;

	ck_assert_ptr_ne(signal(SIGPIPE, SIG_IGN), SIG_ERR);
	ck_assert_ptr_ne(signal(SIGRTMIN + 3, SIG_IGN), SIG_ERR);
	ck_assert_ptr_ne(signal(SIGUSR1, SIG_DFL), SIG_ERR);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	ck_assert_int_eq(spawn_signals_to_reset(&mask), 0);
	ck_assert(mask & (UINT64_C(1) << (SIGPIPE - 1)));
	ck_assert(mask & (UINT64_C(1) << (SIGRTMIN + 3 - 1)));
	ck_assert(mask & (UINT64_C(1) << (SIGUSR2 - 1)));
	ck_assert(!(mask & (UINT64_C(1) << (SIGUSR1 - 1))));

	/* And nothing stays with the child: ignored, caught or blocked. */
	{
		struct spec s = probe_spec();
		struct result r;

		run(&s, &r);
		expect_started(&r);
		expect_kv(&r, "sigign", "0000000000000000");
		expect_kv(&r, "sigblk", "0000000000000000");
	}
}
END_TEST

/* Invalid input to spawn_prepare is refused; path and envp are taken anyway. */
START_TEST(test_prepare_invalid)
{
	struct fd_map bad_map = {.index = 1, .target = 0};
	struct spawn_request req = {
		.argv = (char *[]){(char *)"x", NULL}, .argc = 1, .cwd = (char *)"/"};
	struct spawn_request empty0 = {.argv = (char *[]){(char *)"", NULL}, .argc = 1};
	struct spawn_request noargv = {.argv = (char *[]){NULL}, .argc = 0};
	struct spawn_request badfd = req;
	struct spawn_request relcwd = req;
	struct target_user tu = {.uid = NOBODY, .gid = NOBODY};
	struct target_user uidm1 = {.uid = (uid_t)-1, .gid = NOBODY};
	struct spawn_env env = {.devnull = 5};
	struct spawn_prepared *sp = NULL;
	int fd = 3;
	const char *none[] = {NULL};

	badfd.fds = &bad_map;
	badfd.n_fds = 1;
	relcwd.cwd = (char *)"tmp";
	ck_assert_int_eq(
		spawn_prepare(&req, &tu, strdup("bin/true"), strv_dup(none), NULL, 0, &env, &sp),
		-EINVAL);
	ck_assert_int_eq(spawn_prepare(&empty0, &tu, strdup("/bin/true"), strv_dup(none), NULL, 0,
				       &env, &sp),
			 -EINVAL);
	ck_assert_int_eq(spawn_prepare(&noargv, &tu, strdup("/bin/true"), strv_dup(none), NULL, 0,
				       &env, &sp),
			 -EINVAL);
	ck_assert_int_eq(
		spawn_prepare(&badfd, &tu, strdup("/bin/true"), strv_dup(none), &fd, 1, &env, &sp),
		-EINVAL);
	ck_assert_int_eq(spawn_prepare(&relcwd, &tu, strdup("/bin/true"), strv_dup(none), NULL, 0,
				       &env, &sp),
			 -EINVAL);
	ck_assert_int_eq(spawn_prepare(&req, &uidm1, strdup("/bin/true"), strv_dup(none), NULL, 0,
				       &env, &sp),
			 -EINVAL);
	ck_assert_ptr_null(sp);

	/* And a valid one copies what it needs: the request may go away. */
	ck_assert_int_eq(
		spawn_prepare(&req, &tu, strdup("/bin/true"), strv_dup(none), NULL, 0, &env, &sp),
		0);
	ck_assert_ptr_ne(sp->plan.argv, req.argv);
	ck_assert_str_eq(sp->plan.argv[0], "x");
	ck_assert_ptr_null(sp->plan.argv[1]);
	ck_assert_str_eq(sp->plan.cwd, "/");
	ck_assert_int_eq(sp->plan.n_fds, 3);
	ck_assert_int_eq(sp->plan.max_dst, 2);
	ck_assert_int_eq(sp->plan.fds[0].src, 5);
	spawn_prepared_free(sp);
}
END_TEST

/* ---- credentials that need no change (a daemon that is not root) ---- */

/*
 * The target is exactly who we are: the child must not call setgroups,
 * setresgid or setresuid at all (a daemon that is not root gets EPERM from
 * setgroups even when it changes nothing). A seccomp filter refuses all
 * three with EPERM: the child still starts, as us.
 */
START_TEST(test_creds_self_no_set_calls)
{
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setgroups, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setresgid, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setresuid, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	struct spec s = probe_spec();
	struct result r;
	char uid[16], gid[16];

	spec_as_self(&s);
	install_filter(f, ELEMENTSOF(f));
	run(&s, &r);
	expect_started(&r);
	snprintf(uid, sizeof(uid), "%u", (unsigned)s.uid);
	snprintf(gid, sizeof(gid), "%u", (unsigned)s.gid);
	expect_kv(&r, "uid", uid);
	expect_kv(&r, "euid", uid);
	expect_kv(&r, "suid", uid);
	expect_kv(&r, "gid", gid);
	expect_kv(&r, "egid", gid);

	/* One group more than we have is a change: then setgroups runs, and fails. */
	ck_assert_uint_lt(s.n_groups, MAX_GROUPS);
	s.groups[s.n_groups++] = 4242;
	run(&s, &r);
	expect_failed(&r, CHILD_STAGE_SETGROUPS, EPERM);
}
END_TEST

/*
 * HOSTILE.md 47: a child that hangs in chdir (a cwd on a FUSE mount that
 * never answers) must already hold nothing of the daemon's but the errpipe:
 * not the listening socket, not other clients' connections, nothing they
 * sent. While it is parked in chdir, its fd table is exactly 0, 1, 2 and
 * the errpipe at 3.
 */
START_TEST(test_fds_closed_before_chdir)
{
	struct parked pk;
	char **fds;
	char want[64];
	int n;

	open_daemon_fds();
	park_in_chdir(&pk);
	n = proc_fd_list(pk.pid, &fds);
	snprintf(want, sizeof(want), "3=%s", pipe_name(pk.errpipe));
	ck_assert_msg(n == 4 && strcmp(fds[0], "0=/dev/null") == 0 &&
			      strcmp(fds[1], "1=/dev/null") == 0 &&
			      strcmp(fds[2], "2=/dev/null") == 0 && strcmp(fds[3], want) == 0,
		      "fds of the child in chdir: %s %s %s %s%s", n > 0 ? fds[0] : "",
		      n > 1 ? fds[1] : "", n > 2 ? fds[2] : "", n > 3 ? fds[3] : "",
		      n > 4 ? " ..." : "");
	fd_list_free(fds);
	unpark_fail(&pk, ENOENT);
}
END_TEST

/*
 * docs/security.md: a child between its credential switch and execve must
 * not be ptrace-able by the target user, for with the vfork engine its
 * memory is the daemon's. The kernel sees to that: the uid change marks
 * the address space non-dumpable (fs.suid_dumpable 0 or 2), which for
 * the vfork engine is the daemon's own, shared one. Checked here: while the
 * child sits in chdir as nobody, a process of nobody's can neither
 * PTRACE_SEIZE it, nor open its /proc/PID/mem, nor read its memory with
 * process_vm_readv() (all three ask ptrace_may_access(), which refuses a
 * non-dumpable mm to anyone without CAP_SYS_PTRACE); with the vfork engine
 * this very process has become non-dumpable too, and kcmp(KCMP_VM) shows
 * that the child's memory is ours (the fork engine's is a copy), so the
 * refusals protect the daemon itself.
 */
START_TEST(test_parked_child_not_ptraceable)
{
	struct iovec local, remote;
	char mem[64], byte;
	struct parked pk;
	int dumpable_sysctl, status;
	FILE *f;
	pid_t pid;

	f = fopen("/proc/sys/fs/suid_dumpable", "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &dumpable_sysctl), 1);
	fclose(f);
	if (dumpable_sysctl == 1) {
		/* "debug" mode: every process stays dumpable; see docs/security.md. */
		fprintf(stderr, "fs.suid_dumpable is 1: the ptrace check does not apply\n");
		return;
	}

	ck_assert_int_eq(prctl(PR_GET_DUMPABLE), 1);
	park_in_chdir(&pk);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE),
			 engine == SPAWN_ENGINE_VFORK ? dumpable_sysctl : 1);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gid_t g = NOBODY;

		if (setgroups(1, &g) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(10);
		if (ptrace(PTRACE_SEIZE, pk.pid, 0, 0) == 0)
			_exit(11);
		if (errno != EPERM)
			_exit(12);
		snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)pk.pid);
		if (open(mem, O_RDONLY | O_CLOEXEC) >= 0)
			_exit(13);
		if (errno != EACCES && errno != EPERM)
			_exit(14);
		local = (struct iovec){.iov_base = &byte, .iov_len = 1};
		remote = (struct iovec){.iov_base = &dumpable_sysctl, .iov_len = 1};
		if (process_vm_readv(pk.pid, &local, 1, &remote, 1, 0) >= 0)
			_exit(15);
		_exit(errno == EPERM ? 0 : 16);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "nobody's access to the child in chdir: status 0x%x (11: PTRACE_SEIZE, "
		      "13: /proc/PID/mem, 15: process_vm_readv worked)",
		      status);
	/* The scenario is the one we mean: with vfork the child's memory is ours. */
	ck_assert_int_eq(syscall(SYS_kcmp, getpid(), pk.pid, KCMP_VM, 0, 0) == 0,
			 engine == SPAWN_ENGINE_VFORK);
	unpark_fail(&pk, ENOENT);
}
END_TEST

/* ---- the engine's log ---- */

/* What spawn.c logged in this test process (spawn_set_log()). */
static struct {
	pthread_mutex_t lock;
	char msgs[16][512];
	unsigned n;
} logged = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
capture_log(int level, const char *message)
{
	(void)level;
	pthread_mutex_lock(&logged.lock);
	if (logged.n < ELEMENTSOF(logged.msgs))
		snprintf(logged.msgs[logged.n], sizeof(logged.msgs[0]), "%s", message);
	logged.n++;
	pthread_mutex_unlock(&logged.lock);
	fprintf(stderr, "logged: %s\n", message);
}

/* Messages logged so far that contain needle. */
static unsigned
logged_count(const char *needle)
{
	unsigned n = 0;

	pthread_mutex_lock(&logged.lock);
	for (unsigned i = 0; i < logged.n && i < ELEMENTSOF(logged.msgs); i++)
		n += strstr(logged.msgs[i], needle) != NULL;
	pthread_mutex_unlock(&logged.lock);
	return n;
}

/*
 * clone(CLONE_VM) without CLONE_THREAD refused for good (_i: EPERM and
 * ENOSYS from a seccomp profile, EINVAL as from qemu-user, which refuses
 * exactly that): every spawn still works, through fork, and that is logged
 * once. clone3 gets ENOSYS, as from Docker's profile; threads (CLONE_VM |
 * CLONE_THREAD) and fork (no CLONE_VM) stay allowed, and so does
 * LeakSanitizer's tracer in the sanitizer build (CLONE_VM | CLONE_UNTRACED,
 * see tests/helpers/no-vfork.c).
 */
START_TEST(test_vfork_clone_refused_falls_back)
{
	static const int errs[] = {EPERM, ENOSYS, EINVAL};
	struct sock_filter f[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		RET(SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
		/* args[0] (flags); its low half is at the lower address on little endian. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, CLONE_VM | CLONE_THREAD | CLONE_UNTRACED),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CLONE_VM, 0, 1),
		RET(SECCOMP_RET_ERRNO | (unsigned)errs[_i]),
		RET(SECCOMP_RET_ALLOW),
	};
	struct result r;

	ck_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
	spawn_set_log(capture_log);
	install_filter(f, ELEMENTSOF(f));
	for (int i = 0; i < 3; i++) {
		struct spec s = probe_spec();

		run(&s, &r);
		expect_started(&r);
		expect_kv(&r, "uid", probe_target.uid_text);
	}
	ck_assert_uint_eq(logged_count("clone(CLONE_VM) is not allowed here"), 1);
	ck_assert_msg(logged_count(strerror(errs[_i])) == 1, "the message does not name %s",
		      strerror(errs[_i]));
	ck_assert_uint_eq(logged.n, 1);
	spawn_set_log(NULL);
}
END_TEST

/*
 * privileged: we are root and may switch to other users. Without it, only
 * the cases that spawn as ourselves (target, see main()), as a daemon that
 * is not root does.
 */
static Suite *
child_exec_suite(bool privileged)
{
	Suite *s = suite_create(engine == SPAWN_ENGINE_VFORK
					? (share_table ? "child_exec (vfork engine, shared table)"
						       : "child_exec (vfork engine)")
					: (share_table ? "child_exec (fork engine, shared table)"
						       : "child_exec (fork engine)"));
	TCase *tc;

	tc = tcase_create("creds");
	tcase_set_timeout(tc, 60);
	if (privileged) {
		tcase_add_test(tc, test_creds_nobody);
		tcase_add_test(tc, test_creds_numeric);
		tcase_add_test(tc, test_creds_empty_groups);
		tcase_add_loop_test(tc, test_creds_faked_switch, 0, 3);
		tcase_add_test(tc, test_creds_setgroups_fails);
	}
	tcase_add_test(tc, test_creds_self_no_set_calls);
	suite_add_tcase(s, tc);

	tc = tcase_create("fds");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fds_exact);
	tcase_add_test(tc, test_fds_none);
	tcase_add_test(tc, test_fds_swap_stdio);
	tcase_add_loop_test(tc, test_fds_cycle_identity, 0, 2);
	tcase_add_test(tc, test_fds_src_is_other_target);
	tcase_add_test(tc, test_fds_shared_src);
	tcase_add_test(tc, test_fds_errpipe_on_target);
	tcase_add_test(tc, test_fds_highest_target);
	tcase_add_loop_test(tc, test_fds_close_fallback, 0, 2);
	tcase_add_test(tc, test_fds_closed_before_chdir);
	tcase_add_test(tc, test_child_reads_callers_plan);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cwd_ok);
	if (privileged)
		tcase_add_test(tc, test_cwd_as_target);
	tcase_add_test(tc, test_session_no_ctty);
	tcase_add_test(tc, test_signals_default);
	tcase_add_test(tc, test_signals_to_reset);
	tcase_add_test(tc, test_umask);
	tcase_add_test(tc, test_nofile);
	if (privileged) {
		tcase_add_test(tc, test_oom_score_adj);
		tcase_add_test(tc, test_parked_child_not_ptraceable);
	}
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exec_errors);
	tcase_add_test(tc, test_env_and_argv_exact);
	tcase_add_test(tc, test_exit_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("parent");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_no_fd_leak);
	tcase_add_test(tc, test_read_report);
	tcase_add_test(tc, test_prepare_invalid);
	suite_add_tcase(s, tc);

	if (engine == SPAWN_ENGINE_VFORK) {
		tc = tcase_create("vfork");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_vfork_no_thread_stack_reused);
		tcase_add_loop_test(tc, test_vfork_clone_refused_falls_back, 0, 3);
		suite_add_tcase(s, tc);
	}
	return s;
}

/* Spawn as (uid, gid, groups) in probe_spec(). */
static void
set_target(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups)
{
	probe_target.uid = uid;
	probe_target.gid = gid;
	memcpy(probe_target.groups, groups, n_groups * sizeof(gid_t));
	probe_target.n_groups = n_groups;
	snprintf(probe_target.uid_text, sizeof(probe_target.uid_text), "%u", (unsigned)uid);
}

/* Both engines' suites; returns the number of failed tests. */
static int
run_suites(bool privileged)
{
	int failed = 0;

	/* The same cases for both engines; CK_FORK children see `engine` as set here. */
#if defined(SPAWND_FORCE_FORK) || !SPAWN_HAVE_VFORK_ENGINE
	/* spawn_start() forks whatever it is asked: there is no vfork engine to test. */
	fprintf(stderr, "check_child_exec: SPAWND_FORCE_FORK build or no vfork engine on this "
			"architecture, testing the fork engine only\n");
	for (int e = 0; e < 4; e += 2) {
#else
	for (int e = 0; e < 4; e++) {
#endif
		SRunner *sr;

		engine = e % 2 == 0 ? SPAWN_ENGINE_FORK : SPAWN_ENGINE_VFORK;
		share_table = e >= 2;
		sr = srunner_create(child_exec_suite(privileged));
		srunner_run_all(sr, CK_NORMAL);
		failed += srunner_ntests_failed(sr);
		srunner_free(sr);
	}
	return failed;
}

/* As we are: our own uid, gid and groups are the target. */
static int
run_unprivileged(void)
{
	gid_t groups[MAX_GROUPS];
	int n = getgroups(MAX_GROUPS, groups);

	if (n < 0) {
		perror("getgroups");
		return 1;
	}
	set_target(geteuid(), getegid(), groups, (size_t)n);
	fprintf(stderr, "check_child_exec: as uid %u, spawning as ourselves\n",
		(unsigned)geteuid());
	return run_suites(false);
}

int
main(void)
{
	const gid_t nobody_groups[] = {NOBODY};
	int failed, status;
	pid_t pid;

	if (geteuid() != 0)
		return run_unprivileged() ? EXIT_FAILURE : EXIT_SUCCESS;

	set_target(NOBODY, NOBODY, nobody_groups, 1);
	failed = run_suites(true);

	/*
	 * And once more as nobody (with nobody's groups, as initgroups would
	 * give a daemon started as that user): what needs no privilege must
	 * work for a daemon that is not root.
	 */
	(void)fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		if (setgroups(1, nobody_groups) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0) {
			perror("check_child_exec: dropping to nobody");
			_exit(2);
		}
		/*
		 * The uid change made us non-dumpable (/proc/self then belongs
		 * to root); a daemon exec'd as its user is dumpable, and some
		 * cases read /proc/self/task and their children's /proc/PID/fd.
		 */
		if (prctl(PR_SET_DUMPABLE, 1) < 0) {
			perror("check_child_exec: PR_SET_DUMPABLE");
			_exit(2);
		}
		_exit(run_unprivileged() ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "check_child_exec: the run as nobody failed (status 0x%x)\n",
			(unsigned)status);
		failed++;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
