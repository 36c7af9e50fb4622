/* soak_ws: the WebSocket side of tools/bench/soak/pipeline. Opens N clients to gt-gateway's
 * /ws, subscribes each to every GPU (all metrics), prints "ready" once every client has its
 * pong, then reads with a few threads (poll + non-blocking reads, frames parsed in place, no
 * allocation per frame) until SIGTERM/SIGINT. Per frame:
 *   {"type":"record",...,"timestamp_ns":T,...} -> counted; delay = arrival (CLOCK_REALTIME)
 *       - T into a histogram (10 us buckets up to 1 s, then 1 ms up to 121 s). With
 *       gt-streamer --loop, T is the publish time: the streamer stamps each record just
 *       before its Publish call (--timestamps auto = now with --loop).
 *   {"type":"dropped","count":N} -> N frames the gateway announced as lost for that client.
 * Every --report seconds a progress line, at the end one "ws.done" line (key=value).
 *
 *   soak_ws --gw-port P [--clients 20] [--threads 3] [--report 10]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gt/gt_time.h"

#define FINE_US 1000000 /* 10 us buckets below 1 s */
#define COARSE 120000   /* then 1 ms buckets up to 121 s */
#define NBUCKETS (FINE_US / 10 + COARSE + 1)

typedef struct client {
	int              fd;
	int              closed;
	unsigned char   *buf;
	size_t           len, cap;
	_Atomic uint64_t frames, dropped;
} client;

typedef struct reader {
	int              id;
	_Atomic uint64_t frames, dropped, heartbeats, other, negative;
	uint64_t        *hist; /* NBUCKETS */
} reader;

static client               *g_c;
static int                   g_port, g_clients = 20, g_threads = 3, g_report = 10;
static volatile sig_atomic_t g_stop;

static void
on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pfd = {fd, POLLOUT, 0};

			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One masked client frame (text or pong). */
static int
send_frame(int fd, int opcode, const unsigned char *data, size_t len)
{
	unsigned char f[14 + 125], mask[4] = {0x21, 0x43, 0x65, 0x87};
	size_t        i, hl = 0;

	if (len > 125)
		return -1;
	f[hl++] = (unsigned char)(0x80 | opcode);
	f[hl++] = (unsigned char)(0x80 | len);
	memcpy(f + hl, mask, 4);
	hl += 4;
	for (i = 0; i < len; i++)
		f[hl + i] = data[i] ^ mask[i % 4];
	return send_all(fd, f, hl + len);
}

static void
reserve(client *c, size_t need)
{
	if (c->cap - c->len >= need)
		return;
	while (c->cap - c->len < need)
		c->cap = c->cap ? c->cap * 2 : 1 << 18;
	if ((c->buf = realloc(c->buf, c->cap)) == NULL) {
		perror("realloc");
		exit(1);
	}
}

/* Reads what is there (or waits up to ms for it). 1 = bytes, 0 = none, -1 = closed. */
static int
fill(client *c, int ms)
{
	ssize_t r;

	if (ms > 0) {
		struct pollfd pfd = {c->fd, POLLIN, 0};

		if (poll(&pfd, 1, ms) <= 0)
			return 0;
	}
	reserve(c, 1 << 16);
	r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r < 0)
		return 0;
	c->len += (size_t)r;
	return 1;
}

