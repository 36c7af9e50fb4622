/* gw_param.h - the gateway's parameter parsers: query-string values, cursors, the
 * aggregate window check and WebSocket client messages. Pure (no state), any thread; each
 * error names what was wrong in err. Fuzzed by test/fuzz/fuzz_gw_param.c. */
#ifndef GW_PARAM_H
#define GW_PARAM_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

#define GW_MAX_NAMES 32     /* metric names per query / subscription */
#define GW_NAME_MAX 64      /* bytes per metric name */
#define GW_MAX_WS_GPUS 1024 /* gpu keys per subscription */
#define GW_MAX_AGG_POINTS 10000

/* since/until: "now", relative "-15m" / "-1h30m" (before now), RFC 3339, or integer ns
 * (also negative). GT_EINVAL on anything else or on overflow. */
gt_err gw_parse_time(const char *s, int64_t now, int64_t *out);
/* Decimal digits only, 0..max. */
gt_err gw_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* true|false|1|0|yes|no */
gt_err gw_parse_bool(const char *s, int *out);
/* "a,b,c": up to GW_MAX_NAMES names of [A-Za-z0-9_.:-]{1,GW_NAME_MAX}, empty items skipped,
 * copied into names[i] (GW_NAME_MAX + 1 bytes each). */
gt_err gw_parse_names(const char *s, char names[][GW_NAME_MAX + 1], size_t *n);
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
