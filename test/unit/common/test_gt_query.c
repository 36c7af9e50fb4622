/* test_gt_query.c - REST query parameters (limit, reverse, since/until incl. relative forms,
 * metric lists) and the gt_err / RPC code -> HTTP status mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gt/gt_query.h"
#include "gt/gt_time.h"

#define NOW INT64_C(1795730400000000000)

static void
test_gt_query_uint_bounds_and_garbage(void **state)
{
	char     msg[160];
	uint64_t u;
	(void)state;

	assert_int_equal(gt_query_uint("limit", "100", 1, 100000, &u, msg, sizeof(msg)), GT_OK);
	assert_int_equal(u, 100);
	assert_int_equal(gt_query_uint("limit", "100000", 1, 100000, &u, msg, sizeof(msg)), GT_OK);
	static const char *bad[] = {"", "0", "100001", "-1", "+5", "1e3", "12abc", " 5",
	                            "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gt_query_uint("limit", bad[i], 1, 100000, &u, msg, sizeof(msg)),
		                 GT_EINVAL);
		assert_string_equal(msg, "invalid parameter limit: want an integer 1..100000");
	}
	/* msglen 0: no message written */
	assert_int_equal(gt_query_uint("limit", "x", 1, 2, &u, NULL, 0), GT_EINVAL);
}

static void
test_gt_query_bool(void **state)
{
	char msg[160];
	int  b = -1;
	(void)state;

	assert_int_equal(gt_query_bool("reverse", "true", &b, msg, sizeof(msg)), GT_OK);
	assert_int_equal(b, 1);
	assert_int_equal(gt_query_bool("reverse", "no", &b, msg, sizeof(msg)), GT_OK);
	assert_int_equal(b, 0);
	assert_int_equal(gt_query_bool("reverse", "maybe", &b, msg, sizeof(msg)), GT_EINVAL);
	assert_string_equal(msg, "invalid parameter reverse: want true or false");
}

static void
test_gt_query_time_absolute_relative_and_now(void **state)
{
	char    msg[160];
	int64_t t;
	(void)state;

	assert_int_equal(gt_query_time("since", "2026-11-26T22:49:11Z", NOW, &t, msg, sizeof(msg)),
	                 GT_OK);
	assert_int_equal(t, INT64_C(1795733351000000000));
	assert_int_equal(gt_query_time("since", "1764000000000000000", NOW, &t, msg, sizeof(msg)),
	                 GT_OK);
	assert_int_equal(t, INT64_C(1764000000000000000));
	assert_int_equal(gt_query_time("until", "now", NOW, &t, msg, sizeof(msg)), GT_OK);
	assert_int_equal(t, NOW);
	assert_int_equal(gt_query_time("since", "-15m", NOW, &t, msg, sizeof(msg)), GT_OK);
	assert_int_equal(t, NOW - 15 * 60 * GT_NS_PER_S);
	assert_int_equal(gt_query_time("since", "now-1h30m", NOW, &t, msg, sizeof(msg)), GT_OK);
	assert_int_equal(t, NOW - 90 * 60 * GT_NS_PER_S);
	assert_int_equal(gt_query_time("until", "+5s", NOW, &t, msg, sizeof(msg)), GT_OK);
	assert_int_equal(t, NOW + 5 * GT_NS_PER_S);
	assert_int_equal(gt_query_time("until", "now+250ms", NOW, &t, msg, sizeof(msg)), GT_OK);
	assert_int_equal(t, NOW + 250 * GT_NS_PER_MS);
	static const char *bad[] = {"", "yesterday", "nowish", "now-", "-", "-15x", "12abc",
	                            "now 5m", "--5m"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gt_query_time("since", bad[i], NOW, &t, msg, sizeof(msg)),
		                 GT_EINVAL);
		assert_non_null(strstr(msg, "invalid parameter since: want RFC 3339"));
	}
	/* out of range instead of overflow */
	assert_int_equal(gt_query_time("since", "-9999999h", INT64_MIN + 5, &t, msg, sizeof(msg)),
	                 GT_EINVAL);
}

static void
test_gt_query_metrics_names_and_limits(void **state)
{
	gt_query_metrics m;
	char             msg[160], v[8000];
	size_t           n = 0, i;
	(void)state;

	assert_int_equal(gt_query_metrics_parse("metric", "temperature,,power_draw,", &m, msg,
	                                        sizeof(msg)),
	                 GT_OK);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.names[0], "temperature");
	assert_string_equal(m.names[1], "power_draw");
	assert_int_equal(gt_query_metrics_parse("metric", "", &m, msg, sizeof(msg)), GT_OK);
	assert_int_equal(m.n, 0);
	/* one name of 5,000 characters: the message says what is wrong */
	memset(v, 'm', 5000);
	v[5000] = '\0';
	assert_int_equal(gt_query_metrics_parse("metric", v, &m, msg, sizeof(msg)), GT_EINVAL);
	assert_string_equal(msg, "invalid parameter metric: a metric name has at most 128 characters");
	/* exactly the limits pass */
	memset(v, 'm', GT_QUERY_MAX_METRIC_LEN);
	v[GT_QUERY_MAX_METRIC_LEN] = '\0';
	assert_int_equal(gt_query_metrics_parse("metric", v, &m, msg, sizeof(msg)), GT_OK);
	assert_int_equal(strlen(m.names[0]), GT_QUERY_MAX_METRIC_LEN);
	for (i = 0; i < GT_QUERY_MAX_METRICS; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, "%s%0127zu", i ? "," : "", i);
	assert_int_equal(gt_query_metrics_parse("metric", v, &m, msg, sizeof(msg)), GT_OK);
	assert_int_equal(m.n, GT_QUERY_MAX_METRICS);
	assert_int_equal(strlen(m.names[31]), 127);
	snprintf(v + n, sizeof(v) - n, ",x");
	assert_int_equal(gt_query_metrics_parse("metric", v, &m, msg, sizeof(msg)), GT_EINVAL);
	assert_string_equal(msg, "invalid parameter metric: at most 32 names");
}

