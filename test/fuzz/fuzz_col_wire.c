/* fuzz_col_wire.c - the collector's hand-written wire readers against protobuf-c.
 * Byte 0 chooses the message: even = TelemetryRecord (col_rec_new_wire), odd = FetchResponse
 * (col_fetch_parse); the rest is the message. Both readers must give protobuf-c's verdict and,
 * when it decodes, the same content. */
#include <stdint.h>
#include <string.h>

#include "col_fetch.h"
#include "col_map.h"
#include "col_rec.h"
#include "fuzz_check.h"
#include "gtpb/v1/mq.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rec(const uint8_t *p, size_t n)
{
	Gtpb__V1__TelemetryRecord *pb = gtpb__v1__telemetry_record__unpack(NULL, n, p);
	col_rec                   *a = NULL, *b = NULL;
	gt_err                     rv = col_rec_new_wire(&a, p, n, "fallback", 8);
	uint32_t                   i;

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
	if (pb == NULL)
		return;
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
