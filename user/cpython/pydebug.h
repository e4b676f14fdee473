/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * _Py_DebugOffsets (3.13+): the layout an interpreter publishes about itself
 * at the start of _PyRuntime, for out-of-process debuggers (CPython
 * Include/internal/pycore_runtime.h in 3.13, pycore_debug_offsets.h from
 * 3.14 on). Read at attach; every offset it carries that the version table
 * also has is checked, and the target's value replaces the table's.
 */
#ifndef PMW_PYDEBUG_H
#define PMW_PYDEBUG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "pyver.h"

/* bytes read at &_PyRuntime: more than any known version's _Py_DebugOffsets */
#define PMW_DEBUG_OFFSETS_LEN	(96 * 8)
#define PMW_DEBUG_COOKIE	"xdebugpy"

/* one offset on which the target and pymemwatch disagree */
struct pmw_debug_diff {
	const char *field;	/* "tuple_object.ob_item" (the struct's own names) */
	uint64_t target;	/* what the target publishes */
	uint64_t table;		/* what pymemwatch had: the table row or a fixed offset */
	bool followed;		/* the target's value is used; false: a fixed offset, not followable */
};

/*
 * Check the _Py_DebugOffsets @raw (@len bytes read at &_PyRuntime) against
 * @pv, a copy of the target's version-table row, and write each offset the
 * target publishes into @pv (interpreter, thread, frame, code and tuple
 * offsets, str's data offsets, 3.15's ht_cached_keys, interpreters.main =
 * interpreters.head + 8, gc_stats = interpreter_state.gc + gc_stats_in_gc). Offsets pymemwatch has fixed at build time
 * (PMW_OB_TYPE, PMW_TP_FLAGS, list, dict, set, int, bytes, str fields) are
 * only compared. Up to @max disagreements go to @diffs. Returns how many
 * there were (>= 0), -ENOENT (no cookie: not published), -EINVAL (its
 * version is not @pv's major.minor, a layout not known (3.16+), or @len
 * too short).
 */
int pmw_debug_offsets_apply(struct pmw_pyver *pv, const uint8_t *raw, size_t len,
			    struct pmw_debug_diff *diffs, int max);

#endif
