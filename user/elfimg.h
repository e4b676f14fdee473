/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ELF images and their separate debuginfo, read with libelf. */
#ifndef PMW_ELFIMG_H
#define PMW_ELFIMG_H

#include <gelf.h>
#include <stdbool.h>
#include <sys/types.h>

struct pmw_elf {
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	dev_t dev;
	ino_t ino;
	char path[4096];
	struct pmw_elf *debug;	/* separate debuginfo (build-id or .gnu_debuglink), or NULL */
};

/* symbol lookup result; addresses are link-time virtual addresses */
struct pmw_sym {
	GElf_Addr addr;
	GElf_Xword size;
	char name[128];		/* the name found, with its compiler suffixes */
};

/*
 * Open @path read-only. Returns 0, -errno, -ENOEXEC if it is not a usable
 * ELF (not ELF, not 64-bit), or -EBADMSG if it is a corrupt or truncated
 * one (section or program header table outside the file).
 */
int pmw_elf_open(struct pmw_elf *e, const char *path);
void pmw_elf_close(struct pmw_elf *e);

/*
 * Find separate debuginfo for @e under @root ("" for the host, or
 * "/proc/PID/root"): /usr/lib/debug/.build-id/xx/yyyy.debug first, then the
 * .gnu_debuglink name next to the file, in .debug/ and under /usr/lib/debug.
 * A candidate whose build-id differs from @e's is rejected.
 * Returns 0 (e->debug set), -ENOENT if none was found.
 */
int pmw_elf_load_debuginfo(struct pmw_elf *e, const char *root);

/*
 * Find the function or object named @name (compiler suffixes allowed,
 * ".cold" parts skipped) in .symtab, then .dynsym, then the debuginfo.
 * Returns 0, or -ENOENT.
 */
int pmw_elf_find_symbol(struct pmw_elf *e, const char *name, struct pmw_sym *sym);

/*
 * Every defined function named @name (all clones, e.g. collect.constprop.0
 * and collect.constprop.1; ".cold" parts skipped), deduplicated by address.
 * Returns the number written to @syms (at most @max), 0 if none.
 */
int pmw_elf_find_functions(struct pmw_elf *e, const char *name, struct pmw_sym *syms, int max);

/* Link-time vaddr -> file offset through PT_LOAD. Returns 0 or -ENOENT. */
int pmw_elf_vaddr_to_offset(const struct pmw_elf *e, GElf_Addr vaddr, GElf_Off *off);

/* Lowest PT_LOAD p_vaddr rounded down to its alignment (the image's link base). */
GElf_Addr pmw_elf_link_base(const struct pmw_elf *e);

/* Read @len file bytes at link-time @vaddr. Returns 0, -ENOENT (not in a file-backed segment), -EIO. */
int pmw_elf_read(const struct pmw_elf *e, GElf_Addr vaddr, void *buf, size_t len);

/* Section header by name; returns 0 or -ENOENT */
int pmw_elf_section(const struct pmw_elf *e, const char *name, GElf_Shdr *shdr);

/* Build-id as lower-case hex; returns its length in bytes or -ENOENT */
int pmw_elf_build_id(const struct pmw_elf *e, char *hex, size_t len);

/* Iterate DT_NEEDED names; @runpath gets DT_RUNPATH or DT_RPATH ("" if none). Returns count. */
int pmw_elf_needed(const struct pmw_elf *e, char names[][256], int max, char *runpath, size_t rplen);

#endif
