/* gw_server.c - wiring and lifecycle, request accounting (one log line, counters, latency,
 * --max-inflight, the cache), the background health checker and the /health and /stats
 * documents. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_cfg.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_signal.h"
#include "gt/gt_time.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gw_int.h"

const char *const gw_route_names[GW_R_COUNT] = {
    [GW_R_HEALTH] = "/health",
    [GW_R_GPUS] = "/api/v1/gpus",
    [GW_R_HOSTS] = "/api/v1/hosts",
    [GW_R_TELEMETRY] = "/api/v1/gpus/{id}/telemetry",
    [GW_R_AGGREGATE] = "/api/v1/gpus/{id}/aggregate",
    [GW_R_STATS] = "/stats",
    [GW_R_METRICS] = "/metrics",
    [GW_R_OPENAPI] = "/openapi.json",
    [GW_R_DOCS] = "/docs",
    [GW_R_ALERTS] = "/api/v1/alerts",
    [GW_R_ALERTS_HISTORY] = "/api/v1/alerts/history",
};

const char *
gw_status_name(int st)
{
	return st == GW_ST_OK ? "ok" : st == GW_ST_DEGRADED ? "degraded" : "down";
}

/* ---- request accounting ---- */

void
gw_account(gw *g, int route, int status, int64_t t0, const char *method, const char *path)
{
	int64_t dt = gt_mono_ns() - t0;
	int     cls = status < 400 ? 0 : status < 500 ? 1 : 2;

	gt_counter_inc(g->m_req[route][cls]);
	gt_hist_observe_ns(g->m_latency, dt);
	GT_LOGI("http.request", GT_KV_STR("method", method ? method : "GET"),
	        GT_KV_STR("path", path ? path : ""), GT_KV_STR("route", gw_route_names[route]),
	        GT_KV_INT("status", status), GT_KV_INT("duration_us", dt / GT_NS_PER_US));
}

typedef struct hit_ctx {
	gw_req *q;
} hit_ctx;

static void
cache_hit(void *arg, int status, const char *ctype, const void *body, size_t len)
{
	gw_req *q = ((hit_ctx *)arg)->q;

	gw_account(q->g, q->route, status, q->t0, gt_http_req_method(q->req),
	           gt_http_req_path(q->req));
	gt_http_reply(q->req, status, ctype, body, len);
}

gw_req *
gw_req_begin(gw *g, gt_http_req *req, int route, const char *cache_key)
{
	gw_req *q = calloc(1, sizeof(*q));
	hit_ctx hc;

	if (q == NULL) {
		gt_http_error(req, 500, "out of memory");
		return NULL;
	}
	q->g = g;
	q->req = req;
	q->route = route;
	q->t0 = gt_mono_ns();
	q->pb = gt_http_req_wants_protobuf(req);
	if (cache_key != NULL) {
		hc.q = q;
		if (gw_cache_get(g->cache, cache_key, cache_hit, &hc)) {
			free(q);
			return NULL;
		}
		q->cache_key = strdup(cache_key);
	}
	if (atomic_fetch_add(&g->inflight, 1) >= g->cfg->max_inflight) {
		atomic_fetch_sub(&g->inflight, 1);
		gw_error(q, 429, "too many requests in progress (max-inflight %" PRId64 ")",
		         g->cfg->max_inflight);
		return NULL;
	}
	q->counted = 1;
	return q;
}

/* Before the reply: the request is freed by it. */
static void
gw_req_log(gw_req *q, int status)
{
	gw_account(q->g, q->route, status, q->t0, gt_http_req_method(q->req),
	           gt_http_req_path(q->req));
}

static void
gw_req_end(gw_req *q)
{
	if (q->counted)
		atomic_fetch_sub(&q->g->inflight, 1);
	free(q->cache_key);
	free(q);
}

void
gw_reply(gw_req *q, int status, const char *ctype, const void *body, size_t len, int cacheable)
{
	if (cacheable && status == 200 && q->cache_key != NULL)
		gw_cache_put(q->g->cache, q->cache_key, status, ctype, body, len);
	gw_req_log(q, status);
	gt_http_reply(q->req, status, ctype, body, len);
	gw_req_end(q);
}

