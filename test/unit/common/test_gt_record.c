/* test_gt_record.c - the common TelemetryRecord codec against protobuf-c's generated code.
 *
 * The first two tests are the guard against drift: they read protobuf-c's descriptor of
 * gtpb.v1.TelemetryRecord, so a field added to proto/ fails them until gt_record carries it
 * (the field table, the encoder and the decoder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_record.h"

/* ---- a fully populated record, built from the descriptor alone ---- */

static char   arena[1 << 16];
static size_t arena_used;

static void *
arena_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	assert_true(arena_used + n <= sizeof(arena));
	p = arena + arena_used;
	arena_used += n;
	memset(p, 0, n);
	return p;
}

static void populate(ProtobufCMessage *m, const ProtobufCMessageDescriptor *d, int salt);

/* Sets field f of m (at member) to a non-default value that depends on salt. */
static void
populate_value(void *member, const ProtobufCFieldDescriptor *f, int salt)
{
	char buf[64];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)member = -(int32_t)(f->id * 1000 + (unsigned)salt); /* negative: 10 bytes */
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)member = f->id * 1000 + (unsigned)salt;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*(int64_t *)member = INT64_C(1795730400123456789) + f->id + salt;
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)member = UINT64_C(1) << 60 | (f->id + (unsigned)salt);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)member = 1;
		break;
	case PROTOBUF_C_TYPE_ENUM:
		*(int *)member = ((const ProtobufCEnumDescriptor *)f->descriptor)
		                     ->values[((const ProtobufCEnumDescriptor *)f->descriptor)
		                                  ->n_values -
		                              1]
		                     .value;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)member = -1.25f * (float)(f->id + 1);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)member = -273.15 * (f->id + salt + 1);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "%s-%d", f->name, salt);
		char  *s = arena_alloc(n + 1);

		memcpy(s, buf, n + 1);
		*(char **)member = s;
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = member;

		b->len = 3;
		b->data = arena_alloc(3);
		memcpy(b->data, "\x01\x00\xff", 3);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *md = f->descriptor;
		ProtobufCMessage                 *sub = arena_alloc(md->sizeof_message);

		md->message_init(sub);
		populate(sub, md, salt);
		*(ProtobufCMessage **)member = sub;
		break;
	}
	}
}

static size_t
type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Every field set; repeated fields (maps too) get three elements. */
static void
populate(ProtobufCMessage *m, const ProtobufCMessageDescriptor *d, int salt)
{
	unsigned i;
	int      k;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char                           *member = (char *)m + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t es = type_size(f);
			char  *arr = arena_alloc(3 * es);

			for (k = 0; k < 3; k++)
				populate_value(arr + (size_t)k * es, f, salt * 10 + k);
			*(size_t *)((char *)m + f->quantifier_offset) = 3;
			*(void **)member = arr;
			continue;
		}
		populate_value(member, f, salt);
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
		else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
			*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	}
}

static Gtpb__V1__TelemetryRecord *
full_record(void)
{
	Gtpb__V1__TelemetryRecord *r;

	arena_used = 0;
	r = arena_alloc(sizeof(*r));
	gtpb__v1__telemetry_record__init(r);
	populate(&r->base, &gtpb__v1__telemetry_record__descriptor, 1);
	return r;
}

/* ---- tests ---- */

