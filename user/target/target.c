// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "log.h"
#include "mimalloc.h"
#include "pydebug.h"
#include "mem.h"
#include "target.h"
#include "util.h"

/* "docker-<64 hex>.scope", "cri-containerd-<hex>.scope", ".../pod<uid>/...": a short id */
static bool cgroup_container(const char *cg, char *out, size_t len)
{
	static const struct { const char *marker, *kind; } kinds[] = {
		{ "docker-", "docker" }, { "/docker/", "docker" }, { "cri-containerd-", "containerd" },
		{ "crio-", "crio" }, { "libpod-", "podman" },
	};
	const char *p;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		p = strstr(cg, kinds[i].marker);
		if (p && isxdigit((unsigned char)p[strlen(kinds[i].marker)])) {
			snprintf(out, len, "%s:%.12s", kinds[i].kind, p + strlen(kinds[i].marker));
			return true;
		}
	}
	p = strstr(cg, "pod");
	if (p && strstr(cg, "kubepods")) {
		snprintf(out, len, "k8s:%.*s", (int)strcspn(p, "/."), p);
		return true;
	}
	return false;
}

void pmw_target_identity(struct pmw_target *t)
{
	char path[64], line[512], a[64] = "", b[64] = "";
	FILE *f;
	ssize_t n;

	t->ns_pid = t->pid;
	t->container[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "NSpid:", 6)) {
				char *last = strrchr(line, '\t');

				if (last)
					t->ns_pid = atoi(last + 1);
			}
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", t->pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (cgroup_container(line, t->container, sizeof(t->container)))
				break;
		}
		fclose(f);
	}
	if (t->container[0])
		return;
	/* no container runtime in the cgroup: another mount namespace or root */
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", t->pid);
	n = readlink(path, a, sizeof(a) - 1);
	if (n > 0)
		a[n] = 0;
	n = readlink("/proc/self/ns/mnt", b, sizeof(b) - 1);
	if (n > 0)
		b[n] = 0;
	if (a[0] && b[0] && strcmp(a, b)) {
		snprintf(t->container, sizeof(t->container), "mntns:%s", a + strcspn(a, "[") +
			 (a[strcspn(a, "[")] ? 1 : 0));
		t->container[strcspn(t->container, "]")] = 0;
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/root", t->pid);
	n = readlink(path, line, sizeof(line) - 1);
	if (n > 1) {
		line[n] = 0;
		snprintf(t->container, sizeof(t->container), "chroot:%.88s", line);
	}
}

static void read_comm(struct pmw_target *t)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", t->pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(t->comm, sizeof(t->comm), f))
			t->comm[strcspn(t->comm, "\n")] = 0;
		fclose(f);
	}
}

/* Scan .rodata for the PY_VERSION string "3.X.N" (3.8-3.10 have no Py_Version). */
static int rodata_version(struct pmw_target *t)
{
	GElf_Shdr sh;
	char *buf, want[8];
	int ret = -ENOENT;

	if (pmw_elf_section(&t->elf, ".rodata", &sh) || sh.sh_size > (64 << 20))
		return -ENOENT;
	buf = malloc(sh.sh_size + 1);
	if (!buf)
		return -ENOMEM;
	if (pread(t->elf.fd, buf, sh.sh_size, sh.sh_offset) != (ssize_t)sh.sh_size)
		goto out;
	buf[sh.sh_size] = 0;
	snprintf(want, sizeof(want), "3.%d.", t->minor);
	for (char *p = buf; p < buf + sh.sh_size;) {
		char *hit = memmem(p, buf + sh.sh_size - p, want, strlen(want));
		char *q;

		if (!hit)
			break;
		q = hit + strlen(want);
		/* tail-merged strings: "/root/.pyenv/versions/3.8.18" also ends PY_VERSION */
		if ((hit == buf || hit[-1] == 0 || hit[-1] == '/') && isdigit((unsigned char)*q)) {
			while (isdigit((unsigned char)*q))
				q++;
			/* "3.10.13" exactly, or "3.10.13+" of a development build */
			if (*q == 0 || (*q == '+' && q[1] == 0)) {
				t->patch = atoi(hit + strlen(want));
				ret = 0;
				break;
			}
		}
		p = hit + 1;
	}
out:
	free(buf);
	return ret;
}

/*
 * 3.13+: the layout the interpreter publishes (_Py_DebugOffsets, initialised
 * data at &_PyRuntime, read from the image) wins over the version table's
 * row: t->pv becomes t's own copy with the target's offsets, and -v names
 * each one that differed. A fixed offset that differs is warned about.
 */
