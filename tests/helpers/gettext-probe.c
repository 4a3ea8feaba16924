/* SPDX-License-Identifier: MIT */
/*
 * gettext-probe: a spawn target that prints one translated message, the
 * way every localised program does: setlocale(LC_ALL, ""), its text domain
 * bound to the system locale directory, then printf() of the translation
 * of a format. Without a catalog it prints
 *
 *   spawnd gettext probe: untranslated
 *
 * A client that can make gettext load a catalog it wrote (LANGUAGE=
 * ../../../../DIR, HOSTILE.md 39) chooses that format, i.e. the printf
 * directives run by the target's program; tests/integration/environ.sh
 * plants a catalog whose translation is a marker and checks that spawnd
 * never lets it in.
 */
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#define PROBE_DOMAIN "spawnd-gettext-probe"
#define PROBE_LOCALEDIR "/usr/share/locale"

int
main(void)
{
	(void)setlocale(LC_ALL, "");
	if (!bindtextdomain(PROBE_DOMAIN, PROBE_LOCALEDIR) || !textdomain(PROBE_DOMAIN))
		return EXIT_FAILURE;
	/* The format itself is the translation: the point of the attack. */
	printf(gettext("spawnd gettext probe: %s\n"), "untranslated");
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
