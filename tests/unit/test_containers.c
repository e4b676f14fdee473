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
#include <unistd.h>
#include <cmocka.h>
#include "containers.h"
#include "util.h"

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

/*
 * What is followed is bounded by what is worth following: a target that
 * keeps making containers (1000 new ones of constant length per walk, as a
 * leak of small lists does) never takes more than PMW_CSEEN_MAX entries, the
 * largest are the ones kept, and a large one that starts growing is a track.
 */
static void test_bound_many(void **state)
{
	static struct pmw_target t = { .pid = -1 };
	struct pmw_containers cs = { 0 };
	struct pmw_walk wk = { 0 };
	int big = 100, per = 1000, walks = 40, max = big + per * walks;
	struct pmw_walk_container *c = calloc(max, sizeof(*c));

	assert_non_null(c);
	for (int k = 0; k < max; k++)	/* the first @big are large, the others leaked small lists */
		c[k] = (struct pmw_walk_container){ .addr = ADDR + 64 * k, .type = TYPE,
						    .kind = PMW_CK_LIST, .len = k < big ? 5000 + k : 8 + k % 3,
						    .fp = 0x1111, .sample_at = PMW_NO_SAMPLE };
	wk.done = c;
	for (int i = 0; i < walks; i++) {
		wk.ndone = big + per * (i + 1);	/* 1000 more each walk, none freed */
		wk.walks = i + 1;
		if (i >= walks - 6)
			c[7].len += 500;	/* a large one starts growing */
		assert_true(pmw_containers_update(&cs, &wk, &t) >= 0);
		assert_true(cs.nseen <= PMW_CSEEN_MAX);
		assert_true(cs.n <= PMW_CTRACK_MAX);
		cs.t0 -= 2.0;
	}
	assert_int_equal(cs.nseen, PMW_CSEEN_MAX);	/* full; the growing one a track */
	for (int k = 0; k < big; k++)		/* the large ones all kept */
		assert_true(k == 7 ? pmw_containers_find(&cs, c[k].addr) != NULL :
			    bsearch(&c[k].addr, cs.seen, cs.nseen, sizeof(*cs.seen), pmw_cmp_u64) != NULL);
	assert_true(cs.untracked > 0);
	assert_true(pmw_containers_score(&cs) > 0);
	assert_int_equal(cs.follow_min, 8);	/* all of them: from 8 */
	pmw_containers_free(&cs);
	free(c);
}

/*
 * Three lists of length 10 in our own memory (headers @obj: refcnt, type,
 * ob_size, ...), met by one walk (@c; the last a module global if @global2):
 * all three followed at constant length in @cs.
 */
static void three_lists(struct pmw_target *t, uint64_t obj[3][8], struct pmw_walk_container c[3],
			struct pmw_containers *cs, struct pmw_walk *wk, bool global2)
{
	t->pid = getpid();
	for (int k = 0; k < 3; k++) {
		obj[k][0] = 1;
		obj[k][1] = TYPE;
		obj[k][2] = 10;
		c[k] = (struct pmw_walk_container){ .addr = (uint64_t)(uintptr_t)obj[k], .type = TYPE,
						    .kind = PMW_CK_LIST, .len = 10, .fp = 0x1111,
						    .sample_at = PMW_NO_SAMPLE, .global = global2 && k == 2 };
	}
	wk->done = c;
	wk->ndone = 3;
	wk->walks = 1;
	assert_true(pmw_containers_update(cs, wk, t) >= 0);
	assert_int_equal(cs->nseen, 3);
}

/*
 * Between walks the headers of followed containers are re-read (our own
 * memory here, through process_vm_readv as for a target): a constant one
 * whose length changes becomes a track and ranks without another walk; one
 * freed (reference count 0) or replaced by another type gets no point.
 */
static void test_follow_headers(void **state)
{
	static struct pmw_target t;
	static uint64_t obj[3][8];
	struct pmw_containers cs = { 0 };
	struct pmw_walk wk = { 0 };
	struct pmw_walk_container c[3];

	three_lists(&t, obj, c, &cs, &wk, false);
	obj[1][0] = 0;		/* freed */
	obj[2][1] = TYPE + 64;	/* another object now */
	for (int i = 0; i < 8; i++) {
		cs.t0 -= 2.0;	/* 2 s later */
		for (int k = 0; k < 3; k++)
			obj[k][2] += 300;
		assert_int_equal(pmw_containers_follow(&cs, &t), 3);	/* headers read */
	}
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.nseen, 2);
	assert_int_equal(cs.tr[0].addr, c[0].addr);
	assert_int_equal(cs.tr[0].n, 9);	/* the walk's point, then one per round */
	assert_int_equal((uint64_t)cs.tr[0].len[8], 10 + 8 * 300);
	assert_true(pmw_containers_score(&cs) > 1.0);
	assert_int_equal(cs.walks, 1);		/* no walk since */
	pmw_containers_free(&cs);
}

