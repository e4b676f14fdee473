// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of user/pyline.c (cmocka): every byte offset of every code
 * object in tests/unit/fixtures/pyline-*.txt (the interpreters' own answers,
 * see gen_pyline_fixtures.py; every row of user/pyver.c's version table must
 * have one, parsed with the row's line-table format), truncated copies of
 * those tables, hand-made malformed tables and random bytes. Tables are copied into buffers of
 * exactly their size so that ASan/valgrind catch any read past @len.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pyline.h"
#include "pyver.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* pmw_py_line on a heap copy of exactly @len bytes */
static int line_of(enum pmw_linetable fmt, const uint8_t *t, size_t len, int first, uint32_t off)
{
	uint8_t *copy = NULL;
	int ret;

	if (len) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, t, len);
	}
	ret = pmw_py_line(fmt, copy, len, first, off);
	free(copy);
	return ret;
}

struct code {
	char name[128];
	int first;
	uint32_t ncode;
	uint8_t *tab;
	size_t len;
	int *want;		/* expected result of each offset 0..ncode-1 */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_c(const char *line, struct code *c)
{
	int n = -1, hi, lo;
	const char *p;
	size_t i, hlen;

	memset(c, 0, sizeof(*c));
	if (sscanf(line, "C %127s %d %u %n", c->name, &c->first, &c->ncode,
		   &n) != 3 || n < 0)
		return -1;
	p = line + n;
	hlen = strcspn(p, " \n");
	if (hlen == 1 && p[0] == '-')
		hlen = 0;
	if (hlen & 1)
		return -1;
	c->len = hlen / 2;
	c->tab = malloc(c->len ? c->len : 1);
	c->want = calloc(c->ncode ? c->ncode : 1, sizeof(int));
	if (!c->tab || !c->want)
		return -1;
	for (i = 0; i < c->len; i++) {
		hi = hexval(p[2 * i]);
		lo = hexval(p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		c->tab[i] = hi << 4 | lo;
	}
	return 0;
}

/* "L start line start line ...": runs covering 0..ncode-1 */
static int parse_l(const char *line, struct code *c)
{
	const char *p = line + 1;
	char *end;
	long start, ln, prev_start = -1, prev_line = 0, off;
	int nruns = 0;

	for (;;) {
		start = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		ln = strtol(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
		if (start <= prev_start || start >= (long)c->ncode)
			return -1;
		if (nruns++ == 0 && start != 0)
			return -1;
		for (off = prev_start; prev_start >= 0 && off < start; off++)
			c->want[off] = prev_line < 0 ? -ENOENT : (int)prev_line;
		prev_start = start;
		prev_line = ln;
	}
	if (!nruns)
		return c->ncode ? -1 : 0;
	for (off = prev_start; off < (long)c->ncode; off++)
		c->want[off] = prev_line < 0 ? -ENOENT : (int)prev_line;
	return 0;
}

/* result for a copy of the table cut to @cut bytes: the full answer or -EINVAL */
static void check_truncated(enum pmw_linetable fmt, const struct code *c)
{
	size_t cut, step = c->len <= 64 ? 1 : c->len / 64;
	uint32_t off, ostep = c->ncode <= 64 ? 1 : c->ncode / 64;
	int got;

	if (fmt == PMW_LT_LNOTAB) {
		/* no length in the format: only an odd cut is detectable */
		if (c->len)
			assert_int_equal(line_of(fmt, c->tab, c->len - 1, c->first, 0),
					 -EINVAL);
		return;
	}
	for (cut = 0; cut < c->len; cut += step) {
		for (off = 0; off < c->ncode; off += ostep) {
			got = line_of(fmt, c->tab, cut, c->first, off);
			if (got != c->want[off] && got != -EINVAL)
				fail_msg("%s cut %zu/%zu offset %u: %d, want %d or -EINVAL",
					 c->name, cut, c->len, off, got, c->want[off]);
		}
	}
}

static unsigned int check_code(int minor, const struct code *c)
{
	const struct pmw_pyver *pv = pmw_pyver_find(3, minor);
	enum pmw_linetable fmt;
	uint32_t off;
	int got, last;

	assert_non_null(pv);
	fmt = pv->line_table;

	for (off = 0; off < c->ncode; off++) {
		got = line_of(fmt, c->tab, c->len, c->first, off);
		if (got != c->want[off])
			fail_msg("3.%d %s (line %d) offset %u: got %d, want %d",
				 minor, c->name, c->first, off, got, c->want[off]);
	}
	/* past the end of the bytecode */
	last = c->ncode ? c->want[c->ncode - 1] : c->first;
	got = line_of(fmt, c->tab, c->len, c->first, c->ncode);
	assert_int_equal(got, fmt == PMW_LT_LNOTAB ? last : -EINVAL);
	got = line_of(fmt, c->tab, c->len, c->first, UINT32_MAX);
	assert_int_equal(got, fmt == PMW_LT_LNOTAB ? last : -EINVAL);
	check_truncated(fmt, c);
	return c->ncode;
}

/* checks one fixture file; returns its minor version */
static int check_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, version[32] = "?";
	size_t cap = 0;
	int minor = -1, have_code = 0;
	unsigned int ncodes = 0, noffsets = 0;
	struct code c = { 0 };

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		switch (line[0]) {
		case '#':
		case '\n':
			break;
		case 'V':
			assert_int_equal(sscanf(line, "V %d %31s", &minor, version), 2);
			break;
		case 'C':
			if (!pmw_pyver_find(3, minor))
				fail_msg("%s: 3.%d is not in the version table", path, minor);
			assert_false(have_code);
			if (parse_c(line, &c))
				fail_msg("%s: bad C record: %.60s", path, line);
			have_code = 1;
			break;
		case 'L':
			assert_true(have_code);
			if (parse_l(line, &c))
				fail_msg("%s: bad L record for %s", path, c.name);
			noffsets += check_code(minor, &c);
			ncodes++;
			free(c.tab);
			free(c.want);
			have_code = 0;
			break;
		default:
			fail_msg("%s: bad record: %.60s", path, line);
		}
	}
	free(line);
	fclose(f);
	assert_false(have_code);
	assert_true(ncodes > 0);
	print_message("[ pyline   ] %-8s (3.%d): %u code objects, %u offsets ok\n",
		      version, minor, ncodes, noffsets);
	return minor;
}

static void test_fixtures(void **state)
{
	/* from the repo root, or from wherever __FILE__ resolves */
	char here[PATH_MAX], pat[2 * PATH_MAX];
	const char *dirs[] = { "tests/unit/fixtures", here, "../../tests/unit/fixtures" };
	const char *file = __FILE__, *slash = strrchr(file, '/');
	const struct pmw_pyver *pv;
	int nfiles = 0, seen[256] = { 0 };
	size_t i, j;

	snprintf(here, sizeof(here), "%.*s/fixtures",
		 slash ? (int)(slash - file) : 1, slash ? file : ".");
	for (i = 0; i < ARRAY_LEN(dirs) && !nfiles; i++) {
		glob_t g;

		snprintf(pat, sizeof(pat), "%s/pyline-*.txt", dirs[i]);
		if (glob(pat, 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++, nfiles++)
			seen[check_file(g.gl_pathv[j]) & 255]++;
		globfree(&g);
	}
	if (!nfiles)
		fail_msg("no tests/unit/fixtures/pyline-*.txt found");
	/* a version added to the table comes with its fixtures */
	for (i = 0; (pv = pmw_pyver_at(i)); i++)
		if (!seen[pv->minor & 255])
			fail_msg("no tests/unit/fixtures/pyline-3.%d.*.txt for a version in the table"
				 " (run tests/unit/gen_pyline_fixtures.py with python3.%d)",
				 pv->minor, pv->minor);
}

#define T(...) ((const uint8_t[]){ __VA_ARGS__ })
#define L(fmt, first, off, ...) \
	line_of(fmt, T(__VA_ARGS__), sizeof(T(__VA_ARGS__)), first, off)

static void test_lnotab(void **state)
{
	const enum pmw_linetable m = PMW_LT_LNOTAB;

	{
		/* empty co_lnotab: everything on co_firstlineno */
		assert_int_equal(pmw_py_line(m, NULL, 0, 7, 0), 7);
		assert_int_equal(pmw_py_line(m, NULL, 0, 7, 1000), 7);
		/* (2, +1) (4, -1): 0-1 -> 5, 2-5 -> 6, 6.. -> 5 */
		assert_int_equal(L(m, 5, 0, 2, 1, 4, 0xff), 5);
		assert_int_equal(L(m, 5, 1, 2, 1, 4, 0xff), 5);
		assert_int_equal(L(m, 5, 2, 2, 1, 4, 0xff), 6);
		assert_int_equal(L(m, 5, 5, 2, 1, 4, 0xff), 6);
		assert_int_equal(L(m, 5, 6, 2, 1, 4, 0xff), 5);
		assert_int_equal(L(m, 5, UINT32_MAX, 2, 1, 4, 0xff), 5);
		/* addr_incr 0 pairs carry big line jumps; signed line_incr */
		assert_int_equal(L(m, 1, 0, 0, 127, 0, 127, 2, 6), 255);
		assert_int_equal(L(m, 1, 2, 0, 127, 0, 127, 2, 6), 261);
		assert_int_equal(L(m, 300, 1, 2, 0x80, 0, 0x81), 300);
		assert_int_equal(L(m, 300, 2, 2, 0x80, 0, 0x81), 45);
		assert_int_equal(L(m, 300, 4, 2, 0, 2, 0x80, 0, 0x81), 45);
		/* 255-byte address increments */
		assert_int_equal(L(m, 1, 300, 255, 1, 255, 1), 2);
		assert_int_equal(L(m, 1, 510, 255, 1, 255, 1), 3);
		/* odd length, negative line */
		assert_int_equal(L(m, 5, 0, 2, 1, 4), -EINVAL);
		assert_int_equal(L(m, 5, 0, 2), -EINVAL);
		assert_int_equal(L(m, 1, 4, 2, 0xfe), -EINVAL);
		assert_int_equal(L(m, 1, 0, 2, 0xfe), 1);
		assert_int_equal(pmw_py_line(m, NULL, 2, 1, 0), -EINVAL);
	}
}

static void test_linetable310(void **state)
{
	assert_int_equal(pmw_py_line(PMW_LT_LINETABLE310, NULL, 0, 7, 0), -EINVAL);
	assert_int_equal(pmw_py_line(PMW_LT_LINETABLE310, NULL, 4, 7, 0), -EINVAL);
	/* (4, +1) (2, -128) (2, +2) */
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 0, 4, 1, 2, 0x80, 2, 2), 6);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 3, 4, 1, 2, 0x80, 2, 2), 6);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 4, 4, 1, 2, 0x80, 2, 2), -ENOENT);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 5, 4, 1, 2, 0x80, 2, 2), -ENOENT);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 6, 4, 1, 2, 0x80, 2, 2), 8);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 7, 4, 1, 2, 0x80, 2, 2), 8);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 8, 4, 1, 2, 0x80, 2, 2), -EINVAL);
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, UINT32_MAX, 4, 1, 2, 0x80, 2, 2), -EINVAL);
	/* zero-length pairs carry +-127 and never match an offset */
	assert_int_equal(L(PMW_LT_LINETABLE310, 1, 0, 0, 127, 0, 127, 2, 6), 261);
	assert_int_equal(L(PMW_LT_LINETABLE310, 1, 2, 0, 127, 0, 127, 2, 6), -EINVAL);
	assert_int_equal(L(PMW_LT_LINETABLE310, 300, 2, 2, 0, 0, 0x81, 2, 0x81), 46);
	/* odd length, negative line */
	assert_int_equal(L(PMW_LT_LINETABLE310, 5, 0, 4, 1, 2), -EINVAL);
	assert_int_equal(L(PMW_LT_LINETABLE310, 1, 0, 2, 0xfe), -EINVAL);
	assert_int_equal(L(PMW_LT_LINETABLE310, 0, 0, 2, 0), 0);
}

