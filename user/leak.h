/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Leak suspects: call sites ranked by the growth of the pymalloc pools they
 * took into use and that are still in use, sampled with their Python stacks
 * in bounded bursts; and the per-process leak score.
 */
#ifndef PMW_LEAK_H
#define PMW_LEAK_H

#include <stdbool.h>
#include <stdint.h>
#include "pmw.h"
#include "pystack.h"

#define PMW_HIST_N	120	/* intervals of history for slopes */
#define PMW_SITE_WINDOW	10	/* intervals over which a site's growth is measured */

/* A distinct sampled stack (raw: code object and instruction per frame). */
struct pmw_stack_site {
	uint64_t stack;			/* hash, key of pmw_stacks */
	uint64_t site;			/* key of the pmw_site it belongs to, 0 = unresolved */
	uint64_t live;			/* sampled pools still in use now */
	uint64_t born;			/* samples taken, cumulative */
	uint64_t type;			/* type object of its last live sample */
	struct pmw_frame *frames;	/* resolved frames (nframes), owned */
	int nframes;
	unsigned int idle;		/* intervals with nothing live */
	bool no_room;			/* its site did not fit (SITES_MAX): counted once */
};

/*
 * A call site as users see it: the symbolized stack (file, function, line
 * per frame), whatever instruction inside a line allocated.
 */
struct pmw_site {
	uint64_t key;			/* hash of the symbolized frames */
	struct pmw_frame *frames;	/* innermost first, nframes, owned */
	int nframes;
	char type[64];			/* type of the object at the head of a live pool, "" unknown */
	uint64_t live;			/* sampled pools still in use */
	uint64_t born;			/* sampled pools, cumulative */
	uint64_t live_hist[PMW_SITE_WINDOW]; /* live at the end of the last intervals */
	uint64_t type_obj;		/* type object of a live sample */
	double live_bytes;		/* live * pool size, bytes (sampled) */
	double growth_bytes;		/* change of live_bytes in the interval, bytes */
	double survival;		/* live / born: ~1 for a leak, ~0 for churn */
	double score;			/* growth over the window per second sampled x survival */
	unsigned int idle;
};

/* per-process leak score and its parts */
struct pmw_leak_score {
	double score;			/* 0 steady, higher = likelier leak */
	double heap_slope;		/* live heap, bytes per minute (least squares) */
	double heap_r2;			/* fit of that line, 0..1 */
	double rss_slope;		/* RSS, bytes per minute */
	double rss_r2;
	double uncoll_per_min;		/* GC uncollectable objects per minute */
};

/* a sampled object followed from userspace: its content must not change */
struct pmw_obj {
	uint64_t pool;			/* sampled pool; the object is its first block */
	uint64_t fp;			/* fingerprint: type and first fields, refcount excluded */
};

/* type objects seen, and whether they are one */
struct pmw_type {
	uint64_t addr;
	int ok;
	char name[64];
};

/* type census: live pymalloc bytes per object type, like objgraph's show_growth */
struct pmw_census_type {
	uint64_t type;			/* type object address */
	uint64_t bytes;			/* live bytes of pools headed by such objects, last scan */
	uint64_t first_bytes;		/* the same at the first scan */
	uint64_t pools;			/* pools, last scan */
};

struct pmw_leaks {
	struct pmw_census_type *census;	/* sorted by type address */
	int ncensus, cap_census;
	bool census_started;
	struct pmw_obj *objs;		/* sorted by pool */
	int nobjs;
	struct pmw_type types[512];	/* direct-mapped cache */
	struct pmw_stack_site *stacks;	/* sorted by stack hash */
	int nstacks, cap_stacks;
	struct pmw_site *sites;		/* sorted by key */
	int nsites, cap;
	struct pmw_code_cache *cc;
	double burst_s;			/* seconds spent sampling so far */
	double run_s;			/* seconds observed so far */
	bool burst;			/* sampling in the current interval */
	unsigned int want_bursts;	/* intervals left during which bursts run */
	unsigned int bursts_skipped;	/* bursts missed: free probes not attached in time (load) */
	uint64_t dropped;		/* samples and sites lost to full tables, not yet in a row */
	double heap_hist[PMW_HIST_N], rss_hist[PMW_HIST_N], t_hist[PMW_HIST_N];
	uint64_t uncoll_total;
	int nhist;
	struct pmw_leak_score ps;
};

/* Sorted view of a target's sites, best score first; returns the count. */
int pmw_leak_top(struct pmw_leaks *l, struct pmw_site **out, int max);

void pmw_leaks_free(struct pmw_leaks *l);

/* Least-squares slope (per unit of @x) and R^2 of @n points. */
void pmw_fit_line(const double *x, const double *y, int n, double *slope, double *r2);

/* The process score from the slopes: 0 when nothing grows. */
double pmw_leak_process_score(const struct pmw_leak_score *s);

struct pmw_watch;

/* Heap-scan callback (pmw_pool_fn): add a pool to @arg's (a struct pmw_watch) census. */
void pmw_census_pool(void *arg, const uint8_t *first_block, uint64_t live_bytes);
/* Before and after a heap scan that feeds the census. */
void pmw_census_begin(struct pmw_watch *w);
void pmw_census_end(struct pmw_watch *w);
/* The types that grew most since attach (bytes - first_bytes), best first; returns the count. */
int pmw_census_top(struct pmw_watch *w, struct pmw_census_type **out, int max);
/* tp_name of type object @type, "?" if unknown */
const char *pmw_census_name(struct pmw_watch *w, uint64_t type);

/*
 * After each interval: read every sampled pool (@samples_fd) and group
 * them by stack into each target's sites, resolve new stacks (@stacks_fd)
 * and types, update scores, forget stacks no sample refers to. Then decide
 * each target's next burst. Returns 0 or -errno.
 */
int pmw_leaks_collect(struct pmw_watch **ws, int n, int samples_fd, int stacks_fd);

/* Start or stop sampling stacks for @w (the sampling flag of its pmw_targets entry). */
int pmw_leaks_set_sampling(int targets_fd, struct pmw_watch *w, bool on);

/* Update the process score of @w from its last row. */
void pmw_leaks_process(struct pmw_watch *w);
#endif
