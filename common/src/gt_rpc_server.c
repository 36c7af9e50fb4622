/* gt_rpc_server.c - REP socket served by many contexts; handlers on worker threads.
 *
 * Each context is a small state machine driven by its aio callback (nng's threads):
 *   RECV --request--> queued for a worker --handler--> closure --reply--> SEND --> RECV
 * The callback never blocks: it only hands the call to the worker queue or re-arms.
 * Workers decode the envelope, authenticate, check the deadline, find the method through
 * the protobuf-c service descriptor, unpack the input, check its strings (UTF-8) and run the
 * handler. The handler (or whoever it deferred to) calls the closure once; the closure packs
 * the reply straight into an nng message and starts the send (or the handler packs it there
 * itself: gt_rpc_reply_begin / _end).
 *
 * Each call remembers the pipe (client connection) its request came from; a pipe-removal
 * callback marks the calls of a closed pipe cancelled (gt_rpc_cancelled), so that a service
 * holding deferred calls can drop the ones nobody will read.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_log.h"
#include "gt/gt_queue.h"
#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt/gt_utf8.h"
#include "gt_rpc_int.h"

#define RPC_MAX_SERVICES 8
/* Payloads from this size on are unpacked into an arena (below) instead of one malloc per
 * field: a 1000-message Publish is 2000 mallocs and frees otherwise. */
#define ARENA_MIN_PAYLOAD (4u << 10)
#define ARENA_KEEP_MAX (1u << 20) /* largest block an idle arena keeps */
#define ARENA_ALIGN 16
/* Under AddressSanitizer every arena allocation is its own malloc (the overflow path), so
 * ASan still sees out-of-bounds accesses to unpacked fields; the pooling is kept. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_BLOCKS 0
#endif
#endif
#ifndef ARENA_BLOCKS
#define ARENA_BLOCKS 1
#endif

/* A bump allocator for one request's unpacked input: one block reused from call to call
 * (grown to the largest need seen, up to ARENA_KEEP_MAX) plus overflow allocations freed at
 * reset. protobuf-c frees nothing into it: the whole input goes at once when the call
 * answers. Arenas are pooled by the server: only requests being unpacked or handled hold
 * one. */
typedef struct call_arena {
	struct call_arena *next; /* in the server's pool */
	uint8_t           *blk;
	size_t             cap, used, need; /* need: this call's total, overflow included */
	void              *extra;           /* overflow allocations, linked by their first word */
	ProtobufCAllocator pa;
} call_arena;

typedef enum { CALL_RECV, CALL_WORK, CALL_SEND, CALL_IDLE } call_state;

typedef struct rpc_call {
	gt_rpc_server    *srv;
	nng_ctx           ctx;
	nng_aio          *aio;
	call_state        state;
	nng_msg          *req;
	int64_t           recv_mono;
	int64_t           deadline_mono; /* INT64_MAX = none */
	uint64_t          request_id;
	ProtobufCMessage *input;
	call_arena       *arena; /* holds input, when it was unpacked into one */
	nng_msg          *packed; /* a reply between gt_rpc_reply_begin and _end */
	gt_rpc_status     status;
	int               status_set;
	atomic_int        answered;
	/* pipe id << 1 | cancelled: set at receive, the cancelled bit by server_pipe_cb */
	_Atomic uint64_t  pipe_word;
} rpc_call;

struct gt_rpc_server {
	gt_rpc_server_cfg  cfg;
	char              *url;
	char              *token;
	nng_socket         sock;
	nng_listener       listener;
	int                sock_open;
	int                port;
	ProtobufCService  *services[RPC_MAX_SERVICES];
	int                nservices;
	rpc_call          *calls;
	int                ncalls;
	gt_queue          *work;
	pthread_t         *workers;
	int                nworkers;
	atomic_int         stopping;
	pthread_mutex_t    mtx;
	pthread_cond_t     cv;
	int                busy; /* calls in WORK or SEND */
	atomic_ullong      served;
	pthread_mutex_t    arena_mu;
	call_arena        *arenas; /* idle ones */
};

static void call_reply(rpc_call *c, gt_rpc_code code, const char *msg, const ProtobufCMessage *out);

/* ---- input arenas ---- */

