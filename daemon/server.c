/* SPDX-License-Identifier: MIT */
/*
 * The listening side. Accept failures with EMFILE/ENFILE/ENOBUFS/ENOMEM
 * leave the pending connection in the backlog, so a level-triggered loop
 * would spin on it at 100% CPU (libuv#315, libevent listener.c). Instead
 * the listener is disabled and re-enabled by a timer, while existing
 * clients keep being served (ldapd control.c does the same). New
 * connections also stop short of the fd limit, so that the connected
 * clients always have the fds their requests need (SERVER_FD_RESERVE).
 * A paused listener looks again whenever fds are given back (a connection
 * closed, the closer finished closes), not only on the timer.
 */
#define _GNU_SOURCE

#include "server.h"

#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "closer.h"
#include "config.h"
#include "conn.h"
#include "context.h"
#include "dispatch.h"
#include "log.h"
#include "reaper.h"
#include "resolver.h"
#include "usage.h"
#include "util/cleanup.h"
#include "wire.h"

#define ACCEPT_RETRY_MSEC 250
/* Delay of the malloc_trim() after a burst, so that one trim serves many frees. */
#define TRIM_DELAY_MSEC 100

/*
 * SERVER_FD_RESERVE: without it a flood of connections takes the last
 * fds: a connected client's message then arrives without its fds
 * (MSG_CTRUNC) and the client is dropped as malformed, and every spawn
 * fails. Only a low limit makes this bite: the daemon raises its soft
 * limit to the hard one, and does not start below SERVER_MIN_NOFILE.
 */
#define FD_RESERVE SERVER_FD_RESERVE

struct server {
	struct context ctx; /* what the layers below read */
	struct evconnlistener *listener;
	struct event *accept_retry; /* re-enables the listener after EMFILE */
	bool listener_paused;
	struct event *closer_done, *closer_died;
	struct event *trim_timer; /* malloc_trim() after a burst */
	struct event *signals;	  /* the signalfd of SIGTERM, SIGINT, SIGHUP */
	struct event *stop_deadline;
	struct event *idle_check;
	struct event *notify_tick; /* STATUS= and WATCHDOG=1, under systemd only */
	struct event *resolved;	   /* the resolver's eventfd: finished lookups */
	bool watchdog;
	char last_status[128];
	unsigned exit_idle_sec; /* 0 = never */
	struct timespec last_busy;
	char *config_path;
	struct conn *conns;
	int exit_code;
};

static void
pause_listener(struct server *s)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = ACCEPT_RETRY_MSEC * 1000};

	(void)evconnlistener_disable(s->listener);
	s->listener_paused = true;
	(void)event_add(s->accept_retry, &tv);
}

/*
 * Whether a new fd numbered `lowest_free` leaves FD_RESERVE numbers below
 * the soft limit. The kernel hands out the lowest free number, so once it
 * is that close to the limit, at most that many fds are left.
 */
static bool
fd_room(int lowest_free)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	return (rlim_t)lowest_free + (rlim_t)FD_RESERVE < rl.rlim_cur;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen,
	  void *userdata)
{
	struct server *s = userdata;
	struct conn *c;
	int r;

	(void)l;
	(void)sa;
	(void)socklen;
	r = conn_new(&s->ctx, fd, &c);
	if (r < 0 && r != -EAGAIN)
		log_warning_errno(r, "Failed to set up a new connection, ignoring: %m");
	if (r == 0) {
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
	}
	/* fd was the lowest free number: the next connection gets a higher one. */
	if (!fd_room(fd + 1)) {
		log_warning("Connection on fd %d leaves fewer than %d fds below RLIMIT_NOFILE, "
			    "pausing the listener",
			    (int)fd, FD_RESERVE);
		/* libevent's accept loop stops once the listener is disabled. */
		pause_listener(s);
	}
}

static void
on_accept_error(struct evconnlistener *l, void *userdata)
{
	struct server *s = userdata;
	int error = EVUTIL_SOCKET_ERROR();

	(void)l;
	if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
		log_warning_errno(error, "accept() failed, pausing the listener for %d ms: %m",
				  ACCEPT_RETRY_MSEC);
		pause_listener(s);
		return;
	}
	log_warning_errno(error, "accept() failed, ignoring: %m");
}

