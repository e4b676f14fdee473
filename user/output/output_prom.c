// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --prometheus ADDR:PORT: serve GET /metrics in the Prometheus text
 * exposition format (version 0.0.4) with libmicrohttpd.
 *
 * Every interval the whole exposition is rendered from the watches that
 * produced a row, on the main thread, and swapped in under a mutex; the
 * daemon's own thread only copies the latest text into each response.
 * Processes that exited are left out, so their series end. The metric
 * families of the processes are the rows of the field table (fields.c)
 * that name one; an unavailable figure has no sample.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "fields.h"
#include "log.h"
#include "ops.h"
#include "util.h"

#define PROM_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
/* the first finite bucket: pauses < 2^PAUSE_LE_FIRST ns (~1 us) */
#define PAUSE_LE_FIRST		10

struct prom {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	char *text;			/* the latest exposition, NUL-terminated */
	size_t len;
};

/* ---------------------------------------------------------------- address */

/*
 * "A.B.C.D:PORT", "[IPv6]:PORT" or ":PORT" (every address). Fills @ss and
 * sets *v6 (an IPv6 address) and *any (every address); returns 0 or -EINVAL.
 */
static int parse_addr(const char *arg, struct sockaddr_storage *ss, bool *v6, bool *any)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *p;
	unsigned long port = 0;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	*v6 = *any = false;
	if (!arg || !*arg)
		return -EINVAL;
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = close - arg - 1;
		if (!hl || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, arg + 1, hl);
		host[hl] = 0;
		colon = close + 1;
		*v6 = true;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || strchr(arg, ':') != colon)	/* bare IPv6 needs [] */
			return -EINVAL;
		hl = colon - arg;
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, arg, hl);
		host[hl] = 0;
		*any = !hl;
	}
	p = colon + 1;
	if (!*p || strlen(p) > 5)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return -EINVAL;

	if (*v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (!*any && inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		if (*any)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
	}
	return 0;
}

static bool addr_ok(const char *arg)
{
	struct sockaddr_storage ss;
	bool v6, any;

	return !parse_addr(arg, &ss, &v6, &any);
}

/* ---------------------------------------------------------------- HTTP */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	elog("prometheus: %s\n", msg);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     const char *body, size_t len, bool allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	static const char not_found[] = "404 not found: pymemwatch serves /metrics\n";
	static const char not_allowed[] = "405 method not allowed\n";
	struct prom *p = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     not_allowed, sizeof(not_allowed) - 1, true);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", not_found,
			     sizeof(not_found) - 1, false);
	pthread_mutex_lock(&p->mu);
	r = MHD_create_response_from_buffer(p->len, p->text, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&p->mu);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---------------------------------------------------------------- exposition */

/* a label value, escaped: backslash, double quote, newline */
static void put_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* "docker:<id>", "k8s:pod<uid>", ... or "" for the host (see target.h) */
static const char *container_of(const struct pmw_watch *w)
{
	return w->t.container;
}

/* `name{pid="..",comm="..",python="..",container=".."` without the closing brace */
static void put_series(FILE *f, const char *name, const char *suffix, const struct pmw_watch *w)
{
	fprintf(f, "%s%s{pid=\"%d\",comm=\"", name, suffix ? suffix : "", w->t.pid);
	put_escaped(f, w->t.comm);
	fputs("\",python=\"", f);
	put_escaped(f, w->t.version);
	fputs("\",container=\"", f);
	put_escaped(f, container_of(w));
	fputc('"', f);
}

static void put_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a float sample value, 15 significant digits */
static void put_f64(FILE *f, double v)
{
	if (v != v)
		fputs("NaN", f);
	else if (v > 1.7e308)
		fputs("+Inf", f);
	else if (v < -1.7e308)
		fputs("-Inf", f);
	else
		fprintf(f, "%.15g", v);
}

static bool shown(const struct pmw_watch *w)
{
	return !w->exited;
}

