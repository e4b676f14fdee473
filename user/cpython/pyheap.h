/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live heap's figures, from pymalloc (heap.c) or, in free-threaded builds,
 * mimalloc (mimalloc.c): a header of its own so that neither includes the other. */
#ifndef PMW_PYHEAP_H
#define PMW_PYHEAP_H

#include <stdint.h>
#include "pmw.h"

struct pmw_heap {
	uint64_t live_blocks;		/* blocks in use in pymalloc pools, count */
	uint64_t live_bytes;		/* their size-class bytes */
	uint64_t arena_bytes;		/* arenas mapped * ARENA_SIZE */
	uint64_t narenas;		/* arenas mapped, count */
	uint64_t pools_used;		/* pools holding at least one block */
	uint64_t class_blocks[PMW_NCLASS]; /* live blocks per size class */
	double scan_ms;			/* wall time of the scan */
};

#endif
