// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "containers.h"
#include "holders.h"
#include "log.h"
#include "trend.h"
#include "util.h"

#define MISS_MAX	2	/* walks a container may be missed (torn pool) before it is dropped */
#define MIN_POINTS	4	/* walks before a container can score */
#define MIN_SPAN_MIN	0.1	/* minutes of history before it can score */
#define TYPED_MAX	32	/* growing containers whose items are typed per walk */
#define ITEM_BYTES_DEFAULT 64.0	/* item size assumed before items are typed */


bool pmw_containers_index_ok(const struct pmw_containers *cs, const struct pmw_ctrack *tr,
			     uint64_t index, double when)
{
	double m = (when - cs->t0) / 60, len, slack;
	int i = 1;

	if (tr->n < 2 || m < tr->t[0] || m > tr->t[tr->n - 1] + 1)
		return false;	/* outside what the walks saw */
	while (i < tr->n - 1 && tr->t[i] < m)
		i++;
	len = tr->len[i - 1] + (tr->len[i] - tr->len[i - 1]) * (m - tr->t[i - 1]) /
				       (tr->t[i] > tr->t[i - 1] ? tr->t[i] - tr->t[i - 1] : 1);
	slack = 16 + (tr->items_per_min > 0 ? tr->items_per_min / 60 : 0);
	return fabs((double)index - len) <= slack;
}

static double now_min(struct pmw_containers *cs)
{
	struct timespec ts;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = ts.tv_sec + ts.tv_nsec / 1e9;
	if (!cs->t0)
		cs->t0 = s;
	return (s - cs->t0) / 60;
}

/* Slope, fit, new highs and score of @tr from its history. */
static void track_score(struct pmw_ctrack *tr)
{
	int n = tr->n, half = n / 2, highs = 0, changed = 0;
	double max = 0, bytes_min;
	bool dropped = false;

	tr->items_per_min = tr->r2 = tr->highs = tr->stable = tr->score = 0;
	if (n < MIN_POINTS || tr->t[n - 1] - tr->t[0] < MIN_SPAN_MIN)
		return;
	pmw_fit_line(tr->t, tr->len, n, &tr->items_per_min, &tr->r2);
	/* a leak keeps setting new highs; a cache that filled up long ago does not */
	for (int i = 0; i < n; i++) {
		if (i >= half && tr->len[i] > max)
			highs++;
		/* emptied (to half or less) at some point: a cache that is cleared */
		dropped |= max > 0 && tr->len[i] <= 0.5 * max;
		if (tr->len[i] > max)
			max = tr->len[i];
		/* a new first item while the length stayed or fell: evicting at its bound;
		 * while it grows it is a backlog drained from the front, a list kept
		 * newest first or a dict pruned slower than it fills: all leaks */
		changed += tr->fp_changed[i] && !(i && tr->len[i] > tr->len[i - 1]);
	}
	tr->stable = 1 - (double)changed / n;
	tr->highs = (double)highs / (n - half);
	if (tr->bounded || dropped || tr->items_per_min <= 0 || tr->len[n - 1] < 0.9 * max)
		return;
	bytes_min = tr->items_per_min * (tr->item_bytes > 0 ? tr->item_bytes : ITEM_BYTES_DEFAULT);
	tr->score = tr->r2 * tr->highs * tr->stable * log2(1 + bytes_min / 1024);
}

