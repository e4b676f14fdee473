"""Holder paths and retained size (user/holders.c), read from outside.

A target (tests/workloads/holder_run.py) grows containers of every holder
shape (module global list/dict/set/deque, class attribute, instance attribute
through a module-level singleton, closure cell, function default and
keyword-only default, a dict nested in a class attribute, nested 4 deep,
functools.lru_cache) and prints id(), len() and the retained size by
sys.getsizeof of each one, with the path Python would spell. A small C driver
(holders_driver.c, linked with the built .output objects) calls
pmw_holders_find() on those addresses; the test compares.
"""

import glob
import os
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT, WORKLOADS, INTERPRETERS, pyenv_root
from roots import ROOT_INTERPS, RootDir, require_root_fs

DRIVER_SRC = os.path.join(REPO_ROOT, "tests", "integration", "holders_driver.c")
STRIPPED_DIR = os.environ.get("PMW_STRIPPED_DIR") or "/var/cache/pymemwatch/stripped"
N_ITEMS = 300
RETAINED_TOLERANCE = 0.10   # sampled + extrapolated vs sys.getsizeof in the target


def _pyenv(version):
    return os.path.join(pyenv_root(), "versions", version, "bin",
                        "python" + ".".join(version.split(".")[:2]))


def _stripped(version):
    """strip --strip-all copy of a pyenv interpreter (scripts/make-stripped.sh)."""
    short = ".".join(version.split(".")[:2])
    exe = os.path.join(STRIPPED_DIR, version, "bin", "python" + short)
    script = os.path.join(REPO_ROOT, "scripts", "make-stripped.sh")
    if not os.path.exists(exe) and os.path.exists(script) and os.geteuid() == 0:
        subprocess.run(["sh", script, STRIPPED_DIR, version], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300)
    return exe


