// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One leak, one row (groups.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "groups.h"

bool pmw_container_weak(const struct pmw_ctrack *tr)
{
	/* tp_name of weakref.ref (3.12+: "weakref.ReferenceType", before: "weakref"),
	 * of its proxies, and of weakref.KeyedRef (WeakValueDictionary's values) */
	static const char *const weak[] = { "weakref", "weakref.ReferenceType", "KeyedRef",
					    "weakref.KeyedRef", "weakproxy", "weakref.ProxyType",
					    "weakcallableproxy", "weakref.CallableProxyType" };
	const char *t = tr->holder_item_type[0] ? tr->holder_item_type : tr->item_type;

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (!strcmp(t, weak[i]))
			return true;
	return false;
}

/* The length of @h without its last subscript ("m.D['a']" -> 6), 0 if it has none. */
static size_t stem(const char *h)
{
	size_t n = strlen(h);
	const char *open;

	if (!n || h[n - 1] != ']')
		return 0;
	open = strrchr(h, '[');
	return open && open > h ? (size_t)(open - h) : 0;
}

/* "file:line" of the growth site of @tr into @site ("" unknown) */
static void site_of(const struct pmw_growths *gs, const struct pmw_ctrack *tr, char *site)
{
	char inner[160];

	site[0] = 0;
	if (gs)
		pmw_growth_site(pmw_growth_find(gs, tr->addr), site, 160, inner, sizeof(inner));
}

/*
 * Does @tr (growth site @site) belong to group @g: the same path but for its
 * last subscript, the same type and item type (a track made between walks, from
 * a header read, has its items typed at the next walk: "" matches), and no
 * other growth site?
 */
static bool same_shape(const struct pmw_leak_group *g, const struct pmw_ctrack *tr,
		       const char *site)
{
	const struct pmw_ctrack *a = g->tr[0];
	size_t s = stem(a->holder);

	return s && s == stem(tr->holder) && !strncmp(a->holder, tr->holder, s) &&
	       a->type == tr->type && (!a->item_type[0] || !tr->item_type[0] ||
				       !strcmp(a->item_type, tr->item_type)) &&
	       (!site[0] || !g->site[0] || !strcmp(site, g->site)) && g->n < PMW_LEAKS_MAX;
}

/* its items and growth into @g's sums; the holder "PATH[*]" once it has several */
static void add_sums(struct pmw_leak_group *g, const struct pmw_ctrack *tr)
{
	g->items += tr->n ? tr->len[tr->n - 1] : 0;
	g->items_per_min += tr->items_per_min;
	if (++g->members == 1)
		snprintf(g->holder, sizeof(g->holder), "%s", tr->holder);
	else
		snprintf(g->holder, sizeof(g->holder), "%.*s[*]", (int)stem(g->tr[0]->holder),
			 g->tr[0]->holder);
}

static void add(struct pmw_leak_group *g, struct pmw_ctrack *tr, const char *site)
{
	if (!g->site[0])
		snprintf(g->site, sizeof(g->site), "%s", site);
	g->tr[g->n++] = tr;
	if (tr->score > g->score)
		g->score = tr->score;
	add_sums(g, tr);
}

/*
 * Is track @tr, not among the worst, another container of group @g: growing (scored), an
 * item of the same dict or list as its first (the walk's parent), of its type and item
 * type, of no other growth site (@gs)? Only for a group held by a subscript
 * ("m.D['a']": m.D's values), not by an attribute or a module's globals.
 */
static bool same_parent(const struct pmw_leak_group *g, const struct pmw_ctrack *tr,
			const struct pmw_growths *gs)
{
	const struct pmw_ctrack *a = g->tr[0];
	char site[160];

	if (!a->parent || tr->parent != a->parent || tr->type != a->type || !stem(a->holder) ||
	    tr->score <= 0 ||	/* it grows too: a bounded sibling is no part of the leak */
	    (a->item_type[0] && tr->item_type[0] && strcmp(a->item_type, tr->item_type)) ||
	    pmw_container_weak(tr))
		return false;
	site_of(gs, tr, site);
	return !site[0] || !g->site[0] || !strcmp(site, g->site);
}

/* Every other followed container of each group's shape into its sums (not its worst ones). */
static void extend(struct pmw_containers *cs, const struct pmw_growths *gs,
		   struct pmw_leak_group *out, int ng, struct pmw_ctrack **top, int ntop)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct pmw_ctrack *tr = &cs->tr[i];
		int k;

		for (k = 0; k < ntop && top[k] != tr; k++)
			;
		if (k < ntop || !tr->parent)
			continue;
		for (int g = 0; g < ng; g++)
			if (same_parent(&out[g], tr, gs)) {
				add_sums(&out[g], tr);
				break;
			}
	}
}

/* how far apart two growths are: |log ratio| of items per minute */
static double apart(const struct pmw_leak_group *g, const struct pmw_ctrack *tr)
{
	return fabs(log((g->items_per_min + 1) / (tr->items_per_min + 1)));
}

/*
 * Attach weak-reference container @tr to the leak of @gs whose growth is
 * closest: the worst one within 5% of the closest (leaks growing in step,
 * one item each per request, follow the first).
 */
static void attach_weak(struct pmw_leak_group *gs, int n, struct pmw_ctrack *tr)
{
	int best = -1;
	double bd = INFINITY;

	for (int k = 0; k < n; k++)
		if (apart(&gs[k], tr) < bd)
			bd = apart(&gs[k], tr);
	for (int k = 0; k < n && best < 0; k++)
		if (apart(&gs[k], tr) <= bd + 0.05)
			best = k;
	if (best >= 0 && gs[best].nweak < PMW_GROUP_WEAK)
		gs[best].weak[gs[best].nweak++] = tr;
}

int pmw_leak_groups(struct pmw_containers *cs, const struct pmw_growths *gs,
		    struct pmw_leak_group *out, int max)
{
	struct pmw_ctrack *top[PMW_LEAKS_MAX], *weak[PMW_LEAKS_MAX];
	int n = pmw_containers_top(cs, top, PMW_LEAKS_MAX), ng = 0, nw = 0;

	for (int k = 0; k < n; k++) {
		char site[160];
		int g;

		if (pmw_container_weak(top[k])) {
			weak[nw++] = top[k];
			continue;
		}
		site_of(gs, top[k], site);
		for (g = 0; g < ng && !same_shape(&out[g], top[k], site); g++)
			;
		if (g == ng) {
			if (ng == max)
				continue;
			memset(&out[ng++], 0, sizeof(out[0]));
		}
		add(&out[g], top[k], site);
	}
	extend(cs, gs, out, ng, top, n);
	for (int k = 0; k < nw; k++)
		attach_weak(out, ng, weak[k]);
	return ng;
}
