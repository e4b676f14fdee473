// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of user/cpython/pydebug.c (cmocka): the _Py_DebugOffsets of
 * three real interpreters (copied from their images' .PyRuntime section)
 * agree with the version table everywhere they overlap; a changed offset is
 * followed (a table one) or reported (a fixed one); no cookie, another
 * version or a short read are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "pydebug.h"

/* slots 1.. of _Py_DebugOffsets at &_PyRuntime in pyenv 3.13.0's libpython3.13.so.1.0 */
static const uint64_t raw_3130[] = {
	51183856, 0, 283320, 608, 632, 194968, 7272, 7264, 7344, 7400, 7656, 7640, 7648, 16,
	7752, 0, 7768, 7760, 304, 0, 8, 16, 72, 152, 160, 232, 32, 80, 8, 0, 56, 72, 70, 208,
	112, 120, 128, 136, 68, 52, 96, 104, 200, 16, 8, 416, 24, 88, 168, 32, 24, 16, 40, 24,
	16, 48, 32, 40, 24, 16, 32, 16, 24, 40, 16, 32, 64, 32, 16, 40, 240, 200,
};

/* slots 1.. of _Py_DebugOffsets at &_PyRuntime in Debian sid's python3.14 (3.14.10) */
static const uint64_t raw_3140[] = {
	51251952, 0, 316616, 784, 808, 225864, 7280, 7272, 7344, 7360, 7408, 7688, 7672, 7680,
	16, 7784, 0, 7800, 7792, 7992, 0, 832, 0, 8, 16, 72, 152, 160, 232, 32, 88, 8, 0, 56,
	80, 74, 64, 0, 216, 112, 120, 128, 136, 68, 52, 96, 104, 208, 0, 16, 8, 416, 24, 88,
	168, 40, 32, 16, 40, 24, 16, 200, 24, 40, 32, 48, 32, 40, 24, 16, 32, 16, 24, 40, 16,
	32, 64, 32, 16, 40,
};

/* slots 1.. of _Py_DebugOffsets at &_PyRuntime in Debian sid's python3.15 (3.15.2) */
static const uint64_t raw_3150[] = {
	51315440, 0, 346568, 912, 936, 226240, 7272, 7264, 7336, 7352, 7400, 7592, 7576, 7584,
	16, 7736, 0, 7752, 7744, 7944, 0, 888, 0, 8, 16, 72, 80, 88, 96, 176, 184, 256, 32, 36,
	40, 136, 288, 0, 88, 8, 0, 56, 80, 74, 64, 0, 216, 112, 120, 128, 136, 68, 52, 96, 104,
	208, 0, 16, 8, 424, 24, 88, 168, 32, 288, 944, 888, 40, 32, 16, 40, 24, 16, 200, 24,
	40, 32, 48, 32, 40, 24, 16, 32, 16, 24, 40, 16, 32, 64, 32, 16, 40, 56,
};

/* the raw struct: the cookie, then @n slots */
static size_t make_raw(uint8_t *raw, const uint64_t *slots, size_t n)
{
	memset(raw, 0, PMW_DEBUG_OFFSETS_LEN);
	memcpy(raw, PMW_DEBUG_COOKIE, 8);
	memcpy(raw + 8, slots, n * 8);
	return (n + 1) * 8;
}

static void agrees(int minor, const uint64_t *slots, size_t n)
{
	struct pmw_pyver pv = *pmw_pyver_find(3, minor), orig = pv;
	uint8_t raw[PMW_DEBUG_OFFSETS_LEN];
	struct pmw_debug_diff d[8];
	size_t len = make_raw(raw, slots, n);
	int got = pmw_debug_offsets_apply(&pv, raw, len, d, 8);

	if (got)
		print_message("3.%d: %s target %lu table %lu\n", minor, d[0].field,
			      (unsigned long)d[0].target, (unsigned long)d[0].table);
	assert_int_equal(got, 0);
	assert_memory_equal(&pv, &orig, sizeof(pv));
}

/* the table agrees with what 3.13.0, 3.14.10 and 3.15.2 publish */
static void test_real_targets_agree(void **state)
{
	(void)state;
	agrees(13, raw_3130, sizeof(raw_3130) / 8);
	agrees(14, raw_3140, sizeof(raw_3140) / 8);
	agrees(15, raw_3150, sizeof(raw_3150) / 8);
}

/* a table offset that differs is replaced; a fixed one is reported, not followed */
static void test_target_wins(void **state)
{
	struct pmw_pyver pv = *pmw_pyver_find(3, 13);
	uint8_t raw[PMW_DEBUG_OFFSETS_LEN];
	uint64_t slots[sizeof(raw_3130) / 8];
	struct pmw_debug_diff d[4];
	size_t len;

	(void)state;
	memcpy(slots, raw_3130, sizeof(slots));
	slots[51 - 1] = 32;		/* tuple_object.ob_item */
	slots[49 - 1] = 176;		/* type_object.tp_flags */
	slots[5 - 1] = 700;		/* runtime_state.interpreters_head */
	len = make_raw(raw, slots, sizeof(slots) / 8);
	assert_int_equal(pmw_debug_offsets_apply(&pv, raw, len, d, 4), 3);
	assert_string_equal(d[0].field, "runtime_state.interpreters_head");
	assert_true(d[0].followed);
	assert_int_equal(d[0].target, 708);
	assert_int_equal(d[0].table, 640);
	assert_int_equal(pv.interp_main, 708);
	assert_string_equal(d[1].field, "type_object.tp_flags");
	assert_false(d[1].followed);
	assert_int_equal(d[1].target, 176);
	assert_int_equal(d[1].table, PMW_TP_FLAGS);
	assert_string_equal(d[2].field, "tuple_object.ob_item");
	assert_true(d[2].followed);
	assert_int_equal(pv.obj.tuple_items, 32);
	/* more disagreements than room: all counted, @max recorded */
	pv = *pmw_pyver_find(3, 13);
	assert_int_equal(pmw_debug_offsets_apply(&pv, raw, len, d, 1), 3);
	assert_int_equal(pv.obj.tuple_items, 32);
}

static void test_refused(void **state)
{
	struct pmw_pyver pv = *pmw_pyver_find(3, 14), orig = pv;
	uint8_t raw[PMW_DEBUG_OFFSETS_LEN];
	struct pmw_debug_diff d[1];
	size_t len = make_raw(raw, raw_3130, sizeof(raw_3130) / 8);

	(void)state;
	assert_int_equal(pmw_debug_offsets_apply(&pv, raw, len, d, 1), -EINVAL);	/* 3.13's */
	len = make_raw(raw, raw_3140, sizeof(raw_3140) / 8);
	assert_int_equal(pmw_debug_offsets_apply(&pv, raw, 80 * 8, d, 1), -EINVAL);	/* short */
	raw[0] = 'X';
	assert_int_equal(pmw_debug_offsets_apply(&pv, raw, len, d, 1), -ENOENT);
	assert_memory_equal(&pv, &orig, sizeof(pv));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_targets_agree),
		cmocka_unit_test(test_target_wins),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
