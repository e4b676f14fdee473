// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The targets of one run (session.h): resolve, load and attach, discover
 * and follow, exec detection, and the tick that closes each interval.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "burst.h"
#include "log.h"
#include "probes.h"
#include "pymemwatch.skel.h"
#include "pyver.h"
#include "session.h"
#include "profile.h"
#include "pipeline.h"
#include "util.h"

static void note(struct pmw_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct pmw_session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!pmw_outputs_note(&s->out, msg))
		fprintf(stderr, "pymemwatch: %s\n", msg);
}

void pmw_session_init(struct pmw_session *s)
{
	memset(s, 0, sizeof(*s));
	s->cmd.sync_fd = -1;
	s->stats_fd = -1;
	s->scan_min_age = -1;	/* scans unpaced until their cost is known */
	gethostname(s->host, sizeof(s->host) - 1);
	pmw_watch_set_scan_hook(&pmw_leak_scan_hook);	/* the type census reads each heap scan */
}

static struct pmw_watch *watch_by_pid(struct pmw_session *s, int pid)
{
	for (int i = 0; i < s->nws; i++)
		if (s->ws[i].t.pid == pid && !s->ws[i].exited)
			return &s->ws[i];
	return NULL;
}

/* One hit of a growth-site watchpoint (growth.c). */
static int on_growth_event(void *ctx, void *data, size_t size)
{
	struct pmw_session *s = ctx;
	const struct pmw_growth_event *ev = data;
	struct pmw_watch *w;

	if (size < sizeof(*ev))
		return 0;
	w = watch_by_pid(s, ev->pid);
	if (!w || w->exited)
		return 0;
	if (ev->tls_off && w->cfg.walk.tstate_kind == PMW_TSTATE_TLS && !w->cfg.walk.tstate_off) {
		/* found by this hit: later hits read the thread state at once */
		w->cfg.walk.tstate_off = ev->tls_off;
		if (pmw_watch_write_cfg(w, bpf_map__fd(s->skel->maps.pmw_targets), false))
			w->cfg.walk.tstate_off = 0;
		else
			vlog("PID %d: free-threaded: a thread's state is %u bytes below its thread "
			     "pointer (_Py_tss_tstate), found by a watchpoint hit\n", w->t.pid,
			     ev->tls_off);
	}
	pmw_growth_hit(&w->leaks.growth, &w->t, ev);
	return 0;
}

static int on_gc_event(void *ctx, void *data, size_t size)
{
	struct pmw_session *s = ctx;
	const struct pmw_gc_event *ev = data;
	struct pmw_watch *w;

	if (size < sizeof(*ev))
		return 0;
	w = watch_by_pid(s, ev->pid);
	if (w)
		pmw_watch_gc_event(w, ev);
	return 0;
}

int pmw_session_resolve(struct pmw_session *s)
{
	char why[PATH_MAX + 200];
	int err;

	s->nws = env.command ? 1 : env.npids;
	if (env.all)
		return 0;	/* found as they come: discover_targets() */
	s->ws = calloc(s->nws, sizeof(*s->ws));
	s->cap_ws = s->nws;
	if (!s->ws)
		return PMW_EXIT_RUNTIME;
	if (env.command) {
		err = pmw_command_start(&s->cmd, env.command);
		if (err)
			return err;
		err = pmw_target_open_exec(&s->ws[0].t, s->cmd.exe, s->cmd.pid);
		if (err == -ENOEXEC && env.follow) {
			/* a shell or launcher: its Python descendants (or itself, after an exec) */
			s->nws = 0;
			return 0;
		}
		if (err) {
			elog("'%s': %s%s\n", s->cmd.exe, pmw_target_error(err), err == -ENOEXEC ?
			     "; add --follow to watch the Python processes it starts" : "");
			return PMW_EXIT_TARGET;
		}
		return 0;
	}
	for (int i = 0; i < env.npids; i++) {
		err = pmw_target_open_pid(&s->ws[i].t, env.pids[i]);
		if (err && err != -ESRCH && !pmw_pid_alive(env.pids[i])) {
			elog("PID %d: exited while attaching\n", env.pids[i]);
			return PMW_EXIT_TARGET;
		}
		if (err) {
			elog("PID %d: %s\n", env.pids[i], pmw_target_error(err));
			return PMW_EXIT_TARGET;
		}
		s->ws[i].exec_id_ok = !pmw_exec_id_read(env.pids[i], &s->ws[i].exec_id);
		/* 3.8-3.11 keep the arena table in file-static variables: symbols or symfind.c */
		if (env.mode != PMW_MODE_GC && !pmw_target_heap_found(&s->ws[i].t, why, sizeof(why))) {
			elog("PID %d: %s, or use --mode gc\n", env.pids[i], why);
			return PMW_EXIT_TARGET;
		}
	}
	return 0;
}

