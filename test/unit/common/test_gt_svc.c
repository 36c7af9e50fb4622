/* test_gt_svc.c - the service shell: /health, /stats, /metrics over a real gt_http, and the
 * Health/Stats RPC answers, with the field names every service shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_svc.h"
#include "gt/gt_version.h"
#include "gt_http_test_util.h"

typedef struct svc_state {
	int         degraded;
	gt_metrics *metrics;
	gt_counter *c;
} svc_state;

static void
t_health(void *arg, gt_svc_health *h)
{
	svc_state *st = arg;

	if (st->degraded)
		h->status = "degraded";
	gt_svc_health_str(h, "state", "streaming");
	gt_svc_health_int(h, "epoch", 42);
	gt_svc_health_bool(h, "persistence", 1);
}

static gt_err
t_stats(void *arg, gt_buf *b, int *first)
{
	(void)arg;
	gt_json_key(b, first, "total_processed");
	return gt_json_int(b, 7);
}

static json_t *
parse(const char *s)
{
	json_error_t e;
	json_t      *j = json_loads(s, 0, &e);

	if (j == NULL)
		fail_msg("not JSON (%s): %s", e.text, s);
	return j;
}

static void
test_gt_svc_health_and_stats_documents(void **state)
{
	svc_state  st = {0};
	gt_svc_cfg cfg = {.service = "demo", .health = t_health, .stats = t_stats, .arg = &st};
	gt_svc    *s;
	gt_buf     b;
	json_t    *j;
	(void)state;

	assert_int_equal(gt_svc_new(&s, &cfg), GT_OK);
	gt_buf_init(&b);
	assert_int_equal(gt_svc_health_json(s, &b), GT_OK);
	j = parse(b.data);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(j, "service")), "demo");
	assert_string_equal(json_string_value(json_object_get(j, "version")), GT_VERSION);
	assert_true(json_is_real(json_object_get(j, "uptime_seconds")) ||
	            json_is_integer(json_object_get(j, "uptime_seconds")));
	assert_null(json_object_get(j, "uptime_ms"));
	assert_string_equal(json_string_value(json_object_get(j, "state")), "streaming");
	assert_int_equal(json_integer_value(json_object_get(j, "epoch")), 42);
	assert_true(json_is_true(json_object_get(j, "persistence")));
	json_decref(j);
	st.degraded = 1;
	gt_buf_reset(&b);
	assert_int_equal(gt_svc_health_json(s, &b), GT_OK);
	j = parse(b.data);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "degraded");
	json_decref(j);

	gt_buf_reset(&b);
	assert_int_equal(gt_svc_stats_json(s, &b), GT_OK);
	j = parse(b.data);
	assert_string_equal(json_string_value(json_object_get(j, "service")), "demo");
	assert_string_equal(json_string_value(json_object_get(j, "version")), GT_VERSION);
	assert_non_null(json_object_get(j, "uptime_seconds"));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "build"), "type")), GT_BUILD_TYPE);
	assert_int_equal(json_integer_value(json_object_get(j, "total_processed")), 7);
	json_decref(j);
	gt_buf_fini(&b);
	gt_svc_free(s);
}

static void
got_health(const Gtpb__V1__HealthResponse *r, void *cd)
{
	Gtpb__V1__HealthResponse *out = cd;
	size_t                    i;

	assert_non_null(r);
	assert_string_equal(r->status, "ok");
	assert_string_equal(r->service, "demo");
	assert_string_equal(r->version, GT_VERSION);
	assert_true(r->uptime_ns >= 0);
	assert_int_equal(r->n_details, 3);
	for (i = 0; i < r->n_details; i++) {
		if (strcmp(r->details[i]->key, "epoch") == 0)
			assert_string_equal(r->details[i]->value, "42");
		else if (strcmp(r->details[i]->key, "persistence") == 0)
			assert_string_equal(r->details[i]->value, "true");
		else
			assert_string_equal(r->details[i]->value, "streaming");
	}
	out->uptime_ns = 1;
}

static void
got_stats(const Gtpb__V1__StatsResponse *r, void *cd)
{
	json_t *j;

	assert_non_null(r);
	j = parse(r->json);
	assert_int_equal(json_integer_value(json_object_get(j, "total_processed")), 7);
	assert_non_null(json_object_get(j, "uptime_seconds"));
	json_decref(j);
	*(int *)cd = 1;
}

static void
test_gt_svc_rpc_answers(void **state)
{
	svc_state                st = {0};
	gt_svc_cfg               cfg = {.service = "demo", .health = t_health, .stats = t_stats, .arg = &st};
	gt_svc                  *s;
	Gtpb__V1__HealthResponse h = GTPB__V1__HEALTH_RESPONSE__INIT;
	int                      called = 0;
	(void)state;

	assert_int_equal(gt_svc_new(&s, &cfg), GT_OK);
	gt_svc_rpc_health(s, got_health, &h);
	assert_int_equal(h.uptime_ns, 1);
	gt_svc_rpc_stats(s, got_stats, &called);
	assert_int_equal(called, 1);
	gt_svc_free(s);
}

static void
test_gt_svc_http_routes(void **state)
{
	svc_state   st = {0};
	gt_svc_cfg  cfg = {.service = "demo", .health = t_health, .stats = t_stats, .arg = &st};
	gt_http_cfg hc = {.service = "demo", .bind = "127.0.0.1"};
	gt_svc     *s;
	gt_http    *h;
	ht_resp     r;
	json_t     *j;
	(void)state;

	assert_int_equal(gt_metrics_new(&st.metrics, "gt_demo_"), GT_OK);
	st.c = gt_metrics_counter(st.metrics, "things_total", NULL, "things");
	gt_counter_add(st.c, 3);
	cfg.metrics = st.metrics;
	assert_int_equal(gt_svc_new(&s, &cfg), GT_OK);
	assert_int_equal(gt_http_new(&h, &hc), GT_OK);
	assert_int_equal(gt_svc_routes(s, h), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);

	assert_int_equal(ht_get(gt_http_port(h), "/health", &r), 200);
	j = parse(r.body);
	assert_string_equal(json_string_value(json_object_get(j, "service")), "demo");
	json_decref(j);
	ht_resp_free(&r);
	assert_int_equal(ht_get(gt_http_port(h), "/stats", &r), 200);
	j = parse(r.body);
	assert_int_equal(json_integer_value(json_object_get(j, "total_processed")), 7);
	json_decref(j);
	ht_resp_free(&r);
	assert_int_equal(ht_get(gt_http_port(h), "/metrics", &r), 200);
	assert_non_null(strstr(r.body, "gt_demo_things_total 3"));
	assert_non_null(strstr(ht_head_value(r.headers, "Content-Type"), "text/plain"));
	ht_resp_free(&r);

	gt_http_free(h);
	gt_svc_free(s);
	gt_metrics_free(st.metrics);
}

/* With a token: /stats requires it, /health and /metrics stay open (probes, scrapers). */
static void
test_gt_svc_token_guards_stats_only(void **state)
{
	svc_state   st = {0};
	gt_svc_cfg  cfg = {.service = "demo", .health = t_health, .stats = t_stats, .arg = &st};
	gt_http_cfg hc = {.service = "demo", .bind = "127.0.0.1", .token = "s3cret"};
	gt_svc     *s;
	gt_http    *h;
	ht_resp     r;
	(void)state;

	assert_int_equal(gt_svc_new(&s, &cfg), GT_OK);
	assert_int_equal(gt_http_new(&h, &hc), GT_OK);
	assert_int_equal(gt_svc_routes(s, h), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	assert_int_equal(ht_get(gt_http_port(h), "/health", &r), 200);
	ht_resp_free(&r);
	assert_int_equal(ht_get(gt_http_port(h), "/metrics", &r), 200);
	ht_resp_free(&r);
	assert_int_equal(ht_get(gt_http_port(h), "/stats", &r), 401);
	ht_resp_free(&r);
	assert_int_equal(ht_req(gt_http_port(h), "GET", "/stats", "Authorization: Bearer s3cret\r\n",
	                        NULL, &r),
	                 200);
	ht_resp_free(&r);
	gt_http_free(h);
	gt_svc_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_svc_health_and_stats_documents),
	    cmocka_unit_test(test_gt_svc_rpc_answers),
	    cmocka_unit_test(test_gt_svc_http_routes),
	    cmocka_unit_test(test_gt_svc_token_guards_stats_only),
	};
	gt_log_open("test", GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
