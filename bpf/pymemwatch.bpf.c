// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pymemwatch BPF side: thin handlers over shared helpers. Every program is
 * attached by user/probes.c, one row of its probe table per program.
 *
 * Hot paths (pymalloc calls under --exact, libc malloc/free) do one map
 * lookup and a few adds; GC handlers run once per collection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "pmw.h"
#include "pmw_pymalloc.h"

#define EEXIST 17	/* uapi asm-generic/errno-base.h */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* pid (tgid) -> configuration, written by userspace only; presence = the PID is watched */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pmw_target_cfg);
} pmw_targets SEC(".maps");

/* pid -> what BPF learns (written here only); created zeroed by userspace with the target */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pmw_target_state);
} pmw_state SEC(".maps");

/* pid -> counters, one copy per CPU; created by userspace with the target */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PMW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pmw_counters);
} pmw_counts SEC(".maps");

/* finished collections, struct pmw_gc_event */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PMW_RB_SIZE);
} pmw_gc_rb SEC(".maps");

/* a collection in progress on a thread */
struct gc_inflight {
	__u64 start_ns;
	__u64 stats_addr;	/* GC stats base (gc_stats_addr()), 0 if unknown */
	__s32 gen;		/* from the probe argument, -1 unknown */
	__u32 pad;
	struct pmw_py_gcstats st[PMW_NGEN]; /* generation_stats at start */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);	/* tid */
	__type(value, struct gc_inflight);
} pmw_gc_inflight SEC(".maps");

/* a libc allocation call in progress on a thread */
struct large_pending {
	__u64 size;		/* bytes requested */
	__u64 old_ptr;		/* realloc: block being resized, else 0 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);	/* tid */
	__type(value, struct large_pending);
} pmw_lg_pending SEC(".maps");

struct large_key {
	__u32 pid;
	__u32 pad;
	__u64 ptr;		/* block address in the target */
};

/* large blocks allocated since attach -> size in bytes */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_LARGE);
	__type(key, struct large_key);
	__type(value, __u64);
} pmw_large SEC(".maps");

/* stack hash -> the stack's frames */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_STACKS);
	__type(key, __u64);
	__type(value, struct pmw_stack);
} pmw_stacks SEC(".maps");

/* sampled pools, until pymalloc takes the pool into use again (it was emptied) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_SAMPLES);
	__type(key, struct pmw_sample_key);
	__type(value, struct pmw_sample);
} pmw_samples SEC(".maps");

/* scratch space for one stack walk (too big for the BPF stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pmw_stack);
} pmw_scratch SEC(".maps");

static __always_inline struct pmw_counters *counters(__u32 pid)
{
	return bpf_map_lookup_elem(&pmw_counts, &pid);
}

static __always_inline __u32 current_pid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

/*
 * Uprobes carry (&_PyRuntime - probed address) as their cookie, so a hit at
 * a known function gives _PyRuntime's load address even in a PIE or shared
 * libpython mapped after pymemwatch started (the "-- COMMAND" case).
 * At a uprobe, PT_REGS_IP is the probed address.
 */
static __always_inline void learn_runtime(struct pt_regs *ctx, struct pmw_target_state *st)
{
	__s64 delta = (__s64)bpf_get_attach_cookie(ctx);

	if (st && !st->runtime_addr && delta)
		st->runtime_addr = PT_REGS_IP(ctx) + delta;
}

/* &_PyRuntime: as a probe learned it, else as userspace knows it; 0 = unknown */
static __always_inline __u64 runtime_addr(const struct pmw_target_cfg *cfg, __u32 pid)
{
	struct pmw_target_state *st = bpf_map_lookup_elem(&pmw_state, &pid);

	return st && st->runtime_addr ? st->runtime_addr : cfg->runtime_addr;
}

