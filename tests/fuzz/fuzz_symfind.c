// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for user/symfind.c (interpreters with only .dynsym): the
 * input is both the interpreter image (written to a memfd and opened by path,
 * as a target's image is) and the target's memory, the image mapped at
 * FUZZ_BASE (tests/fuzz/fuzz_mem.h: load bias FUZZ_BASE). Everything symfind
 * decodes or follows -- .eh_frame_hdr's table, the exported functions'
 * machine code, the allocator struct, the arena table, the type objects --
 * comes from the fuzzer. The version row is the input's size modulo the
 * table's length, so that the input stays a plain ELF file (seeds: the tiny
 * ELFs of tests/fuzz/tiny_elf.c).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "elfimg.h"
#include "fuzz_mem.h"
#include "log.h"
#include "symfind.h"
#include "target.h"

static int mfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pmw_verbosity = -1;
	mfd = memfd_create("fuzz_symfind", MFD_CLOEXEC);
	if (mfd < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pmw_target t;	/* large: keep it off the stack */
	static size_t nrows;
	char path[64];
	struct pmw_sym s;
	uint8_t *copy;

	while (pmw_pyver_at(nrows))
		nrows++;
	if (size < 64 || !nrows)
		return 0;
	if (ftruncate(mfd, 0) || pwrite(mfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&t, 0, sizeof(t));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if (pmw_elf_open(&t.elf, path))
		return 0;
	copy = malloc(size);
	if (!copy) {
		pmw_elf_close(&t.elf);
		return 0;
	}
	memcpy(copy, data, size);
	fuzz_mem = copy;
	fuzz_mem_len = size;
	t.pid = 1;
	t.pv = pmw_pyver_at(size % nrows);
	snprintf(t.path, sizeof(t.path), "fuzz");
	if (!pmw_elf_find_symbol(&t.elf, "_PyRuntime", &s))
		t.runtime_vaddr = s.addr;
	/* from the file alone (a command not started yet), then with memory */
	pmw_symfind_run(&t);
	t.bias = FUZZ_BASE;
	t.bias_known = true;
	pmw_symfind_run(&t);
	for (int i = 0; i < 3; i++) {
		uint64_t probe[PMW_NGEN] = { 1, 0, (uint64_t)i }, mem[PMW_NGEN] = { 1, 1, 0 };

		pmw_symfind_lookup(&t, "allocate_from_new_pool", &s);
		pmw_symfind_lookup(&t, NULL, &s);
		pmw_symfind_lookup(&t, "tupledealloc", &s);
		pmw_symfind_check_gc(&t, probe, mem);
		pmw_symfind_check_refill(&t, (uint64_t)i * 7, 40, 40 * 31, (uint64_t)i);
	}
	pmw_elf_close(&t.elf);
	free(copy);
	return 0;
}
