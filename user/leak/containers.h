/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Growing containers: every list, dict (and subclasses), set and deque a
 * heap walk reports is followed by address and type across walks, and its
 * length fitted over time. A leak is a container that keeps growing: a
 * positive slope, a good fit, new highs in the recent half of its history
 * and a stable first item (first key, left block) unless it grew meanwhile. A
 * bounded cache that plateaus or oscillates sets no new highs and scores 0
 * however large or busy it is, as does one that gives back between walks at
 * least half of what it gains (a saw-tooth faster than the walks); one that evicts changes its first item while
 * its length stays; one that is cleared (down to half its high) scores 0, as
 * does a deque with a maxlen. A container that grows while its first item
 * changes (a backlog drained from the front, a list kept newest first, a dict
 * pruned slower than it fills) is a leak.
 */
#ifndef PMW_CONTAINERS_H
#define PMW_CONTAINERS_H

#include <stdbool.h>
#include <stdint.h>
#include "walk.h"

#define PMW_CT_HIST	48	/* points of history per container (walks and header rounds; when
				 * full, the older half is thinned to every other point) */
#define PMW_LEAKS_MAX	10	/* leak rows per process and interval */
#define PMW_HOLDERS_MAX	16	/* containers whose holders are searched and growth
				 * watched: more than the rows, since one row
				 * may group several (groups.c) */
#define PMW_GROUP_WEAK	4	/* weak-reference containers listed per leak row (groups.c) */

struct pmw_growth;

struct pmw_ctrack {
	uint64_t addr;			/* container object address, key */
	uint64_t type, fp;		/* identity */
	uint8_t kind;			/* enum pmw_ckind */
	bool bounded;			/* deque with maxlen */
	int n;				/* points in t[], len[] */
	double t[PMW_CT_HIST];		/* minutes since attach */
	double len[PMW_CT_HIST];	/* len() */
	uint8_t fp_changed[PMW_CT_HIST]; /* the first item changed since the point before */
	uint64_t seen;			/* walk number of the last sighting */
	uint64_t parent;		/* the dict or list it is a value or item of, as the walk
					 * met it (pmw_walk_parent); 0 unknown */
	uint64_t sample[PMW_WALK_SAMPLE]; /* newest items at the last walk */
	int nsample;
	/* derived after each walk */
	double items_per_min;		/* least-squares slope */
	double r2;			/* fit of that line */
	double highs;			/* share of recent walks that set a new high, 0..1 */
	double stable;			/* share of walks whose first item stayed or that grew, 0..1 */
	double item_bytes;		/* mean real size of the sampled items, 0 unknown */
	double score;			/* 0 = not growing */
	char item_type[64];		/* most common type of the sampled items */
	uint64_t item_type_obj;		/* its type object, 0 unknown */
	char type_name[64];		/* the container's own type */
	/* holder search (holders.c), for the worst ones */
	char holder[256];		/* "auth.ACTIVE_TOKENS", "" not found (yet) */
	uint8_t holder_kind;		/* enum pmw_holder_kind */
	uint64_t holder_retained;	/* retained bytes from the search, UINT64_MAX unavailable */
	uint64_t holder_retained_items;	/* its length when they were measured (0 unknown) */
	char holder_item_type[64];
};

/*
 * A container seen at the same length in every walk so far: 48 B instead of a
 * pmw_ctrack's ~1.7 KB. Most containers never change length (a leak of many
 * small lists adds a few hundred a second: as tracks, 3 such targets took
 * 158 MiB in 2 min and each walk's sorted inserts stalled the loop for
 * seconds); one becomes a track when its length changes.
 */
struct pmw_cseen {
	uint64_t addr;			/* container object address, key */
	uint64_t type, fp;		/* identity, as pmw_ctrack */
	uint64_t len;			/* len() in every walk so far */
	float t_first, t_last;		/* minutes since attach: first and last sighting */
	uint32_t seen;			/* walk number of the last sighting (low 32 bits) */
	uint8_t kind;			/* enum pmw_ckind */
	uint8_t global;			/* a module global (kept first, whatever its length) */
};

/*
 * What is followed is bounded by what is worth following, not by how many
 * containers a target makes: the PMW_CSEEN_MAX module globals and largest of constant length
 * and the PMW_CTRACK_MAX best tracks (scored, then growing, then largest).
 * A target leaking 200 small lists a second used to fill 256 k entries
 * and 16 k tracks (40 MiB per target) in the 10-minute soak.
 */
#define PMW_CSEEN_MAX	(1 << 14)	/* containers of constant length followed (768 KiB) */
#define PMW_CTRACK_MAX	(1 << 11)	/* containers whose length changed followed (3.4 MiB) */
#define PMW_FOLLOW_SEEN	(1 << 14)	/* constant ones whose header is re-read, in turn */

