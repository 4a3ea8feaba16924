/* SPDX-License-Identifier: MIT */
/*
 * The public header must stand alone as plain C99 with -pedantic: no GNU
 * extensions, no dependency on anything but the standard and sys/types.h.
 * Compiled with -fsyntax-only by ctest; never linked.
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
main(void)
{
	spawnd_client *c = 0;
	spawnd_options *o = 0;
	spawnd_spawn_cb cb = on_reply;
	spawnd_state st = SPAWND_STATE_EXITED;
	spawnd_stage sg = SPAWND_STAGE_PROTOCOL;

	(void)cb;
	(void)st;
	(void)sg;
	if (spawnd_client_open(&c, 0, 0) < 0)
		return 1;
	(void)spawnd_options_new(&o);
	o = spawnd_options_free(o);
	c = spawnd_client_close(c);
	return (int)spawnd_version() == 0;
}
