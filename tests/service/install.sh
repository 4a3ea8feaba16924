#!/bin/bash
# Install into a DESTDIR and use the result as an outsider would: build a
# small program against the installed library with pkg-config and with CMake
# find_package(spawnd), run it, and read the man pages with man -l.
. "$(dirname "$0")/lib.sh"
build=$1
dest=$WORK/dest
prefix=/usr/local
unitdir=$prefix/lib/systemd/system

DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$WORK/install.log" 2>&1 ||
	fail "cmake --install: $(cat "$WORK/install.log")"
root=$dest$prefix
for f in sbin/spawnd bin/spawnctl include/spawnd/spawnd.h include/spawnd/version.h \
	lib/pkgconfig/libspawnd.pc lib/cmake/spawnd/spawndConfig.cmake \
	share/man/man8/spawnd.8 share/man/man1/spawnctl.1 share/man/man5/spawnd.conf.5 \
	share/man/man3/libspawnd.3 share/doc/spawnd/spawnd.conf.example; do
	[ -e "$root/$f" ] || fail "not installed: $prefix/$f"
done
so=$(readlink "$root/lib/libspawnd.so")
[ -n "$so" ] || fail "no libspawnd.so symlink"
soname=$(objdump -p "$root/lib/libspawnd.so" | awk '/SONAME/ { print $2 }')
[ "$soname" = libspawnd.so.0 ] || fail "SONAME is '$soname'"
pass "binaries, library (SONAME $soname), headers, pkg-config, CMake package, man pages, example policy"
# Units: where systemd looks (pkg-config systemd), or the prefix fallback.
units=$(find "$dest" -name spawnd.socket -o -name spawnd.service | wc -l)
[ "$units" = 2 ] || fail "units not installed ($units found)"
if [ -e "$dest/etc/spawnd.conf" ] || [ -e "$root/etc/spawnd.conf" ]; then fail "install created a policy under etc"; fi
pass "units installed; no policy file created under etc"

for page in spawnd.8 spawnctl.1 spawnd.conf.5 libspawnd.3; do
	sec=${page##*.}
	out=$(MANWIDTH=80 man -l "$root/share/man/man$sec/$page" 2>"$WORK/man.err") || fail "man -l $page"
	[ -s "$WORK/man.err" ] && fail "man -l $page warned: $(cat "$WORK/man.err")"
	grep -q '^NAME' <<<"$out" || fail "man -l $page: no NAME section"
done
pass "man pages are readable with man -l"

# An outside program, built only from what was installed. A sanitized build
# installs an instrumented library: link the program with the same compiler
# and sanitizers, as its users would have to.
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
app_cc=$(cache_get CMAKE_C_COMPILER)
sanitize=$(cache_get SPAWND_SANITIZE)
app_flags=()
[ -n "$sanitize" ] && app_flags=("-fsanitize=$sanitize")
mkdir -p "$WORK/app"
cat >"$WORK/app/app.c" <<'C'
#include <spawnd/spawnd.h>
#include <spawnd/version.h>
#include <stdio.h>

int main(void)
{
	spawnd_options *o = NULL;

	if (spawnd_version() != SPAWND_VERSION_HEX)
		return 1;
	if (spawnd_options_new(&o) < 0)
		return 2;
	o = spawnd_options_free(o);
	printf("libspawnd %s ok\n", SPAWND_VERSION_STRING);
	return 0;
}
C
cflags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$root/lib/pkgconfig pkg-config --cflags libspawnd)
libs=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$root/lib/pkgconfig pkg-config --libs libspawnd)
"${app_cc:-cc}" "${app_flags[@]}" -o "$WORK/app/app-pc" "$WORK/app/app.c" $cflags $libs ||
	fail "pkg-config build"
out=$(LD_LIBRARY_PATH=$root/lib "$WORK/app/app-pc") || fail "pkg-config app failed"
[[ $out == "libspawnd "*" ok" ]] || fail "pkg-config app printed '$out'"
pass "an outside program builds with pkg-config and runs"

cat >"$WORK/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(app C)
find_package(spawnd REQUIRED)
add_executable(app-cmake app.c)
target_link_libraries(app-cmake PRIVATE spawnd::spawnd)
CM
cmake -S "$WORK/app" -B "$WORK/app/build" -DCMAKE_PREFIX_PATH="$root" \
	-DCMAKE_C_COMPILER="${app_cc:-cc}" -DCMAKE_C_FLAGS="${app_flags[*]}" \
	-DCMAKE_EXE_LINKER_FLAGS="${app_flags[*]}" >"$WORK/cm.log" 2>&1 ||
	fail "find_package(spawnd): $(cat "$WORK/cm.log")"
cmake --build "$WORK/app/build" >>"$WORK/cm.log" 2>&1 || fail "CMake build: $(cat "$WORK/cm.log")"
out=$(LD_LIBRARY_PATH=$root/lib "$WORK/app/build/app-cmake") || fail "CMake app failed"
[[ $out == "libspawnd "*" ok" ]] || fail "CMake app printed '$out'"
pass "an outside program builds with CMake find_package(spawnd) and runs"
