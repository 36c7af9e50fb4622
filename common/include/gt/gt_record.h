/* gt_record.h - the one codec of gtpb.v1.TelemetryRecord (proto/gtpb/v1/telemetry.proto).
 *
 * Hand-written for the hot paths, shared by every reader and writer of the record:
 * - encoder (gt_record_size / gt_record_pack): the streamer packs each record straight into
 *   its batch buffer, exactly the bytes protobuf-c's reflective packer produces (fields in
 *   number order, proto3 defaults omitted, also inside map entries), about three times faster;
 * - decoder (gt_record_decode + gt_record_iter_next): reads a packed record in place, no
 *   protobuf-c tree and no allocation; the caller sizes its own storage from the view (the
 *   collector builds its one-allocation col_rec from it) and then walks the map entries in
 *   wire order. Accepts and refuses what protobuf-c's unpack accepts and refuses;
 * - gt_record_pb_new_wire: a protobuf-c struct of a packed record in one malloc, for readers
 *   that want the generated type (gateway, gtctl);
 * - gt_record_batch_put / gt_record_batch_next: records inside a packed TelemetryBatch (the
 *   live feed's message body).
 *
 * gt_record_fields is the codec's field table; the decoder dispatches on it, and
 * test_gt_record.c fails when proto/ gains a TelemetryRecord field the table (or the
 * encoder) does not carry. Pure functions, any thread. */
#ifndef GT_RECORD_H
#define GT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"
#include "gtpb/v1/telemetry.pb-c.h"

/* The record's identity strings (view slots). */
enum {
	GT_RECORD_GPU_KEY,
	GT_RECORD_HOSTNAME,
	GT_RECORD_DEVICE,
	GT_RECORD_UUID,
	GT_RECORD_MODEL,
	GT_RECORD_GPU_ID,
	GT_RECORD_NSTR
};

/* Field kinds of the codec's table. */
typedef enum gt_record_kind {
	GT_RECORD_K_I64,     /* int64 varint */
	GT_RECORD_K_I32,     /* int32 varint */
	GT_RECORD_K_STR,     /* string: slot = GT_RECORD_* */
	GT_RECORD_K_METRICS, /* map<string,double> */
	GT_RECORD_K_LABELS,  /* map<string,string> */
} gt_record_kind;

typedef struct gt_record_field {
	uint32_t       num;  /* field number */
	const char    *name; /* as in the .proto */
	gt_record_kind kind;
	int            slot; /* GT_RECORD_K_STR: view slot; else -1 */
} gt_record_field;

/* The table, indexed by field number - 1 (numbers 1..gt_record_nfields, no gaps). */
extern const gt_record_field gt_record_fields[];
extern const size_t          gt_record_nfields;

/* A string inside the decoded bytes (not NUL-terminated; cut at an embedded NUL, the C string
 * protobuf-c's unpack would give). */
typedef struct gt_record_str {
	const char *p;
	size_t      n;
} gt_record_str;

/* One map entry: a metric (key, num) or a label (key, value). */
typedef struct gt_record_entry {
	int           is_metric;
	gt_record_str key, value;
	double        num;
} gt_record_entry;

/* A decoded record: scalars (the last occurrence wins, as in protobuf), the identity strings,
 * and what the map entries need. Points into the decoded bytes, which must outlive it. */
typedef struct gt_record_view {
	int64_t       timestamp_ns;
	int32_t       gpu_index;
	gt_record_str str[GT_RECORD_NSTR];
	size_t        n_metrics, n_labels;
	size_t        entry_bytes; /* bytes of every entry's strings, each counted with a NUL */
	/* private to the iterator */
	const uint8_t         *buf, *end;
	const gt_record_entry *kept;
	size_t                 n_kept;
} gt_record_view;

/* Packed size of r. */
size_t gt_record_size(const Gtpb__V1__TelemetryRecord *r);
/* Packs r into out (gt_record_size(r) bytes available); returns the bytes written. */
size_t gt_record_pack(const Gtpb__V1__TelemetryRecord *r, uint8_t *out);

/* gt_record_decode reads the packed record p[0..len) into *v in one pass, checking every field
 * as protobuf-c would (unknown fields skipped). The first cap map entries are remembered in
 * kept[] (caller's array, may be NULL with cap 0) so that iterating them does not read the
 * bytes again. GT_EPROTO when the bytes are not a TelemetryRecord. */
gt_err gt_record_decode(gt_record_view *v, const uint8_t *p, size_t len, gt_record_entry *kept,
                        size_t cap);

/* Iterator over a view's map entries (metrics and labels interleaved, in wire order). */
typedef struct gt_record_iter {
	size_t         i, skip;
	const uint8_t *p;
} gt_record_iter;

void gt_record_iter_init(gt_record_iter *it);
/* Returns 1 and *e for the next entry, 0 at the end. v (and kept) must not change meanwhile. */
int gt_record_iter_next(const gt_record_view *v, gt_record_iter *it, gt_record_entry *e);

/* gt_record_pb_new_wire decodes a packed record into a protobuf-c struct held in one
 * allocation (strings included): free() it, never protobuf-c's free_unpacked. NULL with *rv
 * set (GT_EPROTO, GT_ENOMEM) on failure; rv may be NULL. */
Gtpb__V1__TelemetryRecord *gt_record_pb_new_wire(const uint8_t *p, size_t len, gt_err *rv);

/* gt_record_batch_put appends one packed record to b as an entry of a TelemetryBatch
 * (field 1). */
gt_err gt_record_batch_put(gt_buf *b, const uint8_t *rec, size_t len);
/* gt_record_batch_next reads the next record of a packed TelemetryBatch at *p (< end):
 * returns GT_OK with *rec, *len (pointing into the input) and advances *p; GT_ENOENT at the
 * end; GT_EPROTO when malformed. Unknown fields are skipped. */
gt_err gt_record_batch_next(const uint8_t **p, const uint8_t *end, const uint8_t **rec,
                            size_t *len);

#endif
