/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampled allocation profile's bursts (--alloc-profile auto|always): ALL
 * their policy. Which targets get them (the heap grew lately, or always),
 * when (at most once a period, while what they cost the target stays within
 * --alloc-profile-budget), with which probes (the object-free probes,
 * attached only for the burst and BURST_GRACE after it), and what is skipped
 * under load.
 */
#ifndef PMW_BURST_H
#define PMW_BURST_H

#include <stdio.h>
#include "watch.h"

struct pmw_bpf;

/* The burst schedule of one run; all times CLOCK_MONOTONIC seconds, 0 = none. */
struct pmw_bursts {
	double start, end;		/* the current burst */
	double grace_end;		/* the free probes go at this time */
	double next;			/* earliest start of the next burst */
	int rr;				/* the target served first at the next start */
};

/* The probe groups to load for @groups (PMW_G_*): the burst probes where bursts may run. */
unsigned int pmw_bursts_groups(unsigned int groups);

/* The earlier of @t and the next time the bursts need the loop awake. */
double pmw_bursts_wake_by(const struct pmw_bursts *b, double t);

/*
 * At every wake-up (@now): end the burst, or its grace, when due. Returns
 * true when a burst ended now: sampling is off and the free probes are on
 * until the grace ends (the time for pmw_session_samples_look()).
 */
bool pmw_bursts_timers(struct pmw_bursts *b, struct pmw_watch *ws, int n, int targets_fd,
		       double now);

/*
 * After each tick (@now): update each target's wish for bursts from its
 * heap history, then start a burst for the targets that want one when it
 * is due (attaching their free probes: @skel).
 */
void pmw_bursts_tick(struct pmw_bursts *b, struct pmw_bpf *skel, struct pmw_watch *ws, int n,
		     double now);

/*
 * With --bpf-stats, at exit: one "pymemwatch: cost-stats:" line per target
 * on @f: bursts run and skipped for the budget, seconds sampled and with
 * burst probes on, the target's CPU time charged to them (lost_s) and its
 * CPU time outside them (work_s), the credit left, and the last heap walk's
 * CPU and wall time, bytes read and objects found (walks = walks completed).
 */
void pmw_bursts_report(FILE *f, struct pmw_watch *ws, int n);

#endif
