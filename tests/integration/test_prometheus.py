"""--prometheus ADDR:PORT: /metrics in the Prometheus text format, checked by
hand, by promtool and by a real Prometheus server scraping it; series of
processes that exit disappear.

One pymemwatch watches two idle gc_window.py targets (A runs its `gc` phase,
so that it has collections and pauses); the tests run in file order and the
last one kills B.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import REPO_ROOT, Procs, get_interp, stop_process

CONTRIB = os.path.join(REPO_ROOT, "contrib")
INTERVAL = 0.5

# family -> TYPE
FAMILIES = {
    "pymemwatch_up": "gauge",
    "pymemwatch_targets": "gauge",
    "pymemwatch_live_heap_bytes": "gauge",
    "pymemwatch_arena_bytes": "gauge",
    "pymemwatch_rss_bytes": "gauge",
    "pymemwatch_allocations_total": "counter",
    "pymemwatch_gc_collections_total": "counter",
    "pymemwatch_gc_collected_objects_total": "counter",
    "pymemwatch_gc_uncollectable_objects_total": "counter",
    "pymemwatch_gc_pause_seconds": "histogram",
    "pymemwatch_leak_score": "gauge",
    "pymemwatch_dropped_events_total": "counter",
}
PROCESS_LABELS = ("pid", "comm", "python", "container")


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def http(url, method="GET", timeout=5):
    """(status, headers, body text); HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


# --------------------------------------------------------------------------
# a small exposition-format parser

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """(types {family: type}, helps {family: text}, samples [(name, labels, value)])"""
    types, helps, samples = {}, {}, []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP "):
            _, _, name, help_ = line.split(" ", 3)
            helps[name] = help_
            continue
        assert not line.startswith("#"), "unexpected comment: %r" % line
        m = SAMPLE_RE.match(line)
        assert m, "malformed sample line: %r" % line
        labels = {}
        if m.group(2):
            rest = m.group(2)
            pos = 0
            while pos < len(rest):
                lm = LABEL_RE.match(rest, pos)
                assert lm, "malformed labels in %r" % line
                labels[lm.group(1)] = unescape(lm.group(2))
                pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(3))))
    return types, helps, samples


def series(samples, name, **match):
    return [(l, v) for n, l, v in samples
            if n == name and all(l.get(k) == str(x) for k, x in match.items())]


# --------------------------------------------------------------------------
# one pymemwatch for the module


class Served(object):
    def __init__(self, tmp, interp):
        self.tmp = tmp
        self.procs = Procs(tmp)
        self.a = self.procs.target(interp, ["gc"], name="a")
        self.b = self.procs.target(interp, [], name="b")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.pmw = self.procs.watch("-p", "%d,%d" % (self.a.pid, self.b.pid),
                                    "-i", INTERVAL, "-q",
                                    "--prometheus", "127.0.0.1:%d" % self.port)
        self.pmw.wait_watching()
        # A's collections and pauses, then a couple of intervals to publish them
        self.gc_snap = self.a.run_phase("gc")
        time.sleep(3 * INTERVAL)

    def fetch(self):
        status, headers, body = http(self.url)
        assert status == 200, "GET /metrics: %s\n%s\n%s" % (status, body, self.diag())
        return headers, body

    def diag(self):
        return "pymemwatch stderr:\n%s" % self.pmw.err.text()


@pytest.fixture(scope="module")
def served(binary, root, tmp_path_factory):
    interp = get_interp("debian-3.11")
    s = Served(tmp_path_factory.mktemp("prom"), interp)
    yield s
    s.procs.cleanup()


# --------------------------------------------------------------------------


