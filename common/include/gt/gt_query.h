/* gt_query.h - query parameters of the REST APIs (the collector's /telemetry, the gateway's
 * /api/v1/...), parsed and checked the same way everywhere, and the one mapping of gt_err /
 * RPC codes to HTTP statuses.
 *
 * Every parser takes the parameter's name and, on failure, returns GT_EINVAL and writes the
 * message a 400 answer carries ("invalid parameter limit: want an integer 1..100000") into
 * msg (msglen bytes, may be 0). Pure functions; any thread. */
#ifndef GT_QUERY_H
#define GT_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gt/gt_rpc.h"

#define GT_QUERY_MAX_LIMIT 100000
#define GT_QUERY_DEFAULT_LIMIT 100
#define GT_QUERY_MAX_METRICS 32
#define GT_QUERY_MAX_METRIC_LEN 128 /* bytes of one metric name */

/* gt_query_uint: decimal digits only, min <= value <= max. */
gt_err gt_query_uint(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out,
                     char *msg, size_t msglen);
/* gt_query_bool: true/false, 1/0, yes/no. */
gt_err gt_query_bool(const char *name, const char *v, int *out, char *msg, size_t msglen);
/* gt_query_time: a point in time in ns since the epoch: RFC 3339 ("2026-11-26T22:49:11Z"),
 * unix ns (all digits), "now", or relative to now_ns: "-15m", "+30s", "now-1h30m",
 * "now+5s" (durations as gt_duration_parse). */
gt_err gt_query_time(const char *name, const char *v, int64_t now_ns, int64_t *out, char *msg,
                     size_t msglen);

/* A metric list "a,b,c": empty items are skipped; at most GT_QUERY_MAX_METRICS names of at
 * most GT_QUERY_MAX_METRIC_LEN bytes each. names point into buf. */
typedef struct gt_query_metrics {
	const char *names[GT_QUERY_MAX_METRICS];
	size_t      n;
	char        buf[GT_QUERY_MAX_METRICS * (GT_QUERY_MAX_METRIC_LEN + 1)];
} gt_query_metrics;

gt_err gt_query_metrics_parse(const char *name, const char *v, gt_query_metrics *m, char *msg,
                              size_t msglen);

/* A checked name: s[0..len) is 1..max_len characters of [A-Za-z0-9_.:-]. Returns 1 or 0. */
int gt_query_name_ok(const char *s, size_t len, size_t max_len);
/* A name list of a parameter whose names are identifiers (the gateway's metric lists): as
 * gt_query_metrics_parse, but every non-empty item must pass gt_query_name_ok with max_len
 * (0 or above GT_QUERY_MAX_METRIC_LEN means GT_QUERY_MAX_METRIC_LEN). */
gt_err gt_query_names_parse(const char *name, const char *v, size_t max_len, gt_query_metrics *m,
                            char *msg, size_t msglen);

/* HTTP status of an RPC code (the grpc-gateway mapping: INVALID_ARGUMENT 400, NOT_FOUND 404,
 * RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, ...) and of a gt_err
 * (through gt_rpc_code_from_err). */
int gt_query_http_status(gt_rpc_code c);
int gt_query_http_status_err(gt_err e);

#endif
