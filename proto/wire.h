/* SPDX-License-Identifier: MIT */
/*
 * Framing shared by the daemon and libspawnd: one SOCK_SEQPACKET datagram is
 * one protobuf message plus the fds that ride on it (SCM_RIGHTS). No policy
 * lives here. Every client-controlled quantity has its hard cap in this file.
 * See docs/protocol.md.
 */
#ifndef SPAWND_WIRE_H
#define SPAWND_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spawnd.pb-c.h"

/* Protocol major version carried by every message; an unknown one is refused. */
#define SPAWND_PROTOCOL_VERSION 1u

/*
 * Hard caps. A request must fit one datagram; the kernel caps a SEQPACKET
 * send at the sender's SO_SNDBUF (about 208 KiB by default), so the message
 * cap stays below that and the client library refuses bigger requests with
 * E2BIG before sending.
 */
#define SPAWND_MAX_MESSAGE_BYTES (192u * 1024u)		 /* one datagram */
#define SPAWND_MAX_UNPACK_BYTES (1024u * 1024u)		 /* protobuf-c heap per message */
#define SPAWND_MAX_FDS 64u				 /* fds per message */
#define SPAWND_MAX_TARGET_FD 1023u			 /* highest child fd number */
#define SPAWND_MAX_ARGV 8192u				 /* argv entries */
#define SPAWND_MAX_ENV 4096u				 /* entries per environment list */
#define SPAWND_MAX_GROUPS 256u				 /* requested supplementary groups */
#define SPAWND_MAX_STRING_BYTES (128u * 1024u)		 /* one argv/env/path entry */
#define SPAWND_MAX_EXEC_BYTES (256u * 1024u)		 /* argv + envp bytes (ARG_MAX-like) */
#define SPAWND_MAX_TIMEOUT_MS (30ull * 24 * 3600 * 1000) /* 30 days */

#define SPAWND_MAX_CONNECTIONS 1024u	   /* in total */
#define SPAWND_MAX_CONNECTIONS_PER_UID 64u /* per client uid */
#define SPAWND_MAX_CHILDREN 16384u	   /* live children in total */
#define SPAWND_MAX_CHILDREN_PER_UID 1024u  /* live children per client uid */
#define SPAWND_MAX_QUEUED_REPLIES 4096u	   /* unsent replies per connection */
/*
 * Unsent replies that hold fds (a pidfd and/or a pty master for Started,
 * at most two) per connection: each is a daemon fd until the client reads,
 * so a client that asks for pidfds or ptys and stops reading is dropped
 * like one that lets replies pile up.
 */
#define SPAWND_MAX_QUEUED_FDS 256u
/*
 * Unsent reply bytes per connection. At this much (or at a quarter of
 * SPAWND_MAX_QUEUED_REPLIES) the daemon stops reading the connection's
 * requests until the client has read its replies, as a full socket buffer
 * would: the queue cannot grow without bound, it only stops growing.
 */
#define SPAWND_MAX_QUEUED_BYTES (256u * 1024u)
/*
 * Failed.detail carries at most this many bytes; a longer detail (a path
 * or command name the client sent) is cut at a UTF-8 character boundary
 * and ends with "...".
 */
#define SPAWND_MAX_DETAIL_BYTES 512u
/*
 * Client fds being closed (handed to the closer, daemon/closer.c, and not
 * closed yet: a close() on a FUSE file waits for the server's FLUSH
 * answer) per client uid and in total. A connection whose uid has more
 * than SPAWND_MAX_CLOSING_FDS_PER_UID - SPAWND_MAX_FDS is dropped with
 * Failed{LIMIT, EAGAIN} instead of being read.
 */
#define SPAWND_MAX_CLOSING_FDS_PER_UID 256u
#define SPAWND_MAX_CLOSING_FDS 4096u
/*
 * Spawns of one client uid whose lookups (NSS, the command's canonical path)
 * are on a resolver thread, including those whose request already timed out
 * but whose thread has not come back: what one uid's hanging lookups can pin.
 */
#define SPAWND_MAX_LOOKUPS_PER_UID 8u
/* Default deadline of those lookups (spawnd --lookup-timeout). */
#define SPAWND_LOOKUP_TIMEOUT_SEC 10u

/*
 * Seconds between SIGTERM and SIGKILL for timeouts, disconnects and stop,
 * unless the request sets its own kill grace (Spawn.kill_grace_ms), which
 * may not exceed SPAWND_MAX_KILL_GRACE_MS. A child that the daemon's stop
 * terminates gets at most SPAWND_KILL_GRACE_SEC, so that stopping takes
 * bounded time (server_stop waits SPAWND_KILL_GRACE_SEC + 2 s).
 */
#define SPAWND_KILL_GRACE_SEC 5
#define SPAWND_MAX_KILL_GRACE_MS (60ull * 1000)

#define SPAWND_DEFAULT_SOCKET "/run/spawnd.sock"
#define SPAWND_SOCKET_ENV "SPAWND_SOCKET"

