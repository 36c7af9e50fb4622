/* gt_http_int.h - internals of the HTTP/WebSocket runtime (gt/gt_http.h), shared by its files
 * inside common and by their unit tests. Not for other modules.
 *
 * Files
 *   gt_http.c         server lifecycle: config, lws context and protocol callback, the lws
 *                     service thread and the worker threads, the cross-thread drain, free
 *   gt_http_req.c     requests: reading headers/body, route dispatch, the handler's view
 *                     (accessors) and replies from any thread
 *   gt_http_conn.c    the response side of a connection: headers + body writer, JSON errors
 *                     on the connection, the reply deadline, detaching on close
 *   gt_http_static.c  static files: the resolver that cannot leave its root, content types,
 *                     serving a file
 *   gt_http_ws.c      WebSocket: clients, per-client bounded queues, broadcast/send, drops
 *   gt_http_route.c   pure helpers: pairs, percent-decoding, query strings, route patterns,
 *                     bearer tokens
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
 * Keep-alive: lws frees and re-creates the per-session data (gt__http_conn) after every
 *   transaction (lws_http_transaction_completed rebinds the protocol), so per-request state
 *   lives in gt__http_conn and is cleared in gt__http_conn_detach (CLOSED_HTTP /
 *   HTTP_DROP_PROTOCOL).
 *
 * The first part of this header (pairs .. bearer tokens, static resolver) is pure: reentrant,
 * any thread, no state between calls. The second part is the server's state and the calls
 * its files make to each other, with the thread each may run on.
 */
#ifndef GT_HTTP_INT_H
#define GT_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gt/gt_http.h"
#include "gt/gt_queue.h"

/* Bounds: a request never makes these helpers allocate without limit. */
#define GT__HTTP_MAX_PAIRS 64    /* query arguments or route captures per request */
#define GT__HTTP_MAX_SEGMENTS 64 /* path segments considered by the matcher/resolver */

/* ---- name/value pairs (query arguments, {param} captures) ---- */
typedef struct gt__http_pair {
	char *name;  /* NUL-terminated, owned */
	char *value; /* NUL-terminated, owned ("" when absent) */
} gt__http_pair;

typedef struct gt__http_pairs {
	gt__http_pair *v;
	size_t         n;
	size_t         cap;
} gt__http_pairs;

void gt__http_pairs_init(gt__http_pairs *p);
void gt__http_pairs_fini(gt__http_pairs *p); /* accepts NULL / zeroed */
/* Drops the pairs after the first n (used to roll back a failed match). */
void gt__http_pairs_truncate(gt__http_pairs *p, size_t n);
/* Copies name[0..nlen) and value[0..vlen) (value may be NULL -> ""). GT_EFULL past
 * GT__HTTP_MAX_PAIRS, GT_ENOMEM. */
gt_err gt__http_pairs_add(gt__http_pairs *p, const char *name, size_t nlen, const char *value,
                          size_t vlen);
/* First value for name, or NULL. Borrowed: valid until the pairs change. */
const char *gt__http_pairs_get(const gt__http_pairs *p, const char *name);

/* ---- percent-decoding ---- */
enum {
	GT__HTTP_DEC_PLUS = 1 << 0,     /* '+' means ' ' (query strings) */
	GT__HTTP_DEC_NO_SLASH = 1 << 1, /* refuse an encoded '/' or '\\' (path segments) */
};
/* Decodes src[0..n) into dst (cap bytes, always NUL-terminated on GT_OK) and stores the
 * decoded length in *outlen (may be NULL). GT_EINVAL for a malformed escape, an encoded NUL
 * (%00), a raw NUL, or (with GT__HTTP_DEC_NO_SLASH) an encoded slash; GT_EFULL when dst is too
 * small. dst may equal src (decoding never grows). */
gt_err gt__http_pct_decode(const char *src, size_t n, char *dst, size_t cap, int flags,
                           size_t *outlen);

