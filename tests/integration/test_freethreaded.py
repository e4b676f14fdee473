"""Free-threaded CPython (3.13t, PEP 703: no GIL, mimalloc instead of pymalloc).

The interpreter is built from Debian's python3.13 source package with
--disable-gil by scripts/build-ft.sh and cached under
/var/cache/pymemwatch/ft (or $PMW_FT_DIR); the first test to need it builds
it (measured 238 s and 401 s to configure, build and install on this shared 2-core
machine, plus ~10 s to fetch the source; < 0.1 s when cached).

Ground truth comes from inside the target: gc.get_stats() deltas for the GC
(exact), sys.getallocatedblocks() for the live blocks (on a free-threaded
build the interpreter counts them over every thread state's mimalloc heaps
and the abandoned pool, Objects/obmalloc.c get_mimalloc_allocated_blocks),
and the 16 MiB each phase of tests/workloads/ft_heap.py keeps.
"""

import calendar
import json
import os
import re
import subprocess
import time

import pytest

from conftest import (REPO_ROOT, WORKLOADS, Interp, assert_gc_matches, format_rows, read_csv,
                      rows_for, run_pmw, wait_rows)
from test_gc import test_gc_counts_exact as gc_counts_exact
from test_heap import test_exact_alloc_counts as exact_alloc_counts
from test_walk import last_walk, start

BUILD_FT = os.path.join(REPO_ROOT, "scripts", "build-ft.sh")
FT_DIR = os.environ.get("PMW_FT_DIR") or "/var/cache/pymemwatch/ft"
BUILD_TIMEOUT = 1800.0         # a cold build: 238-401 s measured on 2 shared cores
MIB = 1 << 20

_built = {}


def ft_python(version):
    """Path of the cached free-threaded build of `version`, building it when
    missing; skips (with build-ft.sh's reason) when it cannot be built."""
    if version not in _built:
        exe = os.path.join(FT_DIR, version + "t", "bin", "python%st" % version)
        try:
            cp = subprocess.run([BUILD_FT, FT_DIR, version], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=BUILD_TIMEOUT)
            why = None if cp.returncode == 0 and os.access(exe, os.X_OK) else (
                "`%s %s %s` failed (exit %d): %s" % (
                    BUILD_FT, FT_DIR, version, cp.returncode,
                    " | ".join(cp.stdout.strip().splitlines()[-4:])))
        except subprocess.TimeoutExpired:
            why = "%s took more than %ds" % (BUILD_FT, BUILD_TIMEOUT)
        _built[version] = (exe, why)
    exe, why = _built[version]
    if why:
        pytest.skip("free-threaded %st unavailable: %s" % (version, why))
    return exe


@pytest.fixture(scope="module")
def ft313(root):
    i = Interp("ft-3.13t", ft_python("3.13"), "free-threaded 3.13t (Debian source)")
    i.exact_capable = True      # no LTO: --exact probes _PyObject_MiMalloc/MiFree
    return i


@pytest.fixture(scope="module")
def ft313_stripped(ft313, tmp_path_factory):
    """A copy of 3.13t whose libpython is `strip --strip-all`ed (only
    .dynsym left, as in a slim image), the stdlib linked in."""
    src = os.path.dirname(os.path.dirname(ft313.path))
    dst = str(tmp_path_factory.mktemp("ft-stripped"))
    lib = os.path.join(dst, "lib", "libpython3.13t.so.1.0")
    exe = os.path.join(dst, "bin", "python3.13t")
    os.makedirs(os.path.dirname(lib))
    os.makedirs(os.path.dirname(exe))
    os.symlink(os.path.join(src, "lib", "python3.13t"), os.path.join(dst, "lib", "python3.13t"))
    for argv in (["cp", os.path.join(src, "lib", "libpython3.13t.so.1.0"), lib],
                 ["cp", ft313.path, exe], ["strip", "--strip-all", lib],
                 ["patchelf", "--set-rpath", os.path.dirname(lib), exe]):
        cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if cp.returncode:
            pytest.skip("cannot make a stripped 3.13t: %s: %s" % (" ".join(argv), cp.stdout))
    return Interp("ft-3.13t-stripped", exe, "free-threaded 3.13t, strip --strip-all")


def test_ft_detected(env, ft313, procs, tmp_path):
    """pymemwatch says the target is free-threaded and where its heap comes from."""
    target = procs.target(ft313, ["gc"])
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "-d", "1.5", "--csv",
                      str(tmp_path / "d.csv"))
    res = pmw.wait(60) or pmw.stop()
    assert res.rc == 0, res.describe()
    assert "heap=mimalloc, counts=unavailable" in res.stderr, res.describe()
    assert "free-threaded build" in res.stderr, res.describe()
    assert "python 3.13" in res.stderr, res.describe()


