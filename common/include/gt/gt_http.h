/* gt_http.h - HTTP/1.1 + WebSocket server on libwebsockets.
 *
 * One lws service thread per server. Routes are matched by method + pattern
 * ("/api/v1/gpus/{id}/telemetry"; {name} captures one path segment, percent-decoded;
 * {name...} captures one or more segments joined by '/'). lws percent-decodes the whole path
 * before routing, so an encoded "%2F" arrives as a separator: use {name...} for keys that may
 * contain '/' (gpu keys "hostname/index").
 * Handlers run on the lws thread unless the route is GT_HTTP_WORKER, in which case they run
 * on the server's worker threads (for handlers that touch disk or wait). A handler replies
 * exactly once, with gt_http_reply*(), either before returning or later from any thread
 * (deferred: the gateway answers when an nng aio completes). The request object stays valid
 * until it is replied to; if the client goes away first, the reply is dropped quietly.
 *
 * Errors are JSON: {"error":{"code":404,"message":"no such gpu: x"}}. Unmatched paths fall
 * to the static root (if any) and then 404; a known path with another method is 405 (with
 * an Allow header). Request bodies larger than max_body get 413. A connection's first request
 * head is checked before lws parses it: an unknown method or CONNECT gets 405, a request line
 * over 8 KiB 414, a head over 8 KiB (or over 100 lines) 431, NUL/control bytes or a malformed
 * line 400, no complete head within header_timeout_s 408 - all JSON. (Later requests on a
 * keep-alive connection are parsed by lws alone: there CONNECT still gets a JSON 405 and a
 * control byte in the path a 400, but other malformed heads may close the connection.)
 *
 * Token: with cfg.token set, every route requires "Authorization: Bearer <token>" (401 JSON
 * otherwise) unless it is registered GT_HTTP_OPEN (/health, /metrics); static files and the
 * WebSocket endpoint are not guarded.
 *
 * Connections (see gt_http_cfg): new connections wait on a front thread until their first
 * request head is complete; at most max_conns wait, a new one beyond closes the oldest
 * waiting one, and one without a complete head after header_timeout_s gets a 408. Then lws
 * serves them: at most max_conns again, a new one beyond closes the oldest idle one (no
 * request in progress: between keep-alive requests or reading the next head) and is refused
 * only when none is idle; an idle keep-alive connection is closed after idle_timeout_s and a
 * later request head must be complete header_timeout_s after its first byte. So silent or
 * slow (slowloris) peers cannot hold the server: /health stays answerable.
 *
 * WebSocket: gt_http_ws() enables one endpoint (e.g. "/ws"). Every client has a bounded send
 * queue; when it is full the oldest message is dropped and counted (gt_http_ws_dropped).
 * gt_http_ws_broadcast() may be called from any thread: it copies the message, queues it (in an
 * inbox bounded by count and by cfg.ws_inbox_max_bytes: the oldest are dropped, counted, and
 * announced to every client through ops->dropped like a full client queue) and
 * wakes the lws thread with lws_cancel_service(). Messages broadcast with a topic are the
 * stream: ops->dropped announces exactly those lost; control messages (no topic, or sent to one
 * client: heartbeats, hellos) may be dropped from a full queue too, uncounted there.
 */
#ifndef GT_HTTP_H
#define GT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

typedef struct gt_http     gt_http;
typedef struct gt_http_req gt_http_req;

