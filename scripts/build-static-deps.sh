#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# build-static-deps.sh - the one static archive `make static` needs that
# Debian 12 does not ship usable: libmicrohttpd without TLS.
#
# Usage:  scripts/build-static-deps.sh [CACHE_DIR]
#   CACHE_DIR  default /var/cache/pymemwatch/static (or $PMW_STATIC_DIR)
# Result:      CACHE_DIR/mhd/lib/libmicrohttpd.a and CACHE_DIR/mhd/include/microhttpd.h
#
# Why: Debian's libmicrohttpd.a is built with HTTPS, so it needs GnuTLS, whose
# static archive needs p11-kit, which Debian ships only as a shared library
# (and GnuTLS's static archive calls getpwuid_r, which a static glibc can only
# serve by loading NSS modules at run time). pymemwatch serves /metrics over
# plain HTTP: the same libmicrohttpd, built from the Debian source package of
# the installed version (its Debian patches applied by dpkg-source -x) with
# `configure --disable-https`, has none of that.
#
# The source is fetched with apt-get source through a private apt
# configuration kept in CACHE_DIR/apt (scripts/private-apt.sh): the
# machine's apt sources are never touched. Idempotent and cheap when cached
# (CACHE_DIR/mhd/.recipe records how it was built). Needs root only to
# install build tools that are missing (gcc, make, dpkg-dev).
# Exit status: 0 ready, 1 failed (or the source is unreachable), 2 usage.
set -eu
# shellcheck source=scripts/private-apt.sh
. "$(dirname "$0")/private-apt.sh"

CACHE=${PMW_STATIC_DIR:-/var/cache/pymemwatch/static}
case ${1:-} in
-h | --help)
	echo "usage: $0 [CACHE_DIR]" >&2
	exit 2
	;;
?*) CACHE=$1 ;;
esac

MHD_VERSION=$(dpkg-query -W -f='${Version}' libmicrohttpd-dev 2>/dev/null || true)
[ -n "$MHD_VERSION" ] || {
	echo "$0: libmicrohttpd-dev is not installed (scripts/install-deps.sh installs it)" >&2
	exit 1
}
CONFIGURE_ARGS="--disable-https --enable-static --disable-shared --disable-doc --disable-examples --disable-curl --with-pic"
RECIPE="recipe=1 libmicrohttpd=$MHD_VERSION configure=$CONFIGURE_ARGS"
OUT=$CACHE/mhd

if [ -f "$OUT/.recipe" ] && [ "$(cat "$OUT/.recipe")" = "$RECIPE" ] && [ -f "$OUT/lib/libmicrohttpd.a" ]; then
	exit 0
fi

pa_need gcc make dpkg-dev xz-utils || exit 1
MIRROR=$(pa_mirror) || exit 1
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
log=$CACHE/mhd.log
: >"$log"
apt_private() {
	pa_apt "$CACHE/apt" "$SUITE" "$@"
}

echo "static deps: building libmicrohttpd $MHD_VERSION without TLS (log: $log)"
src=$CACHE/src-mhd
rm -rf "$src" "$OUT.partial"
mkdir -p "$src"
if ! { apt_private update && (cd "$src" && apt_private source "libmicrohttpd=$MHD_VERSION"); } >>"$log" 2>&1; then
	echo "$0: apt-get source libmicrohttpd=$MHD_VERSION failed (network, or the mirror lacks it); see $log" >&2
	exit 1
fi
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d | head -n1)
# shellcheck disable=SC2086
if ! (cd "$tree" && ./configure --prefix="$OUT.partial" $CONFIGURE_ARGS &&
	nice -n 19 make -j2 -C src/microhttpd && make -C src/microhttpd install &&
	make -C src/include install) >>"$log" 2>&1; then
	echo "$0: the libmicrohttpd build failed; see $log" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
if nm "$OUT.partial/lib/libmicrohttpd.a" 2>/dev/null | grep -q ' U gnutls_'; then
	echo "$0: the built libmicrohttpd.a still needs GnuTLS; see $log" >&2
	exit 1
fi
echo "$RECIPE" >"$OUT.partial/.recipe"
rm -rf "$OUT" "$src"
mv "$OUT.partial" "$OUT"
echo "static deps: $OUT/lib/libmicrohttpd.a"
