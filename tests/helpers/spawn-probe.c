/* SPDX-License-Identifier: MIT */
/*
 * spawn-probe: a spawn target that reports its own state as key=value
 * lines, one per line, so tests can compare what a child really got with
 * what was planned: argv (and execfn, the path execve() got), credentials,
 * groups, cwd, umask, open fds (with their targets and CLOEXEC flag), signal
 * mask and ignored set, session, tty, RLIMIT_NOFILE, oom_score_adj and the
 * environment.
 *
 * Options, applied in this order: --out FILE (report there instead of
 * stdout; opened after the fd listing so it does not show up in it),
 * --write-fd N TEXT, --read-fd N (prints read.N=LINE), then --sleep SECS,
 * --kill-self SIG, --exit N. Unknown options exit 2.
 */
#define _GNU_SOURCE
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define MAX_FDS 2048
#define MAX_TARGET 512
#define MAX_OPS 16

struct fd_op {
	int fd;
	const char *text; /* NULL = read */
};

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return (x > y) - (x < y);
}

static int
parse_int(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	*ret = (int)v;
	return 0;
}

/* Listed before anything else is opened, so only inherited fds appear. */
static size_t
list_fds(int *fds)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int dfd;

	/* No O_DIRECTORY on purpose: a test filters opens that carry it. */
	dfd = open("/proc/self/fd", O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)) && n < MAX_FDS) {
		int fd;

		if (de->d_name[0] == '.' || parse_int(de->d_name, &fd) < 0 || fd == dfd)
			continue;
		fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, n, sizeof(int), cmp_int);
	return n;
}

static void
print_status_field(FILE *out, const char *field, const char *key)
{
	char line[512];
	size_t len = strlen(field);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			char *v = line + len + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			fprintf(out, "%s=%s\n", key, v);
			break;
		}
	fclose(f);
}

