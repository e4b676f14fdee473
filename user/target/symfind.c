// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone/capstone.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "symfind.h"
#include "pyproc.h"
#include "util.h"

#define MAX_FUNC_BYTES	8192	/* the functions decoded here are a few hundred bytes */
#define WRAPPER_BYTES	512	/* a callee this small is looked through (gc_collect_with_callback) */
#define MAX_CALLEES	32
#define GC_SLACK	2	/* collections in flight at an interval's edge */
#define REFILL_SLACK	2	/* pools a non-atomic heap scan may see early */

const char *pmw_check_name(enum pmw_check c)
{
	switch (c) {
	case PMW_CHECK_PENDING: return "found, check pending";
	case PMW_CHECK_PASSED: return "found, check passed";
	case PMW_CHECK_FAILED: return "found, check FAILED (not used)";
	default: return "not found";
	}
}

/* Function starts from .eh_frame_hdr's binary search table, sorted. */
struct funcs {
	uint64_t *start;
	size_t n;
	uint64_t *exported;	/* .dynsym functions, sorted */
	size_t nexp;
};

/* read an encoded pointer of .eh_frame_hdr (DW_EH_PE_*: the encodings GCC and LLVM emit) */
static int eh_ptr(const uint8_t *p, const uint8_t *end, uint8_t enc, uint64_t here, uint64_t hdr,
		  uint64_t *out, size_t *len)
{
	int64_t v;

	switch (enc & 0x0f) {
	case 0x03: case 0x0b:	/* udata4, sdata4 */
		if (p + 4 > end)
			return -EINVAL;
		v = (enc & 0x0f) == 0x0b ? (int64_t)(int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24)
					 : (int64_t)(uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
		*len = 4;
		break;
	case 0x04: case 0x0c:	/* udata8, sdata8 */
		if (p + 8 > end)
			return -EINVAL;
		memcpy(&v, p, 8);
		*len = 8;
		break;
	default:
		return -ENOTSUP;
	}
	switch (enc & 0x70) {
	case 0x00: break;			/* absptr */
	case 0x10: v += here; break;		/* pcrel */
	case 0x30: v += hdr; break;		/* datarel: from the start of .eh_frame_hdr */
	default: return -ENOTSUP;
	}
	*out = v;
	return 0;
}

/* .eh_frame_hdr: version, eh_frame_ptr_enc, fde_count_enc, table_enc, eh_frame_ptr, fde_count, table */
static int load_funcs(const struct pmw_elf *e, struct funcs *f)
{
	GElf_Shdr sh;
	uint8_t *buf, *p, *end;
	uint64_t v, count;
	size_t len;
	int err = -EINVAL;

	memset(f, 0, sizeof(*f));
	if (pmw_elf_section(e, ".eh_frame_hdr", &sh) || sh.sh_size < 12 || sh.sh_size > (16 << 20))
		return -ENOENT;
	buf = malloc(sh.sh_size);
	if (!buf)
		return -ENOMEM;
	if (pread(e->fd, buf, sh.sh_size, sh.sh_offset) != (ssize_t)sh.sh_size || buf[0] != 1)
		goto out;
	p = buf + 4;
	end = buf + sh.sh_size;
	if (eh_ptr(p, end, buf[1], sh.sh_addr + 4, sh.sh_addr, &v, &len))
		goto out;
	p += len;
	if (eh_ptr(p, end, buf[2], sh.sh_addr + (p - buf), sh.sh_addr, &count, &len))
		goto out;
	p += len;
	if (count > (size_t)(end - p) / 8 || !(f->start = calloc(count ? count : 1, sizeof(uint64_t))))
		goto out;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t loc, fde;

		if (eh_ptr(p, end, buf[3], sh.sh_addr + (p - buf), sh.sh_addr, &loc, &len))
			goto out;
		p += len;
		if (eh_ptr(p, end, buf[3], sh.sh_addr + (p - buf), sh.sh_addr, &fde, &len))
			goto out;
		p += len;
		f->start[f->n++] = loc;
	}
	qsort(f->start, f->n, sizeof(uint64_t), pmw_cmp_u64);
	err = 0;
out:
	if (err) {	/* a table cut short: none of it */
		free(f->start);
		f->start = NULL;
		f->n = 0;
	}
	free(buf);
	return err;
}

