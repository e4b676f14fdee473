// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "util.h"
#include "pmw_pymalloc.h"
#include "pyobj.h"
#include "pyver.h"
#include "walk.h"

#define CHUNK_POOLS	32	/* pools read per process_vm_readv round */
#define ITEMS_MAX	(1u << 20) /* items read per container; more: the newest only */
#define NEG_TYPES_MAX	8192 /* non-types remembered per walk */
#define WATCH_ITEMS_MAX	(1u << 16) /* items of watched containers remembered per walk (24 B each,
				    * table at most half full: <= 3 MiB per target; was 24 MiB) */
#define WATCH_NEWEST	(1u << 13) /* per watched container, its newest items only: a sample is
				    * recent, and a 1.5 M-item container grew pymemwatch's RSS by
				    * 80 MiB/min in the soak test when all of them were kept */

/* object fields: pyver.h (PMW_MA_*, PMW_SET_*, PMW_LIST_ITEMS, PMW_DEQUE_*, tuple items in
 * pv->obj.tuple_items: 24 up to 3.13, 32 from 3.14 on, after ob_hash) */

enum { PH_IDLE, PH_POOLS, PH_LARGE, PH_PAGES };

/* Bytes between an object's start and where the default build's field offsets (PMW_OB_TYPE,
 * PMW_TP_FLAGS, PMW_LIST_ITEMS...) apply: 0, or 16 on a free-threaded build (pyver.h
 * struct pmw_pyver_ft: its PyObject head is 16 bytes longer) */
static unsigned int ob_shift(const struct pmw_target *t)
{
	return t->ft ? t->ft->ob_shift : 0;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double pmw_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Does the object starting at @h have a plausible reference count above 0? */
static bool obj_alive(const struct pmw_target *t, const uint8_t *h)
{
	uint64_t rc = rd64(h);

	return t->ft ? pmw_mi_obj_alive(t->ft, h) : rc && rc < PMW_REFCNT_MAX;
}

const char *pmw_ckind_name(enum pmw_ckind k)
{
	static const char *const names[] = { "", "list", "dict", "set", "deque" };

	return (unsigned int)k < ARRAY_SIZE(names) ? names[k] : "";
}

/* ---------------------------------------------------------------- types */

static struct pmw_wtype *type_slot(struct pmw_walk *wk, uint64_t addr)
{
	size_t mask = wk->cap_types - 1, i = (addr >> 3) * 0x9E3779B97F4A7C15ULL >> 20 & mask;

	while (wk->types[i].addr && wk->types[i].addr != addr)
		i = (i + 1) & mask;
	return &wk->types[i];
}

static int types_grow(struct pmw_walk *wk)
{
	struct pmw_wtype *old = wk->types;
	size_t ocap = wk->cap_types, ncap = ocap ? ocap * 2 : 1024;

	wk->types = calloc(ncap, sizeof(*wk->types));
	if (!wk->types) {
		wk->types = old;
		return -ENOMEM;
	}
	wk->cap_types = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].addr)
			*type_slot(wk, old[i].addr) = old[i];
	free(old);
	return 0;
}

static int read_name(pid_t pid, uint64_t addr, char *buf, size_t len)
{
	memset(buf, 0, len);
	if (pmw_mem_read(pid, addr, buf, len - 1)) {
		/* the name may end just before an unmapped page */
		size_t k = 4096 - (addr & 4095);

		if (k >= len - 1 || pmw_mem_read(pid, addr, buf, k))
			return -EFAULT;
	}
	buf[len - 1] = 0;
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return -EFAULT;
	return buf[0] ? 0 : -EFAULT;
}

static const struct pmw_wtype *type_get(struct pmw_walk *wk, const struct pmw_target *t,
					uint64_t addr, int depth);

/* Is @p PyType_Type: its own type, named "type", a type subclass? */
static bool is_pytype(const struct pmw_target *t, uint64_t p)
{
	uint8_t b[PMW_TYPE_HEAD_MIN];
	char name[8];

	return !pmw_mem_read(t->pid, p + ob_shift(t), b, sizeof(b)) && rd64(b + PMW_OB_TYPE) == p &&
	       rd64(b + PMW_TP_FLAGS) & PMW_TPFLAGS_TYPE_SUBCLASS &&
	       !read_name(t->pid, rd64(b + PMW_TP_NAME), name, sizeof(name)) && !strcmp(name, "type");
}

/*
 * Validate @ty->addr as a type object: ready, sane sizes, a readable name,
 * and its type is `type` or a metaclass whose type is `type`. PyType_Type
 * is learned from the first chain that ends in a fixed point.
 */
static void type_validate(struct pmw_walk *wk, const struct pmw_target *t, uint64_t addr,
			  int depth)
{
	struct pmw_wtype v = { .addr = addr, .gen = wk->gen };
	const struct pmw_wtype *base;
	uint8_t b[PMW_TYPE_HEAD_MIN];
	uint64_t meta;

	/* nested lookups (metaclass, base) may move the table: results go in at the end */
	if (pmw_mem_read(t->pid, addr + ob_shift(t), b, sizeof(b)))
		goto out;
	meta = rd64(b + PMW_OB_TYPE);
	v.flags = rd64(b + PMW_TP_FLAGS);
	v.basicsize = (int64_t)rd64(b + PMW_TP_BASICSIZE);
	v.itemsize = (int64_t)rd64(b + PMW_TP_ITEMSIZE);
	v.base = rd64(b + PMW_TP_BASE);
	if (!pmw_type_head_ok(b))
		goto out;
	if (!wk->pytype) {
		uint64_t m = meta;

		for (int i = 0; i < 3 && pmw_pyptr_ok(m); i++) {
			uint64_t mm;

			if (pmw_mem_read(t->pid, m + ob_shift(t) + PMW_OB_TYPE, &mm, sizeof(mm)))
				goto out;
			if (mm == m) {
				if (is_pytype(t, m))
					wk->pytype = m;
				break;
			}
			m = mm;
		}
		if (!wk->pytype)
			goto out;
	}
	if (addr != wk->pytype && meta != wk->pytype) {
		const struct pmw_wtype *mt = depth < 2 ? type_get(wk, t, meta, depth + 1) : NULL;

		if (!mt || !(mt->flags & PMW_TPFLAGS_TYPE_SUBCLASS))
			goto out;
	}
	if (read_name(t->pid, rd64(b + PMW_TP_NAME), v.name, sizeof(v.name)))
		goto out;
	v.off = !t->ft ? pmw_head_off(t->pv, v.flags) :	/* free-threaded: no PyGC_Head */
		v.flags & pmw_preheader_flags(t->pv) ? t->ft->pre_header : 0;
	v.kind = v.flags & PMW_TPFLAGS_LIST_SUBCLASS ? PMW_CK_LIST :
		 v.flags & PMW_TPFLAGS_DICT_SUBCLASS ? PMW_CK_DICT : PMW_CK_NONE;
	if (!(v.flags & PMW_TPFLAGS_HEAPTYPE) && !strcmp(v.name, "set"))
		v.kind = PMW_CK_SET;
	else if (!strcmp(v.name, "collections.deque") && v.basicsize > PMW_DEQUE_MAXLEN)
		v.kind = PMW_CK_DEQUE;	/* a heap type from 3.12 on; a class's tp_name has no dot */
	v.ok = true;
	v.module = !(v.flags & PMW_TPFLAGS_HEAPTYPE) && !strcmp(v.name, "module");
	if (v.kind == PMW_CK_NONE && v.flags & PMW_TPFLAGS_HEAPTYPE && depth < 8 &&
	    pmw_pyptr_ok(v.base) && (base = type_get(wk, t, v.base, depth + 1)))
		v.kind = base->kind;
out:
	*type_slot(wk, addr) = v;
}

static const struct pmw_wtype *type_get(struct pmw_walk *wk, const struct pmw_target *t,
					uint64_t addr, int depth)
{
	struct pmw_wtype *ty;

	if (!pmw_pyptr_ok(addr))
		return NULL;
	if ((wk->ntypes + 1) * 2 > wk->cap_types && types_grow(wk))
		return NULL;
	ty = type_slot(wk, addr);
	if (ty->addr == addr && ty->gen == wk->gen)
		return ty->ok ? ty : NULL;
	if (ty->addr != addr) {
		if (wk->ntypes >= NEG_TYPES_MAX * 2)
			return NULL;	/* table full of non-types */
		ty->addr = addr;
		wk->ntypes++;
	}
	ty->gen = wk->gen;
	ty->ok = false;		/* while validating: a loop of types ends here */
	type_validate(wk, t, addr, depth);
	ty = type_slot(wk, addr);
	return ty->ok ? ty : NULL;
}

/* @addr's entry if validated in this walk and a type, else NULL: no read, no insert */
static inline const struct pmw_wtype *type_cached(struct pmw_walk *wk, uint64_t addr)
{
	const struct pmw_wtype *ty;

	if (!wk->cap_types)
		return NULL;
	ty = type_slot(wk, addr);
	return ty->addr == addr && ty->gen == wk->gen && ty->ok ? ty : NULL;
}

const struct pmw_wtype *pmw_walk_type(struct pmw_walk *wk, const struct pmw_target *t,
				      uint64_t addr)
{
	return type_get(wk, t, addr, 0);
}

