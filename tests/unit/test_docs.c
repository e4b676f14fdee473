// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The documentation's shape: README.md is a front door of at most 250 lines,
 * and every relative link of README.md and of the guides (doc/NAME.md)
 * resolves to a file of the repository, and its #anchor (in a .md file) to
 * one of that file's headings,
 * slugged as GitHub does (lower case; letters, digits, '-', '_' kept; spaces
 * become '-'; a repeated heading gets -1, -2, ...). Links inside fenced code
 * blocks are not links. Every option of the argp table (user/env.c and the
 * outputs') is in doc/outputs.md's option table and in the man page, and the
 * bash completion generated from the table offers it.
 * Run from the repository root (scripts/run-tests.sh does).
 */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "env.h"
#include "release.h"

#define README_MAX_LINES 250

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, 0, f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/* GitHub's anchor of heading text @h (n bytes) into @out */
static void slug(const char *h, size_t n, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = h[i];

		if (isalnum(c) || c == '-' || c == '_')
			out[o++] = tolower(c);
		else if (c == ' ')
			out[o++] = '-';
	}
	out[o] = 0;
}

/* does @doc (Markdown) have a heading whose anchor is @anchor? */
static bool has_anchor(const char *doc, const char *anchor)
{
	static char seen[512][128];	/* slugs of the headings before this one */
	char want[160];
	int n = 0;
	bool fence = false;

	for (const char *l = doc; *l;) {
		size_t len = strcspn(l, "\n"), hashes = strspn(l, "#");
		int dup = 0;

		if (!strncmp(l, "```", 3))
			fence = !fence;
		if (!fence && hashes && hashes <= 6 && l[hashes] == ' ' && n < 512) {
			slug(l + hashes + 1, len - hashes - 1, seen[n], sizeof(seen[n]));
			for (int i = 0; i < n; i++)
				dup += !strcmp(seen[i], seen[n]);
			if (dup)
				snprintf(want, sizeof(want), "%s-%d", seen[n], dup);
			else
				snprintf(want, sizeof(want), "%s", seen[n]);
			if (!strcmp(want, anchor))
				return true;
			n++;
		}
		l += len + !!l[len];
	}
	return false;
}

/* check one link target @t (n bytes) of @path; 0 or a failure counted */
static int check_target(const char *path, const char *doc, const char *t, size_t n)
{
	char target[1024], file[2100], dir[1024];
	char *hash, *text = NULL;
	const char *slash = strrchr(path, '/');
	struct stat st;
	int bad = 0;

	if (n >= sizeof(target) || !strncmp(t, "http://", 7) || !strncmp(t, "https://", 8) ||
	    !strncmp(t, "mailto:", 7))
		return 0;
	memcpy(target, t, n);
	target[n] = 0;
	hash = strchr(target, '#');
	if (hash)
		*hash++ = 0;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (!*target) {		/* #anchor in the same file */
		snprintf(file, sizeof(file), "%s", path);
		text = strdup(doc);
	} else {
		snprintf(file, sizeof(file), "%s/%s", dir, target);
		if (stat(file, &st)) {
			printf("%s: link to %s: %s\n", path, target, strerror(errno));
			return 1;
		}
		if (hash && strlen(file) > 3 && !strcmp(file + strlen(file) - 3, ".md"))
			text = slurp(file);
	}
	if (hash && text && !has_anchor(text, hash)) {
		printf("%s: link to %s#%s: no such heading there\n", path, *target ? target : path, hash);
		bad = 1;
	}
	free(text);
	return bad;
}

/* every [text](target) outside fenced code blocks of @path; returns failures */
static int check_links(const char *path, int *links)
{
	char *doc = slurp(path);
	bool fence = false;
	int bad = 0;

	if (!doc)
		fail_msg("%s: %s (run from the repository root)", path, strerror(errno));
	for (const char *l = doc; *l;) {
		size_t len = strcspn(l, "\n");

		if (!strncmp(l, "```", 3))
			fence = !fence;
		for (const char *p = l; !fence && (p = memmem(p, l + len - p, "](", 2)); p += 2) {
			const char *t = p + 2, *e = memchr(t, ')', l + len - t);

			if (!e)
				continue;
			(*links)++;
			bad += check_target(path, doc, t, e - t);
		}
		l += len + !!l[len];
	}
	free(doc);
	return bad;
}

