// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Holder paths: a breadth-first search over target memory from sys.modules
 * down to the containers asked for, and their retained size from a sample
 * of their items. Path spellings are documented in doc/leaks.md ("Holder paths").
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "holders.h"
#include "log.h"
#include "pyobj.h"
#include "retained.h"
#include "util.h"

#define NODE_CAP	(1 << 18)	/* objects expanded per search */
#define SEEN_SLOTS	(1 << 20)	/* visited set at most, power of two */
#define SEEN_MIN	(1 << 12)	/* ... at first (a calloc of all 8 MiB, spread by the hash,
					 * was touched whole by a search of a few thousand objects) */
#define MODULES_MAX	16384		/* sys.modules entries read */
#define GLOBALS_MAX	8192		/* entries read of a module, class or instance dict */
#define ITEMS_MAX	256		/* items followed in a dict, list, tuple or deque */
#define CACHE_SLOTS	1024		/* remembered paths, all targets */
#define PREFETCH	2048		/* nodes whose heads are read at once (<= PMW_PYR_HEADS / 2) */
#define MEASURE_TYPES	2048		/* type cache of a call that only re-checks and measures */
#define CACHE_TTL_S	300		/* a found path is searched again after this */
#define OPAQUE_MAX	512		/* bytes of a C object scanned for a container pointer */
#define WIDE_MAX	16384	/* items of a dict, list, tuple or deque compared with the
				 * containers asked for (past the ITEMS_MAX followed) */
#define SCRATCH_MAX	(MODULES_MAX > WIDE_MAX ? MODULES_MAX : WIDE_MAX)	/* s->items */

const char *pmw_holder_kind_name(enum pmw_holder_kind k)
{
	static const char *const names[] = {
		[PMW_HK_UNKNOWN] = "unknown", [PMW_HK_MODULE_GLOBAL] = "module_global",
		[PMW_HK_CLASS_ATTR] = "class_attr", [PMW_HK_INSTANCE_ATTR] = "instance_attr",
		[PMW_HK_CLOSURE] = "closure", [PMW_HK_DEFAULT] = "default",
		[PMW_HK_LRU_CACHE] = "lru_cache", [PMW_HK_FRAME_LOCAL] = "frame_local",
	};

	return (unsigned int)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/* how a step of a path is spelled; its text is read only for the paths found */
enum step_kind {
	ST_MODULE,	/* "auth": the module's __name__ (str @key) */
	ST_ATTR,	/* ".name" (str @key) */
	ST_KEY,		/* "['k']", "[12]", "[<tuple>]" (dict key @key) */
	ST_INDEX,	/* "[3]" */
	ST_CLOSURE,	/* ".__closure__[0].cell_contents" */
	ST_DEFAULT,	/* ".__defaults__[0]" */
	ST_KWDEFAULT,	/* ".__kwdefaults__['k']" (key @key) */
	ST_CLASS,	/* ".__class__" */
	ST_WRAPPED,	/* ".__wrapped__" */
	ST_DICT,	/* ".__dict__" */
	ST_SLOT,	/* ".name" of a __slots__ member (C string @key) */
	ST_FUNC,	/* ".__func__" (bound method, staticmethod, classmethod) */
	ST_SELF,	/* ".__self__" */
	ST_PFUNC,	/* ".func" (functools.partial) */
	ST_PARGS,	/* ".args[0]" */
	ST_PKW,		/* ".keywords['k']" (key @key) */
	ST_NONE,	/* "": a staticmethod, which attribute access unwraps */
	ST_FRAME,	/* "app.worker.<locals>" (code object @key, its globals @key2) */
	ST_CSLOT,	/* ".<list>": a pointer found in a C object's words (its type @key) */
	ST_GENLOCAL,	/* ".<locals>.name": a local of a suspended generator or coroutine (str @key) */
};

struct step {
	uint8_t kind;		/* enum step_kind */
	uint32_t index;
	uint64_t key, key2;
};

#define STEP(k, i, key_)	((struct step){ .kind = (k), .index = (i), .key = (key_) })
#define PK_FRAME	0xff	/* node of a running frame (node.obj), not an object */
#define THREADS_MAX	256	/* threads walked */
#define FRAMES_MAX	256	/* frames walked per thread */
#define LOCALS_MAX	256	/* locals, cells and free variables read per frame */
#define PMW_GEN_FRAME_310	16	/* gi_frame / cr_frame / ag_frame, 3.8-3.10 (Include/genobject.h
					 * _PyGenObject_HEAD: right after PyObject_HEAD) */

struct node {
	uint64_t obj;
	int32_t parent;		/* -1: a module (root) */
	uint8_t depth;		/* steps below the module */
	uint8_t kind;		/* enum pmw_holder_kind of the last named step */
	uint8_t pk;		/* enum pmw_pykind of obj */
	struct step step;	/* from the parent to obj */
};

struct search {
	struct pmw_pyr *r;
	struct pmw_holder *h;
	uint64_t *slot;		/* per h[i]: where the container pointer was found */
	int *want;		/* indices into h still searched, -1 when found */
	int nwant, left;
	struct node *nodes;
	size_t nnodes;
	uint64_t *seen;			/* visited set: open-addressed, grown at half full */
	size_t nseen, cap_seen;
	struct pmw_pyitem *items;	/* scratch, SCRATCH_MAX */
	uint64_t *types;		/* scratch: ob_type of each item */
	uint64_t objs[PREFETCH];	/* scratch: nodes whose heads are prefetched */
};

