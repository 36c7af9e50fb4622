/* test_gateway_ws.c - gt-gateway WebSocket /ws over a real gt-mq + gt-collector live feed:
 * subscriptions (gpus, metrics) get only their records, ping/pong, bad messages, a stalled
 * client sees "dropped", heartbeats, a client that stops answering pings is closed, and 200
 * idle + 20 stalled clients keep the gateway's RSS bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_record.h"
#include "gt/gt_time.h"
#include "gt_test.h"
#include "gt_wsc.h"
#include "test_gateway_util.h"

static tg_env  env;
static int64_t ts0;
static uint64_t next_rec;
/* A second live feed the test publishes on itself (hand-made TelemetryBatch messages). */
static nng_socket feed;
static char       feed_url[64];

static int
setup(void **state)
{
	static const char *extra[] = {"--ws-queue-bytes", "16384", "--ws-heartbeat", "1s",
	                              "--stale-after", "2s", "--collector-live-url", feed_url,
	                              NULL};
	nng_listener lst;
	int          port = 0;
	(void)state;
	assert_int_equal(nng_pub0_open(&feed), 0);
	assert_int_equal(nng_listen(feed, "tcp://127.0.0.1:0", &lst, 0), 0);
	assert_int_equal(nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port), 0);
	snprintf(feed_url, sizeof(feed_url), "tcp://127.0.0.1:%d", port);
	ts0 = gt_now_ns();
	tg_start(&env, 1, extra);
	tg_wait_component(&env, "collector-0", "ok");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_stop(&env);
	nng_close(feed);
	return 0;
}

/* Opens a client and checks the hello. */
static gt_wsc *
ws_open(int rcvbuf)
{
	gt_wsc *c = gt_wsc_open(env.gw.http_port, "/ws", rcvbuf);
	char   *m;

	assert_non_null(c);
	m = gt_wsc_recv(c, 5 * GT_NS_PER_S);
	assert_non_null(m);
	assert_non_null(strstr(m, "\"type\":\"hello\""));
	assert_non_null(strstr(m, "\"heartbeat_ms\":1000"));
	free(m);
	/* then the current alerts (gpu_stale ones at most: this gateway has no rules) */
	m = gt_wsc_recv(c, 5 * GT_NS_PER_S);
	assert_non_null(m);
	assert_non_null(strstr(m, "{\"type\":\"alerts\",\"alerts\":["));
	free(m);
	return c;
}

/* The next frame that is not a heartbeat or an alert. */
static json_t *
next_json(gt_wsc *c, int64_t timeout)
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
		/* alert frames go to every client (GPUs of earlier tests go stale): not ours here
		 */
		if (strcmp(json_string_value(json_object_get(j, "type")), "heartbeat") == 0 ||
		    strcmp(json_string_value(json_object_get(j, "type")), "alert") == 0 ||
		    strcmp(json_string_value(json_object_get(j, "type")), "alerts") == 0) {
			json_decref(j);
			continue;
		}
		return j;
	}
	return NULL;
}

static void
publish(size_t n, unsigned ngpus)
{
	tg_publish(&env, next_rec, n, ngpus, ts0, 0);
	next_rec += n;
}

