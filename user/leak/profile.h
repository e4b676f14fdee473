/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampled allocation profile (--alloc-profile auto|always, off by default): what
 * the bursts' samples (burst.c) make of each target's sites (sites.h). Kept
 * out of leak.h so that the sites' data does not depend on struct pmw_watch.
 */
#ifndef PMW_PROFILE_H
#define PMW_PROFILE_H

#include "sites.h"

struct pmw_leaks;
struct pmw_watch;

/*
 * Sorted view of a target's sites, best first: by score (growth of aged
 * samples x survival), then live bytes; returns the count.
 */
int pmw_sites_top(struct pmw_leaks *l, struct pmw_site **out, int max);

/*
 * After each interval: read every sampled pool (@samples_fd) and group
 * them by stack into each target's sites, resolve new stacks (@stacks_fd)
 * and types, update scores, forget stacks no sample refers to. Returns 0
 * or -errno. (When bursts run: burst.c.)
 */
int pmw_leaks_collect(struct pmw_watch **ws, int n, int samples_fd, int stacks_fd);

/*
 * When a burst ends, while the free probes are still attached: the first
 * look at the objects just sampled (their fingerprints), so that one that
 * dies after the probes are gone is seen to change. Looked at only at the
 * next interval, a cache entry that died in between had its block reused by
 * a leaked object, which was then followed as the entry: the cache's site
 * ranked with the leaks. Returns 0 or -ENOMEM.
 */
int pmw_leaks_look(struct pmw_watch **ws, int n, int samples_fd);

#endif
