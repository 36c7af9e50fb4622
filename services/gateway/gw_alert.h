/* gw_alert.h - alerts evaluated on the live feed.
 *
 * gw_alert_rules.c: the rules file (parse and validate; pure, any thread) and the XID table.
 * gw_alert.c: the engine. Per GPU and rule: inactive -> pending (condition true) -> firing
 *   (true for the rule's `for`) -> resolved (false again) -> inactive; the built-in rule
 *   gpu_stale (no record for --stale-after); events (XID value changes, a GPU that vanishes
 *   while its host still reports others). Time is passed in (now_ns, realtime), so the engine
 *   is tested without clocks; one mutex; changes go to an emit callback in seq order, called
 *   with the engine's lock held (it must not call back into the engine).
 * gw_alert_out.c: the Alert JSON, list documents and Prometheus series.
 * gw_alert_hook.c: the webhook sender (its own thread, a bounded queue, retries).
 * gw_alert_api.c: the gateway's side: feed hook, timer thread, SIGHUP reload, REST, WebSocket,
 *   /metrics and the AlertService RPC. */
#ifndef GW_ALERT_H
#define GW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

/* ---- rules (gw_alert_rules.c) ---- */
enum { GW_OP_GT, GW_OP_GE, GW_OP_LT, GW_OP_LE, GW_OP_EQ, GW_OP_NE };
enum { GW_SEV_WARNING, GW_SEV_CRITICAL, GW_SEV_INFO };

#define GW_ALERT_NAME_MAX 64
#define GW_ALERT_MAX_RULES 256

typedef struct gw_alert_rule {
	char   *name, *metric; /* metric: canonical when the name is a known spelling */
	int     op, severity;
	double  threshold;
	int64_t for_ns;
	char  **gpus; /* patterns (fnmatch) on the GPU key or UUID; NULL = all */
	size_t  ngpus;
	char  **hosts; /* patterns on the hostname; NULL = all */
	size_t  nhosts;
} gw_alert_rule;

typedef struct gw_alert_rules {
	gw_alert_rule *v;
	size_t         n;
} gw_alert_rules;

/* Parses and validates a rules document ({"rules":[...]} or a bare array). On error returns
 * GT_EINVAL with err naming the rule (index and name) and the field; nothing to free. */
gt_err gw_alert_rules_parse(const char *json, size_t len, gw_alert_rules **out, char *err,
                            size_t errlen);
/* The same from a file (err also says when it cannot be read). */
gt_err gw_alert_rules_load(const char *path, gw_alert_rules **out, char *err, size_t errlen);
/* An empty rule set. */
gt_err gw_alert_rules_empty(gw_alert_rules **out);
void   gw_alert_rules_free(gw_alert_rules *r); /* accepts NULL */
/* 1 when the rule applies to this GPU. */
int         gw_alert_rule_applies(const gw_alert_rule *r, const char *key, const char *uuid,
                                  const char *host);
int         gw_alert_op_eval(int op, double v, double threshold);
const char *gw_alert_op_name(int op);
const char *gw_alert_sev_name(int sev);
int         gw_alert_sev_parse(const char *s); /* -1 when unknown */
/* Words for an XID code ("GPU has fallen off the bus"); a generic text when unknown. */
const char *gw_xid_meaning(int code);
/* Severity of an XID code: critical for the ones that need the GPU reset or drained. */
int gw_xid_severity(int code);
/* 1 when a record's metric name is the XID one (xid_errors, DCGM_FI_DEV_XID_ERRORS). */
int gw_xid_metric(const char *name);

/* ---- the engine (gw_alert.c) ---- */
enum { GW_AK_THRESHOLD, GW_AK_STALE, GW_AK_EVENT };
enum { GW_AS_PENDING, GW_AS_FIRING, GW_AS_RESOLVED, GW_AS_EVENT };

/* One alert (a change in the history, or a current alert). Strings owned by the holder. */
typedef struct gw_alert {
	uint64_t seq;
	char    *rule, *gpu, *uuid, *hostname, *metric, *message;
	int      kind, state, severity, op;
	int      has_threshold, has_value;
	double   threshold, value;
	int64_t  since_ns, active_since_ns;
} gw_alert;

typedef struct gw_alert_list {
	gw_alert *v;
	size_t    n;
	uint64_t  last_seq;
	uint32_t  firing, pending; /* of the current alerts (before filtering) */
} gw_alert_list;
void gw_alert_list_fini(gw_alert_list *l);

typedef struct gw_alert_engine gw_alert_engine;

