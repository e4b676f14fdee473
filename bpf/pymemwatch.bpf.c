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
#include <bpf/usdt.bpf.h>
#include "pmw.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* pid (tgid) -> configuration; presence = the PID is watched */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PMW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct pmw_target_cfg);
} pmw_targets SEC(".maps");

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
	__u64 stats_addr;	/* &generation_stats[0], 0 if unknown */
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
static __always_inline void learn_runtime(struct pt_regs *ctx, struct pmw_target_cfg *cfg)
{
	__s64 delta = (__s64)bpf_get_attach_cookie(ctx);

	if (!cfg->runtime_addr && delta)
		cfg->runtime_addr = PT_REGS_IP(ctx) + delta;
}

/* &generation_stats[0] of the main interpreter, 0 if not readable yet */
static __always_inline __u64 gc_stats_addr(struct pmw_target_cfg *cfg)
{
	__u64 interp = 0;

	if (!cfg->runtime_addr)
		return 0;
	if (cfg->gc_stats_in_runtime)
		return cfg->runtime_addr + cfg->gc_stats_off;
	if (bpf_probe_read_user(&interp, sizeof(interp),
				(void *)(cfg->runtime_addr + cfg->interp_main_off)) || !interp)
		return 0;
	return interp + cfg->gc_stats_off;
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
		learn_runtime(ctx, cfg);
	in.gen = gen;
	in.stats_addr = gc_stats_addr(cfg);
	if (in.stats_addr &&
	    bpf_probe_read_user(&in.st, sizeof(in.st), (void *)in.stats_addr))
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
	struct gc_inflight *in;
	struct pmw_gc_event *ev;
	struct pmw_counters *c;
	__s32 gen = -1;
	__u32 flags = 0;
	__s64 collected = 0, uncollectable = 0;
	__u64 ts = bpf_ktime_get_ns();

	in = bpf_map_lookup_elem(&pmw_gc_inflight, &tid);
	c = counters(pid);
	if (!in) {
		if (c)
			c->gc_unmatched++;
		return 0;
	}
	if (in->stats_addr &&
	    !bpf_probe_read_user(&now, sizeof(now), (void *)in->stats_addr)) {
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
		if (!from_usdt && in->stats_addr) {
			/* returned without collecting */
			bpf_map_delete_elem(&pmw_gc_inflight, &tid);
			return 0;
		}
		gen = in->gen;
		collected = total;
	}

	ev = bpf_ringbuf_reserve(&pmw_gc_rb, sizeof(*ev), 0);
	if (!ev) {
		if (c)
			c->dropped++;
	} else {
		ev->pid = pid;
		ev->tid = tid;
		ev->gen = gen;
		ev->flags = flags;
		ev->start_ns = in->start_ns;
		ev->dur_ns = ts - in->start_ns;
		ev->collected = collected;
		ev->uncollectable = uncollectable;
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
	struct pmw_target_cfg *cfg = bpf_map_lookup_elem(&pmw_targets, &pid);

	if (cfg)
		learn_runtime(ctx, cfg);
	return 0;
}

/* ---- pymalloc slow paths ---- */

/*
 * allocate_from_new_pool(uint size) (3.9-3.11) or (OMState *, uint size)
 * (3.12+), Objects/obmalloc.c: size is the size-class index. The cookie
 * packs which argument holds it (bit 0) and the pool size in bytes (bits
 * 8+), so the handler needs a single map lookup. A pool has
 * (pool_size - 48) / block bytes.
 */
SEC("uprobe")
int BPF_KPROBE(pmw_pool_refill, __u64 a0, __u64 a1)
{
	struct pmw_counters *c = counters(current_pid());
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 szidx, bsize, nblocks;

	if (!c)
		return 0;
	szidx = (__u32)((cookie & 1) ? a1 : a0);
	c->pool_refills++;
	if (szidx >= PMW_NCLASS)
		return 0;
	bsize = (szidx + 1) * 16;
	nblocks = ((__u32)(cookie >> 8) - 48) / bsize;
	c->refill_blocks += nblocks;
	c->refill_bytes += nblocks * bsize;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pmw_arena_map)
{
	struct pmw_counters *c = counters(current_pid());

	if (c)
		c->arena_maps++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pmw_arena_unmap)
{
	struct pmw_counters *c = counters(current_pid());

	if (c)
		c->arena_unmaps++;
	return 0;
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
 * Realloc of an existing block keeps the block count (a moved block goes
 * through _PyObject_Malloc + _PyObject_Free, seen by their own probes);
 * realloc(NULL, n) calls _PyObject_Malloc, which is probed too.
 */
SEC("uprobe")
int BPF_KPROBE(pmw_obj_realloc, void *octx, void *ptr)
{
	struct pmw_counters *c = counters(current_pid());

	if (c)
		c->reallocs++;
	return 0;
}

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
	c->large_frees++;
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
