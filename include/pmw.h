/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types and limits shared by the BPF programs (bpf/) and the loader (user/).
 * Fixed-width types only; every field names its unit.
 */
#ifndef PMW_H
#define PMW_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PMW_NGEN		3	/* CPython GC generations (0, 1, 2) */
#define PMW_HIST_SLOTS		32	/* log2 buckets: slot i counts values in [2^i, 2^(i+1)) */
#define PMW_NCLASS		32	/* pymalloc size classes: 512 B / 16 B alignment */
#define PMW_MAX_TARGETS		1024	/* watched PIDs */
#define PMW_MAX_LARGE		(1 << 18) /* large (libc) blocks followed at once */
#define PMW_LARGE_MIN		512	/* libc requests above this are "large" (pymalloc limit) */
#define PMW_RB_SIZE		(1024 * 1024) /* GC event ring buffer, bytes: ~21k collections */

#define PMW_MAX_DEPTH		16	/* Python frames kept per sampled stack */
#define PMW_MAX_STACKS		16384	/* distinct sampled stacks */
#define PMW_MAX_SAMPLES		65536	/* sampled pools followed at once */

/* how BPF finds the current PyThreadState (pmw_py_walk.tstate_kind) */
#define PMW_TSTATE_RUNTIME	1	/* *(_PyRuntime + tstate_off): gilstate.tstate_current, 3.8-3.11 */
#define PMW_TSTATE_GIL		2	/* *(*(interp + tstate_off) + 8): the GIL's last_holder, 3.12+ */
#define PMW_TSTATE_TLS		3	/* *(fsbase - tstate_off): the current thread's _Py_tss_tstate,
					 * free-threaded 3.13t; tstate_off 0: not known yet, a
					 * watchpoint hit searches PMW_TLS_WINDOW bytes for it */
#define PMW_TLS_WINDOW		1024	/* below the thread pointer: inside glibc's static TLS
					 * (its surplus alone is 1664 B), above a thread's stack */

/*
 * Offsets for walking Python frames in BPF, per CPython minor version
 * (user/cpython/pyver.c; sources there). Frames are sent raw (code object pointer,
 * instruction pointer or f_lasti) and symbolized in userspace.
 */
struct pmw_py_walk {
	__u32 tstate_kind;	/* PMW_TSTATE_*; 0 = no stack walk */
	__u32 tstate_off;
	__u32 tstate_frame;	/* offset of frame (<=3.10), cframe (3.11/3.12) or current_frame (3.13+) */
	__u32 cframe_frame;	/* offset of current_frame in _PyCFrame, +1 (0 = no cframe) */
	__u32 frame_back;	/* f_back / previous */
	__u32 frame_code;	/* f_code / f_executable */
	__u32 frame_instr;	/* f_lasti (int, <=3.10) or prev_instr/instr_ptr (pointer) */
	__u32 frame_owner;	/* owner byte, 0 = none (<=3.11) */
	__u32 owner_cstack;	/* owner value of C-stack shim frames, skipped */
	__u32 depth;		/* frames to walk, <= PMW_MAX_DEPTH */
	__u32 instr_int;	/* 1: frame_instr is an int f_lasti (<=3.10), else a pointer */
	__u32 tls_thread_id;	/* PMW_TSTATE_TLS: offsetof(PyThreadState, thread_id), pthread_self();
				 * native_thread_id (gettid()) follows it (3.13 pystate.h) */
	__u64 code_mask;	/* applied to the code pointer (3.14 tagged _PyStackRef: ~3) */
};

/* A sampled Python stack: innermost frame first. */
struct pmw_stack {
	__u64 code[PMW_MAX_DEPTH];	/* PyCodeObject * (target address) */
	__u64 instr[PMW_MAX_DEPTH];	/* instruction pointer, or f_lasti (<=3.10) */
	__u32 depth;
	__u32 pad;
};

struct pmw_sample_key {
	__u32 pid;
	__u32 pad;
	__u64 pool;		/* pymalloc pool address in the target */
};

/* One sampled pool: the allocation that took it into use, until it is emptied. */
struct pmw_sample {
	__u64 stack;		/* key in pmw_stacks */
	__u64 born_ns;		/* CLOCK_MONOTONIC */
	__u32 szidx;		/* size class of the pool */
	__u32 block_off;	/* the allocation's block - pool: 48 (the first block) when the
				 * pool was initialised, else the free-list head of a reused pool */
};

/*
 * Where the per-generation GC counters (struct pmw_py_gcstats, cumulative)
 * are, from the address of the interpreter's generation_stats field; per
 * CPython minor version (user/cpython/pyver.c; sources there). Up to 3.14 the field
 * is an array of 3 records; 3.15 makes it a pointer to a struct gc_stats of
 * 3 rings of records (young, old[0], old[1]), each with the int8 index of
 * its newest slot, which carries the running totals.
 * Generation g's counters: ring = base + gen_off[g] (base: the field, or
 * what it points to if deref); slot = stride ? *(int8 *)(ring + index_off[g])
 * (< slots[g]) : 0; counters at ring + slot * stride + counts_off.
 */
