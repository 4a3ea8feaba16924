/* SPDX-License-Identifier: MIT */
/*
 * libspawnd against a scripted fake daemon, and (`check_client daemon`,
 * at the end of this file) its synchronous calls against the real daemon
 * of tests/integration's harness. The fake binds a real
 * SOCK_SEQPACKET socket in a mkdtemp directory (a socketpair cannot be
 * reached with connect()), accepts the library's connection in the same
 * process, reads requests with wire_recv/wire_request_unpack and answers
 * with wire_pack/wire_send. Unix sockets deliver synchronously, so a reply
 * sent by the fake is readable by spawnd_client_process() at once, and a
 * reply queued before a synchronous call is found by that call.
 *
 * Every test runs in its own process (check's CK_FORK).
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "spawnd/spawnd.h"
#include "wire.h"

#define SEC 1000000u

struct fake {
	char dir[64];
	char path[128];
	int listen_fd;
	int conn_fd;
	spawnd_client *c;
	spawnd_options *o;
};

static struct fake f;

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void
fake_listen(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(f.dir, "/tmp/check-client-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f.dir));
	snprintf(f.path, sizeof(f.path), "%s/sock", f.dir);
	strcpy(sa.sun_path, f.path);
	f.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(f.listen_fd, 0);
	ck_assert_int_eq(bind(f.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f.listen_fd, 16), 0);
}

/* The connection is queued in the backlog after connect, so accept never blocks. */
static int
fake_accept(void)
{
	int fd = accept4(f.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
setup(void)
{
	const char *argv[] = {"/bin/true", NULL};

	f.conn_fd = -1;
	fake_listen();
	ck_assert_int_eq(spawnd_client_open(&f.c, f.path, 0), 0);
	f.conn_fd = fake_accept();
	ck_assert_int_eq(spawnd_options_new(&f.o), 0);
	ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
}

static void
teardown(void)
{
	f.c = spawnd_client_close(f.c);
	f.o = spawnd_options_free(f.o);
	if (f.conn_fd >= 0)
		close(f.conn_fd);
	close(f.listen_fd);
	unlink(f.path);
	rmdir(f.dir);
}

/* Receive one request on the fake's side (waits up to a second). */
static Spawnd__V1__Request *
fake_recv(int *fds, size_t *n_fds)
{
	static uint8_t buf[SPAWND_MAX_MESSAGE_BYTES + 1];
	struct pollfd p = {.fd = f.conn_fd, .events = POLLIN};
	Spawnd__V1__Request *req = NULL;
	int dummy[SPAWND_MAX_FDS];
	size_t len = 0, n = 0;

	ck_assert_int_eq(poll(&p, 1, 1000), 1);
	ck_assert_int_eq(wire_recv(f.conn_fd, buf, sizeof(buf), &len, fds ? fds : dummy, &n), 1);
	if (!fds)
		wire_close_fds(dummy, n);
	if (n_fds)
		*n_fds = n;
	ck_assert_int_eq(wire_request_unpack(buf, len, &req), 0);
	return req;
}

static void
fake_send_fds(Spawnd__V1__Reply *m, const int *fds, size_t n_fds)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	m->version = SPAWND_PROTOCOL_VERSION;
	ck_assert_int_eq(wire_pack(&m->base, &buf, &len), 0);
	ck_assert_int_eq(wire_send(f.conn_fd, buf, len, fds, n_fds), 0);
	free(buf);
}

static void
fake_started(uint64_t id, int pid)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Started s = SPAWND__V1__STARTED__INIT;

	s.pid = pid;
	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_STARTED;
	m.started = &s;
	fake_send_fds(&m, NULL, 0);
}

/* Started that announces a pidfd (or not: announce 0) and carries n_fds fds. */
static void
fake_started_fds(uint64_t id, int pid, int announce, const int *fds, size_t n_fds)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Started s = SPAWND__V1__STARTED__INIT;

	s.pid = pid;
	if (announce) {
		s.has_pidfd = true;
		s.pidfd = true;
	}
	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_STARTED;
	m.started = &s;
	fake_send_fds(&m, fds, n_fds);
}

static void
fake_failed(uint64_t id, Spawnd__V1__Stage stage, int errnum, const char *detail)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Failed fl = SPAWND__V1__FAILED__INIT;

	fl.stage = stage;
	fl.errnum = errnum;
	fl.detail = (char *)detail;
	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_FAILED;
	m.failed = &fl;
	fake_send_fds(&m, NULL, 0);
}

/* signo 0: exited with code; else killed by signo. */
static void
fake_exited(uint64_t id, int pid, int code, int signo)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Exited e = SPAWND__V1__EXITED__INIT;

	e.pid = pid;
	if (signo) {
		e.has_signal = true;
		e.signal = signo;
		e.has_core_dumped = true;
		e.core_dumped = true;
	} else {
		e.has_exit_code = true;
		e.exit_code = code;
	}
	e.has_user_cpu_us = true;
	e.user_cpu_us = 1111;
	e.has_sys_cpu_us = true;
	e.sys_cpu_us = 2222;
	e.has_max_rss_kb = true;
	e.max_rss_kb = 3333;
	e.has_wall_us = true;
	e.wall_us = 4444;
	e.has_timed_out = true;
	e.timed_out = signo == SIGKILL;
	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_EXITED;
	m.exited = &e;
	fake_send_fds(&m, NULL, 0);
}

static void
fake_signal_sent(uint64_t id)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__SignalSent s = SPAWND__V1__SIGNAL_SENT__INIT;

	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_SIGNAL_SENT;
	m.signal_sent = &s;
	fake_send_fds(&m, NULL, 0);
}

static void
assert_bytes(ProtobufCBinaryData b, const char *s)
{
	ck_assert_uint_eq(b.len, strlen(s));
	ck_assert_mem_eq(b.data, s, b.len);
}

static void
assert_same_file(int a, int b)
{
	struct stat sa, sb;

	ck_assert_int_eq(fstat(a, &sa), 0);
	ck_assert_int_eq(fstat(b, &sb), 0);
	ck_assert_uint_eq(sa.st_dev, sb.st_dev);
	ck_assert_uint_eq(sa.st_ino, sb.st_ino);
}

/* ---- callbacks recorded in order ---- */

struct event {
	int tag; /* the userdata */
	spawnd_state state;
	uint64_t id;
	pid_t pid;
	spawnd_stage stage;
	int errnum;
	char detail[64];
	int exit_code;
	int signo;
};

static struct event events[64];
static size_t n_events;

static void
record_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct event *e = &events[n_events++];

	(void)c;
	ck_assert_uint_lt(n_events, 64);
	e->tag = (int)(intptr_t)userdata;
	e->state = spawnd_result_get_state(r);
	e->id = spawnd_result_get_id(r);
	e->pid = spawnd_result_get_pid(r);
	e->stage = spawnd_result_get_stage(r);
	e->errnum = spawnd_result_get_errno(r);
	snprintf(e->detail, sizeof(e->detail), "%s", spawnd_result_get_detail(r));
	e->exit_code = spawnd_result_get_exit_code(r);
	e->signo = spawnd_result_get_signal(r);
}

/* ---- tests ---- */

START_TEST(test_options_validation)
{
	spawnd_options *o;
	const char *empty[] = {NULL};
	const char *empty0[] = {"", NULL};
	const char *ok[] = {"ls", NULL};

	ck_assert_int_eq(spawnd_options_new(NULL), -EINVAL);
	ck_assert_int_eq(spawnd_options_new(&o), 0);
	ck_assert_int_eq(spawnd_options_set_argv(o, NULL), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_argv(o, (char *const *)empty), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_argv(o, (char *const *)empty0), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_argv(o, (char *const *)ok), 0);

	ck_assert_int_eq(spawnd_options_add_fd(o, -1, 0), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_fd(o, 1024, 0), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_fd(o, 0, -1), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_fd(o, 1023, 0), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 1023, 1), -EINVAL); /* mapped twice */
	for (int i = 0; i < 63; i++)
		ck_assert_int_eq(spawnd_options_add_fd(o, i, 0), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 100, 0), -E2BIG);

	ck_assert_int_eq(spawnd_options_setenv(o, "NOEQUALS"), -EINVAL);
	ck_assert_int_eq(spawnd_options_setenv(o, "=value"), -EINVAL);
	ck_assert_int_eq(spawnd_options_setenv(o, NULL), -EINVAL);
	ck_assert_int_eq(spawnd_options_setenv(o, "A="), 0);
	ck_assert_int_eq(spawnd_options_add_inherited_env(o, "X"), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_cwd(o, "relative"), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_cwd(o, "/abs"), 0);
	ck_assert_int_eq(spawnd_options_set_umask(o, 01000), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_umask(o, 0777), 0);
	ck_assert_int_eq(spawnd_options_set_user(o, ""), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_group(o, ""), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_no_groups(NULL, 1), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_executable(NULL, "/bin/sh"), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_executable(o, ""), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_executable(o, "bin/sh"), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_executable(o, "sh"), 0);
	ck_assert_int_eq(spawnd_options_set_executable(o, "/bin/sh"), 0);
	ck_assert_int_eq(spawnd_options_set_timeout(o, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_keep(NULL, 1), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(NULL, SPAWND_ON_DISCONNECT_KEEP),
			 -EINVAL);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(o, (spawnd_on_disconnect)3), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(o, (spawnd_on_disconnect)-1), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_on_disconnect(o, SPAWND_ON_DISCONNECT_HANGUP), 0);
	ck_assert_int_eq(spawnd_options_set_kill_grace(NULL, 0), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_kill_grace(o, SPAWND_KILL_GRACE_MAX_USEC + 1), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_kill_grace(o, SPAWND_KILL_GRACE_MAX_USEC), 0);
	ck_assert_int_eq(spawnd_options_set_kill_grace(o, SPAWND_KILL_GRACE_DEFAULT), 0);
	ck_assert_int_eq(spawnd_options_set_want_pidfd(NULL, 1), -EINVAL);
	ck_assert_int_eq(spawnd_result_get_pidfd(NULL), -EINVAL);
	ck_assert_int_eq(spawnd_result_take_pidfd(NULL), -EINVAL);
	ck_assert_ptr_null(spawnd_options_free(o));
	ck_assert_ptr_null(spawnd_options_free(NULL));
}
END_TEST

