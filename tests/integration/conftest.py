"""Shared fixtures and helpers for pymemwatch's integration tests.

The tests run the real ./pymemwatch binary (build it with `make`) against
real CPython processes. They need root; every test skips with a printed
reason (pytest -rs) when root, the binary or an interpreter is missing.

Workload protocol (tests/workloads/gc_window.py): the target prints
``ready <pid>``, then each SIGUSR1 runs the next phase named on its
command line and prints ``done <phase>`` after writing
``<prefix>.<phase>.json`` with its own before/after snapshots.
"""

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# PYMEMWATCH=/path/to/binary overrides the freshly built ./pymemwatch
BINARY = os.path.abspath(os.environ.get("PYMEMWATCH") or
                         os.path.join(REPO_ROOT, "pymemwatch"))
WORKLOADS = os.path.join(REPO_ROOT, "tests", "workloads")

ATTACH_TIMEOUT = 60.0      # attaching (symbol lookup, uprobes) can be slow
PHASE_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0        # SIGINT -> SIGKILL grace period


# --------------------------------------------------------------------------
# interpreters


def pyenv_root():
    env = os.environ.get("PYENV_ROOT")
    if env and os.path.isdir(env):
        return env
    exe = shutil.which("pyenv") or "/root/.pyenv/bin/pyenv"
    if os.path.exists(exe):
        try:
            out = subprocess.run([exe, "root"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True,
                                 timeout=10).stdout.strip()
            if out and os.path.isdir(out):
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return "/root/.pyenv"


def _pyenv_python(version):
    short = ".".join(version.split(".")[:2])
    return os.path.join(pyenv_root(), "versions", version, "bin",
                        "python" + short)


# id -> (path, description); --exact needs a non-LTO build (pyenv)
INTERPRETERS = {
    "debian-3.11": ("/usr/bin/python3.11", "Debian static LTO build, USDT"),
    "pyenv-3.12.1": (_pyenv_python("3.12.1"), "pyenv shared libpython"),
    "pyenv-3.13.0": (_pyenv_python("3.13.0"), "pyenv shared libpython"),
}


class Interp(object):
    def __init__(self, ident, path, desc):
        self.id = ident
        self.path = path
        self.desc = desc
        self.exact_capable = ident.startswith("pyenv-")

    def __repr__(self):
        return "Interp(%s, %s)" % (self.id, self.path)


def get_interp(ident):
    path, desc = INTERPRETERS[ident]
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip("interpreter %s not found at %s" % (ident, path))
    return Interp(ident, path, desc)


@pytest.fixture(params=sorted(INTERPRETERS))
def interp(request):
    """Each interpreter of the test matrix (skipped if not installed)."""
    return get_interp(request.param)


# --------------------------------------------------------------------------
# environment fixtures


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def binary():
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        pytest.skip("pymemwatch binary missing at %s (run `make`)" % BINARY)
    return BINARY


@pytest.fixture(scope="session")
def root():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (BPF, uprobes)")
    return True


@pytest.fixture
def env(binary, root):
    """Everything a test running pymemwatch on a target needs."""
    return binary


# --------------------------------------------------------------------------
# process helpers


class LineCollector(object):
    """Reads a text stream in a thread; lets a test wait for a substring."""

    def __init__(self, stream, name):
        self.name = name
        self.lines = []
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(stream,),
                                        name="reader-" + name, daemon=True)
        self._thread.start()

    def _run(self, stream):
        try:
            for line in iter(stream.readline, ""):
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        except (ValueError, OSError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def text(self):
        with self._cond:
            return "\n".join(self.lines)

    def find(self, substring, start=0):
        with self._cond:
            for i in range(start, len(self.lines)):
                if substring in self.lines[i]:
                    return i
        return -1

    def wait_for(self, substring, timeout, start=0):
        """Index of the first line at or after `start` containing substring;
        None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.lines)):
                    if substring in self.lines[i]:
                        return i
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))

    def join(self, timeout=5.0):
        self._thread.join(timeout)


class Result(object):
    def __init__(self, rc, stdout, stderr, argv):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.argv = argv

    def describe(self):
        return ("command: %s\nexit status: %r\n--- stdout ---\n%s\n"
                "--- stderr ---\n%s\n" % (" ".join(self.argv), self.rc,
                                          self.stdout, self.stderr))


class Target(object):
    """A gc_window.py target: started, waited for `ready`, driven by
    SIGUSR1, phase snapshots read back from JSON."""

    def __init__(self, interp, prefix, phases, script="gc_window.py"):
        self.interp = interp
        self.prefix = prefix
        self.phases = list(phases)
        self.argv = [interp.path, os.path.join(WORKLOADS, script),
                     prefix] + self.phases
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.pid = self.proc.pid
        self.out = LineCollector(self.proc.stdout, "target-out")
        self.err = LineCollector(self.proc.stderr, "target-err")
        if self.out.wait_for("ready %d" % self.pid, 60) is None:
            self.stop()
            pytest.fail("target %s never became ready\nstdout:\n%s\n"
                        "stderr:\n%s" % (self.argv, self.out.text(),
                                         self.err.text()))

    def run_phase(self, name, timeout=PHASE_TIMEOUT):
        """Send SIGUSR1, wait for `done <name>`, return the phase's JSON."""
        mark = len(self.out.lines)
        os.kill(self.pid, signal.SIGUSR1)
        if self.out.wait_for("done " + name, timeout, start=mark) is None:
            pytest.fail("target never finished phase %s\nstdout:\n%s\n"
                        "stderr:\n%s" % (name, self.out.text(),
                                         self.err.text()))
        with open("%s.%s.json" % (self.prefix, name)) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            except ProcessLookupError:
                pass
        return self.proc.returncode


class Watch(object):
    """A running pymemwatch with stdout/stderr collected by threads."""

    def __init__(self, args, wrap=(), **popen_kw):
        # wrap: argv prefix that execs pymemwatch (e.g. unshare into a namespace)
        self.argv = list(wrap) + [BINARY] + [str(a) for a in args]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     bufsize=1, cwd=REPO_ROOT, **popen_kw)
        self.pid = self.proc.pid
        self.out = LineCollector(self.proc.stdout, "pmw-out")
        self.err = LineCollector(self.proc.stderr, "pmw-err")
        self.result = None

    def wait_watching(self, timeout=ATTACH_TIMEOUT):
        if self.err.wait_for("pymemwatch: watching", timeout) is None:
            res = self.stop()
            pytest.fail("pymemwatch did not report `watching` within %ds\n%s"
                        % (timeout, res.describe()))

    def _finish(self):
        self.out.join()
        self.err.join()
        self.result = Result(self.proc.returncode, self.out.text(),
                             self.err.text(), self.argv)
        return self.result

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """SIGINT (then SIGKILL after `timeout` s); returns a Result."""
        if self.result is not None:
            return self.result
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.err.lines.append("(test harness: no exit %ds after "
                                      "signal %d; SIGKILLed)" % (timeout, sig))
        return self._finish()

    def wait(self, timeout):
        """Wait for pymemwatch to exit by itself; None on timeout."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self._finish()


def stop_process(p, grace=10):
    """SIGTERM a Popen, SIGKILL it after @grace seconds."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Procs(object):
    """Starts targets and pymemwatch runs; cleans up leftovers."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.targets = []
        self.watches = []
        self.others = []

    def target(self, interp, phases, name="target", script="gc_window.py"):
        t = Target(interp, str(self.tmp_path / name), phases, script)
        self.targets.append(t)
        return t

    def watch(self, *args, **popen_kw):
        w = Watch(args, **popen_kw)
        self.watches.append(w)
        return w

    def popen(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.others.append(p)
        return p

    def cleanup(self):
        for w in self.watches:
            w.stop()
        for t in self.targets:
            t.stop()
        for p in self.others:
            stop_process(p)


@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    yield p
    p.cleanup()


def tmux_screens(cmd, wait_s, keys=None, after_s=0, size=(120, 40)):
    """Run @cmd in a detached tmux session of @size; the screen after @wait_s seconds and,
    if @keys is given, after sending them and @after_s seconds more (else None)."""
    if not shutil.which("tmux"):
        pytest.skip("tmux missing")
    sess = "pmw-tmux-%d-%d" % (os.getpid(), int(time.monotonic() * 1000))
    grab = ["tmux", "capture-pane", "-p", "-t", sess]
    try:
        subprocess.run(["tmux", "new-session", "-d", "-s", sess, "-x", str(size[0]), "-y",
                        str(size[1]), cmd], check=True)
        time.sleep(wait_s)
        first = subprocess.run(grab, capture_output=True, text=True).stdout
        second = None
        if keys is not None:
            subprocess.run(["tmux", "send-keys", "-t", sess, keys], check=True)
            time.sleep(after_s)
            second = subprocess.run(grab, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], capture_output=True)
    return first, second


def run_pmw(args, timeout=120, wrap=(), **kw):
    """Run pymemwatch to completion (argv prefixed by wrap); returns a Result."""
    argv = list(wrap) + [BINARY] + [str(a) for a in args]
    try:
        cp = subprocess.run(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            timeout=timeout, cwd=REPO_ROOT, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s did not finish within %ds\nstdout:\n%s\nstderr:\n%s"
                    % (argv, timeout, e.stdout, e.stderr))
    return Result(cp.returncode, cp.stdout, cp.stderr, argv)


def watch_phase(procs, target, phase, csv_path, args=(), min_rows=1, quiet=True, **watch_kw):
    """pymemwatch -p TARGET -i 0.5 --csv CSV_PATH -q ARGS around one phase of
    a gc_window.py target (without -q if not @quiet): waits for `min_rows`
    rows first (the CSV is live), runs the phase, lets two more intervals
    pass, stops pymemwatch. Returns (Result, the target's rows, the phase's
    snapshots). The CSV header is checked (check_header)."""
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "--csv", csv_path,
                      *((("-q",) if quiet else ()) + tuple(args)), **watch_kw)
    pmw.wait_watching()
    assert wait_rows(csv_path, target.pid, min_rows), \
        "fewer than %d CSV rows within 30 s of `watching`\n%s" % (
            min_rows, pmw.stop().describe())
    snap = target.run_phase(phase)
    time.sleep(1.2)                              # > 2 intervals
    res = pmw.stop()
    header, rows = read_csv(csv_path)
    check_header(header)
    return res, rows_for(rows, target.pid), snap


# --------------------------------------------------------------------------
# CSV


INT_COLUMNS = ("pid", "allocs", "alloc_bytes", "frees", "live_bytes",
               "arena_bytes", "rss_bytes", "gc_gen0", "gc_gen1", "gc_gen2",
               "gc_collected", "gc_uncollectable", "dropped")
FLOAT_COLUMNS = ("interval_s", "gc_pause_ms_total", "gc_pause_ms_max")
COLUMNS = ("time", "host", "pid", "comm", "python", "interval_s", "allocs",
           "alloc_bytes", "frees", "live_bytes", "arena_bytes", "rss_bytes",
           "gc_gen0", "gc_gen1", "gc_gen2", "gc_collected",
           "gc_uncollectable", "gc_pause_ms_total", "gc_pause_ms_max",
           "precision", "dropped")


def _num(v, conv):
    if v is None or v == "":
        return None
    try:
        return conv(v)
    except ValueError:
        return conv(float(v))


def read_csv(path):
    """(header, rows) with numeric columns converted; missing file -> ([], [])."""
    try:
        with open(path, newline="") as f:
            text = f.read()
    except FileNotFoundError:
        return [], []
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    rows = []
    for raw in reader:
        if None in raw:          # a half-written last line
            continue
        row = dict(raw)
        try:
            for c in INT_COLUMNS:
                if c in row:
                    row[c] = _num(row[c], int)
            for c in FLOAT_COLUMNS:
                if c in row:
                    row[c] = _num(row[c], float)
        except (TypeError, ValueError):
            continue
        rows.append(row)
    return header, rows


def rows_for(rows, pid):
    return [r for r in rows if r.get("pid") == pid]


def wait_rows(path, pid, n, timeout=30.0):
    """Wait until the CSV file has at least n rows for pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, rows = read_csv(path)
        if len(rows_for(rows, pid)) >= n:
            return True
        time.sleep(0.1)
    return False


