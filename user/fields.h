/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The per-PID, per-interval fields, in one place: CSV columns and JSON keys
 * come from here. The first 21 are a public interface (README.md): never
 * rename or reorder them; add new fields after them.
 */
#ifndef PMW_FIELDS_H
#define PMW_FIELDS_H

#include <stdbool.h>
#include <stdint.h>
#include "watch.h"

enum pmw_field_type { PMW_F_STR, PMW_F_U64, PMW_F_F64 };

struct pmw_field {
	const char *name;
	enum pmw_field_type type;
	const char *s;
	uint64_t u;
	double d;
	int prec;		/* digits after the point for PMW_F_F64 in CSV */
	bool na;		/* unavailable (not measured): CSV empty, JSON null, table n/a */
};

#define PMW_NFIELDS 40

/* Fill @f with the fields of @w's last row (host: @host). Returns PMW_NFIELDS. */
int pmw_process_fields(const struct pmw_watch *w, const char *host, char *ts, size_t tslen,
		       struct pmw_field f[PMW_NFIELDS]);

/* The field names in order (for headers). */
const char *pmw_field_name(int i);

#endif
