/* test_stm_reader.c - the streaming CSV parser on every format and its edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt_test.h"
#include "stm_reader.h"

/* Emitted records are packed and unpacked again: the reader lends its record. */
typedef struct sink {
	Gtpb__V1__TelemetryRecord *recs[256];
	uint64_t                   lines[256];
	int                        ts_source[256];
	size_t                     n;
	size_t                     stop_after; /* 0 = never */
} sink;

static gt_err
sink_emit(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	sink    *s = arg;
	size_t   len = gtpb__v1__telemetry_record__get_packed_size(rec);
	uint8_t *buf = malloc(len + 1);

	assert_non_null(buf);
	gtpb__v1__telemetry_record__pack(rec, buf);
	assert_true(s->n < 256);
	s->recs[s->n] = gtpb__v1__telemetry_record__unpack(NULL, len, buf);
	assert_non_null(s->recs[s->n]);
	s->lines[s->n] = info->line;
	s->ts_source[s->n] = info->ts_source;
	s->n++;
	free(buf);
	if (s->stop_after && s->n >= s->stop_after)
		return GT_ECANCELED;
	return GT_OK;
}

static void
sink_clear(sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		gtpb__v1__telemetry_record__free_unpacked(s->recs[i], NULL);
	s->n = 0;
}

static int
metric(const Gtpb__V1__TelemetryRecord *r, const char *name, double *v)
{
	for (size_t i = 0; i < r->n_metrics; i++)
		if (strcmp(r->metrics[i]->key, name) == 0) {
			*v = r->metrics[i]->value;
			return 1;
		}
	return 0;
}

static const char *
label(const Gtpb__V1__TelemetryRecord *r, const char *name)
{
	for (size_t i = 0; i < r->n_labels; i++)
		if (strcmp(r->labels[i]->key, name) == 0)
			return r->labels[i]->value;
	return NULL;
}

static gt_err
run_file(const char *fixture, const stm_reader_cfg *cfg, sink *s, stm_reader_stats *st,
    stm_format *fmt)
{
	stm_reader *r;
	char       *path = gt_test_fixture(fixture);
	gt_err      rv;

	assert_int_equal(stm_reader_new(&r, cfg, sink_emit, s), GT_OK);
	rv = stm_reader_file(r, path);
	if (st)
		stm_reader_get_stats(r, st);
	if (fmt)
		*fmt = stm_reader_format(r);
	stm_reader_free(r);
	free(path);
	return rv;
}

/* Feed a string in pieces of `step` bytes (1 = byte by byte: every split point). */
static gt_err
run_string(const char *text, size_t step, const stm_reader_cfg *cfg, sink *s, stm_reader_stats *st)
{
	stm_reader *r;
	gt_err      rv = GT_OK;
	size_t      n = strlen(text);

	assert_int_equal(stm_reader_new(&r, cfg, sink_emit, s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "mem.csv"), GT_OK);
	for (size_t i = 0; i < n && rv == GT_OK; i += step)
		rv = stm_reader_feed(r, text + i, i + step <= n ? step : n - i);
	if (rv == GT_OK)
		rv = stm_reader_end(r);
	if (st)
		stm_reader_get_stats(r, st);
	stm_reader_free(r);
	return rv;
}

static int
quiet_setup(void **state)
{
	(void)state;
	gt_log_open("test", getenv("STM_TEST_LOG") ? GT_LOG_DEBUG : GT_LOG_ERROR);
	return 0;
}

