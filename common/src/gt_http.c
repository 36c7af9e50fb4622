/* gt_http.c - HTTP/1.1 + WebSocket server on libwebsockets 4.1 (see gt/gt_http.h).
 *
 * Threads
 *   - lws thread: runs lws_service(); owns every connection, the route table (read only after
 *     start), the list of live requests and every WebSocket client queue. All lws calls except
 *     lws_cancel_service() happen here.
 *   - worker threads: run GT_HTTP_WORKER handlers, fed by a bounded gt_queue.
 *   - any thread: gt_http_reply*() and gt_http_ws_broadcast()/_send() put their result on a
 *     mutex-protected list and wake the lws thread with lws_cancel_service(); the lws thread
 *     drains the lists in LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 *
 * Request lifetime
 *   A gt_http_req is created on the lws thread when the headers are complete, filled with
 *   copies of everything a handler may read (so it can travel to any thread), and handed to
 *   the handler. The lws thread frees it, and only when its reply has been drained, or in
 *   gt_http_free. Connections never cross threads: a request points at its connection
 *   (req->conn) and the connection at its request (conn->req); both links are lws-thread
 *   data and are cut when the connection closes, so a late reply finds req->conn == NULL and
 *   is dropped quietly.
 *
 * Keep-alive: lws frees and re-creates the per-session data (http_conn) after every
 *   transaction (lws_http_transaction_completed rebinds the protocol), so per-request state
 *   lives in http_conn and is cleared in conn_detach (CLOSED_HTTP / HTTP_DROP_PROTOCOL).
 */
#include "gt/gt_http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libwebsockets.h>

#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

#define HTTP_DEF_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEF_WORKERS 2
#define HTTP_MAX_WORKERS 64
#define HTTP_DEF_WS_QUEUE 256
#define HTTP_WORK_QUEUE_CAP 1024
#define HTTP_CHUNK 65536
#define HTTP_HDR_BUF 2048
#define HTTP_MAX_HEADER_DATA 8192
#define HTTP_HEADER_POOL 128
#define HTTP_WS_INBOX_MIN 1024
#define HTTP_WS_PROTOCOL "gt-ws"
#define HTTP_DEF_TIMEOUT_NS (30 * GT_NS_PER_S)

typedef struct http_route {
	char       method[8];
	char      *pattern;
	gt_http_fn fn;
	void      *arg;
	int        flags;
} http_route;

/* Request headers copied for handlers (gt_http_req_header). token < 0: custom header. */
enum {
	HDR_ACCEPT,
	HDR_CONTENT_TYPE,
	HDR_AUTHORIZATION,
	HDR_ORIGIN,
	HDR_HOST,
	HDR_USER_AGENT,
	HDR_IF_NONE_MATCH,
	HDR_X_FORWARDED_FOR,
	HDR_X_REQUEST_ID,
	HDR_COUNT
};

typedef struct http_hdr_row {
	const char *name;   /* lowercase, as handlers ask for it */
	int         token;  /* WSI_TOKEN_* or -1 */
	const char *custom; /* "x-request-id:" for lws_hdr_custom_copy */
} http_hdr_row;

