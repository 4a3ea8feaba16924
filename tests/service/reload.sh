#!/bin/bash
# SIGHUP reload: a new valid policy applies to new requests; an invalid or
# unsafe file is logged with FILE:LINE and the old policy stays in force.
. "$(dirname "$0")/lib.sh"
need_root

conf=$WORK/spawnd.conf
write_config "$conf" <<'CONF'
deny root as nobody
CONF
start_daemon "$conf"
rc=0
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true 2>/dev/null || rc=$?
[ "$rc" = 125 ] || fail "first policy should deny (got $rc)"

reloads() { grep -c 'Reloaded the policy\|Reload failed' "$WORK/daemon.log" || true; }
hup() {
	local before
	before=$(reloads)
	kill -HUP "$DAEMON_PID"
	wait_for test "$(reloads)" -gt "$before" || fail "no reload logged"
}

write_config "$conf" <<'CONF'
# now permitted
permit root as nobody
CONF
hup
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "new policy not applied"
pass "a valid new policy applies to new requests"

write_config "$conf" <<'CONF'
# broken on line 2
permit root as nobody cmd relative/path
CONF
hup
grep -q "Reload failed, keeping the old policy: $conf:2: " "$WORK/daemon.log" ||
	fail "no FILE:LINE for the broken policy: $(cat "$WORK/daemon.log")"
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "old policy lost after a bad reload"
pass "a broken policy is logged with FILE:LINE and the old one stays"

write_config "$conf" <<'CONF'
deny root as nobody
CONF
chmod 0666 "$conf"
hup
grep -q "Reload failed, keeping the old policy: $conf: must be owned by root and not writable" "$WORK/daemon.log" ||
	fail "unsafe mode not reported: $(cat "$WORK/daemon.log")"
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "an unsafe file replaced the policy"
pass "a group/world-writable policy is refused on reload"

chmod 0644 "$conf"
chown nobody "$conf"
hup
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "a file not owned by root replaced the policy"
pass "a policy not owned by root is refused on reload"
stop_daemon
