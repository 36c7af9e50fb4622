/* gt_http_conn.c - the response side of a connection (see gt_http_int.h): one response at a
 * time per connection, headers then the body in chunks (from memory or from a file), JSON
 * errors answered on the connection itself, the deadline for a handler's reply, and cutting
 * the links to a request when the connection closes. lws thread only, except
 * gt__http_body_copy and gt__http_error_json (any thread).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

#define HTTP_HDR_BUF 2048

/* Releases the response in progress and the access-log data. */
static void
conn_resp_reset(gt__http_conn *c)
{
	free(c->ctype);
	free(c->body);
	free(c->logpath);
	gt__http_file_release(c->file);
	c->ctype = NULL;
	c->body = NULL;
	c->logpath = NULL;
	c->file = NULL;
	c->resp_active = 0;
	c->hdr_sent = 0;
	c->len = c->off = 0;
	c->close_after = 0;
	c->xname[0] = c->xval[0] = '\0';
}

/* Starts writing a response whose body buffer (LWS_PRE headroom, may be NULL when len is 0)
 * is taken over by the connection. The request counts as served from here on (before any
 * byte is written, so a client that has read its answer sees it counted). */
void
gt__http_conn_start(gt__http_conn *c, int status, char *ctype, unsigned char *body, size_t len)
{
	gt_http *h = lws_context_user(lws_get_context(c->wsi));

	atomic_fetch_add(&h->requests, 1);
	lws_sul_cancel(&c->sul);
	c->status = status;
	c->ctype = ctype;
	c->body = body;
	c->len = len;
	c->off = 0;
	c->hdr_sent = 0;
	c->resp_active = 1;
	lws_callback_on_writable(c->wsi);
}

/* Copies data into a fresh buffer with LWS_PRE bytes of headroom. */
unsigned char *
gt__http_body_copy(const void *data, size_t len)
{
	unsigned char *b = malloc(LWS_PRE + len + 1);

	if (b != NULL && len > 0)
		memcpy(b + LWS_PRE, data, len);
	return b;
}

/* Writes {"error":{"code":N,"message":"..."}} into b. */
gt_err
gt__http_error_json(gt_buf *b, int status, const char *msg)
{
	gt_err rv;

	if ((rv = gt_buf_printf(b, "{\"error\":{\"code\":%d,\"message\":", status)) != GT_OK)
		return rv;
	if ((rv = gt_json_cstr(b, msg)) != GT_OK)
		return rv;
	return gt_buf_puts(b, "}}");
}

/* Answers on the connection itself (no handler involved): errors, preflight, 413...
 * extra_name/extra_val add one header. The request being read, if any, is freed. */
