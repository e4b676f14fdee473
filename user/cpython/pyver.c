// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sources: offsetof() printed by a C program built against each version's
 * Include/internal headers (pyenv 3.8.18-3.13.0, Debian 3.11.2 and 3.14.10),
 * see ../shared/reference/cpython-internals.md section 3.7; 3.14 and 3.15:
 * gdb's offsetof/ptype/o on Debian's python3.1x-dbg debug files (3.14.10
 * gave exactly the row made from the headers); GC function names
 * from Modules/gcmodule.c (3.8-3.12) and Python/gc.c (3.13+).
 * Frame walking: Include/cpython/frameobject.h (<=3.10),
 * Include/internal/pycore_frame.h (3.11-3.13), pycore_interpframe_structs.h
 * (3.14: f_executable is a tagged _PyStackRef, FRAME_OWNED_BY_CSTACK = 4);
 * thread state: _PyRuntime.gilstate.tstate_current (<=3.11), else the GIL's
 * last holder through PyInterpreterState.ceval.gil (3.12+).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include "pyver.h"
#include "mem.h"
#include "util.h"

/* generation_stats[3] of { collections, collected, uncollectable } (3.8-3.14) */
#define GC_FLAT { .gen_off = { 0, 24, 48 } }

static const struct pmw_pyver pyvers[] = {
	{ .major = 3, .minor = 8, .interp_main = 40, .gc_stats = 472, .gc_stats_in_runtime = 1,
	  .pool_size = 4096, .arena_size = 256 << 10, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "collect" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_RUNTIME, .tstate_off = 1368, .tstate_frame = 24,
		    .frame_back = 24, .frame_code = 32, .frame_instr = 104, .instr_int = 1,
		    .code_mask = ~0ULL },
	  .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120, .ascii_data = 48, .compact_data = 72,
	  .line_table = PMW_LT_LNOTAB, .lasti_unit = 1,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 56, .md_name = 48,
		 .threads_head = 8, .frame_localsplus = 360, .frame_globals = 48, .code_names = 72,
		 .ht_cached_keys = 872, .func_qualname = 104, .func_module = 88,
		 .func_defaults = 32, .func_kwdefaults = 40, .func_closure = 48, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .managed = PMW_MD_NONE } },
	{ .major = 3, .minor = 9, .interp_main = 40, .gc_stats = 744,
	  .pool_size = 4096, .arena_size = 256 << 10, .refill_size_arg = 1, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "collect" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_RUNTIME, .tstate_off = 568, .tstate_frame = 24,
		    .frame_back = 24, .frame_code = 32, .frame_instr = 104, .instr_int = 1,
		    .code_mask = ~0ULL },
	  .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120, .ascii_data = 48, .compact_data = 72,
	  .line_table = PMW_LT_LNOTAB, .lasti_unit = 1,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 856, .md_name = 48,
		 .threads_head = 8, .frame_localsplus = 360, .frame_globals = 48, .code_names = 72,
		 .ht_cached_keys = 864, .func_qualname = 104, .func_module = 88,
		 .func_defaults = 32, .func_kwdefaults = 40, .func_closure = 48, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .managed = PMW_MD_NONE } },
	{ .major = 3, .minor = 10, .interp_main = 40, .gc_stats = 744,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 1, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "gc_collect_main" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_RUNTIME, .tstate_off = 568, .tstate_frame = 24,
		    .frame_back = 24, .frame_code = 32, .frame_instr = 96, .instr_int = 1,
		    .code_mask = ~0ULL },
	  .co_filename = 104, .co_name = 112, .co_firstlineno = 40, .co_linetable = 120, .ascii_data = 48, .compact_data = 72,
	  .line_table = PMW_LT_LINETABLE310, .lasti_unit = 2,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 856, .md_name = 48,
		 .threads_head = 8, .frame_localsplus = 352, .frame_globals = 48, .code_names = 72,
		 .ht_cached_keys = 872, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .managed = PMW_MD_NONE } },
	{ .major = 3, .minor = 11, .interp_main = 48, .gc_stats = 776,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 1, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "gc_collect_main" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_RUNTIME, .tstate_off = 576, .tstate_frame = 56,
		    .cframe_frame = 8 + 1, .frame_back = 48, .frame_code = 32, .frame_instr = 56,
		    .code_mask = ~0ULL },
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_firstlineno = 72, .co_linetable = 136, .co_code_adaptive = 184, .ascii_data = 48, .compact_data = 72,
	  .line_table = PMW_LT_LOCATIONS,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 888, .md_name = 48,
		 .threads_head = 16, .frame_localsplus = 72, .frame_globals = 8, .code_names = 96, .localsplus_311 = 1,
		 .ht_cached_keys = 872, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .dict_keys_311 = 1, .long_digits_min = 1,
		 .managed = PMW_MD_311 },
	  .gen_iframe = 80, .gen_state = 75, .frame_stacktop = 64, .gen_created = -2 },
	{ .major = 3, .minor = 12, .interp_main = 48, .gc_stats = 240,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 2, .obm_kind = PMW_OBM_EMBEDDED,
	  .obm_off = 3960, .obj_allocator = 176,
	  .gc_funcs = { "gc_collect_main" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_GIL, .tstate_off = 384, .tstate_frame = 56,
		    .cframe_frame = 0 + 1, .frame_back = 8, .frame_code = 0, .frame_instr = 56,
		    .frame_owner = 70, .owner_cstack = 3, .code_mask = ~0ULL },
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 192, .ascii_data = 40, .compact_data = 56,
	  .line_table = PMW_LT_LOCATIONS,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 944, .md_name = 48,
		 .threads_head = 72, .frame_localsplus = 72, .frame_globals = 24, .code_names = 96, .localsplus_311 = 1,
		 .ht_cached_keys = 880, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .dict_keys_311 = 1, .long_tag = 1,
		 .long_digits_min = 1, .managed = PMW_MD_312 },
	  .gen_iframe = 72, .gen_state = 67, .frame_stacktop = 64, .gen_created = -2 },
	{ .major = 3, .minor = 13, .interp_main = 640, .gc_stats = 7528,
	  .gc_stats_in_gc = 128,	/* interpreter_state.gc (_Py_DebugOffsets) + this */
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 2, .obm_kind = PMW_OBM_POINTER,
	  .obm_off = 10800, .obj_allocator = 784,
	  .gc_funcs = { "gc_collect_main" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_GIL, .tstate_off = 16, .tstate_frame = 72,
		    .frame_back = 8, .frame_code = 0, .frame_instr = 56, .frame_owner = 70,
		    .owner_cstack = 3, .code_mask = ~0ULL },
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 200, .ascii_data = 40, .compact_data = 56,
	  .line_table = PMW_LT_LOCATIONS,
	  /* holder paths (wt-holders) */
	  .obj = { .interp_modules = 7656, .md_name = 48,
		 .threads_head = 7344, .frame_localsplus = 72, .frame_globals = 24, .code_names = 96, .localsplus_311 = 1,
		 .ht_cached_keys = 880, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 24,
		 .lru_cache = 72, .lru_func = 88, .dict_keys_311 = 1, .dict_values_hdr = 8, .long_tag = 1,
		 .long_digits_min = 1,
		 .managed = PMW_MD_313 },
	  .gen_iframe = 72, .gen_state = 67, .frame_stacktop = 64, .gen_created = -3 },
	/* 3.14.0 shipped the incremental GC (_PyGC_Collect); later 3.14.x reverted to gc_collect_main */
	{ .major = 3, .minor = 14, .interp_main = 816, .gc_stats = 7528,
	  .gc_stats_in_gc = 120,	/* interpreter_state.gc (_Py_DebugOffsets) + this */
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 2, .obm_kind = PMW_OBM_POINTER,
	  .obm_off = 10904, .obj_allocator = 960,
	  .gc_funcs = { "gc_collect_main", "_PyGC_Collect" }, .gc_layout = GC_FLAT,
	  .walk = { .tstate_kind = PMW_TSTATE_GIL, .tstate_off = 16, .tstate_frame = 72,
		    .frame_back = 8, .frame_code = 0, .frame_instr = 56, .frame_owner = 74,
		    .owner_cstack = 4, .code_mask = ~3ULL },
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 208, .ascii_data = 40, .compact_data = 56,
	  .line_table = PMW_LT_LOCATIONS,
	  /* holder paths (wt-holders); 3.14.10 (Debian sid): each offset found by the address of a
	   * known object stored there (ctypes in the running interpreter); tuples cache their hash */
	  .obj = { .interp_modules = 7688, .md_name = 48,
		 .threads_head = 7344, .frame_localsplus = 80, .frame_globals = 24, .code_names = 96, .localsplus_311 = 1,
		 .ht_cached_keys = 880, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 32,
		 .lru_cache = 72, .lru_func = 88, .dict_keys_311 = 1, .dict_values_hdr = 8, .long_tag = 1,
		 .long_digits_min = 1,
		 .managed = PMW_MD_313 },
	  /* 3.14.10 (Debian sid), found with ctypes as for 3.13: the code at +72 (iframe's
	   * f_executable), the state byte at +67 going -3 -> -2 at the first next(), 4 once
	   * finished. stacktop is a stackpointer since 3.14: frame_stacktop 0, pycoro stays off */
	  .gen_iframe = 72, .gen_state = 67, .gen_created = -3 },
	/* 3.15: Debian 3.15.2's DWARF (python3.15-dbg). GC counters moved into rings of
	 * struct gc_generation_stats { ts_start, ts_stop, collections, collected,
	 * uncollectable, candidates, duration, heap_size } (64 bytes) behind the pointer
	 * gc.generation_stats: struct gc_stats { young: items[11] @0, int8 index @704;
	 * old[2]: items[3] @0, index @192, 200 bytes each, @712 } (pycore_interp_structs.h);
	 * _frameowner lost FRAME_OWNED_BY_CSTACK: the C-stack entry frames are
	 * FRAME_OWNED_BY_INTERPRETER = 3 (Python/gc.c mark_stacks skips owner >= it) */
	{ .major = 3, .minor = 15, .interp_main = 944, .gc_stats = 7504,
	  .gc_stats_in_gc = 104,	/* interpreter_state.gc (_Py_DebugOffsets) + this */
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .refill_size_arg = 2, .obm_kind = PMW_OBM_POINTER,
	  .obm_off = 10880, .obj_allocator = 1088,
	  .gc_funcs = { "gc_collect_main" },
	  .gc_layout = { .deref = 1, .stride = 64, .counts_off = 16, .gen_off = { 0, 712, 912 },
			 .index_off = { 704, 192, 192 }, .slots = { 11, 3, 3 } },
	  .walk = { .tstate_kind = PMW_TSTATE_GIL, .tstate_off = 16, .tstate_frame = 72,
		    .frame_back = 8, .frame_code = 0, .frame_instr = 56, .frame_owner = 74,
		    .owner_cstack = 3, .code_mask = ~3ULL },
	  .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 208, .ascii_data = 40, .compact_data = 56,
	  .line_table = PMW_LT_LOCATIONS,
	  /* holder paths (wt-holders); 3.15.2 (Debian sid), found as for 3.14: md_name moved
	   * from 48 to 40, ht_qualname from 872 to 880 */
	  .obj = { .interp_modules = 7592, .md_name = 40,
		 .threads_head = 7336, .frame_localsplus = 80, .frame_globals = 24, .code_names = 96, .localsplus_311 = 1,
		 .ht_cached_keys = 888, .func_qualname = 40, .func_module = 104,
		 .func_defaults = 56, .func_kwdefaults = 64, .func_closure = 72, .tuple_items = 32,
		 .lru_cache = 72, .lru_func = 88, .dict_keys_311 = 1, .dict_values_hdr = 8, .long_tag = 1,
		 .long_digits_min = 1,
		 .managed = PMW_MD_313 },
	  /* 3.15.2 (Debian sid), found as for 3.14: the states count up, FRAME_CREATED = 0,
	   * suspended 1, 5 once finished or closed */
	  .gen_iframe = 72, .gen_state = 67, .gen_created = 0, .gen_done = 5 },
};

