// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the pure helpers in user/util.c (cmocka). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "util.h"

static void test_sym_match(void **state)
{
	assert_true(pmw_sym_match("gc_collect_main", "gc_collect_main"));
	assert_true(pmw_sym_match("gc_collect_main.lto_priv.0", "gc_collect_main"));
	assert_true(pmw_sym_match("collect.constprop.1", "collect"));
	assert_true(pmw_sym_match("pymalloc_alloc.isra.0", "pymalloc_alloc"));
	assert_true(pmw_sym_match("arenas.lto_priv.0", "arenas"));
	assert_true(pmw_sym_match("foo.part.0", "foo"));
	assert_true(pmw_sym_match("gc_collect_main.lto_priv.0.cold", "gc_collect_main"));
	assert_false(pmw_sym_match("gc_collect_mainx", "gc_collect_main"));
	assert_false(pmw_sym_match("collect_generations", "collect"));
	assert_false(pmw_sym_match("collect.foo", "collect"));
	assert_false(pmw_sym_match("_PyObject_Malloc", "PyObject_Malloc"));
	assert_false(pmw_sym_match("collect", "collect.constprop.0"));
	assert_int_equal(pmw_sym_base_len("a.lto_priv.0.cold"), 1);
	assert_int_equal(pmw_sym_base_len(".cold"), 5);
	assert_int_equal(pmw_sym_base_len("x.123"), 5);	/* a bare number is no suffix */
}

static void test_sym_cold(void **state)
{
	assert_true(pmw_sym_is_cold("gc_collect_main.lto_priv.0.cold"));
	assert_true(pmw_sym_is_cold("f.cold.2"));
	assert_false(pmw_sym_is_cold("gc_collect_main.lto_priv.0"));
	assert_false(pmw_sym_is_cold("coldstart"));
}

static void test_version(void **state)
{
	int ma, mi, pa;

	assert_int_equal(pmw_parse_version("3.11.2", &ma, &mi, &pa), 0);
	assert_int_equal(ma, 3); assert_int_equal(mi, 11); assert_int_equal(pa, 2);
	assert_int_equal(pmw_parse_version("libpython3.12.so.1.0", &ma, &mi, &pa), 0);
	assert_int_equal(mi, 12); assert_int_equal(pa, -1);
	assert_int_equal(pmw_parse_version("python3.8", &ma, &mi, &pa), 0);
	assert_int_equal(mi, 8); assert_int_equal(pa, -1);
	assert_int_equal(pmw_parse_version("python3.13d", &ma, &mi, &pa), 0);
	assert_int_equal(mi, 13);
	assert_int_equal(pmw_parse_version("python2.7", &ma, &mi, &pa), -EINVAL);
	assert_int_equal(pmw_parse_version("bash", &ma, &mi, &pa), -EINVAL);
	assert_int_equal(pmw_parse_version("13.1", &ma, &mi, &pa), -EINVAL);

	char buf[16];
	assert_string_equal(pmw_version_from_hex(0x030b02f0, buf, sizeof(buf)), "3.11.2");
	assert_string_equal(pmw_version_from_hex(0x030d00f0, buf, sizeof(buf)), "3.13.0");
}

