/* SPDX-License-Identifier: MIT */
/*
 * The public header must stand alone as plain C99 with -pedantic: no GNU
 * extensions, no dependency on anything but the standard, sys/types.h and
 * poll.h (which it includes itself: POLLIN below needs no include here).
 * Compiled with -fsyntax-only and SPAWND_WARN_DEPRECATED by ctest, so that
 * everything used here must be the current API; never linked.
 */
#include <spawnd/spawnd.h>

static void
on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	(void)c;
	(void)userdata;
	(void)spawnd_stage_to_string(spawnd_result_get_stage(r));
}

int
main(int argc, char **argv)
{
	spawnd_client *c = 0;
	spawnd_options *o = 0;
	spawnd_result *r = 0;
	spawnd_spawn_cb cb = on_reply;
	spawnd_state st = SPAWND_STATE_EXITED;
	spawnd_stage sg = SPAWND_STAGE_PROTOCOL;
	const char *sock = SPAWND_DEFAULT_SOCKET;
	uint64_t forever = SPAWND_WAIT_INFINITE, no_limit = SPAWND_NO_TIME_LIMIT;
	int e;

	(void)cb;
	(void)st;
	(void)sg;
	(void)argc;
	if (spawnd_client_open(&c, sock, 0) < 0)
		return 1;
	if (spawnd_client_get_events(c) != POLLIN)
		return 1;
	(void)spawnd_options_new(&o);
	/* main()'s argv passes as it is: char *const *, like execv(3). */
	(void)spawnd_options_set_argv(o, argv + 1);
	(void)spawnd_options_add_env(o, "A=1");
	(void)spawnd_options_add_inherited_envp(o, argv);
	(void)spawnd_options_set_time_limit(o, no_limit);
	e = spawnd_run(c, o, forever, &r);
	if (e < 0 && spawnd_result_get_state(r) == SPAWND_STATE_FAILED)
		e = spawnd_result_get_errno(r);
	r = spawnd_result_free(r);
	(void)spawnd_start(c, o, 0, &r);
	(void)spawnd_wait_exit(c, spawnd_result_get_id(r), forever, &r);
	r = spawnd_result_free(r);
	o = spawnd_options_free(o);
	c = spawnd_client_close(c);
	return e + (int)spawnd_version() == 0;
}
