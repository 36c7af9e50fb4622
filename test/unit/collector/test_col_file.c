/* Unit tests: JSONL segments, rotation, retention, time index, tail recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "col_file.h"
#include "col_jsonl.h"
#include "gt_test.h"
#include "test_col_common.h"

static void
append_n(col_store *s, const char *key, int64_t ts0, size_t n, uint64_t off0)
{
	gt_buf b;
	size_t i;
	int    rot;

	gt_buf_init(&b);
	for (i = 0; i < n; i++) {
		col_rec     *r = tc_rec(key, ts0 + (int64_t)i, (double)i);
		col_delivery id = {42, 0, off0 + i, 1};

		gt_buf_reset(&b);
		assert_int_equal(col_jsonl_encode(&b, r, &id), GT_OK);
		assert_int_equal(col_store_append(s, r, b.data, b.len), GT_OK);
		col_rec_rele(r);
		if (i % 50 == 49)
			assert_int_equal(col_store_commit(s, &rot), GT_OK);
	}
	assert_int_equal(col_store_commit(s, &rot), GT_OK);
	gt_buf_fini(&b);
}

static col_store_cfg
cfg_for(const char *dir)
{
	col_store_cfg c = {.dir = dir, .fsync = COL_FSYNC_NEVER, .index_every = 16};

	return c;
}

static void
read_all(col_store *s, const char *key, col_rec ***v, size_t *n)
{
	int tr;

	assert_int_equal(col_store_read(s, key, INT64_MIN, INT64_MAX, 0, 1, v, n, &tr), GT_OK);
	assert_false(tr);
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
test_col_file_append_read_and_list(void **state)
{
	char           *dir = gt_test_tmpdir("colfile");
	col_store_cfg   cfg = cfg_for(dir);
	col_store      *s;
	col_rec       **v;
	size_t          n, i;
	col_gpu_info   *gi;
	col_store_stats st;
	char            path[512];

	(void)state;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	append_n(s, "GPU-a", 1000, 120, 0);
	append_n(s, "../../etc/passwd", 5000, 3, 500);
	read_all(s, "GPU-a", &v, &n);
	assert_int_equal(n, 120);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i]->ts_ns, 1000 + (int64_t)i);
	rele_all(v, n);
	assert_int_equal(col_store_list(s, &gi, &n), GT_OK);
	assert_int_equal(n, 2);
	assert_string_equal(gi[0].gpu_key, "../../etc/passwd"); /* sorted */
	assert_string_equal(gi[1].gpu_key, "GPU-a");
	assert_int_equal(gi[1].records, 120);
	assert_int_equal(gi[1].last_seen_ns, 1119);
	assert_string_equal(gi[1].hostname, "host-1");
	col_store_list_free(gi, n);
	snprintf(path, sizeof(path), "%s/GPU-a.jsonl", dir);
	assert_int_equal(access(path, F_OK), 0);
	col_store_stats_get(s, &st);
	assert_int_equal(st.lines, 123);
	assert_int_equal(st.gpus, 2);
	assert_int_equal(col_store_has(s, "nope"), 0);
	assert_int_equal(col_store_read(s, "nope", 0, 1, 0, 1, &v, &n, (int[]){0}), GT_ENOENT);
	col_store_close(s);
	/* nothing escaped the data dir */
	assert_int_not_equal(access("/etc/passwd.jsonl", F_OK), 0);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_col_file_limit_and_range_use_index(void **state)
{
	char           *dir = gt_test_tmpdir("colfile");
	col_store_cfg   cfg = cfg_for(dir);
	col_store      *s;
	col_rec       **v;
	size_t          n;
	int             tr;
	col_store_stats st0, st1;

	(void)state;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	append_n(s, "g", 0, 1600, 0); /* 100 blocks of 16 */
	col_store_stats_get(s, &st0);
	assert_int_equal(col_store_read(s, "g", INT64_MIN, INT64_MAX, 10, 0, &v, &n, &tr), GT_OK);
	assert_int_equal(n, 10);
	assert_true(tr);
	assert_int_equal(v[0]->ts_ns, 1590); /* oldest first inside the answer */
	assert_int_equal(v[9]->ts_ns, 1599);
	rele_all(v, n);
	col_store_stats_get(s, &st1);
	assert_true(st1.blocks_read - st0.blocks_read <= 3);
	assert_int_equal(col_store_read(s, "g", INT64_MIN, INT64_MAX, 5, 1, &v, &n, &tr), GT_OK);
	assert_int_equal(n, 5);
	assert_int_equal(v[0]->ts_ns, 0);
	rele_all(v, n);
	assert_int_equal(col_store_read(s, "g", 800, 809, 0, 1, &v, &n, &tr), GT_OK);
	assert_int_equal(n, 10);
	assert_false(tr);
	assert_int_equal(v[0]->ts_ns, 800);
	rele_all(v, n);
	col_store_stats_get(s, &st0);
	assert_true(st0.blocks_read - st1.blocks_read <= 6);
	col_store_close(s);
	gt_test_rmrf(dir);
	free(dir);
}

