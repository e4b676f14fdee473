"""Other CPython versions in other roots and namespaces.

Interpreters of cached minimal Debian roots (scripts/make-roots.sh:
bullseye 3.9, trixie 3.13, sid 3.14 and 3.15) run
tests/workloads/gc_window.py either under plain chroot or as PID 1 of new
mount+PID namespaces (unshare --root). pymemwatch is given the host PID and
must report the same GC figures as the target's own gc.get_stats(),
exactly, as in test_gc.py, the root's Python version and a live heap.

- bullseye-dbg (python3.9 + python3.9-dbg): the full check; pymemwatch must
  find the debug symbols inside the target's root.
- bullseye (python3.9 without debug symbols): doc/builds.md documents that only
  the live heap needs python3.9-dbg, so `--mode gc` must still give exact
  GC figures.
- sid python3.14 and python3.15, with (sid-dbg) and without (sid) their
  -dbg packages: the full check, and with the debug symbols the Python
  stacks of leak sites (tests/workloads/leaky_service.py), end to end.
- pyenv 3.7: older than pymemwatch's version table; refused cleanly with
  the supported range, which covers the newest interpreter of the matrix.
- pypy3 in the bookworm-pypy root: refused as not CPython.

Every root is built on first use (roots.DEFAULT_ROOTS); one that cannot be
built (the Debian archive unreachable) skips with the reason.
"""

import csv
import functools
import glob
import os
import re
import subprocess
import time

import pytest

from conftest import (assert_gc_matches, check_header, format_rows, pyenv_root, read_csv,
                      rows_for, run_pmw, wait_rows)
from roots import (MODES, ROOT_INTERPS, RootDir, RootProcs, python_version,
                   require_root_fs)

# (interpreter id, extra pymemwatch options, check live heap, marks)
FULL = [
    ("bullseye-dbg-3.9", [], True, []),
    ("trixie-3.13", [], True, []),
    ("sid-3.14", [], True, []),
    ("sid-3.15", [], True, []),
    ("sid-dbg-3.14", [], True, []),
    ("sid-dbg-3.15", [], True, []),
    # stripped, no python3.9-dbg: --mode gc needs no symbols (USDT + .dynsym)
    ("bullseye-3.9", ["--mode", "gc"], False, []),
]
CASES = [pytest.param(ident, mode, opts, heap, marks=marks,
                      id="%s-%s" % (ident, mode))
         for ident, opts, heap, marks in FULL for mode in MODES]


@pytest.fixture
def rprocs():
    p = RootProcs()
    yield p
    p.cleanup()


@functools.lru_cache(maxsize=None)
def _version(root, exe):
    return python_version(root, exe)


@pytest.mark.parametrize("ident,mode,opts,heap", CASES)
def test_gc_counts_exact_in_root(env, procs, rprocs, tmp_path, ident, mode,
                                 opts, heap):
    root_name, exe = ROOT_INTERPS[ident]
    root = require_root_fs(root_name)
    version = _version(root, exe)

    target = rprocs.target(mode, root, exe, ["gc"])
    csv_path = str(tmp_path / "gc.csv")
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "--csv", csv_path, "-q",
                      *opts)
    pmw.wait_watching()
    assert wait_rows(csv_path, target.pid, 1), \
        "no CSV row within 30 s of `watching`\n%s\n%s" % (
            pmw.stop().describe(), target.describe())

    snap = target.run_phase("gc")
    time.sleep(1.2)                              # > 2 intervals
    res = pmw.stop()
    header, rows = read_csv(csv_path)
    rows = rows_for(rows, target.pid)
    diag = "%s (%s, python %s)\n%s\n%s\nrows:\n%s\nsnapshots: %s" % (
        ident, root, version, target.describe(), res.describe(),
        format_rows(rows), snap)

    assert res.rc == 0, diag
    check_header(header)
    assert rows, diag

    assert_gc_matches(rows, snap, diag)

    assert all(r["python"] == version for r in rows), \
        "python column is not %s\n%s" % (version, diag)
    assert all(r["comm"] == exe.rsplit("/", 1)[1] for r in rows), diag
    if heap:
        assert all(r["live_bytes"] > 0 and r["arena_bytes"] > 0
                   for r in rows), "live heap missing\n" + diag
    assert rows[-1]["rss_bytes"] > 0, diag
    assert str(target.pid) in res.stdout, diag
    assert target.proc.poll() is None, "target died\n" + diag


OLD_SCRIPT = ("import os, sys, time\n"
              "print('ready %d' % os.getpid(), flush=True)\n"
              "time.sleep(120)\n")


