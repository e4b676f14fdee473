// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "containers.h"
#include "heap.h"
#include "holders.h"
#include "mimalloc.h"
#include "pyver.h"
#include "log.h"
#include "util.h"

#define DEMOTE_POINTS	4	/* a fallen track constant for this many points is demoted */
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
	return pmw_top_n(cs->tr, (int)cs->n, sizeof(*cs->tr), scored, cmp_score, (void **)out, max);
}

double pmw_containers_score(const struct pmw_containers *cs)
{
	double best = 0;

	for (size_t i = 0; i < cs->n; i++)
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
	for (size_t i = 0; i < cs->n; i++) {
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

/*
 * Add a point to @tr's history; a full history keeps its span: the older
 * half is thinned to every other point (a dropped point's first-item change
 * goes to the next), so header rounds every second do not push walks of
 * minutes ago out.
 */
static void track_point(struct pmw_ctrack *tr, double tm, double len, bool fp_changed)
{
	if (tr->n == PMW_CT_HIST) {
		int half = PMW_CT_HIST / 2, k = 0;

		for (int i = 0; i < PMW_CT_HIST; i++) {
			if (i < half && i % 2 == 1) {	/* the first point stays */
				tr->fp_changed[i + 1] |= tr->fp_changed[i];
				continue;
			}
			tr->t[k] = tr->t[i];
			tr->len[k] = tr->len[i];
			tr->fp_changed[k++] = tr->fp_changed[i];
		}
		tr->n = k;
	}
	tr->fp_changed[tr->n] = fp_changed;
	tr->t[tr->n] = tm;
	tr->len[tr->n++] = len;
}

/* A new track at @addr of @type/@kind; its constant past from @sn if any. */
static void track_new(struct pmw_ctrack *tr, uint64_t addr, uint64_t type, uint8_t kind,
		      const char *type_name, const struct pmw_cseen *sn)
{
	memset(tr, 0, sizeof(*tr));
	tr->addr = addr;
	tr->type = type;
	tr->kind = kind;
	tr->holder_retained = UINT64_MAX;
	snprintf(tr->type_name, sizeof(tr->type_name), "%s", type_name);
	if (!sn)
		return;
	tr->fp = sn->fp;
	track_point(tr, sn->t_first, sn->len, false);
	if (sn->t_last > sn->t_first)
		track_point(tr, sn->t_last, sn->len, false);
}

/* Fold walk container @c into track @tr (a copy of its old one, or new). */
static void track_walk(struct pmw_ctrack *tr, const struct pmw_walk *wk,
		       const struct pmw_walk_container *c, double tm)
{
	const uint64_t *smp = pmw_walk_sample(wk, c);
	uint64_t par;

	tr->bounded = c->maxlen > 0;
	/* the first item changed: cleared, evicting, or another object of the same
	 * type; a leak only appends (its history is kept either way) */
	track_point(tr, tm, c->len, tr->n && tr->fp && c->fp && tr->fp != c->fp);
	if (c->fp)
		tr->fp = c->fp;
	tr->seen = wk->walks;
	/* the dict or list it is an item of (a track since the walk started: none yet) */
	par = pmw_walk_parent(wk, c->addr);
	if (par)
		tr->parent = par;
	/* none yet when it became a track in this walk: typed from the next one */
	tr->nsample = smp ? c->nsample : 0;
	if (smp)
		memcpy(tr->sample, smp, c->nsample * sizeof(*smp));
}

/* the merge's new arrays */
struct merge {
	struct pmw_ctrack *tr;
	size_t n, cap;
	struct pmw_cseen *seen;
	size_t ns, cap_seen;
};

#define ROOM(arr, n, cap) (!pmw_grow((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))))

/*
 * A track that fell from its high and has stayed at one length for the last
 * DEMOTE_POINTS points, scoring 0, becomes a constant entry again (48 B
 * instead of 1.5 KB): an address whose short-lived containers changed length
 * and that now holds one that does not (a leak of small lists reuses the
 * addresses of freed temporaries). Without this, such tracks of the soak's
 * leaking services grew by ~1.3 a second each, toward PMW_CTRACK_MAX (3 MiB
 * per target). A leak never falls from its high; if it grows again, it is a
 * track again from its next change. Returns the entry in @sn, or NULL.
 */
static const struct pmw_cseen *demote(const struct pmw_ctrack *tr,
				      const struct pmw_walk_container *c, struct pmw_cseen *sn)
{
	double high = 0;

	if (tr->score > 0 || tr->n < DEMOTE_POINTS)
		return NULL;
	for (int i = 0; i < tr->n; i++)
		high = tr->len[i] > high ? tr->len[i] : high;
	for (int i = tr->n - DEMOTE_POINTS; i < tr->n; i++)
		if (tr->len[i] != (double)c->len)
			return NULL;
	if ((double)c->len >= high)
		return NULL;
	*sn = (struct pmw_cseen){ .addr = c->addr, .type = c->type, .fp = c->fp, .len = c->len,
				  .t_first = tr->t[tr->n - DEMOTE_POINTS], .kind = c->kind };
	return sn;
}

/* Walk container @c, with its old track @old or constant entry @sn (NULL: none), into @m. */
static void merge_one(struct pmw_containers *cs, struct merge *m, struct pmw_walk *wk,
		      const struct pmw_target *t, const struct pmw_walk_container *c,
		      const struct pmw_ctrack *old, const struct pmw_cseen *sn, double tm)
{
	struct pmw_cseen down;
	struct pmw_ctrack *tr;

	/* another type at the same address: another object, start over */
	if (sn && (sn->type != c->type || sn->kind != c->kind))
		sn = NULL;
	if (old && (old->type != c->type || old->kind != c->kind))
		old = NULL;
	if (old && (sn = demote(old, c, &down)))
		old = NULL;
	if (!old && (!sn || sn->len == c->len)) {
		/* constant length (or new): a small entry */
		if (!ROOM(m->seen, m->ns, m->cap_seen)) {
			cs->untracked++;
			return;
		}
		m->seen[m->ns] = sn ? *sn : (struct pmw_cseen){ .addr = c->addr, .type = c->type,
								 .fp = c->fp, .len = c->len,
								 .t_first = tm, .kind = c->kind };
		m->seen[m->ns].global = c->global;
		m->seen[m->ns].t_last = tm;
		m->seen[m->ns++].seen = (uint32_t)wk->walks;
		return;
	}
	if (!ROOM(m->tr, m->n, m->cap)) {
		cs->untracked++;
		return;
	}
	tr = &m->tr[m->n++];
	if (old) {
		*tr = *old;
		if (!strcmp(tr->type_name, pmw_ckind_name(tr->kind))) {	/* a track since a header round */
			const struct pmw_wtype *ty = pmw_walk_type(wk, t, c->type);

			if (ty)
				snprintf(tr->type_name, sizeof(tr->type_name), "%s", ty->name);
		}
	} else {
		const struct pmw_wtype *ty = pmw_walk_type(wk, t, c->type);

		track_new(tr, c->addr, c->type, c->kind, ty ? ty->name : pmw_ckind_name(c->kind), sn);
	}
	track_walk(tr, wk, c, tm);
}

/*
 * Merge the walk's containers (sorted by address) with the tracks and the
 * containers of constant length (both sorted too) into new arrays, in one
 * pass: sorted inserts into arrays of ~20k tracks stalled the loop for
 * seconds. Entries missed more than MISS_MAX walks are dropped.
 */
static void merge_walk(struct pmw_containers *cs, struct merge *m, struct pmw_walk *wk,
		       const struct pmw_target *t, double tm)
{
	size_t j = 0, q = 0;

	for (int i = 0; i <= wk->ndone; i++) {
		const struct pmw_walk_container *c = i < wk->ndone ? &wk->done[i] : NULL;
		uint64_t addr = c ? c->addr : UINT64_MAX;
		const struct pmw_ctrack *old;
		const struct pmw_cseen *sn;

		/* tracks and constant ones before @addr: kept unless gone */
		for (; j < cs->n && cs->tr[j].addr < addr; j++)
			if (wk->walks - cs->tr[j].seen <= MISS_MAX && ROOM(m->tr, m->n, m->cap))
				m->tr[m->n++] = cs->tr[j];
		for (; q < cs->nseen && cs->seen[q].addr < addr; q++)
			if ((uint32_t)wk->walks - cs->seen[q].seen <= MISS_MAX &&
			    ROOM(m->seen, m->ns, m->cap_seen))
				m->seen[m->ns++] = cs->seen[q];
		if (!c)
			break;
		old = j < cs->n && cs->tr[j].addr == addr ? &cs->tr[j++] : NULL;
		sn = q < cs->nseen && cs->seen[q].addr == addr ? &cs->seen[q++] : NULL;
		merge_one(cs, m, wk, t, c, old, sn, tm);
	}
}

/* how worth following a constant entry is: module globals (64) first, then by log2 of its length */
static int len_bucket(const struct pmw_cseen *s)
{
	return s->global ? 64 : s->len ? 63 - __builtin_clzll(s->len) : 0;
}

/*
 * The length from which the @keep largest of @n constant entries are taken
 * (by log2 bucket, then address order within the last bucket: O(n), no sort).
 * Returns the bucket and, in @*room, how many of that bucket fit.
 */
static int seen_cut(const struct pmw_cseen *s, size_t n, size_t keep, size_t *room)
{
	size_t count[65] = { 0 }, above = 0;
	int b = 64;

	for (size_t i = 0; i < n; i++)
		count[len_bucket(&s[i])]++;
	while (b > 0 && above + count[b] < keep)
		above += count[b--];
	*room = keep - above;
	return b;
}

/* Keep the @keep largest constant entries of @m (address order kept); the length from which
 * the PMW_FOLLOW_SEEN largest start goes to cs->follow_min. */
static void bound_seen(struct pmw_containers *cs, struct merge *m, size_t keep)
{
	size_t room, k = 0, froom;
	int b = seen_cut(m->seen, m->ns, keep, &room), fb;

	fb = seen_cut(m->seen, m->ns, PMW_FOLLOW_SEEN, &froom);
	cs->follow_min = m->ns ? 1ULL << (fb < 64 ? fb : 63) : 0;
	if (m->ns <= keep)
		return;
	for (size_t i = 0; i < m->ns; i++) {
		int lb = len_bucket(&m->seen[i]);

		if (lb > b || (lb == b && room && room--))
			m->seen[k++] = m->seen[i];
	}
	cs->untracked += m->ns - k;
	m->ns = k;
	/* the merge's array held every container of the walk: give the rest back */
	struct pmw_cseen *shrunk = realloc(m->seen, (k ? k : 1) * sizeof(*m->seen));

	if (shrunk) {
		m->seen = shrunk;
		m->cap_seen = k ? k : 1;
	}
}

/* worth following, best first: scored, then growing, then largest, then address */
static int cmp_worth(const void *a, const void *b)
{
	const struct pmw_ctrack *x = *(struct pmw_ctrack *const *)a, *y = *(struct pmw_ctrack *const *)b;
	bool gx = x->items_per_min > 0, gy = y->items_per_min > 0;
	double lx = x->n ? x->len[x->n - 1] : 0, ly = y->n ? y->len[y->n - 1] : 0;

	if ((x->score > 0) != (y->score > 0))
		return x->score > 0 ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (gx != gy)
		return gx ? -1 : 1;
	if (lx != ly)
		return lx > ly ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Keep the @keep tracks of @m most worth following (address order kept). -ENOMEM. */
static int bound_tracks(struct pmw_containers *cs, struct merge *m, size_t keep)
{
	struct pmw_ctrack **p, *nt;
	size_t k = 0;

	if (m->n <= keep)
		return 0;
	p = malloc(m->n * sizeof(*p));
	nt = malloc(keep * sizeof(*nt));
	if (!p || !nt) {
		free(p);
		free(nt);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->n; i++)
		p[i] = &m->tr[i];
	qsort(p, m->n, sizeof(*p), cmp_worth);
	/* the kept ones, back in address order: pointers into one array sort by address */
	qsort(p, keep, sizeof(*p), pmw_cmp_u64);
	for (; k < keep; k++)
		nt[k] = *p[k];
	cs->untracked += m->n - keep;
	free(p);
	free(m->tr);
	m->tr = nt;
	m->n = m->cap = keep;
	return 0;
}

int pmw_containers_update(struct pmw_containers *cs, struct pmw_walk *wk,
			  const struct pmw_target *t)
{
	struct merge m = { 0 };
	double tm = now_min(cs);
	int growing = 0;

	merge_walk(cs, &m, wk, t, tm);
	bound_seen(cs, &m, PMW_CSEEN_MAX);
	for (size_t k = 0; k < m.n; k++)
		track_score(&m.tr[k]);
	if (bound_tracks(cs, &m, PMW_CTRACK_MAX))
		cs->untracked++;	/* kept them all this once */
	free(cs->tr);
	free(cs->seen);
	cs->tr = m.tr;
	cs->n = m.n;
	cs->cap = m.cap;
	cs->seen = m.seen;
	cs->nseen = m.ns;
	cs->cap_seen = m.cap_seen;
	cs->walked_at = cs->t0 + tm * 60;
	if ((cs->untracked || wk->last_stats.containers_skipped) && !cs->warned) {
		vlog("PID %d: more containers of %d+ items than worth following (%d tracks, the %d "
		     "largest of constant length, %d per walk): the others are not followed for "
		     "growth (the census still counts them)\n", t->pid, PMW_WALK_MIN_LEN,
		     PMW_CTRACK_MAX, PMW_CSEEN_MAX, PMW_WALK_CONTS_MAX);
		cs->warned = true;
	}
	type_items(cs, wk, t);
	for (size_t k = 0; k < cs->n; k++) {
		const struct pmw_ctrack *tr = &cs->tr[k];

		growing += tr->score > 0;
		if (tr->score > 0)
			dlog("container %s@%lx: %d points, len %.0f, %.0f/min, r2 %.2f, highs %.2f, "
			     "item %.0f B, score %.2f\n", tr->type_name, (unsigned long)tr->addr, tr->n,
			     tr->len[tr->n - 1], tr->items_per_min, tr->r2, tr->highs, tr->item_bytes,
			     tr->score);
	}
	cs->walks++;
	return growing;
}

/* ---------------------------------------------------------------- between walks */

#define FOLLOW_HDR	48	/* header bytes read: refcnt, type, and the length field */
#define PROMOTE_MAX	256	/* constant ones that become tracks per round */
#define FOLLOW_TURN	512	/* headers of the others re-read per round, in turn (24 KiB) */
#define REFCNT_MAX	(1ULL << 40)

/* one header to read: a track (seen = false) or a constant entry */
struct follow {
	uint64_t addr;
	size_t idx;
	bool seen;
};

/* len() from a container header, Include/cpython/{listobject,dictobject}.h, setobject.h,
 * Modules/_collectionsmodule.c; UINT64_MAX when the object is gone or another one */
static uint64_t header_len(const uint8_t *h, uint64_t type, uint8_t kind)
{
	unsigned int off = kind == PMW_CK_DICT ? PMW_MA_USED : kind == PMW_CK_SET ? PMW_SET_USED :
		PMW_OB_SIZE;
	uint64_t rc, ty, len;

	memcpy(&rc, h, sizeof(rc));
	memcpy(&ty, h + PMW_OB_TYPE, sizeof(ty));
	memcpy(&len, h + off, sizeof(len));
	return rc && rc < REFCNT_MAX && ty == type && len < REFCNT_MAX ? len : UINT64_MAX;
}

/* may it rank soon: scored, growing, or too new to tell (too few points, or too short a span:
 * no slope yet) */
static bool hot(const struct pmw_ctrack *tr)
{
	return tr->score > 0 || tr->items_per_min > 0 || tr->n < MIN_POINTS ||
	       tr->t[tr->n - 1] - tr->t[0] < MIN_SPAN_MIN;
}

/*
 * The headers to read this round: what can rank every interval (the tracks
 * that grow or are new, the module globals), and FOLLOW_TURN of the others
 * (tracks that stopped, the largest constant ones) in turn from where the last
 * round stopped, so each of those is re-read every 32 intervals or less (the
 * walks re-read them all too).
 */
static struct follow *follow_list(struct pmw_containers *cs, size_t *np)
{
	size_t n = 0, cold = 0, nc = cs->n + cs->nseen, want = FOLLOW_TURN + 1;
	struct follow *f;

	/* room for what is read: not an entry per container followed (~440 KiB per round) */
	for (size_t i = 0; i < cs->n; i++)
		want += hot(&cs->tr[i]);
	for (size_t i = 0; i < cs->nseen; i++)
		want += cs->seen[i].global;
	if (!(f = malloc(want * sizeof(*f))))
		return NULL;
	for (size_t i = 0; i < cs->n; i++)
		if (hot(&cs->tr[i]))
			f[n++] = (struct follow){ .addr = cs->tr[i].addr, .idx = i };
	for (size_t i = 0; i < cs->nseen; i++)
		if (cs->seen[i].global)
			f[n++] = (struct follow){ .addr = cs->seen[i].addr, .idx = i, .seen = true };
	/* the others in turn: cold tracks, then big constant entries (index turn over both) */
	for (size_t k = 0; k < nc && cold < FOLLOW_TURN; k++) {
		size_t i = (cs->follow_turn + k) % nc;

		if (i < cs->n ? !hot(&cs->tr[i]) :
		    !cs->seen[i - cs->n].global && cs->follow_min &&
		    cs->seen[i - cs->n].len >= cs->follow_min) {
			f[n++] = i < cs->n ? (struct follow){ .addr = cs->tr[i].addr, .idx = i } :
				 (struct follow){ .addr = cs->seen[i - cs->n].addr, .idx = i - cs->n,
						  .seen = true };
			cold++;
		}
		if (k + 1 == nc || cold == FOLLOW_TURN)
			cs->follow_turn = (i + 1) % nc;
	}
	*np = n;
	return f;
}

/* Constant entries marked (len UINT64_MAX) become tracks, merged in address order. */
static int promote(struct pmw_containers *cs, const struct pmw_ctrack *pr, size_t np)
{
	struct pmw_ctrack *nt = malloc((cs->n + np) * sizeof(*nt));
	size_t i = 0, j = 0, k = 0;

	if (!nt)
		return -ENOMEM;
	while (i < cs->n || j < np)
		nt[k++] = j >= np || (i < cs->n && cs->tr[i].addr < pr[j].addr) ? cs->tr[i++] : pr[j++];
	free(cs->tr);
	cs->tr = nt;
	cs->n = cs->cap = k;
	for (i = 0, k = 0; i < cs->nseen; i++)
		if (cs->seen[i].len != UINT64_MAX)
			cs->seen[k++] = cs->seen[i];
	cs->nseen = k;
	return 0;
}

/* Fold the headers @h (@ok) of @f[0..n) read at @tm into the tracks and constant entries. */
static int follow_fold(struct pmw_containers *cs, const struct follow *f, size_t n,
		       const uint8_t *h, const bool *ok, double tm)
{
	struct pmw_ctrack *pr = malloc(PROMOTE_MAX * sizeof(*pr));
	size_t np = 0;
	int err;

	if (!pr)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		struct pmw_ctrack *tr = f[k].seen ? NULL : &cs->tr[f[k].idx];
		struct pmw_cseen *sn = f[k].seen ? &cs->seen[f[k].idx] : NULL;
		uint64_t len = !ok[k] ? UINT64_MAX : tr ? header_len(h + k * FOLLOW_HDR, tr->type, tr->kind) :
			       header_len(h + k * FOLLOW_HDR, sn->type, sn->kind);

		if (len == UINT64_MAX)
			continue;
		/* a point where the length moved: a slow leak keeps setting new highs */
		if (tr && tr->n && len != (uint64_t)tr->len[tr->n - 1]) {
			track_point(tr, tm, len, false);
			track_score(tr);
		} else if (sn && len != sn->len && np < PROMOTE_MAX) {
			track_new(&pr[np], sn->addr, sn->type, sn->kind, pmw_ckind_name(sn->kind), sn);
			pr[np].seen = sn->seen;
			track_point(&pr[np], tm, len, false);
			track_score(&pr[np++]);
			sn->len = UINT64_MAX;	/* promoted */
		}
	}
	/* read in the round's order (globals, then the others in turn): merged in address order */
	qsort(pr, np, sizeof(*pr), pmw_cmp_u64);
	err = np ? promote(cs, pr, np) : 0;
	free(pr);
	return err;
}

/*
 * Free-threaded (@sh: 16, pyver.h struct pmw_pyver_ft ob_shift): headers of FOLLOW_HDR + @sh
 * bytes were read at @buf; each becomes FOLLOW_HDR bytes at the default build's offsets
 * (type @8, length @16...), its first word 1 if the object's reference counts are above 0.
 */
static void ft_headers(const struct pmw_target *t, uint8_t *buf, size_t n, unsigned int sh)
{
	for (size_t k = 0; sh && k < n; k++) {
		uint8_t *src = buf + k * (FOLLOW_HDR + sh), *dst = buf + k * FOLLOW_HDR;
		uint64_t alive = pmw_mi_obj_alive(t->ft, src);

		memmove(dst + 8, src + sh + 8, FOLLOW_HDR - 8);
		memcpy(dst, &alive, sizeof(alive));
	}
}

int pmw_containers_follow(struct pmw_containers *cs, const struct pmw_target *t)
{
	unsigned int sh = t->ft ? t->ft->ob_shift : 0;	/* free-threaded: a longer head */
	size_t n = 0, *lens;
	struct follow *f;
	uint64_t *addrs;
	uint8_t *buf;
	bool *ok;
	int err = -ENOMEM;

	if (!cs->walks || !(f = follow_list(cs, &n)))
		return cs->walks ? -ENOMEM : 0;
	addrs = calloc(n + 1, sizeof(*addrs));
	lens = calloc(n + 1, sizeof(*lens));
	buf = malloc((n + 1) * (FOLLOW_HDR + sh));
	ok = calloc(n + 1, sizeof(*ok));
	if (addrs && lens && buf && ok) {
		for (size_t k = 0; k < n; k++) {
			addrs[k] = f[k].addr;
			lens[k] = FOLLOW_HDR + sh;
		}
		err = pmw_mem_gather(t->pid, addrs, lens, n, buf, ok) < 0 ? -ESRCH :
		      (ft_headers(t, buf, n, sh), follow_fold(cs, f, n, buf, ok, now_min(cs)));
	}
	cs->follows++;
	cs->nfollowed = (int)n;
	cs->follow_bytes = n * FOLLOW_HDR;
	cs->follow_bytes_total += n * FOLLOW_HDR;
	free(f);
	free(addrs);
	free(lens);
	free(buf);
	free(ok);
	return err < 0 ? err : (int)n;
}

int pmw_containers_holders(struct pmw_containers *cs, const struct pmw_target *t, int max)
{
	struct pmw_ctrack *top[PMW_HOLDERS_MAX];
	struct pmw_holder h[PMW_HOLDERS_MAX];
	int n = pmw_containers_top(cs, top, max < PMW_HOLDERS_MAX ? max : PMW_HOLDERS_MAX), found;

	if (!n)
		return 0;
	memset(h, 0, sizeof(h));
	for (int k = 0; k < n; k++) {
		h[k].container = top[k]->addr;
		h[k].parent = top[k]->parent;	/* lets the search reach it in a wide dict */
	}
	found = pmw_holders_find(t, h, n);
	for (int k = 0; k < n && found >= 0; k++) {
		struct pmw_ctrack *tr = top[k];

		snprintf(tr->holder, sizeof(tr->holder), "%s", h[k].path);
		tr->holder_kind = h[k].kind;
		tr->holder_retained = h[k].retained_bytes;
		tr->holder_retained_items = tr->n ? (uint64_t)tr->len[tr->n - 1] : 0;
		snprintf(tr->holder_item_type, sizeof(tr->holder_item_type), "%s", h[k].item_type);
	}
	return found;
}

struct pmw_ctrack *pmw_containers_find(struct pmw_containers *cs, uint64_t addr)
{
	return cs->n ? bsearch(&addr, cs->tr, cs->n, sizeof(*cs->tr), pmw_cmp_u64) : NULL;
}

int pmw_containers_want(struct pmw_containers *cs, struct pmw_walk *wk)
{
	uint64_t *ws = malloc((cs->n ? cs->n : 1) * sizeof(*ws));

	if (!ws)
		return -ENOMEM;
	for (size_t k = 0; k < cs->n; k++)	/* sorted by address already */
		ws[k] = cs->tr[k].addr;
	free(wk->want_sample);
	free(wk->want_parent);		/* parallel to the old list */
	wk->want_parent = NULL;
	wk->want_sample = ws;
	wk->nwant_sample = (int)cs->n;
	return 0;
}

/* The addresses followed (tracks and constant ones, both sorted: merged), which the next walk
 * keeps whatever their length (wk->known). -ENOMEM. */
static int known_set(const struct pmw_containers *cs, struct pmw_walk *wk)
{
	size_t n = cs->n + cs->nseen, k = 0, i = 0, j = 0;
	uint64_t *a = malloc((n ? n : 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	while (i < cs->n || j < cs->nseen)
		a[k++] = j >= cs->nseen || (i < cs->n && cs->tr[i].addr < cs->seen[j].addr) ?
			 cs->tr[i++].addr : cs->seen[j++].addr;
	free(wk->known);
	wk->known = a;
	wk->nknown = k;
	return 0;
}

int pmw_containers_watch(struct pmw_containers *cs, struct pmw_walk *wk)
{
	struct pmw_ctrack *top[PMW_HOLDERS_MAX];
	int n = pmw_containers_top(cs, top, PMW_HOLDERS_MAX);
	uint64_t *w = malloc((n ? n : 1) * sizeof(*w));

	if (!w)
		return -ENOMEM;
	for (int k = 0; k < n; k++)
		w[k] = top[k]->addr;
	qsort(w, n, sizeof(*w), pmw_cmp_u64);
	free(wk->watch);
	wk->watch = w;
	wk->nwatch = n;
	/* the newest items of every track, for typing; what the next walk keeps */
	return pmw_containers_want(cs, wk) || known_set(cs, wk) ? -ENOMEM : n;
}

void pmw_containers_free(struct pmw_containers *cs)
{
	free(cs->tr);
	free(cs->seen);
	memset(cs, 0, sizeof(*cs));
}
