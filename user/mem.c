// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every reader of target memory (mem.h): process_vm_readv, one piece or many.
 * Uses only util/ and libc. Nothing read here is trusted by its callers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include "mem.h"
#include "util.h"

int pmw_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		return -errno;
	return -EFAULT;
}

ssize_t pmw_mem_readv(pid_t pid, const uint64_t *addrs, size_t piece, size_t n, void *buf)
{
	struct iovec local, remote[1024];
	ssize_t total = 0;

	for (size_t i = 0; i < n;) {
		size_t k = n - i < ARRAY_SIZE(remote) ? n - i : ARRAY_SIZE(remote);
		ssize_t got;

		for (size_t j = 0; j < k; j++) {
			remote[j].iov_base = (void *)addrs[i + j];
			remote[j].iov_len = piece;
		}
		local.iov_base = (char *)buf + i * piece;
		local.iov_len = k * piece;
		got = process_vm_readv(pid, &local, 1, remote, k, 0);
		if (got < 0)
			return total ? total : -errno;
		total += got;
		if ((size_t)got < k * piece)
			return total;	/* stops at the first unreadable piece */
		i += k;
	}
	return total;
}

bool pmw_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}
