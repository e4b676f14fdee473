"""Red-team leak apps: leaks of shapes the other leak workloads do not have.

tests/workloads/redteam_*.py are five small services written to differ from
tests/workloads/leak_*.py (see redteam_common.py): a WSGI-style app whose
middleware appends to app.server.handlers, a telemetry exporter run as a
script with its work in a thread (a registry's attribute dict, a list in a
module dict, a cache cleared every 3 s), an unbounded lru_cache next to
2-64 KiB uploads kept in a dict, and slow leaks through a closure cell and a
class attribute next to a 100000-entry cache with 5000 replacements a
second and a list that grows and shrinks in cycles, and leaks whose first
item keeps changing (a backlog drained from the front, a list kept newest
first) next to one 25 times slower that only appends. Each app writes its
ground truth (holder paths, len() once a second, the marker of the line that
creates each leak's items).

What issue 11 says will be checked, on Debian 3.11, pyenv 3.12.1 and 3.13.0
and a stripped copy of pyenv 3.12.1, under `-p PID -i 2 -d 45 --csv-leaks`:
ranks 1 and 2 of the last interval name the two leaks' holders, no bounded
container in the top 2, the site column names the line creating the leaked
items where stacks are available; the census counts the apps' own classes.
The site column (issue 17: the line that grows the leak, from a hardware
watchpoint on its length) is checked by test_sites_name_the_growing_line:
when sampled allocations were joined to items (issue 11) it was empty for 32
of the 40 leaks (app x interpreter).

One pymemwatch run per interpreter watches the five apps (-p A,B,C,D,E): each
app x interpreter is watched once, and the tests below share that run.
"""
import datetime
import json
import os
import re
import time

import pytest

from conftest import WORKLOADS, read_csv, run_pmw
from test_walk import WALK_INTERPS, Started, start, stripped_312, walk_interp  # noqa: F401
# (stripped_312: a fixture walk_interp asks for)

APPS = ["redteam_wsgi", "redteam_telemetry", "redteam_cache", "redteam_nasty", "redteam_backlog"]
SECONDS = 45
# the apps' own classes whose instances are the items of a leak: census counts them
OWN_CLASSES = {"redteam_wsgi": "RequestRecord", "redteam_nasty": "Envelope", "redteam_backlog": "Job"}


class Run(object):
    """One pymemwatch run over the five apps on one interpreter."""

    def __init__(self, interp, res, pids, truth, leaks, types, json_out=None):
        self.interp, self.res, self.pids, self.truth = interp, res, pids, truth
        self.leaks, self.types, self.json_out = leaks, types, json_out

    def site_reasons(self):
        """{(pid, holder): site_reason} of the JSON leak lines of each pid's last interval"""
        rows = []
        with open(self.json_out) as f:
            rows = [json.loads(l) for l in f if '"type":"leak"' in l]
        last = {}
        for r in rows:
            last[r["pid"]] = max(last.get(r["pid"], r["time"]), r["time"])
        return {(r["pid"], r["holder"]): r.get("site_reason") or ""
                for r in rows if r["time"] == last[r["pid"]]}

    def diag(self, app):
        return "%s, %s (pid %d)\n%s" % (self.interp, app, self.pids[app], self.res.describe())

    def last_leaks(self, app):
        """--csv-leaks rows of the app's last interval, by rank"""
        mine = [r for r in self.leaks if r["pid"] == self.pids[app]]
        last = [r for r in mine if mine and r["time"] == mine[-1]["time"]]
        return sorted(last, key=lambda r: int(r["rank"]))

    def last_census(self, app):
        """(epoch seconds, {type name: [rows]}) of the app's last census"""
        mine = [r for r in self.types if r["pid"] == self.pids[app]]
        if not mine:
            return None, {}
        t = mine[-1]["time"]
        by = {}
        for r in mine:
            if r["time"] == t:
                by.setdefault(r["type"], []).append(r)
        return epoch(t), by


def epoch(iso):
    """'2026-11-27T16:13:55.268Z' -> seconds since the epoch"""
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def len_at(history, k, t):
    """len() of leak k at time t, interpolated from the app's history"""
    return value_at([(h[0], h[1][k]) for h in history], t)


