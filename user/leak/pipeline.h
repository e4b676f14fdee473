/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The leak pipeline's order (pipeline.c): trend, walk, containers, holders, sites, score. */
#ifndef PMW_PIPELINE_H
#define PMW_PIPELINE_H

struct pmw_watch;
struct pmw_scan_hook;

/* The type census (census.c) as the reader of each interval's heap scan (watch.c). */
extern const struct pmw_scan_hook pmw_leak_scan_hook;

/*
 * One interval of @w's leak model, from its last row (w->row): the process
 * trend, then heap walks within @walk_budget (fraction of one CPU, 0..1;
 * 0 = no walks), and after a complete walk its containers, holders and
 * score (w->leaks.ps.score).
 */
void pmw_leaks_process(struct pmw_watch *w, double walk_budget);

#endif
