// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seed for fuzz_elf: `make fuzz` builds it with cc -nostdlib into a tiny
 * executable and a tiny shared object, with the symbols, build-id note and
 * DT_NEEDED that pymemwatch looks for in an interpreter image.
 */
struct { long a[4]; } _PyRuntime = { { 1, 2, 3, 4 } };
const unsigned long Py_Version = 0x030b02f0;

void *_PyObject_Malloc(void *ctx, unsigned long n) { return ctx ? (char *)ctx + n : 0; }
__attribute__((noinline)) long collect(long gen) { return gen + _PyRuntime.a[0]; }
long gc_collect_main(long gen) { return collect(gen) + 1; }
void _start(void) { for (;;) gc_collect_main(2); }

/* what user/symfind.c decodes when an image has only .dynsym (fuzz_symfind) */
struct pmw_tiny_alloc { void *ctx; void *(*malloc)(void *, unsigned long); void *calloc, *realloc, *free; };
struct pmw_tiny_alloc _PyObject = { 0, _PyObject_Malloc, 0, 0, 0 };
void *PyObject_Malloc(unsigned long n) { return _PyObject.malloc(_PyObject.ctx, n); }
long PyGC_Collect(void) { return gc_collect_main(2); }
struct pmw_tiny_arena { unsigned long address, pool_address; unsigned nfree, ntotal; void *a, *b, *c; };
struct pmw_tiny_arena *arenas;
unsigned maxarenas;
long _Py_GetAllocatedBlocks(void)
{
	long n = 0;

	for (unsigned i = 0; i < maxarenas; i++)
		n += arenas[i].address ? arenas[i].ntotal : 0;
	return n;
}
