"""GC collection counts must match the target's own gc.get_stats() exactly."""

import time

from conftest import (assert_gc_matches, check_header, format_rows, read_csv, rows_for,
                      wait_rows)


def test_gc_counts_exact(env, interp, procs, tmp_path, precisions=("exact", "estimate")):
    # precisions: what the `precision` column may say (test_freethreaded.py
    # reuses this test: without pymalloc, counts are "unavailable" there)
    target = procs.target(interp, ["gc"])
    csv_path = str(tmp_path / "gc.csv")
    pmw = procs.watch("-p", target.pid, "-i", "0.5", "--csv", csv_path, "-q")
    pmw.wait_watching()
    # at least one row before the window: the CSV is live
    assert wait_rows(csv_path, target.pid, 1), \
        "no CSV row within 30 s of `watching`\n" + pmw.stop().describe()

    snap = target.run_phase("gc")
    time.sleep(1.2)                              # > 2 intervals
    res = pmw.stop()
    header, rows = read_csv(csv_path)
    rows = rows_for(rows, target.pid)
    diag = "%s\n%s\nrows:\n%s\nsnapshots: %s" % (
        interp, res.describe(), format_rows(rows), snap)

    assert res.rc == 0, diag
    check_header(header)
    assert rows, diag
    assert all(r["precision"] in precisions for r in rows), diag

    assert_gc_matches(rows, snap, diag)

    for r in rows:
        n = r["gc_gen0"] + r["gc_gen1"] + r["gc_gen2"]
        if n:
            assert r["gc_pause_ms_total"] > 0, \
                "row with %d collections has no pause time\n%s" % (n, diag)
            assert 0 < r["gc_pause_ms_max"] <= r["gc_pause_ms_total"] + 1e-6, \
                diag
            # pauses happen inside the interval
            assert r["gc_pause_ms_total"] <= r["interval_s"] * 1000 * 1.5 + 50, \
                diag

    # summary on stdout mentions the target
    assert str(target.pid) in res.stdout, diag
    assert target.proc.poll() is None, "target died\n" + diag
