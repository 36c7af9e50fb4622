/* fuzz_col_jsonl.c - the collector's JSONL line codec on arbitrary lines (files are read back
 * at start-up and for queries: a damaged file must never crash the collector). Whatever
 * col_jsonl_decode accepts must survive encode -> decode unchanged, and the timestamp peek used
 * by the index must agree with the full decode on lines the encoder wrote. */
#include <stdint.h>
#include <string.h>

#include "col_jsonl.h"
#include "fuzz_check.h"
#include "gt/gt_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_rec(const col_rec *a, const col_rec *b)
{
	uint32_t i, j;

	FUZZ_CHECK(strcmp(a->gpu_key, b->gpu_key) == 0 && strcmp(a->hostname, b->hostname) == 0);
	FUZZ_CHECK(strcmp(a->uuid, b->uuid) == 0 && strcmp(a->device, b->device) == 0);
	FUZZ_CHECK(strcmp(a->model, b->model) == 0 && strcmp(a->gpu_id, b->gpu_id) == 0);
	FUZZ_CHECK(a->ts_ns == b->ts_ns && a->gpu_index == b->gpu_index);
	FUZZ_CHECK(a->nmetrics == b->nmetrics && a->nlabels == b->nlabels);
	for (i = 0; i < a->nmetrics; i++) { /* JSON objects are unordered: find by name */
		for (j = 0; j < b->nmetrics && strcmp(a->metrics[i].name, b->metrics[j].name) != 0;
		     j++)
			;
		FUZZ_CHECK(j < b->nmetrics);
		FUZZ_CHECK(memcmp(&a->metrics[i].value, &b->metrics[j].value, sizeof(double)) == 0);
	}
	for (i = 0; i < a->nlabels; i++) {
		for (j = 0; j < b->nlabels && strcmp(a->labels[i].key, b->labels[j].key) != 0; j++)
			;
		FUZZ_CHECK(j < b->nlabels && strcmp(a->labels[i].value, b->labels[j].value) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	col_rec     *r = NULL, *r2 = NULL;
	col_delivery id, id2;
	gt_buf       line;
	int64_t      ts;

	if (col_jsonl_decode((const char *)data, size, &r, &id) != GT_OK)
		return 0;
	gt_buf_init(&line);
	FUZZ_CHECK(col_jsonl_encode(&line, r, &id) == GT_OK);
	FUZZ_CHECK(line.len > 0 && line.data[line.len - 1] == '\n');
	FUZZ_CHECK(memchr(line.data, '\n', line.len - 1) == NULL); /* one line */
	FUZZ_CHECK(col_jsonl_decode(line.data, line.len - 1, &r2, &id2) == GT_OK);
	same_rec(r, r2);
	FUZZ_CHECK(id.valid == id2.valid);
	if (id.valid)
		FUZZ_CHECK(id.epoch == id2.epoch && id.partition == id2.partition &&
		           id.offset == id2.offset);
	FUZZ_CHECK(col_jsonl_peek_ts(line.data, line.len - 1, &ts) == GT_OK && ts == r->ts_ns);
	col_rec_rele(r);
	col_rec_rele(r2);
	gt_buf_fini(&line);
	return 0;
}
