#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Style and static checks (STYLE.md section 12, CI job 4), so that style
# stops depending on review:
#   - clang-format --dry-run --Werror over the project's own C sources
#     (daemon/, proto/, client/, include/); tests/ keeps hand-aligned tables
#     and is not checked;
#   - cppcheck (warning, portability, performance) over the same code.
# Exits non-zero on the first finding. Needs clang-format (14) and cppcheck.
set -euo pipefail

cd "$(dirname "$0")/.."

mapfile -t sources < <(git ls-files 'daemon/*.[ch]' 'proto/*.[ch]' 'client/*.[ch]' 'include/*.h')
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"

# The generated protobuf-c header is not on the include path: cppcheck does
# not see the system's protobuf-c headers and would trip on its version
# check. Py_RETURN_NONE is a macro cppcheck cannot expand. cppcheck does not
# model __attribute__((cleanup)) (_cleanup_free_, _cleanup_close_), so its
# leak checks report every early return of a function that uses them; leaks
# are the job of LeakSanitizer in CI job 2, and of valgrind by hand.
echo "cppcheck: daemon proto client"
cppcheck --quiet --std=c11 --enable=warning,portability,performance --inline-suppr \
	--error-exitcode=1 -I include -I daemon -I proto \
	--suppress=missingReturn:client/python/_spawnd.c --suppress=memleak --suppress=resourceLeak \
	daemon proto client
echo "lint: clean"