static void
on_accept_retry(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;
	int probe;

	(void)fd;
	(void)what;
	if (s->ctx.stopping)
		return;
	/*
	 * Resume only with fds to spare, else wait another period without
	 * calling accept(): it would fail again, or take the reserve.
	 */
	probe = fcntl(evconnlistener_get_fd(s->listener), F_DUPFD_CLOEXEC, 0);
	if (probe < 0 || !fd_room(probe)) {
		(void)safe_close(probe);
		pause_listener(s);
		return;
	}
	(void)safe_close(probe);
	(void)event_del(s->accept_retry);
	s->listener_paused = false;
	(void)evconnlistener_enable(s->listener);
}

static void
fds_released(struct server *s)
{
	if (s->listener_paused && !s->ctx.stopping)
		on_accept_retry(-1, 0, s);
}

static void
on_trim(evutil_socket_t fd, short what, void *userdata)
{
	(void)fd;
	(void)what;
	(void)userdata;
	(void)malloc_trim(0);
}

static void
on_trim_request(void *server)
{
	struct server *s = server;
	struct timeval tv = {.tv_sec = 0, .tv_usec = TRIM_DELAY_MSEC * 1000};

	if (s->trim_timer && !evtimer_pending(s->trim_timer, NULL))
		(void)evtimer_add(s->trim_timer, &tv);
}

static void
on_closer_done(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;
	int r;

	(void)fd;
	(void)what;
	r = closer_collect(s->ctx.closer);
	if (r < 0)
		log_warning_errno(r, "Failed to read from the closer, ignoring: %m");
	else if (r > 0)
		fds_released(s);
}

static void
on_closer_died(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;

	(void)fd;
	(void)what;
	(void)event_del(s->closer_died);
	log_error("The closer process %d died: client fds can no longer be closed safely, "
		  "stopping",
		  (int)closer_helper_pid(s->ctx.closer));
	s->exit_code = 1;
	server_stop(s);
}

