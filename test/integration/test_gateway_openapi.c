/* test_gateway_openapi.c - real answers of every gt-gateway route checked against the
 * schemas of the OpenAPI document the gateway serves (a minimal JSON Schema check on jansson:
 * $ref, type (with "null"), properties, required, items, additionalProperties, enum). */
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
#include "test_gateway_util.h"

static tg_env  env;
static json_t *doc;
static char   *docs;

static int
setup(void **state)
{
	const char *extra[8] = {"--docs-root", NULL, "--alert-rules", NULL, "--stale-after",
	                        "1s",          NULL};
	char        rules[512];
	char        path[512];
	FILE       *f;
	(void)state;

	docs = gt_test_tmpdir("gwdocs");
	snprintf(path, sizeof(path), "%s/swagger-ui.css", docs);
	f = fopen(path, "w");
	fputs("body{}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/.secret", docs);
	f = fopen(path, "w");
	fputs("x", f);
	fclose(f);
	extra[1] = docs;
	/* alerts of every kind for the /api/v1/alerts checks: firing, pending, stale */
	snprintf(rules, sizeof(rules), "%s/rules.json", docs);
	f = fopen(rules, "w");
	fputs("{\"rules\":[{\"name\":\"hot\",\"metric\":\"temperature\",\"op\":\">=\","
	      "\"threshold\":0,\"severity\":\"critical\"},{\"name\":\"slow\",\"metric\":"
	      "\"power_draw\",\"op\":\">\",\"threshold\":1,\"for\":\"1h\"}]}",
	      f);
	fclose(f);
	extra[3] = rules;
	tg_start(&env, 1, extra);
	tg_publish(&env, 0, 200, 4, gt_now_ns() - 60 * GT_NS_PER_S, 0);
	tg_wait_component(&env, "collector-0", "ok");
	assert_int_equal(tg_get(&env, "/openapi.json", NULL, &doc, NULL, NULL), 200);
	assert_non_null(doc);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(doc);
	tg_stop(&env);
	gt_test_rmrf(docs);
	free(docs);
	return 0;
}

static const json_t *
resolve(const json_t *s)
{
	const char *r = json_string_value(json_object_get(s, "$ref"));

	if (r == NULL)
		return s;
	assert_true(strncmp(r, "#/components/schemas/", 21) == 0);
	s = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), r + 21);
	if (s == NULL)
		fail_msg("dangling $ref %s", r);
	return s;
}

static int
type_ok(const char *t, const json_t *v)
{
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	fail_msg("unknown type %s", t);
	return 0;
}

static void
check(const json_t *schema, const json_t *v, const char *where)
{
	const json_t *s = resolve(schema), *t, *x, *y;
	const char   *k;
	size_t        i;
	char          sub[512];

	if ((t = json_object_get(s, "type")) != NULL) {
		int ok = 0;

		if (json_is_string(t)) {
			ok = type_ok(json_string_value(t), v);
		} else {
			json_array_foreach(t, i, x) ok |= type_ok(json_string_value(x), v);
		}
		if (!ok) {
			char *d = json_dumps(v, JSON_ENCODE_ANY);

			fail_msg("%s: %.200s does not match type %s", where, d,
			         json_is_string(t) ? json_string_value(t) : "[...]");
		}
	}
	if ((t = json_object_get(s, "enum")) != NULL) {
		int ok = 0;

		json_array_foreach(t, i, x) ok |= json_equal(x, v);
		if (!ok)
			fail_msg("%s: not one of the enum values", where);
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(s, "required"), i, x)
		{
			if (json_object_get(v, json_string_value(x)) == NULL)
				fail_msg("%s: required %s missing", where, json_string_value(x));
		}
		json_object_foreach((json_t *)v, k, x)
		{
			snprintf(sub, sizeof(sub), "%s.%s", where, k);
			if ((y = json_object_get(json_object_get(s, "properties"), k)) != NULL)
				check(y, x, sub);
			else if ((y = json_object_get(s, "additionalProperties")) != NULL &&
			         json_is_object(y))
				check(y, x, sub);
		}
	}
	if (json_is_array(v) && (y = json_object_get(s, "items")) != NULL) {
		json_array_foreach((json_t *)v, i, x)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
			check(y, x, sub);
		}
	}
}

/* GET url, expect status, check the body against the documented response of route. */
static void
check_route(const char *route, const char *url, const char *hdr, int status)
{
	json_t       *body = NULL;
	const json_t *resp, *schema;
	char          code[8], where[256];
	int           st = tg_get(&env, url, hdr, &body, NULL, NULL);

	if (st != status)
		fail_msg("%s: status %d, want %d", url, st, status);
	snprintf(code, sizeof(code), "%d", status);
	resp = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(doc,
	                                                                           "paths"),
	                                                                       route),
	                                                       "get"),
	                                       "responses"),
	                       code);
	if (resp == NULL)
		fail_msg("%s: response %d is not documented", route, status);
	schema = json_object_get(json_object_get(json_object_get(resp, "content"), "application/json"),
	                         "schema");
	assert_non_null(schema);
	assert_non_null(body);
	snprintf(where, sizeof(where), "%s %d", url, status);
	check(schema, body, where);
	json_decref(body);
}