static int cmp_score(const void *a, const void *b)
{
	const struct pmw_ctrack *x = *(struct pmw_ctrack *const *)a, *y = *(struct pmw_ctrack *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool scored(const void *e)
{
	return ((const struct pmw_ctrack *)e)->score > 0;
}

int pmw_containers_top(struct pmw_containers *cs, struct pmw_ctrack **out, int max)
{
	return pmw_top_n(cs->tr, cs->n, sizeof(*cs->tr), scored, cmp_score, (void **)out, max);
}

double pmw_containers_score(const struct pmw_containers *cs)
{
	double best = 0;

	for (int i = 0; i < cs->n; i++)
		if (cs->tr[i].score > best)
			best = cs->tr[i].score;
	return best;
}

/* Type the newest items of the growing containers: item type and mean size. */
static void type_items(struct pmw_containers *cs, struct pmw_walk *wk, const struct pmw_target *t)
{
	struct pmw_ctrack *top[TYPED_MAX];
	int n = 0;

	/* candidates: growing by slope, whatever their score so far */
	for (int i = 0; i < cs->n; i++) {
		struct pmw_ctrack *tr = &cs->tr[i];

		if (tr->items_per_min <= 0 || !tr->nsample || tr->seen != wk->walks)
			continue;
		if (n < TYPED_MAX) {
			top[n++] = tr;
		} else {
			int lo = 0;

			for (int k = 1; k < n; k++)
				if (top[k]->items_per_min < top[lo]->items_per_min)
					lo = k;
			if (tr->items_per_min > top[lo]->items_per_min)
				top[lo] = tr;
		}
	}
	for (int k = 0; k < n; k++) {
		struct pmw_ctrack *tr = top[k];
		const struct pmw_wtype *types[PMW_WALK_SAMPLE];
		uint64_t sizes[PMW_WALK_SAMPLE], total = 0;
		int found = pmw_walk_objects(wk, t, tr->sample, tr->nsample, types, sizes), best = -1,
		    bestn = 0;

		if (found <= 0)
			continue;
		for (int i = 0; i < tr->nsample; i++) {
			int same = 0;

			if (!types[i])
				continue;
			total += sizes[i];
			for (int j = 0; j < tr->nsample; j++)
				same += types[j] == types[i];
			if (same > bestn) {
				bestn = same;
				best = i;
			}
		}
		tr->item_bytes = (double)total / found;
		if (best >= 0) {
			snprintf(tr->item_type, sizeof(tr->item_type), "%s", types[best]->name);
			tr->item_type_obj = types[best]->addr;
		}
		track_score(tr);
	}
}

int pmw_containers_update(struct pmw_containers *cs, struct pmw_walk *wk,
			  const struct pmw_target *t)
{
	double tm = now_min(cs);
	int kept = 0, growing = 0;

	/* merge the walk's containers (sorted by address) into the tracks (sorted too) */
	for (int i = 0, j = 0; i < wk->ndone; i++) {
		const struct pmw_walk_container *c = &wk->done[i];
		struct pmw_ctrack *tr;

		while (j < cs->n && cs->tr[j].addr < c->addr)
			j++;
		if (j < cs->n && cs->tr[j].addr == c->addr) {
			tr = &cs->tr[j];
		} else {
			tr = pmw_sorted_get((void **)&cs->tr, &cs->n, &cs->cap, sizeof(*tr), c->addr,
					    1 << 22);
			if (!tr)
				return -ENOMEM;
		}
		/* another type at the same address: another object, start over */
		if (tr->n && (tr->type != c->type || tr->kind != c->kind))
			tr->n = 0;
		if (!tr->n) {
			const struct pmw_wtype *ty = pmw_walk_type(wk, t, c->type);

			tr->type = c->type;
			tr->kind = c->kind;
			tr->fp = 0;
			tr->holder[0] = 0;
			tr->holder_retained = UINT64_MAX;
			tr->holder_item_type[0] = 0;
			tr->site[0] = 0;
			tr->site_key = 0;
			tr->site_hits = 0;
			tr->site_typed = false;
			tr->item_bytes = 0;
			tr->item_type[0] = 0;
			tr->item_type_obj = 0;
			snprintf(tr->type_name, sizeof(tr->type_name), "%s",
				 ty ? ty->name : pmw_ckind_name(c->kind));
		}
		tr->bounded = c->maxlen > 0;
		if (tr->n == PMW_CT_HIST) {
			memmove(tr->t, tr->t + 1, sizeof(tr->t[0]) * (PMW_CT_HIST - 1));
			memmove(tr->len, tr->len + 1, sizeof(tr->len[0]) * (PMW_CT_HIST - 1));
			memmove(tr->fp_changed, tr->fp_changed + 1, PMW_CT_HIST - 1);
			tr->n--;
		}
		/* the first item changed: cleared, evicting, or another object of the same
		 * type; a leak only appends (its history is kept either way) */
		tr->fp_changed[tr->n] = tr->n && tr->fp && c->fp && tr->fp != c->fp;
		if (c->fp)
			tr->fp = c->fp;
		tr->t[tr->n] = tm;
		tr->len[tr->n++] = c->len;
		tr->seen = wk->walks;
		memcpy(tr->sample, c->sample, sizeof(tr->sample));
		tr->nsample = c->nsample;
		j = (int)(tr - cs->tr) + 1;
	}
	for (int k = 0; k < cs->n; k++) {
		if (wk->walks - cs->tr[k].seen > MISS_MAX)
			continue;	/* gone */
		cs->tr[kept++] = cs->tr[k];
	}
	cs->n = kept;
	for (int k = 0; k < cs->n; k++)
		track_score(&cs->tr[k]);
	type_items(cs, wk, t);
	for (int k = 0; k < cs->n; k++) {
		growing += cs->tr[k].score > 0;
		if (cs->tr[k].score > 0)
			dlog("container %s@%lx: %d walks, len %.0f, %.0f/min, r2 %.2f, highs %.2f, "
			     "item %.0f B, score %.2f\n", cs->tr[k].type_name, (unsigned long)cs->tr[k].addr,
			     cs->tr[k].n, cs->tr[k].len[cs->tr[k].n - 1], cs->tr[k].items_per_min,
			     cs->tr[k].r2, cs->tr[k].highs, cs->tr[k].item_bytes, cs->tr[k].score);
	}
	cs->walks++;
	return growing;
}

int pmw_containers_holders(struct pmw_containers *cs, const struct pmw_target *t, int max)
{
	struct pmw_ctrack *top[PMW_LEAKS_MAX];
	struct pmw_holder h[PMW_LEAKS_MAX];
	int n = pmw_containers_top(cs, top, max < PMW_LEAKS_MAX ? max : PMW_LEAKS_MAX), found;

	if (!n)
		return 0;
	memset(h, 0, sizeof(h));
	for (int k = 0; k < n; k++)
		h[k].container = top[k]->addr;
	found = pmw_holders_find(t, h, n);
	for (int k = 0; k < n && found >= 0; k++) {
		struct pmw_ctrack *tr = top[k];

		snprintf(tr->holder, sizeof(tr->holder), "%s", h[k].path);
		tr->holder_kind = h[k].kind;
		tr->holder_retained = h[k].retained_bytes;
		snprintf(tr->holder_item_type, sizeof(tr->holder_item_type), "%s", h[k].item_type);
	}
	return found;
}

struct pmw_ctrack *pmw_containers_find(struct pmw_containers *cs, uint64_t addr)
{
	return cs->n ? bsearch(&addr, cs->tr, cs->n, sizeof(*cs->tr), pmw_cmp_u64) : NULL;
}


int pmw_containers_watch(struct pmw_containers *cs, struct pmw_walk *wk)
{
	struct pmw_ctrack *top[PMW_LEAKS_MAX];
	int n = pmw_containers_top(cs, top, PMW_LEAKS_MAX);
	uint64_t *w = malloc((n ? n : 1) * sizeof(*w));

	if (!w)
		return -ENOMEM;
	for (int k = 0; k < n; k++)
		w[k] = top[k]->addr;
	qsort(w, n, sizeof(*w), pmw_cmp_u64);
	free(wk->watch);
	wk->watch = w;
	wk->nwatch = n;
	return n;
}

void pmw_containers_free(struct pmw_containers *cs)
{
	free(cs->tr);
	memset(cs, 0, sizeof(*cs));
}
