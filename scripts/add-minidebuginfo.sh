#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# usage: add-minidebuginfo.sh DEBUGFILE BINARY
# Give BINARY (modified in place) a .gnu_debugdata section the way Fedora's
# find-debuginfo (debugedit) builds MiniDebugInfo, see the GDB manual,
# "MiniDebugInfo": from DEBUGFILE keep only the FUNC symbols that BINARY's
# .dynsym lacks, drop the debug sections and the non-allocated PROGBITS,
# NOTE and NOBITS ones, xz-compress the result, add it as .gnu_debugdata.
# Used by tests/integration/test_symbols.py. Needs binutils and xz-utils.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 DEBUGFILE BINARY" >&2; exit 64; }
debug=$1
bin=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --format=posix --defined-only "$bin" | awk '{ print $1 }' | sort -u >"$tmp/dynsyms"
# sysv format: field 4 is the ELF symbol type
nm --format=sysv --defined-only "$debug" | awk -F'|' '$4 ~ /FUNC/ { gsub(/ +$/, "", $1); print $1 }' |
	sort -u >"$tmp/funcsyms"
comm -13 "$tmp/dynsyms" "$tmp/funcsyms" >"$tmp/keep"
remove=$(readelf -W -S "$debug" 2>/dev/null | sed 's/^ *\[ *[0-9]*\]//' |
	awk 'index($1, ".debug_") != 1 && ($2 == "PROGBITS" || $2 == "NOTE" || $2 == "NOBITS") &&
	     index($7, "A") == 0 { printf "--remove-section=%s ", $1 }')
# shellcheck disable=SC2086
objcopy -S $remove --keep-symbols="$tmp/keep" "$debug" "$tmp/mini" 2>/dev/null
xz -z "$tmp/mini"
objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$bin"
echo "add-minidebuginfo: $bin: $(wc -l <"$tmp/keep") function symbols, $(stat -c %s "$tmp/mini.xz") bytes of .gnu_debugdata"
