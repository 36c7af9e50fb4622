/* fuzz_stm_csv.c - the streamer's CSV reader (all three formats, auto-detected) on arbitrary
 * input fed in two chunks split at a position taken from byte 0; the high nibble of byte 0,
 * when not 0, sets small limits (max_line 8..120 bytes, max_fields 1..15) so that the line
 * and column limits are reached. Every record it emits must pack with the hand-written encoder
 * to exactly protobuf-c's bytes, and those bytes must decode back to the same record; a
 * source timestamp is never <= 0 (and a record without one has 0); no record comes from a
 * line over the limit; the reader's counters (per bad-row reason too) must add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_log.h"
#include "stm_codec.h"
#include "stm_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_in {
	const uint8_t *data;
	size_t         size;
	size_t         max_line;
	uint64_t       emitted;
} fuzz_in;

/* Length of line `line` (1-based, '\n' not counted) of the input; 0 when the line holds a
 * bare '\r' (libcsv ends a row there, so a row may complete before the line grows too long
 * when the line arrives in two chunks). */
static size_t
line_len(const fuzz_in *in, uint64_t line)
{
	size_t i = 0, start;

	for (uint64_t l = 1; l < line && i < in->size; i++)
		if (in->data[i] == '\n')
			l++;
	for (start = i; i < in->size && in->data[i] != '\n'; i++)
		if (in->data[i] == '\r' && i + 1 < in->size && in->data[i + 1] != '\n')
			return 0;
	return i - start;
}

static gt_err
emit(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	fuzz_in *in = arg;
	size_t   n = stm_codec_size(rec), n2 = gtpb__v1__telemetry_record__get_packed_size(rec);
	uint8_t *a = malloc(n + 1), *b = malloc(n2 + 1);
	Gtpb__V1__TelemetryRecord *back;

	in->emitted++;
	FUZZ_CHECK(info->ts_source ? rec->timestamp_ns > 0 : rec->timestamp_ns == 0);
	FUZZ_CHECK(line_len(in, info->line) <= in->max_line);
	FUZZ_CHECK(n == n2);
	FUZZ_CHECK(stm_codec_pack(rec, a) == n);
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
	stm_reader_cfg   cfg = {.format = STM_FMT_AUTO, .hostname = "fuzz-host", .quiet = 1};
	stm_reader      *r = NULL;
	stm_reader_stats st;
	fuzz_in          in = {0};
	uint64_t         bad = 0;
	size_t           cut;
	unsigned         lim;

	if (!quiet_logs) {
		gt_log_set_level(GT_LOG_OFF); /* the reader logs bad headers */
		quiet_logs = 1;
	}
	if (size == 0)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	lim = data[0] >> 4;
	data++;
	size--;
	if (cut > size)
		cut = size;
	cfg.max_line = lim ? lim * 8 : 0;
	cfg.max_fields = lim;
	in.data = data;
	in.size = size;
	in.max_line = lim ? lim * 8 : STM_MAX_LINE;
	FUZZ_CHECK(stm_reader_new(&r, &cfg, emit, &in) == GT_OK);
	if (stm_reader_begin(r, "fuzz.csv") == GT_OK && stm_reader_feed(r, data, cut) == GT_OK &&
	    stm_reader_feed(r, data + cut, size - cut) == GT_OK)
		(void)stm_reader_end(r);
	stm_reader_get_stats(r, &st);
	for (int i = 0; i < STM_BAD__COUNT; i++)
		bad += st.bad[i];
	FUZZ_CHECK(st.records == in.emitted && st.bad_rows <= st.rows && bad == st.bad_rows);
	stm_reader_free(r);
	return 0;
}