/* first byte of a 3.11+ entry: code, length in code units */
#define E(code, units) (0x80 | (code) << 3 | ((units) - 1))

static void test_loctable(void **state)
{
	const enum pmw_linetable m = PMW_LT_LOCATIONS;

	{
		assert_int_equal(pmw_py_line(m, NULL, 0, 7, 0), -EINVAL);
		assert_int_equal(pmw_py_line(m, NULL, 3, 7, 0), -EINVAL);
		/* short form: same line, 1 column byte; offsets in bytes */
		assert_int_equal(L(m, 5, 0, E(0, 2), 0x05), 5);
		assert_int_equal(L(m, 5, 3, E(9, 2), 0x05), 5);
		assert_int_equal(L(m, 5, 4, E(0, 2), 0x05), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(0, 2)), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(0, 2), 0x85), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(0, 2), 0x05, 0x05), -EINVAL);
		/* one-line forms: +0 +1 +2, 2 column bytes */
		assert_int_equal(L(m, 5, 0, E(10, 1), 1, 2), 5);
		assert_int_equal(L(m, 5, 0, E(11, 1), 1, 2), 6);
		assert_int_equal(L(m, 5, 1, E(12, 1), 1, 2), 7);
		assert_int_equal(L(m, 5, 2, E(12, 1), 1, 2, E(12, 8), 1, 2), 9);
		assert_int_equal(L(m, 5, 17, E(12, 1), 1, 2, E(12, 8), 1, 2), 9);
		assert_int_equal(L(m, 5, 18, E(12, 1), 1, 2, E(12, 8), 1, 2), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(11, 1), 1), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(11, 1), 1, E(0, 1), 0), -EINVAL);
		/* no columns: svarint delta */
		assert_int_equal(L(m, 10, 0, E(13, 1), 0x04), 12);
		assert_int_equal(L(m, 10, 0, E(13, 1), 0x05), 8);
		assert_int_equal(L(m, 1, 0, E(13, 1), 0x03), 0);	/* RESUME on line 0 */
		assert_int_equal(L(m, 0, 0, E(13, 1), 0x03), -EINVAL);	/* line -1 */
		/* 2100 = svarint 4200 = 0x28|0x40, 0x01|0x40, 0x01 */
		assert_int_equal(L(m, 1, 0, E(13, 1), 0x68, 0x41, 0x01), 2101);
		assert_int_equal(L(m, 1, 0, E(13, 1), 0x68, 0x41), -EINVAL);
		assert_int_equal(L(m, 1, 0, E(13, 1), 0x68, 0x41, 0x81), -EINVAL);
		assert_int_equal(L(m, 1, 0, E(13, 1)), -EINVAL);
		/* 32-bit varint max (6 chunks), 7 chunks, over INT_MAX */
		assert_int_equal(L(m, 0, 0, E(13, 1), 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x03),
				 INT_MAX);
		assert_int_equal(L(m, 1, 0, E(13, 1), 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x03),
				 -EINVAL);
		assert_int_equal(L(m, 0, 0, E(13, 1), 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x04),
				 -EINVAL);
		assert_int_equal(L(m, 0, 0, E(13, 1), 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0),
				 -EINVAL);
		/* long form: svarint line, varint end line, col+1, endcol+1 */
		assert_int_equal(L(m, 5, 0, E(14, 1), 0x06, 0x00, 0x01, 0x05), 8);
		assert_int_equal(L(m, 5, 1, E(14, 1), 0x07, 0x45, 0x01, 0x41, 0x02, 0x41, 0x03), 2);
		assert_int_equal(L(m, 5, 0, E(14, 1), 0x06, 0x00, 0x01), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(14, 1), 0x06, 0x00), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(14, 1), 0x06), -EINVAL);
		assert_int_equal(L(m, 5, 0, E(14, 1), 0x06, 0x00, 0x01, 0x45), -EINVAL);
		/* no location: line unchanged for the next entry */
		assert_int_equal(L(m, 5, 0, E(15, 1)), -ENOENT);
		assert_int_equal(L(m, 5, 3, E(15, 2)), -ENOENT);
		assert_int_equal(L(m, 5, 4, E(15, 2)), -EINVAL);
		assert_int_equal(L(m, 5, 4, E(11, 1), 0, 0, E(15, 1), E(0, 1), 0), 6);
		assert_int_equal(L(m, 5, 2, E(11, 1), 0, 0, E(15, 1), E(0, 1), 0), -ENOENT);
		assert_int_equal(L(m, 5, 0, E(15, 1), 0), -EINVAL);
		/* first byte without bit 7 */
		assert_int_equal(L(m, 5, 0, 0x05), -EINVAL);
		assert_int_equal(L(m, 5, 2, E(0, 1), 0x05, 0x05), -EINVAL);
	}
}

