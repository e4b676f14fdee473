"""HTML reports (`pymemwatch report`, --report) in headless Chromium, and the
live view's sparklines and GC pause histograms in tmux."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import BINARY, WORKLOADS, tmux_screens

LEAKY = os.path.join(WORKLOADS, "leaky_service.py")
PYTHON = "/usr/bin/python3"
JS_DIR = os.environ.get("PMW_JS_DIR") or "/var/cache/pymemwatch/npm"


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def start_leaky(seconds):
    p = subprocess.Popen([PYTHON, LEAKY, str(seconds)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("ready"), line
    return p


def record(tmp, name, pids, seconds):
    out = os.path.join(tmp, name)
    r = subprocess.run([BINARY, "-p", ",".join(str(p) for p in pids), "-d", str(seconds), "-q",
                        "--alloc-profile", "auto", "--json", out], capture_output=True, text=True, timeout=seconds + 90)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (BPF, uprobes)")
    if not os.access(BINARY, os.X_OK):
        pytest.skip("pymemwatch binary missing (run `make`)")
    if not os.path.isfile(os.path.join(JS_DIR, "node_modules/uplot/package.json")):
        pytest.skip("report libraries missing in %s: run scripts/install-deps.sh" % JS_DIR)
    tmp = str(tmp_path_factory.mktemp("report"))
    a = start_leaky(60)
    b1, b2 = start_leaky(60), start_leaky(60)
    try:
        one = record(tmp, "one.jsonl", [a.pid], 15)
        two = record(tmp, "two.jsonl", [b1.pid, b2.pid], 10)
    finally:
        for p in (a, b1, b2):
            p.kill()
            p.wait()
    return {"tmp": tmp, "one": one, "two": two, "pids": {"one": [a.pid], "two": [b1.pid, b2.pid]}}


def render(inputs, out, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    return subprocess.run([BINARY, "report"] + inputs + ["-o", out], capture_output=True,
                          text=True, timeout=300, env=env)  # a sanitized build is ~10x slower


def load_in_chromium(html, shot=None):
    """The DOM after rendering, and Chromium's log; fails on JS errors or requests."""
    exe = chromium()
    if not exe:
        pytest.skip("chromium missing: run scripts/install-deps.sh")
    with tempfile.TemporaryDirectory() as prof:
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0",
                "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1400,2000"]
        r = subprocess.run(argv + ["--dump-dom", "file://" + html], capture_output=True, text=True,
                           timeout=120)
        if shot:
            subprocess.run(argv + ["--screenshot=" + shot, "file://" + html], capture_output=True,
                           text=True, timeout=120)
            assert os.path.getsize(shot) > 10000
    dom, log = r.stdout, r.stderr
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title, dom[:500]
    assert title.group(1).startswith("PMW-REPORT-OK"), title.group(1)
    # no request left the page (the CSP would block and report it), no console error
    for bad in ("net::ERR", "Refused to", "Uncaught", "Failed to load resource"):
        assert bad not in log, [l for l in log.splitlines() if bad in l]
    # what the page drew: the scripts (the page's code and its data) hold every id and label
    # as text, so a check against them could not fail
    return re.sub(r"<script\b[^>]*>.*?</script>", "", dom, flags=re.S)


def check_static(html):
    text = open(html).read()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", text, re.I)
    assert "/*PMW_" not in text
    return text


def test_single_run(runs):
    out = os.path.join(runs["tmp"], "one.html")
    r = render([runs["one"]], out)
    assert r.returncode == 0, r.stderr
    check_static(out)
    shot = os.path.join(runs["tmp"], "one.png")
    dom = load_in_chromium(out, shot)
    shutil.copy(shot, "/tmp/pmw-report.png")
    pid = runs["pids"]["one"][0]
    for ident in ("p-0-%d" % pid, "gc-0-%d" % pid, "sites-0-%d" % pid, "flame-0-%d" % pid):
        assert 'id="%s"' % ident in dom, ident
    assert dom.count("uplot") >= 3            # three timelines
    assert re.search(r'<tr class="site-row"><td>1</td>', dom)
    assert "leaky_service.py" in dom
    # the flame graph drew frames of the leaking functions
    assert re.search(r"<title>(remember_session|handle|audit)", dom)


