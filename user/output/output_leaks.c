// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Leaks named by what holds them, from heap walks: --csv-leaks (one row per
 * growing container per PID per interval, rank 1 = worst), --csv-types (the
 * exact census, one row per type per PID after each walk), the JSON
 * {"type":"leak"} and {"type":"types"} lines and the leak table of the
 * summary and the live view.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <jansson.h>
#include "log.h"
#include "ops.h"
#include "groups.h"
#include "holders.h"
#include "output_leaks.h"
#include "util.h"

#define TYPES_JSON	50	/* census rows per {"type":"types"} line, largest first */

/*
 * Retained bytes of @tr and their growth per minute; UINT64_MAX / NAN unavailable.
 * retained.c's measure (done for every ranked container, its holder path found or not) per
 * item at its length then, times its items now; else its items times their mean sampled size.
 */
static uint64_t retained(const struct pmw_ctrack *tr, double *per_min)
{
	uint64_t items = tr->n ? (uint64_t)tr->len[tr->n - 1] : 0;

	/* measured at the search, when it had holder_retained_items: per item, at today's length
	 * (searches run at walk pace, the length is read every interval) */
	uint64_t at = tr->holder_retained_items ? tr->holder_retained_items : items;

	if (tr->holder_retained != UINT64_MAX && tr->holder_retained && items && at) {
		double per_item = (double)tr->holder_retained / at;

		*per_min = tr->items_per_min * per_item;
		return (uint64_t)(per_item * items);
	}
	if (tr->item_bytes > 0) {
		*per_min = tr->items_per_min * tr->item_bytes;
		return (uint64_t)(items * tr->item_bytes);
	}
	*per_min = NAN;
	return UINT64_MAX;
}

/*
 * Retained bytes and site of leak @g into @r: sums over its worst containers, the first site
 * found. Its other containers (not among the worst, or followed since the last walk: not
 * measured) count at the measured ones' bytes per item, so the row's retained size covers all
 * of its items.
 */
static void group_row(struct pmw_watch *w, const struct pmw_leak_group *g, struct pmw_leak_row *r)
{
	/* all its containers (groups.c), not only the worst ones measured below */
	uint64_t items = (uint64_t)g->items, items_measured = 0;

	r->retained_bytes = UINT64_MAX;
	r->retained_bytes_per_min = NAN;
	for (int i = 0; i < g->n; i++) {
		const struct pmw_ctrack *tr = g->tr[i];
		uint64_t n = tr->n ? (uint64_t)tr->len[tr->n - 1] : 0;
		double pm;
		uint64_t b = retained(tr, &pm);

		if (b == UINT64_MAX)
			continue;
		items_measured += n;
		r->retained_bytes = (r->retained_bytes == UINT64_MAX ? 0 : r->retained_bytes) + b;
		r->retained_bytes_per_min = (isnan(r->retained_bytes_per_min) ? 0 :
					     r->retained_bytes_per_min) + pm;
	}
	if (r->retained_bytes != UINT64_MAX && items_measured && items > items_measured) {
		double k = (double)items / items_measured;

		r->retained_bytes = (uint64_t)(r->retained_bytes * k);
		r->retained_bytes_per_min *= k;
	}
	/* the line that grows it (growth.c): the first of its containers named */
	for (int i = 0; i < g->n && !r->site[0]; i++) {
		r->growth = pmw_growth_find(&w->leaks.growth, g->tr[i]->addr);
		pmw_growth_site(r->growth, r->site, sizeof(r->site), r->site_inner,
				sizeof(r->site_inner));
	}
	if (!r->site[0])	/* none yet: its reason, if any */
		r->growth = pmw_growth_find(&w->leaks.growth, g->tr[0]->addr);
}

int pmw_leak_rows(struct pmw_watch *w, struct pmw_leak_row *rows, int max)
{
	struct pmw_leak_group gs[PMW_LEAKS_MAX];
	int n = pmw_leak_groups(&w->leaks.ct, &w->leaks.growth, gs, PMW_LEAKS_MAX);

	for (int k = 0; k < n && k < max; k++) {
		const struct pmw_leak_group *g = &gs[k];
		const struct pmw_ctrack *tr = g->tr[0];
		struct pmw_leak_row *r = &rows[k];

		memset(r, 0, sizeof(*r));
		r->rank = k + 1;
		/* the path that keeps it alive; the container itself when none was found */
		if (tr->holder[0]) {
			snprintf(r->holder, sizeof(r->holder), "%s", g->holder);
			snprintf(r->holder_kind, sizeof(r->holder_kind), "%s",
				 pmw_holder_kind_name(tr->holder_kind));
		} else {
			snprintf(r->holder, sizeof(r->holder), "%s@0x%" PRIx64, tr->type_name, tr->addr);
		}
		r->items = (uint64_t)g->items;
		r->items_per_min = g->items_per_min;
		snprintf(r->item_type, sizeof(r->item_type), "%s",
			 tr->holder_item_type[0] ? tr->holder_item_type : tr->item_type);
		group_row(w, g, r);
		r->score = g->score;
		r->container = tr->addr;
		r->retained_age_s = pmw_now_s() - w->leaks.ct.walked_at;
		r->containers = g->members;
		r->nweak = g->nweak;
		memcpy(r->weak, g->weak, sizeof(r->weak));
	}
	return n < max ? n : max;
}