int
server_attach_closer(struct server *s, struct closer *cl)
{
	s->ctx.closer = cl;
	s->closer_done =
		event_new(s->ctx.base, closer_done_fd(cl), EV_READ | EV_PERSIST, on_closer_done, s);
	if (!s->closer_done || event_add(s->closer_done, NULL) < 0)
		return -ENOMEM;
	if (closer_helper_pidfd(cl) >= 0) {
		s->closer_died =
			event_new(s->ctx.base, closer_helper_pidfd(cl), EV_READ, on_closer_died, s);
		if (!s->closer_died || event_add(s->closer_died, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Finished resolver jobs: each request carries on (or an abandoned job goes). */
static void
on_resolved(evutil_socket_t fd, short what, void *userdata)
{
	struct resolve_job *jobs = resolver_collect();

	(void)fd;
	(void)what;
	(void)userdata;
	while (jobs) {
		struct resolve_job *next = jobs->next;

		jobs->next = NULL;
		dispatch_lookup_done(jobs);
		jobs = next;
	}
}

/*
 * SIGTERM and SIGINT stop the daemon, SIGHUP reloads the policy. They
 * come through a signalfd (main.c blocks every signal in every thread):
 * no handler, no self-pipe. Each read takes one pending signal of each
 * kind at most (standard signals do not queue).
 */
static void
on_signal(evutil_socket_t fd, short what, void *userdata)
{
	struct signalfd_siginfo si[4];
	ssize_t n;

	(void)what;
	do
		n = read(fd, si, sizeof(si));
	while (n < 0 && errno == EINTR);
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(si[0]); i++) {
		int sig = (int)si[i].ssi_signo;

		if (sig == SIGHUP) {
			(void)server_reload(userdata);
			continue;
		}
		log_info("Received signal %d, stopping", sig);
		server_stop(userdata);
	}
}

/* The signalfd of the signals the server acts on, on the loop. */
static int
server_add_signals(struct server *s)
{
	sigset_t set;
	int fd;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGHUP);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	s->signals = event_new(s->ctx.base, fd, EV_READ | EV_PERSIST, on_signal, s);
	if (!s->signals) {
		(void)safe_close(fd);
		return -ENOMEM;
	}
	if (event_add(s->signals, NULL) < 0)
		return -ENOMEM;
	return 0;
}

static void
on_stop_deadline(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;

	(void)fd;
	(void)what;
	log_warning("%u children still terminating at the stop deadline, exiting anyway",
		    reaper_terminating(s->ctx.reaper));
	(void)event_base_loopbreak(s->ctx.base);
}

static void
on_idle_check(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;
	struct timespec now;

	(void)fd;
	(void)what;
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	if (usage_conns() > 0 || usage_children() > 0 || s->ctx.stopping) {
		s->last_busy = now;
		return;
	}
	if (now.tv_sec - s->last_busy.tv_sec >= (time_t)s->exit_idle_sec) {
		log_info("Idle for %u s, exiting", s->exit_idle_sec);
		server_stop(s);
	}
}

int
server_start_idle_timer(struct server *s)
{
	struct timeval second = {.tv_sec = 1};

	if (s->exit_idle_sec == 0)
		return 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &s->last_busy);
	s->idle_check = event_new(s->ctx.base, -1, EV_PERSIST, on_idle_check, s);
	if (!s->idle_check || event_add(s->idle_check, &second) < 0)
		return log_error_errno(ENOMEM, "Failed to set up the idle timer");
	return 0;
}

int
server_reload(struct server *s)
{
	struct policy *p = NULL;
	_cleanup_free_ char *error = NULL;
	struct timespec now;
	int r;

	/* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the
	 * RELOADING=1 to this reload; older versions ignore it. */
	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
			 (unsigned long long)now.tv_sec * 1000000ull +
				 (unsigned long long)now.tv_nsec / 1000ull);
	r = config_load(s->config_path, true, log_config_warning, NULL, &p, &error);
	if (r < 0) {
		log_error("Reload failed, keeping the old policy: %s", error ? error : "");
		(void)sd_notify(0, "READY=1\nSTATUS=Reload failed, the old policy stays in force");
		s->last_status[0] = '\0';
		return r;
	}
	(void)policy_free(s->ctx.policy);
	s->ctx.policy = p;
	log_notice("Reloaded the policy from %s (%zu rules)", s->config_path, p->n_rules);
	(void)sd_notify(0, "READY=1");
	return 0;
}

static void
on_notify_tick(evutil_socket_t fd, short what, void *userdata)
{
	struct server *s = userdata;
	char status[sizeof(s->last_status)];

	(void)fd;
	(void)what;
	if (s->watchdog)
		(void)sd_notify(0, "WATCHDOG=1");
	(void)snprintf(status, sizeof(status), "%u connections, %u live children, %llu spawns",
		       usage_conns(), usage_children(), (unsigned long long)usage_spawns());
	if (strcmp(status, s->last_status) != 0) {
		(void)sd_notifyf(0, "STATUS=%s", status);
		memcpy(s->last_status, status, sizeof(status));
	}
}

int
server_start_notify(struct server *s)
{
	struct timeval tick = {.tv_sec = 1};
	uint64_t watchdog_usec = 0;
	const char *e = getenv("NOTIFY_SOCKET");

	if (!e || !*e)
		return 0;
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
		s->watchdog = true;
		/* Ping at half the interval, and at least once a second for STATUS. */
		if (watchdog_usec / 2 < 1000000) {
			tick.tv_sec = 0;
			tick.tv_usec = (suseconds_t)(watchdog_usec / 2);
		}
	}
	s->notify_tick = event_new(s->ctx.base, -1, EV_PERSIST, on_notify_tick, s);
	if (!s->notify_tick || event_add(s->notify_tick, &tick) < 0)
		return log_error_errno(ENOMEM, "Failed to set up the notify timer");
	on_notify_tick(-1, 0, s);
	return 0;
}

static void
maybe_exit(struct server *s)
{
	if (s->ctx.stopping && reaper_terminating(s->ctx.reaper) == 0)
		(void)event_base_loopbreak(s->ctx.base);
}

static void
on_child_gone(void *server)
{
	maybe_exit(server);
}

/* A connection closed (conn_free()): out of the list, its fds are back. */
static void
on_conn_gone(void *server, struct conn *c)
{
	struct server *s = server;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	fds_released(s);
	maybe_exit(s);
}