/* ---- query strings ---- */
/* Parses "a=1&b=x%20y+z;c" (no leading '?') into decoded pairs appended to out. '&' and ';'
 * separate; a piece without '=' gets the value ""; empty pieces are skipped. On error out
 * keeps what it had before the call. */
gt_err gt__http_query_parse(const char *qs, size_t len, gt__http_pairs *out);

/* ---- route patterns ---- */
/* A pattern is "/lit/{name}/lit" where {name} captures exactly one non-empty path segment
 * and a final-or-inner {name...} captures one or more segments joined by '/' (so gpu keys
 * like "host/0" fit "/api/v1/gpus/{id...}/telemetry"). Returns GT_OK if well formed. */
gt_err gt__http_pattern_check(const char *pattern);
/* Matches path (no query) against pattern. On a match the captures are appended to params
 * (percent-decoded when decode is nonzero, else copied as they are) and GT_OK is returned;
 * GT_ENOENT when it does not match (params unchanged); GT_EINVAL for a bad escape inside a
 * capture; GT_ENOMEM / GT_EFULL. A trailing '/' on path is not ignored. */
gt_err gt__http_route_match(const char *pattern, const char *path, int decode,
                            gt__http_pairs *params);

/* ---- static files ---- */
enum {
	GT__HTTP_PATH_ENCODED = 1 << 0, /* path is still percent-encoded: decode it first */
};
/* Resolves the URL path under root_real (a realpath()'d directory without trailing '/').
 * Refuses (GT_EINVAL) anything that could leave the root: no leading '/', "." or ".."
 * segments (also when they arrive as %2e), encoded slashes or backslashes, empty segments
 * ("//"), NUL or control bytes, segments starting with '.' (dotfiles), over-long paths.
 * A path ending in '/' (or a directory) gets index appended. The joined path is then
 * realpath()'d and must still lie under root_real (symlinks cannot escape). GT_ENOENT when
 * no such regular file exists. On GT_OK out (cap bytes) holds the resolved absolute path. */
gt_err gt__http_static_resolve(const char *root_real, const char *path, const char *index,
                               int flags, char *out, size_t cap);

/* Content type for a file name by its extension; "application/octet-stream" when unknown. */
const char *gt__http_content_type(const char *filename);

/* 1 if the last segment of path contains a '.', i.e. it looks like a file request. */
int gt__http_path_has_ext(const char *path);

/* Constant-time comparison of a "Bearer <token>" Authorization value with token.
 * Returns 1 when they match. NULL authorization -> 0. */
int gt__http_bearer_ok(const char *authorization, const char *token);

/* ================================================================ server internals */

#define GT__HTTP_CHUNK 65536          /* body bytes per lws_write; static file buffer */
#define GT__HTTP_MAX_HEADER_DATA 8192 /* lws header data per connection */

/* A registered route (h->routes; read only after start). */
typedef struct gt__http_route_row {
	char       method[8];
	char      *pattern;
	gt_http_fn fn;
	void      *arg;
	int        flags;
} gt__http_route_row;

/* Request headers copied for handlers (gt_http_req_header); the table is in gt_http_req.c. */
enum {
	GT__HTTP_HDR_ACCEPT,
	GT__HTTP_HDR_CONTENT_TYPE,
	GT__HTTP_HDR_AUTHORIZATION,
	GT__HTTP_HDR_ORIGIN,
	GT__HTTP_HDR_HOST,
	GT__HTTP_HDR_USER_AGENT,
	GT__HTTP_HDR_IF_NONE_MATCH,
	GT__HTTP_HDR_X_FORWARDED_FOR,
	GT__HTTP_HDR_X_REQUEST_ID,
	GT__HTTP_HDR_COUNT
};

typedef struct gt__http_conn gt__http_conn;

