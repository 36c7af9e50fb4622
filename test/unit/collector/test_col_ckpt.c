/* Unit tests: stored-offset intervals and the atomic checkpoint file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "col_ckpt.h"
#include "gt_test.h"

static void
test_col_ckpt_marks_and_seen(void **state)
{
	col_ckpt *c;
	uint64_t  i;

	(void)state;
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	for (i = 0; i < 100; i++)
		assert_int_equal(col_ckpt_mark(c, 9, 0, i), GT_OK);
	col_ckpt_mark(c, 9, 0, 200);
	col_ckpt_mark(c, 9, 0, 150);
	col_ckpt_mark(c, 9, 1, 5);
	assert_true(col_ckpt_seen(c, 9, 0, 0));
	assert_true(col_ckpt_seen(c, 9, 0, 99));
	assert_false(col_ckpt_seen(c, 9, 0, 100));
	assert_true(col_ckpt_seen(c, 9, 0, 150));
	assert_false(col_ckpt_seen(c, 9, 0, 151));
	assert_true(col_ckpt_seen(c, 9, 0, 200));
	assert_false(col_ckpt_seen(c, 9, 0, 201));
	assert_false(col_ckpt_seen(c, 8, 0, 5)); /* other epoch */
	assert_true(col_ckpt_seen(c, 9, 1, 5));
	assert_false(col_ckpt_seen(c, 9, 1, 4));
	assert_int_equal(col_ckpt_intervals(c), 4);
	/* filling the gaps merges intervals */
	for (i = 100; i < 200; i++)
		col_ckpt_mark(c, 9, 0, i);
	assert_int_equal(col_ckpt_intervals(c), 2);
	assert_true(col_ckpt_seen(c, 9, 0, 175));
	/* a new broker epoch forgets the old one */
	assert_true(col_ckpt_epoch(c, 10));
	assert_false(col_ckpt_seen(c, 9, 0, 0));
	assert_false(col_ckpt_epoch(c, 10));
	col_ckpt_free(c);
}

static void
test_col_ckpt_save_load_round_trip(void **state)
{
	char         *dir = gt_test_tmpdir("ckpt");
	char          path[512], tmp[520];
	col_ckpt     *c, *d;
	col_ckpt_file files[2] = {{"GPU-1", 123, 7}, {"host_0@0123456789abcdef", 0, 0}};
	col_ckpt_file *got;
	size_t        n;
	uint64_t      i;

	(void)state;
	snprintf(path, sizeof(path), "%s/ck.json", dir);
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	assert_int_equal(col_ckpt_new(&d), GT_OK);
	assert_int_equal(col_ckpt_load(d, path, &got, &n), GT_ENOENT);
	for (i = 0; i < 1000; i += 2)
		col_ckpt_mark(c, UINT64_C(0xfedcba9876543210), 3, i);
	col_ckpt_mark(c, UINT64_C(0xfedcba9876543210), 3, 5000);
	assert_int_equal(col_ckpt_save(c, path, files, 2), GT_OK);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_not_equal(access(tmp, F_OK), 0); /* renamed into place */
	assert_int_equal(col_ckpt_load(d, path, &got, &n), GT_OK);
	assert_int_equal(n, 2);
	assert_true((!strcmp(got[0].stem, "GPU-1") && got[0].size == 123 && got[0].rot == 7) ||
	    (!strcmp(got[1].stem, "GPU-1") && got[1].size == 123 && got[1].rot == 7));
	for (i = 0; i < 1000; i++)
		assert_int_equal(col_ckpt_seen(d, UINT64_C(0xfedcba9876543210), 3, i), i % 2 == 0);
	assert_true(col_ckpt_seen(d, UINT64_C(0xfedcba9876543210), 3, 5000));
	assert_int_equal(col_ckpt_intervals(d), col_ckpt_intervals(c));
	col_ckpt_files_free(got, n);
	/* a corrupt file is reported, not fatal */
	{
		FILE *f = fopen(path, "w");

		fputs("{\"parts\":[{", f);
		fclose(f);
	}
	assert_int_equal(col_ckpt_load(d, path, &got, &n), GT_ECORRUPT);
	assert_int_equal(col_ckpt_intervals(d), 0);
	col_ckpt_free(c);
	col_ckpt_free(d);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_col_ckpt_interval_cap_merges_oldest(void **state)
{
	col_ckpt *c;
	uint64_t  i;

	(void)state;
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	for (i = 0; i < COL_CKPT_MAX_IV + 10; i++)
		col_ckpt_mark(c, 1, 0, i * 2);
	assert_int_equal(col_ckpt_intervals(c), COL_CKPT_MAX_IV);
	assert_true(col_ckpt_seen(c, 1, 0, (COL_CKPT_MAX_IV + 9) * 2));
	assert_false(col_ckpt_seen(c, 1, 0, (COL_CKPT_MAX_IV + 9) * 2 - 1));
	col_ckpt_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_ckpt_marks_and_seen),
	    cmocka_unit_test(test_col_ckpt_save_load_round_trip),
	    cmocka_unit_test(test_col_ckpt_interval_cap_merges_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
