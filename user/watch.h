/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-target state across intervals, and the rows it produces. */
#ifndef PMW_WATCH_H
#define PMW_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "discover.h"
#include "heap.h"
#include "leak.h"
#include "pmw.h"
#include "probes.h"
#include "target.h"

/* GC figures of one generation over some span */
struct pmw_gcgen {
	uint64_t collections;		/* count */
	uint64_t collected;		/* objects */
	uint64_t uncollectable;		/* objects */
	uint64_t pause_ns;		/* total pause, ns */
	uint64_t pause_max_ns;		/* longest pause, ns */
	uint64_t hist[PMW_HIST_SLOTS];	/* pauses, log2 ns */
};

/* One PID over one interval: everything an output prints. */
struct pmw_row {
	struct timespec wall;		/* end of the interval, CLOCK_REALTIME */
	double interval_s;		/* its length, seconds */
	int pid;
	const char *comm;
	const char *python;		/* "3.11.2" */
	uint64_t allocs, alloc_bytes, frees; /* in the interval (see precision) */
	bool exact;			/* allocs/frees counted at every pymalloc call */
	bool counts_na;			/* allocs, alloc_bytes, frees not measured: unavailable */
	bool heap_ok;			/* live_* and arena_bytes were read this interval */
	uint64_t live_bytes;		/* live pymalloc heap at the end, bytes */
	uint64_t live_blocks;		/* live pymalloc blocks at the end */
	uint64_t arena_bytes;		/* arenas mapped, bytes */
	uint64_t rss_bytes, anon_bytes;	/* /proc/PID/status VmRSS, RssAnon */
	struct pmw_gcgen gc[PMW_NGEN];	/* collections that finished in the interval */
	uint64_t gc_unknown_gen;	/* collections whose generation is unknown */
	uint64_t large_live_bytes;	/* libc blocks > 512 B allocated since attach, still live */
	uint64_t large_allocs;		/* in the interval */
	uint64_t pool_refills;		/* in the interval */
	uint64_t dropped;		/* events lost in the interval */
	bool final;			/* the last row of a process that exited */
};

enum pmw_gc_source { PMW_GC_NONE, PMW_GC_USDT, PMW_GC_UPROBE, PMW_GC_MEMORY };

struct pmw_watch {
	struct pmw_target t;
	struct pmw_attach a;
	struct pmw_attach burst_a;	/* object-free probes, only while a burst runs */
	struct pmw_attach pid_a;	/* this PID's own probes (allocation paths); @a: shared ones */
	struct pmw_target_cfg cfg;	/* its pmw_targets entry, as last written (never read back) */
	struct pmw_exec_id exec_id;	/* what the process ran when attached */
	bool exec_id_ok;
	bool execd;			/* it exec'd another program: its last tick ends it */
	enum pmw_gc_source gc_src;
	bool exact;			/* --exact attached */
	bool scan_heap;			/* read the pymalloc heap each interval (--mode heap|full) */
	bool started;			/* first interval seen */
	bool exited;			/* process gone; final row produced */
	struct pmw_counters prev;	/* counters summed over CPUs at the last tick */
	struct pmw_gcgen gc_cur[PMW_NGEN]; /* from BPF events since the last tick */
	uint64_t gc_unknown_cur;
	struct pmw_py_gcstats mem_prev[PMW_NGEN]; /* generation_stats read at the last tick */
	struct pmw_py_gcstats mem_base[PMW_NGEN]; /* ... and at the first read (attach) */
	bool mem_prev_ok;
	struct pmw_heap heap;		/* last good scan */
	bool heap_ever;
	int heap_err;			/* last scan error, 0 if fine */
	unsigned int badidx_said;	/* intervals with refills of an invalid size class, since attach */
	/* pacing of the heap scans (one budget with the walks: session.c) */
	double scan_min_age;		/* in: < 0 scan every interval; >= 0 a target whose RSS,
					 * pool refills and collections did not move is not
					 * rescanned before PMW_SCAN_MAX_S, one that moved not before
					 * this many seconds */
	int *scan_quota;		/* in: while paced, scans left this tick for the targets
					 * rescanned only for their age (rotated); NULL no limit */
	double scan_at;			/* CLOCK_MONOTONIC seconds of the last good scan */
	uint64_t scan_rss;		/* its VmRSS then */
	double scan_cpu_s;		/* CPU seconds of every scan (cumulative) */
	uint64_t scans, scans_paced;	/* scans done; intervals whose scan was paced away */
	struct pmw_row row;		/* the last row */
	/* the walk order's need (leak/pipeline.c): RSS and live heap (pymalloc + large) when
	 * it was last given the walk turn, or first seen */
	uint64_t need_rss0, need_live0;
	double follow_at;		/* CLOCK_MONOTONIC of its last header reads (pipeline.c) */
	bool need_set;
	struct pmw_leaks leaks;		/* call sites and the process leak score */
	/* totals for the summary */
	struct pmw_gcgen gc_total[PMW_NGEN];
	uint64_t tot_allocs, tot_frees, tot_dropped;
	unsigned int rows_counted;	/* rows whose allocs/frees were measured */
	uint64_t first_live, peak_live, peak_rss;
	unsigned int rows;
	double seconds;
};

/*
 * Write w->cfg, whole, as @w's entry of pmw_targets (@targets_fd): userspace
 * owns that entry and never reads it back, so nothing BPF writes is lost.
 * @create: the entry may be new (else only an existing one is replaced: a
 * target that exec'd away stays out). Returns 0 or -errno.
 */
int pmw_watch_write_cfg(struct pmw_watch *w, int targets_fd, bool create);

/* Per-CPU counters of @pid summed. Returns 0 or -ENOENT. */
int pmw_watch_read_counters(int map_fd, int pid, struct pmw_counters *out);

#define PMW_SCAN_MAX_S	10.0	/* a paced target's heap is still scanned this often */

/* Read the state an interval starts from: heap scan and, for gc=memory, generation_stats. */
void pmw_watch_baseline(struct pmw_watch *w);

/* Fold one BPF GC event into its watch's current interval. */
void pmw_watch_gc_event(struct pmw_watch *w, const struct pmw_gc_event *ev);

/*
 * Close the interval for @w: read counters (@counts_fd), scan the heap,
 * read /proc, fill w->row. Returns 0, or -ESRCH when the process has
 * exited, or w->execd is set (w->row then holds its final row).
 */
int pmw_watch_tick(struct pmw_watch *w, int counts_fd, double interval_s,
		   const struct timespec *wall);

const char *pmw_gc_source_name(enum pmw_gc_source s);

/*
 * Who else reads each heap scan (the type census: leak/census.c), set by a
 * layer above so that watch calls nothing above it: @begin before every
 * interval's scan (also one skipped: process gone, heap not scanned), @pool
 * for each pool in use (arg: the watch), @end after a good scan. NULL: none.
 */
struct pmw_scan_hook {
	void (*begin)(struct pmw_watch *w);
	pmw_pool_fn pool;
	void (*end)(struct pmw_watch *w);
};
void pmw_watch_set_scan_hook(const struct pmw_scan_hook *hook);

#endif
