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
 *                     serving a file (its chunks are read by the file reader thread)
 *   gt_http_ws.c      WebSocket: clients, per-client bounded queues, broadcast/send, drops
 *   gt_http_route.c   pure helpers: pairs, percent-decoding, query strings, route patterns,
 *                     bearer tokens
 *   gt_http_front.c   the front door: a connection's first request head is read and checked
 *                     on the front thread (JSON 400/405/408/414/431) before lws sees it
 *   gt_http_admit.c   connection limits: every accepted connection is tracked, the cap
 *                     (oldest idle closed first), the header/idle timeout sweep, CONNECT
 *
 * Threads
 *   - lws thread: runs lws_service(); owns every connection, the route table (read only after
 *     start), the list of live requests and every WebSocket client queue. All lws calls except
 *     lws_cancel_service() happen here.
 *   - front thread: owns accepted connections until their first request head is complete
 *     (gt_http_front.c), then hands them to the lws thread like a reply.
 *   - worker threads: run GT_HTTP_WORKER handlers, fed by a bounded gt_queue.
 *   - file reader thread (with a static root): reads the next chunk of a static file into
 *     its gt__http_file and hands it back like a reply, so a slow disk never stalls the lws
 *     thread; the connection writes one chunk while the next one is read.
 *   - any thread: gt_http_reply*() and gt_http_ws_broadcast()/_send() put their result on a
 *     mutex-protected list and wake the lws thread with lws_cancel_service(); the lws thread
 *     drains the lists in LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 *
 * Request lifetime
 *   A gt_http_req is created on the lws thread when the headers are complete, filled with
 *   copies of everything a handler may read (so it can travel to any thread), and handed to
 *   the handler with two references: the handler call's (dropped when the handler returns,
 *   on the thread that ran it) and the reply's (dropped by the lws thread once the reply has
 *   been moved to the connection or dropped). The last one frees it; gt_http_free frees what
 *   is left. So a second reply during the handler call finds the request alive and is
 *   refused. Connections never cross threads: a request points at its connection
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

/* Checks the start of a request head buf[0..len): returns 0 while more bytes are needed, the
 * head's length (through its empty line) once it is complete and acceptable, or -1 with
 * *status and *msg (static) set: 400 (malformed line, NUL or control byte in the target, %00),
 * 405 (a method other than GET HEAD POST PUT PATCH DELETE OPTIONS, e.g. CONNECT), 414 (request
 * line beyond max bytes), 431 (head beyond max bytes or too many lines), 505. */
int gt__http_head_check(const char *buf, size_t len, size_t max, int *status, const char **msg);

/* Constant-time comparison of a "Bearer <token>" Authorization value with token.
 * Returns 1 when they match. NULL authorization -> 0. */
int gt__http_bearer_ok(const char *authorization, const char *token);

/* ================================================================ server internals */

#define GT__HTTP_CHUNK 65536           /* body bytes per lws_write; static file buffer */
#define GT__HTTP_MAX_HEADER_DATA 16384 /* lws header data per connection */
#define GT__HTTP_HEAD_MAX 8192         /* request line / head we accept (414 / 431 beyond) */

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

/* A static file being sent: shared by its connection (lws thread) and, while a chunk is read,
 * the file reader thread. buf/len/err belong to the reader while inflight is set (set and
 * cleared on the lws thread; the hand-back goes through h->lock). The last reference
 * closes and frees it (any thread). */
typedef struct gt__http_file {
	int                   fd;
	size_t                size;     /* bytes to send */
	size_t                off;      /* next offset to read */
	size_t                want;     /* bytes the read in flight asks for */
	size_t                len;      /* bytes ready in buf (0 = none) */
	int                   err;      /* the read failed (errno, or EIO for a short file) */
	int                   inflight; /* lws thread: a read is queued or running */
	atomic_int            refs;
	struct lws           *wsi;       /* lws thread: NULL once the connection let go */
	struct gt__http_file *done_next; /* h->files_done, under h->lock */
	unsigned char         buf[];     /* LWS_PRE headroom, then GT__HTTP_CHUNK bytes */
} gt__http_file;

/* One accepted connection, tracked from LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED to
 * LWS_CALLBACK_WSI_DESTROY (lws_get_opaque_user_data(wsi) points at it). lws thread only. */
