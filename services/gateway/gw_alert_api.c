/* gw_alert_api.c - the gateway's side of alerts: the engine fed by the live feed, the timer
 * thread (for expiry, staleness, SIGHUP reload, long-poll answers), and the outputs: WebSocket
 * frames to every client, the webhook, GET /api/v1/alerts and /api/v1/alerts/history,
 * /metrics, and the AlertService RPC.
 *
 * Threads: records arrive on nng callback threads (gw_alerts_record), the timer thread ticks,
 * REST runs on the lws thread, RPC on its workers. The engine's emit callback runs under the
 * engine lock and only broadcasts, queues the webhook body and wakes the timer thread (lock
 * order: engine -> gw_alerts.mu -> hook). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_query.h"
#include "gt/gt_time.h"
#include "gw_alert.h"
#include "gw_int.h"

#define TICK_NS (250 * GT_NS_PER_MS)
#define MAX_WAITERS 32
#define HISTORY_LIMIT_DEFAULT 100
#define HISTORY_LIMIT_MAX 1000
#define HOOK_QUEUE 10000

typedef struct waiter {
	Gtpb__V1__ListAlertsResponse_Closure closure;
	void                                *cd;
	uint64_t                             after;
	size_t                               limit;
	int64_t                              deadline; /* monotonic */
} waiter;

struct gw_alerts {
	gw              *g;
	gw_alert_engine *e;
	gw_alert_hook   *hook;
	pthread_mutex_t  mu; /* waiters, changed, stopping */
	pthread_cond_t   cv; /* CLOCK_MONOTONIC */
	waiter           w[MAX_WAITERS];
	size_t           nw;
	int              changed, stopping, up;
	pthread_t        thr;
	/* the last SIGHUP reload (under mu): wall-clock time (0 = none yet), result, error */
	int64_t     reload_ns;
	const char *reload_result; /* "ok", "failed", "skipped" */
	char        reload_err[512];
};

static volatile sig_atomic_t hup;

static void
on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

/* ---- changes ---- */

static void
emit(void *arg, const gw_alert *a)
{
	gw_alerts *al = arg;
	gt_buf     b;

	gt_buf_init(&b);
	gw_alert_json(&b, a);
	gw_alert_hook_push(al->hook, b.data, b.len);
	gt_buf_reset(&b);
	gt_buf_puts(&b, "{\"type\":\"alert\",");
	{
		gt_buf j;

		gt_buf_init(&j);
		gw_alert_json(&j, a);
		gt_buf_append(&b, j.data + 1, j.len - 1);
		gt_buf_fini(&j);
	}
	if (al->g->http != NULL)
		gt_http_ws_broadcast(al->g->http, NULL, b.data, b.len);
	gt_buf_fini(&b);
	GT_LOGI("alert.change", GT_KV_STR("rule", a->rule),
	        GT_KV_STR("state", gw_alert_state_name(a->state)), GT_KV_STR("gpu", a->gpu),
	        GT_KV_STR("message", a->message));
	pthread_mutex_lock(&al->mu);
	al->changed = 1;
	pthread_cond_signal(&al->cv);
	pthread_mutex_unlock(&al->mu);
}

/* The current alerts to every client: after a pending alert went away without a change of
 * its own, so that clients drop it. */
static void
broadcast_snapshot(gw_alerts *al)
{
	gw_alert_list l;
	gt_buf        b;

	if (al->g->http == NULL || gw_alert_engine_current(al->e, NULL, &l) != GT_OK)
		return;
	gt_buf_init(&b);
	gw_alert_list_json(&b, &l, 0, "\"type\":\"alerts\",");
	gt_http_ws_broadcast(al->g->http, NULL, b.data, b.len);
	gt_buf_fini(&b);
	gw_alert_list_fini(&l);
}

static void
after(gw_alerts *al, int res)
{
	if (res > 0 && (res & GW_AR_DROPPED))
		broadcast_snapshot(al);
}

void
gw_alerts_record(gw_alerts *al, const Gtpb__V1__TelemetryRecord *r, int64_t now)
{
	const char  *names[128];
	double       vals[128];
	gw_alert_rec ar;
	size_t       i;

	if (al == NULL)
		return;
	for (i = 0; i < r->n_metrics && i < 128; i++) {
		names[i] = r->metrics[i]->key ? r->metrics[i]->key : "";
		vals[i] = r->metrics[i]->value;
	}
	ar.gpu = r->gpu_key;
	ar.uuid = r->uuid;
	ar.hostname = r->hostname;
	ar.names = names;
	ar.values = vals;
	ar.n = i;
	after(al, gw_alert_engine_record(al->e, &ar, now));
}

