"""Growth sites: the line that grows each leak, from a hardware write
watchpoint on the container's length field (user/leak/growth.c).

Ground truth comes from inside the target: growth_ops.py grows one container
per operation (append, insert, insert(0), extend, +=, appendleft, setdefault,
set.add, setattr on a materialised instance __dict__) on its own line and
writes each container's id() and that line, found from its own source.
"""
import ctypes
import json
import os
import re
import time

import pytest

import conftest
from conftest import WORKLOADS, run_pmw

SECONDS = 25


def start_ops(procs, interp, state, script="growth_ops.py"):
    """Start workload @script, which writes its truth to @state; (process, truth)."""
    p = procs.popen([interp.path, os.path.join(WORKLOADS, script), state])
    deadline = time.monotonic() + 30
    while not os.path.exists(state) and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(state) as f:
        return p, json.load(f)


def leak_lines(path):
    """{container address: its {"type":"leak"} line} of the last interval that had any."""
    rows = []
    with open(path) as f:
        rows = [json.loads(l) for l in f if '"type":"leak"' in l]
    last = max((r["time"] for r in rows), default=None)
    return {int(r["container_addr"], 16): r for r in rows if r["time"] == last}


@pytest.mark.parametrize("ident", ["debian-3.11", "pyenv-3.12.1", "pyenv-3.13.0"])
def test_growth_ops_named(ident, env, procs, tmp_path):
    """Every growth operation's leak is named at the line that grows it, as
    its innermost frame, with its whole stack (grow <- main <- <module>)."""
    interp = conftest.get_interp(ident)
    state = str(tmp_path / "state.json")
    target, truth = start_ops(procs, interp, state)
    out = str(tmp_path / "leaks.json")
    res = run_pmw(["-p", target.pid, "-i", "1", "-d", SECONDS, "-q", "--json", out],
                  timeout=SECONDS + 90)
    diag = "%s\n%s" % (interp, res.describe())
    assert res.rc == 0, diag
    rows = leak_lines(out)
    with open(out) as f:
        # the sampled allocation profile (bursts) is opt-in: no site line without --alloc-profile auto
        assert not [l for l in f if '"type":"site"' in l], "bursts ran by default\n" + diag
    taken = [r["holder"] for r in rows.values() if not r["site"] and
             "no free hardware watchpoint" in (r["site_reason"] or "")]
    if taken:
        # debug registers are per CPU, shared by every process (another pymemwatch, a debugger)
        pytest.skip("debug registers taken by another process during the run: %s" % taken)
    for leak in truth["leaks"]:
        r = rows.get(leak["addr"])
        assert r, "%s: its container 0x%x is not a leak row\n%s\n%s" % (
            leak["op"], leak["addr"], [(x["holder"], x["site"]) for x in rows.values()], diag)
        want = "%s:%d" % (truth["file"], leak["line"])
        d = "%s: %s\n%s" % (leak["op"], json.dumps(r), diag)
        assert r["site"] == want and r["site_innermost"] == want, d
        assert r["stacks"] and r["stacks"][0]["share"] > 0.9, d
        funcs = [f["function"] for f in r["stacks"][0]["frames"]]
        assert funcs[:2] == ["grow", "main"] and funcs[-1] == "<module>", d
        assert r["stacks"][0]["hits"] >= 8 and r["watch_hits"] <= 16 * os.cpu_count() * 3, d
    if ident == "pyenv-3.12.1":
        # the HTML report shows each leak's growing stack (rendered by Chromium)
        import test_report
        html = str(tmp_path / "report.html")
        rr = test_report.render([out], html)
        assert rr.returncode == 0, rr.stderr
        dom = test_report.load_in_chromium(html)
        line = truth["leaks"][0]["line"]
        assert re.search(r'class="leak-stack".*?100%% of the growing writes seen \(\d+\) at '
                         r'[^<]*growth_ops.py:%d:</div><pre>grow  [^\n]*growth_ops.py:%d\n'
                         % (line, line), dom, re.S), dom[:3000]


PERF_TYPE_BREAKPOINT = 5
HW_BREAKPOINT_W = 2
HW_BREAKPOINT_LEN_8 = 8


class PerfAttr(ctypes.Structure):
    # struct perf_event_attr up to bp_len (PERF_ATTR_SIZE_VER1 = 72 bytes)
    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32),
                ("config", ctypes.c_uint64), ("sample_period", ctypes.c_uint64),
                ("sample_type", ctypes.c_uint64), ("read_format", ctypes.c_uint64),
                ("flags", ctypes.c_uint64), ("wakeup_events", ctypes.c_uint32),
                ("bp_type", ctypes.c_uint32), ("bp_addr", ctypes.c_uint64),
                ("bp_len", ctypes.c_uint64)]