static void load_exported(const struct pmw_elf *e, struct funcs *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t cap = 0;

	while ((scn = elf_nextscn(e->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;

			if (!gelf_getsym(d, i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC)
				continue;
			if (f->nexp == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				uint64_t *n = realloc(f->exported, nc * sizeof(*n));

				if (!n)
					return;
				f->exported = n;
				cap = nc;
			}
			f->exported[f->nexp++] = s.st_value;
		}
	}
	if (f->exported)
		qsort(f->exported, f->nexp, sizeof(uint64_t), pmw_cmp_u64);
}

static void free_funcs(struct funcs *f)
{
	free(f->start);
	free(f->exported);
}

static bool in_sorted(const uint64_t *a, size_t n, uint64_t v)
{
	return a && bsearch(&v, a, n, sizeof(v), pmw_cmp_u64);
}

/* [start, end) of the function starting at @addr: up to the next start (padding included) */
static uint64_t func_end(const struct funcs *f, uint64_t addr)
{
	size_t lo = pmw_upper_u64(f->start, f->n, addr);

	if (lo < f->n && f->start[lo] - addr < MAX_FUNC_BYTES)
		return f->start[lo];
	return addr + MAX_FUNC_BYTES;
}

/* an unexported function of this image (not a PLT stub): what the static functions look like */
static bool internal_func(const struct pmw_elf *e, const struct funcs *f, uint64_t addr)
{
	GElf_Shdr sh;

	if (!in_sorted(f->start, f->n, addr) || in_sorted(f->exported, f->nexp, addr))
		return false;
	return pmw_elf_section(e, ".plt", &sh) || addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size;
}

struct decoded {
	cs_insn *insn;
	size_t n;
	csh h;
};

/* Decode [start, end) of @e (capstone, details on). Returns 0 or -errno. */
static int decode(const struct pmw_elf *e, uint64_t start, uint64_t end, struct decoded *d)
{
	size_t len = end > start && end - start < MAX_FUNC_BYTES ? end - start : MAX_FUNC_BYTES;
	uint8_t *code = malloc(len);
	int err = 0;

	d->insn = NULL;
	d->n = 0;
	if (!code)
		return -ENOMEM;
	/* the last function of a segment may be shorter than the window */
	while (len > 16 && pmw_elf_read(e, start, code, len))
		len /= 2;
	if (pmw_elf_read(e, start, code, len)) {
		free(code);
		return -ENOENT;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d->h) != CS_ERR_OK) {
		free(code);
		return -ENOTSUP;
	}
	cs_option(d->h, CS_OPT_DETAIL, CS_OPT_ON);
	d->n = cs_disasm(d->h, code, len, start, 0, &d->insn);
	if (!d->n) {
		cs_close(&d->h);
		err = -ENOEXEC;
	}
	free(code);
	return err;
}

static void decoded_free(struct decoded *d)
{
	if (d->n) {
		cs_free(d->insn, d->n);
		cs_close(&d->h);
	}
	d->n = 0;
}

/* Target of a direct call or jmp, 0 if @in is not one. */
static uint64_t direct_target(const cs_insn *in, bool *is_call)
{
	const cs_x86 *x = &in->detail->x86;

	if ((in->id != X86_INS_CALL && in->id != X86_INS_JMP) || x->op_count != 1 ||
	    x->operands[0].type != X86_OP_IMM)
		return 0;
	*is_call = in->id == X86_INS_CALL;
	return x->operands[0].imm;
}

/* The RIP-relative memory operand of @in: its address, 0 if none. @size: operand bytes. */
static uint64_t rip_operand(const cs_insn *in, int *size, x86_reg *dst)
{
	const cs_x86 *x = &in->detail->x86;

	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP &&
		    op->mem.index == X86_REG_INVALID) {
			*size = op->size;
			*dst = x->op_count == 2 && i == 1 && x->operands[0].type == X86_OP_REG ?
				       x->operands[0].reg : X86_REG_INVALID;
			return in->address + in->size + op->mem.disp;
		}
	}
	return 0;
}

/*
 * Unexported functions called from the function at @func, in order, then
 * those only jumped to (tail calls, and the function's own .cold part,
 * which GCC reaches by a jump); returns the count.
 */
