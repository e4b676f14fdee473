/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Leak rows from heap walks, shared by the outputs (see output_leaks.c). */
#ifndef PMW_OUTPUT_LEAKS_H
#define PMW_OUTPUT_LEAKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "containers.h"

struct pmw_watch;
struct json_t;

/* which walk of each PID an output wrote last (keyed by PID modulo 1024) */
struct pmw_walk_seen {
	int pid[1024];
	uint64_t walks[1024];
};
/* Has @w completed a walk that @p has not seen? Marks it seen. */
bool pmw_walk_is_new(struct pmw_walk_seen *p, const struct pmw_watch *w);

/* Write @obj (consumed; NULL: -ENOMEM) as one JSON line. 0, -ENOMEM or -EIO. */
int pmw_json_put(FILE *f, struct json_t *obj);

/* The growing containers of @w as leak rows, worst first (rank 1); returns the count. */
int pmw_leak_rows(struct pmw_watch *w, struct pmw_leak_row *rows, int max);

/* JSON Lines: one {"type":"leak"} per row and one {"type":"types"} census. 0 or -EIO. */
int pmw_leaks_json(FILE *f, const char *host, const char *ts, struct pmw_watch *w);

/* One leak row as a table line (under 160 columns plus the site), and its header;
 * holders cut at PMW_LEAK_HOLDER_W columns (the live view). */
#define PMW_LEAK_HOLDER_W	40
void pmw_format_leak_row(char *buf, size_t len, const struct pmw_leak_row *r);
extern const char pmw_leak_header[];
/* The same with a holder column @holder_w wide (>= PMW_LEAK_HOLDER_W; the summary
 * widens it to its longest holder so that none is cut). */
void pmw_format_leak_row_w(char *buf, size_t len, const struct pmw_leak_row *r, int holder_w);

/*
 * The top growing stack of @r on one line, innermost first ("f file:line <
 * g file:line ..."), file names without their directory; or why there is
 * no site; "" when neither is known.
 */
void pmw_format_leak_stack(char *buf, size_t len, const struct pmw_leak_row *r);

/* The leak table (holder, growth, retained size, item type, site), @max rows. */
void pmw_print_leak_table(FILE *f, struct pmw_watch *w, int max);

#endif
