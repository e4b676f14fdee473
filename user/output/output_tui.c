// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The top-like live view on a terminal (ncurses), redrawn every interval. */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include "ops.h"
#include "summary.h"
#include "output_leaks.h"
#include "profile.h"
#include "util.h"

#define NOTES 4
#define TUI_LEAKS	3	/* leak rows per process */
#define TUI_SITES 5	/* allocation profile sites shown per PID */

struct tui {
	char notes[NOTES][160];
	int nnotes;
	/* -a: the ranking */
	enum pmw_rank_key key;		/* s: next key */
	int sel;			/* selected row (up/down) */
	int sel_pid;			/* PID drilled into (Enter), 0 = the ranking */
	int nrows;
	bool advice;			/* w: "where the memory goes" under each process */
};

static struct tui tui;

/*
 * Sparklines: the last SPARK_N live-heap and RSS values of each PID, in a
 * table of its own (keyed by PID, the oldest entry reused when full).
 * Unicode blocks on a UTF-8 locale, ASCII otherwise.
 */
#define SPARK_N		120
#define SPARK_PIDS	256

struct spark_ring {
	int pid;
	unsigned int n, head;		/* values kept, next slot */
	uint64_t seq;			/* last update, for reuse */
	uint64_t live[SPARK_N], rss[SPARK_N];
};

static struct spark_ring rings[SPARK_PIDS];
static uint64_t ring_seq;
static bool utf8;

static const char *const blocks_utf8[8] = { "\u2581", "\u2582", "\u2583", "\u2584",
					    "\u2585", "\u2586", "\u2587", "\u2588" };
static const char *const blocks_ascii[8] = { "_", "_", ".", ".", "-", "-", "=", "#" };

static struct spark_ring *ring_of(int pid, bool create)
{
	struct spark_ring *old = &rings[0];

	for (int i = 0; i < SPARK_PIDS; i++) {
		if (rings[i].pid == pid)
			return &rings[i];
		if (rings[i].seq < old->seq)
			old = &rings[i];
	}
	if (!create)
		return NULL;
	memset(old, 0, sizeof(*old));
	old->pid = pid;
	return old;
}

static void ring_add(const struct pmw_watch *w)
{
	struct spark_ring *r = ring_of(w->t.pid, true);

	r->live[r->head] = w->row.live_bytes;
	r->rss[r->head] = w->row.rss_bytes;
	r->head = (r->head + 1) % SPARK_N;
	if (r->n < SPARK_N)
		r->n++;
	r->seq = ++ring_seq;
}

/* The last @width values of @v (a ring of @r) as blocks into @buf; min and max out. */
static void spark_fmt(const struct spark_ring *r, const uint64_t *v, int width, char *buf,
		      size_t len, uint64_t *mn, uint64_t *mx)
{
	const char *const *b = utf8 ? blocks_utf8 : blocks_ascii;
	unsigned int n = r->n < (unsigned int)width ? r->n : (unsigned int)width;
	size_t off = 0;

	*mn = UINT64_MAX;
	*mx = 0;
	buf[0] = 0;
	for (unsigned int k = 0; k < n; k++) {
		uint64_t x = v[(r->head + SPARK_N - n + k) % SPARK_N];

		if (x < *mn)
			*mn = x;
		if (x > *mx)
			*mx = x;
	}
	for (unsigned int k = 0; k < n && off + 4 < len; k++) {
		uint64_t x = v[(r->head + SPARK_N - n + k) % SPARK_N];
		int lvl = *mx > *mn ? (int)((x - *mn) * 7 / (*mx - *mn)) : 3;

		off += snprintf(buf + off, len - off, "%s", b[lvl]);
	}
	if (!n)
		*mn = 0;
}

static const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.0fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.0fms", ns / 1e6);
	else
		snprintf(buf, len, "%.1fs", ns / 1e9);
	return buf;
}

