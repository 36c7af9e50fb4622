/* gw_config.c - the gateway's option table (defaults -> --config -> GT_* env -> flags). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gt/gt_cfg.h"
#include "gt/gt_time.h"
#include "gw.h"
#include "gw_alert.h"

static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};

static const gt_cfg_opt gw_opts[] = {
    GT_CFG_INT("port", gw_config, port, "8081", 0, 65535, "HTTP/WebSocket port (0 = ephemeral)"),
    GT_CFG_STR("bind", gw_config, bind, "0.0.0.0", "HTTP bind address"),
    GT_CFG_LIST("collector-url", gw_config, collector_urls, "tcp://127.0.0.1:9093",
                "collector TelemetryService RPC URL (repeat for several collectors)"),
    GT_CFG_LIST("collector-live-url", gw_config, collector_live_urls, "tcp://127.0.0.1:9094",
                "collector live PUB feed URL (repeat, same order as --collector-url; "
                "empty = no live feed)"),
    GT_CFG_STR("mq-url", gw_config, mq_url, "tcp://127.0.0.1:9091", "gt-mq RPC URL"),
    GT_CFG_STR("rpc-url", gw_config, rpc_url, "tcp://0.0.0.0:9097",
               "TelemetryService RPC served by the gateway (empty = off)"),
    GT_CFG_STR("web-root", gw_config, web_root, "",
               "built dashboard served at / (SPA: unknown paths serve index.html)"),
    GT_CFG_STR("docs-root", gw_config, docs_root, "",
               "swagger-ui-dist directory served at /docs/ (tools/setup-swagger-ui)"),
    GT_CFG_STR("openapi-file", gw_config, openapi_file, "",
               "OpenAPI document to serve (default: the one built into the binary)"),
    GT_CFG_DUR("cache-ttl", gw_config, cache_ttl, "1s", 0, 3600 * GT_NS_PER_S,
               "response cache lifetime (0 = no cache)"),
    GT_CFG_INT("cache-entries", gw_config, cache_entries, "4096", 1, 1000000,
               "responses kept in the cache"),
    GT_CFG_STR("cors-origin", gw_config, cors_origin, "",
               "Access-Control-Allow-Origin value (empty = no CORS headers)"),
    GT_CFG_DUR("stale-after", gw_config, stale_after, "30s", GT_NS_PER_S, 86400 * GT_NS_PER_S,
               "a GPU silent this long is stale (and leaves /metrics)"),
    GT_CFG_DUR("rpc-timeout", gw_config, rpc_timeout, "2s", 10 * GT_NS_PER_MS, 60 * GT_NS_PER_S,
               "deadline of a scatter-gather over the collectors"),
    GT_CFG_DUR("health-interval", gw_config, health_interval, "2s", 100 * GT_NS_PER_MS,
               3600 * GT_NS_PER_S,
               "dependency check period (the /health probe reads the last "
               "result)"),
    GT_CFG_STR("token", gw_config, token, "",
               "Bearer token required on the API (not /health, /metrics, static files); also "
               "sent on the RPCs the gateway makes and required on its own RPC"),
    GT_CFG_INT("max-ws-clients", gw_config, max_ws_clients, "1000", 1, 100000,
               "WebSocket clients at once"),
    GT_CFG_INT("ws-queue-bytes", gw_config, ws_queue_bytes, "1048576", 1024, INT64_MAX,
               "per WebSocket client: queued bytes before the oldest frames are dropped"),
    GT_CFG_DUR("ws-heartbeat", gw_config, ws_heartbeat, "5s", 100 * GT_NS_PER_MS,
               3600 * GT_NS_PER_S,
               "heartbeat frame period; a client silent for 3 periods (no pong) is closed"),
    GT_CFG_INT("max-inflight", gw_config, max_inflight, "512", 1, 1000000,
               "API requests in progress before 429"),
    GT_CFG_STR("metrics-labels", gw_config, metrics_labels,
               "gpu,UUID,device,modelName,Hostname,pod,namespace,container",
               "labels on the /metrics GPU value series"),
    GT_CFG_INT("page-size", gw_config, page_size, "5000", 1, 100000,
               "records per collector page when streaming CSV/NDJSON"),
    GT_CFG_INT("rpc-workers", gw_config, rpc_workers, "2", 1, 64, "RPC handler threads"),
    GT_CFG_STR("alert-rules", gw_config, alert_rules, "",
               "alert rules JSON file (validated at start; reloaded on SIGHUP)"),
    GT_CFG_STR("alert-webhook", gw_config, alert_webhook, "",
               "URL that gets a POST of the alert JSON on every change (retried with backoff)"),
    GT_CFG_INT("alert-history", gw_config, alert_history, "1000", 1, 1000000,
               "alert changes kept for /api/v1/alerts/history"),
    GT_CFG_ENUM("log-level", gw_config, log_level, "info", level_choices,
                "debug|info|warn|error|off"),
};

/* --print-config also validates the --alert-rules file (exit 2 naming the rule and field), so
 * a deployment can check its rendered config and rules without starting the gateway. */
static gt_err
check_rules(gw_config *cfg, int argc, char **argv)
{
	gw_alert_rules *r = NULL;
	char            err[512];
	int             i, print = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return GT_EDONE;
		if (strcmp(argv[i], "--print-config") == 0)
			print = 1;
	}
	if (!print || cfg->alert_rules == NULL || *cfg->alert_rules == '\0')
		return GT_EDONE;
	if (gw_alert_rules_load(cfg->alert_rules, &r, err, sizeof(err)) != GT_OK) {
		fprintf(stderr, "gt-gateway: --alert-rules %s\n", err);
		gw_config_free(cfg);
		return GT_EINVAL;
	}
	gw_alert_rules_free(r);
	return GT_EDONE;
}

gt_err
gw_config_load(gw_config *cfg, int argc, char **argv)
{
	gt_err rv;

	memset(cfg, 0, sizeof(*cfg));
	rv = gt_cfg_load(gw_opts, GT_NELEM(gw_opts), cfg, argc, argv, "gt-gateway",
	                 "the front door: REST, WebSocket, Prometheus and RPC over the "
	                 "collectors and gt-mq");
	return rv == GT_EDONE ? check_rules(cfg, argc, argv) : rv;
}

void
gw_config_free(gw_config *cfg)
{
	gt_cfg_free(gw_opts, GT_NELEM(gw_opts), cfg);
}