/* sys.getsizeof() of an object of type @ty from its head @h (@avail bytes): pmw_obj_self_size() */
static uint64_t obj_size(const struct pmw_target *t, const struct pmw_wtype *ty, const uint8_t *h,
			 size_t avail)
{
	return pmw_obj_self_size(t->pv, ty->flags, ty->basicsize, ty->itemsize, h, avail);
}

/*
 * sys.getsizeof() of a free-threaded object of type @ty from its fields at the default build's
 * offsets (@v, @avail bytes): obj_size() less the default build's GC header, plus the
 * pre-header of managed dict/weakref types (16, no PyGC_Head). An int's size counts from
 * PMW_LONG_DIGITS, the default build's (16 short); a str's from pv->ascii_data, the target's own
 * (_Py_DebugOffsets), but pv->compact_data is the version table's on 3.13 (16 short for
 * non-ASCII): a lower bound there. UINT64_MAX for a bad read.
 */
static uint64_t ft_obj_size(const struct pmw_target *t, const struct pmw_wtype *ty,
			    const uint8_t *v, size_t avail)
{
	uint64_t sz = obj_size(t, ty, v, avail);

	if (sz == UINT64_MAX)
		return sz;
	sz -= pmw_head_off(t->pv, ty->flags);
	if (ty->flags & PMW_TPFLAGS_LONG_SUBCLASS)
		sz += t->ft->ob_shift;
	return sz + (ty->flags & pmw_preheader_flags(t->pv) ? t->ft->pre_header : 0);
}

/* ---------------------------------------------------------------- watched items */

static size_t item_hash(uint64_t p, size_t cap)
{
	return (p >> 4) * 0x9E3779B97F4A7C15ULL >> 20 & (cap - 1);
}

/* @item of @container at insertion position @index of @total (PMW_NO_INDEX: sets) */
static void owner_add(struct pmw_walk *wk, uint64_t item, uint64_t container, uint64_t index,
		      uint64_t total)
{
	size_t i;

	if (!pmw_pyptr_ok(item) || wk->nitems >= WATCH_ITEMS_MAX)
		return;
	if (index != PMW_NO_INDEX && index + WATCH_NEWEST < total)
		return;
	if ((wk->nitems + 1) * 2 > wk->cap_items) {
		size_t ocap = wk->cap_items, ncap = ocap ? ocap * 2 : 4096;
		struct pmw_item_owner *old = wk->items, *n = calloc(ncap, sizeof(*n));

		if (!n)
			return;
		for (size_t k = 0; k < ocap; k++) {
			if (!old[k].item)
				continue;
			for (i = item_hash(old[k].item, ncap); n[i].item; i = (i + 1) & (ncap - 1))
				;
			n[i] = old[k];
		}
		free(old);
		wk->items = n;
		wk->cap_items = ncap;
	}
	for (i = item_hash(item, wk->cap_items); wk->items[i].item; i = (i + 1) & (wk->cap_items - 1))
		if (wk->items[i].item == item)
			return;
	wk->items[i].item = item;
	wk->items[i].container = container;
	wk->items[i].index = index < PMW_NO_INDEX ? index : PMW_NO_INDEX;
	wk->nitems++;
}

const struct pmw_item_owner *pmw_walk_item_owner(const struct pmw_walk *wk, uint64_t item)
{
	if (!wk->cap_ditems || !item)
		return NULL;
	for (size_t i = item_hash(item, wk->cap_ditems); wk->ditems[i].item;
	     i = (i + 1) & (wk->cap_ditems - 1))
		if (wk->ditems[i].item == item)
			return &wk->ditems[i];
	return NULL;
}

#define WANT_BITS	(1u << 16)	/* bits of the want_sample filter (8 KiB) */

static inline size_t want_bit(uint64_t p)
{
	return (p >> 4) * 0x9E3779B97F4A7C15ULL >> 48;
}

/* The parents of want_sample's containers start anew: an empty table, the filter built. */
static int parents_start(struct pmw_walk *wk)
{
	free(wk->want_parent);
	wk->want_parent = NULL;
	if (!wk->nwant_sample)
		return 0;
	if (!wk->want_bits && !(wk->want_bits = malloc(WANT_BITS / 8)))
		return -ENOMEM;
	if (!(wk->want_parent = calloc(wk->nwant_sample, sizeof(*wk->want_parent))))
		return -ENOMEM;
	memset(wk->want_bits, 0, WANT_BITS / 8);
	for (int i = 0; i < wk->nwant_sample; i++)
		wk->want_bits[want_bit(wk->want_sample[i]) / 64] |= 1ULL << (want_bit(wk->want_sample[i]) % 64);
	return 0;
}

/* @item met in container @parent: its parent, if it is one of want_sample (the first met) */
static inline void parent_note(struct pmw_walk *wk, uint64_t item, uint64_t parent)
{
	size_t b = want_bit(item);
	const uint64_t *hit;

	if (!wk->want_parent || !(wk->want_bits[b / 64] >> (b % 64) & 1))
		return;
	hit = bsearch(&item, wk->want_sample, wk->nwant_sample, sizeof(item), pmw_cmp_u64);
	if (hit && !wk->want_parent[hit - wk->want_sample])
		wk->want_parent[hit - wk->want_sample] = parent;
}

uint64_t pmw_walk_parent(const struct pmw_walk *wk, uint64_t addr)
{
	const uint64_t *hit;

	if (!wk->want_parent || !wk->nwant_sample)
		return 0;
	hit = bsearch(&addr, wk->want_sample, wk->nwant_sample, sizeof(addr), pmw_cmp_u64);
	return hit ? wk->want_parent[hit - wk->want_sample] : 0;
}

static bool watched(const struct pmw_walk *wk, uint64_t container)
{
	return wk->nwatch && bsearch(&container, wk->watch, wk->nwatch, sizeof(uint64_t), pmw_cmp_u64);
}

/* ---------------------------------------------------------------- arenas */

static size_t frame_slot(const struct pmw_walk *wk, uint64_t key)
{
	size_t mask = wk->cap_frames - 1, i = key * 0x9E3779B97F4A7C15ULL >> 24 & mask;

	while (wk->frames[i].frame && wk->frames[i].frame != key)
		i = (i + 1) & mask;
	return i;
}

static struct pmw_wframe *frame_get(struct pmw_walk *wk, uint64_t key, uint32_t fsize)
{
	struct pmw_wframe *f = &wk->frames[frame_slot(wk, key)];

	if (!f->frame)
		*f = (struct pmw_wframe){ .frame = key, .lo_end = 0, .hi_start = fsize };
	return f;
}

/*
 * The arenas of this walk by frame of arena_size bytes (a power of two: 256 KiB
 * to 3.9, 1 MiB from 3.10, Objects/obmalloc.c ARENA_BITS): an arena covers the
 * end of one frame and the start of the next, so a frame meets at most two.
 * One hashed look-up per pointer instead of a binary search over the arenas.
 */
static void frames_build(struct pmw_walk *wk)
{
	uint32_t fsize = wk->hp.arena_size;
	size_t cap = 64;

	wk->fshift = 0;
	if (!fsize || fsize & (fsize - 1) || fsize > (1u << 30))
		return;
	while (cap < wk->hp.narenas * 4)
		cap *= 2;
	if (cap > wk->cap_frames) {
		free(wk->frames);
		wk->frames = malloc(cap * sizeof(*wk->frames));
		wk->cap_frames = wk->frames ? cap : 0;
		if (!wk->frames)
			return;
	}
	memset(wk->frames, 0, wk->cap_frames * sizeof(*wk->frames));
	wk->fshift = __builtin_ctz(fsize);
	for (size_t i = 0; i < wk->hp.narenas; i++) {
		uint64_t a = wk->hp.arenas[i], key = (a >> wk->fshift) + 1;
		uint32_t off = a & (fsize - 1);

		if (!off) {
			frame_get(wk, key, fsize)->lo_end = fsize;
			continue;
		}
		frame_get(wk, key, fsize)->hi_start = off;
		frame_get(wk, key + 1, fsize)->lo_end = off;
	}
}

/* Is @p inside one of this walk's arenas (pmw_heap_in_arena, faster)? */
static bool in_arena(const struct pmw_walk *wk, uint64_t p)
{
	const struct pmw_wframe *f;
	uint32_t off;

	if (!wk->fshift)
		return pmw_heap_in_arena(&wk->hp, p);
	f = &wk->frames[frame_slot(wk, (p >> wk->fshift) + 1)];
	if (!f->frame)
		return false;
	off = p & ((1ULL << wk->fshift) - 1);
	return off < f->lo_end || off >= f->hi_start;
}

/* ---------------------------------------------------------------- large objects */

/*
 * The large-object set is bounded (LARGE_SLOTS, 4 MiB): past half of it, the
 * set keeps only the addresses whose hash has its top large_lvl bits zero (a
 * sample of 1 in 2^large_lvl that still deduplicates, since an address is
 * always in or always out), and walk_large counts each sampled one 2^large_lvl
 * times. Exact up to 256 k distinct objects over 512 B, estimated past them.
 */
#define LARGE_SLOTS	(1u << 19)
#define LARGE_HASH(p)	(((p) >> 4) * 0x9E3779B97F4A7C15ULL)