START_TEST(test_open_errors)
{
	spawnd_client *c = NULL;
	char longpath[200];
	spawnd_options *noargv;

	ck_assert_int_eq(spawnd_client_open(&c, f.path, 1), -EINVAL);
	ck_assert_int_eq(spawnd_client_open(NULL, f.path, 0), -EINVAL);
	ck_assert_int_eq(spawnd_client_open(&c, "/nonexistent/spawnd.sock", 0), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(spawnd_client_open(&c, longpath, 0), -ENAMETOOLONG);
	ck_assert_ptr_null(c);

	/* NULL path: $SPAWND_SOCKET. */
	ck_assert_int_eq(setenv("SPAWND_SOCKET", f.path, 1), 0);
	ck_assert_int_eq(spawnd_client_open(&c, NULL, 0), 0);
	ck_assert_int_ge(spawnd_client_get_fd(c), 0);
	ck_assert_int_eq(spawnd_client_get_events(c), POLLIN);
	ck_assert_int_eq(fcntl(spawnd_client_get_fd(c), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(spawnd_client_get_fd(c), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ck_assert_ptr_null(spawnd_client_close(c));
	ck_assert_ptr_null(spawnd_client_close(NULL));

	/* A spawn needs argv. */
	ck_assert_int_eq(spawnd_options_new(&noargv), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, noargv, NULL, NULL, NULL), -EINVAL);
	spawnd_options_free(noargv);
	ck_assert_int_eq(spawnd_spawn_async(NULL, f.o, NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_request_defaults)
{
	const char *argv[] = {"/bin/echo", "hello", "w\xc3\xb6rld", NULL};
	char tmp[128];
	int p[2], file, fds[SPAWND_MAX_FDS];
	size_t n_fds = 0;
	uint64_t id = 0;
	Spawnd__V1__Request *req;
	Spawnd__V1__Spawn *sp;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	snprintf(tmp, sizeof(tmp), "%s/file", f.dir);
	file = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(file, 0);

	ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
	ck_assert_int_eq(spawnd_options_add_fd(f.o, 1, p[1]), 0);
	ck_assert_int_eq(spawnd_options_add_fd(f.o, 5, file), 0);
	ck_assert_int_eq(spawnd_options_add_inherited_env(f.o, "TERM=xterm"), 0);
	ck_assert_int_eq(spawnd_options_setenv(f.o, "FOO=bar"), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	ck_assert_uint_eq(id, 1);

	req = fake_recv(fds, &n_fds);
	ck_assert_uint_eq(req->version, SPAWND_PROTOCOL_VERSION);
	ck_assert_uint_eq(req->id, 1);
	ck_assert_int_eq(req->body_case, SPAWND__V1__REQUEST__BODY_SPAWN);
	sp = req->spawn;
	ck_assert_uint_eq(sp->n_argv, 3);
	assert_bytes(sp->argv[0], "/bin/echo");
	assert_bytes(sp->argv[1], "hello");
	assert_bytes(sp->argv[2], "w\xc3\xb6rld");
	ck_assert(sp->has_user);
	assert_bytes(sp->user, "root");
	ck_assert(!sp->has_group);
	ck_assert_uint_eq(sp->n_groups, 0);
	ck_assert(!sp->has_cwd);
	ck_assert(!sp->has_umask);
	ck_assert(!sp->has_on_disconnect);
	ck_assert(!sp->has_timeout_ms);
	ck_assert(!sp->has_kill_grace_ms);
	ck_assert(!sp->has_want_pidfd);
	ck_assert(!sp->has_exec_path);
	ck_assert(!sp->has_no_groups);

	/* The fds arrive in option order and are the very same files. */
	ck_assert_uint_eq(n_fds, 2);
	ck_assert_uint_eq(sp->n_fds, 2);
	ck_assert_uint_eq(sp->fds[0]->index, 0);
	ck_assert_uint_eq(sp->fds[0]->target, 1);
	ck_assert_uint_eq(sp->fds[1]->index, 1);
	ck_assert_uint_eq(sp->fds[1]->target, 5);
	assert_same_file(fds[0], p[1]);
	assert_same_file(fds[1], file);
	ck_assert_int_eq(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	ck_assert_uint_eq(sp->n_env_inherit, 1);
	assert_bytes(sp->env_inherit[0], "TERM=xterm");
	ck_assert_uint_eq(sp->n_env_set, 1);
	assert_bytes(sp->env_set[0], "FOO=bar");

	wire_close_fds(fds, n_fds);
	wire_request_free(req);
	close(p[0]);
	close(p[1]);
	close(file);
	unlink(tmp);
}
END_TEST

START_TEST(test_request_all_options)
{
	char e1[] = "A=1", e2[] = "BAD", e3[] = "A=2", e4[] = "=x", e5[] = "B=2";
	char *envp[] = {e1, e2, e3, e4, e5, NULL};
	uint64_t id = 0;
	Spawnd__V1__Request *req;
	Spawnd__V1__Spawn *sp;

	/* Ids increase from 1 over requests on one connection. */
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	ck_assert_uint_eq(id, 1);
	wire_request_free(fake_recv(NULL, NULL));

	ck_assert_int_eq(spawnd_options_set_user(f.o, "nobody"), 0);
	ck_assert_int_eq(spawnd_options_set_group(f.o, "nogroup"), 0);
	ck_assert_int_eq(spawnd_options_add_group(f.o, "adm"), 0);
	ck_assert_int_eq(spawnd_options_add_group(f.o, "42"), 0);
	ck_assert_int_eq(spawnd_options_set_cwd(f.o, "/tmp"), 0);
	ck_assert_int_eq(spawnd_options_set_umask(f.o, 077), 0);
	ck_assert_int_eq(spawnd_options_set_keep(f.o, 1), 0);
	ck_assert_int_eq(spawnd_options_set_timeout(f.o, 1500), 0);
	ck_assert_int_eq(spawnd_options_inherit_environ(f.o, envp), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	ck_assert_uint_eq(id, 2);

	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->id, 2);
	sp = req->spawn;
	assert_bytes(sp->user, "nobody");
	ck_assert(sp->has_group);
	assert_bytes(sp->group, "nogroup");
	ck_assert_uint_eq(sp->n_groups, 2);
	assert_bytes(sp->groups[0], "adm");
	assert_bytes(sp->groups[1], "42");
	ck_assert(sp->has_cwd);
	assert_bytes(sp->cwd, "/tmp");
	ck_assert(sp->has_umask);
	ck_assert_uint_eq(sp->umask, 077);
	ck_assert(sp->has_on_disconnect);
	ck_assert_int_eq(sp->on_disconnect, SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_KEEP);
	ck_assert(sp->has_timeout_ms);
	ck_assert_uint_eq(sp->timeout_ms, 2); /* 1.5 ms rounds up */
	/* Malformed and repeated entries of environ are skipped; the first wins. */
	ck_assert_uint_eq(sp->n_env_inherit, 2);
	assert_bytes(sp->env_inherit[0], "A=1");
	assert_bytes(sp->env_inherit[1], "B=2");
	ck_assert_uint_eq(sp->n_fds, 0);
	ck_assert(!sp->has_kill_grace_ms);
	ck_assert(!sp->has_want_pidfd);
	wire_request_free(req);

	/* Lifecycle options: hangup, a kill grace (rounded up to ms), a pidfd. */
	ck_assert_int_eq(spawnd_options_set_on_disconnect(f.o, SPAWND_ON_DISCONNECT_HANGUP), 0);
	ck_assert_int_eq(spawnd_options_set_kill_grace(f.o, 1001), 0);
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, 1), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	sp = req->spawn;
	ck_assert(sp->has_on_disconnect);
	ck_assert_int_eq(sp->on_disconnect, SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_HANGUP);
	ck_assert(sp->has_kill_grace_ms);
	ck_assert_uint_eq(sp->kill_grace_ms, 2);
	ck_assert(sp->has_want_pidfd && sp->want_pidfd);
	wire_request_free(req);

	/* 0 is a real grace; the default is not sent; set_keep(0) means terminate. */
	ck_assert_int_eq(spawnd_options_set_kill_grace(f.o, 0), 0);
	ck_assert_int_eq(spawnd_options_set_keep(f.o, 0), 0);
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, 0), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(req->spawn->has_kill_grace_ms);
	ck_assert_uint_eq(req->spawn->kill_grace_ms, 0);
	ck_assert(!req->spawn->has_on_disconnect);
	ck_assert(!req->spawn->has_want_pidfd);
	wire_request_free(req);
	ck_assert_int_eq(spawnd_options_set_kill_grace(f.o, SPAWND_KILL_GRACE_DEFAULT), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(!req->spawn->has_kill_grace_ms);
	wire_request_free(req);
}
END_TEST

/* exec_path and no_groups: sent only when set; NULL and 0 restore the defaults. */
START_TEST(test_request_executable_no_groups)
{
	const char *argv[] = {"-sh", "-c", "true", NULL};
	uint64_t id = 0;
	Spawnd__V1__Request *req;
	Spawnd__V1__Spawn *sp;

	ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
	ck_assert_int_eq(spawnd_options_set_executable(f.o, "/bin/sh"), 0);
	ck_assert_int_eq(spawnd_options_add_group(f.o, "adm"), 0);
	ck_assert_int_eq(spawnd_options_set_no_groups(f.o, 1), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	sp = req->spawn;
	ck_assert_uint_eq(sp->n_argv, 3);
	assert_bytes(sp->argv[0], "-sh"); /* argv[0] goes as the caller chose it */
	ck_assert(sp->has_exec_path);
	assert_bytes(sp->exec_path, "/bin/sh");
	/* no_groups forgets the groups added before it. */
	ck_assert(sp->has_no_groups && sp->no_groups);
	ck_assert_uint_eq(sp->n_groups, 0);
	wire_request_free(req);

	/* A group added afterwards starts a list again. */
	ck_assert_int_eq(spawnd_options_add_group(f.o, "42"), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	sp = req->spawn;
	ck_assert(!sp->has_no_groups);
	ck_assert_uint_eq(sp->n_groups, 1);
	assert_bytes(sp->groups[0], "42");
	wire_request_free(req);

	ck_assert_int_eq(spawnd_options_set_executable(f.o, NULL), 0);
	ck_assert_int_eq(spawnd_options_set_no_groups(f.o, 1), 0);
	ck_assert_int_eq(spawnd_options_set_no_groups(f.o, 0), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(!req->spawn->has_exec_path);
	ck_assert(!req->spawn->has_no_groups);
	ck_assert_uint_eq(req->spawn->n_groups, 0);
	wire_request_free(req);
}
END_TEST

START_TEST(test_dispatch_interleaved)
{
	uint64_t id;

	n_events = 0;
	for (intptr_t tag = 1; tag <= 3; tag++) {
		ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, (void *)tag, &id), 0);
		ck_assert_uint_eq(id, (uint64_t)tag);
		wire_request_free(fake_recv(NULL, NULL));
	}
	ck_assert_int_eq(spawnd_client_process(f.c), 0);

	fake_started(2, 202);
	fake_started(1, 101);
	fake_failed(3, SPAWND__V1__STAGE__STAGE_CHDIR, EACCES, "/root");
	fake_exited(1, 101, 3, 0);
	fake_started(99, 999); /* an id nobody asked for is ignored */
	fake_exited(2, 202, 0, SIGKILL);
	ck_assert_int_eq(spawnd_client_process(f.c), 5);

	ck_assert_uint_eq(n_events, 5);
	ck_assert_int_eq(events[0].tag, 2);
	ck_assert_int_eq(events[0].state, SPAWND_STATE_STARTED);
	ck_assert_uint_eq(events[0].id, 2);
	ck_assert_int_eq(events[0].pid, 202);
	ck_assert_int_eq(events[0].exit_code, -1);
	ck_assert_int_eq(events[0].stage, SPAWND_STAGE_UNKNOWN);

	ck_assert_int_eq(events[1].tag, 1);
	ck_assert_int_eq(events[1].state, SPAWND_STATE_STARTED);
	ck_assert_int_eq(events[1].pid, 101);

	ck_assert_int_eq(events[2].tag, 3);
	ck_assert_int_eq(events[2].state, SPAWND_STATE_FAILED);
	ck_assert_uint_eq(events[2].id, 3);
	ck_assert_int_eq(events[2].pid, -1);
	ck_assert_int_eq(events[2].stage, SPAWND_STAGE_CHDIR);
	ck_assert_int_eq(events[2].errnum, EACCES);
	ck_assert_str_eq(events[2].detail, "/root");

	ck_assert_int_eq(events[3].tag, 1);
	ck_assert_int_eq(events[3].state, SPAWND_STATE_EXITED);
	ck_assert_int_eq(events[3].pid, 101);
	ck_assert_int_eq(events[3].exit_code, 3);
	ck_assert_int_eq(events[3].signo, 0);
	ck_assert_int_eq(events[3].errnum, 0);
	ck_assert_str_eq(events[3].detail, "");

	ck_assert_int_eq(events[4].tag, 2);
	ck_assert_int_eq(events[4].state, SPAWND_STATE_EXITED);
	ck_assert_int_eq(events[4].exit_code, -1);
	ck_assert_int_eq(events[4].signo, SIGKILL);

	/* Callback spawns are forgotten after their final reply. */
	ck_assert_int_eq(spawnd_signal_async(f.c, 1, SIGTERM, 0), -ESRCH);
	{
		spawnd_result *r = NULL;

		ck_assert_int_eq(spawnd_wait(f.c, 1, 0, &r), -ESRCH);
	}
}
END_TEST

static spawnd_result *saved;

static void
save_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	(void)c;
	(void)userdata;
	if (spawnd_result_get_state(r) == SPAWND_STATE_EXITED)
		saved = spawnd_result_dup(r);
}

START_TEST(test_result_getters)
{
	const spawnd_result *nil = NULL;

	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, save_cb, NULL, NULL), 0);
	fake_started(1, 77);
	fake_exited(1, 77, 0, SIGKILL);
	ck_assert_int_eq(spawnd_client_process(f.c), 2);
	ck_assert_ptr_nonnull(saved);
	ck_assert_uint_eq(spawnd_result_get_id(saved), 1);
	ck_assert_int_eq(spawnd_result_get_pid(saved), 77);
	ck_assert_int_eq(spawnd_result_get_signal(saved), SIGKILL);
	ck_assert_int_eq(spawnd_result_get_core_dumped(saved), 1);
	ck_assert_int_eq(spawnd_result_get_timed_out(saved), 1);
	ck_assert_uint_eq(spawnd_result_get_user_cpu_usec(saved), 1111);
	ck_assert_uint_eq(spawnd_result_get_sys_cpu_usec(saved), 2222);
	ck_assert_uint_eq(spawnd_result_get_max_rss_kb(saved), 3333);
	ck_assert_uint_eq(spawnd_result_get_wall_usec(saved), 4444);
	ck_assert_int_eq(spawnd_result_get_stage(saved), SPAWND_STAGE_UNKNOWN);
	ck_assert_str_eq(spawnd_result_get_detail(saved), "");
	saved = spawnd_result_free(saved);
	ck_assert_ptr_null(spawnd_result_free(NULL));
	ck_assert_ptr_null(spawnd_result_dup(NULL));
	ck_assert_int_eq(spawnd_result_get_pid(nil), -1);

	ck_assert_str_eq(spawnd_stage_to_string(SPAWND_STAGE_DECODE), "decode");
	ck_assert_str_eq(spawnd_stage_to_string(SPAWND_STAGE_FD_SETUP), "fd setup");
	ck_assert_str_eq(spawnd_stage_to_string(SPAWND_STAGE_OOM_ADJ), "oom_score_adj");
	ck_assert_str_eq(spawnd_stage_to_string(SPAWND_STAGE_CLOSE_FDS), "close fds");
	ck_assert_str_eq(spawnd_stage_to_string(SPAWND_STAGE_PROTOCOL), "protocol");
	ck_assert_str_eq(spawnd_stage_to_string((spawnd_stage)99), "unknown");
	for (int s = 0; s <= SPAWND_STAGE_PROTOCOL; s++)
		ck_assert_ptr_nonnull(spawnd_stage_to_string((spawnd_stage)s));
	ck_assert_uint_ne(spawnd_version(), 0);
}
END_TEST

START_TEST(test_e2big)
{
	const size_t big = 100 * 1024;
	char *a = malloc(big + 1);
	const char *argv[] = {"/bin/echo", a, a, NULL};
	uint64_t id = 0;
	Spawnd__V1__Request *req;

	ck_assert_ptr_nonnull(a);
	memset(a, 'x', big);
	a[big] = '\0';
	ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), -E2BIG);
	ck_assert_uint_eq(id, 0);
	free(a);

	/* Nothing was sent, and the connection is still fine. */
	argv[1] = argv[2] = NULL;
	ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->id, id);
	ck_assert_uint_eq(req->spawn->n_argv, 1);
	wire_request_free(req);
}
END_TEST

START_TEST(test_econnreset)
{
	spawnd_result *r = NULL;

	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, (void *)1, NULL), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, (void *)2, NULL), 0);
	fake_started(1, 11);
	close(f.conn_fd);
	f.conn_fd = -1;

	ck_assert_int_eq(spawnd_client_process(f.c), -ECONNRESET);
	ck_assert_uint_eq(n_events, 3);
	ck_assert_int_eq(events[0].state, SPAWND_STATE_STARTED);
	for (size_t i = 1; i < 3; i++) {
		ck_assert_int_eq(events[i].state, SPAWND_STATE_FAILED);
		ck_assert_int_eq(events[i].stage, SPAWND_STAGE_PROTOCOL);
		ck_assert_int_eq(events[i].errnum, ECONNRESET);
	}
	ck_assert(events[1].tag != events[2].tag);

	/* The handle stays usable only for saying so. */
	ck_assert_int_eq(spawnd_client_process(f.c), -ECONNRESET);
	ck_assert_int_eq(spawnd_client_wait(f.c, SEC), -ECONNRESET);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), -ECONNRESET);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), -ECONNRESET);
	ck_assert_uint_eq(n_events, 3);
}
END_TEST

