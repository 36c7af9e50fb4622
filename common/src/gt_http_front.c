/* gt_http_front.c - the front door of the HTTP runtime (see gt_http_int.h): every accepted
 * connection first waits here, on the front thread, until its first request head is
 * complete (peeked, not read), and only then goes to lws (lws_adopt_socket_vhost), which
 * reads it from the socket itself. On the way the head is checked by gt__http_head_check, so what
 * lws 4.1 would drop without a word, or answer with its own HTML, gets our JSON error instead: an
 * unknown method or CONNECT 405 (with Allow), a request line over GT__HTTP_HEAD_MAX 414, a head
 * over it or with too many lines 431, NUL/control bytes or a malformed line 400, no head within
 * header_timeout_s 408. Silent and slowloris peers therefore never reach lws at all: at most
 * max_conns of them wait here, the oldest is closed first.
 *
 * lws keeps the listening socket: LWS_CALLBACK_FILTER_NETWORK_CONNECTION hands a dup() of
 * each accepted socket to the front thread (through a pipe) and lets lws close its own copy.
 * Later requests on a keep-alive connection are parsed by lws alone.
 *
 * Threads: gt__http_head_check is pure (any thread); gt__http_front_accept and
 * gt__http_front_drain run on the lws thread; the rest on the front thread, which owns the
 * waiting connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

#define FRONT_POLL_MS 200
#define FRONT_LINGER_NS (2 * GT_NS_PER_S) /* reading (and dropping) after an error answer */
#define FRONT_MAX_LINES 100
#define FRONT_ALLOW "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

/* ================================================================ the head check (pure) */

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
method_known(const char *m, size_t n)
{
	static const char *const known[] = {"GET",   "HEAD",   "POST",   "PUT",
	                                    "PATCH", "DELETE", "OPTIONS"};
	size_t                   i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], m, n) == 0)
			return 1;
	return 0;
}

static int
refuse(int st, const char *why, int *status, const char **msg)
{
	*status = st;
	*msg = why;
	return -1;
}

int
gt__http_head_check(const char *buf, size_t len, size_t max, int *status, const char **msg)
{
	size_t i = 0, mlen, tstart, lines = 0;

	/* method SP */
	while (i < len && is_tchar((unsigned char)buf[i]))
		i++;
	mlen = i;
	if (i == len)
		return mlen > 32 ? refuse(400, "malformed request line", status, msg) : 0;
	if (buf[i] != ' ' || mlen == 0 || mlen > 32)
		return refuse(400, "malformed request line", status, msg);
	tstart = ++i;
	/* request-target SP: printable ASCII only, no %00 */
	for (; i < len && buf[i] != ' '; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r' || c == '\n')
			return refuse(400, "malformed request line", status, msg);
		if (c < 0x20 || c == 0x7f)
			return refuse(400, "control byte in the path", status, msg);
		if (c == '%' && i + 2 < len && buf[i + 1] == '0' && buf[i + 2] == '0')
			return refuse(400, "NUL in the path", status, msg);
		if (i >= max)
			return refuse(414, "request line too long", status, msg);
	}
	if (i == len)
		return len > max ? refuse(414, "request line too long", status, msg) : 0;
	if (i == tstart)
		return refuse(400, "malformed request line", status, msg);
	/* SP HTTP-version CRLF */
	{
		const char *nl;
		size_t      vlen, look = len - i - 1 < 10 ? len - i - 1 : 10;

		i++;
		nl = memchr(buf + i, '\n', look);
		if (nl == NULL)
			return look < 10 ? 0 : refuse(400, "malformed request line", status, msg);
		vlen = (size_t)(nl - (buf + i));
		if (vlen > 0 && buf[i + vlen - 1] == '\r')
			vlen--;
		if (vlen != 8 ||
		    (memcmp(buf + i, "HTTP/1.1", 8) != 0 && memcmp(buf + i, "HTTP/1.0", 8) != 0))
			return refuse(vlen >= 5 && memcmp(buf + i, "HTTP/", 5) == 0 ? 505 : 400,
			              "unsupported HTTP version", status, msg);
		i = (size_t)(nl - buf) + 1;
	}
	if (!method_known(buf, mlen)) /* CONNECT, TRACE, BREW...: JSON 405, not lws's HTML 403 */
		return refuse(405, "method not allowed", status, msg);
	if (buf[tstart] != '/' && buf[tstart] != '*')
		return refuse(400, "malformed request line", status, msg);
	/* header lines, up to the empty one */
	for (;;) {
		size_t start = i, colon = 0;

		for (; i < len && buf[i] != '\n'; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == 0)
				return refuse(400, "NUL in a header", status, msg);
			if (c == ':' && colon == 0)
				colon = i;
			if (i >= max)
				return refuse(431, "request header fields too large", status, msg);
		}
		if (i == len)
			return len > max
			           ? refuse(431, "request header fields too large", status, msg)
			           : 0;
		/* a whole line [start, i] */
		if (i == start || (i == start + 1 && buf[start] == '\r'))
			return (int)(i + 1); /* the empty line: complete */
		if (++lines > FRONT_MAX_LINES)
			return refuse(431, "too many header fields", status, msg);
		if (colon == 0 || colon == start || buf[start] == ' ' || buf[start] == '\t')
			return refuse(400, "malformed header line", status, msg);
		for (size_t k = start; k < colon; k++)
			if (!is_tchar((unsigned char)buf[k]))
				return refuse(400, "malformed header name", status, msg);
		i++;
	}
}

