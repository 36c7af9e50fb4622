/* gw_stream.c - CSV and NDJSON telemetry exports, streamed: one page (--page-size records) is
 * fetched from the collectors (scatter-gather, merged by timestamp), written as one chunk,
 * and the next page is asked for only once the client has taken the previous one, so memory
 * stays at one page whatever the size of the export. Pages continue from the last timestamp
 * written (records sharing that exact nanosecond across a page boundary are not repeated). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gw_int.h"
#include "gw_param.h"

#define GW_MAX_COLS 64

typedef struct tstream {
	gw             *g;
	gw_req         *q; /* until the stream starts */
	gt_http_stream *s;
	pthread_mutex_t mu;
	char           *gpu;
	int             csv, reverse;
	int64_t         since, until; /* wire values (0 = unbounded) */
	int64_t         tie_ts;       /* the boundary timestamp of the previous page */
	size_t          skip; /* records at tie_ts the previous page wrote: the next page (whose
	                       * bound includes tie_ts) starts with them again */
	uint64_t        left;         /* records still wanted */
	char            names[GW_MAX_NAMES][GW_NAME_MAX + 1];
	char           *mptr[GW_MAX_NAMES];
	size_t          nnames;
	char            cols[GW_MAX_COLS][GW_NAME_MAX + 1];
	size_t          ncols;
	int             busy, cancelled, ended, started;
	uint32_t        asked; /* records asked for in the page in flight */
} tstream;

static void page_done(void *arg, gw_fan_res *res, size_t n);

static void
ts_free(tstream *t)
{
	pthread_mutex_destroy(&t->mu);
	free(t->gpu);
	free(t);
}

static gt_err
ts_fetch(tstream *t)
{
	Gtpb__V1__GetTelemetryRequest in = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
	gw_dep                       *deps[GW_MAX_COLLECTORS];
	uint64_t                      page = (uint64_t)t->g->cfg->page_size;

	in.gpu = t->gpu;
	in.reverse = t->reverse;
	in.since_ns = t->since;
	in.until_ns = t->until;
	in.metrics = t->nnames ? t->mptr : NULL;
	in.n_metrics = t->nnames;
	/* the records at the boundary timestamp that the previous page wrote come back first */
	t->asked = (uint32_t)((t->left < page ? t->left : page) + t->skip);
	in.limit = t->asked;
	return gw_fan(t->g, deps, gw_collectors(t->g, deps), &gtpb__v1__telemetry_service__descriptor,
	              "GetTelemetry", &in.base, 0, page_done, t);
}

static void
csv_field(gt_buf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		gt_buf_puts(b, s);
		return;
	}
	gt_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			gt_buf_putc(b, '"');
		gt_buf_putc(b, *s);
	}
	gt_buf_putc(b, '"');
}

static int
has_col(tstream *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return 1;
	return 0;
}

static void
add_col(tstream *t, const char *name)
{
	if (t->ncols < GW_MAX_COLS && strlen(name) <= GW_NAME_MAX && !has_col(t, name))
		strcpy(t->cols[t->ncols++], name);
}

/* The CSV columns: the metric filter, else every metric of the first page (the canonical
 * table's order first, then the others as they come). */
static void
csv_columns(tstream *t, Gtpb__V1__TelemetryRecord **recs, size_t n, gt_buf *b)
{
	const gt_gpu_metric *tab;
	size_t               ntab, i, k, j;

	if (t->nnames > 0) {
		for (i = 0; i < t->nnames; i++)
			add_col(t, t->names[i]);
	} else {
		tab = gt_gpu_metric_table(&ntab);
		for (j = 0; j < ntab; j++)
			for (i = 0; i < n; i++)
				for (k = 0; k < recs[i]->n_metrics; k++)
					if (strcmp(recs[i]->metrics[k]->key, tab[j].canonical) == 0)
						add_col(t, tab[j].canonical);
		for (i = 0; i < n; i++)
			for (k = 0; k < recs[i]->n_metrics; k++)
				add_col(t, recs[i]->metrics[k]->key);
	}
	gt_buf_puts(b, "timestamp,gpu_key,hostname");
	for (i = 0; i < t->ncols; i++) {
		gt_buf_putc(b, ',');
		csv_field(b, t->cols[i]);
	}
	gt_buf_puts(b, "\r\n");
}