void
server_set_timeouts(struct server *s, unsigned exit_idle_sec, unsigned lookup_timeout_sec)
{
	s->exit_idle_sec = exit_idle_sec;
	s->ctx.lookup_timeout_sec = lookup_timeout_sec;
}

int
server_exit_code(const struct server *s)
{
	return s->exit_code;
}

void
server_stop(struct server *s)
{
	struct timeval deadline = {.tv_sec = SPAWND_KILL_GRACE_SEC + 2};

	if (s->ctx.stopping)
		return;
	s->ctx.stopping = true;
	(void)sd_notify(0, "STOPPING=1");
	(void)evconnlistener_disable(s->listener);
	(void)event_del(s->accept_retry);
	if (s->idle_check)
		(void)event_del(s->idle_check);

	/* Every connection goes; each child follows its on_disconnect. */
	while (s->conns)
		(void)conn_free(s->conns);
	reaper_stop(s->ctx.reaper);

	(void)event_add(s->stop_deadline, &deadline);
	maybe_exit(s);
}

/*
 * SO_PASSCRED on the listening socket, so that every message on every
 * connection carries its sender's credentials from the first one on
 * (conn.c check_sender()). The connection inherits the flag from the
 * listener: at connect() since Linux 6.16 (af_unix "Inherit sk_flags at
 * connect()"), at accept() before, when the kernel also attached
 * credentials to everything sent before accept(). Set on the accepted
 * socket alone, it would come too late for what a client sent right after
 * connect(): the kernel delivers such messages with pid 0 and the overflow
 * uid 65534, i.e. as nobody. A listener passed by systemd without
 * PassCredentials=yes gets the flag now; connections made before that
 * (the one that activated us) still work when the client attaches its
 * credentials itself, as libspawnd does. Also remembers the listener's
 * address, by which dispatch.c tells a connection to the daemon among a
 * request's fds (HOSTILE 43).
 */