static void *
arena_alloc(void *data, size_t size)
{
	call_arena *a = data;
	void      **x;

	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	a->need += size;
	if (ARENA_BLOCKS && a->cap - a->used >= size) {
		void *p = a->blk + a->used;
		a->used += size;
		return p;
	}
	if ((x = malloc(ARENA_ALIGN + size)) == NULL)
		return NULL;
	*x = a->extra;
	a->extra = x;
	return (uint8_t *)x + ARENA_ALIGN;
}

static void
arena_free(void *data, void *p)
{
	(void)data, (void)p; /* all at once, in arena_put */
}

static call_arena *
arena_get(gt_rpc_server *s)
{
	call_arena *a;

	pthread_mutex_lock(&s->arena_mu);
	if ((a = s->arenas) != NULL)
		s->arenas = a->next;
	pthread_mutex_unlock(&s->arena_mu);
	if (a == NULL && (a = calloc(1, sizeof(*a))) != NULL) {
		a->pa.alloc = arena_alloc;
		a->pa.free = arena_free;
		a->pa.allocator_data = a;
	}
	return a;
}

/* Frees the overflow allocations. */
static void
arena_free_extra(call_arena *a)
{
	while (a->extra != NULL) {
		void **x = a->extra;
		a->extra = *x;
		free(x);
	}
}

static void
arena_destroy(call_arena *a)
{
	arena_free_extra(a);
	free(a->blk);
	free(a);
}

/* Drop what the arena holds and pool it, its block grown to this call's need. */
static void
arena_put(gt_rpc_server *s, call_arena *a)
{
	arena_free_extra(a);
	if (ARENA_BLOCKS && a->need > a->cap && a->cap < ARENA_KEEP_MAX) {
		size_t   nc = a->need < ARENA_KEEP_MAX ? a->need : ARENA_KEEP_MAX;
		uint8_t *nb = malloc(nc); /* aligned for any type, like every malloc */
		if (nb != NULL) {
			free(a->blk);
			a->blk = nb;
			a->cap = nc;
		}
	}
	a->used = a->need = 0;
	pthread_mutex_lock(&s->arena_mu);
	a->next = s->arenas;
	s->arenas = a;
	pthread_mutex_unlock(&s->arena_mu);
}

/* The request's input goes (after its answer was built). */
static void
call_input_free(rpc_call *c)
{
	if (c->arena != NULL) {
		arena_put(c->srv, c->arena);
		c->arena = NULL;
	} else if (c->input != NULL) {
		protobuf_c_message_free_unpacked(c->input, NULL);
	}
	c->input = NULL;
}

gt_err
gt_rpc_server_new(gt_rpc_server **out, const gt_rpc_server_cfg *cfg)
{
	gt_rpc_server *s;

	if (cfg == NULL || cfg->url == NULL)
		return GT_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return GT_ENOMEM;
	s->cfg = *cfg;
	if (s->cfg.contexts <= 0)
		s->cfg.contexts = 64;
	if (s->cfg.workers <= 0)
		s->cfg.workers = 4;
	if (s->cfg.max_msg == 0)
		s->cfg.max_msg = 64u << 20;
	s->url = strdup(cfg->url);
	s->token = cfg->token && *cfg->token ? strdup(cfg->token) : NULL;
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->arena_mu, NULL);
	if (s->url == NULL || (cfg->token && *cfg->token && s->token == NULL)) {
		gt_rpc_server_free(s);
		return GT_ENOMEM;
	}
	*out = s;
	return GT_OK;
}

gt_err
gt_rpc_server_add(gt_rpc_server *s, ProtobufCService *svc)
{
	if (s->nservices >= RPC_MAX_SERVICES || svc == NULL || s->calls != NULL)
		return GT_EINVAL;
	s->services[s->nservices++] = svc;
	return GT_OK;
}

int
gt_rpc_server_port(gt_rpc_server *s)
{
	return s->port;
}

uint64_t
gt_rpc_server_served(gt_rpc_server *s)
{
	return atomic_load(&s->served);
}

static void
server_busy_add(gt_rpc_server *s, int d)
{
	pthread_mutex_lock(&s->mtx);
	s->busy += d;
	if (s->busy == 0)
		pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mtx);
}

