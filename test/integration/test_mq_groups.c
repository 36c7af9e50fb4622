/* test_mq_groups.c - consumer groups: fan-out to every group, competing consumers inside a
 * group, partitions and unacked deliveries moving to the survivor after the lease; a full
 * topic pushing back without losing anything. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "test_mq_util.h"

/* Fetch (and optionally ack) until n_empty consecutive empty answers; marks seen[seq]. */
static size_t
drain(tmq *m, const char *topic, const char *group, const char *consumer, int *seen, size_t nseen,
      int mark, int ack, int max_empty)
{
	size_t got = 0;
	int    empty = 0;

	while (empty < max_empty) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(m, topic, group, consumer, 50, 50, &r), GT_RPC_OK);
		if (r->n_deliveries == 0)
			empty++;
		for (size_t i = 0; i < r->n_deliveries; i++) {
			int64_t s = tmq_payload_seq(r->deliveries[i]->message);
			if (mark) {
				assert_true(s >= 0 && (size_t)s < nseen);
				seen[s] = mark;
			}
			got++;
		}
		if (ack && r->n_deliveries)
			assert_int_equal(tmq_ack(m, topic, group, consumer, r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return got;
}

static void
test_mq_every_group_gets_every_message(void **state)
{
	tmq  m;
	int *s1 = calloc(1000, sizeof(int)), *s2 = calloc(1000, sizeof(int));

	(void)state;
	tmq_start(&m, NULL);
	/* Both groups exist before the messages arrive (a message is retained until every
	 * existing group acked it; a group created later starts at the oldest retained one). */
	assert_int_equal(tmq_publish(&m, "fan", NULL, 0, 5000, 1, 1, 0, NULL), GT_RPC_OK);
	drain(&m, "fan", "g1", "a", NULL, 0, 0, 1, 1);
	drain(&m, "fan", "g2", "a", NULL, 0, 0, 1, 1);
	assert_int_equal(tmq_publish(&m, "fan", NULL, 0, 0, 1000, 37, 20, NULL), GT_RPC_OK);
	assert_int_equal(drain(&m, "fan", "g1", "a", s1, 1000, 1, 1, 2), 1000);
	assert_int_equal(drain(&m, "fan", "g2", "a", s2, 1000, 1, 1, 2), 1000);
	for (int i = 0; i < 1000; i++)
		assert_true(s1[i] && s2[i]);
	tmq_stop(&m);
	free(s1);
	free(s2);
}

static void
test_mq_group_consumers_split_and_failover(void **state)
{
	const char *flags[] = {"--topics=split", "--ack-timeout=300ms", "--consumer-lease=600ms",
	                       NULL};
	tmq         m;
	int        *seen = calloc(2000, sizeof(int));
	size_t      ga = 0, gb = 0;
	int         rounds = 0;

	(void)state;
	tmq_start(&m, flags);
	/* Both consumers join before anything is published. */
	drain(&m, "split", "g", "ca", NULL, 0, 0, 0, 1);
	drain(&m, "split", "g", "cb", NULL, 0, 0, 0, 1);
	assert_int_equal(tmq_publish(&m, "split", NULL, 0, 0, 1000, 101, 20, NULL), GT_RPC_OK);
	/* Alternate fetches; each message goes to exactly one of them. */
	while (rounds++ < 200 && ga + gb < 1000) {
		Gtpb__V1__FetchResponse *r;
		const char              *who = rounds % 2 ? "ca" : "cb";
		assert_int_equal(tmq_fetch(&m, "split", "g", who, 100, 20, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			int64_t s = tmq_payload_seq(r->deliveries[i]->message);
			assert_true(s >= 0 && s < 1000);
			assert_int_equal(seen[s], 0);
			seen[s] = rounds % 2 ? 1 : 2;
			if (rounds % 2)
				ga++;
			else
				gb++;
		}
		assert_int_equal(tmq_ack(&m, "split", "g", who, r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(ga + gb, 1000);
	assert_true(ga > 0 && gb > 0);

	/* ca takes some of the next batch and dies without acking. */
	assert_int_equal(tmq_publish(&m, "split", NULL, 0, 1000, 1000, 101, 20, NULL), GT_RPC_OK);
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "split", "g", "ca", 1000, 0, &r), GT_RPC_OK);
		assert_true(r->n_deliveries > 0);
		for (size_t i = 0; i < r->n_deliveries; i++)
			seen[tmq_payload_seq(r->deliveries[i]->message)] = 3;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	/* cb keeps fetching: after the lease it owns everything, including ca's unacked ones. */
	{
		int64_t deadline = gt_mono_ns() + 10 * GT_NS_PER_S;
		size_t  missing = 1000;
		int     redelivered = 0;
		while (missing > 0 && gt_mono_ns() < deadline) {
			Gtpb__V1__FetchResponse *r;
			assert_int_equal(tmq_fetch(&m, "split", "g", "cb", 200, 50, &r), GT_RPC_OK);
			for (size_t i = 0; i < r->n_deliveries; i++) {
				int64_t s = tmq_payload_seq(r->deliveries[i]->message);
				assert_true(s >= 1000 && s < 2000);
				if (r->deliveries[i]->attempt > 1) {
					assert_int_equal(seen[s], 3);
					redelivered++;
				} else {
					assert_true(seen[s] == 0 || seen[s] == 3);
				}
				if (seen[s] != 4) {
					seen[s] = 4;
					missing--;
				}
			}
			assert_int_equal(tmq_ack(&m, "split", "g", "cb", r, NULL), GT_RPC_OK);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
		assert_int_equal(missing, 0);
		assert_true(redelivered > 0);
	}
	assert_int_equal(tmq_group_stat(&m, "split", "g", "pending"), 0);
	assert_int_equal(tmq_group_stat(&m, "split", "g", "lag"), 0);
	tmq_stop(&m);
	free(seen);
}

typedef struct bp_ctx {
	tmq   *m;
	size_t total;
	int    full_seen;
} bp_ctx;

static void *
bp_publisher(void *arg)
{
	bp_ctx *c = arg;

	for (size_t b = 0; b < c->total / 10; b++) {
		gt_rpc_code code;
		int         tries = 0;
		while ((code = tmq_publish(c->m, "bp", "bp-prod", b + 1, b * 10, 10, 7, 150,
		                           NULL)) == GT_RPC_RESOURCE_EXHAUSTED &&
		       tries++ < 5000) {
			c->full_seen++;
			gt_sleep_ns(2 * GT_NS_PER_MS);
		}
		if (code != GT_RPC_OK)
			return (void *)1;
	}
	return NULL;
}

static void
test_mq_full_topic_pushes_back_and_drops_nothing(void **state)
{
	const char *flags[] = {"--topics=bp", "--max-topic-bytes=8000", NULL};
	tmq         m;
	bp_ctx      c = {&m, 2000, 0};
	pthread_t   th;
	int        *seen = calloc(2000, sizeof(int));
	size_t      got = 0;
	void       *res;
	int64_t     deadline;

	(void)state;
	tmq_start(&m, flags);
	drain(&m, "bp", "g", "c", NULL, 0, 0, 0, 1); /* the group exists: retention follows acks */
	pthread_create(&th, NULL, bp_publisher, &c);
	/* Slow start so that the topic fills up. */
	gt_sleep_ns(200 * GT_NS_PER_MS);
	deadline = gt_mono_ns() + 30 * GT_NS_PER_S;
	while (got < c.total && gt_mono_ns() < deadline) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "bp", "g", "c", 20, 50, &r), GT_RPC_OK);
		for (size_t i = 0; i < r->n_deliveries; i++) {
			int64_t s = tmq_payload_seq(r->deliveries[i]->message);
			assert_true(s >= 0 && s < 2000);
			assert_int_equal(seen[s], 0);
			seen[s] = 1;
			got++;
		}
		assert_int_equal(tmq_ack(&m, "bp", "g", "c", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	pthread_join(th, &res);
	assert_null(res);
	assert_int_equal(got, c.total);
	assert_true(c.full_seen > 0);
	tmq_stop(&m);
	free(seen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_every_group_gets_every_message, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_group_consumers_split_and_failover, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_full_topic_pushes_back_and_drops_nothing,
	                              tmq_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
