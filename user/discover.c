// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "discover.h"
#include "elfimg.h"

struct pmw_image_verdict {
	dev_t dev;
	ino_t ino;
	bool cpython;
};

static bool rejected(const struct pmw_discover *d, pid_t pid)
{
	for (int i = 0; i < d->nrej; i++)
		if (d->rejected[i] == pid)
			return true;
	return false;
}

void pmw_discover_reject(struct pmw_discover *d, pid_t pid)
{
	if (d->nrej == d->cap_rej) {
		int nc = d->cap_rej ? d->cap_rej * 2 : 64;
		pid_t *nr = realloc(d->rejected, nc * sizeof(*nr));

		if (!nr)
			return;
		d->rejected = nr;
		d->cap_rej = nc;
	}
	d->rejected[d->nrej++] = pid;
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
	if (d->nimg == d->cap_img) {
		int nc = d->cap_img ? d->cap_img * 2 : 64;
		struct pmw_image_verdict *ni = realloc(d->img, nc * sizeof(*ni));

		if (!ni)
			return py;
		d->img = ni;
		d->cap_img = nc;
	}
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
	memset(d, 0, sizeof(*d));
}
