"""GC collection counts must match the target's own gc.get_stats() exactly."""

import time

from conftest import (check_header, format_rows, read_csv, rows_for,
                      wait_rows)


def test_gc_counts_exact(env, interp, procs, tmp_path):
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
    assert all(r["precision"] in ("exact", "estimate") for r in rows), diag

    a, b = snap["a"]["stats"], snap["b"]["stats"]
    expect = [b[g]["collections"] - a[g]["collections"] for g in range(3)]
    got = [sum(r["gc_gen%d" % g] for r in rows) for g in range(3)]
    assert sum(expect) > 0, "workload made no collections?\n" + diag
    assert got == expect, \
        "collections per generation: pymemwatch %s, gc.get_stats() %s\n%s" \
        % (got, expect, diag)

    expect_freed = sum((b[g]["collected"] + b[g]["uncollectable"])
                       - (a[g]["collected"] + a[g]["uncollectable"])
                       for g in range(3))
    got_freed = sum(r["gc_collected"] + r["gc_uncollectable"] for r in rows)
    assert got_freed == expect_freed, \
        "collected+uncollectable: pymemwatch %d, gc.get_stats() %d\n%s" \
        % (got_freed, expect_freed, diag)
    expect_unc = sum(b[g]["uncollectable"] - a[g]["uncollectable"]
                     for g in range(3))
    assert sum(r["gc_uncollectable"] for r in rows) == expect_unc, diag

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
