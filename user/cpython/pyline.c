// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Line numbers from a code object's line table, in the three formats
 * CPython 3.8+ used (enum pmw_linetable).
 * Same walks as CPython's Objects/codeobject.c (PyCode_Addr2Line for
 * co_lnotab, advance()/_PyCode_CheckLineNumber for co_linetable), but
 * linear, bounds-checked and strict: the bytes were copied out of another
 * process and may be torn or stale.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include "pyline.h"

/* 3.11+ location entry kinds (Objects/locations.md) */
#define LOC_ONE_LINE0	10
#define LOC_NO_COLUMNS	13
#define LOC_LONG	14
#define LOC_NONE	15

/* CPython keeps the running line in an int: anything else is garbage */
static bool line_ok(int64_t line)
{
	return line >= INT_MIN && line <= INT_MAX;
}

static int line_result(int64_t line)
{
	if (line < 0 || line > INT_MAX)
		return -EINVAL;
	return (int)line;
}

/*
 * <=3.9 co_lnotab: pairs (addr_incr u8, line_incr s8) from (0, firstlineno).
 * PyCode_Addr2Line: add addr_incr; stop once addr > offset; else add
 * line_incr. Pairs with addr_incr 0 just carry line increments > 127.
 */
static int lnotab_line(const uint8_t *t, size_t len, int firstlineno,
		       uint32_t offset)
{
	int64_t line = firstlineno;
	uint64_t addr = 0;
	size_t i;

	if (len & 1)
		return -EINVAL;
	for (i = 0; i < len; i += 2) {
		addr += t[i];
		if (addr > offset)
			break;
		line += (int8_t)t[i + 1];
		if (!line_ok(line))
			return -EINVAL;
	}
	return line_result(line);
}

/*
 * 3.10 co_linetable (PEP 626): pairs (length in bytes u8, line delta s8);
 * delta -128 = these bytes have no line and the running line is unchanged.
 * Zero-length pairs carry deltas beyond +-127 and never match an offset.
 */
static int linetable310_line(const uint8_t *t, size_t len, int firstlineno,
			     uint32_t offset)
{
	int64_t line = firstlineno;
	uint64_t start = 0, end;
	size_t i;

	if (len & 1)
		return -EINVAL;
	for (i = 0; i < len; i += 2) {
		int8_t d = (int8_t)t[i + 1];

		end = start + t[i];
		if (d != -128)
			line += d;
		if (!line_ok(line))
			return -EINVAL;
		if (offset >= start && offset < end)
			return d == -128 ? -ENOENT : line_result(line);
		start = end;
	}
	return -EINVAL;
}

/*
 * 3.11+ varint: 6-bit chunks, least significant first, 0x40 = more follow.
 * Bytes inside an entry never have bit 7 set (that starts the next entry).
 */
static int read_varint(const uint8_t *t, size_t len, size_t *pos, uint32_t *out)
{
	uint64_t val = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (*pos >= len || shift > 30)
			return -EINVAL;
		b = t[(*pos)++];
		if (b & 0x80)
			return -EINVAL;
		val |= (uint64_t)(b & 0x3f) << shift;
		shift += 6;
	} while (b & 0x40);
	if (val > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)val;
	return 0;
}

/* zigzag-like: v & 1 ? -(v >> 1) : v >> 1 */
static int read_svarint(const uint8_t *t, size_t len, size_t *pos, int64_t *out)
{
	uint32_t v;
	int err = read_varint(t, len, pos, &v);

	if (err)
		return err;
	*out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
	return 0;
}

/* @n raw bytes (columns) that must be present and have bit 7 clear */
static int skip_bytes(const uint8_t *t, size_t len, size_t *pos, size_t n)
{
	if (len - *pos < n)
		return -EINVAL;
	for (; n; n--, (*pos)++)
		if (t[*pos] & 0x80)
			return -EINVAL;
	return 0;
}

/*
 * 3.11+ location table (PEP 657). Each entry: first byte 1cccclll,
 * code c, covering l+1 code units (2 bytes each), then:
 *   15      no location (line unchanged, instruction has none)
 *   14      long form: svarint line delta, varint end-line delta,
 *           varint col+1, varint endcol+1
 *   13      no columns: svarint line delta
 *   10..12  one-line form: line delta c-10, col byte, endcol byte
 *   0..9    short form: line delta 0, one column byte
 * The deltas accumulate from co_firstlineno; every entry is validated in
 * full (it must end where the next one starts) before it is used.
 */
static int loctable_line(const uint8_t *t, size_t len, int firstlineno,
			 uint32_t offset)
{
	int64_t line = firstlineno, delta;
	uint64_t start = 0, end;
	size_t pos = 0;
	uint32_t v;
	int code, err, k;

	while (pos < len) {
		uint8_t b = t[pos++];

		if (!(b & 0x80))
			return -EINVAL;
		code = (b >> 3) & 15;
		end = start + 2 * ((b & 7) + 1);
		delta = 0;
		err = 0;
		switch (code) {
		case LOC_NONE:
			break;
		case LOC_LONG:
			err = read_svarint(t, len, &pos, &delta);
			for (k = 0; k < 3 && !err; k++)
				err = read_varint(t, len, &pos, &v);
			break;
		case LOC_NO_COLUMNS:
			err = read_svarint(t, len, &pos, &delta);
			break;
		case LOC_ONE_LINE0:
		case LOC_ONE_LINE0 + 1:
		case LOC_ONE_LINE0 + 2:
			delta = code - LOC_ONE_LINE0;
			err = skip_bytes(t, len, &pos, 2);
			break;
		default:
			err = skip_bytes(t, len, &pos, 1);
			break;
		}
		if (err)
			return err;
		if (pos < len && !(t[pos] & 0x80))
			return -EINVAL;	/* trailing bytes in the entry */
		line += delta;
		if (!line_ok(line))
			return -EINVAL;
		if (offset >= start && offset < end)
			return code == LOC_NONE ? -ENOENT : line_result(line);
		start = end;
	}
	return -EINVAL;
}

int pmw_py_line(enum pmw_linetable fmt, const uint8_t *table, size_t len, int firstlineno,
		uint32_t offset)
{
	if (!table && len)
		return -EINVAL;
	switch (fmt) {
	case PMW_LT_LNOTAB:
		return lnotab_line(table, len, firstlineno, offset);
	case PMW_LT_LINETABLE310:
		return linetable310_line(table, len, firstlineno, offset);
	case PMW_LT_LOCATIONS:
		return loctable_line(table, len, firstlineno, offset);
	}
	return -EINVAL;
}
