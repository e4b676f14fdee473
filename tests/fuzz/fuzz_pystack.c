// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the readers of target memory in user/pystack.c:
 * pmw_frame_resolve() (code object -> file, function, line, including the
 * line table it copies out), pmw_read_str() (str objects of every kind)
 * and pmw_type_name().
 *
 * The input is the target's memory: pmw_mem_read() is defined here and
 * serves reads of [BASE, BASE + size) from the input, -EFAULT outside, so
 * every pointer pymemwatch follows comes from the fuzzer.
 * Input: [0] row of the version table = b % its length, [1..2] offset of the code object, [3..4]
 * offset of the instruction pointer, [5..6] offset of a str, [7..8] of a
 * type (little-endian, modulo the size, relative to BASE); all of it is
 * also memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pystack.h"
#include "pyver.h"
#include "target.h"

#define BASE 0x100000ULL

static const uint8_t *mem;
static size_t mem_len;

int pmw_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	(void)pid;
	if (addr < BASE || addr - BASE > mem_len || len > mem_len - (addr - BASE))
		return -EFAULT;
	memcpy(buf, mem + (addr - BASE), len);
	return 0;
}

static uint64_t at(const uint8_t *d, int i)
{
	return BASE + (d[i] | d[i + 1] << 8) % mem_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pmw_target t;	/* large: keep it off the stack */
	static size_t nrows;
	struct pmw_code_cache *cc;
	struct pmw_frame fr;
	char buf[200];
	uint8_t *copy;

	if (size < 9)
		return 0;
	while (pmw_pyver_at(nrows))
		nrows++;
	t.pv = pmw_pyver_at(data[0] % nrows);
	if (!t.pv)
		return 0;
	copy = malloc(size);	/* exact size: ASan sees any read past it */
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	mem = copy;
	mem_len = size;
	cc = pmw_code_cache_new();
	if (cc) {
		/* twice: the second goes through the cache's validation */
		for (int i = 0; i < 2; i++)
			if (!pmw_frame_resolve(&t, cc, at(data, 1), at(data, 3), &fr) &&
			    (!memchr(fr.file, 0, sizeof(fr.file)) || !memchr(fr.func, 0, sizeof(fr.func))))
				abort();
		pmw_code_cache_free(cc);
	}
	if (pmw_read_str(&t, at(data, 5), buf, sizeof(buf)) >= 0 && !memchr(buf, 0, sizeof(buf)))
		abort();
	if (!pmw_type_name(&t, at(data, 7), buf, sizeof(buf)) && strlen(buf) >= sizeof(buf))
		abort();
	free(copy);
	return 0;
}