static void
report(FILE *out, int argc, char **argv, const int *fds, size_t n_fds, const int *cloexec,
       char targets[][MAX_TARGET])
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	gid_t groups[NGROUPS_MAX > 65536 ? 65536 : NGROUPS_MAX];
	struct rlimit rl;
	char buf[PATH_MAX];
	mode_t mask;
	int n, tty;
	FILE *f;

	fprintf(out, "argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		fprintf(out, "argv.%d=%s\n", i, argv[i]);
	/* The path execve() was given, which may differ from argv[0]. */
	if (getauxval(AT_EXECFN))
		fprintf(out, "execfn=%s\n", (const char *)getauxval(AT_EXECFN));

	(void)getresuid(&ru, &eu, &su);
	(void)getresgid(&rg, &eg, &sg);
	fprintf(out, "uid=%u\neuid=%u\nsuid=%u\n", ru, eu, su);
	fprintf(out, "gid=%u\negid=%u\nsgid=%u\n", rg, eg, sg);

	n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
	if (n < 0)
		n = 0;
	qsort(groups, (size_t)n, sizeof(gid_t), cmp_gid);
	fprintf(out, "groups=");
	for (int i = 0; i < n; i++)
		fprintf(out, "%s%u", i ? "," : "", groups[i]);
	fprintf(out, "\n");

	fprintf(out, "cwd=%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
	mask = umask(0);
	(void)umask(mask);
	fprintf(out, "umask=%04o\n", (unsigned)mask);

	fprintf(out, "fds=");
	for (size_t i = 0; i < n_fds; i++)
		fprintf(out, "%s%d", i ? "," : "", fds[i]);
	fprintf(out, "\n");
	for (size_t i = 0; i < n_fds; i++) {
		fprintf(out, "fd.%d=%s\n", fds[i], targets[i]);
		fprintf(out, "fd.%d.cloexec=%d\n", fds[i], cloexec[i]);
	}

	print_status_field(out, "SigBlk", "sigblk");
	print_status_field(out, "SigIgn", "sigign");

	fprintf(out, "pid=%d\nppid=%d\nsid=%d\npgid=%d\n", (int)getpid(), (int)getppid(),
		(int)getsid(0), (int)getpgrp());
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	fprintf(out, "tty=%d\n", tty >= 0);
	if (tty >= 0)
		close(tty);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(out, "nofile_soft=%llu\nnofile_hard=%llu\n",
			(unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);

	f = fopen("/proc/self/oom_score_adj", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			fprintf(out, "oom_score_adj=%s\n", buf);
		}
		fclose(f);
	}

	for (char **e = environ; e && *e; e++)
		fprintf(out, "env.%s\n", *e);
}

_Noreturn static void
usage_exit(const char *msg)
{
	fprintf(stderr, "spawn-probe: %s\n", msg);
	exit(2);
}

int
main(int argc, char **argv)
{
	static int fds[MAX_FDS], cloexec[MAX_FDS];
	static char targets[MAX_FDS][MAX_TARGET];
	struct fd_op ops[MAX_OPS];
	size_t n_ops = 0, n_fds;
	const char *out_path = NULL;
	int exit_code = 0, sleep_secs = 0, kill_sig = 0;
	FILE *out = stdout;

	/* Inspect the inherited table before opening anything of our own. */
	n_fds = list_fds(fds);
	for (size_t i = 0; i < n_fds; i++) {
		char link[64];
		ssize_t len;
		int fl = fcntl(fds[i], F_GETFD);

		cloexec[i] = fl >= 0 && (fl & FD_CLOEXEC);
		(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		len = readlink(link, targets[i], MAX_TARGET - 1);
		targets[i][len > 0 ? len : 0] = '\0';
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--exit") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], &exit_code) < 0)
				usage_exit("bad --exit");
		} else if (strcmp(a, "--sleep") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], &sleep_secs) < 0)
				usage_exit("bad --sleep");
		} else if (strcmp(a, "--kill-self") == 0 && i + 1 < argc) {
			if (parse_int(argv[++i], &kill_sig) < 0)
				usage_exit("bad --kill-self");
		} else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
			out_path = argv[++i];
		} else if (strcmp(a, "--write-fd") == 0 && i + 2 < argc && n_ops < MAX_OPS) {
			if (parse_int(argv[++i], &ops[n_ops].fd) < 0)
				usage_exit("bad --write-fd");
			ops[n_ops++].text = argv[++i];
		} else if (strcmp(a, "--read-fd") == 0 && i + 1 < argc && n_ops < MAX_OPS) {
			if (parse_int(argv[++i], &ops[n_ops].fd) < 0)
				usage_exit("bad --read-fd");
			ops[n_ops++].text = NULL;
		} else {
			usage_exit("unknown or incomplete option");
		}
	}

	if (out_path) {
		out = fopen(out_path, "we");
		if (!out)
			usage_exit("cannot open --out file");
	}

	report(out, argc, argv, fds, n_fds, cloexec, targets);
	/* Before any --write-fd 1: the report comes first on a shared pipe. */
	(void)fflush(out);

	for (size_t i = 0; i < n_ops; i++) {
		if (ops[i].text) {
			size_t len = strlen(ops[i].text);
			bool ok = write(ops[i].fd, ops[i].text, len) == (ssize_t)len;

			fprintf(out, "write.%d=%s\n", ops[i].fd, ok ? "ok" : "error");
		} else {
			/* Byte by byte, so nothing past the line is consumed. */
			char line[1024];
			size_t len = 0;

			while (len < sizeof(line) - 1) {
				char c;
				ssize_t r = read(ops[i].fd, &c, 1);

				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0 || c == '\n')
					break;
				line[len++] = c;
			}
			line[len] = '\0';
			fprintf(out, "read.%d=%s\n", ops[i].fd, line);
		}
	}

	if (fflush(out) != 0 || (out != stdout && fclose(out) != 0))
		return 3;
	if (sleep_secs > 0)
		sleep((unsigned)sleep_secs);
	if (kill_sig > 0) {
		signal(kill_sig, SIG_DFL);
		raise(kill_sig);
	}
	return exit_code;
}
