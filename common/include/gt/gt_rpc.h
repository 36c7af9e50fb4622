/* gt_rpc.h - gRPC-style RPC over nng REQ/REP with protobuf-c service descriptors.
 *
 * Wire: one gtpb.v1.RpcRequest per request message, one gtpb.v1.RpcResponse per reply
 * (proto/gtpb/v1/rpc.proto). Method names are "<package>.<Service>/<Method>", e.g.
 * "gtpb.v1.MessageQueue/Publish". Status codes follow gRPC numbering.
 *
 * SERVER
 *   gt_rpc_server_new(&srv, &cfg); gt_rpc_server_add(srv, &my_service.base);
 *   gt_rpc_server_start(srv);  ...  gt_rpc_server_free(srv);
 * The service is a protobuf-c server struct (GTPB__V1__ECHO__INIT(prefix_)) whose handlers
 * run on the server's worker threads (never on nng's callback threads). A handler:
 *   - reads input (owned by the server, valid until the closure is called),
 *   - answers by calling closure(&output, closure_data) exactly once, or fails with
 *     gt_rpc_fail(closure_data, GT_RPC_NOT_FOUND, "no gpu %s", id) and then closure(NULL, data);
 *   - may return before answering (deferred: long-poll) and call the closure later from any
 *     thread. The service must answer every deferred call before gt_rpc_server_free.
 * Unknown method (also one with a NUL in its name) -> UNIMPLEMENTED; undecodable envelope or
 * payload, a method name or any `string` field of the payload (nested messages and maps
 * included) that is not UTF-8 without NUL (gt_utf8.h) -> INVALID_ARGUMENT; expired or negative
 * deadline -> DEADLINE_EXCEEDED (the handler is not run); wrong or missing token when the
 * server has one -> UNAUTHENTICATED; closure(NULL) with no status -> INTERNAL. The status
 * message a handler sets is sent as valid UTF-8 (invalid bytes become U+FFFD), so a handler
 * may quote request bytes in it.
 *
 * CLIENT
 *   gt_rpc_client_open(&cli, "tcp://127.0.0.1:9091", &ccfg);
 *   gt_rpc_stub stub;
 *   gt_rpc_stub_init(&stub, cli, &gtpb__v1__message_queue__descriptor, 2 * GT_NS_PER_S);
 *   gtpb__v1__message_queue__publish(&stub.base, &req, on_reply, &ctx);  // generated stub
 *   if (stub.status.code != GT_RPC_OK) ...
 * or, without a closure, gt_rpc_call() returns the unpacked output to the caller.
 * One client (one REQ socket) is shared by any number of threads; each call uses its own
 * nng context. A stub holds one call's status: one stub per thread (or per call).
 */
#ifndef GT_RPC_H
#define GT_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef enum gt_rpc_code {
	GT_RPC_OK = 0,
	GT_RPC_CANCELLED = 1,
	GT_RPC_UNKNOWN = 2,
	GT_RPC_INVALID_ARGUMENT = 3,
	GT_RPC_DEADLINE_EXCEEDED = 4,
	GT_RPC_NOT_FOUND = 5,
	GT_RPC_ALREADY_EXISTS = 6,
	GT_RPC_FAILED_PRECONDITION = 9,
	GT_RPC_RESOURCE_EXHAUSTED = 8,
	GT_RPC_UNIMPLEMENTED = 12,
	GT_RPC_INTERNAL = 13,
	GT_RPC_UNAVAILABLE = 14,
	GT_RPC_UNAUTHENTICATED = 16,
} gt_rpc_code;

const char *gt_rpc_code_name(gt_rpc_code c); /* "INVALID_ARGUMENT" */
gt_rpc_code gt_rpc_code_from_err(gt_err e);
gt_err      gt_rpc_err_from_code(gt_rpc_code c);

#define GT_RPC_MSG_MAX 256

typedef struct gt_rpc_status {
	gt_rpc_code code;
	char        message[GT_RPC_MSG_MAX];
} gt_rpc_status;

/* ---- server ---- */

typedef struct gt_rpc_server gt_rpc_server;

typedef struct gt_rpc_server_cfg {
	const char *url;      /* "tcp://0.0.0.0:9091", "ipc:///tmp/x", "inproc://x"; port 0 = any */
	int         contexts; /* requests in flight at once (receiving or deferred); default 64 */
	int         workers;  /* handler threads; default 4 */
	const char *token;    /* NULL or "" = no authentication */
	size_t      max_msg;  /* largest request accepted; default 64 MiB */
} gt_rpc_server_cfg;

gt_err gt_rpc_server_new(gt_rpc_server **out, const gt_rpc_server_cfg *cfg);
/* Register a service (borrowed; must outlive the server). Before start only. */
gt_err gt_rpc_server_add(gt_rpc_server *s, ProtobufCService *svc);
/* Bind and begin serving. */
gt_err gt_rpc_server_start(gt_rpc_server *s);
/* The TCP port actually bound (for port 0), or 0 for other transports. */
int gt_rpc_server_port(gt_rpc_server *s);
/* gt_rpc_dial_url writes the URL a local client dials to reach a listener on url that bound
 * port: "tcp://0.0.0.0:0" (or "*", or no host) + 40111 -> "tcp://127.0.0.1:40111",
 * "tcp://10.0.0.5:0" -> "tcp://10.0.0.5:40111"; other transports (ipc://, inproc://) and
 * port <= 0 are copied as they are. For "service.ready" log lines and tests. */
