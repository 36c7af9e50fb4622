/* gt_buf.h - a growable byte buffer. Embedded object: gt_buf_init / gt_buf_fini. */
#ifndef GT_BUF_H
#define GT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

typedef struct gt_buf {
	char  *data; /* NUL-terminated whenever len < cap (always after an append) */
	size_t len;
	size_t cap;
} gt_buf;

void   gt_buf_init(gt_buf *b);
void   gt_buf_fini(gt_buf *b);
void   gt_buf_reset(gt_buf *b); /* len = 0, keeps the memory */
gt_err gt_buf_reserve(gt_buf *b, size_t extra);
gt_err gt_buf_append(gt_buf *b, const void *p, size_t n);
gt_err gt_buf_puts(gt_buf *b, const char *s);
gt_err gt_buf_putc(gt_buf *b, char c);
gt_err gt_buf_printf(gt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
gt_err gt_buf_vprintf(gt_buf *b, const char *fmt, va_list ap);
/* gt_buf_take hands the data to the caller (free() it) and resets b. */
char *gt_buf_take(gt_buf *b, size_t *len);

#endif
