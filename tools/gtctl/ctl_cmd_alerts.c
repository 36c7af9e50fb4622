/* ctl_cmd_alerts.c - `gtctl alerts [--history] [--watch]`: the gateway's alerts through its
 * AlertService.ListAlerts RPC (GT_GATEWAY_URL).
 *   alerts            the current alerts (firing first, then pending) as a table/JSON/CSV
 *   alerts --history  the kept changes, oldest first
 *   alerts --watch    one line per change as it happens (long-poll), until Ctrl-C or
 *                     --duration; with --history it starts with the kept changes
 * Exit 0 also when alerts are firing; 3 when the gateway is unreachable, 1 on a remote error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "gt/gt_time.h"
#include "gtpb/v1/alerts.pb-c.h"

#define WATCH_WAIT_MS 10000

static const ctl_col cols[] = {
    {"since", "SINCE"}, {"state", "STATE"}, {"severity", "SEVERITY"}, {"rule", "RULE"},
    {"gpu", "GPU"},     {"host", "HOST"},   {"value", "VALUE"},       {"message", "MESSAGE"},
};

static json_t *
alert_row(const Gtpb__V1__Alert *a)
{
	char    ts[64];
	json_t *o = json_object();

	json_object_set_new(o, "seq", json_integer((json_int_t)a->seq));
	json_object_set_new(o, "since", json_string(ctl_ts(a->since_ns, ts, sizeof(ts))));
	json_object_set_new(o, "since_ns", json_integer(a->since_ns));
	json_object_set_new(o, "state", json_string(a->state));
	json_object_set_new(o, "severity", json_string(a->severity));
	json_object_set_new(o, "rule", json_string(a->rule));
	json_object_set_new(o, "kind", json_string(a->kind));
	json_object_set_new(o, "gpu", json_string(a->gpu));
	json_object_set_new(o, "uuid", json_string(a->uuid));
	json_object_set_new(o, "host", json_string(a->hostname));
	if (a->metric && *a->metric) {
		json_object_set_new(o, "metric", json_string(a->metric));
		json_object_set_new(o, "op", json_string(a->op));
		json_object_set_new(o, "threshold", json_real(a->threshold));
	}
	/* staleness and vanished GPUs carry no value */
	if (strcmp(a->kind, "stale") == 0 || strcmp(a->rule, "gpu_vanished") == 0)
		json_object_set_new(o, "value", json_null());
	else
		json_object_set_new(o, "value", json_real(a->value));
	json_object_set_new(o, "active_since_ns", json_integer(a->active_since_ns));
	json_object_set_new(o, "message", json_string(a->message));
	return o;
}

static int
list(ctl_ctx *c, const char *url, int history, uint64_t after, uint32_t wait_ms, uint32_t limit,
     Gtpb__V1__ListAlertsResponse **out)
{
	Gtpb__V1__ListAlertsRequest in = GTPB__V1__LIST_ALERTS_REQUEST__INIT;

	in.history = history;
	in.after_seq = after;
	in.wait_ms = wait_ms;
	in.limit = limit;
	return ctl_call(c, url, &gtpb__v1__alert_service__descriptor, "ListAlerts", &in.base,
	                (ProtobufCMessage **)out, 0, NULL);
}

static void
print_line(const ctl_ctx *c, const Gtpb__V1__Alert *a)
{
	json_t *o = alert_row(a);
	char    num[64];

	if (c->fmt == CTL_OUT_JSON) {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else if (c->fmt == CTL_OUT_CSV) {
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
			if (i)
				fputc(',', stdout);
			ctl_csv_field(stdout, ctl_cell_text(json_object_get(o, cols[i].key), num,
			                                    sizeof(num), 6));
		}
		fputc('\n', stdout);
	} else {
		printf("%s  %-8s  %-8s  %s  %s  %s  %s\n",
		       json_string_value(json_object_get(o, "since")), a->state, a->severity,
		       a->rule, a->gpu, *a->hostname ? a->hostname : "-", a->message);
	}
	json_decref(o);
}

static int
watch(ctl_ctx *c, const char *url, int history)
{
	Gtpb__V1__ListAlertsResponse *r = NULL;
	uint64_t                      after = 0;
	int64_t                       dur, end;
	int                           rc;

	if ((rc = ctl_opt_dur(c, "duration", 0, &dur)) != CTL_EXIT_OK)
		return rc;
	end = dur > 0 ? gt_mono_ns() + dur : INT64_MAX;
	/* where to start: after the newest change (or from the kept history) */
	if (!history) {
		if ((rc = list(c, url, 0, 0, 0, 0, &r)) != CTL_EXIT_OK)
			return rc;
		after = r->last_seq;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	/* Ctrl-C ends it at once (the default action), even during a held call */
	if (c->fmt == CTL_OUT_CSV) {
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
			printf("%s%s", i ? "," : "", cols[i].key);
		fputc('\n', stdout);
	}
	fflush(stdout);
	while (gt_mono_ns() < end) {
		int64_t  left = end - gt_mono_ns();
		uint32_t wait = WATCH_WAIT_MS;

		if (left < (int64_t)wait * GT_NS_PER_MS)
			wait = (uint32_t)(left / GT_NS_PER_MS) + 1;
		/* the call may be held up to wait: its deadline is past that */
		c->timeout_ns = (int64_t)wait * GT_NS_PER_MS + 5 * GT_NS_PER_S;
		if ((rc = list(c, url, 1, after, wait, 1000, &r)) != CTL_EXIT_OK)
			return rc;
		for (size_t i = 0; i < r->n_alerts; i++) {
			print_line(c, r->alerts[i]);
			if (r->alerts[i]->seq > after)
				after = r->alerts[i]->seq;
		}
		/* the history was trimmed past after: go on from the newest */
		if (r->n_alerts == 0 && r->last_seq > after)
			after = r->last_seq;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		fflush(stdout);
	}
	return CTL_EXIT_OK;
}

int
ctl_cmd_alerts(ctl_ctx *c)
{
	const char                   *url = c->gateway_url ? c->gateway_url : c->gateway_dflt;
	Gtpb__V1__ListAlertsResponse *r = NULL;
	int                           history = ctl_opt(c, "history") != NULL, rc;
	uint32_t                      limit;
	json_t                       *rows;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	if ((rc = ctl_opt_u32(c, "limit", 1000, &limit)) != CTL_EXIT_OK)
		return rc;
	if (ctl_opt(c, "watch") != NULL)
		return watch(c, url, history);
	if (ctl_opt(c, "duration") != NULL)
		return ctl_usage_error(c, "--duration goes with --watch");
	if ((rc = list(c, url, history, 0, 0, limit, &r)) != CTL_EXIT_OK)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < r->n_alerts; i++)
		json_array_append_new(rows, alert_row(r->alerts[i]));
	ctl_out_rows(c, cols, sizeof(cols) / sizeof(cols[0]), rows);
	if (c->fmt == CTL_OUT_TABLE && !history)
		printf("%u firing, %u pending\n", r->firing, r->pending);
	json_decref(rows);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}
