"""Target lifecycle: fork, exec, threads, subinterpreters, exit during attach.

(a) fork: with --follow, a Python child of a -p target is watched as a new
    PID (a note, CSV rows, a final row when it exits); without --follow it
    has no rows and is named once ("not followed (use --follow)").
(b) exec: a target that execs a non-Python ends with a final row and one
    note, and pymemwatch exits when no target is left; one that execs
    another Python is watched on under --follow and -a; -a finds a
    non-Python process that execs into Python; `-- sh -c 'exec python3 ...'`
    needs --follow (else exit 2 with one line saying so).
(c) threads: many threads started and stopped, each allocating and
    collecting: GC counts still equal gc.get_stats() exactly.
(d) subinterpreters (3.11/3.12 _xxsubinterpreters, 3.13 _interpreters),
    one after the other or collecting on another thread at the same time as
    the main interpreter: no crash; the main interpreter's counts still
    equal its gc.get_stats() (subinterpreters' collections are not counted).
(e) a target that exits while pymemwatch attaches: one line, exit 2 (or
    a normal run and exit 0 if it lived past the attach), no uprobe left.

Workload: tests/workloads/lifecycle.py, driven by lines on its stdin.
"""

import json
import os
import re
import subprocess
import time

import pytest

from conftest import (WORKLOADS, LineCollector, assert_gc_matches, format_rows, get_interp,
                      read_csv, rows_for, run_pmw, wait_rows)
from test_robust import bpftool_json, uprobe_events

LIFECYCLE = os.path.join(WORKLOADS, "lifecycle.py")
SHORT = os.path.join(WORKLOADS, "short_script.py")
IDLE = "import os, time; print('ready %d' % os.getpid(), flush=True); time.sleep(60)"


class Driven(object):
    """A lifecycle.py target: commands on stdin, answers on stdout."""

    def __init__(self, procs, interp):
        self.proc = procs.popen([interp.path, LIFECYCLE], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                bufsize=1)
        self.pid = self.proc.pid
        self.out = LineCollector(self.proc.stdout, "lifecycle-out")
        self.err = LineCollector(self.proc.stderr, "lifecycle-err")
        assert self.out.wait_for("ready %d" % self.pid, 60) is not None, self.err.text()

    def ask(self, line, answer, timeout=60):
        """Send a command; return the text after `answer` on its reply line."""
        mark = len(self.out.lines)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        i = self.out.wait_for(answer, timeout, start=mark)
        assert i is not None, "no %r after %r\nstdout:\n%s\nstderr:\n%s" % (
            answer, line, self.out.text(), self.err.text())
        return self.out.lines[i].split(answer, 1)[1].strip()

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


def watch_driven(procs, t, csv_path, *extra, rows=2):
    """pymemwatch on driven target @t at 0.3 s, writing @csv_path, once it
    has written @rows rows for it."""
    pmw = procs.watch("-p", t.pid, *(list(extra) + ["-i", "0.3", "-q", "--csv", csv_path]))
    pmw.wait_watching()
    assert wait_rows(csv_path, t.pid, rows), pmw.stop().describe()
    return pmw


def final_rows_ok(rows, pid, diag):
    """Rows of pid end with exactly one final row (exited = 1): nothing stale after it."""
    mine = rows_for(rows, pid)
    assert mine, "no rows for PID %d\n%s" % (pid, diag)
    flags = [r["exited"] for r in mine]
    assert flags[-1] == "1" and flags.count("1") == 1, \
        "PID %d: exited flags %s (one final row, last)\n%s" % (pid, flags, diag)
    return mine


# --------------------------------------------------------------------------
# (a) fork


