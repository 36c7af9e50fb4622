/* mq_topic.h - one topic: partitioned in-memory log, consumer groups, dead letters,
 * producer deduplication.
 *
 * Messages are stored as their encoded gtpb.v1.Message bytes in 2 MiB arena chunks per
 * partition (no malloc per message), indexed by an offset ring. A message is retained until
 * every group has acked (or dead-lettered) it; retained bytes are bounded by max_bytes
 * (Publish then fails with GT_EFULL, which the server answers RESOURCE_EXHAUSTED).
 *
 * No locking inside: the owner (mq_server) serialises calls with one mutex per topic. Time
 * comes from the injected clock. */
#ifndef MQ_TOPIC_H
#define MQ_TOPIC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gt/gt_time.h"

typedef struct mq_topic     mq_topic;
typedef struct mq_group     mq_group;
typedef struct mq_dead_view mq_dead_view;

/* Offsets [offset, offset + count) of one partition. */
typedef struct mq_run {
	uint32_t partition;
	uint64_t offset;
	uint64_t count;
} mq_run;

typedef struct mq_topic_cfg {
	uint32_t        partitions;
	uint64_t        max_bytes;   /* 0 = unbounded */
	int64_t         ack_timeout; /* first redelivery after this; doubles per attempt */
	int64_t         backoff_cap; /* longest redelivery delay */
	int64_t         nack_delay;  /* redelivery delay after a Nack; doubles per attempt */
	unsigned        max_retries; /* redeliveries before the dead-letter queue */
	int64_t         lease;       /* a consumer silent for longer leaves its group */
	uint64_t        epoch;
	const gt_clock *clock;
	/* Optional: called (under the topic's owner lock) when a message is dead-lettered; the
	 * offset is done for the group from then on. The WAL records the letter (d is lent for
	 * the call). */
	void (*on_dead)(void *arg, mq_topic *t, const mq_dead_view *d);
	/* Optional: a delivery was redelivered (attempts = its deliveries now), under the lock.
	 * The WAL records it so that attempts survive restarts. */
	void (*on_redeliver)(void *arg, mq_topic *t, const char *group, uint32_t part, uint64_t off,
	                     unsigned attempts);
	/* Optional: the first deliveries of one fetch, as runs of consecutive offsets (under the
	 * lock; runs lent for the call, several calls per fetch when there are many runs). The WAL
	 * records them so that attempt counts are exact across a crash. */
	void (*on_delivered)(void *arg, mq_topic *t, const char *group, const mq_run *runs,
	                     size_t n);
	void *hook_arg; /* argument of the hooks above and of on_group_deleted */
	/* A group without members for longer than group_ttl is deleted (0 = never); its
	 * unacked messages stop holding back retention. on_group_deleted (optional, under the
	 * owner's lock) lets the WAL record it. */
	int64_t group_ttl;
	void (*on_group_deleted)(void *arg, mq_topic *t, const char *group);
	/* With a WAL: published messages are held back from consumers until mq_topic_commit
	 * (their record is durable), so no consumer ever sees an offset that a crash could hand
	 * to another message. 0: delivered as soon as stored. */
	int hold_new;
} mq_topic_cfg;

typedef struct mq_pos {
	uint32_t partition;
	uint64_t offset;
} mq_pos;

typedef struct mq_id {
	uint64_t epoch;
	uint32_t partition;
	uint64_t offset;
} mq_id;

/* One delivery of a fetch: the stored message it refers to is only valid under the topic's
 * lock, until the next publish, ack, nack or trim. */
typedef struct mq_fetch_ref {
	const uint8_t *msg;
	uint32_t       len;
	uint32_t       partition;
	uint64_t       epoch, offset;
	uint32_t       attempt;
	uint32_t       size; /* of the encoded Delivery */
} mq_fetch_ref;

/* A fetch result: the deliveries, referring to the stored messages (no copy until the reply
 * is packed, under the same lock hold). */
typedef struct mq_fetch_out {
	mq_fetch_ref *refs;
	size_t        n, cap;
	size_t        bytes; /* encoded Delivery messages, summed */
	size_t        redelivered;
} mq_fetch_out;

void mq_fetch_out_init(mq_fetch_out *o);
void mq_fetch_out_reset(mq_fetch_out *o);
void mq_fetch_out_fini(mq_fetch_out *o);
/* The deliveries as a packed gtpb.v1.FetchResponse{deliveries, epoch}: its size, and the
 * bytes written at p (exactly that many). Under the lock the fetch was made with. */
