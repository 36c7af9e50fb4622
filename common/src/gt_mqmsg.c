/* gt_mqmsg.c - gtpb.v1.Message read in place. */
#include <string.h>

#include "gt/gt_mqmsg.h"
#include "gt/gt_pb.h"
#include "gt/gt_utf8.h"

/* A string of the Message: strict UTF-8, no NUL (gt_utf8_check_pb's rule). */
static int
mqmsg_string_ok(const uint8_t *p, size_t n)
{
	return n == 0 || (gt_utf8_valid(p, n) && memchr(p, 0, n) == NULL);
}

/* A headers entry's key (1) and value (2) strings. Called on a checked entry. */
static gt_err
mqmsg_entry_utf8(const uint8_t *p, const uint8_t *end)
{
	gt_pb_field f;

	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if ((f.num == 1 || f.num == 2) && f.type == GT_PB_LEN && !mqmsg_string_ok(f.p, f.len))
			return GT_EINVAL;
	}
	return GT_OK;
}

/* Message { string key = 1; bytes payload = 2; map<string,string> headers = 3;
 *           int64 timestamp_ns = 4; } */
static gt_err
mqmsg_read(const uint8_t *p, size_t n, gt_mqmsg *m, int utf8)
{
	const uint8_t *end;
	gt_pb_field    f;
	gt_err         bad = GT_OK; /* a bad string, reported once the wire form is checked */

	memset(m, 0, sizeof(*m));
	if (n == 0)
		return GT_OK; /* the empty Message (p may be NULL: no NULL + 0) */
	end = p + n;
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
				if (utf8 && !mqmsg_string_ok(f.p, f.len))
					bad = GT_EINVAL;
			} else if (f.num == 2) {
				m->payload = f.p;
				m->payload_len = f.len;
			} else if (gt_pb_check_entry(f.p, f.p + f.len, GT_PB_LEN, GT_PB_LEN) !=
			           GT_OK) {
				return GT_EPROTO;
			} else if (utf8 && mqmsg_entry_utf8(f.p, f.p + f.len) != GT_OK) {
				bad = GT_EINVAL;
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
	return bad;
}

gt_err
gt_mqmsg_parse(const uint8_t *p, size_t n, gt_mqmsg *m)
{
	return mqmsg_read(p, n, m, 0);
}

gt_err
gt_mqmsg_validate(const uint8_t *p, size_t n, gt_mqmsg *m)
{
	return mqmsg_read(p, n, m, 1);
}