static void
csv_row(tstream *t, const Gtpb__V1__TelemetryRecord *r, gt_buf *b)
{
	char   ts[40], num[GT_JSON_DBL_MAX];
	size_t i, k;

	gt_rfc3339_format(r->timestamp_ns, 9, ts, sizeof(ts));
	gt_buf_puts(b, ts);
	gt_buf_putc(b, ',');
	csv_field(b, r->gpu_key);
	gt_buf_putc(b, ',');
	csv_field(b, r->hostname);
	for (i = 0; i < t->ncols; i++) {
		gt_buf_putc(b, ',');
		for (k = 0; k < r->n_metrics; k++)
			if (strcmp(r->metrics[k]->key, t->cols[i]) == 0) {
				gt_json_dbl_fmt(num, r->metrics[k]->value);
				gt_buf_puts(b, strcmp(num, "null") == 0 ? "" : num);
				break;
			}
	}
	gt_buf_puts(b, "\r\n");
}

/* Formats a page into b; returns 1 when it was the last page. Advances the bounds. */
static int
ts_format(tstream *t, Gtpb__V1__TelemetryRecord **recs, size_t n, int truncated, gt_buf *b)
{
	const char *nm[GW_MAX_NAMES];
	size_t      i, from = 0, at_last = 0;
	int64_t     last;

	for (i = 0; i < t->nnames; i++)
		nm[i] = t->names[i];
	if (t->csv && !t->started)
		csv_columns(t, recs, n, b);
	while (from < n && from < t->skip && recs[from]->timestamp_ns == t->tie_ts)
		from++; /* written at the end of the previous page */
	for (i = from; i < n; i++) {
		if (t->csv) {
			csv_row(t, recs[i], b);
		} else {
			gw_record_json(b, recs[i], nm, t->nnames, NULL);
			gt_buf_putc(b, '\n');
		}
	}
	t->left -= n - from < t->left ? n - from : t->left;
	if (n == 0 || t->left == 0 || (n < t->asked && !truncated))
		return 1;
	/* The next page includes the last timestamp again (several records may share it) and
	 * skips those written; a page entirely at one timestamp steps past it instead. */
	last = recs[n - 1]->timestamp_ns;
	for (i = 0; i < n; i++)
		at_last += recs[i]->timestamp_ns == last;
	if (at_last == n || last == 0) {
		t->skip = 0;
		if (t->reverse) {
			if (last == INT64_MAX)
				return 1;
			t->since = last + 1 == 0 ? 1 : last + 1;
		} else {
			if (last == INT64_MIN || (t->since != 0 && last - 1 < t->since))
				return 1;
			t->until = last - 1 == 0 ? -1 : last - 1;
		}
	} else {
		t->skip = at_last;
		t->tie_ts = last;
		if (t->reverse)
			t->since = last;
		else
			t->until = last;
	}
	return 0;
}

