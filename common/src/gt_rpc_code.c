/* gt_rpc_code.c - status codes and the hand-rolled envelope codec. */
#include <string.h>

#include "gt/gt_pb.h"
#include "gt/gt_rpc.h"
#include "gt_rpc_int.h"

const char *
gt_rpc_code_name(gt_rpc_code c)
{
	switch (c) {
	case GT_RPC_OK:
		return "OK";
	case GT_RPC_CANCELLED:
		return "CANCELLED";
	case GT_RPC_UNKNOWN:
		return "UNKNOWN";
	case GT_RPC_INVALID_ARGUMENT:
		return "INVALID_ARGUMENT";
	case GT_RPC_DEADLINE_EXCEEDED:
		return "DEADLINE_EXCEEDED";
	case GT_RPC_NOT_FOUND:
		return "NOT_FOUND";
	case GT_RPC_ALREADY_EXISTS:
		return "ALREADY_EXISTS";
	case GT_RPC_RESOURCE_EXHAUSTED:
		return "RESOURCE_EXHAUSTED";
	case GT_RPC_FAILED_PRECONDITION:
		return "FAILED_PRECONDITION";
	case GT_RPC_UNIMPLEMENTED:
		return "UNIMPLEMENTED";
	case GT_RPC_INTERNAL:
		return "INTERNAL";
	case GT_RPC_UNAVAILABLE:
		return "UNAVAILABLE";
	case GT_RPC_UNAUTHENTICATED:
		return "UNAUTHENTICATED";
	}
	return "UNKNOWN";
}

gt_rpc_code
gt_rpc_code_from_err(gt_err e)
{
	switch (e) {
	case GT_OK:
	case GT_EDONE:
		return GT_RPC_OK;
	case GT_EINVAL:
	case GT_EPROTO:
		return GT_RPC_INVALID_ARGUMENT;
	case GT_ENOENT:
		return GT_RPC_NOT_FOUND;
	case GT_EEXIST:
		return GT_RPC_ALREADY_EXISTS;
	case GT_ETIMEDOUT:
		return GT_RPC_DEADLINE_EXCEEDED;
	case GT_EFULL:
		return GT_RPC_RESOURCE_EXHAUSTED;
	case GT_ECANCELED:
		return GT_RPC_CANCELLED;
	case GT_EAUTH:
		return GT_RPC_UNAUTHENTICATED;
	case GT_ENOTSUP:
		return GT_RPC_UNIMPLEMENTED;
	case GT_ECLOSED:
	case GT_EUNAVAIL:
		return GT_RPC_UNAVAILABLE;
	default:
		return GT_RPC_INTERNAL;
	}
}

gt_err
gt_rpc_err_from_code(gt_rpc_code c)
{
	switch (c) {
	case GT_RPC_OK:
		return GT_OK;
	case GT_RPC_CANCELLED:
		return GT_ECANCELED;
	case GT_RPC_INVALID_ARGUMENT:
		return GT_EINVAL;
	case GT_RPC_DEADLINE_EXCEEDED:
		return GT_ETIMEDOUT;
	case GT_RPC_NOT_FOUND:
		return GT_ENOENT;
	case GT_RPC_ALREADY_EXISTS:
		return GT_EEXIST;
	case GT_RPC_RESOURCE_EXHAUSTED:
		return GT_EFULL;
	case GT_RPC_UNIMPLEMENTED:
		return GT_ENOTSUP;
	case GT_RPC_UNAVAILABLE:
		return GT_EUNAVAIL;
	case GT_RPC_UNAUTHENTICATED:
		return GT_EAUTH;
	default:
		return GT_EINTERNAL;
	}
}

/* Length-delimited field size / writer (field < 16: one tag byte). */
static size_t
ld_size(size_t len)
{
	return 1 + gt_pb_varint_size(len) + len;
}

static size_t
ld_put(uint8_t *p, unsigned field, const void *data, size_t len)
{
	size_t n = 0;

	p[n++] = (uint8_t)(field << 3 | 2);
	n += gt_pb_put_varint(p + n, len);
	if (data != NULL && len > 0)
		memcpy(p + n, data, len);
	return n + (data != NULL ? len : 0);
}

static size_t
vi_put(uint8_t *p, unsigned field, uint64_t v)
{
	p[0] = (uint8_t)(field << 3);
	return 1 + gt_pb_put_varint(p + 1, v);
}