static int
listener_setup_credentials(struct server *s, int listen_fd)
{
	int on = 0, one = 1;
	socklen_t len = sizeof(on);

	if (getsockopt(listen_fd, SOL_SOCKET, SO_PASSCRED, &on, &len) < 0)
		return log_error_errno(errno,
				       "Failed to read SO_PASSCRED of the listening socket: %m");
	if (!on) {
		if (setsockopt(listen_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
			return log_error_errno(errno, "Failed to set SO_PASSCRED on the listening "
						      "socket: %m");
		log_notice("The listening socket came without SO_PASSCRED (PassCredentials=yes "
			   "in spawnd.socket); set it now. A client that connected earlier and "
			   "sends without SCM_CREDENTIALS is refused.");
	}
	s->ctx.listen_addr_len = sizeof(s->ctx.listen_addr);
	if (getsockname(listen_fd, (struct sockaddr *)&s->ctx.listen_addr,
			&s->ctx.listen_addr_len) < 0 ||
	    s->ctx.listen_addr_len > sizeof(s->ctx.listen_addr))
		s->ctx.listen_addr_len = 0;
	return 0;
}

/* Serve listen_fd (taken, also on failure): non-blocking, credentials, libevent. */
static int
listener_start(struct server *s, int listen_fd)
{
	int flags, r;

	flags = fcntl(listen_fd, F_GETFL);
	if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		(void)safe_close(listen_fd);
		return r;
	}
	r = listener_setup_credentials(s, listen_fd);
	if (r < 0) {
		(void)safe_close(listen_fd);
		return r;
	}
	/* backlog 0: the socket is already listening (ours or systemd's). */
	s->listener =
		evconnlistener_new(s->ctx.base, on_accept, s,
				   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
	if (!s->listener) {
		(void)safe_close(listen_fd);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(s->listener, on_accept_error);
	return 0;
}

/* The server's own timers, signals and the resolver's wake-up. */
static int
server_add_events(struct server *s)
{
	struct event_base *base = s->ctx.base;
	int r;

	s->accept_retry = evtimer_new(base, on_accept_retry, s);
	s->trim_timer = evtimer_new(base, on_trim, s);
	s->stop_deadline = evtimer_new(base, on_stop_deadline, s);
	if (!s->accept_retry || !s->trim_timer || !s->stop_deadline)
		return -ENOMEM;
	r = server_add_signals(s);
	if (r < 0)
		return r;
	r = resolver_fd();
	if (r < 0)
		return r;
	/* Edge-triggered: resolver_collect() never reads the counter. */
	s->resolved = event_new(base, r, EV_READ | EV_PERSIST | EV_ET, on_resolved, s);
	if (!s->resolved || event_add(s->resolved, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * The most fds the caps let the daemon hold: its own few, a socket and a
 * park socket per connection, per live child its pidfd, the copy of it
 * that a queued Started may hold and its terminal's master, the
 * closer's backlog, and a message of WIRE_RECV_MAX_FDS being received,
 * plus the clients' reserve. Below that, clients together could fill the
 * table, and the kernel then drops the fds of a message it cannot install
 * on the receiving thread, the loop: a file whose last reference that is
 * has its release run there (HOSTILE 46). Said once, at start.
 */
#define FD_NEED_BASE 64u
#define FD_NEED                                                                                    \
	(FD_NEED_BASE + 2u * SPAWND_MAX_CONNECTIONS + 3u * SPAWND_MAX_CHILDREN +                   \
	 SPAWND_MAX_CLOSING_FDS + 2u * WIRE_RECV_MAX_FDS + (unsigned)FD_RESERVE)

static void
warn_low_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)FD_NEED)
		log_warning(
			"RLIMIT_NOFILE is %llu, below the %u fds that the caps let clients make "
			"the daemon hold: clients that fill the fd table can make the kernel drop "
			"a passed fd on the event loop, whose release may then block it; raise "
			"LimitNOFILE= (the unit's 65536 is enough)",
			(unsigned long long)rl.rlim_cur, FD_NEED);
}

int
server_new(struct event_base *base, int listen_fd, struct policy *policy, const char *config_path,
	   const struct spawn_env *env, enum spawn_engine engine, struct server **ret)
{
	struct server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		(void)safe_close(listen_fd);
		(void)policy_free(policy);
		return -ENOMEM;
	}
	s->ctx.base = base;
	s->ctx.policy = policy;
	s->ctx.lookup_timeout_sec = SPAWND_LOOKUP_TIMEOUT_SEC;
	s->ctx.spawn_env = *env;
	s->ctx.engine = engine;
	s->ctx.ev = (struct events){
		.reply = conn_reply,
		.resume = conn_resume,
		.child_gone = on_child_gone,
		.conn_gone = on_conn_gone,
		.trim = on_trim_request,
		.server = s,
	};
	s->config_path = strdup(config_path);
	if (!s->config_path) {
		(void)safe_close(listen_fd);
		r = -ENOMEM;
		goto fail;
	}

	r = listener_start(s, listen_fd);
	if (r < 0)
		goto fail;
	r = server_add_events(s);
	if (r < 0)
		goto fail;
	r = reaper_new(&s->ctx, &s->ctx.reaper);
	if (r < 0)
		goto fail;
	warn_low_nofile();

	*ret = s;
	return 0;

fail:
	(void)server_free(s);
	return r;
}

struct server *
server_free(struct server *s)
{
	if (!s)
		return NULL;
	while (s->conns)
		(void)conn_free(s->conns);
	s->ctx.reaper = reaper_free(s->ctx.reaper);
	if (s->listener)
		evconnlistener_free(s->listener);
	if (s->accept_retry)
		event_free(s->accept_retry);
	if (s->trim_timer)
		event_free(s->trim_timer);
	if (s->closer_done)
		event_free(s->closer_done);
	if (s->closer_died)
		event_free(s->closer_died);
	if (s->stop_deadline)
		event_free(s->stop_deadline);
	if (s->idle_check)
		event_free(s->idle_check);
	if (s->notify_tick)
		event_free(s->notify_tick);
	/* The eventfd stays open: a stuck resolver thread may still post to it. */
	if (s->resolved)
		event_free(s->resolved);
	if (s->signals) {
		int fd = event_get_fd(s->signals);

		event_free(s->signals);
		(void)safe_close(fd);
	}
	usage_reset();
	(void)policy_free(s->ctx.policy);
	free(s->config_path);
	free(s);
	return NULL;
}
