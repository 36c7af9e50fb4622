/* ctl_cmd_doctor.c - `gtctl doctor`: walks the whole path and says what is wrong in words.
 * Checks, in order: every service reachable and healthy (the broker and the collector must
 * be; a streamer that is gone and a gateway that is not configured are warnings), data
 * arriving (age of the newest record per host), consumer lag per group, the DLQ not growing
 * over --dlq-window, stale GPUs. Exit 4 when any check failed, else 0 (warnings included). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_svc.h"
#include "gt/gt_time.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gtpb/v1/mq.pb-c.h"

typedef struct doc {
	ctl_ctx *c;
	json_t  *rows;
	int      fails, warns;
} doc;

static void say(doc *d, const char *status, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(doc *d, const char *status, const char *check, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(status, "fail") == 0)
		d->fails++;
	else if (strcmp(status, "warn") == 0)
		d->warns++;
	json_array_append_new(d->rows, json_pack("{s:s, s:s, s:s}", "status", status, "check",
	                                         check, "message", msg));
	if (d->c->fmt == CTL_OUT_TABLE) {
		const char *col = !d->c->color                  ? ""
		                  : strcmp(status, "fail") == 0 ? "\033[31;1m"
		                  : strcmp(status, "warn") == 0 ? "\033[33m"
		                                                : "\033[32m";

		printf("%s[%-4s]%s %-9s %s\n", col, status, d->c->color ? "\033[0m" : "", check,
		       msg);
		fflush(stdout);
	}
}

static void
check_services(doc *d)
{
	static const char *const names[] = {"mq", "collector", "streamer", "gateway"};

	for (size_t i = 0; i < 4; i++) {
		ctl_svc     s;
		json_t     *row;
		const char *st;
		int         rc, must = i < 2;

		if (i == 3 && d->c->gateway_url == NULL) {
			ctl_svc_lookup(d->c, names[i], &s);
			rc = ctl_svc_health(d->c, &s, &row);
			if (rc != CTL_EXIT_OK)
				say(d, "warn", "gateway",
				    "no gateway at %s (set --gateway-url or GT_GATEWAY_URL "
				    "once one runs); telemetry is read from the collector",
				    s.url);
			else
				say(d, "ok", "gateway", "reachable at %s, %s", s.url,
				    json_string_value(json_object_get(row, "status")));
			json_decref(row);
			continue;
		}
		ctl_svc_lookup(d->c, names[i], &s);
		rc = ctl_svc_health(d->c, &s, &row);
		st = json_string_value(json_object_get(row, "status"));
		if (rc == CTL_EXIT_UNREACHABLE)
			say(d, must ? "fail" : "warn", s.name, "%s: %s%s", s.url,
			    json_string_value(json_object_get(row, "error")),
			    i == 2 ? " (fine if no CSV is being streamed right now)" : "");
		else if (rc != CTL_EXIT_OK)
			say(d, "fail", s.name, "answers with an error at %s: %s", s.url,
			    json_string_value(json_object_get(row, "error")));
		else if (strcmp(st, "ok") != 0)
			say(d, "fail", s.name, "is %s (version %s, up %s)%s", st,
			    json_string_value(json_object_get(row, "version")),
			    json_string_value(json_object_get(row, "uptime")),
			    i == 1 ? ": it cannot reach the broker" : "");
		else
			say(d, "ok", s.name, "healthy at %s (version %s, up %s, %.1f ms)", s.url,
			    json_string_value(json_object_get(row, "version")),
			    json_string_value(json_object_get(row, "uptime")),
			    json_number_value(json_object_get(row, "latency_ms")));
		json_decref(row);
	}
}

static void
check_data(doc *d, int64_t stale_after)
{
	Gtpb__V1__ListGpusRequest   in = GTPB__V1__LIST_GPUS_REQUEST__INIT;
	Gtpb__V1__ListGpusResponse *out = NULL;
	json_t                     *hosts = json_object(), *v;
	const char                 *h;
	int64_t                     now = gt_now_ns();
	size_t                      stale = 0;
	char                        why[GT_RPC_MSG_MAX], ab[32], first[256] = "";

	if (ctl_call(d->c, ctl_telemetry_url(d->c), &gtpb__v1__telemetry_service__descriptor,
	             "ListGpus", &in.base, (ProtobufCMessage **)&out, 1, why) != CTL_EXIT_OK) {
		say(d, "fail", "data", "cannot list GPUs: %s", why);
		json_decref(hosts);
		return;
	}
	if (out->n_gpus == 0)
		say(d, "fail", "data",
		    "no telemetry stored yet: is a streamer publishing to the "
		    "broker, and the collector consuming?");
	for (size_t i = 0; i < out->n_gpus; i++) {
		const Gtpb__V1__GpuInfo *g = out->gpus[i];
		json_t                  *cur = json_object_get(hosts, g->hostname);

		if (cur == NULL || json_integer_value(cur) < g->last_seen_ns)
			json_object_set_new(hosts, g->hostname, json_integer(g->last_seen_ns));
		if (now - g->last_seen_ns > stale_after) {
			if (stale++ == 0)
				snprintf(first, sizeof(first), "%s", g->gpu_key);
		}
	}
	json_object_foreach(hosts, h, v)
	{
		int64_t age = now - json_integer_value(v);

		if (age > stale_after)
			say(d, "warn", "data",
			    "host %s: newest record is %s old (nothing new arriving)",
			    *h ? h : "(none)", ctl_age(age, ab, sizeof(ab)));
		else
			say(d, "ok", "data", "host %s: newest record %s old", *h ? h : "(none)",
			    ctl_age(age < 0 ? 0 : age, ab, sizeof(ab)));
	}
	if (stale)
		say(d, "warn", "stale",
		    "%zu of %zu GPUs silent for more than %s (first: %s; gtctl gpus "
		    "--stale)",
		    stale, out->n_gpus, ctl_age(stale_after, ab, sizeof(ab)), first);
	else if (out->n_gpus)
		say(d, "ok", "stale", "all %zu GPUs reported within %s", out->n_gpus,
		    ctl_age(stale_after, ab, sizeof(ab)));
	json_decref(hosts);
	protobuf_c_message_free_unpacked(&out->base, NULL);
}

static uint64_t
dlq_total(doc *d, const char *topic, int *ok)
{
	Gtpb__V1__DlqListRequest   in = GTPB__V1__DLQ_LIST_REQUEST__INIT;
	Gtpb__V1__DlqListResponse *out = NULL;
	uint64_t                   n;

	in.topic = (char *)topic;
	in.limit = 1;
	*ok = ctl_call(d->c, d->c->mq_url, &gtpb__v1__message_queue__descriptor, "DlqList",
	               &in.base, (ProtobufCMessage **)&out, 1, NULL) == CTL_EXIT_OK;
	if (!*ok)
		return 0;
	n = out->total;
	protobuf_c_message_free_unpacked(&out->base, NULL);
	return n;
}

static void
check_queue(doc *d, uint32_t max_lag, int64_t window)
{
	Gtpb__V1__TopicsRequest   in = GTPB__V1__TOPICS_REQUEST__INIT;
	Gtpb__V1__TopicsResponse *out = NULL;
	char                      why[GT_RPC_MSG_MAX], ab[32];
	uint64_t                 *dlq0;
	size_t                    i;

	if (ctl_call(d->c, d->c->mq_url, &gtpb__v1__message_queue__descriptor, "Topics", &in.base,
	             (ProtobufCMessage **)&out, 1, why) != CTL_EXIT_OK) {
		say(d, "fail", "lag", "cannot list topics: %s", why);
		return;
	}
	if (out->n_topics == 0)
		say(d, "warn", "lag", "the broker has no topics yet (nothing was ever published)");
	dlq0 = calloc(out->n_topics + 1, sizeof(*dlq0));
	for (i = 0; i < out->n_topics; i++) {
		const Gtpb__V1__TopicInfo *t = out->topics[i];
		int                        ok;

		if (t->n_groups == 0)
			say(d, "fail", "lag",
			    "topic %s has no consumer group: is the collector consuming?", t->name);
		for (size_t j = 0; j < t->n_groups; j++) {
			const Gtpb__V1__GroupInfo *g = t->groups[j];

			if (g->lag > max_lag)
				say(d, "warn", "lag",
				    "%s/%s: %llu messages not yet delivered (more than %u), "
				    "%llu pending, %zu consumers",
				    t->name, g->name, (unsigned long long)g->lag, max_lag,
				    (unsigned long long)g->pending, g->n_consumers);
			else if (g->n_consumers == 0)
				say(d, "warn", "lag", "%s/%s: no live consumer (lag %llu)", t->name,
				    g->name, (unsigned long long)g->lag);
			else
				say(d, "ok", "lag", "%s/%s: lag %llu, pending %llu, %zu consumers",
				    t->name, g->name, (unsigned long long)g->lag,
				    (unsigned long long)g->pending, g->n_consumers);
		}
		if (dlq0)
			dlq0[i] = dlq_total(d, t->name, &ok);
	}
	if (dlq0 && out->n_topics)
		gt_sleep_ns(window);
	for (i = 0; dlq0 && i < out->n_topics; i++) {
		int      ok;
		uint64_t n = dlq_total(d, out->topics[i]->name, &ok);

		if (!ok)
			continue;
		if (n > dlq0[i])
			say(d, "fail", "dlq",
			    "%s.dlq grew by %llu in %s (now %llu): records are being "
			    "dead-lettered (gtctl mq dlq list %s)",
			    out->topics[i]->name, (unsigned long long)(n - dlq0[i]),
			    ctl_age(window, ab, sizeof(ab)), (unsigned long long)n,
			    out->topics[i]->name);
		else if (n > 0)
			say(d, "warn", "dlq",
			    "%s.dlq holds %llu dead letters, not growing (gtctl mq dlq "
			    "list %s)",
			    out->topics[i]->name, (unsigned long long)n, out->topics[i]->name);
		else
			say(d, "ok", "dlq", "%s.dlq is empty", out->topics[i]->name);
	}
	free(dlq0);
	protobuf_c_message_free_unpacked(&out->base, NULL);
}

int
ctl_cmd_doctor(ctl_ctx *c)
{
	static const ctl_col cols[] = {
	    {"status", "STATUS"}, {"check", "CHECK"}, {"message", "MESSAGE"}};
	doc      d = {c, json_array(), 0, 0};
	int64_t  stale_after, window;
	uint32_t max_lag;
	int      rc;

	if (c->argc)
		return ctl_usage_error(c, "no arguments expected");
	if ((rc = ctl_opt_dur(c, "stale-after", 30 * GT_NS_PER_S, &stale_after)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_dur(c, "dlq-window", GT_NS_PER_S, &window)) != CTL_EXIT_OK ||
	    (rc = ctl_opt_u32(c, "max-lag", 10000, &max_lag)) != CTL_EXIT_OK) {
		json_decref(d.rows);
		return rc;
	}
	check_services(&d);
	check_data(&d, stale_after);
	check_queue(&d, max_lag, window);
	if (c->fmt == CTL_OUT_TABLE)
		printf("%s: %d failed, %d warnings\n", d.fails ? "problems found" : "all good",
		       d.fails, d.warns);
	else
		ctl_out_rows(c, cols, 3, d.rows);
	json_decref(d.rows);
	return d.fails ? CTL_EXIT_UNHEALTHY : CTL_EXIT_OK;
}
