"""pymemwatch -a: every CPython process of the host, containers included.

Several Python processes run: a leaking one (Debian python3.11), an idle
pyenv 3.12, a trixie python3.13 in a chroot, a sid python3.14 inside
`unshare --mount --pid --fork` (PID 1 of its namespace), and a pyenv 3.13
started after pymemwatch. `pymemwatch -a -d 30 --csv FILE` must find them
all, report both PIDs of the namespaced one and its container identity,
and rank the leaking one first.
"""

import csv
import os
import subprocess
import time

import pytest

from conftest import WORKLOADS, get_interp, pyenv_root
from roots import ROOT_INTERPS, RootProcs, require_root_fs

IDLE = "import os, time; print('ready %d' % os.getpid(), flush=True); time.sleep(120)"


@pytest.fixture
def rprocs():
    p = RootProcs()
    yield p
    p.cleanup()


def test_sweep_finds_and_ranks(env, procs, rprocs, tmp_path):
    leaky = get_interp("debian-3.11")
    idle = get_interp("pyenv-3.12.1")
    late_py = os.path.join(pyenv_root(), "versions", "3.13.0", "bin", "python3.13")
    if not os.path.exists(late_py):
        pytest.skip("pyenv 3.13.0 missing: %s" % late_py)

    leak = procs.popen([leaky.path, os.path.join(WORKLOADS, "leaky_service.py"), "90"],
                       stdout=subprocess.PIPE, text=True)
    assert leak.stdout.readline().startswith("ready")
    quiet = procs.popen([idle.path, "-c", IDLE], stdout=subprocess.PIPE, text=True)
    assert quiet.stdout.readline().startswith("ready")

    troot = require_root_fs(ROOT_INTERPS["trixie-3.13"][0])
    chrooted = rprocs.process("chroot", troot, [ROOT_INTERPS["trixie-3.13"][1], "-c", IDLE])
    chrooted.wait_ready()
    sroot = require_root_fs(ROOT_INTERPS["sid-3.14"][0])
    nsed = rprocs.process("unshare", sroot, [ROOT_INTERPS["sid-3.14"][1], "-c", IDLE])
    nsed.wait_ready()

    csv_path = str(tmp_path / "sweep.csv")
    pmw = procs.watch("-a", "-d", 30, "--csv", csv_path, "-i", 1, "-q")
    pmw.wait_watching()
    time.sleep(3)
    late = procs.popen([late_py, "-c", IDLE], stdout=subprocess.PIPE, text=True)
    assert late.stdout.readline().startswith("ready")
    res = pmw.wait(90) or pmw.stop()
    assert res.rc == 0, res.describe()

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    by_pid = {}
    for r in rows:
        by_pid.setdefault(int(r["pid"]), []).append(r)
    diag = "pids seen: %s\n%s" % (sorted(by_pid), res.describe()[-3000:])
    for p in (leak.pid, quiet.pid, chrooted.pid, nsed.pid, late.pid):
        assert p in by_pid, "PID %d not found\n%s" % (p, diag)

    # both PIDs of the namespaced process, and a container identity for it
    last_ns = by_pid[nsed.pid][-1]
    assert int(last_ns["ns_pid"]) == nsed.ns_pid == 1, diag
    assert last_ns["container"].startswith(("mntns:", "chroot:")), last_ns
    assert by_pid[chrooted.pid][-1]["container"].startswith(("chroot:", "mntns:")), diag
    assert by_pid[nsed.pid][-1]["python"].startswith("3.14"), diag
    assert by_pid[chrooted.pid][-1]["python"].startswith("3.13"), diag

    # the leaking process ranks first by leak score at the end
    last = {p: float(rs[-1]["leak_score"]) for p, rs in by_pid.items() if rs[-1]["exited"] == "0"}
    best = max(last, key=last.get)
    assert best == leak.pid, "ranking %s\n%s" % (sorted(last.items(), key=lambda x: -x[1]), diag)
    # the final sweep report ranks it first too
    lines = [l for l in res.stdout.splitlines() if l[:1].isdigit()]
    assert lines and int(lines[0].split()[0]) == leak.pid, res.stdout[-2000:]
