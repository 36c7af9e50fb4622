/* test_mq_hostile.c - gt-mq against hostile clients: parked long-polls whose clients leave
 * (contexts freed, ghost consumers expire, a live consumer gets every partition), the
 * --max-fetch-wait cap, strings that are not UTF-8 in every request, and the empty
 * Message{} (accepted and delivered, also across a kill -9 with the WAL; run under ASan in the
 * sanitizer build). */
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt/gt_utf8.h"
#include "gt_test.h"
#include "gtpb/v1/rpc.pb-c.h"
#include "test_mq_util.h"

#define GHOSTS 200

/* Stats of topic: waiting_fetches, and the number of consumers of group (-1 if absent). */
static void
ghost_stats(tmq *m, const char *topic, const char *group, int64_t *waiting, int64_t *consumers,
            char *first, size_t first_len)
{
	char        *body = NULL;
	json_t      *root, *t, *c;
	json_error_t err;

	*waiting = -1;
	*consumers = -1;
	if (first)
		first[0] = 0;
	if (tmq_http(m, "/stats", &body) != 200 || (root = json_loads(body, 0, &err)) == NULL) {
		free(body);
		return;
	}
	free(body);
	t = json_object_get(json_object_get(root, "topics"), topic);
	if (json_is_integer(json_object_get(t, "waiting_fetches")))
		*waiting = json_integer_value(json_object_get(t, "waiting_fetches"));
	c = json_object_get(json_object_get(json_object_get(t, "groups"), group), "consumers");
	if (json_is_array(c)) {
		*consumers = (int64_t)json_array_size(c);
		if (first && json_array_size(c) > 0)
			snprintf(first, first_len, "%s", json_string_value(json_array_get(c, 0)));
	}
	json_decref(root);
}

/* Send a Fetch on a raw REQ socket and do not wait for the answer. */
static void
send_fetch(nng_socket s, const char *topic, const char *group, const char *consumer,
           uint32_t wait_ms)
{
	Gtpb__V1__FetchRequest fr = GTPB__V1__FETCH_REQUEST__INIT;
	Gtpb__V1__RpcRequest   env = GTPB__V1__RPC_REQUEST__INIT;
	uint8_t                pl[256], buf[512];
	size_t                 n;
	nng_msg               *m;

	fr.topic = (char *)topic;
	fr.group = (char *)group;
	fr.consumer = (char *)consumer;
	fr.wait_ms = wait_ms;
	env.method = "gtpb.v1.MessageQueue/Fetch";
	env.payload.data = pl;
	env.payload.len = gtpb__v1__fetch_request__pack(&fr, pl);
	env.request_id = 1; /* no deadline_ms: none */
	n = gtpb__v1__rpc_request__pack(&env, buf);
	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	assert_int_equal(nng_msg_append(m, buf, n), 0);
	assert_int_equal(nng_sendmsg(s, m, 0), 0);
}

