/* Unit tests: query planning (cache or files), filters, ordering, aggregation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "col_cache.h"
#include "col_file.h"
#include "col_jsonl.h"
#include "col_query.h"
#include "gt_test.h"
#include "test_col_common.h"

typedef struct fx {
	char      *dir;
	col_store *s;
	col_cache *c;
} fx;

/* 300 records of "g" (ts 1000..1299, temperature = i), cache of 100 per GPU. */
static int
setup(void **state)
{
	fx           *f = calloc(1, sizeof(*f));
	col_store_cfg scfg = {.fsync = COL_FSYNC_NEVER, .index_every = 16};
	col_cache_cfg ccfg = {.max_entries = 100};
	gt_buf        b;
	int           i, rot;

	f->dir = gt_test_tmpdir("colq");
	scfg.dir = f->dir;
	if (col_store_open(&f->s, &scfg, NULL) != GT_OK || col_cache_new(&f->c, &ccfg) != GT_OK)
		return -1;
	gt_buf_init(&b);
	for (i = 0; i < 300; i++) {
		col_rec *r = tc_rec("g", 1000 + i, (double)i);

		gt_buf_reset(&b);
		col_jsonl_encode(&b, r, NULL);
		col_store_append(f->s, r, b.data, b.len);
		col_store_commit(f->s, &rot);
		col_cache_put(f->c, r, col_store_batch_floor(f->s, "g"));
		col_rec_rele(r);
	}
	gt_buf_fini(&b);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	col_cache_free(f->c);
	col_store_close(f->s);
	gt_test_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void
test_col_query_default_newest_first_from_cache(void **state)
{
	fx        *f = *state;
	col_query  q;
	col_result r;

	col_query_init(&q);
	q.gpu = "g";
	q.limit = 10;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_int_equal(r.n, 10);
	assert_true(r.from_cache);
	assert_true(r.truncated);
	assert_int_equal(r.recs[0]->ts_ns, 1299);
	assert_int_equal(r.recs[9]->ts_ns, 1290);
	col_result_fini(&r);
}

static void
test_col_query_reverse_oldest_first_reads_files(void **state)
{
	fx        *f = *state;
	col_query  q;
	col_result r;

	col_query_init(&q);
	q.gpu = "g";
	q.limit = 5;
	q.reverse = 1;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_int_equal(r.n, 5);
	assert_false(r.from_cache); /* the oldest records were pushed out of the ring */
	assert_int_equal(r.recs[0]->ts_ns, 1000);
	assert_int_equal(r.recs[4]->ts_ns, 1004);
	col_result_fini(&r);
}

static void
test_col_query_since_until_and_cache_boundary(void **state)
{
	fx        *f = *state;
	col_query  q;
	col_result r;

	col_query_init(&q);
	q.gpu = "g";
	q.since = 1250; /* inside the cache: hit */
	q.until = 1259;
	q.reverse = 1;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_true(r.from_cache);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.recs[0]->ts_ns, 1250);
	assert_false(r.truncated);
	col_result_fini(&r);

	q.since = 1150; /* older than the ring: files, complete */
	q.until = 1249;
	q.limit = 1000;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_false(r.from_cache);
	assert_int_equal(r.n, 100);
	assert_int_equal(r.recs[0]->ts_ns, 1150);
	assert_int_equal(r.recs[99]->ts_ns, 1249);
	col_result_fini(&r);

	/* newest first over more than the cache holds: files, newest first */
	col_query_init(&q);
	q.gpu = "g";
	q.limit = 150;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_false(r.from_cache);
	assert_int_equal(r.n, 150);
	assert_int_equal(r.recs[0]->ts_ns, 1299);
	assert_int_equal(r.recs[149]->ts_ns, 1150);
	col_result_fini(&r);
}

static void
test_col_query_unknown_gpu_and_empty_range(void **state)
{
	fx        *f = *state;
	col_query  q;
	col_result r;

	col_query_init(&q);
	q.gpu = "nope";
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_ENOENT);
	q.gpu = "g";
	q.since = 5000;
	q.until = 10;
	assert_int_equal(col_query_run(f->s, f->c, &q, &r), GT_OK);
	assert_int_equal(r.n, 0);
	col_result_fini(&r);
}

static void
test_col_query_aggregate_steps(void **state)
{
	fx            *f = *state;
	col_agg_point *p;
	size_t         n;

	/* 10 steps of 30 ns over all 300 records (files: older than the cache) */
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", 1000, 1299, 30, &p, &n), GT_OK);
	assert_int_equal(n, 10);
	assert_int_equal(p[0].t_ns, 1000);
	assert_int_equal(p[0].count, 30);
	assert_true(p[0].min == 0 && p[0].max == 29 && p[0].last == 29);
	assert_true(p[0].avg == 14.5);
	assert_true(p[9].max == 299);
	free(p);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "nonexistent", 1000, 1299, 30, &p, &n), GT_OK);
	assert_int_equal(n, 0);
	free(p);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", 0, INT64_MAX / 2, 1, &p, &n),
	    GT_EINVAL);
}

/* int64 extremes: answered or refused, never an overflow (a hostile Aggregate with
 * since=-2^63, until=2^63-1, step=2^61 corrupted the heap; step=2^63-1 overflowed). */
static void
test_col_query_aggregate_int64_extremes(void **state)
{
	fx            *f = *state;
	col_agg_point *p;
	size_t         n;

	/* 8 steps of 2^61 over the whole int64 range: every record in one step */
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", INT64_MIN, INT64_MAX,
	                     INT64_C(1) << 61, &p, &n),
	    GT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].count, 300);
	assert_int_equal(p[0].t_ns, 0); /* INT64_MIN + 4 * 2^61 */
	free(p);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", INT64_MIN, INT64_MAX,
	                     INT64_MAX, &p, &n),
	    GT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].count, 300);
	assert_int_equal(p[0].t_ns, -1); /* INT64_MIN + INT64_MAX */
	free(p);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", INT64_MIN, INT64_MAX, 1, &p, &n),
	    GT_EINVAL);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", INT64_MAX, INT64_MIN, 1, &p, &n),
	    GT_EINVAL);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", 0, 10, INT64_MIN, &p, &n),
	    GT_EINVAL);
	assert_int_equal(col_query_aggregate(f->s, f->c, "g", "temperature", INT64_MAX, INT64_MAX, 1, &p, &n),
	    GT_OK);
	assert_int_equal(n, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_col_query_default_newest_first_from_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_col_query_reverse_oldest_first_reads_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_col_query_since_until_and_cache_boundary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_col_query_unknown_gpu_and_empty_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_col_query_aggregate_steps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_col_query_aggregate_int64_extremes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