void
gw_reply_json(gw_req *q, int status, const gt_buf *b, int cacheable)
{
	gw_reply(q, status, "application/json", b->data, b->len, cacheable);
}

void
gw_error(gw_req *q, int status, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;
	gt_buf  b;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gt_buf_init(&b);
	gt_buf_printf(&b, "{\"error\":{\"code\":%d,\"message\":", status);
	gt_json_cstr(&b, msg);
	gt_buf_puts(&b, "}}");
	gw_reply_json(q, status, &b, 0);
	gt_buf_fini(&b);
}

gt_http_stream *
gw_reply_stream(gw_req *q, int status, const char *ctype, gt_http_stream_fn more, void *arg)
{
	gt_http_stream *s = NULL;

	gw_req_log(q, status);
	if (gt_http_stream_start(q->req, status, ctype, more, arg, &s) != GT_OK) {
		gw_error(q, 500, "out of memory");
		return NULL;
	}
	gw_req_end(q);
	return s;
}

/* ---- health ---- */

static void
check_dep(gw *g, gw_dep *d, const ProtobufCServiceDescriptor *svc)
{
	gt_rpc_stub               stub;
	Gtpb__V1__HealthRequest   in = GTPB__V1__HEALTH_REQUEST__INIT;
	Gtpb__V1__HealthResponse *out = NULL;
	int64_t                   t0 = gt_mono_ns(), to = g->cfg->rpc_timeout;
	gt_err                    rv;

	if (to > GT_NS_PER_S)
		to = GT_NS_PER_S;
	gt_rpc_stub_init(&stub, d->cli, svc, to);
	rv = gt_rpc_call_by_name(&stub, "Health", &in.base, (ProtobufCMessage **)&out);
	pthread_mutex_lock(&g->hmu);
	d->checked = 1;
	d->checked_ns = gt_now_ns();
	d->latency_ms = (double)(gt_mono_ns() - t0) / 1e6;
	if (rv == GT_OK) {
		d->status = out->status && strcmp(out->status, "ok") == 0 ? GW_ST_OK : GW_ST_DEGRADED;
		snprintf(d->version, sizeof(d->version), "%s", out->version ? out->version : "");
		d->uptime_s = (double)out->uptime_ns / 1e9;
		snprintf(d->error, sizeof(d->error), "%s",
		         d->status == GW_ST_OK ? "" : "reports degraded");
	} else {
		d->status = GW_ST_DOWN;
		snprintf(d->error, sizeof(d->error), "%s: %s", gt_rpc_code_name(stub.status.code),
		         stub.status.message);
	}
	pthread_mutex_unlock(&g->hmu);
	if (atomic_exchange(&d->down, rv != GT_OK) != (rv != GT_OK))
		GT_LOGI(rv == GT_OK ? "dependency.up" : "dependency.down", GT_KV_STR("name", d->name),
		        GT_KV_STR("url", d->url), GT_KV_STR("error", d->error));
	if (out != NULL)
		protobuf_c_message_free_unpacked(&out->base, NULL);
}

/* Seeds the live table from a collector that has not been listed yet. */
static void
seed_from(gw *g, gw_dep *d, int *seeded)
{
	gt_rpc_stub                 stub;
	Gtpb__V1__ListGpusRequest   in = GTPB__V1__LIST_GPUS_REQUEST__INIT;
	Gtpb__V1__ListGpusResponse *out = NULL;

	if (*seeded || atomic_load(&d->down))
		return;
	gt_rpc_stub_init(&stub, d->cli, &gtpb__v1__telemetry_service__descriptor,
	                 g->cfg->rpc_timeout);
	if (gt_rpc_call_by_name(&stub, "ListGpus", &in.base, (ProtobufCMessage **)&out) == GT_OK) {
		gw_live_seed(g->live, out);
		*seeded = 1;
		protobuf_c_message_free_unpacked(&out->base, NULL);
	}
}

