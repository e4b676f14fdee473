// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <zlib.h>
#include "elfimg.h"
#include "log.h"
#include "util.h"

/* The section and program header tables lie inside the file (not truncated) */
static bool headers_in_file(const struct pmw_elf *e, off_t size)
{
	const GElf_Ehdr *h = &e->ehdr;
	size_t shnum = h->e_shnum, phnum = h->e_phnum;

	/* libelf quietly reports 0 sections for a table past the end of the file */
	if (h->e_shoff && h->e_shoff >= (uint64_t)size)
		return false;
	if ((!shnum && h->e_shoff && elf_getshdrnum(e->elf, &shnum)) ||
	    (phnum == PN_XNUM && elf_getphdrnum(e->elf, &phnum)))
		return false;
	if (shnum && (h->e_shentsize != sizeof(Elf64_Shdr) || h->e_shoff > (uint64_t)size ||
		      shnum > ((uint64_t)size - h->e_shoff) / sizeof(Elf64_Shdr)))
		return false;
	if (phnum && (h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phoff > (uint64_t)size ||
		      phnum > ((uint64_t)size - h->e_phoff) / sizeof(Elf64_Phdr)))
		return false;
	return true;
}

/*
 * Open @path read-only for parsing. A path inside a target's root
 * ("/proc/PID/root/...") is resolved with openat2(RESOLVE_IN_ROOT), so that
 * a symlink planted in a container (absolute, or with "..") stays inside
 * that container instead of reaching the host's files. O_NONBLOCK: a FIFO
 * planted where a debug file is expected must not hang us.
 * Returns an fd or -errno; -EINVAL for anything but a regular file.
 */
static int open_target_file(const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char rootdir[48];
	struct stat st;
	int pid, n = 0, fd, rfd;

	if (sscanf(path, "/proc/%d/root/%n", &pid, &n) == 1 && n > 0) {
		snprintf(rootdir, sizeof(rootdir), "/proc/%d/root", pid);
		rfd = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0)
			return -errno;
		fd = syscall(SYS_openat2, rfd, path + n, &how, sizeof(how));
		if (fd < 0 && errno == ENOSYS)	/* before 5.6 */
			fd = openat(rfd, path + n, how.flags | O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
		close(rfd);
	} else {
		fd = open(path, how.flags);
		if (fd < 0)
			fd = -errno;
	}
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -EINVAL;
	}
	return fd;
}

int pmw_elf_open(struct pmw_elf *e, const char *path)
{
	struct stat st;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->fd = open_target_file(path);
	if (e->fd < 0) {
		int err = e->fd;

		e->fd = -1;
		return err;
	}
	if (fstat(e->fd, &st) < 0) {
		int err = -errno;

		pmw_elf_close(e);
		return err;
	}
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->ehdr) ||
	    gelf_getclass(e->elf) != ELFCLASS64) {
		pmw_elf_close(e);
		return -ENOEXEC;
	}
	if (!headers_in_file(e, st.st_size)) {
		pmw_elf_close(e);
		return -EBADMSG;
	}
	return 0;
}

void pmw_elf_close(struct pmw_elf *e)
{
	if (e->debug) {
		pmw_elf_close(e->debug);
		free(e->debug);
		e->debug = NULL;
	}
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	e->elf = NULL;
	e->fd = -1;
}

int pmw_elf_section(const struct pmw_elf *e, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(e->elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return 0;
	}
	return -ENOENT;
}

static Elf_Scn *section_by_type(const struct pmw_elf *e, GElf_Word type, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn)))
		if (gelf_getshdr(scn, shdr) && shdr->sh_type == type)
			return scn;
	return NULL;
}

int pmw_elf_build_id(const struct pmw_elf *e, char *hex, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(e->elf, scn))) {
		Elf_Data *data;
		GElf_Nhdr nhdr;
		size_t off = 0, noff, doff;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nhdr, &noff, &doff)) > 0) {
			const unsigned char *d = (const unsigned char *)data->d_buf + doff;

			if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + noff, "GNU", 4))
				continue;
			if (len < nhdr.n_descsz * 2 + 1 || nhdr.n_descsz == 0)
				return -ENOSPC;
			for (size_t i = 0; i < nhdr.n_descsz; i++)
				sprintf(hex + 2 * i, "%02x", d[i]);
			return nhdr.n_descsz;
		}
	}
	return -ENOENT;
}

