/* mq_plog.h - the log of one partition: the stored Message bytes in 2 MiB mmap'ed arena
 * chunks (no malloc per message), indexed by an offset ring (16 B per message).
 *
 * Offsets [base, end) are retained. Appends happen at end; mq_plog_drop_below releases the
 * front (a chunk is unmapped as soon as all of its messages are dropped, but one spare
 * chunk is kept for the next append: a steady stream reuses resident pages instead of an
 * mmap, a page fault per 4 KiB and a munmap per MiB), so memory follows the backlog. An embedded object (zeroed = empty at offset 0), owned by its topic and used
 * under the topic's lock; no locking here. */
#ifndef MQ_PLOG_H
#define MQ_PLOG_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

#define MQ_PLOG_TS_MAX 11 /* bytes a timestamp_ns field can add: tag + 10-byte varint */

typedef struct mq_plog_chunk mq_plog_chunk;

typedef struct mq_plog_ent {
	uint8_t *p; /* the stored bytes (inside a chunk) */
	uint32_t len;
} mq_plog_ent;

typedef struct mq_plog {
	uint64_t       base, end; /* retained offsets [base, end) */
	/* [base, ready) may be delivered; ready <= end. The owner advances it (a topic with a
	 * WAL once a batch is durable); drops and skips keep it >= base. */
	uint64_t       ready;
	mq_plog_ent   *ring;      /* power-of-two capacity, indexed by offset */
	size_t         cap;
	mq_plog_chunk *head, *tail;
	mq_plog_chunk *spare; /* one emptied standard chunk, kept for reuse */
	uint64_t       bytes; /* stored bytes retained */
} mq_plog;

void mq_plog_fini(mq_plog *p);

/* Append msg at offset end, plus a timestamp_ns field when ts_ns != 0 (the message had
 * none). GT_ENOMEM leaves the log unchanged. */
gt_err mq_plog_append(mq_plog *p, const uint8_t *msg, size_t len, int64_t ts_ns);
/* The entry of a retained offset (base <= off < end; not checked). Borrowed until the next
 * append or drop. */
mq_plog_ent *mq_plog_at(const mq_plog *p, uint64_t off);
/* Drop the offsets below lo (at most up to end); returns how many, *bytes their size. */
uint64_t mq_plog_drop_below(mq_plog *p, uint64_t lo, uint64_t *bytes);
/* Recovery of a log whose front was deleted: an empty log continues at off (> end). */
void mq_plog_skip_to(mq_plog *p, uint64_t off);

#endif
