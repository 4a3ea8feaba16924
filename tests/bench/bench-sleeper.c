/* SPDX-License-Identifier: MIT */
/*
 * bench-sleeper: the "live child" of the benchmark. It sleeps until a
 * signal ends it, using as little memory as a process can (linked
 * statically when the toolchain allows), so that 10,000 of them per
 * daemon fit comfortably on a CI machine.
 *
 * It dies with its spawner: PR_SET_PDEATHSIG is a safety net for a
 * benchmark that is killed before it can stop the daemons (the daemon
 * then cannot terminate its children). The parent that counts is the
 * thread that created us (prctl(2)), which is why the vfork engine's
 * spawner threads never exit.
 */
#include <sys/prctl.h>

#include <signal.h>
#include <unistd.h>

int
main(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		return 1;
	for (;;)
		(void)pause();
}
