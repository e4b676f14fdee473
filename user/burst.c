// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sampled allocation profile's bursts (burst.h), for targets whose heap grew lately
 * (or always, with --alloc-profile always), with the pool-refill probe in place
 * (--mode full): at most every period, for BURST_LEN, stacks are sampled
 * at pool refills and object-free probes follow the sampled objects. The
 * refill's return probe that samples (pmw_pool_sample) is attached with the
 * free probes (PMW_G_BURST), so outside bursts refills cost only the entry
 * probe that counts them. The probes stay BURST_GRACE longer, so that
 * objects born at the end can still die.
 *
 * --alloc-profile-budget bounds the target's slowdown, not the share of time. While
 * burst probes are on (from the start of their attach to the end of their
 * asynchronous detach: ~2 s for a 0.5 s burst), every object free traps:
 * allocation-heavy code runs ~10-28x slower, so the target makes next to no
 * progress and all the CPU time it uses then (/proc/PID/stat, sampled at
 * every tick and around bursts) is charged to the bursts (lost_s). Its CPU
 * time outside them is its work (work_s) and earns --alloc-profile-budget of it as
 * credit, banked for at most CREDIT_WINDOW of work. A burst starts only when
 * the credit covers what the last one cost, scaled to the target's CPU use
 * now, so lost_s stays <= budget x work_s + CREDIT_START and the slowdown
 * <= 1 + budget (an idle target pays ~nothing and gets a burst every
 * period; one that saturates a CPU gets one every ~(window / budget) s).
 * No burst starts before the target's CPU rate was measured (0.5 s outside
 * bursts): with the rate unknown (0), a busy target's first burst passed as
 * free and cost it 1.26 s of CPU (bench.py's profile configuration,
 * json_dumps on Debian 3.11: 1.42x the unwatched run).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "burst.h"
#include "env.h"
#include "log.h"
#include "probes.h"
#include "pymemwatch.skel.h"
#include "util.h"

#define BURST_PERIOD_MIN	5.0	/* s */
#define BURST_LEN	0.5	/* s of sampling per burst */
#define CREDIT_WINDOW	60.0	/* s of the target's work whose budget may be banked */
#define WINDOW_GUESS	(4 * BURST_LEN)	/* s probes are on per burst, before one was measured */
#define CREDIT_START	0.1	/* s of target CPU time the first burst may cost: enough for an
				 * idle or lightly loaded target (~2 s window at <= 5% CPU) */
#define BURST_GRACE		0.05	/* s */
#define GROWTH_MIN	(64 << 10) /* bytes of heap growth over 5 intervals that start bursts */
#define BURST_HOLD	30	/* intervals bursts go on after growth was last seen */

