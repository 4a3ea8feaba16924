/* SPDX-License-Identifier: MIT */
/*
 * SOCK_SEQPACKET framing with SCM_RIGHTS. The rules (docs/protocol.md):
 * receive with MSG_CMSG_CLOEXEC so no fd is ever inheritable by accident;
 * MSG_TRUNC, MSG_CTRUNC and any control message that is not SCM_RIGHTS are
 * protocol errors, and every fd that did arrive is closed before returning
 * (systemd#15457: a truncated cmsg still installs the fds that fit). The
 * one exception is the daemon's receive (wire_recv_with_creds()): it also
 * takes exactly one SCM_CREDENTIALS, the sender's identity for that one
 * message, which the daemon compares with the connection's (HOSTILE 43).
 */
#define _GNU_SOURCE

#include "wire.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Room for one SCM_CREDENTIALS and WIRE_RECV_MAX_FDS fds: every fd a
 * datagram can carry (wire.h). The client side offers the kernel only the
 * room for SPAWND_MAX_FDS fds (no credentials come there, and the daemon
 * sends at most two).
 */
#define CONTROL_BYTES                                                                              \
	(CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * WIRE_RECV_MAX_FDS))

static int
send_common(int fd, const void *buf, size_t len, const int *fds, size_t n_fds, bool creds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		struct cmsghdr align;
		char buf[CONTROL_BYTES];
	} control;
	struct cmsghdr *cmsg;

	if (len > SPAWND_MAX_MESSAGE_BYTES || n_fds > SPAWND_MAX_FDS)
		return -EMSGSIZE;

	memset(&control, 0, sizeof(control));
	mh.msg_control = control.buf;
	mh.msg_controllen = (creds ? CMSG_SPACE(sizeof(struct ucred)) : 0) +
			    (n_fds > 0 ? CMSG_SPACE(sizeof(int) * n_fds) : 0);
	if (mh.msg_controllen == 0)
		mh.msg_control = NULL;
	cmsg = CMSG_FIRSTHDR(&mh);
	if (creds) {
		/* The ids SO_PEERCRED reports; the kernel refuses any we do not hold. */
		struct ucred uc = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};

		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_CREDENTIALS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(cmsg), &uc, sizeof(uc));
		cmsg = CMSG_NXTHDR(&mh, cmsg);
	}
	if (n_fds > 0) {
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
	}

	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0)
			return (size_t)n == len ? 0 : -EMSGSIZE;
		if (errno != EINTR)
			return -errno;
	}
}

int
wire_send(int fd, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	return send_common(fd, buf, len, fds, n_fds, false);
}

int
wire_send_with_creds(int fd, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	return send_common(fd, buf, len, fds, n_fds, true);
}

void
wire_close_fds(int *fds, size_t n)
{
	int saved = errno;

	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			(void)close(fds[i]);
		fds[i] = -EBADF;
	}
	errno = saved;
}

/*
 * ret_cred NULL: the client side, no credentials allowed. Otherwise exactly
 * one SCM_CREDENTIALS may come, and none is reported as pid 0.
 *
 * keep_fds (the daemon): the control buffer holds SCM_RIGHTS data for
 * WIRE_RECV_MAX_FDS fds (after the SCM_CREDENTIALS that the kernel always
 * puts first on a socket with SO_PASSCRED), every fd a datagram can carry,
 * so the kernel drops none of them in this thread; ret_fds has room for as
 * many, and on -EBADMSG they are left there for the caller to dispose of
 * (the daemon never close()s a client's fd on its loop, daemon/closer.h).
 * Otherwise (the client): room for SPAWND_MAX_FDS, and the fds that arrived
 * are closed here on -EBADMSG.
 */
_Static_assert((CMSG_SPACE(sizeof(int) * SPAWND_MAX_FDS) - CMSG_LEN(0)) / sizeof(int) ==
		       SPAWND_MAX_FDS,
	       "the client's control buffer fits more fds than SPAWND_MAX_FDS");
_Static_assert(WIRE_RECV_MAX_FDS >= SPAWND_MAX_FDS, "WIRE_RECV_MAX_FDS below the protocol's cap");

