// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One leak, one row (user/leak/groups.c): the lists of a defaultdict(list)
 * held as m.BY_TENANT['a'], ['b'], ['c'] are one leak m.BY_TENANT[*] with
 * their growth summed; a set of weak references is not a leak row but
 * follows the leak growing at its pace; different paths stay apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "groups.h"

static void track(struct pmw_ctrack *tr, uint64_t addr, const char *holder, double len,
		  double per_min, double score, const char *item_type)
{
	memset(tr, 0, sizeof(*tr));
	tr->addr = addr;
	tr->type = 0x1000;
	tr->n = 1;
	tr->len[0] = len;
	tr->items_per_min = per_min;
	tr->score = score;
	snprintf(tr->holder, sizeof(tr->holder), "%s", holder);
	snprintf(tr->item_type, sizeof(tr->item_type), "%s", item_type);
}

static void test_groups(void **state)
{
	struct pmw_ctrack tr[7];
	struct pmw_containers cs = { .tr = tr, .n = 7 };
	struct pmw_leak_group g[PMW_LEAKS_MAX];
	int n;

	track(&tr[0], 0x10, "m.BY_TENANT['a']", 100, 60, 5.0, "int");
	track(&tr[1], 0x20, "m.OTHER", 500, 600, 6.0, "Job");
	track(&tr[2], 0x30, "m.BY_TENANT['b']", 200, 60, 4.0, "int");
	track(&tr[3], 0x40, "asyncio.tasks._all_tasks.data", 480, 590, 5.5,
	      "weakref.ReferenceType");
	track(&tr[4], 0x50, "m.BY_TENANT['c']", 300, 60, 3.0, "int");
	track(&tr[5], 0x60, "m.x.BY_TENANT['d']", 300, 60, 2.0, "int");	/* another path */
	track(&tr[6], 0x70, "", 300, 60, 1.0, "int");			/* no holder found */
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(g[0].holder, "m.OTHER");
	assert_int_equal(g[0].nweak, 1);
	assert_ptr_equal(g[0].weak[0], &tr[3]);
	assert_string_equal(g[1].holder, "m.BY_TENANT[*]");
	assert_int_equal(g[1].n, 3);
	assert_true(g[1].items == 600 && g[1].items_per_min == 180 && g[1].score == 5.0);
	assert_int_equal(g[1].nweak, 0);
	assert_string_equal(g[2].holder, "m.x.BY_TENANT['d']");
	assert_int_equal(g[3].n, 1);
	assert_true(pmw_container_weak(&tr[3]));
	assert_false(pmw_container_weak(&tr[1]));
}

/*
 * 14 tenants' lists of one dict (parent 0x900), more than the PMW_LEAKS_MAX worst:
 * the row sums all 14 (the 4 outside the worst have no holder searched), not a
 * bounded list of the same dict (score 0) nor a growing list of another dict.
 */
static void test_group_whole(void **state)
{
	struct pmw_ctrack tr[16];
	struct pmw_containers cs = { .tr = tr, .n = 16 };
	struct pmw_leak_group g[PMW_LEAKS_MAX];
	char h[64];
	int n;

	for (int i = 0; i < 14; i++) {
		snprintf(h, sizeof(h), "m.BY_TENANT['t%d']", i);
		track(&tr[i], 0x100 + 0x10 * i, i < 10 ? h : "", 100 + i, 60, i < 10 ? 5.0 - 0.1 * i : 1.0,
		      i < 12 ? "Event" : "");	/* the newest not typed yet */
		tr[i].parent = 0x900;
	}
	track(&tr[14], 0x400, "", 1000, 0, 0, "Event");	/* bounded, same dict */
	tr[14].parent = 0x900;
	track(&tr[15], 0x410, "", 1000, 60, 0.5, "Event");	/* another dict's */
	tr[15].parent = 0x980;
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 1);
	assert_string_equal(g[0].holder, "m.BY_TENANT[*]");
	assert_int_equal(g[0].n, 10);
	assert_int_equal(g[0].members, 14);
	assert_true(g[0].items == 14 * 100 + 91 && g[0].items_per_min == 14 * 60);
	assert_true(g[0].score == 5.0);
	/* without the walk's parents, the worst ones only */
	for (int i = 0; i < 16; i++)
		tr[i].parent = 0;
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].members, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_group_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
