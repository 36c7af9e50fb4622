/* gt_feed.c - the live PUB feed (see gt_feed.h). */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/transport/tcp/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_feed.h"
#include "gt/gt_log.h"
#include "gt/gt_rpc.h"

struct gt_feed {
	nng_socket sock;
	atomic_int subscribers;
	char       url[256];
};

static void
feed_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	gt_feed *f = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&f->subscribers, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&f->subscribers, 1);
}

#define GT_FEED_SENDBUF 1024 /* messages queued per subscriber */

gt_err
gt_feed_open(gt_feed **out, const char *url)
{
	gt_feed     *f;
	nng_listener l;
	int          port = 0, r;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return GT_ENOMEM;
	atomic_init(&f->subscribers, 0);
	if ((r = nng_pub0_open(&f->sock)) != 0) {
		free(f);
		return gt_err_from_nng(r);
	}
	/* Each subscriber's queue (pub0 drops for a pipe whose queue is full): nng's default of
	 * 16 messages overflows at once when a collector batch touches more GPUs than that (one
	 * message per GPU per batch). */
	if ((r = nng_socket_set_int(f->sock, NNG_OPT_SENDBUF, GT_FEED_SENDBUF)) != 0)
		GT_LOGW("pub.sendbuf", GT_KV_STR("error", nng_strerror(r)));
	nng_pipe_notify(f->sock, NNG_PIPE_EV_ADD_POST, feed_pipe_cb, f);
	nng_pipe_notify(f->sock, NNG_PIPE_EV_REM_POST, feed_pipe_cb, f);
	if ((r = nng_listen(f->sock, url, &l, 0)) != 0) {
		GT_LOGE("pub.listen_failed", GT_KV_STR("url", url),
		        GT_KV_STR("error", nng_strerror(r)));
		nng_close(f->sock);
		free(f);
		return gt_err_from_nng(r);
	}
	if (strncmp(url, "tcp", 3) == 0)
		nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port);
	gt_rpc_dial_url(f->url, sizeof(f->url), url, port);
	*out = f;
	return GT_OK;
}

void
gt_feed_close(gt_feed *f)
{
	if (f == NULL)
		return;
	nng_close(f->sock);
	free(f);
}

const char *
gt_feed_url(const gt_feed *f)
{
	return f->url;
}

int
gt_feed_subscribers(const gt_feed *f)
{
	return atomic_load(&((gt_feed *)f)->subscribers);
}

gt_err
gt_feed_send(gt_feed *f, const char *topic, const void *body, size_t len)
{
	size_t   tl = strlen(topic);
	nng_msg *m;
	char    *p;

	if (nng_msg_alloc(&m, tl + 1 + len) != 0)
		return GT_ENOMEM;
	p = nng_msg_body(m);
	memcpy(p, topic, tl + 1);
	if (len > 0)
		memcpy(p + tl + 1, body, len);
	if (nng_sendmsg(f->sock, m, NNG_FLAG_NONBLOCK) != 0) {
		nng_msg_free(m);
		return GT_EFULL;
	}
	return GT_OK;
}