static const http_hdr_row hdr_table[HDR_COUNT] = {
    [HDR_ACCEPT] = {"accept", WSI_TOKEN_HTTP_ACCEPT, NULL},
    [HDR_CONTENT_TYPE] = {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE, NULL},
    [HDR_AUTHORIZATION] = {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION, NULL},
    [HDR_ORIGIN] = {"origin", WSI_TOKEN_ORIGIN, NULL},
    [HDR_HOST] = {"host", WSI_TOKEN_HOST, NULL},
    [HDR_USER_AGENT] = {"user-agent", WSI_TOKEN_HTTP_USER_AGENT, NULL},
    [HDR_IF_NONE_MATCH] = {"if-none-match", WSI_TOKEN_HTTP_IF_NONE_MATCH, NULL},
    [HDR_X_FORWARDED_FOR] = {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR, NULL},
    [HDR_X_REQUEST_ID] = {"x-request-id", -1, "x-request-id:"},
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

typedef struct http_conn http_conn;

struct gt_http_req {
	gt_http          *h;
	uint64_t          id;
	char              method[8];
	char             *path;
	gt__http_pairs    params;
	gt__http_pairs    query;
	char             *hdr[HDR_COUNT];
	gt_buf            body;
	const http_route *route;
	int               head; /* HEAD: answer without a body */
	atomic_int        replied;
	/* the reply, written once by gt_http_reply (any thread) before it is queued */
	int            status;
	char          *ctype;
	unsigned char *rbody; /* LWS_PRE bytes of headroom, then rlen bytes */
	size_t         rlen;
	/* lws thread only */
	http_conn   *conn; /* NULL once the connection has gone */
	int          dispatched;
	gt_http_req *live_prev, *live_next;
	/* under h->lock */
	gt_http_req *reply_next;
};

/* A WebSocket message shared by every client queue it sits in. */
typedef struct ws_msg {
	struct ws_msg *next;   /* inbox link (under h->lock) */
	int            refs;   /* lws thread only once drained */
	uint64_t       target; /* 0 = broadcast */
	char          *topic;  /* NULL = every client */
	size_t         len;
	unsigned char  buf[]; /* LWS_PRE headroom, then len bytes */
} ws_msg;

typedef struct ws_client {
	uint64_t          id;
	struct lws       *wsi;
	void             *user;
	ws_msg          **ring;
	size_t            head, count;
	gt_buf            rx;
	struct ws_client *prev, *next; /* h->clients, changed under h->lock */
} ws_client;

/* Per-session data (lws allocates and zeroes it; re-created on every keep-alive turn). */
struct http_conn {
	struct lws  *wsi;
	gt_http_req *req; /* being read, or handed to a handler and awaiting its reply */
	/* response in progress */
	int            resp_active;
	int            hdr_sent;
	int            status;
	int            head;
	int            close_after;
	char          *ctype;
	unsigned char *body; /* LWS_PRE headroom */
	size_t         len, off;
	int            has_fd;
	int            fd;
	char           xname[32]; /* one extra header ("allow:", "www-authenticate:") */
	char           xval[96];
	/* for the access log */
	int64_t t0;
	char    method[8];
	char   *logpath;
	/* deadline for the handler's reply (lws_sul, lws thread) */
	lws_sorted_usec_list_t sul;
	/* WebSocket */
	ws_client *wc;
};

struct gt_http {
	/* configuration (owned copies) */
	char   *service;
	char   *bind;
	int     port;
	char   *root_real;
	char   *static_index;
	size_t  max_body;
	char   *cors_origin;
	char   *token;
	int     nworkers;
	int64_t timeout_ns;
	size_t  ws_queue_max;
	size_t  ws_inbox_max;

	http_route *routes;
	size_t      nroutes, routes_cap;

	char     *ws_path;
	gt_ws_ops ws_ops;
	void     *ws_arg;

	struct lws_protocols protocols[2];
	struct lws_context  *ctx;
	int                  bound_port;
	int                  started;

	pthread_t  thread;
	int        thread_up;
	pthread_t *workers;
	int        workers_up;
	gt_queue  *work;
	atomic_int stop;

	/* lws thread only */
	gt_http_req   *live;
	uint64_t       next_req_id;
	unsigned char *filebuf; /* LWS_PRE + HTTP_CHUNK for static files */

	/* shared, under lock */
	pthread_mutex_t lock;
	gt_http_req    *replies_head, *replies_tail;
	ws_msg         *inbox_head, *inbox_tail;
	size_t          inbox_len;
	ws_client      *clients;
	size_t          nclients;
	uint64_t        next_client_id;

	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t requests;
};

/* The gt_http whose lws thread this is (NULL elsewhere): tells gt_http_reply whether it
 * may complete the request in place. */
static _Thread_local gt_http *tl_loop;

static char *
http_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------- lws logging */

/* lws log lines go to gt_log at warn. Called on whatever thread lws logs from. */
static void
http_lws_log(int level, const char *line)
{
	char   buf[256];
	size_t n = strlen(line);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, line, n);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	GT_LOGW("http.lws", GT_KV_INT("lws_level", level), GT_KV_STR("line", buf));
}

static pthread_once_t http_log_once = PTHREAD_ONCE_INIT;

static void
http_log_setup(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, http_lws_log);
}

/* ---------------------------------------------------------------- requests */

/* Frees a request and whatever reply it still holds. Any thread that owns it. */
static void
req_free(gt_http_req *r)
{
	int i;

	if (r == NULL)
		return;
	free(r->path);
	gt__http_pairs_fini(&r->params);
	gt__http_pairs_fini(&r->query);
	for (i = 0; i < HDR_COUNT; i++)
		free(r->hdr[i]);
	gt_buf_fini(&r->body);
	free(r->ctype);
	free(r->rbody);
	free(r);
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
	char buf[HTTP_MAX_HEADER_DATA];
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
	for (i = 0; i < HDR_COUNT && rv == GT_OK; i++)
		rv = req_copy_header(wsi, &hdr_table[i], &r->hdr[i]);
	if (rv == GT_OK)
		rv = req_copy_query(wsi, &r->query);
	if (rv != GT_OK)
		goto fail;
	*out = r;
	return GT_OK;
fail:
	req_free(r);
	return rv;
}

/* ---------------------------------------------------------------- responses (lws thread) */

/* Releases the response in progress and the access-log data. */
static void
conn_resp_reset(http_conn *c)
{
	free(c->ctype);
	free(c->body);
	free(c->logpath);
	if (c->has_fd)
		close(c->fd);
	c->ctype = NULL;
	c->body = NULL;
	c->logpath = NULL;
	c->has_fd = 0;
	c->resp_active = 0;
	c->hdr_sent = 0;
	c->len = c->off = 0;
	c->close_after = 0;
	c->xname[0] = c->xval[0] = '\0';
}

/* Starts writing a response whose body buffer (LWS_PRE headroom, may be NULL when len is 0)
 * is taken over by the connection. The request counts as served from here on (before any
 * byte is written, so a client that has read its answer sees it counted). */
static void
conn_start(http_conn *c, int status, char *ctype, unsigned char *body, size_t len)
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
static unsigned char *
body_copy(const void *data, size_t len)
{
	unsigned char *b = malloc(LWS_PRE + len + 1);

	if (b != NULL && len > 0)
		memcpy(b + LWS_PRE, data, len);
	return b;
}

/* Writes {"error":{"code":N,"message":"..."}} into b. */
static gt_err
error_json(gt_buf *b, int status, const char *msg)
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
static void conn_error(http_conn *c, int status, int close_after, const char *extra_name,
                       const char *extra_val, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
conn_error(http_conn *c, int status, int close_after, const char *extra_name, const char *extra_val,
           const char *fmt, ...)
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
		req_free(c->req);
		c->req = NULL;
	}
	gt_buf_init(&b);
	if (error_json(&b, status, msg) == GT_OK && (body = body_copy(b.data, b.len)) != NULL)
		len = b.len;
	gt_buf_fini(&b);
	c->close_after = close_after;
	if (extra_name != NULL) {
		snprintf(c->xname, sizeof(c->xname), "%s", extra_name);
		snprintf(c->xval, sizeof(c->xval), "%s", extra_val);
	}
	conn_start(c, status, strdup("application/json"), body, len);
}

