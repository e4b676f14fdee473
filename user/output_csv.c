// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CSV, RFC 4180: one row per PID per interval. The first 21 columns are a
 * public interface (README.md): never rename or reorder them; add after.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "output.h"
#include "util.h"

static const char *const columns[] = {
	"time", "host", "pid", "comm", "python", "interval_s", "allocs", "alloc_bytes",
	"frees", "live_bytes", "arena_bytes", "rss_bytes", "gc_gen0", "gc_gen1", "gc_gen2",
	"gc_collected", "gc_uncollectable", "gc_pause_ms_total", "gc_pause_ms_max",
	"precision", "dropped",
	/* additions */
	"live_blocks", "anon_bytes", "large_live_bytes", "large_allocs", "pool_refills",
	"gc_pause_ms_p50", "gc_pause_ms_p99", "gc_unknown_gen", "exited",
};

static int csv_open(struct pmw_output *o, const char *path)
{
	if (!strcmp(path, "-")) {
		o->f = stdout;
	} else {
		/* never follow a symlink planted at the output path */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		o->f = fdopen(fd, "w");
		if (!o->f) {
			close(fd);
			return -errno;
		}
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
		fprintf(o->f, "%s%s", i ? "," : "", columns[i]);
	fputs("\r\n", o->f);
	return fflush(o->f) ? -errno : 0;
}

static int csv_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < n; i++) {
		const struct pmw_row *r = &ws[i]->row;
		char ts[40];
		uint64_t coll = 0, unc = 0, pause = 0, pmax = 0, hist[PMW_HIST_SLOTS] = { 0 };

		for (int g = 0; g < PMW_NGEN; g++) {
			coll += r->gc[g].collected;
			unc += r->gc[g].uncollectable;
			pause += r->gc[g].pause_ns;
			if (r->gc[g].pause_max_ns > pmax)
				pmax = r->gc[g].pause_max_ns;
			for (int s = 0; s < PMW_HIST_SLOTS; s++)
				hist[s] += r->gc[g].hist[s];
		}
		pmw_fmt_rfc3339(&r->wall, ts, sizeof(ts));
		fprintf(o->f, "%s,", ts);
		pmw_csv_field(o->f, o->host);
		fprintf(o->f, ",%d,", r->pid);
		pmw_csv_field(o->f, r->comm);
		fputc(',', o->f);
		pmw_csv_field(o->f, r->python);
		fprintf(o->f, ",%.3f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.3f,%.3f,%s,%llu",
			r->interval_s, (unsigned long long)r->allocs,
			(unsigned long long)r->alloc_bytes, (unsigned long long)r->frees,
			(unsigned long long)r->live_bytes, (unsigned long long)r->arena_bytes,
			(unsigned long long)r->rss_bytes, (unsigned long long)r->gc[0].collections,
			(unsigned long long)r->gc[1].collections,
			(unsigned long long)r->gc[2].collections, (unsigned long long)coll,
			(unsigned long long)unc, pause / 1e6, pmax / 1e6,
			r->exact ? "exact" : "estimate", (unsigned long long)r->dropped);
		fprintf(o->f, ",%llu,%llu,%llu,%llu,%llu,%.3f,%.3f,%llu,%d\r\n",
			(unsigned long long)r->live_blocks, (unsigned long long)r->anon_bytes,
			(unsigned long long)r->large_live_bytes,
			(unsigned long long)r->large_allocs, (unsigned long long)r->pool_refills,
			pmw_hist_percentile(hist, PMW_HIST_SLOTS, 50, pmax) / 1e6,
			pmw_hist_percentile(hist, PMW_HIST_SLOTS, 99, pmax) / 1e6,
			(unsigned long long)r->gc_unknown_gen, r->final ? 1 : 0);
	}
	/* flushed every interval: a crash or kill loses nothing already produced */
	if (fflush(o->f))
		return -errno;
	return ferror(o->f) ? -EIO : 0;
}

static void csv_close(struct pmw_output *o)
{
	if (!o->f)
		return;
	if (o->f == stdout)
		fflush(o->f);
	else if (fclose(o->f))
		elog("error writing %s: %s\n", o->path, strerror(errno));
	o->f = NULL;
}

const struct pmw_output_ops pmw_out_csv = {
	.name = "csv",
	.open = csv_open,
	.interval = csv_interval,
	.close = csv_close,
};
