/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-CPython-minor-version facts: the one place to add a version.
 * x86_64, glibc, release (GIL) builds. Offsets in bytes.
 */
#ifndef PMW_PYVER_H
#define PMW_PYVER_H

#include <stdint.h>
#include <linux/types.h>
#include "pmw.h"

/* where a version keeps pymalloc's arena table (struct arena_object *arenas) */
enum pmw_obm_kind {
	PMW_OBM_STATIC,		/* file-static `arenas`/`maxarenas` (3.8-3.11), symbols needed */
	PMW_OBM_EMBEDDED,	/* struct _obmalloc_state inside PyInterpreterState (3.12) */
	PMW_OBM_POINTER,	/* PyInterpreterState.obmalloc points to it (3.13+) */
};

struct pmw_pyver {
	int major, minor;
	uint32_t interp_main;	/* offsetof(_PyRuntimeState, interpreters.main) */
	uint32_t gc_stats;	/* offsetof(PyInterpreterState, gc.generation_stats) */
	int gc_stats_in_runtime; /* 3.8: offsetof(_PyRuntimeState, gc.generation_stats) instead */
	uint32_t pool_size;	/* POOL_SIZE */
	uint32_t arena_size;	/* ARENA_SIZE */
	enum pmw_obm_kind obm_kind;
	uint32_t obm_off;	/* offsetof(PyInterpreterState, obmalloc) (EMBEDDED/POINTER) */
	uint32_t obj_allocator;	/* offsetof(_PyRuntimeState, allocators.standard.obj), 0: static _PyObject */
	const char *gc_funcs[3]; /* collection function(s), first found is probed */
	struct pmw_py_walk walk; /* frame walking in BPF (depth set at run time) */
	/* PyCodeObject fields, Include/cpython/code.h */
	uint32_t co_filename, co_name, co_qualname /* 0: none (<=3.10) */, co_firstlineno;
	uint32_t co_linetable;	/* co_lnotab (<=3.9) or co_linetable (bytes object) */
	uint32_t co_code_adaptive; /* 3.11+: first code unit; instr_ptr - (code + this) = byte offset */
	uint32_t ascii_data;	/* sizeof(PyASCIIObject): compact ASCII str data */
	uint32_t compact_data;	/* sizeof(PyCompactUnicodeObject): compact non-ASCII str data */
};

/* offsets inside struct _obmalloc_state (3.12+), Include/internal/pycore_obmalloc.h */
#define PMW_OBM_ARENAS		512	/* mgmt.arenas */
#define PMW_OBM_MAXARENAS	520	/* mgmt.maxarenas (uint) */

/* struct arena_object and struct pool_header, Objects/obmalloc.c (3.8-3.11),
 * Include/internal/pycore_obmalloc.h (3.12+): unchanged 3.8-3.14 */
#define PMW_ARENA_OBJ_SIZE	48	/* address @0, pool_address @8, nfreepools @16, ntotalpools @20 */
#define PMW_POOL_HDR_SIZE	48	/* ref.count @0 (uint), szidx @36 (uint) */
#define PMW_POOL_SZIDX		36
#define PMW_ALIGNMENT		16	/* ALIGNMENT on 64-bit, 3.8+ */

/* struct PyMemAllocatorEx { ctx, malloc, calloc, realloc, free }: pointer slots */
enum pmw_alloc_slot { PMW_ALLOC_MALLOC = 1, PMW_ALLOC_CALLOC, PMW_ALLOC_REALLOC, PMW_ALLOC_FREE };

/* The table entry for major.minor, or NULL if unsupported. */
const struct pmw_pyver *pmw_pyver_find(int major, int minor);

/* "3.8-3.14", for messages */
const char *pmw_pyver_supported(void);

#endif
