// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The end-of-run summary per PID, and the ranking of processes (-a). */
#include <stdlib.h>
#include "output_advice.h"
#include "output_leaks.h"
#include "profile.h"
#include "summary.h"
#include "util.h"
#include "watch.h"

/* allocation counts of @w over the run, and where they come from */
static void summary_counts(FILE *f, const struct pmw_watch *w)
{
	if (!w->rows_counted)
		fprintf(f, "  allocs n/a, frees n/a (unavailable: %s); events dropped %llu\n",
			!(w->a.groups & PMW_G_HEAP) ? "no pool-refill probe" :
			w->t.sf.pool_refill.check == PMW_CHECK_FAILED ?
			"the pool-refill probe failed its check" : "pool-refill probe not checked yet", (unsigned long long)w->tot_dropped);
	else
		fprintf(f, "  allocs %llu, frees %llu (%s%s); events dropped %llu\n",
			(unsigned long long)w->tot_allocs, (unsigned long long)w->tot_frees,
			w->exact ? "exact" : "estimate", w->rows_counted < w->rows ?
			", over the intervals measured" : "", (unsigned long long)w->tot_dropped);
	if (w->leaks.bursts_skipped)
		fprintf(f, "  leak bursts skipped under load (free probes not attached in time): %u\n",
			w->leaks.bursts_skipped);
}

/* GC per generation over the run, the GC source and the process score */
static void summary_gc(FILE *f, const struct pmw_watch *w)
{
	fprintf(f, "  %-4s %11s %11s %8s %10s %9s %9s %9s\n", "GEN", "COLLECTIONS",
		"COLLECTED", "UNCOLL", "PAUSE(ms)", "p50(ms)", "p99(ms)", "max(ms)");
	for (int g = 0; g < PMW_NGEN; g++) {
		const struct pmw_gcgen *t = &w->gc_total[g];

		fprintf(f, "  %-4d %11llu %11llu %8llu %10.2f %9.3f %9.3f %9.3f\n", g,
			(unsigned long long)t->collections, (unsigned long long)t->collected,
			(unsigned long long)t->uncollectable, t->pause_ns / 1e6,
			pmw_hist_percentile(t->hist, PMW_HIST_SLOTS, 50, t->pause_max_ns) / 1e6,
			pmw_hist_percentile(t->hist, PMW_HIST_SLOTS, 99, t->pause_max_ns) / 1e6,
			t->pause_max_ns / 1e6);
	}
	fprintf(f, "  gc source: %s; leak score %.2f (heap %+.0f B/min r2 %.2f, RSS %+.0f B/min r2 %.2f)\n",
		w->t.sf.gc_func.check == PMW_CHECK_FAILED ?
		"memory (the collection function found by disassembly failed its check)" :
		pmw_gc_source_name(w->gc_src), w->leaks.ps.score, w->leaks.ps.heap_slope,
		w->leaks.ps.heap_r2, w->leaks.ps.rss_slope, w->leaks.ps.rss_r2);
}

/* the types that grew since attach, and the sampled allocation profile's top sites */
static void summary_types_sites(FILE *f, struct pmw_watch *w)
{
	struct pmw_site *top[5];
	int nt = pmw_sites_top(&w->leaks, top, 5);
	struct pmw_census_type *ct[5];
	int nc = pmw_census_top(&w->leaks.census, ct, 5);
	char a[16], b[16];

	if (nc)
		fprintf(f, "  types growing since attach (live pymalloc bytes of pools they head):\n");
	for (int k = 0; k < nc; k++) {
		int64_t g = (int64_t)ct[k]->bytes - (int64_t)ct[k]->first_bytes;

		if (g <= 0)
			break;
		fprintf(f, "    %-24s %s (+%s)\n", pmw_census_name(&w->leaks.census, ct[k]->type),
			pmw_fmt_bytes(ct[k]->bytes, a, sizeof(a)),
			pmw_fmt_bytes(g, b, sizeof(b)));
	}
	if (nt)
		fprintf(f, "  allocation profile, sites holding sampled pools (sampled %.1f s):\n", w->leaks.burst_s);
	for (int k = 0; k < nt; k++) {
		const struct pmw_site *st = top[k];

		fprintf(f, "  %d. %s:%d %s  type %s  live %s  score %.0f\n", k + 1,
			st->nframes ? st->frames[0].file : "?",
			st->nframes ? st->frames[0].line : 0,
			st->nframes ? st->frames[0].func : "?",
			st->type[0] ? st->type : "?",
			pmw_fmt_bytes(st->live_bytes, a, sizeof(a)), st->score);
	}
}

