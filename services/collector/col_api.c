/* col_api.c - the query API: HTTP routes (/telemetry /gpus; /health /stats /metrics through the
 * common service shell gt_svc) and the gtpb.v1.TelemetryService RPC handlers, both answered
 * from the cache and the files (col_query.h). */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_query.h"
#include "col_server_int.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_query.h"
#include "gt/gt_time.h"

/* The RPC handlers find the server through the service struct. */
static col_server *
svc_server(Gtpb__V1__TelemetryService_Service *svc)
{
	return (col_server *)((char *)svc - offsetof(col_server, svc));
}

/* ---- HTTP ---- */

static void
reply_pb(gt_http_req *req, const ProtobufCMessage *m)
{
	size_t   n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL) {
		gt_http_error(req, 500, "out of memory");
		return;
	}
	protobuf_c_message_pack(m, p);
	gt_http_reply(req, 200, "application/x-protobuf", p, n);
	free(p);
}

static void
h_telemetry(gt_http_req *req, void *arg)
{
	col_server      *s = arg;
	col_query        q;
	col_result       res;
	gt_query_metrics qm;
	const char      *v;
	char             kbuf[1200], msg[160];
	uint64_t         u;
	int64_t          t0 = gt_mono_ns(), now;
	size_t           i;
	gt_err           rv;

	col_query_init(&q);
	/* The key: /telemetry/{gpu}, /telemetry/{host}/{index} (keys "hostname/gpu_index": lws
	 * decodes %2F before routing, so such a key cannot be one segment), or ?gpu=. */
	if ((q.gpu = gt_http_req_param(req, "gpu")) == NULL) {
		const char *a = gt_http_req_param(req, "host"),
		           *b = gt_http_req_param(req, "index");

		if (a != NULL && b != NULL) {
			snprintf(kbuf, sizeof(kbuf), "%s/%s", a, b);
			q.gpu = kbuf;
		} else {
			q.gpu = gt_http_req_query(req, "gpu");
		}
	}
	if (q.gpu == NULL || *q.gpu == '\0') {
		gt_http_error(req, 400, "missing parameter gpu");
		return;
	}
	now = gt_now_ns();
	if ((v = gt_http_req_query(req, "limit")) != NULL) {
		if (gt_query_uint("limit", v, 1, COL_QUERY_MAX_LIMIT, &u, msg, sizeof(msg)) !=
		    GT_OK)
			goto bad;
		q.limit = (size_t)u;
	}
	if ((v = gt_http_req_query(req, "reverse")) != NULL &&
	    gt_query_bool("reverse", v, &q.reverse, msg, sizeof(msg)) != GT_OK)
		goto bad;
	if ((v = gt_http_req_query(req, "since")) != NULL &&
	    gt_query_time("since", v, now, &q.since, msg, sizeof(msg)) != GT_OK)
		goto bad;
	if ((v = gt_http_req_query(req, "until")) != NULL &&
	    gt_query_time("until", v, now, &q.until, msg, sizeof(msg)) != GT_OK)
		goto bad;
	if ((v = gt_http_req_query(req, "metric")) != NULL) {
		if (gt_query_metrics_parse("metric", v, &qm, msg, sizeof(msg)) != GT_OK)
			goto bad;
		for (i = 0; i < qm.n; i++)
			q.metrics[q.nmetrics++] = qm.names[i];
	}
	if (!col_store_has(s->store, q.gpu)) {
		gt_http_error(req, 404, "no such gpu: %s", q.gpu);
		return;
	}
	if ((rv = col_query_run(s->store, s->cache, &q, &res)) != GT_OK) {
		if (rv == GT_ENOENT)
			gt_http_error(req, 404, "no such gpu: %s", q.gpu);
		else
			gt_http_error(req, gt_query_http_status_err(rv), "query failed: %s",
			              gt_strerror(rv));
		return;
	}
	if (gt_http_req_wants_protobuf(req)) {
		Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;
		Gtpb__V1__TelemetryRecord    **v2 = calloc(res.n ? res.n : 1, sizeof(*v2));

		if (v2 == NULL) {
			gt_http_error(req, 500, "out of memory");
		} else {
			for (i = 0; i < res.n; i++)
				v2[out.n_records++] =
				    col_rec_pb_new(res.recs[i], q.metrics, q.nmetrics);
			for (i = 0; i < out.n_records; i++)
				if (v2[i] == NULL)
					break;
			if (i < out.n_records) {
				gt_http_error(req, 500, "out of memory");
			} else {
				out.records = v2;
				out.truncated = res.truncated;
				reply_pb(req, &out.base);
			}
			for (i = 0; i < out.n_records; i++)
				free(v2[i]);
			free(v2);
		}
	} else {
		gt_buf b;

		gt_buf_init(&b);
		gt_buf_puts(&b, "{\"gpu\":");
		gt_json_cstr(&b, q.gpu);
		gt_buf_printf(&b, ",\"count\":%zu,\"truncated\":%s,\"source\":\"%s\",\"records\":[",
		              res.n, res.truncated ? "true" : "false",
		              res.from_cache ? "cache" : "file");
		for (i = 0; i < res.n; i++) {
			if (i)
				gt_buf_putc(&b, ',');
			col_jsonl_encode_obj(&b, res.recs[i], NULL, q.metrics, q.nmetrics);
		}
		gt_buf_puts(&b, "]}");
		gt_http_reply_json(req, 200, &b);
		gt_buf_fini(&b);
	}
	col_result_fini(&res);
	gt_hist_observe_ns(s->m_query, gt_mono_ns() - t0);
	return;
bad:
	gt_http_error(req, 400, "%s", msg);
}