static void test_pids(void **state)
{
	int pids[4], dup = 0;

	assert_int_equal(pmw_parse_pids("12", pids, 4, &dup), 1);
	assert_int_equal(pids[0], 12);
	assert_int_equal(pmw_parse_pids("1,2,3", pids, 4, &dup), 3);
	assert_int_equal(pmw_parse_pids("1,2,1", pids, 4, &dup), -EEXIST);
	assert_int_equal(dup, 1);
	assert_int_equal(pmw_parse_pids("1,2,3,4,5", pids, 4, &dup), -E2BIG);
	assert_int_equal(pmw_parse_pids("abc", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("-1", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("0", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("1,", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("12x", pids, 4, &dup), -EINVAL);
	assert_int_equal(pmw_parse_pids("99999999999", pids, 4, &dup), -EINVAL);
}

static void test_seconds(void **state)
{
	double v;

	assert_int_equal(pmw_parse_seconds("1", &v), 0);
	assert_true(v == 1.0);
	assert_int_equal(pmw_parse_seconds("0.25", &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(pmw_parse_seconds("-1", &v), -EINVAL);
	assert_int_equal(pmw_parse_seconds("1s", &v), -EINVAL);
	assert_int_equal(pmw_parse_seconds("", &v), -EINVAL);
	assert_int_equal(pmw_parse_seconds("nan", &v), -EINVAL);
	assert_int_equal(pmw_parse_seconds("inf", &v), -EINVAL);
}

static char *csv(const char *s)
{
	static char out[256];
	FILE *f;

	memset(out, 0, sizeof(out));
	f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	assert_int_equal(pmw_csv_field(f, s), 0);
	fclose(f);
	return out;
}

static void test_csv_quoting(void **state)
{
	assert_string_equal(csv("python3.11"), "python3.11");
	assert_string_equal(csv(""), "");
	assert_string_equal(csv(NULL), "");
	assert_string_equal(csv("a,b"), "\"a,b\"");
	assert_string_equal(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
	assert_string_equal(csv("two\nlines"), "\"two\nlines\"");
	assert_string_equal(csv("cr\r"), "\"cr\r\"");
}

static void test_csv_formula(void **state)
{
	/* OWASP CSV injection: a leading = + - @ gets a ' prefix */
	assert_string_equal(csv("=1+2"), "'=1+2");
	assert_string_equal(csv("+x"), "'+x");
	assert_string_equal(csv("-x"), "'-x");
	assert_string_equal(csv("@x"), "'@x");
	assert_string_equal(csv("="), "'=");
	/* not at the start: unchanged */
	assert_string_equal(csv("a,=b"), "\"a,=b\"");
	assert_string_equal(csv("a=b"), "a=b");
	assert_string_equal(csv("'=x"), "'=x");
	assert_string_equal(csv(" =x"), " =x");
	/* prefix inside the quotes when quoting is needed too */
	assert_string_equal(csv("=HYPERLINK(\"http://x\",\"y\")"),
			    "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	assert_string_equal(csv("-cmd,arg"), "\"'-cmd,arg\"");
	assert_string_equal(csv("@a\nb"), "\"'@a\nb\"");
}

static void test_csv_hostile(void **state)
{
	/* quotes, commas, newlines: quoted, quotes doubled */
	assert_string_equal(csv("\""), "\"\"\"\"");
	assert_string_equal(csv("\"\""), "\"\"\"\"\"\"");
	assert_string_equal(csv(","), "\",\"");
	assert_string_equal(csv("\r\n"), "\"\r\n\"");
	assert_string_equal(csv("a\",\"b\r\nc"), "\"a\"\",\"\"b\r\nc\"");
	/* invalid UTF-8 and control bytes pass through byte for byte */
	assert_string_equal(csv("\xff\xfe\xc3"), "\xff\xfe\xc3");
	assert_string_equal(csv("\xc3\x28,\x80"), "\"\xc3\x28,\x80\"");
	assert_string_equal(csv("\t\x01\x7f"), "\t\x01\x7f");
	assert_string_equal(csv("-\xff\""), "\"'-\xff\"\"\"");
}

static void test_hist(void **state)
{
	uint64_t h[32] = { 0 };

	assert_int_equal(pmw_log2_slot(0), 0);
	assert_int_equal(pmw_log2_slot(1), 0);
	assert_int_equal(pmw_log2_slot(2), 1);
	assert_int_equal(pmw_log2_slot(1023), 9);
	assert_int_equal(pmw_log2_slot(1024), 10);
	assert_int_equal(pmw_hist_percentile(h, 32, 50, 0), 0);	/* empty */

	/* 99 values in [1024, 2048), one in [2^20, 2^21) */
	for (int i = 0; i < 99; i++)
		pmw_hist_add(h, 32, 1500);
	pmw_hist_add(h, 32, 1500000);
	assert_int_equal(pmw_hist_percentile(h, 32, 50, 0), 1536);
	assert_int_equal(pmw_hist_percentile(h, 32, 99, 0), 1536);
	assert_int_equal(pmw_hist_percentile(h, 32, 100, 0), 3 << 19);
	/* clamped to the largest value seen */
	assert_int_equal(pmw_hist_percentile(h, 32, 100, 1500000), 1500000);
	assert_int_equal(pmw_hist_percentile(h, 32, 50, 1000), 1000);
	/* values beyond the last slot land in it */
	pmw_hist_add(h, 4, UINT64_MAX);
	assert_int_equal(h[3], 1);
}

static void test_rfc3339(void **state)
{
	struct timespec ts = { .tv_sec = 1795255000, .tv_nsec = 123456789 };
	char buf[40];

	assert_string_equal(pmw_fmt_rfc3339(&ts, buf, sizeof(buf)), "2026-11-21T09:56:40.123Z");
}

static void test_fmt(void **state)
{
	char b[16];

	assert_string_equal(pmw_fmt_bytes(12, b, sizeof(b)), "12B");
	assert_string_equal(pmw_fmt_bytes(1536, b, sizeof(b)), "1.5K");
	assert_string_equal(pmw_fmt_bytes(16 << 20, b, sizeof(b)), "16M");
	assert_string_equal(pmw_fmt_count(999, b, sizeof(b)), "999");
	assert_string_equal(pmw_fmt_count(1200, b, sizeof(b)), "1.2k");
}

static void test_upper_u64(void **state)
{
	const uint64_t a[] = { 10, 20, 20, 30 };

	(void)state;
	assert_int_equal(pmw_upper_u64(a, 0, 50), 0);
	assert_int_equal(pmw_upper_u64(a, 4, 9), 0);
	assert_int_equal(pmw_upper_u64(a, 4, 10), 1);
	assert_int_equal(pmw_upper_u64(a, 4, 20), 3);
	assert_int_equal(pmw_upper_u64(a, 4, 29), 3);
	assert_int_equal(pmw_upper_u64(a, 4, 30), 4);
	assert_int_equal(pmw_upper_u64(a, 4, UINT64_MAX), 4);
}

static void test_grow(void **state)
{
	uint32_t *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(pmw_grow((void **)&a, &cap, 0, sizeof(*a)), 0);
	assert_null(a);	/* nothing needed: nothing allocated */
	assert_int_equal(pmw_grow((void **)&a, &cap, 1, sizeof(*a)), 0);
	assert_int_equal(cap, 16);
	for (uint32_t i = 0; i < 16; i++)
		a[i] = i;
	assert_int_equal(pmw_grow((void **)&a, &cap, 16, sizeof(*a)), 0);
	assert_int_equal(cap, 16);	/* already room */
	assert_int_equal(pmw_grow((void **)&a, &cap, 17, sizeof(*a)), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(pmw_grow((void **)&a, &cap, 200, sizeof(*a)), 0);
	assert_int_equal(cap, 256);
	for (uint32_t i = 0; i < 16; i++)
		assert_int_equal(a[i], i);	/* contents kept */
	/* too large: -ENOMEM, the array and its capacity untouched */
	assert_int_equal(pmw_grow((void **)&a, &cap, SIZE_MAX / 2, 8), -ENOMEM);
	assert_int_equal(pmw_grow((void **)&a, &cap, SIZE_MAX, 1), -ENOMEM);
	assert_int_equal(cap, 256);
	assert_int_equal(a[15], 15);
	free(a);
}

static void test_fit_line(void **state)
{
	const double x[] = { 0, 1, 2, 3 }, y[] = { 1, 3, 5, 7 }, noisy[] = { 0, 2, 0, 2 };
	const double same[] = { 5, 5, 5, 5 };
	double slope, r2;

	(void)state;
	pmw_fit_line(x, y, 4, &slope, &r2);	/* y = 2x + 1 */
	assert_float_equal(slope, 2, 1e-12);
	assert_float_equal(r2, 1, 1e-12);
	pmw_fit_line(x, noisy, 4, &slope, &r2);
	assert_float_equal(slope, 0.4, 1e-12);
	assert_float_equal(r2, 0.2, 1e-12);
	pmw_fit_line(x, y, 2, &slope, &r2);	/* too few points */
	assert_true(slope == 0 && r2 == 0);
	pmw_fit_line(same, y, 4, &slope, &r2);	/* no spread in x */
	assert_true(slope == 0 && r2 == 0);
	pmw_fit_line(x, same, 4, &slope, &r2);	/* flat: slope 0, no fit */
	assert_true(slope == 0 && r2 == 0);
}

static void test_flush(void **state)
{
	FILE *f = fopen("/dev/full", "w");
	FILE *r = fopen("/dev/null", "r");

	(void)state;
	assert_non_null(f);
	assert_non_null(r);
	assert_int_equal(pmw_flush(f), 0);	/* nothing written yet */
	fputs("x", f);				/* buffered: fails on flush */
	assert_int_equal(pmw_flush(f), -ENOSPC);
	fclose(f);
	assert_int_equal(fputc('x', r), EOF);	/* a failed write sets the error flag */
	assert_int_equal(pmw_flush(r), -EIO);
	fclose(r);
	f = tmpfile();
	assert_non_null(f);
	fputs("ok", f);
	assert_int_equal(pmw_flush(f), 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sym_match),
		cmocka_unit_test(test_sym_cold),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_pids),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_formula),
		cmocka_unit_test(test_csv_hostile),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_upper_u64),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_fit_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