struct pmw_containers {
	struct pmw_ctrack *tr;		/* sorted by address */
	size_t n, cap;
	struct pmw_cseen *seen;		/* sorted by address, none also in tr */
	size_t nseen, cap_seen;
	uint64_t untracked;		/* containers not followed: not worth it (cumulative) */
	bool warned;			/* that was said */
	uint64_t walks;			/* walks folded in */
	double t0;			/* CLOCK_MONOTONIC seconds of the first walk */
	double walked_at;		/* CLOCK_MONOTONIC seconds of the last walk folded in */
	uint64_t follow_min;		/* constant ones of this length or more have their header
					 * re-read (the PMW_FOLLOW_SEEN largest); 0: none yet */
	uint64_t follows;		/* header rounds done */
	int nfollowed;			/* headers read in the last round */
	uint64_t follow_bytes;		/* bytes read in the last round */
	uint64_t follow_bytes_total;	/* bytes read in all rounds */
	size_t follow_turn;		/* where the next round's turn over the others starts */
};

/* One leak as outputs print it (see --csv-leaks in doc/leaks.md). */
struct pmw_leak_row {
	int rank;			/* 1 = worst */
	char holder[256];		/* "module.NAME" or "TYPE@0xADDR" until holder paths exist */
	char holder_kind[24];		/* "module_global", ..., "" unknown */
	uint64_t items;			/* len() at the last walk */
	double items_per_min;
	uint64_t retained_bytes;	/* items x mean sampled item size; UINT64_MAX unavailable */
	double retained_bytes_per_min;	/* NAN unavailable */
	char item_type[64];
	char site[160];			/* "file:line" of the call site creating the items, "" unknown */
	char site_inner[160];		/* "file:line" of the growing stack's innermost frame, "" */
	const struct pmw_growth *growth; /* its growth site record (stacks, shares), NULL none */
	int containers;			/* containers summed in this row (groups.c: "PATH[*]") */
	const struct pmw_ctrack *weak[PMW_GROUP_WEAK]; /* weak-reference containers that follow it */
	int nweak;
	double score;
	uint64_t container;		/* address */
	double retained_age_s;		/* seconds since the walk that measured retained_bytes and the
					 * item sizes (items, items_per_min: this interval) */
};

/*
 * Fold the last completed walk of @wk into @cs: match containers by address
 * and identity, add a point, fit, score, type the newest items of the
 * growing ones. Returns the number of growing containers, or -ENOMEM.
 */
int pmw_containers_update(struct pmw_containers *cs, struct pmw_walk *wk,
			  const struct pmw_target *t);

/*
 * Between walks, once per interval: re-read the headers (type, length) of
 * what can rank (the tracks that grow or are new, the module globals) and,
 * in turn, 512 of the others (tracks that stopped growing, the
 * PMW_FOLLOW_SEEN largest of constant length), one batched read of 48 B
 * each: (growing + new + globals + 512) x 48 B, a few KiB to tens of KiB
 * (was every track and all of the largest: up to 864 KiB). A point is
 * added where the type is still the one tracked and the object alive
 * (reference count > 0); a constant one whose length changed becomes a
 * track; all are rescored, so growth ranks within seconds, not walks.
 * Returns the headers read, or -ESRCH / -ENOMEM.
 */
int pmw_containers_follow(struct pmw_containers *cs, const struct pmw_target *t);

/* Growing containers, worst first (score > 0); returns the count (<= @max). */
int pmw_containers_top(struct pmw_containers *cs, struct pmw_ctrack **out, int max);

/*
 * Name the holders of the @max worst containers of @cs (pmw_holders_find:
 * paths, kinds, retained bytes). Returns paths found or -errno.
 */
int pmw_containers_holders(struct pmw_containers *cs, const struct pmw_target *t, int max);

/* The largest score of @cs (0 if nothing grows): the process leak score. */
double pmw_containers_score(const struct pmw_containers *cs);

/*
 * Could the item at insertion position @index of @tr have been inserted at
 * @when (CLOCK_MONOTONIC seconds)? Its length then, interpolated from the
 * walks, is @index within about a second of growth.
 */
bool pmw_containers_index_ok(const struct pmw_containers *cs, const struct pmw_ctrack *tr,
			     uint64_t index, double when);

/* The track of container @addr, or NULL. */
struct pmw_ctrack *pmw_containers_find(struct pmw_containers *cs, uint64_t addr);

/*
 * The containers whose items the next walk should record (pmw_walk.watch):
 * the growing ones, up to PMW_HOLDERS_MAX; and those whose newest items it
 * should keep (pmw_walk.want_sample): every track. Returns the count of the
 * growing ones or -ENOMEM.
 */
int pmw_containers_watch(struct pmw_containers *cs, struct pmw_walk *wk);

/*
 * The containers whose newest items and parent the next walk should keep
 * (pmw_walk.want_sample): every track, including those made from header
 * reads since the last walk. 0 or -ENOMEM.
 */
int pmw_containers_want(struct pmw_containers *cs, struct pmw_walk *wk);

void pmw_containers_free(struct pmw_containers *cs);

#endif
