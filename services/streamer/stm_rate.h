/* stm_rate.h - a token bucket on an injected clock (one per worker; not thread-safe).
 *
 * rate tokens per second refill a bucket of at most burst tokens; the bucket starts with one
 * token, so over any interval T at most 1 + rate*T tokens are granted (no start-up burst). */
#ifndef STM_RATE_H
#define STM_RATE_H

#include <stdint.h>

#include "gt/gt_time.h"

typedef struct stm_rate {
	double          rate;   /* tokens per second; 0 = unlimited */
	double          burst;  /* bucket capacity (>= 1) */
	double          tokens;
	int64_t         last;   /* clock time of the last refill */
	const gt_clock *clock;  /* borrowed */
} stm_rate;

/* burst <= 0 picks max(1, min(rate/10, max_burst)): a grant every ~100 ms at most. */
void stm_rate_init(stm_rate *r, double rate, double burst, const gt_clock *clock);

/* Take up to want tokens; returns how many were granted (0..want). Grants only once
 * min(want, burst) tokens are available, so callers publish full batches; when 0, *wait_ns
 * (may be NULL) is the time until then. Unlimited buckets grant want at once. */
uint32_t stm_rate_take(stm_rate *r, uint32_t want, int64_t *wait_ns);

#endif
