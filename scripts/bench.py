#!/usr/bin/python3
"""pymemwatch benchmark: what watching a Python process costs it, and what pymemwatch costs.

usage: scripts/bench.py [--set workloads|independent] [--python PATH]... [--reps N]
                        [--workloads a,b] [--configs a,b] [--leak-workloads a,b] [--quick]
                        [--skip-own-cost] [--csv PATH] [--markdown PATH] [--pymemwatch PATH]
(run as root from anywhere; `make bench BENCH_ARGS=...` runs it after building,
`make bench-independent` with --set independent)

Sets of workloads (--set):
  workloads    bench/workloads/*.py, written for this project (default)
  independent  bench/independent/*.py: third-party programs from Debian 12's python3-*
               packages (lib2to3, docutils, sympy, genshi, chameleon, mako, html5lib, dulwich,
               tornado, sqlalchemy, networkx, pyflakes, pygments), mirroring pyperformance's
               benchmarks, each driven by a thin driver. Each is first run with --probe on each
               interpreter; where its modules do not import, it is skipped there, with the
               reason printed. pymemwatch's own cost (independent of the workloads) is measured
               with the default set only.

Workloads warm up, print "ready PID", wait for SIGUSR1, run
their timed section and print "elapsed SECONDS"; with --hold they then wait for a
second SIGUSR1 before exiting, so pymemwatch is stopped before interpreter teardown.

Configurations, alternated round-robin within each repetition round:
  plain        the workload alone
  gc|heap|full pymemwatch -p PID -q -i 1 --mode X  (full is pymemwatch's default)
  exact        pymemwatch --exact (every pymalloc call probed). Run at 1/100 of the
               work (SCALED) and compared with plain at that same scale
               ("plain@exact-scale"), else one run would take minutes. Skipped after
               the first run on an interpreter where pymemwatch reports estimates (LTO).
  tracemalloc  python -X tracemalloc=1, no pymemwatch; at 1/4 of the work, compared
               with "plain@tracemalloc-scale" (it costs up to 40x: full runs took too long)
  leaking      the workload leaks steadily on top of its work (--leak: LEAK_KIB KiB/s of small
               dicts kept in a module global list, from a 100 Hz timer) under the default
               `pymemwatch -p PID -q -i 1 --json FILE` (--mode full, default budgets), so that
               finding the leak runs: heap walks, holder search, growth sites (hardware write
               watchpoints on the leak's length). pymemwatch watches for LEAK_PREROLL s before the
               timed section while the workload already works and leaks; the timed section runs at
               LEAK_SCALE x the work; compared with "plain@leaking-scale" (the same leak and scale,
               no pymemwatch), run next to it in each round, the order reversed every other round. Run on the --leak-workloads only
               (default LEAK_WORKLOADS of the set). The report adds the median ratio of the pairs
               of each round, the watches armed and hits caught (from the --json leak lines), what
               the hits cost the target (hits x the per-hit cost: a write-breakpoint hit's trap,
               measured at the start by bench/watch_cost.py on each interpreter, + the BPF
               program's ns per run from --bpf-stats) and whether the leak's site was named.
  profile      the sampled allocation profile: the leaking configuration + `--alloc-profile
               always` (default --alloc-profile-budget), on the same workloads, leak, pre-roll and
               scale, against the same reference (so profile / leaking is the profile's own cost);
               the report adds the bursts' figures from pymemwatch's "cost-stats" line at exit
               (--bpf-stats): bursts, seconds with free probes on, the target's CPU time while
               they were on, the slowdown pymemwatch measured for the budget.
Heap walks run in heap, full and leaking: the walk table reports the walks completed, the
last walk's CPU time per GiB of heap read, and pymemwatch's CPU share (its utime+stime over
the run's wall time, from /proc).
Ratios are median(config) / median(plain); for leaking and profile also the median of the ratios of
each round's pair (pair_ratio: the two run back to back, AB then BA). Also measured: the cost of one uprobe hit
(bench/uprobe_cost.c with perf probe), per-BPF-program ns per event (--bpf-stats),
and pymemwatch's own attach time, CPU, peak RSS and detach time on 1/20/100 idle
interpreters. Everything goes to a CSV too (default ./bench-results.csv, or
./bench-results-SET.csv for another set), whose "set" column names the set.
Every table of the report, with its notes, is also written as Markdown (--markdown, default
./bench-results.md, or ./bench-results-SET.md): doc/overhead.md's tables are pasted from it, so none
is typed by hand. Standard library only.
"""

import argparse
import calendar
import csv
import json
import math
import os
import queue
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# set -> (directory, --quick subset, probe each workload first, extra seconds per run for imports/setup)
SETS = {"workloads": (os.path.join(ROOT, "bench", "workloads"), ["json_docs", "gc_cycles", "asyncio_echo"], False, 0.0),
        "independent": (os.path.join(ROOT, "bench", "independent"), ["docutils_html", "sqlalchemy_orm", "tornado_http"],
                        True, 1.0)}
UPROBE_SRC = os.path.join(ROOT, "bench", "uprobe_cost.c")

DEFAULT_PYTHONS = ["/usr/bin/python3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"]
ALL_CONFIGS = ["plain", "gc", "heap", "full", "exact", "tracemalloc", "leaking", "profile"]
PMW_CONFIGS = ("gc", "heap", "full", "exact", "leaking", "profile")
SMALL = "plain@exact-scale"  # internal reference configs for the scaled configs
TSMALL = "plain@tracemalloc-scale"
LBIG = "plain@leaking-scale"
LEAK_KIB = 256.0  # KiB/s leaked by the workload in leaking and its reference (--leak)
LEAK_SCALE = 12.0  # leaking's timed section: 12 x the work (~8-20 s: several burst periods); --leak-scale
LEAK_PREROLL = 8.0  # s pymemwatch watches the leaking workload before the timed section
LEAK_WORKLOADS = {"workloads": ["json_dumps", "method_calls", "json_docs"],
                  "independent": ["docutils_html", "genshi_bigtable", "sqlalchemy_orm"]}
QUICK_LEAK_WORKLOADS = {"workloads": ["json_dumps", "method_calls"], "independent": ["docutils_html"]}
WALK_CONFIGS = ("heap", "full", "leaking")  # heap walks run in these
SCALED = {"exact": (SMALL, 0.01), "tracemalloc": (TSMALL, 0.25),
          "leaking": (LBIG, LEAK_SCALE), "profile": (LBIG, LEAK_SCALE)}  # config -> (its plain reference, scale)
LEAK_CONFIGS = ("leaking", "profile")  # on a leaking target, after LEAK_PREROLL s of watching
SCALE_OF = dict([(c, f) for c, (r, f) in SCALED.items()] + [(r, f) for c, (r, f) in SCALED.items()])
READY_TIMEOUT = 60.0
WATCH_TIMEOUT = 60.0
RUN_TIMEOUT = 600.0
OWN_COST_SIZES = [1, 20, 100]
UPROBE_FUNCS = [("f_push", "push %rbp (emulated)", 1000000),
                ("f_r13", "push %r13 (emulated)", 1000000),
                ("f_jcc", "jne (emulated)", 1000000),
                ("f_nop5", "nopl 5 bytes (emulated)", 1000000),
                ("f_lea", "lea (single-stepped)", 200000)]

# rough seconds per run, only for the estimate printed at the start
EST = {"plain": 1.5, "gc": 1.7, "heap": 1.7, "full": 2.7, "exact": 2.0, SMALL: 0.4, "tracemalloc": 2.5, TSMALL: 0.6,
       "leaking": 1.5 * LEAK_SCALE * 1.1 + LEAK_PREROLL + 2, "profile": 1.5 * LEAK_SCALE * 1.2 + LEAK_PREROLL + 2,
       LBIG: 1.5 * LEAK_SCALE}

BPF_STATS_RE = re.compile(r"bpf-stats: prog=(\S+) runs=(\d+) run_ns=(\d+) ns_per_run=([\d.]+)")
COST_STATS_RE = re.compile(r"cost-stats: pid=(\d+) (.*)")  # key=value pairs (user/burst.c)
WATCH_COST_RE = re.compile(r"watch-cost us_per_hit=([\d.]+) hits=(\d+)")  # bench/watch_cost.py
WATCH_COST_SRC = os.path.join(ROOT, "bench", "watch_cost.py")


def set_leak_scale(f):
    """--leak-scale: the leaking timed section's work, and its estimates."""
    global LEAK_SCALE
    LEAK_SCALE = f
    SCALED["leaking"] = SCALED["profile"] = (LBIG, f)
    SCALE_OF["leaking"] = SCALE_OF["profile"] = SCALE_OF[LBIG] = f
    EST["leaking"], EST[LBIG] = 1.5 * f * 1.1 + LEAK_PREROLL + 2, 1.5 * f
    EST["profile"] = 1.5 * f * 1.2 + LEAK_PREROLL + 2


def with_refs(configs):
    """configs plus the plain references of the scaled ones, in run order: each reference right after
    its configuration (the order of a round: round_order())."""
    plan = []
    for c in configs:
        plan.append(c)
        if c in SCALED and SCALED[c][0] not in plan:
            plan.append(SCALED[c][0])  # leaking and profile share theirs: leaking, it, profile
    return plan


def round_order(configs, r):
    """The runs of round r: each scaled configuration next to its reference (leaking and profile on
    either side of theirs), the pair's order reversed every other round (AB, BA, ...), the groups
    rotated by round so that none always runs first."""
    groups = []
    for c in configs:
        ref = SCALED[c][0] if c in SCALED else None
        g = [x for x in groups if ref in x]
        if g:
            g[0].append(c)
        else:
            groups.append([c, ref] if ref else [c])
    k = r % len(groups)
    groups = groups[k:] + groups[:k]
    return [c for g in groups for c in (reversed(g) if r % 2 else g)]


def load1():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def fmt_dur(s):
    s = int(round(s))
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%ds" % s