typedef struct rec_ctx {
	size_t  recs, ids;
	int64_t first_ts, floor;
	uint64_t min_off;
} rec_ctx;

static void
on_rec(col_rec *r, int64_t floor, void *arg)
{
	rec_ctx *c = arg;

	if (c->recs++ == 0)
		c->first_ts = r->ts_ns;
	c->floor = floor;
}

static void
on_id(const col_delivery *id, void *arg)
{
	rec_ctx *c = arg;

	if (c->ids++ == 0 || id->offset < c->min_off)
		c->min_off = id->offset;
}

static void
test_col_file_rotation_reopen_and_tail(void **state)
{
	char             *dir = gt_test_tmpdir("colfile");
	col_store_cfg     cfg = cfg_for(dir);
	col_store        *s;
	col_rec         **v;
	size_t            n, i;
	col_store_stats   st;
	col_store_recover rc = {0};
	rec_ctx           ctx = {0};
	col_ckpt_file    *files;
	size_t            nf;

	(void)state;
	cfg.rotate_bytes = 20000;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	append_n(s, "g", 0, 1000, 0);
	col_store_stats_get(s, &st);
	assert_true(st.rotations >= 3);
	assert_int_equal(col_store_files(s, &files, &nf), GT_OK);
	assert_int_equal(nf, 1);
	/* after the "checkpoint": enough to rotate several times */
	append_n(s, "g", 1000, 200, 1000);
	col_store_close(s);

	rc.files = files;
	rc.nfiles = nf;
	rc.scan_ids = 1;
	rc.tail_lines = 100;
	rc.id = on_id;
	rc.rec = on_rec;
	rc.arg = &ctx;
	assert_int_equal(col_store_open(&s, &cfg, &rc), GT_OK);
	col_ckpt_files_free(files, nf);
	/* exactly the lines past the checkpointed size, across the rotations since */
	assert_int_equal(ctx.ids, 200);
	assert_int_equal(ctx.min_off, 1000);
	assert_true(ctx.recs >= 100);
	assert_int_equal(ctx.floor, 1200 - (int64_t)ctx.recs - 1);
	read_all(s, "g", &v, &n);
	assert_int_equal(n, 1200);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i]->ts_ns, (int64_t)i);
	rele_all(v, n);
	col_store_stats_get(s, &st);
	assert_int_equal(st.lines, 1200);
	col_store_close(s);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_col_file_truncated_tail_repaired(void **state)
{
	char            *dir = gt_test_tmpdir("colfile");
	col_store_cfg    cfg = cfg_for(dir);
	col_store       *s;
	col_rec        **v;
	size_t           n;
	col_store_stats  st;
	char             path[512];
	int              fd;
	struct stat      sb;
	const char       torn[] = "{\"gpu_id\":\"3\",\"hostname\":\"ho";

	(void)state;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	append_n(s, "g", 0, 20, 0);
	col_store_close(s);
	snprintf(path, sizeof(path), "%s/g.jsonl", dir);
	stat(path, &sb);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(write(fd, torn, sizeof(torn) - 1) > 0);
	close(fd);
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	col_store_stats_get(s, &st);
	assert_int_equal(st.repaired_files, 1);
	assert_int_equal(st.lines, 20);
	read_all(s, "g", &v, &n);
	assert_int_equal(n, 20);
	rele_all(v, n);
	append_n(s, "g", 20, 1, 20); /* appends cleanly after the repair */
	read_all(s, "g", &v, &n);
	assert_int_equal(n, 21);
	rele_all(v, n);
	col_store_close(s);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_col_file_retention_deletes_oldest_rotated(void **state)
{
	char           *dir = gt_test_tmpdir("colfile");
	col_store_cfg   cfg = cfg_for(dir);
	col_store      *s;
	col_store_stats st;
	col_rec       **v;
	size_t          n;

	(void)state;
	cfg.rotate_bytes = 10000;
	cfg.retention_bytes = 30000;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	append_n(s, "g", 0, 500, 0);
	assert_true(col_store_retention(s, 0) > 0);
	col_store_stats_get(s, &st);
	assert_true(st.bytes <= 30000 + 10000);
	read_all(s, "g", &v, &n);
	assert_int_equal(n, st.lines);
	assert_int_equal(v[n - 1]->ts_ns, 499); /* the newest stay */
	rele_all(v, n);
	col_store_close(s);
	/* age-based: everything rotated is older than 1 ns before "now" = 10^12 */
	cfg.retention_bytes = 0;
	cfg.retention_ns = 1;
	assert_int_equal(col_store_open(&s, &cfg, NULL), GT_OK);
	col_store_retention(s, 1000000000000);
	col_store_stats_get(s, &st);
	assert_int_equal(st.segments, 1);
	col_store_close(s);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_file_append_read_and_list),
	    cmocka_unit_test(test_col_file_limit_and_range_use_index),
	    cmocka_unit_test(test_col_file_rotation_reopen_and_tail),
	    cmocka_unit_test(test_col_file_truncated_tail_repaired),
	    cmocka_unit_test(test_col_file_retention_deletes_oldest_rotated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
