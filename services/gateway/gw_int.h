/* gw_int.h - the gateway's shared state and the calls its files make to each other. Not for
 * other modules. */
#ifndef GW_INT_H
#define GW_INT_H

#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_http.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"
#include "gt/gt_svc.h"
#include "gt/gt_version.h"
#include "gtpb/v1/alerts.pb-c.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gw.h"

/* ---- dependencies (mq, collectors) and their last health check ---- */
enum { GW_ST_OK, GW_ST_DEGRADED, GW_ST_DOWN };
const char *gw_status_name(int st);

typedef struct gw_dep {
	char           name[32]; /* "mq", "collector-0" */
	const char    *kind;     /* "mq" | "collector" */
	char          *url;
	gt_rpc_client *cli;
	const ProtobufCServiceDescriptor *svc; /* its service (Health, Stats) */
	atomic_int     down; /* last check failed: scatter-gathers skip it */
	/* under gw.hmu */
	int     status, checked;
	double  latency_ms, uptime_s;
	int64_t checked_ns;
	char    version[32], error[GT_RPC_MSG_MAX + 32];
} gw_dep;

/* ---- request accounting ---- */
enum {
	GW_R_HEALTH,
	GW_R_GPUS,
	GW_R_HOSTS,
	GW_R_TELEMETRY,
	GW_R_AGGREGATE,
	GW_R_STATS,
	GW_R_METRICS,
	GW_R_OPENAPI,
	GW_R_DOCS,
	GW_R_ALERTS,
	GW_R_ALERTS_HISTORY,
	GW_R_COUNT
};
extern const char *const gw_route_names[GW_R_COUNT];

typedef struct gw_cache gw_cache;
typedef struct gw_live  gw_live;
typedef struct gw_alerts gw_alerts;

struct gw {
	const gw_config *cfg;
	gt_svc          *shell; /* version, uptime, the gateway's /stats section, Health/Stats RPC */
	gt_http         *http;
	gt_rpc_server   *rpc;
	char             rpc_url[256];
	gw_dep           mq;
	gw_dep           col[GW_MAX_COLLECTORS];
	size_t           ncol;
	char           **live_urls;
	size_t           nlive;
	char           **mlabels; /* --metrics-labels */
	size_t           nmlabels;
	gw_cache        *cache;
	gw_live         *live;
	gt_metrics      *metrics;
	gt_hist         *m_latency;
	gt_counter      *m_req[GW_R_COUNT][3]; /* 2xx, 4xx, 5xx */
	atomic_int       inflight;
	atomic_int       stopping;
	pthread_mutex_t  hmu;
	pthread_cond_t   hcv;
	pthread_t        health_thread;
	int              health_up;
	const char      *openapi; /* the document served at /openapi.json */
	size_t           openapi_len;
	char            *openapi_owned;
	Gtpb__V1__TelemetryService_Service svc;
	gw_alerts                         *alerts;
	Gtpb__V1__AlertService_Service     asvc;
};

/* ---- gw_server.c: one API request in flight ---- */
typedef struct gw_req {
	gw          *g;
	gt_http_req *req;
	int          route;
	int64_t      t0;
	int          pb;          /* Accept: application/x-protobuf */
	char        *cache_key;   /* NULL = do not cache */
	int          counted;     /* holds an inflight slot */
} gw_req;

/* Starts an API request: 429 above --max-inflight (returns NULL, already answered), or a
 * cache hit answered at once (returns NULL). Otherwise the caller fills and answers it. */
gw_req *gw_req_begin(gw *g, gt_http_req *req, int route, const char *cache_key);
/* Answers (any thread, exactly once), logs one line, counts, caches 200s with a key when
 * cacheable, frees q. */
void gw_reply(gw_req *q, int status, const char *ctype, const void *body, size_t len,
    int cacheable);
