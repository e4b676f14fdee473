/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Holder paths: who keeps a container alive, spelled the way Python would
 * (doc/leaks.md "Holder paths"), and its retained size. Read from outside through
 * target memory only (user/pyobj.c); no symbols needed beyond _PyRuntime.
 */
#ifndef PMW_HOLDERS_H
#define PMW_HOLDERS_H

#include <stdint.h>
#include "target.h"

/* how the last named step of a path holds the container */
enum pmw_holder_kind {
	PMW_HK_UNKNOWN,
	PMW_HK_MODULE_GLOBAL,	/* auth.ACTIVE_TOKENS, app.ROUTES['api'] */
	PMW_HK_CLASS_ATTR,	/* telemetry.Registry.points */
	PMW_HK_INSTANCE_ATTR,	/* telemetry.REGISTRY.points */
	PMW_HK_CLOSURE,		/* app.handler.__closure__[0].cell_contents */
	PMW_HK_DEFAULT,		/* app.record.__defaults__[0], app.f.__kwdefaults__['seen'] */
	PMW_HK_LRU_CACHE,	/* functools.lru_cache(app.fetch) */
	PMW_HK_FRAME_LOCAL,	/* app.worker.<locals>.seen: a local of a running function */
};

/* "module_global", "class_attr", "instance_attr", "closure", "default", "lru_cache",
 * "frame_local", "unknown" */
const char *pmw_holder_kind_name(enum pmw_holder_kind k);

struct pmw_holder {
	uint64_t container;      /* in: address of a container object in the target */
	uint64_t parent;         /* in, optional: the dict or list whose value or item the container
				    is, as the walk met it (pmw_walk_parent), 0 unknown: followed
				    also past the items a search follows of a wide dict or list */
	char path[256];          /* out: "auth.ACTIVE_TOKENS"; "" = not found within depth */
	enum pmw_holder_kind kind;
	uint64_t items;          /* len() when searched */
	uint64_t retained_bytes; /* what would be freed if the container let go (retained.c:
				    by reference counts below it, sampled + extrapolated);
				    UINT64_MAX = unavailable */
	char item_type[64];      /* most common item type (dict: values), "" unknown */
};

/*
 * Search from the target's roots (sys.modules: PyInterpreterState.modules,
 * .imports.modules 3.12+; then the locals of every thread's running frames)
 * through module globals, class attributes (heap types' tp_dict), instance
 * attributes, closure cells, function defaults, lru_cache wrappers and the
 * items of dicts, lists, tuples and deques, to depth 6, breadth first (the
 * shortest path wins, then modules before frames).
 * Work per call is bounded by a read budget (PMW_HOLDERS_BUDGET reads); paths
 * found are kept per (pid, container) and re-checked with one read of the
 * slot that held the container, so a repeated call costs ~1 read per path
 * plus the size sample. A container not found is searched again after
 * PMW_HOLDERS_RETRY_S seconds, doubled after each search in vain up to 16
 * times that (a search that spent its budget included). Fills h[i] for each
 * h[i].container.
 * Returns how many paths were found, or -errno (-ESRCH gone, -ENOENT no
 * _PyRuntime, -EOPNOTSUPP no object layouts for this version or a
 * free-threaded build, -ENOMEM).
 */
int pmw_holders_find(const struct pmw_target *t, struct pmw_holder *h, int n);

#define PMW_HOLDERS_BUDGET	200000	/* process_vm_readv calls per search */
#define PMW_HOLDERS_RETRY_S	30
#define PMW_HOLDERS_DEPTH	6	/* steps below a module */
#define PMW_HOLDERS_SAMPLE	200	/* items sampled for retained size and item type */

/* Forget cached paths of @pid (process gone). */
void pmw_holders_forget(int pid);

/* Counters of the last search, for -v and tests. */
struct pmw_holders_stats {
	uint64_t reads;		/* process_vm_readv calls */
	uint64_t nodes;		/* objects expanded */
	uint64_t torn;		/* objects skipped: unreadable or failing a check */
	int budget_spent;	/* the search stopped at its budget */
	double ms;		/* wall time */
};
void pmw_holders_last_stats(struct pmw_holders_stats *s);

#endif
