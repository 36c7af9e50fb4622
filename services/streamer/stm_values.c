/* stm_values.c - field values: numbers (with nvidia-smi units), placeholders, timestamps. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "stm_reader.h"

static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int
unit_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '%' || c == '/';
}

int
stm_parse_number(const char *s, size_t n, int allow_unit, double *out)
{
	const char *p = s, *end = s + n;
	int         neg = 0;
	uint64_t    mant = 0;
	int         digits = 0, frac = 0, any = 0;
	char        tmp[64];
	char       *ep;
	double      v;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end)
		return 0;
	/* Fast path (Clinger): at most 15 significant digits and a power of ten <= 22 give a
	 * correctly rounded result with one division. */
	{
		const char *q = p;
		if (*q == '-' || *q == '+')
			neg = *q++ == '-';
		while (q < end && *q >= '0' && *q <= '9') {
			mant = mant * 10 + (uint64_t)(*q++ - '0');
			digits++;
			any = 1;
		}
		if (q < end && *q == '.') {
			q++;
			while (q < end && *q >= '0' && *q <= '9') {
				mant = mant * 10 + (uint64_t)(*q++ - '0');
				digits++;
				frac++;
				any = 1;
			}
		}
		if (any && digits <= 15) {
			const char *u = q;
			int         ok = (q == end);
			if (!ok && allow_unit && (*u == ' ' || unit_char(*u))) {
				while (u < end && *u == ' ')
					u++;
				while (u < end && unit_char(*u))
					u++;
				ok = (u == end);
			}
			if (ok) {
				v = (double)mant / pow10_tab[frac];
				*out = neg ? -v : v;
				return 1;
			}
		}
	}
	/* Slow path: strtod on a bounded copy. */
	if ((size_t)(end - p) >= sizeof(tmp))
		return 0;
	memcpy(tmp, p, (size_t)(end - p));
	tmp[end - p] = '\0';
	errno = 0;
	v = strtod(tmp, &ep);
	if (ep == tmp || !isfinite(v))
		return 0;
	/* strtod accepts hex and "inf"/"nan": only plain decimals are numbers here. */
	for (const char *c = tmp; c < ep; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '+' || *c == 'e' ||
		        *c == 'E'))
			return 0;
	if (*ep != '\0') {
		if (!allow_unit)
			return 0;
		while (*ep == ' ')
			ep++;
		while (unit_char(*ep))
			ep++;
		if (*ep != '\0')
			return 0;
	}
	*out = v;
	return 1;
}

int
stm_is_placeholder(const char *s, size_t n)
{
	while (n > 0 && *s == ' ')
		s++, n--;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		return 1; /* [N/A], [Not Supported], [Unknown Error], [Insufficient Permissions] */
	return (n == 3 && memcmp(s, "N/A", 3) == 0);
}

gt_err
stm_parse_timestamp(const char *s, int64_t *ns)
{
	const char *p = s;
	int         digits = 1, dot = 0;

	if (*p == '\0')
		return GT_EINVAL;
	for (; *p; p++) {
		if (*p == '.' && !dot)
			dot = 1;
		else if (*p < '0' || *p > '9') {
			digits = 0;
			break;
		}
	}
	if (digits) {
		/* Unix time: the magnitude tells the unit (s, ms, us or ns). */
		double v = strtod(s, NULL);
		if (!dot && strlen(s) <= 19) {
			int64_t i = (int64_t)strtoll(s, NULL, 10);
			if (i >= INT64_C(100000000000000000))
				*ns = i;
			else if (i >= INT64_C(100000000000000))
				*ns = i * 1000;
			else if (i >= INT64_C(100000000000))
				*ns = i * 1000000;
			else
				*ns = i * GT_NS_PER_S;
			return GT_OK;
		}
		if (v >= 1e17)
			*ns = (int64_t)v;
		else if (v >= 1e14)
			*ns = (int64_t)(v * 1e3);
		else if (v >= 1e11)
			*ns = (int64_t)(v * 1e6);
		else
			*ns = (int64_t)llround(v * 1e9);
		return GT_OK;
	}
	return gt_rfc3339_parse(s, ns);
}
