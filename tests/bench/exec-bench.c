/* SPDX-License-Identifier: MIT */
/*
 * exec-bench: whole-process start-up cost of a few commands, measured in
 * interleaved rounds (A B C A B C ..., the order rotated each round) so that
 * the machine's drift hits every command alike. Each figure is the wall
 * time of posix_spawn() + waitpid() of the command, per run, and its ratio
 * to the first command in the same round; the report gives medians over
 * rounds and the 25th-75th percentile of the per-round ratios, and each
 * run's CPU time (user + system) and minor page faults from wait4(), which
 * depend less on the machine's load than wall time.
 *
 *   exec-bench [--rounds N] [--batch N] -- CMD [ARG...] ::: CMD [ARG...] ...
 *
 * Used by scripts/spawnctl-startup.sh (docs/benchmarks.md, issue 12). The
 * commands' stdout and stderr go to /dev/null; a command that does not
 * exit 0 is an error. A benchmark, not a test: it asserts no time.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 16
#define MAX_ROUNDS 200

extern char **environ;

struct cmd {
	char **argv;
	double sec[MAX_ROUNDS];	   /* per run, per round */
	double ratio[MAX_ROUNDS];  /* to command 0, per round */
	double cpu[MAX_ROUNDS];	   /* user + system CPU seconds per run (wait4's rusage) */
	double faults[MAX_ROUNDS]; /* minor page faults per run */
};

static struct cmd cmds[MAX_CMDS];
static unsigned n_cmds;

static double
now_sec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile p of v[0..n) (a sorted copy; v is left alone). */
static double
percentile(const double *v, unsigned n, double p)
{
	double s[MAX_ROUNDS], pos, frac;
	unsigned i;

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	pos = p * (double)(n - 1);
	i = (unsigned)pos;
	frac = pos - (double)i;
	return i + 1 < n ? s[i] * (1 - frac) + s[i + 1] * frac : s[i];
}

/* Run c batch times; wall seconds per run, and CPU seconds and faults per run. */
static double
run(const struct cmd *c, unsigned batch, posix_spawn_file_actions_t *fa, double *cpu,
    double *faults)
{
	double t0 = now_sec(), t;
	double cpu_sum = 0, faults_sum = 0;

	for (unsigned i = 0; i < batch; i++) {
		int status, k;
		pid_t pid;

		k = posix_spawn(&pid, c->argv[0], fa, NULL, c->argv, environ);
		if (k != 0) {
			fprintf(stderr, "exec-bench: %s: %s\n", c->argv[0], strerror(k));
			exit(1);
		}
		struct rusage ru;

		while (wait4(pid, &status, 0, &ru) < 0)
			if (errno != EINTR) {
				perror("exec-bench: wait4");
				exit(1);
			}
		cpu_sum += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		faults_sum += (double)ru.ru_minflt;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "exec-bench: %s: status 0x%x\n", c->argv[0],
				(unsigned)status);
			exit(1);
		}
	}
	t = (now_sec() - t0) / batch;
	if (cpu)
		*cpu = cpu_sum / batch;
	if (faults)
		*faults = faults_sum / batch;
	return t;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: exec-bench [--rounds N] [--batch N] -- CMD [ARG...] ::: CMD "
			"[ARG...] ...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned rounds = 15, batch = 100;
	posix_spawn_file_actions_t fa;
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	if (i >= argc - 1 || rounds < 1 || rounds > MAX_ROUNDS || batch < 1)
		usage();
	/* Split the rest at ":::" in place. */
	cmds[n_cmds++].argv = &argv[++i];
	for (; i < argc; i++)
		if (strcmp(argv[i], ":::") == 0) {
			argv[i] = NULL;
			if (n_cmds >= MAX_CMDS || i + 1 >= argc)
				usage();
			cmds[n_cmds++].argv = &argv[i + 1];
		}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0)
		return 1;

	for (unsigned c = 0; c < n_cmds; c++) /* warm-up: page cache, binaries */
		(void)run(&cmds[c], 3, &fa, NULL, NULL);
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned k = 0; k < n_cmds; k++) {
			struct cmd *c = &cmds[(k + r) % n_cmds];

			c->sec[r] = run(c, batch, &fa, &c->cpu[r], &c->faults[r]);
		}
		for (unsigned c = 0; c < n_cmds; c++)
			cmds[c].ratio[r] = cmds[c].sec[r] / cmds[0].sec[r];
	}

	printf("| command | us per run (median) | ratio to the first [25th-75th] | CPU us per run "
	       "(user+sys, median) | minor faults per run |\n"
	       "|---|---|---|---|---|\n");
	for (unsigned c = 0; c < n_cmds; c++) {
		printf("| `");
		for (char **a = cmds[c].argv; *a; a++)
			printf("%s%s", a == cmds[c].argv ? "" : " ", *a);
		printf("` | %.0f | %.2f [%.2f-%.2f] | %.0f | %.0f |\n",
		       percentile(cmds[c].sec, rounds, 0.5) * 1e6,
		       percentile(cmds[c].ratio, rounds, 0.5),
		       percentile(cmds[c].ratio, rounds, 0.25),
		       percentile(cmds[c].ratio, rounds, 0.75),
		       percentile(cmds[c].cpu, rounds, 0.5) * 1e6,
		       percentile(cmds[c].faults, rounds, 0.5));
	}
	printf("\n%u rounds of %u runs per command, order rotated per round; load average at end: ",
	       rounds, batch);
	fflush(stdout);
	{
		char buf[128] = "";
		FILE *f = fopen("/proc/loadavg", "re");

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				fputs(buf, stdout);
			fclose(f);
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}
