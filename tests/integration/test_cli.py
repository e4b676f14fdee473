"""Command line, exit statuses, target life cycle."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (BINARY, WORKLOADS, LineCollector, PID_ATTACHED_RE,
                      check_header, format_rows, get_interp, read_csv,
                      rows_for, run_pmw, wait_rows)

SHORT = os.path.join(WORKLOADS, "short_script.py")
NO_SUCH_PID = 4194304            # > PID_MAX_LIMIT - 1: never a live PID


def error_line_ok(res):
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    return bool(lines) and lines[0].startswith("pymemwatch: ")


# --------------------------------------------------------------------------
# help / version (no root needed)


def test_help(binary):
    res = run_pmw(["--help"], timeout=30)
    assert res.rc == 0, res.describe()
    assert "example" in res.stdout.lower(), res.describe()
    for opt in ("--pid", "--interval", "--duration", "--csv", "--exact",
                "--quiet"):
        assert opt in res.stdout, "%s not in --help\n%s" % (opt, res.describe())


def test_help_cost_has_no_figures(binary):
    """--help states the cost in words: a figure there would be one that no
    command reproduces (the measured ones are `make bench`'s, in doc/overhead.md)."""
    res = run_pmw(["--help"], timeout=30)
    assert res.rc == 0, res.describe()
    text = " ".join(res.stdout.split())
    cost = re.search(r"Cost to the target.*?short diagnostic runs\.", text)
    assert cost, "no cost paragraph in --help\n" + res.describe()
    figures = re.findall(r"\d+(?:\.\d+)?\s*(?:x|%|us|µs|ns|ms)\b|\d+(?:\.\d+)?x",
                         cost.group(0))
    assert not figures, "figures in the --help cost line: %s\n%s" % (figures, cost.group(0))


def test_version(binary):
    res = run_pmw(["--version"], timeout=30)
    assert res.rc == 0, res.describe()
    assert res.stdout.strip(), res.describe()
    assert re.search(r"\d+\.\d+", res.stdout), res.describe()


# --------------------------------------------------------------------------
# usage errors -> 64


USAGE_CASES = [
    ("pid-not-a-number", ["-p", "abc"], None),
    ("pid-trailing-junk", ["-p", "12x"], None),
    ("interval-negative", ["-p", "1", "-i", "-1"], None),
    ("interval-not-a-number", ["-p", "1", "-i", "fast"], None),
    ("pid-twice", ["-p", "1,1"], "twice"),
    ("pid-twice-two-options", ["-p", "1", "-p", "1"], "twice"),
    ("no-target", [], None),
    ("only-options", ["-i", "1"], None),
    ("pid-and-command", ["-p", "1", "--", "/bin/true"], None),
    ("unknown-option", ["--no-such-option"], None),
    ("all-and-pid", ["-a", "-p", "1"], "one of"),
    ("all-and-command", ["-a", "--", "/bin/true"], "one of"),
    ("pid-all-and-command", ["-p", "1", "-a", "--", "/bin/true"], "one of"),
    ("interval-zero", ["-p", "1", "-i", "0"], "interval"),
    ("interval-huge", ["-p", "1", "-i", "1e9"], "interval"),
    ("duration-negative", ["-p", "1", "-d", "-5"], "duration"),
    ("pid-negative", ["-p", "-5"], "pid"),
    ("pid-overflow", ["-p", "99999999999"], "pid"),
    ("profile-budget-not-a-number", ["-p", "1", "--alloc-profile-budget", "x"], "alloc-profile-budget"),
    ("old-leak-budget-spelling", ["-p", "1", "--leak-budget", "x"], "alloc-profile-budget"),
    ("profile-mode-bad", ["-p", "1", "--alloc-profile", "sometimes"], "alloc-profile"),
    ("old-leaks-spelling", ["-p", "1", "--leaks", "sometimes"], "alloc-profile"),
    ("stack-depth-out-of-range", ["-p", "1", "--stack-depth", "999"], "stack-depth"),
    ("mode-unknown", ["-p", "1", "--mode", "turbo"], "mode"),
    ("option-missing-argument", ["-p", "1", "--csv"], "requires an argument"),
]


@pytest.mark.parametrize("args,word", [c[1:] for c in USAGE_CASES],
                         ids=[c[0] for c in USAGE_CASES])
def test_usage_error(binary, root, args, word):
    res = run_pmw(args, timeout=30)
    assert res.rc == 64, res.describe()
    assert error_line_ok(res), "error must start with 'pymemwatch: '\n" \
        + res.describe()
    if word:
        assert word in res.stderr.lower(), res.describe()
    assert res.stdout.strip() == "" or "usage" in res.stdout.lower(), \
        res.describe()


# --------------------------------------------------------------------------
# unusable targets -> 2


def test_nonexistent_pid(binary, root):
    res = run_pmw(["-p", NO_SUCH_PID], timeout=30)
    assert res.rc == 2, res.describe()
    assert error_line_ok(res), res.describe()
    err = res.stderr.lower()
    assert str(NO_SUCH_PID) in err, res.describe()
    assert "no such process" in err or "not exist" in err, res.describe()


def test_reaped_child_pid(binary, root):
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    res = run_pmw(["-p", p.pid], timeout=30)
    if res.rc != 2 and os.path.exists("/proc/%d" % p.pid):
        pytest.skip("PID %d was reused meanwhile" % p.pid)
    assert res.rc == 2, res.describe()
    assert str(p.pid) in res.stderr, res.describe()


def test_not_cpython(binary, root, procs, tmp_path):
    """...and no output file is created, not even an empty one."""
    sleeper = procs.popen(["sleep", "30"])
    time.sleep(0.2)
    outs = [str(tmp_path / n) for n in ("rows.csv", "sites.csv", "run.jsonl", "report.html")]
    res = run_pmw(["-p", sleeper.pid, "--csv", outs[0], "--csv-sites", outs[1],
                   "--json", outs[2], "--report", outs[3]], timeout=60)
    assert res.rc == 2, res.describe()
    assert error_line_ok(res), res.describe()
    assert "cpython" in res.stderr.lower(), res.describe()
    assert str(sleeper.pid) in res.stderr, res.describe()
    assert not [o for o in outs if os.path.exists(o)], os.listdir(str(tmp_path))


# --------------------------------------------------------------------------
# not root -> 77


def test_not_root(binary, root):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) not installed")
    argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
            BINARY, "-p", str(os.getpid())]
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=30)
    desc = "%s -> %d\nstdout:\n%s\nstderr:\n%s" % (argv, cp.returncode,
                                                   cp.stdout, cp.stderr)
    if cp.returncode in (126, 127) or "Permission denied" in cp.stderr \
            and "pymemwatch:" not in cp.stderr:
        pytest.skip("nobody cannot execute %s: %s" % (BINARY, desc))
    assert cp.returncode == 77, desc
    assert cp.stderr.startswith("pymemwatch: "), desc
    assert "root" in cp.stderr.lower() or "privilege" in cp.stderr.lower() \
        or "permission" in cp.stderr.lower(), desc