void gt_rpc_dial_url(char *out, size_t len, const char *url, int port);
/* Stop receiving new requests (in-flight ones may still answer). Idempotent. */
void gt_rpc_server_stop(gt_rpc_server *s);
/* Stops, waits for running handlers and deferred calls, frees. Accepts NULL. */
void gt_rpc_server_free(gt_rpc_server *s);
/* Requests served, by outcome (for /stats). */
uint64_t gt_rpc_server_served(gt_rpc_server *s);

/* Set the status a handler fails with; call before closure(NULL, closure_data). */
void gt_rpc_fail(void *closure_data, gt_rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer with an output the handler packs itself, straight into the reply (hot paths: no
 * protobuf-c message to build, no intermediate copy). gt_rpc_reply_begin returns room for
 * exactly len bytes, which must be filled with the packed output message (NULL when out of
 * memory: fail the call as usual instead); gt_rpc_reply_end then sends it. The pair takes the
 * place of the closure call. Any thread, like the closure. */
uint8_t *gt_rpc_reply_begin(void *closure_data, size_t len);
void     gt_rpc_reply_end(void *closure_data);
/* Time left before the caller's deadline (INT64_MAX when none). Handlers use it to bound
 * long-polls. */
int64_t gt_rpc_deadline_left_ns(void *closure_data);
/* True once the connection (nng pipe) the call came on has closed: nobody will read the
 * answer. A service holding deferred calls (long-polls) polls it and answers such calls at
 * once (any status; the reply is discarded), which frees their contexts. Any thread, until
 * the closure is called. */
bool gt_rpc_cancelled(void *closure_data);

/* ---- client ---- */

typedef struct gt_rpc_client gt_rpc_client;

typedef struct gt_rpc_client_cfg {
	const char *token;      /* sent with every request; NULL = none */
	int64_t     timeout_ns; /* default per-call deadline; 0 = 10 s */
	int64_t     reconnect_ns; /* minimum reconnect interval; 0 = 100 ms */
} gt_rpc_client_cfg;

/* Dials url (non-blocking: a server that is not up yet is retried in the background). */
gt_err gt_rpc_client_open(gt_rpc_client **out, const char *url, const gt_rpc_client_cfg *cfg);
/* No call may be running. Accepts NULL. */
void gt_rpc_client_close(gt_rpc_client *c);

typedef struct gt_rpc_stub {
	ProtobufCService base;    /* pass &stub.base to the generated client functions */
	gt_rpc_client   *client;
	int64_t          timeout_ns;
	gt_rpc_status    status;  /* of the last call made through this stub */
} gt_rpc_stub;

void gt_rpc_stub_init(gt_rpc_stub *stub, gt_rpc_client *c, const ProtobufCServiceDescriptor *desc,
    int64_t timeout_ns);

/* gt_rpc_call: call method method_index of the stub's service; on GT_OK *out is the unpacked
 * output, owned by the caller (protobuf_c_message_free_unpacked(*out, NULL)). On failure the
 * stub's status says why and the return is gt_rpc_err_from_code(status.code). */
gt_err gt_rpc_call(gt_rpc_stub *stub, unsigned method_index, const ProtobufCMessage *in,
    ProtobufCMessage **out);

/* gt_rpc_call_by_name: the same with the method named ("Publish"). */
gt_err gt_rpc_call_by_name(gt_rpc_stub *stub, const char *method, const ProtobufCMessage *in,
    ProtobufCMessage **out);

/* A reply kept in its wire form, for hot paths that parse the output themselves (no
 * protobuf-c allocation tree): payload points into the received message until
 * gt_rpc_reply_free. */
typedef struct gt_rpc_reply {
	const uint8_t *payload;
	size_t         len;
	void          *msg; /* private */
} gt_rpc_reply;

/* gt_rpc_call_raw: like gt_rpc_call_by_name, but on GT_OK *reply holds the packed output
 * (free it with gt_rpc_reply_free; on failure there is nothing to free). */
gt_err gt_rpc_call_raw(gt_rpc_stub *stub, const char *method, const ProtobufCMessage *in,
    gt_rpc_reply *reply);
/* Accepts a zeroed or already freed reply. */
void   gt_rpc_reply_free(gt_rpc_reply *reply);

/* ---- asynchronous calls (nng aio: no thread waits) ----
 * gt_rpc_call_async sends method of service svc with input in and returns at once. fn runs
 * exactly once (when GT_OK was returned; never otherwise) on an nng callback thread with the
 * call's status and, when status->code is GT_RPC_OK, the packed output (payload, len: valid
 * only during the call). fn must not block: unpack, hand over, return. timeout_ns bounds the
 * whole call (0 = the client's default); it is also sent as the request's deadline.
 * gt_rpc_client_close cancels calls in flight (fn runs with GT_RPC_CANCELLED before it
 * returns). GT_ECLOSED once closing, GT_EINVAL for an unknown method, GT_ENOMEM. */
typedef void (*gt_rpc_async_fn)(void *arg, const gt_rpc_status *status, const uint8_t *payload,
    size_t len);
gt_err gt_rpc_call_async(gt_rpc_client *c, const ProtobufCServiceDescriptor *svc,
    const char *method, const ProtobufCMessage *in, int64_t timeout_ns, gt_rpc_async_fn fn,
    void *arg);

#endif
