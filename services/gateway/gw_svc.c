/* gw_svc.c - gtpb.v1.TelemetryService served by the gateway on --rpc-url, answered from the
 * collectors by scatter-gather, so a protobuf client needs one address. Handlers run on the
 * RPC server's workers and answer from the scatter-gather's completion (deferred). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_int.h"

static gw *
svc_gw(Gtpb__V1__TelemetryService_Service *svc)
{
	return (gw *)((char *)svc - offsetof(gw, svc));
}

typedef struct svc_call {
	ProtobufCClosure closure;
	void            *cd;
	size_t           limit;
	int              reverse;
} svc_call;

static svc_call *
call_new(ProtobufCClosure closure, void *cd)
{
	svc_call *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		gt_rpc_fail(cd, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, cd);
		return NULL;
	}
	c->closure = closure;
	c->cd = cd;
	return c;
}

/* Fails the call with the first error that is not NOT_FOUND, else NOT_FOUND. */
static void
call_fail(svc_call *c, gw_fan_res *res, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (res[i].code != GT_RPC_OK && res[i].code != GT_RPC_NOT_FOUND) {
			gt_rpc_fail(c->cd, res[i].code, "%s: %s: %s", what, res[i].dep->name,
			            res[i].msg);
			c->closure(NULL, c->cd);
			return;
		}
	gt_rpc_fail(c->cd, GT_RPC_NOT_FOUND, "%s: not found on any collector", what);
	c->closure(NULL, c->cd);
}

static void
start(gw *g, const char *method, const ProtobufCMessage *in, gw_fan_done done, svc_call *c)
{
	gw_dep *deps[GW_MAX_COLLECTORS];

	if (gw_fan(g, deps, gw_collectors(g, deps), &gtpb__v1__telemetry_service__descriptor,
	           method, in, 0, done, c) != GT_OK) {
		gt_rpc_fail(c->cd, GT_RPC_INTERNAL, "scatter-gather failed");
		c->closure(NULL, c->cd);
		free(c);
	}
}

static int
cmp_gi(const void *a, const void *b)
{
	return strcmp((*(Gtpb__V1__GpuInfo *const *)a)->gpu_key,
	              (*(Gtpb__V1__GpuInfo *const *)b)->gpu_key);
}

static void
list_done(void *arg, gw_fan_res *res, size_t n)
{
	svc_call                  *c = arg;
	Gtpb__V1__ListGpusResponse out = GTPB__V1__LIST_GPUS_RESPONSE__INIT;
	Gtpb__V1__GpuInfo        **v;
	size_t                     i, k, total = 0, m = 0, ok = 0;

	for (i = 0; i < n; i++)
		if (res[i].code == GT_RPC_OK) {
			ok++;
			total += ((Gtpb__V1__ListGpusResponse *)res[i].out)->n_gpus;
		}
	if (ok == 0) {
		call_fail(c, res, n, "ListGpus");
		free(c);
		return;
	}
	if ((v = malloc((total ? total : 1) * sizeof(*v))) == NULL) {
		gt_rpc_fail(c->cd, GT_RPC_RESOURCE_EXHAUSTED, "out of memory");
		c->closure(NULL, c->cd);
		free(c);
		return;
	}
	for (i = 0; i < n; i++)
		if (res[i].code == GT_RPC_OK) {
			Gtpb__V1__ListGpusResponse *r = (void *)res[i].out;

			for (k = 0; k < r->n_gpus; k++)
				v[m++] = r->gpus[k];
		}
	qsort(v, m, sizeof(*v), cmp_gi);
	for (i = 0, k = 0; i < m; i++) {
		if (k > 0 && strcmp(v[k - 1]->gpu_key, v[i]->gpu_key) == 0) {
			v[k - 1]->records += v[i]->records;
			if (v[i]->last_seen_ns > v[k - 1]->last_seen_ns) {
				uint64_t rec = v[k - 1]->records;

				v[k - 1] = v[i];
				v[k - 1]->records = rec;
			}
			continue;
		}
		v[k++] = v[i];
	}
	out.gpus = v;
	out.n_gpus = k;
	c->closure(&out.base, c->cd);
	free(v);
	free(c);
}

