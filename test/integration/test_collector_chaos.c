/* Integration: the collector killed again and again at random moments - during its start-up
 * recovery, mid-stream, while redeliveries of what its predecessors never stored are
 * arriving - stores every published record exactly once, checked against the source.
 *
 * Record i has temperature = i; the test reads every line of every file back and wants
 * each i in [0, n) exactly once. The broker's group must end with nothing pending and
 * nothing dead-lettered. Sizes come from the environment so the same binary is the
 * on-demand long version (tools/bench/soak/collector-chaos):
 *   GT_CHAOS_RECORDS (default 200000)  GT_CHAOS_KILLS (default 6)  GT_CHAOS_SEED (default: time)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_collector_util.h"

#define NGPU 64
#define TS0 INT64_C(1764000000000000000)

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* uniform in [lo, hi] */
static int64_t
rng_between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static size_t
env_size(const char *name, size_t def)
{
	const char *v = getenv(name);

	return v && *v ? (size_t)strtoull(v, NULL, 10) : def;
}

static size_t
lines_total(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	size_t         lines = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char   path[1024], *data;
		size_t len, i;

		if (strstr(de->d_name, ".jsonl") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((data = gt_test_read_file(path, &len)) == NULL)
			continue;
		for (i = 0; i < len; i++)
			lines += data[i] == '\n';
		free(data);
	}
	closedir(d);
	return lines;
}

/* Every line of every file: count[temperature]++ (lines that do not parse are reported). */
static void
read_back(const char *dir, uint32_t *count, size_t n, size_t *bad)
{
	DIR           *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	*bad = 0;
	while ((de = readdir(d)) != NULL) {
		char   path[1024], *data, *line, *nl;
		size_t len;

		if (strstr(de->d_name, ".jsonl") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_non_null(data = gt_test_read_file(path, &len));
		for (line = data; (nl = memchr(line, '\n', len - (size_t)(line - data))) != NULL;
		     line = nl + 1) {
			json_error_t e;
			json_t      *j = json_loadb(line, (size_t)(nl - line), 0, &e);
			json_t      *t = json_object_get(json_object_get(j, "metrics"), "temperature");
			double       v = json_number_value(t);

			if (j == NULL || !json_is_number(t) || v < 0 || v >= (double)n)
				(*bad)++;
			else
				count[(size_t)v]++;
			json_decref(j);
		}
		free(data);
	}
	closedir(d);
}

static void
test_collector_random_kills_store_every_record_once(void **state)
{
	const size_t n = env_size("GT_CHAOS_RECORDS", 200000);
	const size_t kills = env_size("GT_CHAOS_KILLS", 6);
	const size_t chunk = 1000;
	uint64_t     seed = env_size("GT_CHAOS_SEED", 0);
	char        *dir = gt_test_tmpdir("colchaos");
	tc_svc       mq, col;
	/* short ack timeout: redeliveries of what a dead collector held arrive while the next
	 * one runs; many retries: nothing may reach the DLQ however often it is killed */
	const char *mflags[] = {"--ack-timeout", "3s", "--max-retries", "1000", "--backoff-cap", "6s",
	    "--partitions", "2", NULL};
	const char *cflags[] = {NULL};
	size_t      published = 0, k, i, bad, missing = 0, twice = 0;
	uint32_t   *count;
	int64_t     end;

	(void)state;
	if (seed == 0)
		seed = (uint64_t)gt_now_ns();
	rng_state = seed | 1;
	printf("chaos: %zu records, %zu kills, GT_CHAOS_SEED=%llu\n", n, kills,
	    (unsigned long long)seed);
	tc_mq_start(&mq, mflags);
	tc_col_start(&col, &mq, dir, "c1", cflags);
	for (k = 0; k < kills; k++) {
		int     mode = (int)(rng() % 3);
		size_t  target;
		int64_t until;

		/* publish a share of the records, then crash at a moment of the chosen kind */
		target = n * (k + 1) / (kills + 1);
		while (published < target) {
			size_t m = target - published < chunk ? target - published : chunk;

			tc_publish(&mq, published, m, NGPU, TS0, 0);
			published += m;
		}
		if (mode == 0) { /* during start-up: recovery, before or just after ready */
			gt_sleep_ns(rng_between(0, 400) * GT_NS_PER_MS);
		} else if (mode == 1) { /* mid-stream: after it stored some more */
			size_t want = lines_total(dir) + (size_t)rng_between(500, 6000);

			until = gt_mono_ns() + 5 * GT_NS_PER_S;
			while (lines_total(dir) < want && gt_mono_ns() < until)
				gt_sleep_ns(2 * GT_NS_PER_MS);
		} else { /* whenever: often while redeliveries arrive */
			gt_sleep_ns(rng_between(300, 2000) * GT_NS_PER_MS);
		}
		printf("chaos: kill %zu (mode %d) at %zu lines\n", k + 1, mode, lines_total(dir));
		tc_kill(&col);
		gt_sleep_ns(rng_between(0, 300) * GT_NS_PER_MS);
		tc_col_spawn(&col, &mq, dir, "c1", cflags);
	}
	if (published < n)
		tc_publish(&mq, published, n - published, NGPU, TS0, 0);
	/* the last one runs to the end */
	tc_kill(&col);
	tc_col_start(&col, &mq, dir, "c1", cflags);
	end = gt_mono_ns() + 120 * GT_NS_PER_S;
	while (gt_mono_ns() < end &&
	       (lines_total(dir) < n || tc_group_field(&mq, "pending") != 0 ||
	        tc_group_field(&mq, "lag") != 0))
		gt_sleep_ns(100 * GT_NS_PER_MS);
	gt_sleep_ns(2500 * GT_NS_PER_MS); /* late redeliveries must not add lines */
	count = calloc(n, sizeof(*count));
	assert_non_null(count);
	read_back(dir, count, n, &bad);
	for (i = 0; i < n; i++) {
		if (count[i] == 0 && missing++ < 10)
			printf("chaos: record %zu missing\n", i);
		if (count[i] > 1 && twice++ < 10)
			printf("chaos: record %zu stored %u times\n", i, count[i]);
	}
	printf("chaos: %zu lines, %zu missing, %zu stored twice, %zu unreadable; group: acked %lld "
	       "pending %lld dead-lettered %lld redelivered %lld\n",
	    lines_total(dir), missing, twice, bad, (long long)tc_group_field(&mq, "acked"),
	    (long long)tc_group_field(&mq, "pending"), (long long)tc_group_field(&mq, "dead_lettered"),
	    (long long)tc_group_field(&mq, "redelivered"));
	assert_int_equal(missing, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(bad, 0);
	assert_int_equal(lines_total(dir), n);
	assert_int_equal(tc_group_field(&mq, "pending"), 0);
	assert_int_equal(tc_group_field(&mq, "dead_lettered"), 0);
	free(count);
	tc_stop(&col);
	tc_stop(&mq);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_collector_random_kills_store_every_record_once, tc_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
