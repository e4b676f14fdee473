/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A CPython process as everything below leak/ reads it: struct pmw_target,
 * filled by target/ (target.c: image, version, symbols, load bias, layout;
 * symfind.c: what disassembly finds in an image without symbols), read by
 * cpython/ and above. Declared here so that cpython/ never includes target/.
 */
#ifndef PMW_PYPROC_H
#define PMW_PYPROC_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "elfimg.h"
#include "mem.h"
#include "pmw.h"
#include "pyver.h"

/*
 * Dealloc functions the leak bursts probe (objects that die into free lists
 * never reach PyObject_Free): read from the live exported type objects'
 * tp_dealloc slots: tupledealloc (PyTuple_Type), list_dealloc, dict_dealloc,
 * float_dealloc, unicode_dealloc.
 */
#define PMW_SYMFIND_NDEALLOC 5

/* Trust in an address found by disassembly. */
enum pmw_check {
	PMW_CHECK_NONE,		/* not looked for, or not found */
	PMW_CHECK_PENDING,	/* found, its effect not seen yet: not trusted */
	PMW_CHECK_PASSED,	/* its effect matched target memory */
	PMW_CHECK_FAILED,	/* its effect did not match: not used */
};

struct pmw_found {
	uint64_t addr;		/* link-time vaddr, 0 if not found */
	enum pmw_check check;
	char how[160];		/* how it was found, for -v */
};

/* Everything found for one target, and the state of the effect checks. */
struct pmw_symfind {
	bool done, live;	/* ran; ran with the live allocator struct */
	struct pmw_found objalloc, obj_malloc, pool_refill, gc_func, arenas, maxarenas;
	struct pmw_found dealloc[PMW_SYMFIND_NDEALLOC]; /* tp_dealloc of the types below */
	/* GC check: collections since attach seen by the probe and in generation_stats */
	uint64_t gc_probe[PMW_NGEN], gc_mem[PMW_NGEN];
	int64_t gc_off;		/* probe - memory after the first interval (collections between
				 * the probe's attach and memory's baseline read) */
	bool gc_off_set;
	uint64_t gc_mem_first;	/* collections in generation_stats by the first interval's end */
	int gc_bad;		/* consecutive intervals out of step */
	/* refill check: pools that became used (heap scans) and refill hits since attach */
	uint64_t pools_up, refills, stale;
	uint64_t pools_prev;
	bool pools_prev_ok;
};

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
	/* free-threaded build (Py_GIL_DISABLED): mimalloc, not pymalloc (user/cpython/mimalloc.h) */
	bool free_threaded;
	const struct pmw_pyver_ft *ft;	/* its mimalloc layout, NULL if not free-threaded */
};

/*
 * Target address of the main PyInterpreterState (_PyRuntime.interpreters.main,
 * pv->interp_main), 0 while the load bias is unknown or it is unreadable.
 */
uint64_t pmw_py_interp(const struct pmw_target *t);

#endif