struct cached {
	int pid;
	uint64_t container, slot;
	time_t when;
	int found;
	int misses;		/* searches in a row that did not find it */
	enum pmw_holder_kind kind;
	char path[256];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached cache[CACHE_SLOTS];
static struct pmw_holders_stats last;

static size_t seen_slot(const uint64_t *seen, size_t cap, uint64_t v)
{
	size_t i = (v >> 3) * 0x9e3779b97f4a7c15ULL >> 40 & (cap - 1);

	for (size_t probes = 0; probes < cap; probes++, i = (i + 1) & (cap - 1))
		if (seen[i] == v || !seen[i])
			return i;
	return cap;	/* full */
}

/* Double the visited set (up to SEEN_SLOTS); false when it cannot grow. */
static bool seen_grow(struct search *s)
{
	size_t ncap = s->cap_seen * 2;
	uint64_t *n;

	if (ncap > SEEN_SLOTS || !(n = calloc(ncap, sizeof(*n))))
		return false;
	for (size_t k = 0; k < s->cap_seen; k++)
		if (s->seen[k])
			n[seen_slot(n, ncap, s->seen[k])] = s->seen[k];
	free(s->seen);
	s->seen = n;
	s->cap_seen = ncap;
	return true;
}

/* true the first time @v is seen */
static bool seen_add(struct search *s, uint64_t v)
{
	size_t i;

	if ((s->nseen + 1) * 2 > s->cap_seen)
		seen_grow(s);
	i = seen_slot(s->seen, s->cap_seen, v);
	if (i == s->cap_seen || s->seen[i] == v)
		return false;
	s->seen[i] = v;
	s->nseen++;
	return true;
}

/* "['key']", "[12]", "[<tuple>]" for a dict key */
static void key_label(struct pmw_pyr *r, uint64_t key, char *buf, size_t len)
{
	char s[48];
	int64_t v;
	int n = pmw_pyobj_str(r, key, s, sizeof(s));
	const struct pmw_pytype *ty;

	if (n >= 0) {
		char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

		for (char *c = s; *c; c++)
			if (*c == q || *c == '\\' || (unsigned char)*c < 0x20)
				*c = '?';
		snprintf(buf, len, "[%c%.40s%s%c]", q, s, n > 40 ? "..." : "", q);
	} else if (!pmw_pyobj_int(r, key, &v)) {
		snprintf(buf, len, "[%lld]", (long long)v);
	} else {
		ty = pmw_pyobj_type(r, key);
		snprintf(buf, len, "[<%.40s>]", ty ? ty->name : "?");
	}
}

/* how each step kind is written: its text (%s: a name or key read from the target) or index (%u) */
static const struct { const char *fmt; char arg; } step_fmt[] = {
	[ST_MODULE] = { "%s", 's' }, [ST_ATTR] = { ".%s", 's' }, [ST_KEY] = { "%s", 'k' },
	[ST_INDEX] = { "[%u]", 'u' }, [ST_CLOSURE] = { ".__closure__[%u].cell_contents", 'u' },
	[ST_DEFAULT] = { ".__defaults__[%u]", 'u' }, [ST_KWDEFAULT] = { ".__kwdefaults__%s", 'k' },
	[ST_CLASS] = { ".__class__", 0 }, [ST_WRAPPED] = { ".__wrapped__", 0 },
	[ST_DICT] = { ".__dict__", 0 }, [ST_SLOT] = { ".%s", 'c' }, [ST_FUNC] = { ".__func__", 0 },
	[ST_SELF] = { ".__self__", 0 }, [ST_PFUNC] = { ".func", 0 },
	[ST_PARGS] = { ".args[%u]", 'u' }, [ST_PKW] = { ".keywords%s", 'k' }, [ST_NONE] = { "", 0 },
	[ST_FRAME] = { "%s", 'f' }, [ST_CSLOT] = { ".<%s>", 't' },
	[ST_GENLOCAL] = { ".<locals>.%s", 's' },
};

/* "app.worker.<locals>": the module's __name__ from the frame's globals, the code's name */
static void frame_text(struct pmw_pyr *r, const struct step *st, char *buf, size_t len)
{
	const struct pmw_pyver *pv = r->t->pv;
	struct pmw_pyitem it[8];
	char mod[64] = "?", name[64] = "?", key[16];
	uint64_t qn = 0;
	ssize_t n = pmw_dict_items(r, st->key2, 1, it, 8);	/* __name__ comes first */

	for (ssize_t i = 0; i < n; i++)
		if (pmw_pyobj_str(r, it[i].key, key, sizeof(key)) > 0 && !strcmp(key, "__name__")) {
			if (pmw_pyobj_str(r, it[i].value, mod, sizeof(mod)) < 0)
				snprintf(mod, sizeof(mod), "?");
			break;
		}
	if (pmw_pyr_read(r, st->key + (pv->co_qualname ? pv->co_qualname : pv->co_name), &qn, 8) ||
	    pmw_pyobj_str(r, qn, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	snprintf(buf, len, "%s.%s.<locals>", mod, name);
}

static void step_text(struct pmw_pyr *r, const struct step *st, char *buf, size_t len)
{
	char t[48] = "?";

	if (st->kind >= ARRAY_SIZE(step_fmt)) {
		snprintf(buf, len, "?");
		return;
	}
	switch (step_fmt[st->kind].arg) {
	case 's':	/* a str object */
		if (pmw_pyobj_str(r, st->key, t, sizeof(t)) < 0)
			snprintf(t, sizeof(t), "?");
		break;
	case 'k':	/* a dict key */
		key_label(r, st->key, t, sizeof(t));
		break;
	case 'c':	/* a C string */
		if (pmw_pyr_cstr(r, st->key, t, sizeof(t)) < 0)
			snprintf(t, sizeof(t), "?");
		break;
	case 't': {	/* a type's name */
		const struct pmw_pytype *ty = pmw_pytype_get(r, st->key);

		snprintf(t, sizeof(t), "%.47s", ty ? ty->name : "?");
		break;
	}
	case 'u':
		snprintf(buf, len, step_fmt[st->kind].fmt, st->index);
		return;
	case 'f':
		frame_text(r, st, buf, len);
		return;
	default:
		snprintf(buf, len, "%s", step_fmt[st->kind].fmt);
		return;
	}
	snprintf(buf, len, step_fmt[st->kind].fmt, t);
}

/* the path to node @idx, then @last if any */
static void build_path(const struct search *s, int idx, const struct step *last, char *out,
		       size_t len)
{
	int chain[PMW_HOLDERS_DEPTH + 2], n = 0;
	size_t off = 0;
	char t[160];

	for (int i = idx; i >= 0 && n < (int)(sizeof(chain) / sizeof(chain[0])); i = s->nodes[i].parent)
		chain[n++] = i;
	out[0] = 0;
	while (n-- > 0 && off < len) {
		step_text(s->r, &s->nodes[chain[n]].step, t, sizeof(t));
		off += snprintf(out + off, len - off, "%s", t);
	}
	if (last && off < len) {
		step_text(s->r, last, t, sizeof(t));
		snprintf(out + off, len - off, "%s", t);
	}
}

/* one of the containers asked for: record the path parent + step */
static void check_target(struct search *s, int parent, uint64_t v, uint64_t slot,
			 const struct step *label, enum pmw_holder_kind kind)
{
	for (int w = 0; w < s->nwant; w++) {
		int i = s->want[w];

		if (i < 0 || s->h[i].container != v)
			continue;
		build_path(s, parent, label, s->h[i].path, sizeof(s->h[i].path));
		s->h[i].kind = kind;
		s->slot[i] = slot;
		s->want[w] = -1;
		s->left--;
	}
}

static bool followed(const struct pmw_pytype *ty, struct pmw_pyr *r, uint64_t v)
{
	const struct pmw_pytype *self;

	switch (ty->kind) {
	case PMW_PK_INSTANCE: case PMW_PK_FUNCTION: case PMW_PK_LRU: case PMW_PK_DICT:
	case PMW_PK_LIST: case PMW_PK_TUPLE: case PMW_PK_DEQUE: case PMW_PK_METHOD:
	case PMW_PK_WRAPPER: case PMW_PK_PARTIAL:
		return true;
	case PMW_PK_TYPE:	/* classes, not the built-in types */
		self = pmw_pytype_get(r, v);
		return self && self->heap;
	case PMW_PK_OTHER:	/* a C object that may hold references: scanned last (opaque_scan) */
		return (ty->flags & PMW_TPFLAGS_HAVE_GC) && ty->basicsize <= OPAQUE_MAX;
	default:
		return false;
	}
}

/* an object whose layout is not known: a built-in C type, or an instance with words of
 * C state past a class instance's own (a C heap type, 3.12+ _asyncio.Future, or a class
 * derived from a C type); a class instance without __slots__ has at most PyObject_HEAD,
 * __dict__ and __weakref__ (32 bytes, 3.8-3.10; 16 with the 3.11+ pre-header) */
static bool opaque(struct pmw_pyr *r, const struct node *nd)
{
	const struct pmw_pytype *ty;

	if (nd->pk != PMW_PK_OTHER && nd->pk != PMW_PK_INSTANCE)
		return false;
	ty = pmw_pyobj_type(r, nd->obj);
	return ty && (ty->flags & PMW_TPFLAGS_HAVE_GC) && ty->basicsize <= OPAQUE_MAX &&
	       (nd->pk == PMW_PK_OTHER || ty->basicsize > 32 + 8 * ty->nslots);
}

static bool wanted(const struct search *s, uint64_t v)
{
	for (int w = 0; w < s->nwant; w++)
		if (s->want[w] >= 0 && s->h[s->want[w]].container == v)
			return true;
	return false;
}

/* @v is the parent (h->parent) of a container still searched */
static bool wanted_parent(const struct search *s, uint64_t v)
{
	for (int w = 0; w < s->nwant; w++)
		if (s->want[w] >= 0 && s->h[s->want[w]].parent == v)
			return true;
	return false;
}

/*
 * The containers not found through named steps may be held by an object whose layout
 * is not known (a C type): its tp_basicsize words, scanned conservatively in breadth-
 * first order, name a container found there `holder.<list>` (every word is untrusted:
 * only a pointer equal to a container asked for is used).
 */
static void opaque_scan(struct search *s)
{
	uint64_t w[OPAQUE_MAX / 8], type;
	size_t k = 0, done = 0;

	for (size_t i = 0; i < s->nnodes && s->left > 0 && s->r->reads < s->r->budget; i++) {
		const struct pmw_pytype *ty;
		size_t n;

		if (i == done) {	/* the heads of the next candidates, one readv */
			for (k = 0, done = i; done < s->nnodes && k < PREFETCH; done++)
				if (s->nodes[done].pk == PMW_PK_OTHER || s->nodes[done].pk == PMW_PK_INSTANCE)
					s->objs[k++] = s->nodes[done].obj;
			pmw_pyr_prefetch(s->r, s->objs, k);
		}
		if (!opaque(s->r, &s->nodes[i]) || !(ty = pmw_pyobj_type(s->r, s->nodes[i].obj)))
			continue;
		n = (size_t)ty->basicsize / 8;
		if (n <= 2 || pmw_pyr_read(s->r, s->nodes[i].obj, w, n * 8))
			continue;
		for (size_t j = 2; j < n; j++)	/* past ob_refcnt and ob_type */
			if (pmw_pyptr_ok(w[j]) && wanted(s, w[j]) &&
			    !pmw_pyr_read(s->r, w[j] + PMW_OB_TYPE, &type, 8))
				check_target(s, i, w[j], s->nodes[i].obj + j * 8,
					     &STEP(ST_CSLOT, 0, type), s->nodes[i].kind);
	}
}

/* a reference from node @parent to @v: a target? then queue it if worth following */
static void child(struct search *s, int parent, uint64_t v, uint64_t type, uint64_t slot,
		  struct step label, enum pmw_holder_kind kind)
{
	const struct pmw_pytype *ty;
	struct node *n;
	int depth = parent >= 0 ? s->nodes[parent].depth + 1 : 0;

	if (s->left)
		check_target(s, parent, v, slot, &label, kind);
	if (depth >= PMW_HOLDERS_DEPTH || s->nnodes >= NODE_CAP || !seen_add(s, v))
		return;
	ty = type ? pmw_pytype_get(s->r, type) : pmw_pyobj_type(s->r, v);
	if (!ty || ty->kind == PMW_PK_MODULE || !followed(ty, s->r, v))
		return;
	n = &s->nodes[s->nnodes++];
	n->obj = v;
	n->parent = parent;
	n->depth = depth;
	n->kind = kind;
	n->pk = ty->kind;
	n->step = label;
}

/* ob_type of every item, one readv; 0 where unreadable */
static void item_types(struct search *s, size_t n)
{
	uint64_t (*heads)[2] = malloc(n * 16), *addrs = malloc(n * sizeof(*addrs));
	uint8_t *ok = malloc(n);

	memset(s->types, 0, n * sizeof(*s->types));
	if (heads && addrs && ok) {
		for (size_t i = 0; i < n; i++)
			addrs[i] = s->items[i].value;
		pmw_pyr_readv(s->r, addrs, 16, n, heads, ok);
		for (size_t i = 0; i < n; i++)
			s->types[i] = heads[i][1];	/* ob_type */
	}
	free(heads);
	free(addrs);
	free(ok);
}

/* entries of a dict whose keys are attribute names */
static void attr_children(struct search *s, int idx, ssize_t n, enum pmw_holder_kind kind)
{
	if (n <= 0)
		return;
	item_types(s, n);
	for (ssize_t i = 0; i < n; i++)
		child(s, idx, s->items[i].value, s->types[i], s->items[i].slot,
		      STEP(ST_ATTR, 0, s->items[i].key), kind);
}

static void expand_function(struct search *s, int idx, uint64_t obj)
{
	const struct pmw_pyobj_off *o = &s->r->t->pv->obj;
	const struct pmw_pytype *tt;
	struct pmw_pyfunc f;
	ssize_t n;

	if (pmw_func_read(s->r, obj, &f))
		return;
	if (f.closure && (tt = pmw_pyobj_type(s->r, f.closure)) && tt->kind == PMW_PK_TUPLE) {
		n = pmw_seq_items(s->r, f.closure, tt, 1, s->items, ITEMS_MAX);
		for (ssize_t i = 0; i < n; i++) {
			uint64_t cell = s->items[i].value, v = pmw_cell_get(s->r, cell);
			int pos = (s->items[i].slot - f.closure - o->tuple_items) / 8;

			if (v)
				child(s, idx, v, 0, cell + PMW_CELL_REF,
				      STEP(ST_CLOSURE, pos, 0), PMW_HK_CLOSURE);
		}
	}
	if (f.defaults && (tt = pmw_pyobj_type(s->r, f.defaults)) && tt->kind == PMW_PK_TUPLE) {
		n = pmw_seq_items(s->r, f.defaults, tt, 1, s->items, ITEMS_MAX);
		for (ssize_t i = 0; i < n; i++) {
			int pos = (s->items[i].slot - f.defaults - o->tuple_items) / 8;

			child(s, idx, s->items[i].value, 0, s->items[i].slot,
			      STEP(ST_DEFAULT, pos, 0), PMW_HK_DEFAULT);
		}
	}
	if (f.kwdefaults && (n = pmw_dict_items(s->r, f.kwdefaults, 1, s->items, ITEMS_MAX)) > 0)
		for (ssize_t i = 0; i < n; i++)
			child(s, idx, s->items[i].value, 0, s->items[i].slot,
			      STEP(ST_KWDEFAULT, 0, s->items[i].key), PMW_HK_DEFAULT);
}

static void expand_lru(struct search *s, int idx)
{
	uint64_t cache, func;
	char name[200];

	if (pmw_lru_read(s->r, s->nodes[idx].obj, &cache, &func))
		return;
	if (s->left) {
		for (int w = 0; w < s->nwant; w++) {
			int i = s->want[w];

			if (i < 0 || s->h[i].container != cache)
				continue;
			if (pmw_qualified_name(s->r, func, name, sizeof(name)))
				build_path(s, idx, NULL, name, sizeof(name));
			snprintf(s->h[i].path, sizeof(s->h[i].path), "functools.lru_cache(%.230s)", name);
			s->h[i].kind = PMW_HK_LRU_CACHE;
			s->slot[i] = s->nodes[idx].obj + s->r->t->pv->obj.lru_cache;
			s->want[w] = -1;
			s->left--;
		}
	}
	seen_add(s, cache);	/* its items are arguments and results: not followed */
	child(s, idx, func, 0, s->nodes[idx].obj + s->r->t->pv->obj.lru_func,
	      STEP(ST_WRAPPED, 0, 0), s->nodes[idx].kind);
}

/* what a bound method, staticmethod, classmethod or functools.partial wraps */
static void expand_wrapper(struct search *s, int idx)
{
	const struct node *nd = &s->nodes[idx];
	uint64_t obj = nd->obj, w[3] = { 0, 0, 0 }, f;
	enum pmw_pykind pk = nd->pk;
	enum pmw_holder_kind kind = nd->kind;
	const struct pmw_pytype *tt;
	ssize_t n;

	/* im_func, im_self / sm_callable / fn, args, kw: the words from +16 */
	if (pmw_pyr_read(s->r, obj + PMW_WRAPPED_16, w, sizeof(w)))
		return;
	f = w[0];
	tt = pmw_pyobj_type(s->r, obj);
	if (pmw_pyptr_ok(f) && tt)	/* Class.static_fn is the function itself */
		child(s, idx, f, 0, obj + PMW_WRAPPED_16,
		      STEP(pk == PMW_PK_PARTIAL ? ST_PFUNC :
				     !strcmp(tt->name, "staticmethod") ? ST_NONE : ST_FUNC, 0, 0),
		      kind);
	if (pk == PMW_PK_METHOD && pmw_pyptr_ok(w[1]))
		child(s, idx, w[1], 0, obj + PMW_WRAPPED_16 + 8, STEP(ST_SELF, 0, 0), kind);
	if (pk != PMW_PK_PARTIAL)
		return;
	if (pmw_pyptr_ok(w[1]) && (tt = pmw_pyobj_type(s->r, w[1])) && tt->kind == PMW_PK_TUPLE) {
		n = pmw_seq_items(s->r, w[1], tt, 1, s->items, ITEMS_MAX);
		for (ssize_t i = 0; i < n; i++)
			child(s, idx, s->items[i].value, 0, s->items[i].slot,
			      STEP(ST_PARGS, i, 0), kind);
	}
	if (pmw_pyptr_ok(w[2]) && (n = pmw_dict_items(s->r, w[2], 1, s->items, ITEMS_MAX)) > 0)
		for (ssize_t i = 0; i < n; i++)
			child(s, idx, s->items[i].value, 0, s->items[i].slot,
			      STEP(ST_PKW, 0, s->items[i].key), kind);
}

static void expand_gen(struct search *s, int idx);

/*
 * A threading.local's attributes in every thread, `m.TLS.items` (the name each thread uses):
 * the C object (_thread._local, Modules/_threadmodule.c localobject) holds a dict whose values
 * are the threads' attribute dicts (3.8-3.12 `dummies`, {weakref to a dummy: dict}; 3.13
 * `localdicts`, {dummy: dict}), found among its tp_basicsize words as a dict of dicts: no
 * offset per version.
 */
static void expand_tls(struct search *s, int idx, const struct pmw_pytype *ty)
{
	uint64_t w[OPAQUE_MAX / 8], dicts[THREADS_MAX];
	size_t nw = (size_t)ty->basicsize / 8;
	int nd = 0;

	if (strcmp(ty->name, "_thread._local") || nw <= 2 || nw > OPAQUE_MAX / 8 ||
	    pmw_pyr_read(s->r, s->nodes[idx].obj, w, nw * 8))
		return;
	for (size_t j = 2; j < nw; j++) {	/* past ob_refcnt and ob_type */
		const struct pmw_pytype *dt = pmw_pyptr_ok(w[j]) ? pmw_pyobj_type(s->r, w[j]) : NULL;
		ssize_t n = dt && dt->kind == PMW_PK_DICT ?
			    pmw_dict_items(s->r, w[j], 1, s->items, THREADS_MAX) : 0;

		for (ssize_t i = 0; i < n && nd < THREADS_MAX; i++) {
			const struct pmw_pytype *vt = pmw_pyobj_type(s->r, s->items[i].value);

			if (vt && vt->kind == PMW_PK_DICT)
				dicts[nd++] = s->items[i].value;
		}
	}
	for (int i = 0; i < nd; i++)
		attr_children(s, idx, pmw_dict_items(s->r, dicts[i], 1, s->items, GLOBALS_MAX),
			      PMW_HK_INSTANCE_ATTR);
}

/*
 * The items of a dict (by key), list, tuple or deque (by position): the first ITEMS_MAX
 * followed; while containers are still searched, those up to WIDE_MAX also compared with
 * them (one read of the entry table, no read per item), so a list held in a dict of 5,000
 * entries is named `m.D['key']` without following 5,000 values; one that is the parent
 * of a container searched (h->parent, from the walk) is followed too: `m.D['key']['k2']`.
 */
static void expand_items(struct search *s, int idx)
{
	const struct node *nd = &s->nodes[idx];
	const struct pmw_pytype *ty = pmw_pyobj_type(s->r, nd->obj);
	size_t max = s->left ? WIDE_MAX : ITEMS_MAX;
	enum pmw_holder_kind kind = nd->kind;
	bool dict = nd->pk == PMW_PK_DICT;
	ssize_t n;

	if (!ty)
		return;
	n = dict ? pmw_dict_items(s->r, nd->obj, 1, s->items, max) :
		   pmw_seq_items(s->r, nd->obj, ty, 1, s->items, max);
	if (n <= 0)
		return;
	item_types(s, n < ITEMS_MAX ? n : ITEMS_MAX);
	for (ssize_t i = 0; i < n; i++) {
		struct step st = dict ? STEP(ST_KEY, 0, s->items[i].key) : STEP(ST_INDEX, i, 0);

		if (i < ITEMS_MAX)
			child(s, idx, s->items[i].value, s->types[i], s->items[i].slot, st, kind);
		else if (wanted(s, s->items[i].value))
			check_target(s, idx, s->items[i].value, s->items[i].slot, &st, kind);
		else if (wanted_parent(s, s->items[i].value))	/* USERS['u4321']['history'] */
			child(s, idx, s->items[i].value, 0, s->items[i].slot, st, kind);
	}
}

static void expand(struct search *s, int idx)
{
	struct node nd = s->nodes[idx];	/* copied: children may be appended */
	const struct pmw_pytype *ty;
	uint64_t dict = 0;
	struct step st = STEP(ST_DICT, 0, 0);
	ssize_t n;

	switch (nd.pk) {
	case PMW_PK_TYPE:
		ty = pmw_pytype_get(s->r, nd.obj);
		if (!ty || !ty->dict)
			return;
		attr_children(s, idx, pmw_dict_items(s->r, ty->dict, 1, s->items, GLOBALS_MAX),
			      PMW_HK_CLASS_ATTR);
		return;
	case PMW_PK_INSTANCE:
		ty = pmw_pyobj_type(s->r, nd.obj);
		if (!ty)
			return;
		expand_tls(s, idx, ty);
		n = pmw_instance_attrs(s->r, nd.obj, ty, s->items, GLOBALS_MAX, &dict);
		if (dict && s->left)	/* the instance's own __dict__: obj + tp_dictoffset or obj[-3] */
			check_target(s, idx, dict, nd.obj + (ty->dictoffset > 0 ? ty->dictoffset : -24),
				     &st, PMW_HK_INSTANCE_ATTR);
		attr_children(s, idx, n, PMW_HK_INSTANCE_ATTR);
		n = pmw_instance_slots(s->r, nd.obj, ty, s->items, ITEMS_MAX);
		for (ssize_t i = 0; i < n; i++)
			child(s, idx, s->items[i].value, 0, s->items[i].slot,
			      STEP(ST_SLOT, 0, s->items[i].key), PMW_HK_INSTANCE_ATTR);
		if (ty->heap)
			child(s, idx, ty->addr, 0, nd.obj + PMW_OB_TYPE, STEP(ST_CLASS, 0, 0),
			      nd.kind);
		return;
	case PMW_PK_FUNCTION:
		expand_function(s, idx, nd.obj);
		return;
	case PMW_PK_LRU:
		expand_lru(s, idx);
		return;
	case PMW_PK_METHOD: case PMW_PK_WRAPPER: case PMW_PK_PARTIAL:
		expand_wrapper(s, idx);
		return;
	case PMW_PK_OTHER:
		if ((ty = pmw_pyobj_type(s->r, nd.obj)))
			expand_tls(s, idx, ty);	/* 3.8-3.10: a static type */
		expand_gen(s, idx);
		return;
	case PMW_PK_DICT: case PMW_PK_LIST: case PMW_PK_TUPLE: case PMW_PK_DEQUE:
		expand_items(s, idx);
		return;
	default:
		return;
	}
}

/* the code object a frame runs, 0 if it is a shim or unreadable */
static uint64_t frame_code(struct pmw_pyr *r, uint64_t frame)
{
	const struct pmw_py_walk *w = &r->t->pv->walk;
	const struct pmw_pytype *ty;
	uint64_t code = 0;
	uint8_t owner;

	if (w->frame_owner && w->owner_cstack &&
	    (pmw_pyr_read(r, frame + w->frame_owner, &owner, 1) || owner == w->owner_cstack))
		return 0;
	if (pmw_pyr_read(r, frame + w->frame_code, &code, 8))
		return 0;
	code &= w->code_mask;
	ty = pmw_pyobj_type(r, code);
	return ty && !ty->heap && !strcmp(ty->name, "code") ? code : 0;
}

/* every thread's running frames as roots, innermost first (PyThreadState chain) */
static void frame_roots(struct search *s, uint64_t interp)
{
	const struct pmw_pyver *pv = s->r->t->pv;
	const struct pmw_py_walk *w = &pv->walk;
	uint64_t ts = 0, frame, code, globals;

	if (!pv->obj.threads_head || pmw_pyr_read(s->r, interp + pv->obj.threads_head, &ts, 8))
		return;
	for (int nt = 0; nt < THREADS_MAX && pmw_pyptr_ok(ts); nt++) {
		frame = 0;
		if (!pmw_pyr_read(s->r, ts + w->tstate_frame, &frame, 8) && w->cframe_frame &&
		    pmw_pyptr_ok(frame) && pmw_pyr_read(s->r, frame + w->cframe_frame - 1, &frame, 8))
			frame = 0;
		for (int nf = 0; nf < FRAMES_MAX && pmw_pyptr_ok(frame) && s->nnodes < NODE_CAP; nf++) {
			struct node *nd;

			code = frame_code(s->r, frame);
			if (code && !pmw_pyr_read(s->r, frame + pv->obj.frame_globals, &globals, 8) &&
			    seen_add(s, frame)) {
				nd = &s->nodes[s->nnodes++];
				nd->obj = frame;
				nd->parent = -1;
				nd->depth = 0;
				nd->kind = PMW_HK_FRAME_LOCAL;
				nd->pk = PK_FRAME;
				nd->step = (struct step){ .kind = ST_FRAME, .key = code, .key2 = globals };
			}
			if (pmw_pyr_read(s->r, frame + w->frame_back, &frame, 8))
				break;
		}
		if (pmw_pyr_read(s->r, ts + PMW_TSTATE_NEXT, &ts, 8))
			break;
	}
}

/* (name, value) pairs of a tuple of names: its items into s->items[at...].key */
static ssize_t name_tuple(struct search *s, uint64_t tuple, size_t at, size_t max)
{
	const struct pmw_pytype *ty = pmw_pyobj_type(s->r, tuple);
	struct pmw_pyitem tmp[LOCALS_MAX];
	ssize_t n;

	if (!ty || ty->kind != PMW_PK_TUPLE || at >= max)
		return 0;
	n = pmw_seq_items(s->r, tuple, ty, 1, tmp, max - at);
	for (ssize_t i = 0; i < n; i++)
		s->items[at + i].key = tmp[i].value;
	return n > 0 ? n : 0;
}

/*
 * The locals, cells and free variables of @frame running @code as children of node @idx,
 * each by its name (3.11+: co_localsplusnames, in localsplus order; <= 3.10: co_varnames,
 * co_cellvars, co_freevars, in f_localsplus order), with step @kind (ST_ATTR, ST_GENLOCAL).
 */
static void frame_locals(struct search *s, int idx, uint64_t frame, uint64_t code, uint8_t kind)
{
	const struct pmw_pyver *pv = s->r->t->pv;
	uint64_t vals[LOCALS_MAX], tup[3];
	ssize_t n = 0;
	int32_t nlocals;

	if (pv->obj.localsplus_311) {	/* names of locals, cells and frees, in localsplus order */
		if (!pmw_pyr_read(s->r, code + pv->obj.code_names, tup, 8))
			n = name_tuple(s, tup[0], 0, LOCALS_MAX);
	} else if (!pmw_pyr_read(s->r, code + PMW_CO_NLOCALS_310, &nlocals, 4) &&
		   !pmw_pyr_read(s->r, code + pv->obj.code_names, &tup[0], 8) &&
		   !pmw_pyr_read(s->r, code + PMW_CO_FREEVARS_310, &tup[2], 8) &&
		   !pmw_pyr_read(s->r, code + PMW_CO_CELLVARS_310, &tup[1], 8) &&
		   nlocals >= 0 && nlocals <= LOCALS_MAX) {
		/* f_localsplus: co_nlocals locals (co_varnames), then cells, then frees */
		n = name_tuple(s, tup[0], 0, nlocals);
		if (n == nlocals) {
			n += name_tuple(s, tup[1], n, LOCALS_MAX);
			n += name_tuple(s, tup[2], n, LOCALS_MAX);
		}
	}
	if (n <= 0 || pmw_pyr_read(s->r, frame + pv->obj.frame_localsplus, vals, n * 8))
		return;
	for (ssize_t i = 0; i < n; i++) {
		uint64_t v = vals[i] & pv->walk.code_mask;	/* 3.14+: tagged _PyStackRef */
		const struct pmw_pytype *ty = pmw_pyptr_ok(v) ? pmw_pyobj_type(s->r, v) : NULL;
		uint64_t slot = frame + pv->obj.frame_localsplus + i * 8;

		if (!ty)
			continue;
		if (ty->kind == PMW_PK_CELL && !ty->heap) {	/* a cell variable: its content */
			slot = v + PMW_CELL_REF;
			if (!(v = pmw_cell_get(s->r, v)))
				continue;
		}
		child(s, idx, v, 0, slot, STEP(kind, 0, s->items[i].key), PMW_HK_FRAME_LOCAL);
	}
}

/* the locals of a frame still running the code it was found with */
static void expand_frame(struct search *s, int idx)
{
	const struct node *nd = &s->nodes[idx];

	if (frame_code(s->r, nd->obj) == nd->step.key)	/* else returned meanwhile */
		frame_locals(s, idx, nd->obj, nd->step.key, ST_ATTR);
}

/*
 * A generator's, coroutine's or async generator's locals, `GEN.<locals>.acc`: 3.11+ its
 * _PyInterpreterFrame is inline at gen_iframe (gi_iframe, Include/internal/
 * pycore_genobject.h / cpython/genobject.h), gi_frame_state at gen_state (>= gen_done:
 * completed or cleared, no locals); 3.8-3.10 gi_frame (PyFrameObject *, NULL once
 * finished) at PMW_GEN_FRAME_310.
 */
static void expand_gen(struct search *s, int idx)
{
	const struct pmw_pyver *pv = s->r->t->pv;
	uint64_t obj = s->nodes[idx].obj, code, frame = 0;
	const struct pmw_pytype *ty = pmw_pyobj_type(s->r, obj);
	int8_t state;

	if (!ty || ty->heap || (strcmp(ty->name, "generator") && strcmp(ty->name, "coroutine") &&
				strcmp(ty->name, "async_generator")))
		return;
	if (pv->gen_iframe) {
		if (!pmw_pyr_read(s->r, obj + pv->gen_state, &state, 1) &&
		    state < (pv->gen_done ? pv->gen_done : 1))
			frame = obj + pv->gen_iframe;
	} else if (!pv->obj.localsplus_311 &&
		   (pmw_pyr_read(s->r, obj + PMW_GEN_FRAME_310, &frame, 8) || !pmw_pyptr_ok(frame))) {
		frame = 0;
	}
	if (frame && (code = frame_code(s->r, frame)))
		frame_locals(s, idx, frame, code, ST_GENLOCAL);
}

/* the modules of sys.modules as roots, then breadth first */
static int search(struct search *s)
{
	const struct pmw_target *t = s->r->t;
	uint64_t interp = pmw_py_interp(t), modules, md;
	struct step st = STEP(ST_DICT, 0, 0);
	static __thread uint8_t pks[MODULES_MAX];	/* kind of each root */
	ssize_t n, nmods = 0;

	if (!interp)
		return pmw_pid_alive(t->pid) ? -EAGAIN : -ESRCH;
	if (pmw_pyr_read(s->r, interp + t->pv->obj.interp_modules, &modules, 8))
		return pmw_pid_alive(t->pid) ? -EFAULT : -ESRCH;
	n = pmw_dict_items(s->r, modules, 1, s->items, MODULES_MAX);
	if (n < 0)
		return n == -EINVAL ? -EFAULT : (int)n;
	/*
	 * Modules in sys.modules order, each at its first key (an alias such as
	 * "__mp_main__" -> __main__ comes later), then queued latest imported first: a
	 * module imports its dependencies while it runs, after it entered sys.modules, so
	 * `from auth import TOKENS` in app finds auth.TOKENS before app.TOKENS, and
	 * __main__ (entered at start-up) comes after the modules it imports.
	 */
	for (ssize_t i = 0; i < n; i++) {
		const struct pmw_pytype *ty = pmw_pyobj_type(s->r, s->items[i].value);

		/* modules, and the objects some libraries put in sys.modules instead */
		if (ty && (ty->kind == PMW_PK_MODULE || ty->kind == PMW_PK_INSTANCE) &&
		    seen_add(s, s->items[i].value)) {
			pks[nmods] = ty->kind;
			s->items[nmods++] = s->items[i];
		}
	}
	for (ssize_t i = nmods - 1; i >= 0 && s->nnodes < NODE_CAP; i--) {
		uint64_t name = 0;
		struct node *nd;

		/* named by md_name: "__main__" also when reached as "__mp_main__" */
		if (pks[i] != PMW_PK_MODULE ||
		    pmw_pyr_read(s->r, s->items[i].value + t->pv->obj.md_name, &name, 8) ||
		    !pmw_pyptr_ok(name))
			name = s->items[i].key;
		nd = &s->nodes[s->nnodes++];
		nd->obj = s->items[i].value;
		nd->parent = -1;
		nd->depth = 0;
		nd->kind = PMW_HK_MODULE_GLOBAL;
		nd->pk = pks[i];
		nd->step = STEP(ST_MODULE, 0, name);
	}
	frame_roots(s, interp);	/* after the modules: a global is named before a local */
	/* breadth first: a node's children go to the end of the queue */
	for (size_t i = 0, ahead = 0; i < s->nnodes && s->left > 0 && s->r->reads < s->r->budget; i++) {
		if (i == ahead) {	/* the heads of the next nodes, one readv */
			size_t k = s->nnodes - i < PREFETCH ? s->nnodes - i : PREFETCH;

			for (size_t j = 0; j < k; j++)
				s->objs[j] = s->nodes[i + j].obj;
			pmw_pyr_prefetch(s->r, s->objs, k);
			ahead = i + k;
		}
		if (s->nodes[i].pk == PK_FRAME) {
			expand_frame(s, i);
			continue;
		}
		if (s->nodes[i].pk != PMW_PK_MODULE) {
			expand(s, i);
			continue;
		}
		if (pmw_pyr_read(s->r, s->nodes[i].obj + PMW_MD_DICT, &md, 8))
			continue;
		if (s->left)
			check_target(s, i, md, s->nodes[i].obj + PMW_MD_DICT, &st,
				     PMW_HK_MODULE_GLOBAL);
		seen_add(s, md);
		attr_children(s, i, pmw_dict_items(s->r, md, 1, s->items, GLOBALS_MAX),
			      PMW_HK_MODULE_GLOBAL);
	}
	opaque_scan(s);
	return 0;
}

/* len(), retained bytes (retained.c: the one computation) and most common item type of h->container */
static void measure(struct pmw_pyr *r, struct pmw_holder *h)
{
	struct pmw_retained rt;
	uint64_t budget = r->budget;
	int err;

	h->items = 0;
	h->retained_bytes = UINT64_MAX;
	h->item_type[0] = 0;
	/* reads of its own: the search may have spent the call's budget */
	r->budget = r->reads + PMW_RETAINED_READS;
	err = pmw_retained_measure(r, h->container, PMW_HOLDERS_SAMPLE, PMW_RETAINED_NODES, &rt);
	r->budget = budget;
	if (err)
		return;
	h->items = rt.items;
	snprintf(h->item_type, sizeof(h->item_type), "%s", rt.item_type);
	if (rt.sampled || !rt.items)	/* items exist but none could be read: unavailable */
		h->retained_bytes = rt.bytes;
}

static struct cached *cache_find(int pid, uint64_t container)
{
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].pid == pid && cache[i].container == container)
			return &cache[i];
	return NULL;
}

static void cache_put(int pid, const struct pmw_holder *h, uint64_t slot, time_t now)
{
	struct cached *c = cache_find(pid, h->container);

	if (!c) {
		c = &cache[0];
		for (int i = 1; i < CACHE_SLOTS && c->pid; i++)
			if (!cache[i].pid || cache[i].when < c->when)
				c = &cache[i];
	}
	if (c->pid != pid || c->container != h->container || h->path[0])
		c->misses = 0;
	if (!h->path[0])
		c->misses++;
	c->pid = pid;
	c->container = h->container;
	c->slot = slot;
	c->when = now;
	c->found = h->path[0] != 0;
	c->kind = h->kind;
	snprintf(c->path, sizeof(c->path), "%s", h->path);
}

void pmw_holders_forget(int pid)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].pid == pid)
			memset(&cache[i], 0, sizeof(cache[i]));
	pthread_mutex_unlock(&cache_lock);
}

