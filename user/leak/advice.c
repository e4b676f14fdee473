// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "advice.h"
#include "heap.h"
#include "pyobj.h"
#include "pyver.h"
#include "util.h"

#define STR_CAP_MAX	(1u << 21)	/* str values followed (32 B each); past half of it,
					 * values are sampled by hash (all copies of a value or none) */
#define DICTS_MAX	(1u << 20)	/* combined dicts whose keys table is checked */
#define SMALL_SHIFT	5		/* live runs: both tables 32 times smaller (2 MiB, 0.75 MiB) */
#define LISTS_MAX	(1u << 16)	/* lists of >= BOXED_MIN_LEN items checked for boxed numbers */
#define BOXED_MIN_LEN	64
#define BOXED_PEEK	16		/* items looked at per list */
#define INST_SAMPLE	4		/* instances looked at per class */
#define SLOTS_MIN_OBJS	256		/* classes with fewer instances are not looked at */
#define BATCH		1024		/* pieces per gather */
#define LARGE_STR_MAX	(64u << 10)	/* bytes of a str > 512 B hashed */

struct strent {
	uint64_t h;		/* hash of kind + data, 0 empty */
	uint64_t first;		/* address of one copy */
	uint32_t count, len;	/* copies, length in code points */
	uint32_t block;		/* block bytes of one copy */
};

struct dictent { uint64_t addr, keys, used; };
struct listent { uint64_t addr, items, len; bool tuple; };
struct instent { uint64_t type; uint64_t obj[INST_SAMPLE]; int n; };

enum { C_DICT, C_LIST, C_SET, C_N };

struct pmw_advice_acc {
	const struct pmw_target *t;
	size_t str_cap_max, dicts_max;
	uint64_t dict_stride;		/* every stride-th combined dict is kept in dicts[] */
	struct strent *str;
	size_t nstr, cap_str;
	unsigned int str_shift;		/* values kept: hash's top bits >> (64 - shift) == 0 */
	size_t str_cap_last;		/* the last walk's table: the next starts that big, */
	unsigned int str_shift_last;	/* sampled as much (no regrowth, no rehashes) */
	uint64_t empty_n[C_N], empty_bytes[C_N];
	uint64_t over_n[C_N], over_bytes[C_N], over_waste[C_N], over_big[C_N], over_big_waste[C_N];
	uint64_t ndicts_all;		/* combined dicts met (dicts[] holds at most DICTS_MAX) */
	struct dictent *dicts;
	size_t ndicts, cap_dicts;
	struct listent *lists;
	size_t nlists, cap_lists;
	struct instent *inst;		/* open-addressed by type */
	size_t ninst, cap_inst;
};

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* a 64-bit hash of @n bytes at @p, 8 at a time (the walk hashes every str) */
static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ n * 0x9E3779B97F4A7C15ULL, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (h ^ h >> 32) | 1;
}

static bool push(void **arr, size_t *n, size_t *cap, size_t max, size_t esz, const void *e)
{
	if (*n >= max)
		return false;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		void *na = realloc(*arr, ncap * esz);

		if (!na)
			return false;
		*arr = na;
		*cap = ncap;
	}
	memcpy((char *)*arr + *n * esz, e, esz);
	(*n)++;
	return true;
}

/* ---------------------------------------------------------------- duplicate str */

static bool str_kept(const struct pmw_advice_acc *a, uint64_t h)
{
	return !a->str_shift || h >> (64 - a->str_shift) == 0;
}

static struct strent *str_slot(struct strent *tab, size_t cap, uint64_t h, uint32_t len)
{
	size_t i = (h * 0x9E3779B97F4A7C15ULL) >> 20 & (cap - 1);

	while (tab[i].h && !(tab[i].h == h && tab[i].len == len))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/*
 * One spare str table for the whole process, kept cleared between walks
 * (issue 18 point 4): each walk of a leaking soak target filled a table of
 * 2 MiB and the reset freed it, so pymemwatch's RSS went up and down by 2 MiB
 * with every walk and the soak's slope followed the share of time inside
 * walks. A table is taken only at the size a walk starts with (str_cap_last);
 * the larger one put is kept, up to STR_SPARE_MAX bytes.
 */
#define STR_SPARE_MAX	(4u << 20)
static struct strent *str_spare;
static size_t str_spare_cap;
static pthread_mutex_t str_spare_lock = PTHREAD_MUTEX_INITIALIZER;

/* a zeroed table of @cap entries: the spare if it has that size. NULL: no memory. */
static struct strent *str_table(size_t cap)
{
	struct strent *t = NULL;

