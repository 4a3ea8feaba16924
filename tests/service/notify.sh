#!/bin/bash
# sd_notify: READY=1, STATUS=, WATCHDOG=1, RELOADING=1/READY=1 around a
# reload (good and bad policy), STOPPING=1, received on a test NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"
need_root

conf=$WORK/spawnd.conf
write_config "$conf" <<'CONF'
permit root as nobody
CONF
log=$WORK/notify.log
python3 "$(dirname "$0")/notify-listener.py" "$WORK/notify" "$log" 60 &
listener=$!
wait_for test -S "$WORK/notify" || fail "listener did not start"

NOTIFY_SOCKET=$WORK/notify WATCHDOG_USEC=400000 start_daemon "$conf"
wait_for grep -qx 'READY=1' "$log" || fail "no READY=1: $(cat "$log")"
pass "READY=1 once serving"

"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "spawn failed"
wait_for grep -q '^STATUS=.* live children, 1 spawns$' "$log" || fail "no STATUS with the spawn: $(cat "$log")"
pass "STATUS= reports connections, live children and spawns"
wait_for grep -qx 'WATCHDOG=1' "$log" || fail "no WATCHDOG=1"
pass "WATCHDOG=1 with WATCHDOG_USEC set"

# A good reload: RELOADING=1, then READY=1.
before=$(grep -c '^READY=1' "$log")
kill -HUP "$DAEMON_PID"
wait_for grep -q '^RELOADING=1' "$log" || fail "no RELOADING=1"
wait_for test "$(grep -c '^READY=1' "$log")" -gt "$before" || fail "no READY=1 after the reload"
pass "RELOADING=1 then READY=1 around a reload"

# A bad one: still READY=1 (the old policy serves) with a STATUS saying so.
echo 'permit root as nobody extra words' | write_config "$conf"
kill -HUP "$DAEMON_PID"
wait_for grep -q '^STATUS=Reload failed' "$log" || fail "no STATUS for a failed reload: $(cat "$log")"
"$SPAWNCTL" -s "$SOCK" -u nobody -- /bin/true || fail "the old policy no longer serves"
pass "a failed reload is reported and the old policy still serves"

stop_daemon
wait_for grep -qx 'STOPPING=1' "$log" || fail "no STOPPING=1"
pass "STOPPING=1 on SIGTERM"
kill "$listener" 2>/dev/null || true
