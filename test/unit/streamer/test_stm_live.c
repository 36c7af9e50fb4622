/* test_stm_live.c - the pieces of the live sources that need no process: sentinel values
 * dropped per metric (CSV and scrape), the Prometheus exposition parser, and the mapping of a
 * dcgm-exporter exposition (several GPUs and hosts, label escaping) to one record per GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_gpu_metrics.h"
#include "gt_test.h"
#include "stm_prom.h"
#include "stm_reader.h"
#include "stm_scrape.h"

typedef struct sink {
	Gtpb__V1__TelemetryRecord *recs[64];
	size_t                     n;
} sink;

static gt_err
sink_emit(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	sink    *s = arg;
	size_t   len = gtpb__v1__telemetry_record__get_packed_size(rec);
	uint8_t *buf = malloc(len + 1);

	(void)info;
	assert_non_null(buf);
	gtpb__v1__telemetry_record__pack(rec, buf);
	assert_true(s->n < 64);
	s->recs[s->n] = gtpb__v1__telemetry_record__unpack(NULL, len, buf);
	assert_non_null(s->recs[s->n]);
	s->n++;
	free(buf);
	return GT_OK;
}

static void
sink_free(sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		gtpb__v1__telemetry_record__free_unpacked(s->recs[i], NULL);
	s->n = 0;
}

static int
metric(const Gtpb__V1__TelemetryRecord *r, const char *k, double *v)
{
	for (size_t i = 0; i < r->n_metrics; i++)
		if (strcmp(r->metrics[i]->key, k) == 0) {
			if (v)
				*v = r->metrics[i]->value;
			return 1;
		}
	return 0;
}

static const char *
label(const Gtpb__V1__TelemetryRecord *r, const char *k)
{
	for (size_t i = 0; i < r->n_labels; i++)
		if (strcmp(r->labels[i]->key, k) == 0)
			return r->labels[i]->value;
	return NULL;
}

static unsigned
slot_of(const char *canon)
{
	size_t               n;
	const gt_gpu_metric *t = gt_gpu_metric_table(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].canonical, canon) == 0)
			return (unsigned)i;
	return STM_DROP_OTHER;
}

/* ---------------------------------------------------------------- sentinels */

