// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of user/mimalloc.c (cmocka): mimalloc state of a free-threaded
 * CPython 3.13 laid out by the pyver.c row in this process's own memory (the
 * reader uses process_vm_readv, which reads our own PID as well): what is
 * counted, what waits in thread-free lists, abandoned segments, and what
 * the reader must refuse or survive (cycles, stray pointers, a thread state
 * of another interpreter). The real interpreter is checked by
 * tests/integration/test_freethreaded.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <errno.h>
#include "mimalloc.h"

#define SEG	(32u << 20)	/* MI_SEGMENT_SIZE, checked against the row */

struct fake {
	const struct pmw_pyver_ft *ft;
	struct pmw_target t;
	uint8_t *rt, *interp, *ts, *seg1, *seg2;
};

static void put64(uint8_t *b, uint32_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put32(uint8_t *b, uint32_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put16(uint8_t *b, uint32_t off, uint16_t v) { memcpy(b + off, &v, 2); }

static uint8_t *slice(struct fake *f, uint8_t *seg, int i)
{
	return seg + f->ft->seg_slices + (size_t)i * f->ft->page_size;
}

static uint8_t *heap(struct fake *f, int k)
{
	return f->ts + f->ft->tstate_heaps + (size_t)k * f->ft->heap_size;
}

/* a page header at slice @i of @seg */
static uint8_t *page(struct fake *f, uint8_t *seg, int i, uint32_t slices, uint32_t bsize,
		     uint16_t cap, uint32_t used, int tag, const uint8_t *owner)
{
	const struct pmw_pyver_ft *ft = f->ft;
	uint8_t *p = slice(f, seg, i);

	put32(p, 0, slices);
	p[ft->page_flags] = (uint8_t)(tag << 3);
	put16(p, ft->page_capacity, cap);
	put16(p, ft->page_reserved, cap);
	put32(p, ft->page_used, used);
	put32(p, ft->page_xblock_size, bsize);
	put64(p, ft->page_xheap, (uint64_t)(uintptr_t)owner);
	return p;
}

/*
 * One thread state: object heap with page A (64-byte blocks, 40 used, 3 of
 * them waiting in its thread-free list) and page B (128-byte blocks, 10
 * used, one in the heap's delayed-free list); one abandoned segment with a
 * gc-heap page (32-byte blocks, 7 used) after the segment's own slice.
 */
static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	const struct pmw_pyver_ft *ft = pmw_pyver_ft_find(3, 13);
	const struct pmw_pyver *pv = pmw_pyver_find(3, 13);
	uint8_t *a, *b, *oh;
	uint64_t lo;

	assert_non_null(f);
	assert_non_null(ft);
	assert_non_null(pv);
	assert_int_equal(ft->segment_size, SEG);
	f->ft = ft;
	f->rt = calloc(1, pv->interp_main + 8);
	f->interp = calloc(1, ft->interp_abandoned_visited_count + 8);
	f->ts = calloc(1, ft->tstate_heaps + PMW_MI_NKINDS * ft->heap_size);
	f->seg1 = aligned_alloc(SEG, SEG);	/* only the headers and two pages are touched */
	f->seg2 = aligned_alloc(SEG, SEG);
	assert_true(f->rt && f->interp && f->ts && f->seg1 && f->seg2);
	memset(f->seg1, 0, 4u << 16);
	memset(f->seg2, 0, 1u << 16);

	put64(f->rt, pv->interp_main, (uint64_t)(uintptr_t)f->interp);
	put64(f->interp, ft->interp_threads_head, (uint64_t)(uintptr_t)f->ts);
	put64(f->ts, ft->tstate_interp, (uint64_t)(uintptr_t)f->interp);
	for (int k = 0; k < PMW_MI_NKINDS; k++)
		heap(f, k)[ft->heap_tag] = (uint8_t)k;
	oh = heap(f, PMW_MI_OBJECT);
	put64(oh, ft->heap_page_count, 2);

	put64(f->seg1, ft->seg_slice_entries, 8);
	a = page(f, f->seg1, 1, 1, 64, 100, 40, PMW_MI_OBJECT, oh);
	b = page(f, f->seg1, 2, 1, 128, 50, 10, PMW_MI_OBJECT, oh);
	put64(oh, ft->heap_pages + 4 * 24, (uint64_t)(uintptr_t)a);	/* a queue's first */
	put64(a, ft->page_next, (uint64_t)(uintptr_t)b);
	/* page A's memory is slice 1: blocks 0 -> 1 -> 2 freed by another thread */
	lo = (uint64_t)(uintptr_t)f->seg1 + (1u << 16);
	put64(a, ft->page_xthread_free, lo | 1);	/* low bits: delayed-free flags */
	put64((uint8_t *)(uintptr_t)lo, 0, lo + 64);
	put64((uint8_t *)(uintptr_t)(lo + 64), 0, lo + 128);
	/* heap delayed free: one block of page B (slice 2) */
	put64(oh, ft->heap_delayed_free, (uint64_t)(uintptr_t)f->seg1 + (2u << 16) + 256);

	/* abandoned: slice 0 is the segment's own, then a 2-slice gc page, then free */
	put64(f->seg2, ft->seg_slice_entries, 4);
	page(f, f->seg2, 0, 1, 1, 1, 1, 0, NULL);
	page(f, f->seg2, 1, 2, 32, 50, 7, PMW_MI_GC, NULL);
	put32(slice(f, f->seg2, 3), 0, 1);
	put64(f->interp, ft->interp_abandoned, (uint64_t)(uintptr_t)f->seg2 | 5);	/* ABA tag */
	put64(f->interp, ft->interp_abandoned_count, 1);

	f->t.pid = getpid();
	f->t.pv = pv;
	f->t.ft = ft;
	f->t.free_threaded = true;
	f->t.bias_known = true;
	f->t.runtime_vaddr = (uint64_t)(uintptr_t)f->rt;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	free(f->rt);
	free(f->interp);
	free(f->ts);
	free(f->seg1);
	free(f->seg2);
	free(f);
	return 0;
}

static void check_counts(struct fake *f)
{
	struct pmw_mi_scan s;
	struct pmw_heap h;

	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 0);
	assert_int_equal(s.threads, 1);
	assert_int_equal(s.abandoned_segments, 1);
	assert_int_equal(s.pending, 3 + 1);
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 37 + 9);
	assert_int_equal(s.kind[PMW_MI_OBJECT].bytes, 37 * 64 + 9 * 128);
	assert_int_equal(s.kind[PMW_MI_OBJECT].pages, 2);
	assert_int_equal(s.kind[PMW_MI_GC].blocks, 7);
	assert_int_equal(s.kind[PMW_MI_GC].bytes, 7 * 32);
	assert_int_equal(s.abandoned.bytes, 7 * 32);
	assert_int_equal(s.kind[PMW_MI_MEM].blocks, 0);
	assert_int_equal(s.page_bytes, 4u << 16);

	assert_int_equal(pmw_mi_heap_scan(&f->t, &h), 0);
	assert_int_equal(h.live_blocks, 37 + 9 + 7);
	assert_int_equal(h.live_bytes, 37 * 64 + 9 * 128 + 7 * 32);
}

