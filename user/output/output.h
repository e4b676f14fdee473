/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Outputs: one registry (output.c). Each output declares its command-line
 * option, help line and how its argument is taken; the options, their
 * parsing and the opening of the outputs come from the registry. To add a
 * format, write user/output/output_<name>.c with a struct pmw_output_ops
 * (ops.h: an output includes that, never this file) and add one line to
 * PMW_OUTPUTS (output.c).
 */
#ifndef PMW_OUTPUT_H
#define PMW_OUTPUT_H

#include <argp.h>
#include <stdio.h>
#include "ops.h"
#include "summary.h"
#include "watch.h"

#define PMW_MAX_OUTPUTS	16

/* The outputs of one run, in the registry's order. */
struct pmw_outputs {
	struct pmw_output o[PMW_MAX_OUTPUTS];
	int n;
};

/*
 * argp: one option per output that has one (group @group, keys @key0 +
 * registry index) into @opts, which has room for PMW_MAX_OUTPUTS; returns
 * how many were written.
 */
int pmw_outputs_argp_options(struct argp_option *opts, int group, int key0);
/* argp: take the argument of such an option; ARGP_ERR_UNKNOWN if @key is not one */
error_t pmw_outputs_parse_opt(int key, int key0, char *arg, struct argp_state *state);

/* The argument given to output @name, or NULL; set replaces it (NULL = none). */
const char *pmw_output_arg(const char *name);
void pmw_output_set_arg(const char *name, const char *arg);

/* Does an output given on the command line write its data to stdout ("-")? */
bool pmw_outputs_on_stdout(void);

/*
 * Open every output given on the command line, then screen output @screen
 * ("tui", "table"; NULL = none) unless data goes to stdout; if @screen
 * cannot open, "table". @host, @interval and @rank are handed to each (so
 * that no output reads the command line). Returns 0, or -errno after
 * naming the output that failed (those open stay in @os).
 */
int pmw_outputs_open(struct pmw_outputs *os, const char *screen, const char *host,
		     double interval, bool rank);
/* Hand the interval's rows to every output; 0, or the first -errno (each failure named). */
int pmw_outputs_interval(struct pmw_outputs *os, struct pmw_watch **ws, int n);
/* Show @msg on an output that owns the screen; false if none does. */
bool pmw_outputs_note(struct pmw_outputs *os, const char *msg);
/* Keyboard of the screen output: true if the user asked to quit. */
bool pmw_outputs_poll_keys(struct pmw_outputs *os);
/* End of run: finish, then close every output (last opened first); idempotent. */
void pmw_outputs_finish(struct pmw_outputs *os, struct pmw_watch **ws, int n);
void pmw_outputs_close(struct pmw_outputs *os);

/* Create @path for writing ("-" = stdout), never following a symlink; NULL + errno on failure. */
FILE *pmw_output_create(const char *path);

/* Flush and close o->f (stdout is only flushed); an error is reported once. */
void pmw_output_close_file(struct pmw_output *o);

#endif
