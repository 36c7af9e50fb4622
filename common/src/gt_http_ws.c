/* gt_http_ws.c - the WebSocket endpoint (see gt/gt_http.h, gt_http_int.h): one path, clients
 * with a bounded send queue each (full: the oldest message is dropped and counted), whole
 * messages handed to ops->message, and broadcast/send from any thread through a bounded inbox
 * that the lws thread drains. Messages are shared between client queues by reference count.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt_http_int.h"

/* ---------------------------------------------------------------- messages and client queues */

/* Any thread: a message with one reference (the caller's), or NULL when out of memory. */
static gt__http_ws_msg *
ws_msg_new(const char *topic, const void *data, size_t len, uint64_t target)
{
	gt__http_ws_msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

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

/* The thread that holds the reference: the poster until the message is queued, then the lws
 * thread. Accepts NULL. */
static void
ws_msg_unref(gt__http_ws_msg *m)
{
	if (m != NULL && --m->refs == 0) {
		free(m->topic);
		free(m);
	}
}

/* Queues m for client w, dropping (and counting) the oldest message when full. Only stream
 * messages (broadcast with a topic) count towards the client's next dropped notice: control
 * messages (no topic, or sent to one client) are not what the client counts. */
static void
ws_enqueue(gt_http *h, gt__http_ws_client *w, gt__http_ws_msg *m)
{
	while (w->count > 0 && (w->count == h->ws_queue_max ||
	                        (h->ws_queue_bytes > 0 && w->bytes + m->len > h->ws_queue_bytes))) {
		gt__http_ws_msg *o = w->ring[w->head];

		w->bytes -= o->len;
		if (o->topic != NULL)
			w->lost++;
		ws_msg_unref(o);
		w->head = (w->head + 1) % h->ws_queue_max;
		w->count--;
		atomic_fetch_add(&h->dropped, 1);
	}
	w->ring[(w->head + w->count) % h->ws_queue_max] = m;
	m->refs++;
	w->bytes += m->len;
	/* A non-empty queue always has a writeable callback coming (asked for here, or again by
	 * gt__http_ws_writeable while messages remain). */
	if (w->count++ == 0)
		lws_callback_on_writable(w->wsi);
}

/* Delivers one drained inbox message to the clients that want it. */
void
gt__http_ws_deliver(gt_http *h, gt__http_ws_msg *m)
{
	gt__http_ws_client *w;

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

/* The token of a WebSocket upgrade: "Authorization: Bearer <token>", or (browsers cannot set
 * headers on a WebSocket) the query parameter token=<token>. */
static int
ws_token_ok(gt_http *h, struct lws *wsi)
{
	char        v[512], bearer[520];
	const char *arg;

	if (h->token == NULL)
		return 1;
	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    gt__http_bearer_ok(v, h->token))
		return 1;
	/* lws copies "token=<value>" into v and returns where the value starts */
	if ((arg = lws_get_urlarg_by_name(wsi, "token=", v, sizeof(v))) == NULL)
		return 0;
	snprintf(bearer, sizeof(bearer), "Bearer %s", arg);
	return gt__http_bearer_ok(bearer, h->token);
}

/* Refuses an upgrade with a JSON error (the handshake is still HTTP here), then lws closes. */
static int
ws_refuse(struct lws *wsi, int status, const char *code, const char *msg)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
	                                  *end = buf + sizeof(buf);
	char body[256];
	int  n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
	                  code, msg);

	if (lws_add_http_common_headers(wsi, (unsigned int)status, "application/json",
	                                (lws_filepos_t)n, &p, end) == 0 &&
	    lws_finalize_http_header(wsi, &p, end) == 0 && (size_t)(end - p) > (size_t)n) {
		memcpy(p, body, (size_t)n);
		p += n;
		lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
	}
	return 1;
}

void
gt__http_ws_lost_all(gt_http *h, uint64_t n)
{
	gt__http_ws_client *w;

	for (w = h->clients; w != NULL; w = w->next) {
		w->lost += n;
		lws_callback_on_writable(w->wsi);
	}
}

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: accept the upgrade only on the configured path, with
 * the token when one is set, and while there is room for another client. */