def test_two_processes_overview(runs):
    out = os.path.join(runs["tmp"], "two.html")
    r = render([runs["two"]], out)
    assert r.returncode == 0, r.stderr
    shot = os.path.join(runs["tmp"], "two.png")
    dom = load_in_chromium(out, shot)
    shutil.copy(shot, "/tmp/pmw-report-two.png")
    assert 'id="overview-0"' in dom
    assert len(re.findall(r'<tr class="ov-row"><td>\d+</td>', dom)) == 2
    for pid in runs["pids"]["two"]:
        assert 'id="p-0-%d"' % pid in dom


def test_comparison(runs):
    out = os.path.join(runs["tmp"], "diff.html")
    r = render([runs["one"], runs["two"]], out)
    assert r.returncode == 0, r.stderr
    shot = os.path.join(runs["tmp"], "diff.png")
    dom = load_in_chromium(out, shot)
    shutil.copy(shot, "/tmp/pmw-report-diff.png")
    for ident in ("compare-table", "diff-sites", "cmp-chart", "run-0", "run-1"):
        assert 'id="%s"' % ident in dom, ident
    assert "peak live heap" in dom and "GC gen0 collections" in dom
    assert re.search(r'<tr class="diff-row"><td class="l">[^<]', dom)


def test_large_run_is_downsampled(runs):
    """100 processes x 10,000 intervals (synthetic): every process kept, series bounded."""
    src = [json.loads(l) for l in open(runs["one"]) if '"type":"process"' in l][0]
    path = os.path.join(runs["tmp"], "big.jsonl")
    t0 = 1.7e9
    with open(path, "w") as f:
        for i in range(10000):
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i)) + ".000Z"
            for pid in range(1000, 1100):
                src.update(time=ts, pid=pid, live_bytes=pid * 1000 + i * (pid - 999),
                           leak_score=float(pid - 1000), gc_gen0=i % 3)
                f.write(json.dumps(src, separators=(",", ":")) + "\n")
    out = os.path.join(runs["tmp"], "big.html")
    t = time.time()
    r = render([path], out)
    assert r.returncode == 0, r.stderr
    assert time.time() - t < 60
    text = check_static(out)
    data = json.loads(re.search(r'id="pmw-data">(.*?)</script>', text, re.S).group(1))
    procs = data["runs"][0]["procs"]
    assert len(procs) == 100
    assert all(p["intervals"] == 10000 for p in procs)
    assert all(len(p["ts"]["t"]) <= 1002 and len(p["ts"]["live"]) == len(p["ts"]["t"]) for p in procs)
    # min/max buckets keep the extremes
    assert max(max(p["ts"]["live"]) for p in procs) == 1099 * 1000 + 9999 * 100
    assert sum(sum(p["ts"]["gc0"]) for p in procs) == 100 * sum(i % 3 for i in range(10000))
    dom = load_in_chromium(out)
    assert len(re.findall(r'<tr class="ov-row"><td>\d+</td>', dom)) == 100


