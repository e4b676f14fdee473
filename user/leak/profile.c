// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sampled allocation profile (--alloc-profile auto|always): call sites of sampled
 * pools, stacks sampled in bursts, the sampled objects followed across
 * intervals, sites scored by growth x survival.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "leak.h"
#include "log.h"
#include "profile.h"
#include "util.h"
#include "watch.h"

#define SITES_MAX	4096	/* per target; the least useful are forgotten beyond */
#define SITE_IDLE_MAX	30	/* intervals a site is kept with nothing live */
#define TYPE_SITES	20	/* sites whose type is read each interval */

static uint64_t frames_key(const struct pmw_frame *f, int n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < n; i++) {
		for (const char *c = f[i].file; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		for (const char *c = f[i].func; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ (uint64_t)f[i].line) * 0x100000001b3ULL;
	}
	return h ? h : 1;
}

static void resolve_stack(struct pmw_watch *w, struct pmw_stack_site *ss, int stacks_fd)
{
	struct pmw_stack st;
	struct pmw_frame fr[PMW_MAX_DEPTH];
	int n = 0;

	if (ss->site || bpf_map_lookup_elem(stacks_fd, &ss->stack, &st))
		return;
	/* made on first use: targets without sampled stacks need none */
	if (!w->leaks.cc && !(w->leaks.cc = pmw_code_cache_new()))
		return;
	for (unsigned int i = 0; i < st.depth && i < PMW_MAX_DEPTH; i++)
		if (!pmw_frame_resolve(&w->t, w->leaks.cc, st.code[i], st.instr[i], &fr[n]))
			n++;
	if (!n)
		return;
	ss->frames = malloc(n * sizeof(*fr));
	if (!ss->frames)
		return;
	memcpy(ss->frames, fr, n * sizeof(*fr));
	ss->nframes = n;
	ss->site = frames_key(fr, n);
}

static int cmp_score(const void *a, const void *b)
{
	const struct pmw_site *x = *(struct pmw_site *const *)a, *y = *(struct pmw_site *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->live_bytes < y->live_bytes ? 1 : x->live_bytes > y->live_bytes ? -1 : 0;
}

static bool site_shown(const void *e)
{
	const struct pmw_site *s = e;

	return s->live || s->score > 0;
}

int pmw_sites_top(struct pmw_leaks *l, struct pmw_site **out, int max)
{
	return pmw_top_n(l->sites, l->nsites, sizeof(*l->sites), site_shown, cmp_score,
			 (void **)out, max);
}

static struct pmw_watch *by_pid(struct pmw_watch **ws, int n, __u32 pid)
{
	for (int i = 0; i < n; i++)
		if ((__u32)ws[i]->t.pid == pid)
			return ws[i];
	return NULL;
}

#define OBJ_READ	96	/* bytes read at a sampled block: header candidates at +0, +16, +32 */

/*
 * Is the object at the head of a sampled pool still the one sampled? The
 * block is dead if it holds no object (a free block starts with a free-list
 * pointer) or another object than at the last look (the fingerprint of its
 * type and first fields changed). Only the block's own bytes (@szidx: its
 * size class) count: the next block's GC links and reference count change
 * while the sampled object lives. Sets *fp and *type of what is there now.
 */
static bool obj_fingerprint(struct pmw_watch *w, const uint8_t *b, uint32_t szidx, uint64_t *fp,
			    uint64_t *type)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int off = 0, end = (int)(szidx + 1) * PMW_ALIGNMENT;
	const struct pmw_wtype *ty = pmw_block_type(&w->leaks.walk, &w->t, b, &off);

	*type = ty ? ty->addr : 0;
	if (!ty)
		return false;
	if (end > off + 56)
		end = off + 56;
	/* ob_type and the fields after it, within the block; ob_refcnt excluded */
	for (int k = off + 8; k < end; k++)
		h = (h ^ b[k]) * 0x100000001b3ULL;
	*fp = h;
	return true;
}

static struct pmw_obj *obj_find(struct pmw_leaks *l, uint64_t pool)
{
	return l->nobjs ? bsearch(&pool, l->objs, l->nobjs, sizeof(*l->objs), pmw_cmp_u64) : NULL;
}

struct found {
	struct pmw_sample_key key;
	struct pmw_sample smp;
};

/*
 * Follow the sampled objects of @w (@f, @nf): dead ones are deleted from
 * pmw_samples, live ones counted on their stack. Returns the number alive.
 */