	pthread_mutex_lock(&str_spare_lock);
	if (str_spare && str_spare_cap == cap) {
		t = str_spare;
		str_spare = NULL;
		str_spare_cap = 0;
	}
	pthread_mutex_unlock(&str_spare_lock);
	return t ? t : calloc(cap, sizeof(*t));
}

/* @t (@cap entries) back: cleared and kept if larger than the spare, else freed */
static void str_table_put(struct strent *t, size_t cap)
{
	if (!t || cap * sizeof(*t) > STR_SPARE_MAX) {
		free(t);
		return;
	}
	memset(t, 0, cap * sizeof(*t));
	pthread_mutex_lock(&str_spare_lock);
	if (cap > str_spare_cap) {
		struct strent *o = str_spare;

		str_spare = t;
		str_spare_cap = cap;
		t = o;
	}
	pthread_mutex_unlock(&str_spare_lock);
	free(t);
}

/* Double the table, or at its cap keep half the values (by hash). 0 or -ENOMEM. */
static int str_grow(struct pmw_advice_acc *a)
{
	size_t ncap = a->cap_str ? a->cap_str * 2 : a->str_cap_last ? a->str_cap_last : 4096;
	struct strent *old = a->str, *n;

	if (!a->cap_str)
		a->str_shift = a->str_shift_last;

	if (a->cap_str >= a->str_cap_max) {
		ncap = a->cap_str;
		a->str_shift++;
	}
	n = str_table(ncap);
	if (!n)
		return -ENOMEM;
	a->nstr = 0;
	for (size_t i = 0; i < a->cap_str; i++) {
		if (!old[i].h || !str_kept(a, old[i].h))
			continue;
		*str_slot(n, ncap, old[i].h, old[i].len) = old[i];
		a->nstr++;
	}
	str_table_put(old, a->cap_str);
	a->str = n;
	a->cap_str = ncap;
	return 0;
}

/* one copy (at @addr, @block bytes) of a value of @n code points hashing to @h */
static void str_add(struct pmw_advice_acc *a, uint64_t h, uint64_t n, uint64_t addr,
		    uint32_t block)
{
	struct strent *e;

	if (!str_kept(a, h))
		return;
	if ((a->nstr + 1) * 2 > a->cap_str && str_grow(a))
		return;
	if (!str_kept(a, h))
		return;
	e = str_slot(a->str, a->cap_str, h, n);
	if (!e->h) {
		*e = (struct strent){ .h = h, .first = addr, .len = n, .block = block };
		a->nstr++;
	}
	e->count++;
}

/*
 * Where a compact str's data starts and its bytes per code point, from its
 * head @o (Include/cpython/unicodeobject.h: length @16, state @32 with kind
 * bits 2-4, compact bit 5, ascii bit 6). 0, or -1 for other forms.
 */
static int str_layout(const struct pmw_advice_acc *a, const uint8_t *o, uint64_t *n,
		      uint32_t *data, uint32_t *kind)
{
	uint32_t state;

	*n = rd64(o + PMW_OB_SIZE);
	memcpy(&state, o + 32, 4);
	*kind = state >> 2 & 7;
	if (!(state >> 5 & 1) || (*kind != 1 && *kind != 2 && *kind != 4))
		return -1;
	*data = state >> 6 & 1 ? a->t->pv->ascii_data : a->t->pv->compact_data;
	if (state >> 6 & 1)
		*kind = 1;
	return 0;
}

/* A str in a pool: its contents are in the pool image. */
static void str_note(struct pmw_advice_acc *a, uint64_t addr, const uint8_t *o, size_t avail,
		     uint32_t block)
{
	uint64_t n;
	uint32_t data, kind;

	if (avail < 36 || str_layout(a, o, &n, &data, &kind) || n < 2 || data + n * kind > avail)
		return;
	str_add(a, hash_bytes(o + data, n * kind, kind), n, addr, block);
}

/* A str > 512 B: its contents read (the first LARGE_STR_MAX bytes hashed, with its length). */
static void large_str(struct pmw_advice_acc *a, uint64_t addr, uint32_t size)
{
	uint8_t h[40], *buf;
	uint64_t n, len;
	uint32_t data, kind;

	if (pmw_mem_read(a->t->pid, addr, h, sizeof(h)) || str_layout(a, h, &n, &data, &kind) ||
	    n > (1ULL << 32))
		return;
	len = n * kind < LARGE_STR_MAX ? n * kind : LARGE_STR_MAX;
	buf = malloc(len ? len : 1);
	if (buf && !pmw_mem_read(a->t->pid, addr + data, buf, len))
		str_add(a, hash_bytes(buf, len, kind), n, addr, size);
	free(buf);
}

/* ---------------------------------------------------------------- containers */

/* the smallest power of two >= @n, at least 8 */
static uint64_t pow2_8(uint64_t n)
{
	uint64_t p = 8;

	while (p < n)
		p <<= 1;
	return p;
}

/* Keep a combined dict for the keys-table check; when full, every other one and
 * every 2 * stride-th from then on (a sample spread over the heap). */
static void dict_note(struct pmw_advice_acc *a, uint64_t addr, uint64_t keys, uint64_t used)
{
	struct dictent e = { addr, keys, used };

	if (a->ndicts >= a->dicts_max) {
		for (size_t i = 0; 2 * i < a->ndicts; i++)
			a->dicts[i] = a->dicts[2 * i];
		a->ndicts = (a->ndicts + 1) / 2;
		a->dict_stride *= 2;
		if ((a->ndicts_all - 1) % a->dict_stride)
			return;
	}
	push((void **)&a->dicts, &a->ndicts, &a->cap_dicts, a->dicts_max, sizeof(e), &e);
}

static void over_big(struct pmw_advice_acc *a, int k, uint64_t addr, uint64_t waste)
{
	if (waste > a->over_big_waste[k]) {
		a->over_big_waste[k] = waste;
		a->over_big[k] = addr;
	}
}

static void container_note(struct pmw_advice_acc *a, int kind, uint64_t addr, const uint8_t *o,
			   size_t avail, uint32_t block)
{
	uint64_t len, x, y;

	if (avail < 48)
		return;
	if (kind == PMW_CK_LIST) {
		len = rd64(o + PMW_OB_SIZE);
		x = rd64(o + PMW_LIST_ITEMS + 8);	/* allocated */
		if (len > x || x > (1ULL << 36))
			return;
		if (!len) {
			a->empty_n[C_LIST]++;
			a->empty_bytes[C_LIST] += block + x * 8;
		} else if (x >= 2 * len + 16) {	/* lists shrink below half: rare */
			a->over_n[C_LIST]++;
			a->over_bytes[C_LIST] += block + x * 8;
			a->over_waste[C_LIST] += (x - len) * 8;
			over_big(a, C_LIST, addr, (x - len) * 8);
		}
		if (len >= BOXED_MIN_LEN) {
			struct listent e = { addr, rd64(o + PMW_LIST_ITEMS), len, false };

			push((void **)&a->lists, &a->nlists, &a->cap_lists, LISTS_MAX, sizeof(e), &e);
		}
	} else if (kind == PMW_CK_DICT) {
		len = rd64(o + PMW_MA_USED);
		x = rd64(o + PMW_MA_KEYS);
		y = rd64(o + PMW_MA_VALUES);
		if (!len) {
			a->empty_n[C_DICT]++;
			a->empty_bytes[C_DICT] += block;
		}
		if (!y && pmw_pyptr_ok(x) && a->ndicts_all++ % a->dict_stride == 0)
			dict_note(a, addr, x, len);
	} else if (kind == PMW_CK_SET) {
		len = rd64(o + PMW_SET_USED);
		x = rd64(o + PMW_SET_MASK) + 1;	/* table slots */
		if (!len) {
			a->empty_n[C_SET]++;
			a->empty_bytes[C_SET] += block;
		}
		/* a copy gets the smallest table > 2 * used; 8 slots are inside the object */
		y = pow2_8(2 * len + 1);
		if (x > 8 && x <= (1ULL << 32) && x >= 8 * y) {
			a->over_n[C_SET]++;
			a->over_bytes[C_SET] += block + x * 16;
			a->over_waste[C_SET] += (x - (y > 8 ? y : 0)) * 16;
			over_big(a, C_SET, addr, (x - (y > 8 ? y : 0)) * 16);
		}
	}
}

/* ---------------------------------------------------------------- instances */

static struct instent *inst_slot(struct instent *tab, size_t cap, uint64_t type)
{
	size_t i = (type >> 3) * 0x9E3779B97F4A7C15ULL >> 20 & (cap - 1);