/* the main interpreter's GC stats base (struct pmw_py_gcstats_layout), 0 if not readable yet */
static __always_inline __u64 gc_stats_addr(const struct pmw_target_cfg *cfg, __u64 rt)
{
	__u64 interp = 0, base;

	if (!rt)
		return 0;
	if (cfg->gc_stats_in_runtime)
		return rt + cfg->gc_stats_off;
	if (bpf_probe_read_user(&interp, sizeof(interp), (void *)(rt + cfg->interp_main_off)) ||
	    !interp)
		return 0;
	base = interp + cfg->gc_stats_off;
	if (cfg->gc_layout.deref && bpf_probe_read_user(&base, sizeof(base), (void *)base))
		return 0;
	return base;
}

/* the cumulative counters of each generation from @base; 0, or -1 if unreadable */
static __always_inline int read_gc_stats(const struct pmw_py_gcstats_layout *l, __u64 base,
					 struct pmw_py_gcstats st[PMW_NGEN])
{
	for (int g = 0; g < PMW_NGEN; g++) {
		__u64 ring = base + l->gen_off[g];
		__s8 slot = 0;

		if (l->stride &&
		    (bpf_probe_read_user(&slot, 1, (void *)(ring + l->index_off[g])) ||
		     slot < 0 || (__u32)slot >= l->slots[g]))
			return -1;
		if (bpf_probe_read_user(&st[g], sizeof(st[g]),
					(void *)(ring + (__u32)slot * l->stride + l->counts_off)))
			return -1;
	}
	return 0;
}

static __always_inline int gc_begin(struct pt_regs *ctx, __s32 gen, bool learn)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct pmw_target_cfg *cfg;
	struct gc_inflight in = {};

	cfg = bpf_map_lookup_elem(&pmw_targets, &pid);
	if (!cfg)
		return 0;
	if (learn)
		learn_runtime(ctx, bpf_map_lookup_elem(&pmw_state, &pid));
	in.gen = gen;
	in.stats_addr = gc_stats_addr(cfg, runtime_addr(cfg, pid));
	if (in.stats_addr && read_gc_stats(&cfg->gc_layout, in.stats_addr, in.st))
		in.stats_addr = 0;
	in.start_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&pmw_gc_inflight, &tid, &in, BPF_ANY);
	return 0;
}

/*
 * from_usdt: gc__done fires only after a real collection and passes
 * collected + uncollectable; a uretprobe on the collection function also
 * returns from calls that collected nothing (already collecting, nothing
 * to do), which the generation_stats delta tells apart.
 */
static __always_inline int gc_end(__s64 total, bool from_usdt)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct pmw_py_gcstats now[PMW_NGEN];
	struct pmw_target_cfg *cfg = bpf_map_lookup_elem(&pmw_targets, &pid);
	struct gc_inflight *in;
	struct pmw_gc_event *ev;
	struct pmw_counters *c;
	__s32 gen = -1;
	__u32 flags = 0;
	__s64 collected = 0, uncollectable = 0;
	__u64 ts = bpf_ktime_get_ns();
	bool read_ok = false;	/* the main interpreter's generation_stats read at the end */

	in = bpf_map_lookup_elem(&pmw_gc_inflight, &tid);
	if (!in)
		return 0;	/* a collection that started before the probes */
	c = counters(pid);
	if (in->stats_addr && cfg && !read_gc_stats(&cfg->gc_layout, in->stats_addr, now)) {
		read_ok = true;
		for (int g = 0; g < PMW_NGEN; g++) {
			if (now[g].collections != in->st[g].collections) {
				gen = g;
				collected = now[g].collected - in->st[g].collected;
				uncollectable = now[g].uncollectable - in->st[g].uncollectable;
				flags |= PMW_GC_STATS;
				break;
			}
		}
	}
	if (!(flags & PMW_GC_STATS)) {
		/*
		 * The main interpreter's generation_stats did not move: a call
		 * that collected nothing, or (USDT too) a collection of a
		 * subinterpreter, whose GC state is its own (3.9+).
		 */
		if (read_ok || (!from_usdt && in->stats_addr)) {
			bpf_map_delete_elem(&pmw_gc_inflight, &tid);
			return 0;
		}
		gen = in->gen;
		collected = total;
	} else {
		/*
		 * Count each change of the stats once: a subinterpreter's
		 * collection on another thread (own GIL, 3.12+) that overlaps one
		 * of the main interpreter's sees the same change. Not atomic: two
		 * ends on the same nanosecond may both count.
		 */
		struct pmw_target_state *st = bpf_map_lookup_elem(&pmw_state, &pid);
		__s64 sum = now[0].collections + now[1].collections + now[2].collections;

		if (st && sum <= st->gc_seen) {
			bpf_map_delete_elem(&pmw_gc_inflight, &tid);
			return 0;
		}
		if (st)
			st->gc_seen = sum;
	}

	ev = bpf_ringbuf_reserve(&pmw_gc_rb, sizeof(*ev), 0);
	if (!ev) {
		if (c)
			c->dropped++;
	} else {
		*ev = (struct pmw_gc_event){ .pid = pid, .tid = tid, .gen = gen, .flags = flags,
					     .start_ns = in->start_ns, .dur_ns = ts - in->start_ns,
					     .collected = collected, .uncollectable = uncollectable };
		/* userspace drains the ring at every interval: wake it only when the
		 * ring is half full (a wakeup costs the target ~10-30 us) */
		bpf_ringbuf_submit(ev, bpf_ringbuf_query(&pmw_gc_rb, BPF_RB_AVAIL_DATA) >
					       PMW_RB_SIZE / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	}
	bpf_map_delete_elem(&pmw_gc_inflight, &tid);
	return 0;
}