/*
 * Constant entries read between walks in the round's order (module globals
 * first, then the others in turn) that all start growing at once become tracks
 * kept in address order, so that the next walk's merge and lookups find each
 * once (unsorted, a walk made a second track of one container: two rows).
 */
static void test_follow_promotes_sorted(void **state)
{
	static struct pmw_target t;
	static uint64_t obj[3][8];
	struct pmw_containers cs = { 0 };
	struct pmw_walk wk = { 0 };
	struct pmw_walk_container c[3];

	three_lists(&t, obj, c, &cs, &wk, true);
	cs.t0 -= 2.0;
	for (int k = 0; k < 3; k++)
		obj[k][2] += 300;
	assert_int_equal(pmw_containers_follow(&cs, &t), 3);
	assert_int_equal(cs.n, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(cs.tr[k].addr, c[k].addr);
		assert_ptr_equal(pmw_containers_find(&cs, c[k].addr), &cs.tr[k]);
	}
	/* the next walk meets the three again: still three tracks */
	for (int k = 0; k < 3; k++)
		c[k].len = 310;
	wk.walks = 2;
	assert_true(pmw_containers_update(&cs, &wk, &t) >= 0);
	assert_int_equal(cs.n, 3);
	pmw_containers_free(&cs);
}

/* A full history is thinned, not shifted: the span from the first point stays. */
/* walk number @walks of the one list at ADDR, @len long; the next walk @step s later */
static void walk_one(struct pmw_containers *cs, uint64_t walks, uint64_t len, double step)
{
	static struct pmw_target t = { .pid = -1 };
	struct pmw_walk_container c = { .addr = ADDR, .type = TYPE, .kind = PMW_CK_LIST,
					.fp = 0x1111, .sample_at = PMW_NO_SAMPLE, .len = len };
	struct pmw_walk wk = { .done = &c, .ndone = 1, .walks = walks };

	assert_true(pmw_containers_update(cs, &wk, &t) >= 0);
	cs->t0 -= step;
}

static void test_history_span(void **state)
{
	struct pmw_containers cs = { 0 };

	for (int i = 0; i < 200; i++) {
		walk_one(&cs, i + 1, 100 + 10 * i, 1.0);
		assert_true(cs.n == (i > 0) && (!cs.n || cs.tr[0].n <= PMW_CT_HIST));
	}
	/* first point at 0 min, 199 s of history */
	assert_true(cs.tr[0].t[0] < 0.05);
	assert_true(cs.tr[0].t[cs.tr[0].n - 1] > 3.2);
	assert_true(pmw_containers_score(&cs) > 1.0);
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

/*
 * An address whose short-lived lists changed length and that now holds one of
 * constant length (the soak's leaking services reuse freed temporaries'
 * addresses for their leaked small lists) is a constant entry again once it
 * stayed below its high for DEMOTE_POINTS walks: such tracks of 1.5 KB each
 * grew pymemwatch's RSS for the whole soak. A list that grows, or that
 * plateaus at its high, stays a track.
 */
static uint64_t reused(int i) { return i == 0 ? 10 : i == 1 ? 20 : 8; }

static void test_fallen_demoted(void **state)
{
	struct pmw_containers cs = { 0 };

	for (int i = 0; i < 7; i++) {
		walk_one(&cs, i + 1, reused(i), 2.0);
		if (i == 5)	/* fell 4 walks ago: still a track */
			assert_int_equal(cs.n, 1);
	}
	assert_int_equal(cs.n, 0);
	assert_int_equal(cs.nseen, 1);
	assert_int_equal(cs.seen[0].len, 8);
	/* it grows again: a track again, from its next change */
	walk_one(&cs, 8, 9, 2.0);
	assert_int_equal(cs.n, 1);
	pmw_containers_free(&cs);
	/* at its high, constant: stays a track (run() counts either; the score says it grew) */
	assert_true(run(22, grows, NULL, 0) > 0);
	assert_true(run(22, plateau, NULL, 0) == 0);
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
		cmocka_unit_test(test_bound_many),
		cmocka_unit_test(test_follow_headers),
		cmocka_unit_test(test_follow_promotes_sorted),
		cmocka_unit_test(test_history_span),
		cmocka_unit_test(test_fallen_demoted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