/* Cuts the links between a connection and its request, frees the response in progress.
 * Idempotent: called from CLOSED_HTTP and HTTP_DROP_PROTOCOL. */
static void
conn_detach(gt_http *h, http_conn *c)
{
	(void)h;
	if (c == NULL)
		return;
	lws_sul_cancel(&c->sul);
	if (c->req != NULL) {
		if (c->req->dispatched)
			c->req->conn =
			    NULL; /* the handler still owns it; its reply will be dropped */
		else
			req_free(c->req);
		c->req = NULL;
	}
	conn_resp_reset(c);
}

/* Moves a replied request's answer onto its connection and frees the request. */
static void
reply_complete(gt_http *h, gt_http_req *r)
{
	http_conn *c = r->conn;

	live_remove(h, r);
	if (c == NULL || c->req != r) {
		GT_LOGD("http.reply_dropped", GT_KV_UINT("request", r->id),
		        GT_KV_STR("path", r->path));
		req_free(r);
		return;
	}
	c->req = NULL;
	c->head = r->head;
	conn_start(c, r->status, r->ctype, r->rbody, r->rlen);
	r->ctype = NULL;
	r->rbody = NULL;
	req_free(r);
}

/* Ends a finished response: access log, then keep-alive or close. Returns the value the
 * lws callback must return. */
