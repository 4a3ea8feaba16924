/* SPDX-License-Identifier: MIT */
/*
 * bench-nothing: a program that does nothing, linked the way spawnctl is
 * (a static PIE when the toolchain can; see tests/bench/CMakeLists.txt).
 * spawnd-bench times its posix_spawn() + waitpid() against the reference
 * (/bin/true, dynamically linked): the start of a static process, the part
 * of `spawnctl -- /bin/true` that no daemon can remove (docs/benchmarks.md,
 * "The floor, measured").
 */
int
main(void)
{
	return 0;
}
