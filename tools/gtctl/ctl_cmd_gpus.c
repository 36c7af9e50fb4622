/* ctl_cmd_gpus.c - the stored telemetry (TelemetryService of the gateway, or of the collector
 * when no gateway URL is given): `gtctl gpus`, `gtctl hosts`, `gtctl telemetry GPU`,
 * `gtctl export GPU` (every record, oldest first, page by page, streamed as CSV or JSON lines). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gt/gt_time.h"
#include "gtpb/v1/collector.pb-c.h"

#define STALE_DEFAULT (30 * GT_NS_PER_S)

static int
list_gpus(ctl_ctx *c, Gtpb__V1__ListGpusResponse **out)
{
	Gtpb__V1__ListGpusRequest in = GTPB__V1__LIST_GPUS_REQUEST__INIT;

	return ctl_call(c, ctl_telemetry_url(c), &gtpb__v1__telemetry_service__descriptor,
	                "ListGpus", &in.base, (ProtobufCMessage **)out, 0, NULL);
}

static json_t *
latest(const Gtpb__V1__GpuInfo *g, const char *metric)
{
	for (size_t i = 0; i < g->n_latest; i++)
		if (strcmp(g->latest[i]->key, metric) == 0)
			return json_real(g->latest[i]->value);
	return json_null();
}

int
ctl_cmd_gpus(ctl_ctx *c)
{
	static const ctl_col        cols[] = {{"gpu", "GPU"},
	                                      {"host", "HOST"},
	                                      {"index", "IDX"},
	                                      {"model", "MODEL"},
	                                      {"temperature", "TEMP"},
	                                      {"utilization", "UTIL"},
	                                      {"power_draw", "POWER"},
	                                      {"memory_used", "MEM_USED"},
	                                      {"records", "RECORDS"},
	                                      {"age", "AGE"},
	                                      {"last_seen", "LAST_SEEN"}};
	Gtpb__V1__ListGpusResponse *lr = NULL;
	const char                 *host = ctl_opt(c, "host");
	int                         only_stale = ctl_opt(c, "stale") != NULL;
	int64_t                     stale_after, now = gt_now_ns();
	json_t                     *rows;
	int                         rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected (--host H, --stale)");
	if ((rc = ctl_opt_dur(c, "stale-after", STALE_DEFAULT, &stale_after)) != CTL_EXIT_OK)
		return rc;
	if ((rc = list_gpus(c, &lr)) != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < lr->n_gpus; i++) {
		const Gtpb__V1__GpuInfo *g = lr->gpus[i];
		int64_t                  age = now - g->last_seen_ns;
		int                      stale = g->last_seen_ns <= 0 || age > stale_after;
		char                     ts[64], ab[32];
		json_t                  *o;

		if (host && strcmp(host, g->hostname) != 0)
			continue;
		if (only_stale && !stale)
			continue;
		o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "gpu", g->gpu_key, "host",
		              g->hostname, "index", (int)g->gpu_index, "model", g->model, "uuid",
		              g->uuid, "device", g->device);
		json_object_set_new(o, "temperature", latest(g, "temperature"));
		json_object_set_new(o, "utilization", latest(g, "utilization"));
		json_object_set_new(o, "power_draw", latest(g, "power_draw"));
		json_object_set_new(o, "memory_used", latest(g, "memory_used"));
		json_object_set_new(o, "records", json_integer((json_int_t)g->records));
		json_object_set_new(o, "age", json_string(ctl_age(age, ab, sizeof(ab))));
		json_object_set_new(o, "last_seen",
		                    json_string(ctl_ts(g->last_seen_ns, ts, sizeof(ts))));
		json_object_set_new(o, "last_seen_ns", json_integer(g->last_seen_ns));
		json_object_set_new(o, "stale", json_boolean(stale));
		json_array_append_new(rows, o);
	}
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	json_decref(rows);
	protobuf_c_message_free_unpacked(&lr->base, NULL);
	return CTL_EXIT_OK;
}

int
ctl_cmd_hosts(ctl_ctx *c)
{
	static const ctl_col        cols[] = {{"host", "HOST"},      {"gpus", "GPUS"},
	                                      {"stale", "STALE"},    {"records", "RECORDS"},
	                                      {"age", "NEWEST_AGE"}, {"newest", "NEWEST"}};
	Gtpb__V1__ListGpusResponse *lr = NULL;
	json_t                     *byhost, *rows, *o;
	const char                 *k;
	int64_t                     now = gt_now_ns();
	int                         rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	if ((rc = list_gpus(c, &lr)) != CTL_EXIT_OK)
		return rc;
	byhost = json_object();
	for (size_t i = 0; i < lr->n_gpus; i++) {
		const Gtpb__V1__GpuInfo *g = lr->gpus[i];
		json_t                  *h = json_object_get(byhost, g->hostname);

		if (h == NULL) {
			h = json_pack("{s:s, s:I, s:I, s:I, s:I}", "host", g->hostname, "gpus",
			              (json_int_t)0, "stale", (json_int_t)0, "records",
			              (json_int_t)0, "newest_ns", (json_int_t)0);
			json_object_set_new(byhost, g->hostname, h);
		}
		json_object_set_new(
		    h, "gpus", json_integer(json_integer_value(json_object_get(h, "gpus")) + 1));
		json_object_set_new(h, "records",
		                    json_integer(json_integer_value(json_object_get(h, "records")) +
		                                 (json_int_t)g->records));
		if (now - g->last_seen_ns > STALE_DEFAULT)
			json_object_set_new(
			    h, "stale",
			    json_integer(json_integer_value(json_object_get(h, "stale")) + 1));
		if (g->last_seen_ns > json_integer_value(json_object_get(h, "newest_ns")))
			json_object_set_new(h, "newest_ns", json_integer(g->last_seen_ns));
	}
	rows = json_array();
	json_object_foreach(byhost, k, o)
	{
		char    ts[64], ab[32];
		int64_t n = json_integer_value(json_object_get(o, "newest_ns"));

		json_object_set_new(o, "newest", json_string(ctl_ts(n, ts, sizeof(ts))));
		json_object_set_new(o, "age", json_string(ctl_age(now - n, ab, sizeof(ab))));
		json_array_append(rows, o);
	}
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	json_decref(rows);
	json_decref(byhost);
	protobuf_c_message_free_unpacked(&lr->base, NULL);
	return CTL_EXIT_OK;
}

/* --metric a,b -> in->metrics (pointers into the strdup'd buf). */
static int
set_metrics(ctl_ctx *c, Gtpb__V1__GetTelemetryRequest *in, char **buf, char **ptrs, size_t max)
{
	const char *m = ctl_opt(c, "metric");
	char       *save = NULL, *t;

	*buf = NULL;
	if (m == NULL)
		return CTL_EXIT_OK;
	if ((*buf = strdup(m)) == NULL)
		return CTL_EXIT_REMOTE;
	for (t = strtok_r(*buf, ",", &save); t && in->n_metrics < max;
	     t = strtok_r(NULL, ",", &save))
		ptrs[in->n_metrics++] = t;
	if (in->n_metrics == 0)
		return ctl_usage_error(c, "--metric: a metric name (or a comma-separated list)");
	in->metrics = ptrs;
	return CTL_EXIT_OK;
}

