/* SPDX-License-Identifier: MIT */
/*
 * The tests' raw protocol client and daemon observations (rawclient.h).
 */
#define _GNU_SOURCE
#include "rawclient.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- raw connections ---- */

int
rc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		(void)close(fd);
		return r;
	}
	return fd;
}

int
rc_send_cred(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
	     const struct ucred *cred)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	size_t space = (cred ? CMSG_SPACE(sizeof(*cred)) : 0) +
		       (n_fds > 0 ? CMSG_SPACE(sizeof(int) * n_fds) : 0);
	struct cmsghdr *cm;
	void *control = NULL;
	ssize_t n;
	int r = 0;

	if (space > 0) {
		/* calloc returns memory aligned for any type, as cmsghdr needs. */
		control = calloc(1, space);
		if (!control)
			return -ENOMEM;
		mh.msg_control = control;
		mh.msg_controllen = space;
		cm = CMSG_FIRSTHDR(&mh);
		if (!cm) {
			free(control);
			return -EINVAL;
		}
		if (cred) {
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_CREDENTIALS;
			cm->cmsg_len = CMSG_LEN(sizeof(*cred));
			memcpy(CMSG_DATA(cm), cred, sizeof(*cred));
			cm = CMSG_NXTHDR(&mh, cm);
		}
		if (n_fds > 0) {
			if (!cm) {
				free(control);
				return -EINVAL;
			}
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
		}
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EMSGSIZE;
	free(control);
	return r;
}

int
rc_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	return rc_send_cred(sock, buf, len, fds, n_fds, NULL);
}

int
rc_recv(int sock, Spawnd__V1__Reply **ret, int *ret_fd, unsigned timeout_ms)
{
	/* One per process: a reply is at most a small Failed/Exited message. */
	static uint8_t buf[SPAWND_MAX_MESSAGE_BYTES + 1];
	struct pollfd p = {.fd = sock, .events = POLLIN};
	int fds[SPAWND_MAX_FDS];
	size_t len = 0, n_fds = 0;
	int k;

	if (ret_fd)
		*ret_fd = -EBADF;
	do
		k = poll(&p, 1, (int)timeout_ms);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return -ETIMEDOUT;
	k = wire_recv(sock, buf, sizeof(buf), &len, fds, &n_fds);
	if (k == -ECONNRESET || k == 0)
		return 0;
	if (k < 0)
		return k;
	if (n_fds > 0 && ret_fd) {
		*ret_fd = fds[0];
		fds[0] = -EBADF;
	}
	wire_close_fds(fds, n_fds);
	k = wire_reply_unpack(buf, len, ret);
	if (k < 0) {
		if (ret_fd && *ret_fd >= 0) {
			(void)close(*ret_fd);
			*ret_fd = -EBADF;
		}
		return k;
	}
	return 1;
}

/* ---- building requests ---- */

static void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size);

	if (!q)
		abort();
	return q;
}

static void
bytes_set(ProtobufCBinaryData *b, const void *data, size_t len)
{
	/* +1 so that an empty string still gets a non-NULL buffer. */
	b->data = xrealloc(NULL, len + 1);
	if (len > 0)
		memcpy(b->data, data, len);
	b->len = len;
}

static void
bytes_push(ProtobufCBinaryData **arr, size_t *n, size_t *cap, const void *data, size_t len)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*arr = xrealloc(*arr, *cap * sizeof(**arr));
	}
	bytes_set(&(*arr)[(*n)++], data, len);
}

struct msg *
msg_request(uint64_t id)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	spawnd__v1__request__init(&m->req);
	spawnd__v1__spawn__init(&m->spawn);
	spawnd__v1__signal__init(&m->signal);
	m->req.version = SPAWND_PROTOCOL_VERSION;
	m->req.id = id;
	return m;
}

struct msg *
msg_spawn(uint64_t id, const char *user, const char *const *argv)
{
	struct msg *m = msg_request(id);

	m->req.body_case = SPAWND__V1__REQUEST__BODY_SPAWN;
	m->req.spawn = &m->spawn;
	for (size_t i = 0; argv && argv[i]; i++)
		msg_arg(m, argv[i], strlen(argv[i]));
	if (user)
		msg_set_user(m, user, strlen(user));
	return m;
}

struct msg *
msg_signal(uint64_t id, uint64_t spawn_id, int signo, bool process_group)
{
	struct msg *m = msg_request(id);

	m->req.body_case = SPAWND__V1__REQUEST__BODY_SIGNAL;
	m->req.signal = &m->signal;
	m->signal.spawn_id = spawn_id;
	m->signal.signo = signo;
	if (process_group) {
		m->signal.has_process_group = 1;
		m->signal.process_group = 1;
	}
	return m;
}

