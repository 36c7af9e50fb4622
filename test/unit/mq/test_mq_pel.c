/* test_mq_pel.c - pending entry list bookkeeping, deadlines and backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mq_pel.h"

static void
test_mq_pel_first_deliveries_in_order_ack_advances_low_mark(void **state)
{
	mq_pel p;

	(void)state;
	mq_pel_init(&p, 10);
	assert_int_equal(mq_pel_next_new(&p, 15), 10);
	for (uint64_t o = 10; o < 15; o++)
		assert_int_equal(mq_pel_deliver(&p, o, 0, 100), GT_OK);
	assert_int_equal(mq_pel_next_new(&p, 15), 15);
	assert_int_equal(p.pending, 5);
	/* Out-of-order delivery is refused. */
	assert_int_equal(mq_pel_deliver(&p, 17, 0, 100), GT_EINVAL);
	assert_int_equal(mq_pel_state(&p, 9), MQ_PEL_DONE);
	assert_int_equal(mq_pel_state(&p, 12), MQ_PEL_PENDING);
	assert_int_equal(mq_pel_state(&p, 15), MQ_PEL_UNSEEN);
	/* Ack 11 and 12: lo stays at 10. Ack 10: lo jumps to 13. */
	assert_int_equal(mq_pel_done(&p, 11), 1);
	assert_int_equal(mq_pel_done(&p, 12), 1);
	assert_int_equal(p.lo, 10);
	assert_int_equal(mq_pel_done(&p, 12), 0); /* idempotent */
	assert_int_equal(mq_pel_done(&p, 10), 1);
	assert_int_equal(p.lo, 13);
	assert_int_equal(p.pending, 2);
	assert_int_equal(mq_pel_done(&p, 5), 0); /* below lo: already done */
	mq_pel_fini(&p);
}

static void
test_mq_pel_ring_grows_past_capacity(void **state)
{
	mq_pel p;

	(void)state;
	mq_pel_init(&p, 0);
	for (uint64_t o = 0; o < 5000; o++)
		assert_int_equal(mq_pel_deliver(&p, o, (int64_t)o, 1000), GT_OK);
	for (uint64_t o = 1; o < 5000; o += 2)
		mq_pel_done(&p, o);
	assert_int_equal(p.pending, 2500);
	for (uint64_t o = 0; o < 5000; o++)
		assert_int_equal(mq_pel_state(&p, o), o % 2 ? MQ_PEL_DONE : MQ_PEL_PENDING);
	mq_pel_fini(&p);
}

static void
test_mq_pel_due_finds_expired_first_deliveries_then_heap(void **state)
{
	mq_pel   p;
	uint64_t off;
	int64_t  nd;

	(void)state;
	mq_pel_init(&p, 0);
	mq_pel_deliver(&p, 0, 0, 100);  /* due 100 */
	mq_pel_deliver(&p, 1, 10, 100); /* due 110 */
	mq_pel_deliver(&p, 2, 20, 100); /* due 120 */
	assert_int_equal(mq_pel_due(&p, 50, &off, &nd), GT_ENOENT);
	assert_int_equal(nd, 100);
	mq_pel_done(&p, 0);
	assert_int_equal(mq_pel_due(&p, 115, &off, &nd), GT_OK);
	assert_int_equal(off, 1);
	/* Redeliver 1: attempts 2, next deadline 315 in the heap. */
	assert_int_equal(mq_pel_redeliver(&p, 1, 315), GT_OK);
	assert_int_equal(mq_pel_get(&p, 1)->attempts, 2);
	assert_int_equal(mq_pel_due(&p, 115, &off, &nd), GT_ENOENT);
	assert_int_equal(nd, 120);
	assert_int_equal(mq_pel_due(&p, 130, &off, &nd), GT_OK);
	assert_int_equal(off, 2);
	mq_pel_redeliver(&p, 2, 500);
	assert_int_equal(mq_pel_due(&p, 320, &off, &nd), GT_OK);
	assert_int_equal(off, 1);
	/* Acked entries in the heap are skipped lazily. */
	mq_pel_done(&p, 1);
	assert_int_equal(mq_pel_due(&p, 320, &off, &nd), GT_ENOENT);
	assert_int_equal(nd, 500);
	/* Reschedule (nack) replaces the old deadline. */
	assert_int_equal(mq_pel_schedule(&p, 2, 200), GT_OK);
	assert_int_equal(mq_pel_due(&p, 250, &off, &nd), GT_OK);
	assert_int_equal(off, 2);
	mq_pel_fini(&p);
}

