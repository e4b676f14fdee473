// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe placement: which instructions the kernel emulates, and where a probe goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <glob.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include "elfimg.h"
#include "insn.h"
#include "pyver.h"

static void test_emulated(void **state)
{
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x55 }, 1));		/* push %rbp */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x41, 0x54 }, 2));		/* push %r12 */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x90 }, 1));		/* nop */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x0f, 0x1f, 0x00 }, 3));	/* nopl (%rax) */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0xe8, 0, 0, 0, 0 }, 5));	/* call */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x74, 0x10 }, 2));		/* je rel8 */
	assert_true(pmw_insn_emulated((uint8_t[]){ 0x0f, 0x84, 0, 0, 0, 0 }, 6)); /* je rel32 */
	assert_false(pmw_insn_emulated((uint8_t[]){ 0x48, 0x85, 0xf6 }, 3));	/* test %rsi,%rsi */
	assert_false(pmw_insn_emulated((uint8_t[]){ 0x48, 0x8d, 0x05, 0, 0, 0, 0 }, 7)); /* lea */
	assert_false(pmw_insn_emulated((uint8_t[]){ 0x48, 0x89, 0xf3 }, 3));	/* mov %rsi,%rbx */
}

/*
 * Functions shaped like CPython's: _PyObject_Free in non-LTO builds starts
 * "test %rsi,%rsi; je ..." (not emulated: the probe goes on the je), most
 * functions start with a push (emulated: the probe stays on the entry).
 */
__asm__(".text\n"
	".globl pmw_t_free\n.type pmw_t_free,@function\npmw_t_free:\n"
	"\ttest %rsi,%rsi\n\tje 1f\n\tpush %rbx\n\tpop %rbx\n1:\tret\n"
	".size pmw_t_free, .-pmw_t_free\n"
	".globl pmw_t_push\n.type pmw_t_push,@function\npmw_t_push:\n"
	"\tpush %rbp\n\tpop %rbp\n\tret\n"
	".size pmw_t_push, .-pmw_t_push\n");

/* where the probe goes in function @name of @e; a moved probe sits on a je */
static uint64_t probe_of(struct pmw_elf *e, const char *name, uint64_t *entry)
{
	struct pmw_sym s;
	uint8_t b[6];
	uint64_t a;

	assert_int_equal(pmw_elf_find_symbol(e, name, &s), 0);
	a = pmw_insn_probe_addr(e, s.addr);
	assert_int_equal(pmw_elf_read(e, a, b, sizeof(b)), 0);
	if (a != s.addr)
		assert_true(pmw_insn_emulated(b, b[0] == 0x0f ? 6 : 2));
	*entry = s.addr;
	return a;
}

/* this test binary's own functions above */
static void test_probe_moves_self(void **state)
{
	struct pmw_elf e;
	uint64_t entry, a;

	assert_int_equal(pmw_elf_open(&e, "/proc/self/exe"), 0);
	a = probe_of(&e, "pmw_t_free", &entry);
	assert_int_equal(a, entry + 3);
	a = probe_of(&e, "pmw_t_push", &entry);
	assert_int_equal(a, entry);
	pmw_elf_close(&e);
}

/*
 * Real interpreters: every pyenv libpython3.X here (PYENV_ROOT, else
 * ~/.pyenv, as tests/integration/conftest.py): _PyObject_Free's probe moves
 * past a leading "test %rsi,%rsi" and stays on a leading push.
 */
static void test_probe_moves_libpython(void **state)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char pat[PATH_MAX];
	int moved = 0, kept = 0;
	glob_t g;

	if (root && *root)
		snprintf(pat, sizeof(pat), "%s/versions/*/lib/libpython3.*.so.1.0", root);
	else
		snprintf(pat, sizeof(pat), "%s/.pyenv/versions/*/lib/libpython3.*.so.1.0",
			 home && *home ? home : "/root");
	if (glob(pat, 0, NULL, &g)) {
		printf("skip: no pyenv libpython matches %s\n", pat);
		skip();
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct pmw_elf e;
		struct pmw_sym s;
		uint8_t b[3];
		uint64_t entry, a;

		if (pmw_elf_open(&e, g.gl_pathv[i]))
			continue;
		if (pmw_elf_find_symbol(&e, "_PyObject_Free", &s) ||
		    pmw_elf_read(&e, s.addr, b, sizeof(b))) {
			pmw_elf_close(&e);
			continue;
		}
		a = probe_of(&e, "_PyObject_Free", &entry);
		if (b[0] == 0x48 && b[1] == 0x85 && b[2] == 0xf6) {
			assert_int_equal(a, entry + 3);
			moved++;
		} else if (b[0] >= 0x50 && b[0] <= 0x57) {
			assert_int_equal(a, entry);
			kept++;
		}
		printf("[ insn     ] %s: _PyObject_Free probe at +%llu\n", g.gl_pathv[i],
		       (unsigned long long)(a - entry));
		pmw_elf_close(&e);
	}
	globfree(&g);
	assert_true(moved + kept > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulated),
		cmocka_unit_test(test_probe_moves_self),
		cmocka_unit_test(test_probe_moves_libpython),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