/* One line: the pause histogram of a generation over log2 buckets, as bars. */
static void hist_fmt(const struct pmw_gcgen *g, char *buf, size_t len)
{
	const char *const *b = utf8 ? blocks_utf8 : blocks_ascii;
	int lo = -1, hi = -1;
	uint64_t mx = 0;
	char a[16], c[16];
	size_t off;

	for (int s = 0; s < PMW_HIST_SLOTS; s++) {
		if (!g->hist[s])
			continue;
		if (lo < 0)
			lo = s;
		hi = s;
		if (g->hist[s] > mx)
			mx = g->hist[s];
	}
	if (lo < 0) {
		snprintf(buf, len, "no pauses");
		return;
	}
	off = snprintf(buf, len, "%s |", fmt_ns(1ULL << lo, a, sizeof(a)));
	for (int s = lo; s <= hi && off + 8 < len; s++) {
		/* an empty bucket is a blank, any count at least the lowest bar */
		int lvl = g->hist[s] ? (int)((g->hist[s] * 8 - 1) / mx) : -1;

		off += snprintf(buf + off, len - off, "%s", lvl < 0 ? " " : b[lvl > 7 ? 7 : lvl]);
	}
	snprintf(buf + off, len - off, "| %s  (%llu pauses, log2 buckets)",
		 fmt_ns(2ULL << hi, c, sizeof(c)), (unsigned long long)g->collections);
}

static int tui_open(struct pmw_output *o, const char *arg)
{
	const char *cs;

	setlocale(LC_ALL, "");	/* ncursesw: multibyte output */
	cs = nl_langinfo(CODESET);
	utf8 = cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
	if (!initscr())
		return -1;
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	o->priv = &tui;
	mvprintw(0, 0, "pymemwatch %s: attaching...", PMW_VERSION);
	refresh();
	return 0;
}

static void tui_note(struct pmw_output *o, const char *msg)
{
	struct tui *t = o->priv;

	if (!t)
		return;
	if (t->nnotes == NOTES) {
		memmove(t->notes[0], t->notes[1], sizeof(t->notes[0]) * (NOTES - 1));
		t->nnotes--;
	}
	snprintf(t->notes[t->nnotes++], sizeof(t->notes[0]), "%s", msg);
}

static int draw_watches(struct pmw_output *o, struct pmw_watch **ws, int n);

/* -a: one line per process, ranked; returns 1 if it drew the screen */
static int draw_ranking(struct tui *t, struct pmw_watch **ws, int n, struct pmw_output *o)
{
	struct pmw_watch **r;
	char line[160], now[16];
	time_t tt = time(NULL);
	struct tm tm;

	if (t->sel_pid)
		return 0;
	r = malloc((n ? n : 1) * sizeof(*r));
	if (!r)
		return 0;
	memcpy(r, ws, n * sizeof(*r));
	pmw_rank(r, n, t->key);
	t->nrows = n;
	if (t->sel >= n)
		t->sel = n ? n - 1 : 0;
	localtime_r(&tt, &tm);
	strftime(now, sizeof(now), "%H:%M:%S", &tm);
	erase();
	attron(A_REVERSE);
	mvprintw(0, 0, "pymemwatch %s  %s  %d CPython process%s  sorted by %s   "
		 "s: sort  up/down, Enter: details  w: where the memory goes  q: quit%*s",
		 PMW_VERSION, now, n,
		 n == 1 ? "" : "es", pmw_rank_key_names[t->key], COLS, "");
	attroff(A_REVERSE);
	attron(A_UNDERLINE);
	mvprintw(2, 0, "%s", pmw_rank_header);
	attroff(A_UNDERLINE);
	for (int i = 0; i < n && 3 + i < LINES - 1 - t->nnotes; i++) {
		pmw_format_rank_line(line, sizeof(line), r[i]);
		if (i == t->sel) {
			attron(A_REVERSE);
			t->sel_pid = -r[i]->t.pid;	/* Enter drills into this one */
		}
		mvprintw(3 + i, 0, "%-*.*s", COLS - 1, COLS - 1, line);
		if (i == t->sel)
			attroff(A_REVERSE);
	}
	for (int i = 0; i < t->nnotes; i++)
		mvprintw(LINES - t->nnotes + i, 0, "%.*s", COLS - 1, t->notes[i]);
	refresh();
	free(r);
	(void)o;
	return 1;
}

static int tui_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	struct tui *t = o->priv;

	for (int i = 0; i < n; i++)
		ring_add(ws[i]);
	if (o->rank) {
		if (t->sel_pid < 0)
			t->sel_pid = 0;
		if (draw_ranking(t, ws, n, o))
			return 0;
		/* drilled into one PID: its full panel below */
		for (int i = 0; i < n; i++) {
			if (ws[i]->t.pid == t->sel_pid) {
				ws = &ws[i];
				n = 1;
				break;
			}
		}
		if (n != 1)
			t->sel_pid = 0;	/* it exited: back to the ranking */
	}
	return draw_watches(o, ws, n);
}

