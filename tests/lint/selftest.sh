#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: selftest.sh NM ALLOWLIST CHECK-SCRIPT OBJECT
# Run the child-exec symbol check on tests/lint/child_exec.c's object, which
# calls open, write and close: the check must fail (exit 1) and name each.
set -u
nm=$1
allow=$2
check=$3
obj=$4

out=$(sh "$check" "$nm" "$allow" "$obj" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 1 ]; then
	echo "selftest: the check exited $rc on an object calling open/write/close, expected 1" >&2
	exit 1
fi
for want in "'write'" "'close'"; do
	case $out in
	*"$want"*) ;;
	*)
		echo "selftest: the check did not name $want" >&2
		exit 1
		;;
	esac
done
# open is spelled open, open64 or __open_2 depending on the flags and libc.
case $out in
*"'open'"* | *"'open64'"* | *"'__open_2'"* | *"'__open64_2'"*) ;;
*)
	echo "selftest: the check did not name open" >&2
	exit 1
	;;
esac
echo "selftest OK: the check refuses open, write and close"