/* ---- GC: USDT python:gc__start(int gen) / python:gc__done(long n) ---- */

SEC("usdt")
int BPF_USDT(pmw_gc_start_u, int gen)
{
	return gc_begin(ctx, gen, false);
}

SEC("usdt")
int BPF_USDT(pmw_gc_done_u, long n)
{
	return gc_end(n, true);
}

/* ---- GC fallback: uprobe/uretprobe on collect() / gc_collect_main() ---- */

SEC("uprobe")
int BPF_KPROBE(pmw_gc_enter)
{
	return gc_begin(ctx, -1, true);
}

SEC("uretprobe")
int BPF_KRETPROBE(pmw_gc_exit)
{
	return gc_end(0, false);
}

/* ---- _PyRuntime_Initialize: learn &_PyRuntime of a starting process ---- */

SEC("uprobe")
int BPF_KPROBE(pmw_rt_init)
{
	__u32 pid = current_pid();

	learn_runtime(ctx, bpf_map_lookup_elem(&pmw_state, &pid));
	return 0;
}

/* ---- pymalloc slow paths ---- */

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* The current thread's thread pointer (x86-64: the user fs base), 0 if unknown. */
static __always_inline __u64 user_fsbase(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return BPF_CORE_READ(task, thread.fsbase);
}

/* The allocating thread's PyThreadState (see struct pmw_py_walk), 0 if unknown. */
static __always_inline __u64 current_tstate(const struct pmw_target_cfg *cfg, __u64 rt)
{
	const struct pmw_py_walk *w = &cfg->walk;

	if (!rt)
		return 0;
	if (w->tstate_kind == PMW_TSTATE_RUNTIME)
		return read_ptr(rt + w->tstate_off);
	if (w->tstate_kind == PMW_TSTATE_GIL) {
		__u64 interp = read_ptr(rt + cfg->interp_main_off);
		__u64 gil = interp ? read_ptr(interp + w->tstate_off) : 0;

		return gil ? read_ptr(gil + 8) : 0;	/* _gil_runtime_state.last_holder */
	}
	if (w->tstate_kind == PMW_TSTATE_TLS && w->tstate_off) {
		/* x86-64 static TLS lies below the thread pointer (the user fs base) */
		__u64 fsbase = user_fsbase();

		return fsbase > w->tstate_off ? read_ptr(fsbase - w->tstate_off) : 0;
	}
	return 0;
}

/*
 * Walk the Python frames of the current thread into @st, innermost first:
 * code object pointer and raw instruction position per frame. Returns the
 * number of frames, or -1 if the thread state could not be read.
 */
static __always_inline int walk_stack(const struct pmw_target_cfg *cfg, __u64 rt,
				      struct pmw_stack *st)
{
	const struct pmw_py_walk *w = &cfg->walk;
	__u64 tstate = current_tstate(cfg, rt), frame;
	__u32 d = 0;

