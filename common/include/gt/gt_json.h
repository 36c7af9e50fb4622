/* gt_json.h - a small streaming JSON writer for hot paths (logs, JSONL, /stats).
 * Parsing uses jansson; tests check this writer's output against it. */
#ifndef GT_JSON_H
#define GT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_buf.h"

/* Append s (n bytes, need not be NUL-terminated) as a quoted, escaped JSON string.
 * Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON. */
gt_err gt_json_str(gt_buf *b, const char *s, size_t n);
gt_err gt_json_cstr(gt_buf *b, const char *s); /* NULL -> null */
/* The same written at o, which has room for GT_JSON_STR_MAX(n) bytes; returns the end.
 * For encoders that reserve once per object. */
#define GT_JSON_STR_MAX(n) ((n) * 6 + 2)
char  *gt_json_str_raw(char *o, const char *s, size_t n);
gt_err gt_json_int(gt_buf *b, int64_t v);
gt_err gt_json_uint(gt_buf *b, uint64_t v);
/* Doubles: shortest round-trip form ("%.17g" trimmed); NaN/Inf -> null. */
gt_err gt_json_dbl(gt_buf *b, double v);
/* The same into out (room for GT_JSON_DBL_MAX bytes, NUL-terminated); returns the length. */
#define GT_JSON_DBL_MAX 32
size_t gt_json_dbl_fmt(char *out, double v);
/* "key": with a leading comma when needed: *first is cleared after the first key. */
gt_err gt_json_key(gt_buf *b, int *first, const char *key);

#endif
