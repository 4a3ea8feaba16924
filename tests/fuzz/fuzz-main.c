/* SPDX-License-Identifier: MIT */
/*
 * Replay driver: runs a fuzz target over files (or every file in
 * directories) given on the command line, without libFuzzer, so that the
 * committed corpus runs as an ordinary ctest case under gcc and every crash
 * ever found stays a regression test (systemd src/fuzz/fuzz-main.c).
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t size = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (size == cap) {
			uint8_t *b = realloc(buf, cap ? cap * 2 : 4096);

			if (!b) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = b;
			cap = cap ? cap * 2 : 4096;
		}
		size_t n = fread(buf + size, 1, cap - size, f);

		if (n == 0)
			break;
		size += n;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t ran = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **names;
			int n = scandir(argv[i], &names, NULL, alphasort);

			if (n < 0)
				return 1;
			for (int k = 0; k < n; k++) {
				char *path;

				if (names[k]->d_name[0] != '.' &&
				    asprintf(&path, "%s/%s", argv[i], names[k]->d_name) >= 0) {
					if (run_file(path) < 0)
						return 1;
					ran++;
					free(path);
				}
				free(names[k]);
			}
			free(names);
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			ran++;
		}
	}
	printf("%zu inputs replayed\n", ran);
	/* An empty corpus would make this test unable to fail. */
	return ran > 0 ? 0 : 1;
}
