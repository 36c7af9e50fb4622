/* test_mq_redelivery.c - unacked deliveries come back with growing backoff, then go to the
 * dead-letter queue, where they are listed, counted and replayable; Nack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "test_mq_util.h"

static ProtobufCMessage *
call(tmq *m, const char *method, const ProtobufCMessage *in, gt_rpc_code *code)
{
	gt_rpc_stub       stub;
	ProtobufCMessage *out = NULL;

	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	gt_rpc_call_by_name(&stub, method, in, &out);
	*code = stub.status.code;
	return out;
}

static void
test_mq_unacked_redelivered_with_backoff_then_dead_lettered(void **state)
{
	const char *flags[] = {"--topics=rd", "--ack-timeout=200ms", "--max-retries=2", NULL};
	tmq         m;
	int64_t     at[8];
	unsigned    n = 0;
	int64_t     deadline;
	gt_rpc_code code;

	(void)state;
	tmq_start(&m, flags);
	assert_int_equal(tmq_publish(&m, "rd", NULL, 0, 0, 1, 1, 10, NULL), GT_RPC_OK);
	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (gt_mono_ns() < deadline && n < 8) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "rd", "g", "c", 10, 100, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			assert_int_equal(r->deliveries[i]->attempt, n + 1);
			at[n++] = gt_mono_ns();
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (tmq_group_stat(&m, "rd", "g", "dead_lettered") == 1)
			break;
	}
	/* 1 + max-retries deliveries, spaced ~200 ms then ~400 ms. */
	assert_int_equal(n, 3);
	assert_true(at[1] - at[0] >= 180 * GT_NS_PER_MS);
	assert_true(at[2] - at[1] >= 380 * GT_NS_PER_MS);
	assert_true(at[2] - at[1] > at[1] - at[0]);
	/* Dead-lettered after the third delivery timed out (~800 ms). */
	deadline = gt_mono_ns() + 3 * GT_NS_PER_S;
	while (tmq_group_stat(&m, "rd", "g", "dead_lettered") != 1 && gt_mono_ns() < deadline) {
		Gtpb__V1__FetchResponse *r;
		tmq_fetch(&m, "rd", "g", "c", 10, 100, &r);
		if (r)
			protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(tmq_group_stat(&m, "rd", "g", "dead_lettered"), 1);
	assert_int_equal(tmq_group_stat(&m, "rd", "g", "pending"), 0);
	assert_int_equal(tmq_group_stat(&m, "rd.dlq", NULL, "messages"), 1);
	{
		Gtpb__V1__DlqListRequest   lr = GTPB__V1__DLQ_LIST_REQUEST__INIT;
		Gtpb__V1__DlqListResponse *l;
		lr.topic = "rd";
		l = (Gtpb__V1__DlqListResponse *)call(&m, "DlqList", &lr.base, &code);
		assert_int_equal(code, GT_RPC_OK);
		assert_int_equal(l->total, 1);
		assert_int_equal(l->n_letters, 1);
		assert_int_equal(l->letters[0]->attempts, 3);
		assert_string_equal(l->letters[0]->group, "g");
		assert_non_null(l->letters[0]->message);
		assert_int_equal(tmq_payload_seq(l->letters[0]->message), 0);
		protobuf_c_message_free_unpacked(&l->base, NULL);
	}
	{
		Gtpb__V1__DlqReplayRequest   rr = GTPB__V1__DLQ_REPLAY_REQUEST__INIT;
		Gtpb__V1__DlqReplayResponse *rp;
		Gtpb__V1__FetchResponse     *r;
		rr.topic = "rd";
		rp = (Gtpb__V1__DlqReplayResponse *)call(&m, "DlqReplay", &rr.base, &code);
		assert_int_equal(code, GT_RPC_OK);
		assert_int_equal(rp->replayed, 1);
		protobuf_c_message_free_unpacked(&rp->base, NULL);
		assert_int_equal(tmq_fetch(&m, "rd", "g", "c", 10, 500, &r), GT_RPC_OK);
		assert_int_equal(r->n_deliveries, 1);
		assert_int_equal(r->deliveries[0]->attempt, 1);
		assert_int_equal(tmq_payload_seq(r->deliveries[0]->message), 0);
		assert_int_equal(tmq_ack(&m, "rd", "g", "c", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	{
		Gtpb__V1__DlqPurgeRequest   pr = GTPB__V1__DLQ_PURGE_REQUEST__INIT;
		Gtpb__V1__DlqPurgeResponse *pp;
		pr.topic = "nope";
		assert_null(call(&m, "DlqPurge", &pr.base, &code));
		assert_int_equal(code, GT_RPC_NOT_FOUND);
		pr.topic = "rd";
		pp = (Gtpb__V1__DlqPurgeResponse *)call(&m, "DlqPurge", &pr.base, &code);
		assert_int_equal(code, GT_RPC_OK);
		assert_int_equal(pp->purged, 0);
		protobuf_c_message_free_unpacked(&pp->base, NULL);
	}
	tmq_stop(&m);
}

static void
test_mq_nack_redelivers_or_dead_letters(void **state)
{
	const char *flags[] = {"--topics=nk", "--ack-timeout=5s", "--nack-delay=100ms", NULL};
	tmq         m;
	Gtpb__V1__FetchResponse *r, *r2;
	Gtpb__V1__NackRequest    nr = GTPB__V1__NACK_REQUEST__INIT;
	Gtpb__V1__NackResponse  *np;
	gt_rpc_code              code;
	int64_t                  t0;

	(void)state;
	tmq_start(&m, flags);
	assert_int_equal(tmq_publish(&m, "nk", NULL, 0, 0, 2, 1, 10, NULL), GT_RPC_OK);
	assert_int_equal(tmq_fetch(&m, "nk", "g", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 2);
	nr.topic = "nk";
	nr.group = "g";
	nr.consumer = "c";
	nr.n_ids = 1;
	nr.ids = &r->deliveries[0]->id;
	nr.reason = "try again";
	t0 = gt_mono_ns();
	np = (Gtpb__V1__NackResponse *)call(&m, "Nack", &nr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	assert_int_equal(np->nacked, 1);
	protobuf_c_message_free_unpacked(&np->base, NULL);
	assert_int_equal(tmq_fetch(&m, "nk", "g", "c", 10, 2000, &r2), GT_RPC_OK);
	assert_int_equal(r2->n_deliveries, 1);
	assert_int_equal(r2->deliveries[0]->attempt, 2);
	assert_int_equal(r2->deliveries[0]->id->offset, r->deliveries[0]->id->offset);
	assert_true(gt_mono_ns() - t0 >= 90 * GT_NS_PER_MS);
	protobuf_c_message_free_unpacked(&r2->base, NULL);
	/* Poison message: straight to the DLQ. */
	nr.ids = &r->deliveries[1]->id;
	nr.dead_letter = 1;
	np = (Gtpb__V1__NackResponse *)call(&m, "Nack", &nr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(&np->base, NULL);
	assert_int_equal(tmq_group_stat(&m, "nk", "g", "dead_lettered"), 1);
	assert_int_equal(tmq_group_stat(&m, "nk.dlq", NULL, "messages"), 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	tmq_stop(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_unacked_redelivered_with_backoff_then_dead_lettered,
	                              tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_nack_redelivers_or_dead_letters, tmq_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
