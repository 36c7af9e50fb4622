/* gt_mqmsg.h - a gtpb.v1.Message (proto/gtpb/v1/mq.proto) read in place.
 *
 * The broker validates every published Message with it and consumers read each Delivery's
 * Message with it, without a protobuf-c tree: key and payload point into the bytes. Built on
 * gt_pb_next_field, it accepts and refuses exactly what protobuf-c's generated unpack does
 * (test/fuzz: fuzz_mq_msg, fuzz_col_wire); gt_mqmsg_validate adds the UTF-8 rule for strings.
 * Pure; any thread. */
#ifndef GT_MQMSG_H
#define GT_MQMSG_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct gt_mqmsg {
	const uint8_t *key; /* field 1, not NUL-terminated; NULL when absent */
	size_t         key_len;
	const uint8_t *payload; /* field 2; NULL when absent */
	size_t         payload_len;
	int64_t        timestamp_ns; /* field 4; 0 when absent */
} gt_mqmsg;

/* GT_EPROTO when p is not a Message (truncated, wrong wire types, a malformed headers entry);
 * headers (field 3) and unknown fields are checked and skipped. */
gt_err gt_mqmsg_parse(const uint8_t *p, size_t n, gt_mqmsg *m);

/* gt_mqmsg_parse, and the strings (key, every header key and value) must be strict UTF-8
 * without NUL (gt_utf8.h), as proto3 requires: GT_EINVAL when one is not (the wire form is
 * valid: *m is filled in). The broker accepts only such Messages; a reader of deliveries
 * uses gt_mqmsg_parse. n = 0 (the empty Message) is valid and p may then be NULL. */
gt_err gt_mqmsg_validate(const uint8_t *p, size_t n, gt_mqmsg *m);

#endif
