/* test_gt_http_ws.c - gt_http's WebSocket endpoint (gt_http_ws.c) for real: broadcast to every
 * client or by topic filter, sending to one client, whole messages in, bounded per-client
 * queues that drop the oldest (and count it) when a client does not read, and what is refused.
 * The client in gt_http_test_util.c speaks the minimum of RFC 6455 over a plain socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_http.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_test_util.h"

#define MAX_BODY 1024
#define WS_QUEUE 8

typedef struct ws_user {
	uint64_t id;
	char     topic[32];
} ws_user;

static struct {
	gt_http   *h;
	int        port;
	atomic_int ws_opened, ws_closed, ws_messages;
	uint64_t   ws_ids[32];
	char       last_msg[64];
} g;

static void *
ws_on_open(uint64_t id, void *arg)
{
	ws_user *u = calloc(1, sizeof(*u));
	int      n = atomic_fetch_add(&g.ws_opened, 1);

	(void)arg;
	u->id = id;
	if (n < 32)
		g.ws_ids[n] = id;
	return u;
}

static void
ws_on_message(uint64_t id, void *user, const void *data, size_t len, void *arg)
{
	ws_user *u = user;

	(void)id;
	(void)arg;
	snprintf(g.last_msg, sizeof(g.last_msg), "%.*s", (int)len, (const char *)data);
	if (len > 4 && memcmp(data, "sub:", 4) == 0)
		snprintf(u->topic, sizeof(u->topic), "%.*s", (int)(len - 4),
		         (const char *)data + 4);
	atomic_fetch_add(&g.ws_messages, 1);
}

static void
ws_on_close(uint64_t id, void *user, void *arg)
{
	(void)id;
	(void)arg;
	free(user);
	atomic_fetch_add(&g.ws_closed, 1);
}

static int
ws_on_want(void *user, const char *topic, void *arg)
{
	ws_user *u = user;

	(void)arg;
	return u->topic[0] == '\0' || strcmp(u->topic, topic) == 0;
}

static const gt_ws_ops test_ws_ops = {
    .open = ws_on_open,
    .message = ws_on_message,
    .close = ws_on_close,
    .want = ws_on_want,
};

static int
group_setup(void **state)
{
	gt_http_cfg cfg = {0};

	(void)state;
	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	cfg.max_body = MAX_BODY;
	cfg.ws_queue_max = WS_QUEUE;
	if (ht_server_start(&g.h, &cfg, NULL, 0, "/ws", &test_ws_ops) != GT_OK)
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
test_gt_http_ws_broadcast_two_clients(void **state)
{
	int opened = atomic_load(&g.ws_opened), closed = atomic_load(&g.ws_closed);
	int a, b, bad;

	(void)state;
	a = ht_ws_connect(g.port, "/ws");
	b = ht_ws_connect(g.port, "/ws");
	assert_true(a >= 0 && b >= 0);
	HT_WAIT_FOR(atomic_load(&g.ws_opened) == opened + 2);
	assert_int_equal(gt_http_ws_clients(g.h), 2);
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, "hello all", 9), GT_OK);
	ht_assert_ws_text(a, "hello all");
	ht_assert_ws_text(b, "hello all");
	/* Only the configured path upgrades. */
	bad = ht_ws_connect(g.port, "/not-ws");
	assert_int_equal(bad, -1);
	close(a);
	close(b);
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 2);
	assert_int_equal(gt_http_ws_clients(g.h), 0);
}

/* Messages queued together go out framed and coalesced into one write: every header form
 * (7-bit, 16-bit and 64-bit lengths, at their edges) arrives as its own intact message, in
 * order. */
