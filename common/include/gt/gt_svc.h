/* gt_svc.h - the service shell every service shares: GET /health, /stats, /metrics on a
 * gt_http, the Health and Stats RPC answers, the version and the uptime, written once so the
 * services agree on field names.
 *
 * /health and the Health RPC: {"status", "service", "version", "uptime_seconds" (float),
 * then the service's details}; the RPC carries the same, uptime as uptime_ns and the details
 * as strings. /stats and the Stats RPC (json): {"service", "version", "build",
 * "uptime_seconds", then the members the service's stats callback writes}. /metrics: the
 * service's gt_metrics in Prometheus text.
 *
 * The callbacks run on the HTTP service thread and on RPC worker threads, possibly at the
 * same time: they must be thread-safe. gt_svc_new/free on the owner's thread; the rest on any
 * thread while the svc lives. */
#ifndef GT_SVC_H
#define GT_SVC_H

#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gt/gt_http.h"
#include "gt/gt_metrics.h"
#include "gtpb/v1/rpc.pb-c.h"

typedef struct gt_svc gt_svc;

enum { GT_SVC_MAX_DETAILS = 8 };

typedef enum gt_svc_detail_type { GT_SVC_STR, GT_SVC_INT, GT_SVC_BOOL } gt_svc_detail_type;

/* What the health callback fills in. status starts as "ok". */
typedef struct gt_svc_health {
	const char *status; /* "ok" | "degraded" | "down" (static strings) */
	size_t      n;
	struct {
		const char        *key;
		gt_svc_detail_type type;
		const char        *s; /* GT_SVC_STR: borrowed until the answer is built */
		int64_t            i; /* GT_SVC_INT; GT_SVC_BOOL (0/1) */
	} details[GT_SVC_MAX_DETAILS];
} gt_svc_health;

/* Add a detail (ignored past GT_SVC_MAX_DETAILS). */
void gt_svc_health_str(gt_svc_health *h, const char *key, const char *v);
void gt_svc_health_int(gt_svc_health *h, const char *key, int64_t v);
void gt_svc_health_bool(gt_svc_health *h, const char *key, int v);

typedef struct gt_svc_cfg {
	const char *service; /* "mq", "collector", ... (static) */
	gt_metrics *metrics; /* borrowed; NULL: /metrics is empty */
	/* health: may be NULL (always "ok", no details) */
	void (*health)(void *arg, gt_svc_health *h);
	/* stats: appends the service's members to the open /stats object (gt_json_key(b, first,
	 * ...) before each); may be NULL. */
	gt_err (*stats)(void *arg, gt_buf *b, int *first);
	void *arg;
} gt_svc_cfg;

/* gt_svc_new starts the uptime clock. cfg is copied. */
gt_err gt_svc_new(gt_svc **out, const gt_svc_cfg *cfg);
/* Accepts NULL. The routes of gt_svc_routes must be gone (their gt_http freed) first. */
void gt_svc_free(gt_svc *s);

/* gt_svc_routes registers GET /health, /stats and /metrics on h (before gt_http_start). With
 * the gt_http's token set, /stats requires it; /health and /metrics are GT_HTTP_OPEN. */
gt_err gt_svc_routes(gt_svc *s, gt_http *h);

/* Seconds since gt_svc_new (monotonic clock). */
double gt_svc_uptime_seconds(const gt_svc *s);
/* The /health and /stats documents, appended to b. */
gt_err gt_svc_health_json(gt_svc *s, gt_buf *b);
gt_err gt_svc_stats_json(gt_svc *s, gt_buf *b);

/* The Health and Stats RPC answers: call from the service's handler; each calls closure
 * exactly once (with NULL and an RPC error on out-of-memory). */
void gt_svc_rpc_health(gt_svc *s, Gtpb__V1__HealthResponse_Closure closure, void *cd);
void gt_svc_rpc_stats(gt_svc *s, Gtpb__V1__StatsResponse_Closure closure, void *cd);

#endif
