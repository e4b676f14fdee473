// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test driver for user/holders.c (built by test_holders.py, linked with the
 * .output objects): holders_driver [-r REPEAT] PID ADDR[/PARENT]... (PARENT: the
 * dict or list holding ADDR, as h->parent) prints, per call,
 * one tab-separated line per container:
 *   call ADDR KIND ITEMS RETAINED ITEM_TYPE PATH
 * (RETAINED "-" when unavailable), then "stats call READS NODES TORN SPENT MS".
 * Exit 0, 2 if the target cannot be opened, 3 if its version has no object
 * layouts (or is not supported at all), 1 if the search fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "holders.h"
#include "log.h"
#include "target.h"


int main(int argc, char **argv)
{
	struct pmw_target t;
	struct pmw_holder *h;
	int repeat = 1, wait = 0, forget = 0, opt, n, err;
	char line[64];

	while ((opt = getopt(argc, argv, "fr:vw")) != -1) {
		if (opt == 'r')
			repeat = atoi(optarg);
		else if (opt == 'w')
			wait = 1;
		else if (opt == 'f')
			forget = 1;
		else if (opt == 'v')
			pmw_verbosity = 2;
		else
			return 64;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: holders_driver [-r REPEAT] [-w] [-f] PID ADDR...\n");
		return 64;
	}
	err = pmw_target_open_pid(&t, atoi(argv[optind]));
	if (err) {
		fprintf(stderr, "holders_driver: cannot open PID %s: %s\n", argv[optind], strerror(-err));
		return err == -EPROTONOSUPPORT ? 3 : 2;
	}
	n = argc - optind - 1;
	h = calloc(n, sizeof(*h));
	for (int call = 0; call < repeat; call++) {
		struct pmw_holders_stats st;

		if (call && wait && !fgets(line, sizeof(line), stdin))
			break;
		if (forget)
			pmw_holders_forget(t.pid);
		for (int i = 0; i < n; i++) {	/* ADDR or ADDR/PARENT */
			char *end;

			h[i].container = strtoull(argv[optind + 1 + i], &end, 0);
			h[i].parent = *end == '/' ? strtoull(end + 1, NULL, 0) : 0;
		}
		err = pmw_holders_find(&t, h, n);
		if (err < 0) {
			fprintf(stderr, "holders_driver: %s\n", strerror(-err));
			return err == -EOPNOTSUPP ? 3 : 1;
		}
		for (int i = 0; i < n; i++) {
			char ret[32];

			if (h[i].retained_bytes == UINT64_MAX)
				snprintf(ret, sizeof(ret), "-");
			else
				snprintf(ret, sizeof(ret), "%llu", (unsigned long long)h[i].retained_bytes);
			printf("%d\t0x%llx\t%s\t%llu\t%s\t%s\t%s\n", call,
			       (unsigned long long)h[i].container, pmw_holder_kind_name(h[i].kind),
			       (unsigned long long)h[i].items, ret, h[i].item_type, h[i].path);
		}
		pmw_holders_last_stats(&st);
		printf("stats\t%d\t%llu\t%llu\t%llu\t%d\t%.1f\n", call, (unsigned long long)st.reads,
		       (unsigned long long)st.nodes, (unsigned long long)st.torn, st.budget_spent, st.ms);
		fflush(stdout);
	}
	free(h);
	pmw_target_close(&t);
	return 0;
}
