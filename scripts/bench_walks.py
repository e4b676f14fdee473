#!/usr/bin/python3
"""Heap walks on big heaps and on many processes (issue 18), for scripts/bench.py.

big_heaps(): for each size, a target holding ~GIB GiB of small objects and a module
list LEAK of 16 items is watched with `pymemwatch -p PID --mode heap -v --csv-leaks`
at the default --walk-budget. Per walk, pymemwatch's -v line gives its CPU time and,
of it, the CPU time of the process_vm_readv copies of the same memory (the floor of
any walk from outside): the table has both per GiB and their ratio. Once the first
walk is done the target is told (SIGUSR1) to append 500 dicts a second to LEAK; the
time from then to the first --csv-leaks row naming __main__.LEAK is the detection
latency (the list is known from the first walk: its header is re-read every interval).

many(): N small targets (about 5 MB each); a tenth of them start leaking the same
way 20 s in. `pymemwatch -a --mode heap` (every Python process of the host: run it on
an otherwise quiet machine) for SECONDS: every target listed, the latency per leaking
target, pymemwatch's CPU share (utime+stime over wall, from /proc, from 10 s in to 1 s
before its end: its exit is left out) and peak RSS.

Standalone: scripts/bench_walks.py [--gib 1,4] [--many 100] [--python PATH]
"""

import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALK_RE = re.compile(r"PID (\d+): walk (\d+): .* ([0-9.]+) MB read, ([0-9.]+) ms CPU "
                     r"\(([0-9.]+) ms of it copying\)")
ATTACH_RE = re.compile(r"PID \d+: attach took ([0-9.]+) ms CPU")
SWEEP_RE = re.compile(r"-a: \d+ scans of /proc, ([0-9.]+) ms CPU each; .* (\d+) found processes left")
# the target: GIB GiB of tuples, a 16-item LEAK, then on SIGUSR1 500 dicts a second into LEAK
TARGET = r"""
import os, signal, sys, time
units = int(float(sys.argv[1]) * 5.0e6)
groups, cur = [], []
for i in range(units):
    cur.append((i, str(i), float(i)))
    if len(cur) == 1000:
        groups.append(cur)
        cur = []
LEAK = [object() for _ in range(16)]
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(time.time()))
print("ready", os.getpid(), flush=True)
while not go:
    time.sleep(0.05)
while True:
    for _ in range(50):
        LEAK.append({"k": len(LEAK)})
    time.sleep(0.1)
"""


