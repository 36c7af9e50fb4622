/* gt_time.c - clocks, durations, RFC 3339. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt/gt_time.h"

int64_t
gt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * GT_NS_PER_S + ts.tv_nsec;
}

int64_t
gt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * GT_NS_PER_S + ts.tv_nsec;
}

static int64_t
clock_system_now(void *arg)
{
	(void)arg;
	return gt_mono_ns();
}

const gt_clock *
gt_clock_system(void)
{
	static const gt_clock sys = {clock_system_now, NULL};
	return &sys;
}

void
gt_sleep_ns(int64_t ns)
{
	struct timespec ts = {(time_t)(ns / GT_NS_PER_S), (long)(ns % GT_NS_PER_S)};

	if (ns <= 0)
		return;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static const struct {
	const char *unit;
	int64_t     ns;
} dur_units[] = {
    {"ns", 1},
    {"us", GT_NS_PER_US},
    {"µs", GT_NS_PER_US},
    {"ms", GT_NS_PER_MS},
    {"s", GT_NS_PER_S},
    {"m", 60 * GT_NS_PER_S},
    {"h", 3600 * GT_NS_PER_S},
    {"d", 86400 * GT_NS_PER_S},
};

gt_err
gt_duration_parse(const char *s, int64_t *out)
{
	double total = 0;
	int    parts = 0;

	if (s == NULL || *s == '\0')
		return GT_EINVAL;
	while (*s != '\0') {
		char  *end;
		double v;
		size_t best = 0, ul;
		int64_t mult = 0;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return GT_EINVAL;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno != 0 || v < 0)
			return GT_EINVAL;
		s = end;
		if (*s == '\0') {
			if (parts > 0)
				return GT_EINVAL; /* "1m30" is ambiguous */
			mult = GT_NS_PER_S;
		} else {
			for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
				ul = strlen(dur_units[i].unit);
				if (strncmp(s, dur_units[i].unit, ul) == 0 && ul > best &&
				    !isalpha((unsigned char)s[ul])) {
					best = ul;
					mult = dur_units[i].ns;
				}
			}
			if (best == 0)
				return GT_EINVAL;
			s += best;
		}
		total += v * (double)mult;
		parts++;
	}
	if (total > 9.2e18)
		return GT_EINVAL;
	*out = (int64_t)(total + 0.5);
	return GT_OK;
}

void
gt_duration_format(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *u;
		int64_t     n;
	} units[] = {{"h", 3600 * GT_NS_PER_S}, {"m", 60 * GT_NS_PER_S}, {"s", GT_NS_PER_S},
	    {"ms", GT_NS_PER_MS}, {"us", GT_NS_PER_US}, {"ns", 1}};
	size_t off = 0;

	if (ns == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && ns > 0 && off < len; i++) {
		int64_t q = ns / units[i].n;
		if (q == 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%" PRId64 "%s", q, units[i].u);
		ns -= q * units[i].n;
	}
}

/* Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t  era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

size_t
gt_rfc3339_format(int64_t ns, int digits, char *buf, size_t len)
{
	int64_t   secs = ns / GT_NS_PER_S;
	int64_t   frac = ns % GT_NS_PER_S;
	struct tm tm;
	time_t    t;
	int       n;

	if (frac < 0) {
		frac += GT_NS_PER_S;
		secs--;
	}
	t = (time_t)secs;
	gmtime_r(&t, &tm);
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= len)
		return 0;
	switch (digits) {
	case 3:
		n += snprintf(buf + n, len - (size_t)n, ".%03" PRId64 "Z", frac / GT_NS_PER_MS);
		break;
	case 6:
		n += snprintf(buf + n, len - (size_t)n, ".%06" PRId64 "Z", frac / GT_NS_PER_US);
		break;
	case 9:
		n += snprintf(buf + n, len - (size_t)n, ".%09" PRId64 "Z", frac);
		break;
	default:
		n += snprintf(buf + n, len - (size_t)n, "Z");
		break;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}

static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

gt_err
gt_rfc3339_parse(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = s;
	int         y, mo, d, h, mi, se, oh = 0, om = 0;
	int64_t     frac = 0, scale = GT_NS_PER_S, secs;
	char        sep;

	if (parse_digits(&p, 4, &y) || (*p != '-' && *p != '/'))
		return GT_EINVAL;
	sep = *p++;
	if (parse_digits(&p, 2, &mo) || *p++ != sep || parse_digits(&p, 2, &d))
		return GT_EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return GT_EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi) || *p++ != ':' ||
	    parse_digits(&p, 2, &se))
		return GT_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return GT_EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return GT_EINVAL; /* 29 February of a common year */
	if (*p == '.' || *p == ',') {
		p++;
		if (!isdigit((unsigned char)*p))
			return GT_EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (parse_digits(&p, 2, &oh))
			return GT_EINVAL;
		if (*p == ':')
			p++;
		if (parse_digits(&p, 2, &om) || oh > 23 || om > 59)
			return GT_EINVAL;
		oh *= sign;
		om *= sign;
	} else if (*p != '\0') {
		return GT_EINVAL;
	}
	if (*p != '\0')
		return GT_EINVAL;
	secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	secs -= oh * 3600 + om * 60;
	/* up to INT64_MAX ns exactly (2262-04-11T23:47:16.854775807Z) */
	if (secs > (INT64_MAX - frac) / GT_NS_PER_S || secs < INT64_MIN / GT_NS_PER_S)
		return GT_EINVAL;
	*out = secs * GT_NS_PER_S + frac;
	return GT_OK;
}

gt_err
gt_time_parse(const char *s, int64_t *out)
{
	const char *p = s;
	char       *end;
	long long   v;

	if (s == NULL || *s == '\0')
		return GT_EINVAL;
	if (*p == '-')
		p++;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '\0') {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0')
			return GT_EINVAL;
		*out = v;
		return GT_OK;
	}
	return gt_rfc3339_parse(s, out);
}