/* The next complete frame in c->buf at *off: opcode, payload, length. 0 = incomplete. */
static int
next_frame(client *c, size_t *off, int *op, const unsigned char **pl, size_t *plen)
{
	const unsigned char *p = c->buf + *off;
	size_t               avail = c->len - *off, hl = 2, len;

	if (avail < 2)
		return 0;
	len = p[1] & 0x7f;
	if (len == 126) {
		if (avail < 4)
			return 0;
		len = (size_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (len == 127) {
		if (avail < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		hl = 10;
	}
	if (avail < hl + len) {
		reserve(c, hl + len - avail);
		return 0;
	}
	*op = p[0] & 0x0f;
	*pl = p + hl;
	*plen = len;
	*off += hl + len;
	return 1;
}

static void
frame(reader *r, client *c, int op, const unsigned char *pl, size_t len, int64_t now)
{
	static const char rec[] = "{\"type\":\"record\"",
	                  drp[] = "{\"type\":\"dropped\",\"count\":",
	                  hb[] = "{\"type\":\"heartbeat\"", tsk[] = "\"timestamp_ns\":";

	if (op == 9) {
		send_frame(c->fd, 10, pl, len);
		return;
	}
	if (op == 8) {
		c->closed = 1;
		return;
	}
	if (op != 1)
		return;
	if (len > sizeof(rec) && memcmp(pl, rec, sizeof(rec) - 1) == 0) {
		const unsigned char *t = memmem(pl, len < 160 ? len : 160, tsk, sizeof(tsk) - 1);

		atomic_fetch_add_explicit(&r->frames, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->frames, 1, memory_order_relaxed);
		if (t != NULL) {
			int64_t ts = strtoll((const char *)t + sizeof(tsk) - 1, NULL, 10);
			int64_t us = (now - ts) / 1000;
			size_t  b;

			if (us < 0) {
				atomic_fetch_add_explicit(&r->negative, 1, memory_order_relaxed);
				us = 0;
			}
			b = us < FINE_US ? (size_t)us / 10
			                 : FINE_US / 10 + (size_t)((us - FINE_US) / 1000 < COARSE
			                                               ? (us - FINE_US) / 1000
			                                               : COARSE);
			r->hist[b]++;
		}
	} else if (len > sizeof(drp) && memcmp(pl, drp, sizeof(drp) - 1) == 0) {
		uint64_t n = strtoull((const char *)pl + sizeof(drp) - 1, NULL, 10);

		atomic_fetch_add_explicit(&r->dropped, n, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->dropped, n, memory_order_relaxed);
	} else if (len > sizeof(hb) && memcmp(pl, hb, sizeof(hb) - 1) == 0) {
		atomic_fetch_add_explicit(&r->heartbeats, 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&r->other, 1, memory_order_relaxed);
	}
}

/* Parses every complete frame in c->buf and keeps the incomplete tail. */
static void
drain(reader *r, client *c)
{
	size_t               off = 0, len;
	const unsigned char *pl;
	int                  op;
	int64_t              now = gt_now_ns();

	/* next_frame may grow (move) c->buf for a partial frame: it is the last call. */
	while (next_frame(c, &off, &op, &pl, &len))
		frame(r, c, op, pl, len, now);
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
}

static void *
read_loop(void *arg)
{
	reader       *r = arg;
	struct pollfd pfd[256];
	int           idx[256], n = 0, i;

	for (i = r->id; i < g_clients && n < 256; i += g_threads) {
		pfd[n].fd = g_c[i].fd;
		pfd[n].events = POLLIN;
		idx[n++] = i;
	}
	while (!g_stop) {
		if (poll(pfd, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			client *c = &g_c[idx[i]];
			int     k;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) || c->closed)
				continue;
			/* A few reads per wake-up: larger batches, fewer polls. */
			for (k = 0; k < 4; k++) {
				int got = fill(c, 0);

				if (got < 0) {
					c->closed = 1;
					pfd[i].fd = -1;
				}
				if (got <= 0)
					break;
				drain(r, c);
			}
			if (c->closed)
				pfd[i].fd = -1;
		}
	}
	return NULL;
}

/* Connects, upgrades, subscribes to every GPU and waits for the pong. */
static int
open_client(client *c)
{
	struct sockaddr_in a;
	char               req[512];
	int                one = 1;
	int64_t            deadline = gt_mono_ns() + 10 * GT_NS_PER_S;
	const char        *sub = "{\"subscribe\":{\"gpus\":[\"*\"]}}", *ping = "{\"ping\":1}";
	unsigned char     *end;

	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)g_port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	snprintf(req, sizeof(req),
	         "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	         "Sec-WebSocket-Version: 13\r\n\r\n",
	         g_port);
	if (send_all(c->fd, req, strlen(req)) != 0)
		return -1;
	while ((end = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL) == NULL)
		if (gt_mono_ns() > deadline || fill(c, 100) < 0)
			return -1;
	if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0)
		return -1;
	end += 4;
	memmove(c->buf, end, c->len - (size_t)(end - c->buf));
	c->len -= (size_t)(end - c->buf);
	if (send_frame(c->fd, 1, (const unsigned char *)sub, strlen(sub)) != 0 ||
	    send_frame(c->fd, 1, (const unsigned char *)ping, strlen(ping)) != 0)
		return -1;
	for (;;) { /* hello, then the pong (an error frame would come first) */
		size_t               off = 0, len;
		const unsigned char *pl;
		int                  op, pong = 0;

		while (next_frame(c, &off, &op, &pl, &len))
			if (op == 1 && memmem(pl, len, "\"pong\"", 6) != NULL)
				pong = 1;
			else if (op == 1 && memmem(pl, len, "\"error\"", 7) != NULL)
				fprintf(stderr, "soak_ws: %.*s\n", (int)len, (const char *)pl);
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
		if (pong)
			return 0;
		if (gt_mono_ns() > deadline || fill(c, 100) < 0)
			return -1;
	}
}

