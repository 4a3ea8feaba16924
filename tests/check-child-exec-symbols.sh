#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fail if the child_exec object references a symbol that is not in the
# allowlist: code between fork and execve may call only async-signal-safe
# functions (STYLE.md section 3). A new libc call in child_exec.c shows up
# here as an undefined symbol long before it deadlocks a child in production.
#
# usage: check-child-exec-symbols.sh NM ALLOWLIST[:ALLOWLIST...] OBJECT...
# OBJECT... may be every object of a target ($<TARGET_OBJECTS:spawnd_core>);
# the one built from child_exec.c is picked out.
set -eu
# The allowlist holds globs: never let the shell expand them against files.
set -f

if [ $# -lt 3 ]; then
	echo "usage: $0 NM ALLOWLIST OBJECT..." >&2
	exit 2
fi
nm=$1
allow=$2
shift 2

obj=
for o in "$@"; do
	case $o in
	*/child_exec.c.o | */child_exec.o | child_exec.o) obj=$o ;;
	esac
done
if [ -z "$obj" ] || [ ! -f "$obj" ]; then
	echo "$0: no child_exec object among: $*" >&2
	exit 2
fi

# Allowlist entries: first word of each line, comments and blanks dropped.
patterns=
old_ifs=$IFS
IFS=:
for f in $allow; do
	IFS=$old_ifs
	if [ ! -r "$f" ]; then
		echo "$0: cannot read allowlist $f" >&2
		exit 2
	fi
	patterns="$patterns
$(sed -e 's/#.*//' "$f" | awk 'NF { print $1 }')"
done
IFS=$old_ifs
if [ -z "$(printf '%s' "$patterns" | tr -d '[:space:]')" ]; then
	echo "$0: empty allowlist $allow" >&2
	exit 2
fi

# `nm -u` prints "U name" (or "name@VERSION" for some toolchains).
syms=$("$nm" -u "$obj" | awk '{ print $NF }' | sed 's/@.*//' | sort -u)

bad=0
for s in $syms; do
	ok=0
	for p in $patterns; do
		# $p is unquoted on purpose: entries may be shell globs (__asan_*).
		# shellcheck disable=SC2254
		case $s in
		$p)
			ok=1
			break
			;;
		esac
	done
	if [ $ok -eq 0 ]; then
		echo "child_exec.c calls '$s', which is not in $allow" >&2
		bad=1
	fi
done

if [ $bad -ne 0 ]; then
	echo "Only async-signal-safe calls may run between fork and exec (signal-safety(7))." >&2
	exit 1
fi
echo "child_exec symbols OK: $(printf '%s\n' "$syms" | grep -c .) undefined, all allowed"
