// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `pymemwatch snapshot` as text, JSON Lines and --csv-advice rows (output_advice.h). */
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <jansson.h>
#include "output_advice.h"
#include "ops.h"
#include "output_leaks.h"
#include "util.h"

static const char *holder_kind(const struct pmw_holder *h)
{
	return h->path[0] ? pmw_holder_kind_name(h->kind) : "";
}

static void text_census(FILE *f, const struct pmw_snapshot *s, int top)
{
	char b[32];

	fprintf(f, "\nCensus by type (largest %d of %d types)\n", top < s->ncensus ? top : s->ncensus,
		s->ncensus);
	fprintf(f, "  %-40s %12s %12s %6s\n", "TYPE", "OBJECTS", "BYTES", "SHARE");
	for (int i = 0; i < s->ncensus && i < top; i++)
		fprintf(f, "  %-40.40s %12" PRIu64 " %12s %5.1f%%\n", s->census[i].name,
			s->census[i].objects, pmw_fmt_bytes(s->census[i].bytes, b, sizeof(b)),
			s->heap_bytes ? 100.0 * s->census[i].bytes / s->heap_bytes : 0);
}

static void text_holders(FILE *f, const struct pmw_snapshot *s, int top)
{
	char b[32];

	fprintf(f, "\nBiggest holders (retained: what would be freed if the holder let go)\n");
	if (!s->nholders)
		fprintf(f, "  (no container of %d items or more)\n", PMW_WALK_MIN_LEN);
	else
		fprintf(f, "  %12s %10s  %-20s %s\n", "RETAINED", "ITEMS", "ITEM TYPE", "HOLDER");
	for (int i = 0; i < s->nholders && i < top; i++) {
		const struct pmw_holder *h = &s->holders[i];
		char path[300];

		if (h->path[0])
			snprintf(path, sizeof(path), "%s (%s)", h->path, holder_kind(h));
		else
			snprintf(path, sizeof(path), "? (container at %#" PRIx64 ", holder not found)",
				 h->container);
		fprintf(f, "  %12s %10" PRIu64 "  %-20.20s %s\n", h->retained_bytes == UINT64_MAX ? "?" :
			pmw_fmt_bytes(h->retained_bytes, b, sizeof(b)), h->items,
			h->item_type[0] ? h->item_type : "?", path);
	}
}

static void text_advice(FILE *f, const struct pmw_snapshot *s)
{
	char b1[32], b2[32];

	fprintf(f, "\nWhere the memory goes: advice, by estimated saving (rows saving >= %s and "
		">= %.1f%% of the heap)\n", pmw_fmt_bytes(PMW_ADVICE_MIN_BYTES, b1, sizeof(b1)),
		100 * PMW_ADVICE_MIN_SHARE);
	if (!s->nadvice) {
		fprintf(f, "  nothing worth a line\n");
		return;
	}
	fprintf(f, "  %-19s %-32s %10s %10s %10s  %s\n", "KIND", "SUBJECT", "OBJECTS", "BYTES",
		"SAVING", "WHERE");
	for (int i = 0; i < s->nadvice; i++) {
		const struct pmw_advice_row *r = &s->advice[i];

		fprintf(f, "  %-19s %-32.32s %10" PRIu64 " %10s %10s  %s\n", r->kind, r->subject,
			r->objects, pmw_fmt_bytes(r->bytes, b1, sizeof(b1)),
			pmw_fmt_bytes(r->saving, b2, sizeof(b2)), r->where);
		fprintf(f, "  %19s %s\n", "", r->detail);
		if (s->show_values && r->value[0])
			fprintf(f, "  %19s value: %s\n", "", r->value);
	}
}

void pmw_snapshot_text(FILE *f, const struct pmw_snapshot *s, int top)
{
	char b[32];

	fprintf(f, "PID %d (%s, Python %s%s%s): %s in %" PRIu64 " objects, walked in %.2f s "
		"(pymemwatch CPU %.2f s; whole snapshot %.2f s wall, %.2f s CPU), %" PRIu64
		" pieces torn\n", s->t->pid, s->t->comm, s->t->version,
		s->t->container[0] ? ", " : "", s->t->container,
		pmw_fmt_bytes(s->heap_bytes, b, sizeof(b)), s->stats.objects, s->stats.wall_s,
		s->stats.cpu_s, s->wall_s, s->cpu_s, s->stats.torn);
	text_census(f, s, top);
	text_holders(f, s, top);
	text_advice(f, s);
}

static json_t *base(const struct pmw_snapshot *s, const char *type)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:i}", "type", type, "time", s->time,
			 "host", s->host, "pid", s->t->pid, "container", s->t->container,
			 "ns_pid", s->t->ns_pid);
}

static int advice_lines(FILE *f, const struct pmw_snapshot *s)
{
	json_t *o;
	int err = 0;

	for (int i = 0; i < s->nadvice; i++) {
		const struct pmw_advice_row *r = &s->advice[i];

		o = base(s, "advice");
		json_object_update_new(o, json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
			"rank", i + 1, "kind", r->kind, "subject", r->subject, "where", r->where,
			"objects", (json_int_t)r->objects, "bytes", (json_int_t)r->bytes,
			"saving_bytes", (json_int_t)r->saving, "detail", r->detail));
		if (s->show_values && r->value[0])
			json_object_set_new(o, "value", json_string(r->value));
		err |= pmw_json_put(f, o);
	}
	return err;
}

