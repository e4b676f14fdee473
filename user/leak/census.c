// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Type census from the heads of pymalloc pools, like objgraph's show_growth. */
#include <stdlib.h>
#include <string.h>
#include "leak.h"
#include "util.h"
#include "watch.h"

/* The cache entry of type object @addr, validated once; NULL for 0. */
const struct pmw_type *pmw_type_get(struct pmw_watch *w, uint64_t addr)
{
	struct pmw_type *ty = &w->leaks.types[(addr >> 4) % ARRAY_SIZE(w->leaks.types)];

	if (!addr)
		return NULL;
	if (ty->addr != addr) {
		ty->addr = addr;
		ty->ok = !pmw_type_name(&w->t, addr, ty->name, sizeof(ty->name));
	}
	return ty;
}

/*
 * The type of the object at the head of block @b (OBJ_READ bytes read from
 * the target): the object header is tried at +0 (plain), +16 (PyGC_Head)
 * and +32 (3.11+ pre-header). Returns the type address (0: no object) and
 * the header's offset in *off.
 */
uint64_t pmw_block_type(struct pmw_watch *w, const uint8_t *b, int *off)
{
	static const int offs[PMW_NHEAD_OFFS] = PMW_HEAD_OFFS;

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		const struct pmw_type *t;
		uint64_t ty;

		memcpy(&ty, b + offs[i] + 8, sizeof(ty));
		t = pmw_type_get(w, ty);
		if (t && t->ok) {
			*off = offs[i];
			return ty;
		}
	}
	return 0;
}

void pmw_census_begin(struct pmw_watch *w)
{
	for (int i = 0; i < w->leaks.ncensus; i++) {
		w->leaks.census[i].bytes = 0;
		w->leaks.census[i].pools = 0;
	}
}

void pmw_census_pool(void *arg, const uint8_t *first_block, uint64_t live_bytes)
{
	struct pmw_watch *w = arg;
	struct pmw_leaks *l = &w->leaks;
	struct pmw_census_type *c;
	int off;
	uint64_t ty = pmw_block_type(w, first_block, &off);

	if (!ty)
		return;		/* the pool's first block is free: its bytes stay unattributed */
	c = pmw_sorted_get((void **)&l->census, &l->ncensus, &l->cap_census, sizeof(*c), ty, 4096);
	if (!c)
		return;
	c->bytes += live_bytes;
	c->pools++;
}

void pmw_census_end(struct pmw_watch *w)
{
	if (w->leaks.census_started)
		return;
	for (int i = 0; i < w->leaks.ncensus; i++)
		w->leaks.census[i].first_bytes = w->leaks.census[i].bytes;
	w->leaks.census_started = true;
}

static int cmp_growth(const void *a, const void *b)
{
	const struct pmw_census_type *x = *(struct pmw_census_type *const *)a;
	const struct pmw_census_type *y = *(struct pmw_census_type *const *)b;
	int64_t gx = (int64_t)x->bytes - (int64_t)x->first_bytes;
	int64_t gy = (int64_t)y->bytes - (int64_t)y->first_bytes;

	return gx < gy ? 1 : gx > gy ? -1 : 0;
}

int pmw_census_top(struct pmw_watch *w, struct pmw_census_type **out, int max)
{
	struct pmw_leaks *l = &w->leaks;

	return pmw_top_n(l->census, l->ncensus, sizeof(*l->census), NULL, cmp_growth,
			 (void **)out, max);
}

const char *pmw_census_name(struct pmw_watch *w, uint64_t type)
{
	const struct pmw_type *t = pmw_type_get(w, type);

	return t && t->ok ? t->name : "?";
}