static void
test_stm_reader_wide_basic_maps_every_row(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	stm_format       fmt;
	double           v;
	(void)state;

	assert_int_equal(run_file("csv/wide_basic.csv", &cfg, &s, &st, &fmt), GT_OK);
	assert_int_equal(fmt, STM_FMT_WIDE);
	assert_int_equal(s.n, 6);
	assert_int_equal(st.rows, 6);
	assert_int_equal(st.bad_rows, 0);
	assert_string_equal(s.recs[0]->gpu_key, "0");
	assert_string_equal(s.recs[0]->gpu_id, "0");
	assert_int_equal(s.recs[0]->gpu_index, 0);
	assert_int_equal(s.recs[0]->timestamp_ns, 0); /* no timestamp column: stamped later */
	assert_int_equal(s.ts_source[0], 0);
	assert_true(metric(s.recs[0], "temperature", &v));
	assert_true(v == 45.5);
	assert_true(metric(s.recs[0], "power_draw", &v));
	assert_true(v == 250.5);
	assert_true(metric(s.recs[1], "utilization", &v));
	assert_true(v == 82.25);
	assert_int_equal(s.recs[3]->n_metrics, 4);
	assert_int_equal(s.lines[5], 7);
	sink_clear(&s);
}

static void
test_stm_reader_wide_edge_cases_skip_bad_rows_and_keep_going(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	double           v;
	(void)state;

	assert_int_equal(run_file("csv/wide_edge.csv", &cfg, &s, &st, NULL), GT_OK);
	/* good: lines 2, 3, 4 and 12 (no final newline); bad: 5 (field count), 6 (value),
	 * 7 (quoting), 8 (unterminated quote), 10 (timestamp), 11 (no values). */
	assert_int_equal(s.n, 4);
	assert_int_equal(st.bad_rows, 6);
	assert_int_equal(st.rows, 10);
	assert_int_equal(s.lines[0], 2);
	assert_int_equal(s.lines[1], 3);
	assert_int_equal(s.lines[2], 4);
	assert_int_equal(s.lines[3], 12);
	assert_string_equal(s.recs[0]->gpu_key, "host-a/0");
	assert_string_equal(s.recs[0]->hostname, "host-a");
	assert_int_equal(s.ts_source[0], 1);
	assert_int_equal(s.recs[0]->timestamp_ns, INT64_C(1795730400000000000));
	assert_string_equal(label(s.recs[0], "note"), "ok");
	/* quoted fields, an embedded comma and an empty metric field */
	assert_string_equal(s.recs[1]->gpu_key, "host-a/1");
	assert_true(metric(s.recs[1], "utilization", &v));
	assert_true(v == 82.5);
	assert_false(metric(s.recs[1], "fan_speed", &v));
	assert_string_equal(label(s.recs[1], "note"), "quoted, with comma");
	assert_string_equal(label(s.recs[2], "note"), "say \"hi\"");
	assert_true(metric(s.recs[3], "fan_speed", &v));
	assert_true(v == 29);
	assert_string_equal(label(s.recs[3], "note"), "no final newline");
	sink_clear(&s);
}

static void
test_stm_reader_feed_split_anywhere_gives_same_records(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	char            *path = gt_test_fixture("csv/wide_edge.csv");
	char            *text = gt_test_read_file(path, NULL);
	(void)state;

	assert_non_null(text);
	for (size_t step = 1; step < 40; step += 7) {
		assert_int_equal(run_string(text, step, &cfg, &s, &st), GT_OK);
		assert_int_equal(s.n, 4);
		assert_int_equal(st.bad_rows, 6);
		assert_int_equal(s.lines[3], 12);
		sink_clear(&s);
	}
	free(text);
	free(path);
}

