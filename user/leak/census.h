/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Type census: live pymalloc bytes per object type, from the heads of pools. */
#ifndef PMW_CENSUS_H
#define PMW_CENSUS_H

#include <stdbool.h>
#include <stdint.h>
#include "pyproc.h"
#include "walk.h"

/* type census: live pymalloc bytes per object type, like objgraph's show_growth */
struct pmw_census_type {
	uint64_t type;			/* type object address */
	uint64_t bytes;			/* live bytes of pools headed by such objects, last scan */
	uint64_t first_bytes;		/* the same at the first scan */
	uint64_t pools;			/* pools, last scan */
	char name[64];			/* tp_name */
};

/*
 * Seconds between revalidations of the census's types when no walk does it
 * (pmw_walk_types_renew at the start of each scan: --walk-budget 0): a type
 * freed and another made at its address is named anew within this time.
 */
#define PMW_CENSUS_TYPES_AGE	10.0

/* One target's census (types: the walk's validated type table, pmw_walk_type). */
struct pmw_census {
	struct pmw_census_type *rows;	/* sorted by type address */
	int n, cap;
	bool started;			/* first_bytes set */
};

/* Before and after a heap scan that feeds the census (the end only after a good scan). */
void pmw_census_begin(struct pmw_census *c);
void pmw_census_end(struct pmw_census *c);
/* Add a pool of @t: its first block's head @first_block (PMW_HEAP_PEEK bytes), its live
 * bytes; its type validated in @wk's type table. */
void pmw_census_pool(struct pmw_census *c, struct pmw_walk *wk, const struct pmw_target *t,
		     const uint8_t *first_block, uint64_t live_bytes);
/* The types that grew most since attach (bytes - first_bytes), best first; returns the count. */
int pmw_census_top(struct pmw_census *c, struct pmw_census_type **out, int max);
/* tp_name of type object @type, "?" if not in the census */
const char *pmw_census_name(const struct pmw_census *c, uint64_t type);
void pmw_census_free(struct pmw_census *c);

/*
 * The type of the object at the head of a block (@b: 96 bytes read from the
 * target): the header tried at each of PMW_HEAD_OFFS, taken where a plausible
 * reference count is followed by a type of @wk's table (pmw_walk_type) whose
 * flags put the header there. Returns the type (NULL: no object), the
 * header's offset in *@off.
 */
const struct pmw_wtype *pmw_block_type(struct pmw_walk *wk, const struct pmw_target *t,
				       const uint8_t *b, int *off);

#endif
