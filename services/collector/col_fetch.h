/* col_fetch.h - a gtpb.v1.FetchResponse read in place.
 *
 * The hot path of the collector: a 4 MiB response carries ~10k deliveries. Instead of a
 * protobuf-c tree (five allocations per delivery, all freed again by the writer), the
 * response stays in the received RPC message and each delivery is a view into it: ids and
 * attempt decoded, key and payload pointing at the bytes. Pure; any thread. */
#ifndef COL_FETCH_H
#define COL_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct col_dlv {
	uint64_t       epoch, offset;
	uint32_t       partition, attempt;
	int            has_id, has_msg;
	const uint8_t *key; /* Message.key, not NUL-terminated */
	size_t         key_len;
	const uint8_t *payload; /* Message.payload (a packed TelemetryRecord) */
	size_t         payload_len;
} col_dlv;

typedef struct col_fetch {
	uint64_t epoch; /* FetchResponse.epoch */
	col_dlv *v;
	size_t   n, cap;
} col_fetch;

/* col_fetch_parse reads a packed FetchResponse into f (emptied first, memory reused).
 * Views point into p, which must outlive them. GT_EPROTO when the bytes are not a
 * FetchResponse (wrong wire types, truncation); GT_ENOMEM. Unknown fields are skipped. */
gt_err col_fetch_parse(col_fetch *f, const uint8_t *p, size_t n);
void   col_fetch_fini(col_fetch *f);

#endif
