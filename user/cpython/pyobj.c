// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython objects read from target memory. Layouts: Include/object.h,
 * Include/cpython/{object,funcobject,listobject,tupleobject,setobject}.h,
 * Include/internal/pycore_{dict,object}.h, Objects/dictobject.c,
 * Modules/_collectionsmodule.c, Modules/_functoolsmodule.c (every version
 * of pyver.c's table); per-version offsets in pmw_pyver.obj.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "pyobj.h"
#include "pystack.h"

#define TYPE_HEAD	(PMW_TP_DICTOFFSET + 8)	/* bytes read of every type object */
#define BLOCKLEN	PMW_DEQUE_BLOCKLEN
#define BLOCK_SIZE	(8 + BLOCKLEN * 8 + 8)
#define MAX_ENTRIES	(1ULL << 30)	/* larger tables are bad reads */
#define MAX_DEPTH_BASE	16		/* tp_base chain */

/*
 * Pool of PMW_PYR_TYPES-slot caches (slots, blocks, heads, gen) returned by
 * pmw_pyr_free(). One: the large sessions (a walk's advice, a holder search,
 * a snapshot) run one after the other; one more at once is made and freed.
 */
struct pool_ent {
	uint32_t *slots;
	struct pmw_pytype **blocks;
	struct pmw_pyhead *heads;
	uint64_t gen;		/* heads' generations go on rising: no stale window matches */
};
static struct pool_ent pool;
static bool pooled;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t nblocks(size_t cap)
{
	return (cap / 2 + PMW_PYR_TBLOCK - 1) / PMW_PYR_TBLOCK;
}

int pmw_pyr_init(struct pmw_pyr *r, const struct pmw_target *t, uint64_t budget, size_t types)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->budget = budget;
	r->types_cap = types ? types : PMW_PYR_TYPES;
	if (r->types_cap & (r->types_cap - 1))
		return -EINVAL;
	if (r->types_cap == PMW_PYR_TYPES) {
		pthread_mutex_lock(&pool_lock);
		if (pooled) {
			r->slots = pool.slots;
			r->blocks = pool.blocks;
			r->heads = pool.heads;
			r->gen = pool.gen;
			pooled = false;
		}
		pthread_mutex_unlock(&pool_lock);
		if (r->slots)
			return 0;
	}
	r->slots = calloc(r->types_cap, sizeof(*r->slots));
	r->blocks = calloc(nblocks(r->types_cap), sizeof(*r->blocks));
	if (!r->slots || !r->blocks) {
		pmw_pyr_free(r);
		return -ENOMEM;
	}
	return 0;
}