static void
test_stm_value_ok_sentinels_and_ranges(void **state)
{
	unsigned slot;
	(void)state;

	assert_true(stm_value_ok("utilization", 87, &slot));
	assert_int_equal(slot, slot_of("utilization"));
	assert_false(stm_value_ok("utilization", 4294967295.0, &slot));
	assert_false(stm_value_ok("utilization", 101, &slot));
	assert_false(stm_value_ok("temperature", 2147483647.0, &slot)); /* DCGM int32 blank */
	assert_false(stm_value_ok("power_draw", 140737488355328.0, &slot)); /* fp64 blank */
	assert_false(stm_value_ok("power_draw", -3, &slot));
	assert_true(stm_value_ok("power_draw", 699.5, &slot));
	assert_false(stm_value_ok("DCGM_FI_PROF_SM_ACTIVE", 9223372036854775794.0, &slot));
	assert_int_equal(slot, STM_DROP_OTHER);
	assert_true(stm_value_ok("DCGM_FI_PROF_SM_ACTIVE", 0.5, &slot));
	assert_true(stm_value_ok("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 5e9, &slot));
	assert_true(stm_value_ok("temperature", -10, &slot));
	assert_string_equal(stm_drop_slot_name(slot_of("fan_speed")), "fan_speed");
	assert_string_equal(stm_drop_slot_name(STM_DROP_OTHER), "other");
}

static void
test_stm_csv_sentinels_dropped_and_counted_per_metric(void **state)
{
	const char csv[] =
	    "timestamp,gpu_id,hostname,uuid,utilization,power_draw,temperature,sm_active\n"
	    "2026-01-01T00:00:00Z,0,h1,GPU-a,4294967295,140737488355328,45,0.5\n"
	    "2026-01-01T00:00:01Z,0,h1,GPU-a,50,300,900,9223372036854775794\n"
	    "2026-01-01T00:00:02Z,0,h1,GPU-a,4294967295,140737488355328,2147483647,9223372036854775794\n";
	stm_reader_cfg   rc = {0};
	stm_reader      *r;
	stm_reader_stats st;
	sink             s = {0};
	double           v;
	(void)state;

	rc.quiet = 1;
	assert_int_equal(stm_reader_new(&r, &rc, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "sentinels.csv"), GT_OK);
	assert_int_equal(stm_reader_feed(r, csv, sizeof(csv) - 1), GT_OK);
	assert_int_equal(stm_reader_end(r), GT_OK);
	stm_reader_get_stats(r, &st);
	/* row 3 has nothing left: a bad row (no metric values), never a record of sentinels */
	assert_int_equal(s.n, 2);
	assert_false(metric(s.recs[0], "utilization", NULL));
	assert_false(metric(s.recs[0], "power_draw", NULL));
	assert_true(metric(s.recs[0], "temperature", &v) && v == 45);
	assert_true(metric(s.recs[0], "sm_active", &v) && v == 0.5);
	assert_true(metric(s.recs[1], "utilization", &v) && v == 50);
	assert_false(metric(s.recs[1], "temperature", NULL));
	assert_false(metric(s.recs[1], "sm_active", NULL));
	assert_int_equal(st.dropped, 8);
	assert_int_equal(st.dropped_by[slot_of("utilization")], 2);
	assert_int_equal(st.dropped_by[slot_of("power_draw")], 2);
	assert_int_equal(st.dropped_by[slot_of("temperature")], 2);
	assert_int_equal(st.dropped_by[STM_DROP_OTHER], 2);
	assert_int_equal(st.bad[STM_BAD_NO_METRICS], 1);
	sink_free(&s);
	stm_reader_free(r);
}

/* What --follow's state file may skip: never a partial line or a DCGM group not yet emitted. */
static void
test_stm_reader_pending_covers_partial_line_and_open_group(void **state)
{
	const char      h[] = "timestamp,gpu_id,metric_name,value\n";
	const char      r1[] = "1764633600000,0,DCGM_FI_DEV_GPU_TEMP,40\n";
	const char      r2[] = "1764633600000,0,DCGM_FI_DEV_POWER_USAGE,300\n";
	const char      r3a[] = "1764633601000,0,DCGM_FI_DEV_GPU_TEMP,4";
	const char      r3b[] = "1\n";
	stm_reader_cfg  rc = {0};
	stm_reader     *r;
	sink            s = {0};
	(void)state;

	rc.quiet = 1;
	assert_int_equal(stm_reader_new(&r, &rc, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "dcgm.csv"), GT_OK);
	assert_int_equal(stm_reader_feed(r, h, sizeof(h) - 1), GT_OK);
	assert_int_equal(stm_reader_pending(r), 0);
	assert_int_equal(stm_reader_feed(r, r1, sizeof(r1) - 1), GT_OK);
	assert_int_equal(stm_reader_pending(r), sizeof(r1) - 1); /* the group is open */
	assert_int_equal(stm_reader_feed(r, r2, sizeof(r2) - 1), GT_OK);
	assert_int_equal(stm_reader_pending(r), sizeof(r1) + sizeof(r2) - 2);
	assert_int_equal(stm_reader_feed(r, r3a, sizeof(r3a) - 1), GT_OK);
	assert_int_equal(stm_reader_pending(r), sizeof(r1) + sizeof(r2) + sizeof(r3a) - 3);
	assert_int_equal(s.n, 0);
	assert_int_equal(stm_reader_feed(r, r3b, sizeof(r3b) - 1), GT_OK);
	assert_int_equal(s.n, 1); /* the first group is out; the second one is open */
	assert_int_equal(stm_reader_pending(r), sizeof(r3a) + sizeof(r3b) - 2);
	sink_free(&s);
	stm_reader_free(r);

	/* wide: only the partial line */
	assert_int_equal(stm_reader_new(&r, &rc, sink_emit, &s), GT_OK);
	assert_int_equal(stm_reader_begin(r, "wide.csv"), GT_OK);
	assert_int_equal(stm_reader_feed(r, "gpu_id,temperature\n0,40\n1,4", 27), GT_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(stm_reader_pending(r), 3);
	sink_free(&s);
	stm_reader_free(r);
}

/* ---------------------------------------------------------------- exposition parser */

typedef struct psink {
	char     names[32][64];
	double   values[32];
	int64_t  ts[32];
	char     lab[32][256]; /* "k=v;k=v;" */
	size_t   n;
} psink;

static gt_err
psink_fn(const stm_prom_sample *sm, void *arg)
{
	psink *p = arg;

	assert_true(p->n < 32);
	snprintf(p->names[p->n], 64, "%.*s", (int)sm->name_len, sm->name);
	p->values[p->n] = sm->value;
	p->ts[p->n] = sm->ts_ms;
	p->lab[p->n][0] = '\0';
	for (size_t i = 0; i < sm->nlabels; i++) {
		char one[128];
		snprintf(one, sizeof(one), "%.*s=%.*s;", (int)sm->labels[i].name_len, sm->labels[i].name,
		    (int)sm->labels[i].value_len, sm->labels[i].value);
		strncat(p->lab[p->n], one, sizeof(p->lab[0]) - strlen(p->lab[p->n]) - 1);
	}
	p->n++;
	return GT_OK;
}

static void
test_stm_prom_parses_samples_labels_escapes(void **state)
{
	const char text[] =
	    "# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).\n"
	    "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n"
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",UUID=\"GPU-x\",pod=\"a \\\"q\\\" \\\\ \\n z\",} 45\n"
	    "\n"
	    "  up 1 1700000000123\r\n"
	    "x_total{ a = \"1\" , b=\"\" }\t-Inf\n"
	    "nan_metric NaN\n"
	    "last 2.5e3";
	stm_prom      *p;
	stm_prom_stats st;
	psink          s = {0};
	(void)state;

	assert_int_equal(stm_prom_new(&p), GT_OK);
	assert_int_equal(stm_prom_parse(p, text, sizeof(text) - 1, psink_fn, &s, &st), GT_OK);
	assert_int_equal(st.bad_lines, 0);
	assert_int_equal(st.samples, 5);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.names[0], "DCGM_FI_DEV_GPU_TEMP");
	assert_true(s.values[0] == 45);
	assert_true(s.ts[0] == STM_PROM_NO_TS);
	assert_string_equal(s.lab[0], "gpu=0;UUID=GPU-x;pod=a \"q\" \\ \n z;");
	assert_string_equal(s.names[1], "up");
	assert_true(s.ts[1] == 1700000000123);
	assert_string_equal(s.lab[2], "a=1;b=;");
	assert_true(s.values[2] < -1e308);
	assert_true(s.values[3] != s.values[3]); /* NaN */
	assert_true(s.values[4] == 2500);
	stm_prom_free(p);
}

static void
test_stm_prom_malformed_lines_counted_rest_parsed(void **state)
{
	const char *bad[] = {
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\" 45",          /* unclosed label set */
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"0} 45",           /* unterminated value */
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"\\q\"} 45",       /* unknown escape */
	    "DCGM_FI_DEV_GPU_TEMP{gpu=0} 45",             /* unquoted value */
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"} abc",        /* not a number */
	    "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"}",            /* no value */
	    "DCGM_FI_DEV_GPU_TEMP 45 12x",                /* bad timestamp */
	    "DCGM_FI_DEV_GPU_TEMP 45 12 13",              /* trailing junk */
	    "9metric 1",                                  /* bad name */
	    "{gpu=\"0\"} 1",                              /* no name */
	    "m{=\"0\"} 1",                                /* empty label name */
	    "m{a=\"1\"b=\"2\"} 1",                        /* missing comma */
	    "m 0x1p3",                                    /* hex float */
	};
	stm_prom      *p;
	stm_prom_stats st;
	char           text[2048] = "";
	psink          s = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcat(text, bad[i]);
		strcat(text, "\ngood{i=\"1\"} 7\n");
	}
	assert_int_equal(stm_prom_new(&p), GT_OK);
	assert_int_equal(stm_prom_parse(p, text, strlen(text), psink_fn, &s, &st), GT_OK);
	assert_int_equal(st.bad_lines, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(st.first_bad, 1);
	assert_int_equal(s.n, sizeof(bad) / sizeof(bad[0]));
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(s.names[i], "good");
		assert_true(s.values[i] == 7);
	}
	stm_prom_free(p);
}

