/* fuzz_mq_msg.c - the broker's Publish-path Message parser (mq_msg_parse, which validates
 * every stored message) against protobuf-c: same verdict, same key and payload size. */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Gtpb__V1__Message *pb = gtpb__v1__message__unpack(NULL, size, data);
	mq_msg_view        v;
	gt_err             rv = mq_msg_parse(data, size, &v);

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
	FUZZ_CHECK(v.has_ts == (pb->timestamp_ns != 0));
	protobuf_c_message_free_unpacked(&pb->base, NULL);
	return 0;
}