static int
conn_finish(gt_http *h, http_conn *c, struct lws *wsi)
{
	int     close_after = c->close_after;
	int64_t us = (gt_mono_ns() - c->t0) / GT_NS_PER_US;

	(void)h;
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
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/* LWS_CALLBACK_HTTP_WRITEABLE: headers first, then the body in chunks of HTTP_CHUNK, one
 * lws_write per callback. */
static int
conn_writeable(gt_http *h, http_conn *c, struct lws *wsi)
{
	unsigned char *p, *start, *end, *data;
	size_t         n;
	int            last;

	if (c == NULL || !c->resp_active)
		return 0;
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
	n = c->len - c->off;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	if (c->has_fd) {
		ssize_t got = pread(c->fd, h->filebuf + LWS_PRE, n, (off_t)c->off);

		if (got != (ssize_t)n) {
			GT_LOGW("http.static_read", GT_KV_STR("path", c->logpath ? c->logpath : ""),
			        GT_KV_INT("errno", got < 0 ? errno : 0));
			return -1;
		}
		data = h->filebuf + LWS_PRE;
	} else {
		data = c->body + LWS_PRE + c->off;
	}
	last = c->off + n == c->len;
	if (lws_write(wsi, data, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	c->off += n;
	if (last)
		return conn_finish(h, c, wsi);
	lws_callback_on_writable(wsi);
	return 0;
}

/* ---------------------------------------------------------------- routing (lws thread) */

static int
accepts_html(const gt_http_req *r)
{
	return r->hdr[HDR_ACCEPT] != NULL && strstr(r->hdr[HDR_ACCEPT], "text/html") != NULL;
}

/* Serves a GET/HEAD that no route matched from the static root. */
static void
static_serve(gt_http *h, http_conn *c, gt_http_req *r)
{
	char        file[PATH_MAX];
	struct stat st;
	gt_err      rv;
	int         fd;

	rv = gt__http_static_resolve(h->root_real, r->path, h->static_index, 0, file, sizeof(file));
	/* SPA fallback: a browser navigating to a client-side route gets the index. */
	if (rv == GT_ENOENT && !gt__http_path_has_ext(r->path) && accepts_html(r))
		rv = gt__http_static_resolve(h->root_real, "/", h->static_index, 0, file,
		                             sizeof(file));
	if (rv == GT_EINVAL) {
		GT_LOGW("http.static_refused", GT_KV_STR("path", r->path));
		conn_error(c, 400, 0, NULL, NULL, "invalid path");
		return;
	}
	if (rv != GT_OK) {
		conn_error(c, 404, 0, NULL, NULL, "not found: %s", r->path);
		return;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		conn_error(c, 404, 0, NULL, NULL, "not found: %s", r->path);
		return;
	}
	c->head = r->head;
	req_free(r);
	c->req = NULL;
	c->has_fd = 1;
	c->fd = fd;
	conn_start(c, 200, strdup(gt__http_content_type(file)), NULL, (size_t)st.st_size);
}

/* Finds the route for r. Returns it (params filled) or NULL; *path_known says whether some
 * route matched the path with another method, allow lists those methods. */
static const http_route *
route_find(gt_http *h, gt_http_req *r, int *path_known, char *allow, size_t allow_len, gt_err *err)
{
	const char *m = r->head ? "GET" : r->method;
	size_t      i, alen = 0;

	*path_known = 0;
	*err = GT_OK;
	allow[0] = '\0';
	for (i = 0; i < h->nroutes; i++) {
		const http_route *rt = &h->routes[i];
		gt_err            rv;

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

/* lws_sul callback (lws thread): the handler has not replied in time. The connection gets
 * a 504; the request stays with its handler, whose late reply will be dropped. */
static void
conn_deadline(lws_sorted_usec_list_t *sul)
{
	http_conn   *c = lws_container_of(sul, http_conn, sul);
	gt_http_req *r = c->req;

	if (r == NULL || !r->dispatched || c->resp_active)
		return;
	GT_LOGW("http.timeout", GT_KV_UINT("request", r->id), GT_KV_STR("method", r->method),
	        GT_KV_STR("path", r->path));
	r->conn = NULL;
	c->req = NULL;
	conn_error(c, 504, 0, NULL, NULL, "no reply within the deadline");
}

/* Arms the reply deadline for a request handed to a handler (still unanswered). lws's own
 * pending timeout would otherwise hang up silently after timeout_secs. */
static void
conn_arm_deadline(gt_http *h, http_conn *c)
{
	lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
	if (h->timeout_ns > 0)
		lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, conn_deadline,
		                 (lws_usec_t)(h->timeout_ns / GT_NS_PER_US));
}

/* Routes a complete request (headers and body read). Takes r. */
static void
dispatch(gt_http *h, http_conn *c, gt_http_req *r)
{
	const http_route *rt;
	char              allow[64];
	int               path_known;
	gt_err            rv;

	c->req = r;
	if (strcmp(r->method, "OPTIONS") == 0 && h->cors_origin != NULL) {
		req_free(r);
		c->req = NULL;
		snprintf(c->xname, sizeof(c->xname), "access-control-allow-methods:");
		snprintf(c->xval, sizeof(c->xval), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
		conn_start(c, 204, NULL, NULL, 0);
		return;
	}
	rt = route_find(h, r, &path_known, allow, sizeof(allow), &rv);
	if (rv != GT_OK) {
		conn_error(c, rv == GT_ENOMEM ? 500 : 400, 0, NULL, NULL, "bad request path");
		return;
	}
	if (rt == NULL) {
		if (path_known) {
			conn_error(c, 405, 0, "allow:", allow, "method %s not allowed for %s",
			           r->method, r->path);
			return;
		}
		if (h->root_real != NULL && (strcmp(r->method, "GET") == 0 || r->head)) {
			static_serve(h, c, r);
			return;
		}
		conn_error(c, 404, 0, NULL, NULL, "no route for %s %s", r->method, r->path);
		return;
	}
	if ((rt->flags & GT_HTTP_ADMIN) && h->token != NULL &&
	    !gt__http_bearer_ok(r->hdr[HDR_AUTHORIZATION], h->token)) {
		GT_LOGW("http.unauthorized", GT_KV_STR("method", r->method),
		        GT_KV_STR("path", r->path));
		conn_error(c, 401, 0, "www-authenticate:", "Bearer", "missing or wrong token");
		return;
	}
	r->route = rt;
	r->conn = c;
	r->dispatched = 1;
	live_add(h, r);
	if (rt->flags & GT_HTTP_WORKER) {
		if ((rv = gt_queue_push(h->work, r, 0)) != GT_OK) {
			live_remove(h, r);
			r->dispatched = 0;
			GT_LOGW("http.busy", GT_KV_STR("path", r->path), GT_KV_ERR(rv));
			conn_error(c, 503, 0, "retry-after:", "1", "server busy");
			return;
		}
		conn_arm_deadline(h, c);
		return;
	}
	/* May reply (and so free r) before it returns: r is not touched afterwards, and
	 * c->req tells whether the reply is still to come. */
	rt->fn(r, rt->arg);
	if (c->req != NULL && !c->resp_active)
		conn_arm_deadline(h, c);
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
static int
conn_http(gt_http *h, http_conn *c, struct lws *wsi, const char *uri)
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
		conn_error(c, 400, 1, NULL, NULL, "unsupported request");
		return 0;
	}
	if ((rv = req_new(h, wsi, method, uri, &r)) != GT_OK) {
		conn_error(c, rv == GT_EFULL ? 400 : 500, 0, NULL, NULL, "%s",
		           rv == GT_EFULL ? "too many query arguments" : "out of memory");
		return 0;
	}
	c->req = r;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		conn_error(c, 411, 1, NULL, NULL, "chunked request bodies are not supported");
		return 0;
	}
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		char              *endp;
		unsigned long long v;

		errno = 0;
		v = strtoull(cl, &endp, 10);
		if (errno != 0 || endp == cl || *endp != '\0') {
			conn_error(c, 400, 1, NULL, NULL, "bad content-length");
			return 0;
		}
		if (v > h->max_body) {
			conn_error(c, 413, 1, NULL, NULL,
			           "body of %llu bytes exceeds the limit of %zu", v, h->max_body);
			return 0;
		}
		if (v > 0) {
			if (gt_buf_reserve(&r->body, (size_t)v) != GT_OK) {
				conn_error(c, 500, 1, NULL, NULL, "out of memory");
				return 0;
			}
			return 0; /* the body follows: LWS_CALLBACK_HTTP_BODY */
		}
	}
	dispatch(h, c, r);
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY: one piece of the request body. */
static int
conn_body(gt_http *h, http_conn *c, const void *in, size_t len)
{
	gt_http_req *r = c->req;

	if (r == NULL || r->dispatched || c->resp_active)
		return 0;
	if (r->body.len + len > h->max_body) {
		conn_error(c, 413, 1, NULL, NULL, "body exceeds the limit of %zu bytes",
		           h->max_body);
		return 0;
	}
	if (gt_buf_append(&r->body, in, len) != GT_OK) {
		conn_error(c, 500, 1, NULL, NULL, "out of memory");
		return 0;
	}
	return 0;
}

/* LWS_CALLBACK_HTTP_BODY_COMPLETION. */
static int
conn_body_done(gt_http *h, http_conn *c)
{
	if (c->req != NULL && !c->req->dispatched && !c->resp_active)
		dispatch(h, c, c->req);
	return 0;
}

/* ---------------------------------------------------------------- WebSocket (lws thread) */

static ws_msg *
ws_msg_new(const char *topic, const void *data, size_t len, uint64_t target)
{
	ws_msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

	if (m == NULL)
		return NULL;
	m->next = NULL;
	m->refs = 1;
	m->target = target;
	m->len = len;
	m->topic = NULL;
	if (topic != NULL && (m->topic = strdup(topic)) == NULL) {
		free(m);
		return NULL;
	}
	if (len > 0)
		memcpy(m->buf + LWS_PRE, data, len);
	return m;
}

static void
ws_msg_unref(ws_msg *m)
{
	if (m != NULL && --m->refs == 0) {
		free(m->topic);
		free(m);
	}
}

/* Queues m for client w, dropping (and counting) the oldest message when full. */
static void
ws_enqueue(gt_http *h, ws_client *w, ws_msg *m)
{
	if (w->count == h->ws_queue_max) {
		ws_msg_unref(w->ring[w->head]);
		w->head = (w->head + 1) % h->ws_queue_max;
		w->count--;
		atomic_fetch_add(&h->dropped, 1);
	}
	w->ring[(w->head + w->count) % h->ws_queue_max] = m;
	m->refs++;
	w->count++;
	lws_callback_on_writable(w->wsi);
}

/* Delivers one drained inbox message to the clients that want it. */
static void
ws_deliver(gt_http *h, ws_msg *m)
{
	ws_client *w;

	/* The list only changes on this thread, so reading it without the lock is safe. */
	for (w = h->clients; w != NULL; w = w->next) {
		if (m->target != 0) {
			if (w->id != m->target)
				continue;
		} else if (m->topic != NULL && h->ws_ops.want != NULL &&
		           !h->ws_ops.want(w->user, m->topic, h->ws_arg)) {
			continue;
		}
		ws_enqueue(h, w, m);
	}
	ws_msg_unref(m);
}

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: accept the upgrade only on the configured path. */
static int
ws_filter(gt_http *h, struct lws *wsi)
{
	char uri[256];

	if (h->ws_path == NULL)
		return 1;
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return 1;
	return strcmp(uri, h->ws_path) != 0;
}

/* LWS_CALLBACK_ESTABLISHED. */
static int
ws_open(gt_http *h, http_conn *c, struct lws *wsi)
{
	ws_client *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->ring = calloc(h->ws_queue_max, sizeof(*w->ring))) == NULL) {
		free(w);
		return -1;
	}
	w->wsi = wsi;
	gt_buf_init(&w->rx);
	pthread_mutex_lock(&h->lock);
	w->id = ++h->next_client_id;
	w->next = h->clients;
	if (h->clients != NULL)
		h->clients->prev = w;
	h->clients = w;
	h->nclients++;
	pthread_mutex_unlock(&h->lock);
	c->wsi = wsi;
	c->wc = w;
	if (h->ws_ops.open != NULL)
		w->user = h->ws_ops.open(w->id, h->ws_arg);
	GT_LOGD("http.ws_open", GT_KV_UINT("client", w->id));
	return 0;
}

/* LWS_CALLBACK_CLOSED (and context teardown). */
static void
ws_close(gt_http *h, http_conn *c)
{
	ws_client *w = c != NULL ? c->wc : NULL;

	if (w == NULL)
		return;
	c->wc = NULL;
	if (h->ws_ops.close != NULL)
		h->ws_ops.close(w->id, w->user, h->ws_arg);
	pthread_mutex_lock(&h->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		h->clients = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	h->nclients--;
	pthread_mutex_unlock(&h->lock);
	while (w->count > 0) {
		ws_msg_unref(w->ring[w->head]);
		w->head = (w->head + 1) % h->ws_queue_max;
		w->count--;
	}
	GT_LOGD("http.ws_close", GT_KV_UINT("client", w->id));
	free(w->ring);
	gt_buf_fini(&w->rx);
	free(w);
}

/* LWS_CALLBACK_RECEIVE: gather fragments, hand whole messages to ops->message. */
static int
ws_receive(gt_http *h, http_conn *c, struct lws *wsi, const void *in, size_t len)
{
	ws_client *w = c != NULL ? c->wc : NULL;

	if (w == NULL)
		return -1;
	if (w->rx.len + len > h->max_body) {
		static const char why[] = "message too large";

		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
		                 sizeof(why) - 1);
		return -1;
	}
	if (gt_buf_append(&w->rx, in, len) != GT_OK)
		return -1;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
		return 0;
	if (h->ws_ops.message != NULL)
		h->ws_ops.message(w->id, w->user, w->rx.data, w->rx.len, h->ws_arg);
	gt_buf_reset(&w->rx);
	return 0;
}

/* LWS_CALLBACK_SERVER_WRITEABLE: one queued message per callback. */
static int
ws_writeable(gt_http *h, http_conn *c, struct lws *wsi)
{
	ws_client *w = c != NULL ? c->wc : NULL;
	ws_msg    *m;
	int        n;

	if (w == NULL || w->count == 0)
		return 0;
	m = w->ring[w->head];
	w->ring[w->head] = NULL;
	w->head = (w->head + 1) % h->ws_queue_max;
	w->count--;
	n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	if (n < (int)m->len) {
		ws_msg_unref(m);
		return -1;
	}
	ws_msg_unref(m);
	if (w->count > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---------------------------------------------------------------- cross-thread hand-off */

/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain replies and WebSocket messages. */
static void
drain(gt_http *h)
{
	gt_http_req *r;
	ws_msg      *m;

	pthread_mutex_lock(&h->lock);
	r = h->replies_head;
	h->replies_head = h->replies_tail = NULL;
	m = h->inbox_head;
	h->inbox_head = h->inbox_tail = NULL;
	h->inbox_len = 0;
	pthread_mutex_unlock(&h->lock);
	while (r != NULL) {
		gt_http_req *next = r->reply_next;

		reply_complete(h, r);
		r = next;
	}
	while (m != NULL) {
		ws_msg *next = m->next;

		ws_deliver(h, m);
		m = next;
	}
}

/* The one protocol: WebSocket endpoint and (falling through to the dummy) plain HTTP. */
static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = wsi != NULL ? lws_get_context(wsi) : NULL;
	gt_http            *h = ctx != NULL ? lws_context_user(ctx) : NULL;
	http_conn          *c = user;

	if (h == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (c == NULL)
			return -1;
		return conn_http(h, c, wsi, in);
	case LWS_CALLBACK_HTTP_BODY:
		return c != NULL ? conn_body(h, c, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return c != NULL ? conn_body_done(h, c) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return conn_writeable(h, c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		conn_detach(h, c);
		break;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(h, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return c != NULL ? ws_open(h, c, wsi) : -1;
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(h, c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(h, c, wsi);
	case LWS_CALLBACK_CLOSED:
		ws_close(h, c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		drain(h);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---------------------------------------------------------------- threads */

/* The lws service thread. */
static void *
http_thread(void *arg)
{
	gt_http *h = arg;

	tl_loop = h;
	while (!atomic_load(&h->stop))
		if (lws_service(h->ctx, 0) < 0)
			break;
	tl_loop = NULL;
	return NULL;
}

/* A worker thread: runs GT_HTTP_WORKER handlers until the queue closes. Requests still
 * queued at shutdown are skipped (gt_http_free frees them). */
static void *
http_worker(void *arg)
{
	gt_http *h = arg;
	void    *item;

	while (gt_queue_pop(h->work, &item, -1) == GT_OK) {
		gt_http_req *r = item;

		if (atomic_load(&h->stop))
			continue;
		r->route->fn(r, r->route->arg);
	}
	return NULL;
}

/* ---------------------------------------------------------------- public API */

/* Any thread (before start): allocates the server and copies cfg. */
gt_err
gt_http_new(gt_http **out, const gt_http_cfg *cfg)
{
	gt_http *h;
	char     real[PATH_MAX];

	if (out == NULL || cfg == NULL || cfg->port < 0 || cfg->port > 65535 || cfg->workers < 0 ||
	    cfg->workers > HTTP_MAX_WORKERS)
		return GT_EINVAL;
	if (cfg->static_index != NULL &&
	    (cfg->static_index[0] == '\0' || strchr(cfg->static_index, '/') != NULL))
		return GT_EINVAL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return GT_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->stop, 0);
	atomic_init(&h->dropped, 0);
	atomic_init(&h->requests, 0);
	h->port = cfg->port;
	h->max_body = cfg->max_body ? cfg->max_body : HTTP_DEF_MAX_BODY;
	h->nworkers = cfg->workers ? cfg->workers : HTTP_DEF_WORKERS;
	h->timeout_ns = HTTP_DEF_TIMEOUT_NS;
	h->ws_queue_max = cfg->ws_queue_max ? cfg->ws_queue_max : HTTP_DEF_WS_QUEUE;
	h->ws_inbox_max =
	    h->ws_queue_max * 4 > HTTP_WS_INBOX_MIN ? h->ws_queue_max * 4 : HTTP_WS_INBOX_MIN;
	if ((h->service = strdup(cfg->service ? cfg->service : "http")) == NULL ||
	    (cfg->bind != NULL && (h->bind = strdup(cfg->bind)) == NULL) ||
	    (h->static_index = strdup(cfg->static_index ? cfg->static_index : "index.html")) ==
	        NULL ||
	    (cfg->cors_origin != NULL && (h->cors_origin = strdup(cfg->cors_origin)) == NULL) ||
	    (cfg->token != NULL && cfg->token[0] != '\0' &&
	     (h->token = strdup(cfg->token)) == NULL))
		goto fail_nomem;
	if (cfg->static_root != NULL && cfg->static_root[0] != '\0') {
		if (realpath(cfg->static_root, real) == NULL) {
			GT_LOGW("http.static_root", GT_KV_STR("path", cfg->static_root),
			        GT_KV_INT("errno", errno));
			gt_http_free(h);
			return GT_ENOENT;
		}
		if ((h->root_real = strdup(real)) == NULL)
			goto fail_nomem;
	}
	*out = h;
	return GT_OK;
fail_nomem:
	gt_http_free(h);
	return GT_ENOMEM;
}

/* Any thread, before start. */
gt_err
gt_http_route(gt_http *h, const char *method, const char *pattern, gt_http_fn fn, void *arg,
              int flags)
{
	http_route *rt;
	size_t      i;

	if (h == NULL || method == NULL || pattern == NULL || fn == NULL || h->started)
		return GT_EINVAL;
	for (i = 0; i < sizeof(method_table) / sizeof(method_table[0]); i++)
		if (strcmp(method, method_table[i].name) == 0)
			break;
	if (i == sizeof(method_table) / sizeof(method_table[0]) || strcmp(method, "HEAD") == 0 ||
	    strcmp(method, "OPTIONS") == 0)
		return GT_EINVAL;
	if (gt__http_pattern_check(pattern) != GT_OK)
		return GT_EINVAL;
	if (h->nroutes == h->routes_cap) {
		size_t      ncap = h->routes_cap ? h->routes_cap * 2 : 16;
		http_route *nr = realloc(h->routes, ncap * sizeof(*nr));

		if (nr == NULL)
			return GT_ENOMEM;
		h->routes = nr;
		h->routes_cap = ncap;
	}
	rt = &h->routes[h->nroutes];
	memset(rt, 0, sizeof(*rt));
	snprintf(rt->method, sizeof(rt->method), "%s", method);
	if ((rt->pattern = strdup(pattern)) == NULL)
		return GT_ENOMEM;
	rt->fn = fn;
	rt->arg = arg;
	rt->flags = flags;
	h->nroutes++;
	return GT_OK;
}

/* Any thread, before start. */
gt_err
gt_http_set_timeout(gt_http *h, int64_t ns)
{
	if (h == NULL || ns < 0 || h->started)
		return GT_EINVAL;
	h->timeout_ns = ns;
	return GT_OK;
}

/* Any thread, before start. */
gt_err
gt_http_ws(gt_http *h, const char *path, const gt_ws_ops *ops, void *arg)
{
	char *p;

	if (h == NULL || path == NULL || path[0] != '/' || h->started || strlen(path) >= 255)
		return GT_EINVAL;
	if ((p = strdup(path)) == NULL)
		return GT_ENOMEM;
	free(h->ws_path);
	h->ws_path = p;
	memset(&h->ws_ops, 0, sizeof(h->ws_ops));
	if (ops != NULL)
		h->ws_ops = *ops;
	h->ws_arg = arg;
	return GT_OK;
}

/* Checks that bind:port can be bound (SO_REUSEADDR, like lws) before lws tries: lws 4.1.6
 * leaks when lws_create_context fails, and this way the log says why. Returns 0 or errno.
 * Interface names and port 0 are not probed. */
static int
bind_probe(const char *bind_addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t               sl;
	int                     fd, one = 1, err = 0;

	if (port == 0)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (bind_addr == NULL || bind_addr[0] == '\0' || strcmp(bind_addr, "::") == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a);
	} else if (strchr(bind_addr, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, bind_addr, &a->sin6_addr) != 1)
			return 0;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (strcmp(bind_addr, "0.0.0.0") == 0)
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, bind_addr, &a->sin_addr) != 1)
			return 0;
		sl = sizeof(*a);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno == EAFNOSUPPORT ? 0 : errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		err = errno;
	close(fd);
	return err;
}

/* The thread that created h: binds, then starts the workers and the lws thread. */
gt_err
gt_http_start(gt_http *h)
{
	struct lws_context_creation_info info;
	struct lws_vhost                *vh;
	gt_err                           rv;
	int                              i, err;

	if (h == NULL || h->started)
		return GT_EINVAL;
	pthread_once(&http_log_once, http_log_setup);
	if ((h->filebuf = malloc(LWS_PRE + HTTP_CHUNK)) == NULL)
		return GT_ENOMEM;
	h->protocols[0] = (struct lws_protocols){
	    .name = HTTP_WS_PROTOCOL,
	    .callback = http_callback,
	    .per_session_data_size = sizeof(http_conn),
	    .rx_buffer_size = 0,
	};
	memset(&h->protocols[1], 0, sizeof(h->protocols[1]));

	memset(&info, 0, sizeof(info));
	info.port = h->port;
	info.protocols = h->protocols;
	info.user = h;
	info.vhost_name = "default";
	info.server_string = h->service;
	info.max_http_header_data = HTTP_MAX_HEADER_DATA;
	info.max_http_header_pool = HTTP_HEADER_POOL;
	info.count_threads = 1;
	info.timeout_secs = 20;
	info.keepalive_timeout = 30;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (h->bind != NULL && h->bind[0] != '\0') {
		if (strchr(h->bind, ':') != NULL) {
			if (strcmp(h->bind, "::") != 0)
				info.iface = h->bind;
		} else {
			/* lws 4.1 ignores an IPv4 iface unless IPv6 is off (TOOLCHAIN.md). */
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
			if (strcmp(h->bind, "0.0.0.0") != 0)
				info.iface = h->bind;
		}
	}
	if ((err = bind_probe(h->bind, h->port)) != 0) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port), GT_KV_STR("reason", strerror(err)));
		return GT_EIO;
	}
	if ((h->ctx = lws_create_context(&info)) == NULL) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port));
		return GT_EIO;
	}
	if ((vh = lws_get_vhost_by_name(h->ctx, "default")) == NULL ||
	    (h->bound_port = lws_get_vhost_listen_port(vh)) <= 0) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port));
		return GT_EIO;
	}
	h->started = 1;
	if ((rv = gt_queue_new(&h->work, HTTP_WORK_QUEUE_CAP)) != GT_OK)
		return rv;
	if ((h->workers = calloc((size_t)h->nworkers, sizeof(*h->workers))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < h->nworkers; i++) {
		if ((err = pthread_create(&h->workers[i], NULL, http_worker, h)) != 0)
			return gt_err_from_errno(err);
		h->workers_up++;
	}
	if ((err = pthread_create(&h->thread, NULL, http_thread, h)) != 0)
		return gt_err_from_errno(err);
	h->thread_up = 1;
	GT_LOGI("http.listen", GT_KV_STR("bind", h->bind ? h->bind : "*"),
	        GT_KV_INT("port", h->bound_port), GT_KV_STR("static_root", h->root_real),
	        GT_KV_STR("ws", h->ws_path));
	return GT_OK;
}

