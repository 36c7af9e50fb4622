/* gt_gpu_metrics.h - the one table of GPU metric names: canonical <-> DCGM <-> nvidia-smi.
 *
 * Canonical names (the keys of TelemetryRecord.metrics, proto/gtpb/v1/telemetry.proto):
 * temperature, utilization, memory_used, memory_free, power_draw, sm_clock, mem_clock,
 * memory_utilization, encoder_utilization, decoder_utilization, fan_speed. Lookups go both ways: the streamer maps CSV columns in, the gateway exports DCGM
 * names back. Pure functions, any thread.
 */
#ifndef GT_GPU_METRICS_H
#define GT_GPU_METRICS_H

#include <stddef.h>

typedef struct gt_gpu_metric {
	const char *canonical; /* "power_draw" */
	const char *dcgm;      /* "DCGM_FI_DEV_POWER_USAGE" */
	const char *smi;       /* nvidia-smi --query-gpu field without unit: "power.draw" */
	const char *unit;      /* nvidia-smi unit in headers/values: "W" ("" when none) */
	const char *help;      /* one line for Prometheus # HELP */
} gt_gpu_metric;

/* The whole table (static storage); *n = number of rows. */
const gt_gpu_metric *gt_gpu_metric_table(size_t *n);

/* Exact lookups by one name (len bytes, need not be NUL-terminated). NULL when unknown. */
const gt_gpu_metric *gt_gpu_metric_by_canonical(const char *name, size_t len);
const gt_gpu_metric *gt_gpu_metric_by_dcgm(const char *name, size_t len);
/* nvidia-smi header: "power.draw [W]" or "power.draw" (the " [unit]" suffix is ignored). */
const gt_gpu_metric *gt_gpu_metric_by_smi(const char *name, size_t len);

/* Any spelling (canonical, DCGM field, nvidia-smi header) -> the row, or NULL. */
const gt_gpu_metric *gt_gpu_metric_lookup(const char *name, size_t len);

/* Canonical name for any spelling, or NULL when the name is not a known metric
 * (unknown columns keep their own names: the caller decides). Static storage. */
const char *gt_gpu_metric_canonical(const char *name, size_t len);

/* canonical -> DCGM field name ("temperature" -> "DCGM_FI_DEV_GPU_TEMP"), NULL if unknown. */
const char *gt_gpu_metric_to_dcgm(const char *canonical);
/* canonical -> nvidia-smi header with unit ("power_draw" -> "power.draw [W]") into buf;
 * returns buf, or NULL if unknown or buf too small. */
const char *gt_gpu_metric_to_smi_header(const char *canonical, char *buf, size_t len);

/* Length of an nvidia-smi header without its " [unit]" suffix and trailing spaces. */
size_t gt_gpu_metric_strip_unit(const char *name, size_t len);

#endif
