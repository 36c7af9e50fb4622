/* gt_http_stream.c - streamed replies (see gt/gt_http.h): HTTP/1.1 chunked transfer encoding,
 * fed piece by piece by a producer on any thread and paced by the client: the producer is
 * asked for more (more()) only once everything it wrote has been handed to lws, so at most
 * one piece per stream is ever held.
 *
 * Ownership: two references, the producer's (released by gt_http_stream_end) and the lws
 * side's (released when the connection finishes or goes away). A stream on the wake list
 * holds a third while queued. The connection closes after the final chunk. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

struct gt_http_stream {
	gt_http          *h;
	pthread_mutex_t   mu;
	int               refs;    /* under mu */
	gt_buf            pending; /* written, not yet framed (under mu) */
	int               ended;   /* producer done (under mu) */
	int               aborted; /* ... without the final chunk */
	int               closed;  /* the client went away (under mu) */
	gt_http_stream_fn more;
	void             *arg;
	/* lws thread */
	gt__http_conn  *conn;
	int             hdr_sent, asked, final_sent, told_closed;
	unsigned char  *out; /* LWS_PRE headroom + a framed chunk */
	size_t          outlen;
	/* under h->lock */
	gt_http_stream *wake_next;
	int             wake_queued;
	/* lws thread: the drain's private list */
	gt_http_stream *drain_next;
};

static void
stream_release(gt_http_stream *s)
{
	int last;

	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	s->more(s, GT_HTTP_STREAM_FREE, s->arg);
	gt_buf_fini(&s->pending);
	free(s->out);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Any thread: make the lws thread look at s. */
static void
stream_wake(gt_http_stream *s)
{
	gt_http *h = s->h;

	if (gt__http_on_loop(h)) {
		if (s->conn != NULL)
			lws_callback_on_writable(s->conn->wsi);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (!s->wake_queued) {
		s->wake_queued = 1;
		pthread_mutex_lock(&s->mu);
		s->refs++;
		pthread_mutex_unlock(&s->mu);
		s->wake_next = h->stream_wake;
		h->stream_wake = s;
	}
	pthread_mutex_unlock(&h->lock);
	if (h->ctx != NULL)
		lws_cancel_service(h->ctx);
}

gt_err
gt_http_stream_start(gt_http_req *r, int status, const char *content_type, gt_http_stream_fn more,
                     void *arg, gt_http_stream **out)
{
	gt_http_stream *s;

	if (r == NULL || more == NULL || out == NULL)
		return GT_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	gt_buf_init(&s->pending);
	s->h = r->h;
	s->refs = 2;
	s->more = more;
	s->arg = arg;
	r->stream = s;
	*out = s;
	/* The ordinary reply path carries the status and type to the lws thread, which attaches
	 * the stream to the connection (gt__http_reply_complete). */
	gt_http_reply(r, status, content_type, NULL, 0);
	return GT_OK;
}

gt_err
gt_http_stream_write(gt_http_stream *s, const void *data, size_t len)
{
	gt_err rv = GT_OK;

	if (s == NULL || (data == NULL && len > 0))
		return GT_EINVAL;
	pthread_mutex_lock(&s->mu);
	if (s->closed)
		rv = GT_ECLOSED;
	else if (s->ended)
		rv = GT_EINVAL;
	else
		rv = gt_buf_append(&s->pending, data, len);
	pthread_mutex_unlock(&s->mu);
	if (rv == GT_OK)
		stream_wake(s);
	return rv;
}

void
gt_http_stream_end(gt_http_stream *s, int abort)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->ended = 1;
	s->aborted = abort;
	pthread_mutex_unlock(&s->mu);
	stream_wake(s);
	stream_release(s);
}

/* ---- lws thread ---- */

/* The client is gone (or never got the reply): tell the producer once, drop the lws ref. */
static void
stream_gone(gt_http_stream *s)
{
	int tell;

	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	tell = !s->ended;
	pthread_mutex_unlock(&s->mu);
	s->conn = NULL;
	if (tell && !s->told_closed) {
		s->told_closed = 1;
		s->more(s, GT_HTTP_STREAM_GONE, s->arg);
	}
	stream_release(s);
}

void
gt__http_stream_attach(gt_http *h, gt__http_conn *c, gt_http_stream *s)
{
	(void)h;
	if (c == NULL) {
		stream_gone(s);
		return;
	}
	s->conn = c;
	c->stream = s;
	c->close_after = 1;
}

void
gt__http_stream_detach(gt_http *h, gt__http_conn *c)
{
	gt_http_stream *s = c->stream;

	(void)h;
	c->stream = NULL;
	if (s != NULL)
		stream_gone(s);
}

static int
stream_headers(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	unsigned char  hb[LWS_PRE + 2048];
	unsigned char *start = hb + LWS_PRE, *p = start, *end = hb + sizeof(hb) - 1;

	if (lws_add_http_header_status(wsi, (unsigned int)c->status, &p, end))
		return -1;
	if (c->ctype != NULL &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
	                                 (const unsigned char *)c->ctype, (int)strlen(c->ctype), &p,
	                                 end))
		return -1;
	if (!c->head && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
	                                             (const unsigned char *)"chunked", 7, &p, end))
		return -1;
	if (h->cors_origin != NULL &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"access-control-allow-origin:",
	                                (const unsigned char *)h->cors_origin,
	                                (int)strlen(h->cors_origin), &p, end))
		return -1;
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
	                                 5, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

