// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "util.h"

int pmw_verbosity;	/* log.h */

/* GCC/LLVM clone and split suffixes: ".<word>" optionally followed by ".<digits>" */
static const char *const sym_suffixes[] = {
	"lto_priv", "constprop", "isra", "part", "cold", "llvm", "localalias",
};

static bool is_suffix_word(const char *p, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(sym_suffixes); i++)
		if (strlen(sym_suffixes[i]) == n && !strncmp(p, sym_suffixes[i], n))
			return true;
	return false;
}

static bool is_digits(const char *p, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

size_t pmw_sym_base_len(const char *name)
{
	const char *dot = name[0] ? strchr(name + 1, '.') : NULL;

	if (!dot)
		return strlen(name);
	/* every component after the first dot must be a suffix word or a number */
	for (const char *p = dot; *p;) {
		const char *w = p + 1, *e = w;

		while (*e && *e != '.')
			e++;
		if (!is_suffix_word(w, e - w) && !(p != dot && is_digits(w, e - w)))
			return strlen(name);
		p = e;
	}
	return dot - name;
}

bool pmw_sym_match(const char *name, const char *want)
{
	size_t n = strlen(want);

	return !strncmp(name, want, n) && pmw_sym_base_len(name) == n;
}

bool pmw_sym_is_cold(const char *name)
{
	size_t n = strlen(name);

	if (n >= 5 && !strcmp(name + n - 5, ".cold"))
		return true;
	return strstr(name, ".cold.") != NULL;
}

int pmw_parse_version(const char *s, int *major, int *minor, int *patch)
{
	for (const char *p = s; *p; p++) {
		char *end;
		long ma, mi, pa = -1;

		if (*p != '3' || (p > s && isdigit((unsigned char)p[-1])) || p[1] != '.')
			continue;
		ma = 3;
		if (!isdigit((unsigned char)p[2]))
			continue;
		mi = strtol(p + 2, &end, 10);
		if (mi < 0 || mi > 99)
			continue;
		if (*end == '.' && isdigit((unsigned char)end[1])) {
			char *e2;

			pa = strtol(end + 1, &e2, 10);
			/* "libpython3.12.so.1.0": the part after the minor is not a patch level */
			if (e2 - (end + 1) > 3)
				pa = -1;
		}
		/* "3.12.so" -> no patch */
		*major = ma;
		*minor = mi;
		*patch = pa;
		return 0;
	}
	return -EINVAL;
}

char *pmw_version_from_hex(uint32_t hex, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u", hex >> 24, (hex >> 16) & 0xff, (hex >> 8) & 0xff);
	return buf;
}

int pmw_parse_pids(const char *s, int *pids, int max, int *dup)
{
	int n = 0;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		long v;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v <= 0 || v > 0x7fffffff || (*end && *end != ','))
			return -EINVAL;
		for (int i = 0; i < n; i++) {
			if (pids[i] == v) {
				if (dup)
					*dup = (int)v;
				return -EEXIST;
			}
		}
		if (n == max)
			return -E2BIG;
		pids[n++] = (int)v;
		p = *end ? end + 1 : end;
		if (*end == ',' && !*p)
			return -EINVAL;
	}
	return n;
}

int pmw_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int pmw_csv_field(FILE *f, const char *s)
{
	bool formula, quote;

	if (!s)
		s = "";
	/* OWASP CSV injection: a leading ' makes a spreadsheet read it as text */
	formula = *s == '=' || *s == '+' || *s == '-' || *s == '@';
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (!quote && !formula)
		return fputs(s, f) < 0 ? -EIO : 0;
	if (quote && fputc('"', f) == EOF)
		return -EIO;
	if (formula && fputc('\'', f) == EOF)
		return -EIO;
	if (!quote)
		return fputs(s, f) < 0 ? -EIO : 0;
	for (; *s; s++) {
		if (*s == '"' && fputc('"', f) == EOF)
			return -EIO;
		if (fputc(*s, f) == EOF)
			return -EIO;
	}
	return fputc('"', f) == EOF ? -EIO : 0;
}

