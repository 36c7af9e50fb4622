/* gt-streamer: stream GPU telemetry CSV to gt-mq.
 *
 * main.c reads config -> init (metrics, HTTP, publisher pipe, reader) -> run (the main thread
 * is the reader: it parses the file, once or in a loop, and hands records to the pipe) ->
 * shutdown (flush, wait for confirmations, bounded on SIGINT/SIGTERM).
 *
 * Exit status: 0 when every record was confirmed (or on a signal after a bounded drain),
 * 2 for bad configuration, an unreadable file or an unknown header, 1 when records were
 * refused by the broker or abandoned.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_buf.h"
#include "gt/gt_http.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"
#include "stm_config.h"
#include "stm_pipe.h"
#include "stm_reader.h"
#include "gtpb/v1/streamer.pb-c.h"

#define VERSION "0.1.0"

typedef struct stm_server {
	stm_config *cfg;
	gt_metrics *metrics;
	gt_http    *http;
	gt_rpc_server *rpc;
	char        rpc_url[256];
	Gtpb__V1__Streamer_Service svc;
	stm_pipe   *pipe;
	stm_reader *reader;
	int64_t     started;    /* mono */
	int64_t     end_at;     /* mono deadline of --duration, or 0 */
	int         stamp_now;
	uint64_t    emitted;
	atomic_int  state;      /* 0 streaming, 1 draining, 2 done */
	_Atomic stm_format fmt;

	gt_counter      *c_rows, *c_bad, *c_records, *c_passes;
	gt_counter      *c_bad_by[STM_BAD__COUNT];
	stm_reader_stats synced;
} stm_server;

/* ---------------------------------------------------------------- stop conditions */

static int
server_stopping(void *arg)
{
	stm_server *s = arg;

	if (gt_signal_stopping())
		return 1;
	return s->end_at > 0 && gt_mono_ns() >= s->end_at;
}

static void
sync_reader_stats(stm_server *s)
{
	stm_reader_stats st;

	stm_reader_get_stats(s->reader, &st);
	gt_counter_add(s->c_rows, st.rows - s->synced.rows);
	gt_counter_add(s->c_bad, st.bad_rows - s->synced.bad_rows);
	gt_counter_add(s->c_records, st.records - s->synced.records);
	for (int i = 0; i < STM_BAD__COUNT; i++)
		gt_counter_add(s->c_bad_by[i], st.bad[i] - s->synced.bad[i]);
	s->synced = st;
}

static gt_err
on_record(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	stm_server *s = arg;

	if ((++s->emitted & 255) == 0) {
		sync_reader_stats(s);
		if (server_stopping(s))
			return GT_ECANCELED;
	} else if (gt_signal_stopping())
		return GT_ECANCELED;
	/* "now" only with --timestamps now or for a row without a timestamp (empty cell or no
	 * timestamp column); a source timestamp is always in range (1 ns after the epoch ..). */
	return stm_pipe_put(s->pipe, rec, s->stamp_now || !info->ts_source);
}

/* ---------------------------------------------------------------- HTTP */

static const char *const stm_states[] = {"streaming", "draining", "done"};