	st->depth = 0;
	if (!tstate)
		return -1;
	frame = read_ptr(tstate + w->tstate_frame);
	if (w->cframe_frame)
		frame = read_ptr(frame + w->cframe_frame - 1);
	/* shim frames are skipped, so allow a few more steps than frames kept */
	for (int i = 0; i < PMW_MAX_DEPTH + 4; i++) {
		__u64 code, instr = 0;
		__u8 owner = 0;

		if (!frame || d >= w->depth || d >= PMW_MAX_DEPTH)
			break;
		if (w->frame_owner &&
		    !bpf_probe_read_user(&owner, 1, (void *)(frame + w->frame_owner)) &&
		    owner == w->owner_cstack) {
			frame = read_ptr(frame + w->frame_back);
			continue;
		}
		code = read_ptr(frame + w->frame_code) & w->code_mask;
		if (w->instr_int) {
			__s32 lasti = 0;

			bpf_probe_read_user(&lasti, sizeof(lasti), (void *)(frame + w->frame_instr));
			instr = (__u64)(__s64)lasti;
		} else {
			instr = read_ptr(frame + w->frame_instr);
		}
		if (code) {
			st->code[d & (PMW_MAX_DEPTH - 1)] = code;
			st->instr[d & (PMW_MAX_DEPTH - 1)] = instr;
			d++;
		}
		frame = read_ptr(frame + w->frame_back);
	}
	st->depth = d;
	return d;
}

static __always_inline __u64 stack_hash(const struct pmw_stack *st)
{
	__u64 h = 0xcbf29ce484222325ULL;	/* FNV-1a over the frames */

	for (int i = 0; i < PMW_MAX_DEPTH; i++) {
		if (i >= st->depth)
			break;
		h = (h ^ st->code[i]) * 0x100000001b3ULL;
		h = (h ^ st->instr[i]) * 0x100000001b3ULL;
	}
	return h ^ st->depth;
}

static __always_inline void take_sample(const struct pmw_target_cfg *cfg,
					struct pmw_sample_key *key, __u32 szidx, __u32 block_off)
{
	struct pmw_counters *c;
	__u32 zero = 0;
	struct pmw_stack *st = bpf_map_lookup_elem(&pmw_scratch, &zero);
	struct pmw_sample smp = { .szidx = szidx, .block_off = block_off };
	long err;

	if (!st || walk_stack(cfg, runtime_addr(cfg, key->pid), st) <= 0)
		return;
	smp.stack = stack_hash(st);
	smp.born_ns = bpf_ktime_get_ns();
	err = bpf_map_update_elem(&pmw_stacks, &smp.stack, st, BPF_NOEXIST);
	/* a full map (not an already-known stack) loses the sample */
	if (((err && err != -EEXIST) || bpf_map_update_elem(&pmw_samples, key, &smp, BPF_ANY)) &&
	    (c = counters(key->pid)))
		c->dropped++;
}

/* A pool refill of size class @szidx: its blocks, or none and refill_badidx for an invalid index. */
static __always_inline void count_refill(struct pmw_counters *c, __u32 szidx, __u32 pool_size)
{
	__u32 bsize, nblocks;

	c->pool_refills++;
	if (szidx >= PMW_NCLASS) {
		c->refill_badidx++;
		return;
	}
	bsize = (szidx + 1) * PMW_ALIGNMENT;
	nblocks = (pool_size - PMW_POOL_HDR_SIZE) / bsize;
	c->refill_blocks += nblocks;
	c->refill_bytes += nblocks * bsize;
}

/*
 * Entry of allocate_from_new_pool(uint size) (3.9-3.11) or (OMState *state,
 * uint size) (3.12+), Objects/obmalloc.c: one call per pool pymalloc takes
 * into use, @size its size class index. Cookie: pool size << 8 | index of
 * the size argument (pyver.h refill_size_arg - 1). Attached only to clones
 * that keep the signature (user/probes.c): no probe read, one lookup.
 */