static void
more_cb(gt_http_stream *s, int ev, void *arg)
{
	tstream *t = arg;

	if (ev == GT_HTTP_STREAM_FREE) {
		ts_free(t);
		return;
	}
	pthread_mutex_lock(&t->mu);
	if (t->ended) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (ev == GT_HTTP_STREAM_GONE) {
		t->cancelled = 1;
		if (!t->busy) {
			t->ended = 1;
			pthread_mutex_unlock(&t->mu);
			gt_http_stream_end(s, 1);
			return;
		}
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (t->busy || t->cancelled) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	t->busy = 1;
	pthread_mutex_unlock(&t->mu);
	if (ts_fetch(t) != GT_OK) {
		pthread_mutex_lock(&t->mu);
		t->busy = 0;
		t->ended = 1;
		pthread_mutex_unlock(&t->mu);
		gt_http_stream_end(s, 1);
	}
}

static void
page_done(void *arg, gw_fan_res *res, size_t nres)
{
	tstream                    *t = arg;
	Gtpb__V1__TelemetryRecord **recs = NULL;
	size_t                      n = 0;
	int                         truncated = 0, st, last;
	gt_buf                      b;

	st = gw_tel_merge(res, nres, t->asked, t->reverse, &recs, &n, &truncated);
	if (!t->started) {
		gw_req *q = t->q;

		if (st != 200) {
			if (st == 404)
				gw_error(q, 404, "no such gpu: %s", t->gpu);
			else
				gw_error(q, st, "no collector could answer for gpu %s: %s", t->gpu,
				         nres ? res[0].msg : "");
			free(recs);
			ts_free(t);
			return;
		}
		gt_buf_init(&b);
		last = ts_format(t, recs, n, truncated, &b);
		free(recs);
		t->started = 1;
		t->q = NULL;
		pthread_mutex_lock(&t->mu);
		t->busy = 1; /* until the first page is written */
		pthread_mutex_unlock(&t->mu);
		t->s = gw_reply_stream(q, 200,
		                       t->csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
		                       more_cb, t);
		if (t->s == NULL) {
			gt_buf_fini(&b);
			ts_free(t);
			return;
		}
	} else {
		pthread_mutex_lock(&t->mu);
		if (t->cancelled || st != 200) {
			t->busy = 0;
			t->ended = 1;
			pthread_mutex_unlock(&t->mu);
			if (st != 200)
				GT_LOGW("export.aborted", GT_KV_STR("gpu", t->gpu),
				        GT_KV_INT("status", st));
			free(recs);
			gt_http_stream_end(t->s, 1);
			return;
		}
		pthread_mutex_unlock(&t->mu);
		gt_buf_init(&b);
		last = ts_format(t, recs, n, truncated, &b);
		free(recs);
	}
	/* Under t->mu (lock order t->mu -> stream): more() and GONE cannot slip between the
	 * write and the decision, and busy is clear before the lws thread may ask for more. */
	pthread_mutex_lock(&t->mu);
	t->busy = 0;
	if (!t->cancelled && b.len > 0 && gt_http_stream_write(t->s, b.data, b.len) != GT_OK)
		last = 2; /* the client has gone */
	gt_buf_fini(&b);
	if (last || t->cancelled) {
		gt_http_stream *s = t->s;

		t->ended = 1;
		pthread_mutex_unlock(&t->mu);
		gt_http_stream_end(s, last != 1);
		return;
	}
	pthread_mutex_unlock(&t->mu);
}

void
gw_stream_telemetry(gw_req *q, const Gtpb__V1__GetTelemetryRequest *tmpl, int csv)
{
	tstream *t = calloc(1, sizeof(*t));
	size_t   i;

	if (t == NULL || (t->gpu = strdup(tmpl->gpu)) == NULL) {
		free(t);
		gw_error(q, 500, "out of memory");
		return;
	}
	pthread_mutex_init(&t->mu, NULL);
	t->g = q->g;
	t->q = q;
	t->csv = csv;
	t->reverse = tmpl->reverse;
	t->since = tmpl->since_ns;
	t->until = tmpl->until_ns;
	t->left = tmpl->limit;
	for (i = 0; i < tmpl->n_metrics && i < GW_MAX_NAMES; i++) {
		snprintf(t->names[i], sizeof(t->names[i]), "%s", tmpl->metrics[i]);
		t->mptr[i] = t->names[i];
	}
	t->nnames = i;
	if (ts_fetch(t) != GT_OK) {
		gw_error(q, 500, "out of memory");
		ts_free(t);
	}
}
