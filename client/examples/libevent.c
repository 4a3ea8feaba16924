/* SPDX-License-Identifier: MIT */
/*
 * libspawnd inside a libevent loop: many concurrent spawns on one
 * connection, each reply dispatched to its own callback, and a signal sent
 * through the daemon to a child that would otherwise run for long.
 *
 *   spawnd-example-libevent [SOCKET]
 *
 * Runs, as user nobody, five shells that sleep for different times and exit
 * with their own code (they finish in the reverse order of their start),
 * plus `/bin/sleep 30`, which gets SIGTERM as soon as it has started.
 * Exits 0 when every child reported what it should; 1 otherwise.
 *
 * The connection wants POLLIN always and POLLOUT only while requests wait
 * to be sent, so there are two events: a persistent read event, and a
 * write event that is added and removed as spawnd_client_get_events() says.
 */
#define _GNU_SOURCE

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawnd/spawnd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#define N_SHELLS 5

struct app {
	struct event_base *base;
	spawnd_client *client;
	struct event *ev_read, *ev_write, *ev_deadline;
	unsigned pending; /* spawns without a final reply yet */
	unsigned good;	  /* spawns that ended as expected */
	bool failed;	  /* the connection broke or the deadline passed */
};

struct job {
	struct app *app;
	char name[32];
	int want_code;	 /* expected exit code, or -1 */
	int want_signal; /* expected signal, or 0 */
	bool signal_on_start;
	uint64_t id;
};

/* Re-arm the write event to match what the client wants now. */
static void
update_events(struct app *app)
{
	int events = spawnd_client_get_events(app->client);

	if (events >= 0 && (events & POLLOUT))
		(void)event_add(app->ev_write, NULL);
	else
		(void)event_del(app->ev_write);
}

static void
on_reply(spawnd_client *c, const spawnd_result *r, void *userdata)
{
	struct job *job = userdata;
	struct app *app = job->app;
	int code, signo, k;

	switch (spawnd_result_get_state(r)) {
	case SPAWND_STATE_STARTED:
		printf("%s: started pid=%d\n", job->name, (int)spawnd_result_get_pid(r));
		if (job->signal_on_start) {
			/* Through the daemon: the child runs as another user. */
			k = spawnd_signal_async(c, job->id, SIGTERM, 0);
			printf("%s: SIGTERM requested: %s\n", job->name,
			       k < 0 ? strerror(-k) : "ok");
		}
		return;
	case SPAWND_STATE_EXITED:
		code = spawnd_result_get_exit_code(r);
		signo = spawnd_result_get_signal(r);
		printf("%s: exited code=%d signal=%d wall_us=%" PRIu64 "\n", job->name, code, signo,
		       spawnd_result_get_wall_usec(r));
		if (code == job->want_code && signo == job->want_signal)
			app->good++;
		break;
	case SPAWND_STATE_FAILED:
		printf("%s: failed stage=%s: %s %s\n", job->name,
		       spawnd_stage_to_string(spawnd_result_get_stage(r)),
		       strerror(spawnd_result_get_errno(r)), spawnd_result_get_detail(r));
		break;
	default:
		return;
	}
	/* A final reply: FAILED or EXITED. */
	if (--app->pending == 0)
		(void)event_base_loopbreak(app->base);
}

/* The connection is ready: let the library send and dispatch. */
static void
on_client(evutil_socket_t fd, short what, void *userdata)
{
	struct app *app = userdata;
	int r;

	(void)fd;
	(void)what;
	r = spawnd_client_process(app->client);
	if (r < 0) {
		fprintf(stderr, "connection: %s\n", strerror(-r));
		app->failed = true;
		(void)event_base_loopbreak(app->base);
		return;
	}
	update_events(app);
}

static void
on_deadline(evutil_socket_t fd, short what, void *userdata)
{
	struct app *app = userdata;

	(void)fd;
	(void)what;
	fprintf(stderr, "gave up waiting: %u spawns still pending\n", app->pending);
	app->failed = true;
	(void)event_base_loopbreak(app->base);
}

static int
start(struct app *app, struct job *job, const char *const *argv)
{
	spawnd_options *o = NULL;
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
		r = spawnd_spawn_async(app->client, o, on_reply, job, &job->id);
	spawnd_options_free(o);
	if (r < 0) {
		fprintf(stderr, "%s: cannot spawn: %s\n", job->name, strerror(-r));
		return r;
	}
	app->pending++;
	return 0;
}

int
main(int argc, char **argv)
{
	struct timeval deadline = {.tv_sec = 20};
	struct job jobs[N_SHELLS + 1];
	struct app app = {0};
	int r, status = 1;

	r = spawnd_client_open(&app.client, argc > 1 ? argv[1] : NULL, 0);
	if (r < 0) {
		fprintf(stderr, "cannot connect to spawnd: %s\n", strerror(-r));
		return 1;
	}
	app.base = event_base_new();
	if (!app.base)
		goto out;
	app.ev_read = event_new(app.base, spawnd_client_get_fd(app.client), EV_READ | EV_PERSIST,
				on_client, &app);
	app.ev_write = event_new(app.base, spawnd_client_get_fd(app.client), EV_WRITE | EV_PERSIST,
				 on_client, &app);
	app.ev_deadline = evtimer_new(app.base, on_deadline, &app);
	if (!app.ev_read || !app.ev_write || !app.ev_deadline || event_add(app.ev_read, NULL) < 0 ||
	    event_add(app.ev_deadline, &deadline) < 0)
		goto out;

	for (int i = 0; i < N_SHELLS; i++) {
		char script[64];
		const char *const shell[] = {"/bin/sh", "-c", script, NULL};

		/* The first started sleeps longest: exits come in reverse order. */
		(void)snprintf(script, sizeof(script), "sleep 0.%d; exit %d", (N_SHELLS - i) * 10,
			       10 + i);
		jobs[i] = (struct job){.app = &app, .want_code = 10 + i};
		(void)snprintf(jobs[i].name, sizeof(jobs[i].name), "shell%d", i);
		if (start(&app, &jobs[i], shell) < 0)
			goto out;
	}
	{
		const char *const sleeper[] = {"/bin/sleep", "30", NULL};

		jobs[N_SHELLS] = (struct job){
			.app = &app,
			.want_code = -1,
			.want_signal = SIGTERM,
			.signal_on_start = true,
		};
		(void)snprintf(jobs[N_SHELLS].name, sizeof(jobs[N_SHELLS].name), "sleeper");
		if (start(&app, &jobs[N_SHELLS], sleeper) < 0)
			goto out;
	}
	update_events(&app);

	(void)event_base_dispatch(app.base);
	if (!app.failed && app.good == N_SHELLS + 1)
		status = 0;
	printf("%s: %u of %d as expected\n", status == 0 ? "ok" : "unexpected outcome", app.good,
	       N_SHELLS + 1);
out:
	/* Events first: they watch the client's fd. */
	if (app.ev_read)
		event_free(app.ev_read);
	if (app.ev_write)
		event_free(app.ev_write);
	if (app.ev_deadline)
		event_free(app.ev_deadline);
	if (app.base)
		event_base_free(app.base);
	spawnd_client_close(app.client);
	return status;
}
