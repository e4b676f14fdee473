/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Heap walk: every allocated block of every used pymalloc pool, read from
 * target memory; the object in each block identified and typed (type
 * pointers validated: their type's type chain ends at `type`, whose own
 * type is itself); an exact census per type; the containers (list, dict and
 * subclasses, set, deque) with their lengths and newest items. Objects over
 * 512 B (libc malloc, outside pools) are counted when a container or tuple
 * holds them. Needs only _PyRuntime and memory: no symbols, no probe.
 *
 * Walks never stop the target. They are paced by a CPU budget on our side
 * and done in steps; what races with the target (a pool whose free list
 * does not match its count, an unreadable piece) is skipped and counted.
 */
#ifndef PMW_WALK_H
#define PMW_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include "heap.h"
#include "mimalloc.h"
#include "target.h"

#define PMW_WALK_SAMPLE		16	/* newest items kept per container */
#define PMW_WALK_MIN_LEN	8	/* containers shorter than this are not reported */
#define PMW_WALK_CONTS_MAX	(1 << 18) /* containers reported per walk (48 B each); the
					   * others are counted in containers_skipped */

enum pmw_ckind { PMW_CK_NONE, PMW_CK_LIST, PMW_CK_DICT, PMW_CK_SET, PMW_CK_DEQUE };

/* "list", "dict", "set", "deque" or "" */
const char *pmw_ckind_name(enum pmw_ckind k);

/* A validated type object of the target (cached per walk). */
struct pmw_wtype {
	uint64_t addr;			/* type object address, key */
	uint64_t flags;			/* tp_flags */
	uint64_t base;			/* tp_base */
	int64_t basicsize, itemsize;	/* tp_basicsize, tp_itemsize, bytes */
	uint32_t gen;			/* walk that validated it; stale entries are revalidated */
	uint8_t off;			/* object offset in its block: PyGC_Head + pre-header */
	uint8_t kind;			/* enum pmw_ckind of the type or a base */
	bool ok;			/* it is a type */
	bool bounded;			/* never grows without bound (deque with maxlen: per object) */
	bool module;			/* the module type: its objects' md_dict are module globals */
	uint64_t objects, bytes;	/* this walk's census */
	char name[64];			/* tp_name */
};

/* The part of one arena frame (@frame: address >> fshift, + 1) inside arenas:
 * offsets below lo_end or from hi_start on. */
struct pmw_wframe {
	uint64_t frame;
	uint32_t lo_end, hi_start;
};

/* One container seen by a walk (length >= PMW_WALK_MIN_LEN). */
struct pmw_walk_container {
	uint64_t addr;			/* object address */
	uint64_t type;			/* its type object */
	uint64_t fp;			/* identity: first item / first key / left block, 0 unknown */
	uint64_t len;			/* len() */
	uint64_t maxlen;		/* deque maxlen, 0 = none */
	uint32_t sample_at;		/* its newest items (dict: values), nsample of them, are
					 * pmw_walk_sample(); PMW_NO_SAMPLE: not kept */
	uint8_t nsample;
	uint8_t kind;			/* enum pmw_ckind */
	uint8_t global;			/* a value of a module's __dict__ (a module global) */
};

/* An item (dict: key or value) of a watched container. */
struct pmw_item_owner {
	uint64_t item;			/* object address, 0 = empty slot */
	uint64_t container;
	uint32_t index;			/* insertion position (list, deque, dict entries), or
					 * PMW_NO_INDEX (set) */
};
#define PMW_NO_INDEX	UINT32_MAX
#define PMW_NO_SAMPLE	UINT32_MAX

/* One census row: objects and bytes per type name. */
struct pmw_walk_census {
	char name[64];
	uint64_t objects;		/* count */
	uint64_t bytes;			/* pymalloc block bytes + real size of objects > 512 B */
	uint64_t large_objects;		/* of which outside pymalloc (> 512 B, reached from containers) */
	int64_t objects_delta, bytes_delta; /* since the previous walk */
};

struct pmw_walk_stats {
	uint64_t pools, blocks, objects; /* walked: used pools, allocated blocks, objects found */
	uint64_t other_blocks;		/* allocated blocks holding no object (buffers) */
	uint64_t torn;			/* pools and pieces skipped: racing or unreadable */
	uint64_t containers_skipped;	/* containers past PMW_WALK_CONTS_MAX, or not worth
					 * following (keep_new), not reported */
	uint64_t large_objects, large_bytes; /* objects > 512 B found through containers */
	uint64_t bytes_read;		/* target memory read */
	double cpu_s, wall_s;		/* our CPU time and wall time of the walk */
	double copy_s;			/* of cpu_s, in process_vm_readv copying those bytes: the
					 * floor of any walk from outside */
};

