/* test_gt_http_conn.c - gt_http's connections (gt_http_conn.c, with gt_http_req.c): keep-alive
 * and pipelining, replies deferred to other threads, the reply deadline, clients that leave
 * early, and input that never reaches a handler (over-long or malformed requests). A real
 * server on an ephemeral 127.0.0.1 port, spoken to by the client in gt_http_test_util.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_http.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_test_util.h"

#define MAX_BODY 1024

static struct {
	gt_http *h;
	int      port;
} g;

static const ht_route routes[] = {
    {"GET", "/hello", ht_hello, NULL, 0},
    {"POST", "/echo", ht_echo_body, NULL, 0},
    {"GET", "/deferred", ht_deferred, NULL, 0},
    {"GET", "/deferred-worker", ht_deferred, NULL, GT_HTTP_WORKER},
};

static int
group_setup(void **state)
{
	gt_http_cfg cfg = {0};

	(void)state;
	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	cfg.max_body = MAX_BODY;
	cfg.workers = 2;
	if (ht_server_start(&g.h, &cfg, routes, sizeof(routes) / sizeof(routes[0]), NULL, NULL) !=
	    GT_OK)
		return -1;
	g.port = gt_http_port(g.h);
	return g.port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	gt_http_free(g.h);
	return 0;
}

/* ================================================================ tests */

static void
test_gt_http_keep_alive(void **state)
{
	static const char r1[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char r2[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	static const char r3[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
	uint64_t          before = gt_http_requests(g.h);
	ht_resp           r;
	int               fd = ht_connect(g.port);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, r1, sizeof(r1) - 1), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	ht_resp_free(&r);
	assert_int_equal(ht_send_all(fd, r2, sizeof(r2) - 1), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "abc");
	ht_resp_free(&r);
	/* An error answer keeps the connection too, and pipelined requests are both answered. */
	assert_int_equal(ht_send_all(fd, r3, sizeof(r3) - 1), 0);
	assert_int_equal(ht_send_all(fd, r1, sizeof(r1) - 1), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 404);
	ht_resp_free(&r);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	close(fd);
	assert_true(gt_http_requests(g.h) >= before + 4);
}

static void
test_gt_http_deferred_reply_from_other_thread(void **state)
{
	static const char req[] = "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_req      *dr;
	ht_resp           r;
	int               fd;

	(void)state;
	fd = ht_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, req, sizeof(req) - 1), 0);
	dr = ht_take_stash();
	assert_non_null(dr);
	assert_string_equal(gt_http_req_path(dr), "/deferred");
	gt_sleep_ns(20 * GT_NS_PER_MS);
	gt_http_reply(dr, 202, "text/plain", "later", 5); /* from this (non-lws) thread */
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.body, "later");
	ht_resp_free(&r);
	/* The connection is still usable (keep-alive after a deferred reply). */
	assert_int_equal(ht_send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	close(fd);
}

static void
test_gt_http_deferred_reply_after_client_left(void **state)
{
	static const char req[] = "GET /deferred-worker HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_req      *dr;
	uint64_t          before;
	struct linger     lg = {.l_onoff = 1, .l_linger = 0};
	ht_resp           r;
	int               fd;

	(void)state;
	fd = ht_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, req, sizeof(req) - 1), 0);
	dr = ht_take_stash();
	assert_non_null(dr);
	/* Reset the connection under the pending request. lws 4.1 does not poll an HTTP/1
	 * connection whose transaction is pending, so it finds out when the late reply is
	 * written: the write fails and lws closes the connection (the reply-deadline test covers
	 * the other case, a reply for a connection already gone). Either way: no crash, no
	 * use-after-free (ASan), and the server keeps serving. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	gt_sleep_ns(50 * GT_NS_PER_MS);
	before = gt_http_requests(g.h);
	gt_http_error(dr, 504, "too late");
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
	assert_true(gt_http_requests(g.h) >= before + 1);
}

/* A separate server with a short reply deadline: an unanswered request gets a 504, the late
 * reply is dropped, and the connection stays usable. */
static void
test_gt_http_reply_deadline(void **state)
{
	static const char req[] = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char again[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h = NULL;
	gt_http_req      *dr;
	ht_resp           r;
	int               fd;

	(void)state;
	cfg.bind = "127.0.0.1";
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_set_timeout(h, -1), GT_EINVAL);
	assert_int_equal(gt_http_set_timeout(h, 150 * GT_NS_PER_MS), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/wait", ht_deferred, NULL, 0), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/hello", ht_hello, NULL, 0), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	assert_int_equal(gt_http_set_timeout(h, 0), GT_EINVAL); /* after start */
	fd = ht_connect(gt_http_port(h));
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, req, sizeof(req) - 1), 0);
	dr = ht_take_stash();
	assert_non_null(dr);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 504);
	ht_assert_error_body(&r, 504, NULL);
	ht_resp_free(&r);
	gt_http_reply(dr, 200, "text/plain", "late", 4); /* dropped */
	assert_int_equal(ht_send_all(fd, again, sizeof(again) - 1), 0);
	assert_int_equal(ht_read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	ht_resp_free(&r);
	close(fd);
	gt_http_free(h);
}

