/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `pymemwatch snapshot`: one walk's census, biggest holders and advice as
 * text, JSON Lines ({"type":"census"}, {"type":"holder"}, {"type":"advice"})
 * and the --csv-advice rows. String contents (advice row .value) are written
 * only when show_values is set.
 */
#ifndef PMW_OUTPUT_ADVICE_H
#define PMW_OUTPUT_ADVICE_H

#include <stdbool.h>
#include <stdio.h>
#include "advice.h"
#include "holders.h"
#include "target.h"
#include "walk.h"

struct pmw_snapshot {
	const struct pmw_target *t;
	const char *host;
	char time[40];			/* RFC 3339, when the walk ended */
	const struct pmw_walk_census *census;	/* largest first */
	int ncensus;
	uint64_t heap_bytes;		/* sum of the census */
	const struct pmw_holder *holders;	/* largest retained first */
	int nholders;
	const struct pmw_advice_row *advice;	/* largest saving first */
	int nadvice;
	struct pmw_walk_stats stats;	/* of the walk */
	double cpu_s, wall_s;		/* the whole snapshot: walk, holders, advice */
	bool show_values;
};

/* The human-readable snapshot: @top census rows and holders, every advice row. */
void pmw_snapshot_text(FILE *f, const struct pmw_snapshot *s, int top);
/* JSON Lines of the snapshot; 0 or -EIO. */
int pmw_snapshot_json(FILE *f, const struct pmw_snapshot *s, int top);
/* --csv-advice: the header line, and one row per advice row. */
void pmw_advice_csv_header(FILE *f);
void pmw_advice_csv(FILE *f, const struct pmw_snapshot *s);

struct pmw_walk_seen;
struct pmw_watch;
/* The summary's "Where the memory goes" section: @w's last walk's advice (nothing before one). */
void pmw_advice_summary(FILE *f, struct pmw_watch *w);
/* Live runs: {"type":"advice"} lines of @w's last walk, once per walk (@seen). 0 or -EIO. */
int pmw_advice_json_watch(FILE *f, const char *host, struct pmw_walk_seen *seen,
			  struct pmw_watch *w);

#endif
