// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "elfimg.h"
#include "env.h"
#include "fields.h"
#include "log.h"
#include "output.h"
#include "release.h"
#include "util.h"

struct pmw_env env = {
	.interval = 1.0,	/* -i */
	.duration = 0,		/* -d: until Ctrl-C */
	.mode = PMW_MODE_FULL,	/* --mode */
	.stack_depth = 16,	/* --stack-depth */
	.profile_budget = 0.05,	/* --alloc-profile-budget 5 */
	.walk_budget = 0.05,	/* --walk-budget 5 */
	.profile_mode = PMW_PROFILE_OFF, /* --alloc-profile: opt-in */
};

/* --version: version, revision, build, libbpf, debuginfod, CPython versions (release.c) */
void (*argp_program_version_hook)(FILE *, struct argp_state *) = pmw_print_version;
const char *argp_program_bug_address = "https://github.com/pymemwatch/pymemwatch/issues";

static const char doc[] =
"pymemwatch -- watch the memory and garbage collector of running CPython processes,\n"
"from outside, with eBPF: no restart, no code change, nothing injected.\n"
"\n"
"USAGE: pymemwatch [OPTION...] -p PID[,PID...]\n"
"       pymemwatch [OPTION...] -a\n"
"       pymemwatch [OPTION...] -- COMMAND [ARG...]\n"
"\n"
"EXAMPLES:\n"
"    sudo pymemwatch -p 1234                 # live view of PID 1234, 1 s refresh\n"
"    sudo pymemwatch -a                      # every Python process, ranked by leak score\n"
"    sudo pymemwatch -a -d 60 --csv host.csv # a one-minute sweep of the host\n"
"    sudo pymemwatch -p 1234,5678 -i 5       # two processes, 5 s intervals\n"
"    sudo pymemwatch -p 1234 -d 60 --csv mem.csv   # one minute of rows to mem.csv\n"
"    sudo pymemwatch --csv - -p 1234 | head  # CSV on stdout\n"
"    sudo pymemwatch -- python3 app.py       # trace from the first allocation\n"
"    sudo pymemwatch --follow -p 1234        # 1234 and its Python children, as they fork\n"
"    sudo pymemwatch --exact -p 1234         # exact alloc/free counts (non-LTO builds)\n"
"\n"
"Figures per PID and interval: allocations and frees, live pymalloc heap (read\n"
"from the allocator's own pool headers), arenas, RSS, and per GC generation the\n"
"collections, objects collected and uncollectable and the pauses (total, max,\n"
"p50/p99). On a terminal the view redraws every interval (q quits); otherwise\n"
"plain tables are printed. A summary per PID follows at the end.\n"
"\n"
"Precision: allocs/frees are exact only with --exact on builds whose pymalloc is\n"
"not inlined (e.g. pyenv, source builds); LTO+PGO builds (Debian, Ubuntu, docker\n"
"python images) get estimates from pool refills, labelled 'estimate'.\n"
"Cost to the target (measure it with 'make bench'; doc/overhead.md keeps the last table):\n"
"--mode gc and heap put nothing on allocation paths; full, the default, adds a\n"
"probe per pymalloc pool refill, a small cost on allocation-heavy code; --exact\n"
"probes every pymalloc call and slows allocation-heavy code several times, more\n"
"than -X tracemalloc=1; --large probes every libc malloc/free. Keep --exact and\n"
"--large for short diagnostic runs.\n"
"\n"
"EXIT STATUS: 0 ok; 1 runtime failure; 2 target unusable (no such process, not\n"
"CPython, unsupported version); 64 usage error; 69 kernel lacks BPF/BTF/uprobes;\n"
"77 not root. With -- COMMAND: the command's exit status.\n"
"\n"
"OPTIONS:";

