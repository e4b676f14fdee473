// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One leak, one row (user/leak/groups.c): the lists of a defaultdict(list)
 * held as m.BY_TENANT['a'], ['b'], ['c'] are one leak m.BY_TENANT[*] with
 * their growth summed; a set of weak references is not a leak row but
 * follows the leak growing at its pace; different paths stay apart.
 * Per-user histories, each list in its own dict (m.USERS['u0']['history'],
 * m.USERS['u1']['history']), are one leak m.USERS[*]['history'] when they
 * grow at one line, several when their lines differ; paths that differ in an
 * attribute name, in a closure cell, or in two components stay apart.
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

/* @g is held by @holder, made of @n worst and @members in all, with these sums */
static void is_group(const struct pmw_leak_group *g, const char *holder, int n, int members,
		     double items, double per_min, double score)
{
	assert_string_equal(g->holder, holder);
	assert_int_equal(g->n, n);
	assert_int_equal(g->members, members);
	assert_true(g->items == items && g->items_per_min == per_min && g->score == score);
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
 * 14 tenants' lists of one dict (parent 0x900), 4 of them followed since the
 * holder search (no holder yet): the row sums all 14, not a bounded list of the
 * same dict (score 0) nor a growing list of another dict (a row of its own).
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
	assert_int_equal(n, 2);	/* the other dict's growing list: a row of its own */
	is_group(&g[0], "m.BY_TENANT[*]", 10, 14, 14 * 100 + 91, 14 * 60, 5.0);
	assert_int_equal(g[1].members, 1);
	assert_int_equal(g[1].items, 1000);
	/* without the walk's parents, those with a holder only; the others are rows */
	for (int i = 0; i < 16; i++)
		tr[i].parent = 0;
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 6);
	assert_int_equal(g[0].members, 10);
}

/* the growth site of @addr: one stack, its frame @file:@line */
static void grown_at(struct pmw_growth *g, struct pmw_gstack *st, struct pmw_frame *f,
		     uint64_t addr, const char *file, int line)
{
	memset(g, 0, sizeof(*g));
	memset(st, 0, sizeof(*st));
	g->addr = addr;
	snprintf(f->file, sizeof(f->file), "%s", file);
	f->line = line;
	st->frames = f;
	st->nframes = 1;
	st->hits = 16;
	g->stacks[0] = *st;
	g->nstacks = 1;
}

/*
 * Eight users' histories (each list in its own dict: eight parents), grown at one line:
 * one row m.USERS[*]['history'] summing all eight. Other lists of user u0's dict, grown
 * at other lines, stay apart: ['archive'] (with a growing list of that dict outside the
 * worst, grown at its line: u0's values, m.USERS['u0'][*]) and ['drafts']; the u0 dict's
 * siblings do not join the histories' row through its parent.
 */
static void test_group_nested(void **state)
{
	struct pmw_ctrack tr[11];
	struct pmw_containers cs = { .tr = tr, .n = 11 };
	struct pmw_growth gr[11];
	struct pmw_gstack st[11];
	struct pmw_frame fr[11];
	struct pmw_growths gs = { .g = gr, .n = 11 };	/* sorted by address */
	struct pmw_leak_group g[PMW_LEAKS_MAX];
	char h[64];
	int n;

	for (int i = 0; i < 8; i++) {
		snprintf(h, sizeof(h), "__main__.USERS['u%d']['history']", i);
		track(&tr[i], 0x100 + 0x10 * i, h, 1000 + i, 600, 9.0 - 0.1 * i, "tuple");
		tr[i].parent = 0x900 + 0x10 * i;	/* each user's own dict */
		grown_at(&gr[i], &st[i], &fr[i], tr[i].addr, "app.py", 39);
	}
	track(&tr[8], 0x200, "__main__.USERS['u0']['archive']", 500, 300, 3.0, "tuple");
	grown_at(&gr[8], &st[8], &fr[8], tr[8].addr, "app.py", 41);
	track(&tr[9], 0x210, "__main__.USERS['u0']['drafts']", 400, 200, 2.0, "tuple");
	grown_at(&gr[9], &st[9], &fr[9], tr[9].addr, "app.py", 45);
	track(&tr[10], 0x220, "", 400, 200, 0.5, "tuple");	/* outside the worst */
	grown_at(&gr[10], &st[10], &fr[10], tr[10].addr, "app.py", 41);
	tr[8].parent = tr[9].parent = tr[10].parent = 0x900;	/* u0's dict */
	n = pmw_leak_groups(&cs, &gs, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 3);
	is_group(&g[0], "__main__.USERS[*]['history']", 8, 8, 8 * 1000 + 28, 8 * 600, 9.0);
	assert_string_equal(g[0].site, "app.py:39");
	is_group(&g[1], "__main__.USERS['u0'][*]", 1, 2, 900, 500, 3.0);
	assert_string_equal(g[2].holder, "__main__.USERS['u0']['drafts']");
	assert_int_equal(g[2].members, 1);

	/* user u3's history grown at another line: a leak of its own */
	fr[3].line = 52;
	n = pmw_leak_groups(&cs, &gs, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 4);
	assert_string_equal(g[0].holder, "__main__.USERS[*]['history']");
	assert_int_equal(g[0].members, 7);
	assert_string_equal(g[1].holder, "__main__.USERS['u3']['history']");
}

/* paths that differ in a name, a code position, or two components are never one row */
static void test_group_apart(void **state)
{
	static const char *const h[] = {
		"m.alice.history", "m.bob.history",			/* attribute names */
		"m.f.__closure__[0].cell_contents", "m.f.__closure__[1].cell_contents",
		"m.f.__kwdefaults__['seen']", "m.f.__kwdefaults__['log']",	/* parameters */
		"m.D['a']['x']", "m.D['b']['y']",			/* two components */
		"m.K['a.b]']", "m.K['c']",				/* a key with '.' and ']' */
		"m.L[0].buf", "m.L[1].buf",				/* list items: one */
	};
	struct pmw_ctrack tr[12];
	struct pmw_containers cs = { .tr = tr, .n = 12 };
	struct pmw_leak_group g[PMW_LEAKS_MAX];
	int n;

	for (int i = 0; i < 12; i++)
		track(&tr[i], 0x100 + 0x10 * i, h[i], 100, 60, 12.0 - i, "int");
	n = pmw_containers_top(&cs, (struct pmw_ctrack *[PMW_LEAKS_MAX]){ 0 }, PMW_LEAKS_MAX);
	assert_int_equal(n, 10);	/* the 10 worst: m.L[1].buf is not among them */
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 10);	/* but among the PMW_HOLDERS_MAX worst, grouped */
	for (int i = 0; i < 8; i++)
		assert_string_equal(g[i].holder, h[i]);
	assert_string_equal(g[8].holder, "m.K[*]");
	assert_int_equal(g[8].members, 2);
	assert_string_equal(g[9].holder, "m.L[*].buf");
	assert_int_equal(g[9].members, 2);
	/* with the first eight out of the way: the same two groups */
	for (int i = 0; i < 8; i++)
		tr[i].score = 0;
	n = pmw_leak_groups(&cs, NULL, g, PMW_LEAKS_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(g[1].holder, "m.L[*].buf");
	assert_int_equal(g[1].members, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_group_whole),
		cmocka_unit_test(test_group_nested),
		cmocka_unit_test(test_group_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