/* page headers from one copy of their segment's slice entries */
static void test_counts(void **state)
{
	check_counts(*state);
}

/* a segment whose slice_entries is unreadable: page headers read one by one */
static void test_counts_uncached(void **state)
{
	struct fake *f = *state;

	put64(f->seg1, f->ft->seg_slice_entries, 0);
	check_counts(f);
}

/*
 * Huge pages (one block > 32 MiB, a segment of its own) span more slices
 * than a segment header has entries: counted, in a heap and abandoned.
 */
static void test_huge_pages(void **state)
{
	struct fake *f = *state;
	const struct pmw_pyver_ft *ft = f->ft;
	uint8_t *oh = heap(f, PMW_MI_OBJECT), *b = slice(f, f->seg1, 2), *h;
	struct pmw_mi_scan s;

	h = page(f, f->seg1, 3, 1665, 104u << 20, 1, 1, PMW_MI_OBJECT, oh);
	put64(b, ft->page_next, (uint64_t)(uintptr_t)h);
	put64(oh, ft->heap_page_count, 3);
	page(f, f->seg2, 1, 1665, 104u << 20, 1, 1, PMW_MI_MEM, NULL);
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 0);
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 37 + 9 + 1);
	assert_int_equal(s.kind[PMW_MI_OBJECT].bytes, 37 * 64 + 9 * 128 + (104u << 20));
	assert_int_equal(s.kind[PMW_MI_MEM].blocks, 1);
	assert_int_equal(s.abandoned.bytes, 104u << 20);
	assert_int_equal(s.kind[PMW_MI_GC].blocks, 0);	/* the huge page took its slice */

	/* its block freed by another thread: too big to read whole, followed block by block */
	put64(h, ft->page_xthread_free, (uint64_t)(uintptr_t)f->seg1 + (3u << 16));
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 0);
	assert_int_equal(s.pending, 3 + 1 + 1);
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 37 + 9);
}

/* page B -> page A -> page B ...: found by the heap's page_count, the scan refused */
static void test_page_cycle(void **state)
{
	struct fake *f = *state;
	uint8_t *a = slice(f, f->seg1, 1), *b = slice(f, f->seg1, 2);
	struct pmw_mi_scan s;

	put64(b, f->ft->page_next, (uint64_t)(uintptr_t)a);
	assert_int_equal(pmw_mi_scan(&f->t, &s), -EFAULT);
	assert_true(s.kind[PMW_MI_OBJECT].pages <= 2 + 64);
}

/* a page pointer that is no slice entry, and a used count above capacity */
static void test_bad_pages(void **state)
{
	struct fake *f = *state;
	uint8_t *a = slice(f, f->seg1, 1);
	struct pmw_mi_scan s;

	put64(a, f->ft->page_next, (uint64_t)(uintptr_t)a + 8);
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 1);
	assert_int_equal(s.kind[PMW_MI_OBJECT].pages, 1);

	put32(a, f->ft->page_used, 1000);	/* > capacity: page A skipped too */
	assert_int_equal(pmw_mi_scan(&f->t, &s), -EFAULT);	/* 2 torn of 2 pages + 1 segment */
}