static int follow_objects(struct pmw_watch *w, struct found *f, int nf, int samples_fd)
{
	struct pmw_leaks *l = &w->leaks;
	uint64_t *addrs = malloc((nf ? nf : 1) * sizeof(*addrs));
	uint8_t *buf = malloc((size_t)(nf ? nf : 1) * OBJ_READ);
	struct pmw_obj *objs = malloc((nf ? nf : 1) * sizeof(*objs));
	uint64_t now_ns = (uint64_t)(pmw_now_s() * 1e9); /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
	ssize_t got;
	int nobjs = 0, alive = 0;

	if (!addrs || !buf || !objs) {
		free(addrs);
		free(buf);
		free(objs);
		return -ENOMEM;
	}
	for (int i = 0; i < nf; i++)
		/* the sampled block: the first one of an initialised pool, the free-list
		 * head of a reused one */
		addrs[i] = f[i].key.pool + (f[i].smp.block_off >= PMW_POOL_HDR_SIZE &&
					    f[i].smp.block_off < w->t.pv->pool_size ?
					    f[i].smp.block_off : PMW_POOL_HDR_SIZE);
	got = pmw_mem_readv(w->t.pid, addrs, OBJ_READ, nf, buf);
	for (int i = 0; i < nf; i++) {
		struct pmw_stack_site *ss;
		struct pmw_obj *old = obj_find(l, f[i].key.pool);
		uint64_t fp = 0, type = 0;
		bool ok = (ssize_t)((i + 1) * OBJ_READ) <= got &&
			  obj_fingerprint(w, buf + (size_t)i * OBJ_READ, f[i].smp.szidx, &fp,
					     &type);

		if (!ok || (old && old->fp != fp)) {
			bpf_map_delete_elem(samples_fd, &f[i].key);
			continue;
		}
		objs[nobjs].stack = f[i].smp.stack;
		objs[nobjs].born_ns = f[i].smp.born_ns;
		objs[nobjs].block_off = f[i].smp.block_off;
		objs[nobjs].pool = f[i].key.pool;
		objs[nobjs].type = type;
		objs[nobjs++].fp = fp;
		ss = pmw_sorted_get((void **)&l->stacks, &l->nstacks, &l->cap_stacks, sizeof(*ss),
				f[i].smp.stack, SITES_MAX * 4);
		if (!ss) {
			l->dropped++;	/* stack table full */
			continue;
		}
		ss->live++;
		ss->aged += now_ns - f[i].smp.born_ns >= (uint64_t)(PMW_SITE_AGE_MIN * 1e9);
		if (!old)
			ss->born++;
		ss->type = type;
		alive++;
	}
	qsort(objs, nobjs, sizeof(*objs), pmw_cmp_u64);
	free(l->objs);
	l->objs = objs;
	l->nobjs = nobjs;
	free(addrs);
	free(buf);
	return alive;
}

/* Fold the stacks of @w into its symbolized sites and score them. */
/* Fold each stack's samples into its site (resolving new stacks from @stacks_fd). */
static void fold_stacks(struct pmw_watch *w, int stacks_fd)
{
	struct pmw_leaks *l = &w->leaks;

	for (int k = 0; k < l->nsites; k++) {
		l->sites[k].live = 0;
		l->sites[k].aged = 0;
		l->sites[k].born = 0;
	}
	for (int k = 0; k < l->nstacks; k++) {
		struct pmw_stack_site *ss = &l->stacks[k];
		struct pmw_site *s;

		ss->idle = ss->live ? 0 : ss->idle + 1;
		if (ss->live && !ss->site)
			resolve_stack(w, ss, stacks_fd);
		if (!ss->site)
			continue;
		s = pmw_sorted_get((void **)&l->sites, &l->nsites, &l->cap, sizeof(*s), ss->site, SITES_MAX);
		if (!s) {
			l->dropped += !ss->no_room;	/* site table full */
			ss->no_room = true;
			continue;
		}
		if (!s->frames && ss->nframes) {
			s->frames = malloc(ss->nframes * sizeof(*ss->frames));
			if (s->frames) {
				memcpy(s->frames, ss->frames, ss->nframes * sizeof(*ss->frames));
				s->nframes = ss->nframes;
			}
		}
		s->live += ss->live;
		s->aged += ss->aged;
		s->born += ss->born;
		if (ss->live && ss->type)
			s->type_obj = ss->type;
	}
}

