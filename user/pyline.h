/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Code object line tables (co_lnotab / co_linetable) -> source line. No I/O. */
#ifndef PMW_PYLINE_H
#define PMW_PYLINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Line for the instruction at @offset in a code object.
 * @minor: CPython 3.x minor version (8..14).
 * @table/@len: the raw bytes of co_lnotab (<=3.9) or co_linetable (3.10+).
 * @firstlineno: co_firstlineno.
 * @offset: the instruction's BYTE offset in the bytecode (<=3.9: f_lasti;
 *   3.10: 2*f_lasti; 3.11+: 2*index in code units, as computed from
 *   prev_instr/instr_ptr - co_code_adaptive).
 *
 * Returns the line (>= 0; 3.11+ module code starts with a RESUME on line 0),
 * -ENOENT if the instruction has no line (3.10 line delta -128, 3.11+
 * code 15), or -EINVAL if @minor is not 8..14, the table is malformed or
 * truncated (odd length of a pair table, an entry not starting with bit 7
 * set or missing some of its bytes, a varint over 32 bits, a line outside
 * 0..INT_MAX), or (3.10+) the table ends before @offset: a valid table
 * covers the whole bytecode, so that means a torn read or a mismatched code
 * object. <=3.9 tables do not record the bytecode length: an offset past
 * the last entry gets the last line, as in CPython, and an empty co_lnotab
 * (all on co_firstlineno) gives @firstlineno.
 * Never reads outside @table[0..@len).
 */
int pmw_py_line(int minor, const uint8_t *table, size_t len, int firstlineno,
		uint32_t offset);

#endif
