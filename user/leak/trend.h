/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The per-process leak score: slopes and fits of live heap and RSS over time. */
#ifndef PMW_TREND_H
#define PMW_TREND_H

#include <stdbool.h>

#define PMW_HIST_N	120	/* intervals of history for slopes */

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

struct pmw_leaks;
struct pmw_row;

/*
 * Add the interval @r (its length, live heap incl. large blocks, RSS, GC
 * uncollectable) to @l's history of the last PMW_HIST_N intervals and
 * refit l->ps's slopes (bytes per minute) and uncollectable per minute.
 */
void pmw_trend_add(struct pmw_leaks *l, const struct pmw_row *r);

#endif