static int callees(const struct pmw_elf *e, const struct funcs *f, uint64_t func, uint64_t *out,
		   int max)
{
	uint64_t end = func_end(f, func);
	struct decoded d;
	int n = 0;

	if (decode(e, func, end, &d))
		return 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d.n && n < max; i++) {
			bool call = false, seen = false;
			uint64_t to = direct_target(&d.insn[i], &call);

			if (!to || call != !pass || (to >= func && to < end) || !internal_func(e, f, to))
				continue;
			for (int k = 0; k < n; k++)
				seen |= out[k] == to;
			if (!seen)
				out[n++] = to;
		}
	}
	decoded_free(&d);
	return n;
}

static void found(struct pmw_found *fd, uint64_t addr, enum pmw_check c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void found(struct pmw_found *fd, uint64_t addr, enum pmw_check c, const char *fmt, ...)
{
	va_list ap;

	fd->addr = addr;
	fd->check = addr ? c : PMW_CHECK_NONE;
	va_start(ap, fmt);
	vsnprintf(fd->how, sizeof(fd->how), fmt, ap);
	va_end(ap);
}

static uint64_t exported(struct pmw_elf *e, const char *name)
{
	struct pmw_sym s;

	return pmw_elf_find_symbol(e, name, &s) ? 0 : s.addr;
}

/*
 * 3.8-3.11: the static PyMemAllocatorEx _PyObject. PyObject_Malloc(size) is
 * `_PyObject.malloc(_PyObject.ctx, size)`: two RIP-relative qword reads of
 * adjacent slots (ctx at +0, malloc at +8: a load, or a jump through it),
 * inlined or not (LTO builds load ctx only on the path that calls through
 * the slot). Candidates into @out.
 */
static int find_objalloc(struct pmw_target *t, const struct funcs *f, uint64_t *out, int max)
{
	uint64_t fn = exported(&t->elf, "PyObject_Malloc"), loads[64];
	struct decoded d;
	int n = 0, k = 0;

	if (!fn || decode(&t->elf, fn, func_end(f, fn), &d))
		return 0;
	for (size_t i = 0; i < d.n && n < 64; i++) {
		int size;
		x86_reg dst;
		uint64_t a = rip_operand(&d.insn[i], &size, &dst);

		/* `mov reg, [rip+X]`, or the tail call `jmp *[rip+X]` of non-LTO builds */
		if (a && size == 8 && (d.insn[i].id == X86_INS_MOV || d.insn[i].id == X86_INS_JMP ||
				       d.insn[i].id == X86_INS_CALL))
			loads[n++] = a;
	}
	decoded_free(&d);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n && k < max; j++)
			if (loads[j] == loads[i] + 8) {
				out[k++] = loads[i];
				break;
			}
	return k;
}

/* The allocator struct's four function slots all start functions of this image. */
static bool allocator_ok(const struct funcs *f, const uint64_t fn[5])
{
	for (int i = PMW_ALLOC_MALLOC; i <= PMW_ALLOC_FREE; i++)
		if (!in_sorted(f->start, f->n, fn[i]))
			return false;
	return true;
}

/* The struct's slots (link-time vaddrs): live if the process runs, else the file's initialiser. */
static void read_allocator(const struct pmw_target *t, const struct funcs *f, uint64_t addr,
			   uint64_t fn[5])
{
	uint64_t file[5] = { 0 };

	memset(fn, 0, 5 * sizeof(*fn));
	pmw_elf_read(&t->elf, addr, file, sizeof(file));
	if (t->bias_known && !pmw_mem_read(t->pid, addr + t->bias, fn, 5 * sizeof(*fn)))
		for (int i = 1; i < 5; i++)
			fn[i] = fn[i] ? fn[i] - t->bias : 0;
	/* unset yet, or hooked at run time (tracemalloc, PYTHONMALLOC=debug): the compiled-in one */
	if (!fn[PMW_ALLOC_MALLOC] || (allocator_ok(f, file) && file[PMW_ALLOC_MALLOC] != fn[PMW_ALLOC_MALLOC]))
		memcpy(fn, file, sizeof(file));
}

