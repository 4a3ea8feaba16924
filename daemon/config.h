/* SPDX-License-Identifier: MIT */
/*
 * Load /etc/spawnd.conf (or --config FILE) into a struct policy. The file must
 * be a regular file owned by root and not writable by group or other, or it is
 * refused (doas parseconfig). Names are resolved to ids at load time; a name
 * that does not exist is a warning and a rule that never matches. Syntax
 * errors (unknown keyword, extra words, unbalanced '{', a bare-name `cmd`)
 * are errors.
 */
#ifndef SPAWND_CONFIG_H
#define SPAWND_CONFIG_H

#include <stdbool.h>

#include "policy.h"

/* Called for each warning with a "FILE:LINE: warning: ..." message. */
typedef void (*config_warn_fn)(void *userdata, const char *message);

/*
 * Parse path. check_owner=false skips the owner/mode check (unit tests of
 * the grammar only; the daemon always checks). On error returns -errno and
 * sets *ret_error to a malloc'd "FILE:LINE: message" (or "FILE: message").
 */
int config_load(const char *path, bool check_owner, config_warn_fn warn, void *userdata,
		struct policy **ret, char **ret_error);

/* Parse from memory (same grammar; `name` is used in messages). */
int config_parse_string(const char *name, const char *text, config_warn_fn warn, void *userdata,
			struct policy **ret, char **ret_error);

#endif
