"""The sampled allocation profile's budget (--alloc-profile-budget, user/burst.c).

What the bursts cost a target is its CPU time while their free probes are on
(every object free traps); pymemwatch charges it to them and starts a burst
only when what the last one cost, at the target's CPU use now, fits in the
budget earned by its work. Ground truth from inside the target: its own CPU
time (os.times) over the watch, so that "busy" and "light" are facts, not
assumptions; pymemwatch's figures come from its cost-stats line (--bpf-stats).
"""
import os
import re
import subprocess

import pytest

import conftest
from conftest import run_pmw

WATCH_S = 12
BUDGET = 0.05          # the default, 5%
CREDIT_START = 0.1     # s the first burst may cost (user/burst.c)

TARGET = """
import json, os, sys, time
busy = sys.argv[1] == "busy"
t_end = time.monotonic() + float(sys.argv[2])
doc = {"id": 1, "items": [{"n": j, "name": "item%d" % j} for j in range(50)]}
keep = []
print("ready %d" % os.getpid(), flush=True)
c0, w0 = sum(os.times()[:2]), time.monotonic()
while time.monotonic() < t_end:
    for _ in range(200 if busy else 2):
        keep.append(json.loads(json.dumps(doc)))
    del keep[:-2000]
    if not busy:
        time.sleep(0.1)
print("cpu %.3f wall %.3f" % (sum(os.times()[:2]) - c0, time.monotonic() - w0), flush=True)
"""


def watch(procs, tmp_path, shape):
    interp = conftest.get_interp("debian-3.11")
    script = tmp_path / "target.py"
    script.write_text(TARGET)
    target = procs.popen([interp.path, str(script), shape, str(WATCH_S + 4)], stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().startswith("ready")
    res = run_pmw(["-p", target.pid, "-i", "1", "-d", WATCH_S, "-q", "--alloc-profile", "always",
                   "--bpf-stats"], timeout=WATCH_S + 90)
    assert res.rc == 0, res.describe()
    m = re.search(r"cost-stats: pid=%d (.*)" % target.pid, res.stderr)
    assert m, "no cost-stats line\n" + res.describe()
    cost = dict((k, float(v)) for k, v in (kv.split("=", 1) for kv in m.group(1).split()))
    line = target.stdout.readline()
    cpu, wall = [float(x) for x in line.split()[1::2]]
    return cost, cpu / wall, res


def test_busy_target_within_budget(env, procs, tmp_path):
    """A target that keeps a CPU busy: what the bursts cost it stays within the budget of its work
    plus the first burst's allowance (a first burst taken before its CPU use was known cost it
    ~1.3 s of CPU in bench.py's profile configuration)."""
    cost, share, res = watch(procs, tmp_path, "busy")
    diag = "target CPU share %.2f, cost-stats %s\n%s" % (share, cost, res.describe())
    if share < 0.3:
        pytest.skip("the machine is too loaded to keep the target busy (%.0f%% of a CPU)" % (100 * share))
    assert cost["work_s"] > 0.3 * WATCH_S * 0.5, diag   # pymemwatch saw it work
    assert cost["lost_s"] <= BUDGET * cost["work_s"] + CREDIT_START + 0.05, diag
    # it asked for bursts: refused for the budget, or run within it
    assert cost["bursts_budget"] + cost["bursts"] >= 1, diag


def test_light_target_gets_bursts(env, procs, tmp_path):
    """A light target (a few % of a CPU) is not starved by the budget: bursts run, within it."""
    cost, share, res = watch(procs, tmp_path, "light")
    diag = "target CPU share %.2f, cost-stats %s\n%s" % (share, cost, res.describe())
    assert share < 0.3, diag   # the premise: it is light
    assert cost["bursts"] >= 1 and cost["burst_s"] > 0, diag
