/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Retained size, as heap analysers define it: the bytes that would be freed
 * if a holder let go of what it holds. Read from outside, it is computed by
 * reference counts rather than by a dominator tree over the whole heap:
 *
 *  1. From the holder, its items are followed (all of them, or a sample at a
 *     fixed stride when there are more than @sample), and from each item
 *     what it references: instance attributes (values, __dict__, __slots__),
 *     the items of tuples, lists, sets, deques and dicts (keys and values),
 *     breadth first, up to @max_nodes objects. Modules, types and functions
 *     are not followed (they are shared by nature).
 *  2. Each object's references from inside that graph are counted. An object
 *     is retained when every reference to it (ob_refcnt) comes from retained
 *     objects: the greatest fixed point, so cycles held only by the holder
 *     are retained, and an object also referenced from outside (another
 *     container, a frame, an immortal or interned object) is not, nor what
 *     only it holds.
 *  3. The retained objects' sizes (as sys.getsizeof counts them, in pymalloc
 *     blocks: 16-byte classes up to 512 B) are summed, and the items' part
 *     scaled by items / sampled items. The holder's own size is added.
 *
 * Limits, stated: an object two sampled items share is retained (correct);
 * one shared between a sampled and an unsampled item is not (the sample
 * under-counts it); objects past @max_nodes are not counted (partial = true);
 * 3.11/3.12 instances' values arrays are not counted, as sys.getsizeof does
 * not count them; a reference held only by a running frame's evaluation
 * stack counts as outside.
 */
#ifndef PMW_RETAINED_H
#define PMW_RETAINED_H

#include <stdbool.h>
#include <stdint.h>
#include "pyobj.h"

struct pmw_retained {
	uint64_t bytes;		/* retained bytes, holder included, extrapolated */
	uint64_t objects;	/* retained objects, holder included, extrapolated */
	uint64_t items;		/* len() of the holder */
	uint32_t sampled;	/* items followed */
	uint32_t nodes;		/* objects read */
	bool partial;		/* max_nodes reached: an under-estimate */
	char item_type[64];	/* most common item type (dict: values), "" unknown */
};

#define PMW_RETAINED_SAMPLE	256	/* items followed per holder */
#define PMW_RETAINED_NODES	16384	/* objects read per holder */
#define PMW_RETAINED_READS	8192	/* process_vm_readv calls per holder (heads: one per level) */

/*
 * Measure what container or instance @obj retains, reading through @r (its
 * read budget applies). Returns 0, -EINVAL (not a container or instance:
 * only its own size is known), -EFAULT (unreadable), -ENOMEM.
 */
int pmw_retained_measure(struct pmw_pyr *r, uint64_t obj, uint32_t sample, uint32_t max_nodes,
			 struct pmw_retained *out);

#endif