SEC("uprobe")
int BPF_KPROBE(pmw_pool_refill, __u64 a0, __u64 a1)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct pmw_counters *c = counters(current_pid());

	if (c)
		count_refill(c, (__u32)((cookie & 0xff) ? a1 : a0), (__u32)(cookie >> 8));
	return 0;
}

/* the head of struct pool_header that the return probes read: ref.count @0, szidx @36 */
struct pool_head {
	__u32 ref;
	__u32 pad[8];
	__u32 szidx;
};

/*
 * allocate_from_new_pool() returns a block of the pool it took into use
 * (pools are POOL_SIZE-aligned, the size class index sits at +36 in the
 * pool header). Cookie: the pool size in bytes (bits 8+).
 * pmw_pool_refill_r counts refills where the entry argument cannot be
 * trusted (a function found by disassembly, a clone that may have changed
 * its signature): the size class from the pool header, and the effect check
 * of symfind.c (the pool's ref.count is 1 at return) in refill_stale.
 */
SEC("uretprobe")
int BPF_KRETPROBE(pmw_pool_refill_r, __u64 block)
{
	struct pmw_counters *c = counters(current_pid());
	__u64 pool_size = bpf_get_attach_cookie(ctx) >> 8;
	struct pool_head h = { .szidx = PMW_NCLASS };

	if (!c || !block || !pool_size)
		return 0;
	if (bpf_probe_read_user(&h, sizeof(h), (void *)(block & ~(pool_size - 1))))
		h.szidx = PMW_NCLASS;
	count_refill(c, h.szidx, (__u32)pool_size);
	/* allocate_from_new_pool returns with its pool's ref.count = 1 (Objects/obmalloc.c) */
	if (h.ref != 1)
		c->refill_stale++;
	return 0;
}

/*
 * During allocation-profile bursts only (attached with the free probes;
 * counting stays with the probes above): the Python stack of the allocation
 * that needed the pool. A pool is taken into use again only after every
 * block in it was freed: a sampled pool seen here died (the profile also
 * checks each sample's block from userspace every interval).
 */
SEC("uretprobe")
int BPF_KRETPROBE(pmw_pool_sample, __u64 block)
{
	__u32 pid = current_pid();
	__u64 pool_size = bpf_get_attach_cookie(ctx) >> 8;
	struct pmw_target_cfg *cfg = bpf_map_lookup_elem(&pmw_targets, &pid);
	struct pmw_sample_key key = { .pid = pid };
	__u32 szidx = PMW_NCLASS;

	if (!cfg || !cfg->sampling || !block || !pool_size)
		return 0;
	key.pool = block & ~(pool_size - 1);
	bpf_map_delete_elem(&pmw_samples, &key);	/* a sampled pool that was emptied */
	bpf_probe_read_user(&szidx, sizeof(szidx), (void *)(key.pool + PMW_POOL_SZIDX));
	if (szidx >= PMW_NCLASS)
		return 0;
	/* a pool reused for the same size class hands out its free-list head,
	 * not its first block: the sample records which block it was (wt-walk);
	 * LTO clones that return the pool, not the block, give 48 */
	take_sample(cfg, &key, szidx, block > key.pool + PMW_POOL_HDR_SIZE &&
		    block < key.pool + pool_size ? block - key.pool : PMW_POOL_HDR_SIZE);
	return 0;
}

/*
 * During bursts: a sampled object dies when its block is freed. The
 * sampled block is the pool's first (pool + 48) or, in a pool reused for
 * the same size class, its free-list head then (pmw_sample.block_off), so
 * the free of the pool's sampled block ends the sample. @ptr: the freed
 * address; @k: how many of the candidate blocks ptr, ptr - 16 (PyGC_Head),
 * ptr - 32 (3.11+ pre-header) to try. One map lookup per free: a block and
 * the object in it are in the same pool. Cookie: pool size << 8 | index of
 * the pointer argument (0: PyObject_Free(ptr), 1: _PyObject_Free(ctx, ptr)).
 */
