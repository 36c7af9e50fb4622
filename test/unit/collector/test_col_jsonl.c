/* Unit tests: JSONL encode (gt_json writer) / decode (jansson) round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "col_jsonl.h"
#include "gt/gt_json.h"
#include "gt/gt_time.h"
#include "test_col_common.h"

static void
assert_rec_equal(const col_rec *a, const col_rec *b)
{
	uint32_t i;

	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_string_equal(a->gpu_key, b->gpu_key);
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->uuid, b->uuid);
	assert_string_equal(a->model, b->model);
	assert_string_equal(a->device, b->device);
	assert_string_equal(a->gpu_id, b->gpu_id);
	assert_int_equal(a->gpu_index, b->gpu_index);
	assert_int_equal(a->nmetrics, b->nmetrics);
	assert_int_equal(a->nlabels, b->nlabels);
	for (i = 0; i < a->nmetrics; i++) {
		double v;

		assert_true(col_rec_metric(b, a->metrics[i].name, &v));
		assert_true(v == a->metrics[i].value);
	}
	for (i = 0; i < a->nlabels; i++) {
		uint32_t j;
		int      found = 0;

		for (j = 0; j < b->nlabels; j++)
			if (!strcmp(a->labels[i].key, b->labels[j].key) &&
			    !strcmp(a->labels[i].value, b->labels[j].value))
				found = 1;
		assert_true(found);
	}
}

static void
test_col_jsonl_round_trip(void **state)
{
	col_rec     *r = tc_rec("GPU-1234", INT64_C(1764197351123456789), 61.25), *back = NULL;
	col_delivery id = {UINT64_C(18446744073709551000), 7, 123456789, 1}, id2;
	gt_buf       b;

	(void)state;
	gt_buf_init(&b);
	assert_int_equal(col_jsonl_encode(&b, r, &id), GT_OK);
	assert_int_equal(b.data[b.len - 1], '\n');
	assert_non_null(memmem(b.data, b.len, "\"timestamp\":\"2025-11-26T22:49:11.123456789Z\"", 44));
	assert_int_equal(col_jsonl_decode(b.data, b.len - 1, &back, &id2), GT_OK);
	assert_rec_equal(r, back);
	assert_true(id2.valid);
	assert_true(id2.epoch == id.epoch && id2.partition == 7 && id2.offset == 123456789);
	col_rec_rele(back);
	col_rec_rele(r);
	gt_buf_fini(&b);
}

static void
test_col_jsonl_odd_labels_escape(void **state)
{
	Gtpb__V1__TelemetryRecord               pb = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__LabelsEntry  l[4], *lp[4] = {&l[0], &l[1], &l[2], &l[3]};
	Gtpb__V1__TelemetryRecord__MetricsEntry m, *mp[1] = {&m};
	col_rec                                *r, *back;
	gt_buf                                  b;
	json_t                                 *o;
	int64_t                                 ts;
	int                                     i;

	(void)state;
	for (i = 0; i < 4; i++)
		gtpb__v1__telemetry_record__labels_entry__init(&l[i]);
	gtpb__v1__telemetry_record__metrics_entry__init(&m);
	l[0].key = "quote\"back\\slash";
	l[0].value = "line\nbreak\ttab";
	l[1].key = "timestamp"; /* a label named like a member must not confuse peek_ts */
	l[1].value = "},\"timestamp\":\"1999-01-01T00:00:00Z";
	l[2].key = "utf8";
	l[2].value = "h\xc3\xa9llo \xe2\x82\xac";
	l[3].key = "ctl";
	l[3].value = "\x01\x1f";
	m.key = "odd \"metric\"";
	m.value = 1e-300;
	pb.timestamp_ns = 1000000001;
	pb.gpu_key = "host/0";
	pb.gpu_index = -1;
	pb.n_labels = 4;
	pb.labels = lp;
	pb.n_metrics = 1;
	pb.metrics = mp;
	assert_int_equal(col_rec_new_pb(&r, &pb, NULL), GT_OK);
	gt_buf_init(&b);
	assert_int_equal(col_jsonl_encode(&b, r, NULL), GT_OK);
	/* exactly one line, valid JSON for jansson */
	assert_ptr_equal(memchr(b.data, '\n', b.len), b.data + b.len - 1);
	o = json_loadb(b.data, b.len, 0, NULL);
	assert_non_null(o);
	json_decref(o);
	assert_int_equal(col_jsonl_decode(b.data, b.len, &back, NULL), GT_OK);
	assert_rec_equal(r, back);
	assert_int_equal(col_jsonl_peek_ts(b.data, b.len, &ts), GT_OK);
	assert_int_equal(ts, 1000000001);
	col_rec_rele(back);
	col_rec_rele(r);
	gt_buf_fini(&b);
}

