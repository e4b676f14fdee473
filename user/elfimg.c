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
#include <time.h>
#include <linux/openat2.h>
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <lzma.h>
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

double pmw_debuginfod_timeout = 30;

void pmw_elf_close(struct pmw_elf *e)
{
	struct pmw_elf **subs[] = { &e->debug, &e->mini };

	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		if (*subs[i]) {
			pmw_elf_close(*subs[i]);
			free(*subs[i]);
			*subs[i] = NULL;
		}
	}
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->mem);
	e->mem = NULL;
	e->elf = NULL;
	e->fd = -1;
}

static Elf_Scn *section_by_name(const struct pmw_elf *e, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(e->elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

int pmw_elf_section(const struct pmw_elf *e, const char *name, GElf_Shdr *shdr)
{
	return section_by_name(e, name, shdr) ? 0 : -ENOENT;
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
	Elf_Scn *scn = section_by_name(e, ".gnu_debuglink", &shdr);
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	size_t off;

	if (!data || !data->d_size || !memchr(data->d_buf, 0, data->d_size))
		return -ENOENT;
	snprintf(name, len, "%s", (const char *)data->d_buf);
	off = (strlen(data->d_buf) + 4) & ~(size_t)3;
	if (off + 4 > data->d_size)
		return -ENOENT;
	memcpy(crc, (const char *)data->d_buf + off, 4);
	return 0;
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
 * @url: where debuginfod fetched @cand from (the caller reports a mismatch),
 * NULL for a local file. Returns 0, -EBADMSG (mismatch) or -ENOENT.
 */
static int try_debug(struct pmw_elf *e, const char *cand, const char *want_id, bool use_crc,
		     uint32_t want_crc, const char *url)
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
		if (!url)
			wlog("%s: %s does not match %s, ignored\n", cand,
			     want_id[0] ? "build-id" : "CRC", e->path);
		pmw_elf_close(d);
		free(d);
		return -EBADMSG;
	}
	if (section_by_type(d, SHT_SYMTAB, &(GElf_Shdr){}) == NULL) {
		pmw_elf_close(d);
		free(d);
		return -ENOENT;
	}
	if (url)
		snprintf(d->url, sizeof(d->url), "%s", url);
	e->debug = d;
	if (!url)	/* else the debuginfod status line says it */
		vlog("debuginfo for %s: %s\n", e->path, cand);
	return 0;
}

/* A local debug file for @e (build-id @id, "" if none): see pmw_elf_load_debuginfo */
static int find_local_debug(struct pmw_elf *e, const char *root, const char *id)
{
	char link[256], cand[PATH_MAX + 64], dir[PATH_MAX];
	const char *roots[2] = { root, "" };
	uint32_t crc = 0;

	for (int r = 0; r < (root && root[0] ? 2 : 1); r++) {
		if (strlen(id) > 2) {
			snprintf(cand, sizeof(cand), "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
				 roots[r], id, id + 2);
			if (!try_debug(e, cand, id, false, 0, NULL))
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
				if (!try_debug(e, cand, id, true, crc, NULL))
					return 0;
			}
		}
	}
	return -ENOENT;
}

/* Largest .gnu_debugdata accepted, compressed and decompressed: the file is the target's */
#define MINI_MAX_IN	(16u << 20)
#define MINI_MAX_OUT	(64u << 20)
/* liblzma's decoder memory limit: xz -9's 64 MiB dictionary needs ~65 MiB */
#define MINI_MEMLIMIT	(96u << 20)

/*
 * xz-decompress @in (@n bytes) with liblzma into a malloc'd buffer.
 * Returns 0 (@out, @outlen set), -EBADMSG (not xz, corrupt), -E2BIG, -ENOMEM.
 */