static void
test_gt_record_field_table_covers_every_proto_field(void **state)
{
	const ProtobufCMessageDescriptor *d = &gtpb__v1__telemetry_record__descriptor;
	unsigned                          i;
	(void)state;

	for (i = 0; i < gt_record_nfields; i++)
		assert_int_equal(gt_record_fields[i].num, i + 1); /* indexed by number - 1 */
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const gt_record_field          *c;

		if (f->id == 0 || f->id > gt_record_nfields)
			fail_msg("proto field %s = %u is not in gt_record_fields", f->name, f->id);
		c = &gt_record_fields[f->id - 1];
		assert_string_equal(c->name, f->name);
		switch (c->kind) {
		case GT_RECORD_K_I64:
			assert_int_equal(f->type, PROTOBUF_C_TYPE_INT64);
			break;
		case GT_RECORD_K_I32:
			assert_int_equal(f->type, PROTOBUF_C_TYPE_INT32);
			break;
		case GT_RECORD_K_STR:
			assert_int_equal(f->type, PROTOBUF_C_TYPE_STRING);
			assert_int_not_equal(f->label, PROTOBUF_C_LABEL_REPEATED);
			break;
		case GT_RECORD_K_METRICS:
		case GT_RECORD_K_LABELS:
			assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
			assert_int_equal(f->label, PROTOBUF_C_LABEL_REPEATED);
			break;
		}
	}
	assert_int_equal(d->n_fields, gt_record_nfields);
}

static void
test_gt_record_round_trips_a_fully_populated_record(void **state)
{
	Gtpb__V1__TelemetryRecord *r = full_record(), *back;
	size_t                     n = gtpb__v1__telemetry_record__get_packed_size(r);
	uint8_t                   *a = malloc(n), *b = malloc(n), *c = malloc(n);
	gt_err                     rv;
	(void)state;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(r->n_metrics, 3);
	assert_int_equal(r->n_labels, 3);
	/* encoder: protobuf-c's bytes */
	assert_int_equal(gtpb__v1__telemetry_record__pack(r, a), n);
	assert_int_equal(gt_record_size(r), n);
	assert_int_equal(gt_record_pack(r, b), n);
	assert_memory_equal(a, b, n);
	/* decoder: everything comes back (packed again by protobuf-c: the same bytes) */
	back = gt_record_pb_new_wire(a, n, &rv);
	assert_int_equal(rv, GT_OK);
	assert_non_null(back);
	assert_int_equal(gtpb__v1__telemetry_record__get_packed_size(back), n);
	assert_int_equal(gtpb__v1__telemetry_record__pack(back, c), n);
	assert_memory_equal(a, c, n);
	free(back);
	free(a);
	free(b);
	free(c);
}

/* The iterator gives the entries in wire order whether they were kept by the decode pass or
 * read again from the bytes. */
static void
test_gt_record_iterates_entries_past_the_kept_ones(void **state)
{
	Gtpb__V1__TelemetryRecord                r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry  m[40], *mp[40];
	Gtpb__V1__TelemetryRecord__LabelsEntry   l[5], *lp[5];
	char                                     names[40][8], lk[5][8];
	uint8_t                                  buf[4096];
	size_t                                   n, cap, i;
	(void)state;

	for (i = 0; i < 40; i++) {
		gtpb__v1__telemetry_record__metrics_entry__init(&m[i]);
		snprintf(names[i], sizeof(names[i]), "m%zu", i);
		m[i].key = names[i];
		m[i].value = (double)i;
		mp[i] = &m[i];
	}
	for (i = 0; i < 5; i++) {
		gtpb__v1__telemetry_record__labels_entry__init(&l[i]);
		snprintf(lk[i], sizeof(lk[i]), "l%zu", i);
		l[i].key = lk[i];
		l[i].value = "v";
		lp[i] = &l[i];
	}
	r.n_metrics = 40;
	r.metrics = mp;
	r.n_labels = 5;
	r.labels = lp;
	r.gpu_key = "k";
	n = gt_record_pack(&r, buf);
	for (cap = 0; cap <= 46; cap += 7) {
		gt_record_entry kept[46], e;
		gt_record_view  v;
		gt_record_iter  it;
		size_t          nm = 0, nl = 0;

		assert_int_equal(gt_record_decode(&v, buf, n, kept, cap), GT_OK);
		assert_int_equal(v.n_metrics, 40);
		assert_int_equal(v.n_labels, 5);
		assert_int_equal(v.str[GT_RECORD_GPU_KEY].n, 1);
		gt_record_iter_init(&it);
		while (gt_record_iter_next(&v, &it, &e)) {
			if (e.is_metric) {
				assert_int_equal(e.key.n, strlen(names[nm]));
				assert_memory_equal(e.key.p, names[nm], e.key.n);
				assert_true(e.num == (double)nm);
				nm++;
			} else {
				assert_memory_equal(e.key.p, lk[nl], e.key.n);
				assert_int_equal(e.value.n, 1);
				nl++;
			}
		}
		assert_int_equal(nm, 40);
		assert_int_equal(nl, 5);
	}
}

