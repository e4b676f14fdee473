/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Target memory served from a fuzzer's input, for harnesses of readers of
 * target memory: [FUZZ_BASE, FUZZ_BASE + fuzz_mem_len) reads from fuzz_mem,
 * anything else fails with -EFAULT. Include in exactly one file per harness.
 */
#ifndef PMW_FUZZ_MEM_H
#define PMW_FUZZ_MEM_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "pyver.h"

#define FUZZ_BASE 0x100000ULL

static const uint8_t *fuzz_mem;
static size_t fuzz_mem_len;

int pmw_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	(void)pid;
	if (addr < FUZZ_BASE || addr - FUZZ_BASE > fuzz_mem_len ||
	    len > fuzz_mem_len - (addr - FUZZ_BASE))
		return -EFAULT;
	memcpy(buf, fuzz_mem + (addr - FUZZ_BASE), len);
	return 0;
}

/* like process_vm_readv: stops at the first piece that cannot be read */
ssize_t pmw_mem_readv(pid_t pid, const uint64_t *addrs, size_t piece, size_t n, void *buf)
{
	ssize_t got = 0;

	for (size_t i = 0; i < n; i++) {
		if (pmw_mem_read(pid, addrs[i], (uint8_t *)buf + i * piece, piece))
			return got ? got : -EFAULT;
		got += piece;
	}
	return got;
}

/*
 * Start an input: the version row data[0] % rows, and @data (of at least
 * @min bytes) as target memory, copied to an exact-size buffer so that ASan
 * sees any read past it. Returns the row, or NULL to skip the input; the
 * caller frees fuzz_mem.
 */
static const struct pmw_pyver *fuzz_start(const uint8_t *data, size_t size, size_t min)
{
	static size_t nrows;
	uint8_t *copy;

	if (size < min)
		return NULL;
	while (pmw_pyver_at(nrows))
		nrows++;
	if (!nrows || !(copy = malloc(size)))
		return NULL;
	memcpy(copy, data, size);
	fuzz_mem = copy;
	fuzz_mem_len = size;
	return pmw_pyver_at(data[0] % nrows);
}

/* the address at input offset (d[i] | d[i + 1] << 8) modulo the input's size */
static inline uint64_t fuzz_at(const uint8_t *d, int i)
{
	return FUZZ_BASE + (d[i] | d[i + 1] << 8) % fuzz_mem_len;
}

#endif