static int xz_decompress(const void *in, size_t n, void **out, size_t *outlen)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = n * 4 < (1 << 20) ? 1 << 20 : n * 4;
	unsigned char *buf = NULL;
	lzma_ret r;
	int err = 0;

	if (lzma_stream_decoder(&strm, MINI_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	strm.next_in = in;
	strm.avail_in = n;
	do {
		if (!buf || !strm.avail_out) {
			size_t used = buf ? cap : 0;
			unsigned char *nb;

			if (buf)
				cap *= 2;
			if (cap > MINI_MAX_OUT) {
				err = -E2BIG;
				break;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
			strm.next_out = buf + used;
			strm.avail_out = cap - used;
		}
		r = lzma_code(&strm, LZMA_FINISH);
	} while (r == LZMA_OK);
	if (!err && r != LZMA_STREAM_END)
		err = r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR ? -E2BIG : -EBADMSG;
	*outlen = strm.total_out;
	lzma_end(&strm);
	if (err)
		free(buf);
	else
		*out = buf;
	return err;
}

int pmw_elf_load_minidebuginfo(struct pmw_elf *e)
{
	struct pmw_elf *m;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	Elf_Data *data;
	void *img;
	size_t len;
	int err;

	if (e->mini)
		return 0;
	scn = section_by_name(e, ".gnu_debugdata", &shdr);
	if (!scn || shdr.sh_type != SHT_PROGBITS)
		return -ENOENT;
	if (shdr.sh_size > MINI_MAX_IN)
		return -E2BIG;
	data = elf_rawdata(scn, NULL);
	if (!data || !data->d_buf || !data->d_size)
		return -EBADMSG;
	err = xz_decompress(data->d_buf, data->d_size, &img, &len);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(img);
		return -ENOMEM;
	}
	m->fd = -1;
	m->mem = img;
	snprintf(m->path, sizeof(m->path), "%.4000s (MiniDebugInfo)", e->path);
	m->elf = elf_memory(img, len);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF || !gelf_getehdr(m->elf, &m->ehdr) ||
	    gelf_getclass(m->elf) != ELFCLASS64 || m->ehdr.e_machine != e->ehdr.e_machine ||
	    !headers_in_file(m, len) || !section_by_type(m, SHT_SYMTAB, &shdr)) {
		pmw_elf_close(m);
		free(m);
		return -EBADMSG;
	}
	e->mini = m;
	return 0;
}

