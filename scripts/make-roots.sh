#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make-roots.sh - build (or reuse) minimal Debian roots (debootstrap
# --variant=minbase) holding other CPython versions, so that the integration
# tests can run pymemwatch against interpreters living in another root, mount
# and PID namespace ("container-like" chroots).
#
# Usage:  scripts/make-roots.sh [CACHE_DIR] [ROOT...]     (as root to build)
#   CACHE_DIR  default /var/cache/pymemwatch/roots (or $PMW_ROOTS_DIR); the
#              first argument is taken as CACHE_DIR when it contains a '/'
#   ROOT       SUITE[-dbg|-pypy], SUITE one of: bullseye bookworm trixie sid forky
#                -dbg  adds the pythonX.Y-dbg packages (debug build pythonX.Yd,
#                      plus /usr/lib/debug/.build-id/*.debug symbols for the
#                      release binary)
#                -pypy adds pypy3 (a non-CPython interpreter the tool must refuse)
#              default: bullseye trixie sid  (python 3.9, 3.13, 3.14 + 3.15)
#
# Env:    MIRROR   (default: the first Debian URI in this machine's apt sources)
#         TRIM=0   keep apt lists, docs, man pages and locales (default: removed,
#                  saves 55-75 MB per root; apt-get inside the root then needs
#                  an 'apt-get update' first)
#
# Idempotent and cheap when everything is cached (< 0.1 s, no root needed, no
# network): a root is rebuilt only when CACHE_DIR/NAME/.pymemwatch-root is
# missing or records a different package list.  Building happens in
# CACHE_DIR/NAME.partial and is renamed into place only on success, so an
# interrupted run never leaves a half-built root that looks complete; builds
# hold an flock on CACHE_DIR/.lock so concurrent runs do not collide.
# Exit status: 0 all roots ready, 1 a root could not be built, 2 usage.
#
# Measured 2026-11-21 on a 2-core Debian 12 VM (Debian archive reachable;
# the machine was under other load), TRIM=1 sizes (du -sx):
#   ROOT           pythons                           time      size
#   bullseye       3.9.2                             29-48 s   116 MB  (211 untrimmed)
#   bookworm       3.11.2 (deb12u8, not -security)   34 s      124 MB
#   bookworm-pypy  3.11.2 + pypy3 7.3.11             51-54 s   213 MB  (362 untrimmed)
#   trixie         3.13.5                            25-41 s   118 MB  (220 untrimmed)
#   sid            3.14.10 + 3.15.2                  24-28 s   169 MB  (278 untrimmed)
#   forky          3.14.8 + 3.15.0                   29 s      169 MB
#   bullseye-dbg   3.9.2  + python3.9-dbg            29-35 s   234 MB
#   trixie-dbg     3.13.5 + python3.13-dbg           29-43 s   335 MB
#   sid-dbg        3.14.10 + 3.15.2 + both -dbg      37-45 s   679 MB
# The forky/sid Release files on the mirror carry an expired Valid-Until;
# debootstrap ignores that, but apt inside those roots needs
#   -o Acquire::Check-Valid-Until=false
set -eu

usage() {
	echo "usage: $0 [CACHE_DIR] [SUITE[-dbg|-pypy]]...   (SUITE: bullseye bookworm trixie sid forky)" >&2
	exit 2
}