/* Re-arm the receive, unless stopping. nng callback thread or worker. */
static void
call_rearm(rpc_call *c)
{
	if (atomic_load(&c->srv->stopping)) {
		c->state = CALL_IDLE;
		return;
	}
	c->state = CALL_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

/* aio callback: nng's threads. Never blocks. */
static void
call_cb(void *arg)
{
	rpc_call      *c = arg;
	gt_rpc_server *s = c->srv;
	int            rv = nng_aio_result(c->aio);

	switch (c->state) {
	case CALL_RECV:
		if (rv != 0) {
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
				c->state = CALL_IDLE;
			else
				call_rearm(c);
			return;
		}
		c->req = nng_aio_get_msg(c->aio);
		c->recv_mono = gt_mono_ns();
		atomic_store(&c->pipe_word,
		             (uint64_t)(uint32_t)nng_pipe_id(nng_msg_get_pipe(c->req)) << 1);
		c->state = CALL_WORK;
		server_busy_add(s, 1);
		/* The queue holds as many slots as there are calls: never full. */
		if (gt_queue_push(s->work, c, 0) != GT_OK) {
			nng_msg_free(c->req);
			c->req = NULL;
			server_busy_add(s, -1);
			call_rearm(c);
		}
		return;
	case CALL_SEND:
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(c->aio);
			if (m != NULL)
				nng_msg_free(m);
		}
		atomic_fetch_add(&s->served, 1);
		call_rearm(c);
		server_busy_add(s, -1);
		return;
	default:
		return;
	}
}

/* The closure every handler calls exactly once; any thread. */
static void
call_closure(const ProtobufCMessage *out, void *data)
{
	rpc_call *c = data;

	if (atomic_exchange(&c->answered, 1)) {
		GT_LOGE("rpc.double_reply", GT_KV_UINT("request_id", c->request_id));
		return;
	}
	if (c->packed != NULL) { /* begun, then failed after all */
		nng_msg_free(c->packed);
		c->packed = NULL;
	}
	if (out != NULL)
		call_reply(c, GT_RPC_OK, NULL, out);
	else if (c->status_set)
		call_reply(c, c->status.code == GT_RPC_OK ? GT_RPC_INTERNAL : c->status.code,
		    c->status.message, NULL);
	else
		call_reply(c, GT_RPC_INTERNAL, "handler returned no result", NULL);
}

void
gt_rpc_fail(void *closure_data, gt_rpc_code code, const char *fmt, ...)
{
	rpc_call *c = closure_data;
	va_list   ap;

	c->status.code = code;
	va_start(ap, fmt);
	vsnprintf(c->status.message, sizeof(c->status.message), fmt, ap);
	va_end(ap);
	c->status_set = 1;
}

bool
gt_rpc_cancelled(void *closure_data)
{
	rpc_call *c = closure_data;

	return (atomic_load(&c->pipe_word) & 1) != 0;
}

/* Mark the calls whose request came from pipe id as cancelled. Any thread. */
static void
server_cancel_pipe(gt_rpc_server *s, uint32_t id)
{
	uint64_t want = (uint64_t)id << 1;

	for (int i = 0; i < s->ncalls; i++) {
		uint64_t exp = want;
		atomic_compare_exchange_strong(&s->calls[i].pipe_word, &exp, want | 1);
	}
}

/* nng's pipe callback: a client connection closed. Never blocks. */
static void
server_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	if (ev == NNG_PIPE_EV_REM_POST)
		server_cancel_pipe(arg, (uint32_t)nng_pipe_id(p));
}

int64_t
gt_rpc_deadline_left_ns(void *closure_data)
{
	rpc_call *c = closure_data;

	if (c->deadline_mono == INT64_MAX)
		return INT64_MAX;
	return c->deadline_mono - gt_mono_ns();
}

/* Send reply m (NULL: out of memory, nothing is sent and the client's deadline will fire);
 * releases the request. */
