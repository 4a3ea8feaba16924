/* SPDX-License-Identifier: MIT */
/*
 * Parent side of a spawn (DESIGN.md section 3): own every array the child
 * reads, create the errpipe, fork with all signals blocked, hand the caller
 * a pidfd and the errpipe's non-blocking read end, and decode the child's
 * report. Nothing here waits for a child that is still setting up: the
 * event loop watches the errpipe instead (a child can hang in chdir on a
 * FUSE mount, where not even SIGKILL frees it).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawnd.pb-c.h"
#include "wire.h"

/* The child's stage goes onto the wire as is (Failed.stage). */
#define ASSERT_STAGE(name)                                                                         \
	_Static_assert((int)CHILD_STAGE_##name == (int)SPAWND__V1__STAGE__STAGE_##name,            \
		       "enum child_stage differs from the wire's Stage for " #name)
ASSERT_STAGE(FD_SETUP);
ASSERT_STAGE(SIGNALS);
ASSERT_STAGE(SETSID);
ASSERT_STAGE(SETGROUPS);
ASSERT_STAGE(SETGID);
ASSERT_STAGE(SETUID);
ASSERT_STAGE(CHDIR);
ASSERT_STAGE(RLIMIT);
ASSERT_STAGE(OOM_ADJ);
ASSERT_STAGE(CLOSE_FDS);
ASSERT_STAGE(EXEC);

/* child_exec() keeps a fixed scratch array of this size on its stack. */
_Static_assert(SPAWND_MAX_TARGET_FD + 1 <= CHILD_MAX_FDS, "fd table larger than CHILD_MAX_FDS");
/* One write() of the record must be atomic, so the parent never sees half. */
_Static_assert(sizeof(struct child_report) <= PIPE_BUF, "child_report larger than PIPE_BUF");

static spawn_log_fn log_fn;

void
spawn_set_log(spawn_log_fn fn)
{
	log_fn = fn;
}

/* A message for the daemon's log (spawn_set_log()), or stderr without one. */
static void __attribute__((format(printf, 2, 3))) spawn_log(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, msg);
	else
		(void)fprintf(stderr, "spawnd: %s\n", msg);
}

static void
spawn_prepared_freep(struct spawn_prepared **p)
{
	*p = spawn_prepared_free(*p);
}

static char **
strv_copy(char *const *v)
{
	size_t n = strv_length(v);
	_cleanup_strv_free_ char **c = calloc(n + 1, sizeof(char *));

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(v[i]);
		if (!c[i])
			return NULL;
	}
	return TAKE_PTR(c);
}

int
spawn_prepare(const struct spawn_request *req, const struct target_user *target, char *path,
	      char **envp, const int *received, size_t n_received, const struct spawn_env *env,
	      struct spawn_prepared **ret)
{
	_cleanup_free_ char *path_owned = path;
	_cleanup_strv_free_ char **envp_owned = envp;
	_cleanup_(spawn_prepared_freep) struct spawn_prepared *sp = NULL;
	struct child_plan *plan;
	size_t n_fds;
	int max_dst, r;

	if (!req || !target || !env || !ret || !path || !envp)
		return -EINVAL;
	/* execve does no PATH search and the policy matched this literal path. */
	if (path[0] != '/')
		return -EINVAL;
	/* argc == 0 makes some programs read envp as argv (pkexec CVE-2021-4034). */
	if (!req->argv || !req->argv[0] || req->argv[0][0] == '\0')
		return -EINVAL;
	if (req->cwd && req->cwd[0] != '/')
		return -EINVAL;
	if (target->n_groups > 0 && !target->groups)
		return -EINVAL;
	/* (uid_t)-1 means "leave unchanged" to setresuid: never a target. */
	if (target->uid == (uid_t)-1 || target->gid == (gid_t)-1)
		return -EINVAL;

	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->argv = strv_copy(req->argv);
	sp->cwd = strdup(req->cwd ? req->cwd : "/");
	/* Never malloc(0): a NULL list must not read as a failed allocation. */
	sp->groups = malloc((target->n_groups > 0 ? target->n_groups : 1) * sizeof(gid_t));
	if (!sp->argv || !sp->cwd || !sp->groups)
		return -ENOMEM;
	if (target->n_groups > 0)
		memcpy(sp->groups, target->groups, target->n_groups * sizeof(gid_t));

