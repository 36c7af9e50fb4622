/* test_gt_metrics.c - Prometheus text and /stats JSON. */
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

#include "gt/gt_metrics.h"
#include "gt/gt_time.h"

static double
seven(void *arg)
{
	(void)arg;
	return 7;
}

static void
test_metrics_prometheus_text(void **state)
{
	gt_metrics *m;
	gt_buf      b;
	(void)state;

	assert_int_equal(gt_metrics_new(&m, "gt_mq_"), GT_OK);
	gt_counter *c1 = gt_metrics_counter(m, "published_total", "topic=\"a\"", "Messages accepted");
	gt_counter *c2 = gt_metrics_counter(m, "published_total", "topic=\"b\"", "Messages accepted");
	assert_ptr_equal(c1, gt_metrics_counter(m, "published_total", "topic=\"a\"", NULL));
	gt_counter_add(c1, 5);
	gt_counter_inc(c2);
	gt_gauge_set(gt_metrics_gauge(m, "lag", NULL, "Lag"), 2.5);
	gt_metrics_gauge_fn(m, "seven", NULL, "Seven", seven, NULL);
	gt_hist *h = gt_metrics_hist(m, "publish_seconds", NULL, "Publish latency");
	for (int i = 0; i < 100; i++)
		gt_hist_observe_ns(h, (i < 99 ? 300 : 40000) * GT_NS_PER_US);
	gt_buf_init(&b);
	assert_int_equal(gt_metrics_prometheus(m, &b), GT_OK);
	assert_non_null(strstr(b.data, "# TYPE gt_mq_published_total counter\n"));
	assert_non_null(strstr(b.data, "gt_mq_published_total{topic=\"a\"} 5\n"));
	assert_non_null(strstr(b.data, "gt_mq_published_total{topic=\"b\"} 1\n"));
	assert_null(strstr(strstr(b.data, "topic=\"a\"} 5") , "# TYPE gt_mq_published_total"));
	assert_non_null(strstr(b.data, "gt_mq_lag 2.5\n"));
	assert_non_null(strstr(b.data, "gt_mq_seven 7\n"));
	assert_non_null(strstr(b.data, "gt_mq_publish_seconds_bucket{le=\"+Inf\"} 100\n"));
	assert_non_null(strstr(b.data, "gt_mq_publish_seconds_count 100\n"));
	assert_non_null(strstr(b.data, "gt_mq_publish_seconds_bucket{le=\"0.0005\"} 99\n"));
	/* Quantiles land in the right buckets. */
	assert_true(gt_hist_quantile(h, 0.5) > 200e-6 && gt_hist_quantile(h, 0.5) <= 500e-6);
	assert_true(gt_hist_quantile(h, 0.999) > 20e-3 && gt_hist_quantile(h, 0.999) <= 50e-3);
	gt_buf_fini(&b);
	gt_metrics_free(m);
}

static void
test_metrics_json_parses(void **state)
{
	gt_metrics *m;
	gt_buf      b;
	int         first = 1;
	json_t     *j;
	(void)state;

	assert_int_equal(gt_metrics_new(&m, "x_"), GT_OK);
	gt_counter_add(gt_metrics_counter(m, "n", NULL, NULL), 3);
	gt_hist_observe_ns(gt_metrics_hist(m, "lat", "op=\"get\"", NULL), GT_NS_PER_MS);
	gt_buf_init(&b);
	gt_buf_putc(&b, '{');
	gt_metrics_json(m, &b, &first);
	gt_buf_putc(&b, '}');
	j = json_loads(b.data, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "lat{op=\"get\"}"), "count")), 1);
	json_decref(j);
	gt_buf_fini(&b);
	gt_metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_prometheus_text),
	    cmocka_unit_test(test_metrics_json_parses),
	};
	return cmocka_run_group_tests_name("unit.common.metrics", tests, NULL, NULL);
}
