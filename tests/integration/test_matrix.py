"""Other CPython versions in other roots and namespaces.

Interpreters of cached minimal Debian roots (scripts/make-roots.sh:
bullseye 3.9, trixie 3.13, sid 3.14 and 3.15) run
tests/workloads/gc_window.py either under plain chroot or as PID 1 of new
mount+PID namespaces (unshare --root). pymemwatch is given the host PID and
must report the same GC figures as the target's own gc.get_stats(),
exactly, as in test_gc.py, the root's Python version and a live heap.

- bullseye-dbg (python3.9 + python3.9-dbg): the full check; pymemwatch must
  find the debug symbols inside the target's root.
- bullseye (python3.9 without debug symbols): README documents that only
  the live heap needs python3.9-dbg, so `--mode gc` must still give exact
  GC figures.
- sid python3.15: newer than pymemwatch's version table; refused cleanly.
- pypy3 in the bookworm-pypy root (built only on request:
  `sudo scripts/make-roots.sh bookworm-pypy`): refused as not CPython.

Roots that cannot be built (no network, no debootstrap) skip with the
reason.
"""

import functools
import time

import pytest

from conftest import (assert_gc_matches, check_header, format_rows, read_csv, rows_for, run_pmw,
                      wait_rows)
from roots import (MODES, ROOT_INTERPS, RootProcs, python_version,
                   require_root_fs)

# (interpreter id, extra pymemwatch options, check live heap, marks)
FULL = [
    ("bullseye-dbg-3.9", [], True, []),
    ("trixie-3.13", [], True, []),
    ("sid-3.14", [], True, []),
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


def test_newer_version_refused(env, rprocs):
    """sid's python3.15 is newer than pymemwatch's version table: a clean
    refusal (exit 2, 'unsupported'), never a guess at its layout. Turn it
    into a FULL case above once 3.15 is supported."""
    root_name, exe = ROOT_INTERPS["sid-3.15"]
    root = require_root_fs(root_name)
    target = rprocs.target("chroot", root, exe, ["gc"])
    res = run_pmw(["-p", target.pid, "-i", "0.5", "-d", "2", "-q"],
                  timeout=60)
    diag = "%s\n%s" % (res.describe(), target.describe())
    assert res.rc == 2, diag
    assert "unsupported" in res.stderr.lower(), diag
    assert target.proc.poll() is None, "target died\n" + diag


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
