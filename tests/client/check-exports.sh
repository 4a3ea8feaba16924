#!/bin/sh
# SPDX-License-Identifier: MIT
#
# libspawnd's ABI is exactly three lists that must agree:
#  - client/libspawnd.sym: every exported name, spelled out, in the version
#    node of the release that added it (no wildcards);
#  - the built libspawnd.so: what `nm -D --defined-only` shows, with the
#    version node of each symbol (name@@NODE);
#  - include/spawnd/spawnd.h: the functions declared SPAWND_EXPORT.
# A function made public by accident (a wildcard, a missing `static`), one
# declared but never exported, or one moved to another node fails here.
#
# usage: check-exports.sh NM LIBRARY SYMFILE HEADER
set -eu
# The version script holds `*`: never let the shell expand it.
set -f

if [ $# -ne 4 ]; then
	echo "usage: $0 NM LIBRARY SYMFILE HEADER" >&2
	exit 2
fi
nm=$1
lib=$2
sym=$3
header=$4

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The version script, as "name@@NODE" lines. C comments are dropped first;
# then every "name;" inside a node's global: part is one symbol.
sed -e ':a' -e '/\/\*/{' -e '/\*\//!{N;ba' -e '}' -e 's:/\*.*\*/::' -e '}' "$sym" |
	awk -v out="$tmp/bad" '
	/^[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); part = ""; next }
	/^[ \t]*global:/ { part = "global"; next }
	/^[ \t]*local:/ { part = "local"; next }
	/^[ \t]*\}/ { node = ""; part = ""; next }
	part == "global" && NF > 0 {
		name = $1
		sub(/;$/, "", name)
		if (name ~ /[*?\[]/ || name !~ /^spawnd_[a-z0-9_]+$/) {
			print "not an explicit spawnd_ name in a global: list: " $0 > out
			next
		}
		print name "@@" node
	}' | sort >"$tmp/sym"
if [ -s "$tmp/bad" ]; then
	cat "$tmp/bad" >&2
	exit 1
fi
if [ ! -s "$tmp/sym" ]; then
	echo "no symbols found in $sym" >&2
	exit 1
fi

# The library: defined dynamic symbols, without the version nodes' own
# absolute symbols (type A).
"$nm" -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort >"$tmp/lib"

# The header: every SPAWND_EXPORT declaration, joined into one line and
# stripped of SPAWND_DEPRECATED("...") so that its message cannot be read
# as a name; the name is the identifier right before the first '('.
tr '\n' ' ' <"$header" | tr ';' '\n' |
	sed -n 's/SPAWND_DEPRECATED("[^"]*")//; s/.*SPAWND_EXPORT[^(]*[^A-Za-z0-9_(]\(spawnd_[a-z0-9_]*\)[ \t]*(.*/\1/p' |
	sort >"$tmp/header"

status=0
if ! diff -u "$tmp/sym" "$tmp/lib" >"$tmp/d1"; then
	echo "libspawnd.sym (-) and the exports of $lib (+) differ:" >&2
	cat "$tmp/d1" >&2
	status=1
fi
sed 's/@@.*//' "$tmp/sym" | sort >"$tmp/symnames"
if ! diff -u "$tmp/symnames" "$tmp/header" >"$tmp/d2"; then
	echo "libspawnd.sym (-) and the SPAWND_EXPORT declarations of $header (+) differ:" >&2
	cat "$tmp/d2" >&2
	status=1
fi
if [ $status -eq 0 ]; then
	echo "ok: $(wc -l <"$tmp/sym") symbols, the same in libspawnd.sym, $lib and $header"
fi
exit $status
