/* gt_wsc.c - see gt_wsc.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gt/gt_buf.h"
#include "gt/gt_time.h"
#include "gt_wsc.h"

struct gt_wsc {
	int    fd;
	int    closed;
	int    no_pong;
	gt_buf in;  /* bytes read; in.data[off..len) not yet consumed */
	size_t off; /* consumed prefix, compacted away before the next read */
};

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

/* Reads more bytes into c->in, waiting up to ms. 1 = got bytes, 0 = timeout, -1 = closed. */
static int
fill(gt_wsc *c, int ms)
{
	struct pollfd pfd = {c->fd, POLLIN, 0};
	char          buf[65536];
	ssize_t       r;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (c->off > 0) {
		memmove(c->in.data, c->in.data + c->off, c->in.len - c->off);
		c->in.len -= c->off;
		c->off = 0;
	}
	r = recv(c->fd, buf, sizeof(buf), 0);
	if (r <= 0) {
		c->closed = 1;
		return -1;
	}
	gt_buf_append(&c->in, buf, (size_t)r);
	return 1;
}

static void
consume(gt_wsc *c, size_t n)
{
	c->off += n;
}

static int
send_frame(gt_wsc *c, int opcode, const void *data, size_t len)
{
	unsigned char hdr[14], mask[4] = {0x12, 0x34, 0x56, 0x78};
	size_t        hl = 0, i;
	char         *m = malloc(len ? len : 1);
	int           rv;

	hdr[hl++] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		hdr[hl++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		hdr[hl++] = 0x80 | 126;
		hdr[hl++] = (unsigned char)(len >> 8);
		hdr[hl++] = (unsigned char)len;
	} else {
		hdr[hl++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			hdr[hl++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(hdr + hl, mask, 4);
	hl += 4;
	for (i = 0; i < len; i++)
		m[i] = (char)(((const unsigned char *)data)[i] ^ mask[i % 4]);
	rv = send_all(c->fd, hdr, hl) || send_all(c->fd, m, len);
	free(m);
	return rv ? -1 : 0;
}

gt_wsc *
gt_wsc_open(int port, const char *path, int rcvbuf)
{
	gt_wsc            *c = calloc(1, sizeof(*c));
	struct sockaddr_in a;
	char               req[512];
	int64_t            deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	int                one = 1;

	if (c == NULL)
		return NULL;
	gt_buf_init(&c->in);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		goto fail;
	if (rcvbuf > 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto fail;
	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n\r\n",
	         path, port);
	if (send_all(c->fd, req, strlen(req)) != 0)
		goto fail;
	while (c->in.len < 4 || c->in.data == NULL || strstr(c->in.data, "\r\n\r\n") == NULL) {
		if (gt_mono_ns() > deadline || fill(c, 100) < 0)
			goto fail;
		if (c->in.data)
			c->in.data[c->in.len] = '\0';
	}
	if (strncmp(c->in.data, "HTTP/1.1 101", 12) != 0)
		goto fail;
	consume(c, (size_t)(strstr(c->in.data, "\r\n\r\n") + 4 - c->in.data));
	return c;
fail:
	gt_wsc_close(c);
	return NULL;
}

int
gt_wsc_send(gt_wsc *c, const char *text)
{
	return send_frame(c, 1, text, strlen(text));
}

char *
gt_wsc_recv(gt_wsc *c, int64_t timeout_ns)
{
	int64_t deadline = gt_mono_ns() + timeout_ns;

	for (;;) {
		const unsigned char *p = (const unsigned char *)c->in.data + c->off;
		size_t               avail = c->in.len - c->off, need = 2, len, off;
		int                  op;

		if (avail >= 2) {
			len = p[1] & 0x7f;
			off = 2;
			if (len == 126) {
				need = 4;
				if (avail >= 4) {
					len = (size_t)p[2] << 8 | p[3];
					off = 4;
				}
			} else if (len == 127) {
				need = 10;
				if (avail >= 10) {
					len = 0;
					for (int i = 0; i < 8; i++)
						len = len << 8 | p[2 + i];
					off = 10;
				}
			}
			if (avail >= need && avail >= off + len) {
				char *msg = malloc(len + 1);

				op = p[0] & 0x0f;
				memcpy(msg, p + off, len);
				msg[len] = '\0';
				consume(c, off + len);
				if (op == 1 || op == 2)
					return msg;
				if (op == 9 && !c->no_pong)
					send_frame(c, 10, msg, len);
				if (op == 8) {
					c->closed = 1;
					free(msg);
					return NULL;
				}
				free(msg);
				continue;
			}
		}
		{
			int64_t left = deadline - gt_mono_ns();
			int     r;

			if (c->closed)
				return NULL;
			r = fill(c, left <= 0 ? 0 : (int)(left / GT_NS_PER_MS) + 1);
			if (r < 0 || (r == 0 && left <= 0))
				return NULL;
		}
	}
}

void
gt_wsc_no_pong(gt_wsc *c)
{
	c->no_pong = 1;
}

int
gt_wsc_closed(gt_wsc *c)
{
	if (!c->closed)
		fill(c, 0);
	return c->closed;
}

void
gt_wsc_close(gt_wsc *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	gt_buf_fini(&c->in);
	free(c);
}
