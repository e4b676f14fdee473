#!/usr/bin/env bash
# pymemwatch demo: start a small leaking "service" (tests/workloads/
# demo_service.py) and watch it for 15 seconds. On a terminal pymemwatch
# shows its live view; otherwise it prints plain interval tables.
#
# usage: scripts/demo.sh [SECONDS]      (default 15; needs root)
set -u

cd "$(dirname "$0")/.." || exit 1
duration=${1:-15}

if [[ ! -x ./pymemwatch ]]; then
	echo "demo: ./pymemwatch is not built; run 'make' first" >&2
	exit 1
fi
if ((EUID != 0)); then
	echo "demo: pymemwatch needs root; try 'sudo make demo'" >&2
	exit 77
fi

python=/usr/bin/python3.11
if [[ ! -x $python ]]; then
	python=$(command -v python3) || {
		echo "demo: no python3 found" >&2
		exit 1
	}
fi

svc_pid=
log=$(mktemp "${TMPDIR:-/tmp}/pmw-demo.XXXXXX")
cleanup() {
	if [[ -n $svc_pid ]] && kill -0 "$svc_pid" 2>/dev/null; then
		kill "$svc_pid" 2>/dev/null
		wait "$svc_pid" 2>/dev/null
	fi
	rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# the service runs a little longer than we watch, in case nobody cleans up
"$python" tests/workloads/demo_service.py $((duration + 30)) >"$log" 2>&1 &
svc_pid=$!
sleep 1
if ! kill -0 "$svc_pid" 2>/dev/null; then
	echo "demo: the demo service did not start:" >&2
	cat "$log" >&2
	exit 1
fi

echo "demo: watching $python tests/workloads/demo_service.py (PID $svc_pid) for ${duration}s"
./pymemwatch -p "$svc_pid" -d "$duration"
rc=$?
echo "demo: service output (last lines):"
tail -n 3 "$log"
exit $rc