struct ucred;

/*
 * Send one datagram with fds (may be NULL/0). MSG_NOSIGNAL|MSG_DONTWAIT:
 * returns 0, -EAGAIN when the peer's queue is full, -EMSGSIZE when len is
 * over the cap, or another -errno.
 */
int wire_send(int fd, const void *buf, size_t len, const int *fds, size_t n_fds);

/*
 * The same, with the sender's own SCM_CREDENTIALS attached: its pid,
 * effective uid and effective gid (what SO_PEERCRED reports), which the
 * kernel checks before it accepts them. The kernel attaches the real ids
 * by itself when the daemon asks (SO_PASSCRED); this makes a set-id client
 * match its connection, and a message queued before the daemon set
 * SO_PASSCRED still carry credentials (docs/protocol.md). libspawnd sends
 * every request this way.
 */
int wire_send_with_creds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds);

/*
 * The most fds one datagram can carry: the kernel's SCM_MAX_FD (253, not in
 * the uapi headers). The receive offers room for this many, whatever the
 * protocol allows (SPAWND_MAX_FDS): fds that do not fit are dropped by the
 * kernel in the receiver's thread, and a drop that ends a file's last
 * reference runs its release there (a TCP socket with SO_LINGER waits out
 * its linger time), on the daemon's event loop (HOSTILE 46).
 */
#define WIRE_RECV_MAX_FDS 253u

/*
 * Receive one datagram into buf (size >= SPAWND_MAX_MESSAGE_BYTES + 1) and up
 * to SPAWND_MAX_FDS fds into ret_fds, all O_CLOEXEC (MSG_CMSG_CLOEXEC).
 * Non-blocking (MSG_DONTWAIT). Returns 1 with *ret_len and *ret_n_fds set,
 * 0 on EOF, -EAGAIN when nothing is queued, -EBADMSG for MSG_TRUNC,
 * MSG_CTRUNC or a control message that is not SCM_RIGHTS (every fd that
 * arrived is closed first), or another -errno. The client side: a reply
 * never carries credentials.
 */
int wire_recv(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t *ret_n_fds);

/*
 * The daemon side, on a socket with SO_PASSCRED: the same, but the message
 * may also carry one SCM_CREDENTIALS, the sender's as the kernel attached
 * (or checked) them, returned in *ret_cred. Without one, *ret_cred is
 * {pid 0, uid -1, gid -1}; the kernel also reports pid 0 for a message
 * that was queued without credentials. The caller must refuse both (fail
 * closed). Two SCM_CREDENTIALS, or any other control message, are -EBADMSG;
 * unlike wire_recv(), the fds that arrived are then left in ret_fds
 * (*ret_n_fds of them) for the caller to dispose of: the daemon must never
 * close a client's fd on its event loop (daemon/closer.h). ret_fds must have
 * room for WIRE_RECV_MAX_FDS: the kernel installs every fd a datagram
 * carries (more than SPAWND_MAX_FDS is then -EBADMSG), so that none is
 * dropped in this thread; the caller must make sure the fd table has room
 * for that many before it calls.
 */
int wire_recv_with_creds(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds,
			 size_t *ret_n_fds, struct ucred *ret_cred);

/*
 * The daemon side without credentials (its own socket pairs): as
 * wire_recv(), but ret_fds has room for WIRE_RECV_MAX_FDS, and on
 * -EBADMSG the fds that arrived are left there, as with
 * wire_recv_with_creds(), for the caller to dispose of.
 */
int wire_recv_keep(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds,
		   size_t *ret_n_fds);

/* Close n fds (best effort, errno preserved) and fill the array with -EBADF. */
void wire_close_fds(int *fds, size_t n);

/*
 * Decode a Request. Heap use is capped at SPAWND_MAX_UNPACK_BYTES; a message
 * with unknown fields anywhere (an old daemon must not ignore a new security
 * option) or with another protocol version is refused. Returns 0, -EBADMSG
 * (malformed or unknown fields), -EPROTONOSUPPORT (version), -E2BIG (the
 * decoded message would exceed the heap budget).
 * Free with wire_request_free().
 */
int wire_request_unpack(const uint8_t *buf, size_t len, Spawnd__V1__Request **ret);
void wire_request_free(Spawnd__V1__Request *r);

/* The same for a Reply (client side). */
int wire_reply_unpack(const uint8_t *buf, size_t len, Spawnd__V1__Reply **ret);
void wire_reply_free(Spawnd__V1__Reply *r);

/*
 * Pack any message into a freshly malloc'd buffer. Returns 0 or -ENOMEM,
 * -E2BIG when the packed size exceeds SPAWND_MAX_MESSAGE_BYTES.
 */
int wire_pack(const ProtobufCMessage *m, uint8_t **ret_buf, size_t *ret_len);

/* True when m or any message nested in it carries unknown fields. */
bool wire_has_unknown_fields(const ProtobufCMessage *m);

#endif
