"""`pymemwatch snapshot`: census, biggest holders and advice from one walk.

The target (tests/workloads/waste_target.py) holds known waste of each advice
kind and measures it from inside (tracemalloc of a __slots__ twin for
`slots`, sys.getsizeof for the others, recursive sys.getsizeof over what a
holder alone holds for retained sizes), in pymalloc block bytes. Each
estimate must be within +-15% of that; a __slots__ class and a target
without waste get no advice; a str value appears in no output unless
--show-values is given.

Interpreters: Debian's 3.11, pyenv 3.12.1 and 3.13.0, sid's 3.14 and 3.15
(in a chroot) and a stripped copy of pyenv 3.12.1: the instance layout
differs on each (3.11 values before the object, 3.12 tagged, 3.13+ inline).
"""
import json
import re
import os
import shutil
import subprocess
import time

import pytest

from conftest import BINARY, INTERPRETERS, REPO_ROOT, WORKLOADS, read_csv, run_pmw, tmux_screens
from roots import RootDir, require_root_fs

TOLERANCE = 0.15
STRIPPED_DIR = os.environ.get("PMW_STRIPPED_DIR") or "/var/cache/pymemwatch/stripped"
SNAP_INTERPS = {
    "debian-3.11": INTERPRETERS["debian-3.11"][0],
    "pyenv-3.12.1": INTERPRETERS["pyenv-3.12.1"][0],
    "pyenv-3.13.0": INTERPRETERS["pyenv-3.13.0"][0],
    "sid-3.14": ("sid", "/usr/bin/python3.14"),
    "sid-3.15": ("sid", "/usr/bin/python3.15"),
    "stripped-3.12.1": os.path.join(STRIPPED_DIR, "3.12.1", "bin", "python3.12"),
}
SECRET = "do-not-print-me-424242-" + "x" * 20


