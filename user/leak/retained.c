// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Retained size by reference counts over the graph below a holder (retained.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyver.h"
#include "retained.h"

#define CHILDREN_MAX	1024	/* references followed per object */
#define LEVEL_PREFETCH	4096	/* heads read per readv (PMW_PYR_HEADS / 2) */
#define SCAN_MAX	4096	/* bytes of an object scanned for references */

struct node {
	uint64_t addr, refcnt, bytes;
	uint32_t e0, e1;		/* its out-edges: edges[e0..e1) */
	uint32_t in, in_kept;		/* references from the graph, from retained nodes */
	bool kept;
};

struct graph {
	struct pmw_pyr *r;
	struct node *n;
	uint32_t nn, max;
	uint32_t *slot;			/* open-addressed: node index + 1 */
	uint32_t cap_slot;
	uint32_t *edges;
	size_t ne, cap_e;
	bool partial;
	struct pmw_pyitem *it;		/* CHILDREN_MAX scratch */
	uint64_t *kids;
};

/* the node of @addr, added (a frontier node) if new; UINT32_MAX when full */
static uint32_t node_of(struct graph *g, uint64_t addr)
{
	uint32_t i = (addr >> 3) * 0x9E3779B97F4A7C15ULL >> 20 & (g->cap_slot - 1);

	for (; g->slot[i]; i = (i + 1) & (g->cap_slot - 1))
		if (g->n[g->slot[i] - 1].addr == addr)
			return g->slot[i] - 1;
	if (g->nn >= g->max) {
		g->partial = true;
		return UINT32_MAX;
	}
	memset(&g->n[g->nn], 0, sizeof(g->n[0]));
	g->n[g->nn].addr = addr;
	g->slot[i] = ++g->nn;
	return g->nn - 1;
}

