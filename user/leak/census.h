/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Type census: live pymalloc bytes per object type, from the heads of pools. */
#ifndef PMW_CENSUS_H
#define PMW_CENSUS_H

#include <stdint.h>

/* type objects seen, and whether they are one */
struct pmw_type {
	uint64_t addr;
	int ok;
	char name[64];
};

/* type census: live pymalloc bytes per object type, like objgraph's show_growth */
struct pmw_census_type {
	uint64_t type;			/* type object address */
	uint64_t bytes;			/* live bytes of pools headed by such objects, last scan */
	uint64_t first_bytes;		/* the same at the first scan */
	uint64_t pools;			/* pools, last scan */
};

struct pmw_watch;

/* Heap-scan callback (pmw_pool_fn): add a pool to @arg's (a struct pmw_watch) census. */
void pmw_census_pool(void *arg, const uint8_t *first_block, uint64_t live_bytes);
/* Before and after a heap scan that feeds the census. */
void pmw_census_begin(struct pmw_watch *w);
void pmw_census_end(struct pmw_watch *w);
/* The types that grew most since attach (bytes - first_bytes), best first; returns the count. */
int pmw_census_top(struct pmw_watch *w, struct pmw_census_type **out, int max);
/* tp_name of type object @type, "?" if unknown */
const char *pmw_census_name(struct pmw_watch *w, uint64_t type);

/* The cache entry of type object @addr of @w, validated once; NULL for 0. */
const struct pmw_type *pmw_type_get(struct pmw_watch *w, uint64_t addr);
/*
 * The type of the object at the head of a block (@b: 96 bytes read from the
 * target): header tried at +0, +16 (PyGC_Head), +32 (3.11+ pre-header).
 * Returns the type address (0: no object), the header's offset in *@off.
 */
uint64_t pmw_block_type(struct pmw_watch *w, const uint8_t *b, int *off);

#endif