HOLDER_INTERPS = {
    "debian-3.11": INTERPRETERS["debian-3.11"][0],
    "pyenv-3.12.1": INTERPRETERS["pyenv-3.12.1"][0],
    "pyenv-3.13.0": INTERPRETERS["pyenv-3.13.0"][0],
    "stripped-3.12.1": None,  # resolved lazily: building it needs root
    "pyenv-3.8.18": _pyenv("3.8.18"),
    "pyenv-3.9.18": _pyenv("3.9.18"),
    "pyenv-3.10.13": _pyenv("3.10.13"),
    # Debian roots (scripts/make-roots.sh), run with chroot
    "trixie-3.13": ROOT_INTERPS["trixie-3.13"],
    "sid-3.14": ROOT_INTERPS["sid-3.14"],
    "sid-3.15": ROOT_INTERPS["sid-3.15"],
}


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    # the objects of user/**/*.c as `make` builds them (stale ones of removed sources left out)
    user = os.path.join(REPO_ROOT, "user")
    srcs = glob.glob(os.path.join(user, "*.c")) + glob.glob(os.path.join(user, "*", "*.c"))
    objs = [os.path.join(REPO_ROOT, ".output", os.path.relpath(c, user)[:-2] + ".o")
            for c in srcs if not c.endswith("/main.c")]
    incs = ["-I" + d for d in [user] + sorted(glob.glob(os.path.join(user, "*", "")))]
    missing = [o for o in objs if not os.path.exists(o)]
    if missing:
        pytest.skip("built objects missing in .output (run `make`): %s" % missing[:3])
    if not shutil.which("cc"):
        pytest.skip("no C compiler")
    # link with the libraries the Makefile links pymemwatch with (its LDLIBS)
    db = subprocess.run(["make", "-C", REPO_ROOT, "-pnq", "pymemwatch"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True).stdout
    libs = [line.split(":=", 1)[1].split() for line in db.splitlines()
            if line.startswith("LDLIBS :=")]
    assert libs, "no LDLIBS in the Makefile's database"
    out = str(tmp_path_factory.mktemp("holders") / "holders_driver")
    argv = (["cc", "-g", "-O1", "-D_GNU_SOURCE", "-I" + os.path.join(REPO_ROOT, "include"),
             "-I" + os.path.join(REPO_ROOT, ".output")] + incs + [
             DRIVER_SRC] + objs + libs[0] + ["-o", out])
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert res.returncode == 0, "driver build failed:\n" + res.stdout
    return out


class HolderTarget(object):
    def __init__(self, argv, n=N_ITEMS, extra=()):
        self.proc = subprocess.Popen(argv + [str(n)] + list(extra), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.shapes = []    # (addr, len, retained, kind, path)
        self.orphan = None
        self.parents = {}   # addr: the dict holding it (h->parent, as the walk would give)
        for line in self.proc.stdout:
            f = line.split()
            if f[0] == "SHAPE":
                self.shapes.append((int(f[1]), int(f[2]), int(f[3]), f[4], " ".join(f[5:])))
            elif f[0] == "PARENT":
                self.parents[int(f[1])] = int(f[2])
            elif f[0] == "ORPHAN":
                self.orphan = (int(f[1]), int(f[2]), int(f[3]))
            elif f[0] == "READY":
                return
        raise AssertionError("target ended early: " + self.proc.stderr.read())

    def command(self, cmd):
        """Send a command to the target, wait for its acknowledgement."""
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.strip() == "OK " + cmd:
                return
        raise AssertionError("target ended during %r: %s" % (cmd, self.proc.stderr.read()))

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def run_driver(driver, pid, addrs, repeat=2, opts=(), parents=None):
    parents = parents or {}
    res = subprocess.run([driver, "-r", str(repeat)] + list(opts) + [str(pid)] +
                         ["0x%x/0x%x" % (a, parents[a]) if a in parents else "0x%x" % a
                          for a in addrs],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if res.returncode == 3:
        pytest.skip("no object layouts for this version: " + res.stderr.strip())
    assert res.returncode == 0, "driver failed (%d): %s" % (res.returncode, res.stderr)
    return parse_driver(res.stdout)


def parse_driver(out):
    """({call: {addr: holder}}, {call: stats}, raw text) from the driver's output."""
    calls, stats = {}, {}
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "stats":
            stats[int(f[1])] = dict(reads=int(f[2]), nodes=int(f[3]), torn=int(f[4]),
                                    spent=int(f[5]), ms=float(f[6]))
            continue
        calls.setdefault(int(f[0]), {})[int(f[1], 16)] = dict(
            kind=f[2], items=int(f[3]), retained=None if f[4] == "-" else int(f[4]),
            item_type=f[5], path=f[6])
    return calls, stats, out


def start(ident, tmpdirs):
    """The target's argv for interpreter `ident` (chroot for Debian roots)."""
    what = HOLDER_INTERPS[ident]
    if isinstance(what, tuple):     # (root name, interpreter inside it)
        root = require_root_fs(what[0])
        if not os.access(os.path.join(root, what[1].lstrip("/")), os.X_OK):
            pytest.skip("%s not in root %s" % (what[1], what[0]))
        d = RootDir(root)
        tmpdirs.append(d)
        for f in ("holder_run.py", "holder_shapes.py"):
            shutil.copy(os.path.join(WORKLOADS, f), d.host(f))
        return ["chroot", root, what[1], d.inside("holder_run.py")]
    exe = _stripped(ident.split("-", 1)[1]) if ident.startswith("stripped-") else what
    if not exe or not os.access(exe, os.X_OK):
        pytest.skip("interpreter %s not found at %s" % (ident, exe))
    return [exe, os.path.join(WORKLOADS, "holder_run.py")]


@pytest.mark.parametrize("ident,extra", [pytest.param(i, (), id=i) for i in sorted(HOLDER_INTERPS)] + [
    pytest.param(i, ("many", "more"), id=i + "-many")
    for i in ("debian-3.11", "pyenv-3.13.0")])
def test_holder_paths(driver, root, ident, extra):
    """Every shape's path, kind, len() and retained size; with "many", after ~150
    standard-library modules were imported (the search must not run out of budget), and
    the shapes of 3.11+ (a suspended generator's local, a list in a dict of 5,000 entries,
    a threading.local's attribute set by another thread, a list in a dict in a dict of 5,000
    entries: reached through its parent, as the walk gives it)."""
    tmpdirs = []
    try:
        t = HolderTarget(start(ident, tmpdirs), extra=extra)
        try:
            addrs = [s[0] for s in t.shapes] + [t.orphan[0]]
            calls, stats, raw = run_driver(driver, t.proc.pid, addrs, parents=t.parents)
        finally:
            t.stop()
    finally:
        for d in tmpdirs:
            d.remove()
    assert sorted(calls) == [0, 1], raw
    for call in (0, 1):
        got = calls[call]
        for addr, length, retained, kind, path in t.shapes:
            h = got[addr]
            ctx = "call %d, %s on %s:\n%s" % (call, path, ident, raw)
            assert h["path"] == path, ctx
            assert h["kind"] == kind, ctx
            assert h["items"] == length, ctx
            assert h["retained"] is not None, ctx
            assert abs(h["retained"] - retained) <= RETAINED_TOLERANCE * retained, \
                "retained %d, sys.getsizeof says %d: %s" % (h["retained"], retained, ctx)
        # held only by a frame's local variable: no path, but its size is known
        orphan = got[t.orphan[0]]
        assert orphan["path"] == "" and orphan["kind"] == "unknown", raw
        assert orphan["items"] == t.orphan[1], raw
    # item types as the target made them
    types = {p: calls[0][a]["item_type"] for a, _, _, _, p in t.shapes}
    assert types["holder_shapes.SESSIONS"] == "bytes"
    assert types["holder_shapes.ACTIVE_TOKENS"] == "str"
    assert types["holder_shapes.Registry.points"] == "float"
    assert types["holder_shapes.EVENTS"] == "tuple"
    assert types["functools.lru_cache(holder_shapes.fetch)"] == "bytes"
    # the search stayed within its budget; the second call re-checked cached paths
    assert not stats[0]["spent"], raw
    assert stats[1]["nodes"] == 0 and stats[1]["reads"] < stats[0]["reads"], raw


def test_holder_moved(driver, root):
    """A container that changes holder between two calls gets its new path: the cached
    path is re-checked through the slot that held it (here a deleted module global)."""
    t = HolderTarget(start("debian-3.11", []))
    try:
        addrs = [a[0] for a in t.shapes]
        drv = subprocess.Popen([driver, "-w", "-r", "2", str(t.proc.pid)] +
                               ["0x%x" % a for a in addrs], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = []
        for line in drv.stdout:
            first.append(line)
            if line.startswith("stats\t0"):
                break
        t.command("move")
        out, err = drv.communicate("\n", timeout=120)
        assert drv.returncode == 0, err
    finally:
        t.stop()
    calls, _, raw = parse_driver("".join(first) + out)
    moved = [a for a, _, _, _, p in t.shapes if p == "holder_shapes.ACTIVE_TOKENS"][0]
    assert calls[0][moved]["path"] == "holder_shapes.ACTIVE_TOKENS", raw
    assert calls[1][moved]["path"] == "holder_shapes.MOVED", raw
    for addr, _, _, _, path in t.shapes:
        if addr != moved:
            assert calls[1][addr]["path"] == path, raw


@pytest.mark.parametrize("ident", ["debian-3.11", "pyenv-3.13.0"])
def test_holder_churn(driver, root, ident):
    """While a thread of the target resizes and mutates the containers, repeated searches
    never report a wrong path and find nearly all (a torn read may lose one call's path).
    Every call searches afresh (-f)."""
    t = HolderTarget(start(ident, []))
    try:
        t.command("churn")
        calls, stats, raw = run_driver(driver, t.proc.pid, [a[0] for a in t.shapes], repeat=12,
                                       opts=("-f",))
    finally:
        t.stop()
    found = wrong = 0
    for call in calls.values():
        for addr, _, _, _, path in t.shapes:
            got = call[addr]["path"]
            found += got == path
            wrong += got not in ("", path)
    assert wrong == 0, raw
    assert found >= 0.9 * len(calls) * len(t.shapes), raw