static bool large_in(const struct pmw_walk *wk, uint64_t p)
{
	return !wk->large_lvl || !(LARGE_HASH(p) >> (64 - wk->large_lvl));
}

static void large_put(uint64_t *set, size_t cap, uint64_t p)
{
	size_t i;

	for (i = LARGE_HASH(p) >> 20 & (cap - 1); set[i]; i = (i + 1) & (cap - 1))
		;
	set[i] = p;
}

/* Room for one more: doubled, or at LARGE_SLOTS thinned to half the sample. false: none. */
static bool large_room(struct pmw_walk *wk)
{
	size_t ocap = wk->cap_large, ncap = ocap ? ocap * 2 : 4096, n = 0;
	uint64_t *old = wk->large, *keep;

	if (ocap >= LARGE_SLOTS) {
		if (wk->large_lvl >= 32 || !(keep = malloc(wk->nlarge * sizeof(*keep))))
			return false;
		wk->large_lvl++;
		for (size_t k = 0; k < ocap; k++)
			if (old[k] && large_in(wk, old[k]))
				keep[n++] = old[k];
		memset(old, 0, ocap * sizeof(*old));
		for (size_t k = 0; k < n; k++)
			large_put(old, ocap, keep[k]);
		wk->nlarge = n;
		free(keep);
		return true;
	}
	if (!(wk->large = calloc(ncap, sizeof(*wk->large)))) {
		wk->large = old;
		return false;
	}
	wk->cap_large = ncap;
	for (size_t k = 0; k < ocap; k++)
		if (old[k])
			large_put(wk->large, ncap, old[k]);
	free(old);
	return true;
}

static void large_add(struct pmw_walk *wk, uint64_t p)
{
	size_t mask, i;

	/* free-threaded: objects of every size are in the mimalloc pages walked */
	if (wk->ft || !pmw_pyptr_ok(p) || !large_in(wk, p) || in_arena(wk, p))
		return;
	if ((wk->nlarge + 1) * 2 > wk->cap_large && (!large_room(wk) || !large_in(wk, p)))
		return;
	mask = wk->cap_large - 1;
	for (i = LARGE_HASH(p) >> 20 & mask; wk->large[i]; i = (i + 1) & mask)
		if (wk->large[i] == p)
			return;
	wk->large[i] = p;
	wk->nlarge++;
}

/* pmw_mem_gather, its CPU time counted in copy_s */
static ssize_t walk_gather(struct pmw_walk *wk, pid_t pid, const uint64_t *addrs,
			   const size_t *lens, size_t n, uint8_t *buf, bool *ok)
{
	double c0 = pmw_cpu_s();
	ssize_t got = pmw_mem_gather(pid, addrs, lens, n, buf, ok);

	wk->cur.copy_s += pmw_cpu_s() - c0;
	return got;
}

int pmw_walk_objects(struct pmw_walk *wk, const struct pmw_target *t, const uint64_t *objs, int n,
		     const struct pmw_wtype **types, uint64_t *sizes)
{
	size_t *lens = malloc((n ? n : 1) * sizeof(*lens));
	bool *ok = calloc(n ? n : 1, sizeof(*ok));
	unsigned int sh = ob_shift(t), len = 48 + sh;	/* a free-threaded head: 16 more */
	uint8_t *buf = malloc((size_t)(n ? n : 1) * len);
	int found = 0;

	if (!lens || !ok || !buf) {
		free(lens);
		free(ok);
		free(buf);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		lens[i] = len;
	if (walk_gather(wk, t->pid, objs, lens, n, buf, ok) < 0)
		memset(ok, 0, n * sizeof(*ok));
	wk->cur.bytes_read += (uint64_t)n * len;
	/* every type validated (the table may grow and move) before any pointer into it is kept */
	for (int i = 0; i < n; i++) {
		const uint8_t *h = buf + (size_t)i * len + sh;

		if (ok[i] && obj_alive(t, h - sh))
			type_get(wk, t, rd64(h + PMW_OB_TYPE), 0);
	}
	for (int i = 0; i < n; i++) {
		const uint8_t *h = buf + (size_t)i * len + sh;	/* fields at their default offsets */

		types[i] = NULL;
		sizes[i] = 0;
		if (!ok[i] || !obj_alive(t, h - sh))
			continue;
		types[i] = type_get(wk, t, rd64(h + PMW_OB_TYPE), 0);
		if (types[i]) {
			sizes[i] = t->ft ? ft_obj_size(t, types[i], h, 48) : obj_size(t, types[i], h, 48);
			found++;
		}
	}
	free(lens);
	free(ok);
	free(buf);
	return found;
}

/* Count the candidates over 512 B (libc blocks held by containers) into the census. */
static int walk_large(struct pmw_walk *wk, const struct pmw_target *t)
{
	uint64_t *objs = malloc((wk->nlarge ? wk->nlarge : 1) * 2 * sizeof(*objs)); /* + types */
	const struct pmw_wtype **types = malloc((wk->nlarge ? wk->nlarge : 1) * sizeof(*types));
	uint64_t scale = 1ULL << wk->large_lvl;
	uint64_t *sizes = malloc((wk->nlarge ? wk->nlarge : 1) * sizeof(*sizes));
	int n = 0;

	if (!objs || !types || !sizes) {
		free(objs);
		free(types);
		free(sizes);
		return -ENOMEM;
	}
	for (size_t i = 0; i < wk->cap_large; i++)
		if (wk->large[i])
			objs[n++] = wk->large[i];
	pmw_walk_objects(wk, t, objs, n, types, sizes);
	/* the type addresses (in objs, read), before the hook runs: it may grow the table */
	for (int i = 0; i < n; i++)
		objs[n + i] = types[i] && sizes[i] > PMW_LARGE_MIN ? types[i]->addr : 0;
	for (int i = 0; i < n; i++) {
		struct pmw_wtype *ty;

		if (!objs[n + i])
			continue;	/* static objects (None, small ints) and raw blocks */
		ty = type_slot(wk, objs[n + i]);
		ty->objects += scale;	/* each sampled one stands for 2^large_lvl */
		ty->bytes += sizes[i] * scale;
		wk->cur.large_objects += scale;
		wk->cur.large_bytes += sizes[i] * scale;
		wk->cur.objects += scale;
		if (wk->on_object)	/* not in a pool: the hook reads what it needs */
			wk->on_object(wk->on_object_arg, ty, objs[i], NULL, 0, sizes[i]);
	}
	free(objs);
	free(types);
	free(sizes);
	return 0;
}

/* ---------------------------------------------------------------- containers */

/* a container met in the pools of the current chunk, waiting for its items */
struct pending {
	uint64_t addr, type, len, maxlen;
	uint64_t a, b;		/* list: ob_item; dict: ma_keys, ma_values; set: table, mask; deque: right, left */
	uint64_t lindex, rindex;
	uint8_t kind;
};

struct chunk {
	struct pending *p;
	int n, cap;
};

static void note_container(struct chunk *c, const struct pmw_wtype *ty, uint64_t addr,
			   const uint8_t *o, uint64_t avail)
{
	struct pending *p;

	static const uint8_t need[] = { [PMW_CK_LIST] = PMW_LIST_ITEMS + 8, [PMW_CK_DICT] = PMW_MA_VALUES + 8,
					[PMW_CK_SET] = PMW_SET_TABLE + 8, [PMW_CK_DEQUE] = PMW_DEQUE_MAXLEN + 8 };

	if (ty->kind >= ARRAY_SIZE(need) || avail < need[ty->kind])
		return;
	if (c->n == c->cap) {
		int ncap = c->cap ? c->cap * 2 : 256;
		struct pending *np = realloc(c->p, ncap * sizeof(*np));

		if (!np)
			return;
		c->p = np;
		c->cap = ncap;
	}
	p = &c->p[c->n];
	memset(p, 0, sizeof(*p));
	p->addr = addr;
	p->type = ty->addr;
	p->kind = ty->kind;
	switch (ty->kind) {
	case PMW_CK_LIST:
		p->len = rd64(o + PMW_OB_SIZE);
		p->a = rd64(o + PMW_LIST_ITEMS);
		break;
	case PMW_CK_DICT:
		p->len = rd64(o + PMW_MA_USED);
		p->a = rd64(o + PMW_MA_KEYS);
		p->b = rd64(o + PMW_MA_VALUES);
		break;
	case PMW_CK_SET:
		p->len = rd64(o + PMW_SET_USED);
		p->a = rd64(o + PMW_SET_TABLE);
		p->b = rd64(o + PMW_SET_MASK);
		break;
	case PMW_CK_DEQUE:
		p->len = rd64(o + PMW_OB_SIZE);
		p->a = rd64(o + PMW_DEQUE_RIGHT);
		p->b = rd64(o + PMW_DEQUE_LEFT);
		p->lindex = rd64(o + PMW_DEQUE_LINDEX);
		p->rindex = rd64(o + PMW_DEQUE_RINDEX);
		p->maxlen = (int64_t)rd64(o + PMW_DEQUE_MAXLEN) > 0 ? rd64(o + PMW_DEQUE_MAXLEN) : 0;
		break;
	default:
		return;
	}
	if (p->len && p->len < (1ULL << 40))
		c->n++;
}

static void keep_sample(struct pmw_walk *wk, struct pmw_walk_container *c, uint64_t item)
{
	uint64_t *s;

	if (!pmw_pyptr_ok(item) || c->sample_at == PMW_NO_SAMPLE)
		return;
	s = wk->samples + (size_t)c->sample_at * PMW_WALK_SAMPLE;
	if (c->nsample == PMW_WALK_SAMPLE) {
		memmove(s, s + 1, sizeof(s[0]) * (PMW_WALK_SAMPLE - 1));
		c->nsample--;
	}
	s[c->nsample++] = item;
}

/* Room for the newest items of the container at @addr if the caller wants them: its index. */
static uint32_t sample_slot(struct pmw_walk *wk, uint64_t addr)
{
	if (!wk->sample_all && (!wk->nwant_sample ||
				!bsearch(&addr, wk->want_sample, wk->nwant_sample, sizeof(addr), pmw_cmp_u64)))
		return PMW_NO_SAMPLE;
	if (wk->nsamples == wk->cap_samples) {
		uint32_t ncap = wk->cap_samples ? wk->cap_samples * 2 : 64;
		uint64_t *ns = ncap < wk->cap_samples ? NULL :
			       realloc(wk->samples, (size_t)ncap * PMW_WALK_SAMPLE * sizeof(*ns));

		if (!ns)
			return PMW_NO_SAMPLE;
		wk->samples = ns;
		wk->cap_samples = ncap;
	}
	return wk->nsamples++;
}

const uint64_t *pmw_walk_sample(const struct pmw_walk *wk, const struct pmw_walk_container *c)
{
	return c->sample_at == PMW_NO_SAMPLE || !wk->dsamples ? NULL :
	       wk->dsamples + (size_t)c->sample_at * PMW_WALK_SAMPLE;
}

static void conts_prune(struct pmw_walk *wk, const struct pmw_target *t);

/* log2 of a length: the buckets the longest containers are kept by (containers.c's too) */
static int len_log2(uint64_t len)
{
	return len ? 63 - __builtin_clzll(len) : 0;
}

static bool in_u64(const uint64_t *a, size_t n, uint64_t v)
{
	return n && bsearch(&v, a, n, sizeof(v), pmw_cmp_u64);
}

/* kept whatever its length: followed by the caller, or a module global (as known so far) */
static bool cont_kept(const struct pmw_walk *wk, uint64_t addr)
{
	return in_u64(wk->known, wk->nknown, addr) ||
	       in_u64(wk->keep_globals, wk->nkeep_globals, addr);
}

static struct pmw_walk_container *cont_new(struct pmw_walk *wk, const struct pmw_target *t,
					   const struct pending *p)
{
	struct pmw_walk_container *c;

	if (p->len < PMW_WALK_MIN_LEN)
		return NULL;
	if (wk->keep_new && len_log2(p->len) < wk->cut && !cont_kept(wk, p->addr)) {
		wk->cur.containers_skipped++;
		return NULL;
	}
	/* kept by a prune: <= keep_new + nknown + nkeep_globals, so prunes are keep_new / 4
	 * apart (keep_new apart, the list of a soak's leaking target reached 52 k entries, 2.5
	 * MiB of the spare touched, only after 5 minutes: issue 18 point 4) */
	if (wk->keep_new && (size_t)wk->nconts >= wk->keep_new + wk->keep_new / 4 + wk->nknown +
						  wk->nkeep_globals)
		conts_prune(wk, t);
	if (wk->nconts >= PMW_WALK_CONTS_MAX) {
		wk->cur.containers_skipped++;
		return NULL;
	}
	if (wk->nconts == wk->cap_conts) {
		int ncap = wk->cap_conts ? wk->cap_conts * 2 : 1024;
		struct pmw_walk_container *nc = realloc(wk->conts, ncap * sizeof(*nc));

		if (!nc)
			return NULL;
		wk->conts = nc;
		wk->cap_conts = ncap;
	}
	c = &wk->conts[wk->nconts++];
	memset(c, 0, sizeof(*c));
	c->addr = p->addr;
	c->type = p->type;
	c->len = p->len;
	c->kind = p->kind;
	c->maxlen = p->maxlen;
	c->sample_at = sample_slot(wk, p->addr);
	return c;
}

/* one read of the chunk's second round */
struct want {
	uint64_t addr;
	size_t len;
	int pi;			/* pending index */
	unsigned int esz, koff;	/* dict entries: entry size, key offset (pmw_dict_keys) */
};

static int want_add(struct want **w, int *n, int *cap, uint64_t addr, size_t len, int pi)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 256;
		struct want *nw = realloc(*w, ncap * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		*w = nw;
		*cap = ncap;
	}
	(*w)[*n].addr = addr;
	(*w)[*n].len = len;
	(*w)[(*n)++].pi = pi;
	return 0;
}

