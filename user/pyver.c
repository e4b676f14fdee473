// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sources: offsetof() printed by a C program built against each version's
 * Include/internal headers (pyenv 3.8.18-3.13.0, Debian 3.11.2 and 3.14.10),
 * see ../shared/reference/cpython-internals.md section 3.7; GC function names
 * from Modules/gcmodule.c (3.8-3.12) and Python/gc.c (3.13+).
 */
#include <stddef.h>
#include "pyver.h"
#include "util.h"

static const struct pmw_pyver pyvers[] = {
	{ .major = 3, .minor = 8, .interp_main = 40, .gc_stats = 472, .gc_stats_in_runtime = 1,
	  .pool_size = 4096, .arena_size = 256 << 10, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "collect" }, .refill_arg = 0 },
	{ .major = 3, .minor = 9, .interp_main = 40, .gc_stats = 744,
	  .pool_size = 4096, .arena_size = 256 << 10, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "collect" }, .refill_arg = 0 },
	{ .major = 3, .minor = 10, .interp_main = 40, .gc_stats = 744,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "gc_collect_main" }, .refill_arg = 0 },
	{ .major = 3, .minor = 11, .interp_main = 48, .gc_stats = 776,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .obm_kind = PMW_OBM_STATIC,
	  .gc_funcs = { "gc_collect_main" }, .refill_arg = 0 },
	{ .major = 3, .minor = 12, .interp_main = 48, .gc_stats = 240,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .obm_kind = PMW_OBM_EMBEDDED,
	  .obm_off = 3960, .obj_allocator = 176,
	  .gc_funcs = { "gc_collect_main" }, .refill_arg = 1 },
	{ .major = 3, .minor = 13, .interp_main = 640, .gc_stats = 7528,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .obm_kind = PMW_OBM_POINTER,
	  .obm_off = 10800, .obj_allocator = 784,
	  .gc_funcs = { "gc_collect_main" }, .refill_arg = 1 },
	/* 3.14.0 shipped the incremental GC (_PyGC_Collect); later 3.14.x reverted to gc_collect_main */
	{ .major = 3, .minor = 14, .interp_main = 816, .gc_stats = 7528,
	  .pool_size = 16 << 10, .arena_size = 1 << 20, .obm_kind = PMW_OBM_POINTER,
	  .obm_off = 10904, .obj_allocator = 960,
	  .gc_funcs = { "gc_collect_main", "_PyGC_Collect" }, .refill_arg = 1 },
};

const struct pmw_pyver *pmw_pyver_find(int major, int minor)
{
	for (size_t i = 0; i < ARRAY_SIZE(pyvers); i++)
		if (pyvers[i].major == major && pyvers[i].minor == minor)
			return &pyvers[i];
	return NULL;
}

const char *pmw_pyver_supported(void)
{
	return "3.8-3.14";
}
