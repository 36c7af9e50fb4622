/* gt_http.c - HTTP/1.1 + WebSocket server on libwebsockets 4.1 (see gt/gt_http.h): the server's
 * lifecycle. Configuration and route registration, the lws context and its one protocol
 * callback (which hands each event to gt_http_req.c, gt_http_conn.c or gt_http_ws.c), the lws
 * service thread and the worker threads, the drain of what other threads hand over, and the
 * shutdown order. Threads and request lifetime are described in gt_http_int.h.
 */
#include "gt/gt_http.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libwebsockets.h>

#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_time.h"
#include "gt_http_int.h"

#define HTTP_DEF_MAX_BODY ((size_t)1 << 20)
#define HTTP_DEF_WORKERS 2
#define HTTP_MAX_WORKERS 64
#define HTTP_DEF_WS_QUEUE 256
#define HTTP_WORK_QUEUE_CAP 1024
#define HTTP_MAX_CONNS_LIMIT 60000 /* lws's header pool size is an unsigned short */
#define HTTP_MAX_TIMEOUT_S 86400
#define HTTP_WS_INBOX_MIN 1024
#define HTTP_WS_PROTOCOL "gt-ws"
#define HTTP_DEF_TIMEOUT_NS (30 * GT_NS_PER_S)

/* The gt_http whose lws thread this is (NULL elsewhere): tells gt_http_reply whether it
 * may complete the request in place. */
static _Thread_local gt_http *tl_loop;

/* Any thread. */
int
gt__http_on_loop(const gt_http *h)
{
	return tl_loop == h;
}

/* ---------------------------------------------------------------- lws logging */

/* lws log lines go to gt_log at warn. Called on whatever thread lws logs from. */
static void
http_lws_log(int level, const char *line)
{
	char   buf[256];
	size_t n = strlen(line);

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, line, n);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	GT_LOGW("http.lws", GT_KV_INT("lws_level", level), GT_KV_STR("line", buf));
}

static pthread_once_t http_log_once = PTHREAD_ONCE_INIT;

static void
http_log_setup(void)
{
	lws_set_log_level(LLL_ERR | LLL_WARN, http_lws_log);
}

/* ---------------------------------------------------------------- cross-thread hand-off */

/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain replies and WebSocket messages. */
static void
drain(gt_http *h)
{
	gt_http_req     *r;
	gt__http_ws_msg *m;
	uint64_t         lost;

	pthread_mutex_lock(&h->lock);
	lost = h->inbox_lost;
	h->inbox_lost = 0;
	r = h->replies_head;
	h->replies_head = h->replies_tail = NULL;
	m = h->inbox_head;
	h->inbox_head = h->inbox_tail = NULL;
	h->inbox_len = 0;
	h->inbox_bytes = 0;
	pthread_mutex_unlock(&h->lock);
	while (r != NULL) {
		gt_http_req *next = r->reply_next;

		gt__http_reply_complete(h, r);
		r = next;
	}
	if (lost > 0)
		gt__http_ws_lost_all(h, lost);
	while (m != NULL) {
		gt__http_ws_msg *next = m->next;

		gt__http_ws_deliver(h, m);
		m = next;
	}
	gt__http_files_drain(h);
	gt__http_front_drain(h);
	gt__http_streams_drain(h);
}