static void
test_stm_reader_dcgm_groups_rows_by_timestamp_and_gpu(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	stm_format       fmt;
	double           v;
	(void)state;

	assert_int_equal(run_file("csv/dcgm_basic.csv", &cfg, &s, &st, &fmt), GT_OK);
	assert_int_equal(fmt, STM_FMT_DCGM);
	assert_int_equal(st.rows, 12);
	assert_int_equal(st.bad_rows, 0);
	assert_int_equal(s.n, 4); /* 3 GPUs at t0 + 1 GPU at t1 */
	assert_string_equal(s.recs[0]->gpu_key, "GPU-0a1b2c3d-0000-4000-8000-000000000001");
	assert_string_equal(s.recs[0]->uuid, "GPU-0a1b2c3d-0000-4000-8000-000000000001");
	assert_string_equal(s.recs[0]->hostname, "node-1");
	assert_string_equal(s.recs[0]->model, "NVIDIA H100 80GB HBM3");
	assert_string_equal(s.recs[0]->device, "nvidia0");
	assert_string_equal(s.recs[0]->gpu_id, "0");
	assert_int_equal(s.recs[0]->gpu_index, 0);
	assert_int_equal(s.recs[0]->n_metrics, 3);
	assert_true(metric(s.recs[0], "temperature", &v) && v == 45);
	assert_true(metric(s.recs[0], "utilization", &v) && v == 87);
	assert_true(metric(s.recs[0], "power_draw", &v) && v == 612.25);
	assert_string_equal(label(s.recs[0], "DCGM_FI_DRIVER_VERSION"), "535.129.03");
	assert_string_equal(label(s.recs[0], "pci_bus_id"), "00000000:04:00.0");
	assert_null(label(s.recs[0], "Hostname")); /* a top-level field, not duplicated */
	assert_null(label(s.recs[0], "container")); /* empty column */
	assert_string_equal(label(s.recs[1], "container"), "trainer");
	assert_string_equal(label(s.recs[1], "pod"), "job-7");
	assert_string_equal(label(s.recs[1], "namespace"), "ml");
	/* gpu_id 0 again on another host: a different GPU */
	assert_string_equal(s.recs[2]->gpu_key, "GPU-0a1b2c3d-0000-4000-8000-000000000003");
	assert_string_equal(s.recs[2]->gpu_id, "0");
	assert_int_equal(s.lines[3], 11);
	assert_true(s.recs[3]->timestamp_ns == s.recs[0]->timestamp_ns + 1000000000);
	sink_clear(&s);
}

static void
test_stm_reader_dcgm_edge_cases(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	double           v;
	(void)state;

	assert_int_equal(run_file("csv/dcgm_edge.csv", &cfg, &s, &st, NULL), GT_OK);
	/* bad: line 3 (value abc), 6 (field count), 9 (labels_raw unterminated quote) */
	assert_int_equal(st.bad_rows, 3);
	assert_int_equal(st.rows, 9);
	assert_int_equal(s.n, 3);
	/* unknown DCGM field keeps its name; [N/A] skips the metric, not the group */
	assert_int_equal(s.recs[0]->n_metrics, 2);
	assert_true(metric(s.recs[0], "temperature", &v) && v == 45);
	assert_true(metric(s.recs[0], "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", &v) && v == 0.42);
	assert_false(metric(s.recs[0], "fan_speed", &v));
	/* no uuid: hostname/gpu_index */
	assert_string_equal(s.recs[1]->gpu_key, "node-1/1");
	assert_int_equal(s.recs[1]->n_metrics, 2);
	assert_int_equal(s.lines[1], 7);
	assert_int_equal(s.lines[2], 10);
	assert_int_equal(s.recs[2]->n_labels, 0);
	sink_clear(&s);
}

static void
test_stm_reader_nvidia_smi_units_and_placeholders(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	stm_format       fmt;
	double           v;
	(void)state;

	assert_int_equal(run_file("csv/smi_basic.csv", &cfg, &s, &st, &fmt), GT_OK);
	assert_int_equal(fmt, STM_FMT_SMI);
	assert_int_equal(s.n, 3);
	assert_int_equal(st.bad_rows, 1); /* "hot" */
	assert_string_equal(s.recs[0]->gpu_key, "GPU-0a1b2c3d-0000-4000-8000-000000000001");
	assert_string_equal(s.recs[0]->model, "NVIDIA H100 80GB HBM3");
	assert_int_equal(s.recs[0]->gpu_index, 0);
	assert_true(metric(s.recs[0], "temperature", &v) && v == 45);
	assert_true(metric(s.recs[0], "utilization", &v) && v == 87);
	assert_true(metric(s.recs[0], "memory_utilization", &v) && v == 40);
	assert_true(metric(s.recs[0], "memory_used", &v) && v == 40000);
	assert_true(metric(s.recs[0], "memory_free", &v) && v == 41559);
	assert_true(metric(s.recs[0], "memory.total", &v) && v == 81559); /* unknown: own name */
	assert_true(metric(s.recs[0], "power_draw", &v) && v == 612.25);
	assert_true(metric(s.recs[0], "sm_clock", &v) && v == 1980);
	assert_true(metric(s.recs[0], "mem_clock", &v) && v == 2619);
	assert_false(metric(s.recs[0], "fan_speed", &v)); /* [N/A] */
	assert_false(metric(s.recs[1], "power_draw", &v)); /* [Not Supported] */
	assert_true(metric(s.recs[2], "fan_speed", &v) && v == 35);
	assert_string_equal(label(s.recs[0], "pci.bus_id"), "00000000:04:00.0");
	assert_string_equal(label(s.recs[0], "driver_version"), "535.129.03");
	assert_string_equal(label(s.recs[0], "pstate"), "P0");
	assert_int_equal(s.recs[0]->timestamp_ns, INT64_C(1795730400123000000));
	sink_clear(&s);
}