static void *
health_thread(void *arg)
{
	gw     *g = arg;
	int     seeded[GW_MAX_COLLECTORS] = {0};
	int64_t next_check = 0, next_beat = gt_mono_ns() + g->cfg->ws_heartbeat;
	size_t  i;

	while (!atomic_load(&g->stopping)) {
		int64_t now = gt_mono_ns(), wake;

		if (now >= next_check) {
			check_dep(g, &g->mq, &gtpb__v1__message_queue__descriptor);
			for (i = 0; i < g->ncol && !atomic_load(&g->stopping); i++) {
				check_dep(g, &g->col[i], &gtpb__v1__telemetry_service__descriptor);
				seed_from(g, &g->col[i], &seeded[i]);
			}
			next_check = gt_mono_ns() + g->cfg->health_interval;
		}
		if (now >= next_beat) {
			gw_live_heartbeat(g->live);
			next_beat = now + g->cfg->ws_heartbeat;
		}
		wake = next_check < next_beat ? next_check : next_beat;
		pthread_mutex_lock(&g->hmu);
		if (!atomic_load(&g->stopping)) {
			int64_t         left = wake - gt_mono_ns();
			struct timespec ts;

			if (left > 0) {
				clock_gettime(CLOCK_MONOTONIC, &ts);
				ts.tv_sec += left / GT_NS_PER_S;
				ts.tv_nsec += left % GT_NS_PER_S;
				if (ts.tv_nsec >= GT_NS_PER_S) {
					ts.tv_sec++;
					ts.tv_nsec -= GT_NS_PER_S;
				}
				pthread_cond_timedwait(&g->hcv, &g->hmu, &ts);
			}
		}
		pthread_mutex_unlock(&g->hmu);
	}
	return NULL;
}

static void
component_json(gt_buf *b, const gw_dep *d)
{
	char ts[40];

	gt_buf_puts(b, "{\"name\":");
	gt_json_cstr(b, d->name);
	gt_buf_puts(b, ",\"kind\":");
	gt_json_cstr(b, d->kind);
	gt_buf_puts(b, ",\"url\":");
	gt_json_cstr(b, d->url);
	gt_buf_printf(b, ",\"status\":\"%s\"", d->checked ? gw_status_name(d->status) : "down");
	gt_buf_puts(b, ",\"latency_ms\":");
	gt_json_dbl(b, d->latency_ms);
	gt_buf_puts(b, ",\"version\":");
	gt_json_cstr(b, d->version);
	gt_buf_puts(b, ",\"uptime_seconds\":");
	gt_json_dbl(b, d->uptime_s);
	gt_buf_puts(b, ",\"checked_at\":");
	if (d->checked) {
		gt_rfc3339_format(d->checked_ns, 3, ts, sizeof(ts));
		gt_json_cstr(b, ts);
	} else {
		gt_buf_puts(b, "null");
	}
	if (!d->checked || d->status != GW_ST_OK) {
		gt_buf_puts(b, ",\"error\":");
		gt_json_cstr(b, d->checked ? d->error : "not checked yet");
	}
	gt_buf_putc(b, '}');
}

/* The Health RPC through gt_svc: the status from the collectors' reachability (every one up:
 * ok, some: degraded, none: down), with their counts as details. */
static void
shell_health(void *arg, gt_svc_health *h)
{
	gw    *g = arg;
	size_t i, up = 0;

	for (i = 0; i < g->ncol; i++)
		up += !atomic_load(&g->col[i].down);
	h->status = up == g->ncol ? "ok" : up > 0 ? "degraded" : "down";
	gt_svc_health_int(h, "collectors", (int64_t)g->ncol);
	gt_svc_health_int(h, "collectors_up", (int64_t)up);
}

