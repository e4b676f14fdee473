// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The leak pipeline's order, once per interval and target: the process
 * trend (trend.c), then a heap walk step within the walk budget (walk.c);
 * after each complete walk the containers followed across walks
 * (containers.c), their holders (holders.c), the newest items to keep for
 * the next walk, and the score; then, each interval, the growth-site
 * watchpoints of the leaks (growth.c) and the sampled sites on their growing
 * stacks ranked first (sites.c). The type
 * census (census.c) reads each interval's heap scan (watch.c) through
 * pmw_leak_scan_hook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "groups.h"
#include "holders.h"
#include "leak.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"
#include "watch.h"

static void census_begin(struct pmw_watch *w)
{
	pmw_walk_types_renew(&w->leaks.walk, PMW_CENSUS_TYPES_AGE);
	pmw_census_begin(&w->leaks.census);
}

static void census_pool(void *arg, const uint8_t *first_block, uint64_t live_bytes)
{
	struct pmw_watch *w = arg;

	pmw_census_pool(&w->leaks.census, &w->leaks.walk, &w->t, first_block, live_bytes);
}

static void census_end(struct pmw_watch *w)
{
	pmw_census_end(&w->leaks.census);
}

const struct pmw_scan_hook pmw_leak_scan_hook = {
	.begin = census_begin,
	.pool = census_pool,
	.end = census_end,
};

/* The advice of the walk that just completed (leak/advice.c), into l->adv. */
static void walk_advice(struct pmw_leaks *l)
{
	uint64_t heap = 0;
	int n;

	if (!l->advice)
		return;
	if (!l->adv && !(l->adv = calloc(PMW_ADVICE_ROWS, sizeof(*l->adv))))
		return;
	for (int i = 0; i < l->walk.ncensus; i++)
		heap += l->walk.census[i].bytes;
	n = pmw_advice_finish(l->advice, &l->walk, heap, false, l->adv, PMW_ADVICE_ROWS);
	l->nadv = n > 0 ? n : 0;
	pmw_advice_reset(l->advice);
}

/* The holders of the ranked containers; a build they cannot be searched in is said once. */
static void holders(struct pmw_watch *w)
{
	int err = pmw_containers_holders(&w->leaks.ct, &w->t, PMW_HOLDERS_MAX);

	if (err == -EOPNOTSUPP && !w->leaks.said_holders)
		vlog("PID %d: no holder paths: not searched in this build (%s)\n", w->t.pid,
		     w->t.free_threaded ? "free-threaded" : "no object offsets for this version");
	else if (err < 0 && err != -EOPNOTSUPP)
		vlog("PID %d: holder search failed\n", w->t.pid);
	w->leaks.said_holders |= err == -EOPNOTSUPP;
}

/* After a complete walk: containers, holders, sites, advice; paid from the walks' budget. */
static void after_walk(struct pmw_watch *w, struct pmw_walk_budget *b)
{
	struct pmw_leaks *l = &w->leaks;
	const struct pmw_walk_stats *st = &l->walk.last_stats;
	double c0 = pmw_cpu_s();
	int listed = l->walk.ndone;

	pmw_containers_update(&l->ct, &l->walk, &w->t);
	holders(w);
	pmw_containers_watch(&l->ct, &l->walk);	/* their newest items, next walk */
	/* not every item of the growing ones: growth sites replaced the item join */
	l->walk.nwatch = 0;
	pmw_walk_release(&l->walk);		/* folded in */
	walk_advice(l);
	/* the holder search and the advice are paid from the walks' budget */
	b->credit -= pmw_cpu_s() - c0;
	l->ps.holder_score = pmw_containers_score(&l->ct);
	l->ps.walked = l->ct.walks >= 2;
	vlog("PID %d: walk %llu: %llu pools, %llu objects (%llu > 512 B), %llu other blocks, "
	     "%llu torn, %.1f MB read, %.1f ms CPU (%.1f ms of it copying), %.0f ms wall\n",
	     w->t.pid, (unsigned long long)l->walk.walks, (unsigned long long)st->pools,
	     (unsigned long long)st->objects, (unsigned long long)st->large_objects,
	     (unsigned long long)st->other_blocks, (unsigned long long)st->torn,
	     st->bytes_read / 1e6, st->cpu_s * 1e3, st->copy_s * 1e3, st->wall_s * 1e3);
	vlog("PID %d: containers followed: %zu tracks, %zu of constant length; %d headers "
	     "(%.1f KiB) re-read in the last interval, %.1f KiB per interval since attach; the walk "
	     "listed %d, dropped %llu\n", w->t.pid, l->ct.n, l->ct.nseen, l->ct.nfollowed,
	     l->ct.follow_bytes / 1024.0,
	     l->ct.follows ? l->ct.follow_bytes_total / 1024.0 / l->ct.follows : 0.0, listed,
	     (unsigned long long)st->containers_skipped);
}

