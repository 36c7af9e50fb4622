/* test_gt_http_limits.c - gt_http against hostile peers (gt_http_admit.c and friends): floods
 * of idle and slowloris connections, the connection cap that closes the oldest idle
 * connection first, the header and keep-alive timeouts, CONNECT and request lines lws cuts
 * short, a second reply to one request, and the WebSocket inbox bounded by bytes. Real
 * servers on ephemeral 127.0.0.1 ports, spoken to by the client in gt_http_test_util.c.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_http.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_test_util.h"

#define FLOOD_IDLE 300
#define FLOOD_SLOW 40

static const ht_route routes[] = {
    {"GET", "/health", ht_hello, NULL, GT_HTTP_OPEN},
    {"GET", "/deferred", ht_deferred, NULL, GT_HTTP_OPEN},
};

static gt_http *
start_server(const gt_http_cfg *in)
{
	gt_http_cfg cfg = *in;
	gt_http    *h = NULL;

	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	assert_int_equal(
	    ht_server_start(&h, &cfg, routes, sizeof(routes) / sizeof(routes[0]), NULL, NULL),
	    GT_OK);
	assert_true(gt_http_port(h) > 0);
	return h;
}

/* 1 when the server has closed fd (EOF or reset) within ms, 0 while it is still open.
 * What it sent before (a 408, say) is read and dropped. */
static int
closed_within(int fd, int ms)
{
	int64_t deadline = gt_mono_ns() + (int64_t)ms * GT_NS_PER_MS;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t       left = (deadline - gt_mono_ns()) / GT_NS_PER_MS;
		char          buf[512];
		ssize_t       n;

		if (left < 0 || poll(&p, 1, (int)left) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
	}
}

/* GET /health on a fresh connection: status, and the time it took in *ms. */
static int
health(int port, int64_t *ms)
{
	int64_t t0 = gt_mono_ns();
	ht_resp r;
	int     st = ht_get(port, "/health", &r);

	*ms = (gt_mono_ns() - t0) / GT_NS_PER_MS;
	ht_resp_free(&r);
	return st;
}

/* ================================================================ floods */

/* 300 connections that send nothing plus 40 that send a header byte now and then (more than
 * lws's header buffer pool used to hold): /health still answers at once, every round, with
 * the default configuration. Before the limits it waited for lws's 10 s header timeout. */
static void
test_gt_http_idle_flood_health_answers(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h;
	int         idle[FLOOD_IDLE], slow[FLOOD_SLOW], port, i, round;
	int64_t     ms;

	(void)state;
	h = start_server(&cfg);
	port = gt_http_port(h);
	for (i = 0; i < FLOOD_IDLE; i++) {
		idle[i] = ht_connect(port);
		assert_true(idle[i] >= 0);
	}
	for (i = 0; i < FLOOD_SLOW; i++) {
		slow[i] = ht_connect(port);
		assert_true(slow[i] >= 0);
		ht_send_str(slow[i], "GET /health HTTP/1.1\r\nX-Slow: ");
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < FLOOD_SLOW; i++)
			ht_send_str(slow[i], "a"); /* may fail once evicted: fine */
		assert_int_equal(health(port, &ms), 200);
		if (ms > 2000)
			fail_msg("/health took %lld ms under the flood", (long long)ms);
		gt_sleep_ns(300 * GT_NS_PER_MS);
	}
	/* The cap held: the oldest idle peers were closed to make room. */
	assert_true(gt_http_conns_evicted(h) >= FLOOD_IDLE + FLOOD_SLOW - GT_HTTP_DEF_MAX_CONNS);
	HT_WAIT_FOR(gt_http_conns(h) <= GT_HTTP_DEF_MAX_CONNS + 1);
	for (i = 0; i < FLOOD_IDLE; i++)
		close(idle[i]);
	for (i = 0; i < FLOOD_SLOW; i++)
		close(slow[i]);
	gt_http_free(h);
}

/* At max_conns a new connection closes the oldest idle one, never a connection whose
 * request is being handled, and is itself served. Both places connections wait are capped:
 * the front (no complete request head yet) and lws (between keep-alive requests). */
