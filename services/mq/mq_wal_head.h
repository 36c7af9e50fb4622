/* mq_wal_head.h - what every WAL segment starts with: the declarations (topics, groups) and,
 * per topic, each partition's next offset, each producer's last sequence, the DLQ trim point
 * and every live dead letter. Writing all of it at the head of each new segment makes any
 * suffix of the log self-describing, so deleting old segments loses neither a declaration, a
 * dead letter nor what producer retries are recognised by.
 *
 * An embedded object of the WAL, guarded by the WAL's mutex (or used by recovery before the
 * writer starts). Letters are kept as the payloads of their LETTER records. */
#ifndef MQ_WAL_HEAD_H
#define MQ_WAL_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

typedef struct mq_wal_name   mq_wal_name;
typedef struct mq_wal_letter mq_wal_letter;
typedef struct mq_wal_dlq    mq_wal_dlq;
typedef struct mq_wal_ends   mq_wal_ends;
typedef struct mq_wal_prod   mq_wal_prod;

typedef struct mq_wal_head {
	mq_wal_name *topics, *groups;
	size_t       ntopics, ngroups;
	mq_wal_dlq  *dlqs; /* index: topic id */
	size_t       ndlqs;
	mq_wal_ends *ends; /* index: topic id; each partition's next offset */
	size_t       nends;
	mq_wal_prod *prods; /* open addressing by (topic, producer); pcap slots, a power of 2 */
	size_t       nprods, pcap;
	uint64_t     ptick; /* bumped by every sequence update */
} mq_wal_head;

void mq_wal_head_fini(mq_wal_head *h);
/* Remember a declaration (no duplicates). */
gt_err mq_wal_head_topic(mq_wal_head *h, uint32_t topic, const char *name);
gt_err mq_wal_head_group(mq_wal_head *h, uint32_t topic, const char *group);
/* The group is gone: no longer declared; its letters are flagged LETTER_GONE. */
void mq_wal_head_group_deleted(mq_wal_head *h, uint32_t topic, const char *group);
/* Keep a letter from the payload of its DEAD or LETTER record (copied; stored as LETTER)
 * unless its dlq_offset is below what the topic holds already (heads repeat letters). */
gt_err mq_wal_head_letter(mq_wal_head *h, uint32_t topic, const uint8_t *pl, size_t len,
                          uint64_t dlq_offset);
/* Offsets of the partition below next are taken (kept as a maximum). */
gt_err mq_wal_head_end(mq_wal_head *h, uint32_t topic, uint32_t part, uint64_t next);
/* The producer's last sequence in the topic (kept as a maximum). At most
 * MQ_WAL_HEAD_MAX_PRODUCERS are kept: beyond, the least recently updated half is forgotten. */
#define MQ_WAL_HEAD_MAX_PRODUCERS 65536
gt_err mq_wal_head_producer(mq_wal_head *h, uint32_t topic, const char *producer, uint64_t seq);
/* The topic's letters below `below` are gone. */
void mq_wal_head_trim(mq_wal_head *h, uint32_t topic, uint64_t below);
/* Append the framed records of a segment head to out. */
void mq_wal_head_encode(const mq_wal_head *h, gt_buf *out);

#endif
