// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Golden-file tests of the per-interval outputs: CSV, JSON Lines, the plain
 * table and the Prometheus exposition. Three synthetic watches (fixed
 * figures, time and host) are the input; the real formatters
 * (output_csv.c, output_json.c, output_table.c, output_prom.c, through the
 * field table of fields.c) write them, and what they write must equal
 * tests/unit/golden/<name> byte for byte. The outputs are opened through
 * the registry (output.c), as their options would. Needs no privilege.
 *
 *   a  "svc": --mode full with --large, GC probes, heap read, estimates
 *   b  `od,"d`: --mode gc (no heap, no allocation figures), collections read
 *      from memory (no pauses), in a container: unavailable values, quoting
 *   c  "job": --exact, exited (its last row; Prometheus leaves it out)
 *
 * The HTML report's reader (report.c) then reads the JSON golden back: the
 * data the page draws is golden/report-data.json.
 *
 * After an intended change of an output, regenerate the files from the
 * repository root and review the diff:
 *     PMW_GOLDEN_UPDATE=1 .output/tests/test_output_golden
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "env.h"
#include "fields.h"
#include "output.h"
#include "report.h"
#include "util.h"

#define GOLDEN_DIR	"tests/unit/golden"
#define HOST		"host-a"
#define NW		3

static struct pmw_watch *ws[NW];
static char tmpdir[] = "/tmp/pmw-golden.XXXXXX";

/* one generation's interval: @n pauses of @ns[] */
static void gen(struct pmw_gcgen *g, uint64_t collected, uint64_t uncoll, const uint64_t *ns,
		int n)
{
	g->collections = n;
	g->collected = collected;
	g->uncollectable = uncoll;
	for (int i = 0; i < n; i++) {
		g->pause_ns += ns[i];
		if (ns[i] > g->pause_max_ns)
			g->pause_max_ns = ns[i];
		pmw_hist_add(g->hist, PMW_HIST_SLOTS, ns[i]);
	}
}

/* totals since attach: the interval's figures times @k */
static void totals(struct pmw_watch *w, int k)
{
	for (int g = 0; g < PMW_NGEN; g++) {
		struct pmw_gcgen *t = &w->gc_total[g];
		const struct pmw_gcgen *c = &w->row.gc[g];

		t->collections = c->collections * k;
		t->collected = c->collected * k;
		t->uncollectable = c->uncollectable * k;
		t->pause_ns = c->pause_ns * k;
		t->pause_max_ns = c->pause_max_ns;
		for (int i = 0; i < PMW_HIST_SLOTS; i++)
			t->hist[i] = c->hist[i] * k;
	}
	w->tot_allocs = w->row.allocs * k;
	w->rows_counted = w->row.counts_na ? 0 : k;
	w->tot_frees = w->row.frees * k;
	w->tot_dropped = w->row.dropped * k;
}

static void base(struct pmw_watch *w, int pid, const char *comm, const char *version)
{
	struct pmw_row *r = &w->row;

	w->t.pid = pid;
	w->t.ns_pid = pid;
	snprintf(w->t.comm, sizeof(w->t.comm), "%s", comm);
	snprintf(w->t.version, sizeof(w->t.version), "%s", version);
	r->wall = (struct timespec){ 1764250000, 123456789 };	/* 2025-11-27T13:26:40.123Z */
	r->interval_s = 1.0;
	r->pid = pid;
	r->comm = w->t.comm;
	r->python = w->t.version;
}

static int setup(void **state)
{
	static const uint64_t p0[] = { 150000, 250000, 1200000 }, p1[] = { 3500000 },
			      p2[] = { 42000000 }, q0[] = { 800000, 900000 };
	struct pmw_watch *w;
	struct pmw_row *r;

	/* the table's clock is local time */
	setenv("TZ", "UTC", 1);
	tzset();
	if (!mkdtemp(tmpdir))
		return -1;
	for (int i = 0; i < NW; i++)
		if (!(ws[i] = calloc(1, sizeof(*ws[i]))))
			return -1;

	w = ws[0];
	r = &w->row;
	base(w, 4242, "svc", "3.11.2");
	w->a.groups = PMW_G_GC_USDT | PMW_G_HEAP | PMW_G_LARGE;
	w->gc_src = PMW_GC_USDT;
	w->scan_heap = w->heap_ever = r->heap_ok = true;
	w->heap.scan_ms = 1.25;
	r->allocs = 12345;
	r->alloc_bytes = 987654;
	r->frees = 12000;
	r->live_bytes = w->heap.live_bytes = 3 * 1048576 + 4096;
	r->live_blocks = w->heap.live_blocks = 54321;
	w->heap.pools_used = 900;
	r->arena_bytes = w->heap.arena_bytes = 4 * 1048576;
	r->rss_bytes = 50 * 1048576;
	r->anon_bytes = 30 * 1048576;
	gen(&r->gc[0], 1000, 0, p0, 3);
	gen(&r->gc[1], 200, 2, p1, 1);
	gen(&r->gc[2], 50, 0, p2, 1);
	r->large_live_bytes = 2 * 1048576;
	r->large_allocs = 17;
	r->pool_refills = 33;
	r->dropped = 1;
	w->leaks.ps = (struct pmw_leak_score){ .score = 3.5, .heap_slope = 65536, .heap_r2 = 0.875,
					       .rss_slope = 131072, .rss_r2 = 0.5,
					       .uncoll_per_min = 2 };
	w->leaks.burst_s = 0.5;
	totals(w, 7);

	w = ws[1];
	r = &w->row;
	base(w, 77, "od,\"d", "3.9.2");
	w->t.ns_pid = 1;
	snprintf(w->t.container, sizeof(w->t.container), "docker:ab\"c");
	w->gc_src = PMW_GC_MEMORY;
	r->counts_na = true;
	r->rss_bytes = 12 * 1048576;
	r->anon_bytes = 8 * 1048576;
	r->gc[0].collections = 4;
	r->gc[0].collected = 40;
	r->gc_unknown_gen = 1;
	totals(w, 3);

	w = ws[2];
	r = &w->row;
	base(w, 9001, "job", "3.12.1");
	r->interval_s = 0.25;
	w->a.groups = PMW_G_GC_UPROBE | PMW_G_EXACT;
	w->gc_src = PMW_GC_UPROBE;
	w->exact = r->exact = true;
	w->scan_heap = w->heap_ever = true;	/* read before, not in its last interval */
	r->allocs = 2000000;
	r->alloc_bytes = 64000000;
	r->frees = 2100000;
	r->live_bytes = 512 * 1024;
	r->live_blocks = 9000;
	w->heap.pools_used = 150;
	r->arena_bytes = 1048576;
	gen(&r->gc[0], 10, 0, q0, 2);
	r->final = w->exited = true;
	totals(w, 11);
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	for (int i = 0; i < NW; i++)
		free(ws[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) ? -1 : 0;
}

/* the whole of @path, NUL-terminated, or NULL */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, 4096, f);

		n += got;
		if (!got)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* @out (written by a formatter) equals golden/@name; PMW_GOLDEN_UPDATE=1 writes it instead */