static void
test_gt_http_ws_burst_keeps_every_frame_intact(void **state)
{
	static const size_t sizes[WS_QUEUE] = {0, 1, 125, 126, 65535, 65536, 70000, 3};
	int                 opened = atomic_load(&g.ws_opened), closed = atomic_load(&g.ws_closed);
	char               *big = malloc(70000);
	size_t              i, j;
	int                 a;

	(void)state;
	assert_non_null(big);
	a = ht_ws_connect(g.port, "/ws");
	assert_true(a >= 0);
	HT_WAIT_FOR(atomic_load(&g.ws_opened) == opened + 1);
	for (i = 0; i < WS_QUEUE; i++) {
		for (j = 0; j < sizes[i]; j++)
			big[j] = (char)('a' + (i + j) % 26);
		assert_int_equal(gt_http_ws_broadcast(g.h, NULL, big, sizes[i]), GT_OK);
	}
	for (i = 0; i < WS_QUEUE; i++) {
		char  *got = NULL;
		size_t len = 0;

		assert_int_equal(ht_ws_read(a, &got, &len), 1); /* text */
		assert_int_equal(len, sizes[i]);
		for (j = 0; j < len; j++)
			if (got[j] != (char)('a' + (i + j) % 26))
				fail_msg("message %zu byte %zu differs", i, j);
		free(got);
	}
	free(big);
	close(a);
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 1);
}

static size_t
lost_notice(void *user, uint64_t n, char *buf, size_t cap, void *arg)
{
	(void)user;
	(void)arg;
	return (size_t)snprintf(buf, cap, "dropped:%llu", (unsigned long long)n);
}

/* Reads fd up to the message "end": *told sums the lost_notice counts, *stream counts the
 * messages of stream_len bytes (any length when 0), *other the rest. */
static void
ws_tally(int fd, size_t stream_len, uint64_t *stream, uint64_t *told, uint64_t *other)
{
	*stream = *told = *other = 0;
	for (;;) {
		char  *m = NULL;
		size_t len = 0;

		assert_int_equal(ht_ws_read(fd, &m, &len), 1);
		if (len == 3 && memcmp(m, "end", 3) == 0) {
			free(m);
			return;
		}
		if (len > 8 && memcmp(m, "dropped:", 8) == 0)
			*told += strtoull(m + 8, NULL, 10);
		else if (stream_len == 0 || len == stream_len)
			(*stream)++;
		else
			(*other)++;
		free(m);
	}
}

/* Broadcasts dropped from the server's inbox (before any client queue) are announced to the
 * clients like drops from their own queues: what a client receives plus what it is told it
 * lost covers everything broadcast. */
static void
test_gt_http_ws_inbox_drops_are_announced(void **state)
{
	enum { N = 2000 };
	static const gt_ws_ops ops = {.dropped = lost_notice};
	gt_http_cfg            cfg = {0};
	gt_http               *h;
	char                   msg[512];
	uint64_t               got, told, other;
	int                    fd, i;

	(void)state;
	cfg.service = "test-inbox";
	cfg.bind = "127.0.0.1";
	cfg.ws_queue_max = 2 * N; /* no client-queue drops: only the inbox can lose */
	cfg.ws_inbox_max_bytes = 2048;
	assert_int_equal(ht_server_start(&h, &cfg, NULL, 0, "/ws", &ops), GT_OK);
	fd = ht_ws_connect(gt_http_port(h), "/ws");
	assert_true(fd >= 0);
	HT_WAIT_FOR(gt_http_ws_clients(h) == 1);
	memset(msg, 'm', sizeof(msg));
	for (i = 0; i < N; i++)
		assert_int_equal(gt_http_ws_broadcast(h, "t", msg, sizeof(msg)), GT_OK);
	gt_sleep_ns(200 * GT_NS_PER_MS); /* drained: the end marker is not dropped */
	assert_int_equal(gt_http_ws_broadcast(h, NULL, "end", 3), GT_OK);
	ws_tally(fd, 0, &got, &told, &other);
	assert_true(gt_http_ws_dropped(h) > 0); /* the inbox did overflow */
	assert_true(told > 0);
	assert_true(got + told >= N);
	close(fd);
	gt_http_free(h);
}