static unsigned int wanted_groups(const struct pmw_target *t)
{
	unsigned int g = env.mode == PMW_MODE_FULL ? PMW_G_HEAP : 0;

	if (t->has_usdt)
		g |= PMW_G_GC_USDT;
	if (t->has_symtab || !t->has_usdt)
		g |= PMW_G_GC_UPROBE;	/* attached only if USDT fails */
	if (!t->bias_known)
		g |= PMW_G_START;
	if (env.exact && !t->lto_inlined)
		g |= PMW_G_EXACT;
	if (env.large && t->libc_path[0])
		g |= PMW_G_LARGE;
	return g;
}

/*
 * The target's BPF entries: counters and state zeroed (BPF writes them from
 * now on), then its configuration, last: its presence lets the probes in.
 */
static int setup_target_maps(struct pmw_session *s, struct pmw_watch *w)
{
	const struct pmw_target *t = &w->t;
	struct pmw_target_state st = { 0 };
	int ncpu = libbpf_num_possible_cpus();
	struct pmw_counters *zero = calloc(ncpu > 0 ? ncpu : 1, sizeof(*zero));
	__u32 key = t->pid;
	int err = 0;

	if (!zero)
		return -ENOMEM;
	w->cfg = (struct pmw_target_cfg){
		.runtime_addr = t->bias_known ? t->runtime_vaddr + t->bias : 0,
		.interp_main_off = t->pv->interp_main,
		.gc_stats_off = t->pv->gc_stats,
		.gc_stats_in_runtime = t->pv->gc_stats_in_runtime,
		.walk = t->pv->walk,
		.gc_layout = t->pv->gc_layout,
	};
	w->cfg.walk.depth = env.stack_depth;
	if (t->free_threaded) {
		/* no GIL holder: the writer's thread-local thread state, whose place below the
		 * thread pointer a watchpoint hit finds first (tstate_off 0: not yet) */
		w->cfg.walk.tstate_kind = t->ft->tstate_thread_id ? PMW_TSTATE_TLS : 0;
		w->cfg.walk.tstate_off = 0;
		w->cfg.walk.tls_thread_id = t->ft->tstate_thread_id;
	}
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.pmw_counts), &key, zero, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(s->skel->maps.pmw_state), &key, &st, BPF_ANY))
		err = -errno;
	if (!err)
		err = pmw_watch_write_cfg(w, bpf_map__fd(s->skel->maps.pmw_targets), true);
	free(zero);
	return err;
}

/* Once userspace knows the load address, give it to BPF (which may have learned it too). */
static void sync_runtime_addr(struct pmw_session *s, struct pmw_watch *w)
{
	if (!w->t.bias_known || w->cfg.runtime_addr)
		return;
	w->cfg.runtime_addr = w->t.runtime_vaddr + w->t.bias;
	pmw_watch_write_cfg(w, bpf_map__fd(s->skel->maps.pmw_targets), false);
}

/* An earlier target with the same interpreter image (device, inode), or NULL. */
static struct pmw_watch *same_image(struct pmw_session *s, struct pmw_watch *w)
{
	for (struct pmw_watch *o = s->ws; o < w; o++)
		if (o->t.elf.dev == w->t.elf.dev && o->t.elf.ino == w->t.elf.ino)
			return o;
	return NULL;
}

