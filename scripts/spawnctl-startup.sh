#!/bin/bash
# SPDX-License-Identifier: MIT
#
# spawnctl's start-up cost by link variant (issue 12, docs/benchmarks.md).
#
#   scripts/spawnctl-startup.sh [BUILD_DIR] [ROUNDS] [BATCH]
#
# Relinks spawnctl from BUILD_DIR's objects (its own link line, from
# client/CMakeFiles/spawnctl.dir/link.txt) with each variant below, then
# for each prints what the loader and the kernel make it pay before it
# connects: system calls of `spawnctl --version` and of a whole
# `spawnctl -- /bin/true` (strace -f -c, the daemon not included),
# relocations (readelf -r), the loader's own statistics (LD_DEBUG), and
# then times them as whole processes with tests/bench/exec-bench, in
# interleaved rounds against /bin/true. Needs root (a private daemon on a
# temporary socket, policy "permit root"). A benchmark: it asserts nothing.
#
# Variants: as-built (what CMake made: a static PIE by default, see
# client/CMakeLists.txt), dynamic (PIE, -z now, libc shared), and from
# that: lazy (-z lazy), no-pie, relr (-z pack-relative-relocs),
# static-pie, static.
set -euo pipefail

B=${1:-build}
ROUNDS=${2:-15}
BATCH=${3:-100}
B=$(cd "$B" && pwd)
LINK="$B/client/CMakeFiles/spawnctl.dir/link.txt"
EXEC_BENCH="$B/tests/bench/exec-bench"
SPAWND="$B/daemon/spawnd"
[ "$(id -u)" = 0 ] || { echo "spawnctl-startup: needs root (a private daemon)" >&2; exit 77; }
for f in "$LINK" "$EXEC_BENCH" "$SPAWND"; do
	[ -e "$f" ] || { echo "spawnctl-startup: missing $f (build $B first)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/spawnctl-startup.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# ---- variants, relinked from the build's own link line ----
# The dynamic base: the build's line with -pie for -static-pie
# (SPAWND_STATIC_SPAWNCTL) and without the -fPIE that CMake may add.
line=$(sed -e 's| -static-pie | -pie |' -e 's| -fPIE -pie | -pie |' "$LINK")
relink() { # NAME SED-EXPRESSION...
	local name=$1 l=$line
	shift
	for e in "$@"; do l=$(sed -e "$e" <<<"$l"); done
	l=${l/ -o spawnctl / -o $W/spawnctl-$name }
	if (cd "$B/client" && eval "$l") >"$W/link-$name.log" 2>&1; then
		variants+=("$name")
	else
		echo "spawnctl-startup: variant $name did not link:" >&2
		sed -e 's/^/  /' "$W/link-$name.log" >&2
	fi
}
noso='s| [^ ]*libprotobuf-c\.so||'
variants=()
cp "$B/client/spawnctl" "$W/spawnctl-as-built"
variants+=(as-built)
relink dynamic
relink lazy 's|-z,now|-z,lazy|'
relink no-pie 's| -pie | -no-pie |'
relink relr 's| -o spawnctl | -Wl,-z,pack-relative-relocs -o spawnctl |'
relink static-pie 's| -pie | -static-pie |' "$noso"
relink static 's| -pie | -static |' "$noso"

# ---- a private daemon ----
printf 'permit root\n' >"$W/spawnd.conf"
"$SPAWND" -s "$W/d.sock" -c "$W/spawnd.conf" 2>"$W/spawnd.log" &
DPID=$!
for _ in $(seq 200); do [ -S "$W/d.sock" ] && break; sleep 0.05; done
"$W/spawnctl-as-built" -s "$W/d.sock" -- /bin/true

# ---- what each variant pays (counts: independent of load) ----
count_syscalls() { # strace -f -c total of a command (the daemon is not traced)
	strace -f -qq -c -U calls,name -o "$W/st.txt" "$@" >/dev/null 2>&1
	awk '$2 == "total" { print $1 }' "$W/st.txt"
}
echo "# spawnctl start-up by link variant"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; Linux $(uname -r); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| variant | size (bytes) | NEEDED | relocations | syscalls, \`--version\` | syscalls, \`-- /bin/true\` (spawnctl only) | loader: relocation time / total start-up (LD_DEBUG=statistics, cycles) |"
echo "|---|---|---|---|---|---|---|"
for v in "${variants[@]}"; do
	f="$W/spawnctl-$v"
	size=$(stat -c %s "$f")
	needed=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | paste -sd, -)
	relocs=$(readelf -r "$f" 2>/dev/null | grep -c '^[0-9a-f]\{12\}' || true)
	sc_ver=$(count_syscalls "$f" --version)
	sc_run=$(count_syscalls "$f" -s "$W/d.sock" -- /bin/true)
	# The least of 5 runs: the first touches of a page are faults, not loader work.
	stats=$(for _ in 1 2 3 4 5; do LD_DEBUG=statistics "$f" --version 2>&1 >/dev/null |
		awk '/total startup time in dynamic loader/ { t = $(NF-1) } /time needed for relocation/ { r = $(NF-2) } END { if (t != "") print r, t }'; done |
		sort -n -k2 | head -1 | awk '{ print $1 " / " $2 }')
	[ -n "$stats" ] || stats="(static: no ld.so)"
	echo "| $v | $size | ${needed:-none} | $relocs | $sc_ver | $sc_run | $stats |"
done
echo
echo "\`/bin/true\` itself: $(count_syscalls /bin/true) syscalls."

# ---- timing: whole processes, interleaved rounds ----
echo
echo "## \`spawnctl --version\` (start-up and exit only), interleaved with /bin/true"
echo
args=(/bin/true)
for v in "${variants[@]}"; do args+=(::: "$W/spawnctl-$v" --version); done
"$EXEC_BENCH" --rounds "$ROUNDS" --batch "$BATCH" -- "${args[@]}" | sed -e "s|$W/||g"
echo
echo "## \`spawnctl -- /bin/true\` through the daemon, interleaved with /bin/true"
echo
args=(/bin/true)
for v in "${variants[@]}"; do args+=(::: "$W/spawnctl-$v" -s "$W/d.sock" -- /bin/true); done
"$EXEC_BENCH" --rounds "$ROUNDS" --batch "$((BATCH / 2 > 0 ? BATCH / 2 : 1))" -- "${args[@]}" |
	sed -e "s|$W/||g"
