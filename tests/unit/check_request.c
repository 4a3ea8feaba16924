/* SPDX-License-Identifier: MIT */
/*
 * Request decoding + validation, table-driven: every rule of request.c has
 * a case that must be refused, and the valid case must come through with
 * exactly the bytes that were sent.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "request.h"
#include "wire.h"

/* A Spawn request under construction, with defaults that make it valid. */
struct builder {
	Spawnd__V1__Request req;
	Spawnd__V1__Spawn spawn;
	ProtobufCBinaryData argv[8];
	ProtobufCBinaryData env_inherit[8];
	ProtobufCBinaryData env_set[8];
	ProtobufCBinaryData groups[4];
	Spawnd__V1__FdMap maps[8];
	Spawnd__V1__FdMap *map_ptrs[8];
};

static ProtobufCBinaryData
bytes(const char *s)
{
	return (ProtobufCBinaryData){.len = strlen(s), .data = (uint8_t *)s};
}

static void
builder_init(struct builder *b)
{
	memset(b, 0, sizeof(*b));
	b->req = (Spawnd__V1__Request)SPAWND__V1__REQUEST__INIT;
	b->spawn = (Spawnd__V1__Spawn)SPAWND__V1__SPAWN__INIT;
	b->req.version = SPAWND_PROTOCOL_VERSION;
	b->req.id = 42;
	b->req.body_case = SPAWND__V1__REQUEST__BODY_SPAWN;
	b->req.spawn = &b->spawn;
	b->argv[0] = bytes("/usr/bin/id");
	b->argv[1] = bytes("-u");
	b->spawn.n_argv = 2;
	b->spawn.argv = b->argv;
	b->spawn.has_user = true;
	b->spawn.user = bytes("nobody");
	b->spawn.env_inherit = b->env_inherit;
	b->spawn.env_set = b->env_set;
	b->spawn.groups = b->groups;
	for (int i = 0; i < 8; i++) {
		b->maps[i] = (Spawnd__V1__FdMap)SPAWND__V1__FD_MAP__INIT;
		b->map_ptrs[i] = &b->maps[i];
	}
	b->spawn.fds = b->map_ptrs;
}

static void
add_map(struct builder *b, unsigned index, unsigned target)
{
	b->maps[b->spawn.n_fds].index = index;
	b->maps[b->spawn.n_fds].target = target;
	b->spawn.n_fds++;
}

static int
decode(struct builder *b, size_t n_fds, struct request **ret, const char **ret_error)
{
	uint8_t buf[4096];
	size_t len = protobuf_c_message_pack(&b->req.base, buf);
	uint64_t id = 0;
	int r;

	*ret = NULL;
	r = request_decode(buf, len, n_fds, ret, &id, ret_error);
	/* The id is reported even when the request is refused. */
	ck_assert_uint_eq(id, 42);
	return r;
}