static __always_inline int sample_free(struct pt_regs *ctx, __u64 ptr, int k)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), pool_size = cookie >> 8, off;
	struct pmw_sample_key key = { .pid = current_pid() };
	struct pmw_sample *smp;

	if (!ptr || !pool_size)
		return 0;
	key.pool = ptr & ~(pool_size - 1);
	off = ptr - key.pool;
	smp = bpf_map_lookup_elem(&pmw_samples, &key);
	if (smp && (smp->block_off == off ||
		    (k > 1 && smp->block_off == off - PMW_GC_HEAD_SIZE) ||
		    (k > 2 && smp->block_off == off - PMW_PREHEADER_SIZE)))
		bpf_map_delete_elem(&pmw_samples, &key);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pmw_free_s, __u64 a0, __u64 a1)
{
	return sample_free(ctx, (bpf_get_attach_cookie(ctx) & 1) ? a1 : a0, 1);
}

/*
 * Object deallocation: PyObject_GC_Del(op) and the dealloc functions of the
 * types CPython keeps on free lists (tuple, list, dict, float: their objects
 * die without any free) and of user classes. The block starts at the object
 * (plain), 16 bytes before it (PyGC_Head) or 32 (3.11+ pre-header).
 */
SEC("uprobe")
int BPF_KPROBE(pmw_dealloc_s, __u64 op)
{
	if (op < PMW_PREHEADER_SIZE)
		return 0;
	return sample_free(ctx, op, 3);
}

/* ---- --exact: every pymalloc call, _PyObject_{Malloc,Calloc,Realloc,Free}(ctx, ...) ---- */

SEC("uprobe")
int BPF_KPROBE(pmw_obj_malloc, void *octx, __u64 size)
{
	struct pmw_counters *c = counters(current_pid());

	if (c) {
		c->allocs++;
		c->alloc_bytes += size;
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pmw_obj_calloc, void *octx, __u64 nelem, __u64 elsize)
{
	struct pmw_counters *c = counters(current_pid());

	if (c) {
		c->allocs++;
		c->alloc_bytes += nelem * elsize;
	}
	return 0;
}

/*
 * _PyObject_Realloc is not probed: a block resized in place keeps the
 * count, a moved one goes through _PyObject_Malloc + _PyObject_Free, and
 * realloc(NULL, n) calls _PyObject_Malloc, all probed.
 */
SEC("uprobe")
int BPF_KPROBE(pmw_obj_free, void *octx, void *ptr)
{
	struct pmw_counters *c;

	if (!ptr)
		return 0;
	c = counters(current_pid());
	if (c)
		c->frees++;
	return 0;
}

/* ---- large blocks: libc malloc family, attached per PID ---- */

static __always_inline int large_enter(__u64 size, __u64 old_ptr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct large_pending p = { .size = size, .old_ptr = old_ptr };

	if (size <= PMW_LARGE_MIN && !old_ptr)
		return 0;
	bpf_map_update_elem(&pmw_lg_pending, &tid, &p, BPF_ANY);
	return 0;
}

static __always_inline void large_forget(struct pmw_counters *c, __u32 pid, __u64 ptr)
{
	struct large_key k = { .pid = pid, .ptr = ptr };
	__u64 *sz = bpf_map_lookup_elem(&pmw_large, &k);

	if (!sz)
		return;		/* allocated before attach, or small */
	c->large_free_bytes += *sz;
	bpf_map_delete_elem(&pmw_large, &k);
}

static __always_inline int large_exit(__u64 ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct large_pending *p = bpf_map_lookup_elem(&pmw_lg_pending, &tid);
	struct pmw_counters *c;
	struct large_key k = { .pid = pid };
	__u64 size;

	if (!p)
		return 0;
	size = p->size;
	c = counters(pid);
	if (c && ret && p->old_ptr)
		large_forget(c, pid, p->old_ptr);
	bpf_map_delete_elem(&pmw_lg_pending, &tid);
	if (!c || !ret || size <= PMW_LARGE_MIN)
		return 0;
	k.ptr = ret;
	if (bpf_map_update_elem(&pmw_large, &k, &size, BPF_NOEXIST)) {
		c->dropped++;
		return 0;
	}
	c->large_allocs++;
	c->large_alloc_bytes += size;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pmw_malloc_e, __u64 size)
{
	return large_enter(size, 0);
}

SEC("uprobe")
int BPF_KPROBE(pmw_calloc_e, __u64 nelem, __u64 elsize)
{
	return large_enter(nelem * elsize, 0);
}

SEC("uprobe")
int BPF_KPROBE(pmw_realloc_e, __u64 ptr, __u64 size)
{
	return large_enter(size, ptr);
}

SEC("uretprobe")
int BPF_KRETPROBE(pmw_alloc_r, __u64 ret)
{
	return large_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(pmw_free_e, __u64 ptr)
{
	__u32 pid = current_pid();
	struct pmw_counters *c;

	if (!ptr)
		return 0;
	c = counters(pid);
	if (c)
		large_forget(c, pid, ptr);
	return 0;
}

/* ---- growth sites: a hardware write watchpoint on a container's length ---- */

/* struct pmw_growth_event, one per hit of a watched process */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PMW_GROWTH_RB_SIZE);
} pmw_growth_rb SEC(".maps");