/* only the three formats parse; every version in the table names one */
static void test_formats(void **state)
{
	static const uint8_t t[] = { 2, 1 };
	const struct pmw_pyver *pv;
	int m;

	for (m = -1; m < 20; m++) {
		int got = pmw_py_line((enum pmw_linetable)m, t, 0, 1, 0);

		if (m == PMW_LT_LNOTAB)
			assert_int_equal(got, 1);
		else
			assert_int_equal(got, -EINVAL);
	}
	assert_int_equal(pmw_py_line(0, t, sizeof(t), 1, 0), -EINVAL);
	assert_int_equal(pmw_py_line(PMW_LT_LOCATIONS + 1, t, sizeof(t), 1, 0), -EINVAL);
	for (size_t i = 0; (pv = pmw_pyver_at(i)); i++)
		assert_true(pv->line_table >= PMW_LT_LNOTAB && pv->line_table <= PMW_LT_LOCATIONS);
}

/* random bytes: any answer, but only in range and never out of bounds */
static void test_random(void **state)
{
	uint8_t buf[64];
	unsigned int seed = 12345, i, j, len;
	int m, got;

	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(buf);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = seed >> 16;
			if (j % 3 == 0 && (seed & 0x100))
				buf[j] |= 0x80;	/* more entry starts */
		}
		for (m = PMW_LT_LNOTAB; m <= PMW_LT_LOCATIONS; m++) {
			got = line_of(m, buf, len, (int)(i % 1000), (i * 7) % 200);
			assert_true(got >= 0 || got == -ENOENT || got == -EINVAL);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lnotab),
		cmocka_unit_test(test_linetable310),
		cmocka_unit_test(test_loctable),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
