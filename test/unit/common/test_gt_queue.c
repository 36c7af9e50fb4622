/* test_gt_queue.c - bounded MPMC queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_queue.h"
#include "gt/gt_time.h"

static void
test_queue_bounded_fifo(void **state)
{
	gt_queue *q;
	void     *v;
	(void)state;

	assert_int_equal(gt_queue_new(&q, 2), GT_OK);
	assert_int_equal(gt_queue_push(q, (void *)1, 0), GT_OK);
	assert_int_equal(gt_queue_push(q, (void *)2, 0), GT_OK);
	assert_int_equal(gt_queue_push(q, (void *)3, 0), GT_EFULL);
	assert_int_equal(gt_queue_push(q, (void *)3, 10 * GT_NS_PER_MS), GT_ETIMEDOUT);
	assert_int_equal(gt_queue_pop(q, &v, 0), GT_OK);
	assert_ptr_equal(v, (void *)1);
	assert_int_equal(gt_queue_pop(q, &v, 0), GT_OK);
	assert_ptr_equal(v, (void *)2);
	assert_int_equal(gt_queue_pop(q, &v, 10 * GT_NS_PER_MS), GT_ETIMEDOUT);
	gt_queue_free(q);
}

static void
test_queue_close_drains_then_closed(void **state)
{
	gt_queue *q;
	void     *v[4];
	size_t    n;
	(void)state;

	assert_int_equal(gt_queue_new(&q, 4), GT_OK);
	gt_queue_push(q, (void *)1, 0);
	gt_queue_push(q, (void *)2, 0);
	gt_queue_close(q);
	assert_int_equal(gt_queue_push(q, (void *)3, 0), GT_ECLOSED);
	assert_int_equal(gt_queue_pop_many(q, v, 4, &n, -1), GT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(gt_queue_pop(q, v, -1), GT_ECLOSED);
	gt_queue_free(q);
}

static gt_queue *mq;

static void *
producer(void *arg)
{
	for (intptr_t i = 1; i <= 10000; i++)
		gt_queue_push(mq, (void *)i, -1);
	(void)arg;
	return NULL;
}

static void
test_queue_mpmc_delivers_everything_once(void **state)
{
	pthread_t th[4];
	long long sum = 0;
	size_t    got = 0;
	(void)state;

	assert_int_equal(gt_queue_new(&mq, 16), GT_OK);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, producer, NULL);
	while (got < 40000) {
		void  *v[8];
		size_t n;
		assert_int_equal(gt_queue_pop_many(mq, v, 8, &n, 5 * GT_NS_PER_S), GT_OK);
		for (size_t k = 0; k < n; k++)
			sum += (intptr_t)v[k];
		got += n;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(sum, 4LL * 10000 * 10001 / 2);
	assert_int_equal(gt_queue_len(mq), 0);
	gt_queue_free(mq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_queue_bounded_fifo),
	    cmocka_unit_test(test_queue_close_drains_then_closed),
	    cmocka_unit_test(test_queue_mpmc_delivers_everything_once),
	};
	return cmocka_run_group_tests_name("unit.common.queue", tests, NULL, NULL);
}