static double
pct(const uint64_t *h, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;
	size_t   b;

	if (want >= n)
		want = n - 1;

	for (b = 0; b < NBUCKETS; b++) {
		seen += h[b];
		if (seen > want)
			break;
	}
	if (b >= NBUCKETS)
		b = NBUCKETS - 1;
	/* upper edge of the bucket, in ms */
	return b < FINE_US / 10 ? (double)(b + 1) * 0.01 : 1000.0 + (double)(b - FINE_US / 10 + 1);
}

static void
sums(reader *rd, uint64_t *f, uint64_t *d)
{
	*f = *d = 0;
	for (int t = 0; t < g_threads; t++) {
		*f += atomic_load_explicit(&rd[t].frames, memory_order_relaxed);
		*d += atomic_load_explicit(&rd[t].dropped, memory_order_relaxed);
	}
}

int
main(int argc, char **argv)
{
	pthread_t       *th;
	reader          *rd;
	uint64_t        *h, n = 0, f, d, hb = 0, other = 0, neg = 0, fmin = UINT64_MAX, fmax = 0;
	int64_t          t0, next;
	int              i, closed = 0;
	struct sigaction sa;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--gw-port"))
			g_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--clients"))
			g_clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			g_threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--report"))
			g_report = atoi(argv[i + 1]);
	}
	if (g_port <= 0 || g_clients <= 0 || g_threads <= 0 || g_clients > g_threads * 256) {
		fprintf(stderr,
		        "usage: soak_ws --gw-port P [--clients 20] [--threads 3] [--report 10]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	g_c = calloc((size_t)g_clients, sizeof(*g_c));
	rd = calloc((size_t)g_threads, sizeof(*rd));
	th = calloc((size_t)g_threads, sizeof(*th));
	h = calloc(NBUCKETS, sizeof(*h));
	for (i = 0; i < g_clients; i++)
		if (open_client(&g_c[i]) != 0) {
			fprintf(stderr, "soak_ws: client %d could not connect/subscribe\n", i);
			return 1;
		}
	printf("ready clients=%d threads=%d\n", g_clients, g_threads);
	fflush(stdout);
	for (i = 0; i < g_threads; i++) {
		rd[i].id = i;
		rd[i].hist = calloc(NBUCKETS, sizeof(uint64_t));
		pthread_create(&th[i], NULL, read_loop, &rd[i]);
	}
	t0 = gt_mono_ns();
	next = t0 + (int64_t)g_report * GT_NS_PER_S;
	while (!g_stop) {
		gt_sleep_ns(100 * GT_NS_PER_MS);
		if (g_report > 0 && gt_mono_ns() >= next) {
			sums(rd, &f, &d);
			printf("ws t=%" PRId64 " frames=%" PRIu64 " dropped=%" PRIu64 "\n",
			       (gt_mono_ns() - t0) / GT_NS_PER_S, f, d);
			fflush(stdout);
			next += (int64_t)g_report * GT_NS_PER_S;
		}
	}
	for (i = 0; i < g_threads; i++) {
		pthread_join(th[i], NULL);
		for (size_t b = 0; b < NBUCKETS; b++) {
			h[b] += rd[i].hist[b];
			n += rd[i].hist[b];
		}
		hb += rd[i].heartbeats;
		other += rd[i].other;
		neg += rd[i].negative;
		free(rd[i].hist);
	}
	sums(rd, &f, &d);
	for (i = 0; i < g_clients; i++) {
		uint64_t cf = g_c[i].frames;

		fmin = cf < fmin ? cf : fmin;
		fmax = cf > fmax ? cf : fmax;
		closed += g_c[i].closed;
		close(g_c[i].fd);
		free(g_c[i].buf);
	}
	printf("ws.done clients=%d frames=%" PRIu64 " dropped=%" PRIu64
	       " client_frames_min=%" PRIu64 " client_frames_max=%" PRIu64 " heartbeats=%" PRIu64
	       " other=%" PRIu64 " closed=%d negative_delay=%" PRIu64
	       " p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
	       g_clients, f, d, fmin, fmax, hb, other, closed, neg, n ? pct(h, n, 0.50) : 0.0,
	       n ? pct(h, n, 0.99) : 0.0, n ? pct(h, n, 0.999) : 0.0, n ? pct(h, n, 1.0) : 0.0);
	free(h);
	free(rd);
	free(th);
	free(g_c);
	return 0;
}