static void check_golden(const char *out, const char *name)
{
	char golden[512], cmd[1200];
	char *got, *want;
	size_t ng, nw;
	const char *upd = getenv("PMW_GOLDEN_UPDATE");

	snprintf(golden, sizeof(golden), "%s/%s", GOLDEN_DIR, name);
	got = slurp(out, &ng);
	assert_non_null(got);
	assert_true(ng > 0);
	if (upd && !strcmp(upd, "1")) {
		FILE *f = fopen(golden, "wb");

		if (!f)
			fail_msg("cannot write %s: %s (run from the repository root)", golden,
				 strerror(errno));
		fwrite(got, 1, ng, f);
		assert_int_equal(fclose(f), 0);
		printf("updated %s\n", golden);
		free(got);
		return;
	}
	want = slurp(golden, &nw);
	if (!want)
		fail_msg("%s: %s (run from the repository root; create it with PMW_GOLDEN_UPDATE=1)",
			 golden, strerror(errno));
	if (ng != nw || memcmp(got, want, ng)) {
		snprintf(cmd, sizeof(cmd), "diff -u %s %s", golden, out);
		fflush(stdout);
		if (system(cmd) == -1)
			printf("(no diff: %s)\n", strerror(errno));
		fail_msg("%s differs from what the formatter wrote (diff above); if intended: "
			 "PMW_GOLDEN_UPDATE=1 .output/tests/test_output_golden", golden);
	}
	free(got);
	free(want);
}

/*
 * Open output @name through the registry (as `--NAME FILE` would; the
 * screen output "table" with its stdout sent to the file), hand it every
 * watch @intervals times, close it, and compare the file with golden/@file.
 */
static void run_output(const char *name, const char *file, int intervals)
{
	bool screen = !strcmp(name, "table");
	struct pmw_outputs os = { 0 };
	char path[512];
	int out = -1, fd = -1;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	if (screen) {
		fflush(stdout);
		out = dup(STDOUT_FILENO);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(out >= 0 && fd >= 0);
		assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	} else {
		pmw_output_set_arg(name, path);
	}
	assert_int_equal(pmw_outputs_open(&os, screen ? name : NULL, HOST, 1.0, false), 0);
	assert_int_equal(os.n, 1);
	for (int i = 0; i < intervals; i++)
		assert_int_equal(pmw_outputs_interval(&os, ws, NW), 0);
	pmw_outputs_close(&os);
	if (screen) {
		fflush(stdout);
		assert_int_equal(dup2(out, STDOUT_FILENO), STDOUT_FILENO);
		close(out);
		close(fd);
	} else {
		pmw_output_set_arg(name, NULL);
	}
	check_golden(path, file);
}

static void test_csv(void **state)
{
	run_output("csv", "process.csv", 1);
}

static void test_json(void **state)
{
	run_output("json", "process.jsonl", 1);
}

static void test_table(void **state)
{
	run_output("table", "table.txt", 1);	/* not ranked (-a) */
}

static void test_prometheus(void **state)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/metrics.prom", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	pmw_prom_render(f, ws, NW);
	assert_int_equal(fclose(f), 0);
	check_golden(path, "metrics.prom");
}

/*
 * The HTML report's reader (report.c) over the JSON golden: the data the
 * page draws. A JSON key the reader expects but the field table no longer
 * writes shows here as a changed figure.
 */
static void test_report_reader(void **state)
{
	const char *in[] = { GOLDEN_DIR "/process.jsonl" };
	json_t *doc = pmw_report_data(in, 1);
	char path[512];
	FILE *f;

	assert_non_null(doc);
	json_object_del(doc, "version");	/* pymemwatch's, not the data's */
	snprintf(path, sizeof(path), "%s/report-data.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(json_dumpf(doc, f, JSON_INDENT(1) | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(7)), 0);
	fputc('\n', f);
	assert_int_equal(fclose(f), 0);
	json_decref(doc);
	check_golden(path, "report-data.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_prometheus),
		cmocka_unit_test(test_report_reader),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