int
ctl_cmd_telemetry(ctl_ctx *c)
{
	Gtpb__V1__GetTelemetryRequest   in = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
	Gtpb__V1__GetTelemetryResponse *out = NULL;
	char                           *mbuf = NULL, *mptr[32];
	json_t                         *rows, *cols;
	uint32_t                        limit;
	int                             rc;

	if (c->argc != 1)
		return ctl_usage_error(c, "usage: gtctl telemetry GPU [--limit N] [--since T] "
		                          "[--until T] [--metric M]");
	if ((rc = ctl_opt_u32(c, "limit", 20, &limit)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_time(c, "since", &in.since_ns)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_time(c, "until", &in.until_ns)) != CTL_EXIT_OK ||
	    (rc = set_metrics(c, &in, &mbuf, mptr, 32)) != CTL_EXIT_OK) {
		free(mbuf);
		return rc;
	}
	in.gpu = c->argv[0];
	in.limit = limit;
	rc = ctl_call(c, ctl_telemetry_url(c), &gtpb__v1__telemetry_service__descriptor,
	              "GetTelemetry", &in.base, (ProtobufCMessage **)&out, 0, NULL);
	free(mbuf);
	if (rc != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < out->n_records; i++)
		json_array_append_new(rows, ctl_rec_row(&out->records[i]->base));
	cols = ctl_rec_columns(rows, 0);
	ctl_out_rows_dyn(c, cols, rows);
	if (c->fmt == CTL_OUT_TABLE && out->truncated)
		printf("(more records match: raise --limit or narrow --since/--until)\n");
	json_decref(cols);
	json_decref(rows);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return CTL_EXIT_OK;
}

