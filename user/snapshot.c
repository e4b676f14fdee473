// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "advice.h"
#include "discover.h"
#include "holders.h"
#include "log.h"
#include "output_advice.h"
#include "pyobj.h"
#include "snapshot.h"
#include "util.h"
#include "walk.h"

#define CANDIDATES	32	/* longest containers whose retained size is measured */
#define STR_HOLDERS	64	/* longest containers looked into for duplicated strings */
#define SNAP_MAX_PIDS	256

struct snap_opts {
	pid_t pids[SNAP_MAX_PIDS];
	int npids;
	bool all, json, show_values;
	double budget;			/* fraction of one CPU for the walk */
	int top;
	const char *csv_advice;
	FILE *csv;
	char host[64];
};

static void usage(FILE *f)
{
	fputs("Usage: pymemwatch snapshot -p PID[,PID...] | -a [OPTION...]\n"
	      "One heap walk of each target now: the census by type, the biggest holders by\n"
	      "retained size and advice on what would save memory; then exit. Nothing runs in\n"
	      "the target and it is never stopped (its memory is read while it runs).\n"
	      "  -p, --pid PID[,PID...]  these processes\n"
	      "  -a, --all               every CPython process on the host\n"
	      "      --json              JSON Lines on stdout instead of text\n"
	      "      --csv-advice FILE   also write the advice rows as CSV ('-' = stdout)\n"
	      "      --show-values       print duplicate strings' contents (default: length and hash)\n"
	      "      --walk-budget PCT   CPU of pymemwatch for the walk, percent of one CPU (default 100)\n"
	      "      --top N             census rows and holders shown (default 15)\n"
	      "  -v, --verbose           more messages\n", f);
}

/* what stopped the walk (the attach errors are pmw_target_error()'s) */
static const char *walk_error(int err)
{
	switch (err) {
	case -EAGAIN: return "no heap to walk: its interpreter is not initialised (yet)";
	case -EOPNOTSUPP: return "heap walks are not supported on this build (free-threaded)";
	default: return pmw_target_error(err);
	}
}