class Waste(object):
    """waste_target.py in @mode on interpreter @ident; .pid, .truth."""

    def __init__(self, ident, mode, tmp_path):
        self.rootdir = None
        what = SNAP_INTERPS[ident]
        if isinstance(what, tuple):
            root = require_root_fs(what[0])
            if not os.access(os.path.join(root, what[1].lstrip("/")), os.X_OK):
                pytest.skip("%s not in root %s" % (what[1], what[0]))
            self.rootdir = RootDir(root)
            shutil.copy(os.path.join(WORKLOADS, "waste_target.py"), self.rootdir.host("w.py"))
            state, argv = self.rootdir.host("state.json"), [
                "chroot", root, what[1], self.rootdir.inside("w.py"), mode,
                self.rootdir.inside("state.json")]
        else:
            if ident.startswith("stripped-"):
                subprocess.run(["sh", os.path.join(REPO_ROOT, "scripts", "make-stripped.sh"),
                                STRIPPED_DIR, "3.12.1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=600)
            if not os.access(what, os.X_OK):
                pytest.skip("interpreter %s not found at %s" % (ident, what))
            state = str(tmp_path / "state.json")
            argv = [what, os.path.join(WORKLOADS, "waste_target.py"), mode, state]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            pytest.fail("waste_target.py did not start: %s %s" % (line, self.proc.stderr.read()))
        self.pid = int(line.split()[1])
        with open(state) as f:
            self.truth = json.load(f)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        if self.rootdir:
            self.rootdir.remove()


@pytest.fixture
def waste(request, tmp_path):
    made = []

    def make(ident, mode="waste"):
        w = Waste(ident, mode, tmp_path)
        made.append(w)
        return w
    yield make
    for w in made:
        w.stop()


def snapshot(pid, *args):
    """(Result, JSON lines by type) of `pymemwatch snapshot -p PID --json ARGS`."""
    res = run_pmw(["snapshot", "-p", pid, "--json"] + list(args), timeout=120)
    assert res.rc == 0, res.describe()
    lines = {}
    for line in res.stdout.splitlines():
        o = json.loads(line)
        lines.setdefault(o["type"], []).append(o)
    return res, lines


def near(got, want, what, diag):
    assert want > 0, "%s: no ground truth\n%s" % (what, diag)
    print("  %-28s estimated %10d measured %10d %+6.1f%%" % (what, got, want,
                                                             100.0 * (got - want) / want))
    assert abs(got - want) <= TOLERANCE * want, \
        "%s: estimated %d, measured in the target %d (%+.1f%%)\n%s" % (
            what, got, want, 100.0 * (got - want) / want, diag)


def one(rows, kind, subject, diag):
    got = [r for r in rows if r["kind"] == kind and r["subject"] == subject]
    assert len(got) == 1, "%s %s: %d rows\n%s" % (kind, subject, len(got), diag)
    return got[0]


@pytest.mark.parametrize("ident", sorted(SNAP_INTERPS))
def test_advice_kinds(waste, ident):
    """Each kind named, each saving within 15% of the target's own measure; no
    advice for the __slots__ twin; the three held-alone holders' retained sizes."""
    w = waste(ident)
    t0 = time.monotonic()
    res, lines = snapshot(w.pid)
    took = time.monotonic() - t0
    truth, rows = w.truth, lines.get("advice", [])
    diag = "%s truth %s\nadvice:\n%s\nholders:\n%s" % (
        ident, truth, "\n".join(json.dumps(r) for r in rows),
        "\n".join(json.dumps(h) for h in lines.get("holder", [])))
    snap = lines["snapshot"][0]
    print("%s: snapshot of %d bytes (%d objects): walk %.3f s CPU, whole %.3f s CPU, "
          "%.2f s wall for the command" % (ident, snap["heap_bytes"], snap["objects"],
                                          snap["walk_cpu_s"], snap["cpu_s"], took))
    slots = one(rows, "slots", "__main__.Point", diag)
    near(slots["saving_bytes"], truth["slots"]["saving"], "slots saving", diag)
    assert slots["objects"] == truth["slots"]["objects"], diag
    with open(os.path.join(WORKLOADS, "waste_target.py")) as f:
        line = [i for i, l in enumerate(f, 1) if l.startswith("class Point:")][0]
    # the class statement (3.13+ __firstlineno__) or its first method's line
    assert re.search(r"(w|waste_target)\.py:(%d|%d)$" % (line, line + 1), slots["where"]), diag
    assert not [r for r in rows if r["subject"].endswith("PointSlots")], diag
    dups = [r for r in rows if r["kind"] == "duplicate_str" and r["objects"] >=
            truth["duplicate_str"]["copies"]]
    assert dups, diag
    near(dups[0]["saving_bytes"], truth["duplicate_str"]["saving"], "duplicate_str", diag)
    assert dups[0]["where"] == "__main__.DUPS", diag      # the holder of most copies
    near(one(rows, "empty_container", "dict", diag)["saving_bytes"], truth["empty_dict"],
         "empty dicts", diag)
    near(one(rows, "empty_container", "list", diag)["saving_bytes"], truth["empty_list"],
         "empty lists", diag)
    over = one(rows, "oversized_container", "dict", diag)
    near(over["saving_bytes"], truth["oversized_dict"], "oversized dict", diag)
    assert over["where"] == "__main__.SHRUNK", diag
    near(one(rows, "oversized_container", "set", diag)["saving_bytes"], truth["oversized_set"],
         "oversized set", diag)
    boxed = one(rows, "boxed_numbers", "list of float", diag)
    near(boxed["saving_bytes"], truth["boxed_float"], "boxed floats", diag)
    assert boxed["where"] == "__main__.FLOATS", diag
    near(one(rows, "boxed_numbers", "tuple of int", diag)["saving_bytes"],
         truth["boxed_tuple_int"], "boxed ints (tuple > 512 B)", diag)
    blob = [r for r in rows if r["kind"] == "duplicate_str" and
            r["subject"].startswith("str len=%d " % truth["duplicate_blob"]["len"])]
    assert len(blob) == 1, diag
    near(blob[0]["saving_bytes"], truth["duplicate_blob"]["saving"], "duplicate str > 512 B", diag)
    assert blob[0]["where"] == "__main__.BLOBS", diag
    savings = [r["saving_bytes"] for r in rows]
    assert savings == sorted(savings, reverse=True), diag
    holders = {h["holder"]: h for h in lines.get("holder", [])}
    for key, want in truth["holders"].items():
        h = holders.get("__main__.HOLDERS[%r]" % key)
        assert h, "HOLDERS[%r] not among the biggest holders\n%s" % (key, diag)
        near(h["retained_bytes"], want, "retained of HOLDERS[%r]" % key, diag)


def test_no_advice_without_waste(waste):
    """A target holding nothing wasteful gets no advice line."""
    w = waste("pyenv-3.13.0", "clean")
    res, lines = snapshot(w.pid)
    assert lines.get("snapshot") and lines.get("census"), res.describe()
    assert not lines.get("advice"), "\n".join(json.dumps(r) for r in lines["advice"])


def test_values_only_with_show_values(waste, tmp_path):
    """A duplicated str's contents are in no output (text, JSON, CSV) unless --show-values."""
    w = waste("pyenv-3.12.1")
    csv = str(tmp_path / "advice.csv")
    text = run_pmw(["snapshot", "-p", w.pid, "--csv-advice", csv], timeout=120)
    assert text.rc == 0, text.describe()
    assert "duplicate_str" in text.stdout, text.describe()
    res, lines = snapshot(w.pid)
    with open(csv) as f:
        csv_text = f.read()
    for name, out in (("text", text.stdout + text.stderr), ("json", res.stdout + res.stderr),
                      ("csv", csv_text)):
        assert SECRET not in out and "do-not-print-me" not in out, name
    header, rows = read_csv(csv)
    assert header == ["time", "host", "pid", "kind", "subject", "where", "objects", "bytes",
                      "saving_bytes", "detail", "container", "ns_pid"]
    assert {r["kind"] for r in rows} >= {"slots", "duplicate_str", "empty_container",
                                         "oversized_container", "boxed_numbers"}, rows
    res, lines = snapshot(w.pid, "--show-values")
    assert [r for r in lines["advice"] if r.get("value") == SECRET], res.stdout


def test_live_advice(waste, tmp_path):
    """A live run writes the advice of each walk (--csv-advice, JSON advice lines,
    advice_saving_bytes) and never a str value."""
    w = waste("pyenv-3.13.0")
    csv, js, proc = (str(tmp_path / n) for n in ("advice.csv", "run.jsonl", "run.csv"))
    res = run_pmw(["-p", w.pid, "-d", "4", "-q", "--csv-advice", csv, "--json", js,
                   "--csv", proc], timeout=120)
    assert res.rc == 0, res.describe()
    assert "Where the memory goes" in res.stdout and "__main__.Point" in res.stdout, res.stdout
    header, rows = read_csv(csv)
    assert header[3:10] == ["kind", "subject", "where", "objects", "bytes", "saving_bytes",
                            "detail"], header
    kinds = {(r["kind"], r["subject"]) for r in rows}
    for want in (("slots", "__main__.Point"), ("empty_container", "dict"),
                 ("boxed_numbers", "list of float")):
        assert want in kinds, (want, kinds)
    assert not [r for r in rows if r["subject"].endswith("PointSlots")], rows
    slots = [r for r in rows if r["subject"] == "__main__.Point"][-1]
    near(int(slots["saving_bytes"]), w.truth["slots"]["saving"], "live slots", res.describe())
    with open(js) as f:
        text = f.read()
    lines = [json.loads(l) for l in text.splitlines()]
    assert [o for o in lines if o["type"] == "advice"], "no advice lines"
    saved = [o["advice_saving_bytes"] for o in lines if o["type"] == "process"]
    assert saved and saved[-1] and saved[-1] >= int(slots["saving_bytes"]), saved
    with open(csv) as f:
        assert "do-not-print-me" not in f.read() + text + res.stdout + res.stderr


def test_report_compares_memory(waste, tmp_path):
    """`pymemwatch report A.jsonl B.jsonl` of a wasteful and a clean run: the HTML
    report's advice table per process, and the census and advice by type, A vs B."""
    from test_report import load_in_chromium, render
    a, b = waste("pyenv-3.12.1"), waste("pyenv-3.12.1", "clean")
    files = []
    for w, name in ((a, "naive.jsonl"), (b, "clean.jsonl")):
        files.append(str(tmp_path / name))
        res = run_pmw(["-p", w.pid, "-d", "3", "-q", "--json", files[-1]], timeout=120)
        assert res.rc == 0, res.describe()
    out = str(tmp_path / "cmp.html")
    r = render(files, out)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        assert "do-not-print-me" not in f.read()
    dom = load_in_chromium(out)
    for ident in ("advice-0-%d" % a.pid, "diff-types", "diff-advice"):
        assert 'id="%s"' % ident in dom, ident
    assert re.search(r'<tr class="diff-advice-row"><td class="l">slots: __main__.Point</td>', dom)
    assert re.search(r'<tr class="diff-types-row"><td class="l">float</td>', dom)
    assert "Where the memory goes" in dom


def test_attach_errors_as_the_main_path(tmp_path):
    """snapshot refuses a target with the main path's words: a dead PID, a process that is not
    CPython, a CPython older than the version table (pyenv 3.7, when installed)."""
    from conftest import pyenv_root
    old = os.path.join(pyenv_root(), "versions", "3.7.16", "bin", "python3.7")
    dead = subprocess.Popen(["/bin/true"])
    dead.wait()
    procs = [subprocess.Popen(["/bin/sleep", "60"])]
    cases = {"dead": dead.pid, "not CPython": procs[0].pid}
    if os.access(old, os.X_OK):
        procs.append(subprocess.Popen([old, "-c", "import time; print('ready'); time.sleep(60)"],
                                      stdout=subprocess.PIPE, text=True))
        assert procs[-1].stdout.readline().startswith("ready")
        cases["CPython 3.7"] = procs[-1].pid
    try:
        for what, pid in cases.items():
            snap = run_pmw(["snapshot", "-p", pid], timeout=60)
            main = run_pmw(["-p", pid, "-d", "1", "-q"], timeout=60)
            assert snap.rc == main.rc == 2, (what, snap.describe(), main.describe())
            prefix = "pymemwatch: snapshot: PID %d: " % pid
            assert snap.stderr.startswith(prefix) and snap.stderr.count("\n") == 1, snap.describe()
            assert "PID %d: %s" % (pid, snap.stderr[len(prefix):]) in main.stderr, \
                (what, snap.stderr, main.stderr)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    if "CPython 3.7" not in cases:
        pytest.skip("checked without a 3.7 target: no %s" % old)


def report_data(html):
    with open(html) as f:
        text = f.read()
    assert "do-not-print-me" not in text
    return json.loads(re.search(r'id="pmw-data">(.*?)</script>', text, re.S).group(1))


def test_report_reads_snapshots(waste, tmp_path):
    """`pymemwatch report` of two snapshots' --json (a wasteful and a clean target), and of a
    snapshot against a live run: each snapshot is a process with its holders, advice and census
    (the snapshot's own figures; Point's instances as the target counts them), compared by
    type and advice."""
    from test_report import load_in_chromium, render
    a, b = waste("pyenv-3.12.1"), waste("pyenv-3.12.1", "clean")
    files = {}
    for w, name in ((a, "naive"), (b, "clean")):
        res = run_pmw(["snapshot", "-p", w.pid, "--json"], timeout=120)
        assert res.rc == 0, res.describe()
        files[name] = str(tmp_path / (name + ".jsonl"))
        with open(files[name], "w") as f:
            f.write(res.stdout)
    snap = {}
    for line in open(files["naive"]):
        o = json.loads(line)
        snap.setdefault(o["type"], []).append(o)
    out = str(tmp_path / "snaps.html")
    r = render([files["naive"], files["clean"]], out)
    assert r.returncode == 0, r.stderr
    data = report_data(out)
    assert [run.get("kind") for run in data["runs"]] == ["snapshot", "snapshot"], data["runs"]
    p = data["runs"][0]["procs"][0]
    # the report's reals have 7 significant digits
    assert p["pid"] == a.pid, p
    assert p["final_live"] == pytest.approx(snap["snapshot"][0]["heap_bytes"], rel=1e-6), p
    assert p["comm"].startswith("python3") and p["python"] == "3.12.1", p
    assert [(h["holder"], h["retained_bytes"]) for h in p["holders"]] == \
        [(h["holder"], h["retained_bytes"]) for h in snap["holder"]]
    assert [(t["type"], pytest.approx(t["bytes"], rel=1e-6)) for t in p["types"]] == \
        [(c["object_type"], c["live_bytes"]) for c in snap["census"]]
    point = [t for t in p["types"] if t["type"] == "Point"]
    assert point and point[0]["objects"] == a.truth["slots"]["objects"], p["types"]
    assert len(p["advice"]) == len(snap["advice"]) and not data["runs"][1]["procs"][0]["advice"]
    dom = load_in_chromium(out)
    for ident in ("diff-types", "diff-advice", "holders-0-%d" % a.pid,
                  "advice-0-%d" % a.pid, "types-0-%d" % a.pid, "types-1-%d" % b.pid):
        assert 'id="%s"' % ident in dom, ident
    assert re.search(r'<tr class="diff-advice-row"><td class="l">slots: __main__.Point</td>', dom)
    assert re.search(r'<tr class="diff-types-row"><td class="l">float</td>', dom)
    assert re.search(r"<td class=\"l\">__main__.HOLDERS\[(&#39;|')big(&#39;|')\]</td>", dom)
    assert re.search(r'<td class="l">heap walked \(all processes\)</td><td>[0-9.]+M</td>', dom)
    # a snapshot against a live run: compared by type and advice, no timeline metric
    run = str(tmp_path / "run.jsonl")
    res = run_pmw(["-p", b.pid, "-d", "3", "-q", "--json", run], timeout=120)
    assert res.rc == 0, res.describe()
    r = render([files["naive"], run], out)
    assert r.returncode == 0, r.stderr
    dom = load_in_chromium(out)
    assert "A is a snapshot, B a run" in dom and 'id="diff-types"' in dom
    assert re.search(r'<td class="l">heap walked \(all processes\)</td><td>[0-9.]+M</td><td>-</td>', dom)
    assert 'id="p-1-%d"' % b.pid in dom and "GC gen0 collections</td>" not in dom


def test_tui_key_opens_advice(waste, tmp_path):
    """In the live view, w opens "where the memory goes" for the process."""
    w = waste("pyenv-3.12.1")
    before, screen = tmux_screens("%s -p %d -d 12" % (BINARY, w.pid), 4, keys="w", after_s=2.5,
                                  size=(160, 50))
    assert "WHERE THE MEMORY GOES" not in before, before
    assert "WHERE THE MEMORY GOES" in screen, screen
    assert re.search(r"slots +__main__\.Point", screen), screen
    assert "do-not-print-me" not in screen
