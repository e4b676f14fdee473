"""Shared by the independent workloads (bench/independent): third-party programs from Debian 12's
python3-* packages, each driven through its public API by a thin driver that speaks the bench
protocol of bench/workloads/_protocol.py (ready / SIGUSR1 / elapsed), so scripts/bench.py runs them
unchanged (`scripts/bench.py --set independent`).

A workload defines REQUIRES (modules it imports), setup() and run(state, scale) and ends with
`_common.main(REQUIRES, setup, run)`. `--probe` only checks that REQUIRES import and exits 0, or
prints "missing: ..." and exits 1; bench.py uses it to skip interpreters that lack the packages.

Interpreters other than Debian's: Debian's /usr/lib/python3/dist-packages is put on sys.path just
before the interpreter's own site-packages when its extension modules carry this interpreter's ABI
tag (cpython-311 on bookworm), so e.g. pyenv 3.11.x runs the very same package versions as
/usr/bin/python3.11 (not whatever its own site-packages holds). CPython keeps the ABI stable within
a minor version, so Debian's C extensions (markupsafe, genshi and tornado speedups, dulwich) load.
The interpreter's standard library stays first. Another minor version gets nothing added, its
probe fails and bench.py skips the set there.
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "workloads"))
import _protocol  # noqa: E402  the protocol shared with bench/workloads

DEBIAN_DIST = "/usr/lib/python3/dist-packages"


def _add_debian_packages():
    if DEBIAN_DIST in sys.path or not os.path.isdir(DEBIAN_DIST):
        return
    tag = sys.implementation.cache_tag  # e.g. cpython-311
    sos = glob.glob(os.path.join(DEBIAN_DIST, "*.cpython-*.so")) + glob.glob(os.path.join(DEBIAN_DIST, "*", "*.cpython-*.so"))
    if not sos or not all(".%s-" % tag in os.path.basename(s) for s in sos):
        return  # built for another CPython minor version: unsafe, add nothing
    site = [i for i, p in enumerate(sys.path) if p.rstrip("/").endswith(("site-packages", "dist-packages"))]
    sys.path.insert(site[0] if site else len(sys.path), DEBIAN_DIST)


def data_path(*candidates):
    """First existing path among candidates (inputs that ship with Debian packages)."""
    for c in candidates:
        if os.path.exists(c):
            return c
    raise SystemExit("input not found: %s" % ", ".join(candidates))


def main(requires, setup, run):
    _add_debian_packages()
    if sys.argv[1:] == ["--probe"]:
        missing = []
        for mod in requires:
            try:
                __import__(mod)
            except Exception as e:  # ImportError, or an extension that does not load
                missing.append("%s (%s: %s)" % (mod, type(e).__name__, str(e).split("\n")[0][:80]))
        if missing:
            print("missing: " + "; ".join(missing))
            sys.exit(1)
        print("ok")
        return
    _protocol.main(setup, run)
