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

/* 1 for the bytes that end a plain run: control characters, '"', '\\' and every non-ASCII
 * byte (checked as UTF-8). */
#define J16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const uint8_t json_special[256] = {
    J16(1), J16(1), /* 0x00-0x1f */
    0,      0,      1,      0,      0,      0,      0,      0,
    0,      0,      0,      0,      0,      0,      0,      0, /* 0x20-0x2f: '"' */
    J16(0), J16(0),                                            /* 0x30-0x4f */
    0,      0,      0,      0,      0,      0,      0,      0,
    0,      0,      0,      0,      1,      0,      0,      0,      /* 0x50-0x5f: '\\' */
    J16(0), J16(0),                                                 /* 0x60-0x7f */
    J16(1), J16(1), J16(1), J16(1), J16(1), J16(1), J16(1), J16(1), /* 0x80-0xff */
};
#undef J16

char *
gt_json_str_raw(char *o, const char *s, size_t n)
{
	static const char    hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t               i = 0, run;

	*o++ = '"';
	for (;;) {
		unsigned c;

		for (run = i; run < n && !json_special[p[run]]; run++)
			;
		memcpy(o, p + i, run - i);
		o += run - i;
		if ((i = run) == n)
			break;
		c = p[i];
		if (c >= 0x80) {
			size_t l = json_utf8_len(p + i, n - i);

			if (l == 0) {
				memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
				o += 3;
				i++;
			} else {
				memcpy(o, p + i, l);
				o += l;
				i += l;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
			break;
		}
		i++;
	}
	*o++ = '"';
	return o;
}

gt_err
gt_json_str(gt_buf *b, const char *s, size_t n)
{
	gt_err rv;

	if ((rv = gt_buf_reserve(b, GT_JSON_STR_MAX(n))) != GT_OK)
		return rv;
	b->len = (size_t)(gt_json_str_raw(b->data + b->len, s, n) - b->data);
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

/* Doubles with at most 6 decimals (most telemetry) are written with integer arithmetic: the
 * decimal string is exact and parses back to the same double (IEEE division of the two
 * integers is correctly rounded, as strtod is), so no printf/strtod round trip is needed.
 * Returns the length written at out, or 0 when v is not such a number. */
static size_t
dbl_fast(char *out, double v)
{
	double   m = v * 1e6, r = rint(m);
	uint64_t u, ip, fp;
	char     tmp[48], *e = tmp + sizeof(tmp), *p = e;
	int      neg, d;

	if (!isfinite(v) || m != r || fabs(r) >= 9007199254740992.0 || r / 1e6 != v || v == 0.0 ||
	    fabs(v) < 1e-6)
		return 0;
	neg = r < 0;
	u = (uint64_t)(neg ? -r : r);
	ip = u / 1000000;
	fp = u % 1000000;
	if (fp != 0) {
		int started = 0;

		for (d = 0; d < 6; d++) {
			unsigned dig = (unsigned)(fp % 10);

			fp /= 10;
			if (dig != 0 || started) {
				*--p = (char)('0' + dig);
				started = 1;
			}
		}
		*--p = '.';
	}
	do {
		*--p = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	if (neg)
		*--p = '-';
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return (size_t)(e - p);
}

size_t
gt_json_dbl_fmt(char *out, double v)
{
	size_t fast;
	int    n;

	if ((fast = dbl_fast(out, v)) > 0)
		return fast;
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	if (fabs(v) < 1e15 && v == (double)(int64_t)v) /* range first: the cast is UB outside */
		return (size_t)snprintf(out, GT_JSON_DBL_MAX, "%" PRId64, (int64_t)v);
	/* Shortest of %.15g / %.17g that round-trips. */
	n = snprintf(out, GT_JSON_DBL_MAX, "%.15g", v);
	if (strtod(out, NULL) != v)
		n = snprintf(out, GT_JSON_DBL_MAX, "%.17g", v);
	return (size_t)n;
}

gt_err
gt_json_dbl(gt_buf *b, double v)
{
	char tmp[GT_JSON_DBL_MAX];

	return gt_buf_append(b, tmp, gt_json_dbl_fmt(tmp, v));
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