	while (tab[i].type && tab[i].type != type)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void inst_note(struct pmw_advice_acc *a, uint64_t type, uint64_t addr)
{
	struct instent *e;

	if ((a->ninst + 1) * 2 > a->cap_inst) {
		size_t ncap = a->cap_inst ? a->cap_inst * 2 : 1024;
		struct instent *n = calloc(ncap, sizeof(*n));

		if (!n)
			return;
		for (size_t i = 0; i < a->cap_inst; i++)
			if (a->inst[i].type)
				*inst_slot(n, ncap, a->inst[i].type) = a->inst[i];
		free(a->inst);
		a->inst = n;
		a->cap_inst = ncap;
	}
	e = inst_slot(a->inst, a->cap_inst, type);
	if (!e->type) {
		e->type = type;
		a->ninst++;
	}
	if (e->n < INST_SAMPLE)
		e->obj[e->n++] = addr;
}

/* An object > 512 B, outside pools (@size bytes): a str's contents, a long tuple's items. */
static void large_note(struct pmw_advice_acc *a, const struct pmw_wtype *ty, uint64_t addr,
		       uint32_t size)
{
	uint64_t n;

	if (ty->flags & PMW_TPFLAGS_HEAPTYPE)
		return;
	if (ty->flags & PMW_TPFLAGS_UNICODE_SUBCLASS) {
		large_str(a, addr, size);
	} else if (ty->flags & PMW_TPFLAGS_TUPLE_SUBCLASS &&
		   !pmw_mem_read(a->t->pid, addr + PMW_OB_SIZE, &n, 8) &&
		   n >= BOXED_MIN_LEN && n < (1ULL << 32)) {
		struct listent e = { addr, addr + a->t->pv->obj.tuple_items, n, true };

		push((void **)&a->lists, &a->nlists, &a->cap_lists, LISTS_MAX, sizeof(e), &e);
	}
}

static void on_object(void *arg, const struct pmw_wtype *ty, uint64_t addr, const uint8_t *o,
		      size_t avail, uint32_t block)
{
	struct pmw_advice_acc *a = arg;

	if (!o)
		large_note(a, ty, addr, block);
	else if (ty->flags & PMW_TPFLAGS_UNICODE_SUBCLASS) {
		if (!(ty->flags & PMW_TPFLAGS_HEAPTYPE))
			str_note(a, addr, o, avail, block);
	} else if (ty->kind) {
		container_note(a, ty->kind, addr, o, avail, block);
	} else if (ty->flags & PMW_TPFLAGS_HEAPTYPE && !(ty->flags & PMW_TPFLAGS_TYPE_SUBCLASS)) {
		inst_note(a, ty->addr, addr);
	}
}

struct pmw_advice_acc *pmw_advice_new(const struct pmw_target *t, bool small)
{
	struct pmw_advice_acc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->t = t;
	a->str_cap_max = STR_CAP_MAX >> (small ? SMALL_SHIFT : 0);
	a->dicts_max = DICTS_MAX >> (small ? SMALL_SHIFT : 0);
	a->dict_stride = 1;
	return a;
}

void pmw_advice_set_target(struct pmw_advice_acc *a, const struct pmw_target *t)
{
	a->t = t;
}

void pmw_advice_reset(struct pmw_advice_acc *a)
{
	const struct pmw_target *t = a->t;
	size_t s = a->str_cap_max, d = a->dicts_max, last = a->str_cap_last;
	unsigned int shift_last = a->str_shift_last;

	if (a->cap_str) {	/* a walk's table: the size the next one starts at */
		last = a->cap_str;
		shift_last = a->str_shift;
	}
	str_table_put(a->str, a->cap_str);
	free(a->dicts);
	free(a->lists);
	free(a->inst);
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->str_cap_max = s;
	a->dicts_max = d;
	a->str_cap_last = last;
	a->str_shift_last = shift_last;
	a->dict_stride = 1;
}

void pmw_advice_hook(struct pmw_advice_acc *a, struct pmw_walk *wk)
{
	wk->on_object = on_object;
	wk->on_object_arg = a;
}

void pmw_advice_free(struct pmw_advice_acc *a)
{
	if (!a)
		return;
	pmw_advice_reset(a);
	free(a);
}

/* ---------------------------------------------------------------- rows */

struct rows {
	struct pmw_advice_row *r;
	int n, cap;
	uint64_t min;			/* saving threshold */
};

static struct pmw_advice_row *row_add(struct rows *rs, const char *kind, uint64_t objects,
				      uint64_t bytes, uint64_t saving)
{
	struct pmw_advice_row *r;

	if (saving < rs->min)
		return NULL;
	if (rs->n == rs->cap) {
		int ncap = rs->cap ? rs->cap * 2 : 32;
		struct pmw_advice_row *nr = realloc(rs->r, ncap * sizeof(*nr));

		if (!nr)
			return NULL;
		rs->r = nr;
		rs->cap = ncap;
	}
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	r->objects = objects;
	r->bytes = bytes;
	r->saving = saving;
	return r;
}

static uint64_t round16(uint64_t n)
{
	return (n + 15) & ~15ULL;
}

static const char *const cnames[C_N] = { "dict", "list", "set" };

static void container_rows(struct pmw_advice_acc *a, struct rows *rs)
{
	struct pmw_advice_row *r;

	for (int k = 0; k < C_N; k++) {
		r = row_add(rs, "empty_container", a->empty_n[k], a->empty_bytes[k], a->empty_bytes[k]);
		if (r) {
			snprintf(r->subject, sizeof(r->subject), "%s", cnames[k]);
			snprintf(r->detail, sizeof(r->detail), "empty %ss: objects and %s; saved if "
				 "not created (None until needed)", cnames[k],
				 k == C_LIST ? "their item arrays" : "their blocks");
		}
		r = row_add(rs, "oversized_container", a->over_n[k], a->over_bytes[k], a->over_waste[k]);
		if (r) {
			snprintf(r->subject, sizeof(r->subject), "%s", cnames[k]);
			snprintf(r->detail, sizeof(r->detail), "%s",
				 k == C_DICT ? "keys table >= 8x what a copy of the dict would allocate "
					       "(dicts never shrink); saved by d = dict(d)" :
				 k == C_SET ? "hash table >= 8x what a copy would allocate; saved by "
					      "s = set(s)" :
					      "allocated >= 2x len + 16; saved by a copy");
			r->sample = a->over_big[k];
		}
	}
}

/* the bytes of a combined keys table of @size slots (Objects/dictobject.c new_keys_object) */
static uint64_t keys_bytes(const struct pmw_pyver *pv, uint64_t size, uint64_t esize)
{
	uint64_t ix = size <= 128 ? 1 : size <= 32768 ? 2 : 4;

	return (pv->obj.dict_keys_311 ? 32 : 40) + size * ix + size * 2 / 3 * esize;
}

/* one gathered keys header of dicts[i]: is its table oversized? */
static void dict_check(struct pmw_advice_acc *a, const struct dictent *d, const uint8_t *h)
{
	struct pmw_dict_keys dk;
	uint64_t nat, bytes, natb;

	if (pmw_dict_keys_parse(a->t->pv, d->keys, h, &dk) || dk.size <= 8 || d->used > dk.size)
		return;
	/* what dict(d) allocates: estimate_log2_keysize(used), Objects/dictobject.c */
	nat = d->used ? pow2_8((d->used * 3 + 1) / 2) : 0;
	if (dk.size < 8 * (nat ? nat : 1))
		return;
	bytes = keys_bytes(a->t->pv, dk.size, dk.esize);
	natb = nat ? keys_bytes(a->t->pv, nat, dk.esize) : 0;
	a->over_n[C_DICT]++;
	a->over_bytes[C_DICT] += bytes;
	a->over_waste[C_DICT] += bytes - natb;
	over_big(a, C_DICT, d->addr, bytes - natb);
}

/* Keys headers of the combined dicts, BATCH a read; scaled up when dicts[] was full. */
static void dicts_check(struct pmw_advice_acc *a)
{
	uint64_t addrs[BATCH];
	size_t lens[BATCH];
	bool ok[BATCH];
	uint8_t *buf = malloc(BATCH * PMW_DICT_KEYS_HEAD);
	double scale;

	for (size_t at = 0; buf && at < a->ndicts; at += BATCH) {
		size_t n = a->ndicts - at < BATCH ? a->ndicts - at : BATCH;

		for (size_t i = 0; i < n; i++) {
			addrs[i] = a->dicts[at + i].keys;
			lens[i] = PMW_DICT_KEYS_HEAD;
		}
		if (pmw_mem_gather(a->t->pid, addrs, lens, n, buf, ok) < 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (ok[i])
				dict_check(a, &a->dicts[at + i], buf + i * PMW_DICT_KEYS_HEAD);
	}
	free(buf);
	if (a->ndicts && a->ndicts_all > a->ndicts) {
		scale = (double)a->ndicts_all / a->ndicts;
		a->over_n[C_DICT] *= scale;
		a->over_bytes[C_DICT] *= scale;
		a->over_waste[C_DICT] *= scale;
	}
}

/* ---------------------------------------------------------------- boxed numbers */

struct boxed { uint64_t lists, items, owned, biggest, big_len; };

/* the first BOXED_PEEK items of @l (pointers @p, heads @h, ok flags @ok): all float or int? */
static void boxed_list(struct pmw_walk *wk, const struct pmw_target *t, const struct listent *l,
		       const uint8_t *heads, const bool *ok, int n, struct boxed *bx)
{
	int nf = 0, ni = 0, own = 0;
	const struct pmw_wtype *ty;
	struct boxed *b;

	for (int i = 0; i < n; i++) {
		if (!ok[i] || !(ty = pmw_walk_type(wk, t, rd64(heads + i * 16 + 8))) ||
		    ty->flags & PMW_TPFLAGS_HEAPTYPE)
			continue;
		if (!strcmp(ty->name, "float"))
			nf++;
		else if (!strcmp(ty->name, "int"))
			ni++;
		else
			continue;
		own += rd64(heads + i * 16) == 1;	/* a box only this list holds */
	}
	if (n < BOXED_PEEK / 2 || (nf * 4 < n * 3 && ni * 4 < n * 3))
		return;
	b = &bx[(nf * 4 >= n * 3 ? 0 : 1) + (l->tuple ? 2 : 0)];
	b->lists++;
	b->items += l->len;
	b->owned += l->len * own / n;
	if (l->len > b->big_len) {
		b->big_len = l->len;
		b->biggest = l->addr;
	}
}

/* Peek at the items of the long lists, 64 lists (1024 items) a round: two gathers. */
static void boxed_check(struct pmw_advice_acc *a, struct pmw_walk *wk, struct boxed *bx)
{
	enum { L = BATCH / BOXED_PEEK };
	uint64_t addrs[BATCH], ptrs[BATCH];
	size_t lens[BATCH];
	bool ok[BATCH], okp[L];
	uint8_t heads[BATCH * 16];

	for (size_t at = 0; at < a->nlists; at += L) {
		size_t n = a->nlists - at < L ? a->nlists - at : L, m = 0;

		for (size_t i = 0; i < n; i++) {
			addrs[i] = a->lists[at + i].items;
			lens[i] = BOXED_PEEK * 8;
		}
		if (pmw_mem_gather(a->t->pid, addrs, lens, n, (uint8_t *)ptrs, okp) < 0)
			return;
		for (size_t i = 0; i < n * BOXED_PEEK; i++) {
			addrs[i] = okp[i / BOXED_PEEK] && pmw_pyptr_ok(ptrs[i]) ? ptrs[i] : 0;
			lens[i] = 16;
		}
		/* unreadable (0) pieces fail alone */
		if (pmw_mem_gather(a->t->pid, addrs, lens, n * BOXED_PEEK, heads, ok) < 0)
			return;
		for (size_t i = 0; i < n; i++, m += BOXED_PEEK)
			if (okp[i])
				boxed_list(wk, a->t, &a->lists[at + i], heads + m * 16, ok + m,
					   BOXED_PEEK, bx);
	}
}

static void boxed_rows(struct pmw_advice_acc *a, struct pmw_walk *wk, struct rows *rs)
{
	struct boxed bx[4] = { 0 };	/* list of float, of int, tuple of float, of int */
	struct pmw_advice_row *r;

	boxed_check(a, wk, bx);
	for (int k = 0; k < 4; k++) {
		/* a float and a (small) int box are 32-byte blocks (24 and 28 bytes: 16-byte classes) */
		r = row_add(rs, "boxed_numbers", bx[k].items, bx[k].items * (8 + 32), bx[k].owned * 32);
		if (!r)
			continue;
		snprintf(r->subject, sizeof(r->subject), "%s of %s", k & 2 ? "tuple" : "list",
			 k & 1 ? "int" : "float");
		snprintf(r->detail, sizeof(r->detail), "%llu %ss; array('%c') would use %llu bytes "
			 "(8 per item) for what now takes a pointer and a 32-byte box per item",
			 (unsigned long long)bx[k].lists, k & 2 ? "tuple" : "list", k & 1 ? 'q' : 'd',
			 (unsigned long long)bx[k].items * 8);
		r->sample = bx[k].biggest;
	}
}

/* ---------------------------------------------------------------- duplicate str */

static int cmp_str_waste(const void *x, const void *y)
{
	const struct strent *a = x, *b = y;
	uint64_t wa = (uint64_t)(a->count - 1) * a->block, wb = (uint64_t)(b->count - 1) * b->block;

	return wa < wb ? 1 : wa > wb ? -1 : 0;
}

static void str_rows(struct pmw_advice_acc *a, struct pmw_pyr *r, bool show, struct rows *rs)
{
	uint64_t scale = 1ULL << a->str_shift, rest_n = 0, rest_b = 0, rest_w = 0, rest_v = 0;
	size_t m = 0;
	struct pmw_advice_row *row;

	for (size_t i = 0; i < a->cap_str; i++)	/* the duplicated values, packed */
		if (a->str[i].h && a->str[i].count > 1)
			a->str[m++] = a->str[i];
	a->nstr = 0;
	qsort(a->str, m, sizeof(*a->str), cmp_str_waste);
	for (size_t i = 0; i < m; i++) {
		const struct strent *e = &a->str[i];
		uint64_t waste = (uint64_t)(e->count - 1) * e->block;

		row = i < 16 ? row_add(rs, "duplicate_str", e->count, (uint64_t)e->count * e->block,
				       waste) : NULL;
		if (!row) {
			rest_n += e->count;
			rest_b += (uint64_t)e->count * e->block;
			rest_w += waste;
			rest_v++;
			continue;
		}
		snprintf(row->subject, sizeof(row->subject), "str len=%u #%08llx", e->len,
			 (unsigned long long)(e->h >> 32));
		snprintf(row->detail, sizeof(row->detail), "%u copies of one value, %u bytes each; "
			 "sys.intern() or deduplication keeps one", e->count, e->block);
		row->key = e->h;	/* its holder: pmw_advice_str_holders() */
		if (show && pmw_pyobj_str(r, e->first, row->value, sizeof(row->value)) < 0)
			row->value[0] = 0;
	}
	row = row_add(rs, "duplicate_str", rest_n * scale, rest_b * scale, rest_w * scale);
	if (row) {
		snprintf(row->subject, sizeof(row->subject), "str (%llu other values)",
			 (unsigned long long)(rest_v * scale));
		snprintf(row->detail, sizeof(row->detail), "values each below the threshold%s",
			 scale > 1 ? "; sampled by hash and scaled" : "");
	}
}

/* ---------------------------------------------------------------- slots */

/* file and first line of function @fn's code (func_code: @16 <=3.9, after func_qualname 3.10+) */
static int code_where(struct pmw_pyr *r, uint64_t fn, char *file, size_t flen, int *line)
{
	const struct pmw_pyver *pv = r->t->pv;
	uint64_t code, fname;
	int32_t first;

	if (pmw_pyr_read(r, fn + (pv->obj.func_qualname == 40 ? 48 : 16), &code, 8) ||
	    !pmw_pyptr_ok(code) || pmw_pyr_read(r, code + pv->co_filename, &fname, 8) ||
	    pmw_pyr_read(r, code + pv->co_firstlineno, &first, 4) ||
	    pmw_pyobj_str(r, fname, file, flen) < 0)
		return -EFAULT;
	*line = first;
	return 0;
}

/*
 * "module.Name" of class @ty and where it is defined: its __firstlineno__
 * (3.13+), else the first line of its earliest method, in that method's file.
 */
static void class_where(struct pmw_pyr *r, const struct pmw_pytype *ty, char *subject,
			size_t slen, char *where, size_t wlen)
{
	struct pmw_pyitem it[128];
	char key[32], mod[96] = "", file[200] = "", f[200];
	int64_t v;
	int line = 0, first = 0, l;
	ssize_t n = ty->dict ? pmw_dict_items(r, ty->dict, 1, it, 128) : -1;

	for (ssize_t i = 0; i < n; i++) {
		const struct pmw_pytype *vt;

		if (pmw_pyobj_str(r, it[i].key, key, sizeof(key)) < 0)
			continue;
		if (!strcmp(key, "__module__"))
			pmw_pyobj_str(r, it[i].value, mod, sizeof(mod));
		else if (!strcmp(key, "__firstlineno__") && !pmw_pyobj_int(r, it[i].value, &v))
			first = v;
		else if ((vt = pmw_pyobj_type(r, it[i].value)) &&
			 (vt->kind == PMW_PK_FUNCTION || vt->kind == PMW_PK_WRAPPER)) {
			uint64_t fn = it[i].value;

			if (vt->kind == PMW_PK_WRAPPER && pmw_pyr_read(r, fn + PMW_WRAPPED_16, &fn, 8))
				continue;
			if (!code_where(r, fn, f, sizeof(f), &l) && (!line || l < line)) {
				line = l;
				snprintf(file, sizeof(file), "%s", f);
			}
		}
	}
	snprintf(subject, slen, "%s%s%s", mod, mod[0] ? "." : "", ty->name);
	if (file[0])
		snprintf(where, wlen, "%s:%d", file, first ? first : line);
}

/* bytes of the 3.11/3.12 PyDictValues of an instance of @ty (Objects/dictobject.c new_values) */
static uint64_t values_bytes(struct pmw_pyr *r, const struct pmw_pytype *ty)
{
	const struct pmw_pyver *pv = r->t->pv;
	uint64_t h[4], size;

	if (pv->obj.managed != PMW_MD_311 && pv->obj.managed != PMW_MD_312)
		return 0;	/* 3.13+: inline, in the object's block */
	if (!pmw_pyptr_ok(ty->cached_keys) || pmw_pyr_read(r, ty->cached_keys, h, sizeof(h)))
		return 0;
	size = h[2] + h[3];	/* dk_usable @16 + dk_nentries @24: shared_keys_usable_size() */
	if (size > 4096)
		return 0;
	/* the insertion-order prefix (size + 2 bytes, rounded to 8), then the values (3.11, 3.12) */
	return round16(((size + 2 + 7) & ~7ULL) + 8 * size);
}

static void slots_one(struct pmw_advice_acc *a, struct pmw_pyr *r, struct pmw_walk *wk,
		      const struct instent *e, struct rows *rs)
{
	const struct pmw_wtype *wt = pmw_walk_type(wk, a->t, e->type);
	const struct pmw_pytype *ty;
	struct pmw_pyitem it[64];
	uint64_t extra = 0, dict, per, slots, attrs = 0;
	int nd = 0;
	struct pmw_advice_row *row;

	if (!wt || wt->objects < SLOTS_MIN_OBJS || !(ty = pmw_pytype_get(r, e->type)) ||
	    ty->kind != PMW_PK_INSTANCE || (!ty->dictoffset && !(ty->flags & PMW_TPFLAGS_MANAGED_DICT)))
		return;	/* __slots__ without __dict__ already */
	for (int i = 0; i < e->n; i++) {
		ssize_t n = pmw_instance_attrs(r, e->obj[i], ty, it, 64, &dict);
		const struct pmw_pytype *dt;
		int64_t sz;

		if (n < 0)
			continue;
		attrs = (uint64_t)n > attrs ? (uint64_t)n : attrs;
		if (dict && (dt = pmw_pyobj_type(r, dict)) && (sz = pmw_pyobj_getsizeof(r, dict, dt)) > 0)
			extra += round16(sz);
		else if (!dict)
			extra += values_bytes(r, ty);
		nd++;
	}
	if (!nd)
		return;
	per = wt->bytes / wt->objects + extra / nd;
	/* the twin: PyGC_Head, PyObject header and one pointer per attribute */
	slots = round16(PMW_GC_HEAD_SIZE + 16 + 8 * attrs);
	if (per <= slots)
		return;
	row = row_add(rs, "slots", wt->objects, wt->objects * per, wt->objects * (per - slots));
	if (!row)
		return;
	class_where(r, ty, row->subject, sizeof(row->subject), row->where, sizeof(row->where));
	snprintf(row->detail, sizeof(row->detail), "%llu attributes; %llu bytes per instance "
		 "(object %llu, __dict__ or values %llu) on %d.%d; %llu with __slots__",
		 (unsigned long long)attrs, (unsigned long long)per,
		 (unsigned long long)(wt->bytes / wt->objects), (unsigned long long)(extra / nd),
		 a->t->major, a->t->minor, (unsigned long long)slots);
	row->sample = e->obj[0];
}

/* ---------------------------------------------------------------- str holders */

/* The hash of the str at @obj as the walk computed it (str_note, large_str), 0 if none. */
static uint64_t str_hash_at(struct pmw_advice_acc *a, struct pmw_pyr *r, uint64_t obj)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);
	uint8_t head[40], *buf;
	uint64_t n, len, h = 0;
	uint32_t data, kind;

