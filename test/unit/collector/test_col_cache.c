/* Unit tests: per-GPU ring and LRU eviction under a byte budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "col_cache.h"
#include "test_col_common.h"

static void
get_all(col_cache *c, const char *key, col_rec ***v, size_t *n, int64_t *floor)
{
	assert_int_equal(col_cache_get(c, key, INT64_MIN, INT64_MAX, v, n, floor), GT_OK);
}

static void
rele_all(col_rec **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		col_rec_rele(v[i]);
	free(v);
}

static void
test_col_cache_ring_keeps_newest_and_raises_floor(void **state)
{
	col_cache_cfg cfg = {.max_entries = 3, .max_bytes = 0};
	col_cache    *c;
	col_rec     **v;
	size_t        n, i;
	int64_t       floor;

	(void)state;
	assert_int_equal(col_cache_new(&c, &cfg), GT_OK);
	for (i = 1; i <= 5; i++) {
		col_rec *r = tc_rec("g", (int64_t)i * 10, (double)i);

		assert_int_equal(col_cache_put(c, r, INT64_MIN), GT_OK);
		col_rec_rele(r); /* the cache keeps its own reference */
	}
	get_all(c, "g", &v, &n, &floor);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->ts_ns, 30);
	assert_int_equal(v[2]->ts_ns, 50);
	assert_int_equal(floor, 20); /* 10 and 20 were pushed out */
	rele_all(v, n);
	/* time filter */
	assert_int_equal(col_cache_get(c, "g", 35, 45, &v, &n, &floor), GT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->ts_ns, 40);
	rele_all(v, n);
	assert_int_equal(col_cache_get(c, "nope", INT64_MIN, INT64_MAX, &v, &n, &floor), GT_ENOENT);
	col_cache_free(c);
}

static void
test_col_cache_lru_evicts_least_recent_gpu(void **state)
{
	col_cache_cfg   cfg = {.max_entries = 10, .max_bytes = 0};
	col_cache      *c;
	col_cache_stats st;
	col_rec        *r, **v;
	size_t          one, n;
	int64_t         floor;

	(void)state;
	/* measure one GPU with one record, then allow a bit more than two */
	assert_int_equal(col_cache_new(&c, &cfg), GT_OK);
	r = tc_rec("a", 1, 1);
	col_cache_put(c, r, INT64_MIN);
	col_cache_stats_get(c, &st);
	one = st.bytes;
	col_rec_rele(r);
	col_cache_free(c);

	cfg.max_bytes = one * 2 + one / 2;
	assert_int_equal(col_cache_new(&c, &cfg), GT_OK);
	r = tc_rec("a", 1, 1);
	col_cache_put(c, r, INT64_MIN);
	col_rec_rele(r);
	r = tc_rec("b", 1, 1);
	col_cache_put(c, r, INT64_MIN);
	col_rec_rele(r);
	/* touch a: b becomes least recently used */
	get_all(c, "a", &v, &n, &floor);
	rele_all(v, n);
	r = tc_rec("c", 1, 1);
	col_cache_put(c, r, INT64_MIN);
	col_rec_rele(r);
	assert_int_equal(col_cache_get(c, "b", INT64_MIN, INT64_MAX, &v, &n, &floor), GT_ENOENT);
	get_all(c, "a", &v, &n, &floor);
	assert_int_equal(n, 1);
	rele_all(v, n);
	get_all(c, "c", &v, &n, &floor);
	rele_all(v, n);
	col_cache_stats_get(c, &st);
	assert_int_equal(st.gpus, 2);
	assert_int_equal(st.evicted_gpus, 1);
	assert_true(st.bytes <= cfg.max_bytes);
	col_cache_free(c);
}

static void
test_col_cache_record_outlives_eviction_while_held(void **state)
{
	col_cache_cfg cfg = {.max_entries = 1, .max_bytes = 0};
	col_cache    *c;
	col_rec     **v, *r;
	size_t        n;
	int64_t       floor;

	(void)state;
	assert_int_equal(col_cache_new(&c, &cfg), GT_OK);
	r = tc_rec("g", 1, 1);
	col_cache_put(c, r, 7);
	col_rec_rele(r);
	get_all(c, "g", &v, &n, &floor);
	assert_int_equal(floor, 7);
	r = tc_rec("g", 2, 2);
	col_cache_put(c, r, INT64_MIN); /* pushes ts=1 out */
	col_rec_rele(r);
	assert_int_equal(v[0]->ts_ns, 1); /* still valid: we hold it */
	rele_all(v, n);
	col_cache_count(c, 1);
	col_cache_count(c, 0);
	{
		col_cache_stats st;

		col_cache_stats_get(c, &st);
		assert_int_equal(st.hits, 1);
		assert_int_equal(st.misses, 1);
		assert_int_equal(st.entries, 1);
	}
	col_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_cache_ring_keeps_newest_and_raises_floor),
	    cmocka_unit_test(test_col_cache_lru_evicts_least_recent_gpu),
	    cmocka_unit_test(test_col_cache_record_outlives_eviction_while_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