/* A ListGpusResponse view of the store's GPU list (strings borrowed from v); one answer for
 * GET /gpus in protobuf and the ListGpus RPC. gpus_pb_fini frees what it allocated. */
typedef struct gpus_pb {
	Gtpb__V1__ListGpusResponse  out;
	Gtpb__V1__GpuInfo          *gi;
	Gtpb__V1__GpuInfo         **gp;
	Gtpb__V1__TelemetryRecord **latest; /* col_rec_pb_new views of each GPU's latest record */
	size_t                      n;
} gpus_pb;

static void
gpus_pb_fini(gpus_pb *g)
{
	size_t i;

	for (i = 0; g->latest && i < g->n; i++)
		free(g->latest[i]);
	free(g->latest);
	free(g->gi);
	free(g->gp);
}

static gt_err
gpus_pb_init(gpus_pb *g, const col_gpu_info *v, size_t n)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	gtpb__v1__list_gpus_response__init(&g->out);
	g->n = n;
	g->gi = calloc(n ? n : 1, sizeof(*g->gi));
	g->gp = calloc(n ? n : 1, sizeof(*g->gp));
	g->latest = calloc(n ? n : 1, sizeof(*g->latest));
	if (g->gi == NULL || g->gp == NULL || g->latest == NULL) {
		gpus_pb_fini(g);
		return GT_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		Gtpb__V1__GpuInfo *gi = &g->gi[i];

		gtpb__v1__gpu_info__init(gi);
		gi->gpu_key = v[i].gpu_key;
		gi->hostname = v[i].hostname;
		gi->uuid = v[i].uuid;
		gi->model = v[i].model;
		gi->device = v[i].device;
		gi->gpu_index = v[i].gpu_index;
		gi->last_seen_ns = v[i].last_seen_ns;
		gi->records = v[i].records;
		if ((g->latest[i] = col_rec_pb_new(v[i].latest, NULL, 0)) != NULL) {
			/* map<string,double> entries have the same layout in both messages */
			gi->n_latest = g->latest[i]->n_metrics;
			gi->latest = (Gtpb__V1__GpuInfo__LatestEntry **)g->latest[i]->metrics;
			/* map<string,string> entries likewise */
			gi->n_labels = g->latest[i]->n_labels;
			gi->labels = (Gtpb__V1__GpuInfo__LabelsEntry **)g->latest[i]->labels;
		}
		g->gp[i] = gi;
	}
	g->out.n_gpus = n;
	g->out.gpus = g->gp;
	return GT_OK;
}