/* .gnu_debuglink: file name, NUL, padding to 4, CRC32 of the debug file (gdb's format) */
static int debuglink(const struct pmw_elf *e, char *name, size_t len, uint32_t *crc)
{
	GElf_Shdr shdr;
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		n = elf_strptr(e->elf, shstrndx, shdr.sh_name);
		if (!n || strcmp(n, ".gnu_debuglink"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_size || !memchr(data->d_buf, 0, data->d_size))
			return -ENOENT;
		snprintf(name, len, "%s", (const char *)data->d_buf);
		{
			size_t off = (strlen(data->d_buf) + 4) & ~(size_t)3;

			if (off + 4 > data->d_size)
				return -ENOENT;
			memcpy(crc, (const char *)data->d_buf + off, 4);
		}
		return 0;
	}
	return -ENOENT;
}

/* CRC32 (zlib's, as gdb uses for .gnu_debuglink) of the whole file open at @fd */
static uint32_t file_crc32(int fd)
{
	unsigned char buf[1 << 16];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;
	off_t off = 0;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, n);
		off += n;
	}
	return crc;
}

/*
 * Take @cand as @e's debuginfo if it matches: same build-id when @e has
 * one, else (@use_crc) the CRC32 that @e's .gnu_debuglink records. A
 * mismatched file would put probes at wrong addresses: never use one.
 */
static int try_debug(struct pmw_elf *e, const char *cand, const char *want_id, bool use_crc,
		     uint32_t want_crc)
{
	struct pmw_elf *d = calloc(1, sizeof(*d));
	char id[128];

	if (!d)
		return -ENOMEM;
	if (pmw_elf_open(d, cand)) {
		free(d);
		return -ENOENT;
	}
	if ((want_id[0] && (pmw_elf_build_id(d, id, sizeof(id)) < 0 || strcmp(id, want_id))) ||
	    (!want_id[0] && use_crc && file_crc32(d->fd) != want_crc)) {
		wlog("%s: %s does not match %s, ignored\n", cand, want_id[0] ? "build-id" : "CRC",
		     e->path);
		pmw_elf_close(d);
		free(d);
		return -ENOENT;
	}
	if (section_by_type(d, SHT_SYMTAB, &(GElf_Shdr){}) == NULL) {
		pmw_elf_close(d);
		free(d);
		return -ENOENT;
	}
	e->debug = d;
	vlog("debuginfo for %s: %s\n", e->path, cand);
	return 0;
}

int pmw_elf_load_debuginfo(struct pmw_elf *e, const char *root)
{
	char id[128] = "", link[256], cand[PATH_MAX + 64], dir[PATH_MAX];
	const char *roots[2] = { root, "" };
	uint32_t crc = 0;

	if (e->debug)
		return 0;
	pmw_elf_build_id(e, id, sizeof(id));
	for (int r = 0; r < (root && root[0] ? 2 : 1); r++) {
		if (strlen(id) > 2) {
			snprintf(cand, sizeof(cand), "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
				 roots[r], id, id + 2);
			if (!try_debug(e, cand, id, false, 0))
				return 0;
		}
	}
	if (debuglink(e, link, sizeof(link), &crc) || strchr(link, '/'))
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s", e->path);
	dirname(dir);
	{
		/* the file's directory as the target sees it, without the /proc/PID/root prefix */
		const char *tdir = dir;
		size_t rl = root ? strlen(root) : 0;

		if (rl && !strncmp(dir, root, rl))
			tdir = dir + rl;
		const char *fmts[] = { "%s%s/%s", "%s%s/.debug/%s", "%s/usr/lib/debug%s/%s" };

		for (int r = 0; r < (root && root[0] ? 2 : 1); r++) {
			for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
				snprintf(cand, sizeof(cand), fmts[i], roots[r], tdir, link);
				if (!strcmp(cand, e->path))
					continue;
				if (!try_debug(e, cand, id, true, crc))
					return 0;
			}
		}
	}
	return -ENOENT;
}

typedef int (*sym_cb)(const char *name, const GElf_Sym *s, void *arg);

