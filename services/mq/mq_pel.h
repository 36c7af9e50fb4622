/* mq_pel.h - pending entry list of one (group, partition).
 *
 * A window over the partition's offsets [lo, hi): offsets below lo are done (acked or dead
 * lettered); each offset inside has a state NEW (not delivered yet; only after recovery),
 * PENDING (delivered, not acked) or DONE. `next` is the first-delivery cursor: first
 * deliveries happen in offset order. Deadlines of first deliveries grow with the offset, so
 * expired ones are found by a forward scan; redeliveries and nacks carry their own deadline
 * in a min-heap (lazily cleaned). One owner (the topic, under its lock); no locking here. */
#ifndef MQ_PEL_H
#define MQ_PEL_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

enum { MQ_PEL_NEW = 0, MQ_PEL_PENDING = 1, MQ_PEL_DONE = 2, MQ_PEL_UNSEEN = 3 };

typedef struct mq_pel_ent {
	int64_t  due;      /* monotonic ns: redeliver after this */
	uint16_t attempts; /* deliveries so far */
	uint8_t  state;
	uint8_t  in_heap;
} mq_pel_ent;

typedef struct mq_pel_tmo {
	int64_t  due;
	uint64_t off;
} mq_pel_tmo;

typedef struct mq_pel {
	uint64_t    lo, hi, next, scan;
	mq_pel_ent *ring;
	size_t      cap; /* power of two (0 before first use) */
	mq_pel_tmo *heap;
	size_t      nheap, capheap;
	uint64_t    pending;
} mq_pel;

void mq_pel_init(mq_pel *p, uint64_t start);
void mq_pel_fini(mq_pel *p);

/* State of offset off: DONE below lo, UNSEEN at/after hi, else the entry's state. */
int mq_pel_state(const mq_pel *p, uint64_t off);
/* The entry of a delivered offset (lo <= off < hi), or NULL. Borrowed. */
mq_pel_ent *mq_pel_get(mq_pel *p, uint64_t off);

/* First offset not yet delivered (skipping DONE ones), given the log's end. */
uint64_t mq_pel_next_new(mq_pel *p, uint64_t log_end);
/* First delivery of off (== mq_pel_next_new()). due = now + timeout. attempts becomes 1, or
 * one more than mq_pel_restore_attempts left. */
gt_err mq_pel_deliver(mq_pel *p, uint64_t off, int64_t now, int64_t timeout);

/* An offset whose redelivery is due at now: GT_OK and *off, or GT_ENOENT. The earliest
 * future deadline (or INT64_MAX) goes to *next_due when not NULL. */
gt_err mq_pel_due(mq_pel *p, int64_t now, uint64_t *off, int64_t *next_due);
/* Schedule off (PENDING) again at due; attempts is not changed. */
gt_err mq_pel_schedule(mq_pel *p, uint64_t off, int64_t due);
/* Redeliver now: attempts++, next deadline at due. */
gt_err mq_pel_redeliver(mq_pel *p, uint64_t off, int64_t due);

/* Mark off done (ack or dead letter). Returns 1 if it changed state, 0 if it was done.
 * Offsets not delivered yet (recovery) are allowed: they become DONE. */
int mq_pel_done(mq_pel *p, uint64_t off);

/* Recovery: off (not delivered since the restart) had been delivered attempts times. */
gt_err mq_pel_restore_attempts(mq_pel *p, uint64_t off, unsigned attempts);

/* Exponential backoff: base << (attempt - 1), capped at cap. attempt >= 1. */
int64_t mq_backoff(int64_t base, unsigned attempt, int64_t cap);

#endif
