/* col_consumer.h - the ingest pipeline: gt-mq Fetch loop -> worker pool -> writer thread.
 *
 *   fetch thread: long-poll Fetch; each response becomes a batch; its deliveries are cut into
 *                 chunks for the workers, and the batch itself is queued (bounded, in order)
 *                 for the writer - a full queue stops fetching (backpressure).
 *   workers:      build each col_rec from its packed TelemetryRecord, validate it, encode its
 *                 JSONL line.
 *   writer:       takes batches in fetch order; drops redeliveries already stored (checkpoint
 *                 marks); one write() per GPU file per batch; marks, caches, publishes (hook);
 *                 acks once durable (fsync always: after the write; interval: after the next
 *                 fsync; never: after the write); nacks invalid records to the DLQ with the
 *                 reason; saves the checkpoint every interval and after a rotation; applies
 *                 retention.
 * The consumer borrows store, cache and checkpoint; it owns its RPC client and threads. */
#ifndef COL_CONSUMER_H
#define COL_CONSUMER_H

#include <stdint.h>

#include "col_cache.h"
#include "col_ckpt.h"
#include "col_file.h"
#include "gt/gt_err.h"
#include "gt/gt_metrics.h"

typedef struct col_consumer col_consumer;

#define COL_MAX_FETCHERS 8

typedef struct col_consumer_cfg {
	int fetchers; /* Fetch calls in flight (>1: batches may reach the writer out of
	               * offset order, which storage, checkpoint and queries tolerate) */
	const char *mq_url;
	const char *token;
	const char *topic, *group, *consumer;
	int         workers;
	uint32_t    fetch_max;
	uint32_t    fetch_wait_ms;
	col_fsync   fsync;
	int64_t     fsync_interval_ns;
	const char *ckpt_path; /* NULL = no checkpoint file */
	int64_t     ckpt_interval_ns;
	int64_t     retention_every_ns;
	int         queue_batches; /* writer queue bound */
} col_consumer_cfg;

/* Called on the writer thread after records are stored (n >= 1, all of one batch; payloads
 * are the packed TelemetryRecords as received). Must not block for long. */
typedef void (*col_stored_fn)(void *arg, col_rec *const *recs, const uint8_t *const *payloads,
                              const size_t *lens, size_t n);

typedef struct col_consumer_stats {
	uint64_t fetched, stored, duplicates, invalid, acked, ack_failures, fetch_errors;
	uint64_t batches, epoch, checkpoints;
	uint64_t pending_acks;
	int      connected;
	int      write_stalled; /* writes fail (disk full?): nothing is fetched until they work */
	gt_err   write_error;   /* why, while stalled */
	gt_err   sync_error;    /* the last fdatasync failed (GT_OK once one works again) */
	double   write_p50_ms, write_p99_ms, fsync_p50_ms, fsync_p99_ms;
} col_consumer_stats;

gt_err col_consumer_new(col_consumer **out, const col_consumer_cfg *cfg, col_store *store,
                        col_cache *cache, col_ckpt *ckpt, gt_metrics *metrics, col_stored_fn stored,
                        void *arg);
gt_err col_consumer_start(col_consumer *c);
/* col_consumer_stop stops fetching, drains the pipeline (writes, fsyncs, acks, checkpoint)
 * and joins the threads. Idempotent. */
void col_consumer_stop(col_consumer *c);
void col_consumer_free(col_consumer *c);
void col_consumer_stats_get(col_consumer *c, col_consumer_stats *st);

#endif
