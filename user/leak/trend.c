// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The process leak score: slopes of live heap and RSS over time. */
#include <math.h>
#include <string.h>
#include "trend.h"
#include "util.h"

double pmw_leak_process_score(const struct pmw_leak_score *s)
{
	/* log-scaled growth rates in KiB per minute, weighted by how well a line fits */
	double heap = s->heap_slope > 0 ? s->heap_r2 * log2(1 + s->heap_slope / 1024) : 0;
	double rss = s->rss_slope > 0 ? s->rss_r2 * log2(1 + s->rss_slope / 1024) : 0;
	double unc = s->uncoll_per_min > 0 ? log2(1 + s->uncoll_per_min) : 0;

	return heap + 0.5 * rss + unc;
}

void pmw_trend_add(struct pmw_trend *tr, struct pmw_leak_score *ps, double run_s,
		   double heap_bytes, double rss_bytes, uint64_t uncoll)
{
	tr->uncoll_total += uncoll;
	if (tr->nhist == PMW_HIST_N) {
		memmove(tr->heap_hist, tr->heap_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		memmove(tr->rss_hist, tr->rss_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		memmove(tr->t_hist, tr->t_hist + 1, sizeof(double) * (PMW_HIST_N - 1));
		tr->nhist--;
	}
	tr->heap_hist[tr->nhist] = heap_bytes;
	tr->rss_hist[tr->nhist] = rss_bytes;
	tr->t_hist[tr->nhist] = run_s / 60.0;	/* minutes */
	tr->nhist++;
	pmw_fit_line(tr->t_hist, tr->heap_hist, tr->nhist, &ps->heap_slope, &ps->heap_r2);
	pmw_fit_line(tr->t_hist, tr->rss_hist, tr->nhist, &ps->rss_slope, &ps->rss_r2);
	ps->uncoll_per_min = run_s > 0 ? tr->uncoll_total / (run_s / 60) : 0;
}
