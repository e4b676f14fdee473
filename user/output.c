// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "output.h"
#include "util.h"

static const struct pmw_output_ops *const pmw_outputs[] = {
	&pmw_out_table, &pmw_out_tui, &pmw_out_csv, &pmw_out_csv_sites, &pmw_out_json,
	&pmw_out_flamegraph, NULL,
};

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

const struct pmw_output_ops *pmw_output_find(const char *name)
{
	for (int i = 0; pmw_outputs[i]; i++)
		if (!strcmp(pmw_outputs[i]->name, name))
			return pmw_outputs[i];
	return NULL;
}

void pmw_print_summary(FILE *f, struct pmw_watch **ws, int n)
{
	char a[16], b[16], c[16], d[16], e[16];

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		int64_t growth = (int64_t)w->row.live_bytes - (int64_t)w->first_live;

		fprintf(f, "\nsummary PID %d %s (python %s)%s: %.1f s, %u rows\n", w->t.pid,
			w->t.comm, w->t.version, w->exited ? ", exited" : "", w->seconds, w->rows);
		fprintf(f, "  live heap %s -> %s (%s%s), peak %s; peak RSS %s\n",
			pmw_fmt_bytes(w->first_live, a, sizeof(a)),
			pmw_fmt_bytes(w->row.live_bytes, b, sizeof(b)), growth < 0 ? "-" : "+",
			pmw_fmt_bytes(growth < 0 ? -growth : growth, c, sizeof(c)),
			pmw_fmt_bytes(w->peak_live, d, sizeof(d)),
			pmw_fmt_bytes(w->peak_rss, e, sizeof(e)));
		fprintf(f, "  allocs %llu, frees %llu (%s); events dropped %llu\n",
			(unsigned long long)w->tot_allocs, (unsigned long long)w->tot_frees,
			w->exact ? "exact" : "estimate", (unsigned long long)w->tot_dropped);
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