def _start(python, gib):
    p = subprocess.Popen([python, "-c", TARGET, str(gib)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, universal_newlines=True, start_new_session=True)
    line = p.stdout.readline().split()
    if not line or line[0] != "ready":
        p.kill()
        raise RuntimeError("the %.3g GiB target did not start" % gib)
    return p


def _first_row(path, pid, since):
    """Seconds from @since (epoch) to the first --csv-leaks row of @pid naming __main__.LEAK."""
    try:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if int(r["pid"]) == pid and r["holder"] == "__main__.LEAK":
                    t = time.mktime(time.strptime(r["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                    return t + float("0." + r["time"][20:23]) - since
    except (OSError, ValueError, KeyError):
        pass
    return None


def _walks(stderr_text):
    """[(pid, walk, MB read, CPU ms, copy ms)] from pymemwatch -v."""
    return [(int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5)))
            for m in WALK_RE.finditer(stderr_text)]


def _cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid, field="VmRSS:"):
    """@field (VmRSS: now, VmHWM: peak) of /proc/PID/status, KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def big_heap(pmw, python, gib, log, after_s=40.0):
    """One size: walk CPU and copy per GiB, latency of a leak that starts after the first walk."""
    tmp = tempfile.mkdtemp(prefix="pmw-walks-")
    leaks, errf = os.path.join(tmp, "leaks.csv"), open(os.path.join(tmp, "err.txt"), "w+")
    t = _start(python, gib)
    pm = None
    try:
        pm = subprocess.Popen([pmw, "-p", str(t.pid), "--mode", "heap", "-q", "-v", "--csv-leaks", leaks],
                              stdout=subprocess.DEVNULL, stderr=errf)
        t0, sent, lat = time.monotonic(), None, None
        while time.monotonic() - t0 < 900 and pm.poll() is None:
            time.sleep(0.5)
            errf.seek(0)
            walks = _walks(errf.read())
            if sent is None and walks:
                t.send_signal(signal.SIGUSR1)
                sent = time.time()
            if sent is not None and lat is None:
                lat = _first_row(leaks, t.pid, sent)
            if lat is not None and time.time() - sent > after_s and len(walks) >= 2:
                break
        rss, hwm = _rss_kib(pm.pid), _rss_kib(pm.pid, "VmHWM:")
    finally:
        if pm and pm.poll() is None:
            pm.send_signal(signal.SIGINT)
            pm.wait(60)
        t.kill()
        t.wait()
    errf.seek(0)
    err_text = errf.read()
    walks = _walks(err_text)
    errf.close()
    if not walks:
        raise RuntimeError("no walk completed on the %.3g GiB target" % gib)
    gibs = [w[2] * 1e6 / 2 ** 30 for w in walks]
    cpu = sorted(w[3] / g for w, g in zip(walks, gibs))
    copy = sorted(w[4] / g for w, g in zip(walks, gibs))
    hdr = re.findall(r"([0-9.]+) KiB per interval since attach", err_text)
    res = {"gib": gibs[-1], "walks": len(walks), "cpu_ms_gib": cpu[len(cpu) // 2],
           "copy_ms_gib": copy[len(copy) // 2], "latency_s": lat, "rss_mib": rss / 1024.0,
           "header_kib": float(hdr[-1]) if hdr else None, "peak_rss_mib": hwm / 1024.0}
    res["ratio"] = res["cpu_ms_gib"] / res["copy_ms_gib"] if res["copy_ms_gib"] else None
    log("walks on %.2f GiB: %d walks, %.0f ms CPU/GiB, copy %.0f ms/GiB, leak ranked after %s s, RSS %.0f MiB "
        "(peak %.0f), headers re-read between walks %s KiB per interval"
        % (res["gib"], res["walks"], res["cpu_ms_gib"], res["copy_ms_gib"],
           "%.1f" % lat if lat is not None else "-", res["rss_mib"], res["peak_rss_mib"],
           "%.1f" % res["header_kib"] if res["header_kib"] is not None else "-"))
    return res


def many(pmw, python, n, log, seconds=120.0, leak_at=20.0, all_host=True, budget=None):
    """@n small targets, a tenth leaking from @leak_at s; pymemwatch -a (or -p them: @all_host
    false) for @seconds."""
    tmp = tempfile.mkdtemp(prefix="pmw-many-")
    leaks, csvp = os.path.join(tmp, "leaks.csv"), os.path.join(tmp, "rows.csv")
    ts = []
    try:
        for _ in range(n):
            ts.append(_start(python, 0.005))
        who = ["-a"] if all_host else ["-p", ",".join(str(t.pid) for t in ts)]
        errf = open(os.path.join(tmp, "err.txt"), "w+")
        extra = ["--walk-budget", str(budget)] if budget is not None else []
        pm = subprocess.Popen([pmw] + who + extra + ["--mode", "heap", "-q", "-v", "-i", "1", "-d",
                               str(seconds), "--csv", csvp, "--csv-leaks", leaks], stdout=subprocess.DEVNULL,
                              stderr=errf)
        t0, sent, cpu0, rss = time.monotonic(), None, None, 0
        leaking = ts[::10]
        while pm.poll() is None:
            time.sleep(1)
            el = time.monotonic() - t0
            try:
                if cpu0 is None and el > 10:
                    cpu0 = (el, _cpu_s(pm.pid))   # after attach
                if el < seconds - 1:              # not its exit (detaching, the summary)
                    cpu1 = (el, _cpu_s(pm.pid))
                rss = max(rss, _rss_kib(pm.pid))
            except (OSError, IndexError, ValueError):
                pass
            if sent is None and el >= leak_at:
                for t in leaking:
                    t.send_signal(signal.SIGUSR1)
                sent = time.time()
        listed = set()
        with open(csvp, newline="") as f:
            for r in csv.DictReader(f):
                listed.add(int(r["pid"]))
        lat = [_first_row(leaks, t.pid, sent) for t in leaking]
        errf.seek(0)
        err_text = errf.read()
        errf.close()
    finally:
        for t in ts:
            t.kill()
            t.wait()
    res = {"n": n, "listed": len(listed & set(t.pid for t in ts)), "leaking": len(leaking),
           "ranked": sum(1 for x in lat if x is not None), "latency": sorted(x for x in lat if x is not None),
           "cpu_pct": 100 * (cpu1[1] - cpu0[1]) / (cpu1[0] - cpu0[0]) if cpu0 else None,
           "rss_mib": rss / 1024.0, "seconds": seconds, "cpu_s": cpu1[1] - cpu0[1] if cpu0 else None,
           "load": os.getloadavg()[0]}
    # -v: each attach while running (CPU ms), and -a's totals at exit
    att = sorted(float(m.group(1)) for m in ATTACH_RE.finditer(err_text))
    res["attaches"], res["attach_ms_median"] = len(att), att[len(att) // 2] if att else None
    res["attach_ms_total"] = sum(att)
    m = SWEEP_RE.search(err_text)
    if m:
        res["proc_scan_ms"], res["deferred"] = float(m.group(1)), int(m.group(2))
    res["latency_by_pid"] = {t.pid: lat[i] for i, t in enumerate(leaking)}
    log("%s with %d targets: %d listed, %d of %d leaks ranked, pymemwatch %.1f%% CPU, peak RSS %.0f MiB"
        % ("-a" if all_host else "-p", n, res["listed"], res["ranked"], res["leaking"], res["cpu_pct"] or 0,
           res["rss_mib"]))
    log("  latency per leaking target (s): %s; %d attaches while running, median %s ms CPU, %.0f ms in all"
        % (" ".join("%.1f" % x if x is not None else "-" for x in lat), res["attaches"],
           "%.1f" % res["attach_ms_median"] if att else "-", res["attach_ms_total"]))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gib", default="1,4")
    ap.add_argument("--many", type=int, default=100)
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--seconds", type=float, default=120.0, help="of the -a run")
    ap.add_argument("-p", dest="pids", action="store_true", help="-p the targets instead of -a")
    ap.add_argument("--pymemwatch", default=os.path.join(ROOT, "pymemwatch"))
    ap.add_argument("--walk-budget", type=float, default=None, help="passed on (default: pymemwatch's)")
    a = ap.parse_args()

    def log(m):
        sys.stderr.write("bench_walks: %s\n" % m)
    for g in [float(x) for x in a.gib.split(",") if x]:
        print(big_heap(a.pymemwatch, a.python, g, log))
    if a.many:
        print(many(a.pymemwatch, a.python, a.many, log, a.seconds, all_host=not a.pids,
                   budget=a.walk_budget))


if __name__ == "__main__":
    sys.exit(main())
