#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The EXAMPLE of libspawnd(3) is client/examples/run.c, which the build
# compiles and tests/client runs against the daemon: fail when the man
# page's copy differs from the file (after its leading comment), so that
# the example a reader copies is one that builds and works.
#
# The page holds the code between `.\" example-begin` and `.\" example-end`
# with roff escapes: \e for a backslash, \- for a minus, \& before a line
# that starts with a dot or a quote, \(aq for a quote.
#
# usage: check-manpage-example.sh PAGE FILE
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 PAGE FILE" >&2
	exit 2
fi
page=$1
file=$2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n '/^\.\\" example-begin/,/^\.\\" example-end/p' "$page" | sed '1d;$d' |
	sed -e 's/^\\&//' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' >"$tmp/page"
sed '1,/^ \*\/$/d' "$file" >"$tmp/file"

if [ ! -s "$tmp/page" ]; then
	echo "no example-begin/example-end block in $page" >&2
	exit 1
fi
if ! diff -u "$tmp/file" "$tmp/page"; then
	echo "the EXAMPLE of $page (+) differs from $file (-)" >&2
	exit 1
fi
echo "ok: the EXAMPLE of $page is $file ($(wc -l <"$tmp/file") lines)"