static void
call_send(rpc_call *c, nng_msg *m)
{
	call_input_free(c);
	if (c->req != NULL) {
		nng_msg_free(c->req);
		c->req = NULL;
	}
	if (m == NULL) {
		atomic_fetch_add(&c->srv->served, 1);
		call_rearm(c);
		server_busy_add(c->srv, -1);
		return;
	}
	c->state = CALL_SEND;
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

/* An nng message holding the response envelope for a payload of plen bytes, which go at
 * *payload; NULL when out of memory. */
static nng_msg *
reply_alloc(rpc_call *c, gt_rpc_code code, const char *msg, size_t plen, uint8_t **payload)
{
	gt__rpc_env e = {0};
	nng_msg    *m;
	uint8_t    *p;

	e.code = (int32_t)code;
	e.message = msg;
	e.message_len = msg ? strlen(msg) : 0;
	e.request_id = c->request_id;
	if (nng_msg_alloc(&m, gt__rpc_resp_head_size(&e, plen) + plen) != 0)
		return NULL;
	p = nng_msg_body(m);
	*payload = p + gt__rpc_resp_head_put(p, &e, plen);
	return m;
}

/* Build and send the response; releases the request. Worker or deferring thread. */
static void
call_reply(rpc_call *c, gt_rpc_code code, const char *msg, const ProtobufCMessage *out)
{
	size_t   plen = 0;
	nng_msg *m;
	uint8_t *payload;
	char     clean[3 * GT_RPC_MSG_MAX + 64]; /* U+FFFD is 3 bytes */

	if (code == GT_RPC_OK && out != NULL)
		plen = protobuf_c_message_get_packed_size(out);
	/* RpcResponse.message is a proto3 string: never echo invalid bytes a request brought. */
	if (msg != NULL && !gt_utf8_valid(msg, strlen(msg))) {
		gt_utf8_sanitize(clean, sizeof(clean), msg, strlen(msg));
		msg = clean;
	}
	if ((m = reply_alloc(c, code, msg, plen, &payload)) != NULL && plen)
		protobuf_c_message_pack(out, payload);
	if (code != GT_RPC_OK)
		GT_LOGD("rpc.error", GT_KV_STR("code", gt_rpc_code_name(code)),
		    GT_KV_STR("message", msg ? msg : ""));
	call_send(c, m);
}

uint8_t *
gt_rpc_reply_begin(void *closure_data, size_t len)
{
	rpc_call *c = closure_data;
	uint8_t  *payload = NULL;

	if (c->packed != NULL || atomic_load(&c->answered))
		return NULL;
	if ((c->packed = reply_alloc(c, GT_RPC_OK, NULL, len, &payload)) == NULL)
		return NULL;
	return payload;
}

void
gt_rpc_reply_end(void *closure_data)
{
	rpc_call *c = closure_data;
	nng_msg  *m = c->packed;

	c->packed = NULL;
	if (m == NULL || atomic_exchange(&c->answered, 1)) {
		GT_LOGE("rpc.double_reply", GT_KV_UINT("request_id", c->request_id));
		if (m != NULL)
			nng_msg_free(m);
		return;
	}
	call_send(c, m);
}

static ProtobufCService *
server_find_service(gt_rpc_server *s, const char *name, size_t n)
{
	for (int i = 0; i < s->nservices; i++) {
		const char *sn = s->services[i]->descriptor->name;
		if (strlen(sn) == n && memcmp(sn, name, n) == 0)
			return s->services[i];
	}
	return NULL;
}

/* Worker: decode, authenticate, dispatch. */
static void
call_dispatch(gt_rpc_server *s, rpc_call *c)
{
	gt__rpc_env                        e;
	const char                        *slash;
	ProtobufCService                  *svc;
	const ProtobufCMethodDescriptor   *md;
	char                               mname[128];
	char                               err[GT_RPC_MSG_MAX];
	size_t                             sn;
	uint32_t                           pipe_id;

	c->input = NULL;
	c->status_set = 0;
	c->status.code = GT_RPC_OK;
	c->status.message[0] = '\0';
	c->request_id = 0;
	c->deadline_mono = INT64_MAX;
	atomic_store(&c->answered, 0);
	pipe_id = (uint32_t)(atomic_load(&c->pipe_word) >> 1);
	if (gt__rpc_req_decode(nng_msg_body(c->req), nng_msg_len(c->req), &e) != GT_OK) {
		call_reply(c, GT_RPC_INVALID_ARGUMENT, "malformed request envelope", NULL);
		return;
	}
	c->request_id = e.request_id;
	if (!gt_utf8_valid(e.method, e.method_len)) {
		call_reply(c, GT_RPC_INVALID_ARGUMENT,
		           "malformed request envelope: method is not valid UTF-8", NULL);
		return;
	}
	if (atomic_load(&s->stopping)) {
		call_reply(c, GT_RPC_UNAVAILABLE, "server shutting down", NULL);
		return;
	}
	if (s->token != NULL &&
	    (e.token_len != strlen(s->token) || memcmp(e.token, s->token, e.token_len) != 0)) {
		call_reply(c, GT_RPC_UNAUTHENTICATED,
		    e.token_len ? "wrong token" : "missing token", NULL);
		return;
	}
	if (e.deadline_ms < 0) { /* a budget already spent: not run (0 = no deadline) */
		call_reply(c, GT_RPC_DEADLINE_EXCEEDED, "deadline passed before dispatch", NULL);
		return;
	}
	if (e.deadline_ms > 0) {
		/* at most a day: a larger budget is no budget, and ms * 1e6 must not overflow */
		int64_t ms = e.deadline_ms < 86400000 ? e.deadline_ms : 86400000;

		c->deadline_mono = c->recv_mono + ms * GT_NS_PER_MS;
		if (gt_mono_ns() >= c->deadline_mono) {
			call_reply(c, GT_RPC_DEADLINE_EXCEEDED, "deadline passed before dispatch", NULL);
			return;
		}
	}
	slash = memchr(e.method, '/', e.method_len);
	sn = slash ? (size_t)(slash - e.method) : 0;
	svc = slash ? server_find_service(s, e.method, sn) : NULL;
	md = NULL;
	/* "Health\0x" is not Health: a NUL would end the name protobuf-c looks up */
	if (svc != NULL && e.method_len - sn - 1 < sizeof(mname) &&
	    memchr(e.method, '\0', e.method_len) == NULL) {
		memcpy(mname, slash + 1, e.method_len - sn - 1);
		mname[e.method_len - sn - 1] = '\0';
		md = protobuf_c_service_descriptor_get_method_by_name(svc->descriptor, mname);
	}
	if (md == NULL) {
		snprintf(err, sizeof(err), "unknown method \"%.*s\"",
		    (int)(e.method_len > 160 ? 160 : e.method_len), e.method);
		call_reply(c, GT_RPC_UNIMPLEMENTED, err, NULL);
		return;
	}
	if (e.payload_len >= ARENA_MIN_PAYLOAD && (c->arena = arena_get(s)) != NULL)
		c->input = protobuf_c_message_unpack(md->input, &c->arena->pa, e.payload_len,
		                                     e.payload);
	else
		c->input = protobuf_c_message_unpack(md->input, NULL, e.payload_len, e.payload);
	if (c->input == NULL) {
		snprintf(err, sizeof(err), "payload is not a valid %s", md->input->name);
		call_reply(c, GT_RPC_INVALID_ARGUMENT, err, NULL);
		return;
	}
	/* protobuf-c does not check that strings are UTF-8; every other protobuf library does */
	if (gt_utf8_check_pb(md->input, e.payload, e.payload_len, err, sizeof(err)) != GT_OK) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "payload is not a valid %s", md->input->name);
		call_reply(c, GT_RPC_INVALID_ARGUMENT, err, NULL);
		return;
	}
	svc->invoke(svc, (unsigned)(md - svc->descriptor->methods), c->input, call_closure, c);
	/* Deferred: if the client's pipe closed before the request got here, the pipe callback
	 * has already run for it; mark the call now (a live pipe is still found by id). */
	if (!atomic_load(&c->answered) && pipe_id != 0) {
		nng_pipe     p = NNG_PIPE_INITIALIZER;
		nng_sockaddr sa;

		p.id = pipe_id;
		if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == NNG_ENOENT)
			server_cancel_pipe(s, pipe_id);
	}
}