static void find_obj_malloc(struct pmw_target *t, const struct funcs *f)
{
	struct pmw_symfind *sf = &t->sf;
	uint64_t fn[5], cand[8];
	int n = 0;
	const char *src = t->pv->obj_allocator ? "_PyRuntime.allocators.standard.obj"
					       : "PyObject_Malloc's loads of _PyObject.ctx/.malloc";

	if (t->pv->obj_allocator)
		cand[n++] = t->runtime_vaddr + t->pv->obj_allocator;
	else
		n = find_objalloc(t, f, cand, 8);
	for (int i = 0; i < n; i++) {
		read_allocator(t, f, cand[i], fn);
		if (!allocator_ok(f, fn))
			continue;
		found(&sf->objalloc, cand[i], PMW_CHECK_PASSED, "at 0x%lx from %s; check: malloc/"
		      "calloc/realloc/free slots are function entries (%s)", (unsigned long)cand[i],
		      src, t->bias_known ? "live" : "file initialiser");
		if (!t->pv->obj_allocator)
			t->objalloc_vaddr = cand[i];
		found(&sf->obj_malloc, fn[PMW_ALLOC_MALLOC], PMW_CHECK_PASSED, "0x%lx, the malloc "
		      "slot of the allocator struct", (unsigned long)fn[PMW_ALLOC_MALLOC]);
		return;
	}
	found(&sf->objalloc, 0, PMW_CHECK_NONE, "%d candidates from %s, none holds four function "
	      "entries%s", n, src, t->bias_known ? "" : " (not started yet)");
}

static void find_refill(struct pmw_target *t, const struct funcs *f)
{
	struct pmw_symfind *sf = &t->sf;
	uint64_t c[MAX_CALLEES];
	int n;

	if (!sf->obj_malloc.addr)
		return;
	n = callees(&t->elf, f, sf->obj_malloc.addr, c, MAX_CALLEES);
	if (n < 1) {
		found(&sf->pool_refill, 0, PMW_CHECK_NONE, "no internal call in _PyObject_Malloc (0x%lx)",
		      (unsigned long)sf->obj_malloc.addr);
		return;
	}
	found(&sf->pool_refill, c[0], PMW_CHECK_PENDING, "0x%lx, %s of _PyObject_Malloc "
	      "(0x%lx)", (unsigned long)c[0], n == 1 ? "the only internal callee" :
	      "the first of several internal callees",
	      (unsigned long)sf->obj_malloc.addr);
}

/*
 * The collection function: the largest internal function PyGC_Collect calls,
 * looking through small wrappers (3.11 gc_collect_with_callback; 3.12 and
 * 3.13 call gc_collect_main directly, next to invoke_gc_callback).
 */
static void find_gc(struct pmw_target *t, const struct funcs *f)
{
	uint64_t top = exported(&t->elf, "PyGC_Collect"), c1[MAX_CALLEES], c2[MAX_CALLEES];
	uint64_t best = 0, best_size = 0;
	int n1, depth = 0;

	if (!top) {
		found(&t->sf.gc_func, 0, PMW_CHECK_NONE, "PyGC_Collect not exported");
		return;
	}
	n1 = callees(&t->elf, f, top, c1, MAX_CALLEES);
	for (int i = 0; i < n1; i++) {
		uint64_t size = func_end(f, c1[i]) - c1[i];
		int n2;

		if (size > best_size) {
			best = c1[i];
			best_size = size;
			depth = 1;
		}
		if (size > WRAPPER_BYTES)
			continue;
		n2 = callees(&t->elf, f, c1[i], c2, MAX_CALLEES);
		for (int k = 0; k < n2; k++) {
			uint64_t s2 = func_end(f, c2[k]) - c2[k];

			if (s2 > best_size) {
				best = c2[k];
				best_size = s2;
				depth = 2;
			}
		}
	}
	found(&t->sf.gc_func, best, PMW_CHECK_PENDING, "0x%lx (%lu bytes), the largest internal "
	      "function PyGC_Collect reaches (%s, of %d)", (unsigned long)best,
	      (unsigned long)best_size, depth == 2 ? "through a wrapper" : "direct call", n1);
}