@pytest.mark.parametrize("bound,missing", [
    ("-all,+bpf,+perfmon,+sys_ptrace", "CAP_SYS_ADMIN"),
    ("-all,+sys_admin", "CAP_SYS_PTRACE"),
])
def test_missing_capability(binary, root, bound, missing):
    """Root with a reduced bounding set: the missing capability is named."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) not installed")
    argv = [setpriv, "--bounding-set", bound, BINARY, "-p", str(os.getpid())]
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=30)
    desc = "%s -> %d\nstderr:\n%s" % (argv, cp.returncode, cp.stderr)
    assert cp.returncode == 77, desc
    lines = cp.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pymemwatch: "), desc
    assert missing in lines[0], desc


# --------------------------------------------------------------------------
# -- COMMAND


@pytest.mark.parametrize("status", [0, 3])
def test_command_exit_status(binary, root, interp, status, tmp_path):
    csv_path = str(tmp_path / "cmd.csv")
    res = run_pmw(["-i", "0.5", "--csv", csv_path, "--", interp.path, SHORT,
                   str(status)], timeout=120)
    assert res.rc == status, res.describe()
    m = PID_ATTACHED_RE.search(res.stderr)
    assert m, "no 'attached to PID' line\n" + res.describe()
    pid = m.group(1)
    assert "PID %s exited" % pid in res.stderr, res.describe()
    assert res.stdout.strip(), res.describe()
    assert pid in res.stdout or "summary" in res.stdout.lower(), res.describe()
    header, rows = read_csv(csv_path)
    check_header(header)
    assert rows_for(rows, int(pid)), res.describe()


def test_command_not_found(binary, root):
    res = run_pmw(["--", "/nonexistent/command"], timeout=30)
    assert res.rc != 0, res.describe()
    assert "pymemwatch: " in res.stderr or "nonexistent" in res.stderr, \
        res.describe()


# --------------------------------------------------------------------------
# life cycle


EXIT_LATER = ("import sys, os, time\n"
              "print('ready %d' % os.getpid(), flush=True)\n"
              "sys.stdin.readline()\n"
              "x = [str(i) for i in range(100000)]\n"
              "time.sleep(1.5)\n")


def test_target_exits_mid_run(binary, root, interp, procs, tmp_path):
    target = procs.popen([interp.path, "-c", EXIT_LATER],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, bufsize=1)
    out = LineCollector(target.stdout, "exit-later")
    assert out.wait_for("ready", 30) is not None
    csv_path = str(tmp_path / "exit.csv")
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "--csv", csv_path)
    pmw.wait_watching()
    target.stdin.write("go\n")
    target.stdin.flush()
    res = pmw.wait(45)
    if res is None:
        res = pmw.stop()
        pytest.fail("pymemwatch did not exit after its only target exited\n"
                    + res.describe())
    assert res.rc == 0, res.describe()
    assert "PID %d exited" % target.pid in res.stderr, res.describe()
    assert str(target.pid) in res.stdout, res.describe()
    header, rows = read_csv(csv_path)
    check_header(header)
    assert rows_for(rows, target.pid), res.describe()


def test_duration(binary, root, procs, tmp_path):
    t = procs.target(get_interp("debian-3.11"), ["gc"])
    csv_path = str(tmp_path / "d.csv")
    pmw = procs.watch("-p", t.pid, "-i", "0.5", "-d", "2", "--csv", csv_path)
    pmw.wait_watching()
    res = pmw.wait(30)
    assert res is not None, "pymemwatch -d 2 still running after 30 s\n" \
        + pmw.stop().describe()
    assert res.rc == 0, res.describe()
    _, rows = read_csv(csv_path)
    rows = rows_for(rows, t.pid)
    assert 2 <= len(rows) <= 6, res.describe() + format_rows(rows)
    # non-quiet: interval tables on stdout, plus the summary
    assert str(t.pid) in res.stdout, res.describe()
    assert t.proc.poll() is None, "target died"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_stops_cleanly(binary, root, procs, tmp_path, sig):
    t = procs.target(get_interp("debian-3.11"), ["gc"])
    pmw = procs.watch("-p", t.pid, "-i", "0.5", "-q")
    pmw.wait_watching()
    time.sleep(1)
    res = pmw.stop(sig)
    assert res.rc == 0, res.describe()
    assert str(t.pid) in res.stdout, res.describe()
    assert t.proc.poll() is None, "target died after pymemwatch detached"
    # the target still works after detaching (uprobes removed cleanly)
    t.run_phase("gc")


def test_csv_stdout(binary, root, procs):
    t = procs.target(get_interp("debian-3.11"), ["gc"])
    pmw = procs.watch("-p", t.pid, "-i", "0.5", "-d", "2", "--csv", "-", "-q")
    res = pmw.wait(30) or pmw.stop()
    assert res.rc == 0, res.describe()
    lines = res.stdout.splitlines()
    assert lines and lines[0].startswith("time,host,pid,comm,python,"), \
        res.describe()
    assert any(",%d," % t.pid in l for l in lines[1:]), res.describe()
    # nothing but CSV on stdout: the summary goes to stderr in this mode
    ncols = lines[0].count(",")
    assert all(l.count(",") == ncols for l in lines if l.strip()), res.describe()
    assert "summary PID %d" % t.pid in res.stderr, res.describe()


def test_two_targets(binary, root, procs, tmp_path):
    interps = []
    for ident in ("debian-3.11", "pyenv-3.13.0", "pyenv-3.12.1"):
        try:
            interps.append(get_interp(ident))
        except pytest.skip.Exception:
            continue
    if len(interps) < 2:
        pytest.skip("need two interpreters")
    t1 = procs.target(interps[0], ["gc"], name="t1")
    t2 = procs.target(interps[1], ["gc"], name="t2")
    csv_path = str(tmp_path / "two.csv")
    pmw = procs.watch("-p", "%d,%d" % (t1.pid, t2.pid), "-i", "0.5",
                      "--csv", csv_path, "-q")
    pmw.wait_watching()
    for t in (t1, t2):
        assert "attached to PID %d" % t.pid in pmw.err.text(), \
            pmw.stop().describe()
    assert wait_rows(csv_path, t1.pid, 2) and wait_rows(csv_path, t2.pid, 2)
    t2.stop()
    assert pmw.err.wait_for("PID %d exited" % t2.pid, 15) is not None, \
        pmw.stop().describe()
    assert pmw.proc.poll() is None, "exited while a target is left"
    res = pmw.stop()
    assert res.rc == 0, res.describe()
    header, rows = read_csv(csv_path)
    r1, r2 = rows_for(rows, t1.pid), rows_for(rows, t2.pid)
    assert r1 and r2, format_rows(rows)
    v1 = ".".join(interps[0].id.split("-")[1].split(".")[:2])
    v2 = ".".join(interps[1].id.split("-")[1].split(".")[:2])
    assert r1[0]["python"].startswith(v1), format_rows(r1)
    assert r2[0]["python"].startswith(v2), format_rows(r2)