/* GET /health stays the gateway's own (version and uptime from gt_svc): it is an aggregate,
 * a "components" array of objects (the gateway, mq, each collector: status, latency, version,
 * uptime, checked_at, error), the feed's age and stale GPU count, and 503 when no collector
 * is up. gt_svc's /health has only flat string/int/bool details (at most 8) and always
 * answers 200, so it cannot carry this without flattening the components away. For the same
 * reason /stats (the gateway's gt_svc document plus mq's and each collector's) and /metrics
 * (gt_metrics plus the live table's per-GPU gauges, with request accounting) keep their own
 * routes. */
static void
h_health(gt_http_req *req, void *arg)
{
	gw           *g = arg;
	int64_t       t0 = gt_mono_ns();
	gt_buf        b;
	gw_live_stats ls;
	size_t        i, cols_up = 0;
	int           st = GW_ST_OK, code;
	double        up = gt_svc_uptime_seconds(g->shell);

	gw_live_stats_get(g->live, &ls);
	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"status\":\"\",\"version\":\"" GT_VERSION "\",\"uptime_seconds\":");
	gt_json_dbl(&b, up);
	gt_buf_puts(&b, ",\"components\":[{\"name\":\"gateway\",\"kind\":\"gateway\",\"url\":");
	gt_buf_printf(&b, "\"http://%s:%d\"", g->cfg->bind, gt_http_port(g->http));
	gt_buf_puts(&b, ",\"status\":\"ok\",\"latency_ms\":0,\"version\":\"" GT_VERSION
	                "\",\"uptime_seconds\":");
	gt_json_dbl(&b, up);
	gt_buf_puts(&b, ",\"checked_at\":");
	{
		char ts[40];

		gt_rfc3339_format(gt_now_ns(), 3, ts, sizeof(ts));
		gt_json_cstr(&b, ts);
	}
	gt_buf_putc(&b, '}');
	pthread_mutex_lock(&g->hmu);
	gt_buf_putc(&b, ',');
	component_json(&b, &g->mq);
	if (!g->mq.checked || g->mq.status != GW_ST_OK)
		st = GW_ST_DEGRADED;
	for (i = 0; i < g->ncol; i++) {
		gt_buf_putc(&b, ',');
		component_json(&b, &g->col[i]);
		if (g->col[i].checked && g->col[i].status != GW_ST_DOWN)
			cols_up++;
		if (!g->col[i].checked || g->col[i].status != GW_ST_OK)
			st = GW_ST_DEGRADED;
	}
	pthread_mutex_unlock(&g->hmu);
	gt_buf_puts(&b, "],\"last_record_age_seconds\":");
	if (ls.last_rx_ns > 0) {
		double age = (double)(gt_now_ns() - ls.last_rx_ns) / 1e9;

		gt_json_dbl(&b, age < 0 ? 0 : age);
		if (age * 1e9 > (double)g->cfg->stale_after)
			st = GW_ST_DEGRADED;
	} else {
		gt_buf_puts(&b, "null");
		st = GW_ST_DEGRADED; /* no data arrives */
	}
	if (ls.stale > 0)
		st = GW_ST_DEGRADED;
	if (cols_up == 0)
		st = GW_ST_DOWN;
	gt_buf_printf(&b, ",\"stale_gpus\":%zu,\"gpus\":%zu}", ls.stale, ls.gpus);
	/* patch the status in: b starts with {"status":"" (12 bytes) */
	{
		gt_buf out;

		gt_buf_init(&out);
		gt_buf_printf(&out, "{\"status\":\"%s\"", gw_status_name(st));
		gt_buf_append(&out, b.data + 12, b.len - 12);
		code = st == GW_ST_DOWN ? 503 : 200;
		gt_http_reply(req, code, "application/json", out.data, out.len);
		gt_buf_fini(&out);
	}
	gt_buf_fini(&b);
	gw_account(g, GW_R_HEALTH, code, t0, "GET", "/health");
}

/* ---- /stats ---- */

/* The gateway's own members of its gt_svc /stats document (after service, version,
 * uptime_seconds and build): the "gateway" section of /stats and the Stats RPC answer. */
