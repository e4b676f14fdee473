// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mimalloc heaps of a free-threaded CPython, read from target memory.
 * Sources: CPython 3.13 Include/internal/pycore_mimalloc.h (heaps per thread
 * state, abandoned pool per interpreter), Objects/obmalloc.c
 * get_mimalloc_allocated_blocks() (what the interpreter itself counts),
 * Objects/mimalloc/{heap.c,segment.c,page.c} and
 * Include/internal/mimalloc/mimalloc/{types.h,internal.h} (mimalloc 2.1):
 *  - a heap's pages are in its page queues pages[0..MI_BIN_FULL], linked by
 *    page->next; page->used counts blocks in use, including those another
 *    thread freed that wait in page->xthread_free or, for a full page, in
 *    heap->thread_delayed_free (collected later by the owner);
 *  - a page header is a slice entry inside its segment's header: segments
 *    are MI_SEGMENT_SIZE-aligned, so page & ~(MI_SEGMENT_SIZE - 1) is its
 *    segment and (page - segment->slices) a multiple of sizeof(mi_slice_t);
 *  - abandoned segments (of exited threads) are linked by abandoned_next from
 *    the pool's `abandoned` (tagged pointer) and `abandoned_visited` lists; a
 *    used slice (xblock_size > 0) after the segment's own first slices is a
 *    page whose heap is its tag.
 * Every pointer is validated against these invariants; what fails is
 * skipped and counted in torn.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "mimalloc.h"
#include "util.h"

#define MAX_THREADS	100000		/* thread states followed, then it is a cycle */
#define MAX_PAGES	(1u << 22)	/* pages per scan: 256 GiB of 64 KiB pages */
#define MAX_SEGMENTS	(1u << 16)	/* abandoned segments: 2 TiB */
#define MAX_PENDING	(1u << 20)	/* delayed-free blocks followed one read at a time */
#define MAX_PAGE_READ	(4u << 20)	/* a page's memory read at once to walk its thread-free list */
#define SEG_CACHE	64		/* segments whose page headers a scan keeps (2 GiB) */
#define HUGE_BLOCK	(2ull << 30)	/* MI_HUGE_BLOCK_SIZE: xblock_size of huge pages */
#define MAX_HUGE	(1ull << 40)	/* bytes of one page: anything above is a bad read */

int pmw_mi_detect(struct pmw_target *t)
{
	const char *base = strrchr(t->path, '/');
	uint64_t ft = 0;
	char want[16];

	base = base ? base + 1 : t->path;
	t->free_threaded = false;
	t->ft = NULL;
	/* 3.13+: _Py_DebugOffsets sits at &_PyRuntime, its static initialiser in the file */
	if (t->major == 3 && t->minor >= 13 &&
	    !pmw_elf_read(&t->elf, t->runtime_vaddr + PMW_DEBUG_OFFSETS_FREE_THREADED, &ft,
			  sizeof(ft)))
		t->free_threaded = ft == 1;
	else {
		/* the ABI flag in the name: python3.13t, libpython3.13t.so.1.0 */
		snprintf(want, sizeof(want), "%d.%dt", t->major, t->minor);
		t->free_threaded = strstr(base, want) != NULL;
	}
	if (!t->free_threaded)
		return 0;
	t->ft = pmw_pyver_ft_find(t->major, t->minor);
	if (!t->ft)
		wlog("%s is a free-threaded %d.%dt: its mimalloc layout is not known "
		     "(free-threaded builds supported: 3.13t)\n", t->path, t->major, t->minor);
	return t->ft ? 0 : -EPROTONOSUPPORT;
}

