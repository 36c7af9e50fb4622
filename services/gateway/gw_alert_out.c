/* gw_alert_out.c - what the alert engine's state looks like outside: the Alert JSON of the
 * contract (REST, WebSocket, webhook), the list documents, and the Prometheus series. Pure but
 * for gw_alert_engine_prometheus, which reads the engine (its lock). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gt/gt_json.h"
#include "gt/gt_time.h"
#include "gw_alert.h"

const char *
gw_alert_kind_name(int kind)
{
	return kind == GW_AK_STALE ? "stale" : kind == GW_AK_EVENT ? "event" : "threshold";
}

const char *
gw_alert_state_name(int state)
{
	static const char *const n[] = {"pending", "firing", "resolved", "event"};

	return state >= 0 && state <= GW_AS_EVENT ? n[state] : "?";
}

static void
prom_str(gt_buf *b, const char *s)
{
	gt_buf_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '\\')
			gt_buf_puts(b, "\\\\");
		else if (*s == '"')
			gt_buf_puts(b, "\\\"");
		else if (*s == '\n')
			gt_buf_puts(b, "\\n");
		else
			gt_buf_putc(b, *s);
	}
	gt_buf_putc(b, '"');
}

void
gw_alert_engine_prometheus(gw_alert_engine *e, gt_buf *b)
{
	gw_alert_list l;
	size_t        i;

	gt_buf_puts(b, "# HELP gt_alert_firing An alert firing now (value 1), by rule and GPU.\n"
	               "# TYPE gt_alert_firing gauge\n");
	if (gw_alert_engine_current(e, NULL, &l) != GT_OK)
		return;
	for (i = 0; i < l.n; i++) {
		if (l.v[i].state != GW_AS_FIRING)
			continue;
		gt_buf_puts(b, "gt_alert_firing{alertname=");
		prom_str(b, l.v[i].rule);
		gt_buf_puts(b, ",gpu=");
		prom_str(b, l.v[i].gpu);
		gt_buf_puts(b, ",UUID=");
		prom_str(b, l.v[i].uuid);
		gt_buf_puts(b, ",Hostname=");
		prom_str(b, l.v[i].hostname);
		gt_buf_puts(b, ",severity=");
		prom_str(b, gw_alert_sev_name(l.v[i].severity));
		gt_buf_puts(b, "} 1\n");
	}
	gt_buf_printf(b,
	              "# HELP gt_alerts_firing Alerts firing now.\n# TYPE gt_alerts_firing "
	              "gauge\ngt_alerts_firing %" PRIu32 "\n",
	              l.firing);
	gw_alert_list_fini(&l);
}

/* ---- JSON ---- */

void
gw_alert_json(gt_buf *b, const gw_alert *a)
{
	char ts[40];

	gt_buf_printf(b, "{\"seq\":%" PRIu64 ",\"rule\":", a->seq);
	gt_json_cstr(b, a->rule);
	gt_buf_printf(b, ",\"kind\":\"%s\",\"state\":\"%s\",\"severity\":\"%s\",\"gpu\":",
	              gw_alert_kind_name(a->kind), gw_alert_state_name(a->state),
	              gw_alert_sev_name(a->severity));
	gt_json_cstr(b, a->gpu);
	gt_buf_puts(b, ",\"uuid\":");
	gt_json_cstr(b, a->uuid);
	gt_buf_puts(b, ",\"hostname\":");
	gt_json_cstr(b, a->hostname);
	if (a->metric && *a->metric) {
		gt_buf_puts(b, ",\"metric\":");
		gt_json_cstr(b, a->metric);
	}
	if (a->has_threshold) {
		gt_buf_printf(b, ",\"op\":\"%s\",\"threshold\":", gw_alert_op_name(a->op));
		gt_json_dbl(b, a->threshold);
	}
	if (a->has_value) {
		gt_buf_puts(b, ",\"value\":");
		gt_json_dbl(b, a->value);
	}
	gt_rfc3339_format(a->since_ns, 3, ts, sizeof(ts));
	gt_buf_printf(b,
	              ",\"since\":\"%s\",\"since_ns\":%" PRId64 ",\"active_since_ns\":%" PRId64
	              ",\"message\":",
	              ts, a->since_ns, a->active_since_ns);
	gt_json_cstr(b, a->message);
	gt_buf_putc(b, '}');
}

void
gw_alert_list_json(gt_buf *b, const gw_alert_list *l, int history, const char *prefix)
{
	size_t i;

	gt_buf_putc(b, '{');
	if (prefix)
		gt_buf_puts(b, prefix);
	gt_buf_puts(b, "\"alerts\":[");
	for (i = 0; i < l->n; i++) {
		if (i)
			gt_buf_putc(b, ',');
		gw_alert_json(b, &l->v[i]);
	}
	gt_buf_putc(b, ']');
	if (!history)
		gt_buf_printf(b, ",\"firing\":%" PRIu32 ",\"pending\":%" PRIu32, l->firing,
		              l->pending);
	gt_buf_printf(b, ",\"last_seq\":%" PRIu64 "}", l->last_seq);
}
