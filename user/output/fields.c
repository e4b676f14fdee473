// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * THE field table (see fields.h): one row per figure of a process's
 * interval. A new column: one row after the last CSV row of pmw_fields[]
 * (a getter only if the figure is not a uint64_t or double member of the
 * watch), its figure in the synthetic watches of
 * tests/unit/test_output_golden.c, then from the repository root
 *     make check   # fails: goldens, doc/outputs.md and the man page differ
 *     PMW_GOLDEN_UPDATE=1 .output/tests/test_output_golden
 *     PMW_GOLDEN_UPDATE=1 .output/tests/test_fields
 * and review the diff.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "fields.h"
#include "util.h"

/* ---------------------------------------------------------------- what was measured */

/* the pymalloc heap was read at least once (--mode heap|full, symbols found) */
static bool heap_read(const struct pmw_watch *w)
{
	return w->heap_ever;
}

/* a heap walk completed (its census and advice exist) */
static bool walked(const struct pmw_watch *w)
{
	return w->leaks.walk.walks > 0;
}

/* ... and at the end of this interval */
static bool heap_read_now(const struct pmw_watch *w)
{
	return w->row.heap_ok;
}

/* allocation counts of the interval: --exact, or checked estimates (watch.c) */
static bool counts_measured(const struct pmw_watch *w)
{
	return !w->row.counts_na;
}

/* ... of at least one interval since attach */
static bool counts_ever(const struct pmw_watch *w)
{
	return w->rows_counted > 0;
}

/* the pool-refill probe is attached (--mode full, symbols found) */
static bool refills_probed(const struct pmw_watch *w)
{
	return w->a.groups & PMW_G_HEAP;
}

/* libc's malloc family is probed (--large) */
static bool large_probed(const struct pmw_watch *w)
{
	return w->a.groups & PMW_G_LARGE;
}

/* GC pauses are timed by the GC probes; read from memory (gc=memory) they are not */
static bool pauses_measured(const struct pmw_watch *w)
{
	return w->gc_src != PMW_GC_MEMORY;
}

/* ---------------------------------------------------------------- getters */

/* values a row cannot read as one uint64_t or double member of the watch */

#define R (&src->w->row)

static void get_time(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = pmw_fmt_rfc3339(&R->wall, v->buf, sizeof(v->buf));
	v->u = R->wall.tv_sec;		/* the table's clock */
}

static void get_host(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = src->host;
}

static void get_pid(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = R->pid;
}

static void get_comm(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = R->comm;
}

static void get_python(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = R->python;
}

static void get_precision(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = R->counts_na ? "unavailable" : R->exact ? "exact" : "estimate";
}

static void get_advice_saving(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	for (int i = 0; i < src->w->leaks.nadv; i++)
		v->u += src->w->leaks.adv[i].saving;
}

static void get_exited(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = R->final;
}

static void get_container(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->s = src->w->t.container;
}

static void get_ns_pid(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->t.ns_pid;
}

/* per generation (src->gen): the interval's; since attach (Prometheus) */
static void get_gc_gen(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = R->gc[src->gen].collections;
}

static void get_gen_pause_total(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->d = R->gc[src->gen].pause_ns / 1e6;
}

static void get_gen_pause_max(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->d = R->gc[src->gen].pause_max_ns / 1e6;
}

static void get_tot_allocs(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->tot_allocs;
}

static void get_tot_dropped(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->tot_dropped;
}

static void get_tot_gc_gen(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->gc_total[src->gen].collections;
}

static void get_tot_collected(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->gc_total[src->gen].collected;
}

static void get_tot_uncollectable(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	v->u = src->w->gc_total[src->gen].uncollectable;
}

/* Prometheus histogram: the pauses of generation src->gen since attach */
static void get_tot_pauses(const struct pmw_fsrc *src, struct pmw_fval *v)
{
	const struct pmw_gcgen *t = &src->w->gc_total[src->gen];

	v->hist = t->hist;
	v->d = t->pause_ns / 1e9;
}

/* the interval's GC figures summed over generations */
struct gcsum {
	uint64_t collected, uncollectable, pause_ns, pause_max_ns;
	uint64_t hist[PMW_HIST_SLOTS];
};

