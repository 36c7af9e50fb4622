/* gt_rpc_async.c - asynchronous RPC calls on nng aio (gt_rpc_call_async): send, then receive,
 * each step started from the previous step's completion callback, so no thread ever waits.
 * Call objects (an nng context + aio each) are pooled per client and reused. */
#include <nng/nng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_rpc_int.h"

enum { ASYNC_IDLE, ASYNC_SEND, ASYNC_RECV };

struct gt__rpc_async {
	gt__rpc_async  *next_all, *next_idle;
	gt_rpc_client  *c;
	nng_ctx         ctx;
	nng_aio        *aio;
	int             state;
	int64_t         deadline; /* monotonic ns */
	gt_rpc_async_fn fn;
	void           *arg;
};

static void async_cb(void *arg);

/* A pooled call object, or a new one. NULL when closing or out of memory. */
static gt__rpc_async *
async_get(gt_rpc_client *c)
{
	gt__rpc_async *a;

	pthread_mutex_lock(&c->mtx);
	if (c->async_closing) {
		pthread_mutex_unlock(&c->mtx);
		return NULL;
	}
	if ((a = c->async_idle) != NULL) {
		c->async_idle = a->next_idle;
		pthread_mutex_unlock(&c->mtx);
		return a;
	}
	pthread_mutex_unlock(&c->mtx);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->c = c;
	if (nng_ctx_open(&a->ctx, c->sock) != 0) {
		free(a);
		return NULL;
	}
	if (nng_aio_alloc(&a->aio, async_cb, a) != 0) {
		nng_ctx_close(a->ctx);
		free(a);
		return NULL;
	}
	pthread_mutex_lock(&c->mtx);
	a->next_all = c->async_all;
	c->async_all = a;
	pthread_mutex_unlock(&c->mtx);
	return a;
}

static void
async_put(gt__rpc_async *a)
{
	gt_rpc_client *c = a->c;

	a->state = ASYNC_IDLE;
	a->fn = NULL;
	a->arg = NULL;
	pthread_mutex_lock(&c->mtx);
	a->next_idle = c->async_idle;
	c->async_idle = a;
	pthread_mutex_unlock(&c->mtx);
}

/* Ends the call: the object goes back to the pool first (fn may start another call). */
static void
async_finish(gt__rpc_async *a, gt_rpc_code code, const char *msg, size_t msglen,
             const uint8_t *payload, size_t len)
{
	gt_rpc_async_fn fn = a->fn;
	void           *arg = a->arg;
	gt_rpc_status   st;

	st.code = code;
	snprintf(st.message, sizeof(st.message), "%.*s", (int)msglen, msg ? msg : "");
	async_put(a);
	fn(arg, &st, payload, len);
}

static int
async_closing(gt_rpc_client *c)
{
	int v;

	pthread_mutex_lock(&c->mtx);
	v = c->async_closing;
	pthread_mutex_unlock(&c->mtx);
	return v;
}

static nng_duration
ms_left(int64_t deadline)
{
	int64_t left = deadline - gt_mono_ns();

	return left <= 0 ? 0 : (nng_duration)((left + GT_NS_PER_MS - 1) / GT_NS_PER_MS);
}