static void
test_mq_parked_fetches_of_gone_clients(void **state)
{
	const char *flags[] = {"--topics=ghosts", "--partitions=4", "--consumer-lease=400ms",
	                       "--rpc-contexts=128", NULL};
	tmq         m;
	nng_socket *socks = calloc(GHOSTS, sizeof(*socks));
	int64_t     waiting = -1, consumers = -1, until;
	char        name[64];
	uint32_t    parts = 0;
	size_t      got = 0;

	(void)state;
	tmq_start(&m, flags);
	for (int i = 0; i < GHOSTS; i++) {
		assert_int_equal(nng_req0_open(&socks[i]), 0);
		assert_int_equal(nng_dial(socks[i], m.rpc_url, NULL, 0), 0);
		snprintf(name, sizeof(name), "ghost-%03d", i);
		send_fetch(socks[i], "ghosts", "g", name, 4000000000u); /* ~46 days, no deadline */
	}
	/* All but 16 of the 128 contexts park; the rest are answered empty at once (and those
	 * consumers may already expire: they are not parked). */
	for (until = gt_mono_ns() + 20 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(20 * GT_NS_PER_MS)) {
		ghost_stats(&m, "ghosts", "g", &waiting, &consumers, NULL, 0);
		if (waiting == 128 - 16)
			break;
	}
	assert_int_equal(waiting, 128 - 16);
	assert_true(consumers >= 128 - 16);
	/* The clients go away without an answer. */
	for (int i = 0; i < GHOSTS; i++)
		nng_close(socks[i]);
	free(socks);
	/* Their parked calls are dropped and the ghosts leave the group after the lease. */
	for (until = gt_mono_ns() + 10 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(20 * GT_NS_PER_MS)) {
		ghost_stats(&m, "ghosts", "g", &waiting, &consumers, NULL, 0);
		if (waiting == 0 && consumers == 0)
			break;
	}
	assert_int_equal(waiting, 0);
	assert_int_equal(consumers, 0);
	/* Their RPC contexts are free again: a second wave parks as many calls. */
	socks = calloc(GHOSTS, sizeof(*socks));
	for (int i = 0; i < 128 - 16; i++) {
		assert_int_equal(nng_req0_open(&socks[i]), 0);
		assert_int_equal(nng_dial(socks[i], m.rpc_url, NULL, 0), 0);
		snprintf(name, sizeof(name), "wave2-%03d", i);
		send_fetch(socks[i], "ghosts", "g", name, 4000000000u);
	}
	for (until = gt_mono_ns() + 20 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(20 * GT_NS_PER_MS)) {
		ghost_stats(&m, "ghosts", "g", &waiting, &consumers, NULL, 0);
		if (waiting == 128 - 16)
			break;
	}
	assert_int_equal(waiting, 128 - 16);
	for (int i = 0; i < 128 - 16; i++)
		nng_close(socks[i]);
	free(socks);
	for (until = gt_mono_ns() + 10 * GT_NS_PER_S; gt_mono_ns() < until;
	     gt_sleep_ns(20 * GT_NS_PER_MS)) {
		ghost_stats(&m, "ghosts", "g", &waiting, &consumers, NULL, 0);
		if (waiting == 0 && consumers == 0)
			break;
	}
	assert_int_equal(waiting, 0);
	assert_int_equal(consumers, 0);
	/* A live consumer now owns every partition and gets every message. */
	assert_int_equal(tmq_publish(&m, "ghosts", NULL, 0, 0, 64, 16, 0, NULL), GT_RPC_OK);
	for (int round = 0; round < 50 && got < 64; round++) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "ghosts", "g", "real", 1000, 200, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++)
			parts |= 1u << r->deliveries[i]->id->partition;
		got += r->n_deliveries;
		assert_int_equal(tmq_ack(&m, "ghosts", "g", "real", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(got, 64);
	assert_int_equal(parts, 0xf);
	ghost_stats(&m, "ghosts", "g", &waiting, &consumers, name, sizeof(name));
	assert_int_equal(consumers, 1);
	assert_string_equal(name, "real");
	tmq_stop(&m);
}

static void
test_mq_max_fetch_wait_caps_long_polls(void **state)
{
	const char              *flags[] = {"--topics=capped", "--max-fetch-wait=300ms", NULL};
	tmq                      m;
	Gtpb__V1__FetchResponse *r;
	int64_t                  t0;

	(void)state;
	tmq_start(&m, flags);
	t0 = gt_mono_ns();
	/* asks for a minute; the broker answers (empty) after its cap */
	assert_int_equal(tmq_fetch(&m, "capped", "g", "c", 10, 60000, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_true(gt_mono_ns() - t0 < 20 * GT_NS_PER_S);
	tmq_stop(&m);
}

/* Publish one message with the given key and header (NULL = none); returns the status. */
static gt_rpc_code
publish_one(tmq *m, const char *topic, const char *producer, const char *key, const char *hk,
            const char *hv, gt_rpc_status *st)
{
	Gtpb__V1__PublishRequest         req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message                msg = GTPB__V1__MESSAGE__INIT;
	Gtpb__V1__Message__HeadersEntry  he = GTPB__V1__MESSAGE__HEADERS_ENTRY__INIT;
	Gtpb__V1__Message__HeadersEntry *hp[1] = {&he};
	Gtpb__V1__Message               *mp[1] = {&msg};
	gt_rpc_stub                      stub;
	ProtobufCMessage                *resp = NULL;

	msg.key = (char *)key;
	msg.payload.data = (uint8_t *)"p";
	msg.payload.len = 1;
	if (hk != NULL) {
		he.key = (char *)hk;
		he.value = (char *)hv;
		msg.n_headers = 1;
		msg.headers = hp;
	}
	req.topic = (char *)topic;
	req.producer_id = (char *)producer;
	req.sequence = producer[0] ? 1 : 0;
	req.n_messages = 1;
	req.messages = mp;
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 10 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &resp) == GT_OK)
		protobuf_c_message_free_unpacked(resp, NULL);
	if (st)
		*st = stub.status;
	return stub.status.code;
}

static void
test_mq_strings_must_be_utf8(void **state)
{
	const char   *flags[] = {"--topics=u8", NULL};
	tmq           m;
	gt_rpc_status st;
	const char *bad[] = {"\xff", "k\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82"};
	Gtpb__V1__FetchResponse *r;

	(void)state;
	tmq_start(&m, flags);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Message key, header key, header value: raw bytes the broker stores */
		assert_int_equal(publish_one(&m, "u8", "", bad[i], NULL, NULL, &st),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_true(gt_utf8_valid(st.message, strlen(st.message)));
		assert_int_equal(publish_one(&m, "u8", "", "k", bad[i], "v", NULL),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_int_equal(publish_one(&m, "u8", "", "k", "h", bad[i], NULL),
		                 GT_RPC_INVALID_ARGUMENT);
		/* the request's own strings */
		assert_int_equal(publish_one(&m, "u8", bad[i], "k", NULL, NULL, NULL),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_int_equal(tmq_fetch(&m, "u8", bad[i], "c", 10, 0, &r),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_int_equal(tmq_fetch(&m, "u8", "g", bad[i], 10, 0, &r),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_int_equal(tmq_fetch(&m, bad[i], "g", "c", 10, 0, &r),
		                 GT_RPC_INVALID_ARGUMENT);
		assert_int_equal(tmq_ack_ids(&m, "u8", bad[i], NULL, 0, NULL),
		                 GT_RPC_INVALID_ARGUMENT);
	}
	/* Nothing was stored, no group or consumer was created; valid UTF-8 is fine. */
	assert_int_equal(publish_one(&m, "u8", "", "gpu-\xc3\xa9\xf0\x9f\x94\xa5", "h\xc3\xa9",
	                             "\xe2\x82\xac", NULL),
	                 GT_RPC_OK);
	assert_int_equal(tmq_fetch(&m, "u8", "g\xc3\xa9", "c", 10, 0, &r), GT_RPC_OK);
	assert_int_equal(r->n_deliveries, 1);
	assert_string_equal(r->deliveries[0]->message->key, "gpu-\xc3\xa9\xf0\x9f\x94\xa5");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(tmq_group_stat(&m, "u8", NULL, "messages"), 1);
	tmq_stop(&m);
}

/* Publish n empty Message{} plus one ordinary message; returns the status. */
static gt_rpc_code
publish_empties(tmq *m, const char *topic, size_t n)
{
	Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message       *msgs = calloc(n + 1, sizeof(*msgs));
	Gtpb__V1__Message      **mp = calloc(n + 1, sizeof(*mp));
	gt_rpc_stub              stub;
	ProtobufCMessage        *resp = NULL;

	for (size_t i = 0; i <= n; i++) {
		gtpb__v1__message__init(&msgs[i]);
		mp[i] = &msgs[i];
	}
	msgs[n].key = "k";
	msgs[n].payload.data = (uint8_t *)"last";
	msgs[n].payload.len = 4;
	req.topic = (char *)topic;
	req.n_messages = n + 1;
	req.messages = mp;
	gt_rpc_stub_init(&stub, m->cli, &gtpb__v1__message_queue__descriptor, 10 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &resp) == GT_OK)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(msgs);
	free(mp);
	return stub.status.code;
}

/* Fetch everything (acking nothing); counts empty payloads. */
static size_t
fetch_all(tmq *m, const char *topic, size_t want, size_t *empty)
{
	size_t got = 0;

	*empty = 0;
	for (int round = 0; round < 50 && got < want; round++) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(m, topic, "g", "c", 1000, 100, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			const Gtpb__V1__Message *msg = r->deliveries[i]->message;
			assert_non_null(msg);
			assert_true(msg->timestamp_ns > 0); /* stamped on accept */
			if (msg->payload.len == 0) {
				assert_string_equal(msg->key, "");
				(*empty)++;
			}
		}
		got += r->n_deliveries;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return got;
}

static void
test_mq_empty_message_accepted(void **state)
{
	char       *dir = gt_test_tmpdir("mq-empty");
	char        pflag[512];
	const char *flags[] = {"--topics=e", "--persistence", pflag, "--fsync=always", NULL};
	const char *mem_flags[] = {"--topics=e", NULL};
	tmq         m;
	size_t      empty;

	(void)state;
	/* in memory: an empty Message is a valid Message (all fields default) */
	tmq_start(&m, mem_flags);
	assert_int_equal(publish_empties(&m, "e", 3), GT_RPC_OK);
	assert_int_equal(fetch_all(&m, "e", 4, &empty), 4);
	assert_int_equal(empty, 3);
	tmq_stop(&m);
	/* with the WAL, across kill -9 */
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	tmq_start(&m, flags);
	assert_int_equal(publish_empties(&m, "e", 2), GT_RPC_OK);
	tmq_kill(&m);
	tmq_start(&m, flags);
	assert_int_equal(fetch_all(&m, "e", 3, &empty), 3);
	assert_int_equal(empty, 2);
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_parked_fetches_of_gone_clients, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_max_fetch_wait_caps_long_polls, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_strings_must_be_utf8, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_empty_message_accepted, tmq_cleanup),
	};
	return cmocka_run_group_tests_name("integ.mq_hostile", tests, NULL, NULL);
}
