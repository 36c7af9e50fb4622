/* gw.h - gt-gateway: the one front door (REST + WebSocket + Prometheus + RPC) over the
 * collectors and the broker.
 *
 * Threads: main (waits for a signal), the lws thread (routes; never waits on the network),
 * nng callback threads (RPC completions: they merge answers and reply), the health thread
 * (checks dependencies on a timer and sends WebSocket heartbeats), RPC server workers.
 *
 * Files: gw_config.c (options), gw_server.c (wiring, lifecycle, health, /health /stats,
 * request accounting), gw_fan.c (scatter-gather over RPC clients), gw_cache.c (response
 * cache), gw_param.c (parameter parsers, pure), gw_api.c (REST), gw_stream.c (CSV/NDJSON
 * export page by page), gw_live.c (live feed, latest table, WebSocket, /metrics), gw_svc.c
 * (the TelemetryService RPC answered from the collectors), gw_alert*.c (alerts on the live
 * feed: rules, engine, output, webhook, and their REST/WebSocket/RPC side; see gw_alert.h). */
#ifndef GW_H
#define GW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gt/gt_http.h"
#include "gt/gt_metrics.h"
#include "gt/gt_rpc.h"

#define GW_MAX_COLLECTORS 16

typedef struct gw_config {
	int64_t port;
	char   *bind;
	char   *collector_urls, *collector_live_urls; /* GT_CFG_LIST */
	char   *mq_url, *rpc_url, *web_root, *docs_root, *openapi_file;
	int64_t cache_ttl, stale_after, rpc_timeout, health_interval, ws_heartbeat;
	char   *cors_origin, *token, *metrics_labels;
	int64_t max_ws_clients, ws_queue_bytes, max_inflight, cache_entries, rpc_workers;
	int64_t page_size;
	char   *alert_rules, *alert_webhook;
	int64_t alert_history;
	int     log_level;
} gw_config;

gt_err gw_config_load(gw_config *cfg, int argc, char **argv);
void   gw_config_free(gw_config *cfg);

typedef struct gw gw;

gt_err gw_new(gw **out, const gw_config *cfg);
gt_err gw_start(gw *g); /* binds, logs service.ready */
gt_err gw_run(gw *g);   /* until SIGINT/SIGTERM */
void   gw_free(gw *g);

#endif
