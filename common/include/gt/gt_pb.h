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

#endif
