// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Suspended coroutines read from target memory (pycoro.h). */
#include <errno.h>
#include <string.h>
#include "pycoro.h"
#include "pyobj.h"
#include "pyver.h"

#define SCAN_MAX	512	/* bytes of an object scanned for pointers */

/* true if @obj is a coroutine object (its type's tp_name is "coroutine") */
static bool is_coro(struct pmw_pyr *r, uint64_t obj)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);

	return ty && !ty->heap && !strcmp(ty->name, "coroutine");
}

/* objects whose words cannot lead to a task: strings, numbers, types, modules, dicts */
static bool scanned(const struct pmw_pytype *ty)
{
	switch (ty->kind) {
	case PMW_PK_STR: case PMW_PK_BYTES: case PMW_PK_INT: case PMW_PK_TYPE:
	case PMW_PK_MODULE: case PMW_PK_DICT: case PMW_PK_SET:
		return false;
	default:
		return true;
	}
}

/* The words of @obj (its tp_basicsize, and 8 items of a variable-size one) into @w; count. */
static int words(struct pmw_pyr *r, uint64_t obj, const struct pmw_pytype *ty,
		 uint64_t w[SCAN_MAX / 8])
{
	int64_t size = ty->basicsize, n = 0;

	if (ty->itemsize > 0 && !pmw_pyr_read(r, obj + PMW_OB_SIZE, &n, 8) && n > 0)
		size += (n < 8 ? n : 8) * ty->itemsize;
	if (size > SCAN_MAX)
		size = SCAN_MAX;
	size &= ~7LL;
	if (size <= 16 || pmw_pyr_read(r, obj, w, size))
		return 0;
	return size / 8;
}

/* breadth first from @from to the nearest coroutine, 0 none */
static uint64_t find_coro(struct pmw_pyr *r, uint64_t from)
{
	uint64_t q[PMW_CORO_NODES], w[SCAN_MAX / 8];
	uint8_t depth[PMW_CORO_NODES];
	int head = 0, tail = 0;

	if (is_coro(r, from))
		return from;
	q[tail] = from;
	depth[tail++] = 0;
	while (head < tail) {
		uint64_t obj = q[head];
		uint8_t d = depth[head++];
		const struct pmw_pytype *ty = pmw_pyobj_type(r, obj);
		int n = ty && scanned(ty) ? words(r, obj, ty, w) : 0;

		for (int i = 2; i < n; i++) {	/* past ob_refcnt and ob_type */
			const struct pmw_pytype *ct;
			bool dup = false;

			if (!pmw_pyptr_ok(w[i]) || w[i] == obj)
				continue;
			if (is_coro(r, w[i]))
				return w[i];
			for (int k = 0; k < tail && !dup; k++)
				dup = q[k] == w[i];
			if (dup || d + 1 >= PMW_CORO_DEPTH || tail == PMW_CORO_NODES ||
			    !(ct = pmw_pyobj_type(r, w[i])) || !scanned(ct))
				continue;
			q[tail] = w[i];
			depth[tail++] = d + 1;
		}
	}
	return 0;
}

int pmw_coro_frames(struct pmw_pyr *r, uint64_t from, uint64_t *code, uint64_t *instr, int max)
{
	const struct pmw_pyver *pv = r->t->pv;
	uint64_t coro = 0, chain[PMW_CORO_CHAIN][2];
	int n = 0;

	if (!pv->gen_iframe || !pv->frame_stacktop)
		return -EOPNOTSUPP;
	coro = find_coro(r, from);
	while (coro && n < PMW_CORO_CHAIN) {
		uint64_t frame = coro + pv->gen_iframe, top = 0;
		int8_t state;
		int32_t stacktop;

		if (pmw_pyr_read(r, coro + pv->gen_state, &state, 1) || state >= 0 ||
		    state == pv->gen_created ||
		    pmw_pyr_read(r, frame + pv->walk.frame_code, &chain[n][0], 8) ||
		    pmw_pyr_read(r, frame + pv->walk.frame_instr, &chain[n][1], 8))
			break;	/* running, finished or never started: no line it waits at */
		chain[n][0] &= pv->walk.code_mask;
		n++;
		/* what it awaits: localsplus[stacktop - 1] (_PyFrame_StackPeek) */
		if (pmw_pyr_read(r, frame + pv->frame_stacktop, &stacktop, 4) || stacktop <= 0 ||
		    stacktop > 4096 ||
		    pmw_pyr_read(r, frame + pv->obj.frame_localsplus + (stacktop - 1) * 8ULL, &top, 8) ||
		    !pmw_pyptr_ok(top) || !is_coro(r, top))
			break;
		coro = top;
	}
	/* innermost (the deepest awaited) first */
	for (int i = 0; i < n && i < max; i++) {
		code[i] = chain[n - 1 - i][0];
		instr[i] = chain[n - 1 - i][1];
	}
	return n < max ? n : max;
}
