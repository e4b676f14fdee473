/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* THE probe table: which BPF program attaches where. One row per attachment. */
#ifndef PMW_PROBES_H
#define PMW_PROBES_H

#include <stdbool.h>
#include "target.h"

struct pmw_bpf;
struct bpf_link;

/* PMW_WATCHPOINT: a perf_event program on hardware write watchpoints, armed by
 * user/leak/growth.c (not by pmw_probes_attach) */
enum pmw_probe_kind { PMW_UPROBE, PMW_URETPROBE, PMW_USDT, PMW_WATCHPOINT };

/* how a row finds its address in the image */
enum pmw_resolve {
	PMW_RES_SYM,		/* a function symbol (all compiler clones) */
	PMW_RES_GC_FUNC,	/* the version's collection function (pyver.h gc_funcs) */
	PMW_RES_USDT,		/* "provider:name" USDT, attached by libbpf (semaphore set) */
	PMW_RES_OBJ_ALLOC,	/* a slot of the live _PyObject allocator struct */
	PMW_RES_NONE,		/* no address in the image (PMW_WATCHPOINT) */
};

/* probe groups; a target gets the groups its mode and build call for */
enum pmw_group {
	PMW_G_GC_USDT	= 1 << 0,	/* python:gc__start/gc__done */
	PMW_G_GC_UPROBE	= 1 << 1,	/* fallback: entry/return of the collection function */
	PMW_G_START	= 1 << 2,	/* learn &_PyRuntime of a process started by us */
	PMW_G_HEAP	= 1 << 3,	/* pymalloc slow path: pool refill (counts) */
	PMW_G_EXACT	= 1 << 4,	/* every pymalloc call (--exact, non-LTO builds) */
	PMW_G_LARGE	= 1 << 5,	/* libc malloc family, this PID only */
	PMW_G_BURST	= 1 << 6,	/* refill stacks and object frees, attached only during
					 * allocation-profile bursts */
	PMW_G_GROWTH	= 1 << 7,	/* growth sites: loaded, armed per container by growth.c */
};

/* groups attached once per interpreter image, for every process using it */
#define PMW_G_SHARED	(PMW_G_GC_USDT | PMW_G_GC_UPROBE)

/* which compiler clones of a PMW_RES_SYM function a row attaches to (probes.c sig_kept) */
enum pmw_sig {
	PMW_SIG_ANY,		/* every clone found */
	PMW_SIG_KEPT,		/* those whose arguments are as in the source (an entry probe reads them) */
	PMW_SIG_UNSURE,		/* the others: found by disassembly, or a clone that may have changed them */
};

struct pmw_probe {
	const char *prog;		/* BPF program name in bpf/pymemwatch.bpf.c */
	enum pmw_probe_kind kind;
	enum pmw_resolve res;
	const char *what;		/* symbol, or "provider:name" for USDT */
	int slot;			/* PMW_RES_OBJ_ALLOC: enum pmw_alloc_slot */
	bool in_libc;			/* attach to the target's libc instead of the interpreter */
	bool required;			/* the group fails without this row */
	unsigned int group;		/* enum pmw_group */
	enum pmw_sig sig;		/* PMW_SIG_ANY where the row leaves it out */
};

extern const struct pmw_probe pmw_probes[];
extern const int pmw_nprobes;

/* Links of one target, plus which groups attached. */
struct pmw_attach {
	struct bpf_link **links;
	int nlinks, cap;
	unsigned int groups;		/* groups fully attached */
};

/*
 * Attach every row of @groups to target @t (PID-filtered). A group whose
 * required row fails is detached again and left out of a->groups; optional
 * rows that fail are logged with -v. Returns the number of links, or
 * -errno if nothing at all could be attached.
 */
int pmw_probes_attach(struct pmw_bpf *skel, const struct pmw_target *t, unsigned int groups,
		      struct pmw_attach *a);

/* Detach every link of @a; NULL-safe, idempotent. */
void pmw_probes_detach(struct pmw_attach *a);

/* Detach the links of @a on a background thread (the caller goes on). */
void pmw_probes_detach_async(struct pmw_attach *a);

/* Number of background detaches still running (uprobe unregistration). */
int pmw_probes_detaching(void);

/* Enable loading only of the programs that @groups use (before load). */
void pmw_probes_set_autoload(struct pmw_bpf *skel, unsigned int groups);

#endif
