/* test_gt_http_stream.c - streamed replies (gt_http_stream): chunked framing read back, pieces
 * written from another thread paced by more(), HEAD, and a client that leaves mid-stream
 * (GONE once, writes fail, FREE once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_http.h"
#include "gt/gt_time.h"
#include "gt_http_test_util.h"

typedef struct sctx {
	atomic_int      pieces, more_calls, gone, freed, write_err;
	int             total;   /* pieces to write, then end */
	int             threaded; /* write from a helper thread */
	size_t          piece_len;
	gt_http_stream *s;
} sctx;

static sctx ctx;

static void
write_piece(sctx *c)
{
	char  *p = malloc(c->piece_len + 1);
	int    n = atomic_fetch_add(&c->pieces, 1);
	size_t i;

	for (i = 0; i < c->piece_len; i++)
		p[i] = (char)('a' + (n + (int)i) % 26);
	if (gt_http_stream_write(c->s, p, c->piece_len) != GT_OK)
		atomic_fetch_add(&c->write_err, 1);
	free(p);
}

static void *
writer_thread(void *arg)
{
	sctx *c = arg;

	if (atomic_load(&c->pieces) < c->total)
		write_piece(c);
	else
		gt_http_stream_end(c->s, 0);
	return NULL;
}

static void
more(gt_http_stream *s, int ev, void *arg)
{
	sctx *c = arg;

	(void)s;
	if (ev == GT_HTTP_STREAM_FREE) {
		atomic_fetch_add(&c->freed, 1);
		return;
	}
	if (ev == GT_HTTP_STREAM_GONE) {
		atomic_fetch_add(&c->gone, 1);
		gt_http_stream_end(c->s, 1);
		return;
	}
	atomic_fetch_add(&c->more_calls, 1);
	if (c->total < 0) { /* never ends on its own: writes until the client leaves */
		write_piece(c);
		return;
	}
	if (c->threaded) {
		pthread_t th;

		pthread_create(&th, NULL, writer_thread, c);
		pthread_detach(th);
	} else if (atomic_load(&c->pieces) < c->total) {
		write_piece(c);
	} else {
		gt_http_stream_end(c->s, 0);
	}
}

static void
h_stream(gt_http_req *r, void *arg)
{
	sctx *c = arg;

	assert_int_equal(gt_http_stream_start(r, 200, "text/plain", more, c, &c->s), GT_OK);
}

static gt_http *
start(void)
{
	gt_http    *h;
	gt_http_cfg cfg = {.service = "t", .bind = "127.0.0.1", .port = 0};

	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/s", h_stream, &ctx, 0), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	return h;
}

/* Reads until EOF; returns the raw bytes (malloc'd). */
static char *
read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char  *b = malloc(cap);
	ssize_t r;

	while ((r = read(fd, b + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 4096)
			b = realloc(b, cap *= 2);
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* Decodes a chunked body; -1 when malformed or without the final chunk. */
static long
unchunk(const char *p, const char *end, char *out)
{
	long n = 0;

	for (;;) {
		char         *e;
		unsigned long sz = strtoul(p, &e, 16);

		if (e == p || e + 2 > end || e[0] != '\r' || e[1] != '\n')
			return -1;
		p = e + 2;
		if (sz == 0)
			return p + 2 <= end && p[0] == '\r' && p[1] == '\n' ? n : -1;
		if (p + sz + 2 > end)
			return -1;
		memcpy(out + n, p, sz);
		n += (long)sz;
		p += sz + 2;
	}
}

static void
run_stream(int total, int threaded, size_t piece_len)
{
	gt_http *h;
	int      fd;
	size_t   len;
	char    *raw, *body, *out;
	long     n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.total = total;
	ctx.threaded = threaded;
	ctx.piece_len = piece_len;
	h = start();
	fd = ht_connect(gt_http_port(h));
	assert_true(fd >= 0);
	assert_int_equal(ht_send_str(fd, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	raw = read_all(fd, &len);
	close(fd);
	assert_non_null(strstr(raw, "HTTP/1.1 200"));
	assert_non_null(strcasestr(raw, "transfer-encoding: chunked"));
	body = strstr(raw, "\r\n\r\n") + 4;
	out = malloc(len + 1);
	n = unchunk(body, raw + len, out);
	assert_int_equal(n, (long)(total * piece_len));
	HT_WAIT_FOR(atomic_load(&ctx.freed) == 1);
	assert_int_equal(atomic_load(&ctx.gone), 0);
	assert_int_equal(atomic_load(&ctx.write_err), 0);
	/* asked once per piece, plus once to end */
	assert_int_equal(atomic_load(&ctx.more_calls), total + 1);
	free(out);
	free(raw);
	gt_http_free(h);
}

static void
test_stream_pieces_on_loop(void **state)
{
	(void)state;
	run_stream(3, 0, 10);
}

static void
test_stream_pieces_from_another_thread(void **state)
{
	(void)state;
	run_stream(40, 1, 100000); /* 4 MB, one piece in memory at a time */
}

static void
test_stream_client_leaves(void **state)
{
	gt_http *h;
	int      fd;
	char    *head;

	memset(&ctx, 0, sizeof(ctx));
	ctx.total = -1;
	ctx.piece_len = 256 * 1024;
	h = start();
	fd = ht_connect(gt_http_port(h));
	assert_int_equal(ht_send_str(fd, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	head = ht_read_head(fd);
	assert_non_null(head);
	free(head);
	HT_WAIT_FOR(atomic_load(&ctx.more_calls) >= 1);
	close(fd); /* unread data: the peer resets, the next write fails */
	HT_WAIT_FOR(atomic_load(&ctx.gone) == 1);
	HT_WAIT_FOR(atomic_load(&ctx.freed) == 1);
	assert_int_equal(gt_http_stream_write(NULL, "x", 1), GT_EINVAL);
	gt_http_free(h);
	assert_int_equal(atomic_load(&ctx.gone), 1);
	assert_int_equal(atomic_load(&ctx.freed), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_pieces_on_loop),
	    cmocka_unit_test(test_stream_pieces_from_another_thread),
	    cmocka_unit_test(test_stream_client_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