	r = fdmap_plan(req->fds, req->n_fds, received, n_received, env->devnull, &sp->fds, &n_fds,
		       &max_dst);
	if (r < 0)
		return r;

	sp->path = TAKE_PTR(path_owned);
	sp->envp = TAKE_PTR(envp_owned);

	plan = &sp->plan;
	*plan = (struct child_plan){
		.path = sp->path,
		.argv = sp->argv,
		.envp = sp->envp,
		.fds = sp->fds,
		.n_fds = n_fds,
		.max_dst = max_dst,
		.uid = target->uid,
		.gid = target->gid,
		.groups = sp->groups,
		.n_groups = target->n_groups,
		.cwd = sp->cwd,
		.umask = req->umask & 0777,
		.errpipe = -EBADF,
		.set_nofile = env->set_nofile,
		.nofile = env->nofile,
		.write_oom_adj = env->write_oom_adj,
		.reset_signals = UINT64_MAX, /* spawn_start() narrows it down */
	};
	/* The child starts with an empty mask (DESIGN.md section 7). */
	if (sigemptyset(&plan->sigmask) < 0)
		return -errno;

	*ret = TAKE_PTR(sp);
	return 0;
}

struct spawn_prepared *
spawn_prepared_free(struct spawn_prepared *sp)
{
	if (!sp)
		return NULL;
	free(sp->path);
	(void)strv_free(sp->argv);
	(void)strv_free(sp->envp);
	free(sp->cwd);
	free(sp->fds);
	free(sp->groups);
	free(sp);
	return NULL;
}

/* The hex mask after "\nNAME:\t" in a /proc status text. */
static int
status_mask(const char *text, const char *name, uint64_t *ret)
{
	const char *p = strstr(text, name);
	char *end;

	if (!p)
		return -EBADMSG;
	p += strlen(name);
	errno = 0;
	*ret = strtoull(p, &end, 16);
	if (errno != 0 || end == p || *end != '\n')
		return -EBADMSG;
	return 0;
}

int
spawn_signals_to_reset(uint64_t *ret)
{
	char buf[8192];
	uint64_t ign = 0, cgt = 0;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	/*
	 * Our own /proc entry: not a client-chosen path, it cannot hang. The
	 * dispositions cannot change between this read and the child's reset:
	 * only the loop thread, which is in spawn_start() until the child has
	 * its own copy of the handler table (no CLONE_SIGHAND), installs any.
	 */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Read until both lines are in (normally the first read), EOF or a full buffer. */
	r = -EBADMSG;
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		r = status_mask(buf, "\nSigIgn:\t", &ign);
		if (r == 0)
			r = status_mask(buf, "\nSigCgt:\t", &cgt);
		if (r == 0)
			break;
	}
	(void)safe_close(fd);
	if (r < 0)
		return r;
	*ret = ign | cgt;
	return 0;
}

const char *
spawn_engine_to_string(enum spawn_engine engine)
{
	return engine == SPAWN_ENGINE_VFORK ? "vfork" : "fork";
}

/*
 * Give up on a child we could not get a pidfd for. It is killed but not
 * waited for here: a child already stuck in its setup (a cwd on a FUSE
 * mount that never answers) ignores even SIGKILL, and a blocking waitpid
 * would stall the event loop with it. spawn_start() returns its pid so
 * that the caller hands it to the reaper (reaper_abandon()), which reaps it
 * whenever it does die.
 */
static void
kill_untracked(pid_t pid)
{
	(void)kill(pid, SIGKILL);
}

/* FUTEX_WAIT for at most timeout (NULL: no limit); 0, or -EAGAIN, -EINTR, -ETIMEDOUT. */
static int
futex_wait(uint32_t *word, uint32_t val, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0) < 0 ? -errno : 0;
}

