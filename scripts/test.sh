#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build spawnd with warnings as errors and run every test with ctest.
# As root (the README's way, and CI's) the credential-switching integration
# tests run; otherwise they are reported as skipped. Installs the Debian
# packages it needs when they are missing (needs root for that).
#
#   bash scripts/test.sh            # build dir ./build (BUILD_DIR=... to change)
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

# Debian packages for building and testing (DESIGN.md section 9); systemd and
# man-db give the service tests systemd-analyze, systemd-socket-activate, man.
PACKAGES=(build-essential cmake pkg-config check libevent-dev libprotobuf-c-dev
	protobuf-c-compiler libsystemd-dev fuse3 libfuse3-dev python3 python3-dev python3-venv util-linux systemd man-db)

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "Installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_missing "${PACKAGES[@]}"

cmake -S . -B "$BUILD_DIR" -DSPAWND_WERROR=ON -DSPAWND_SANITIZE=
cmake --build "$BUILD_DIR" -j"$(nproc)"
# ctest ends with "N% tests passed, M tests failed out of K" and exits non-zero on failure.
ctest --test-dir "$BUILD_DIR" --output-on-failure