void pmw_pyr_free(struct pmw_pyr *r)
{
	bool kept = false;

	if (r->slots && r->types_cap == PMW_PYR_TYPES) {
		memset(r->slots, 0, r->types_cap * sizeof(*r->slots));
		pthread_mutex_lock(&pool_lock);
		if (!pooled) {
			pool = (struct pool_ent){ r->slots, r->blocks, r->heads, r->gen };
			pooled = kept = true;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (!kept) {
		for (size_t b = 0; r->blocks && b < nblocks(r->types_cap); b++)
			free(r->blocks[b]);
		free(r->slots);
		free(r->blocks);
		free(r->heads);
	}
	r->slots = NULL;
	r->blocks = NULL;
	r->heads = NULL;
	r->ntypes = 0;
}

/* the type of index @k (< ntypes) */
static struct pmw_pytype *type_at(const struct pmw_pyr *r, uint32_t k)
{
	return &r->blocks[k / PMW_PYR_TBLOCK][k % PMW_PYR_TBLOCK];
}

/* room for one more type (index ntypes): NULL when its block cannot be made */
static struct pmw_pytype *type_new(struct pmw_pyr *r)
{
	struct pmw_pytype **b;

	if (r->ntypes >= nblocks(r->types_cap) * PMW_PYR_TBLOCK)
		return NULL;	/* the recursion of type_get past the check of half full */
	b = &r->blocks[r->ntypes / PMW_PYR_TBLOCK];
	if (!*b)
		*b = malloc(PMW_PYR_TBLOCK * sizeof(**b));
	return *b ? &(*b)[r->ntypes % PMW_PYR_TBLOCK] : NULL;
}

static bool spent(struct pmw_pyr *r)
{
	return r->budget && r->reads >= r->budget;
}

static size_t head_slot(uint64_t obj)
{
	return (obj >> 3) * 0x9e3779b97f4a7c15ULL >> 40 & (PMW_PYR_HEADS - 1);
}

/* the prefetched window holding [addr, addr + len), or NULL */
static const uint8_t *head_find(const struct pmw_pyr *r, uint64_t addr, size_t len)
{
	uint64_t lo, hi;

	if (!r->heads || len > PMW_PYR_HEAD_LEN || addr & 7)
		return NULL;
	/* window of obj: [obj - PRE, obj - PRE + LEN) */
	lo = addr + len + PMW_PYR_HEAD_PRE - PMW_PYR_HEAD_LEN;
	hi = addr + PMW_PYR_HEAD_PRE;
	for (uint64_t obj = (lo + 7) & ~7ULL; obj <= hi; obj += 8) {
		const struct pmw_pyhead *h = &r->heads[head_slot(obj)];

		if (h->obj == obj && h->gen == r->gen)
			return h->b + (addr - (obj - PMW_PYR_HEAD_PRE));
	}
	return NULL;
}

int pmw_pyr_read(struct pmw_pyr *r, uint64_t addr, void *buf, size_t len)
{
	const uint8_t *h = head_find(r, addr, len);

	if (h) {
		memcpy(buf, h, len);
		return 0;
	}
	if (spent(r))
		return -EDQUOT;
	r->reads++;
	return pmw_mem_read(r->t->pid, addr, buf, len);
}

size_t pmw_pyr_readv(struct pmw_pyr *r, const uint64_t *addrs, size_t piece, size_t n, void *buf,
		     uint8_t *ok)
{
	size_t i = 0, good = 0;

	memset(ok, 0, n);
	while (i < n && !spent(r)) {
		ssize_t got = pmw_mem_readv(r->t->pid, addrs + i, piece, n - i,
					    (uint8_t *)buf + i * piece);
		size_t full = got > 0 ? (size_t)got / piece : 0;

		r->reads += 1 + (n - i) / 1024;
		memset(ok + i, 1, full);
		good += full;
		i += full;
		if (i < n) {	/* piece i is unreadable: skip it */
			memset((uint8_t *)buf + i * piece, 0, piece);
			r->torn++;
			i++;
		}
	}
	return good;
}

void pmw_pyr_prefetch(struct pmw_pyr *r, const uint64_t *objs, size_t n)
{
	uint8_t (*buf)[PMW_PYR_HEAD_LEN], *ok;
	uint64_t *addrs;

	if (!n || (!r->heads && !(r->heads = calloc(PMW_PYR_HEADS, sizeof(*r->heads)))))
		return;
	r->gen++;
	if (n > PMW_PYR_HEADS / 2)
		n = PMW_PYR_HEADS / 2;
	buf = malloc(n * PMW_PYR_HEAD_LEN);
	addrs = malloc(n * sizeof(*addrs));
	ok = malloc(n);
	if (buf && addrs && ok) {
		for (size_t i = 0; i < n; i++)
			addrs[i] = objs[i] - PMW_PYR_HEAD_PRE;
		pmw_pyr_readv(r, addrs, PMW_PYR_HEAD_LEN, n, buf, ok);
		for (size_t i = 0; i < n; i++) {
			struct pmw_pyhead *h = &r->heads[head_slot(objs[i])];

			if (!ok[i])
				continue;
			h->obj = objs[i];
			h->gen = r->gen;
			memcpy(h->b, buf[i], PMW_PYR_HEAD_LEN);
		}
	}
	free(buf);
	free(addrs);
	free(ok);
}

/* @n entries of @esize bytes at @base + i * @stride * @esize into @buf; entries read */
static size_t read_strided(struct pmw_pyr *r, uint64_t base, size_t esize, uint64_t stride,
			   size_t n, void *buf)
{
	uint64_t *addrs;
	uint8_t *ok;
	size_t got = 0;

	if (!n)
		return 0;
	if (stride <= 1)
		return pmw_pyr_read(r, base, buf, n * esize) ? 0 : n;
	addrs = malloc(n * sizeof(*addrs));
	ok = malloc(n);
	if (addrs && ok) {
		for (size_t i = 0; i < n; i++)
			addrs[i] = base + i * stride * esize;
		/* unreadable entries are left zero: empty slots to the callers */
		got = pmw_pyr_readv(r, addrs, esize, n, buf, ok) ? n : 0;
	}
	free(addrs);
	free(ok);
	return got;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* kind of a built-in type by tp_name; module types may be heap types (3.10+) */
static enum pmw_pykind kind_by_name(const char *name, bool heap)
{
	static const struct { const char *name; enum pmw_pykind kind; } names[] = {
		{ "str", PMW_PK_STR }, { "bytes", PMW_PK_BYTES }, { "int", PMW_PK_INT },
		{ "bool", PMW_PK_INT }, { "tuple", PMW_PK_TUPLE }, { "list", PMW_PK_LIST },
		{ "dict", PMW_PK_DICT }, { "set", PMW_PK_SET }, { "frozenset", PMW_PK_SET },
		{ "module", PMW_PK_MODULE }, { "type", PMW_PK_TYPE }, { "function", PMW_PK_FUNCTION },
		{ "cell", PMW_PK_CELL }, { "method", PMW_PK_METHOD },
		{ "staticmethod", PMW_PK_WRAPPER }, { "classmethod", PMW_PK_WRAPPER },
	};

	if (!strcmp(name, "collections.deque"))
		return PMW_PK_DEQUE;
	if (!strcmp(name, "functools._lru_cache_wrapper"))
		return PMW_PK_LRU;
	if (!strcmp(name, "functools.partial"))
		return PMW_PK_PARTIAL;
	if (heap)
		return PMW_PK_OTHER;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i].name))
			return names[i].kind;
	return PMW_PK_OTHER;
}

