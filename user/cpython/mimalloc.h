/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Free-threaded CPython (3.13t, PEP 703): detection, and the live heap read
 * from mimalloc's own state in target memory. There pymalloc is off: objects
 * and PyMem blocks live in mimalloc heaps, four per thread state (mem,
 * object, gc, gc with pre-header: Include/internal/pycore_mimalloc.h), and in
 * segments that exited threads abandoned to the interpreter's pool.
 */
#ifndef PMW_MIMALLOC_H
#define PMW_MIMALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include "pyheap.h"
#include "pyproc.h"

/* _Py_mimalloc_heap_id, Include/internal/pycore_mimalloc.h (3.13) */
enum pmw_mi_kind { PMW_MI_MEM, PMW_MI_OBJECT, PMW_MI_GC, PMW_MI_GC_PRE, PMW_MI_NKINDS };

struct pmw_mi_count {
	uint64_t blocks;		/* blocks in use, count */
	uint64_t bytes;			/* their block-size bytes */
	uint64_t pages;			/* pages holding at least one of them */
};

/* One read of every mimalloc heap of a free-threaded target. */
struct pmw_mi_scan {
	struct pmw_mi_count kind[PMW_MI_NKINDS]; /* live, threads' heaps + abandoned, by heap */
	struct pmw_mi_count abandoned;	/* of which in abandoned segments */
	uint64_t page_bytes;		/* bytes of the pages owned (slices x 64 KiB), used or not */
	uint64_t threads;		/* thread states read */
	uint64_t abandoned_segments;	/* segments in the abandoned pool */
	uint64_t pending;		/* blocks freed by another thread, not yet collected by
					 * their page's owner: counted as freed, like
					 * sys.getallocatedblocks() does */
	uint64_t torn;			/* pages, lists or segments skipped as inconsistent */
	double scan_ms;			/* wall time of the scan */
};

/*
 * Learn whether @t (image opened, version resolved) is free-threaded:
 * _Py_DebugOffsets.free_threaded (3.13+), else a "t" ABI in the file name
 * (python3.13t, libpython3.13t.so). Sets t->free_threaded and t->ft.
 * Returns 0; -EPROTONOSUPPORT for a free-threaded version whose mimalloc
 * layout is not in pyver.c.
 */
int pmw_mi_detect(struct pmw_target *t);

/*
 * Read every thread state's heaps (page queues: used x block size, minus
 * blocks other threads freed that are waiting in the page's or the heap's
 * delayed lists) and the abandoned pool's segments (their used slices) of
 * free-threaded @t. CPython 3.13 Objects/obmalloc.c
 * get_mimalloc_allocated_blocks() counts the same set.
 * Returns 0; -EAGAIN (not initialised yet), -ESRCH (gone), -EFAULT (no
 * consistent read: more than one page or segment in 8 failed validation),
 * -ENOMEM.
 */
int pmw_mi_scan(const struct pmw_target *t, struct pmw_mi_scan *s);

/*
 * pmw_mi_scan() folded into struct pmw_heap for the rows: live_blocks,
 * live_bytes, pools_used (pages), arena_bytes (page bytes owned), scan_ms.
 * An inconsistent scan (-EFAULT) is tried up to three times. Same returns.
 */
int pmw_mi_heap_scan(const struct pmw_target *t, struct pmw_heap *h);

/*
 * Does a free-threaded object whose first bytes (at least ob_ref_shared + 8) are
 * @head have a reference count above 0: ob_ref_local (u32) or ob_ref_shared
 * (i64: other threads' references, negative until merged), Include/object.h.
 */
bool pmw_mi_obj_alive(const struct pmw_pyver_ft *ft, const uint8_t *head);

/* One mimalloc page of objects (heaps OBJECT, GC, GC_PRE), for heap walks (user/leak/walk.c). */
struct pmw_mi_page {
	uint64_t start;			/* its first block: _mi_segment_page_start() */
	uint64_t free, local_free;	/* free lists (mi_page_t.free, .local_free): block addresses */
	uint64_t thread_free;		/* xthread_free, flag bits cleared: freed by other threads */
	uint64_t bsize;			/* block size, bytes (huge page: its whole span) */
	uint32_t capacity, used;	/* blocks carved, in use (header; thread frees included) */
	uint8_t kind;			/* enum pmw_mi_kind */
};

struct pmw_mi_pages {
	struct pmw_mi_page *p;		/* in the order read: thread states', then abandoned */
	size_t n, cap;
};

/*
 * The pages with blocks in use of the object heaps (OBJECT, GC, GC_PRE) of
 * every thread state and of the abandoned pool of free-threaded @t, validated
 * as pmw_mi_scan() does (same walk, same refusals), into @out (reused; its
 * array grows). CPython's own visit of every object: gc_visit_heaps(),
 * Python/gc_free_threading.c. Returns as pmw_mi_heap_scan().
 */
int pmw_mi_pages(const struct pmw_target *t, struct pmw_mi_pages *out);

#endif
