/* test_gt_utf8.c - strict UTF-8: the validator's table (Unicode table 3-7 edges), the
 * sanitizer, and the protobuf string-field walker on nested messages and maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gt/gt_utf8.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"

typedef struct {
	const char *s;
	size_t      n; /* 0: strlen */
	int         valid;
	size_t      prefix; /* valid prefix length */
} utf8_case;

#define V(s)                                                                                       \
	{                                                                                          \
		s, sizeof(s) - 1, 1, sizeof(s) - 1                                                 \
	}
#define BAD(s, pre)                                                                                \
	{                                                                                          \
		s, sizeof(s) - 1, 0, pre                                                           \
	}

static const utf8_case cases[] = {
    V(""),
    V("plain ascii"),
    V("0123456789abcdef0123456789abcdef"), /* the 8-byte fast path, several words */
    {"a\0b", 3, 1, 3},                     /* U+0000 is UTF-8 (gt_utf8_check_pb refuses it) */
    V("\x7f"),
    V("\xc2\x80"),         /* U+0080, smallest 2-byte */
    V("\xdf\xbf"),         /* U+07FF */
    V("\xe0\xa0\x80"),     /* U+0800, smallest 3-byte */
    V("\xed\x9f\xbf"),     /* U+D7FF, just below the surrogates */
    V("\xee\x80\x80"),     /* U+E000, just above */
    V("\xef\xbf\xbd"),     /* U+FFFD */
    V("\xef\xbf\xbf"),     /* U+FFFF (a noncharacter, still valid) */
    V("\xf0\x90\x80\x80"), /* U+10000, smallest 4-byte */
    V("\xf4\x8f\xbf\xbf"), /* U+10FFFF, the last */
    V("gpu-\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"),
    BAD("\x80", 0), /* lone continuation */
    BAD("\xbf", 0),
    BAD("\xc0\x80", 0),                 /* overlong NUL */
    BAD("\xc1\xbf", 0),                 /* overlong 2-byte */
    BAD("\xe0\x80\x80", 0),             /* overlong 3-byte */
    BAD("\xe0\x9f\xbf", 0),             /* overlong U+07FF */
    BAD("\xf0\x80\x80\x80", 0),         /* overlong 4-byte */
    BAD("\xf0\x8f\xbf\xbf", 0),         /* overlong U+FFFF */
    BAD("\xed\xa0\x80", 0),             /* U+D800, high surrogate */
    BAD("\xed\xbf\xbf", 0),             /* U+DFFF, low surrogate */
    BAD("\xed\xa0\x80\xed\xb0\x80", 0), /* CESU-8 surrogate pair */
    BAD("\xf4\x90\x80\x80", 0),         /* U+110000 */
    BAD("\xf5\x80\x80\x80", 0),
    BAD("\xf8\x88\x80\x80\x80", 0), /* 5-byte form */
    BAD("\xfe", 0),
    BAD("\xff", 0),
    BAD("\xc3", 0),         /* truncated 2-byte */
    BAD("\xe2\x82", 0),     /* truncated 3-byte */
    BAD("\xf0\x9f\x94", 0), /* truncated 4-byte */
    BAD("ab\xc3(", 2),      /* lead byte then ASCII */
    BAD("12345678\xff", 8), /* after a full fast-path word */
    BAD("\xe2\x82\xac\xe2\x28\xa1", 3),
};

static void
test_utf8_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const utf8_case *c = &cases[i];
		if ((int)gt_utf8_valid(c->s, c->n) != c->valid ||
		    gt_utf8_valid_prefix(c->s, c->n) != c->prefix)
			fail_msg("case %zu: valid %d (want %d), prefix %zu (want %zu)", i,
			         (int)gt_utf8_valid(c->s, c->n), c->valid,
			         gt_utf8_valid_prefix(c->s, c->n), c->prefix);
	}
	assert_true(gt_utf8_valid(NULL, 0));
}

/* Every code point encodes to valid UTF-8; every 1..3-byte string agrees with a reference
 * decoder written from the definition (decode, then check range and shortest form). */
static int
ref_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t   len, k;
		if (p[i] < 0x80)
			len = 1, cp = p[i];
		else if ((p[i] & 0xe0) == 0xc0)
			len = 2, cp = p[i] & 0x1f;
		else if ((p[i] & 0xf0) == 0xe0)
			len = 3, cp = p[i] & 0x0f;
		else if ((p[i] & 0xf8) == 0xf0)
			len = 4, cp = p[i] & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000))
			return 0;
		i += len;
	}
	return 1;
}

static void
test_utf8_exhaustive_short(void **state)
{
	uint8_t b[4];

	(void)state;
	for (uint32_t v = 0; v < (1u << 24); v++) {
		b[0] = (uint8_t)(v >> 16);
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)v;
		for (size_t n = (v & 0xffff) == 0 ? 1 : ((v & 0xff) == 0 ? 2 : 3); n <= 3; n++)
			if ((int)gt_utf8_valid(b, n) != ref_valid(b, n))
				fail_msg("%02x %02x %02x (n=%zu): %d", b[0], b[1], b[2], n,
				         (int)gt_utf8_valid(b, n));
	}
	/* 4-byte: every lead F0..F4 with the boundary continuation bytes */
	for (uint32_t lead = 0xf0; lead <= 0xff; lead++)
		for (uint32_t c1 = 0x70; c1 <= 0xc0; c1++) {
			b[0] = (uint8_t)lead;
			b[1] = (uint8_t)c1;
			b[2] = 0x80;
			b[3] = 0xbf;
			assert_int_equal((int)gt_utf8_valid(b, 4), ref_valid(b, 4));
		}
}