/* Attach @w's probes and name what it got. Returns 0, or -ESRCH if it exited meanwhile. */
static int attach_target(struct pmw_session *s, struct pmw_watch *w)
{
	struct pmw_target *t = &w->t;
	struct pmw_watch *twin = same_image(s, w);
	unsigned int want = wanted_groups(t);
	char what[256];

	if (want & PMW_G_GC_USDT)
		want &= ~PMW_G_GC_UPROBE;
	if (twin) {
		/* its GC probes serve every process of this image */
		want &= ~PMW_G_SHARED;
		w->gc_src = twin->gc_src;
	}
	pmw_probes_attach(s->skel, t, want & PMW_G_SHARED, &w->a);
	pmw_probes_attach(s->skel, t, want & ~PMW_G_SHARED, &w->pid_a);
	w->a.groups |= w->pid_a.groups;
	if (!twin && (wanted_groups(t) & PMW_G_GC_USDT) && !(w->a.groups & PMW_G_GC_USDT) &&
	    (wanted_groups(t) & PMW_G_GC_UPROBE)) {
		vlog("PID %d: USDT gc probes failed, trying the collection function\n", t->pid);
		pmw_probes_attach(s->skel, t, PMW_G_GC_UPROBE, &w->a);
	}
	if (!twin)
		w->gc_src = w->a.groups & PMW_G_GC_USDT ? PMW_GC_USDT :
			    w->a.groups & PMW_G_GC_UPROBE ? PMW_GC_UPROBE : PMW_GC_MEMORY;
	w->exact = !!(w->a.groups & PMW_G_EXACT);
	w->scan_heap = env.mode != PMW_MODE_GC;
	if (!s->cmd.pid && !pmw_pid_alive(t->pid))
		return -ESRCH;	/* what failed, failed for that: no warnings */
	if (env.exact && !w->exact)
		wlog("PID %d: --exact is not available for %s (%s): reporting estimates\n", t->pid,
		     t->path, t->lto_inlined ? "LTO build with pymalloc inlined into its callers"
					     : "allocator functions not found");
	if (w->exact) {
		uint64_t fn[5];
		struct pmw_sym sym;

		/* free-threaded builds allocate objects with mimalloc (Objects/obmalloc.c) */
		if (!pmw_target_obj_allocator(t, fn) &&
		    !pmw_elf_find_symbol(&t->elf, t->free_threaded ? "_PyObject_MiMalloc" :
					 "_PyObject_Malloc", &sym) && fn[1] != sym.addr)
			wlog("PID %d: the object allocator is hooked (tracemalloc or PYTHONMALLOC): "
			     "counting its calls, not pymalloc's\n", t->pid);
	}
	if (env.mode == PMW_MODE_FULL && !(w->a.groups & PMW_G_HEAP))
		wlog("PID %d: pymalloc's pool refill (allocate_from_new_pool) not found in %s%s: "
		     "no allocation estimates and no leak attribution, growth only\n", t->pid, t->path,
		     t->has_symtab ? "" : " (stripped: install its debug symbols, Debian: pythonX.Y-dbg)");
	if (w->gc_src == PMW_GC_MEMORY)
		wlog("PID %d: no GC probe attached: collections read from target memory, no pauses\n",
		     t->pid);
	snprintf(what, sizeof(what), "gc=%s, heap=%s, counts=%s%s", pmw_gc_source_name(w->gc_src),
		 !w->scan_heap ? "off" : t->free_threaded ? "mimalloc" :
		 t->pv->obm_kind != PMW_OBM_STATIC || t->arenas_vaddr ? "scan" : "none",
		 w->exact ? "exact" : t->free_threaded || !(w->a.groups & PMW_G_HEAP) ? "unavailable" :
		 t->sf.pool_refill.check == PMW_CHECK_PENDING ? "estimate once checked" : "estimate",
		 w->a.groups & PMW_G_LARGE ? ", large=libc" : "");
	note(s, "attached to PID %d (%s, python %s, %s): %s", t->pid, t->comm, t->version, t->path,
	     what);
	if (t->free_threaded)	/* what differs without a GIL: doc/builds.md "Free-threaded CPython" */
		note(s, "PID %d: free-threaded build: live heap from mimalloc's heaps (blocks in use "
		     "x block size), allocs/frees %s, walks of its object heaps (growth sites; "
		     "no holder names, no sampled call sites)", t->pid,
		     w->exact ? "counted at every object allocator call" :
				"unavailable (use --exact)");
	return 0;
}

static bool known_pid(void *arg, pid_t pid)
{
	return watch_by_pid(arg, pid) != NULL;
}

/*
 * s->ws moved from @old: a target's own layout (t->pv = &t->pv_own, 3.13+
 * _Py_DebugOffsets: target.c) follows it (it pointed into the freed array:
 * a crash under -a once a 3.13 whose offsets differ was taken on before others).
 */
static void ws_moved(struct pmw_session *s, uintptr_t old)
{
	size_t off = offsetof(struct pmw_watch, t) + offsetof(struct pmw_target, pv_own);

	if (old == (uintptr_t)s->ws)
		return;
	for (int i = 0; i < s->nws; i++)
		if ((uintptr_t)s->ws[i].t.pv == old + i * sizeof(*s->ws) + off)
			s->ws[i].t.pv = &s->ws[i].t.pv_own;
}

/*
 * An attach while running (opening the image and process @c0..@c1, BPF maps
 * and probes ..@c2, first heap scan ..now, thread CPU seconds) is paid from
 * the walk budget.
 */
static void attach_charge(struct pmw_session *s, const struct pmw_watch *w, double c0, double c1,
			  double c2)
{
	double c3 = pmw_cpu_s();

	s->attach_cpu_s += c3 - c0;
	s->attaches++;
	if (s->walks.share > 0 && s->walks.last)	/* not the attaches before the first interval */
		s->walks.credit -= c3 - c0;
	vlog("PID %d: attach took %.1f ms CPU (target %.1f, probes %.1f, first scan %.1f); "
	     "%u attaches while running, %.1f ms CPU each on average\n", w->t.pid, (c3 - c0) * 1e3,
	     (c1 - c0) * 1e3, (c2 - c1) * 1e3, (c3 - c2) * 1e3, s->attaches,
	     s->attach_cpu_s * 1e3 / s->attaches);
}