static void
futex_wake(uint32_t *word)
{
	(void)syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* ---- the fork engine ---- */

static int
start_fork(struct spawn_prepared *sp, int wfd, pid_t *ret_pid, int *ret_pidfd)
{
	sigset_t all, saved;
	int pidfd, r;
	pid_t pid;

	/*
	 * Block every signal across fork: until child_exec() has reset all
	 * dispositions, a signal delivered to the child would run one of the
	 * daemon's handlers there (glibc spawni.c, CPython do_fork_exec). The
	 * child restores plan.sigmask (empty) itself, right before execve.
	 */
	if (sigfillset(&all) < 0)
		return -errno;
	r = pthread_sigmask(SIG_SETMASK, &all, &saved);
	if (r != 0)
		return -r;

	sp->plan.errpipe = wfd;
	pid = fork();
	if (pid == 0)
		child_exec(&sp->plan);
	r = pid < 0 ? -errno : 0;

	(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	sp->plan.errpipe = -EBADF;
	if (r < 0)
		return r;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r = -errno;
		kill_untracked(pid);
		*ret_pid = pid; /* the caller hands it to the reaper */
		return r;
	}
	*ret_pid = pid;
	*ret_pidfd = pidfd;
	return 0;
}

/* ---- the vfork engine ----
 *
 * Why threads. clone(CLONE_VM | CLONE_VFORK) suspends the calling thread
 * until the child execs or exits, and a child can hang before exec for
 * as long as a FUSE server likes (cwd or binary on a mount that never
 * answers: the child sleeps in request_wait_answer and not even SIGKILL
 * frees it). Done by the event loop, that would stop the daemon. So the
 * clone is made by a spawner thread, and only that thread is suspended
 * (DESIGN.md section 3.5). The loop waits for nothing but the handshake,
 * which the child gives right after clone, before any file system access
 * (child_clone_entry()), so the loop waits about as long as for fork().
 *
 * Quota. A busy spawner belongs to exactly one child that is tracked from
 * the handshake on (or killed, if it cannot be tracked), and that child
 * counts against its client's per-uid and the global live-children caps
 * (dispatch.c, SPAWND_MAX_CHILDREN*) until it is reaped. So a client
 * whose children hang pins at most its own quota of spawner threads;
 * everyone else gets an idle spawner or a new one. If no thread can be
 * created (EAGAIN, ENOMEM), that spawn uses fork instead, which never
 * waits for the child either.
 *
 * Threads never exit. The kernel's "parent" of a child is the thread
 * that created it: PR_SET_PDEATHSIG fires when that thread ends
 * (prctl(2)), so a spawner that exited would kill every child that asked
 * for a parent-death signal. The number of spawners is the most children
 * ever in flight before exec at once, which the caps above bound; beyond
 * SPAWNER_MAX_IDLE idle ones, a spawner gives back its child stack's
 * memory (MADV_DONTNEED) each time it parks.
 *
 * Memory. A spawner thread never allocates or frees heap memory: a free()
 * in a new thread would give it a malloc arena and tcache of its own. The
 * loop thread allocates jobs and spawners; finished jobs are handed back
 * on a list that the loop empties at its next spawn.
 *
 * Each spawner owns the stack its children run on (mmap'ed, with a guard
 * page below it). One stack per spawner is enough: the spawner stays
 * suspended, so the stack stays in use, until its child has exec'd or
 * exited.
 */

#define SPAWNER_MAX_IDLE 4u
#define SPAWNER_THREAD_STACK (64u * 1024u)
/* child_exec() needs ~8 KiB (CHILD_MAX_FDS ints and a dirent buffer); sanitizers need more. */
#define CHILD_STACK_SIZE (256u * 1024u)
#define JOB_FAILED 2u
/* Where the vfork engine puts pidfds (see spawn_start() in spawn.h). */
#define PIDFD_HIGH_BASE 4096

struct vfork_job {
	struct spawn_prepared prep; /* everything the child reads, taken from the caller */
	struct child_clone_start start;
	uint32_t state; /* futex word: CHILD_HANDSHAKE_* or JOB_FAILED */
	pid_t pid;
	int pidfd; /* written by the kernel (CLONE_PIDFD) before the child runs */
	int err;   /* JOB_FAILED: positive errno of clone() */
	struct vfork_job *next;
};

struct spawner {
	uint32_t go; /* futex word: 1 once `job` was posted */
	struct vfork_job *job;
	void *stack; /* the children's stack: [guard page][CHILD_STACK_SIZE] */
	size_t stack_len;
	struct spawner *next;
};

static struct {
	pthread_mutex_t lock;
	struct spawner *idle; /* waiting for a job */
	unsigned n_idle;
	struct vfork_job *done; /* clone() returned: the loop frees them */
	unsigned n_spawners;	/* threads created (they never exit) */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void
job_free(struct vfork_job *job)
{
	struct spawn_prepared *p = &job->prep;

	free(p->path);
	(void)strv_free(p->argv);
	(void)strv_free(p->envp);
	free(p->cwd);
	free(p->fds);
	free(p->groups);
	free(job);
}

static void
spawner_free(struct spawner *w)
{
	if (w->stack)
		(void)munmap(w->stack, w->stack_len);
	free(w);
}

/* Free the jobs the spawner threads handed back. Loop thread only. */
static void
pool_collect(void)
{
	struct vfork_job *jobs;

	(void)pthread_mutex_lock(&pool.lock);
	jobs = pool.done;
	pool.done = NULL;
	(void)pthread_mutex_unlock(&pool.lock);

	while (jobs) {
		struct vfork_job *next = jobs->next;

		job_free(jobs);
		jobs = next;
	}
}

/*
 * The spawner's half of the handshake (child_exec.h): move the word from
 * PENDING to `to` unless the child did first, and wake the loop either way.
 * A child that won the compare-and-swap may have died before its own
 * FUTEX_WAKE; this wake, after clone() returned, is then the only one.
 */
void
spawn_handshake_settle(uint32_t *word, uint32_t to)
{
	uint32_t expected = CHILD_HANDSHAKE_PENDING;

	(void)__atomic_compare_exchange_n(word, &expected, to, false, __ATOMIC_RELEASE,
					  __ATOMIC_RELAXED);
	futex_wake(word);
}

uint32_t
spawn_handshake_wait(uint32_t *word, unsigned stall_ms)
{
	const struct timespec stall = {
		.tv_sec = stall_ms / 1000,
		.tv_nsec = (long)(stall_ms % 1000) * 1000000L,
	};
	unsigned stalls = 0;
	uint32_t state;
	int r = 0;

	while ((state = __atomic_load_n(word, __ATOMIC_ACQUIRE)) == CHILD_HANDSHAKE_PENDING) {
		r = futex_wait(word, CHILD_HANDSHAKE_PENDING, &stall);
		if (r != -ETIMEDOUT)
			continue;
		stalls++;
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != CHILD_HANDSHAKE_PENDING)
			continue;
		/*
		 * Never expected: the child has nothing to do before the
		 * handshake that can block (no file system access), and the
		 * spawner wakes us whenever clone() returns. Either the child
		 * was stopped by something we do not control (SIGSTOP from
		 * root, a frozen cgroup) or a wake-up was lost (a bug). Say so,
		 * and wait on: going on without the handshake could let the
		 * child see fds that we are about to close and reuse.
		 */
		spawn_log(LOG_ERR,
			  "A vfork child has not answered the handshake for %u ms; the event loop "
			  "waits for it and serves nobody meanwhile",
			  stalls * stall_ms);
	}
	/* Seen by looking again after a timeout, not because anyone woke us. */
	if (stalls > 0 && (r == -ETIMEDOUT || r == -EAGAIN))
		spawn_log(LOG_ERR,
			  "A vfork child's handshake completed without waking the event loop (a "
			  "lost wake-up); the loop was stuck for over %u ms",
			  stalls * stall_ms);
	else if (stalls > 0)
		spawn_log(LOG_NOTICE, "A vfork child answered the handshake after over %u ms",
			  stalls * stall_ms);
	return state;
}

/*
 * The clone itself, in a function of its own that is never inlined
 * (STYLE.md section 3): glibc's clone() switches the child to `stack_top`
 * and calls child_clone_entry() there; this thread sleeps in the kernel
 * until the child has exec'd or exited, and returns the pid or -errno.
 * CLONE_PIDFD stores the pidfd in job->pidfd before the child runs.
 */
static __attribute__((noinline)) pid_t
clone_vfork(struct vfork_job *job, void *stack_top)
{
	pid_t pid = clone(child_clone_entry, stack_top,
			  CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | SIGCHLD, &job->start,
			  &job->pidfd);

	return pid < 0 ? -errno : pid;
}

static void
spawner_run(struct spawner *w, struct vfork_job *job)
{
	pid_t pid = clone_vfork(job, (char *)w->stack + w->stack_len);

	if (pid < 0) {
		job->err = (int)-pid;
		spawn_handshake_settle(&job->state, JOB_FAILED);
	} else {
		/* Normally the child said READY long ago; this covers a child
		 * that was killed (SIGKILL) before it got that far. */
		__atomic_store_n(&job->pid, pid, __ATOMIC_RELAXED);
		spawn_handshake_settle(&job->state, CHILD_HANDSHAKE_READY);
	}
}

static void *
spawner_main(void *arg)
{
	struct spawner *w = arg;

	for (;;) {
		struct vfork_job *job;
		bool trim;

		while (__atomic_load_n(&w->go, __ATOMIC_ACQUIRE) == 0)
			(void)futex_wait(&w->go, 0, NULL);
		__atomic_store_n(&w->go, 0, __ATOMIC_RELAXED);
		job = w->job;
		w->job = NULL;

		spawner_run(w, job);

		/* From here on the job is the loop's to free; we never touch it again. */
		(void)pthread_mutex_lock(&pool.lock);
		job->next = pool.done;
		pool.done = job;
		trim = pool.n_idle >= SPAWNER_MAX_IDLE;
		(void)pthread_mutex_unlock(&pool.lock);
		/* No child runs on the stack now; its pages come back zeroed if reused. */
		if (trim)
			(void)madvise(w->stack, w->stack_len, MADV_DONTNEED);

		/* LIFO: the spawners whose stacks are warm are the ones reused. */
		(void)pthread_mutex_lock(&pool.lock);
		w->next = pool.idle;
		pool.idle = w;
		pool.n_idle++;
		(void)pthread_mutex_unlock(&pool.lock);
	}
	return NULL;
}

/* A new spawner thread, idle until a job is posted; NULL if none can be made. */
static struct spawner *
spawner_new(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct spawner *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	sigset_t all, saved;
	pthread_t thread;
	int r;

	if (!w || page <= 0)
		goto fail;
	w->stack_len = (size_t)page + CHILD_STACK_SIZE;
	w->stack = mmap(NULL, w->stack_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (w->stack == MAP_FAILED) {
		w->stack = NULL;
		goto fail;
	}
	/* The stack grows down: an overflow hits the guard page, not a neighbour. */
	if (mprotect(w->stack, (size_t)page, PROT_NONE) < 0)
		goto fail;
	/* The top (page-aligned base + pages) is 16-byte aligned, as the ABIs want. */

	if (pthread_attr_init(&attr) != 0)
		goto fail;
	r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (r == 0)
		r = pthread_attr_setstacksize(&attr, SPAWNER_THREAD_STACK);
	/*
	 * The thread inherits our mask: all signals blocked, for good. No
	 * signal handler of the daemon may ever run on a spawner, and its
	 * children start with everything blocked until child_exec() has reset
	 * the dispositions (DESIGN.md section 3.4).
	 */
	if (r == 0 &&
	    (sigfillset(&all) < 0 || (r = pthread_sigmask(SIG_SETMASK, &all, &saved)) != 0))
		r = r ? r : errno;
	if (r == 0) {
		r = pthread_create(&thread, &attr, spawner_main, w);
		(void)pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	(void)pthread_attr_destroy(&attr);
	if (r != 0)
		goto fail;
	(void)pthread_mutex_lock(&pool.lock);
	pool.n_spawners++;
	(void)pthread_mutex_unlock(&pool.lock);
	return w;

fail:
	if (w)
		spawner_free(w);
	return NULL;
}

/* An idle spawner, or a new one; NULL when neither can be had. */
static struct spawner *
spawner_get(void)
{
	struct spawner *w;

	(void)pthread_mutex_lock(&pool.lock);
	w = pool.idle;
	if (w) {
		pool.idle = w->next;
		pool.n_idle--;
	}
	(void)pthread_mutex_unlock(&pool.lock);
	return w ? w : spawner_new();
}

unsigned
spawn_busy_spawners(void)
{
	unsigned n;

	(void)pthread_mutex_lock(&pool.lock);
	n = pool.n_spawners - pool.n_idle;
	(void)pthread_mutex_unlock(&pool.lock);
	return n;
}

/* Every fd the child needs is below the returned number. */
static unsigned
fds_needed_below(const struct child_plan *plan)
{
	int top = plan->errpipe;

	for (size_t i = 0; i < plan->n_fds; i++)
		if (plan->fds[i].src > top)
			top = plan->fds[i].src;
	return (unsigned)top + 1;
}

/*
 * Keep long-lived pidfds away from the low fds that every vfork child
 * copies: best effort, the pidfd stays where it is if there is no room.
 * A pidfd below PIDFD_LOW_OK stays too: so few fds cost the copy nothing,
 * and an idle daemon saves the two syscalls. The base comes from the
 * RLIMIT_NOFILE seen at the first call (main() has raised it by then).
 */
#define PIDFD_LOW_OK 64

static int
pidfd_move_high(int pidfd)
{
	static int base = -1;
	int fd;

	if (base < 0) {
		struct rlimit rl;

		base = 0;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
			base = rl.rlim_cur >= 2 * PIDFD_HIGH_BASE ? PIDFD_HIGH_BASE
								  : (int)(rl.rlim_cur / 2);
	}
	if (pidfd < PIDFD_LOW_OK || pidfd >= base || base < PIDFD_LOW_OK)
		return pidfd;
	fd = fcntl(pidfd, F_DUPFD_CLOEXEC, base);
	if (fd < 0)
		return pidfd;
	(void)safe_close(pidfd);
	return fd;
}

/* start_vfork(): no spawner thread to be had, nothing was taken; fork instead. */
#define START_USE_FORK 1

/*
 * How long the loop waits for a handshake before it logs (and waits on).
 * The handshake normally takes as long as a fork, well under a millisecond.
 */
#define HANDSHAKE_STALL_MS 5000u

/*
 * The errno with which the system refused clone(CLONE_VM | CLONE_VFORK),
 * or 0. Set once, by the loop thread: from then on every spawn forks.
 */
static int clone_vm_refused;

/*
 * Whether a clone() errno means that this system will never let us
 * clone(CLONE_VM | CLONE_VFORK | ...): EPERM or ENOSYS from a seccomp
 * profile (container runtimes, systemd's SystemCallFilter=), EINVAL from
 * an emulator such as qemu-user, which cannot do CLONE_VM without
 * CLONE_THREAD, or from a kernel without CLONE_PIDFD (< 5.2). glibc's
 * posix_spawn and CPython fall back to fork for the same reasons
 * (bpo-47151). EAGAIN and ENOMEM are transient and fail only that spawn.
 */
static bool
clone_errno_is_permanent(int err)
{
	return err == EINVAL || err == ENOSYS || err == EPERM;
}

/*
 * Start a child through a spawner thread. Returns 0, -errno, or
 * START_USE_FORK with sp as it was (before taking anything from it, or
 * after giving it back when clone() was refused for good).
 */
static int
start_vfork(struct spawn_prepared *sp, int wfd, pid_t *ret_pid, int *ret_pidfd)
{
	struct vfork_job *job;
	struct spawner *w;
	uint32_t state;

	pool_collect();
	job = calloc(1, sizeof(*job));
	if (!job)
		return START_USE_FORK;
	w = spawner_get();
	if (!w) {
		free(job);
		return START_USE_FORK;
	}

	/* Take the plan and its arrays: the child reads them after we return. */
	job->prep = *sp;
	*sp = (struct spawn_prepared){.plan = {.errpipe = -EBADF}};
	job->prep.plan.errpipe = wfd;
	job->pidfd = -EBADF;
	job->start = (struct child_clone_start){
		.plan = &job->prep.plan,
		.keep_fds_below = fds_needed_below(&job->prep.plan),
		.handshake = &job->state,
		.pid = &job->pid,
	};

	/* Release: the spawner must see the whole job. */
	w->job = job;
	__atomic_store_n(&w->go, 1, __ATOMIC_RELEASE);
	futex_wake(&w->go);

	/*
	 * Wait for the handshake (child_exec.h). It comes right after clone()
	 * and the child's fd-table copy, before the child touches any file
	 * system, so this wait is as short and as bounded as fork() itself.
	 * Until it comes the child shares our fd table: the caller must not
	 * close the received fds, nor we the errpipe, before it.
	 */
	state = spawn_handshake_wait(&job->state, HANDSHAKE_STALL_MS);

	/* The job stays allocated until our next pool_collect(): reading it is safe. */
	if (state == JOB_FAILED && clone_errno_is_permanent(job->err)) {
		/*
		 * No child ran, so nothing read the plan; the spawner no longer
		 * touches job->prep (only job->next, as it hands the job back).
		 * Give the plan back for start_fork().
		 */
		clone_vm_refused = job->err;
		spawn_log(LOG_WARNING,
			  "clone(CLONE_VM|CLONE_VFORK) is not allowed here (%s); the vfork engine "
			  "falls back to fork for this and every later spawn",
			  strerror(job->err));
		*sp = job->prep;
		job->prep = (struct spawn_prepared){.plan = {.errpipe = -EBADF}};
		sp->plan.errpipe = -EBADF;
		return START_USE_FORK;
	}
	if (state == JOB_FAILED)
		return -job->err;
	*ret_pid = __atomic_load_n(&job->pid, __ATOMIC_RELAXED);
	*ret_pidfd = pidfd_move_high(job->pidfd);
	return 0;
}

int
spawn_start(struct spawn_prepared *sp, enum spawn_engine engine, pid_t *ret_pid, int *ret_pidfd,
	    int *ret_errpipe)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	int pipefd[2], pidfd = -EBADF, r;
	pid_t pid = 0;

	if (!sp || !ret_pid || !ret_pidfd || !ret_errpipe)
		return -EINVAL;
	if (engine != SPAWN_ENGINE_FORK && engine != SPAWN_ENGINE_VFORK)
		return -EINVAL;
#ifdef SPAWND_FORCE_FORK
	engine = SPAWN_ENGINE_FORK;
#endif

	/*
	 * Both ends O_NONBLOCK in one call: the parent's read end must not
	 * block the loop, and the child's single 8-byte write into an empty
	 * pipe can never see EAGAIN.
	 */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	rfd = pipefd[0];
	wfd = pipefd[1];

	if (spawn_signals_to_reset(&sp->plan.reset_signals) < 0)
		sp->plan.reset_signals = UINT64_MAX;

	r = START_USE_FORK;
	if (engine == SPAWN_ENGINE_VFORK && !clone_vm_refused)
		r = start_vfork(sp, wfd, &pid, &pidfd);
	if (r == START_USE_FORK)
		r = start_fork(sp, wfd, &pid, &pidfd);
	/* Only the child may hold the write end, or EOF would never come. */
	wfd = safe_close(wfd);
	if (r < 0) {
		*ret_pid = pid; /* 0, or a child killed untracked */
		return r;
	}

	*ret_pid = pid;
	*ret_pidfd = pidfd;
	*ret_errpipe = TAKE_FD(rfd);
	return 0;
}

int
spawn_read_report(int errpipe, struct child_report *ret)
{
	struct child_report rep;
	ssize_t n;

	do
		n = read(errpipe, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	/* The child writes the record with one atomic write: half is garbage. */
	if ((size_t)n != sizeof(rep))
		return -EBADMSG;
	if (ret)
		*ret = rep;
	return 1;
}
