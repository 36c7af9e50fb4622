/* stm_rate.c - token bucket (see stm_rate.h). */
#include <math.h>

#include "stm_rate.h"

void
stm_rate_init(stm_rate *r, double rate, double burst, const gt_clock *clock)
{
	r->rate = rate > 0 ? rate : 0;
	if (burst <= 0)
		burst = r->rate / 10.0;
	r->burst = burst < 1.0 ? 1.0 : burst;
	r->tokens = 1.0;
	r->clock = clock;
	r->last = gt_clock_now(clock);
}

uint32_t
stm_rate_take(stm_rate *r, uint32_t want, int64_t *wait_ns)
{
	int64_t  now;
	double   got, need;

	if (r->rate <= 0)
		return want;
	now = gt_clock_now(r->clock);
	if (now > r->last) {
		r->tokens += (double)(now - r->last) * r->rate / (double)GT_NS_PER_S;
		if (r->tokens > r->burst)
			r->tokens = r->burst;
		r->last = now;
	}
	/* Wait for a whole batch (up to the burst) rather than trickling one token at a time:
	 * fewer, fuller Publish calls at the same average rate. */
	need = floor(r->burst);
	if (need > (double)want)
		need = (double)want;
	if (need < 1.0)
		need = 1.0;
	if (r->tokens < need) {
		if (wait_ns != NULL) {
			double w = (need - r->tokens) * (double)GT_NS_PER_S / r->rate;
			*wait_ns = (int64_t)ceil(w);
			if (*wait_ns < 1)
				*wait_ns = 1;
		}
		return 0;
	}
	got = floor(r->tokens);
	if (got > (double)want)
		got = (double)want;
	r->tokens -= got;
	return (uint32_t)got;
}