/*
 * PMW_TSTATE_TLS, place not known yet: the writing thread runs Python code, so its
 * _Py_tss_tstate holds its PyThreadState. The nearest 8-byte slot below the thread pointer
 * that points at a thread state whose thread_id is this thread pointer (pthread_self() is the
 * TCB on glibc x86-64) and whose native_thread_id is this thread (@tid) is it. Returns its
 * distance below the thread pointer, 0 none.
 */
static __always_inline __u32 tls_search(const struct pmw_py_walk *w, __u32 tid)
{
	__u64 fsbase = user_fsbase(), id[2];

	if (fsbase <= PMW_TLS_WINDOW)
		return 0;
	for (__u32 k = 8; k <= PMW_TLS_WINDOW; k += 8) {
		__u64 v = read_ptr(fsbase - k);

		if (!v || (v & 7) ||
		    bpf_probe_read_user(id, sizeof(id), (void *)(v + w->tls_thread_id)))
			continue;
		if (id[0] == fsbase && id[1] == tid)
			return k;
	}
	return 0;
}

/*
 * A write to a watched length field (user/leak/growth.c: PERF_TYPE_BREAKPOINT,
 * HW_BREAKPOINT_W, one event per CPU for every process, cookie = the watched
 * address). The trap comes after the write, in the writing thread, which
 * holds the GIL (the thread state the sampling walk reads) or, on a
 * free-threaded build, has its own in _Py_tss_tstate (tls_search). Other processes
 * that write the same virtual address return 0: the kernel then does not
 * count the hit against the event's PERF_EVENT_IOC_REFRESH limit; a hit of
 * the watched process returns 1, so that it does.
 */
SEC("perf_event")
int pmw_growth_hit(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct pmw_target_cfg *cfg = bpf_map_lookup_elem(&pmw_targets, &pid), tmp;
	const struct pmw_target_cfg *use = cfg;
	struct pmw_growth_event *ev;
	struct pmw_counters *c;

	if (!cfg)
		return 0;
	ev = bpf_ringbuf_reserve(&pmw_growth_rb, sizeof(*ev), 0);
	if (!ev) {
		c = counters(pid);
		if (c)
			c->dropped++;
		return 1;
	}
	ev->pid = pid;
	ev->tid = (__u32)id;
	ev->watch = bpf_get_attach_cookie(ctx);
	ev->ts_ns = bpf_ktime_get_ns();
	if (!ev->watch || bpf_probe_read_user(&ev->value, sizeof(ev->value), (void *)ev->watch))
		ev->value = ~0ULL;
	ev->tls_off = 0;
	if (cfg->walk.tstate_kind == PMW_TSTATE_TLS && !cfg->walk.tstate_off) {
		/* this hit reads the stack at the place found (cfg is read-only here) */
		tmp = *cfg;
		tmp.walk.tstate_off = ev->tls_off = tls_search(&cfg->walk, (__u32)id);
		use = &tmp;
	}
	ev->depth = use->walk.tstate_kind && (use->walk.tstate_kind != PMW_TSTATE_TLS ||
					      use->walk.tstate_off) ?
		    walk_stack(use, runtime_addr(cfg, pid), &ev->stack) : -1;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	return 1;
}
