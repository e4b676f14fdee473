// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sampled allocation profile's sites (--alloc-profile auto|always):
 * --csv-sites (one row per interval per PID per site) and --flamegraph
 * (collapsed stacks of live sampled memory at the end).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "ops.h"
#include "profile.h"
#include "util.h"

#define SITES_PER_ROW	50	/* sites written per PID per interval, best first */

static int sites_open(struct pmw_output *o, const char *path)
{
	fputs("time,host,pid,site,function,stack,type,live_bytes,growth_bytes,samples,score,"
	      "survival,sampled_s,container,ns_pid\r\n", o->f);
	return fflush(o->f) ? -errno : 0;
}

static int sites_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	static char stack[8192];
	struct pmw_site *top[SITES_PER_ROW];

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = ws[i];
		int nt = pmw_sites_top(&w->leaks, top, SITES_PER_ROW);
		char ts[40], site[300];

		pmw_fmt_rfc3339(&w->row.wall, ts, sizeof(ts));
		for (int k = 0; k < nt; k++) {
			const struct pmw_site *s = top[k];

			pmw_site_name(s, site, sizeof(site));
			pmw_site_stack(s, stack, sizeof(stack));
			fprintf(o->f, "%s,", ts);
			pmw_csv_field(o->f, o->host);
			fprintf(o->f, ",%d,", w->t.pid);
			pmw_csv_field(o->f, site);
			fputc(',', o->f);
			pmw_csv_field(o->f, s->nframes ? s->frames[0].func : "?");
			fputc(',', o->f);
			pmw_csv_field(o->f, stack);
			fputc(',', o->f);
			pmw_csv_field(o->f, s->type);
			fprintf(o->f, ",%.0f,%.0f,%llu,%.1f,%.3f,%.2f,", s->live_bytes,
				s->growth_bytes, (unsigned long long)s->live, s->score, s->survival,
				w->leaks.burst_s);
			pmw_csv_field(o->f, w->t.container);
			fprintf(o->f, ",%d\r\n", w->t.ns_pid);
		}
	}
	if (fflush(o->f))
		return -errno;
	return ferror(o->f) ? -EIO : 0;
}

const struct pmw_output_ops pmw_out_csv_sites = {
	.name = "csv-sites",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write one CSV row per sampled allocation site per PID per interval ('-' = stdout; needs --alloc-profile auto|always)",
	.open = sites_open,
	.interval = sites_interval,
};

/* --flamegraph: written once, at the end, from the last state of every target */
static void flame_finish(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	static char stack[8192];

	for (int i = 0; i < n; i++) {
		struct pmw_leaks *l = &ws[i]->leaks;

		for (int k = 0; k < l->nsites; k++) {
			const struct pmw_site *s = &l->sites[k];

			if (!s->live)
				continue;
			pmw_site_stack(s, stack, sizeof(stack));
			/* one root frame per process, so that runs of several PIDs stay apart */
			fprintf(o->f, "%s-%d;%s %.0f\n", ws[i]->t.comm, ws[i]->t.pid, stack,
				s->live_bytes);
		}
	}
}

const struct pmw_output_ops pmw_out_flamegraph = {
	.name = "flamegraph",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "At the end, write collapsed stacks of live sampled memory (flamegraph.pl, speedscope, inferno; needs --alloc-profile auto|always)",
	.finish = flame_finish,
};
