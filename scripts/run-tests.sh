#!/usr/bin/env bash
# Run pymemwatch's tests: C unit tests (cmocka binaries .output/tests/test_*,
# built by `make test-unit`; the golden-file tests first) and the pytest integration suite
# (tests/integration, needs root and a built ./pymemwatch).
#
# usage: scripts/run-tests.sh [unit|integration|all]     (default: all)
#
# The very last line of output is always "N passed, N failed, N skipped"
# (unit test cases + integration tests). Exit status 1 if anything failed.
set -u

usage() {
	echo "usage: $0 [unit|integration|all]"
}

mode=${1:-all}
case $mode in
unit | integration | all) ;;
-h | --help)
	usage
	exit 0
	;;
*)
	usage >&2
	exit 64
	;;
esac

cd "$(dirname "$0")/.." || exit 1

# Debian's interpreter, which has python3-pytest; never a pyenv shim.
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1

passed=0
failed=0
skipped=0
unit_ran=0
notes=()

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pmw-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# sum of the N of every "[  <tag>  ] N test(s)" line of a cmocka log
cmocka_count() { # tag logfile
	sed -n "s/^\[  *$1  *\] \([0-9][0-9]*\) test(s).*/\1/p" "$2" |
		awk '{ n += $1 } END { print n + 0 }'
}

run_unit() {
	local bins=() b rc p f s log
	# the golden-file tests of the outputs and the field table first
	for b in .output/tests/test_output_golden .output/tests/test_fields .output/tests/test_*; do
		[[ -f $b && -x $b && " ${bins[*]} " != *" $b "* ]] && bins+=("$b")
	done
	if ((${#bins[@]} == 0)); then
		echo "run-tests: no unit test binaries in .output/tests (run 'make test-unit')"
		notes+=("no unit test binaries")
		return
	fi
	unit_ran=1
	for b in "${bins[@]}"; do
		echo "=== unit: $b"
		log=$tmp/$(basename "$b").log
		CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$b" >"$log" 2>&1
		rc=$?
		cat "$log"
		p=$(cmocka_count PASSED "$log")
		f=$(cmocka_count FAILED "$log")
		s=$(cmocka_count SKIPPED "$log")
		if ((rc != 0 && f == 0)); then
			# crashed, timed out or failed a group set-up: one failure
			echo "run-tests: $b exited with status $rc"
			f=1
		elif ((rc == 0 && p + f + s == 0)); then
			p=1 # not a cmocka summary, but succeeded
		fi
		echo "=== unit: $b: $p passed, $f failed, $s skipped"
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
	done
}

# The shape of the tree: no new dependency cycle or upward edge between user/'s
# files (scripts/deps.py), no new function over 80 lines (scripts/funclen.py).
# Each is one test (the script's self-test on made-up source, then the tree):
# passed, or failed with its findings printed.
run_shape() {
	local c
	for c in deps funclen; do
		echo "=== unit: scripts/$c.py --check"
		if "$PY" "scripts/$c.py" --self-test && "$PY" "scripts/$c.py" --check; then
			passed=$((passed + 1))
		else
			echo "run-tests: scripts/$c.py --check failed (see the FAIL lines above)"
			failed=$((failed + 1))
		fi
	done
}

# prints "tests failures errors skipped" summed over the junit testsuites
junit_counts() {
	"$PY" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
t = [0, 0, 0, 0]
for s in suites:
    for i, k in enumerate(("tests", "failures", "errors", "skipped")):
        t[i] += int(s.get(k, 0))
print(*t)
EOF
}

run_integration() {
	local n rc junit tests fails errs skips
	if ! "$PY" -c 'import pytest' 2>/dev/null; then
		echo "run-tests: $PY has no pytest (apt-get install python3-pytest)"
		notes+=("pytest missing")
		failed=$((failed + 1))
		return
	fi
	if ((EUID != 0)); then
		n=$("$PY" -m pytest -p no:cacheprovider --collect-only -q tests/integration 2>/dev/null |
			sed -n 's/^\([0-9][0-9]*\) tests\{0,1\} collected.*/\1/p' | tail -n 1)
		n=${n:-0}
		echo "run-tests: SKIPPED $n integration tests: they need root (BPF, uprobes); run 'sudo make test'"
		notes+=("integration skipped: not root")
		skipped=$((skipped + n))
		return
	fi
	if [[ ! -x ./pymemwatch ]]; then
		echo "run-tests: ./pymemwatch is not built (run 'make'); integration tests will skip"
	fi
	junit=$tmp/junit.xml
	echo "=== integration: $PY -m pytest -v -rs tests/integration"
	"$PY" -m pytest -p no:cacheprovider -v -rs --junitxml="$junit" tests/integration
	rc=$?
	if [[ -s $junit ]] && read -r tests fails errs skips < <(junit_counts "$junit"); then
		passed=$((passed + tests - fails - errs - skips))
		failed=$((failed + fails + errs))
		skipped=$((skipped + skips))
	else
		tests=0 fails=0 errs=0
	fi
	case $rc in
	0) ;;
	5)
		# no tests collected: only acceptable if unit tests ran
		if ((unit_ran == 0)); then
			echo "run-tests: pytest collected no tests and no unit tests ran"
			failed=$((failed + 1))
		fi
		;;
	*)
		# interrupted, internal error, usage error ... with no failure counted
		if ((fails + errs == 0)); then
			echo "run-tests: pytest exited with status $rc"
			failed=$((failed + 1))
		fi
		;;
	esac
}

case $mode in
unit)
	run_unit
	run_shape
	;;
integration) run_integration ;;
all)
	run_unit
	run_shape
	run_integration
	;;
esac

if ((${#notes[@]})); then
	echo "run-tests: notes: $(
		IFS=';'
		echo "${notes[*]}"
	)" | sed 's/;/; /g'
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