START_TEST(test_valid_spawn)
{
	struct builder b;
	struct request *r;
	const char *error = NULL;

	builder_init(&b);
	b.env_inherit[0] = bytes("TERM=xterm");
	b.env_inherit[1] = bytes("EMPTY=");
	b.spawn.n_env_inherit = 2;
	b.env_set[0] = bytes("FOO=a=b");
	b.spawn.n_env_set = 1;
	add_map(&b, 0, 1);
	add_map(&b, 1, 0);
	add_map(&b, 0, 7);
	b.spawn.has_umask = true;
	b.spawn.umask = 077;
	b.spawn.has_timeout_ms = true;
	b.spawn.timeout_ms = 1500;
	b.spawn.has_on_disconnect = true;
	b.spawn.on_disconnect = SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_KEEP;
	b.spawn.has_kill_grace_ms = true;
	b.spawn.kill_grace_ms = 250;
	b.spawn.has_want_pidfd = true;
	b.spawn.want_pidfd = true;

	ck_assert_int_eq(decode(&b, 2, &r, &error), 0);
	ck_assert_int_eq(r->kind, REQUEST_SPAWN);
	ck_assert_uint_eq(r->id, 42);
	ck_assert_uint_eq(r->spawn.argc, 2);
	ck_assert_str_eq(r->spawn.argv[0], "/usr/bin/id");
	ck_assert_str_eq(r->spawn.argv[1], "-u");
	ck_assert_ptr_null(r->spawn.argv[2]);
	ck_assert_str_eq(r->spawn.user, "nobody");
	ck_assert_ptr_null(r->spawn.group);
	ck_assert_ptr_null(r->spawn.groups);
	ck_assert_str_eq(r->spawn.cwd, "/"); /* default */
	ck_assert_uint_eq(r->spawn.umask, 077);
	ck_assert_uint_eq(r->spawn.n_fds, 3);
	ck_assert_int_eq(r->spawn.fds[1].target, 0);
	ck_assert_uint_eq(r->spawn.fds[1].index, 1);
	ck_assert_str_eq(r->spawn.env_inherit[1], "EMPTY=");
	ck_assert_str_eq(r->spawn.env_set[0], "FOO=a=b");
	ck_assert_ptr_null(r->spawn.env_set[1]);
	ck_assert_int_eq(r->spawn.on_disconnect, ON_DISCONNECT_KEEP);
	ck_assert_uint_eq(r->spawn.timeout_usec, 1500000);
	ck_assert_uint_eq(r->spawn.kill_grace_usec, 250000);
	ck_assert(r->spawn.want_pidfd);
	request_free(r);

	/* Defaults: umask 022, terminate, no timeout, the daemon's grace, no pidfd. */
	builder_init(&b);
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_uint_eq(r->spawn.umask, 022);
	ck_assert_int_eq(r->spawn.on_disconnect, ON_DISCONNECT_TERMINATE);
	ck_assert_uint_eq(r->spawn.timeout_usec, 0);
	ck_assert_uint_eq(r->spawn.kill_grace_usec, SPAWND_KILL_GRACE_SEC * 1000000ull);
	ck_assert(!r->spawn.want_pidfd);
	request_free(r);

	/* want_pidfd present but false is no pidfd. */
	builder_init(&b);
	b.spawn.has_want_pidfd = true;
	b.spawn.want_pidfd = false;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert(!r->spawn.want_pidfd);
	request_free(r);
}
END_TEST

/* exec_path is the program apart from argv; no_groups is an empty, non-NULL list. */
START_TEST(test_exec_path_and_no_groups)
{
	struct builder b;
	struct request *r;
	const char *error = NULL;

	builder_init(&b);
	b.argv[0] = bytes("-id");
	b.spawn.has_exec_path = true;
	b.spawn.exec_path = bytes("/usr/bin/id");
	b.spawn.has_no_groups = true;
	b.spawn.no_groups = true;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_str_eq(r->spawn.argv[0], "-id");
	ck_assert_str_eq(r->spawn.exec_path, "/usr/bin/id");
	ck_assert_str_eq(request_program(&r->spawn), "/usr/bin/id");
	ck_assert_ptr_nonnull(r->spawn.groups);
	ck_assert_ptr_null(r->spawn.groups[0]);
	ck_assert_uint_eq(r->spawn.n_groups, 0);
	request_free(r);

	/* A bare name, as argv[0] may be; absent = argv[0]; no_groups false = all. */
	b.spawn.exec_path = bytes("id");
	b.spawn.no_groups = false;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_str_eq(request_program(&r->spawn), "id");
	ck_assert_ptr_null(r->spawn.groups);
	request_free(r);
	b.spawn.has_exec_path = false;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_ptr_null(r->spawn.exec_path);
	ck_assert_str_eq(request_program(&r->spawn), "-id");
	request_free(r);

	/* The rules of argv[0]; no_groups with groups is a contradiction. */
	b.spawn.has_exec_path = true;
	b.spawn.exec_path = bytes("bin/id");
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "command path is relative");
	b.spawn.exec_path = bytes("");
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "exec_path is empty");
	b.spawn.exec_path = bytes("/usr/bin/id");
	b.spawn.no_groups = true;
	b.groups[0] = bytes("nogroup");
	b.spawn.n_groups = 1;
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "no_groups with groups");
	ck_assert_ptr_null(r);
}
END_TEST