def value_at(pts, t):
    """a value at time t, interpolated from [(time, value), ...] (time order)"""
    if t <= pts[0][0]:
        return pts[0][1]
    for (t0, n0), (t1, n1) in zip(pts, pts[1:]):
        if t0 <= t <= t1:
            return n0 + (n1 - n0) * (t - t0) / (t1 - t0)
    return pts[-1][1]


def watch_apps(interp, apps, tmp, seconds, quiet=False, settle=0.0, json_out=None):
    """Start each app of @apps (tests/workloads/APP.py 0 STATE) on @interp, watch them all
    with one `pymemwatch -p A,B.. -i 2 -d SECONDS --csv-leaks --csv-types` (-q if @quiet,
    --json @json_out if given),
    read each app's ground truth (its STATE file) @settle seconds after pymemwatch ended.
    Returns (res, pids, truth, leak rows, type rows)."""
    started = Started()
    try:
        states, pids = {}, {}
        for app in apps:
            states[app] = str(tmp / (app + ".json"))
            pids[app] = start(started, interp,
                              [os.path.join(WORKLOADS, app + ".py"), "0", states[app]]).pid
        leaks, types = str(tmp / "leaks.csv"), str(tmp / "types.csv")
        res = run_pmw(["-p", ",".join(str(pids[a]) for a in apps), "-i", "2", "-d", str(seconds)]
                      + (["-q"] if quiet else []) + ["--csv-leaks", leaks, "--csv-types", types]
                      + (["--json", json_out] if json_out else []),
                      timeout=seconds + 120)
        time.sleep(settle)
        truth = {}
        for app in apps:
            with open(states[app]) as f:
                truth[app] = json.load(f)
    finally:
        started.cleanup()
    return res, pids, truth, read_csv(leaks)[1], read_csv(types)[1]


@pytest.fixture(scope="module", params=WALK_INTERPS)
def rt_run(request, binary, root, tmp_path_factory):
    interp = walk_interp(request)
    # no -q: the live view and the summary are checked too
    tmp = tmp_path_factory.mktemp("redteam-" + request.param)
    out = str(tmp / "leaks.json")   # site_reason: why a site is empty
    res, pids, truth, leaks, types = watch_apps(interp, APPS, tmp, SECONDS, json_out=out)
    return Run(interp, res, pids, truth, leaks, types, out)


@pytest.mark.parametrize("app", APPS)
def test_top2_are_the_leaks(rt_run, app):
    """Ranks 1 and 2 of the last interval: the two leaks, by their holder
    paths (module.global spelling), items within the target's len(); no
    bounded container among them."""
    diag = rt_run.diag(app)
    assert rt_run.res.rc == 0, diag
    last = rt_run.last_leaks(app)
    truth = rt_run.truth[app]
    d = "last interval: %s\nground truth: leaks %s, bounded %s\n%s" % (
        [(r["rank"], r["holder"], r["items"], r["item_type"], r["score"]) for r in last],
        [(h["holder"], h["len"]) for h in truth["leaks"]],
        [(h["holder"], h["len"]) for h in truth["bounded"]], diag)
    top2 = last[:2]
    assert [int(r["rank"]) for r in top2] == [1, 2], d
    assert sorted(r["holder"] for r in top2) == sorted(h["holder"] for h in truth["leaks"]), d
    for leak in truth["leaks"]:
        r = [r for r in top2 if r["holder"] == leak["holder"]][0]
        # the app writes its state once a second, so its last len() may be a
        # second or two older than pymemwatch's last walk
        assert 0.7 * leak["len"] <= int(r["items"]) <= 1.05 * leak["len"] + 5, d
        assert r["item_type"] == leak["item_type"], d
    # a leak 25 times slower than both ranks below them
    for m in truth.get("minor", []):
        assert m["holder"] not in [r["holder"] for r in top2], d
    # bounded containers score about 0: not in the top 2, nor anywhere in the table
    for b in truth["bounded"]:
        assert b["holder"] not in [r["holder"] for r in top2], d
        assert not any(r["holder"] == b["holder"] or r["holder"].endswith("@0x%x" % b["addr"])
                       for r in last), "bounded %s listed\n%s" % (b["holder"], d)


