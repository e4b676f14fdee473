/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -a: find every CPython process on the host by what it maps, not by its name. */
#ifndef PMW_DISCOVER_H
#define PMW_DISCOVER_H

#include <stdbool.h>
#include <sys/types.h>

struct pmw_image_verdict;
struct pmw_rejected;

/*
 * What a process runs: changes when it execs, even into the same file while
 * ASLR is on (the stack moves at every exec; a PIE executable too).
 */
struct pmw_exec_id {
	dev_t dev;			/* /proc/PID/exe device and inode */
	ino_t ino;
	unsigned long long start_code;	/* /proc/PID/stat startcode: the executable's load address */
	unsigned long long start_stack;	/* /proc/PID/stat startstack: the main stack's bottom */
};

struct pmw_discover {
	struct pmw_image_verdict *img;	/* executables seen: (dev, ino) -> CPython or not */
	int nimg;
	size_t cap_img;
	struct pmw_rejected *rejected;	/* PIDs that failed to resolve: retried only after an exec */
	int nrej;
	size_t cap_rej;
	pid_t *noted;			/* PIDs already named in a note (pmw_discover_first_note) */
	int nnoted;
	size_t cap_noted;
};

/*
 * List PIDs (at most @max, into @out) that map a CPython interpreter (an
 * executable defining _PyRuntime, or a libpython3.X.so) and that @known
 * does not claim and that were not rejected before. Kernel threads and
 * pymemwatch itself are skipped. Returns the count.
 */
int pmw_discover_scan(struct pmw_discover *d, bool (*known)(void *arg, pid_t pid), void *arg,
		      pid_t *out, int max);

/* Do not offer @pid again (it could not be resolved), unless it execs. */
void pmw_discover_reject(struct pmw_discover *d, pid_t pid);

/*
 * Does @pid map a CPython interpreter (as pmw_discover_scan decides)?
 * false also when it is gone or unreadable.
 */
bool pmw_discover_is_cpython(struct pmw_discover *d, pid_t pid);

/*
 * Descendants of the @nroots PIDs in @roots (children, their children...,
 * read from /proc/PID/task/TID/children, through non-Python processes too)
 * that map a CPython interpreter, are not claimed by @known and were not
 * rejected: at most @max, into @out, with the PID of each one's parent in
 * @parent. Returns the count.
 */
int pmw_discover_children(struct pmw_discover *d, const pid_t *roots, int nroots,
			  bool (*known)(void *arg, pid_t pid), void *arg, pid_t *out,
			  pid_t *parent, int max);

/* true the first time it is called for @pid, false after (once-per-process notes) */
bool pmw_discover_first_note(struct pmw_discover *d, pid_t pid);

/* Read what @pid runs now. Returns 0, -ESRCH (gone, or a zombie) or -errno. */
int pmw_exec_id_read(pid_t pid, struct pmw_exec_id *id);

/* Do @a and @b name the same program image at the same address? */
bool pmw_exec_id_same(const struct pmw_exec_id *a, const struct pmw_exec_id *b);

void pmw_discover_free(struct pmw_discover *d);

#endif
