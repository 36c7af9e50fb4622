/* gt_rpc_int.h - envelope wire helpers shared by the RPC client and server.
 *
 * The envelope (RpcRequest / RpcResponse in proto/gtpb/v1/rpc.proto) is encoded by hand so
 * that the method's message is packed straight into the nng message and decoded in place
 * from it, with no intermediate copy. The bytes are ordinary protobuf: any protobuf + nng
 * client can speak to us. */
#ifndef GT_RPC_INT_H
#define GT_RPC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gt/gt_rpc.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct gt__rpc_env {
	const char    *method; /* not NUL-terminated */
	size_t         method_len;
	const uint8_t *payload;
	size_t         payload_len;
	int64_t        deadline_ms;
	uint64_t       request_id;
	const char    *token;
	size_t         token_len;
	/* responses */
	int32_t        code;
	const char    *message;
	size_t         message_len;
} gt__rpc_env;

/* Field numbers: request method=1 payload=2 deadline_ms=3 request_id=4 token=5;
 * response code=1 message=2 payload=3 request_id=4. */

/* Encoded size of the request envelope minus the payload bytes themselves. */
size_t gt__rpc_req_head_size(const gt__rpc_env *e, size_t payload_len);
/* Writes the request head; the payload goes at the returned offset. */
size_t gt__rpc_req_head_put(uint8_t *p, const gt__rpc_env *e, size_t payload_len);
size_t gt__rpc_resp_head_size(const gt__rpc_env *e, size_t payload_len);
size_t gt__rpc_resp_head_put(uint8_t *p, const gt__rpc_env *e, size_t payload_len);

/* Decode (pointers point into buf). GT_EPROTO on malformed input. */
gt_err gt__rpc_req_decode(const uint8_t *buf, size_t len, gt__rpc_env *e);
gt_err gt__rpc_resp_decode(const uint8_t *buf, size_t len, gt__rpc_env *e);

/* ---- the client (gt_rpc_client.c, gt_rpc_async.c) ---- */
typedef struct client_ctx {
	struct client_ctx *next;
	nng_ctx            ctx;
	nng_aio           *aio;
} client_ctx;

typedef struct gt__rpc_async gt__rpc_async;

struct gt_rpc_client {
	nng_socket      sock;
	char           *token;
	size_t          token_len;
	int64_t         timeout_ns;
	pthread_mutex_t mtx;
	client_ctx     *idle;
	atomic_ullong   next_id;
	/* asynchronous calls (gt_rpc_async.c), under mtx */
	gt__rpc_async *async_all, *async_idle;
	int            async_closing;
};

gt_rpc_code gt__rpc_code_from_nng(int rv);
/* gt_rpc_client_close: cancel the asynchronous calls in flight (their callbacks run with
 * CANCELLED) before the socket closes; free them after. */
void gt__rpc_async_stop(gt_rpc_client *c);
void gt__rpc_async_free(gt_rpc_client *c);

#endif