/*
 * Take on CPython process @pid while running (-a, --follow, or a target that
 * exec'd another Python). @parent names why, in a note before the attach
 * line: 0 = found by -a, @pid itself = it exec'd, else the parent it was
 * forked from. One that cannot be resolved (an unsupported version, a race
 * with its exit) is noted once with -v and not offered again until it execs.
 * s->ws may move. Returns 0 or -errno.
 */
static int add_target(struct pmw_session *s, pid_t pid, pid_t parent)
{
	char why[PATH_MAX + 200];
	struct pmw_watch *w;
	double c0 = pmw_cpu_s(), c1, c2;
	uintptr_t old;
	int err;

	if (s->nws == PMW_MAX_TARGETS) {
		if (pmw_discover_first_note(&s->disc, 0))
			wlog("more than %d CPython processes: the others are not watched\n",
			     PMW_MAX_TARGETS);
		return -E2BIG;
	}
	old = (uintptr_t)s->ws;
	if (pmw_grow((void **)&s->ws, &s->cap_ws, s->nws + 1, sizeof(*s->ws)))
		return -ENOMEM;
	ws_moved(s, old);
	w = &s->ws[s->nws];
	memset(w, 0, sizeof(*w));
	err = pmw_target_open_pid(&w->t, pid);
	if (!err && env.mode != PMW_MODE_GC && !pmw_target_heap_found(&w->t, why, sizeof(why)))
		wlog("PID %d (%s): %s; GC only\n", w->t.pid, w->t.comm, why);
	if (!err)
		err = setup_target_maps(s, w);
	if (err) {
		vlog("PID %d: not watched: %s\n", pid, pmw_target_error(err));
		pmw_target_close(&w->t);
		pmw_discover_reject(&s->disc, pid);
		return err;
	}
	c1 = pmw_cpu_s();
	w->exec_id_ok = !pmw_exec_id_read(pid, &w->exec_id);
	if (parent == pid)
		note(s, "PID %d exec'd into %s (python %s), watching it", pid, w->t.path,
		     w->t.version);
	else if (parent)
		note(s, "PID %d: new child of %d (python %s), following", pid, parent, w->t.version);
	s->nws++;
	attach_target(s, w);
	c2 = pmw_cpu_s();
	pmw_watch_baseline(w);
	attach_charge(s, w, c0, c1, c2);
	return 0;
}


/*
 * -a: take on every CPython process not watched yet. Once intervals run
 * (@paced), the scan of /proc and the attaches are paid from the walk budget:
 * one process is taken on per interval, more while the budget has credit
 * and the process is not over it;
 * the others are found again at the next interval. So a burst of K new
 * processes is listed within max(K intervals, K x attach CPU / budget).
 */
static void discover_targets(struct pmw_session *s, bool paced)
{
	pid_t pids[256];
	double c0 = pmw_cpu_s();
	int n, k = 0;

	/* the scan of /proc (~1 ms) runs every interval even over the budget, so that a short-lived
	 * process is still listed; what waits then is the attaches after the first (below) */
	n = pmw_discover_scan(&s->disc, known_pid, s, pids, ARRAY_SIZE(pids));
	s->scan_proc_cpu_s += pmw_cpu_s() - c0;
	s->scans_proc++;
	if (paced && s->walks.share > 0)
		s->walks.credit -= pmw_cpu_s() - c0;
	for (int i = 0; i < n; i++) {
		if (paced && k && s->walks.share > 0 && (s->walks.credit <= 0 || s->walks.over)) {
			s->attaches_deferred += n - i;
			break;
		}
		if (add_target(s, pids[i], 0) == -E2BIG)
			return;
		k++;
	}
}

/*
 * -p, -- COMMAND: the Python descendants of the live targets (and of the
 * command, which may be a shell). With --follow they are taken on; without,
 * each is named once.
 */
static void follow_targets(struct pmw_session *s)
{
	pid_t *roots = calloc(s->nws + 1, sizeof(*roots)), pids[256], parents[256];
	int nroots = 0, n;

	if (!roots)
		return;
	for (int i = 0; i < s->nws; i++)
		if (!s->ws[i].exited)
			roots[nroots++] = s->ws[i].t.pid;
	if (s->cmd.pid && !s->cmd.reaped && !known_pid(s, s->cmd.pid)) {
		roots[nroots++] = s->cmd.pid;
		/* the command itself, once it has exec'd a Python */
		if (env.follow && pmw_pid_alive(s->cmd.pid) && pmw_discover_is_cpython(&s->disc, s->cmd.pid))
			add_target(s, s->cmd.pid, s->cmd.pid);
	}
	n = pmw_discover_children(&s->disc, roots, nroots, known_pid, s, pids, parents,
				  ARRAY_SIZE(pids));
	free(roots);
	for (int i = 0; i < n; i++) {
		if (env.follow) {
			if (add_target(s, pids[i], parents[i]) == -E2BIG)
				return;
		} else if (pmw_discover_first_note(&s->disc, pids[i])) {
			note(s, "PID %d: child of %d runs Python, not followed (use --follow)", pids[i],
			     parents[i]);
		}
	}
}

