/* gt_pb.h - protobuf wire-format varints, for the hand-written codecs on hot paths
 * (RPC envelope, the broker's Publish/WAL records). Pure functions; any thread. */
#ifndef GT_PB_H
#define GT_PB_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

/* Bytes needed to encode v (1..10). */
size_t gt_pb_varint_size(uint64_t v);
/* Writes v at p (room for gt_pb_varint_size(v) bytes); returns the bytes written. */
size_t gt_pb_put_varint(uint8_t *p, uint64_t v);
/* Reads a varint at *p (< end) and advances *p. GT_EPROTO when truncated or longer than 10
 * bytes; bits past 64 (in the 10th byte) are dropped, as protobuf-c does. */
gt_err gt_pb_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Wire types. */
enum { GT_PB_VARINT = 0, GT_PB_I64 = 1, GT_PB_LEN = 2, GT_PB_I32 = 5 };

/* One field of an encoded message, as read by gt_pb_next_field. */
typedef struct gt_pb_field {
	uint32_t       num;  /* field number (>= 1) */
	int            type; /* GT_PB_VARINT, GT_PB_I64, GT_PB_LEN or GT_PB_I32 */
	uint64_t       u;    /* VARINT, I64 and I32 values (little-endian fixed as read) */
	const uint8_t *p;    /* LEN: the bytes (pointing into the input) */
	size_t         len;
} gt_pb_field;

/* Reads the field at *p (< end) and advances *p past it. GT_EPROTO when truncated, when
 * the number is 0 or over 2^29-1, or for the deprecated group wire types. Any thread.
 * Inline: decoders call it once per field of every record. */
static inline __attribute__((always_inline)) gt_err
gt_pb_next_field(const uint8_t **pp, const uint8_t *end, gt_pb_field *f)
{
	const uint8_t *p = *pp;
	uint64_t       tag, v;

	if (p < end && *p < 0x80) /* one-byte tag: fields 1..15 */
		tag = *p++;
	else if (gt_pb_get_varint(&p, end, &tag) != GT_OK)
		return GT_EPROTO;
	if ((tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return GT_EPROTO;
	f->num = (uint32_t)(tag >> 3);
	f->type = (int)(tag & 7);
	f->u = 0;
	f->p = NULL;
	f->len = 0;
	switch (f->type) {
	case GT_PB_VARINT:
		if (p < end && *p < 0x80)
			f->u = *p++;
		else if (gt_pb_get_varint(&p, end, &f->u) != GT_OK)
			return GT_EPROTO;
		break;
	case GT_PB_I64:
	case GT_PB_I32: {
		size_t n = f->type == GT_PB_I64 ? 8 : 4, i;

		if ((size_t)(end - p) < n)
			return GT_EPROTO;
		for (i = n, v = 0; i > 0; i--)
			v = (v << 8) | p[i - 1];
		f->u = v;
		p += n;
		break;
	}
	case GT_PB_LEN:
		if (p < end && *p < 0x80)
			v = *p++;
		else if (gt_pb_get_varint(&p, end, &v) != GT_OK)
			return GT_EPROTO;
		if (v > (uint64_t)(end - p))
			return GT_EPROTO;
		f->p = p;
		f->len = (size_t)v;
		p += v;
		break;
	default:
		return GT_EPROTO; /* 3, 4: groups; 6, 7: invalid */
	}
	*pp = p;
	return GT_OK;
}

#endif
