// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Plain interval tables for pipes and files (like vmstat), under 100 columns. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "env.h"
#include "output.h"
#include "util.h"

struct col {
	const char *name;
	int width;
};

/* declared once: the header and the rows are printed from this list */
static const struct col cols[] = {
	{ "TIME", 8 }, { "PID", 7 }, { "COMM", 12 }, { "ALLOC/s", 7 }, { "FREE/s", 7 },
	{ "LIVE", 7 }, { "ARENA", 6 }, { "RSS", 6 }, { "GC0", 4 }, { "GC1", 3 },
	{ "GC2", 3 }, { "COLLECT", 7 }, { "PAUSEMAX", 8 },
};

static int table_open(struct pmw_output *o, const char *arg)
{
	o->f = stdout;
	return 0;
}

static void header(FILE *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
		fprintf(f, i < 3 ? "%-*s%s" : "%*s%s", cols[i].width, cols[i].name,
			i + 1 < ARRAY_SIZE(cols) ? " " : "\n");
}

static int table_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	char v[ARRAY_SIZE(cols)][24];

	if (env.all) {
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
		const struct pmw_row *r = &ws[i]->row;
		struct tm tm;
		time_t t = r->wall.tv_sec;
		uint64_t coll = 0, pmax = 0;
		double s = r->interval_s > 0 ? r->interval_s : 1;

		for (int g = 0; g < PMW_NGEN; g++) {
			coll += r->gc[g].collected + r->gc[g].uncollectable;
			if (r->gc[g].pause_max_ns > pmax)
				pmax = r->gc[g].pause_max_ns;
		}
		localtime_r(&t, &tm);
		strftime(v[0], sizeof(v[0]), "%H:%M:%S", &tm);
		snprintf(v[1], sizeof(v[1]), "%d", r->pid);
		snprintf(v[2], sizeof(v[2]), "%.12s", r->comm);
		pmw_fmt_count(r->allocs / s, v[3], sizeof(v[3]));
		if (!r->exact)
			strcat(v[3], "~");
		pmw_fmt_count(r->frees / s, v[4], sizeof(v[4]));
		if (!r->exact)
			strcat(v[4], "~");
		if (r->counts_na) {	/* not measured */
			snprintf(v[3], sizeof(v[3]), "n/a");
			snprintf(v[4], sizeof(v[4]), "n/a");
		}
		pmw_fmt_bytes(r->live_bytes, v[5], sizeof(v[5]));
		pmw_fmt_bytes(r->arena_bytes, v[6], sizeof(v[6]));
		pmw_fmt_bytes(r->rss_bytes, v[7], sizeof(v[7]));
		snprintf(v[8], sizeof(v[8]), "%llu", (unsigned long long)r->gc[0].collections);
		snprintf(v[9], sizeof(v[9]), "%llu", (unsigned long long)r->gc[1].collections);
		snprintf(v[10], sizeof(v[10]), "%llu", (unsigned long long)r->gc[2].collections);
		pmw_fmt_count(coll, v[11], sizeof(v[11]));
		snprintf(v[12], sizeof(v[12]), "%.2fms", pmax / 1e6);
		/* the last row of a process that exited: its time column says so */
		if (r->final)
			snprintf(v[0], sizeof(v[0]), "exited");
		for (size_t c = 0; c < ARRAY_SIZE(cols); c++)
			fprintf(o->f, c < 3 ? "%-*s%s" : "%*s%s", cols[c].width, v[c],
				c + 1 < ARRAY_SIZE(cols) ? " " : "\n");
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