void
msg_arg(struct msg *m, const void *data, size_t len)
{
	bytes_push(&m->argv, &m->spawn.n_argv, &m->cap_argv, data, len);
}

void
msg_env(struct msg *m, bool explicit_set, const void *data, size_t len)
{
	if (explicit_set)
		bytes_push(&m->env_set, &m->spawn.n_env_set, &m->cap_env_set, data, len);
	else
		bytes_push(&m->env_inherit, &m->spawn.n_env_inherit, &m->cap_env_inherit, data,
			   len);
}

void
msg_group(struct msg *m, const void *data, size_t len)
{
	bytes_push(&m->groups, &m->spawn.n_groups, &m->cap_groups, data, len);
}

void
msg_set_user(struct msg *m, const void *data, size_t len)
{
	free(m->spawn.user.data);
	bytes_set(&m->spawn.user, data, len);
	m->spawn.has_user = 1;
}

void
msg_set_group(struct msg *m, const void *data, size_t len)
{
	free(m->spawn.group.data);
	bytes_set(&m->spawn.group, data, len);
	m->spawn.has_group = 1;
}

void
msg_set_cwd(struct msg *m, const char *cwd)
{
	free(m->spawn.cwd.data);
	bytes_set(&m->spawn.cwd, cwd, strlen(cwd));
	m->spawn.has_cwd = 1;
}

void
msg_set_cwd_bytes(struct msg *m, const void *data, size_t len)
{
	free(m->spawn.cwd.data);
	bytes_set(&m->spawn.cwd, data, len);
	m->spawn.has_cwd = 1;
}

void
msg_map(struct msg *m, unsigned index, unsigned target)
{
	size_t i = m->spawn.n_fds;

	if (i == m->cap_maps) {
		m->cap_maps = m->cap_maps ? m->cap_maps * 2 : 8;
		m->maps = xrealloc(m->maps, m->cap_maps * sizeof(*m->maps));
		m->map_ptrs = xrealloc(m->map_ptrs, m->cap_maps * sizeof(*m->map_ptrs));
	}
	spawnd__v1__fd_map__init(&m->maps[i]);
	m->maps[i].index = index;
	m->maps[i].target = target;
	m->spawn.n_fds = i + 1;
}

void
msg_append_raw(struct msg *m, const void *data, size_t len)
{
	m->extra = xrealloc(m->extra, m->n_extra + len);
	memcpy(m->extra + m->n_extra, data, len);
	m->n_extra += len;
}

/* The arrays may have moved since they were filled: point at them now. */
static void
msg_fix_pointers(struct msg *m)
{
	m->spawn.argv = m->argv;
	m->spawn.groups = m->groups;
	m->spawn.env_inherit = m->env_inherit;
	m->spawn.env_set = m->env_set;
	for (size_t i = 0; i < m->spawn.n_fds; i++)
		m->map_ptrs[i] = &m->maps[i];
	m->spawn.fds = m->map_ptrs;
}

static uint8_t *
pack_any(const ProtobufCMessage *pm, size_t extra, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(pm);
	uint8_t *buf = xrealloc(NULL, len + extra + 1);

	if (protobuf_c_message_pack(pm, buf) != len)
		abort();
	*ret_len = len;
	return buf;
}

uint8_t *
msg_pack_spawn(struct msg *m, size_t *ret_len)
{
	msg_fix_pointers(m);
	return pack_any(&m->spawn.base, 0, ret_len);
}

uint8_t *
msg_pack(struct msg *m, size_t *ret_len)
{
	size_t len;
	uint8_t *buf;

	msg_fix_pointers(m);
	buf = pack_any(&m->req.base, m->n_extra, &len);
	if (m->n_extra)
		memcpy(buf + len, m->extra, m->n_extra);
	*ret_len = len + m->n_extra;
	return buf;
}

static void
bytes_free_all(ProtobufCBinaryData *arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i].data);
	free(arr);
}

void
msg_free(struct msg *m)
{
	if (!m)
		return;
	bytes_free_all(m->argv, m->spawn.n_argv);
	bytes_free_all(m->groups, m->spawn.n_groups);
	bytes_free_all(m->env_inherit, m->spawn.n_env_inherit);
	bytes_free_all(m->env_set, m->spawn.n_env_set);
	free(m->spawn.user.data);
	free(m->spawn.group.data);
	free(m->spawn.cwd.data);
	free(m->maps);
	free(m->map_ptrs);
	free(m->extra);
	free(m);
}

