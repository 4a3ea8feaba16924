// SPDX-License-Identifier: MIT
// The public header must be usable from C++: extern "C" linkage, no C-only
// constructs. Compiled with -fsyntax-only and SPAWND_WARN_DEPRECATED by
// ctest (the current API only); never linked.
#include <spawnd/spawnd.h>

static void on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	(void)c;
	(void)userdata;
	(void)spawnd_stage_to_string(spawnd_result_get_stage(r));
}

int main(int argc, char **argv)
{
	spawnd_client *c = nullptr;
	spawnd_options *o = nullptr;
	spawnd_result *r = nullptr;
	spawnd_spawn_cb cb = on_reply;
	spawnd_stage stage = SPAWND_STAGE_EXEC;
	spawnd_state state = SPAWND_STATE_PENDING;
	int e;

	(void)cb;
	(void)stage;
	(void)state;
	(void)argc;
	if (spawnd_client_open(&c, SPAWND_DEFAULT_SOCKET, 0) < 0)
		return 1;
	if (spawnd_client_get_events(c) != POLLIN)
		return 1;
	(void)spawnd_options_new(&o);
	(void)spawnd_options_set_argv(o, argv + 1);
	(void)spawnd_options_set_time_limit(o, SPAWND_NO_TIME_LIMIT);
	e = spawnd_run(c, o, SPAWND_WAIT_INFINITE, &r);
	r = spawnd_result_free(r);
	o = spawnd_options_free(o);
	c = spawnd_client_close(c);
	return e < 0;
}