class Lines(object):
    """Read a pipe's lines in a thread; wait for a line containing a string."""

    def __init__(self, pipe):
        self.q = queue.Queue()
        self.lines = []
        self.t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.t.start()

    def _run(self, pipe):
        for line in iter(pipe.readline, ""):
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, needle, timeout, proc=None):
        """Return the first line containing needle; None on EOF/timeout."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.q.put(None)  # stay at EOF
                return None
            self.lines.append(line)
            if needle in line:
                return line

    def drain(self, timeout=2.0):
        self.t.join(timeout)
        while True:
            try:
                line = self.q.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return self.lines


def stop(proc, sig=signal.SIGKILL, timeout=5.0):
    """Signal a process we started and reap it; return its exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ---------------------------------------------------------------- interpreters

class Interp(object):
    def __init__(self, path):
        self.path = path
        # the image holding pymalloc: libpython if this process maps one, else the executable
        code = ("import os, sys; print(sys.version.split()[0]); print(os.path.realpath(sys.executable)); "
                "print(next((l.split()[-1] for l in open('/proc/self/maps') if '/libpython' in l), ''))")
        out = subprocess.run([path, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        ver, exe, lib = (out.stdout.split("\n") + ["", "", ""])[:3]
        self.version = ver
        self.minor = ".".join(ver.split(".")[:2])
        self.image = lib or exe
        kind = "pyenv" if "/.pyenv/" in path else ("system" if path.startswith("/usr/") else "other")
        self.label = "%s %s" % (kind, ver)
        self.exact_ok = None  # learnt from the exact runs' CSV precision
        self.first_insn = {}  # allocator function -> (index of probed insn, uprobe_cost function|"single-step", text)

    def classify_allocator(self):
        """Where does an entry uprobe on _PyObject_Malloc/_PyObject_Free land, and does
        the kernel emulate that instruction or single-step it? Mirrors pymemwatch's
        placement (user/insn.c): the first emulated instruction (push, nop, call/jmp,
        jcc) reached before a branch or a write to an argument register, else the entry."""
        if not shutil.which("objdump"):
            return
        for sym in ("_PyObject_Malloc", "_PyObject_Free"):
            try:
                out = subprocess.run(["objdump", "-d", "--insn-width=16", "--disassemble=" + sym, self.image],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     universal_newlines=True, timeout=60).stdout
            except (OSError, subprocess.TimeoutExpired):
                continue
            insns, inside = [], False
            for line in out.split("\n"):
                if line.endswith("<%s>:" % sym):
                    inside = True
                    continue
                if inside:
                    parts = line.split("\t")
                    if len(parts) < 3 or len(insns) >= 8:
                        break
                    raw = bytes(int(x, 16) for x in parts[1].split())
                    insns.append((raw, re.sub(r"\s+", " ", parts[2].split("#")[0].strip())))
            if not insns:
                continue
            site = (0, "single-step", insns[0][1])
            for i, (raw, text) in enumerate(insns):
                kind = emulated_kind(raw)
                if kind:
                    site = (i, kind, text)
                    break
                if branch_or_arg_write(text):
                    break
            self.first_insn[sym] = site


ARG_REGS = re.compile(r"%(r[sd]i|e[sd]i|[sd]il?|r[cd]x|e[cd]x|[cd][xl]|r[89][dwb]?)$")


def emulated_kind(b):
    """The uprobe_cost.c function whose hit cost applies, if the kernel emulates b."""
    n = len(b)
    if n == 1 and 0x50 <= b[0] <= 0x57:
        return "f_push"
    if n == 2 and b[0] == 0x41 and 0x50 <= b[1] <= 0x57:
        return "f_r13"
    if n == 1 and b[0] == 0x90 or n >= 3 and b[0] == 0x0f and b[1] == 0x1f:
        return "f_nop5"
    if b[0] in (0xe8, 0xe9, 0xeb) or 0x70 <= b[0] <= 0x7f or n >= 2 and b[0] == 0x0f and 0x80 <= b[1] <= 0x8f:
        return "f_jcc"
    return None


def branch_or_arg_write(text):
    op = text.split()[0] if text else ""
    if op.startswith(("j", "call", "ret", "int", "iret", "syscall", "rep", "mul", "div", "idiv", "xchg",
                      "cmpxchg", "cqto", "cltd", "cpuid", "rdtsc", "movs", "stos")):
        return True
    if op.startswith(("test", "cmp", "push", "nop", "endbr")):
        return False
    operands = text[len(op):].strip()
    dest = operands.rsplit(",", 1)[-1].strip() if operands else ""
    return bool(ARG_REGS.match(dest)) or not dest


# ---------------------------------------------------------------- pymemwatch

def pmw_features(pmw):
    try:
        h = subprocess.run([pmw, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=10).stdout
    except OSError as e:
        return None, str(e)
    return {"mode": "--mode" in h, "bpf_stats": "--bpf-stats" in h}, None


def read_csv_sums(path):
    res = {"allocs": 0, "frees": 0, "pool_refills": 0, "dropped": 0, "rows": 0, "precision": set()}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                res["rows"] += 1
                for k in ("allocs", "frees", "pool_refills", "dropped"):
                    try:
                        res[k] += int(row.get(k) or 0)
                    except ValueError:
                        pass
                if row.get("precision"):
                    res["precision"].add(row["precision"])
    except OSError:
        return None
    res["precision"] = ",".join(sorted(res["precision"]))
    return res


def json_time(ts):
    """Seconds since the epoch of pymemwatch's "time" (RFC 3339, UTC, milliseconds), None if not one."""
    try:
        base, _, frac = ts.rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))
    except (ValueError, AttributeError):
        return None


def read_growth(path, t_timed=None):
    """What growth sites did in a leaking run, from pymemwatch's --json leak lines: watches armed and
    hits (each container's last watch_arms and watch_hits, summed over containers), of those hits the
    ones after t_timed (the start of the timed section, epoch s; counted from the last line before it,
    so up to one interval early), whether a leak row named a site, and when (s after the first line,
    which comes one interval after 'watching')."""
    last, before, first_t, site_t, reasons = {}, {}, None, None, set()
    try:
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                t = json_time(r.get("time"))
                if first_t is None and t is not None:
                    first_t = t
                if r.get("type") != "leak":
                    continue
                key = r.get("container_addr") or r.get("holder")
                a, h = r.get("watch_arms") or 0, r.get("watch_hits") or 0
                o = last.get(key, (0, 0))
                last[key] = (max(o[0], a), max(o[1], h))
                if t_timed is not None and t is not None and t < t_timed:
                    before[key] = max(before.get(key, 0), h)
                if r.get("site") and site_t is None and t is not None:
                    site_t = t
                if r.get("site_reason"):
                    reasons.add(r["site_reason"])
    except OSError:
        return {}
    return {"arms": sum(a for a, h in last.values()), "hits": sum(h for a, h in last.values()),
            "hits_timed": sum(h - before.get(k, 0) for k, (a, h) in last.items()),
            "named": site_t is not None, "site_s": None if site_t is None else site_t - first_t,
            "reasons": sorted(reasons)}


# ---------------------------------------------------------------- one run

class RunError(Exception):
    pass


class Bench(object):
    def __init__(self, args):
        self.args = args
        self.pmw = args.pymemwatch
        self.tmp = tempfile.mkdtemp(prefix="pmw-bench.")
        self.unsupported = {}  # config -> reason
        self.notes = []
        self.features = {"mode": False, "bpf_stats": False}
        self.results = {}  # (interp.path, workload, config) -> list of run dicts
        self.children = []  # every Popen still possibly alive
        self.loads = []  # 1-minute load average after each workload
        self.set_name = args.set
        self.wl_dir, _, self.probe_first, self.setup_s = SETS[args.set]
        self.skipped = {}  # (interp.path, workload) -> reason it cannot run there
        self.leak_workloads = set()  # workloads the leaking configuration runs on
        self.leak_only = set()  # of those, the ones the other configurations do not run on (--quick)

    def probe(self, interps, workloads):
        """Run each workload with --probe on each interpreter; remember what cannot run where."""
        for interp in interps:
            for wl in workloads:
                try:
                    r = subprocess.run([interp.path, os.path.join(self.wl_dir, wl + ".py"), "--probe"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                       timeout=120)
                    ok, out = r.returncode == 0, r.stdout.strip()
                except (OSError, subprocess.TimeoutExpired) as e:
                    ok, out = False, str(e)
                if not ok:
                    self.skipped[(interp.path, wl)] = out.split("\n")[-1][:200] or "probe failed"
                    log("%s: skipping %s on %s: %s" % (self.set_name, wl, interp.label, self.skipped[(interp.path, wl)]))

    def pmw_args(self, config):
        a = []
        if config in ("gc", "heap", "full") and self.features["mode"]:
            a += ["--mode", config]
        if config == "exact":
            a += ["--exact"]
        if config == "profile":
            a += ["--alloc-profile", "always"]  # the sampled allocation profile, default budget
        # --bpf-stats: per-program BPF cost (full, exact), growth_hit's ns per hit (leaking) and, at exit,
        # the cost-stats line (walks, bursts)
        if config in ("heap", "full", "exact", "leaking", "profile") and self.features["bpf_stats"] and not self.args.no_bpf_stats:
            a += ["--bpf-stats"]
        return a + (self.args.pmw_extra.split() if self.args.pmw_extra else [])

    def run_once(self, interp, workload, config, scale):
        """One run; returns a dict with elapsed (s) and whatever pymemwatch reported."""
        is_pmw = config in PMW_CONFIGS
        wl_path = os.path.join(self.wl_dir, workload + ".py")
        cmd = [interp.path]
        if config == "tracemalloc":
            cmd += ["-X", "tracemalloc=1"]
        cmd += [wl_path, "--scale", repr(scale)]
        if config in LEAK_CONFIGS + (LBIG,):
            cmd += ["--leak", repr(LEAK_KIB)]
        if is_pmw:
            cmd += ["--hold"]
        werr_path = os.path.join(self.tmp, "workload.err")
        csv_path = os.path.join(self.tmp, "run.csv")
        json_path = os.path.join(self.tmp, "run.jsonl")
        for f in (csv_path, json_path):
            if os.path.exists(f):
                os.unlink(f)
        res = {"config": config}
        wp = pp = None
        with open(werr_path, "w") as werr:
            try:
                wp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=werr, stdin=subprocess.DEVNULL,
                                      universal_newlines=True, start_new_session=True)
                self.children.append(wp)
                wout = Lines(wp.stdout)
                if wout.wait_for("ready", READY_TIMEOUT) is None:
                    raise RunError("workload never printed 'ready': %s" % self._tail(werr_path))
                if is_pmw:
                    pcmd = [self.pmw, "-p", str(wp.pid), "-q", "-i", "1"] + self.pmw_args(config)
                    if config in ("full", "exact") + LEAK_CONFIGS:
                        pcmd += ["--csv", csv_path]
                    if config == "leaking":
                        pcmd += ["--json", json_path]  # leak lines: watch_arms, watch_hits, site
                    t0 = time.monotonic()
                    pp = subprocess.Popen(pcmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, universal_newlines=True,
                                          start_new_session=True)
                    self.children.append(pp)
                    perr = Lines(pp.stderr)
                    if perr.wait_for("pymemwatch: watching", WATCH_TIMEOUT) is None:
                        rc = stop(pp, signal.SIGKILL)
                        text = " | ".join(perr.drain())
                        if rc == 64 and "unrecognized option" in text:
                            raise RunError("unsupported: " + text)
                        raise RunError("pymemwatch (exit %s) never said 'watching': %s" % (rc, text[-300:]))
                    res["attach_s"] = time.monotonic() - t0
                    t_watch = time.monotonic()
                    if config in LEAK_CONFIGS:
                        time.sleep(LEAK_PREROLL)  # the heap must grow for a few intervals before bursts
                    c0, m0 = self._cpu_ticks(pp.pid), time.monotonic()
                t_timed = time.time()  # wall clock, as pymemwatch's JSON "time"
                os.kill(wp.pid, signal.SIGUSR1)
                line = wout.wait_for("elapsed", RUN_TIMEOUT)
                if line is None:
                    raise RunError("workload never printed 'elapsed': %s" % self._tail(werr_path))
                res["elapsed"] = float(line.split()[1])
                if is_pmw:
                    # pymemwatch's CPU time over the timed section, percent of one CPU
                    res["pmw_cpu_pct"] = ((self._cpu_ticks(pp.pid) - c0) / float(os.sysconf("SC_CLK_TCK")) /
                                          max(time.monotonic() - m0, 1e-3) * 100.0)
                    res["watch_s"] = time.monotonic() - t_watch
                    rc = stop(pp, signal.SIGINT, timeout=30)
                    lines = perr.drain()
                    res["pmw_rc"] = rc
                    res["warnings"] = [l for l in lines if "warning" in l]
                    res["bpf"] = {}
                    for l in lines:
                        m = BPF_STATS_RE.search(l)
                        if m:
                            res["bpf"][m.group(1)] = (int(m.group(2)), int(m.group(3)), float(m.group(4)))
                        m = COST_STATS_RE.search(l)
                        if m and int(m.group(1)) == wp.pid:
                            res["cost"] = dict((k, float(v)) for k, v in
                                               (kv.split("=", 1) for kv in m.group(2).split()))
                    if rc != 0:
                        raise RunError("pymemwatch exited %s: %s" % (rc, " | ".join(lines)[-300:]))
                    if config in ("full", "exact") + LEAK_CONFIGS:
                        res["csv"] = read_csv_sums(csv_path)
                    if config == "leaking":
                        res["growth"] = read_growth(json_path, t_timed)
                    os.kill(wp.pid, signal.SIGUSR1)  # release --hold
                rc = wp.wait(30)
                if rc != 0:
                    raise RunError("workload exited %s: %s" % (rc, self._tail(werr_path)))
            finally:
                stop(pp, signal.SIGKILL)
                stop(wp, signal.SIGKILL)
                self.children = [c for c in self.children if c.poll() is None]
        return res

    @staticmethod
    def _tail(path, n=400):
        try:
            with open(path) as f:
                return f.read()[-n:].replace("\n", " | ")
        except OSError:
            return ""

    # ------------------------------------------------------------ the rounds

    def runs_on(self, wl, config):
        """Does config run on workload wl (leaking: the leak workloads only; those of --quick: only it)?"""
        if config in LEAK_CONFIGS + (LBIG,):
            return wl in self.leak_workloads
        return wl not in self.leak_only

    def est_run(self, wl, config):
        """Rough seconds of one run, for the estimates printed."""
        return EST[config] + self.setup_s if self.runs_on(wl, config) else 0.0

    def run_matrix(self, interps, workloads, configs, reps):
        plan = with_refs(configs)
        if "leaking" in configs and "leaking" not in self.unsupported:
            for interp in interps:
                self.measure_watch_cost(interp)
        total_runs = len(interps) * len(workloads) * reps * len(plan)
        est_total = len(interps) * reps * sum(self.est_run(wl, c) for wl in workloads for c in plan)
        self.est_remaining = est_total
        done = 0
        t_start = time.monotonic()
        spent_est = 0.0
        for interp in interps:
            for wl in workloads:
                if (interp.path, wl) in self.skipped:
                    done += reps * len(plan)
                    spent_est += reps * sum(self.est_run(wl, c) for c in plan)
                    continue
                for r in range(reps):
                    order = round_order(configs, r)
                    for config in order:
                        done += 1
                        spent_est += self.est_run(wl, config)
                        if config in self.unsupported:
                            continue
                        if not self.runs_on(wl, config):
                            continue
                        if config in ("exact", SMALL) and interp.exact_ok is False:
                            continue  # LTO: --exact falls back to estimates, nothing to measure
                        scale = self.args.scale * SCALE_OF.get(config, 1.0)
                        key = (interp.path, wl, config)
                        try:
                            res = self.run_once(interp, wl, config, scale)
                        except RunError as e:
                            msg = str(e)
                            if msg.startswith("unsupported:"):
                                self.unsupported[config] = "pymemwatch: " + msg[len("unsupported:"):].strip()[:120]
                                log("config %s unsupported by this pymemwatch; skipping it (%s)" %
                                    (config, self.unsupported[config]))
                            else:
                                log("%s %s %s rep %d FAILED: %s" % (interp.label, wl, config, r + 1, msg))
                                self.results.setdefault(key, []).append({"error": msg})
                            continue
                        res["scale"] = scale
                        res["rep"] = r
                        self.results.setdefault(key, []).append(res)
                        if config == "exact" and res.get("csv"):
                            ok = res["csv"]["precision"] == "exact"
                            interp.exact_ok = ok if interp.exact_ok is None else (interp.exact_ok and ok)
                        spent = time.monotonic() - t_start
                        eta = (est_total - spent_est) * (spent / spent_est if spent_est else 1.0)
                        log("[%d/%d, %s elapsed, ~%s left] %s %-14s rep %d/%d %-17s %.3f s" %
                            (done, total_runs, fmt_dur(spent), fmt_dur(eta), interp.label, wl,
                             r + 1, reps, config, res["elapsed"]))
                b_load = load1()
                if b_load is not None:
                    self.loads.append(b_load)
                # the CSV is rewritten after each workload, so a killed run keeps what it measured
                self.write_csv(interps, workloads, configs)

    # ------------------------------------------------------------ results

    def elapsed_list(self, interp, wl, config):
        return [r["elapsed"] for r in self.results.get((interp.path, wl, config), []) if "elapsed" in r]

    def median(self, interp, wl, config):
        v = self.elapsed_list(interp, wl, config)
        return statistics.median(v) if v else None

    def ratio(self, interp, wl, config):
        base = SCALED.get(config, ("plain",))[0]
        m, b = self.median(interp, wl, config), self.median(interp, wl, base)
        return m / b if m and b else None

    def pair_ratio(self, interp, wl, config):
        """(median over rounds of config / its reference in the same round, pairs): the two run back to
        back in each round (with_refs), so slow drifts of the machine's load cancel; (None, 0) if no pair."""
        base = SCALED.get(config, ("plain",))[0]
        ref = dict((r["rep"], r["elapsed"]) for r in self.results.get((interp.path, wl, base), [])
                   if "elapsed" in r and "rep" in r)
        v = [r["elapsed"] / ref[r["rep"]] for r in self.results.get((interp.path, wl, config), [])
             if "elapsed" in r and ref.get(r.get("rep"))]
        return (statistics.median(v) if v else None), len(v)

    def growth_figures(self, interp, wl):
        """Growth sites in the leaking runs (medians over runs): watches armed, hits, hits per watch,
        target ms the hits cost (hits x (trap cost from bench/watch_cost.py + pmw_growth_hit's ns/run
        from --bpf-stats)), that as a share of the timed section, runs that named the site of all,
        seconds to the first site (median over the runs that named one)."""
        runs = [r for r in self.results.get((interp.path, wl, "leaking"), []) if r.get("growth")]
        if not runs:
            return None
        g = [r["growth"] for r in runs]
        arms = statistics.median([x["arms"] for x in g])
        hits = statistics.median([x["hits"] for x in g])
        hits_timed = statistics.median([x.get("hits_timed", x["hits"]) for x in g])
        bpf = [r["bpf"]["pmw_growth_hit"][2] for r in runs if "pmw_growth_hit" in r.get("bpf", {})]
        trap = getattr(interp, "watch_us", None)
        per_hit = trap + (statistics.median(bpf) / 1e3 if bpf else 0) if trap is not None else None
        ms = [x["hits"] * per_hit / 1e3 for x in g] if per_hit is not None else []
        share = ([x.get("hits_timed", x["hits"]) * per_hit / 1e6 / r["elapsed"] for x, r in zip(g, runs)]
                 if per_hit is not None else [])
        site_s = [x["site_s"] for x in g if x["named"] and x["site_s"] is not None]
        per_watch = [x["hits"] / float(x["arms"]) for x in g if x["arms"]]
        return {"arms": arms, "hits": hits, "hits_timed": hits_timed, "per_watch": statistics.median(per_watch) if per_watch else None,
                "per_hit_us": per_hit, "bpf_us": statistics.median(bpf) / 1e3 if bpf else None,
                "ms": statistics.median(ms) if ms else None, "share": statistics.median(share) if share else None,
                "named": sum(1 for x in g if x["named"]), "runs": len(g),
                "site_s": statistics.median(site_s) if site_s else None,
                "reasons": sorted(set(y for x in g if not x["named"] for y in x.get("reasons", [])))}

    def measure_watch_cost(self, interp):
        """us per hit of a write watchpoint on interp (bench/watch_cost.py); sets interp.watch_us (None:
        not measured, the reason in the notes)."""
        interp.watch_us = None
        for attempt in range(10):
            try:
                out = subprocess.run([interp.path, WATCH_COST_SRC, "20000", "5"], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, universal_newlines=True, timeout=120).stdout
            except (OSError, subprocess.TimeoutExpired) as e:
                out = str(e)
            if "No space left" not in out and "busy" not in out:
                break
            time.sleep(3)  # the 4 debug registers are shared by the host: another watch holds them now
        m = WATCH_COST_RE.search(out)
        if m:
            interp.watch_us = float(m.group(1))
            log("%s: a watchpoint hit costs the writer %.2f us (trap and perf handling, %s appends)" %
                (interp.label, interp.watch_us, m.group(2)))
        else:
            self.notes.append("%s: watchpoint hit cost not measured: %s" % (interp.label, out.strip()[-200:]))

    def cost(self, interp, wl, config, key):
        """Median over runs of a cost-stats figure (user/burst.c's exit line), None if never reported."""
        v = [r["cost"][key] for r in self.results.get((interp.path, wl, config), []) if key in r.get("cost", {})]
        return statistics.median(v) if v else None

    def pmw_cpu(self, interp, wl, config):
        v = [r["pmw_cpu_pct"] for r in self.results.get((interp.path, wl, config), []) if "pmw_cpu_pct" in r]
        return statistics.median(v) if v else None

    def walk_ms_per_gib(self, interp, wl, config, key="walk_cpu_s"):
        """CPU ms of the last heap walk per GiB of target memory it read (median over runs); with
        key walk_copy_s, of it the process_vm_readv copies."""
        v = [1e3 * r["cost"].get(key, 0) / (r["cost"]["walk_read_bytes"] / 2.0 ** 30)
             for r in self.results.get((interp.path, wl, config), [])
             if r.get("cost", {}).get("walk_read_bytes") and r["cost"].get("walks")]
        return statistics.median(v) if v else None

    def burst_figures(self, interp, wl, config):
        """(bursts, burst s, probes-on s, target CPU s charged to bursts, target CPU s of work,
        charged/work): medians."""
        keys = ("bursts", "burst_s", "probes_s", "lost_s", "work_s")
        vals = [self.cost(interp, wl, config, k) for k in keys]
        runs = [r["cost"] for r in self.results.get((interp.path, wl, config), []) if r.get("cost", {}).get("work_s")]
        share = statistics.median([c["lost_s"] / c["work_s"] for c in runs]) if runs else None
        return vals + [share]

    def exact_counts(self, interp, wl):
        """(allocs, frees, precision) of the exact runs (median over reps)."""
        runs = [r for r in self.results.get((interp.path, wl, "exact"), []) if r.get("csv")]
        if not runs:
            return None
        return (statistics.median([r["csv"]["allocs"] for r in runs]),
                statistics.median([r["csv"]["frees"] for r in runs]),
                runs[0]["csv"]["precision"])

    def alloc_rate(self, interp, wl):
        """(allocs/s of the plain workload, source note) from an exact run's counts."""
        sources = [interp] + [i for i in self.interps if i is not interp and i.minor == interp.minor]
        for src in sources:
            c = self.exact_counts(src, wl)
            small = self.median(src, wl, SMALL)
            if c and c[2] == "exact" and small:
                return c[0] / small, (None if src is interp else src.label)
        return None, None

    def floor(self, interp, wl):
        """Physical floor of --exact: 1 + hits x uprobe cost / plain time."""
        c = self.exact_counts(interp, wl)
        small = self.median(interp, wl, SMALL)
        if not c or c[2] != "exact" or not small or not self.uprobe:
            return None
        cost = {}
        for sym in ("_PyObject_Malloc", "_PyObject_Free"):
            kind = interp.first_insn.get(sym, (0, "f_push", ""))[1]
            cost[sym] = self.uprobe.get("f_lea" if kind == "single-step" else kind)
        if None in cost.values():
            return None
        extra_s = (c[0] * cost["_PyObject_Malloc"] + c[1] * cost["_PyObject_Free"]) * 1e-6
        return 1.0 + extra_s / small

    def bpf_summary(self, interp, wl, config):
        runs = [r for r in self.results.get((interp.path, wl, config), []) if r.get("bpf")]
        out = {}
        for prog in sorted(set(p for r in runs for p in r["bpf"])):
            vals = [r["bpf"][prog] for r in runs if prog in r["bpf"]]
            out[prog] = (statistics.median([v[0] for v in vals]), statistics.median([v[2] for v in vals]))
        return out

    def write_csv(self, interps, workloads, configs):
        path = self.args.csv
        fields = ["kind", "set", "interpreter", "python", "path", "workload", "config", "scale", "reps", "median_s",
                  "min_s", "max_s", "ratio", "ratio_base", "allocs_per_s", "allocs_per_s_from", "exact_allocs",
                  "exact_frees", "precision", "floor", "exact_over_floor", "pool_refills", "attach_s",
                  "bpf_ns_per_run", "pmw_cpu_pct", "walks", "walk_ms_per_gib", "bursts", "burst_s", "probes_s",
                  "lost_s", "work_s", "pair_ratio", "pairs", "watch_arms", "watch_hits", "hits_timed", "hits_per_watch",
                  "us_per_hit", "hits_ms", "site_named", "site_s", "value", "unit", "note"]
        rows = []
        plan = with_refs(configs)
        for interp in interps:
            for wl in workloads:
                rate, rate_src = self.alloc_rate(interp, wl)
                if (interp.path, wl) in self.skipped:
                    rows.append({"kind": "overhead", "interpreter": interp.label, "python": interp.version,
                                 "path": interp.path, "workload": wl, "reps": 0,
                                 "note": "skipped: " + self.skipped[(interp.path, wl)]})
                    continue
                for config in plan:
                    runs = self.results.get((interp.path, wl, config), [])
                    v = self.elapsed_list(interp, wl, config)
                    if not runs and config not in self.unsupported:
                        continue
                    row = {"kind": "overhead", "interpreter": interp.label, "python": interp.version,
                           "path": interp.path, "workload": wl, "config": config, "reps": len(v)}
                    if config in self.unsupported:
                        row["note"] = "skipped: " + self.unsupported[config]
                    errs = [r["error"] for r in runs if "error" in r]
                    if errs:
                        row["note"] = "%d failed: %s" % (len(errs), errs[0][:200])
                    if v:
                        row.update(median_s="%.6f" % statistics.median(v), min_s="%.6f" % min(v),
                                   max_s="%.6f" % max(v),
                                   scale=[r for r in runs if "scale" in r][0]["scale"])
                    if config not in ("plain", SMALL, TSMALL, LBIG):
                        r = self.ratio(interp, wl, config)
                        row["ratio"] = "%.4f" % r if r else ""
                        row["ratio_base"] = SCALED.get(config, ("plain",))[0]
                        pr, npairs = self.pair_ratio(interp, wl, config)
                        if pr:
                            row.update(pair_ratio="%.4f" % pr, pairs=npairs)
                    if config == "leaking":
                        g = self.growth_figures(interp, wl)
                        for col, key, f in (("watch_arms", "arms", "%g"), ("watch_hits", "hits", "%g"),
                                            ("hits_timed", "hits_timed", "%g"),
                                            ("hits_per_watch", "per_watch", "%.2f"), ("us_per_hit", "per_hit_us", "%.3f"),
                                            ("hits_ms", "ms", "%.3f"), ("site_s", "site_s", "%.1f")):
                            if g and g.get(key) is not None:
                                row[col] = f % g[key]
                        if g:
                            row["site_named"] = "%d/%d" % (g["named"], g["runs"])
                    if config == "plain" and rate:
                        row["allocs_per_s"] = "%.0f" % rate
                        row["allocs_per_s_from"] = rate_src or interp.label
                    if config == "exact":
                        c = self.exact_counts(interp, wl)
                        if c:
                            row.update(exact_allocs=c[0], exact_frees=c[1], precision=c[2])
                        fl = self.floor(interp, wl)
                        r = self.ratio(interp, wl, "exact")
                        if fl:
                            row["floor"] = "%.3f" % fl
                            if r:
                                row["exact_over_floor"] = "%.3f" % (r / fl)
                    if config in ("full", "exact"):
                        pr = [x["csv"]["pool_refills"] for x in runs if x.get("csv")]
                        if pr:
                            row["pool_refills"] = statistics.median(pr)
                        b = self.bpf_summary(interp, wl, config)
                        if b:
                            row["bpf_ns_per_run"] = ";".join("%s=%.1f/%d" % (p, ns, n) for p, (n, ns) in b.items())
                    if config in PMW_CONFIGS:
                        cpu = self.pmw_cpu(interp, wl, config)
                        if cpu is not None:
                            row["pmw_cpu_pct"] = "%.2f" % cpu
                        for col, key in (("walks", "walks"), ("bursts", "bursts"), ("burst_s", "burst_s"),
                                         ("probes_s", "probes_s"), ("lost_s", "lost_s"), ("work_s", "work_s")):
                            v = self.cost(interp, wl, config, key)
                            if v is not None:
                                row[col] = "%g" % round(v, 4)
                        g = self.walk_ms_per_gib(interp, wl, config)
                        if g is not None:
                            row["walk_ms_per_gib"] = "%.0f" % g
                    at = [x["attach_s"] for x in runs if "attach_s" in x]
                    if at:
                        row["attach_s"] = "%.3f" % statistics.median(at)
                    rows.append(row)
        for fn, desc, n in UPROBE_FUNCS:
            if self.uprobe and fn in self.uprobe:
                rows.append({"kind": "uprobe_cost", "workload": "uprobe_cost", "config": fn,
                             "value": "%.3f" % self.uprobe[fn], "unit": "us/hit", "note": desc})
        for o in self.own:
            for k, unit in (("attach_s", "s"), ("cpu_pct", "%"), ("hwm_kib", "KiB"), ("detach_s", "s")):
                if o.get(k) is not None:
                    rows.append({"kind": "own_cost", "interpreter": o["label"], "path": o["python"],
                                 "workload": "idle x%d" % o["n"], "config": k, "value": o[k], "unit": unit,
                                 "note": o.get("note", "")})
        for row in rows:
            row["set"] = self.set_name
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)

    # ------------------------------------------------------------ uprobe cost

    def measure_uprobe(self, reps):
        """us per uprobe hit, by first-instruction kind; {} if it cannot be measured."""
        self.uprobe = {}
        cc = shutil.which("cc") or shutil.which("gcc")
        perf = shutil.which("perf")
        if not cc or not perf:
            self.notes.append("uprobe cost not measured: %s missing (apt-get install linux-perf / gcc)" %
                              ("perf" if not perf else "cc"))
            return
        exe = os.path.join(self.tmp, "uprobe_cost")
        r = subprocess.run([cc, "-O2", "-o", exe, UPROBE_SRC], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        if r.returncode != 0:
            self.notes.append("uprobe_cost.c did not build: " + r.stdout[-200:])
            return
        group = "probe_uprobe_cost"
        subprocess.run([perf, "probe", "-q", "-d", group + ":*"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        try:
            for fn, desc, n in UPROBE_FUNCS:
                r = subprocess.run([perf, "probe", "-q", "-x", exe, fn], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, universal_newlines=True)
                if r.returncode != 0:
                    self.notes.append("perf probe %s failed: %s" % (fn, r.stdout.strip()[-200:]))
                    continue
                base, probed = [], []
                for _ in range(reps):
                    out = subprocess.run([exe, fn, str(n)], stdout=subprocess.PIPE, universal_newlines=True)
                    base.append(float(out.stdout.split()[2]))
                    out = subprocess.run([perf, "stat", "-x,", "-e", "%s:%s" % (group, fn), "--", exe, fn, str(n)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
                    hits = 0
                    for line in out.stderr.split("\n"):
                        parts = line.split(",")
                        if len(parts) > 2 and parts[2].endswith(fn) and parts[0].isdigit():
                            hits = int(parts[0])
                    if out.returncode != 0 or hits < n:
                        self.notes.append("perf stat on %s: %d hits of %d (%s)" % (fn, hits, n, out.stderr.strip()[-120:]))
                        break
                    probed.append(float(out.stdout.split()[2]))
                if probed:
                    self.uprobe[fn] = (statistics.median(probed) - statistics.median(base)) / 1000.0
                    log("uprobe cost %-7s %-28s %.3f us/hit (no probe: %.2f ns/call)" %
                        (fn, desc, self.uprobe[fn], statistics.median(base)))
        finally:
            subprocess.run([perf, "probe", "-q", "-d", group + ":*"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    # ------------------------------------------------------------ own cost

    def measure_own_cost(self, python, sizes, duration):
        self.own = []
        clk = os.sysconf("SC_CLK_TCK")
        for n in sizes:
            idle, pp = [], None
            rec = {"n": n, "python": python, "label": "%s idle x%d" % (python, n)}
            try:
                for _ in range(n):
                    p = subprocess.Popen([python, "-c", "import time; print('ok', flush=True); time.sleep(600)"],
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                         universal_newlines=True, start_new_session=True)
                    idle.append(p)
                    self.children.append(p)
                for p in idle:
                    if p.stdout.readline().strip() != "ok":
                        raise RunError("an idle interpreter did not start")
                pids = ",".join(str(p.pid) for p in idle)
                t0 = time.monotonic()
                pp = subprocess.Popen([self.pmw, "-p", pids, "-i", "1", "-q"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, universal_newlines=True,
                                      start_new_session=True)
                self.children.append(pp)
                perr = Lines(pp.stderr)
                if perr.wait_for("pymemwatch: watching", WATCH_TIMEOUT * max(1, n / 20)) is None:
                    raise RunError("pymemwatch never said 'watching' (exit %s): %s" %
                                   (stop(pp), " | ".join(perr.drain())[-300:]))
                rec["attach_s"] = "%.3f" % (time.monotonic() - t0)
                c0, w0 = self._cpu_ticks(pp.pid), time.monotonic()
                time.sleep(duration)
                c1, w1 = self._cpu_ticks(pp.pid), time.monotonic()
                rec["cpu_pct"] = "%.2f" % ((c1 - c0) / clk / (w1 - w0) * 100.0)
                rec["hwm_kib"] = self._vmhwm(pp.pid)
                t1 = time.monotonic()
                rc = stop(pp, signal.SIGINT, timeout=60)
                rec["detach_s"] = "%.3f" % (time.monotonic() - t1)
                if rc != 0:
                    rec["note"] = "exit status %s" % rc
                log("own cost, %3d idle: attach %s s, CPU %s%%, peak RSS %s KiB, detach %s s" %
                    (n, rec["attach_s"], rec["cpu_pct"], rec["hwm_kib"], rec["detach_s"]))
            except (RunError, OSError) as e:
                rec["note"] = str(e)
                log("own cost with %d idle interpreters FAILED: %s" % (n, e))
            finally:
                stop(pp, signal.SIGKILL)
                for p in idle:
                    stop(p, signal.SIGKILL)
                self.children = [c for c in self.children if c.poll() is None]
            self.own.append(rec)

    # a heap of about @gib GiB: 4.4 M (str, float, [int]) tuples per GiB, ~240 B each in blocks
    SNAPSHOT_HEAP = ("import sys, time\nn = int(4.4e6 * float(sys.argv[1]))\n"
                     "L = [(str(i) * 2, i * 0.5, [i]) for i in range(n)]\n"
                     "print('ok', flush=True)\ntime.sleep(600)\n")

    def measure_snapshot(self, python, gib):
        """`pymemwatch snapshot -p PID --json` once on a target holding ~@gib GiB of objects:
        its CPU time (utime + stime, from wait4) and wall time, and whether the target ran on."""
        self.snap = {"python": python, "gib": gib}
        p = None
        try:
            p = subprocess.Popen([python, "-c", self.SNAPSHOT_HEAP, str(gib)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                 universal_newlines=True, start_new_session=True)
            self.children.append(p)
            if p.stdout.readline().strip() != "ok":
                raise RunError("the heap target did not start")
            t0, r0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
            pp = subprocess.Popen([self.pmw, "snapshot", "-p", str(p.pid), "--json"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True)
            out, err = pp.communicate(timeout=600)
            wall, r1 = time.monotonic() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
            if pp.returncode:
                raise RunError("snapshot exit %s: %s" % (pp.returncode, err.strip()[-300:]))
            line = json.loads(out.splitlines()[0])
            self.snap.update(wall_s=wall, heap_bytes=line["heap_bytes"], objects=line["objects"],
                             walk_cpu_s=line["walk_cpu_s"], walk_wall_s=line["walk_wall_s"],
                             cpu_s=r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime,
                             alive=p.poll() is None, load=load1())
            log("snapshot of %.2f GiB: %.2f s wall, %.2f s CPU (walk %.2f s CPU)" %
                (line["heap_bytes"] / 2.0 ** 30, wall, self.snap["cpu_s"], line["walk_cpu_s"]))
        except (RunError, OSError, ValueError, KeyError, IndexError, subprocess.TimeoutExpired) as e:
            self.snap["note"] = str(e)
            log("snapshot measurement FAILED: %s" % e)
        finally:
            if p:
                stop(p, signal.SIGKILL)

    @staticmethod
    def _cpu_ticks(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)

    @staticmethod
    def _vmhwm(pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def cleanup(self):
        for c in self.children:
            stop(c, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- report

def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt_ratio(r):
    if r is None:
        return "-"
    return "%.0fx" % r if r >= 100 else ("%.1fx" % r if r >= 10 else "%.3f" % r)


def fmt_rate(r):
    if r is None:
        return "-"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if r >= div:
            return "%.1f%s" % (r / div, suf)
    return "%.0f" % r


MARKDOWN = []  # every table printed, as Markdown (--markdown)


def emit_note(text):
    """A note under the last table, on stdout and in its Markdown."""
    sys.stdout.write("  note: %s\n" % text)
    if MARKDOWN:
        MARKDOWN[-1] += "\n%s\n" % text


def print_table(title, header, rows, out=sys.stdout):
    MARKDOWN.append("%s\n\n| %s |\n|%s\n" % (title, " | ".join(str(h) for h in header), "---|" * len(header)) +
                    "".join("| %s |\n" % " | ".join(str(c) for c in row) for row in rows))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    out.write("\n%s\n" % title)
    line = "  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(header, widths)))
    out.write(line + "\n" + "-" * len(line) + "\n")
    for row in rows:
        out.write("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))) + "\n")


def report(b, interps, workloads, configs):
    ratio_cols = [c for c in configs if c != "plain"]
    na = "n/a"
    for interp in interps:
        rows = []
        skipped = [wl for wl in workloads if (interp.path, wl) in b.skipped]
        if len(skipped) == len(workloads):
            sys.stdout.write("\nCost to the target, set %s, %s (%s): skipped, no workload runs there (%s)\n" %
                             (b.set_name, interp.label, interp.path, b.skipped[(interp.path, skipped[0])]))
            continue
        for wl in workloads:
            if wl in skipped:
                continue
            rate, src = b.alloc_rate(interp, wl)
            plain = b.median(interp, wl, "plain")
            rows.append([wl] + [na if c == "exact" and interp.exact_ok is False else fmt_ratio(b.ratio(interp, wl, c))
                                for c in ratio_cols] +
                        ["%.3f" % plain if plain else "-", fmt_rate(rate) + ("*" if src else "")])
        rows.append(["geomean"] + [na if c == "exact" and interp.exact_ok is False else
                                   fmt_ratio(geomean([b.ratio(interp, wl, c) for wl in workloads]))
                                   for c in ratio_cols] + ["", ""])
        print_table("Cost to the target, set %s, %s (%s): time of the timed section / plain (median of %d)" %
                    (b.set_name, interp.label, interp.path, b.args.reps),
                    ["workload"] + ratio_cols + ["plain s", "allocs/s"], rows)
        foot = []
        spreads = []
        for wl in workloads:
            v = b.elapsed_list(interp, wl, "plain")
            if len(v) > 1:
                spreads.append((max(v) - min(v)) / statistics.median(v))
        if spreads:
            foot.append("noise: plain runs spread (max-min)/median %.0f%% (median over workloads, worst %.0f%%); "
                        "ratios closer to 1 than that are not significant" %
                        (100 * statistics.median(spreads), 100 * max(spreads)))
        if "exact" in configs:
            foot.append("exact is run at --scale %g of the work and divided by plain at that scale" %
                        (b.args.scale * SCALE_OF["exact"]))
            if interp.exact_ok is False:
                foot.append("exact n/a: --exact is not available on this interpreter (LTO, pymalloc inlined); "
                            "pymemwatch reported estimates on the first exact run, so exact was not run further")
        if "tracemalloc" in configs:
            foot.append("tracemalloc is run at --scale %g of the work and divided by plain at that scale" %
                        (b.args.scale * SCALE_OF["tracemalloc"]))
        if any(b.alloc_rate(interp, wl)[1] for wl in workloads):
            srcs = set(b.alloc_rate(interp, wl)[1] for wl in workloads) - {None}
            foot.append("allocs/s*: pymalloc allocations per second of plain run time, counted by --exact on %s "
                        "(same workload; this interpreter's allocation count cannot be read exactly)" %
                        ", ".join(sorted(srcs)))
        elif any(b.alloc_rate(interp, wl)[0] for wl in workloads):
            foot.append("allocs/s: pymalloc allocations per second of plain run time, counted by --exact")
        att = []
        for c in ratio_cols:
            v = [x["attach_s"] for wl in workloads for x in b.results.get((interp.path, wl, c), []) if "attach_s" in x]
            if v:
                att.append("%s %.2f s" % (c, statistics.median(v)))
        if att:
            foot.append("pymemwatch attach (start to 'watching'), median: " + ", ".join(att))
        for c in ratio_cols:
            if c in b.unsupported:
                foot.append("%s: skipped, %s" % (c, b.unsupported[c]))
        for wl in skipped:
            foot.append("%s: skipped on this interpreter, %s" % (wl, b.skipped[(interp.path, wl)]))
        for f in foot:
            emit_note(f)

    if "exact" in configs:
        for interp in interps:
            if interp.exact_ok is not True:
                sys.stdout.write("\nPhysical floor of --exact, %s: n/a (no exact counts on this interpreter)\n"
                                 % interp.label)
                continue
            rows = []
            for wl in workloads:
                if (interp.path, wl) in b.skipped:
                    continue
                c = b.exact_counts(interp, wl)
                fl = b.floor(interp, wl)
                r = b.ratio(interp, wl, "exact")
                small = b.median(interp, wl, SMALL)
                rows.append([wl, "%d" % c[0] if c else "-", "%d" % c[1] if c else "-",
                             "%.4f" % small if small else "-", fmt_ratio(fl), fmt_ratio(r),
                             "%.2f" % (r / fl) if r and fl else "-"])
            ins = "; ".join("%s probed at instruction %d '%s' (hit cost as %s)" % (s, v[0], v[2], v[1] if v[1] !=
                            "single-step" else "f_lea, single-stepped") for s, v in sorted(interp.first_insn.items()))
            print_table("Physical floor of --exact, set %s, %s: 1 + (allocs x malloc hit + frees x free hit) / plain time" %
                        (b.set_name, interp.label), ["workload", "allocs", "frees", "plain s", "floor", "exact", "exact/floor"],
                        rows)
            if ins:
                sys.stdout.write("  note: %s\n" % ins)

    if "leaking" in configs:
        report_leaking(b, interps, workloads)
    if "profile" in configs:
        report_profile(b, interps, workloads)
    report_walks(b, interps, workloads, configs)

    if b.uprobe:
        rows = [[fn, desc, "%.3f" % b.uprobe[fn]] for fn, desc, n in UPROBE_FUNCS if fn in b.uprobe]
        print_table("Cost of one uprobe hit on this machine (perf probe + perf stat, bench/uprobe_cost.c)",
                    ["function", "first instruction", "us/hit"], rows)

    bpf_rows = []
    for interp in interps:
        for config in ("full", "exact"):
            per = {}  # program -> [(runs, ns/run)] over workloads
            for wl in workloads:
                for prog, (runs, ns) in b.bpf_summary(interp, wl, config).items():
                    if runs:
                        per.setdefault(prog, []).append((runs, ns))
            for prog, v in sorted(per.items()):
                tot = sum(r for r, n in v)
                ns = [n for r, n in v]
                wavg = sum(r * n for r, n in v) / tot
                bpf_rows.append([interp.label, config, prog, len(v), "%d" % tot, "%.0f" % wavg,
                                 "%.0f" % min(ns), "%.0f" % max(ns)])
    if bpf_rows:
        print_table("BPF programs (--bpf-stats on the full and exact runs): ns per run, over the workloads "
                    "(per workload in the CSV, bpf_ns_per_run)",
                    ["interpreter", "config", "program", "workloads", "runs", "ns/run", "min", "max"], bpf_rows)
        sys.stdout.write("  note: runs = sum over workloads of the median per run; ns/run weighted by runs; "
                         "min/max over workloads. exact runs do 1/100 of the work\n")
    elif not b.features["bpf_stats"]:
        sys.stdout.write("\nBPF per-program cost: skipped, this pymemwatch has no --bpf-stats\n")

    if b.own:
        rows = [[o["n"], o.get("attach_s", "-"), o.get("cpu_pct", "-"),
                 "%.1f" % (o["hwm_kib"] / 1024.0) if o.get("hwm_kib") else "-", o.get("detach_s", "-"),
                 o.get("note", "")] for o in b.own]
        print_table("pymemwatch's own cost: -i 1 -q on N idle %s (CPU over %g s after attach)" %
                    (b.own[0]["python"], b.args.own_duration),
                    ["N", "attach s", "CPU %", "peak RSS MiB", "detach s", "note"], rows)
    if getattr(b, "snap", None):
        sn = b.snap
        rows = [[sn["python"], "%.2f" % (sn.get("heap_bytes", 0) / 2.0 ** 30), sn.get("objects", "-"),
                 fmt_opt(sn.get("walk_cpu_s"), "%.2f"), fmt_opt(sn.get("cpu_s"), "%.2f"),
                 fmt_opt(sn.get("wall_s"), "%.2f"), {True: "yes", False: "NO"}.get(sn.get("alive"), "-"),
                 fmt_opt(sn.get("load"), "%.2f"), sn.get("note", "")]]
        print_table("pymemwatch snapshot on a ~%g GiB heap (one run; CPU = its utime+stime)" % sn["gib"],
                    ["interpreter", "heap GiB", "objects", "walk CPU s", "CPU s", "wall s", "target ran on",
                     "load", "note"], rows)
    for n in b.notes:
        sys.stdout.write("note: %s\n" % n)
    if b.loads:
        sys.stdout.write("note: load average (1 min) after each workload: min %.2f, median %.2f, max %.2f "
                         "on %d CPUs%s\n" % (min(b.loads), statistics.median(b.loads), max(b.loads),
                                             os.cpu_count() or 0,
                          "; other work was running, so the ratios are noisier than usual"
                          if max(b.loads) > 1.5 else ""))
    sys.stdout.write("\nCSV: %s\n" % b.args.csv)


def fmt_opt(v, f):
    return "-" if v is None else f % v


def report_leaking(b, interps, workloads):
    """What finding a leak costs the target: the leaking configuration (heap walks, holders, growth sites)
    against the same leaking workload unwatched, with the growth sites' watches and hits."""
    for interp in interps:
        rows = []
        for wl in workloads:
            if wl not in b.leak_workloads or (interp.path, wl) in b.skipped:
                continue
            pr, npairs = b.pair_ratio(interp, wl, "leaking")
            g = b.growth_figures(interp, wl) or {}
            rows.append([wl, fmt_ratio(b.ratio(interp, wl, "leaking")), fmt_ratio(pr), npairs,
                         fmt_opt(g.get("arms"), "%.0f"), fmt_opt(g.get("hits"), "%.0f"),
                         fmt_opt(g.get("hits_timed"), "%.0f"),
                         fmt_opt(g.get("per_watch"), "%.1f"), fmt_opt(g.get("per_hit_us"), "%.1f"),
                         fmt_opt(g.get("ms"), "%.1f"), fmt_opt(g.get("share") and 100 * g["share"], "%.2f%%"),
                         "%d/%d" % (g["named"], g["runs"]) if g else "-", fmt_opt(g.get("site_s"), "%.0f"),
                         fmt_opt(b.pmw_cpu(interp, wl, "leaking"), "%.1f%%")])
        if not rows:
            continue
        lw = [wl for wl in workloads if wl in b.leak_workloads]
        rows.append(["geomean", fmt_ratio(geomean([b.ratio(interp, wl, "leaking") for wl in lw])),
                     fmt_ratio(geomean([b.pair_ratio(interp, wl, "leaking")[0] for wl in lw]))] + [""] * 11)
        print_table("Cost while a leak is found and its site named (leaking: default pymemwatch -p on a leaking "
                    "target), set %s, %s: time / the same leaking workload unwatched (%d reps)" %
                    (b.set_name, interp.label, b.args.reps),
                    ["workload", "leaking", "paired", "pairs", "watches", "hits", "in timed", "hits/watch", "us/hit",
                     "hits ms", "of timed", "site named", "site at s", "pmw CPU"], rows)
        emit_note("the workload leaks %g KiB/s of small dicts into a module global list; pymemwatch watched it "
                  "working and leaking for %g s before the timed section (%g x the work); bound (issue 17): "
                  "leaking <= 1.02 on a quiet machine" % (LEAK_KIB, LEAK_PREROLL, LEAK_SCALE))
        emit_note("leaking: median time / median unwatched; paired: median over rounds of the ratio of the two "
                  "runs of one round, run back to back (AB, then BA in the next round), which cancels slow drifts of "
                  "the machine; pairs: rounds with both runs")
        emit_note("growth sites, from pymemwatch's --json leak lines over the whole watch (pre-roll included), "
                  "medians over runs: watches: times a leak's length field was armed (summed over leaks); hits: "
                  "writes caught (each arming stops after 16 per CPU); us/hit: what one hit costs the writer, "
                  "the trap and perf handling measured in this session by bench/watch_cost.py (%s appends to "
                  "a list, with and without a write breakpoint on its length) plus pmw_growth_hit's ns/run "
                  "from --bpf-stats; hits ms: hits x us/hit, the target time they cost; in timed: the hits after the "
                  "last JSON line before the timed section (so up to one interval early); of timed: those x "
                  "us/hit / the timed section; site named: runs whose leak "
                  "row named a site; site at s: seconds from the first JSON line (1 interval after attach) to "
                  "the first named site; pmw CPU: pymemwatch's CPU time over the timed section, percent of one "
                  "CPU" % "20000")
        if getattr(interp, "watch_us", None) is None:
            emit_note("us/hit, hits ms: n/a, the watchpoint hit cost could not be measured on %s" % interp.label)
        for wl in lw:
            g = b.growth_figures(interp, wl)
            if g and g["named"] < g["runs"]:
                emit_note("%s: %d run(s) named no site%s" % (wl, g["runs"] - g["named"], (": " + "; ".join(
                    g["reasons"])) if g["reasons"] else " (no reason given: the leak was not ranked and watched "
                    "in time)"))


def report_profile(b, interps, workloads):
    """What the sampled allocation profile (--alloc-profile always, default budget) costs the target,
    with the burst figures pymemwatch measured itself (cost-stats)."""
    for interp in interps:
        rows = []
        for wl in workloads:
            if wl not in b.leak_workloads or (interp.path, wl) in b.skipped:
                continue
            n, burst_s, probes_s, lost_s, work_s, share = b.burst_figures(interp, wl, "profile")
            pr, npairs = b.pair_ratio(interp, wl, "profile")
            per = lost_s / n if lost_s is not None and n else None
            rows.append([wl, fmt_ratio(b.ratio(interp, wl, "profile")), fmt_ratio(pr),
                         fmt_ratio(b.ratio(interp, wl, "leaking")),
                         fmt_opt(n, "%.0f"), fmt_opt(b.cost(interp, wl, "profile", "bursts_budget"), "%.0f"),
                         fmt_opt(burst_s, "%.1f"), fmt_opt(probes_s, "%.1f"), fmt_opt(per, "%.3f"),
                         fmt_opt(share and 1 + share, "%.3f"), fmt_opt(b.pmw_cpu(interp, wl, "profile"), "%.1f%%")])
        if not rows:
            continue
        lw = [wl for wl in workloads if wl in b.leak_workloads]
        rows.append(["geomean", fmt_ratio(geomean([b.ratio(interp, wl, "profile") for wl in lw])),
                     fmt_ratio(geomean([b.pair_ratio(interp, wl, "profile")[0] for wl in lw])),
                     fmt_ratio(geomean([b.ratio(interp, wl, "leaking") for wl in lw]))] + [""] * 7)
        print_table("Cost of the sampled allocation profile (profile: leaking + --alloc-profile always, default "
                    "budget), set %s, %s: time / the same leaking workload unwatched (%d reps)" %
                    (b.set_name, interp.label, b.args.reps),
                    ["workload", "profile", "paired", "leaking", "bursts", "over budget", "sampled s", "probes on s",
                     "lost s/burst", "slowdown (pmw)", "pmw CPU"], rows)
        emit_note("profile: the leaking configuration (same workload, leak, %g s pre-roll while it works, %g x "
                  "the work) with the profile's bursts on from the start; leaking: the same without them (- if not "
                  "run), so profile / leaking is the profile's own cost; paired: median over rounds of profile / "
                  "the unwatched run of the same round; bursts: started during the watch; over budget: bursts skipped because the "
                  "last ones cost more than --alloc-profile-budget allows; sampled s: stacks sampled; probes on "
                  "s: free probes attached, from attach to the end of their asynchronous detach; lost s/burst: "
                  "the target's CPU time while they were on, per burst; slowdown (pmw): 1 + that / its CPU time "
                  "outside bursts, what --alloc-profile-budget bounds, over the whole watch (medians)" %
                  (LEAK_PREROLL, LEAK_SCALE))
        emit_note("a busy target earns a burst only every ~40 s of its CPU at the default 5%%, so a run may "
                  "have none (bursts 0, over budget > 0): then profile ~ leaking. What one burst costs: "
                  "--configs profile --pmw-extra '--alloc-profile-budget 10000' (lost s/burst)")


def report_walks(b, interps, workloads, configs):
    """Heap walks: how many ran, their CPU time per GiB of heap, and the slowdown while they ran."""
    cols = [c for c in WALK_CONFIGS if c in configs]
    if not cols:
        return
    for interp in interps:
        rows = []
        for wl in workloads:
            if (interp.path, wl) in b.skipped:
                continue
            row = [wl]
            for c in cols:
                walks = b.cost(interp, wl, c, "walks")
                row += [fmt_ratio(b.ratio(interp, wl, c)), fmt_opt(walks, "%.0f"),
                        fmt_opt(b.pmw_cpu(interp, wl, c), "%.1f%%")]
            mib = [r["cost"]["walk_read_bytes"] / 2.0 ** 20 for c in cols
                   for r in b.results.get((interp.path, wl, c), []) if r.get("cost", {}).get("walks")]
            gib = [g for g in (b.walk_ms_per_gib(interp, wl, c) for c in cols) if g is not None]
            cp = [g for g in (b.walk_ms_per_gib(interp, wl, c, "walk_copy_s") for c in cols) if g]
            row += [fmt_opt(statistics.median(mib) if mib else None, "%.1f"),
                    fmt_opt(statistics.median(gib) if gib else None, "%.0f"),
                    fmt_opt(statistics.median(cp) if cp else None, "%.0f")]
            rows.append(row)
        if not rows:
            continue
        rows.append(["geomean"] + sum([[fmt_ratio(geomean([b.ratio(interp, wl, c) for wl in workloads])), "", ""]
                                       for c in cols], []) + ["", "", ""])
        print_table("Heap walks, set %s, %s: slowdown while walks run (time / plain), walks completed per run, "
                    "pymemwatch CPU, heap read per walk, walk CPU ms per GiB" % (b.set_name, interp.label),
                    ["workload"] + sum([[c, "walks", "pmw CPU"] for c in cols], []) +
                    ["MiB/walk", "ms/GiB", "copy ms/GiB"], rows)
        emit_note("walks run in pymemwatch within --walk-budget (default 5%% of one CPU), never stopping the "
                  "target; bound (issue 11): <= 1.02 while walks run. walks: completed during the whole watch "
                  "(%s); MiB/walk: target memory the last walk read; ms/GiB: its CPU time per GiB read; copy ms/GiB: "
                  "of it, the process_vm_readv copies of that memory (the floor of a walk from outside); pmw CPU: "
                  "over the timed section, percent of one CPU (medians)" %
                  ("leaking includes its %g s before the timed section" % LEAK_PREROLL if "leaking" in cols else
                   "attach to exit"))


def measure_big_walks(args, python):
    """The big-heap and many-target walk tables' runs (scripts/bench_walks.py)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_walks
    gibs = args.walk_gib if args.walk_gib is not None else ("1" if args.quick else "1,4")
    n = args.walk_many if args.walk_many is not None else (20 if args.quick else 100)
    big, many = [], None
    for g in [float(x) for x in gibs.split(",") if x.strip()]:
        try:
            big.append(bench_walks.big_heap(args.pymemwatch, python, g, log))
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            big.append({"want": g, "note": str(e)})
            log("big-heap walk of %g GiB FAILED: %s" % (g, e))
    if n:
        try:
            many = bench_walks.many(args.pymemwatch, python, n, log)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            many = {"n": n, "note": str(e)}
            log("-a over %d targets FAILED: %s" % (n, e))
    return big, many


def report_big_walks(big, many):
    """Walks on heaps of GiB (bench_walks.big_heap) and -a over many targets (bench_walks.many)."""
    if big:
        rows = [[("%.2f" % r["gib"]) if "gib" in r else r.get("want", "-"), fmt_opt(r.get("walks"), "%d"),
                 fmt_opt(r.get("cpu_ms_gib"), "%.0f"), fmt_opt(r.get("copy_ms_gib"), "%.0f"),
                 fmt_opt(r.get("ratio"), "%.1fx"), fmt_opt(r.get("latency_s"), "%.1f"),
                 fmt_opt(r.get("rss_mib"), "%.0f"), r.get("note", "")] for r in big]
        print_table("Heap walks on big heaps (Debian 3.11, default --walk-budget): walk CPU per GiB against the "
                    "process_vm_readv copy of the same memory in the same walks, and the time to rank a leak",
                    ["GiB", "walks", "walk ms/GiB", "copy ms/GiB", "walk/copy", "leak ranked (s)",
                     "pmw RSS MiB", "note"], rows)
        emit_note("bench_walks.big_heap: per walk, pymemwatch -v's CPU time and, of it, the CPU time in "
                  "process_vm_readv (medians over the walks); leak ranked: seconds from the target starting to "
                  "grow a module list of 16 items, known from the first walk, by 500 items/s to its first "
                  "--csv-leaks row; pmw RSS: pymemwatch's RSS watching that one target; issue 18's bound: "
                  "walk/copy <= 3, leak ranked within 30 s on 4 GiB")
    if many:
        lat = many.get("latency") or []
        print_table("-a over many targets (default --walk-budget, --mode heap)",
                    ["targets", "listed", "leaking", "ranked", "latency min/median/max s", "pmw CPU",
                     "pmw peak RSS MiB", "note"],
                    [[many.get("n", "-"), many.get("listed", "-"), many.get("leaking", "-"), many.get("ranked", "-"),
                      "%.0f/%.0f/%.0f" % (lat[0], statistics.median(lat), lat[-1]) if lat else "-",
                      fmt_opt(many.get("cpu_pct"), "%.1f%%"), fmt_opt(many.get("rss_mib"), "%.0f"),
                      many.get("note", "")]])
        emit_note("bench_walks.many: small targets (~5 MB each), one in ten starts growing a module list 20 s in; "
                  "latency: from then to its first --csv-leaks row; pmw CPU: utime+stime over wall after attach, "
                  "percent of one CPU; -a also lists any other Python process of the host")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=sorted(SETS), default="workloads",
                    help="which workloads: this project's (workloads, default) or third-party programs "
                         "from Debian packages (independent)")
    ap.add_argument("--python", action="append", metavar="PATH",
                    help="interpreter to benchmark (repeatable; default: %s)" % " and ".join(DEFAULT_PYTHONS))
    ap.add_argument("--reps", type=int, help="repetitions per configuration (default 5; --quick 3)")
    ap.add_argument("--workloads", help="comma-separated subset of the set's workloads (default: all)")
    ap.add_argument("--configs", help="comma-separated subset of %s (plain is always run)" % ",".join(ALL_CONFIGS))
    ap.add_argument("--quick", action="store_true",
                    help="3 reps, 3 workloads (%s), own cost on 1 and 20 processes" %
                         "; ".join("%s: %s" % (k, ",".join(v[1])) for k, v in sorted(SETS.items())))
    ap.add_argument("--skip-own-cost", action="store_true", help="do not measure pymemwatch's own cost")
    ap.add_argument("--no-bpf-stats", action="store_true", help="do not pass --bpf-stats to full/exact runs")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload's work (default 1)")
    ap.add_argument("--snapshot-gib", type=float, default=1.0,
                    help="heap of the `pymemwatch snapshot` measurement, GiB (default 1)")
    ap.add_argument("--walk-gib", default=None, help="heap sizes (GiB) of the big-heap walk table "
                    "(default 1,4; --quick 1; empty: none)")
    ap.add_argument("--walk-many", type=int, default=None, help="targets of the -a walk table "
                    "(default 100; --quick 20; 0: none)")
    ap.add_argument("--own-duration", type=float, default=15.0, help="seconds of own-cost measurement (default 15)")
    ap.add_argument("--leak-workloads", help="comma-separated workloads the leaking configuration runs on "
                    "(default: %s)" % "; ".join("%s: %s" % (k, ",".join(v)) for k, v in sorted(LEAK_WORKLOADS.items())))
    ap.add_argument("--pmw-extra", metavar="ARGS", help="extra pymemwatch arguments for every pymemwatch "
                    "configuration, e.g. '--alloc-profile-budget 100' (experiments; the report says so)")
    ap.add_argument("--leak-scale", type=float, default=LEAK_SCALE,
                    help="work of the leaking timed section, x the workload's (default %g: ~8-20 s)" % LEAK_SCALE)
    ap.add_argument("--markdown", metavar="PATH", help="also write the report's tables as Markdown to PATH "
                    "(default ./bench-results.md; ./bench-results-SET.md for another set)")
    ap.add_argument("--csv", help="CSV output (default ./bench-results.csv; ./bench-results-SET.csv for another set)")
    ap.add_argument("--pymemwatch", default=os.path.join(ROOT, "pymemwatch"), help="binary (default ./pymemwatch)")
    args = ap.parse_args()

    wl_dir, quick_wl = SETS[args.set][:2]
    if args.csv is None:
        args.csv = "bench-results.csv" if args.set == "workloads" else "bench-results-%s.csv" % args.set
    if args.markdown is None:
        args.markdown = "bench-results.md" if args.set == "workloads" else "bench-results-%s.md" % args.set
    if args.set != "workloads" and not args.skip_own_cost:
        args.skip_own_cost = True
        log("set %s: pymemwatch's own cost does not depend on the workloads; measured with the default set only"
            % args.set)
    all_wl = sorted(f[:-3] for f in os.listdir(wl_dir) if f.endswith(".py") and not f.startswith("_"))
    if args.workloads:
        workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
        bad = [w for w in workloads if w not in all_wl]
        if bad:
            ap.error("unknown workload(s) %s; have: %s" % (",".join(bad), ",".join(all_wl)))
    else:
        workloads = quick_wl if args.quick else all_wl
    configs = ALL_CONFIGS
    if args.configs:
        want = [c.strip() for c in args.configs.split(",") if c.strip()]
        bad = [c for c in want if c not in ALL_CONFIGS]
        if bad:
            ap.error("unknown config(s) %s; have: %s" % (",".join(bad), ",".join(ALL_CONFIGS)))
        configs = [c for c in ALL_CONFIGS if c in want or c == "plain"]
    if args.reps is None:
        args.reps = 3 if args.quick else 5
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    own_sizes = [1, 20] if args.quick else OWN_COST_SIZES
    if args.quick and args.own_duration == 15.0:
        args.own_duration = 8.0
    pythons = args.python or [p for p in DEFAULT_PYTHONS if os.path.exists(p)]

    if args.leak_scale != LEAK_SCALE:
        set_leak_scale(args.leak_scale)
    b = Bench(args)
    if args.leak_workloads:
        b.leak_workloads = set(w.strip() for w in args.leak_workloads.split(",") if w.strip())
    else:
        b.leak_workloads = set((QUICK_LEAK_WORKLOADS if args.quick else LEAK_WORKLOADS)[args.set])
    if ("leaking" in configs or "profile" in configs) and not args.workloads:
        # --quick: the leaking workloads run with the leaking configuration only
        b.leak_only = set(w for w in sorted(b.leak_workloads) if w not in workloads and w in all_wl)
        workloads = workloads + sorted(b.leak_only)
    b.leak_workloads &= set(workloads)
    b.own, b.uprobe = [], {}
    interps = []
    for p in pythons:
        try:
            i = Interp(p)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            log("skipping interpreter %s: %s" % (p, e))
            continue
        i.classify_allocator()
        interps.append(i)
    if not interps:
        log("no usable interpreter")
        return 1
    b.interps = interps
    if b.probe_first:
        b.probe(interps, workloads)
        if all((i.path, wl) in b.skipped for i in interps for wl in workloads):
            log("set %s: no workload runs on any interpreter (missing packages? scripts/install-deps.sh)" % args.set)
            return 1

    pmw_ok = True
    if os.geteuid() != 0:
        pmw_ok = False
        b.notes.append("not root: pymemwatch configurations, uprobe and own cost skipped")
    elif not os.access(args.pymemwatch, os.X_OK):
        pmw_ok = False
        b.notes.append("%s not built (make): pymemwatch configurations skipped" % args.pymemwatch)
    else:
        feats, err = pmw_features(args.pymemwatch)
        if feats is None:
            pmw_ok = False
            b.notes.append("pymemwatch --help failed: %s" % err)
        else:
            b.features = feats
    if not pmw_ok:
        for c in PMW_CONFIGS:
            b.unsupported[c] = b.notes[-1]
    elif not b.features["mode"]:
        for c in ("gc", "heap"):
            if c in configs:
                b.unsupported[c] = "this pymemwatch has no --mode (full = its default, still measured)"
                log("pymemwatch has no --mode: skipping configs gc and heap")
    if pmw_ok and not b.features["bpf_stats"]:
        log("pymemwatch has no --bpf-stats: no per-program BPF table")

    run_configs = [c for c in configs if c not in b.unsupported]
    plan = with_refs(run_configs)
    est = args.reps * sum(b.est_run(wl, c) for i in interps for wl in workloads if (i.path, wl) not in b.skipped
                          for c in plan) * max(args.scale, 0.3)
    if pmw_ok:
        est += 3 * 6 + (0 if args.skip_own_cost else sum(args.own_duration + 3 + n * 0.05 for n in own_sizes))
    l0 = load1()
    if l0 is not None and l0 > 0.5:
        log("load average is %.2f before starting: other work on this machine will make results noisy" % l0)
    if args.pmw_extra:
        b.notes.append("every pymemwatch configuration ran with extra arguments: %s" % args.pmw_extra)
    log("set %s: %d interpreter(s) x %d workloads x %d reps x configs %s: about %s in all" %
        (args.set, len(interps), len(workloads), args.reps, ",".join(plan), fmt_dur(est)))

    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    try:
        if os.geteuid() == 0:
            b.measure_uprobe(1 if args.quick else 3)
        b.run_matrix(interps, workloads, configs, args.reps)
        if pmw_ok and not args.skip_own_cost:
            b.measure_own_cost(interps[0].path, own_sizes, args.own_duration)
            b.measure_snapshot(interps[0].path, args.snapshot_gib)
        big, many = measure_big_walks(args, interps[0].path) if pmw_ok and not args.skip_own_cost else ([], None)
        b.write_csv(interps, workloads, configs)
        report(b, interps, workloads, configs)
        report_big_walks(big, many)
        if args.markdown:
            loads = ("load average (1 min) after each workload %.2f-%.2f, median %.2f" %
                     (min(b.loads), max(b.loads), statistics.median(b.loads)) if b.loads else "load average unknown")
            with open(args.markdown, "w") as f:
                f.write("`scripts/bench.py %s`, %s - %s UTC, %d CPUs, kernel %s, %s, %d rep(s) per "
                        "configuration%s.\n\n" %
                        (" ".join(sys.argv[1:]), started, time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                         os.cpu_count() or 0, os.uname().release, loads, args.reps,
                         "; other work was running, so the ratios are noisier than usual"
                         if b.loads and max(b.loads) > 1.5 else ""))
                f.write("\n".join(MARKDOWN))
            sys.stdout.write("Markdown: %s\n" % args.markdown)
    except KeyboardInterrupt:
        log("interrupted; partial results in %s" % args.csv)
        return 130
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
