/* gt_svc.c - the service shell (see gt_svc.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "gt/gt_json.h"
#include "gt/gt_rpc.h"
#include "gt/gt_svc.h"
#include "gt/gt_time.h"
#include "gt/gt_version.h"

struct gt_svc {
	gt_svc_cfg cfg;
	int64_t    start_mono;
};

static void
detail_add(gt_svc_health *h, const char *key, gt_svc_detail_type t, const char *s, int64_t i)
{
	if (h->n >= GT_SVC_MAX_DETAILS)
		return;
	h->details[h->n].key = key;
	h->details[h->n].type = t;
	h->details[h->n].s = s ? s : "";
	h->details[h->n].i = i;
	h->n++;
}

void
gt_svc_health_str(gt_svc_health *h, const char *key, const char *v)
{
	detail_add(h, key, GT_SVC_STR, v, 0);
}

void
gt_svc_health_int(gt_svc_health *h, const char *key, int64_t v)
{
	detail_add(h, key, GT_SVC_INT, NULL, v);
}

void
gt_svc_health_bool(gt_svc_health *h, const char *key, int v)
{
	detail_add(h, key, GT_SVC_BOOL, NULL, v != 0);
}

gt_err
gt_svc_new(gt_svc **out, const gt_svc_cfg *cfg)
{
	gt_svc *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.service == NULL)
		s->cfg.service = "";
	s->start_mono = gt_mono_ns();
	*out = s;
	return GT_OK;
}

void
gt_svc_free(gt_svc *s)
{
	free(s);
}

double
gt_svc_uptime_seconds(const gt_svc *s)
{
	return (double)(gt_mono_ns() - s->start_mono) / 1e9;
}

static void
health_get(gt_svc *s, gt_svc_health *h)
{
	h->status = "ok";
	h->n = 0;
	if (s->cfg.health != NULL)
		s->cfg.health(s->cfg.arg, h);
}

/* The members every document starts with. */
static void
common_members(gt_svc *s, gt_buf *b, int *first)
{
	gt_json_key(b, first, "service");
	gt_json_cstr(b, s->cfg.service);
	gt_json_key(b, first, "version");
	gt_json_cstr(b, GT_VERSION);
	gt_json_key(b, first, "uptime_seconds");
	gt_json_dbl(b, gt_svc_uptime_seconds(s));
}

gt_err
gt_svc_health_json(gt_svc *s, gt_buf *b)
{
	gt_svc_health h;
	int           first = 1;
	size_t        i;

	health_get(s, &h);
	gt_buf_putc(b, '{');
	gt_json_key(b, &first, "status");
	gt_json_cstr(b, h.status);
	common_members(s, b, &first);
	for (i = 0; i < h.n; i++) {
		gt_json_key(b, &first, h.details[i].key);
		switch (h.details[i].type) {
		case GT_SVC_STR:
			gt_json_cstr(b, h.details[i].s);
			break;
		case GT_SVC_INT:
			gt_json_int(b, h.details[i].i);
			break;
		case GT_SVC_BOOL:
			gt_buf_puts(b, h.details[i].i ? "true" : "false");
			break;
		}
	}
	return gt_buf_putc(b, '}');
}

gt_err
gt_svc_stats_json(gt_svc *s, gt_buf *b)
{
	int    first = 1;
	gt_err rv;

	gt_buf_putc(b, '{');
	common_members(s, b, &first);
	gt_json_key(b, &first, "build");
	gt_buf_puts(b, "{\"type\":");
	gt_json_cstr(b, GT_BUILD_TYPE);
	gt_buf_puts(b, ",\"compiler\":");
	gt_json_cstr(b, GT_BUILD_COMPILER);
	gt_buf_putc(b, '}');
	if (s->cfg.stats != NULL && (rv = s->cfg.stats(s->cfg.arg, b, &first)) != GT_OK)
		return rv;
	return gt_buf_putc(b, '}');
}

/* ---- HTTP ---- */

static void
http_health(gt_http_req *req, void *arg)
{
	gt_buf b;

	gt_buf_init(&b);
	if (gt_svc_health_json(arg, &b) != GT_OK)
		gt_http_error(req, 500, "out of memory");
	else
		gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

static void
http_stats(gt_http_req *req, void *arg)
{
	gt_buf b;

	gt_buf_init(&b);
	if (gt_svc_stats_json(arg, &b) != GT_OK)
		gt_http_error(req, 500, "out of memory");
	else
		gt_http_reply_json(req, 200, &b);
	gt_buf_fini(&b);
}

static void
http_metrics(gt_http_req *req, void *arg)
{
	gt_svc *s = arg;
	gt_buf  b;

	gt_buf_init(&b);
	if (s->cfg.metrics != NULL && gt_metrics_prometheus(s->cfg.metrics, &b) != GT_OK)
		gt_http_error(req, 500, "out of memory");
	else
		gt_http_reply(req, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
	gt_buf_fini(&b);
}

gt_err
gt_svc_routes(gt_svc *s, gt_http *h)
{
	gt_err rv;

	/* with a token: /stats requires it, /health and /metrics (probes, scrapers) stay open */
	if ((rv = gt_http_route(h, "GET", "/health", http_health, s, GT_HTTP_OPEN)) != GT_OK ||
	    (rv = gt_http_route(h, "GET", "/stats", http_stats, s, 0)) != GT_OK)
		return rv;
	return gt_http_route(h, "GET", "/metrics", http_metrics, s, GT_HTTP_OPEN);
}

/* ---- RPC ---- */

void
gt_svc_rpc_health(gt_svc *s, Gtpb__V1__HealthResponse_Closure closure, void *cd)
{
	Gtpb__V1__HealthResponse               out = GTPB__V1__HEALTH_RESPONSE__INIT;
	Gtpb__V1__HealthResponse__DetailsEntry e[GT_SVC_MAX_DETAILS], *ep[GT_SVC_MAX_DETAILS];
	char                                   num[GT_SVC_MAX_DETAILS][24];
	gt_svc_health                          h;
	size_t                                 i;

	health_get(s, &h);
	for (i = 0; i < h.n; i++) {
		gtpb__v1__health_response__details_entry__init(&e[i]);
		e[i].key = (char *)h.details[i].key;
		switch (h.details[i].type) {
		case GT_SVC_STR:
			e[i].value = (char *)h.details[i].s;
			break;
		case GT_SVC_INT:
			snprintf(num[i], sizeof(num[i]), "%" PRId64, h.details[i].i);
			e[i].value = num[i];
			break;
		case GT_SVC_BOOL:
			e[i].value = h.details[i].i ? "true" : "false";
			break;
		}
		ep[i] = &e[i];
	}
	out.status = (char *)h.status;
	out.service = (char *)s->cfg.service;
	out.version = GT_VERSION;
	out.uptime_ns = gt_mono_ns() - s->start_mono;
	out.n_details = h.n;
	out.details = h.n ? ep : NULL;
	closure(&out, cd);
}

void
gt_svc_rpc_stats(gt_svc *s, Gtpb__V1__StatsResponse_Closure closure, void *cd)
{
	Gtpb__V1__StatsResponse out = GTPB__V1__STATS_RESPONSE__INIT;
	gt_buf                  b;

	gt_buf_init(&b);
	if (gt_svc_stats_json(s, &b) != GT_OK) {
		gt_buf_fini(&b);
		gt_rpc_fail(cd, GT_RPC_INTERNAL, "out of memory");
		closure(NULL, cd);
		return;
	}
	out.json = b.data;
	closure(&out, cd);
	gt_buf_fini(&b);
}
