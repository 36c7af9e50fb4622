/* test_gateway_alerts.c - gt-gateway alerts over a real gt-mq + gt-collector live feed:
 * a threshold rule crossing with `for` (REST, WebSocket frames, /metrics through promtool),
 * XID events, staleness and a vanished GPU after their records stop (and after a real
 * gt-streamer stops), the webhook (a receiver
 * this test runs, down at first, then up), SIGHUP reload (good and bad files), a bad rules
 * file at start (exit 2 naming rule and field; also with --print-config), the "alerts" section
 * of the gateway's /stats and Stats RPC, and `gtctl alerts` (table, -o json, --watch,
 * --history). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gtpb/v1/alerts.pb-c.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "gt_test.h"
#include "gt_wsc.h"
#include "test_gateway_util.h"

static tg_env env;
static char  *dir, rules[512];
static int    hook_port;

static const char rules_v1[] =
    "{\"rules\":[{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":80,"
    "\"for\":\"2s\",\"severity\":\"critical\",\"hosts\":[\"host-a\"]},"
    "{\"name\":\"cold\",\"metric\":\"DCGM_FI_DEV_GPU_TEMP\",\"op\":\"<\",\"threshold\":-10,"
    "\"gpus\":[\"GPU-nothing\"]}]}";

/* ---- the webhook receiver: a plain HTTP server on a thread ---- */

typedef struct hook_srv {
	pthread_t       thr;
	int             fd, stop;
	pthread_mutex_t mu;
	char           *bodies[256];
	size_t          n;
} hook_srv;

static hook_srv hook;

static void *
hook_thread(void *arg)
{
	hook_srv *h = arg;

	while (!h->stop) {
		struct timeval tv = {0, 200000};
		fd_set         rs;
		int            c;
		char           buf[65536];
		size_t         len = 0;
		char          *body = NULL;

		FD_ZERO(&rs);
		FD_SET(h->fd, &rs);
		if (select(h->fd + 1, &rs, NULL, NULL, &tv) <= 0)
			continue;
		if ((c = accept(h->fd, NULL, NULL)) < 0)
			continue;
		/* headers, then Content-Length bytes */
		for (;;) {
			ssize_t r = read(c, buf + len, sizeof(buf) - 1 - len);
			char   *he, *cl;

			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = '\0';
			if ((he = strstr(buf, "\r\n\r\n")) != NULL &&
			    ((cl = strcasestr(buf, "Content-Length:")) != NULL)) {
				size_t want = (size_t)atol(cl + 15);

				if (len >= (size_t)(he + 4 - buf) + want) {
					body = strndup(he + 4, want);
					break;
				}
			}
		}
		if (write(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		          57) < 0) {
		}
		close(c);
		pthread_mutex_lock(&h->mu);
		if (body && h->n < 256)
			h->bodies[h->n++] = body;
		else
			free(body);
		pthread_mutex_unlock(&h->mu);
	}
	return NULL;
}

