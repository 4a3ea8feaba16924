# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Shared by the scripts that drive spawnctl against the real spawnd
# (spawnctl.sh, identity.sh, environ.sh); sourced after they set SPAWND,
# SPAWNCTL and work, sock, conf, log. The daemon binds $sock itself (-s) and
# logs to $log; each case is a function run by run_case, which counts it in
# $passed or $failures; spawnctl's stdout and stderr land in $work/out and
# $work/err, its exit status in $rc. run_all CASES... ends the script: 0
# when every case passed, else 1. A script that needs more undone on exit
# defines cleanup_more().
# shellcheck disable=SC2154 # work, sock, conf, log, SPAWND, SPAWNCTL: the caller's

daemon_pid=
failures=0
passed=0
current=

cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	if declare -F cleanup_more >/dev/null; then
		cleanup_more
	fi
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $current: $*" >&2
	failures=$((failures + 1))
	case_failed=1
}

start_daemon() {
	rm -f "$sock"
	# SPAWND_IT_ENGINE=fork|vfork selects the spawn engine (ctest runs both).
	"$SPAWND" -s "$sock" -c "$conf" ${SPAWND_IT_ENGINE:+--engine "$SPAWND_IT_ENGINE"} \
		2>>"$log" </dev/null &
	daemon_pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "spawnd did not come up; its log:" >&2
	cat "$log" >&2
	exit 1
}

# SIGTERM, wait at most 15 s, require exit status 0.
stop_daemon() {
	local rc
	kill -TERM "$daemon_pid"
	for _ in $(seq 300); do
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$daemon_pid" 2>/dev/null; then
		fail "spawnd still running 15 s after SIGTERM"
		kill -KILL "$daemon_pid"
	fi
	wait "$daemon_pid"
	rc=$?
	[ "$rc" = 0 ] || fail "spawnd exited with status $rc on SIGTERM, expected 0"
	daemon_pid=
}

# ctl ARGS...: run spawnctl (as root) on our socket, stdin from /dev/null.
ctl() {
	timeout 60 "$SPAWNCTL" -s "$sock" "$@" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
}

# ctl_as USER ARGS...: the same as USER, with its own primary group and no
# supplementary groups (setpriv).
ctl_as() {
	local user=$1
	shift
	timeout 60 setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		"$SPAWNCTL" -s "$sock" "$@" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
}

expect_rc() {
	[ "$rc" = "$1" ] ||
		fail "exit status $rc, expected $1; stdout: $(cat "$work/out"); stderr: $(cat "$work/err")"
}

# A line of stdout equals $1.
expect_out_line() {
	grep -qxF -- "$1" "$work/out" || fail "stdout lacks the line '$1'; stdout: $(cat "$work/out")"
}

run_case() {
	current=$1
	case_failed=0
	"$1"
	if [ "$case_failed" = 0 ]; then
		echo "ok: $1"
		passed=$((passed + 1))
	fi
}

# start the daemon, run the cases, stop it, report; the script's exit status.
run_all() {
	start_daemon
	for t in "$@"; do
		run_case "$t"
	done
	current=stop
	stop_daemon
	echo "$(basename "$0"): $passed passed, $failures failed"
	[ "$failures" = 0 ]
}
