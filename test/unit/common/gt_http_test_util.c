/* gt_http_test_util.c - the shared part of the gt_http unit tests (see gt_http_test_util.h):
 * a tiny HTTP/1.1 and WebSocket client over plain sockets, a temporary static tree, a few
 * handlers and the server-start helper.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "gt_http_test_util.h"
#include "gt_test.h"

/* ================================================================ HTTP/1.1 client */

void
ht_resp_free(ht_resp *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int
ht_connect_opt(int port, int rcvbuf)
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

int
ht_connect(int port)
{
	return ht_connect_opt(port, 0);
}

int
ht_send_all(int fd, const void *p, size_t n)
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

int
ht_send_str(int fd, const char *s)
{
	return ht_send_all(fd, s, strlen(s));
}

int
ht_recv_exact(int fd, void *p, size_t n)
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

char *
ht_read_head(int fd)
{
	size_t cap = 1024, len = 0;
	char  *b = malloc(cap);

	for (;;) {
		char c;

		if (b == NULL || ht_recv_exact(fd, &c, 1) != 0) {
			free(b);
			return NULL;
		}
		if (len + 2 > cap) {
			char *nb = realloc(b, cap *= 2);

			if (nb == NULL) {
				free(b);
				return NULL;
			}
			b = nb;
		}
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

const char *
ht_head_value(const char *headers, const char *name)
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

int
ht_read_response(int fd, ht_resp *r, int head)
{
	const char *cl;
	size_t      n = 0;

	memset(r, 0, sizeof(*r));
	if ((r->headers = ht_read_head(fd)) == NULL)
		return -1;
	if (sscanf(r->headers, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if ((cl = ht_head_value(r->headers, "content-length")) != NULL)
		n = strtoul(cl, NULL, 10);
	if (head)
		n = 0;
	r->body = calloc(1, n + 1);
	r->body_len = n;
	if (r->body == NULL || (n > 0 && ht_recv_exact(fd, r->body, n) != 0))
		return -1;
	return 0;
}

int
ht_raw(int port, const char *raw, size_t len, ht_resp *r)
{
	int fd = ht_connect(port), rv = -1;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (ht_send_all(fd, raw, len) == 0 &&
	    ht_read_response(fd, r, strncmp(raw, "HEAD ", 5) == 0) == 0)
		rv = r->status;
	close(fd);
	return rv;
}

int
ht_req(int port, const char *method, const char *path, const char *extra, const char *body,
       ht_resp *r)
{
	char   req[8192];
	size_t blen = body != NULL ? strlen(body) : 0;
	int    n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path,
	             extra != NULL ? extra : "");
	if (body != NULL)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "Content-Length: %zu\r\n", blen);
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n%s", body != NULL ? body : "");
	assert_true(n > 0 && (size_t)n < sizeof(req));
	return ht_raw(port, req, (size_t)n, r);
}

int
ht_get(int port, const char *path, ht_resp *r)
{
	return ht_req(port, "GET", path, NULL, NULL, r);
}

void
ht_assert_error_body(const ht_resp *r, int status, const char *msg_part)
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
	assert_string_equal(ht_head_value(r->headers, "content-type"), "application/json");
	json_decref(root);
}

/* ================================================================ WebSocket client */

int
ht_ws_connect_opt(int port, const char *path, int rcvbuf)
{
	char  req[512];
	char *head;
	int   fd = ht_connect_opt(port, rcvbuf), ok;

	if (fd < 0)
		return -1;
	snprintf(
	    req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    path);
	if (ht_send_all(fd, req, strlen(req)) != 0 || (head = ht_read_head(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* RFC 6455 section 1.3: this key's accept value. */
	ok = strncmp(head, "HTTP/1.1 101", 12) == 0 &&
	     ht_head_value(head, "sec-websocket-accept") &&
	     strcmp(ht_head_value(head, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") ==
	         0;
	free(head);
	if (!ok) {
		close(fd);
		return -1;
	}
	return fd;
}

int
ht_ws_connect(int port, const char *path)
{
	return ht_ws_connect_opt(port, path, 0);
}

int
ht_ws_send_text(int fd, const char *text)
{
	size_t         len = strlen(text), h = 0, i;
	unsigned char  mask[4] = {0x12, 0x34, 0x56, 0x78};
	unsigned char *frame;
	int            rv;

	assert_true(len < 65536);
	frame = malloc(8 + len);
	assert_non_null(frame);
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
	rv = ht_send_all(fd, frame, h + len);
	free(frame);
	return rv;
}

int
ht_ws_read(int fd, char **out, size_t *outlen)
{
	unsigned char h[2], ext[8];
	uint64_t      len;
	int           i;

	*out = NULL;
	if (ht_recv_exact(fd, h, 2) != 0)
		return -1;
	if (h[1] & 0x80)
		fail_msg("server frame is masked");
	len = h[1] & 0x7f;
	if (len == 126) {
		if (ht_recv_exact(fd, ext, 2) != 0)
			return -1;
		len = ((uint64_t)ext[0] << 8) | ext[1];
	} else if (len == 127) {
		if (ht_recv_exact(fd, ext, 8) != 0)
			return -1;
		for (len = 0, i = 0; i < 8; i++)
			len = (len << 8) | ext[i];
	}
	if (len > ((uint64_t)1 << 30) || (*out = calloc(1, (size_t)len + 1)) == NULL)
		return -1;
	if (len > 0 && ht_recv_exact(fd, *out, (size_t)len) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	if (outlen != NULL)
		*outlen = (size_t)len;
	return h[0] & 0x0f;
}

void
ht_assert_ws_text(int fd, const char *want)
{
	char *got = NULL;
	int   op = ht_ws_read(fd, &got, NULL);

	if (op != 1 || got == NULL || strcmp(got, want) != 0)
		fail_msg("expected text frame '%s', got op %d '%s'", want, op,
		         got ? got : "(none)");
	free(got);
}

/* ================================================================ the static tree */

char *
ht_big_payload(void)
{
	char  *b = malloc(HT_BIG_LEN + 1);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < HT_BIG_LEN; i++)
		b[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	b[HT_BIG_LEN] = '\0';
	return b;
}

void
ht_write_file(const char *dir, const char *name, const char *text)
{
	char  path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

int
ht_tree_make(ht_tree *t)
{
	char  sub[2 * PATH_MAX];
	char *tmp = gt_test_tmpdir("http"), *b;

	memset(t, 0, sizeof(*t));
	if (realpath(tmp, t->base) == NULL) {
		gt_test_rmrf(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	snprintf(t->root, sizeof(t->root), "%s/www", t->base);
	snprintf(sub, sizeof(sub), "%s/assets", t->root);
	if (mkdir(t->root, 0700) != 0 || mkdir(sub, 0700) != 0)
		return -1;
	ht_write_file(t->root, "index.html", HT_INDEX_HTML);
	ht_write_file(t->root, "assets/app.js", "console.log('app');");
	ht_write_file(t->root, "assets/style.css", "body{}");
	ht_write_file(t->root, "data.json", "{\"a\":1}");
	ht_write_file(t->root, "logo.svg", "<svg/>");
	ht_write_file(t->base, "secret.txt", "top secret");
	b = ht_big_payload();
	ht_write_file(t->root, "big.txt", b);
	free(b);
	return 0;
}

void
ht_tree_remove(ht_tree *t)
{
	if (t->base[0] != '\0')
		gt_test_rmrf(t->base);
	t->base[0] = t->root[0] = '\0';
}

/* ================================================================ handlers and servers */

void
ht_hello(gt_http_req *r, void *arg)
{
	(void)arg;
	gt_http_reply(r, 200, "text/plain", "hello", 5);
}

void
ht_echo_body(gt_http_req *r, void *arg)
{
	size_t      len;
	const void *b = gt_http_req_body(r, &len);
	const char *ct = gt_http_req_header(r, "content-type");

	(void)arg;
	gt_http_reply(r, 201, ct ? ct : "application/octet-stream", b, len);
}

static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  stash_cv = PTHREAD_COND_INITIALIZER;
static gt_http_req    *stash; /* a deferred request */

void
ht_deferred(gt_http_req *r, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&stash_mu);
	stash = r;
	pthread_cond_broadcast(&stash_cv);
	pthread_mutex_unlock(&stash_mu);
}

gt_http_req *
ht_take_stash(void)
{
	gt_http_req    *r;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&stash_mu);
	while (stash == NULL)
		if (pthread_cond_timedwait(&stash_cv, &stash_mu, &ts) != 0)
			break;
	r = stash;
	stash = NULL;
	pthread_mutex_unlock(&stash_mu);
	return r;
}

gt_err
ht_server_routes(gt_http *h, const ht_route *routes, size_t n)
{
	gt_err rv;
	size_t i;

	for (i = 0; i < n; i++) {
		rv = gt_http_route(h, routes[i].method, routes[i].pattern, routes[i].fn,
		                   routes[i].arg, routes[i].flags);
		if (rv != GT_OK)
			return rv;
	}
	return GT_OK;
}

gt_err
ht_server_start(gt_http **out, const gt_http_cfg *cfg, const ht_route *routes, size_t n,
                const char *ws_path, const gt_ws_ops *ws_ops)
{
	gt_http *h = NULL;
	gt_err   rv;

	*out = NULL;
	if ((rv = gt_http_new(&h, cfg)) != GT_OK)
		return rv;
	if ((rv = ht_server_routes(h, routes, n)) != GT_OK)
		goto fail;
	if (ws_path != NULL && (rv = gt_http_ws(h, ws_path, ws_ops, NULL)) != GT_OK)
		goto fail;
	if ((rv = gt_http_start(h)) != GT_OK)
		goto fail;
	*out = h;
	return GT_OK;
fail:
	gt_http_free(h);
	return rv;
}
