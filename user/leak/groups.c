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

/*
 * The components of holder path @h (holders.c writes them: a module name, ".attr",
 * "['key']", "[\"k'ey\"]", "[12]", "[<tuple>]"): the offset of each into @at, @at[n]
 * = strlen(@h). Returns n, -1 for more than @max.
 */
static int parts(const char *h, int *at, int max)
{
	const char *c = h;
	int n = 0;

	while (*c) {
		if (n == max)
			return -1;
		at[n++] = (int)(c - h);
		if (*c == '[') {
			if (*++c == '\'' || *c == '"') {	/* a str key: ']' or '.' may be in it */
				char q = *c++;

				while (*c && *c != q)
					c++;
			}
			while (*c && *c++ != ']')
				;
		} else {
			while (*++c && *c != '.' && *c != '[')
				;
		}
	}
	at[n] = (int)(c - h);
	return n;
}

/*
 * Is component @i of @h (offsets @at) a key of data: a dict key or list index, not a
 * position or name in code (a closure cell, a default, a keyword-only default, a
 * functools.partial's args and keywords: f.__closure__[0] and f.__closure__[1] are two
 * variables; holders.c step_fmt)?
 */
static bool key_part(const char *h, const int *at, int i)
{
	static const char *const code[] = { ".__closure__", ".__defaults__", ".__kwdefaults__",
					    ".args", ".keywords" };

	if (h[at[i]] != '[')
		return false;
	for (size_t k = 0; i > 0 && k < sizeof(code) / sizeof(code[0]); k++)
		if (at[i] - at[i - 1] == (int)strlen(code[k]) &&
		    !strncmp(h + at[i - 1], code[k], (size_t)(at[i] - at[i - 1])))
			return false;
	return true;
}

/*
 * How holder paths @a and @b differ: the index of the one component in which they
 * do, a key of data in both (m.U['u0']['history'], m.U['u1']['history']: 1);
 * PMW_PATH_SAME equal and with a key somewhere; PMW_PATH_APART otherwise (another
 * count of components, two or more differ, a name differs: m.a.items, m.b.items are
 * two variables of the code, grouped as one they could hide a leak).
 */
#define PMW_PATH_SAME	(-1)
#define PMW_PATH_APART	(-2)
#define PMW_PATH_PARTS	32
static int path_apart(const char *a, const char *b)
{
	int pa[PMW_PATH_PARTS + 1], pb[PMW_PATH_PARTS + 1], na, nb, d = PMW_PATH_SAME, keys = 0;

	na = parts(a, pa, PMW_PATH_PARTS);
	nb = parts(b, pb, PMW_PATH_PARTS);
	if (na <= 0 || na != nb)
		return PMW_PATH_APART;
	for (int i = 0; i < na; i++) {
		int la = pa[i + 1] - pa[i], lb = pb[i + 1] - pb[i];

		keys += key_part(a, pa, i);
		if (la == lb && !memcmp(a + pa[i], b + pb[i], (size_t)la))
			continue;
		if (d != PMW_PATH_SAME || !key_part(a, pa, i) || !key_part(b, pb, i))
			return PMW_PATH_APART;
		d = i;
	}
	return d == PMW_PATH_SAME && !keys ? PMW_PATH_APART : d;
}

/* @h's last component if it is a key of data (m.D['a']: m.D's values), else -1 */
static int last_key(const char *h)
{
	int at[PMW_PATH_PARTS + 1], n = parts(h, at, PMW_PATH_PARTS);

	return n > 0 && key_part(h, at, n - 1) ? n - 1 : -1;
}

/* @g's holder: its first container's, component @g->star written "[*]" once it has several */
static void holder_of(struct pmw_leak_group *g)
{
	const char *h = g->tr[0]->holder;
	int at[PMW_PATH_PARTS + 1];

	if (g->members > 1 && g->star >= 0 && parts(h, at, PMW_PATH_PARTS) > g->star)
		snprintf(g->holder, sizeof(g->holder), "%.*s[*]%s", at[g->star], h,
			 h + at[g->star + 1]);
	else
		snprintf(g->holder, sizeof(g->holder), "%s", h);
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
 * Does @tr (growth site @site) belong to group @g: a path equal to its first
 * container's but for one key of data (at the component the group already
 * varies in, if it does: its index into @star), the same type and item type (a
 * track made between walks, from a header read, has its items typed at the next
 * walk: "" matches), and no other growth site?
 */
