/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-CPython-minor-version facts: the one place to add a version.
 * x86_64, glibc, release (GIL) builds. Offsets in bytes.
 */
#ifndef PMW_PYVER_H
#define PMW_PYVER_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/types.h>
#include "pmw.h"
#include "pmw_pymalloc.h"
#include "pyline.h"

/* where a version keeps pymalloc's arena table (struct arena_object *arenas) */
enum pmw_obm_kind {
	PMW_OBM_STATIC,		/* file-static `arenas`/`maxarenas` (3.8-3.11), symbols needed */
	PMW_OBM_EMBEDDED,	/* struct _obmalloc_state inside PyInterpreterState (3.12) */
	PMW_OBM_POINTER,	/* PyInterpreterState.obmalloc points to it (3.13+) */
};

/* how an instance keeps its attributes when its type has no tp_dictoffset > 0 */
enum pmw_managed_dict {
	PMW_MD_NONE,		/* <=3.10: only tp_dictoffset */
	PMW_MD_311,		/* 3.11: dict at obj[-3], PyDictValues* at obj[-4] */
	PMW_MD_312,		/* 3.12: obj[-3] is a dict, or values - 1 (odd) */
	PMW_MD_313,		/* 3.13+: dict at obj[-3], else values inline at obj + tp_basicsize */
};

/*
 * Object layouts for holder paths (user/cpython/pyobj.c). offsetof() printed by a C
 * program built against each version's headers (Include/cpython/object.h,
 * funcobject.h, Include/internal/pycore_{interp,dict}.h; pyenv 3.8.18-3.13.0),
 * lru_cache_object from Modules/_functoolsmodule.c.
 */
struct pmw_pyobj_off {
	uint32_t interp_modules;	/* PyInterpreterState.modules (<=3.11), .imports.modules */
	uint32_t md_name;		/* PyModuleObject.md_name (its __name__ at creation) */
	uint32_t ht_cached_keys;	/* PyHeapTypeObject.ht_cached_keys */
	uint32_t func_qualname, func_module, func_defaults, func_kwdefaults, func_closure;
	uint32_t tuple_items;		/* PyTupleObject.ob_item */
	uint32_t lru_cache, lru_func;	/* lru_cache_object.cache, .func */
	uint8_t dict_keys_311;		/* PyDictKeysObject with dk_log2_size/dk_kind (3.11+) */
	uint8_t dict_values_hdr;	/* bytes before PyDictValues.values[] (3.13+: 8) */
	uint8_t long_tag;		/* PyLongObject.long_value.lv_tag holds the size (3.12+) */
	uint8_t long_digits_min;	/* digits an int keeps at least, 0 too (3.11+: 1;
					 * Objects/longobject.c _PyLong_New, int.__sizeof__) */
	uint8_t managed;		/* enum pmw_managed_dict */
	/* frame locals: PyInterpreterState.tstate_head (<=3.10) / .threads.head; the frame's
	 * f_localsplus (<=3.10, PyFrameObject) / localsplus (_PyInterpreterFrame) and f_globals;
	 * PyCodeObject.co_varnames (<=3.10) / .co_localsplusnames (3.11+: names of every
	 * local, cell and free variable, localsplus_311 = 1) */
	uint32_t threads_head, frame_localsplus, frame_globals, code_names;
	uint8_t localsplus_311;
};

