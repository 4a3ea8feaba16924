/* SPDX-License-Identifier: MIT */
/*
 * The closer: the only place where the daemon close()s an fd that a client
 * sent (DESIGN.md 3.5, HOSTILE.md 46). close() of a file on FUSE waits,
 * uninterruptibly, for the server's answer to FLUSH (NFS and sshfs make
 * every close a server round trip), so the event loop hands every received
 * fd here and never waits for a close.
 *
 * The closes run in a helper process ("spawnd-closer") that shares the
 * daemon's fd table (CLONE_FILES) but is not part of its thread group: one
 * thread per close in progress, so that one stuck close stops no other,
 * and a daemon whose closes are stuck can still exit (a thread stuck in
 * close() would keep the whole process from exiting). See closer.c.
 *
 * Quota: the fds of one client uid that are being closed (handed over and
 * not reported done) are capped at SPAWND_MAX_CLOSING_FDS_PER_UID, all
 * uids together at SPAWND_MAX_CLOSING_FDS; conn.c refuses to receive a
 * message that could exceed either (closer_may_receive()).
 *
 * Nothing here logs or touches libevent: server.c watches closer_done_fd()
 * and closer_helper_pidfd().
 */
#ifndef SPAWND_CLOSER_H
#define SPAWND_CLOSER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct closer;

/*
 * Start the helper process. Call it before the daemon creates any thread
 * and before it receives any client fd (the helper is a copy of the daemon
 * at this point and uses threads of its own). Returns 0 or -errno.
 */
int closer_new(struct closer **ret);
/* Forget the helper (it exits once the daemon has exited). NULL-safe. */
struct closer *closer_free(struct closer *cl);

/* Readable when closes have completed: then call closer_collect(). */
int closer_done_fd(const struct closer *cl);
/* A pidfd of the helper: readable when it died. */
int closer_helper_pidfd(const struct closer *cl);
pid_t closer_helper_pid(const struct closer *cl);

/* Account for the closes that completed. Returns how many, or -errno. */
int closer_collect(struct closer *cl);

/*
 * Hand over n fds that uid sent, or sockets that may hold fds uid sent in
 * flight (a connection, a park socket): fds[i] < 0 are skipped, every entry
 * is set to -EBADF. Never blocks, never closes, never refuses (the record
 * table grows): the helper closes them. A client's message is received
 * only after closer_may_receive(); what cannot wait for room (a message
 * over SPAWND_MAX_FDS, a request's fds taken back for its spawn, sockets)
 * is taken anyway and counted as far as the uid's quota goes.
 */
void closer_take(struct closer *cl, uid_t uid, int *fds, size_t n);

/* Whether one more message from uid (with up to SPAWND_MAX_FDS fds) fits the quota. */
bool closer_may_receive(const struct closer *cl, uid_t uid);
/* Fds of uid being closed (0 for NULL cl). */
unsigned closer_closing_of(const struct closer *cl, uid_t uid);
/* Fds being closed, all uids. */
unsigned closer_closing(const struct closer *cl);

/*
 * Wait until no fd handed over is still in the fd table (each has been
 * closed, or its close() has begun), at most timeout_ms. A child started
 * before that would inherit another request's fds and close them itself,
 * hanging on the same FLUSH. own/n_own are the fds of the request about to
 * spawn, received after every handed-over fd: a number among them was
 * freed by the closer and taken again by the kernel (possibly for the
 * same file). Returns 0, or -ETIMEDOUT (then the caller must not start a
 * child). After a timeout, later calls do not wait until the helper has
 * made progress, so that a helper that cannot keep up costs the loop one
 * wait, not one per request.
 */
int closer_settle(struct closer *cl, unsigned timeout_ms, const int *own, size_t n_own);

#endif
