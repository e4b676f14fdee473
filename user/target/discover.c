// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "discover.h"
#include "elfimg.h"
#include "util.h"

struct pmw_image_verdict {
	dev_t dev;
	ino_t ino;
	bool cpython;
};

struct pmw_rejected {
	pid_t pid;
	struct pmw_exec_id id;		/* what it ran when rejected */
};

int pmw_exec_id_read(pid_t pid, struct pmw_exec_id *id)
{
	char path[64], buf[1024], *p;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return errno == ENOENT ? -ESRCH : -errno;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n ? -errno : -ESRCH;
	buf[n] = 0;
	/* comm may hold anything: fields restart after its last ')' (field 2);
	 * startcode is field 26, startstack 28 */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 28; field++) {
		p = strchr(p + 1, ' ');
		if (p && field == 25)
			id->start_code = strtoull(p + 1, NULL, 10);
	}
	if (!p)
		return -EINVAL;
	id->start_stack = strtoull(p + 1, NULL, 10);
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return 0;
}

bool pmw_exec_id_same(const struct pmw_exec_id *a, const struct pmw_exec_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->start_code == b->start_code &&
	       a->start_stack == b->start_stack;
}

/* Rejected before, and has not exec'd since (a PID that execs is judged again). */
static bool rejected(struct pmw_discover *d, pid_t pid)
{
	for (int i = 0; i < d->nrej; i++) {
		struct pmw_exec_id now;

		if (d->rejected[i].pid != pid)
			continue;
		if (!pmw_exec_id_read(pid, &now) && pmw_exec_id_same(&now, &d->rejected[i].id))
			return true;
		d->rejected[i] = d->rejected[--d->nrej];
		return false;
	}
	return false;
}

void pmw_discover_reject(struct pmw_discover *d, pid_t pid)
{
	struct pmw_exec_id id = {};

	if (pmw_grow((void **)&d->rejected, &d->cap_rej, d->nrej + 1, sizeof(*d->rejected)))
		return;
	pmw_exec_id_read(pid, &id);	/* gone: all zero, and retried if the PID comes back */
	d->rejected[d->nrej++] = (struct pmw_rejected){ pid, id };
}

bool pmw_discover_first_note(struct pmw_discover *d, pid_t pid)
{
	for (int i = 0; i < d->nnoted; i++)
		if (d->noted[i] == pid)
			return false;
	if (pmw_grow((void **)&d->noted, &d->cap_noted, d->nnoted + 1, sizeof(*d->noted)))
		return true;
	d->noted[d->nnoted++] = pid;
	return true;
}

/* Is the executable of @pid a CPython interpreter (it defines _PyRuntime)? Cached by inode. */
static bool exe_is_cpython(struct pmw_discover *d, pid_t pid)
{
	char path[64];
	struct stat st;
	struct pmw_elf e;
	struct pmw_sym s;
	bool py;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st))
		return false;
	for (int i = 0; i < d->nimg; i++)
		if (d->img[i].dev == st.st_dev && d->img[i].ino == st.st_ino)
			return d->img[i].cpython;
	py = !pmw_elf_open(&e, path) && !pmw_elf_find_symbol(&e, "_PyRuntime", &s);
	pmw_elf_close(&e);
	if (pmw_grow((void **)&d->img, &d->cap_img, d->nimg + 1, sizeof(*d->img)))
		return py;
	d->img[d->nimg++] = (struct pmw_image_verdict){ st.st_dev, st.st_ino, py };
	return py;
}

static bool maps_libpython(pid_t pid)
{
	char path[64], line[4200];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *slash = strrchr(line, '/');

		found = slash && !strncmp(slash + 1, "libpython3", 10);
	}
	fclose(f);
	return found;
}

bool pmw_discover_is_cpython(struct pmw_discover *d, pid_t pid)
{
	return exe_is_cpython(d, pid) || maps_libpython(pid);
}

/* Append the direct children of @pid (every thread's) to @q; returns the new length. */
static int children_of(pid_t pid, pid_t *q, int n, int max)
{
	char path[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return n;
	while (n < max && (de = readdir(dir))) {
		char cpath[320];
		FILE *f;
		int c;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", pid, de->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (n < max && fscanf(f, "%d", &c) == 1)
			q[n++] = c;
		fclose(f);
	}
	closedir(dir);
	return n;
}

#define PMW_MAX_DESCENDANTS 4096

int pmw_discover_children(struct pmw_discover *d, const pid_t *roots, int nroots,
			  bool (*known)(void *arg, pid_t pid), void *arg, pid_t *out,
			  pid_t *parent, int max)
{
	pid_t *q = malloc(PMW_MAX_DESCENDANTS * sizeof(*q));
	pid_t *up = malloc(PMW_MAX_DESCENDANTS * sizeof(*up));
	int head = 0, tail = 0, n = 0;

	if (!q || !up)
		goto out;
	/* breadth first; each queued PID is a descendant, with its parent in up[] */
	for (int r = 0; r < nroots; r++) {
		int from = tail;

		tail = children_of(roots[r], q, tail, PMW_MAX_DESCENDANTS);
		for (int i = from; i < tail; i++)
			up[i] = roots[r];
	}
	while (head < tail && n < max) {
		pid_t pid = q[head], from = tail;

		if (known(arg, pid)) {
			head++;
			continue;	/* a target: its own descendants are looked at from it */
		}
		if (!rejected(d, pid) && pmw_discover_is_cpython(d, pid)) {
			out[n] = pid;
			parent[n++] = up[head];
		}
		tail = children_of(pid, q, tail, PMW_MAX_DESCENDANTS);
		for (int i = from; i < tail; i++)
			up[i] = pid;
		head++;
	}
out:
	free(q);
	free(up);
	return n;
}

int pmw_discover_scan(struct pmw_discover *d, bool (*known)(void *arg, pid_t pid), void *arg,
		      pid_t *out, int max)
{
	DIR *dir = opendir("/proc");
	pid_t self = getpid();
	struct dirent *de;
	int n = 0;

	if (!dir)
		return 0;
	while (n < max && (de = readdir(dir))) {
		pid_t pid;
		char exe[64];

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (pid == self || known(arg, pid) || rejected(d, pid))
			continue;
		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		if (access(exe, F_OK))
			continue;	/* kernel thread, or gone */
		if (exe_is_cpython(d, pid) || maps_libpython(pid))
			out[n++] = pid;
	}
	closedir(dir);
	return n;
}

void pmw_discover_free(struct pmw_discover *d)
{
	free(d->img);
	free(d->rejected);
	free(d->noted);
	memset(d, 0, sizeof(*d));
}
