// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CSV, RFC 4180: one row per PID per interval, the columns of the field table
 * (fields.c); an unavailable figure is an empty cell.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "fields.h"
#include "ops.h"
#include "util.h"

static int csv_open(struct pmw_output *o, const char *path)
{
	char col[64];
	int n = 0;

	pmw_for_each_col(f, g)
		if (!(f->flags & PMW_FF_JSON_ONLY))
			fprintf(o->f, "%s%s", n++ ? "," : "", pmw_field_colname(f, g, col, sizeof(col)));
	fputs("\r\n", o->f);
	return pmw_flush(o->f);
}

static int csv_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < n; i++) {
		struct pmw_fsrc src = { .w = ws[i], .host = o->host };
		struct pmw_fval v;
		int k = 0;

		pmw_for_each_col(f, g) {
			if (f->flags & PMW_FF_JSON_ONLY)
				continue;
			src.gen = g;
			pmw_field_value(f, NULL, NULL, &src, &v);
			if (k++)
				fputc(',', o->f);
			if (v.na)
				continue;	/* unavailable: an empty cell */
			if (f->type == PMW_F_STR)
				pmw_csv_field(o->f, v.s ? v.s : "");
			else if (f->type == PMW_F_U64)
				fprintf(o->f, "%llu", (unsigned long long)v.u);
			else
				fprintf(o->f, "%.*f", f->prec, v.d);
		}
		fputs("\r\n", o->f);
	}
	/* flushed every interval: a crash or kill loses nothing already produced */
	return pmw_flush(o->f);
}

const struct pmw_output_ops pmw_out_csv = {
	.name = "csv",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write one CSV row per PID per interval to FILE ('-' = stdout)",
	.open = csv_open,
	.interval = csv_interval,
};