static void
test_mq_pel_recovered_done_offsets_are_skipped(void **state)
{
	mq_pel p;

	(void)state;
	mq_pel_init(&p, 0);
	/* Recovery: offsets 1 and 3 were acked before the crash; 0, 2, 4 were not. */
	mq_pel_done(&p, 1);
	mq_pel_done(&p, 3);
	assert_int_equal(mq_pel_next_new(&p, 5), 0);
	mq_pel_deliver(&p, 0, 0, 10);
	assert_int_equal(mq_pel_next_new(&p, 5), 2);
	mq_pel_deliver(&p, 2, 0, 10);
	assert_int_equal(mq_pel_next_new(&p, 5), 4);
	mq_pel_done(&p, 0);
	mq_pel_done(&p, 2);
	assert_int_equal(p.lo, 4);
	mq_pel_fini(&p);
}

static void
test_mq_backoff_doubles_and_caps(void **state)
{
	(void)state;
	assert_int_equal(mq_backoff(100, 1, 10000), 100);
	assert_int_equal(mq_backoff(100, 2, 10000), 200);
	assert_int_equal(mq_backoff(100, 3, 10000), 400);
	assert_int_equal(mq_backoff(100, 10, 10000), 10000);
	assert_int_equal(mq_backoff(100, 60000, 10000), 10000);
}

static void
test_mq_pel_restored_attempts_continue_at_next_delivery(void **state)
{
	mq_pel p;

	(void)state;
	mq_pel_init(&p, 0);
	/* Recovery: offset 1 had 3 deliveries, offset 2 was acked, offset 4 had 2. */
	assert_int_equal(mq_pel_restore_attempts(&p, 1, 3), GT_OK);
	assert_int_equal(mq_pel_done(&p, 2), 1);
	assert_int_equal(mq_pel_restore_attempts(&p, 2, 5), GT_OK); /* done: ignored */
	assert_int_equal(mq_pel_restore_attempts(&p, 4, 2), GT_OK);
	assert_int_equal(mq_pel_state(&p, 1), MQ_PEL_NEW);
	for (uint64_t o = 0; o < 5; o = mq_pel_next_new(&p, 5))
		assert_int_equal(mq_pel_deliver(&p, o, 0, 100), GT_OK);
	assert_int_equal(mq_pel_get(&p, 0)->attempts, 1);
	assert_int_equal(mq_pel_get(&p, 1)->attempts, 4);
	assert_int_equal(mq_pel_state(&p, 2), MQ_PEL_DONE);
	assert_int_equal(mq_pel_get(&p, 3)->attempts, 1);
	assert_int_equal(mq_pel_get(&p, 4)->attempts, 3);
	assert_int_equal(p.pending, 4);
	mq_pel_fini(&p);
}

/* Offsets redelivered in one Fetch share a deadline; their next redelivery comes back in
 * offset order, not in the heap's arbitrary order for equal keys (scrambled redeliveries
 * fragment a consumer's record of what it stored). */
static void
test_mq_pel_equal_deadlines_redeliver_in_offset_order(void **state)
{
	mq_pel   p;
	uint64_t o, off;

	(void)state;
	mq_pel_init(&p, 0);
	for (o = 0; o < 1000; o++)
		assert_int_equal(mq_pel_deliver(&p, o, 0, 10), GT_OK);
	/* first redelivery of all at t=10 (offset order: the forward scan), next due at 30 */
	for (o = 0; o < 1000; o++) {
		assert_int_equal(mq_pel_due(&p, 10, &off, NULL), GT_OK);
		assert_int_equal(off, o);
		assert_int_equal(mq_pel_redeliver(&p, off, 30), GT_OK);
	}
	assert_int_equal(mq_pel_due(&p, 29, &off, NULL), GT_ENOENT);
	for (o = 0; o < 1000; o++) {
		assert_int_equal(mq_pel_due(&p, 30, &off, NULL), GT_OK);
		assert_int_equal(off, o);
		assert_int_equal(mq_pel_redeliver(&p, off, 90), GT_OK);
	}
	mq_pel_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mq_pel_first_deliveries_in_order_ack_advances_low_mark),
	    cmocka_unit_test(test_mq_pel_ring_grows_past_capacity),
	    cmocka_unit_test(test_mq_pel_due_finds_expired_first_deliveries_then_heap),
	    cmocka_unit_test(test_mq_pel_recovered_done_offsets_are_skipped),
	    cmocka_unit_test(test_mq_backoff_doubles_and_caps),
	    cmocka_unit_test(test_mq_pel_restored_attempts_continue_at_next_delivery),
	    cmocka_unit_test(test_mq_pel_equal_deadlines_redeliver_in_offset_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