void
gw_alerts_ws_open(gw_alerts *al, uint64_t id)
{
	gw_alert_list l;
	gt_buf        b;

	if (al == NULL || gw_alert_engine_current(al->e, NULL, &l) != GT_OK)
		return;
	gt_buf_init(&b);
	gw_alert_list_json(&b, &l, 0, "\"type\":\"alerts\",");
	gt_http_ws_send(al->g->http, id, b.data, b.len);
	gt_buf_fini(&b);
	gw_alert_list_fini(&l);
}

void
gw_alerts_prometheus(gw_alerts *al, gt_buf *b)
{
	if (al == NULL)
		return;
	gw_alert_engine_prometheus(al->e, b);
	gt_buf_printf(b,
	              "# HELP gt_alert_webhook_failures_total Alert webhook POSTs that failed "
	              "(each attempt).\n# TYPE gt_alert_webhook_failures_total counter\n"
	              "gt_alert_webhook_failures_total %" PRIu64 "\n",
	              gw_alert_hook_failures(al->hook));
}

/* ---- /stats ---- */

void
gw_alerts_stats_json(gw_alerts *al, gt_buf *b)
{
	gw_alert_counts     c;
	gw_alert_hook_stats h;
	gw_alert_hook      *hook;
	int64_t             rns;
	const char         *res;
	char                err[512], ts[40];

	if (al == NULL) {
		gt_buf_puts(b, "null");
		return;
	}
	gw_alert_engine_counts(al->e, &c);
	pthread_mutex_lock(&al->mu); /* the hook is set under mu: the RPC server answers Stats
	                              * before gw_alerts_start */
	hook = al->hook;
	rns = al->reload_ns;
	res = al->reload_result;
	memcpy(err, al->reload_err, sizeof(err));
	pthread_mutex_unlock(&al->mu);
	gw_alert_hook_stats_get(hook, &h);
	gt_buf_printf(b,
	              "{\"rules\":%zu,\"firing\":%" PRIu32 ",\"pending\":%" PRIu32
	              ",\"changes_total\":%" PRIu64 ",\"webhook\":{\"enabled\":%s,\"sent\":%" PRIu64
	              ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"queued\":%" PRIu64
	              "},\"last_reload\":",
	              c.rules, c.firing, c.pending, c.changes, hook ? "true" : "false", h.sent,
	              h.failed, h.dropped, h.queued);
	if (rns == 0) {
		gt_buf_puts(b, "null}");
		return;
	}
	gt_rfc3339_format(rns, 3, ts, sizeof(ts));
	gt_buf_puts(b, "{\"time\":");
	gt_json_cstr(b, ts);
	gt_buf_puts(b, ",\"result\":");
	gt_json_cstr(b, res);
	if (*err) {
		gt_buf_puts(b, ",\"error\":");
		gt_json_cstr(b, err);
	}
	gt_buf_puts(b, "}}");
}

/* ---- protobuf answers ---- */

static void
to_pb(Gtpb__V1__Alert *p, const gw_alert *a)
{
	gtpb__v1__alert__init(p);
	p->seq = a->seq;
	p->rule = a->rule;
	p->kind = (char *)gw_alert_kind_name(a->kind);
	p->state = (char *)gw_alert_state_name(a->state);
	p->severity = (char *)gw_alert_sev_name(a->severity);
	p->gpu = a->gpu;
	p->uuid = a->uuid;
	p->hostname = a->hostname;
	p->metric = a->metric;
	p->op = a->has_threshold ? (char *)gw_alert_op_name(a->op) : "";
	p->threshold = a->has_threshold ? a->threshold : 0;
	p->value = a->has_value ? a->value : 0;
	p->since_ns = a->since_ns;
	p->active_since_ns = a->active_since_ns;
	p->message = a->message;
}

/* Fills out from l (borrowing its strings); *mem to free after use. */
static gt_err
list_pb(Gtpb__V1__ListAlertsResponse *out, const gw_alert_list *l, void **mem)
{
	Gtpb__V1__Alert  *v = calloc(l->n + 1, sizeof(*v));
	Gtpb__V1__Alert **pv = calloc(l->n + 1, sizeof(*pv));
	size_t            i;

	if (v == NULL || pv == NULL) {
		free(v);
		free(pv);
		return GT_ENOMEM;
	}
	gtpb__v1__list_alerts_response__init(out);
	for (i = 0; i < l->n; i++) {
		to_pb(&v[i], &l->v[i]);
		pv[i] = &v[i];
	}
	pv[l->n] = (Gtpb__V1__Alert *)v; /* keeps v reachable for free */
	out->alerts = pv;
	out->n_alerts = l->n;
	out->last_seq = l->last_seq;
	out->firing = l->firing;
	out->pending = l->pending;
	*mem = pv;
	return GT_OK;
}

