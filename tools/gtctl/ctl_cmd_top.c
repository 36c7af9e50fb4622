/* ctl_cmd_top.c - `gtctl top`: a live full-screen fleet table (hosts, GPUs, temperature,
 * utilization, power, memory), seeded from ListGpus and then updated by the collectors' live
 * feed. Plain ANSI escapes (alternate screen, colours), no curses. Keys: q quits; g h t u p m
 * sort by gpu, host, temperature, utilization, power, memory. `--once` prints one snapshot
 * (ListGpus only) as a table, CSV or JSON, for scripts.
 *
 * Colour thresholds: temperature >= 85 red, >= 75 yellow; utilization >= 90 green; a GPU
 * not heard from for 30 s is dim with its age in red. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_feed.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"
#include "gtpb/v1/collector.pb-c.h"

#define STALE_NS (30 * GT_NS_PER_S)

typedef struct top_state {
	json_t     *gpus;    /* gpu key -> row object */
	const char *sort;    /* column key */
	const char *host;    /* filter: substring of the hostname */
	const char *ns;      /* filter: namespace label */
	uint64_t    updates; /* records from the feed */
} top_state;

static const struct {
	char        key;
	const char *col;
} sort_keys[] = {{'g', "gpu"},         {'h', "host"},       {'t', "temperature"},
                 {'u', "utilization"}, {'p', "power_draw"}, {'m', "memory_used"}};

static const char *
sort_col(const char *name)
{
	static const char *const names[][2] = {{"gpu", "gpu"},          {"host", "host"},
	                                       {"temp", "temperature"}, {"util", "utilization"},
	                                       {"power", "power_draw"}, {"mem", "memory_used"}};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i][0]) == 0 || strcmp(name, names[i][1]) == 0)
			return names[i][1];
	return NULL;
}

static void
set_metric(json_t *row, const char *k, double v)
{
	json_object_set_new(row, k, json_real(v));
}

static json_t *
row_for(top_state *st, const char *key, const char *host)
{
	json_t *row = json_object_get(st->gpus, key);

	if (row == NULL) {
		row = json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:n, s:I}", "gpu", key, "host",
		                host, "namespace", "", "temperature", "utilization", "power_draw",
		                "memory_used", "last_seen_ns", (json_int_t)0);
		json_object_set_new(st->gpus, key, row);
	}
	return row;
}