struct pmw_pyver {
	int major, minor;
	uint32_t interp_main;	/* offsetof(_PyRuntimeState, interpreters.main) */
	uint32_t gc_stats;	/* offsetof(PyInterpreterState, gc.generation_stats) */
	uint32_t gc_stats_in_gc; /* 3.13+: offsetof(struct _gc_runtime_state, generation_stats),
				  * so that gc_stats follows the target's interpreter_state.gc */
	int gc_stats_in_runtime; /* 3.8: offsetof(_PyRuntimeState, gc.generation_stats) instead */
	uint32_t pool_size;	/* POOL_SIZE */
	uint32_t arena_size;	/* ARENA_SIZE */
	/* which argument of allocate_from_new_pool (Objects/obmalloc.c) is the size class
	 * index, 1-based: 1 for (uint size) in 3.9-3.11, 2 for (OMState *state, uint size) in
	 * 3.12+ (checked in the DWARF of pyenv 3.9.18-3.13.0 and Debian sid's 3.14/3.15 -dbg);
	 * 0: not known (3.8 has no such function), the refill is then counted at return */
	uint8_t refill_size_arg;
	enum pmw_obm_kind obm_kind;
	uint32_t obm_off;	/* offsetof(PyInterpreterState, obmalloc) (EMBEDDED/POINTER) */
	uint32_t obj_allocator;	/* offsetof(_PyRuntimeState, allocators.standard.obj), 0: static _PyObject */
	const char *gc_funcs[3]; /* collection function(s), first found is probed */
	struct pmw_py_gcstats_layout gc_layout; /* the counters behind gc_stats */
	struct pmw_py_walk walk; /* frame walking in BPF (depth set at run time) */
	/* PyCodeObject fields, Include/cpython/code.h */
	uint32_t co_filename, co_name, co_qualname /* 0: none (<=3.10) */, co_firstlineno;
	uint32_t co_linetable;	/* co_lnotab (<=3.9) or co_linetable (bytes object) */
	uint32_t co_code_adaptive; /* 3.11+: first code unit; instr_ptr - (code + this) = byte offset */
	enum pmw_linetable line_table; /* format of co_linetable / co_lnotab */
	uint32_t lasti_unit;	/* bytes per f_lasti unit: 1 (<=3.9), 2 (3.10, code units);
				 * 0: frames hold an instruction pointer (3.11+), see walk.instr_int */
	uint32_t ascii_data;	/* sizeof(PyASCIIObject): compact ASCII str data */
	uint32_t compact_data;	/* sizeof(PyCompactUnicodeObject): compact non-ASCII str data */
	struct pmw_pyobj_off obj; /* holder paths: object layouts (wt-holders) */
	/* suspended coroutines (user/cpython/pycoro.c: the line a task waits at, for growth sites
	 * written from an event loop): offsetof() against Include/cpython/genobject.h (3.11,
	 * 3.12) / Include/internal/pycore_genobject.h (3.13) and Include/internal/pycore_frame.h:
	 * PyCoroObject.cr_iframe (the coroutine's _PyInterpreterFrame, inline), .cr_frame_state
	 * (int8), FRAME_CREATED (not started yet), _PyInterpreterFrame.stacktop (int: the entries
	 * of localsplus in use; the top is what `await` waits on). 0: not known for this version */
	uint32_t gen_iframe, gen_state, frame_stacktop;
	int8_t gen_created;
	int8_t gen_done;	/* the first state of a finished frame (completed, cleared): no
				 * locals; 0 means 1 (FRAME_COMPLETED, 3.11-3.14) */
};

/* offsets inside struct _obmalloc_state (3.12+), Include/internal/pycore_obmalloc.h */
#define PMW_OBM_ARENAS		512	/* mgmt.arenas */
#define PMW_OBM_MAXARENAS	520	/* mgmt.maxarenas (uint) */

/* PyObject.ob_type, PyTypeObject.tp_name and .tp_flags, PyVarObject.ob_size,
 * PyBytesObject.ob_sval: Include/object.h, Include/cpython/object.h,
 * Include/cpython/bytesobject.h; the same in every row (3.8-3.15 GIL builds,
 * checked against each version's DWARF) */
#define PMW_OB_TYPE		8
#define PMW_TP_NAME		24
#define PMW_TP_FLAGS		168
#define PMW_OB_SIZE		16
#define PMW_OB_SVAL		32
#define PMW_STR_LENGTH		16	/* PyASCIIObject.length */
#define PMW_STR_STATE		32	/* PyASCIIObject.state (u32): kind bits 2-4, compact 5, ascii 6 */

