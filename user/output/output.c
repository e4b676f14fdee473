// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "output.h"
#include "output_leaks.h"
#include "util.h"

/*
 * THE output registry, one line per output: the order in which they open,
 * take each interval's rows and close (in reverse). Screen outputs last.
 */
#define PMW_OUTPUTS(X)		\
	X(pmw_out_csv)		\
	X(pmw_out_csv_sites)	\
	X(pmw_out_csv_leaks)	\
	X(pmw_out_csv_types)	\
	X(pmw_out_json)		\
	X(pmw_out_flamegraph)	\
	X(pmw_out_prometheus)	\
	X(pmw_out_table)	\
	X(pmw_out_tui)

#define DECLARE(ops)	extern const struct pmw_output_ops ops;
#define ENTRY(ops)	&ops,
PMW_OUTPUTS(DECLARE)
static const struct pmw_output_ops *const registry[] = { PMW_OUTPUTS(ENTRY) };
#define NREG ((int)ARRAY_SIZE(registry))
_Static_assert(ARRAY_SIZE(registry) <= PMW_MAX_OUTPUTS, "raise PMW_MAX_OUTPUTS");

/* the option arguments given, per registry entry */
static const char *args[PMW_MAX_OUTPUTS];

static int find(const char *name)
{
	for (int i = 0; i < NREG; i++)
		if (!strcmp(registry[i]->name, name))
			return i;
	return -1;
}

int pmw_outputs_argp_options(struct argp_option *opts, int group, int key0)
{
	int n = 0;

	for (int i = 0; i < NREG; i++) {
		if (registry[i]->kind == PMW_OUT_SCREEN)
			continue;
		opts[n++] = (struct argp_option){
			.name = registry[i]->name, .key = key0 + i, .arg = registry[i]->arg,
			.doc = registry[i]->help, .group = group,
		};
	}
	return n;
}

error_t pmw_outputs_parse_opt(int key, int key0, char *arg, struct argp_state *state)
{
	const struct pmw_output_ops *ops;

	if (key < key0 || key >= key0 + NREG)
		return ARGP_ERR_UNKNOWN;
	ops = registry[key - key0];
	if (!*arg)
		argp_error(state, "empty --%s %s", ops->name, ops->arg);
	else if (ops->arg_ok && !ops->arg_ok(arg))
		argp_error(state, "invalid --%s '%s': expected %s", ops->name, arg, ops->expect);
	args[key - key0] = arg;
	return 0;
}

const char *pmw_output_arg(const char *name)
{
	int i = find(name);

	return i < 0 ? NULL : args[i];
}

void pmw_output_set_arg(const char *name, const char *arg)
{
	int i = find(name);

	if (i >= 0)
		args[i] = arg;
}

bool pmw_outputs_on_stdout(void)
{
	for (int i = 0; i < NREG; i++)
		if (registry[i]->kind == PMW_OUT_FILE && args[i] && !strcmp(args[i], "-"))
			return true;
	return false;
}

/* Open registry entry @i with @arg into the next slot of @os; 0 or -errno. */
static int open_one(struct pmw_outputs *os, int i, const char *arg, const char *host,
		    double interval, bool rank)
{
	struct pmw_output *o = &os->o[os->n];
	int err = 0;

	memset(o, 0, sizeof(*o));
	o->ops = registry[i];
	o->interval = interval;
	o->rank = rank;
	snprintf(o->host, sizeof(o->host), "%s", host);
	if (o->ops->kind == PMW_OUT_FILE) {
		o->f = pmw_output_create(arg);
		if (!o->f)
			return -errno;
		snprintf(o->path, sizeof(o->path), "%s", arg);
	}
	if (o->ops->open)
		err = o->ops->open(o, arg);
	if (err) {
		pmw_output_close_file(o);
		return err;
	}
	os->n++;
	return 0;
}

int pmw_outputs_open(struct pmw_outputs *os, const char *screen, const char *host,
		     double interval, bool rank)
{
	int err;

	for (int i = 0; i < NREG; i++) {
		if (!args[i])
			continue;
		err = open_one(os, i, args[i], host, interval, rank);
		if (err) {
			elog("cannot write %s: %s\n", args[i], err == -ELOOP ?
			     "it is a symbolic link (not followed)" : strerror(-err));
			return err;
		}
	}
	if (!screen || pmw_outputs_on_stdout() || find(screen) < 0)
		return 0;
	if (open_one(os, find(screen), NULL, host, interval, rank))
		open_one(os, find("table"), NULL, host, interval, rank);
	return 0;
}

int pmw_outputs_interval(struct pmw_outputs *os, struct pmw_watch **ws, int n)
{
	int err = 0;

	for (int i = 0; i < os->n; i++) {
		struct pmw_output *o = &os->o[i];
		int e = o->ops->interval ? o->ops->interval(o, ws, n) : 0;

		if (e && !err) {
			elog("output %s failed: %s\n", o->ops->name, strerror(-e));
			err = e;
		}
	}
	return err;
}

