/* test_gateway_api.c - gt-gateway REST over a real gt-mq + gt-collector: every route, its
 * parameters and error paths, formats (JSON, NDJSON, CSV, protobuf), the cache, CORS, token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "gt/gt_time.h"
#include "gt/gt_version.h"
#include "gt_test.h"
#include "gtpb/v1/collector.pb-c.h"
#include "test_gateway_util.h"

static tg_env env;
static int64_t ts0;

static int
setup(void **state)
{
	(void)state;
	ts0 = gt_now_ns() - 3600 * GT_NS_PER_S;
	static const char *const extra[] = {"--page-size", "7", NULL};

	tg_start(&env, 1, extra);
	tg_publish(&env, 0, 1000, 10, ts0, 0);  /* GPU-test-0..9, 100 records each */
	tg_publish(&env, 1000, 20, 2, ts0, 1); /* host-0/0, host-1/0 */
	tg_wait_component(&env, "collector-0", "ok");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_stop(&env);
	return 0;
}

static void
expect_error(const char *path, int status, const char *needle)
{
	json_t *j = NULL;
	int     st = tg_get(&env, path, NULL, &j, NULL, NULL);
	json_t *e = json_object_get(j, "error");

	if (st != status)
		fail_msg("%s: status %d, want %d", path, st, status);
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "code")), status);
	if (needle && strstr(json_string_value(json_object_get(e, "message")), needle) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", path,
		         json_string_value(json_object_get(e, "message")), needle);
	json_decref(j);
}

static void
test_gpus_list_sorted_filtered_paged(void **state)
{
	json_t     *j = NULL, *g;
	const char *cur;
	char        path[512];
	(void)state;

	assert_int_equal(tg_get(&env, "/api/v1/gpus", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 12);
	assert_true(json_is_false(json_object_get(j, "partial")));
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	g = json_array_get(json_object_get(j, "gpus"), 0);
	/* sorted by hostname: host-0 (GPU-test-0 and host-0/0) first */
	assert_string_equal(json_string_value(json_object_get(g, "hostname")), "host-0");
	assert_non_null(json_object_get(json_object_get(g, "metrics"), "temperature"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(g, "labels"), "job")),
	                    "train \"x\"");
	assert_true(json_is_integer(json_object_get(g, "records")));
	assert_true(json_is_boolean(json_object_get(g, "stale")));
	json_decref(j);

	assert_int_equal(tg_get(&env, "/api/v1/gpus?host=host-3", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 1);
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/gpus?model=nope", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 0);
	json_decref(j);
	/* the records are an hour old: every GPU is stale for the API (30 s default) */
	assert_int_equal(tg_get(&env, "/api/v1/gpus?stale=false", NULL, &j, NULL, NULL), 200);
	json_decref(j);

	/* pages of 5: 5 + 5 + 2, then no cursor */
	assert_int_equal(tg_get(&env, "/api/v1/gpus?limit=5", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 5);
	cur = json_string_value(json_object_get(j, "next_cursor"));
	assert_non_null(cur);
	snprintf(path, sizeof(path), "/api/v1/gpus?limit=5&cursor=%s", cur);
	json_decref(j);
	assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 5);
	cur = json_string_value(json_object_get(j, "next_cursor"));
	assert_non_null(cur);
	snprintf(path, sizeof(path), "/api/v1/gpus?limit=5&cursor=%s", cur);
	json_decref(j);
	assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 2);
	assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);

	expect_error("/api/v1/gpus?limit=0", 400, "limit");
	expect_error("/api/v1/gpus?limit=abc", 400, "limit");
	expect_error("/api/v1/gpus?stale=maybe", 400, "stale");
	expect_error("/api/v1/gpus?cursor=zz", 400, "cursor");
}

static void
test_hosts(void **state)
{
	json_t *j = NULL, *h;
	(void)state;

	assert_int_equal(tg_get(&env, "/api/v1/hosts", NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "hosts")), 10);
	h = json_array_get(json_object_get(j, "hosts"), 0);
	assert_string_equal(json_string_value(json_object_get(h, "hostname")), "host-0");
	assert_int_equal(json_integer_value(json_object_get(h, "gpus")), 2);
	assert_int_equal(json_array_size(json_object_get(h, "keys")), 2);
	json_decref(j);
}

