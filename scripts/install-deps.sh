#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the Debian 12 packages pymemwatch needs to build, run and test.
# Idempotent: installs only what is missing, and calls apt-get only then.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev libelf-dev zlib1g-dev
bpftool libncurses-dev libjansson-dev libcmocka-dev libcapstone-dev
python3 python3-pytest python3.11 python3.11-dbg
procps util-linux debootstrap libmicrohttpd-dev prometheus"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
