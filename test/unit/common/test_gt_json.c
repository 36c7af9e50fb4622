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

/* gt_json_dbl_fmt round-trips every double: telemetry-like values with few decimals (the
 * integer fast path, whose text is also the short one), and random bit patterns. */
static void
test_json_dbl_fmt_round_trips(void **state)
{
	static const struct {
		double      v;
		const char *want;
	} fixed[] = {{81.25, "81.25"}, {-0.5, "-0.5"}, {45, "45"}, {0.000001, "0.000001"},
	             {1234567.000123, "1234567.000123"}, {9000000000.5, "9000000000.5"}};
	static const double p10[8] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
	char                out[GT_JSON_DBL_MAX];
	uint64_t            x = 0x9e3779b97f4a7c15u;
	size_t   i;
	(void)state;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		assert_int_equal(gt_json_dbl_fmt(out, fixed[i].v), strlen(fixed[i].want));
		assert_string_equal(out, fixed[i].want);
	}
	for (i = 0; i < 200000; i++) {
		double v;
		size_t n;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (i % 2 == 0) /* k decimals, like sensors report */
			v = (double)((int64_t)(x % 2000000001u) - 1000000000) / p10[x % 8];
		else
			memcpy(&v, &x, sizeof(v));
		n = gt_json_dbl_fmt(out, v);
		assert_true(n > 0 && n < GT_JSON_DBL_MAX);
		assert_int_equal(strlen(out), n);
		if (isfinite(v) && strtod(out, NULL) != v)
			fail_msg("%.17g written as %s", v, out);
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
	    cmocka_unit_test(test_json_dbl_fmt_round_trips),
	    cmocka_unit_test(test_json_object_with_keys),
	};
	return cmocka_run_group_tests_name("unit.common.json", tests, NULL, NULL);
}
