/* ctl_cmd_health.c - `gtctl health [COMPONENT...]` and `gtctl stats [COMPONENT]`: the same
 * Health/Stats RPC asked of every component (broker, collector, streamer, gateway). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_svc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gtpb/v1/streamer.pb-c.h"

static const char *const comp_names[] = {"mq", "collector", "streamer", "gateway"};

int
ctl_svc_lookup(const ctl_ctx *c, const char *name, ctl_svc *out)
{
	out->name = name;
	if (strcmp(name, "mq") == 0) {
		out->url = c->mq_url;
		out->desc = &gtpb__v1__message_queue__descriptor;
	} else if (strcmp(name, "collector") == 0) {
		out->url = c->collector_url;
		out->desc = &gtpb__v1__telemetry_service__descriptor;
	} else if (strcmp(name, "streamer") == 0) {
		out->url = c->streamer_url;
		out->desc = &gtpb__v1__streamer__descriptor;
	} else if (strcmp(name, "gateway") == 0) {
		out->url = c->gateway_url ? c->gateway_url : c->gateway_dflt;
		out->desc = &gtpb__v1__telemetry_service__descriptor;
	} else
		return -1;
	return 0;
}

int
ctl_svc_health(ctl_ctx *c, const ctl_svc *s, json_t **row)
{
	Gtpb__V1__HealthRequest   in = GTPB__V1__HEALTH_REQUEST__INIT;
	Gtpb__V1__HealthResponse *out = NULL;
	char                      why[GT_RPC_MSG_MAX], age[32];
	int64_t                   t0 = gt_mono_ns();
	int                       rc;
	json_t                   *o = json_object();

	rc = ctl_call(c, s->url, s->desc, "Health", &in.base, (ProtobufCMessage **)&out, 1, why);
	json_object_set_new(o, "component", json_string(s->name));
	json_object_set_new(o, "url", json_string(s->url));
	if (rc == CTL_EXIT_OK) {
		json_t *det = json_object();

		json_object_set_new(o, "status", json_string(out->status ? out->status : "?"));
		json_object_set_new(o, "version", json_string(out->version ? out->version : ""));
		json_object_set_new(o, "uptime",
		                    json_string(ctl_age(out->uptime_ns, age, sizeof(age))));
		json_object_set_new(o, "uptime_seconds", json_real((double)out->uptime_ns / 1e9));
		json_object_set_new(o, "latency_ms", json_real((double)(gt_mono_ns() - t0) / 1e6));
		for (size_t i = 0; i < out->n_details; i++)
			json_object_set_new(det, out->details[i]->key,
			                    json_string(out->details[i]->value));
		json_object_set_new(o, "details", det);
		json_object_set_new(o, "error", json_null());
		protobuf_c_message_free_unpacked(&out->base, NULL);
	} else {
		json_object_set_new(o, "status",
		                    json_string(rc == CTL_EXIT_UNREACHABLE ? "down" : "error"));
		json_object_set_new(o, "version", json_null());
		json_object_set_new(o, "uptime", json_null());
		json_object_set_new(o, "uptime_seconds", json_null());
		json_object_set_new(o, "latency_ms", json_null());
		json_object_set_new(o, "details", json_object());
		json_object_set_new(o, "error", json_string(why));
	}
	*row = o;
	return rc;
}

int
ctl_cmd_health(ctl_ctx *c)
{
	static const ctl_col cols[] = {
	    {"component", "COMPONENT"}, {"status", "STATUS"},         {"version", "VERSION"},
	    {"uptime", "UPTIME"},       {"latency_ms", "LATENCY_MS"}, {"url", "URL"},
	    {"error", "ERROR"}};
	json_t *rows = json_array();
	int     n = 0, down = 0, bad = 0, remote = 0;
	size_t  i;

	for (i = 0; i < (size_t)(c->argc ? c->argc : 4); i++) {
		const char *name = c->argc ? c->argv[i] : comp_names[i];
		ctl_svc     s;
		json_t     *row;
		int         rc;

		if (ctl_svc_lookup(c, name, &s) != 0) {
			json_decref(rows);
			return ctl_usage_error(
			    c, "unknown component '%s' (mq, collector, streamer, gateway)", name);
		}
		rc = ctl_svc_health(c, &s, &row);
		n++;
		if (rc == CTL_EXIT_UNREACHABLE)
			down++;
		else if (rc != CTL_EXIT_OK)
			remote++;
		else if (strcmp(json_string_value(json_object_get(row, "status")), "ok") != 0)
			bad++;
		json_array_append_new(rows, row);
	}
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	if (remote) {
		/* a component refused the call (a wrong token, say): a remote error, not ill health
		 */
		json_t *row;

		json_array_foreach(rows, i, row)
		{
			if (strcmp(json_string_value(json_object_get(row, "status")), "error") == 0)
				fprintf(stderr, "gtctl health: %s %s: %s\n",
				        json_string_value(json_object_get(row, "component")),
				        json_string_value(json_object_get(row, "url")),
				        json_string_value(json_object_get(row, "error")));
		}
		json_decref(rows);
		return CTL_EXIT_REMOTE;
	}
	json_decref(rows);
	if (down == n)
		return CTL_EXIT_UNREACHABLE;
	return down || bad || remote ? CTL_EXIT_UNHEALTHY : CTL_EXIT_OK;
}