unsigned int pmw_log2_slot(uint64_t v)
{
	return v ? 63 - __builtin_clzll(v) : 0;
}

void pmw_hist_add(uint64_t *slots, unsigned int nslots, uint64_t v)
{
	unsigned int i = pmw_log2_slot(v);

	slots[i < nslots ? i : nslots - 1]++;
}

uint64_t pmw_hist_percentile(const uint64_t *slots, unsigned int nslots, double p,
			     uint64_t max_seen)
{
	uint64_t total = 0, acc = 0, want;

	for (unsigned int i = 0; i < nslots; i++)
		total += slots[i];
	if (!total)
		return 0;
	want = (uint64_t)ceil(total * p / 100.0);
	if (want < 1)
		want = 1;
	for (unsigned int i = 0; i < nslots; i++) {
		acc += slots[i];
		if (acc >= want) {
			/* the middle of the slot [2^i, 2^(i+1)) */
			uint64_t mid = i ? (1ULL << i) + (1ULL << (i - 1)) : 1;

			return max_seen && max_seen < mid ? max_seen : mid;
		}
	}
	return max_seen;
}

char *pmw_fmt_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char tmp[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", tmp, ts->tv_nsec / 1000000);
	return buf;
}

char *pmw_fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double d = v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%lluB", (unsigned long long)v);
	else
		snprintf(buf, len, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

char *pmw_fmt_count(double v, char *buf, size_t len)
{
	static const char units[] = " kMGT";
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

/* Find or insert the element with u64 key @k (at offset 0) in a sorted array. */
void *pmw_sorted_get(void **arr, int *n, int *cap, size_t esz, uint64_t k, int max)
{
	int lo = 0, hi = *n;
	char *a = *arr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		uint64_t mk = *(uint64_t *)(a + mid * esz);

		if (mk == k)
			return a + mid * esz;
		if (mk < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n >= max)
		return NULL;
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 64;
		char *na = realloc(a, ncap * esz);

		if (!na)
			return NULL;
		*arr = a = na;
		*cap = ncap;
	}
	memmove(a + (lo + 1) * esz, a + lo * esz, (*n - lo) * esz);
	memset(a + lo * esz, 0, esz);
	*(uint64_t *)(a + lo * esz) = k;
	(*n)++;
	return a + lo * esz;
}

double pmw_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int pmw_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t pmw_upper_u64(const uint64_t *a, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int pmw_top_n(void *arr, int n, size_t esz, bool (*keep)(const void *e),
	      int (*cmp)(const void *, const void *), void **out, int max)
{
	void **all = malloc((n ? n : 1) * sizeof(*all));
	int k = 0;

	if (!all)
		return 0;
	for (int i = 0; i < n; i++)
		if (!keep || keep((char *)arr + i * esz))
			all[k++] = (char *)arr + i * esz;
	qsort(all, k, sizeof(*all), cmp);
	if (k > max)
		k = max;
	memcpy(out, all, k * sizeof(*out));
	free(all);
	return k;
}

int pmw_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *na;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (!elem || ncap > SIZE_MAX / elem)
		return -ENOMEM;
	na = realloc(*arr, ncap * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

int pmw_flush(FILE *f)
{
	if (fflush(f))
		return -errno;
	return ferror(f) ? -EIO : 0;
}

void pmw_fit_line(const double *x, const double *y, int n, double *slope, double *r2)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, vx, vy, cov;

	*slope = 0;
	*r2 = 0;
	if (n < 3)
		return;
	for (int i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
		syy += y[i] * y[i];
	}
	vx = sxx - sx * sx / n;
	vy = syy - sy * sy / n;
	cov = sxy - sx * sy / n;
	if (vx <= 0)
		return;
	*slope = cov / vx;
	*r2 = vy > 0 ? cov * cov / (vx * vy) : 0;
}
