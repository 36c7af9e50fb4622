/* test_gt_http.c - gt_http's lifecycle, routing, requests and replies (gt_http.c,
 * gt_http_req.c), for real: an ephemeral port on 127.0.0.1, spoken to over plain sockets by
 * the tiny client in gt_http_test_util.c (so no client library is under test). Connections
 * (keep-alive, deferred replies, deadlines) are in test_gt_http_conn.c, static files in
 * test_gt_http_static.c, WebSocket in test_gt_http_ws.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gt/gt_buf.h"
#include "gt/gt_http.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_test_util.h"

#define TOKEN "s3cret"
#define MAX_BODY 1024

static struct {
	gt_http  *h;
	int       port;
	ht_tree   tree;
	pthread_t loop_thread;
	pthread_t worker_thread;
} g;

/* ================================================================ handlers */

static void
h_hello(gt_http_req *r, void *arg)
{
	g.loop_thread = pthread_self();
	ht_hello(r, arg);
}

static void
h_item(gt_http_req *r, void *arg)
{
	gt_buf b;
	int    first = 1;

	(void)arg;
	gt_buf_init(&b);
	gt_buf_putc(&b, '{');
	gt_json_key(&b, &first, "id");
	gt_json_cstr(&b, gt_http_req_param(r, "id"));
	gt_json_key(&b, &first, "path");
	gt_json_cstr(&b, gt_http_req_path(r));
	gt_buf_putc(&b, '}');
	gt_http_reply_json(r, 200, &b);
	gt_buf_fini(&b);
}

static void
h_echo_param(gt_http_req *r, void *arg)
{
	const char *v = gt_http_req_param(r, (const char *)arg);

	gt_http_reply(r, 200, "text/plain", v, strlen(v));
}

static void
h_query(gt_http_req *r, void *arg)
{
	char        out[256];
	const char *l = gt_http_req_query(r, "limit"), *n = gt_http_req_query(r, "name");
	const char *m = gt_http_req_query(r, "missing");
	int         len;

	(void)arg;
	len = snprintf(out, sizeof(out), "limit=%s;name=%s;missing=%s", l ? l : "(null)",
	               n ? n : "(null)", m ? m : "(null)");
	gt_http_reply(r, 200, "text/plain", out, (size_t)len);
}

static void
h_bad(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_error(r, 400, "bad thing: %s \"quoted\"", "x");
}

static void
h_headers(gt_http_req *r, void *arg)
{
	char        out[256];
	const char *a = gt_http_req_header(r, "accept"), *x = gt_http_req_header(r, "X-Request-Id");
	int         len;

	(void)arg;
	len = snprintf(out, sizeof(out), "accept=%s;rid=%s;pb=%d;method=%s", a ? a : "(null)",
	               x ? x : "(null)", gt_http_req_wants_protobuf(r), gt_http_req_method(r));
	gt_http_reply(r, 200, "text/plain", out, (size_t)len);
}

static void
h_work(gt_http_req *r, void *arg)
{
	(void)arg;
	g.worker_thread = pthread_self();
	gt_sleep_ns(5 * GT_NS_PER_MS); /* a handler allowed to block */
	gt_http_reply(r, 200, "text/plain", "worked", 6);
}

static void
h_admin(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_reply(r, 200, "text/plain", "admin ok", 8);
}

/* Replies with the status given in the path, whatever it is. */
static void
h_status(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_reply(r, atoi(gt_http_req_param(r, "code")), "text/plain", "odd", 3);
}

static const ht_route routes[] = {
    {"GET", "/hello", h_hello, NULL, GT_HTTP_OPEN},
    {"GET", "/items/{id}", h_item, NULL, GT_HTTP_OPEN},
    {"DELETE", "/items/{id}", h_item, NULL, GT_HTTP_OPEN},
    {"GET", "/gpus/{id...}/telemetry", h_echo_param, "id", GT_HTTP_OPEN},
    {"GET", "/query", h_query, NULL, GT_HTTP_OPEN},
    {"POST", "/echo", ht_echo_body, NULL, GT_HTTP_OPEN},
    {"PUT", "/echo", ht_echo_body, NULL, GT_HTTP_WORKER | GT_HTTP_OPEN},
    {"GET", "/bad", h_bad, NULL, GT_HTTP_OPEN},
    {"GET", "/headers", h_headers, NULL, GT_HTTP_OPEN},
    {"GET", "/work", h_work, NULL, GT_HTTP_WORKER | GT_HTTP_OPEN},
    {"POST", "/admin/reset", h_admin, NULL, GT_HTTP_ADMIN},
    {"GET", "/data", h_hello, NULL, 0},               /* guarded: the default with a token */
    {"GET", "/wdata", h_hello, NULL, GT_HTTP_WORKER}, /* guarded too */
    {"GET", "/status/{code}", h_status, NULL, GT_HTTP_OPEN},
    {"GET", "/wstatus/{code}", h_status, NULL, GT_HTTP_WORKER | GT_HTTP_OPEN},
};