static void gc_sum(const struct pmw_row *r, struct gcsum *s)
{
	memset(s, 0, sizeof(*s));
	for (int g = 0; g < PMW_NGEN; g++) {
		s->collected += r->gc[g].collected;
		s->uncollectable += r->gc[g].uncollectable;
		s->pause_ns += r->gc[g].pause_ns;
		if (r->gc[g].pause_max_ns > s->pause_max_ns)
			s->pause_max_ns = r->gc[g].pause_max_ns;
		for (int i = 0; i < PMW_HIST_SLOTS; i++)
			s->hist[i] += r->gc[g].hist[i];
	}
}

#define GET_GCSUM(fn, expr)							\
	static void fn(const struct pmw_fsrc *src, struct pmw_fval *v)		\
	{									\
		struct gcsum s;							\
									\
		gc_sum(R, &s);							\
		expr;								\
	}

GET_GCSUM(get_collected, v->u = s.collected)
GET_GCSUM(get_uncollectable, v->u = s.uncollectable)
/* the table's COLLECT: objects the collections dealt with, collectable or not */
GET_GCSUM(get_collected_all, v->u = s.collected + s.uncollectable)
GET_GCSUM(get_pause_total, v->d = s.pause_ns / 1e6)
GET_GCSUM(get_pause_max, v->d = s.pause_max_ns / 1e6)
GET_GCSUM(get_pause_p50, v->d = pmw_hist_percentile(s.hist, PMW_HIST_SLOTS, 50, s.pause_max_ns) / 1e6)
GET_GCSUM(get_pause_p99, v->d = pmw_hist_percentile(s.hist, PMW_HIST_SLOTS, 99, s.pause_max_ns) / 1e6)

#undef R

/* ---------------------------------------------------------------- the table */

/*
 * The getter column: a function, or U64(member) / F64(member) for a uint64_t /
 * double member of struct pmw_watch (checked at compile time), read as is.
 */
#define MEMBER(m, T)									\
	NULL, .off = offsetof(struct pmw_watch, m) +					\
		0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((struct pmw_watch *)0)->m), T) ? 1 : -1])
#define U64(m)		MEMBER(m, uint64_t)
#define F64(m)		MEMBER(m, double)
/* a row: the six columns of every row, then optional designated parts */
#define F(name_, type_, prec_, unit_, help_, get_, ...)					\
	{ .name = name_, .type = type_, .prec = prec_, .unit = unit_, .help = help_,	\
	  .get = get_, __VA_ARGS__ }
#define GAUGE(n, h)	.prom = { n, PMW_PROM_GAUGE, PMW_PL_NONE, h, NULL, NULL }
#define TBL(h, wd, fm)	.table = { h, wd, fm, NULL }

/*
 * name, type, CSV digits, unit, meaning (doc/outputs.md, Markdown), getter, then
 * optional .avail (when the figure was measured; unset: always), .flags,
 * .prom (Prometheus family) and .table (plain table column).
 * The first 21 rows are the public CSV interface: never rename or reorder.
 */