static void
test_every_route_matches_the_document(void **state)
{
	const char *p;
	json_t     *v;
	(void)state;

	check_route("/health", "/health", NULL, 200);
	check_route("/api/v1/gpus", "/api/v1/gpus", NULL, 200);
	check_route("/api/v1/gpus", "/api/v1/gpus?limit=2", NULL, 200);
	check_route("/api/v1/gpus", "/api/v1/gpus?limit=x", NULL, 400);
	check_route("/api/v1/hosts", "/api/v1/hosts", NULL, 200);
	check_route("/api/v1/gpus/{id}/telemetry", "/api/v1/gpus/GPU-test-1/telemetry?limit=3", NULL,
	            200);
	check_route("/api/v1/gpus/{id}/telemetry", "/api/v1/gpus/none/telemetry", NULL, 404);
	check_route("/api/v1/gpus/{id}/telemetry", "/api/v1/gpus/GPU-test-1/telemetry?since=x", NULL,
	            400);
	check_route("/api/v1/gpus/{id}/aggregate",
	            "/api/v1/gpus/GPU-test-1/aggregate?metric=temperature&since=-1h&step=1m", NULL,
	            200);
	check_route("/api/v1/gpus/{id}/aggregate", "/api/v1/gpus/GPU-test-1/aggregate", NULL, 400);
	check_route("/stats", "/stats", NULL, 200);
	/* alerts: firing and pending from the rules, then stale ones too (--stale-after 1s) */
	check_route("/api/v1/alerts", "/api/v1/alerts", NULL, 200);
	gt_sleep_ns(1500 * GT_NS_PER_MS);
	v = NULL;
	assert_int_equal(tg_get(&env, "/api/v1/alerts", NULL, &v, NULL, NULL), 200);
	assert_true(json_integer_value(json_object_get(v, "pending")) >= 1);
	assert_true(json_integer_value(json_object_get(v, "firing")) >= 2);
	json_decref(v);
	check_route("/api/v1/alerts", "/api/v1/alerts", NULL, 200);
	check_route("/api/v1/alerts", "/api/v1/alerts?state=firing&severity=warning", NULL, 200);
	check_route("/api/v1/alerts", "/api/v1/alerts?state=x", NULL, 400);
	check_route("/api/v1/alerts/history", "/api/v1/alerts/history", NULL, 200);
	check_route("/api/v1/alerts/history", "/api/v1/alerts/history?after_seq=2&limit=3", NULL,
	            200);
	check_route("/api/v1/alerts/history", "/api/v1/alerts/history?limit=1001", NULL, 400);
	/* every documented path is served (not 404) */
	json_object_foreach(json_object_get(doc, "paths"), p, v)
	{
		char url[256], *s;
		int  st;

		if (strcmp(p, "/ws") == 0)
			continue; /* a WebSocket upgrade only: integ.gateway_ws */
		snprintf(url, sizeof(url), "%s", p);
		if ((s = strstr(url, "{id}")) != NULL) {
			memmove(s + 10, s + 4, strlen(s + 4) + 1);
			memcpy(s, "GPU-test-1", 10);
		}
		st = tg_get(&env, url, NULL, NULL, NULL, NULL);
		if (st == 404)
			fail_msg("%s is documented but not served", p);
	}
}

static void
test_ndjson_lines_are_records(void **state)
{
	char         *raw = NULL, *line, *save = NULL;
	size_t        len, n = 0;
	const json_t *rec = json_object_get(
	    json_object_get(json_object_get(doc, "components"), "schemas"), "Record");
	(void)state;

	assert_int_equal(tg_get(&env, "/api/v1/gpus/GPU-test-2/telemetry?format=ndjson&limit=20",
	                        NULL, NULL, &raw, &len),
	                 200);
	for (line = strtok_r(raw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		check(rec, j, "ndjson line");
		json_decref(j);
		n++;
	}
	assert_int_equal(n, 20);
	free(raw);
}

static void
test_docs_served_locally(void **state)
{
	char  *raw = NULL;
	size_t len;
	(void)state;

	assert_int_equal(tg_get(&env, "/docs", NULL, NULL, &raw, &len), 200);
	assert_non_null(strstr(raw, "/docs/swagger-ui-bundle.js"));
	assert_non_null(strstr(raw, "url:'/openapi.json'"));
	assert_null(strstr(raw, "http")); /* no CDN */
	free(raw);
	assert_int_equal(tg_get(&env, "/docs/swagger-ui.css", NULL, NULL, &raw, &len), 200);
	assert_string_equal(raw, "body{}");
	free(raw);
	assert_int_equal(tg_get(&env, "/docs/.secret", NULL, NULL, NULL, NULL), 404);
	assert_int_equal(tg_get(&env, "/docs/..%2F..%2Fetc%2Fpasswd", NULL, NULL, NULL, NULL), 404);
	assert_int_equal(tg_get(&env, "/docs/missing.js", NULL, NULL, NULL, NULL), 404);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route_matches_the_document),
	    cmocka_unit_test(test_ndjson_lines_are_records),
	    cmocka_unit_test(test_docs_served_locally),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
