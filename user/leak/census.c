// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Type census from the heads of pymalloc pools, like objgraph's show_growth. */
#include <stdlib.h>
#include <string.h>
#include "census.h"
#include "pyobj.h"
#include "util.h"

const struct pmw_wtype *pmw_block_type(struct pmw_walk *wk, const struct pmw_target *t,
				       const uint8_t *b, int *off)
{
	static const int offs[PMW_NHEAD_OFFS] = PMW_HEAD_OFFS;

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		const struct pmw_wtype *ty;
		uint64_t rc, tp;

		memcpy(&rc, b + offs[i], sizeof(rc));
		memcpy(&tp, b + offs[i] + PMW_OB_TYPE, sizeof(tp));
		if (!rc || rc >= PMW_REFCNT_MAX)
			continue;
		ty = pmw_walk_type(wk, t, tp);
		if (ty && ty->off == offs[i]) {
			*off = offs[i];
			return ty;
		}
	}
	return NULL;
}

void pmw_census_begin(struct pmw_census *c)
{
	for (int i = 0; i < c->n; i++) {
		c->rows[i].bytes = 0;
		c->rows[i].pools = 0;
	}
}

void pmw_census_pool(struct pmw_census *c, struct pmw_walk *wk, const struct pmw_target *t,
		     const uint8_t *first_block, uint64_t live_bytes)
{
	struct pmw_census_type *row;
	int off;
	const struct pmw_wtype *ty = pmw_block_type(wk, t, first_block, &off);

	if (!ty)
		return;		/* the pool's first block is free: its bytes stay unattributed */
	row = pmw_sorted_get((void **)&c->rows, &c->n, &c->cap, sizeof(*row), ty->addr, 4096);
	if (!row)
		return;
	if (strncmp(row->name, ty->name, sizeof(row->name) - 1)) {
		/* another type at a freed type's address: a new row, all its bytes new */
		if (row->name[0])
			row->first_bytes = 0;
		snprintf(row->name, sizeof(row->name), "%s", ty->name);
	}
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
