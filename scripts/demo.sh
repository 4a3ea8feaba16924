#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build spawnd and show it at work: start the daemon on a private socket with
# scripts/example.conf, ask it to run `id` as nobody, show a refusal and a
# child-side error, then stop it. Run as root on Debian 12 (installs missing
# packages, builds in ./build).
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh starts a privileged daemon: run it as root" >&2
	exit 1
fi

PACKAGES=(build-essential cmake pkg-config check libevent-dev libprotobuf-c-dev
	protobuf-c-compiler libsystemd-dev)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "Installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "Building in ./build ..."
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target spawnd spawnctl >/dev/null

tmp=$(mktemp -d /tmp/spawnd-demo.XXXXXX)
chmod 0755 "$tmp"
sock=$tmp/spawnd.sock
conf=$tmp/spawnd.conf
# The policy must be root-owned and not writable by group or other.
install -m 0644 -o root -g root scripts/example.conf "$conf"

build/daemon/spawnd -s "$sock" -c "$conf" 2>"$tmp/spawnd.log" &
daemon=$!
# shellcheck disable=SC2317 # called by the EXIT trap
stop() {
	if [ -n "$daemon" ]; then
		kill -TERM "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap stop EXIT
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.05
done
[ -S "$sock" ] || { cat "$tmp/spawnd.log" >&2; exit 1; }

spawnctl=build/client/spawnctl
show() {
	local rc=0
	echo "\$ spawnctl -s \$SOCK $*"
	"$spawnctl" -s "$sock" "$@" 2>&1 || rc=$?
	echo "(exit status $rc)"
	echo
}

echo "spawnd (pid $daemon) is listening on $sock with $conf"
echo
show -u nobody -- id
show -u nobody -- /bin/sh -c id
show -u nobody -D /root -- id

kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
echo "spawnd stopped on SIGTERM (exit status $rc). Its log (audit lines):"
sed 's/^/  /' "$tmp/spawnd.log"
exit "$rc"