typedef struct gt_http_cfg {
	const char *service;      /* for logs: "collector" */
	const char *bind;         /* "0.0.0.0" (default) or "127.0.0.1" (honoured) */
	int         port;         /* 0 = ephemeral (see gt_http_port) */
	const char *static_root;  /* directory served for unmatched GET paths; NULL = none */
	const char *static_index; /* file for "/" and unknown paths without a dot (SPA); default index.html */
	size_t      max_body;     /* default 1 MiB */
	const char *cors_origin;  /* NULL = no CORS headers; "*" or an origin */
	const char *token;        /* required (Authorization: Bearer) on every non-OPEN route */
	int         workers;      /* threads for GT_HTTP_WORKER routes; default 2 */
	size_t      ws_queue_max; /* per-client queued messages; default 256 */
	size_t      ws_queue_bytes; /* per-client queued bytes (0 = no byte bound); past it the
	                             * oldest messages are dropped like past ws_queue_max */
	int         ws_ping_secs;   /* > 0: ping a WebSocket client idle this long and close it
	                             * when it stays silent (no pong) for 3 times as long */
	size_t      ws_max_clients; /* upgrades past this many clients get 503; 0 = no limit */
	/* Limits against idle/slow peers (0 = the default given). */
	int    max_conns;          /* connections waiting for a head / served; default 256 each */
	int    header_timeout_s;   /* a request head must be complete within; default 5 */
	int    idle_timeout_s;     /* idle keep-alive connections are closed after; default 30 */
	size_t ws_inbox_max_bytes; /* bytes of broadcasts waiting for the lws thread; 16 MiB */
} gt_http_cfg;

#define GT_HTTP_DEF_MAX_CONNS 256
#define GT_HTTP_DEF_HEADER_TIMEOUT_S 5
#define GT_HTTP_DEF_IDLE_TIMEOUT_S 30
#define GT_HTTP_DEF_WS_INBOX_BYTES ((size_t)16 << 20)

typedef void (*gt_http_fn)(gt_http_req *req, void *arg);

enum {
	GT_HTTP_WORKER = 1 << 0, /* run the handler on a worker thread */
	GT_HTTP_ADMIN = 1 << 1,  /* require the token: the default now, kept for old callers */
	GT_HTTP_OPEN = 1 << 2,   /* never require the token (/health, /metrics) */
};

gt_err gt_http_new(gt_http **out, const gt_http_cfg *cfg);
/* method: "GET", "POST", "PUT", "DELETE" (HEAD is served by GET routes). Before start only. */
gt_err gt_http_route(gt_http *h, const char *method, const char *pattern, gt_http_fn fn, void *arg,
    int flags);
/* Binds and starts the service thread. */
gt_err gt_http_start(gt_http *h);
/* Handlers must reply within ns (default 30 s): after that the client gets a 504 JSON error
 * and the late reply is dropped. 0 = wait forever. Before start. (Without a deadline of our
 * own, lws would hang up silently after its 20 s pending timeout.) */
gt_err gt_http_set_timeout(gt_http *h, int64_t ns);
/* The port actually bound. */
int gt_http_port(gt_http *h);
/* Stops the service thread, drops deferred requests, frees. Accepts NULL. Not from a handler. */
void gt_http_free(gt_http *h);

/* ---- request (valid until replied) ---- */
const char *gt_http_req_method(gt_http_req *r);
const char *gt_http_req_path(gt_http_req *r);                     /* decoded path, no query */
const char *gt_http_req_param(gt_http_req *r, const char *name);  /* {name} capture or NULL */
const char *gt_http_req_query(gt_http_req *r, const char *name);  /* decoded value or NULL */
const char *gt_http_req_header(gt_http_req *r, const char *name); /* "accept", "content-type",
                                                                     "authorization"; or NULL */
/* (gt_http_req_header knows: accept, content-type, authorization, origin, host, user-agent,
 * if-none-match, x-forwarded-for, x-request-id; names are case-insensitive.) */
const void *gt_http_req_body(gt_http_req *r, size_t *len);
/* 1 when the client asked for protobuf (Accept: application/x-protobuf). */
int gt_http_req_wants_protobuf(gt_http_req *r);

/* ---- reply (exactly once, any thread; body is copied). GT_OK, or GT_EINVAL for a NULL
 * request. A second reply is refused (GT_EEXIST, logged, nothing sent) while the request is
 * still valid: during the handler call that received it (even after the first reply went
 * out), and until the first reply has been handed to the connection. After the handler has
 * returned AND the reply has been sent the request is freed: a deferred replier must reply
 * once (as before). ---- */
gt_err gt_http_reply(gt_http_req *r, int status, const char *content_type, const void *body,
                     size_t len);
