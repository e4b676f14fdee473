// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * _Py_DebugOffsets read from the target. Layouts: 3.13 from pyenv 3.13.0's
 * Include/internal/pycore_runtime.h; 3.14 from CPython's
 * Include/internal/pycore_debug_offsets.h (3.14 adds interpreter_state
 * .threads_main, .code_object_generation, .tlbc_generation, interpreter_frame
 * .stackpointer, .tlbc_index, code_object.co_tlbc and set_object); 3.14 and
 * 3.15 as Debian's python3.14-dbg and python3.15-dbg DWARF print the struct
 * (gdb ptype/o: 3.15 grows thread_state, type_object with tp_basicsize and
 * tp_dictoffset, heap_type_object, unicode_object's compact size). Each
 * checked against the bytes at &_PyRuntime of pyenv 3.13.0, Debian 3.14.10
 * and 3.15.2: every value the table also has agrees.
 */
#include <errno.h>
#include <string.h>
#include "pydebug.h"

#define FIXED		SIZE_MAX	/* a fixed offset: compared, never written */
#define PV(f)		offsetof(struct pmw_pyver, f), 0
#define CONST(v)	FIXED, (v)

/* one offset of _Py_DebugOffsets: its u64 slot (cookie = 0) in the 3.13, 3.14 and 3.15 layouts */
struct dfield {
	const char *name;
	uint8_t slot[3];	/* 3.13, 3.14, 3.15; 0: not in that layout */
	size_t pv_off;		/* a uint32_t of struct pmw_pyver, or FIXED */
	uint32_t fixed;		/* FIXED: pymemwatch's built-in value */
	int8_t adjust;		/* the table's value = the target's + adjust */
	size_t adjust_pv;	/* and + this uint32_t of struct pmw_pyver (0: none) */
};

static const struct dfield fields[] = {
	/* struct pyinterpreters { mutex; head; main; ... }: main follows head */
	{ "runtime_state.interpreters_head", { 5, 5, 5 }, PV(interp_main), 8, 0 },
	{ "interpreter_state.threads_head", { 9, 9, 9 }, PV(obj.threads_head), 0, 0 },
	{ "interpreter_state.gc", { 10, 11, 11 }, PV(gc_stats), 0,
	  offsetof(struct pmw_pyver, gc_stats_in_gc) },
	{ "interpreter_state.imports_modules", { 11, 12, 12 }, PV(obj.interp_modules), 0, 0 },
	{ "thread_state.next", { 21, 24, 24 }, CONST(PMW_TSTATE_NEXT), 0, 0 },
	{ "thread_state.current_frame", { 23, 26, 26 }, PV(walk.tstate_frame), 0, 0 },
	{ "interpreter_frame.previous", { 29, 32, 40 }, PV(walk.frame_back), 0, 0 },
	{ "interpreter_frame.executable", { 30, 33, 41 }, PV(walk.frame_code), 0, 0 },
	{ "interpreter_frame.instr_ptr", { 31, 34, 42 }, PV(walk.frame_instr), 0, 0 },
	{ "interpreter_frame.localsplus", { 32, 35, 43 }, PV(obj.frame_localsplus), 0, 0 },
	{ "interpreter_frame.owner", { 33, 36, 44 }, PV(walk.frame_owner), 0, 0 },
	{ "code_object.filename", { 35, 40, 48 }, PV(co_filename), 0, 0 },
	{ "code_object.name", { 36, 41, 49 }, PV(co_name), 0, 0 },
	{ "code_object.qualname", { 37, 42, 50 }, PV(co_qualname), 0, 0 },
	{ "code_object.linetable", { 38, 43, 51 }, PV(co_linetable), 0, 0 },
	{ "code_object.firstlineno", { 39, 44, 52 }, PV(co_firstlineno), 0, 0 },
	{ "code_object.localsplusnames", { 41, 46, 54 }, PV(obj.code_names), 0, 0 },
	{ "code_object.co_code_adaptive", { 43, 48, 56 }, PV(co_code_adaptive), 0, 0 },
	{ "pyobject.ob_type", { 45, 51, 59 }, CONST(PMW_OB_TYPE), 0, 0 },
	{ "type_object.tp_name", { 47, 53, 61 }, CONST(PMW_TP_NAME), 0, 0 },
	{ "type_object.tp_flags", { 49, 55, 63 }, CONST(PMW_TP_FLAGS), 0, 0 },
	{ "type_object.tp_basicsize", { 0, 0, 64 }, CONST(PMW_TP_BASICSIZE), 0, 0 },
	{ "type_object.tp_dictoffset", { 0, 0, 65 }, CONST(PMW_TP_DICTOFFSET), 0, 0 },
	{ "heap_type_object.ht_cached_keys", { 0, 0, 67 }, PV(obj.ht_cached_keys), 0, 0 },
	{ "tuple_object.ob_item", { 51, 57, 69 }, PV(obj.tuple_items), 0, 0 },
	{ "tuple_object.ob_size", { 52, 58, 70 }, CONST(PMW_OB_SIZE), 0, 0 },
	{ "list_object.ob_item", { 54, 60, 72 }, CONST(PMW_LIST_ITEMS), 0, 0 },
	{ "set_object.used", { 0, 63, 75 }, CONST(PMW_SET_USED), 0, 0 },
	{ "set_object.table", { 0, 64, 76 }, CONST(PMW_SET_TABLE), 0, 0 },
	{ "set_object.mask", { 0, 65, 77 }, CONST(PMW_SET_MASK), 0, 0 },
	{ "dict_object.ma_keys", { 57, 67, 79 }, CONST(PMW_MA_KEYS), 0, 0 },
	{ "dict_object.ma_values", { 58, 68, 80 }, CONST(PMW_MA_VALUES), 0, 0 },
	{ "long_object.ob_digit", { 63, 73, 85 }, CONST(PMW_LONG_DIGITS), 0, 0 },
	{ "bytes_object.ob_sval", { 66, 76, 88 }, CONST(PMW_OB_SVAL), 0, 0 },
	{ "unicode_object.state", { 68, 78, 90 }, CONST(PMW_STR_STATE), 0, 0 },
	{ "unicode_object.length", { 69, 79, 91 }, CONST(PMW_STR_LENGTH), 0, 0 },
	{ "unicode_object.asciiobject_size", { 70, 80, 92 }, PV(ascii_data), 0, 0 },
	{ "unicode_object.compactunicodeobject_size", { 0, 0, 93 }, PV(compact_data), 0, 0 },
};

/* u64 slots read for @minor (through the last one used), 0 for a layout not known */
static unsigned int known_slots(int minor)
{
	return minor == 13 ? 71 : minor == 14 ? 81 : minor == 15 ? 94 : 0;
}

static uint64_t slot_at(const uint8_t *raw, unsigned int slot)
{
	uint64_t v;

	memcpy(&v, raw + (size_t)slot * 8, sizeof(v));
	return v;
}

/* compare (and for table offsets, take) one field; true if they disagreed */
static bool apply_one(struct pmw_pyver *pv, const struct dfield *f, uint64_t target,
		      struct pmw_debug_diff *d)
{
	uint64_t want = target + f->adjust +
			(f->adjust_pv ? *(const uint32_t *)((const uint8_t *)pv + f->adjust_pv) : 0);
	uint32_t *dst = f->pv_off == FIXED ? NULL : (uint32_t *)((uint8_t *)pv + f->pv_off);
	uint64_t have = dst ? *dst : f->fixed;

	if (want == have)
		return false;
	*d = (struct pmw_debug_diff){ .field = f->name, .target = want, .table = have,
				      .followed = dst && want <= UINT32_MAX };
	if (d->followed)
		*dst = (uint32_t)want;
	return true;
}

int pmw_debug_offsets_apply(struct pmw_pyver *pv, const uint8_t *raw, size_t len,
			    struct pmw_debug_diff *diffs, int max)
{
	unsigned int nslots = known_slots(pv->minor);
	uint64_t version;
	int n = 0;

	if (len < 16 || memcmp(raw, PMW_DEBUG_COOKIE, 8))
		return -ENOENT;
	version = slot_at(raw, 1);	/* PY_VERSION_HEX */
	if ((int)(version >> 24) != pv->major || (int)(version >> 16 & 0xff) != pv->minor ||
	    !nslots || len < (size_t)nslots * 8)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct dfield *f = &fields[i];
		unsigned int slot = f->slot[pv->minor - 13];
		struct pmw_debug_diff d;

		if (!slot || slot >= nslots || !apply_one(pv, f, slot_at(raw, slot), &d))
			continue;
		if (n < max)
			diffs[n] = d;
		n++;
	}
	return n;
}
