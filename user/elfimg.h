/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ELF images and their symbol sources, read with libelf. A name is looked up
 * in this order: the image's .symtab, its .dynsym, its MiniDebugInfo
 * (.gnu_debugdata: an xz-compressed ELF holding the function symbols that
 * .dynsym lacks, Fedora/RHEL), then its separate debug file (local, by
 * build-id or .gnu_debuglink, else fetched with libdebuginfod, loaded at run
 * time with dlopen when DEBUGINFOD_URLS is set).
 */
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
	struct pmw_elf *mini;	/* MiniDebugInfo (.gnu_debugdata decompressed), or NULL */
	void *mem;		/* the decompressed image behind a MiniDebugInfo's elf (fd -1) */
	char url[1024];		/* debug file fetched by debuginfod: where from; "" otherwise */
};

/*
 * Time limit in seconds for one debuginfod fetch (all servers, retries
 * included): --debuginfod-timeout, default 30.
 */
extern double pmw_debuginfod_timeout;

/*
 * Whether libdebuginfod can be used: "available (libdebuginfod.so.1)", or
 * "unavailable: WHY" (not installed, too old, or the static build, which
 * cannot dlopen it).
 * It is loaded at run time, the first time a fetch is needed, never linked.
 */
const char *pmw_debuginfod_status(void);

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
 * Load the symbol sources that @e (no .symtab) lacks: its MiniDebugInfo
 * (e->mini), and its separate debuginfo under @root ("" for the host, or
 * "/proc/PID/root"): /usr/lib/debug/.build-id/xx/yyyy.debug first, then the
 * .gnu_debuglink name next to the file, in .debug/ and under /usr/lib/debug;
 * when none is found locally and DEBUGINFOD_URLS is set, fetched through
 * libdebuginfod (its cache, DEBUGINFOD_* variables, pmw_debuginfod_timeout),
 * one status line on stderr. A candidate whose build-id differs from @e's is
 * rejected. Returns 0 (e->debug set: a full symbol table), -ENOENT if no debug
 * file was found; e->mini is set either way when .gnu_debugdata is readable
 * (function symbols only: static objects such as 3.8-3.11's arena table are
 * not in it).
 */
int pmw_elf_load_debuginfo(struct pmw_elf *e, const char *root);

/*
 * MiniDebugInfo: @e's .gnu_debugdata section is an xz-compressed ELF whose
 * .symtab holds the function symbols that .dynsym lacks (GDB manual,
 * "MiniDebugInfo"; Fedora's find-debuginfo builds it). Decompressed with
 * liblzma (at most 16 MiB in, 64 MiB out; a Python interpreter's is under
 * 1 MiB) and parsed in memory; sets e->mini. Returns 0 (also when already
 * loaded), -ENOENT (no such section), -EBADMSG (not xz, or not a 64-bit ELF
 * of @e's machine with a .symtab), -E2BIG, -ENOMEM.
 */
int pmw_elf_load_minidebuginfo(struct pmw_elf *e);

/*
 * Find the function or object named @name (compiler suffixes allowed,
 * ".cold" parts skipped) in the order above; -vv logs which source gave it.
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
