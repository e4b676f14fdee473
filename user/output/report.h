/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTML reports: `pymemwatch report RUN.jsonl [B.jsonl] -o report.html` and
 * --report FILE. One self-contained file (uPlot, d3, d3-flame-graph inlined
 * from /var/cache/pymemwatch/npm or $PMW_JS_DIR): no network request.
 */
#ifndef PMW_REPORT_H
#define PMW_REPORT_H

#include <jansson.h>

/* The `report` subcommand: argv[0] is "report". Returns the exit status. */
int pmw_report_main(int argc, char **argv);

/*
 * Render @ninputs (1, or 2 for a comparison) JSON Lines files of --json into
 * @out. Errors are printed ("pymemwatch: ..."). Returns 0 or an exit status.
 */
int pmw_report_write(const char *const *inputs, int ninputs, const char *out);

/*
 * The report's data (what the page draws), read from @ninputs (1 or 2)
 * --json files: {"version", "runs": [{"file", "procs": [...], ...}]}. NULL
 * after printing why a file could not be read. Caller json_decref()s it.
 */
json_t *pmw_report_data(const char *const *inputs, int ninputs);

#endif
