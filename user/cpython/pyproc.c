// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A CPython process: what is read through its struct pmw_target (pyproc.h). */
#include "pyproc.h"

uint64_t pmw_py_interp(const struct pmw_target *t)
{
	uint64_t interp = 0;

	if (!t->bias_known ||
	    pmw_mem_read(t->pid, t->runtime_vaddr + t->bias + t->pv->interp_main, &interp,
			 sizeof(interp)))
		return 0;
	return interp;
}
