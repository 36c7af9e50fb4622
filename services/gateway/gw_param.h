/* gw_param.h - the gateway's own parameter parsers: cursors, the aggregate window check and
 * WebSocket client messages. Pure (no state), any thread; each error names what was wrong in
 * err. Fuzzed by test/fuzz/fuzz_gw_param.c. */
#ifndef GW_PARAM_H
#define GW_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gt/gt_query.h"

#define GW_MAX_NAMES GT_QUERY_MAX_METRICS /* metric names per query / subscription */
#define GW_NAME_MAX 64                    /* bytes per metric name (<= the gt_query limit) */
#define GW_MAX_WS_GPUS 1024               /* gpu keys per subscription */
#define GW_MAX_AGG_POINTS 10000

/* Query-string values (times, integers, booleans, name lists) are parsed by gt_query; the
 * gateway's name lists use gt_query_names_parse with GW_NAME_MAX. */

/* Checks an aggregate window: since <= until, step > 0, (until - since) / step + 1 points at
 * most GW_MAX_AGG_POINTS, computed without overflow. Returns NULL when fine, else the name of
 * the bad parameter ("step", "since", "until"). */
const char *gw_agg_check(int64_t since, int64_t until, int64_t step);

/* Cursor of /api/v1/gpus: the sort key of the last GPU returned, hex-encoded. */
gt_err gw_cursor_encode(const char *host, int32_t index, const char *key, char *out, size_t cap);
gt_err gw_cursor_decode(const char *s, char *host, size_t hcap, int32_t *index, char *key,
    size_t kcap);

/* A WebSocket client message. */
enum { GW_WS_SUBSCRIBE = 1, GW_WS_PING };
typedef struct gw_ws_msg {
	int    type;
	int    all_gpus;  /* subscribe: "*" */
	char **gpus;      /* subscribe: malloc'd keys (ngpus) */
	size_t ngpus;
	char   metrics[GW_MAX_NAMES][GW_NAME_MAX + 1];
	size_t nmetrics;  /* 0 = all */
	char  *ping;      /* ping: the value as JSON text (malloc'd) */
} gw_ws_msg;
/* Parses {"subscribe":{"gpus":[..],"metrics":[..]}} or {"ping":<any>}. On error err says
 * why (the connection stays open) and nothing needs freeing. */
gt_err gw_ws_msg_parse(const void *data, size_t len, gw_ws_msg *out, char *err, size_t errlen);
void   gw_ws_msg_fini(gw_ws_msg *m);

#endif
