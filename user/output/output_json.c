// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --json: JSON Lines, one {"type":"process",...} object per PID per
 * interval (the keys of the field table, fields.c; null: not measured), one {"type":"census",...} per object
 * type (the 20 that grew most) and one {"type":"site",...} per leak
 * suspect, written with jansson.
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "fields.h"
#include "log.h"
#include "ops.h"
#include "output_advice.h"
#include "output_leaks.h"
#include "profile.h"
#include "util.h"

#define SITES_PER_ROW	50
#define CENSUS_PER_ROW	20

static struct pmw_walk_seen advice_seen;	/* the walks whose advice lines are written */

static int put(struct pmw_output *o, json_t *obj)
{
	int err = json_dumpf(obj, o->f, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(obj);
	if (err || fputc('\n', o->f) == EOF)
		return -EIO;
	return 0;
}

static int json_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	static char stack[8192];
	int err = 0;

	for (int i = 0; i < n; i++) {
		struct pmw_fsrc src = { .w = ws[i], .host = o->host };
		struct pmw_site *top[SITES_PER_ROW];
		char ts[40], site[300], col[64];
		json_t *obj = json_object();
		int nt;

		pmw_fmt_rfc3339(&ws[i]->row.wall, ts, sizeof(ts));
		json_object_set_new(obj, "type", json_string("process"));
		pmw_for_each_col(f, g) {
			struct pmw_fval v;

			src.gen = g;
			pmw_field_value(f, NULL, NULL, &src, &v);
			json_object_set_new(obj, pmw_field_colname(f, g, col, sizeof(col)),
					    v.na ? json_null() :
					    f->type == PMW_F_STR ? json_string(v.s ? v.s : "") :
					    f->type == PMW_F_U64 ? json_integer((json_int_t)v.u) :
								   json_real(v.d));
		}
		err |= put(o, obj);
		err |= pmw_leaks_json(o->f, o->host, ts, ws[i]);	/* leak and types lines */
		err |= pmw_advice_json_watch(o->f, o->host, &advice_seen, ws[i]); /* once per walk */
		{
			struct pmw_census_type *ct[CENSUS_PER_ROW];
			int nc = pmw_census_top(&ws[i]->leaks.census, ct, CENSUS_PER_ROW);

			for (int k = 0; k < nc; k++) {
				obj = json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "type", "census",
						"time", ts, "host", o->host, "pid", ws[i]->t.pid,
						"object_type", pmw_census_name(&ws[i]->leaks.census, ct[k]->type),
						"live_bytes", (json_int_t)ct[k]->bytes,
						"growth_bytes", (json_int_t)ct[k]->bytes - (json_int_t)ct[k]->first_bytes,
						"pools", (json_int_t)ct[k]->pools);
				if (obj)
					err |= put(o, obj);
			}
		}
		nt = pmw_sites_top(&ws[i]->leaks, top, SITES_PER_ROW);
		for (int k = 0; k < nt; k++) {
			const struct pmw_site *s = top[k];

			pmw_site_name(s, site, sizeof(site));
			pmw_site_stack(s, stack, sizeof(stack));
			obj = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:f, s:f, s:s, s:i}",
					"type", "site", "time", ts, "host", o->host,
					"pid", ws[i]->t.pid, "site", site,
					"function", s->nframes ? s->frames[0].func : "?",
					"stack", stack, "object_type", s->type,
					"live_bytes", s->live_bytes, "growth_bytes", s->growth_bytes,
					"samples", (json_int_t)s->live, "score", s->score,
					"survival", s->survival, "container", ws[i]->t.container,
					"ns_pid", ws[i]->t.ns_pid);
			if (obj)
				err |= put(o, obj);
		}
	}
	if (!err)
		return pmw_flush(o->f);
	pmw_flush(o->f);
	return -EIO;
}

const struct pmw_output_ops pmw_out_json = {
	.name = "json",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write JSON Lines: {\"type\":\"process\"...} and {\"type\":\"site\"...} per interval",
	.interval = json_interval,
};
