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
 * share, and when no walk is under way give the turn (one walk at a time).
 * The turn goes to the target whose need is largest: its growth
 * since its own last turn (VmRSS or live heap + live large blocks, the
 * larger, from the rows already read; at least 64 KiB) over its walk's cost
 * (its arenas' size, at least 1 MiB), but never three times in a row: then,
 * and while nothing grew, to the target that had it longest ago (never first).
 * So a growing target waits for the walk under way and the needier ones'
 * walks; an idle one is walked at least once every three rounds, a round
 * being the sum of the targets' walk CPU time over the share (once a round
 * when nothing grows).
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
