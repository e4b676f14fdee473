"""Leak suspects by Python call site (tests/workloads/leaky_service.py).

The workload leaks in two places, among JSON churn and a cache that fills
and then only replaces entries:
  LEAK-A  audit(): a tuple per request into a list; the tuples come from
          CPython's tuple free list, so the memory pymalloc hands out for
          this leak is the path string created at the call of audit() in
          handle() -- either line counts as finding leak A;
  LEAK-B  remember_session(): a Session and two strings per new dict key.
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


def test_leak_sites_ranked_first(env, interp, procs, tmp_path):
    target = procs.popen([interp.path, WORKLOAD, str(RUN_S + 30)], stdout=__import__("subprocess").PIPE,
                         text=True)
    assert target.stdout.readline().startswith("ready")
    sites_csv = str(tmp_path / "sites.csv")
    flame = str(tmp_path / "flame.txt")
    pmw = procs.watch("-p", target.pid, "-d", RUN_S, "-q", "--csv-sites", sites_csv,
                      "--flamegraph", flame)
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

    leak_a = {("audit", marked_line("LEAK-A")), ("handle", call_line("audit"))}
    leak_b = ("remember_session", marked_line("LEAK-B"))
    cache = ("cached_lookup",)

    def key(r):
        path, _, line = r["site"].rpartition(":")
        assert os.path.basename(path) == "leaky_service.py" or r["site"] == "?" or path, diag
        return (r["function"], int(line)) if path.endswith("leaky_service.py") else None

    top2 = [key(r) for r in final[:2]]
    assert leak_b in top2, diag
    assert any(k in leak_a for k in top2), diag
    assert all(k is None or k[0] not in cache for k in top2), diag
    b = final[top2.index(leak_b)]
    assert b["type"] in ("Session", "str"), diag
    # the frames above: the stack goes through handle() and main()
    assert ":handle:" in b["stack"] and ":main:" in b["stack"], diag
    # the flame graph has the leak's stack with a positive weight
    with open(flame) as f:
        lines = f.read().splitlines()
    assert any(":remember_session:%d " % leak_b[1] in l and int(l.rsplit(" ", 1)[1]) > 0
               for l in lines), "\n".join(lines[:10])
