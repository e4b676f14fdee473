// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "output.h"
#include "util.h"

/*
 * THE output registry, one line per output: the order in which they open,
 * take each interval's rows and close (in reverse). Screen outputs last.
 */
#define PMW_OUTPUTS(X)		\
	X(pmw_out_csv)		\
	X(pmw_out_csv_sites)	\
	X(pmw_out_csv_leaks)	\
	X(pmw_out_csv_types)	\
	X(pmw_out_csv_advice)	\
	X(pmw_out_json)		\
	X(pmw_out_flamegraph)	\
	X(pmw_out_prometheus)	\
	X(pmw_out_table)	\
	X(pmw_out_tui)

#define DECLARE(ops)	extern const struct pmw_output_ops ops;
#define ENTRY(ops)	&ops,
PMW_OUTPUTS(DECLARE)
static const struct pmw_output_ops *const registry[] = { PMW_OUTPUTS(ENTRY) };
#define NREG ((int)ARRAY_SIZE(registry))
_Static_assert(ARRAY_SIZE(registry) <= PMW_MAX_OUTPUTS, "raise PMW_MAX_OUTPUTS");

/* the option arguments given, per registry entry */
static const char *args[PMW_MAX_OUTPUTS];

static int find(const char *name)
{
	for (int i = 0; i < NREG; i++)
		if (!strcmp(registry[i]->name, name))
			return i;
	return -1;
}

int pmw_outputs_argp_options(struct argp_option *opts, int group, int key0)
{
	int n = 0;

	for (int i = 0; i < NREG; i++) {
		if (registry[i]->kind == PMW_OUT_SCREEN)
			continue;
		opts[n++] = (struct argp_option){
			.name = registry[i]->name, .key = key0 + i, .arg = registry[i]->arg,
			.doc = registry[i]->help, .group = group,
		};
	}
	return n;
}

error_t pmw_outputs_parse_opt(int key, int key0, char *arg, struct argp_state *state)
{
	const struct pmw_output_ops *ops;

	if (key < key0 || key >= key0 + NREG)
		return ARGP_ERR_UNKNOWN;
	ops = registry[key - key0];
	if (!*arg)
		argp_error(state, "empty --%s %s", ops->name, ops->arg);
	else if (ops->arg_ok && !ops->arg_ok(arg))
		argp_error(state, "invalid --%s '%s': expected %s", ops->name, arg, ops->expect);
	args[key - key0] = arg;
	return 0;
}

const char *pmw_output_arg(const char *name)
{
	int i = find(name);

	return i < 0 ? NULL : args[i];
}

void pmw_output_set_arg(const char *name, const char *arg)
{
	int i = find(name);

	if (i >= 0)
		args[i] = arg;
}

bool pmw_outputs_on_stdout(void)
{
	for (int i = 0; i < NREG; i++)
		if (registry[i]->kind == PMW_OUT_FILE && args[i] && !strcmp(args[i], "-"))
			return true;
	return false;
}

/* Open registry entry @i with @arg into the next slot of @os; 0 or -errno. */
static int open_one(struct pmw_outputs *os, int i, const char *arg, const char *host,
		    double interval, bool rank)
{
	struct pmw_output *o = &os->o[os->n];
	int err = 0;

	memset(o, 0, sizeof(*o));
	o->ops = registry[i];
	o->interval = interval;
	o->rank = rank;
	snprintf(o->host, sizeof(o->host), "%s", host);
	if (o->ops->kind == PMW_OUT_FILE) {
		o->f = pmw_output_create(arg);
		if (!o->f)
			return -errno;
		snprintf(o->path, sizeof(o->path), "%s", arg);
	}
	if (o->ops->open)
		err = o->ops->open(o, arg);
	if (err) {
		pmw_output_close_file(o);
		return err;
	}
	os->n++;
	return 0;
}

int pmw_outputs_open(struct pmw_outputs *os, const char *screen, const char *host,
		     double interval, bool rank)
{
	int err;

	for (int i = 0; i < NREG; i++) {
		if (!args[i])
			continue;
		err = open_one(os, i, args[i], host, interval, rank);
		if (err) {
			elog("cannot write %s: %s\n", args[i], err == -ELOOP ?
			     "it is a symbolic link (not followed)" : strerror(-err));
			return err;
		}
	}
	if (!screen || pmw_outputs_on_stdout() || find(screen) < 0)
		return 0;
	if (open_one(os, find(screen), NULL, host, interval, rank))
		open_one(os, find("table"), NULL, host, interval, rank);
	return 0;
}

int pmw_outputs_interval(struct pmw_outputs *os, struct pmw_watch **ws, int n)
{
	int err = 0;

	for (int i = 0; i < os->n; i++) {
		struct pmw_output *o = &os->o[i];
		int e = o->ops->interval ? o->ops->interval(o, ws, n) : 0;

		if (e && !err) {
			elog("output %s failed: %s\n", o->ops->name, strerror(-e));
			err = e;
		}
	}
	return err;
}

bool pmw_outputs_note(struct pmw_outputs *os, const char *msg)
{
	bool shown = false;

	for (int i = 0; i < os->n; i++) {
		if (os->o[i].ops->poll_keys && os->o[i].ops->note) {
			os->o[i].ops->note(&os->o[i], msg);
			shown = true;
		}
	}
	return shown;
}

bool pmw_outputs_poll_keys(struct pmw_outputs *os)
{
	bool quit = false;

	for (int i = 0; i < os->n; i++)
		if (os->o[i].ops->poll_keys && os->o[i].ops->poll_keys(&os->o[i]))
			quit = true;
	return quit;
}

void pmw_outputs_finish(struct pmw_outputs *os, struct pmw_watch **ws, int n)
{
	for (int i = 0; i < os->n; i++)
		if (os->o[i].ops->finish)
			os->o[i].ops->finish(&os->o[i], ws, n);
}

void pmw_outputs_close(struct pmw_outputs *os)
{
	for (int i = os->n - 1; i >= 0; i--) {
		if (os->o[i].ops->close)
			os->o[i].ops->close(&os->o[i]);
		pmw_output_close_file(&os->o[i]);
	}
	os->n = 0;
}

FILE *pmw_output_create(const char *path)
{
	int fd;
	FILE *f;

	if (!strcmp(path, "-"))
		return stdout;
	/* never follow a symlink planted at the output path */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	else	/* an interval's rows reach the file in one write at the flush, not mid-row */
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

void pmw_output_close_file(struct pmw_output *o)
{
	if (!o->f)
		return;
	if (o->f == stdout)
		fflush(o->f);
	else if (fclose(o->f))
		elog("error writing %s: %s\n", o->path, strerror(errno));
	o->f = NULL;
}