static void
test_stm_reader_nvidia_smi_noheader_with_columns(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	double           v;
	(void)state;

	cfg.columns = "index, temperature.gpu, utilization.gpu [%], power.draw [W], clocks.sm [MHz]";
	cfg.hostname = "box";
	assert_int_equal(run_file("csv/smi_noheader.csv", &cfg, &s, &st, NULL), GT_OK);
	assert_int_equal(s.n, 3);
	assert_int_equal(st.bad_rows, 0);
	assert_int_equal(s.lines[0], 1);
	assert_string_equal(s.recs[0]->gpu_key, "box/0");
	assert_string_equal(s.recs[2]->gpu_key, "box/2");
	assert_true(metric(s.recs[1], "power_draw", &v) && v == 640.5);
	assert_false(metric(s.recs[1], "utilization", &v));
	assert_false(metric(s.recs[2], "power_draw", &v));
	sink_clear(&s);
}

static void
test_stm_reader_unknown_header_and_empty_file_are_errors(void **state)
{
	stm_reader_cfg cfg = {0};
	sink           s = {0};
	stm_reader    *r;
	(void)state;

	assert_int_equal(run_file("csv/unknown_header.csv", &cfg, &s, NULL, NULL), GT_EINVAL);
	assert_int_equal(run_file("csv/empty.csv", &cfg, &s, NULL, NULL), GT_EINVAL);
	assert_int_equal(run_file("csv/does-not-exist.csv", &cfg, &s, NULL, NULL), GT_EIO);
	assert_int_equal(s.n, 0);
	/* a forced format checks the header too */
	cfg.format = STM_FMT_DCGM;
	assert_int_equal(run_file("csv/wide_basic.csv", &cfg, &s, NULL, NULL), GT_EINVAL);
	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_file(r, "/nonexistent/x.csv"), GT_EIO);
	assert_non_null(strstr(stm_reader_error(r), "cannot open"));
	stm_reader_free(r);
}

static void
test_stm_reader_forced_format_and_reset_between_passes(void **state)
{
	stm_reader_cfg cfg = {.format = STM_FMT_WIDE};
	sink           s = {0};
	stm_reader    *r;
	char          *path = gt_test_fixture("csv/wide_basic.csv");
	(void)state;

	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_file(r, path), GT_OK);
	assert_int_equal(stm_reader_file(r, path), GT_OK); /* --loop: header read again */
	assert_int_equal(s.n, 12);
	assert_int_equal(s.lines[6], 2);
	stm_reader_free(r);
	sink_clear(&s);
	/* the emit callback stops the stream */
	s.stop_after = 2;
	assert_int_equal(run_file("csv/wide_basic.csv", &cfg, &s, NULL, NULL), GT_ECANCELED);
	assert_int_equal(s.n, 2);
	sink_clear(&s);
	free(path);
}

