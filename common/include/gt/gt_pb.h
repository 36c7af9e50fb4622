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
/* Reads a varint at *p (< end) and advances *p. GT_EPROTO when truncated or overlong. */
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
 * the number is 0 or over 2^29-1, or for the deprecated group wire types. Any thread. */
gt_err gt_pb_next_field(const uint8_t **p, const uint8_t *end, gt_pb_field *f);

#endif
