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

static int
get_varint_at(const uint8_t *buf, size_t len, size_t *off, uint64_t *v)
{
	const uint8_t *p = buf + *off;

	if (gt_pb_get_varint(&p, buf + len, v) != GT_OK)
		return -1;
	*off = (size_t)(p - buf);
	return 0;
}

/* Walks the fields; resp selects the response numbering. */
static gt_err
env_decode(const uint8_t *buf, size_t len, gt__rpc_env *e, int resp)
{
	size_t off = 0;

	memset(e, 0, sizeof(*e));
	while (off < len) {
		uint64_t key, v, l;
		unsigned field, wt;

		if (get_varint_at(buf, len, &off, &key))
			return GT_EPROTO;
		field = (unsigned)(key >> 3);
		wt = (unsigned)(key & 7);
		if (field == 0)
			return GT_EPROTO;
		switch (wt) {
		case 0:
			if (get_varint_at(buf, len, &off, &v))
				return GT_EPROTO;
			if (!resp && field == 3)
				e->deadline_ms = (int64_t)v;
			else if (field == 4)
				e->request_id = v;
			else if (resp && field == 1)
				e->code = (int32_t)v;
			break;
		case 1:
			if (len - off < 8)
				return GT_EPROTO;
			off += 8;
			break;
		case 5:
			if (len - off < 4)
				return GT_EPROTO;
			off += 4;
			break;
		case 2:
			if (get_varint_at(buf, len, &off, &l) || l > len - off)
				return GT_EPROTO;
			if (!resp && field == 1) {
				e->method = (const char *)buf + off;
				e->method_len = l;
			} else if ((!resp && field == 2) || (resp && field == 3)) {
				e->payload = buf + off;
				e->payload_len = l;
			} else if (!resp && field == 5) {
				e->token = (const char *)buf + off;
				e->token_len = l;
			} else if (resp && field == 2) {
				e->message = (const char *)buf + off;
				e->message_len = l;
			}
			off += l;
			break;
		default:
			return GT_EPROTO;
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