START_TEST(test_sync_spawn_wait)
{
	spawnd_result *r = NULL;
	Spawnd__V1__Request *req;

	/* Both replies wait in the socket before the call: Exited arrives early. */
	fake_started(1, 4242);
	fake_exited(1, 4242, 7, 0);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_STARTED);
	ck_assert_int_eq(spawnd_result_get_pid(r), 4242);
	ck_assert_uint_eq(spawnd_result_get_id(r), 1);
	r = spawnd_result_free(r);
	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->id, 1);
	wire_request_free(req);

	ck_assert_int_eq(spawnd_wait(f.c, 1, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 7);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait(f.c, 1, SEC, &r), -ESRCH);

	/* A failure is a result, collected by spawnd_spawn itself. */
	fake_failed(2, SPAWND__V1__STAGE__STAGE_RESOLVE, ENOENT, "nope");
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_RESOLVE);
	ck_assert_int_eq(spawnd_result_get_errno(r), ENOENT);
	ck_assert_str_eq(spawnd_result_get_detail(r), "nope");
	ck_assert_int_eq(spawnd_result_get_pid(r), -1);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait(f.c, 2, SEC, &r), -ESRCH);
	wire_request_free(fake_recv(NULL, NULL));

	/* Exit arriving while nobody waits is kept for a later spawnd_wait. */
	fake_started(3, 33);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
	r = spawnd_result_free(r);
	fake_exited(3, 33, 0, 0);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_int_eq(spawnd_wait(f.c, 3, 0, &r), 0);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 0);
	r = spawnd_result_free(r);
}
END_TEST

