"""Targets living in other Debian roots (other CPython versions, other
mount and PID namespaces), for test_matrix.py.

The roots are minimal debootstrap trees built and cached by
scripts/make-roots.sh (default /var/cache/pymemwatch/roots, or
$PMW_ROOTS_DIR). A target is started in one of two modes:

chroot   ``chroot ROOT /usr/bin/python3.X ...``: another root directory, same
         mount and PID namespace; the PID the target prints is its host PID.
unshare  ``unshare --mount --pid --fork --kill-child --root=ROOT --mount-proc
         /usr/bin/python3.X ...``: another root, mount namespace and PID
         namespace, the interpreter is PID 1 of its namespace (as in a
         container whose command is python). It prints ``ready 1``; its host
         PID (the one pymemwatch must be given) is found as the child of the
         unshare process and checked against the NSpid line of
         /proc/PID/status.

RootTarget follows conftest.Target's protocol (``pid``, ``proc``, ``out``,
``err``, ``run_phase()``, ``stop()``), with ``pid`` the host PID.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import PHASE_TIMEOUT, REPO_ROOT, WORKLOADS, LineCollector

MAKE_ROOTS = os.path.join(REPO_ROOT, "scripts", "make-roots.sh")
ROOTS_DIR = os.environ.get("PMW_ROOTS_DIR") or "/var/cache/pymemwatch/roots"
# Every root a test uses, built when missing (make-roots.sh's defaults, plus
# bullseye-dbg: pymemwatch needs python3.9's debug symbols for 3.8-3.11;
# sid-dbg: stacks of 3.14 and 3.15 need their debug symbols; bookworm-pypy:
# a non-CPython interpreter to refuse), so that a fresh `make test` skips
# none of them unless the Debian archive cannot be reached.
DEFAULT_ROOTS = ("bullseye", "bullseye-dbg", "trixie", "sid", "sid-dbg", "bookworm-pypy")
BUILD_TIMEOUT = 900.0          # the six roots from scratch take ~4-5 min
MODES = ("chroot", "unshare")
READY_TIMEOUT = 60.0

# id -> (root name, path of the interpreter inside the root)
ROOT_INTERPS = {
    "bullseye-3.9": ("bullseye", "/usr/bin/python3.9"),
    "bullseye-dbg-3.9": ("bullseye-dbg", "/usr/bin/python3.9"),
    "trixie-3.13": ("trixie", "/usr/bin/python3.13"),
    "sid-3.14": ("sid", "/usr/bin/python3.14"),
    "sid-3.15": ("sid", "/usr/bin/python3.15"),
    "sid-dbg-3.14": ("sid-dbg", "/usr/bin/python3.14"),
    "sid-dbg-3.15": ("sid-dbg", "/usr/bin/python3.15"),
}


def root_path(name):
    return os.path.join(ROOTS_DIR, name)


def root_ready(name):
    """True when make-roots.sh finished building root `name`."""
    return os.path.isfile(os.path.join(root_path(name), ".pymemwatch-root"))


def root_info(name):
    """The .pymemwatch-root stamp of a built root (text), or ''."""
    try:
        with open(os.path.join(root_path(name), ".pymemwatch-root")) as f:
            return f.read()
    except OSError:
        return ""


_ensured = {}


def ensure_roots(names=DEFAULT_ROOTS):
    """Run make-roots.sh once per session for `names` (fast when cached).

    Returns {name: None if the root is ready, else the reason it is not}.
    """
    todo = [n for n in names if n not in _ensured]
    if todo:
        reason = None
        if not os.access(MAKE_ROOTS, os.X_OK):
            reason = "%s missing" % MAKE_ROOTS
        else:
            argv = [MAKE_ROOTS, ROOTS_DIR] + todo
            try:
                cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    timeout=BUILD_TIMEOUT)
                if cp.returncode != 0:
                    tail = " | ".join(cp.stdout.strip().splitlines()[-4:])
                    reason = "`%s` failed (exit %d): %s" % (
                        " ".join(argv), cp.returncode, tail)
            except subprocess.TimeoutExpired:
                reason = "`%s` took more than %ds" % (" ".join(argv),
                                                      BUILD_TIMEOUT)
            except OSError as e:
                reason = "cannot run %s: %s" % (MAKE_ROOTS, e)
        for n in todo:
            _ensured[n] = None if root_ready(n) else (
                reason or "root %s not built" % n)
    return {n: _ensured[n] for n in names}


def require_root_fs(name):
    """Skip the calling test unless root `name` exists (building it if
    it is one of the default roots: every root the tests use); returns
    its host path."""
    if name in DEFAULT_ROOTS:
        why = ensure_roots()[name]
    else:
        why = None if root_ready(name) else (
            "root %s not built (run as root: %s %s %s)"
            % (name, MAKE_ROOTS, ROOTS_DIR, name))
    if why:
        pytest.skip("root %s unavailable: %s" % (name, why))
    return root_path(name)


def python_version(root, exe):
    """sys.version of `exe` inside `root` as "X.Y.Z" (asked the interpreter)."""
    cp = subprocess.run(["chroot", root, exe, "-c",
                         "import platform; print(platform.python_version())"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=60)
    if cp.returncode != 0:
        pytest.fail("%s does not run in %s: %s" % (exe, root, cp.stderr))
    return cp.stdout.strip()


class RootDir(object):
    """A private directory /tmp/pmw/<id> inside a root holding a copy of
    the workloads; `inside()` and `host()` map paths both ways."""

    def __init__(self, root):
        self.root = root
        self.rel = os.path.join("tmp", "pmw", uuid.uuid4().hex[:12])
        self.hostdir = os.path.join(root, self.rel)
        os.makedirs(self.hostdir, mode=0o700)
        for name in ("gc_window.py", "leaky_service.py", "tuple_payloads.py"):
            shutil.copy(os.path.join(WORKLOADS, name), self.hostdir)

    def inside(self, name):
        """Path of `name` as the target sees it."""
        return "/" + os.path.join(self.rel, name)

    def host(self, name):
        """Path of `name` as the host (and the test) sees it."""
        return os.path.join(self.hostdir, name)

    def remove(self):
        shutil.rmtree(self.hostdir, ignore_errors=True)


def _status(pid):
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.split()
    except OSError:
        return None
    return fields


def children(pid):
    """Host PIDs whose parent is `pid`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = _status(int(d))
        if st and st.get("PPid") == [str(pid)]:
            out.append(int(d))
    return sorted(out)


