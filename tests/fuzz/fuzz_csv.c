// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer harness for pmw_csv_field() (user/util.c): the input, up to its
 * first NUL, is written as one field into a memstream; the output must parse
 * back (RFC 4180) to exactly the input, with a leading ' added when the
 * input starts with = + - @ (formula neutralization), and must never start
 * with one of those.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out = NULL, *back;
	size_t olen = 0, n, b = 0, i;
	FILE *f;
	int formula;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	n = strlen(in);
	f = open_memstream(&out, &olen);
	if (!f)
		abort();
	if (pmw_csv_field(f, in))
		abort();
	fclose(f);
	if (olen && strchr("=+-@", out[0]))
		abort();	/* a spreadsheet would evaluate it */
	formula = n && strchr("=+-@", in[0]);
	back = malloc(olen + 1);
	if (!back)
		abort();
	if (olen && out[0] == '"') {
		/* quoted: "" is a quote, a lone quote must be the last byte */
		for (i = 1; i < olen; i++) {
			if (out[i] == '"') {
				if (i + 1 == olen)
					break;
				if (out[i + 1] != '"')
					abort();
				i++;
			}
			back[b++] = out[i];
		}
		if (i != olen - 1)
			abort();	/* unterminated */
	} else {
		/* unquoted: no comma, quote, CR or LF allowed */
		for (i = 0; i < olen; i++) {
			if (strchr(",\"\r\n", out[i]) && out[i])
				abort();
			back[b++] = out[i];
		}
	}
	if (b != n + formula || (formula && back[0] != '\'') || memcmp(back + formula, in, n))
		abort();
	free(back);
	free(out);
	free(in);
	return 0;
}
