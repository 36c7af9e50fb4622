/* stm_prom.h - a parser of the Prometheus text exposition format (version 0.0.4), as served
 * by dcgm-exporter on :9400/metrics.
 *
 * Lines: "# HELP name text", "# TYPE name type" and other comments are skipped; a sample is
 *   name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value [ timestamp_ms ]
 * with spaces or tabs between the parts. Label values are unescaped (\\ \" \n). Values are
 * floats (also NaN, +Inf, -Inf); the optional timestamp is an integer of milliseconds.
 * A line that does not follow the grammar is counted as bad and skipped; the rest of the
 * input is parsed. The input need not be NUL-terminated; work is linear in its length.
 *
 * Limits: a sample has at most STM_PROM_MAX_LABELS labels (more: a bad line).
 */
#ifndef STM_PROM_H
#define STM_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

#define STM_PROM_MAX_LABELS 64
#define STM_PROM_NO_TS      INT64_MIN

typedef struct stm_prom_label {
	const char *name;
	size_t      name_len;
	const char *value; /* unescaped; NOT NUL-terminated (into the input or a scratch buffer) */
	size_t      value_len;
} stm_prom_label;

typedef struct stm_prom_sample {
	const char           *name; /* not NUL-terminated */
	size_t                name_len;
	const stm_prom_label *labels;
	size_t                nlabels;
	double                value;
	int64_t               ts_ms; /* STM_PROM_NO_TS when absent */
	uint64_t              line;  /* 1-based */
} stm_prom_sample;

/* Called for every sample; the sample and its strings are valid during the call only.
 * Return GT_OK to go on, anything else to stop (returned by stm_prom_parse). */
typedef gt_err (*stm_prom_fn)(const stm_prom_sample *s, void *arg);

typedef struct stm_prom_stats {
	uint64_t lines;     /* every line, blank and comments included */
	uint64_t samples;   /* samples handed to the callback */
	uint64_t bad_lines; /* malformed lines skipped */
	uint64_t first_bad; /* line number of the first bad line (0 = none) */
} stm_prom_stats;

typedef struct stm_prom stm_prom;

gt_err stm_prom_new(stm_prom **out);
void   stm_prom_free(stm_prom *p);
/* Parse text[0..len). *st is reset first. GT_OK, GT_ENOMEM, or the callback's stop. */
gt_err stm_prom_parse(stm_prom *p, const char *text, size_t len, stm_prom_fn fn, void *arg,
    stm_prom_stats *st);

#endif