/* The one protocol: WebSocket endpoint and (falling through to the dummy) plain HTTP. */
static int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct lws_context *ctx = wsi != NULL ? lws_get_context(wsi) : NULL;
	gt_http            *h = ctx != NULL ? lws_context_user(ctx) : NULL;
	gt__http_conn      *c = user;

	if (h == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (c == NULL)
			return -1;
		return gt__http_conn_http(h, c, wsi, in);
	case LWS_CALLBACK_HTTP_BODY:
		return c != NULL ? gt__http_conn_body(h, c, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return c != NULL ? gt__http_conn_body_done(h, c) : -1;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return gt__http_conn_writeable(h, c, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		gt__http_conn_detach(h, c);
		break;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return gt__http_front_accept(h, (int)(intptr_t)in);
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		if (gt__http_admit(h, wsi) != 0)
			return -1;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		gt__http_track_gone(h, wsi);
		break;
	case LWS_CALLBACK_RAW_ADOPT:
	case LWS_CALLBACK_RAW_RX:
	case LWS_CALLBACK_RAW_WRITEABLE:
	case LWS_CALLBACK_RAW_CLOSE:
		return gt__http_connect_raw(h, wsi, (int)reason);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return gt__http_ws_filter(h, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		gt__http_track_busy(h, wsi, 1);
		return c != NULL ? gt__http_ws_open(h, c, wsi) : -1;
	case LWS_CALLBACK_RECEIVE:
		return gt__http_ws_receive(h, c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return gt__http_ws_writeable(h, c, wsi);
	case LWS_CALLBACK_CLOSED:
		gt__http_ws_close(h, c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		drain(h);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---------------------------------------------------------------- threads */

/* The lws service thread. */
static void *
http_thread(void *arg)
{
	gt_http *h = arg;

	tl_loop = h;
	while (!atomic_load(&h->stop))
		if (lws_service(h->ctx, 0) < 0)
			break;
	tl_loop = NULL;
	return NULL;
}

/* A worker thread: runs GT_HTTP_WORKER handlers until the queue closes. Requests still
 * queued at shutdown are skipped (gt_http_free frees them). */
static void *
http_worker(void *arg)
{
	gt_http *h = arg;
	void    *item;

	while (gt_queue_pop(h->work, &item, -1) == GT_OK) {
		gt_http_req *r = item;

		if (atomic_load(&h->stop))
			continue;
		r->route->fn(r, r->route->arg);
		gt__http_req_unref(r); /* the handler call's reference */
	}
	return NULL;
}

/* ---------------------------------------------------------------- public API */

/* Any thread (before start): allocates the server and copies cfg. */
gt_err
gt_http_new(gt_http **out, const gt_http_cfg *cfg)
{
	gt_http *h;
	char     real[PATH_MAX];

	if (out == NULL || cfg == NULL || cfg->port < 0 || cfg->port > 65535 || cfg->workers < 0 ||
	    cfg->workers > HTTP_MAX_WORKERS || cfg->max_conns < 0 ||
	    cfg->max_conns > HTTP_MAX_CONNS_LIMIT || cfg->header_timeout_s < 0 ||
	    cfg->header_timeout_s > HTTP_MAX_TIMEOUT_S || cfg->idle_timeout_s < 0 ||
	    cfg->idle_timeout_s > HTTP_MAX_TIMEOUT_S)
		return GT_EINVAL;
	if (cfg->static_index != NULL &&
	    (cfg->static_index[0] == '\0' || strchr(cfg->static_index, '/') != NULL))
		return GT_EINVAL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return GT_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	atomic_init(&h->stop, 0);
	atomic_init(&h->dropped, 0);
	atomic_init(&h->requests, 0);
	atomic_init(&h->evicted, 0);
	atomic_init(&h->nconns, 0);
	atomic_init(&h->front_waiting, 0);
	h->port = cfg->port;
	h->max_body = cfg->max_body ? cfg->max_body : HTTP_DEF_MAX_BODY;
	h->nworkers = cfg->workers ? cfg->workers : HTTP_DEF_WORKERS;
	h->timeout_ns = HTTP_DEF_TIMEOUT_NS;
	h->ws_queue_max = cfg->ws_queue_max ? cfg->ws_queue_max : HTTP_DEF_WS_QUEUE;
	h->ws_queue_bytes = cfg->ws_queue_bytes;
	h->ws_max_clients = cfg->ws_max_clients;
	h->ws_ping_secs = cfg->ws_ping_secs;
	h->ws_inbox_max =
	    h->ws_queue_max * 4 > HTTP_WS_INBOX_MIN ? h->ws_queue_max * 4 : HTTP_WS_INBOX_MIN;
	h->ws_inbox_max_bytes =
	    cfg->ws_inbox_max_bytes ? cfg->ws_inbox_max_bytes : GT_HTTP_DEF_WS_INBOX_BYTES;
	h->max_conns = cfg->max_conns ? cfg->max_conns : GT_HTTP_DEF_MAX_CONNS;
	h->header_timeout_s =
	    cfg->header_timeout_s ? cfg->header_timeout_s : GT_HTTP_DEF_HEADER_TIMEOUT_S;
	h->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : GT_HTTP_DEF_IDLE_TIMEOUT_S;
	if ((h->service = strdup(cfg->service ? cfg->service : "http")) == NULL ||
	    (cfg->bind != NULL && (h->bind = strdup(cfg->bind)) == NULL) ||
	    (h->static_index = strdup(cfg->static_index ? cfg->static_index : "index.html")) ==
	        NULL ||
	    (cfg->cors_origin != NULL && (h->cors_origin = strdup(cfg->cors_origin)) == NULL) ||
	    (cfg->token != NULL && cfg->token[0] != '\0' &&
	     (h->token = strdup(cfg->token)) == NULL))
		goto fail_nomem;
	if (cfg->static_root != NULL && cfg->static_root[0] != '\0') {
		if (realpath(cfg->static_root, real) == NULL) {
			GT_LOGW("http.static_root", GT_KV_STR("path", cfg->static_root),
			        GT_KV_INT("errno", errno));
			gt_http_free(h);
			return GT_ENOENT;
		}
		if ((h->root_real = strdup(real)) == NULL)
			goto fail_nomem;
	}
	*out = h;
	return GT_OK;
fail_nomem:
	gt_http_free(h);
	return GT_ENOMEM;
}

/* Any thread, before start. */
gt_err
gt_http_route(gt_http *h, const char *method, const char *pattern, gt_http_fn fn, void *arg,
              int flags)
{
	gt__http_route_row *rt;

	if (h == NULL || method == NULL || pattern == NULL || fn == NULL || h->started)
		return GT_EINVAL;
	if (!gt__http_method_routable(method))
		return GT_EINVAL;
	if (gt__http_pattern_check(pattern) != GT_OK)
		return GT_EINVAL;
	if (h->nroutes == h->routes_cap) {
		size_t              ncap = h->routes_cap ? h->routes_cap * 2 : 16;
		gt__http_route_row *nr = realloc(h->routes, ncap * sizeof(*nr));

		if (nr == NULL)
			return GT_ENOMEM;
		h->routes = nr;
		h->routes_cap = ncap;
	}
	rt = &h->routes[h->nroutes];
	memset(rt, 0, sizeof(*rt));
	snprintf(rt->method, sizeof(rt->method), "%s", method);
	if ((rt->pattern = strdup(pattern)) == NULL)
		return GT_ENOMEM;
	rt->fn = fn;
	rt->arg = arg;
	rt->flags = flags;
	h->nroutes++;
	return GT_OK;
}

/* Any thread, before start. */
gt_err
gt_http_set_timeout(gt_http *h, int64_t ns)
{
	if (h == NULL || ns < 0 || h->started)
		return GT_EINVAL;
	h->timeout_ns = ns;
	return GT_OK;
}

/* Checks that bind:port can be bound (SO_REUSEADDR, like lws) before lws tries: lws 4.1.6
 * leaks when lws_create_context fails, and this way the log says why. Returns 0 or errno.
 * Interface names and port 0 are not probed. */
static int
bind_probe(const char *bind_addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t               sl;
	int                     fd, one = 1, err = 0;

	if (port == 0)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (bind_addr == NULL || bind_addr[0] == '\0' || strcmp(bind_addr, "::") == 0) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_any;
		a->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a);
	} else if (strchr(bind_addr, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, bind_addr, &a->sin6_addr) != 1)
			return 0;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (strcmp(bind_addr, "0.0.0.0") == 0)
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, bind_addr, &a->sin_addr) != 1)
			return 0;
		sl = sizeof(*a);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno == EAFNOSUPPORT ? 0 : errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
		err = errno;
	close(fd);
	return err;
}

/* The thread that created h: binds, then starts the workers and the lws thread. */
gt_err
gt_http_start(gt_http *h)
{
	struct lws_context_creation_info info;
	struct lws_vhost                *vh;
	gt_err                           rv;
	int                              i, err;

	if (h == NULL || h->started)
		return GT_EINVAL;
	pthread_once(&http_log_once, http_log_setup);
	h->protocols[0] = (struct lws_protocols){
	    .name = HTTP_WS_PROTOCOL,
	    .callback = http_callback,
	    .per_session_data_size = sizeof(gt__http_conn),
	    .rx_buffer_size = 0,
	};
	memset(&h->protocols[1], 0, sizeof(h->protocols[1]));

	memset(&info, 0, sizeof(info));
	info.port = h->port;
	info.protocols = h->protocols;
	info.user = h;
	info.vhost_name = "default";
	info.server_string = h->service;
	info.max_http_header_data = GT__HTTP_MAX_HEADER_DATA;
	/* One header buffer per allowed connection (allocated on demand), so tracked
	 * connections never wait for one; gt_http_admit.c keeps the count at max_conns. */
	info.max_http_header_pool = (unsigned short)(h->max_conns + 16);
	info.pt_serv_buf_size = 65536; /* 4 KiB sent a 26 KB answer in 7 loop turns */
	info.count_threads = 1;
	info.timeout_secs = 20; /* request body, WebSocket handshake */
	info.timeout_secs_ah_idle = (unsigned)h->header_timeout_s; /* request head */
	info.keepalive_timeout = h->idle_timeout_s;                /* idle keep-alive */
	info.ka_time = 60; /* TCP keepalive: peers that vanished without a FIN */
	info.ka_probes = 3;
	info.ka_interval = 10;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (h->ws_ping_secs > 0) {
		h->retry.secs_since_valid_ping = (uint16_t)h->ws_ping_secs;
		h->retry.secs_since_valid_hangup = (uint16_t)(3 * h->ws_ping_secs);
		info.retry_and_idle_policy = &h->retry;
	}
	if (h->bind != NULL && h->bind[0] != '\0') {
		if (strchr(h->bind, ':') != NULL) {
			if (strcmp(h->bind, "::") != 0)
				info.iface = h->bind;
		} else {
			/* lws 4.1 ignores an IPv4 iface unless IPv6 is off (it binds *:port). */
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
			if (strcmp(h->bind, "0.0.0.0") != 0)
				info.iface = h->bind;
		}
	}
	if ((err = bind_probe(h->bind, h->port)) != 0) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port), GT_KV_STR("reason", strerror(err)));
		return GT_EIO;
	}
	if ((h->ctx = lws_create_context(&info)) == NULL) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port));
		return GT_EIO;
	}
	if ((vh = lws_get_vhost_by_name(h->ctx, "default")) == NULL ||
	    (h->bound_port = lws_get_vhost_listen_port(vh)) <= 0) {
		GT_LOGW("http.listen_failed", GT_KV_STR("bind", h->bind ? h->bind : "*"),
		        GT_KV_INT("port", h->port));
		return GT_EIO;
	}
	h->started = 1;
	gt__http_sweep_start(h);
	if ((rv = gt_queue_new(&h->work, HTTP_WORK_QUEUE_CAP)) != GT_OK)
		return rv;
	if ((h->workers = calloc((size_t)h->nworkers, sizeof(*h->workers))) == NULL)
		return GT_ENOMEM;
	for (i = 0; i < h->nworkers; i++) {
		if ((err = pthread_create(&h->workers[i], NULL, http_worker, h)) != 0)
			return gt_err_from_errno(err);
		h->workers_up++;
	}
	if ((rv = gt__http_reader_start(h)) != GT_OK)
		return rv;
	if ((rv = gt__http_front_start(h)) != GT_OK)
		return rv;
	if ((err = pthread_create(&h->thread, NULL, http_thread, h)) != 0)
		return gt_err_from_errno(err);
	atomic_store(&h->thread_up, 1);
	GT_LOGI("http.listen", GT_KV_STR("bind", h->bind ? h->bind : "*"),
	        GT_KV_INT("port", h->bound_port), GT_KV_STR("static_root", h->root_real),
	        GT_KV_STR("ws", h->ws_path));
	return GT_OK;
}

