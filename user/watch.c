// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "util.h"
#include "watch.h"

const char *pmw_gc_source_name(enum pmw_gc_source s)
{
	switch (s) {
	case PMW_GC_USDT: return "usdt";
	case PMW_GC_UPROBE: return "uprobe";
	case PMW_GC_MEMORY: return "memory";
	default: return "none";
	}
}

int pmw_watch_write_cfg(struct pmw_watch *w, int targets_fd, bool create)
{
	__u32 key = w->t.pid;

	return bpf_map_update_elem(targets_fd, &key, &w->cfg, create ? BPF_ANY : BPF_EXIST) ?
	       -errno : 0;
}

int pmw_watch_read_counters(int map_fd, int pid, struct pmw_counters *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct pmw_counters *v;
	__u32 key = pid;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, v)) {
		free(v);
		return -ENOENT;
	}
	for (int c = 0; c < ncpu; c++) {
		const __u64 *src = (const __u64 *)&v[c];
		__u64 *dst = (__u64 *)out;

		for (size_t i = 0; i < sizeof(*out) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
	free(v);
	return 0;
}

static void gcgen_add(struct pmw_gcgen *g, uint64_t dur, int64_t collected, int64_t uncoll)
{
	g->collections++;
	g->collected += collected > 0 ? collected : 0;
	g->uncollectable += uncoll > 0 ? uncoll : 0;
	g->pause_ns += dur;
	if (dur > g->pause_max_ns)
		g->pause_max_ns = dur;
	pmw_hist_add(g->hist, PMW_HIST_SLOTS, dur);
}

void pmw_watch_gc_event(struct pmw_watch *w, const struct pmw_gc_event *ev)
{
	if (ev->gen < 0 || ev->gen >= PMW_NGEN) {
		w->gc_unknown_cur++;
		return;
	}
	gcgen_add(&w->gc_cur[ev->gen], ev->dur_ns, ev->collected, ev->uncollectable);
}

/* VmRSS and RssAnon from /proc/PID/status, bytes */
/*
 * VmRSS and RssAnon of @pid, bytes, from /proc/PID/statm (a few numbers: far
 * cheaper for the kernel and for us than status, read for every target every
 * interval): resident and shared pages, shared being RssFile + RssShmem, so
 * RssAnon = resident - shared. 0 or -errno.
 */
static int read_status(int pid, uint64_t *rss, uint64_t *anon)
{
	static long page;
	char path[64], buf[128];
	unsigned long long size, res, shared;
	ssize_t n;
	int fd;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = 0;
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shared) != 3)
		return -EINVAL;
	*rss = res * page;
	*anon = res > shared ? (res - shared) * page : 0;
	return 0;
}

/* generation_stats from target memory (the GC source when no probe could attach) */
static int read_gc_stats(struct pmw_watch *w, struct pmw_py_gcstats st[PMW_NGEN])
{
	const struct pmw_target *t = &w->t;
	uint64_t addr;

	if (!t->bias_known)
		return -EAGAIN;
	if (t->pv->gc_stats_in_runtime) {
		addr = t->runtime_vaddr + t->bias + t->pv->gc_stats;
	} else {
		addr = pmw_py_interp(t);
		if (!addr)
			return -EAGAIN;
		addr += t->pv->gc_stats;
	}
	return pmw_pyver_gc_read(t->pid, &t->pv->gc_layout, addr, st);
}

static void gc_from_memory(struct pmw_watch *w)
{
	struct pmw_py_gcstats st[PMW_NGEN];

	if (read_gc_stats(w, st))
		return;
	if (w->mem_prev_ok) {
		for (int g = 0; g < PMW_NGEN; g++) {
			struct pmw_gcgen *c = &w->gc_cur[g];

			c->collections += st[g].collections - w->mem_prev[g].collections;
			c->collected += st[g].collected - w->mem_prev[g].collected;
			c->uncollectable += st[g].uncollectable - w->mem_prev[g].uncollectable;
		}
	}
	memcpy(w->mem_prev, st, sizeof(st));
	w->mem_prev_ok = true;
}