/*
 * Pause histogram from the log2 ns slots: slot i counts pauses in
 * [2^i, 2^(i+1)) ns, so the cumulative bucket le=2^(i+1) ns holds slots
 * 0..i. The last slot also holds everything longer, so the last finite
 * bucket is le=2^(SLOTS-1) ns (~2.1 s), then +Inf. Counted are the pauses
 * that were timed (gc=usdt|uprobe: every collection).
 */
static void put_histogram(FILE *f, const char *name, const struct pmw_watch *w, const char *label,
			  const struct pmw_fval *v)
{
	uint64_t acc = 0;
	int s = 0;

	for (int le = PAUSE_LE_FIRST; le < PMW_HIST_SLOTS; le++) {
		for (; s < le; s++)
			acc += v->hist[s];
		put_series(f, name, "_bucket", w);
		fprintf(f, "%s,le=\"%.10g\"} %llu\n", label, (double)(1ULL << le) / 1e9,
			(unsigned long long)acc);
	}
	for (; s < PMW_HIST_SLOTS; s++)
		acc += v->hist[s];
	put_series(f, name, "_bucket", w);
	fprintf(f, "%s,le=\"+Inf\"} %llu\n", label, (unsigned long long)acc);
	put_series(f, name, "_sum", w);
	fprintf(f, "%s} ", label);
	put_f64(f, v->d);
	fputc('\n', f);
	put_series(f, name, "_count", w);
	fprintf(f, "%s} %llu\n", label, (unsigned long long)acc);
}

static const char *const prom_types[] = {
	[PMW_PROM_GAUGE] = "gauge", [PMW_PROM_COUNTER] = "counter",
	[PMW_PROM_HISTOGRAM] = "histogram",
};

/* the family of field @fl: one sample per shown watch (per generation: PMW_PL_GEN) */
static void put_field_family(FILE *f, const struct pmw_field *fl, struct pmw_watch **ws, int n)
{
	const struct pmw_field_prom *p = &fl->prom;

	put_family(f, p->name, prom_types[p->type], p->help);
	for (int i = 0; i < n; i++) {
		struct pmw_fsrc src = { .w = ws[i] };

		if (!shown(ws[i]))
			continue;
		for (src.gen = 0; src.gen < (p->label == PMW_PL_GEN ? PMW_NGEN : 1); src.gen++) {
			struct pmw_fval v;
			char label[64] = "";

			pmw_field_value(fl, p->get, p->avail, &src, &v);
			if (v.na)
				continue;	/* unavailable: no sample */
			if (p->label == PMW_PL_GEN)
				snprintf(label, sizeof(label), ",generation=\"%d\"", src.gen);
			else if (p->label == PMW_PL_PRECISION)
				snprintf(label, sizeof(label), ",precision=\"%s\"",
					 ws[i]->exact ? "exact" : "estimate");
			if (p->type == PMW_PROM_HISTOGRAM) {
				put_histogram(f, p->name, ws[i], label, &v);
				continue;
			}
			put_series(f, p->name, NULL, ws[i]);
			fprintf(f, "%s} ", label);
			if (fl->type == PMW_F_F64)
				put_f64(f, v.d);
			else
				fprintf(f, "%llu", (unsigned long long)v.u);
			fputc('\n', f);
		}
	}
}

void pmw_prom_render(FILE *f, struct pmw_watch **ws, int n)
{
	int live = 0;

	for (int i = 0; i < n; i++)
		live += shown(ws[i]);

	put_family(f, "pymemwatch_up", "gauge", "1 while pymemwatch runs and serves these metrics.");
	fputs("pymemwatch_up 1\n", f);
	put_family(f, "pymemwatch_targets", "gauge", "CPython processes being watched.");
	fprintf(f, "pymemwatch_targets %d\n", live);
	/* one family per row of the field table that names one */
	for (const struct pmw_field *fl = pmw_fields; fl < pmw_fields + pmw_nfields; fl++)
		if (fl->prom.name)
			put_field_family(f, fl, ws, n);
}

