"""CPython's own regression tests give the same results under observation.

pymemwatch must never change what its target does. This runs a subset of
CPython's regression test suite (regrtest, `python3.11 -m test`; Debian's
libpython3.11-testsuite) once plain, then once under
`pymemwatch -- python3.11 -m test ...` per probe mode, and asserts that
every test case has the same outcome (regrtest's --junit-xml), every test
module the same result (regrtest's summary) and the exit status is the same.

The observation is checked to be real: pymemwatch attached to the regrtest
process itself (the `-- COMMAND` form holds it until the probes are in
place, and regrtest runs in-process, no -j workers), its CSV has rows for
that PID with the GC collections the tests make, and the mode's own signal
(heap scans, pool refills, libc blocks, exact counts) is there.

Heap walks (the exact census and growing containers) run in the heap and
full modes, within --walk-budget: their --csv-types rows show that walks
completed during the run. The walk mode gives them half a CPU
(--walk-budget 50) and runs leak bursts all the time (--alloc-profile always,
--alloc-profile-budget 10000: beyond what the default budget allows), so
that walks, holder searches and dealloc probes overlap the tests as much
as they ever do.

The subset exercises the allocator, the GC, finalizers, weakrefs, threads
and the container types; it is deterministic here and needs no network.
--exact probes every pymalloc call (3-35x slower) and only works on a
non-LTO build, so its run uses pyenv's 3.11 (with its own Lib/test) and a
smaller subset: test_weakref alone takes ~35 s under --exact and test_deque
~20 s. Tests that start subprocesses run those unobserved (not followed).
"""

import collections
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import BINARY, PID_ATTACHED_RE, pyenv_root, read_csv, rows_for

DEBIAN_PY = "/usr/bin/python3.11"
PYENV_VERSION = "3.11.7"
PYENV_PY = os.path.join(pyenv_root(), "versions", PYENV_VERSION, "bin",
                        "python3.11")

# 20-30 s plain on a 2-core VM, 1752 test cases: GC and finalization, weakrefs (with
# threads), containers, regexes, copy, threads and thread-locals,
# generators, sys (getallocatedblocks, refcounts), descriptors, exceptions
# (MemoryError, trashcan)
TESTS = ["test_gc", "test_finalization", "test_weakref", "test_dict",
         "test_list", "test_tuple", "test_set", "test_deque", "test_re",
         "test_copy", "test_thread", "test_threading_local",
         "test_generators", "test_sys", "test_descr", "test_exceptions"]
# 238 test cases, ~8 s plain, ~16 s under --exact
EXACT_TESTS = ["test_gc", "test_finalization", "test_dict", "test_thread",
               "test_generators"]

RUN_TIMEOUT = 900          # one regrtest run, observed, on a loaded machine
MIN_GC_COLLECTIONS = 200   # test_gc alone makes thousands
WALK_MODES = ("heap", "full", "walk")  # heap walks run in these
MIN_WALKS = {"heap": 2, "full": 2, "walk": 10}  # completed during the run

# mode id -> (pymemwatch options, interpreter, subset, what the attach
# line must say)
MODES = {
    "gc": (["--mode", "gc"], DEBIAN_PY, TESTS, "heap=off"),
    "heap": (["--mode", "heap"], DEBIAN_PY, TESTS, "heap=scan"),
    "full": ([], DEBIAN_PY, TESTS, "heap=scan"),        # the default mode
    "walk": (["--walk-budget", "50", "--alloc-profile", "always", "--alloc-profile-budget",
              "10000"], DEBIAN_PY, TESTS, "heap=scan"),
    "large": (["--large"], DEBIAN_PY, TESTS, "large=libc"),
    "exact": (["--exact"], PYENV_PY, EXACT_TESTS, "counts=exact"),
}


def stdlib_test_dir(python):
    return os.path.join(os.path.dirname(os.path.dirname(python)), "lib",
                        "python3.11", "test")


def check_available(python, tests):
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        pytest.skip("interpreter %s not installed" % python)
    tdir = stdlib_test_dir(python)
    missing = [t for t in tests
               if not (os.path.isfile(os.path.join(tdir, t + ".py")) or
                       os.path.isdir(os.path.join(tdir, t)))]
    if missing:
        hint = ("install libpython3.11-testsuite (sudo scripts/install-deps.sh)"
                if python == DEBIAN_PY else "a pyenv build with its Lib/test")
        pytest.skip("CPython regression tests %s not found in %s: %s"
                    % (", ".join(missing), tdir, hint))


# --------------------------------------------------------------------------
# one regrtest run


class Run(object):
    def __init__(self, argv, workdir, rc, seconds, junit, out, err):
        self.argv = argv
        self.workdir = workdir
        self.rc = rc
        self.seconds = seconds
        self.junit = junit
        with open(out, errors="replace") as f:
            self.stdout = f.read()
        with open(err, errors="replace") as f:
            self.stderr = f.read()

    def describe(self):
        return ("command: %s (cwd %s)\nexit status: %r after %.1f s\n"
                "--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s\n"
                % (" ".join(self.argv), self.workdir, self.rc, self.seconds,
                   self.stdout[-4000:], self.stderr[-4000:]))