int
gt__http_ws_filter(gt_http *h, struct lws *wsi)
{
	char   uri[256];
	size_t n;

	if (h->ws_path == NULL)
		return 1;
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
		return 1;
	if (strcmp(uri, h->ws_path) != 0)
		return 1;
	if (!ws_token_ok(h, wsi))
		return ws_refuse(wsi, 401, "UNAUTHENTICATED",
		                 "missing or wrong token (Authorization: Bearer, or ?token=)");
	pthread_mutex_lock(&h->lock);
	n = h->nclients;
	pthread_mutex_unlock(&h->lock);
	if (h->ws_max_clients > 0 && n >= h->ws_max_clients)
		return ws_refuse(wsi, 503, "UNAVAILABLE", "too many WebSocket clients");
	return 0;
}

/* LWS_CALLBACK_ESTABLISHED. */
int
gt__http_ws_open(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	gt__http_ws_client *w = calloc(1, sizeof(*w));

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
	GT_LOGD("http.gt__http_ws_open", GT_KV_UINT("client", w->id));
	return 0;
}

/* LWS_CALLBACK_CLOSED (and context teardown). */
void
gt__http_ws_close(gt_http *h, gt__http_conn *c)
{
	gt__http_ws_client *w = c != NULL ? c->wc : NULL;

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
	GT_LOGD("http.gt__http_ws_close", GT_KV_UINT("client", w->id));
	free(w->ring);
	gt_buf_fini(&w->rx);
	free(w);
}