size_t
pb_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		out[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

size_t
pb_field_varint(uint8_t *out, unsigned field, uint64_t v)
{
	size_t n = pb_varint(out, (uint64_t)field << 3 | 0);

	return n + pb_varint(out + n, v);
}

size_t
pb_field_bytes(uint8_t *out, unsigned field, const void *data, size_t len)
{
	size_t n = pb_varint(out, (uint64_t)field << 3 | 2);

	n += pb_varint(out + n, len);
	memcpy(out + n, data, len);
	return n + len;
}

/* ---- ck helpers ---- */

int
ck_connect(void)
{
	int fd = rc_connect(fx.sock);

	ck_assert_msg(fd >= 0, "connect %s: %s", fx.sock, strerror(-fd));
	return fd;
}

void
ck_send_raw(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	int r = rc_send(sock, buf, len, fds, n_fds);

	ck_assert_msg(r == 0, "sendmsg of %zu bytes with %zu fds: %s", len, n_fds, strerror(-r));
}

void
ck_send_msg_cred(int sock, struct msg *m, const int *fds, size_t n_fds, const struct ucred *cred)
{
	size_t len;
	uint8_t *buf = msg_pack(m, &len);
	int r = rc_send_cred(sock, buf, len, fds, n_fds, cred);

	ck_assert_msg(r == 0, "sendmsg of %zu bytes with %zu fds%s: %s", len, n_fds,
		      cred ? " and SCM_CREDENTIALS" : "", strerror(-r));
	free(buf);
}

void
ck_send_msg(int sock, struct msg *m, const int *fds, size_t n_fds)
{
	ck_send_msg_cred(sock, m, fds, n_fds, NULL);
}

const char *
reply_describe(const Spawnd__V1__Reply *r)
{
	static char buf[1024];

	switch (r->body_case) {
	case SPAWND__V1__REPLY__BODY_FAILED:
		xsnprintf(buf, sizeof(buf), "Failed{%s, %s, '%s'} id %llu",
			  spawnd_stage_to_string((spawnd_stage)r->failed->stage),
			  strerror(r->failed->errnum), r->failed->detail ? r->failed->detail : "",
			  (unsigned long long)r->id);
		break;
	case SPAWND__V1__REPLY__BODY_STARTED:
		xsnprintf(buf, sizeof(buf), "Started{pid %d} id %llu", r->started->pid,
			  (unsigned long long)r->id);
		break;
	case SPAWND__V1__REPLY__BODY_EXITED:
		xsnprintf(buf, sizeof(buf), "Exited{code %d, signal %d} id %llu",
			  r->exited->has_exit_code ? r->exited->exit_code : -1,
			  r->exited->has_signal ? r->exited->signal : 0, (unsigned long long)r->id);
		break;
	case SPAWND__V1__REPLY__BODY_SIGNAL_SENT:
		xsnprintf(buf, sizeof(buf), "SignalSent id %llu", (unsigned long long)r->id);
		break;
	default:
		xsnprintf(buf, sizeof(buf), "reply body %d id %llu", (int)r->body_case,
			  (unsigned long long)r->id);
		break;
	}
	return buf;
}

Spawnd__V1__Reply *
ck_reply(int sock, unsigned timeout_ms, const char *what)
{
	Spawnd__V1__Reply *rep = NULL;
	int k = rc_recv(sock, &rep, NULL, timeout_ms);

	ck_assert_msg(k == 1, "%s: expected a reply, got %s", what,
		      k == 0 ? "EOF (connection dropped)" : strerror(-k));
	return rep;
}

Spawnd__V1__Reply *
ck_reply_nofd(int sock, unsigned timeout_ms, const char *what)
{
	Spawnd__V1__Reply *rep = NULL;
	int fd = -EBADF, k = rc_recv(sock, &rep, &fd, timeout_ms);

	ck_assert_msg(k == 1, "%s: expected a reply, got %s", what,
		      k == 0 ? "EOF (connection dropped)" : strerror(-k));
	if (fd >= 0)
		(void)close(fd);
	ck_assert_msg(fd < 0, "%s: an fd rode on %s", what, reply_describe(rep));
	return rep;
}

void
ck_expect_failed(int sock, uint64_t id, int stage, int err, const char *what)
{
	Spawnd__V1__Reply *rep = ck_reply(sock, 10000, what);

	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      (int)rep->failed->stage == stage && rep->failed->errnum == err &&
			      rep->id == id,
		      "%s: expected Failed{%s, %s} id %llu, got %s", what,
		      spawnd_stage_to_string((spawnd_stage)stage), strerror(err),
		      (unsigned long long)id, reply_describe(rep));
	wire_reply_free(rep);
}