START_TEST(test_sync_timeout)
{
	spawnd_result *r = NULL;
	struct timespec a, b;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, 50000, &r), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 49);
	ck_assert_int_lt(ms, 1000);
	ck_assert_ptr_null(r);
	/* The abandoned spawn's late replies are absorbed silently. */
	fake_started(1, 5);
	fake_exited(1, 5, 0, 0);
	ck_assert_int_eq(spawnd_client_process(f.c), 2);
	ck_assert_int_eq(spawnd_wait(f.c, 1, 0, &r), -ESRCH);
}
END_TEST

static void
on_alarm(int sig)
{
	(void)sig;
}

START_TEST(test_wait_eintr)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	struct itimerval it = {.it_value = {.tv_usec = 50000}};

	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	ck_assert_int_eq(spawnd_client_wait(f.c, 5 * SEC), -EINTR);
	ck_assert_int_eq(spawnd_client_wait(f.c, 1000), -ETIMEDOUT);
}
END_TEST

START_TEST(test_signal)
{
	Spawnd__V1__Request *req;
	uint64_t id;

	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	fake_started(id, 10);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);

	ck_assert_int_eq(spawnd_signal_async(f.c, id, 0, 0), -EINVAL);
	ck_assert_int_eq(spawnd_signal_async(f.c, id, 100000, 0), -EINVAL);
	ck_assert_int_eq(spawnd_signal_async(f.c, 12345, SIGTERM, 0), -ESRCH);

	/* The answer (id 2) is queued before the synchronous call. */
	fake_signal_sent(2);
	ck_assert_int_eq(spawnd_signal(f.c, id, SIGTERM, 0, SEC), 0);
	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->id, 2);
	ck_assert_int_eq(req->body_case, SPAWND__V1__REQUEST__BODY_SIGNAL);
	ck_assert_uint_eq(req->signal->spawn_id, id);
	ck_assert_int_eq(req->signal->signo, SIGTERM);
	ck_assert(!req->signal->has_process_group || !req->signal->process_group);
	wire_request_free(req);

	fake_failed(3, SPAWND__V1__STAGE__STAGE_SIGNAL, ESRCH, NULL);
	ck_assert_int_eq(spawnd_signal(f.c, id, SIGUSR1, 1, SEC), -ESRCH);
	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->id, 3);
	ck_assert(req->signal->has_process_group && req->signal->process_group);
	wire_request_free(req);

	/* An async signal's answer goes nowhere; spawn callbacks do not see it. */
	ck_assert_int_eq(spawnd_signal_async(f.c, id, SIGHUP, 0), 0);
	wire_request_free(fake_recv(NULL, NULL));
	fake_signal_sent(4);
	ck_assert_int_eq(spawnd_client_process(f.c), 0);
	ck_assert_uint_eq(n_events, 1);

	/* A timed-out wait leaves nothing behind when the answer comes late. */
	ck_assert_int_eq(spawnd_signal(f.c, id, SIGHUP, 0, 1000), -ETIMEDOUT);
	fake_signal_sent(5);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_int_eq(spawnd_client_process(f.c), 0);
}
END_TEST

START_TEST(test_reply_with_fd_is_protocol_error)
{
	int base, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Started s = SPAWND__V1__STARTED__INIT;
	char buf[1];

	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, NULL), 0);
	base = count_fds();
	s.pid = 1;
	m.id = 1;
	m.body_case = SPAWND__V1__REPLY__BODY_STARTED;
	m.started = &s;
	fake_send_fds(&m, &devnull, 1);
	close(devnull);

	ck_assert_int_eq(spawnd_client_process(f.c), -EBADMSG);
	ck_assert_int_eq(count_fds(), base - 1); /* our devnull gone, nothing received kept */
	ck_assert_uint_eq(n_events, 1);
	ck_assert_int_eq(events[0].state, SPAWND_STATE_FAILED);
	ck_assert_int_eq(events[0].stage, SPAWND_STAGE_PROTOCOL);
	ck_assert_int_eq(events[0].errnum, EBADMSG);
	/* The library hung up, so the daemon sees EOF after our request. */
	wire_request_free(fake_recv(NULL, NULL));
	ck_assert_int_eq(recv(f.conn_fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
}
END_TEST

/* What a callback saw of the pidfd. */
static int cb_pidfd[4];
static int cb_pidfd_same[4];
static size_t n_cb_pidfd;
static int pidfd_reference = -1;

static void
pidfd_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	int fd = spawnd_result_get_pidfd(r);
	struct stat a, b;

	(void)c;
	(void)userdata;
	ck_assert_uint_lt(n_cb_pidfd, 4);
	cb_pidfd[n_cb_pidfd] = fd;
	cb_pidfd_same[n_cb_pidfd] = fd >= 0 && fstat(fd, &a) == 0 &&
				    fstat(pidfd_reference, &b) == 0 && a.st_ino == b.st_ino &&
				    a.st_dev == b.st_dev;
	n_cb_pidfd++;
}

/*
 * A Started that announces a pidfd and carries exactly one fd, for a spawn
 * that asked for it: the callbacks borrow the very file that was sent, and
 * the library closes its copy after the final callback.
 */
START_TEST(test_pidfd_callback)
{
	int p[2], base;
	uint64_t id;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pidfd_reference = p[0];
	n_cb_pidfd = 0;
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, 1), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, pidfd_cb, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	base = count_fds();

	fake_started_fds(id, 500, 1, &p[0], 1);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_uint_eq(n_cb_pidfd, 1);
	ck_assert_int_ge(cb_pidfd[0], 0);
	ck_assert(cb_pidfd_same[0]);
	ck_assert_int_ne(cb_pidfd[0], p[0]);
	ck_assert_int_eq(fcntl(cb_pidfd[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(count_fds(), base + 1);

	/* Still there for the exit; gone once the final callback returned. */
	fake_exited(id, 500, 0, 0);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_uint_eq(n_cb_pidfd, 2);
	ck_assert_int_eq(cb_pidfd[1], cb_pidfd[0]);
	ck_assert(cb_pidfd_same[1]);
	ck_assert_int_eq(count_fds(), base);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * The synchronous path hands the pidfd to the caller with the STARTED
 * result: get borrows, dup duplicates, take moves, free closes. A spawn that
 * asked for one but got a Started without it reads -ENODATA.
 */
START_TEST(test_pidfd_sync_ownership)
{
	spawnd_result *r = NULL, *copy;
	int p[2], base, fd, taken;
	struct stat a, b;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, 1), 0);
	base = count_fds();
	/* Started and Exited in one batch: the pidfd goes with the STARTED result. */
	fake_started_fds(1, 42, 1, &p[0], 1);
	fake_exited(1, 42, 0, 0);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
	wire_request_free(fake_recv(NULL, NULL));
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_STARTED);
	fd = spawnd_result_get_pidfd(r);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(p[0], &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(count_fds(), base + 1);

	copy = spawnd_result_dup(r);
	ck_assert_ptr_nonnull(copy);
	ck_assert_int_ge(spawnd_result_get_pidfd(copy), 0);
	ck_assert_int_ne(spawnd_result_get_pidfd(copy), fd);
	ck_assert_int_eq(count_fds(), base + 2);
	copy = spawnd_result_free(copy);
	ck_assert_int_eq(count_fds(), base + 1);

	taken = spawnd_result_take_pidfd(r);
	ck_assert_int_eq(taken, fd);
	ck_assert_int_eq(spawnd_result_get_pidfd(r), -ENODATA);
	ck_assert_int_eq(spawnd_result_take_pidfd(r), -ENODATA);
	r = spawnd_result_free(r);
	ck_assert_int_eq(fcntl(taken, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC); /* still ours */
	close(taken);

	/* The exit has no second copy of it. */
	ck_assert_int_eq(spawnd_wait(f.c, 1, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_pidfd(r), -ENODATA);
	r = spawnd_result_free(r);
	ck_assert_int_eq(count_fds(), base);

	/* Asked, but the daemon could not provide one. */
	fake_started(2, 43);
	ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
	wire_request_free(fake_recv(NULL, NULL));
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_STARTED);
	ck_assert_int_eq(spawnd_result_get_pidfd(r), -ENODATA);
	r = spawnd_result_free(r);

	/* A pidfd nobody took goes to spawnd_wait's result; closing the client frees the rest. */
	fake_started_fds(3, 44, 1, &p[0], 1);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	wire_request_free(fake_recv(NULL, NULL));
	fake_exited(3, 44, 0, 0);
	ck_assert_int_eq(spawnd_wait(f.c, 3, SEC, &r), 0);
	ck_assert_int_ge(spawnd_result_get_pidfd(r), 0);
	r = spawnd_result_free(r);
	fake_started_fds(4, 45, 1, &p[0], 1);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_int_eq(count_fds(), base + 1);
	f.c = spawnd_client_close(f.c);
	ck_assert_int_eq(count_fds(), base - 1); /* and the client's socket */
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Started announcing a pidfd and/or a pty master, carrying n_fds fds. */
static void
fake_started_pty(uint64_t id, int pid, bool pidfd, bool master, const int *fds, size_t n_fds)
{
	Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
	Spawnd__V1__Started s = SPAWND__V1__STARTED__INIT;

	s.pid = pid;
	s.has_pidfd = pidfd;
	s.pidfd = pidfd;
	s.has_pty_master = master;
	s.pty_master = master;
	m.id = id;
	m.body_case = SPAWND__V1__REPLY__BODY_STARTED;
	m.started = &s;
	fake_send_fds(&m, fds, n_fds);
}

/*
 * A pty: the request carries the size; Started's master (after the pidfd)
 * is borrowed or taken like the pidfd. Variants 2-5 are protocol errors:
 * a master nobody asked for, an announced master without its fd, a master
 * announced but two fds, a pidfd and a master announced but one fd.
 */
START_TEST(test_pty_master)
{
	const int variant = _i;
	Spawnd__V1__Request *req;
	spawnd_result *r = NULL;
	int p[2], two[2], base, fd;
	struct stat a, b;
	uint64_t id;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	two[0] = p[0];
	two[1] = p[1];
	ck_assert_int_eq(spawnd_options_set_pty(f.o, 1, 65536, 80), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_pty(NULL, 1, 24, 80), -EINVAL);
	if (variant != 2)
		ck_assert_int_eq(spawnd_options_set_pty(f.o, 1, 33, 101), 0);
	ck_assert_int_eq(spawnd_options_set_pty_pixels(f.o, 640, 480), 0);
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, variant == 1 || variant == 5), 0);
	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, &id), 0);
	req = fake_recv(NULL, NULL);
	if (variant == 2) {
		ck_assert_ptr_null(req->spawn->pty);
	} else {
		ck_assert_ptr_nonnull(req->spawn->pty);
		ck_assert_uint_eq(req->spawn->pty->rows, 33);
		ck_assert_uint_eq(req->spawn->pty->cols, 101);
		ck_assert_uint_eq(req->spawn->pty->xpixel, 640);
		ck_assert_uint_eq(req->spawn->pty->ypixel, 480);
	}
	wire_request_free(req);
	base = count_fds();

	switch (variant) {
	case 0: /* the master alone */
	case 1: /* pidfd, then master */
		if (variant == 0)
			fake_started_pty(id, 7, false, true, &p[1], 1);
		else
			fake_started_pty(id, 7, true, true, two, 2);
		fake_exited(id, 7, 0, 0);
		ck_assert_int_eq(spawnd_wait(f.c, id, SEC, &r), 0);
		fd = spawnd_result_get_pty_master(r);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &a), 0);
		ck_assert_int_eq(fstat(p[1], &b), 0);
		ck_assert_uint_eq(a.st_ino, b.st_ino);
		ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		if (variant == 1) {
			ck_assert_int_eq(fstat(spawnd_result_get_pidfd(r), &a), 0);
			ck_assert_int_eq(fstat(p[0], &b), 0);
			ck_assert_uint_eq(a.st_ino, b.st_ino);
		}
		ck_assert_int_eq(spawnd_result_take_pty_master(r), fd);
		ck_assert_int_eq(spawnd_result_get_pty_master(r), -ENODATA);
		ck_assert_int_eq(spawnd_result_take_pty_master(r), -ENODATA);
		close(fd);
		r = spawnd_result_free(r);
		ck_assert_int_eq(count_fds(), base);
		close(p[0]);
		close(p[1]);
		return;
	case 2: /* not asked for */
		fake_started_pty(id, 7, false, true, &p[0], 1);
		break;
	case 3: /* announced, none attached */
		fake_started_pty(id, 7, false, true, NULL, 0);
		break;
	case 4: /* one announced, two attached */
		fake_started_pty(id, 7, false, true, two, 2);
		break;
	case 5: /* two announced, one attached */
		fake_started_pty(id, 7, true, true, &p[0], 1);
		break;
	}
	ck_assert_int_eq(spawnd_client_process(f.c), -EBADMSG);
	ck_assert_int_eq(count_fds(), base);
	ck_assert_int_eq(events[n_events - 1].state, SPAWND_STATE_FAILED);
	ck_assert_int_eq(events[n_events - 1].stage, SPAWND_STAGE_PROTOCOL);
	close(p[0]);
	close(p[1]);
}
END_TEST

