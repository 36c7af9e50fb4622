/* Integration: exactly-once storage. kill -9 the collector mid-stream and restart it (twice);
 * then restart a persistent broker mid-stream. Every published record is stored exactly once
 * (lines per GPU file = records published for it, timestamps all distinct). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_collector_util.h"

#define NGPU 8
#define TS0 INT64_C(1764000000000000000)

static size_t
total_lines(const char *dir)
{
	size_t   n = 0;
	unsigned g;
	char     key[64];

	for (g = 0; g < NGPU; g++) {
		tc_key(key, sizeof(key), g, 0);
		n += tc_count_lines(dir, key);
	}
	return n;
}

/* Wait until the files hold want lines, then a little longer (redeliveries must not add). */
static void
wait_lines(const char *dir, size_t want, int64_t timeout_ns)
{
	int64_t end = gt_mono_ns() + timeout_ns;

	while (total_lines(dir) < want && gt_mono_ns() < end)
		gt_sleep_ns(100 * GT_NS_PER_MS);
	assert_int_equal(total_lines(dir), want);
}

/* Every GPU: per_gpu lines, strictly increasing timestamps (so no record twice). */
static void
check_exactly_once(const tc_svc *col, const char *dir, size_t per_gpu)
{
	unsigned g;
	char     key[64], path[160];

	for (g = 0; g < NGPU; g++) {
		json_t *j, *recs;
		size_t  i;
		int64_t prev = INT64_MIN;

		tc_key(key, sizeof(key), g, 0);
		assert_int_equal(tc_count_lines(dir, key), per_gpu);
		snprintf(path, sizeof(path), "/telemetry/%s?limit=100000&reverse=true", key);
		assert_int_equal(tc_get(col, path, NULL, &j, NULL, NULL), 200);
		recs = json_object_get(j, "records");
		assert_int_equal(json_array_size(recs), per_gpu);
		for (i = 0; i < per_gpu; i++) {
			int64_t t;

			assert_int_equal(gt_rfc3339_parse(json_string_value(json_object_get(json_array_get(recs, i),
			                                      "timestamp")),
			                     &t),
			    GT_OK);
			assert_true(t > prev);
			prev = t;
		}
		json_decref(j);
	}
}

static void
test_collector_kill9_restart_stores_exactly_once(void **state)
{
	char         *dir = gt_test_tmpdir("colcrash");
	tc_svc        mq, col;
	const size_t  per_gpu = 3000, n = NGPU * per_gpu;
	const char   *cflags[] = {"--fetch-max", "100", "--fsync", "interval", "--fsync-interval", "50ms",
	     "--rotate-bytes", "65536", NULL};
	int           round;

	(void)state;
	tc_mq_start(&mq, (const char *const[]){"--ack-timeout", "1s", NULL});
	tc_publish(&mq, 0, n, NGPU, TS0, 0);
	for (round = 0; round < 2; round++) {
		int64_t end = gt_mono_ns() + 20 * GT_NS_PER_S;
		size_t  before = total_lines(dir);

		tc_col_start(&col, &mq, dir, "c1", cflags);
		/* let it store some more, then crash it mid-stream */
		while (total_lines(dir) < before + 2000 && gt_mono_ns() < end)
			gt_sleep_ns(5 * GT_NS_PER_MS);
		tc_kill(&col);
		assert_true(total_lines(dir) < n); /* really mid-stream */
	}
	tc_col_start(&col, &mq, dir, "c1", cflags);
	wait_lines(dir, n, 60 * GT_NS_PER_S);
	gt_sleep_ns(2500 * GT_NS_PER_MS); /* > ack timeout: late redeliveries are deduplicated */
	assert_int_equal(total_lines(dir), n);
	check_exactly_once(&col, dir, per_gpu);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_collector_broker_restart_with_persistence_stores_exactly_once(void **state)
{
	char        *dir = gt_test_tmpdir("colbrk");
	char        *wal = gt_test_tmpdir("colbrkwal");
	char         url[64];
	tc_svc       mq, col;
	const size_t per_gpu = 2000, n = NGPU * per_gpu;
	int64_t      end;
	const char  *mflags[] = {"--ack-timeout", "1s", "--persistence", "--persistence-path", wal, "--rpc-url",
	     url, NULL};

	(void)state;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", gt_test_free_port());
	if (tc_mq_try_start(&mq, mflags) != GT_OK) {
		/* this gt-mq build has no --persistence yet */
		gt_test_rmrf(dir);
		gt_test_rmrf(wal);
		free(dir);
		free(wal);
		skip();
	}
	tc_publish(&mq, 0, n, NGPU, TS0, 0);
	tc_col_start(&col, &mq, dir, "c1", (const char *const[]){"--fetch-max", "100", NULL});
	end = gt_mono_ns() + 20 * GT_NS_PER_S;
	while (total_lines(dir) < 3000 && gt_mono_ns() < end)
		gt_sleep_ns(5 * GT_NS_PER_MS);
	tc_kill(&mq); /* unacked deliveries come back after the restart, same epoch */
	tc_mq_start(&mq, mflags);
	wait_lines(dir, n, 60 * GT_NS_PER_S);
	gt_sleep_ns(2500 * GT_NS_PER_MS);
	assert_int_equal(total_lines(dir), n);
	check_exactly_once(&col, dir, per_gpu);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	gt_test_rmrf(wal);
	free(dir);
	free(wal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_collector_kill9_restart_stores_exactly_once, tc_cleanup),
	    cmocka_unit_test_teardown(test_collector_broker_restart_with_persistence_stores_exactly_once, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