def format_rows(rows, columns=None):
    if not rows:
        return "(no rows)"
    columns = columns or [c for c in COLUMNS if c in rows[0]]
    out = [",".join(columns)]
    for r in rows:
        out.append(",".join(str(r.get(c)) for c in columns))
    return "\n".join(out)


def check_header(header):
    missing = [c for c in COLUMNS if c not in header]
    assert not missing, "CSV header lacks %s: %s" % (missing, header)
    assert header[:len(COLUMNS)] == list(COLUMNS), \
        "CSV columns out of order: %s" % header


PID_ATTACHED_RE = re.compile(r"attached to PID (\d+)")


def assert_gc_matches(rows, snap, diag):
    """The CSV rows' GC figures equal the change in the target's own
    gc.get_stats() between its snapshots "a" and "b", exactly."""
    a, b = snap["a"]["stats"], snap["b"]["stats"]
    expect = [b[g]["collections"] - a[g]["collections"] for g in range(3)]
    got = [sum(r["gc_gen%d" % g] for r in rows) for g in range(3)]
    assert sum(expect) > 0, "workload made no collections?\n" + diag
    assert got == expect, \
        "collections per generation: pymemwatch %s, gc.get_stats() %s\n%s" \
        % (got, expect, diag)

    expect_freed = sum((b[g]["collected"] + b[g]["uncollectable"])
                       - (a[g]["collected"] + a[g]["uncollectable"])
                       for g in range(3))
    got_freed = sum(r["gc_collected"] + r["gc_uncollectable"] for r in rows)
    assert got_freed == expect_freed, \
        "collected+uncollectable: pymemwatch %d, gc.get_stats() %d\n%s" \
        % (got_freed, expect_freed, diag)
    expect_unc = sum(b[g]["uncollectable"] - a[g]["uncollectable"]
                     for g in range(3))
    assert sum(r["gc_uncollectable"] for r in rows) == expect_unc, diag