/* the object members (__slots__) of a heap type's own PyMemberDef array */
static void type_slots(struct pmw_pyr *r, struct pmw_pytype *ty, uint64_t members)
{
	uint8_t m[PMW_MEMBERDEF_SIZE];

	/* entry by entry: the array ends the type's allocation */
	for (int i = 0; members && i < 64 && ty->nslots < PMW_PYTYPE_SLOTS; i++) {
		uint64_t name;
		int64_t off;
		int32_t type;

		if (pmw_pyr_read(r, members + i * PMW_MEMBERDEF_SIZE, m, sizeof(m)))
			break;
		name = rd64(m, 0);
		off = (int64_t)rd64(m, 16);
		memcpy(&type, m + 8, sizeof(type));
		if (!name)
			break;
		if ((type == PMW_T_OBJECT_EX || type == PMW_T_OBJECT) && off >= 16 &&
		    off + 8 <= ty->basicsize && off < UINT16_MAX && !(off & 7)) {
			ty->slot_off[ty->nslots] = off;
			ty->slot_name[ty->nslots++] = name;
		}
	}
}

static const struct pmw_pytype *type_get(struct pmw_pyr *r, uint64_t type, int depth)
{
	size_t mask = r->types_cap - 1, i = (type >> 3) * 0x9e3779b97f4a7c15ULL >> 40 & mask;
	struct pmw_pytype ty = { .addr = type }, *slot;
	const struct pmw_pytype *base = NULL;
	uint8_t head[TYPE_HEAD];

	if (!pmw_pyptr_ok(type))
		return NULL;
	for (; r->slots[i]; i = (i + 1) & mask) {
		slot = type_at(r, r->slots[i] - 1);
		if (slot->addr == type)
			return slot->name[0] ? slot : NULL;
	}
	if (r->ntypes * 2 >= r->types_cap || spent(r))
		return NULL;
	if (pmw_pyr_read(r, type, head, sizeof(head)) ||
	    pmw_type_name(r->t, type, ty.name, sizeof(ty.name))) {
		ty.name[0] = 0;
		r->torn++;
		goto store;
	}
	r->reads += 3;	/* pmw_type_name: the metatype's flags and the name */
	ty.flags = rd64(head, PMW_TP_FLAGS);
	ty.basicsize = (int64_t)rd64(head, PMW_TP_BASICSIZE);
	ty.itemsize = (int64_t)rd64(head, PMW_TP_ITEMSIZE);
	ty.dictoffset = (int64_t)rd64(head, PMW_TP_DICTOFFSET);
	ty.dict = rd64(head, PMW_TP_DICT);
	ty.base = rd64(head, PMW_TP_BASE);
	ty.heap = ty.flags & PMW_TPFLAGS_HEAPTYPE;
	if (!pmw_type_head_ok(head)) {
		ty.name[0] = 0;
		r->torn++;
		goto store;
	}
	if (ty.heap && r->t->pv->obj.ht_cached_keys &&
	    pmw_pyr_read(r, type + r->t->pv->obj.ht_cached_keys, &ty.cached_keys, 8))
		ty.cached_keys = 0;
	if (ty.heap)
		type_slots(r, &ty, rd64(head, PMW_TP_MEMBERS));
	ty.kind = kind_by_name(ty.name, ty.heap);
	if (ty.kind == PMW_PK_OTHER && ty.base && depth < MAX_DEPTH_BASE)
		base = type_get(r, ty.base, depth + 1);
	if (base) {
		switch (base->kind) {
		case PMW_PK_TUPLE: case PMW_PK_LIST: case PMW_PK_DICT: case PMW_PK_SET:
		case PMW_PK_DEQUE: case PMW_PK_TYPE: case PMW_PK_MODULE:
			ty.kind = base->kind;
			break;
		default:
			break;
		}
	}
	if (ty.kind == PMW_PK_OTHER && ty.heap)
		ty.kind = PMW_PK_INSTANCE;
store:
	/* the recursion above may have filled our slot's neighbourhood: probe again */
	i = (type >> 3) * 0x9e3779b97f4a7c15ULL >> 40 & mask;
	while (r->slots[i] && type_at(r, r->slots[i] - 1)->addr != type)
		i = (i + 1) & mask;
	if (r->slots[i]) {	/* stored by the recursion (a type chain through itself) */
		slot = type_at(r, r->slots[i] - 1);
		return slot->name[0] ? slot : NULL;
	}
	if (!(slot = type_new(r)))
		return NULL;
	*slot = ty;
	r->slots[i] = (uint32_t)++r->ntypes;
	return slot->name[0] ? slot : NULL;
}

bool pmw_type_head_ok(const uint8_t *head)
{
	uint64_t flags = rd64(head, PMW_TP_FLAGS);
	int64_t basicsize = (int64_t)rd64(head, PMW_TP_BASICSIZE);
	int64_t itemsize = (int64_t)rd64(head, PMW_TP_ITEMSIZE);

	return flags & PMW_TPFLAGS_READY && basicsize >= 16 && basicsize <= (1 << 24) &&
	       itemsize >= 0 && itemsize <= 1024 && pmw_pyptr_ok(rd64(head, PMW_OB_TYPE));
}

const struct pmw_pytype *pmw_pytype_get(struct pmw_pyr *r, uint64_t type)
{
	return type_get(r, type, 0);
}