/* A slow client's dropped notices count exactly the stream messages (broadcast with a topic)
 * it lost: what it receives plus what it is told it lost is what was broadcast, even when
 * control messages (no topic: heartbeats) interleaved with them were dropped as well. */
static void
test_gt_http_ws_dropped_counts_stream_messages_exactly(void **state)
{
	enum { N = 48 };
	static const gt_ws_ops ops = {.dropped = lost_notice};
	gt_http_cfg            cfg = {0};
	gt_http               *h = NULL;
	char                  *payload;
	size_t                 plen = 64 * 1024;
	uint64_t               got, told, controls;
	int                    slow, i;

	(void)state;
	cfg.service = "exact";
	cfg.bind = "127.0.0.1";
	cfg.ws_queue_max = 4;
	assert_int_equal(ht_server_start(&h, &cfg, NULL, 0, "/live", &ops), GT_OK);
	slow = ht_ws_connect_opt(gt_http_port(h), "/live", 4096);
	assert_true(slow >= 0);
	HT_WAIT_FOR(gt_http_ws_clients(h) == 1);
	payload = malloc(plen);
	assert_non_null(payload);
	memset(payload, 'p', plen);
	for (i = 0; i < N; i++) {
		assert_int_equal(gt_http_ws_broadcast(h, "gpu", payload, plen), GT_OK);
		assert_int_equal(gt_http_ws_broadcast(h, NULL, "heartbeat", 9), GT_OK);
	}
	free(payload);
	HT_WAIT_FOR(gt_http_ws_dropped(h) > 0);
	gt_sleep_ns(100 * GT_NS_PER_MS);
	assert_int_equal(gt_http_ws_broadcast(h, "gpu", "end", 3), GT_OK);
	ws_tally(slow, plen, &got, &told, &controls);
	assert_true(told > 0);
	assert_int_equal(got + told, N);
	assert_true(controls < N); /* some heartbeats went too, not counted */
	close(slow);
	gt_http_free(h);
}

static void
test_gt_http_ws_message_and_topic_filter(void **state)
{
	int      opened = atomic_load(&g.ws_opened), msgs = atomic_load(&g.ws_messages);
	int      closed = atomic_load(&g.ws_closed);
	uint64_t id_a;
	int      a, b;
	char     big[600];

	(void)state;
	a = ht_ws_connect(g.port, "/ws");
	assert_true(a >= 0);
	HT_WAIT_FOR(atomic_load(&g.ws_opened) == opened + 1);
	b = ht_ws_connect(g.port, "/ws");
	assert_true(b >= 0);
	HT_WAIT_FOR(atomic_load(&g.ws_opened) == opened + 2);
	id_a = g.ws_ids[opened];
	assert_int_equal(ht_ws_send_text(a, "sub:gpu-a"), 0);
	assert_int_equal(ht_ws_send_text(b, "sub:gpu-b"), 0);
	HT_WAIT_FOR(atomic_load(&g.ws_messages) == msgs + 2);
	/* A longer (16-bit length) masked frame arrives whole. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "msg:", 4);
	assert_int_equal(ht_ws_send_text(b, big), 0);
	HT_WAIT_FOR(atomic_load(&g.ws_messages) == msgs + 3);
	assert_int_equal(strncmp(g.last_msg, "msg:mmm", 7), 0);

	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-a", "for-a", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-b", "for-b", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-c", "for-c", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, "for-all", 7), GT_OK);
	assert_int_equal(gt_http_ws_send(g.h, id_a, "only-a", 6), GT_OK);
	assert_int_equal(gt_http_ws_send(g.h, 999999, "nobody", 6), GT_ENOENT);
	/* Per-client order is kept, so what is not first was filtered out. */
	ht_assert_ws_text(a, "for-a");
	ht_assert_ws_text(a, "for-all");
	ht_assert_ws_text(a, "only-a");
	ht_assert_ws_text(b, "for-b");
	ht_assert_ws_text(b, "for-all");
	close(a);
	close(b);
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 2);
}