/* The connection is done with the stream: access log, close. */
static int
stream_finish(gt_http *h, gt__http_conn *c)
{
	gt_http_stream *s = c->stream;

	(void)h;
	GT_LOGD("http.request", GT_KV_STR("method", c->method),
	        GT_KV_STR("path", c->logpath ? c->logpath : ""), GT_KV_INT("status", c->status),
	        GT_KV_INT("duration_us", (gt_mono_ns() - c->t0) / GT_NS_PER_US),
	        GT_KV_BOOL("streamed", 1));
	c->stream = NULL;
	s->conn = NULL;
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	pthread_mutex_unlock(&s->mu);
	stream_release(s);
	return -1; /* "connection: close" was sent */
}

int
gt__http_stream_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	gt_http_stream *s = c->stream;
	size_t          n;
	int             ended, aborted;

	if (!s->hdr_sent) {
		if (stream_headers(h, c, wsi) != 0)
			return -1;
		s->hdr_sent = 1;
		if (c->head)
			return stream_finish(h, c);
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (s->final_sent)
		return stream_finish(h, c);
	pthread_mutex_lock(&s->mu);
	n = s->pending.len;
	ended = s->ended;
	aborted = s->aborted;
	if (n > 0) {
		char   head[24];
		int    hl = snprintf(head, sizeof(head), "%zx\r\n", n);
		size_t need = LWS_PRE + (size_t)hl + n + 2;

		if (need > s->outlen) {
			unsigned char *o = realloc(s->out, need);

			if (o == NULL) {
				pthread_mutex_unlock(&s->mu);
				return -1;
			}
			s->out = o;
			s->outlen = need;
		}
		memcpy(s->out + LWS_PRE, head, (size_t)hl);
		memcpy(s->out + LWS_PRE + hl, s->pending.data, n);
		memcpy(s->out + LWS_PRE + hl + n, "\r\n", 2);
		gt_buf_reset(&s->pending);
		s->asked = 0;
		pthread_mutex_unlock(&s->mu);
		n += (size_t)hl + 2;
		if (lws_write(wsi, s->out + LWS_PRE, n, LWS_WRITE_HTTP) != (int)n)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (ended) {
		static const char fin[] = "0\r\n\r\n";
		unsigned char     fb[LWS_PRE + sizeof(fin)];

		if (aborted)
			return stream_finish(h, c);
		memcpy(fb + LWS_PRE, fin, sizeof(fin) - 1);
		if (lws_write(wsi, fb + LWS_PRE, sizeof(fin) - 1, LWS_WRITE_HTTP_FINAL) !=
		    (int)sizeof(fin) - 1)
			return -1;
		s->final_sent = 1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!s->asked) {
		s->asked = 1;
		s->more(s, GT_HTTP_STREAM_MORE, s->arg); /* may write at once (then we are woken) */
	}
	return 0;
}

void
gt__http_streams_drain(gt_http *h)
{
	gt_http_stream *s, *next;

	gt_http_stream *list = NULL;

	pthread_mutex_lock(&h->lock);
	for (s = h->stream_wake; s != NULL; s = next) {
		next = s->wake_next;
		s->wake_queued = 0;
		s->drain_next = list;
		list = s;
	}
	h->stream_wake = NULL;
	pthread_mutex_unlock(&h->lock);
	for (s = list; s != NULL; s = next) {
		next = s->drain_next;
		if (s->conn != NULL)
			lws_callback_on_writable(s->conn->wsi);
		stream_release(s);
	}
}

void
gt__http_streams_fini(gt_http *h)
{
	gt_http_stream *s, *next;

	for (s = h->stream_wake; s != NULL; s = next) {
		next = s->wake_next;
		stream_release(s);
	}
	h->stream_wake = NULL;
}
