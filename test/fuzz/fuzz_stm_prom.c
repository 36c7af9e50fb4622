/* fuzz_stm_prom.c - the streamer's Prometheus exposition parser and the dcgm-exporter mapping
 * on arbitrary input. The parser's counters must add up (every line is blank, a comment, a
 * sample or bad; a line count that matches the input's newlines), every sample name must
 * follow the grammar (label names too). The same
 * input then goes through the scrape mapping: every record must pack with the hand-written
 * encoder to exactly protobuf-c's bytes, carry a GPU key, and hold no value the sentinel
 * filter refuses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_log.h"
#include "gt/gt_record.h"
#include "stm_prom.h"
#include "stm_scrape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int  alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static gt_err
on_sample(const stm_prom_sample *s, void *arg)
{
	(void)arg;
	FUZZ_CHECK(name_ok(s->name, s->name_len));
	FUZZ_CHECK(s->nlabels <= STM_PROM_MAX_LABELS);
	for (size_t i = 0; i < s->nlabels; i++) {
		FUZZ_CHECK(name_ok(s->labels[i].name, s->labels[i].name_len));
		FUZZ_CHECK(s->labels[i].value != NULL || s->labels[i].value_len == 0);
	}
	return GT_OK;
}

static gt_err
on_record(Gtpb__V1__TelemetryRecord *rec, const stm_rec_info *info, void *arg)
{
	size_t   want = gtpb__v1__telemetry_record__get_packed_size(rec);
	size_t   got = gt_record_size(rec);
	uint8_t *a = malloc(want + 1), *b = malloc(got + 1);

	(void)info;
	(void)arg;
	FUZZ_CHECK(a != NULL && b != NULL);
	FUZZ_CHECK(want == got);
	gtpb__v1__telemetry_record__pack(rec, a);
	FUZZ_CHECK(gt_record_pack(rec, b) == got);
	FUZZ_CHECK(memcmp(a, b, got) == 0);
	FUZZ_CHECK(rec->gpu_key != NULL && *rec->gpu_key);
	FUZZ_CHECK(rec->n_metrics > 0);
	for (size_t i = 0; i < rec->n_metrics; i++) {
		unsigned slot;
		FUZZ_CHECK(stm_value_ok(rec->metrics[i]->key, rec->metrics[i]->value, &slot));
	}
	free(a);
	free(b);
	return GT_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static stm_scrape *sp;
	stm_prom          *p;
	stm_prom_stats     st;
	uint64_t           nl = 0;

	if (sp == NULL) {
		stm_scrape_cfg sc = {0};
		gt_log_open("fuzz", GT_LOG_OFF);
		sc.urls = "http://127.0.0.1:1/metrics";
		sc.interval_ns = 1000000000;
		sc.timeout_ns = 1000000000;
		sc.reader.quiet = 1;
		sc.emit = on_record;
		FUZZ_CHECK(stm_scrape_new(&sp, &sc) == GT_OK);
	}
	FUZZ_CHECK(stm_prom_new(&p) == GT_OK);
	FUZZ_CHECK(stm_prom_parse(p, (const char *)data, size, on_sample, NULL, &st) == GT_OK);
	for (size_t i = 0; i < size; i++)
		nl += data[i] == '\n';
	FUZZ_CHECK(st.lines == nl + (size > 0 && data[size - 1] != '\n'));
	FUZZ_CHECK(st.samples + st.bad_lines <= st.lines);
	FUZZ_CHECK((st.bad_lines == 0) == (st.first_bad == 0));
	stm_prom_free(p);
	stm_scrape_body(sp, 0, (const char *)data, size, 1764633600000000000LL);
	return 0;
}
