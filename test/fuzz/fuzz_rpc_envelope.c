/* fuzz_rpc_envelope.c - the RPC envelope codec (gt_rpc_code.c) against protobuf-c.
 * Byte 0 chooses: even = RpcRequest, odd = RpcResponse. The hand-written decoder must give
 * protobuf-c's verdict (a request also needs a method) and the same fields; a decoded
 * envelope re-encoded with the hand-written encoder decodes to the same fields again. The RPC
 * server's string rule (gt_utf8_check_pb on RpcRequest: method and token UTF-8 without NUL)
 * agrees with a reference UTF-8 decoder on the decoded fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_utf8.h"
#include "gt_rpc_int.h"
#include "gtpb/v1/rpc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* protobuf-c's strings end at a NUL; ours are (pointer, length) views. */
static int
same_str(const char *p, size_t n, const char *cstr)
{
	size_t l = strlen(cstr);

	return strnlen(p ? p : "", n) == l && (l == 0 || memcmp(p, cstr, l) == 0);
}

static void
check_request(const uint8_t *p, size_t n)
{
	Gtpb__V1__RpcRequest *pb = gtpb__v1__rpc_request__unpack(NULL, n, p);
	gt__rpc_env           e, e2;
	gt_err                rv = gt__rpc_req_decode(p, n, &e);
	uint8_t              *out;
	size_t                head, on;

	FUZZ_CHECK(pb != NULL || rv != GT_OK);
	if (pb == NULL)
		return;
	/* the wire is valid (protobuf-c decoded it): only an empty method is refused */
	FUZZ_CHECK((rv == GT_OK) == (e.method_len > 0));
	if (rv == GT_OK) {
		int ok_m = fuzz_ref_utf8((const unsigned char *)e.method, e.method_len) &&
		           memchr(e.method, 0, e.method_len) == NULL;
		int ok_t = e.token_len == 0 ||
		           (fuzz_ref_utf8((const unsigned char *)e.token, e.token_len) &&
		            memchr(e.token, 0, e.token_len) == NULL);
		/* last occurrence wins in both; the walker checks every occurrence, so only the
		 * implication walker-OK => the decoded fields are OK holds in general */
		if (gt_utf8_check_pb(&gtpb__v1__rpc_request__descriptor, p, n, NULL, 0) == GT_OK)
			FUZZ_CHECK(ok_m && ok_t);
		FUZZ_CHECK(same_str(e.method, e.method_len, pb->method));
		FUZZ_CHECK(same_str(e.token, e.token_len, pb->token));
		FUZZ_CHECK(e.deadline_ms == pb->deadline_ms && e.request_id == pb->request_id);
		FUZZ_CHECK(e.payload_len == pb->payload.len &&
		           (e.payload_len == 0 ||
		            memcmp(e.payload, pb->payload.data, e.payload_len) == 0));
		/* re-encode: head, then the payload bytes at the returned offset */
		head = gt__rpc_req_head_size(&e, e.payload_len);
		out = malloc(head + e.payload_len + 1);
		on = gt__rpc_req_head_put(out, &e, e.payload_len);
		FUZZ_CHECK(on == head);
		if (e.payload_len)
			memcpy(out + on, e.payload, e.payload_len);
		FUZZ_CHECK(gt__rpc_req_decode(out, head + e.payload_len, &e2) == GT_OK);
		FUZZ_CHECK(e2.method_len == e.method_len &&
		           memcmp(e2.method, e.method, e.method_len) == 0);
		/* the encoder writes no deadline for <= 0 ("none") */
		FUZZ_CHECK(e2.deadline_ms == (e.deadline_ms > 0 ? e.deadline_ms : 0));
		FUZZ_CHECK(e2.request_id == e.request_id);
		FUZZ_CHECK(e2.token_len == e.token_len && e2.payload_len == e.payload_len);
		free(out);
	}
	protobuf_c_message_free_unpacked(&pb->base, NULL);
}

static void
check_response(const uint8_t *p, size_t n)
{
	Gtpb__V1__RpcResponse *pb = gtpb__v1__rpc_response__unpack(NULL, n, p);
	gt__rpc_env            e;
	gt_err                 rv = gt__rpc_resp_decode(p, n, &e);

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
	if (pb == NULL)
		return;
	FUZZ_CHECK(e.code == pb->code && e.request_id == pb->request_id);
	FUZZ_CHECK(same_str(e.message, e.message_len, pb->message));
	FUZZ_CHECK(e.payload_len == pb->payload.len &&
	           (e.payload_len == 0 || memcmp(e.payload, pb->payload.data, e.payload_len) == 0));
	protobuf_c_message_free_unpacked(&pb->base, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		check_request(data + 1, size - 1);
	else
		check_response(data + 1, size - 1);
	return 0;
}