/*
 * No symbols: a collection function found by disassembly is checked against
 * generation_stats every interval (symfind.h); a failed one gives way to them.
 */
static void gc_check_found(struct pmw_watch *w)
{
	struct pmw_py_gcstats st[PMW_NGEN];
	uint64_t probe[PMW_NGEN], mem[PMW_NGEN];

	if (read_gc_stats(w, st))
		return;
	if (!w->mem_prev_ok)
		memcpy(w->mem_base, st, sizeof(st));
	if (w->mem_prev_ok) {
		bool failed = w->t.sf.gc_func.check == PMW_CHECK_FAILED;

		for (int g = 0; g < PMW_NGEN; g++) {
			probe[g] = w->gc_cur[g].collections;
			mem[g] = st[g].collections - w->mem_prev[g].collections;
		}
		pmw_symfind_check_gc(&w->t, probe, mem);
		for (int g = 0; g < PMW_NGEN && w->t.sf.gc_func.check == PMW_CHECK_FAILED; g++) {
			/* the interval the check fails brings collected and uncollectable since
			 * attach back to generation_stats' too, as symfind does for collections */
			const struct pmw_py_gcstats *from = failed ? &w->mem_prev[g] : &w->mem_base[g];
			int64_t coll = st[g].collected - from->collected -
				       (failed ? 0 : (int64_t)w->gc_total[g].collected);
			int64_t unc = st[g].uncollectable - from->uncollectable -
				      (failed ? 0 : (int64_t)w->gc_total[g].uncollectable);

			w->gc_cur[g] = (struct pmw_gcgen){
				.collections = probe[g],
				.collected = coll > 0 ? coll : 0,
				.uncollectable = unc > 0 ? unc : 0,
			};
		}
	}
	memcpy(w->mem_prev, st, sizeof(st));
	w->mem_prev_ok = true;
}

static const struct pmw_scan_hook *scan_hook;

void pmw_watch_set_scan_hook(const struct pmw_scan_hook *hook)
{
	scan_hook = hook;
}

/*
 * Scan @w's heap into @h, unless @skip (-errno: returned as is); the scan
 * hook begins in either case and ends after a good scan. 0 or -errno
 * (pmw_heap_scan).
 */
static int scan_heap(struct pmw_watch *w, struct pmw_heap *h, int skip)
{
	int err;

	if (scan_hook)
		scan_hook->begin(w);
	if (skip)
		return skip;
	err = pmw_heap_scan(&w->t, h, scan_hook ? scan_hook->pool : NULL, w);
	if (!err && scan_hook)
		scan_hook->end(w);
	return err;
}

void pmw_watch_baseline(struct pmw_watch *w)
{
	struct pmw_heap h;

	if (!w->t.bias_known)
		return;
	if (!scan_heap(w, &h, w->scan_heap ? 0 : -ENODATA)) {
		w->heap = h;
		w->first_live = h.live_bytes;
		w->heap_ever = true;
		w->row.live_blocks = h.live_blocks;
	}
	if (w->gc_src == PMW_GC_MEMORY || w->t.sf.gc_func.check == PMW_CHECK_PENDING) {
		gc_from_memory(w);
		memcpy(w->mem_base, w->mem_prev, sizeof(w->mem_base));
		memset(w->gc_cur, 0, sizeof(w->gc_cur));
	}
}

/* this thread's CPU seconds, as the walk budget counts them (pmw_cpu_s, a layer above) */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * May this interval's scan of @w be left out (w->scan_min_age >= 0: the
 * session's budget is short)? Only after a good scan, younger than
 * scan_min_age or with nothing @moved. One older than PMW_SCAN_MAX_S is
 * rescanned when the tick's w->scan_quota allows (so the idle targets take
 * turns rather than all at once), at the latest at twice that age.
 */
