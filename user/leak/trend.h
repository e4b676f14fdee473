/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The per-process leak score: slopes and fits of live heap and RSS over time. */
#ifndef PMW_TREND_H
#define PMW_TREND_H

#include <stdbool.h>
#include <stdint.h>

#define PMW_HIST_N	120	/* intervals of history for slopes */

/* the last PMW_HIST_N intervals of one process, oldest first */
struct pmw_trend {
	double heap_hist[PMW_HIST_N];	/* live heap (pymalloc + large blocks), bytes */
	double rss_hist[PMW_HIST_N];	/* RSS, bytes */
	double t_hist[PMW_HIST_N];	/* time observed at the end of each, minutes */
	uint64_t uncoll_total;		/* GC uncollectable objects, all intervals */
	int nhist;
};

/* per-process leak score and its parts */
struct pmw_leak_score {
	double score;			/* 0 steady, higher = likelier leak */
	double heap_slope;		/* live heap, bytes per minute (least squares) */
	double heap_r2;			/* fit of that line, 0..1 */
	double rss_slope;		/* RSS, bytes per minute */
	double rss_r2;
	double uncoll_per_min;		/* GC uncollectable objects per minute */
	double holder_score;		/* worst growing container's score (heap walks), 0 none */
	bool walked;			/* heap walks ran: score is the holders' growth */
};

/* The process score from the slopes: 0 when nothing grows. */
double pmw_leak_process_score(const struct pmw_leak_score *s);

/*
 * Add the interval that ended @run_s seconds after the first to @tr: live
 * heap @heap_bytes (pymalloc and large blocks), @rss_bytes, and @uncoll GC
 * uncollectable objects found in it; refit @ps's slopes (bytes per minute)
 * and uncollectable objects per minute.
 */
void pmw_trend_add(struct pmw_trend *tr, struct pmw_leak_score *ps, double run_s,
		   double heap_bytes, double rss_bytes, uint64_t uncoll);

#endif
