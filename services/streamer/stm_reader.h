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
 * Bad rows (wrong field count, unparsable value, broken quoting, no GPU identity) are
 * counted, logged once each as "csv.bad_row" with file:line and the reason, and skipped.
 * A missing or unknown header is an error (GT_EINVAL, stm_reader_error() says why); an
 * unreadable file is GT_EIO. A reader is used by one thread at a time.
 */
#ifndef STM_READER_H
#define STM_READER_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"
#include "gtpb/v1/telemetry.pb-c.h"

typedef enum stm_format {
	STM_FMT_AUTO = 0,
	STM_FMT_WIDE,
	STM_FMT_DCGM,
	STM_FMT_SMI,
} stm_format;

/* "auto", "wide", "dcgm", "nvidia-smi" (the --format choices, in enum order). */
extern const char *const stm_format_names[];

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
} stm_reader_cfg;

typedef struct stm_reader_stats {
	uint64_t rows;     /* data rows seen (good and bad) */
	uint64_t bad_rows; /* skipped */
	uint64_t records;  /* records emitted */
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

/* begin + feed the whole file in blocks + end. GT_EIO when it cannot be opened or read. */
gt_err stm_reader_file(stm_reader *r, const char *path);

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
/* Timestamp: RFC 3339, nvidia-smi "2026/11/26 22:49:11.123", or a unix time in s/ms/us/ns. */
gt_err stm_parse_timestamp(const char *s, int64_t *ns);

#endif