#define FOLLOW_IDLE_S	5.0	/* over the budget: nothing growing, headers read this often */

/*
 * Between walks: the followed containers' headers, their scores, and the
 * holders of any newly ranked one; paid from the walks' budget. While the
 * process is over the budget (b->over), a target none of whose containers
 * grows is read every FOLLOW_IDLE_S only.
 */
static void follow(struct pmw_watch *w, struct pmw_walk_budget *b)
{
	struct pmw_leaks *l = &w->leaks;
	struct pmw_ctrack *top[PMW_HOLDERS_MAX];
	double c0 = pmw_cpu_s(), now = pmw_now_s();
	int n;

	if (!l->ct.walks)
		return;
	if (b->over && l->ps.holder_score <= 0 && now - w->follow_at < FOLLOW_IDLE_S)
		return;
	w->follow_at = now;
	if (pmw_containers_follow(&l->ct, &w->t) < 0)
		return;
	n = pmw_containers_top(&l->ct, top, PMW_HOLDERS_MAX);
	for (int k = 0; k < n; k++)
		if (!top[k]->holder[0]) {
			holders(w);
			break;
		}
	l->ps.holder_score = pmw_containers_score(&l->ct);
	b->credit -= pmw_cpu_s() - c0;
}

/* may @w's heap be walked at all? */
static bool walkable(const struct pmw_watch *w)
{
	return w->scan_heap && !w->exited && w->t.bias_known;
}

#define NEED_MIN	(64u << 10)	/* bytes of growth that make a target's need */
#define NEED_HEAP_MIN	(1u << 20)	/* the walk cost of a smaller heap counts as this */

/* What grew in @w since it was last given the turn (RSS, live heap: the larger), bytes. */
static uint64_t need_bytes(struct pmw_watch *w)
{
	const struct pmw_row *r = &w->row;
	uint64_t live = r->live_bytes + r->large_live_bytes, g = 0;

	if (!w->need_set) {	/* first seen: what grows from now on */
		w->need_rss0 = r->rss_bytes;
		w->need_live0 = live;
		w->need_set = r->rss_bytes != 0;
		return 0;
	}
	if (r->rss_bytes > w->need_rss0)
		g = r->rss_bytes - w->need_rss0;
	if (live > w->need_live0 && live - w->need_live0 > g)
		g = live - w->need_live0;
	return g;
}

/* @w's need for a walk: its growth over the walk's cost (its heap's size), 0 when < NEED_MIN. */
static double need_of(struct pmw_watch *w)
{
	uint64_t g = need_bytes(w), heap = w->row.arena_bytes ? w->row.arena_bytes : w->row.rss_bytes;

	return g < NEED_MIN ? 0 : (double)g / (heap > NEED_HEAP_MIN ? heap : NEED_HEAP_MIN);
}

/* Is @w's walk under way, or given the turn and yet to start (no credit since)? */
static bool holds_turn(const struct pmw_walk_budget *b, const struct pmw_watch *w)
{
	const struct pmw_walk *wk = &w->leaks.walk;

	return w->t.pid == b->owner && walkable(w) &&
	       (pmw_walk_busy(wk) || (wk->done_at < wk->turn_at && !wk->err));
}

void pmw_leaks_turn(struct pmw_walk_budget *b, struct pmw_watch *ws, int n)
{
	struct pmw_watch *old = NULL, *needy = NULL, *next;
	double best = 0;

	pmw_walk_earn(b);
	for (int i = 0; i < n; i++)
		if (holds_turn(b, &ws[i]))
			return;
	for (int i = 0; i < n; i++) {
		double need;

		if (!walkable(&ws[i]))
			continue;
		need = need_of(&ws[i]);
		if (!old || ws[i].leaks.walk.turn_at < old->leaks.walk.turn_at)
			old = &ws[i];
		if (need > best || (need > 0 && need == best &&
				    ws[i].leaks.walk.turn_at < needy->leaks.walk.turn_at)) {
			best = need;
			needy = &ws[i];
		}
	}
	/* by need, but never three in a row: then (and with no need) by age */
	next = needy && b->turns < 2 ? needy : old;
	b->owner = next ? next->t.pid : 0;
	if (!next)
		return;
	b->turns = next == needy ? b->turns + 1 : 0;
	next->leaks.walk.turn_at = pmw_now_s();
	next->need_rss0 = next->row.rss_bytes;
	next->need_live0 = next->row.live_bytes + next->row.large_live_bytes;
	next->need_set = next->row.rss_bytes != 0;
	if (next == needy)
		vlog("PID %d: walk turn by need (grew %.2f of its heap since its last turn)\n",
		      next->t.pid, best);
}

