"""Interpreters with only .dynsym (issue 12.4): no .symtab, no debuginfo.

  stripped-3.12.1, stripped-3.13.0  `strip --strip-all` copies of the pyenv
      builds (scripts/make-stripped.sh, cached under
      /var/cache/pymemwatch/stripped): what python:*-slim and Alpine images
      ship (shared libpython, no USDT, no symbols);
  bullseye-3.9-nodbg, trixie-3.13-nodbg, sid-3.14-nodbg, sid-3.15-nodbg
      Debian's python3.X as installed (no -dbg) in cached debootstrap roots
      (scripts/make-roots.sh), run with chroot;
  debian-3.11-nodbg  Debian's /usr/bin/python3.11 (static LTO, USDT) with its
      python3.11-dbg debug file hidden: target and pymemwatch each run in a
      private mount namespace with an empty tmpfs on /usr/lib/debug and no
      DEBUGINFOD_URLS, so neither the build-id path nor .gnu_debuglink nor
      debuginfod can find it -- the interpreter as Debian installs it.

pymemwatch finds what its probes and heap scan need by disassembling
exported functions (user/symfind.c) and checks each address by its effect.
Ground truth comes from inside the targets (gc.get_stats(),
sys.getallocatedblocks()) and, for the addresses themselves, from the
unstripped files' symbol tables.
"""

import csv
import json
import os
import re
import subprocess
import time

import pytest

import conftest
from conftest import (Interp, REPO_ROOT, assert_gc_matches, format_rows, read_csv,
                      rows_for, wait_rows, watch_phase)
import roots
import test_heap
import test_leaks

CACHE = os.environ.get("PMW_STRIPPED_DIR", "/var/cache/pymemwatch/stripped")
PYENV = conftest.pyenv_root()
DEBIAN_PY = "/usr/bin/python3.11"

# id -> (version, pyenv build it was stripped from)
STRIPPED = {"stripped-3.9.18": "3.9.18", "stripped-3.10.13": "3.10.13",
            "stripped-3.11.7": "3.11.7", "stripped-3.12.1": "3.12.1", "stripped-3.13.0": "3.13.0"}
# the issue's set (12.4); the older copies check the 3.9-3.11 paths (static _PyObject, arenas)
ISSUE_SET = ("stripped-3.12.1", "stripped-3.13.0", "debian-3.11-nodbg")
# id -> (roots.ROOT_INTERPS key, root holding its -dbg file or None)
IN_ROOTS = {"bullseye-3.9-nodbg": ("bullseye-3.9", "bullseye-dbg"),
            "trixie-3.13-nodbg": ("trixie-3.13", None),
            "sid-3.14-nodbg": ("sid-3.14", "sid-dbg"),
            "sid-3.15-nodbg": ("sid-3.15", "sid-dbg")}
ALL = sorted(STRIPPED) + ["debian-3.11-nodbg"] + sorted(IN_ROOTS)
KEEP_OBJECTS = 262144           # tests/workloads/gc_window.py: blocks its keep phase keeps

# runs "$@" in a private mount namespace whose /usr/lib/debug is an empty tmpfs
HIDE_DEBUG = """#!/bin/sh
exec env -u DEBUGINFOD_URLS unshare -m --propagation private sh -c \
  'mount -t tmpfs -o size=1m,mode=755 pmw-nodebug /usr/lib/debug && exec "$0" "$@"' "$@"
"""


@pytest.fixture(scope="session")
def stripped_cache():
    """Build (or reuse) the stripped copies; skip with the script's reason if it cannot."""
    cp = subprocess.run([os.path.join(REPO_ROOT, "scripts", "make-stripped.sh"), CACHE] +
                        [STRIPPED[k] for k in sorted(STRIPPED)],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    return cp.returncode, cp.stdout


@pytest.fixture(scope="session")
def hide_debug(tmp_path_factory, binary):
    """(python3.11, pymemwatch): wrappers running each with /usr/lib/debug hidden."""
    if subprocess.run(["unshare", "-m", "true"], stderr=subprocess.DEVNULL).returncode:
        pytest.skip("cannot create a mount namespace (unshare -m) here")
    d = tmp_path_factory.mktemp("nodebug")
    hide = d / "hide-debug"
    hide.write_text(HIDE_DEBUG)
    hide.chmod(0o755)
    out = []
    for name, real in (("python3.11", DEBIAN_PY), ("pymemwatch", binary)):
        w = d / name
        w.write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (hide, real))
        w.chmod(0o755)
        out.append(str(w))
    return tuple(out)