void
ck_expect_drop(int sock, const char *what)
{
	Spawnd__V1__Reply *rep = ck_reply(sock, 10000, what);
	int k;

	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_FAILED &&
			      rep->failed->stage == SPAWND__V1__STAGE__STAGE_PROTOCOL && rep->id == 0,
		      "%s: expected Failed{PROTOCOL} id 0 before the drop, got %s", what,
		      reply_describe(rep));
	wire_reply_free(rep);
	rep = NULL;
	k = rc_recv(sock, &rep, NULL, 10000);
	ck_assert_msg(k == 0, "%s: the daemon kept the connection after a framing error (%s)", what,
		      k == 1 ? reply_describe(rep) : strerror(-k));
}

void
ck_expect_eof(int sock, const char *what)
{
	Spawnd__V1__Reply *rep = NULL;
	int k = rc_recv(sock, &rep, NULL, 10000);

	ck_assert_msg(k == 0, "%s: expected the connection closed without a reply, got %s", what,
		      k == 1 ? reply_describe(rep) : strerror(-k));
}

pid_t
ck_expect_started(int sock, uint64_t id, const char *what)
{
	Spawnd__V1__Reply *rep = ck_reply(sock, 20000, what);
	pid_t pid;

	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_STARTED && rep->id == id,
		      "%s: expected Started id %llu, got %s", what, (unsigned long long)id,
		      reply_describe(rep));
	pid = rep->started->pid;
	ck_assert_int_gt(pid, 0);
	wire_reply_free(rep);
	return pid;
}

void
ck_expect_exited(int sock, uint64_t id, int code, int signo, const char *what)
{
	Spawnd__V1__Reply *rep = ck_reply(sock, 20000, what);
	const Spawnd__V1__Exited *e;

	ck_assert_msg(rep->body_case == SPAWND__V1__REPLY__BODY_EXITED && rep->id == id,
		      "%s: expected Exited id %llu, got %s", what, (unsigned long long)id,
		      reply_describe(rep));
	e = rep->exited;
	if (code >= 0)
		ck_assert_msg(e->has_exit_code && e->exit_code == code && !e->has_signal,
			      "%s: expected exit code %d, got %s", what, code, reply_describe(rep));
	else
		ck_assert_msg(e->has_signal && e->signal == signo,
			      "%s: expected death by signal %d, got %s", what, signo,
			      reply_describe(rep));
	wire_reply_free(rep);
}

void
ck_expect_silence(int sock, unsigned timeout_ms, const char *what)
{
	Spawnd__V1__Reply *rep = NULL;
	int k = rc_recv(sock, &rep, NULL, timeout_ms);

	ck_assert_msg(k == -ETIMEDOUT, "%s: expected no reply yet, got %s", what,
		      k == 1 ? reply_describe(rep) : k == 0 ? "EOF" : strerror(-k));
}

void
witness_open(struct witness *w)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	w->rd = p[0];
	w->wr = p[1];
}

void
witness_assert_closed(struct witness *w, const char *what)
{
	struct pollfd p = {.fd = w->rd, .events = POLLIN};
	char c;
	int k;

	if (w->wr >= 0)
		(void)close(w->wr);
	w->wr = -1;
	do
		k = poll(&p, 1, 10000);
	while (k < 0 && errno == EINTR);
	ck_assert_msg(k == 1 && read(w->rd, &c, 1) == 0,
		      "%s: a received fd is still open somewhere (daemon or child)", what);
	(void)close(w->rd);
	w->rd = -1;
}

/* ---- the daemon, observed ---- */

