"""GC collection counts must match the target's own gc.get_stats() exactly."""

from conftest import assert_gc_matches, format_rows, watch_phase


def test_gc_counts_exact(env, interp, procs, tmp_path, precisions=("exact", "estimate")):
    # precisions: what the `precision` column may say (test_freethreaded.py
    # reuses this test: without pymalloc, counts are "unavailable" there)
    target = procs.target(interp, ["gc"])
    # at least one row before the window: the CSV is live
    res, rows, snap = watch_phase(procs, target, "gc", str(tmp_path / "gc.csv"))
    diag = "%s\n%s\nrows:\n%s\nsnapshots: %s" % (
        interp, res.describe(), format_rows(rows), snap)

    assert res.rc == 0, diag
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
