/* mq_codec.c - raw descriptors and hand-written protobuf encoding for the hot paths. */
#include <stddef.h>
#include <string.h>

#include "mq_codec.h"

/* ---- raw descriptors (wire-identical to PublishRequest / FetchResponse) ---- */

static void
raw_publish_init(mq_raw_publish *m)
{
	memset(m, 0, sizeof(*m));
	m->base.descriptor = &mq_raw_publish_descriptor;
	m->topic = (char *)protobuf_c_empty_string;
	m->producer_id = (char *)protobuf_c_empty_string;
}

static const ProtobufCFieldDescriptor raw_publish_fields[5] = {
    {"topic", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, offsetof(mq_raw_publish, topic),
     NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"messages", 2, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BYTES,
     offsetof(mq_raw_publish, n_messages), offsetof(mq_raw_publish, messages), NULL, NULL, 0, 0,
     NULL, NULL},
    {"producer_id", 3, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0,
     offsetof(mq_raw_publish, producer_id), NULL, &protobuf_c_empty_string, 0, 0, NULL, NULL},
    {"sequence", 4, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT64, 0,
     offsetof(mq_raw_publish, sequence), NULL, NULL, 0, 0, NULL, NULL},
    {"omit_positions", 5, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_BOOL, 0,
     offsetof(mq_raw_publish, omit_positions), NULL, NULL, 0, 0, NULL, NULL},
};
/* field indices sorted by name: messages, omit_positions, producer_id, sequence, topic */
static const unsigned          raw_publish_by_name[] = {1, 4, 2, 3, 0};
static const ProtobufCIntRange raw_publish_ranges[2] = {{1, 0}, {0, 5}};

const ProtobufCMessageDescriptor mq_raw_publish_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "gtpb.v1.PublishRequest",
    "PublishRequest",
    "mq_raw_publish",
    "gtpb.v1",
    sizeof(mq_raw_publish),
    5,
    raw_publish_fields,
    raw_publish_by_name,
    1,
    raw_publish_ranges,
    (ProtobufCMessageInit)raw_publish_init,
    NULL,
    NULL,
    NULL};

static const ProtobufCFieldDescriptor raw_fetch_fields[2] = {
    {"deliveries", 1, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BYTES,
     offsetof(mq_raw_fetch, n_deliveries), offsetof(mq_raw_fetch, deliveries), NULL, NULL, 0, 0,
     NULL, NULL},
    {"epoch", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT64, 0, offsetof(mq_raw_fetch, epoch),
     NULL, NULL, 0, 0, NULL, NULL},
};
static const unsigned          raw_fetch_by_name[] = {0, 1};
static const ProtobufCIntRange raw_fetch_ranges[2] = {{1, 0}, {0, 2}};

void
mq_raw_fetch_init(mq_raw_fetch *m)
{
	memset(m, 0, sizeof(*m));
	m->base.descriptor = &mq_raw_fetch_descriptor;
}

const ProtobufCMessageDescriptor mq_raw_fetch_descriptor = {PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
                                                            "gtpb.v1.FetchResponse",
                                                            "FetchResponse",
                                                            "mq_raw_fetch",
                                                            "gtpb.v1",
                                                            sizeof(mq_raw_fetch),
                                                            2,
                                                            raw_fetch_fields,
                                                            raw_fetch_by_name,
                                                            1,
                                                            raw_fetch_ranges,
                                                            (ProtobufCMessageInit)mq_raw_fetch_init,
                                                            NULL,
                                                            NULL,
                                                            NULL};

size_t
mq_ts_field_put(uint8_t *p, int64_t ts_ns)
{
	p[0] = (4 << 3) | 0;
	return 1 + gt_pb_put_varint(p + 1, (uint64_t)ts_ns);
}

static size_t
id_size(uint64_t epoch, uint32_t partition, uint64_t offset)
{
	return 1 + gt_pb_varint_size(epoch) + 1 + gt_pb_varint_size(partition) + 1 +
	       gt_pb_varint_size(offset);
}

size_t
mq_delivery_size(uint64_t epoch, uint32_t partition, uint64_t offset, uint32_t attempt,
                 size_t msg_len)
{
	size_t ids = id_size(epoch, partition, offset);

	return 1 + gt_pb_varint_size(ids) + ids + 1 + gt_pb_varint_size(attempt) + 1 +
	       gt_pb_varint_size(msg_len) + msg_len;
}

size_t
mq_delivery_put(uint8_t *p, uint64_t epoch, uint32_t partition, uint64_t offset, uint32_t attempt,
                const uint8_t *msg, size_t msg_len)
{
	size_t ids = id_size(epoch, partition, offset);
	size_t n = 0;

	p[n++] = (1 << 3) | 2;
	n += gt_pb_put_varint(p + n, ids);
	p[n++] = (1 << 3) | 0;
	n += gt_pb_put_varint(p + n, epoch);
	p[n++] = (2 << 3) | 0;
	n += gt_pb_put_varint(p + n, partition);
	p[n++] = (3 << 3) | 0;
	n += gt_pb_put_varint(p + n, offset);
	p[n++] = (2 << 3) | 0;
	n += gt_pb_put_varint(p + n, attempt);
	p[n++] = (3 << 3) | 2;
	n += gt_pb_put_varint(p + n, msg_len);
	if (msg_len > 0)
		memcpy(p + n, msg, msg_len);
	return n + msg_len;
}
