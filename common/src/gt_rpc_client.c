/* gt_rpc_client.c - one REQ socket shared by all threads; a pooled context per call. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_rpc_int.h"

/* struct gt_rpc_client and client_ctx are in gt_rpc_int.h (gt_rpc_async.c shares them). */


gt_err
gt_rpc_client_open(gt_rpc_client **out, const char *url, const gt_rpc_client_cfg *cfg)
{
	gt_rpc_client *c;
	int            rv;
	int64_t        recon = cfg && cfg->reconnect_ns ? cfg->reconnect_ns : 100 * GT_NS_PER_MS;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return GT_ENOMEM;
	pthread_mutex_init(&c->mtx, NULL);
	c->timeout_ns = cfg && cfg->timeout_ns ? cfg->timeout_ns : 10 * GT_NS_PER_S;
	if (cfg && cfg->token && *cfg->token) {
		if ((c->token = strdup(cfg->token)) == NULL)
			goto fail_mem;
		c->token_len = strlen(c->token);
	}
	atomic_store(&c->next_id, ((uint64_t)gt_now_ns() << 16) ^ (uint64_t)(uintptr_t)c);
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		pthread_mutex_destroy(&c->mtx);
		free(c->token);
		free(c);
		return gt_err_from_nng(rv);
	}
	/* Never resend on our own: callers retry with ids the server can deduplicate. */
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 256u << 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, (nng_duration)(recon / GT_NS_PER_MS));
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
	if ((rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		gt_rpc_client_close(c);
		return gt_err_from_nng(rv);
	}
	*out = c;
	return GT_OK;
fail_mem:
	pthread_mutex_destroy(&c->mtx);
	free(c);
	return GT_ENOMEM;
}

void
gt_rpc_client_close(gt_rpc_client *c)
{
	client_ctx *x, *next;

	if (c == NULL)
		return;
	gt__rpc_async_stop(c);
	for (x = c->idle; x != NULL; x = next) {
		next = x->next;
		nng_aio_stop(x->aio);
		nng_ctx_close(x->ctx);
	}
	nng_close(c->sock);
	gt__rpc_async_free(c);
	for (x = c->idle; x != NULL; x = next) {
		next = x->next;
		nng_aio_free(x->aio);
		free(x);
	}
	pthread_mutex_destroy(&c->mtx);
	free(c->token);
	free(c);
}

static client_ctx *
client_ctx_get(gt_rpc_client *c)
{
	client_ctx *x;

	pthread_mutex_lock(&c->mtx);
	if ((x = c->idle) != NULL)
		c->idle = x->next;
	pthread_mutex_unlock(&c->mtx);
	if (x != NULL)
		return x;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if (nng_ctx_open(&x->ctx, c->sock) != 0) {
		free(x);
		return NULL;
	}
	if (nng_aio_alloc(&x->aio, NULL, NULL) != 0) {
		nng_ctx_close(x->ctx);
		free(x);
		return NULL;
	}
	return x;
}

static void
client_ctx_put(gt_rpc_client *c, client_ctx *x)
{
	pthread_mutex_lock(&c->mtx);
	x->next = c->idle;
	c->idle = x;
	pthread_mutex_unlock(&c->mtx);
}

static gt_err
stub_fail(gt_rpc_stub *stub, gt_rpc_code code, const char *fmt, const char *arg)
{
	stub->status.code = code;
	snprintf(stub->status.message, sizeof(stub->status.message), fmt, arg);
	return gt_rpc_err_from_code(code);
}

gt_rpc_code
gt__rpc_code_from_nng(int rv)
{
	switch (rv) {
	case NNG_ETIMEDOUT:
		return GT_RPC_DEADLINE_EXCEEDED;
	case NNG_ECANCELED:
		return GT_RPC_CANCELLED;
	case NNG_ENOMEM:
		return GT_RPC_RESOURCE_EXHAUSTED;
	default:
		return GT_RPC_UNAVAILABLE;
	}
}

