/* SPDX-License-Identifier: MIT */
/*
 * libspawnd in a plain poll(2) loop: two spawns on one connection, replies
 * dispatched to per-spawn callbacks, and the child's pidfd polled for its
 * exit next to the daemon connection.
 *
 *   spawnd-example-poll [SOCKET]
 *
 * Runs, as user nobody, `/bin/sh -c 'exit 3'` and `/bin/sleep 0.2` (the
 * latter with want_pidfd). Exits 0 when the first exited with 3, the second
 * with 0, and the pidfd became readable; 1 otherwise.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <spawnd/spawnd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct job {
	const char *name;
	int want_code;
	bool done;
	bool ok;
	int pidfd; /* our own duplicate while we poll it, else -1 */
	bool pidfd_fired;
};

/* One line per reply; the result is borrowed for the duration of the call. */
static void
on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct job *job = userdata;
	uint64_t id = spawnd_result_get_id(r);

	(void)c;
	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		printf("%s: started id=%" PRIu64 " pid=%d\n", job->name, id,
		       (int)spawnd_result_get_pid(r));
		if (spawnd_result_get_pidfd(r) >= 0) {
			/* Borrowed until the final callback: keep our own copy. */
			job->pidfd = fcntl(spawnd_result_get_pidfd(r), F_DUPFD_CLOEXEC, 3);
			if (job->pidfd < 0)
				fprintf(stderr, "%s: cannot duplicate the pidfd: %s\n", job->name,
					strerror(errno));
		}
		break;
	case SPAWND_STATE_EXITED:
		printf("%s: exited id=%" PRIu64 " pid=%d code=%d signal=%d user_us=%" PRIu64
		       " sys_us=%" PRIu64 " maxrss_kb=%" PRIu64 " wall_us=%" PRIu64 "\n",
		       job->name, id, (int)spawnd_result_get_pid(r), spawnd_result_get_exit_code(r),
		       spawnd_result_get_signal(r), spawnd_result_get_user_cpu_usec(r),
		       spawnd_result_get_sys_cpu_usec(r), spawnd_result_get_max_rss_kb(r),
		       spawnd_result_get_wall_usec(r));
		job->ok = spawnd_result_get_exit_code(r) == job->want_code;
		job->done = true;
		break;
	case SPAWND_STATE_FAILED:
		printf("%s: failed id=%" PRIu64 " stage=%s errno=%d (%s) detail='%s'\n", job->name,
		       id, spawnd_stage_to_string(spawnd_result_get_stage(r)),
		       spawnd_result_get_errno(r), strerror(spawnd_result_get_errno(r)),
		       spawnd_result_get_detail(r));
		job->done = true;
		break;
	default:
		break;
	}
}

static int
start(spawnd_client *c, struct job *job, const char *const *argv, int want_pidfd)
{
	spawnd_options *o = NULL;
	uint64_t id;
	int r;

	r = spawnd_options_new(&o);
	/*
	 * argv is char *const *, like execv(3)'s: our literals are const
	 * (-Wwrite-strings), and the library only copies the strings.
	 */
	if (r == 0)
		r = spawnd_options_set_argv(o, (char *const *)argv);
	if (r == 0)
		r = spawnd_options_set_user(o, "nobody");
	if (r == 0)
		r = spawnd_options_set_want_pidfd(o, want_pidfd);
	if (r == 0)
		r = spawnd_spawn_async(c, o, on_reply, job, &id);
	spawnd_options_free(o);
	if (r < 0)
		fprintf(stderr, "%s: cannot spawn: %s\n", job->name, strerror(-r));
	return r;
}

int
main(int argc, char **argv)
{
	const char *const shell[] = {"/bin/sh", "-c", "exit 3", NULL};
	const char *const sleeper[] = {"/bin/sleep", "0.2", NULL};
	struct job jobs[2] = {
		{.name = "shell", .want_code = 3, .pidfd = -1},
		{.name = "sleeper", .want_code = 0, .pidfd = -1},
	};
	spawnd_client *c = NULL;
	int r, status = 1;

	/* NULL: the library uses $SPAWND_SOCKET, else /run/spawnd.sock. */
	r = spawnd_client_open(&c, argc > 1 ? argv[1] : NULL, 0);
	if (r < 0) {
		fprintf(stderr, "cannot connect to spawnd: %s\n", strerror(-r));
		return 1;
	}
	if (start(c, &jobs[0], shell, 0) < 0 || start(c, &jobs[1], sleeper, 1) < 0)
		goto out;

	while (!jobs[0].done || !jobs[1].done || jobs[1].pidfd >= 0) {
		struct pollfd p[2] = {
			{.fd = spawnd_client_get_fd(c),
			 .events = (short)spawnd_client_get_events(c)},
			/* poll(2) skips a negative fd. */
			{.fd = jobs[1].pidfd, .events = POLLIN},
		};

		int n = poll(p, 2, 10000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "poll: %s\n", n < 0 ? strerror(errno) : "timed out");
			goto out;
		}
		if (p[1].revents & POLLIN) {
			/* The child is dead (the daemon still reaps it and reports). */
			printf("sleeper: pidfd readable, the child has exited\n");
			jobs[1].pidfd_fired = true;
			(void)close(jobs[1].pidfd);
			jobs[1].pidfd = -1;
		}
		if (p[0].revents) {
			r = spawnd_client_process(c);
			if (r < 0) {
				fprintf(stderr, "connection: %s\n", strerror(-r));
				goto out;
			}
		}
	}
	status = jobs[0].ok && jobs[1].ok && jobs[1].pidfd_fired ? 0 : 1;
	printf("%s\n", status == 0 ? "ok" : "unexpected outcome");
out:
	if (jobs[1].pidfd >= 0)
		(void)close(jobs[1].pidfd);
	spawnd_client_close(c);
	return status;
}
