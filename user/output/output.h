/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Outputs: one registry (output.c). Each output declares its command-line
 * option, help line and how its argument is taken; the options, their
 * parsing and the opening of the outputs come from the registry. To add a
 * format, write user/output_<name>.c with a struct pmw_output_ops and add
 * one line to PMW_OUTPUTS (output.c).
 */
#ifndef PMW_OUTPUT_H
#define PMW_OUTPUT_H

#include <argp.h>
#include <stdio.h>
#include "watch.h"

#define PMW_MAX_OUTPUTS	16

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

/* --prometheus: the exposition of @ws (those that did not exit) into @f */
void pmw_prom_render(FILE *f, struct pmw_watch **ws, int n);

/* Summary per PID, printed at the end of every run (stdout). */
void pmw_print_summary(FILE *f, struct pmw_watch **ws, int n);

/* sort keys of the ranking (-a) */
enum pmw_rank_key { PMW_RANK_SCORE, PMW_RANK_HEAP, PMW_RANK_RSS, PMW_RANK_GROWTH, PMW_RANK_PID,
		    PMW_RANK_NKEYS };
extern const char *const pmw_rank_key_names[PMW_RANK_NKEYS];

/* @ws sorted by @key, best first (in place). */
void pmw_rank(struct pmw_watch **ws, int n, enum pmw_rank_key key);

/*
 * One line per process, ranked by leak score (-a): the sweep. @header
 * prints the column names first. Lines are under 100 columns.
 */
void pmw_print_ranking(FILE *f, struct pmw_watch **ws, int n, bool header);
/* The same line for one process, into @buf. */
void pmw_format_rank_line(char *buf, size_t len, const struct pmw_watch *w);
extern const char pmw_rank_header[];

#endif
