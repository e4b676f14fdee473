// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for pmw_py_line() (user/pyline.c).
 * Input: [0] format = 1 + b % 3 (enum pmw_linetable), [1..4] offset (LE), [5..8] firstlineno (LE),
 * then the raw line table. The table is copied into an exact-size heap
 * buffer so ASan catches any read past its end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pyline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t offset, first;
	uint8_t *table;
	size_t len;
	enum pmw_linetable fmt;
	int r;

	if (size < 9)
		return 0;
	fmt = (enum pmw_linetable)(PMW_LT_LNOTAB + data[0] % 3);
	memcpy(&offset, data + 1, 4);
	memcpy(&first, data + 5, 4);
	len = size - 9;
	table = malloc(len ? len : 1);
	if (!table)
		return 0;
	memcpy(table, data + 9, len);
	/* as given, then every offset a small code object could have */
	r = pmw_py_line(fmt, table, len, (int)first, offset);
	if (r < -EINVAL || (r < 0 && r != -EINVAL && r != -ENOENT))
		abort();
	for (uint32_t off = 0; off < 64; off += 2) {
		r = pmw_py_line(fmt, table, len, (int)(first & 0xffff), off);
		if (r < 0 && r != -EINVAL && r != -ENOENT)
			abort();
	}
	/* the other formats' parsers on the same bytes, and invalid formats */
	for (int m = 0; m <= PMW_LT_LOCATIONS + 1; m++)
		pmw_py_line((enum pmw_linetable)m, table, len, (int)first, offset);
	free(table);
	return 0;
}
