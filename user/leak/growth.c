// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Growth sites from hardware write watchpoints (growth.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "containers.h"
#include "growth.h"
#include "log.h"
#include "mem.h"
#include "pycoro.h"
#include "pyobj.h"
#include "pyver.h"
#include "target.h"
#include "util.h"

static struct bpf_program *hit_prog;	/* pmw_growth_hit, NULL: off */
static int armed_now;			/* watches armed, all targets */

int pmw_growth_setup(struct bpf_program *prog)
{
	hit_prog = prog;
	return 0;
}

/* The length field of a container of kind @kind at @addr (pyver.h; sources there), 0 none;
 * @t free-threaded: its object head is ob_shift bytes longer. */
static uint64_t len_field(const struct pmw_target *t, uint64_t addr, uint8_t kind)
{
	addr += t->ft ? t->ft->ob_shift : 0;
	switch (kind) {
	case PMW_CK_LIST:
	case PMW_CK_DEQUE:
		return addr + PMW_OB_SIZE;	/* PyVarObject.ob_size */
	case PMW_CK_DICT:
		return addr + PMW_MA_USED;	/* PyDictObject.ma_used */
	case PMW_CK_SET:
		return addr + PMW_SET_USED;	/* PySetObject.used */
	default:
		return 0;
	}
}

static struct pmw_growth *find(const struct pmw_growths *gs, uint64_t addr)
{
	return bsearch(&addr, gs->g, gs->n, sizeof(*gs->g), pmw_cmp_u64);
}

const struct pmw_growth *pmw_growth_find(const struct pmw_growths *gs, uint64_t addr)
{
	return gs ? find(gs, addr) : NULL;
}

static struct pmw_growth *find_by_field(const struct pmw_growths *gs, uint64_t field)
{
	for (int i = 0; i < gs->n; i++)
		if (gs->g[i].field == field && gs->g[i].armed_at)
			return &gs->g[i];
	for (int i = 0; i < gs->n; i++)
		if (gs->g[i].field == field)
			return &gs->g[i];
	return NULL;
}

static struct pmw_growth *get(struct pmw_growths *gs, uint64_t addr)
{
	struct pmw_growth *g = find(gs, addr);
	int at = 0;

	if (g)
		return g;
	if (pmw_grow((void **)&gs->g, &gs->cap, gs->n + 1, sizeof(*gs->g)))
		return NULL;
	while (at < gs->n && gs->g[at].addr < addr)
		at++;
	memmove(&gs->g[at + 1], &gs->g[at], (gs->n - at) * sizeof(*gs->g));
	gs->n++;
	g = &gs->g[at];
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	return g;
}

static void disarm(struct pmw_growth *g)
{
	for (int i = 0; i < g->nlinks; i++)
		bpf_link__destroy(g->links[i]);	/* closes its perf event (libbpf owns it) */
	free(g->links);
	g->links = NULL;
	if (g->armed_at)
		armed_now--;
	g->nlinks = 0;
	g->armed_at = 0;
}

/* One CPU's watchpoint on @field, the program attached, armed for K hits; -errno. */
static int arm_cpu(struct pmw_growth *g, int cpu)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(a),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = g->field,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.sample_period = 1,
		.disabled = 1,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	LIBBPF_OPTS(bpf_perf_event_opts, o, .bpf_cookie = g->field);
	struct bpf_link *l;
	int fd, err;

	fd = syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l = bpf_program__attach_perf_event_opts(hit_prog, fd, &o);
	if (!l) {
		err = -errno;
		close(fd);
		return err;
	}
	g->links[g->nlinks++] = l;
	/* the kernel disables the event after K hits of the target (the program returns 1) */
	if (ioctl(fd, PERF_EVENT_IOC_REFRESH, PMW_GROWTH_HITS))
		return -errno;
	return 0;
}

/* Arm @g on every CPU, all or none; 0 or -errno (its reason set). */
static int arm(struct pmw_growth *g, const struct pmw_target *t, uint64_t len, double now)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;

	g->last_arm = now;
	if (ncpu <= 0)
		return -EINVAL;
	/* the length now, not at the last walk: a later shrink is no growth */
	pmw_mem_read(t->pid, g->field, &len, sizeof(len));
	g->links = calloc(ncpu, sizeof(*g->links));
	if (!g->links)
		return -ENOMEM;
	for (int c = 0; c < ncpu && !err; c++) {
		err = arm_cpu(g, c);
		if (err == -ENODEV || err == -ENXIO || err == -EINVAL)
			err = 0;	/* an offline CPU */
	}
	armed_now++;
	g->armed_at = now;
	if (err || !g->nlinks) {
		err = err ?: -ENODEV;
		disarm(g);
		snprintf(g->reason, sizeof(g->reason), "%s",
			 err == -ENOSPC || err == -EBUSY ?
			 "no free hardware watchpoint (debug registers taken by a debugger or perf)" :
			 err == -EACCES || err == -EPERM ? "perf_event_open not permitted" :
			 "hardware watchpoints unavailable");
		vlog("PID %d: cannot watch container 0x%llx: %s (%s)\n", t->pid,
		     (unsigned long long)g->addr, g->reason, strerror(-err));
		return err;
	}
	g->arms++;
	g->arm_hits = 0;
	g->last_len = len;
	dlog("PID %d: watching container 0x%llx (field 0x%llx, length %llu) on %d CPUs\n", t->pid,
	     (unsigned long long)g->addr, (unsigned long long)g->field, (unsigned long long)len,
	     g->nlinks);
	return 0;
}