/*
 * Holder paths (user/cpython/pyobj.c, wt-holders): object fields that are the same in
 * every row: offsetof() against each version's headers for 3.8-3.13 (Include/object.h,
 * Include/cpython/{object,dictobject,listobject,setobject,cellobject}.h,
 * Include/internal/pycore_moduleobject.h, Modules/_collectionsmodule.c); for
 * 3.14 and 3.15 the same values from gdb on Debian's python3.1x-dbg DWARF
 * (every struct but dequeobject, which only _collectionsmodule.c defines).
 */
#define PMW_TP_BASICSIZE	32
#define PMW_TP_ITEMSIZE		40
#define PMW_TP_DEALLOC		48	/* PyTypeObject.tp_dealloc (symfind.c, stripped builds) */
#define PMW_TP_BASE		256
#define PMW_TP_DICT		264
#define PMW_TP_DICTOFFSET	288
#define PMW_MA_USED		16	/* PyDictObject.ma_used */
#define PMW_MA_KEYS		32	/* PyDictObject.ma_keys */
#define PMW_MA_VALUES		40	/* PyDictObject.ma_values (split table: != NULL) */
#define PMW_SET_USED		24	/* PySetObject.used */
#define PMW_SET_MASK		32	/* PySetObject.mask */
#define PMW_SET_TABLE		40	/* PySetObject.table */
#define PMW_LIST_ITEMS		24	/* PyListObject.ob_item */
#define PMW_DEQUE_LEFT		24	/* dequeobject.leftblock */
#define PMW_DEQUE_RIGHT		32	/* dequeobject.rightblock */
#define PMW_DEQUE_LINDEX	40	/* dequeobject.leftindex */
#define PMW_DEQUE_RINDEX	48	/* dequeobject.rightindex */
#define PMW_DEQUE_MAXLEN	64	/* dequeobject.maxlen */
#define PMW_SET_SMALLTABLE	64
#define PMW_CELL_REF		16	/* PyCellObject.ob_ref */
#define PMW_MD_DICT		16	/* PyModuleObject.md_dict */
#define PMW_DEQUE_BLOCKLEN	64	/* block { leftlink, data[64], rightlink } */
#define PMW_LONG_DIGITS		24	/* offsetof(PyLongObject, ob_digit): int.__sizeof__ counts
					 * from here, also for bool (whose tp_basicsize is larger) */
#define PMW_CO_NLOCALS_310	28	/* <=3.10 PyCodeObject.co_nlocals (int), .co_freevars @80, */
#define PMW_CO_FREEVARS_310	80	/* .co_cellvars @88: f_localsplus = locals, cells, frees */
#define PMW_CO_CELLVARS_310	88
#define PMW_TSTATE_NEXT		8	/* PyThreadState.next */
#define PMW_TP_MEMBERS		240	/* PyTypeObject.tp_members: PyMemberDef[], NULL name ends it */
#define PMW_MEMBERDEF_SIZE	40	/* PyMemberDef { name @0, int type @8, offset @16, flags, doc } */
#define PMW_T_OBJECT		6	/* Py_T_OBJECT (Include/descrobject.h, structmember.h) */
#define PMW_T_OBJECT_EX		16	/* Py_T_OBJECT_EX: __slots__ members */
#define PMW_WRAPPED_16		16	/* PyMethodObject.im_func (im_self @24), staticmethod/classmethod
					 * .sm_callable/.cm_callable, partialobject.fn (args @24, kw @32) */
/* tp_flags bits (Include/object.h; the same 3.8-3.15 unless noted) */
#define PMW_TPFLAGS_INLINE_VALUES	(1UL << 2)	/* 3.13+ */
#define PMW_TPFLAGS_MANAGED_WEAKREF	(1UL << 3)	/* 3.12+ */
#define PMW_TPFLAGS_MANAGED_DICT	(1UL << 4)	/* 3.11+ */
#define PMW_TPFLAGS_HEAPTYPE		(1UL << 9)
#define PMW_TPFLAGS_READY		(1UL << 12)
#define PMW_TPFLAGS_HAVE_GC		(1UL << 14)
#define PMW_TPFLAGS_LONG_SUBCLASS	(1UL << 24)
#define PMW_TPFLAGS_LIST_SUBCLASS	(1UL << 25)
#define PMW_TPFLAGS_TUPLE_SUBCLASS	(1UL << 26)
#define PMW_TPFLAGS_BYTES_SUBCLASS	(1UL << 27)
#define PMW_TPFLAGS_UNICODE_SUBCLASS	(1UL << 28)
#define PMW_TPFLAGS_DICT_SUBCLASS	(1UL << 29)
#define PMW_TPFLAGS_TYPE_SUBCLASS	(1UL << 31)

