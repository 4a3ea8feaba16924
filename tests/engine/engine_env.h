/* SPDX-License-Identifier: MIT */
/*
 * The engine an engine test runs against: SPAWND_IT_ENGINE (fork or vfork;
 * ctest runs both), fork when unset. Shared by the check_engine_* mains.
 */
#ifndef SPAWND_TEST_ENGINE_ENV_H
#define SPAWND_TEST_ENGINE_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child_exec.h" /* SPAWN_HAVE_VFORK_ENGINE */

/*
 * Set SPAWND_IT_ENGINE to fork when unset and check it. Returns -1 to go
 * on, or main()'s exit status: 1 for a bad value, 77 (skipped) for vfork
 * where no vfork engine is built (SPAWND_FORCE_FORK, or an architecture
 * without one, child_exec.h): that daemon forks even with --engine vfork,
 * so there is nothing else to test.
 */
static inline int
engine_env_check(void)
{
	const char *engine = getenv("SPAWND_IT_ENGINE");

	if (!engine || !*engine) {
		engine = "fork";
		if (setenv("SPAWND_IT_ENGINE", engine, 1) < 0) {
			perror("setenv");
			return 1;
		}
	}
	if (strcmp(engine, "fork") != 0 && strcmp(engine, "vfork") != 0) {
		fprintf(stderr, "SPAWND_IT_ENGINE=%s: expected fork or vfork\n", engine);
		return 1;
	}
#if defined(SPAWND_FORCE_FORK) || !SPAWN_HAVE_VFORK_ENGINE
	if (strcmp(engine, "vfork") == 0) {
		fprintf(stderr, "skipped: the vfork engine is not built (SPAWND_FORCE_FORK, or "
				"not on this architecture)\n");
		return 77;
	}
#endif
	return -1;
}

#endif
