// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the growing-container score (user/containers.c, cmocka):
 * lengths as heap walks would report them, one walk every 2 s. A container
 * that keeps growing scores; a cache that fills then plateaus, one that is
 * cleared when full (a sawtooth), an LRU that evicts (its first item
 * changes, its length stays), a deque with a maxlen and one seen too
 * briefly score 0. No target: the type and item reads fail (pid -1) and
 * only lengths, first items and maxlen count.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "containers.h"

#define ADDR	0x7f0000001000ULL
#define TYPE	0x7f0000002000ULL

/* the score of one container after @n walks of lengths @len(i), first items @fp(i) */
static double run(int n, uint64_t (*len)(int), uint64_t (*fp)(int), uint64_t maxlen)
{
	static struct pmw_target t = { .pid = -1 };
	struct pmw_containers cs = { 0 };
	struct pmw_walk wk = { 0 };
	struct pmw_walk_container c = { .addr = ADDR, .type = TYPE, .kind = PMW_CK_LIST,
					.sample_at = PMW_NO_SAMPLE };
	double score;

	wk.done = &c;
	wk.ndone = 1;
	for (int i = 0; i < n; i++) {
		c.len = len(i);
		c.fp = fp ? fp(i) : 0x1111;
		c.maxlen = maxlen;
		wk.walks = i + 1;
		assert_true(pmw_containers_update(&cs, &wk, &t) >= 0);
		cs.t0 -= 2.0;	/* the next walk, 2 s later */
	}
	score = pmw_containers_score(&cs);
	assert_int_equal(cs.n + cs.nseen, 1);	/* followed, as a track or at constant length */
	if (score > 0)
		assert_int_equal(cs.n, 1);
	pmw_containers_free(&cs);
	return score;
}

static uint64_t grows(int i) { return 100 + 200 * i; }
static uint64_t plateau(int i) { return i < 6 ? 100 + 300 * i : 1600; }
static uint64_t sawtooth(int i) { return 100 + 200 * (i % 7); }
static uint64_t lru_len(int i) { return 500; }
static uint64_t lru_first(int i) { return 0x5000 + 16 * i; }
static uint64_t noisy(int i) { return 1000 + (i * 7919 % 13) * 10; }

/* a list trimmed from ~2000 to ~1000 items several times between two walks:
 * each walk sees it anywhere in between (here with an upward slope by chance
 * and a new high at the end) */
static uint64_t fast_saw(int i)
{
	static const uint64_t v[] = { 1243, 1606, 1557, 1133, 1378, 1618, 1485, 1640, 1594, 1067, 1620,
				      1013, 1857, 1480, 1265, 1564, 1239, 1196, 1734, 1481, 1553, 1950 };

	return v[i % 22];
}

static uint64_t late(int i) { return i < 10 ? 100 : 100 + 200 * (i - 10); }

static void test_leak_scores(void **state)
{
	assert_true(run(20, grows, NULL, 0) > 1.0);
	assert_true(run(24, late, NULL, 0) > 1.0);	/* constant for 20 s, then grows */
}

/*
 * Containers that keep their length (a leak of many small lists, each one
 * never changing) are followed as 48 B entries, not tracks; one becomes a
 * track when its length changes, and one not seen for 3 walks is dropped.
 */
static void test_constant_length_small(void **state)
{
	static struct pmw_target t = { .pid = -1 };
	struct pmw_containers cs = { 0 };
	struct pmw_walk wk = { 0 };
	struct pmw_walk_container c[1000];

	for (int k = 0; k < 1000; k++)
		c[k] = (struct pmw_walk_container){ .addr = ADDR + 64 * k, .type = TYPE,
						    .kind = PMW_CK_LIST, .len = 8, .fp = 0x1111,
						    .sample_at = PMW_NO_SAMPLE };
	wk.done = c;
	wk.ndone = 1000;
	for (int i = 0; i < 5; i++) {
		wk.walks = i + 1;
		c[500].len = 8 + i;		/* this one grows */
		assert_true(pmw_containers_update(&cs, &wk, &t) >= 0);
		cs.t0 -= 2.0;
	}
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.nseen, 999);
	assert_int_equal(cs.tr[0].addr, ADDR + 64 * 500);
	assert_int_equal(cs.tr[0].n, 5);		/* its past at length 8 kept */
	wk.ndone = 10;				/* the others are freed */
	for (int i = 5; i < 9; i++) {
		wk.walks = i + 1;
		assert_true(pmw_containers_update(&cs, &wk, &t) >= 0);
	}
	assert_int_equal(cs.n, 0);
	assert_int_equal(cs.nseen, 10);
	pmw_containers_free(&cs);
}

static void test_bounded_score_zero(void **state)
{
	assert_true(run(22, plateau, NULL, 0) == 0);	/* filled, then full */
	assert_true(run(22, sawtooth, NULL, 0) == 0);	/* cleared when full */
	assert_true(run(22, lru_len, lru_first, 0) == 0); /* evicts: same length */
	assert_true(run(22, noisy, NULL, 0) == 0);	/* busy, bounded */
	assert_true(run(22, fast_saw, NULL, 0) == 0);	/* a saw-tooth faster than the walks */
	assert_true(run(20, grows, NULL, 5000) == 0);	/* deque(maxlen=...) */
	assert_true(run(3, grows, NULL, 0) == 0);	/* too few walks to tell */
}

static void test_index_ok(void **state)
{
	struct pmw_containers cs = { .t0 = 1000.0 };
	struct pmw_ctrack tr = { .n = 3, .t = { 0, 1, 2 }, .len = { 100, 700, 1300 },
				 .items_per_min = 600 };

	/* 1.5 min after t0: the length was 1000 */
	assert_true(pmw_containers_index_ok(&cs, &tr, 1000, 1000.0 + 90));
	assert_true(pmw_containers_index_ok(&cs, &tr, 1015, 1000.0 + 90));
	/* an item appended a minute later is another object */
	assert_false(pmw_containers_index_ok(&cs, &tr, 1600, 1000.0 + 90));
	/* before the first walk: unknown */
	assert_false(pmw_containers_index_ok(&cs, &tr, 50, 990.0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leak_scores),
		cmocka_unit_test(test_constant_length_small),
		cmocka_unit_test(test_bounded_score_zero),
		cmocka_unit_test(test_index_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
