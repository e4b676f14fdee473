// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the heap walk (user/walk.c): pool headers and free
 * lists, object identification (header at +0/+16/+32), type validation
 * (the type chain to PyType_Type), sizes (str, int, var objects), the items
 * of lists, dicts, sets, deques and tuples, objects over 512 B, the census.
 *
 * The input is the target's memory (fuzz_mem.h), its last byte the row of
 * the version table (b % its length). Pools: every whole POOL_SIZE piece at
 * the start of the input is a pool (one arena: those pools); what follows
 * holds type objects, names and item arrays, so every pointer followed
 * comes from the fuzzer. Seeds: tests/fuzz/gen_walk_seed.py.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_mem.h"
#include "heap.h"
#include "pyver.h"
#include "target.h"
#include "walk.h"

static size_t npools;
static uint32_t pool_size;

int pmw_heap_pools(const struct pmw_target *t, struct pmw_heap_pools *hp)
{
	(void)t;
	memset(hp, 0, sizeof(*hp));
	if (!npools)
		return -EAGAIN;
	hp->pools = malloc(npools * sizeof(*hp->pools));
	hp->arenas = malloc(sizeof(*hp->arenas));
	if (!hp->pools || !hp->arenas) {
		free(hp->pools);
		free(hp->arenas);
		return -ENOMEM;
	}
	for (size_t i = 0; i < npools; i++)
		hp->pools[i] = FUZZ_BASE + i * pool_size;
	hp->npools = npools;
	hp->arenas[0] = FUZZ_BASE;
	hp->narenas = hp->narenas_mapped = 1;
	hp->arena_size = npools * pool_size;
	return 0;
}

void pmw_heap_pools_free(struct pmw_heap_pools *hp)
{
	free(hp->pools);
	free(hp->arenas);
	memset(hp, 0, sizeof(*hp));
}

bool pmw_heap_in_arena(const struct pmw_heap_pools *hp, uint64_t addr)
{
	return hp->narenas && addr >= hp->arenas[0] && addr < hp->arenas[0] + hp->arena_size;
}

ssize_t pmw_mem_gather(pid_t pid, const uint64_t *addrs, const size_t *lens, size_t n, uint8_t *buf,
		       bool *ok)
{
	size_t off = 0, got = 0;

	for (size_t i = 0; i < n; off += lens[i++]) {
		ok[i] = !pmw_mem_read(pid, addrs[i], buf + off, lens[i]);
		if (!ok[i])
			memset(buf + off, 0, lens[i]);
		got += ok[i];
	}
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t nrows;
	static struct pmw_target t;	/* large: keep it off the stack */
	struct pmw_walk wk;
	uint8_t *copy;
	int done = 0;

	if (size < 2)
		return 0;
	while (pmw_pyver_at(nrows))
		nrows++;
	t.pv = pmw_pyver_at(data[size - 1] % nrows);
	if (!t.pv || !(copy = malloc(size)))
		return 0;
	memcpy(copy, data, size);	/* exact size: ASan sees a read past it */
	fuzz_mem = copy;
	fuzz_mem_len = size;
	pool_size = t.pv->pool_size;
	npools = pool_size ? (size - 1) / pool_size : 0;
	memset(&wk, 0, sizeof(wk));
	wk.sample_all = true;	/* every container's newest items, read back below */
	/* two walks: the second revalidates the cached types */
	for (int i = 0; i < 64 && done < 2; i++) {
		struct pmw_walk_budget b = { .share = 1.0, .credit = 1.0 };
		int r = pmw_walk_step(&wk, &t, &b);

		if (r < 0)
			break;
		done += r;
	}
	for (int k = 0; k < wk.ndone; k++) {
		const struct pmw_wtype *types[PMW_WALK_SAMPLE];
		uint64_t sizes[PMW_WALK_SAMPLE];

		const uint64_t *smp = pmw_walk_sample(&wk, &wk.done[k]);

		if (smp)
			pmw_walk_objects(&wk, &t, smp, wk.done[k].nsample, types, sizes);
		if (pmw_walk_container(&wk, wk.done[k].addr) != &wk.done[k])
			abort();	/* the sorted container table lost one */
	}
	for (int k = 0; k < wk.ncensus; k++)
		if (!wk.census[k].objects || strlen(wk.census[k].name) >= sizeof(wk.census[k].name))
			abort();	/* a census row without objects, or a name not terminated */
	pmw_walk_free(&wk);
	free(copy);
	fuzz_mem = NULL;
	return 0;
}
