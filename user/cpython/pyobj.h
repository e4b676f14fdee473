/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Validated readers of CPython objects in another process's memory
 * (process_vm_readv through pmw_mem_read): types, str, dict/list/tuple/set/
 * deque items, module and type dicts, instance attributes, functions and
 * functools.lru_cache wrappers, real object sizes. Every pointer comes from
 * the target and is untrusted: each is checked for alignment and range,
 * every length against a cap, and an object that fails a check is skipped
 * and counted in pmw_pyr.torn. x86_64 GIL builds, 3.8+; layouts per version
 * in pmw_pyver.obj (user/cpython/pyver.c).
 */
#ifndef PMW_PYOBJ_H
#define PMW_PYOBJ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyproc.h"

struct pmw_pyver;

/* what an object is, by the nearest built-in type in its tp_base chain */
enum pmw_pykind {
	PMW_PK_OTHER,		/* a built-in type we do not look into */
	PMW_PK_INSTANCE,	/* instance of a class (heap type) with no built-in container base */
	PMW_PK_STR, PMW_PK_BYTES, PMW_PK_INT,
	PMW_PK_TUPLE, PMW_PK_LIST, PMW_PK_DICT, PMW_PK_SET, PMW_PK_DEQUE,
	PMW_PK_MODULE, PMW_PK_TYPE, PMW_PK_FUNCTION, PMW_PK_CELL, PMW_PK_LRU,
	PMW_PK_METHOD,		/* bound method: __func__, __self__ */
	PMW_PK_WRAPPER,		/* staticmethod, classmethod: __func__ */
	PMW_PK_PARTIAL,		/* functools.partial: func, args, keywords */
};

#define PMW_PYTYPE_SLOTS	16	/* __slots__ members followed per class */

/* A type object read from the target (cached per reader by address). */
struct pmw_pytype {
	uint64_t addr;			/* 0 = empty cache slot */
	char name[64];			/* tp_name ("dict", "Session", "collections.deque") */
	uint64_t flags;			/* tp_flags */
	int64_t basicsize, itemsize;	/* tp_basicsize, tp_itemsize */
	int64_t dictoffset;		/* tp_dictoffset (> 0: instance dict pointer there) */
	uint64_t dict;			/* tp_dict (heap types; NULL for static types 3.12+) */
	uint64_t cached_keys;		/* heap types: ht_cached_keys (shared instance keys) */
	uint64_t base;			/* tp_base */
	/* heap types: object members of its own tp_members (__slots__): offset, C name address */
	uint8_t nslots;
	uint16_t slot_off[PMW_PYTYPE_SLOTS];
	uint64_t slot_name[PMW_PYTYPE_SLOTS];
	bool heap;			/* Py_TPFLAGS_HEAPTYPE */
	enum pmw_pykind kind;
};

/* a prefetched window [obj - PRE, obj - PRE + LEN): the pre-header and head of an object */
#define PMW_PYR_HEADS		8192	/* slots, power of two */
#define PMW_PYR_HEAD_PRE	PMW_PREHEADER_SIZE	/* the window starts at the pre-header */
#define PMW_PYR_HEAD_LEN	160
struct pmw_pyhead {
	uint64_t obj;
	uint64_t gen;
	uint8_t b[PMW_PYR_HEAD_LEN];
};

/* One reading session over a target: budget, counters, type and head caches. */
struct pmw_pyr {
	const struct pmw_target *t;
	uint64_t reads;			/* process_vm_readv calls made */
	uint64_t budget;		/* stop reading after this many calls; 0 = no limit */
	uint64_t torn;			/* objects skipped: unreadable or failing a check */
	/* type cache: open-addressed slots (0 empty, else 1 + the type's index) over
	 * blocks of PMW_PYR_TBLOCK types that never move (callers keep pointers) */
	uint32_t *slots;
	struct pmw_pytype **blocks;
	size_t ntypes, types_cap;
	struct pmw_pyhead *heads;	/* prefetched object heads (pmw_pyr_prefetch) */
	uint64_t gen;			/* heads of this generation are valid */
};