typedef struct gt__http_track {
	struct lws            *wsi;
	int64_t                since_ns;    /* accepted, or idle since (last response finished) */
	int64_t                dying_ns;    /* close asked at (0 = not yet) */
	int                    served;      /* answered a request already (keep-alive idle) */
	int                    busy;        /* request in progress, WebSocket or CONNECT answer */
	struct gt__http_track *prev, *next; /* h->tracks: idle ones by since_ns, oldest first */
} gt__http_track;

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
	atomic_int                refs; /* once dispatched: handler call + reply */
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
	gt__http_file *file;      /* static file body (instead of body) */
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
	size_t  ws_max_clients;
	size_t  ws_inbox_max;
	size_t  ws_inbox_max_bytes;
	int     max_conns;
	int     header_timeout_s;
	int     idle_timeout_s;
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
	gt_http_req           *live;
	uint64_t               next_req_id;
	int                    front_pipe[2]; /* accepted sockets, lws thread -> front thread */
	int                    front_pipe_ok;
	pthread_t              front;
	int                    front_up;
	gt_queue              *fileq; /* static file chunks to read (file reader thread) */
	pthread_t              reader;
	int                    reader_up;
	gt__http_track        *tracks_head, *tracks_tail;
	lws_sorted_usec_list_t sweep;
	gt_buf                 ws_tx; /* WebSocket frames coalesced for one write */

	/* shared, under lock */
	pthread_mutex_t          lock;
	gt_http_req             *replies_head, *replies_tail;
	gt__http_ws_msg         *inbox_head, *inbox_tail;
	size_t                   inbox_len;
	size_t                   inbox_bytes;
	uint64_t                 inbox_lost; /* broadcasts dropped from the inbox, not yet told
	                                      * to the clients (their `dropped` notices) */
	gt__http_file           *files_done; /* chunks read, waiting for the lws thread */
	struct gt__http_handoff *handoff_head, *handoff_tail; /* heads read by the front */
	gt__http_ws_client      *clients;
	size_t                   nclients;
	gt_http_stream          *stream_wake; /* streams with news for the lws thread */
	uint64_t                 next_client_id;

	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t evicted;
	atomic_size_t        nconns;
	atomic_size_t        front_waiting; /* connections the front thread holds */
};

/* ---- gt_http_ws.c, for drain() ---- */
/* n broadcasts were dropped before reaching any client queue: every client is told (its next
 * `dropped` notice counts them). lws thread. */
void gt__http_ws_lost_all(gt_http *h, uint64_t n);

/* ---- gt_http.c ---- */
/* 1 when the calling thread is h's lws thread (gt_http_reply may then complete in place). */
int gt__http_on_loop(const gt_http *h);

/* ---- gt_http_req.c ---- */
/* 1 if method may be registered with gt_http_route (a method lws parses, not HEAD/OPTIONS). */
int gt__http_method_routable(const char *method);
/* Frees a request and whatever reply it still holds. The thread that owns it; accepts NULL. */
void gt__http_req_free(gt_http_req *r);
/* Drops one reference of a dispatched request; the last frees it. Any thread. */
void gt__http_req_unref(gt_http_req *r);
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

/* ---- gt_http_front.c ---- */
/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION (lws thread): takes a dup of the accepted socket to
 * the front thread; returns 1 (lws closes its copy). */
int gt__http_front_accept(gt_http *h, int fd);
/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: adopts the connections whose head the front has read. */
void gt__http_front_drain(gt_http *h);
/* gt_http_start / gt_http_free (after the lws thread has stopped, before the context goes). */
gt_err gt__http_front_start(gt_http *h);
void   gt__http_front_stop(gt_http *h);

/* ---- gt_http_admit.c (lws thread) ---- */
/* LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: tracks wsi; at max_conns closes the oldest
 * idle connection, or refuses wsi (-1) when none is idle. */
int gt__http_admit(gt_http *h, struct lws *wsi);
/* LWS_CALLBACK_WSI_DESTROY (also at context teardown, on gt_http_free's thread). */
void gt__http_track_gone(gt_http *h, struct lws *wsi);
/* A request/WebSocket/CONNECT answer started (busy) or a response finished (idle again). */
void gt__http_track_busy(gt_http *h, struct lws *wsi, int busy);
/* Before the lws thread starts: the 1 s sweep closing connections past their timeouts. */
void gt__http_sweep_start(gt_http *h);
/* LWS_CALLBACK_RAW_ADOPT / _RAW_WRITEABLE / _RAW_RX / _RAW_CLOSE: lws turns a CONNECT
 * request into a raw socket; it is answered 405 JSON and closed. */
int gt__http_connect_raw(gt_http *h, struct lws *wsi, int reason);

/* ---- gt_http_static.c (lws thread unless said otherwise) ---- */
/* Serves a GET/HEAD that no route matched from the static root. Takes r (c->req). */
void gt__http_static_serve(gt_http *h, gt__http_conn *c, gt_http_req *r);
/* The body writer's side of a static file (from LWS_CALLBACK_HTTP_WRITEABLE): writes the chunk
 * read so far and queues the read of the next one. Returns what the callback must return;
 * *done is set once the last byte is written. */
int gt__http_file_write(gt_http *h, gt__http_conn *c, struct lws *wsi, int *done);
/* The connection lets go of its file (reset/close). Accepts NULL. */
void gt__http_file_release(gt__http_file *f);
/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: chunks read, wake their connections. */
void gt__http_files_drain(gt_http *h);
/* gt_http_start / gt_http_free: the file reader thread (with a static root only). The stop
 * runs after the lws thread has stopped; gt__http_files_fini after the context is gone. */
gt_err gt__http_reader_start(gt_http *h);
void   gt__http_reader_stop(gt_http *h);
void   gt__http_files_fini(gt_http *h);

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
