/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One leak, one row: the growing containers (containers.c, with their
 * holders, holders.c) as the leaks a user fixes. Containers of one shape
 * held by paths that differ only in one key of data, a dict key or list
 * index (the lists of a defaultdict(list), one per tenant: m.BY_TENANT['a'],
 * m.BY_TENANT['b']; per-user histories, each in its own dict:
 * m.USERS['u0']['history'], m.USERS['u1']['history']) are one leak,
 * m.BY_TENANT[*], m.USERS[*]['history'], with their growth summed, unless
 * their growth sites (growth.c) differ: a dict of lists each grown at its
 * own line holds several leaks. Paths that differ in an attribute name
 * (m.a.items, m.b.items, or self.pending and self.done of one object) are
 * never grouped: a name is a variable of the code, a key is data, and the
 * number of keys grows with the data. A container of
 * weak references (a WeakSet's .data, a WeakValueDictionary's .data) keeps
 * nothing alive: it is not a leak of its own but a consequence of the leak
 * whose growth it follows (asyncio.tasks._all_tasks.data grows with the
 * tasks a program keeps).
 */
#ifndef PMW_GROUPS_H
#define PMW_GROUPS_H

#include <stdbool.h>
#include "containers.h"
#include "growth.h"

struct pmw_leak_group {
	struct pmw_ctrack *tr[PMW_HOLDERS_MAX];	/* its worst containers, worst first */
	int n;
	int members;			/* all its containers: the worst ones and every other
					 * followed one of the same parent and shape */
	char holder[256];		/* tr[0]'s holder, its component @star written "[*]"
					 * when it has several */
	int star;			/* the component of the path its containers differ in
					 * (0: the module name), -1 none */
	double items, items_per_min;	/* summed over all its containers (last walk or header
					 * read) */
	double score;			/* its worst container's */
	struct pmw_ctrack *weak[PMW_GROUP_WEAK]; /* weak-reference containers that follow it */
	int nweak;
	char site[160];			/* the growth site of its containers, "" none known yet */
};

/* Are the items of @tr weak references (its sampled item type)? */
bool pmw_container_weak(const struct pmw_ctrack *tr);

/*
 * The leaks of @cs, worst first: its growing containers grouped as above
 * (among the PMW_HOLDERS_MAX worst; then, for a group whose paths differ in
 * their last key, every other growing track of the same parent dict or list,
 * type and item type joins the group's sums, so a defaultdict(list) of 50
 * tenants sums all 50 lists, not the few worst; a group that differs in a key
 * further up, m.USERS[*]['history'], sums its worst containers only),
 * weak-reference ones attached to the leak whose growth per minute is
 * closest to theirs (dropped when there is none); growth sites from @gs
 * (NULL: none). Returns the count (<= @max).
 */
int pmw_leak_groups(struct pmw_containers *cs, const struct pmw_growths *gs,
		    struct pmw_leak_group *out, int max);

#endif
