#!/bin/bash
# The unit files pass systemd-analyze verify (with ExecStart pointing at the
# binary under test, since verify checks that it exists).
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
units=$1
docs=$2
mkdir -p "$WORK/units"
# verify also checks that Documentation=man:... pages exist: offer ours.
mkdir -p "$WORK/man/man5" "$WORK/man/man8"
cp "$docs/spawnd.8" "$WORK/man/man8/"
cp "$docs/spawnd.conf.5" "$WORK/man/man5/"
export MANPATH=$WORK/man
sed "s|^ExecStart=[^ ]*spawnd|ExecStart=$SPAWND|" "$units/spawnd.service" >"$WORK/units/spawnd.service"
cp "$units/spawnd.socket" "$WORK/units/"
grep -q "^ExecStart=$SPAWND" "$WORK/units/spawnd.service" || fail "ExecStart not rewritten"
(cd "$WORK/units" && systemd-analyze verify spawnd.socket spawnd.service) >"$WORK/verify.log" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
# verify prints warnings without failing; treat any output about our units as a defect.
if grep -q 'spawnd\.' "$WORK/verify.log"; then fail "verify warned: $(cat "$WORK/verify.log")"; fi
pass "spawnd.socket and spawnd.service pass systemd-analyze verify"
for want in 'ListenSequentialPacket=/run/spawnd.sock' 'SocketMode=0666' 'Accept=no'; do
	grep -qx "$want" "$units/spawnd.socket" || fail "spawnd.socket lacks $want"
done
for want in 'Type=notify' 'KillMode=process' 'ExecReload=/bin/kill -HUP $MAINPID'; do
	grep -qxF "$want" "$units/spawnd.service" || fail "spawnd.service lacks $want"
done
grep -q '^WatchdogSec=' "$units/spawnd.service" || fail "no WatchdogSec="
grep -q '^CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_KILL' "$units/spawnd.service" || fail "no bounding set"
pass "the units carry the settings spawnd relies on"
