/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Logging: elog, wlog and ilog always go to stderr; -v adds vlog, -vv dlog. */
#ifndef PMW_LOG_H
#define PMW_LOG_H

#include <stdio.h>

extern int pmw_verbosity;	/* 0 default, 1 -v, 2 -vv */

#define elog(fmt, ...) fprintf(stderr, "pymemwatch: " fmt, ##__VA_ARGS__)
#define wlog(fmt, ...) fprintf(stderr, "pymemwatch: warning: " fmt, ##__VA_ARGS__)
#define ilog(fmt, ...) fprintf(stderr, "pymemwatch: " fmt, ##__VA_ARGS__)
#define vlog(fmt, ...) do { if (pmw_verbosity >= 1) fprintf(stderr, "pymemwatch: " fmt, ##__VA_ARGS__); } while (0)
#define dlog(fmt, ...) do { if (pmw_verbosity >= 2) fprintf(stderr, "pymemwatch: " fmt, ##__VA_ARGS__); } while (0)

/* exit codes, documented in doc/outputs.md and --help */
#define PMW_EXIT_OK		0
#define PMW_EXIT_RUNTIME	1	/* attach/BPF/IO failure */
#define PMW_EXIT_TARGET		2	/* no such process, not CPython, no symbols */
#define PMW_EXIT_UNSUPPORTED	69	/* kernel lacks BTF, uprobes or BPF */
#define PMW_EXIT_USAGE		64	/* bad command line (EX_USAGE) */
#define PMW_EXIT_NOPERM		77	/* not root / missing capabilities (EX_NOPERM) */

#endif