/* (key, value) of a dict or attribute table; key 0 for sequences, the member's C name for slots */
struct pmw_pyitem {
	uint64_t key;
	uint64_t value;
	uint64_t slot;			/* target address of the pointer to value */
};

/*
 * Start a session on @t that makes at most @budget reads (0: unlimited),
 * caching up to half of @types type objects (a power of two; 0: PMW_PYR_TYPES,
 * enough for a large application). 0, -EINVAL or -ENOMEM.
 * Sessions of PMW_PYR_TYPES slots take their type and head caches from a
 * process-wide pool (thread-safe) that pmw_pyr_free() returns them to: the
 * slots cleared (128 KiB), the blocks of types met kept. Memory follows the
 * types met (~75 KiB a block of 256), stays at its high-water mark, and is
 * no longer ~7 MiB calloc'd, spread by the hash, and freed per session
 * (issue 18 point 4).
 */
#define PMW_PYR_TYPES	32768
#define PMW_PYR_TBLOCK	256
int pmw_pyr_init(struct pmw_pyr *r, const struct pmw_target *t, uint64_t budget, size_t types);
void pmw_pyr_free(struct pmw_pyr *r);

/*
 * Counted read of @len bytes, served from the prefetched heads when it falls
 * inside one. 0, -EDQUOT (budget spent), -EFAULT, -ESRCH.
 */
int pmw_pyr_read(struct pmw_pyr *r, uint64_t addr, void *buf, size_t len);

/*
 * Read @piece bytes at each of @addrs into @buf (readv, 1024 pieces a call).
 * An unreadable piece is zero-filled, ok[i] = 0, counted torn, and the rest
 * is read on. Returns the pieces read.
 */
size_t pmw_pyr_readv(struct pmw_pyr *r, const uint64_t *addrs, size_t piece, size_t n, void *buf,
		     uint8_t *ok);

/*
 * Read the pre-header and head of each object of @objs (at most
 * PMW_PYR_HEADS / 2) in one readv; until the next call, pmw_pyr_read() of
 * bytes inside those windows costs no read. Heads of earlier calls are dropped.
 */
void pmw_pyr_prefetch(struct pmw_pyr *r, const uint64_t *objs, size_t n);

/* the lowest address an object may have: vm.mmap_min_addr's default, nothing maps below */
#define PMW_PTR_MIN	0x10000

/* a reference count at or above this is a pointer (a GC link, a free-list link), not a count */
#define PMW_REFCNT_MAX	(1ULL << 40)

/* true if @addr could be an object pointer (8-aligned, user range of x86_64) */
static inline bool pmw_pyptr_ok(uint64_t addr)
{
	return addr >= PMW_PTR_MIN && addr < (1ULL << 47) && !(addr & 7);
}

/*
 * Could @head (a candidate type object's first PMW_TYPE_HEAD_MIN bytes) be a
 * type: Py_TPFLAGS_READY, 16 <= tp_basicsize <= 16 MiB, 0 <= tp_itemsize <=
 * 1024, an 8-aligned user-space ob_type. The one plausibility rule of type
 * objects (the heap walk's and the holder reader's caches); the metatype and
 * the name are checked by each cache.
 */
#define PMW_TYPE_HEAD_MIN	(PMW_TP_BASE + 8)
bool pmw_type_head_ok(const uint8_t *head);

/* The type of the object at @obj, or NULL if it has none we can read. */
const struct pmw_pytype *pmw_pyobj_type(struct pmw_pyr *r, uint64_t obj);

/* The type object at @type (validated: its own type has Py_TPFLAGS_TYPE_SUBCLASS). */
const struct pmw_pytype *pmw_pytype_get(struct pmw_pyr *r, uint64_t type);