static void test_readme_is_short(void **state)
{
	char *doc = slurp("README.md");
	int lines = 0;

	assert_non_null(doc);
	for (const char *p = doc; (p = strchr(p, '\n')); p++)
		lines++;
	if (lines > README_MAX_LINES)
		fail_msg("README.md has %d lines; at most %d: move the detail to a guide in doc/",
			 lines, README_MAX_LINES);
	free(doc);
}

static void test_links_resolve(void **state)
{
	glob_t g;
	int bad = 0, links = 0;

	bad += check_links("README.md", &links);
	assert_int_equal(glob("doc/*.md", 0, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++)
		bad += check_links(g.gl_pathv[i], &links);
	globfree(&g);
	printf("%d links checked\n", links);
	assert_true(links > 20);	/* the parser found the links at all */
	if (bad)
		fail_msg("%d links of README.md or doc/*.md do not resolve (listed above)", bad);
}

/* the text between @head and the next "\n## " (or the end), or NULL */
static char *section(const char *doc, const char *head)
{
	const char *from = strstr(doc, head), *end;

	if (!from)
		return NULL;
	end = strstr(from + strlen(head), "\n## ");
	return strndup(from, end ? (size_t)(end - from) : strlen(from));
}

/* @name in roff: "\fB\-\-leak\-budget\fR" */
static void roff_option(const char *name, char *out, size_t size)
{
	size_t o = snprintf(out, size, "\\fB\\-\\-");

	for (const char *p = name; *p && o + 3 < size; p++) {
		if (*p == '-')
			out[o++] = '\\';
		out[o++] = *p;
	}
	snprintf(out + o, size - o, "\\fR");
}

/* "--@name" in @text as a word of a Markdown table cell ("`-i, --interval SECONDS`") */
static bool has_word(const char *text, const char *name)
{
	char want[128];
	size_t n = snprintf(want, sizeof(want), "--%s", name);

	for (const char *p = text; (p = strstr(p, want)); p += n)
		if (p > text && strchr("` ", p[-1]) && strchr(" `", p[n]))
			return true;
	return false;
}

static void test_every_option_documented(void **state)
{
	char *doc = slurp("doc/outputs.md"), *man = slurp("doc/pymemwatch.8"), *table, *comp = NULL;
	char want[160];
	size_t len = 0;
	FILE *f = open_memstream(&comp, &len);
	int missing = 0, n = 0;

	assert_non_null(doc);
	assert_non_null(man);
	table = section(doc, "## Options\n");
	assert_non_null(table);
	pmw_bash_completion(f, pmw_env_options());
	assert_int_equal(fclose(f), 0);
	for (const struct argp_option *o = pmw_env_options(); o->name || o->key || o->doc; o++) {
		if (!o->name || (o->flags & OPTION_HIDDEN))
			continue;
		n++;
		if (!has_word(table, o->name) && ++missing)
			printf("doc/outputs.md's Options table lacks --%s\n", o->name);
		roff_option(o->name, want, sizeof(want));
		if (!strstr(man, want) && ++missing)
			printf("doc/pymemwatch.8 lacks %s\n", want);
		snprintf(want, sizeof(want), " --%s ", o->name);
		if (!strstr(comp, want) && ++missing)
			printf("the bash completion lacks --%s\n", o->name);
	}
	printf("%d options checked\n", n);
	assert_true(n > 20);
	if (missing)
		fail_msg("%d options are not documented (listed above)", missing);
	free(table);
	free(doc);
	free(man);
	free(comp);
}

/* the checker itself: a made-up broken link and anchor are caught */
static void test_checker_catches(void **state)
{
	const char *doc = "# T\n\n## A b: `-c`\n\n## A b: `-c`\n\n```\n## not a heading\n```\n";

	assert_true(has_anchor(doc, "a-b--c"));
	assert_true(has_anchor(doc, "a-b--c-1"));
	assert_false(has_anchor(doc, "a-b--c-2"));
	assert_false(has_anchor(doc, "not-a-heading"));
	assert_int_equal(check_target("README.md", doc, "doc/no-such-file.md", 19), 1);
	assert_int_equal(check_target("README.md", doc, "#a-b--c", 7), 0);
	assert_int_equal(check_target("README.md", doc, "#nope", 5), 1);
	assert_int_equal(check_target("README.md", doc, "https://x/y", 11), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_is_short),
		cmocka_unit_test(test_links_resolve),
		cmocka_unit_test(test_checker_catches),
		cmocka_unit_test(test_every_option_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
