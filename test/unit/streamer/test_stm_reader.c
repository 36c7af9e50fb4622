/* test_stm_reader.c - the streaming CSV parser on every format and its edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt/gt_buf.h"
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
	assert_int_equal(stm_parse_timestamp("1764194400", &ns), STM_TS_OK);
	assert_int_equal(ns, INT64_C(1764194400000000000));
	assert_int_equal(stm_parse_timestamp("1764194400123", &ns), STM_TS_OK);
	assert_int_equal(ns, INT64_C(1764194400123000000));
	assert_int_equal(stm_parse_timestamp("1764194400123456789", &ns), STM_TS_OK);
	assert_int_equal(ns, INT64_C(1764194400123456789));
	assert_int_equal(stm_parse_timestamp("2026-11-26T22:00:00.5Z", &ns), STM_TS_OK);
	assert_int_equal(ns, INT64_C(1795730400500000000));
	assert_int_equal(stm_parse_timestamp("yesterday", &ns), STM_TS_UNPARSABLE);
}

/* Every accepted timestamp is exact and in 1970-01-01T00:00:00.000000001Z ..
 * 2262-04-11T23:47:16.854775807Z; nothing overflows, wraps, rounds or becomes 0. */
static void
test_stm_reader_timestamps_are_exact_or_rejected(void **state)
{
	static const struct {
		const char   *s;
		stm_ts_status want;
		int64_t       ns;
	} cases[] = {
		/* the hostile test's overflow: was INT64_MIN */
		{"99999999999999999999", STM_TS_OUT_OF_RANGE, 0},
		{"18446744073709551616", STM_TS_OUT_OF_RANGE, 0},
		{"9223372036854775807", STM_TS_OK, INT64_MAX},
		{"9223372036854775808", STM_TS_OUT_OF_RANGE, 0},
		{"99999999999999999", STM_TS_OUT_OF_RANGE, 0}, /* us: * 1000 overflows */
		{"99999999999999", STM_TS_OUT_OF_RANGE, 0},    /* ms: * 1e6 overflows */
		{"9999999999", STM_TS_OUT_OF_RANGE, 0},        /* s: * 1e9 overflows */
		{"9223372036", STM_TS_OK, INT64_C(9223372036000000000)},
		{"9223372036.854775807", STM_TS_OK, INT64_MAX},
		{"9223372036.854775808", STM_TS_OUT_OF_RANGE, 0},
		/* the epoch is not "now", and it cannot travel: timestamp_ns 0 means none */
		{"0", STM_TS_OUT_OF_RANGE, 0},
		{"0.000000000", STM_TS_OUT_OF_RANGE, 0},
		{"0.000000001", STM_TS_OK, 1},
		{"1970-01-01T00:00:00Z", STM_TS_OUT_OF_RANGE, 0},
		{"1970-01-01T00:00:00.000000001Z", STM_TS_OK, 1},
		{"1970-01-01T01:00:00+01:00", STM_TS_OUT_OF_RANGE, 0},
		{"1969-12-31T23:59:59Z", STM_TS_OUT_OF_RANGE, 0},
		{"0001-01-01T00:00:00Z", STM_TS_OUT_OF_RANGE, 0},
		{"-1", STM_TS_OUT_OF_RANGE, 0},
		{"2262-04-11T23:47:16.854775807Z", STM_TS_OK, INT64_MAX},
		{"2262-04-11T23:47:16.854775808Z", STM_TS_OUT_OF_RANGE, 0},
		{"2262-04-11T23:47:17Z", STM_TS_OUT_OF_RANGE, 0},
		{"9999-12-31T23:59:59Z", STM_TS_OUT_OF_RANGE, 0},
		/* exact decimals, no double rounding; nothing finer than 1 ns is dropped */
		{"1764194400.123456789", STM_TS_OK, INT64_C(1764194400123456789)},
		{"1764194400.1234567890", STM_TS_OK, INT64_C(1764194400123456789)},
		{"1764194400.1234567891", STM_TS_OUT_OF_RANGE, 0},
		{"1764194400123.5", STM_TS_OK, INT64_C(1764194400123500000)},
		{"1764194400123456789.0", STM_TS_OK, INT64_C(1764194400123456789)},
		{"1764194400123456789.5", STM_TS_OUT_OF_RANGE, 0},
		{"2026-11-26T22:00:00.123456789Z", STM_TS_OK, INT64_C(1795730400123456789)},
		{"2026-11-26T22:00:00.1234567890Z", STM_TS_OK, INT64_C(1795730400123456789)},
		{"2026-11-26T22:00:00.1234567891Z", STM_TS_OUT_OF_RANGE, 0},
		{"2026/11/26 22:00:00.123", STM_TS_OK, INT64_C(1795730400123000000)},
		/* not timestamps */
		{"2025-02-29T00:00:00Z", STM_TS_UNPARSABLE, 0},
		{"2024-02-29T00:00:00Z", STM_TS_OK, INT64_C(1709164800000000000)},
		{"2026-13-01T00:00:00Z", STM_TS_UNPARSABLE, 0},
		{"", STM_TS_UNPARSABLE, 0},
		{".", STM_TS_UNPARSABLE, 0},
		{"5.", STM_TS_UNPARSABLE, 0},
		{"1.2.3", STM_TS_UNPARSABLE, 0},
		{"12a", STM_TS_UNPARSABLE, 0},
		{"1e9", STM_TS_UNPARSABLE, 0},
		{" 1764194400", STM_TS_UNPARSABLE, 0},
		{"-", STM_TS_UNPARSABLE, 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = -7;
		stm_ts_status got = stm_parse_timestamp(cases[i].s, &ns);
		if (got != cases[i].want)
			fail_msg("\"%s\": status %d, expected %d", cases[i].s, got, cases[i].want);
		if (got == STM_TS_OK && ns != cases[i].ns)
			fail_msg("\"%s\": %lld, expected %lld", cases[i].s, (long long)ns,
			    (long long)cases[i].ns);
		if (got != STM_TS_OK && ns != -7)
			fail_msg("\"%s\": output written on failure", cases[i].s);
	}
}

static uint64_t
bad_sum(const stm_reader_stats *st)
{
	uint64_t n = 0;
	for (int i = 0; i < STM_BAD__COUNT; i++)
		n += st->bad[i];
	return n;
}

/* Out-of-range timestamps are bad rows, counted per reason; the epoch is never replaced by
 * "now"; only an EMPTY timestamp cell leaves the record without one (stamped at publish). */
static void
test_stm_reader_out_of_range_timestamps_are_bad_rows(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	(void)state;

	assert_int_equal(run_string("timestamp,gpu_id,temperature\n"
	                            "99999999999999999999,0,40\n"
	                            "1970-01-01T00:00:00Z,1,41\n"
	                            "0,2,42\n"
	                            "1970-01-01T00:00:00.000000001Z,3,43\n"
	                            ",4,44\n"
	                            "2262-04-11T23:47:16.854775807Z,5,45\n"
	                            "2262-04-12T00:00:00Z,6,46\n"
	                            "yesterday,7,47\n",
	                     5, &cfg, &s, &st),
	    GT_OK);
	assert_int_equal(st.rows, 8);
	assert_int_equal(st.bad_rows, 5);
	assert_int_equal(st.bad[STM_BAD_TS_RANGE], 4);
	assert_int_equal(st.bad[STM_BAD_TIMESTAMP], 1);
	assert_int_equal(bad_sum(&st), st.bad_rows);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.recs[0]->gpu_key, "3");
	assert_int_equal(s.ts_source[0], 1);
	assert_int_equal(s.recs[0]->timestamp_ns, 1);
	assert_string_equal(s.recs[1]->gpu_key, "4"); /* empty cell: no timestamp */
	assert_int_equal(s.ts_source[1], 0);
	assert_int_equal(s.recs[1]->timestamp_ns, 0);
	assert_string_equal(s.recs[2]->gpu_key, "5");
	assert_true(s.recs[2]->timestamp_ns == INT64_MAX);
	sink_clear(&s);

	/* DCGM: a group whose timestamp overflows is a bad row too */
	assert_int_equal(run_string("timestamp,metric_name,gpu_id,uuid,value\n"
	                            "99999999999999999999,DCGM_FI_DEV_GPU_TEMP,0,GPU-a,45\n"
	                            "1795730400000000000,DCGM_FI_DEV_GPU_TEMP,0,GPU-a,46\n",
	                     64, &cfg, &s, &st),
	    GT_OK);
	assert_int_equal(st.bad[STM_BAD_TS_RANGE], 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.recs[0]->timestamp_ns, INT64_C(1795730400000000000));
	sink_clear(&s);
}