long long
proc_cpu_ticks(pid_t pid)
{
	char buf[2048], *p;
	unsigned long long utime, stime;

	if (proc_read(pid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	/* Fields after the parenthesised comm: state(3) ... utime(14) stime(15). */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	return (long long)(utime + stime);
}

void
assert_fds_at(int want, const char *when)
{
	int n = proc_wait_fd_count(fx.pid, want, 5000);

	ck_assert_msg(n == want, "%s: daemon fd count %d, expected %d", when, n, want);
}

void
assert_no_children(unsigned timeout_ms, const char *when)
{
	int n = proc_wait_children(fx.pid, 0, timeout_ms), zombies = 0;

	ck_assert_msg(n == 0, "%s: the daemon still has %d children", when, n);
	ck_assert_int_eq(proc_children(fx.pid, &zombies), 0);
	ck_assert_msg(zombies == 0, "%s: %d zombies", when, zombies);
}

void
assert_daemon_idle(int fds, const char *when)
{
	assert_no_children(10000, when);
	assert_fds_at(fds, when);
}

int
log_count(const char *needle)
{
	struct report rep;
	size_t pos = 0;
	const char *line;
	int n = 0;

	if (report_read_file(fx.log, &rep) < 0)
		return 0;
	while ((line = report_next(&rep, &pos)))
		if (strstr(line, needle))
			n++;
	report_done(&rep);
	return n;
}

bool
log_wait_count(const char *needle, int before, unsigned timeout_ms)
{
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		if (log_count(needle) > before)
			return true;
		if (now_usec() >= end)
			return false;
		harness_sleep_ms(20);
	}
}

void
fx_append_policy(const char *lines)
{
	struct report cur;
	char *text;
	int before = log_count("Reloaded the policy");

	ck_assert_int_eq(report_read_file(fx.conf, &cur), 0);
	/* report_read_file split the lines with NULs: put the newlines back. */
	for (size_t i = 0; i < cur.len; i++)
		if (cur.text[i] == '\0')
			cur.text[i] = '\n';
	ck_assert_int_ge(asprintf(&text, "%.*s%s\n", (int)cur.len, cur.text, lines), 0);
	report_done(&cur);
	write_file(fx.conf, text, 0644);
	free(text);
	ck_assert_int_eq(kill(fx.pid, SIGHUP), 0);
	ck_assert_msg(log_wait_count("Reloaded the policy", before, 10000),
		      "the daemon did not reload the policy");
}

rlim_t
daemon_set_soft_limit(int resource, rlim_t soft)
{
	struct rlimit rl;
	rlim_t old;

	ck_assert_int_eq(prlimit(fx.pid, (__rlimit_resource_t)resource, NULL, &rl), 0);
	old = rl.rlim_cur;
	rl.rlim_cur = soft;
	ck_assert_msg(prlimit(fx.pid, (__rlimit_resource_t)resource, &rl, NULL) == 0,
		      "prlimit(%d, %d): %s", (int)fx.pid, resource, strerror(errno));
	return old;
}

/* ---- forked clients ---- */

pid_t
fork_client(uid_t uid, gid_t gid, client_fn fn, void *arg, int *ret_ctl)
{
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	(void)fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		(void)close(sv[0]);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			rc_report(sv[1], "error=cannot drop privileges: %s", strerror(errno));
			_exit(120);
		}
		/* Die with the test, never linger holding connections. Set after
		 * the uid change, which clears it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg, sv[1]) & 0xff);
	}
	(void)close(sv[1]);
	*ret_ctl = sv[0];
	return pid;
}

void
rc_report(int ctl, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(ctl, buf, (size_t)n);
}

int
rc_wait_go(int ctl)
{
	unsigned char c;
	ssize_t n;

	do
		n = read(ctl, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? c : -1;
}

void
ck_client_line(int ctl, char *buf, size_t size, unsigned timeout_ms, const char *what)
{
	size_t len = 0;
	uint64_t end = now_usec() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		struct pollfd p = {.fd = ctl, .events = POLLIN};
		uint64_t now = now_usec();
		ssize_t n;
		int k;

		ck_assert_msg(now < end, "%s: no line from the client within %u ms", what,
			      timeout_ms);
		k = poll(&p, 1, (int)((end - now) / 1000) + 1);
		if (k <= 0)
			continue;
		/* One byte at a time: the line must not swallow the next one. */
		n = read(ctl, buf + len, 1);
		ck_assert_msg(n == 1, "%s: the client closed its report (%zu bytes so far: '%.*s')",
			      what, len, (int)len, buf);
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return;
		}
		ck_assert_msg(++len < size - 1, "%s: line too long", what);
	}
}

void
ck_client_go(int ctl, char c)
{
	ck_assert_int_eq(write(ctl, &c, 1), 1);
}

void
ck_client_done(pid_t pid, int ctl, const char *what)
{
	int status;

	(void)close(ctl);
	status = wait_pid_deadline(pid, 30000);
	if (status == -1) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		ck_abort_msg("%s: the client did not exit", what);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: the client failed (status 0x%x)", what, (unsigned)status);
}
