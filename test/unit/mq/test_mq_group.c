/* test_mq_group.c - membership, round-robin assignment, lease expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mq_group.h"

static void
test_mq_group_assignment_round_robin_by_name(void **state)
{
	mq_group *g;
	int       ia, ib;

	(void)state;
	assert_int_equal(mq_group_new(&g, "g", 8, NULL), GT_OK);
	assert_int_equal(mq_group_touch(g, "b", 0, 1000, &ib), GT_OK);
	for (int p = 0; p < 8; p++)
		assert_int_equal(g->owner[p], ib);
	assert_int_equal(mq_group_touch(g, "a", 0, 1000, &ia), GT_OK);
	ib = mq_group_find(g, "b");
	assert_int_equal(ia, 0); /* sorted by name */
	assert_int_equal(ib, 1);
	for (int p = 0; p < 8; p++)
		assert_int_equal(g->owner[p], p % 2 ? ib : ia);
	mq_group_free(g);
}

static void
test_mq_group_silent_member_expires_and_partitions_move(void **state)
{
	mq_group *g;
	int       ia, ib;

	(void)state;
	assert_int_equal(mq_group_new(&g, "g", 4, NULL), GT_OK);
	mq_group_touch(g, "a", 0, 1000, &ia);
	mq_group_touch(g, "b", 0, 1000, &ib);
	assert_int_equal(g->ncons, 2);
	/* b keeps fetching; a goes silent. */
	mq_group_touch(g, "b", 900, 1000, &ib);
	assert_int_equal(g->ncons, 2);
	mq_group_touch(g, "b", 1500, 1000, &ib);
	assert_int_equal(g->ncons, 1);
	assert_int_equal(mq_group_find(g, "a"), -1);
	for (int p = 0; p < 4; p++)
		assert_int_equal(g->owner[p], ib);
	/* A parked long-poll keeps a member alive. */
	mq_group_touch(g, "c", 1500, 1000, &ia);
	g->cons[mq_group_find(g, "c")].parked = 1;
	assert_int_equal(mq_group_expire(g, 5000, 1000), 1); /* b expires, c stays */
	assert_int_equal(g->ncons, 1);
	assert_int_equal(mq_group_find(g, "c"), 0);
	mq_group_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mq_group_assignment_round_robin_by_name),
	    cmocka_unit_test(test_mq_group_silent_member_expires_and_partitions_move),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