/*
 * A target that exec'd another program: its row so far ends here (final,
 * exited = 1) and its own probes go. Returns true if it did; @again is set
 * when the new program is a CPython to watch anew (-a, --follow).
 */
static bool check_exec(struct pmw_session *s, struct pmw_watch *w, double interval_s,
		       const struct timespec *wall, bool *again)
{
	struct pmw_exec_id now;
	char path[64], exe[PATH_MAX] = "?";
	__u32 key = w->t.pid;
	ssize_t n;

	if (!w->exec_id_ok || pmw_exec_id_read(w->t.pid, &now) || pmw_exec_id_same(&now, &w->exec_id))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", w->t.pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = 0;
	w->execd = true;
	pmw_watch_tick(w, bpf_map__fd(s->skel->maps.pmw_counts), interval_s, wall);
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.pmw_targets), &key);
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.pmw_state), &key);
	pmw_probes_detach_async(&w->pid_a);
	pmw_probes_detach_async(&w->burst_a);
	/* watching a new program means attaching: only where targets may come (privileges) */
	*again = pmw_discover_is_cpython(&s->disc, w->t.pid);
	if (!*again)
		note(s, "PID %d exec'd into %s: no longer Python, stopped watching", w->t.pid, exe);
	else if (!env.all && !env.follow)
		note(s, "PID %d exec'd into %s, another Python: stopped watching (use --follow to "
		     "watch it on)", w->t.pid, exe);
	*again = *again && (env.all || env.follow);
	return true;
}

/*
 * The heap scans of the interval just closed (@cpu CPU seconds, @scans of them,
 * @live targets) are paid from the walk budget, and paced when they and the rest
 * of pymemwatch (charge_rest, attaches: s->other_rate) would take more than half
 * of it (the scans keep at least an eighth): a target whose heap did not move is
 * then rescanned every PMW_SCAN_MAX_S only, a tenth of them per second in turn
 * (pmw_session_tick's scan_quota), and while their cost stays over half, or the
 * whole process is over the budget (s->walks.over), one that moved waits longer
 * too (doubling up to PMW_SCAN_MAX_S). Every target still has its row each
 * interval (its last scan's figures). 100 idle targets: 6.5% of one CPU against a
 * 5% budget before.
 */
static void scan_pace(struct pmw_session *s, double cpu, int scans, int live, double interval_s)
{
	struct pmw_walk_budget *b = &s->walks;
	/* the rest of pymemwatch (charge_rest) comes out of the scans' half */
	double half = fmax(b->share / 2 - s->other_rate, b->share / 8), full_rate;

	if (b->share <= 0 || interval_s <= 0) {
		s->scan_min_age = -1;
		return;
	}
	b->credit -= cpu;
	if (scans)
		s->scan_cost = s->scan_cost ? 0.7 * s->scan_cost + 0.3 * cpu / scans : cpu / scans;
	s->scan_rate = 0.7 * s->scan_rate + 0.3 * cpu / interval_s;
	full_rate = s->scan_cost * live / interval_s;	/* every target, every interval */
	if (full_rate <= half)
		s->scan_min_age = -1;
	else if (s->scan_min_age < 0) {
		s->scan_min_age = 0;
		vlog("heap scans paced: %.2f ms each, %.2f%% of one CPU for all %d targets every "
		     "interval, over half the --walk-budget\n", s->scan_cost * 1e3, full_rate * 100,
		     live);
	}
	else if (s->scan_rate > half || b->over)
		s->scan_min_age = s->scan_min_age < interval_s ? interval_s :
				  fmin(2 * s->scan_min_age, PMW_SCAN_MAX_S);
	else if (s->scan_rate < half / 2)
		s->scan_min_age = s->scan_min_age > interval_s ? s->scan_min_age / 2 : 0;
}

/*
 * The process's CPU @cpu now, into the window of the last PMW_SELF_WIN ticks:
 * s->self_rate is its CPU per second of wall over them, and the budget is
 * over (s->walks.over) while that exceeds the share.
 */
static void self_window(struct pmw_session *s, double cpu)
{
	unsigned int i = s->self_n % PMW_SELF_WIN, old = s->self_n >= PMW_SELF_WIN ? i : 0;
	double now = pmw_now_s();

	if (s->self_n && now - s->self_t[old] >= 2) {
		s->self_rate = (cpu - s->self_c[old]) / (now - s->self_t[old]);
		s->walks.over = s->walks.share > 0 && s->self_rate > s->walks.share;
		s->ticks_over += s->walks.over;
	}
	if (!s->self_n) {
		s->self_t0 = now;
		s->self_c0 = cpu;
	}
	s->self_t[i] = now;
	s->self_c[i] = cpu;
	s->self_n++;
}

