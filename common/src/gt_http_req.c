/* gt_http_req.c - requests (see gt_http_int.h): built on the lws thread from the parsed
 * headers and body, routed (404/405/401/503 answered on the connection, unmatched GET/HEAD to
 * the static root), handed to a handler on the lws thread or a worker, and answered exactly
 * once from any thread with gt_http_reply*(), which completes at once on the lws thread and
 * otherwise queues the reply for the lws thread's drain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

/* Request headers copied for handlers (gt_http_req_header). token < 0: custom header. */
typedef struct http_hdr_row {
	const char *name;   /* lowercase, as handlers ask for it */
	int         token;  /* WSI_TOKEN_* or -1 */
	const char *custom; /* "x-request-id:" for lws_hdr_custom_copy */
} http_hdr_row;

static const http_hdr_row hdr_table[GT__HTTP_HDR_COUNT] = {
    [GT__HTTP_HDR_ACCEPT] = {"accept", WSI_TOKEN_HTTP_ACCEPT, NULL},
    [GT__HTTP_HDR_CONTENT_TYPE] = {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE, NULL},
    [GT__HTTP_HDR_AUTHORIZATION] = {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION, NULL},
    [GT__HTTP_HDR_ORIGIN] = {"origin", WSI_TOKEN_ORIGIN, NULL},
    [GT__HTTP_HDR_HOST] = {"host", WSI_TOKEN_HOST, NULL},
    [GT__HTTP_HDR_USER_AGENT] = {"user-agent", WSI_TOKEN_HTTP_USER_AGENT, NULL},
    [GT__HTTP_HDR_IF_NONE_MATCH] = {"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH, NULL},
    [GT__HTTP_HDR_X_FORWARDED_FOR] = {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR, NULL},
    [GT__HTTP_HDR_X_REQUEST_ID] = {"x-request-id", -1, "x-request-id:"},
};

/* Methods lws recognises, in the order we probe for them. */
typedef struct http_method_row {
	const char *name;
	int         token;
} http_method_row;

static const http_method_row method_table[] = {
    {"GET", WSI_TOKEN_GET_URI},       {"POST", WSI_TOKEN_POST_URI},
    {"PUT", WSI_TOKEN_PUT_URI},       {"PATCH", WSI_TOKEN_PATCH_URI},
    {"DELETE", WSI_TOKEN_DELETE_URI}, {"OPTIONS", WSI_TOKEN_OPTIONS_URI},
    {"HEAD", WSI_TOKEN_HEAD_URI},
};

/* Any thread, before start (gt_http_route). */
int
gt__http_method_routable(const char *method)
{
	size_t i;

	for (i = 0; i < sizeof(method_table) / sizeof(method_table[0]); i++)
		if (strcmp(method, method_table[i].name) == 0)
			break;
	return i < sizeof(method_table) / sizeof(method_table[0]) && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

static char *
http_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------- requests */

/* Frees a request and whatever reply it still holds. Any thread that owns it. */
void
gt__http_req_free(gt_http_req *r)
{
	int i;

	if (r == NULL)
		return;
	free(r->path);
	gt__http_pairs_fini(&r->params);
	gt__http_pairs_fini(&r->query);
	for (i = 0; i < GT__HTTP_HDR_COUNT; i++)
		free(r->hdr[i]);
	gt_buf_fini(&r->body);
	free(r->ctype);
	free(r->rbody);
	free(r);
}

/* Any thread: the last of the handler call's and the reply's references frees r. */
void
gt__http_req_unref(gt_http_req *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1)
		gt__http_req_free(r);
}

/* lws thread: track a request handed to a handler (freed by gt_http_free if never replied). */
static void
live_add(gt_http *h, gt_http_req *r)
{
	r->live_prev = NULL;
	r->live_next = h->live;
	if (h->live != NULL)
		h->live->live_prev = r;
	h->live = r;
}

static void
live_remove(gt_http *h, gt_http_req *r)
{
	if (r->live_prev != NULL)
		r->live_prev->live_next = r->live_next;
	else if (h->live == r)
		h->live = r->live_next;
	if (r->live_next != NULL)
		r->live_next->live_prev = r->live_prev;
	r->live_prev = r->live_next = NULL;
}

/* lws thread: copies one header into *out (NULL when absent). */
static gt_err
req_copy_header(struct lws *wsi, const http_hdr_row *row, char **out)
{
	int   n;
	char *s;

	*out = NULL;
	if (row->token >= 0)
		n = lws_hdr_total_length(wsi, (enum lws_token_indexes)row->token);
	else
		n = lws_hdr_custom_length(wsi, row->custom, (int)strlen(row->custom));
	if (n <= 0)
		return GT_OK;
	if ((s = malloc((size_t)n + 1)) == NULL)
		return GT_ENOMEM;
	if (row->token >= 0)
		n = lws_hdr_copy(wsi, s, n + 1, (enum lws_token_indexes)row->token);
	else
		n = lws_hdr_custom_copy(wsi, s, n + 1, row->custom, (int)strlen(row->custom));
	if (n < 0) {
		free(s);
		return GT_OK;
	}
	*out = s;
	return GT_OK;
}

/* lws thread: copies the query arguments. lws has already split them on '&'/';' and
 * percent-decoded each "name=value" fragment ('+' -> ' '), so only the '=' split is left. */
static gt_err
req_copy_query(struct lws *wsi, gt__http_pairs *q)
{
	char buf[GT__HTTP_MAX_HEADER_DATA];
	int  i, n;

	for (i = 0;; i++) {
		const char *eq;
		gt_err      rv;

		n = lws_hdr_copy_fragment(wsi, buf, (int)sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
			break;
		if (n == 0)
			continue;
		eq = memchr(buf, '=', (size_t)n);
		if (eq != NULL)
			rv = gt__http_pairs_add(q, buf, (size_t)(eq - buf), eq + 1,
			                        (size_t)n - (size_t)(eq - buf) - 1);
		else
			rv = gt__http_pairs_add(q, buf, (size_t)n, "", 0);
		if (rv != GT_OK)
			return rv;
	}
	return GT_OK;
}

/* lws thread: builds a request from the parsed headers of wsi. */
static gt_err
req_new(gt_http *h, struct lws *wsi, const char *method, const char *path, gt_http_req **out)
{
	gt_http_req *r;
	gt_err       rv = GT_OK;
	int          i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return GT_ENOMEM;
	r->h = h;
	r->id = ++h->next_req_id;
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->head = strcmp(method, "HEAD") == 0;
	gt__http_pairs_init(&r->params);
	gt__http_pairs_init(&r->query);
	gt_buf_init(&r->body);
	atomic_init(&r->replied, 0);
	if ((r->path = strdup(path)) == NULL) {
		rv = GT_ENOMEM;
		goto fail;
	}
	for (i = 0; i < GT__HTTP_HDR_COUNT && rv == GT_OK; i++)
		rv = req_copy_header(wsi, &hdr_table[i], &r->hdr[i]);
	if (rv == GT_OK)
		rv = req_copy_query(wsi, &r->query);
	if (rv != GT_OK)
		goto fail;
	*out = r;
	return GT_OK;
fail:
	gt__http_req_free(r);
	return rv;
}

/* ---------------------------------------------------------------- routing (lws thread) */

/* Finds the route for r. Returns it (params filled) or NULL; *path_known says whether some
 * route matched the path with another method, allow lists those methods. */
static const gt__http_route_row *
route_find(gt_http *h, gt_http_req *r, int *path_known, char *allow, size_t allow_len, gt_err *err)
{
	const char *m = r->head ? "GET" : r->method;
	size_t      i, alen = 0;

	*path_known = 0;
	*err = GT_OK;
	allow[0] = '\0';
	for (i = 0; i < h->nroutes; i++) {
		const gt__http_route_row *rt = &h->routes[i];
		gt_err                    rv;

		rv = gt__http_route_match(rt->pattern, r->path, 0, &r->params);
		if (rv == GT_ENOENT)
			continue;
		if (rv != GT_OK) {
			*err = rv;
			return NULL;
		}
		if (strcmp(rt->method, m) == 0)
			return rt;
		gt__http_pairs_truncate(&r->params, 0);
		*path_known = 1;
		if (strstr(allow, rt->method) == NULL) {
			int w = snprintf(allow + alen, allow_len - alen, "%s%s", alen ? ", " : "",
			                 rt->method);

			if (w > 0 && (size_t)w < allow_len - alen)
				alen += (size_t)w;
		}
	}
	return NULL;
}

/* Routes a complete request (headers and body read). Takes r. */
static void
dispatch(gt_http *h, gt__http_conn *c, gt_http_req *r)
{
	const gt__http_route_row *rt;
	char                      allow[64];
	int                       path_known;
	gt_err                    rv;

	c->req = r;
	if (strcmp(r->method, "OPTIONS") == 0 && h->cors_origin != NULL) {
		gt__http_req_free(r);
		c->req = NULL;
		snprintf(c->xname, sizeof(c->xname), "access-control-allow-methods:");
		snprintf(c->xval, sizeof(c->xval), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
		gt__http_conn_start(c, 204, NULL, NULL, 0);
		return;
	}
	rt = route_find(h, r, &path_known, allow, sizeof(allow), &rv);
	if (rv != GT_OK) {
		gt__http_conn_error(c, rv == GT_ENOMEM ? 500 : 400, 0, NULL, NULL,
		                    "bad request path");
		return;
	}
	if (rt == NULL) {
		if (path_known) {
			gt__http_conn_error(c, 405, 0, "allow:", allow,
			                    "method %s not allowed for %s", r->method, r->path);
			return;
		}
		if (h->root_real != NULL && (strcmp(r->method, "GET") == 0 || r->head)) {
			gt__http_static_serve(h, c, r);
			return;
		}
		gt__http_conn_error(c, 404, 0, NULL, NULL, "no route for %s %s", r->method,
		                    r->path);
		return;
	}
	/* With a token every route is guarded but the GT_HTTP_OPEN ones (/health, /metrics). */
	if (h->token != NULL && !(rt->flags & GT_HTTP_OPEN) &&
	    !gt__http_bearer_ok(r->hdr[GT__HTTP_HDR_AUTHORIZATION], h->token)) {
		GT_LOGW("http.unauthorized", GT_KV_STR("method", r->method),
		        GT_KV_STR("path", r->path));
		gt__http_conn_error(c, 401, 0, "www-authenticate:", "Bearer",
		                    "missing or wrong token");
		return;
	}
	r->route = rt;
	r->conn = c;
	r->dispatched = 1;
	atomic_store(&r->refs, 2); /* the handler call's and the reply's */
	live_add(h, r);
	if (rt->flags & GT_HTTP_WORKER) {
		if ((rv = gt_queue_push(h->work, r, 0)) != GT_OK) {
			live_remove(h, r);
			r->dispatched = 0;
			GT_LOGW("http.busy", GT_KV_STR("path", r->path), GT_KV_ERR(rv));
			gt__http_conn_error(c, 503, 0, "retry-after:", "1", "server busy");
			return;
		}
		gt__http_conn_arm_deadline(h, c);
		return;
	}
	/* May reply before it returns (r stays valid until our reference is dropped below);
	 * c->req tells whether the reply is still to come. */
	rt->fn(r, rt->arg);
	if (c->req != NULL && !c->resp_active)
		gt__http_conn_arm_deadline(h, c);
	gt__http_req_unref(r);
}

/* Method name of the request on wsi, or NULL. */
static const char *
conn_method(struct lws *wsi)
{
	size_t i;

	for (i = 0; i < sizeof(method_table) / sizeof(method_table[0]); i++)
		if (lws_hdr_total_length(wsi, (enum lws_token_indexes)method_table[i].token) > 0)
			return method_table[i].name;
	return NULL;
}

/* LWS_CALLBACK_HTTP: the headers are in. Build the request; dispatch now or after the body. */
int
gt__http_conn_http(gt_http *h, gt__http_conn *c, struct lws *wsi, const char *uri)
{
	const char  *method = conn_method(wsi);
	gt_http_req *r = NULL;
	char         cl[32];
	gt_err       rv;

	c->wsi = wsi;
	c->t0 = gt_mono_ns();
	snprintf(c->method, sizeof(c->method), "%s", method != NULL ? method : "?");
	c->head = method != NULL && strcmp(method, "HEAD") == 0;
	free(c->logpath);
	c->logpath = http_strdup(uri != NULL ? uri : "");
	if (method == NULL || uri == NULL) {
		gt__http_track_busy(h, wsi, 1);
		gt__http_conn_error(c, 400, 1, NULL, NULL, "unsupported request");
		return 0;
	}
	gt__http_track_busy(h, wsi, 1);
	/* lws ends the request line at a CR or LF, even a decoded %0d/%0a, and then finds no
	 * "HTTP/1.x": the path it gives us is cut short, so refuse rather than route it. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP) <= 0) {
		gt__http_conn_error(c, 400, 1, NULL, NULL, "malformed request line");
		return 0;
	}
	for (const char *p = uri; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			/* e.g. %0d%0a decoded by lws: never a valid path */
			gt__http_conn_error(c, 400, 0, NULL, NULL, "control byte in the path");
			return 0;
		}
	if ((rv = req_new(h, wsi, method, uri, &r)) != GT_OK) {
		gt__http_conn_error(c, rv == GT_EFULL ? 400 : 500, 0, NULL, NULL, "%s",
		                    rv == GT_EFULL ? "too many query arguments" : "out of memory");
		return 0;
	}
	c->req = r;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		gt__http_conn_error(c, 411, 1, NULL, NULL,
		                    "chunked request bodies are not supported");
		return 0;
	}
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		char              *endp;
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, &endp, 10);
		if (errno != 0 || cl[0] < '0' || cl[0] > '9' || *endp != '\0') { /* digits only */
			gt__http_conn_error(c, 400, 1, NULL, NULL, "bad content-length");
			return 0;
		}
		if (v > h->max_body) {
			gt__http_conn_error(c, 413, 1, NULL, NULL,
			                    "body of %llu bytes exceeds the limit of %zu", v,
			                    h->max_body);
			return 0;
		}
		if (v > 0) {
			if (gt_buf_reserve(&r->body, (size_t)v) != GT_OK) {
				gt__http_conn_error(c, 500, 1, NULL, NULL, "out of memory");
				return 0;
			}
			return 0; /* the body follows: LWS_CALLBACK_HTTP_BODY */
		}
	}
	dispatch(h, c, r);
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY: one piece of the request body. */
int
gt__http_conn_body(gt_http *h, gt__http_conn *c, const void *in, size_t len)
{
	gt_http_req *r = c->req;

	if (r == NULL || r->dispatched || c->resp_active)
		return 0;
	if (r->body.len + len > h->max_body) {
		gt__http_conn_error(c, 413, 1, NULL, NULL, "body exceeds the limit of %zu bytes",
		                    h->max_body);
		return 0;
	}
	if (gt_buf_append(&r->body, in, len) != GT_OK) {
		gt__http_conn_error(c, 500, 1, NULL, NULL, "out of memory");
		return 0;
	}
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY_COMPLETION. */
int
gt__http_conn_body_done(gt_http *h, gt__http_conn *c)
{
	if (c->req != NULL && !c->req->dispatched && !c->resp_active)
		dispatch(h, c, c->req);
	return 0;
}

/* ---- request accessors: the thread holding the request ---- */

const char *
gt_http_req_method(gt_http_req *r)
{
	return r != NULL ? r->method : NULL;
}

const char *
gt_http_req_path(gt_http_req *r)
{
	return r != NULL ? r->path : NULL;
}

const char *
gt_http_req_param(gt_http_req *r, const char *name)
{
	return r != NULL ? gt__http_pairs_get(&r->params, name) : NULL;
}

const char *
gt_http_req_query(gt_http_req *r, const char *name)
{
	return r != NULL ? gt__http_pairs_get(&r->query, name) : NULL;
}

const char *
gt_http_req_header(gt_http_req *r, const char *name)
{
	int i;

	if (r == NULL || name == NULL)
		return NULL;
	for (i = 0; i < GT__HTTP_HDR_COUNT; i++)
		if (strcasecmp(hdr_table[i].name, name) == 0)
			return r->hdr[i];
	return NULL;
}

const void *
gt_http_req_body(gt_http_req *r, size_t *len)
{
	if (r == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = r->body.len;
	return r->body.len > 0 ? r->body.data : "";
}

int
gt_http_req_wants_protobuf(gt_http_req *r)
{
	return r != NULL && r->hdr[GT__HTTP_HDR_ACCEPT] != NULL &&
	       strstr(r->hdr[GT__HTTP_HDR_ACCEPT], "application/x-protobuf") != NULL;
}

/* ---- replies: any thread, exactly once ---- */

/* lws thread: moves a replied request's answer onto its connection and frees the request. */
void
gt__http_reply_complete(gt_http *h, gt_http_req *r)
{
	gt__http_conn *c = r->conn;

	live_remove(h, r);
	if (c == NULL || c->req != r) {
		GT_LOGD("http.reply_dropped", GT_KV_UINT("request", r->id),
		        GT_KV_STR("path", r->path));
		if (r->stream != NULL)
			gt__http_stream_attach(h, NULL, r->stream);
		gt__http_req_unref(r);
		return;
	}
	c->req = NULL;
	r->conn = NULL;
	c->head = r->head;
	if (r->stream != NULL)
		gt__http_stream_attach(h, c, r->stream);
	gt__http_conn_start(c, r->status, r->ctype, r->rbody, r->rlen);
	r->ctype = NULL;
	r->rbody = NULL;
	gt__http_req_unref(r);
}

/* Any thread. Copies the body; on the lws thread completes at once, elsewhere queues the
 * request and wakes the loop. */
gt_err
gt_http_reply(gt_http_req *r, int status, const char *content_type, const void *body, size_t len)
{
	gt_http *h;

	if (r == NULL)
		return GT_EINVAL;
	h = r->h;
	/* A second reply is refused while r is alive: during the handler call (its reference
	 * keeps r) or while the first reply is still queued (see gt_http_int.h). */
	if (atomic_exchange(&r->replied, 1) != 0) {
		GT_LOGW("http.double_reply", GT_KV_UINT("request", r->id),
		        GT_KV_STR("path", r->path));
		return GT_EEXIST;
	}
	if (status < 100 || status > 599)
		status = 500;
	r->status = status;
	r->ctype = strdup(content_type != NULL ? content_type : "application/octet-stream");
	r->rbody = gt__http_body_copy(body, len);
	r->rlen = len;
	if (r->ctype == NULL || r->rbody == NULL) {
		static const char oom[] =
		    "{\"error\":{\"code\":500,\"message\":\"out of memory\"}}";

		free(r->ctype);
		free(r->rbody);
		r->status = 500;
		r->ctype = NULL; /* lws sends no content-type; the body is still JSON */
		r->rbody = malloc(LWS_PRE + sizeof(oom));
		r->rlen = r->rbody != NULL ? sizeof(oom) - 1 : 0;
		if (r->rbody != NULL)
			memcpy(r->rbody + LWS_PRE, oom, sizeof(oom));
	}
	if (gt__http_on_loop(h)) {
		gt__http_reply_complete(h, r);
		return GT_OK;
	}
	pthread_mutex_lock(&h->lock);
	r->reply_next = NULL;
	if (h->replies_tail != NULL)
		h->replies_tail->reply_next = r;
	else
		h->replies_head = r;
	h->replies_tail = r;
	pthread_mutex_unlock(&h->lock);
	if (h->ctx != NULL)
		lws_cancel_service(h->ctx);
	return GT_OK;
}

gt_err
gt_http_reply_json(gt_http_req *r, int status, const gt_buf *json)
{
	return gt_http_reply(r, status, "application/json", json != NULL ? json->data : NULL,
	                     json != NULL ? json->len : 0);
}

gt_err
gt_http_error(gt_http_req *r, int status, const char *fmt, ...)
{
	char    msg[512];
	gt_buf  b;
	va_list ap;
	gt_err  rv;

	if (r == NULL)
		return GT_EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gt_buf_init(&b);
	if (gt__http_error_json(&b, status, msg) == GT_OK)
		rv = gt_http_reply(r, status, "application/json", b.data, b.len);
	else
		rv = gt_http_reply(r, 500, "application/json", NULL, 0);
	gt_buf_fini(&b);
	return rv;
}

/* gt_http_free, after every thread has stopped. */
void
gt__http_reqs_fini(gt_http *h)
{
	gt_http_req *r;

	/* Replies that arrived after the loop stopped, then requests never replied to. */
	r = h->replies_head;
	while (r != NULL) {
		gt_http_req *next = r->reply_next;

		live_remove(h, r);
		if (r->stream != NULL)
			gt__http_stream_attach(h, NULL, r->stream);
		gt__http_req_free(r);
		r = next;
	}
	h->replies_head = h->replies_tail = NULL;
	while ((r = h->live) != NULL) {
		live_remove(h, r);
		gt__http_req_free(r);
	}
}