const struct pmw_pytype *pmw_pyobj_type(struct pmw_pyr *r, uint64_t obj)
{
	uint64_t type;

	if (!pmw_pyptr_ok(obj) || pmw_pyr_read(r, obj + PMW_OB_TYPE, &type, sizeof(type)))
		return NULL;
	return pmw_pytype_get(r, type);
}

int pmw_pyobj_str(struct pmw_pyr *r, uint64_t obj, char *buf, size_t len)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);

	if (!ty || ty->kind != PMW_PK_STR || ty->heap || spent(r))
		return -EINVAL;
	r->reads += 2;
	return pmw_read_str(r->t, obj, buf, len);
}

int pmw_pyobj_int(struct pmw_pyr *r, uint64_t obj, int64_t *v)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);
	struct { uint64_t refcnt, type; int64_t size; uint32_t digit[2]; } o;
	int64_t n;
	int neg;

	if (!ty || ty->kind != PMW_PK_INT || ty->heap || pmw_pyr_read(r, obj, &o, sizeof(o)))
		return -EINVAL;
	if (r->t->pv->obj.long_tag) {	/* lv_tag: ndigits << 3 | sign (0 +, 1 zero, 2 -) */
		n = (uint64_t)o.size >> 3;
		neg = (o.size & 3) == 2;
	} else {
		n = o.size < 0 ? -o.size : o.size;
		neg = o.size < 0;
	}
	if (n > 2)
		return -EINVAL;
	*v = (n > 0 ? o.digit[0] : 0) | (n > 1 ? (int64_t)o.digit[1] << 30 : 0);
	if (neg)
		*v = -*v;
	return 0;
}

int pmw_dict_keys_parse(const struct pmw_pyver *pv, uint64_t keys,
			const uint8_t h[PMW_DICT_KEYS_HEAD], struct pmw_dict_keys *k)
{
	memset(k, 0, sizeof(*k));
	if (pv->obj.dict_keys_311) {
		/* dk_log2_size @8, dk_log2_index_bytes @9, dk_kind @10, dk_nentries @24, dk_indices @32 */
		unsigned int lsize = h[8], lix = h[9], kind = h[10];

		if (lsize < 3 || lsize > 30 || lix > lsize + 3 || kind > 2)
			return -EFAULT;
		k->size = 1ULL << lsize;
		k->index_bytes = 1ULL << lix;
		k->nentries = rd64(h, 24);
		k->entries = keys + 32 + k->index_bytes;
		k->esize = kind ? 16 : 24;	/* unicode (and split) entries have no hash */
		k->key_off = kind ? 0 : 8;
		k->val_off = kind ? 8 : 16;
	} else {
		/* dk_size @8, dk_nentries @32, dk_indices @40: 1/2/4/8-byte indices by size */
		uint64_t size = rd64(h, 8);

		if (size < 8 || size > MAX_ENTRIES || (size & (size - 1)))
			return -EFAULT;
		k->size = size;
		k->index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
		k->nentries = rd64(h, 32);
		k->entries = keys + 40 + k->index_bytes;
		k->esize = 24;
		k->key_off = 8;
		k->val_off = 16;
	}
	if (k->nentries > k->size)
		return -EFAULT;
	return 0;
}

static int keys_read(struct pmw_pyr *r, uint64_t keys, struct pmw_dict_keys *k)
{
	uint8_t h[PMW_DICT_KEYS_HEAD];

	if (!pmw_pyptr_ok(keys) || pmw_pyr_read(r, keys, h, sizeof(h)))
		return -EFAULT;
	return pmw_dict_keys_parse(r->t->pv, keys, h, k);
}

/* append (key, value, slot) to @out if the pointers are plausible, else count a torn read */
static void put_item(struct pmw_pyr *r, struct pmw_pyitem *out, size_t *cnt, uint64_t key,
		     uint64_t value, uint64_t slot)
{
	if ((key && !pmw_pyptr_ok(key)) || !pmw_pyptr_ok(value)) {
		r->torn++;
		return;
	}
	out[*cnt] = (struct pmw_pyitem){ key, value, slot };
	(*cnt)++;
}

/*
 * Entries 0, stride, ... of a keys table; values from @values (a split
 * table's values array) when non-zero, else from the entries.
 */
static ssize_t table_items(struct pmw_pyr *r, const struct pmw_dict_keys *k, uint64_t values,
			   uint64_t nvalues, uint64_t stride, struct pmw_pyitem *out, size_t max)
{
	uint64_t n = k->nentries, want;
	uint8_t *ent = NULL;
	uint64_t *val = NULL;
	size_t got, vgot = 0, cnt = 0;

	if (values && nvalues < n)
		n = nvalues;
	if (!stride)
		stride = 1;
	want = (n + stride - 1) / stride;
	if (want > max)
		want = max;
	if (!want)
		return 0;
	ent = malloc(want * k->esize);
	val = values ? malloc(want * sizeof(*val)) : NULL;
	if (!ent || (values && !val)) {
		free(ent);
		free(val);
		return -ENOMEM;
	}
	got = read_strided(r, k->entries, k->esize, stride, want, ent);
	if (values)
		vgot = read_strided(r, values, 8, stride, want, val);
	if (got < want || (values && vgot < got))
		r->torn++;
	for (size_t i = 0; i < got && (!values || i < vgot); i++) {
		uint64_t key = rd64(ent + i * k->esize, k->key_off);
		uint64_t v = values ? val[i] : rd64(ent + i * k->esize, k->val_off);

		if (!key || !v)
			continue;	/* deleted entry, or no value in this split table */
		put_item(r, out, &cnt, key, v, values ? values + i * stride * 8
						   : k->entries + i * stride * k->esize + k->val_off);
	}
	free(ent);
	free(val);
	return cnt;
}

