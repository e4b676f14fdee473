/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live pymalloc heap, read from the allocator's own state in target memory. */
#ifndef PMW_HEAP_H
#define PMW_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "pmw.h"
#include "pyheap.h"
#include "pyproc.h"

/*
 * Called for every pool in use with the first PMW_HEAP_PEEK bytes of its
 * first block (a free block or the head of an object) and the pool's live
 * bytes: the type census reads object types from there.
 */
#define PMW_HEAP_PEEK	96
typedef void (*pmw_pool_fn)(void *arg, const uint8_t *first_block, uint64_t live_bytes);

/*
 * Scan pymalloc's arena table and every carved pool header of @t
 * (Objects/obmalloc.c: arenas[i].address, pool_address; pool_header.ref.count,
 * .szidx). Returns 0; -ENOENT if the arena table cannot be located (3.8-3.11
 * without symbols), -EAGAIN if the interpreter is not initialised yet,
 * -ESRCH if the process is gone, -EFAULT on an inconsistent read.
 */
int pmw_heap_scan(const struct pmw_target *t, struct pmw_heap *h, pmw_pool_fn fn, void *arg);

/* Every carved pool of a heap, and the arenas that hold them. */
struct pmw_heap_pools {
	uint64_t *pools;		/* pool header addresses, npools */
	size_t npools;
	uint64_t *arenas;		/* base addresses of arenas with carved pools, sorted */
	size_t narenas;
	uint64_t narenas_mapped;	/* arenas in use, count */
	uint32_t arena_size;		/* ARENA_SIZE */
};

/*
 * List every carved pool of @t (arenas[i].address .. pool_address) into
 * @hp (free it with pmw_heap_pools_free). Errors as pmw_heap_scan().
 */
int pmw_heap_pools(const struct pmw_target *t, struct pmw_heap_pools *hp);
void pmw_heap_pools_free(struct pmw_heap_pools *hp);

/* Is @addr inside one of @hp's arenas? */
bool pmw_heap_in_arena(const struct pmw_heap_pools *hp, uint64_t addr);

/*
 * Gather @n pieces of target memory (@addrs[i], @lens[i] bytes) into @buf,
 * concatenated, with process_vm_readv. A piece that cannot be read is
 * zeroed and its @ok[i] false; the others are still read. Returns the number
 * of pieces read, or -ESRCH.
 */
ssize_t pmw_mem_gather(pid_t pid, const uint64_t *addrs, const size_t *lens, size_t n,
		       uint8_t *buf, bool *ok);

#endif