static void
r_list_gpus(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__ListGpusRequest *in,
            Gtpb__V1__ListGpusResponse_Closure closure, void *cd)
{
	svc_call *c = call_new((ProtobufCClosure)closure, cd);

	if (c != NULL)
		start(svc_gw(svc), "ListGpus", &in->base, list_done, c);
}

static void
tel_done(void *arg, gw_fan_res *res, size_t n)
{
	svc_call                      *c = arg;
	Gtpb__V1__GetTelemetryResponse out = GTPB__V1__GET_TELEMETRY_RESPONSE__INIT;
	Gtpb__V1__TelemetryRecord    **recs = NULL;
	size_t                         nr = 0;
	int                            truncated = 0, st;

	st = gw_tel_merge(res, n, c->limit, c->reverse, &recs, &nr, &truncated);
	if (st != 200) {
		call_fail(c, res, n, "GetTelemetry");
	} else {
		out.records = recs;
		out.n_records = nr;
		out.truncated = truncated;
		c->closure(&out.base, c->cd);
	}
	free(recs);
	free(c);
}

static void
r_get_telemetry(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__GetTelemetryRequest *in,
                Gtpb__V1__GetTelemetryResponse_Closure closure, void *cd)
{
	svc_call *c;

	if (in->gpu == NULL || *in->gpu == '\0') {
		gt_rpc_fail(cd, GT_RPC_INVALID_ARGUMENT, "gpu is required");
		closure(NULL, cd);
		return;
	}
	if ((c = call_new((ProtobufCClosure)closure, cd)) == NULL)
		return;
	c->limit = in->limit ? in->limit : 100;
	c->reverse = in->reverse;
	start(svc_gw(svc), "GetTelemetry", &in->base, tel_done, c);
}

static int
cmp_pt(const void *a, const void *b)
{
	const Gtpb__V1__AggregatePoint *x = *(const Gtpb__V1__AggregatePoint *const *)a,
	                               *y = *(const Gtpb__V1__AggregatePoint *const *)b;

	return x->t_ns < y->t_ns ? -1 : x->t_ns > y->t_ns;
}

static void
agg_done(void *arg, gw_fan_res *res, size_t n)
{
	svc_call                   *c = arg;
	Gtpb__V1__AggregateResponse out = GTPB__V1__AGGREGATE_RESPONSE__INIT;
	Gtpb__V1__AggregatePoint  **v;
	size_t                      i, k, total = 0, m = 0, ok = 0;

	for (i = 0; i < n; i++)
		if (res[i].code == GT_RPC_OK) {
			ok++;
			total += ((Gtpb__V1__AggregateResponse *)res[i].out)->n_points;
		}
	if (ok == 0 || (v = malloc((total ? total : 1) * sizeof(*v))) == NULL) {
		call_fail(c, res, n, "Aggregate");
		free(c);
		return;
	}
	for (i = 0; i < n; i++)
		if (res[i].code == GT_RPC_OK) {
			Gtpb__V1__AggregateResponse *r = (void *)res[i].out;

			for (k = 0; k < r->n_points; k++)
				v[m++] = r->points[k];
		}
	qsort(v, m, sizeof(*v), cmp_pt);
	out.points = v;
	out.n_points = m;
	c->closure(&out.base, c->cd);
	free(v);
	free(c);
}

static void
r_aggregate(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__AggregateRequest *in,
            Gtpb__V1__AggregateResponse_Closure closure, void *cd)
{
	svc_call *c = call_new((ProtobufCClosure)closure, cd);

	if (c != NULL)
		start(svc_gw(svc), "Aggregate", &in->base, agg_done, c);
}

static void
r_stats(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__StatsRequest *in,
        Gtpb__V1__StatsResponse_Closure closure, void *cd)
{
	(void)in;
	gt_svc_rpc_stats(svc_gw(svc)->shell, closure, cd);
}

static void
r_health(Gtpb__V1__TelemetryService_Service *svc, const Gtpb__V1__HealthRequest *in,
         Gtpb__V1__HealthResponse_Closure closure, void *cd)
{
	(void)in;
	gt_svc_rpc_health(svc_gw(svc)->shell, closure, cd);
}

void
gw_svc_init(gw *g)
{
	g->svc = (Gtpb__V1__TelemetryService_Service)GTPB__V1__TELEMETRY_SERVICE__INIT(r_);
}
