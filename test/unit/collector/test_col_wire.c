/* test_col_wire.c - the hand-written wire readers of the ingest path (col_rec_new_wire,
 * col_fetch_parse), checked against protobuf-c: same records, same deliveries, and the same
 * verdict on every truncation of a valid message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "col_fetch.h"
#include "col_map.h"
#include "col_rec.h"
#include "gtpb/v1/mq.pb-c.h"

/* A record with nm metrics (m0, m1, ...) and nl labels, packed with protobuf-c (free()). */
static uint8_t *
pack_rec(const char *gpu_key, int64_t ts, int32_t index, size_t nm, size_t nl, size_t *len)
{
	Gtpb__V1__TelemetryRecord                r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry *me = calloc(nm + 1, sizeof(*me)), **mp = calloc(nm + 1, sizeof(*mp));
	Gtpb__V1__TelemetryRecord__LabelsEntry  *le = calloc(nl + 1, sizeof(*le)), **lp = calloc(nl + 1, sizeof(*lp));
	char (*names)[24] = calloc(nm + nl + 1, 24);
	uint8_t *buf;
	size_t   i;

	for (i = 0; i < nm; i++) {
		gtpb__v1__telemetry_record__metrics_entry__init(&me[i]);
		snprintf(names[i], 24, "m%zu", i);
		me[i].key = names[i];
		me[i].value = (double)i * 1.25 - 3;
		mp[i] = &me[i];
	}
	for (i = 0; i < nl; i++) {
		gtpb__v1__telemetry_record__labels_entry__init(&le[i]);
		snprintf(names[nm + i], 24, "l%zu", i);
		le[i].key = names[nm + i];
		le[i].value = i % 2 ? "odd \"value\"\n" : "";
		lp[i] = &le[i];
	}
	r.timestamp_ns = ts;
	r.gpu_key = (char *)gpu_key;
	r.hostname = "node-7";
	r.gpu_index = index;
	r.device = "nvidia2";
	r.uuid = "GPU-abcd";
	r.model = "NVIDIA H100 80GB HBM3";
	r.gpu_id = "2";
	r.n_metrics = nm;
	r.metrics = mp;
	r.n_labels = nl;
	r.labels = lp;
	*len = gtpb__v1__telemetry_record__get_packed_size(&r);
	buf = malloc(*len + 1);
	gtpb__v1__telemetry_record__pack(&r, buf);
	free(me);
	free(mp);
	free(le);
	free(lp);
	free(names);
	return buf;
}

static void
assert_same_rec(const col_rec *a, const col_rec *b)
{
	uint32_t i;

	assert_string_equal(a->gpu_key, b->gpu_key);
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->device, b->device);
	assert_string_equal(a->uuid, b->uuid);
	assert_string_equal(a->model, b->model);
	assert_string_equal(a->gpu_id, b->gpu_id);
	assert_true(a->ts_ns == b->ts_ns);
	assert_int_equal(a->gpu_index, b->gpu_index);
	assert_int_equal(a->nmetrics, b->nmetrics);
	assert_int_equal(a->nlabels, b->nlabels);
	for (i = 0; i < a->nmetrics; i++) {
		assert_string_equal(a->metrics[i].name, b->metrics[i].name);
		assert_true(a->metrics[i].value == b->metrics[i].value);
	}
	for (i = 0; i < a->nlabels; i++) {
		assert_string_equal(a->labels[i].key, b->labels[i].key);
		assert_string_equal(a->labels[i].value, b->labels[i].value);
	}
	assert_int_equal(a->size, b->size);
	assert_true(a->key_hash == b->key_hash);
}