const struct pmw_pyver *pmw_pyver_find(int major, int minor)
{
	for (size_t i = 0; i < ARRAY_SIZE(pyvers); i++)
		if (pyvers[i].major == major && pyvers[i].minor == minor)
			return &pyvers[i];
	return NULL;
}

int pmw_pyver_gc_read(pid_t pid, const struct pmw_py_gcstats_layout *l, uint64_t addr,
		      struct pmw_py_gcstats st[PMW_NGEN])
{
	uint64_t base = addr;

	if (l->deref) {
		if (pmw_mem_read(pid, addr, &base, sizeof(base)))
			return -EFAULT;
		if (!base)
			return -EAGAIN;
	}
	for (int g = 0; g < PMW_NGEN; g++) {
		uint64_t ring = base + l->gen_off[g];
		int8_t slot = 0;

		if (l->stride && (pmw_mem_read(pid, ring + l->index_off[g], &slot, 1) ||
				  slot < 0 || (uint32_t)slot >= l->slots[g]))
			return -EFAULT;
		if (pmw_mem_read(pid, ring + (uint32_t)slot * l->stride + l->counts_off, &st[g],
				 sizeof(st[g])))
			return -EFAULT;
	}
	return 0;
}

const struct pmw_pyver *pmw_pyver_at(size_t i)
{
	return i < ARRAY_SIZE(pyvers) ? &pyvers[i] : NULL;
}

