/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the policy parser (daemon/config.c). The input is a
 * policy file's text; an error must come with a "NAME:LINE: message".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ignore_warning(void *userdata, const char *message)
{
	(void)userdata;
	(void)message;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	char *error = NULL, *text;
	int r;

	/* The loader caps files at 1 MiB; keep inputs well below that. */
	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	r = config_parse_string("fuzz.conf", text, ignore_warning, NULL, &p, &error);
	if (r < 0) {
		if (!error || strncmp(error, "fuzz.conf", 9) != 0)
			__builtin_trap();
	} else {
		for (size_t i = 0; i < p->n_rules; i++)
			if (p->rules[i].line == 0 || (p->rules[i].cmd && p->rules[i].cmd[0] != '/'))
				__builtin_trap();
	}
	free(error);
	(void)policy_free(p);
	free(text);
	return 0;
}