def test_report_option_one_command(runs):
    out = os.path.join(runs["tmp"], "inline.html")
    r = subprocess.run([BINARY, "-q", "--report", out, "--", PYTHON, LEAKY, "6"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "report written to" in r.stderr
    load_in_chromium(out)
    assert not [f for f in os.listdir("/tmp") if f.startswith("pymemwatch-report-")]


def test_report_usage_errors(tmp_path):
    if not os.access(BINARY, os.X_OK):
        pytest.skip("pymemwatch binary missing (run `make`)")
    for argv in (["report"], ["report", "x.jsonl"], ["report", "-o", "x.html"],
                 ["report", "a", "b", "c", "-o", "x.html"], ["report", "--bogus"]):
        r = subprocess.run([BINARY] + argv, capture_output=True, text=True)
        assert r.returncode == 64, (argv, r.stderr)
        assert r.stderr.startswith("pymemwatch: ") and r.stderr.count("\n") == 1, r.stderr
    src = tmp_path / "r.jsonl"
    src.write_text('{"type":"process","pid":1,"time":"2024-01-01T00:00:00.000Z"}\n')
    r = subprocess.run([BINARY, "report", str(src), "-o", str(tmp_path / "x.html")],
                       capture_output=True, text=True, env=dict(os.environ, PMW_JS_DIR=str(tmp_path)))
    assert r.returncode == 1
    assert "scripts/install-deps.sh" in r.stderr and r.stderr.count("\n") == 1


# one row of each kind the report's reader keeps (the keys of --json's lines)
ROWS_OF_EACH_KIND = [
    {"type": "process", "interval_s": 1.0, "live_bytes": 4096, "rss_bytes": 8192, "allocs": 10,
     "gc_gen0": 1, "gc_pause_ms_total": 0.5, "comm": "python3", "python": "3.12.1"},
    {"type": "site", "site": "app.py:10", "function": "handle", "stack": "app.py:handle:10",
     "object_type": "dict", "live_bytes": 2048, "growth_bytes": 1024, "score": 2.0, "survival": 0.9},
    {"type": "census", "object_type": "dict", "live_bytes": 2048, "growth_bytes": 1024, "pools": 1},
    {"type": "leak", "rank": 1, "holder": "app.CACHE", "holder_kind": "module_global",
     "items": 100, "items_per_min": 60.0, "retained_bytes": 9000, "item_type": "dict",
     "site": "", "score": 3.0, "stacks": [], "consequences": []},
    {"type": "advice", "rank": 1, "kind": "empty_container", "subject": "dict", "where": "",
     "objects": 10, "bytes": 640, "saving_bytes": 640, "detail": "empty dicts"},
    {"type": "types", "walks": 1, "types": [{"type": "dict", "objects": 10, "bytes": 640,
                                             "objects_delta": 0, "bytes_delta": 0}]},
]


# the lines of `pymemwatch snapshot --json` (one walk: its census rows share its time)
SNAPSHOT_ROWS = [
    {"type": "snapshot", "comm": "python3", "version": "3.12.1", "heap_bytes": 40960,
     "objects": 100, "types": 2, "walk_wall_s": 0.1, "walk_cpu_s": 0.1, "wall_s": 0.2,
     "cpu_s": 0.2, "torn": 0},
    {"type": "census", "object_type": "dict", "objects": 10, "live_bytes": 640},
    {"type": "holder", "rank": 1, "holder": "app.CACHE", "holder_kind": "module_global",
     "items": 100, "retained_bytes": 9000, "item_type": "dict", "address": 4096},
    ROWS_OF_EACH_KIND[4],
]


def write_rows(path, pid, rows, seconds=3):
    with open(path, "w") as f:
        for i in range(seconds):
            ts = "2026-01-01T00:00:%02d.000Z" % i
            for row in rows:
                f.write(json.dumps(dict(row, time=ts, host="h", pid=pid)) + "\n")


def test_report_frees_everything(tmp_path):
    """The report's reader frees every row it keeps, on success and when a file is
    refused: valgrind's leak check (or LeakSanitizer in `make test-asan`)."""
    if not os.access(BINARY, os.X_OK):
        pytest.skip("pymemwatch binary missing (run `make`)")
    if not os.path.isfile(os.path.join(JS_DIR, "node_modules/uplot/package.json")):
        pytest.skip("report libraries missing in %s: run scripts/install-deps.sh" % JS_DIR)
    asan = "ASAN_OPTIONS" in os.environ
    if not asan and not shutil.which("valgrind"):
        pytest.skip("valgrind missing (apt-get install valgrind)")
    a, b, snap, bad = (str(tmp_path / n) for n in ("a.jsonl", "b.jsonl", "s.jsonl", "bad.jsonl"))
    write_rows(a, 100, ROWS_OF_EACH_KIND)
    write_rows(b, 200, ROWS_OF_EACH_KIND)
    write_rows(snap, 300, SNAPSHOT_ROWS, seconds=2)
    with open(bad, "w") as f:
        f.write("not json\n")
    check = [] if asan else ["valgrind", "-q", "--leak-check=full",
                             "--show-leak-kinds=definite,indirect",
                             "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"]
    for inputs, want in (([a], 0), ([a, b], 0), ([snap, a], 0), ([a, bad], 1)):
        r = subprocess.run(check + [BINARY, "report"] + inputs + ["-o", str(tmp_path / "x.html")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == want, (inputs, r.returncode, r.stderr[-3000:])
        assert "lost" not in r.stderr and "LeakSanitizer" not in r.stderr, r.stderr[-3000:]


def test_live_view_sparklines(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (BPF, uprobes)")
    target = start_leaky(40)
    try:
        screen, _ = tmux_screens("env LANG=C.UTF-8 LC_ALL=C.UTF-8 %s -p %d -d 10"
                                 % (BINARY, target.pid), 6)
        (tmp_path / "screen.txt").write_text(screen)
    finally:
        target.kill()
        target.wait()
    assert re.search(r"heap +\S+ [\u2581-\u2588]{3,}", screen), screen
    assert re.search(r"RSS +\S+ [\u2581-\u2588]{3,}", screen), screen
    assert re.search(r"gen0 pauses \S+ \|[\u2581-\u2588 ]+\|", screen), screen
