/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -a: find every CPython process on the host by what it maps, not by its name. */
#ifndef PMW_DISCOVER_H
#define PMW_DISCOVER_H

#include <stdbool.h>
#include <sys/types.h>

struct pmw_image_verdict;

struct pmw_discover {
	struct pmw_image_verdict *img;	/* executables seen: (dev, ino) -> CPython or not */
	int nimg, cap_img;
	pid_t *rejected;		/* PIDs that failed to resolve: not retried */
	int nrej, cap_rej;
};

/*
 * List PIDs (at most @max, into @out) that map a CPython interpreter (an
 * executable defining _PyRuntime, or a libpython3.X.so) and that @known
 * does not claim and that were not rejected before. Kernel threads and
 * pymemwatch itself are skipped. Returns the count.
 */
int pmw_discover_scan(struct pmw_discover *d, bool (*known)(void *arg, pid_t pid), void *arg,
		      pid_t *out, int max);

/* Do not offer @pid again (it could not be resolved). */
void pmw_discover_reject(struct pmw_discover *d, pid_t pid);

void pmw_discover_free(struct pmw_discover *d);

#endif