static void
h_gpus(gt_http_req *req, void *arg)
{
	col_server   *s = arg;
	col_gpu_info *v = NULL;
	size_t        n = 0, i;
	uint32_t      k;

	if (col_store_list(s->store, &v, &n) != GT_OK) {
		gt_http_error(req, 500, "out of memory");
		return;
	}
	if (gt_http_req_wants_protobuf(req)) {
		gpus_pb g;

		if (gpus_pb_init(&g, v, n) == GT_OK) {
			reply_pb(req, &g.out.base);
			gpus_pb_fini(&g);
		} else {
			gt_http_error(req, 500, "out of memory");
		}
	} else {
		gt_buf b;
		char   ts[40];

		gt_buf_init(&b);
		gt_buf_printf(&b, "{\"count\":%zu,\"gpus\":[", n);
		for (i = 0; i < n; i++) {
			int first = 1, f2 = 1;

			if (i)
				gt_buf_putc(&b, ',');
			gt_buf_putc(&b, '{');
			gt_json_key(&b, &first, "gpu_key");
			gt_json_cstr(&b, v[i].gpu_key);
			gt_json_key(&b, &first, "hostname");
			gt_json_cstr(&b, v[i].hostname);
			gt_json_key(&b, &first, "uuid");
			gt_json_cstr(&b, v[i].uuid);
			gt_json_key(&b, &first, "model");
			gt_json_cstr(&b, v[i].model);
			gt_json_key(&b, &first, "device");
			gt_json_cstr(&b, v[i].device);
			gt_json_key(&b, &first, "gpu_index");
			gt_json_int(&b, v[i].gpu_index);
			gt_json_key(&b, &first, "records");
			gt_json_uint(&b, v[i].records);
			gt_json_key(&b, &first, "last_seen");
			gt_rfc3339_format(v[i].last_seen_ns, 9, ts, sizeof(ts));
			gt_json_cstr(&b, ts);
			gt_json_key(&b, &first, "last_seen_ns");
			gt_json_int(&b, v[i].last_seen_ns);
			gt_json_key(&b, &first, "latest");
			gt_buf_putc(&b, '{');
			for (k = 0; v[i].latest && k < v[i].latest->nmetrics; k++) {
				gt_json_key(&b, &f2, v[i].latest->metrics[k].name);
				gt_json_dbl(&b, v[i].latest->metrics[k].value);
			}
			gt_buf_puts(&b, "}}");
		}
		gt_buf_puts(&b, "]}");
		gt_http_reply_json(req, 200, &b);
		gt_buf_fini(&b);
	}
	col_store_list_free(v, n);
}

/* ---- RPC ---- */

static void
r_list_gpus(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__ListGpusRequest *in,
            Gtpb__V1__ListGpusResponse_Closure closure, void *cd)
{
	col_server   *s = svc_server(svc);
	col_gpu_info *v = NULL;
	size_t        n = 0;
	gpus_pb       g;

	(void)in;
	if (col_store_list(s->store, &v, &n) != GT_OK || gpus_pb_init(&g, v, n) != GT_OK) {
		col_store_list_free(v, n);
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
		return;
	}
	closure(&g.out, cd);
	gpus_pb_fini(&g);
	col_store_list_free(v, n);
}

static void
r_get_telemetry(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__GetTelemetryRequest *in,
                Gtpb__V1__GetTelemetryResponse_Closure closure, void *cd)
{
	col_server                    *s = svc_server(svc);
	Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;
	col_query                      q;
	col_result                     res;
	size_t                         i;
	gt_err                         rv;

	col_query_init(&q);
	q.gpu = in->gpu;
	q.limit = in->limit > COL_QUERY_MAX_LIMIT ? COL_QUERY_MAX_LIMIT : in->limit;
	q.reverse = in->reverse;
	if (in->since_ns)
		q.since = in->since_ns;
	if (in->until_ns)
		q.until = in->until_ns;
	if (in->n_metrics > COL_QUERY_MAX_METRICS) {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "at most %d metrics",
		            COL_QUERY_MAX_METRICS);
		closure(NULL, cd);
		return;
	}
	for (i = 0; i < in->n_metrics; i++)
		q.metrics[q.nmetrics++] = in->metrics[i];
	if (q.gpu == NULL || *q.gpu == '\0') {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "gpu is required");
		closure(NULL, cd);
		return;
	}
	if (!col_store_has(s->store, q.gpu)) {
		gt_rpc_fail(cd, GT_RPC_NOT_FOUND, "no such gpu: %s", q.gpu);
		closure(NULL, cd);
		return;
	}
	if ((rv = col_query_run(s->store, s->cache, &q, &res)) != GT_OK) {
		gt_rpc_fail(cd, gt_rpc_code_from_err(rv), "query failed: %s", gt_strerror(rv));
		closure(NULL, cd);
		return;
	}
	out.records = calloc(res.n ? res.n : 1, sizeof(*out.records));
	for (i = 0; out.records && i < res.n; i++) {
		if ((out.records[i] = col_rec_pb_new(res.recs[i], q.metrics, q.nmetrics)) == NULL)
			break;
		out.n_records++;
	}
	if (out.records == NULL || out.n_records < res.n) {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
	} else {
		out.truncated = res.truncated;
		closure(&out, cd);
	}
	for (i = 0; i < out.n_records; i++)
		free(out.records[i]);
	free(out.records);
	col_result_fini(&res);
}