/* tp_flags bits that put the 3.11+ pre-header (managed dict/weakref pointers) before
 * an object's GC header in @pv: _PyType_PreHeaderSize(), Include/internal/pycore_object.h */
static inline uint64_t pmw_preheader_flags(const struct pmw_pyver *pv)
{
	return pv->obj.managed >= PMW_MD_312 ? PMW_TPFLAGS_MANAGED_DICT | PMW_TPFLAGS_MANAGED_WEAKREF :
	       pv->obj.managed == PMW_MD_311 ? PMW_TPFLAGS_MANAGED_DICT : 0;
}

/* Where an object of a type with tp_flags @flags starts in its block in @pv:
 * after the pre-header (PMW_PREHEADER_SIZE), after PyGC_Head (PMW_GC_HEAD_SIZE)
 * or at the block (0). _PyType_PreHeaderSize(), which sys.getsizeof() adds. */
static inline unsigned int pmw_head_off(const struct pmw_pyver *pv, uint64_t flags)
{
	return flags & pmw_preheader_flags(pv) ? PMW_PREHEADER_SIZE :
	       flags & PMW_TPFLAGS_HAVE_GC ? PMW_GC_HEAD_SIZE : 0;
}

/* struct PyMemAllocatorEx { ctx, malloc, calloc, realloc, free }: pointer slots */
enum pmw_alloc_slot { PMW_ALLOC_MALLOC = 1, PMW_ALLOC_CALLOC, PMW_ALLOC_REALLOC, PMW_ALLOC_FREE };

/* The table entry for major.minor, or NULL if unsupported. */
const struct pmw_pyver *pmw_pyver_find(int major, int minor);

/*
 * The cumulative GC counters of each generation, read from target @pid's
 * memory by @l from @addr, the address of its generation_stats field.
 * Returns 0, -EFAULT (unreadable, or a ring index out of range: torn read),
 * -EAGAIN (3.15+: the stats not allocated yet).
 */
int pmw_pyver_gc_read(pid_t pid, const struct pmw_py_gcstats_layout *l, uint64_t addr,
		      struct pmw_py_gcstats st[PMW_NGEN]);

/* Rows of the table in version order, for tests: row @i (NULL past the end). */
const struct pmw_pyver *pmw_pyver_at(size_t i);

/* The supported range, "3.8-3.15", derived from the table's first and last
 * rows (the table has no gaps: test_pyver checks it), for messages. */
const char *pmw_pyver_supported(void);

/* ---- free-threaded builds (PEP 703, configure --disable-gil): owned by wt-ft ----
 * A free-threaded interpreter uses its minor version's row above for what its
 * layout shares with the default build, and the row below for mimalloc, which
 * replaces pymalloc there. Checked with offsetof() against the installed
 * 3.13t headers (Include/internal/pycore_*.h, Include/internal/mimalloc/
 * mimalloc/types.h): interp_main, gc_stats, obj_allocator and the
 * PyThreadState fields are those of the default 3.13 row; obm_off is not
 * (unused: pymalloc is off). */
#define PMW_DEBUG_OFFSETS_FREE_THREADED 16 /* _Py_DebugOffsets.free_threaded (u64) at &_PyRuntime, 3.13+,
					    * Include/internal/pycore_runtime.h */

