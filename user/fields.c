// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "fields.h"
#include "util.h"

static const char *const names[PMW_NFIELDS] = {
	"time", "host", "pid", "comm", "python", "interval_s", "allocs", "alloc_bytes",
	"frees", "live_bytes", "arena_bytes", "rss_bytes", "gc_gen0", "gc_gen1", "gc_gen2",
	"gc_collected", "gc_uncollectable", "gc_pause_ms_total", "gc_pause_ms_max",
	"precision", "dropped",
	/* additions */
	"live_blocks", "anon_bytes", "large_live_bytes", "large_allocs", "pool_refills",
	"gc_pause_ms_p50", "gc_pause_ms_p99", "gc_unknown_gen", "exited",
	"leak_score", "heap_slope_bytes_per_min", "heap_fit_r2", "rss_slope_bytes_per_min",
	"rss_fit_r2", "uncollectable_per_min", "sampled_s", "container", "ns_pid", "heap_scan_ms",
};

const char *pmw_field_name(int i)
{
	return i >= 0 && i < PMW_NFIELDS ? names[i] : NULL;
}

int pmw_process_fields(const struct pmw_watch *w, const char *host, char *ts, size_t tslen,
		       struct pmw_field f[PMW_NFIELDS])
{
	const struct pmw_row *r = &w->row;
	const struct pmw_leak_score *ps = &w->leaks.ps;
	uint64_t coll = 0, unc = 0, pause = 0, pmax = 0, hist[PMW_HIST_SLOTS] = { 0 };
	int i = 0;

	for (int g = 0; g < PMW_NGEN; g++) {
		coll += r->gc[g].collected;
		unc += r->gc[g].uncollectable;
		pause += r->gc[g].pause_ns;
		if (r->gc[g].pause_max_ns > pmax)
			pmax = r->gc[g].pause_max_ns;
		for (int s = 0; s < PMW_HIST_SLOTS; s++)
			hist[s] += r->gc[g].hist[s];
	}
	pmw_fmt_rfc3339(&r->wall, ts, tslen);
	memset(f, 0, sizeof(*f) * PMW_NFIELDS);
#define STR(v) (f[i].type = PMW_F_STR, f[i].s = (v), i++)
#define U64(v) (f[i].type = PMW_F_U64, f[i].u = (v), i++)
#define F64(v, p) (f[i].type = PMW_F_F64, f[i].d = (v), f[i].prec = (p), i++)
	STR(ts);
	STR(host);
	U64(r->pid);
	STR(r->comm);
	STR(r->python);
	F64(r->interval_s, 3);
	U64(r->allocs);
	f[i - 1].na = r->counts_na;
	U64(r->alloc_bytes);
	f[i - 1].na = r->counts_na;
	U64(r->frees);
	f[i - 1].na = r->counts_na;
	U64(r->live_bytes);
	U64(r->arena_bytes);
	U64(r->rss_bytes);
	U64(r->gc[0].collections);
	U64(r->gc[1].collections);
	U64(r->gc[2].collections);
	U64(coll);
	U64(unc);
	F64(pause / 1e6, 3);
	F64(pmax / 1e6, 3);
	STR(r->counts_na ? "unavailable" : r->exact ? "exact" : "estimate");
	U64(r->dropped);
	U64(r->live_blocks);
	U64(r->anon_bytes);
	U64(r->large_live_bytes);
	U64(r->large_allocs);
	U64(r->pool_refills);
	F64(pmw_hist_percentile(hist, PMW_HIST_SLOTS, 50, pmax) / 1e6, 3);
	F64(pmw_hist_percentile(hist, PMW_HIST_SLOTS, 99, pmax) / 1e6, 3);
	U64(r->gc_unknown_gen);
	U64(r->final ? 1 : 0);
	F64(ps->score, 3);
	F64(ps->heap_slope, 0);
	F64(ps->heap_r2, 3);
	F64(ps->rss_slope, 0);
	F64(ps->rss_r2, 3);
	F64(ps->uncoll_per_min, 1);
	F64(w->leaks.burst_s, 2);
	STR(w->t.container);
	U64(w->t.ns_pid);
	F64(r->heap_ok ? w->heap.scan_ms : 0, 2);
#undef STR
#undef U64
#undef F64
	for (int k = 0; k < i; k++)
		f[k].name = names[k];
	return i;
}