/* If @obj is a str, its text as UTF-8 (pmw_read_str). Length or -EINVAL/-EFAULT. */
int pmw_pyobj_str(struct pmw_pyr *r, uint64_t obj, char *buf, size_t len);

/* If @obj is an int that fits in 60 bits, its value in *v. 0 or -EINVAL. */
int pmw_pyobj_int(struct pmw_pyr *r, uint64_t obj, int64_t *v);

/*
 * len() of a list, tuple, dict, set or deque (by kind of @ty), -EINVAL for
 * other kinds, -EFAULT on an unreadable or implausible object.
 */
int64_t pmw_pyobj_len(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty);

/*
 * Items of a dict: entries 0, @stride, 2*@stride, ... (indices into the
 * entry table, so deleted slots are skipped and a sample may hold fewer than
 * @max), at most @max. Combined and split tables; 3.8-3.10 keys (dk_size,
 * dk_indices) and 3.11+ (dk_log2_size, unicode/general entries), 3.13+
 * PyDictValues header (Include/internal/pycore_dict.h, Objects/dictobject.c).
 * Returns the count or -errno.
 */
ssize_t pmw_dict_items(struct pmw_pyr *r, uint64_t dict, uint64_t stride,
		       struct pmw_pyitem *out, size_t max);

/* where a dict keys table keeps its entries (Include/internal/pycore_dict.h,
 * Objects/dict-common.h <=3.10): the one copy of the PyDictKeysObject layout */
struct pmw_dict_keys {
	uint64_t entries;	/* target address of entry 0 */
	uint64_t nentries;	/* dk_nentries */
	uint64_t size;		/* slots (dk_size or 1 << dk_log2_size) */
	uint64_t index_bytes;	/* bytes of dk_indices */
	uint32_t esize, key_off, val_off; /* entry size, key and value offsets in it */
};
#define PMW_DICT_KEYS_HEAD	40	/* header bytes pmw_dict_keys_parse() needs */

/*
 * Parse the PyDictKeysObject header @h (PMW_DICT_KEYS_HEAD bytes already read
 * from target address @keys) for version @pv: 3.11+ {dk_refcnt,
 * u8 dk_log2_size, u8 dk_log2_index_bytes, u8 dk_kind, ..., dk_nentries @24,
 * dk_indices @32}, unicode/split entries {key, value}, general {hash, key,
 * value}; 3.8-3.10 {dk_refcnt, dk_size @8, ..., dk_nentries @32, dk_indices
 * @40}, 1/2/4-byte indices by size. 0, or -EFAULT for an implausible header.
 */
int pmw_dict_keys_parse(const struct pmw_pyver *pv, uint64_t keys,
			const uint8_t h[PMW_DICT_KEYS_HEAD], struct pmw_dict_keys *k);

/* Entry count of @dict's table (stride planning), -errno. */
int64_t pmw_dict_nentries(struct pmw_pyr *r, uint64_t dict);

/*
 * Items of a list, tuple, set (keys) or deque (Modules/_collectionsmodule.c:
 * 64-slot blocks) at positions 0, @stride, 2*@stride ... (set: table slots),
 * at most @max. Returns the count or -errno.
 */
ssize_t pmw_seq_items(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
		      uint64_t stride, struct pmw_pyitem *out, size_t max);

/*
 * Attributes of an instance: its __dict__ (tp_dictoffset > 0, or the 3.11+
 * managed dict), else its values with the keys the type shares
 * (ht_cached_keys; 3.11/3.12 PyDictValues before the object, 3.13+ inline
 * after it; Include/internal/pycore_object.h). *dict is set to the
 * materialized __dict__ or 0. Returns the count or -errno.
 */
ssize_t pmw_instance_attrs(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
			   struct pmw_pyitem *out, size_t max, uint64_t *dict);

/*
 * __slots__ (and other object members) of an instance: for its type and each
 * heap base type, the PyMemberDef entries of type Py_T_OBJECT(_EX) inside the
 * instance (Include/descrobject.h). key = target address of the member's C
 * name (read it with pmw_pyr_cstr). Returns the count or -errno.
 */
