/* Integration: gt-mq + gt-collector: publish a fixture, query it back complete and in order
 * over HTTP (JSON and protobuf) and RPC; bad parameters -> 400, unknown GPU -> 404; an invalid
 * payload is dead-lettered; SIGTERM exits 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/collector.pb-c.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"
#include "test_collector_util.h"

#define NGPU 4
#define PER_GPU 250
#define TS0 INT64_C(1764000000000000000)

static void
test_collector_publish_query_back_in_order(void **state)
{
	char   *dir = gt_test_tmpdir("colbasic");
	tc_svc  mq, col;
	json_t *j, *recs;
	char    key[64], path[256];
	size_t  i;
	unsigned g;

	(void)state;
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, dir, "c1", (const char *const[]){"--max-entries", "100", NULL});
	tc_publish(&mq, 0, NGPU * PER_GPU, NGPU, TS0, 0);
	assert_int_equal(tc_wait_processed(&col, NGPU * PER_GPU, 20 * GT_NS_PER_S), NGPU * PER_GPU);

	for (g = 0; g < NGPU; g++) {
		tc_key(key, sizeof(key), g, 0);
		/* oldest first, everything (files: older than the 100-entry cache) */
		snprintf(path, sizeof(path), "/telemetry/%s?limit=1000&reverse=true", key);
		assert_int_equal(tc_get(&col, path, NULL, &j, NULL, NULL), 200);
		assert_non_null(j);
		recs = json_object_get(j, "records");
		assert_int_equal(json_array_size(recs), PER_GPU);
		for (i = 0; i < PER_GPU; i++) {
			json_t     *r = json_array_get(recs, i);
			uint64_t    idx = i * NGPU + g;
			const char *ts = json_string_value(json_object_get(r, "timestamp"));
			int64_t     t;

			assert_non_null(ts);
			assert_int_equal(gt_rfc3339_parse(ts, &t), GT_OK);
			assert_int_equal(t, TS0 + (int64_t)idx * 1000);
			assert_true(json_number_value(json_object_get(json_object_get(r, "metrics"), "temperature")) ==
			    (double)idx);
			assert_string_equal(json_string_value(json_object_get(json_object_get(r, "labels"), "job")),
			    "train \"x\"");
		}
		json_decref(j);
		assert_int_equal(tc_count_lines(dir, key), PER_GPU);
	}
	/* default: newest first, from the cache; metric filter */
	tc_key(key, sizeof(key), 1, 0);
	snprintf(path, sizeof(path), "/telemetry/%s?limit=3&metric=temperature", key);
	assert_int_equal(tc_get(&col, path, NULL, &j, NULL, NULL), 200);
	recs = json_object_get(j, "records");
	assert_int_equal(json_array_size(recs), 3);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "cache");
	assert_true(json_number_value(json_object_get(json_object_get(json_array_get(recs, 0), "metrics"),
	                "temperature")) == (double)((PER_GPU - 1) * NGPU + 1));
	assert_null(json_object_get(json_object_get(json_array_get(recs, 0), "metrics"), "power_draw"));
	json_decref(j);
	/* since/until in unix ns and RFC 3339 */
	snprintf(path, sizeof(path), "/telemetry/%s?since=%lld&until=2025-11-24T16:00:00.000009Z&reverse=true",
	    key, (long long)(TS0 + 1000));
	assert_int_equal(tc_get(&col, path, NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 3); /* idx 1, 5 and 9 */
	json_decref(j);
	/* protobuf */
	{
		char                           *raw;
		size_t                          len;
		Gtpb__V1__GetTelemetryResponse *pr;
		Gtpb__V1__ListGpusResponse     *lr;

		snprintf(path, sizeof(path), "/telemetry/%s?limit=7", key);
		assert_int_equal(tc_get(&col, path, "application/x-protobuf", NULL, &raw, &len), 200);
		pr = gtpb__v1__get_telemetry_response__unpack(NULL, len, (uint8_t *)raw);
		assert_non_null(pr);
		assert_int_equal(pr->n_records, 7);
		assert_true(pr->truncated);
		assert_string_equal(pr->records[0]->gpu_key, key);
		assert_true(pr->records[0]->timestamp_ns > pr->records[1]->timestamp_ns);
		gtpb__v1__get_telemetry_response__free_unpacked(pr, NULL);
		free(raw);
		assert_int_equal(tc_get(&col, "/gpus", "application/x-protobuf", NULL, &raw, &len), 200);
		lr = gtpb__v1__list_gpus_response__unpack(NULL, len, (uint8_t *)raw);
		assert_non_null(lr);
		assert_int_equal(lr->n_gpus, NGPU);
		assert_int_equal(lr->gpus[0]->records, PER_GPU);
		assert_int_equal(lr->gpus[0]->n_latest, 2);
		gtpb__v1__list_gpus_response__free_unpacked(lr, NULL);
		free(raw);
	}
	assert_int_equal(tc_get(&col, "/gpus", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), NGPU);
	json_decref(j);

	/* errors: 400 naming the parameter, 404 for an unknown GPU; JSON bodies */
	{
		const char *bad[][2] = {{"limit=abc", "limit"}, {"limit=0", "limit"}, {"reverse=maybe", "reverse"},
		    {"since=yesterday", "since"}, {"until=12abc", "until"}};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(path, sizeof(path), "/telemetry/%s?%s", key, bad[i][0]);
			assert_int_equal(tc_get(&col, path, NULL, &j, NULL, NULL), 400);
			assert_non_null(j);
			assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			    bad[i][1]));
			json_decref(j);
		}
		assert_int_equal(tc_get(&col, "/telemetry/no-such-gpu", NULL, &j, NULL, NULL), 404);
		assert_non_null(j);
		assert_non_null(json_object_get(j, "error"));
		json_decref(j);
	}
	/* RPC: ListGpus, GetTelemetry, Aggregate, Health, unknown GPU */
	{
		gt_rpc_stub                     stub;
		Gtpb__V1__GetTelemetryRequest   gr = GTPB__V1__GET_TELEMETRY_REQUEST__INIT;
		Gtpb__V1__AggregateRequest      ar = GTPB__V1__AGGREGATE_REQUEST__INIT;
		Gtpb__V1__ListGpusRequest       lr = GTPB__V1__LIST_GPUS_REQUEST__INIT;
		Gtpb__V1__HealthRequest         hr = GTPB__V1__HEALTH_REQUEST__INIT;
		ProtobufCMessage               *out;

		gt_rpc_stub_init(&stub, col.cli, &gtpb__v1__telemetry_service__descriptor, 5 * GT_NS_PER_S);
		gr.gpu = key;
		gr.limit = 1000;
		gr.reverse = 1;
		assert_int_equal(gt_rpc_call_by_name(&stub, "GetTelemetry", &gr.base, &out), GT_OK);
		assert_int_equal(((Gtpb__V1__GetTelemetryResponse *)out)->n_records, PER_GPU);
		assert_int_equal(((Gtpb__V1__GetTelemetryResponse *)out)->records[0]->timestamp_ns, TS0 + 1000);
		protobuf_c_message_free_unpacked(out, NULL);
		gr.gpu = "missing";
		assert_int_not_equal(gt_rpc_call_by_name(&stub, "GetTelemetry", &gr.base, &out), GT_OK);
		assert_int_equal(stub.status.code, GT_RPC_NOT_FOUND);
		assert_int_equal(gt_rpc_call_by_name(&stub, "ListGpus", &lr.base, &out), GT_OK);
		assert_int_equal(((Gtpb__V1__ListGpusResponse *)out)->n_gpus, NGPU);
		protobuf_c_message_free_unpacked(out, NULL);
		ar.gpu = key;
		ar.metric = "temperature";
		ar.since_ns = TS0;
		ar.until_ns = TS0 + NGPU * PER_GPU * 1000 - 1;
		ar.step_ns = NGPU * PER_GPU * 1000 / 10;
		assert_int_equal(gt_rpc_call_by_name(&stub, "Aggregate", &ar.base, &out), GT_OK);
		{
			Gtpb__V1__AggregateResponse *a = (Gtpb__V1__AggregateResponse *)out;
			uint64_t                     total = 0;

			assert_int_equal(a->n_points, 10);
			for (i = 0; i < a->n_points; i++)
				total += a->points[i]->count;
			assert_int_equal(total, PER_GPU);
			assert_true(a->points[0]->min == 1.0);
		}
		protobuf_c_message_free_unpacked(out, NULL);
		/* hostile ranges: answered or INVALID_ARGUMENT, and the collector stays up */
		{
			static const int64_t cases[][3] = {{INT64_MIN, INT64_MAX, INT64_C(1) << 61},
			    {INT64_MIN, INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MAX, 1},
			    {INT64_MAX, INT64_MIN, 1}, {1, 0, INT64_MIN}, {INT64_MIN, INT64_MIN + 1, 0},
			    {0, INT64_MIN, 0}, {INT64_MIN, 0, 0}};

			for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
				ar.since_ns = cases[i][0];
				ar.until_ns = cases[i][1];
				ar.step_ns = cases[i][2];
				if (gt_rpc_call_by_name(&stub, "Aggregate", &ar.base, &out) == GT_OK)
					protobuf_c_message_free_unpacked(out, NULL);
				else
					assert_int_equal(stub.status.code, GT_RPC_INVALID_ARGUMENT);
			}
		}
		assert_int_equal(gt_rpc_call_by_name(&stub, "Health", &hr.base, &out), GT_OK);
		assert_string_equal(((Gtpb__V1__HealthResponse *)out)->service, "collector");
		protobuf_c_message_free_unpacked(out, NULL);
	}
	assert_int_equal(tc_get(&col, "/health", NULL, NULL, NULL, NULL), 200);
	{
		char  *raw;
		size_t len;

		assert_int_equal(tc_get(&col, "/metrics", NULL, NULL, &raw, &len), 200);
		assert_non_null(strstr(raw, "gt_collector_stored_total"));
		free(raw);
	}
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_collector_invalid_payload_dead_lettered(void **state)
{
	char                   *dir = gt_test_tmpdir("coldlq");
	tc_svc                  mq, col;
	gt_rpc_stub             stub;
	Gtpb__V1__DlqListRequest req = GTPB__V1__DLQ_LIST_REQUEST__INIT;
	ProtobufCMessage       *out = NULL;
	int64_t                 end;

	(void)state;
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, dir, "c1", NULL);
	tc_publish(&mq, 0, 10, 2, TS0, 1); /* keys with '/' */
	tc_publish_garbage(&mq, "host-0/0");
	{
		/* strings that are not UTF-8 would poison every reader: dead-lettered too */
		Gtpb__V1__TelemetryRecord r = GTPB__V1__TELEMETRY_RECORD__INIT;

		r.timestamp_ns = TS0;
		r.gpu_key = "host-0/0";
		r.hostname = "host-\xff\xfe";
		tc_publish_record(&mq, "host-0/0", &r);
	}
	tc_publish(&mq, 10, 10, 2, TS0, 1);
	assert_int_equal(tc_wait_processed(&col, 20, 20 * GT_NS_PER_S), 20);
	gt_rpc_stub_init(&stub, mq.cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	req.topic = "gpu-telemetry";
	req.limit = 10;
	end = gt_mono_ns() + 10 * GT_NS_PER_S;
	for (;;) {
		assert_int_equal(gt_rpc_call_by_name(&stub, "DlqList", &req.base, &out), GT_OK);
		if (((Gtpb__V1__DlqListResponse *)out)->n_letters > 1 || gt_mono_ns() > end)
			break;
		protobuf_c_message_free_unpacked(out, NULL);
		gt_sleep_ns(100 * GT_NS_PER_MS);
	}
	{
		Gtpb__V1__DlqListResponse *r = (Gtpb__V1__DlqListResponse *)out;

		assert_int_equal(r->n_letters, 2);
		assert_true(strstr(r->letters[0]->reason, "TelemetryRecord") != NULL ||
		    strstr(r->letters[1]->reason, "TelemetryRecord") != NULL);
		assert_true(strstr(r->letters[0]->reason, "UTF-8") != NULL ||
		    strstr(r->letters[1]->reason, "UTF-8") != NULL);
	}
	protobuf_c_message_free_unpacked(out, NULL);
	assert_int_equal(tc_stat(&col, "invalid"), 2);
	/* a key with '/' is addressed as /telemetry/{host}/{index} or ?gpu= */
	{
		json_t *j;

		assert_int_equal(tc_get(&col, "/telemetry/host-0/0?limit=100", NULL, &j, NULL, NULL), 200);
		assert_int_equal(json_integer_value(json_object_get(j, "count")), 10);
		json_decref(j);
		assert_int_equal(tc_get(&col, "/telemetry?gpu=host-1%2F0", NULL, &j, NULL, NULL), 200);
		assert_int_equal(json_integer_value(json_object_get(j, "count")), 10);
		json_decref(j);
		assert_int_equal(tc_count_lines(dir, "host-0_0@"), 10); /* sanitised, inside dir */
	}
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_collector_live_feed_publishes_stored_records(void **state)
{
	char                     *dir = gt_test_tmpdir("colpub");
	tc_svc                    mq, col;
	char                     *pub;
	nng_socket                sub;
	nng_msg                  *m = NULL;
	char                      key[64];
	size_t                    kl, got = 0;
	int64_t                   end;

	(void)state;
	tc_mq_start(&mq, NULL);
	tc_col_start(&col, &mq, dir, "c1", NULL);
	pub = gt_proc_ready_str(col.proc, "pub_url");
	assert_non_null(pub);
	tc_key(key, sizeof(key), 2, 0);
	kl = strlen(key);
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, key, kl), 0);
	assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
	assert_int_equal(nng_dial(sub, pub, NULL, 0), 0);
	gt_sleep_ns(300 * GT_NS_PER_MS); /* PUB/SUB: the subscription must be in place first */
	tc_publish(&mq, 0, 40, 4, TS0, 0);
	end = gt_mono_ns() + 10 * GT_NS_PER_S;
	while (got < 10 && gt_mono_ns() < end) {
		Gtpb__V1__TelemetryBatch *b;
		const char               *body;
		size_t                    len, i;

		if (nng_recvmsg(sub, &m, 0) != 0)
			continue;
		body = nng_msg_body(m);
		len = nng_msg_len(m);
		/* topic (gpu key) NUL packed TelemetryBatch */
		assert_true(len > kl + 1);
		assert_memory_equal(body, key, kl);
		assert_int_equal(body[kl], '\0');
		b = gtpb__v1__telemetry_batch__unpack(NULL, len - kl - 1, (const uint8_t *)body + kl + 1);
		assert_non_null(b);
		for (i = 0; i < b->n_records; i++)
			assert_string_equal(b->records[i]->gpu_key, key);
		got += b->n_records;
		gtpb__v1__telemetry_batch__free_unpacked(b, NULL);
		nng_msg_free(m);
	}
	assert_int_equal(got, 10);
	/* Stop the publisher before closing the subscriber: nng 1.5.2's nng_close() can
	 * deadlock with traffic in flight (TOOLCHAIN.md). */
	tc_stop(&col);
	nng_close(sub);
	free(pub);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_collector_publish_query_back_in_order, tc_cleanup),
	    cmocka_unit_test_teardown(test_collector_invalid_payload_dead_lettered, tc_cleanup),
	    cmocka_unit_test_teardown(test_collector_live_feed_publishes_stored_records, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
