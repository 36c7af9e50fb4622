/* test_gt_log.c - every log line is one valid JSON object with the seed keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_log.h"

/* Run fn with the log redirected to a temporary file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	char  path[] = "/tmp/gt-log-test-XXXXXX";
	int   fd = mkstemp(path);
	char *buf = calloc(1, 1 << 20);
	ssize_t n, off = 0;

	assert_true(fd >= 0);
	unlink(path);
	gt_log_set_fd(fd);
	fn();
	gt_log_set_fd(1);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + off, (1 << 20) - 1 - (size_t)off)) > 0)
		off += n;
	close(fd);
	return buf;
}

static void
emit_fields(void)
{
	gt_log_open("mq", GT_LOG_INFO);
	GT_LOGI("group.redeliver", GT_KV_STR("group", "g\"1\n"), GT_KV_INT("count", -3),
	    GT_KV_UINT("big", UINT64_C(1) << 62), GT_KV_DBL("ratio", 0.25), GT_KV_BOOL("ok", 1),
	    GT_KV_STR("nul", NULL), GT_KV_STR("bytes", "\xff\xfe bad utf8"));
	GT_LOGW("no.fields");
	GT_LOGD("filtered.out", GT_KV_INT("x", 1));
}

static void
test_log_lines_are_json_with_seed_keys(void **state)
{
	char        *out = capture(emit_fields), *save = NULL;
	json_error_t err;
	int          lines = 0;
	(void)state;

	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, &err);
		assert_non_null(j);
		assert_true(json_is_string(json_object_get(j, "timestamp")));
		assert_string_equal(json_string_value(json_object_get(j, "service")), "mq");
		if (lines == 0) {
			assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
			assert_string_equal(json_string_value(json_object_get(j, "message")), "group.redeliver");
			assert_string_equal(json_string_value(json_object_get(j, "group")), "g\"1\n");
			assert_int_equal(json_integer_value(json_object_get(j, "count")), -3);
			assert_true(json_real_value(json_object_get(j, "ratio")) == 0.25);
			assert_true(json_is_true(json_object_get(j, "ok")));
			assert_true(json_is_null(json_object_get(j, "nul")));
		} else {
			assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
			assert_string_equal(json_string_value(json_object_get(j, "message")), "no.fields");
		}
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 2); /* the debug line was filtered before formatting */
	free(out);
}

static void *
log_thread(void *arg)
{
	for (int i = 0; i < 500; i++)
		GT_LOGI("thread.line", GT_KV_INT("thread", (intptr_t)arg), GT_KV_INT("i", i),
		    GT_KV_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	return NULL;
}

static void
emit_threads(void)
{
	pthread_t th[4];

	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, log_thread, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

static void
test_log_threads_never_interleave(void **state)
{
	char *out, *save = NULL;
	int   lines = 0;
	(void)state;

	gt_log_open("t", GT_LOG_INFO);
	out = capture(emit_threads);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		assert_non_null(j);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 2000);
	free(out);
}

static void
test_log_level_parse(void **state)
{
	gt_log_level l;
	(void)state;

	assert_int_equal(gt_log_level_parse("debug", &l), GT_OK);
	assert_int_equal(l, GT_LOG_DEBUG);
	assert_int_equal(gt_log_level_parse("WARN", &l), GT_OK);
	assert_int_equal(l, GT_LOG_WARN);
	assert_int_equal(gt_log_level_parse("warning", &l), GT_OK);
	assert_int_equal(gt_log_level_parse("loud", &l), GT_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_lines_are_json_with_seed_keys),
	    cmocka_unit_test(test_log_threads_never_interleave),
	    cmocka_unit_test(test_log_level_parse),
	};
	return cmocka_run_group_tests_name("unit.common.log", tests, NULL, NULL);
}