ssize_t pmw_instance_slots(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
			   struct pmw_pyitem *out, size_t max);

/* A NUL-terminated C string at @addr (printable ASCII) into @buf. Length or -EFAULT. */
int pmw_pyr_cstr(struct pmw_pyr *r, uint64_t addr, char *buf, size_t len);

/* The parts of a function object that can hold data (Include/cpython/funcobject.h). */
struct pmw_pyfunc {
	uint64_t qualname, module;	/* str objects (module may be None or absent) */
	uint64_t defaults, kwdefaults;	/* tuple, dict or 0 */
	uint64_t closure;		/* tuple of cells or 0 */
};
int pmw_func_read(struct pmw_pyr *r, uint64_t func, struct pmw_pyfunc *f);

/* A cell's content (PyCellObject.ob_ref), 0 if empty or unreadable. */
uint64_t pmw_cell_get(struct pmw_pyr *r, uint64_t cell);

/* functools._lru_cache_wrapper: its cache dict and wrapped function
 * (Modules/_functoolsmodule.c). */
int pmw_lru_read(struct pmw_pyr *r, uint64_t wrapper, uint64_t *cache, uint64_t *func);

/*
 * "module.qualname" of a function (func_module, func_qualname) into @buf;
 * just "qualname" if its __module__ is not a str. 0, or -ENOENT if @obj is not
 * a function or its __qualname__ cannot be read.
 */
int pmw_qualified_name(struct pmw_pyr *r, uint64_t obj, char *buf, size_t len);

/*
 * The bytes of an object's own memory block as sys.getsizeof() counts them,
 * from its type (tp_flags @flags, tp_basicsize, tp_itemsize) and its head
 * @h (@avail bytes read from the object start, 48 suffice): str by its
 * compact form (Include/cpython/unicodeobject.h: length @16, state @32),
 * int by its digits (PMW_LONG_DIGITS + 4 per 30-bit digit; 3.12+ lv_tag >> 3;
 * 3.11+ at least one: Objects/longobject.c int___sizeof__), else tp_basicsize +
 * |ob_size| * tp_itemsize; plus PyGC_Head and the 3.11+ pre-header
 * (pmw_head_off). Not counted: what the object owns elsewhere (list items,
 * dict/set tables, deque blocks, 3.13+ inline values): pmw_pyobj_getsizeof().
 * UINT64_MAX if @avail is too short for the rule.
 */
uint64_t pmw_obj_self_size(const struct pmw_pyver *pv, uint64_t flags, int64_t basicsize,
			   int64_t itemsize, const uint8_t *h, size_t avail);

/* reads @len bytes of target memory at @addr into @buf: 0 or -errno */
typedef int (*pmw_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);
/* called with each item: its position, the item, the address of its slot; nonzero stops */
typedef int (*pmw_item_fn)(void *arg, uint64_t pos, uint64_t item, uint64_t slot);

/*
 * The @len items of a deque (Modules/_collectionsmodule.c: blocks
 * { leftlink, data[64], rightlink }) from block @left at @lindex, one read of
 * @rd per block, to @fn in order. Returns the items visited (fewer when @fn
 * stopped), or -EFAULT at a bad index, length or block (those visited stay).
 */
int64_t pmw_deque_each(pmw_read_fn rd, void *ctx, uint64_t left, int64_t lindex, int64_t len,
		       pmw_item_fn fn, void *arg);

/*
 * Real size of an object in bytes, as sys.getsizeof() counts it: str
 * (compact forms), bytes, int (3.12+ lv_tag), list (allocated slots), dict
 * (keys and values tables it owns), set (table), deque (blocks), else
 * tp_basicsize + |ob_size| * tp_itemsize; plus the GC header and the 3.11+
 * pre-header, 3.13+ inline values. Returns the size or -errno.
 */
int64_t pmw_pyobj_getsizeof(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty);

#endif
