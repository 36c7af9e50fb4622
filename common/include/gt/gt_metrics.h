/* gt_metrics.h - counters, gauges and latency histograms, exported as Prometheus text
 * (/metrics) and as JSON (/stats). Updates are lock-free atomics and safe from any thread;
 * registration takes a lock and returns a pointer valid until gt_metrics_free.
 *
 * A metric is identified by name + label set; labels are given pre-rendered
 * ('topic="gpu-telemetry",group="g1"') or NULL. Registering the same pair twice returns the
 * same metric. */
#ifndef GT_METRICS_H
#define GT_METRICS_H

#include <stdint.h>

#include "gt/gt_buf.h"
#include "gt/gt_err.h"

typedef struct gt_metrics gt_metrics;
typedef struct gt_counter gt_counter;
typedef struct gt_gauge   gt_gauge;
typedef struct gt_hist    gt_hist;

/* prefix is prepended to every exported name ("gt_mq_"). */
gt_err gt_metrics_new(gt_metrics **out, const char *prefix);
void   gt_metrics_free(gt_metrics *m);

gt_counter *gt_metrics_counter(gt_metrics *m, const char *name, const char *labels, const char *help);
gt_gauge   *gt_metrics_gauge(gt_metrics *m, const char *name, const char *labels, const char *help);
/* A gauge computed at export time: fn(arg) runs under the registry lock, so it must not
 * register metrics. */
gt_gauge *gt_metrics_gauge_fn(gt_metrics *m, const char *name, const char *labels, const char *help,
    double (*fn)(void *arg), void *arg);
/* Latency histogram in seconds; fixed log-spaced buckets from 1 µs to 60 s. */
gt_hist *gt_metrics_hist(gt_metrics *m, const char *name, const char *labels, const char *help);

void     gt_counter_add(gt_counter *c, uint64_t n);
void     gt_counter_inc(gt_counter *c);
uint64_t gt_counter_get(const gt_counter *c);
void     gt_gauge_set(gt_gauge *g, double v);
void     gt_gauge_add(gt_gauge *g, double d);
double   gt_gauge_get(const gt_gauge *g);
void     gt_hist_observe_ns(gt_hist *h, int64_t ns);
uint64_t gt_hist_count(const gt_hist *h);
/* Quantile estimate (q in [0,1]) in seconds, interpolated inside the bucket; 0 when empty. */
double gt_hist_quantile(const gt_hist *h, double q);

/* Prometheus text exposition format 0.0.4, with # HELP / # TYPE lines. */
gt_err gt_metrics_prometheus(gt_metrics *m, gt_buf *out);
/* Appends "name{labels}": value pairs as JSON members (no braces) for /stats documents;
 * histograms appear as {"count":…,"p50_ms":…,"p99_ms":…}. *first as in gt_json_key. */
gt_err gt_metrics_json(gt_metrics *m, gt_buf *out, int *first);

#endif