static void
test_telemetry_json_params(void **state)
{
	json_t *j = NULL, *r;
	char    path[256];
	(void)state;

	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-3/telemetry?limit=5", NULL, &j, NULL,
	                        NULL),
	                 200);
	assert_string_equal(json_string_value(json_object_get(j, "gpu")), "GPU-test-3");
	assert_int_equal(json_array_size(json_object_get(j, "records")), 5);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	r = json_array_get(json_object_get(j, "records"), 0);
	/* newest first: record 993 is GPU 3's last */
	assert_int_equal(json_integer_value(json_object_get(r, "timestamp_ns")), ts0 + 993 * 1000);
	assert_non_null(json_object_get(r, "timestamp"));
	assert_string_equal(json_string_value(json_object_get(r, "gpu_key")), "GPU-test-3");
	json_decref(j);

	assert_int_equal(tg_get(&env,
	                        "/api/v1/gpus/GPU-test-3/telemetry?limit=2&reverse=true&metric="
	                        "power_draw",
	                        NULL, &j, NULL, NULL),
	                 200);
	r = json_array_get(json_object_get(j, "records"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "timestamp_ns")), ts0 + 3 * 1000);
	assert_null(json_object_get(json_object_get(r, "metrics"), "temperature"));
	assert_non_null(json_object_get(json_object_get(r, "metrics"), "power_draw"));
	json_decref(j);

	snprintf(path, sizeof(path), "/api/v1/gpus/GPU-test-3/telemetry?since=%" PRId64 "&until=%" PRId64,
	         ts0 + 13 * 1000, ts0 + 33 * 1000);
	assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_array_size(json_object_get(j, "records")), 3);
	json_decref(j);
	/* relative and "now": everything is within the last 2 hours */
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-3/telemetry?since=-2h&until=now&limit=1000",
	                        NULL, &j, NULL, NULL),
	                 200);
	assert_int_equal(json_array_size(json_object_get(j, "records")), 100);
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-3/telemetry?since=-1m", NULL, &j, NULL,
	                        NULL),
	                 200);
	assert_int_equal(json_array_size(json_object_get(j, "records")), 0);
	json_decref(j);

	/* keys with '/': raw and %2F-encoded */
	assert_int_equal(tg_get(&env, "/api/v1/gpus/host-1/0/telemetry", NULL, &j, NULL, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(j, "gpu")), "host-1/0");
	assert_int_equal(json_array_size(json_object_get(j, "records")), 10);
	json_decref(j);
	assert_int_equal(tg_get(&env, "/api/v1/gpus/host-1%2F0/telemetry", NULL, &j, NULL, NULL),
	                 200);
	assert_int_equal(json_array_size(json_object_get(j, "records")), 10);
	json_decref(j);

	expect_error("/api/v1/gpus/nope/telemetry", 404, "nope");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?limit=0", 400, "limit");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?limit=100001", 400, "limit");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?reverse=x", 400, "reverse");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?since=yesterday", 400, "since");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?until=99999999999999999999", 400, "until");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?since=-9999999999h", 400, "since");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?since=now&until=-1h", 400, "since");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?metric=a%20b", 400, "metric");
	expect_error("/api/v1/gpus/GPU-test-3/telemetry?format=xml", 400, "format");
	expect_error("/api/v1/nothing", 404, NULL);
}

/* Records of one GPU that share a timestamp across a page boundary (pages of 7): the export
 * writes each of them once, in both orders. */