/* A separate server freed while a deferred request was never answered. */
static void
test_gt_http_free_with_pending_request(void **state)
{
	static const char req[] = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h = NULL;
	int               fd;

	(void)state;
	cfg.bind = "127.0.0.1";
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/wait", ht_deferred, NULL, 0), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	fd = ht_connect(gt_http_port(h));
	assert_true(fd >= 0);
	assert_int_equal(ht_send_all(fd, req, sizeof(req) - 1), 0);
	assert_non_null(ht_take_stash());
	gt_http_free(h); /* frees the request: no leak, no hang */
	close(fd);
	gt_http_free(NULL);
}

static void
test_gt_http_overlong_refused(void **state)
{
	size_t  big = 100000;
	char   *req = malloc(big + 256);
	ht_resp r;
	int     n, st;

	(void)state;
	/* A huge URI. */
	n = snprintf(req, 256, "GET /");
	memset(req + n, 'a', big);
	n += (int)big;
	n += snprintf(req + n, 256, " HTTP/1.1\r\nHost: x\r\n\r\n");
	st = ht_raw(g.port, req, (size_t)n, &r);
	assert_int_equal(st, 414); /* lws alone closed without a status */
	ht_assert_error_body(&r, 414, NULL);
	ht_resp_free(&r);
	/* A huge header. */
	n = snprintf(req, 256, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'b', big);
	n += (int)big;
	n += snprintf(req + n, 256, "\r\n\r\n");
	st = ht_raw(g.port, req, (size_t)n, &r);
	assert_int_equal(st, 431);
	ht_assert_error_body(&r, 431, NULL);
	ht_resp_free(&r);
	free(req);
	/* Still healthy. */
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
}

/* Request lines no HTTP/1.1 server should act on: each gets its JSON error (lws 4.1 alone
 * answered some with an HTML 403 and dropped others without a status), no handler runs, and
 * the server keeps serving. */
static void
test_gt_http_malformed_request_refused(void **state)
{
	static const struct {
		const char *req;
		int         status;
	} cases[] = {
	    {"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n", 405},              /* unknown method */
	    {"TRACE /hello HTTP/1.1\r\nHost: x\r\n\r\n", 405},             /* not served */
	    {"GET\r\nHost: x\r\n\r\n", 400},                               /* no URI */
	    {"GET hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},                /* no leading '/' */
	    {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400}, /* a TLS hello */
	    {"GET /he\x01llo HTTP/1.1\r\nHost: x\r\n\r\n", 400},           /* control byte */
	    {"GET /he%00llo HTTP/1.1\r\nHost: x\r\n\r\n", 400},            /* encoded NUL */
	    {"GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n", 400},         /* bad header */
	    {"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},               /* version */
	};
	size_t  i;
	ht_resp r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = ht_raw(g.port, cases[i].req, strlen(cases[i].req), &r);

		if (st != cases[i].status)
			fail_msg("request %zu answered %d, want %d", i, st, cases[i].status);
		ht_assert_error_body(&r, st, NULL);
		if (st == 405)
			assert_non_null(ht_head_value(r.headers, "allow"));
		ht_resp_free(&r);
	}
	/* A raw NUL in the request line. */
	{
		static const char nul[] = "GET /he\0llo HTTP/1.1\r\nHost: x\r\n\r\n";

		assert_int_equal(ht_raw(g.port, nul, sizeof(nul) - 1, &r), 400);
		ht_resp_free(&r);
	}
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
}

/* A client that announces a body and leaves half way (FIN, then RST): the partial request is
 * freed (ASan's leak check at exit), no handler runs, and the server keeps serving. */
static void
test_gt_http_client_leaves_mid_body(void **state)
{
	static const char head[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
	                           "0123456789";
	struct linger     lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t          before = gt_http_requests(g.h);
	ht_resp           r;
	int               fd, i;

	(void)state;
	for (i = 0; i < 2; i++) {
		fd = ht_connect(g.port);
		assert_true(fd >= 0);
		assert_int_equal(ht_send_all(fd, head, sizeof(head) - 1), 0);
		gt_sleep_ns(20 * GT_NS_PER_MS);
		if (i == 1)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	gt_sleep_ns(50 * GT_NS_PER_MS);
	/* Nothing was answered (served) for the two half requests. */
	assert_int_equal(gt_http_requests(g.h), before);
	assert_int_equal(ht_get(g.port, "/hello", &r), 200);
	ht_resp_free(&r);
	assert_int_equal(gt_http_requests(g.h), before + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_overlong_refused),
	    cmocka_unit_test(test_gt_http_deferred_reply_from_other_thread),
	    cmocka_unit_test(test_gt_http_deferred_reply_after_client_left),
	    cmocka_unit_test(test_gt_http_keep_alive),
	    cmocka_unit_test(test_gt_http_reply_deadline),
	    cmocka_unit_test(test_gt_http_free_with_pending_request),
	    cmocka_unit_test(test_gt_http_malformed_request_refused),
	    cmocka_unit_test(test_gt_http_client_leaves_mid_body),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