/*
 * Every other way an fd can come with a reply is a protocol error that
 * closes every received fd: a pidfd nobody asked for, two fds, an
 * announced pidfd without an fd, an fd on an Exited, a second Started.
 */
START_TEST(test_pidfd_protocol_errors)
{
	const int variant = _i;
	int p[2], two[2], base;
	uint64_t id;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	two[0] = p[0];
	two[1] = p[1];
	n_events = 0;
	ck_assert_int_eq(spawnd_options_set_want_pidfd(f.o, variant != 0), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	base = count_fds();

	switch (variant) {
	case 0: /* not asked for */
		fake_started_fds(id, 7, 1, &p[0], 1);
		break;
	case 1: /* two fds */
		fake_started_fds(id, 7, 1, two, 2);
		break;
	case 2: /* announced, none attached */
		fake_started_fds(id, 7, 1, NULL, 0);
		break;
	case 3: /* an fd on a Started that does not announce one */
		fake_started_fds(id, 7, 0, &p[0], 1);
		break;
	case 4: { /* an fd on the Exited */
		Spawnd__V1__Reply m = SPAWND__V1__REPLY__INIT;
		Spawnd__V1__Exited e = SPAWND__V1__EXITED__INIT;

		fake_started_fds(id, 7, 1, &p[0], 1);
		ck_assert_int_eq(spawnd_client_process(f.c), 1);
		base++; /* the accepted pidfd */
		e.pid = 7;
		m.id = id;
		m.body_case = SPAWND__V1__REPLY__BODY_EXITED;
		m.exited = &e;
		fake_send_fds(&m, &p[0], 1);
		break;
	}
	case 5: /* a second Started with a pidfd */
		fake_started_fds(id, 7, 1, &p[0], 1);
		ck_assert_int_eq(spawnd_client_process(f.c), 1);
		base++;
		fake_started_fds(id, 7, 1, &p[0], 1);
		break;
	case 6: /* a pidfd for an id nobody used */
		fake_started_fds(id + 10, 7, 1, &p[0], 1);
		break;
	}
	ck_assert_int_eq(spawnd_client_process(f.c), -EBADMSG);
	/* Nothing received is kept; the pidfd accepted before is closed with its spawn. */
	ck_assert_int_eq(count_fds(), variant == 4 || variant == 5 ? base - 1 : base);
	ck_assert_int_eq(events[n_events - 1].state, SPAWND_STATE_FAILED);
	ck_assert_int_eq(events[n_events - 1].stage, SPAWND_STAGE_PROTOCOL);
	ck_assert_int_eq(events[n_events - 1].errnum, EBADMSG);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_garbage_reply)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};

	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, NULL), 0);
	ck_assert_int_eq(wire_send(f.conn_fd, junk, sizeof(junk), NULL, 0), 0);
	ck_assert_int_eq(spawnd_client_process(f.c), -EBADMSG);
	ck_assert_uint_eq(n_events, 1);
	ck_assert_int_eq(events[0].stage, SPAWND_STAGE_PROTOCOL);
}
END_TEST

START_TEST(test_connection_error_id0)
{
	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, (void *)1, NULL), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, (void *)2, NULL), 0);
	fake_failed(0, SPAWND__V1__STAGE__STAGE_PROTOCOL, EBADMSG, "bad frame");
	ck_assert_int_eq(spawnd_client_process(f.c), 1);
	ck_assert_uint_eq(n_events, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(events[i].state, SPAWND_STATE_FAILED);
		ck_assert_int_eq(events[i].stage, SPAWND_STAGE_PROTOCOL);
		ck_assert_int_eq(events[i].errnum, EBADMSG);
		ck_assert_str_eq(events[i].detail, "bad frame");
	}
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), -ECONNRESET);
	close(f.conn_fd);
	f.conn_fd = -1;
	ck_assert_int_eq(spawnd_client_process(f.c), -ECONNRESET);
	ck_assert_uint_eq(n_events, 2);
}
END_TEST

/*
 * Fill the socket so that requests must wait in the send queue, close the
 * caller's fd right after each call, then drain: every request arrives in
 * order with its own copy of the right file, and no fd is left behind.
 */
START_TEST(test_send_queue)
{
	int p[2], base;
	size_t sent = 0, queued = 0, got = 0;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	base = count_fds();

	while (queued < 5) {
		int d = fcntl(p[0], F_DUPFD_CLOEXEC, 3);

		ck_assert_int_ge(d, 0);
		ck_assert_int_eq(spawnd_options_add_fd(f.o, 3, d), 0);
		ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
		close(d);
		spawnd_options_free(f.o);
		{
			const char *argv[] = {"/bin/true", NULL};

			ck_assert_int_eq(spawnd_options_new(&f.o), 0);
			ck_assert_int_eq(spawnd_options_set_argv(f.o, (char *const *)argv), 0);
		}
		sent++;
		ck_assert_uint_lt(sent, 100000);
		if (spawnd_client_get_events(f.c) & POLLOUT)
			queued++;
	}

	while (got < sent) {
		int fds[SPAWND_MAX_FDS];
		size_t n = 0;
		Spawnd__V1__Request *req = fake_recv(fds, &n);

		ck_assert_uint_eq(req->id, got + 1);
		ck_assert_uint_eq(n, 1);
		assert_same_file(fds[0], p[0]);
		wire_close_fds(fds, n);
		wire_request_free(req);
		got++;
		/* Room was made: let the client flush its queue. */
		ck_assert_int_ge(spawnd_client_process(f.c), 0);
	}
	ck_assert_int_eq(spawnd_client_get_events(f.c), POLLIN);
	ck_assert_int_eq(count_fds(), base);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_no_fd_leak)
{
	int base, p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(spawnd_options_add_fd(f.o, 0, p[0]), 0);
	ck_assert_int_eq(spawnd_options_add_fd(f.o, 1, p[1]), 0);
	ck_assert_int_eq(spawnd_options_add_fd(f.o, 2, p[1]), 0);
	base = count_fds();

	for (uint64_t i = 1; i <= 200; i++) {
		spawnd_result *r = NULL;
		int fds[SPAWND_MAX_FDS];
		size_t n = 0;
		Spawnd__V1__Request *req;

		fake_started(i, (int)i);
		fake_exited(i, (int)i, 0, 0);
		ck_assert_int_eq(spawnd_spawn(f.c, f.o, SEC, &r), 0);
		r = spawnd_result_free(r);
		ck_assert_int_eq(spawnd_wait(f.c, i, SEC, &r), 0);
		r = spawnd_result_free(r);
		req = fake_recv(fds, &n);
		ck_assert_uint_eq(n, 3);
		wire_close_fds(fds, n);
		wire_request_free(req);
	}
	ck_assert_int_eq(count_fds(), base);

	/* Connections come and go without a trace too. */
	for (int i = 0; i < 50; i++) {
		spawnd_client *c = NULL;

		ck_assert_int_eq(spawnd_client_open(&c, f.path, 0), 0);
		close(fake_accept());
		spawnd_client_close(c);
	}
	ck_assert_int_eq(count_fds(), base);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* A callback may start spawns and wait for itself without breaking dispatch. */
static void
reentrant_cb(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	int *calls = userdata;

	(*calls)++;
	if (spawnd_result_get_state(r) == SPAWND_STATE_STARTED) {
		spawnd_result *exited = NULL;

		ck_assert_int_eq(spawnd_spawn_async(c, f.o, NULL, NULL, NULL), 0);
		ck_assert_int_eq(spawnd_wait(c, spawnd_result_get_id(r), SEC, &exited), 0);
		ck_assert_int_eq(spawnd_result_get_exit_code(exited), 9);
		spawnd_result_free(exited);
		/* r is still valid here: the entry is busy until we return. */
		ck_assert_int_eq(spawnd_result_get_pid(r), 8);
	}
}

START_TEST(test_reentrant_callback)
{
	int calls = 0;

	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, reentrant_cb, &calls, NULL), 0);
	fake_started(1, 8);
	fake_exited(1, 8, 9, 0);
	ck_assert_int_ge(spawnd_client_process(f.c), 1);
	ck_assert_int_eq(calls, 2);
	wire_request_free(fake_recv(NULL, NULL));
	wire_request_free(fake_recv(NULL, NULL));
}
END_TEST

