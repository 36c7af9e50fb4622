/* stm_reader.h - streaming CSV -> gtpb.v1.TelemetryRecord (libcsv, CSV_STRICT).
 *
 * Formats (stm_format): the seed "wide" format (one row per GPU sample), the DCGM exporter
 * export (one metric per row; consecutive rows with the same timestamp and GPU become ONE
 * record) and nvidia-smi --query-gpu --format=csv (units in headers and values, [N/A]
 * placeholders). STM_FMT_AUTO detects the format from the header.
 *
 * Input is fed in arbitrary chunks (stm_reader_feed) or read from a file in fixed-size blocks
 * (stm_reader_file); the whole file is never loaded. For every record the emit callback gets
 * a TelemetryRecord that is BORROWED: it and every string and map entry in it are reused for
 * the next record (no per-row malloc), so pack or copy it before returning. The emit
 * callback returns GT_OK to go on, anything else to stop (returned by feed/file).
 *
 * Bad rows (stm_bad_reason: wrong field count, unparsable value or timestamp, a timestamp out
 * of range, broken quoting, a line longer than max_line, no GPU identity, ...) are counted per
 * reason, logged once each as "csv.bad_row" with file:line and the reason, and skipped.
 * A missing or unknown header, or one with more than max_fields columns, is an error
 * (GT_EINVAL, stm_reader_error() says why); an unreadable file is GT_EIO. A reader is used by
 * one thread at a time.
 *
 * Limits (documented in README): a line (without its '\n') holds at most max_line bytes
 * (default STM_MAX_LINE); a longer one is one bad row and the rest of it is skipped without
 * being buffered. A header or row holds at most max_fields fields (default STM_MAX_FIELDS).
 * Work is linear in the input: libcsv's field buffer grows geometrically.
 */
#ifndef STM_READER_H
#define STM_READER_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gtpb/v1/telemetry.pb-c.h"

/* Default limits (stm_reader_cfg.max_line / max_fields = 0). */
#define STM_MAX_LINE   (1024u * 1024u) /* bytes per line, '\n' not counted */
#define STM_MAX_FIELDS 4096u           /* fields per header or row */

/* Accepted timestamps: 1 ns after the epoch .. INT64_MAX ns, i.e.
 * 1970-01-01T00:00:00.000000001Z .. 2262-04-11T23:47:16.854775807Z. The epoch itself is
 * outside: a TelemetryRecord's timestamp_ns 0 means "no timestamp" on the wire. */
#define STM_TS_RANGE_TEXT "1970-01-01T00:00:00.000000001Z .. 2262-04-11T23:47:16.854775807Z"

typedef enum stm_format {
	STM_FMT_AUTO = 0,
	STM_FMT_WIDE,
	STM_FMT_DCGM,
	STM_FMT_SMI,
} stm_format;

/* "auto", "wide", "dcgm", "nvidia-smi" (the --format choices, in enum order). */
extern const char *const stm_format_names[];

/* Why a row was skipped (stm_bad_reason_name: the /stats and /metrics label; the log's
 * "reason" is stm_bad_reason_text). */
typedef enum stm_bad_reason {
	STM_BAD_FIELD_COUNT = 0, /* wrong field count (also: more than max_fields) */
	STM_BAD_LINE_TOO_LONG,   /* a line longer than max_line bytes */
	STM_BAD_QUOTING,         /* "a"b, a"b */
	STM_BAD_UNTERMINATED,    /* a quoted field still open at the end of its line */
	STM_BAD_VALUE,           /* a metric that is not a number */
	STM_BAD_TIMESTAMP,       /* not a timestamp */
	STM_BAD_TS_RANGE,        /* a timestamp outside STM_TS_RANGE_TEXT or finer than 1 ns */
	STM_BAD_INDEX,           /* GPU index not a number */
	STM_BAD_METRIC_NAME,     /* DCGM: empty metric_name */
	STM_BAD_LABELS_RAW,      /* DCGM: malformed labels_raw */
	STM_BAD_NO_IDENTITY,     /* no uuid, hostname/index, gpu_id or index */
	STM_BAD_NO_METRICS,      /* no metric value at all */
	STM_BAD__COUNT
} stm_bad_reason;