/* Live bytes, growth, survival and score of site @s (@pool: pool size, @burst_s: seconds sampled). */
static void score_site(struct pmw_site *s, double pool, double burst_s)
{
	double old = s->aged_hist[0], sampled = burst_s - s->sampled_hist[0];

	s->growth_bytes = s->live * pool - s->live_bytes;
	s->live_bytes = s->live * pool;
	s->survival = s->born ? (double)s->live / s->born : 0;
	if (s->survival > 1)
		s->survival = 1;
	/* sampled growth over the last PMW_SITE_WINDOW bursts (since the
	 * start, before that), per second sampled in them, times the share
	 * of the site's samples still alive: churn that happens to keep a
	 * pool alive now and then scores low. Only samples older than
	 * PMW_SITE_AGE_MIN count: a bounded cache's entries born in the last
	 * burst ranked above a real leak. The window counts bursts, not
	 * intervals: samples are only born in bursts, every few s to few
	 * min, and a window of intervals held one or two of them, so that
	 * a leak sampled twice in 45 s scored 0 whenever both samples fell
	 * before it. */
	s->score = s->aged > old ? (s->aged - old) * pool / (sampled > 1 ? sampled : 1) *
					   s->survival : 0;
	if (burst_s > s->sampled_hist[PMW_SITE_WINDOW - 1]) { /* a burst ended since */
		memmove(s->aged_hist, s->aged_hist + 1,
			sizeof(s->aged_hist[0]) * (PMW_SITE_WINDOW - 1));
		memmove(s->sampled_hist, s->sampled_hist + 1,
			sizeof(s->sampled_hist[0]) * (PMW_SITE_WINDOW - 1));
		s->aged_hist[PMW_SITE_WINDOW - 1] = s->aged;
		s->sampled_hist[PMW_SITE_WINDOW - 1] = burst_s;
	}
	s->idle = s->live ? 0 : s->idle + 1;
}

static void update_sites(struct pmw_watch *w, int stacks_fd)
{
	struct pmw_leaks *l = &w->leaks;
	struct pmw_site *top[TYPE_SITES];
	int ntop, kept = 0;

	fold_stacks(w, stacks_fd);
	for (int k = 0; k < l->nsites; k++)
		score_site(&l->sites[k], w->t.pv->pool_size, l->burst_s);
	for (int k = 0; k < l->nsites; k++) {
		if (l->sites[k].idle <= SITE_IDLE_MAX)
			l->sites[kept++] = l->sites[k];
		else
			free(l->sites[k].frames);
	}
	l->nsites = kept;
	kept = 0;
	for (int k = 0; k < l->nstacks; k++) {
		if (l->stacks[k].idle <= SITE_IDLE_MAX)
			l->stacks[kept++] = l->stacks[k];
		else
			free(l->stacks[k].frames);
	}
	l->nstacks = kept;
	ntop = pmw_sites_top(l, top, TYPE_SITES);
	for (int k = 0; k < ntop; k++) {
		const struct pmw_wtype *ty = pmw_walk_type(&w->leaks.walk, &w->t, top[k]->type_obj);

		if (top[k]->live && ty)
			snprintf(top[k]->type, sizeof(top[k]->type), "%s", ty->name);
	}
}

/*
 * Delete every key of map @fd (keys of @ksz bytes) for which @stale says so.
 * Keys are collected first: deleting while iterating restarts the iteration.
 */
static void delete_keys(int fd, size_t ksz, bool (*stale)(const void *key, void *arg), void *arg)
{
	char *keys = NULL, *cur = NULL, next[64];
	size_t n = 0, cap = 0;

	if (ksz > sizeof(next))
		return;
	while (!bpf_map_get_next_key(fd, cur, next)) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			char *nk = realloc(keys, nc * ksz);

			if (!nk)
				break;
			keys = nk;
			cap = nc;
		}
		memcpy(keys + n * ksz, next, ksz);
		cur = keys + n++ * ksz;
	}
	for (size_t i = 0; i < n; i++)
		if (stale(keys + i * ksz, arg))
			bpf_map_delete_elem(fd, keys + i * ksz);
	free(keys);
}

struct stale_stack {
	const uint64_t *live;	/* sorted */
	size_t n;
};

