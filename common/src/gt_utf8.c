/* gt_utf8.c - strict UTF-8 validation and sanitizing, and the protobuf string-field walker. */
#include <stdio.h>
#include <string.h>

#include "gt/gt_pb.h"
#include "gt/gt_utf8.h"

#define UTF8_MAX_DEPTH 64

/* One character at p (n >= 1 bytes left). Returns its length and sets *ok when it is strict
 * UTF-8; otherwise clears *ok and returns the length of the maximal subpart (>= 1): the bytes
 * that started a valid sequence before the first unexpected one (Unicode table 3-7). */
static size_t
utf8_char(const uint8_t *p, size_t n, int *ok)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xbf;
	size_t  need, i;

	*ok = 0;
	if (b < 0x80) {
		*ok = 1;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0; /* overlong */
		else if (b == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90; /* overlong */
		else if (b == 0xf4)
			hi = 0x8f; /* > U+10FFFF */
	} else {
		return 1; /* 80..C1 (continuation, overlong lead), F5..FF */
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xbf;
	}
	*ok = 1;
	return need + 1;
}

size_t
gt_utf8_valid_prefix(const void *s, size_t n)
{
	const uint8_t *p = s;
	size_t         i = 0;
	int            ok;

	while (i < n) {
		/* ASCII runs, 8 bytes at a time */
		while (n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t len = utf8_char(p + i, n - i, &ok);
		if (!ok)
			break;
		i += len;
	}
	return i;
}

bool
gt_utf8_valid(const void *s, size_t n)
{
	return n == 0 || gt_utf8_valid_prefix(s, n) == n;
}

size_t
gt_utf8_sanitize(char *dst, size_t cap, const void *src, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const uint8_t    *p = src;
	size_t            i = 0, o = 0;
	int               ok;

	if (cap == 0)
		return 0;
	while (i < n) {
		size_t len = utf8_char(p + i, n - i, &ok);
		if (ok && p[i] != 0) {
			if (o + len > cap - 1)
				break;
			memcpy(dst + o, p + i, len);
			o += len;
		} else {
			if (o + 3 > cap - 1)
				break;
			memcpy(dst + o, repl, 3);
			o += 3;
		}
		i += len;
	}
	dst[o] = '\0';
	return o;
}

static gt_err
check_pb(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth,
         char *why, size_t why_len)
{
	gt_pb_field f;
	gt_err      rv;

	if (depth > UTF8_MAX_DEPTH) {
		if (why != NULL)
			snprintf(why, why_len, "messages nested deeper than %d levels",
			         UTF8_MAX_DEPTH);
		return GT_EINVAL;
	}
	while (p < end) {
		const ProtobufCFieldDescriptor *fd;

		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.type != GT_PB_LEN ||
		    (fd = protobuf_c_message_descriptor_get_field(d, (unsigned)f.num)) == NULL)
			continue;
		if (fd->type == PROTOBUF_C_TYPE_STRING) {
			if (!gt_utf8_valid(f.p, f.len) ||
			    (f.len && memchr(f.p, 0, f.len) != NULL)) {
				if (why != NULL)
					snprintf(
					    why, why_len, "field %s of %s is not valid UTF-8%s",
					    fd->name, d->name,
					    gt_utf8_valid(f.p, f.len) ? " (contains NUL)" : "");
				return GT_EINVAL;
			}
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE && fd->descriptor != NULL) {
			rv = check_pb(fd->descriptor, f.p, f.p + f.len, depth + 1, why, why_len);
			if (rv != GT_OK)
				return rv;
		}
	}
	return GT_OK;
}

gt_err
gt_utf8_check_pb(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, char *why,
                 size_t why_len)
{
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (n == 0)
		return GT_OK;
	return check_pb(d, p, p + n, 0, why, why_len);
}
