// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for user/elfimg.c: the input is written to a memfd and
 * opened by path (/proc/self/fd/N) as pymemwatch opens a target's image;
 * its MiniDebugInfo (.gnu_debugdata, xz) is decompressed and parsed; then
 * the symbol lookups pymemwatch does, the build-id, DT_NEEDED and reads
 * through PT_LOAD.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "elfimg.h"
#include "log.h"

static int mfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pmw_verbosity = -1;
	mfd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (mfd < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {
		"_PyRuntime", "PyObject_Malloc", "_PyObject_Malloc", "gc_collect_main",
		"collect", "pymalloc_alloc", "allocate_from_new_pool", "Py_Version",
		"_start", "main", "",
	};
	char path[64], hex[128], needed[4][256], runpath[256];
	struct pmw_sym syms[4];
	struct pmw_elf e;
	uint8_t buf[64];
	GElf_Shdr shdr;
	GElf_Off off;

	if (ftruncate(mfd, 0) || pwrite(mfd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if (pmw_elf_open(&e, path))
		return 0;
	pmw_elf_load_minidebuginfo(&e);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct pmw_sym s;

		if (!pmw_elf_find_symbol(&e, names[i], &s)) {
			pmw_elf_read(&e, s.addr, buf, sizeof(buf));
			pmw_elf_read(&e, s.addr, buf, 1);
			pmw_elf_vaddr_to_offset(&e, s.addr, &off);
		}
	}
	pmw_elf_find_functions(&e, "collect", syms, 4);
	pmw_elf_build_id(&e, hex, sizeof(hex));
	pmw_elf_build_id(&e, hex, 8);
	pmw_elf_needed(&e, needed, 4, runpath, sizeof(runpath));
	pmw_elf_needed(&e, needed, 0, NULL, 0);
	pmw_elf_section(&e, ".PyRuntime", &shdr);
	pmw_elf_section(&e, ".probes", &shdr);
	pmw_elf_section(&e, ".note.stapsdt", &shdr);
	pmw_elf_read(&e, pmw_elf_link_base(&e), buf, sizeof(buf));
	pmw_elf_read(&e, e.ehdr.e_entry, buf, 16);
	/* no separate debuginfo lookup: it opens files by the build-id and name found */
	pmw_elf_close(&e);
	return 0;
}