/* ---------------------------------------------------------------- exposition -> records */

static const Gtpb__V1__TelemetryRecord *
by_uuid(sink *s, const char *uuid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->recs[i]->uuid, uuid) == 0)
			return s->recs[i];
	fail_msg("no record of %s", uuid);
	return NULL;
}

static void
test_stm_scrape_fixture_one_record_per_gpu(void **state)
{
	char                            *path = gt_test_fixture("prom/dcgm_exporter.prom");
	FILE                            *f = fopen(path, "rb");
	char                            *body = malloc(1 << 20);
	size_t                           len;
	stm_scrape_cfg                   sc = {0};
	stm_scrape                      *sp;
	sink                             s = {0};
	gt_buf                           js;
	int                              first = 1;
	const Gtpb__V1__TelemetryRecord *r;
	double                           v;
	const char                      *junk = "<html>502 Bad Gateway</html>\n{{{\n";
	const char                      *noid =
	    "DCGM_FI_DEV_GPU_TEMP{Hostname=\"h\"} 40\nDCGM_FI_DEV_GPU_TEMP{gpu=\"3\"} 41\n";
	(void)state;

	assert_non_null(f);
	len = fread(body, 1, 1 << 20, f);
	fclose(f);
	sc.urls = "http://127.0.0.1:1/metrics";
	sc.interval_ns = GT_NS_PER_S;
	sc.timeout_ns = GT_NS_PER_S;
	sc.reader.quiet = 1;
	sc.emit = sink_emit;
	sc.emit_arg = &s;
	assert_int_equal(stm_scrape_new(&sp, &sc), GT_OK);
	assert_int_equal(stm_scrape_body(sp, 0, body, len, 1764633600000000000LL), GT_OK);
	assert_int_equal(s.n, 4);

	r = by_uuid(&s, "GPU-1f0c2b4e-aaaa-4a4a-8c8c-000000000001");
	assert_string_equal(r->gpu_key, "GPU-1f0c2b4e-aaaa-4a4a-8c8c-000000000001");
	assert_string_equal(r->hostname, "node-a");
	assert_int_equal(r->gpu_index, 1);
	assert_string_equal(r->device, "nvidia1");
	assert_string_equal(r->model, "NVIDIA H100 80GB HBM3");
	assert_int_equal(r->timestamp_ns, 1764633600000000000LL);
	assert_true(metric(r, "sm_clock", &v) && v == 1411);
	assert_true(metric(r, "temperature", &v) && v == 41);
	assert_true(metric(r, "power_draw", &v) && v == 301.25);
	assert_true(metric(r, "memory_used", &v) && v == 11001);
	assert_true(metric(r, "DCGM_FI_DEV_XID_ERRORS", &v) && v == 0);
	assert_false(metric(r, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", NULL)); /* 2^47: blank */
	assert_int_equal(r->n_metrics, 10);
	assert_string_equal(label(r, "pod"), "job \"a\\b\"\nx");
	assert_string_equal(label(r, "namespace"), "ml");
	assert_string_equal(label(r, "pci_bus_id"), "00000000:2A:00.0");
	assert_string_equal(label(r, "DCGM_FI_DRIVER_VERSION"), "535.129.03");
	assert_null(label(r, "UUID"));
	assert_null(label(r, "Hostname"));

	r = by_uuid(&s, "GPU-77e0d2a1-bbbb-4b4b-9d9d-000000000001");
	assert_string_equal(r->hostname, "node-b");
	assert_string_equal(r->model, "NVIDIA A100-SXM4-40GB");
	assert_false(metric(r, "utilization", NULL)); /* 4294967295 */
	assert_int_equal(r->n_metrics, 9);
	assert_null(label(r, "pod"));
	r = by_uuid(&s, "GPU-1f0c2b4e-aaaa-4a4a-8c8c-000000000000");
	assert_false(metric(r, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", NULL));
	assert_true(metric(r, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", &v) && v == 0.812345);
	assert_int_equal(by_uuid(&s, "GPU-77e0d2a1-bbbb-4b4b-9d9d-000000000000")->n_metrics, 11);

	gt_buf_init(&js);
	stm_scrape_json(sp, &js, &first);
	gt_buf_putc(&js, '\0');
	assert_non_null(strstr(js.data, "\"samples\":44"));
	assert_non_null(strstr(js.data, "\"records\":4"));
	assert_non_null(strstr(js.data, "\"dropped_values\":4"));
	assert_non_null(strstr(js.data, "\"utilization\":1"));
	assert_non_null(strstr(js.data, "\"other\":3"));
	assert_non_null(strstr(js.data, "\"bad_input\":0"));
	gt_buf_fini(&js);

	/* garbage: counted, no record, never a crash */
	sink_free(&s);
	assert_int_equal(stm_scrape_body(sp, 0, junk, strlen(junk), 1), GT_EINVAL);
	assert_int_equal(stm_scrape_body(sp, 0, noid, strlen(noid), 1), GT_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.recs[0]->gpu_key, "3");
	gt_buf_init(&js);
	first = 1;
	stm_scrape_json(sp, &js, &first);
	gt_buf_putc(&js, '\0');
	assert_non_null(strstr(js.data, "\"bad_lines\":2"));
	assert_non_null(strstr(js.data, "\"no_gpu_identity\":1"));
	gt_buf_fini(&js);
	sink_free(&s);
	stm_scrape_free(sp);
	free(body);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stm_value_ok_sentinels_and_ranges),
		cmocka_unit_test(test_stm_csv_sentinels_dropped_and_counted_per_metric),
		cmocka_unit_test(test_stm_reader_pending_covers_partial_line_and_open_group),
		cmocka_unit_test(test_stm_prom_parses_samples_labels_escapes),
		cmocka_unit_test(test_stm_prom_malformed_lines_counted_rest_parsed),
		cmocka_unit_test(test_stm_scrape_fixture_one_record_per_gpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