size_t
gt__rpc_req_head_size(const gt__rpc_env *e, size_t payload_len)
{
	size_t n = ld_size(e->method_len);

	if (e->deadline_ms > 0)
		n += 1 + gt_pb_varint_size((uint64_t)e->deadline_ms);
	if (e->request_id)
		n += 1 + gt_pb_varint_size(e->request_id);
	if (e->token_len)
		n += ld_size(e->token_len);
	return n + 1 + gt_pb_varint_size(payload_len);
}

size_t
gt__rpc_req_head_put(uint8_t *p, const gt__rpc_env *e, size_t payload_len)
{
	size_t n = ld_put(p, 1, e->method, e->method_len);

	if (e->deadline_ms > 0)
		n += vi_put(p + n, 3, (uint64_t)e->deadline_ms);
	if (e->request_id)
		n += vi_put(p + n, 4, e->request_id);
	if (e->token_len)
		n += ld_put(p + n, 5, e->token, e->token_len);
	return n + ld_put(p + n, 2, NULL, payload_len);
}

size_t
gt__rpc_resp_head_size(const gt__rpc_env *e, size_t payload_len)
{
	size_t n = 0;

	if (e->code != 0)
		n += 1 + gt_pb_varint_size((uint64_t)(int64_t)e->code);
	if (e->message_len)
		n += ld_size(e->message_len);
	if (e->request_id)
		n += 1 + gt_pb_varint_size(e->request_id);
	if (payload_len)
		n += 1 + gt_pb_varint_size(payload_len);
	return n;
}

size_t
gt__rpc_resp_head_put(uint8_t *p, const gt__rpc_env *e, size_t payload_len)
{
	size_t n = 0;

	if (e->code != 0)
		n += vi_put(p + n, 1, (uint64_t)(int64_t)e->code);
	if (e->message_len)
		n += ld_put(p + n, 2, e->message, e->message_len);
	if (e->request_id)
		n += vi_put(p + n, 4, e->request_id);
	if (payload_len)
		n += ld_put(p + n, 3, NULL, payload_len);
	return n;
}

/* Walks the fields; resp selects the response numbering. A known field with the wrong wire
 * type is an error, as in protobuf-c (the fuzz target checks the two agree). */
static gt_err
env_decode(const uint8_t *buf, size_t len, gt__rpc_env *e, int resp)
{
	/* wire type of each known field: request 1..5, response 1..4 */
	static const int8_t req_type[6] = {-1,           GT_PB_LEN,    GT_PB_LEN,
	                                   GT_PB_VARINT, GT_PB_VARINT, GT_PB_LEN};
	static const int8_t resp_type[5] = {-1, GT_PB_VARINT, GT_PB_LEN, GT_PB_LEN, GT_PB_VARINT};
	const uint8_t      *p = buf, *end = buf + len;
	gt_pb_field         f;

	memset(e, 0, sizeof(*e));
	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if ((!resp && f.num >= 1 && f.num <= 5 && f.type != req_type[f.num]) ||
		    (resp && f.num >= 1 && f.num <= 4 && f.type != resp_type[f.num]))
			return GT_EPROTO;
		if (!resp) {
			switch (f.num) {
			case 1:
				e->method = (const char *)f.p;
				e->method_len = f.len;
				break;
			case 2:
				e->payload = f.p;
				e->payload_len = f.len;
				break;
			case 3:
				e->deadline_ms = (int64_t)f.u;
				break;
			case 4:
				e->request_id = f.u;
				break;
			case 5:
				e->token = (const char *)f.p;
				e->token_len = f.len;
				break;
			default:
				break; /* unknown field */
			}
		} else {
			switch (f.num) {
			case 1:
				e->code = (int32_t)f.u;
				break;
			case 2:
				e->message = (const char *)f.p;
				e->message_len = f.len;
				break;
			case 3:
				e->payload = f.p;
				e->payload_len = f.len;
				break;
			case 4:
				e->request_id = f.u;
				break;
			default:
				break;
			}
		}
	}
	return GT_OK;
}

gt_err
gt__rpc_req_decode(const uint8_t *buf, size_t len, gt__rpc_env *e)
{
	gt_err rv = env_decode(buf, len, e, 0);

	if (rv == GT_OK && e->method_len == 0)
		return GT_EPROTO;
	return rv;
}

gt_err
gt__rpc_resp_decode(const uint8_t *buf, size_t len, gt__rpc_env *e)
{
	return env_decode(buf, len, e, 1);
}
