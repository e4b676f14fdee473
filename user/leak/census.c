// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Type census from the heads of pymalloc pools, like objgraph's show_growth. */
#include <stdlib.h>
#include <string.h>
#include "census.h"
#include "pystack.h"
#include "util.h"

const struct pmw_type *pmw_type_get(struct pmw_census *c, const struct pmw_target *t,
				    uint64_t addr)
{
	struct pmw_type *ty = &c->types[(addr >> 4) % ARRAY_SIZE(c->types)];

	if (!addr)
		return NULL;
	if (ty->addr != addr) {
		ty->addr = addr;
		ty->ok = !pmw_type_name(t, addr, ty->name, sizeof(ty->name));
	}
	return ty;
}

uint64_t pmw_block_type(struct pmw_census *c, const struct pmw_target *t, const uint8_t *b,
			int *off)
{
	static const int offs[PMW_NHEAD_OFFS] = PMW_HEAD_OFFS;

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		const struct pmw_type *ty;
		uint64_t tp;

		memcpy(&tp, b + offs[i] + PMW_OB_TYPE, sizeof(tp));
		ty = pmw_type_get(c, t, tp);
		if (ty && ty->ok) {
			*off = offs[i];
			return tp;
		}
	}
	return 0;
}

void pmw_census_begin(struct pmw_census *c)
{
	for (int i = 0; i < c->n; i++) {
		c->rows[i].bytes = 0;
		c->rows[i].pools = 0;
	}
}

void pmw_census_pool(struct pmw_census *c, const struct pmw_target *t, const uint8_t *first_block,
		     uint64_t live_bytes)
{
	struct pmw_census_type *row;
	int off;
	uint64_t ty = pmw_block_type(c, t, first_block, &off);

	if (!ty)
		return;		/* the pool's first block is free: its bytes stay unattributed */
	row = pmw_sorted_get((void **)&c->rows, &c->n, &c->cap, sizeof(*row), ty, 4096);
	if (!row)
		return;
	if (!row->name[0])
		snprintf(row->name, sizeof(row->name), "%s", pmw_type_get(c, t, ty)->name);
	row->bytes += live_bytes;
	row->pools++;
}

void pmw_census_end(struct pmw_census *c)
{
	if (c->started)
		return;
	for (int i = 0; i < c->n; i++)
		c->rows[i].first_bytes = c->rows[i].bytes;
	c->started = true;
}

static int cmp_growth(const void *a, const void *b)
{
	const struct pmw_census_type *x = *(struct pmw_census_type *const *)a;
	const struct pmw_census_type *y = *(struct pmw_census_type *const *)b;
	int64_t gx = (int64_t)x->bytes - (int64_t)x->first_bytes;
	int64_t gy = (int64_t)y->bytes - (int64_t)y->first_bytes;

	return gx < gy ? 1 : gx > gy ? -1 : 0;
}

int pmw_census_top(struct pmw_census *c, struct pmw_census_type **out, int max)
{
	return pmw_top_n(c->rows, c->n, sizeof(*c->rows), NULL, cmp_growth, (void **)out, max);
}

const char *pmw_census_name(const struct pmw_census *c, uint64_t type)
{
	const struct pmw_census_type *row = c->n ? bsearch(&type, c->rows, c->n, sizeof(*row),
							   pmw_cmp_u64) : NULL;

	return row && row->name[0] ? row->name : "?";
}

void pmw_census_free(struct pmw_census *c)
{
	free(c->rows);
	memset(c, 0, sizeof(*c));
}
