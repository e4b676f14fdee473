/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Interpreters with only .dynsym (strip --strip-all: python:*-slim and Alpine
 * images, distro builds without -dbg): the static functions and variables the
 * probes and the heap scan need, found by disassembly (capstone) from what is
 * exported, then checked by their effect before they are trusted.
 *
 *   what                 from
 *   _PyObject (3.8-3.11) PyObject_Malloc: the two RIP-relative loads of
 *                        _PyObject.ctx and .malloc (adjacent qwords)
 *   _PyObject_Malloc     the live _PyObject allocator struct (malloc slot),
 *                        _PyRuntime.allocators.standard.obj in 3.12+
 *   allocate_from_new_pool  the one direct call of _PyObject_Malloc into an
 *                        unexported function of the image
 *   gc_collect_main      the largest unexported function reached by direct
 *                        calls from PyGC_Collect (two levels: 3.11's
 *                        gc_collect_with_callback sits between)
 *   tupledealloc, ...    the tp_dealloc slot of PyTuple_Type, ... (live)
 *   arenas, maxarenas    _Py_GetAllocatedBlocks (3.8-3.11): its 32-bit load
 *                        is maxarenas, its 64-bit load used as a base pointer
 *                        is arenas
 * Function bounds come from .eh_frame_hdr's search table, which strip keeps
 * (the unwinder needs it). Sources: CPython 3.11-3.13 Objects/obmalloc.c
 * (PyObject_Malloc, pymalloc_alloc, allocate_from_new_pool,
 * _Py_GetAllocatedBlocks), Modules/gcmodule.c / Python/gc.c (PyGC_Collect);
 * the approach follows the OpenTelemetry eBPF profiler's
 * interpreter/python (decoding exported functions to reach internals).
 */
#ifndef PMW_SYMFIND_H
#define PMW_SYMFIND_H

#include <stdbool.h>
#include <stdint.h>
#include "pmw.h"
#include "pyproc.h"	/* struct pmw_symfind: what is found, kept in struct pmw_target */

struct pmw_sym;

/*
 * Find, for @t without symbols (t->has_symtab false), what symfind.h lists,
 * filling t->sf and, for 3.8-3.11, t->objalloc_vaddr, t->arenas_vaddr and
 * t->maxarenas_vaddr (after checking the arena table in target memory). Reads
 * the live allocator struct when t->bias_known, else its initialiser in the
 * file; runs again once (live) when called after the bias became known.
 * Logs what it found and how with -v. Never fails: what is not found stays 0.
 */
void pmw_symfind_run(struct pmw_target *t);

/*
 * Probe-table fallback (probes.c): the address found for @what
 * ("allocate_from_new_pool", a dealloc function named above, or NULL for the
 * collection function) unless its check failed. Fills @sym and returns 1, or 0.
 */
int pmw_symfind_lookup(const struct pmw_target *t, const char *what, struct pmw_sym *sym);

/*
 * Effect check of a collection function found by disassembly, once per
 * interval: @probe = collections per generation its probe reported in the
 * interval, @mem = the change of generation_stats over the same interval.
 * Returns the collections the row must show: @probe while the probe keeps
 * step with memory; once it does not (PMW_CHECK_FAILED), whatever brings
 * the cumulative total back to generation_stats', then @mem.
 */
void pmw_symfind_check_gc(struct pmw_target *t, uint64_t probe[PMW_NGEN],
			  const uint64_t mem[PMW_NGEN]);

/*
 * Effect check of a pool-refill function found by disassembly, once per
 * heap scan: @pools_used from the scan; @refills, @refill_blocks and @stale
 * the probe's hits, blocks and hits whose pool's ref.count was not 1 at
 * return, in the interval. allocate_from_new_pool takes an empty pool into
 * use and returns with its ref.count = 1; every pool that becomes used goes
 * through it. So each hit must return a block of a pool with a valid size
 * class holding exactly that block, and the hits must cover the rise in used
 * pools. Passed after 32 such hits, failed on 1% stale ones or a rise not
 * covered. Returns true when the refill figures can be trusted.
 */
bool pmw_symfind_check_refill(struct pmw_target *t, uint64_t pools_used, uint64_t refills,
			      uint64_t refill_blocks, uint64_t stale);

/* "found"/"checked"/... for -v and the summary */
const char *pmw_check_name(enum pmw_check c);

#endif