static gt_err
shell_stats(void *arg, gt_buf *b, int *first)
{
	gw           *g = arg;
	gw_live_stats ls;
	uint64_t      hits, misses, total = 0;
	size_t        entries;
	int           r, rfirst = 1;
	gt_err        rv;

	gw_live_stats_get(g->live, &ls);
	gw_cache_stats(g->cache, &hits, &misses, &entries);
	gt_json_key(b, first, "requests");
	gt_buf_putc(b, '{');
	for (r = 0; r < GW_R_COUNT; r++) {
		uint64_t c2 = gt_counter_get(g->m_req[r][0]), c4 = gt_counter_get(g->m_req[r][1]),
		         c5 = gt_counter_get(g->m_req[r][2]);

		total += c2 + c4 + c5;
		gt_json_key(b, &rfirst, gw_route_names[r]);
		gt_buf_printf(b, "{\"2xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64 "}", c2,
		              c4, c5);
	}
	gt_buf_printf(b, "},\"requests_total\":%" PRIu64, total);
	gt_buf_printf(b, ",\"inflight\":%d", atomic_load(&g->inflight));
	gt_buf_puts(b, ",\"latency_ms\":{\"p50\":");
	gt_json_dbl(b, gt_hist_quantile(g->m_latency, 0.5) * 1e3);
	gt_buf_puts(b, ",\"p99\":");
	gt_json_dbl(b, gt_hist_quantile(g->m_latency, 0.99) * 1e3);
	gt_buf_printf(b, "},\"cache\":{\"hits\":%" PRIu64 ",\"misses\":%" PRIu64
	                 ",\"entries\":%zu,\"hit_rate\":",
	              hits, misses, entries);
	gt_json_dbl(b, hits + misses ? (double)hits / (double)(hits + misses) : 0.0);
	rv = gt_buf_printf(b,
	                   "},\"ws\":{\"clients\":%zu,\"frames_sent\":%" PRIu64
	                   ",\"frames_dropped\":%" PRIu64 ",\"records_in\":%" PRIu64
	                   ",\"decode_errors\":%" PRIu64 "},\"gpus\":%zu,\"stale_gpus\":%zu",
	                   ls.clients, ls.frames_sent, ls.frames_dropped, ls.records_in,
	                   ls.decode_errors, ls.gpus, ls.stale);
	if (rv == GT_OK && (rv = gt_buf_puts(b, ",\"alerts\":")) == GT_OK)
		gw_alerts_stats_json(g->alerts, b);
	return rv;
}

void
gw_stats_gateway_json(gw *g, gt_buf *b)
{
	gt_svc_stats_json(g->shell, b);
}

static void
stats_done(void *arg, gw_fan_res *res, size_t n)
{
	gw_req *q = arg;
	gw     *g = q->g;
	gt_buf  b;
	size_t  i;

	gt_buf_init(&b);
	gt_buf_puts(&b, "{\"gateway\":");
	gw_stats_gateway_json(g, &b);
	for (i = 0; i < n; i++) {
		const Gtpb__V1__StatsResponse *sr = (const Gtpb__V1__StatsResponse *)res[i].out;
		const char *doc = res[i].code == GT_RPC_OK && sr->json && *sr->json ? sr->json : NULL;

		if (i == 0) {
			gt_buf_puts(&b, ",\"mq\":");
			gt_buf_puts(&b, doc ? doc : "null");
			gt_buf_puts(&b, ",\"collectors\":[");
			continue;
		}
		if (i > 1)
			gt_buf_putc(&b, ',');
		gt_buf_puts(&b, "{\"name\":");
		gt_json_cstr(&b, res[i].dep->name);
		gt_buf_puts(&b, ",\"url\":");
		gt_json_cstr(&b, res[i].dep->url);
		gt_buf_puts(&b, ",\"stats\":");
		gt_buf_puts(&b, doc ? doc : "null");
		if (doc == NULL) {
			gt_buf_puts(&b, ",\"error\":");
			gt_json_cstr(&b, res[i].msg);
		}
		gt_buf_putc(&b, '}');
	}
	gt_buf_puts(&b, "]}");
	gw_reply_json(q, 200, &b, 0);
	gt_buf_fini(&b);
}