/* Build "header\n" + rows, with a line of `long_len` 'x' after the first row. */
static char *
text_with_long_line(size_t long_len)
{
	const char *head = "gpu_id,temperature\n0,40\n";
	const char *tail = "\n1,41\n2,42\n";
	size_t      hn = strlen(head), tn = strlen(tail);
	char       *t = malloc(hn + long_len + tn + 1);

	assert_non_null(t);
	memcpy(t, head, hn);
	memset(t + hn, 'x', long_len);
	memcpy(t + hn + long_len, tail, tn + 1);
	return t;
}

/* A 10 MB line is ONE bad row (line_too_long); the reader skips it without buffering and the
 * following rows are read. Fed whole, in 256 KiB blocks (as stm_reader_file) and oddly. */
static void
test_stm_reader_10mb_line_is_one_bad_row(void **state)
{
	static const size_t steps[] = {(size_t)-1 / 2, 256 * 1024, 65521};
	stm_reader_cfg      cfg = {0};
	sink                s = {0};
	stm_reader_stats    st;
	char               *t = text_with_long_line(10u << 20);
	(void)state;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t step = steps[i] > strlen(t) ? strlen(t) : steps[i];
		assert_int_equal(run_string(t, step, &cfg, &s, &st), GT_OK);
		assert_int_equal(st.rows, 4);
		assert_int_equal(st.bad_rows, 1);
		assert_int_equal(st.bad[STM_BAD_LINE_TOO_LONG], 1);
		assert_int_equal(s.n, 3);
		assert_int_equal(s.lines[0], 2);
		assert_int_equal(s.lines[1], 4); /* line numbers go on after the long line */
		assert_int_equal(s.lines[2], 5);
		assert_string_equal(s.recs[2]->gpu_key, "2");
		sink_clear(&s);
	}
	free(t);
	/* exactly at the limit is fine ('\n' not counted, '\r' counted) */
	t = text_with_long_line(STM_MAX_LINE - 2);
	memcpy(t + strlen("gpu_id,temperature\n0,40\n"), "9,", 2);
	assert_int_equal(run_string(t, 100000, &cfg, &s, &st), GT_OK);
	assert_int_equal(st.bad_rows, 1); /* 9,xxx...: a value, not a length problem */
	assert_int_equal(st.bad[STM_BAD_VALUE], 1);
	free(t);
	sink_clear(&s);
}

