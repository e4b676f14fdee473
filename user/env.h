/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line: struct pmw_env and its argp parser. */
#ifndef PMW_ENV_H
#define PMW_ENV_H

#include <stdbool.h>

#define PMW_MAX_PIDS 256

/* --mode: which signals, and so what the target pays */
enum pmw_mode {
	PMW_MODE_GC,	/* GC probes only */
	PMW_MODE_HEAP,	/* + heap scans from userspace (no probe on allocation paths) */
	PMW_MODE_FULL,	/* + pymalloc pool-refill probe (allocation estimates); default */
};

/* --alloc-profile (old spelling --leaks): when the sampled allocation profile's bursts run */
enum { PMW_PROFILE_AUTO, PMW_PROFILE_ALWAYS, PMW_PROFILE_OFF };

struct pmw_env {
	int pids[PMW_MAX_PIDS];		/* -p */
	int npids;
	bool all;			/* -a: every CPython process on the host, as they come and go */
	bool follow;			/* --follow: also the Python descendants of -p PIDs / COMMAND */
	char **command;			/* -- COMMAND [ARG...], NULL-terminated */
	double interval;		/* -i, seconds (> 0) */
	double duration;		/* -d, seconds; 0 = until Ctrl-C or all targets exit */
	/* the outputs' options (--csv FILE ...): output.h, pmw_output_arg() */
	bool exact;			/* --exact */
	bool large;			/* --large: libc malloc family probes */
	enum pmw_mode mode;		/* --mode */
	bool bpf_stats;			/* --bpf-stats: print BPF run time per program at exit */
	int stack_depth;		/* --stack-depth: Python frames per sample */
	double profile_budget;		/* --alloc-profile-budget: target slowdown bursts may cost (0.05 = 5%) */
	bool no_growth_sites;		/* --growth-sites off: no hardware watchpoints on leaks */
	double walk_budget;		/* --walk-budget: fraction of one CPU for heap walks (0..1) */
	int profile_mode;		/* --alloc-profile: PMW_PROFILE_* */
	const char *report;		/* --report FILE: HTML report at the end */
	int verbosity;			/* -v: +1 each */
	bool mode_set;			/* --mode given (else -a defaults to heap, -p to full) */
	bool quiet;			/* -q: no interval tables or live view */
	bool no_tui;			/* --no-tui: plain tables even on a terminal */
};

extern struct pmw_env env;

/* Parse argv into env. Exits with PMW_EXIT_USAGE on bad input (argp). */
void pmw_env_parse(int argc, char **argv);

/* Every command-line option, argp's table ending with an all-zero entry: the
 * fixed ones, then the outputs' (output.c). For the docs' and completion's checks. */
struct argp_option;
const struct argp_option *pmw_env_options(void);

#endif