static void debug_offsets(struct pmw_target *t)
{
	uint8_t raw[PMW_DEBUG_OFFSETS_LEN];
	struct pmw_debug_diff d[48];	/* more than the offsets compared: each is named */
	int n;

	if (t->minor < 13 || !t->runtime_vaddr ||
	    pmw_elf_read(&t->elf, t->runtime_vaddr, raw, sizeof(raw)))
		return;
	t->pv_own = *t->pv;
	n = pmw_debug_offsets_apply(&t->pv_own, raw, sizeof(raw), d, ARRAY_SIZE(d));
	if (n < 0) {
		vlog("PID %d: no usable _Py_DebugOffsets (%s): the version table's layout for %d.%d\n",
		     t->pid, n == -ENOENT ? "no cookie" : "another version", t->major, t->minor);
		return;
	}
	t->pv = &t->pv_own;
	vlog("PID %d: layout from the target's _Py_DebugOffsets: %d offset(s) differ from the "
	     "version table\n", t->pid, n);
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(d); i++) {
		if (d[i].followed)
			vlog("PID %d: _Py_DebugOffsets: %s is %llu in the target, %llu in the version "
			     "table for %d.%d: the target's value is used\n", t->pid, d[i].field,
			     (unsigned long long)d[i].target, (unsigned long long)d[i].table,
			     t->major, t->minor);
		else if (t->free_threaded)	/* its object header is another: known, said with -v */
			vlog("PID %d: _Py_DebugOffsets: %s is %llu in the free-threaded target, %llu "
			     "in GIL builds\n", t->pid, d[i].field, (unsigned long long)d[i].target,
			     (unsigned long long)d[i].table);
		else
			wlog("PID %d: _Py_DebugOffsets: %s is %llu in the target, pymemwatch reads "
			     "%llu (fixed at build time): its objects may be misread\n", t->pid,
			     d[i].field, (unsigned long long)d[i].target,
			     (unsigned long long)d[i].table);
	}
}

static int resolve_version(struct pmw_target *t)
{
	struct pmw_sym s;
	uint32_t hex = 0;
	char cookie[24];
	const char *base = strrchr(t->path, '/');
	int err;

	t->major = t->minor = t->patch = -1;
	/* 3.11+: Py_Version = PY_VERSION_HEX, Include/pylifecycle.h */
	if (!pmw_elf_find_symbol(&t->elf, "Py_Version", &s) &&
	    !pmw_elf_read(&t->elf, s.addr, &hex, sizeof(hex)) && (hex >> 24) == 3) {
		t->major = 3;
		t->minor = (hex >> 16) & 0xff;
		t->patch = (hex >> 8) & 0xff;
	}
	/* 3.13+: _Py_DebugOffsets at &_PyRuntime: "xdebugpy", u64 version (pydebug.h) */
	if (t->major < 0 && !pmw_elf_read(&t->elf, t->runtime_vaddr, cookie, sizeof(cookie)) &&
	    !memcmp(cookie, PMW_DEBUG_COOKIE, 8)) {
		memcpy(&hex, cookie + 8, sizeof(hex));
		t->major = 3;
		t->minor = (hex >> 16) & 0xff;
		t->patch = (hex >> 8) & 0xff;
	}
	if (t->major < 0) {
		if (pmw_parse_version(base ? base + 1 : t->path, &t->major, &t->minor, &t->patch))
			return -EPROTONOSUPPORT;
		if (t->patch < 0)
			rodata_version(t);
	}
	if (t->patch >= 0)
		snprintf(t->version, sizeof(t->version), "%d.%d.%d", t->major, t->minor, t->patch);
	else
		snprintf(t->version, sizeof(t->version), "%d.%d", t->major, t->minor);
	t->pv = pmw_pyver_find(t->major, t->minor);
	if (!t->pv)
		return -EPROTONOSUPPORT;
	err = pmw_mi_detect(t);	/* free-threaded: needs its mimalloc layout too */
	if (!err)
		debug_offsets(t);
	return err;
}

/*
 * Interpreter images opened once, whatever the number of processes that map
 * them (a hundred workers would otherwise map the image and its debuginfo a
 * hundred times), keyed by device and inode.
 */
struct pmw_image {
	dev_t dev;
	ino_t ino;
	int refs;
	struct pmw_elf elf;
};

static struct pmw_image **images;
static int nimages;