static int
receive_common(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t *ret_n_fds,
	       struct ucred *ret_cred, bool keep_fds)
{
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	union {
		struct cmsghdr align;
		char buf[CONTROL_BYTES];
	} control;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = ret_cred   ? sizeof(control.buf)
				  : keep_fds ? CMSG_SPACE(sizeof(int) * WIRE_RECV_MAX_FDS)
					     : CMSG_SPACE(sizeof(int) * SPAWND_MAX_FDS),
	};
	const size_t cap = keep_fds ? WIRE_RECV_MAX_FDS : SPAWND_MAX_FDS;
	struct ucred cred = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	size_t n_fds = 0, n_creds = 0;
	bool bad = false;
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	/*
	 * Collect every fd that arrived before judging the message, so that
	 * an error path can close them all. A message may carry several
	 * SCM_RIGHTS headers; together they must fit the cap.
	 */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const unsigned char *data = CMSG_DATA(c);

			for (size_t i = 0; i < k; i++) {
				int f;

				memcpy(&f, data + i * sizeof(int), sizeof(int));
				if (n_fds < cap)
					ret_fds[n_fds++] = f;
				else {
					/* Cannot happen (see above); keep_fds leaks rather than
					 * close. */
					if (!keep_fds)
						(void)close(f);
					bad = true;
				}
			}
		} else if (ret_cred && c->cmsg_level == SOL_SOCKET &&
			   c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct ucred)) && n_creds++ == 0)
			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
		else
			/* Anything else (on the client side SCM_CREDENTIALS
			 * too: a reply never carries an identity). */
			bad = true;
	}

	if (bad || n_creds > 1 || n_fds > SPAWND_MAX_FDS ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n > SPAWND_MAX_MESSAGE_BYTES) {
		if (!keep_fds) {
			wire_close_fds(ret_fds, n_fds);
			n_fds = 0;
		}
		*ret_n_fds = n_fds;
		return -EBADMSG;
	}

	/* A zero-length datagram with no fds is how SEQPACKET reports EOF. */
	if (n == 0 && n_fds == 0)
		return 0;

	*ret_len = (size_t)n;
	*ret_n_fds = n_fds;
	if (ret_cred)
		*ret_cred = cred;
	return 1;
}

int
wire_recv(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t *ret_n_fds)
{
	return receive_common(fd, buf, size, ret_len, ret_fds, ret_n_fds, NULL, false);
}

int
wire_recv_with_creds(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds,
		     size_t *ret_n_fds, struct ucred *ret_cred)
{
	return receive_common(fd, buf, size, ret_len, ret_fds, ret_n_fds, ret_cred, true);
}

int
wire_recv_keep(int fd, void *buf, size_t size, size_t *ret_len, int *ret_fds, size_t *ret_n_fds)
{
	return receive_common(fd, buf, size, ret_len, ret_fds, ret_n_fds, NULL, true);
}

/*
 * A ProtobufCAllocator that refuses to hand out more than a fixed budget per
 * message, so that a small datagram cannot make protobuf-c allocate without
 * bound (protobuf-c #796/#799: repeated fields of empty entries amplify).
 */
struct counting_allocator {
	size_t used;
	size_t budget;
	bool refused; /* an allocation hit the budget */
};

static void *
counting_alloc(void *data, size_t size)
{
	struct counting_allocator *a = data;
	size_t *p;

	if (size > a->budget - a->used || sizeof(size_t) + size > a->budget - a->used) {
		a->refused = true;
		return NULL;
	}
	p = malloc(sizeof(size_t) * 2 + size);
	if (!p)
		return NULL;
	a->used += size + sizeof(size_t);
	p[0] = size;
	return p + 2; /* keep 16-byte alignment */
}

static void
counting_free(void *data, void *ptr)
{
	struct counting_allocator *a = data;
	size_t *p;

	if (!ptr)
		return;
	p = (size_t *)ptr - 2;
	a->used -= p[0] + sizeof(size_t);
	free(p);
}