static int
group_setup(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;

	(void)state;
	if (ht_tree_make(&g.tree) != 0)
		return -1;
	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	cfg.port = 0;
	cfg.static_root = g.tree.root;
	cfg.max_body = MAX_BODY;
	cfg.cors_origin = "*";
	cfg.token = TOKEN;
	cfg.workers = 2;
	if (gt_http_new(&h, &cfg) != GT_OK)
		return -1;
	g.h = h; /* freed by group_teardown even when setup fails below */
	if (ht_server_routes(h, routes, sizeof(routes) / sizeof(routes[0])) != GT_OK)
		return -1;
	/* Invalid registrations are refused. */
	if (gt_http_route(h, "GET", "no-slash", h_hello, NULL, 0) != GT_EINVAL ||
	    gt_http_route(h, "BREW", "/x", h_hello, NULL, 0) != GT_EINVAL ||
	    gt_http_route(h, "GET", "/x/{", h_hello, NULL, 0) != GT_EINVAL)
		return -1;
	if (gt_http_start(h) != GT_OK)
		return -1;
	if (gt_http_route(h, "GET", "/late", h_hello, NULL, 0) != GT_EINVAL)
		return -1;
	g.port = gt_http_port(h);
	return g.port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	gt_http_free(g.h);
	ht_tree_remove(&g.tree);
	return 0;
}

/* ================================================================ tests */
static void
test_gt_http_binds_loopback_ephemeral(void **state)
{
	struct sockaddr_in6 sa6;
	int                 fd;

	(void)state;
	assert_true(g.port > 0 && g.port < 65536);
	/* Bound to 127.0.0.1 only: the IPv6 loopback must not answer. */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&sa6, 0, sizeof(sa6));
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons((uint16_t)g.port);
		sa6.sin6_addr = in6addr_loopback;
		assert_int_not_equal(connect(fd, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
		close(fd);
	}
}

