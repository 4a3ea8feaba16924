#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The spawnctl command-line contract (DESIGN.md section 6), end to end:
# the real spawnd listening on a path it binds itself (-s; the C suites use
# socket activation), real uid switches with setpriv, exit codes
# 124/125/126/127, 128+N and the exact one-line error messages.
#
#   [SPAWND_IT_ENGINE=fork|vfork] spawnctl.sh SPAWND SPAWNCTL SPAWN_PROBE
#
# Exit 0 when every case passed, 1 otherwise, 77 (skipped) when not root.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "skipped: spawnctl.sh switches users and needs root"
	exit 77
fi
if [ $# -ne 3 ]; then
	echo "usage: $0 SPAWND SPAWNCTL SPAWN_PROBE" >&2
	exit 2
fi
SPAWND=$1
SPAWNCTL=$2
PROBE_SRC=$3
for tool in setpriv timeout; do
	command -v "$tool" >/dev/null || { echo "missing $tool (util-linux/coreutils)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/spawnctl-it.XXXXXX)
chmod 0755 "$work"
sock=$work/sock
conf=$work/spawnd.conf
log=$work/spawnd.log
probe=$work/spawn-probe
install -m 0755 "$PROBE_SRC" "$probe"

# Line numbers matter: denials name "CONF:LINE".
cat >"$conf" <<EOF
# spawnctl.sh test policy
permit root
permit nobody as nobody cmd /usr/bin/id
permit nobody as nobody cmd $probe
deny root as nobody cmd /bin/false
permit nobody as nobody cmd /bin/sleep
EOF
chmod 0644 "$conf"
DENY_FALSE_LINE=5

NOBODY_UID=$(id -u nobody)
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/cli-lib.sh"

# The whole of stderr is exactly this one line.
expect_err() {
	local got
	got=$(cat "$work/err")
	[ "$got" = "$1" ] || fail "stderr '$got', expected '$1'"
}

# stderr is exactly one line and matches the extended regex $1.
expect_err_match() {
	[ "$(wc -l <"$work/err")" = 1 ] || fail "stderr is not one line: $(cat "$work/err")"
	grep -qE -- "$1" "$work/err" || fail "stderr '$(cat "$work/err")' does not match /$1/"
}

# ---- cases ----

# n) an unprivileged spawnctl (setpriv to nobody) runs `id` as nobody.
t_nobody_runs_id_as_nobody() {
	ctl_as nobody -u nobody -- id
	expect_rc 0
	grep -q "^uid=${NOBODY_UID}(nobody) " "$work/out" ||
		fail "id printed '$(cat "$work/out")'"
}

# Default user root; argv passes byte for byte (no shell, no option parsing).
t_default_user_is_root() {
	ctl -- "$probe"
	expect_rc 0
	expect_out_line "uid=0"
	expect_out_line "argv.0=$probe"
	# shellcheck disable=SC2016 # the $(id) must reach the child unexpanded
	ctl -- /usr/bin/printf '%s\n' 'a b' '$(id)' '--bind' '\x' '*'
	expect_rc 0
	# shellcheck disable=SC2016
	[ "$(cat "$work/out")" = "$(printf '%s\n' 'a b' '$(id)' '--bind' '\x' '*')" ] ||
		fail "argv changed on the way: $(cat "$work/out")"
}

# spawnctl's own 0/1/2 become the child's; --fd N and --fd N=M map more.
t_stdio_and_fd_mapping() {
	echo "from-stdin" | timeout 60 "$SPAWNCTL" -s "$sock" -u nobody --fd 3 --fd 4=5 -- \
		"$probe" --read-fd 0 --write-fd 3 three --write-fd 4 four \
		>"$work/out" 2>"$work/err" 3>"$work/fd3" 5>"$work/fd5"
	rc=$?
	expect_rc 0
	expect_out_line "read.0=from-stdin"
	expect_out_line "fds=0,1,2,3,4"
	expect_out_line "fd.1=$work/out"
	expect_out_line "fd.2=$work/err"
	expect_out_line "fd.3=$work/fd3"
	expect_out_line "fd.4=$work/fd5"
	[ "$(cat "$work/fd3")" = three ] || fail "fd 3 carried '$(cat "$work/fd3")'"
	[ "$(cat "$work/fd5")" = four ] || fail "fd 4 (own fd 5) carried '$(cat "$work/fd5")'"
	expect_out_line "uid=$NOBODY_UID"
	expect_out_line "tty=0"
	expect_out_line "cwd=/"
}

# c) chdir as the target: a root-only 0700 directory.
t_chdir_as_target_126() {
	mkdir -m 0700 "$work/secret"
	ctl -u nobody -D "$work/secret" -- "$probe"
	expect_rc 126
	expect_err "spawnctl: chdir $work/secret: Permission denied (as nobody)"
	[ -s "$work/out" ] && fail "the child ran: $(cat "$work/out")"
	ctl -u root -D "$work/secret" -- "$probe"
	expect_rc 0
	expect_out_line "cwd=$work/secret"
}

# d) exec errors: ENOENT 127, EACCES 126, ENOEXEC 126, bare name not on PATH 127.
t_exec_errors() {
	printf '#!/bin/sh\nexit 0\n' >"$work/noexec"
	chmod 0644 "$work/noexec"
	printf 'echo this must never run\n' >"$work/garbage"
	chmod 0755 "$work/garbage"

	ctl -- /nonexistent/spawnd-prog
	expect_rc 127
	expect_err "spawnctl: exec /nonexistent/spawnd-prog: No such file or directory (as root)"
	ctl -- "$work/noexec"
	expect_rc 126
	expect_err "spawnctl: exec $work/noexec: Permission denied (as root)"
	ctl -- "$work/garbage"
	expect_rc 126
	expect_err "spawnctl: exec $work/garbage: Exec format error (as root)"
	[ -s "$work/out" ] && fail "the garbage file ran through a shell: $(cat "$work/out")"
	ctl -- spawnd-no-such-command
	expect_rc 127
	expect_err "spawnctl: resolve spawnd-no-such-command: No such file or directory (as root)"
	# The client's PATH is never used for resolution.
	ln -s /bin/true "$work/spawnd-only-in-client-path"
	PATH="$work:$PATH" ctl -- spawnd-only-in-client-path
	expect_rc 127
}

# f) LD_PRELOAD: explicit -> 125 naming it; inherited -> silently dropped, TERM passes, FOO not.
t_env_rules() {
	ctl -u nobody -E LD_PRELOAD=/nonexistent/evil.so -- "$probe"
	expect_rc 125
	# One line naming the variable and the target user.
	expect_err_match '^spawnctl: .*(^|[ :])LD_PRELOAD([ :]|$).*\(as nobody\)$'
	[ -s "$work/out" ] && fail "the child ran"

	LD_PRELOAD=/nonexistent/evil.so FOO=bar TERM=xterm-spawnctl-test \
		ctl -u nobody -- "$probe"
	expect_rc 0
	expect_out_line "env.TERM=xterm-spawnctl-test"
	grep -q '^env\.LD_PRELOAD=' "$work/out" && fail "inherited LD_PRELOAD reached the child"
	grep -q '^env\.FOO=' "$work/out" && fail "inherited FOO reached the child"
	expect_out_line "env.SPAWND_USER=root"
	expect_out_line "env.SPAWND_UID=0"
	expect_out_line "env.USER=nobody"
}

# g) policy: deny -> 125 with the deciding rule; last match wins; unknown user 125.
t_policy_decisions() {
	ctl -u nobody -- /bin/false
	expect_rc 125
	grep -qE "^spawnctl: denied by policy: (.* )?$conf:$DENY_FALSE_LINE\$" "$work/err" ||
		fail "denial message '$(cat "$work/err")' does not name $conf:$DENY_FALSE_LINE"
	[ "$(wc -l <"$work/err")" = 1 ] || fail "more than one line on stderr"

	ctl_as nobody -u root -- id
	expect_rc 125
	grep -qE '^spawnctl: denied by policy: (.* )?no matching rule$' "$work/err" ||
		fail "denial message '$(cat "$work/err")'"

	ctl_as nobody -u nobody -- /bin/echo hi
	expect_rc 125

	ctl -u spawnd-no-such-user -- id
	expect_rc 125
	expect_err_match '^spawnctl: .*spawnd-no-such-user.*$'
}

# 125 for everything before a child existed: no daemon, bad option.
t_refusals_before_start() {
	timeout 60 "$SPAWNCTL" -s "$work/no-such-socket" -- id >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	expect_rc 125
	grep -q "$work/no-such-socket" "$work/err" || fail "no socket named: $(cat "$work/err")"
	ctl --no-such-option -- id
	expect_rc 125
	ctl
	expect_rc 125
	# SPAWND_SOCKET selects the socket when -s is absent.
	SPAWND_SOCKET=$sock timeout 60 "$SPAWNCTL" -- id -u >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	expect_rc 0
	expect_out_line 0
}

# h) exit codes: N, 128+signal.
t_exit_codes() {
	ctl -u nobody -- "$probe" --exit 42
	expect_rc 42
	ctl -u nobody -- "$probe" --kill-self 9
	expect_rc 137
	ctl -- /bin/false
	expect_rc 1
}

# Wait until FILE has a line "pid=N"; print N.
wait_pid_line() {
	local file=$1 pid=
	for _ in $(seq 200); do
		pid=$(sed -n 's/^pid=//p' "$file" 2>/dev/null)
		[ -n "$pid" ] && break
		sleep 0.05
	done
	echo "$pid"
}

# h) signals: SIGTERM to spawnctl reaches the child, spawnctl exits 143, child gone.
t_signal_forwarding() {
	local ctl_pid child start
	for sig in TERM INT HUP; do
		# The child (nobody) rewrites this file; it cannot create one in $work.
		install -m 0666 /dev/null "$work/sleeper"
		"$SPAWNCTL" -s "$sock" -u nobody -- "$probe" --out "$work/sleeper" \
			--sleep 30 >/dev/null 2>"$work/err" </dev/null &
		ctl_pid=$!
		child=$(wait_pid_line "$work/sleeper")
		[ -n "$child" ] || { fail "SIG$sig: the child never reported"; continue; }
		start=$SECONDS
		kill -"$sig" "$ctl_pid"
		wait "$ctl_pid"
		rc=$?
		expect_rc $((128 + $(kill -l "$sig")))
		[ $((SECONDS - start)) -le 5 ] || fail "SIG$sig: spawnctl took $((SECONDS - start)) s"
		[ -d "/proc/$child" ] && [ "$(awk '{print $3}' "/proc/$child/stat")" != Z ] &&
			fail "SIG$sig: child $child still running"
	done
	:
}

# l) --timeout: 124 within a few seconds.
t_timeout_124() {
	local start=$SECONDS
	ctl --timeout 1 -- sleep 30
	expect_rc 124
	[ $((SECONDS - start)) -le 6 ] || fail "--timeout 1 took $((SECONDS - start)) s"
}

# m) --detach prints the pid alone and exits 0; the child keeps running.
t_detach() {
	local pid
	ctl -u nobody --detach -- /bin/sleep 30
	expect_rc 0
	pid=$(cat "$work/out")
	[[ "$pid" =~ ^[0-9]+$ ]] || { fail "--detach printed '$pid'"; return; }
	[ "$(wc -l <"$work/out")" = 1 ] || fail "--detach printed more than one line"
	sleep 0.3
	[ -d "/proc/$pid" ] || { fail "detached child $pid is gone"; return; }
	[ "$(stat -c %u "/proc/$pid")" = "$NOBODY_UID" ] || fail "detached child not nobody"
	[ "$(awk '{print $4}' "/proc/$pid/stat")" = "$daemon_pid" ] ||
		fail "detached child's parent is not spawnd"
	kill -TERM "$pid"
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] || break
		sleep 0.05
	done
	[ -d "/proc/$pid" ] && fail "detached child $pid not reaped after SIGTERM"
	:
}

# --report --json: one JSON object with the documented fields.
t_report_json() {
	ctl --report --json -- "$probe" --exit 3
	expect_rc 3
	python3 - "$work/err" <<'EOF' || fail "bad --json report: $(cat "$work/err")"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert o["exit_code"] == 3, o
for k in ("user_cpu_us", "sys_cpu_us", "max_rss_kb", "wall_us"):
    assert isinstance(o[k], int) and o[k] >= 0, (k, o)
assert o["wall_us"] > 0, o
EOF
}

# The daemon refuses a policy file that is not root-owned or is group/other-writable.
t_config_ownership_enforced() {
	local bad=$work/bad.conf rc2
	cp "$conf" "$bad"
	for mode in 0664 0646; do
		chmod "$mode" "$bad"
		chown root:root "$bad"
		timeout 10 "$SPAWND" -s "$work/bad.sock" -c "$bad" >/dev/null 2>"$work/err" </dev/null
		rc2=$?
		[ "$rc2" = 1 ] || fail "mode $mode: spawnd exited $rc2, expected 1"
		[ -s "$work/err" ] || fail "mode $mode: no message on stderr"
	done
	chmod 0644 "$bad"
	chown nobody "$bad"
	timeout 10 "$SPAWND" -s "$work/bad.sock" -c "$bad" >/dev/null 2>"$work/err" </dev/null
	rc2=$?
	[ "$rc2" = 1 ] || fail "owner nobody: spawnd exited $rc2, expected 1"
	[ -s "$work/err" ] || fail "owner nobody: no message on stderr"
	:
}

run_all t_nobody_runs_id_as_nobody t_default_user_is_root t_stdio_and_fd_mapping \
	t_chdir_as_target_126 t_exec_errors t_env_rules t_policy_decisions \
	t_refusals_before_start t_exit_codes t_signal_forwarding t_timeout_124 t_detach \
	t_report_json t_config_ownership_enforced
