"""Unavailable figures on a real run: what was not measured is an empty CSV
cell, JSON null and n/a in the plain table, never a 0 (user/fields.c, the
.avail of each row); what was measured is a number.

Debian's python3.11 (USDT, so GC pauses are timed) runs the gc phase of
gc_window.py under `--mode gc` (no heap reads, no allocation probe) and under
the default `--mode full` without --large.
"""

import csv
import json

from conftest import (check_header, format_rows, get_interp, read_csv,
                      watch_phase)

NOT_MEASURED_GC = ("allocs", "alloc_bytes", "frees", "live_bytes", "arena_bytes",
                   "live_blocks", "large_live_bytes", "large_allocs", "pool_refills",
                   "heap_scan_ms", "pools_used")
LARGE = ("large_live_bytes", "large_allocs")


def run_gc_phase(procs, tmp_path, *args):
    """pymemwatch --csv --json (and the plain table on stdout) around the gc
    phase; returns (Result, CSV header, raw CSV rows, JSON process rows, diag)."""
    target = procs.target(get_interp("debian-3.11"), ["gc"])
    csv_path = str(tmp_path / "run.csv")
    json_path = str(tmp_path / "run.jsonl")
    res, rows, snap = watch_phase(procs, target, "gc", csv_path, quiet=False,
                                  args=("--json", json_path, "--no-tui") + args)
    header, _ = read_csv(csv_path)
    with open(csv_path, newline="") as f:
        raw = [r for r in csv.DictReader(f) if r["pid"] == str(target.pid)]
    with open(json_path) as f:
        objs = [json.loads(l) for l in f if l.strip()]
    procs_json = [o for o in objs if o["type"] == "process" and o["pid"] == target.pid]
    diag = "%s\nrows:\n%s\nsnapshots: %s" % (res.describe(), format_rows(rows), snap)
    assert res.rc == 0, diag
    check_header(header)
    assert raw and procs_json, diag
    return res, header, raw, procs_json, diag


def test_mode_gc_leaves_heap_and_counts_empty(env, procs, tmp_path):
    res, header, rows, objs, diag = run_gc_phase(procs, tmp_path, "--mode", "gc")
    for c in NOT_MEASURED_GC:
        assert c in header, c
        assert all(r[c] == "" for r in rows), "%s not empty\n%s" % (c, diag)
        assert all(o[c] is None for o in objs), "%s not null in JSON\n%s" % (c, diag)
    assert all(r["precision"] == "unavailable" for r in rows), diag
    # measured: RSS, GC counts and (USDT) pauses
    assert all(int(r["rss_bytes"]) > 0 for r in rows), diag
    assert sum(int(r["gc_gen0"]) + int(r["gc_gen1"]) + int(r["gc_gen2"]) for r in rows) > 0, diag
    assert all(r["gc_pause_ms_total"] != "" for r in rows), diag
    assert all(isinstance(o["gc_gen0_pause_ms_total"], float) for o in objs), diag
    # the plain table: n/a where CSV is empty (ALLOC/s, FREE/s, LIVE, ARENA)
    lines = [l.split() for l in res.stdout.splitlines() if l.split()[1:2] == [str(rows[0]["pid"])]]
    assert lines and all(l[3:7] == ["n/a"] * 4 for l in lines), res.stdout


def test_mode_full_measures_heap_not_large(env, procs, tmp_path):
    res, header, rows, objs, diag = run_gc_phase(procs, tmp_path)
    for c in LARGE:
        assert all(r[c] == "" for r in rows), "%s not empty without --large\n%s" % (c, diag)
        assert all(o[c] is None for o in objs), diag
    assert all(int(r["live_bytes"]) > 0 and int(r["pools_used"]) > 0 for r in rows), diag
    assert all(r["pool_refills"] != "" for r in rows), diag
    # the heap is read at the end of every interval: its cost is a number
    assert all(float(r["heap_scan_ms"]) > 0 for r in rows), diag
    assert any(r["precision"] == "estimate" and r["allocs"] != "" for r in rows), diag