/* A separate server: a client that never reads fills its bounded queue; the oldest messages
 * are dropped and counted, and freeing the server with that client attached is clean. */
static void
test_gt_http_ws_drop_counter(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;
	char       *payload;
	size_t      plen = 64 * 1024;
	int         fd, i, port;

	(void)state;
	cfg.service = "drop";
	cfg.bind = "127.0.0.1";
	cfg.ws_queue_max = 4;
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_ws(h, "/live", NULL, NULL), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(h, NULL, "x", 1), GT_ECLOSED); /* not started */
	assert_int_equal(gt_http_start(h), GT_OK);
	port = gt_http_port(h);
	fd = ht_ws_connect_opt(port, "/live", 4096);
	assert_true(fd >= 0);
	HT_WAIT_FOR(gt_http_ws_clients(h) == 1);
	payload = malloc(plen);
	memset(payload, 'p', plen);
	for (i = 0; i < 256; i++)
		assert_int_equal(gt_http_ws_broadcast(h, "t", payload, plen), GT_OK);
	free(payload);
	HT_WAIT_FOR(gt_http_ws_dropped(h) > 0);
	assert_true(gt_http_ws_dropped(h) <= 256);
	gt_http_free(h);
	close(fd);
}

/* A message larger than max_body closes the connection with 1009 (message too big) before it
 * is handed to ops->message; the server keeps serving the other clients. */
static void
test_gt_http_ws_message_too_large(void **state)
{
	int    opened = atomic_load(&g.ws_opened), msgs = atomic_load(&g.ws_messages);
	int    closed = atomic_load(&g.ws_closed);
	char  *big = malloc(MAX_BODY + 2), *got = NULL;
	size_t glen = 0;
	int    a, b, op;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', MAX_BODY + 1);
	big[MAX_BODY + 1] = '\0';
	a = ht_ws_connect(g.port, "/ws");
	b = ht_ws_connect(g.port, "/ws");
	assert_true(a >= 0 && b >= 0);
	HT_WAIT_FOR(atomic_load(&g.ws_opened) == opened + 2);
	assert_int_equal(ht_ws_send_text(a, big), 0);
	free(big);
	op = ht_ws_read(a, &got, &glen);
	assert_int_equal(op, 8); /* close */
	assert_true(glen >= 2);
	assert_int_equal(((unsigned char)got[0] << 8) | (unsigned char)got[1], 1009);
	free(got);
	close(a); /* instead of answering the close: lws would wait for that a few seconds */
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 1);
	assert_int_equal(atomic_load(&g.ws_messages), msgs);
	assert_int_equal(gt_http_ws_clients(g.h), 1);
	/* The other client is unaffected. */
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, "still here", 10), GT_OK);
	ht_assert_ws_text(b, "still here");
	close(b);
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 2);
}

/* A client that never reads (small receive window, queue of 4) loses its oldest messages, but
 * does not hold up the loop: a client that reads still gets every broadcast up to the last,
 * whole and in order. Freeing the server with the stalled client attached is clean. */
