/* col_rec.h - one stored telemetry sample in a single allocation, reference counted.
 *
 * The collector's storage and cache keep col_rec (compact, immutable once built, its byte
 * size known for the cache budget); the generated protobuf types appear only at the edges
 * (col_rec_new_pb on the way in, col_rec_pb_new on the way out). hold/rele are atomic, so a
 * query can keep a record alive after the cache evicted it. Any thread. */
#ifndef COL_REC_H
#define COL_REC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "col_map.h"
#include "gt/gt_err.h"
#include "gtpb/v1/telemetry.pb-c.h"

typedef struct col_metric {
	const char *name;
	double      value;
} col_metric;

typedef struct col_label {
	const char *key;
	const char *value;
} col_label;

typedef struct col_rec {
	atomic_int        refs;
	int32_t           gpu_index;
	int64_t           ts_ns;
	const char       *gpu_key, *hostname, *device, *uuid, *model, *gpu_id;
	uint32_t          nmetrics, nlabels;
	const col_metric *metrics;
	const col_label  *labels;
	size_t            size;     /* bytes of the allocation */
	uint64_t          key_hash; /* col_map_hash(gpu_key): hashed once, looked up often */
} col_rec;

/* col_rec_new_pb copies pb into a new record (refs = 1). key overrides pb->gpu_key when not
 * NULL. */
gt_err col_rec_new_pb(col_rec **out, const Gtpb__V1__TelemetryRecord *pb, const char *key);
/* col_rec_new_wire builds a record straight from a packed TelemetryRecord with the common
 * codec (gt_record_decode: no protobuf-c tree, one allocation). gpu_key, when empty, is key (key_len
 * bytes, may be NULL). GT_EPROTO when the bytes are not a TelemetryRecord. */
gt_err col_rec_new_wire(col_rec **out, const uint8_t *p, size_t len, const char *key,
                        size_t key_len);
void   col_rec_hold(col_rec *r);
/* col_rec_rele drops a reference and frees at zero. Accepts NULL. */
void col_rec_rele(col_rec *r);
/* col_rec_metric finds a metric by name; returns 1 and *v when present. */
int col_rec_metric(const col_rec *r, const char *name, double *v);

/* col_rec_pb_new builds a protobuf view of r in one malloc (free() it). Strings point into r,
 * which must stay held until the view is packed. metrics (nm names; nm = 0: all) filters the
 * metrics map. NULL on out-of-memory. */
Gtpb__V1__TelemetryRecord *col_rec_pb_new(const col_rec *r, const char *const *metrics, size_t nm);

#endif
