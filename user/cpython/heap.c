// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include "heap.h"
#include "log.h"
#include "mimalloc.h"
#include "util.h"

#define MAX_ARENAS	(1u << 20)	/* 1 TiB of 1 MiB arenas: anything above is a bad read */

struct arena_object {		/* Objects/obmalloc.c, 3.8-3.14 */
	uint64_t address;	/* 0: this arena_object is unused */
	uint64_t pool_address;	/* next pool to be carved */
	uint32_t nfreepools;
	uint32_t ntotalpools;
	uint64_t freepools, nextarena, prevarena;
};
_Static_assert(sizeof(struct arena_object) == PMW_ARENA_OBJ_SIZE, "arena_object");

static int arena_table(const struct pmw_target *t, uint64_t *arenas, uint32_t *maxarenas)
{
	const struct pmw_pyver *pv = t->pv;
	uint64_t state, interp;
	int err;

	if (!t->bias_known)
		return -EAGAIN;
	if (pv->obm_kind == PMW_OBM_STATIC) {
		if (!t->arenas_vaddr || !t->maxarenas_vaddr)
			return -ENOENT;
		err = pmw_mem_read(t->pid, t->arenas_vaddr + t->bias, arenas, sizeof(*arenas));
		if (!err)
			err = pmw_mem_read(t->pid, t->maxarenas_vaddr + t->bias, maxarenas,
					   sizeof(*maxarenas));
		return err;
	}
	interp = pmw_py_interp(t);
	if (!interp)
		return pmw_pid_alive(t->pid) ? -EAGAIN : -ESRCH;
	state = interp + pv->obm_off;
	if (pv->obm_kind == PMW_OBM_POINTER) {
		err = pmw_mem_read(t->pid, state, &state, sizeof(state));
		if (err || !state)
			return err ? err : -EAGAIN;
	}
	err = pmw_mem_read(t->pid, state + PMW_OBM_ARENAS, arenas, sizeof(*arenas));
	if (!err)
		err = pmw_mem_read(t->pid, state + PMW_OBM_MAXARENAS, maxarenas, sizeof(*maxarenas));
	return err;
}

int pmw_heap_pools(const struct pmw_target *t, struct pmw_heap_pools *hp)
{
	uint32_t pool_size = t->pv->pool_size, maxarenas = 0;
	struct arena_object *ao = NULL;
	uint64_t arenas = 0;
	size_t cap = 0;
	int err;

	memset(hp, 0, sizeof(*hp));
	if (t->free_threaded)	/* no pymalloc pools: mimalloc (user/cpython/mimalloc.h) */
		return -EOPNOTSUPP;
	hp->arena_size = t->pv->arena_size;
	err = arena_table(t, &arenas, &maxarenas);
	if (err)
		return err;
	if (!arenas || !maxarenas)
		return -EAGAIN;
	if (maxarenas > MAX_ARENAS)
		return -EFAULT;
	ao = malloc((size_t)maxarenas * sizeof(*ao));
	hp->arenas = malloc((size_t)maxarenas * sizeof(*hp->arenas));
	if (!ao || !hp->arenas) {
		err = -ENOMEM;
		goto out;
	}
	err = pmw_mem_read(t->pid, arenas, ao, (size_t)maxarenas * sizeof(*ao));
	if (err)
		goto out;
	/* list the header address of every carved pool: first pool .. pool_address */
	for (uint32_t i = 0; i < maxarenas; i++) {
		uint64_t first, end;

		if (!ao[i].address)
			continue;
		hp->narenas_mapped++;
		first = (ao[i].address + pool_size - 1) & ~(uint64_t)(pool_size - 1);
		end = ao[i].pool_address;
		if (end < first || end > ao[i].address + t->pv->arena_size)
			continue;	/* torn read: skip this arena */
		hp->arenas[hp->narenas++] = ao[i].address;
		for (uint64_t p = first; p < end; p += pool_size) {
			if (hp->npools == cap) {
				size_t ncap = cap ? cap * 2 : 4096;
				uint64_t *na = realloc(hp->pools, ncap * sizeof(*hp->pools));

				if (!na) {
					err = -ENOMEM;
					goto out;
				}
				hp->pools = na;
				cap = ncap;
			}
			hp->pools[hp->npools++] = p;
		}
	}
	qsort(hp->arenas, hp->narenas, sizeof(*hp->arenas), pmw_cmp_u64);
out:
	free(ao);
	if (err) {
		pmw_heap_pools_free(hp);
		if (err == -ESRCH || !pmw_pid_alive(t->pid))
			return -ESRCH;
	}
	return err;
}

