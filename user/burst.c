// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Leak-attribution bursts (burst.h), for targets whose heap grew lately
 * (or always, with --leaks always), with the pool-refill probe in place
 * (--mode full): every period, for --leak-budget of it, stacks are sampled
 * at pool refills and object-free probes follow the sampled objects. The
 * free probes stay BURST_GRACE longer, so that objects born at the end can
 * still die.
 */
#include <bpf/libbpf.h>
#include "burst.h"
#include "env.h"
#include "log.h"
#include "probes.h"
#include "pymemwatch.skel.h"
#include "util.h"

#define BURST_PERIOD_MIN	5.0	/* s */
#define BURST_GRACE		0.05	/* s */
#define GROWTH_MIN	(64 << 10) /* bytes of heap growth over 5 intervals that start bursts */
#define BURST_HOLD	30	/* intervals bursts go on after growth was last seen */

unsigned int pmw_bursts_groups(unsigned int groups)
{
	if ((groups & PMW_G_HEAP) && env.leak_mode != PMW_LEAKS_OFF)
		groups |= PMW_G_BURST;	/* attached during bursts only */
	return groups;
}

double pmw_bursts_wake_by(const struct pmw_bursts *b, double t)
{
	if (b->end && b->end < t)
		t = b->end;
	if (b->grace_end && b->grace_end < t)
		t = b->grace_end;
	return t;
}

/* Start or stop sampling stacks for @w (the sampling flag of its configuration). */
static int set_sampling(int targets_fd, struct pmw_watch *w, bool on)
{
	w->leaks.burst = on;
	if (w->cfg.sampling == on)
		return 0;
	w->cfg.sampling = on;
	return pmw_watch_write_cfg(w, targets_fd, false);
}

/* bursts: on while the heap grows (3 of the last 4 intervals), and BURST_HOLD intervals after */
static void update_want(struct pmw_leaks *l)
{
	int n = l->nhist, grew = 0;

	if (n >= 5) {
		for (int i = n - 4; i < n; i++)
			grew += l->heap_hist[i] > l->heap_hist[i - 1];
		if (grew >= 3 && l->heap_hist[n - 1] - l->heap_hist[n - 5] > GROWTH_MIN)
			l->want_bursts = BURST_HOLD;
	}
	if (l->want_bursts)
		l->want_bursts--;
}

static bool wants_burst(const struct pmw_watch *w)
{
	return !w->exited && (w->a.groups & PMW_G_HEAP) && w->t.pv->walk.tstate_kind &&
	       env.leak_mode != PMW_LEAKS_OFF &&
	       (env.leak_mode == PMW_LEAKS_ALWAYS || w->leaks.want_bursts);
}

static void start(struct pmw_bursts *b, struct pmw_bpf *skel, struct pmw_watch *ws, int n,
		  double now)
{
	int fd = bpf_map__fd(skel->maps.pmw_targets);
	double period = env.interval > BURST_PERIOD_MIN ? env.interval : BURST_PERIOD_MIN;
	/*
	 * Attaching the free probes holds this loop: 0.1-0.4 s per target
	 * alone, up to 4 s while earlier detaches are still in the kernel
	 * (measured with 5 busy targets). So attach only while no detach is
	 * in flight and within a quarter of an interval. A target left without
	 * free probes skips this burst: sampling it blind would take objects
	 * that die into free lists for survivors. Targets are taken round-robin
	 * so that under load each one's bursts get sparser, none starves.
	 */
	bool busy = pmw_probes_detaching() > 0;
	double spent = 0;
	bool any = false;

	for (int k = 0; k < n; k++) {
		int i = (b->rr + k) % n;
		struct pmw_watch *w = &ws[i];

		if (!wants_burst(w))
			continue;
		if (!w->burst_a.nlinks) {
			double t0 = pmw_now_s();

			if (busy || spent >= env.interval / 4) {
				w->leaks.bursts_skipped++;
				continue;
			}
			pmw_probes_attach(skel, &w->t, PMW_G_BURST, &w->burst_a);
			spent += pmw_now_s() - t0;
			b->rr = i + 1;
		}
		set_sampling(fd, w, true);
		dlog("PID %d: burst on (%d free probes; attach so far %.3f s)\n", w->t.pid,
		     w->burst_a.nlinks, spent);
		any = true;
	}
	b->start = now;
	b->end = any ? now + env.leak_budget * period : 0;
	b->next = now + period;
}

void pmw_bursts_timers(struct pmw_bursts *b, struct pmw_watch *ws, int n, int targets_fd,
		       double now)
{
	if (b->end && now >= b->end) {
		for (int i = 0; i < n; i++) {
			if (!ws[i].leaks.burst)
				continue;
			set_sampling(targets_fd, &ws[i], false);
			ws[i].leaks.burst_s += now - b->start;
		}
		b->end = 0;
		b->grace_end = now + BURST_GRACE;
	}
	if (b->grace_end && now >= b->grace_end) {
		for (int i = 0; i < n; i++)
			pmw_probes_detach_async(&ws[i].burst_a);
		b->grace_end = 0;
	}
}

void pmw_bursts_tick(struct pmw_bursts *b, struct pmw_bpf *skel, struct pmw_watch *ws, int n,
		     double now)
{
	for (int i = 0; i < n; i++)
		if (!ws[i].exited)
			update_want(&ws[i].leaks);
	if (!b->end && !b->grace_end && now >= b->next)
		start(b, skel, ws, n, now);
}
