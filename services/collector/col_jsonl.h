/* col_jsonl.h - one telemetry record <-> one JSON line (the seed format, extended).
 *
 *   {"gpu_id":"0","hostname":"h1","uuid":"GPU-…","metrics":{"temperature":45,…},
 *    "labels":{…},"timestamp":"2026-11-26T22:49:11.123456789Z","gpu_key":"GPU-…",
 *    "gpu_index":0,"device":"nvidia0","model":"H100","delivery":"<epoch>:<partition>:<offset>"}
 *
 * Encoding uses the gt_json writer (hot path), decoding uses jansson. "delivery" is where the
 * broker had the record; start-up recovery uses it to rebuild the duplicate filter. A metric
 * that is not finite is written as null and skipped when read back. Any thread. */
#ifndef COL_JSONL_H
#define COL_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "col_rec.h"
#include "gt/gt_buf.h"

typedef struct col_delivery {
	uint64_t epoch;
	uint32_t partition;
	uint64_t offset;
	int      valid; /* 0: the line carries no delivery id */
} col_delivery;

/* col_jsonl_encode appends r as one line (with the trailing '\n') to out. id may be NULL. */
gt_err col_jsonl_encode(gt_buf *out, const col_rec *r, const col_delivery *id);

/* col_jsonl_encode_obj appends r as one JSON object (no newline), keeping only the named
 * metrics when nm > 0. */
gt_err col_jsonl_encode_obj(gt_buf *out, const col_rec *r, const col_delivery *id,
                            const char *const *metrics, size_t nm);

/* col_jsonl_decode parses one line (len bytes, no '\n' needed) into a new record (refs = 1).
 * GT_EPROTO when the line is not a valid record. id may be NULL. */
gt_err col_jsonl_decode(const char *line, size_t len, col_rec **out, col_delivery *id);

/* col_jsonl_peek_ts reads only the timestamp of a line (cheaper than a full decode; used
 * by the time index). GT_EPROTO when absent. */
gt_err col_jsonl_peek_ts(const char *line, size_t len, int64_t *ts);

#endif
