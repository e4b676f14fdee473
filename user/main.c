// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pymemwatch: lifecycle only.
 * parse -> check privileges and kernel -> resolve targets (session.c) ->
 * load BPF and attach -> drop privileges -> start (outputs, command.c) ->
 * poll and tick every interval, bursts between ticks (burst.c) -> final
 * tick -> summary, report -> cleanup.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "burst.h"
#include "env.h"
#include "log.h"
#include "priv.h"
#include "probes.h"
#include "pymemwatch.skel.h"
#include "report.h"
#include "session.h"
#include "snapshot.h"
#include "util.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && pmw_verbosity < 2)
		return 0;
	if (level == LIBBPF_INFO && pmw_verbosity < 1)
		return 0;
	if (level == LIBBPF_WARN && pmw_verbosity < 1)
		return 0;	/* failures are reported by pymemwatch itself, once */
	return vfprintf(stderr, fmt, args);
}

static int check_kernel(void)
{
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		elog("this kernel has no uprobe support (CONFIG_UPROBE_EVENTS): cannot probe processes\n");
		return -ENOTSUP;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		elog("this kernel has no BTF (/sys/kernel/btf/vmlinux missing, CONFIG_DEBUG_INFO_BTF): "
		     "use a kernel built with it\n");
		return -ENOTSUP;
	}
	return 0;
}

/*
 * --report reads the run's JSON Lines back at the end: without --json they
 * go to a temporary file, named in @tmp (64 bytes). Returns 0 or PMW_EXIT_*.
 */
static int report_prepare(char *tmp)
{
	const char *json = pmw_output_arg("json");
	int fd;

	if (!env.report)
		return 0;
	if (json && !strcmp(json, "-")) {
		elog("--report reads the run's JSON Lines back: give --json a file, not '-'\n");
		return PMW_EXIT_USAGE;
	}
	if (json)
		return 0;
	snprintf(tmp, 64, "/tmp/pymemwatch-report-XXXXXX");
	fd = mkstemp(tmp);
	if (fd < 0) {
		elog("--report: cannot create a temporary file in /tmp: %s\n", strerror(errno));
		tmp[0] = 0;
		return PMW_EXIT_RUNTIME;
	}
	close(fd);
	pmw_output_set_arg("json", tmp);
	return 0;
}

/* --report, once the outputs are closed (the JSON Lines complete). 0 or PMW_EXIT_RUNTIME. */
static int report_write(void)
{
	const char *in = pmw_output_arg("json");

	if (!env.report)
		return 0;
	if (pmw_report_write(&in, 1, env.report))
		return PMW_EXIT_RUNTIME;
	fprintf(stderr, "pymemwatch: report written to %s\n", env.report);
	return 0;
}

/*
 * PMW_MEMSTATS=1 (a debug aid for pymemwatch's own memory, doc/overhead.md):
 * after each tick, one stderr line of glibc's mallinfo2() in KiB: arena (main
 * heap from sbrk), inuse (allocated, not mmapped), free (free in the arenas),
 * top (releasable top of the heap), mmap (chunks mmapped one each), nmmap.
 */
static void memstats(double t)
{
	static int on = -1;
	struct mallinfo2 mi;

	if (on < 0)
		on = getenv("PMW_MEMSTATS") && *getenv("PMW_MEMSTATS") && strcmp(getenv("PMW_MEMSTATS"), "0");
	if (!on)
		return;
	mi = mallinfo2();
	fprintf(stderr, "memstats t=%.1f arena=%zu inuse=%zu free=%zu top=%zu mmap=%zu nmmap=%zu\n", t,
		mi.arena >> 10, mi.uordblks >> 10, mi.fordblks >> 10, mi.keepcost >> 10, mi.hblkhd >> 10,
		mi.hblks);
}

/*
 * Tick every interval until -d, Ctrl-C, q or every target gone; bursts
 * start after ticks and end between them. Then the last, partial interval
 * so that nothing seen is lost. Returns PMW_EXIT_OK or PMW_EXIT_RUNTIME.
 */