/* the dict header: ma_used, ma_keys, ma_values; -EFAULT if implausible */
static int dict_head(struct pmw_pyr *r, uint64_t dict, int64_t *used, uint64_t *keys,
		     uint64_t *values)
{
	uint8_t d[48];

	if (!pmw_pyptr_ok(dict) || pmw_pyr_read(r, dict, d, sizeof(d)))
		return -EFAULT;
	*used = (int64_t)rd64(d, PMW_MA_USED);	/* ma_keys, ma_values follow */
	*keys = rd64(d, PMW_MA_KEYS);
	*values = rd64(d, PMW_MA_VALUES);
	if (*used < 0 || (uint64_t)*used > MAX_ENTRIES || !pmw_pyptr_ok(*keys) ||
	    (*values && !pmw_pyptr_ok(*values)))
		return -EFAULT;
	return 0;
}

/* items of an object already known to be a dict */
static ssize_t dict_items(struct pmw_pyr *r, uint64_t dict, uint64_t stride,
			  struct pmw_pyitem *out, size_t max)
{
	struct pmw_dict_keys k;
	uint64_t keys, values;
	int64_t used;
	ssize_t n;

	if (dict_head(r, dict, &used, &keys, &values)) {
		r->torn++;
		return -EFAULT;
	}
	if (!used)	/* an empty dict may share the static Py_EMPTY_KEYS (size 1) */
		return 0;
	if (keys_read(r, keys, &k)) {
		r->torn++;
		return -EFAULT;
	}
	n = table_items(r, &k, values ? values + r->t->pv->obj.dict_values_hdr : 0, k.nentries,
			stride, out, max);
	return n;
}

ssize_t pmw_dict_items(struct pmw_pyr *r, uint64_t dict, uint64_t stride,
		       struct pmw_pyitem *out, size_t max)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, dict);

	if (!ty || ty->kind != PMW_PK_DICT)
		return -EINVAL;
	return dict_items(r, dict, stride, out, max);
}

int64_t pmw_dict_nentries(struct pmw_pyr *r, uint64_t dict)
{
	struct pmw_dict_keys k;
	uint64_t keys, values;
	int64_t used;

	if (dict_head(r, dict, &used, &keys, &values) || keys_read(r, keys, &k))
		return -EFAULT;
	return k.nentries;
}

int64_t pmw_pyobj_len(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty)
{
	int64_t v[1];

	switch (ty->kind) {
	case PMW_PK_LIST: case PMW_PK_TUPLE: case PMW_PK_DEQUE:	/* ob_size */
		if (pmw_pyr_read(r, obj + PMW_OB_SIZE, v, 8))
			return -EFAULT;
		break;
	case PMW_PK_DICT:	/* ma_used */
		if (pmw_pyr_read(r, obj + PMW_MA_USED, v, 8))
			return -EFAULT;
		break;
	case PMW_PK_SET:
		if (pmw_pyr_read(r, obj + PMW_SET_USED, v, 8))
			return -EFAULT;
		break;
	default:
		return -EINVAL;
	}
	return v[0] < 0 || (uint64_t)v[0] > MAX_ENTRIES ? -EFAULT : v[0];
}

/* pointers @ptrs[0..n) -> items with their slots at @base + i * stride * 8 */
static size_t ptr_items(struct pmw_pyr *r, const uint64_t *ptrs, size_t n, uint64_t base,
			uint64_t stride, struct pmw_pyitem *out)
{
	size_t cnt = 0;

	for (size_t i = 0; i < n; i++)
		if (ptrs[i])
			put_item(r, out, &cnt, 0, ptrs[i], base + i * stride * 8);
	return cnt;
}

static ssize_t array_items(struct pmw_pyr *r, uint64_t base, uint64_t n, uint64_t stride,
			   struct pmw_pyitem *out, size_t max)
{
	uint64_t want = (n + stride - 1) / stride, *ptrs;
	size_t got, cnt;

	if (want > max)
		want = max;
	if (!want)
		return 0;
	if (!pmw_pyptr_ok(base))
		return -EFAULT;
	ptrs = malloc(want * sizeof(*ptrs));
	if (!ptrs)
		return -ENOMEM;
	got = read_strided(r, base, 8, stride, want, ptrs);
	if (got < want)
		r->torn++;
	cnt = ptr_items(r, ptrs, got, base, stride, out);
	free(ptrs);
	return cnt;
}

static ssize_t set_items(struct pmw_pyr *r, uint64_t obj, uint64_t stride,
			 struct pmw_pyitem *out, size_t max)
{
	uint64_t h[2], slots, table, chunk[2 * 256];
	size_t cnt = 0;

