/* SPDX-License-Identifier: MIT */
#include "stage.h"

#include "spawnd.pb-c.h"

const char *
wire_stage_name(int stage)
{
	/* One entry per line, in protocol order: clang-format would pack them. */
	/* clang-format off */
	static const char *const names[] = {
		[SPAWND__V1__STAGE__STAGE_UNKNOWN] = "unknown",
		[SPAWND__V1__STAGE__STAGE_DECODE] = "decode",
		[SPAWND__V1__STAGE__STAGE_POLICY] = "policy",
		[SPAWND__V1__STAGE__STAGE_PREPARE] = "prepare",
		[SPAWND__V1__STAGE__STAGE_RESOLVE] = "resolve",
		[SPAWND__V1__STAGE__STAGE_LIMIT] = "limit",
		[SPAWND__V1__STAGE__STAGE_FORK] = "fork",
		[SPAWND__V1__STAGE__STAGE_FD_SETUP] = "fd setup",
		[SPAWND__V1__STAGE__STAGE_SIGNALS] = "signals",
		[SPAWND__V1__STAGE__STAGE_SETSID] = "setsid",
		[SPAWND__V1__STAGE__STAGE_SETGROUPS] = "setgroups",
		[SPAWND__V1__STAGE__STAGE_SETGID] = "setgid",
		[SPAWND__V1__STAGE__STAGE_SETUID] = "setuid",
		[SPAWND__V1__STAGE__STAGE_CHDIR] = "chdir",
		[SPAWND__V1__STAGE__STAGE_RLIMIT] = "rlimit",
		[SPAWND__V1__STAGE__STAGE_OOM_ADJ] = "oom_score_adj",
		[SPAWND__V1__STAGE__STAGE_CLOSE_FDS] = "close fds",
		[SPAWND__V1__STAGE__STAGE_EXEC] = "exec",
		[SPAWND__V1__STAGE__STAGE_SIGNAL] = "signal",
		[SPAWND__V1__STAGE__STAGE_PROTOCOL] = "protocol",
	};
	/* clang-format on */

	if (stage < 0 || (unsigned)stage >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[stage];
}