/* LWS_CALLBACK_RECEIVE: gather fragments, hand whole messages to ops->message. */
int
gt__http_ws_receive(gt_http *h, gt__http_conn *c, struct lws *wsi, const void *in, size_t len)
{
	gt__http_ws_client *w = c != NULL ? c->wc : NULL;

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

/* LWS_CALLBACK_SERVER_WRITEABLE: the queued messages, framed here and coalesced into one
 * write (at most HTTP_WS_TX_MAX bytes, but always at least one message), so a client costs
 * one send() per loop turn however many records it gets. Server frames are unmasked and we
 * negotiate no extension, so a frame is a 2-, 4- or 10-byte header and the payload; written
 * with LWS_WRITE_HTTP, lws passes the bytes through as they are (a partial send is buffered
 * by lws and flushed before the next writeable callback). */
#define HTTP_WS_TX_MAX (256 * 1024)

static gt_err
ws_frame(gt_buf *b, const void *data, size_t len)
{
	unsigned char hd[10];
	size_t        hl;

	hd[0] = 0x81; /* FIN, text */
	if (len < 126) {
		hd[1] = (unsigned char)len;
		hl = 2;
	} else if (len < 65536) {
		hd[1] = 126;
		hd[2] = (unsigned char)(len >> 8);
		hd[3] = (unsigned char)len;
		hl = 4;
	} else {
		int i;

		hd[1] = 127;
		for (i = 0; i < 8; i++)
			hd[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	if (gt_buf_append(b, hd, hl) != GT_OK || gt_buf_append(b, data, len) != GT_OK)
		return GT_ENOMEM;
	return GT_OK;
}

int
gt__http_ws_writeable(gt_http *h, gt__http_conn *c, struct lws *wsi)
{
	static const unsigned char pre[LWS_PRE];
	gt__http_ws_client        *w = c != NULL ? c->wc : NULL;
	gt_buf                    *b = &h->ws_tx;
	size_t                     len;

	if (w == NULL)
		return 0;
	gt_buf_reset(b);
	if (gt_buf_append(b, pre, LWS_PRE) != GT_OK)
		return -1;
	if (w->lost > 0 && h->ws_ops.dropped != NULL) {
		char   nb[128];
		size_t nl = h->ws_ops.dropped(w->user, w->lost, nb, sizeof(nb), h->ws_arg);

		w->lost = 0;
		if (nl > 0 && nl <= sizeof(nb) && ws_frame(b, nb, nl) != GT_OK)
			return -1;
	}
	while (w->count > 0 &&
	       (b->len == LWS_PRE || b->len + w->ring[w->head]->len <= LWS_PRE + HTTP_WS_TX_MAX)) {
		gt__http_ws_msg *m = w->ring[w->head];
		gt_err           rv = ws_frame(b, m->buf + LWS_PRE, m->len);

		w->ring[w->head] = NULL;
		w->head = (w->head + 1) % h->ws_queue_max;
		w->count--;
		w->bytes -= m->len;
		ws_msg_unref(m);
		if (rv != GT_OK)
			return -1;
	}
	len = b->len - LWS_PRE;
	if (len > 0 &&
	    lws_write(wsi, (unsigned char *)b->data + LWS_PRE, len, LWS_WRITE_HTTP) < (int)len)
		return -1;
	if (w->count > 0)
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---------------------------------------------------------------- public API */

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

/* Appends m to the inbox (dropping the oldest while it is full by count or by bytes) and
 * wakes the loop. GT_EFULL when m alone is larger than the inbox (dropped, counted). */
static gt_err
ws_post(gt_http *h, gt__http_ws_msg *m, uint64_t target)
{
	gt__http_ws_msg *old = NULL;
	int              wake;

	pthread_mutex_lock(&h->lock);
	if (target != 0) {
		gt__http_ws_client *w;

		for (w = h->clients; w != NULL && w->id != target; w = w->next)
			;
		if (w == NULL) {
			pthread_mutex_unlock(&h->lock);
			ws_msg_unref(m);
			return GT_ENOENT;
		}
	}
	if (m->len > h->ws_inbox_max_bytes) {
		/* Larger than the whole inbox: dropped (and counted) at once. */
		if (target == 0 && m->topic != NULL)
			h->inbox_lost++;
		pthread_mutex_unlock(&h->lock);
		atomic_fetch_add(&h->dropped, 1);
		ws_msg_unref(m);
		return GT_EFULL;
	}
	/* Bounded by count and by bytes: the oldest messages make room. */
	while (h->inbox_head != NULL && (h->inbox_len >= h->ws_inbox_max ||
	                                 h->inbox_bytes + m->len > h->ws_inbox_max_bytes)) {
		gt__http_ws_msg *o = h->inbox_head;

		h->inbox_head = o->next;
		if (h->inbox_head == NULL)
			h->inbox_tail = NULL;
		h->inbox_len--;
		h->inbox_bytes -= o->len;
		atomic_fetch_add(&h->dropped, 1);
		if (o->target == 0 && o->topic != NULL)
			h->inbox_lost++;
		o->next = old;
		old = o;
	}
	/* A non-empty inbox has a wake-up pending already (drain() takes the whole inbox). */
	wake = h->inbox_head == NULL;
	if (h->inbox_tail != NULL)
		h->inbox_tail->next = m;
	else
		h->inbox_head = m;
	h->inbox_tail = m;
	h->inbox_len++;
	h->inbox_bytes += m->len;
	pthread_mutex_unlock(&h->lock);
	while (old != NULL) {
		gt__http_ws_msg *next = old->next;

		ws_msg_unref(old);
		old = next;
	}
	if (wake)
		lws_cancel_service(h->ctx);
	return GT_OK;
}

gt_err
gt_http_ws_broadcast(gt_http *h, const char *topic, const void *data, size_t len)
{
	gt__http_ws_msg *m;

	if (h == NULL || (data == NULL && len > 0))
		return GT_EINVAL;
	if (h->ws_path == NULL)
		return GT_ENOTSUP;
	if (!atomic_load(&h->thread_up) || atomic_load(&h->stop))
		return GT_ECLOSED;
	if ((m = ws_msg_new(topic, data, len, 0)) == NULL)
		return GT_ENOMEM;
	return ws_post(h, m, 0);
}

gt_err
gt_http_ws_send(gt_http *h, uint64_t client_id, const void *data, size_t len)
{
	gt__http_ws_msg *m;

	if (h == NULL || client_id == 0 || (data == NULL && len > 0))
		return GT_EINVAL;
	if (h->ws_path == NULL)
		return GT_ENOTSUP;
	if (!atomic_load(&h->thread_up) || atomic_load(&h->stop))
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

/* gt_http_free, after every thread has stopped. */
void
gt__http_ws_fini(gt_http *h)
{
	gt__http_ws_msg *m;

	for (m = h->inbox_head; m != NULL;) {
		gt__http_ws_msg *next = m->next;

		ws_msg_unref(m);
		m = next;
	}
	h->inbox_head = h->inbox_tail = NULL;
	h->inbox_len = 0;
	h->inbox_bytes = 0;
	free(h->ws_path);
	h->ws_path = NULL;
	gt_buf_fini(&h->ws_tx);
}