	if (!ty || ty->kind != PMW_PK_STR || ty->heap || pmw_pyr_read(r, obj, head, sizeof(head)) ||
	    str_layout(a, head, &n, &data, &kind) || n < 2 || n > (1ULL << 32))
		return 0;
	len = n * kind < LARGE_STR_MAX ? n * kind : LARGE_STR_MAX;
	buf = malloc(len);
	if (buf && !pmw_pyr_read(r, obj + data, buf, len))
		h = hash_bytes(buf, len, kind);
	free(buf);
	return h;
}

/* Up to 16 items of container @c (dict: values), spread over it; their count, its len() in *len. */
static ssize_t peek_items(struct pmw_pyr *r, uint64_t c, struct pmw_pyitem *it, int64_t *len)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, c);
	int64_t slots;
	uint64_t mask;

	if (!ty || (*len = pmw_pyobj_len(r, c, ty)) <= 0)
		return -EINVAL;
	slots = ty->kind == PMW_PK_DICT ? pmw_dict_nentries(r, c) : *len;
	if (ty->kind == PMW_PK_SET)
		slots = pmw_pyr_read(r, c + PMW_SET_MASK, &mask, 8) ? -1 : (int64_t)mask + 1;
	if (slots <= 0)
		return -EINVAL;
	return ty->kind == PMW_PK_DICT ? pmw_dict_items(r, c, slots / 16 + 1, it, 16) :
				       pmw_seq_items(r, c, ty, slots / 16 + 1, it, 16);
}