static int for_each_symbol(const struct pmw_elf *e, GElf_Word type, sym_cb cb, void *arg)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(e->elf, scn))) {
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != type || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = shdr.sh_size / shdr.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;
			int ret;

			if (!gelf_getsym(data, i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			name = elf_strptr(e->elf, shdr.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			ret = cb(name, &s, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}

struct find_ctx {
	const char *want;
	struct pmw_sym *out;
	int max, n;
	bool funcs_only;
};

static int find_cb(const char *name, const GElf_Sym *s, void *arg)
{
	struct find_ctx *c = arg;
	int type = GELF_ST_TYPE(s->st_info);

	if (!pmw_sym_match(name, c->want) || pmw_sym_is_cold(name))
		return 0;
	if (c->funcs_only && type != STT_FUNC)
		return 0;
	if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE && type != STT_TLS)
		return 0;
	for (int i = 0; i < c->n; i++)
		if (c->out[i].addr == s->st_value)
			return 0;
	if (c->n == c->max)
		return 1;
	c->out[c->n].addr = s->st_value;
	c->out[c->n].size = s->st_size;
	snprintf(c->out[c->n].name, sizeof(c->out[c->n].name), "%s", name);
	c->n++;
	/* exact name wins outright for single lookups */
	return c->max == 1 && !strcmp(name, c->want);
}

static int find_all(struct pmw_elf *e, const char *name, struct pmw_sym *syms, int max, bool funcs)
{
	struct find_ctx c = { .want = name, .out = syms, .max = max, .funcs_only = funcs };
	struct pmw_elf *imgs[2] = { e, e->debug };

	for (int i = 0; i < 2 && !c.n; i++) {
		if (!imgs[i])
			continue;
		for_each_symbol(imgs[i], SHT_SYMTAB, find_cb, &c);
		if (!c.n)
			for_each_symbol(imgs[i], SHT_DYNSYM, find_cb, &c);
	}
	return c.n;
}

int pmw_elf_find_symbol(struct pmw_elf *e, const char *name, struct pmw_sym *sym)
{
	return find_all(e, name, sym, 1, false) ? 0 : -ENOENT;
}

int pmw_elf_find_functions(struct pmw_elf *e, const char *name, struct pmw_sym *syms, int max)
{
	return find_all(e, name, syms, max, true);
}

int pmw_elf_vaddr_to_offset(const struct pmw_elf *e, GElf_Addr vaddr, GElf_Off *off)
{
	size_t n;

	if (elf_getphdrnum(e->elf, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

GElf_Addr pmw_elf_link_base(const struct pmw_elf *e)
{
	GElf_Addr base = (GElf_Addr)-1;
	size_t n;

	if (elf_getphdrnum(e->elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		GElf_Addr a = ph.p_vaddr - ph.p_offset;

		if (a < base)
			base = a;
	}
	return base == (GElf_Addr)-1 ? 0 : base;
}

int pmw_elf_read(const struct pmw_elf *e, GElf_Addr vaddr, void *buf, size_t len)
{
	GElf_Off off, end;

	if (pmw_elf_vaddr_to_offset(e, vaddr, &off) ||
	    pmw_elf_vaddr_to_offset(e, vaddr + len - 1, &end) || end != off + len - 1)
		return -ENOENT;
	return pread(e->fd, buf, len, off) == (ssize_t)len ? 0 : -EIO;
}

int pmw_elf_needed(const struct pmw_elf *e, char names[][256], int max, char *runpath, size_t rplen)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_by_type(e, SHT_DYNAMIC, &shdr);
	Elf_Data *data;
	int n = 0;

	if (runpath && rplen)
		runpath[0] = 0;
	if (!scn || !(data = elf_getdata(scn, NULL)) || !shdr.sh_entsize)
		return 0;
	for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
		GElf_Dyn d;
		const char *s;

		if (!gelf_getdyn(data, i, &d))
			break;
		if (d.d_tag != DT_NEEDED && d.d_tag != DT_RUNPATH && d.d_tag != DT_RPATH)
			continue;
		s = elf_strptr(e->elf, shdr.sh_link, d.d_un.d_val);
		if (!s)
			continue;
		if (d.d_tag == DT_NEEDED && n < max)
			snprintf(names[n++], 256, "%s", s);
		else if (d.d_tag != DT_NEEDED && runpath && (d.d_tag == DT_RUNPATH || !runpath[0]))
			snprintf(runpath, rplen, "%s", s);
	}
	return n;
}