size_t mq_fetch_out_packed_size(const mq_fetch_out *o, uint64_t epoch);
void   mq_fetch_out_pack(const mq_fetch_out *o, uint64_t epoch, uint8_t *p);

gt_err      mq_topic_new(mq_topic **out, const char *name, const mq_topic_cfg *cfg);
void        mq_topic_free(mq_topic *t);
const char *mq_topic_name(const mq_topic *t);
uint32_t    mq_topic_partitions(const mq_topic *t);

/* mq_topic_publish validates every message, then stores all of them or none.
 * msgs: encoded gtpb.v1.Message each. positions: n slots filled on GT_OK.
 * (producer, seq) with seq > 0: a request already stored returns GT_OK with *duplicate = 1
 * (positions filled for the producer's latest request, zeroed for older ones).
 * ts_ns stamps messages whose timestamp_ns is 0.
 * Errors: GT_EPROTO (a malformed message; *bad = its index), GT_EINVAL (a message whose key or
 * a header is not UTF-8 without NUL, gt_mqmsg_validate; *bad = its index), GT_EFULL (over
 * max_bytes). The empty Message (len 0, data may be NULL) is valid: stored with its timestamp. */
gt_err mq_topic_publish(mq_topic *t, const ProtobufCBinaryData *msgs, size_t n,
                        const char *producer, uint64_t seq, int64_t ts_ns, mq_pos *positions,
                        int *duplicate, size_t *bad);

/* hold_new: the messages at pos[0..n) are durable - they, and every offset below them in
 * their partitions, may be delivered (the log is durable in order). */
void mq_topic_commit(mq_topic *t, const mq_pos *pos, size_t n);
/* Append one already-validated message at a known offset (WAL recovery; offsets must come
 * in increasing order per partition; gaps are skipped). */
gt_err mq_topic_restore(mq_topic *t, uint32_t part, uint64_t off, const uint8_t *msg, size_t len,
                        int64_t ts_ns);
/* Recovery: the partition's offsets below next are taken (their segments may be gone), so
 * the next message gets next at the earliest. */
gt_err mq_topic_restore_end(mq_topic *t, uint32_t part, uint64_t next);
/* Recovery: make sure group exists. */
gt_err mq_topic_restore_group(mq_topic *t, const char *group);
/* Delete a group (recovery of a deletion; also used by expiry). GT_ENOENT if unknown. */
gt_err mq_topic_remove_group(mq_topic *t, const char *group);
/* First retained offset of a partition: everything below is done for every group. */
uint64_t mq_topic_base(const mq_topic *t, uint32_t part);
/* Recovery: producer's last sequence. */
void mq_topic_restore_producer(mq_topic *t, const char *producer, uint64_t seq);
/* Recovery: mark offsets done for group (created if new). */
gt_err mq_topic_restore_done(mq_topic *t, const char *group, uint32_t part, uint64_t off);
/* Recovery: a retained offset had been delivered attempts times to group; its next delivery
 * is attempt + 1 (or it is dead-lettered when the retries are used up). */
gt_err mq_topic_restore_attempts(mq_topic *t, const char *group, uint32_t part, uint64_t off,
                                 unsigned attempts);

/* mq_topic_fetch delivers due redeliveries first, then new messages, from the partitions the
 * consumer owns in group (the group is created on first fetch). Appends to out. */
gt_err mq_topic_fetch(mq_topic *t, const char *group, const char *consumer, uint32_t max_msgs,
                      size_t max_bytes, mq_fetch_out *out);
/* Count a long-poll of consumer as waiting (delta +1/-1): alive while parked. */
void mq_topic_park(mq_topic *t, const char *group, const char *consumer, int delta);

/* mq_topic_ack validates every id (GT_ENOENT: unknown group or an id never delivered or of
 * another epoch; *bad = its index) before acking any. Ids already acked count as success.
 * *acked = ids that changed state. on_ack (optional) sees every id that changed. */
gt_err mq_topic_ack(mq_topic *t, const char *group, const mq_id *ids, size_t n, size_t *acked,
                    size_t *bad);
/* mq_topic_nack: same validation; pending ids are redelivered after a backoff, or moved to
 * the dead-letter queue when dead_letter is set or retries are exhausted. */