const struct pmw_field pmw_fields[] = {
	F("time", PMW_F_STR, 0, "RFC 3339 UTC, ms", "end of the interval", get_time,
	  TBL("TIME", 8, PMW_TF_CLOCK)),
	F("host", PMW_F_STR, 0, "", "host name, so files from many hosts concatenate", get_host),
	F("pid", PMW_F_U64, 0, "", "process ID (as seen from the host)", get_pid,
	  TBL("PID", 7, PMW_TF_ID)),
	F("comm", PMW_F_STR, 0, "", "process name (`/proc/PID/comm`)", get_comm,
	  TBL("COMM", 12, PMW_TF_STR)),
	F("python", PMW_F_STR, 0, "", "CPython version, e.g. `3.11.2`", get_python),
	F("interval_s", PMW_F_F64, 3, "s", "length of this interval", F64(row.interval_s)),
	F("allocs", PMW_F_U64, 0, "count",
	  "pymalloc allocations in the interval (`precision` says exact or estimate; "
	  "empty when not measured: without `--exact`, the pool-refill probe of `--mode full` "
	  "or two heap reads)", U64(row.allocs),
	  .avail = counts_measured, .flags = PMW_FF_PRECISION,
	  .prom = { "pymemwatch_allocations_total", PMW_PROM_COUNTER, PMW_PL_PRECISION,
		    "pymalloc allocations since attach (precision: exact, or estimate from pool refills and live blocks).",
		    get_tot_allocs, counts_ever },
	  TBL("ALLOC/s", 7, PMW_TF_RATE)),
	F("alloc_bytes", PMW_F_U64, 0, "bytes", "bytes requested by them", U64(row.alloc_bytes),
	  .avail = counts_measured, .flags = PMW_FF_PRECISION),
	F("frees", PMW_F_U64, 0, "count", "pymalloc frees in the interval", U64(row.frees),
	  .avail = counts_measured, .flags = PMW_FF_PRECISION, TBL("FREE/s", 7, PMW_TF_RATE)),
	F("live_bytes", PMW_F_U64, 0, "bytes",
	  "live pymalloc heap at the end of the interval: blocks in use × their size class "
	  "(empty until the heap was read once)", U64(row.live_bytes), .avail = heap_read,
	  GAUGE("pymemwatch_live_heap_bytes",
		"Live pymalloc heap: blocks in use times their size class, at the last scan."),
	  TBL("LIVE", 7, PMW_TF_BYTES)),
	F("arena_bytes", PMW_F_U64, 0, "bytes",
	  "pymalloc arenas mapped × arena size (256 KiB ≤3.9, 1 MiB 3.10+)", U64(row.arena_bytes),
	  .avail = heap_read,
	  GAUGE("pymemwatch_arena_bytes", "pymalloc arenas mapped times the arena size."),
	  TBL("ARENA", 6, PMW_TF_BYTES)),
	F("rss_bytes", PMW_F_U64, 0, "bytes", "resident set size (`VmRSS`)", U64(row.rss_bytes),
	  GAUGE("pymemwatch_rss_bytes", "Resident set size (VmRSS)."),
	  TBL("RSS", 6, PMW_TF_BYTES)),
	F("gc_gen%d", PMW_F_U64, 0, "count",
	  "collections of each generation that finished in the interval", get_gc_gen,
	  .flags = PMW_FF_PER_GEN,
	  .prom = { "pymemwatch_gc_collections_total", PMW_PROM_COUNTER, PMW_PL_GEN,
		    "Garbage collections finished since attach, by generation.", get_tot_gc_gen },
	  TBL("GC%d", 4, PMW_TF_U64)),
	F("gc_collected", PMW_F_U64, 0, "objects", "objects collected by those collections",
	  get_collected,
	  .prom = { "pymemwatch_gc_collected_objects_total", PMW_PROM_COUNTER, PMW_PL_GEN,
		    "Objects collected by garbage collections since attach, by generation.",
		    get_tot_collected },
	  .table = { "COLLECT", 7, PMW_TF_COUNT, get_collected_all }),
	F("gc_uncollectable", PMW_F_U64, 0, "objects", "objects they found uncollectable",
	  get_uncollectable,
	  .prom = { "pymemwatch_gc_uncollectable_objects_total", PMW_PROM_COUNTER, PMW_PL_GEN,
		    "Objects garbage collections found uncollectable since attach, by generation.",
		    get_tot_uncollectable }),
	F("gc_pause_ms_total", PMW_F_F64, 3, "ms",
	  "sum of their pauses (empty when collections are read from memory: no pauses)",
	  get_pause_total, .avail = pauses_measured,
	  .prom = { "pymemwatch_gc_pause_seconds", PMW_PROM_HISTOGRAM, PMW_PL_GEN,
		    "Garbage collection pauses since attach, by generation.", get_tot_pauses }),
	F("gc_pause_ms_max", PMW_F_F64, 3, "ms", "the longest pause", get_pause_max,
	  .avail = pauses_measured,
	  TBL("PAUSEMAX", 8, PMW_TF_MS)),
	F("precision", PMW_F_STR, 0, "",
	  "`exact`, `estimate` or `unavailable` (of `allocs`, `alloc_bytes`, `frees`)",
	  get_precision),
	F("dropped", PMW_F_U64, 0, "count",
	  "events lost in the interval (ring buffer or map full)", U64(row.dropped),
	  .prom = { "pymemwatch_dropped_events_total", PMW_PROM_COUNTER, PMW_PL_NONE,
		    "Events lost since attach (BPF ring buffer or map full).", get_tot_dropped }),
	/* additions */
	F("live_blocks", PMW_F_U64, 0, "count",
	  "live pymalloc blocks at the end of the interval", U64(row.live_blocks),
	  .avail = heap_read),
	F("anon_bytes", PMW_F_U64, 0, "bytes", "anonymous resident memory (`RssAnon`)",
	  U64(row.anon_bytes)),
	F("large_live_bytes", PMW_F_U64, 0, "bytes",
	  "libc blocks > 512 B allocated since attach and not yet freed (`--large`, else empty)",
	  U64(row.large_live_bytes), .avail = large_probed),
	F("large_allocs", PMW_F_U64, 0, "count",
	  "libc allocations > 512 B in the interval (`--large`, else empty)", U64(row.large_allocs),
	  .avail = large_probed),
	F("pool_refills", PMW_F_U64, 0, "count",
	  "pymalloc pools taken into use in the interval (`--mode full`, else empty)",
	  U64(row.pool_refills), .avail = refills_probed),
	F("gc_pause_ms_p50", PMW_F_F64, 3, "ms",
	  "median pause, from a log2 histogram (the middle of the bucket, clamped to the max: "
	  "within 50%)", get_pause_p50, .avail = pauses_measured),
	F("gc_pause_ms_p99", PMW_F_F64, 3, "ms", "99th percentile pause, the same way",
	  get_pause_p99, .avail = pauses_measured),
	F("gc_unknown_gen", PMW_F_U64, 0, "count",
	  "collections whose generation could not be read", U64(row.gc_unknown_gen)),
	F("exited", PMW_F_U64, 0, "0/1", "1 on the last row of a process that exited",
	  get_exited),
	F("leak_score", PMW_F_F64, 3, "",
	  "process leak score (see [Leak score](leaks.md#leak-score-and-growing-types)): 0 steady, higher = likelier leak",
	  F64(leaks.ps.score),
	  GAUGE("pymemwatch_leak_score",
		"Process leak score: 0 when steady, higher when the heap, RSS or uncollectable objects keep growing.")),
	F("heap_slope_bytes_per_min", PMW_F_F64, 0, "bytes/min",
	  "least-squares slope of live heap (+ large blocks), last 120 intervals", F64(leaks.ps.heap_slope)),
	F("heap_fit_r2", PMW_F_F64, 3, "0–1", "the fit of that line (R²)", F64(leaks.ps.heap_r2)),
	F("rss_slope_bytes_per_min", PMW_F_F64, 0, "bytes/min", "the same slope for RSS",
	  F64(leaks.ps.rss_slope)),
	F("rss_fit_r2", PMW_F_F64, 3, "0–1", "its fit", F64(leaks.ps.rss_r2)),
	F("uncollectable_per_min", PMW_F_F64, 1, "objects/min",
	  "GC uncollectable objects per minute", F64(leaks.ps.uncoll_per_min)),
	F("sampled_s", PMW_F_F64, 2, "s",
	  "time spent in the sampled allocation profile's bursts so far (--alloc-profile auto|always)",
	  F64(leaks.burst_s)),
	F("container", PMW_F_STR, 0, "",
	  "container identity (see [Sweeping a host](sweep-and-fleet.md#sweeping-a-host--a)), empty on the host", get_container),
	F("ns_pid", PMW_F_U64, 0, "", "the PID inside the process's own PID namespace",
	  get_ns_pid),
	F("heap_scan_ms", PMW_F_F64, 2, "ms",
	  "time pymemwatch spent reading the pymalloc heap at the end of the interval "
	  "(empty: not read)", F64(heap.scan_ms), .avail = heap_read_now),
	F("pools_used", PMW_F_U64, 0, "count",
	  "pymalloc pools (mimalloc pages on free-threaded builds) holding at least one block at "
	  "the last heap read: times the pool size, against `live_bytes`, how full they are",
	  U64(heap.pools_used), .avail = heap_read),
	F("advice_saving_bytes", PMW_F_U64, 0, "bytes",
	  "estimated bytes the last heap walk's advice would save, the sum over its rows "
	  "(`--csv-advice`, [Where the memory goes](leaks.md#where-the-memory-goes)); empty "
	  "before the first walk", get_advice_saving, .avail = walked),
	/* JSON only: the HTML report's GC table */
	F("gc_gen%d_pause_ms_total", PMW_F_F64, 3, "ms", "pauses of each generation in the interval",
	  get_gen_pause_total, .avail = pauses_measured, .flags = PMW_FF_PER_GEN | PMW_FF_JSON_ONLY),
	F("gc_gen%d_pause_ms_max", PMW_F_F64, 3, "ms", "the longest pause of each generation",
	  get_gen_pause_max, .avail = pauses_measured, .flags = PMW_FF_PER_GEN | PMW_FF_JSON_ONLY),
};

