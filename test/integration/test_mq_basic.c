/* test_mq_basic.c - gt-mq end to end: exactly-once with acks, order per key, dedup,
 * long-poll, clean errors, HTTP admin. */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "gt/gt_time.h"
#include "test_mq_util.h"

#define TOPIC "gpu-telemetry"

static void
test_mq_100k_batched_each_delivered_once(void **state)
{
	tmq      m;
	size_t   total = 100000, batch = 1000, got = 0;
	uint8_t *seen = calloc(total, 1);
	int64_t *last_per_key = malloc(64 * sizeof(int64_t));
	int      idle = 0;

	(void)state;
	for (int i = 0; i < 64; i++)
		last_per_key[i] = -1;
	tmq_start(&m, NULL);
	for (size_t b = 0; b < total / batch; b++)
		assert_int_equal(
		    tmq_publish(&m, TOPIC, "p1", b + 1, b * batch, batch, 64, 150, NULL),
		    GT_RPC_OK);
	while (got < total && idle < 20) {
		Gtpb__V1__FetchResponse *r;
		uint32_t                 acked = 0;
		assert_int_equal(tmq_fetch(&m, TOPIC, "g1", "c1", 2000, 200, &r), GT_RPC_OK);
		if (r->n_deliveries == 0)
			idle++;
		for (size_t i = 0; i < r->n_deliveries; i++) {
			Gtpb__V1__Delivery *d = r->deliveries[i];
			int64_t             seq = tmq_payload_seq(d->message);
			assert_true(seq >= 0 && (size_t)seq < total);
			assert_int_equal(d->attempt, 1);
			assert_int_equal(seen[seq], 0);
			seen[seq] = 1;
			/* Per-key order: sequence numbers of one key grow. */
			assert_true(seq > last_per_key[seq % 64]);
			last_per_key[seq % 64] = seq;
			assert_int_equal(d->id->epoch, r->epoch);
			got++;
		}
		assert_int_equal(tmq_ack(&m, TOPIC, "g1", "c1", r, &acked), GT_RPC_OK);
		assert_int_equal(acked, r->n_deliveries);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(got, total);
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, TOPIC, "g1", "c1", 100, 50, &r), GT_RPC_OK);
		assert_int_equal(r->n_deliveries, 0);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g1", "lag"), 0);
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g1", "pending"), 0);
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g1", "acked"), (int64_t)total);
	assert_int_equal(tmq_group_stat(&m, TOPIC, NULL, "messages"), (int64_t)total);
	assert_int_equal(tmq_group_stat(&m, TOPIC, NULL, "retained"), 0);
	tmq_stop(&m);
	free(seen);
	free(last_per_key);
}

static void
test_mq_resent_publish_stored_once(void **state)
{
	tmq                        m;
	Gtpb__V1__PublishResponse *a, *b;
	Gtpb__V1__FetchResponse   *r;

	(void)state;
	tmq_start(&m, NULL);
	assert_int_equal(tmq_publish(&m, "t1", "prod", 7, 0, 10, 3, 10, &a), GT_RPC_OK);
	assert_false(a->duplicate);
	assert_int_equal(tmq_publish(&m, "t1", "prod", 7, 0, 10, 3, 10, &b), GT_RPC_OK);
	assert_true(b->duplicate);
	assert_int_equal(a->n_positions, 10);
	assert_int_equal(b->n_positions, 10);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(a->positions[i]->partition, b->positions[i]->partition);
		assert_int_equal(a->positions[i]->offset, b->positions[i]->offset);
	}
	protobuf_c_message_free_unpacked(&a->base, NULL);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	/* An older sequence is a duplicate too. */
	assert_int_equal(tmq_publish(&m, "t1", "prod", 3, 0, 10, 3, 10, &b), GT_RPC_OK);
	assert_true(b->duplicate);
	protobuf_c_message_free_unpacked(&b->base, NULL);
	assert_int_equal(tmq_fetch(&m, "t1", "g", "c", 1000, 100, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 10);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	tmq_stop(&m);
}

typedef struct late_pub {
	tmq    *m;
	int64_t sent_at;
} late_pub;

static void *
late_publisher(void *arg)
{
	late_pub *lp = arg;

	gt_sleep_ns(300 * GT_NS_PER_MS);
	lp->sent_at = gt_mono_ns();
	tmq_publish(lp->m, "lp", NULL, 0, 0, 1, 1, 10, NULL);
	return NULL;
}

