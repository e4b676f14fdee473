/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading target memory: the only place that calls process_vm_readv. */
#ifndef PMW_MEM_H
#define PMW_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Read @len bytes of target memory at @addr. Returns 0 or -errno (-ESRCH if gone). */
int pmw_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Read many (addr, len) pieces at once into @buf (concatenated). Returns bytes read or -errno. */
ssize_t pmw_mem_readv(pid_t pid, const uint64_t *addrs, size_t piece, size_t n, void *buf);

/* true if the process still exists (and is not a zombie) */
bool pmw_pid_alive(pid_t pid);

#endif