@pytest.fixture(params=ALL)
def stripped(request, stripped_cache, monkeypatch, env):
    """Each interpreter without symbols; for debian-3.11-nodbg pymemwatch runs hidden too."""
    ident = request.param
    if ident in STRIPPED:
        rc, out = stripped_cache
        ver = STRIPPED[ident]
        path = os.path.join(CACHE, ver, "bin", "python" + ver.rsplit(".", 1)[0])
        if rc or not os.access(path, os.X_OK):
            pytest.skip("stripped copy of pyenv %s unavailable: %s" % (ver, out.strip()))
        it = Interp(ident, path, "strip --strip-all copy of pyenv %s" % ver)
        it.exact_capable = True                   # no LTO: every pymalloc call is probed
        return it
    if ident in IN_ROOTS:
        root_name, exe = roots.ROOT_INTERPS[IN_ROOTS[ident][0]]
        it = Interp(ident, exe, "Debian %s without -dbg, in a root" % exe)
        it.root = roots.require_root_fs(root_name)
        return it
    if not os.access(DEBIAN_PY, os.X_OK):
        pytest.skip("%s not installed" % DEBIAN_PY)
    py, pmw = request.getfixturevalue("hide_debug")
    # conftest's Watch and run_pmw start conftest.BINARY
    monkeypatch.setattr(conftest, "BINARY", pmw)
    return Interp(ident, py, "Debian python3.11, debug file hidden")


@pytest.fixture
def start(procs):
    """start(interp, phases): a gc_window.py target, in its root for root interpreters."""
    rp = roots.RootProcs()

    def go(interp, phases):
        if getattr(interp, "root", None):
            return rp.target("chroot", interp.root, interp.path, phases)
        return procs.target(interp, phases)
    yield go
    rp.cleanup()


def no_symbols_seen(res, diag):
    """pymemwatch -v said it had no symbols (the hiding worked) and used disassembly."""
    assert "has no symbols: looked for them by disassembly" in res.stderr, diag
    assert "debuginfo for" not in res.stderr, diag


def test_gc_exact_stripped(stripped, procs, start, tmp_path):
    """GC counts per generation equal gc.get_stats() deltas exactly, with pauses."""
    target = start(stripped, ["gc"])
    res, rows, snap = watch_phase(procs, target, "gc", str(tmp_path / "gc.csv"), ("-v",),
                                  quiet=False)
    diag = "%s\n%s\nrows:\n%s\nsnapshots: %s" % (stripped, res.describe(), format_rows(rows), snap)

    assert res.rc == 0, diag
    no_symbols_seen(res, diag)
    assert_gc_matches(rows, snap, diag)
    # pauses: every collection timed (probe or USDT), not read from memory
    assert "gc=memory" not in res.stderr, diag
    assert sum(r["gc_pause_ms_total"] for r in rows) > 0, diag
    for r in rows:
        if r["gc_gen0"] + r["gc_gen1"] + r["gc_gen2"]:
            assert r["gc_pause_ms_max"] > 0, diag
    if stripped.id in STRIPPED:
        # no USDT: the collection function came from disassembly and passed its check
        assert "gc=uprobe" in res.stderr, diag
        assert re.search(r"collection function 0x[0-9a-f]+: check passed", res.stderr), diag
    else:
        assert "gc=usdt" in res.stderr, diag


def csv_and_json(csv_path, json_path, pid):
    """The CSV rows and JSON process records of @pid, in order."""
    _, rows = read_csv(csv_path)
    with open(json_path) as f:
        jrows = [r for r in map(json.loads, f) if r["type"] == "process" and r["pid"] == pid]
    return rows_for(rows, pid), jrows


REFILL_PASSED = re.compile(r"allocate_from_new_pool 0x[0-9a-f]+: check passed")


