/* gt_buf.c - growable byte buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_buf.h"

void
gt_buf_init(gt_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
gt_buf_fini(gt_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	gt_buf_init(b);
}

void
gt_buf_reset(gt_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

gt_err
gt_buf_reserve(gt_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;
	char  *p;

	if (need <= b->cap)
		return GT_OK;
	if (need < b->len)
		return GT_ENOMEM;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return GT_ENOMEM;
	b->data = p;
	b->cap = cap;
	return GT_OK;
}

gt_err
gt_buf_append(gt_buf *b, const void *p, size_t n)
{
	gt_err rv;

	if ((rv = gt_buf_reserve(b, n)) != GT_OK)
		return rv;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return GT_OK;
}

gt_err
gt_buf_puts(gt_buf *b, const char *s)
{
	return gt_buf_append(b, s, strlen(s));
}

gt_err
gt_buf_putc(gt_buf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		gt_err rv = gt_buf_reserve(b, 1);
		if (rv != GT_OK)
			return rv;
	}
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return GT_OK;
}

gt_err
gt_buf_vprintf(gt_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int     n;
	size_t  room = b->cap > b->len ? b->cap - b->len : 0;
	gt_err  rv;

	va_copy(ap2, ap);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return GT_EINVAL;
	if ((size_t)n >= room) {
		if ((rv = gt_buf_reserve(b, (size_t)n)) != GT_OK)
			return rv;
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
	return GT_OK;
}

gt_err
gt_buf_printf(gt_buf *b, const char *fmt, ...)
{
	va_list ap;
	gt_err  rv;

	va_start(ap, fmt);
	rv = gt_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rv;
}

char *
gt_buf_take(gt_buf *b, size_t *len)
{
	char *p = b->data;

	if (p == NULL && (p = calloc(1, 1)) == NULL)
		return NULL;
	if (len != NULL)
		*len = b->len;
	gt_buf_init(b);
	return p;
}