/* ================================================================ the front thread */

typedef struct front_conn {
	int     fd;
	int64_t t0;        /* accepted */
	int64_t linger_ns; /* >0: answered with an error; dropping input until then */
	size_t  len;
	char    buf[GT__HTTP_HEAD_MAX + 1];
} front_conn;

typedef struct gt__http_handoff {
	struct gt__http_handoff *next;
	int                      fd;
} gt__http_handoff;

static const char *
status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Writes a JSON error on f's socket, then half-closes it and drops what still arrives for a
 * while, so that the client reads the answer instead of a reset. */
static void
front_answer(gt_http *h, front_conn *f, int status, const char *why, int64_t now)
{
	char   out[768];
	gt_buf b;
	int    n;

	gt_buf_init(&b);
	if (gt__http_error_json(&b, status, why) == GT_OK) {
		n = snprintf(out, sizeof(out),
		             "HTTP/1.1 %d %s\r\nserver: %s\r\ncontent-type: application/json\r\n"
		             "content-length: %zu\r\n%sconnection: close\r\n\r\n%.*s",
		             status, status_text(status), h->service, b.len,
		             status == 405 ? "allow: " FRONT_ALLOW "\r\n" : "", (int)b.len,
		             (const char *)b.data);
		if (n > 0 && (size_t)n < sizeof(out))
			(void)!send(f->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	gt_buf_fini(&b);
	atomic_fetch_add(&h->requests, 1);
	GT_LOGD("http.refused", GT_KV_INT("status", status), GT_KV_STR("reason", why));
	shutdown(f->fd, SHUT_WR);
	f->linger_ns = now + FRONT_LINGER_NS;
}

/* Gives f's socket to the lws thread; the head is still unread in the socket (peeked only). */
static void
front_handoff(gt_http *h, front_conn *f)
{
	gt__http_handoff *o = malloc(sizeof(*o));
	int               one = 1;

	setsockopt(f->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	if (o == NULL) {
		close(f->fd);
		return;
	}
	o->fd = f->fd;
	pthread_mutex_lock(&h->lock);
	o->next = NULL;
	if (h->handoff_tail != NULL)
		h->handoff_tail->next = o;
	else
		h->handoff_head = o;
	h->handoff_tail = o;
	pthread_mutex_unlock(&h->lock);
	lws_cancel_service(h->ctx);
}

/* Reads what f has; returns 0 to keep it, 1 when it is gone (closed or handed off). */
static int
front_read(gt_http *h, front_conn *f, int64_t now)
{
	ssize_t     n;
	int         st, rv;
	const char *why;

	if (f->linger_ns != 0) {
		char drop[4096];

		n = recv(f->fd, drop, sizeof(drop), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return 0;
		close(f->fd);
		return 1;
	}
	/* Peek, never consume: lws reads the head itself once it has the socket. SO_RCVLOWAT
	 * keeps poll quiet until more than what was seen has arrived. */
	n = recv(f->fd, f->buf, sizeof(f->buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close(f->fd);
		return 1;
	}
	f->len = (size_t)n;
	rv = gt__http_head_check(f->buf, f->len, GT__HTTP_HEAD_MAX, &st, &why);
	if (rv > 0) {
		front_handoff(h, f);
		return 1;
	}
	if (rv < 0) {
		front_answer(h, f, st, why, now);
	} else {
		int low = n + 1;

		setsockopt(f->fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low));
	}
	return 0;
}

static void *
front_thread(void *arg)
{
	gt_http       *h = arg;
	front_conn   **fc;
	struct pollfd *pfd;
	size_t         n = 0, i, cap = (size_t)h->max_conns;

	fc = calloc(cap, sizeof(*fc));
	pfd = calloc(cap + 1, sizeof(*pfd));
	if (fc == NULL || pfd == NULL)
		goto out;
	while (!atomic_load(&h->stop)) {
		int64_t now;
		size_t  k;

		pfd[0].fd = h->front_pipe[0];
		pfd[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pfd[i + 1].fd = fc[i]->fd;
			pfd[i + 1].events = POLLIN;
			pfd[i + 1].revents = 0;
		}
		if (poll(pfd, n + 1, FRONT_POLL_MS) < 0 && errno != EINTR)
			break;
		now = gt_mono_ns();
		/* Waiting connections: read, answer, hand off, time out. */
		for (i = 0, k = 0; i < n; i++) {
			front_conn *f = fc[i];
			int         gone = 0;

			if (pfd[i + 1].revents != 0)
				gone = front_read(h, f, now);
			if (!gone && f->linger_ns != 0 && now > f->linger_ns) {
				close(f->fd);
				gone = 1;
			} else if (!gone && f->linger_ns == 0 &&
			           now - f->t0 > (int64_t)h->header_timeout_s * GT_NS_PER_S) {
				atomic_fetch_add(&h->evicted, 1);
				front_answer(h, f, 408, "no complete request head in time", now);
			}
			if (gone) {
				free(f);
				atomic_fetch_sub(&h->front_waiting, 1);
			} else {
				fc[k++] = f;
			}
		}
		n = k;
		/* New connections from the lws thread (oldest first in fc). */
		if (pfd[0].revents & POLLIN) {
			int     fds[64];
			ssize_t got = read(h->front_pipe[0], fds, sizeof(fds));

			for (i = 0; got > 0 && i < (size_t)got / sizeof(int); i++) {
				front_conn *f;

				if (n == cap) { /* full: the oldest waiting one goes */
					atomic_fetch_add(&h->evicted, 1);
					close(fc[0]->fd);
					free(fc[0]);
					memmove(fc, fc + 1, (n - 1) * sizeof(*fc));
					n--;
					atomic_fetch_sub(&h->front_waiting, 1);
				}
				if ((f = malloc(sizeof(*f))) == NULL) {
					close(fds[i]);
					continue;
				}
				f->fd = fds[i];
				f->t0 = now;
				f->linger_ns = 0;
				f->len = 0;
				fc[n++] = f;
				atomic_fetch_add(&h->front_waiting, 1);
			}
		}
	}
out:
	for (i = 0; i < n; i++) {
		close(fc[i]->fd);
		free(fc[i]);
		atomic_fetch_sub(&h->front_waiting, 1);
	}
	free(fc);
	free(pfd);
	return NULL;
}

/* ================================================================ lws thread side */

int
gt__http_front_accept(gt_http *h, int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (nfd < 0)
		return 1;
	if (fcntl(nfd, F_SETFL, fcntl(nfd, F_GETFL) | O_NONBLOCK) != 0 ||
	    write(h->front_pipe[1], &nfd, sizeof(nfd)) != (ssize_t)sizeof(nfd))
		close(nfd); /* the front is not keeping up: refused */
	return 1;           /* lws closes its copy */
}

void
gt__http_front_drain(gt_http *h)
{
	gt__http_handoff *o;
	struct lws_vhost *vh = lws_get_vhost_by_name(h->ctx, "default");

	pthread_mutex_lock(&h->lock);
	o = h->handoff_head;
	h->handoff_head = h->handoff_tail = NULL;
	pthread_mutex_unlock(&h->lock);
	while (o != NULL) {
		gt__http_handoff *next = o->next;

		/* On failure lws has closed the socket itself. */
		if (vh == NULL || atomic_load(&h->stop))
			close(o->fd);
		else /* on failure lws has closed the socket itself */
			(void)lws_adopt_socket_vhost(vh, o->fd);
		free(o);
		o = next;
	}
}

gt_err
gt__http_front_start(gt_http *h)
{
	int err;

	if (pipe2(h->front_pipe, O_CLOEXEC) != 0)
		return gt_err_from_errno(errno);
	fcntl(h->front_pipe[1], F_SETFL, O_NONBLOCK);
	h->front_pipe_ok = 1;
	if ((err = pthread_create(&h->front, NULL, front_thread, h)) != 0)
		return gt_err_from_errno(err);
	h->front_up = 1;
	return GT_OK;
}

void
gt__http_front_stop(gt_http *h)
{
	gt__http_handoff *o;
	int               fd;

	if (h->front_up)
		pthread_join(h->front, NULL);
	h->front_up = 0;
	if (h->front_pipe_ok) {
		fcntl(h->front_pipe[0], F_SETFL, O_NONBLOCK);
		while (read(h->front_pipe[0], &fd, sizeof(fd)) == (ssize_t)sizeof(fd))
			close(fd);
		close(h->front_pipe[0]);
		close(h->front_pipe[1]);
		h->front_pipe_ok = 0;
	}
	for (o = h->handoff_head; o != NULL;) {
		gt__http_handoff *next = o->next;

		close(o->fd);
		free(o);
		o = next;
	}
	h->handoff_head = h->handoff_tail = NULL;
}