int
gt_http_port(gt_http *h)
{
	return h != NULL ? h->bound_port : -1;
}

/* Not from a handler: joins the workers, then the lws thread, destroys the context (the
 * remaining connections' close callbacks, including ops->close, run on this thread) and
 * frees every request still waiting for a reply. Deferred repliers on other threads must
 * have stopped before this call. */
void
gt_http_free(gt_http *h)
{
	gt_http_req *r;
	ws_msg      *m;
	size_t       i;
	int          k;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	if (h->work != NULL)
		gt_queue_close(h->work);
	for (k = 0; k < h->workers_up; k++)
		pthread_join(h->workers[k], NULL);
	if (h->ctx != NULL)
		lws_cancel_service(h->ctx);
	if (h->thread_up)
		pthread_join(h->thread, NULL);
	if (h->ctx != NULL)
		lws_context_destroy(h->ctx);
	/* Replies that arrived after the loop stopped, then requests never replied to. */
	r = h->replies_head;
	while (r != NULL) {
		gt_http_req *next = r->reply_next;

		live_remove(h, r);
		req_free(r);
		r = next;
	}
	while ((r = h->live) != NULL) {
		live_remove(h, r);
		req_free(r);
	}
	for (m = h->inbox_head; m != NULL;) {
		ws_msg *next = m->next;

		ws_msg_unref(m);
		m = next;
	}
	if (h->work != NULL)
		gt_queue_free(h->work);
	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i].pattern);
	free(h->routes);
	free(h->workers);
	free(h->filebuf);
	free(h->ws_path);
	free(h->service);
	free(h->bind);
	free(h->root_real);
	free(h->static_index);
	free(h->cors_origin);
	free(h->token);
	pthread_mutex_destroy(&h->lock);
	free(h);
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
	for (i = 0; i < HDR_COUNT; i++)
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
	return r != NULL && r->hdr[HDR_ACCEPT] != NULL &&
	       strstr(r->hdr[HDR_ACCEPT], "application/x-protobuf") != NULL;
}