static void
test_ws_subscriptions(void **state)
{
	gt_wsc *a = ws_open(0), *b = ws_open(0), *c = ws_open(0);
	json_t *j;
	size_t  na = 0, nb = 0;
	(void)state;

	assert_int_equal(gt_wsc_send(a, "{\"subscribe\":{\"gpus\":[\"GPU-test-1\"],"
	                                "\"metrics\":[\"temperature\"]}}"),
	                 0);
	assert_int_equal(gt_wsc_send(b, "{\"subscribe\":{\"gpus\":[\"*\"],\"metrics\":[]}}"), 0);
	/* the subscription is in place once a ping (sent after it) is answered */
	assert_int_equal(gt_wsc_send(a, "{\"ping\":{\"n\":1}}"), 0);
	j = next_json(a, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "pong");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "ping"), "n")), 1);
	json_decref(j);
	assert_int_equal(gt_wsc_send(b, "{\"ping\":7}"), 0);
	j = next_json(b, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "pong");
	json_decref(j);

	publish(20, 4); /* GPU-test-0..3, 5 records each */
	while (na < 5 && (j = next_json(a, 5 * GT_NS_PER_S)) != NULL) {
		json_t *m = json_object_get(j, "metrics");

		assert_string_equal(json_string_value(json_object_get(j, "type")), "record");
		assert_string_equal(json_string_value(json_object_get(j, "gpu_key")), "GPU-test-1");
		assert_non_null(json_object_get(m, "temperature"));
		assert_null(json_object_get(m, "power_draw"));
		assert_non_null(json_object_get(j, "timestamp"));
		na++;
		json_decref(j);
	}
	while (nb < 20 && (j = next_json(b, 5 * GT_NS_PER_S)) != NULL) {
		assert_string_equal(json_string_value(json_object_get(j, "type")), "record");
		assert_non_null(json_object_get(json_object_get(j, "metrics"), "power_draw"));
		nb++;
		json_decref(j);
	}
	assert_int_equal(na, 5);
	assert_int_equal(nb, 20);
	/* nothing more for a; c never subscribed: nothing but heartbeats */
	assert_null(next_json(a, 300 * GT_NS_PER_MS));
	assert_null(next_json(c, 300 * GT_NS_PER_MS));

	/* a subscription to metrics a record lacks sends nothing */
	assert_int_equal(gt_wsc_send(a, "{\"subscribe\":{\"gpus\":[\"*\"],\"metrics\":[\"fan_speed\"]}}"),
	                 0);
	assert_int_equal(gt_wsc_send(a, "{\"ping\":2}"), 0);
	json_decref(next_json(a, 5 * GT_NS_PER_S));
	publish(4, 4);
	assert_null(next_json(a, 500 * GT_NS_PER_MS));

	/* bad messages: an error, and the connection stays */
	assert_int_equal(gt_wsc_send(c, "not json"), 0);
	j = next_json(c, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
	json_decref(j);
	assert_int_equal(gt_wsc_send(c, "{\"subscribe\":{\"gpus\":\"GPU-test-1\"}}"), 0);
	j = next_json(c, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "gpus"));
	json_decref(j);
	assert_int_equal(gt_wsc_send(c, "{\"ping\":3}"), 0);
	j = next_json(c, 5 * GT_NS_PER_S);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "pong");
	json_decref(j);
	gt_wsc_close(a);
	gt_wsc_close(b);
	gt_wsc_close(c);
}

static void
test_ws_heartbeat_and_dead_client(void **state)
{
	gt_wsc *a = ws_open(0), *d = ws_open(0);
	char   *m;
	int64_t deadline;
	int     beat = 0;
	(void)state;

	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (!beat && gt_mono_ns() < deadline && (m = gt_wsc_recv(a, GT_NS_PER_S)) != NULL) {
		beat = strstr(m, "\"type\":\"heartbeat\"") != NULL;
		free(m);
	}
	assert_true(beat);
	/* d stops answering pings: closed after a few heartbeat periods */
	gt_wsc_no_pong(d);
	deadline = gt_mono_ns() + 15 * GT_NS_PER_S;
	while (!gt_wsc_closed(d) && gt_mono_ns() < deadline)
		free(gt_wsc_recv(d, 200 * GT_NS_PER_MS));
	assert_true(gt_wsc_closed(d));
	gt_wsc_close(d);
	gt_wsc_close(a);
}

static long
rss_kb(pid_t pid)
{
	char  path[64], *s, *p;
	long  v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((s = gt_test_read_file(path, NULL)) != NULL && (p = strstr(s, "VmRSS:")) != NULL)
		v = strtol(p + 6, NULL, 10);
	free(s);
	return v;
}

static void
test_ws_stalled_clients_drop_and_rss_bounded(void **state)
{
	gt_wsc *idle[200], *stalled[20];
	size_t  i;
	long    before, after;
	int     dropped = 0;
	int64_t deadline;
	(void)state;

	for (i = 0; i < 200; i++)
		idle[i] = ws_open(0);
	for (i = 0; i < 20; i++) {
		stalled[i] = ws_open(4096);
		assert_int_equal(gt_wsc_send(stalled[i], "{\"subscribe\":{\"gpus\":[\"*\"]}}"), 0);
	}
	gt_sleep_ns(300 * GT_NS_PER_MS);
	before = rss_kb(gt_proc_pid(env.gw.proc));
	/* ~400 bytes per frame, 20,000 frames per stalled client: 8 MB each if unbounded */
	publish(20000, 50);
	gt_sleep_ns(500 * GT_NS_PER_MS);
	after = rss_kb(gt_proc_pid(env.gw.proc));
	print_message("gateway RSS %ld kB -> %ld kB with 200 idle + 20 stalled clients\n", before,
	              after);
	assert_true(after - before < 40 * 1024);
	/* a stalled client that reads again learns what it lost */
	deadline = gt_mono_ns() + 10 * GT_NS_PER_S;
	while (!dropped && gt_mono_ns() < deadline) {
		char *m = gt_wsc_recv(stalled[0], GT_NS_PER_S);

		if (m == NULL)
			break;
		dropped = strstr(m, "\"type\":\"dropped\"") != NULL;
		free(m);
	}
	assert_true(dropped);
	{
		json_t *j = NULL;

		assert_int_equal(tg_get(&env, "/stats", NULL, &j, NULL, NULL), 200);
		assert_true(json_integer_value(json_object_get(
		                json_object_get(json_object_get(j, "gateway"), "ws"),
		                "frames_dropped")) > 0);
		json_decref(j);
	}
	for (i = 0; i < 200; i++)
		gt_wsc_close(idle[i]);
	for (i = 0; i < 20; i++)
		gt_wsc_close(stalled[i]);
}