void gw_reply_json(gw_req *q, int status, const gt_buf *b, int cacheable);
void gw_error(gw_req *q, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Answers with a streamed reply: accounting is done now, the stream continues alone. */
gt_http_stream *gw_reply_stream(gw_req *q, int status, const char *ctype, gt_http_stream_fn more,
    void *arg);
/* Request accounting outside gw_req (routes answered directly: /health, /metrics...). */
void gw_account(gw *g, int route, int status, int64_t t0, const char *method, const char *path);

/* ---- gw_fan.c: scatter-gather ---- */
typedef struct gw_fan_res {
	gw_dep           *dep;
	gt_rpc_code       code;
	char              msg[GT_RPC_MSG_MAX];
	ProtobufCMessage *out; /* unpacked output when code == OK (in an arena freed after done:
	                        * never protobuf_c_message_free_unpacked it) */
} gw_fan_res;
typedef void (*gw_fan_done)(void *arg, gw_fan_res *res, size_t n);
/* svc NULL: each dep's own service (methods of the same name and output type).
 * Calls method on every dep (a dep known down answers UNAVAILABLE at once without a call);
 * done(arg, results, n) runs once when all answered or timed out, on whichever thread
 * finished last (the caller's own when no call went out). timeout 0 = --rpc-timeout. */
gt_err gw_fan(gw *g, gw_dep *const *deps, size_t n, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *in, int64_t timeout, gw_fan_done done,
    void *arg);
/* The collectors as a dep list. */
size_t gw_collectors(gw *g, gw_dep **out);
/* Writes ,"partial":true,"missing":[..] (or ,"partial":false) for results that failed with
 * something other than NOT_FOUND; returns the number missing. */
size_t gw_partial_json(gt_buf *b, const gw_fan_res *res, size_t n);
/* HTTP status for a scatter-gather where nothing usable came back: 504 when a call timed
 * out, else 503. */
int gw_fan_fail_status(const gw_fan_res *res, size_t n);

/* ---- gw_cache.c ---- */
gt_err gw_cache_new(gw_cache **out, size_t max_entries, int64_t ttl_ns);
void   gw_cache_free(gw_cache *c);
/* On a hit calls fn(arg, status, ctype, body, len) under the cache lock and returns 1. */
int  gw_cache_get(gw_cache *c, const char *key,
    void (*fn)(void *arg, int status, const char *ctype, const void *body, size_t len), void *arg);
void gw_cache_put(gw_cache *c, const char *key, int status, const char *ctype, const void *body,
    size_t len);
void gw_cache_stats(gw_cache *c, uint64_t *hits, uint64_t *misses, size_t *entries);

/* ---- gw_api.c ---- */
gt_err gw_api_routes(gw *g);
/* Packs m into a reply. */
void gw_reply_pb(gw_req *q, const ProtobufCMessage *m, int cacheable);
/* JSON of one record (metrics filtered to names when n > 0; returns the number of metrics
 * written). */
size_t gw_record_json(gt_buf *b, const Gtpb__V1__TelemetryRecord *r, const char *const *names,
    size_t n, const char *type);

/* Merges a GetTelemetry scatter-gather by timestamp: the status to answer with (200, 404,
 * 503, 504); on 200 *recs (malloc'd array of borrowed records) has at most limit. */
int gw_tel_merge(gw_fan_res *res, size_t nres, size_t limit, int reverse,
    Gtpb__V1__TelemetryRecord ***recs, size_t *n, int *truncated);

/* ---- gw_stream.c ---- */
/* Streams the telemetry of gpu as CSV or NDJSON page by page. Takes q. */
void gw_stream_telemetry(gw_req *q, const Gtpb__V1__GetTelemetryRequest *tmpl, int csv);

/* ---- gw_live.c ---- */
gt_err gw_live_new(gw_live **out, gw *g);
gt_err gw_live_start(gw_live *l); /* SUB dials; call after the HTTP server started */
void   gw_live_stop(gw_live *l);
void   gw_live_free(gw_live *l);
gt_err gw_live_ws_register(gw_live *l); /* before gt_http_start */
void   gw_live_heartbeat(gw_live *l);
/* Seeds the latest table from a ListGpus answer (entries the feed has not filled yet). */
void gw_live_seed(gw_live *l, const Gtpb__V1__ListGpusResponse *r);
/* Prometheus text of the latest values. */
gt_err gw_live_prometheus(gw_live *l, gt_buf *b);
typedef struct gw_live_stats {
	uint64_t records_in, frames_sent, frames_dropped, decode_errors;
	size_t   clients, gpus, stale;
	int64_t  last_rx_ns; /* realtime of the last record received, 0 = none */
} gw_live_stats;
void gw_live_stats_get(gw_live *l, gw_live_stats *st);
/* Realtime ns when the feed last delivered a record for key (0 = never). */
int64_t gw_live_last_rx(gw_live *l, const char *key);

/* gw_server.c: the "gateway" section of /stats (also the RPC Stats answer). */
void gw_stats_gateway_json(gw *g, gt_buf *b);

/* ---- gw_svc.c ---- */
void gw_svc_init(gw *g);

/* ---- gw_alert_api.c (see gw_alert.h) ---- */
/* Loads --alert-rules (GT_EINVAL with the error on stderr when the file is bad). */
gt_err gw_alerts_new(gw_alerts **out, gw *g);
gt_err gw_alerts_start(gw_alerts *al); /* timer thread, webhook, SIGHUP */
/* Stops the timer thread and answers held ListAlerts calls; before gt_rpc_server_free and
 * gt_http_free. The feed must be stopped first. */
void   gw_alerts_stop(gw_alerts *al);
void   gw_alerts_free(gw_alerts *al);
gt_err gw_alerts_routes(gw *g);
void   gw_alerts_svc_init(gw *g);
/* One record of the live feed (nng callback threads). */
void gw_alerts_record(gw_alerts *al, const Gtpb__V1__TelemetryRecord *r, int64_t now);
/* Sends the {"type":"alerts"} snapshot to one new WebSocket client (lws thread). */
void gw_alerts_ws_open(gw_alerts *al, uint64_t id);
void gw_alerts_prometheus(gw_alerts *al, gt_buf *b);
/* The "alerts" member of the gateway's /stats: rules, firing, pending, changes_total,
 * webhook {enabled, sent, failed, dropped, queued}, last_reload {time, result, error} | null. */
void gw_alerts_stats_json(gw_alerts *al, gt_buf *b);

#endif
