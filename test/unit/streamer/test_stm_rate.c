/* test_stm_rate.c - token bucket accuracy on an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stm_rate.h"

typedef struct fake_clock {
	int64_t now;
} fake_clock;

static int64_t
fake_now(void *arg)
{
	return ((fake_clock *)arg)->now;
}

/* Drive a bucket like a worker does: take what is granted, sleep what it says. */
static uint64_t
simulate(double rate, uint32_t want, int64_t span_ns)
{
	fake_clock fc = {1000};
	gt_clock   clk = {fake_now, &fc};
	stm_rate   r;
	uint64_t   total = 0;
	int64_t    end = fc.now + span_ns;

	stm_rate_init(&r, rate, 0, &clk);
	while (fc.now < end) {
		int64_t  wait = 0;
		uint32_t got = stm_rate_take(&r, want, &wait);
		total += got;
		if (got == 0) {
			assert_true(wait > 0);
			fc.now += wait;
		}
	}
	return total;
}

static void
test_stm_rate_long_run_rate_is_exact(void **state)
{
	static const double rates[] = {1, 7.5, 100, 250, 1000, 12345, 1e6};
	(void)state;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		for (uint32_t want = 1; want <= 1000; want *= 10) {
			double   secs = 10;
			uint64_t got = simulate(rates[i], want, (int64_t)(secs * GT_NS_PER_S));
			double   exp = rates[i] * secs;
			/* at most one token (the initial one) or one grant over */
			assert_true((double)got <= exp + 1 + rates[i] / 10.0);
			assert_true((double)got >= exp * 0.99 - 1);
		}
	}
}

static void
test_stm_rate_no_startup_burst_and_bounded_burst(void **state)
{
	fake_clock fc = {0};
	gt_clock   clk = {fake_now, &fc};
	stm_rate   r;
	int64_t    wait;
	(void)state;

	stm_rate_init(&r, 100, 0, &clk); /* burst = rate/10 = 10 */
	assert_int_equal(stm_rate_take(&r, 50, &wait), 0); /* one token: wait for a batch */
	assert_int_equal(wait, 90 * GT_NS_PER_MS);
	assert_int_equal(stm_rate_take(&r, 1, &wait), 1);
	fc.now += 5 * GT_NS_PER_S; /* idle: the bucket fills up to its burst only */
	assert_int_equal(stm_rate_take(&r, 50, &wait), 10);
	assert_int_equal(stm_rate_take(&r, 50, &wait), 0);
	assert_int_equal(wait, 100 * GT_NS_PER_MS);
	fc.now += 35 * GT_NS_PER_MS;
	assert_int_equal(stm_rate_take(&r, 50, &wait), 0);
	assert_int_equal(wait, 65 * GT_NS_PER_MS);
	assert_int_equal(stm_rate_take(&r, 2, &wait), 2);
	assert_int_equal(stm_rate_take(&r, 2, &wait), 0); /* 1.5 left: need 2 */
	assert_int_equal(wait, 5 * GT_NS_PER_MS);
}

static void
test_stm_rate_zero_is_unlimited(void **state)
{
	stm_rate r;
	(void)state;

	stm_rate_init(&r, 0, 0, gt_clock_system());
	for (int i = 0; i < 1000; i++)
		assert_int_equal(stm_rate_take(&r, 500, NULL), 500);
}

static void
test_stm_rate_small_rates_still_grant_one(void **state)
{
	fake_clock fc = {0};
	gt_clock   clk = {fake_now, &fc};
	stm_rate   r;
	int64_t    wait;
	(void)state;

	stm_rate_init(&r, 0.5, 0, &clk); /* one token every 2 s; burst 1 */
	assert_int_equal(stm_rate_take(&r, 10, &wait), 1);
	assert_int_equal(stm_rate_take(&r, 10, &wait), 0);
	assert_int_equal(wait, 2 * GT_NS_PER_S);
	fc.now += wait;
	assert_int_equal(stm_rate_take(&r, 10, &wait), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stm_rate_long_run_rate_is_exact),
		cmocka_unit_test(test_stm_rate_no_startup_burst_and_bounded_burst),
		cmocka_unit_test(test_stm_rate_zero_is_unlimited),
		cmocka_unit_test(test_stm_rate_small_rates_still_grant_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