@pytest.mark.parametrize("follow", [True, False], ids=["follow", "no-follow"])
def test_fork_child(env, interp, procs, tmp_path, follow):
    t = Driven(procs, interp)
    csv_path = str(tmp_path / "fork.csv")
    args = ["-p", t.pid, "-i", "0.3", "-q", "--csv", csv_path] + (["--follow"] if follow else [])
    pmw = procs.watch(*args)
    pmw.wait_watching()
    assert wait_rows(csv_path, t.pid, 1), pmw.stop().describe()
    child = int(t.ask("fork 2.5", "child "))
    time.sleep(1.5)
    child2 = int(t.ask("spawn 1.5", "child "))    # fork + exec of a new interpreter
    t.ask("reap", "reaped")
    time.sleep(1.0)                                # > 2 intervals after the children exited
    res = pmw.stop()
    assert res.rc == 0, res.describe()
    _, rows = read_csv(csv_path)
    diag = "%s\n%s\nrows:\n%s" % (interp, res.describe(), format_rows(rows))
    assert rows_for(rows, t.pid), diag
    for c in (child, child2):
        if follow:
            assert re.search(r"pymemwatch: PID %d: new child of %d \(python [\d.]+\), following"
                             % (c, t.pid), res.stderr), diag
            mine = final_rows_ok(rows, c, diag)
            assert "PID %d exited" % c in res.stderr, diag
            assert "not followed" not in res.stderr, diag
        else:
            assert not rows_for(rows, c), diag
            assert res.stderr.count("PID %d: child of %d runs Python, not followed "
                                    "(use --follow)" % (c, t.pid)) == 1, diag
    if follow:
        # the fork child collected garbage the whole time: its rows show it
        assert sum(r["gc_gen0"] + r["gc_gen1"] + r["gc_gen2"]
                   for r in rows_for(rows, child)) > 0, diag
    # the parent made no collection at all (gc disabled): nothing of the child leaked into it
    assert sum(r["gc_gen0"] + r["gc_gen1"] + r["gc_gen2"] for r in rows_for(rows, t.pid)) == 0, diag
    assert t.proc.poll() is None, t.err.text()


# --------------------------------------------------------------------------
# (b) exec


def test_exec_into_non_python(env, interp, procs, tmp_path):
    t = Driven(procs, interp)
    csv_path = str(tmp_path / "exec.csv")
    pmw = watch_driven(procs, t, csv_path)
    t.send("exec /bin/sleep 3")
    res = pmw.wait(20)
    if res is None:
        res = pmw.stop()
        pytest.fail("pymemwatch still running after its only target exec'd /bin/sleep\n"
                    + res.describe())
    _, rows = read_csv(csv_path)
    diag = "%s\n%s\nrows:\n%s" % (interp, res.describe(), format_rows(rows))
    assert res.rc == 0, diag
    assert re.search(r"pymemwatch: PID %d exec'd into \S*/sleep: no longer Python, stopped "
                     r"watching" % t.pid, res.stderr), diag
    assert "PID %d exited" % t.pid not in res.stderr, "one note per event\n" + diag
    final_rows_ok(rows, t.pid, diag)
    assert t.proc.poll() is None, "the exec'd process is still sleeping"


@pytest.mark.parametrize("second_id", ["pyenv-3.12.1", "debian-3.11"], ids=["other", "itself"])
def test_exec_into_python_follow(env, procs, tmp_path, second_id):
    """Another Python, or the same executable again (non-PIE: only the stack moves)."""
    first, second = get_interp("debian-3.11"), get_interp(second_id)
    ver = re.escape(".".join(second_id.split("-")[1].split(".")[:2]))
    t = Driven(procs, first)
    csv_path = str(tmp_path / "exec2.csv")
    pmw = watch_driven(procs, t, csv_path, "--follow")
    t.send("exec %s -c __import__('time').sleep(2);__import__('gc').collect();__import__('time').sleep(1)" % second.path)
    res = pmw.wait(30) or pmw.stop()
    _, rows = read_csv(csv_path)
    diag = "%s\nrows:\n%s" % (res.describe(), format_rows(rows))
    assert res.rc == 0, diag
    assert re.search(r"PID %d exec'd into \S+ \(python %s\.\d+\), watching it" % (t.pid, ver),
                     res.stderr), diag
    mine = rows_for(rows, t.pid)
    flags = [r["exited"] for r in mine]
    assert flags.count("1") == 2 and flags[-1] == "1", diag
    old, new = mine[:flags.index("1") + 1], mine[flags.index("1") + 1:]
    assert all(r["python"].startswith("3.11") for r in old), diag
    assert new and all(re.match(ver, r["python"]) for r in new), diag
    # the new program collects once, 2 s after the exec: seen in its rows
    assert sum(r["gc_gen2"] for r in new) >= 1, diag