def test_counts_honest_stripped(stripped, procs, start, tmp_path):
    """allocs/frees are unavailable until the refill probe found by disassembly
    passed its check, then estimates whose net equals the target's own
    getallocatedblocks() change; the heap scan matches it too."""
    target = start(stripped, ["churn", "keep"])
    csv_path = str(tmp_path / "counts.csv")
    json_path = str(tmp_path / "counts.jsonl")
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "--csv", csv_path, "--json", json_path, "-v")
    pmw.wait_watching()
    assert wait_rows(csv_path, target.pid, 1), \
        "no CSV row within 30 s of `watching`\n" + pmw.stop().describe()
    churn = target.run_phase("churn")            # pools become used: the check can pass
    deadline = time.monotonic() + 10
    while not REFILL_PASSED.search(pmw.err.text()):
        assert time.monotonic() < deadline, "refill check did not pass\n" + pmw.stop().describe()
        time.sleep(0.1)
    time.sleep(1.2)                               # a whole counted interval before keep
    _, before = read_csv(csv_path)
    n0 = len(rows_for(before, target.pid))
    keep = target.run_phase("keep")
    time.sleep(1.2)
    res = pmw.stop()
    rows, jrows = csv_and_json(csv_path, json_path, target.pid)
    diag = "%s\n%s\nrows:\n%s\nchurn: %s\nkeep: %s" % (
        stripped, res.describe(), format_rows(rows, list(conftest.COLUMNS) + ["live_blocks"]), churn, keep)
    assert res.rc == 0, diag
    no_symbols_seen(res, diag)
    assert REFILL_PASSED.search(res.stderr), diag
    # each row is either measured (numbers, estimate) or unavailable (empty, null), never a guess
    for r, j in zip(rows, jrows):
        if r["precision"] == "unavailable":
            assert r["allocs"] is None and r["frees"] is None and r["alloc_bytes"] is None, diag
            assert j["allocs"] is None and j["frees"] is None, j
        else:
            assert r["precision"] == "estimate", diag
            assert None not in (r["allocs"], r["frees"], r["alloc_bytes"]), diag
    assert rows[0]["precision"] == "unavailable", "first row before any check\n" + diag
    after = rows[n0:]
    assert after and all(r["precision"] == "estimate" for r in after), diag
    expect = keep["b"]["blocks"] - keep["a"]["blocks"]
    net = sum(r["allocs"] - r["frees"] for r in after)
    assert expect >= KEEP_OBJECTS, diag
    assert abs(net - expect) <= 0.02 * expect + 200, \
        "allocs - frees = %d over the keep rows, getallocatedblocks delta %d\n%s" % (net, expect, diag)
    assert sum(r["allocs"] for r in after) >= 0.98 * expect, diag
    # the heap scan (its arena table found by disassembly on 3.11) sees the target's blocks
    live = int(rows[-1]["live_blocks"])
    assert abs(live - keep["b"]["blocks"]) <= 0.02 * keep["b"]["blocks"], \
        "live_blocks %d, getallocatedblocks %d\n%s" % (live, keep["b"]["blocks"], diag)
    assert "allocs n/a" not in res.stdout, diag


def test_counts_unavailable_without_refill_probe(stripped, procs, start, tmp_path):
    """--mode heap attaches no refill probe: allocs/frees are unavailable in
    CSV (empty), JSON (null) and the summary (n/a), never a number."""
    target = start(stripped, ["churn"])
    csv_path = str(tmp_path / "heap.csv")
    json_path = str(tmp_path / "heap.jsonl")
    res, _, _ = watch_phase(procs, target, "churn", csv_path,
                            ("--mode", "heap", "--json", json_path), quiet=False)
    rows, jrows = csv_and_json(csv_path, json_path, target.pid)
    diag = "%s\n%s\nrows:\n%s" % (stripped, res.describe(), format_rows(rows))
    assert res.rc == 0 and rows and jrows, diag
    assert all(r["allocs"] is None and r["frees"] is None and r["precision"] == "unavailable"
               for r in rows), diag
    assert all(j["allocs"] is None and j["frees"] is None and j["alloc_bytes"] is None
               for j in jrows), jrows
    assert "allocs n/a, frees n/a (unavailable" in res.stdout, diag
    assert any(r["live_bytes"] > 0 for r in rows), diag