/* "wrong_field_count", "line_too_long", ... (stable ids). */
const char *stm_bad_reason_name(stm_bad_reason why);
/* "wrong field count", "line too long", ... (the csv.bad_row log's reason). */
const char *stm_bad_reason_text(stm_bad_reason why);

typedef struct stm_rec_info {
	const char *file;      /* as given to stm_reader_begin */
	uint64_t    line;      /* 1-based line of the record's (first) row */
	int         ts_source; /* timestamp_ns came from the file (else it is 0) */
	uint32_t    rows;      /* CSV rows merged into the record (DCGM), else 1 */
} stm_rec_info;

typedef gt_err (*stm_emit_fn)(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg);

typedef struct stm_reader_cfg {
	stm_format  format;   /* AUTO = detect from the header */
	const char *columns;  /* header for --format=csv,noheader input ("index, uuid, ..."); NULL */
	const char *hostname; /* hostname for records without one; NULL */
	int         quiet;    /* do not log bad rows (still counted) */
	size_t      max_line;   /* bytes per line; 0 = STM_MAX_LINE */
	uint32_t    max_fields; /* fields per header/row; 0 = STM_MAX_FIELDS */
	/* Polled while parsing, about every 64 KiB of input: nonzero stops the pass with
	 * GT_ECANCELED, even in the middle of a long line or of a run of bad rows. NULL = never.
	 * (The emit callback can stop a pass too, by returning non-GT_OK.) */
	int (*stopping)(void *arg);
	void *stopping_arg;
	/* Called while a pipe is idle and after every read from it (stdin, --follow): returns
	 * how long (ns) the reader may wait for input before calling it again, < 0 = no limit.
	 * gt-streamer flushes partial batches here (--linger). NULL = never. */
	int64_t (*idle)(void *arg);
	void *idle_arg;
} stm_reader_cfg;

/* Dropped values are counted per metric: the canonical metrics in gt_gpu_metric_table() order,
 * then one slot for every other metric. */
#define STM_DROP_OTHER 11
#define STM_DROP_SLOTS (STM_DROP_OTHER + 1)

typedef struct stm_reader_stats {
	uint64_t rows;     /* data rows seen (good and bad) */
	uint64_t bad_rows; /* skipped (the sum of bad[]) */
	uint64_t records;  /* records emitted */
	uint64_t bad[STM_BAD__COUNT]; /* bad rows per reason */
	uint64_t dropped;  /* sentinel/garbage values dropped (the sum of dropped_by[]) */
	uint64_t dropped_by[STM_DROP_SLOTS];
} stm_reader_stats;

typedef struct stm_reader stm_reader;

gt_err stm_reader_new(stm_reader **out, const stm_reader_cfg *cfg, stm_emit_fn emit, void *arg);
void   stm_reader_free(stm_reader *r);

/* Start a pass over a file (name used in logs and stm_rec_info; copied). The header is read
 * again on every pass. Statistics accumulate over passes. */
gt_err stm_reader_begin(stm_reader *r, const char *file);
gt_err stm_reader_feed(stm_reader *r, const void *data, size_t len);
/* End of input: flushes a last row without newline and an open DCGM group. GT_EINVAL when
 * the input had no header. */
gt_err stm_reader_end(stm_reader *r);

/* begin + feed the whole file in blocks + end. GT_EIO when it cannot be opened or read.
 * "-" is standard input. */
gt_err stm_reader_file(stm_reader *r, const char *path);
/* begin (name) + feed everything read from fd until EOF + end; fd is not closed. Waits for
 * input in short polls (stopping, idle). */
gt_err stm_reader_fd(stm_reader *r, int fd, const char *name);
/* Read fd until EOF (or nothing more is there) and feed it, without begin/end (--follow).
 * *consumed is advanced by the bytes read. */
