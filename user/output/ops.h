/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What one output is: its operations and its state. Each output_<name>.c
 * defines a struct pmw_output_ops; the registry (output.c, output.h) lists
 * them, so an output includes this header and never output.h.
 */
#ifndef PMW_OPS_H
#define PMW_OPS_H

#include <stdbool.h>
#include <stdio.h>
#include "watch.h"

struct pmw_output;

/* how an output is chosen, and what its argument is */
enum pmw_output_kind {
	PMW_OUT_SCREEN,		/* no option: the view on stdout, when no data goes there */
	PMW_OUT_FILE,		/* --NAME FILE: the registry creates o->f ("-" = stdout) */
	PMW_OUT_ARG,		/* --NAME ARG: handed to open() as given, checked by arg_ok */
};

struct pmw_output_ops {
	const char *name;		/* also the long option: --NAME */
	enum pmw_output_kind kind;
	const char *arg;		/* the argument's name in --help: "FILE", "ADDR:PORT" */
	const char *help;		/* the option's --help line */
	/* PMW_OUT_ARG: is @arg well formed (checked while parsing)? @expect names what is */
	bool (*arg_ok)(const char *arg);
	const char *expect;
	/*
	 * 0 or -errno; @arg is the option's argument or NULL (screen). For
	 * PMW_OUT_FILE, o->f and o->path are set before; NULL = nothing to do.
	 */
	int (*open)(struct pmw_output *o, const char *arg);
	/* every watch that produced a row this interval; 0 or -errno; optional */
	int (*interval)(struct pmw_output *o, struct pmw_watch **ws, int n);
	/* a note for the user (target attached, exited): outputs that own the screen show it */
	void (*note)(struct pmw_output *o, const char *msg);
	/* end of run, before close: every watch in its final state (optional) */
	void (*finish)(struct pmw_output *o, struct pmw_watch **ws, int n);
	/* end of run: release; optional (PMW_OUT_FILE: o->f is closed after it) */
	void (*close)(struct pmw_output *o);
	/* keyboard (TUI): returns 1 if the user asked to quit */
	int (*poll_keys)(struct pmw_output *o);
};

struct pmw_output {
	const struct pmw_output_ops *ops;
	FILE *f;
	void *priv;
	char path[4096];
	char host[256];
	double interval;
	bool rank;			/* -a: one ranked line per process, not a block per target */
};

/* --prometheus: the exposition of @ws (those that did not exit) into @f */
void pmw_prom_render(FILE *f, struct pmw_watch **ws, int n);

#endif
