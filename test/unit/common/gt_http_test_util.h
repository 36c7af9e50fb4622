/* gt_http_test_util.h - what the gt_http unit tests (test_gt_http*.c) share: a tiny HTTP/1.1
 * and WebSocket client over plain sockets (so no client library is under test), a temporary
 * static tree, a few handlers and a server-start helper. Test code only (prefix ht_); every
 * call is made from the test's thread unless its comment says otherwise. The assert helpers
 * use CMocka, so include <cmocka.h> (after its prerequisites) before this header.
 */
#ifndef GT_HTTP_TEST_UTIL_H
#define GT_HTTP_TEST_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gt/gt_http.h"
#include "gt/gt_time.h"

/* ---- HTTP/1.1 client ---- */

typedef struct ht_resp {
	int    status;
	char  *headers; /* raw header block, NUL-terminated */
	char  *body;    /* NUL-terminated (body_len bytes before the NUL) */
	size_t body_len;
} ht_resp;

void ht_resp_free(ht_resp *r);
/* A blocking TCP connection to 127.0.0.1:port with 5 s send/receive timeouts; rcvbuf > 0 sets
 * SO_RCVBUF (a small window for a client that never reads). Returns the fd or -1. */
int ht_connect_opt(int port, int rcvbuf);
int ht_connect(int port);
/* Send all n bytes / read exactly n bytes. 0 or -1 (error, EOF, timeout). */
int ht_send_all(int fd, const void *p, size_t n);
int ht_send_str(int fd, const char *s);
int ht_recv_exact(int fd, void *p, size_t n);
/* Reads up to and including the blank line, one byte at a time (so nothing after it is
 * consumed). Returns a malloc'd block or NULL on EOF/timeout. */
char *ht_read_head(int fd);
/* Value of header name in a raw header block (thread-local buffer; NULL if absent). */
const char *ht_head_value(const char *headers, const char *name);
/* Reads one response; head: the request was HEAD (no body follows). 0 or -1. */
int ht_read_response(int fd, ht_resp *r, int head);
/* One request on a fresh connection. Returns the status or -1 (closed / no response). */
int ht_raw(int port, const char *raw, size_t len, ht_resp *r);
/* method path HTTP/1.1 + Host + extra ("Name: v\r\n"...) + Content-Length when body != NULL. */
int ht_req(int port, const char *method, const char *path, const char *extra, const char *body,
           ht_resp *r);
int ht_get(int port, const char *path, ht_resp *r);
/* Checks the body is {"error":{"code":status,"message":"..."}} served as application/json
 * and, when msg_part is not NULL, that the message contains it. */
void ht_assert_error_body(const ht_resp *r, int status, const char *msg_part);

/* ---- WebSocket client (RFC 6455, the minimum) ---- */

/* Upgrades a fresh connection on path; checks the 101 and Sec-WebSocket-Accept. fd or -1. */
int ht_ws_connect_opt(int port, const char *path, int rcvbuf);
int ht_ws_connect(int port, const char *path);
/* Sends one masked text frame (clients must mask); text shorter than 64 KiB. 0 or -1. */
int ht_ws_send_text(int fd, const char *text);
/* Reads one server frame (must be unmasked). Returns the opcode (payload malloc'd in *out,
 * NUL-terminated, length in *outlen if not NULL) or -1. */
int ht_ws_read(int fd, char **out, size_t *outlen);
/* The next frame is a text frame carrying exactly want. */
void ht_assert_ws_text(int fd, const char *want);

/* Polls cond until it holds or 5 s pass, then asserts it. */
#define HT_WAIT_FOR(cond)                                                                          \
	do {                                                                                       \
		int64_t wait_deadline_ = gt_mono_ns() + 5 * GT_NS_PER_S;                           \
		while (!(cond) && gt_mono_ns() < wait_deadline_)                                   \
			gt_sleep_ns(2 * GT_NS_PER_MS);                                             \
		assert_true(cond);                                                                 \
	} while (0)

/* ---- a temporary static tree ---- */

/* base/secret.txt (outside the root), base/www/{index.html, assets/app.js, assets/style.css,
 * data.json, logo.svg, big.txt (HT_BIG_LEN bytes of ht_big_payload)}. */
typedef struct ht_tree {
	char base[PATH_MAX];      /* realpath of the temporary directory */
	char root[PATH_MAX + 16]; /* base/www: the static root */
} ht_tree;

#define HT_INDEX_HTML "<!doctype html><title>dash</title>"
#define HT_BIG_LEN (300 * 1024 + 7)

/* 0 or -1. */
int  ht_tree_make(ht_tree *t);
void ht_tree_remove(ht_tree *t);
/* Writes text to dir/name (asserts). */
void ht_write_file(const char *dir, const char *name, const char *text);
/* HT_BIG_LEN bytes of a known pattern (+ NUL), malloc'd: larger than one write chunk. */
char *ht_big_payload(void);

/* ---- handlers and servers ---- */

/* Replies 200 text/plain "hello". */
void ht_hello(gt_http_req *r, void *arg);
/* Replies 201 with the request body and its content type (or application/octet-stream). */
void ht_echo_body(gt_http_req *r, void *arg);
/* Keeps the request unanswered: hands it to ht_take_stash (any thread: routes may be workers). */
void ht_deferred(gt_http_req *r, void *arg);
/* The request ht_deferred last kept (waits up to 5 s), or NULL. */
gt_http_req *ht_take_stash(void);

typedef struct ht_route {
	const char *method;
	const char *pattern;
	gt_http_fn  fn;
	void       *arg;
	int         flags;
} ht_route;

/* Registers routes[0..n) in order; the first failure is returned. Before start. */
gt_err ht_server_routes(gt_http *h, const ht_route *routes, size_t n);
/* gt_http_new(cfg), the routes, the WebSocket endpoint ws_path (NULL: none) with ws_ops, then
 * gt_http_start. On error nothing is left behind (*out stays NULL) and the first failure is
 * returned. */
gt_err ht_server_start(gt_http **out, const gt_http_cfg *cfg, const ht_route *routes, size_t n,
                       const char *ws_path, const gt_ws_ops *ws_ops);

#endif
