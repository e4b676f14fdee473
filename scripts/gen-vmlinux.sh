#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Regenerate vmlinux/<arch>/vmlinux.h from the running kernel's BTF (or $1).
# The header is checked in so that builds do not depend on the build host's kernel.
set -eu
BTF=${1:-/sys/kernel/btf/vmlinux}
BPFTOOL=${BPFTOOL:-bpftool}
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
DIR=$(dirname "$0")/../vmlinux/$ARCH
[ -r "$BTF" ] || { echo "gen-vmlinux: $BTF not readable: kernel built without CONFIG_DEBUG_INFO_BTF?" >&2; exit 1; }
mkdir -p "$DIR"
"$BPFTOOL" btf dump file "$BTF" format c > "$DIR/vmlinux.h.tmp"
mv "$DIR/vmlinux.h.tmp" "$DIR/vmlinux.h"
echo "gen-vmlinux: wrote $DIR/vmlinux.h from $BTF ($(uname -r))"