static void
test_telemetry_export_ties_across_pages(void **state)
{
	static const int per_ts[] = {3, 5, 4, 9, 1}; /* 22 records on 5 timestamps */
	int64_t          base = tc_stat(&env.col[0], "total_processed");
	int              total = 0, seen[32];
	(void)state;

	for (size_t t = 0; t < sizeof(per_ts) / sizeof(per_ts[0]); t++)
		for (int k = 0; k < per_ts[t]; k++) {
			Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
			Gtpb__V1__TelemetryRecord__MetricsEntry me, *mep[1] = {&me};

			gtpb__v1__telemetry_record__metrics_entry__init(&me);
			me.key = "temperature";
			me.value = total++;
			r.timestamp_ns = ts0 + 5000000 + (int64_t)t * 1000;
			r.gpu_key = "GPU-ties";
			r.uuid = "GPU-ties";
			r.hostname = "host-ties";
			r.n_metrics = 1;
			r.metrics = mep;
			tc_publish_record(&env.mq, "GPU-ties", &r);
		}
	assert_int_equal(tc_wait_processed(&env.col[0], base + total, 20 * GT_NS_PER_S),
	                 base + total);
	for (int reverse = 0; reverse < 2; reverse++) {
		char  *raw = NULL, *line, *save = NULL, path[128];
		size_t len = 0, n = 0;

		memset(seen, 0, sizeof(seen));
		snprintf(path, sizeof(path), "/api/v1/gpus/GPU-ties/telemetry?format=ndjson&limit=1000%s",
		         reverse ? "&reverse=true" : "");
		assert_int_equal(tg_get(&env, path, NULL, NULL, &raw, &len), 200);
		for (line = strtok_r(raw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			json_t *j = json_loads(line, 0, NULL);
			int     v;

			assert_non_null(j);
			v = (int)json_number_value(json_object_get(json_object_get(j, "metrics"),
			                                           "temperature"));
			assert_true(v >= 0 && v < total);
			seen[v]++;
			json_decref(j);
			n++;
		}
		free(raw);
		assert_int_equal(n, total);
		for (int v = 0; v < total; v++)
			if (seen[v] != 1)
				fail_msg("record %d exported %d times (reverse=%d)", v, seen[v], reverse);
	}
}

static void
test_telemetry_ndjson_csv(void **state)
{
	char  *raw = NULL, *line, *save = NULL;
	size_t len = 0, n = 0;
	(void)state;

	/* 100 records exported in pages of 7 (the gateway runs with --page-size 7) */
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-4/telemetry?format=ndjson&limit=1000",
	                        NULL, NULL, &raw, &len),
	                 200);
	for (line = strtok_r(raw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "timestamp_ns")),
		                 ts0 + (int64_t)(994 - 10 * n) * 1000);
		json_decref(j);
		n++;
	}
	assert_int_equal(n, 100);
	free(raw);

	assert_int_equal(tg_get(&env,
	                        "/api/v1/gpus/GPU-test-4/telemetry?format=csv&limit=15&reverse=true",
	                        NULL, NULL, &raw, &len),
	                 200);
	save = NULL;
	n = 0;
	for (line = strtok_r(raw, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (n == 0)
			assert_string_equal(line, "timestamp,gpu_key,hostname,temperature,power_draw");
		else
			assert_non_null(strstr(line, ",GPU-test-4,host-4,"));
		n++;
	}
	assert_int_equal(n, 16);
	free(raw);
	expect_error("/api/v1/gpus/nope/telemetry?format=csv", 404, "nope");
}

static void
test_aggregate(void **state)
{
	json_t *j = NULL, *p;
	char    path[256];
	(void)state;

	snprintf(path, sizeof(path),
	         "/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&since=%" PRId64
	         "&until=%" PRId64 "&step=50us",
	         ts0, ts0 + 100 * 1000);
	assert_int_equal(tg_get(&env, path, NULL, &j, NULL, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "step_ns")), 50000);
	assert_int_equal(json_array_size(json_object_get(j, "points")), 2);
	p = json_array_get(json_object_get(j, "points"), 0);
	/* records 5, 15, 25, 35, 45 in the first 50 us */
	assert_int_equal(json_integer_value(json_object_get(p, "count")), 5);
	assert_true(json_number_value(json_object_get(p, "min")) == 5.0);
	assert_true(json_number_value(json_object_get(p, "max")) == 45.0);
	assert_true(json_number_value(json_object_get(p, "avg")) == 25.0);
	assert_true(json_number_value(json_object_get(p, "last")) == 45.0);
	json_decref(j);

	expect_error("/api/v1/gpus/GPU-test-5/aggregate", 400, "metric");
	expect_error("/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&step=0", 400, "step");
	expect_error("/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&step=1ns&since=-1h", 400,
	             "step");
	expect_error("/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&since="
	             "-9223372036854775808&until=9223372036854775807&step=1s",
	             400, NULL);
	expect_error("/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&since="
	             "9223372036854775807&until=-9223372036854775808",
	             400, "since");
	expect_error("/api/v1/gpus/GPU-test-5/aggregate?metric=temperature&until="
	             "-9223372036854775808",
	             400, "until");
	expect_error("/api/v1/gpus/nope/aggregate?metric=temperature", 404, "nope");
}