/* Read @n wants; returns the buffer (offsets in order) and their @ok flags, or NULL. */
static uint8_t *want_read(struct pmw_walk *wk, const struct pmw_target *t, const struct want *w,
			  int n, bool **okp)
{
	uint64_t *addrs = malloc((n ? n : 1) * sizeof(*addrs));
	size_t *lens = malloc((n ? n : 1) * sizeof(*lens)), total = 0;
	bool *ok = calloc(n ? n : 1, sizeof(*ok));
	uint8_t *buf;

	for (int i = 0; i < n && addrs && lens; i++) {
		addrs[i] = w[i].addr;
		lens[i] = w[i].len;
		total += w[i].len;
	}
	buf = malloc(total ? total : 1);
	if (!addrs || !lens || !ok || !buf || walk_gather(wk, t->pid, addrs, lens, n, buf, ok) < 0) {
		free(buf);
		free(ok);
		buf = NULL;
		ok = NULL;
	}
	for (int i = 0; i < n && ok; i++)
		wk->cur.torn += !ok[i];
	wk->cur.bytes_read += total;
	free(addrs);
	free(lens);
	*okp = ok;
	return buf;
}

struct deque_ctx {
	struct pmw_walk *wk;
	const struct pmw_target *t;
	const struct pending *p;
};

static int deque_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct deque_ctx *d = ctx;

	d->wk->cur.bytes_read += len;
	return pmw_mem_read(d->t->pid, addr, buf, len);
}

static int deque_owner(void *ctx, uint64_t pos, uint64_t item, uint64_t slot)
{
	struct deque_ctx *d = ctx;

	(void)slot;
	owner_add(d->wk, item, d->p->addr, pos, d->p->len);
	return 0;
}

/* ---------------------------------------------------------------- module globals */

#define MODULES_MAX	8192	/* modules whose globals are read per walk */

static void module_add(struct pmw_walk *wk, uint64_t md_dict)
{
	if (!pmw_pyptr_ok(md_dict) || wk->nmodules >= MODULES_MAX ||
	    pmw_grow((void **)&wk->modules, &wk->cap_modules, wk->nmodules + 1, sizeof(*wk->modules)))
		return;
	wk->modules[wk->nmodules++] = md_dict;
}

/* Round 2 of walk_globals: the keys headers read at @buf become reads of their entries. */
static void globals_entries(const struct pmw_target *t, const struct want *w, int nw,
			    const uint8_t *buf, const bool *ok, struct want **w2, int *nw2, int *cw2)
{
	size_t off = 0;

	for (int k = 0; k < nw; off += w[k++].len) {
		struct pmw_dict_keys dk;

		if (ok[k] && !pmw_dict_keys_parse(t->pv, w[k].addr, buf + off, &dk) && dk.nentries &&
		    dk.nentries < ITEMS_MAX && !want_add(w2, nw2, cw2, dk.entries,
							 dk.nentries * dk.esize, k)) {
			(*w2)[*nw2 - 1].esz = dk.esize;
			(*w2)[*nw2 - 1].koff = dk.val_off;
		}
	}
}

/*
 * Module globals: the values of every module's __dict__ met in this walk
 * (PyModuleObject.md_dict; combined tables). The containers among them are
 * flagged `global`: a module-level list or dict is what leaks most often,
 * and it is followed whatever its length. Returns the sorted values in
 * @*gp (NULL none) and their count.
 */
static size_t walk_globals(struct pmw_walk *wk, const struct pmw_target *t, const uint64_t *mods,
			   size_t nmods, uint64_t **gp)
{
	struct want *w = NULL, *w2 = NULL;
	int nw = 0, cw = 0, nw2 = 0, cw2 = 0;
	uint8_t *buf = NULL, *buf2 = NULL;
	bool *ok = NULL, *ok2 = NULL;
	uint64_t *g = NULL;
	size_t ng = 0, cg = 0, off = 0;

	for (size_t i = 0; i < nmods; i++)	/* their dicts: ma_keys, ma_values */
		want_add(&w, &nw, &cw, mods[i] + ob_shift(t), PMW_MA_VALUES + 8, (int)i);
	buf = want_read(wk, t, w, nw, &ok);
	for (int k = 0; buf && k < nw; k++) {
		const uint8_t *d = buf + (size_t)k * (PMW_MA_VALUES + 8);

		w[k].addr = ok[k] && !rd64(d + PMW_MA_VALUES) ? rd64(d + PMW_MA_KEYS) : 0;
		w[k].len = PMW_DICT_KEYS_HEAD;
	}
	free(buf);
	free(ok);
	buf = NULL;
	ok = NULL;
	for (int k = 0; k < nw; k++)	/* the keys objects: split tables (0) dropped */
		if (!pmw_pyptr_ok(w[k].addr))
			w[k--] = w[--nw];
	buf = want_read(wk, t, w, nw, &ok);
	if (buf)
		globals_entries(t, w, nw, buf, ok, &w2, &nw2, &cw2);
	buf2 = want_read(wk, t, w2, nw2, &ok2);
	for (int k = 0; buf2 && k < nw2; off += w2[k++].len)
		for (size_t e = 0; ok2[k] && e + w2[k].esz <= w2[k].len; e += w2[k].esz) {
			uint64_t v = rd64(buf2 + off + e + w2[k].koff);

			if (pmw_pyptr_ok(v) && !pmw_grow((void **)&g, &cg, ng + 1, sizeof(*g)))
				g[ng++] = v;
		}
	if (ng)
		qsort(g, ng, sizeof(*g), pmw_cmp_u64);
	free(w);
	free(w2);
	free(buf);
	free(buf2);
	free(ok);
	free(ok2);
	*gp = g;
	return ng;
}