/* col_rec_new_wire(bytes) == col_rec_new_pb(protobuf-c's unpack of the same bytes) */
static void
check_like_protobuf_c(const uint8_t *buf, size_t len, const char *key)
{
	Gtpb__V1__TelemetryRecord *pb = gtpb__v1__telemetry_record__unpack(NULL, len, buf);
	col_rec                   *a = NULL, *b = NULL;
	gt_err                     rv = col_rec_new_wire(&a, buf, len, key, key ? strlen(key) : 0);

	if (pb == NULL) {
		assert_int_equal(rv, GT_EPROTO);
		return;
	}
	assert_int_equal(rv, GT_OK);
	assert_int_equal(col_rec_new_pb(&b, pb, pb->gpu_key[0] ? NULL : key), GT_OK);
	assert_same_rec(a, b);
	col_rec_rele(a);
	col_rec_rele(b);
	protobuf_c_message_free_unpacked(&pb->base, NULL);
}

static void
test_rec_matches_protobuf_c(void **state)
{
	size_t   len;
	uint8_t *buf = pack_rec("GPU-abcd", INT64_C(1764000000123456789), -1, 8, 3, &len);
	col_rec *r = NULL;
	(void)state;

	check_like_protobuf_c(buf, len, NULL);
	assert_int_equal(col_rec_new_wire(&r, buf, len, "ignored", 7), GT_OK);
	assert_string_equal(r->gpu_key, "GPU-abcd"); /* gpu_key set: the message key is not used */
	assert_int_equal(r->gpu_index, -1);
	assert_true(r->key_hash == col_map_hash("GPU-abcd", 8));
	col_rec_rele(r);
	free(buf);
}

/* More map entries than the first pass keeps: the rest are read again, order kept. */
static void
test_rec_many_entries(void **state)
{
	size_t   len;
	uint8_t *buf = pack_rec("g", 5, 0, 150, 40, &len);
	col_rec *r = NULL;
	(void)state;

	check_like_protobuf_c(buf, len, NULL);
	assert_int_equal(col_rec_new_wire(&r, buf, len, NULL, 0), GT_OK);
	assert_int_equal(r->nmetrics, 150);
	assert_int_equal(r->nlabels, 40);
	assert_string_equal(r->metrics[149].name, "m149");
	assert_true(r->metrics[149].value == 149 * 1.25 - 3);
	assert_string_equal(r->labels[39].key, "l39");
	col_rec_rele(r);
	free(buf);
}

static void
test_rec_key_fallback(void **state)
{
	size_t   len;
	uint8_t *buf = pack_rec("", 5, 0, 1, 0, &len);
	col_rec *r = NULL;
	(void)state;

	assert_int_equal(col_rec_new_wire(&r, buf, len, "host-1/0xyz", 8), GT_OK);
	assert_string_equal(r->gpu_key, "host-1/0"); /* key_len bytes of the message key */
	assert_true(r->key_hash == col_map_hash("host-1/0", 8));
	col_rec_rele(r);
	assert_int_equal(col_rec_new_wire(&r, buf, len, NULL, 0), GT_OK);
	assert_string_equal(r->gpu_key, ""); /* left for validation to reject */
	col_rec_rele(r);
	free(buf);
}

/* A NUL inside a string ends it (records hold C strings): the key, its hash and the record's
 * size are those of the visible part, as through protobuf-c. */
static void
test_rec_embedded_nul(void **state)
{
	size_t   len;
	uint8_t *buf = pack_rec("GPU-abcd", 5, 0, 1, 0, &len), *at;
	col_rec *r = NULL;
	(void)state;

	at = memmem(buf, len, "GPU-abcd", 8); /* gpu_key, field 2, comes first after the timestamp */
	assert_non_null(at);
	at[4] = '\0';
	check_like_protobuf_c(buf, len, NULL);
	assert_int_equal(col_rec_new_wire(&r, buf, len, NULL, 0), GT_OK);
	assert_string_equal(r->gpu_key, "GPU-");
	assert_true(r->key_hash == col_map_hash("GPU-", 4));
	col_rec_rele(r);
	free(buf);
}