int
ctl_svc_stats(ctl_ctx *c, const ctl_svc *s, json_t **doc, int quiet)
{
	Gtpb__V1__StatsRequest   in = GTPB__V1__STATS_REQUEST__INIT;
	Gtpb__V1__StatsResponse *out = NULL;
	json_error_t             jerr;
	int                      rc;

	*doc = NULL;
	rc =
	    ctl_call(c, s->url, s->desc, "Stats", &in.base, (ProtobufCMessage **)&out, quiet, NULL);
	if (rc != CTL_EXIT_OK)
		return rc;
	*doc = json_loads(out->json ? out->json : "", 0, &jerr);
	protobuf_c_message_free_unpacked(&out->base, NULL);
	if (*doc == NULL) {
		if (!quiet)
			fprintf(stderr, "gtctl: %s: Stats is not JSON (%s)\n", s->name, jerr.text);
		return CTL_EXIT_REMOTE;
	}
	return CTL_EXIT_OK;
}

/* {"a":{"b":1}} -> rows {"component","key":"a.b","value":1}. */
static void
flatten(json_t *rows, const char *comp, const char *prefix, json_t *v)
{
	const char *k;
	json_t     *x;
	char        key[512];

	if (json_is_object(v) && json_object_size(v) > 0) {
		json_object_foreach(v, k, x)
		{
			snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
			flatten(rows, comp, key, x);
		}
		return;
	}
	json_array_append_new(
	    rows, json_pack("{s:s, s:s, s:O}", "component", comp, "key", prefix, "value", v));
}

int
ctl_cmd_stats(ctl_ctx *c)
{
	static const ctl_col cols[] = {
	    {"component", "COMPONENT"}, {"key", "KEY"}, {"value", "VALUE"}};
	const char *def[4] = {"mq", "collector", "streamer", "gateway"};
	size_t      n = c->gateway_url ? 4 : 3, i;
	json_t     *all = json_object(), *rows = json_array();
	int         worst = CTL_EXIT_OK;

	if (c->argc > 1)
		return ctl_usage_error(c,
		                       "one component at most (mq, collector, streamer, gateway)");
	if (c->argc == 1) {
		def[0] = c->argv[0];
		n = 1;
	}
	for (i = 0; i < n; i++) {
		ctl_svc s;
		json_t *doc;
		int     rc;

		if (ctl_svc_lookup(c, def[i], &s) != 0) {
			json_decref(all);
			json_decref(rows);
			return ctl_usage_error(
			    c, "unknown component '%s' (mq, collector, streamer, gateway)", def[i]);
		}
		if ((rc = ctl_svc_stats(c, &s, &doc, 0)) != CTL_EXIT_OK) {
			if (rc > worst)
				worst = rc;
			continue;
		}
		flatten(rows, s.name, "", doc);
		json_object_set_new(all, s.name, doc);
	}
	if (c->fmt == CTL_OUT_JSON) {
		json_t *one = n == 1 ? json_object_get(all, def[0]) : all;

		if (one)
			json_dumpf(one, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (one)
			fputc('\n', stdout);
	} else if (json_array_size(rows) > 0)
		ctl_out_rows(c, cols, 3, rows);
	json_decref(all);
	json_decref(rows);
	return worst;
}
