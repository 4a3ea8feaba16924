# Shared helpers for the service tests (sourced by bash scripts).
# Needs: SPAWND, SPAWNCTL (absolute paths of the built binaries).
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# A private directory, removed (with any daemon stopped) on exit.
WORK=$(mktemp -d /tmp/spawnd-test.XXXXXX)
chmod 0755 "$WORK"
DAEMON_PID=
cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# write_config FILE: stdin -> FILE, root-owned 0644 as the daemon demands.
write_config() {
	cat >"$1.tmp"
	chmod 0644 "$1.tmp"
	mv "$1.tmp" "$1"
}

# wait_for COMMAND...: retry for up to 5 s.
wait_for() {
	for _ in $(seq 100); do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	return 1
}

# start_daemon CONFIG [ARGS...]: spawnd on $WORK/sock, stderr in $WORK/daemon.log.
start_daemon() {
	local conf=$1
	shift
	SOCK=$WORK/sock
	"$SPAWND" -c "$conf" -s "$SOCK" "$@" 2>"$WORK/daemon.log" &
	DAEMON_PID=$!
	wait_for test -S "$SOCK" || fail "daemon did not create $SOCK: $(cat "$WORK/daemon.log")"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" = 0 ] || fail "daemon exited $rc on SIGTERM: $(tail -5 "$WORK/daemon.log")"
}