struct pmw_walk {
	/* progress of the walk under way */
	int phase;			/* 0: no walk under way */
	uint32_t gen;			/* walks started */
	struct pmw_heap_pools hp;
	struct pmw_mi_pages mp;		/* free-threaded: the mimalloc pages of objects instead */
	bool ft;			/* walking mimalloc pages (free-threaded), not pymalloc pools */
	size_t next;			/* next pool (or mimalloc page) to read */
	struct pmw_walk_stats cur;
	double start;			/* CLOCK_MONOTONIC seconds */
	double turn_at;			/* CLOCK_MONOTONIC seconds it was last given the turn */
	struct pmw_walk_container *conts;
	int nconts, cap_conts;
	uint64_t *large;		/* candidate objects > 512 B: open-addressed set */
	size_t nlarge, cap_large;
	unsigned int large_lvl;		/* the set samples 1 in 2^large_lvl addresses (walk.c) */
	/* items of watched containers (growing ones), item -> container: open-addressed */
	uint64_t *watch;		/* in: container addresses, sorted; set by the caller */
	int nwatch;
	struct pmw_item_owner *items;
	size_t nitems, cap_items;
	/* newest items, kept only for the containers in want_sample (in: sorted, set by the
	 * caller: the ones it follows; 120 k containers x 128 B grew our RSS) or all of them
	 * with sample_all (fuzzing); PMW_WALK_SAMPLE slots per container */
	uint64_t *want_sample;
	int nwant_sample;
	bool sample_all;
	/* the dict or list each container of want_sample was met in as a value or item (the
	 * walk's own, set at its start: parallel to want_sample, 0 none met), and a bitmap of
	 * want_sample's addresses that keeps the lookup off most items */
	uint64_t *want_parent;
	uint64_t *want_bits;
	/* in, optional (keep_new 0: every container, as snapshot lists them): the container list
	 * bounded by what the caller follows, not by how many containers the heap holds (a target
	 * leaking 200 lists a second made each walk's list, and pymemwatch's RSS while it ran,
	 * grow by 1.6 MiB a minute): the ones at @known (sorted, owned), module globals, and the
	 * @keep_new longest others (by log2 of len, as containers.c keeps them) */
	uint64_t *known;
	size_t nknown, keep_new;
	int cut;			/* log2 of len under which other containers are dropped */
	uint64_t *keep_globals;		/* module globals at the last prune (sorted), this walk */
	size_t nkeep_globals, globals_at; /* ... read when this walk had met globals_at modules */
	uint64_t *prev_modules;		/* md_dict of the modules of the last walk, sorted */
	size_t nprev_modules;
	uint64_t *samples;
	uint32_t nsamples, cap_samples;	/* groups of PMW_WALK_SAMPLE */
	/* the arenas by frame of 2^fshift bytes (fshift 0: none, pmw_heap_in_arena() instead) */
	struct pmw_wframe *frames;
	size_t cap_frames;
	unsigned int fshift;
	uint64_t *modules;		/* md_dict of the modules met in this walk */
	size_t nmodules, cap_modules;
	uint8_t *chunk_buf;		/* pools of one read, reused (a fresh 512 KiB each time was
					 * a fault per page: a quarter of the walk's CPU time) */
	/* validated types: open-addressed table */
	struct pmw_wtype *types;
	size_t ntypes, cap_types;
	uint64_t pytype;		/* &PyType_Type, learned from the type chain */
	double types_at;		/* CLOCK_MONOTONIC seconds of the table's last renewal */
	/* optional, set by the caller (snapshot's advice): called for every object found in a
	 * pool, with its validated type, address, the pool image's bytes from the object's
	 * start (@o, @avail of them: the rest of its block) and its block size; and for every
	 * object > 512 B found through containers, with @o NULL and its real size as @block */
	void (*on_object)(void *arg, const struct pmw_wtype *ty, uint64_t addr, const uint8_t *o,
			  size_t avail, uint32_t block);
	void *on_object_arg;
	/* the last complete walk */
	uint64_t walks;			/* completed */
	double done_at;			/* CLOCK_MONOTONIC seconds of its end */
	struct pmw_walk_stats last_stats;
	struct pmw_walk_container *done;	/* sorted by address */
	int ndone, cap_done;		/* @done's slots: the next walk's conts (reused, not re-made) */
	uint32_t cap_dsamples;		/* @dsamples' groups: the next walk's samples */
	uint64_t *dsamples;		/* their newest items (sample_at) */
	struct pmw_walk_census *census;	/* sorted by bytes, largest first */
	struct pmw_item_owner *ditems;	/* the items of watched containers (open-addressed) */
	size_t cap_ditems;
	int ncensus;
	int err;			/* last error, 0 if fine */
};