static struct pmw_image *image_get(dev_t dev, ino_t ino)
{
	for (int i = 0; i < nimages; i++) {
		if (images[i]->dev == dev && images[i]->ino == ino) {
			images[i]->refs++;
			return images[i];
		}
	}
	return NULL;
}

static void image_add(struct pmw_target *t)
{
	struct pmw_image *img = malloc(sizeof(*img)), **ni;

	if (!img)
		return;
	ni = realloc(images, (nimages + 1) * sizeof(*ni));
	if (!ni) {
		free(img);
		return;
	}
	images = ni;
	img->dev = t->elf.dev;
	img->ino = t->elf.ino;
	img->refs = 1;
	img->elf = t->elf;
	images[nimages++] = img;
	t->image = img;
}

static void image_put(struct pmw_target *t)
{
	struct pmw_image *img = t->image;

	t->image = NULL;
	memset(&t->elf, 0, sizeof(t->elf));
	t->elf.fd = -1;
	if (--img->refs)
		return;
	for (int i = 0; i < nimages; i++) {
		if (images[i] == img) {
			images[i] = images[--nimages];
			break;
		}
	}
	pmw_elf_close(&img->elf);
	free(img);
}

/* The image has libpython in it if it defines _PyRuntime. */
static int open_image(struct pmw_target *t, const char *host_path)
{
	struct pmw_sym s;
	struct stat st;
	GElf_Shdr sh;
	int err;

	if (!stat(host_path, &st) && (t->image = image_get(st.st_dev, st.st_ino))) {
		t->elf = t->image->elf;
	} else {
		err = pmw_elf_open(&t->elf, host_path);
		if (err)
			return err;
	}
	if (pmw_elf_find_symbol(&t->elf, "_PyRuntime", &s)) {
		if (t->image)
			image_put(t);
		else
			pmw_elf_close(&t->elf);
		return -ENOEXEC;
	}
	t->runtime_vaddr = s.addr;
	snprintf(t->host_path, sizeof(t->host_path), "%s", host_path);
	t->has_usdt = !pmw_elf_section(&t->elf, ".note.stapsdt", &sh);
	t->has_symtab = !pmw_elf_section(&t->elf, ".symtab", &sh) || t->elf.debug;
	if (!t->has_symtab && !t->image)
		t->has_symtab = !pmw_elf_load_debuginfo(&t->elf, t->root);
	if (!t->image)
		image_add(t);
	if (!pmw_elf_find_symbol(&t->elf, "PyObject_Malloc", &s))
		t->lto_inlined = s.size > 64;	/* a plain build's is load + jump, ~30 bytes */
	err = resolve_version(t);
	if (err)
		return err;
	if (t->pv->obm_kind == PMW_OBM_STATIC) {
		if (!pmw_elf_find_symbol(&t->elf, "arenas", &s))
			t->arenas_vaddr = s.addr;
		if (!pmw_elf_find_symbol(&t->elf, "maxarenas", &s))
			t->maxarenas_vaddr = s.addr;
		if (!pmw_elf_find_symbol(&t->elf, "_PyObject", &s))
			t->objalloc_vaddr = s.addr;
	}
	if (t->elf.ehdr.e_type == ET_EXEC) {
		t->bias = 0;
		t->bias_known = true;
	}
	return 0;
}

struct map_line {
	uint64_t start, end, off;
	unsigned int maj, min;
	unsigned long ino;
	char path[PATH_MAX];
};

static int parse_map_line(const char *line, struct map_line *m)
{
	char perms[8];
	int n = 0;

	m->path[0] = 0;
	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &m->start, &m->end, perms, &m->off,
		   &m->maj, &m->min, &m->ino, &n) < 7)
		return -EINVAL;
	snprintf(m->path, sizeof(m->path), "%s", line + n);
	m->path[strcspn(m->path, "\n")] = 0;
	return 0;
}

/* The mapping really is this file: compare the map_files entry with what we opened. */
static bool same_file(pid_t pid, const struct map_line *m, const struct pmw_elf *e)
{
	char mf[96];
	struct stat st;

	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", pid, m->start, m->end);
	if (!stat(mf, &st))
		return st.st_dev == e->dev && st.st_ino == e->ino;
	return m->ino == e->ino && makedev(m->maj, m->min) == e->dev;
}

/*
 * A mapped file whose path opens neither as the target sees it nor as we see
 * it: unlinked or replaced on disk since it was mapped ("PATH (deleted)" in
 * maps, e.g. after a package upgrade), or out of our reach (a target chrooted
 * in a mount namespace that is not ours, e.g. seen from a container: maps
 * then shows a path from that namespace's root, which neither root has).
 * Opens the mapped inode itself through /proc/PID/map_files (root only);
 * uprobes attach through that path too. Returns 0 (@cand set) or -errno;
 * sets *@denied when permissions forbid it (CAP_DAC_READ_SEARCH: the folder
 * is the target user's, mode 0500).
 */
