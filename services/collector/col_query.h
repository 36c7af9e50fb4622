/* col_query.h - telemetry queries over the cache and the files.
 *
 * A query is answered from the cache when the cache provably holds every matching record
 * that the answer needs (see col_cache.h "coverage"), else from the files, which hold every
 * record (minus what retention deleted). Any thread. */
#ifndef COL_QUERY_H
#define COL_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "col_cache.h"
#include "col_file.h"
#include "col_rec.h"
#include "gt/gt_query.h"

/* The REST limits are common (gt_query.h): the gateway checks the same ones. */
#define COL_QUERY_MAX_METRICS GT_QUERY_MAX_METRICS
#define COL_QUERY_DEFAULT_LIMIT GT_QUERY_DEFAULT_LIMIT
#define COL_QUERY_MAX_LIMIT GT_QUERY_MAX_LIMIT

typedef struct col_query {
	const char *gpu;
	size_t      limit;        /* 0 = COL_QUERY_DEFAULT_LIMIT */
	int         reverse;      /* 0: newest first (seed semantics); 1: oldest first */
	int64_t     since, until; /* inclusive; INT64_MIN / INT64_MAX = unbounded */
	const char *metrics[COL_QUERY_MAX_METRICS];
	size_t      nmetrics; /* 0 = all */
} col_query;

typedef struct col_result {
	col_rec **recs; /* held; in answer order */
	size_t    n;
	int       truncated;
	int       from_cache;
} col_result;

void col_query_init(col_query *q);
/* col_query_run: GT_ENOENT for an unknown GPU. Free the result with col_result_fini. */
gt_err col_query_run(col_store *s, col_cache *c, const col_query *q, col_result *res);
void   col_result_fini(col_result *res);

typedef struct col_agg_point {
	int64_t  t_ns;
	double   min, avg, max, last;
	uint64_t count;
} col_agg_point;

/* col_query_aggregate: min/avg/max/last of metric per step over [since, until]
 * (since/until required, step > 0, at most COL_QUERY_MAX_LIMIT steps). Empty steps are
 * omitted. *out is malloc'd. */
gt_err col_query_aggregate(col_store *s, col_cache *c, const char *gpu, const char *metric,
                           int64_t since, int64_t until, int64_t step, col_agg_point **out,
                           size_t *n);

#endif
