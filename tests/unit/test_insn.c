// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe placement: which instructions the kernel emulates, and where a probe goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

/* pyenv 3.12.1's _PyObject_Free starts "test %rsi,%rsi; je ...": the probe goes on the je */
static void test_free_probe_moves(void **state)
{
	const char *lib = "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0";
	struct pmw_elf e;
	struct pmw_sym s;
	uint8_t b[3];
	uint64_t a;

	if (access(lib, R_OK) || pmw_elf_open(&e, lib)) {
		printf("skip: %s not present\n", lib);
		skip();
	}
	assert_int_equal(pmw_elf_find_symbol(&e, "_PyObject_Free", &s), 0);
	assert_int_equal(pmw_elf_read(&e, s.addr, b, sizeof(b)), 0);
	if (b[0] != 0x48 || b[1] != 0x85 || b[2] != 0xf6) {
		pmw_elf_close(&e);
		printf("skip: _PyObject_Free does not start with test %%rsi,%%rsi here\n");
		skip();
	}
	a = pmw_insn_probe_addr(&e, s.addr);
	assert_int_equal(a, s.addr + 3);
	assert_int_equal(pmw_elf_read(&e, a, b, 2), 0);
	assert_true(pmw_insn_emulated(b, b[0] == 0x0f ? 6 : 2));
	/* a function that starts with push keeps its entry */
	assert_int_equal(pmw_elf_find_symbol(&e, "_PyObject_Malloc", &s), 0);
	assert_int_equal(pmw_elf_read(&e, s.addr, b, 1), 0);
	if (b[0] >= 0x50 && b[0] <= 0x57)
		assert_int_equal(pmw_insn_probe_addr(&e, s.addr), s.addr);
	pmw_elf_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulated),
		cmocka_unit_test(test_free_probe_moves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