struct dbgd_progress {
	struct timespec start;
	double limit;
	bool cancelled;
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * libdebuginfod, loaded at run time (dlopen, as gdb and systemd do) the first
 * time a debug file is to be fetched, so that it is no hard dependency: the
 * functions below, or NULL with the reason said once on stderr. The static
 * build (PMW_STATIC) cannot load a shared library into a statically linked
 * glibc, so there it is never available.
 */
static struct dbgd_lib {
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
	void (*set_user_data)(debuginfod_client *, void *);
	void *(*get_user_data)(debuginfod_client *);
	const char *(*get_url)(debuginfod_client *);
} dbgd;
static int dbgd_state;		/* 0 not tried, 1 loaded, -1 unavailable */
static char dbgd_why[256];

#define PMW_DEBUGINFOD_SO "libdebuginfod.so.1"

static int dbgd_load(void)
{
#ifdef PMW_STATIC
	snprintf(dbgd_why, sizeof(dbgd_why), "this is the static build, which cannot load %s; "
		 "use the dynamic build to fetch debug files", PMW_DEBUGINFOD_SO);
	return -ENOSYS;
#else
	static const struct {
		const char *name;
		void **fn;
	} fns[] = {
		{ "debuginfod_begin", (void **)&dbgd.begin },
		{ "debuginfod_end", (void **)&dbgd.end },
		{ "debuginfod_find_debuginfo", (void **)&dbgd.find_debuginfo },
		{ "debuginfod_set_progressfn", (void **)&dbgd.set_progressfn },
		{ "debuginfod_set_user_data", (void **)&dbgd.set_user_data },
		{ "debuginfod_get_user_data", (void **)&dbgd.get_user_data },
		{ "debuginfod_get_url", (void **)&dbgd.get_url },
	};
	void *h = dlopen(PMW_DEBUGINFOD_SO, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(dbgd_why, sizeof(dbgd_why), "%s; install it (Debian: libdebuginfod1, "
			 "Fedora: elfutils-debuginfod-client)", dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		*fns[i].fn = dlsym(h, fns[i].name);
		if (!*fns[i].fn) {
			snprintf(dbgd_why, sizeof(dbgd_why), "%s has no %s (elfutils older than "
				 "0.179?)", PMW_DEBUGINFOD_SO, fns[i].name);
			dlclose(h);
			return -ENOENT;
		}
	}
	return 0;
#endif
}

/* libdebuginfod's functions, or NULL (said once: why, and what is lost) */
static const struct dbgd_lib *dbgd_get(void)
{
	if (!dbgd_state) {
		dbgd_state = dbgd_load() ? -1 : 1;
		if (dbgd_state < 0)
			wlog("debuginfod: DEBUGINFOD_URLS is set, but libdebuginfod is not available "
			     "(%s): debug files are not fetched\n", dbgd_why);
	}
	return dbgd_state > 0 ? &dbgd : NULL;
}

const char *pmw_debuginfod_status(void)
{
	static char text[sizeof(dbgd_why) + 16];

	if (!dbgd_state)
		dbgd_state = dbgd_load() ? -1 : 1;
	snprintf(text, sizeof(text), "unavailable: %s", dbgd_why);
	return dbgd_state > 0 ? "available (" PMW_DEBUGINFOD_SO ")" : text;
}

/* libdebuginfod's progress callback (about once a second): non-zero cancels the fetch */
static int dbgd_progress(debuginfod_client *c, long done, long total)
{
	struct dbgd_progress *p = dbgd.get_user_data(c);

	if (since(&p->start) <= p->limit)
		return 0;
	p->cancelled = true;
	return 1;
}

/*
 * Fetch @e's debug file (build-id @id) through libdebuginfod from
 * $DEBUGINFOD_URLS (or its cache), within pmw_debuginfod_timeout seconds:
 * the library's DEBUGINFOD_MAXTIME is set to that for the call unless the
 * user set a smaller one, and the progress callback cancels a transfer that
 * outlasts it. One line on stderr says what is fetched, from where, and the
 * result. Returns 0 (e->debug set), -ENOENT, -EBADMSG (build-id mismatch),
 * -ETIME, or another -errno.
 */
static int fetch_debuginfod(struct pmw_elf *e, const char *id)
{
	const char *urls = getenv(DEBUGINFOD_URLS_ENV_VAR);
	const char *maxtime = getenv(DEBUGINFOD_MAXTIME_ENV_VAR);
	struct dbgd_progress p = { .limit = pmw_debuginfod_timeout };
	char *saved = maxtime ? strdup(maxtime) : NULL, limit[32], url[1024] = "";
	const struct dbgd_lib *lib;
	debuginfod_client *c;
	char *path = NULL;
	struct stat st;
	int fd, err;

	if (!urls || !*urls || !id[0] || pmw_debuginfod_timeout <= 0 || !(lib = dbgd_get())) {
		free(saved);
		return -ENOENT;
	}
	c = lib->begin();
	if (!c) {
		free(saved);
		wlog("debuginfod: cannot start its client for %s\n", e->path);
		return -ENOMEM;
	}
	lib->set_user_data(c, &p);
	lib->set_progressfn(c, dbgd_progress);
	snprintf(limit, sizeof(limit), "%ld", (long)(p.limit + 0.999));
	if (!maxtime || atol(maxtime) <= 0 || atol(maxtime) > atol(limit))
		setenv(DEBUGINFOD_MAXTIME_ENV_VAR, limit, 1);
	ilog("debuginfod: fetching the debug file of %s (build-id %s) from %s ... ", e->path, id,
	     urls);
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	fd = lib->find_debuginfo(c, (const unsigned char *)id, 0, &path);
	if (saved)
		setenv(DEBUGINFOD_MAXTIME_ENV_VAR, saved, 1);
	else
		unsetenv(DEBUGINFOD_MAXTIME_ENV_VAR);
	free(saved);
	if (fd >= 0 && lib->get_url(c))
		snprintf(url, sizeof(url), "%s", lib->get_url(c));
	else if (fd >= 0)
		snprintf(url, sizeof(url), "cache %s", path);
	lib->end(c);
	if (fd < 0) {
		err = p.cancelled || fd == -ETIME || since(&p.start) > p.limit ? -ETIME : fd;
		if (pmw_verbosity >= 0)
			fprintf(stderr, "%s after %.1f s\n",
				err == -ETIME ? "gave up: time limit reached (--debuginfod-timeout)"
				: err == -ENOENT ? "not found (libdebuginfod also caches a recent failure)"
				: strerror(-err), since(&p.start));
		return err;
	}
	err = fstat(fd, &st) ? -errno : 0;
	close(fd);
	if (!err)
		err = try_debug(e, path, id, false, 0, url);
	if (pmw_verbosity >= 0) {
		if (!err)
			fprintf(stderr, "ok, %.1f MB from %s in %.1f s\n", st.st_size / 1e6, url,
				since(&p.start));
		else
			fprintf(stderr, "refused: %s from %s %s\n", path, url,
				err == -EBADMSG ? "has another build-id" : "has no symbol table");
	}
	free(path);
	return err;
}

/* Where a debug image's symbols came from, for -v/-vv: "debuginfod URL" or "debug file PATH" */
static const char *debug_source(const struct pmw_elf *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", d->url[0] ? "debuginfod" : "debug file",
		 d->url[0] ? d->url : d->path);
	return buf;
}

int pmw_elf_load_debuginfo(struct pmw_elf *e, const char *root)
{
	char id[128] = "", src[sizeof(e->path) + 16];
	int err;

	if (e->debug)
		return 0;
	pmw_elf_build_id(e, id, sizeof(id));
	err = pmw_elf_load_minidebuginfo(e);
	if (err && err != -ENOENT)
		wlog("%s: its MiniDebugInfo (.gnu_debugdata) is unusable: %s\n", e->path,
		     err == -EBADMSG ? "not an xz-compressed ELF with a symbol table" : strerror(-err));
	if (find_local_debug(e, root, id))
		fetch_debuginfod(e, id);
	vlog("symbols for %s: %s.dynsym%s%s%s\n", e->path,
	     section_by_type(e, SHT_SYMTAB, &(GElf_Shdr){}) ? ".symtab, " : "",
	     e->mini ? ", MiniDebugInfo" : "", e->debug ? ", " : "",
	     e->debug ? debug_source(e->debug, src, sizeof(src)) : "");
	return e->debug ? 0 : -ENOENT;
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

/* Look @name up in each source, in the order of elfimg.h; -vv says which one gave it */
static int find_all(struct pmw_elf *e, const char *name, struct pmw_sym *syms, int max, bool funcs)
{
	struct find_ctx c = { .want = name, .out = syms, .max = max, .funcs_only = funcs };
	const struct {
		struct pmw_elf *img;
		GElf_Word type;
		const char *label;	/* NULL: the debug file's own */
	} srcs[] = {
		{ e, SHT_SYMTAB, ".symtab" },
		{ e, SHT_DYNSYM, ".dynsym" },
		{ e->mini, SHT_SYMTAB, "MiniDebugInfo" },
		{ e->debug, SHT_SYMTAB, NULL },
		{ e->debug, SHT_DYNSYM, NULL },
	};
	char buf[sizeof(e->path) + 16];

	for (size_t i = 0; i < ARRAY_SIZE(srcs) && !c.n; i++) {
		if (!srcs[i].img)
			continue;
		for_each_symbol(srcs[i].img, srcs[i].type, find_cb, &c);
		if (c.n)
			dlog("symbol %s of %s: from %s\n", name, e->path, srcs[i].label ? srcs[i].label
			     : debug_source(srcs[i].img, buf, sizeof(buf)));
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