/* Should @g be watched now? */
static bool due(const struct pmw_growth *g, double now)
{
	if (g->armed_at)
		return false;
	if (!g->last_arm)
		return true;
	return now - g->last_arm >= (g->nstacks ? PMW_GROWTH_REARM_S : PMW_GROWTH_RETRY_S);
}

/* Forget the records of containers no longer followed (freed, or out of the tables). */
static void prune(struct pmw_growths *gs, struct pmw_containers *cs)
{
	int k = 0;

	for (int i = 0; i < gs->n; i++) {
		struct pmw_growth *g = &gs->g[i];

		if (!g->armed_at && !pmw_containers_find(cs, g->addr)) {
			for (int s = 0; s < g->nstacks; s++)
				free(g->stacks[s].frames);
			continue;
		}
		gs->g[k++] = *g;
	}
	gs->n = k;
}

void pmw_growth_step(struct pmw_growths *gs, struct pmw_containers *cs, struct pmw_ctrack **top,
		     int n, const struct pmw_target *t, const char *nostack, double now)
{
	for (int i = 0; i < gs->n; i++) {
		struct pmw_growth *g = &gs->g[i];
		struct pmw_ctrack *tr;

		if (!g->armed_at)
			continue;
		tr = pmw_containers_find(cs, g->addr);
		if (now - g->armed_at >= PMW_GROWTH_ARM_S || g->arm_hits >= PMW_GROWTH_HITS ||
		    !tr || tr->score <= 0)
			disarm(g);
	}
	prune(gs, cs);
	for (int k = 0; k < n && hit_prog; k++) {
		struct pmw_growth *g = get(gs, top[k]->addr);

		if (!g)
			return;
		if (nostack) {
			snprintf(g->reason, sizeof(g->reason), "%s", nostack);
			if (!gs->said)
				vlog("PID %d: no growth sites: %s\n", t->pid, g->reason);
			gs->said = true;
			continue;
		}
		g->field = len_field(t, top[k]->addr, top[k]->kind);
		g->kind = top[k]->kind;
		if (!g->field || !due(g, now) || armed_now >= PMW_GROWTH_SLOTS)
			continue;
		arm(g, t, top[k]->n ? (uint64_t)top[k]->len[top[k]->n - 1] : 0, now);
	}
}

/* Innermost frame of @fr that is the application's own code, -1 none. */
static int app_frame(const struct pmw_target *t, const struct pmw_frame *fr, int n)
{
	char lib[32], lib64[32];

	snprintf(lib, sizeof(lib), "/lib/python%d.%d", t->pv->major, t->pv->minor);
	snprintf(lib64, sizeof(lib64), "/lib64/python%d.%d", t->pv->major, t->pv->minor);
	for (int i = 0; i < n; i++) {
		const char *f = fr[i].file;

		if (f[0] == '<' || strstr(f, "/site-packages/") || strstr(f, "/dist-packages/") ||
		    strstr(f, lib) || strstr(f, lib64))
			continue;
		return i;
	}
	return -1;
}