def ns_pids(pid):
    """The NSpid line of a host PID: [host pid, ..., innermost pid]."""
    st = _status(pid)
    return [int(x) for x in st.get("NSpid", [])] if st else []


def launcher(mode, root):
    """argv prefix that runs a command inside `root` in `mode`."""
    if mode == "chroot":
        return ["chroot", root]
    if mode == "unshare":
        # --kill-child: the interpreter gets SIGKILL if unshare dies
        return ["unshare", "--mount", "--pid", "--fork", "--kill-child",
                "--root=" + root, "--mount-proc"]
    raise ValueError(mode)


class RootProcess(object):
    """Any command started inside a root; finds the host PID of the
    process that runs it (the unshare mode's child)."""

    def __init__(self, mode, root, argv):
        self.mode = mode
        self.root = root
        self.argv = launcher(mode, root) + list(argv)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.out = LineCollector(self.proc.stdout, "root-out")
        self.err = LineCollector(self.proc.stderr, "root-err")
        self.pid = self.proc.pid if mode == "chroot" else None
        self.ns_pid = None

    def describe(self):
        return ("%s target %s\nhost pid %s, namespace pid %s\nstdout:\n%s\n"
                "stderr:\n%s" % (self.mode, self.argv, self.pid, self.ns_pid,
                                 self.out.text(), self.err.text()))

    def wait_ready(self, pattern="ready ", timeout=READY_TIMEOUT):
        """Wait for a `ready <pid>` line; set ns_pid and the host pid."""
        i = self.out.wait_for(pattern, timeout)
        if i is None:
            self.stop()
            pytest.fail("target never printed %r\n%s"
                        % (pattern, self.describe()))
        self.ns_pid = int(self.out.lines[i].split()[1])
        if self.mode == "unshare":
            kids = children(self.proc.pid)
            if len(kids) != 1:
                self.stop()
                pytest.fail("unshare (PID %d) has children %s, expected one"
                            "\n%s" % (self.proc.pid, kids, self.describe()))
            self.pid = kids[0]
        nsp = ns_pids(self.pid)
        want_depth = 1 if self.mode == "chroot" else 2
        if len(nsp) != want_depth or nsp[0] != self.pid \
                or nsp[-1] != self.ns_pid:
            self.stop()
            pytest.fail("PID %d: NSpid %s does not match the printed pid %d"
                        " in mode %s\n%s" % (self.pid, nsp, self.ns_pid,
                                             self.mode, self.describe()))

    def stop(self):
        """SIGTERM the interpreter (its host PID), then SIGKILL."""
        if self.proc.poll() is None:
            victim = self.pid or self.proc.pid
            try:
                os.kill(victim, signal.SIGTERM)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                for p in (victim, self.proc.pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.join()
        self.err.join()
        return self.proc.returncode


class RootTarget(RootProcess):
    """tests/workloads/gc_window.py run by `exe` inside `root`: conftest's
    Target protocol, with `pid` the host PID and `ns_pid` the PID the
    target printed (1 in the unshare mode)."""

    def __init__(self, mode, root, exe, phases, name="target"):
        self.dir = RootDir(root)
        self.exe = exe
        self.phases = list(phases)
        self.prefix = self.dir.inside(name)          # as the target sees it
        self.host_prefix = self.dir.host(name)       # as we see it
        argv = [exe, self.dir.inside("gc_window.py"), self.prefix] \
            + self.phases
        super(RootTarget, self).__init__(mode, root, argv)
        self.wait_ready()

    def run_phase(self, name, timeout=PHASE_TIMEOUT):
        """SIGUSR1 to the host PID, wait for `done <name>`, return the JSON
        the target wrote (read through the root on the host side)."""
        mark = len(self.out.lines)
        os.kill(self.pid, signal.SIGUSR1)
        if self.out.wait_for("done " + name, timeout, start=mark) is None:
            pytest.fail("target never finished phase %s\n%s"
                        % (name, self.describe()))
        with open("%s.%s.json" % (self.host_prefix, name)) as f:
            return json.load(f)

    def stop(self):
        rc = super(RootTarget, self).stop()
        self.dir.remove()
        return rc


class RootProcs(object):
    """Starts root targets; stops them at the end of the test."""

    def __init__(self):
        self.items = []

    def target(self, mode, root, exe, phases, name="target"):
        t = RootTarget(mode, root, exe, phases, name)
        self.items.append(t)
        return t

    def process(self, mode, root, argv):
        p = RootProcess(mode, root, argv)
        self.items.append(p)
        return p

    def cleanup(self):
        for t in self.items:
            t.stop()