static void
list_pb_free(void *mem, size_t n)
{
	Gtpb__V1__Alert **pv = mem;

	if (pv == NULL)
		return;
	free(pv[n]);
	free(pv);
}

static void
answer(gw_alerts *al, Gtpb__V1__ListAlertsResponse_Closure closure, void *cd, int history,
       uint64_t after_seq, size_t limit)
{
	gw_alert_list                l;
	Gtpb__V1__ListAlertsResponse out;
	void                        *mem = NULL;
	gt_err                       rv;

	rv = history ? gw_alert_engine_history(al->e, after_seq, limit, &l)
	             : gw_alert_engine_current(al->e, NULL, &l);
	if (rv == GT_OK && (rv = list_pb(&out, &l, &mem)) != GT_OK)
		gw_alert_list_fini(&l);
	if (rv != GT_OK) {
		gt_rpc_fail(cd, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cd);
		return;
	}
	closure(&out, cd);
	list_pb_free(mem, l.n);
	gw_alert_list_fini(&l);
}

static gw *
asvc_gw(Gtpb__V1__AlertService_Service *svc)
{
	return (gw *)((char *)svc - offsetof(gw, asvc));
}

static void
r_list_alerts(Gtpb__V1__AlertService_Service *svc, const Gtpb__V1__ListAlertsRequest *in,
              Gtpb__V1__ListAlertsResponse_Closure closure, void *cd)
{
	gw        *g = asvc_gw(svc);
	gw_alerts *al = g->alerts;
	size_t     limit = in->limit ? in->limit : HISTORY_LIMIT_DEFAULT;

	if (limit > HISTORY_LIMIT_MAX)
		limit = HISTORY_LIMIT_MAX;
	if (in->history && in->wait_ms > 0 && gw_alert_engine_last_seq(al->e) <= in->after_seq) {
		int64_t wait = (int64_t)in->wait_ms * GT_NS_PER_MS,
		        left = gt_rpc_deadline_left_ns(cd);

		if (wait > 60 * GT_NS_PER_S)
			wait = 60 * GT_NS_PER_S;
		if (left < wait + 200 * GT_NS_PER_MS)
			wait = left - 200 * GT_NS_PER_MS;
		pthread_mutex_lock(&al->mu);
		if (wait > 0 && al->nw < MAX_WAITERS && !al->stopping) {
			waiter *w = &al->w[al->nw++];

			w->closure = closure;
			w->cd = cd;
			w->after = in->after_seq;
			w->limit = limit;
			w->deadline = gt_mono_ns() + wait;
			al->changed =
			    1; /* the thread rechecks (a change may have come meanwhile) */
			pthread_cond_signal(&al->cv);
			pthread_mutex_unlock(&al->mu);
			return;
		}
		pthread_mutex_unlock(&al->mu);
	}
	answer(al, closure, cd, in->history, in->after_seq, limit);
}

void
gw_alerts_svc_init(gw *g)
{
	g->asvc = (Gtpb__V1__AlertService_Service)GTPB__V1__ALERT_SERVICE__INIT(r_);
}

/* Answers the waiters that have something, timed out, or whose caller left (all of them when
 * stopping). */
static void
serve_waiters(gw_alerts *al, int all)
{
	waiter   ready[MAX_WAITERS];
	size_t   n = 0, i, k = 0;
	uint64_t last = gw_alert_engine_last_seq(al->e);
	int64_t  now = gt_mono_ns();

	pthread_mutex_lock(&al->mu);
	for (i = 0; i < al->nw; i++) {
		waiter *w = &al->w[i];

		if (all || last > w->after || now >= w->deadline || gt_rpc_cancelled(w->cd))
			ready[n++] = *w;
		else
			al->w[k++] = *w;
	}
	al->nw = k;
	pthread_mutex_unlock(&al->mu);
	for (i = 0; i < n; i++)
		answer(al, ready[i].closure, ready[i].cd, 1, ready[i].after, ready[i].limit);
}

/* ---- the timer thread ---- */