/* Heap walks within @b when @w has the turn, its followed containers every interval. */
static void walk_heap(struct pmw_watch *w, struct pmw_walk_budget *b)
{
	struct pmw_leaks *l = &w->leaks;
	int err;

	if (w->exited && l->walk.walks && !l->walk.err) {
		pmw_holders_forget(w->t.pid);	/* its cached paths */
		l->walk.err = -ESRCH;
	}
	if (!walkable(w) || b->share <= 0)
		return;
	follow(w, b);
	if (b->owner != w->t.pid)
		return;
	if (!pmw_walk_busy(&l->walk)) {	/* a walk starts: what advice collects starts anew */
		pmw_containers_want(&l->ct, &l->walk);	/* tracks made since the last walk too */
		l->walk.keep_new = PMW_CSEEN_MAX;	/* its list: no more than can be followed */
		if (!l->advice)
			l->advice = pmw_advice_new(&w->t, true);
		if (l->advice) {
			pmw_advice_reset(l->advice);
			pmw_advice_hook(l->advice, &l->walk);
		}
	}
	if (l->advice)	/* w may have moved since the walk started (a followed child added) */
		pmw_advice_set_target(l->advice, &w->t);
	err = pmw_walk_step(&l->walk, &w->t, b);
	if (err < 0) {
		vlog("PID %d: heap walk: %s\n", w->t.pid, strerror(-err));
		return;
	}
	if (err == 1)
		after_walk(w, b);
}

/* Why the Python stack of a thread writing to @w's containers cannot be read, NULL: it can. */
static const char *nostack(const struct pmw_watch *w)
{
	/* free-threaded: the hit finds the writer's thread-local state (session.c, the BPF side) */
	return w->cfg.walk.tstate_kind ? NULL : w->t.free_threaded ?
	       "free-threaded: no thread-state layout for this version" :
	       "no Python stack readable in this build (no thread-state offsets)";
}

/* Watchpoints on the leaks that need a growth site; weak-reference containers are none. */
static void watch_leaks(struct pmw_watch *w)
{
	struct pmw_leaks *l = &w->leaks;
	struct pmw_ctrack *top[PMW_HOLDERS_MAX];
	int n = pmw_containers_top(&l->ct, top, PMW_HOLDERS_MAX), k = 0;

	for (int i = 0; i < n; i++)
		if (!pmw_container_weak(top[i]))
			top[k++] = top[i];
	pmw_growth_step(&l->growth, &l->ct, top, k, &w->t, nostack(w), pmw_now_s());
}

void pmw_leaks_process(struct pmw_watch *w, struct pmw_walk_budget *b)
{
	struct pmw_leaks *l = &w->leaks;
	const struct pmw_row *r = &w->row;
	uint64_t uncoll = 0;

	for (int g = 0; g < PMW_NGEN; g++)
		uncoll += r->gc[g].uncollectable;
	l->run_s += r->interval_s;
	pmw_trend_add(&l->trend, &l->ps, l->run_s, r->live_bytes + r->large_live_bytes,
		      r->rss_bytes, uncoll);
	walk_heap(w, b);
	if (w->exited)
		pmw_growth_stop(&l->growth);
	else if (l->walk.walks)
		watch_leaks(w);
	/* with heap walks, the process score is its holders' growth */
	l->ps.score = l->ps.walked ? l->ps.holder_score : pmw_leak_process_score(&l->ps);
}

void pmw_leaks_free(struct pmw_leaks *l)
{
	for (int i = 0; i < l->nstacks; i++)
		free(l->stacks[i].frames);
	free(l->stacks);
	free(l->objs);
	pmw_census_free(&l->census);
	pmw_code_cache_free(l->cc);
	for (int i = 0; i < l->nsites; i++)
		free(l->sites[i].frames);
	free(l->sites);
	pmw_walk_free(&l->walk);
	pmw_containers_free(&l->ct);
	pmw_growth_free(&l->growth);
	pmw_advice_free(l->advice);
	free(l->adv);
	memset(l, 0, sizeof(*l));
}