struct gt_http_req {
	gt_http                  *h;
	uint64_t                  id;
	char                      method[8];
	char                     *path;
	gt__http_pairs            params;
	gt__http_pairs            query;
	char                     *hdr[GT__HTTP_HDR_COUNT];
	gt_buf                    body;
	const gt__http_route_row *route;
	gt_http_stream           *stream; /* a streamed reply (gt_http_stream_start) */
	int                       head; /* HEAD: answer without a body */
	atomic_int                replied;
	/* the reply, written once by gt_http_reply (any thread) before it is queued */
	int            status;
	char          *ctype;
	unsigned char *rbody; /* LWS_PRE bytes of headroom, then rlen bytes */
	size_t         rlen;
	/* lws thread only */
	gt__http_conn *conn; /* NULL once the connection has gone */
	int            dispatched;
	gt_http_req   *live_prev, *live_next;
	/* under h->lock */
	gt_http_req *reply_next;
};

/* A WebSocket message shared by every client queue it sits in. */
typedef struct gt__http_ws_msg {
	struct gt__http_ws_msg *next;   /* inbox link (under h->lock) */
	int                     refs;   /* lws thread only once drained */
	uint64_t                target; /* 0 = broadcast */
	char                   *topic;  /* NULL = every client */
	size_t                  len;
	unsigned char           buf[]; /* LWS_PRE headroom, then len bytes */
} gt__http_ws_msg;

typedef struct gt__http_ws_client {
	uint64_t                   id;
	struct lws                *wsi;
	void                      *user;
	gt__http_ws_msg          **ring;
	size_t                     head, count;
	gt_buf                     rx;
	size_t                     bytes; /* queued message bytes */
	uint64_t                   lost;  /* dropped since the last notice (ops->dropped) */
	struct gt__http_ws_client *prev, *next; /* h->clients, changed under h->lock */
} gt__http_ws_client;

/* Per-session data (lws allocates and zeroes it; re-created on every keep-alive turn). */
struct gt__http_conn {
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
	gt__http_ws_client *wc;
	/* streamed response (gt_http_stream.c) */
	gt_http_stream *stream;
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
	size_t  ws_queue_bytes;
	size_t  ws_inbox_max;
	int     ws_ping_secs;
	lws_retry_bo_t retry; /* WebSocket ping/hangup policy when ws_ping_secs > 0 */

	gt__http_route_row *routes;
	size_t              nroutes, routes_cap;

	char     *ws_path;
	gt_ws_ops ws_ops;
	void     *ws_arg;

	struct lws_protocols protocols[2];
	struct lws_context  *ctx;
	int                  bound_port;
	int                  started;

	pthread_t  thread;
	atomic_int thread_up; /* read by broadcasters on any thread */
	pthread_t *workers;
	int        workers_up;
	gt_queue  *work;
	atomic_int stop;

	/* lws thread only */
	gt_http_req   *live;
	uint64_t       next_req_id;
	unsigned char *filebuf; /* LWS_PRE + GT__HTTP_CHUNK for static files */

	/* shared, under lock */
	pthread_mutex_t     lock;
	gt_http_req        *replies_head, *replies_tail;
	gt__http_ws_msg    *inbox_head, *inbox_tail;
	size_t              inbox_len;
	gt__http_ws_client *clients;
	size_t              nclients;
	gt_http_stream     *stream_wake; /* streams with news for the lws thread */
	uint64_t            next_client_id;

	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t requests;
};

/* ---- gt_http.c ---- */
/* 1 when the calling thread is h's lws thread (gt_http_reply may then complete in place). */
int gt__http_on_loop(const gt_http *h);

/* ---- gt_http_req.c ---- */
/* 1 if method may be registered with gt_http_route (a method lws parses, not HEAD/OPTIONS). */
int gt__http_method_routable(const char *method);
/* Frees a request and whatever reply it still holds. The thread that owns it; accepts NULL. */
void gt__http_req_free(gt_http_req *r);
/* lws thread: LWS_CALLBACK_HTTP (headers in), LWS_CALLBACK_HTTP_BODY and
 * LWS_CALLBACK_HTTP_BODY_COMPLETION. Each returns what the lws callback must return. */
