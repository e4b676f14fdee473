/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Outputs: one registry; to add a format, write user/output_<name>.c with a
 * struct pmw_output_ops and list it in pmw_outputs[] (output.c).
 */
#ifndef PMW_OUTPUT_H
#define PMW_OUTPUT_H

#include <stdio.h>
#include "watch.h"

struct pmw_output;

struct pmw_output_ops {
	const char *name;
	/* 0 or -errno; @arg is the option's value (a file name) or NULL */
	int (*open)(struct pmw_output *o, const char *arg);
	/* every watch that produced a row this interval; 0 or -errno */
	int (*interval)(struct pmw_output *o, struct pmw_watch **ws, int n);
	/* a note for the user (target attached, exited): outputs that own the screen show it */
	void (*note)(struct pmw_output *o, const char *msg);
	/* end of run, before close: every watch in its final state (optional) */
	void (*finish)(struct pmw_output *o, struct pmw_watch **ws, int n);
	/* end of run: flush and release; NULL-safe */
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
};

extern const struct pmw_output_ops pmw_out_csv, pmw_out_table, pmw_out_tui, pmw_out_csv_sites,
	pmw_out_flamegraph, pmw_out_json, pmw_out_prometheus;

/* Create @path for writing ("-" = stdout), never following a symlink; NULL + errno on failure. */
FILE *pmw_output_create(const char *path);

/* Flush and close o->f (stdout is only flushed); an error is reported once. */
void pmw_output_close_file(struct pmw_output *o);

/* "file:line" of a site's innermost frame */
void pmw_site_name(const struct pmw_site *s, char *buf, size_t len);
/* collapsed stack "file:func:line;..." outermost first */
void pmw_site_stack(const struct pmw_site *s, char *buf, size_t len);

/* The output named @name, or NULL. */
const struct pmw_output_ops *pmw_output_find(const char *name);

/* --prometheus: is @arg a valid ADDR:PORT, [IPV6]:PORT or :PORT? */
bool pmw_prometheus_addr_ok(const char *arg);

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
