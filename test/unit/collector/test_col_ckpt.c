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

/* Redeliveries of never-stored offsets can arrive in any order (the broker's redelivery heap
 * does not keep offset order) after newer offsets were stored: tens of thousands of isolated
 * marks in one partition. An offset is seen only if it was marked - no gap is ever treated
 * as stored. (The old list was capped at 4096 intervals and merged the two oldest, so the
 * gap between them was acked without being stored: issue "loses records after repeated
 * crashes".) */
static void
test_col_ckpt_scrambled_marks_never_cover_a_gap(void **state)
{
	col_ckpt *c;
	uint64_t *order, i;
	const uint64_t base = 1000, span = 40000;
	uint64_t  seed = 0x9e3779b97f4a7c15u;

	(void)state;
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	for (i = 0; i < base; i++)
		assert_int_equal(col_ckpt_mark(c, 1, 0, i), GT_OK);
	assert_int_equal(col_ckpt_mark(c, 1, 0, base + span + 10), GT_OK); /* newer, stored */
	/* every other offset of [base, base + span), shuffled */
	order = malloc((span / 2) * sizeof(*order));
	assert_non_null(order);
	for (i = 0; i < span / 2; i++)
		order[i] = base + 2 * i;
	for (i = span / 2 - 1; i > 0; i--) {
		uint64_t j, t;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		j = seed % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	for (i = 0; i < span / 2; i++) {
		assert_int_equal(col_ckpt_mark(c, 1, 0, order[i]), GT_OK);
		if (i % 997 == 0) /* no unmarked offset is ever reported stored */
			assert_false(col_ckpt_seen(c, 1, 0, order[i] + 1));
	}
	for (i = 0; i < base + span + 20; i++) {
		int want = i < base || (i < base + span && (i - base) % 2 == 0) || i == base + span + 10;

		if (col_ckpt_seen(c, 1, 0, i) != want)
			fail_msg("offset %llu: seen %d, marked %d", (unsigned long long)i, !want, want);
	}
	assert_int_equal(col_ckpt_intervals(c), 1 + span / 2);
	/* filling the odd ones joins everything below the newer offset into one interval */
	for (i = base + 1; i < base + span; i += 2)
		col_ckpt_mark(c, 1, 0, i);
	assert_int_equal(col_ckpt_intervals(c), 2);
	free(order);
	col_ckpt_free(c);
}

/* Recovery reads ids file by file: one partition's offsets interleaved across its GPUs. */
static void
test_col_ckpt_mark_many_any_order(void **state)
{
	col_ckpt    *c;
	col_ckpt_id *ids;
	const size_t gpus = 9, per = 3000, n = gpus * per;
	size_t       g, k, i;

	(void)state;
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	ids = calloc(n, sizeof(*ids));
	assert_non_null(ids);
	for (g = 0, k = 0; g < gpus; g++)
		for (i = 0; i < per; i++, k++) {
			ids[k].epoch = 5;
			ids[k].partition = (uint32_t)(g % 2);
			ids[k].offset = 100 + i * gpus + g; /* GPU g's offsets, file order */
		}
	assert_int_equal(col_ckpt_mark_many(c, ids, n), GT_OK);
	assert_false(col_ckpt_seen(c, 5, 0, 99));
	for (i = 0; i < per * gpus; i++) {
		size_t gg = i % gpus;

		assert_int_equal(col_ckpt_seen(c, 5, (uint32_t)(gg % 2), 100 + i), 1);
		assert_int_equal(col_ckpt_seen(c, 5, (uint32_t)(1 - gg % 2), 100 + i), 0);
	}
	free(ids);
	col_ckpt_free(c);
}

/* A batch of the previous broker epoch written after the first batch of the new one keeps
 * both epochs' marks; an epoch two changes back is forgotten. */
static void
test_col_ckpt_keeps_previous_epoch(void **state)
{
	col_ckpt *c;

	(void)state;
	assert_int_equal(col_ckpt_new(&c), GT_OK);
	assert_true(col_ckpt_epoch(c, 1));
	col_ckpt_mark(c, 1, 0, 10);
	assert_true(col_ckpt_epoch(c, 2));
	col_ckpt_mark(c, 2, 0, 3);
	assert_true(col_ckpt_epoch(c, 1)); /* a late batch of epoch 1 */
	assert_true(col_ckpt_seen(c, 1, 0, 10));
	assert_true(col_ckpt_seen(c, 2, 0, 3));
	assert_true(col_ckpt_epoch(c, 2));
	assert_false(col_ckpt_epoch(c, 2));
	assert_true(col_ckpt_seen(c, 1, 0, 10));
	assert_true(col_ckpt_epoch(c, 3));
	assert_false(col_ckpt_seen(c, 1, 0, 10));
	assert_true(col_ckpt_seen(c, 2, 0, 3));
	col_ckpt_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_ckpt_marks_and_seen),
	    cmocka_unit_test(test_col_ckpt_save_load_round_trip),
	    cmocka_unit_test(test_col_ckpt_scrambled_marks_never_cover_a_gap),
	    cmocka_unit_test(test_col_ckpt_mark_many_any_order),
	    cmocka_unit_test(test_col_ckpt_keeps_previous_epoch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