static void
test_stm_reader_parse_number_and_timestamps(void **state)
{
	double  v;
	int64_t ns;
	(void)state;

	assert_true(stm_parse_number("81.25", 5, 0, &v) && v == 81.25);
	assert_true(stm_parse_number(" -3 ", 4, 0, &v) && v == -3);
	assert_true(stm_parse_number("81.25 W", 7, 1, &v) && v == 81.25);
	assert_false(stm_parse_number("81.25 W", 7, 0, &v));
	assert_true(stm_parse_number("45 %", 4, 1, &v) && v == 45);
	assert_true(stm_parse_number("1e3", 3, 0, &v) && v == 1000);
	assert_true(stm_parse_number("0.1", 3, 0, &v) && v == 0.1);
	assert_true(stm_parse_number("12345678901234567890", 20, 0, &v) && v == 12345678901234567890.0);
	assert_false(stm_parse_number("abc", 3, 1, &v));
	assert_false(stm_parse_number("nan", 3, 0, &v));
	assert_false(stm_parse_number("inf", 3, 0, &v));
	assert_false(stm_parse_number("0x10", 4, 0, &v));
	assert_false(stm_parse_number("", 0, 0, &v));
	assert_false(stm_parse_number("1.2.3", 5, 0, &v));
	assert_true(stm_is_placeholder("[N/A]", 5));
	assert_true(stm_is_placeholder("[Not Supported]", 15));
	assert_true(stm_is_placeholder("N/A", 3));
	assert_false(stm_is_placeholder("42", 2));
	assert_int_equal(stm_parse_timestamp("1764194400", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764194400000000000));
	assert_int_equal(stm_parse_timestamp("1764194400123", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764194400123000000));
	assert_int_equal(stm_parse_timestamp("1764194400123456789", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1764194400123456789));
	assert_int_equal(stm_parse_timestamp("2026-11-26T22:00:00.5Z", &ns), GT_OK);
	assert_int_equal(ns, INT64_C(1795730400500000000));
	assert_int_equal(stm_parse_timestamp("yesterday", &ns), GT_EINVAL);
}

static void
test_stm_reader_inline_quoting_cases(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	double           v;
	(void)state;

	/* BOM, spaces around quoted fields, a quoted header, doubled quotes, blank lines */
	assert_int_equal(run_string("\xEF\xBB\xBF\"gpu_id\",\"temperature\",tag\n"
	                            "\n"
	                            "\"a\" , 50 ,\"x\"\"y\"\n"
	                            "b,\"6\"0,z\n"
	                            "c,70\n"
	                            "d,80,w,extra\n"
	                            "\"e,81,q\n"
	                            "f,82,\"multi\nline\"\n"
	                            "g,83,ok",
	                     1, &cfg, &s, &st),
	    GT_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.recs[0]->gpu_key, "a");
	assert_true(metric(s.recs[0], "temperature", &v) && v == 50);
	assert_string_equal(label(s.recs[0], "tag"), "x\"y");
	assert_string_equal(s.recs[1]->gpu_key, "g");
	assert_int_equal(s.lines[1], 10);
	/* 6"0 quoting, c (2 fields), d (4 fields), unterminated "e, multi-line f + its tail */
	assert_int_equal(st.bad_rows, 6);
	sink_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stm_reader_wide_basic_maps_every_row),
		cmocka_unit_test(test_stm_reader_wide_edge_cases_skip_bad_rows_and_keep_going),
		cmocka_unit_test(test_stm_reader_feed_split_anywhere_gives_same_records),
		cmocka_unit_test(test_stm_reader_dcgm_groups_rows_by_timestamp_and_gpu),
		cmocka_unit_test(test_stm_reader_dcgm_edge_cases),
		cmocka_unit_test(test_stm_reader_nvidia_smi_units_and_placeholders),
		cmocka_unit_test(test_stm_reader_nvidia_smi_noheader_with_columns),
		cmocka_unit_test(test_stm_reader_unknown_header_and_empty_file_are_errors),
		cmocka_unit_test(test_stm_reader_forced_format_and_reset_between_passes),
		cmocka_unit_test(test_stm_reader_parse_number_and_timestamps),
		cmocka_unit_test(test_stm_reader_inline_quoting_cases),
	};
	return cmocka_run_group_tests(tests, quiet_setup, NULL);
}