static void
test_mq_long_poll_answers_on_arrival(void **state)
{
	tmq                      m;
	Gtpb__V1__FetchResponse *r;
	pthread_t                th;
	late_pub                 lp = {0};
	int64_t                  t0, t1;

	(void)state;
	tmq_start(&m, NULL);
	/* Create the topic, then park a fetch for 5 s. */
	assert_int_equal(tmq_publish(&m, "lp", NULL, 0, 0, 1, 1, 10, NULL), GT_RPC_OK);
	assert_int_equal(tmq_fetch(&m, "lp", "g", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	lp.m = &m;
	pthread_create(&th, NULL, late_publisher, &lp);
	t0 = gt_mono_ns();
	assert_int_equal(tmq_fetch(&m, "lp", "g", "c", 10, 5000, &r), GT_RPC_OK);
	t1 = gt_mono_ns();
	pthread_join(th, NULL);
	assert_int_equal(r->n_deliveries, 1);
	assert_true(t1 - t0 < 2 * GT_NS_PER_S);
	assert_true(t1 - lp.sent_at < 200 * GT_NS_PER_MS);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* Nothing arrives: empty answer after about wait_ms. */
	t0 = gt_mono_ns();
	assert_int_equal(tmq_fetch(&m, "lp", "g", "c", 10, 300, &r), GT_RPC_OK);
	t1 = gt_mono_ns();
	assert_int_equal(r->n_deliveries, 0);
	assert_true(t1 - t0 >= 250 * GT_NS_PER_MS && t1 - t0 < 2 * GT_NS_PER_S);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	tmq_stop(&m);
}

static void
test_mq_bad_requests_get_clean_errors(void **state)
{
	tmq                      m;
	Gtpb__V1__FetchResponse *r;
	Gtpb__V1__DeliveryId     bad_id = GTPB__V1__DELIVERY_ID__INIT, *ids[2];
	gt_rpc_stub              stub;
	ProtobufCMessage        *out = NULL;
	uint32_t                 acked = 99;

	(void)state;
	tmq_start(&m, NULL);
	/* Unknown topic. */
	assert_int_equal(tmq_fetch(&m, "nope", "g", "c", 10, 0, &r), GT_RPC_NOT_FOUND);
	/* Missing consumer name. */
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "", 10, 0, &r), GT_RPC_INVALID_ARGUMENT);
	/* Bad topic names. */
	assert_int_equal(tmq_publish(&m, "bad/name", NULL, 0, 0, 1, 1, 1, NULL),
	                 GT_RPC_INVALID_ARGUMENT);
	assert_int_equal(tmq_publish(&m, "x.dlq", NULL, 0, 0, 1, 1, 1, NULL),
	                 GT_RPC_INVALID_ARGUMENT);
	/* A Publish whose message bytes are not a Message: a FetchRequest's group field lands
	 * on PublishRequest.messages. */
	{
		Gtpb__V1__FetchRequest fr = GTPB__V1__FETCH_REQUEST__INIT;
		fr.topic = TOPIC;
		fr.group = "g";
		gt_rpc_stub_init(&stub, m.cli, &gtpb__v1__message_queue__descriptor,
		                 5 * GT_NS_PER_S);
		assert_int_not_equal(gt_rpc_call_by_name(&stub, "Publish", &fr.base, &out), GT_OK);
		assert_int_equal(stub.status.code, GT_RPC_INVALID_ARGUMENT);
	}
	/* Publish 5, fetch them. */
	assert_int_equal(tmq_publish(&m, TOPIC, NULL, 0, 0, 5, 5, 10, NULL), GT_RPC_OK);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 5);
	/* Ack unknown group. */
	ids[0] = r->deliveries[0]->id;
	assert_int_equal(tmq_ack_ids(&m, TOPIC, "other", ids, 1, &acked), GT_RPC_NOT_FOUND);
	/* One good id + one never delivered: nothing acked. */
	bad_id.epoch = r->epoch;
	bad_id.partition = 0;
	bad_id.offset = 1000000;
	ids[1] = &bad_id;
	assert_int_equal(tmq_ack_ids(&m, TOPIC, "g", ids, 2, &acked), GT_RPC_NOT_FOUND);
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g", "pending"), 5);
	/* Wrong epoch. */
	bad_id = *r->deliveries[0]->id;
	bad_id.epoch ^= 1;
	ids[1] = &bad_id;
	assert_int_equal(tmq_ack_ids(&m, TOPIC, "g", ids, 2, &acked), GT_RPC_NOT_FOUND);
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g", "pending"), 5);
	/* Now ack all; then again (idempotent, counts 0). */
	assert_int_equal(tmq_ack(&m, TOPIC, "g", "c", r, &acked), GT_RPC_OK);
	assert_int_equal(acked, 5);
	assert_int_equal(tmq_ack(&m, TOPIC, "g", "c", r, &acked), GT_RPC_OK);
	assert_int_equal(acked, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* Unknown method. */
	{
		Gtpb__V1__HealthRequest hr = GTPB__V1__HEALTH_REQUEST__INIT;
		gt_rpc_stub_init(&stub, m.cli, &gtpb__v1__message_queue__descriptor,
		                 5 * GT_NS_PER_S);
		assert_int_equal(gt_rpc_call_by_name(&stub, "Health", &hr.base, &out), GT_OK);
		assert_string_equal(((Gtpb__V1__HealthResponse *)out)->status, "ok");
		protobuf_c_message_free_unpacked(out, NULL);
	}
	tmq_stop(&m);
}

