/* SPDX-License-Identifier: MIT */
#ifndef SPAWND_CLEANUP_H
#define SPAWND_CLEANUP_H

#include <stdlib.h>

#include "fd-util.h"
#include "macro.h"

static inline void
freep(void *p)
{
	free(*(void **)p);
}

static inline void
closep(int *fd)
{
	*fd = safe_close(*fd);
}

/* Free a NULL-terminated array of strings and the array itself. */
static inline void
strv_freep(char ***p)
{
	if (*p) {
		for (char **s = *p; *s; s++)
			free(*s);
		free(*p);
	}
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#endif