def test_metrics_endpoint(served):
    a, b = served.a.pid, served.b.pid
    headers, text = served.fetch()
    diag = "%s\n--- /metrics ---\n%s" % (served.diag(), text)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), \
        headers["Content-Type"]
    types, helps, samples = parse(text)
    for fam, typ in FAMILIES.items():
        assert types.get(fam) == typ, "TYPE of %s: %r\n%s" % (fam, types.get(fam), diag)
        assert helps.get(fam), "no HELP for %s\n%s" % (fam, diag)
    assert series(samples, "pymemwatch_up") == [({}, 1.0)], diag
    assert series(samples, "pymemwatch_targets") == [({}, 2.0)], diag

    for pid in (a, b):
        for fam in ("pymemwatch_live_heap_bytes", "pymemwatch_rss_bytes",
                    "pymemwatch_arena_bytes", "pymemwatch_leak_score",
                    "pymemwatch_dropped_events_total"):
            got = series(samples, fam, pid=pid)
            assert len(got) == 1, "%s{pid=%d}: %s\n%s" % (fam, pid, got, diag)
            labels, value = got[0]
            assert set(labels) == set(PROCESS_LABELS), labels
            assert labels["comm"].startswith("python3"), labels
            assert labels["python"].startswith("3.11."), labels
            if fam != "pymemwatch_leak_score" and fam != "pymemwatch_dropped_events_total":
                assert value > 0, "%s{pid=%d} = %s\n%s" % (fam, pid, value, diag)
        alloc = series(samples, "pymemwatch_allocations_total", pid=pid)
        assert len(alloc) == 1 and alloc[0][0]["precision"] in ("exact", "estimate"), alloc
        for fam in ("pymemwatch_gc_collections_total",
                    "pymemwatch_gc_collected_objects_total",
                    "pymemwatch_gc_uncollectable_objects_total"):
            gens = sorted(l["generation"] for l, _ in series(samples, fam, pid=pid))
            assert gens == ["0", "1", "2"], "%s{pid=%d}: %s\n%s" % (fam, pid, gens, diag)

    # A's gc phase: the collections it counted itself, and their pauses
    sa, sb = served.gc_snap["a"]["stats"], served.gc_snap["b"]["stats"]
    assert sum(sb[g]["collections"] - sa[g]["collections"] for g in range(3)) > 0, \
        "the gc phase made no collections?"
    for g in range(3):
        want = sb[g]["collections"] - sa[g]["collections"]
        (_, got), = series(samples, "pymemwatch_gc_collections_total", pid=a, generation=g)
        assert got == want, "gen %d collections: /metrics %s, gc.get_stats() %s\n%s" \
            % (g, got, want, diag)

        buckets = series(samples, "pymemwatch_gc_pause_seconds_bucket", pid=a, generation=g)
        les = [l["le"] for l, _ in buckets]
        assert les[-1] == "+Inf" and len(les) >= 10, les
        finite = [float(x) for x in les[:-1]]
        assert finite == sorted(finite) and finite[0] <= 2e-6 and finite[-1] >= 1.0, les
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), "buckets not cumulative: %s" % counts
        (_, count), = series(samples, "pymemwatch_gc_pause_seconds_count", pid=a, generation=g)
        (_, total), = series(samples, "pymemwatch_gc_pause_seconds_sum", pid=a, generation=g)
        assert counts[-1] == count == want, (counts[-1], count, want)
        assert (total > 0) == (want > 0), (total, want)
        assert total < 10, total

    # other paths and methods
    assert http(served.url.replace("/metrics", "/"))[0] == 404
    assert http(served.url + "x")[0] == 404
    status, headers, _ = http(served.url, method="POST")
    assert status == 405 and "GET" in headers.get("Allow", ""), (status, dict(headers))


def test_promtool_check_metrics(served):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    _, text = served.fetch()
    cp = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert cp.returncode == 0, "promtool check metrics:\n%s" % cp.stdout
    assert not cp.stdout.strip(), "promtool lint findings:\n%s" % cp.stdout


def dashboard_exprs():
    with open(os.path.join(CONTRIB, "grafana-dashboard.json")) as f:
        dash = json.load(f)
    assert dash["schemaVersion"] >= 36
    assert any(i["name"] == "DS_PROMETHEUS" for i in dash["__inputs"])
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    subst = {"$instance": ".*", "$comm": ".*", "$container": ".*",
             "$__rate_interval": "1m"}
    for i, e in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        exprs[i] = e
    return exprs