/* Sort @a and drop repeats; returns the count left. */
static size_t uniq_u64(uint64_t *a, size_t n)
{
	size_t k = 0;

	if (n)
		qsort(a, n, sizeof(*a), pmw_cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!k || a[k - 1] != a[i])
			a[k++] = a[i];
	return k;
}

/* Flag this walk's containers that are module globals; keep its modules for the next prunes. */
static void flag_globals(struct pmw_walk *wk, const struct pmw_target *t)
{
	uint64_t *g;
	size_t ng = walk_globals(wk, t, wk->modules, wk->nmodules, &g);

	for (int i = 0; i < wk->nconts; i++)	/* also clears conts_prune's marks */
		wk->conts[i].global = in_u64(g, ng, wk->conts[i].addr);
	free(g);
	free(wk->prev_modules);
	wk->prev_modules = wk->modules;
	wk->nprev_modules = uniq_u64(wk->modules, wk->nmodules);
	wk->modules = NULL;
	wk->nmodules = wk->cap_modules = 0;
}

/*
 * The module globals known so far (the last walk's modules and this one's met so far, so
 * that a short module-level list is not dropped for its length), for conts_prune only: a
 * module freed since may give wrong ones, which are only kept, not flagged.
 */
static void prune_globals(struct pmw_walk *wk, const struct pmw_target *t)
{
	size_t n = wk->nprev_modules + wk->nmodules;
	uint64_t *m;

	if (wk->keep_globals && wk->globals_at == wk->nmodules)
		return;		/* no module met since */
	m = malloc((n ? n : 1) * sizeof(*m));
	if (!m)
		return;		/* the last set stays */
	wk->globals_at = wk->nmodules;
	if (wk->nprev_modules)
		memcpy(m, wk->prev_modules, wk->nprev_modules * sizeof(*m));
	if (wk->nmodules)
		memcpy(m + wk->nprev_modules, wk->modules, wk->nmodules * sizeof(*m));
	n = uniq_u64(m, n);
	free(wk->keep_globals);
	wk->nkeep_globals = walk_globals(wk, t, m, n, &wk->keep_globals);
	free(m);
}

/*
 * Bound the container list (wk->keep_new set): keep the known ones and module globals, and
 * of the others the keep_new longest by log2 of len (list order within the last bucket); the
 * shorter ones met later in this walk are dropped at once (wk->cut). The `global` field marks
 * the kept ones meanwhile.
 */
static void conts_prune(struct pmw_walk *wk, const struct pmw_target *t)
{
	size_t count[64] = { 0 }, above = 0, room;
	int b = 63, k = 0;

	prune_globals(wk, t);
	for (int i = 0; i < wk->nconts; i++) {
		struct pmw_walk_container *c = &wk->conts[i];

		c->global = cont_kept(wk, c->addr);
		if (!c->global)
			count[len_log2(c->len)]++;
	}
	while (b > 0 && above + count[b] < wk->keep_new)
		above += count[b--];
	room = wk->keep_new > above ? wk->keep_new - above : 0;
	for (int i = 0; i < wk->nconts; i++) {
		const struct pmw_walk_container *c = &wk->conts[i];
		int lb = len_log2(c->len);

		if (c->global || lb > b || (lb == b && room && room--))
			wk->conts[k++] = *c;
	}
	wk->cur.containers_skipped += wk->nconts - k;
	wk->nconts = k;
	wk->cut = b;
}

/* Every item of a watched deque, one read per block of 64 (pmw_deque_each). */
static void deque_items(struct pmw_walk *wk, const struct pmw_target *t, const struct pending *p)
{
	struct deque_ctx d = { wk, t, p };

	if (pmw_deque_each(deque_read, &d, p->b, p->lindex, p->len, deque_owner, &d) < 0)
		wk->cur.torn++;
}

/* Round 1's reads: list item arrays, set tables, deque right blocks, dict keys headers. */
static void items_plan(const struct chunk *c, struct want **w, int *nw, int *cw)
{
	for (int i = 0; i < c->n; i++) {
		const struct pending *p = &c->p[i];
		uint64_t n = p->len < ITEMS_MAX ? p->len : ITEMS_MAX;

		switch (p->kind) {
		case PMW_CK_LIST:
			if (pmw_pyptr_ok(p->a))
				want_add(w, nw, cw, p->a + (p->len - n) * 8, n * 8, i);
			break;
		case PMW_CK_SET:
			if (pmw_pyptr_ok(p->a) && p->b < ITEMS_MAX * 2)
				want_add(w, nw, cw, p->a, (p->b + 1) * 16, i);
			break;
		case PMW_CK_DEQUE:
			if (pmw_pyptr_ok(p->a) && p->rindex < PMW_DEQUE_BLOCKLEN)
				want_add(w, nw, cw, p->a + 8, (p->rindex + 1) * 8, i);
			break;
		case PMW_CK_DICT:
			if (pmw_pyptr_ok(p->a) && !p->b)
				want_add(w, nw, cw, p->a, PMW_DICT_KEYS_HEAD, i);
			break;
		}
	}
}

/* The items of list, set or deque @p read at @b (@len bytes): candidates, owners, samples. */
static void seq_items(struct pmw_walk *wk, const struct pmw_target *t, const struct pending *p,
		      const uint8_t *b, size_t len)
{
	struct pmw_walk_container *ct = cont_new(wk, t, p);
	bool watch = watched(wk, p->addr);

	if (watch && p->kind == PMW_CK_DEQUE)
		deque_items(wk, t, p);
	if (p->kind == PMW_CK_SET) {
		for (size_t e = 0; e < len; e += 16) {
			large_add(wk, rd64(b + e));
			if (watch)
				owner_add(wk, rd64(b + e), p->addr, PMW_NO_INDEX, 0);
			if (ct)
				keep_sample(wk, ct, rd64(b + e));
		}
		return;
	}
	for (size_t e = 0; e < len; e += 8) {
		large_add(wk, rd64(b + e));
		if (watch && p->kind == PMW_CK_LIST)	/* deques: deque_items() */
			owner_add(wk, rd64(b + e), p->addr, p->len - len / 8 + e / 8, p->len);
		if (p->kind == PMW_CK_LIST)
			parent_note(wk, rd64(b + e), p->addr);
		if (ct && e + 8 * PMW_WALK_SAMPLE >= len)
			keep_sample(wk, ct, rd64(b + e));
	}
	if (ct)
		ct->fp = p->kind == PMW_CK_DEQUE ? p->b : p->len <= ITEMS_MAX ? rd64(b) : 0;
}

/* The entries of dict @p read at @b (@len bytes, entries of @esz, key at @koff, value after). */
static void dict_items(struct pmw_walk *wk, const struct pmw_target *t, const struct pending *p,
		       const uint8_t *b, size_t len, unsigned int esz, unsigned int koff)
{
	struct pmw_walk_container *ct = cont_new(wk, t, p);
	bool watch = watched(wk, p->addr);

	for (size_t e = 0; e + esz <= len; e += esz) {
		uint64_t key = rd64(b + e + koff), val = rd64(b + e + koff + 8);

		if (!key || !val)
			continue;
		large_add(wk, key);
		large_add(wk, val);
		parent_note(wk, val, p->addr);
		if (watch) {
			owner_add(wk, key, p->addr, e / esz, len / esz);
			owner_add(wk, val, p->addr, e / esz, len / esz);
		}
		if (ct) {
			if (!ct->fp)
				ct->fp = key;
			keep_sample(wk, ct, val);
		}
	}
}

