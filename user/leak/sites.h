/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampled allocation profile's call sites (data; filled by profile.c):
 * sites ranked by the growth of the pymalloc pools they took into use and
 * that are still in use, sampled with their Python stacks in bounded bursts.
 */
#ifndef PMW_SITES_H
#define PMW_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pmw.h"
#include "pystack.h"

#define PMW_SITE_WINDOW	10	/* bursts over which a site's growth is measured */
/*
 * Age (s) a live sample must reach before it counts as growth, like memleak's
 * --older: churn and cache entries born in a burst can still be alive at the
 * next interval (the burst slowed the target), a leaked object stays.
 */
#define PMW_SITE_AGE_MIN	8.0

/* A distinct sampled stack (raw: code object and instruction per frame). */
struct pmw_stack_site {
	uint64_t stack;			/* hash, key of pmw_stacks */
	uint64_t site;			/* key of the pmw_site it belongs to, 0 = unresolved */
	uint64_t live;			/* sampled pools still in use now */
	uint64_t born;			/* samples taken, cumulative */
	uint64_t aged;			/* of the live ones, those at least PMW_SITE_AGE_MIN old */
	uint64_t type;			/* type object of its last live sample */
	struct pmw_frame *frames;	/* resolved frames (nframes), owned */
	int nframes;
	unsigned int idle;		/* intervals with nothing live */
	bool no_room;			/* its site did not fit (SITES_MAX): counted once */
};

/*
 * A call site as users see it: the symbolized stack (file, function, line
 * per frame), whatever instruction inside a line allocated.
 */
struct pmw_site {
	uint64_t key;			/* hash of the symbolized frames */
	struct pmw_frame *frames;	/* innermost first, nframes, owned */
	int nframes;
	char type[64];			/* type of the object at the head of a live pool, "" unknown */
	uint64_t live;			/* sampled pools still in use */
	uint64_t born;			/* sampled pools, cumulative */
	uint64_t aged;			/* of the live ones, those at least PMW_SITE_AGE_MIN old */
	uint64_t aged_hist[PMW_SITE_WINDOW]; /* aged at the end of the last bursts, oldest first */
	double sampled_hist[PMW_SITE_WINDOW]; /* the target's leaks.burst_s then, s (the last:
					       * when the window last moved) */
	uint64_t type_obj;		/* type object of a live sample */
	double live_bytes;		/* live * pool size, bytes (sampled) */
	double growth_bytes;		/* change of live_bytes in the interval, bytes */
	double survival;		/* live / born: ~1 for a leak, ~0 for churn */
	double score;			/* growth of aged samples over the window (bytes of pools)
					 * per second sampled in it, x survival */
	unsigned int idle;
};

/* a sampled object followed from userspace: its content must not change */
struct pmw_obj {
	uint64_t pool;			/* sampled pool; the object is its first block */
	uint64_t fp;			/* fingerprint: type and first fields, refcount excluded */
	uint64_t stack;			/* its stack (key of pmw_stacks) */
	uint64_t type;			/* its type object */
	uint64_t born_ns;		/* when it was taken, CLOCK_MONOTONIC */
	uint32_t block_off;		/* the sampled allocation's block - pool */
};

/* "file:line" of a site's innermost frame ("?" when it has none) */
void pmw_site_name(const struct pmw_site *s, char *buf, size_t len);
/* collapsed stack "file:func:line;..." outermost first */
void pmw_site_stack(const struct pmw_site *s, char *buf, size_t len);

#endif