/* ---------------------------------------------------------------- --csv-leaks */

static int leaks_open(struct pmw_output *o, const char *path)
{
	fputs("time,host,pid,rank,holder,holder_kind,items,items_per_min,retained_bytes,"
	      "retained_bytes_per_min,item_type,site,score,container,ns_pid,retained_age_s\r\n", o->f);
	return pmw_flush(o->f);
}

static int leaks_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	struct pmw_leak_row rows[PMW_LEAKS_MAX];

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		int nr = pmw_leak_rows(w, rows, PMW_LEAKS_MAX);
		char ts[40];

		pmw_fmt_rfc3339(&w->row.wall, ts, sizeof(ts));
		for (int k = 0; k < nr; k++) {
			const struct pmw_leak_row *r = &rows[k];

			fprintf(o->f, "%s,", ts);
			pmw_csv_field(o->f, o->host);
			fprintf(o->f, ",%d,%d,", w->t.pid, r->rank);
			pmw_csv_field(o->f, r->holder);
			fputc(',', o->f);
			pmw_csv_field(o->f, r->holder_kind);
			fprintf(o->f, ",%" PRIu64 ",%.1f,", r->items, r->items_per_min);
			if (r->retained_bytes != UINT64_MAX)
				fprintf(o->f, "%" PRIu64 ",%.0f", r->retained_bytes,
					r->retained_bytes_per_min);
			else
				fputc(',', o->f);	/* unavailable: empty cells */
			fputc(',', o->f);
			pmw_csv_field(o->f, r->item_type);
			fputc(',', o->f);
			pmw_csv_field(o->f, r->site);
			fprintf(o->f, ",%.2f,", r->score);
			pmw_csv_field(o->f, w->t.container);
			fprintf(o->f, ",%d,%.0f\r\n", w->t.ns_pid, r->retained_age_s);
		}
	}
	return pmw_flush(o->f);
}

const struct pmw_output_ops pmw_out_csv_leaks = {
	.name = "csv-leaks",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write one CSV row per growing container (leak) per PID per interval, worst first ('-' = stdout)",
	.open = leaks_open,
	.interval = leaks_interval,
};

/* ---------------------------------------------------------------- --csv-types */

/* the last walk's census, once per walk: has @w a walk not yet written by @seen? */
bool pmw_walk_is_new(struct pmw_walk_seen *p, const struct pmw_watch *w)
{
	unsigned int slot = (unsigned int)w->t.pid % ARRAY_SIZE(p->pid);

	if (!w->leaks.walk.walks || (p->pid[slot] == w->t.pid && p->walks[slot] == w->leaks.walk.walks))
		return false;
	p->pid[slot] = w->t.pid;
	p->walks[slot] = w->leaks.walk.walks;
	return true;
}

static int types_open(struct pmw_output *o, const char *path)
{
	o->priv = calloc(1, sizeof(struct pmw_walk_seen));
	if (!o->priv)
		return -ENOMEM;
	fputs("time,host,pid,type,objects,bytes,objects_delta,bytes_delta\r\n", o->f);
	return pmw_flush(o->f);
}

static int types_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		const struct pmw_walk *wk = &w->leaks.walk;
		char ts[40];

		if (!pmw_walk_is_new(o->priv, w))
			continue;
		pmw_fmt_rfc3339(&w->row.wall, ts, sizeof(ts));
		for (int k = 0; k < wk->ncensus; k++) {
			const struct pmw_walk_census *c = &wk->census[k];

			fprintf(o->f, "%s,", ts);
			pmw_csv_field(o->f, o->host);
			fprintf(o->f, ",%d,", w->t.pid);
			pmw_csv_field(o->f, c->name);
			fprintf(o->f, ",%" PRIu64 ",%" PRIu64 ",%" PRId64 ",%" PRId64 "\r\n", c->objects,
				c->bytes, c->objects_delta, c->bytes_delta);
		}
	}
	return pmw_flush(o->f);
}

static void types_close(struct pmw_output *o)
{
	free(o->priv);
	o->priv = NULL;
}

const struct pmw_output_ops pmw_out_csv_types = {
	.name = "csv-types",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write the exact census of each heap walk: one CSV row per object type per PID ('-' = stdout)",
	.open = types_open,
	.interval = types_interval,
	.close = types_close,
};