CACHE=${PMW_ROOTS_DIR:-/var/cache/pymemwatch/roots}
case ${1:-} in
-h | --help) usage ;;
*/*)
	CACHE=$1
	shift
	;;
esac
[ $# -ge 1 ] || set -- bullseye trixie sid

# suite -> python versions to install (first one is the suite's default)
pythons_for() {
	case $1 in
	bullseye) echo "3.9" ;;
	bookworm) echo "3.11" ;;
	trixie) echo "3.13" ;;
	sid | forky) echo "3.14 3.15" ;;
	*) return 1 ;;
	esac
}

# NAME -> "suite flavour vers pkgs" in globals; 1 for an unknown name
parse_root() {
	name=$1
	suite=${name%-*}
	flavour=${name#"$suite"}
	case $flavour in
	"" | -dbg | -pypy) ;;
	*)
		suite=$name
		flavour=
		;;
	esac
	dbg=no
	[ "$flavour" = -dbg ] && dbg=yes
	vers=$(pythons_for "$suite") || return 1
	pkgs=
	for v in $vers; do
		pkgs="$pkgs,python$v"
		[ $dbg = yes ] && pkgs="$pkgs,python$v-dbg"
	done
	[ "$flavour" = -pypy ] && pkgs="$pkgs,pypy3"
	pkgs=${pkgs#,}
	root=$CACHE/$name
	trim=${TRIM:-1}
	# identity of a root: what is in it, not where it was downloaded from
	stamp="suite=$suite packages=$pkgs trim=$trim"
	return 0
}

is_cached() {
	[ -f "$root/.pymemwatch-root" ] && head -n1 "$root/.pymemwatch-root" | grep -qxF "$stamp"
}

# Fast path: everything cached -> no root, network, lock or debootstrap needed.
todo=
for n in "$@"; do
	parse_root "$n" || {
		echo "$0: unknown root '$n'" >&2
		usage
	}
	if is_cached; then
		echo "$name: cached ($root)"
	else
		todo="$todo $n"
	fi
done
[ -n "$todo" ] || exit 0

apt_mirror() {
	# the machine's own Debian archive, from deb822 sources or a classic sources.list
	awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep . ||
		awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null
}
[ "$(id -u)" = 0 ] || {
	echo "$0: must run as root to build$todo (debootstrap, chroot)" >&2
	exit 1
}
MIRROR=${MIRROR:-$(apt_mirror || true)}
[ -n "$MIRROR" ] || {
	echo "$0: no Debian mirror found in apt sources; set MIRROR" >&2
	exit 1
}
if ! command -v debootstrap >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 ||
		{
			echo "$0: debootstrap is missing and could not be installed" >&2
			exit 1
		}
fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

build_one() {
	parse_root "$1"
	if is_cached; then # built by a concurrent run while we waited for the lock
		echo "$name: cached ($root)"
		return 0
	fi
	# never rm -rf through a live mount (e.g. a bind-mounted /proc or /dev)
	for d in "$root" "$root.partial"; do
		[ -e "$d" ] || continue
		real=$(cd "$d" && pwd -P)
		if awk -v r="$real" '$2 == r || index($2, r "/") == 1 {found=1} END {exit !found}' /proc/self/mounts; then
			echo "$name: something is mounted under $real; unmount it first" >&2
			return 1
		fi
	done
	rm -rf --one-file-system "$root.partial" "$root"
	# debootstrap 1.0.128 (bookworm) has no 'forky' script; sid's works for it
	script=
	[ -e "/usr/share/debootstrap/scripts/$suite" ] || script=/usr/share/debootstrap/scripts/sid
	echo "$name: building with debootstrap from $MIRROR (log: $CACHE/$name.log)"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$root.partial" "$MIRROR" $script \
		>"$CACHE/$name.log" 2>&1 || {
		echo "$name: debootstrap failed, see $CACHE/$name.log" >&2
		tail -n 20 "$CACHE/$name.log" >&2
		return 1
	}
	rm -f "$root.partial"/var/cache/apt/archives/*.deb
	if [ "$trim" = 1 ]; then
		rm -rf "$root.partial"/var/lib/apt/lists/* "$root.partial"/usr/share/doc/* \
			"$root.partial"/usr/share/man/* "$root.partial"/usr/share/locale/* \
			"$root.partial"/usr/share/info/* "$root.partial"/var/cache/debconf/*-old
	fi
	t1=$(date +%s)
	for v in $vers; do
		chroot "$root.partial" "/usr/bin/python$v" -c 'import gc, sys; gc.collect()' ||
			{
				echo "$name: python$v does not run in the root" >&2
				return 1
			}
	done
	if [ "$flavour" = -pypy ]; then
		chroot "$root.partial" pypy3 -c 'import gc; gc.collect()' 2>/dev/null ||
			{
				echo "$name: pypy3 does not run in the root" >&2
				return 1
			}
	fi
	{
		echo "$stamp"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$((t1 - t0)) mirror=$MIRROR"
		for v in $vers; do
			bin=$root.partial/usr/bin/python$v
			bid=$(readelf -n "$bin" 2>/dev/null | awk '/Build ID/{print $3}')
			usdt=$(readelf -n "$bin" 2>/dev/null | grep -c 'Name: gc__start' || true)
			# shellcheck disable=SC2016
			ver=$(chroot "$root.partial" dpkg-query -W -f='${Version}' "python$v-minimal")
			dfile=no
			[ -n "$bid" ] && [ -e "$root.partial/usr/lib/debug/.build-id/$(echo "$bid" | cut -c1-2)/$(echo "$bid" | cut -c3-).debug" ] && dfile=yes
			echo "python$v version=$ver build_id=$bid usdt_gc_start=$usdt dbg=$dbg debug_file=$dfile"
		done
	} >"$root.partial/.pymemwatch-root"
	mv "$root.partial" "$root"
	size=$(du -sx --block-size=1M "$root" | cut -f1)
	echo "seconds=$((t1 - t0)) size_mb=$size" >>"$root/.pymemwatch-root"
	echo "$name: built in $((t1 - t0)) s, ${size} MB ($root)"
}

rc=0
for n in $todo; do build_one "$n" || rc=1; done
exit $rc
