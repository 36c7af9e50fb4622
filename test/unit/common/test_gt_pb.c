/* test_gt_pb.c - wire-format varints and the field reader, checked against protobuf-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_pb.h"
#include "gtpb/v1/telemetry.pb-c.h"

static void
test_varint_round_trip(void **state)
{
	const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)INT64_MAX,
	    UINT64_MAX};
	uint8_t        buf[16];
	size_t         i;
	(void)state;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		size_t         n = gt_pb_put_varint(buf, vals[i]);
		const uint8_t *p = buf;
		uint64_t       v = 0;

		assert_int_equal(n, gt_pb_varint_size(vals[i]));
		assert_int_equal(gt_pb_get_varint(&p, buf + n, &v), GT_OK);
		assert_true(v == vals[i]);
		assert_ptr_equal(p, buf + n);
		/* every truncation is an error, never a read past the end */
		p = buf;
		if (n > 1)
			assert_int_equal(gt_pb_get_varint(&p, buf + n - 1, &v), GT_EPROTO);
	}
}

static void
test_varint_overlong(void **state)
{
	/* 11 bytes: rejected; a 10th byte carrying bits past 64: those bits are dropped (the
	 * verdict protobuf-c gives, which the hand-written readers must match) */
	const uint8_t  a[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
	const uint8_t  b[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	const uint8_t *p = a;
	uint64_t       v = 0;
	(void)state;

	assert_int_equal(gt_pb_get_varint(&p, a + sizeof(a), &v), GT_EPROTO);
	p = b;
	assert_int_equal(gt_pb_get_varint(&p, b + sizeof(b), &v), GT_OK);
	assert_true(v == UINT64_MAX);
	assert_ptr_equal(p, b + sizeof(b));
	p = a;
	assert_int_equal(gt_pb_get_varint(&p, a, &v), GT_EPROTO); /* empty input */
}

/* Every field protobuf-c writes for a TelemetryRecord is read back with the right number,
 * wire type and value. */
static void
test_fields_match_protobuf_c(void **state)
{
	Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__MetricsEntry me, *mp[1] = {&me};
	uint8_t                                 buf[256];
	size_t                                  n;
	const uint8_t                          *p = buf;
	gt_pb_field                             f;
	double                                  d;
	int                                     seen = 0;
	(void)state;

	gtpb__v1__telemetry_record__metrics_entry__init(&me);
	me.key = "temperature";
	me.value = -41.25;
	r.timestamp_ns = INT64_C(1764000000123456789);
	r.gpu_key = "GPU-1";
	r.gpu_index = -1; /* a negative int32: a 10-byte varint */
	r.n_metrics = 1;
	r.metrics = mp;
	n = gtpb__v1__telemetry_record__pack(&r, buf);
	while (p < buf + n) {
		assert_int_equal(gt_pb_next_field(&p, buf + n, &f), GT_OK);
		switch (f.num) {
		case 1:
			assert_int_equal(f.type, GT_PB_VARINT);
			assert_true((int64_t)f.u == r.timestamp_ns);
			seen |= 1;
			break;
		case 2:
			assert_int_equal(f.type, GT_PB_LEN);
			assert_int_equal(f.len, 5);
			assert_memory_equal(f.p, "GPU-1", 5);
			seen |= 2;
			break;
		case 4:
			assert_int_equal(f.type, GT_PB_VARINT);
			assert_int_equal((int32_t)f.u, -1);
			seen |= 4;
			break;
		case 8: {
			const uint8_t *q = f.p, *e = f.p + f.len;
			gt_pb_field    g;

			assert_int_equal(f.type, GT_PB_LEN);
			assert_int_equal(gt_pb_next_field(&q, e, &g), GT_OK);
			assert_int_equal(g.num, 1);
			assert_int_equal(gt_pb_next_field(&q, e, &g), GT_OK);
			assert_int_equal(g.num, 2);
			assert_int_equal(g.type, GT_PB_I64);
			memcpy(&d, &g.u, sizeof(d));
			assert_true(d == -41.25);
			assert_ptr_equal(q, e);
			seen |= 8;
			break;
		}
		default:
			fail_msg("unexpected field %u", f.num);
		}
	}
	assert_int_equal(seen, 15);
}

static void
test_fields_malformed(void **state)
{
	const uint8_t  zero_num[] = {0x00, 0x01};          /* a first byte without field bits */
	const uint8_t  group[] = {0x0b};                   /* wire type 3 */
	const uint8_t  bad_type[] = {0x0e};                /* wire type 6 */
	const uint8_t  long_len[] = {0x12, 0x05, 'a', 'b'}; /* length past the end */
	const uint8_t  short_i64[] = {0x09, 1, 2, 3};      /* fixed64 cut short */
	const uint8_t  short_i32[] = {0x0d, 1, 2};         /* fixed32 cut short */
	const uint8_t  no_value[] = {0x08};                /* varint missing */
	const uint8_t  i32[] = {0x0d, 0x78, 0x56, 0x34, 0x12};
	const uint8_t *p;
	gt_pb_field    f;
	(void)state;

#define BAD(a)                                                                                     \
	do {                                                                                       \
		p = a;                                                                             \
		assert_int_equal(gt_pb_next_field(&p, a + sizeof(a), &f), GT_EPROTO);              \
		assert_ptr_equal(p, a); /* not advanced */                                         \
	} while (0)
	BAD(zero_num);
	BAD(group);
	BAD(bad_type);
	BAD(long_len);
	BAD(short_i64);
	BAD(short_i32);
	BAD(no_value);
#undef BAD
	p = i32;
	assert_int_equal(gt_pb_next_field(&p, i32 + sizeof(i32), &f), GT_OK);
	assert_int_equal(f.type, GT_PB_I32);
	assert_true(f.u == 0x12345678u);
}

static void
test_check_entry(void **state)
{
	const uint8_t ok[] = {0x0a, 0x01, 'k', 0x12, 0x01, 'v'};          /* key "k", value "v" */
	const uint8_t extra[] = {0x0a, 0x01, 'k', 0x18, 0x05};           /* unknown field 3 */
	const uint8_t bad_val[] = {0x0a, 0x01, 'k', 0x10, 0x01};         /* value as varint */
	const uint8_t dbl[] = {0x0a, 0x01, 'k', 0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}; /* 1.0 */
	(void)state;

	assert_int_equal(gt_pb_check_entry(ok, ok + sizeof(ok), GT_PB_LEN, GT_PB_LEN), GT_OK);
	assert_int_equal(gt_pb_check_entry(ok, ok, GT_PB_LEN, GT_PB_LEN), GT_OK); /* empty */
	assert_int_equal(gt_pb_check_entry(extra, extra + sizeof(extra), GT_PB_LEN, GT_PB_LEN),
	                 GT_OK);
	assert_int_equal(gt_pb_check_entry(bad_val, bad_val + sizeof(bad_val), GT_PB_LEN, GT_PB_LEN),
	                 GT_EPROTO);
	assert_int_equal(gt_pb_check_entry(dbl, dbl + sizeof(dbl), GT_PB_LEN, GT_PB_I64), GT_OK);
	assert_int_equal(gt_pb_check_entry(dbl, dbl + sizeof(dbl), GT_PB_LEN, GT_PB_LEN), GT_EPROTO);
	assert_int_equal(gt_pb_check_entry(ok, ok + 2, GT_PB_LEN, GT_PB_LEN), GT_EPROTO); /* cut */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_round_trip),
	    cmocka_unit_test(test_varint_overlong),
	    cmocka_unit_test(test_fields_match_protobuf_c),
	    cmocka_unit_test(test_fields_malformed),
	    cmocka_unit_test(test_check_entry),
	};

	return cmocka_run_group_tests_name("common.pb", tests, NULL, NULL);
}
