/* fuzz_stm_csv.c - the streamer's CSV reader (all three formats, auto-detected) on arbitrary
 * input fed in two chunks split at a position taken from byte 0. Every record it emits must
 * pack with the hand-written encoder to exactly protobuf-c's bytes, and those bytes must
 * decode back to the same record; the reader's counters must add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_log.h"
#include "gt/gt_record.h"
#include "stm_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gt_err
emit(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	size_t   n = gt_record_size(rec), n2 = gtpb__v1__telemetry_record__get_packed_size(rec);
	uint8_t *a = malloc(n + 1), *b = malloc(n2 + 1);
	Gtpb__V1__TelemetryRecord *back;

	(void)info;
	++*(uint64_t *)arg;
	FUZZ_CHECK(n == n2);
	FUZZ_CHECK(gt_record_pack(rec, a) == n);
	FUZZ_CHECK(gtpb__v1__telemetry_record__pack(rec, b) == n2);
	FUZZ_CHECK(memcmp(a, b, n) == 0);
	FUZZ_CHECK((back = gtpb__v1__telemetry_record__unpack(NULL, n, a)) != NULL);
	FUZZ_CHECK(back->timestamp_ns == rec->timestamp_ns && back->n_metrics == rec->n_metrics);
	FUZZ_CHECK(strcmp(back->gpu_key, rec->gpu_key ? rec->gpu_key : "") == 0);
	protobuf_c_message_free_unpacked(&back->base, NULL);
	free(a);
	free(b);
	return GT_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int       quiet_logs;
	stm_reader_cfg   cfg = {STM_FMT_AUTO, NULL, "fuzz-host", 1};
	stm_reader      *r = NULL;
	stm_reader_stats st;
	uint64_t         emitted = 0;
	size_t           cut;

	if (!quiet_logs) {
		gt_log_set_level(GT_LOG_OFF); /* the reader logs bad headers */
		quiet_logs = 1;
	}
	if (size == 0)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	FUZZ_CHECK(stm_reader_new(&r, &cfg, emit, &emitted) == GT_OK);
	if (stm_reader_begin(r, "fuzz.csv") == GT_OK && stm_reader_feed(r, data, cut) == GT_OK &&
	    stm_reader_feed(r, data + cut, size - cut) == GT_OK)
		(void)stm_reader_end(r);
	stm_reader_get_stats(r, &st);
	FUZZ_CHECK(st.records == emitted && st.bad_rows <= st.rows);
	stm_reader_free(r);
	return 0;
}