static uint64_t get_u64(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t get_u32(const uint8_t *b, uint32_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint16_t get_u16(const uint8_t *b, uint32_t off)
{
	uint16_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

bool pmw_mi_obj_alive(const struct pmw_pyver_ft *ft, const uint8_t *head)
{
	const int64_t max = 1LL << 40;	/* PMW_REFCNT_MAX: more is no reference count */
	int64_t shared = (int64_t)get_u64(head, ft->ob_ref_shared);

	return (get_u32(head, ft->ob_ref_local) || shared) && shared < max && shared > -max;
}

struct scan_ctx {
	const struct pmw_target *t;
	const struct pmw_pyver_ft *ft;
	struct pmw_mi_scan *s;
	struct pmw_mi_pages *out;	/* pages of objects kept for a walk, or NULL */
	uint64_t seg_mask;		/* ~(segment_size - 1) */
	uint64_t pages;			/* pages read so far (bound) */
	uint8_t *buf;			/* MAX_PAGE_READ scratch: a page's memory */
	uint8_t *slices;		/* a segment's slice entries */
	/* the slice entries (page headers) of the segments the thread heaps' pages
	 * are in, each read once per scan: one read per segment, not per page */
	struct seg_copy {
		uint64_t seg;		/* 0: unused */
		uint64_t entries;	/* slice_entries; 0: unreadable, read pages one by one */
		uint8_t *slices;
	} segs[SEG_CACHE];
};

/* A page header's address is a slice entry of its segment: its index, or -1. */
static int64_t slice_index(const struct scan_ctx *c, uint64_t page)
{
	uint64_t seg = page & c->seg_mask, off;

	if (!page || page < seg + c->ft->seg_slices)
		return -1;
	off = page - seg - c->ft->seg_slices;
	if (off % c->ft->page_size || off / c->ft->page_size >= c->ft->max_slices)
		return -1;
	return off / c->ft->page_size;
}

/* block size of a page (huge pages: the bytes of their slices, segment.c) */
static uint64_t block_size(const struct scan_ctx *c, const uint8_t *pg)
{
	uint32_t x = get_u32(pg, c->ft->page_xblock_size);

	return x < HUGE_BLOCK ? x : (uint64_t)get_u32(pg, 0) * c->ft->slice_size;
}

/*
 * Blocks in the thread-free list of a page (head: block address, flag bits
 * cleared): walked in a local copy of the page's memory when it fits, each
 * link checked to stay inside the page. -1 if the list is inconsistent.
 */
static int64_t thread_free_count(struct scan_ctx *c, uint64_t page, const uint8_t *pg,
				 uint64_t head, uint32_t used)
{
	int64_t idx = slice_index(c, page);
	uint64_t seg = page & c->seg_mask, lo, len;
	int64_t n = 0;

	if (idx < 0)
		return -1;
	lo = seg + (uint64_t)idx * c->ft->slice_size;
	len = (uint64_t)get_u32(pg, 0) * c->ft->slice_size;	/* slice_count */
	if (!len || len > MAX_HUGE)
		return -1;
	if (len > MAX_PAGE_READ) {
		/* a large or huge page holds few blocks: follow them one read each */
		for (uint64_t b = head; b; n++) {
			if (b < lo || b + 8 > lo + len || n >= used ||
			    pmw_mem_read(c->t->pid, b, &b, sizeof(b)))
				return -1;
		}
		return n;
	}
	if (pmw_mem_read(c->t->pid, lo, c->buf, len))
		return -1;
	for (uint64_t b = head; b; n++) {
		if (b < lo || b + 8 > lo + len || n >= used)
			return -1;
		b = get_u64(c->buf, b - lo);
	}
	return n;
}

/* Keep page @page (header @pg, kind @k, blocks of @bsize) for a walk; false: no memory. */
static bool keep_page(struct scan_ctx *c, uint64_t page, const uint8_t *pg, int k, uint64_t bsize,
		      uint64_t tf)
{
	const struct pmw_pyver_ft *ft = c->ft;
	struct pmw_mi_pages *o = c->out;
	struct pmw_mi_page *p;
	uint64_t start = (page & c->seg_mask) + (uint64_t)slice_index(c, page) * ft->slice_size;

	if (pmw_grow((void **)&o->p, &o->cap, o->n + 1, sizeof(*o->p)))
		return false;
	p = &o->p[o->n++];
	/* _mi_segment_page_start_from_slice(): small blocks start a few blocks in */
	if (bsize >= 8 && bsize <= ft->start_x3_max)
		start += 3 * bsize;
	else if (bsize >= 8 && bsize <= ft->start_x1_max)
		start += bsize;
	p->start = start;
	p->free = get_u64(pg, ft->page_free);
	p->local_free = get_u64(pg, ft->page_local_free);
	p->thread_free = tf;
	p->bsize = bsize;
	p->capacity = get_u16(pg, ft->page_capacity);
	p->used = get_u32(pg, ft->page_used);
	p->kind = (uint8_t)k;
	return true;
}

/*
 * Count one page (its header @pg read from @page) into kind @k; @heap is the
 * owning heap's address (0 for an abandoned page, whose xheap is NULL).
 */
static void count_page(struct scan_ctx *c, uint64_t page, const uint8_t *pg, int k,
		       uint64_t heap, bool abandoned)
{
	const struct pmw_pyver_ft *ft = c->ft;
	uint32_t used = get_u32(pg, ft->page_used), cap = get_u16(pg, ft->page_capacity);
	uint32_t reserved = get_u16(pg, ft->page_reserved), slices = get_u32(pg, 0);
	uint64_t tf = get_u64(pg, ft->page_xthread_free) & ~3ull, bsize = block_size(c, pg);
	int64_t pending = 0;
	struct pmw_mi_count *kc = &c->s->kind[k];

	/* a huge page (one block > MI_LARGE_OBJ_SIZE_MAX) spans more slices than a
	 * segment has entries: bound it by MAX_HUGE instead */
	if (!bsize || used > cap || cap > reserved || !slices ||
	    (uint64_t)slices * ft->slice_size > MAX_HUGE ||
	    (uint64_t)used * bsize > (uint64_t)slices * ft->slice_size ||	/* must fit */
	    (heap && get_u64(pg, ft->page_xheap) != heap)) {
		c->s->torn++;	/* moved to another heap or being (re)initialised */
		return;
	}
	if (tf && used) {
		/* never more than used: the list and the count were read apart */
		pending = thread_free_count(c, page, pg, tf, used);
		if (pending < 0 || pending > used) {
			pending = 0;
			c->s->torn++;
		}
	}
	if (c->out && k != PMW_MI_MEM && used && !keep_page(c, page, pg, k, bsize, tf))
		c->s->torn++;
	used -= pending;
	c->s->pending += pending;
	c->s->page_bytes += (uint64_t)slices * ft->slice_size;
	if (!used)
		return;
	kc->blocks += used;
	kc->bytes += used * bsize;
	kc->pages++;
	if (abandoned) {
		c->s->abandoned.blocks += used;
		c->s->abandoned.bytes += used * bsize;
		c->s->abandoned.pages++;
	}
}

/*
 * heap->thread_delayed_free: blocks of full pages freed by other threads,
 * still counted in their page's used. Each found in its page for its size.
 */
static void delayed_frees(struct scan_ctx *c, uint64_t head, int k)
{
	const struct pmw_pyver_ft *ft = c->ft;
	struct pmw_mi_count *kc = &c->s->kind[k];
	uint8_t sl[128];

	for (uint64_t b = head, n = 0; b; n++) {
		uint64_t seg = b & c->seg_mask, slice, page, bsize;
		uint32_t soff;

		if (n >= MAX_PENDING || b < seg + ft->seg_slices)
			goto torn;
		slice = seg + ft->seg_slices + (b - seg) / ft->slice_size * ft->page_size;
		if (pmw_mem_read(c->t->pid, slice, sl, ft->page_size))
			goto torn;
		soff = get_u32(sl, 4);	/* slice_offset: bytes back to the page's first slice */
		page = slice - soff;
		if (soff % ft->page_size || slice_index(c, page) < 0 ||
		    (soff && pmw_mem_read(c->t->pid, page, sl, ft->page_size)))
			goto torn;
		bsize = block_size(c, sl);
		if (!bsize || !kc->blocks || kc->bytes < bsize)
			goto torn;
		kc->blocks--;
		kc->bytes -= bsize;
		c->s->pending++;
		if (pmw_mem_read(c->t->pid, b, &b, sizeof(b)))
			goto torn;
	}
	return;
torn:
	c->s->torn++;
}

/*
 * Read the page header at @page (a valid slice entry) into @pg: from the
 * copy of its segment's slice entries, made at the first page of each
 * segment; directly when the cache is full or the segment was unreadable.
 */
static int read_page(struct scan_ctx *c, uint64_t page, uint8_t *pg)
{
	const struct pmw_pyver_ft *ft = c->ft;
	uint64_t seg = page & c->seg_mask, idx = (uint64_t)slice_index(c, page);
	struct seg_copy *sc = NULL;

	for (int i = 0; i < SEG_CACHE; i++) {
		if (c->segs[i].seg == seg || !c->segs[i].seg) {
			sc = &c->segs[i];
			break;
		}
	}
	if (sc && !sc->seg) {
		uint64_t n = 0;

		sc->seg = seg;
		if (!pmw_mem_read(c->t->pid, seg + ft->seg_slice_entries, &n, sizeof(n)) &&
		    n && n <= ft->max_slices && (sc->slices = malloc(n * ft->page_size)) &&
		    !pmw_mem_read(c->t->pid, seg + ft->seg_slices, sc->slices, n * ft->page_size))
			sc->entries = n;
	}
	if (sc && idx < sc->entries) {
		memcpy(pg, sc->slices + idx * ft->page_size, ft->page_size);
		return 0;
	}
	return pmw_mem_read(c->t->pid, page, pg, ft->page_size);
}

/* The four heaps of one thread state (_PyThreadStateImpl at @ts). */
static int scan_thread(struct scan_ctx *c, uint64_t ts)
{
	const struct pmw_pyver_ft *ft = c->ft;
	size_t len = (size_t)ft->heap_size * PMW_MI_NKINDS;
	uint8_t *heaps = malloc(len), pg[128];
	int err;

	if (!heaps)
		return -ENOMEM;
	err = pmw_mem_read(c->t->pid, ts + ft->tstate_heaps, heaps, len);
	if (err) {
		free(heaps);
		return err;
	}
	for (int k = 0; k < PMW_MI_NKINDS; k++) {
		const uint8_t *h = heaps + (size_t)k * ft->heap_size;
		uint64_t haddr = ts + ft->tstate_heaps + (uint64_t)k * ft->heap_size;
		/* a heap's queues hold page_count pages: more is a cycle (or a race) */
		uint64_t left = get_u64(h, ft->heap_page_count) + 64;

		if (h[ft->heap_tag] != k) {
			/* a thread state whose mimalloc state is not initialised: all zero */
			if (get_u64(h, ft->heap_pages))
				c->s->torn++;
			continue;
		}
		for (uint32_t q = 0; q < ft->heap_nqueues; q++) {
			uint64_t page = get_u64(h, ft->heap_pages + q * 24);	/* queue.first */

			while (page) {
				if (!left) {	/* a cycle: nothing of this scan can be trusted */
					free(heaps);
					return -EFAULT;
				}
				if (++c->pages > MAX_PAGES || slice_index(c, page) < 0 ||
				    read_page(c, page, pg)) {
					c->s->torn++;
					break;
				}
				left--;
				count_page(c, page, pg, k, haddr, false);
				page = get_u64(pg, ft->page_next);
			}
		}
		delayed_frees(c, get_u64(h, ft->heap_delayed_free), k);
	}
	free(heaps);
	return 0;
}

/* One abandoned segment at @seg; returns its abandoned_next, 0 at a bad read. */
static uint64_t scan_segment(struct scan_ctx *c, uint64_t seg)
{
	const struct pmw_pyver_ft *ft = c->ft;
	uint8_t hdr[512];
	uint64_t next, entries;
	uint8_t *sl;

	if (ft->seg_slices > sizeof(hdr) || pmw_mem_read(c->t->pid, seg, hdr, ft->seg_slices))
		return 0;
	next = get_u64(hdr, ft->seg_abandoned_next);
	entries = get_u64(hdr, ft->seg_slice_entries);
	if (!entries || entries > ft->max_slices || (next & ~c->seg_mask))
		return 0;
	sl = c->slices;
	if (pmw_mem_read(c->t->pid, seg + ft->seg_slices, sl, entries * ft->page_size))
		return 0;
	c->s->abandoned_segments++;
	/* slice 0 starts the segment's own info slices: skip them (segment.c
	 * mi_slices_start_iterate); then page after page by slice_count */
	for (uint64_t i = get_u32(sl, 0); i < entries;) {
		const uint8_t *pg = sl + i * ft->page_size;
		uint32_t count = get_u32(pg, 0);
		int tag = (pg[ft->page_flags] >> 3) & 0xf;

		if (!count) {
			c->s->torn++;
			break;
		}
		/* i + count > entries: the huge page of a huge segment, its last */
		if (get_u32(pg, ft->page_xblock_size)) {	/* a used slice: a page */
			c->pages++;
			if (tag < PMW_MI_NKINDS)
				count_page(c, seg + ft->seg_slices + i * ft->page_size, pg, tag, 0, true);
			else
				c->s->torn++;
		}
		i += count;
	}
	return next ? next : 1;	/* 1: end of the list, but this segment was good */
}

/* Both lists of the abandoned pool. 0, or -EFAULT for a list longer than it can be. */
static int scan_abandoned(struct scan_ctx *c, uint64_t interp)
{
	const uint32_t heads[] = { c->ft->interp_abandoned, c->ft->interp_abandoned_visited };
	const uint32_t counts[] = { c->ft->interp_abandoned_count,
				    c->ft->interp_abandoned_visited_count };

	for (size_t l = 0; l < ARRAY_SIZE(heads); l++) {
		uint64_t seg = 0, count = 0, n = 0;

		if (pmw_mem_read(c->t->pid, interp + heads[l], &seg, sizeof(seg)) ||
		    pmw_mem_read(c->t->pid, interp + counts[l], &count, sizeof(count))) {
			c->s->torn++;
			continue;
		}
		seg &= c->seg_mask;	/* `abandoned` carries an ABA tag in its low bits */
		/* the pool's counts "may be a bit off" (types.h): more than twice is a cycle */
		while (seg > 1) {
			if (++n > MAX_SEGMENTS || n > 2 * count + 16)
				return -EFAULT;	/* a cycle */
			seg = scan_segment(c, seg);
			if (!seg) {
				c->s->torn++;
				break;
			}
		}
	}
	return 0;
}

static int scan_into(const struct pmw_target *t, struct pmw_mi_scan *s, struct pmw_mi_pages *out)
{
	struct scan_ctx c = { .t = t, .ft = t->ft, .s = s, .out = out };
	struct timespec t0, t1;
	uint64_t interp, ts = 0, link[3];
	int err = 0, n = 0;

	memset(s, 0, sizeof(*s));
	if (!t->ft)
		return -ENOENT;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	interp = pmw_py_interp(t);
	if (!interp)
		return pmw_pid_alive(t->pid) ? -EAGAIN : -ESRCH;
	c.seg_mask = ~((uint64_t)t->ft->segment_size - 1);
	c.buf = malloc(MAX_PAGE_READ);
	c.slices = malloc((size_t)t->ft->max_slices * t->ft->page_size);
	if (!c.buf || !c.slices) {
		free(c.buf);
		free(c.slices);
		return -ENOMEM;
	}
	err = pmw_mem_read(t->pid, interp + t->ft->interp_threads_head, &ts, sizeof(ts));
	/* PyThreadState { prev, next, interp, ... }: each must point back to interp */
	while (!err && ts && n++ < MAX_THREADS) {
		err = pmw_mem_read(t->pid, ts, link, sizeof(link));
		if (err || link[t->ft->tstate_interp / 8] != interp) {
			s->torn++;
			err = err ? err : -EFAULT;
			break;
		}
		err = scan_thread(&c, ts);
		s->threads++;
		ts = link[t->ft->tstate_next / 8];
	}
	if (!err)
		err = scan_abandoned(&c, interp);
	free(c.buf);
	free(c.slices);
	for (int i = 0; i < SEG_CACHE; i++)
		free(c.segs[i].slices);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->scan_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (err && !pmw_pid_alive(t->pid))
		return -ESRCH;
	if (!err && !s->threads)
		return -EAGAIN;		/* no thread state yet (or none left) */
	/* a page torn now and then is a race with its thread; many are a wrong layout
	 * (a Py_DEBUG build's mimalloc pages are bigger) and no figure at all */
	if (!err && s->torn * 8 > c.pages + s->abandoned_segments + 8)
		return -EFAULT;
	return err;
}

int pmw_mi_scan(const struct pmw_target *t, struct pmw_mi_scan *s)
{
	return scan_into(t, s, NULL);
}

int pmw_mi_pages(const struct pmw_target *t, struct pmw_mi_pages *out)
{
	struct pmw_mi_scan s;
	int err = -EFAULT;

	/* a thread state freed or a list relinked under the walk: read again */
	for (int retry = 0; err == -EFAULT && retry < 3; retry++) {
		out->n = 0;
		err = scan_into(t, &s, out);
	}
	if (err)
		out->n = 0;
	return err;
}

int pmw_mi_heap_scan(const struct pmw_target *t, struct pmw_heap *h)
{
	struct pmw_mi_scan s;
	int err = pmw_mi_scan(t, &s);

	/* a thread state freed or a list relinked under the walk: read again */
	for (int retry = 0; err == -EFAULT && retry < 2; retry++)
		err = pmw_mi_scan(t, &s);
	memset(h, 0, sizeof(*h));
	if (err)
		return err;
	for (int k = 0; k < PMW_MI_NKINDS; k++) {
		h->live_blocks += s.kind[k].blocks;
		h->live_bytes += s.kind[k].bytes;
		h->pools_used += s.kind[k].pages;
	}
	h->arena_bytes = s.page_bytes;
	h->scan_ms = s.scan_ms;
	return 0;
}