/* Items of the chunk's containers: samples, fingerprints, candidates > 512 B. */
static void chunk_items(struct pmw_walk *wk, const struct pmw_target *t, struct chunk *c)
{
	struct want *w = NULL, *w2 = NULL;
	int nw = 0, cw = 0, nw2 = 0, cw2 = 0;
	uint8_t *buf, *buf2;
	bool *ok = NULL, *ok2 = NULL;
	size_t off = 0;

	items_plan(c, &w, &nw, &cw);
	buf = want_read(wk, t, w, nw, &ok);
	for (int k = 0; buf && k < nw; off += w[k++].len) {
		struct pending *p = &c->p[w[k].pi];
		struct pmw_dict_keys dk;

		if (!ok[k])
			continue;
		if (p->kind != PMW_CK_DICT) {
			seq_items(wk, t, p, buf + off, w[k].len);
			continue;
		}
		/* combined tables only (split ones, ma_values != NULL, skipped): round 2 */
		if (!pmw_dict_keys_parse(t->pv, p->a, buf + off, &dk) && dk.nentries &&
		    !want_add(&w2, &nw2, &cw2, dk.entries,
			      (dk.nentries < ITEMS_MAX ? dk.nentries : ITEMS_MAX) * dk.esize, w[k].pi)) {
			w2[nw2 - 1].esz = dk.esize;
			w2[nw2 - 1].koff = dk.key_off;
		}
	}
	buf2 = want_read(wk, t, w2, nw2, &ok2);
	off = 0;
	for (int k = 0; buf2 && k < nw2; off += w2[k++].len)
		if (ok2[k])
			dict_items(wk, t, &c->p[w2[k].pi], buf2 + off, w2[k].len, w2[k].esz, w2[k].koff);
	free(w);
	free(w2);
	free(buf);
	free(buf2);
	free(ok);
	free(ok2);
}

/* ---------------------------------------------------------------- pools */

/*
 * The object at the head of block @b (@size bytes at @addr): the header is
 * tried at +0, +16 (PyGC_Head) and +32 (3.11+ pre-header) and taken where a
 * plausible reference count is followed by a validated type whose flags put
 * the object at exactly that offset and whose size fits the block.
 */
static const struct pmw_wtype *block_object(struct pmw_walk *wk, const struct pmw_target *t,
					    const uint8_t *b, uint32_t size, unsigned int *offp)
{
	static const unsigned int offs[PMW_NHEAD_OFFS] = PMW_HEAD_OFFS;

	for (int i = 0; i < PMW_NHEAD_OFFS && offs[i] + 16 <= size; i++) {
		unsigned int off = offs[i];
		uint64_t rc = rd64(b + off), tp = rd64(b + off + PMW_OB_TYPE);
		const struct pmw_wtype *ty;
		uint64_t need;

		if (!rc || rc >= PMW_REFCNT_MAX || !pmw_pyptr_ok(tp))
			continue;
		ty = type_cached(wk, tp);
		/* a pointer into the arenas is no type (types are static or > 512 B): not read */
		if (!ty && (in_arena(wk, tp) || !(ty = type_get(wk, t, tp, 0))))
			continue;
		if (ty->off != off)
			continue;
		need = obj_size(t, ty, b + off, size - off);
		if (need > size)
			continue;
		*offp = off;
		return ty;
	}
	return NULL;
}

static void walk_pool_into(struct pmw_walk *wk, const struct pmw_target *t, const uint8_t *pool,
			   uint64_t addr, struct chunk *c)
{
	uint32_t psize = t->pv->pool_size, count = rd32(pool), szidx = rd32(pool + PMW_POOL_SZIDX);
	uint32_t nextoff = rd32(pool + PMW_POOL_NEXTOFFSET), size, nblocks, nfree = 0;
	uint64_t fb = rd64(pool + PMW_POOL_FREEBLOCK), bm[(65536 / PMW_ALIGNMENT + 63) / 64] = { 0 };

	if (!count)
		return;
	size = (szidx + 1) * PMW_ALIGNMENT;
	if (szidx >= PMW_NCLASS || psize > 65536 || nextoff < PMW_POOL_HDR_SIZE || nextoff > psize) {
		wk->cur.torn++;
		return;
	}
	/* blocks carved so far; a full pool's nextoffset may point past the last one */
	nblocks = (nextoff - PMW_POOL_HDR_SIZE) / size;
	/* blocks on the pool's free list are not allocated */
	while (fb) {
		uint64_t o = fb - addr;
		uint32_t idx;

		if (fb < addr || o < PMW_POOL_HDR_SIZE || o >= nextoff ||
		    (o - PMW_POOL_HDR_SIZE) % size || nfree >= nblocks) {
			wk->cur.torn++;	/* racing with the allocator */
			return;
		}
		idx = (o - PMW_POOL_HDR_SIZE) / size;
		if (bm[idx / 64] >> (idx % 64) & 1) {
			wk->cur.torn++;	/* a loop */
			return;
		}
		bm[idx / 64] |= 1ULL << (idx % 64);
		nfree++;
		fb = rd64(pool + o);
	}
	if (nblocks - nfree != count) {
		wk->cur.torn++;
		return;
	}
	wk->cur.pools++;
	wk->cur.blocks += count;
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *b = pool + PMW_POOL_HDR_SIZE + (size_t)i * size;
		uint64_t baddr = addr + PMW_POOL_HDR_SIZE + (uint64_t)i * size;
		const struct pmw_wtype *ty;
		struct pmw_wtype *cty;
		unsigned int off;

		if (bm[i / 64] >> (i % 64) & 1)
			continue;
		ty = block_object(wk, t, b, size, &off);
		if (!ty) {
			wk->cur.other_blocks++;
			continue;
		}
		cty = type_slot(wk, ty->addr);
		cty->objects++;
		cty->bytes += size;
		wk->cur.objects++;
		if (wk->on_object)
			wk->on_object(wk->on_object_arg, ty, baddr + off, b + off, size - off, size);
		if (ty->kind && c)
			note_container(c, ty, baddr + off, b + off, size - off);
		else if (ty->module && off + PMW_MD_DICT + 8 <= size && c)
			module_add(wk, rd64(b + off + PMW_MD_DICT));
		else if (ty->flags & PMW_TPFLAGS_TUPLE_SUBCLASS) {
			int64_t n = (int64_t)rd64(b + off + PMW_OB_SIZE);
			uint32_t items = off + t->pv->obj.tuple_items;

			for (int64_t k = 0; k < n && items + (k + 1) * 8 <= size; k++)
				large_add(wk, rd64(b + items + k * 8));
		}
	}
}

/* Read and walk the next CHUNK_POOLS pools, then their containers' items. */
static int walk_chunk(struct pmw_walk *wk, const struct pmw_target *t)
{
	size_t n = wk->hp.npools - wk->next < CHUNK_POOLS ? wk->hp.npools - wk->next : CHUNK_POOLS;
	uint32_t psize = t->pv->pool_size;
	size_t lens[CHUNK_POOLS] = { 0 };
	bool ok[CHUNK_POOLS];
	struct chunk c = { 0 };
	uint8_t *buf;
	ssize_t got;

	if (psize > 65536)
		return -EINVAL;	/* no such pool size (Objects/obmalloc.c: 4-64 KiB) */
	if (!wk->chunk_buf && !(wk->chunk_buf = malloc((size_t)CHUNK_POOLS * 65536)))
		return -ENOMEM;
	buf = wk->chunk_buf;
	for (size_t i = 0; i < n; i++)
		lens[i] = psize;
	got = walk_gather(wk, t->pid, wk->hp.pools + wk->next, lens, n, buf, ok);
	if (got < 0)
		return got;
	wk->cur.bytes_read += (uint64_t)n * psize;
	for (size_t i = 0; i < n; i++) {
		if (ok[i])
			walk_pool_into(wk, t, buf + i * psize, wk->hp.pools[wk->next + i], &c);
		else
			wk->cur.torn++;	/* arena given back meanwhile */
	}
	wk->next += n;
	chunk_items(wk, t, &c);
	free(c.p);
	return 0;
}

/* ---------------------------------------------------------------- mimalloc pages (3.13t) */

#define FT_WHOLE	2048	/* pages of blocks up to this size are read whole (64 KiB pages) */
#define FT_HEAD		256	/* of bigger blocks, each block's first bytes only */
#define FT_PIECES	256	/* pieces per process_vm_readv round */
#define FT_BM_WORDS	1024	/* free bitmap: capacity is a u16 */

/*
 * The object at block @b (@avail bytes of it read, block of @bsize) of a page
 * of heap @kind: at the block, or after the pre-header in the GC_PRE heap; taken
 * when its reference counts are plausible, its type pointer a validated type
 * whose objects go to that heap (_PyObject_GetAllocationHeap(),
 * Include/internal/pycore_object.h: PREHEADER flags -> GC_PRE, HAVE_GC -> GC,
 * else OBJECT) and its size fits the block.
 */
static const struct pmw_wtype *ft_object(struct pmw_walk *wk, const struct pmw_target *t,
					 const uint8_t *b, size_t avail, uint64_t bsize, int kind,
					 unsigned int *offp)
{
	unsigned int off = kind == PMW_MI_GC_PRE ? t->ft->pre_header : 0, sh = t->ft->ob_shift;
	const struct pmw_wtype *ty;
	uint64_t tp, need;
	int want;

	if (off + sh + PMW_OB_TYPE + 8 > avail || off >= bsize || !obj_alive(t, b + off))
		return NULL;
	tp = rd64(b + off + sh + PMW_OB_TYPE);
	if (!pmw_pyptr_ok(tp) || (!(ty = type_cached(wk, tp)) && !(ty = type_get(wk, t, tp, 0))))
		return NULL;
	want = ty->flags & pmw_preheader_flags(t->pv) ? PMW_MI_GC_PRE :
	       ty->flags & PMW_TPFLAGS_HAVE_GC ? PMW_MI_GC : PMW_MI_OBJECT;
	if (want != kind)
		return NULL;
	need = ft_obj_size(t, ty, b + off + sh, avail - off - sh);
	if (need > bsize)
		return NULL;
	*offp = off;
	return ty;
}