static void
test_gt_http_ws_stalled_client_does_not_block_others(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;
	char       *payload, *got;
	size_t      plen = 64 * 1024, glen;
	int         slow, fast, i, n, last = -1;

	(void)state;
	cfg.service = "stall";
	cfg.bind = "127.0.0.1";
	cfg.ws_queue_max = 4;
	assert_int_equal(ht_server_start(&h, &cfg, NULL, 0, "/live", NULL), GT_OK);
	slow = ht_ws_connect_opt(gt_http_port(h), "/live", 4096);
	fast = ht_ws_connect(gt_http_port(h), "/live");
	assert_true(slow >= 0 && fast >= 0);
	HT_WAIT_FOR(gt_http_ws_clients(h) == 2);
	payload = malloc(plen + 1);
	assert_non_null(payload);
	for (i = 0; i < 64; i++) {
		/* Each message carries its sequence number, so order can be checked. */
		memset(payload, 'p', plen);
		n = snprintf(payload, 16, "%06d:", i);
		payload[n] = 'p';
		assert_int_equal(gt_http_ws_broadcast(h, NULL, payload, plen), GT_OK);
		if (i % 8 == 7)
			gt_sleep_ns(2 * GT_NS_PER_MS); /* let the fast client keep up */
	}
	free(payload);
	assert_int_equal(gt_http_ws_broadcast(h, NULL, "the end", 7), GT_OK);
	for (;;) {
		assert_int_equal(ht_ws_read(fast, &got, &glen), 1);
		if (glen == 7 && memcmp(got, "the end", 7) == 0) {
			free(got);
			break;
		}
		assert_int_equal(glen, plen);
		n = atoi(got);
		assert_true(n > last && n < 64);
		last = n;
		free(got);
	}
	assert_int_equal(last, 63); /* only one message follows it: never the one dropped */
	HT_WAIT_FOR(gt_http_ws_dropped(h) > 0);
	gt_http_free(h);
	close(slow);
	close(fast);
}

/* Calls that cannot work are refused with the documented codes, including a send to a client
 * that has left and WebSocket calls on a server without an endpoint. */
static void
test_gt_http_ws_refusals(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;
	int         opened = atomic_load(&g.ws_opened), msgs = atomic_load(&g.ws_messages);
	int         closed = atomic_load(&g.ws_closed), a;
	uint64_t    id;

	(void)state;
	a = ht_ws_connect(g.port, "/ws");
	assert_true(a >= 0);
	assert_int_equal(ht_ws_send_text(a, "hi"), 0);
	HT_WAIT_FOR(atomic_load(&g.ws_messages) == msgs + 1); /* open has run before message */
	assert_true(opened < 32);
	id = g.ws_ids[opened];
	assert_int_equal(gt_http_ws_send(g.h, id, "to-a", 4), GT_OK);
	ht_assert_ws_text(a, "to-a");
	close(a);
	HT_WAIT_FOR(atomic_load(&g.ws_closed) == closed + 1);
	assert_int_equal(gt_http_ws_send(g.h, id, "gone", 4), GT_ENOENT);
	assert_int_equal(gt_http_ws_send(g.h, 0, "x", 1), GT_EINVAL);
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, NULL, 1), GT_EINVAL);
	assert_int_equal(gt_http_ws(g.h, "/ws2", NULL, NULL), GT_EINVAL); /* after start */

	cfg.bind = "127.0.0.1";
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_ws(h, "no-slash", NULL, NULL), GT_EINVAL);
	assert_int_equal(gt_http_start(h), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(h, NULL, "x", 1), GT_ENOTSUP);
	assert_int_equal(gt_http_ws_send(h, 1, "x", 1), GT_ENOTSUP);
	assert_int_equal(gt_http_ws_clients(h), 0);
	/* Without an endpoint an upgrade is not accepted. */
	assert_int_equal(ht_ws_connect(gt_http_port(h), "/ws"), -1);
	gt_http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_ws_broadcast_two_clients),
	    cmocka_unit_test(test_gt_http_ws_message_and_topic_filter),
	    cmocka_unit_test(test_gt_http_ws_drop_counter),
	    cmocka_unit_test(test_gt_http_ws_message_too_large),
	    cmocka_unit_test(test_gt_http_ws_burst_keeps_every_frame_intact),
	    cmocka_unit_test(test_gt_http_ws_inbox_drops_are_announced),
	    cmocka_unit_test(test_gt_http_ws_dropped_counts_stream_messages_exactly),
	    cmocka_unit_test(test_gt_http_ws_stalled_client_does_not_block_others),
	    cmocka_unit_test(test_gt_http_ws_refusals),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
