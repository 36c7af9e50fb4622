/* test_mq_dlq_persist.c - gt-mq --persistence keeps the dead-letter queue: letters made by
 * Nack(dead_letter) and by exhausting --max-retries, a replay and a purge all survive kill -9
 * and a clean restart, also after the WAL segment that recorded the dead-lettering was
 * deleted. DlqList is compared byte for byte before and after each restart. Delivery attempt
 * counts survive kill -9 too, first deliveries included. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_mq_util.h"

#define TOPIC "dq"

static ProtobufCMessage *
call(tmq *m, const char *method, const ProtobufCMessage *in, gt_rpc_code *code)
{
	gt_rpc_stub       stub;
	ProtobufCMessage *out = NULL;

	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 10 * GT_NS_PER_S);
	gt_rpc_call_by_name(&stub, method, in, &out);
	*code = stub.status.code;
	return out;
}

/* Publish n messages "<first+i>|..." with key k<i%3>, a header on every other one, and a
 * publisher timestamp on every third (the others are stamped by the broker). */
static void
publish_rich(tmq *m, uint64_t first, size_t n)
{
	Gtpb__V1__PublishRequest        req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message               msgs[16], *mp[16];
	Gtpb__V1__Message__HeadersEntry hdr[16], *hp[16];
	char                            keys[16][24], pay[16][32], hv[16][24];
	Gtpb__V1__PublishResponse      *resp;
	gt_rpc_code                     code;

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++) {
		gtpb__v1__message__init(&msgs[i]);
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i % 3);
		snprintf(pay[i], sizeof(pay[i]), "%llu|payload", (unsigned long long)(first + i));
		msgs[i].key = keys[i];
		msgs[i].payload.data = (uint8_t *)pay[i];
		msgs[i].payload.len = strlen(pay[i]);
		if (i % 2 == 0) {
			gtpb__v1__message__headers_entry__init(&hdr[i]);
			snprintf(hv[i], sizeof(hv[i]), "v%zu", i);
			hdr[i].key = "h";
			hdr[i].value = hv[i];
			hp[i] = &hdr[i];
			msgs[i].n_headers = 1;
			msgs[i].headers = &hp[i];
		}
		if (i % 3 == 0)
			msgs[i].timestamp_ns = 1700000000000000000LL + (int64_t)i;
		mp[i] = &msgs[i];
	}
	req.topic = TOPIC;
	req.n_messages = n;
	req.messages = mp;
	resp = (Gtpb__V1__PublishResponse *)call(m, "Publish", &req.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* DlqList of TOPIC packed into a malloc'd buffer (*len); *out keeps the decoded response
 * when not NULL (the caller frees it). */
static uint8_t *
dlq_snapshot(tmq *m, size_t *len, Gtpb__V1__DlqListResponse **out)
{
	Gtpb__V1__DlqListRequest   lr = GTPB__V1__DLQ_LIST_REQUEST__INIT;
	Gtpb__V1__DlqListResponse *l;
	gt_rpc_code                code;
	uint8_t                   *buf;

	lr.topic = TOPIC;
	lr.limit = 1000;
	l = (Gtpb__V1__DlqListResponse *)call(m, "DlqList", &lr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	assert_non_null(l);
	*len = gtpb__v1__dlq_list_response__get_packed_size(l);
	buf = malloc(*len + 1);
	gtpb__v1__dlq_list_response__pack(l, buf);
	if (out != NULL)
		*out = l;
	else
		protobuf_c_message_free_unpacked(&l->base, NULL);
	return buf;
}

static void
assert_same_dlq(tmq *m, const uint8_t *want, size_t want_len)
{
	size_t   len;
	uint8_t *got = dlq_snapshot(m, &len, NULL);

	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void
nack_dead(tmq *m, Gtpb__V1__DeliveryId *id, const char *reason)
{
	Gtpb__V1__NackRequest   nr = GTPB__V1__NACK_REQUEST__INIT;
	Gtpb__V1__NackResponse *np;
	gt_rpc_code             code;

	nr.topic = TOPIC;
	nr.group = "g";
	nr.consumer = "c";
	nr.n_ids = 1;
	nr.ids = &id;
	nr.reason = (char *)reason;
	nr.dead_letter = 1;
	np = (Gtpb__V1__NackResponse *)call(m, "Nack", &nr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	assert_int_equal(np->nacked, 1);
	protobuf_c_message_free_unpacked(&np->base, NULL);
}

static uint32_t
dlq_replay(tmq *m, uint32_t limit)
{
	Gtpb__V1__DlqReplayRequest   rr = GTPB__V1__DLQ_REPLAY_REQUEST__INIT;
	Gtpb__V1__DlqReplayResponse *rp;
	gt_rpc_code                  code;
	uint32_t                     n;

	rr.topic = TOPIC;
	rr.limit = limit;
	rp = (Gtpb__V1__DlqReplayResponse *)call(m, "DlqReplay", &rr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	n = rp->replayed;
	protobuf_c_message_free_unpacked(&rp->base, NULL);
	return n;
}

static uint32_t
dlq_purge(tmq *m)
{
	Gtpb__V1__DlqPurgeRequest   pr = GTPB__V1__DLQ_PURGE_REQUEST__INIT;
	Gtpb__V1__DlqPurgeResponse *pp;
	gt_rpc_code                 code;
	uint32_t                    n;

	pr.topic = TOPIC;
	pp = (Gtpb__V1__DlqPurgeResponse *)call(m, "DlqPurge", &pr.base, &code);
	assert_int_equal(code, GT_RPC_OK);
	n = pp->purged;
	protobuf_c_message_free_unpacked(&pp->base, NULL);
	return n;
}

/* Fetch and ack everything available until the topic is idle; returns the count. */
static size_t
drain_and_ack(tmq *m)
{
	size_t got = 0;
	int    idle = 0;

	while (idle < 2) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(m, TOPIC, "g", "c", 1000, 50, &r), GT_RPC_OK);
		idle = r->n_deliveries == 0 ? idle + 1 : 0;
		got += r->n_deliveries;
		if (r->n_deliveries)
			assert_int_equal(tmq_ack(m, TOPIC, "g", "c", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return got;
}

static int
file_exists(const char *dir, const char *name)
{
	char        path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void
test_mq_dlq_survives_kill9_clean_restart_and_segment_deletion(void **state)
{
	char                      *dir = gt_test_tmpdir("mq-dlq-persist");
	char                       pflag[512];
	const char                *flags[] = {"--topics=" TOPIC,  "--persistence",         pflag,
	                                      "--fsync=interval", "--segment-bytes=65536", "--ack-timeout=150ms",
	                                      "--max-retries=1",  "--partitions=4",        NULL};
	tmq                        m;
	Gtpb__V1__FetchResponse   *r;
	Gtpb__V1__DlqListResponse *l;
	uint8_t                   *snap;
	size_t                     snap_len;
	char                       replayed_payload[64];
	int64_t                    deadline;

	(void)state;
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);

	/* ---- run 1: 10 messages; 3 dead-lettered by Nack, 4 acked, 3 exhaust their retries */
	tmq_start(&m, flags);
	publish_rich(&m, 0, 10);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 100, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 10);
	for (size_t i = 0; i < 10; i++) {
		int64_t seq = tmq_payload_seq(r->deliveries[i]->message);
		if (seq < 3) {
			char reason[32];
			snprintf(reason, sizeof(reason), "poison %lld", (long long)seq);
			nack_dead(&m, r->deliveries[i]->id, reason);
		} else if (seq < 7) {
			assert_int_equal(
			    tmq_ack_ids(&m, TOPIC, "g", &r->deliveries[i]->id, 1, NULL), GT_RPC_OK);
		}
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	deadline = gt_mono_ns() + 10 * GT_NS_PER_S;
	while (tmq_group_stat(&m, TOPIC, "g", "dead_lettered") < 6 && gt_mono_ns() < deadline) {
		assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 100, 100, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++)
			assert_int_equal(r->deliveries[i]->attempt, 2); /* never acked */
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g", "dead_lettered"), 6);
	snap = dlq_snapshot(&m, &snap_len, &l);
	assert_int_equal(l->total, 6);
	for (size_t i = 0; i < 6; i++) {
		int64_t seq = tmq_payload_seq(l->letters[i]->message);
		assert_int_equal(l->letters[i]->dlq_offset, i);
		assert_string_equal(l->letters[i]->group, "g");
		assert_true(l->letters[i]->message->timestamp_ns > 0);
		if (seq < 3) {
			assert_int_equal(l->letters[i]->attempts, 1);
			assert_non_null(strstr(l->letters[i]->reason, "poison"));
		} else {
			assert_true(seq >= 7);
			assert_int_equal(l->letters[i]->attempts, 2);
			assert_string_equal(l->letters[i]->reason, "max retries exceeded");
		}
		if (seq % 2 == 0 && seq < 10) /* first batch: i == seq */
			assert_int_equal(l->letters[i]->message->n_headers, 1);
	}
	snprintf(replayed_payload, sizeof(replayed_payload), "%.*s",
	         (int)l->letters[0]->message->payload.len,
	         (const char *)l->letters[0]->message->payload.data);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	free(snap);

	/* Acked traffic rolls 64 KiB segments; the first one (holding the DEAD records) is
	 * deleted once everything in it is done. */
	for (int b = 0; b < 30; b++)
		assert_int_equal(tmq_publish(&m, TOPIC, "p", (uint64_t)b + 1,
		                             1000 + (uint64_t)b * 100, 100, 7, 250, NULL),
		                 GT_RPC_OK);
	assert_int_equal(drain_and_ack(&m), 3000);
	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (file_exists(dir, "wal-0000000000000001.log") && gt_mono_ns() < deadline)
		gt_sleep_ns(50 * GT_NS_PER_MS);
	assert_false(file_exists(dir, "wal-0000000000000001.log"));

	/* Replay the oldest letter; the other five stay. Then kill -9. */
	assert_int_equal(dlq_replay(&m, 1), 1);
	snap = dlq_snapshot(&m, &snap_len, &l);
	assert_int_equal(l->total, 5);
	assert_int_equal(l->letters[0]->dlq_offset, 1);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	kill(gt_proc_pid(m.proc), SIGKILL);
	tmq_kill(&m);

	/* ---- run 2: the same five letters, the replayed message is in the topic */
	tmq_start(&m, flags);
	assert_same_dlq(&m, snap, snap_len);
	free(snap);
	assert_int_equal(tmq_group_stat(&m, TOPIC ".dlq", NULL, "messages"), 5);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 100, 200, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	assert_int_equal(r->deliveries[0]->attempt, 1);
	assert_int_equal((int)r->deliveries[0]->message->payload.len,
	                 (int)strlen(replayed_payload));
	assert_memory_equal(r->deliveries[0]->message->payload.data, replayed_payload,
	                    strlen(replayed_payload));
	assert_int_equal(tmq_ack(&m, TOPIC, "g", "c", r, NULL), GT_RPC_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* Purge them all; one new letter is numbered after the old ones. */
	assert_int_equal(dlq_purge(&m), 5);
	publish_rich(&m, 100, 1);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 100, 200, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	nack_dead(&m, r->deliveries[0]->id, "after purge");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	snap = dlq_snapshot(&m, &snap_len, &l);
	assert_int_equal(l->total, 1);
	assert_int_equal(l->letters[0]->dlq_offset, 6);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	tmq_stop(&m); /* clean SIGTERM */

	/* ---- run 3: after a clean restart the purge held and the new letter is there */
	tmq_start(&m, flags);
	assert_same_dlq(&m, snap, snap_len);
	assert_int_equal(drain_and_ack(&m), 0);
	kill(gt_proc_pid(m.proc), SIGKILL);
	tmq_kill(&m);

	/* ---- run 4: and once more after kill -9 with nothing new */
	tmq_start(&m, flags);
	assert_same_dlq(&m, snap, snap_len);
	assert_int_equal(dlq_purge(&m), 1);
	tmq_stop(&m);
	free(snap);
	tmq_start(&m, flags);
	snap = dlq_snapshot(&m, &snap_len, &l);
	assert_int_equal(l->total, 0);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	free(snap);
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

/* One fetch of TOPIC (wait_ms long-poll) that must return exactly one delivery; returns its
 * attempt and checks its payload sequence. */
static uint32_t
fetch_one(tmq *m, uint32_t wait_ms, int64_t want_seq)
{
	Gtpb__V1__FetchResponse *r;
	uint32_t                 att;

	assert_int_equal(tmq_fetch(m, TOPIC, "g", "c", 10, wait_ms, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	assert_int_equal(tmq_payload_seq(r->deliveries[0]->message), want_seq);
	att = r->deliveries[0]->attempt;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return att;
}

/* Attempt counts survive kill -9: a message redelivered before the crash goes on with its
 * retries after it (attempt 3, then the DLQ); one whose retries were used up goes to the DLQ
 * at the first fetch after the restart instead of being delivered a fourth time. */
static void
test_mq_attempts_survive_kill9(void **state)
{
	char       *dir = gt_test_tmpdir("mq-attempts-persist");
	char        pflag[512];
	const char *flags[] = {
	    "--topics=" TOPIC,     "--persistence",   pflag, "--fsync=interval", "--partitions=1",
	    "--ack-timeout=150ms", "--max-retries=2", NULL};
	tmq                        m;
	Gtpb__V1__FetchResponse   *r;
	Gtpb__V1__DlqListResponse *l;
	uint8_t                   *snap;
	size_t                     len;
	int64_t                    deadline;

	(void)state;
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	/* run 1: X delivered twice, then kill -9 */
	tmq_start(&m, flags);
	publish_rich(&m, 0, 1);
	assert_int_equal(fetch_one(&m, 0, 0), 1);
	assert_int_equal(fetch_one(&m, 2000, 0), 2);
	gt_sleep_ns(100 * GT_NS_PER_MS); /* redeliveries are logged, not waited for */
	tmq_kill(&m);

	/* run 2: X comes back as attempt 3, its last; it times out into the DLQ. Then Y is
	 * delivered three times and the broker killed before the third one times out. */
	tmq_start(&m, flags);
	assert_int_equal(fetch_one(&m, 0, 0), 3);
	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (tmq_group_stat(&m, TOPIC, "g", "dead_lettered") < 1 && gt_mono_ns() < deadline) {
		assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 10, 200, &r), GT_RPC_OK);
		assert_int_equal(r->n_deliveries, 0); /* never a fourth delivery */
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g", "dead_lettered"), 1);
	publish_rich(&m, 1, 1);
	assert_int_equal(fetch_one(&m, 0, 1), 1);
	assert_int_equal(fetch_one(&m, 2000, 1), 2);
	assert_int_equal(fetch_one(&m, 2000, 1), 3);
	gt_sleep_ns(100 * GT_NS_PER_MS);
	tmq_kill(&m);

	/* run 3: Y's retries are used up: straight to the DLQ, not delivered */
	tmq_start(&m, flags);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(tmq_group_stat(&m, TOPIC, "g", "dead_lettered"), 1);
	snap = dlq_snapshot(&m, &len, &l);
	assert_int_equal(l->total, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(tmq_payload_seq(l->letters[i]->message), (int64_t)i);
		assert_int_equal(l->letters[i]->attempts, 3);
		assert_string_equal(l->letters[i]->reason, "max retries exceeded");
		assert_int_equal(l->letters[i]->dlq_offset, i);
	}
	protobuf_c_message_free_unpacked(&l->base, NULL);
	free(snap);
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

/* Fetch everything due (one call); each delivery's attempt by payload seq into att[] (0 = not
 * delivered); acks the ones with seq < ack_below. Returns the deliveries. */
static size_t
fetch_attempts(tmq *m, unsigned *att, size_t natt, int64_t ack_below)
{
	Gtpb__V1__FetchResponse *r;
	Gtpb__V1__DeliveryId    *ids[16];
	size_t                   n, k = 0;

	memset(att, 0, natt * sizeof(*att));
	assert_int_equal(tmq_fetch(m, TOPIC, "g", "c", 100, 500, &r), GT_RPC_OK);
	n = r->n_deliveries;
	for (size_t i = 0; i < n; i++) {
		int64_t seq = tmq_payload_seq(r->deliveries[i]->message);
		assert_true(seq >= 0 && (size_t)seq < natt);
		att[seq] = r->deliveries[i]->attempt;
		if (seq < ack_below && k < 16)
			ids[k++] = r->deliveries[i]->id;
	}
	if (k > 0)
		assert_int_equal(tmq_ack_ids(m, TOPIC, "g", ids, k, NULL), GT_RPC_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return n;
}

/* First deliveries are logged too (DELIVERED records, one per fetch): a message delivered once
 * and unacked at a kill -9 comes back as attempt 2, not 1, and after a second kill -9 as
 * attempt 3; acked ones never come back. */
static void
test_mq_first_delivery_attempts_survive_kill9(void **state)
{
	char       *dir = gt_test_tmpdir("mq-first-delivery");
	char        pflag[512];
	const char *flags[] = {
	    "--topics=" TOPIC,   "--persistence",   pflag, "--fsync=always", "--partitions=2",
	    "--ack-timeout=60s", "--max-retries=5", NULL};
	tmq      m;
	unsigned att[6];

	(void)state;
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	tmq_start(&m, flags);
	publish_rich(&m, 0, 6);
	assert_int_equal(fetch_attempts(&m, att, 6, 3), 6); /* 0..2 acked, 3..5 held */
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(att[i], 1);
	gt_sleep_ns(200 * GT_NS_PER_MS); /* deliveries and acks are logged, not waited for */
	tmq_kill(&m);

	tmq_start(&m, flags);
	assert_int_equal(fetch_attempts(&m, att, 6, 0), 3);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(att[i], i < 3 ? 0 : 2);
	gt_sleep_ns(200 * GT_NS_PER_MS);
	tmq_kill(&m);

	tmq_start(&m, flags);
	assert_int_equal(fetch_attempts(&m, att, 6, 6), 3);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(att[i], i < 3 ? 0 : 3);
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

/* Without --persistence nothing changes: the DLQ is gone after a restart. */
static void
test_mq_dlq_without_persistence_is_memory_only(void **state)
{
	const char                *flags[] = {"--topics=" TOPIC, NULL};
	tmq                        m;
	Gtpb__V1__FetchResponse   *r;
	Gtpb__V1__DlqListResponse *l;
	uint8_t                   *snap;
	size_t                     len;

	(void)state;
	tmq_start(&m, flags);
	publish_rich(&m, 0, 2);
	assert_int_equal(tmq_fetch(&m, TOPIC, "g", "c", 100, 0, &r), GT_RPC_OK);
	nack_dead(&m, r->deliveries[0]->id, "bad");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	snap = dlq_snapshot(&m, &len, &l);
	assert_int_equal(l->total, 1);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	free(snap);
	tmq_stop(&m);
	tmq_start(&m, flags);
	snap = dlq_snapshot(&m, &len, &l);
	assert_int_equal(l->total, 0);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	free(snap);
	tmq_stop(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_dlq_survives_kill9_clean_restart_and_segment_deletion,
	                              tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_attempts_survive_kill9, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_first_delivery_attempts_survive_kill9, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_dlq_without_persistence_is_memory_only, tmq_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