/* ---------------------------------------------------------------- JSON, tables */

int pmw_json_put(FILE *f, json_t *obj)
{
	int err;

	if (!obj)
		return -ENOMEM;
	err = json_dumpf(obj, f, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	return err || fputc('\n', f) == EOF ? -EIO : 0;
}

/* The frames of @s, innermost first: [{"function", "file", "line"}, ...] */
static json_t *frames_json(const struct pmw_gstack *s)
{
	json_t *a = json_array();

	for (int i = 0; a && i < s->nframes; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i}", "function", s->frames[i].func,
						   "file", s->frames[i].file, "line", s->frames[i].line));
	return a;
}

/*
 * The growing stacks of @g, most hits first: [{"hits", "share" (of the
 * growing writes seen), "site", "frames"}]; [] when none was seen.
 */
static json_t *stacks_json(const struct pmw_growth *g)
{
	json_t *a = json_array();

	for (int k = 0; a && g && k < g->nstacks; k++) {
		const struct pmw_gstack *s = &g->stacks[k];
		const struct pmw_frame *fr = &s->frames[s->app >= 0 ? s->app : 0];
		char site[300];

		snprintf(site, sizeof(site), "%s:%d", fr->file, fr->line);
		if (s->app == PMW_GSTACK_NO_SITE)	/* below an event loop, no waiting task */
			site[0] = 0;
		json_array_append_new(a, json_pack("{s:I, s:f, s:s, s:o}", "hits", (json_int_t)s->hits,
						   "share", g->grows ? (double)s->hits / g->grows : 0.0,
						   "site", site, "frames", frames_json(s)));
	}
	return a;
}

/* Growth-site fields of a leak line: innermost frame, stacks, why there is no site. */
static void growth_json(json_t *o, const struct pmw_leak_row *r)
{
	const struct pmw_growth *g = r->growth;

	if (!o)
		return;
	json_object_set_new(o, "site_innermost", json_string(r->site_inner));
	json_object_set_new(o, "stacks", stacks_json(g));
	json_object_set_new(o, "site_reason", g && !r->site[0] && g->reason[0] ?
			    json_string(g->reason) : json_null());
	json_object_set_new(o, "watch_hits", json_integer(g ? (json_int_t)g->hits : 0));
	json_object_set_new(o, "watch_arms", json_integer(g ? g->arms : 0));
}

/* Containers summed in a leak line, and the weak-reference ones that follow it. */
static void group_json(json_t *o, const struct pmw_leak_row *r)
{
	json_t *a = json_array();

	for (int i = 0; a && i < r->nweak; i++) {
		const struct pmw_ctrack *tr = r->weak[i];

		json_array_append_new(a, json_pack("{s:s, s:I, s:f, s:s}", "holder", tr->holder[0] ?
						   tr->holder : tr->type_name, "items",
						   (json_int_t)(tr->n ? tr->len[tr->n - 1] : 0),
						   "items_per_min", tr->items_per_min, "item_type",
						   tr->holder_item_type[0] ? tr->holder_item_type :
						   tr->item_type));
	}
	if (!o)
		return;
	json_object_set_new(o, "containers", json_integer(r->containers));
	json_object_set_new(o, "consequences", a);
}

int pmw_leaks_json(FILE *f, const char *host, const char *ts, struct pmw_watch *w)
{
	struct pmw_leak_row rows[PMW_LEAKS_MAX];
	const struct pmw_walk *wk = &w->leaks.walk;
	int nr = pmw_leak_rows(w, rows, PMW_LEAKS_MAX), err = 0;
	char addr[24];

	for (int k = 0; k < nr; k++) {
		const struct pmw_leak_row *r = &rows[k];

		json_t *o;

		snprintf(addr, sizeof(addr), "0x%" PRIx64, r->container);
		o = json_pack(
			"{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:I, s:f, s:o, s:o, s:s, s:s, s:f, s:s, s:s, s:i, s:f}",
			"type", "leak", "time", ts, "host", host, "pid", w->t.pid, "rank", r->rank,
			"holder", r->holder, "holder_kind", r->holder_kind, "items", (json_int_t)r->items,
			"items_per_min", r->items_per_min,
			"retained_bytes", r->retained_bytes == UINT64_MAX ? json_null() :
					  json_integer((json_int_t)r->retained_bytes),
			"retained_bytes_per_min", isnan(r->retained_bytes_per_min) ? json_null() :
						  json_real(r->retained_bytes_per_min),
			"item_type", r->item_type, "site", r->site, "score", r->score,
			"container_addr", addr, "container", w->t.container, "ns_pid", w->t.ns_pid,
			"retained_age_s", round(r->retained_age_s));
		growth_json(o, r);
		group_json(o, r);
		err |= pmw_json_put(f, o);
	}
	if (wk->walks) {
		json_t *types = json_array();

		for (int k = 0; k < wk->ncensus && k < TYPES_JSON; k++) {
			const struct pmw_walk_census *c = &wk->census[k];

			json_array_append_new(types, json_pack("{s:s, s:I, s:I, s:I, s:I}", "type", c->name,
							       "objects", (json_int_t)c->objects,
							       "bytes", (json_int_t)c->bytes,
							       "objects_delta", (json_int_t)c->objects_delta,
							       "bytes_delta", (json_int_t)c->bytes_delta));
		}
		err |= pmw_json_put(f, json_pack("{s:s, s:s, s:s, s:i, s:I, s:o}", "type", "types", "time", ts,
					     "host", host, "pid", w->t.pid, "walks", (json_int_t)wk->walks,
					     "types", types));
	}
	return err ? -EIO : 0;
}