void pmw_holders_last_stats(struct pmw_holders_stats *s)
{
	pthread_mutex_lock(&cache_lock);
	*s = last;
	pthread_mutex_unlock(&cache_lock);
}

/* the remembered path of h->container, if still valid; -1 searched, 0 not found recently, 1 found */
static int from_cache(struct pmw_pyr *r, struct pmw_holder *h, time_t now)
{
	struct cached *c = cache_find(r->t->pid, h->container);
	uint64_t v;

	if (!c)
		return -1;
	if (!c->found)	/* retried after 30 s, 60 s, ... 8 min */
		return now - c->when < (time_t)PMW_HOLDERS_RETRY_S << (c->misses < 5 ? c->misses - 1 : 4)
		       ? 0 : -1;
	if (now - c->when >= CACHE_TTL_S || !c->slot ||
	    pmw_pyr_read(r, c->slot, &v, sizeof(v)) || v != h->container)
		return -1;
	snprintf(h->path, sizeof(h->path), "%s", c->path);
	h->kind = c->kind;
	return 1;
}

/* Which of h[0..n) need a search (not answered by the cache): s->want, @asked. */
static void from_caches(struct search *s, struct pmw_pyr *r, struct pmw_holder *h, int n,
			uint8_t *asked, time_t now)
{
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < n; i++) {
		h[i].path[0] = 0;
		h[i].kind = PMW_HK_UNKNOWN;
		if (from_cache(r, &h[i], now) < 0) {
			s->want[s->nwant++] = i;
			asked[i] = 1;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	s->left = s->nwant;
}

/*
 * The search's working arrays (nodes, visited set, item scratch), kept for the
 * next search at their high-water mark (one search runs at a time; another at
 * once makes and frees its own): the visited set is cleared, not calloc'd
 * again (issue 18 point 4: pymemwatch's RSS was higher inside searches).
 */
struct scratch {
	struct node *nodes;
	uint64_t *seen;
	size_t cap_seen;
	struct pmw_pyitem *items;
	uint64_t *types;
};
static struct scratch kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

/* the kept arrays, or new ones: 0 or -ENOMEM */
static int scratch_take(struct search *s)
{
	pthread_mutex_lock(&kept_lock);
	s->nodes = kept.nodes;
	s->seen = kept.seen;
	s->cap_seen = kept.cap_seen;
	s->items = kept.items;
	s->types = kept.types;
	memset(&kept, 0, sizeof(kept));
	pthread_mutex_unlock(&kept_lock);
	if (!s->nodes)
		s->nodes = malloc(NODE_CAP * sizeof(*s->nodes));
	if (!s->seen) {
		s->seen = calloc(SEEN_MIN, sizeof(*s->seen));
		s->cap_seen = SEEN_MIN;
	}
	if (!s->items)
		s->items = calloc(SCRATCH_MAX, sizeof(*s->items));
	if (!s->types)
		s->types = calloc(SCRATCH_MAX, sizeof(*s->types));
	s->nseen = 0;
	return s->nodes && s->seen && s->items && s->types ? 0 : -ENOMEM;
}

/* back for the next search (the visited set cleared), or freed when one is kept already */
static void scratch_put(struct search *s)
{
	bool put = false;

	if (s->nodes && s->seen && s->items && s->types) {
		if (s->nseen)
			memset(s->seen, 0, s->cap_seen * sizeof(*s->seen));
		pthread_mutex_lock(&kept_lock);
		if (!kept.nodes) {
			kept = (struct scratch){ s->nodes, s->seen, s->cap_seen, s->items, s->types };
			put = true;
		}
		pthread_mutex_unlock(&kept_lock);
	}
	if (!put) {
		free(s->nodes);
		free(s->seen);
		free(s->items);
		free(s->types);
	}
	s->nodes = NULL;
	s->seen = NULL;
	s->items = NULL;
	s->types = NULL;
}

/* The search proper, with the large type cache (it meets every type). 0 or -errno. */
static int search_all(struct search *s, struct pmw_pyr *r, const struct pmw_target *t)
{
	uint64_t reads = r->reads;
	int err;

	pmw_pyr_free(r);
	err = pmw_pyr_init(r, t, PMW_HOLDERS_BUDGET, 0);
	r->reads = reads;
	if (err)
		return err;
	err = search(s);
	if (err == -ESRCH || err == -ENOMEM)
		return err;
	if (err)
		vlog("PID %d: holder search: %s\n", t->pid, strerror(-err));
	return 0;
}

/* Cache what was searched; the counters of this call. Returns the paths found. */
static int finish(struct search *s, struct pmw_pyr *r, const struct pmw_target *t,
		  struct pmw_holder *h, int n, const uint8_t *asked, time_t now, double t0)
{
	int found = 0;

	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < n; i++) {
		if (h[i].path[0])
			found++;
		/*
		 * found now, or searched in vain (also when the budget ran out: a process too
		 * large to search whole is searched again only after PMW_HOLDERS_RETRY_S, 2x...)
		 */
		if (asked[i])
			cache_put(t->pid, &h[i], s->slot[i], now);
	}
	last.reads = r->reads;
	last.nodes = s->nnodes;
	last.torn = r->torn;
	last.budget_spent = r->reads >= r->budget;
	last.ms = (pmw_now_s() - t0) * 1e3;
	pthread_mutex_unlock(&cache_lock);
	dlog("PID %d: holders: %d/%d found, %llu reads, %zu nodes, %llu torn, %.1f ms\n", t->pid,
	     found, n, (unsigned long long)r->reads, s->nnodes, (unsigned long long)r->torn, last.ms);
	return found;
}