/* The leak table of @w (growing containers) from line @y, @max rows; returns the next line. */
static int tui_leaks(struct pmw_watch *w, int y, int max)
{
	struct pmw_leak_row rows[PMW_LEAKS_MAX];
	int nr = pmw_leak_rows(w, rows, max);
	char line[320];

	if (!nr || y >= LINES - 3)
		return y;
	attron(A_UNDERLINE);
	mvprintw(y++, 0, "  LEAKS %.*s", COLS - 9, pmw_leak_header);
	attroff(A_UNDERLINE);
	for (int k = 0; k < nr && y < LINES - 2; k++) {
		pmw_format_leak_row(line, sizeof(line), &rows[k]);
		mvprintw(y++, 0, "  %.*s", COLS - 3, line);
		pmw_format_leak_stack(line, sizeof(line), &rows[k]);
		if (line[0] && y < LINES - 2)
			mvprintw(y++, 0, "       %.*s", COLS - 8, line);
	}
	return y;
}

/* "Where the memory goes" (w): @w's last walk's advice from line @y; returns the next line. */
static int tui_advice(struct pmw_watch *w, int y)
{
	char a[16], b[16];

	if (y >= LINES - 3)
		return y;
	attron(A_UNDERLINE);
	mvprintw(y++, 0, "  WHERE THE MEMORY GOES %-19s %-34s %9s %9s  %s", "KIND", "SUBJECT", "BYTES",
		 "SAVING", "WHERE");
	attroff(A_UNDERLINE);
	if (!w->leaks.walk.walks || !w->leaks.nadv)
		mvprintw(y++, 0, "  %s", w->leaks.walk.walks ? "nothing worth a line in the last heap walk" :
			 "no heap walk yet (--walk-budget)");
	for (int k = 0; k < w->leaks.nadv && y < LINES - 2; k++) {
		const struct pmw_advice_row *r = &w->leaks.adv[k];

		mvprintw(y++, 0, "  %-19s %-34.34s %9s %9s  %.*s", r->kind, r->subject,
			 pmw_fmt_bytes(r->bytes, a, sizeof(a)), pmw_fmt_bytes(r->saving, b, sizeof(b)),
			 COLS > 80 ? COLS - 80 : 0, r->where);
	}
	return y;
}

/* The heap and RSS sparklines of @r's process from line @y; returns the next line. */
static int tui_sparks(const struct pmw_row *r, int y)
{
	const struct spark_ring *sr = ring_of(r->pid, false);
	int width = COLS - 40 < SPARK_N ? COLS - 40 : SPARK_N;
	char sp[SPARK_N * 4 + 8], a[16], b[16];
	uint64_t mn, mx;

	if (!sr || width < 10 || y >= LINES - 3)
		return y;
	spark_fmt(sr, sr->live, width, sp, sizeof(sp), &mn, &mx);
	mvprintw(y, 0, "  heap %7s ", pmw_fmt_bytes(mn, a, sizeof(a)));
	addstr(sp);
	printw(" %s", pmw_fmt_bytes(mx, b, sizeof(b)));
	y++;
	spark_fmt(sr, sr->rss, width, sp, sizeof(sp), &mn, &mx);
	mvprintw(y, 0, "  RSS  %7s ", pmw_fmt_bytes(mn, a, sizeof(a)));
	addstr(sp);
	printw(" %s  (last %u intervals)", pmw_fmt_bytes(mx, b, sizeof(b)), sr->n);
	return y + 1;
}