	/* mask @32, table @40; entries { key, hash }, dummy entries have hash -1 */
	if (pmw_pyr_read(r, obj + PMW_SET_MASK, h, sizeof(h)) || h[0] >= MAX_ENTRIES ||
	    !pmw_pyptr_ok(h[1]))
		return -EFAULT;
	slots = h[0] + 1;
	table = h[1];
	for (uint64_t s = 0; s < slots && cnt < max;) {
		size_t n = (slots - s + stride - 1) / stride, got;

		if (n > 256)
			n = 256;
		got = read_strided(r, table + s * 16, 16, stride, n, chunk);
		if (!got) {
			r->torn++;
			break;
		}
		for (size_t i = 0; i < got && cnt < max; i++) {
			uint64_t key = chunk[2 * i];

			if (key && (int64_t)chunk[2 * i + 1] != -1)
				put_item(r, out, &cnt, 0, key, table + (s + i * stride) * 16);
		}
		s += n * stride;
	}
	return cnt;
}

int64_t pmw_deque_each(pmw_read_fn rd, void *ctx, uint64_t left, int64_t lindex, int64_t len,
		       pmw_item_fn fn, void *arg)
{
	uint64_t blk[BLOCK_SIZE / 8], block = left;
	int64_t pos = 0, idx = lindex;

	if (len < 0 || (uint64_t)len > MAX_ENTRIES || idx < 0 || idx >= BLOCKLEN)
		return -EFAULT;
	/* at most len / 64 + 2 blocks: a loop of blocks ends there */
	for (int64_t nb = 0; pos < len && nb <= len / BLOCKLEN + 1; nb++) {
		if (!pmw_pyptr_ok(block) || rd(ctx, block, blk, sizeof(blk)))
			return -EFAULT;
		for (; idx < BLOCKLEN && pos < len; idx++, pos++)
			if (fn(arg, pos, blk[1 + idx], block + 8 + idx * 8))
				return pos + 1;
		block = blk[1 + BLOCKLEN];
		idx = 0;
	}
	return pos;
}

struct deque_out {
	struct pmw_pyr *r;
	struct pmw_pyitem *out;
	size_t cnt, max;
	uint64_t stride;
};

static int deque_put(void *arg, uint64_t pos, uint64_t item, uint64_t slot)
{
	struct deque_out *d = arg;

	if (!(pos % d->stride))
		put_item(d->r, d->out, &d->cnt, 0, item, slot);
	return d->cnt >= d->max;
}

static int pyr_read_fn(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return pmw_pyr_read(ctx, addr, buf, len);
}

static ssize_t deque_items(struct pmw_pyr *r, uint64_t obj, uint64_t stride,
			   struct pmw_pyitem *out, size_t max)
{
	struct deque_out d = { .r = r, .out = out, .max = max, .stride = stride };
	uint64_t h[4];	/* ob_size, leftblock, rightblock, leftindex */

	if (!max)
		return 0;
	if (pmw_pyr_read(r, obj + PMW_OB_SIZE, h, sizeof(h)))
		return -EFAULT;
	if (pmw_deque_each(pyr_read_fn, r, h[(PMW_DEQUE_LEFT - PMW_OB_SIZE) / 8],
			   (int64_t)h[(PMW_DEQUE_LINDEX - PMW_OB_SIZE) / 8],
			   (int64_t)h[0], deque_put, &d) < 0) {
		r->torn++;
		if (!d.cnt)
			return -EFAULT;
	}
	return d.cnt;
}

ssize_t pmw_seq_items(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
		      uint64_t stride, struct pmw_pyitem *out, size_t max)
{
	uint64_t h[3];

	if (!stride)
		stride = 1;
	switch (ty->kind) {
	case PMW_PK_LIST:	/* ob_size @16, ob_item @24, allocated @32 */
		if (pmw_pyr_read(r, obj + PMW_OB_SIZE, h, sizeof(h)) || h[0] > h[2] ||
		    h[2] > MAX_ENTRIES)
			break;
		return array_items(r, h[1], h[0], stride, out, max);
	case PMW_PK_TUPLE:
		if (pmw_pyr_read(r, obj + PMW_OB_SIZE, h, 8) || h[0] > MAX_ENTRIES)
			break;
		return array_items(r, obj + r->t->pv->obj.tuple_items, h[0], stride, out, max);
	case PMW_PK_SET:
		return set_items(r, obj, stride, out, max);
	case PMW_PK_DEQUE:
		return deque_items(r, obj, stride, out, max);
	default:
		return -EINVAL;
	}
	r->torn++;
	return -EFAULT;
}

/* attributes in a values array shared with the type's cached keys */
static ssize_t values_items(struct pmw_pyr *r, const struct pmw_pytype *ty, uint64_t values,
			    uint64_t nvalues, struct pmw_pyitem *out, size_t max)
{
	struct pmw_dict_keys k;

	if (!ty->cached_keys || keys_read(r, ty->cached_keys, &k)) {
		r->torn++;
		return -EFAULT;
	}
	return table_items(r, &k, values, nvalues, 1, out, max);
}

