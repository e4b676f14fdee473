// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "insn.h"
#include "log.h"
#include "probes.h"
#include "pymemwatch.skel.h"
#include "util.h"

/*
 * To add a probe: write its handler in bpf/pymemwatch.bpf.c and add a row
 * here. tests/unit/test_probes.c checks that rows and programs match.
 */
const struct pmw_probe pmw_probes[] = {
	/* prog              kind           resolve            what                     slot              libc   req    group        clones */
	{ "pmw_gc_start_u",  PMW_USDT,      PMW_RES_USDT,      "python:gc__start",      0,                false, true,  PMW_G_GC_USDT, PMW_SIG_ANY },
	{ "pmw_gc_done_u",   PMW_USDT,      PMW_RES_USDT,      "python:gc__done",       0,                false, true,  PMW_G_GC_USDT, PMW_SIG_ANY },
	{ "pmw_gc_enter",    PMW_UPROBE,    PMW_RES_GC_FUNC,   NULL,                    0,                false, true,  PMW_G_GC_UPROBE, PMW_SIG_ANY },
	{ "pmw_gc_exit",     PMW_URETPROBE, PMW_RES_GC_FUNC,   NULL,                    0,                false, true,  PMW_G_GC_UPROBE, PMW_SIG_ANY },
	{ "pmw_rt_init",     PMW_UPROBE,    PMW_RES_SYM,       "_PyRuntime_Initialize", 0,                false, true,  PMW_G_START, PMW_SIG_ANY },
	/* pool refills: counted at entry from the size argument where the clone keeps its
	 * signature, else at return from the pool header (checked by symfind.c) */
	{ "pmw_pool_refill", PMW_UPROBE,    PMW_RES_SYM,       "allocate_from_new_pool", 0,               false, true,  PMW_G_HEAP, PMW_SIG_KEPT },
	{ "pmw_pool_refill_r", PMW_URETPROBE, PMW_RES_SYM,     "allocate_from_new_pool", 0,               false, true,  PMW_G_HEAP, PMW_SIG_UNSURE },
	{ "pmw_obj_malloc",  PMW_UPROBE,    PMW_RES_OBJ_ALLOC, "malloc",                PMW_ALLOC_MALLOC, false, true,  PMW_G_EXACT, PMW_SIG_ANY },
	{ "pmw_obj_calloc",  PMW_UPROBE,    PMW_RES_OBJ_ALLOC, "calloc",                PMW_ALLOC_CALLOC, false, true,  PMW_G_EXACT, PMW_SIG_ANY },
	{ "pmw_obj_free",    PMW_UPROBE,    PMW_RES_OBJ_ALLOC, "free",                  PMW_ALLOC_FREE,   false, true,  PMW_G_EXACT, PMW_SIG_ANY },
	{ "pmw_pool_sample", PMW_URETPROBE, PMW_RES_SYM,       "allocate_from_new_pool", 0,               false, true,  PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_free_s",      PMW_UPROBE,    PMW_RES_SYM,       "PyObject_Free",         0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_free_s",      PMW_UPROBE,    PMW_RES_OBJ_ALLOC, "free",                  PMW_ALLOC_FREE,   false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "PyObject_GC_Del",       0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "tupledealloc",          0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "tuple_dealloc",         0,                false, false, PMW_G_BURST, PMW_SIG_ANY }, /* 3.14+ name */
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "list_dealloc",          0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "dict_dealloc",          0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "float_dealloc",         0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "subtype_dealloc",       0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_dealloc_s",   PMW_UPROBE,    PMW_RES_SYM,       "unicode_dealloc",       0,                false, false, PMW_G_BURST, PMW_SIG_ANY },
	{ "pmw_malloc_e",    PMW_UPROBE,    PMW_RES_SYM,       "malloc",                0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_alloc_r",     PMW_URETPROBE, PMW_RES_SYM,       "malloc",                0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_calloc_e",    PMW_UPROBE,    PMW_RES_SYM,       "calloc",                0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_alloc_r",     PMW_URETPROBE, PMW_RES_SYM,       "calloc",                0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_realloc_e",   PMW_UPROBE,    PMW_RES_SYM,       "realloc",               0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_alloc_r",     PMW_URETPROBE, PMW_RES_SYM,       "realloc",               0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_free_e",      PMW_UPROBE,    PMW_RES_SYM,       "free",                  0,                true,  true,  PMW_G_LARGE, PMW_SIG_ANY },
	{ "pmw_growth_hit",  PMW_WATCHPOINT, PMW_RES_NONE,     "mem:LEN_FIELD:w",       0,                false, false, PMW_G_GROWTH, PMW_SIG_ANY },
};
const int pmw_nprobes = ARRAY_SIZE(pmw_probes);

#define MAX_CLONES 8

