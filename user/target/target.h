/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A watched process: its CPython image, version, symbols and memory. */
#ifndef PMW_TARGET_H
#define PMW_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "elfimg.h"
#include "mem.h"
#include "pyver.h"
#include "symfind.h"

struct pmw_image;

struct pmw_target {
	pid_t pid;			/* as seen from the host (our PID namespace) */
	pid_t ns_pid;			/* in the target's own PID namespace (= pid if the same) */
	char container[96];		/* "docker:<id>", "containerd:<id>", "k8s:pod<uid>", "chroot:<path>",
					 * "mntns:<inode>", a cgroup path, or "" for the host */
	char comm[32];
	char root[48];			/* "/proc/PID/root" */
	char path[PATH_MAX];		/* interpreter image as the target sees it */
	char host_path[PATH_MAX];	/* root + path: what is opened and probed */
	char libc_path[PATH_MAX + 64];	/* host path of the target's libc, "" if unknown */
	struct pmw_elf elf;		/* the image (executable or libpython) */
	struct pmw_image *image;	/* the shared image @elf belongs to, NULL if not shared */
	bool is_exe;			/* libpython linked into the executable */
	bool bias_known;
	uint64_t bias;			/* target address = link-time vaddr + bias */
	char version[16];		/* "3.11.2" */
	int major, minor, patch;
	const struct pmw_pyver *pv;	/* the version table's row, or pv_own (3.13+) */
	struct pmw_pyver pv_own;	/* the row with the target's _Py_DebugOffsets applied */
	uint64_t runtime_vaddr;		/* &_PyRuntime, link-time */
	uint64_t arenas_vaddr;		/* static `arenas` (3.8-3.11), 0 if no symbols */
	uint64_t maxarenas_vaddr;	/* static `maxarenas` (3.8-3.11) */
	uint64_t objalloc_vaddr;	/* static `_PyObject` allocator struct (3.8-3.11) */
	bool has_symtab;		/* full symbols (.symtab or debuginfo) */
	bool has_usdt;			/* .note.stapsdt present (built --with-dtrace) */
	bool lto_inlined;		/* the pymalloc fast path is inlined (LTO+PGO) */
	struct pmw_symfind sf;		/* no symbols: what disassembly found, and its checks */
	/* free-threaded build (Py_GIL_DISABLED): mimalloc, not pymalloc (user/mimalloc.h) */
	bool free_threaded;
	const struct pmw_pyver_ft *ft;	/* its mimalloc layout, NULL if not free-threaded */
};

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



/* Target address of the main PyInterpreterState, 0 if not readable yet. */
uint64_t pmw_target_interp(const struct pmw_target *t);

/*
 * Read the allocator function pointers in effect (_PyObject: malloc,
 * calloc, realloc, free) and map them back to link-time vaddrs in @fn[1..4].
 * Returns 0, -ENOENT (struct not found: no symbols), -EFAULT (unreadable).
 */
int pmw_target_obj_allocator(const struct pmw_target *t, uint64_t fn[5]);

/* Fill t->ns_pid and t->container from /proc/PID/{status,cgroup,ns,root}. */
void pmw_target_identity(struct pmw_target *t);


#endif