def take_debug_registers(n=4):
    """Open @n write breakpoints on every CPU (any process): the x86 debug
    registers pymemwatch would use. Returns the fds, or skips."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = (ctypes.c_uint64 * n)()
    fds = []
    for cpu in range(os.cpu_count()):
        for k in range(n):
            a = PerfAttr(type=PERF_TYPE_BREAKPOINT, size=ctypes.sizeof(PerfAttr),
                         sample_period=1, bp_type=HW_BREAKPOINT_W,
                         bp_addr=ctypes.addressof(buf) + 8 * k, bp_len=HW_BREAKPOINT_LEN_8)
            fd = libc.syscall(298, ctypes.byref(a), -1, cpu, -1, 0)   # perf_event_open, x86_64
            if fd < 0:
                err = ctypes.get_errno()
                for f in fds:
                    os.close(f)
                pytest.skip("cannot take debug register %d of CPU %d: %s (in use elsewhere?)"
                            % (k, cpu, os.strerror(err)))
            fds.append(fd)
    return fds


def test_no_free_watchpoint(env, procs, tmp_path):
    """With every debug register taken, leaks are still ranked, their site
    is empty with the reason, and the run goes on to its end."""
    if os.uname().machine != "x86_64":
        pytest.skip("the test takes x86_64's 4 debug registers")
    interp = conftest.get_interp("pyenv-3.12.1")
    state = str(tmp_path / "state.json")
    target, truth = start_ops(procs, interp, state)
    out = str(tmp_path / "leaks.json")
    fds = take_debug_registers()
    try:
        res = run_pmw(["-p", target.pid, "-i", "1", "-d", 15, "-q", "--alloc-profile", "off", "--json", out],
                      timeout=100)
    finally:
        for f in fds:
            os.close(f)
    diag = res.describe()
    assert res.rc == 0, diag
    rows = leak_lines(out)
    assert len(rows) >= 5, diag
    for r in rows.values():
        assert r["site"] == "" and r["stacks"] == [], json.dumps(r)
        assert "no free hardware watchpoint" in (r["site_reason"] or ""), json.dumps(r)
    with open(out) as f:
        assert sum('"type":"process"' in l for l in f) >= 12, diag


@pytest.mark.parametrize("ident", ["debian-3.11", "pyenv-3.13.0"])
def test_growth_from_event_loop(ident, env, procs, tmp_path):
    """Tasks that wait on a never-resolved module global future (growth_async.py):
    its callbacks list grows from C in the task's step, below the event loop, so the
    only application frame at the write is the entry line. The site is the line the
    waiting coroutine chain is suspended at (`await NEVER`, inside a coroutine that
    another awaits), never the entry line; the holder is named through the future.
    A loop run by a standard-library thread (no application frame on its stack):
    its waiting tasks' line too. A list grown by loop.call_soon(CALLS.append, n)
    has no task behind the write: no site, and the reason names the dispatcher;
    nor has one grown by a ThreadPoolExecutor (pool.submit(RESULTS.append, n)),
    below _WorkItem.run with no application frame at all."""
    interp = conftest.get_interp(ident)
    state = str(tmp_path / "state.json")
    p = procs.popen([interp.path, os.path.join(WORKLOADS, "growth_async.py"), state])
    deadline = time.monotonic() + 30
    while not os.path.exists(state) and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(state) as f:
        truth = json.load(f)
    out = str(tmp_path / "leaks.json")
    res = run_pmw(["-p", p.pid, "-i", "1", "-d", 20, "-q", "--json", out], timeout=110)
    diag = "%s\n%s" % (interp, res.describe())
    assert res.rc == 0, diag
    rows = [r for r in leak_lines(out).values() if r["holder"] == "__main__.NEVER.<list>"]
    assert rows, "no leak row held by __main__.NEVER.<list>: %s\n%s" % (
        [(r["holder"], r["site"]) for r in leak_lines(out).values()], diag)
    r = rows[0]
    d = "%s\n%s" % (json.dumps(r), diag)
    if not r["site"] and "no free hardware watchpoint" in (r["site_reason"] or ""):
        pytest.skip("debug registers taken by another process during the run: %s"
                    % r["site_reason"])
    assert r["site"] == "%s:%d" % (truth["file"], truth["line"]), d
    assert r["holder_kind"] == "module_global" and r["item_type"] == "tuple", d
    # the write itself is in asyncio (C, called from Handle._run), the stack goes
    # through the waiting coroutines to the entry line
    assert "/asyncio/" in r["site_innermost"], d
    frames = [(f["function"], f["line"]) for f in r["stacks"][0]["frames"]]
    funcs = [f[0] for f in frames]
    assert "wait_for_it" in funcs and "handle" in funcs, d
    assert funcs.index("wait_for_it") < funcs.index("handle") < funcs.index("<module>"), d
    assert ("<module>", truth["entry"]) in frames, d
    t = [r for r in leak_lines(out).values() if r["holder"] == "__main__.NEVER_T.<list>"]
    assert t, diag
    if t[0]["site"] or "no free hardware watchpoint" not in (t[0]["site_reason"] or ""):
        assert t[0]["site"] == "%s:%d" % (truth["file"], truth["thread_line"]), \
            "%s\n%s" % (json.dumps(t[0]), diag)
    for holder, where in (("__main__.CALLS", "Handle._run"), ("__main__.RESULTS", "_WorkItem.run")):
        c = [r for r in leak_lines(out).values() if r["holder"] == holder]
        assert c, "%s is not a leak row\n%s" % (holder, diag)
        c = c[0]
        d = "%s\n%s" % (json.dumps(c), diag)
        if not c["stacks"] and "no free hardware watchpoint" in (c["site_reason"] or ""):
            pytest.skip("debug registers taken by another process during the run: %s"
                        % c["site_reason"])
        # watched: no site (not the entry line, not a library line)
        assert c["stacks"] and c["site"] == "" and where in c["site_reason"], d
        assert "no waiting task" in c["site_reason"], d
