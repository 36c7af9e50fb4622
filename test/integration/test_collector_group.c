/* Integration: two collectors in one consumer group split the partitions (so the GPUs) and
 * the union of what they store is complete, with nothing stored twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_collector_util.h"

#define NGPU 16
#define PER_GPU 200
#define TS0 INT64_C(1764000000000000000)

static void
test_collector_two_collectors_split_gpus_union_complete(void **state)
{
	char    *d1 = gt_test_tmpdir("colg1"), *d2 = gt_test_tmpdir("colg2");
	tc_svc   mq, c1, c2;
	int64_t  end, p1 = 0, p2 = 0;
	unsigned g, only1 = 0, only2 = 0;
	char     key[64];

	(void)state;
	tc_mq_start(&mq, NULL);
	tc_col_start(&c1, &mq, d1, "c1", NULL);
	tc_col_start(&c2, &mq, d2, "c2", NULL);
	gt_sleep_ns(700 * GT_NS_PER_MS); /* both fetching: the group has rebalanced */
	tc_publish(&mq, 0, NGPU * PER_GPU, NGPU, TS0, 0);
	end = gt_mono_ns() + 30 * GT_NS_PER_S;
	while (gt_mono_ns() < end) {
		p1 = tc_stat(&c1, "total_processed");
		p2 = tc_stat(&c2, "total_processed");
		if (p1 + p2 >= NGPU * PER_GPU)
			break;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	assert_int_equal(p1 + p2, NGPU * PER_GPU);
	assert_true(p1 > 0 && p2 > 0);
	for (g = 0; g < NGPU; g++) {
		size_t a, b;

		tc_key(key, sizeof(key), g, 0);
		a = tc_count_lines(d1, key);
		b = tc_count_lines(d2, key);
		assert_int_equal(a + b, PER_GPU); /* complete, nothing twice */
		only1 += a == PER_GPU;
		only2 += b == PER_GPU;
	}
	assert_int_equal(only1 + only2, NGPU); /* each GPU lives in one collector */
	assert_true(only1 > 0 && only2 > 0);
	tc_stop(&c1);
	tc_stop(&c2);
	tc_stop(&mq);
	gt_test_rmrf(d1);
	gt_test_rmrf(d2);
	free(d1);
	free(d2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_collector_two_collectors_split_gpus_union_complete, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