void pmw_print_summary(FILE *f, struct pmw_watch **ws, int n)
{
	char a[16], b[16], c[16], d[16], e[16];

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		int64_t growth = (int64_t)w->row.live_bytes - (int64_t)w->first_live;

		fprintf(f, "\nsummary PID %d %s (python %s)%s: %.1f s, %u rows\n", w->t.pid,
			w->t.comm, w->t.version, w->exited ? ", exited" : "", w->seconds, w->rows);
		pmw_print_leak_table(f, w, PMW_LEAKS_MAX);	/* leaks first */
		fprintf(f, "  live heap %s -> %s (%s%s), peak %s; peak RSS %s\n",
			pmw_fmt_bytes(w->first_live, a, sizeof(a)),
			pmw_fmt_bytes(w->row.live_bytes, b, sizeof(b)), growth < 0 ? "-" : "+",
			pmw_fmt_bytes(growth < 0 ? -growth : growth, c, sizeof(c)),
			pmw_fmt_bytes(w->peak_live, d, sizeof(d)),
			pmw_fmt_bytes(w->peak_rss, e, sizeof(e)));
		summary_counts(f, w);
		summary_gc(f, w);
		summary_types_sites(f, w);
		pmw_advice_summary(f, w);	/* where the memory goes */
	}
	fflush(f);
}

const char *const pmw_rank_key_names[PMW_RANK_NKEYS] = {
	"score", "heap", "rss", "growth", "pid",
};

const char pmw_rank_header[] =
	"PID     NSPID   CONTAINER        COMM         PYTHON   LIVE    RSS   GROW/min P99(ms)  SCORE";

static enum pmw_rank_key rank_key;

static double rank_value(const struct pmw_watch *w)
{
	switch (rank_key) {
	case PMW_RANK_HEAP: return w->row.live_bytes;
	case PMW_RANK_RSS: return w->row.rss_bytes;
	case PMW_RANK_GROWTH: return w->leaks.ps.heap_slope;
	case PMW_RANK_PID: return -w->t.pid;
	default: return w->leaks.ps.score;
	}
}

static int cmp_rank(const void *a, const void *b)
{
	const struct pmw_watch *x = *(struct pmw_watch *const *)a, *y = *(struct pmw_watch *const *)b;
	double vx = rank_value(x), vy = rank_value(y);

	if (x->exited != y->exited)
		return x->exited ? 1 : -1;	/* live processes first */
	return vx < vy ? 1 : vx > vy ? -1 : x->t.pid - y->t.pid;
}

void pmw_rank(struct pmw_watch **ws, int n, enum pmw_rank_key key)
{
	rank_key = key;
	qsort(ws, n, sizeof(*ws), cmp_rank);
}

/* p99 GC pause over the run, all generations, ms */
static double pause_p99_ms(const struct pmw_watch *w)
{
	uint64_t hist[PMW_HIST_SLOTS] = { 0 }, max = 0;

	for (int g = 0; g < PMW_NGEN; g++) {
		for (int i = 0; i < PMW_HIST_SLOTS; i++)
			hist[i] += w->gc_total[g].hist[i];
		if (w->gc_total[g].pause_max_ns > max)
			max = w->gc_total[g].pause_max_ns;
	}
	return pmw_hist_percentile(hist, PMW_HIST_SLOTS, 99, max) / 1e6;
}

void pmw_format_rank_line(char *buf, size_t len, const struct pmw_watch *w)
{
	char live[16], rss[16], grow[16];
	double slope = w->leaks.ps.heap_slope;

	pmw_fmt_bytes(w->row.live_bytes, live, sizeof(live));
	pmw_fmt_bytes(w->row.rss_bytes, rss, sizeof(rss));
	grow[0] = slope < 0 ? '-' : '+';
	pmw_fmt_bytes(slope < 0 ? -slope : slope, grow + 1, sizeof(grow) - 1);
	snprintf(buf, len, "%-7d %-7d %-16.16s %-12.12s %-8.8s %6s %6s %8s %7.2f %6.1f%s",
		 w->t.pid, w->t.ns_pid, w->t.container[0] ? w->t.container : "-", w->t.comm,
		 w->t.version, live, rss, grow, pause_p99_ms(w), w->leaks.ps.score,
		 w->exited ? " exited" : "");
}

void pmw_print_ranking(FILE *f, struct pmw_watch **ws, int n, bool header)
{
	char line[160];

	if (header)
		fprintf(f, "%s\n", pmw_rank_header);
	for (int i = 0; i < n; i++) {
		pmw_format_rank_line(line, sizeof(line), ws[i]);
		fprintf(f, "%s\n", line);
	}
	fflush(f);
}
