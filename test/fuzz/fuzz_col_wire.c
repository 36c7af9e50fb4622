/* fuzz_col_wire.c - the hand-written wire readers of the ingest path against protobuf-c.
 * Byte 0 chooses the message: even = TelemetryRecord (the common codec gt_record: the
 * collector's col_rec_new_wire and gt_record_pb_new_wire, then re-encoded by gt_record_pack),
 * odd = FetchResponse (col_fetch_parse); the rest is the message. Every reader must give
 * protobuf-c's verdict and, when it decodes, the same content. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "col_fetch.h"
#include "col_map.h"
#include "col_rec.h"
#include "fuzz_check.h"
#include "gt/gt_record.h"
#include "gtpb/v1/mq.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hides (hide = 1) or restores (0) the unknown fields protobuf-c keeps in pb and its map
 * entries: the codec drops unknown fields, protobuf-c packs them back. */
static void
unknowns(Gtpb__V1__TelemetryRecord *pb, int hide)
{
	static unsigned saved[1 << 16];
	size_t          k = 0, i;

#define UNK(m)                                                                                     \
	do {                                                                                       \
		FUZZ_CHECK(k < sizeof(saved) / sizeof(saved[0]));                                  \
		if (hide) {                                                                        \
			saved[k++] = (m)->base.n_unknown_fields;                                   \
			(m)->base.n_unknown_fields = 0;                                            \
		} else {                                                                           \
			(m)->base.n_unknown_fields = saved[k++];                                   \
		}                                                                                  \
	} while (0)
	UNK(pb);
	for (i = 0; i < pb->n_metrics; i++)
		UNK(pb->metrics[i]);
	for (i = 0; i < pb->n_labels; i++)
		UNK(pb->labels[i]);
#undef UNK
}

/* gt_record_pb_new_wire gives protobuf-c's struct (unknown fields aside): both pack to the
 * same bytes, and gt_record_pack packs it to those bytes too. */
static void
check_rec_pb(const uint8_t *p, size_t n, Gtpb__V1__TelemetryRecord *pb)
{
	gt_err                     rv;
	Gtpb__V1__TelemetryRecord *c = gt_record_pb_new_wire(p, n, &rv);
	size_t                     la, lb, lc;
	uint8_t                   *a, *b, *cc;

	FUZZ_CHECK(c != NULL && rv == GT_OK);
	unknowns(pb, 1);
	la = gtpb__v1__telemetry_record__get_packed_size(pb);
	lb = gtpb__v1__telemetry_record__get_packed_size(c);
	lc = gt_record_size(c);
	FUZZ_CHECK(la == lb && la == lc);
	a = malloc(la + 1);
	b = malloc(la + 1);
	cc = malloc(la + 1);
	FUZZ_CHECK(a && b && cc);
	FUZZ_CHECK(gtpb__v1__telemetry_record__pack(pb, a) == la);
	FUZZ_CHECK(gtpb__v1__telemetry_record__pack(c, b) == la);
	FUZZ_CHECK(gt_record_pack(c, cc) == la);
	FUZZ_CHECK(memcmp(a, b, la) == 0 && memcmp(a, cc, la) == 0);
	unknowns(pb, 0);
	free(a);
	free(b);
	free(cc);
	free(c);
}

static void
check_rec(const uint8_t *p, size_t n)
{
	Gtpb__V1__TelemetryRecord *pb = gtpb__v1__telemetry_record__unpack(NULL, n, p);
	col_rec                   *a = NULL, *b = NULL;
	gt_err                     rv = col_rec_new_wire(&a, p, n, "fallback", 8);
	uint32_t                   i;

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
	if (pb == NULL) {
		FUZZ_CHECK(gt_record_pb_new_wire(p, n, &rv) == NULL && rv == GT_EPROTO);
		return;
	}
	FUZZ_CHECK(col_rec_new_pb(&b, pb, pb->gpu_key[0] ? NULL : "fallback") == GT_OK);
	FUZZ_CHECK(strcmp(a->gpu_key, b->gpu_key) == 0 && a->key_hash == b->key_hash);
	FUZZ_CHECK(a->key_hash == col_map_hash(a->gpu_key, strlen(a->gpu_key)));
	FUZZ_CHECK(strcmp(a->hostname, b->hostname) == 0 && strcmp(a->uuid, b->uuid) == 0);
	FUZZ_CHECK(strcmp(a->device, b->device) == 0 && strcmp(a->model, b->model) == 0);
	FUZZ_CHECK(strcmp(a->gpu_id, b->gpu_id) == 0);
	FUZZ_CHECK(a->ts_ns == b->ts_ns && a->gpu_index == b->gpu_index);
	FUZZ_CHECK(a->nmetrics == b->nmetrics && a->nlabels == b->nlabels && a->size == b->size);
	for (i = 0; i < a->nmetrics; i++) {
		FUZZ_CHECK(strcmp(a->metrics[i].name, b->metrics[i].name) == 0);
		FUZZ_CHECK(memcmp(&a->metrics[i].value, &b->metrics[i].value, sizeof(double)) == 0);
	}
	for (i = 0; i < a->nlabels; i++) {
		FUZZ_CHECK(strcmp(a->labels[i].key, b->labels[i].key) == 0);
		FUZZ_CHECK(strcmp(a->labels[i].value, b->labels[i].value) == 0);
	}
	col_rec_rele(a);
	col_rec_rele(b);
	check_rec_pb(p, n, pb);
	protobuf_c_message_free_unpacked(&pb->base, NULL);
}

static void
check_fetch(const uint8_t *p, size_t n)
{
	Gtpb__V1__FetchResponse *pb = gtpb__v1__fetch_response__unpack(NULL, n, p);
	col_fetch                f = {0};
	gt_err                   rv = col_fetch_parse(&f, p, n);
	size_t                   i;

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
	if (pb != NULL) {
		FUZZ_CHECK(f.n == pb->n_deliveries && f.epoch == pb->epoch);
		for (i = 0; i < f.n; i++) {
			const Gtpb__V1__Delivery *d = pb->deliveries[i];
			const col_dlv            *v = &f.v[i];

			FUZZ_CHECK(v->attempt == d->attempt);
			FUZZ_CHECK(v->has_id == (d->id != NULL) &&
			           v->has_msg == (d->message != NULL));
			if (d->id)
				FUZZ_CHECK(v->epoch == d->id->epoch &&
				           v->partition == d->id->partition &&
				           v->offset == d->id->offset);
			if (d->message) {
				size_t kl = strlen(d->message->key);

				FUZZ_CHECK(strnlen((const char *)v->key, v->key_len) == kl);
				FUZZ_CHECK(memcmp(v->key, d->message->key, kl) == 0);
				FUZZ_CHECK(v->payload_len == d->message->payload.len);
				FUZZ_CHECK(v->payload_len == 0 ||
				           memcmp(v->payload, d->message->payload.data,
				                  v->payload_len) == 0);
			}
		}
		protobuf_c_message_free_unpacked(&pb->base, NULL);
	}
	col_fetch_fini(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		check_rec(data + 1, size - 1);
	else
		check_fetch(data + 1, size - 1);
	return 0;
}
