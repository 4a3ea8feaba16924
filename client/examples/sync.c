/* SPDX-License-Identifier: MIT */
/*
 * The synchronous API of libspawnd in two steps: spawnd_start() waits for
 * the start, spawnd_wait_exit() for the exit (spawnd_run() does both in one
 * call: see run.c). Both are the asynchronous calls plus a wait with a
 * deadline, and both return 0 only when the child got there: a refusal or
 * a failed exec is a negative errno, with the FAILED result in *ret.
 *
 *   spawnd-example-sync [SOCKET]
 *
 * Runs `/bin/echo hello from spawnd` as user nobody with this program's
 * stdout as the child's, prints its exit report, then asks for a command
 * that does not exist and prints the failure (stage, errno, detail).
 * Exits 0 when echo exited 0 and the second request failed; 1 otherwise.
 */
#define _GNU_SOURCE

#include <inttypes.h>
#include <spawnd/spawnd.h>
#include <stdio.h>
#include <string.h>

#define TIMEOUT_USEC (10 * 1000000ull)

/* Print a FAILED result the way spawnctl does: stage, detail, strerror. */
static void
print_failure(const char *what, const spawnd_result *r)
{
	printf("%s: failed: %s %s: %s\n", what, spawnd_stage_to_string(spawnd_result_get_stage(r)),
	       spawnd_result_get_detail(r), strerror(spawnd_result_get_errno(r)));
}

/* Run argv as nobody and wait for it; returns its exit code, or -1. */
static int
run(spawnd_client *c, const char *const *argv, int stdout_fd)
{
	spawnd_options *o = NULL;
	spawnd_result *started = NULL, *exited = NULL;
	int r, code = -1;

	r = spawnd_options_new(&o);
	/*
	 * argv is char *const *, like execv(3)'s: our literals are const
	 * (-Wwrite-strings), and the library only copies the strings.
	 */
	if (r == 0)
		r = spawnd_options_set_argv(o, (char *const *)argv);
	if (r == 0)
		r = spawnd_options_set_user(o, "nobody");
	/* The fd is sent with the request; we keep our own. */
	if (r == 0 && stdout_fd >= 0)
		r = spawnd_options_add_fd(o, 1, stdout_fd);
	/* started is set on every path once the request is sent. */
	if (r == 0)
		r = spawnd_start(c, o, TIMEOUT_USEC, &started);
	spawnd_options_free(o);
	if (r < 0) {
		if (spawnd_result_get_state(started) == SPAWND_STATE_FAILED)
			print_failure(argv[0], started);
		else
			fprintf(stderr, "%s: %s\n", argv[0], strerror(-r));
		spawnd_result_free(started);
		return -1;
	}
	printf("%s: started pid=%d\n", argv[0], (int)spawnd_result_get_pid(started));
	/* Flush before the child writes to the same stdout. */
	(void)fflush(stdout);

	r = spawnd_wait_exit(c, spawnd_result_get_id(started), TIMEOUT_USEC, &exited);
	spawnd_result_free(started);
	if (r < 0) {
		fprintf(stderr, "%s: wait: %s\n", argv[0], strerror(-r));
		spawnd_result_free(exited);
		return -1;
	}
	printf("%s: exited code=%d signal=%d core_dumped=%d user_us=%" PRIu64 " sys_us=%" PRIu64
	       " maxrss_kb=%" PRIu64 " wall_us=%" PRIu64 "\n",
	       argv[0], spawnd_result_get_exit_code(exited), spawnd_result_get_signal(exited),
	       spawnd_result_get_core_dumped(exited), spawnd_result_get_user_cpu_usec(exited),
	       spawnd_result_get_sys_cpu_usec(exited), spawnd_result_get_max_rss_kb(exited),
	       spawnd_result_get_wall_usec(exited));
	code = spawnd_result_get_exit_code(exited);
	spawnd_result_free(exited);
	return code;
}

int
main(int argc, char **argv)
{
	const char *const echo[] = {"/bin/echo", "hello from spawnd", NULL};
	const char *const missing[] = {"/nonexistent/spawnd-example", NULL};
	spawnd_client *c = NULL;
	int r, echo_code, missing_code;

	r = spawnd_client_open(&c, argc > 1 ? argv[1] : NULL, 0);
	if (r < 0) {
		fprintf(stderr, "cannot connect to spawnd: %s\n", strerror(-r));
		return 1;
	}
	(void)fflush(stdout);
	echo_code = run(c, echo, 1);
	missing_code = run(c, missing, -1);
	spawnd_client_close(c);

	if (echo_code == 0 && missing_code == -1) {
		printf("ok\n");
		return 0;
	}
	printf("unexpected outcome\n");
	return 1;
}