/*
 * One CPU budget for the heap walks of every target of a run (--walk-budget),
 * not one per target: 100 targets at 5% each could take 5 CPUs. Earned once
 * per interval (pmw_walk_earn); walks, header rounds and holder searches are
 * paid from it, one target's walk at a time (pmw_leaks_turn picks whose).
 */
struct pmw_walk_budget {
	double share;			/* fraction of one CPU, 0.05 = 5%; <= 0: no walks */
	double credit;			/* CPU seconds that may still be spent */
	double last;			/* CLOCK_MONOTONIC seconds of the last pmw_walk_earn, 0 never */
	int owner;			/* PID whose walk has the turn, 0 none */
	unsigned int turns;		/* turns given by need in a row (pmw_leaks_turn) */
	bool over;			/* the process's whole CPU over the last seconds is over
					 * share (session.c): what can wait, waits (the header
					 * reads of targets with nothing growing, among others) */
};

#define PMW_WALK_BANK_S	4.0	/* at most this many seconds of share banked (0.2 s at 5%) */
#define PMW_WALK_AIM	0.95	/* of the share earned: the margin for what is charged late
				 * (the CPU of a tick is charged at the next) */

/* Earn PMW_WALK_AIM x @b->share of the wall time since the last call (the first: 0.2 s, so a first walk
 * may start right away); at most PMW_WALK_BANK_S x share banked: what was not spent
 * while idle is not spent later on top of the budget. */
void pmw_walk_earn(struct pmw_walk_budget *b);

/*
 * The dict (a value of it) or list (an item of it) the last complete walk met
 * container @addr in, if @addr was in want_sample during that walk; 0 none
 * met (or its holder is read past ITEMS_MAX items). Groups of one shape
 * (leak/groups.c) are the containers of one parent.
 */
uint64_t pmw_walk_parent(const struct pmw_walk *wk, uint64_t addr);

/* Is a walk of @wk under way (started, not complete)? */
bool pmw_walk_busy(const struct pmw_walk *wk);

/*
 * Spend at most @b->credit CPU seconds on the walk of @t's heap (subtracted),
 * starting a new walk when none is under way. Returns 1 when a walk
 * completed in this call (results in wk->done, wk->census), 0 when still
 * under way or out of budget, -ENOENT/-EAGAIN/-ESRCH as pmw_heap_pools(),
 * -ENOMEM.
 */
int pmw_walk_step(struct pmw_walk *wk, const struct pmw_target *t, struct pmw_walk_budget *b);

/*
 * Validate the types again from now on, as each walk does at its start (a
 * freed type's address may hold another type, and what was no type is
 * forgotten), when no walk is under way and the last renewal is at least
 * @max_age_s old: for lookups without walks (the census of heap scans, with
 * --walk-budget 0). The table moves: hold no pmw_wtype pointer across it.
 * 0 or -ENOMEM.
 */
int pmw_walk_types_renew(struct pmw_walk *wk, double max_age_s);

/* The validated type at @addr (NULL if not a type). */
const struct pmw_wtype *pmw_walk_type(struct pmw_walk *wk, const struct pmw_target *t,
				      uint64_t addr);

/*
 * Type and real size of the objects at @objs[0..n) (object addresses, as
 * held by containers): @types[i] NULL when unreadable or not an object,
 * @sizes[i] in bytes as sys.getsizeof() counts their own block
 * (pmw_obj_self_size: what they own elsewhere not included). Returns how many were identified.
 */
int pmw_walk_objects(struct pmw_walk *wk, const struct pmw_target *t, const uint64_t *objs, int n,
		     const struct pmw_wtype **types, uint64_t *sizes);

/* The watched container holding object @item in the last walk (NULL if none). */
const struct pmw_item_owner *pmw_walk_item_owner(const struct pmw_walk *wk, uint64_t item);

/* The newest items of @c, a container of the last walk (c->nsample of them), NULL if not kept. */
const uint64_t *pmw_walk_sample(const struct pmw_walk *wk, const struct pmw_walk_container *c);

/* The container of the last walk at @addr, or NULL. */
const struct pmw_walk_container *pmw_walk_container(const struct pmw_walk *wk, uint64_t addr);

/*
 * Free the last walk's containers and their newest items (wk->done,
 * dsamples: up to 12 MiB per target) once they are folded in; the census
 * and the watched items stay.
 */
void pmw_walk_release(struct pmw_walk *wk);

void pmw_walk_free(struct pmw_walk *wk);

/* CPU time of the calling thread, seconds (CLOCK_THREAD_CPUTIME_ID) */
double pmw_cpu_s(void);

#endif
