/* test_gt_hash.c - CRC-32C check values and FNV-1a. */
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

#include "gt/gt_hash.h"

static void
test_crc32c_known_values(void **state)
{
	unsigned char zeros[32] = {0}, big[1000];
	(void)state;

	/* RFC 3720 B.4 test vectors. */
	assert_int_equal(gt_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(gt_crc32c(0, zeros, 32), 0x8a9136aau);
	assert_int_equal(gt_crc32c(0, "", 0), 0);
	/* Chaining equals one pass, at every split. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	uint32_t whole = gt_crc32c(0, big, sizeof(big));
	for (size_t cut = 0; cut <= sizeof(big); cut += 37)
		assert_int_equal(gt_crc32c(gt_crc32c(0, big, cut), big + cut, sizeof(big) - cut), whole);
}

static void
test_hash64_fnv1a(void **state)
{
	(void)state;
	assert_true(gt_hash64("", 0) == 0xcbf29ce484222325ull);
	assert_true(gt_hash64("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(gt_hash64("GPU-1", 5) != gt_hash64("GPU-2", 5));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c_known_values),
	    cmocka_unit_test(test_hash64_fnv1a),
	};
	return cmocka_run_group_tests_name("unit.common.hash", tests, NULL, NULL);
}