static void
test_mq_http_admin_endpoints(void **state)
{
	tmq          m;
	char        *body = NULL;
	json_t      *root;
	json_error_t err;

	(void)state;
	tmq_start(&m, NULL);
	assert_int_equal(tmq_publish(&m, TOPIC, NULL, 0, 0, 3, 3, 10, NULL), GT_RPC_OK);
	assert_int_equal(tmq_http(&m, "/health", &body), 200);
	assert_non_null(strstr(body, "\"ok\""));
	free(body);
	assert_int_equal(tmq_http(&m, "/stats", &body), 200);
	root = json_loads(body, 0, &err);
	assert_non_null(root);
	assert_true(json_is_object(json_object_get(json_object_get(root, "topics"), TOPIC)));
	assert_int_equal(json_integer_value(json_object_get(root, "total_processed")), 3);
	assert_true(json_is_number(json_object_get(root, "uptime_seconds")));
	assert_true(json_is_number(json_object_get(
	    json_object_get(json_object_get(root, "topics"), TOPIC), "throughput_msg_per_sec")));
	json_decref(root);
	free(body);
	assert_int_equal(tmq_http(&m, "/metrics", &body), 200);
	assert_non_null(strstr(body, "gt_mq_published_total 3"));
	free(body);
	assert_int_equal(tmq_http(&m, "/topics", &body), 200);
	assert_non_null(strstr(body, TOPIC));
	free(body);
	tmq_stop(&m);
}