/* The process's CPU per second of wall from the first tick to the last, 0 none. */
static double self_total(const struct pmw_session *s)
{
	unsigned int last = (s->self_n + PMW_SELF_WIN - 1) % PMW_SELF_WIN;

	if (s->self_n < 2 || s->self_t[last] <= s->self_t0)
		return 0;
	return (s->self_c[last] - s->self_c0) / (s->self_t[last] - s->self_t0);
}

/*
 * pymemwatch is one budget: what its process spent since the last tick
 * (CLOCK_PROCESS_CPUTIME_ID: every thread, the kernel's time for it
 * included) beyond what was charged to the walk budget already (walks, header
 * reads, holder searches, heap scans, attaches) is charged too, all of it: the
 * ticks' reads of /proc and BPF maps, outputs, growth sites, probe detaches.
 * So walks run only while the whole process stayed within share x wall (plus
 * the bank of pmw_walk_earn); a debt older than PMW_SELF_WIN seconds of share
 * is forgiven (what cannot wait, when it alone is over the budget, would
 * otherwise stop the walks for good).
 */
static void charge_rest(struct pmw_session *s)
{
	struct timespec ts;
	double cpu, rest;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu = ts.tv_sec + ts.tv_nsec / 1e9;
	self_window(s, cpu);
	if (s->cpu_last && s->walks.share > 0 && s->walks.last) {
		rest = cpu - s->cpu_last - (s->credit_mark - s->walks.credit);
		if (rest > 0) {
			s->walks.credit -= rest;
			s->rest_cpu_s += rest;
		}
		if (s->walks.credit < -s->walks.share * PMW_SELF_WIN) {
			s->forgiven_s += -s->walks.share * PMW_SELF_WIN - s->walks.credit;
			s->walks.credit = -s->walks.share * PMW_SELF_WIN;
		}
		rest = s->rest_cpu_s + s->attach_cpu_s + s->scan_proc_cpu_s;
		s->other_rate = 0.8 * s->other_rate + 0.2 * (rest - s->other_mark) /
			fmax(pmw_now_s() - s->walks.last, 0.1);
	}
	s->other_mark = s->rest_cpu_s + s->attach_cpu_s + s->scan_proc_cpu_s;
	s->cpu_last = cpu;
}

/* Paced scans: the targets due for their age only take turns, a PMW_SCAN_MAX_S-th a second. */
static void scan_turns(struct pmw_session *s, double interval_s)
{
	int live = 0;

	for (int i = 0; i < s->nws; i++)
		live += !s->ws[i].exited;
	s->scan_quota = (int)ceil(live * fmax(interval_s, 0.1) / PMW_SCAN_MAX_S);
}

/* Close the interval for every live target and hand the rows to the outputs. */
int pmw_session_tick(struct pmw_session *s, double interval_s, bool stopping)
{
	struct pmw_watch **rows = calloc(s->nws ? s->nws : 1, sizeof(*rows));
	struct timespec wall;
	int n = 0, live = 0, err, nagain = 0, nscans = 0, nlive = 0;
	pid_t execd[64];	/* targets that exec'd another Python: taken on anew */
	double scan_cpu = 0;

	if (!rows)
		return -ENOMEM;

	ring_buffer__consume(s->rb);
	clock_gettime(CLOCK_REALTIME, &wall);
	pmw_command_reaped(&s->cmd);
	s->walks.share = env.walk_budget;
	charge_rest(s);
	pmw_leaks_turn(&s->walks, s->ws, s->nws);
	s->credit_mark = s->walks.credit;
	scan_turns(s, interval_s);
	for (int i = 0; i < s->nws; i++) {
		struct pmw_watch *w = &s->ws[i];
		bool again = false;

		if (w->exited)
			continue;
		if (check_exec(s, w, interval_s, &wall, &again)) {
			if (again && nagain < (int)ARRAY_SIZE(execd))
				execd[nagain++] = w->t.pid;
			rows[n++] = w;
			continue;
		}
		bool had_bias = w->t.bias_known;
		double c0 = w->scan_cpu_s;
		uint64_t n0 = w->scans;

		w->scan_min_age = s->scan_min_age;
		w->scan_quota = &s->scan_quota;
		if (pmw_watch_tick(w, bpf_map__fd(s->skel->maps.pmw_counts), interval_s, &wall) == -ESRCH)
			note(s, "PID %d exited", w->t.pid);
		scan_cpu += w->scan_cpu_s - c0;
		nscans += (int)(w->scans - n0);
		nlive++;
		if (!had_bias && w->t.bias_known) {
			sync_runtime_addr(s, w);
			w->exec_id_ok = !pmw_exec_id_read(w->t.pid, &w->exec_id);
			/* after exec: the command's own name */
			char path[64];
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/comm", w->t.pid);
			if ((f = fopen(path, "re"))) {
				if (fgets(w->t.comm, sizeof(w->t.comm), f))
					w->t.comm[strcspn(w->t.comm, "\n")] = 0;
				fclose(f);
			}
		}
		pmw_leaks_process(w, &s->walks);
		rows[n++] = w;
	}
	scan_pace(s, scan_cpu, nscans, nlive, interval_s);
	pmw_leaks_collect(rows, n, bpf_map__fd(s->skel->maps.pmw_samples),
			  bpf_map__fd(s->skel->maps.pmw_stacks));
	err = pmw_outputs_interval(&s->out, rows, n);
	free(rows);
	for (int i = 0; i < nagain && !stopping; i++)
		if (!known_pid(s, execd[i]) && add_target(s, execd[i], execd[i]))
			note(s, "PID %d exec'd into another Python that cannot be watched "
			     "(-v says why), stopped watching", execd[i]);
	if (env.all && !stopping)
		discover_targets(s, true);
	else if (!stopping)
		follow_targets(s);
	for (int i = 0; i < s->nws; i++)
		live += !s->ws[i].exited;
	if (env.follow && s->cmd.pid && !s->cmd.reaped)
		live++;	/* a command that is not Python (yet) */
	return err ? -EIO : env.all ? 1 : live;
}