/* Two messages concatenated are one merged message: the later scalars win, maps append. */
static void
test_rec_merge_semantics(void **state)
{
	size_t   l1, l2;
	uint8_t *a = pack_rec("first", 1, 1, 2, 1, &l1), *b = pack_rec("second", 2, 7, 3, 0, &l2);
	uint8_t *ab = malloc(l1 + l2);
	col_rec *r = NULL;
	(void)state;

	memcpy(ab, a, l1);
	memcpy(ab + l1, b, l2);
	check_like_protobuf_c(ab, l1 + l2, NULL);
	assert_int_equal(col_rec_new_wire(&r, ab, l1 + l2, NULL, 0), GT_OK);
	assert_string_equal(r->gpu_key, "second");
	assert_true(r->ts_ns == 2);
	assert_int_equal(r->gpu_index, 7);
	assert_int_equal(r->nmetrics, 5);
	col_rec_rele(r);
	free(a);
	free(b);
	free(ab);
}

/* Unknown fields are skipped; a known field with the wrong wire type is an error. */
static void
test_rec_unknown_and_wrong_types(void **state)
{
	size_t        len;
	uint8_t      *buf = pack_rec("g", 9, 0, 1, 1, &len), *x = malloc(len + 16);
	const uint8_t unknown[] = {0xf8, 0x06, 0x05, /* field 111 varint */
	    0xfa, 0x06, 0x02, 'h', 'i'};            /* field 111 bytes */
	const uint8_t ts_as_len[] = {0x0a, 0x01, 'x'};   /* field 1 (timestamp) as bytes */
	const uint8_t key_as_int[] = {0x10, 0x01};       /* field 2 (gpu_key) as varint */
	const uint8_t metric_bad[] = {0x42, 0x02, 0x10, 0x01}; /* metrics entry value as varint */
	col_rec      *r = NULL;
	(void)state;

	memcpy(x, buf, len);
	memcpy(x + len, unknown, sizeof(unknown));
	check_like_protobuf_c(x, len + sizeof(unknown), NULL);
	assert_int_equal(col_rec_new_wire(&r, x, len + sizeof(unknown), NULL, 0), GT_OK);
	col_rec_rele(r);
#define BAD(tail)                                                                                  \
	do {                                                                                       \
		memcpy(x + len, tail, sizeof(tail));                                               \
		check_like_protobuf_c(x, len + sizeof(tail), NULL);                                \
		assert_int_equal(col_rec_new_wire(&r, x, len + sizeof(tail), NULL, 0), GT_EPROTO); \
	} while (0)
	BAD(ts_as_len);
	BAD(key_as_int);
	BAD(metric_bad);
#undef BAD
	free(x);
	free(buf);
}

/* Every prefix of a valid record: never a read past the end, and the same verdict as
 * protobuf-c (a prefix ending on a field boundary is a valid, shorter record). */
static void
test_rec_truncations(void **state)
{
	size_t   len, n;
	uint8_t *buf = pack_rec("GPU-abcd", 77, 3, 4, 2, &len);
	(void)state;

	for (n = 0; n < len; n++) {
		uint8_t *cut = malloc(n + 1); /* exact size: ASan catches an overread */

		memcpy(cut, buf, n);
		check_like_protobuf_c(cut, n, "k");
		free(cut);
	}
	free(buf);
}