static int run(struct pmw_session *s)
{
	struct pmw_bursts b = { 0 };
	double start = pmw_now_s(), last = start, next = start + env.interval, t;
	double end = env.duration > 0 ? start + env.duration : 0;
	int targets_fd = bpf_map__fd(s->skel->maps.pmw_targets), live, ret = PMW_EXIT_OK;

	while (!exiting) {
		int err;

		t = pmw_now_s();
		err = pmw_session_poll(s, pmw_bursts_wake_by(&b, end && end < next ? end : next) - t);
		if (err < 0) {
			ret = PMW_EXIT_RUNTIME;
			break;
		}
		if (err > 0)
			exiting = 1;	/* q */
		t = pmw_now_s();
		if (pmw_bursts_timers(&b, s->ws, s->nws, targets_fd, t))
			pmw_session_samples_look(s);
		if (end && t >= end)
			break;
		if (t < next)
			continue;
		live = pmw_session_tick(s, t - last, exiting);
		last = t;
		memstats(t - start);
		pmw_bursts_tick(&b, s->skel, s->ws, s->nws, t);
		next += env.interval;
		if (next < t)
			next = t + env.interval;
		if (live < 0) {
			ret = PMW_EXIT_RUNTIME;
			break;
		}
		if (live == 0)
			break;	/* every target exited */
	}
	t = pmw_now_s();
	if (pmw_session_any_live(s) && t - last > 0.001 && pmw_session_tick(s, t - last, true) < 0)
		ret = PMW_EXIT_RUNTIME;
	return ret;
}

int main(int argc, char **argv)
{
	struct pmw_session s;
	char report_tmp[64] = "";	/* --report without --json: the JSON Lines go here */
	int err, ret;

	if (argc > 1 && !strcmp(argv[1], "report"))
		return pmw_report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "snapshot"))
		return pmw_snapshot_main(argc - 1, argv + 1);
	setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
	/* heap walks allocate and free arrays of MiB each walk: with glibc's dynamic
	 * mmap threshold (raised to 32 MiB by the first such free) they fragmented
	 * the heap, and RSS grew to twice what was in use (5-target soak) */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 256 << 10);
	pmw_env_parse(argc, argv);
	pmw_verbosity = env.verbosity;
	libbpf_set_print(libbpf_print_fn);
	if (pmw_priv_check())
		return PMW_EXIT_NOPERM;
	if (check_kernel())
		return PMW_EXIT_UNSUPPORTED;
	ret = report_prepare(report_tmp);
	if (ret)
		return ret;

	pmw_session_init(&s);
	ret = pmw_session_resolve(&s);
	if (!ret)
		ret = pmw_session_load(&s);
	if (ret)
		goto cleanup;
	/* before any thread starts: capabilities are per thread */
	/* CAP_SYS_ADMIN stays for later attaches: bursts' uprobes, growth sites' per-CPU
	 * watchpoints (perf_event_open with pid -1 needs it at perf_event_paranoid >= 1) */
	err = pmw_priv_drop(env.all || env.follow || (s.groups & (PMW_G_BURST | PMW_G_GROWTH)),
			    env.all || env.follow);
	if (err)
		wlog("cannot drop capabilities: %s; running with all of them\n", strerror(-err));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ret = pmw_session_start(&s);
	if (ret)
		goto cleanup;

	ret = run(&s);
	pmw_session_finish(&s);
	if (s.cmd.pid) {
		/* Ctrl-C: the command got it too if it shares our terminal */
		err = pmw_command_wait(&s.cmd, exiting);
		if (ret == PMW_EXIT_OK)
			ret = err;
	}
	err = report_write();
	if (err && ret == PMW_EXIT_OK)
		ret = err;
cleanup:
	pmw_session_close(&s);
	if (report_tmp[0])
		unlink(report_tmp);
	return ret;
}