def test_prometheus_scrapes(served):
    """A real Prometheus server, configured from contrib/prometheus.yml."""
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("prometheus server not installed (Debian package prometheus)")
    with open(os.path.join(CONTRIB, "prometheus.yml")) as f:
        conf = f.read()
    assert "localhost:9464" in conf and "job_name: pymemwatch" in conf
    conf = conf.replace("localhost:9464", "127.0.0.1:%d" % served.port)
    conf = conf.replace("scrape_interval: 5s", "scrape_interval: 1s")
    conf_path = str(served.tmp / "prometheus.yml")
    with open(conf_path, "w") as f:
        f.write(conf)
    promtool = shutil.which("promtool")
    if promtool:
        cp = subprocess.run([promtool, "check", "config", conf_path], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert cp.returncode == 0, cp.stdout

    port2 = free_port()
    api = "http://127.0.0.1:%d/api/v1/" % port2
    log = open(str(served.tmp / "prometheus.log"), "w")
    p = served.procs.popen([prom, "--config.file=" + conf_path,
                            "--storage.tsdb.path=" + str(served.tmp / "tsdb"),
                            "--web.listen-address=127.0.0.1:%d" % port2],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def query(q):
        status, _, body = http(api + "query?" + urllib.parse.urlencode({"query": q}))
        return status, json.loads(body) if body.startswith("{") else body

    want = str(served.a.pid)
    deadline = time.monotonic() + 30
    last = None
    try:
        while time.monotonic() < deadline:
            assert p.poll() is None, "prometheus exited: %s" % open(log.name).read()
            try:
                status, last = query("pymemwatch_live_heap_bytes")
            except (urllib.error.URLError, OSError, ValueError) as e:
                last = repr(e)
            else:
                if status == 200 and any(r["metric"].get("pid") == want
                                         for r in last["data"]["result"]):
                    break
            time.sleep(0.5)
        else:
            pytest.fail("Prometheus never had pymemwatch_live_heap_bytes{pid=%s} "
                        "within 30 s; last answer: %s\n%s\n%s"
                        % (want, last, open(log.name).read()[-3000:], served.diag()))
        res = [r for r in last["data"]["result"] if r["metric"]["pid"] == want]
        m = res[0]["metric"]
        assert m["job"] == "pymemwatch" and m["python"].startswith("3.11"), m
        assert float(res[0]["value"][1]) > 0, res

        # the scrape itself was healthy
        status, up = query('up{job="pymemwatch"}')
        assert status == 200 and up["data"]["result"][0]["value"][1] == "1", up
        # every query of the Grafana dashboard parses and runs
        for e in dashboard_exprs():
            status, ans = query(e)
            assert status == 200 and ans["status"] == "success", \
                "dashboard query %r: %s %s" % (e, status, ans)
    finally:
        stop_process(p)
        log.close()


def test_exited_process_series_removed(served):
    a, b = served.a.pid, served.b.pid
    mark = len(served.pmw.err.lines)
    os.kill(b, signal.SIGKILL)
    served.b.proc.wait(10)
    assert served.pmw.err.wait_for("PID %d exited" % b, 10, start=mark) is not None, \
        served.diag()
    deadline = time.monotonic() + 8 * INTERVAL + 2
    while True:
        _, text = served.fetch()
        _, _, samples = parse(text)
        gone = not [s for s in samples if s[1].get("pid") == str(b)]
        if gone or time.monotonic() > deadline:
            break
        time.sleep(INTERVAL / 2)
    assert gone, "series of exited PID %d still served:\n%s" % (b, text)
    assert series(samples, "pymemwatch_live_heap_bytes", pid=a), text
    assert series(samples, "pymemwatch_targets") == [({}, 1.0)], text
    assert served.pmw.proc.poll() is None, served.diag()