int pmw_holders_find(const struct pmw_target *t, struct pmw_holder *h, int n)
{
	struct search s = { 0 };
	struct pmw_pyr r;
	double t0 = pmw_now_s();
	time_t now = time(NULL);
	uint8_t *asked = NULL;	/* h[i] searched this call */
	int err, found = 0;

	/* free-threaded builds lay objects out differently (ob_type @24): not supported */
	if (!t->pv || !t->pv->obj.interp_modules || t->free_threaded)
		return -EOPNOTSUPP;
	if (!t->runtime_vaddr)
		return -ENOENT;
	if (n <= 0)
		return 0;
	err = pmw_pyr_init(&r, t, PMW_HOLDERS_BUDGET, MEASURE_TYPES);
	if (err)
		return err;
	s.r = &r;
	s.h = h;
	s.slot = calloc(n, sizeof(*s.slot));
	s.want = calloc(n, sizeof(*s.want));
	asked = calloc(n, 1);
	if (!s.slot || !s.want || !asked || scratch_take(&s)) {
		err = -ENOMEM;
		goto out;
	}
	from_caches(&s, &r, h, n, asked, now);
	if (s.nwant && (err = search_all(&s, &r, t)))
		goto out;
	for (int i = 0; i < n; i++)
		measure(&r, &h[i]);
	found = finish(&s, &r, t, h, n, asked, now, t0);
out:
	free(s.slot);
	free(s.want);
	free(asked);
	scratch_put(&s);
	pmw_pyr_free(&r);
	if (err == 0 && !pmw_pid_alive(t->pid))
		err = -ESRCH;
	return err ? err : found;
}