/* Render and swap in; 0 or -errno. */
static int publish(struct prom *p, struct pmw_watch **ws, int n)
{
	char *text = NULL, *old;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -errno;
	pmw_prom_render(f, ws, n);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	pthread_mutex_lock(&p->mu);
	old = p->text;
	p->text = text;
	p->len = len;
	pthread_mutex_unlock(&p->mu);
	free(old);
	return 0;
}

/* ---------------------------------------------------------------- ops */

static struct MHD_Daemon *start(struct prom *p, unsigned int flags, struct sockaddr *sa,
				 uint16_t port)
{
	/*
	 * @port only for MHD's messages: @sa is what is bound. MHD sets
	 * SO_REUSEADDR, never SO_REUSEPORT: a second pymemwatch on the same
	 * port fails instead of sharing it.
	 */
	return MHD_start_daemon(flags | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				port, NULL, NULL, handle, p,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,	/* first, for every message */
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				MHD_OPTION_END);
}

static int prom_open(struct pmw_output *o, const char *arg)
{
	struct sockaddr_storage ss;
	struct prom *p;
	sigset_t all, old;
	uint16_t port;
	bool v6, any;
	int err;

	if (parse_addr(arg, &ss, &v6, &any)) {
		elog("--prometheus %s: expected ADDR:PORT, [IPV6]:PORT or :PORT\n", arg ? arg : "");
		return -EINVAL;
	}
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);	/* same place in sockaddr_in6 */
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	err = publish(p, NULL, 0);
	if (err)
		goto fail;

	/* the daemon's thread inherits a mask blocking every signal: they stay with the main loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	errno = 0;
	if (any) {
		/* every address: IPv6 and IPv4 on one socket, or IPv4 alone without IPv6 */
		struct sockaddr_in6 sin6 = {
			.sin6_family = AF_INET6,
			.sin6_port = ((struct sockaddr_in *)&ss)->sin_port,
			.sin6_addr = IN6ADDR_ANY_INIT,
		};

		p->d = start(p, MHD_USE_DUAL_STACK, (struct sockaddr *)&sin6, port);
		if (!p->d && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL || errno == 0)) {
			errno = 0;
			p->d = start(p, 0, (struct sockaddr *)&ss, port);
		}
	} else {
		p->d = start(p, v6 ? MHD_USE_IPv6 : 0, (struct sockaddr *)&ss, port);
	}
	err = errno ? -errno : -EADDRNOTAVAIL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!p->d)
		goto fail;
	snprintf(o->path, sizeof(o->path), "%s", arg);
	o->priv = p;
	vlog("serving Prometheus metrics at http://%s/metrics\n", arg);
	return 0;
fail:
	pthread_mutex_destroy(&p->mu);
	free(p->text);
	free(p);
	return err;
}

static int prom_interval(struct pmw_output *o, struct pmw_watch **ws, int n)
{
	return o->priv ? publish(o->priv, ws, n) : 0;
}

static void prom_close(struct pmw_output *o)
{
	struct prom *p = o->priv;

	if (!p)
		return;
	if (p->d)
		MHD_stop_daemon(p->d);
	pthread_mutex_destroy(&p->mu);
	free(p->text);
	free(p);
	o->priv = NULL;
}

const struct pmw_output_ops pmw_out_prometheus = {
	.name = "prometheus",
	.kind = PMW_OUT_ARG,
	.arg = "ADDR:PORT",
	.help = "Serve Prometheus metrics at http://ADDR:PORT/metrics",
	.arg_ok = addr_ok,
	.expect = "ADDR:PORT, [IPV6]:PORT or :PORT",
	.open = prom_open,
	.interval = prom_interval,
	.close = prom_close,
};
