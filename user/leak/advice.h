/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the memory goes and what would save it: advice computed from one
 * heap walk (walk.c's on_object hook sees every object in a pool) plus a few
 * reads after it. Kinds, each with objects, bytes and the estimated saving:
 *   slots                a class whose instances carry a __dict__ (or 3.11+
 *                        values): their bytes now against a __slots__ twin's
 *   duplicate_str        str objects with equal contents: (copies - 1) blocks
 *   empty_container      empty dict, list, set: their blocks and tables
 *   oversized_container  dicts whose keys table far exceeds ma_used (they
 *                        never shrink), lists and sets whose allocation far
 *                        exceeds their length
 *   boxed_numbers        lists of many floats or ints: the boxes an array
 *                        ('d', 'q') would not need
 * Only rows whose saving is at least PMW_ADVICE_MIN_BYTES and
 * PMW_ADVICE_MIN_SHARE of the walked heap are kept, ranked by saving.
 * String contents are never kept unless asked (show_values): by default a
 * value is its length and a short hash.
 */
#ifndef PMW_ADVICE_H
#define PMW_ADVICE_H

#include <stdbool.h>
#include <stdint.h>
#include "target.h"
#include "walk.h"

#define PMW_ADVICE_MIN_BYTES	(256u << 10)	/* a row saves at least this ... */
#define PMW_ADVICE_MIN_SHARE	0.005		/* ... and this share of the walked heap */
#define PMW_ADVICE_ROWS		32		/* rows kept at most */

struct pmw_advice_row {
	char kind[24];			/* "slots", "duplicate_str", ... */
	char subject[160];		/* "app.Point", "str len=40 #1a2b3c4d", "dict", "list of float" */
	char where[256];		/* "app.py:12" (slots), a holder path, or "" */
	uint64_t objects;		/* objects concerned */
	uint64_t bytes;			/* bytes they use now */
	uint64_t saving;		/* estimated bytes saved */
	char detail[192];		/* how the figures were made, per kind */
	char value[128];		/* duplicate_str's text with show_values, else "" */
	uint64_t sample;		/* a container concerned (address), 0 none */
	uint64_t key;			/* duplicate_str: the value's hash */
};

struct pmw_advice_acc;

/*
 * A collector for walks of @t: pmw_advice_hook() installs it as @wk's
 * on_object. @small: tables 32 times smaller (live runs, every walk; more
 * str values and dicts sampled). NULL on -ENOMEM.
 */
struct pmw_advice_acc *pmw_advice_new(const struct pmw_target *t, bool small);
void pmw_advice_hook(struct pmw_advice_acc *a, struct pmw_walk *wk);
/* Forget what was collected (a walk starts, or one completed and was finished). */
void pmw_advice_reset(struct pmw_advice_acc *a);

/* The target @a reads from is @t again: a target's state can move between walk steps (the
 * session's array of watches grows when a followed child is added). */
void pmw_advice_set_target(struct pmw_advice_acc *a, const struct pmw_target *t);

/*
 * After the walk completed: the advice rows, ranked by saving (at most @max
 * into @out). @heap_bytes: the walked heap (the census total) for the share
 * threshold. @show_values: keep duplicate strings' text (row.value).
 * Reads target memory (dict keys headers, list items, class dicts): bounded.
 * Returns the row count or -errno.
 */
int pmw_advice_finish(struct pmw_advice_acc *a, struct pmw_walk *wk, uint64_t heap_bytes,
		      bool show_values, struct pmw_advice_row *out, int max);

/*
 * For each duplicate_str row of @rows: the container among @conts (n
 * addresses: the walk's longest containers) whose sampled items (16 each,
 * dict: values) hold most copies of its value, as estimated from the sample,
 * into its .sample (0: none). Reads through @r: about 3 reads per item.
 */
struct pmw_pyr;
void pmw_advice_str_holders(struct pmw_advice_acc *a, struct pmw_pyr *r, const uint64_t *conts,
			    int n, struct pmw_advice_row *rows, int nrows);

void pmw_advice_free(struct pmw_advice_acc *a);

#endif