static int open_mapped(pid_t pid, const struct map_line *m, struct pmw_elf *e,
		       char *cand, size_t len, bool *denied)
{
	int err;

	snprintf(cand, len, "/proc/%d/map_files/%lx-%lx", pid, m->start, m->end);
	err = pmw_elf_open(e, cand);
	*denied |= err == -EACCES || err == -EPERM;
	return err;
}

int pmw_target_refresh(struct pmw_target *t)
{
	char path[64], line[PATH_MAX + 128];
	struct map_line m;
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (parse_map_line(line, &m) || m.ino != t->elf.ino)
			continue;
		if (!t->bias_known && m.off == 0 && same_file(t->pid, &m, &t->elf)) {
			t->bias = m.start - pmw_elf_link_base(&t->elf);
			t->bias_known = true;
			pmw_symfind_run(t);	/* no symbols: again, with live memory */
		}
		ret = 0;
	}
	fclose(f);
	return t->bias_known ? 0 : ret;
}

int pmw_target_open_pid(struct pmw_target *t, pid_t pid)
{
	char path[64], exe[PATH_MAX], line[PATH_MAX + 128], cand[PATH_MAX + 64];
	struct map_line m;
	FILE *f;
	ssize_t n;
	int err = -ENOEXEC;
	bool denied = false;

	memset(t, 0, sizeof(*t));
	t->elf.fd = -1;
	t->pid = pid;
	snprintf(t->root, sizeof(t->root), "/proc/%d/root", pid);
	if (!pmw_pid_alive(pid))
		return -ESRCH;
	read_comm(t);
	pmw_target_identity(t);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	exe[n] = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	/* candidates: the executable, then any libpython3.X.so, in mapping order */
	while (fgets(line, sizeof(line), f)) {
		const char *base;

		if (parse_map_line(line, &m) || m.path[0] != '/' || m.off != 0)
			continue;
		base = strrchr(m.path, '/') + 1;
		if (!t->libc_path[0] && (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5)))
			snprintf(t->libc_path, sizeof(t->libc_path), "%s%s", t->root, m.path);
		if (t->elf.elf || (strcmp(m.path, exe) && !strstr(base, "libpython3")))
			continue;
		/* the path as the target sees it, then as we see it (maps paths are ours) */
		snprintf(cand, sizeof(cand), "%s%s", t->root, m.path);
		if (!pmw_elf_open(&t->elf, cand) && !same_file(pid, &m, &t->elf))
			pmw_elf_close(&t->elf);
		if (!t->elf.elf) {
			snprintf(cand, sizeof(cand), "%s", m.path);
			if (pmw_elf_open(&t->elf, cand) &&
			    open_mapped(pid, &m, &t->elf, cand, sizeof(cand), &denied))
				continue;
		}
		if (!same_file(pid, &m, &t->elf)) {
			/* replaced on disk, or a host file shadowing the container's */
			wlog("PID %d: %s is not the file mapped by the process (replaced?), skipped\n",
			     pid, m.path);
			pmw_elf_close(&t->elf);
			continue;
		}
		pmw_elf_close(&t->elf);
		snprintf(t->path, sizeof(t->path), "%s", m.path);
		err = open_image(t, cand);
		if (err == -ENOEXEC)
			continue;
		if (err)
			break;
		t->is_exe = !strcmp(m.path, exe);
		t->bias = m.start - pmw_elf_link_base(&t->elf);
		t->bias_known = true;
	}
	fclose(f);
	if (!t->elf.elf && err == -ENOEXEC && denied)
		err = -EACCES;	/* its interpreter is there, but not ours to open */
	if (!t->elf.elf && err == 0)
		err = -ENOEXEC;
	if (!err)
		pmw_symfind_run(t);	/* no symbols: find what the probes need by disassembly */
	if (err && !pmw_pid_alive(pid))
		err = -ESRCH;
	return err;
}

static int search_lib(const char *name, const char *dirs, const char *origin, char *out, size_t len)
{
	char buf[PATH_MAX * 2], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", dirs ? dirs : "");
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!strncmp(d, "$ORIGIN", 7))
			snprintf(out, len, "%s%s/%s", origin, d + 7, name);
		else
			snprintf(out, len, "%s/%s", d, name);
		if (!access(out, R_OK))
			return 0;
	}
	return -ENOENT;
}

