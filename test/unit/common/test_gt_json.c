/* test_gt_json.c - the streaming writer's output parses back with jansson. */
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

#include "gt/gt_json.h"

static void
test_json_strings_round_trip_through_jansson(void **state)
{
	static const char *cases[] = {"plain", "quote\" back\\slash", "ctl\x01\x1f\n\r\t",
	    "utf8 °C µs 温度 😀", "", "</script>"};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gt_buf  b;
		json_t *j;
		gt_buf_init(&b);
		assert_int_equal(gt_json_cstr(&b, cases[i]), GT_OK);
		j = json_loads(b.data, JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(j), cases[i]);
		json_decref(j);
		gt_buf_fini(&b);
	}
}

static void
test_json_invalid_utf8_replaced(void **state)
{
	gt_buf  b;
	json_t *j;
	(void)state;

	gt_buf_init(&b);
	gt_json_str(&b, "a\xff" "b\xc0\xaf" "c\xed\xa0\x80", 9);
	j = json_loads(b.data, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(j), "\xef\xbf\xbd"));
	assert_int_equal(json_string_value(j)[0], 'a');
	json_decref(j);
	gt_buf_fini(&b);
	/* Embedded NUL is escaped, not truncated. */
	gt_buf_init(&b);
	gt_json_str(&b, "x\0y", 3);
	assert_string_equal(b.data, "\"x\\u0000y\"");
	gt_buf_fini(&b);
}

static void
test_json_numbers(void **state)
{
	double vals[] = {0, -1, 81.25, 0.1, 1e-300, 123456789.123456789, -2.5e20, 42};
	(void)state;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		gt_buf  b;
		json_t *j;
		gt_buf_init(&b);
		gt_json_dbl(&b, vals[i]);
		j = json_loads(b.data, JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		assert_true(json_number_value(j) == vals[i]);
		json_decref(j);
		gt_buf_fini(&b);
	}
	{
		gt_buf b;
		gt_buf_init(&b);
		gt_json_dbl(&b, NAN);
		gt_buf_putc(&b, ' ');
		gt_json_dbl(&b, INFINITY);
		gt_buf_putc(&b, ' ');
		gt_json_int(&b, INT64_MIN);
		assert_string_equal(b.data, "null null -9223372036854775808");
		gt_buf_fini(&b);
	}
}

static void
test_json_object_with_keys(void **state)
{
	gt_buf  b;
	int     first = 1;
	json_t *j;
	(void)state;

	gt_buf_init(&b);
	gt_buf_putc(&b, '{');
	gt_json_key(&b, &first, "a");
	gt_json_int(&b, 1);
	gt_json_key(&b, &first, "b\"");
	gt_json_cstr(&b, NULL);
	gt_buf_putc(&b, '}');
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_true(json_is_null(json_object_get(j, "b\"")));
	json_decref(j);
	gt_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_strings_round_trip_through_jansson),
	    cmocka_unit_test(test_json_invalid_utf8_replaced),
	    cmocka_unit_test(test_json_numbers),
	    cmocka_unit_test(test_json_object_with_keys),
	};
	return cmocka_run_group_tests_name("unit.common.json", tests, NULL, NULL);
}
