/* gt_mqmsg.c - gtpb.v1.Message read in place. */
#include <string.h>

#include "gt/gt_mqmsg.h"
#include "gt/gt_pb.h"

/* Message { string key = 1; bytes payload = 2; map<string,string> headers = 3;
 *           int64 timestamp_ns = 4; } */
gt_err
gt_mqmsg_parse(const uint8_t *p, size_t n, gt_mqmsg *m)
{
	const uint8_t *end = p + n;
	gt_pb_field    f;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		switch (f.num) {
		case 1:
		case 2:
		case 3:
			if (f.type != GT_PB_LEN)
				return GT_EPROTO;
			if (f.num == 1) {
				m->key = f.p;
				m->key_len = f.len;
			} else if (f.num == 2) {
				m->payload = f.p;
				m->payload_len = f.len;
			} else if (gt_pb_check_entry(f.p, f.p + f.len, GT_PB_LEN, GT_PB_LEN) !=
			           GT_OK) {
				return GT_EPROTO;
			}
			break;
		case 4:
			if (f.type != GT_PB_VARINT)
				return GT_EPROTO;
			m->timestamp_ns = (int64_t)f.u;
			break;
		default:
			break; /* unknown field */
		}
	}
	return GT_OK;
}