static void
h_stats(gt_http_req *req, void *arg)
{
	gw                     *g = arg;
	gw_req                 *q = gw_req_begin(g, req, GW_R_STATS, NULL);
	gw_dep                 *deps[GW_MAX_COLLECTORS + 1];
	Gtpb__V1__StatsRequest  in = GTPB__V1__STATS_REQUEST__INIT;
	size_t                  i;

	if (q == NULL)
		return;
	/* mq first, then the collectors; each asked through its own service. */
	deps[0] = &g->mq;
	for (i = 0; i < g->ncol; i++)
		deps[i + 1] = &g->col[i];
	if (gw_fan(g, deps, g->ncol + 1, NULL, "Stats", &in.base, 0, stats_done, q) != GT_OK)
		gw_error(q, 500, "out of memory");
}

static void
h_metrics(gt_http_req *req, void *arg)
{
	gw     *g = arg;
	int64_t t0 = gt_mono_ns();
	gt_buf  b;

	gt_buf_init(&b);
	gw_live_prometheus(g->live, &b);
	gw_alerts_prometheus(g->alerts, &b);
	gt_metrics_prometheus(g->metrics, &b);
	gt_http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	gt_buf_fini(&b);
	gw_account(g, GW_R_METRICS, 200, t0, "GET", "/metrics");
}

/* ---- lifecycle ---- */

static gt_err
dep_open(gw *g, gw_dep *d, const char *name, const char *kind, const char *url)
{
	gt_rpc_client_cfg ccfg = {0};

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->kind = kind;
	d->svc = strcmp(kind, "mq") == 0 ? &gtpb__v1__message_queue__descriptor
	                                 : &gtpb__v1__telemetry_service__descriptor;
	atomic_init(&d->down, 0);
	d->status = GW_ST_DOWN;
	if ((d->url = strdup(url)) == NULL)
		return GT_ENOMEM;
	ccfg.token = g->cfg->token && *g->cfg->token ? g->cfg->token : NULL;
	ccfg.timeout_ns = g->cfg->rpc_timeout;
	return gt_rpc_client_open(&d->cli, url, &ccfg);
}

static gt_err
load_openapi(gw *g)
{
	extern const char gw_openapi_json[];
	FILE             *f;
	long              n;

	if (g->cfg->openapi_file == NULL || *g->cfg->openapi_file == '\0') {
		g->openapi = gw_openapi_json;
		g->openapi_len = strlen(gw_openapi_json);
		return GT_OK;
	}
	if ((f = fopen(g->cfg->openapi_file, "rb")) == NULL)
		return GT_ENOENT;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n < 0 || (g->openapi_owned = malloc((size_t)n + 1)) == NULL ||
	    fread(g->openapi_owned, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return GT_EIO;
	}
	fclose(f);
	g->openapi_owned[n] = '\0';
	g->openapi = g->openapi_owned;
	g->openapi_len = (size_t)n;
	return GT_OK;
}

