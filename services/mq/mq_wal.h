/* mq_wal.h - write-ahead log: segment files of records (u32 length, u32 CRC32C, payload).
 *
 * Directory layout: <dir>/epoch (the broker epoch, decimal), <dir>/wal-<seq:016>.log.
 * Payload types: TOPIC (id, name) and GROUP (topic, name) - re-declared at the head of
 * every segment, with PART_END (each partition's next offset, so offsets never restart) and
 * PRODUCER (each producer's last sequence, so a retry is recognised whatever was deleted);
 * GROUP_DEL; PUBLISH (topic, producer, sequence, [partition, offset, message]...); ACK
 * (topic, group, [partition, offset]...); DEAD (a dead letter with its message bytes; also
 * marks the offset done); LETTER (a live dead letter re-logged at a segment head); DLQ_TRIM
 * (letters below a dlq_offset purged); REPLAY (PUBLISH of a replayed letter + the trim,
 * atomically); ATTEMPT (a redelivery's attempt count); DELIVERED (the first deliveries of a
 * fetch, as runs). Each segment head holds every declaration, partition end, producer
 * sequence and live dead letter, so any suffix of the log is self-describing.
 * Recovery replays segments in order; a torn or corrupted tail is truncated (logged as
 * wal.truncated), never a crash. A segment whose every PUBLISH record is acked by every group is
 * deleted (wal.segment_deleted) once a newer segment exists.
 *
 * Appends happen under the caller's topic lock (so per-partition order is log order) and go
 * to an in-memory buffer; a writer thread writes and fsyncs per policy. mq_wal_wait blocks
 * the calling RPC worker until the record is durable under the policy:
 *   always: written + fdatasync; interval: written (fsync within the interval); never: written.
 */
#ifndef MQ_WAL_H
#define MQ_WAL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "mq_topic.h"

typedef struct mq_wal mq_wal;

typedef struct mq_wal_cfg {
	const char *dir;
	int         fsync; /* MQ_FSYNC_* */
	int64_t     fsync_interval;
	uint64_t    segment_bytes;
} mq_wal_cfg;

typedef struct mq_wal_rec_ops {
	gt_err (*topic)(void *arg, uint32_t topic_id, const char *name);
	/* ts_ns: the accept time of the batch (stamps messages without timestamp_ns). */
	gt_err (*msg)(void *arg, uint32_t topic_id, uint32_t part, uint64_t off, const uint8_t *msg,
	              size_t len, int64_t ts_ns);
	gt_err (*producer)(void *arg, uint32_t topic_id, const char *producer, uint64_t seq);
	gt_err (*ack)(void *arg, uint32_t topic_id, const char *group, uint32_t part, uint64_t off);
	gt_err (*group)(void *arg, uint32_t topic_id, const char *group);
	gt_err (*group_deleted)(void *arg, uint32_t topic_id, const char *group); /* may be NULL */
	/* A dead letter (views lent for the call). done: the original dead-lettering, which also
	 * marks (group, partition, offset) done; 0: a copy re-logged at a segment head. Copies
	 * repeat: apply a letter only when its dlq_offset is above the ones held (and trimmed).
	 * May be NULL. */
	gt_err (*dead)(void *arg, uint32_t topic_id, const mq_dead_view *d, int done);
	/* The topic's letters below `below` are gone (replay, purge). May be NULL. */
	gt_err (*dlq_trim)(void *arg, uint32_t topic_id, uint64_t below);
	/* (group, partition, offset) had been delivered attempts times. May be NULL. */
	gt_err (*attempt)(void *arg, uint32_t topic_id, const char *group, uint32_t part,
	                  uint64_t off, unsigned attempts);
	/* The partition's offsets below next are taken (the segments that held them may be
	 * gone): the next message gets next at the earliest. May be NULL. */
	gt_err (*part_end)(void *arg, uint32_t topic_id, uint32_t part, uint64_t next);
} mq_wal_rec_ops;