void
gt__http_conn_error(gt__http_conn *c, int status, int close_after, const char *extra_name,
                    const char *extra_val, const char *fmt, ...)
{
	char           msg[512];
	gt_buf         b;
	va_list        ap;
	unsigned char *body = NULL;
	size_t         len = 0;

	/* Format first: the arguments may point into the request freed below. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->req != NULL && !c->req->dispatched) {
		gt__http_req_free(c->req);
		c->req = NULL;
	}
	gt_buf_init(&b);
	if (gt__http_error_json(&b, status, msg) == GT_OK &&
	    (body = gt__http_body_copy(b.data, b.len)) != NULL)
		len = b.len;
	gt_buf_fini(&b);
	c->close_after = close_after;
	if (extra_name != NULL) {
		snprintf(c->xname, sizeof(c->xname), "%s", extra_name);
		snprintf(c->xval, sizeof(c->xval), "%s", extra_val);
	}
	gt__http_conn_start(c, status, strdup("application/json"), body, len);
}

/* Cuts the links between a connection and its request, frees the response in progress.
 * Idempotent: called from CLOSED_HTTP and HTTP_DROP_PROTOCOL. */
void
gt__http_conn_detach(gt_http *h, gt__http_conn *c)
{
	(void)h;
	if (c == NULL)
		return;
	lws_sul_cancel(&c->sul);
	if (c->stream != NULL)
		gt__http_stream_detach(h, c);
	if (c->req != NULL) {
		if (c->req->dispatched)
			c->req->conn =
			    NULL; /* the handler still owns it; its reply will be dropped */
		else
			gt__http_req_free(c->req);
		c->req = NULL;
	}
	conn_resp_reset(c);
}

/* Ends a finished response: access log, then keep-alive or close. Returns the value the
 * lws callback must return. */
static int
conn_finish(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	int     close_after = c->close_after;
	int64_t us = (gt_mono_ns() - c->t0) / GT_NS_PER_US;

	if (c->status >= 500)
		GT_LOGW("http.request", GT_KV_STR("method", c->method),
		        GT_KV_STR("path", c->logpath ? c->logpath : ""),
		        GT_KV_INT("status", c->status), GT_KV_INT("duration_us", us));
	else
		GT_LOGD("http.request", GT_KV_STR("method", c->method),
		        GT_KV_STR("path", c->logpath ? c->logpath : ""),
		        GT_KV_INT("status", c->status), GT_KV_INT("duration_us", us));
	conn_resp_reset(c);
	if (close_after)
		return -1;
	gt__http_track_busy(h, wsi, 0);
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/* LWS_CALLBACK_HTTP_WRITEABLE: headers first, then the body in chunks of GT__HTTP_CHUNK, one
 * lws_write per callback (a static file's chunks come from the file reader thread). */
int
gt__http_conn_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	unsigned char *p, *start, *end, *data;
	size_t         n;
	int            last;

	if (c == NULL || !c->resp_active)
		return 0;
	if (c->stream != NULL)
		return gt__http_stream_writeable(h, c, wsi);
	if (!c->hdr_sent) {
		unsigned char hb[LWS_PRE + HTTP_HDR_BUF];

		start = p = hb + LWS_PRE;
		end = hb + sizeof(hb) - 1;
		if (lws_add_http_common_headers(wsi, (unsigned int)c->status, c->ctype,
		                                (lws_filepos_t)c->len, &p, end))
			return -1;
		if (h->cors_origin != NULL &&
		    lws_add_http_header_by_name(
		        wsi, (const unsigned char *)"access-control-allow-origin:",
		        (const unsigned char *)h->cors_origin, (int)strlen(h->cors_origin), &p,
		        end))
			return -1;
		if (c->xname[0] != '\0' &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)c->xname,
		                                (const unsigned char *)c->xval,
		                                (int)strlen(c->xval), &p, end))
			return -1;
		if (c->close_after &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
		                                 (const unsigned char *)"close", 5, &p, end))
			return -1;
		if (lws_finalize_write_http_header(wsi, start, &p, end))
			return -1;
		c->hdr_sent = 1;
		if (c->head || c->len == 0)
			return conn_finish(h, c, wsi);
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->file != NULL) {
		int done, rv = gt__http_file_write(h, c, wsi, &done);

		if (rv != 0 || !done)
			return rv;
		return conn_finish(h, c, wsi);
	}
	n = c->len - c->off;
	if (n > GT__HTTP_CHUNK)
		n = GT__HTTP_CHUNK;
	data = c->body + LWS_PRE + c->off;
	last = c->off + n == c->len;
	if (lws_write(wsi, data, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	c->off += n;
	if (last)
		return conn_finish(h, c, wsi);
	lws_callback_on_writable(wsi);
	return 0;
}

/* ---------------------------------------------------------------- reply deadline */

/* lws_sul callback (lws thread): the handler has not replied in time. The connection gets
 * a 504; the request stays with its handler, whose late reply will be dropped. */
static void
conn_deadline(lws_sorted_usec_list_t *sul)
{
	gt__http_conn *c = lws_container_of(sul, gt__http_conn, sul);
	gt_http_req   *r = c->req;

	if (r == NULL || !r->dispatched || c->resp_active)
		return;
	GT_LOGW("http.timeout", GT_KV_UINT("request", r->id), GT_KV_STR("method", r->method),
	        GT_KV_STR("path", r->path));
	r->conn = NULL;
	c->req = NULL;
	gt__http_conn_error(c, 504, 0, NULL, NULL, "no reply within the deadline");
}

/* Arms the reply deadline for a request handed to a handler (still unanswered). lws's own
 * pending timeout would otherwise hang up silently after timeout_secs. */
void
gt__http_conn_arm_deadline(gt_http *h, gt__http_conn *c)
{
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	if (h->timeout_ns > 0)
		lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, conn_deadline,
		                 (lws_usec_t)(h->timeout_ns / GT_NS_PER_US));
}
