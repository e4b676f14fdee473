/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The targets of one run: resolved from -p / -- COMMAND, found by -a and
 * --follow as they come, taken on anew after an exec; the BPF object they
 * share; each interval's tick.
 */
#ifndef PMW_SESSION_H
#define PMW_SESSION_H

#include <stdbool.h>
#include <sys/types.h>
#include "command.h"
#include "discover.h"
#include "output.h"
#include "watch.h"

#define PMW_SELF_WIN	12	/* ticks of the window the total is bounded over (about 10 s at -i 1) */

struct pmw_session {
	struct pmw_bpf *skel;
	struct ring_buffer *rb;		/* GC events */
	struct pmw_watch *ws;		/* targets, in the order they came; may move (add) */
	int nws;
	size_t cap_ws;
	struct pmw_discover disc;	/* -a, --follow */
	struct pmw_outputs out;
	struct pmw_command cmd;		/* -- COMMAND */
	unsigned int groups;		/* PMW_G_*: the probe groups loaded */
	int stats_fd;			/* --bpf-stats: keeps kernel BPF statistics on; -1 = off */
	struct pmw_walk_budget walks;	/* --walk-budget, one for all targets */
	/* the heap scans of every interval, paid from the same budget (session.c scan_pace) */
	double scan_min_age;		/* each watch's scan_min_age: < 0 none paced */
	double scan_rate;		/* their CPU per second of wall, recent */
	double scan_cost;		/* CPU seconds per scan, recent */
	double cpu_last;		/* process CPU seconds at the last tick, 0 none yet */
	double credit_mark;		/* walks.credit just after that tick's earning */
	double rest_cpu_s;		/* CPU seconds charged by charge_rest (cumulative) */
	double other_rate;		/* that, attaches and -a's /proc scans per second, recent */
	double other_mark;		/* rest_cpu_s + attach_cpu_s + scan_proc_cpu_s at the last tick */
	/* the bound on the total (session.c self_window): the process's CPU, every thread and
	 * the kernel's time for it, at each of the last PMW_SELF_WIN ticks */
	double self_t[PMW_SELF_WIN], self_c[PMW_SELF_WIN];	/* CLOCK_MONOTONIC, CPU seconds */
	unsigned int self_n;		/* ticks recorded */
	double self_rate;		/* CPU per second of wall over them, 0 unknown yet */
	double forgiven_s;		/* CPU seconds of debt older than the window, forgiven */
	double self_c0, self_t0;	/* CPU and CLOCK_MONOTONIC at the first tick */
	unsigned int ticks_over;	/* ticks that found it over the budget (walks.over) */
	int scan_quota;			/* paced: scans of unmoved targets left this tick */
	double attach_cpu_s;		/* CPU seconds of the attaches while running (add_target) */
	unsigned int attaches;		/* ... how many */
	unsigned int attaches_deferred;	/* processes found by -a left for a later interval */
	double scan_proc_cpu_s;		/* CPU seconds of -a's scans of /proc */
	unsigned int scans_proc;	/* ... how many */
	char host[256];
};

/* Empty session: nothing open. */
void pmw_session_init(struct pmw_session *s);

/*
 * -p PIDs are opened (not attached), -- COMMAND is forked and held; -a
 * starts empty. Returns 0 or PMW_EXIT_* (error named).
 */
int pmw_session_resolve(struct pmw_session *s);

/*
 * Open and load the BPF programs the targets (and those that may come)
 * need, then configure and attach each target. Returns 0 or PMW_EXIT_*.
 */
int pmw_session_load(struct pmw_session *s);

/*
 * Open the outputs, take each target's baseline, look for targets (-a,
 * --follow), say what is watched and release the command. Call after the
 * privileges are dropped (outputs may start threads). 0 or PMW_EXIT_*.
 */
int pmw_session_start(struct pmw_session *s);

/*
 * Wait up to @timeout_s for GC events (handled as they come) and for keys.
 * Returns 1 if the user asked to quit, 0, or -errno if polling failed.
 */
int pmw_session_poll(struct pmw_session *s, double timeout_s);

/*
 * Close the interval (@interval_s long) for every live target and hand the
 * rows to the outputs; then take on new targets unless @stopping. Returns
 * how many targets are still alive (1 with -a: it runs until stopped), or
 * -EIO when an output failed.
 */
int pmw_session_tick(struct pmw_session *s, double interval_s, bool stopping);

/* When a burst ended: the first look at its samples (pmw_leaks_look()). */
void pmw_session_samples_look(struct pmw_session *s);

/* Is a target still alive (so that a last, partial interval is worth a tick)? */
bool pmw_session_any_live(const struct pmw_session *s);

/*
 * End of run: outputs finish and close, --bpf-stats, then the summary (or
 * the ranking, -a) on stdout, or stderr when data goes to stdout.
 */
void pmw_session_finish(struct pmw_session *s);

/* Say @fmt on the screen output, or on stderr. */
void pmw_session_note(struct pmw_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Detach, close and free everything; the command is killed if still there. */
void pmw_session_close(struct pmw_session *s);

#endif