static uint64_t frames_key(const struct pmw_frame *f, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < n; i++) {
		for (const char *p = f[i].file; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		for (const char *p = f[i].func; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		h = (h ^ (uint64_t)f[i].line) * 0x100000001b3ULL;
	}
	return h ^ (uint64_t)n;
}

/* Count one growing write with frames @fr into @g's stacks (most hits first). */
static int count_stack(struct pmw_growth *g, struct pmw_frame *fr, int n, int app)
{
	uint64_t key = frames_key(fr, n);
	int i;

	for (i = 0; i < g->nstacks && g->stacks[i].key != key; i++)
		;
	if (i == g->nstacks) {
		if (g->nstacks == PMW_GROWTH_STACKS)
			return 0;	/* counted in grows only */
		g->stacks[i].frames = malloc(n * sizeof(*fr));
		if (!g->stacks[i].frames)
			return -ENOMEM;
		memcpy(g->stacks[i].frames, fr, n * sizeof(*fr));
		g->stacks[i].nframes = n;
		g->stacks[i].key = key;
		g->stacks[i].app = app;
		g->stacks[i].hits = 0;
		g->nstacks++;
	}
	g->stacks[i].hits++;
	for (; i > 0 && g->stacks[i].hits > g->stacks[i - 1].hits; i--) {
		struct pmw_gstack tmp = g->stacks[i];

		g->stacks[i] = g->stacks[i - 1];
		g->stacks[i - 1] = tmp;
	}
	return 0;
}

/*
 * Frames of the standard library (or a library) that run other code's callbacks: a write
 * below one of them with no application frame in between was not asked for by the
 * application frame outside it, which only started the loop (`asyncio.run(main())`).
 * Matched on co_qualname (3.11+), or on its last part for co_name (<= 3.10).
 */
static const char *const dispatchers[] = {
	"Handle._run", "BaseEventLoop._run_once", "BaseEventLoop.run_forever",	/* asyncio */
	"BaseEventLoop.run_until_complete", "Runner.run",
	"_WorkItem.run", "_worker",				/* concurrent.futures */
	"BaseServer.serve_forever", "BaseServer._handle_request_noblock", /* socketserver */
	"Thread.run",						/* threading, a C target */
	"Misc.mainloop", "scheduler.run",			/* tkinter, sched */
};

static bool dispatcher(const char *func)
{
	for (size_t i = 0; i < ARRAY_SIZE(dispatchers); i++) {
		const char *d = dispatchers[i], *last = strrchr(d, '.');

		if (!strcmp(func, d) || (!strchr(func, '.') && last && !strcmp(func, last + 1)))
			return true;
	}
	return false;
}

/* The innermost dispatcher frame between the write (@fr[0]) and the application frame
 * @app (the one that stepped the task: Handle._run, not asyncio.run), -1 none. */
static int dispatched(const struct pmw_frame *fr, int app)
{
	for (int i = 0; i < app; i++)
		if (dispatcher(fr[i].func))
			return i;
	return -1;
}

/*
 * The frames a task waits in, from the newest item of list @g: a task that awaits a future
 * adds (its wakeup method, context) to the future's callbacks list from C (Modules/
 * _asynciomodule.c future_add_done_callback, called by the task's step), so the item leads
 * to the task and its coroutine (pycoro.h). @len: the list's length after the write.
 * Resolved into @out, innermost first; count, 0 none.
 */
static int waiting_frames(struct pmw_growths *gs, const struct pmw_target *t,
			  const struct pmw_growth *g, uint64_t len, struct pmw_frame *out, int max)
{
	uint64_t items = 0, item = 0, code[PMW_CORO_CHAIN], instr[PMW_CORO_CHAIN], reads;
	struct pmw_pyr *r = gs->pyr;
	int64_t size = 0;
	int n = 0, k = 0;
	double t0 = pmw_now_s();

	if (g->kind != PMW_CK_LIST)
		return 0;
	if (!r) {	/* kept across lookups: the types met (tuple, Task, coroutine) stay cached */
		if (!(r = calloc(1, sizeof(*r))) || pmw_pyr_init(r, t, 0, 256)) {
			free(r);
			return 0;
		}
		gs->pyr = r;
	}
	r->t = t;	/* the session's array of targets may have moved since */
	reads = r->reads;
	r->budget = reads + 2048;
	if (!pmw_pyr_read(r, g->addr + PMW_OB_SIZE, &size, 8) && size > 0 && size < (1LL << 40) &&
	    !pmw_pyr_read(r, g->addr + PMW_LIST_ITEMS, &items, 8) && pmw_pyptr_ok(items)) {
		uint64_t at = len && len <= (uint64_t)size ? len - 1 : (uint64_t)size - 1;

		if (!pmw_pyr_read(r, items + at * 8, &item, 8) && pmw_pyptr_ok(item))
			n = pmw_coro_frames(r, item, code, instr, PMW_CORO_CHAIN);
	}
	for (int i = 0; i < n && k < max; i++)
		if (!pmw_frame_resolve(t, gs->cc, code[i], instr[i], &out[k]))
			k++;
	dlog("PID %d: container 0x%llx: %d coroutine frame(s) from its newest item, %llu reads, "
	     "%.0f us\n", t->pid, (unsigned long long)g->addr, k,
	     (unsigned long long)(r->reads - reads), (pmw_now_s() - t0) * 1e6);
	return k;
}

/*
 * The stack of a growing write @fr[0..n) whose only application frames (@app, -1 none)
 * are outside a dispatcher (@d): the waiting coroutine's frames, if found, go in after the
 * dispatcher (the task it stepped), and the site is the innermost application frame among
 * them; else the stack has no site (PMW_GSTACK_NO_SITE) and @g's reason says why (a
 * library line below a dispatcher is no better a site than the entry line).
 * Returns the new frame count in @fr (room for PMW_CORO_CHAIN more), sets @app.
 */
static int async_stack(struct pmw_growths *gs, const struct pmw_target *t, struct pmw_growth *g,
		       uint64_t len, struct pmw_frame *fr, int n, int d, int *app)
{
	struct pmw_frame co[PMW_CORO_CHAIN];
	int k = waiting_frames(gs, t, g, len, co, PMW_CORO_CHAIN), a = app_frame(t, co, k);

	if (a < 0) {
		*app = PMW_GSTACK_NO_SITE;
		snprintf(g->reason, sizeof(g->reason), "written below %.50s:%d (%.30s), called from no "
			 "application line; no waiting task found", fr[d].file,
			 fr[d].line, fr[d].func);
		if (!g->said_async)
			vlog("PID %d: container 0x%llx: no site: %s\n", t->pid,
			     (unsigned long long)g->addr, g->reason);
		g->said_async = true;
		return n;
	}
	memmove(&fr[d + 1 + k], &fr[d + 1], (n - d - 1) * sizeof(*fr));
	memcpy(&fr[d + 1], co, k * sizeof(*fr));
	*app = d + 1 + a;
	return n + k;
}

int pmw_growth_hit(struct pmw_growths *gs, const struct pmw_target *t,
		   const struct pmw_growth_event *ev)
{
	struct pmw_growth *g = find_by_field(gs, ev->watch);
	struct pmw_frame fr[PMW_MAX_DEPTH + PMW_CORO_CHAIN];
	bool grew;
	int n = 0, app, d;

	if (!g)
		return 0;
	g->hits++;
	g->arm_hits++;
	grew = ev->value != ~0ULL && ev->value > g->last_len && ev->value < (1ULL << 40);
	if (ev->value != ~0ULL)
		g->last_len = ev->value;
	if (!grew)
		return 0;
	g->grows++;
	if (ev->depth < 0) {
		snprintf(g->reason, sizeof(g->reason), "%s", t->free_threaded ?
			 "free-threaded: the writer's thread state not found below its thread pointer" :
			 "the writer's thread state was not readable");
		return 0;
	}
	if (!gs->cc && !(gs->cc = pmw_code_cache_new()))
		return -ENOMEM;
	for (int i = 0; i < ev->depth && i < PMW_MAX_DEPTH; i++)
		if (!pmw_frame_resolve(t, gs->cc, ev->stack.code[i], ev->stack.instr[i], &fr[n]))
			n++;
	if (!n) {
		snprintf(g->reason, sizeof(g->reason), "no Python frame on the writing thread");
		return 0;
	}
	app = app_frame(t, fr, n);
	/* also with no application frame at all (a loop run by a standard-library thread) */
	if (app && (d = dispatched(fr, app > 0 ? app : n)) >= 0)
		n = async_stack(gs, t, g, ev->value, fr, n, d, &app);
	if (app != PMW_GSTACK_NO_SITE)
		g->reason[0] = 0;
	return count_stack(g, fr, n, app);
}

static void frame_str(const struct pmw_frame *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d", f->file, f->line);
}

const struct pmw_gstack *pmw_growth_site(const struct pmw_growth *g, char *site, size_t slen,
					 char *inner, size_t ilen)
{
	const struct pmw_gstack *s = NULL;

	site[0] = inner[0] = 0;
	/* the most frequent stack that has a site (one written from an event loop may not) */
	for (int i = 0; g && i < g->nstacks && !s; i++)
		if (g->stacks[i].app != PMW_GSTACK_NO_SITE)
			s = &g->stacks[i];
	if (!s) {
		if (g && g->nstacks)
			frame_str(&g->stacks[0].frames[0], inner, ilen);
		return NULL;
	}
	frame_str(&s->frames[s->app >= 0 ? s->app : 0], site, slen);
	frame_str(&s->frames[0], inner, ilen);
	return s;
}

void pmw_growth_stop(struct pmw_growths *gs)
{
	for (int i = 0; i < gs->n; i++)
		disarm(&gs->g[i]);
}

void pmw_growth_free(struct pmw_growths *gs)
{
	for (int i = 0; i < gs->n; i++) {
		disarm(&gs->g[i]);
		for (int k = 0; k < gs->g[i].nstacks; k++)
			free(gs->g[i].stacks[k].frames);
	}
	free(gs->g);
	pmw_code_cache_free(gs->cc);
	if (gs->pyr)
		pmw_pyr_free(gs->pyr);
	free(gs->pyr);
	memset(gs, 0, sizeof(*gs));
}
