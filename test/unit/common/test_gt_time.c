/* test_gt_time.c - durations and RFC 3339. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gt/gt_time.h"

static void
test_duration_parse_units(void **state)
{
	static const struct {
		const char *s;
		int64_t     ns;
	} ok[] = {{"250ms", 250 * GT_NS_PER_MS}, {"5s", 5 * GT_NS_PER_S}, {"1h", 3600 * GT_NS_PER_S},
	    {"1m", 60 * GT_NS_PER_S}, {"1h30m", 5400 * GT_NS_PER_S}, {"1.5s", 1500 * GT_NS_PER_MS},
	    {"100us", 100 * GT_NS_PER_US}, {"10ns", 10}, {"2", 2 * GT_NS_PER_S}, {"0", 0},
	    {"1m30s", 90 * GT_NS_PER_S}};
	static const char *bad[] = {"", "abc", "5x", "-1s", "1m30", "s", "1ms2", "99999999999h",
	    "5 s", "1.2.3s"};
	int64_t ns;
	(void)state;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(gt_duration_parse(ok[i].s, &ns), GT_OK);
		assert_int_equal(ns, ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gt_duration_parse(bad[i], &ns), GT_EINVAL);
}

static void
test_duration_format_round_trips(void **state)
{
	int64_t vals[] = {250 * GT_NS_PER_MS, 5 * GT_NS_PER_S, 5400 * GT_NS_PER_S, 1, 0};
	char    buf[32];
	int64_t back;
	(void)state;

	for (size_t i = 0; i < 5; i++) {
		gt_duration_format(vals[i], buf, sizeof(buf));
		assert_int_equal(gt_duration_parse(buf, &back), GT_OK);
		assert_int_equal(back, vals[i]);
	}
	gt_duration_format(5400 * GT_NS_PER_S, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
}

static void
test_rfc3339_format_and_parse(void **state)
{
	char    buf[40];
	int64_t ns;
	int64_t t = INT64_C(1764197351123456789); /* 2025-11-26T22:49:11.123456789Z */
	(void)state;

	gt_rfc3339_format(t, 9, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-26T22:49:11.123456789Z");
	assert_int_equal(gt_rfc3339_parse(buf, &ns), GT_OK);
	assert_int_equal(ns, t);
	gt_rfc3339_format(t, 3, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-26T22:49:11.123Z");
	gt_rfc3339_format(0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(gt_rfc3339_parse("2025-11-26T23:49:11.5+01:00", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764197351500000000));
	assert_int_equal(gt_rfc3339_parse("2025/11/26 22:49:11.123", &ns), GT_OK); /* nvidia-smi */
	assert_int_equal(ns, INT64_C(1764197351123000000));
	assert_int_equal(gt_rfc3339_parse("2024-02-29T00:00:00Z", &ns), GT_OK);
	assert_int_equal(gt_rfc3339_parse("2000-02-29T00:00:00Z", &ns), GT_OK);
	/* the last instant int64 ns hold, exactly */
	assert_int_equal(gt_rfc3339_parse("2262-04-11T23:47:16.854775807Z", &ns), GT_OK);
	assert_true(ns == INT64_MAX);
	static const char *bad[] = {"", "2025-13-01T00:00:00Z", "2025-11-26", "2025-11-26T25:00:00Z",
	    "2025-11-26T22:49:11Zjunk", "2025-11-26T22:49:11.Z", "2025-02-30T00:00:00Z", "now",
	    "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2262-04-11T23:47:16.854775808Z",
	    "9999-12-31T23:59:59Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gt_rfc3339_parse(bad[i], &ns), GT_EINVAL);
}

static void
test_time_parse_accepts_unix_ns(void **state)
{
	int64_t ns;
	(void)state;

	assert_int_equal(gt_time_parse("1764197351123456789", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764197351123456789));
	assert_int_equal(gt_time_parse("2025-11-26T22:49:11Z", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764197351000000000));
	assert_int_equal(gt_time_parse("12x", &ns), GT_EINVAL);
	assert_int_equal(gt_time_parse("99999999999999999999999", &ns), GT_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_parse_units),
	    cmocka_unit_test(test_duration_format_round_trips),
	    cmocka_unit_test(test_rfc3339_format_and_parse),
	    cmocka_unit_test(test_time_parse_accepts_unix_ns),
	};
	return cmocka_run_group_tests_name("unit.common.time", tests, NULL, NULL);
}
