/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where in a function to put a uprobe so that the kernel emulates, rather than single-steps, it. */
#ifndef PMW_INSN_H
#define PMW_INSN_H

#include <stdbool.h>
#include <stdint.h>
#include "elfimg.h"

/*
 * true if the kernel emulates the x86-64 instruction at @b (push reg, nop,
 * jmp/call/jcc rel): ~0.4-1 us a hit instead of ~4-20 us for the
 * out-of-line single step (arch/x86/kernel/uprobes.c, Linux 6.11+ for push/nop).
 */
bool pmw_insn_emulated(const uint8_t *b, size_t len);

/*
 * Link-time vaddr to place an entry uprobe on the function at @func so that
 * the handler still sees the call's argument registers (%rdi %rsi %rdx %rcx
 * %r8 %r9) unchanged: @func itself if its first instruction is emulated,
 * else the first emulated instruction reached without a branch and without
 * writing an argument register (a conditional jump counts: it is emulated
 * and sees the registers before it branches). Falls back to @func.
 * Decoding uses capstone. Returns the chosen vaddr.
 */
uint64_t pmw_insn_probe_addr(const struct pmw_elf *e, uint64_t func);

#endif