static void
test_gt_http_routing_404_405(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(ht_head_value(r.headers, "content-type"), "text/plain");
	ht_resp_free(&r);

	assert_int_equal(ht_req(g.port, "POST", "/nope.json", NULL, "x", &r), 404);
	ht_assert_error_body(&r, 404, "/nope.json");
	ht_resp_free(&r);
	/* GET of an unknown file under the static root: also 404 JSON. */
	assert_int_equal(ht_get(g.port, "/nope.json", &r), 404);
	ht_assert_error_body(&r, 404, NULL);
	ht_resp_free(&r);

	assert_int_equal(ht_req(g.port, "POST", "/hello", NULL, "x", &r), 405);
	ht_assert_error_body(&r, 405, NULL);
	assert_string_equal(ht_head_value(r.headers, "allow"), "GET");
	ht_resp_free(&r);
	assert_int_equal(ht_req(g.port, "PUT", "/items/7", NULL, "x", &r), 405);
	assert_string_equal(ht_head_value(r.headers, "allow"), "GET, DELETE");
	ht_resp_free(&r);

	/* HEAD is served by GET routes, without a body. */
	assert_int_equal(ht_req(g.port, "HEAD", "/hello", NULL, NULL, &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-length"), "5");
	ht_resp_free(&r);
}

static void
test_gt_http_params_and_query(void **state)
{
	ht_resp      r;
	json_t      *j;
	json_error_t err;

	(void)state;
	assert_int_equal(ht_get(g.port, "/items/GPU-42", &r), 200);
	assert_string_equal(ht_head_value(r.headers, "content-type"), "application/json");
	j = json_loadb(r.body, r.body_len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "GPU-42");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/items/GPU-42");
	json_decref(j);
	ht_resp_free(&r);

	assert_int_equal(ht_req(g.port, "DELETE", "/items/a%20b", NULL, NULL, &r), 200);
	j = json_loadb(r.body, r.body_len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "a b");
	json_decref(j);
	ht_resp_free(&r);

	/* A gpu key with a '/' (hostname/index) arrives decoded and fits {id...}. */
	assert_int_equal(ht_get(g.port, "/gpus/host-a%2F3/telemetry", &r), 200);
	assert_string_equal(r.body, "host-a/3");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/gpus/GPU-1/telemetry?limit=1", &r), 200);
	assert_string_equal(r.body, "GPU-1");
	ht_resp_free(&r);

	assert_int_equal(ht_get(g.port, "/query?limit=10&name=a%20b+c%26d", &r), 200);
	assert_string_equal(r.body, "limit=10;name=a b c&d;missing=(null)");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/query?name=&limit", &r), 200);
	assert_string_equal(r.body, "limit=;name=;missing=(null)");
	ht_resp_free(&r);
}

static void
test_gt_http_error_body_and_headers(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_get(g.port, "/bad", &r), 400);
	ht_assert_error_body(&r, 400, "bad thing: x \"quoted\"");
	ht_resp_free(&r);

	assert_int_equal(ht_req(g.port, "GET", "/headers",
	                        "Accept: application/x-protobuf\r\nX-Request-Id: abc-1\r\n", NULL,
	                        &r),
	                 200);
	assert_string_equal(r.body, "accept=application/x-protobuf;rid=abc-1;pb=1;method=GET");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/headers", &r), 200);
	assert_string_equal(r.body, "accept=(null);rid=(null);pb=0;method=GET");
	ht_resp_free(&r);
}

static void
test_gt_http_body_limits(void **state)
{
	ht_resp r;
	char    req[512];
	char   *body = malloc(MAX_BODY + 1);
	int     n;

	(void)state;
	assert_int_equal(
	    ht_req(g.port, "POST", "/echo", "Content-Type: application/json\r\n", "{\"x\":1}", &r),
	    201);
	assert_string_equal(r.body, "{\"x\":1}");
	assert_string_equal(ht_head_value(r.headers, "content-type"), "application/json");
	ht_resp_free(&r);
	/* Exactly max_body is fine (through a worker route). */
	memset(body, 'z', MAX_BODY);
	body[MAX_BODY] = '\0';
	assert_int_equal(ht_req(g.port, "PUT", "/echo", NULL, body, &r), 201);
	assert_int_equal(r.body_len, MAX_BODY);
	ht_resp_free(&r);
	free(body);
	/* Announced over the limit: 413 before any body is read. */
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
	assert_int_equal(ht_raw(g.port, req, (size_t)n, &r), 413);
	ht_assert_error_body(&r, 413, NULL);
	ht_resp_free(&r);
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
	assert_int_equal(ht_raw(g.port, req, (size_t)n, &r), 413);
	ht_resp_free(&r);
	/* Chunked uploads are refused rather than read without a bound. */
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(ht_raw(g.port, req, (size_t)n, &r), 411);
	ht_resp_free(&r);
}

static void
test_gt_http_worker_route(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_get(g.port, "/hello", &r), 200); /* records the lws thread */
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/work", &r), 200);
	assert_string_equal(r.body, "worked");
	ht_resp_free(&r);
	assert_false(pthread_equal(g.loop_thread, g.worker_thread));
	assert_false(pthread_equal(pthread_self(), g.worker_thread));
}

static void
test_gt_http_admin_token(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_req(g.port, "POST", "/admin/reset", NULL, "", &r), 401);
	ht_assert_error_body(&r, 401, NULL);
	assert_string_equal(ht_head_value(r.headers, "www-authenticate"), "Bearer");
	ht_resp_free(&r);
	assert_int_equal(
	    ht_req(g.port, "POST", "/admin/reset", "Authorization: Bearer nope\r\n", "", &r), 401);
	ht_assert_error_body(&r, 401, NULL);
	ht_resp_free(&r);
	assert_int_equal(
	    ht_req(g.port, "POST", "/admin/reset", "Authorization: Bearer " TOKEN "\r\n", "", &r),
	    200);
	assert_string_equal(r.body, "admin ok");
	ht_resp_free(&r);
	/* With a token every route without GT_HTTP_OPEN is guarded, on the lws thread or not. */
	assert_int_equal(ht_get(g.port, "/data", &r), 401);
	ht_assert_error_body(&r, 401, NULL);
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/wdata", &r), 401);
	ht_assert_error_body(&r, 401, NULL);
	ht_resp_free(&r);
	assert_int_equal(
	    ht_req(g.port, "GET", "/data", "Authorization: Bearer " TOKEN "\r\n", NULL, &r), 200);
	ht_resp_free(&r);
	assert_int_equal(
	    ht_req(g.port, "GET", "/wdata", "Authorization: bearer " TOKEN "\r\n", NULL, &r), 200);
	ht_resp_free(&r);
	/* GT_HTTP_OPEN routes and static files need no token. */
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/data.json", &r), 200);
	ht_resp_free(&r);
}

