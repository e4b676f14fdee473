// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the holder search (user/holders.c) and the object
 * readers under it (user/pyobj.c): sys.modules, module/class/instance dicts,
 * lists, tuples, sets, deques, functions, wrappers, sizes, path spelling.
 *
 * The input is the target's memory (fuzz_mem.h: pmw_mem_read() and
 * pmw_mem_readv() serve [FUZZ_BASE, FUZZ_BASE + size) from it, -EFAULT
 * outside), so every pointer followed comes from the fuzzer.
 * Input: [0] row of the version table = b % its length, [1..2] offset of the
 * word holding the sys.modules dict pointer (the interpreter state is placed
 * so that its modules field lands there), [3..4], [5..6], [7..8] offsets of
 * three containers to find (little-endian, modulo the size, relative to
 * FUZZ_BASE); all of it is also memory. Seeds: tests/fuzz/gen_holders_seed.py.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "fuzz_mem.h"
#include "holders.h"
#include "pyver.h"
#include "target.h"

static uint64_t interp;

uint64_t pmw_py_interp(const struct pmw_target *t)
{
	(void)t;
	return interp;
}

bool pmw_pid_alive(pid_t pid)
{
	(void)pid;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pmw_target t;	/* large: keep it off the stack */
	struct pmw_holder h[3];

	t.pv = fuzz_start(data, size, 9);
	if (!t.pv) {
		return 0;
	} else if (!t.pv->obj.interp_modules) {
		free((void *)fuzz_mem);
		return 0;
	}
	t.pid = 0;
	t.runtime_vaddr = 1;
	t.bias_known = true;
	interp = fuzz_at(data, 1) - t.pv->obj.interp_modules;
	memset(h, 0, sizeof(h));
	for (int i = 0; i < 3; i++)
		h[i].container = fuzz_at(data, 3 + 2 * i);
	pmw_holders_forget(0);	/* no path remembered from another input */
	if (pmw_holders_find(&t, h, 3) >= 0)
		for (int i = 0; i < 3; i++) {
			if (getenv("FUZZ_HOLDERS_PRINT"))	/* checking a seed by hand */
				printf("%s\t%s\t%llu\t%llu\t%s\n", h[i].path,
				       pmw_holder_kind_name(h[i].kind), (unsigned long long)h[i].items,
				       (unsigned long long)h[i].retained_bytes, h[i].item_type);
			if (!memchr(h[i].path, 0, sizeof(h[i].path)) ||
			    !memchr(h[i].item_type, 0, sizeof(h[i].item_type)) ||
			    (h[i].path[0] && h[i].kind == PMW_HK_UNKNOWN))
				abort();
		}
	free((void *)fuzz_mem);
	return 0;
}
