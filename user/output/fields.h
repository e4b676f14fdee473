/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * THE field table: the per-PID, per-interval figures, one row each
 * (user/fields.c). CSV columns, JSON keys, the plain table's columns,
 * Prometheus metric families, `--help`'s column list and doc/outputs.md's column
 * table come from it; tests/unit/test_fields.c checks the man page's list and
 * doc/outputs.md against it. Adding a column is one row (plus its test).
 *
 * The first 21 CSV columns are a public interface (doc/outputs.md): never rename
 * or reorder them; add rows after them. Prometheus metric names are public too.
 *
 * Unavailable figures: a row's .avail predicate returns false when its
 * figure was not measured for a watch (the probe or scan it needs did not
 * run; e.g. `w->a.groups & PMW_G_LARGE` for the --large columns); a getter
 * may also set v->na. Outputs then write an empty CSV cell, JSON null, "n/a"
 * in the table, and leave the Prometheus sample out.
 */
#ifndef PMW_FIELDS_H
#define PMW_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "watch.h"

enum pmw_field_type { PMW_F_STR, PMW_F_U64, PMW_F_F64 };

/* What a getter reads. */
struct pmw_fsrc {
	const struct pmw_watch *w;	/* its last row (w->row) and state */
	const char *host;		/* host name */
	int gen;			/* GC generation 0..PMW_NGEN-1, for per-generation rows and labels */
};

/* One value, as a getter fills it (zeroed before the call; not called if unavailable). */
struct pmw_fval {
	bool na;			/* unavailable: not measured */
	const char *s;			/* PMW_F_STR; may point into buf; NULL = "" */
	uint64_t u;			/* PMW_F_U64 */
	double d;			/* PMW_F_F64 */
	const uint64_t *hist;		/* Prometheus histograms: PMW_HIST_SLOTS log2-ns slots */
	char buf[48];
};

typedef void (*pmw_field_get)(const struct pmw_fsrc *src, struct pmw_fval *v);

/* row flags */
enum {
	PMW_FF_PER_GEN	 = 1 << 0,	/* one column per GC generation: name and table head hold "%d" */
	PMW_FF_JSON_ONLY = 1 << 1,	/* a JSON key, not a CSV column */
	PMW_FF_PRECISION = 1 << 2,	/* exact or estimate, as the `precision` column says */
};

enum pmw_prom_type { PMW_PROM_NONE, PMW_PROM_GAUGE, PMW_PROM_COUNTER, PMW_PROM_HISTOGRAM };
/* extra label of a Prometheus sample */
enum pmw_prom_label { PMW_PL_NONE, PMW_PL_GEN, PMW_PL_PRECISION };

/* The Prometheus family a row feeds (name NULL: none). */
struct pmw_field_prom {
	const char *name;		/* public: never rename */
	enum pmw_prom_type type;
	enum pmw_prom_label label;	/* PMW_PL_GEN: one sample per generation (src->gen) */
	const char *help;
	/*
	 * The sample; NULL = the row's value (a gauge of the last interval).
	 * Counters count since attach. Histograms set ->hist (pauses, log2 ns)
	 * and ->d (their sum, seconds).
	 */
	pmw_field_get get;
	bool (*avail)(const struct pmw_watch *w); /* measured? NULL = the row's .avail */
};

/* how the plain table (output_table.c) prints a value */
enum pmw_table_fmt {
	PMW_TF_CLOCK,	/* ->u is a time_t: local HH:MM:SS, left-aligned; "exited" on a last row */
	PMW_TF_ID,	/* as is, left-aligned */
	PMW_TF_STR,	/* truncated to the width, left-aligned */
	PMW_TF_U64,	/* as is */
	PMW_TF_COUNT,	/* "1.2M" (pmw_fmt_count) */
	PMW_TF_RATE,	/* per second of the interval, "1.2M" */
	PMW_TF_BYTES,	/* "1.5M" (pmw_fmt_bytes) */
	PMW_TF_MS,	/* "12.34ms" */
};

/* The plain table's column of a row (head NULL: none), in table order. */
struct pmw_field_tbl {
	const char *head;		/* "%d" for PMW_FF_PER_GEN rows */
	int width;
	enum pmw_table_fmt fmt;
	pmw_field_get get;		/* NULL = the row's value; the row's .avail applies */
};

struct pmw_field {
	const char *name;		/* CSV column and JSON key */
	enum pmw_field_type type;
	int prec;			/* PMW_F_F64: digits after the point in CSV */
	const char *unit;		/* doc/outputs.md's unit column ("" none) */
	const char *help;		/* doc/outputs.md's meaning (Markdown) */
	pmw_field_get get;		/* NULL: read the member at @off */
	size_t off;			/* offsetof(struct pmw_watch, a uint64_t (U64) or double (F64)) */
	bool (*avail)(const struct pmw_watch *w); /* measured for @w? NULL: always */
	unsigned int flags;		/* PMW_FF_* */
	struct pmw_field_prom prom;
	struct pmw_field_tbl table;
};

extern const struct pmw_field pmw_fields[];
extern const int pmw_nfields;

/* The columns of a row: PMW_NGEN for PMW_FF_PER_GEN rows, else 1. */
int pmw_field_ncols(const struct pmw_field *f);

/* The name of column @gen of row @f ("gc_gen1") into @buf; returns @buf. */
const char *pmw_field_colname(const struct pmw_field *f, int gen, char *buf, size_t len);

/* @pattern (f->name, f->table.head) of row @f for generation @gen into @buf; returns @buf. */
const char *pmw_field_label(const struct pmw_field *f, const char *pattern, int gen, char *buf,
			    size_t len);

/* The row whose column is named @name (per-generation names too), or NULL. */
const struct pmw_field *pmw_field_find(const char *name);

/*
 * Fill @v with row @f's value for @src: v->na if @avail (NULL: f->avail)
 * says it was not measured, else through @get (an output's own getter of
 * the row), or when @get is NULL the row's getter or member.
 */
void pmw_field_value(const struct pmw_field *f, pmw_field_get get,
		     bool (*avail)(const struct pmw_watch *w), const struct pmw_fsrc *src,
		     struct pmw_fval *v);

/* Every column: row @f (const struct pmw_field *), generation @g (0 unless per-generation). */
#define pmw_for_each_col(f, g)								\
	for (const struct pmw_field *f = pmw_fields; f < pmw_fields + pmw_nfields; f++)	\
		for (int g = 0; g < pmw_field_ncols(f); g++)

/* `--help`'s column list, malloc'd (argp help_filter text), or NULL. */
char *pmw_fields_help(void);

/* doc/outputs.md's column table (Markdown, one line per row). */
void pmw_fields_markdown(FILE *f);

/* doc/pymemwatch.8's CSV column list (its CSV COLUMNS section starts with it). */
void pmw_fields_man(FILE *f);

#endif
