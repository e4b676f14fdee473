// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the readers of target memory in user/pystack.c:
 * pmw_frame_resolve() (code object -> file, function, line, including the
 * line table it copies out), pmw_read_str() (str objects of every kind)
 * and pmw_type_name().
 *
 * The input is the target's memory: pmw_mem_read() (tests/fuzz/fuzz_mem.h)
 * serves reads of [FUZZ_BASE, FUZZ_BASE + size) from the input, -EFAULT
 * outside, so every pointer pymemwatch follows comes from the fuzzer.
 * Input: [0] row of the version table = b % its length, [1..2] offset of the code object, [3..4]
 * offset of the instruction pointer, [5..6] offset of a str, [7..8] of a
 * type (little-endian, modulo the size, relative to FUZZ_BASE); all of it is
 * also memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_mem.h"
#include "pystack.h"
#include "pyver.h"
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pmw_target t;	/* large: keep it off the stack */
	struct pmw_code_cache *cc;
	struct pmw_frame fr;
	char buf[200];

	t.pv = fuzz_start(data, size, 9);
	if (!t.pv)
		return 0;
	cc = pmw_code_cache_new();
	if (cc) {
		/* twice: the second goes through the cache's validation */
		for (int i = 0; i < 2; i++)
			if (!pmw_frame_resolve(&t, cc, fuzz_at(data, 1), fuzz_at(data, 3), &fr) &&
			    (!memchr(fr.file, 0, sizeof(fr.file)) || !memchr(fr.func, 0, sizeof(fr.func))))
				abort();
		pmw_code_cache_free(cc);
	}
	if (pmw_read_str(&t, fuzz_at(data, 5), buf, sizeof(buf)) >= 0 && !memchr(buf, 0, sizeof(buf)))
		abort();
	if (!pmw_type_name(&t, fuzz_at(data, 7), buf, sizeof(buf)) && strlen(buf) >= sizeof(buf))
		abort();
	free((void *)fuzz_mem);
	return 0;
}
