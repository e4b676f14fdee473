/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Suspended coroutines read from target memory: from an object that leads to
 * an asyncio task (a done-callback tuple, a task's bound wakeup method, the
 * task itself) to the frames its coroutine chain waits in. Layout facts per
 * version in struct pmw_pyver (gen_iframe, gen_state, frame_stacktop,
 * gen_created; 3.11-3.13); the Task's own struct is not needed: its words are
 * scanned for a pointer to a `coroutine`. Every pointer read is untrusted.
 */
#ifndef PMW_PYCORO_H
#define PMW_PYCORO_H

#include <stdint.h>

struct pmw_pyr;

#define PMW_CORO_DEPTH		3	/* pointer steps from the start object to the coroutine */
#define PMW_CORO_NODES		48	/* objects scanned looking for it */
#define PMW_CORO_CHAIN		8	/* coroutines followed through `await` */

/*
 * Find a suspended coroutine reachable from the object at @from within
 * PMW_CORO_DEPTH pointer steps (breadth first over each object's
 * tp_basicsize words, plus up to 8 items of a variable-size object), then
 * follow what it awaits (the top of its frame's value stack,
 * CPython's _PyGen_yf) while that is a coroutine too. Writes up to @max
 * frames, innermost (the deepest awaited coroutine) first, as the raw
 * (code object, instruction pointer) pairs that pmw_frame_resolve() names.
 * Returns the frames written, 0 if no suspended coroutine was found,
 * -EOPNOTSUPP when the version has no coroutine layout in pyver.
 */
int pmw_coro_frames(struct pmw_pyr *r, uint64_t from, uint64_t *code, uint64_t *instr, int max);

#endif