def walk_times(types_csv, pid):
    """The distinct times of --csv-types rows for pid: one per completed
    heap walk written (a walk's census is written once, at the next tick)."""
    _, rows = read_csv(types_csv)
    return set(r["time"] for r in rows_for(rows, pid))


def run_regrtest(python, tests, workdir, pmw_args=None, csv_path=None):
    """python -m test TESTS in workdir (TMPDIR too), plain or under
    `pymemwatch PMW_ARGS --csv CSV_PATH -- ...`."""
    os.makedirs(workdir, exist_ok=True)
    junit = os.path.join(workdir, "junit.xml")
    out = os.path.join(workdir, "stdout.txt")
    err = os.path.join(workdir, "stderr.txt")
    argv = [python, "-m", "test", "--junit-xml", junit] + list(tests)
    if pmw_args is not None:
        argv = ([BINARY, "-q", "-i", "1", "--csv", csv_path] + pmw_args +
                ["--"] + argv)
    # the same environment for both runs, whatever the caller's PYTHON*
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith("PYTHON"))
    env["TMPDIR"] = workdir
    t0 = time.monotonic()
    with open(out, "w") as fo, open(err, "w") as fe:
        p = subprocess.Popen(argv, cwd=workdir, env=env,
                             stdin=subprocess.DEVNULL, stdout=fo, stderr=fe)
        try:
            rc = p.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)    # pymemwatch passes it on
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            with open(err) as f:
                m = PID_ATTACHED_RE.search(f.read())
            if m:
                try:
                    os.kill(int(m.group(1)), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            rc = "timeout after %d s" % RUN_TIMEOUT
    return Run(argv, workdir, rc, time.monotonic() - t0, junit, out, err)


# --------------------------------------------------------------------------
# results


def case_outcome(tc):
    for tag, name in (("error", "error"), ("failure", "failure"),
                      ("skipped", "skipped"), ("output", "expected-failure")):
        if tc.find(tag) is not None:
            return name
    if tc.get("outcome") == "UNEXPECTED_SUCCESS":
        return "unexpected-success"
    return "ok"


def case_results(run):
    """{(test id, n-th of that id): outcome}, {same key: details}, and the
    per-module (tests, errors, failures) counts; doctests have short ids
    that repeat, hence the occurrence number."""
    assert os.path.isfile(run.junit), "no junit XML\n" + run.describe()
    root = ET.parse(run.junit).getroot()
    seen = collections.Counter()
    results, details, counts = {}, {}, []
    for suite in root.iter("testsuite"):
        counts.append(tuple(suite.get(a) for a in ("tests", "errors",
                                                   "failures")))
        for tc in suite.iter("testcase"):
            name = tc.get("name")
            key = (name, seen[name])
            seen[name] += 1
            results[key] = case_outcome(tc)
            # <failure type= message=>traceback</failure>, <skipped>why</skipped>
            details[key] = [(e.tag, e.text or "", e.get("message") or "")
                            for e in tc
                            if e.tag in ("error", "failure", "skipped")]
    return results, details, counts


SUMMARY_HEAD = re.compile(r"^(?:All )?\d+ (?:re-run )?tests? (.*?)[.:]$")


def module_results(run, tests):
    """({module: result}, overall result) from regrtest's summary: modules
    listed under `N tests failed:`, `... skipped:`, `... altered the
    execution environment:` etc.; the others are OK."""
    lines = run.stdout.splitlines()
    start = [i for i, l in enumerate(lines) if l.startswith("== Tests result:")]
    assert start, "no regrtest summary\n" + run.describe()
    overall = lines[start[-1]].strip("= ")
    results = dict((t, "OK") for t in tests)
    category = None
    for line in lines[start[-1] + 1:]:
        m = SUMMARY_HEAD.match(line)
        if m:
            category = m.group(1)
        elif category and line.startswith("    "):
            for name in line.split():
                results[name] = category
        else:
            category = None
    return results, overall


def total_line(run):
    m = re.search(r"^Total tests: .*$", run.stdout, re.M)
    return m.group(0) if m else None


def compare(base, obs, tests, what):
    """Assert obs has the same exit status, module results and test case
    outcomes as base."""
    diag = "--- plain run ---\n%s\n--- observed run (%s) ---\n%s" \
        % (base.describe(), what, obs.describe())
    b_cases, _, b_counts = case_results(base)
    o_cases, o_details, o_counts = case_results(obs)
    diff = sorted(k for k in set(b_cases) | set(o_cases)
                  if b_cases.get(k) != o_cases.get(k))
    if diff:
        lines = []
        for k in diff[:30]:
            lines.append("%s: plain %s, observed %s" %
                         (k[0], b_cases.get(k, "(absent)"),
                          o_cases.get(k, "(absent)")))
            for tag, text, msg in o_details.get(k, []):
                if tag != "skipped" or b_cases.get(k) != "skipped":
                    lines.append("    <%s> %s %s" % (tag, msg, text.strip()))
        pytest.fail("%d of %d test cases have another outcome under %s:\n%s"
                    "\n%s" % (len(diff), len(b_cases), what,
                              "\n".join(lines), diag))
    assert o_counts == b_counts, \
        "per-module (tests, errors, failures) differ:\nplain    %s\n" \
        "observed %s\n%s" % (b_counts, o_counts, diag)
    assert module_results(obs, tests) == module_results(base, tests), \
        "module results differ: plain %s, observed %s\n%s" \
        % (module_results(base, tests), module_results(obs, tests), diag)
    assert total_line(obs) == total_line(base), diag
    assert obs.rc == base.rc, "exit status: plain %r, observed %r\n%s" \
        % (base.rc, obs.rc, diag)


# --------------------------------------------------------------------------
# tests


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The plain run of (interpreter, subset), made once per module."""
    cache = {}

    def get(python, tests):
        key = (python, tuple(tests))
        if key not in cache:
            d = str(tmp_path_factory.mktemp("regrtest-plain"))
            run = run_regrtest(python, tests, d)
            cases = case_results(run)[0]
            # a baseline that ran nothing would make every comparison pass
            assert len(cases) >= 25 * len(tests), \
                "plain regrtest ran only %d test cases\n%s" \
                % (len(cases), run.describe())
            ran = set(k[0].split(".")[1] for k in cases
                      if k[0].startswith("test."))
            assert ran == set(tests), \
                "plain regrtest ran test cases of %s, not %s\n%s" \
                % (sorted(ran), tests, run.describe())
            print("\nregrtest plain %s: %d modules, %d test cases, rc %r, "
                  "%.1f s" % (python, len(tests), len(cases), run.rc,
                              run.seconds))
            cache[key] = run
        return cache[key]
    return get


@pytest.mark.parametrize("mode", list(MODES))
def test_regrtest_same_results(env, baseline, tmp_path, mode):
    pmw_args, python, tests, attach_says = MODES[mode]
    check_available(python, tests)
    base = baseline(python, tests)

    csv_path = str(tmp_path / "regrtest.csv")
    types_csv = str(tmp_path / "types.csv")
    if mode in WALK_MODES:
        pmw_args = pmw_args + ["--csv-types", types_csv]
    obs = run_regrtest(python, tests, str(tmp_path / "observed"),
                       pmw_args=pmw_args, csv_path=csv_path)
    what = "pymemwatch %s" % (" ".join(pmw_args) or "(default: --mode full)")
    print("\nregrtest under %s: rc %r, %.1f s (plain %.1f s, x%.2f)"
          % (what, obs.rc, obs.seconds, base.seconds,
             obs.seconds / base.seconds))

    # pymemwatch watched the regrtest process itself
    m = PID_ATTACHED_RE.search(obs.stderr)
    assert m, "pymemwatch never attached\n" + obs.describe()
    pid = int(m.group(1))
    attach = [l for l in obs.stderr.splitlines() if m.group(0) in l][0]
    assert attach_says in attach, \
        "attach line lacks %r: %s\n%s" % (attach_says, attach, obs.describe())
    assert "PID %d exited" % pid in obs.stderr, obs.describe()
    assert "summary PID %d " % pid in obs.stdout, obs.describe()

    _, rows = read_csv(csv_path)
    rows = rows_for(rows, pid)
    assert len(rows) >= 3, "CSV rows for PID %d: %d\n%s" \
        % (pid, len(rows), obs.describe())
    assert all(r["python"].startswith("3.11") for r in rows), rows[:3]
    gcs = sum(r["gc_gen0"] + r["gc_gen1"] + r["gc_gen2"] for r in rows)
    assert gcs >= MIN_GC_COLLECTIONS, \
        "pymemwatch saw %d GC collections during %s\n%s" \
        % (gcs, " ".join(tests), obs.describe())
    if mode != "gc":
        assert max(int(r["live_bytes"]) for r in rows) > 0, \
            "no live heap read in %d rows" % len(rows)
    if mode in ("full", "large", "exact", "walk"):
        assert sum(int(r["pool_refills"]) for r in rows) > 0, \
            "no pool-refill probe hit"
    if mode in WALK_MODES:
        walks = walk_times(types_csv, pid)
        assert len(walks) >= MIN_WALKS[mode], \
            "%d heap walks written to --csv-types during the run\n%s" \
            % (len(walks), obs.describe())
        print("heap walks during the run: %d" % len(walks))
    if mode == "walk":
        sampled = max(float(r["sampled_s"] or 0) for r in rows)
        assert sampled > 0, "no leak burst ran with --alloc-profile always"
    if mode == "large":
        assert sum(int(r["large_allocs"]) for r in rows) > 0, \
            "no libc block seen with --large"
    if mode == "exact":
        assert all(r["precision"] == "exact" for r in rows), \
            set(r["precision"] for r in rows)
        assert sum(r["frees"] for r in rows) > 100000, \
            "exact frees: %d" % sum(r["frees"] for r in rows)

    compare(base, obs, tests, what)