gt_err mq_topic_nack(mq_topic *t, const char *group, const mq_id *ids, size_t n, int dead_letter,
                     const char *reason, size_t *nacked, size_t *bad);

/* Earliest monotonic time at which something becomes due for group (INT64_MAX: none). */
int64_t mq_topic_next_due(mq_topic *t, const char *group);
/* Membership housekeeping for every group (lease expiry). */
void mq_topic_expire(mq_topic *t);
/* 1 when the group exists. */
int mq_topic_has_group(mq_topic *t, const char *group);

/* ---- dead letters ----
 * The DLQ is a FIFO: letters get increasing dlq_offsets; replay takes the oldest, purge
 * takes all, so its state is "the letters with dlq_offset >= below" (see the trim calls). */
struct mq_dead_view {
	const char    *group;      /* the group that dead-lettered it */
	int            group_gone; /* that group was deleted since (shown "(deleted group)") */
	mq_id          id;
	unsigned       attempts;
	const char    *reason;
	const uint8_t *msg; /* the stored Message bytes (NULL: could not be copied) */
	size_t         len;
	uint64_t       dlq_offset;
};

size_t mq_topic_dlq_count(const mq_topic *t);
/* Visit up to limit (0 = all) dead letters, oldest first (views lent for the call). */
void mq_topic_dlq_each(mq_topic *t, size_t limit, void (*fn)(void *arg, const mq_dead_view *d),
                       void *arg);
/* Called by replay for each letter, after its message was republished at *pos (pos NULL:
 * the letter had no message): the letters below `below` are gone from the DLQ. */
typedef gt_err (*mq_replay_fn)(void *arg, mq_topic *t, const uint8_t *msg, size_t len,
                               const mq_pos *pos, uint64_t below);
/* Republish up to limit (0 = all) dead letters into the topic (new offsets; every group
 * sees them), oldest first; removes them from the DLQ. *replayed = count. GT_EFULL if the
 * topic is full (the letters replayed before stay replayed). fn (may be NULL) sees each
 * one; its error stops the replay (that letter counts as replayed). */
gt_err mq_topic_dlq_replay(mq_topic *t, size_t limit, size_t *replayed, mq_replay_fn fn, void *arg);
/* Drop every dead letter; returns the count. *below: the DLQ now starts there. */
size_t mq_topic_dlq_purge(mq_topic *t, uint64_t *below);
/* mq_topic_purge drops every retained message: for each group every offset from its oldest
 * unacked one to the log's end becomes done (as if acked; not counted as acked), then the
 * logs are trimmed; a topic without groups drops its logs outright. on_done (may be NULL)
 * sees, per group and partition, the offsets [from, to) it marked done (for the WAL); its
 * error stops the purge. *purged = messages dropped. */
typedef gt_err (*mq_purge_fn)(void *arg, const char *group, uint32_t part, uint64_t from,
                              uint64_t to);
gt_err mq_topic_purge(mq_topic *t, uint64_t *purged, mq_purge_fn on_done, void *arg);
/* Recovery: add a letter unless its dlq_offset is below what the DLQ already holds or
 * trimmed (so re-logged copies are applied once). Copies what d points at. */
gt_err mq_topic_restore_dead(mq_topic *t, const mq_dead_view *d);
/* Recovery: drop the letters below `below` (a replay or purge). */
void mq_topic_restore_dlq_trim(mq_topic *t, uint64_t below);

/* ---- stats ---- */
typedef struct mq_topic_stats {
	uint64_t messages; /* accepted since start (or recovery) */
	uint64_t bytes;    /* retained */
	uint64_t retained; /* retained messages */
	uint64_t duplicates;
	uint64_t rejected_full;
	uint64_t dlq;
} mq_topic_stats;

void mq_topic_stats_get(const mq_topic *t, mq_topic_stats *s);

typedef struct mq_group_view {
	const char  *name;
	uint64_t     lag, pending, delivered, redelivered, acked, dead_lettered;
	size_t       nconsumers;
	const char **consumers; /* borrowed, valid until the topic changes */
} mq_group_view;

size_t mq_topic_groups(const mq_topic *t);
/* Group i's figures (borrowed strings; consumers array malloc'd: free(v->consumers)). */
gt_err mq_topic_group_view(mq_topic *t, size_t i, mq_group_view *v);

#endif
