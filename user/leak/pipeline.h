/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The leak pipeline's order (pipeline.c): trend, walk, containers, holders, sites, score. */
#ifndef PMW_PIPELINE_H
#define PMW_PIPELINE_H

struct pmw_watch;
struct pmw_leaks;
struct pmw_scan_hook;

/* The type census (census.c) as the reader of each interval's heap scan (watch.c). */
extern const struct pmw_scan_hook pmw_leak_scan_hook;

struct pmw_walk_budget;

/*
 * Once per interval, before the targets' pmw_leaks_process: earn @b's
 * share, and when no walk is under way give the turn to the target of @ws
 * (@n of them) that had it longest ago (never first): one walk at a time,
 * each target walked once per round, a round being the sum of their walks'
 * CPU time over the share. Big heaps are walked as often as that allows,
 * small ones are not starved.
 */
void pmw_leaks_turn(struct pmw_walk_budget *b, struct pmw_watch *ws, int n);

/*
 * One interval of @w's leak model, from its last row (w->row): the process
 * trend, the followed containers' headers, a step of its heap walk when it
 * has the turn, and after a complete walk its containers, holders and score
 * (w->leaks.ps.score). All walk work is paid from @b (b->share <= 0: none).
 */
void pmw_leaks_process(struct pmw_watch *w, struct pmw_walk_budget *b);

/* Free everything @l owns and zero it. */
void pmw_leaks_free(struct pmw_leaks *l);

#endif
