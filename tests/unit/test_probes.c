// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The probe table (user/probes.c) and the BPF object agree: every row names
 * a program, every program has a row. Opens the skeleton without loading
 * it, so it needs no privileges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/libbpf.h>
#include "probes.h"
#include "pymemwatch.skel.h"
#include "pyver.h"


static void test_rows_name_programs(void **state)
{
	struct pmw_bpf *skel = pmw_bpf__open();

	assert_non_null(skel);
	for (int i = 0; i < pmw_nprobes; i++) {
		if (!bpf_object__find_program_by_name(skel->obj, pmw_probes[i].prog))
			fail_msg("probe row %d names no BPF program: %s", i, pmw_probes[i].prog);
		if (pmw_probes[i].res != PMW_RES_GC_FUNC)
			assert_non_null(pmw_probes[i].what);
		if (pmw_probes[i].kind == PMW_USDT)
			assert_non_null(strchr(pmw_probes[i].what, ':'));
	}
	pmw_bpf__destroy(skel);
}

static void test_programs_have_rows(void **state)
{
	struct pmw_bpf *skel = pmw_bpf__open();
	struct bpf_program *prog;

	assert_non_null(skel);
	bpf_object__for_each_program(prog, skel->obj) {
		bool found = false;

		for (int i = 0; i < pmw_nprobes; i++)
			found |= !strcmp(pmw_probes[i].prog, bpf_program__name(prog));
		if (!found)
			fail_msg("BPF program %s has no row in the probe table", bpf_program__name(prog));
	}
	pmw_bpf__destroy(skel);
}

static void test_pyver_table(void **state)
{
	/* every supported minor version has its facts, and nothing else claims support */
	for (int mi = 8; mi <= 14; mi++) {
		const struct pmw_pyver *v = pmw_pyver_find(3, mi);

		assert_non_null(v);
		assert_non_null(v->gc_funcs[0]);
		assert_true(v->pool_size == 4096 || v->pool_size == 16384);
		assert_true(v->arena_size >= 64 * v->pool_size);
		assert_true(v->interp_main > 0);
		assert_true(v->obm_kind == PMW_OBM_STATIC || v->obm_off > 0);
	}
	assert_null(pmw_pyver_find(3, 7));
	assert_null(pmw_pyver_find(2, 7));
	assert_null(pmw_pyver_find(3, 99));	/* past the table (3.15 is a row since f7a2f93) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_name_programs),
		cmocka_unit_test(test_programs_have_rows),
		cmocka_unit_test(test_pyver_table),
	};

	libbpf_set_print(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