static void
hook_up(int port)
{
	struct sockaddr_in a;
	int                one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hook.fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(hook.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(hook.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(hook.fd, 16), 0);
	assert_int_equal(pthread_create(&hook.thr, NULL, hook_thread, &hook), 0);
}

/* ---- helpers ---- */

static void
write_rules(const char *text)
{
	FILE *f = fopen(rules, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* One record of gpu on host with temperature and (xid >= 0) the XID field. */
static void
pub(const char *gpu, const char *host, double temp, double xid)
{
	Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry me[2], *mep[2] = {&me[0], &me[1]};

	gtpb__v1__telemetry_record__metrics_entry__init(&me[0]);
	gtpb__v1__telemetry_record__metrics_entry__init(&me[1]);
	me[0].key = "temperature";
	me[0].value = temp;
	me[1].key = "DCGM_FI_DEV_XID_ERRORS";
	me[1].value = xid;
	r.timestamp_ns = gt_now_ns();
	r.gpu_key = (char *)gpu;
	r.uuid = (char *)gpu;
	r.hostname = (char *)host;
	r.device = "nvidia0";
	r.model = "NVIDIA H100 80GB HBM3";
	r.metrics = mep;
	r.n_metrics = xid >= 0 ? 2 : 1;
	tc_publish_record(&env.mq, gpu, &r);
}

/* GET /api/v1/alerts/history?after_seq=... until an entry matches rule/state/gpu; returns it
 * (json_decref) or fails. */
static json_t *
wait_change(const char *rule, const char *state, const char *gpu, int64_t timeout)
{
	int64_t deadline = gt_mono_ns() + timeout;

	while (gt_mono_ns() < deadline) {
		json_t *j = NULL, *a;
		size_t  i;

		assert_int_equal(
		    tg_get(&env, "/api/v1/alerts/history?limit=1000", NULL, &j, NULL, NULL), 200);
		json_array_foreach(json_object_get(j, "alerts"), i, a)
		{
			if (!strcmp(json_string_value(json_object_get(a, "rule")), rule) &&
			    !strcmp(json_string_value(json_object_get(a, "state")), state) &&
			    !strcmp(json_string_value(json_object_get(a, "gpu")), gpu)) {
				json_incref(a);
				json_decref(j);
				return a;
			}
		}
		json_decref(j);
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	fail_msg("no %s %s change for %s", rule, state, gpu);
	return NULL;
}

/* The next frame of type alert of rule on c (rule NULL: the next alert or alerts frame);
 * heartbeats and other rules' frames (GPUs going stale) are skipped. */
static json_t *
next_alert_frame(gt_wsc *c, const char *rule, int64_t timeout)
{
	int64_t deadline = gt_mono_ns() + timeout;

	while (gt_mono_ns() < deadline) {
		char   *m = gt_wsc_recv(c, deadline - gt_mono_ns());
		json_t *j;

		if (m == NULL)
			return NULL;
		j = json_loads(m, 0, NULL);
		free(m);
		assert_non_null(j);
		if (rule == NULL &&
		    !strncmp(json_string_value(json_object_get(j, "type")), "alert", 5))
			return j;
		if (rule != NULL &&
		    !strcmp(json_string_value(json_object_get(j, "type")), "alert") &&
		    !strcmp(json_string_value(json_object_get(j, "rule")), rule))
			return j;
		json_decref(j);
	}
	return NULL;
}

/* The "alerts" section of the gateway's stats: from /stats (rpc = 0) or the Stats RPC on the
 * gateway's --rpc-url (rpc = 1), which answers the same document. Caller decrefs. */
static json_t *
stats_alerts(int rpc)
{
	json_t *j = NULL, *a;

	if (rpc) {
		gt_rpc_stub              stub;
		Gtpb__V1__StatsRequest   in = GTPB__V1__STATS_REQUEST__INIT;
		Gtpb__V1__StatsResponse *out = NULL;

		gt_rpc_stub_init(&stub, env.gw.cli, &gtpb__v1__telemetry_service__descriptor,
		                 5 * GT_NS_PER_S);
		assert_int_equal(
		    gt_rpc_call_by_name(&stub, "Stats", &in.base, (ProtobufCMessage **)&out), GT_OK);
		assert_non_null(j = json_loads(out->json, 0, NULL));
		protobuf_c_message_free_unpacked(&out->base, NULL);
		a = json_object_get(j, "alerts");
	} else {
		assert_int_equal(tg_get(&env, "/stats", NULL, &j, NULL, NULL), 200);
		a = json_object_get(json_object_get(j, "gateway"), "alerts");
	}
	assert_true(json_is_object(a));
	json_incref(a);
	json_decref(j);
	return a;
}

#define JINT(o, k) json_integer_value(json_object_get((o), (k)))

static int
setup(void **state)
{
	char        url[64];
	const char *extra[] = {"--alert-rules",
	                       rules,
	                       "--stale-after",
	                       "2s",
	                       "--alert-webhook",
	                       url,
	                       "--ws-heartbeat",
	                       "1s",
	                       "--alert-history",
	                       "500",
	                       NULL};
	(void)state;

	dir = gt_test_tmpdir("gwalerts");
	snprintf(rules, sizeof(rules), "%s/rules.json", dir);
	write_rules(rules_v1);
	hook_port = gt_test_free_port(); /* nobody listens there yet: the webhook is down */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", hook_port);
	pthread_mutex_init(&hook.mu, NULL);
	tg_start(&env, 1, extra);
	tg_wait_component(&env, "collector-0", "ok");
	return 0;
}

static int
teardown(void **state)
{
	size_t i;
	(void)state;

	tg_stop(&env);
	if (hook.fd > 0) {
		hook.stop = 1;
		pthread_join(hook.thr, NULL);
		close(hook.fd);
	}
	for (i = 0; i < hook.n; i++)
		free(hook.bodies[i]);
	gt_test_rmrf(dir);
	free(dir);
	return 0;
}

/* ---- tests ---- */

static void
test_threshold_for_rest_ws_metrics(void **state)
{
	gt_wsc *ws = gt_wsc_open(env.gw.http_port, "/ws", 0);
	json_t *j, *a;
	char   *m, *raw = NULL, path[600], cmd[1400];
	size_t  len;
	int     st;
	(void)state;

	assert_non_null(ws);
	m = gt_wsc_recv(ws, 5 * GT_NS_PER_S);
	assert_non_null(strstr(m, "\"type\":\"hello\""));
	free(m);
	j = next_alert_frame(ws, NULL, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "alerts");
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
	json_decref(j);

	/* host-a/0 above 80: pending at once, firing after `for` (2s) without another record */
	pub("host-a/0", "host-a", 91.5, -1);
	pub("host-b/0", "host-b", 95, -1); /* not its host: nothing */
	j = next_alert_frame(ws, "hot", 10 * GT_NS_PER_S);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "alert");
	assert_string_equal(json_string_value(json_object_get(j, "rule")), "hot");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(j, "gpu")), "host-a/0");
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/alerts?state=pending", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	json_decref(j);
	j = next_alert_frame(ws, "hot", 5 * GT_NS_PER_S);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
	assert_true(json_number_value(json_object_get(j, "value")) == 91.5);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	                    "temperature 91.5 > 80 for 2s");
	json_decref(j);

	assert_int_equal(tg_get(&env, "/api/v1/alerts?severity=critical", NULL, &j, NULL, NULL),
	                 200);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	a = json_array_get(json_object_get(j, "alerts"), 0);
	assert_string_equal(json_string_value(json_object_get(a, "hostname")), "host-a");
	assert_non_null(json_object_get(a, "since"));
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/alerts?state=nope", NULL, NULL, NULL, NULL), 400);
	assert_int_equal(tg_get(&env, "/api/v1/alerts/history?limit=0", NULL, NULL, NULL, NULL),
	                 400);
	assert_int_equal(tg_get(&env, "/api/v1/alerts/history?after_seq=x", NULL, NULL, NULL, NULL),
	                 400);

	/* the same as protobuf (gtpb.v1.ListAlertsResponse) */
	assert_int_equal(tg_get(&env, "/api/v1/alerts?state=firing&severity=critical",
	                        "Accept: application/x-protobuf\r\n", NULL, &raw, &len),
	                 200);
	{
		Gtpb__V1__ListAlertsResponse *r =
		    gtpb__v1__list_alerts_response__unpack(NULL, len, (const uint8_t *)raw);

		assert_non_null(r);
		assert_int_equal(r->n_alerts, 1);
		assert_string_equal(r->alerts[0]->rule, "hot");
		assert_string_equal(r->alerts[0]->state, "firing");
		assert_string_equal(r->alerts[0]->op, ">");
		assert_true(r->alerts[0]->value == 91.5);
		assert_true(r->last_seq >= 2);
		gtpb__v1__list_alerts_response__free_unpacked(r, NULL);
	}
	free(raw);
	/* /metrics: the firing series, through promtool */
	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_non_null(strstr(raw,
	                       "gt_alert_firing{alertname=\"hot\",gpu=\"host-a/0\","
	                       "UUID=\"host-a/0\",Hostname=\"host-a\",severity=\"critical\"} 1\n"));
	assert_non_null(strstr(raw, "# TYPE gt_alerts_firing gauge\ngt_alerts_firing "));
	assert_non_null(strstr(raw, "# TYPE gt_alert_webhook_failures_total counter\n"));
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	{
		FILE *f = fopen(path, "w");

		fwrite(raw, 1, len, f);
		fclose(f);
	}
	free(raw);
	snprintf(cmd, sizeof(cmd),
	         "promtool check metrics < %s 2>&1 | grep -v \"camelCase\" | grep -q . && exit 1; "
	         "exit 0",
	         path);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* back below: resolved, with the value */
	pub("host-a/0", "host-a", 70, -1);
	j = next_alert_frame(ws, "hot", 5 * GT_NS_PER_S);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "resolved");
	assert_true(json_number_value(json_object_get(j, "value")) == 70);
	json_decref(j);
	/* (gpu_stale may fire meanwhile for the GPUs here: it is a warning) */
	assert_int_equal(
	    tg_get(&env, "/api/v1/alerts?state=firing&severity=critical", NULL, &j, NULL, NULL),
	    200);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
	json_decref(j);
	gt_wsc_close(ws);
}