static int parse(int argc, char **argv, struct snap_opts *o)
{
	static const struct option lopts[] = {
		{ "pid", required_argument, NULL, 'p' }, { "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' }, { "csv-advice", required_argument, NULL, 'c' },
		{ "show-values", no_argument, NULL, 's' }, { "walk-budget", required_argument, NULL, 'w' },
		{ "top", required_argument, NULL, 't' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	int c, dup;
	char *end;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:avh", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->npids = pmw_parse_pids(optarg, o->pids, SNAP_MAX_PIDS, &dup);
			if (o->npids <= 0) {
				elog("snapshot: invalid PID list '%s': expected PID[,PID...]\n", optarg);
				return PMW_EXIT_USAGE;
			}
			break;
		case 'a': o->all = true; break;
		case 'j': o->json = true; break;
		case 'c': o->csv_advice = optarg; break;
		case 's': o->show_values = true; break;
		case 'v': pmw_verbosity++; break;
		case 'w':
			o->budget = strtod(optarg, &end) / 100;
			if (*end || o->budget <= 0 || o->budget > 1) {
				elog("snapshot: invalid --walk-budget '%s': percent of one CPU, "
				     "above 0 up to 100\n", optarg);
				return PMW_EXIT_USAGE;
			}
			break;
		case 't':
			o->top = strtol(optarg, &end, 10);
			if (*end || o->top < 1 || o->top > 1000) {
				elog("snapshot: invalid --top '%s': 1 to 1000\n", optarg);
				return PMW_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			elog("snapshot: option %s needs a value\n", argv[optind - 1]);
			return PMW_EXIT_USAGE;
		default:
			elog("snapshot: unknown option '%s' (pymemwatch snapshot --help)\n",
			     argv[optind - 1]);
			return PMW_EXIT_USAGE;
		}
	}
	if (optind < argc || !o->npids == !o->all) {
		elog("snapshot: give one of -p PID[,PID...] or -a (pymemwatch snapshot --help)\n");
		return PMW_EXIT_USAGE;
	}
	return 0;
}

/* Walk @t's heap to the end at @budget of one CPU. 0 or -errno. */
static int walk_all(struct pmw_walk *wk, const struct pmw_target *t, double budget)
{
	struct pmw_walk_budget b = { .share = budget };

	for (;;) {
		int r;

		pmw_walk_earn(&b);
		r = pmw_walk_step(wk, t, &b);

		if (r == 1)
			return 0;
		if (r < 0)
			return r;
		if (budget < 1)
			usleep(20000);
	}
}

static int cmp_len_desc(const void *a, const void *b)
{
	uint64_t x = (*(const struct pmw_walk_container *const *)a)->len;
	uint64_t y = (*(const struct pmw_walk_container *const *)b)->len;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_retained_desc(const void *a, const void *b)
{
	uint64_t x = ((const struct pmw_holder *)a)->retained_bytes;
	uint64_t y = ((const struct pmw_holder *)b)->retained_bytes;

	x = x == UINT64_MAX ? 0 : x;
	y = y == UINT64_MAX ? 0 : y;
	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The biggest holders: the CANDIDATES longest containers of the walk, and the
 * advice rows' sample containers, measured and named by pmw_holders_find();
 * the candidates ranked by retained size into @h (returns their count), the
 * advice rows' holder paths into their .where.
 */
static int holders(const struct pmw_target *t, const struct pmw_walk *wk, struct pmw_holder *h,
		   struct pmw_advice_row *adv, int nadv, struct pmw_advice_acc *acc)
{
	const struct pmw_walk_container **c = malloc((wk->ndone ? wk->ndone : 1) * sizeof(*c));
	int n = 0, nc, at[PMW_ADVICE_ROWS];
	uint64_t longest[STR_HOLDERS];
	struct pmw_pyr r;

	if (!c)
		return -ENOMEM;
	for (int i = 0; i < wk->ndone; i++)
		c[i] = &wk->done[i];
	qsort(c, wk->ndone, sizeof(*c), cmp_len_desc);
	for (nc = 0; nc < wk->ndone && nc < CANDIDATES; nc++)
		h[n++].container = c[nc]->addr;
	for (int i = 0; i < wk->ndone && i < STR_HOLDERS; i++)
		longest[i] = c[i]->addr;
	/* which of the longest containers holds most copies of each duplicated str */
	if (!pmw_pyr_init(&r, t, 100000, 0)) {
		pmw_advice_str_holders(acc, &r, longest, wk->ndone < STR_HOLDERS ? wk->ndone :
				       STR_HOLDERS, adv, nadv);
		pmw_pyr_free(&r);
	}
	free(c);
	for (int i = 0; i < nadv; i++) {
		at[i] = -1;
		if (adv[i].sample && !adv[i].where[0] && strcmp(adv[i].kind, "slots")) {
			at[i] = n;
			h[n++].container = adv[i].sample;
		}
	}
	if (n && pmw_holders_find(t, h, n) < 0)
		vlog("PID %d: holder search failed\n", t->pid);
	for (int i = 0; i < nadv; i++)
		if (at[i] >= 0 && h[at[i]].path[0])
			snprintf(adv[i].where, sizeof(adv[i].where), "%s", h[at[i]].path);
	qsort(h, nc, sizeof(*h), cmp_retained_desc);
	return nc;
}

static void snap_print(struct pmw_snapshot *s, struct snap_opts *o)
{
	if (o->json)
		pmw_snapshot_json(stdout, s, o->top);
	else
		pmw_snapshot_text(stdout, s, o->top);
	if (o->csv)
		pmw_advice_csv(o->csv, s);
}

/* One target: walk, advice, holders, print. 0 or a PMW_EXIT_* status. */
static int snap_one(pid_t pid, struct snap_opts *o)
{
	struct pmw_holder h[CANDIDATES + PMW_ADVICE_ROWS];
	struct pmw_advice_row adv[PMW_ADVICE_ROWS];
	struct pmw_snapshot s = { .host = o->host, .show_values = o->show_values };
	struct pmw_walk wk = { 0 };
	struct pmw_advice_acc *acc = NULL;
	struct pmw_target t;
	double w0 = pmw_now_s(), c0 = pmw_cpu_s();
	struct timespec now;
	char why[PATH_MAX + 200];
	int err;

	memset(h, 0, sizeof(h));
	err = pmw_target_open_pid(&t, pid);
	if (err) {
		elog("snapshot: PID %d: %s\n", pid, pmw_target_error(err));
		return PMW_EXIT_TARGET;
	}
	if (!pmw_target_heap_found(&t, why, sizeof(why))) {
		elog("snapshot: PID %d: %s\n", pid, why);
		pmw_target_close(&t);
		return PMW_EXIT_TARGET;
	}
	acc = pmw_advice_new(&t, false);
	if (!acc) {
		err = -ENOMEM;
		goto out;
	}
	pmw_advice_hook(acc, &wk);
	err = walk_all(&wk, &t, o->budget);
	if (err)
		goto out;
	s.t = &t;
	s.census = wk.census;
	s.ncensus = wk.ncensus;
	for (int i = 0; i < wk.ncensus; i++)
		s.heap_bytes += wk.census[i].bytes;
	s.stats = wk.last_stats;
	err = pmw_advice_finish(acc, &wk, s.heap_bytes, o->show_values, adv, PMW_ADVICE_ROWS);
	if (err < 0)
		goto out;
	s.advice = adv;
	s.nadvice = err;
	err = holders(&t, &wk, h, adv, s.nadvice, acc);
	if (err < 0)
		goto out;
	s.holders = h;
	s.nholders = err;
	err = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	pmw_fmt_rfc3339(&now, s.time, sizeof(s.time));
	s.wall_s = pmw_now_s() - w0;
	s.cpu_s = pmw_cpu_s() - c0;
	snap_print(&s, o);
out:
	if (err)
		elog("snapshot: PID %d: %s\n", pid, walk_error(err));
	pmw_advice_free(acc);
	pmw_walk_free(&wk);
	pmw_target_close(&t);
	return err == -ESRCH || err == -ENOENT ? PMW_EXIT_TARGET : err ? PMW_EXIT_RUNTIME : 0;
}

static bool none_known(void *arg, pid_t pid)
{
	return false;
}

int pmw_snapshot_main(int argc, char **argv)
{
	struct snap_opts o = { .budget = 1.0, .top = 15 };
	int ret = parse(argc, argv, &o), worst = 0;

	if (ret)
		return ret;
	gethostname(o.host, sizeof(o.host) - 1);
	if (o.all) {
		struct pmw_discover d = { 0 };

		o.npids = pmw_discover_scan(&d, none_known, NULL, o.pids, SNAP_MAX_PIDS);
		pmw_discover_free(&d);
	}
	if (o.csv_advice) {
		o.csv = strcmp(o.csv_advice, "-") ? fopen(o.csv_advice, "w") : stdout;
		if (!o.csv) {
			elog("snapshot: cannot write --csv-advice %s: %s\n", o.csv_advice, strerror(errno));
			return PMW_EXIT_USAGE;
		}
		pmw_advice_csv_header(o.csv);
	}
	for (int i = 0; i < o.npids; i++) {
		if (i && !o.json)
			putchar('\n');
		ret = snap_one(o.pids[i], &o);
		if (ret && !o.all)
			worst = ret;
	}
	if (o.csv && o.csv != stdout && fclose(o.csv))
		worst = PMW_EXIT_RUNTIME;
	return worst;
}
