/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The end-of-run summary per PID, and the ranking of processes (-a). */
#ifndef PMW_SUMMARY_H
#define PMW_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct pmw_watch;

/* Summary per PID, printed at the end of every run (stdout). */
void pmw_print_summary(FILE *f, struct pmw_watch **ws, int n);

/* sort keys of the ranking (-a) */
enum pmw_rank_key { PMW_RANK_SCORE, PMW_RANK_HEAP, PMW_RANK_RSS, PMW_RANK_GROWTH, PMW_RANK_PID,
		    PMW_RANK_NKEYS };
extern const char *const pmw_rank_key_names[PMW_RANK_NKEYS];

/* @ws sorted by @key, best first (in place). */
void pmw_rank(struct pmw_watch **ws, int n, enum pmw_rank_key key);

/*
 * One line per process, ranked by leak score (-a): the sweep. @header
 * prints the column names first. Lines are under 100 columns.
 */
void pmw_print_ranking(FILE *f, struct pmw_watch **ws, int n, bool header);
/* The same line for one process, into @buf. */
void pmw_format_rank_line(char *buf, size_t len, const struct pmw_watch *w);
extern const char pmw_rank_header[];

#endif