bool pmw_outputs_note(struct pmw_outputs *os, const char *msg)
{
	bool shown = false;

	for (int i = 0; i < os->n; i++) {
		if (os->o[i].ops->poll_keys && os->o[i].ops->note) {
			os->o[i].ops->note(&os->o[i], msg);
			shown = true;
		}
	}
	return shown;
}

bool pmw_outputs_poll_keys(struct pmw_outputs *os)
{
	bool quit = false;

	for (int i = 0; i < os->n; i++)
		if (os->o[i].ops->poll_keys && os->o[i].ops->poll_keys(&os->o[i]))
			quit = true;
	return quit;
}

void pmw_outputs_finish(struct pmw_outputs *os, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < os->n; i++)
		if (os->o[i].ops->finish)
			os->o[i].ops->finish(&os->o[i], ws, n);
}

void pmw_outputs_close(struct pmw_outputs *os)
{
	for (int i = os->n - 1; i >= 0; i--) {
		if (os->o[i].ops->close)
			os->o[i].ops->close(&os->o[i]);
		pmw_output_close_file(&os->o[i]);
	}
	os->n = 0;
}

FILE *pmw_output_create(const char *path)
{
	int fd;
	FILE *f;

	if (!strcmp(path, "-"))
		return stdout;
	/* never follow a symlink planted at the output path */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	else	/* an interval's rows reach the file in one write at the flush, not mid-row */
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

void pmw_output_close_file(struct pmw_output *o)
{
	if (!o->f)
		return;
	if (o->f == stdout)
		fflush(o->f);
	else if (fclose(o->f))
		elog("error writing %s: %s\n", o->path, strerror(errno));
	o->f = NULL;
}

void pmw_print_summary(FILE *f, struct pmw_watch **ws, int n)
{
	char a[16], b[16], c[16], d[16], e[16];

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		int64_t growth = (int64_t)w->row.live_bytes - (int64_t)w->first_live;

		fprintf(f, "\nsummary PID %d %s (python %s)%s: %.1f s, %u rows\n", w->t.pid,
			w->t.comm, w->t.version, w->exited ? ", exited" : "", w->seconds, w->rows);
		pmw_print_leak_table(f, w, PMW_LEAKS_MAX);	/* leaks first */
		fprintf(f, "  live heap %s -> %s (%s%s), peak %s; peak RSS %s\n",
			pmw_fmt_bytes(w->first_live, a, sizeof(a)),
			pmw_fmt_bytes(w->row.live_bytes, b, sizeof(b)), growth < 0 ? "-" : "+",
			pmw_fmt_bytes(growth < 0 ? -growth : growth, c, sizeof(c)),
			pmw_fmt_bytes(w->peak_live, d, sizeof(d)),
			pmw_fmt_bytes(w->peak_rss, e, sizeof(e)));
		if (!w->rows_counted)
			fprintf(f, "  allocs n/a, frees n/a (unavailable: %s); events dropped %llu\n",
				!(w->a.groups & PMW_G_HEAP) ? "no pool-refill probe" :
				w->t.sf.pool_refill.check == PMW_CHECK_FAILED ?
				"the pool-refill probe failed its check" : "pool-refill probe not checked yet", (unsigned long long)w->tot_dropped);
		else
			fprintf(f, "  allocs %llu, frees %llu (%s%s); events dropped %llu\n",
				(unsigned long long)w->tot_allocs, (unsigned long long)w->tot_frees,
				w->exact ? "exact" : "estimate", w->rows_counted < w->rows ?
				", over the intervals measured" : "", (unsigned long long)w->tot_dropped);
		if (w->leaks.bursts_skipped)
			fprintf(f, "  leak bursts skipped under load (free probes not attached in time): %u\n",
				w->leaks.bursts_skipped);
		fprintf(f, "  %-4s %11s %11s %8s %10s %9s %9s %9s\n", "GEN", "COLLECTIONS",
			"COLLECTED", "UNCOLL", "PAUSE(ms)", "p50(ms)", "p99(ms)", "max(ms)");
		for (int g = 0; g < PMW_NGEN; g++) {
			const struct pmw_gcgen *t = &w->gc_total[g];

			fprintf(f, "  %-4d %11llu %11llu %8llu %10.2f %9.3f %9.3f %9.3f\n", g,
				(unsigned long long)t->collections, (unsigned long long)t->collected,
				(unsigned long long)t->uncollectable, t->pause_ns / 1e6,
				pmw_hist_percentile(t->hist, PMW_HIST_SLOTS, 50, t->pause_max_ns) / 1e6,
				pmw_hist_percentile(t->hist, PMW_HIST_SLOTS, 99, t->pause_max_ns) / 1e6,
				t->pause_max_ns / 1e6);
		}
		fprintf(f, "  gc source: %s; leak score %.2f (heap %+.0f B/min r2 %.2f, RSS %+.0f B/min r2 %.2f)\n",
			w->t.sf.gc_func.check == PMW_CHECK_FAILED ?
			"memory (the collection function found by disassembly failed its check)" :
			pmw_gc_source_name(w->gc_src), w->leaks.ps.score, w->leaks.ps.heap_slope,
			w->leaks.ps.heap_r2, w->leaks.ps.rss_slope, w->leaks.ps.rss_r2);
		{
			struct pmw_site *top[5];
			int nt = pmw_leak_top(&w->leaks, top, 5);

			struct pmw_census_type *ct[5];
			int nc = pmw_census_top(w, ct, 5);

			if (nc)
				fprintf(f, "  types growing since attach (live pymalloc bytes of pools they head):\n");
			for (int k = 0; k < nc; k++) {
				int64_t g = (int64_t)ct[k]->bytes - (int64_t)ct[k]->first_bytes;

				if (g <= 0)
					break;
				fprintf(f, "    %-24s %s (+%s)\n", pmw_census_name(w, ct[k]->type),
					pmw_fmt_bytes(ct[k]->bytes, a, sizeof(a)),
					pmw_fmt_bytes(g, b, sizeof(b)));
			}
			if (nt)
				fprintf(f, "  leak suspects (sampled %.1f s):\n", w->leaks.burst_s);
			for (int k = 0; k < nt; k++) {
				const struct pmw_site *st = top[k];

				fprintf(f, "  %d. %s:%d %s  type %s  live %s  score %.0f\n", k + 1,
					st->nframes ? st->frames[0].file : "?",
					st->nframes ? st->frames[0].line : 0,
					st->nframes ? st->frames[0].func : "?",
					st->type[0] ? st->type : "?",
					pmw_fmt_bytes(st->live_bytes, a, sizeof(a)), st->score);
			}
		}
	}
	fflush(f);
}

