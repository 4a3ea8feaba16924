/* SPDX-License-Identifier: MIT */
/*
 * Decode and validate one request datagram into plain C data. Pure: no I/O,
 * no policy, no lookups. This is the fuzz target. Everything a later stage
 * relies on (argc >= 1, no NUL bytes, absolute paths, fd indices in range,
 * well-formed environment entries, caps) is checked here, so policy, log
 * and exec all see exactly the same bytes.
 */
#ifndef SPAWND_REQUEST_H
#define SPAWND_REQUEST_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum request_kind {
	REQUEST_SPAWN,
	REQUEST_SIGNAL,
};

/* What happens to a child when its connection goes away (or the daemon stops). */
enum on_disconnect {
	ON_DISCONNECT_TERMINATE, /* SIGTERM, SIGKILL after the kill grace */
	ON_DISCONNECT_KEEP,	 /* left running, detached */
	ON_DISCONNECT_HANGUP,	 /* SIGHUP + SIGCONT to its process group, once */
};

/* Received fd number `index` (position in the SCM_RIGHTS array) -> child fd `target`. */
struct fd_map {
	unsigned index;
	int target;
};

struct spawn_request {
	char **argv; /* NULL-terminated; argc >= 1; argv[0] non-empty */
	size_t argc;
	char *user;    /* target as sent: a name or a decimal uid; never NULL */
	char *group;   /* primary group (name or gid); NULL = the target's own */
	char **groups; /* NULL-terminated; NULL = all of the target's, empty = none (no_groups) */
	size_t n_groups;
	char *cwd; /* absolute; "/" when the request had none */
	mode_t umask;
	struct fd_map *fds; /* targets unique; every received fd used at least once */
	size_t n_fds;
	char **env_inherit; /* NULL-terminated NAME=VALUE, well-formed, unique names */
	size_t n_env_inherit;
	char **env_set; /* NULL-terminated NAME=VALUE, well-formed, unique names */
	size_t n_env_set;
	enum on_disconnect on_disconnect;
	uint64_t timeout_usec;	  /* 0 = none */
	uint64_t kill_grace_usec; /* SIGTERM -> SIGKILL; <= SPAWND_MAX_KILL_GRACE_MS */
	bool want_pidfd;	  /* send the child's pidfd with Started */
	bool pty;		  /* allocate a terminal (DESIGN.md section 10) */
	unsigned short pty_rows, pty_cols, pty_xpixel, pty_ypixel;
	/* The program when it is not argv[0] (Spawn.exec_path), checked as
	 * argv[0] is; NULL = argv[0]. See request_program(). */
	char *exec_path;
};

struct signal_request {
	uint64_t spawn_id;
	int signo; /* 1.._NSIG-1 */
	bool process_group;
};

struct request {
	uint64_t id;
	enum request_kind kind;
	union {
		struct spawn_request spawn;
		struct signal_request signal;
	};
};

/*
 * Decode buf (one datagram that arrived with n_fds fds) into *ret.
 * On failure returns -EBADMSG (undecodable), -EPROTONOSUPPORT (version),
 * -EINVAL (decoded but invalid), -E2BIG (over a cap); *ret_error is set to
 * a static human-readable reason and *ret_id to the request id when the
 * envelope could be read (else 0). The fds themselves are not touched.
 */
int request_decode(const uint8_t *buf, size_t len, size_t n_fds, struct request **ret,
		   uint64_t *ret_id, const char **ret_error);

/* The program a Spawn runs: exec_path when the request has one, else argv[0]. */
static inline const char *
request_program(const struct spawn_request *s)
{
	return s->exec_path ? s->exec_path : s->argv[0];
}

/* NULL-safe; returns NULL. */
struct request *request_free(struct request *r);

/*
 * A Spawn whose child has exec'd needs only its id, user and scalars (the
 * time limit, kill grace, on_disconnect): free argv, exec_path, group,
 * groups, cwd, fds and the environment (NULL, counts 0). NULL-safe.
 */
void request_spawn_trim(struct request *r);

#endif