/* arena_object table checks: pymalloc's own invariants (Objects/obmalloc.c 3.8-3.11) */
static bool arena_table_ok(const struct pmw_target *t, uint64_t arenas, uint32_t maxarenas)
{
	uint32_t n = maxarenas < 4096 ? maxarenas : 4096, used = 0;
	uint64_t *ao;
	bool ok = true;

	if (!arenas || !maxarenas || maxarenas % 16 || maxarenas > (1u << 24))
		return false;
	ao = malloc((size_t)n * PMW_ARENA_OBJ_SIZE);
	if (!ao || pmw_mem_read(t->pid, arenas, ao, (size_t)n * PMW_ARENA_OBJ_SIZE)) {
		free(ao);
		return false;
	}
	for (uint32_t i = 0; i < n && ok; i++) {
		const uint64_t *a = ao + i * (PMW_ARENA_OBJ_SIZE / 8);
		uint32_t nfree = (uint32_t)a[2], ntotal = (uint32_t)(a[2] >> 32);

		if (!a[0])
			continue;
		used++;
		ok = a[1] >= a[0] && a[1] <= a[0] + t->pv->arena_size &&
		     ntotal <= t->pv->arena_size / t->pv->pool_size && nfree <= ntotal;
	}
	free(ao);
	return ok && used;
}

/*
 * 3.8-3.11: `arenas` and `maxarenas` from _Py_GetAllocatedBlocks(), which
 * loops `for (i = 0; i < maxarenas; i++) arenas[i].address ...`: its 32-bit
 * RIP-relative load is maxarenas, a 64-bit one whose register is then used as
 * a base address is arenas. Checked against the table in target memory.
 */
static void find_arenas(struct pmw_target *t, const struct funcs *f)
{
	struct pmw_symfind *sf = &t->sf;
	uint64_t fn = exported(&t->elf, "_Py_GetAllocatedBlocks"), max_cand[4], arena_cand[4];
	int nmax = 0, nar = 0;
	struct decoded d;

	if (!fn || decode(&t->elf, fn, func_end(f, fn), &d)) {
		found(&sf->arenas, 0, PMW_CHECK_NONE, "_Py_GetAllocatedBlocks not exported");
		return;
	}
	for (size_t i = 0; i < d.n && i < 64; i++) {
		int size;
		x86_reg dst;
		uint64_t a = rip_operand(&d.insn[i], &size, &dst);

		if (!a || d.insn[i].id != X86_INS_MOV)
			continue;
		if (size == 4 && nmax < 4)
			max_cand[nmax++] = a;
		if (size != 8 || dst == X86_REG_INVALID || nar == 4)
			continue;
		for (size_t k = i + 1; k < d.n && k < i + 32; k++) {
			const cs_x86 *x = &d.insn[k].detail->x86;
			bool based = false;

			for (int o = 0; o < x->op_count; o++)
				based |= x->operands[o].type == X86_OP_MEM && x->operands[o].mem.base == dst;
			if (based) {
				arena_cand[nar++] = a;
				break;
			}
		}
	}
	decoded_free(&d);
	if (!t->bias_known) {
		found(&sf->arenas, 0, PMW_CHECK_NONE, "arena table not checked yet (process not started)");
		return;
	}
	for (int i = 0; i < nar; i++) {
		for (int k = 0; k < nmax; k++) {
			uint64_t arenas = 0;
			uint32_t maxarenas = 0;

			if (pmw_mem_read(t->pid, arena_cand[i] + t->bias, &arenas, sizeof(arenas)) ||
			    pmw_mem_read(t->pid, max_cand[k] + t->bias, &maxarenas, sizeof(maxarenas)) ||
			    !arena_table_ok(t, arenas, maxarenas))
				continue;
			t->arenas_vaddr = arena_cand[i];
			t->maxarenas_vaddr = max_cand[k];
			found(&sf->arenas, arena_cand[i], PMW_CHECK_PASSED, "0x%lx and maxarenas 0x%lx from "
			      "_Py_GetAllocatedBlocks; check: %u arena_objects in target memory obey "
			      "pymalloc's invariants", (unsigned long)arena_cand[i],
			      (unsigned long)max_cand[k], maxarenas);
			found(&sf->maxarenas, max_cand[k], PMW_CHECK_PASSED, "with arenas");
			return;
		}
	}
	found(&sf->arenas, 0, PMW_CHECK_NONE, "%d arenas and %d maxarenas candidates in "
	      "_Py_GetAllocatedBlocks, none held a valid arena table", nar, nmax);
}

static const struct {
	const char *func, *type;
} deallocs[PMW_SYMFIND_NDEALLOC] = {
	{ "tupledealloc", "PyTuple_Type" }, { "list_dealloc", "PyList_Type" },
	{ "dict_dealloc", "PyDict_Type" }, { "float_dealloc", "PyFloat_Type" },
	{ "unicode_dealloc", "PyUnicode_Type" },
};