static void
reload_done(gw_alerts *al, const char *result, const char *err)
{
	pthread_mutex_lock(&al->mu);
	al->reload_ns = gt_now_ns();
	al->reload_result = result;
	snprintf(al->reload_err, sizeof(al->reload_err), "%s", err ? err : "");
	pthread_mutex_unlock(&al->mu);
}

static void
reload(gw_alerts *al)
{
	gw_alert_rules *r = NULL;
	char            err[512];
	int             res;

	if (al->g->cfg->alert_rules == NULL || *al->g->cfg->alert_rules == '\0') {
		GT_LOGI("alert.reload_skipped", GT_KV_STR("reason", "no --alert-rules"));
		reload_done(al, "skipped", "no --alert-rules");
		return;
	}
	if (gw_alert_rules_load(al->g->cfg->alert_rules, &r, err, sizeof(err)) != GT_OK) {
		GT_LOGE("alert.reload_failed", GT_KV_STR("file", al->g->cfg->alert_rules),
		        GT_KV_STR("error", err));
		reload_done(al, "failed", err);
		return;
	}
	{
		size_t n = r->n;

		res = gw_alert_engine_set_rules(al->e, r, gt_now_ns());
		if (res < 0) {
			GT_LOGE("alert.reload_failed", GT_KV_STR("file", al->g->cfg->alert_rules),
			        GT_KV_STR("error", "out of memory"));
			reload_done(al, "failed", "out of memory");
			return;
		}
		GT_LOGI("alert.reloaded", GT_KV_STR("file", al->g->cfg->alert_rules),
		        GT_KV_UINT("rules", n));
	}
	reload_done(al, "ok", NULL);
	after(al, res);
}

static void *
alert_thread(void *arg)
{
	gw_alerts *al = arg;
	int64_t    next = gt_mono_ns() + TICK_NS;

	for (;;) {
		struct timespec ts;
		int             stop;

		pthread_mutex_lock(&al->mu);
		while (!al->stopping && !al->changed && !hup && gt_mono_ns() < next) {
			int64_t w = al->nw > 0 ? gt_mono_ns() + 50 * GT_NS_PER_MS : next;

			if (w > next)
				w = next;
			ts.tv_sec = w / GT_NS_PER_S;
			ts.tv_nsec = w % GT_NS_PER_S;
			pthread_cond_timedwait(&al->cv, &al->mu, &ts);
			if (al->nw > 0)
				break; /* waiters: check deadlines and cancellations often */
		}
		stop = al->stopping;
		al->changed = 0;
		pthread_mutex_unlock(&al->mu);
		if (stop)
			break;
		if (hup) {
			hup = 0;
			reload(al);
		}
		if (gt_mono_ns() >= next) {
			after(al, gw_alert_engine_tick(al->e, gt_now_ns()));
			next = gt_mono_ns() + TICK_NS;
		}
		serve_waiters(al, 0);
	}
	serve_waiters(al, 1);
	return NULL;
}

/* ---- REST ---- */

static void
reply_list(gw_req *q, const gw_alert_list *l, int history)
{
	if (q->pb) {
		Gtpb__V1__ListAlertsResponse out;
		void                        *mem = NULL;

		if (list_pb(&out, l, &mem) != GT_OK) {
			gw_error(q, 500, "out of memory");
			return;
		}
		gw_reply_pb(q, &out.base, 0);
		list_pb_free(mem, l->n);
	} else {
		gt_buf b;

		gt_buf_init(&b);
		gw_alert_list_json(&b, l, history, NULL);
		gw_reply_json(q, 200, &b, 0);
		gt_buf_fini(&b);
	}
}

static void
h_alerts(gt_http_req *req, void *arg)
{
	gw             *g = arg;
	gw_req         *q = gw_req_begin(g, req, GW_R_ALERTS, NULL);
	gw_alert_filter f = {.state = -1, .severity = -1};
	gw_alert_list   l;
	const char     *v;

	if (q == NULL)
		return;
	if ((v = gt_http_req_query(req, "state")) != NULL) {
		if (strcmp(v, "firing") == 0)
			f.state = GW_AS_FIRING;
		else if (strcmp(v, "pending") == 0)
			f.state = GW_AS_PENDING;
		else {
			gw_error(q, 400, "invalid parameter state: want firing or pending");
			return;
		}
	}
	if ((v = gt_http_req_query(req, "severity")) != NULL &&
	    (f.severity = gw_alert_sev_parse(v)) < 0) {
		gw_error(q, 400, "invalid parameter severity: want warning, critical or info");
		return;
	}
	f.gpu = gt_http_req_query(req, "gpu");
	f.host = gt_http_req_query(req, "host");
	if (gw_alert_engine_current(g->alerts->e, &f, &l) != GT_OK) {
		gw_error(q, 500, "out of memory");
		return;
	}
	reply_list(q, &l, 0);
	gw_alert_list_fini(&l);
}

