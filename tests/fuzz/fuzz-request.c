/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: request decoding + validation, the code that turns an
 * untrusted datagram into a struct request (daemon/request.c). The first
 * byte stands for the number of fds that rode on the datagram, so that the
 * fd-index rules are exercised too; the rest is the datagram.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "request.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request *req = NULL;
	const char *error = NULL;
	uint64_t id = 0;
	size_t n_fds;
	int r;

	if (size < 1)
		return 0;
	n_fds = data[0] % (SPAWND_MAX_FDS + 1);
	r = request_decode(data + 1, size - 1, n_fds, &req, &id, &error);
	if (r >= 0) {
		/* A request that passes must honour every promise request.h
		 * makes to the stages after it. */
		if (req->kind == REQUEST_SPAWN) {
			const struct spawn_request *s = &req->spawn;

			if (s->argc < 1 || !s->argv[0] || !s->argv[0][0] || s->argv[s->argc] ||
			    !s->user || !s->cwd || s->cwd[0] != '/' || s->umask > 0777)
				__builtin_trap();
			if (strchr(s->argv[0], '/') && s->argv[0][0] != '/')
				__builtin_trap();
			for (size_t i = 0; i < s->n_fds; i++)
				if (s->fds[i].index >= n_fds || s->fds[i].target < 0 ||
				    s->fds[i].target > (int)SPAWND_MAX_TARGET_FD)
					__builtin_trap();
			for (size_t i = 0; i < s->n_env_set; i++)
				if (!strchr(s->env_set[i], '=') || s->env_set[i][0] == '=')
					__builtin_trap();
		}
	} else if (!error)
		__builtin_trap(); /* every refusal names its reason */
	(void)request_free(req);
	return 0;
}