struct pmw_pyver_ft {
	int major, minor;
	/* PyInterpreterState (Include/internal/pycore_interp.h) */
	uint32_t interp_threads_head;	/* threads.head: first PyThreadState */
	uint32_t interp_abandoned;	/* mimalloc.abandoned_pool.abandoned: tagged mi_segment_t * */
	uint32_t interp_abandoned_visited; /* mimalloc.abandoned_pool.abandoned_visited */
	uint32_t interp_abandoned_count; /* abandoned_count, abandoned_visited_count (size_t) */
	uint32_t interp_abandoned_visited_count;
	/* PyThreadState / _PyThreadStateImpl (Include/internal/pycore_tstate.h) */
	uint32_t tstate_next, tstate_interp;
	uint32_t tstate_thread_id;	/* thread_id: pthread_self() of its thread (u64); on glibc
					 * x86-64 that is the thread's TCB = its fs base (pmw_py_tls_off) */
	uint32_t tstate_heaps;		/* mimalloc.heaps[_Py_MIMALLOC_HEAP_COUNT] (pycore_mimalloc.h) */
	/* mimalloc 2.1 as vendored by CPython (Include/internal/mimalloc/mimalloc/types.h) */
	uint32_t heap_size;		/* sizeof(mi_heap_t) */
	uint32_t heap_pages;		/* pages[MI_BIN_FULL + 1]: mi_page_queue_t { first, last, block_size } */
	uint32_t heap_nqueues;		/* MI_BIN_FULL + 1 */
	uint32_t heap_delayed_free;	/* thread_delayed_free: mi_block_t * list */
	uint32_t heap_tag;		/* tag (u8): the _Py_mimalloc_heap_id */
	uint32_t heap_page_count;	/* page_count (size_t): pages in all its queues */
	uint32_t page_size;		/* sizeof(mi_page_t) = sizeof(mi_slice_t) */
	uint32_t page_flags;		/* byte holding is_committed:1 is_zero_init:1 use_qsbr:1 tag:4 */
	uint32_t page_capacity, page_reserved; /* u16 */
	uint32_t page_used, page_xblock_size; /* u32; xblock_size >= 2 GiB: huge, see its slices */
	uint32_t page_xthread_free;	/* mi_block_t * | 2 flag bits: frees by other threads */
	uint32_t page_xheap, page_next;
	uint32_t seg_abandoned_next, seg_slice_entries, seg_slices;
	uint32_t segment_size;		/* MI_SEGMENT_SIZE: segments are aligned to it */
	uint32_t slice_size;		/* MI_SEGMENT_SLICE_SIZE */
	uint32_t max_slices;		/* MI_SLICES_PER_SEGMENT + 1: entries of slices[] */
	/* heap walks (user/leak/walk.c): a page's free lists (mi_page_t.free, .local_free: block
	 * addresses linked through each block's first word, plain pointers: MI_SECURE 0, no
	 * MI_ENCODE_FREELIST) and where its first block is: CPython's
	 * _mi_segment_page_start_from_slice() (Objects/mimalloc/segment.c) puts it 3 blocks after
	 * the page's first slice for blocks of 8 to start_x3_max bytes, 1 block after up to
	 * start_x1_max, else at it */
	uint32_t page_free, page_local_free;
	uint32_t start_x3_max, start_x1_max;
	/* PyObject with Py_GIL_DISABLED (Include/object.h): ob_tid @0, ob_ref_local (u32) @12,
	 * ob_ref_shared (i64) @16, ob_type @24: every object field sits ob_shift bytes after the
	 * default build's (ob_type 8 -> 24, ob_size 16 -> 32, list ob_item 24 -> 40, tp_flags
	 * 168 -> 184...: offsetof() against the 3.13t headers); the PMW_* object offsets of the
	 * default build apply to (object + ob_shift). pre_header: bytes before an object of a
	 * type with Py_TPFLAGS_PREHEADER (managed dict and weakref: 2 pointers; no PyGC_Head),
	 * _PyType_PreHeaderSize(), Include/internal/pycore_object.h */
	uint32_t ob_shift, ob_ref_local, ob_ref_shared, pre_header;
};

/* The free-threaded row for major.minor, or NULL (no verified layout). */
const struct pmw_pyver_ft *pmw_pyver_ft_find(int major, int minor);

#endif