struct pmw_py_gcstats_layout {
	__u32 deref;		/* 1: generation_stats is a pointer (3.15+) */
	__u32 stride;		/* bytes per ring record; 0: one record per generation */
	__u32 counts_off;	/* offset of collections in a record */
	__u32 gen_off[PMW_NGEN];
	__u32 index_off[PMW_NGEN];
	__u32 slots[PMW_NGEN];
};

/*
 * Per-PID configuration (map pmw_targets): written only by userspace, and
 * always whole (it keeps the value it writes and never reads it back),
 * before the target's probes can fire; BPF only reads it. Its presence is
 * also the PID filter. Addresses are absolute, in the target's address space.
 */
struct pmw_target_cfg {
	__u64 runtime_addr;	/* &_PyRuntime as userspace knows it; 0 = not known (BPF may
				 * have learned it: pmw_target_state) */
	__u32 interp_main_off;	/* offsetof(_PyRuntimeState, interpreters.main) */
	__u32 gc_stats_off;	/* offsetof(PyInterpreterState, gc.generation_stats), or of
				 * _PyRuntimeState when gc_stats_in_runtime (3.8) */
	__u8 gc_stats_in_runtime; /* 1: 3.8, where GC state lives in _PyRuntime.gc */
	__u8 sampling;		/* 1: an allocation-profile burst is on: sample stacks at refills */
	__u8 pad[6];
	struct pmw_py_walk walk;
	struct pmw_py_gcstats_layout gc_layout;
};

/*
 * Per-PID state (map pmw_state): written only by BPF. Userspace creates it
 * zeroed with the target's configuration and never writes it again, so no
 * update of either side can be lost to the other.
 */
struct pmw_target_state {
	__u64 runtime_addr;	/* &_PyRuntime learned from a probe cookie; 0 = not yet */
	__s64 gc_seen;		/* the main interpreter's collections (all generations) when
				 * the last one was counted; 0 = none yet */
};

/*
 * Per-PID counters, a PERCPU_HASH value: userspace sums the CPUs and takes
 * deltas between intervals. All monotonic since attach.
 */
struct pmw_counters {
	__u64 allocs;		/* successful pymalloc allocations (--exact), count */
	__u64 alloc_bytes;	/* bytes requested by them */
	__u64 frees;		/* pymalloc frees of non-NULL pointers (--exact), count */
	__u64 pool_refills;	/* allocate_from_new_pool() calls, count */
	__u64 refill_blocks;	/* blocks made available by those refills, count */
	__u64 refill_bytes;	/* bytes in those blocks */
	__u64 large_allocs;	/* libc malloc/calloc/realloc results > PMW_LARGE_MIN, count */
	__u64 large_alloc_bytes;
	__u64 large_free_bytes;	/* frees of large blocks seen allocated since attach, bytes */
	__u64 dropped;		/* events lost: ring buffer, large-block, sample or stack map full */
	__u64 refill_stale;	/* refills whose pool's ref.count was not 1 at return: not
				 * allocate_from_new_pool (symfind.c's effect check) */
	__u64 refill_badidx;	/* refills whose size class index was not < PMW_NCLASS: counted
				 * in pool_refills but not in refill_blocks/refill_bytes */
};

/* gc event flags */
#define PMW_GC_STATS	(1u << 0)	/* collected/uncollectable/gen from generation_stats deltas */

/* One finished collection, sent through the pmw_gc_rb ring buffer. */
struct pmw_gc_event {
	__u32 pid;		/* tgid, as seen from the host */
	__u32 tid;
	__s32 gen;		/* generation collected; -1 unknown */
	__u32 flags;		/* PMW_GC_* */
	__u64 start_ns;		/* CLOCK_MONOTONIC */
	__u64 dur_ns;		/* pause: gc start to gc done, ns */
	__s64 collected;	/* objects collected (total from gc__done if no PMW_GC_STATS) */
	__s64 uncollectable;	/* objects found uncollectable */
} __attribute__((aligned(8)));

/* CPython gc_generation_stats: { collections, collected, uncollectable } (Py_ssize_t each),
 * Include/internal/pycore_gc.h 3.8-3.14; 3.15 (pycore_interp_structs.h) puts
 * ts_start and ts_stop before them and more fields after. */
struct pmw_py_gcstats {
	__s64 collections;
	__s64 collected;
	__s64 uncollectable;
};

/*
 * Growth sites (user/leak/growth.c): one hit of a hardware write watchpoint
 * on a container's length field (list/deque ob_size, dict ma_used, set used),
 * sent through the pmw_growth_rb ring buffer with the writer's Python stack.
 */
#define PMW_GROWTH_RB_SIZE	(256 * 1024)	/* bytes: ~900 hits */

struct pmw_growth_event {
	__u32 pid;		/* tgid, as seen from the host */
	__u32 tid;
	__u64 watch;		/* the watched address (the length field), from the attach cookie */
	__u64 value;		/* the field after the write (the new length); ~0 unreadable */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__s32 depth;		/* frames in stack; -1: no thread state (no stack readable) */
	__u32 tls_off;		/* PMW_TSTATE_TLS searched by this hit: the tstate_off found, 0 none */
	struct pmw_stack stack;	/* innermost frame first */
};

#endif /* PMW_H */
