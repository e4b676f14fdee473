# shellcheck shell=sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# private-apt.sh - sourced (not run) by scripts/build-ft.sh and
# scripts/build-static-deps.sh, which build from Debian source packages.
# The source is fetched with apt-get through a private configuration kept in a
# directory of the caller's cache (its own sources.list holding one deb-src
# line, its own lists): the machine's apt sources are never touched.
#
#   pa_need PKG...             install the packages that are missing (as root;
#                              returns 1 naming them when not root)
#   MIRROR=$(pa_mirror)        the Debian mirror of the machine's apt sources
#                              ($MIRROR if set); returns 1 when there is none
#   pa_apt DIR SUITE ARGS...   apt-get ARGS with the private configuration in
#                              DIR, reading only "deb-src $MIRROR SUITE main"
# Messages start with the caller's $0.

pa_need() { # PKG...
	pa_missing=
	for pa_p in "$@"; do
		dpkg-query -W -f='${Status}' "$pa_p" 2>/dev/null | grep -q "install ok installed" ||
			pa_missing="$pa_missing $pa_p"
	done
	[ -n "$pa_missing" ] || return 0
	[ "$(id -u)" = 0 ] || {
		echo "$0: missing$pa_missing; install them (as root: apt-get install$pa_missing)" >&2
		return 1
	}
	echo "$0: installing$pa_missing" >&2
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pa_missing >/dev/null
}

pa_mirror() {
	if [ -n "${MIRROR:-}" ]; then
		echo "$MIRROR"
		return 0
	fi
	awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep . ||
		awk '$1 == "deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null | grep . || {
		echo "$0: no Debian mirror found in the apt sources; set MIRROR" >&2
		return 1
	}
}

pa_apt() { # DIR SUITE apt-get-args...
	pa_dir=$1
	pa_suite=$2
	shift 2
	mkdir -p "$pa_dir/lists/partial" "$pa_dir/etc"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $pa_suite main" >"$pa_dir/etc/sources.list"
	apt-get -q -o Dir::Etc::SourceList="$pa_dir/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$pa_dir/lists" -o Acquire::Check-Valid-Until=false "$@"
}
