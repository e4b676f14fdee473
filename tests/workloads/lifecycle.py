#!/usr/bin/env python3
"""Target for pymemwatch's target-lifecycle tests (test_lifecycle.py).

Usage: lifecycle.py

Start-up: gc.collect(), gc.disable() (no collection happens while idle), then
``ready <pid>``. Then one command per line on stdin, each answered on stdout
(flushed):

fork SECONDS     fork a child that makes garbage cycles and collects for
                 SECONDS, then exits (os._exit(0)); prints ``child <pid>``.
                 The parent reaps it at ``reap`` (prints ``reaped``).
spawn SECONDS    the same, but the child is a new interpreter started with
                 fork + exec of sys.executable (subprocess); ``child <pid>``.
exec PATH ARG... os.execv(PATH, [PATH, ARG...]): this PID becomes PATH.
threads N        snapshot ``a`` ({"stats": gc.get_stats()}), gc.enable(), N threads
                 started and joined in waves of 8, each allocating lists and
                 cycles and calling gc.collect(0..2); gc.disable(), snapshot
                 ``b``; prints ``done threads <json>`` ({"a": ..., "b": ...}).
subinterp N      the same window around N subinterpreters (3.12:
                 _xxsubinterpreters, 3.13: _interpreters), each allocating and
                 running gc.collect() 3 times, plus gc.collect() in the main
                 interpreter; ``done subinterp <json>``, or ``skip subinterp``.
subinterp-threads N
                 a subinterpreter on another thread (its own GIL on 3.12+)
                 runs gc.collect() N times while the main interpreter does
                 too, concurrently; ``done subinterp <json>`` or ``skip ...``.
quit             exit 0.
"""

import gc
import json
import os
import subprocess
import sys
import threading
import time

GARBAGE = ("import gc, time\n"
           "end = time.monotonic() + %f\n"
           "while time.monotonic() < end:\n"
           "    junk = []\n"
           "    for i in range(2000):\n"
           "        x = [i]\n"
           "        x.append(x)\n"
           "        junk.append(x)\n"
           "    junk = None\n"
           "    gc.collect()\n"
           "    time.sleep(0.02)\n")


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stats():
    """A snapshot as gc_window.py writes it (conftest.assert_gc_matches reads it)."""
    return {"stats": [dict(s) for s in gc.get_stats()]}


def trivial(x):
    return x + 1


def settle():
    """gc.disable(), then a few calls so that a collection already scheduled
    (3.12+: run at the next eval breaker check) runs before snapshot b."""
    gc.disable()
    for i in range(1000):
        trivial(i)
    time.sleep(0.01)
    for i in range(1000):
        trivial(i)


def garbage_child(seconds):
    pid = os.fork()
    if pid == 0:
        try:
            gc.enable()
            exec(GARBAGE % seconds, {})
        finally:
            os._exit(0)
    return pid


def worker(n):
    keep = []
    for i in range(3000):
        x = {"i": i, "s": str(i) * 3}
        x["self"] = x
        keep.append(x)
    keep = None
    gc.collect(n % 3)


def run_threads(n):
    a = stats()
    gc.enable()
    done = 0
    while done < n:
        wave = [threading.Thread(target=worker, args=(done + i,))
                for i in range(min(8, n - done))]
        for t in wave:
            t.start()
        for t in wave:
            t.join()
        done += len(wave)
    settle()
    return {"a": a, "b": stats(), "threads": n}


def subinterp_module():
    """(module, run function) of the private subinterpreter API, or None."""
    try:
        import _interpreters as interpreters      # 3.13
        run = interpreters.exec
    except ImportError:
        try:
            import _xxsubinterpreters as interpreters  # 3.12
            run = interpreters.run_string
        except ImportError:
            return None
    return interpreters, run


def run_subinterps(n):
    found = subinterp_module()
    if found is None:
        return None
    interpreters, run = found
    code = ("import gc\n"
            "keep = []\n"
            "for i in range(5000):\n"
            "    x = [i, str(i)]\n"
            "    x.append(x)\n"
            "    keep.append(x)\n"
            "keep = None\n"
            "for i in range(3):\n"
            "    gc.collect()\n")
    a = stats()
    for i in range(n):
        interp = interpreters.create()
        err = run(interp, code)
        if err is not None:
            raise RuntimeError("subinterpreter failed: %r" % (err,))
        interpreters.destroy(interp)
        gc.collect()                   # one main-interpreter collection each
    settle()
    return {"a": a, "b": stats(), "subinterpreters": n}


def run_subinterp_threads(n):
    found = subinterp_module()
    if found is None:
        return None
    interpreters, run = found
    code = ("import gc\n"
            "for k in range(%d):\n"
            "    x = [k]\n"
            "    x.append(x)\n"
            "    gc.collect()\n" % n)
    interp = interpreters.create()
    a = stats()
    t = threading.Thread(target=run, args=(interp, code))
    t.start()
    for k in range(n):
        x = [k]
        x.append(x)
        gc.collect()
    t.join()
    settle()
    b = stats()
    interpreters.destroy(interp)
    return {"a": a, "b": b, "subinterp_collections": n}


def main():
    gc.collect()
    gc.disable()
    children = []
    say("ready %d" % os.getpid())
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "fork":
            pid = garbage_child(float(cmd[1]))
            children.append(pid)
            say("child %d" % pid)
        elif cmd[0] == "spawn":
            p = subprocess.Popen([sys.executable, "-c", GARBAGE % float(cmd[1])])
            children.append(p)
            say("child %d" % p.pid)
        elif cmd[0] == "reap":
            for c in children:
                if isinstance(c, int):
                    os.waitpid(c, 0)
                else:
                    c.wait()
            children = []
            say("reaped")
        elif cmd[0] == "exec":
            sys.stdout.flush()
            os.execv(cmd[1], cmd[1:])
        elif cmd[0] == "threads":
            say("done threads " + json.dumps(run_threads(int(cmd[1]))))
        elif cmd[0] == "subinterp":
            r = run_subinterps(int(cmd[1]))
            say("skip subinterp" if r is None else "done subinterp " + json.dumps(r))
        elif cmd[0] == "subinterp-threads":
            r = run_subinterp_threads(int(cmd[1]))
            say("skip subinterp" if r is None else "done subinterp " + json.dumps(r))
        elif cmd[0] == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
