// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The process leak score: slopes of live heap and RSS over time. */
#include <math.h>
#include <string.h>
#include "leak.h"
#include "util.h"
#include "watch.h"

double pmw_leak_process_score(const struct pmw_leak_score *s)
{
	/* log-scaled growth rates in KiB per minute, weighted by how well a line fits */
	double heap = s->heap_slope > 0 ? s->heap_r2 * log2(1 + s->heap_slope / 1024) : 0;
	double rss = s->rss_slope > 0 ? s->rss_r2 * log2(1 + s->rss_slope / 1024) : 0;
	double unc = s->uncoll_per_min > 0 ? log2(1 + s->uncoll_per_min) : 0;

	return heap + 0.5 * rss + unc;
}

void pmw_trend_add(struct pmw_leaks *l, const struct pmw_row *r)
{
	l->run_s += r->interval_s;
	for (int g = 0; g < PMW_NGEN; g++)
		l->uncoll_total += r->gc[g].uncollectable;
	if (l->nhist == PMW_HIST_N) {
		memmove(l->heap_hist, l->heap_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		memmove(l->rss_hist, l->rss_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		memmove(l->t_hist, l->t_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		l->nhist--;
	}
	l->heap_hist[l->nhist] = r->live_bytes + r->large_live_bytes;
	l->rss_hist[l->nhist] = r->rss_bytes;
	l->t_hist[l->nhist] = l->run_s / 60.0;	/* minutes */
	l->nhist++;
	pmw_fit_line(l->t_hist, l->heap_hist, l->nhist, &l->ps.heap_slope, &l->ps.heap_r2);
	pmw_fit_line(l->t_hist, l->rss_hist, l->nhist, &l->ps.rss_slope, &l->ps.rss_r2);
	l->ps.uncoll_per_min = l->run_s > 0 ? l->uncoll_total / (l->run_s / 60) : 0;
}