static bool scan_paced(const struct pmw_watch *w, bool moved, double now)
{
	double age = now - w->scan_at;

	if (w->scan_min_age < 0 || !w->heap_ever || w->heap_err)
		return false;
	if (moved && age >= w->scan_min_age)
		return false;
	if (age < PMW_SCAN_MAX_S)
		return true;
	if (!w->scan_quota || age >= 2 * PMW_SCAN_MAX_S)
		return false;
	if (*w->scan_quota > 0) {
		(*w->scan_quota)--;
		return false;
	}
	return true;
}

/* Scan the heap of @w into its row (unless paced: see scan_paced); keep the last good scan
 * otherwise. @moved: its RSS, pool refills or collections moved since the last scan. */
static void tick_heap(struct pmw_watch *w, bool alive, bool moved)
{
	struct pmw_row *r = &w->row;
	struct pmw_heap h;
	double c0 = cpu_now(), now = pmw_now_s();
	int err;

	if (alive && w->scan_heap && scan_paced(w, moved, now)) {
		w->scans_paced++;	/* the last scan stands, census included */
		err = 0;
		r->heap_ok = true;
		goto out;
	}
	err = scan_heap(w, &h, !alive ? -ESRCH : w->scan_heap ? 0 : -ENODATA);
	w->scan_cpu_s += cpu_now() - c0;
	if (!err) {
		w->heap = h;
		if (!w->heap_ever)
			w->first_live = h.live_bytes;
		w->heap_ever = true;
		w->scans++;
		w->scan_at = now;
		w->scan_rss = r->rss_bytes;
		r->heap_ok = true;
	} else if (err != -ESRCH && err != w->heap_err && err != -EAGAIN && err != -ENODATA) {
		wlog("PID %d: cannot read the %s heap: %s\n", w->t.pid,
		     w->t.free_threaded ? "mimalloc" : "pymalloc", strerror(-err));
	}
	w->heap_err = err;
out:
	r->live_bytes = w->heap.live_bytes;
	r->live_blocks = w->heap.live_blocks;
	r->arena_bytes = w->heap.arena_bytes;
}

#define D(f) (now->f >= w->prev.f ? now->f - w->prev.f : 0)

/*
 * The row's allocation counts from the BPF counters @now (since w->prev):
 * exact, estimated from pool refills and the change in live blocks since
 * @prev_blocks (@prev_ok: a scan to difference), or unavailable.
 */
static void tick_counts(struct pmw_watch *w, const struct pmw_counters *now,
			uint64_t prev_blocks, bool prev_ok)
{
	struct pmw_row *r = &w->row;

	if (w->exact) {
		r->allocs = D(allocs);
		r->alloc_bytes = D(alloc_bytes);
		r->frees = D(frees);
	} else if (w->t.free_threaded ||	/* mimalloc: no pool refills to count */
		   !(w->a.groups & PMW_G_HEAP) || !r->heap_ok || !prev_ok ||
		   !pmw_symfind_check_refill(&w->t, w->heap.pools_used, D(pool_refills),
					     D(refill_blocks), D(refill_stale)) || D(refill_badidx)) {
		/* no refill probe (or one not checked yet), no two heap scans to difference,
		 * or refills whose size class was invalid (blocks not known) */
		if (D(refill_badidx) && !w->badidx_said++)
			vlog("PID %d: %lu pool refills with an invalid size class: allocation counts "
			     "unavailable for such intervals\n", w->t.pid,
			     (unsigned long)D(refill_badidx));
		r->counts_na = true;
	} else {
		/* estimate: blocks handed out by new pools (a lower bound under churn),
		 * frees from the change in live blocks */
		int64_t net = (int64_t)r->live_blocks - (int64_t)prev_blocks;

		r->allocs = D(refill_blocks);
		r->alloc_bytes = D(refill_bytes);
		r->frees = (int64_t)r->allocs > net ? r->allocs - net : 0;
		if (net > (int64_t)r->allocs)
			r->allocs = net;
	}
	r->large_allocs = D(large_allocs);
	r->large_live_bytes = now->large_alloc_bytes - now->large_free_bytes;
	r->pool_refills = D(pool_refills);
	r->dropped = D(dropped) + w->leaks.dropped;	/* BPF events + full site tables */
	w->leaks.dropped = 0;
}