/* Line limit at every split point (small max_line), CRLF, a too-long header line. */
static void
test_stm_reader_line_limit_at_every_split(void **state)
{
	stm_reader_cfg   cfg = {.max_line = 16};
	sink             s = {0};
	stm_reader_stats st;
	const char      *text = "gpu_id,temperat\n" /* 15 */
	                        "0,1234567890123\n"  /* 15 */
	                        "1,12345678901234\n" /* 16: ok */
	                        "2,123456789012345\n" /* 17: too long */
	                        "3,1234567890123\r\n" /* 16 with \r: ok */
	                        "4,12345678901234\r\n" /* 17 with \r: too long */
	                        "5,\"unterminated and long\n"
	                        "6,7";
	(void)state;

	for (size_t step = 1; step < 20; step++) {
		assert_int_equal(run_string(text, step, &cfg, &s, &st), GT_OK);
		assert_int_equal(s.n, 4);
		assert_string_equal(s.recs[2]->gpu_key, "3");
		assert_string_equal(s.recs[3]->gpu_key, "6");
		assert_int_equal(s.lines[3], 8);
		assert_int_equal(st.bad[STM_BAD_LINE_TOO_LONG], 3);
		assert_int_equal(st.bad_rows, 3);
		assert_int_equal(st.rows, 7);
		sink_clear(&s);
	}
	/* too long before the header: a bad line, like broken quoting there */
	cfg.max_line = 8;
	assert_int_equal(run_string("gpu_id,temperature\n0,1\n", 3, &cfg, &s, &st), GT_EINVAL);
}

/* A header over the column limit is an error naming the limit (never cut silently); a row
 * over it is one bad row and the next row is read. */
static void
test_stm_reader_column_limit(void **state)
{
	stm_reader_cfg   cfg = {0};
	sink             s = {0};
	stm_reader_stats st;
	stm_reader      *r;
	gt_buf           b;
	(void)state;

	gt_buf_init(&b);
	gt_buf_puts(&b, "gpu_id");
	for (int i = 1; i < 5002; i++)
		gt_buf_printf(&b, ",m%d", i);
	gt_buf_puts(&b, "\n0");
	for (int i = 1; i < 5002; i++)
		gt_buf_puts(&b, ",1");
	gt_buf_puts(&b, "\n");
	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "wide.csv"), GT_OK);
	assert_int_equal(stm_reader_feed(r, b.data, b.len), GT_EINVAL);
	assert_non_null(strstr(stm_reader_error(r), "more than 4096 columns"));
	assert_int_equal(s.n, 0);
	stm_reader_free(r);
	/* --columns too (2,001 columns over a limit of 2,000) */
	gt_buf_reset(&b);
	gt_buf_puts(&b, "index");
	for (int i = 1; i < 2001; i++)
		gt_buf_printf(&b, ", m%d", i);
	cfg.columns = b.data;
	cfg.max_fields = 2000;
	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "smi.csv"), GT_EINVAL);
	assert_non_null(strstr(stm_reader_error(r), "more than 2000 columns"));
	stm_reader_free(r);
	cfg.columns = NULL;
	cfg.max_fields = 0;

	/* 4096 columns are fine */
	gt_buf_reset(&b);
	gt_buf_puts(&b, "gpu_id");
	for (int i = 1; i < 4096; i++)
		gt_buf_printf(&b, ",m%d", i);
	gt_buf_puts(&b, "\n0");
	for (int i = 1; i < 4096; i++)
		gt_buf_puts(&b, ",1");
	gt_buf_puts(&b, "\n1");
	for (int i = 1; i < 5002; i++) /* over the limit: one bad row */
		gt_buf_puts(&b, ",1");
	gt_buf_puts(&b, "\n2");
	for (int i = 1; i < 4096; i++)
		gt_buf_puts(&b, ",2");
	gt_buf_puts(&b, "\n");
	assert_int_equal(run_string(b.data, 4096, &cfg, &s, &st), GT_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.recs[0]->n_metrics, 4095);
	assert_string_equal(s.recs[1]->gpu_key, "2");
	assert_int_equal(st.bad[STM_BAD_FIELD_COUNT], 1);
	assert_int_equal(st.bad_rows, 1);
	sink_clear(&s);
	gt_buf_fini(&b);
}

