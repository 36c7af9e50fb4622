/* Integration: the collector's data dir fills up (a small tmpfs), then space comes back.
 * While writes fail: /health says degraded with the reason, nothing is fetched, acked,
 * nacked or dead-lettered; the files hold only whole lines. Once the tmpfs is grown again:
 * every record is stored exactly once, the group's lag and pending drain to 0, health ok.
 * Needs root (mount -t tmpfs), as CI and the test machines have. */
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
#include <sys/mount.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_collector_util.h"

#define NGPU 8
#define TS0 INT64_C(1764000000000000000)

static char *mnt;

static int
unmount_teardown(void **state)
{
	tc_cleanup(state);
	if (mnt != NULL) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		free(mnt);
		mnt = NULL;
	}
	return 0;
}

/* Lines of every file; *torn = files whose last byte is not '\n'; count[temperature]++. */
static size_t
scan(const char *dir, uint32_t *count, size_t n, size_t *torn, size_t *bad)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	size_t         lines = 0;

	*torn = *bad = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char   path[1024], *data, *line, *nl;
		size_t len;

		if (strstr(de->d_name, ".jsonl") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((data = gt_test_read_file(path, &len)) == NULL)
			continue;
		if (len > 0 && data[len - 1] != '\n')
			(*torn)++;
		for (line = data; (nl = memchr(line, '\n', len - (size_t)(line - data))) != NULL;
		     line = nl + 1) {
			lines++;
			if (count != NULL) {
				json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
				double  v = json_number_value(
				    json_object_get(json_object_get(j, "metrics"), "temperature"));

				if (j == NULL || v < 0 || v >= (double)n)
					(*bad)++;
				else
					count[(size_t)v]++;
				json_decref(j);
			}
		}
		free(data);
	}
	closedir(d);
	return lines;
}

/* /health status and reason (malloc'd copies). */
static void
health(const tc_svc *col, char **status, char **reason)
{
	json_t *j = NULL;

	*status = *reason = NULL;
	assert_int_equal(tc_get(col, "/health", NULL, &j, NULL, NULL), 200);
	*status = strdup(json_string_value(json_object_get(j, "status")));
	if (json_is_string(json_object_get(j, "reason")))
		*reason = strdup(json_string_value(json_object_get(j, "reason")));
	json_decref(j);
}

static void
test_collector_disk_full_pauses_then_stores_everything_once(void **state)
{
	const size_t n = NGPU * 4000; /* ~330 bytes a line: ~10 MB, the tmpfs holds 2 MB */
	char        *dir;
	tc_svc       mq, col;
	char        *status, *reason, opts[64];
	int64_t      end, acked, delivered;
	size_t       torn, bad, lines, i, missing = 0, twice = 0;
	uint32_t    *count;

	(void)state;
	mnt = gt_test_tmpdir("colfull");
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0)
		fail_msg("mount -t tmpfs %s: %m (this test needs root)", mnt);
	dir = mnt;
	tc_mq_start(&mq, (const char *const[]){"--ack-timeout", "1s", "--max-retries", "2", NULL});
	tc_col_start(&col, &mq, dir, "c1", (const char *const[]){"--fetch-max", "500", NULL});
	tc_publish(&mq, 0, n, NGPU, TS0, 0);

	/* the disk fills: degraded with the reason */
	end = gt_mono_ns() + 30 * GT_NS_PER_S;
	for (;;) {
		health(&col, &status, &reason);
		if (strcmp(status, "degraded") == 0 && reason && strstr(reason, "disk full"))
			break;
		free(status);
		free(reason);
		assert_true(gt_mono_ns() < end);
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	free(status);
	free(reason);
	assert_int_equal(gt_proc_wait_log(col.proc, "consumer.write_stalled", 5 * GT_NS_PER_S, NULL, NULL),
	    GT_OK);
	/* stalled for several ack timeouts: nothing more is fetched (first deliveries stand
	 * still), nothing is dead-lettered, and nothing is acked that is not in a file */
	gt_sleep_ns(500 * GT_NS_PER_MS);
	delivered = tc_group_field(&mq, "delivered");
	gt_sleep_ns(3500 * GT_NS_PER_MS);
	assert_int_equal(tc_group_field(&mq, "dead_lettered"), 0);
	assert_int_equal(tc_group_field(&mq, "delivered"), delivered);
	acked = tc_group_field(&mq, "acked");
	assert_true(acked <= (int64_t)scan(dir, NULL, 0, &torn, &bad));
	assert_true(tc_group_field(&mq, "lag") + tc_group_field(&mq, "pending") > 0);
	lines = scan(dir, NULL, 0, &torn, &bad);
	assert_true(lines < n);
	assert_int_equal(torn, 0); /* torn tails are cut at once */
	health(&col, &status, &reason);
	assert_string_equal(status, "degraded");
	free(status);
	free(reason);

	/* space comes back */
	snprintf(opts, sizeof(opts), "size=64m");
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, opts), 0);
	end = gt_mono_ns() + 60 * GT_NS_PER_S;
	while (gt_mono_ns() < end &&
	       (scan(dir, NULL, 0, &torn, &bad) < n || tc_group_field(&mq, "pending") != 0 ||
	        tc_group_field(&mq, "lag") != 0))
		gt_sleep_ns(100 * GT_NS_PER_MS);
	gt_sleep_ns(1500 * GT_NS_PER_MS); /* late redeliveries must not add lines */
	count = calloc(n, sizeof(*count));
	assert_non_null(count);
	lines = scan(dir, count, n, &torn, &bad);
	for (i = 0; i < n; i++) {
		missing += count[i] == 0;
		twice += count[i] > 1;
	}
	printf("diskfull: %zu lines, %zu missing, %zu twice, %zu bad, %zu torn; group acked %lld dead %lld\n",
	    lines, missing, twice, bad, torn, (long long)tc_group_field(&mq, "acked"),
	    (long long)tc_group_field(&mq, "dead_lettered"));
	assert_int_equal(missing, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(bad, 0);
	assert_int_equal(torn, 0);
	assert_int_equal(lines, n);
	assert_int_equal(tc_group_field(&mq, "dead_lettered"), 0);
	assert_int_equal(tc_group_field(&mq, "pending"), 0);
	assert_int_equal(gt_proc_wait_log(col.proc, "consumer.write_resumed", 5 * GT_NS_PER_S, NULL, NULL),
	    GT_OK);
	health(&col, &status, &reason);
	assert_string_equal(status, "ok");
	assert_null(reason);
	free(status);
	free(count);
	tc_stop(&col);
	tc_stop(&mq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_collector_disk_full_pauses_then_stores_everything_once,
	        unmount_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