static int add_link(struct pmw_attach *a, struct bpf_link *l)
{
	if (a->nlinks == a->cap) {
		int ncap = a->cap ? a->cap * 2 : 16;
		struct bpf_link **nl = realloc(a->links, ncap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		a->links = nl;
		a->cap = ncap;
	}
	a->links[a->nlinks++] = l;
	return 0;
}

/* Addresses (link-time vaddrs) a row attaches to; returns the count or -errno. */
static int resolve_row(const struct pmw_probe *p, const struct pmw_target *t, struct pmw_sym *syms)
{
	struct pmw_elf *e = (struct pmw_elf *)&t->elf;
	uint64_t fn[5];
	int n, err;

	switch (p->res) {
	case PMW_RES_SYM:
		n = pmw_elf_find_functions(e, p->what, syms, MAX_CLONES);
		if (!n)
			n = pmw_symfind_lookup(t, p->what, syms);	/* stripped: by disassembly */
		return n ? n : -ENOENT;
	case PMW_RES_GC_FUNC:
		for (int i = 0; i < 3 && t->pv->gc_funcs[i]; i++) {
			n = pmw_elf_find_functions(e, t->pv->gc_funcs[i], syms, MAX_CLONES);
			if (n)
				return n;
		}
		return pmw_symfind_lookup(t, NULL, syms) ?: -ENOENT;
	case PMW_RES_OBJ_ALLOC:
		err = pmw_target_obj_allocator(t, fn);
		if (err == -EAGAIN) {
			/* not started yet: the struct's static initialiser is in the file */
			uint64_t addr = t->pv->obj_allocator ? t->runtime_vaddr + t->pv->obj_allocator
							     : t->objalloc_vaddr;

			err = addr ? pmw_elf_read(&t->elf, addr, fn, sizeof(fn)) : -ENOENT;
		}
		if (err)
			return err;
		if (!fn[p->slot])
			return -ENOENT;
		syms[0].addr = fn[p->slot];
		snprintf(syms[0].name, sizeof(syms[0].name), "_PyObject.%s", p->what);
		return 1;
	default:
		return -EINVAL;
	}
}

/*
 * Does @sym keep the signature that row @p reads arguments by? Found by
 * name (not by disassembly), no suffix of a clone whose parameters GCC may
 * have changed (.isra: removed or split, .constprop: constants folded in,
 * .part: a split-off piece; .lto_priv and .cold keep them), and, for the
 * pool refill, a version whose argument pyver.c knows. PMW_REFILL_AT_RETURN=1
 * in the environment counts refills at return everywhere (tests compare the two).
 */
static bool sig_kept(const struct pmw_probe *p, const struct pmw_target *t,
		     const struct pmw_sym *sym)
{
	static const char *const changed[] = { "(disassembly)", ".isra", ".constprop", ".part" };

	for (size_t i = 0; i < ARRAY_SIZE(changed); i++)
		if (strstr(sym->name, changed[i]))
			return false;
	if (p->group & PMW_G_HEAP) {
		const char *at_return = getenv("PMW_REFILL_AT_RETURN");

		return t->pv->refill_size_arg && !(at_return && !strcmp(at_return, "1"));
	}
	return true;
}

static struct bpf_program *prog_by_name(struct pmw_bpf *skel, const char *name)
{
	return bpf_object__find_program_by_name(skel->obj, name);
}

/*
 * GC probes fire once per collection: they attach once per interpreter
 * image for every process (-1), and BPF filters by pmw_targets, so N
 * workers of one interpreter cost one set of links (each link costs ~0.2 s
 * to detach). Probes on allocation paths stay on the watched PID only, so
 * that other processes never pay for them.
 */
static int probe_pid(const struct pmw_probe *p, const struct pmw_target *t)
{
	return p->group & PMW_G_SHARED ? -1 : t->pid;
}

/*
 * Uprobe cookies: (&_PyRuntime - probe address) lets GC probes learn
 * _PyRuntime; the pool and burst probes get the pool size (bits 8+) and,
 * for frees, which argument is the pointer (bit 0: the implementation
 * _PyObject_Free(ctx, ptr) rather than PyObject_Free(ptr)), for the entry
 * of allocate_from_new_pool which one is the size class (bits 0-7).
 */
static __u64 probe_cookie(const struct pmw_probe *p, const struct pmw_target *t, uint64_t addr)
{
	if (p->group & PMW_G_HEAP && p->kind == PMW_UPROBE)	/* allocate_from_new_pool(.., size) */
		return (__u64)t->pv->pool_size << 8 | (__u64)(t->pv->refill_size_arg - 1);
	if (p->group & (PMW_G_HEAP | PMW_G_BURST))
		return (__u64)t->pv->pool_size << 8 | (p->res == PMW_RES_OBJ_ALLOC);
	return (__u64)(t->runtime_vaddr - addr);
}

static int attach_uprobe_at(struct bpf_program *prog, const struct pmw_probe *p,
			    const struct pmw_target *t, const char *bin, const struct pmw_sym *sym,
			    struct pmw_attach *a)
{
	uint64_t addr = sym->addr;
	struct bpf_link *l;
	GElf_Off off;
	int err;

	/* entry probes move to the first instruction the kernel emulates;
	 * return probes stay at the entry, where [rsp] is the return address */
	if (p->kind == PMW_UPROBE)
		addr = pmw_insn_probe_addr(&t->elf, addr);
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = p->kind == PMW_URETPROBE,
		    .bpf_cookie = probe_cookie(p, t, addr));

	err = pmw_elf_vaddr_to_offset(&t->elf, addr, &off);
	if (err)
		return err;
	l = bpf_program__attach_uprobe_opts(prog, probe_pid(p, t), bin, off, &o);
	if (!l)
		return -errno;
	dlog("PID %d: %s -> %s+0x%lx (%s+%lu)\n", t->pid, p->prog, bin, (long)off, sym->name,
	     (unsigned long)(addr - sym->addr));
	return add_link(a, l);
}