def test_exec_into_python_without_follow(env, procs, tmp_path):
    first, second = get_interp("debian-3.11"), get_interp("pyenv-3.12.1")
    t = Driven(procs, first)
    csv_path = str(tmp_path / "exec3.csv")
    pmw = watch_driven(procs, t, csv_path)
    t.send("exec %s -c __import__('time').sleep(5)" % second.path)
    res = pmw.wait(20) or pmw.stop()
    _, rows = read_csv(csv_path)
    diag = "%s\nrows:\n%s" % (res.describe(), format_rows(rows))
    assert res.rc == 0, diag
    assert "PID %d exec'd into %s, another Python: stopped watching (use --follow" \
        % (t.pid, os.path.realpath(second.path)) in res.stderr, diag
    mine = final_rows_ok(rows, t.pid, diag)
    assert all(r["python"].startswith("3.11") for r in mine), diag


def test_sweep_exec_both_ways(env, procs, tmp_path):
    """-a: a shell that execs Python is found; a fork child is a new PID; a
    Python that execs sleep ends."""
    py = get_interp("debian-3.11")
    # a non-Python first (its inode is judged and cached as not CPython), Python 2 s later
    late = procs.popen(["sh", "-c", "sleep 2.5; exec %s -c \"%s\"" % (py.path, IDLE)],
                       stdout=subprocess.PIPE, text=True)
    t = Driven(procs, py)
    csv_path = str(tmp_path / "sweep.csv")
    pmw = procs.watch("-a", "-i", "0.3", "-q", "--csv", csv_path)
    pmw.wait_watching()
    assert wait_rows(csv_path, t.pid, 2), pmw.stop().describe()
    assert late.stdout.readline().startswith("ready"), "sh never exec'd python"
    assert wait_rows(csv_path, late.pid, 2), pmw.stop().describe()
    child = int(t.ask("fork 2", "child "))
    assert wait_rows(csv_path, child, 2), pmw.stop().describe()
    t.ask("reap", "reaped")
    t.send("exec /bin/sleep 3")
    time.sleep(1.5)
    res = pmw.stop()
    _, rows = read_csv(csv_path)
    diag = "%s\nrows of the two:\n%s" % (
        res.describe()[-4000:], format_rows(rows_for(rows, t.pid) + rows_for(rows, late.pid)))
    assert res.rc == 0, diag
    assert all(r["python"].startswith("3.11") for r in rows_for(rows, late.pid)), diag
    assert re.search(r"PID %d exec'd into \S*/sleep: no longer Python" % t.pid, res.stderr), diag
    final_rows_ok(rows, t.pid, diag)
    final_rows_ok(rows, child, diag)


def test_command_shell_execs_python(env, procs, tmp_path):
    py = get_interp("debian-3.11")
    cmd = ["--", "sh", "-c", "exec %s %s 3" % (py.path, SHORT)]
    res = run_pmw(["-q"] + cmd, timeout=60)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert res.rc == 2 and len(lines) == 1, res.describe()
    assert "not a CPython process" in lines[0] and "add --follow" in lines[0], res.describe()

    csv_path = str(tmp_path / "cmd.csv")
    res = run_pmw(["-q", "--follow", "-i", "0.3", "--csv", csv_path] + cmd, timeout=60)
    assert res.rc == 3, res.describe()      # the command's status
    m = re.search(r"PID (\d+) exec'd into \S+ \(python 3\.11\.\d+\), watching it", res.stderr)
    assert m, res.describe()
    _, rows = read_csv(csv_path)
    final_rows_ok(rows, int(m.group(1)), res.describe() + format_rows(rows))

    # a shell that starts two Pythons one after the other: both followed
    cmd = ["--", "sh", "-c", "%s %s 0; %s %s 5" % (py.path, SHORT, py.path, SHORT)]
    res = run_pmw(["-q", "--follow", "-i", "0.3", "--csv", csv_path] + cmd, timeout=60)
    assert res.rc == 5, res.describe()
    kids = re.findall(r"PID (\d+): new child of \d+ \(python 3\.11\.\d+\), following", res.stderr)
    assert len(kids) == 2, res.describe()
    _, rows = read_csv(csv_path)
    for k in kids:
        final_rows_ok(rows, int(k), res.describe() + format_rows(rows))


