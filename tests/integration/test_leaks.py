"""Leak suspects by Python call site (tests/workloads/leaky_service.py).

The workload leaks in two places, among JSON churn and a cache that fills
and then only replaces entries:
  LEAK-A  audit(): a tuple per request into a list; the tuples come from
          CPython's tuple free list, so the memory pymalloc hands out for
          this leak is the path string created at the call of audit() in
          handle() -- either line counts as finding leak A, and so does
          main()'s `i += 1`: the int it makes is held by leak A's tuple
          (and leak B's Session.user);
  LEAK-B  remember_session(): a Session and two strings per new dict key.
The cache's site must not score at all: its entries die (a dead entry's
block reused by a leaked int was once followed as the entry).
pymemwatch -p must rank both first and second within 45 s, with the right
file, line and function, and the object type of leak B's site.
"""

import csv
import os
import time

import pytest

from conftest import WORKLOADS

WORKLOAD = os.path.join(WORKLOADS, "leaky_service.py")
RUN_S = 45


def marked_line(tag):
    with open(WORKLOAD) as f:
        for n, line in enumerate(f, 1):
            if "# " + tag in line:
                return n
    raise AssertionError("no %s marker in %s" % (tag, WORKLOAD))


def call_line(func):
    with open(WORKLOAD) as f:
        for n, line in enumerate(f, 1):
            if line.strip().startswith(func + "(") and "def " not in line:
                return n
    raise AssertionError("no call of %s" % func)


def counter_line():
    """The line of main()'s `i += 1` (the request number, kept by both leaks)."""
    with open(WORKLOAD) as f:
        for n, line in enumerate(f, 1):
            if line.strip() == "i += 1":
                return n
    raise AssertionError("no `i += 1` in %s" % WORKLOAD)


def test_leak_sites_ranked_first(env, interp, procs, tmp_path):
    target = procs.popen([interp.path, WORKLOAD, str(RUN_S + 30)], stdout=__import__("subprocess").PIPE,
                         text=True)
    assert target.stdout.readline().startswith("ready")
    sites_csv = str(tmp_path / "sites.csv")
    flame = str(tmp_path / "flame.txt")
    jsonl = str(tmp_path / "run.jsonl")
    # the sampled allocation profile is opt-in (--alloc-profile auto); its sites need samples from several
    # bursts within RUN_S: the default --alloc-profile-budget (5% of this
    # service's CPU time, ~0.06 s/s) allows one burst (~1.7 s of its CPU) every few minutes
    pmw = procs.watch("-p", target.pid, "-d", RUN_S, "-q", "--csv-sites", sites_csv,
                      "--flamegraph", flame, "--json", jsonl, "--alloc-profile", "auto", "--alloc-profile-budget", "10000")
    res = pmw.wait(RUN_S + 60) or pmw.stop()
    assert res.rc == 0, res.describe()

    with open(sites_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "no site rows\n" + res.describe()
    last = max(r["time"] for r in rows)
    final = [r for r in rows if r["time"] == last]      # best first
    diag = "final ranking:\n" + "\n".join(
        "%s %s %s samples=%s score=%s survival=%s" % (r["site"], r["function"], r["type"],
                                                     r["samples"], r["score"], r["survival"])
        for r in final[:6]) + "\n" + res.describe()

    leak_a = {("audit", marked_line("LEAK-A")), ("handle", call_line("audit")),
              ("main", counter_line())}
    leak_b = ("remember_session", marked_line("LEAK-B"))
    cache = ("cached_lookup",)

    def key(r):
        """(function, line) of a site in the workload, None for other sites;
        every site is "?" or FILE:LINE with LINE inside FILE (a source file of
        the target, or CPython's "<frozen ...>"/"<string>" pseudo-files)."""
        if r["site"] == "?":
            return None
        path, _, line = r["site"].rpartition(":")
        assert path and line.isdigit() and int(line) > 0, "bad site %r\n%s" % (r["site"], diag)
        if path.startswith("<"):
            return None
        with open(path) as f:
            assert int(line) <= sum(1 for _ in f), "line past the end of %r\n%s" % (path, diag)
        return (r["function"], int(line)) if os.path.samefile(path, WORKLOAD) else None

    top2 = [key(r) for r in final[:2]]
    assert leak_b in top2, diag
    assert any(k in leak_a for k in top2), diag
    assert all(k is None or k[0] not in cache for k in top2), diag
    assert all(float(r["score"]) == 0 for r in final if r["function"] in cache), diag
    b = final[top2.index(leak_b)]
    assert b["type"] in ("Session", "str"), diag
    # the frames above: the stack goes through handle() and main()
    assert ":handle:" in b["stack"] and ":main:" in b["stack"], diag
    # the type census (from outside, like objgraph's show_growth) sees both
    # leaks' object types grow: leak A's tuples, and leak B's Session objects
    # or the strings that share their size class (a pool is counted under the
    # type of the object at its head)
    import json
    with open(jsonl) as f:
        recs = [json.loads(l) for l in f]
    kinds = {r["type"] for r in recs}
    assert {"process", "site", "census"} <= kinds, kinds
    last_census = [r for r in recs if r["type"] == "census" and r["time"] == max(
        x["time"] for x in recs if x["type"] == "census")]
    growing = {r["object_type"] for r in last_census if r["growth_bytes"] > 256 * 1024}
    assert "tuple" in growing and growing & {"Session", "str"}, last_census
    procs_rows = [r for r in recs if r["type"] == "process"]
    assert procs_rows[-1]["leak_score"] > 1.0, procs_rows[-1]
    # the flame graph has the leak's stack with a positive weight
    with open(flame) as f:
        lines = f.read().splitlines()
    assert any(":remember_session:%d " % leak_b[1] in l and int(l.rsplit(" ", 1)[1]) > 0
               for l in lines), "\n".join(lines[:10])


STEADY = """
import json, os, sys, time
print("ready %d" % os.getpid(), flush=True)
end = time.time() + float(sys.argv[1])
doc = {"id": 1, "items": [{"n": j, "name": "item%d" % j} for j in range(20)]}
while time.time() < end:
    for _ in range(100):
        json.loads(json.dumps(doc))
    time.sleep(0.01)
"""


def test_steady_process_scores_low(env, interp, procs, tmp_path):
    """JSON churn without a leak: the process leak score stays near 0 and no
    site keeps growing."""
    import subprocess
    target = procs.popen([interp.path, "-c", STEADY, "40"], stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().startswith("ready")
    time.sleep(2)       # past start-up growth
    csv_path = str(tmp_path / "steady.csv")
    pmw = procs.watch("-p", target.pid, "-d", 15, "-q", "--csv", csv_path)
    res = pmw.wait(60) or pmw.stop()
    assert res.rc == 0, res.describe()
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    scores = [float(r["leak_score"]) for r in rows]
    assert scores and scores[-1] < 2.0, (scores, res.describe())