/* Kernel BPF run-time statistics of every loaded program (--bpf-stats). */
static void print_bpf_stats(struct pmw_bpf *skel)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fprintf(stderr, "pymemwatch: bpf-stats: prog=%s runs=%llu run_ns=%llu ns_per_run=%.0f\n",
			bpf_program__name(prog), (unsigned long long)info.run_cnt,
			(unsigned long long)info.run_time_ns,
			info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0.0);
	}
}

int pmw_session_load(struct pmw_session *s)
{
	int err;

	s->skel = pmw_bpf__open();
	if (!s->skel) {
		elog("cannot open the BPF object: %s\n", strerror(errno));
		return PMW_EXIT_RUNTIME;
	}
	for (int i = 0; i < s->nws; i++)
		s->groups |= wanted_groups(&s->ws[i].t);
	if (env.all || env.follow)	/* every program the mode may need: targets come later */
		s->groups |= PMW_G_GC_USDT | PMW_G_GC_UPROBE |
			     (env.mode == PMW_MODE_FULL ? PMW_G_HEAP : 0) |
			     (env.exact ? PMW_G_EXACT : 0) | (env.large ? PMW_G_LARGE : 0);
	s->groups = pmw_bursts_groups(s->groups);
	if (!env.no_growth_sites && env.walk_budget > 0 && env.mode != PMW_MODE_GC)
		s->groups |= PMW_G_GROWTH;	/* growth sites of the leaks walks find */
	pmw_probes_set_autoload(s->skel, s->groups);
	err = pmw_bpf__load(s->skel);
	if (err) {
		elog("cannot load the BPF programs: %s (kernel without BPF, BTF or bpf_cookie support? "
		     "-vv shows the verifier log)\n", strerror(-err));
		return err == -EPERM ? PMW_EXIT_NOPERM : PMW_EXIT_UNSUPPORTED;
	}
	if (env.bpf_stats) {
		s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (s->stats_fd < 0)
			wlog("cannot enable BPF run-time statistics: %s\n", strerror(-s->stats_fd));
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.pmw_gc_rb), on_gc_event, s, NULL);
	if (!s->rb) {
		elog("cannot create the ring buffer: %s\n", strerror(errno));
		return PMW_EXIT_RUNTIME;
	}
	if ((s->groups & PMW_G_GROWTH) &&
	    !ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.pmw_growth_rb), on_growth_event, s))
		pmw_growth_setup(s->skel->progs.pmw_growth_hit);
	for (int i = 0; i < s->nws; i++) {
		err = setup_target_maps(s, &s->ws[i]);
		if (err) {
			elog("PID %d: cannot configure BPF maps: %s\n", s->ws[i].t.pid, strerror(-err));
			return PMW_EXIT_RUNTIME;
		}
		if (attach_target(s, &s->ws[i]) || (!s->cmd.pid && !pmw_pid_alive(s->ws[i].t.pid))) {
			elog("PID %d: exited while attaching\n", s->ws[i].t.pid);
			return PMW_EXIT_TARGET;
		}
	}
	return 0;
}