static int
seed(ctl_ctx *c, top_state *st)
{
	Gtpb__V1__ListGpusRequest   in = GTPB__V1__LIST_GPUS_REQUEST__INIT;
	Gtpb__V1__ListGpusResponse *out = NULL;
	int                         rc;

	if ((rc = ctl_call(c, ctl_telemetry_url(c), &gtpb__v1__telemetry_service__descriptor,
	                   "ListGpus", &in.base, (ProtobufCMessage **)&out, 0, NULL)) !=
	    CTL_EXIT_OK)
		return rc;
	for (size_t i = 0; i < out->n_gpus; i++) {
		const Gtpb__V1__GpuInfo *g = out->gpus[i];
		json_t                  *row = row_for(st, g->gpu_key, g->hostname);

		json_object_set_new(row, "index", json_integer(g->gpu_index));
		json_object_set_new(row, "model", json_string(g->model));
		json_object_set_new(row, "last_seen_ns", json_integer(g->last_seen_ns));
		for (size_t k = 0; k < g->n_latest; k++)
			set_metric(row, g->latest[k]->key, g->latest[k]->value);
		if (st->ns != NULL) {
			/* ListGpus carries no labels: the newest record says the namespace */
			Gtpb__V1__GetTelemetryRequest   tin = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
			Gtpb__V1__GetTelemetryResponse *tout = NULL;

			tin.gpu = g->gpu_key;
			tin.limit = 1;
			if (ctl_call(c, ctl_telemetry_url(c),
			             &gtpb__v1__telemetry_service__descriptor, "GetTelemetry",
			             &tin.base, (ProtobufCMessage **)&tout, 1,
			             NULL) == CTL_EXIT_OK) {
				for (size_t r = 0; r < tout->n_records; r++)
					for (size_t l = 0; l < tout->records[r]->n_labels; l++)
						if (strcmp(tout->records[r]->labels[l]->key,
						           "namespace") == 0)
							json_object_set_new(
							    row, "namespace",
							    json_string(tout->records[r]
							                    ->labels[l]
							                    ->value));
				protobuf_c_message_free_unpacked(&tout->base, NULL);
			}
		}
	}
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

static void
apply(top_state *st, const Gtpb__V1__TelemetryRecord *r)
{
	json_t *row = row_for(st, r->gpu_key, r->hostname);

	if (r->timestamp_ns >= json_integer_value(json_object_get(row, "last_seen_ns")))
		json_object_set_new(row, "last_seen_ns", json_integer(r->timestamp_ns));
	json_object_set_new(row, "index", json_integer(r->gpu_index));
	if (*r->model)
		json_object_set_new(row, "model", json_string(r->model));
	for (size_t k = 0; k < r->n_metrics; k++)
		set_metric(row, r->metrics[k]->key, r->metrics[k]->value);
	for (size_t l = 0; l < r->n_labels; l++)
		if (strcmp(r->labels[l]->key, "namespace") == 0)
			json_object_set_new(row, "namespace", json_string(r->labels[l]->value));
	st->updates++;
}

static const char *top_sort_key;

static int
cmp_rows(const void *a, const void *b)
{
	json_t *x = json_object_get(*(json_t *const *)a, top_sort_key);
	json_t *y = json_object_get(*(json_t *const *)b, top_sort_key);
	int     r;

	if (json_is_string(x) && json_is_string(y))
		r = strcmp(json_string_value(x), json_string_value(y));
	else if (json_is_number(x) && json_is_number(y)) /* numbers: highest first */
		r = json_number_value(x) < json_number_value(y)   ? 1
		    : json_number_value(x) > json_number_value(y) ? -1
		                                                  : 0;
	else
		r = json_is_number(x) ? -1 : json_is_number(y) ? 1 : 0;
	if (r == 0)
		r = strcmp(json_string_value(json_object_get(*(json_t *const *)a, "gpu")),
		           json_string_value(json_object_get(*(json_t *const *)b, "gpu")));
	return r;
}

/* The filtered, sorted rows (new array; each row gets "age"). */
static json_t *
snapshot(top_state *st)
{
	json_t    **v, *rows = json_array(), *row;
	const char *k;
	size_t      n = 0, i;
	int64_t     now = gt_now_ns();

	v = calloc(json_object_size(st->gpus) + 1, sizeof(*v));
	json_object_foreach(st->gpus, k, row)
	{
		const char *h = json_string_value(json_object_get(row, "host"));
		const char *ns = json_string_value(json_object_get(row, "namespace"));
		char        ab[32];
		int64_t     seen = json_integer_value(json_object_get(row, "last_seen_ns"));

		if (st->host && (h == NULL || strstr(h, st->host) == NULL))
			continue;
		if (st->ns && (ns == NULL || strcmp(ns, st->ns) != 0))
			continue;
		json_object_set_new(
		    row, "age", json_string(seen > 0 ? ctl_age(now - seen, ab, sizeof(ab)) : "-"));
		json_object_set_new(row, "stale", json_boolean(seen <= 0 || now - seen > STALE_NS));
		if (v)
			v[n++] = row;
	}
	top_sort_key = st->sort;
	if (v)
		qsort(v, n, sizeof(*v), cmp_rows);
	for (i = 0; i < n; i++)
		json_array_append(rows, v[i]);
	free(v);
	return rows;
}

static const ctl_col top_cols[] = {{"host", "HOST"},
                                   {"gpu", "GPU"},
                                   {"index", "IDX"},
                                   {"temperature", "TEMP"},
                                   {"utilization", "UTIL%"},
                                   {"power_draw", "POWER_W"},
                                   {"memory_used", "MEM_USED"},
                                   {"namespace", "NAMESPACE"},
                                   {"age", "AGE"}};
#define NTOP (sizeof(top_cols) / sizeof(top_cols[0]))

static const char *
cell_color(json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);
	double  x = json_is_number(v) ? json_number_value(v) : -1;

	if (strcmp(key, "temperature") == 0)
		return x >= 85 ? "\033[31;1m" : x >= 75 ? "\033[33m" : NULL;
	if (strcmp(key, "utilization") == 0)
		return x >= 90 ? "\033[32;1m" : NULL;
	if (strcmp(key, "age") == 0)
		return json_is_true(json_object_get(row, "stale")) ? "\033[31m" : NULL;
	return NULL;
}