/* One page's records to stdout: CSV rows with the columns fixed by the first page, or JSON
 * lines. Records at *cursor already written (skip of them) are not written again. */
static void
export_page(ctl_ctx *c, Gtpb__V1__GetTelemetryResponse *out, json_t **cols, int64_t cursor,
            size_t *skip, size_t *written)
{
	json_t *rows = json_array(), *row;
	size_t  i, seen_at_cursor = 0, k;

	for (i = 0; i < out->n_records; i++) {
		if (out->records[i]->timestamp_ns == cursor && seen_at_cursor++ < *skip)
			continue;
		json_array_append_new(rows, ctl_rec_row(&out->records[i]->base));
	}
	if (*cols == NULL) {
		*cols = ctl_rec_columns(rows, 1);
		if (c->fmt != CTL_OUT_JSON) {
			json_array_foreach(*cols, k, row)
			{
				if (k)
					fputc(',', stdout);
				ctl_csv_field(stdout, json_string_value(row));
			}
			fputc('\n', stdout);
		}
	}
	json_array_foreach(rows, i, row)
	{
		if (c->fmt == CTL_OUT_JSON) {
			json_dumpf(row, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		} else {
			json_t *col;
			char    buf[64];

			json_array_foreach(*cols, k, col)
			{
				json_t *v = json_object_get(row, json_string_value(col));

				if (k)
					fputc(',', stdout);
				if (v == NULL)
					continue;
				if (json_is_real(v)) {
					fputs(ctl_real(json_real_value(v), buf, sizeof(buf)),
					      stdout);
				} else
					ctl_csv_field(stdout,
					              ctl_cell_text(v, buf, sizeof(buf), 3));
			}
			fputc('\n', stdout);
		}
	}
	*written += json_array_size(rows);
	json_decref(rows);
}

int
ctl_cmd_export(ctl_ctx *c)
{
	Gtpb__V1__GetTelemetryRequest in = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
	char                         *mbuf = NULL, *mptr[32];
	json_t                       *cols = NULL;
	uint32_t                      page;
	size_t                        written = 0, skip = 0;
	int64_t                       cursor;
	int                           rc;

	if (c->argc != 1)
		return ctl_usage_error(
		    c, "usage: gtctl export GPU --since T [--until T] [-o csv|json]");
	if ((rc = ctl_opt_u32(c, "page", 1000, &page)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_time(c, "since", &in.since_ns)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_time(c, "until", &in.until_ns)) != CTL_EXIT_OK ||
	    (rc = set_metrics(c, &in, &mbuf, mptr, 32)) != CTL_EXIT_OK) {
		free(mbuf);
		return rc;
	}
	if (page == 0)
		page = 1000;
	in.gpu = c->argv[0];
	in.limit = page;
	in.reverse = 1; /* oldest first */
	cursor = in.since_ns;
	for (;;) {
		Gtpb__V1__GetTelemetryResponse *out = NULL;
		int64_t                         last;
		size_t                          at_last = 0;

		in.since_ns = cursor;
		rc = ctl_call(c, ctl_telemetry_url(c), &gtpb__v1__telemetry_service__descriptor,
		              "GetTelemetry", &in.base, (ProtobufCMessage **)&out, 0, NULL);
		if (rc != CTL_EXIT_OK)
			break;
		export_page(c, out, &cols, cursor, &skip, &written);
		fflush(stdout);
		if (!out->truncated || out->n_records == 0) {
			protobuf_c_message_free_unpacked(&out->base, NULL);
			break;
		}
		/* next page from the last timestamp, skipping the records already written there
		 * (several records may share a timestamp) */
		last = out->records[out->n_records - 1]->timestamp_ns;
		for (size_t i = 0; i < out->n_records; i++)
			if (out->records[i]->timestamp_ns == last)
				at_last++;
		if (last == cursor && at_last == out->n_records) {
			/* a whole page at one timestamp: step past it rather than loop (more than
			 * --page records sharing one timestamp would be cut here) */
			cursor = last + 1;
			skip = 0;
		} else {
			cursor = last;
			skip = at_last;
		}
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
	free(mbuf);
	json_decref(cols);
	if (rc == CTL_EXIT_OK)
		fprintf(stderr, "gtctl export: %zu records\n", written);
	return rc;
}
