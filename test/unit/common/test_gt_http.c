/* test_gt_http.c - the libwebsockets server for real: an ephemeral port on 127.0.0.1, spoken
 * to over plain sockets (a tiny HTTP/1.1 and WebSocket client lives below, so no client
 * library is under test). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gt/gt_buf.h"
#include "gt/gt_http.h"
#include "gt/gt_json.h"
#include "gt/gt_log.h"
#include "gt/gt_time.h"

#define TOKEN "s3cret"
#define MAX_BODY 1024
#define WS_QUEUE 8

/* ================================================================ a tiny client */

typedef struct resp {
	int    status;
	char  *headers; /* raw header block, NUL-terminated */
	char  *body;
	size_t body_len;
} resp;

static void
resp_free(resp *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int
tcp_connect_opt(int port, int rcvbuf)
{
	struct sockaddr_in sa;
	struct timeval     tv = {.tv_sec = 5};
	int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
tcp_connect(int port)
{
	return tcp_connect_opt(port, 0);
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

static int
recv_exact(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = recv(fd, c, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads up to and including the blank line, one byte at a time (so nothing after it is
 * consumed). Returns a malloc'd block or NULL on EOF/timeout. */
static char *
read_head(int fd)
{
	size_t cap = 1024, len = 0;
	char  *b = malloc(cap);

	for (;;) {
		char c;

		if (recv_exact(fd, &c, 1) != 0) {
			free(b);
			return NULL;
		}
		if (len + 2 > cap)
			b = realloc(b, cap *= 2);
		b[len++] = c;
		b[len] = '\0';
		if (len >= 4 && memcmp(b + len - 4, "\r\n\r\n", 4) == 0)
			return b;
		if (len > 65536) {
			free(b);
			return NULL;
		}
	}
}

/* Value of header name in a raw header block (static buffer; NULL if absent). */
static const char *
head_value(const char *headers, const char *name)
{
	static _Thread_local char val[512];
	const char               *p = headers;
	size_t                    nlen = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(val, sizeof(val), "%.*s", (int)(e - v), v);
			return val;
		}
	}
	return NULL;
}

/* Reads one response; head: the request was HEAD (no body follows). 0 or -1. */
static int
read_response(int fd, resp *r, int head)
{
	const char *cl;
	size_t      n = 0;

	memset(r, 0, sizeof(*r));
	if ((r->headers = read_head(fd)) == NULL)
		return -1;
	if (sscanf(r->headers, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if ((cl = head_value(r->headers, "content-length")) != NULL)
		n = strtoul(cl, NULL, 10);
	if (head)
		n = 0;
	r->body = calloc(1, n + 1);
	r->body_len = n;
	if (n > 0 && recv_exact(fd, r->body, n) != 0)
		return -1;
	return 0;
}

/* One request on a fresh connection. Returns the status or -1 (closed / no response). */
static int
http_raw(int port, const char *raw, size_t len, resp *r)
{
	int fd = tcp_connect(port), rv = -1;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (send_all(fd, raw, len) == 0 && read_response(fd, r, strncmp(raw, "HEAD ", 5) == 0) == 0)
		rv = r->status;
	close(fd);
	return rv;
}

static int
http_req(int port, const char *method, const char *path, const char *extra, const char *body,
         resp *r)
{
	char   req[8192];
	size_t blen = body != NULL ? strlen(body) : 0;
	int    n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path,
	             extra != NULL ? extra : "");
	if (body != NULL)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body != NULL ? body : "");
	return http_raw(port, req, (size_t)n, r);
}

static int
http_get(int port, const char *path, resp *r)
{
	return http_req(port, "GET", path, NULL, NULL, r);
}

/* Checks body is {"error":{"code":status,"message":"..."}} and returns the message. */
static void
assert_error_body(const resp *r, int status, const char *msg_part)
{
	json_error_t err;
	json_t      *root = json_loadb(r->body, r->body_len, 0, &err), *e, *code, *msg;

	if (root == NULL)
		fail_msg("error body is not JSON: %s (%s)", r->body, err.text);
	e = json_object_get(root, "error");
	assert_true(json_is_object(e));
	code = json_object_get(e, "code");
	msg = json_object_get(e, "message");
	assert_true(json_is_integer(code));
	assert_int_equal(json_integer_value(code), status);
	assert_true(json_is_string(msg));
	if (msg_part != NULL && strstr(json_string_value(msg), msg_part) == NULL)
		fail_msg("message '%s' lacks '%s'", json_string_value(msg), msg_part);
	assert_string_equal(head_value(r->headers, "content-type"), "application/json");
	json_decref(root);
}

/* ---- WebSocket client ---- */

static int
ws_connect_opt(int port, const char *path, int rcvbuf)
{
	char  req[512];
	char *head;
	int   fd = tcp_connect_opt(port, rcvbuf), ok;

	if (fd < 0)
		return -1;
	snprintf(
	    req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    path);
	if (send_all(fd, req, strlen(req)) != 0 || (head = read_head(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* RFC 6455 section 1.3: this key's accept value. */
	ok = strncmp(head, "HTTP/1.1 101", 12) == 0 && head_value(head, "sec-websocket-accept") &&
	     strcmp(head_value(head, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0;
	free(head);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
ws_connect(int port, const char *path)
{
	return ws_connect_opt(port, path, 0);
}

/* Sends one masked text frame (clients must mask). */
static int
ws_send_text(int fd, const char *text)
{
	unsigned char frame[14 + 1024];
	size_t        len = strlen(text), h = 0, i;
	unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};

	assert_true(len < 1024);
	frame[h++] = 0x81; /* FIN + text */
	if (len < 126) {
		frame[h++] = (unsigned char)(0x80 | len);
	} else {
		frame[h++] = 0x80 | 126;
		frame[h++] = (unsigned char)(len >> 8);
		frame[h++] = (unsigned char)len;
	}
	memcpy(frame + h, mask, 4);
	h += 4;
	for (i = 0; i < len; i++)
		frame[h + i] = (unsigned char)text[i] ^ mask[i % 4];
	return send_all(fd, frame, h + len);
}

/* Reads one server frame (must be unmasked). Returns the opcode (payload malloc'd in *out)
 * or -1. */
static int
ws_read(int fd, char **out, size_t *outlen)
{
	unsigned char h[2], ext[8];
	uint64_t      len;
	int           i;

	*out = NULL;
	if (recv_exact(fd, h, 2) != 0)
		return -1;
	if (h[1] & 0x80)
		fail_msg("server frame is masked");
	len = h[1] & 0x7f;
	if (len == 126) {
		if (recv_exact(fd, ext, 2) != 0)
			return -1;
		len = ((uint64_t)ext[0] << 8) | ext[1];
	} else if (len == 127) {
		if (recv_exact(fd, ext, 8) != 0)
			return -1;
		for (len = 0, i = 0; i < 8; i++)
			len = (len << 8) | ext[i];
	}
	*out = calloc(1, (size_t)len + 1);
	if (len > 0 && recv_exact(fd, *out, (size_t)len) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	if (outlen != NULL)
		*outlen = (size_t)len;
	return h[0] & 0x0f;
}

static void
assert_ws_text(int fd, const char *want)
{
	char *got = NULL;
	int   op = ws_read(fd, &got, NULL);

	if (op != 1 || got == NULL || strcmp(got, want) != 0)
		fail_msg("expected text frame '%s', got op %d '%s'", want, op,
		         got ? got : "(none)");
	free(got);
}

/* Polls cond until it holds or 5 s pass. */
#define WAIT_FOR(cond)                                                                             \
	do {                                                                                       \
		int64_t wait_deadline_ = gt_mono_ns() + 5 * GT_NS_PER_S;                           \
		while (!(cond) && gt_mono_ns() < wait_deadline_)                                   \
			gt_sleep_ns(2 * GT_NS_PER_MS);                                             \
		assert_true(cond);                                                                 \
	} while (0)

/* ================================================================ the server under test */

typedef struct ws_user {
	uint64_t id;
	char     topic[32];
} ws_user;

static struct {
	gt_http        *h;
	int             port;
	char            base[PATH_MAX];
	char            root[PATH_MAX + 16];
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	gt_http_req    *stash; /* a deferred request */
	pthread_t       loop_thread;
	pthread_t       worker_thread;
	atomic_int      ws_opened, ws_closed, ws_messages;
	uint64_t        ws_ids[8];
	char            last_msg[64];
} g;

static void
h_hello(gt_http_req *r, void *arg)
{
	(void)arg;
	g.loop_thread = pthread_self();
	gt_http_reply(r, 200, "text/plain", "hello", 5);
}

static void
h_item(gt_http_req *r, void *arg)
{
	gt_buf b;
	int    first = 1;

	(void)arg;
	gt_buf_init(&b);
	gt_buf_putc(&b, '{');
	gt_json_key(&b, &first, "id");
	gt_json_cstr(&b, gt_http_req_param(r, "id"));
	gt_json_key(&b, &first, "path");
	gt_json_cstr(&b, gt_http_req_path(r));
	gt_buf_putc(&b, '}');
	gt_http_reply_json(r, 200, &b);
	gt_buf_fini(&b);
}

static void
h_echo_param(gt_http_req *r, void *arg)
{
	const char *v = gt_http_req_param(r, (const char *)arg);

	gt_http_reply(r, 200, "text/plain", v, strlen(v));
}

static void
h_query(gt_http_req *r, void *arg)
{
	char        out[256];
	const char *l = gt_http_req_query(r, "limit"), *n = gt_http_req_query(r, "name");
	const char *m = gt_http_req_query(r, "missing");
	int         len;

	(void)arg;
	len = snprintf(out, sizeof(out), "limit=%s;name=%s;missing=%s", l ? l : "(null)",
	               n ? n : "(null)", m ? m : "(null)");
	gt_http_reply(r, 200, "text/plain", out, (size_t)len);
}

static void
h_echo_body(gt_http_req *r, void *arg)
{
	size_t      len;
	const void *b = gt_http_req_body(r, &len);
	const char *ct = gt_http_req_header(r, "content-type");

	(void)arg;
	gt_http_reply(r, 201, ct ? ct : "application/octet-stream", b, len);
}

static void
h_bad(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_error(r, 400, "bad thing: %s \"quoted\"", "x");
}

static void
h_headers(gt_http_req *r, void *arg)
{
	char        out[256];
	const char *a = gt_http_req_header(r, "accept"), *x = gt_http_req_header(r, "X-Request-Id");
	int         len;

	(void)arg;
	len = snprintf(out, sizeof(out), "accept=%s;rid=%s;pb=%d;method=%s", a ? a : "(null)",
	               x ? x : "(null)", gt_http_req_wants_protobuf(r), gt_http_req_method(r));
	gt_http_reply(r, 200, "text/plain", out, (size_t)len);
}

static void
h_deferred(gt_http_req *r, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g.mu);
	g.stash = r;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
}

static gt_http_req *
take_stash(void)
{
	gt_http_req    *r;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&g.mu);
	while (g.stash == NULL)
		if (pthread_cond_timedwait(&g.cv, &g.mu, &ts) != 0)
			break;
	r = g.stash;
	g.stash = NULL;
	pthread_mutex_unlock(&g.mu);
	return r;
}

static void
h_work(gt_http_req *r, void *arg)
{
	(void)arg;
	g.worker_thread = pthread_self();
	gt_sleep_ns(5 * GT_NS_PER_MS); /* a handler allowed to block */
	gt_http_reply(r, 200, "text/plain", "worked", 6);
}

#define BIG_LEN (300 * 1024 + 7)

static char *
big_payload(void)
{
	char  *b = malloc(BIG_LEN + 1);
	size_t i;

	for (i = 0; i < BIG_LEN; i++)
		b[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	b[BIG_LEN] = '\0';
	return b;
}

static void
h_big(gt_http_req *r, void *arg)
{
	char *b = big_payload();

	(void)arg;
	gt_http_reply(r, 200, "text/plain", b, BIG_LEN);
	free(b);
}

static void
h_admin(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_reply(r, 200, "text/plain", "admin ok", 8);
}

static void *
ws_on_open(uint64_t id, void *arg)
{
	ws_user *u = calloc(1, sizeof(*u));
	int      n = atomic_fetch_add(&g.ws_opened, 1);

	(void)arg;
	u->id = id;
	if (n < 8)
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

static void
write_file(const char *dir, const char *name, const char *text)
{
	char  path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
group_setup(void **state)
{
	gt_http_cfg cfg = {0};
	char        tmpl[PATH_MAX], sub[2 * PATH_MAX];
	char       *d;
	gt_http    *h = NULL;

	(void)state;
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	snprintf(tmpl, sizeof(tmpl), "%s/gt-http-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((d = mkdtemp(tmpl)) == NULL || realpath(d, g.base) == NULL)
		return -1;
	snprintf(g.root, sizeof(g.root), "%s/www", g.base);
	mkdir(g.root, 0700);
	snprintf(sub, sizeof(sub), "%s/assets", g.root);
	mkdir(sub, 0700);
	write_file(g.root, "index.html", "<!doctype html><title>dash</title>");
	write_file(g.root, "assets/app.js", "console.log('app');");
	write_file(g.root, "assets/style.css", "body{}");
	write_file(g.root, "data.json", "{\"a\":1}");
	write_file(g.root, "logo.svg", "<svg/>");
	write_file(g.base, "secret.txt", "top secret");
	{
		char *b = big_payload();

		write_file(g.root, "big.txt", b);
		free(b);
	}

	cfg.service = "test";
	cfg.bind = "127.0.0.1";
	cfg.port = 0;
	cfg.static_root = g.root;
	cfg.max_body = MAX_BODY;
	cfg.cors_origin = "*";
	cfg.token = TOKEN;
	cfg.workers = 2;
	cfg.ws_queue_max = WS_QUEUE;
	if (gt_http_new(&h, &cfg) != GT_OK)
		return -1;
	if (gt_http_route(h, "GET", "/hello", h_hello, NULL, 0) != GT_OK ||
	    gt_http_route(h, "GET", "/big", h_big, NULL, GT_HTTP_WORKER) != GT_OK ||
	    gt_http_route(h, "GET", "/items/{id}", h_item, NULL, 0) != GT_OK ||
	    gt_http_route(h, "DELETE", "/items/{id}", h_item, NULL, 0) != GT_OK ||
	    gt_http_route(h, "GET", "/gpus/{id...}/telemetry", h_echo_param, "id", 0) != GT_OK ||
	    gt_http_route(h, "GET", "/query", h_query, NULL, 0) != GT_OK ||
	    gt_http_route(h, "POST", "/echo", h_echo_body, NULL, 0) != GT_OK ||
	    gt_http_route(h, "PUT", "/echo", h_echo_body, NULL, GT_HTTP_WORKER) != GT_OK ||
	    gt_http_route(h, "GET", "/bad", h_bad, NULL, 0) != GT_OK ||
	    gt_http_route(h, "GET", "/headers", h_headers, NULL, 0) != GT_OK ||
	    gt_http_route(h, "GET", "/deferred", h_deferred, NULL, 0) != GT_OK ||
	    gt_http_route(h, "GET", "/deferred-worker", h_deferred, NULL, GT_HTTP_WORKER) !=
	        GT_OK ||
	    gt_http_route(h, "GET", "/work", h_work, NULL, GT_HTTP_WORKER) != GT_OK ||
	    gt_http_route(h, "POST", "/admin/reset", h_admin, NULL, GT_HTTP_ADMIN) != GT_OK ||
	    gt_http_ws(h, "/ws", &test_ws_ops, NULL) != GT_OK)
		return -1;
	/* Invalid registrations are refused. */
	if (gt_http_route(h, "GET", "no-slash", h_hello, NULL, 0) != GT_EINVAL ||
	    gt_http_route(h, "BREW", "/x", h_hello, NULL, 0) != GT_EINVAL ||
	    gt_http_route(h, "GET", "/x/{", h_hello, NULL, 0) != GT_EINVAL)
		return -1;
	if (gt_http_start(h) != GT_OK)
		return -1;
	if (gt_http_route(h, "GET", "/late", h_hello, NULL, 0) != GT_EINVAL)
		return -1;
	g.h = h;
	g.port = gt_http_port(h);
	return g.port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[PATH_MAX + 32];

	(void)state;
	gt_http_free(g.h);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g.base);
	if (system(cmd) != 0)
		return -1;
	pthread_mutex_destroy(&g.mu);
	pthread_cond_destroy(&g.cv);
	return 0;
}

/* ================================================================ tests */

static void
test_gt_http_binds_loopback_ephemeral(void **state)
{
	struct sockaddr_in6 sa6;
	int                 fd;

	(void)state;
	assert_true(g.port > 0 && g.port < 65536);
	/* Bound to 127.0.0.1 only: the IPv6 loopback must not answer. */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&sa6, 0, sizeof(sa6));
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons((uint16_t)g.port);
		sa6.sin6_addr = in6addr_loopback;
		assert_int_not_equal(connect(fd, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
		close(fd);
	}
}

static void
test_gt_http_routing_404_405(void **state)
{
	resp r;

	(void)state;
	assert_int_equal(http_get(g.port, "/hello", &r), 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(head_value(r.headers, "content-type"), "text/plain");
	resp_free(&r);

	assert_int_equal(http_req(g.port, "POST", "/nope.json", NULL, "x", &r), 404);
	assert_error_body(&r, 404, "/nope.json");
	resp_free(&r);
	/* GET of an unknown file under the static root: also 404 JSON. */
	assert_int_equal(http_get(g.port, "/nope.json", &r), 404);
	assert_error_body(&r, 404, NULL);
	resp_free(&r);

	assert_int_equal(http_req(g.port, "POST", "/hello", NULL, "x", &r), 405);
	assert_error_body(&r, 405, NULL);
	assert_string_equal(head_value(r.headers, "allow"), "GET");
	resp_free(&r);
	assert_int_equal(http_req(g.port, "PUT", "/items/7", NULL, "x", &r), 405);
	assert_string_equal(head_value(r.headers, "allow"), "GET, DELETE");
	resp_free(&r);

	/* HEAD is served by GET routes, without a body. */
	assert_int_equal(http_req(g.port, "HEAD", "/hello", NULL, NULL, &r), 200);
	assert_string_equal(head_value(r.headers, "content-length"), "5");
	resp_free(&r);
}

static void
test_gt_http_params_and_query(void **state)
{
	resp         r;
	json_t      *j;
	json_error_t err;

	(void)state;
	assert_int_equal(http_get(g.port, "/items/GPU-42", &r), 200);
	assert_string_equal(head_value(r.headers, "content-type"), "application/json");
	j = json_loadb(r.body, r.body_len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "GPU-42");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/items/GPU-42");
	json_decref(j);
	resp_free(&r);

	assert_int_equal(http_req(g.port, "DELETE", "/items/a%20b", NULL, NULL, &r), 200);
	j = json_loadb(r.body, r.body_len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "a b");
	json_decref(j);
	resp_free(&r);

	/* A gpu key with a '/' (hostname/index) arrives decoded and fits {id...}. */
	assert_int_equal(http_get(g.port, "/gpus/host-a%2F3/telemetry", &r), 200);
	assert_string_equal(r.body, "host-a/3");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/gpus/GPU-1/telemetry?limit=1", &r), 200);
	assert_string_equal(r.body, "GPU-1");
	resp_free(&r);

	assert_int_equal(http_get(g.port, "/query?limit=10&name=a%20b+c%26d", &r), 200);
	assert_string_equal(r.body, "limit=10;name=a b c&d;missing=(null)");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/query?name=&limit", &r), 200);
	assert_string_equal(r.body, "limit=;name=;missing=(null)");
	resp_free(&r);
}

static void
test_gt_http_error_body_and_headers(void **state)
{
	resp r;

	(void)state;
	assert_int_equal(http_get(g.port, "/bad", &r), 400);
	assert_error_body(&r, 400, "bad thing: x \"quoted\"");
	resp_free(&r);

	assert_int_equal(http_req(g.port, "GET", "/headers",
	                          "Accept: application/x-protobuf\r\nX-Request-Id: abc-1\r\n", NULL,
	                          &r),
	                 200);
	assert_string_equal(r.body, "accept=application/x-protobuf;rid=abc-1;pb=1;method=GET");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/headers", &r), 200);
	assert_string_equal(r.body, "accept=(null);rid=(null);pb=0;method=GET");
	resp_free(&r);
}

static void
test_gt_http_static_files(void **state)
{
	resp r;
	int  fd;

	(void)state;
	assert_int_equal(http_get(g.port, "/assets/app.js", &r), 200);
	assert_string_equal(r.body, "console.log('app');");
	assert_string_equal(head_value(r.headers, "content-type"),
	                    "text/javascript; charset=utf-8");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/assets/style.css", &r), 200);
	assert_string_equal(head_value(r.headers, "content-type"), "text/css; charset=utf-8");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/data.json", &r), 200);
	assert_string_equal(head_value(r.headers, "content-type"), "application/json");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/logo.svg", &r), 200);
	assert_string_equal(head_value(r.headers, "content-type"), "image/svg+xml");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/", &r), 200);
	assert_string_equal(r.body, "<!doctype html><title>dash</title>");
	assert_string_equal(head_value(r.headers, "content-type"), "text/html; charset=utf-8");
	resp_free(&r);
	/* SPA fallback: a browser route without a dot gets the index... */
	assert_int_equal(http_req(g.port, "GET", "/gpus/host-a/detail",
	                          "Accept: text/html,application/xhtml+xml\r\n", NULL, &r),
	                 200);
	assert_string_equal(r.body, "<!doctype html><title>dash</title>");
	resp_free(&r);
	/* ...a missing file with an extension does not. */
	assert_int_equal(
	    http_req(g.port, "GET", "/assets/missing.js", "Accept: text/html\r\n", NULL, &r), 404);
	resp_free(&r);

	/* Bodies larger than one write chunk, from a file and from a handler, on one connection. */
	{
		char *want = big_payload();

		fd = tcp_connect(g.port);
		assert_true(fd >= 0);
		assert_int_equal(send_str(fd, "GET /big.txt HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		assert_int_equal(read_response(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, BIG_LEN);
		assert_memory_equal(r.body, want, BIG_LEN);
		resp_free(&r);
		assert_int_equal(send_str(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
		assert_int_equal(read_response(fd, &r, 0), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, BIG_LEN);
		assert_memory_equal(r.body, want, BIG_LEN);
		resp_free(&r);
		close(fd);
		free(want);
	}

	/* HEAD then GET on one connection: the HEAD answer carries no body. */
	fd = tcp_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(send_str(fd, "HEAD /data.json HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(read_response(fd, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(head_value(r.headers, "content-length"), "7");
	resp_free(&r);
	assert_int_equal(send_str(fd, "GET /data.json HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"a\":1}");
	resp_free(&r);
	close(fd);
}

static void
test_gt_http_traversal_refused(void **state)
{
	static const char *paths[] = {
	    "/../secret.txt",
	    "/assets/../../secret.txt",
	    "/%2e%2e/secret.txt",
	    "/%2E%2E/%2e%2e/secret.txt",
	    "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
	    "/..%2f..%2fsecret.txt",
	    "/%252e%252e/secret.txt",
	    "//etc/passwd",
	    "/etc/passwd",
	    "/%2fetc%2fpasswd",
	    "/..\\..\\secret.txt",
	    "/.%2e/.%2e/secret.txt",
	    "http://127.0.0.1/../secret.txt",
	};
	static const char nul[] = "GET /assets/app.js%00.html HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t            i;
	resp              r;
	int               st;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[512];
		int  n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);

		st = http_raw(g.port, req, (size_t)n, &r);
		if (st < 400 || st >= 500)
			fail_msg("'%s' answered %d", paths[i], st);
		if (r.body != NULL && (strstr(r.body, "top secret") || strstr(r.body, "root:")))
			fail_msg("'%s' leaked a file", paths[i]);
		resp_free(&r);
	}
	/* An encoded NUL: lws's URI parser hangs up before any callback (no status line). */
	st = http_raw(g.port, nul, sizeof(nul) - 1, &r);
	assert_true(st == -1 || (st >= 400 && st < 500));
	resp_free(&r);
}

static void
test_gt_http_overlong_refused(void **state)
{
	size_t big = 100000;
	char  *req = malloc(big + 256);
	resp   r;
	int    n, st;

	(void)state;
	/* A huge URI. */
	n = snprintf(req, 256, "GET /");
	memset(req + n, 'a', big);
	n += (int)big;
	n += snprintf(req + n, 256, " HTTP/1.1\r\nHost: x\r\n\r\n");
	st = http_raw(g.port, req, (size_t)n, &r);
	assert_true(st == -1 || (st >= 400 && st < 500));
	resp_free(&r);
	/* A huge header. */
	n = snprintf(req, 256, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'b', big);
	n += (int)big;
	n += snprintf(req + n, 256, "\r\n\r\n");
	st = http_raw(g.port, req, (size_t)n, &r);
	assert_true(st == -1 || (st >= 400 && st < 500));
	resp_free(&r);
	free(req);
	/* Still healthy. */
	assert_int_equal(http_get(g.port, "/hello", &r), 200);
	resp_free(&r);
}

static void
test_gt_http_body_limits(void **state)
{
	resp  r;
	char  req[512];
	char *body = malloc(MAX_BODY + 1);
	int   n;

	(void)state;
	assert_int_equal(http_req(g.port, "POST", "/echo", "Content-Type: application/json\r\n",
	                          "{\"x\":1}", &r),
	                 201);
	assert_string_equal(r.body, "{\"x\":1}");
	assert_string_equal(head_value(r.headers, "content-type"), "application/json");
	resp_free(&r);
	/* Exactly max_body is fine (through a worker route). */
	memset(body, 'z', MAX_BODY);
	body[MAX_BODY] = '\0';
	assert_int_equal(http_req(g.port, "PUT", "/echo", NULL, body, &r), 201);
	assert_int_equal(r.body_len, MAX_BODY);
	resp_free(&r);
	free(body);
	/* Announced over the limit: 413 before any body is read. */
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
	assert_int_equal(http_raw(g.port, req, (size_t)n, &r), 413);
	assert_error_body(&r, 413, NULL);
	resp_free(&r);
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
	assert_int_equal(http_raw(g.port, req, (size_t)n, &r), 413);
	resp_free(&r);
	/* Chunked uploads are refused rather than read without a bound. */
	n = snprintf(req, sizeof(req),
	             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(http_raw(g.port, req, (size_t)n, &r), 411);
	resp_free(&r);
}

static void
test_gt_http_deferred_reply_from_other_thread(void **state)
{
	static const char req[] = "GET /deferred HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_req      *dr;
	resp              r;
	int               fd;

	(void)state;
	fd = tcp_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, req, sizeof(req) - 1), 0);
	dr = take_stash();
	assert_non_null(dr);
	assert_string_equal(gt_http_req_path(dr), "/deferred");
	gt_sleep_ns(20 * GT_NS_PER_MS);
	gt_http_reply(dr, 202, "text/plain", "later", 5); /* from this (non-lws) thread */
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.body, "later");
	resp_free(&r);
	/* The connection is still usable (keep-alive after a deferred reply). */
	assert_int_equal(send_str(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	close(fd);
}

static void
test_gt_http_deferred_reply_after_client_left(void **state)
{
	static const char req[] = "GET /deferred-worker HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_req      *dr;
	uint64_t          before;
	struct linger     lg = {.l_onoff = 1, .l_linger = 0};
	resp              r;
	int               fd;

	(void)state;
	fd = tcp_connect(g.port);
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, req, sizeof(req) - 1), 0);
	dr = take_stash();
	assert_non_null(dr);
	/* Reset the connection under the pending request. lws 4.1 does not poll an HTTP/1
	 * connection whose transaction is pending, so it finds out when the late reply is
	 * written: the write fails and lws closes the connection (the reply-deadline test covers
	 * the other case, a reply for a connection already gone). Either way: no crash, no
	 * use-after-free (ASan), and the server keeps serving. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	gt_sleep_ns(50 * GT_NS_PER_MS);
	before = gt_http_requests(g.h);
	gt_http_error(dr, 504, "too late");
	assert_int_equal(http_get(g.port, "/hello", &r), 200);
	resp_free(&r);
	assert_true(gt_http_requests(g.h) >= before + 1);
}

static void
test_gt_http_worker_route(void **state)
{
	resp r;

	(void)state;
	assert_int_equal(http_get(g.port, "/hello", &r), 200); /* records the lws thread */
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/work", &r), 200);
	assert_string_equal(r.body, "worked");
	resp_free(&r);
	assert_false(pthread_equal(g.loop_thread, g.worker_thread));
	assert_false(pthread_equal(pthread_self(), g.worker_thread));
}

static void
test_gt_http_admin_token(void **state)
{
	resp r;

	(void)state;
	assert_int_equal(http_req(g.port, "POST", "/admin/reset", NULL, "", &r), 401);
	assert_error_body(&r, 401, NULL);
	assert_string_equal(head_value(r.headers, "www-authenticate"), "Bearer");
	resp_free(&r);
	assert_int_equal(
	    http_req(g.port, "POST", "/admin/reset", "Authorization: Bearer nope\r\n", "", &r),
	    401);
	assert_error_body(&r, 401, NULL);
	resp_free(&r);
	assert_int_equal(
	    http_req(g.port, "POST", "/admin/reset", "Authorization: Bearer " TOKEN "\r\n", "", &r),
	    200);
	assert_string_equal(r.body, "admin ok");
	resp_free(&r);
	/* Non-admin routes need no token. */
	assert_int_equal(http_get(g.port, "/hello", &r), 200);
	resp_free(&r);
}

static void
test_gt_http_cors(void **state)
{
	resp r;

	(void)state;
	assert_int_equal(http_get(g.port, "/hello", &r), 200);
	assert_non_null(head_value(r.headers, "access-control-allow-origin"));
	assert_string_equal(head_value(r.headers, "access-control-allow-origin"), "*");
	resp_free(&r);
	assert_int_equal(http_get(g.port, "/nope", &r), 404);
	assert_string_equal(head_value(r.headers, "access-control-allow-origin"), "*");
	resp_free(&r);
	assert_int_equal(http_req(g.port, "OPTIONS", "/echo",
	                          "Origin: http://x\r\nAccess-Control-Request-Method: POST\r\n",
	                          NULL, &r),
	                 204);
	assert_string_equal(head_value(r.headers, "access-control-allow-origin"), "*");
	assert_non_null(head_value(r.headers, "access-control-allow-methods"));
	resp_free(&r);
}

static void
test_gt_http_keep_alive(void **state)
{
	static const char r1[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char r2[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	static const char r3[] = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
	uint64_t          before = gt_http_requests(g.h);
	resp              r;
	int               fd = tcp_connect(g.port);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, r1, sizeof(r1) - 1), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	resp_free(&r);
	assert_int_equal(send_all(fd, r2, sizeof(r2) - 1), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "abc");
	resp_free(&r);
	/* An error answer keeps the connection too, and pipelined requests are both answered. */
	assert_int_equal(send_all(fd, r3, sizeof(r3) - 1), 0);
	assert_int_equal(send_all(fd, r1, sizeof(r1) - 1), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 404);
	resp_free(&r);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	close(fd);
	assert_true(gt_http_requests(g.h) >= before + 4);
}

static void
test_gt_http_ws_broadcast_two_clients(void **state)
{
	int opened = atomic_load(&g.ws_opened), closed = atomic_load(&g.ws_closed);
	int a, b, bad;

	(void)state;
	a = ws_connect(g.port, "/ws");
	b = ws_connect(g.port, "/ws");
	assert_true(a >= 0 && b >= 0);
	WAIT_FOR(atomic_load(&g.ws_opened) == opened + 2);
	assert_int_equal(gt_http_ws_clients(g.h), 2);
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, "hello all", 9), GT_OK);
	assert_ws_text(a, "hello all");
	assert_ws_text(b, "hello all");
	/* Only the configured path upgrades. */
	bad = ws_connect(g.port, "/not-ws");
	assert_int_equal(bad, -1);
	close(a);
	close(b);
	WAIT_FOR(atomic_load(&g.ws_closed) == closed + 2);
	assert_int_equal(gt_http_ws_clients(g.h), 0);
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
	a = ws_connect(g.port, "/ws");
	assert_true(a >= 0);
	WAIT_FOR(atomic_load(&g.ws_opened) == opened + 1);
	b = ws_connect(g.port, "/ws");
	assert_true(b >= 0);
	WAIT_FOR(atomic_load(&g.ws_opened) == opened + 2);
	id_a = g.ws_ids[opened];
	assert_int_equal(ws_send_text(a, "sub:gpu-a"), 0);
	assert_int_equal(ws_send_text(b, "sub:gpu-b"), 0);
	WAIT_FOR(atomic_load(&g.ws_messages) == msgs + 2);
	/* A longer (16-bit length) masked frame arrives whole. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "msg:", 4);
	assert_int_equal(ws_send_text(b, big), 0);
	WAIT_FOR(atomic_load(&g.ws_messages) == msgs + 3);
	assert_int_equal(strncmp(g.last_msg, "msg:mmm", 7), 0);

	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-a", "for-a", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-b", "for-b", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, "gpu-c", "for-c", 5), GT_OK);
	assert_int_equal(gt_http_ws_broadcast(g.h, NULL, "for-all", 7), GT_OK);
	assert_int_equal(gt_http_ws_send(g.h, id_a, "only-a", 6), GT_OK);
	assert_int_equal(gt_http_ws_send(g.h, 999999, "nobody", 6), GT_ENOENT);
	/* Per-client order is kept, so what is not first was filtered out. */
	assert_ws_text(a, "for-a");
	assert_ws_text(a, "for-all");
	assert_ws_text(a, "only-a");
	assert_ws_text(b, "for-b");
	assert_ws_text(b, "for-all");
	close(a);
	close(b);
	WAIT_FOR(atomic_load(&g.ws_closed) == closed + 2);
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
	fd = ws_connect_opt(port, "/live", 4096);
	assert_true(fd >= 0);
	WAIT_FOR(gt_http_ws_clients(h) == 1);
	payload = malloc(plen);
	memset(payload, 'p', plen);
	for (i = 0; i < 256; i++)
		assert_int_equal(gt_http_ws_broadcast(h, "t", payload, plen), GT_OK);
	free(payload);
	WAIT_FOR(gt_http_ws_dropped(h) > 0);
	assert_true(gt_http_ws_dropped(h) <= 256);
	gt_http_free(h);
	close(fd);
}

/* A separate server with a short reply deadline: an unanswered request gets a 504, the late
 * reply is dropped, and the connection stays usable. */
static void
test_gt_http_reply_deadline(void **state)
{
	static const char req[] = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char again[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h = NULL;
	gt_http_req      *dr;
	resp              r;
	int               fd;

	(void)state;
	cfg.bind = "127.0.0.1";
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_set_timeout(h, -1), GT_EINVAL);
	assert_int_equal(gt_http_set_timeout(h, 150 * GT_NS_PER_MS), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/wait", h_deferred, NULL, 0), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/hello", h_hello, NULL, 0), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	assert_int_equal(gt_http_set_timeout(h, 0), GT_EINVAL); /* after start */
	fd = tcp_connect(gt_http_port(h));
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, req, sizeof(req) - 1), 0);
	dr = take_stash();
	assert_non_null(dr);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 504);
	assert_error_body(&r, 504, NULL);
	resp_free(&r);
	gt_http_reply(dr, 200, "text/plain", "late", 4); /* dropped */
	assert_int_equal(send_all(fd, again, sizeof(again) - 1), 0);
	assert_int_equal(read_response(fd, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	resp_free(&r);
	close(fd);
	gt_http_free(h);
}

/* A separate server freed while a deferred request was never answered. */
static void
test_gt_http_free_with_pending_request(void **state)
{
	static const char req[] = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
	gt_http_cfg       cfg = {0};
	gt_http          *h = NULL;
	int               fd;

	(void)state;
	cfg.bind = "127.0.0.1";
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_route(h, "GET", "/wait", h_deferred, NULL, 0), GT_OK);
	assert_int_equal(gt_http_start(h), GT_OK);
	fd = tcp_connect(gt_http_port(h));
	assert_true(fd >= 0);
	assert_int_equal(send_all(fd, req, sizeof(req) - 1), 0);
	assert_non_null(take_stash());
	gt_http_free(h); /* frees the request: no leak, no hang */
	close(fd);
	gt_http_free(NULL);
}

static void
test_gt_http_new_rejects_bad_config(void **state)
{
	gt_http_cfg cfg = {0};
	gt_http    *h = NULL;

	(void)state;
	cfg.port = 70000;
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	cfg.port = 0;
	cfg.static_root = "/definitely/not/here";
	assert_int_equal(gt_http_new(&h, &cfg), GT_ENOENT);
	cfg.static_root = NULL;
	cfg.static_index = "../x.html";
	assert_int_equal(gt_http_new(&h, &cfg), GT_EINVAL);
	assert_int_equal(gt_http_new(NULL, &cfg), GT_EINVAL);
	/* A port already taken: start fails cleanly, free still works. */
	cfg.static_index = NULL;
	cfg.bind = "127.0.0.1";
	cfg.port = g.port;
	assert_int_equal(gt_http_new(&h, &cfg), GT_OK);
	assert_int_equal(gt_http_start(h), GT_EIO);
	gt_http_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_http_binds_loopback_ephemeral),
	    cmocka_unit_test(test_gt_http_routing_404_405),
	    cmocka_unit_test(test_gt_http_params_and_query),
	    cmocka_unit_test(test_gt_http_error_body_and_headers),
	    cmocka_unit_test(test_gt_http_static_files),
	    cmocka_unit_test(test_gt_http_traversal_refused),
	    cmocka_unit_test(test_gt_http_overlong_refused),
	    cmocka_unit_test(test_gt_http_body_limits),
	    cmocka_unit_test(test_gt_http_deferred_reply_from_other_thread),
	    cmocka_unit_test(test_gt_http_deferred_reply_after_client_left),
	    cmocka_unit_test(test_gt_http_worker_route),
	    cmocka_unit_test(test_gt_http_admin_token),
	    cmocka_unit_test(test_gt_http_cors),
	    cmocka_unit_test(test_gt_http_keep_alive),
	    cmocka_unit_test(test_gt_http_ws_broadcast_two_clients),
	    cmocka_unit_test(test_gt_http_ws_message_and_topic_filter),
	    cmocka_unit_test(test_gt_http_ws_drop_counter),
	    cmocka_unit_test(test_gt_http_reply_deadline),
	    cmocka_unit_test(test_gt_http_free_with_pending_request),
	    cmocka_unit_test(test_gt_http_new_rejects_bad_config),
	};

	gt_log_open("test", getenv("GT_TEST_LOG_DEBUG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