/* ---- 0.2: one failure channel, waits that mean one thing ---- */

/* The constants have the values the 0.1 documentation spelled out. */
_Static_assert(SPAWND_WAIT_INFINITE == UINT64_MAX, "SPAWND_WAIT_INFINITE is UINT64_MAX");
_Static_assert(SPAWND_NO_TIME_LIMIT == UINT64_MAX, "SPAWND_NO_TIME_LIMIT is UINT64_MAX");

/*
 * A zero wait polls once: it takes what has arrived and never blocks. In
 * 0.1 it gave up before reading anything, so an exit that was already in
 * the socket read as -ETIMEDOUT.
 */
START_TEST(test_zero_wait_polls_once)
{
	spawnd_result *r = NULL;
	uint64_t id = 0;

	ck_assert_int_eq(spawnd_client_wait(f.c, 0), -ETIMEDOUT);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	ck_assert_int_eq(spawnd_wait(f.c, id, 0, &r), -ETIMEDOUT);
	ck_assert_ptr_null(r);

	fake_started(id, 77);
	fake_exited(id, 77, 5, 0);
	ck_assert_int_eq(spawnd_wait(f.c, id, 0, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 5);
	r = spawnd_result_free(r);

	/* The same holds for spawnd_client_wait() and spawnd_signal(). */
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	fake_started(id, 78);
	ck_assert_int_eq(spawnd_client_wait(f.c, 0), 1);
	ck_assert_int_eq(spawnd_signal(f.c, id, SIGTERM, 0, 0), -ETIMEDOUT);
	wire_request_free(fake_recv(NULL, NULL));
	fake_signal_sent(id + 2); /* the next signal request's id */
	ck_assert_int_eq(spawnd_signal(f.c, id, SIGTERM, 0, 0), 0);
	wire_request_free(fake_recv(NULL, NULL));
}
END_TEST

/* Every outcome of spawnd_run(): 0 only for an exit, *ret always set. */
START_TEST(test_run_outcomes)
{
	static spawnd_result *const untouched = (spawnd_result *)&f;
	spawnd_options *noargv = NULL;
	spawnd_result *r = untouched;

	/* Exited with a code: 0, one result with everything. */
	fake_started(1, 100);
	fake_exited(1, 100, 3, 0);
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), 0);
	ck_assert_ptr_ne(r, untouched);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_uint_eq(spawnd_result_get_id(r), 1);
	ck_assert_int_eq(spawnd_result_get_pid(r), 100);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 3);
	ck_assert_int_eq(spawnd_result_get_signal(r), 0);
	ck_assert_uint_eq(spawnd_result_get_wall_usec(r), 4444);
	r = spawnd_result_free(r);
	/* Collected: nothing is left to wait for. */
	r = untouched;
	ck_assert_int_eq(spawnd_wait_exit(f.c, 1, 0, &r), -ESRCH);
	ck_assert_ptr_null(r);
	wire_request_free(fake_recv(NULL, NULL));

	/* Killed by a signal: still 0 (the program ran); the signal says how. */
	fake_started(2, 101);
	fake_exited(2, 101, 0, SIGKILL);
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), -1);
	ck_assert_int_eq(spawnd_result_get_signal(r), SIGKILL);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));

	/* exec failed: the errno is the return value, the result says where. */
	r = untouched;
	fake_failed(3, SPAWND__V1__STAGE__STAGE_EXEC, ENOENT, "/x");
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), -ENOENT);
	ck_assert_ptr_ne(r, untouched);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_EXEC);
	ck_assert_int_eq(spawnd_result_get_errno(r), ENOENT);
	ck_assert_str_eq(spawnd_result_get_detail(r), "/x");
	ck_assert_int_eq(spawnd_result_get_pid(r), -1);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(f.c, 3, 0, &r), -ESRCH);
	wire_request_free(fake_recv(NULL, NULL));

	/* Denied by policy. */
	fake_failed(4, SPAWND__V1__STAGE__STAGE_POLICY, EPERM, "/etc/spawnd.conf:3");
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), -EPERM);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_POLICY);
	ck_assert_str_eq(spawnd_result_get_detail(r), "/etc/spawnd.conf:3");
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));

	/* A failure without an errno is still a failure, never 0. */
	fake_failed(5, SPAWND__V1__STAGE__STAGE_PREPARE, 0, NULL);
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), -EIO);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));

	/* The wait ends first: the started spawn stays tracked by its id. */
	fake_started(6, 106);
	ck_assert_int_eq(spawnd_run(f.c, f.o, 0, &r), -ETIMEDOUT);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_STARTED);
	ck_assert_uint_eq(spawnd_result_get_id(r), 6);
	ck_assert_int_eq(spawnd_result_get_pid(r), 106);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));
	fake_exited(6, 106, 0, 0);
	ck_assert_int_eq(spawnd_wait_exit(f.c, 6, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	r = spawnd_result_free(r);

	/* Nothing sent: -errno and *ret NULL. */
	r = untouched;
	ck_assert_int_eq(spawnd_run(NULL, f.o, SEC, &r), -EINVAL);
	ck_assert_ptr_null(r);
	r = untouched;
	ck_assert_int_eq(spawnd_run(f.c, NULL, SEC, &r), -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(spawnd_options_new(&noargv), 0);
	r = untouched;
	ck_assert_int_eq(spawnd_run(f.c, noargv, SEC, &r), -EINVAL);
	ck_assert_ptr_null(r);
	spawnd_options_free(noargv);
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, NULL), -EINVAL);
	ck_assert_int_eq(spawnd_start(f.c, f.o, SEC, NULL), -EINVAL);
	ck_assert_int_eq(spawnd_wait_exit(f.c, 1, SEC, NULL), -EINVAL);
	r = untouched;
	ck_assert_int_eq(spawnd_wait_exit(NULL, 1, SEC, &r), -EINVAL);
	ck_assert_ptr_null(r);

	/* The daemon drops the connection during the wait: FAILED, its reason. */
	fake_failed(0, SPAWND__V1__STAGE__STAGE_LIMIT, EMFILE, "connections");
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), -EMFILE);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_LIMIT);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));
	/* Once it has ended, nothing is sent any more: -ECONNRESET, *ret NULL. */
	r = untouched;
	ck_assert_int_eq(spawnd_run(f.c, f.o, SEC, &r), -ECONNRESET);
	ck_assert_ptr_null(r);
}
END_TEST

/*
 * A zero-wait start that times out leaves the spawn tracked: the caller has
 * its id and waits for the exit later (0.1's spawnd_spawn() abandoned it).
 */
START_TEST(test_start_zero_wait_tracked)
{
	spawnd_result *r = NULL;
	uint64_t id;

	ck_assert_int_eq(spawnd_start(f.c, f.o, 0, &r), -ETIMEDOUT);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_PENDING);
	id = spawnd_result_get_id(r);
	ck_assert_uint_eq(id, 1);
	ck_assert_int_eq(spawnd_result_get_pid(r), -1);
	ck_assert_int_eq(spawnd_result_get_errno(r), 0);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));

	fake_started(id, 55);
	fake_exited(id, 55, 0, 0);
	ck_assert_int_eq(spawnd_wait_exit(f.c, id, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_pid(r), 55);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(f.c, id, 0, &r), -ESRCH);
	ck_assert_ptr_null(r);

	/* Started and Exited in one batch: start reports the start, the exit waits. */
	fake_started(2, 56);
	fake_exited(2, 56, 4, 0);
	ck_assert_int_eq(spawnd_start(f.c, f.o, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_STARTED);
	ck_assert_int_eq(spawnd_result_get_pid(r), 56);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), -1);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(f.c, 2, SEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 4);
	r = spawnd_result_free(r);
	wire_request_free(fake_recv(NULL, NULL));

	/* A refusal is a negative return, never a 0 with a FAILED result. */
	fake_failed(3, SPAWND__V1__STAGE__STAGE_CHDIR, EACCES, "/root");
	ck_assert_int_eq(spawnd_start(f.c, f.o, SEC, &r), -EACCES);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_CHDIR);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(f.c, 3, 0, &r), -ESRCH);
	wire_request_free(fake_recv(NULL, NULL));

	/* A spawn with a callback can be waited for; the callback still runs. */
	n_events = 0;
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, record_cb, NULL, &id), 0);
	wire_request_free(fake_recv(NULL, NULL));
	fake_started(id, 57);
	fake_failed(id, SPAWND__V1__STAGE__STAGE_PROTOCOL, ECONNRESET, NULL);
	ck_assert_int_eq(spawnd_wait_exit(f.c, id, SEC, &r), -ECONNRESET);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	r = spawnd_result_free(r);
	ck_assert_uint_eq(n_events, 2);
	ck_assert_int_eq(events[1].state, SPAWND_STATE_FAILED);
}
END_TEST