static void
test_utf8_sanitize(void **state)
{
	char   out[64];
	size_t n;

	(void)state;
	n = gt_utf8_sanitize(out, sizeof(out), "ok \xc3\xa9", 5);
	assert_int_equal(n, 5);
	assert_string_equal(out, "ok \xc3\xa9");
	/* each maximal subpart is one U+FFFD: E2 82 (truncated) + 28 */
	n = gt_utf8_sanitize(out, sizeof(out),
	                     "a\xe2\x82(\xff"
	                     "b",
	                     6);
	assert_string_equal(out, "a\xef\xbf\xbd(\xef\xbf\xbd"
	                         "b");
	assert_int_equal(n, strlen(out));
	assert_true(gt_utf8_valid(out, n));
	/* NUL becomes U+FFFD too (the result is a C string) */
	n = gt_utf8_sanitize(out, sizeof(out), "x\0y", 3);
	assert_string_equal(out, "x\xef\xbf\xbdy");
	/* surrogates and overlongs: one replacement per bad byte run */
	n = gt_utf8_sanitize(out, sizeof(out), "\xed\xa0\x80", 3);
	assert_true(gt_utf8_valid(out, n));
	assert_null(memchr(out, 0xed, n));
	/* truncation at a character boundary, never half a character */
	n = gt_utf8_sanitize(out, 5, "ab\xe2\x82\xac", 5);
	assert_string_equal(out, "ab");
	n = gt_utf8_sanitize(out, 6, "ab\xe2\x82\xac", 5);
	assert_string_equal(out, "ab\xe2\x82\xac");
	n = gt_utf8_sanitize(out, 4, "a\xff", 2); /* U+FFFD does not fit after "a" */
	assert_string_equal(out, "a");
	n = gt_utf8_sanitize(out, 1, "abc", 3);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
}

/* Packs a TelemetryBatch of one record with the given strings. */
static size_t
pack_batch(uint8_t *buf, const char *gpu_key, const char *label_k, const char *label_v)
{
	Gtpb__V1__TelemetryBatch               batch = GTPB__V1__TELEMETRY_BATCH__INIT;
	Gtpb__V1__TelemetryRecord              rec = GTPB__V1__TELEMETRY_RECORD__INIT;
	Gtpb__V1__TelemetryRecord__LabelsEntry lab = GTPB__V1__TELEMETRY_RECORD__LABELS_ENTRY__INIT;
	Gtpb__V1__TelemetryRecord__LabelsEntry *labs[1] = {&lab};
	Gtpb__V1__TelemetryRecord              *recs[1] = {&rec};

	rec.gpu_key = (char *)gpu_key;
	rec.hostname = "host-1";
	lab.key = (char *)label_k;
	lab.value = (char *)label_v;
	rec.n_labels = 1;
	rec.labels = labs;
	batch.n_records = 1;
	batch.records = recs;
	return gtpb__v1__telemetry_batch__pack(&batch, buf);
}

static void
test_utf8_check_pb(void **state)
{
	const ProtobufCMessageDescriptor *d = &gtpb__v1__telemetry_batch__descriptor;
	uint8_t                           buf[512];
	char                              why[200];
	size_t                            n;

	(void)state;
	n = pack_batch(buf, "host-1/0", "rack", "b\xc3\xa9ta");
	assert_int_equal(gt_utf8_check_pb(d, buf, n, why, sizeof(why)), GT_OK);
	assert_string_equal(why, "");
	/* a nested record's field */
	n = pack_batch(buf, "gpu\xc0\xaf", "rack", "a");
	assert_int_equal(gt_utf8_check_pb(d, buf, n, why, sizeof(why)), GT_EINVAL);
	assert_non_null(strstr(why, "gpu_key"));
	assert_non_null(strstr(why, "TelemetryRecord"));
	/* a map key and a map value, two levels down */
	n = pack_batch(buf, "g", "r\xed\xa0\x80", "a");
	assert_int_equal(gt_utf8_check_pb(d, buf, n, why, sizeof(why)), GT_EINVAL);
	assert_non_null(strstr(why, "key"));
	n = pack_batch(buf, "g", "rack", "\xf4\x90\x80\x80");
	assert_int_equal(gt_utf8_check_pb(d, buf, n, why, sizeof(why)), GT_EINVAL);
	assert_non_null(strstr(why, "value"));
	assert_int_equal(gt_utf8_check_pb(d, buf, n, NULL, 0), GT_EINVAL);
	/* malformed wire form */
	assert_int_equal(gt_utf8_check_pb(d, buf, n - 1, why, sizeof(why)), GT_EPROTO);
	assert_int_equal(gt_utf8_check_pb(d, NULL, 0, why, sizeof(why)), GT_OK);
	/* bytes fields are not strings: Message.payload may hold anything; its key may not */
	{
		Gtpb__V1__Message m = GTPB__V1__MESSAGE__INIT;
		m.key = "k";
		m.payload.data = (uint8_t *)"\xff\x00\xfe";
		m.payload.len = 3;
		n = gtpb__v1__message__pack(&m, buf);
		assert_int_equal(
		    gt_utf8_check_pb(&gtpb__v1__message__descriptor, buf, n, why, sizeof(why)),
		    GT_OK);
		/* a NUL inside a string: protobuf-c would hand C code a shorter string */
		assert_int_equal(buf[2], 'k'); /* 0a 01 'k' 12 03 ...: make the key "\0" */
		buf[2] = 0;
		assert_int_equal(
		    gt_utf8_check_pb(&gtpb__v1__message__descriptor, buf, n, why, sizeof(why)),
		    GT_EINVAL);
		assert_non_null(strstr(why, "NUL"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_table),
	    cmocka_unit_test(test_utf8_exhaustive_short),
	    cmocka_unit_test(test_utf8_sanitize),
	    cmocka_unit_test(test_utf8_check_pb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