const char pmw_leak_header[] = "rank holder                                      items  items/min   "
			      "retained item type            site";

void pmw_format_leak_row(char *buf, size_t len, const struct pmw_leak_row *r)
{
	pmw_format_leak_row_w(buf, len, r, PMW_LEAK_HOLDER_W);
}

void pmw_format_leak_row_w(char *buf, size_t len, const struct pmw_leak_row *r, int holder_w)
{
	char items[16], rate[16], ret[16];

	pmw_fmt_count(r->items, items, sizeof(items));
	pmw_fmt_count(r->items_per_min, rate, sizeof(rate));
	if (r->retained_bytes != UINT64_MAX)
		pmw_fmt_bytes(r->retained_bytes, ret, sizeof(ret));
	else
		snprintf(ret, sizeof(ret), "n/a");
	snprintf(buf, len, "%-4d %-*.*s %7s %9s+ %10s %-20.20s %s", r->rank, holder_w, holder_w,
		 r->holder, items, rate, ret, r->item_type[0] ? r->item_type : "?",
		 r->site[0] ? r->site : "-");
}

void pmw_format_leak_stack(char *buf, size_t len, const struct pmw_leak_row *r)
{
	const struct pmw_growth *g = r->growth;
	const struct pmw_gstack *s = g && g->nstacks ? &g->stacks[0] : NULL;
	size_t at = 0;

	buf[0] = 0;
	if (!s) {
		if (g && g->reason[0])
			snprintf(buf, len, "site unavailable: %s", g->reason);
		return;
	}
	at = snprintf(buf, len, "%.0f%% ", g->grows ? 100.0 * s->hits / g->grows : 0.0);
	for (int i = 0; i < s->nframes && at < len; i++) {
		const char *file = strrchr(s->frames[i].file, '/');

		at += snprintf(buf + at, len - at, "%s%s %s:%d", i ? " < " : "", s->frames[i].func,
			       file ? file + 1 : s->frames[i].file, s->frames[i].line);
	}
}

void pmw_print_leak_table(FILE *f, struct pmw_watch *w, int max)
{
	struct pmw_leak_row rows[PMW_LEAKS_MAX];
	int nr = pmw_leak_rows(w, rows, max);
	const struct pmw_walk_stats *st = &w->leaks.walk.last_stats;
	char line[512];
	int holder_w = PMW_LEAK_HOLDER_W;

	if (!w->leaks.walk.walks)
		return;
	if (!nr) {
		fprintf(f, "  leaks: no growing container (%llu heap walks, last %.0f ms CPU)\n",
			(unsigned long long)w->leaks.walk.walks, st->cpu_s * 1e3);
		return;
	}
	/* the summary has room: holders in full, not cut at the live view's width */
	for (int k = 0; k < nr; k++)
		if ((int)strlen(rows[k].holder) > holder_w)
			holder_w = (int)strlen(rows[k].holder);
	fprintf(f, "  leaks (growing containers, %llu heap walks):\n    %.45s%*s%s\n",
		(unsigned long long)w->leaks.walk.walks, pmw_leak_header,
		holder_w - PMW_LEAK_HOLDER_W, "", pmw_leak_header + 45);
	for (int k = 0; k < nr; k++) {
		pmw_format_leak_row_w(line, sizeof(line), &rows[k], holder_w);
		fprintf(f, "    %s\n", line);
		pmw_format_leak_stack(line, sizeof(line), &rows[k]);
		if (line[0])
			fprintf(f, "         grows at: %s\n", line);
		for (int i = 0; i < rows[k].nweak; i++)
			fprintf(f, "         follows it: %s (+%.0f/min, weak references: keep nothing "
				"alive)\n", rows[k].weak[i]->holder[0] ? rows[k].weak[i]->holder : "?",
				rows[k].weak[i]->items_per_min);
	}
}