static void find_deallocs(struct pmw_target *t, const struct funcs *f)
{
	for (int i = 0; i < PMW_SYMFIND_NDEALLOC; i++) {
		struct pmw_found *fd = &t->sf.dealloc[i];
		uint64_t type = exported(&t->elf, deallocs[i].type), fn = 0;

		if (!type || pmw_mem_read(t->pid, type + PMW_TP_DEALLOC + t->bias, &fn, sizeof(fn)) || !fn) {
			found(fd, 0, PMW_CHECK_NONE, "%s not readable", deallocs[i].type);
			continue;
		}
		fn -= t->bias;
		if (!internal_func(&t->elf, f, fn))
			found(fd, fn, PMW_CHECK_FAILED, "0x%lx from %s.tp_dealloc: not an internal "
			      "function of the image", (unsigned long)fn, deallocs[i].type);
		else
			found(fd, fn, PMW_CHECK_PASSED, "0x%lx from the live %s.tp_dealloc; check: an "
			      "internal function entry", (unsigned long)fn, deallocs[i].type);
	}
}

static void report(const struct pmw_target *t, const char *what, const struct pmw_found *fd)
{
	vlog("PID %d: no symbols: %s: %s%s%s\n", t->pid, what, pmw_check_name(fd->check),
	     fd->how[0] ? ": " : "", fd->how);
}

void pmw_symfind_run(struct pmw_target *t)
{
	struct pmw_symfind *sf = &t->sf;
	struct funcs f;
	int err;

	if (t->has_symtab || !t->pv || (sf->done && (sf->live || !t->bias_known)))
		return;
	err = load_funcs(&t->elf, &f);
	if (err) {
		vlog("PID %d: no symbols and no .eh_frame_hdr function table (%s): nothing found by "
		     "disassembly\n", t->pid, strerror(-err));
		sf->done = sf->live = true;
		return;
	}
	load_exported(&t->elf, &f);
	sf->live = t->bias_known;
	find_obj_malloc(t, &f);
	if (!sf->done || sf->pool_refill.check == PMW_CHECK_NONE)
		find_refill(t, &f);
	if (!sf->done)
		find_gc(t, &f);
	if (t->pv->obm_kind == PMW_OBM_STATIC && !t->arenas_vaddr)
		find_arenas(t, &f);
	if (t->bias_known)
		find_deallocs(t, &f);
	sf->done = true;
	vlog("PID %d: %s has no symbols: looked for them by disassembly of exported functions "
	     "(%zu functions in .eh_frame_hdr)\n", t->pid, t->path, f.n);
	free_funcs(&f);
	report(t, "object allocator struct", &sf->objalloc);
	report(t, "_PyObject_Malloc", &sf->obj_malloc);
	report(t, "allocate_from_new_pool", &sf->pool_refill);
	report(t, "collection function", &sf->gc_func);
	if (t->pv->obm_kind == PMW_OBM_STATIC)
		report(t, "arenas", &sf->arenas);
	for (int i = 0; i < PMW_SYMFIND_NDEALLOC && t->bias_known; i++)
		report(t, deallocs[i].func, &sf->dealloc[i]);
}

int pmw_symfind_lookup(const struct pmw_target *t, const char *what, struct pmw_sym *sym)
{
	const struct pmw_found *fd = what ? (!strcmp(what, "allocate_from_new_pool") ?
					     &t->sf.pool_refill : NULL) : &t->sf.gc_func;

	for (int i = 0; what && i < PMW_SYMFIND_NDEALLOC; i++)
		if (!strcmp(what, deallocs[i].func))
			fd = &t->sf.dealloc[i];

	if (!fd || !fd->addr || fd->check == PMW_CHECK_FAILED)
		return 0;
	sym->addr = fd->addr;
	sym->size = 0;
	snprintf(sym->name, sizeof(sym->name), "%s@0x%lx(disassembly)", what ? what : "gc",
		 (unsigned long)fd->addr);
	return 1;
}