/* Change callback: a, valid during the call; runs under the engine's lock. */
typedef void (*gw_alert_emit)(void *arg, const gw_alert *a);

/* The metrics of one record, as the engine sees them. */
typedef struct gw_alert_rec {
	const char        *gpu, *uuid, *hostname;
	const char *const *names;
	const double      *values;
	size_t             n;
} gw_alert_rec;

/* Result bits of the calls that change state. */
enum {
	GW_AR_CHANGED = 1, /* something was emitted */
	GW_AR_DROPPED = 2, /* a pending alert went away without firing (not in the history) */
};

/* history: changes kept (>= 1); rules: taken (NULL = none). */
gt_err gw_alert_engine_new(gw_alert_engine **out, int64_t stale_after_ns, size_t history,
                           gw_alert_rules *rules, gw_alert_emit emit, void *arg);
void   gw_alert_engine_free(gw_alert_engine *e);
/* Replaces the rules (takes them): alerts of rules no longer present resolve; the states of
 * rules kept by name stay. Returns GW_AR_* bits, or -1 (out of memory: the old rules stay,
 * the new ones are freed). */
int gw_alert_engine_set_rules(gw_alert_engine *e, gw_alert_rules *rules, int64_t now_ns);
/* A record from the feed at now_ns. Returns GW_AR_* bits. */
int gw_alert_engine_record(gw_alert_engine *e, const gw_alert_rec *r, int64_t now_ns);
/* Timers: `for` expiry and staleness (and vanished GPUs). Returns GW_AR_* bits. */
int gw_alert_engine_tick(gw_alert_engine *e, int64_t now_ns);

typedef struct gw_alert_filter {
	int         state;      /* -1 any, GW_AS_FIRING, GW_AS_PENDING */
	int         severity;   /* -1 any */
	const char *gpu, *host; /* NULL any */
} gw_alert_filter;
/* Current alerts (firing first, then pending, each by since). f may be NULL. */
gt_err gw_alert_engine_current(gw_alert_engine *e, const gw_alert_filter *f, gw_alert_list *out);
/* Changes with seq > after, oldest first, at most limit. */
gt_err   gw_alert_engine_history(gw_alert_engine *e, uint64_t after, size_t limit,
                                 gw_alert_list *out);
uint64_t gw_alert_engine_last_seq(gw_alert_engine *e);
/* Counts for /stats: rules loaded, current firing and pending alerts, changes so far. */
typedef struct gw_alert_counts {
	size_t   rules;
	uint32_t firing, pending;
	uint64_t changes;
} gw_alert_counts;
void gw_alert_engine_counts(gw_alert_engine *e, gw_alert_counts *out);
/* Prometheus text: gt_alert_firing{alertname,gpu,UUID,Hostname,severity} 1 per firing alert
 * and gt_alerts_firing. */
void gw_alert_engine_prometheus(gw_alert_engine *e, gt_buf *b);

/* The Alert JSON object of the contract. */
void gw_alert_json(gt_buf *b, const gw_alert *a);
/* {"alerts":[...],"firing":N,"pending":N,"last_seq":S} (current) or, with history set,
 * {"alerts":[...],"last_seq":S}; prefix is written right after the '{' (e.g.
 * "\"type\":\"alerts\","), may be NULL. */
void        gw_alert_list_json(gt_buf *b, const gw_alert_list *l, int history, const char *prefix);
const char *gw_alert_kind_name(int kind);
const char *gw_alert_state_name(int state);

/* ---- webhook (gw_alert_hook.c) ---- */
typedef struct gw_alert_hook gw_alert_hook;
/* Starts the sender thread for url; queue: bodies kept while the receiver is slow or down
 * (the oldest is dropped beyond it). */
gt_err gw_alert_hook_start(gw_alert_hook **out, const char *url, size_t queue);
/* Queues one JSON body (copied); never blocks on the network. Any thread. */
void     gw_alert_hook_push(gw_alert_hook *h, const char *body, size_t len);
uint64_t gw_alert_hook_failures(gw_alert_hook *h); /* failed POSTs (attempts) */
uint64_t gw_alert_hook_sent(gw_alert_hook *h);
/* For /stats: POSTs sent, failed (attempts), bodies dropped (queue full or retries used up)
 * and bodies queued now. h may be NULL (all 0). */
typedef struct gw_alert_hook_stats {
	uint64_t sent, failed, dropped, queued;
} gw_alert_hook_stats;
void gw_alert_hook_stats_get(gw_alert_hook *h, gw_alert_hook_stats *out);
void     gw_alert_hook_stop(gw_alert_hook *h); /* joins; accepts NULL */

#endif