gt_err
gw_new(gw **out, const gw_config *cfg)
{
	gw    *g;
	char **urls = NULL;
	size_t n = 0, i, r;
	gt_err rv;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return GT_ENOMEM;
	g->cfg = cfg;
	pthread_mutex_init(&g->hmu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&g->hcv, &ca);
		pthread_condattr_destroy(&ca);
	}
	gw_svc_init(g);
	gw_alerts_svc_init(g);
	if ((rv = gt_metrics_new(&g->metrics, "gt_gateway_")) != GT_OK)
		goto fail;
	{
		gt_svc_cfg scfg = {0};

		scfg.service = "gateway";
		scfg.metrics = g->metrics;
		scfg.health = shell_health;
		scfg.stats = shell_stats;
		scfg.arg = g;
		if ((rv = gt_svc_new(&g->shell, &scfg)) != GT_OK)
			goto fail;
	}
	g->m_latency = gt_metrics_hist(g->metrics, "request_seconds", NULL, "API request latency");
	for (r = 0; r < GW_R_COUNT; r++) {
		static const char *const cls[3] = {"2xx", "4xx", "5xx"};

		for (i = 0; i < 3; i++) {
			char lab[160];

			snprintf(lab, sizeof(lab), "route=\"%s\",code=\"%s\"", gw_route_names[r],
			         cls[i]);
			g->m_req[r][i] = gt_metrics_counter(g->metrics, "requests_total", lab,
			                                    "HTTP requests by route and status class");
		}
	}
	if ((rv = gt_cfg_list_split(cfg->collector_urls, &urls, &n)) != GT_OK)
		goto fail;
	if (n == 0 || n > GW_MAX_COLLECTORS) {
		fprintf(stderr, "gt-gateway: --collector-url: give 1 to %d URLs (got %zu)\n",
		        GW_MAX_COLLECTORS, n);
		gt_cfg_list_free(urls);
		rv = GT_EINVAL;
		goto fail;
	}
	if ((rv = dep_open(g, &g->mq, "mq", "mq", cfg->mq_url)) != GT_OK)
		goto fail_urls;
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "collector-%zu", i);
		if ((rv = dep_open(g, &g->col[i], name, "collector", urls[i])) != GT_OK)
			goto fail_urls;
		g->ncol++;
	}
	gt_cfg_list_free(urls);
	urls = NULL;
	if ((rv = gt_cfg_list_split(cfg->collector_live_urls, &g->live_urls, &g->nlive)) != GT_OK ||
	    (rv = gt_cfg_list_split(cfg->metrics_labels, &g->mlabels, &g->nmlabels)) != GT_OK)
		goto fail;
	if ((rv = gw_cache_new(&g->cache, (size_t)cfg->cache_entries, cfg->cache_ttl)) != GT_OK ||
	    (rv = gw_live_new(&g->live, g)) != GT_OK ||
	    (rv = gw_alerts_new(&g->alerts, g)) != GT_OK)
		goto fail;
	if ((rv = load_openapi(g)) != GT_OK) {
		fprintf(stderr, "gt-gateway: --openapi-file: cannot read %s\n", cfg->openapi_file);
		rv = GT_EINVAL;
		goto fail;
	}
	*out = g;
	return GT_OK;
fail_urls:
	gt_cfg_list_free(urls);
fail:
	gw_free(g);
	return rv;
}

