#!/bin/bash
# Under systemd (stderr is the stream $JOURNAL_STREAM names) audit records go
# to the journal natively with structured fields. journald is replaced by a
# stand-in on a private tmpfs over /run/systemd/journal, in a mount
# namespace of this test only, so a real journald is never touched.
. "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null || skip "unshare not available"
unshare -m true 2>/dev/null || skip "cannot create a mount namespace here"

conf=$WORK/spawnd.conf
write_config "$conf" <<'CONF'
permit root as nobody cmd /usr/bin/id
CONF

export SPAWND SPAWNCTL WORK conf
unshare -m --propagation private bash -euo pipefail -c '
	mkdir -p /run/systemd/journal
	mount -t tmpfs tmpfs /run/systemd/journal
	python3 "$(dirname "$0")/fake-journald.py" /run/systemd/journal/socket "$WORK/journal.log" 30 &
	jd=$!
	for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
	exec 3>"$WORK/stderr.log"
	JOURNAL_STREAM=$(stat -c "%d:%i" "$WORK/stderr.log") \
		"$SPAWND" -c "$conf" -s "$WORK/sock" 2>&3 &
	d=$!
	for _ in $(seq 100); do [ -S "$WORK/sock" ] && break; sleep 0.05; done
	"$SPAWNCTL" -s "$WORK/sock" -u nobody -- id -u >/dev/null
	"$SPAWNCTL" -s "$WORK/sock" -u nobody -- /bin/true 2>/dev/null || true
	kill -TERM $d
	wait $d
	sleep 0.2
	kill $jd 2>/dev/null || true
' "$0"

log=$WORK/journal.log
[ -s "$log" ] || fail "nothing reached the journal"
entry() { awk -v RS='--\n' -v want="$1" 'index($0, want) { print; exit }' "$log"; }
permit=$(entry 'SPAWND_DECISION=permit')
[ -n "$permit" ] || fail "no permit record: $(cat "$log")"
for want in 'SPAWND_EVENT=decision' 'SPAWND_CLIENT_UID=0' 'SPAWND_TARGET_USER=nobody' \
	'SPAWND_PATH=/usr/bin/id' 'SPAWND_ARGV="id" "-u"' 'SYSLOG_IDENTIFIER=spawnd' 'PRIORITY=6'; do
	grep -qxF "$want" <<<"$permit" || fail "permit record lacks $want: $permit"
done
grep -q "^SPAWND_RULE_LINE=$conf:1\$" <<<"$permit" || fail "no rule line: $permit"
grep -q '^SPAWND_CLIENT_PID=[0-9]' <<<"$permit" || fail "no client pid"
grep -q '^MESSAGE=audit: permit ' <<<"$permit" || fail "no readable MESSAGE"
pass "a decision is a journal entry with structured fields"
deny=$(entry 'SPAWND_DECISION=deny')
grep -q '^SPAWND_RULE_LINE=none$' <<<"$deny" || fail "deny record: $deny"
pass "a denial carries SPAWND_DECISION=deny and no rule"
started=$(entry 'SPAWND_EVENT=started')
grep -q '^SPAWND_PID=[0-9]' <<<"$started" || fail "started record: $started"
exited=$(entry 'SPAWND_EVENT=exited')
grep -q '^SPAWND_EXIT_STATUS=0$' <<<"$exited" || fail "exited record: $exited"
pass "start and exit records carry SPAWND_PID and SPAWND_EXIT_STATUS"
if grep -q 'audit:' "$WORK/stderr.log"; then fail "audit lines also went to stderr"; fi
pass "nothing is written twice to stderr"