/* Deterministic xorshift, so a failure reproduces. */
static uint64_t
rnd(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* Random byte flips, insertions and deletions of a valid record: the same verdict and the
 * same record as protobuf-c, never a read outside the buffer (ASan). */
static void
test_rec_random_mutations(void **state)
{
	size_t   len;
	uint8_t *buf = pack_rec("GPU-abcd", INT64_C(1764000000123456789), 5, 6, 2, &len);
	uint64_t st = 0x9e3779b97f4a7c15u;
	int      iter;
	(void)state;

	for (iter = 0; iter < 20000; iter++) {
		uint8_t *m = malloc(len + 8);
		size_t   n = len, k, edits = 1 + rnd(&st) % 3;

		memcpy(m, buf, len);
		for (k = 0; k < edits && n > 0; k++) {
			size_t at = rnd(&st) % n;

			switch (rnd(&st) % 3) {
			case 0:
				m[at] = (uint8_t)rnd(&st);
				break;
			case 1:
				memmove(m + at + 1, m + at, n - at);
				m[at] = (uint8_t)rnd(&st);
				n++;
				break;
			default:
				memmove(m + at, m + at + 1, n - at - 1);
				n--;
				break;
			}
		}
		{
			uint8_t *exact = malloc(n + 1);

			memcpy(exact, m, n);
			check_like_protobuf_c(exact, n, "k");
			free(exact);
		}
		free(m);
	}
	free(buf);
}

/* ---- FetchResponse ---- */

static uint8_t *
pack_fetch(size_t n, uint64_t epoch, size_t *len)
{
	Gtpb__V1__FetchResponse resp = GTPB__V1__FETCH_RESPONSE__INIT;
	Gtpb__V1__Delivery     *d = calloc(n + 1, sizeof(*d)), **dp = calloc(n + 1, sizeof(*dp));
	Gtpb__V1__DeliveryId   *id = calloc(n + 1, sizeof(*id));
	Gtpb__V1__Message      *m = calloc(n + 1, sizeof(*m));
	char (*keys)[32] = calloc(n + 1, 32);
	uint8_t *buf;
	size_t   i;

	for (i = 0; i < n; i++) {
		gtpb__v1__delivery__init(&d[i]);
		gtpb__v1__delivery_id__init(&id[i]);
		gtpb__v1__message__init(&m[i]);
		id[i].epoch = epoch;
		id[i].partition = (uint32_t)(i % 3);
		id[i].offset = 1000 + i;
		snprintf(keys[i], 32, "key-%zu", i);
		m[i].key = keys[i];
		m[i].payload.data = (uint8_t *)keys[i];
		m[i].payload.len = strlen(keys[i]);
		m[i].timestamp_ns = 12345;
		d[i].attempt = 1 + (uint32_t)(i % 2);
		d[i].id = i % 7 == 5 ? NULL : &id[i];     /* some without id */
		d[i].message = i % 7 == 6 ? NULL : &m[i]; /* some without message */
		dp[i] = &d[i];
	}
	resp.n_deliveries = n;
	resp.deliveries = dp;
	resp.epoch = epoch;
	*len = gtpb__v1__fetch_response__get_packed_size(&resp);
	buf = malloc(*len + 1);
	gtpb__v1__fetch_response__pack(&resp, buf);
	free(d);
	free(dp);
	free(id);
	free(m);
	free(keys);
	return buf;
}

static void
check_fetch_like_protobuf_c(col_fetch *f, const uint8_t *buf, size_t len)
{
	Gtpb__V1__FetchResponse *pb = gtpb__v1__fetch_response__unpack(NULL, len, buf);
	gt_err                   rv = col_fetch_parse(f, buf, len);
	size_t                   i;

	if (pb == NULL) {
		assert_int_equal(rv, GT_EPROTO);
		return;
	}
	assert_int_equal(rv, GT_OK);
	assert_true(f->epoch == pb->epoch);
	assert_int_equal(f->n, pb->n_deliveries);
	for (i = 0; i < f->n; i++) {
		const Gtpb__V1__Delivery *d = pb->deliveries[i];
		const col_dlv            *v = &f->v[i];

		assert_int_equal(v->attempt, d->attempt);
		assert_int_equal(v->has_id, d->id != NULL);
		assert_int_equal(v->has_msg, d->message != NULL);
		if (d->id) {
			assert_true(v->epoch == d->id->epoch);
			assert_int_equal(v->partition, d->id->partition);
			assert_true(v->offset == d->id->offset);
		}
		if (d->message) {
			/* protobuf-c's key is a C string: equal up to an embedded NUL */
			assert_int_equal(strnlen((const char *)v->key, v->key_len), strlen(d->message->key));
			assert_memory_equal(v->key, d->message->key, strlen(d->message->key));
			assert_int_equal(v->payload_len, d->message->payload.len);
			if (v->payload_len > 0)
				assert_memory_equal(v->payload, d->message->payload.data, v->payload_len);
		}
	}
	protobuf_c_message_free_unpacked(&pb->base, NULL);
}

static void
test_fetch_matches_protobuf_c(void **state)
{
	size_t    len;
	uint8_t  *big = pack_fetch(3000, UINT64_C(0xfeedfacecafebeef), &len);
	col_fetch f = {0};
	(void)state;

	check_fetch_like_protobuf_c(&f, big, len); /* grows past the first 1024 views */
	assert_int_equal(f.n, 3000);
	assert_int_equal(f.v[5].has_id, 0);
	assert_int_equal(f.v[6].has_msg, 0);
	assert_true(f.v[2999].offset == 1000 + 2999);
	free(big);
	big = pack_fetch(2, 9, &len); /* the same col_fetch again: emptied, memory reused */
	check_fetch_like_protobuf_c(&f, big, len);
	assert_int_equal(f.n, 2);
	free(big);
	assert_int_equal(col_fetch_parse(&f, (const uint8_t *)"", 0), GT_OK); /* empty response */
	assert_int_equal(f.n, 0);
	assert_true(f.epoch == 0);
	col_fetch_fini(&f);
}

static void
test_fetch_truncations_and_wrong_types(void **state)
{
	size_t        len, n;
	uint8_t      *buf = pack_fetch(8, 77, &len);
	const uint8_t epoch_as_len[] = {0x12, 0x01, 0x00};             /* field 2 as bytes */
	const uint8_t dlv_as_int[] = {0x08, 0x01};                     /* field 1 as varint */
	const uint8_t attempt_as_len[] = {0x0a, 0x03, 0x12, 0x01, 0x00}; /* Delivery.attempt as bytes */
	const uint8_t offset_as_len[] = {0x0a, 0x05, 0x0a, 0x03, 0x1a, 0x01, 0x00}; /* DeliveryId.offset */
	col_fetch     f = {0};
	(void)state;

	for (n = 0; n < len; n++) {
		uint8_t *cut = malloc(n + 1);

		memcpy(cut, buf, n);
		check_fetch_like_protobuf_c(&f, cut, n);
		free(cut);
	}
#define BAD(x)                                                                                     \
	do {                                                                                       \
		check_fetch_like_protobuf_c(&f, x, sizeof(x));                                     \
		assert_int_equal(col_fetch_parse(&f, x, sizeof(x)), GT_EPROTO);                    \
	} while (0)
	BAD(epoch_as_len);
	BAD(dlv_as_int);
	BAD(attempt_as_len);
	BAD(offset_as_len);
#undef BAD
	col_fetch_fini(&f);
	free(buf);
}

static void
test_fetch_random_mutations(void **state)
{
	size_t    len;
	uint8_t  *buf = pack_fetch(6, 1234567, &len);
	uint64_t  st = 0x2545f4914f6cdd1du;
	col_fetch f = {0};
	int       iter;
	(void)state;

	for (iter = 0; iter < 20000; iter++) {
		uint8_t *m = malloc(len + 1);
		size_t   k, edits = 1 + rnd(&st) % 3;

		memcpy(m, buf, len);
		for (k = 0; k < edits; k++)
			m[rnd(&st) % len] = (uint8_t)rnd(&st);
		check_fetch_like_protobuf_c(&f, m, len - rnd(&st) % 2); /* sometimes cut short too */
		free(m);
	}
	col_fetch_fini(&f);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rec_matches_protobuf_c),
	    cmocka_unit_test(test_rec_many_entries),
	    cmocka_unit_test(test_rec_key_fallback),
	    cmocka_unit_test(test_rec_embedded_nul),
	    cmocka_unit_test(test_rec_merge_semantics),
	    cmocka_unit_test(test_rec_unknown_and_wrong_types),
	    cmocka_unit_test(test_rec_truncations),
	    cmocka_unit_test(test_rec_random_mutations),
	    cmocka_unit_test(test_fetch_matches_protobuf_c),
	    cmocka_unit_test(test_fetch_truncations_and_wrong_types),
	    cmocka_unit_test(test_fetch_random_mutations),
	};

	return cmocka_run_group_tests_name("collector.wire", tests, NULL, NULL);
}
