// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of the sampled allocation profile's sites (sites.h). */
#include <stdio.h>
#include <string.h>
#include "sites.h"

void pmw_site_name(const struct pmw_site *s, char *buf, size_t len)
{
	char name[sizeof(s->frames[0].file) + 16];
	size_t n;

	if (!len)
		return;
	if (s->nframes)
		snprintf(name, sizeof(name), "%s:%d", s->frames[0].file, s->frames[0].line);
	else
		snprintf(name, sizeof(name), "?");
	n = strnlen(name, len - 1);	/* cut at @len, as snprintf would */
	memcpy(buf, name, n);
	buf[n] = 0;
}

/* "file:func:line;..." outermost first, as in the collapsed-stack format */
void pmw_site_stack(const struct pmw_site *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = s->nframes - 1; i >= 0 && o < len; i--)
		o += snprintf(buf + o, len - o, "%s%s:%s:%d", i == s->nframes - 1 ? "" : ";",
			      s->frames[i].file, s->frames[i].func, s->frames[i].line);
}