gt_err stm_reader_drain_fd(stm_reader *r, int fd, uint64_t *consumed);
/* Bytes fed in this pass that no record or bad row accounts for yet: the current partial line,
 * or, while a DCGM group is open, everything from the group's first row on. Reading again
 * from (bytes fed - this) loses nothing and repeats nothing (--follow's state file). */
uint64_t stm_reader_pending(stm_reader *r);
/* 1 once the header is known. */
int stm_reader_has_header(stm_reader *r);

/* ---- direct record building (the --scrape source) ----
 * One record at a time through the same sentinel filter, GPU identity rules, statistics and
 * emit callback as a CSV row (counted as one row). Strings are copied. */
void   stm_reader_rec_begin(stm_reader *r, int64_t ts_ns); /* 0 = stamp at publish */
void   stm_reader_rec_ident(stm_reader *r, const char *host, const char *uuid,
      const char *device, const char *model, int32_t index);
/* A metric by any spelling (DCGM field, canonical, other: kept under its own name). dedup: a
 * metric already in the record takes the new value (else the caller guarantees no repeats). */
void   stm_reader_rec_metric(stm_reader *r, const char *name, size_t len, double v, int dedup);
/* The same with the lookup done: canon = gt_gpu_metric_canonical(name, len) (NULL: unknown). */
void   stm_reader_rec_metric_as(stm_reader *r, const char *canon, const char *name, size_t len,
      double v, int dedup);
void   stm_reader_rec_label(stm_reader *r, const char *k, size_t kl, const char *v, size_t vl);
gt_err stm_reader_rec_emit(stm_reader *r);

/* Quiet on/off (e.g. after the first pass of --loop: bad rows are logged once each). */
void stm_reader_set_quiet(stm_reader *r, int quiet);

/* The reason of the last GT_EINVAL/GT_EIO, "" when none. Valid until the next call. */
const char *stm_reader_error(stm_reader *r);
/* The detected (or forced) format; AUTO before the header was read. */
stm_format stm_reader_format(stm_reader *r);
void       stm_reader_get_stats(stm_reader *r, stm_reader_stats *st);

/* ---- helpers (exported for tests) ---- */

/* Parse a number from s[0..n): optional spaces, decimal/scientific number, and, when
 * allow_unit, an nvidia-smi unit suffix ("81.25 W", "45 %", "1024 MiB"). Returns 1 and sets
 * *out, or 0 when not a finite number. */
int stm_parse_number(const char *s, size_t n, int allow_unit, double *out);
/* 1 for a placeholder value that means "no value": "[N/A]", "[Not Supported]", "N/A", ... */
int stm_is_placeholder(const char *s, size_t n);
/* A GPU index: 1-9 decimal digits. Returns 1 and sets *out, or 0. */
int stm_parse_index(const char *s, size_t n, int32_t *out);
typedef enum stm_ts_status {
	STM_TS_OK = 0,
	STM_TS_UNPARSABLE,   /* not a timestamp (also: an impossible date such as 2025-02-29) */
	STM_TS_OUT_OF_RANGE, /* outside STM_TS_RANGE_TEXT, or finer than 1 ns */
} stm_ts_status;

/* Timestamp: RFC 3339, nvidia-smi "2026/11/26 22:49:11.123", or a unix time in s/ms/us/ns
 * (by the magnitude of its integer part: >= 1e17 ns, >= 1e14 us, >= 1e11 ms, else s; an
 * optional decimal fraction). Every accepted timestamp is exact: *ns is set only on STM_TS_OK,
 * nothing is rounded, clamped or wrapped. */
stm_ts_status stm_parse_timestamp(const char *s, int64_t *ns);

/* 1 when v is a real reading of metric key (a canonical name, or any other name); 0 for a
 * sentinel (DCGM blank values, 4294967295, not finite) or a value outside the metric's
 * plausible range. *slot is the key's dropped_by[] slot either way. */
int         stm_value_ok(const char *key, double v, unsigned *slot);
const char *stm_drop_slot_name(unsigned slot); /* "utilization", ..., "other" */

#endif
