/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Growth sites: which code makes a leaking container grow. Once a heap walk
 * ranks a container as a leak, a hardware write watchpoint on its length
 * field (list/deque ob_size, dict ma_used, set used) fires at each write in
 * the writing thread; a BPF program (pmw_growth_hit) sends the Python stack.
 * A hit whose new length is above the one before is a growth; its stacks,
 * counted, name the site: the innermost frame of the most frequent growing
 * stack in the application's own code (not the standard library or
 * installed packages). A stack whose application frames are all callers of a
 * dispatcher (asyncio's Handle._run, a worker loop; or that has none) takes
 * instead the line its task waits at: the newest item of the list leads to
 * the task's coroutine (pycoro.h; a future's callbacks, written from C in the
 * task's step); none found: that stack has no site (PMW_GSTACK_NO_SITE).
 *
 * Cost: each watch is armed with PERF_EVENT_IOC_REFRESH(PMW_GROWTH_HITS):
 * the kernel disables it after that many hits on a CPU (~10 us of the
 * writer's time each, measured on a 2-CPU VM, kernel 6.18), and it is
 * closed after PMW_GROWTH_ARM_S at most. x86 has 4 debug registers per CPU,
 * shared with debuggers: at most PMW_GROWTH_SLOTS watches at once, rotated
 * over the top leaks; a watch that cannot be armed (ENOSPC, EBUSY) leaves the
 * site empty with its reason and the run goes on.
 */
#ifndef PMW_GROWTH_H
#define PMW_GROWTH_H

#include <stdbool.h>
#include <stdint.h>
#include "pmw.h"
#include "pystack.h"

#define PMW_GROWTH_HITS		16	/* hits per CPU per arming (PERF_EVENT_IOC_REFRESH) */
#define PMW_GROWTH_ARM_S	10.0	/* s a watch stays armed at most */
#define PMW_GROWTH_SLOTS	4	/* watches armed at once, all targets (x86 DR0-DR3) */
#define PMW_GROWTH_REARM_S	60.0	/* s before a named container is watched again */
#define PMW_GROWTH_RETRY_S	5.0	/* s before an unnamed one is watched again */
#define PMW_GROWTH_STACKS	8	/* distinct growing stacks kept per container */

struct bpf_program;
struct bpf_link;
struct pmw_target;
struct pmw_containers;

#define PMW_GSTACK_NO_SITE	(-2)

/* One distinct Python stack that grew a container. */
struct pmw_gstack {
	uint64_t key;			/* hash of the symbolized frames */
	struct pmw_frame *frames;	/* innermost first, nframes, owned */
	int nframes;
	int app;			/* index of the innermost application frame, -1 none (the
					 * innermost frame names it), PMW_GSTACK_NO_SITE: written
					 * below a dispatcher with no application frame in between
					 * and no waiting task found: no site */
	uint64_t hits;			/* growing writes seen with this stack */
};

/* The growth site of one container (a leak row). */
struct pmw_growth {
	uint64_t addr;			/* container object, key */
	uint64_t field;			/* watched address: its length field */
	uint8_t kind;			/* PMW_CK_* of the container */
	uint64_t last_len;		/* length after the last write seen */
	uint64_t hits;			/* writes seen (growing or not), all armings */
	uint64_t grows;			/* of which growing: sum of stacks[].hits + unresolved */
	struct pmw_gstack stacks[PMW_GROWTH_STACKS]; /* by hits, most first */
	int nstacks;
	int arms;			/* times armed */
	double armed_at;		/* CLOCK_MONOTONIC s; 0 = not armed now */
	double last_arm;		/* when last armed (or tried), s */
	uint64_t arm_hits;		/* hits of the current arming */
	struct bpf_link **links;	/* one per CPU while armed */
	int nlinks;
	char reason[160];		/* why there is no site, "" */
	bool said_async;		/* the no-site reason of an event loop write was logged (-v) */
};

/* The growth sites of one target. */
struct pmw_growths {
	struct pmw_growth *g;		/* sorted by addr */
	int n;
	size_t cap;
	struct pmw_code_cache *cc;
	struct pmw_pyr *pyr;		/* reader of the coroutine lookups (its type cache kept), NULL */
	bool said;			/* the reason no stack can be read was logged (-v) */
	bool no_stacks;			/* this build gives no stacks: nothing is armed */
};

/*
 * Load-time set-up: the perf_event program that watchpoints run (NULL:
 * growth sites off). Returns 0.
 */
int pmw_growth_setup(struct bpf_program *prog);

/*
 * After each interval (@now, CLOCK_MONOTONIC s): close the watches of @gs
 * that are done (their hits, PMW_GROWTH_ARM_S, or no longer a leak in @cs),
 * and arm watches on the leaks @top[0..n), worst first, that need a site,
 * within the free slots.
 * @nostack: NULL if the writing thread's Python stack can be read, else why
 * not (the site stays empty with that reason, said once with -v).
 */
void pmw_growth_step(struct pmw_growths *gs, struct pmw_containers *cs, struct pmw_ctrack **top,
		     int n, const struct pmw_target *t, const char *nostack, double now);

/* One hit from the ring buffer for this target. Returns 0 or -ENOMEM. */
int pmw_growth_hit(struct pmw_growths *gs, const struct pmw_target *t,
		   const struct pmw_growth_event *ev);

/* The growth record of container @addr, or NULL. */
const struct pmw_growth *pmw_growth_find(const struct pmw_growths *gs, uint64_t addr);

/*
 * "file:line" of the site of @g (innermost application frame of its most
 * frequent stack that has a site) into @site, and of that stack's innermost
 * frame into @inner (of the top stack when none has a site); "" when unknown.
 * Returns that stack or NULL.
 */
const struct pmw_gstack *pmw_growth_site(const struct pmw_growth *g, char *site, size_t slen,
					 char *inner, size_t ilen);

/* Close every watch of @gs (its target exited). */
void pmw_growth_stop(struct pmw_growths *gs);

/* Close every watch of @gs and free it; zeroes it. */
void pmw_growth_free(struct pmw_growths *gs);

#endif
