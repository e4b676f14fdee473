/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `pymemwatch snapshot -p PID | -a [--json] [--csv-advice FILE]`: one heap
 * walk of each target now, then the census by type, the biggest holders by
 * retained size and the advice (leak/advice.h), and exit. No probe, no BPF:
 * target memory only; the target is never stopped.
 */
#ifndef PMW_SNAPSHOT_H
#define PMW_SNAPSHOT_H

/* argv[0] is "snapshot". Returns a PMW_EXIT_* status. */
int pmw_snapshot_main(int argc, char **argv);

#endif