static void
test_protobuf_answers(void **state)
{
	char                           *raw = NULL;
	size_t                          len = 0;
	Gtpb__V1__ListGpusResponse     *lg;
	Gtpb__V1__GetTelemetryResponse *gt;
	(void)state;

	assert_int_equal(tg_get(&env, "/api/v1/gpus", "Accept: application/x-protobuf\r\n", NULL,
	                        &raw, &len),
	                 200);
	lg = gtpb__v1__list_gpus_response__unpack(NULL, len, (uint8_t *)raw);
	assert_non_null(lg);
	assert_int_equal(lg->n_gpus, 12);
	assert_int_equal(lg->gpus[0]->n_labels, 1);
	gtpb__v1__list_gpus_response__free_unpacked(lg, NULL);
	free(raw);
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-1/telemetry?limit=3",
	                        "Accept: application/x-protobuf\r\n", NULL, &raw, &len),
	                 200);
	gt = gtpb__v1__get_telemetry_response__unpack(NULL, len, (uint8_t *)raw);
	assert_non_null(gt);
	assert_int_equal(gt->n_records, 3);
	assert_true(gt->truncated);
	gtpb__v1__get_telemetry_response__free_unpacked(gt, NULL);
	free(raw);
}

static void
test_health_stats_metrics_cache(void **state)
{
	json_t *j = NULL, *g;
	char   *raw = NULL;
	size_t  len = 0;
	(void)state;

	assert_int_equal(tg_get(&env, "/health", NULL, &j, NULL, NULL), 200);
	assert_non_null(json_object_get(j, "status"));
	assert_int_equal(json_array_size(json_object_get(j, "components")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "gpus")), 12);
	json_decref(j);

	/* the same query twice within the TTL: the second is a cache hit */
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-2/telemetry?limit=4", NULL, NULL, NULL,
	                        NULL),
	                 200);
	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-2/telemetry?limit=4", NULL, NULL, NULL,
	                        NULL),
	                 200);
	assert_int_equal(tg_get(&env, "/stats", NULL, &j, NULL, NULL), 200);
	g = json_object_get(j, "gateway");
	assert_true(json_integer_value(json_object_get(json_object_get(g, "cache"), "hits")) >= 1);
	assert_non_null(json_object_get(json_object_get(g, "requests"), "/api/v1/gpus"));
	/* the gateway's section is its service-shell document */
	assert_string_equal(json_string_value(json_object_get(g, "service")), "gateway");
	assert_string_equal(json_string_value(json_object_get(g, "version")), GT_VERSION);
	assert_true(json_is_object(json_object_get(g, "build")));
	assert_true(json_is_number(json_object_get(g, "uptime_seconds")));
	assert_true(json_is_object(json_object_get(j, "mq")));
	assert_true(json_is_object(json_object_get(
	    json_array_get(json_object_get(j, "collectors"), 0), "stats")));
	json_decref(j);

	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_non_null(strstr(raw, "gt_gateway_requests_total"));
	free(raw);
	assert_int_equal(tg_get(&env, "/openapi.json", NULL, &j, NULL, NULL), 200);
	assert_string_equal(json_string_value(json_object_get(j, "openapi")), "3.1.0");
	json_decref(j);
}

