// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for the command-line and name parsers of user/util.c:
 * pmw_parse_version, pmw_parse_pids, pmw_parse_seconds, pmw_sym_match,
 * pmw_sym_base_len, pmw_sym_is_cold. Input: a string; a NUL byte in it
 * splits it in two for pmw_sym_match(name, want).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *want;
	int major = -1, minor = -1, patch = -2, pids[8], dup = 0, n;
	double secs;
	size_t bl;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;

	if (pmw_parse_version(s, &major, &minor, &patch) == 0) {
		if (major != 3 || minor < 0 || minor > 99 || patch < -1)
			abort();
	}
	n = pmw_parse_pids(s, pids, (int)ARRAY_SIZE(pids), &dup);
	if (n > (int)ARRAY_SIZE(pids) || (n < 0 && n != -EINVAL && n != -EEXIST && n != -E2BIG))
		abort();
	for (int i = 0; i < n; i++)
		if (pids[i] <= 0)
			abort();
	n = pmw_parse_pids(s, pids, 1, NULL);
	if (pmw_parse_seconds(s, &secs) == 0 && (!isfinite(secs) || secs < 0))
		abort();

	bl = pmw_sym_base_len(s);
	if (bl > strlen(s))
		abort();
	pmw_sym_is_cold(s);
	want = memchr(s, 0, size) ? s + strlen(s) + 1 : s;
	if (pmw_sym_match(s, want) && strncmp(s, want, strlen(want)))
		abort();
	pmw_sym_match(want, s);
	free(s);
	return 0;
}
