#!/bin/bash
# SPDX-License-Identifier: MIT
#
# `pip install client/python` against an installed libspawnd, offline: the
# build tree installed into a DESTDIR, its libspawnd.pc found through
# PKG_CONFIG_PATH/PKG_CONFIG_SYSROOT_DIR, pip run from a fresh venv of
# PYTHON with --no-index (no PyPI), then the installed package imported
# from outside the source tree and its extension called.
#
#   pip-install.sh PYTHON BUILD_DIR SOURCE_DIR [PRELOAD]
#
# PRELOAD: the sanitizer runtime of a sanitized build, preloaded into the
# interpreter that imports the package ("unavailable": skipped).
# Exit 0 on success, 1 on failure, 77 (skipped).
set -eu
if [ $# -lt 3 ]; then
	echo "usage: $0 PYTHON BUILD_DIR SOURCE_DIR [SANITIZED]" >&2
	exit 2
fi
PYTHON=$1 BUILD=$2 SRC=$3
PRELOAD=${4:-}
if [ "$PRELOAD" = unavailable ]; then
	echo "skipped: sanitized build and no sanitizer runtime to preload into $PYTHON"
	exit 77
fi
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || {
	echo "missing the venv module for $PYTHON (Debian: python3-venv)" >&2
	exit 1
}
work=$(mktemp -d /tmp/spawnd-pip.XXXXXX)
trap 'rm -rf "$work"' EXIT
DESTDIR=$work/dest cmake --install "$BUILD" >/dev/null
pc=$(dirname "$(find "$work/dest" -name libspawnd.pc | head -n1)")
cp -r "$SRC" "$work/src"
rm -rf "$work/src/tests"
"$PYTHON" -m venv "$work/venv"
PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$work/dest \
	"$work/venv/bin/pip" install --no-index --no-cache-dir "$work/src" >"$work/pip.log" 2>&1 || {
	cat "$work/pip.log"
	echo "FAIL: pip install" >&2
	exit 1
}
cd /
run_python() {
	if [ -n "$PRELOAD" ]; then
		LD_PRELOAD=$PRELOAD ASAN_OPTIONS=detect_leaks=0 "$@"
	else
		"$@"
	fi
}
run_python "$work/venv/bin/python" - "$work" <<'PY'
import sys
import spawnd
from spawnd import _spawnd
assert spawnd.__file__.startswith(sys.argv[1] + "/venv/"), spawnd.__file__
assert _spawnd.VERSION > 0
try:
    spawnd.run(["true"], socket=sys.argv[1] + "/no-daemon.sock")
except FileNotFoundError:
    pass
else:
    raise SystemExit("FAIL: no daemon, no error")
assert not [m for m in sys.modules if "protobuf" in m]
print("ok: pip install client/python; import spawnd from", spawnd.__file__)
PY