def test_older_version_refused(env, procs):
    """pyenv's 3.7 is older than pymemwatch's version table: a clean refusal
    (exit 2, 'unsupported', the supported range), never a guess at its
    layout. The range is the table's; it must reach the newest interpreter
    of this matrix."""
    found = sorted(glob.glob(os.path.join(pyenv_root(), "versions", "3.7.*", "bin",
                                          "python3.7")))
    if not found:
        pytest.skip("no pyenv 3.7 under %s" % pyenv_root())
    target = procs.popen([found[-1], "-c", OLD_SCRIPT], stdout=subprocess.PIPE, text=True)
    assert target.stdout.readline().startswith("ready")
    res = run_pmw(["-p", target.pid, "-i", "0.5", "-d", "2", "-q"], timeout=60)
    diag = res.describe()
    assert res.rc == 2, diag
    m = re.search(r"unsupported CPython version \(supported: 3\.(\d+)-3\.(\d+)\)",
                  res.stderr)
    assert m, diag
    newest = max(int(exe.rsplit(".", 1)[1]) for _, exe in ROOT_INTERPS.values())
    assert int(m.group(1)) > 7 and int(m.group(2)) >= newest, diag
    assert target.poll() is None, "target died\n" + diag


LEAK_S = 40


def _marked_line(path, tag):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if "# " + tag in line:
                return n
    raise AssertionError("no %s marker in %s" % (tag, path))


@pytest.mark.parametrize("ident", ["sid-dbg-3.14", "sid-dbg-3.15"])
@pytest.mark.parametrize("mode", MODES)
def test_leak_stacks_in_root(env, procs, rprocs, tmp_path, ident, mode):
    """With the -dbg symbols, the Python stacks of leak sites work end to
    end on 3.14 and 3.15 in another root: leak B's line (LEAK-B in
    remember_session()) ranks in the top two, with its file, its caller
    handle() and the object type, as test_leaks.py checks on the host."""
    root_name, exe = ROOT_INTERPS[ident]
    root = require_root_fs(root_name)
    d = RootDir(root)
    try:
        target = rprocs.process(mode, root, [exe, d.inside("leaky_service.py"), str(LEAK_S + 30)])
        target.wait_ready()
        sites_csv = str(tmp_path / "sites.csv")
        # several bursts within LEAK_S: beyond the default --alloc-profile-budget on this light service
        pmw = procs.watch("-p", target.pid, "-d", LEAK_S, "-q", "--csv-sites", sites_csv,
                          "--alloc-profile", "auto", "--alloc-profile-budget", "10000")
        res = pmw.wait(LEAK_S + 60) or pmw.stop()
        assert res.rc == 0, res.describe() + target.describe()
        with open(sites_csv, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows, "no site rows\n" + res.describe()
        last = max(r["time"] for r in rows)
        final = [r for r in rows if r["time"] == last]
        diag = "%s %s final ranking:\n%s\n%s" % (ident, mode, "\n".join(
            "%s %s %s samples=%s score=%s stack=%s" % (r["site"], r["function"], r["type"],
                                                      r["samples"], r["score"], r["stack"])
            for r in final[:6]), res.describe())
        want = "%s:%d" % (d.inside("leaky_service.py"),
                          _marked_line(d.host("leaky_service.py"), "LEAK-B"))
        top = [r for r in final[:2] if r["site"] == want]
        assert top, "%s not in the top two\n%s" % (want, diag)
        assert top[0]["function"] == "remember_session", diag
        assert top[0]["type"] in ("Session", "str"), diag
        assert ":handle:" in top[0]["stack"] and ":main:" in top[0]["stack"], diag
    finally:
        d.remove()


PYPY_SCRIPT = ("import os, signal, sys, time\n"
               "signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))\n"
               "print('ready %d' % os.getpid(), flush=True)\n"
               "while True: time.sleep(1)\n")


@pytest.mark.parametrize("mode", MODES)
def test_pypy_refused(env, rprocs, mode):
    """pypy3 is not CPython: pymemwatch -p must refuse it with status 2."""
    root = require_root_fs("bookworm-pypy")
    p = rprocs.process(mode, root, ["/usr/bin/pypy3", "-c", PYPY_SCRIPT])
    p.wait_ready()
    res = run_pmw(["-p", p.pid, "-i", "0.5", "-d", "3", "-q"], timeout=60)
    diag = "%s\n%s" % (res.describe(), p.describe())
    assert res.rc == 2, diag
    assert "cpython" in res.stderr.lower(), diag
    assert p.proc.poll() is None, "pypy3 died\n" + diag