ssize_t pmw_instance_attrs(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
			   struct pmw_pyitem *out, size_t max, uint64_t *dict)
{
	const struct pmw_pyobj_off *o = &r->t->pv->obj;
	uint64_t pre[2] = { 0, 0 };	/* obj[-4], obj[-3] */
	uint8_t vh[8];

	*dict = 0;
	if (ty->dictoffset > 0 && ty->dictoffset < ty->basicsize + 8) {
		if (pmw_pyr_read(r, obj + ty->dictoffset, dict, 8))
			return -EFAULT;
	} else if (o->managed != PMW_MD_NONE && (ty->flags & PMW_TPFLAGS_MANAGED_DICT)) {
		if (pmw_pyr_read(r, obj - PMW_PREHEADER_SIZE, pre, sizeof(pre)))
			return -EFAULT;
		switch (o->managed) {
		case PMW_MD_311:	/* dict at obj[-3], PyDictValues * at obj[-4] */
			*dict = pre[1];
			if (!*dict && pre[0])
				return values_items(r, ty, pre[0], UINT64_MAX, out, max);
			break;
		case PMW_MD_312:	/* PyDictOrValues: values - 1 (odd), or the dict */
			if (pre[1] & 1)
				return values_items(r, ty, pre[1] + 1, UINT64_MAX, out, max);
			*dict = pre[1];
			break;
		default:		/* 3.13+: dict, else inline values after the object */
			*dict = pre[1];
			if (*dict || !(ty->flags & PMW_TPFLAGS_INLINE_VALUES))
				break;
			/* PyDictValues { capacity, size, embedded, valid, values[] } */
			if (pmw_pyr_read(r, obj + ty->basicsize, vh, sizeof(vh)))
				return -EFAULT;
			if (!vh[3])
				return 0;	/* not valid: being materialized */
			return values_items(r, ty, obj + ty->basicsize + o->dict_values_hdr, vh[0],
					    out, max);
		}
	}
	if (!*dict)
		return 0;
	if (!pmw_pyptr_ok(*dict)) {
		r->torn++;
		*dict = 0;
		return -EFAULT;
	}
	return pmw_dict_items(r, *dict, 1, out, max);
}

int pmw_pyr_cstr(struct pmw_pyr *r, uint64_t addr, char *buf, size_t len)
{
	size_t n;

	/* a C name is short: one read that may stop at a page end, then byte by byte */
	if (!len || !addr)
		return -EFAULT;
	memset(buf, 0, len);
	if (pmw_pyr_read(r, addr, buf, len - 1))
		for (n = 0; n + 1 < len && !pmw_pyr_read(r, addr + n, buf + n, 1) && buf[n]; n++)
			;
	buf[len - 1] = 0;
	for (n = 0; buf[n]; n++)
		if ((unsigned char)buf[n] < 0x20 || (unsigned char)buf[n] > 0x7e)
			return -EFAULT;
	return n ? (int)n : -EFAULT;
}

ssize_t pmw_instance_slots(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
			   struct pmw_pyitem *out, size_t max)
{
	size_t cnt = 0;
	uint64_t v;

	for (int depth = 0; ty && ty->heap && depth < 16; depth++) {
		for (int i = 0; i < ty->nslots && cnt < max; i++) {
			if (pmw_pyr_read(r, obj + ty->slot_off[i], &v, sizeof(v)) || !v)
				continue;
			put_item(r, out, &cnt, 0, v, obj + ty->slot_off[i]);
			if (cnt && out[cnt - 1].slot == obj + ty->slot_off[i])
				out[cnt - 1].key = ty->slot_name[i];
		}
		ty = ty->base ? pmw_pytype_get(r, ty->base) : NULL;
	}
	return cnt;
}

int pmw_func_read(struct pmw_pyr *r, uint64_t func, struct pmw_pyfunc *f)
{
	const struct pmw_pyobj_off *o = &r->t->pv->obj;
	uint8_t b[120];

	if (!o->func_closure || pmw_pyr_read(r, func, b, sizeof(b)))
		return -EFAULT;
	f->qualname = rd64(b, o->func_qualname);
	f->module = rd64(b, o->func_module);
	f->defaults = rd64(b, o->func_defaults);
	f->kwdefaults = rd64(b, o->func_kwdefaults);
	f->closure = rd64(b, o->func_closure);
	return 0;
}

uint64_t pmw_cell_get(struct pmw_pyr *r, uint64_t cell)
{
	uint64_t v;

	if (pmw_pyr_read(r, cell + PMW_CELL_REF, &v, sizeof(v)) || !pmw_pyptr_ok(v))
		return 0;
	return v;
}

int pmw_lru_read(struct pmw_pyr *r, uint64_t wrapper, uint64_t *cache, uint64_t *func)
{
	const struct pmw_pyobj_off *o = &r->t->pv->obj;
	const struct pmw_pytype *ty;

	if (!o->lru_cache || pmw_pyr_read(r, wrapper + o->lru_cache, cache, 8) ||
	    pmw_pyr_read(r, wrapper + o->lru_func, func, 8))
		return -EFAULT;
	ty = pmw_pyobj_type(r, *cache);
	if (!ty || ty->kind != PMW_PK_DICT) {
		r->torn++;
		return -EFAULT;
	}
	return 0;
}