/* The run-time limit has its own word and no zero that means "none". */
START_TEST(test_time_limit)
{
	Spawnd__V1__Request *req;

	ck_assert_int_eq(spawnd_options_set_time_limit(NULL, SEC), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_time_limit(f.o, 0), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_time_limit(f.o, 30ull * 86400 * SEC + 1000), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_time_limit(f.o, 30ull * 86400 * SEC), 0);
	ck_assert_int_eq(spawnd_options_set_time_limit(f.o, 1500), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(req->spawn->has_timeout_ms);
	ck_assert_uint_eq(req->spawn->timeout_ms, 2);
	wire_request_free(req);

	ck_assert_int_eq(spawnd_options_set_time_limit(f.o, SPAWND_NO_TIME_LIMIT), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(!req->spawn->has_timeout_ms);
	wire_request_free(req);

	/* The 0.1 setter keeps its meaning: 0 is "none", UINT64_MAX too long. */
	ck_assert_int_eq(spawnd_options_set_timeout(f.o, 1000), 0);
	ck_assert_int_eq(spawnd_options_set_timeout(f.o, 0), 0);
	ck_assert_int_eq(spawnd_options_set_timeout(f.o, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	req = fake_recv(NULL, NULL);
	ck_assert(!req->spawn->has_timeout_ms);
	wire_request_free(req);
}
END_TEST

/* add_env -> env_set, add_inherited_env(p) -> env_inherit; old names alias them. */
START_TEST(test_env_setters)
{
	char e1[] = "HOME=/h", e2[] = "LANG=C", e3[] = "junk", e4[] = "HOME=/other";
	char *envp[] = {e1, e2, e3, e4, NULL};
	char o1[] = "OLD=1";
	char *old_envp[] = {o1, NULL};
	Spawnd__V1__Request *req;
	Spawnd__V1__Spawn *sp;

	ck_assert_int_eq(spawnd_options_add_env(NULL, "A=1"), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_env(f.o, "A"), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_env(f.o, "=1"), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_inherited_envp(f.o, NULL), -EINVAL);
	ck_assert_int_eq(spawnd_options_add_inherited_envp(NULL, envp), -EINVAL);

	ck_assert_int_eq(spawnd_options_add_env(f.o, "A=1"), 0);
	ck_assert_int_eq(spawnd_options_setenv(f.o, "B=2"), 0);
	ck_assert_int_eq(spawnd_options_add_inherited_env(f.o, "TERM=xterm"), 0);
	ck_assert_int_eq(spawnd_options_add_inherited_envp(f.o, envp), 0);
	ck_assert_int_eq(spawnd_options_inherit_environ(f.o, old_envp), 0);
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	req = fake_recv(NULL, NULL);
	sp = req->spawn;
	ck_assert_uint_eq(sp->n_env_set, 2);
	assert_bytes(sp->env_set[0], "A=1");
	assert_bytes(sp->env_set[1], "B=2");
	ck_assert_uint_eq(sp->n_env_inherit, 4);
	assert_bytes(sp->env_inherit[0], "TERM=xterm");
	assert_bytes(sp->env_inherit[1], "HOME=/h");
	assert_bytes(sp->env_inherit[2], "LANG=C");
	assert_bytes(sp->env_inherit[3], "OLD=1");
	wire_request_free(req);
}
END_TEST

/* argv is char *const *: main()'s argv passes as it is, and is copied. */
START_TEST(test_argv_from_main)
{
	char a0[] = "/bin/echo", a1[] = "x";
	char *argv[] = {a0, a1, NULL};
	Spawnd__V1__Request *req;

	ck_assert_int_eq(spawnd_options_set_argv(f.o, argv), 0);
	a1[0] = 'y'; /* the options hold a copy */
	ck_assert_int_eq(spawnd_spawn_async(f.c, f.o, NULL, NULL, NULL), 0);
	req = fake_recv(NULL, NULL);
	ck_assert_uint_eq(req->spawn->n_argv, 2);
	assert_bytes(req->spawn->argv[1], "x");
	wire_request_free(req);
	ck_assert_str_eq(SPAWND_DEFAULT_SOCKET, "/run/spawnd.sock");
	ck_assert_str_eq(SPAWND_SOCKET_ENV, "SPAWND_SOCKET");
}
END_TEST

/*
 * ---- against the real daemon: `check_client daemon` (root) ----
 *
 * The synchronous calls through the real spawnd of tests/integration's
 * harness (its default policy, lines in harness.h), with real children:
 * a denial, an exec that fails, an exit code, a death by signal, a time
 * limit, a zero wait, an unprivileged client, and the man page's example.
 */

/* Options for argv as user, with the child's stdout on a fresh pipe. */
static spawnd_options *
d_opts(const char *user, const char *const *argv, int out[2])
{
	spawnd_options *o = opts_new(user, argv);

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(spawnd_options_add_fd(o, 1, out[1]), 0);
	return o;
}

/* Close our copy of the write end and read what the child wrote, to EOF. */
static void
d_read(int out[2], struct report *rep)
{
	close(out[1]);
	ck_assert_int_eq(report_read_fd(out[0], rep, 20000), 0);
	close(out[0]);
}

/* True when a line of rep contains needle. */
static bool
d_has(const struct report *rep, const char *needle)
{
	size_t pos = 0;
	const char *line;

	while ((line = report_next(rep, &pos)))
		if (strstr(line, needle))
			return true;
	return false;
}

#define ASSERT_HAS(rep, needle)                                                                    \
	do {                                                                                       \
		if (!d_has((rep), (needle)))                                                       \
			report_dump(rep);                                                          \
		ck_assert_msg(d_has((rep), (needle)), "no line with '%s'", (needle));              \
	} while (0)

/* The daemon has no child left (every spawn of the test was reaped). */
static void
d_assert_no_children(void)
{
	ck_assert_int_eq(proc_wait_children(fx.pid, 0, 5000), 0);
}

START_TEST(test_d_run_success)
{
	const char *argv[] = {"/bin/echo", "hello from spawnd_run", NULL};
	spawnd_client *c = client_open();
	spawnd_result *r = NULL;
	struct report rep;
	int out[2];
	spawnd_options *o = d_opts("nobody", argv, out);

	ck_assert_int_eq(spawnd_run(c, o, SPAWND_WAIT_INFINITE, &r), 0);
	d_read(out, &rep);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 0);
	ck_assert_int_eq(spawnd_result_get_signal(r), 0);
	ck_assert_int_gt(spawnd_result_get_pid(r), 0);
	ck_assert_uint_ge(spawnd_result_get_id(r), 1);
	ck_assert_uint_gt(spawnd_result_get_wall_usec(r), 0);
	ASSERT_HAS(&rep, "hello from spawnd_run");
	/* One result, and nothing left to collect for its id. */
	{
		uint64_t id = spawnd_result_get_id(r);

		r = spawnd_result_free(r);
		ck_assert_int_eq(spawnd_wait_exit(c, id, 0, &r), -ESRCH);
		ck_assert_ptr_null(r);
	}
	report_done(&rep);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

START_TEST(test_d_run_exit_code)
{
	const char *argv[] = {"/bin/sh", "-c", "echo ran; exit 7", NULL};
	spawnd_client *c = client_open();
	spawnd_result *r = NULL;
	struct report rep;
	int out[2];
	spawnd_options *o = d_opts("nobody", argv, out);

	/* A program that fails is a program that ran: 0, and its exit code. */
	ck_assert_int_eq(spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r), 0);
	d_read(out, &rep);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 7);
	ck_assert_int_eq(spawnd_result_get_signal(r), 0);
	ck_assert_int_eq(spawnd_result_get_timed_out(r), 0);
	ASSERT_HAS(&rep, "ran");
	spawnd_result_free(r);
	report_done(&rep);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

START_TEST(test_d_run_signal)
{
	const char *argv[] = {"/bin/sh", "-c", "kill -KILL $$", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	spawnd_result *r = NULL;

	ck_assert_int_eq(spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_signal(r), SIGKILL);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), -1);
	spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

/*
 * The newcomer's trap of 0.1: an exec that fails with ENOENT returned 0
 * from spawnd_spawn(). spawnd_run() returns -ENOENT, with the stage.
 * The program exists (so no path check before the fork can catch it); its
 * interpreter does not, so execve(2) itself fails with ENOENT.
 */
START_TEST(test_d_run_exec_enoent)
{
	char script[PATH_MAX], missing[PATH_MAX];
	const char *argv[] = {script, NULL};
	spawnd_client *c = client_open();
	spawnd_options *o;
	spawnd_result *r = NULL;
	int k;

	xsnprintf(script, sizeof(script), "%s/no-interpreter", fx.dir);
	write_file(script, "#!/nonexistent/spawnd-interpreter\nexit 0\n", 0755);
	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r), -ENOENT);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_msg(spawnd_result_get_stage(r) == SPAWND_STAGE_EXEC, "stage %s",
		      spawnd_stage_to_string(spawnd_result_get_stage(r)));
	ck_assert_int_eq(spawnd_result_get_errno(r), ENOENT);
	ck_assert_int_eq(spawnd_result_get_pid(r), -1);
	r = spawnd_result_free(r);
	spawnd_options_free(o);

	/* spawnd_start() reports it the same way: never as a start. */
	o = opts_new("nobody", argv);
	ck_assert_int_eq(spawnd_start(c, o, SPAWN_TIMEOUT_USEC, &r), -ENOENT);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_EXEC);
	r = spawnd_result_free(r);
	spawnd_options_free(o);

	/* A program that does not exist at all: a failure, whatever the stage. */
	xsnprintf(missing, sizeof(missing), "%s/missing", fx.dir);
	argv[0] = missing;
	o = opts_new("nobody", argv);
	k = spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r);
	ck_assert_int_lt(k, 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_int_eq(k, -spawnd_result_get_errno(r));
	r = spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

START_TEST(test_d_run_policy_denied)
{
	const char *argv[] = {"/bin/false", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	spawnd_result *r = NULL;
	char rule[PATH_MAX + 16];

	/* RULE_ROOT_FALSE_DENY: deny root as nobody cmd /bin/false. */
	ck_assert_int_eq(spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r), -EPERM);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	ck_assert_int_eq(spawnd_result_get_stage(r), SPAWND_STAGE_POLICY);
	ck_assert_int_eq(spawnd_result_get_errno(r), EPERM);
	xsnprintf(rule, sizeof(rule), "%s:%d", fx.conf, RULE_ROOT_FALSE_DENY);
	ck_assert_msg(strstr(spawnd_result_get_detail(r), rule), "detail '%s', want '%s'",
		      spawnd_result_get_detail(r), rule);
	spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

/*
 * A zero wait polls once and returns -ETIMEDOUT while the daemon is still
 * starting the child; the spawn stays tracked, and the caller waits for it
 * by the id in the result. The child really runs: its output arrives.
 */
START_TEST(test_d_zero_wait_tracked)
{
	const char *argv[] = {"/bin/sh", "-c", "echo started-late; exit 4", NULL};
	spawnd_client *c = client_open();
	spawnd_result *r = NULL;
	struct report rep;
	uint64_t id;
	int out[2];
	spawnd_options *o = d_opts("nobody", argv, out);

	ck_assert_int_eq(spawnd_start(c, o, 0, &r), -ETIMEDOUT);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_PENDING);
	id = spawnd_result_get_id(r);
	ck_assert_uint_ge(id, 1);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(c, id, SPAWND_WAIT_INFINITE, &r), 0);
	d_read(out, &rep);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 4);
	ASSERT_HAS(&rep, "started-late");
	r = spawnd_result_free(r);
	report_done(&rep);

	/* spawnd_run() with a zero wait: the same, resumed by id. */
	o = spawnd_options_free(o);
	o = d_opts("nobody", argv, out);
	ck_assert_int_eq(spawnd_run(c, o, 0, &r), -ETIMEDOUT);
	ck_assert_int_ne(spawnd_result_get_state(r), SPAWND_STATE_FAILED);
	id = spawnd_result_get_id(r);
	r = spawnd_result_free(r);
	ck_assert_int_eq(spawnd_wait_exit(c, id, SPAWN_TIMEOUT_USEC, &r), 0);
	d_read(out, &rep);
	ck_assert_int_eq(spawnd_result_get_exit_code(r), 4);
	ASSERT_HAS(&rep, "started-late");
	spawnd_result_free(r);
	report_done(&rep);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