void pmw_advice_str_holders(struct pmw_advice_acc *a, struct pmw_pyr *r, const uint64_t *conts,
			    int n, struct pmw_advice_row *rows, int nrows)
{
	double best[PMW_ADVICE_ROWS] = { 0 };
	struct pmw_pyitem it[16];

	for (int i = 0; i < nrows && i < PMW_ADVICE_ROWS; i++)
		if (!strcmp(rows[i].kind, "duplicate_str"))
			rows[i].sample = 0;
	for (int c = 0; c < n; c++) {
		int64_t len;
		ssize_t m = peek_items(r, conts[c], it, &len);
		uint64_t h[16];

		for (ssize_t k = 0; k < m; k++)
			h[k] = str_hash_at(a, r, it[k].value);
		for (int i = 0; i < nrows && i < PMW_ADVICE_ROWS && m > 0; i++) {
			int hits = 0;

			for (ssize_t k = 0; k < m; k++)
				hits += rows[i].key && h[k] == rows[i].key;
			if (hits && (double)hits * len / m > best[i]) {
				best[i] = (double)hits * len / m;	/* copies it holds, estimated */
				rows[i].sample = conts[c];
			}
		}
	}
}

/* ---------------------------------------------------------------- finish */

static int cmp_saving(const void *x, const void *y)
{
	const struct pmw_advice_row *a = x, *b = y;

	return a->saving < b->saving ? 1 : a->saving > b->saving ? -1 : strcmp(a->subject, b->subject);
}

int pmw_advice_finish(struct pmw_advice_acc *a, struct pmw_walk *wk, uint64_t heap_bytes,
		      bool show_values, struct pmw_advice_row *out, int max)
{
	struct rows rs = { .min = PMW_ADVICE_MIN_BYTES };
	struct pmw_pyr r;
	int err, n;

	if (heap_bytes * PMW_ADVICE_MIN_SHARE > rs.min)
		rs.min = heap_bytes * PMW_ADVICE_MIN_SHARE;
	err = pmw_pyr_init(&r, a->t, 200000, 0);
	if (err)
		return err;
	dicts_check(a);
	container_rows(a, &rs);
	boxed_rows(a, wk, &rs);
	str_rows(a, &r, show_values, &rs);
	for (size_t i = 0; i < a->cap_inst && a->t->pv->obj.interp_modules; i++)
		if (a->inst[i].type)
			slots_one(a, &r, wk, &a->inst[i], &rs);
	pmw_pyr_free(&r);
	if (rs.n)
		qsort(rs.r, rs.n, sizeof(*rs.r), cmp_saving);
	n = rs.n < max ? rs.n : max;
	if (n > 0)
		memcpy(out, rs.r, n * sizeof(*out));
	free(rs.r);
	return n;
}