/* One round trip of method md; on GT_OK *reply holds the received message and its payload. */
static gt_err
call_md(gt_rpc_stub *stub, const ProtobufCMethodDescriptor *md, const ProtobufCMessage *in,
        gt_rpc_reply *reply)
{
	gt_rpc_client                    *c = stub->client;
	const ProtobufCServiceDescriptor *sd = stub->base.descriptor;
	char                              method[160];
	gt__rpc_env                       e = {0};
	client_ctx                       *x;
	nng_msg                          *m = NULL;
	size_t                            plen, head;
	int64_t                           deadline, left;
	int                               rv;

	memset(reply, 0, sizeof(*reply));
	stub->status.code = GT_RPC_OK;
	stub->status.message[0] = '\0';
	snprintf(method, sizeof(method), "%s/%s", sd->name, md->name);
	deadline = gt_mono_ns() + stub->timeout_ns;
	e.method = method;
	e.method_len = strlen(method);
	e.deadline_ms = (stub->timeout_ns + GT_NS_PER_MS - 1) / GT_NS_PER_MS;
	e.request_id = atomic_fetch_add(&c->next_id, 1);
	e.token = c->token;
	e.token_len = c->token_len;
	plen = protobuf_c_message_get_packed_size(in);
	head = gt__rpc_req_head_size(&e, plen);
	if (nng_msg_alloc(&m, head + plen) != 0)
		return stub_fail(stub, GT_RPC_RESOURCE_EXHAUSTED, "%s", "out of memory");
	{
		uint8_t *p = nng_msg_body(m);
		size_t   h = gt__rpc_req_head_put(p, &e, plen);
		protobuf_c_message_pack(in, p + h);
	}
	if ((x = client_ctx_get(c)) == NULL) {
		nng_msg_free(m);
		return stub_fail(stub, GT_RPC_RESOURCE_EXHAUSTED, "%s", "no context");
	}
	nng_aio_set_timeout(x->aio,
	                    (nng_duration)((stub->timeout_ns + GT_NS_PER_MS - 1) / GT_NS_PER_MS));
	nng_aio_set_msg(x->aio, m);
	nng_ctx_send(x->ctx, x->aio);
	nng_aio_wait(x->aio);
	if ((rv = nng_aio_result(x->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(x->aio));
		client_ctx_put(c, x);
		return stub_fail(stub, gt__rpc_code_from_nng(rv), "send: %s", nng_strerror(rv));
	}
	left = deadline - gt_mono_ns();
	if (left <= 0) {
		client_ctx_put(c, x);
		return stub_fail(stub, GT_RPC_DEADLINE_EXCEEDED, "%s", "deadline exceeded");
	}
	nng_aio_set_timeout(x->aio, (nng_duration)((left + GT_NS_PER_MS - 1) / GT_NS_PER_MS));
	nng_ctx_recv(x->ctx, x->aio);
	nng_aio_wait(x->aio);
	if ((rv = nng_aio_result(x->aio)) != 0) {
		client_ctx_put(c, x);
		return stub_fail(stub, gt__rpc_code_from_nng(rv),
		                 rv == NNG_ETIMEDOUT ? "deadline exceeded (%s)" : "recv: %s",
		                 nng_strerror(rv));
	}
	m = nng_aio_get_msg(x->aio);
	client_ctx_put(c, x);
	if (gt__rpc_resp_decode(nng_msg_body(m), nng_msg_len(m), &e) != GT_OK) {
		nng_msg_free(m);
		return stub_fail(stub, GT_RPC_INTERNAL, "%s", "malformed response envelope");
	}
	if (e.code != GT_RPC_OK) {
		stub->status.code = (gt_rpc_code)e.code;
		snprintf(stub->status.message, sizeof(stub->status.message), "%.*s",
		         (int)e.message_len, e.message ? e.message : "");
		nng_msg_free(m);
		return gt_rpc_err_from_code((gt_rpc_code)e.code);
	}
	reply->payload = e.payload;
	reply->len = e.payload_len;
	reply->msg = m;
	return GT_OK;
}

gt_err
gt_rpc_call(gt_rpc_stub *stub, unsigned method_index, const ProtobufCMessage *in,
            ProtobufCMessage **out)
{
	const ProtobufCServiceDescriptor *sd = stub->base.descriptor;
	const ProtobufCMethodDescriptor  *md;
	gt_rpc_reply                      reply;
	gt_err                            rv;

	*out = NULL;
	if (method_index >= sd->n_methods)
		return stub_fail(stub, GT_RPC_UNIMPLEMENTED, "no method %s", "index");
	md = &sd->methods[method_index];
	if ((rv = call_md(stub, md, in, &reply)) != GT_OK)
		return rv;
	*out = protobuf_c_message_unpack(md->output, NULL, reply.len, reply.payload);
	gt_rpc_reply_free(&reply);
	if (*out == NULL)
		return stub_fail(stub, GT_RPC_INTERNAL, "response is not a valid %s",
		                 md->output->name);
	return GT_OK;
}

gt_err
gt_rpc_call_raw(gt_rpc_stub *stub, const char *method, const ProtobufCMessage *in,
                gt_rpc_reply *reply)
{
	const ProtobufCMethodDescriptor *md =
	    protobuf_c_service_descriptor_get_method_by_name(stub->base.descriptor, method);

	memset(reply, 0, sizeof(*reply));
	if (md == NULL)
		return stub_fail(stub, GT_RPC_UNIMPLEMENTED, "unknown method %s", method);
	return call_md(stub, md, in, reply);
}

void
gt_rpc_reply_free(gt_rpc_reply *reply)
{
	if (reply->msg != NULL)
		nng_msg_free(reply->msg);
	memset(reply, 0, sizeof(*reply));
}

gt_err
gt_rpc_call_by_name(gt_rpc_stub *stub, const char *method, const ProtobufCMessage *in,
                    ProtobufCMessage **out)
{
	const ProtobufCMethodDescriptor *md =
	    protobuf_c_service_descriptor_get_method_by_name(stub->base.descriptor, method);

	if (md == NULL) {
		*out = NULL;
		return stub_fail(stub, GT_RPC_UNIMPLEMENTED, "unknown method %s", method);
	}
	return gt_rpc_call(stub, (unsigned)(md - stub->base.descriptor->methods), in, out);
}

/* ProtobufCService.invoke for the generated client stubs. */
static void
stub_invoke(ProtobufCService *service, unsigned method_index, const ProtobufCMessage *input,
            ProtobufCClosure closure, void *closure_data)
{
	gt_rpc_stub      *stub = (gt_rpc_stub *)service;
	ProtobufCMessage *out = NULL;

	gt_rpc_call(stub, method_index, input, &out);
	closure(out, closure_data);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
}

static void
stub_destroy(ProtobufCService *service)
{
	(void)service;
}

void
gt_rpc_stub_init(gt_rpc_stub *stub, gt_rpc_client *c, const ProtobufCServiceDescriptor *desc,
                 int64_t timeout_ns)
{
	memset(stub, 0, sizeof(*stub));
	stub->base.descriptor = desc;
	stub->base.invoke = stub_invoke;
	stub->base.destroy = stub_destroy;
	stub->client = c;
	stub->timeout_ns = timeout_ns > 0 ? timeout_ns : c->timeout_ns;
}