const int pmw_nfields = ARRAY_SIZE(pmw_fields);

/* ---------------------------------------------------------------- access */

int pmw_field_ncols(const struct pmw_field *f)
{
	return f->flags & PMW_FF_PER_GEN ? PMW_NGEN : 1;
}

const char *pmw_field_label(const struct pmw_field *f, const char *pattern, int gen, char *buf,
			    size_t len)
{
	if (f->flags & PMW_FF_PER_GEN) {
		/* the patterns of per-generation rows hold one "%d" (pmw_fields[] only) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(buf, len, pattern, gen);
#pragma GCC diagnostic pop
	} else {
		snprintf(buf, len, "%s", pattern);
	}
	return buf;
}

const char *pmw_field_colname(const struct pmw_field *f, int gen, char *buf, size_t len)
{
	return pmw_field_label(f, f->name, gen, buf, len);
}

const struct pmw_field *pmw_field_find(const char *name)
{
	char col[64];

	pmw_for_each_col(f, g)
		if (!strcmp(name, f->name) || !strcmp(name, pmw_field_colname(f, g, col, sizeof(col))))
			return f;
	return NULL;
}

void pmw_field_value(const struct pmw_field *f, pmw_field_get get,
		     bool (*avail)(const struct pmw_watch *w), const struct pmw_fsrc *src,
		     struct pmw_fval *v)
{
	if (!avail)
		avail = f->avail;
	memset(v, 0, sizeof(*v));
	if (avail && !avail(src->w)) {
		v->na = true;
		return;
	}
	if (!get)
		get = f->get;
	if (get) {
		get(src, v);
	} else {
		/* U64(member) / F64(member) */
		const char *m = (const char *)src->w + f->off;

		if (f->type == PMW_F_F64)
			memcpy(&v->d, m, sizeof(v->d));
		else
			memcpy(&v->u, m, sizeof(v->u));
	}
}

