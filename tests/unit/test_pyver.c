// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of user/pyver.c (cmocka): the CPython version table is the one
 * place to add a version, so every row is checked here for what the rest of
 * the tool assumes of it, and the supported range is the table's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "pyver.h"

static size_t nrows(void)
{
	size_t n = 0;

	while (pmw_pyver_at(n))
		n++;
	return n;
}

/* rows in version order without gaps; find() returns each row; range = ends */
static void test_order_and_range(void **state)
{
	const struct pmw_pyver *first = pmw_pyver_at(0), *last, *pv;
	size_t n = nrows();
	char want[32];

	assert_true(n > 0);
	last = pmw_pyver_at(n - 1);
	for (size_t i = 0; i < n; i++) {
		pv = pmw_pyver_at(i);
		assert_int_equal(pv->major, 3);
		assert_int_equal(pv->minor, first->minor + (int)i);
		assert_ptr_equal(pmw_pyver_find(pv->major, pv->minor), pv);
	}
	assert_null(pmw_pyver_find(3, first->minor - 1));
	assert_null(pmw_pyver_find(3, last->minor + 1));
	assert_null(pmw_pyver_find(2, 7));
	snprintf(want, sizeof(want), "3.%d-3.%d", first->minor, last->minor);
	assert_string_equal(pmw_pyver_supported(), want);
}

/* each row is complete and self-consistent */
static void test_rows(void **state)
{
	const struct pmw_pyver *pv;

	for (size_t i = 0; (pv = pmw_pyver_at(i)); i++) {
		const struct pmw_py_walk *w = &pv->walk;

		print_message("[ pyver    ] 3.%d\n", pv->minor);
		/* pools: power of two, hold at least one 512-byte block; arenas hold pools */
		assert_true(pv->pool_size && !(pv->pool_size & (pv->pool_size - 1)));
		assert_true(pv->pool_size >= PMW_POOL_HDR_SIZE + PMW_NCLASS * PMW_ALIGNMENT);
		assert_true(pv->arena_size >= pv->pool_size && pv->arena_size % pv->pool_size == 0);
		assert_true((pv->obm_kind == PMW_OBM_STATIC) == (pv->obm_off == 0));
		assert_non_null(pv->gc_funcs[0]);
		assert_true(pv->interp_main && pv->gc_stats);
		/* GC counters: 3 records in a row, or rings whose index follows their slots */
		for (int g = 0; g < PMW_NGEN; g++) {
			const struct pmw_py_gcstats_layout *l = &pv->gc_layout;

			if (!l->stride) {
				assert_int_equal(l->gen_off[g], g * sizeof(struct pmw_py_gcstats));
				assert_int_equal(l->counts_off, 0);
				continue;
			}
			assert_true(l->slots[g] > 0 && l->slots[g] <= 127);
			assert_true(l->index_off[g] >= l->slots[g] * l->stride);
			assert_true(l->counts_off + sizeof(struct pmw_py_gcstats) <= l->stride);
			assert_true(!g || l->gen_off[g] > l->gen_off[g - 1] + l->index_off[g - 1]);
		}
		/* frames: an int f_lasti exactly where the row converts f_lasti units */
		assert_true(w->tstate_kind == PMW_TSTATE_RUNTIME || w->tstate_kind == PMW_TSTATE_GIL);
		assert_int_equal(!!w->instr_int, pv->lasti_unit != 0);
		assert_true(pv->lasti_unit <= 2);
		assert_true(w->code_mask != 0);
		assert_true(!w->frame_owner == !w->owner_cstack);
		assert_true(pv->lasti_unit || pv->co_code_adaptive);
		/* code objects and str */
		assert_true(pv->co_filename && pv->co_name && pv->co_firstlineno && pv->co_linetable);
		assert_true(pv->ascii_data && pv->compact_data > pv->ascii_data);
		assert_true(pv->line_table >= PMW_LT_LNOTAB && pv->line_table <= PMW_LT_LOCATIONS);
		/* formats follow the versions that introduced them (PEP 626, PEP 657) */
		assert_int_equal(pv->line_table, pv->minor <= 9 ? PMW_LT_LNOTAB :
				 pv->minor == 10 ? PMW_LT_LINETABLE310 : PMW_LT_LOCATIONS);
	}
}

