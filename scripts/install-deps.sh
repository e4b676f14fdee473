#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the Debian 12 packages pymemwatch needs to build, run and test.
# Idempotent: installs only what is missing, and calls apt-get only then.
set -eu

PKGS="clang llvm make gcc pkg-config libbpf-dev libelf-dev zlib1g-dev
bpftool libncurses-dev libjansson-dev libcmocka-dev libcapstone-dev libcap-dev
python3 python3-pytest python3.11 python3.11-dbg
procps util-linux debootstrap libmicrohttpd-dev prometheus
tmux chromium xxd binutils patchelf"
# third-party Python programs for the independent benchmark set (bench/independent, `make bench-independent`)
PKGS="$PKGS python3-lib2to3 python3-docutils python3-sympy python3-genshi python3-mako
python3-chameleon python3-html5lib python3-dulwich python3-tornado python3-sqlalchemy
python3-networkx python3-pyflakes python3-pygments"
# CPython's own regression tests, run under observation by tests/integration/test_regrtest.py
PKGS="$PKGS libpython3.11-testsuite"
# symbol sources (user/elfimg.c): debuginfod client (its header: the library is loaded at run
# time), MiniDebugInfo (xz); the debuginfod server and xz for tests/integration/test_symbols.py.
# `make static` links the static archives these -dev packages ship, plus a libmicrohttpd
# without TLS that scripts/build-static-deps.sh builds from Debian's source (dpkg-dev, below)
PKGS="$PKGS libdebuginfod-dev liblzma-dev debuginfod xz-utils"
# the container files' checks (tests/integration/test_contrib.py, contrib/validate.py): yamllint,
# the Kubernetes API's models, capsh for the capability runs
PKGS="$PKGS yamllint python3-yaml python3-kubernetes libcap2-bin"
# free-threaded CPython 3.13t built from Debian's source by scripts/build-ft.sh (test_freethreaded.py)
PKGS="$PKGS dpkg-dev libffi-dev libbz2-dev libexpat1-dev libssl-dev"
# npm (for the report libraries below) only when no npm is on PATH (e.g. nodesource's nodejs has it)
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
else
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
fi

# JavaScript libraries inlined into HTML reports (`pymemwatch report`, --report):
# pinned versions from the npm registry into /var/cache/pymemwatch/npm,
# installed only when missing. uPlot (MIT), d3 (ISC), d3-flame-graph (Apache-2.0).
NPM_DIR=/var/cache/pymemwatch/npm
NPM_PKGS="uplot@1.6.32 d3@7.9.0 d3-flame-graph@4.1.3"
npm_missing=""
for p in $NPM_PKGS; do
	name=${p%@*}
	ver=${p##*@}
	if ! grep -qs "\"version\": \"$ver\"" "$NPM_DIR/node_modules/$name/package.json"; then
		npm_missing="$npm_missing $p"
	fi
done
if [ -n "$npm_missing" ]; then
	if [ "$(id -u)" -ne 0 ] && ! [ -w "$(dirname "$NPM_DIR")" ]; then
		echo "install-deps: missing npm packages:$npm_missing; run as root (sudo $0)" >&2
		exit 1
	fi
	echo "install-deps: npm installing$npm_missing into $NPM_DIR"
	mkdir -p "$NPM_DIR"
	# shellcheck disable=SC2086
	npm install --silent --no-audit --no-fund --prefix "$NPM_DIR" $NPM_PKGS >/dev/null
fi

# The python3.11-dbg .deb matching the installed python3.11, served by the local debuginfod
# server of tests/integration/test_symbols.py: downloaded once into /var/cache/pymemwatch/debs
DEBS_DIR=/var/cache/pymemwatch/debs
pyver=$(dpkg-query -W -f='${Version}' python3.11 2>/dev/null || true)
if [ -n "$pyver" ] && ! ls "$DEBS_DIR"/python3.11-dbg_*"${pyver#*:}"_*.deb >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ] && ! [ -w "$(dirname "$DEBS_DIR")" ]; then
		echo "install-deps: python3.11-dbg .deb missing in $DEBS_DIR; run as root (sudo $0)" >&2
		exit 1
	fi
	echo "install-deps: downloading python3.11-dbg $pyver into $DEBS_DIR"
	mkdir -p "$DEBS_DIR"
	(cd "$DEBS_DIR" && apt-get download -qq "python3.11-dbg=$pyver" 2>/dev/null) ||
		echo "install-deps: warning: python3.11-dbg $pyver cannot be downloaded (apt-get update?): the debuginfod test will skip" >&2
fi
