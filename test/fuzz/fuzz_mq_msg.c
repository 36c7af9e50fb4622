/* fuzz_mq_msg.c - the Message reader (gt_mqmsg_parse: the broker validates every published
 * message with it, the collector reads deliveries with it) against protobuf-c: same verdict,
 * same key, payload and timestamp. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "gt/gt_mqmsg.h"
#include "gtpb/v1/mq.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Gtpb__V1__Message *pb = gtpb__v1__message__unpack(NULL, size, data);
	gt_mqmsg           v;
	gt_err             rv = gt_mqmsg_parse(data, size, &v);

	FUZZ_CHECK((pb == NULL) == (rv != GT_OK));
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
