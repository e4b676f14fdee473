// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The process leak score: slopes of live heap and RSS over time. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include "env.h"
#include "holders.h"
#include "leak.h"
#include "log.h"
#include "watch.h"

void pmw_fit_line(const double *x, const double *y, int n, double *slope, double *r2)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, vx, vy, cov;

	*slope = 0;
	*r2 = 0;
	if (n < 3)
		return;
	for (int i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
		syy += y[i] * y[i];
	}
	vx = sxx - sx * sx / n;
	vy = syy - sy * sy / n;
	cov = sxy - sx * sy / n;
	if (vx <= 0)
		return;
	*slope = cov / vx;
	*r2 = vy > 0 ? cov * cov / (vx * vy) : 0;
}

double pmw_leak_process_score(const struct pmw_leak_score *s)
{
	/* log-scaled growth rates in KiB per minute, weighted by how well a line fits */
	double heap = s->heap_slope > 0 ? s->heap_r2 * log2(1 + s->heap_slope / 1024) : 0;
	double rss = s->rss_slope > 0 ? s->rss_r2 * log2(1 + s->rss_slope / 1024) : 0;
	double unc = s->uncoll_per_min > 0 ? log2(1 + s->uncoll_per_min) : 0;

	return heap + 0.5 * rss + unc;
}

/* Heap walks within --walk-budget, and growing containers after each. */
static void walk_heap(struct pmw_watch *w)
{
	struct pmw_leaks *l = &w->leaks;
	int err;

	if (w->exited && l->walk.walks && !l->walk.err) {
		pmw_holders_forget(w->t.pid);	/* its cached paths */
		l->walk.err = -ESRCH;
	}
	if (!w->scan_heap || env.walk_budget <= 0 || w->exited || !w->t.bias_known)
		return;
	err = pmw_walk_step(&l->walk, &w->t, env.walk_budget);
	if (err < 0) {
		vlog("PID %d: heap walk: %s\n", w->t.pid, strerror(-err));
		return;
	}
	if (err == 1) {
		const struct pmw_walk_stats *st = &l->walk.last_stats;

		double c0 = pmw_cpu_s();

		pmw_containers_update(&l->ct, &l->walk, &w->t);
		if (pmw_containers_holders(&l->ct, &w->t, PMW_LEAKS_MAX) < 0)
			vlog("PID %d: holder search failed\n", w->t.pid);
		pmw_containers_watch(&l->ct, &l->walk);	/* their items, next walk */
		pmw_sites_join(w);
		/* the holder search is paid from the walks' budget */
		l->walk.credit -= pmw_cpu_s() - c0;
		l->ps.holder_score = pmw_containers_score(&l->ct);
		l->ps.walked = l->ct.walks >= 2;
		vlog("PID %d: walk %llu: %llu pools, %llu objects (%llu > 512 B), %llu other blocks, "
		     "%llu torn, %.1f MB read, %.1f ms CPU (%.1f ms of it copying), %.0f ms wall\n", w->t.pid,
		     (unsigned long long)l->walk.walks, (unsigned long long)st->pools,
		     (unsigned long long)st->objects, (unsigned long long)st->large_objects,
		     (unsigned long long)st->other_blocks, (unsigned long long)st->torn,
		     st->bytes_read / 1e6, st->cpu_s * 1e3, st->copy_s * 1e3, st->wall_s * 1e3);
	}
}

void pmw_leaks_process(struct pmw_watch *w)
{
	struct pmw_leaks *l = &w->leaks;
	const struct pmw_row *r = &w->row;
	int n, start;
	double x[PMW_HIST_N], yh[PMW_HIST_N], yr[PMW_HIST_N];

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
	n = l->nhist;
	start = 0;
	for (int i = 0; i < n - start; i++) {
		x[i] = l->t_hist[start + i];
		yh[i] = l->heap_hist[start + i];
		yr[i] = l->rss_hist[start + i];
	}
	pmw_fit_line(x, yh, n, &l->ps.heap_slope, &l->ps.heap_r2);
	pmw_fit_line(x, yr, n, &l->ps.rss_slope, &l->ps.rss_r2);
	l->ps.uncoll_per_min = l->run_s > 0 ? l->uncoll_total / (l->run_s / 60) : 0;
	walk_heap(w);
	/* with heap walks, the process score is its holders' growth */
	l->ps.score = l->ps.walked ? l->ps.holder_score : pmw_leak_process_score(&l->ps);
}