static int edge_add(struct graph *g, uint32_t to)
{
	if (g->ne == g->cap_e) {
		size_t ncap = g->cap_e ? g->cap_e * 2 : 4096;
		uint32_t *ne = realloc(g->edges, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		g->edges = ne;
		g->cap_e = ncap;
	}
	g->edges[g->ne++] = to;
	g->n[to].in++;
	return 0;
}

/* a container or an instance: its items or attributes are read as such */
static bool followed(enum pmw_pykind k)
{
	return k == PMW_PK_INSTANCE || k == PMW_PK_TUPLE || k == PMW_PK_LIST || k == PMW_PK_SET ||
	       k == PMW_PK_DEQUE || k == PMW_PK_DICT;
}

/*
 * Another object that can hold references (a GC type that is not a module,
 * class, function or lru_cache, shared by nature): an exception, traceback,
 * frame, coroutine, asyncio task or future, cell, bound method, partial, C
 * object. Its own memory is scanned for object pointers.
 */
static bool scanned(const struct pmw_pytype *ty)
{
	return ty->flags & PMW_TPFLAGS_HAVE_GC &&
	       (ty->kind == PMW_PK_OTHER || ty->kind == PMW_PK_CELL || ty->kind == PMW_PK_METHOD ||
		ty->kind == PMW_PK_WRAPPER || ty->kind == PMW_PK_PARTIAL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Bytes of @obj (@base = tp_basicsize) that are live references when its
 * items are not counted by ob_size: 3.11+ generators, coroutines and frame
 * objects end with an evaluation frame (_PyInterpreterFrame, its localsplus
 * at pv->obj.frame_localsplus from its start, the last field of the object)
 * whose locals and stack are live up to stacktop (int at +64, 3.11-3.13) or
 * stackpointer (pointer at +64, 3.14+); Include/internal/pycore_frame.h.
 * What lies past them in the block is stale. @base when unknown.
 */
static uint64_t frame_extent(struct graph *g, uint64_t obj, uint64_t base)
{
	const struct pmw_pyver *pv = g->r->t->pv;
	uint64_t lp = pv->obj.frame_localsplus, frame = obj + base - lp, sp;
	int32_t top;

	if (!pv->obj.localsplus_311 || base < lp + 16)
		return base;
	if (g->r->t->minor <= 13) {
		if (pmw_pyr_read(g->r, frame + 64, &top, 4) || top < 0 || top > 4096)
			return base;
		return base + (uint64_t)top * 8;
	}
	if (pmw_pyr_read(g->r, frame + 64, &sp, 8) || sp < frame + lp || sp > frame + lp + 4096 * 8)
		return base;
	return base + (sp - frame - lp);
}

/*
 * The words of @obj's own memory from @from to its end (tp_basicsize +
 * |ob_size| * tp_itemsize, at most SCAN_MAX bytes) that could point to an
 * object, after the @k children already in g->kids; each pointer once (a
 * word that is no object is dropped when its node is read). Returns the count.
 */
static size_t scan_refs(struct graph *g, uint64_t obj, const struct pmw_pytype *ty, size_t from,
			size_t k, size_t max)
{
	uint8_t buf[SCAN_MAX];
	int64_t n = 0;
	uint64_t len = ty->basicsize, w;
	size_t m = k;

	if (ty->itemsize && !pmw_pyr_read(g->r, obj + PMW_OB_SIZE, &n, 8) && n > 0 && n < (1 << 20))
		len += (uint64_t)n * ty->itemsize;
	else if (ty->itemsize)	/* no ob_size: an evaluation frame's live slots */
		len = frame_extent(g, obj, len);
	len = len < SCAN_MAX ? len & ~7ULL : SCAN_MAX;
	if (len <= from || pmw_pyr_read(g->r, obj, buf, len))
		return k;
	for (size_t off = from; off + 8 <= len && m < max; off += 8) {
		memcpy(&w, buf + off, 8);
		if (pmw_pyptr_ok(w) && w != obj)
			g->kids[m++] = w;
	}
	qsort(g->kids, m, sizeof(*g->kids), cmp_u64);	/* once each */
	k = 0;
	for (size_t i = 0; i < m; i++)
		if (!k || g->kids[k - 1] != g->kids[i])
			g->kids[k++] = g->kids[i];
	return k;
}

/*
 * What @obj of type @ty references, into g->kids (@stride: every stride-th
 * item, for the holder's sample); for a dict, keys and values. Returns the count.
 */
static size_t children(struct graph *g, uint64_t obj, const struct pmw_pytype *ty, uint64_t stride,
		       size_t max)
{
	ssize_t n = 0, m;
	uint64_t dict = 0;
	size_t k = 0;

	if (ty->kind == PMW_PK_INSTANCE) {
		n = pmw_instance_attrs(g->r, obj, ty, g->it, max, &dict);
		if (dict) {	/* the materialized __dict__ is an object of its own */
			g->kids[k++] = dict;
			n = 0;
		}
		n = n > 0 ? n : 0;
		m = pmw_instance_slots(g->r, obj, ty, g->it + n, max - n);
		n += m > 0 ? m : 0;
	} else if (ty->kind == PMW_PK_DICT) {
		n = pmw_dict_items(g->r, obj, stride, g->it, max / 2);
	} else if (followed(ty->kind)) {
		n = pmw_seq_items(g->r, obj, ty, stride, g->it, max);
	} else {
		return scan_refs(g, obj, ty, 16, 0, max);
	}
	for (ssize_t i = 0; i < n && k < max; i++) {
		if (ty->kind == PMW_PK_DICT && pmw_pyptr_ok(g->it[i].key))
			g->kids[k++] = g->it[i].key;
		if (pmw_pyptr_ok(g->it[i].value) && k < max)
			g->kids[k++] = g->it[i].value;
	}
	/* an instance of a class with a C base (an exception, a task): the base's fields too */
	if (ty->kind == PMW_PK_INSTANCE && ty->basicsize > 16 + 2 * 8)
		k = scan_refs(g, obj, ty, 16, k, max);
	return k;
}

/* Read node @i (head prefetched): refcnt, size; expand it if followed. 0 or -ENOMEM. */
static int visit(struct graph *g, uint32_t i, uint64_t stride, size_t max)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(g->r, g->n[i].addr);
	uint64_t rc = 0;
	int64_t sz;
	size_t k;

	g->n[i].e0 = g->n[i].e1 = g->ne;
	if (!ty || pmw_pyr_read(g->r, g->n[i].addr, &rc, 8)) {
		g->n[i].refcnt = UINT64_MAX;	/* unreadable: never retained */
		return 0;
	}
	g->n[i].refcnt = g->r->t->minor >= 12 ? (uint32_t)rc : rc;
	sz = pmw_pyobj_getsizeof(g->r, g->n[i].addr, ty);
	g->n[i].bytes = sz < 0 ? 0 : sz <= 512 ? ((uint64_t)sz + 15) & ~15ULL : (uint64_t)sz;
	if (!followed(ty->kind) && !scanned(ty))
		return 0;
	k = children(g, g->n[i].addr, ty, stride, max);
	for (size_t c = 0; c < k; c++) {
		uint32_t j = node_of(g, g->kids[c]);

		if (j != UINT32_MAX && edge_add(g, j))
			return -ENOMEM;
	}
	g->n[i].e1 = g->ne;
	return 0;
}

/* Breadth first from node 0, a level at a time, each level's heads read in one readv. */
static int explore(struct graph *g, uint64_t stride, uint32_t sample)
{
	uint32_t lo = 0, hi = 1;
	uint64_t heads[LEVEL_PREFETCH];

	while (lo < hi) {
		for (uint32_t at = lo; at < hi; at += LEVEL_PREFETCH) {
			uint32_t n = hi - at < LEVEL_PREFETCH ? hi - at : LEVEL_PREFETCH;

			for (uint32_t i = 0; i < n; i++)
				heads[i] = g->n[at + i].addr;
			pmw_pyr_prefetch(g->r, heads, n);
			for (uint32_t i = at; i < at + n; i++) {
				if (visit(g, i, i ? 1 : stride, i ? CHILDREN_MAX : 2 * sample))
					return -ENOMEM;
				if (g->r->budget && g->r->reads >= g->r->budget)
					g->partial = true;
			}
		}
		lo = hi;
		hi = g->nn;
	}
	return 0;
}

/* The greatest set of nodes all of whose references come from the set (node 0 always in). */
static int fixed_point(struct graph *g)
{
	uint32_t *work = malloc(((size_t)g->nn + g->ne + 1) * sizeof(*work));
	size_t nw = 0;

	if (!work)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->nn; i++) {
		g->n[i].kept = true;
		g->n[i].in_kept = g->n[i].in;
		if (i && g->n[i].refcnt > g->n[i].in)
			work[nw++] = i;
	}
	while (nw) {
		uint32_t i = work[--nw];

		if (!g->n[i].kept)
			continue;
		g->n[i].kept = false;
		for (uint32_t e = g->n[i].e0; e < g->n[i].e1; e++) {
			struct node *c = &g->n[g->edges[e]];

			c->in_kept--;
			if (c->kept && g->edges[e] && c->refcnt > c->in_kept)
				work[nw++] = g->edges[e];
		}
	}
	free(work);
	return 0;
}

/* The most common type among the holder's sampled items (dict: values) into @out. */
static void item_type(struct graph *g, const struct pmw_pytype *ty, char *out, size_t len)
{
	struct { const struct pmw_pytype *ty; uint32_t n; } tally[16];
	int nt = 0, best = -1;

	out[0] = 0;
	for (uint32_t e = g->n[0].e0; e < g->n[0].e1; e++) {
		const struct pmw_pytype *it;
		int k;

		if (ty->kind == PMW_PK_DICT && (e - g->n[0].e0) % 2 == 0)
			continue;	/* a key (pairs: key, value) */
		if (!(it = pmw_pyobj_type(g->r, g->n[g->edges[e]].addr)))
			continue;
		for (k = 0; k < nt && tally[k].ty != it; k++)
			;
		if (k < nt)
			tally[k].n++;
		else if (nt < 16)
			tally[nt++] = (typeof(tally[0])){ it, 1 };
	}
	for (int k = 0; k < nt; k++)
		if (best < 0 || tally[k].n > tally[best].n)
			best = k;
	if (best >= 0)
		snprintf(out, len, "%s", tally[best].ty->name);
}

/* len() of @obj and the slots its items are sampled over (dict entries, set table) */
static int holder_len(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty, int64_t *len,
		      int64_t *slots)
{
	uint64_t mask;

	*len = ty->kind == PMW_PK_INSTANCE ? 0 : pmw_pyobj_len(r, obj, ty);
	*slots = ty->kind == PMW_PK_DICT ? pmw_dict_nentries(r, obj) : *len;
	if (ty->kind == PMW_PK_SET)
		*slots = pmw_pyr_read(r, obj + PMW_SET_MASK, &mask, 8) ? -1 : (int64_t)mask + 1;
	return *len < 0 || *slots < 0 ? -EFAULT : 0;
}

int pmw_retained_measure(struct pmw_pyr *r, uint64_t obj, uint32_t sample, uint32_t max_nodes,
			 struct pmw_retained *out)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);
	struct graph g = { .r = r, .max = max_nodes ? max_nodes : 1 };
	int64_t len, slots;
	uint64_t stride, sum = 0, objs = 0, nitems = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (!ty)
		return -EFAULT;
	if (!followed(ty->kind))
		return -EINVAL;
	if (holder_len(r, obj, ty, &len, &slots))
		return -EFAULT;
	out->items = len;
	sample = sample ? sample : 1;
	stride = (uint64_t)slots > sample ? ((uint64_t)slots + sample - 1) / sample : 1;
	for (g.cap_slot = 1024; g.cap_slot < 2 * g.max; g.cap_slot <<= 1)
		;
	g.n = malloc(g.max * sizeof(*g.n));
	g.slot = calloc(g.cap_slot, sizeof(*g.slot));
	g.it = malloc((CHILDREN_MAX + 2 * sample) * sizeof(*g.it));
	g.kids = malloc((CHILDREN_MAX + 2 * sample) * sizeof(*g.kids));
	err = !g.n || !g.slot || !g.it || !g.kids ? -ENOMEM : 0;
	if (!err)
		node_of(&g, obj);
	if (!err)
		err = explore(&g, stride, sample);
	if (!err)
		err = fixed_point(&g);
	if (!err) {
		for (uint32_t i = 1; i < g.nn; i++)
			if (g.n[i].kept) {
				sum += g.n[i].bytes;
				objs++;
			}
		nitems = g.n[0].e1 - g.n[0].e0;
		if (ty->kind == PMW_PK_DICT)
			nitems /= 2;
		item_type(&g, ty, out->item_type, sizeof(out->item_type));
		/* the items' part scaled from the sample (instances: every attribute followed) */
		if (ty->kind != PMW_PK_INSTANCE && nitems && (uint64_t)len > nitems) {
			sum = (uint64_t)((double)sum * len / nitems);
			objs = (uint64_t)((double)objs * len / nitems);
		}
		out->bytes = g.n[0].bytes + sum;
		out->objects = 1 + objs;
		out->sampled = ty->kind == PMW_PK_INSTANCE ? 0 : nitems;
		out->nodes = g.nn;
		out->partial = g.partial;
	}
	free(g.n);
	free(g.slot);
	free(g.it);
	free(g.kids);
	free(g.edges);
	return err;
}
