#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# build-ft.sh - build (or reuse) free-threaded CPython ("3.13t", PEP 703:
# configure --disable-gil) from Debian's source package, so that the
# integration tests can watch a free-threaded target (mimalloc heaps instead
# of pymalloc, a different GC).
#
# Usage:  sudo scripts/build-ft.sh [CACHE_DIR] [VERSION...]
#   CACHE_DIR  default /var/cache/pymemwatch/ft (or $PMW_FT_DIR); the first
#              argument is taken as CACHE_DIR when it contains a '/'
#   VERSION    3.13 (Debian trixie's python3.13 source) or 3.14 (sid's
#              python3.14 source, used only when the mirror has it);
#              default: 3.13
# Result:      CACHE_DIR/VERSIONt/bin/pythonVERSIONt, a shared build
#              (lib/libpythonVERSIONt.so.1.0, rpath set, -g -O3, not stripped)
#
# The source is fetched with apt-get source through a private apt
# configuration kept in CACHE_DIR/apt/SUITE (scripts/private-apt.sh): the
# machine's apt sources are never touched.  The
# package's Debian patches are applied (dpkg-source -x); the build itself is
# upstream's configure + make, niced (the machine is shared):
#   configure --disable-gil --enable-shared --prefix=CACHE_DIR/VERSIONt
#   nice -n 19 make -j2 ; make install
# Idempotent and cheap when cached (no root, network or lock needed): a build
# is redone only when CACHE_DIR/VERSIONt/.pymemwatch-ft is missing or records
# a different recipe.  The install goes to a DESTDIR and is renamed into place
# only on success; builds hold an flock on CACHE_DIR/.lock.
# Exit status: 0 all ready, 1 a build failed (or its source is unreachable),
# 2 usage.
#
# Measured 2026-11-27 on the shared 2-core Debian 12 VM (other jobs competing):
# 3.13t cold: 238 s (load ~2) and 401 s (load ~6) to configure, build and
# install, ~10 s to fetch the source, 327 MB installed; cached: < 0.1 s.
set -eu
# shellcheck source=scripts/private-apt.sh
. "$(dirname "$0")/private-apt.sh"

usage() {
	echo "usage: $0 [CACHE_DIR] [3.13|3.14]..." >&2
	exit 2
}

CACHE=${PMW_FT_DIR:-/var/cache/pymemwatch/ft}
case ${1:-} in -h | --help) usage ;; */*) CACHE=$1 && shift ;; esac
[ $# -ge 1 ] || set -- 3.13

# version -> Debian suite whose source package we build
suite_for() {
	case $1 in
	3.13) echo trixie ;;
	3.14) echo sid ;;
	*) return 1 ;;
	esac
}

# the recipe: a cached build is reused only when it was built this way
CONFIGURE_ARGS="--disable-gil --enable-shared --without-ensurepip"
recipe() { echo "recipe=1 version=$1 suite=$(suite_for "$1") configure=$CONFIGURE_ARGS"; }

is_cached() { # VERSION
	[ -f "$CACHE/$1t/.pymemwatch-ft" ] && head -n1 "$CACHE/$1t/.pymemwatch-ft" | grep -qxF "$(recipe "$1")"
}

todo=
for v in "$@"; do
	suite_for "$v" >/dev/null || {
		echo "$0: unknown version '$v'" >&2
		usage
	}
	if is_cached "$v"; then
		echo "${v}t: cached ($CACHE/${v}t)"
	else
		todo="$todo $v"
	fi
done
[ -n "$todo" ] || exit 0

[ "$(id -u)" = 0 ] || {
	echo "$0: must run as root to build$todo (apt-get build dependencies, $CACHE)" >&2
	exit 1
}

MIRROR=$(pa_mirror) || exit 1

# what upstream's configure needs for the modules the tests use (gc, threading,
# ctypes, zlib, ...); dpkg-dev for dpkg-source; patchelf for the rpath. Also in
# scripts/install-deps.sh: checked here for a standalone run.
pa_need gcc make dpkg-dev xz-utils patchelf libffi-dev zlib1g-dev libbz2-dev liblzma-dev libexpat1-dev libssl-dev

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# apt-get with a private configuration reading only deb-src SUITE
apt_private() { # SUITE apt-get-args...
	pa_apt "$CACHE/apt/$1" "$@"
}

build_one() { # VERSION
	v=$1
	if is_cached "$v"; then
		echo "${v}t: cached ($CACHE/${v}t)"
		return 0
	fi
	suite=$(suite_for "$v")
	prefix=$CACHE/${v}t
	log=$CACHE/${v}t.log
	src=$CACHE/src-$v
	echo "${v}t: fetching python$v source from $suite ($MIRROR), log: $log"
	: >"$log"
	apt_private "$suite" update >>"$log" 2>&1 || {
		echo "${v}t: apt-get update for $suite deb-src failed, see $log" >&2
		return 1
	}
	debver=$(apt_private "$suite" -qq --print-uris source "python$v" 2>/dev/null | awk '/\.dsc/ {print $2}' | sed 's/^python[0-9.]*_//; s/\.dsc$//')
	[ -n "$debver" ] || {
		echo "${v}t: the mirror has no python$v source in $suite" >&2
		return 1
	}
	rm -rf "$src"
	mkdir -p "$src"
	(cd "$src" && apt_private "$suite" source "python$v=$debver") >>"$log" 2>&1 || {
		echo "${v}t: apt-get source python$v failed, see $log" >&2
		return 1
	}
	tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d | head -n1)
	echo "${v}t: building Debian python$v $debver with $CONFIGURE_ARGS (nice -n 19 make -j2)"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	(cd "$tree" && ./configure --prefix="$prefix" $CONFIGURE_ARGS &&
		nice -n 19 make -j2 && rm -rf "$prefix.partial" &&
		nice -n 19 make install DESTDIR="$prefix.partial") >>"$log" 2>&1 || {
		echo "${v}t: build failed, see $log" >&2
		tail -n 20 "$log" >&2
		return 1
	}
	t1=$(date +%s)
	# the LDFLAGS rpath does not survive Debian's patched build: set it on the installed binary
	patchelf --set-rpath "$prefix/lib" "$prefix.partial$prefix/bin/python${v}t" >>"$log" 2>&1 || {
		echo "${v}t: patchelf failed, see $log" >&2
		return 1
	}
	rm -rf "$prefix"
	mv "$prefix.partial$prefix" "$prefix"
	rm -rf "$prefix.partial" "$src"
	py=$prefix/bin/python${v}t
	"$py" -c 'import sys, sysconfig, gc; assert not sys._is_gil_enabled(); assert sysconfig.get_config_var("Py_GIL_DISABLED"); gc.collect()' || {
		echo "${v}t: $py does not run free-threaded" >&2
		return 1
	}
	{
		recipe "$v"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$((t1 - t0)) debian_version=$debver mirror=$MIRROR"
		echo "python=$py build_id=$(readelf -n "$prefix/lib/libpython${v}t.so.1.0" | awk '/Build ID/{print $3}')"
	} >"$prefix/.pymemwatch-ft"
	echo "${v}t: built in $((t1 - t0)) s ($py)"
}

rc=0
for v in $todo; do build_one "$v" || rc=1; done
exit $rc