static void
test_mq_fetch_carries_acks_as_ranges(void **state)
{
	tmq                      m;
	Gtpb__V1__FetchResponse *r, *r2;
	Gtpb__V1__FetchRequest   fr = GTPB__V1__FETCH_REQUEST__INIT;
	Gtpb__V1__AckRange       rg = GTPB__V1__ACK_RANGE__INIT, *rgp = &rg;
	gt_rpc_stub              stub;
	uint64_t                 first;

	(void)state;
	tmq_start(&m, NULL);
	assert_int_equal(tmq_publish(&m, "ar", NULL, 0, 0, 100, 1, 10, NULL), GT_RPC_OK);
	assert_int_equal(tmq_fetch(&m, "ar", "g", "c", 60, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 60);
	first = r->deliveries[0]->id->offset;
	/* A range reaching past what was delivered: the whole Fetch fails, nothing changes. */
	rg.epoch = r->epoch;
	rg.partition = r->deliveries[0]->id->partition;
	rg.offset = first;
	rg.count = 61;
	fr.topic = "ar";
	fr.group = "g";
	fr.consumer = "c";
	fr.max_messages = 100;
	fr.n_ack = 1;
	fr.ack = &rgp;
	gt_rpc_stub_init(&stub, m.cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	assert_int_not_equal(
	    gt_rpc_call_by_name(&stub, "Fetch", &fr.base, (ProtobufCMessage **)&r2), GT_OK);
	assert_int_equal(stub.status.code, GT_RPC_NOT_FOUND);
	assert_int_equal(tmq_group_stat(&m, "ar", "g", "pending"), 60);
	/* The 60 delivered: acked by the Fetch that brings the other 40. */
	rg.count = 60;
	assert_int_equal(gt_rpc_call_by_name(&stub, "Fetch", &fr.base, (ProtobufCMessage **)&r2),
	                 GT_OK);
	assert_int_equal(r2->n_deliveries, 40);
	assert_int_equal(r2->deliveries[0]->id->offset, first + 60);
	assert_int_equal(tmq_group_stat(&m, "ar", "g", "pending"), 40);
	assert_int_equal(tmq_group_stat(&m, "ar", "g", "acked"), 60);
	/* Ack RPC with ranges. */
	{
		Gtpb__V1__AckRequest ar = GTPB__V1__ACK_REQUEST__INIT;
		ProtobufCMessage    *out = NULL;
		rg.offset = first + 60;
		rg.count = 40;
		ar.topic = "ar";
		ar.group = "g";
		ar.consumer = "c";
		ar.n_ranges = 1;
		ar.ranges = &rgp;
		assert_int_equal(gt_rpc_call_by_name(&stub, "Ack", &ar.base, &out), GT_OK);
		assert_int_equal(((Gtpb__V1__AckResponse *)out)->acked, 40);
		protobuf_c_message_free_unpacked(out, NULL);
	}
	assert_int_equal(tmq_group_stat(&m, "ar", "g", "pending"), 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	protobuf_c_message_free_unpacked(&r2->base, NULL);
	tmq_stop(&m);
}

static void
test_mq_publish_can_omit_positions(void **state)
{
	tmq                        m;
	Gtpb__V1__PublishRequest   req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message          msg = GTPB__V1__MESSAGE__INIT, *mp = &msg;
	Gtpb__V1__PublishResponse *pr = NULL;
	Gtpb__V1__FetchResponse   *r;
	gt_rpc_stub                stub;

	(void)state;
	tmq_start(&m, NULL);
	msg.key = "k";
	msg.payload.data = (uint8_t *)"7|x";
	msg.payload.len = 3;
	req.topic = "op";
	req.n_messages = 1;
	req.messages = &mp;
	req.omit_positions = 1;
	gt_rpc_stub_init(&stub, m.cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	assert_int_equal(gt_rpc_call_by_name(&stub, "Publish", &req.base, (ProtobufCMessage **)&pr),
	                 GT_OK);
	assert_int_equal(pr->n_positions, 0);
	protobuf_c_message_free_unpacked(&pr->base, NULL);
	assert_int_equal(tmq_fetch(&m, "op", "g", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	assert_int_equal(tmq_payload_seq(r->deliveries[0]->message), 7);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	tmq_stop(&m);
}

static void
test_mq_live_feed_on_pub_socket(void **state)
{
	tmq                m;
	nng_socket         sub;
	nng_msg           *msg = NULL;
	Gtpb__V1__Message *pm;
	int64_t            deadline;
	size_t             tl = strlen("live");

	(void)state;
	tmq_start(&m, NULL);
	assert_non_null(m.pub_url);
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "live", tl), 0);
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 3000);
	assert_int_equal(nng_dial(sub, m.pub_url, NULL, 0), 0);
	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	assert_int_equal(tmq_publish(&m, "live", NULL, 0, 0, 1, 1, 5, NULL), GT_RPC_OK);
	while (tmq_group_stat(&m, "live", NULL, "subscribers") != 1 && gt_mono_ns() < deadline)
		gt_sleep_ns(10 * GT_NS_PER_MS);
	assert_int_equal(tmq_group_stat(&m, "live", NULL, "subscribers"), 1);
	gt_sleep_ns(50 * GT_NS_PER_MS); /* the subscription reaches the PUB side */
	assert_int_equal(tmq_publish(&m, "other", NULL, 0, 0, 1, 1, 5, NULL), GT_RPC_OK);
	assert_int_equal(tmq_publish(&m, "live", NULL, 0, 42, 1, 1, 5, NULL), GT_RPC_OK);
	/* The first "live" message may or may not have been seen; "other" never is. */
	for (;;) {
		int64_t seq;
		assert_int_equal(nng_recvmsg(sub, &msg, 0), 0);
		assert_true(nng_msg_len(msg) > tl + 1);
		assert_memory_equal(nng_msg_body(msg), "live\0", tl + 1);
		pm = gtpb__v1__message__unpack(NULL, nng_msg_len(msg) - tl - 1,
		                               (uint8_t *)nng_msg_body(msg) + tl + 1);
		assert_non_null(pm);
		seq = tmq_payload_seq(pm);
		gtpb__v1__message__free_unpacked(pm, NULL);
		nng_msg_free(msg);
		if (seq == 42)
			break;
		assert_int_equal(seq, 0);
	}
	tmq_stop(&m); /* publisher first: nng_close() can deadlock with traffic in flight */
	nng_close(sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_100k_batched_each_delivered_once, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_resent_publish_stored_once, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_long_poll_answers_on_arrival, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_bad_requests_get_clean_errors, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_http_admin_endpoints, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_fetch_carries_acks_as_ranges, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_live_feed_on_pub_socket, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_publish_can_omit_positions, tmq_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
