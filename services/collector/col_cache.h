/* col_cache.h - the memory layer: the newest max_entries records of each GPU in a ring, whole
 * GPUs evicted least-recently-used first when the byte budget is exceeded.
 *
 * Coverage: every ring has a floor timestamp. Every record of that GPU with ts > floor is in
 * the ring (records at or below the floor may exist only in the files). A ring created for a
 * GPU that already has files gets floor = that GPU's newest file timestamp; a record pushed
 * out of a full ring raises the floor to its timestamp. Thread-safe (one mutex). The cache
 * holds one reference on each record it keeps. */
#ifndef COL_CACHE_H
#define COL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "col_rec.h"
#include "gt/gt_err.h"

typedef struct col_cache col_cache;

typedef struct col_cache_cfg {
	size_t max_entries; /* per GPU (>= 1) */
	size_t max_bytes;   /* all GPUs; 0 = unlimited */
} col_cache_cfg;

typedef struct col_cache_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t gpus;
	uint64_t evicted_gpus;
	uint64_t hits, misses;
} col_cache_stats;

gt_err col_cache_new(col_cache **out, const col_cache_cfg *cfg);
void   col_cache_free(col_cache *c);

/* col_cache_put adds r (the cache takes its own reference) to its GPU's ring. floor_if_new
 * is the floor of a ring created by this call (INT64_MIN: the GPU has no older records). */
gt_err col_cache_put(col_cache *c, col_rec *r, int64_t floor_if_new);

/* col_cache_put_batch puts n records under one lock; a ring created for one of them gets
 * floor_fn(arg, key) as its floor (called with the cache locked: it must not call back into
 * the cache). Returns the last error; the other records are put. */
typedef int64_t (*col_cache_floor_fn)(void *arg, const char *key);
gt_err col_cache_put_batch(col_cache *c, col_rec *const *recs, size_t n,
                           col_cache_floor_fn floor_fn, void *arg);

/* col_cache_get lends out held references (col_rec_rele each, free(*out)) to the records of
 * key with since <= ts <= until, in ring order (oldest first), and the ring's floor.
 * GT_ENOENT when the GPU has no ring. Marks the GPU recently used. */
gt_err col_cache_get(col_cache *c, const char *key, int64_t since, int64_t until, col_rec ***out,
                     size_t *n, int64_t *floor);

/* col_cache_count records a query answered from the cache (hit) or not. */
void col_cache_count(col_cache *c, int hit);
void col_cache_stats_get(col_cache *c, col_cache_stats *st);

#endif