static void
http_health(gt_http_req *req, void *arg)
{
	stm_server *s = arg;
	gt_buf      b;

	gt_buf_init(&b);
	gt_buf_printf(&b, "{\"status\":\"ok\",\"service\":\"streamer\",\"version\":\"%s\","
	                  "\"state\":\"%s\",\"uptime_ms\":%lld}",
	    VERSION, stm_states[atomic_load(&s->state)],
	    (long long)((gt_mono_ns() - s->started) / GT_NS_PER_MS));
	gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

/* The /stats document (also the answer of the Stats RPC). */
static void
stats_json(stm_server *s, gt_buf *b)
{
	stm_pipe_stats ps;
	int            first = 1;

	stm_pipe_get_stats(s->pipe, &ps);
	gt_buf_puts(b, "{\"service\":\"streamer\",\"csv\":");
	gt_json_cstr(b, s->cfg->csv);
	gt_buf_puts(b, ",\"format\":");
	gt_json_cstr(b, stm_format_names[atomic_load(&s->fmt)]);
	gt_buf_printf(b,
	    ",\"topic\":\"%s\",\"workers\":%lld,\"rate_per_worker\":%g,\"batch\":%lld,\"loop\":%s,"
	    "\"uptime_ms\":%lld,"
	    "\"rows\":%llu,\"bad_rows\":%llu,\"records\":%llu,\"passes\":%llu,"
	    "\"queued\":%llu,\"published\":%llu,\"duplicates\":%llu,\"failed\":%llu,"
	    "\"abandoned\":%llu,\"requests\":%llu,\"retries\":%llu,\"metrics\":{",
	    s->cfg->topic, (long long)s->cfg->workers, s->cfg->rate, (long long)s->cfg->batch,
	    s->cfg->loop ? "true" : "false", (long long)((gt_mono_ns() - s->started) / GT_NS_PER_MS),
	    (unsigned long long)gt_counter_get(s->c_rows),
	    (unsigned long long)gt_counter_get(s->c_bad),
	    (unsigned long long)gt_counter_get(s->c_records),
	    (unsigned long long)gt_counter_get(s->c_passes), (unsigned long long)ps.queued,
	    (unsigned long long)ps.published, (unsigned long long)ps.duplicates,
	    (unsigned long long)ps.failed, (unsigned long long)ps.abandoned,
	    (unsigned long long)ps.requests, (unsigned long long)ps.retries);
	gt_metrics_json(s->metrics, b, &first);
	gt_buf_puts(b, "},\"bad_rows_by_reason\":{");
	for (int i = 0; i < STM_BAD__COUNT; i++)
		gt_buf_printf(b, "%s\"%s\":%llu", i ? "," : "", stm_bad_reason_name((stm_bad_reason)i),
		    (unsigned long long)gt_counter_get(s->c_bad_by[i]));
	gt_buf_puts(b, "}}");
}

static void
http_stats(gt_http_req *req, void *arg)
{
	gt_buf b;

	gt_buf_init(&b);
	stats_json(arg, &b);
	gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

static void
http_metrics(gt_http_req *req, void *arg)
{
	stm_server *s = arg;
	gt_buf      b;

	gt_buf_init(&b);
	gt_metrics_prometheus(s->metrics, &b);
	gt_http_reply(req, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
	gt_buf_fini(&b);
}

/* ---------------------------------------------------------------- RPC (gtpb.v1.Streamer) */

static stm_server *
svc_server(Gtpb__V1__Streamer_Service *svc)
{
	return (stm_server *)((char *)svc - offsetof(stm_server, svc));
}

static void
r_stats(Gtpb__V1__Streamer_Service *svc, const Gtpb__V1__StatsRequest *in,
    Gtpb__V1__StatsResponse_Closure closure, void *cd)
{
	Gtpb__V1__StatsResponse out = GTPB__V1__STATS_RESPONSE__INIT;
	gt_buf                  b;

	(void)in;
	gt_buf_init(&b);
	stats_json(svc_server(svc), &b);
	out.json = b.data ? b.data : "";
	closure(&out, cd);
	gt_buf_fini(&b);
}

static void
r_health(Gtpb__V1__Streamer_Service *svc, const Gtpb__V1__HealthRequest *in,
    Gtpb__V1__HealthResponse_Closure closure, void *cd)
{
	stm_server                           *s = svc_server(svc);
	Gtpb__V1__HealthResponse              out = GTPB__V1__HEALTH_RESPONSE__INIT;
	Gtpb__V1__HealthResponse__DetailsEntry d[2], *dp[2] = {&d[0], &d[1]};

	(void)in;
	gtpb__v1__health_response__details_entry__init(&d[0]);
	gtpb__v1__health_response__details_entry__init(&d[1]);
	d[0].key = "state";
	d[0].value = (char *)stm_states[atomic_load(&s->state)];
	d[1].key = "format";
	d[1].value = (char *)stm_format_names[atomic_load(&s->fmt)];
	out.status = "ok";
	out.service = "streamer";
	out.version = VERSION;
	out.uptime_ns = gt_mono_ns() - s->started;
	out.n_details = 2;
	out.details = dp;
	closure(&out, cd);
}

/* ---------------------------------------------------------------- lifecycle */

static gt_err
server_init(stm_server *s, stm_config *cfg)
{
	stm_pipe_cfg   pc = {0};
	stm_reader_cfg rc = {0};
	gt_err         rv;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->started = gt_mono_ns();
	s->stamp_now = stm_config_stamp_now(cfg);
	if (cfg->duration > 0)
		s->end_at = s->started + cfg->duration;
	if ((rv = gt_metrics_new(&s->metrics, "gt_streamer_")) != GT_OK)
		return rv;
	s->c_rows = gt_metrics_counter(s->metrics, "csv_rows_total", NULL, "CSV data rows read");
	s->c_bad = gt_metrics_counter(s->metrics, "csv_bad_rows_total", NULL,
	    "CSV rows skipped as malformed");
	s->c_records = gt_metrics_counter(s->metrics, "csv_records_total", NULL,
	    "Telemetry records built from CSV rows");
	s->c_passes = gt_metrics_counter(s->metrics, "csv_passes_total", NULL,
	    "Complete passes over the CSV file");
	if (!s->c_rows || !s->c_bad || !s->c_records || !s->c_passes)
		return GT_ENOMEM;
	for (int i = 0; i < STM_BAD__COUNT; i++) {
		char lbl[64];
		snprintf(lbl, sizeof(lbl), "reason=\"%s\"", stm_bad_reason_name((stm_bad_reason)i));
		if ((s->c_bad_by[i] = gt_metrics_counter(s->metrics, "csv_bad_rows_by_reason_total", lbl,
		         "CSV rows skipped as malformed, by reason")) == NULL)
			return GT_ENOMEM;
	}

	rc.format = (stm_format)cfg->format;
	rc.columns = cfg->columns;
	rc.hostname = cfg->hostname;
	rc.stopping = server_stopping; /* a stop ends a pass even while no row becomes a record */
	rc.stopping_arg = s;
	if ((rv = stm_reader_new(&s->reader, &rc, on_record, s)) != GT_OK)
		return rv;

	pc.mq_url = cfg->mq_url;
	pc.token = *cfg->token ? cfg->token : NULL;
	pc.topic = cfg->topic;
	pc.producer_id = cfg->producer_id;
	pc.workers = (int)cfg->workers;
	pc.rate = cfg->rate;
	pc.batch = (uint32_t)cfg->batch;
	pc.dispatch_by_key = cfg->dispatch == STM_DISPATCH_KEY;
	pc.rpc_timeout_ns = cfg->rpc_timeout;
	pc.drain_timeout_ns = cfg->drain_timeout;
	pc.metrics = s->metrics;
	pc.stopping = server_stopping;
	pc.stopping_arg = s;
	if ((rv = stm_pipe_new(&s->pipe, &pc)) != GT_OK) {
		GT_LOGE("pipe.init", GT_KV_ERR(rv), GT_KV_STR("mq_url", cfg->mq_url));
		return rv;
	}

	if (cfg->http_port >= 0) {
		gt_http_cfg hc = {0};
		hc.service = "streamer";
		hc.bind = cfg->bind;
		hc.port = (int)cfg->http_port;
		hc.token = *cfg->token ? cfg->token : NULL; /* /health and /metrics stay open */
		if ((rv = gt_http_new(&s->http, &hc)) != GT_OK ||
		    (rv = gt_http_route(s->http, "GET", "/health", http_health, s,
		                        GT_HTTP_OPEN)) != GT_OK ||
		    (rv = gt_http_route(s->http, "GET", "/stats", http_stats, s, 0)) != GT_OK ||
		    (rv = gt_http_route(s->http, "GET", "/metrics", http_metrics, s,
		                        GT_HTTP_OPEN)) != GT_OK ||
		    (rv = gt_http_start(s->http)) != GT_OK) {
			GT_LOGE("http.start", GT_KV_ERR(rv), GT_KV_INT("port", cfg->http_port));
			return rv;
		}
	}
	if (*cfg->rpc_url) {
		gt_rpc_server_cfg rc2 = {0};

		s->svc = (Gtpb__V1__Streamer_Service)GTPB__V1__STREAMER__INIT(r_);
		rc2.url = cfg->rpc_url;
		rc2.workers = 1;
		rc2.token = *cfg->token ? cfg->token : NULL;
		if ((rv = gt_rpc_server_new(&s->rpc, &rc2)) != GT_OK ||
		    (rv = gt_rpc_server_add(s->rpc, &s->svc.base)) != GT_OK ||
		    (rv = gt_rpc_server_start(s->rpc)) != GT_OK) {
			GT_LOGE("rpc.start_failed", GT_KV_STR("url", cfg->rpc_url), GT_KV_ERR(rv));
			return rv;
		}
		gt_rpc_dial_url(s->rpc_url, sizeof(s->rpc_url), cfg->rpc_url,
		    gt_rpc_server_port(s->rpc));
	}
	return GT_OK;
}

static void
server_fini(stm_server *s)
{
	gt_rpc_server_free(s->rpc);
	gt_http_free(s->http);
	stm_pipe_free(s->pipe);
	stm_reader_free(s->reader);
	gt_metrics_free(s->metrics);
}

static gt_err
server_run(stm_server *s)
{
	stm_config    *cfg = s->cfg;
	stm_pipe_stats ps;
	gt_err         rv, frv;
	uint64_t       pass = 0;

	for (;;) {
		rv = stm_reader_file(s->reader, cfg->csv);
		atomic_store(&s->fmt, stm_reader_format(s->reader));
		sync_reader_stats(s);
		if (rv == GT_EINVAL || rv == GT_EIO) {
			/* Unreadable file or unknown header: nothing can be streamed. */
			fprintf(stderr, "gt-streamer: %s\n", stm_reader_error(s->reader));
			GT_LOGE("csv.error", GT_KV_STR("file", cfg->csv),
			    GT_KV_STR("reason", stm_reader_error(s->reader)));
			rv = GT_EINVAL;
			break;
		}
		if (rv != GT_OK)
			break; /* GT_ECANCELED: stop requested */
		pass++;
		gt_counter_inc(s->c_passes);
		{
			stm_reader_stats st;
			stm_reader_get_stats(s->reader, &st);
			GT_LOGI("csv.pass_done", GT_KV_UINT("pass", pass),
			    GT_KV_STR("format", stm_format_names[stm_reader_format(s->reader)]),
			    GT_KV_UINT("rows", st.rows), GT_KV_UINT("bad_rows", st.bad_rows),
			    GT_KV_UINT("records", st.records));
		}
		if (!cfg->loop || server_stopping(s))
			break;
		stm_reader_set_quiet(s->reader, 1); /* bad rows are logged once each */
	}
	if (server_stopping(s) || rv == GT_EINVAL)
		stm_pipe_stop(s->pipe);
	atomic_store(&s->state, 1);
	GT_LOGI("stream.draining", GT_KV_BOOL("stop_requested", server_stopping(s)));
	frv = stm_pipe_finish(s->pipe);
	atomic_store(&s->state, 2);
	stm_pipe_get_stats(s->pipe, &ps);
	GT_LOGI("stream.done", GT_KV_UINT("queued", ps.queued), GT_KV_UINT("published", ps.published),
	    GT_KV_UINT("duplicates", ps.duplicates), GT_KV_UINT("failed", ps.failed),
	    GT_KV_UINT("abandoned", ps.abandoned), GT_KV_UINT("requests", ps.requests),
	    GT_KV_UINT("retries", ps.retries));
	if (rv == GT_EINVAL)
		return rv;
	if (frv != GT_OK) {
		/* A stop request (signal or --duration) with a bounded drain is a clean exit. */
		if (server_stopping(s) && ps.failed == 0)
			return GT_OK;
		return frv;
	}
	return GT_OK;
}

int
main(int argc, char **argv)
{
	stm_config cfg;
	stm_server srv;
	gt_err     rv;

	if ((rv = stm_config_load(&cfg, argc, argv)) != GT_OK) {
		if (rv == GT_EDONE)
			stm_config_free(&cfg);
		return gt_exit_code(rv);
	}
	gt_log_open("streamer", (gt_log_level)cfg.log_level);
	gt_signal_install();
	if ((rv = server_init(&srv, &cfg)) == GT_OK) {
		GT_LOGI("service.ready", GT_KV_INT("http_port", srv.http ? gt_http_port(srv.http) : -1),
		    GT_KV_STR("rpc_url", srv.rpc_url),
		    GT_KV_STR("mq_url", cfg.mq_url), GT_KV_STR("csv", cfg.csv),
		    GT_KV_STR("topic", cfg.topic), GT_KV_INT("workers", cfg.workers),
		    GT_KV_DBL("rate", cfg.rate), GT_KV_BOOL("loop", cfg.loop),
		    GT_KV_STR("producer_id", stm_pipe_producer_id(srv.pipe, 0)));
		rv = server_run(&srv);
	}
	server_fini(&srv);
	GT_LOGI("service.exit", GT_KV_STR("status", gt_strerror(rv)));
	gt_log_close();
	stm_config_free(&cfg);
	return gt_exit_code(rv);
}