static void
test_gt_http_cors(void **state)
{
	ht_resp r;

	(void)state;
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	assert_non_null(ht_head_value(r.headers, "access-control-allow-origin"));
	assert_string_equal(ht_head_value(r.headers, "access-control-allow-origin"), "*");
	ht_resp_free(&r);
	assert_int_equal(ht_get(g.port, "/nope", &r), 404);
	assert_string_equal(ht_head_value(r.headers, "access-control-allow-origin"), "*");
	ht_resp_free(&r);
	assert_int_equal(ht_req(g.port, "OPTIONS", "/echo",
	                        "Origin: http://x\r\nAccess-Control-Request-Method: POST\r\n", NULL,
	                        &r),
	                 204);
	assert_string_equal(ht_head_value(r.headers, "access-control-allow-origin"), "*");
	assert_non_null(ht_head_value(r.headers, "access-control-allow-methods"));
	ht_resp_free(&r);
}

static void
test_gt_http_new_rejects_bad_config(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;

	(void)state;
	cfg.port = 70000;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	cfg.port = 0;
	cfg.static_root = "/definitely/not/here";
	assert_int_equal(gt_http_new(&h, &cfg), GT_ENOENT);
	cfg.static_root = NULL;
	cfg.static_index = "../x.html";
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	assert_int_equal(gt_http_new(NULL, &cfg), GT_EINVAL);
	/* A port already taken: start fails cleanly, free still works. */
	cfg.static_index = NULL;
	cfg.bind = "127.0.0.1";
	cfg.port = g.port;
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_start(h), GT_EIO);
	gt_http_free(h);
}

/* GT__HTTP_MAX_PAIRS (64) query arguments are fine; one more is a 400, not an unbounded list. */
static void
test_gt_http_query_args_bounded(void **state)
{
	char    path[1024];
	ht_resp r;
	int     i, n;

	(void)state;
	n = snprintf(path, sizeof(path), "/query?limit=3");
	for (i = 1; i < 64; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "&a%d=%d", i, i);
	assert_int_equal(ht_get(g.port, path, &r), 200);
	assert_string_equal(r.body, "limit=3;name=(null);missing=(null)");
	ht_resp_free(&r);
	snprintf(path + n, sizeof(path) - (size_t)n, "&a64=64");
	assert_int_equal(ht_get(g.port, path, &r), 400);
	ht_assert_error_body(&r, 400, "too many query arguments");
	ht_resp_free(&r);
}

/* A Content-Length that is not plain digits (a sign too: strtoull would wrap "-1") is refused
 * with 400 before any handler runs (the echo handler would answer 201). */
static void
test_gt_http_bad_content_length(void **state)
{
	static const char *vals[] = {"abc", "12abc", "1 2", "0x10", "-1", "+3"};
	char               req[256];
	size_t             i;
	ht_resp            r;
	int                n, st;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		n = snprintf(req, sizeof(req),
		             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\nabc",
		             vals[i]);
		st = ht_raw(g.port, req, (size_t)n, &r);
		if (st != 400)
			fail_msg("Content-Length '%s' answered %d", vals[i], st);
		ht_assert_error_body(&r, 400, NULL);
		ht_resp_free(&r);
	}
	/* Still healthy. */
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
}

/* A handler's status outside 100..599 becomes a 500 (on the lws thread and from a worker); the
 * connection stays in step afterwards. */
static void
test_gt_http_reply_status_bounds(void **state)
{
	static const char *paths[] = {"/status/42", "/status/600", "/wstatus/-1", "/wstatus/1000"};
	static const char  hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	char               req[128];
	ht_resp            r;
	size_t             i;
	int                fd, n;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
		fd = ht_connect(g.port);
		assert_true(fd >= 0);
		assert_int_equal(ht_send_all(fd, req, (size_t)n), 0);
		assert_int_equal(ht_read_response(fd, &r, 0), 0);
		if (r.status != 500)
			fail_msg("'%s' answered %d", paths[i], r.status);
		assert_string_equal(r.body, "odd");
		ht_resp_free(&r);
		assert_int_equal(ht_send_all(fd, hello, sizeof(hello) - 1), 0);
		assert_int_equal(ht_read_response(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "hello");
		ht_resp_free(&r);
		close(fd);
	}
	assert_int_equal(ht_get(g.port, "/wstatus/202", &r), 202);
	assert_string_equal(r.body, "odd");
	ht_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_binds_loopback_ephemeral),
	    cmocka_unit_test(test_gt_http_routing_404_405),
	    cmocka_unit_test(test_gt_http_params_and_query),
	    cmocka_unit_test(test_gt_http_error_body_and_headers),
	    cmocka_unit_test(test_gt_http_body_limits),
	    cmocka_unit_test(test_gt_http_worker_route),
	    cmocka_unit_test(test_gt_http_admin_token),
	    cmocka_unit_test(test_gt_http_cors),
	    cmocka_unit_test(test_gt_http_new_rejects_bad_config),
	    cmocka_unit_test(test_gt_http_query_args_bounded),
	    cmocka_unit_test(test_gt_http_bad_content_length),
	    cmocka_unit_test(test_gt_http_reply_status_bounds),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
