#!/bin/bash
# Socket activation without systemd as PID 1: systemd-socket-activate binds
# the socket, waits for a connection and execs spawnd with LISTEN_FDS=1.
. "$(dirname "$0")/lib.sh"
need_root
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"

conf=$WORK/spawnd.conf
write_config "$conf" <<'CONF'
permit root as nobody
CONF
sock=$WORK/activated.sock

systemd-socket-activate --seqpacket -l "$sock" "$SPAWND" -c "$conf" 2>"$WORK/act.log" &
act=$!
wait_for test -S "$sock" || fail "socket not created"
# spawnd does not exist yet: the first connection starts it.
out=$("$SPAWNCTL" -s "$sock" -u nobody -- id -u)
[ "$out" = 65534 ] || fail "activated spawn printed '$out'"
pass "first connection activates spawnd and the spawn runs as nobody"
# It serves the passed socket; LISTEN_* must not leak into children.
out=$("$SPAWNCTL" -s "$sock" -u nobody -- /usr/bin/env)
if grep -q '^LISTEN_' <<<"$out"; then fail "LISTEN_* reached a child: $out"; fi
pass "LISTEN_FDS/LISTEN_PID are not passed on"
kill -TERM "$act"
wait "$act" || fail "activated spawnd did not stop cleanly: $(cat "$WORK/act.log")"
pass "activated spawnd stops with exit 0 on SIGTERM"

# A stream socket is not what spawnd speaks: it must refuse to serve it.
sock2=$WORK/stream.sock
systemd-socket-activate -l "$sock2" "$SPAWND" -c "$conf" 2>"$WORK/act2.log" &
act=$!
wait_for test -S "$sock2" || fail "stream socket not created"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); s.recv(1)' "$sock2" || true
rc=0
wait "$act" || rc=$?
[ "$rc" = 1 ] || fail "spawnd served a stream socket (exit $rc)"
grep -q "not a listening AF_UNIX SOCK_SEQPACKET socket" "$WORK/act2.log" ||
	fail "no clear message for a wrong socket type: $(cat "$WORK/act2.log")"
pass "a passed SOCK_STREAM socket is refused with a clear message"
