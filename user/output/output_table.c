// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Plain interval tables for pipes and files (like vmstat), under 100
 * columns: the rows of the field table (fields.c) that have a table column.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fields.h"
#include "ops.h"
#include "summary.h"
#include "util.h"

static bool left(const struct pmw_field *f)
{
	return f->table.fmt == PMW_TF_CLOCK || f->table.fmt == PMW_TF_ID || f->table.fmt == PMW_TF_STR;
}

/* the columns of the field table that have a table head, in its order */
#define for_each_table_col(f, g) pmw_for_each_col(f, g) if (f->table.head)

/* a cell, after a space unless it is the first of its line */
static void put_cell(FILE *out, const struct pmw_field *f, const char *text, bool first)
{
	fprintf(out, left(f) ? "%s%-*s" : "%s%*s", first ? "" : " ", f->table.width, text);
}

static void header(FILE *out)
{
	char buf[32];
	bool first = true;

	for_each_table_col(f, g) {
		put_cell(out, f, pmw_field_label(f, f->table.head, g, buf, sizeof(buf)), first);
		first = false;
	}
	fputc('\n', out);
}

/* one cell of @w's row, as the column's format says */
static void format(const struct pmw_field *f, const struct pmw_fsrc *src, char *buf, size_t len)
{
	const struct pmw_row *r = &src->w->row;
	double s = r->interval_s > 0 ? r->interval_s : 1;
	struct pmw_fval v;
	time_t t;
	struct tm tm;

	pmw_field_value(f, f->table.get, NULL, src, &v);
	if (v.na) {
		snprintf(buf, len, "n/a");
		return;
	}
	switch (f->table.fmt) {
	case PMW_TF_CLOCK:
		t = (time_t)v.u;
		localtime_r(&t, &tm);
		strftime(buf, len, "%H:%M:%S", &tm);
		/* the last row of a process that exited: its time column says so */
		if (r->final)
			snprintf(buf, len, "exited");
		break;
	case PMW_TF_STR:
		snprintf(buf, len, "%.*s", f->table.width, v.s ? v.s : "");
		break;
	case PMW_TF_ID:
	case PMW_TF_U64:
		snprintf(buf, len, "%llu", (unsigned long long)v.u);
		break;
	case PMW_TF_COUNT:
		pmw_fmt_count(v.u, buf, len);
		break;
	case PMW_TF_RATE:
		pmw_fmt_count(v.u / s, buf, len);
		break;
	case PMW_TF_BYTES:
		pmw_fmt_bytes(v.u, buf, len);
		break;
	case PMW_TF_MS:
		snprintf(buf, len, "%.2fms", v.d);
		break;
	}
	if ((f->flags & PMW_FF_PRECISION) && !r->exact && strlen(buf) + 1 < len)
		strcat(buf, "~");
}

static int table_open(struct pmw_output *o, const char *arg)
{
	o->f = stdout;
	return 0;
}

static int table_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	if (o->rank) {
		/* -a: the processes ranked by leak score, each interval */
		struct pmw_watch **r = malloc((n ? n : 1) * sizeof(*r));
		char now[16];
		time_t tt = time(NULL);
		struct tm tm;

		if (!r)
			return -ENOMEM;
		memcpy(r, ws, n * sizeof(*r));
		pmw_rank(r, n, PMW_RANK_SCORE);
		localtime_r(&tt, &tm);
		strftime(now, sizeof(now), "%H:%M:%S", &tm);
		fprintf(o->f, "%s  %d process%s, ranked by leak score\n", now, n, n == 1 ? "" : "es");
		pmw_print_ranking(o->f, r, n, true);
		fputc('\n', o->f);
		free(r);
		return 0;
	}

	header(o->f);
	for (int i = 0; i < n; i++) {
		struct pmw_fsrc src = { .w = ws[i] };
		bool first = true;
		char v[32];

		for_each_table_col(f, g) {
			src.gen = g;
			format(f, &src, v, sizeof(v));
			put_cell(o->f, f, v, first);
			first = false;
		}
		fputc('\n', o->f);
	}
	fputc('\n', o->f);
	fflush(o->f);
	return 0;
}

static void table_close(struct pmw_output *o)
{
	fflush(stdout);
}

const struct pmw_output_ops pmw_out_table = {
	.name = "table",
	.kind = PMW_OUT_SCREEN,
	.open = table_open,
	.interval = table_interval,
	.close = table_close,
};
