// SPDX-License-Identifier: GPL-2.0
/* Capability check and drop, through libcap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log.h"
#include "priv.h"
#include "util.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE	40
#endif

static bool has_eff(cap_t c, cap_value_t v)
{
	cap_flag_value_t on = CAP_CLEAR;

	/* libcap refuses values its headers do not know: then not present */
	return !cap_get_flag(c, v, CAP_EFFECTIVE, &on) && on == CAP_SET;
}

int pmw_priv_check(void)
{
	/*
	 * CAP_BPF + CAP_PERFMON load the programs but are not enough to
	 * create the uprobe perf events: measured on 6.18, every attach then
	 * fails with EACCES. So CAP_SYS_ADMIN it is.
	 */
	const struct { cap_value_t cap; const char *name; } need[] = {
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" }, { CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	char missing[128] = "";
	cap_t c = cap_get_proc();

	if (!c) {
		elog("cannot read this process's capabilities: %s\n", strerror(errno));
		return -EPERM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!has_eff(c, need[i].cap))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? ", " : "", need[i].name);
	cap_free(c);
	if (!missing[0])
		return 0;
	elog("permission denied: missing %s; run as root (sudo pymemwatch ...)\n", missing);
	return -EPERM;
}

int pmw_priv_drop(bool attach_later, bool new_targets)
{
	cap_value_t keep[4];
	int nkeep = 0, err = 0;
	cap_t c = cap_get_proc(), now = NULL;

	keep[nkeep++] = CAP_SYS_PTRACE;
	if (attach_later)	/* uprobe perf events: see pmw_priv_check() */
		keep[nkeep++] = CAP_SYS_ADMIN;
	if (new_targets) {
		keep[nkeep++] = CAP_DAC_READ_SEARCH;
		keep[nkeep++] = CAP_CHECKPOINT_RESTORE;
	}
	if (!c)
		return -errno;
	/* keep only what we hold now: setting a capability we lack fails */
	now = cap_dup(c);
	cap_clear(c);
	for (int i = 0; i < nkeep; i++)
		if (has_eff(now, keep[i]) && (cap_set_flag(c, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) ||
					      cap_set_flag(c, CAP_PERMITTED, 1, &keep[i], CAP_SET)))
			err = -errno;
	/*
	 * the bounding set needs CAP_SETPCAP: shrink it before the drop. Without
	 * it (a container granted only what pymemwatch needs) the bounding set
	 * is already the launcher's: leave it, drop the rest all the same.
	 */
	for (cap_value_t v = 0; !err && has_eff(now, CAP_SETPCAP) && v <= CAP_LAST_CAP; v++) {
		bool kept = false;

		for (int i = 0; i < nkeep; i++)
			kept |= keep[i] == v;
		if (!kept && CAP_IS_SUPPORTED(v) && cap_drop_bound(v))
			err = -errno;
	}
	if (!err && cap_set_proc(c))
		err = -errno;
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	if (!err)
		cap_reset_ambient();	/* best effort: nothing is ambient for root */
	cap_free(now);
	cap_free(c);
	return err;
}
