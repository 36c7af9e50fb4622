/* test_stm_codec.c - the common TelemetryRecord encoder (gt_record_pack) gives protobuf-c's
 * bytes for every record the streamer builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_log.h"
#include "gt/gt_record.h"
#include "gt_test.h"
#include "stm_reader.h"

static size_t checked;

static void
assert_same_bytes(const Gtpb__V1__TelemetryRecord *r)
{
	size_t   n = gtpb__v1__telemetry_record__get_packed_size(r);
	size_t   m = gt_record_size(r);
	uint8_t *a = malloc(n + 1), *b = malloc(m + 1);

	assert_int_equal(m, n);
	assert_int_equal(gtpb__v1__telemetry_record__pack(r, a), n);
	assert_int_equal(gt_record_pack(r, b), m);
	assert_memory_equal(a, b, n);
	free(a);
	free(b);
	checked++;
}

static void
test_stm_codec_matches_protobuf_c_on_edge_values(void **state)
{
	Gtpb__V1__TelemetryRecord                r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry  m[4];
	Gtpb__V1__TelemetryRecord__MetricsEntry *pm[4];
	Gtpb__V1__TelemetryRecord__LabelsEntry   l[3];
	Gtpb__V1__TelemetryRecord__LabelsEntry  *pl[3];
	static const double vals[] = {0.0, -0.0, 1.5, -273.15, 1e300, 5e-324};
	static const int64_t ts[] = {0, 1, 127, 128, INT64_C(1795730400123456789), -1, INT64_MAX};
	static const int32_t idx[] = {0, 1, 7, 127, 128, -1, INT32_MIN, INT32_MAX};
	char long_key[300];
	(void)state;

	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	for (int i = 0; i < 4; i++) {
		gtpb__v1__telemetry_record__metrics_entry__init(&m[i]);
		pm[i] = &m[i];
	}
	for (int i = 0; i < 3; i++) {
		gtpb__v1__telemetry_record__labels_entry__init(&l[i]);
		pl[i] = &l[i];
	}
	assert_same_bytes(&r); /* all defaults: empty */
	m[0].key = "temperature";
	m[1].key = "";
	m[2].key = long_key;
	m[3].key = "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE";
	l[0].key = "pci_bus_id";
	l[0].value = "00000000:04:00.0";
	l[1].key = "";
	l[1].value = "";
	l[2].key = "note";
	l[2].value = long_key;
	r.metrics = pm;
	r.n_metrics = 4;
	r.labels = pl;
	r.n_labels = 3;
	r.gpu_key = "GPU-0a1b2c3d-0000-4000-8000-000000000001";
	r.hostname = "node-1";
	r.device = "nvidia0";
	r.uuid = r.gpu_key;
	r.model = "NVIDIA H100 80GB HBM3";
	r.gpu_id = "0";
	for (size_t a = 0; a < sizeof(ts) / sizeof(ts[0]); a++)
		for (size_t b = 0; b < sizeof(idx) / sizeof(idx[0]); b++)
			for (size_t c = 0; c < sizeof(vals) / sizeof(vals[0]); c++) {
				r.timestamp_ns = ts[a];
				r.gpu_index = idx[b];
				for (int k = 0; k < 4; k++)
					m[k].value = vals[(c + (size_t)k) % 6];
				assert_same_bytes(&r);
			}
}

static gt_err
check_emit(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	(void)info;
	(void)arg;
	assert_same_bytes(rec);
	return GT_OK;
}

static void
test_stm_codec_matches_protobuf_c_on_every_fixture_record(void **state)
{
	static const char *files[] = {"csv/wide_basic.csv", "csv/wide_edge.csv", "csv/dcgm_basic.csv",
	    "csv/dcgm_edge.csv", "csv/smi_basic.csv"};
	(void)state;

	gt_log_open("test", GT_LOG_ERROR);
	checked = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		stm_reader_cfg cfg = {0};
		stm_reader    *r;
		char          *path = gt_test_fixture(files[i]);
		assert_int_equal(stm_reader_new(&r, &cfg, check_emit, NULL), GT_OK);
		assert_int_equal(stm_reader_file(r, path), GT_OK);
		stm_reader_free(r);
		free(path);
	}
	assert_int_equal(checked, 6 + 4 + 4 + 3 + 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stm_codec_matches_protobuf_c_on_edge_values),
		cmocka_unit_test(test_stm_codec_matches_protobuf_c_on_every_fixture_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