static void *
server_worker(void *arg)
{
	gt_rpc_server *s = arg;
	void          *item;

	while (gt_queue_pop(s->work, &item, -1) == GT_OK)
		call_dispatch(s, item);
	return NULL;
}

gt_err
gt_rpc_server_start(gt_rpc_server *s)
{
	int rv;

	if ((rv = nng_rep0_open(&s->sock)) != 0)
		return gt_err_from_nng(rv);
	s->sock_open = 1;
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, s->cfg.max_msg);
	if ((s->calls = calloc((size_t)s->cfg.contexts, sizeof(rpc_call))) == NULL)
		return GT_ENOMEM;
	if ((s->workers = calloc((size_t)s->cfg.workers, sizeof(pthread_t))) == NULL)
		return GT_ENOMEM;
	if (gt_queue_new(&s->work, (size_t)s->cfg.contexts) != GT_OK)
		return GT_ENOMEM;
	for (int i = 0; i < s->cfg.contexts; i++) {
		rpc_call *c = &s->calls[i];
		c->srv = s;
		if ((rv = nng_ctx_open(&c->ctx, s->sock)) != 0 ||
		    (rv = nng_aio_alloc(&c->aio, call_cb, c)) != 0)
			return gt_err_from_nng(rv);
		s->ncalls++;
	}
	for (int i = 0; i < s->cfg.workers; i++) {
		if (pthread_create(&s->workers[i], NULL, server_worker, s) != 0)
			return GT_ENOMEM;
		s->nworkers++;
	}
	if ((rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, server_pipe_cb, s)) != 0)
		return gt_err_from_nng(rv);
	if ((rv = nng_listen(s->sock, s->url, &s->listener, 0)) != 0) {
		GT_LOGE("rpc.listen_failed", GT_KV_STR("url", s->url), GT_KV_STR("error", nng_strerror(rv)));
		return gt_err_from_nng(rv);
	}
	if (strncmp(s->url, "tcp", 3) == 0) {
		int port = 0;
		if (nng_listener_get_int(s->listener, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
			s->port = port;
	}
	for (int i = 0; i < s->ncalls; i++)
		call_rearm(&s->calls[i]);
	return GT_OK;
}

void
gt_rpc_server_stop(gt_rpc_server *s)
{
	if (s != NULL)
		atomic_store(&s->stopping, 1);
}

void
gt_rpc_server_free(gt_rpc_server *s)
{
	struct timespec deadline;

	if (s == NULL)
		return;
	atomic_store(&s->stopping, 1);
	/* Let running handlers and deferred calls answer (bounded). */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&s->mtx);
	while (s->busy > 0) {
		if (pthread_cond_timedwait(&s->cv, &s->mtx, &deadline) != 0)
			break;
	}
	if (s->busy > 0)
		GT_LOGW("rpc.stop_busy", GT_KV_INT("busy", s->busy));
	pthread_mutex_unlock(&s->mtx);
	for (int i = 0; i < s->ncalls; i++)
		nng_aio_stop(s->calls[i].aio);
	if (s->work != NULL)
		gt_queue_close(s->work);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	for (int i = 0; i < s->ncalls; i++) {
		rpc_call *c = &s->calls[i];
		if (c->req != NULL)
			nng_msg_free(c->req);
		call_input_free(c);
		if (c->packed != NULL)
			nng_msg_free(c->packed);
		nng_ctx_close(c->ctx);
	}
	if (s->sock_open)
		nng_close(s->sock);
	for (int i = 0; i < s->ncalls; i++)
		nng_aio_free(s->calls[i].aio);
	if (s->work != NULL) {
		void *item;
		while (gt_queue_pop(s->work, &item, 0) == GT_OK)
			;
		gt_queue_free(s->work);
	}
	while (s->arenas != NULL) {
		call_arena *a = s->arenas;
		s->arenas = a->next;
		arena_destroy(a);
	}
	pthread_mutex_destroy(&s->mtx);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->arena_mu);
	free(s->calls);
	free(s->workers);
	free(s->url);
	free(s->token);
	free(s);
}

void
gt_rpc_dial_url(char *out, size_t len, const char *url, int port)
{
	const char *host = strstr(url, "://"), *colon;

	if (port <= 0 || host == NULL || strncmp(url, "tcp", 3) != 0) {
		snprintf(out, len, "%s", url);
		return;
	}
	host += 3;
	colon = strrchr(host, ':');
	if (colon == NULL)
		colon = host + strlen(host);
	if ((colon - host == 7 && strncmp(host, "0.0.0.0", 7) == 0) || colon == host ||
	    (colon - host == 1 && *host == '*'))
		snprintf(out, len, "%.*s127.0.0.1:%d", (int)(host - url), url, port);
	else
		snprintf(out, len, "%.*s:%d", (int)(colon - url), url, port);
}
