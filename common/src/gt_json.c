/* gt_json.c - streaming JSON writer. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_json.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t
json_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t   len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

gt_err
gt_json_str(gt_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t               i = 0, run;
	gt_err               rv;

	/* Worst case 6 bytes per input byte, plus quotes. */
	if ((rv = gt_buf_reserve(b, n * 6 + 2)) != GT_OK)
		return rv;
	b->data[b->len++] = '"';
	while (i < n) {
		unsigned c = p[i];
		char    *o = b->data + b->len;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run = i + 1;
			while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
			    p[run] != '\\')
				run++;
			memcpy(o, p + i, run - i);
			b->len += run - i;
			i = run;
			continue;
		}
		if (c >= 0x80) {
			size_t l = json_utf8_len(p + i, n - i);
			if (l == 0) {
				memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
				b->len += 3;
				i++;
			} else {
				memcpy(o, p + i, l);
				b->len += l;
				i += l;
			}
			continue;
		}
		o[0] = '\\';
		switch (c) {
		case '"':
			o[1] = '"';
			b->len += 2;
			break;
		case '\\':
			o[1] = '\\';
			b->len += 2;
			break;
		case '\n':
			o[1] = 'n';
			b->len += 2;
			break;
		case '\r':
			o[1] = 'r';
			b->len += 2;
			break;
		case '\t':
			o[1] = 't';
			b->len += 2;
			break;
		default:
			o[1] = 'u';
			o[2] = '0';
			o[3] = '0';
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			b->len += 6;
			break;
		}
		i++;
	}
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
	return GT_OK;
}

gt_err
gt_json_cstr(gt_buf *b, const char *s)
{
	if (s == NULL)
		return gt_buf_append(b, "null", 4);
	return gt_json_str(b, s, strlen(s));
}

gt_err
gt_json_int(gt_buf *b, int64_t v)
{
	char tmp[24];
	int  n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
	return gt_buf_append(b, tmp, (size_t)n);
}

gt_err
gt_json_uint(gt_buf *b, uint64_t v)
{
	char tmp[24];
	int  n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	return gt_buf_append(b, tmp, (size_t)n);
}

gt_err
gt_json_dbl(gt_buf *b, double v)
{
	char tmp[32];
	int  n;

	if (!isfinite(v))
		return gt_buf_append(b, "null", 4);
	if (v == (double)(int64_t)v && fabs(v) < 1e15) {
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)v);
		return gt_buf_append(b, tmp, (size_t)n);
	}
	/* Shortest of %.15g / %.17g that round-trips. */
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	return gt_buf_append(b, tmp, (size_t)n);
}

gt_err
gt_json_key(gt_buf *b, int *first, const char *key)
{
	gt_err rv;

	if (!*first && (rv = gt_buf_putc(b, ',')) != GT_OK)
		return rv;
	*first = 0;
	if ((rv = gt_json_cstr(b, key)) != GT_OK)
		return rv;
	return gt_buf_putc(b, ':');
}
