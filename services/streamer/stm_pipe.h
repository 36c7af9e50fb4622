/* stm_pipe.h - records -> batched, rate-limited, retried Publish calls to gt-mq.
 *
 * One producer thread (the reader) calls stm_pipe_put() for every record: the record is packed
 * at once into a reused chunk buffer (no per-record malloc) and the row goes to a worker,
 * round-robin (or by GPU key with dispatch_by_key, which keeps each GPU's records in order).
 * A full chunk (batch records) is queued to its worker. Chunks come from a fixed pool, so the
 * reader blocks when the workers fall behind (backpressure, bounded memory).
 *
 * Each worker owns a token bucket (rate records/s; 0 = unthrottled) and publishes what the
 * bucket grants as one PublishRequest{topic, messages, producer_id, sequence}; key = gpu key,
 * payload = packed gtpb.v1.TelemetryRecord. UNAVAILABLE, RESOURCE_EXHAUSTED and
 * DEADLINE_EXCEEDED are retried with exponential backoff and the SAME producer_id + sequence,
 * so the broker stores every record once. Other errors count the batch as failed.
 *
 * Timestamps: records put with stamp_now, or with timestamp_ns 0 (which on the wire means
 * "no timestamp"; the reader never turns a source timestamp into 0: the epoch is a bad row),
 * are stamped again just before each Publish (the varint is patched in place in the packed
 * payload). Any other timestamp is published as it is.
 */
#ifndef STM_PIPE_H
#define STM_PIPE_H

#include <stdint.h>

#include "gt/gt_err.h"
#include "gt/gt_metrics.h"
#include "gt/gt_time.h"
#include "gtpb/v1/telemetry.pb-c.h"

typedef struct stm_pipe_cfg {
	const char *mq_url;           /* "tcp://127.0.0.1:9091" */
	const char *token;            /* broker token or NULL */
	const char *topic;            /* "gpu-telemetry" */
	const char *producer_id;      /* prefix of the per-worker producer ids; NULL = unique auto */
	int         workers;          /* >= 1 */
	double      rate;             /* records/s per worker; 0 = unthrottled */
	uint32_t    batch;            /* records per Publish at most (>= 1) */
	int         dispatch_by_key;  /* 0 = round-robin rows, 1 = hash(gpu key) */
	int         queue_depth;      /* full chunks queued per worker; default 2 */
	int64_t     rpc_timeout_ns;   /* per Publish attempt; default 5 s */
	int64_t     backoff_min_ns;   /* default 20 ms */
	int64_t     backoff_max_ns;   /* default 2 s */
	int64_t     drain_timeout_ns; /* after a stop request; default 10 s */
	gt_metrics *metrics;          /* borrowed; counters are registered in it (required) */
	const gt_clock *clock;        /* NULL = system (rate limiter) */
	int (*stopping)(void *arg);   /* polled while blocked: nonzero = stop request */
	void *stopping_arg;
} stm_pipe_cfg;

typedef struct stm_pipe_stats {
	uint64_t queued;      /* records packed and handed to workers */
	uint64_t published;   /* confirmed by the broker */
	uint64_t duplicates;  /* records in requests the broker reported as already stored */
	uint64_t failed;      /* records in batches refused with a non-retryable error */
	uint64_t abandoned;   /* records dropped when the drain timeout passed */
	uint64_t requests;    /* Publish calls (attempts) */
	uint64_t retries;     /* attempts that were retried */
	uint64_t bytes;       /* payload bytes confirmed */
} stm_pipe_stats;

typedef struct stm_pipe stm_pipe;

/* Copies cfg strings. Opens the RPC client and starts the workers. */
gt_err stm_pipe_new(stm_pipe **out, const stm_pipe_cfg *cfg);

/* Reader thread only. Packs rec (borrowed; its timestamp may be rewritten) and queues it.
 * Blocks while every chunk is in flight; returns GT_ECANCELED when the stopping callback
 * fires while blocked. */
gt_err stm_pipe_put(stm_pipe *p, Gtpb__V1__TelemetryRecord *rec, int stamp_now);

/* Reader thread only. Queues partly filled chunks, lets the workers finish, and waits. While
 * waiting, a stop request switches to drain mode: no rate limit, and whatever is not confirmed
 * after drain_timeout is abandoned. Returns GT_OK when every queued record was confirmed,
 * GT_EIO when some failed or were abandoned. Call once; then only stats/free. */
gt_err stm_pipe_finish(stm_pipe *p);

/* Any thread: ask for drain mode now (a stop signal; finish() also notices it). */
void stm_pipe_stop(stm_pipe *p);

void stm_pipe_get_stats(stm_pipe *p, stm_pipe_stats *st);
/* The producer id of worker i (for logs and tests). */
const char *stm_pipe_producer_id(stm_pipe *p, int i);

/* Stops workers if finish was not called (records in flight are lost), closes, frees. */
void stm_pipe_free(stm_pipe *p);

/* Overwrite the timestamp of a packed TelemetryRecord in place. Only for payloads packed by
 * this module (field 1 first, a 9-byte varint); returns 0 when the layout does not match. */
int stm_pipe_patch_ts(uint8_t *payload, size_t len, int64_t ts_ns);

#endif