/* Each on_disconnect choice decodes to its own value; the grace has a hard cap. */
START_TEST(test_on_disconnect_and_grace)
{
	static const struct {
		Spawnd__V1__OnDisconnect wire;
		enum on_disconnect want;
	} choices[] = {
		{SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_TERMINATE, ON_DISCONNECT_TERMINATE},
		{SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_KEEP, ON_DISCONNECT_KEEP},
		{SPAWND__V1__ON_DISCONNECT__ON_DISCONNECT_HANGUP, ON_DISCONNECT_HANGUP},
	};
	struct builder b;
	struct request *r;
	const char *error = NULL;

	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++) {
		builder_init(&b);
		b.spawn.has_on_disconnect = true;
		b.spawn.on_disconnect = choices[i].wire;
		ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
		ck_assert_int_eq(r->spawn.on_disconnect, choices[i].want);
		request_free(r);
	}

	/* 0 is a valid grace (SIGKILL right after SIGTERM); the cap is inclusive. */
	builder_init(&b);
	b.spawn.has_kill_grace_ms = true;
	b.spawn.kill_grace_ms = 0;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_uint_eq(r->spawn.kill_grace_usec, 0);
	request_free(r);
	b.spawn.kill_grace_ms = SPAWND_MAX_KILL_GRACE_MS;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_uint_eq(r->spawn.kill_grace_usec, SPAWND_MAX_KILL_GRACE_MS * 1000);
	request_free(r);
	b.spawn.kill_grace_ms = SPAWND_MAX_KILL_GRACE_MS + 1;
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(error, "kill grace too long");
	b.spawn.kill_grace_ms = UINT64_MAX;
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_ptr_null(r);
}
END_TEST

/* One invalid variation of a valid request per case. */
struct bad_case {
	const char *name;
	void (*mutate)(struct builder *b);
	size_t n_fds;
	int error;
};

static void
m_no_argv(struct builder *b)
{
	b->spawn.n_argv = 0;
}
static void
m_empty_argv0(struct builder *b)
{
	b->argv[0] = bytes("");
}
static void
m_relative_slash(struct builder *b)
{
	b->argv[0] = bytes("./x");
}
static void
m_relative_dir(struct builder *b)
{
	b->argv[0] = bytes("bin/x");
}
static void
m_nul_argv(struct builder *b)
{
	static const uint8_t s[] = {'/', 'b', 'i', 'n', '/', 'x', 0, 'y'};

	b->argv[1] = (ProtobufCBinaryData){.len = sizeof(s), .data = (uint8_t *)s};
}
static void
m_nul_env(struct builder *b)
{
	static const uint8_t s[] = {'A', '=', 'b', 0, 'c'};

	b->env_set[0] = (ProtobufCBinaryData){.len = sizeof(s), .data = (uint8_t *)s};
	b->spawn.n_env_set = 1;
}
static void
m_no_user(struct builder *b)
{
	b->spawn.has_user = false;
}
static void
m_empty_user(struct builder *b)
{
	b->spawn.user = bytes("");
}
static void
m_empty_group(struct builder *b)
{
	b->spawn.has_group = true;
	b->spawn.group = bytes("");
}
static void
m_empty_groups(struct builder *b)
{
	b->groups[0] = bytes("");
	b->spawn.n_groups = 1;
}
static void
m_relative_cwd(struct builder *b)
{
	b->spawn.has_cwd = true;
	b->spawn.cwd = bytes("tmp");
}
static void
m_umask(struct builder *b)
{
	b->spawn.has_umask = true;
	b->spawn.umask = 01000;
}
static void
m_env_no_eq(struct builder *b)
{
	b->env_inherit[0] = bytes("FOO");
	b->spawn.n_env_inherit = 1;
}
static void
m_env_empty_name(struct builder *b)
{
	b->env_set[0] = bytes("=x");
	b->spawn.n_env_set = 1;
}
static void
m_env_dup(struct builder *b)
{
	b->env_inherit[0] = bytes("A=1");
	b->env_inherit[1] = bytes("B=2");
	b->env_inherit[2] = bytes("A=3");
	b->spawn.n_env_inherit = 3;
}
static void
m_fd_index(struct builder *b)
{
	add_map(b, 1, 0);
}
static void
m_fd_target(struct builder *b)
{
	add_map(b, 0, SPAWND_MAX_TARGET_FD + 1);
}
static void
m_fd_dup_target(struct builder *b)
{
	add_map(b, 0, 1);
	add_map(b, 0, 1);
}
static void
m_fd_unused(struct builder *b)
{
	add_map(b, 0, 1);
}
static void
m_on_disconnect(struct builder *b)
{
	b->spawn.has_on_disconnect = true;
	b->spawn.on_disconnect = 7;
}
static void
m_timeout(struct builder *b)
{
	b->spawn.has_timeout_ms = true;
	b->spawn.timeout_ms = SPAWND_MAX_TIMEOUT_MS + 1;
}
static void
m_no_body(struct builder *b)
{
	b->req.body_case = SPAWND__V1__REQUEST__BODY__NOT_SET;
}