static int attach_row(struct pmw_bpf *skel, const struct pmw_probe *p, const struct pmw_target *t,
		      struct pmw_attach *a)
{
	struct bpf_program *prog = prog_by_name(skel, p->prog);
	struct pmw_sym syms[MAX_CLONES];
	const char *bin = p->in_libc ? t->libc_path : t->host_path;
	int n, err;

	if (!prog)
		return -ENOENT;
	if (p->kind == PMW_WATCHPOINT)
		return 0;	/* armed per container by growth.c */
	if (!bin[0])
		return -ENOENT;
	if (p->kind == PMW_USDT) {
		char prov[64];
		const char *name = strchr(p->what, ':');
		struct bpf_link *l;

		snprintf(prov, sizeof(prov), "%.*s", (int)(name - p->what), p->what);
		l = bpf_program__attach_usdt(prog, probe_pid(p, t), bin, prov, name + 1, NULL);
		if (!l)
			return -errno;
		return add_link(a, l);
	}
	if (p->in_libc) {
		/* libc exports these: let libbpf find them in its .dynsym */
		LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = p->kind == PMW_URETPROBE,
			    .func_name = p->what);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, t->pid, bin, 0, &o);

		if (!l)
			return -errno;
		return add_link(a, l);
	}
	n = resolve_row(p, t, syms);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (p->sig != PMW_SIG_ANY && sig_kept(p, t, &syms[i]) != (p->sig == PMW_SIG_KEPT))
			continue;	/* the other row of this function takes it */
		err = attach_uprobe_at(prog, p, t, bin, &syms[i], a);
		if (err)
			return err;
	}
	return 0;
}

int pmw_probes_attach(struct pmw_bpf *skel, const struct pmw_target *t, unsigned int groups,
		      struct pmw_attach *a)
{
	for (unsigned int g = 1; g && g <= groups; g <<= 1) {
		int first = a->nlinks;
		bool ok = true;

		if (!(groups & g))
			continue;
		for (int i = 0; i < pmw_nprobes; i++) {
			const struct pmw_probe *p = &pmw_probes[i];
			int err;

			if (p->group != g)
				continue;
			err = attach_row(skel, p, t, a);
			if (!err)
				continue;
			vlog("PID %d: %s on %s failed: %s%s\n", t->pid, p->prog,
			     p->what ? p->what : "gc function", strerror(-err),
			     p->required ? "" : " (optional)");
			if (p->required) {
				ok = false;
				break;
			}
		}
		if (!ok) {
			while (a->nlinks > first)
				bpf_link__destroy(a->links[--a->nlinks]);
			continue;
		}
		a->groups |= g;
	}
	return a->nlinks ? a->nlinks : -ENOENT;
}

void pmw_probes_detach(struct pmw_attach *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->nlinks; i++)
		bpf_link__destroy(a->links[i]);
	free(a->links);
	a->links = NULL;
	a->nlinks = a->cap = 0;
	a->groups = 0;
}

static atomic_int detaching;	/* background detaches not yet finished */

static void *detach_async_thread(void *arg)
{
	struct pmw_attach *a = arg;

	pmw_probes_detach(a);
	free(a);
	atomic_fetch_sub(&detaching, 1);
	return NULL;
}

void pmw_probes_detach_async(struct pmw_attach *a)
{
	struct pmw_attach *copy = malloc(sizeof(*copy));
	pthread_attr_t attr;
	pthread_t th;

	if (!a->nlinks || !copy) {
		free(copy);
		pmw_probes_detach(a);
		return;
	}
	*copy = *a;
	memset(a, 0, sizeof(*a));
	atomic_fetch_add(&detaching, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, detach_async_thread, copy))
		detach_async_thread(copy);
	pthread_attr_destroy(&attr);
}

int pmw_probes_detaching(void)
{
	return atomic_load(&detaching);
}

void pmw_probes_set_autoload(struct pmw_bpf *skel, unsigned int groups)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		bool used = false;

		for (int i = 0; i < pmw_nprobes; i++)
			if (!strcmp(pmw_probes[i].prog, bpf_program__name(prog)) &&
			    (pmw_probes[i].group & groups))
				used = true;
		bpf_program__set_autoload(prog, used);
	}
}
