// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTML reports from --json runs: `pymemwatch report RUN.jsonl [B.jsonl] -o
 * FILE`. The JSON Lines are folded per process (host, PID) into series,
 * downsampled to at most ~1000 points (min/max buckets, GC counts summed),
 * the leak suspects of each process's last interval with their history,
 * and written as one JSON block into the HTML template. The JSON Lines of
 * `pymemwatch snapshot --json` are read too: a process with a snapshot line
 * and no process line is one heap walk (census by type, holders, advice;
 * no timeline), so that two snapshots, or a snapshot and a run, compare by
 * type and advice
 * (user/report_template.html, compiled in), with uPlot, d3 and
 * d3-flame-graph inlined: the file opens offline.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "fields.h"
#include "report.h"
#include "util.h"
#include "report_template.h"	/* $(OUTPUT)/, from user/report_template.html (xxd -i) */

#define EXIT_USAGE	64
#define MAX_POINTS	1000	/* per timeline */
#define SPARK_POINTS	120	/* small multiples, site growth */
#define TABLE_SITES	25	/* leak suspects per PID in the report */
#define JS_DIR_DEFAULT	"/var/cache/pymemwatch/npm"

/* columns of a process's series */
enum { C_T, C_LIVE, C_RSS, C_RATE, C_GC0, C_GC1, C_GC2, C_PTOT, C_PMAX, C_P50, C_P99,
       C_G0T, C_G0M, C_G1T, C_G1M, C_G2T, C_G2M, NCOL };
static const char *const col_names[NCOL] = {
	"t", "live", "rss", "rate", "gc0", "gc1", "gc2", "ptot", "pmax", "p50", "p99",
	"g0t", "g0m", "g1t", "g1m", "g2t", "g2m",
};
/* summed (not min/max) when downsampling */
static const int col_sum[NCOL] = { [C_GC0] = 1, [C_GC1] = 1, [C_GC2] = 1, [C_PTOT] = 1,
				   [C_G0T] = 1, [C_G1T] = 1, [C_G2T] = 1 };

struct dvec {
	double *v;
	size_t n, cap;
};

static int dpush(struct dvec *d, double x)
{
	if (pmw_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v)))
		return -ENOMEM;
	d->v[d->n++] = x;
	return 0;
}

struct site {
	char *key;		/* stack + type */
	json_t *last;		/* the last row (borrowed reference kept) */
	double last_t;
	struct dvec t, live;
};

struct proc {
	char host[256];
	int pid;
	json_t *first, *last;	/* process rows */
	struct dvec col[NCOL];
	double allocs, alloc_bytes, gc[3], collected, uncollectable, pause_ms, pause_max_ms;
	double peak_live, peak_rss, p99_max, per_gen_pause;	/* per_gen_pause: fields present */
	json_t *site_idx;	/* key -> index */
	struct site *sites;
	int nsites;
	size_t cap_sites;
	double last_site_t;
	json_t *census;		/* rows of the last census time */
	double census_t;
	json_t *leaks;		/* {"type":"leak"} rows of the last interval that had any */
	double leaks_t;
	json_t *advice;		/* {"type":"advice"} rows of the last walk that had any */
	double advice_t;
	json_t *types;		/* census by type of the last walk: [{type, objects, bytes}] */
	double types_t;
	json_t *snap;		/* the last {"type":"snapshot"} line (pymemwatch snapshot --json) */
	double snap_t;
	json_t *holders;	/* {"type":"holder"} rows of the last snapshot */
	double holders_t;
};

struct run {
	const char *path;
	struct proc *procs;
	int nprocs;
	size_t cap;
	json_t *idx;		/* "host/pid" -> index */
	long lines, bad;
};

static double parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	double frac = 0;

	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*p == '.')
		frac = strtod(p, NULL);
	return (double)timegm(&tm) + frac;
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/*
 * Values of process rows: their keys are columns of the field table
 * (fields.c); tests/unit/test_fields.c checks every name given to fnum(),
 * fnum_gen() and fstr() in this file against it.
 */
#define fnum(row, name)	num(row, name)
#define fstr(row, name)	str(row, name)

/* the key of column @gen of per-generation field @name ("gc_gen%d_...", one "%d") */
static const char *fcol(const char *name, int gen, char *buf, size_t len)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(buf, len, name, gen);
#pragma GCC diagnostic pop
	return buf;
}

static double fnum_gen(json_t *row, const char *name, int gen)
{
	char k[64];

	return num(row, fcol(name, gen, k, sizeof(k)));
}

static struct proc *get_proc(struct run *r, json_t *row)
{
	char key[300];
	json_t *i;
	struct proc *p;

	snprintf(key, sizeof(key), "%s/%lld", str(row, "host"),
		 (long long)json_integer_value(json_object_get(row, "pid")));
	i = json_object_get(r->idx, key);
	if (i)
		return &r->procs[json_integer_value(i)];
	if (pmw_grow((void **)&r->procs, &r->cap, r->nprocs + 1, sizeof(*r->procs)))
		return NULL;
	p = &r->procs[r->nprocs];
	memset(p, 0, sizeof(*p));
	snprintf(p->host, sizeof(p->host), "%s", str(row, "host"));
	p->pid = (int)json_integer_value(json_object_get(row, "pid"));
	p->site_idx = json_object();
	json_object_set_new(r->idx, key, json_integer(r->nprocs));
	return &r->procs[r->nprocs++];
}

static int add_process_row(struct proc *p, json_t *row)
{
	double t = parse_time(fstr(row, "time")), iv = fnum(row, "interval_s");
	double v[NCOL];
	char k[64];
	int err = 0;

	if (!p->first)
		p->first = json_incref(row);
	json_decref(p->last);
	p->last = json_incref(row);
	v[C_T] = t;
	v[C_LIVE] = fnum(row, "live_bytes");
	v[C_RSS] = fnum(row, "rss_bytes");
	v[C_RATE] = iv > 0 ? fnum(row, "allocs") / iv : 0;
	v[C_GC0] = fnum(row, "gc_gen0");
	v[C_GC1] = fnum(row, "gc_gen1");
	v[C_GC2] = fnum(row, "gc_gen2");
	v[C_PTOT] = fnum(row, "gc_pause_ms_total");
	v[C_PMAX] = fnum(row, "gc_pause_ms_max");
	v[C_P50] = fnum(row, "gc_pause_ms_p50");
	v[C_P99] = fnum(row, "gc_pause_ms_p99");
	for (int g = 0; g < 3; g++) {
		if (json_object_get(row, fcol("gc_gen%d_pause_ms_total", g, k, sizeof(k))))
			p->per_gen_pause = 1;
		v[C_G0T + 2 * g] = fnum_gen(row, "gc_gen%d_pause_ms_total", g);
		v[C_G0M + 2 * g] = fnum_gen(row, "gc_gen%d_pause_ms_max", g);
		p->gc[g] += v[C_GC0 + g];
	}
	for (int c = 0; c < NCOL; c++)
		err |= dpush(&p->col[c], v[c]);
	p->allocs += fnum(row, "allocs");
	p->alloc_bytes += fnum(row, "alloc_bytes");
	p->collected += fnum(row, "gc_collected");
	p->uncollectable += fnum(row, "gc_uncollectable");
	p->pause_ms += v[C_PTOT];
	if (v[C_PMAX] > p->pause_max_ms)
		p->pause_max_ms = v[C_PMAX];
	if (v[C_P99] > p->p99_max)
		p->p99_max = v[C_P99];
	if (v[C_LIVE] > p->peak_live)
		p->peak_live = v[C_LIVE];
	if (v[C_RSS] > p->peak_rss)
		p->peak_rss = v[C_RSS];
	return err;
}

static int add_site_row(struct proc *p, json_t *row)
{
	char key[9000];
	double t = parse_time(str(row, "time"));
	json_t *i;
	struct site *s;

	snprintf(key, sizeof(key), "%s|%s", str(row, "stack"), str(row, "object_type"));
	i = json_object_get(p->site_idx, key);
	if (i) {
		s = &p->sites[json_integer_value(i)];
	} else {
		if (pmw_grow((void **)&p->sites, &p->cap_sites, p->nsites + 1, sizeof(*p->sites)))
			return -ENOMEM;
		s = &p->sites[p->nsites];
		memset(s, 0, sizeof(*s));
		s->key = strdup(key);
		json_object_set_new(p->site_idx, key, json_integer(p->nsites++));
	}
	json_decref(s->last);
	s->last = json_incref(row);
	s->last_t = t;
	if (t > p->last_site_t)
		p->last_site_t = t;
	return dpush(&s->t, t) | dpush(&s->live, num(row, "live_bytes"));
}

static void add_census_row(struct proc *p, json_t *row)
{
	double t = parse_time(str(row, "time"));

	if (!p->census || t > p->census_t) {
		json_decref(p->census);
		p->census = json_array();
		p->census_t = t;
	}
	if (t == p->census_t)
		json_array_append_new(p->census,
			json_pack("{s:s, s:f, s:f}", "type", str(row, "object_type"),
				  "live", num(row, "live_bytes"), "growth", num(row, "growth_bytes")));
}

/* @row into *@rows, which keeps only the rows of the latest time seen (*@at) */
static void keep_latest(json_t **rows, double *at, json_t *row)
{
	double t = parse_time(str(row, "time"));

	if (!*rows || t > *at) {
		json_decref(*rows);
		*rows = json_array();
		*at = t;
	}
	if (t == *at)
		json_array_append(*rows, row);
}

/* growing containers (output_leaks.c): the rows of the last interval that had any */
static void add_leak_row(struct proc *p, json_t *row)
{
	keep_latest(&p->leaks, &p->leaks_t, row);
}

/* where the memory goes (output_advice.c): the advice rows of the last walk, the last census */
static void add_advice_row(struct proc *p, json_t *row)
{
	keep_latest(&p->advice, &p->advice_t, row);
}

/* a live run's census by type of its last walk (output_leaks.c) */
static void add_types_row(struct proc *p, json_t *row)
{
	json_t *types = json_object_get(row, "types");
	double t = parse_time(str(row, "time"));

	if (json_is_array(types) && (!p->types || t >= p->types_t)) {
		json_decref(p->types);
		p->types = json_incref(types);
		p->types_t = t;
	}
}

/* `pymemwatch snapshot --json` (output_advice.c): its first line; the latest one is kept */
static void add_snapshot_row(struct proc *p, json_t *row)
{
	double t = parse_time(str(row, "time"));

	if (!p->snap || t >= p->snap_t) {
		json_decref(p->snap);
		p->snap = json_incref(row);
		p->snap_t = t;
	}
}

/*
 * A census row: a snapshot's (the time of its snapshot line; the walk's
 * objects and bytes by type) joins the census by type as a live run's
 * types line would; a live run's (pool census, with growth) the census.
 */
static void add_any_census_row(struct proc *p, json_t *row)
{
	double t = parse_time(str(row, "time"));

	if (!p->snap || t != p->snap_t) {
		add_census_row(p, row);
		return;
	}
	if (!p->types || t > p->types_t) {
		json_decref(p->types);
		p->types = json_array();
		p->types_t = t;
	}
	if (t == p->types_t)
		json_array_append_new(p->types, json_pack("{s:s, s:f, s:f}", "type",
			str(row, "object_type"), "objects", num(row, "objects"),
			"bytes", num(row, "live_bytes")));
}

/* one line of a run or a snapshot into its process; 0 or -ENOMEM */
static int add_row(struct proc *p, json_t *row)
{
	const char *type = str(row, "type");

	if (!strcmp(type, "process"))
		return add_process_row(p, row);
	if (!strcmp(type, "site"))
		return add_site_row(p, row);
	if (!strcmp(type, "census"))
		add_any_census_row(p, row);
	else if (!strcmp(type, "leak"))
		add_leak_row(p, row);
	else if (!strcmp(type, "advice"))
		add_advice_row(p, row);
	else if (!strcmp(type, "types"))
		add_types_row(p, row);
	else if (!strcmp(type, "snapshot"))
		add_snapshot_row(p, row);
	else if (!strcmp(type, "holder"))
		keep_latest(&p->holders, &p->holders_t, row);
	return 0;
}

static int load_run(struct run *r, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	r->path = path;
	r->idx = json_object();
	if (!f) {
		fprintf(stderr, "pymemwatch: report: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (!err && (len = getline(&line, &cap, f)) > 0) {
		json_error_t je;
		json_t *row;
		struct proc *p;

		r->lines++;
		if (len <= 1)
			continue;
		row = json_loadb(line, len, 0, &je);
		if (!json_is_object(row) || !json_is_integer(json_object_get(row, "pid"))) {
			r->bad++;
			json_decref(row);
			continue;
		}
		p = get_proc(r, row);
		err = p ? add_row(p, row) : -ENOMEM;
		json_decref(row);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (err) {
		fprintf(stderr, "pymemwatch: report: %s: out of memory\n", path);
		return 1;
	}
	if (r->lines && r->bad == r->lines) {
		fprintf(stderr, "pymemwatch: report: %s: not JSON Lines of pymemwatch --json or "
			"pymemwatch snapshot --json\n", path);
		return 1;
	}
	/* a process without process rows nor a snapshot line is dropped below */
	return 0;
}

/* @n points of @x/@y into at most ~@max: per bucket its min and max, in time order */
static json_t *downsample(const double *x, double x0, const double *y, size_t n, size_t max,
			  bool sum, json_t **xs_out)
{
	json_t *ys = json_array(), *xs = xs_out ? json_array() : NULL;
	size_t per = n <= max ? 1 : (n + max / 2 - 1) / (max / 2);

	for (size_t i = 0; i < n; i += per) {
		size_t e = i + per < n ? i + per : n, lo = i, hi = i;
		double s = 0;

		for (size_t k = i; k < e; k++) {
			s += y[k];
			if (y[k] < y[lo])
				lo = k;
			if (y[k] > y[hi])
				hi = k;
		}
		if (per == 1) {
			json_array_append_new(ys, json_real(y[i]));
			if (xs)
				json_array_append_new(xs, json_real(x[i] - x0));
		} else if (sum) {
			/* the bucket's total at its first and none at its last point */
			json_array_append_new(ys, json_real(s));
			json_array_append_new(ys, json_real(0));
			if (xs) {
				json_array_append_new(xs, json_real(x[i] - x0));
				json_array_append_new(xs, json_real(x[e - 1] - x0));
			}
		} else {
			size_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;

			json_array_append_new(ys, json_real(y[a]));
			json_array_append_new(ys, json_real(y[b]));
			if (xs) {
				json_array_append_new(xs, json_real(x[i] - x0));
				json_array_append_new(xs, json_real(x[e - 1] - x0));
			}
		}
	}
	if (xs_out)
		*xs_out = xs;
	return ys;
}

static int by_score(const void *a, const void *b)
{
	const struct site *x = *(struct site *const *)a, *y = *(struct site *const *)b;
	double sx = num(x->last, "score"), sy = num(y->last, "score");

	if (sx != sy)
		return sx < sy ? 1 : -1;
	sx = num(x->last, "live_bytes");
	sy = num(y->last, "live_bytes");
	return sx < sy ? 1 : sx > sy ? -1 : 0;
}

/* per generation over the run: collections, pause total and max */
static json_t *proc_gens(const struct proc *p, size_t n)
{
	json_t *gens = json_array();

	for (int g = 0; g < 3; g++) {
		double tot = 0, mx = 0;

		for (size_t i = 0; i < n; i++) {
			tot += p->col[C_G0T + 2 * g].v[i];
			if (p->col[C_G0M + 2 * g].v[i] > mx)
				mx = p->col[C_G0M + 2 * g].v[i];
		}
		json_array_append_new(gens, json_pack("{s:f, s:f, s:f}", "collections", p->gc[g],
						      "pause_ms", tot, "pause_max_ms", mx));
	}
	return gens;
}

/* timelines (o.ts, times since @t0) and the live heap's sparkline (o.spark) */
static void proc_timelines(json_t *o, const struct proc *p, double t0, size_t n)
{
	json_t *ts = json_object(), *xs = NULL;

	for (int c = 1; c < NCOL; c++) {
		json_t *ys = downsample(p->col[C_T].v, t0, p->col[c].v, n, MAX_POINTS, col_sum[c],
					c == 1 ? &xs : NULL);

		json_object_set_new(ts, col_names[c], ys);
	}
	json_object_set_new(ts, "t", xs ? xs : json_array());
	json_object_set_new(o, "ts", ts);
	json_object_set_new(o, "spark", downsample(p->col[C_T].v, t0, p->col[C_LIVE].v, n,
						   SPARK_POINTS, false, NULL));
}

/* leak suspects of the last interval with sites: o.nsites, o.sites, o.flame */
static void proc_sites(json_t *o, struct proc *p, double t0)
{
	json_t *sites = json_array(), *flame = json_array();
	struct site **last = calloc(p->nsites ? p->nsites : 1, sizeof(*last));
	int nl = 0;

	for (int i = 0; last && i < p->nsites; i++)
		if (p->sites[i].last_t == p->last_site_t)
			last[nl++] = &p->sites[i];
	if (last)
		qsort(last, nl, sizeof(*last), by_score);
	for (int i = 0; i < nl; i++) {
		struct site *s = last[i];
		json_t *xs = NULL, *ys;

		json_array_append_new(flame, json_pack("[s,f]", str(s->last, "stack"),
						       num(s->last, "live_bytes")));
		if (i >= TABLE_SITES)
			continue;
		ys = downsample(s->t.v, t0, s->live.v, s->t.n, SPARK_POINTS, false, &xs);
		json_array_append_new(sites, json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:o, s:o}",
			"site", str(s->last, "site"), "function", str(s->last, "function"),
			"type", str(s->last, "object_type"), "stack", str(s->last, "stack"),
			"live", num(s->last, "live_bytes"), "growth", num(s->last, "growth_bytes"),
			"score", num(s->last, "score"), "survival", num(s->last, "survival"),
			"ht", xs, "hv", ys));
	}
	free(last);
	json_object_set_new(o, "nsites", json_integer(nl));
	json_object_set_new(o, "sites", sites);
	json_object_set_new(o, "flame", flame);
}

/*
 * A snapshot's figures (o.snapshot, o.holders); a process that has no
 * process rows is that snapshot: its heap is the walk's, its time the walk's.
 */
static void proc_snapshot(json_t *o, const struct proc *p)
{
	static const char *const keys[] = { "time", "version", "heap_bytes", "objects", "types",
					    "walk_wall_s", "walk_cpu_s", "wall_s", "cpu_s", "torn" };
	json_t *s = json_object();
	double t0 = floor(p->snap_t), heap = num(p->snap, "heap_bytes");

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(p->snap, keys[i]);

		if (v)
			json_object_set(s, keys[i], v);
	}
	json_object_set_new(o, "snapshot", s);
	json_object_set_new(o, "holders", p->holders ? json_incref(p->holders) : json_array());
	if (p->col[C_T].n)
		return;
	json_object_set_new(o, "comm", json_string(str(p->snap, "comm")));
	json_object_set_new(o, "python", json_string(str(p->snap, "version")));
	json_object_set_new(o, "container", json_string(str(p->snap, "container")));
	json_object_set_new(o, "t0", json_integer((json_int_t)t0));
	json_object_set_new(o, "first", json_real(p->snap_t - t0));
	json_object_set_new(o, "last", json_real(p->snap_t - t0));
	json_object_set_new(o, "peak_live", json_real(heap));
	json_object_set_new(o, "first_live", json_real(heap));
	json_object_set_new(o, "final_live", json_real(heap));
}

static json_t *proc_json(struct proc *p)
{
	json_t *o = json_object();
	size_t n = p->col[C_T].n;
	/* times are seconds since t0 (whole seconds): 7 significant digits stay exact enough */
	double t0 = n ? floor(p->col[C_T].v[0] - fnum(p->first, "interval_s")) : 0;

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "host", json_string(p->host));
	json_object_set_new(o, "comm", json_string(fstr(p->last, "comm")));
	json_object_set_new(o, "python", json_string(fstr(p->last, "python")));
	json_object_set_new(o, "container", json_string(fstr(p->last, "container")));
	json_object_set_new(o, "precision", json_string(fstr(p->last, "precision")));
	json_object_set_new(o, "exited", json_boolean(fnum(p->last, "exited") > 0));
	json_object_set_new(o, "intervals", json_integer((json_int_t)n));
	json_object_set_new(o, "t0", json_integer((json_int_t)t0));
	json_object_set_new(o, "first", json_real(n ? p->col[C_T].v[0] - fnum(p->first, "interval_s") - t0 : 0));
	json_object_set_new(o, "last", json_real(n ? p->col[C_T].v[n - 1] - t0 : 0));
	json_object_set_new(o, "leak_score", json_real(fnum(p->last, "leak_score")));
	json_object_set_new(o, "heap_slope", json_real(fnum(p->last, "heap_slope_bytes_per_min")));
	json_object_set_new(o, "peak_live", json_real(p->peak_live));
	json_object_set_new(o, "first_live", json_real(fnum(p->first, "live_bytes")));
	json_object_set_new(o, "final_live", json_real(fnum(p->last, "live_bytes")));
	json_object_set_new(o, "peak_rss", json_real(p->peak_rss));
	json_object_set_new(o, "final_rss", json_real(fnum(p->last, "rss_bytes")));
	json_object_set_new(o, "allocs", json_real(p->allocs));
	json_object_set_new(o, "alloc_bytes", json_real(p->alloc_bytes));
	json_object_set_new(o, "gc", json_pack("[f,f,f]", p->gc[0], p->gc[1], p->gc[2]));
	json_object_set_new(o, "collected", json_real(p->collected));
	json_object_set_new(o, "uncollectable", json_real(p->uncollectable));
	json_object_set_new(o, "pause_ms", json_real(p->pause_ms));
	json_object_set_new(o, "pause_max_ms", json_real(p->pause_max_ms));
	json_object_set_new(o, "p99_max_ms", json_real(p->p99_max));
	json_object_set_new(o, "per_gen_pause", json_boolean(p->per_gen_pause > 0));
	json_object_set_new(o, "gens", proc_gens(p, n));
	proc_timelines(o, p, t0, n);
	proc_sites(o, p, t0);
	json_object_set_new(o, "census", p->census ? json_incref(p->census) : json_array());
	json_object_set_new(o, "leaks", p->leaks ? json_incref(p->leaks) : json_array());
	json_object_set_new(o, "advice", p->advice ? json_incref(p->advice) : json_array());
	json_object_set_new(o, "types", p->types ? json_incref(p->types) : json_array());
	if (p->snap)
		proc_snapshot(o, p);
	return o;
}

static json_t *run_json(struct run *r)
{
	json_t *o = json_object(), *procs = json_array();
	const char *base = strrchr(r->path, '/');
	int timelines = 0, snaps = 0;

	json_object_set_new(o, "file", json_string(base ? base + 1 : r->path));
	for (int i = 0; i < r->nprocs; i++) {
		if (!r->procs[i].col[C_T].n && !r->procs[i].snap)
			continue;
		timelines += r->procs[i].col[C_T].n > 0;
		snaps += !r->procs[i].col[C_T].n;
		json_array_append_new(procs, proc_json(&r->procs[i]));
	}
	json_object_set_new(o, "procs", procs);
	/* "snapshot": every process of the file is a snapshot (one walk, no timeline) */
	if (snaps && !timelines)
		json_object_set_new(o, "kind", json_string("snapshot"));
	json_object_set_new(o, "bad_lines", json_integer(r->bad));
	return o;
}

static void free_run(struct run *r)
{
	for (int i = 0; i < r->nprocs; i++) {
		struct proc *p = &r->procs[i];

		json_decref(p->first);
		json_decref(p->last);
		json_decref(p->site_idx);
		json_decref(p->census);
		json_decref(p->leaks);
		json_decref(p->advice);
		json_decref(p->types);
		json_decref(p->snap);
		json_decref(p->holders);
		for (int c = 0; c < NCOL; c++)
			free(p->col[c].v);
		for (int k = 0; k < p->nsites; k++) {
			free(p->sites[k].key);
			json_decref(p->sites[k].last);
			free(p->sites[k].t.v);
			free(p->sites[k].live.v);
		}
		free(p->sites);
	}
	free(r->procs);
	json_decref(r->idx);
}

/* A library file of the JS directory, or NULL (the missing path in @missing). */
static char *read_lib(const char *dir, const char *rel, char *missing, size_t mlen)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long len;

	snprintf(path, sizeof(path), "%s/node_modules/%s", dir, rel);
	f = fopen(path, "re");
	if (!f) {
		snprintf(missing, mlen, "%s", path);
		return NULL;
	}
	if (!fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc(len + 1))) {
		if (fread(buf, 1, len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = 0;
		}
	}
	fclose(f);
	if (!buf)
		snprintf(missing, mlen, "%s", path);
	return buf;
}

/* @s with every "</" written "<\/" (safe inside <script> and <style>) */
static void put_inline(FILE *f, const char *s)
{
	const char *p;

	while ((p = strstr(s, "</"))) {
		fwrite(s, 1, p - s, f);
		fputs("<\\/", f);
		s = p + 2;
	}
	fputs(s, f);
}

static const char *const libs[][2] = {
	/* marker in the template, file under node_modules/ */
	{ "/*PMW_CSS_UPLOT*/", "uplot/dist/uPlot.min.css" },
	{ "/*PMW_CSS_FLAME*/", "d3-flame-graph/dist/d3-flamegraph.css" },
	{ "/*PMW_JS_UPLOT*/", "uplot/dist/uPlot.iife.min.js" },
	{ "/*PMW_JS_D3*/", "d3/dist/d3.min.js" },
	{ "/*PMW_JS_FLAME*/", "d3-flame-graph/dist/d3-flamegraph.min.js" },
};
#define NLIBS (sizeof(libs) / sizeof(libs[0]))

json_t *pmw_report_data(const char *const *inputs, int ninputs)
{
	struct run runs[2] = { 0 };
	json_t *doc = json_object(), *ra = json_array();
	int i;

	json_object_set_new(doc, "version", json_string(PMW_VERSION));
	json_object_set_new(doc, "runs", ra);
	for (i = 0; i < ninputs && i < 2; i++) {
		if (load_run(&runs[i], inputs[i]))
			break;
		json_array_append_new(ra, run_json(&runs[i]));
	}
	for (int k = 0; k <= i && k < 2; k++)
		free_run(&runs[k]);
	if (i < ninputs) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* @tpl into @f, each marker replaced by its library (@lib, as libs[]) or by @data */
static void put_template(FILE *f, const char *tpl, char *const *lib, const char *data)
{
	for (const char *s = tpl; *s;) {
		const char *best = NULL, *text = NULL;
		size_t mlen = 0;

		for (size_t i = 0; i < NLIBS; i++) {
			const char *m = strstr(s, libs[i][0]);

			if (m && (!best || m < best)) {
				best = m;
				text = lib[i];
				mlen = strlen(libs[i][0]);
			}
		}
		{
			const char *m = strstr(s, "/*PMW_DATA*/");

			if (m && (!best || m < best)) {
				best = m;
				text = data;
				mlen = strlen("/*PMW_DATA*/");
			}
		}
		if (!best) {
			fputs(s, f);
			break;
		}
		fwrite(s, 1, best - s, f);
		put_inline(f, text);
		s = best + mlen;
	}
}

int pmw_report_write(const char *const *inputs, int ninputs, const char *out)
{
	const char *dir = getenv("PMW_JS_DIR");
	char *lib[NLIBS] = { 0 }, missing[4200] = "";
	char *tpl = NULL, *data = NULL;
	json_t *doc = NULL;
	FILE *f = NULL;
	int ret = 1;

	if (!dir || !*dir)
		dir = JS_DIR_DEFAULT;
	for (size_t i = 0; i < NLIBS; i++) {
		lib[i] = read_lib(dir, libs[i][1], missing, sizeof(missing));
		if (!lib[i]) {
			fprintf(stderr, "pymemwatch: report: JavaScript library %s not found: "
				"run scripts/install-deps.sh (or set PMW_JS_DIR)\n", missing);
			goto out;
		}
	}
	doc = pmw_report_data(inputs, ninputs);
	if (!doc)
		goto out;
	data = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH |
			  JSON_REAL_PRECISION(7));
	tpl = malloc(report_template_html_len + 1);
	if (!data || !tpl) {
		fprintf(stderr, "pymemwatch: report: out of memory\n");
		goto out;
	}
	memcpy(tpl, report_template_html, report_template_html_len);
	tpl[report_template_html_len] = 0;
	f = fopen(out, "we");
	if (!f) {
		fprintf(stderr, "pymemwatch: report: cannot write %s: %s\n", out, strerror(errno));
		goto out;
	}
	put_template(f, tpl, lib, data);
	if (fclose(f)) {
		f = NULL;
		fprintf(stderr, "pymemwatch: report: cannot write %s: %s\n", out, strerror(errno));
		goto out;
	}
	f = NULL;
	ret = 0;
out:
	for (size_t i = 0; i < NLIBS; i++)
		free(lib[i]);
	json_decref(doc);
	free(data);
	free(tpl);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pymemwatch report RUN.jsonl [OTHER.jsonl] -o REPORT.html\n"
		"  Render the JSON Lines of a --json run as one self-contained HTML file\n"
		"  (timelines, GC pauses, leak suspects, flame graph; with two files, a\n"
		"  comparison). A file of `pymemwatch snapshot --json` is read as one heap\n"
		"  walk per process (census by type, biggest holders, advice), and compares\n"
		"  with another snapshot or run by type and advice. Libraries are read\n"
		"  from %s ($PMW_JS_DIR).\n", JS_DIR_DEFAULT);
}

int pmw_report_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *inputs[2];
	int c, n;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "pymemwatch: report: option -%c needs a file name\n", optopt);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "pymemwatch: report: unknown option '%s' (usage: pymemwatch "
				"report RUN.jsonl [OTHER.jsonl] -o REPORT.html)\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	n = argc - optind;
	if (!out || !*out) {
		fprintf(stderr, "pymemwatch: report: -o REPORT.html is required\n");
		return EXIT_USAGE;
	}
	if (n < 1 || n > 2) {
		fprintf(stderr, "pymemwatch: report: give one JSON Lines file, or two to compare "
			"(got %d)\n", n);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++)
		inputs[i] = argv[optind + i];
	return pmw_report_write(inputs, n, out);
}
