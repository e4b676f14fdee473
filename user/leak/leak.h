/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-target leak state: the type census (census.c), call sites sampled in
 * bursts (sites.c; when bursts run: burst.c) and the process leak score
 * (trend.c); pipeline.c runs them in order each interval.
 */
#ifndef PMW_LEAK_H
#define PMW_LEAK_H

#include <stdbool.h>
#include <stdint.h>
#include "advice.h"
#include "census.h"
#include "containers.h"
#include "growth.h"
#include "sites.h"
#include "trend.h"
#include "walk.h"

/* What the allocation profile's bursts cost one target, for --alloc-profile-budget (burst.c). */
struct pmw_burst_cost {
	double cpu, at;			/* last sample: the target's CPU seconds (all threads), time */
	double cpu_rate;		/* its CPU seconds per second while no burst probe is on */
	double credit_s;		/* target time the budget still allows bursts to cost */
	double lost_s;			/* target CPU time while burst probes were on, so far */
	double work_s;			/* target CPU time while none was on, so far */
	double live_s;			/* seconds burst probes were on (attach to end of detach) */
	double win_s, win_last;		/* seconds probes are on in this burst; in the last */
	unsigned int bursts, bursts_budget;	/* bursts run; bursts skipped for the budget */
	bool sampled, live;		/* live: burst probes on at some time since the sample */
	double rate_cpu, rate_at;	/* start of the span cpu_rate is measured over; at 0: none */
	bool rated;			/* cpu_rate was measured (>= 0.5 s outside bursts) */
};

struct pmw_leaks {
	struct pmw_census census;	/* the type census of heap scans (census.c) */
	struct pmw_obj *objs;		/* sorted by pool */
	int nobjs;
	struct pmw_stack_site *stacks;	/* sorted by stack hash */
	int nstacks, cap_stacks;
	struct pmw_site *sites;		/* sorted by key */
	int nsites, cap;
	struct pmw_code_cache *cc;
	double burst_s;			/* seconds spent sampling so far */
	double run_s;			/* seconds observed so far */
	bool burst;			/* sampling in the current interval */
	bool said_holders;		/* -v said why holders cannot be searched (pipeline.c) */
	unsigned int want_bursts;	/* intervals left during which bursts run */
	unsigned int bursts_skipped;	/* bursts missed: free probes not attached in time (load) */
	struct pmw_burst_cost cost;	/* --alloc-profile-budget accounting (burst.c) */
	uint64_t dropped;		/* samples and sites lost to full tables, not yet in a row */
	struct pmw_trend trend;		/* live heap and RSS over the last intervals */
	struct pmw_leak_score ps;
	struct pmw_walk walk;		/* heap walks: exact census, containers */
	struct pmw_containers ct;	/* containers followed across walks */
	struct pmw_advice_acc *advice;	/* what the walk under way collects for advice (advice.c) */
	struct pmw_advice_row *adv;	/* advice of the last complete walk, largest saving first */
	int nadv;
	struct pmw_growths growth;	/* growth sites of the leaking ones (growth.c) */
};

#endif