typedef struct stopper {
	int polls, stop_at;
} stopper;

static int
stop_after_polls(void *arg)
{
	stopper *p = arg;
	return ++p->polls >= p->stop_at;
}

/* A stop request ends a pass while no row becomes a record: inside an endless line and in a
 * long run of bad rows (the old reader looked only at emitted records). */
static void
test_stm_reader_stop_request_inside_a_long_line(void **state)
{
	stopper          stop = {0, 32};
	stm_reader_cfg   cfg = {.stopping = stop_after_polls, .stopping_arg = &stop};
	sink             s = {0};
	stm_reader_stats st;
	stm_reader      *r;
	char            *chunk = malloc(64 * 1024);
	gt_err           rv = GT_OK;
	size_t           fed = 0;
	gt_buf           b;
	(void)state;

	memset(chunk, 'x', 64 * 1024);
	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "fifo"), GT_OK);
	assert_int_equal(stm_reader_feed(r, "gpu_id,temperature\n0,40\n", 25), GT_OK);
	while (rv == GT_OK && fed < (1u << 30)) { /* an endless line */
		rv = stm_reader_feed(r, chunk, 64 * 1024);
		fed += 64 * 1024;
	}
	assert_int_equal(rv, GT_ECANCELED);
	assert_true(fed <= 33u * 64 * 1024);
	assert_int_equal(s.n, 1);
	stm_reader_get_stats(r, &st);
	assert_int_equal(st.bad[STM_BAD_LINE_TOO_LONG], 1);
	stm_reader_free(r);
	sink_clear(&s);

	/* 1 M bad rows in one feed call */
	gt_buf_init(&b);
	gt_buf_puts(&b, "gpu_id,temperature\n");
	for (int i = 0; i < 1000000; i++)
		gt_buf_puts(&b, "x\n");
	stop.polls = 0;
	stop.stop_at = 2;
	assert_int_equal(run_string(b.data, b.len, &cfg, &s, &st), GT_ECANCELED);
	assert_true(st.rows < 1000000);
	assert_int_equal(st.bad[STM_BAD_FIELD_COUNT], st.rows);
	gt_buf_fini(&b);
	free(chunk);
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

/* A pipe with nothing to read (nvidia-smi -l 1 | gt-streamer --csv /dev/stdin between two
 * samples): a stop request ends stm_reader_file instead of blocking in read() forever. */
static void
test_stm_reader_stop_request_while_a_pipe_is_idle(void **state)
{
	stopper          stop = {0, 3};
	stm_reader_cfg   cfg = {.stopping = stop_after_polls, .stopping_arg = &stop};
	sink             s = {0};
	stm_reader      *r;
	int              fds[2];
	char             path[64];
	const char      *head = "gpu_id,temperature\n0,40\n";
	(void)state;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], head, strlen(head)), (ssize_t)strlen(head));
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	assert_int_equal(stm_reader_new(&r, &cfg, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_file(r, path), GT_ECANCELED); /* the writer stays open */
	assert_int_equal(s.n, 1);
	assert_int_equal(stop.polls, 3);
	stm_reader_free(r);
	sink_clear(&s);
	close(fds[0]);
	close(fds[1]);
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
		cmocka_unit_test(test_stm_reader_timestamps_are_exact_or_rejected),
		cmocka_unit_test(test_stm_reader_out_of_range_timestamps_are_bad_rows),
		cmocka_unit_test(test_stm_reader_10mb_line_is_one_bad_row),
		cmocka_unit_test(test_stm_reader_line_limit_at_every_split),
		cmocka_unit_test(test_stm_reader_column_limit),
		cmocka_unit_test(test_stm_reader_stop_request_inside_a_long_line),
		cmocka_unit_test(test_stm_reader_stop_request_while_a_pipe_is_idle),
	};
	return cmocka_run_group_tests(tests, quiet_setup, NULL);
}