static const char sys_lib_dirs[] =
	"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/usr/local/lib:/lib:/usr/lib";

int pmw_target_open_exec(struct pmw_target *t, const char *exe, pid_t pid)
{
	char needed[64][256], runpath[PATH_MAX], origin[PATH_MAX], lib[PATH_MAX];
	struct pmw_elf e;
	int n, err;

	memset(t, 0, sizeof(*t));
	t->elf.fd = -1;
	t->pid = pid;
	t->ns_pid = pid;
	t->root[0] = 0;
	snprintf(t->comm, sizeof(t->comm), "%.15s", strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
	snprintf(t->path, sizeof(t->path), "%s", exe);
	err = open_image(t, exe);
	if (err != -ENOEXEC) {
		if (err)
			return err;	/* e.g. -EPROTONOSUPPORT: t->pv is NULL */
		t->is_exe = true;
		goto libc;
	}
	err = pmw_elf_open(&e, exe);
	if (err)
		return err;
	n = pmw_elf_needed(&e, needed, 64, runpath, sizeof(runpath));
	pmw_elf_close(&e);
	snprintf(origin, sizeof(origin), "%s", exe);
	dirname(origin);
	err = -ENOEXEC;
	for (int i = 0; i < n; i++) {
		if (!strstr(needed[i], "libpython3"))
			continue;
		/* ld.so's order for DT_RUNPATH (what current linkers write; DT_RPATH
		 * would come before LD_LIBRARY_PATH): LD_LIBRARY_PATH, RUNPATH, system */
		if (search_lib(needed[i], getenv("LD_LIBRARY_PATH"), origin, lib, sizeof(lib)) &&
		    search_lib(needed[i], runpath, origin, lib, sizeof(lib)) &&
		    search_lib(needed[i], sys_lib_dirs, origin, lib, sizeof(lib)))
			continue;
		snprintf(t->path, sizeof(t->path), "%s", lib);
		err = open_image(t, lib);
		break;
	}
	if (err)
		return err;
libc:
	pmw_symfind_run(t);
	if (search_lib("libc.so.6", sys_lib_dirs, "", t->libc_path, sizeof(t->libc_path)))
		t->libc_path[0] = 0;
	return 0;
}

const char *pmw_target_error(int err)
{
	switch (err) {
	case -ESRCH: return "no such process";
	case -ENOEXEC: return "not a CPython process (no libpython or CPython executable mapped)";
	case -EPROTONOSUPPORT: {
		static char msg[64];	/* the range comes from the version table */

		snprintf(msg, sizeof(msg), "unsupported CPython version (supported: %s)",
			 pmw_pyver_supported());
		return msg;
	}
	case -EBADMSG: return "corrupt or truncated ELF file";
	case -EACCES: case -EPERM:
		return "permission denied reading its memory maps or its interpreter's files "
		       "(CAP_SYS_PTRACE; CAP_DAC_READ_SEARCH for the files of other users)";
	default: return strerror(-err);
	}
}

bool pmw_target_heap_found(const struct pmw_target *t, char *why, size_t len)
{
	if (t->arenas_vaddr || t->pv->obm_kind != PMW_OBM_STATIC)
		return true;
	snprintf(why, len, "%s has no symbol table, no debuginfo was found and disassembly did not "
		 "find its arena table (-v says why): install its debug symbols (Debian: "
		 "python%d.%d-dbg)", t->path, t->major, t->minor);
	return false;
}

void pmw_target_close(struct pmw_target *t)
{
	if (t->image)
		image_put(t);
	else
		pmw_elf_close(&t->elf);
}

int pmw_target_obj_allocator(const struct pmw_target *t, uint64_t fn[5])
{
	uint64_t addr;
	int err;

	if (!t->bias_known)
		return -EAGAIN;
	if (t->pv->obj_allocator)	/* 3.12+: _PyRuntime.allocators.standard.obj */
		addr = t->runtime_vaddr + t->pv->obj_allocator;
	else if (t->objalloc_vaddr)	/* 3.8-3.11: static PyMemAllocatorEx _PyObject */
		addr = t->objalloc_vaddr;
	else
		return -ENOENT;
	err = pmw_mem_read(t->pid, addr + t->bias, fn, 5 * sizeof(uint64_t));
	if (err)
		return -EFAULT;
	for (int i = 1; i < 5; i++)
		fn[i] = fn[i] ? fn[i] - t->bias : 0;
	return 0;
}