static void
test_xid_event(void **state)
{
	json_t *a;
	(void)state;

	pub("host-x/0", "host-x", 40, 13); /* the baseline */
	pub("host-x/0", "host-x", 40, 79);
	a = wait_change("xid", "event", "host-x/0", 10 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "event");
	assert_string_equal(json_string_value(json_object_get(a, "message")),
	                    "XID 79: GPU has fallen off the bus");
	assert_true(json_number_value(json_object_get(a, "value")) == 79);
	json_decref(a);
}

/* Records stop (as when the streamer stops): gpu_stale fires after --stale-after (2s) and
 * resolves when they come back; a GPU that stops while its host goes on is a vanished event. */
static void
test_stale_and_vanished(void **state)
{
	json_t *a, *j;
	int64_t end;
	(void)state;

	pub("host-v/0", "host-v", 40, -1);
	pub("host-v/1", "host-v", 40, -1);
	end = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (gt_mono_ns() < end) { /* only host-v/1 goes on */
		pub("host-v/1", "host-v", 40, -1);
		gt_sleep_ns(250 * GT_NS_PER_MS);
	}
	a = wait_change("gpu_stale", "firing", "host-v/0", 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(a, "kind")), "stale");
	assert_null(json_object_get(a, "value"));
	json_decref(a);
	json_decref(wait_change("gpu_vanished", "event", "host-v/0", 5 * GT_NS_PER_S));
	assert_int_equal(tg_get(&env, "/api/v1/alerts?gpu=host-v/0", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
	json_decref(j);
	pub("host-v/0", "host-v", 40, -1);
	json_decref(wait_change("gpu_stale", "resolved", "host-v/0", 5 * GT_NS_PER_S));
}

/* A real gt-streamer publishes (a CSV in a loop), then stops: its GPUs go stale. */
static void
test_stale_after_streamer_stops(void **state)
{
	char        mqf[300], csvf[600], key[300] = "";
	const char *argv[] = {"gt-streamer",
	                      mqf,
	                      "--http-port=0",
	                      "--bind=127.0.0.1",
	                      "--rpc-url=tcp://127.0.0.1:0",
	                      csvf,
	                      "--loop",
	                      "--rate=20",
	                      "--workers=1",
	                      "--hostname=host-stm",
	                      NULL};
	gt_proc    *stm = NULL;
	int64_t     deadline;
	json_t     *j, *a;
	size_t      i;
	(void)state;

	snprintf(mqf, sizeof(mqf), "--mq-url=%s", env.mq.rpc_url);
	snprintf(csvf, sizeof(csvf), "--csv=%s/csv/wide_basic.csv", getenv("GT_FIXTURES"));
	assert_int_equal(gt_proc_start(&stm, argv, NULL), GT_OK);
	assert_int_equal(gt_proc_wait_ready(stm, 20 * GT_NS_PER_S), GT_OK);
	/* its GPUs reach the gateway */
	deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
	while (key[0] == '\0') {
		assert_true(gt_mono_ns() < deadline);
		assert_int_equal(tg_get(&env, "/api/v1/gpus?host=host-stm", NULL, &j, NULL, NULL),
		                 200);
		a = json_array_get(json_object_get(j, "gpus"), 0);
		if (a != NULL)
			snprintf(key, sizeof(key), "%s",
			         json_string_value(json_object_get(a, "key")));
		json_decref(j);
		gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	/* still reporting: not stale */
	gt_sleep_ns(2500 * GT_NS_PER_MS);
	assert_int_equal(tg_get(&env, "/api/v1/alerts?host=host-stm", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
	json_decref(j);
	assert_int_equal(gt_proc_stop(stm, SIGTERM, 20 * GT_NS_PER_S), 0);
	gt_proc_free(stm);
	a = wait_change("gpu_stale", "firing", key, 10 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(a, "hostname")), "host-stm");
	json_decref(a);
	/* every GPU of the file: current and stale */
	assert_int_equal(
	    tg_get(&env, "/api/v1/alerts?host=host-stm&state=firing", NULL, &j, NULL, NULL), 200);
	json_array_foreach(json_object_get(j, "alerts"), i, a)
	    assert_string_equal(json_string_value(json_object_get(a, "rule")), "gpu_stale");
	assert_true(json_array_size(json_object_get(j, "alerts")) >= 1);
	json_decref(j);
}

/* The receiver comes up late: the retries deliver every change, in order. */
static void
test_webhook_down_then_up(void **state)
{
	json_t *h = NULL, *a;
	int64_t deadline = gt_mono_ns() + 60 * GT_NS_PER_S;
	size_t  i, want;
	char   *raw = NULL;
	size_t  len;
	(void)state;

	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_null(strstr(raw, "gt_alert_webhook_failures_total 0\n")); /* it was down */
	free(raw);
	hook_up(hook_port);
	assert_int_equal(tg_get(&env, "/api/v1/alerts/history?limit=1000", NULL, &h, NULL, NULL),
	                 200);
	want = json_array_size(json_object_get(h, "alerts"));
	assert_true(want >= 6);
	for (;;) {
		pthread_mutex_lock(&hook.mu);
		i = hook.n;
		pthread_mutex_unlock(&hook.mu);
		if (i >= want)
			break;
		if (gt_mono_ns() > deadline)
			fail_msg("webhook got %zu of %zu changes", i, want);
		gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	pthread_mutex_lock(&hook.mu);
	for (i = 0; i < want; i++) {
		json_t *b = json_loads(hook.bodies[i], 0, NULL);

		a = json_array_get(json_object_get(h, "alerts"), i);
		assert_non_null(b);
		assert_int_equal(json_integer_value(json_object_get(b, "seq")),
		                 json_integer_value(json_object_get(a, "seq")));
		assert_true(json_equal(b, a));
		json_decref(b);
	}
	pthread_mutex_unlock(&hook.mu);
	json_decref(h);
	/* /stats counts them: sent (the receiver got them all), failed while it was down */
	for (i = 0; i < 2; i++) {
		json_t *s = stats_alerts((int)i), *w = json_object_get(s, "webhook");

		assert_int_equal(JINT(s, "rules"), 2);
		assert_true(JINT(s, "changes_total") >= (json_int_t)want);
		assert_true(json_is_true(json_object_get(w, "enabled")));
		assert_true(JINT(w, "sent") >= (json_int_t)want);
		assert_true(JINT(w, "failed") >= 1);
		assert_true(json_is_integer(json_object_get(w, "queued")));
		assert_true(json_is_integer(json_object_get(w, "dropped")));
		assert_true(json_is_null(json_object_get(s, "last_reload")));
		json_decref(s);
	}
}

static void
test_sighup_reload(void **state)
{
	json_t *j, *s, *r;
	size_t  cur = 0;
	(void)state;

	/* hot fires again on host-a/1, then the reload drops it (resolved) and adds warm */
	pub("host-a/1", "host-a", 99, -1);
	json_decref(wait_change("hot", "firing", "host-a/1", 10 * GT_NS_PER_S));
	write_rules(
	    "[{\"name\":\"warm\",\"metric\":\"temperature\",\"op\":\">=\",\"threshold\":30}]");
	assert_int_equal(kill(gt_proc_pid(env.gw.proc), SIGHUP), 0);
	assert_int_equal(
	    gt_proc_wait_log(env.gw.proc, "alert.reloaded", 10 * GT_NS_PER_S, &cur, NULL), GT_OK);
	json_decref(wait_change("hot", "resolved", "host-a/1", 5 * GT_NS_PER_S));
	pub("host-a/1", "host-a", 99, -1);
	json_decref(wait_change("warm", "firing", "host-a/1", 10 * GT_NS_PER_S));
	s = stats_alerts(0);
	assert_int_equal(JINT(s, "rules"), 1);
	assert_true(JINT(s, "firing") >= 1);
	assert_true(json_is_integer(json_object_get(s, "pending")));
	r = json_object_get(s, "last_reload");
	assert_string_equal(json_string_value(json_object_get(r, "result")), "ok");
	assert_non_null(json_string_value(json_object_get(r, "time")));
	assert_null(json_object_get(r, "error"));
	json_decref(s);
	/* a bad file on reload: logged, the rules in force stay */
	write_rules(
	    "[{\"name\":\"warm\",\"metric\":\"temperature\",\"op\":\"~\",\"threshold\":30}]");
	assert_int_equal(kill(gt_proc_pid(env.gw.proc), SIGHUP), 0);
	assert_int_equal(
	    gt_proc_wait_log(env.gw.proc, "alert.reload_failed", 10 * GT_NS_PER_S, &cur, NULL),
	    GT_OK);
	assert_int_equal(tg_get(&env, "/api/v1/alerts?state=firing", NULL, &j, NULL, NULL), 200);
	assert_true(json_integer_value(json_object_get(j, "firing")) >= 1);
	json_decref(j);
	s = stats_alerts(1); /* the Stats RPC: the failed reload, the rules in force */
	assert_int_equal(JINT(s, "rules"), 1);
	assert_true(JINT(s, "firing") >= 1);
	r = json_object_get(s, "last_reload");
	assert_string_equal(json_string_value(json_object_get(r, "result")), "failed");
	if (strstr(json_string_value(json_object_get(r, "error")), "\"op\"") == NULL)
		fail_msg("last_reload.error: %s", json_string_value(json_object_get(r, "error")));
	json_decref(s);
	pub("host-a/1", "host-a", 10, -1);
	json_decref(wait_change("warm", "resolved", "host-a/1", 10 * GT_NS_PER_S));
}

/* Runs gtctl with args against the gateway; returns its exit status and stdout (malloc'd). */
static int
gtctl(const char *args, char **out)
{
	char cmd[1200], path[600];
	int  st;

	snprintf(path, sizeof(path), "%s/gtctl.out", dir);
	snprintf(cmd, sizeof(cmd), "GT_GATEWAY_URL=%s %s/gtctl %s > %s 2>&1", env.gw.rpc_url,
	         getenv("GT_BIN_DIR"), args, path);
	st = system(cmd);
	*out = gt_test_read_file(path, NULL);
	assert_non_null(*out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_gtctl_alerts(void **state)
{
	char   *out, cmd[1200], line[4096];
	json_t *j, *h = NULL, *a;
	FILE   *p;
	size_t  i;
	int     found = 0;
	(void)state;

	/* current alerts as JSON: the same as the REST answer */
	assert_int_equal(gtctl("alerts -o json", &out), 0);
	j = json_loads(out, 0, NULL);
	if (!json_is_array(j))
		fail_msg("gtctl alerts -o json: %s", out);
	assert_true(json_array_size(j) >= 1); /* the GPUs of the earlier tests are stale */
	json_array_foreach(j, i, a)
	{
		assert_non_null(json_object_get(a, "rule"));
		assert_non_null(json_object_get(a, "since"));
		assert_true(!strcmp(json_string_value(json_object_get(a, "state")), "firing") ||
		            !strcmp(json_string_value(json_object_get(a, "state")), "pending"));
	}
	json_decref(j);
	free(out);
	assert_int_equal(gtctl("alerts", &out), 0);
	assert_non_null(strstr(out, "SEVERITY"));
	assert_non_null(strstr(out, " firing, "));
	free(out);
	/* the history: every kept change, oldest first */
	assert_int_equal(tg_get(&env, "/api/v1/alerts/history?limit=1000", NULL, &h, NULL, NULL),
	                 200);
	assert_int_equal(gtctl("alerts --history -o json", &out), 0);
	j = json_loads(out, 0, NULL);
	assert_true(json_is_array(j));
	/* (a GPU of the tests above may go stale in between: more changes, never fewer) */
	assert_true(json_array_size(j) >= json_array_size(json_object_get(h, "alerts")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "seq")),
	                 json_integer_value(json_object_get(
	                     json_array_get(json_object_get(h, "alerts"), 0), "seq")));
	json_decref(j);
	json_decref(h);
	free(out);
	/* --watch for a bounded time: the kept changes, then the one made meanwhile (from the
	 * history too, so it is there however late gtctl starts under load) */
	snprintf(cmd, sizeof(cmd),
	         "GT_GATEWAY_URL=%s %s/gtctl alerts --watch --history --duration 5s -o json",
	         env.gw.rpc_url, getenv("GT_BIN_DIR"));
	assert_non_null(p = popen(cmd, "r"));
	gt_sleep_ns(2 * GT_NS_PER_S);
	pub("host-a/2", "host-a", 99, -1); /* warm (>= 30) fires at once */
	while (fgets(line, sizeof(line), p) != NULL) {
		j = json_loads(line, 0, NULL);
		if (j == NULL)
			fail_msg("not a JSON line: %s", line);
		if (!strcmp(json_string_value(json_object_get(j, "rule")), "warm") &&
		    !strcmp(json_string_value(json_object_get(j, "state")), "firing") &&
		    !strcmp(json_string_value(json_object_get(j, "gpu")), "host-a/2"))
			found = 1;
		json_decref(j);
	}
	assert_int_equal(pclose(p), 0);
	assert_true(found);
	/* unreachable gateway: exit 3 */
	snprintf(cmd, sizeof(cmd),
	         "%s/gtctl --gateway-url tcp://127.0.0.1:%d alerts > /dev/null 2>&1",
	         getenv("GT_BIN_DIR"), gt_test_free_port());
	{
		int st = system(cmd);

		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 3);
	}
}

/* A bad rules file at start: exit 2, the message names the rule and the field. */
static void
test_bad_rules_file_exits_2(void **state)
{
	char  bad[600], errf[600], cmd[2000], *err;
	FILE *f;
	int   st;
	(void)state;

	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	snprintf(errf, sizeof(errf), "%s/bad.err", dir);
	f = fopen(bad, "w");
	fputs(
	    "{\"rules\":[{\"name\":\"ok\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":1},"
	    "{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">\",\"threshold\":\"high\"}]}",
	    f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "%s/gt-gateway --port 0 --bind 127.0.0.1 --rpc-url tcp://127.0.0.1:0 "
	         "--alert-rules %s > /dev/null 2> %s",
	         getenv("GT_BIN_DIR"), bad, errf);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	err = gt_test_read_file(errf, NULL);
	assert_non_null(err);
	if (strstr(err, "rule 1 (\"hot\"): field \"threshold\"") == NULL)
		fail_msg("stderr: %s", err);
	free(err);
	/* --print-config checks the rules file too (what the Helm chart test relies on) */
	snprintf(cmd, sizeof(cmd), "%s/gt-gateway --alert-rules %s --print-config > /dev/null 2> %s",
	         getenv("GT_BIN_DIR"), bad, errf);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	err = gt_test_read_file(errf, NULL);
	assert_non_null(err);
	if (strstr(err, "rule 1 (\"hot\"): field \"threshold\"") == NULL)
		fail_msg("stderr: %s", err);
	free(err);
	f = fopen(bad, "w"); /* now a good one */
	fputs(rules_v1, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s/gt-gateway --alert-rules %s --print-config > /dev/null",
	         getenv("GT_BIN_DIR"), bad);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threshold_for_rest_ws_metrics),
	    cmocka_unit_test(test_xid_event),
	    cmocka_unit_test(test_stale_and_vanished),
	    cmocka_unit_test(test_stale_after_streamer_stops),
	    cmocka_unit_test(test_webhook_down_then_up),
	    cmocka_unit_test(test_sighup_reload),
	    cmocka_unit_test(test_gtctl_alerts),
	    cmocka_unit_test(test_bad_rules_file_exits_2),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
