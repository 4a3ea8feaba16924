/* SPDX-License-Identifier: MIT */
/*
 * The EXAMPLE of libspawnd(3), verbatim from the next line on: run one
 * program as another user and wait for its exit with spawnd_run().
 * ctest client/manpage-example fails when the two differ.
 *
 *   spawnd-example-run USER COMMAND [ARG...]
 *
 * The daemon is $SPAWND_SOCKET, else SPAWND_DEFAULT_SOCKET. Exits like a
 * shell: the program's exit code, 128+N when signal N killed it, 127 when
 * it was not found, 126 when it could not run for another reason.
 */
#include <errno.h>
#include <spawnd/spawnd.h>
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	spawnd_client *c = NULL;
	spawnd_options *o = NULL;
	spawnd_result *r = NULL;
	int e, status;

	if (argc < 3) {
		fprintf(stderr, "usage: %s USER COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	e = spawnd_client_open(&c, NULL, 0);
	if (e == 0)
		e = spawnd_options_new(&o);
	if (e == 0)
		e = spawnd_options_set_user(o, argv[1]);
	if (e == 0)
		e = spawnd_options_set_argv(o, argv + 2);
	/* The child writes to our stdout and stderr. */
	if (e == 0)
		e = spawnd_options_add_fd(o, 1, 1);
	if (e == 0)
		e = spawnd_options_add_fd(o, 2, 2);
	/* One call: 0 when the program ran and exited, else -errno. */
	if (e == 0)
		e = spawnd_run(c, o, SPAWND_WAIT_INFINITE, &r);

	if (e < 0 && r) {
		/* Refused, or failed before the program ran: where and why. */
		fprintf(stderr, "%s: %s %s: %s\n", argv[2],
			spawnd_stage_to_string(spawnd_result_get_stage(r)),
			spawnd_result_get_detail(r), strerror(-e));
		status = e == -ENOENT ? 127 : 126;
	} else if (e < 0) {
		/* No daemon, bad options: nothing was sent. */
		fprintf(stderr, "%s: %s\n", argv[2], strerror(-e));
		status = 126;
	} else if (spawnd_result_get_signal(r) > 0) {
		fprintf(stderr, "%s: killed by signal %d\n", argv[2], spawnd_result_get_signal(r));
		status = 128 + spawnd_result_get_signal(r);
	} else {
		status = spawnd_result_get_exit_code(r);
	}

	spawnd_result_free(r);
	spawnd_options_free(o);
	spawnd_client_close(c);
	return status;
}