@pytest.mark.parametrize("app", sorted(OWN_CLASSES) + ["redteam_cache"])
def test_census(rt_run, app):
    """The last census: the app's own leaking class counted as the target
    holds it (len() interpolated at the census time, 0.5%); the uploads'
    bytes (2-64 KiB each, libc malloc) in the census' bytes row."""
    diag = rt_run.diag(app)
    t, census = rt_run.last_census(app)
    assert census, "no census rows\n" + diag
    truth = rt_run.truth[app]
    if app == "redteam_cache":
        have = sum(int(r["bytes"]) for r in census.get("bytes", []))
        # uploads grow ~0.6 MB/s; the census is at most one interval older than the state
        assert have >= 0.9 * truth["upload_bytes"] - 2e6, "census bytes %d, uploads %d\n%s" % (
            have, truth["upload_bytes"], diag)
        return
    cls = OWN_CLASSES[app]
    k = [h["item_type"] for h in truth["leaks"]].index(cls)
    # the walk reads the heap during the interval before its time stamp
    lo = len_at(truth["history"], k, t - 3) * 0.995 - 2
    hi = len_at(truth["history"], k, t + 2) * 1.005 + 2
    have = sum(int(r["objects"]) for r in census.get(cls, []))
    assert lo <= have <= hi, "%s: census %d, target held %.0f..%.0f\n%s" % (cls, have, lo, hi, diag)


def test_sites_name_the_growing_line(rt_run):
    """Each leak row of the last interval names, as its site, a line that the
    app marks for that leak (# LEAK-X: the line that grows it; for the
    lru_cache, the call of the cached function); at least 9 of the 10 leaks
    are named within 45 s (watches rotate over 4 debug registers, shared with
    anything else running). A leak left without a site because another process
    held the debug registers (site_reason: no free hardware watchpoint) cannot be
    judged: if the check fails only through those, it is skipped with the reason."""
    from test_walk import marker_lines, matches
    named, rows, taken = 0, [], []
    reasons = rt_run.site_reasons()
    for app in APPS:
        mine = [r for r in rt_run.leaks if r["pid"] == rt_run.pids[app]]
        last = [r for r in mine if r["time"] == mine[-1]["time"]]
        for leak in rt_run.truth[app]["leaks"]:
            hit = [r for r in last if matches(r, leak)]
            site = hit[0]["site"] if hit else ""
            rows.append((app, leak["holder"], site))
            if not site:
                why = reasons.get((rt_run.pids[app], hit[0]["holder"]), "") if hit else ""
                if "no free hardware watchpoint" in why:
                    taken.append((app, leak["holder"], why))
                continue
            path, _, line = site.rpartition(":")
            assert os.path.basename(path) == app + ".py" and \
                int(line) in marker_lines(app, leak["marker"]), \
                "site %s of %s is not a %s line\n%s" % (site, leak["holder"], leak["marker"],
                                                       rt_run.diag(app))
            named += 1
    print("%s: %d of %d leaks named: %s" % (rt_run.interp.id, named, len(rows), rows))
    if named < len(rows) - 1 and named + len(taken) >= len(rows) - 1:
        pytest.skip("%d of %d leaks named; %d not watched: debug registers taken by another "
                    "process (ENOSPC/EBUSY): %s" % (named, len(rows), len(taken), taken))
    assert named >= len(rows) - 1, rows


def test_summary_names_the_holders(rt_run):
    """The exit summary of each app lists its two leaks' holders in full, and
    the live view printed a row per interval."""
    out = rt_run.res.stdout
    for app in APPS:
        pid = rt_run.pids[app]
        m = re.search(r"^summary PID %d .*?(?=^summary PID |\Z)" % pid, out, re.M | re.S)
        assert m, "no summary for %s\n%s" % (app, rt_run.diag(app))
        block = m.group(0)
        assert "leaks (growing containers" in block, block
        for leak in rt_run.truth[app]["leaks"]:
            assert leak["holder"] in block, "%s not in the summary\n%s" % (leak["holder"], block)
        rows = [l for l in out.splitlines() if re.match(r"^\d\d:\d\d:\d\d +%d " % pid, l)]
        assert len(rows) >= SECONDS // 2 - 2, "%d live rows for %s" % (len(rows), app)