static void
test_gt_record_refuses_what_protobuf_c_refuses(void **state)
{
	static const uint8_t wrong_type[] = {0x0d, 1, 2, 3, 4};       /* field 1 as fixed32 */
	static const uint8_t truncated[] = {0x12, 5, 'a'};            /* string past the end */
	static const uint8_t bad_entry[] = {0x42, 2, 0x11, 0};        /* metric value cut */
	static const uint8_t unknown[] = {0x58, 1, 0x12, 1, 'k'};     /* field 11: skipped */
	gt_record_view       v;
	gt_err               rv;
	(void)state;

	assert_int_equal(gt_record_decode(&v, wrong_type, sizeof(wrong_type), NULL, 0), GT_EPROTO);
	assert_int_equal(gt_record_decode(&v, truncated, sizeof(truncated), NULL, 0), GT_EPROTO);
	assert_int_equal(gt_record_decode(&v, bad_entry, sizeof(bad_entry), NULL, 0), GT_EPROTO);
	assert_null(gt_record_pb_new_wire(bad_entry, sizeof(bad_entry), &rv));
	assert_int_equal(rv, GT_EPROTO);
	assert_int_equal(gt_record_decode(&v, unknown, sizeof(unknown), NULL, 0), GT_OK);
	assert_int_equal(v.str[GT_RECORD_GPU_KEY].n, 1);
}

static void
test_gt_record_batch_put_and_next_match_protobuf_c(void **state)
{
	Gtpb__V1__TelemetryRecord r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryBatch *pb;
	gt_buf                    b;
	uint8_t                   rec[256];
	const uint8_t            *p, *end, *q;
	size_t                    n, ql, i;
	(void)state;

	gt_buf_init(&b);
	r.gpu_key = "gpu-a";
	for (i = 0; i < 3; i++) {
		r.timestamp_ns = (int64_t)i + 1;
		n = gt_record_pack(&r, rec);
		assert_int_equal(gt_record_batch_put(&b, rec, n), GT_OK);
	}
	pb = gtpb__v1__telemetry_batch__unpack(NULL, b.len, (const uint8_t *)b.data);
	assert_non_null(pb);
	assert_int_equal(pb->n_records, 3);
	assert_int_equal(pb->records[2]->timestamp_ns, 3);
	assert_string_equal(pb->records[0]->gpu_key, "gpu-a");
	gtpb__v1__telemetry_batch__free_unpacked(pb, NULL);
	p = (const uint8_t *)b.data;
	end = p + b.len;
	for (i = 0; gt_record_batch_next(&p, end, &q, &ql) == GT_OK; i++) {
		gt_record_view v;

		assert_int_equal(gt_record_decode(&v, q, ql, NULL, 0), GT_OK);
		assert_int_equal(v.timestamp_ns, (int64_t)i + 1);
	}
	assert_int_equal(i, 3);
	p = (const uint8_t *)"\x0d\x00\x00\x00\x00"; /* field 1 as fixed32 */
	assert_int_equal(gt_record_batch_next(&p, p + 5, &q, &ql), GT_EPROTO);
	gt_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gt_record_field_table_covers_every_proto_field),
	    cmocka_unit_test(test_gt_record_round_trips_a_fully_populated_record),
	    cmocka_unit_test(test_gt_record_iterates_entries_past_the_kept_ones),
	    cmocka_unit_test(test_gt_record_refuses_what_protobuf_c_refuses),
	    cmocka_unit_test(test_gt_record_batch_put_and_next_match_protobuf_c),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