const char *const pmw_rank_key_names[PMW_RANK_NKEYS] = {
	"score", "heap", "rss", "growth", "pid",
};

const char pmw_rank_header[] =
	"PID     NSPID   CONTAINER        COMM         PYTHON   LIVE    RSS   GROW/min P99(ms)  SCORE";

static enum pmw_rank_key rank_key;

static double rank_value(const struct pmw_watch *w)
{
	switch (rank_key) {
	case PMW_RANK_HEAP: return w->row.live_bytes;
	case PMW_RANK_RSS: return w->row.rss_bytes;
	case PMW_RANK_GROWTH: return w->leaks.ps.heap_slope;
	case PMW_RANK_PID: return -w->t.pid;
	default: return w->leaks.ps.score;
	}
}

static int cmp_rank(const void *a, const void *b)
{
	const struct pmw_watch *x = *(struct pmw_watch *const *)a, *y = *(struct pmw_watch *const *)b;
	double vx = rank_value(x), vy = rank_value(y);

	if (x->exited != y->exited)
		return x->exited ? 1 : -1;	/* live processes first */
	return vx < vy ? 1 : vx > vy ? -1 : x->t.pid - y->t.pid;
}

void pmw_rank(struct pmw_watch **ws, int n, enum pmw_rank_key key)
{
	rank_key = key;
	qsort(ws, n, sizeof(*ws), cmp_rank);
}

/* p99 GC pause over the run, all generations, ms */
static double pause_p99_ms(const struct pmw_watch *w)
{
	uint64_t hist[PMW_HIST_SLOTS] = { 0 }, max = 0;

	for (int g = 0; g < PMW_NGEN; g++) {
		for (int i = 0; i < PMW_HIST_SLOTS; i++)
			hist[i] += w->gc_total[g].hist[i];
		if (w->gc_total[g].pause_max_ns > max)
			max = w->gc_total[g].pause_max_ns;
	}
	return pmw_hist_percentile(hist, PMW_HIST_SLOTS, 99, max) / 1e6;
}

void pmw_format_rank_line(char *buf, size_t len, const struct pmw_watch *w)
{
	char live[16], rss[16], grow[16];
	double slope = w->leaks.ps.heap_slope;

	pmw_fmt_bytes(w->row.live_bytes, live, sizeof(live));
	pmw_fmt_bytes(w->row.rss_bytes, rss, sizeof(rss));
	grow[0] = slope < 0 ? '-' : '+';
	pmw_fmt_bytes(slope < 0 ? -slope : slope, grow + 1, sizeof(grow) - 1);
	snprintf(buf, len, "%-7d %-7d %-16.16s %-12.12s %-8.8s %6s %6s %8s %7.2f %6.1f%s",
		 w->t.pid, w->t.ns_pid, w->t.container[0] ? w->t.container : "-", w->t.comm,
		 w->t.version, live, rss, grow, pause_p99_ms(w), w->leaks.ps.score,
		 w->exited ? " exited" : "");
}

void pmw_print_ranking(FILE *f, struct pmw_watch **ws, int n, bool header)
{
	char line[160];

	if (header)
		fprintf(f, "%s\n", pmw_rank_header);
	for (int i = 0; i < n; i++) {
		pmw_format_rank_line(line, sizeof(line), ws[i]);
		fprintf(f, "%s\n", line);
	}
	fflush(f);
}
