"""The static build (`make static` -> ./pymemwatch-static) runs unchanged on
other distributions.

The binary is copied into the Debian bullseye (glibc 2.31, python3.9) and sid
(python3.14) roots of scripts/make-roots.sh, neither of which has libbpf,
libelf or the glibc it was linked against, and run there by chroot (with the
host's /proc and /sys bound into the root in a private mount namespace, as a
container runtime would) against two Python processes of that root:
tests/workloads/gc_window.py, whose GC figures must equal its own
gc.get_stats() exactly, and tests/workloads/leaky_service.py, whose two leaks
(__main__.AUDIT_LOG, __main__.SESSIONS) the leak table must rank first, with
the bounded __main__.CACHE not in it. The dynamic ./pymemwatch, copied the
same way, must not even start there: that is what the static build is for.

`make static` is run first (incremental: ~1 s when up to date; its one
download, Debian's libmicrohttpd source, is cached by
scripts/build-static-deps.sh); an unreachable source skips with the reason.
"""

import csv
import os
import shutil
import subprocess
import time

import pytest

from conftest import (REPO_ROOT, Watch, assert_gc_matches, check_header, format_rows, read_csv,
                      rows_for, wait_rows)
from roots import RootProcs, python_version, require_root_fs

STATIC = os.path.join(REPO_ROOT, "pymemwatch-static")
WATCH_S = 14           # the leak table needs 4 walks over 6 s; some slack for attach
ROOTS = [("bullseye", "/usr/bin/python3.9"), ("sid", "/usr/bin/python3.14")]


@pytest.fixture(scope="module")
def static_binary():
    cp = subprocess.run(["make", "-s", "static"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=900)
    if cp.returncode != 0 and "apt-get source" in cp.stdout:
        pytest.skip("make static: Debian's libmicrohttpd source is unreachable: "
                    + cp.stdout.strip().splitlines()[-1])
    assert cp.returncode == 0, "make static failed:\n" + cp.stdout
    ldd = subprocess.run(["ldd", STATIC], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    assert "not a dynamic executable" in ldd.stdout, ldd.stdout
    interp = subprocess.run(["readelf", "-l", STATIC], stdout=subprocess.PIPE, text=True).stdout
    assert "INTERP" not in interp and "DYNAMIC" not in interp, interp
    return STATIC


@pytest.fixture
def rprocs():
    p = RootProcs()
    yield p
    p.cleanup()


def in_root(root, binary):
    """argv prefix that runs `binary` (a path inside `root`) there by chroot,
    with the host's /proc and /sys bound in a private mount namespace. Watch
    appends its own binary path and the arguments: the script takes the path
    as $0 and drops it."""
    script = ('mount --bind /proc "$ROOT/proc" && mount --rbind /sys "$ROOT/sys" && '
              'exec chroot "$ROOT" "$PMW_IN_ROOT" "$@"')
    return ["env", "ROOT=" + root, "PMW_IN_ROOT=" + binary,
            "unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def leak_rows(path, pid):
    """The leak table of the last interval of `pid` in a --csv-leaks file, by rank."""
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["pid"] == str(pid)]
    last = [r for r in rows if rows and r["time"] == rows[-1]["time"]]
    return sorted(last, key=lambda r: int(r["rank"]))


@pytest.mark.parametrize("root_name,exe", ROOTS, ids=[r for r, _ in ROOTS])
def test_static_binary_in_other_distribution(env, procs, rprocs, static_binary, root_name, exe):
    root = require_root_fs(root_name)
    version = python_version(root, exe)
    target = rprocs.target("chroot", root, exe, ["gc"])
    d = target.dir
    leaky = rprocs.process("chroot", root, [exe, d.inside("leaky_service.py"), "120"])
    leaky.wait_ready()
    for name, src in (("pymemwatch-static", static_binary), ("pymemwatch-dynamic", env)):
        shutil.copy(src, d.host(name))

    dyn = subprocess.run(["chroot", root, d.inside("pymemwatch-dynamic"), "--version"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert dyn.returncode != 0 and "error while loading shared libraries" in dyn.stdout, \
        "the dynamic build started in %s: the static test proves nothing\n%s" % (root, dyn.stdout)

    gc_csv, leaks_csv = d.host("gc.csv"), d.host("leaks.csv")
    pmw = Watch(["-p", "%d,%d" % (target.pid, leaky.pid), "-i", "1", "-q",
                 "--csv", d.inside("gc.csv"), "--csv-leaks", d.inside("leaks.csv")],
                wrap=in_root(root, d.inside("pymemwatch-static")))
    procs.watches.append(pmw)
    t0 = time.monotonic()
    pmw.wait_watching()
    assert wait_rows(gc_csv, target.pid, 1), pmw.stop().describe()
    snap = target.run_phase("gc")
    time.sleep(max(2.5, WATCH_S - (time.monotonic() - t0)))
    res = pmw.stop()
    header, rows = read_csv(gc_csv)
    gc_rows = rows_for(rows, target.pid)
    leaks = leak_rows(leaks_csv, leaky.pid)
    diag = "%s (python %s)\n%s\nrows:\n%s\nleaks: %s" % (
        root_name, version, res.describe(), format_rows(gc_rows),
        [(r["rank"], r["holder"], r["items"], r["item_type"]) for r in leaks])

    assert res.rc == 0, diag
    check_header(header)
    assert_gc_matches(gc_rows, snap, diag)
    assert all(r["python"] == version for r in gc_rows), diag
    assert {r["holder"] for r in leaks[:2]} == {"__main__.AUDIT_LOG", "__main__.SESSIONS"}, diag
    assert "__main__.CACHE" not in {r["holder"] for r in leaks}, diag
    assert target.proc.poll() is None and leaky.proc.poll() is None, "a target died\n" + diag