static const struct bad_case bad_cases[] = {
	{"argc 0", m_no_argv, 0, -EINVAL},
	{"empty argv[0]", m_empty_argv0, 0, -EINVAL},
	{"./x", m_relative_slash, 0, -EINVAL},
	{"bin/x", m_relative_dir, 0, -EINVAL},
	{"NUL in argv", m_nul_argv, 0, -EINVAL},
	{"NUL in env", m_nul_env, 0, -EINVAL},
	{"no user", m_no_user, 0, -EINVAL},
	{"empty user", m_empty_user, 0, -EINVAL},
	{"empty group", m_empty_group, 0, -EINVAL},
	{"empty supplementary group", m_empty_groups, 0, -EINVAL},
	{"relative cwd", m_relative_cwd, 0, -EINVAL},
	{"umask > 0777", m_umask, 0, -EINVAL},
	{"env without =", m_env_no_eq, 0, -EINVAL},
	{"env =value", m_env_empty_name, 0, -EINVAL},
	{"duplicate env", m_env_dup, 0, -EINVAL},
	{"fd index out of range", m_fd_index, 1, -EINVAL},
	{"fd target out of range", m_fd_target, 1, -EINVAL},
	{"fd target twice", m_fd_dup_target, 1, -EINVAL},
	{"received fd unused", m_fd_unused, 2, -EINVAL},
	{"unknown on_disconnect", m_on_disconnect, 0, -EINVAL},
	{"timeout too long", m_timeout, 0, -EINVAL},
	{"no body", m_no_body, 0, -EINVAL},
};

START_TEST(test_invalid_spawn)
{
	const struct bad_case *c = &bad_cases[_i];
	struct builder b;
	struct request *r;
	const char *error = NULL;
	int ret;

	builder_init(&b);
	c->mutate(&b);
	ret = decode(&b, c->n_fds, &r, &error);
	ck_assert_msg(ret == c->error, "%s: got %d, want %d", c->name, ret, c->error);
	ck_assert_ptr_null(r);
	ck_assert_msg(error && *error, "%s: no reason given", c->name);
}
END_TEST

START_TEST(test_caps)
{
	static ProtobufCBinaryData many[SPAWND_MAX_ARGV + 1];
	Spawnd__V1__Request *req;
	struct builder b;
	struct request *r = NULL;
	const char *error;
	uint8_t *buf = malloc(SPAWND_MAX_MESSAGE_BYTES * 2);
	size_t len;
	uint64_t id;
	char *big;

	builder_init(&b);
	for (size_t i = 0; i <= SPAWND_MAX_ARGV; i++)
		many[i] = bytes("a");
	b.spawn.argv = many;
	b.spawn.n_argv = SPAWND_MAX_ARGV + 1;
	req = &b.req;
	len = protobuf_c_message_pack(&req->base, buf);
	ck_assert_int_eq(request_decode(buf, len, 0, &r, &id, &error), -E2BIG);
	ck_assert_ptr_null(r);

	/* argv + env over the exec-size cap. */
	builder_init(&b);
	big = malloc(100 * 1024);
	memset(big, 'x', 100 * 1024 - 1);
	big[100 * 1024 - 1] = '\0';
	b.argv[1] = bytes(big);
	b.argv[2] = bytes(big);
	b.argv[3] = bytes(big);
	b.spawn.n_argv = 4;
	len = protobuf_c_message_pack(&b.req.base, buf);
	if (len <= SPAWND_MAX_MESSAGE_BYTES)
		ck_assert_int_eq(request_decode(buf, len, 0, &r, &id, &error), -E2BIG);
	free(big);
	free(buf);
}
END_TEST

