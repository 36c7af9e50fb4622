/* mq_wal_rec.h - the WAL's record codec: framing and the payload of every record type.
 *
 * A frame is u32le length, u32le CRC32C(payload), payload; the payload starts with its type
 * byte, then the topic id (varint). Bodies (varints unless noted):
 *   TOPIC, GROUP, GROUP_DEL   name (length-prefixed)
 *   PUBLISH, REPLAY           producer, sequence, accept time, the first offset of each
 *                             partition in the batch (count, then partition + offset), then
 *                             the messages (count, then partition, length, bytes; offsets are
 *                             implicit); REPLAY adds `below` (the DLQ trim) at the end
 *   ACK                       group, runs (count as a fixed 5-byte varint, then partition,
 *                             first offset, count)
 *   DEAD, LETTER              flags (1 byte: LETTER_GONE), group, epoch, partition, offset,
 *                             attempts, dlq_offset, reason, message (0 = none, else
 *                             1 + length, then the bytes)
 *   DLQ_TRIM                  below
 *   ATTEMPT                   group, partition, offset, attempts (a redelivery)
 *   DELIVERED                 group, runs as in ACK (first deliveries: attempt 1)
 *   PART_END                  partition, next offset (segment heads: offsets keep growing
 *                             after the segments that held the lower ones are deleted)
 *   PRODUCER                  producer, sequence (segment heads: a producer's retry is still
 *                             recognised after the segment with its PUBLISH is deleted)
 * Pure functions; any thread. */
#ifndef MQ_WAL_REC_H
#define MQ_WAL_REC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "mq_topic.h"

enum {
	MQ_WAL_TOPIC = 1,
	MQ_WAL_PUBLISH = 2,
	MQ_WAL_ACK = 3,
	MQ_WAL_GROUP = 4,
	MQ_WAL_GROUP_DEL = 5,
	MQ_WAL_DEAD = 6,     /* a dead-lettering: the letter, and its offset done for its group */
	MQ_WAL_LETTER = 7,   /* a live dead letter re-logged at a segment head (no done-marking) */
	MQ_WAL_DLQ_TRIM = 8, /* the topic's letters below a dlq_offset are gone (purge) */
	MQ_WAL_REPLAY = 9,   /* a PUBLISH of replayed letters plus the trim, in one record */
	MQ_WAL_ATTEMPT = 10, /* a redelivery: the delivery count of (group, partition, offset) */
	MQ_WAL_DELIVERED = 11, /* first deliveries of one fetch (runs): attempt count 1 */
	MQ_WAL_PART_END = 12,  /* a partition's next offset when the segment was opened */
	MQ_WAL_PRODUCER = 13,  /* a producer's last sequence when the segment was opened */
};

#define MQ_WAL_MAX_REC (256u << 20)

/* ---- framing ---- */
/* Frame payload into buf: u32le length, u32le crc32c(payload), payload. */
gt_err mq_wal_frame(gt_buf *buf, const void *payload, size_t len);
/* Scan frames in data[0..len): calls fn for each valid one; stops at the first torn or
 * corrupt frame (or when fn fails: *fn_err). Returns the length of the valid prefix. */
size_t mq_wal_scan(const uint8_t *data, size_t                                         len,
                   gt_err (*fn)(void *arg, const uint8_t *payload, size_t plen), void *arg,
                   gt_err *fn_err);

/* ---- encoders: each appends one framed record to b ---- */
gt_err mq_wal_enc_decl(gt_buf *b, int type, uint32_t topic, const char *name);
/* PUBLISH (below ignored) or REPLAY. */
gt_err mq_wal_enc_publish(gt_buf *b, int type, uint32_t topic, const char *producer, uint64_t seq,
                          int64_t ts_ns, const ProtobufCBinaryData *msgs, size_t n,
                          const mq_pos *pos, uint64_t below);
/* ids: runs of consecutive offsets in one partition are stored as one run. */
gt_err mq_wal_enc_ack(gt_buf *b, uint32_t topic, const char *group, const mq_id *ids, size_t n);
/* DEAD or LETTER. */
gt_err mq_wal_enc_dead(gt_buf *b, int type, uint32_t topic, const mq_dead_view *d);
gt_err mq_wal_enc_trim(gt_buf *b, uint32_t topic, uint64_t below);
gt_err mq_wal_enc_part_end(gt_buf *b, uint32_t topic, uint32_t part, uint64_t next);
gt_err mq_wal_enc_producer(gt_buf *b, uint32_t topic, const char *producer, uint64_t seq);
gt_err mq_wal_enc_attempt(gt_buf *b, uint32_t topic, const char *group, uint32_t part, uint64_t off,
                          unsigned attempts);
gt_err mq_wal_enc_delivered(gt_buf *b, uint32_t topic, const char *group, const mq_run *runs,
                            size_t n);

/* Inside a DEAD/LETTER payload (a validated one): when its group is `group`, set the
 * LETTER_GONE flag (returns 1). */
int mq_wal_letter_gone(uint8_t *pl, size_t len, const char *group);

/* ---- decoding ---- */
typedef struct mq_wal_dec {
	char   name[512]; /* names are at most 256 bytes */
	char  *reason;    /* DEAD/LETTER reasons can be longer */
	size_t reason_cap;
} mq_wal_dec;

typedef struct mq_wal_rec {
	int          type;
	uint32_t     topic;
	const char  *name; /* decl: the name; PUBLISH/REPLAY/PRODUCER: producer; others: group */
	uint64_t     seq;
	int64_t      ts_ns;
	uint64_t     below; /* DLQ_TRIM, REPLAY */
	uint64_t     n;     /* PUBLISH/REPLAY: messages; ACK: runs */
	mq_dead_view dead;  /* DEAD, LETTER */
	uint32_t     part;  /* ATTEMPT, PART_END (off: the next offset) */
	uint64_t     off;
	unsigned     attempts;
	/* iteration (mq_wal_rec_msg / mq_wal_rec_run) */
	const uint8_t *it, *end;
	uint64_t       left;
	uint64_t       next[64];
} mq_wal_rec;

void mq_wal_dec_fini(mq_wal_dec *dec);
/* Decode and validate the whole payload (GT_ECORRUPT when malformed). Strings live in dec
 * until the next decode; message bytes point into the payload. */
gt_err mq_wal_rec_decode(mq_wal_dec *dec, const uint8_t *p, size_t len, mq_wal_rec *r);
/* PUBLISH/REPLAY: the next message (1), or 0 after the last. */
int mq_wal_rec_msg(mq_wal_rec *r, uint32_t *part, uint64_t *off, const uint8_t **msg, size_t *len);
/* ACK, DELIVERED: the next run (1), or 0 after the last. */
int mq_wal_rec_run(mq_wal_rec *r, uint32_t *part, uint64_t *first, uint64_t *count);

#endif