static void
r_aggregate(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__AggregateRequest *in,
            Gtpb__V1__AggregateResponse_Closure closure, void *cd)
{
	col_server                 *s = svc_server(svc);
	Gtpb__V1__AggregateResponse out = GTPB__V1__AGGREGATE_RESPONSE__INIT;
	col_agg_point              *pts = NULL;
	Gtpb__V1__AggregatePoint   *pv = NULL, **pp = NULL;
	size_t                      n = 0, i;
	int64_t                     until = in->until_ns ? in->until_ns : gt_now_ns();
	int64_t                     since, step;
	gt_err                      rv;

	/* defaults: the hour before until, 60 steps; no arithmetic here can overflow */
	if (in->since_ns)
		since = in->since_ns;
	else
		since = until >= INT64_MIN + 3600 * GT_NS_PER_S ? until - 3600 * GT_NS_PER_S
		                                                : INT64_MIN;
	if (in->gpu == NULL || *in->gpu == '\0' || in->metric == NULL || *in->metric == '\0') {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "gpu and metric are required");
		closure(NULL, cd);
		return;
	}
	if (since > until) {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "since_ns must not be after until_ns");
		closure(NULL, cd);
		return;
	}
	step = in->step_ns ? in->step_ns : (int64_t)(((uint64_t)until - (uint64_t)since) / 60 + 1);
	if (step <= 0 ||
	    ((uint64_t)until - (uint64_t)since) / (uint64_t)step >= COL_QUERY_MAX_LIMIT) {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT,
		            "step_ns must be > 0 and give fewer than %d steps between since_ns and "
		            "until_ns",
		            COL_QUERY_MAX_LIMIT);
		closure(NULL, cd);
		return;
	}
	if (!col_store_has(s->store, in->gpu)) {
		gt_rpc_fail(cd, GT_RPC_NOT_FOUND, "no such gpu: %s", in->gpu);
		closure(NULL, cd);
		return;
	}
	rv = col_query_aggregate(s->store, s->cache, in->gpu, in->metric, since, until, step, &pts,
	                         &n);
	if (rv != GT_OK) {
		gt_rpc_fail(cd, gt_rpc_code_from_err(rv), "aggregate: %s",
		            rv == GT_EINVAL ? "too many steps" : gt_strerror(rv));
		closure(NULL, cd);
		return;
	}
	pv = calloc(n ? n : 1, sizeof(*pv));
	pp = calloc(n ? n : 1, sizeof(*pp));
	if (pv == NULL || pp == NULL) {
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
	} else {
		for (i = 0; i < n; i++) {
			gtpb__v1__aggregate_point__init(&pv[i]);
			pv[i].t_ns = pts[i].t_ns;
			pv[i].min = pts[i].min;
			pv[i].avg = pts[i].avg;
			pv[i].max = pts[i].max;
			pv[i].last = pts[i].last;
			pv[i].count = pts[i].count;
			pp[i] = &pv[i];
		}
		out.n_points = n;
		out.points = pp;
		closure(&out, cd);
	}
	free(pv);
	free(pp);
	free(pts);
}

static void
r_stats(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__StatsRequest *in,
        Gtpb__V1__StatsResponse_Closure closure, void *cd)
{
	(void)in;
	gt_svc_rpc_stats(svc_server(svc)->shell, closure, cd);
}

static void
r_health(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__HealthRequest *in,
         Gtpb__V1__HealthResponse_Closure closure, void *cd)
{
	(void)in;
	gt_svc_rpc_health(svc_server(svc)->shell, closure, cd);
}

/* ---- wiring ---- */

gt_err
col_api_routes(col_server *s)
{
	gt_err rv;

	if ((rv = gt_svc_routes(s->shell, s->http)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry/{gpu}", h_telemetry, s,
	                        GT_HTTP_WORKER)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry/{host}/{index}", h_telemetry, s,
	                        GT_HTTP_WORKER)) != GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/telemetry", h_telemetry, s, GT_HTTP_WORKER)) !=
	        GT_OK ||
	    (rv = gt_http_route(s->http, "GET", "/gpus", h_gpus, s, GT_HTTP_WORKER)) != GT_OK)
		return rv;
	return GT_OK;
}

void
col_api_service_init(col_server *s)
{
	s->svc = (Gtpb__V1__TelemetryService_Service)GTPB__V1__TELEMETRY_SERVICE__INIT(r_);
}
