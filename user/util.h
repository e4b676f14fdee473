/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pure helpers with no I/O on targets: unit-tested in tests/unit/. */
#ifndef PMW_UTIL_H
#define PMW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Length of a symbol name without the suffixes GCC adds to clones and
 * split functions (".lto_priv.0", ".constprop.1", ".isra.0", ".part.0",
 * ".cold", ".llvm.123"), e.g. "gc_collect_main.lto_priv.0.cold" -> 15.
 */
size_t pmw_sym_base_len(const char *name);

/* true if @name is @want, possibly followed by compiler suffixes */
bool pmw_sym_match(const char *name, const char *want);

/* true if @name is the ".cold" (split-off) part of a function */
bool pmw_sym_is_cold(const char *name);

/*
 * Parse "3.11.2", "3.12" or a file name such as "libpython3.12.so.1.0",
 * "python3.11", "python3.13d". Fills major/minor (patch = -1 if absent).
 * Returns 0, or -EINVAL if no CPython 3.x version is found.
 */
int pmw_parse_version(const char *s, int *major, int *minor, int *patch);

/* PY_VERSION_HEX (e.g. 0x030b02f0) -> "3.11.2"; returns @buf */
char *pmw_version_from_hex(uint32_t hex, char *buf, size_t len);

/*
 * Parse "PID[,PID...]" into @pids (at most @max). Returns the count, or
 * -EINVAL (not a positive integer), -EEXIST (a PID given twice, *dup set),
 * -E2BIG (more than @max).
 */
int pmw_parse_pids(const char *s, int *pids, int max, int *dup);

/* Parse a non-negative number of seconds ("1", "0.5"). -EINVAL if bad. */
int pmw_parse_seconds(const char *s, double *out);

/*
 * Write @s as one RFC 4180 CSV field: quoted when it holds a comma, quote,
 * CR or LF (quotes doubled). A field starting with '=', '+', '-' or '@' is
 * prefixed with a single quote (inside the quotes, if any) so a spreadsheet
 * does not evaluate it as a formula (OWASP CSV injection). Other bytes,
 * invalid UTF-8 included, are written unchanged. For text fields only:
 * numbers are written with printf and stay numeric. Returns 0 or -EIO.
 */
int pmw_csv_field(FILE *f, const char *s);

/* log2 histogram: slot i counts values v with 2^i <= v < 2^(i+1) (v=0 in slot 0) */
unsigned int pmw_log2_slot(uint64_t v);
void pmw_hist_add(uint64_t *slots, unsigned int nslots, uint64_t v);

/*
 * Percentile @p (0 < p <= 100) of a log2 histogram, as the middle of the
 * slot holding it (1.5 * 2^i, so within 50% of the true value), clamped to
 * @max_seen when that is known (non-zero). Returns 0 for an empty histogram.
 */
uint64_t pmw_hist_percentile(const uint64_t *slots, unsigned int nslots, double p,
			     uint64_t max_seen);

/* RFC 3339 UTC with milliseconds: "2026-11-21T09:56:40.123Z" */
/* CLOCK_MONOTONIC now, seconds */
double pmw_now_s(void);

char *pmw_fmt_rfc3339(const struct timespec *ts, char *buf, size_t len);

/* "1.5M", "312K", "7.0G", "12" (powers of 1024), for tables only */
char *pmw_fmt_bytes(uint64_t v, char *buf, size_t len);
/* "1.2M", "340k", "12" (powers of 1000), for counts and rates */
char *pmw_fmt_count(double v, char *buf, size_t len);

/*
 * Find or insert the element with u64 key @k (the element's first 8 bytes)
 * in the array *@arr of *@n elements of @esz bytes sorted by key, growing
 * it (*@cap) as needed. A new element is zeroed except its key. Returns the
 * element, or NULL when *@n reached @max or memory ran out.
 */
void *pmw_sorted_get(void **arr, int *n, int *cap, size_t esz, uint64_t k, int max);

/*
 * qsort/bsearch order of two objects by their leading uint64_t: a u64 array,
 * or an array of structs whose first member is their key (pmw_ctrack.addr,
 * pmw_obj.pool); -1, 0, 1.
 */
int pmw_cmp_u64(const void *a, const void *b);

/*
 * In the ascending u64 array @a of @n elements: the number of elements
 * <= @v, i.e. 1 + the index of the last one at or below @v (0: none).
 */
size_t pmw_upper_u64(const uint64_t *a, size_t n, uint64_t v);

/*
 * The first @max (by @cmp, which compares two element pointers, as qsort
 * on an array of pointers) of the @n elements of @esz bytes at @arr for
 * which @keep is true (NULL: all), stored as pointers into @arr in @out. Returns how
 * many (0 also when memory ran out).
 */
int pmw_top_n(void *arr, int n, size_t esz, bool (*keep)(const void *e),
	      int (*cmp)(const void *, const void *), void **out, int max);

/*
 * Least-squares slope (per unit of @x) and R^2 of the @n points (@x, @y);
 * both 0 for fewer than 3 points or when all @x are equal.
 */
void pmw_fit_line(const double *x, const double *y, int n, double *slope, double *r2);

/*
 * Room for at least @need elements of @elem bytes in *@arr, whose capacity
 * is *@cap elements: doubles the capacity (from 16) until it holds @need.
 * Returns 0 (*@arr and *@cap updated, new room uninitialised) or -ENOMEM
 * (*@arr and *@cap unchanged, still valid). Cast: pmw_grow((void **)&p, ...).
 */
int pmw_grow(void **arr, size_t *cap, size_t need, size_t elem);

/*
 * Flush @f and report any error since it was opened: 0, -errno of a
 * failed fflush, or -EIO when the stream's error flag is set (an earlier
 * write failed). For outputs that must not lose a write silently.
 */
int pmw_flush(FILE *f);

#endif