const char *pmw_pyver_supported(void)
{
	static char buf[32];
	const struct pmw_pyver *lo = &pyvers[0], *hi = &pyvers[ARRAY_SIZE(pyvers) - 1];

	if (!buf[0])
		snprintf(buf, sizeof(buf), "%d.%d-%d.%d", lo->major, lo->minor, hi->major, hi->minor);
	return buf;
}

/* ---- free-threaded builds (wt-ft): offsetof() printed by a C program built
 * against the headers `make install` put in 3.13t's include/python3.13t/internal
 * (scripts/build-ft.sh: Debian python3.13 3.13.5 source, --disable-gil). ---- */
static const struct pmw_pyver_ft pyvers_ft[] = {
	{ .major = 3, .minor = 13, .interp_threads_head = 7344, .interp_abandoned = 10880,
	  .interp_abandoned_visited = 10816, .interp_abandoned_count = 10944,
	  .interp_abandoned_visited_count = 11008, .tstate_next = 8, .tstate_interp = 16,
	  .tstate_thread_id = 152,	/* also its _Py_DebugOffsets thread_state.thread_id */
	  .tstate_heaps = 352, .heap_size = 3064, .heap_pages = 1040, .heap_nqueues = 75,
	  .heap_delayed_free = 2840, .heap_tag = 3057, .heap_page_count = 3024,
	  .page_size = 96, .page_flags = 8,
	  .page_capacity = 10, .page_reserved = 12, .page_used = 24, .page_xblock_size = 28,
	  .page_xthread_free = 40, .page_xheap = 48, .page_next = 56,
	  .seg_abandoned_next = 176, .seg_slice_entries = 248, .seg_slices = 264,
	  .segment_size = 32u << 20, .slice_size = 64u << 10, .max_slices = 1025,
	  .page_free = 16, .page_local_free = 32, .start_x3_max = 64, .start_x1_max = 512,
	  .ob_shift = 16, .ob_ref_local = 12, .ob_ref_shared = 16, .pre_header = 16 },
};

const struct pmw_pyver_ft *pmw_pyver_ft_find(int major, int minor)
{
	for (size_t i = 0; i < ARRAY_SIZE(pyvers_ft); i++)
		if (pyvers_ft[i].major == major && pyvers_ft[i].minor == minor)
			return &pyvers_ft[i];
	return NULL;
}