static void
test_gt_query_names_checked(void **state)
{
	gt_query_metrics m;
	char             msg[160], v[200];
	(void)state;

	assert_true(gt_query_name_ok("gpu_util.avg:1-x", 16, 64));
	assert_false(gt_query_name_ok("", 0, 64));
	assert_false(gt_query_name_ok("a b", 3, 64));
	assert_false(gt_query_name_ok("abc", 3, 2));
	/* the name length is len, not strlen: an embedded NUL is a bad character */
	assert_false(gt_query_name_ok("a\0b", 3, 64));

	assert_int_equal(gt_query_names_parse("metric", "temperature,,power_draw,", 64, &m, msg,
	                                      sizeof(msg)),
	                 GT_OK);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.names[0], "temperature");
	assert_string_equal(m.names[1], "power_draw");
	assert_int_equal(gt_query_names_parse("metric", "", 64, &m, msg, sizeof(msg)), GT_OK);
	assert_int_equal(m.n, 0);
	/* a bad character: the message names the parameter */
	assert_int_equal(gt_query_names_parse("metric", "a b", 64, &m, msg, sizeof(msg)),
	                 GT_EINVAL);
	assert_string_equal(msg, "invalid parameter metric: a name is 1..64 of [A-Za-z0-9_.:-]");
	/* the length limit is the caller's: 64 passes, 65 fails */
	memset(v, 'm', 65);
	v[64] = '\0';
	assert_int_equal(gt_query_names_parse("metrics", v, 64, &m, msg, sizeof(msg)), GT_OK);
	v[64] = 'm';
	v[65] = '\0';
	assert_int_equal(gt_query_names_parse("metrics", v, 64, &m, msg, sizeof(msg)), GT_EINVAL);
	assert_non_null(strstr(msg, "invalid parameter metrics: "));
	/* 0 means the metric-name limit; the plain metric parser still takes any bytes */
	assert_int_equal(gt_query_names_parse("metric", v, 0, &m, msg, sizeof(msg)), GT_OK);
	assert_int_equal(gt_query_metrics_parse("metric", "a b", &m, msg, sizeof(msg)), GT_OK);
	assert_string_equal(m.names[0], "a b");
}

static void
test_gt_query_http_status_mapping(void **state)
{
	(void)state;
	assert_int_equal(gt_query_http_status(GT_RPC_OK), 200);
	assert_int_equal(gt_query_http_status(GT_RPC_INVALID_ARGUMENT), 400);
	assert_int_equal(gt_query_http_status(GT_RPC_UNAUTHENTICATED), 401);
	assert_int_equal(gt_query_http_status(GT_RPC_NOT_FOUND), 404);
	assert_int_equal(gt_query_http_status(GT_RPC_RESOURCE_EXHAUSTED), 429);
	assert_int_equal(gt_query_http_status(GT_RPC_INTERNAL), 500);
	assert_int_equal(gt_query_http_status(GT_RPC_UNIMPLEMENTED), 501);
	assert_int_equal(gt_query_http_status(GT_RPC_UNAVAILABLE), 503);
	assert_int_equal(gt_query_http_status(GT_RPC_DEADLINE_EXCEEDED), 504);
	assert_int_equal(gt_query_http_status((gt_rpc_code)77), 500);
	assert_int_equal(gt_query_http_status_err(GT_EINVAL), 400);
	assert_int_equal(gt_query_http_status_err(GT_ENOENT), 404);
	assert_int_equal(gt_query_http_status_err(GT_EFULL), 429);
	assert_int_equal(gt_query_http_status_err(GT_EAUTH), 401);
	assert_int_equal(gt_query_http_status_err(GT_EUNAVAIL), 503);
	assert_int_equal(gt_query_http_status_err(GT_ETIMEDOUT), 504);
	assert_int_equal(gt_query_http_status_err(GT_ENOMEM), 500);
	assert_int_equal(gt_query_http_status_err(GT_EIO), 500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_query_uint_bounds_and_garbage),
	    cmocka_unit_test(test_gt_query_bool),
	    cmocka_unit_test(test_gt_query_time_absolute_relative_and_now),
	    cmocka_unit_test(test_gt_query_metrics_names_and_limits),
	    cmocka_unit_test(test_gt_query_names_checked),
	    cmocka_unit_test(test_gt_query_http_status_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