int gt__http_conn_http(gt_http *h, gt__http_conn *c, struct lws *wsi, const char *uri);
int gt__http_conn_body(gt_http *h, gt__http_conn *c, const void *in, size_t len);
int gt__http_conn_body_done(gt_http *h, gt__http_conn *c);
/* lws thread: moves a replied request's answer onto its connection (or drops it when the
 * connection has gone) and frees the request. */
void gt__http_reply_complete(gt_http *h, gt_http_req *r);
/* gt_http_free, after every thread has stopped: frees the queued replies and the requests
 * never replied to. */
void gt__http_reqs_fini(gt_http *h);

/* ---- gt_http_conn.c (lws thread) ---- */
/* Copies data into a fresh buffer with LWS_PRE bytes of headroom (any thread). */
unsigned char *gt__http_body_copy(const void *data, size_t len);
/* Writes {"error":{"code":N,"message":"..."}} into b (any thread). */
gt_err gt__http_error_json(gt_buf *b, int status, const char *msg);
/* Starts writing a response; takes ctype and body (LWS_PRE headroom, may be NULL when len
 * is 0). Counts the request as served. */
void gt__http_conn_start(gt__http_conn *c, int status, char *ctype, unsigned char *body,
                         size_t len);
/* Answers on the connection itself (no handler involved): a JSON error; extra_name/extra_val
 * add one header; close_after closes the connection after it. The request being read (not
 * dispatched), if any, is freed. */
void gt__http_conn_error(gt__http_conn *c, int status, int close_after, const char *extra_name,
                         const char *extra_val, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Cuts the links between a connection and its request, frees the response in progress.
 * Idempotent: CLOSED_HTTP and HTTP_DROP_PROTOCOL. Accepts NULL. */
void gt__http_conn_detach(gt_http *h, gt__http_conn *c);
/* LWS_CALLBACK_HTTP_WRITEABLE: headers, then the body in chunks. */
int gt__http_conn_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi);
/* Arms the reply deadline for a request handed to a handler (still unanswered). */
void gt__http_conn_arm_deadline(gt_http *h, gt__http_conn *c);

/* ---- gt_http_stream.c (lws thread) ---- */
/* gt__http_reply_complete: the streamed reply r->stream now owns connection c. */
void gt__http_stream_attach(gt_http *h, gt__http_conn *c, gt_http_stream *s);
/* LWS_CALLBACK_HTTP_WRITEABLE for a connection with a stream. */
int gt__http_stream_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi);
/* gt__http_conn_detach: the connection goes away. */
void gt__http_stream_detach(gt_http *h, gt__http_conn *c);
/* drain: streams written to from other threads. */
void gt__http_streams_drain(gt_http *h);
/* gt_http_free, after every thread has stopped. */
void gt__http_streams_fini(gt_http *h);

/* ---- gt_http_static.c (lws thread) ---- */
/* Serves a GET/HEAD that no route matched from the static root. Takes r (c->req). */
void gt__http_static_serve(gt_http *h, gt__http_conn *c, gt_http_req *r);

/* ---- gt_http_ws.c (lws thread unless said otherwise) ---- */
/* Delivers one drained inbox message to the clients that want it; takes m. */
void gt__http_ws_deliver(gt_http *h, gt__http_ws_msg *m);
/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: 0 to accept the upgrade (configured path only). */
int gt__http_ws_filter(gt_http *h, struct lws *wsi);
/* LWS_CALLBACK_ESTABLISHED, _CLOSED (also at context teardown, on gt_http_free's thread),
 * _RECEIVE and _SERVER_WRITEABLE. */
int  gt__http_ws_open(gt_http *h, gt__http_conn *c, struct lws *wsi);
void gt__http_ws_close(gt_http *h, gt__http_conn *c);
int  gt__http_ws_receive(gt_http *h, gt__http_conn *c, struct lws *wsi, const void *in, size_t len);
int  gt__http_ws_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi);
/* gt_http_free, after every thread has stopped: frees the undelivered inbox and ws_path. */
void gt__http_ws_fini(gt_http *h);

#endif