static void
test_metrics_fed_by_live_feed_and_stale_gpus_leave(void **state)
{
	char  *raw = NULL;
	size_t len;
	(void)state;

	ts0 = gt_now_ns();
	tg_publish(&env, next_rec, 3, 3, ts0 - (int64_t)next_rec * 1000, 0);
	next_rec += 3;
	gt_sleep_ns(200 * GT_NS_PER_MS);
	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_non_null(strstr(raw, "DCGM_FI_DEV_GPU_TEMP{"));
	assert_non_null(strstr(raw, "gt_gpu_info{"));
	free(raw);
	gt_sleep_ns(3 * GT_NS_PER_S); /* --stale-after 2s */
	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_null(strstr(raw, "DCGM_FI_DEV_GPU_TEMP{"));
	assert_null(strstr(raw, "gt_gpu_info{"));
	assert_non_null(strstr(raw, "gt_gateway_requests_total"));
	free(raw);
}

/* One feed message: topic, NUL, then body (body NULL: no NUL either). */
static void
feed_send(const gt_buf *body)
{
	nng_msg *m;

	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	assert_int_equal(nng_msg_append(m, "gpu", 3), 0);
	if (body != NULL) {
		assert_int_equal(nng_msg_append(m, "", 1), 0);
		assert_int_equal(nng_msg_append(m, body->data, body->len), 0);
	}
	assert_int_equal(nng_sendmsg(feed, m, 0), 0);
}

static void
feed_record(gt_buf *b, const char *key)
{
	Gtpb__V1__TelemetryRecord r = GTPB__V1__TELEMETRY_RECORD__INIT;
	uint8_t                   raw[256];

	r.gpu_key = (char *)key;
	r.hostname = "feed-host";
	r.timestamp_ns = gt_now_ns();
	assert_true(gt_record_size(&r) <= sizeof(raw));
	assert_int_equal(gt_record_batch_put(b, raw, gt_record_pack(&r, raw)), GT_OK);
}

static uint64_t
ws_stat(const char *name)
{
	json_t  *j = NULL;
	uint64_t v;

	assert_int_equal(tg_get(&env, "/stats", NULL, &j, NULL, NULL), 200);
	v = (uint64_t)json_integer_value(
	    json_object_get(json_object_get(json_object_get(j, "gateway"), "ws"), name));
	json_decref(j);
	return v;
}

/* The live feed's batches are decoded all or nothing: a batch with one malformed record
 * counts one decode error and none of its records; an empty batch is no error. */
static void
test_live_feed_batches_all_or_nothing(void **state)
{
	static const uint8_t bad[] = {0x0a, 0x05, 'a'}; /* gpu_key: 5 bytes promised, 1 given */
	gt_buf               good, mixed, empty;
	uint64_t             in0, err0;
	int64_t              deadline = gt_mono_ns() + 20 * GT_NS_PER_S;
	(void)state;

	gt_buf_init(&good);
	gt_buf_init(&mixed);
	gt_buf_init(&empty);
	feed_record(&good, "GPU-feed-0");
	feed_record(&good, "GPU-feed-1");
	feed_record(&mixed, "GPU-feed-2");
	assert_int_equal(gt_record_batch_put(&mixed, bad, sizeof(bad)), GT_OK);
	/* the SUB side dials on its own time: send until a good batch arrives */
	in0 = ws_stat("records_in");
	while (ws_stat("records_in") == in0) {
		assert_true(gt_mono_ns() < deadline);
		feed_send(&good);
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	in0 = ws_stat("records_in");
	err0 = ws_stat("decode_errors");
	feed_send(&mixed);
	feed_send(NULL);   /* no topic terminator */
	feed_send(&empty); /* a TelemetryBatch of no records */
	feed_send(&good);  /* in order after the others: its arrival means they were read */
	while (ws_stat("records_in") == in0)
		assert_true(gt_mono_ns() < deadline);
	assert_int_equal(ws_stat("records_in"), in0 + 2);
	assert_int_equal(ws_stat("decode_errors"), err0 + 2);
	gt_buf_fini(&good);
	gt_buf_fini(&mixed);
	gt_buf_fini(&empty);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ws_subscriptions),
	    cmocka_unit_test(test_ws_heartbeat_and_dead_client),
	    cmocka_unit_test(test_ws_stalled_clients_drop_and_rss_bounded),
	    cmocka_unit_test(test_metrics_fed_by_live_feed_and_stale_gpus_leave),
	    cmocka_unit_test(test_live_feed_batches_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