def test_follow_usage():
    res = run_pmw(["-a", "--follow"], timeout=30)
    assert res.rc == 64, res.describe()
    res = run_pmw(["--help"], timeout=30)
    assert "--follow" in res.stdout, res.describe()


# --------------------------------------------------------------------------
# (c) threads


def watched_command(procs, t, tmp_path, command, reply_mark, label):
    """Run @command in driven target @t while pymemwatch watches it; returns
    (rows of t, the target's JSON snapshot, diagnostics), or None if the
    target answered `skip`."""
    csv_path = str(tmp_path / "rows.csv")
    pmw = watch_driven(procs, t, csv_path, rows=1)
    reply = t.ask(command, reply_mark)
    if reply.startswith("skip") or "skip " + reply_mark in t.out.text():
        pmw.stop()
        return None
    snap = json.loads(reply)
    time.sleep(1.0)
    res = pmw.stop()
    _, rows = read_csv(csv_path)
    rows = rows_for(rows, t.pid)
    diag = "%s\n%s\nrows:\n%s\nsnapshots: %s" % (label, res.describe(), format_rows(rows), snap)
    assert res.rc == 0, diag
    assert t.proc.poll() is None, t.err.text()
    return rows, snap, diag


def test_threads_gc_exact(env, interp, procs, tmp_path):
    rows, snap, diag = watched_command(procs, Driven(procs, interp), tmp_path, "threads 96",
                                       "done threads ", interp)
    assert_gc_matches(rows, snap, diag)


# --------------------------------------------------------------------------
# (d) subinterpreters


@pytest.mark.parametrize("command", ["subinterp 6", "subinterp-threads 300"],
                         ids=["sequential", "concurrent"])
@pytest.mark.parametrize("ident", ["debian-3.11", "pyenv-3.12.1", "pyenv-3.13.0"])
def test_subinterpreters(env, procs, tmp_path, ident, command):
    got = watched_command(procs, Driven(procs, get_interp(ident)), tmp_path, command,
                          "subinterp", ident)
    if got is None:
        pytest.skip("%s has no subinterpreter module" % ident)
    # the subinterpreters' collections are not the main interpreter's: not counted, even
    # when one overlaps a main-interpreter collection on another thread
    assert_gc_matches(*got)


# --------------------------------------------------------------------------
# (e) exit during attach


@pytest.mark.parametrize("ident", ["debian-3.11", "pyenv-3.13.0"])
def test_exit_during_attach(env, procs, tmp_path, ident):
    py = get_interp(ident)
    pmw_pids = []
    for life in (0.05, 0.1, 0.2, 0.3, 1.0, 2.0):
        target = procs.popen([py.path, "-c", "import time; time.sleep(%s)" % life])
        w = procs.watch("-p", target.pid, "-i", "0.2", "-q")
        pmw_pids.append(w.pid)
        res = w.wait(60) or w.stop()
        target.wait(10)
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        diag = "target lived %s s\n%s" % (life, res.describe())
        assert res.rc in (0, 2), diag
        assert all(l.startswith("pymemwatch: ") for l in lines), diag
        if res.rc == 2:
            assert len(lines) == 1, diag
            assert lines[0] in ("pymemwatch: PID %d: exited while attaching" % target.pid,
                                "pymemwatch: PID %d: no such process" % target.pid), diag
        else:
            assert "pymemwatch: PID %d exited" % target.pid in lines, diag
            assert not any("warning" in l for l in lines), diag
    # nothing left by any of them: perf events, links, programs, tracefs uprobes
    left = ([e for e in bpftool_json("perf", "show") if e.get("pid") in pmw_pids],
            [e for e in bpftool_json("link", "show")
             if any(p.get("pid") in pmw_pids for p in e.get("pids", []))],
            [l for l in uprobe_events() if any("libbpf_%d_" % p in l for p in pmw_pids)])
    assert not any(left), "left behind: %s" % (left,)
