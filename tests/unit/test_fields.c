// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The field table (user/output/fields.c) and what must agree with it: the public
 * first 21 CSV columns, doc/outputs.md's column table, doc/sweep-and-fleet.md's
 * Prometheus table, doc/pymemwatch.8's column
 * list, `--help`'s list and the keys the HTML report (user/report.c) reads.
 * Run from the repository root (scripts/run-tests.sh does). After adding a
 * row, `PMW_GOLDEN_UPDATE=1 .output/tests/test_fields` rewrites doc/outputs.md's
 * table and the man page's list from it (review the diff).
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fields.h"
#include "util.h"

#define COLUMNS_DOC	"doc/outputs.md"
#define PROM_DOC	"doc/sweep-and-fleet.md"
#define MANPAGE		"doc/pymemwatch.8"
#define REPORT_C	"user/output/report.c"
#define COLUMNS_HEAD	"| column | unit | meaning |\n"
#define MAN_HEAD	".SH CSV COLUMNS\n"

static bool updating(void)
{
	const char *u = getenv("PMW_GOLDEN_UPDATE");

	return u && !strcmp(u, "1");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		fail_msg("%s: %s (run from the repository root)", path, strerror(errno));
	if (getdelim(&buf, &len, 0, f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

static char *render(void (*fn)(FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fn(f);
	assert_int_equal(fclose(f), 0);
	return text;
}

/*
 * [@from, @end) of @path's text @doc must be @want; PMW_GOLDEN_UPDATE=1
 * writes @want there instead. @what names the part in messages.
 */
static void check_doc(const char *path, const char *what, char *doc, const char *from,
		      const char *end, const char *want)
{
	FILE *f;

	if (!updating()) {
		if ((size_t)(end - from) == strlen(want) && !strncmp(from, want, end - from))
			return;
		printf("%s's %s should read:\n%s", path, what, want);
		fail_msg("%s's %s differs from the field table (user/output/fields.c); "
			 "PMW_GOLDEN_UPDATE=1 .output/tests/test_fields rewrites it", path, what);
	}
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(doc, 1, from - doc, f);
	fputs(want, f);
	fputs(end, f);
	assert_int_equal(fclose(f), 0);
	printf("updated %s\n", path);
}

static void test_public_columns(void **state)
{
	/* doc/outputs.md: the first 21 CSV columns never change name or place */
	static const char *const pub[] = {
		"time", "host", "pid", "comm", "python", "interval_s", "allocs", "alloc_bytes",
		"frees", "live_bytes", "arena_bytes", "rss_bytes", "gc_gen0", "gc_gen1", "gc_gen2",
		"gc_collected", "gc_uncollectable", "gc_pause_ms_total", "gc_pause_ms_max",
		"precision", "dropped",
	};
	char col[64];
	int n = 0;

	pmw_for_each_col(f, g) {
		if (f->flags & PMW_FF_JSON_ONLY)
			continue;
		if (n < (int)ARRAY_SIZE(pub))
			assert_string_equal(pmw_field_colname(f, g, col, sizeof(col)), pub[n]);
		n++;
	}
	assert_true(n >= (int)ARRAY_SIZE(pub));
	/* JSON-only rows come after every CSV column (CSV order = table order) */
	for (int i = 1; i < pmw_nfields; i++)
		assert_false((pmw_fields[i - 1].flags & PMW_FF_JSON_ONLY) &&
			     !(pmw_fields[i].flags & PMW_FF_JSON_ONLY));
}

static void test_rows_well_formed(void **state)
{
	char a[64], b[64];

	pmw_for_each_col(f, g) {
		const char *name = pmw_field_colname(f, g, a, sizeof(a));

		assert_true(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name));
		assert_true(f->get || f->type != PMW_F_STR);	/* else a uint64_t or double member */
		assert_non_null(f->unit);
		assert_true(f->help && *f->help);
		assert_true(f->prec >= 0 && f->prec <= 6);
		/* per-generation rows: one "%d" in the name and the table head */
		assert_int_equal(!!strstr(f->name, "%d"), !!(f->flags & PMW_FF_PER_GEN));
		if (f->table.head)
			assert_int_equal(!!strstr(f->table.head, "%d"), !!(f->flags & PMW_FF_PER_GEN));
		assert_ptr_equal(pmw_field_find(name), f);
		/* unique: no other column has this name */
		pmw_for_each_col(o, h)
			if (o != f || h != g)
				assert_string_not_equal(name, pmw_field_colname(o, h, b, sizeof(b)));
	}
	assert_null(pmw_field_find("no_such_column"));
	/* Prometheus families: public names, unique, typed */
	for (int i = 0; i < pmw_nfields; i++) {
		const struct pmw_field_prom *p = &pmw_fields[i].prom;

		if (!p->name)
			continue;
		assert_int_equal(strncmp(p->name, "pymemwatch_", 11), 0);
		assert_true(p->type != PMW_PROM_NONE && p->help && *p->help);
		assert_true(p->type != PMW_PROM_HISTOGRAM || p->get);
		for (int j = 0; j < i; j++)
			assert_false(pmw_fields[j].prom.name && !strcmp(pmw_fields[j].prom.name, p->name));
	}
}

/* doc/outputs.md's "CSV columns" table is the one pmw_fields_markdown() writes */
static void test_readme_table(void **state)
{
	char *doc = slurp(COLUMNS_DOC), *want = render(pmw_fields_markdown);
	char *from = strstr(doc, "## CSV columns\n"), *end;

	assert_non_null(from);
	from = strstr(from, COLUMNS_HEAD);
	assert_non_null(from);
	/* the table: every line from the head that starts with '|' */
	for (end = from; *end == '|'; end = strchr(end, '\n') + 1)
		assert_non_null(strchr(end, '\n'));
	check_doc(COLUMNS_DOC, "column table", doc, from, end, want);
	free(doc);
	free(want);
}

/* doc/pymemwatch.8's CSV COLUMNS section starts with the list pmw_fields_man() writes */
static void test_man_list(void **state)
{
	char *doc = slurp(MANPAGE), *want = render(pmw_fields_man);
	char *from = strstr(doc, MAN_HEAD), *end;

	assert_non_null(from);
	from += strlen(MAN_HEAD);
	/* the list: up to the line ending in '.' */
	end = strstr(from, ".\n");
	assert_non_null(end);
	end += 2;
	check_doc(MANPAGE, "CSV COLUMNS list", doc, from, end, want);
	free(doc);
	free(want);
}

/* doc/sweep-and-fleet.md's Prometheus table lists the families of the field table, with their types */
static void test_readme_prometheus(void **state)
{
	static const char *const types[] = {
		[PMW_PROM_GAUGE] = "gauge", [PMW_PROM_COUNTER] = "counter",
		[PMW_PROM_HISTOGRAM] = "histogram",
	};
	char *doc = slurp(PROM_DOC), name[128], type[32];
	int listed = 0, families = 2;	/* pymemwatch_up and _targets are output_prom.c's own */

	for (const char *p = doc; (p = strstr(p, "\n| `pymemwatch_")); p++) {
		const struct pmw_field *f = NULL;

		assert_int_equal(sscanf(p, "\n| `%127[a-z_]` | %31[a-z] |", name, type), 2);
		listed++;
		if (!strcmp(name, "pymemwatch_up") || !strcmp(name, "pymemwatch_targets"))
			continue;
		for (int i = 0; i < pmw_nfields && !f; i++)
			if (pmw_fields[i].prom.name && !strcmp(pmw_fields[i].prom.name, name))
				f = &pmw_fields[i];
		if (!f)
			fail_msg(PROM_DOC " lists %s, which no row of the field table makes", name);
		assert_string_equal(type, types[f->prom.type]);
	}
	for (int i = 0; i < pmw_nfields; i++)
		families += !!pmw_fields[i].prom.name;
	/* every family is listed once */
	assert_int_equal(listed, families);
	free(doc);
}

/* --help names every column, as a word */
static void test_help_lists_columns(void **state)
{
	char *help = pmw_fields_help(), col[64];

	assert_non_null(help);
	pmw_for_each_col(f, g) {
		size_t n = strlen(pmw_field_colname(f, g, col, sizeof(col)));
		const char *p = help;
		bool found = false;

		while (!found && (p = strstr(p, col))) {
			found = (p == help || p[-1] == ' ') && strchr(",.", p[n]);
			p += n;
		}
		if (!found)
			fail_msg("%s missing in --help", col);
	}
	free(help);
}

/* every key user/report.c reads from a process row (fnum, fnum_gen, fstr) is a column */
static void test_report_reads_columns(void **state)
{
	char *src = slurp(REPORT_C);
	regex_t re;
	regmatch_t m[3];
	int n = 0;

	assert_int_equal(regcomp(&re, "\\<f(num|num_gen|str)\\([^,()]+, \"([^\"]+)\"", REG_EXTENDED), 0);
	for (const char *p = src; !regexec(&re, p, 3, m, 0); p += m[0].rm_eo) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
		if (!pmw_field_find(name))
			fail_msg("user/output/report.c reads \"%s\", which is no column of the field table", name);
		n++;
	}
	regfree(&re);
	/* the report reads ~30 of them: a pattern that stopped matching fails here */
	assert_true(n >= 20);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_columns),
		cmocka_unit_test(test_rows_well_formed),
		cmocka_unit_test(test_readme_table),
		cmocka_unit_test(test_man_list),
		cmocka_unit_test(test_readme_prometheus),
		cmocka_unit_test(test_help_lists_columns),
		cmocka_unit_test(test_report_reads_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
