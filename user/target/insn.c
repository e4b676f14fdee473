// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <capstone/capstone.h>
#include <string.h>
#include "insn.h"
#include "log.h"

#define SCAN_BYTES	64
#define SCAN_INSNS	8

bool pmw_insn_emulated(const uint8_t *b, size_t len)
{
	if (!len)
		return false;
	if (b[0] >= 0x50 && b[0] <= 0x57)			/* push %reg */
		return len == 1;
	if (b[0] == 0x41 && len == 2 && b[1] >= 0x50 && b[1] <= 0x57) /* push %r8-%r15 */
		return true;
	if (b[0] == 0x90 && len == 1)				/* nop */
		return true;
	if (b[0] == 0x0f && len >= 3 && b[1] == 0x1f)		/* nopl */
		return true;
	if (b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb)	/* call, jmp rel */
		return true;
	if (b[0] >= 0x70 && b[0] <= 0x7f)			/* jcc rel8 */
		return true;
	if (b[0] == 0x0f && len >= 2 && b[1] >= 0x80 && b[1] <= 0x8f) /* jcc rel32 */
		return true;
	return false;
}

static bool writes_arg_reg(csh h, const cs_insn *in)
{
	static const x86_reg args[] = {
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL,
		X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL,
		X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL,
		X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL,
		X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B,
		X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B,
	};
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return true;	/* unknown: assume the worst */
	for (int i = 0; i < nwr; i++)
		for (size_t j = 0; j < sizeof(args) / sizeof(args[0]); j++)
			if (wr[i] == args[j])
				return true;
	return false;
}

static bool is_branch(csh h, const cs_insn *in)
{
	return cs_insn_group(h, in, CS_GRP_JUMP) || cs_insn_group(h, in, CS_GRP_CALL) ||
	       cs_insn_group(h, in, CS_GRP_RET) || cs_insn_group(h, in, CS_GRP_INT) ||
	       cs_insn_group(h, in, CS_GRP_IRET);
}

uint64_t pmw_insn_probe_addr(const struct pmw_elf *e, uint64_t func)
{
	uint8_t code[SCAN_BYTES];
	uint64_t chosen = func;
	cs_insn *insn = NULL;
	size_t n;
	csh h;

	if (pmw_elf_read(e, func, code, sizeof(code)))
		return func;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return func;
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(h, code, sizeof(code), func, SCAN_INSNS, &insn);
	for (size_t i = 0; i < n; i++) {
		const cs_insn *in = &insn[i];

		/* e.g. "test %rsi,%rsi; je": the je is emulated and sees the arguments */
		if (pmw_insn_emulated(in->bytes, in->size)) {
			chosen = in->address;
			break;
		}
		if (is_branch(h, in) || writes_arg_reg(h, in))
			break;
	}
	if (chosen != func)
		dlog("probe at 0x%lx: +%lu, past instructions the kernel would single-step\n",
		     (unsigned long)func, (unsigned long)(chosen - func));
	cs_free(insn, n);
	cs_close(&h);
	return chosen;
}
