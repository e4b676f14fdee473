// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "pyline.h"
#include "pystack.h"
#include "pyver.h"
#include "util.h"

/* free-threaded: every object field sits this many bytes later (pyver.h struct pmw_pyver_ft) */
static unsigned int ob_shift(const struct pmw_target *t)
{
	return t->ft ? t->ft->ob_shift : 0;
}

#define CACHE_SLOTS	1024		/* direct-mapped by code address: ~420 KiB */
#define MAX_LINETABLE	(64 << 10)	/* larger tables are refused */

struct code_entry {
	uint64_t code;			/* 0 = empty */
	uint64_t filename_ptr;		/* validation */
	int32_t firstlineno;		/* validation */
	char file[256];
	char func[128];
	uint8_t *table;			/* line table bytes */
	size_t table_len;
};

struct pmw_code_cache {
	struct code_entry slot[CACHE_SLOTS];
};

struct pmw_code_cache *pmw_code_cache_new(void)
{
	return calloc(1, sizeof(struct pmw_code_cache));
}

void pmw_code_cache_free(struct pmw_code_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CACHE_SLOTS; i++)
		free(c->slot[i].table);
	free(c);
}

static void put_utf8(char **p, char *end, uint32_t cp)
{
	char tmp[4];
	int n;

	if (cp < 0x80) {
		tmp[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = 0xc0 | cp >> 6;
		tmp[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = 0xe0 | cp >> 12;
		tmp[1] = 0x80 | ((cp >> 6) & 0x3f);
		tmp[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		tmp[0] = 0xf0 | cp >> 18;
		tmp[1] = 0x80 | ((cp >> 12) & 0x3f);
		tmp[2] = 0x80 | ((cp >> 6) & 0x3f);
		tmp[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	if (end - *p <= n)
		return;
	memcpy(*p, tmp, n);
	*p += n;
}

int pmw_read_str(const struct pmw_target *t, uint64_t addr, char *buf, size_t len)
{
	/* PyASCIIObject: length @16, state @32 (kind bits 2-4, compact bit 5, ascii bit 6) */
	struct { int64_t refcnt; uint64_t type; int64_t length; int64_t hash; uint32_t state; } h;
	unsigned int kind, compact, ascii;
	size_t n, esize;
	uint8_t raw[1024];
	char *p = buf, *end = buf + len;

	if (!len || pmw_mem_read(t->pid, addr + ob_shift(t), &h, sizeof(h)))
		return -EFAULT;
	kind = (h.state >> 2) & 7;
	compact = (h.state >> 5) & 1;
	ascii = (h.state >> 6) & 1;
	if (h.length < 0 || !compact || (kind != 1 && kind != 2 && kind != 4))
		return -EINVAL;
	esize = kind;
	/* compare lengths, not byte counts: length * kind overflows for a hostile length */
	n = (uint64_t)h.length > sizeof(raw) / esize ? sizeof(raw) / esize : (size_t)h.length;
	/* ascii_data comes from a 3.13+ target's _Py_DebugOffsets (its own head); 3.13's
	 * publish no compact size: the table's, shifted on a free-threaded build */
	if (pmw_mem_read(t->pid, addr + (ascii ? t->pv->ascii_data :
					 t->pv->compact_data + ob_shift(t)), raw,
			 n * esize))
		return -EFAULT;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = kind == 1 ? raw[i] : kind == 2 ? ((uint16_t *)raw)[i] : ((uint32_t *)raw)[i];

		put_utf8(&p, end, cp);
	}
	*p = 0;
	return p - buf;
}

/* pmw_type_name of objects whose head is @sh bytes longer (free-threaded) */
static int type_name_sh(const struct pmw_target *t, uint64_t type, unsigned int sh, char *buf,
			size_t len)
{
	uint64_t meta, name;
	unsigned long flags;

	if (!type || type & 7)
		return -ENOENT;
	/* a type's own type is `type` or a metaclass: both have Py_TPFLAGS_TYPE_SUBCLASS */
	if (pmw_mem_read(t->pid, type + sh + PMW_OB_TYPE, &meta, sizeof(meta)) || !meta ||
	    meta & 7 || pmw_mem_read(t->pid, meta + sh + PMW_TP_FLAGS, &flags, sizeof(flags)) ||
	    !(flags & PMW_TPFLAGS_TYPE_SUBCLASS))
		return -ENOENT;
	if (pmw_mem_read(t->pid, type + sh + PMW_TP_NAME, &name, sizeof(name)) || !name)
		return -ENOENT;
	memset(buf, 0, len);
	for (size_t i = 0; i + 1 < len; i += 16) {
		size_t k = len - 1 - i < 16 ? len - 1 - i : 16;

		if (pmw_mem_read(t->pid, name + i, buf + i, k))
			break;
		if (memchr(buf + i, 0, k))
			break;
	}
	buf[len - 1] = 0;
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return -ENOENT;
	return buf[0] ? 0 : -ENOENT;
}

int pmw_type_name(const struct pmw_target *t, uint64_t type, char *buf, size_t len)
{
	return type_name_sh(t, type, 0, buf, len);
}

/* the object at @obj has a type whose name we can read (either build's head) */
static int type_name(const struct pmw_target *t, uint64_t obj, char *buf, size_t len)
{
	uint64_t type;

	if (pmw_mem_read(t->pid, obj + ob_shift(t) + PMW_OB_TYPE, &type, sizeof(type)))
		return -ENOENT;
	return type_name_sh(t, type, ob_shift(t), buf, len);
}

static int load_code(const struct pmw_target *t, uint64_t code, struct code_entry *e)
{
	const struct pmw_pyver *pv = t->pv;
	uint64_t fname = 0, name = 0, table = 0;
	int32_t first = 0;
	int64_t tlen = 0;
	char tn[32];

	if (type_name(t, code, tn, sizeof(tn)) || strcmp(tn, "code"))
		return -EFAULT;
	if (pmw_mem_read(t->pid, code + pv->co_filename, &fname, sizeof(fname)) ||
	    pmw_mem_read(t->pid, code + (pv->co_qualname ? pv->co_qualname : pv->co_name), &name,
			 sizeof(name)) ||
	    pmw_mem_read(t->pid, code + pv->co_firstlineno, &first, sizeof(first)) ||
	    pmw_mem_read(t->pid, code + pv->co_linetable, &table, sizeof(table)))
		return -EFAULT;
	free(e->table);
	memset(e, 0, sizeof(*e));
	if (pmw_read_str(t, fname, e->file, sizeof(e->file)) < 0)
		snprintf(e->file, sizeof(e->file), "?");
	if (pmw_read_str(t, name, e->func, sizeof(e->func)) < 0)
		snprintf(e->func, sizeof(e->func), "?");
	table += table ? ob_shift(t) : 0;	/* a bytes object's head */
	if (table && !pmw_mem_read(t->pid, table + PMW_OB_SIZE, &tlen, sizeof(tlen)) && tlen > 0 &&
	    tlen <= MAX_LINETABLE) {
		e->table = malloc(tlen);
		if (e->table && !pmw_mem_read(t->pid, table + PMW_OB_SVAL, e->table, tlen))
			e->table_len = tlen;
	}
	e->code = code;
	e->filename_ptr = fname;
	e->firstlineno = first;
	return 0;
}

int pmw_frame_resolve(const struct pmw_target *t, struct pmw_code_cache *c, uint64_t code,
		      uint64_t instr, struct pmw_frame *out)
{
	struct code_entry *e = &c->slot[(code >> 4) % CACHE_SLOTS];
	const struct pmw_pyver *pv = t->pv;
	uint64_t fname = 0;
	int32_t first = 0;
	int64_t off;

	/* validate a cached entry: the address may now hold another code object */
	if (e->code == code &&
	    (pmw_mem_read(t->pid, code + pv->co_filename, &fname, sizeof(fname)) ||
	     pmw_mem_read(t->pid, code + pv->co_firstlineno, &first, sizeof(first)) ||
	     fname != e->filename_ptr || first != e->firstlineno))
		e->code = 0;
	if (e->code != code && load_code(t, code, e))
		return -EFAULT;
	snprintf(out->file, sizeof(out->file), "%s", e->file);
	snprintf(out->func, sizeof(out->func), "%s", e->func);
	/* byte offset of the instruction in the bytecode */
	if (pv->lasti_unit)
		off = (int64_t)instr * pv->lasti_unit;		/* f_lasti */
	else
		off = (int64_t)(instr - (code + pv->co_code_adaptive));
	out->line = -1;
	if (off >= 0 && e->table_len) {
		int line = pmw_py_line(pv->line_table, e->table, e->table_len, e->firstlineno, (uint32_t)off);

		out->line = line >= 0 ? line : -1;
	}
	if (out->line < 0)
		out->line = e->firstlineno;	/* at least the function's first line */
	return 0;
}
