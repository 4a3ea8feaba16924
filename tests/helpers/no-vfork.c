/* SPDX-License-Identifier: MIT */
/*
 * no-vfork: run a program where clone(CLONE_VM) without CLONE_THREAD is
 * refused (the vfork engine's clone; the name is the engine's).
 *
 *   no-vfork ERRNO PROGRAM [ARG...]
 *   no-vfork pidfd:ERRNO PROGRAM [ARG...]
 *
 * Installs a seccomp filter, then execs PROGRAM with ARGs (argv[0] =
 * PROGRAM). The filter models a container's seccomp profile or qemu-user,
 * where spawnd's vfork engine cannot clone:
 *  - clone(2) with CLONE_VM but without CLONE_THREAD in its flags fails
 *    with ERRNO (EPERM, ENOSYS, EINVAL or a number), as qemu-user refuses
 *    it (EINVAL); this covers CLONE_VM | CLONE_VFORK as well. One
 *    exception: with CLONE_UNTRACED too it is allowed, for that is
 *    LeakSanitizer's tracer (internal_clone() at exit in the sanitizer
 *    build), which would otherwise fail every instrumented program here,
 *    spawnd's children included;
 *  - clone3(2) fails with ENOSYS, as under Docker's default profile: its
 *    flags sit in memory where a filter cannot see them, and glibc then
 *    falls back to clone(2) (pthread_create) or never used clone3 (fork,
 *    the clone() wrapper);
 *  - everything else is allowed: fork() is clone without CLONE_VM, and a
 *    thread is clone with CLONE_VM | CLONE_THREAD.
 * With "pidfd:", clone(2) with CLONE_PIDFD in its flags fails instead (as
 * in an emulator that predates it): both of spawnd's engines then fall
 * back to fork() + pidfd_open(), whose pidfd can fail after the child
 * exists (tests/hardening/check_untracked.c).
 * The filter is inherited by PROGRAM's children. As root no no_new_privs
 * is needed (CAP_SYS_ADMIN), so the children's exec is unchanged.
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#else
#error "no-vfork: add this architecture's AUDIT_ARCH_* (and check clone's argument order)"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LOW offsetof(struct seccomp_data, args[0])
#else
#define ARG0_LOW (offsetof(struct seccomp_data, args[0]) + 4)
#endif

static int
parse_errno(const char *s)
{
	char *end;
	long v;

	if (strcmp(s, "EPERM") == 0)
		return EPERM;
	if (strcmp(s, "ENOSYS") == 0)
		return ENOSYS;
	if (strcmp(s, "EINVAL") == 0)
		return EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > 4095)
		return -1;
	return (int)v;
}

int
main(int argc, char **argv)
{
	/* The clone flags that are refused: those with (flags & mask) == want. */
	unsigned mask = CLONE_VM | CLONE_THREAD | CLONE_UNTRACED, want = CLONE_VM;
	const char *e = argc > 1 ? argv[1] : "";
	int err;

	if (strncmp(e, "pidfd:", 6) == 0) {
		mask = want = CLONE_PIDFD;
		e += 6;
	}
	if (argc < 3 || (err = parse_errno(e)) < 0) {
		fprintf(stderr, "usage: no-vfork [pidfd:]ERRNO PROGRAM [ARG...]\n");
		return 2;
	}

	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LOW),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, want, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("no-vfork: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		perror("no-vfork: PR_SET_SECCOMP");
		return 1;
	}
	execv(argv[2], argv + 2);
	perror("no-vfork: execv");
	return 127;
}
