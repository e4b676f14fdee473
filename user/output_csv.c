// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CSV, RFC 4180: one row per PID per interval, the fields of fields.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "fields.h"
#include "output.h"
#include "util.h"

static int csv_open(struct pmw_output *o, const char *path)
{
	for (int i = 0; i < PMW_NFIELDS; i++)
		fprintf(o->f, "%s%s", i ? "," : "", pmw_field_name(i));
	fputs("\r\n", o->f);
	return fflush(o->f) ? -errno : 0;
}

static int csv_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < n; i++) {
		struct pmw_field f[PMW_NFIELDS];
		char ts[40];
		int nf = pmw_process_fields(ws[i], o->host, ts, sizeof(ts), f);

		for (int k = 0; k < nf; k++) {
			if (k)
				fputc(',', o->f);
			if (f[k].na)
				;	/* unavailable: empty cell */
			else if (f[k].type == PMW_F_STR)
				pmw_csv_field(o->f, f[k].s);
			else if (f[k].type == PMW_F_U64)
				fprintf(o->f, "%llu", (unsigned long long)f[k].u);
			else
				fprintf(o->f, "%.*f", f[k].prec, f[k].d);
		}
		fputs("\r\n", o->f);
	}
	/* flushed every interval: a crash or kill loses nothing already produced */
	if (fflush(o->f))
		return -errno;
	return ferror(o->f) ? -EIO : 0;
}

const struct pmw_output_ops pmw_out_csv = {
	.name = "csv",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write one CSV row per PID per interval to FILE ('-' = stdout)",
	.open = csv_open,
	.interval = csv_interval,
};
