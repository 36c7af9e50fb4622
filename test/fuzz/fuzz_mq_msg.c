/* fuzz_mq_msg.c - the Message reader (gt_mqmsg_parse: the collector reads deliveries with it;
 * gt_mqmsg_validate: the broker validates every published message with it) against
 * protobuf-c: same verdict, same key, payload and timestamp; validate's UTF-8 verdict equals
 * the generic string walker's (gt_utf8_check_pb) on the Message descriptor. The input as a
 * string also checks gt_utf8_valid against a reference decoder and gt_utf8_sanitize's output. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_mqmsg.h"
#include "gt/gt_utf8.h"
#include "gtpb/v1/mq.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Gtpb__V1__Message *pb = gtpb__v1__message__unpack(NULL, size, data);
	gt_mqmsg           v;
	gt_err             rv = gt_mqmsg_parse(data, size, &v);
	gt_mqmsg           w;
	gt_err             vr = gt_mqmsg_validate(data, size, &w);
	char               clean[3 * 64 + 1];
	size_t             cn, pre;

	/* the validator and the sanitizer on the raw bytes */
	FUZZ_CHECK(gt_utf8_valid(data, size) == (fuzz_ref_utf8(data, size) != 0));
	pre = gt_utf8_valid_prefix(data, size);
	FUZZ_CHECK(pre <= size && fuzz_ref_utf8(data, pre));
	FUZZ_CHECK(pre == size || !fuzz_ref_utf8(data, pre + (size - pre < 4 ? size - pre : 4)));
	cn = gt_utf8_sanitize(clean, sizeof(clean), data, size < 64 ? size : 64);
	FUZZ_CHECK(cn == strlen(clean) && fuzz_ref_utf8((const unsigned char *)clean, cn));

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
	/* validate: parse's wire verdict, then the strings' */
	FUZZ_CHECK(rv != GT_OK ? vr == rv : (vr == GT_OK || vr == GT_EINVAL));
	if (rv == GT_OK)
		FUZZ_CHECK((vr == GT_OK) == (gt_utf8_check_pb(&gtpb__v1__message__descriptor, data,
		                                              size, NULL, 0) == GT_OK));
	if (rv == GT_OK && v.key_len > 0 && vr == GT_OK)
		FUZZ_CHECK(fuzz_ref_utf8(v.key, v.key_len) && memchr(v.key, 0, v.key_len) == NULL);
	if (pb == NULL)
		return 0;
	if (v.key_len == 0) {
		FUZZ_CHECK(pb->key[0] == '\0');
	} else {
		FUZZ_CHECK(strnlen((const char *)v.key, v.key_len) == strlen(pb->key));
		FUZZ_CHECK(memcmp(v.key, pb->key, strlen(pb->key)) == 0);
	}
	FUZZ_CHECK(v.payload_len == pb->payload.len);
	FUZZ_CHECK(v.timestamp_ns == pb->timestamp_ns);
	FUZZ_CHECK(v.payload_len == 0 || memcmp(v.payload, pb->payload.data, v.payload_len) == 0);
	protobuf_c_message_free_unpacked(&pb->base, NULL);
	return 0;
}