def test_ft_gc_counts_exact(env, ft313, procs, tmp_path):
    """test_gc.py's check on 3.13t: collections, collected and uncollectable
    per generation summed over the CSV equal the gc.get_stats() deltas
    exactly; every row with collections has pause times; alloc counts are
    unavailable without --exact (no pymalloc pool refills to count)."""
    gc_counts_exact(env, ft313, procs, tmp_path, precisions=("unavailable",))


def test_ft_exact_alloc_counts(env, ft313, procs, tmp_path):
    """test_heap.py's --exact check on 3.13t: allocs - frees over the churn
    phase equals the change in sys.getallocatedblocks() within 1%."""
    exact_alloc_counts(env, ft313, procs, tmp_path)


def epoch(iso):
    """CSV time ("2026-11-27T15:42:39.171Z", UTC) as epoch seconds."""
    whole, _, frac = iso.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def _row_after(rows, t, until=None):
    """The first row whose interval ended at least 0.3 s after time t (and
    before `until`, when the target started changing again)."""
    for r in rows:
        if r["_t"] >= t + 0.3 and (until is None or r["_t"] < until):
            return r
    return None


HEAP_COLS = ["time", "live_bytes", "live_blocks", "arena_bytes", "rss_bytes", "heap_scan_ms"]


def watch_heap_phases(ft, procs, tmp_path, phases, interval, settle, script="ft_heap.py"):
    """`script` running `phases` (each followed by `settle` s) under
    pymemwatch --mode heap at `interval`: (rows with "_t" epoch, the
    phases' snapshots, a diagnostic text). Asserts pymemwatch exits 0."""
    target = procs.target(ft, phases, name="ft", script=script)
    csv_path = str(tmp_path / "heap.csv")
    pmw = procs.watch("-p", target.pid, "-i", interval, "--mode", "heap", "--csv", csv_path, "-q")
    pmw.wait_watching()
    assert wait_rows(csv_path, target.pid, 2), pmw.stop().describe()
    snaps = {}
    for p in phases:
        snaps[p] = target.run_phase(p)
        time.sleep(settle)
    res = pmw.stop()
    _, rows = read_csv(csv_path)
    rows = rows_for(rows, target.pid)
    for r in rows:
        r["_t"] = epoch(r["time"])
    diag = "%s\n%s\nrows:\n%s\nsnapshots: %s" % (ft, res.describe(),
                                                 format_rows(rows, HEAP_COLS), snaps)
    assert res.rc == 0, diag
    assert target.proc.poll() is None, "target died\n" + diag
    return rows, snaps, diag