int
gt_http_port(gt_http *h)
{
	return h != NULL ? h->bound_port : -1;
}

/* Not from a handler: joins the workers, then the lws thread, destroys the context (the
 * remaining connections' close callbacks, including ops->close, run on this thread) and
 * frees every request still waiting for a reply. Deferred repliers on other threads must
 * have stopped before this call. */
void
gt_http_free(gt_http *h)
{
	size_t i;
	int    k;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	if (h->work != NULL)
		gt_queue_close(h->work);
	for (k = 0; k < h->workers_up; k++)
		pthread_join(h->workers[k], NULL);
	if (h->ctx != NULL)
		lws_cancel_service(h->ctx);
	if (atomic_load(&h->thread_up))
		pthread_join(h->thread, NULL);
	gt__http_front_stop(h);
	gt__http_reader_stop(h);
	if (h->ctx != NULL) {
		lws_sul_cancel(&h->sweep);
		lws_context_destroy(h->ctx);
	}
	gt__http_files_fini(h);
	gt__http_reqs_fini(h);
	gt__http_streams_fini(h);
	gt__http_ws_fini(h);
	if (h->work != NULL)
		gt_queue_free(h->work);
	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i].pattern);
	free(h->routes);
	free(h->workers);
	free(h->service);
	free(h->bind);
	free(h->root_real);
	free(h->static_index);
	free(h->cors_origin);
	free(h->token);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

uint64_t
gt_http_requests(gt_http *h)
{
	return h != NULL ? (uint64_t)atomic_load(&h->requests) : 0;
}

uint64_t
gt_http_conns_evicted(gt_http *h)
{
	return h != NULL ? (uint64_t)atomic_load(&h->evicted) : 0;
}

size_t
gt_http_conns(gt_http *h)
{
	return h != NULL ? atomic_load(&h->nconns) + atomic_load(&h->front_waiting) : 0;
}
