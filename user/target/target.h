/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A watched process: resolving its CPython image, version, symbols and memory
 * into struct pmw_target (cpython/pyproc.h). */
#ifndef PMW_TARGET_H
#define PMW_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "elfimg.h"
#include "mem.h"
#include "pyproc.h"
#include "pyver.h"
#include "symfind.h"


/*
 * Resolve the CPython interpreter of running process @pid: its image
 * (executable or mapped libpython3.X.so, opened through /proc/PID/root and
 * checked against the mapping by device and inode), version, symbols
 * (debuginfo by build-id or .gnu_debuglink) and load bias.
 * Returns 0; -ESRCH (no such process), -EACCES, -ENOEXEC (not CPython),
 * -EPROTONOSUPPORT (CPython version not supported).
 */
int pmw_target_open_pid(struct pmw_target *t, pid_t pid);

/*
 * Resolve the interpreter of an executable that is about to be started
 * (for "-- COMMAND"): the file itself, or the libpython it needs, found
 * through DT_RUNPATH/DT_RPATH, LD_LIBRARY_PATH and the system directories.
 * The load bias stays unknown until pmw_target_refresh() sees it mapped.
 */
int pmw_target_open_exec(struct pmw_target *t, const char *exe, pid_t pid);

/* Learn the load bias from /proc/PID/maps once the image is mapped. 0 or -errno. */
int pmw_target_refresh(struct pmw_target *t);

void pmw_target_close(struct pmw_target *t);

/*
 * The one-line reason for an error of pmw_target_open_pid() or
 * pmw_target_open_exec() (-ESRCH, -ENOEXEC, -EPROTONOSUPPORT, -EBADMSG,
 * -EACCES/-EPERM; else strerror). Every command that attaches prints these.
 */
const char *pmw_target_error(int err);

/*
 * Whether @t's heap can be found: false for 3.8-3.11 (arena table in a
 * file-static variable, Objects/obmalloc.c) when neither symbols, debuginfo
 * nor disassembly gave its address; then @why (of @len bytes) says so and
 * what to install.
 */
bool pmw_target_heap_found(const struct pmw_target *t, char *why, size_t len);



/*
 * Read the allocator function pointers in effect (_PyObject: malloc,
 * calloc, realloc, free) and map them back to link-time vaddrs in @fn[1..4].
 * Returns 0, -ENOENT (struct not found: no symbols), -EFAULT (unreadable).
 */
int pmw_target_obj_allocator(const struct pmw_target *t, uint64_t fn[5]);

/* Fill t->ns_pid and t->container from /proc/PID/{status,cgroup,ns,root}. */
void pmw_target_identity(struct pmw_target *t);


#endif
