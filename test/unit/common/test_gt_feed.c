/* test_gt_feed.c - the live PUB feed set-up shared by the broker and the collector: listen,
 * dial URL, subscriber count, topic-prefixed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <string.h>

#include "gt/gt_feed.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"

/* Waits (bounded) until the feed counts n subscribers. */
static void
wait_subscribers(gt_feed *f, int n)
{
	int64_t end = gt_mono_ns() + 5 * GT_NS_PER_S;

	while (gt_feed_subscribers(f) != n && gt_mono_ns() < end)
		gt_sleep_ns(GT_NS_PER_MS);
	assert_int_equal(gt_feed_subscribers(f), n);
}

static void
test_gt_feed_publishes_topic_prefixed_messages(void **state)
{
	gt_feed   *f;
	nng_socket sub;
	nng_msg   *m = NULL;
	gt_err     rv = GT_EFULL;
	int64_t    end;
	(void)state;

	assert_int_equal(gt_feed_open(&f, "tcp://127.0.0.1:0"), GT_OK);
	assert_non_null(strstr(gt_feed_url(f), "tcp://127.0.0.1:"));
	assert_string_not_equal(gt_feed_url(f), "tcp://127.0.0.1:0");
	assert_int_equal(gt_feed_subscribers(f), 0);
	/* no subscriber: nothing blocks */
	assert_int_equal(gt_feed_send(f, "gpu-a", "x", 1), GT_OK);

	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "gpu-a", 5), 0);
	assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
	assert_int_equal(nng_dial(sub, gt_feed_url(f), NULL, 0), 0);
	wait_subscribers(f, 1);
	/* the subscription takes effect asynchronously: send until one arrives */
	end = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (m == NULL && gt_mono_ns() < end) {
		assert_int_equal(gt_feed_send(f, "gpu-b", "other", 5), GT_OK);
		rv = gt_feed_send(f, "gpu-a", "\x01\x02", 2);
		assert_int_equal(rv, GT_OK);
		if (nng_recvmsg(sub, &m, 0) != 0)
			m = NULL;
	}
	assert_non_null(m);
	assert_int_equal(nng_msg_len(m), 6 + 2);
	assert_memory_equal(nng_msg_body(m), "gpu-a\0\x01\x02", 8);
	nng_msg_free(m);
	nng_close(sub);
	wait_subscribers(f, 0);
	gt_feed_close(f);
	gt_feed_close(NULL);
}

/* A burst of messages (one per GPU of a collector batch) reaches a subscriber whole: nng's
 * default per-subscriber queue of 16 dropped all but the first few of a 64-GPU batch. */
static void
test_gt_feed_burst_reaches_a_subscriber(void **state)
{
	enum { BURST = 512 };
	gt_feed   *f;
	nng_socket sub;
	nng_msg   *m = NULL;
	int64_t    end;
	int        i, got = 0;
	char       body[256];
	(void)state;

	memset(body, 'x', sizeof(body));
	assert_int_equal(gt_feed_open(&f, "tcp://127.0.0.1:0"), GT_OK);
	assert_int_equal(nng_sub0_open(&sub), 0);
	assert_int_equal(nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	assert_int_equal(nng_socket_set_int(sub, NNG_OPT_RECVBUF, 2 * BURST), 0);
	assert_int_equal(nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 200), 0);
	assert_int_equal(nng_dial(sub, gt_feed_url(f), NULL, 0), 0);
	wait_subscribers(f, 1);
	end = gt_mono_ns() + 5 * GT_NS_PER_S; /* the subscription takes effect asynchronously */
	while (m == NULL && gt_mono_ns() < end) {
		assert_int_equal(gt_feed_send(f, "warm-up", "", 0), GT_OK);
		if (nng_recvmsg(sub, &m, 0) != 0)
			m = NULL;
	}
	assert_non_null(m);
	nng_msg_free(m);
	while (nng_recvmsg(sub, &m, 0) == 0) /* the rest of the warm-up */
		nng_msg_free(m);
	for (i = 0; i < BURST; i++)
		assert_int_equal(gt_feed_send(f, "gpu", body, sizeof(body)), GT_OK);
	while (got < BURST && nng_recvmsg(sub, &m, 0) == 0) {
		assert_int_equal(nng_msg_len(m), 4 + sizeof(body));
		nng_msg_free(m);
		got++;
	}
	assert_int_equal(got, BURST);
	nng_close(sub);
	gt_feed_close(f);
}

static void
test_gt_feed_open_fails_on_a_bad_url(void **state)
{
	gt_feed *f = NULL;
	(void)state;

	assert_int_not_equal(gt_feed_open(&f, "nosuch://x"), GT_OK);
	assert_null(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_feed_publishes_topic_prefixed_messages),
	    cmocka_unit_test(test_gt_feed_open_fails_on_a_bad_url),
	    cmocka_unit_test(test_gt_feed_burst_reaches_a_subscriber),
	};
	gt_log_open("test", GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
