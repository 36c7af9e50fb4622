/* gt_time.h - clocks, durations and RFC 3339 timestamps. All times are int64 nanoseconds. */
#ifndef GT_TIME_H
#define GT_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "gt/gt_err.h"

#define GT_NS_PER_US INT64_C(1000)
#define GT_NS_PER_MS INT64_C(1000000)
#define GT_NS_PER_S INT64_C(1000000000)

int64_t gt_now_ns(void);  /* CLOCK_REALTIME, ns since the epoch */
int64_t gt_mono_ns(void); /* CLOCK_MONOTONIC */

/* An injectable clock: modules that schedule take one, tests pass a fake. */
typedef struct gt_clock {
	int64_t (*now)(void *arg); /* monotonic ns */
	void *arg;
} gt_clock;

/* gt_clock_system returns a clock backed by gt_mono_ns. */
const gt_clock *gt_clock_system(void);

static inline int64_t
gt_clock_now(const gt_clock *c)
{
	return c->now(c->arg);
}

/* gt_duration_parse accepts "250ms", "5s", "1m", "1h", "1h30m", "100us", "10ns", "1.5s"
 * and a bare number meaning seconds. Negative or overflowing values are GT_EINVAL. */
gt_err gt_duration_parse(const char *s, int64_t *ns);

/* gt_duration_format writes a compact form ("250ms", "5s", "1h30m") into buf. */
void gt_duration_format(int64_t ns, char *buf, size_t len);

/* gt_rfc3339_format writes "2026-11-26T22:49:11.123456789Z" (digits = 0, 3, 6 or 9 fraction
 * digits). Returns the length written (always < len when len >= 36). */
size_t gt_rfc3339_format(int64_t ns, int digits, char *buf, size_t len);

/* gt_rfc3339_parse accepts "2026-11-26T22:49:11Z", fractions up to ns, 'Z' or +hh:mm offsets,
 * a space instead of 'T', and "2026/11/26 22:49:11.123" (nvidia-smi). */
gt_err gt_rfc3339_parse(const char *s, int64_t *ns);

/* gt_time_parse accepts RFC 3339 or a unix time in ns (all digits). Used for ?since= etc. */
gt_err gt_time_parse(const char *s, int64_t *ns);

/* gt_sleep_ns sleeps (for tools and tests; services use timers). */
void gt_sleep_ns(int64_t ns);

#endif