int pmw_qualified_name(struct pmw_pyr *r, uint64_t obj, char *buf, size_t len)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);
	struct pmw_pyfunc f;
	int n;

	if (!ty || ty->kind != PMW_PK_FUNCTION || pmw_func_read(r, obj, &f))
		return -ENOENT;
	n = pmw_pyobj_str(r, f.module, buf, len);
	if (n < 0 || (size_t)n + 2 >= len)
		n = 0;
	else
		buf[n++] = '.';
	return pmw_pyobj_str(r, f.qualname, buf + n, len - n) < 0 ? -ENOENT : 0;
}

/* bytes of a dict's own tables (Objects/dictobject.c _PyDict_SizeOf) */
static int64_t dict_tables(struct pmw_pyr *r, uint64_t dict)
{
	struct pmw_dict_keys k;
	uint64_t keys, values;
	int64_t used, usable;

	if (dict_head(r, dict, &used, &keys, &values) || keys_read(r, keys, &k))
		return -EFAULT;
	usable = (k.size << 1) / 3;
	if (values)	/* split: the values array; the keys belong to the type */
		return (int64_t)k.nentries * 8 + r->t->pv->obj.dict_values_hdr;
	return (r->t->pv->obj.dict_keys_311 ? 32 : 40) + k.index_bytes + usable * k.esize;
}

static uint64_t rd_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t pmw_obj_self_size(const struct pmw_pyver *pv, uint64_t flags, int64_t basicsize,
			   int64_t itemsize, const uint8_t *h, size_t avail)
{
	int64_t n = avail >= PMW_OB_SIZE + 8 ? (int64_t)rd_u64(h + PMW_OB_SIZE) : 0;
	uint64_t un = n < 0 ? 0 - (uint64_t)n : (uint64_t)n, sz = basicsize;
	bool str = flags & PMW_TPFLAGS_UNICODE_SUBCLASS && !(flags & PMW_TPFLAGS_HEAPTYPE);

	/* a count (length, digits, items) past MAX_ENTRIES is a bad read */
	if ((str || flags & PMW_TPFLAGS_LONG_SUBCLASS || itemsize > 0) && un > MAX_ENTRIES * 8)
		return UINT64_MAX;
	if (str) {
		uint32_t st, kind;	/* length is ob_size's slot */

		if (avail < PMW_STR_STATE + 4)
			return UINT64_MAX;
		memcpy(&st, h + PMW_STR_STATE, sizeof(st));
		kind = (st >> 2) & 7;
		if (n >= 0 && (st >> 5) & 1)	/* else not compact: data elsewhere, not counted */
			sz = (st >> 6) & 1 ? pv->ascii_data + un + 1 :
					     pv->compact_data + (un + 1) * (kind ? kind : 1);
	} else if (flags & PMW_TPFLAGS_LONG_SUBCLASS) {
		uint64_t nd = pv->obj.long_tag ? un >> 3 : un;	/* 3.12+: lv_tag */

		sz = PMW_LONG_DIGITS + (nd ? nd : pv->obj.long_digits_min) * 4;
	} else if (itemsize > 0) {
		sz += un * itemsize;
	}
	if (sz > (1ULL << 40))
		return UINT64_MAX;
	return sz + pmw_head_off(pv, flags);
}

int64_t pmw_pyobj_getsizeof(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty)
{
	const struct pmw_pyver *pv = r->t->pv;
	uint64_t h[6], self;	/* refcnt, type, @16, @24, @32, @40 */
	int64_t size, extra;

	if (pmw_pyr_read(r, obj, h, sizeof(h)))
		return -EFAULT;
	self = pmw_obj_self_size(pv, ty->flags, ty->basicsize, ty->itemsize, (uint8_t *)h,
				 sizeof(h));
	if (self == UINT64_MAX)
		return -EFAULT;
	size = (int64_t)self;
	switch (ty->kind) {
	case PMW_PK_LIST:	/* allocated @32 */
		if (h[4] > MAX_ENTRIES)
			return -EFAULT;
		size += (int64_t)h[4] * 8;
		break;
	case PMW_PK_DICT:
		extra = dict_tables(r, obj);
		size += extra > 0 ? extra : 0;
		break;
	case PMW_PK_SET:	/* table @40 elsewhere than smalltable @64: (mask + 1) entries */
		if (h[4] > MAX_ENTRIES)
			return -EFAULT;
		if (h[5] != obj + PMW_SET_SMALLTABLE)
			size += (int64_t)(h[4] + 1) * 16;
		break;
	case PMW_PK_DEQUE:	/* blocks of 64 */
		if (h[2] > MAX_ENTRIES)
			return -EFAULT;
		size += (int64_t)(h[2] / BLOCKLEN + 1) * BLOCK_SIZE;
		break;
	default:
		break;
	}
	if (pv->obj.managed == PMW_MD_313 && (ty->flags & PMW_TPFLAGS_INLINE_VALUES)) {
		uint8_t cap;

		if (!pmw_pyr_read(r, obj + ty->basicsize, &cap, 1))
			size += pv->obj.dict_values_hdr + cap * 8;
	}
	return size;
}