# 45 s runs kept to the issue's set; test_holders.py covers the walk on 3.9-3.11
@pytest.mark.parametrize("stripped", ISSUE_SET, indirect=True)
def test_leak_holders_stripped(stripped, procs, tmp_path):
    """Without symbols the two leaks' holders rank 1 and 2 in --csv-leaks
    (issue 11.6: the walk needs only _PyRuntime); the bounded cache does not."""
    run_s = 30
    target = procs.popen([stripped.path, test_leaks.WORKLOAD, str(run_s + 30)],
                         stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().startswith("ready")
    leaks_csv = str(tmp_path / "leaks.csv")
    pmw = procs.watch("-p", target.pid, "-i", "2", "-d", run_s, "-q", "--csv-leaks", leaks_csv)
    res = pmw.wait(run_s + 60) or pmw.stop()
    diag = "%s\n%s" % (stripped, res.describe())
    assert res.rc == 0, diag
    with open(leaks_csv, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["pid"] == str(target.pid)]
    assert rows, "no leak rows\n" + diag
    last = max(r["time"] for r in rows)
    final = sorted((r for r in rows if r["time"] == last), key=lambda r: int(r["rank"]))
    diag += "\nlast interval:\n" + "\n".join("%s %s %s items=%s" % (
        r["rank"], r["holder"], r["holder_kind"], r["items"]) for r in final)
    assert {r["holder"] for r in final[:2]} == {"__main__.AUDIT_LOG", "__main__.SESSIONS"}, diag
    assert all(r["holder_kind"] == "module_global" for r in final[:2]), diag
    assert "__main__.CACHE" not in [r["holder"] for r in final[:2]], diag


# only the pyenv copies: Debian's builds are LTO, --exact is refused there
# (test_heap.py checks the warning on debian-3.11)
@pytest.mark.parametrize("stripped", sorted(STRIPPED), indirect=True)
def test_exact_counts_stripped(stripped, procs, tmp_path):
    """--exact without symbols: the allocator functions come from the live
    _PyObject struct, so test_heap.py's exact check holds unchanged."""
    test_heap.test_exact_alloc_counts(True, stripped, procs, tmp_path)


def _nm(path):
    out = subprocess.run(["nm", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms.setdefault(parts[2].split(".")[0], set()).add(int(parts[0], 16))
    return syms


def _debian_debug_file(exe, root):
    """The -dbg package's debug file of @exe under @root, by build-id, or None."""
    out = subprocess.run(["readelf", "-n", exe], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    path = m and os.path.join(root, "usr/lib/debug/.build-id/%s/%s.debug" % (
        m.group(1)[:2], m.group(1)[2:]))
    return path if path and os.path.exists(path) else None


# every build with a symbol table to compare with (trixie has no -dbg root)
@pytest.mark.parametrize("stripped", [i for i in ALL if i not in IN_ROOTS or IN_ROOTS[i][1]],
                         indirect=True)
def test_found_addresses_are_the_symbols(stripped, procs, start, tmp_path):
    """Every address found by disassembly is the one the unstripped file
    (pyenv's libpython, Debian's -dbg file) gives that symbol."""
    if stripped.id in STRIPPED:
        ver = STRIPPED[stripped.id]
        truth = os.path.join(PYENV, "versions", ver, "lib",
                             "libpython%s.so.1.0" % ver.rsplit(".", 1)[0])
    elif stripped.id in IN_ROOTS:
        dbg = IN_ROOTS[stripped.id][1]
        truth = dbg and _debian_debug_file(os.path.join(stripped.root, stripped.path.lstrip("/")),
                                           roots.root_path(dbg))
    else:
        truth = _debian_debug_file(DEBIAN_PY, "/")
    if not truth or not os.path.exists(truth):
        pytest.skip("no symbol table to compare with for %s" % stripped.id)
    syms = _nm(truth)
    target = start(stripped, [])
    res = conftest.run_pmw(["-p", target.pid, "-i", "0.5", "-d", "1", "-v"], timeout=90)
    diag = "%s\n%s" % (stripped, res.describe())
    assert res.rc == 0, diag
    want = {"_PyObject_Malloc": "_PyObject_Malloc", "allocate_from_new_pool":
            "allocate_from_new_pool", "collection function": None}
    for d in ("tupledealloc", "list_dealloc", "dict_dealloc", "float_dealloc", "unicode_dealloc"):
        want[d] = d
    static_arenas = stripped.id in ("debian-3.11-nodbg", "bullseye-3.9-nodbg", "stripped-3.9.18",
                                    "stripped-3.10.13", "stripped-3.11.7")       # 3.8-3.11
    if static_arenas:
        want["arenas"] = "arenas"
    for what, sym in want.items():
        m = re.search(r"no symbols: %s: found, check \w+: (?:at )?(0x[0-9a-f]+)" % re.escape(what),
                      res.stderr)
        assert m, "%s not found\n%s" % (what, diag)
        # names that changed: the collection function (user/pyver.c gc_funcs), tuple_dealloc (3.14+)
        names = {None: ("gc_collect_main", "collect", "_PyGC_Collect"),
                 "tupledealloc": ("tupledealloc", "tuple_dealloc")}.get(sym, (sym,))
        sym = next((s for s in names if int(m.group(1), 16) in syms.get(s, ())), names[0])
        assert int(m.group(1), 16) in syms.get(sym, ()), \
            "%s found at %s, %s is at %s\n%s" % (what, m.group(1), sym,
                                                 [hex(a) for a in syms.get(sym, ())], diag)
    if static_arenas:
        m = re.search(r"maxarenas (0x[0-9a-f]+)", res.stderr)
        assert m and int(m.group(1), 16) in syms.get("maxarenas", ()), diag
