/* test_streamer_bad_input.c - an unreadable file, an unknown header, an empty file, a header
 * over the column limit and bad flags make gt-streamer exit 2 with a clear message (no broker
 * needed). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_proc.h"
#include "gt_test.h"

/* Run gt-streamer to completion; returns the exit status and the csv.error reason (or ""). */
static int
run(const char *const *args, char *reason, size_t len)
{
	const char *argv[32];
	size_t      n = 0;
	gt_proc    *p;
	int         st;
	char       *line = NULL;

	argv[n++] = "gt-streamer";
	argv[n++] = "--mq-url=tcp://127.0.0.1:1"; /* nothing listens: nothing is published */
	argv[n++] = "--http-port=-1";
	argv[n++] = "--rpc-url=";
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(gt_proc_start(&p, argv, NULL), GT_OK);
	st = gt_proc_wait_exit(p, 10 * GT_NS_PER_S);
	reason[0] = '\0';
	if (gt_proc_wait_log(p, "csv.error", 0, NULL, &line) == GT_OK) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		snprintf(reason, len, "%s", json_string_value(json_object_get(j, "reason")));
		json_decref(j);
		free(line);
	}
	gt_proc_free(p);
	return st;
}

static void
test_streamer_unreadable_file_exits_2(void **state)
{
	const char *args[] = {"--csv=/nonexistent/dir/telemetry.csv", NULL};
	char        reason[512];
	(void)state;

	assert_int_equal(run(args, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "/nonexistent/dir/telemetry.csv: cannot open"));
}

static void
test_streamer_unknown_header_exits_2(void **state)
{
	char       *path = gt_test_fixture("csv/unknown_header.csv");
	char        flag[600], reason[512];
	const char *args[] = {flag, NULL};
	(void)state;

	snprintf(flag, sizeof(flag), "--csv=%s", path);
	assert_int_equal(run(args, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "unknown CSV header"));
	free(path);
}

static void
test_streamer_empty_file_and_forced_format_mismatch_exit_2(void **state)
{
	char       *empty = gt_test_fixture("csv/empty.csv");
	char       *wide = gt_test_fixture("csv/wide_basic.csv");
	char        f1[600], f2[600], reason[512];
	const char *a1[] = {f1, NULL};
	const char *a2[] = {f2, "--format=dcgm", NULL};
	(void)state;

	snprintf(f1, sizeof(f1), "--csv=%s", empty);
	snprintf(f2, sizeof(f2), "--csv=%s", wide);
	assert_int_equal(run(a1, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "no CSV header"));
	assert_int_equal(run(a2, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "metric_name"));
	free(empty);
	free(wide);
}

/* A header over the column limit is refused with the limit named, never cut silently (it was
 * cut at 4,096 columns and streamed). */
static void
test_streamer_header_over_column_limit_exits_2(void **state)
{
	char       *dir = gt_test_tmpdir("streamer-cols");
	char        path[600], flag[700], reason[512];
	const char *args[] = {flag, NULL};
	FILE       *f;
	(void)state;

	snprintf(path, sizeof(path), "%s/wide-5002.csv", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("gpu_id", f);
	for (int i = 1; i < 5002; i++)
		fprintf(f, ",m%d", i);
	fputs("\n0", f);
	for (int i = 1; i < 5002; i++)
		fputs(",1", f);
	fputs("\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(flag, sizeof(flag), "--csv=%s", path);
	assert_int_equal(run(args, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "the header has more than 4096 columns (the limit)"));
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_streamer_bad_flags_exit_2(void **state)
{
	const char *none[] = {NULL};
	const char *workers[] = {"--csv=x.csv", "--workers=0", NULL};
	const char *fmt[] = {"--csv=x.csv", "--format=xml", NULL};
	const char *cols[] = {"--csv=x.csv", "--format=wide", "--columns=index", NULL};
	char        reason[16];
	(void)state;

	assert_int_equal(run(none, reason, sizeof(reason)), 2); /* --csv is required */
	assert_int_equal(run(workers, reason, sizeof(reason)), 2);
	assert_int_equal(run(fmt, reason, sizeof(reason)), 2);
	assert_int_equal(run(cols, reason, sizeof(reason)), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streamer_unreadable_file_exits_2),
		cmocka_unit_test(test_streamer_unknown_header_exits_2),
		cmocka_unit_test(test_streamer_empty_file_and_forced_format_mismatch_exit_2),
		cmocka_unit_test(test_streamer_header_over_column_limit_exits_2),
		cmocka_unit_test(test_streamer_bad_flags_exit_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