/* a thread-free list leaving its page; an abandoned list pointing into itself */
static void test_bad_lists(void **state)
{
	struct fake *f = *state;
	uint64_t lo = (uint64_t)(uintptr_t)f->seg1 + (1u << 16);
	struct pmw_mi_scan s;

	put64((uint8_t *)(uintptr_t)(lo + 128), 0, 0x1000);	/* third block -> elsewhere */
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 1);		/* pending unknown: page A counted whole */
	assert_int_equal(s.pending, 1);		/* page B's delayed free */
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 40 + 9);

	/* a pool list pointing into itself: bounded by the pool's count, refused */
	put64(f->seg2, f->ft->seg_abandoned_next, (uint64_t)(uintptr_t)f->seg2);
	assert_int_equal(pmw_mi_scan(&f->t, &s), -EFAULT);
	assert_true(s.abandoned_segments <= 2 * 1 + 16);
}

/*
 * The page's used count read before other threads freed more into its
 * list (or the list of a page being reused): more pending than used is a
 * torn read, never a count below zero (it was: 2^32 blocks, 256 GB).
 */
static void test_more_pending_than_used(void **state)
{
	struct fake *f = *state;
	uint8_t *a = slice(f, f->seg1, 1);
	struct pmw_mi_scan s;

	put32(a, f->ft->page_used, 2);		/* 3 blocks in its thread-free list */
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 1);
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 2 + 9);
	assert_int_equal(s.kind[PMW_MI_OBJECT].bytes, 2 * 64 + 9 * 128);
	put32(a, f->ft->page_used, 3);		/* exactly its list: all freed */
	assert_int_equal(pmw_mi_scan(&f->t, &s), 0);
	assert_int_equal(s.torn, 0);
	assert_int_equal(s.kind[PMW_MI_OBJECT].blocks, 9);
}

/* a thread state that does not point back to the interpreter */
static void test_foreign_tstate(void **state)
{
	struct fake *f = *state;
	struct pmw_mi_scan s;

	put64(f->ts, f->ft->tstate_interp, 0x1234);
	assert_int_equal(pmw_mi_scan(&f->t, &s), -EFAULT);
}

/*
 * The pages a heap walk reads (pmw_mi_pages): the object heaps' pages with
 * blocks in use, their first block where CPython's
 * _mi_segment_page_start_from_slice() puts it (3 blocks in up to 64-byte
 * blocks, 1 block in up to 512, else at the slice), free lists as read,
 * thread-free flags cleared; the same refusals as the scan.
 */
static void test_pages(void **state)
{
	struct fake *f = *state;
	uint64_t s1 = (uint64_t)(uintptr_t)f->seg1, s2 = (uint64_t)(uintptr_t)f->seg2;
	struct pmw_mi_pages mp = { 0 };
	uint8_t *a = slice(f, f->seg1, 1);

	put64(a, f->ft->page_free, s1 + (1u << 16) + 3 * 64 + 99 * 64);
	put64(a, f->ft->page_local_free, s1 + (1u << 16) + 3 * 64 + 98 * 64);
	assert_int_equal(pmw_mi_pages(&f->t, &mp), 0);
	assert_int_equal(mp.n, 3);
	assert_int_equal(mp.p[0].start, s1 + (1u << 16) + 3 * 64);
	assert_int_equal(mp.p[0].bsize, 64);
	assert_int_equal(mp.p[0].capacity, 100);
	assert_int_equal(mp.p[0].used, 40);
	assert_int_equal(mp.p[0].kind, PMW_MI_OBJECT);
	assert_int_equal(mp.p[0].free, s1 + (1u << 16) + 3 * 64 + 99 * 64);
	assert_int_equal(mp.p[0].local_free, s1 + (1u << 16) + 3 * 64 + 98 * 64);
	assert_int_equal(mp.p[0].thread_free, s1 + (1u << 16));	/* flag bits cleared */
	assert_int_equal(mp.p[1].start, s1 + (2u << 16) + 128);
	assert_int_equal(mp.p[1].thread_free, 0);
	assert_int_equal(mp.p[2].start, s2 + (1u << 16) + 3 * 32);	/* abandoned */
	assert_int_equal(mp.p[2].kind, PMW_MI_GC);
	/* blocks over 512 bytes start at their slice */
	put32(a, f->ft->page_xblock_size, 1024);
	put16(a, f->ft->page_capacity, 60);
	put16(a, f->ft->page_reserved, 60);
	assert_int_equal(pmw_mi_pages(&f->t, &mp), 0);
	assert_int_equal(mp.p[0].start, s1 + (1u << 16));
	/* a cycle: refused, no pages */
	put64(a, f->ft->page_next, (uint64_t)(uintptr_t)a);
	assert_int_equal(pmw_mi_pages(&f->t, &mp), -EFAULT);
	assert_int_equal(mp.n, 0);
	free(mp.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_uncached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_pending_than_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_tstate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