gt_err gt_http_reply_json(gt_http_req *r, int status, const gt_buf *json);
gt_err gt_http_error(gt_http_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- WebSocket ---- */
typedef struct gt_ws_ops {
	/* A client connected; returns its user pointer (may be NULL). lws thread. */
	void *(*open)(uint64_t client_id, void *arg);
	/* A text/binary message from the client (whole message). lws thread. */
	void (*message)(uint64_t client_id, void *user, const void *data, size_t len, void *arg);
	/* The client left; free user here. lws thread. */
	void (*close)(uint64_t client_id, void *user, void *arg);
	/* Broadcast filter: nonzero if this client wants messages of topic. NULL = all. lws thread. */
	int (*want)(void *user, const char *topic, void *arg);
	/* Optional: the client lost n stream messages (broadcast with a topic; a full queue or the
	 * inbox) since its last notice. Write a text message for it into buf (cap bytes) and
	 * return its length (0 = none); it is sent before the next queued message. lws thread. */
	size_t (*dropped)(void *user, uint64_t n, char *buf, size_t cap, void *arg);
} gt_ws_ops;

/* Enable the WebSocket endpoint at path. ops may be NULL (broadcast-only). Before start. */
gt_err gt_http_ws(gt_http *h, const char *path, const gt_ws_ops *ops, void *arg);
/* Queue a text message for every client whose filter wants topic (topic may be NULL: every
 * client gets it and the filter is not asked). GT_ECLOSED before start or once stopping.
 * Broadcasting threads must be stopped before gt_http_free (it destroys what they lock). */
gt_err   gt_http_ws_broadcast(gt_http *h, const char *topic, const void *data, size_t len);
/* Queue a text message for one client. GT_ENOENT if it is gone. */
gt_err   gt_http_ws_send(gt_http *h, uint64_t client_id, const void *data, size_t len);
uint64_t gt_http_ws_dropped(gt_http *h);
size_t   gt_http_ws_clients(gt_http *h);

/* ---- streamed replies (gt_http_stream.c): chunked transfer encoding, produced piece by
 * piece so a large answer never sits in memory whole ----
 * gt_http_stream_start answers r (it counts as r's one reply) with status and ctype and
 * returns the stream. The producer writes pieces from any thread; whenever everything
 * written has been sent, more(s, GT_HTTP_STREAM_MORE, arg) runs on the lws thread: write the
 * next piece or end. If the client goes away, more(s, GT_HTTP_STREAM_GONE, arg) runs (lws
 * thread, possibly after the producer ended: ignore it then) and writes fail with
 * GT_ECLOSED; the producer must still call gt_http_stream_end, which releases its handle
 * (abort != 0 closes the connection without the final chunk: a truncated body). Last,
 * more(s, GT_HTTP_STREAM_FREE, arg) runs exactly once on any thread when the stream is freed
 * (after the producer's end): free arg there, and call nothing on s. */
typedef struct gt_http_stream gt_http_stream;
enum { GT_HTTP_STREAM_MORE = 0, GT_HTTP_STREAM_GONE = 1, GT_HTTP_STREAM_FREE = 2 };
typedef void (*gt_http_stream_fn)(gt_http_stream *s, int event, void *arg);
gt_err gt_http_stream_start(gt_http_req *r, int status, const char *content_type,
    gt_http_stream_fn more, void *arg, gt_http_stream **out);
gt_err gt_http_stream_write(gt_http_stream *s, const void *data, size_t len);
void   gt_http_stream_end(gt_http_stream *s, int abort);

/* Requests served so far (for /stats). */
uint64_t gt_http_requests(gt_http *h);
/* Connections closed by the limits so far: evicted (oldest waiting/idle, at max_conns),
 * refused (at max_conns with none idle), timed out waiting for a head (408) or by the sweep. */
uint64_t gt_http_conns_evicted(gt_http *h);
size_t   gt_http_conns(gt_http *h); /* open connections now, waiting + served (approximate) */

#endif