bool
wire_has_unknown_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;

	if (!m)
		return false;
	if (m->n_unknown_fields > 0)
		return true;
	d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* Field storage is found by descriptor offsets; memcpy reads it
		 * without claiming an alignment the char pointer does not have. */
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			ProtobufCMessage **arr;
			size_t n;

			memcpy(&n, base + f->quantifier_offset, sizeof(n));
			memcpy(&arr, base + f->offset, sizeof(arr));
			for (size_t k = 0; k < n; k++)
				if (wire_has_unknown_fields(arr[k]))
					return true;
		} else {
			const ProtobufCMessage *sub;

			memcpy(&sub, base + f->offset, sizeof(sub));
			/* Oneof members share storage: only the selected one is valid. */
			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
				uint32_t which;

				memcpy(&which, base + f->quantifier_offset, sizeof(which));
				if (which != f->id)
					continue;
			}
			if (wire_has_unknown_fields(sub))
				return true;
		}
	}
	return false;
}

static int
unpack_capped(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
	      ProtobufCMessage **ret)
{
	struct counting_allocator state = {.budget = SPAWND_MAX_UNPACK_BYTES};
	ProtobufCAllocator a = {
		.alloc = counting_alloc,
		.free = counting_free,
		.allocator_data = &state,
	};
	ProtobufCMessage *m;

	if (len > SPAWND_MAX_MESSAGE_BYTES)
		return -EBADMSG;
	m = protobuf_c_message_unpack(desc, &a, len, buf);
	if (!m)
		return state.refused ? -E2BIG : -EBADMSG;
	if (wire_has_unknown_fields(m)) {
		protobuf_c_message_free_unpacked(m, &a);
		return -EBADMSG;
	}
	*ret = m;
	return 0;
}

/*
 * protobuf-c needs an allocator at free time. Every block carries its size
 * header, and releasing the header is all counting_free does besides
 * bookkeeping, so a throwaway budget is enough to free a message.
 */
static void
free_capped(ProtobufCMessage *m)
{
	struct counting_allocator state = {.used = SIZE_MAX / 2, .budget = SIZE_MAX};
	ProtobufCAllocator a = {
		.alloc = counting_alloc,
		.free = counting_free,
		.allocator_data = &state,
	};

	if (m)
		protobuf_c_message_free_unpacked(m, &a);
}

static int
unpack_versioned(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
		 ProtobufCMessage **ret)
{
	ProtobufCMessage *m = NULL;
	uint32_t version;
	int r;

	r = unpack_capped(desc, buf, len, &m);
	if (r < 0)
		return r;
	/* Both Request and Reply carry `version` as their first field. */
	if (desc == &spawnd__v1__request__descriptor)
		version = ((Spawnd__V1__Request *)m)->version;
	else
		version = ((Spawnd__V1__Reply *)m)->version;
	if (version != SPAWND_PROTOCOL_VERSION) {
		free_capped(m);
		return -EPROTONOSUPPORT;
	}
	*ret = m;
	return 0;
}

int
wire_request_unpack(const uint8_t *buf, size_t len, Spawnd__V1__Request **ret)
{
	ProtobufCMessage *m;
	int r = unpack_versioned(&spawnd__v1__request__descriptor, buf, len, &m);

	if (r < 0)
		return r;
	*ret = (Spawnd__V1__Request *)m;
	return 0;
}

void
wire_request_free(Spawnd__V1__Request *r)
{
	free_capped(r ? &r->base : NULL);
}

int
wire_reply_unpack(const uint8_t *buf, size_t len, Spawnd__V1__Reply **ret)
{
	ProtobufCMessage *m;
	int r = unpack_versioned(&spawnd__v1__reply__descriptor, buf, len, &m);

	if (r < 0)
		return r;
	*ret = (Spawnd__V1__Reply *)m;
	return 0;
}

void
wire_reply_free(Spawnd__V1__Reply *r)
{
	free_capped(r ? &r->base : NULL);
}

int
wire_pack(const ProtobufCMessage *m, uint8_t **ret_buf, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;

	if (len > SPAWND_MAX_MESSAGE_BYTES)
		return -E2BIG;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	if (protobuf_c_message_pack(m, buf) != len) {
		free(buf);
		return -EINVAL;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}