static void
test_gt_http_oldest_idle_evicted_first(void **state)
{
	static const char req[] = "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char hreq[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h;
	gt_http_req      *dr;
	int               busy, a[4], k[3], port, i;
	ht_resp           r;

	(void)state;
	cfg.max_conns = 4;
	cfg.header_timeout_s = 60; /* only the caps close anything here */
	cfg.idle_timeout_s = 60;
	h = start_server(&cfg);
	port = gt_http_port(h);
	busy = ht_connect(port); /* the oldest connection, but busy */
	assert_true(busy >= 0);
	assert_int_equal(ht_send_all(busy, req, sizeof(req) - 1), 0);
	dr = ht_take_stash();
	assert_non_null(dr);
	/* Three keep-alive connections, idle after one request each: lws holds 4. */
	for (i = 0; i < 3; i++) {
		k[i] = ht_connect(port);
		assert_true(k[i] >= 0);
		assert_int_equal(ht_send_all(k[i], hreq, sizeof(hreq) - 1), 0);
		assert_int_equal(ht_read_response(k[i], &r, 0), 0);
		assert_int_equal(r.status, 200);
		ht_resp_free(&r);
	}
	/* Four silent connections: the front holds 4 (its own cap). */
	for (i = 0; i < 4; i++) {
		a[i] = ht_connect(port);
		assert_true(a[i] >= 0);
		HT_WAIT_FOR(gt_http_conns(h) == (size_t)i + 5);
	}
	/* One more: a[0], the oldest silent one, makes room at the front; once its head is in,
	 * k[0], the oldest idle keep-alive one, makes room in lws. */
	assert_int_equal(ht_get(port, "/health", &r), 200);
	ht_resp_free(&r);
	assert_true(closed_within(a[0], 3000));
	assert_true(closed_within(k[0], 3000));
	for (i = 1; i < 4; i++)
		assert_false(closed_within(a[i], 20));
	for (i = 1; i < 3; i++)
		assert_false(closed_within(k[i], 20));
	assert_int_equal(gt_http_conns_evicted(h), 2);
	/* The busy connection is still there and gets its reply. */
	assert_int_equal(gt_http_reply(dr, 202, "text/plain", "kept", 4), GT_OK);
	assert_int_equal(ht_read_response(busy, &r, 0), 0);
	assert_int_equal(r.status, 202);
	ht_resp_free(&r);
	close(busy);
	for (i = 0; i < 4; i++)
		close(a[i]);
	for (i = 0; i < 3; i++)
		close(k[i]);
	gt_http_free(h);
}

/* A connection that sends nothing, one that sends its head a byte at a time and an idle
 * keep-alive connection are all closed after their timeouts. */
static void
test_gt_http_header_and_idle_timeouts(void **state)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h;
	int               silent, slow, ka, port, i;
	ht_resp           r;

	(void)state;
	cfg.header_timeout_s = 1;
	cfg.idle_timeout_s = 2;
	h = start_server(&cfg);
	port = gt_http_port(h);
	silent = ht_connect(port);
	slow = ht_connect(port);
	ka = ht_connect(port);
	assert_true(silent >= 0 && slow >= 0 && ka >= 0);
	assert_int_equal(ht_send_all(ka, req, sizeof(req) - 1), 0);
	assert_int_equal(ht_read_response(ka, &r, 0), 0);
	assert_int_equal(r.status, 200);
	ht_resp_free(&r);
	/* The slow one keeps sending, a byte every 100 ms: still closed. */
	for (i = 0; i < 40 && ht_send_str(slow, i == 0 ? "GET /health HTTP/1.1\r\n" : "X") == 0;
	     i++)
		if (closed_within(slow, 100))
			break;
	assert_true(i < 40);
	assert_true(closed_within(silent, 3000));
	assert_true(closed_within(ka, 5000));
	HT_WAIT_FOR(gt_http_conns(h) == 0);
	/* And the server still serves. */
	assert_int_equal(ht_get(port, "/health", &r), 200);
	ht_resp_free(&r);
	close(silent);
	close(slow);
	close(ka);
	gt_http_free(h);
}

static void
test_gt_http_limits_config_checked(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;

	(void)state;
	cfg.max_conns = -1;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	cfg.max_conns = 1000000;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	cfg.max_conns = 0;
	cfg.header_timeout_s = -1;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	cfg.header_timeout_s = 0;
	cfg.idle_timeout_s = -5;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	assert_null(h);
	assert_int_equal(gt_http_conns_evicted(NULL), 0);
	assert_int_equal(gt_http_conns(NULL), 0);
}

/* ================================================================ requests lws mangles */

static void
test_gt_http_connect_gets_405(void **state)
{
	static const char req[] =
	    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
	gt_http_cfg cfg = {0};
	gt_http    *h;
	ht_resp     r;

	(void)state;
	h = start_server(&cfg);
	assert_int_equal(ht_raw(gt_http_port(h), req, sizeof(req) - 1, &r), 405);
	ht_assert_error_body(&r, 405, NULL);
	assert_non_null(ht_head_value(r.headers, "allow"));
	ht_resp_free(&r);
	assert_int_equal(ht_get(gt_http_port(h), "/health", &r), 200);
	ht_resp_free(&r);
	gt_http_free(h);
}

/* CR/LF (raw or %-encoded) and control bytes in the path: 400 JSON, never a route with the
 * path cut short. */
