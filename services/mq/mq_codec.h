/* mq_codec.h - protobuf wire helpers for the broker's hot paths.
 *
 * Publish and Fetch are the two hot RPCs. To avoid one protobuf-c allocation tree per
 * message, the broker registers wire-compatible "raw" descriptors for them:
 *   - mq_raw_publish: PublishRequest with field 2 (Message) kept as raw bytes,
 *   - mq_raw_fetch:   FetchResponse with field 1 (Delivery) given as pre-encoded bytes.
 * The bytes on the wire are exactly PublishRequest / FetchResponse (see mq.proto); clients
 * use the generated descriptors. Stored messages are the publisher's Message encoding
 * (plus a timestamp_ns field appended when the publisher left it 0).
 * All functions are pure; any thread. */
#ifndef MQ_CODEC_H
#define MQ_CODEC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gt/gt_pb.h"

typedef struct mq_raw_publish {
	ProtobufCMessage     base;
	char                *topic;
	size_t               n_messages;
	ProtobufCBinaryData *messages; /* each one an encoded gtpb.v1.Message */
	char                *producer_id;
	uint64_t             sequence;
	protobuf_c_boolean   omit_positions;
} mq_raw_publish;

typedef struct mq_raw_fetch {
	ProtobufCMessage     base;
	size_t               n_deliveries;
	ProtobufCBinaryData *deliveries; /* each one an encoded gtpb.v1.Delivery */
	uint64_t             epoch;
} mq_raw_fetch;

extern const ProtobufCMessageDescriptor mq_raw_publish_descriptor;
extern const ProtobufCMessageDescriptor mq_raw_fetch_descriptor;
void                                    mq_raw_fetch_init(mq_raw_fetch *m);

/* Bytes to append to a stored Message to carry timestamp_ns (field 4): at most 11. */
size_t mq_ts_field_put(uint8_t *p, int64_t ts_ns);

/* Encoded size of a Delivery{id{epoch,partition,offset}, attempt, message(len)}. */
size_t mq_delivery_size(uint64_t epoch, uint32_t partition, uint64_t offset, uint32_t attempt,
                        size_t msg_len);
/* Writes it at p (mq_delivery_size bytes); returns bytes written. */
size_t mq_delivery_put(uint8_t *p, uint64_t epoch, uint32_t partition, uint64_t offset,
                       uint32_t attempt, const uint8_t *msg, size_t msg_len);

#endif
