/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Code object line tables (co_lnotab / co_linetable) -> source line. No I/O. */
#ifndef PMW_PYLINE_H
#define PMW_PYLINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Line-table formats; which version uses which is in user/cpython/pyver.c's table
 * (struct pmw_pyver.line_table).
 */
enum pmw_linetable {
	PMW_LT_LNOTAB = 1,	/* co_lnotab pairs (3.8, 3.9): Objects/lnotab_notes.txt */
	PMW_LT_LINETABLE310,	/* co_linetable pairs, PEP 626 (3.10) */
	PMW_LT_LOCATIONS,	/* location table, PEP 657 (3.11+): Objects/locations.md */
};

/*
 * Line for the instruction at @offset in a code object.
 * @fmt: the table's format.
 * @table/@len: the raw bytes of co_lnotab (LNOTAB) or co_linetable.
 * @firstlineno: co_firstlineno.
 * @offset: the instruction's BYTE offset in the bytecode (LNOTAB versions: f_lasti;
 *   3.10: 2*f_lasti; LOCATIONS: 2*index in code units, as computed from
 *   prev_instr/instr_ptr - co_code_adaptive).
 *
 * Returns the line (>= 0; LOCATIONS module code starts with a RESUME on
 * line 0), -ENOENT if the instruction has no line (3.10 line delta -128,
 * LOCATIONS code 15), or -EINVAL if @fmt is not a format above, the table is malformed or
 * truncated (odd length of a pair table, an entry not starting with bit 7
 * set or missing some of its bytes, a varint over 32 bits, a line outside
 * 0..INT_MAX), or (other than LNOTAB) the table ends before @offset: a
 * valid table covers the whole bytecode, so that means a torn read or a
 * mismatched code object. LNOTAB tables do not record the bytecode length: an offset past
 * the last entry gets the last line, as in CPython, and an empty co_lnotab
 * (all on co_firstlineno) gives @firstlineno.
 * Never reads outside @table[0..@len).
 */
int pmw_py_line(enum pmw_linetable fmt, const uint8_t *table, size_t len, int firstlineno,
		uint32_t offset);

#endif
