/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python frames read from target memory: code objects -> file, function, line. */
#ifndef PMW_PYSTACK_H
#define PMW_PYSTACK_H

#include <stdint.h>
#include "pyproc.h"

/* A symbolized frame. */
struct pmw_frame {
	char file[256];		/* co_filename */
	char func[128];		/* co_qualname (3.11+) or co_name */
	int line;		/* source line, -1 if unknown */
};

struct pmw_code_cache;

/* A per-target cache of code objects. NULL on allocation failure. */
struct pmw_code_cache *pmw_code_cache_new(void);
void pmw_code_cache_free(struct pmw_code_cache *c);

/*
 * Symbolize one frame sampled in BPF: @code is the PyCodeObject address,
 * @instr the raw instruction position (f_lasti <=3.10, else the
 * prev_instr/instr_ptr pointer). Code objects are cached by address and
 * validated on every use (co_filename pointer and co_firstlineno), since a
 * freed code object's address is reused. Returns 0, -EFAULT if the target's
 * memory could not be read or does not hold a code object (its type is not
 * PyCode_Type), -ENOMEM.
 */
int pmw_frame_resolve(const struct pmw_target *t, struct pmw_code_cache *c, uint64_t code,
		      uint64_t instr, struct pmw_frame *out);

/*
 * Read a str object at @addr into @buf as UTF-8 (compact ASCII, latin-1,
 * UCS-2 and UCS-4 forms; Include/cpython/unicodeobject.h). Returns the
 * length or -EFAULT/-EINVAL.
 */
int pmw_read_str(const struct pmw_target *t, uint64_t addr, char *buf, size_t len);

/*
 * If @type (a target address) is a type object, its tp_name into @buf.
 * Returns 0 or -ENOENT.
 */
int pmw_type_name(const struct pmw_target *t, uint64_t type, char *buf, size_t len);

#endif