gt_err
gw_start(gw *g)
{
	const gw_config *cfg = g->cfg;
	gt_http_cfg      hcfg = {0};
	gt_err           rv;
	int              err;

	hcfg.service = "gateway";
	hcfg.bind = cfg->bind;
	hcfg.port = (int)cfg->port;
	hcfg.static_root = cfg->web_root && *cfg->web_root ? cfg->web_root : NULL;
	hcfg.cors_origin = cfg->cors_origin && *cfg->cors_origin ? cfg->cors_origin : NULL;
	hcfg.token = cfg->token && *cfg->token ? cfg->token : NULL;
	hcfg.ws_queue_max = 4096;
	hcfg.ws_queue_bytes = (size_t)cfg->ws_queue_bytes;
	hcfg.ws_max_clients = (size_t)cfg->max_ws_clients;
	hcfg.ws_ping_secs = (int)((cfg->ws_heartbeat + GT_NS_PER_S - 1) / GT_NS_PER_S);
	/* room for every WebSocket client plus the HTTP ones */
	hcfg.max_conns = (int)(cfg->max_ws_clients + 256 < 60000 ? cfg->max_ws_clients + 256 : 60000);
	if ((rv = gt_http_new(&g->http, &hcfg)) != GT_OK) {
		GT_LOGE("http.start_failed", GT_KV_INT("port", cfg->port), GT_KV_ERR(rv));
		return rv;
	}
	gt_http_set_timeout(g->http, cfg->rpc_timeout + 5 * GT_NS_PER_S);
	if ((rv = gt_http_route(g->http, "GET", "/health", h_health, g, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(g->http, "GET", "/metrics", h_metrics, g, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(g->http, "GET", "/stats", h_stats, g, GT_HTTP_ADMIN)) != GT_OK ||
	    (rv = gw_api_routes(g)) != GT_OK || (rv = gw_alerts_routes(g)) != GT_OK ||
	    (rv = gw_live_ws_register(g->live)) != GT_OK ||
	    (rv = gt_http_start(g->http)) != GT_OK) {
		GT_LOGE("http.start_failed", GT_KV_INT("port", cfg->port), GT_KV_ERR(rv));
		return rv;
	}
	if (cfg->rpc_url && *cfg->rpc_url) {
		gt_rpc_server_cfg rcfg = {0};

		rcfg.url = cfg->rpc_url;
		rcfg.workers = (int)cfg->rpc_workers;
		rcfg.token = cfg->token;
		if ((rv = gt_rpc_server_new(&g->rpc, &rcfg)) != GT_OK ||
		    (rv = gt_rpc_server_add(g->rpc, &g->svc.base)) != GT_OK ||
		    (rv = gt_rpc_server_add(g->rpc, &g->asvc.base)) != GT_OK ||
		    (rv = gt_rpc_server_start(g->rpc)) != GT_OK) {
			GT_LOGE("rpc.start_failed", GT_KV_STR("url", cfg->rpc_url), GT_KV_ERR(rv));
			return rv;
		}
		gt_rpc_dial_url(g->rpc_url, sizeof(g->rpc_url), cfg->rpc_url,
		                gt_rpc_server_port(g->rpc));
	}
	if ((rv = gw_alerts_start(g->alerts)) != GT_OK || (rv = gw_live_start(g->live)) != GT_OK)
		return rv;
	if ((err = pthread_create(&g->health_thread, NULL, health_thread, g)) != 0)
		return gt_err_from_errno(err);
	g->health_up = 1;
	GT_LOGI("service.ready", GT_KV_INT("http_port", gt_http_port(g->http)),
	        GT_KV_STR("rpc_url", g->rpc_url), GT_KV_STR("mq_url", cfg->mq_url),
	        GT_KV_STR("collector_urls", cfg->collector_urls),
	        GT_KV_STR("collector_live_urls", cfg->collector_live_urls),
	        GT_KV_STR("web_root", cfg->web_root), GT_KV_UINT("collectors", g->ncol));
	return GT_OK;
}

gt_err
gw_run(gw *g)
{
	(void)g;
	while (!gt_signal_wait(-1))
		;
	GT_LOGI("service.stopping", GT_KV_STR("reason", "signal"));
	return GT_OK;
}

void
gw_free(gw *g)
{
	size_t i;

	if (g == NULL)
		return;
	atomic_store(&g->stopping, 1);
	if (g->health_up) {
		pthread_mutex_lock(&g->hmu);
		pthread_cond_broadcast(&g->hcv);
		pthread_mutex_unlock(&g->hmu);
		pthread_join(g->health_thread, NULL);
	}
	/* The feed stops broadcasting, the RPC server stops asking; then the clients close
	 * (calls in flight complete as CANCELLED and answer their requests), then HTTP. */
	gw_live_stop(g->live);
	gw_alerts_stop(g->alerts);
	gt_rpc_server_free(g->rpc);
	gt_rpc_client_close(g->mq.cli);
	for (i = 0; i < g->ncol; i++)
		gt_rpc_client_close(g->col[i].cli);
	gt_http_free(g->http);
	gt_svc_free(g->shell);
	gw_live_free(g->live);
	gw_alerts_free(g->alerts);
	gw_cache_free(g->cache);
	gt_metrics_free(g->metrics);
	free(g->mq.url);
	for (i = 0; i < g->ncol; i++)
		free(g->col[i].url);
	gt_cfg_list_free(g->live_urls);
	gt_cfg_list_free(g->mlabels);
	free(g->openapi_owned);
	pthread_cond_destroy(&g->hcv);
	pthread_mutex_destroy(&g->hmu);
	free(g);
}