enum {
	OPT_EXACT = 1000,
	OPT_NO_TUI,
	OPT_LARGE,
	OPT_MODE,
	OPT_BPF_STATS,
	OPT_STACK_DEPTH,
	OPT_PROFILE_BUDGET,
	OPT_WALK_BUDGET,
	OPT_PROFILE,
	OPT_GROWTH_SITES,
	OPT_REPORT,
	OPT_FOLLOW,
	OPT_DEBUGINFOD_TIMEOUT,
	OPT_BASH_COMPLETION,
	OPT_OUTPUT0 = 2000,	/* + index in the output registry (output.c) */
};

#define GROUP_OUTPUT	3	/* the outputs' own options join this group (output.h) */

static const struct argp_option opts[] = {
	{ NULL, 0, NULL, 0, "Targets:", 1 },
	{ "pid", 'p', "PID[,PID...]", 0, "Watch these running processes", 1 },
	{ "all", 'a', NULL, 0, "Watch every CPython process on the host, containers included, also those that start later (default --mode heap)", 1 },
	{ "follow", OPT_FOLLOW, NULL, 0, "With -p or -- COMMAND: also watch the targets' descendants that run Python (fork children, children that exec a Python), as they appear; COMMAND may then be a non-Python (a shell) that starts Python", 1 },
	{ NULL, 0, NULL, 0, "Timing:", 2 },
	{ "interval", 'i', "SECONDS", 0, "Interval between rows (default 1; fractions allowed)", 2 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS (default: Ctrl-C, or when every target has exited)", 2 },
	{ NULL, 0, NULL, 0, "Output:", GROUP_OUTPUT },
	{ "report", OPT_REPORT, "FILE", 0, "At the end, write an HTML report of the run", 3 },
	{ "quiet", 'q', NULL, 0, "No interval tables or live view on stdout; only the final summary (status lines stay on stderr)", 3 },
	{ "no-tui", OPT_NO_TUI, NULL, 0, "Plain interval tables even on a terminal", 3 },
	{ "verbose", 'v', NULL, 0, "More messages (-vv: libbpf debug output too)", 3 },
	{ "bpf-stats", OPT_BPF_STATS, NULL, 0, "At exit, print each BPF program's runs and ns per run (kernel BPF run-time statistics)", 3 },
	{ NULL, 0, NULL, 0, "Probes:", 4 },
	{ "mode", OPT_MODE, "gc|heap|full", 0, "Signals: gc = GC only; heap = + live heap scans (nothing on allocation paths); full = + pool-refill probe for allocation estimates (default)", 4 },
	{ "alloc-profile", OPT_PROFILE, "auto|always|off", 0, "Sampled allocation profile: which Python lines took the pymalloc pools still in use, sampled at pool refills (--csv-sites, --flamegraph, site lines of --json). Bursts of sampling with object-free probes while the heap grows (auto), always, or never (off, default); costs the target while on, within --alloc-profile-budget. Not a leak finder: leaks and the lines that grow them come from heap walks and --growth-sites", 4 },
	{ "leaks", OPT_PROFILE, "auto|always|off", OPTION_HIDDEN, "Old spelling of --alloc-profile", 4 },
	{ "alloc-profile-budget", OPT_PROFILE_BUDGET, "PERCENT", 0, "Slowdown the sampled allocation profile may cost the target: its CPU time while burst probes are on, percent of its CPU time outside them (default 5; up to 10000)", 4 },
	{ "leak-budget", OPT_PROFILE_BUDGET, "PERCENT", OPTION_HIDDEN, "Old spelling of --alloc-profile-budget", 4 },
	{ "growth-sites", OPT_GROWTH_SITES, "on|off", 0, "Name the line that grows each leak with a hardware write watchpoint on its length (16 hits per CPU per watch, at most 4 at once; default on)", 4 },
	{ "walk-budget", OPT_WALK_BUDGET, "PERCENT", 0, "the total CPU of pymemwatch, all threads and kernel time (percent of one CPU, for all targets together): heap walks for the census and growing containers, walked in turn, get what the rest leaves of it; 0 = no walks and no bound (default 5)", 4 },
	{ "stack-depth", OPT_STACK_DEPTH, "N", 0, "Python frames kept per sampled stack (1-16, default 16)", 4 },
	{ "exact", OPT_EXACT, NULL, 0, "Count every pymalloc allocation and free (costly; non-LTO builds only)", 4 },
	{ "large", OPT_LARGE, NULL, 0, "Follow libc blocks > 512 B (probes every malloc/free of the PID: costly)", 4 },
	{ "debuginfod-timeout", OPT_DEBUGINFOD_TIMEOUT, "SECONDS", 0, "Give up fetching a debug file from $DEBUGINFOD_URLS after SECONDS (default 30)", 4 },
	{ NULL, 0, NULL, 0, "Help:", -1 },
	{ "bash-completion", OPT_BASH_COMPLETION, NULL, OPTION_HIDDEN, "Print a bash completion script for these options and exit", -1 },
	{},
};

/* the fixed options, then each output's own (the terminating {} comes last) */
static const struct argp_option *all_options(void)
{
	static struct argp_option all[ARRAY_SIZE(opts) + PMW_MAX_OUTPUTS];
	int n = ARRAY_SIZE(opts) - 1;

	if (!all[0].doc) {
		memcpy(all, opts, n * sizeof(*opts));
		pmw_outputs_argp_options(all + n, GROUP_OUTPUT, OPT_OUTPUT0);
	}
	return all;
}

static void bad(struct argp_state *state, const char *fmt, const char *arg)
{
	argp_error(state, fmt, arg);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	int n, dup = 0;

	switch (key) {
	case 'p':
		if (env.all)
			argp_error(state, "give one of -p PID, -a or -- COMMAND");
		if (env.npids)
			bad(state, "-p given twice: list PIDs once, separated by commas: %s", arg);
		n = pmw_parse_pids(arg, env.pids, PMW_MAX_PIDS, &dup);
		if (n == -EEXIST) {
			char msg[64];

			snprintf(msg, sizeof(msg), "%d", dup);
			argp_error(state, "PID %s given twice", msg);
		}
		if (n == -E2BIG)
			bad(state, "too many PIDs (at most 256): %s", arg);
		if (n < 0)
			bad(state, "invalid PID list '%s': expected PID[,PID...]", arg);
		env.npids = n;
		break;
	case 'a':
		if (env.npids)
			argp_error(state, "give one of -p PID, -a or -- COMMAND");
		env.all = true;
		break;
	case 'i':
		if (pmw_parse_seconds(arg, &env.interval) || env.interval < 0.01 || env.interval > 86400)
			bad(state, "invalid interval '%s': expected seconds, 0.01 to 86400", arg);
		break;
	case 'd':
		if (pmw_parse_seconds(arg, &env.duration))
			bad(state, "invalid duration '%s': expected seconds >= 0", arg);
		break;
	case OPT_FOLLOW:
		env.follow = true;
		break;
	case OPT_EXACT:
		env.exact = true;
		break;
	case OPT_MODE:
		env.mode_set = true;
		if (!strcmp(arg, "gc"))
			env.mode = PMW_MODE_GC;
		else if (!strcmp(arg, "heap"))
			env.mode = PMW_MODE_HEAP;
		else if (!strcmp(arg, "full"))
			env.mode = PMW_MODE_FULL;
		else
			bad(state, "invalid --mode '%s': expected gc, heap or full", arg);
		break;
	case OPT_STACK_DEPTH: {
		char *end;
		long v = strtol(arg, &end, 10);

		if (*end || v < 1 || v > 16)
			bad(state, "invalid --stack-depth '%s': expected 1 to 16", arg);
		env.stack_depth = (int)v;
		break;
	}
	case OPT_PROFILE_BUDGET: {
		double v;

		if (pmw_parse_seconds(arg, &v) || v <= 0 || v > 10000)
			bad(state, "invalid --alloc-profile-budget '%s': expected a percentage, above 0 and at most 10000", arg);
		env.profile_budget = v / 100;
		break;
	}
	case OPT_WALK_BUDGET: {
		double v;

		if (pmw_parse_seconds(arg, &v) || v > 100)
			bad(state, "invalid --walk-budget '%s': expected a percentage of one CPU, 0 to 100", arg);
		env.walk_budget = v / 100;
		break;
	}
	case OPT_GROWTH_SITES:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			bad(state, "invalid --growth-sites '%s': expected on or off", arg);
		env.no_growth_sites = !strcmp(arg, "off");
		break;
	case OPT_PROFILE:
		if (!strcmp(arg, "auto"))
			env.profile_mode = PMW_PROFILE_AUTO;
		else if (!strcmp(arg, "always"))
			env.profile_mode = PMW_PROFILE_ALWAYS;
		else if (!strcmp(arg, "off"))
			env.profile_mode = PMW_PROFILE_OFF;
		else
			bad(state, "invalid --alloc-profile '%s': expected auto, always or off", arg);
		break;
	case OPT_REPORT:
		if (!*arg)
			bad(state, "empty --report file name%s", "");
		env.report = arg;
		break;
	case OPT_BPF_STATS:
		env.bpf_stats = true;
		break;
	case OPT_LARGE:
		env.large = true;
		break;
	case OPT_DEBUGINFOD_TIMEOUT:
		if (pmw_parse_seconds(arg, &pmw_debuginfod_timeout) || pmw_debuginfod_timeout <= 0 ||
		    pmw_debuginfod_timeout > 3600)
			bad(state, "invalid --debuginfod-timeout '%s': expected seconds, above 0 and at most 3600", arg);
		break;
	case OPT_NO_TUI:
		env.no_tui = true;
		break;
	case 'q':
		env.quiet = true;
		break;
	case 'v':
		env.verbosity++;
		break;
	case OPT_BASH_COMPLETION:	/* for `make`: .output/pymemwatch.bash */
		pmw_bash_completion(stdout, all_options());
		exit(fflush(stdout) ? PMW_EXIT_RUNTIME : 0);
	case ARGP_KEY_ARG:
		/* first non-option: the command (argp stops at "--" and hands us the rest) */
		if (env.npids || env.all)
			argp_error(state, "give one of -p PID, -a or -- COMMAND");
		env.command = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!env.npids && !env.command && !env.all)
			argp_error(state, "no target: give -p PID[,PID...], -a or -- COMMAND [ARG...]");
		if (env.all && env.follow)
			argp_error(state, "--follow is for -p PID and -- COMMAND: -a already watches every CPython process");
		if (env.all && !env.mode_set)
			env.mode = PMW_MODE_HEAP;
		break;
	default:
		return pmw_outputs_parse_opt(key, OPT_OUTPUT0, arg, state);
	}
	return 0;
}

/* after the options: the column list, from the field table (fields.c) */
static char *help_filter(int key, const char *text, void *input)
{
	return key == ARGP_KEY_HELP_POST_DOC ? pmw_fields_help() : (char *)text;
}

void pmw_env_parse(int argc, char **argv)
{
	struct argp argp = {
		.options = all_options(),
		.parser = parse_arg,
		.doc = doc,
		.help_filter = help_filter,
	};

	/* argp prefixes its errors with this: "pymemwatch: ...", whatever argv[0] was */
	program_invocation_name = program_invocation_short_name = "pymemwatch";
	setenv("ARGP_HELP_FMT", "rmargin=90", 0);
	argp_err_exit_status = PMW_EXIT_USAGE;
	/* ARGP_IN_ORDER is not used: "--" must end option parsing */
	argv[0] = "pymemwatch";	/* getopt names argv[0] in its errors */
	argp_parse(&argp, argc, argv, 0, NULL, NULL);
}

const struct argp_option *pmw_env_options(void)
{
	return all_options();
}