def test_ft_live_heap_follows_16mib(env, ft313, procs, tmp_path):
    """Each phase keeps 16 MiB in another place (the main thread's heap, four
    live threads' heaps, the abandoned pool of four exited threads); the
    live heap must follow it within 10%, and its live blocks must match the
    interpreter's own count (sys.getallocatedblocks()). Then one 80 MiB
    object (a huge page), then everything dropped."""
    phases = ["ft_keep", "ft_hold", "ft_threads", "ft_huge", "ft_free"]
    rows, snaps, diag = watch_heap_phases(ft313, procs, tmp_path, phases, 0.25, 1.0)
    before = [r for r in rows if r["_t"] < snaps["ft_keep"]["a"]["t"]]
    assert before, diag
    live = [before[-1]["live_bytes"]]
    for i, p in enumerate(phases):
        nxt = snaps[phases[i + 1]]["a"]["t"] if i + 1 < len(phases) else None
        r = _row_after(rows, snaps[p]["b"]["t"], nxt)
        assert r, "no row between phase %s and the next (pymemwatch stalled?)\n%s" % (p, diag)
        # the interpreter's own count of mimalloc blocks in use, read just
        # before; the JSON write and print after it allocate a few dozen
        blocks = snaps[p]["b"]["blocks"]
        assert abs(int(r["live_blocks"]) - blocks) <= max(200, blocks // 100), \
            "phase %s: live_blocks %s, sys.getallocatedblocks() %d\n%s" % (
                p, r["live_blocks"], blocks, diag)
        live.append(r["live_bytes"])
    kept = 16 * MIB
    for i, p in enumerate(phases[:3]):
        grew = live[i + 1] - live[i]
        assert abs(grew - kept) <= kept * 0.10, \
            "phase %s: live heap grew %d bytes, the target kept %d\n%s" % (p, grew, kept, diag)
    # one 80 MiB object: a huge page, its block rounded up by mimalloc (4 MiB steps)
    grew = live[4] - live[3]
    assert 80 * MIB <= grew <= 85 * MIB, \
        "phase ft_huge: live heap grew %d bytes for an 80 MiB object\n%s" % (grew, diag)
    dropped = live[4] - live[5]
    assert abs(dropped - (3 * kept + grew)) <= 3 * kept * 0.10, \
        "phase ft_free: live heap fell %d bytes, the target dropped %d\n%s" % (
            dropped, 3 * kept + grew, diag)
    assert all(r["rss_bytes"] > 0 for r in rows), diag
    assert all(r["allocs"] is None and r["frees"] is None for r in rows), diag


def test_ft_heap_read_under_thread_churn(env, ft313, procs, tmp_path):
    """Threads start, allocate, free each other's blocks and exit while the
    heap is read every 0.1 s: no crash, a heap figure in (nearly) every
    row, and never more live bytes than the process has resident."""
    rows, snaps, diag = watch_heap_phases(ft313, procs, tmp_path, ["ft_churn"], 0.1, 0.5)
    snap = snaps["ft_churn"]
    during = [r for r in rows if snap["a"]["t"] + 0.2 <= r["_t"] <= snap["b"]["t"]]
    assert len(during) >= 10, diag
    read = [r for r in during if float(r["heap_scan_ms"]) > 0]
    assert len(read) >= 0.8 * len(during), "heap read in %d of %d rows\n%s" % (
        len(read), len(during), diag)
    # a row whose read failed keeps the last good figure, which RSS may have left behind
    assert all(0 < r["live_bytes"] <= r["rss_bytes"] for r in read), diag


def test_ft_stripped_gc_and_heap(env, ft313_stripped, procs, tmp_path):
    """Without a symbol table: GC counts still exact (from the probe if the
    disassembly finds and checks one, else generation_stats in memory) and
    the heap still read (it needs only the exported _PyRuntime)."""
    rows, snaps, diag = watch_heap_phases(ft313_stripped, procs, tmp_path, ["gc"], 0.5, 1.2,
                                          script="gc_window.py")
    snap = snaps["gc"]
    assert_gc_matches(rows, snap, diag)
    r = _row_after(rows, snap["b"]["t"])
    assert r, diag
    blocks = snap["b"]["blocks"]
    assert abs(int(r["live_blocks"]) - blocks) <= max(200, blocks // 100), diag
    assert r["live_bytes"] > 0 and r["rss_bytes"] > 0, diag


def test_ft_leak_rows_and_census(env, ft313, procs, tmp_path):
    """Heap walks of 3.13t (mimalloc's object heaps, no pymalloc): a
    module-level list and dict that grow (in two threads, one of which
    exits: its pages go to the abandoned pool) rank 1 and 2 with len() as
    their items, a bounded list and dict next to them are not listed, and
    the census counts the target's own instances and its lists as
    gc.get_objects() does, within test_walk.py's tolerances. Holders stay
    unavailable on free-threaded builds: rows name the container by
    address."""
    grow_s = 12
    state = str(tmp_path / "truth.json")
    target = start(procs, ft313, [os.path.join(WORKLOADS, "ft_leak.py"), str(grow_s), state])
    leaks, types = str(tmp_path / "leaks.csv"), str(tmp_path / "types.csv")
    res = run_pmw(["-p", target.pid, "-i", "1", "-d", str(grow_s + 6), "-q", "-v",
                   "--csv-leaks", leaks, "--csv-types", types], timeout=120)
    with open(state) as f:
        truth = json.load(f)
    diag = "%s\n%s\ntruth: %s" % (ft313, res.describe(), truth)
    assert res.rc == 0, diag
    assert truth["bounded_len"] <= 64 and truth["bounded_d_len"] <= 64, diag
    _, rows = read_csv(leaks)
    mine = [r for r in rows if r["pid"] == target.pid]
    assert mine, "no leak rows\n" + diag
    last = sorted((r for r in mine if r["time"] == mine[-1]["time"]), key=lambda r: int(r["rank"]))
    diag += "\nlast interval: %s" % [(r["rank"], r["holder"], r["items"], r["item_type"])
                                     for r in last]
    ids = truth["ids"]
    want = {"LEAK": ("list@0x%x" % ids["LEAK"], truth["leak_len"], "Item"),
            "CACHE": ("dict@0x%x" % ids["CACHE"], truth["cache_len"], "list")}
    for name, (holder, n, item_type) in want.items():
        hit = [r for r in last[:2] if r["holder"] == holder]
        assert hit, "%s (%s) not in ranks 1-2\n%s" % (name, holder, diag)
        assert 0.7 * n <= int(hit[0]["items"]) <= 1.05 * n + 5, diag
        assert hit[0]["item_type"] == item_type, diag
        assert float(hit[0]["score"]) > 0, diag
    # retained bytes without a holder: items x their sampled size, an Item's as
    # sys.getsizeof() counts it (pre-header included, no PyGC_Head on this build)
    row = [r for r in last[:2] if r["holder"] == want["LEAK"][0]][0]
    per_item = int(row["retained_bytes"]) / float(row["items"])
    assert per_item == truth["item_size"], "%.1f bytes per Item, sys.getsizeof() %d\n%s" % (
        per_item, truth["item_size"], diag)
    for name in ("BOUNDED", "BOUNDED_D"):
        assert not any(r["holder"].endswith("@0x%x" % ids[name]) for r in last), \
            "bounded %s listed\n%s" % (name, diag)
    # the census of the last walk, taken after the target stopped growing
    _, trows = read_csv(types)
    census = last_walk(trows, target.pid)
    assert census, "no census rows\n" + diag
    top = sorted(census.values(), key=lambda r: -int(r["bytes"]))[:12]
    diag += "\ncensus (largest): %s" % [(r["type"], r["objects"], r["bytes"]) for r in top]
    items = int(census.get("Item", {}).get("objects", 0))
    assert abs(items - truth["Item"]) <= truth["Item"] * 0.005, diag
    lists = int(census.get("list", {}).get("objects", 0))
    print("3.13t census: Item %d (gc.get_objects() %d), list %d (%d)" % (
        items, truth["Item"], lists, truth["list"]))
    assert abs(lists - truth["list"]) <= truth["list"] * 0.02, diag
    # every object is in a mimalloc block of at least its size: 16 bytes or more
    for r in census.values():
        assert int(r["bytes"]) >= 16 * int(r["objects"]), "%s\n%s" % (r, diag)
    walks = re.findall(r"walk \d+: (\d+) pools, (\d+) objects .*?(\d+) torn", res.stderr)
    assert walks and int(walks[-1][1]) >= truth["Item"] + truth["list"], diag


def test_ft_growth_sites_per_thread(env, ft313, procs, tmp_path):
    """Growth sites on 3.13t: two threads append to one module-level list in
    step, each at its own line. Every growing write's stack is read from the
    writing thread's own thread state (its thread-local _Py_tss_tstate, found
    below its thread pointer by the first hit): each stack's innermost frame
    is grow_a at the GROW-A line or grow_b at the GROW-B line, both threads
    are seen, and the row's site is one of the two lines (ground truth: the
    workload's own source). Fails where free-threaded targets have no sites."""
    from test_growth import leak_lines, start_ops
    target, truth = start_ops(procs, ft313, str(tmp_path / "state.json"), "ft_growth.py")
    out = str(tmp_path / "leaks.json")
    res = run_pmw(["-p", target.pid, "-i", "1", "-d", "15", "-q", "-v", "--json", out],
                  timeout=120)
    diag = "%s\n%s\ntruth: %s" % (ft313, res.describe(), truth)
    assert res.rc == 0, diag
    r = leak_lines(out).get(truth["leak"])
    assert r, "LEAK (0x%x) is not a leak row\n%s" % (truth["leak"], diag)
    d = "%s\n%s" % (json.dumps(r), diag)
    if not r["site"] and "no free hardware watchpoint" in (r["site_reason"] or ""):
        pytest.skip("debug registers taken by another process during the run: %s" % r["site_reason"])
    want = {"grow_a": "%s:%d" % (truth["file"], truth["lines"]["GROW-A"]),
            "grow_b": "%s:%d" % (truth["file"], truth["lines"]["GROW-B"])}
    assert r["site"] in want.values() and r["site_innermost"] == r["site"], d
    seen = {}
    for s in r["stacks"]:
        f0 = s["frames"][0]
        assert f0["function"] in want, d
        assert "%s:%d" % (f0["file"], f0["line"]) == want[f0["function"]], d
        assert [f["function"] for f in s["frames"][1:2]] == ["Thread.run"], d
        seen[f0["function"]] = seen.get(f0["function"], 0) + s["hits"]
    print("3.13t growth: site %s, hits per thread %s" % (r["site"], seen))
    assert set(seen) == set(want), "stacks of %s only\n%s" % (sorted(seen), d)
    assert re.search(r"a thread's state is \d+ bytes below its thread pointer", res.stderr), d