static bool stack_unreferenced(const void *key, void *arg)
{
	const struct stale_stack *st = arg;

	return !st->n || !bsearch(key, st->live, st->n, sizeof(uint64_t), pmw_cmp_u64);
}

struct stale_sample {
	struct pmw_watch **ws;
	int n;
};

static bool sample_orphaned(const void *key, void *arg)
{
	const struct stale_sample *st = arg;
	struct pmw_watch *w = by_pid(st->ws, st->n, ((const struct pmw_sample_key *)key)->pid);

	return !w || w->exited;
}

/*
 * Every sampled pool of @samples_fd, gathered per target of @ws: *per[i]
 * (nper[i] of them; the caller frees each and the arrays). Returns 0 or -ENOMEM.
 */
static int gather(struct pmw_watch **ws, int n, int samples_fd, struct found ***perp, int **nperp)
{
	struct pmw_sample_key key, next, *prev = NULL;
	struct pmw_sample smp;
	struct found **per = calloc(n ? n : 1, sizeof(*per));
	int *nper = calloc(n ? n : 1, sizeof(*nper)), *cper = calloc(n ? n : 1, sizeof(*cper));

	if (!per || !nper || !cper) {
		free(per);
		free(nper);
		free(cper);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(samples_fd, prev, &next)) {
		int wi = -1;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(samples_fd, &key, &smp))
			continue;
		for (int i = 0; i < n; i++)
			if ((__u32)ws[i]->t.pid == key.pid && !ws[i]->exited)
				wi = i;
		if (wi < 0)
			continue;	/* forgotten by pmw_leaks_collect() */
		if (nper[wi] == cper[wi]) {
			int nc = cper[wi] ? cper[wi] * 2 : 256;
			struct found *nf = realloc(per[wi], nc * sizeof(*nf));

			if (!nf)
				continue;
			per[wi] = nf;
			cper[wi] = nc;
		}
		per[wi][nper[wi]].key = key;
		per[wi][nper[wi]++].smp = smp;
	}
	free(cper);
	*perp = per;
	*nperp = nper;
	return 0;
}

/* Gather every sample (gather()) and follow each target's (follow_objects()). */
static int follow_all(struct pmw_watch **ws, int n, int samples_fd, struct found ***perp,
		      int **nperp)
{
	for (int i = 0; i < n; i++) {
		struct pmw_leaks *l = &ws[i]->leaks;

		for (int s = 0; s < l->nstacks; s++)
			l->stacks[s].live = l->stacks[s].aged = 0;
	}
	if (gather(ws, n, samples_fd, perp, nperp))
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		follow_objects(ws[i], (*perp)[i], (*nperp)[i], samples_fd);
	return 0;
}

int pmw_leaks_look(struct pmw_watch **ws, int n, int samples_fd)
{
	struct found **per;
	int *nper;

	if (follow_all(ws, n, samples_fd, &per, &nper))
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		free(per[i]);
	free(per);
	free(nper);
	return 0;
}

int pmw_leaks_collect(struct pmw_watch **ws, int n, int samples_fd, int stacks_fd)
{
	uint64_t *live_stacks = NULL;
	size_t nlive = 0, cap = 0;
	struct found **per;
	int *nper;

	if (follow_all(ws, n, samples_fd, &per, &nper))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < nper[i]; k++) {
			if (nlive == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				uint64_t *nl = realloc(live_stacks, nc * sizeof(*nl));

				if (!nl)
					break;
				live_stacks = nl;
				cap = nc;
			}
			live_stacks[nlive++] = per[i][k].smp.stack;
		}
		free(per[i]);
	}
	free(per);
	free(nper);
	for (int i = 0; i < n; i++)
		update_sites(ws[i], stacks_fd);
	/* stacks no live sample refers to, and samples of exited targets, are
	 * dropped, so the maps never fill */
	if (nlive)	/* live_stacks is NULL when empty: qsort's argument is nonnull */
		qsort(live_stacks, nlive, sizeof(*live_stacks), pmw_cmp_u64);
	struct stale_stack stale_stack = { live_stacks, nlive };
	struct stale_sample stale_sample = { ws, n };

	delete_keys(stacks_fd, sizeof(uint64_t), stack_unreferenced, &stale_stack);
	delete_keys(samples_fd, sizeof(struct pmw_sample_key), sample_orphaned, &stale_sample);
	free(live_stacks);
	return 0;
}
