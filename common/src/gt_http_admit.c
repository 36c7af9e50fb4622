/* gt_http_admit.c - connection limits of the HTTP runtime (see gt/gt_http.h, gt_http_int.h):
 * every accepted connection is tracked from its adoption to its destruction, so that idle or
 * slow peers cannot hold the server.
 *
 *   - cap: at most max_conns connections. A connection beyond it makes the oldest idle one
 *     close (idle: no request in progress, i.e. waiting for a request head, reading one, or
 *     between keep-alive requests); when none is idle the new one is refused. A request being
 *     handled, a response being written and a WebSocket are never evicted.
 *   - timeouts: lws closes a connection whose request head is not complete header_timeout_s
 *     after it took a header buffer (vhost timeout_secs_ah_idle) and an idle keep-alive
 *     connection after idle_timeout_s (keepalive_timeout). A connection still waiting for a
 *     header buffer has no lws timeout at all, so a 1 s sweep here closes any idle connection
 *     past its limit as well.
 *   - the header buffer pool is as large as the cap, so a tracked connection never waits for
 *     one (lws's default pool of a few dozen made ~130 silent peers enough to stop /health).
 *
 * lws 4.1 also turns a CONNECT request into a raw socket that nobody answers; it is answered
 * here with a 405 JSON error and closed.
 *
 * All of it runs on the lws thread, except gt__http_track_gone at context teardown (on
 * gt_http_free's thread, once the lws thread has stopped).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

#define ADMIT_SWEEP_US ((lws_usec_t)1000 * 1000)
#define ADMIT_REKILL_NS (2 * GT_NS_PER_S)

/* ---------------------------------------------------------------- the list */

static void
track_unlink(gt_http *h, gt__http_track *t)
{
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		h->tracks_head = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	else
		h->tracks_tail = t->prev;
	t->prev = t->next = NULL;
}

static void
track_append(gt_http *h, gt__http_track *t)
{
	t->next = NULL;
	t->prev = h->tracks_tail;
	if (h->tracks_tail != NULL)
		h->tracks_tail->next = t;
	else
		h->tracks_head = t;
	h->tracks_tail = t;
}

/* Asks lws to close t's connection on its next service turn (never synchronously: the caller
 * may be inside another connection's callback). Counted. */
static void
track_kill(gt_http *h, gt__http_track *t, int64_t now, const char *why)
{
	if (t->dying_ns == 0)
		atomic_fetch_add(&h->evicted, 1);
	t->dying_ns = now;
	GT_LOGD("http.conn_closed", GT_KV_STR("reason", why),
	        GT_KV_INT("age_ms", (now - t->since_ns) / GT_NS_PER_MS));
	lws_set_timeout(t->wsi, PENDING_TIMEOUT_HOLDING_AH, LWS_TO_KILL_ASYNC);
}

/* ---------------------------------------------------------------- admission */

int
gt__http_admit(gt_http *h, struct lws *wsi)
{
	gt__http_track *t, *v;
	int64_t         now = gt_mono_ns();

	if (atomic_load(&h->nconns) >= (size_t)h->max_conns) {
		/* Oldest idle first: idle entries are kept in the order they became idle. */
		for (v = h->tracks_head; v != NULL && (v->busy || v->dying_ns != 0); v = v->next)
			;
		if (v == NULL) {
			atomic_fetch_add(&h->evicted, 1);
			GT_LOGD("http.conn_refused", GT_KV_INT("max_conns", h->max_conns));
			return -1;
		}
		track_kill(h, v, now, "max_conns");
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->wsi = wsi;
	t->since_ns = now;
	track_append(h, t);
	atomic_fetch_add(&h->nconns, 1);
	lws_set_opaque_user_data(wsi, t);
	return 0;
}

void
gt__http_track_gone(gt_http *h, struct lws *wsi)
{
	gt__http_track *t = lws_get_opaque_user_data(wsi);

	if (t == NULL)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	track_unlink(h, t);
	atomic_fetch_sub(&h->nconns, 1);
	free(t);
}

void
gt__http_track_busy(gt_http *h, struct lws *wsi, int busy)
{
	gt__http_track *t = wsi != NULL ? lws_get_opaque_user_data(wsi) : NULL;

	if (t == NULL)
		return;
	if (busy) {
		t->busy = 1;
		return;
	}
	/* Idle again after a response: the newest idle one, at the tail. */
	t->busy = 0;
	t->served = 1;
	t->since_ns = gt_mono_ns();
	track_unlink(h, t);
	track_append(h, t);
}

/* ---------------------------------------------------------------- the sweep */

static void
admit_sweep(lws_sorted_usec_list_t *sul)
{
	gt_http        *h = lws_container_of(sul, gt_http, sweep);
	gt__http_track *t;
	int64_t         now = gt_mono_ns();

	for (t = h->tracks_head; t != NULL; t = t->next) {
		int64_t limit;

		if (t->busy)
			continue;
		if (t->dying_ns != 0) {
			/* lws may have re-armed its own timeout over ours: ask again. */
			if (now - t->dying_ns > ADMIT_REKILL_NS)
				track_kill(h, t, now, "still open");
			continue;
		}
		/* One second of grace: lws's own timeouts normally fire first. */
		limit = (int64_t)(t->served ? h->idle_timeout_s : h->header_timeout_s) + 1;
		if (now - t->since_ns > limit * GT_NS_PER_S)
			track_kill(h, t, now, t->served ? "idle timeout" : "header timeout");
	}
	lws_sul_schedule(h->ctx, 0, &h->sweep, admit_sweep, ADMIT_SWEEP_US);
}

void
gt__http_sweep_start(gt_http *h)
{
	lws_sul_schedule(h->ctx, 0, &h->sweep, admit_sweep, ADMIT_SWEEP_US);
}

/* ---------------------------------------------------------------- CONNECT */

int
gt__http_connect_raw(gt_http *h, struct lws *wsi, int reason)
{
	static const char allow[] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
	unsigned char     buf[LWS_PRE + 512];
	gt_buf            b;
	int               n;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		gt__http_track_busy(h, wsi, 1);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		gt_buf_init(&b);
		if (gt__http_error_json(&b, 405, "method CONNECT not allowed") != GT_OK) {
			gt_buf_fini(&b);
			return -1;
		}
		n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		             "HTTP/1.1 405 Method Not Allowed\r\nserver: %s\r\n"
		             "content-type: application/json\r\ncontent-length: %zu\r\n"
		             "allow: %s\r\nconnection: close\r\n\r\n%.*s",
		             h->service, b.len, allow, (int)b.len, (const char *)b.data);
		gt_buf_fini(&b);
		if (n > 0 && (size_t)n < sizeof(buf) - LWS_PRE)
			lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_RAW);
		GT_LOGD("http.connect_refused", GT_KV_STR("service", h->service));
		return -1; /* close */
	default:
		return 0; /* RAW_RX (ignored), RAW_CLOSE */
	}
}