int pmw_snapshot_json(FILE *f, const struct pmw_snapshot *s, int top)
{
	int err = 0;
	json_t *o = base(s, "snapshot");

	json_object_update_new(o, json_pack("{s:s, s:s, s:I, s:I, s:i, s:f, s:f, s:f, s:f, s:I}",
		"comm", s->t->comm, "version", s->t->version, "heap_bytes", (json_int_t)s->heap_bytes,
		"objects", (json_int_t)s->stats.objects, "types", s->ncensus, "walk_wall_s", s->stats.wall_s,
		"walk_cpu_s", s->stats.cpu_s, "wall_s", s->wall_s, "cpu_s", s->cpu_s,
		"torn", (json_int_t)s->stats.torn));
	err |= pmw_json_put(f, o);
	for (int i = 0; i < s->ncensus && i < top; i++) {
		o = base(s, "census");
		json_object_update_new(o, json_pack("{s:s, s:I, s:I}", "object_type",
			s->census[i].name, "objects", (json_int_t)s->census[i].objects,
			"live_bytes", (json_int_t)s->census[i].bytes));
		err |= pmw_json_put(f, o);
	}
	for (int i = 0; i < s->nholders && i < top; i++) {
		const struct pmw_holder *h = &s->holders[i];

		o = base(s, "holder");
		json_object_update_new(o, json_pack("{s:i, s:s, s:s, s:I, s:o, s:s, s:I}", "rank", i + 1,
			"holder", h->path, "holder_kind", holder_kind(h), "items", (json_int_t)h->items,
			"retained_bytes", h->retained_bytes == UINT64_MAX ? json_null() :
			json_integer((json_int_t)h->retained_bytes), "item_type", h->item_type,
			"address", (json_int_t)h->container));
		err |= pmw_json_put(f, o);
	}
	err |= advice_lines(f, s);
	return err || fflush(f) ? -EIO : 0;
}

void pmw_advice_csv_header(FILE *f)
{
	fputs("time,host,pid,kind,subject,where,objects,bytes,saving_bytes,detail,container,"
	      "ns_pid\r\n", f);
}

void pmw_advice_csv(FILE *f, const struct pmw_snapshot *s)
{
	for (int i = 0; i < s->nadvice; i++) {
		const struct pmw_advice_row *r = &s->advice[i];
		char detail[400];

		snprintf(detail, sizeof(detail), "%s%s%s%s", r->detail,
			 s->show_values && r->value[0] ? "; value: \"" : "",
			 s->show_values ? r->value : "", s->show_values && r->value[0] ? "\"" : "");
		fprintf(f, "%s,", s->time);
		pmw_csv_field(f, s->host);
		fprintf(f, ",%d,%s,", s->t->pid, r->kind);
		pmw_csv_field(f, r->subject);
		fputc(',', f);
		pmw_csv_field(f, r->where);
		fprintf(f, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",", r->objects, r->bytes, r->saving);
		pmw_csv_field(f, detail);
		fputc(',', f);
		pmw_csv_field(f, s->t->container);
		fprintf(f, ",%d\r\n", s->t->ns_pid);
	}
	fflush(f);
}

/* ---------------------------------------------------------------- live runs */

/* the advice of @w's last walk as a snapshot without census or holders */
static void from_watch(struct pmw_snapshot *s, const char *host, struct pmw_watch *w)
{
	memset(s, 0, sizeof(*s));
	s->t = &w->t;
	s->host = host;
	s->advice = w->leaks.adv;
	s->nadvice = w->leaks.nadv;
	pmw_fmt_rfc3339(&w->row.wall, s->time, sizeof(s->time));
}

void pmw_advice_summary(FILE *f, struct pmw_watch *w)
{
	struct pmw_snapshot s;

	if (!w->leaks.walk.walks)
		return;
	from_watch(&s, "", w);
	text_advice(f, &s);
}

int pmw_advice_json_watch(FILE *f, const char *host, struct pmw_walk_seen *seen,
			  struct pmw_watch *w)
{
	struct pmw_snapshot s;

	if (!pmw_walk_is_new(seen, w))
		return 0;
	from_watch(&s, host, w);
	return advice_lines(f, &s);
}

static int csv_advice_open(struct pmw_output *o, const char *path)
{
	o->priv = calloc(1, sizeof(struct pmw_walk_seen));
	if (!o->priv)
		return -ENOMEM;
	pmw_advice_csv_header(o->f);
	return pmw_flush(o->f);
}

static int csv_advice_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	struct pmw_snapshot s;

	for (int i = 0; i < n; i++) {
		if (!pmw_walk_is_new(o->priv, ws[i]))
			continue;
		from_watch(&s, o->host, ws[i]);
		pmw_advice_csv(o->f, &s);
	}
	return pmw_flush(o->f);
}

static void csv_advice_close(struct pmw_output *o)
{
	free(o->priv);
	o->priv = NULL;
}

const struct pmw_output_ops pmw_out_csv_advice = {
	.name = "csv-advice",
	.kind = PMW_OUT_FILE,
	.arg = "FILE",
	.help = "Write the advice of each heap walk (what would save memory: slots, duplicate_str, "
		"empty_container, oversized_container, boxed_numbers): one CSV row per advice per PID "
		"('-' = stdout)",
	.open = csv_advice_open,
	.interval = csv_advice_interval,
	.close = csv_advice_close,
};
