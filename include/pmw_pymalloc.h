/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pymalloc and object-header geometry, shared by the BPF programs (bpf/) and
 * the loader (user/): the one place for these CPython facts. They are the
 * same in every row of user/cpython/pyver.c (3.8-3.15, x86_64, GIL
 * builds); what differs per version (POOL_SIZE, ARENA_SIZE, where the arena
 * table lives) is in that table.
 * Sources: Objects/obmalloc.c (3.8-3.11), Include/internal/pycore_obmalloc.h
 * (3.12+) for pools and arenas; Include/internal/pycore_gc.h (PyGC_Head)
 * and Include/internal/pycore_object.h (3.11+ pre-header: managed dict and
 * weakref slots before PyGC_Head) for object headers.
 */
#ifndef PMW_PYMALLOC_H
#define PMW_PYMALLOC_H

/* ALIGNMENT on 64-bit: block size of size class i is (i + 1) * 16 bytes */
#define PMW_ALIGNMENT		16
/* sizeof(struct pool_header) = POOL_OVERHEAD: the first block of a pool
 * (which is POOL_SIZE-aligned) starts here; ref.count (uint) @0 */
#define PMW_POOL_HDR_SIZE	48
/* offsetof(struct pool_header, freeblock): the pool's free list, a chain of
 * blocks whose first 8 bytes point to the next free block (0 ends it) */
#define PMW_POOL_FREEBLOCK	8
/* offsetof(struct pool_header, szidx) (uint): the pool's size class */
#define PMW_POOL_SZIDX		36
/* offsetof(struct pool_header, nextoffset) (uint): bytes to the next block never carved */
#define PMW_POOL_NEXTOFFSET	40
/* sizeof(struct arena_object): address @0, pool_address @8,
 * nfreepools @16, ntotalpools @20 (uint) */
#define PMW_ARENA_OBJ_SIZE	48

/* where the PyObject header sits in a pymalloc block: at the block (plain
 * objects), after PyGC_Head (GC objects) or after the 3.11+ pre-header */
#define PMW_GC_HEAD_SIZE	16	/* sizeof(PyGC_Head) */
#define PMW_MANAGED_PTRS_SIZE	16	/* 3.11+ managed dict and weakref pointers before PyGC_Head */
#define PMW_PREHEADER_SIZE	32	/* the whole 3.11+ pre-header: the two pointers + PyGC_Head */
/* the offsets of the object header in its block, in the order to try them */
#define PMW_HEAD_OFFS		{ 0, PMW_GC_HEAD_SIZE, PMW_PREHEADER_SIZE }
#define PMW_NHEAD_OFFS		3

#endif