/* ---- replies: any thread, exactly once ---- */

/* Any thread. Copies the body; on the lws thread completes at once, elsewhere queues the
 * request and wakes the loop. */
void
gt_http_reply(gt_http_req *r, int status, const char *content_type, const void *body, size_t len)
{
	gt_http *h;

	if (r == NULL)
		return;
	h = r->h;
	if (atomic_exchange(&r->replied, 1) != 0) {
		GT_LOGW("http.double_reply", GT_KV_UINT("request", r->id),
		        GT_KV_STR("path", r->path));
		return;
	}
	if (status < 100 || status > 599)
		status = 500;
	r->status = status;
	r->ctype = strdup(content_type != NULL ? content_type : "application/octet-stream");
	r->rbody = body_copy(body, len);
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
	if (tl_loop == h) {
		reply_complete(h, r);
		return;
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
}

void
gt_http_reply_json(gt_http_req *r, int status, const gt_buf *json)
{
	gt_http_reply(r, status, "application/json", json != NULL ? json->data : NULL,
	              json != NULL ? json->len : 0);
}

void
gt_http_error(gt_http_req *r, int status, const char *fmt, ...)
{
	char    msg[512];
	gt_buf  b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gt_buf_init(&b);
	if (error_json(&b, status, msg) == GT_OK)
		gt_http_reply(r, status, "application/json", b.data, b.len);
	else
		gt_http_reply(r, 500, "application/json", NULL, 0);
	gt_buf_fini(&b);
}

/* ---- WebSocket: any thread ---- */

/* Appends m to the inbox (dropping the oldest when full) and wakes the loop. */
static gt_err
ws_post(gt_http *h, ws_msg *m, uint64_t target)
{
	ws_msg *old = NULL;

	pthread_mutex_lock(&h->lock);
	if (target != 0) {
		ws_client *w;

		for (w = h->clients; w != NULL && w->id != target; w = w->next)
			;
		if (w == NULL) {
			pthread_mutex_unlock(&h->lock);
			ws_msg_unref(m);
			return GT_ENOENT;
		}
	}
	if (h->inbox_len >= h->ws_inbox_max) {
		old = h->inbox_head;
		h->inbox_head = old->next;
		if (h->inbox_head == NULL)
			h->inbox_tail = NULL;
		h->inbox_len--;
		atomic_fetch_add(&h->dropped, 1);
	}
	if (h->inbox_tail != NULL)
		h->inbox_tail->next = m;
	else
		h->inbox_head = m;
	h->inbox_tail = m;
	h->inbox_len++;
	pthread_mutex_unlock(&h->lock);
	ws_msg_unref(old);
	lws_cancel_service(h->ctx);
	return GT_OK;
}

gt_err
gt_http_ws_broadcast(gt_http *h, const char *topic, const void *data, size_t len)
{
	ws_msg *m;

	if (h == NULL || (data == NULL && len > 0))
		return GT_EINVAL;
	if (h->ws_path == NULL)
		return GT_ENOTSUP;
	if (!h->thread_up || atomic_load(&h->stop))
		return GT_ECLOSED;
	if ((m = ws_msg_new(topic, data, len, 0)) == NULL)
		return GT_ENOMEM;
	return ws_post(h, m, 0);
}

gt_err
gt_http_ws_send(gt_http *h, uint64_t client_id, const void *data, size_t len)
{
	ws_msg *m;

	if (h == NULL || client_id == 0 || (data == NULL && len > 0))
		return GT_EINVAL;
	if (h->ws_path == NULL)
		return GT_ENOTSUP;
	if (!h->thread_up || atomic_load(&h->stop))
		return GT_ECLOSED;
	if ((m = ws_msg_new(NULL, data, len, client_id)) == NULL)
		return GT_ENOMEM;
	return ws_post(h, m, client_id);
}

uint64_t
gt_http_ws_dropped(gt_http *h)
{
	return h != NULL ? (uint64_t)atomic_load(&h->dropped) : 0;
}

size_t
gt_http_ws_clients(gt_http *h)
{
	size_t n;

	if (h == NULL)
		return 0;
	pthread_mutex_lock(&h->lock);
	n = h->nclients;
	pthread_mutex_unlock(&h->lock);
	return n;
}

uint64_t
gt_http_requests(gt_http *h)
{
	return h != NULL ? (uint64_t)atomic_load(&h->requests) : 0;
}