/* Mark the blocks of free list @head of page @p (image @img, @stride bytes a block): false if
 * a link leaves the page, is not a block's start, or loops (the page changed under the read). */
static bool ft_free_list(const struct pmw_mi_page *p, const uint8_t *img, uint64_t stride,
			 uint64_t head, uint64_t *bm, uint32_t *nfree)
{
	for (uint64_t f = head; f; ) {
		uint64_t o = f - p->start, i = o / p->bsize;

		if (f < p->start || o % p->bsize || i >= p->capacity || bm[i / 64] >> (i % 64) & 1)
			return false;
		bm[i / 64] |= 1ULL << (i % 64);
		(*nfree)++;
		f = rd64(img + i * stride);
	}
	return true;
}

/* Every object of page @p, read at @img (@stride bytes per block): census and containers. */
static void ft_page(struct pmw_walk *wk, const struct pmw_target *t, const struct pmw_mi_page *p,
		    const uint8_t *img, uint64_t stride, struct chunk *c)
{
	uint64_t bm[FT_BM_WORDS] = { 0 };
	uint32_t nfree = 0;
	unsigned int sh = t->ft->ob_shift;

	/* free and local_free are the owner's: capacity - them = used (mimalloc page.c); the
	 * thread-free ones are freed too, still counted in used */
	if (!ft_free_list(p, img, stride, p->free, bm, &nfree) ||
	    !ft_free_list(p, img, stride, p->local_free, bm, &nfree) ||
	    p->capacity - nfree != p->used ||
	    !ft_free_list(p, img, stride, p->thread_free, bm, &nfree)) {
		wk->cur.torn++;	/* racing with the page's thread */
		return;
	}
	wk->cur.pools++;
	wk->cur.blocks += p->capacity - nfree;
	for (uint32_t i = 0; i < p->capacity; i++) {
		const uint8_t *b = img + i * stride;
		const struct pmw_wtype *ty;
		struct pmw_wtype *cty;
		unsigned int off;
		uint64_t addr;

		if (bm[i / 64] >> (i % 64) & 1)
			continue;
		ty = ft_object(wk, t, b, stride, p->bsize, p->kind, &off);
		if (!ty) {
			wk->cur.other_blocks++;
			continue;
		}
		cty = type_slot(wk, ty->addr);
		cty->objects++;
		cty->bytes += p->bsize;
		wk->cur.objects++;
		addr = p->start + i * p->bsize + off;
		/* the object's fields at the default build's offsets from b + off + sh */
		if (ty->kind)
			note_container(c, ty, addr, b + off + sh, stride - off - sh);
		else if (ty->module && off + sh + PMW_MD_DICT + 8 <= stride)
			module_add(wk, rd64(b + off + sh + PMW_MD_DICT));
	}
}

/* Read and walk the next mimalloc pages (at most FT_PIECES reads, the chunk buffer's size). */
static int ft_chunk(struct pmw_walk *wk, const struct pmw_target *t)
{
	const size_t room = (size_t)CHUNK_POOLS * 65536;
	uint64_t addrs[FT_PIECES];
	size_t lens[FT_PIECES], np = 0, used = 0, first = wk->next, last;
	bool ok[FT_PIECES];
	struct chunk c = { 0 };
	ssize_t got;

	if (!wk->chunk_buf && !(wk->chunk_buf = malloc(room)))
		return -ENOMEM;
	for (last = first; last < wk->mp.n; last++) {
		const struct pmw_mi_page *p = &wk->mp.p[last];
		bool whole = p->bsize <= FT_WHOLE;
		size_t pieces = whole ? 1 : p->capacity;
		uint64_t bytes = (uint64_t)p->capacity * (whole ? p->bsize : FT_HEAD);

		if (!p->bsize || !p->capacity || bytes > room || pieces > FT_PIECES)
			continue;	/* read as torn below */
		if (np + pieces > FT_PIECES || used + bytes > room)
			break;
		for (size_t k = 0; k < pieces; k++) {
			addrs[np] = whole ? p->start : p->start + k * p->bsize;
			lens[np++] = whole ? bytes : FT_HEAD;
		}
		used += bytes;
	}
	got = walk_gather(wk, t->pid, addrs, lens, np, wk->chunk_buf, ok);
	if (got < 0)
		return got;
	wk->cur.bytes_read += used;
	for (size_t i = first, k = 0, at = 0; i < last; i++) {
		const struct pmw_mi_page *p = &wk->mp.p[i];
		bool whole = p->bsize <= FT_WHOLE, good = true;
		size_t pieces = whole ? 1 : p->capacity;
		uint64_t stride = whole ? p->bsize : FT_HEAD;

		if (!p->bsize || !p->capacity || (uint64_t)p->capacity * stride > room ||
		    pieces > FT_PIECES) {
			wk->cur.torn++;
			continue;
		}
		for (size_t j = 0; j < pieces; j++)
			good &= ok[k + j];
		if (good)
			ft_page(wk, t, p, wk->chunk_buf + at, stride, &c);
		else
			wk->cur.torn++;	/* page freed meanwhile */
		k += pieces;
		at += p->capacity * stride;
	}
	wk->next = last;
	chunk_items(wk, t, &c);
	free(c.p);
	return 0;
}

static int cmp_cont(const void *a, const void *b)
{
	uint64_t x = ((const struct pmw_walk_container *)a)->addr;
	uint64_t y = ((const struct pmw_walk_container *)b)->addr;

	return x < y ? -1 : x > y;
}

static int cmp_census_name(const void *a, const void *b)
{
	return strcmp(((const struct pmw_walk_census *)a)->name,
		      ((const struct pmw_walk_census *)b)->name);
}

static int cmp_census_bytes(const void *a, const void *b)
{
	uint64_t x = ((const struct pmw_walk_census *)a)->bytes;
	uint64_t y = ((const struct pmw_walk_census *)b)->bytes;

	return x < y ? 1 : x > y ? -1 : cmp_census_name(a, b);
}

/* The census of the finished walk, by type name, with deltas to the last one. */
static void walk_census(struct pmw_walk *wk)
{
	struct pmw_walk_census *cs = calloc(wk->cap_types ? wk->cap_types : 1, sizeof(*cs)), *old;
	int n = 0, m = 0, nold = wk->ncensus;

	if (!cs)
		return;
	for (size_t i = 0; i < wk->cap_types; i++) {
		const struct pmw_wtype *ty = &wk->types[i];

		if (ty->addr && ty->ok && ty->gen == wk->gen && ty->objects) {
			snprintf(cs[n].name, sizeof(cs[n].name), "%s", ty->name);
			cs[n].objects = ty->objects;
			cs[n++].bytes = ty->bytes;
		}
	}
	/* same name (classes of two modules): one row */
	qsort(cs, n, sizeof(*cs), cmp_census_name);
	for (int i = 0; i < n; i++) {
		if (m && !strcmp(cs[m - 1].name, cs[i].name)) {
			cs[m - 1].objects += cs[i].objects;
			cs[m - 1].bytes += cs[i].bytes;
		} else {
			cs[m++] = cs[i];
		}
	}
	old = wk->census;
	if (old)
		qsort(old, nold, sizeof(*old), cmp_census_name);
	for (int i = 0, j = 0; i < m; i++) {
		while (j < nold && strcmp(old[j].name, cs[i].name) < 0)
			j++;
		if (old && j < nold && !strcmp(old[j].name, cs[i].name)) {
			cs[i].objects_delta = (int64_t)cs[i].objects - (int64_t)old[j].objects;
			cs[i].bytes_delta = (int64_t)cs[i].bytes - (int64_t)old[j].bytes;
		} else if (old) {
			cs[i].objects_delta = cs[i].objects;
			cs[i].bytes_delta = cs[i].bytes;
		}
	}
	qsort(cs, m, sizeof(*cs), cmp_census_bytes);
	free(old);
	wk->census = cs;
	wk->ncensus = m;
}

/*
 * One spare of each working array for the whole process, the largest put
 * (one walk runs at a time, pmw_leaks_turn, so one of each covers them):
 * a walk takes its conts, samples, large-object set, item table (both zeroed)
 * and pool read buffer at its start; the set, table and buffer go back at its
 * end, conts and samples when released (pmw_walk_release) or replaced by the
 * next walk's: one of each for all targets, not one per target per walk.
 */
struct spare {
	void *p;
	size_t cap;
};
static struct spare spare_conts, spare_samples, spare_large, spare_items, spare_chunk;
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;

static void spare_put(struct spare *sp, void *p, size_t cap)
{
	pthread_mutex_lock(&spare_lock);
	if (p && cap > sp->cap) {
		void *old = sp->p;

		sp->p = p;
		sp->cap = cap;
		p = old;
	}
	pthread_mutex_unlock(&spare_lock);
	free(p);
}

static void *spare_take(struct spare *sp, size_t *cap)
{
	void *p;

	pthread_mutex_lock(&spare_lock);
	p = sp->p;
	*cap = sp->cap;
	sp->p = NULL;
	sp->cap = 0;
	pthread_mutex_unlock(&spare_lock);
	return p;
}