START_TEST(test_signal)
{
	Spawnd__V1__Request req = SPAWND__V1__REQUEST__INIT;
	Spawnd__V1__Signal sig = SPAWND__V1__SIGNAL__INIT;
	struct request *r = NULL;
	const char *error;
	uint8_t buf[128];
	size_t len;
	uint64_t id;

	req.version = SPAWND_PROTOCOL_VERSION;
	req.id = 9;
	req.body_case = SPAWND__V1__REQUEST__BODY_SIGNAL;
	req.signal = &sig;
	sig.spawn_id = 3;
	sig.signo = SIGTERM;
	sig.has_process_group = true;
	sig.process_group = true;
	len = protobuf_c_message_pack(&req.base, buf);
	ck_assert_int_eq(request_decode(buf, len, 0, &r, &id, &error), 0);
	ck_assert_int_eq(r->kind, REQUEST_SIGNAL);
	ck_assert_uint_eq(r->signal.spawn_id, 3);
	ck_assert_int_eq(r->signal.signo, SIGTERM);
	ck_assert(r->signal.process_group);
	request_free(r);

	/* A signal request never carries fds. */
	ck_assert_int_eq(request_decode(buf, len, 1, &r, &id, &error), -EINVAL);

	for (int bad = 0; bad < 3; bad++) {
		const int values[] = {0, -1, NSIG};

		sig.signo = values[bad];
		len = protobuf_c_message_pack(&req.base, buf);
		ck_assert_int_eq(request_decode(buf, len, 0, &r, &id, &error), -EINVAL);
	}
}
END_TEST

START_TEST(test_framing_errors)
{
	struct request *r = NULL;
	const char *error = NULL;
	uint8_t garbage[64];
	uint64_t id = 1;

	memset(garbage, 0xa5, sizeof(garbage));
	ck_assert_int_eq(request_decode(garbage, sizeof(garbage), 0, &r, &id, &error), -EBADMSG);
	ck_assert_uint_eq(id, 0);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(request_decode(garbage, 0, 0, &r, &id, &error), -EBADMSG);
}
END_TEST

/* A pty request: its window size, its range, and a terminal must reach fd 0-2. */
START_TEST(test_pty)
{
	Spawnd__V1__PtyRequest pty = SPAWND__V1__PTY_REQUEST__INIT;
	struct builder b;
	struct request *r;
	const char *error = NULL;

	/* Absent: no terminal. */
	builder_init(&b);
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert(!r->spawn.pty);
	request_free(r);

	builder_init(&b);
	pty.rows = 33;
	pty.cols = 101;
	pty.has_xpixel = pty.has_ypixel = true;
	pty.xpixel = 640;
	pty.ypixel = 480;
	b.spawn.pty = &pty;
	add_map(&b, 0, 2); /* stderr elsewhere: 0 and 1 get the terminal */
	ck_assert_int_eq(decode(&b, 1, &r, &error), 0);
	ck_assert(r->spawn.pty);
	ck_assert_uint_eq(r->spawn.pty_rows, 33);
	ck_assert_uint_eq(r->spawn.pty_cols, 101);
	ck_assert_uint_eq(r->spawn.pty_xpixel, 640);
	ck_assert_uint_eq(r->spawn.pty_ypixel, 480);
	request_free(r);

	/* 0x0 is a valid size (unknown), 65535 the largest. */
	pty = (Spawnd__V1__PtyRequest)SPAWND__V1__PTY_REQUEST__INIT;
	pty.cols = 65535;
	builder_init(&b);
	b.spawn.pty = &pty;
	ck_assert_int_eq(decode(&b, 0, &r, &error), 0);
	ck_assert_uint_eq(r->spawn.pty_rows, 0);
	ck_assert_uint_eq(r->spawn.pty_cols, 65535);
	request_free(r);

	pty.cols = 65536;
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "pty window size out of range");
	pty.cols = 80;
	pty.has_ypixel = true;
	pty.ypixel = UINT32_MAX;
	ck_assert_int_eq(decode(&b, 0, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "pty window size out of range");
	pty.ypixel = 0;

	/* All of 0-2 mapped: the terminal would reach the child nowhere. */
	add_map(&b, 0, 0);
	add_map(&b, 0, 1);
	add_map(&b, 0, 2);
	ck_assert_int_eq(decode(&b, 1, &r, &error), -EINVAL);
	ck_assert_str_eq(error, "pty requested but fds 0, 1 and 2 are all mapped");
}
END_TEST

static Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_valid_spawn);
	tcase_add_test(tc, test_on_disconnect_and_grace);
	tcase_add_test(tc, test_exec_path_and_no_groups);
	tcase_add_loop_test(tc, test_invalid_spawn, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_framing_errors);
	tcase_add_test(tc, test_pty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(request_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