/* nng callback thread: one step of the call done. */
static void
async_cb(void *arg)
{
	gt__rpc_async *a = arg;
	int            rv = nng_aio_result(a->aio);
	char           why[128];

	if (a->state == ASYNC_SEND) {
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(a->aio));
			nng_aio_set_msg(a->aio, NULL);
			snprintf(why, sizeof(why), "send: %s", nng_strerror(rv));
			async_finish(a, gt__rpc_code_from_nng(rv), why, strlen(why), NULL, 0);
			return;
		}
		if (ms_left(a->deadline) == 0 || async_closing(a->c)) {
			int closing = async_closing(a->c);

			async_finish(a, closing ? GT_RPC_CANCELLED : GT_RPC_DEADLINE_EXCEEDED,
			             closing ? "client closing" : "deadline exceeded", closing ? 14 : 17,
			             NULL, 0);
			return;
		}
		a->state = ASYNC_RECV;
		nng_aio_set_timeout(a->aio, ms_left(a->deadline));
		nng_ctx_recv(a->ctx, a->aio);
		return;
	}
	if (a->state != ASYNC_RECV)
		return;
	if (rv != 0) {
		snprintf(why, sizeof(why), rv == NNG_ETIMEDOUT ? "deadline exceeded (%s)" : "recv: %s",
		         nng_strerror(rv));
		async_finish(a, gt__rpc_code_from_nng(rv), why, strlen(why), NULL, 0);
		return;
	}
	{
		nng_msg    *m = nng_aio_get_msg(a->aio);
		gt__rpc_env e = {0};

		nng_aio_set_msg(a->aio, NULL);
		if (gt__rpc_resp_decode(nng_msg_body(m), nng_msg_len(m), &e) != GT_OK) {
			static const char bad[] = "malformed response envelope";

			async_finish(a, GT_RPC_INTERNAL, bad, sizeof(bad) - 1, NULL, 0);
		} else if (e.code != GT_RPC_OK) {
			async_finish(a, (gt_rpc_code)e.code, e.message, e.message_len, NULL, 0);
		} else {
			async_finish(a, GT_RPC_OK, NULL, 0, e.payload, e.payload_len);
		}
		nng_msg_free(m);
	}
}

gt_err
gt_rpc_call_async(gt_rpc_client *c, const ProtobufCServiceDescriptor *svc, const char *method,
                  const ProtobufCMessage *in, int64_t timeout_ns, gt_rpc_async_fn fn, void *arg)
{
	const ProtobufCMethodDescriptor *md;
	char                             full[160];
	gt__rpc_env                      e = {0};
	gt__rpc_async                   *a;
	nng_msg                         *m = NULL;
	size_t                           plen, head;

	if (c == NULL || svc == NULL || method == NULL || in == NULL || fn == NULL)
		return GT_EINVAL;
	if ((md = protobuf_c_service_descriptor_get_method_by_name(svc, method)) == NULL)
		return GT_EINVAL;
	if (timeout_ns <= 0)
		timeout_ns = c->timeout_ns;
	snprintf(full, sizeof(full), "%s/%s", svc->name, md->name);
	e.method = full;
	e.method_len = strlen(full);
	e.deadline_ms = (timeout_ns + GT_NS_PER_MS - 1) / GT_NS_PER_MS;
	e.request_id = atomic_fetch_add(&c->next_id, 1);
	e.token = c->token;
	e.token_len = c->token_len;
	plen = protobuf_c_message_get_packed_size(in);
	head = gt__rpc_req_head_size(&e, plen);
	if (nng_msg_alloc(&m, head + plen) != 0)
		return GT_ENOMEM;
	{
		uint8_t *p = nng_msg_body(m);

		protobuf_c_message_pack(in, p + gt__rpc_req_head_put(p, &e, plen));
	}
	if ((a = async_get(c)) == NULL) {
		nng_msg_free(m);
		return async_closing(c) ? GT_ECLOSED : GT_ENOMEM;
	}
	a->fn = fn;
	a->arg = arg;
	a->deadline = gt_mono_ns() + timeout_ns;
	a->state = ASYNC_SEND;
	nng_aio_set_timeout(a->aio, ms_left(a->deadline));
	nng_aio_set_msg(a->aio, m);
	nng_ctx_send(a->ctx, a->aio);
	return GT_OK;
}

void
gt__rpc_async_stop(gt_rpc_client *c)
{
	gt__rpc_async *a;

	pthread_mutex_lock(&c->mtx);
	c->async_closing = 1;
	a = c->async_all;
	pthread_mutex_unlock(&c->mtx);
	/* The list only grows at its head, so walking from the snapshot is safe; objects made
	 * after it cannot exist (async_get refuses once closing). */
	for (; a != NULL; a = a->next_all)
		nng_aio_stop(a->aio);
}

void
gt__rpc_async_free(gt_rpc_client *c)
{
	gt__rpc_async *a, *next;

	for (a = c->async_all; a != NULL; a = next) {
		next = a->next_all;
		nng_msg_free(nng_aio_get_msg(a->aio));
		nng_aio_free(a->aio);
		nng_ctx_close(a->ctx);
		free(a);
	}
	c->async_all = c->async_idle = NULL;
}