static bool same_shape(const struct pmw_leak_group *g, const struct pmw_ctrack *tr,
		       const char *site, int *star)
{
	const struct pmw_ctrack *a = g->tr[0];
	int d = path_apart(a->holder, tr->holder);

	if (d == PMW_PATH_APART || (d >= 0 && g->star >= 0 && d != g->star))
		return false;
	*star = d >= 0 ? d : g->star >= 0 ? g->star : last_key(a->holder);
	return a->type == tr->type && (!a->item_type[0] || !tr->item_type[0] ||
				       !strcmp(a->item_type, tr->item_type)) &&
	       (!site[0] || !g->site[0] || !strcmp(site, g->site)) && g->n < PMW_HOLDERS_MAX;
}

/* its items and growth into @g's sums; the holder with "[*]" once it has several */
static void add_sums(struct pmw_leak_group *g, const struct pmw_ctrack *tr)
{
	g->items += tr->n ? tr->len[tr->n - 1] : 0;
	g->items_per_min += tr->items_per_min;
	g->members++;
	holder_of(g);
}

static void add(struct pmw_leak_group *g, struct pmw_ctrack *tr, const char *site, int star)
{
	if (!g->site[0])
		snprintf(g->site, sizeof(g->site), "%s", site);
	g->tr[g->n++] = tr;
	g->star = star;
	if (tr->score > g->score)
		g->score = tr->score;
	add_sums(g, tr);
}

/*
 * Is track @tr, not among the worst, another container of group @g: growing (scored), an
 * item of the same dict or list as its first (the walk's parent), of its type and item
 * type, of no other growth site (@gs)? Only for a group held by a key of that dict or
 * list ("m.D['a']": m.D's values; the group varies in no other component), not by an
 * attribute or a module's globals. A group whose key is further up the path
 * (m.U[*]['history']: its lists are each in another dict) takes its worst ones only:
 * their parents' siblings are other keys of one user (m.U['u0']['archive']).
 */
static bool same_parent(const struct pmw_leak_group *g, const struct pmw_ctrack *tr,
			const struct pmw_growths *gs)
{
	const struct pmw_ctrack *a = g->tr[0];
	int last = last_key(a->holder);
	char site[160];

	if (!a->parent || tr->parent != a->parent || tr->type != a->type || last < 0 ||
	    (g->star >= 0 && g->star != last) ||
	    tr->score <= 0 ||	/* it grows too: a bounded sibling is no part of the leak */
	    (a->item_type[0] && tr->item_type[0] && strcmp(a->item_type, tr->item_type)) ||
	    pmw_container_weak(tr))
		return false;
	site_of(gs, tr, site);
	return !site[0] || !g->site[0] || !strcmp(site, g->site);
}

/*
 * Track @tr among the worst but with no holder yet (followed since the holder
 * search): into the sums of the group whose first container shares its parent
 * (as extend() does for those outside the worst)? false: it makes a row of its own.
 */
static bool joins_by_parent(const struct pmw_growths *gs, struct pmw_leak_group *out, int ng,
			    struct pmw_ctrack *tr)
{
	for (int g = 0; g < ng; g++)
		if (same_parent(&out[g], tr, gs)) {
			out[g].star = last_key(out[g].tr[0]->holder);
			add_sums(&out[g], tr);
			return true;
		}
	return false;
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
		joins_by_parent(gs, out, ng, tr);
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
	struct pmw_ctrack *top[PMW_HOLDERS_MAX], *weak[PMW_HOLDERS_MAX];
	int n = pmw_containers_top(cs, top, PMW_HOLDERS_MAX), ng = 0, nw = 0;

	for (int k = 0; k < n; k++) {
		char site[160];
		int g, star = -1;

		if (pmw_container_weak(top[k])) {
			weak[nw++] = top[k];
			continue;
		}
		if (!top[k]->holder[0] && joins_by_parent(gs, out, ng, top[k]))
			continue;	/* its holder not searched yet: a sibling of a row's */
		site_of(gs, top[k], site);
		for (g = 0; g < ng && !same_shape(&out[g], top[k], site, &star); g++)
			;
		if (g == ng) {
			if (ng == max)
				continue;
			memset(&out[ng], 0, sizeof(out[0]));
			out[ng++].star = star = -1;
		}
		add(&out[g], top[k], site, star);
	}
	extend(cs, gs, out, ng, top, n);
	for (int k = 0; k < nw; k++)
		attach_weak(out, ng, weak[k]);
	return ng;
}
