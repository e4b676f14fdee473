// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "containers.h"
#include "holders.h"
#include "log.h"
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

/* Room for one more element in *@arr (*@cap of @esz bytes, doubled up to @max); false if none. */
static bool grow_array(void **arr, int *cap, size_t esz, int max)
{
	int ncap = *cap ? *cap * 2 : 256;
	void *na;

	if (*cap >= max)
		return false;
	if (ncap > max)
		ncap = max;
	na = realloc(*arr, (size_t)ncap * esz);
	if (!na)
		return false;
	*arr = na;
	*cap = ncap;
	return true;
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
	double max = 0, bytes_min, up = 0, down = 0;
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
		if (i && tr->len[i] > tr->len[i - 1])
			up += tr->len[i] - tr->len[i - 1];
		else if (i)
			down += tr->len[i - 1] - tr->len[i];
	}
	tr->stable = 1 - (double)changed / n;
	tr->highs = (double)highs / (n - half);
	if (tr->bounded || dropped || tr->items_per_min <= 0 || tr->len[n - 1] < 0.9 * max)
		return;
	/* it gives back half of what it gains between walks: a saw-tooth faster than them */
	if (down >= 0.5 * up)
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
	int growing = 0;

	/*
	 * Merge the walk's containers (sorted by address) with the tracks and the
	 * containers of constant length (both sorted too) into new arrays, in one
	 * pass: sorted inserts into arrays of ~20k tracks stalled the loop for
	 * seconds. Entries missed more than MISS_MAX walks are dropped.
	 */
	struct pmw_ctrack *ntr = NULL;
	struct pmw_cseen *nseen = NULL;
	int nn = 0, ns = 0, ctr = 0, cseen = 0, j = 0, q = 0;

#define GROW(arr, n, cap, max) ((n) < (cap) || grow_array((void **)&(arr), &(cap), sizeof(*(arr)), (max)))
	for (int i = 0; i <= wk->ndone; i++) {
		const struct pmw_walk_container *c = i < wk->ndone ? &wk->done[i] : NULL;
		uint64_t addr = c ? c->addr : UINT64_MAX;

		/* tracks and constant ones before @addr: kept unless gone */
		for (; j < cs->n && cs->tr[j].addr < addr; j++)
			if (wk->walks - cs->tr[j].seen <= MISS_MAX && GROW(ntr, nn, ctr, PMW_CTRACK_MAX))
				ntr[nn++] = cs->tr[j];
		for (; q < cs->nseen && cs->seen[q].addr < addr; q++)
			if ((uint32_t)wk->walks - cs->seen[q].seen <= MISS_MAX &&
			    GROW(nseen, ns, cseen, PMW_CSEEN_MAX))
				nseen[ns++] = cs->seen[q];
		if (!c)
			break;
		struct pmw_ctrack *old = j < cs->n && cs->tr[j].addr == addr ? &cs->tr[j++] : NULL;
		struct pmw_cseen *sn = q < cs->nseen && cs->seen[q].addr == addr ? &cs->seen[q++] : NULL;

		/* another type at the same address: another object, start over */
		if (sn && (sn->type != c->type || sn->kind != c->kind))
			sn = NULL;
		if (!old && (!sn || sn->len == c->len)) {
			/* constant length (or new): a small entry */
			if (!GROW(nseen, ns, cseen, PMW_CSEEN_MAX)) {
				cs->untracked++;
				continue;
			}
			if (!sn)
				nseen[ns] = (struct pmw_cseen){ .addr = addr, .type = c->type, .fp = c->fp,
								.len = c->len, .t_first = tm,
								.kind = c->kind };
			else
				nseen[ns] = *sn;
			nseen[ns].t_last = tm;
			nseen[ns++].seen = (uint32_t)wk->walks;
			continue;
		}
		if (!GROW(ntr, nn, ctr, PMW_CTRACK_MAX)) {
			cs->untracked++;
			continue;
		}
		struct pmw_ctrack *tr = &ntr[nn++];

		if (old) {
			*tr = *old;
		} else {
			memset(tr, 0, sizeof(*tr));
			tr->addr = addr;
		}
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
			if (sn) {
				/* its constant past: first and last sighting */
				tr->fp = sn->fp;
				tr->t[tr->n] = sn->t_first;
				tr->len[tr->n++] = sn->len;
				if (sn->t_last > sn->t_first) {
					tr->t[tr->n] = sn->t_last;
					tr->len[tr->n++] = sn->len;
				}
			}
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
		const uint64_t *smp = pmw_walk_sample(wk, c);

		/* none yet when it became a track in this walk: typed from the next one */
		tr->nsample = smp ? c->nsample : 0;
		if (smp)
			memcpy(tr->sample, smp, c->nsample * sizeof(*smp));
	}
#undef GROW
	free(cs->tr);
	free(cs->seen);
	cs->tr = ntr;
	cs->n = nn;
	cs->cap = ctr;
	cs->seen = nseen;
	cs->nseen = ns;
	cs->cap_seen = cseen;
	if ((cs->untracked || wk->last_stats.containers_skipped) && !cs->warned) {
		wlog("PID %d: more containers of %d+ items than followed (%d tracks, %d of constant "
		     "length, %d per walk): the others are not followed for growth (the census "
		     "still counts them)\n", t->pid, PMW_WALK_MIN_LEN, PMW_CTRACK_MAX, PMW_CSEEN_MAX,
		     PMW_WALK_CONTS_MAX);
		cs->warned = true;
	}
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
	/* the newest items of every track (sorted by address already), for typing */
	uint64_t *ws = malloc((cs->n ? cs->n : 1) * sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	for (int k = 0; k < cs->n; k++)
		ws[k] = cs->tr[k].addr;
	free(wk->want_sample);
	wk->want_sample = ws;
	wk->nwant_sample = cs->n;
	return n;
}

void pmw_containers_free(struct pmw_containers *cs)
{
	free(cs->tr);
	free(cs->seen);
	memset(cs, 0, sizeof(*cs));
}