static void
test_col_jsonl_seed_line_decodes(void **state)
{
	const char *seed = "{\"gpu_id\":\"0\",\"hostname\":\"h\",\"metrics\":{\"temperature\":40},"
	                   "\"timestamp\":\"2026-01-02T03:04:05Z\"}";
	col_rec    *r;
	int64_t     ts;

	(void)state;
	assert_int_equal(col_jsonl_decode(seed, strlen(seed), &r, NULL), GT_OK);
	assert_string_equal(r->gpu_key, "0");
	assert_int_equal(r->nmetrics, 1);
	assert_int_equal(col_jsonl_peek_ts(seed, strlen(seed), &ts), GT_OK);
	assert_int_equal(ts, r->ts_ns);
	col_rec_rele(r);
}

static void
test_col_jsonl_rejects_garbage(void **state)
{
	const char *bad[] = {"", "{", "[]", "{\"gpu_key\":\"x\"}", "{\"gpu_key\":\"x\",\"timestamp\":\"nope\"}",
	    "{\"timestamp\":\"2026-01-02T03:04:05Z\"}", "{\"gpu_key\":\"x\",\"timestamp\":\"2026-01-02T03:04"};
	size_t      i;
	col_rec    *r;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(col_jsonl_decode(bad[i], strlen(bad[i]), &r, NULL), GT_EPROTO);
}

static void
test_col_jsonl_metric_filter_and_pb(void **state)
{
	col_rec                   *r = tc_rec("k", 5, 1.5);
	const char                *want[] = {"utilization"};
	Gtpb__V1__TelemetryRecord *pb;
	gt_buf                     b;

	(void)state;
	gt_buf_init(&b);
	assert_int_equal(col_jsonl_encode_obj(&b, r, NULL, want, 1), GT_OK);
	assert_null(strstr(b.data, "temperature"));
	assert_non_null(strstr(b.data, "\"utilization\":50.5"));
	pb = col_rec_pb_new(r, want, 1);
	assert_non_null(pb);
	assert_int_equal(pb->n_metrics, 1);
	assert_string_equal(pb->metrics[0]->key, "utilization");
	assert_int_equal(pb->n_labels, 1);
	assert_string_equal(pb->gpu_key, "k");
	free(pb);
	col_rec_rele(r);
	gt_buf_fini(&b);
}

static void
test_col_jsonl_doubles_round_trip_exactly(void **state)
{
	const double vals[] = {50.05, -0.5, 1e-7, 123456.789012, 0.1, 1.0 / 3.0, 1e300, -1e-300, 42,
	    -17.25, 99.999999, 1234567.000001, 0.000001, 5e-324, 1e15 + 0.5, -0.0};
	size_t       i;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		col_rec *r = tc_rec("k", 1, vals[i]), *back;
		gt_buf   b;
		double   v;

		gt_buf_init(&b);
		assert_int_equal(col_jsonl_encode(&b, r, NULL), GT_OK);
		assert_int_equal(col_jsonl_decode(b.data, b.len, &back, NULL), GT_OK);
		assert_true(col_rec_metric(back, "temperature", &v));
		assert_true(v == vals[i]);
		col_rec_rele(back);
		col_rec_rele(r);
		gt_buf_fini(&b);
	}
}

