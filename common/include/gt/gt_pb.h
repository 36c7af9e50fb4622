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

/* Reads the field at *p (< end) and advances *p past it; GT_EPROTO when malformed. Tags and
 * lengths are read exactly as protobuf-c reads them, so hand-written decoders built on this
 * accept and refuse the same inputs as the generated code (the fuzz targets check it): a tag
 * is at most 5 bytes kept to 32 bits (a first byte without field bits is an error; the number
 * may then still be 0 or past 2^29 - 1: an unknown field), a length at most 5 bytes, groups (types
 * 3, 4) and types 6, 7 are errors. Inline: decoders call it for every field of every record. Any
 * thread. */
static inline __attribute__((always_inline)) gt_err
gt_pb_next_field(const uint8_t **pp, const uint8_t *end, gt_pb_field *f)
{
	const uint8_t *p = *pp;
	uint32_t       tag;
	uint64_t       len;
	size_t         i, max;

	if (p >= end || (p[0] & 0xf8) == 0)
		return GT_EPROTO;
	f->type = p[0] & 7;
	if ((p[0] & 0x80) == 0) { /* one-byte tag: fields 1..15 */
		f->num = p[0] >> 3;
		p++;
	} else {
		tag = (p[0] & 0x7f) >> 3;
		max = end - p < 5 ? (size_t)(end - p) : 5;
		for (i = 1; i < max && (p[i] & 0x80); i++)
			tag |= (uint32_t)(p[i] & 0x7f) << (4 + 7 * (i - 1));
		if (i >= max)
			return GT_EPROTO;
		f->num = tag | (uint32_t)p[i] << (4 + 7 * (i - 1));
		p += i + 1;
	}
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
		size_t   n = f->type == GT_PB_I64 ? 8 : 4;
		uint64_t v = 0;

		if ((size_t)(end - p) < n)
			return GT_EPROTO;
		for (i = n; i > 0; i--)
			v = (v << 8) | p[i - 1];
		f->u = v;
		p += n;
		break;
	}
	case GT_PB_LEN:
		max = end - p < 5 ? (size_t)(end - p) : 5;
		for (i = 0, len = 0; i < max; i++) {
			len |= (uint64_t)(p[i] & 0x7f) << (7 * i);
			if ((p[i] & 0x80) == 0)
				break;
		}
		if (i == max || len > (uint64_t)(end - p) - (i + 1))
			return GT_EPROTO;
		f->p = p + i + 1;
		f->len = (size_t)len;
		p += i + 1 + len;
		break;
	default:
		return GT_EPROTO; /* 3, 4: groups; 6, 7: invalid */
	}
	*pp = p;
	return GT_OK;
}

/* gt_pb_check_entry checks an encoded map entry (key = field 1, value = field 2) as
 * protobuf-c's unpack would: both with the given wire types when present, other fields skipped.
 * For readers that skip a map but must refuse what protobuf-c refuses. */
gt_err gt_pb_check_entry(const uint8_t *p, const uint8_t *end, int key_type, int value_type);

#endif
