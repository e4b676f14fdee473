// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the process trend (user/leak/trend.c, cmocka): the history
 * of the last PMW_HIST_N intervals, the slopes fitted over it and the
 * process score they give, from figures as the interval rows carry them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "trend.h"

/* one interval a second for @n seconds: heap @h0 + @rate bytes/s, RSS flat, @unc uncollectable each */
static void feed(struct pmw_trend *tr, struct pmw_leak_score *ps, int n, double h0, double rate,
		 uint64_t unc)
{
	for (int i = 1; i <= n; i++)
		pmw_trend_add(tr, ps, i, h0 + rate * i, 50e6, unc);
}

static void test_growing_heap(void **state)
{
	struct pmw_trend tr = { 0 };
	struct pmw_leak_score ps = { 0 };

	(void)state;
	feed(&tr, &ps, 60, 1e6, 1024, 0);	/* 1 KiB/s: 60 KiB per minute */
	assert_int_equal(tr.nhist, 60);
	assert_float_equal(ps.heap_slope, 60 * 1024, 1e-6);
	assert_float_equal(ps.heap_r2, 1, 1e-9);
	assert_true(ps.rss_slope == 0 && ps.rss_r2 == 0);	/* flat: no fit */
	assert_true(ps.uncoll_per_min == 0);
	/* log2(1 + 60) weighted by r2 1: the heap part of the score alone */
	assert_float_equal(pmw_leak_process_score(&ps), 5.930737, 1e-6);
}

static void test_window(void **state)
{
	struct pmw_trend tr = { 0 };
	struct pmw_leak_score ps = { 0 };

	(void)state;
	feed(&tr, &ps, PMW_HIST_N, 1e6, 4096, 0);	/* grew during the first window... */
	for (int i = 1; i <= PMW_HIST_N; i++)		/* ...then flat for a whole window */
		pmw_trend_add(&tr, &ps, PMW_HIST_N + i, 1e6 + 4096.0 * PMW_HIST_N, 50e6, 0);
	assert_int_equal(tr.nhist, PMW_HIST_N);
	assert_float_equal(tr.t_hist[0], (PMW_HIST_N + 1) / 60.0, 1e-12);	/* oldest dropped */
	assert_float_equal(ps.heap_slope, 0, 1e-3);	/* bytes per minute: rounding only */
	assert_float_equal(pmw_leak_process_score(&ps), 0, 1e-6);
}

static void test_uncollectable(void **state)
{
	struct pmw_trend tr = { 0 };
	struct pmw_leak_score ps = { 0 };

	(void)state;
	feed(&tr, &ps, 30, 1e6, 0, 2);		/* 2 a second for 30 s */
	assert_int_equal(tr.uncoll_total, 60);
	assert_float_equal(ps.uncoll_per_min, 120, 1e-9);
	assert_float_equal(pmw_leak_process_score(&ps), 6.918863, 1e-6);	/* log2(121) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growing_heap),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_uncollectable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
