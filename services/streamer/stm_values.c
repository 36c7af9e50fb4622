/* stm_values.c - field values: numbers (with nvidia-smi units), placeholders, timestamps. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
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
stm_parse_index(const char *s, size_t n, int32_t *out)
{
	int32_t v = 0;

	if (n == 0 || n > 9)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
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

/* Unix time in s/ms/us/ns: digits, optionally '.' digits; exact integer arithmetic. */
static stm_ts_status
ts_numeric(const char *s, int64_t *ns)
{
	const char *p = s;
	uint64_t    ip = 0, mult, v;
	int         any = 0;

	if (*p == '-')
		return p[1] >= '0' && p[1] <= '9' ? STM_TS_OUT_OF_RANGE : STM_TS_UNPARSABLE;
	for (; *p >= '0' && *p <= '9'; p++, any = 1) {
		if (ip > (UINT64_MAX - 9) / 10)
			ip = UINT64_MAX; /* saturate: out of range below */
		else
			ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (!any || (*p != '\0' && *p != '.'))
		return STM_TS_UNPARSABLE;
	if (*p == '.' && !(p[1] >= '0' && p[1] <= '9'))
		return STM_TS_UNPARSABLE;
	mult = ip >= UINT64_C(100000000000000000) ? 1
	     : ip >= UINT64_C(100000000000000)    ? 1000
	     : ip >= UINT64_C(100000000000)       ? 1000000
	                                          : (uint64_t)GT_NS_PER_S;
	if (ip > (uint64_t)INT64_MAX / mult)
		return STM_TS_OUT_OF_RANGE;
	v = ip * mult;
	if (*p == '.') {
		uint64_t unit = mult;
		for (p++; *p; p++) {
			if (*p < '0' || *p > '9')
				return STM_TS_UNPARSABLE;
			unit /= 10; /* ns per digit at this position; 0 = finer than 1 ns */
			if (*p != '0' && unit == 0)
				return STM_TS_OUT_OF_RANGE;
			if ((uint64_t)(*p - '0') * unit > (uint64_t)INT64_MAX - v)
				return STM_TS_OUT_OF_RANGE;
			v += (uint64_t)(*p - '0') * unit;
		}
	}
	if (v == 0)
		return STM_TS_OUT_OF_RANGE; /* the epoch: "no timestamp" on the wire */
	*ns = (int64_t)v;
	return STM_TS_OK;
}

static int
leap_year(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* RFC 3339 / nvidia-smi text (gt_rfc3339_parse), told apart: unparsable (syntax, impossible
 * date) or out of range (a valid date before the epoch, after 2262-04-11T23:47:16.854775807Z,
 * or with digits below 1 ns). */
static stm_ts_status
ts_text(const char *s, int64_t *ns)
{
	size_t  n = strlen(s);
	char    tmp[96];
	int     y, leap;
	int64_t v;

	if (n < 19 || n >= sizeof(tmp))
		return STM_TS_UNPARSABLE; /* "YYYY-MM-DDTHH:MM:SS" at least; no sane one is longer */
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return STM_TS_UNPARSABLE;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	leap = leap_year(y);
	/* The same text in a year of the same kind (29 February) decides syntax vs range. */
	memcpy(tmp, leap ? "2000" : "2001", 4);
	memcpy(tmp + 4, s + 4, n - 4 + 1);
	if (gt_rfc3339_parse(tmp, &v) != GT_OK)
		return STM_TS_UNPARSABLE;
	if (gt_rfc3339_parse(s, &v) != GT_OK || v <= 0)
		return STM_TS_OUT_OF_RANGE;
	if (s[19] == '.' || s[19] == ',') {
		/* digits past the 9th must be zeros: nothing finer than 1 ns is dropped */
		for (size_t i = 20 + 9; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (s[i] != '0')
				return STM_TS_OUT_OF_RANGE;
	}
	*ns = v;
	return STM_TS_OK;
}

stm_ts_status
stm_parse_timestamp(const char *s, int64_t *ns)
{
	if (*s == '\0')
		return STM_TS_UNPARSABLE;
	/* "YYYY-" or "YYYY/" starts a date; anything else is a number or nothing */
	if (strspn(s, "0123456789") == 4 && (s[4] == '-' || s[4] == '/'))
		return ts_text(s, ns);
	return ts_numeric(s, ns);
}

/* ---------------------------------------------------------------- sentinels */

/* Plausible range per canonical metric; readings outside are garbage (a sensor that reports
 * 4294967295 % utilization or -273 W). Wide enough for any GPU made or planned. */
typedef struct metric_range {
	const char *name;
	double      lo, hi;
} metric_range;

static const metric_range ranges[] = {
	{"temperature", -50, 200},
	{"utilization", 0, 100},
	{"memory_used", 0, 4194304},  /* MiB: 4 TiB */
	{"memory_free", 0, 4194304},
	{"power_draw", 0, 10000},     /* W */
	{"sm_clock", 0, 100000},      /* MHz */
	{"mem_clock", 0, 100000},
	{"memory_utilization", 0, 100},
	{"encoder_utilization", 0, 100},
	{"decoder_utilization", 0, 100},
	{"fan_speed", 0, 100},
};

const char *
stm_drop_slot_name(unsigned slot)
{
	size_t               n;
	const gt_gpu_metric *t = gt_gpu_metric_table(&n);

	return slot < n && slot < STM_DROP_OTHER ? t[slot].canonical : "other";
}

/* range_of[i]: the entry of ranges[] for metric table entry i, or -1. Computed once; the
 * flag saves the pthread_once call per value afterwards. */
static int            range_of[64];
static pthread_once_t range_once = PTHREAD_ONCE_INIT;
static atomic_int     range_ready;

static void
range_init(void)
{
	size_t               n;
	const gt_gpu_metric *t = gt_gpu_metric_table(&n);

	for (size_t i = 0; i < n && i < sizeof(range_of) / sizeof(range_of[0]); i++) {
		range_of[i] = -1;
		/* ranges[] follows the table's order; looked up by name should it ever differ */
		for (size_t k = 0; k < sizeof(ranges) / sizeof(ranges[0]); k++)
			if (strcmp(ranges[k].name, t[i].canonical) == 0) {
				range_of[i] = (int)k;
				break;
			}
	}
	atomic_store_explicit(&range_ready, 1, memory_order_release);
}

int
stm_value_ok(const char *key, double v, unsigned *slot)
{
	size_t               n;
	const gt_gpu_metric *t = gt_gpu_metric_table(&n);
	const gt_gpu_metric *m = NULL;

	if (!atomic_load_explicit(&range_ready, memory_order_acquire))
		pthread_once(&range_once, range_init);

	/* Keys are usually the table's own canonical strings: pointer comparison first. */
	for (size_t i = 0; i < n && m == NULL; i++)
		if (t[i].canonical == key)
			m = &t[i];
	if (m == NULL && strncmp(key, "DCGM_FI_", 8) != 0)
		m = gt_gpu_metric_by_canonical(key, strlen(key));
	*slot = STM_DROP_OTHER;
	if (m != NULL && (size_t)(m - t) < STM_DROP_OTHER)
		*slot = (unsigned)(m - t);
	/* Sentinels of every source: DCGM's blank/not-found/not-supported values (int32
	 * 0x7ffffff0.., int64 0x7ffffffffffffff0.., fp64 2^47..), UINT32_MAX from nvidia-smi and
	 * NVML, and anything not finite. */
	if (!isfinite(v) || fabs(v) >= 140737488355328.0 || v == 4294967295.0 ||
	    (v >= 2147483632.0 && v <= 2147483647.0))
		return 0;
	if (m != NULL && (size_t)(m - t) < sizeof(range_of) / sizeof(range_of[0]) &&
	    range_of[m - t] >= 0)
		return v >= ranges[range_of[m - t]].lo && v <= ranges[range_of[m - t]].hi;
	return 1;
}