/* The encoder's own fast paths (timestamps, plain strings, zero) write exactly what the
 * common formatters write. */
static void
test_col_jsonl_fast_paths_match_common(void **state)
{
	const int64_t ts[] = {1, 999999999, 1000000000, INT64_C(86399999999999),
	    INT64_C(86400000000000), INT64_C(1764197351123456789), INT64_C(1767225599999999999),
	    INT64_C(1767225600000000000), INT64_C(951782400000000001) /* 2000-02-29 */,
	    INT64_C(-1), INT64_C(-86400000000001), INT64_MAX, INT64_MIN + 1, INT64_MIN};
	const char *strs[] = {"", "a", "1234567", "12345678", "123456789abcdef0", "GPU-0428aff0-c4bd",
	    "tab\there", "1234567\"", "12345678\\", "abcdefgh\x1f", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f",
	    "h\xc3\xa9llo world", "abcdefgh\xff", " !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"};
	size_t      i;
	gt_buf      b, want;
	char        tmp[64];

	(void)state;
	gt_buf_init(&b);
	gt_buf_init(&want);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		col_rec *r = tc_rec("k", ts[i], 0.0);
		size_t   n = gt_rfc3339_format(ts[i], 9, tmp, sizeof(tmp));

		gt_buf_reset(&b);
		gt_buf_reset(&want);
		assert_int_equal(col_jsonl_encode_obj(&b, r, NULL, NULL, 0), GT_OK);
		assert_int_equal(gt_buf_printf(&want, "\"timestamp\":\"%.*s\"", (int)n, tmp), GT_OK);
		assert_non_null(strstr(b.data, want.data));
		assert_non_null(strstr(b.data, "\"temperature\":0,"));
		col_rec_rele(r);
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		Gtpb__V1__TelemetryRecord              pb = GTPB__V1__TELEMETRY_RECORD__INIT;
		Gtpb__V1__TelemetryRecord__LabelsEntry l, *lp[1] = {&l};
		col_rec                               *r;

		gtpb__v1__telemetry_record__labels_entry__init(&l);
		l.key = (char *)strs[i];
		l.value = (char *)strs[i];
		pb.timestamp_ns = 1;
		pb.gpu_key = (char *)strs[i];
		pb.hostname = (char *)strs[i];
		pb.n_labels = 1;
		pb.labels = lp;
		assert_int_equal(col_rec_new_pb(&r, &pb, NULL), GT_OK);
		gt_buf_reset(&b);
		gt_buf_reset(&want);
		assert_int_equal(col_jsonl_encode_obj(&b, r, NULL, NULL, 0), GT_OK);
		assert_int_equal(gt_buf_puts(&want, ",\"hostname\":"), GT_OK);
		assert_int_equal(gt_json_cstr(&want, strs[i]), GT_OK);
		assert_non_null(strstr(b.data, want.data));
		gt_buf_reset(&want);
		assert_int_equal(gt_buf_puts(&want, "\"labels\":{"), GT_OK);
		assert_int_equal(gt_json_cstr(&want, strs[i]), GT_OK);
		assert_int_equal(gt_buf_putc(&want, ':'), GT_OK);
		assert_int_equal(gt_json_cstr(&want, strs[i]), GT_OK);
		assert_int_equal(gt_buf_putc(&want, '}'), GT_OK);
		assert_non_null(strstr(b.data, want.data));
		col_rec_rele(r);
	}
	gt_buf_fini(&b);
	gt_buf_fini(&want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_col_jsonl_round_trip),
	    cmocka_unit_test(test_col_jsonl_fast_paths_match_common),
	    cmocka_unit_test(test_col_jsonl_odd_labels_escape),
	    cmocka_unit_test(test_col_jsonl_seed_line_decodes),
	    cmocka_unit_test(test_col_jsonl_rejects_garbage),
	    cmocka_unit_test(test_col_jsonl_metric_filter_and_pb),
	    cmocka_unit_test(test_col_jsonl_doubles_round_trip_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