static void
h_history(gt_http_req *req, void *arg)
{
	gw           *g = arg;
	gw_req       *q = gw_req_begin(g, req, GW_R_ALERTS_HISTORY, NULL);
	gw_alert_list l;
	const char   *v;
	uint64_t      after_seq = 0, limit = HISTORY_LIMIT_DEFAULT;
	char          msg[160];

	if (q == NULL)
		return;
	if ((v = gt_http_req_query(req, "after_seq")) != NULL &&
	    gt_query_uint("after_seq", v, 0, UINT64_MAX, &after_seq, msg, sizeof(msg)) != GT_OK) {
		gw_error(q, 400, "%s", msg);
		return;
	}
	if ((v = gt_http_req_query(req, "limit")) != NULL &&
	    gt_query_uint("limit", v, 1, HISTORY_LIMIT_MAX, &limit, msg, sizeof(msg)) != GT_OK) {
		gw_error(q, 400, "%s", msg);
		return;
	}
	if (gw_alert_engine_history(g->alerts->e, after_seq, (size_t)limit, &l) != GT_OK) {
		gw_error(q, 500, "out of memory");
		return;
	}
	reply_list(q, &l, 1);
	gw_alert_list_fini(&l);
}

gt_err
gw_alerts_routes(gw *g)
{
	gt_err rv;

	if ((rv = gt_http_route(g->http, "GET", "/api/v1/alerts", h_alerts, g, GT_HTTP_ADMIN)) !=
	        GT_OK ||
	    (rv = gt_http_route(g->http, "GET", "/api/v1/alerts/history", h_history, g,
	                        GT_HTTP_ADMIN)) != GT_OK)
		return rv;
	return GT_OK;
}

/* ---- lifecycle ---- */

gt_err
gw_alerts_new(gw_alerts **out, gw *g)
{
	const gw_config   *cfg = g->cfg;
	gw_alerts         *al;
	gw_alert_rules    *rules = NULL;
	pthread_condattr_t ca;
	char               err[512];
	gt_err             rv;

	if (cfg->alert_rules && *cfg->alert_rules &&
	    gw_alert_rules_load(cfg->alert_rules, &rules, err, sizeof(err)) != GT_OK) {
		fprintf(stderr, "gt-gateway: --alert-rules %s\n", err);
		return GT_EINVAL;
	}
	if ((al = calloc(1, sizeof(*al))) == NULL) {
		gw_alert_rules_free(rules);
		return GT_ENOMEM;
	}
	al->g = g;
	if ((rv = gw_alert_engine_new(&al->e, cfg->stale_after, (size_t)cfg->alert_history, rules,
	                              emit, al)) != GT_OK) {
		gw_alert_rules_free(rules);
		free(al);
		return rv;
	}
	pthread_mutex_init(&al->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&al->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = al;
	return GT_OK;
}

gt_err
gw_alerts_start(gw_alerts *al)
{
	const gw_config *cfg = al->g->cfg;
	struct sigaction sa;
	gw_alert_hook   *hook = NULL;
	gt_err           rv;
	int              err;

	if (cfg->alert_webhook && *cfg->alert_webhook &&
	    (rv = gw_alert_hook_start(&hook, cfg->alert_webhook, HOOK_QUEUE)) != GT_OK)
		return rv;
	pthread_mutex_lock(&al->mu);
	al->hook = hook;
	pthread_mutex_unlock(&al->mu);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	if ((err = pthread_create(&al->thr, NULL, alert_thread, al)) != 0)
		return gt_err_from_errno(err);
	al->up = 1;
	return GT_OK;
}

void
gw_alerts_stop(gw_alerts *al)
{
	if (al == NULL)
		return;
	pthread_mutex_lock(&al->mu);
	al->stopping = 1;
	pthread_cond_broadcast(&al->cv);
	pthread_mutex_unlock(&al->mu);
	if (al->up) {
		pthread_join(al->thr, NULL);
		al->up = 0;
	} else {
		serve_waiters(al, 1);
	}
}

void
gw_alerts_free(gw_alerts *al)
{
	if (al == NULL)
		return;
	gw_alerts_stop(al);
	gw_alert_hook_stop(al->hook);
	gw_alert_engine_free(al->e);
	pthread_cond_destroy(&al->cv);
	pthread_mutex_destroy(&al->mu);
	free(al);
}