int pmw_session_start(struct pmw_session *s)
{
	const char *screen = env.quiet ? NULL :
			     isatty(STDOUT_FILENO) && !env.no_tui && !env.command ? "tui" : "table";

	if (pmw_outputs_open(&s->out, screen, s->host, env.interval, env.all))
		return PMW_EXIT_RUNTIME;
	/* baseline (heap, GC state) before the first interval starts */
	for (int i = 0; i < s->nws; i++)
		pmw_watch_baseline(&s->ws[i]);
	if (env.all)
		discover_targets(s, false);
	else
		follow_targets(s);
	if (env.command && !s->nws)
		note(s, "'%s' is not Python: watching the Python processes it becomes or starts "
		     "(--follow)", env.command[0]);
	note(s, "watching %d process%s%s; interval %.3g s%s", s->nws, s->nws == 1 ? "" : "es",
	     env.all ? " (every CPython process, new ones as they start)" : "",
	     env.interval, env.duration > 0 ? "" : "; Ctrl-C to stop");
	pmw_command_release(&s->cmd);
	return 0;
}

int pmw_session_poll(struct pmw_session *s, double timeout_s)
{
	int err = ring_buffer__poll(s->rb, timeout_s > 0 ? (int)ceil(timeout_s * 1000) : 0);

	if (err < 0 && err != -EINTR) {
		elog("ring buffer poll failed: %s\n", strerror(-err));
		return err;
	}
	return pmw_outputs_poll_keys(&s->out);
}

void pmw_session_samples_look(struct pmw_session *s)
{
	struct pmw_watch **ws = calloc(s->nws ? s->nws : 1, sizeof(*ws));
	int n = 0;

	if (!ws)
		return;
	for (int i = 0; i < s->nws; i++)
		if (!s->ws[i].exited && s->ws[i].burst_a.nlinks)	/* its free probes on */
			ws[n++] = &s->ws[i];
	if (n)
		pmw_leaks_look(ws, n, bpf_map__fd(s->skel->maps.pmw_samples));
	free(ws);
}

bool pmw_session_any_live(const struct pmw_session *s)
{
	for (int i = 0; i < s->nws; i++)
		if (!s->ws[i].exited)
			return true;
	return false;
}

void pmw_session_finish(struct pmw_session *s)
{
	struct pmw_watch **wps = calloc(s->nws ? s->nws : 1, sizeof(*wps));
	/* the summary never mixes into a data stream on stdout */
	FILE *f = pmw_outputs_on_stdout() ? stderr : stdout;

	for (int i = 0; wps && i < s->nws; i++)
		wps[i] = &s->ws[i];
	if (wps)
		pmw_outputs_finish(&s->out, wps, s->nws);
	pmw_outputs_close(&s->out);
	if (s->stats_fd >= 0) {
		print_bpf_stats(s->skel);
		pmw_bursts_report(stderr, s->ws, s->nws);	/* what bursts and walks cost */
	}
	if (env.walk_budget > 0)
		vlog("walk budget: %.2f s of CPU outside walks, scans and attaches charged to it; "
		     "the whole process over the budget at %u of %u intervals (over the last "
		     "%d), %.2f s of debt forgiven; %.2f%% of one CPU from the first interval to "
		     "the last\n", s->rest_cpu_s, s->ticks_over, s->self_n, PMW_SELF_WIN,
		     s->forgiven_s, self_total(s) * 100);
	if (env.all)
		vlog("-a: %u scans of /proc, %.2f ms CPU each; %u attaches while running, %.1f ms CPU "
		     "each; %u found processes left to a later interval\n", s->scans_proc,
		     s->scans_proc ? s->scan_proc_cpu_s * 1e3 / s->scans_proc : 0.0, s->attaches,
		     s->attaches ? s->attach_cpu_s * 1e3 / s->attaches : 0.0, s->attaches_deferred);
	if (wps && env.all) {
		/* the sweep: every process seen, ranked */
		pmw_rank(wps, s->nws, PMW_RANK_SCORE);
		fprintf(f, "\nsweep of %s: %d CPython process%s, ranked by leak score\n", s->host,
			s->nws, s->nws == 1 ? "" : "es");
		pmw_print_ranking(f, wps, s->nws, true);
	} else if (wps) {
		pmw_print_summary(f, wps, s->nws);
	}
	free(wps);
}

void pmw_session_close(struct pmw_session *s)
{
	pmw_outputs_close(&s->out);
	pmw_command_kill(&s->cmd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	s->stats_fd = -1;
	/* each uprobe link waits for an RCU grace period as it goes (~0.1-0.2 s);
	 * threads do not help: the kernel serializes them on its event mutex */
	for (int i = 0; i < s->nws; i++) {
		pmw_probes_detach(&s->ws[i].a);
		pmw_probes_detach(&s->ws[i].pid_a);
		pmw_probes_detach(&s->ws[i].burst_a);
	}
	pmw_discover_free(&s->disc);
	for (int i = 0; i < s->nws; i++) {
		pmw_leaks_free(&s->ws[i].leaks);
		pmw_target_close(&s->ws[i].t);
	}
	ring_buffer__free(s->rb);
	pmw_bpf__destroy(s->skel);
	free(s->ws);
	memset(s, 0, sizeof(*s));
	s->cmd.sync_fd = s->stats_fd = -1;
}