START_TEST(test_d_run_time_limit)
{
	const char *argv[] = {"/bin/sleep", "30", NULL};
	spawnd_client *c = client_open();
	spawnd_options *o = opts_new("nobody", argv);
	spawnd_result *r = NULL;

	ck_assert_int_eq(spawnd_options_set_time_limit(o, 0), -EINVAL);
	ck_assert_int_eq(spawnd_options_set_time_limit(o, 200000), 0);
	ck_assert_int_eq(spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r), 0);
	ck_assert_int_eq(spawnd_result_get_state(r), SPAWND_STATE_EXITED);
	ck_assert_int_eq(spawnd_result_get_timed_out(r), 1);
	ck_assert_int_eq(spawnd_result_get_signal(r), SIGTERM);
	spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	d_assert_no_children();
}
END_TEST

/* As nobody: a permitted run and a denied one, through the same one call. */
static int
d_nobody_runs(void *arg, int out)
{
	const char *t[] = {"/bin/true", NULL};
	const char *e[] = {"/bin/echo", "last-match", NULL};
	spawnd_client *c = NULL;
	spawnd_options *o = NULL;
	spawnd_result *r = NULL;
	int k;

	(void)arg;
	k = spawnd_client_open(&c, fx.sock, 0);
	if (k == 0)
		k = spawnd_options_new(&o);
	if (k == 0)
		k = spawnd_options_set_user(o, "nobody");
	if (k == 0)
		k = spawnd_options_set_argv(o, (char *const *)t);
	if (k < 0) {
		out_printf(out, "error=%s\n", strerror(-k));
		return 1;
	}
	k = spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r);
	out_printf(out, "true=%d\ntrue_code=%d\n", k, spawnd_result_get_exit_code(r));
	r = spawnd_result_free(r);
	(void)spawnd_options_set_argv(o, (char *const *)e);
	k = spawnd_run(c, o, SPAWN_TIMEOUT_USEC, &r);
	out_printf(out, "echo=%d\necho_stage=%s\necho_detail=%s\n", k,
		   spawnd_stage_to_string(spawnd_result_get_stage(r)), spawnd_result_get_detail(r));
	spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	return 0;
}

START_TEST(test_d_run_unprivileged_client)
{
	struct user_ids nobody;
	struct report rep;
	char rule[PATH_MAX + 16];

	lookup_user("nobody", &nobody);
	ck_assert_int_eq(run_as_user(nobody.uid, nobody.gid, d_nobody_runs, NULL, &rep), 0);
	ck_assert_int_eq(report_num(&rep, "true", 10), 0);
	ck_assert_int_eq(report_num(&rep, "true_code", 10), 0);
	ck_assert_int_eq(report_num(&rep, "echo", 10), -EPERM);
	ASSERT_STREQ_REPORT(&rep, "echo_stage", "policy");
	xsnprintf(rule, sizeof(rule), "%s:%d", fx.conf, RULE_ECHO_DENY);
	ck_assert(strstr(report_need(&rep, "echo_detail"), rule));
	report_done(&rep);
	d_assert_no_children();
}
END_TEST

/* Run client/examples/run.c (the man page's EXAMPLE): USER COMMAND [ARG...]. */
static int
d_example(struct report *out, const char *user, const char *const *cmd)
{
	const char *argv[16] = {EXAMPLE_RUN_PATH, user};
	int p[2], status, k;
	size_t n = 2;
	pid_t pid;

	for (size_t i = 0; cmd[i]; i++) {
		ck_assert_uint_lt(n, 15);
		argv[n++] = cmd[i];
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The example finds the daemon the documented way. */
		if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0 ||
		    setenv(SPAWND_SOCKET_ENV, fx.sock, 1) < 0)
			_exit(120);
		execv(EXAMPLE_RUN_PATH, (char *const *)argv);
		_exit(121);
	}
	close(p[1]);
	k = report_read_fd(p[0], out, 30000);
	close(p[0]);
	status = wait_pid_deadline(pid, 30000);
	ck_assert_int_eq(k, 0);
	ck_assert_msg(status != -1, "the example did not finish");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

START_TEST(test_d_example_run)
{
	const char *code[] = {"/bin/sh", "-c", "echo hi from the example; exit 3", NULL};
	const char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	const char *denied[] = {"/bin/false", NULL};
	char script[PATH_MAX];
	const char *noexec[] = {script, NULL};
	struct report out;

	ck_assert_int_eq(d_example(&out, "nobody", code), 3);
	ASSERT_HAS(&out, "hi from the example");
	report_done(&out);

	ck_assert_int_eq(d_example(&out, "nobody", killed), 128 + SIGTERM);
	ASSERT_HAS(&out, "killed by signal 15");
	report_done(&out);

	xsnprintf(script, sizeof(script), "%s/no-interpreter", fx.dir);
	write_file(script, "#!/nonexistent/spawnd-interpreter\n", 0755);
	ck_assert_int_eq(d_example(&out, "nobody", noexec), 127);
	ASSERT_HAS(&out, ": exec ");
	ASSERT_HAS(&out, "No such file or directory");
	report_done(&out);

	ck_assert_int_eq(d_example(&out, "nobody", denied), 126);
	ASSERT_HAS(&out, "/bin/false: policy ");
	report_done(&out);
	d_assert_no_children();
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("client-daemon");
	TCase *tc = tcase_create("run");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_d_run_success);
	tcase_add_test(tc, test_d_run_exit_code);
	tcase_add_test(tc, test_d_run_signal);
	tcase_add_test(tc, test_d_run_exec_enoent);
	tcase_add_test(tc, test_d_run_policy_denied);
	tcase_add_test(tc, test_d_zero_wait_tracked);
	tcase_add_test(tc, test_d_run_time_limit);
	tcase_add_test(tc, test_d_run_unprivileged_client);
	tcase_add_test(tc, test_d_example_run);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_options_validation);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_request_defaults);
	tcase_add_test(tc, test_request_all_options);
	tcase_add_test(tc, test_request_executable_no_groups);
	tcase_add_test(tc, test_dispatch_interleaved);
	tcase_add_test(tc, test_result_getters);
	tcase_add_test(tc, test_e2big);
	tcase_add_test(tc, test_econnreset);
	tcase_add_test(tc, test_sync_spawn_wait);
	tcase_add_test(tc, test_sync_timeout);
	tcase_add_test(tc, test_wait_eintr);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_reply_with_fd_is_protocol_error);
	tcase_add_test(tc, test_pidfd_callback);
	tcase_add_test(tc, test_pidfd_sync_ownership);
	tcase_add_loop_test(tc, test_pidfd_protocol_errors, 0, 7);
	tcase_add_loop_test(tc, test_pty_master, 0, 6);
	tcase_add_test(tc, test_garbage_reply);
	tcase_add_test(tc, test_connection_error_id0);
	tcase_add_test(tc, test_send_queue);
	tcase_add_test(tc, test_no_fd_leak);
	tcase_add_test(tc, test_reentrant_callback);
	tcase_add_test(tc, test_zero_wait_polls_once);
	tcase_add_test(tc, test_run_outcomes);
	tcase_add_test(tc, test_start_zero_wait_tracked);
	tcase_add_test(tc, test_time_limit);
	tcase_add_test(tc, test_env_setters);
	tcase_add_test(tc, test_argv_from_main);
	suite_add_tcase(s, tc);
	return s;
}

/*
 * check_client: the library against the fake daemon (any user).
 * check_client daemon: the synchronous calls against the real spawnd (root;
 * exits 77, skipped, otherwise).
 */
int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc > 1 && strcmp(argv[1], "daemon") == 0)
		return harness_main(daemon_suite());
	sr = srunner_create(client_suite());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