/* One frame into a buffer, written with one write() (no flicker). */
static void
draw(const ctl_ctx *c, top_state *st)
{
	static const int w[NTOP] = {14, 24, 3, 6, 6, 8, 9, 10, 7};
	struct winsize   ws = {0};
	json_t          *rows = snapshot(st), *row;
	char            *buf = NULL, cell[64], ts[64];
	size_t           len = 0, i;
	FILE            *f = open_memstream(&buf, &len);
	int              maxrows = 1000;

	if (f == NULL) {
		json_decref(rows);
		return;
	}
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4)
		maxrows = ws.ws_row - 4;
	fputs("\033[H\033[2J", f);
	fprintf(f, "gtctl top  %s  %zu GPUs  sort: %s  feed updates: %llu\n",
	        ctl_ts(gt_now_ns(), ts, sizeof(ts)), json_array_size(rows), st->sort,
	        (unsigned long long)st->updates);
	fprintf(f, "%sq quit  g/h/t/u/p/m sort by gpu/host/temp/util/power/mem%s\n",
	        c->color ? "\033[2m" : "", c->color ? "\033[0m" : "");
	fputs(c->color ? "\033[7m" : "", f);
	for (i = 0; i < NTOP; i++)
		fprintf(f, "%-*s ", w[i], top_cols[i].title);
	fputs(c->color ? "\033[0m\n" : "\n", f);
	json_array_foreach(rows, i, row)
	{
		if ((int)i >= maxrows)
			break;
		for (size_t k = 0; k < NTOP; k++) {
			json_t     *v = json_object_get(row, top_cols[k].key);
			const char *col = c->color ? cell_color(row, top_cols[k].key) : NULL;
			const char *t = ctl_cell_text(v, cell, sizeof(cell), 1);

			fprintf(f, "%s%*.*s%s ", col ? col : "", json_is_number(v) ? w[k] : -w[k],
			        w[k], t, col ? "\033[0m" : "");
		}
		fputc('\n', f);
	}
	fclose(f);
	if (buf && write(STDOUT_FILENO, buf, len) < 0) {
		/* the terminal went away: nothing to do */
	}
	free(buf);
	json_decref(rows);
}

static struct termios saved_tio;
static int            tio_saved;

static void
term_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
		return;
	tio_saved = 1;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
	fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, hide the cursor */
	fflush(stdout);
}

static void
term_restore(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
}

static int
live(ctl_ctx *c, top_state *st, int64_t interval)
{
	ctl_feed *f = NULL;
	int       rc, quit = 0;
	int64_t   next = 0;

	if ((rc = ctl_feed_open(&f, c->pub_url, NULL, 0)) != CTL_EXIT_OK)
		return rc;
	gt_signal_install();
	term_raw();
	while (!quit && !gt_signal_stopping()) {
		Gtpb__V1__TelemetryBatch *b;
		int                       ev;

		if (gt_mono_ns() >= next) {
			draw(c, st);
			next = gt_mono_ns() + interval;
		}
		ev = ctl_feed_wait(f, tio_saved ? STDIN_FILENO : -1, 100);
		while (ctl_feed_recv(f, &b) == 1) {
			for (size_t i = 0; i < b->n_records; i++)
				apply(st, b->records[i]);
			gtpb__v1__telemetry_batch__free_unpacked(b, NULL);
		}
		if (ev & 2) {
			char    ch[16];
			ssize_t n = read(STDIN_FILENO, ch, sizeof(ch));

			if (n == 0 && !isatty(STDIN_FILENO))
				quit = 1;
			for (ssize_t i = 0; i < n; i++) {
				if (ch[i] == 'q' || ch[i] == 'Q')
					quit = 1;
				for (size_t k = 0; k < sizeof(sort_keys) / sizeof(sort_keys[0]);
				     k++)
					if (ch[i] == sort_keys[k].key) {
						st->sort = sort_keys[k].col;
						next = 0;
					}
			}
		}
	}
	term_restore();
	ctl_feed_close(f);
	return CTL_EXIT_OK;
}

int
ctl_cmd_top(ctl_ctx *c)
{
	top_state st = {0};
	int64_t   interval;
	int       rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	st.sort = "gpu";
	if (ctl_opt(c, "sort") && (st.sort = sort_col(ctl_opt(c, "sort"))) == NULL)
		return ctl_usage_error(c, "--sort: gpu, host, temp, util, power or mem (got %s)",
		                       ctl_opt(c, "sort"));
	if ((rc = ctl_opt_dur(c, "interval", GT_NS_PER_S, &interval)) != CTL_EXIT_OK)
		return rc;
	st.host = ctl_opt(c, "host");
	st.ns = ctl_opt(c, "namespace");
	st.gpus = json_object();
	if ((rc = seed(c, &st)) == CTL_EXIT_OK) {
		if (ctl_opt(c, "once")) {
			json_t *rows = snapshot(&st);

			ctl_out_rows(c, top_cols, NTOP, rows);
			json_decref(rows);
		} else
			rc = live(c, &st, interval);
	}
	json_decref(st.gpus);
	return rc;
}