/* GC per generation of @w (this interval and in all), then its pause histograms. */
static int tui_gc(const struct pmw_watch *w, int y)
{
	const struct pmw_row *r = &w->row;

	attron(A_UNDERLINE);
	mvprintw(y++, 0, "  %-4s %6s %8s %10s %8s %9s %9s %9s %9s", "GEN", "COLL/i",
		 "TOTAL", "COLLECTED", "UNCOLL", "PAUSE ms", "p50 ms", "p99 ms", "max ms");
	attroff(A_UNDERLINE);
	for (int g = 0; g < PMW_NGEN && y < LINES - 1; g++) {
		const struct pmw_gcgen *tot = &w->gc_total[g];

		mvprintw(y++, 0, "  %-4d %6llu %8llu %10llu %8llu %9.2f %9.3f %9.3f %9.3f", g,
			 (unsigned long long)r->gc[g].collections,
			 (unsigned long long)tot->collections,
			 (unsigned long long)tot->collected,
			 (unsigned long long)tot->uncollectable, tot->pause_ns / 1e6,
			 pmw_hist_percentile(tot->hist, PMW_HIST_SLOTS, 50, tot->pause_max_ns) / 1e6,
			 pmw_hist_percentile(tot->hist, PMW_HIST_SLOTS, 99, tot->pause_max_ns) / 1e6,
			 tot->pause_max_ns / 1e6);
	}
	for (int g = 0; g < PMW_NGEN && y < LINES - 1; g++) {
		char h[PMW_HIST_SLOTS * 4 + 96];

		hist_fmt(&w->gc_total[g], h, sizeof(h));
		mvprintw(y, 0, "  gen%d pauses ", g);
		addstr(h);
		y++;
	}
	return y;
}

/* The panel of one process from line @y: leaks, sources, rates, sparklines, GC. */
static int tui_proc(struct pmw_watch *w, int y)
{
	const struct pmw_row *r = &w->row;
	char a[16], b[16], c[16], d[16], e[16], f[16];
	double s = r->interval_s > 0 ? r->interval_s : 1;
	int64_t growth = (int64_t)r->live_bytes - (int64_t)w->first_live;

	y++;
	attron(A_BOLD);
	mvprintw(y++, 0, "PID %d  %s  python %s  %s%s", r->pid, r->comm, r->python,
		 w->t.path, r->final ? "  [exited]" : "");
	attroff(A_BOLD);
	y = tui_leaks(w, y, TUI_LEAKS);	/* leaks first */
	mvprintw(y++, 0, "  gc=%s heap=%s counts=%s%s  leak score %.1f%s",
		 pmw_gc_source_name(w->gc_src),
		 !w->heap_ever ? "unavailable" : w->t.free_threaded ? "mimalloc" : "scan",
		 r->counts_na ? "unavailable" : r->exact ? "exact" : "estimate",
		 w->a.groups & PMW_G_LARGE ? " large=libc" : "",
		 w->leaks.ps.score, w->leaks.burst ? "  [sampling burst]" : "");
	mvprintw(y++, 0, "  alloc/s %-7s free/s %-7s live %-7s (%s%s since attach)  arena %-6s",
		 r->counts_na ? "n/a" : pmw_fmt_count(r->allocs / s, a, sizeof(a)),
		 r->counts_na ? "n/a" : pmw_fmt_count(r->frees / s, b, sizeof(b)),
		 pmw_fmt_bytes(r->live_bytes, c, sizeof(c)), growth < 0 ? "-" : "+",
		 pmw_fmt_bytes(growth < 0 ? -growth : growth, d, sizeof(d)),
		 pmw_fmt_bytes(r->arena_bytes, e, sizeof(e)));
	mvprintw(y++, 0, "  RSS %-7s anon %-7s large live %-7s dropped %llu",
		 pmw_fmt_bytes(r->rss_bytes, a, sizeof(a)),
		 pmw_fmt_bytes(r->anon_bytes, b, sizeof(b)),
		 pmw_fmt_bytes(r->large_live_bytes, f, sizeof(f)),
		 (unsigned long long)w->tot_dropped);
	y = tui_sparks(r, y);
	return tui_gc(w, y);
}

/* The types of @w that grew since attach, on line @y + 1; returns the line after. */
static int tui_types(struct pmw_watch *w, int y)
{
	struct pmw_census_type *ct[4];
	int nc = pmw_census_top(&w->leaks.census, ct, 4), x;
	char a[16];

	y++;
	mvprintw(y, 0, "  growing types:");
	x = 18;
	for (int k = 0; k < nc; k++) {
		int64_t g = (int64_t)ct[k]->bytes - (int64_t)ct[k]->first_bytes;

		if (g <= 0)
			break;
		mvprintw(y, x, "%.20s +%s ", pmw_census_name(&w->leaks.census, ct[k]->type),
			 pmw_fmt_bytes(g, a, sizeof(a)));
		x = getcurx(stdscr) + 1;
	}
	return y + 1;
}