unsigned int pmw_bursts_groups(unsigned int groups)
{
	if ((groups & PMW_G_HEAP) && env.profile_mode != PMW_PROFILE_OFF)
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

/* The CPU seconds (user + system) of process @pid, all threads (/proc/PID/stat); -errno. */
static int target_cpu(pid_t pid, double *cpu)
{
	static long hz;
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	int ok;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	ok = p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2;
	if (!ok)
		return -EINVAL;
	*cpu = (double)(ut + st) / hz;
	return 0;
}

/*
 * The target's CPU rate outside bursts, over spans of >= 0.5 s (however
 * short the interval; a burst restarts the span): its first measure is the
 * rate, later ones are averaged in.
 */
static void rate_sample(struct pmw_burst_cost *c, double cpu, double now)
{
	double dt = now - c->rate_at;

	if (!c->rate_at) {
		c->rate_at = now;
		c->rate_cpu = cpu;
		return;
	}
	if (dt < 0.5)
		return;
	c->cpu_rate = c->rated ? 0.5 * c->cpu_rate + 0.5 * (cpu - c->rate_cpu) / dt :
				 (cpu - c->rate_cpu) / dt;
	c->rated = true;
	c->rate_at = now;
	c->rate_cpu = cpu;
}

/*
 * Charge @w's bursts for the target's CPU time since the last sample
 * (@now): all of it while burst probes were on; otherwise it is work and
 * earns --alloc-profile-budget of it as credit.
 */
static void account(struct pmw_watch *w, double now)
{
	struct pmw_burst_cost *c = &w->leaks.cost;
	double cpu;

	if (w->exited || target_cpu(w->t.pid, &cpu))
		return;
	if (c->sampled) {
		double dc = cpu - c->cpu, dt = now - c->at;

		if (c->live) {
			c->rate_at = 0;	/* the rate is the target's own, outside bursts */
			c->lost_s += dc;
			c->credit_s -= dc;
			c->live_s += dt;
			c->win_s += dt;
		} else {
			c->work_s += dc;
			c->credit_s += env.profile_budget * dc;
			if (c->credit_s > env.profile_budget * CREDIT_WINDOW)
				c->credit_s = env.profile_budget * CREDIT_WINDOW;
			rate_sample(c, cpu, now);
		}
	}
	if (!c->sampled)
		c->credit_s = CREDIT_START;
	c->cpu = cpu;
	c->at = now;
	c->sampled = true;
	/* the probes of an asynchronous detach hit until the kernel has removed them */
	c->live = w->burst_a.nlinks || (c->live && pmw_probes_detaching() > 0);
	if (!c->live && c->win_s > 0) {
		dlog("PID %d: burst probes off after %.2f s on; the bursts cost %.3f s of CPU so far, "
		     "work %.3f s, credit %.3f s\n", w->t.pid, c->win_s, c->lost_s, c->work_s, c->credit_s);
		c->win_last = c->win_s;
		c->win_s = 0;
	}
}

/* What the next burst will likely cost @w: the last one's window at its CPU use now. */
static double expected_cost(const struct pmw_burst_cost *c)
{
	return (c->win_last > 0 ? c->win_last : WINDOW_GUESS) * c->cpu_rate;
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
	const double *heap = l->trend.heap_hist;
	int n = l->trend.nhist, grew = 0;

	if (n >= 5) {
		for (int i = n - 4; i < n; i++)
			grew += heap[i] > heap[i - 1];
		if (grew >= 3 && heap[n - 1] - heap[n - 5] > GROWTH_MIN)
			l->want_bursts = BURST_HOLD;
	}
	if (l->want_bursts)
		l->want_bursts--;
}

static bool wants_burst(const struct pmw_watch *w)
{
	return !w->exited && (w->a.groups & PMW_G_HEAP) && w->t.pv->walk.tstate_kind &&
	       env.profile_mode != PMW_PROFILE_OFF &&
	       (env.profile_mode == PMW_PROFILE_ALWAYS || w->leaks.want_bursts);
}

static void start(struct pmw_bursts *b, struct pmw_bpf *skel, struct pmw_watch *ws, int n,
		  double now)
{
	int fd = bpf_map__fd(skel->maps.pmw_targets);
	double period = env.interval > BURST_PERIOD_MIN ? env.interval : BURST_PERIOD_MIN;
	double len = BURST_LEN < period / 2 ? BURST_LEN : period / 2;
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
		account(w, now);
		if (!w->leaks.cost.rated)
			continue;	/* what a burst would cost it is not known yet */
		if (w->leaks.cost.credit_s < expected_cost(&w->leaks.cost)) {
			/* the bursts would cost the target more than --alloc-profile-budget allows yet */
			w->leaks.cost.bursts_budget++;
			continue;
		}
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
		w->leaks.cost.live = true;
		w->leaks.cost.bursts++;
		dlog("PID %d: burst on (%d free probes; attach so far %.3f s; cost so far %.3f s, credit %.3f s)\n",
		     w->t.pid, w->burst_a.nlinks, spent, w->leaks.cost.lost_s, w->leaks.cost.credit_s);
		any = true;
	}
	b->start = now;
	b->end = any ? now + len : 0;
	b->next = now + period;
}

bool pmw_bursts_timers(struct pmw_bursts *b, struct pmw_watch *ws, int n, int targets_fd,
		       double now)
{
	bool ended = false;

	if (b->end && now >= b->end) {
		for (int i = 0; i < n; i++) {
			if (!ws[i].leaks.burst)
				continue;
			set_sampling(targets_fd, &ws[i], false);
			ws[i].leaks.burst_s += now - b->start;
			account(&ws[i], now);
		}
		b->end = 0;
		b->grace_end = now + BURST_GRACE;
		ended = true;
	}
	if (b->grace_end && now >= b->grace_end) {
		for (int i = 0; i < n; i++)
			pmw_probes_detach_async(&ws[i].burst_a);
		b->grace_end = 0;
	}
	return ended;
}

void pmw_bursts_tick(struct pmw_bursts *b, struct pmw_bpf *skel, struct pmw_watch *ws, int n,
		     double now)
{
	for (int i = 0; i < n; i++)
		if (!ws[i].exited) {
			update_want(&ws[i].leaks);
			account(&ws[i], now);
		}
	if (!b->end && !b->grace_end && now >= b->next)
		start(b, skel, ws, n, now);
}

void pmw_bursts_report(FILE *f, struct pmw_watch *ws, int n)
{
	double now = pmw_now_s();

	for (int i = 0; i < n; i++) {
		struct pmw_watch *w = &ws[i];
		const struct pmw_burst_cost *c = &w->leaks.cost;
		const struct pmw_walk_stats *st = &w->leaks.walk.last_stats;

		account(w, now);
		fprintf(f, "pymemwatch: cost-stats: pid=%d bursts=%u bursts_budget=%u burst_s=%.3f "
			"probes_s=%.3f lost_s=%.3f work_s=%.3f credit_s=%.3f walks=%" PRIu64
			" walk_cpu_s=%.4f walk_copy_s=%.4f walk_wall_s=%.4f walk_read_bytes=%" PRIu64
			" walk_objects=%" PRIu64 "\n",
			w->t.pid, c->bursts, c->bursts_budget, w->leaks.burst_s, c->live_s, c->lost_s,
			c->work_s, c->credit_s, w->leaks.walk.walks, st->cpu_s, st->copy_s, st->wall_s,
			st->bytes_read, st->objects);
	}
}