/* Segment deletion asks whether offset off of (topic, part) is done for every group
 * (returns nonzero). Called on the writer thread; may take the topic's lock. */
typedef int (*mq_wal_done_fn)(void *arg, uint32_t topic_id, uint32_t part, uint64_t off);

typedef struct mq_wal_stats {
	uint64_t segments, bytes, written, fsyncs, truncated;
} mq_wal_stats;

/* Opens (creates) dir and reads or creates the epoch. */
gt_err mq_wal_open(mq_wal **out, const mq_wal_cfg *cfg, uint64_t *epoch);
/* Replays every segment through ops (main thread, before start). */
gt_err mq_wal_recover(mq_wal *w, const mq_wal_rec_ops *ops, void *arg);
/* Opens a fresh segment and starts the writer thread. */
gt_err mq_wal_start(mq_wal *w, mq_wal_done_fn done_fn, void *done_arg);
int    mq_wal_started(mq_wal *w);
/* Declare a topic / a consumer group (remembered; re-declared at every segment head). */
gt_err mq_wal_topic(mq_wal *w, uint32_t topic_id, const char *name);
gt_err mq_wal_group(mq_wal *w, uint32_t topic_id, const char *group);
/* A group was deleted (group TTL): forgotten, and recorded for recovery. */
gt_err mq_wal_group_deleted(mq_wal *w, uint32_t topic_id, const char *group);
/* Append a publish batch; *lsn for mq_wal_wait. msgs are logged as the publisher sent them,
 * with the batch's accept time ts_ns once (re-applied on recovery). */
gt_err mq_wal_publish(mq_wal *w, uint32_t topic_id, const char *topic, const char *producer,
                      uint64_t seq, const ProtobufCBinaryData *msgs, size_t n, const mq_pos *pos,
                      uint64_t *lsn, int64_t ts_ns);
/* A message was dead-lettered (under the topic lock): DEAD record, which also marks its
 * offset done for the group. The letter is kept and re-logged at every segment head while
 * it is in the DLQ. Not waited for. */
gt_err mq_wal_dead(mq_wal *w, uint32_t topic_id, const mq_dead_view *d);
/* A dead letter was replayed: its message republished at *pos (pos NULL: none) and the
 * letters below `below` gone, in one REPLAY record. *lsn for mq_wal_wait. */
gt_err mq_wal_replay(mq_wal *w, uint32_t topic_id, const uint8_t *msg, size_t len,
                     const mq_pos *pos, uint64_t below, uint64_t *lsn);
/* The letters below `below` were purged. *lsn for mq_wal_wait. */
gt_err mq_wal_dlq_trim(mq_wal *w, uint32_t topic_id, uint64_t below, uint64_t *lsn);
/* A redelivery (under the topic lock): (group, partition, offset) has been delivered
 * attempts times. Not waited for. */
gt_err mq_wal_attempt(mq_wal *w, uint32_t topic_id, const char *group, uint32_t part, uint64_t off,
                      unsigned attempts);
/* First deliveries of one fetch (under the topic lock), as runs: one record. Not waited for. */
gt_err mq_wal_delivered(mq_wal *w, uint32_t topic_id, const char *group, const mq_run *runs,
                        size_t n);
/* Append acks of group (ids are of the current epoch). Not waited for. */
gt_err mq_wal_ack(mq_wal *w, uint32_t topic_id, const char *group, const mq_id *ids, size_t n);
/* The lsn of everything appended so far (to wait for records that return none, e.g. acks). */
uint64_t mq_wal_appended(mq_wal *w);
/* Wait until lsn is durable under the policy. */
gt_err mq_wal_wait(mq_wal *w, uint64_t lsn);
void   mq_wal_stats_get(mq_wal *w, mq_wal_stats *s);
/* Flush, fsync, stop the writer, close. Accepts NULL. */
void mq_wal_close(mq_wal *w);

#endif