/* ---------------------------------------------------------------- documentation */

/* the column names ", "-separated: CSV columns, or (@json_only) the JSON-only keys */
static void put_names(FILE *f, bool json_only, const char *after21)
{
	char col[64];
	int n = 0;

	pmw_for_each_col(c, g) {
		if (!(c->flags & PMW_FF_JSON_ONLY) != !json_only)
			continue;
		fprintf(f, "%s%s", !n ? "" : n == 21 && after21 ? after21 : ", ",
			pmw_field_colname(c, g, col, sizeof(col)));
		n++;
	}
}

char *pmw_fields_help(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("CSV COLUMNS (--csv; the same keys in --json): ", f);
	put_names(f, false, NULL);
	fputs(". --json also: ", f);
	put_names(f, true, NULL);
	fputs(". An empty cell (JSON null, n/a) is a figure that was not measured. "
	      "Units and meanings: doc/outputs.md, \"CSV columns\".\n", f);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

void pmw_fields_markdown(FILE *f)
{
	char col[64];

	fputs("| column | unit | meaning |\n|---|---|---|\n", f);
	for (const struct pmw_field *r = pmw_fields; r < pmw_fields + pmw_nfields; r++) {
		fputs("|", f);
		for (int g = 0; g < pmw_field_ncols(r); g++)
			fprintf(f, "%s `%s`", g ? "," : "", pmw_field_colname(r, g, col, sizeof(col)));
		fprintf(f, " | %s%s| %s%s |\n", r->unit, *r->unit ? " " : "", r->help,
			r->flags & PMW_FF_JSON_ONLY ? " (`--json` only)" : "");
	}
}

void pmw_fields_man(FILE *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	const char *p;
	int w = 0;

	if (!m)
		return;
	put_names(m, false, ", followed by ");
	fputs(".", m);
	if (fclose(m)) {
		free(text);
		return;
	}
	/* words wrapped at 95 columns */
	for (p = text; *p;) {
		size_t n = strcspn(p, " ");

		if (w && w + 1 + n > 95) {
			fputc('\n', f);
			w = 0;
		} else if (w) {
			fputc(' ', f);
			w++;
		}
		w += fprintf(f, "%.*s", (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
	fputc('\n', f);
	free(text);
}
