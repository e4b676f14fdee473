/* SPDX-License-Identifier: GPL-2.0 */
/* Capabilities: checked before anything is done, dropped once attached. */
#ifndef PMW_PRIV_H
#define PMW_PRIV_H

#include <stdbool.h>

/*
 * Check that the effective set can load BPF, create uprobe perf events and
 * read other processes' memory: CAP_SYS_ADMIN and CAP_SYS_PTRACE (CAP_BPF +
 * CAP_PERFMON load the programs, but uprobe creation still fails with
 * EACCES on 6.18). Prints one line naming what is missing.
 * Returns 0 or -EPERM.
 */
int pmw_priv_check(void);

/*
 * Drop every capability that the rest of the run does not need, from the
 * effective, permitted, inheritable and bounding sets, and set
 * no_new_privs. Kept: CAP_SYS_PTRACE (process_vm_readv, /proc/PID of
 * targets) always; CAP_SYS_ADMIN when uprobes are still to be attached
 * (@attach_later: leak bursts, -a, --follow); CAP_DAC_READ_SEARCH
 * and CAP_CHECKPOINT_RESTORE (/proc/PID/map_files) when new targets can
 * appear (@new_targets). The uid stays 0 so that files are still created as
 * root. Capabilities are per thread: call it before any thread is started.
 * Returns 0 or a negative errno (the run goes on, with a warning).
 */
int pmw_priv_drop(bool attach_later, bool new_targets);

#endif