/*
 * The working arrays of a walk are kept for the next one at their high-water
 * mark, cleared rather than freed (issue 18 point 4: pymemwatch's RSS was
 * higher inside walks than between them, so a soak's slope followed the
 * share of samples inside walks): the large-object set and the item table
 * are zeroed (items and ditems swap), then go back to the spares.
 */
static void walk_clear(struct pmw_walk *wk)
{
	if (wk->nlarge)
		memset(wk->large, 0, wk->cap_large * sizeof(*wk->large));
	wk->nlarge = 0;
	wk->large_lvl = 0;
	if (wk->nitems)
		memset(wk->items, 0, wk->cap_items * sizeof(*wk->items));
	wk->nitems = 0;
}

/* the working arrays this walk takes, when it has none (0: none spare either) */
static void walk_take(struct pmw_walk *wk)
{
	size_t cap;

	if (!wk->large)
		wk->large = spare_take(&spare_large, &wk->cap_large);
	if (!wk->items)
		wk->items = spare_take(&spare_items, &wk->cap_items);
	if (!wk->chunk_buf)
		wk->chunk_buf = spare_take(&spare_chunk, &cap);
	if (!wk->conts) {
		wk->conts = spare_take(&spare_conts, &cap);
		wk->cap_conts = (int)cap;
	}
	if (!wk->samples) {
		wk->samples = spare_take(&spare_samples, &cap);
		wk->cap_samples = (uint32_t)cap;
	}
}

/* ... and puts back at its end (cleared) */
static void walk_put(struct pmw_walk *wk)
{
	spare_put(&spare_large, wk->large, wk->large ? wk->cap_large : 0);
	spare_put(&spare_items, wk->items, wk->items ? wk->cap_items : 0);
	spare_put(&spare_chunk, wk->chunk_buf, wk->chunk_buf ? 1 : 0);
	wk->large = NULL;
	wk->items = NULL;
	wk->chunk_buf = NULL;
	wk->cap_large = wk->cap_items = 0;
}

static void walk_finish(struct pmw_walk *wk)
{
	struct pmw_item_owner *it = wk->ditems;
	size_t cap = wk->cap_ditems;

	if (wk->nconts)	/* NULL when none: qsort's argument is nonnull */
		qsort(wk->conts, wk->nconts, sizeof(*wk->conts), cmp_cont);
	spare_put(&spare_conts, wk->done, wk->done ? (size_t)wk->cap_done : 0);
	wk->done = wk->conts;
	wk->ndone = wk->nconts;
	wk->cap_done = wk->cap_conts;
	wk->conts = NULL;
	wk->nconts = wk->cap_conts = 0;
	spare_put(&spare_samples, wk->dsamples, wk->dsamples ? wk->cap_dsamples : 0);
	wk->dsamples = wk->samples;
	wk->cap_dsamples = wk->cap_samples;
	wk->samples = NULL;
	wk->nsamples = wk->cap_samples = 0;
	walk_census(wk);
	wk->done_at = mono_s();
	wk->cur.wall_s = wk->done_at - wk->start;
	wk->last_stats = wk->cur;
	wk->walks++;
	free(wk->keep_globals);
	wk->keep_globals = NULL;
	wk->nkeep_globals = 0;
	wk->cut = 0;
	wk->ditems = wk->items;
	wk->cap_ditems = wk->cap_items;
	wk->items = it;
	wk->cap_items = it ? cap : 0;
	wk->nitems = it ? 1 : 0;	/* the last walk's: walk_clear zeroes them */
	walk_clear(wk);
	walk_put(wk);
	pmw_heap_pools_free(&wk->hp);
	wk->phase = PH_IDLE;
}

/* a new generation of the type table: every type is validated again when next met */
static int types_renew(struct pmw_walk *wk)
{
	wk->types_at = mono_s();
	wk->gen++;
	wk->ntypes = 0;
	for (size_t i = 0; i < wk->cap_types; i++) {
		if (wk->types[i].addr && !wk->types[i].ok)
			memset(&wk->types[i], 0, sizeof(wk->types[i]));
		else if (wk->types[i].addr)
			wk->ntypes++;
	}
	/* rehash: clearing entries broke probe chains */
	if (wk->cap_types) {
		struct pmw_wtype *old = wk->types;
		size_t cap = wk->cap_types;

		wk->types = calloc(cap, sizeof(*wk->types));
		if (!wk->types) {
			wk->types = old;
			return -ENOMEM;
		}
		for (size_t i = 0; i < cap; i++)
			if (old[i].addr)
				*type_slot(wk, old[i].addr) = old[i];
		free(old);
	}
	return 0;
}

int pmw_walk_types_renew(struct pmw_walk *wk, double max_age_s)
{
	if (wk->phase != PH_IDLE || mono_s() - wk->types_at < max_age_s)
		return 0;
	return types_renew(wk);
}

static int walk_start(struct pmw_walk *wk, const struct pmw_target *t)
{
	/* free-threaded: no pymalloc; mimalloc's pages of objects instead */
	int err = t->ft ? pmw_mi_pages(t, &wk->mp) : pmw_heap_pools(t, &wk->hp);

	if (err)
		return err;
	/* types are revalidated once per walk: a freed type's address may be reused */
	if (types_renew(wk))
		return -ENOMEM;
	memset(&wk->cur, 0, sizeof(wk->cur));
	/* what a walk that failed midway left */
	walk_clear(wk);
	walk_take(wk);
	wk->nconts = 0;
	wk->nsamples = 0;
	wk->nmodules = 0;
	wk->cut = 0;
	free(wk->keep_globals);
	wk->keep_globals = NULL;
	wk->nkeep_globals = 0;
	if (parents_start(wk))
		return -ENOMEM;
	frames_build(wk);
	wk->next = 0;
	wk->start = mono_s();
	wk->ft = t->ft != NULL;
	wk->phase = wk->ft ? PH_PAGES : PH_POOLS;
	return 0;
}

void pmw_walk_earn(struct pmw_walk_budget *b)
{
	double now = mono_s();

	if (b->share <= 0)
		return;
	b->credit += b->last ? (now - b->last) * b->share * PMW_WALK_AIM : 0.2;
	if (b->credit > PMW_WALK_BANK_S * b->share)
		b->credit = PMW_WALK_BANK_S * b->share;
	b->last = now;
}

bool pmw_walk_busy(const struct pmw_walk *wk)
{
	return wk->phase != PH_IDLE;
}

int pmw_walk_step(struct pmw_walk *wk, const struct pmw_target *t, struct pmw_walk_budget *b)
{
	double c0 = pmw_cpu_s(), c1;
	int err = 0, done = 0;

	if (b->share <= 0)
		return 0;
	while (b->credit > 0 && !done && !err) {
		switch (wk->phase) {
		case PH_IDLE:
			err = walk_start(wk, t);
			break;
		case PH_POOLS:
			if (wk->next < wk->hp.npools)
				err = walk_chunk(wk, t);
			else
				wk->phase = PH_LARGE;
			break;
		case PH_PAGES:
			if (wk->next < wk->mp.n)
				err = ft_chunk(wk, t);
			else
				wk->phase = PH_LARGE;
			break;
		default:
			flag_globals(wk, t);
			err = walk_large(wk, t);
			c1 = pmw_cpu_s();
			wk->cur.cpu_s += c1 - c0;
			b->credit -= c1 - c0;
			c0 = c1;
			walk_finish(wk);
			done = 1;
			break;
		}
		c1 = pmw_cpu_s();
		wk->cur.cpu_s += c1 - c0;
		b->credit -= c1 - c0;
		c0 = c1;
	}
	if (err) {
		wk->err = err;
		pmw_heap_pools_free(&wk->hp);
		wk->phase = PH_IDLE;
		return err;
	}
	wk->err = 0;
	return done;
}

void pmw_walk_release(struct pmw_walk *wk)
{
	spare_put(&spare_conts, wk->done, wk->done ? (size_t)wk->cap_done : 0);
	spare_put(&spare_samples, wk->dsamples, wk->dsamples ? wk->cap_dsamples : 0);
	wk->done = NULL;
	wk->dsamples = NULL;
	wk->ndone = wk->cap_done = 0;
	wk->cap_dsamples = 0;
}

const struct pmw_walk_container *pmw_walk_container(const struct pmw_walk *wk, uint64_t addr)
{
	struct pmw_walk_container key = { .addr = addr };

	if (!wk->ndone)
		return NULL;
	return bsearch(&key, wk->done, wk->ndone, sizeof(key), cmp_cont);
}

void pmw_walk_free(struct pmw_walk *wk)
{
	pmw_heap_pools_free(&wk->hp);
	free(wk->mp.p);
	free(wk->conts);
	free(wk->large);
	free(wk->types);
	free(wk->done);
	free(wk->census);
	free(wk->items);
	free(wk->ditems);
	free(wk->watch);
	free(wk->want_sample);
	free(wk->want_parent);
	free(wk->want_bits);
	free(wk->samples);
	free(wk->dsamples);
	free(wk->frames);
	free(wk->chunk_buf);
	free(wk->modules);
	free(wk->prev_modules);
	free(wk->known);
	free(wk->keep_globals);
	memset(wk, 0, sizeof(*wk));
}