/* Runs cmd through the shell; its exit status. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_metrics_promtool_and_dcgm_names(void **state)
{
	char  *raw = NULL, *dir = gt_test_tmpdir("gwprom"), path[512], cmd[1200];
	size_t len = 0;
	FILE  *f;
	(void)state;

	assert_int_equal(tg_get(&env, "/metrics", NULL, NULL, &raw, &len), 200);
	assert_non_null(strstr(raw, "# TYPE DCGM_FI_DEV_GPU_TEMP gauge"));
	assert_non_null(strstr(raw, "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-test-3\",device=\"nvidia0\","
	                            "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"host-3\"} 993"));
	assert_non_null(strstr(raw, "DCGM_FI_DEV_POWER_USAGE{"));
	assert_non_null(strstr(raw, "gt_gpu_info{gpu=\"0\",UUID=\"GPU-test-3\""));
	assert_non_null(strstr(raw, "job=\"train \\\"x\\\"\""));
	snprintf(path, sizeof(path), "%s/metrics.txt", dir);
	assert_non_null(f = fopen(path, "w"));
	fwrite(raw, 1, len, f);
	fclose(f);
	/* promtool parses it; its only lint is the camelCase of dcgm-exporter's own label names
	 * (modelName, Hostname, UUID: kept for dashboards written for dcgm-exporter). Exit 3 is
	 * "lint problems", 1 a parse error. */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s/lint.txt 2>&1", path, dir);
	{
		int   st = run(cmd);
		char *lint, *line, *save = NULL;

		snprintf(path, sizeof(path), "%s/lint.txt", dir);
		lint = gt_test_read_file(path, NULL);
		assert_non_null(lint);
		if (st != 0 && st != 3)
			fail_msg("promtool exit %d: %.500s", st, lint);
		for (line = strtok_r(lint, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strstr(line, "label names should be written in 'snake_case' not "
			                 "'camelCase'") == NULL)
				fail_msg("promtool: %s", line);
		free(lint);
	}
	free(raw);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_protoc_decodes_protobuf_answers(void **state)
{
	const char *src = getenv("GT_SOURCE_DIR");
	char       *raw = NULL, *dir = gt_test_tmpdir("gwpb"), path[512], cmd[2048], *out;
	size_t      len = 0, i;
	FILE       *f;
	static const struct {
		const char *url, *msg, *needle;
	} cases[] = {
	    {"/api/v1/gpus", "ListGpusResponse", "gpu_key: \"GPU-test-0\""},
	    {"/api/v1/gpus/GPU-test-1/telemetry?limit=2", "GetTelemetryResponse", "truncated: true"},
	    {"/api/v1/gpus/GPU-test-1/aggregate?metric=temperature&since=-2h&step=10m",
	     "AggregateResponse", "count:"},
	};
	(void)state;

	assert_non_null(src);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tg_get(&env, cases[i].url, "Accept: application/x-protobuf\r\n", NULL,
		                        &raw, &len),
		                 200);
		snprintf(path, sizeof(path), "%s/answer.bin", dir);
		assert_non_null(f = fopen(path, "wb"));
		fwrite(raw, 1, len, f);
		fclose(f);
		free(raw);
		snprintf(cmd, sizeof(cmd),
		         "protoc --decode=gtpb.v1.%s -I %s/proto gtpb/v1/collector.proto < %s > %s/out.txt",
		         cases[i].msg, src, path, dir);
		assert_int_equal(run(cmd), 0);
		snprintf(path, sizeof(path), "%s/out.txt", dir);
		out = gt_test_read_file(path, NULL);
		assert_non_null(out);
		if (strstr(out, cases[i].needle) == NULL)
			fail_msg("%s: no \"%s\" in %.300s", cases[i].url, cases[i].needle, out);
		free(out);
	}
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gpus_list_sorted_filtered_paged),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_telemetry_json_params),
	    cmocka_unit_test(test_telemetry_ndjson_csv),
	    cmocka_unit_test(test_aggregate),
	    cmocka_unit_test(test_protobuf_answers),
	    cmocka_unit_test(test_health_stats_metrics_cache),
	    cmocka_unit_test(test_metrics_promtool_and_dcgm_names),
	    cmocka_unit_test(test_protoc_decodes_protobuf_answers),
	    /* last: it adds a GPU the others do not count */
	    cmocka_unit_test(test_telemetry_export_ties_across_pages),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