/* The interval's collections into the row and the run's totals; a new interval starts. */
static void tick_gc(struct pmw_watch *w)
{
	struct pmw_row *r = &w->row;

	memcpy(r->gc, w->gc_cur, sizeof(r->gc));
	r->gc_unknown_gen = w->gc_unknown_cur;
	for (int g = 0; g < PMW_NGEN; g++) {
		struct pmw_gcgen *t = &w->gc_total[g], *c = &w->gc_cur[g];

		t->collections += c->collections;
		t->collected += c->collected;
		t->uncollectable += c->uncollectable;
		t->pause_ns += c->pause_ns;
		if (c->pause_max_ns > t->pause_max_ns)
			t->pause_max_ns = c->pause_max_ns;
		for (int i = 0; i < PMW_HIST_SLOTS; i++)
			t->hist[i] += c->hist[i];
	}
	memset(w->gc_cur, 0, sizeof(w->gc_cur));
	w->gc_unknown_cur = 0;
}

/* The run's totals and peaks, with the row just made. */
static void tick_totals(struct pmw_watch *w, double interval_s)
{
	const struct pmw_row *r = &w->row;

	w->started = true;
	w->rows++;
	w->seconds += interval_s;
	w->tot_allocs += r->allocs;
	w->tot_frees += r->frees;
	w->rows_counted += !r->counts_na;
	w->tot_dropped += r->dropped;
	if (r->live_bytes > w->peak_live)
		w->peak_live = r->live_bytes;
	if (r->rss_bytes > w->peak_rss)
		w->peak_rss = r->rss_bytes;
}

/* Did anything that changes the heap move since w's last scan (RSS, refills, collections)? */
static bool moved(const struct pmw_watch *w, const struct pmw_counters *now)
{
	uint64_t coll = 0;

	for (int g = 0; g < PMW_NGEN; g++)
		coll += w->gc_cur[g].collections;
	return w->row.rss_bytes != w->scan_rss || now->pool_refills != w->prev.pool_refills ||
	       now->large_allocs != w->prev.large_allocs || coll;
}

int pmw_watch_tick(struct pmw_watch *w, int counts_fd, double interval_s,
		   const struct timespec *wall)
{
	struct pmw_row *r = &w->row;
	struct pmw_counters now;
	bool alive = !w->execd && pmw_pid_alive(w->t.pid);
	uint64_t prev_blocks = w->row.live_blocks;
	bool prev_ok = w->heap_ever;	/* a scan (baseline or last interval) to difference */

	memset(r, 0, sizeof(*r));
	r->wall = *wall;
	r->interval_s = interval_s;
	r->pid = w->t.pid;
	r->comm = w->t.comm;
	r->python = w->t.version;
	r->exact = w->exact;

	if (!w->t.bias_known && alive)
		pmw_target_refresh(&w->t);
	if (w->gc_src == PMW_GC_MEMORY && alive)
		gc_from_memory(w);
	else if (w->gc_src == PMW_GC_UPROBE && w->t.sf.gc_func.addr && alive)
		gc_check_found(w);

	if (pmw_watch_read_counters(counts_fd, w->t.pid, &now))
		now = w->prev;
	if (alive)
		read_status(w->t.pid, &r->rss_bytes, &r->anon_bytes);
	else
		r->rss_bytes = r->anon_bytes = 0;
	tick_heap(w, alive, moved(w, &now));
	tick_counts(w, &now, prev_blocks, prev_ok);
	tick_gc(w);
	w->prev = now;
	tick_totals(w, interval_s);
	if (!alive) {
		r->final = true;
		w->exited = true;
		return -ESRCH;
	}
	return 0;
}