void pmw_heap_pools_free(struct pmw_heap_pools *hp)
{
	free(hp->pools);
	free(hp->arenas);
	memset(hp, 0, sizeof(*hp));
}

bool pmw_heap_in_arena(const struct pmw_heap_pools *hp, uint64_t addr)
{
	/* the last arena starting at or below @addr */
	size_t lo = pmw_upper_u64(hp->arenas, hp->narenas, addr);

	return lo && addr < hp->arenas[lo - 1] + hp->arena_size;
}

int pmw_heap_scan(const struct pmw_target *t, struct pmw_heap *h, pmw_pool_fn fn, void *arg)
{
	uint32_t pool_size = t->pv->pool_size;
	struct pmw_heap_pools hp;
	unsigned char *hdrs = NULL;
	size_t npools, piece;
	struct timespec t0, t1;
	ssize_t got;
	int err;

	if (t->free_threaded)	/* no pymalloc: mimalloc heaps (no census peek yet) */
		return pmw_mi_heap_scan(t, h);
	memset(h, 0, sizeof(*h));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = pmw_heap_pools(t, &hp);
	if (err)
		return err;
	npools = hp.npools;
	h->narenas = hp.narenas_mapped;
	h->arena_bytes = h->narenas * t->pv->arena_size;
	/* the header and, with a census, the head of the pool's first block */
	piece = PMW_POOL_HDR_SIZE + (fn ? PMW_HEAP_PEEK : 0);
	hdrs = malloc(npools ? npools * piece : 1);
	if (!hdrs) {
		err = -ENOMEM;
		goto out;
	}
	got = pmw_mem_readv(t->pid, hp.pools, piece, npools, hdrs);
	if (got < 0) {
		err = got;
		goto out;
	}
	for (size_t i = 0; i < (size_t)got / piece; i++) {
		const uint8_t *hd = hdrs + i * piece;
		uint32_t count, szidx;
		uint64_t bytes;

		memcpy(&count, hd, sizeof(count));
		memcpy(&szidx, hd + PMW_POOL_SZIDX, sizeof(szidx));
		if (!count || szidx >= PMW_NCLASS)
			continue;
		/* a pool holds at most (pool_size - header) / block bytes */
		if (count > pool_size / PMW_ALIGNMENT)
			continue;
		bytes = (uint64_t)count * (szidx + 1) * PMW_ALIGNMENT;
		h->pools_used++;
		h->live_blocks += count;
		h->live_bytes += bytes;
		h->class_blocks[szidx] += count;
		if (fn)
			fn(arg, hd + PMW_POOL_HDR_SIZE, bytes);	/* first block at pool + 48 */
	}
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	h->scan_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	pmw_heap_pools_free(&hp);
	free(hdrs);
	if (err == -ESRCH || (err && !pmw_pid_alive(t->pid)))
		return -ESRCH;
	return err;
}

ssize_t pmw_mem_gather(pid_t pid, const uint64_t *addrs, const size_t *lens, size_t n, uint8_t *buf,
		      bool *ok)
{
	struct iovec local[512], remote[512];
	size_t i = 0, done = 0, boff = 0;

	while (i < n) {
		size_t k = 0, want = 0, got_n = 0;
		ssize_t got;

		while (i + k < n && k < ARRAY_SIZE(remote)) {
			remote[k].iov_base = (void *)addrs[i + k];
			remote[k].iov_len = lens[i + k];
			local[k].iov_base = buf + boff + want;
			local[k].iov_len = lens[i + k];
			want += lens[i + k];
			k++;
		}
		got = process_vm_readv(pid, local, k, remote, k, 0);
		if (got < 0 && errno == ESRCH)
			return -ESRCH;
		if (got < 0)
			got = 0;
		/* complete pieces read; a partial read stops at the failing piece */
		for (size_t used = 0; got_n < k && used + lens[i + got_n] <= (size_t)got; got_n++) {
			used += lens[i + got_n];
			ok[i + got_n] = true;
		}
		for (size_t j = 0; j < got_n; j++)
			boff += lens[i + j];
		done += got_n;
		i += got_n;
		if (got_n < k) {	/* skip the piece that failed */
			memset(buf + boff, 0, lens[i]);
			ok[i] = false;
			boff += lens[i];
			i++;
		}
	}
	return done;
}