void pmw_symfind_check_gc(struct pmw_target *t, uint64_t probe[PMW_NGEN],
			  const uint64_t mem[PMW_NGEN])
{
	struct pmw_symfind *sf = &t->sf;
	uint64_t p = 0, m = 0;

	if (sf->gc_func.check == PMW_CHECK_FAILED) {
		memcpy(probe, mem, sizeof(uint64_t) * PMW_NGEN);
		return;
	}
	for (int g = 0; g < PMW_NGEN; g++) {
		sf->gc_probe[g] += probe[g];
		sf->gc_mem[g] += mem[g];
		p += sf->gc_probe[g];
		m += sf->gc_mem[g];
	}
	if (!sf->gc_off_set) {
		sf->gc_off = (int64_t)(p - m);
		sf->gc_off_set = true;
		sf->gc_mem_first = m;
		return;
	}
	if (llabs((int64_t)(p - m) - sf->gc_off) <= GC_SLACK) {
		sf->gc_bad = 0;
		if (sf->gc_func.check == PMW_CHECK_PENDING && m >= sf->gc_mem_first + 3 &&
		    llabs((int64_t)(p - m) - sf->gc_off) <= 1) {
			sf->gc_func.check = PMW_CHECK_PASSED;
			vlog("PID %d: no symbols: collection function 0x%lx: check passed (%lu "
			     "collections probed = generation_stats)\n", t->pid,
			     (unsigned long)sf->gc_func.addr, (unsigned long)m);
		}
		return;
	}
	if (++sf->gc_bad < 2)
		return;
	/* out of step twice running: not the collection function */
	sf->gc_func.check = PMW_CHECK_FAILED;
	wlog("PID %d: the collection function found by disassembly (0x%lx) failed its check "
	     "(%lu collections probed, %lu in generation_stats): counts from memory, no pauses\n",
	     t->pid, (unsigned long)sf->gc_func.addr, (unsigned long)p, (unsigned long)m);
	/* this row brings each generation's total since attach back to generation_stats' */
	for (int g = 0; g < PMW_NGEN; g++) {
		uint64_t shown = sf->gc_probe[g] - probe[g];

		probe[g] = sf->gc_mem[g] > shown ? sf->gc_mem[g] - shown : 0;
	}
}

bool pmw_symfind_check_refill(struct pmw_target *t, uint64_t pools_used, uint64_t refills,
			      uint64_t refill_blocks, uint64_t stale)
{
	struct pmw_symfind *sf = &t->sf;
	/* fewest blocks a pool holds: 512-byte classes, (pool size - header) / 512 */
	uint64_t min_blocks = (t->pv->pool_size - PMW_POOL_HDR_SIZE) / 512;
	uint64_t up = 0;

	if (sf->pool_refill.check == PMW_CHECK_NONE)
		return true;	/* found by symbol: nothing to check */
	if (sf->pool_refill.check == PMW_CHECK_FAILED)
		return false;
	if (sf->pools_prev_ok && pools_used > sf->pools_prev)
		up = pools_used - sf->pools_prev;
	sf->pools_prev = pools_used;
	sf->pools_prev_ok = true;
	sf->pools_up += up;
	sf->refills += refills;
	sf->stale += stale;
	if (up > refills + refills / 2 + REFILL_SLACK || refill_blocks < refills * min_blocks ||
	    (sf->refills >= 32 && sf->stale * 100 > sf->refills)) {
		sf->pool_refill.check = PMW_CHECK_FAILED;
		wlog("PID %d: the pool-refill function found by disassembly (0x%lx) failed its check "
		     "(%lu pools became used, %lu refills, %lu blocks, %lu of %lu refills left a pool "
		     "not holding exactly one block): allocation counts unavailable\n", t->pid,
		     (unsigned long)sf->pool_refill.addr, (unsigned long)up, (unsigned long)refills,
		     (unsigned long)refill_blocks, (unsigned long)sf->stale,
		     (unsigned long)sf->refills);
		return false;
	}
	if (sf->pool_refill.check == PMW_CHECK_PENDING && sf->refills >= 32) {
		sf->pool_refill.check = PMW_CHECK_PASSED;
		vlog("PID %d: no symbols: allocate_from_new_pool 0x%lx: check passed (%lu refills, "
		     "each leaving its pool holding one block of a valid size class, %lu stale; they "
		     "cover the %lu pools that became used)\n", t->pid,
		     (unsigned long)sf->pool_refill.addr, (unsigned long)sf->refills,
		     (unsigned long)sf->stale, (unsigned long)sf->pools_up);
	}
	return sf->pool_refill.check == PMW_CHECK_PASSED;
}