/* The allocation profile's top sites of @w from line @y, above the notes of @t. */
static int tui_sites(const struct tui *t, struct pmw_watch *w, int y)
{
	struct pmw_site *top[TUI_SITES];
	int nt = pmw_sites_top(&w->leaks, top, TUI_SITES);
	char site[300], a[16];

	if (!nt)
		return y;
	attron(A_UNDERLINE);
	mvprintw(y++, 0, "  ALLOCATION PROFILE of PID %d (sampled %.1f s)", w->t.pid,
		 w->leaks.burst_s);
	mvprintw(y++, 0, "  #  %-40s %-30s %8s %9s", "SITE", "FUNCTION (TYPE)", "LIVE",
		 "SCORE");
	attroff(A_UNDERLINE);
	for (int k = 0; k < nt && y < LINES - 1 - (t ? t->nnotes : 0); k++) {
		const struct pmw_site *st = top[k];
		char fn[200];
		const char *file = st->nframes ? strrchr(st->frames[0].file, '/') : NULL;

		snprintf(site, sizeof(site), "%s:%d",
			 file ? file + 1 : st->nframes ? st->frames[0].file : "?",
			 st->nframes ? st->frames[0].line : 0);
		snprintf(fn, sizeof(fn), "%s (%s)", st->nframes ? st->frames[0].func : "?",
			 st->type[0] ? st->type : "?");
		mvprintw(y++, 0, "  %d. %-40.40s %-30.30s %8s %9.0f", k + 1, site, fn,
			 pmw_fmt_bytes(st->live_bytes, a, sizeof(a)), st->score);
	}
	return y;
}

static int draw_watches(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	struct tui *t = o->priv;
	char now[16];
	time_t tt = time(NULL);
	struct tm tm;
	int y = 0;

	localtime_r(&tt, &tm);
	strftime(now, sizeof(now), "%H:%M:%S", &tm);
	erase();
	attron(A_REVERSE);
	mvprintw(y++, 0, "pymemwatch %s  %s  %d process%s  interval %.2gs   w: where the memory "
		 "goes  q: quit%*s",
		 PMW_VERSION, now, n, n == 1 ? "" : "es", o->interval, COLS, "");
	attroff(A_REVERSE);
	for (int i = 0; i < n && y < LINES - 2; i++) {
		y = tui_proc(ws[i], y);
		if (t->advice)
			y = tui_advice(ws[i], y);
	}
	for (int i = 0; i < n && y < LINES - 3; i++) {
		y = tui_types(ws[i], y);
		y = tui_sites(t, ws[i], y);
	}
	for (int i = 0; t && i < t->nnotes; i++)
		mvprintw(LINES - t->nnotes + i, 0, "%.*s", COLS - 1, t->notes[i]);
	refresh();
	return 0;
}

static int tui_poll_keys(struct pmw_output *o)
{
	int ch;

	struct tui *t = o->priv;

	while ((ch = getch()) != ERR) {
		switch (ch) {
		case 'q': case 'Q':
			return 1;
		case 's':
			t->key = (t->key + 1) % PMW_RANK_NKEYS;
			break;
		case KEY_UP:
			if (t->sel > 0)
				t->sel--;
			break;
		case KEY_DOWN:
			if (t->sel + 1 < t->nrows)
				t->sel++;
			break;
		case 'w':	/* where the memory goes, for the selected process */
			t->advice = !t->advice;
			if (t->sel_pid < 0)
				t->sel_pid = -t->sel_pid;
			break;
		case '\n': case KEY_ENTER: case 'd':
			if (t->sel_pid < 0)
				t->sel_pid = -t->sel_pid;
			break;
		case 27: case KEY_BACKSPACE: case 'b':
			t->sel_pid = 0;
			t->advice = false;
			break;
		}
	}
	return 0;
}

static void tui_close(struct pmw_output *o)
{
	if (o->priv)
		endwin();
	o->priv = NULL;
}

const struct pmw_output_ops pmw_out_tui = {
	.name = "tui",
	.kind = PMW_OUT_SCREEN,
	.open = tui_open,
	.interval = tui_interval,
	.note = tui_note,
	.close = tui_close,
	.poll_keys = tui_poll_keys,
};
