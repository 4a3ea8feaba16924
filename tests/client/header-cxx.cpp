// SPDX-License-Identifier: MIT
// The public header must be usable from C++: extern "C" linkage, no C-only
// constructs. Compiled with -fsyntax-only by ctest; never linked.
#include <spawnd/spawnd.h>

static void on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	(void)c;
	(void)userdata;
	(void)spawnd_stage_to_string(spawnd_result_get_stage(r));
}

int main()
{
	spawnd_client *c = nullptr;
	spawnd_spawn_cb cb = on_reply;
	spawnd_stage stage = SPAWND_STAGE_EXEC;
	spawnd_state state = SPAWND_STATE_PENDING;

	(void)cb;
	(void)stage;
	(void)state;
	if (spawnd_client_open(&c, nullptr, 0) < 0)
		return 1;
	c = spawnd_client_close(c);
	return 0;
}
