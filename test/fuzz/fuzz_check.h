/* fuzz_check.h - an assertion for fuzz targets: print and abort (libFuzzer and the driver
 * both report an abort as a finding, with the input). */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(c)                                                                              \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Reference UTF-8 check written from the definition (decode, then range and shortest form),
 * the oracle for gt_utf8_valid. */
static inline int
fuzz_ref_utf8(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned long cp;
		size_t        len, k;
		if (p[i] < 0x80)
			len = 1, cp = p[i];
		else if ((p[i] & 0xe0) == 0xc0)
			len = 2, cp = p[i] & 0x1f;
		else if ((p[i] & 0xf0) == 0xe0)
			len = 3, cp = p[i] & 0x0f;
		else if ((p[i] & 0xf8) == 0xf0)
			len = 4, cp = p[i] & 0x07;
		else
			return 0;
		if (len > n - i)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (len == 2 && cp < 0x80) ||
		    (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
			return 0;
		i += len;
	}
	return 1;
}

#endif