static void
test_gt_http_control_bytes_in_path_400(void **state)
{
	static const char *reqs[] = {
	    "GET /health%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /health%0aX HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /health\rX HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /hea\x01lth HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /health%7f HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	gt_http_cfg cfg = {0};
	gt_http    *h;
	ht_resp     r;
	size_t      i;

	(void)state;
	h = start_server(&cfg);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		int st = ht_raw(gt_http_port(h), reqs[i], strlen(reqs[i]), &r);

		if (st != 400)
			fail_msg("request %zu answered %d: %s", i, st, r.body ? r.body : "");
		ht_assert_error_body(&r, 400, NULL);
		ht_resp_free(&r);
	}
	gt_http_free(h);
}

/* ================================================================ a second reply */

static atomic_int second_rv;

static void
h_twice(gt_http_req *r, void *arg)
{
	gt_err first;

	(void)arg;
	first = gt_http_reply(r, 200, "text/plain", "first", 5);
	/* Refused, not a use-after-free (ASan), whether the first reply completed in place (lws
	 * thread) or was queued (worker). */
	atomic_store(&second_rv, (int)gt_http_error(r, 500, "second"));
	if (first != GT_OK || gt_http_reply(NULL, 200, NULL, NULL, 0) != GT_EINVAL)
		atomic_store(&second_rv, -1); /* no cmocka asserts off the test thread */
}

static void
test_gt_http_second_reply_refused(void **state)
{
	static const ht_route twice[] = {
	    {"GET", "/twice", h_twice, NULL, 0},
	    {"GET", "/wtwice", h_twice, NULL, GT_HTTP_WORKER},
	};
	static const char *paths[] = {"/twice", "/wtwice"};
	gt_http_cfg        cfg = {0};
	gt_http           *h = NULL;
	ht_resp            r;
	size_t             i;
	int                k;

	(void)state;
	cfg.bind = "127.0.0.1";
	assert_int_equal(ht_server_start(&h, &cfg, twice, 2, NULL, NULL), GT_OK);
	for (k = 0; k < 20; k++)
		for (i = 0; i < 2; i++) {
			atomic_store(&second_rv, 99);
			assert_int_equal(ht_get(gt_http_port(h), paths[i], &r), 200);
			assert_string_equal(r.body, "first");
			ht_resp_free(&r);
			HT_WAIT_FOR(atomic_load(&second_rv) != 99);
			assert_int_equal(atomic_load(&second_rv), GT_EEXIST);
		}
	gt_http_free(h);
}

/* ================================================================ WebSocket inbox bytes */

static void
test_gt_http_ws_inbox_bounded_by_bytes(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;
	char        big[2048];
	int         fd;

	(void)state;
	cfg.bind = "127.0.0.1";
	cfg.ws_inbox_max_bytes = 1024;
	assert_int_equal(ht_server_start(&h, &cfg, routes, 1, "/ws", NULL), GT_OK);
	fd = ht_ws_connect(gt_http_port(h), "/ws");
	assert_true(fd >= 0);
	HT_WAIT_FOR(gt_http_ws_clients(h) == 1);
	memset(big, 'x', sizeof(big));
	/* Larger than the whole inbox: refused and counted as dropped. */
	assert_int_equal(gt_http_ws_broadcast(h, NULL, big, sizeof(big)), GT_EFULL);
	assert_int_equal(gt_http_ws_dropped(h), 1);
	/* Within the bound: delivered. */
	assert_int_equal(gt_http_ws_broadcast(h, NULL, "small", 5), GT_OK);
	ht_assert_ws_text(fd, "small");
	/* A burst of 100 x 500 bytes (50 KB) through a 1 KiB inbox: whatever the lws thread has
	 * not drained yet is dropped oldest first, so deliveries + drops add up. */
	{
		uint64_t before = gt_http_ws_dropped(h);
		int      i, got = 0;
		char     msg[501];

		memset(msg, 'm', 500);
		msg[500] = '\0';
		for (i = 0; i < 100; i++)
			assert_int_equal(gt_http_ws_broadcast(h, NULL, msg, 500), GT_OK);
		assert_int_equal(gt_http_ws_broadcast(h, NULL, "end", 3), GT_OK);
		for (;;) {
			char *p = NULL;
			int   op = ht_ws_read(fd, &p, NULL);

			assert_int_equal(op, 1);
			if (strcmp(p, "end") == 0) {
				free(p);
				break;
			}
			assert_int_equal(strlen(p), 500);
			free(p);
			got++;
		}
		assert_int_equal((uint64_t)got + (gt_http_ws_dropped(h) - before), 100);
	}
	close(fd);
	gt_http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_limits_config_checked),
	    cmocka_unit_test(test_gt_http_connect_gets_405),
	    cmocka_unit_test(test_gt_http_control_bytes_in_path_400),
	    cmocka_unit_test(test_gt_http_second_reply_refused),
	    cmocka_unit_test(test_gt_http_ws_inbox_bounded_by_bytes),
	    cmocka_unit_test(test_gt_http_oldest_idle_evicted_first),
	    cmocka_unit_test(test_gt_http_header_and_idle_timeouts),
	    cmocka_unit_test(test_gt_http_idle_flood_health_answers),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