/*
 * pmw_pyver_gc_read on this process's own memory (process_vm_readv on
 * itself), laid out as each row says: every row's newest counters are found,
 * and for ring layouts a NULL pointer is -EAGAIN and an index out of range
 * (a torn read) is -EFAULT.
 */
static void test_gc_read(void **state)
{
	static uint8_t mem[4096] __attribute__((aligned(16)));
	const struct pmw_pyver *pv;

	for (size_t i = 0; (pv = pmw_pyver_at(i)); i++) {
		const struct pmw_py_gcstats_layout *l = &pv->gc_layout;
		struct pmw_py_gcstats st[PMW_NGEN];
		uint8_t *base = mem + 64;
		uint64_t field = (uint64_t)(uintptr_t)mem, ptr = (uint64_t)(uintptr_t)base;

		memset(mem, 0, sizeof(mem));
		if (l->deref)
			memcpy(mem, &ptr, sizeof(ptr));
		else
			base = mem;
		for (int g = 0; g < PMW_NGEN; g++) {
			/* the newest slot is the last one; the others hold older counts */
			int8_t slot = l->stride ? (int8_t)(l->slots[g] - 1) : 0;
			struct pmw_py_gcstats want = { 100 + g, 200 + g, 300 + g }, old = { 1, 2, 3 };

			assert_true(l->gen_off[g] + l->index_off[g] + 8 < sizeof(mem) - 64);
			if (l->stride) {
				base[l->gen_off[g] + l->index_off[g]] = (uint8_t)slot;
				memcpy(base + l->gen_off[g] + l->counts_off, &old, sizeof(old));
			}
			memcpy(base + l->gen_off[g] + (uint32_t)slot * l->stride + l->counts_off,
			       &want, sizeof(want));
		}
		assert_int_equal(pmw_pyver_gc_read(getpid(), l, field, st), 0);
		for (int g = 0; g < PMW_NGEN; g++) {
			assert_int_equal(st[g].collections, 100 + g);
			assert_int_equal(st[g].collected, 200 + g);
			assert_int_equal(st[g].uncollectable, 300 + g);
		}
		if (!l->stride)
			continue;
		base[l->gen_off[1] + l->index_off[1]] = (uint8_t)l->slots[1];
		assert_int_equal(pmw_pyver_gc_read(getpid(), l, field, st), -EFAULT);
		base[l->gen_off[1] + l->index_off[1]] = 0xff;
		assert_int_equal(pmw_pyver_gc_read(getpid(), l, field, st), -EFAULT);
		memset(mem, 0, 8);
		assert_int_equal(pmw_pyver_gc_read(getpid(), l, field, st), -EAGAIN);
	}
}

/* the contents of @rel (from the repository root), found from __FILE__ or the cwd */
static char *read_repo_file(const char *rel)
{
	const char *file = __FILE__, *slash = strrchr(file, '/');
	char path[4096];
	static char buf[1 << 20];
	size_t n = 0;
	FILE *f;

	/* __FILE__ is tests/unit/test_pyver.c (relative or absolute) */
	snprintf(path, sizeof(path), "%.*s/../../%s", slash ? (int)(slash - file) : 1,
		 slash ? file : ".", rel);
	f = fopen(path, "r");
	if (!f)
		f = fopen(rel, "r");
	if (!f)
		fail_msg("cannot read %s (run from the repository root)", rel);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* README.md, doc/builds.md and the man page state the table's range */
static void test_docs_state_the_range(void **state)
{
	const struct pmw_pyver *first = pmw_pyver_at(0), *last = first;
	char want[64];

	for (size_t i = 0; pmw_pyver_at(i); i++)
		last = pmw_pyver_at(i);
	snprintf(want, sizeof(want), "Supported: CPython %d.%d\u2013%d.%d ", first->major,
		 first->minor, last->major, last->minor);
	if (!strstr(read_repo_file("README.md"), want))
		fail_msg("README.md does not say \"%s\"", want);
	if (!strstr(read_repo_file("doc/builds.md"), want))
		fail_msg("doc/builds.md does not say \"%s\"", want);
	snprintf(want, sizeof(want), "CPython %d.%d\\(en%d.%d ", first->major, first->minor,
		 last->major, last->minor);
	if (!strstr(read_repo_file("doc/pymemwatch.8"), want))
		fail_msg("doc/pymemwatch.8 does not say \"%s\"", want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_range),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_gc_read),
		cmocka_unit_test(test_docs_state_the_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
