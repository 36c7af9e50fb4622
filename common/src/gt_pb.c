/* gt_pb.c - protobuf wire-format varints (the field reader is inline in gt_pb.h). */
#include "gt/gt_pb.h"

size_t
gt_pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t
gt_pb_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

gt_err
gt_pb_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t       r = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (p >= end)
			return GT_EPROTO;
		b = *p++;
		/* 10th byte: bits past 64 are dropped, as protobuf-c and C++ protobuf do */
		r |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*pp = p;
			*v = r;
			return GT_OK;
		}
	}
	return GT_EPROTO;
}

gt_err
gt_pb_check_entry(const uint8_t *p, const uint8_t *end, int key_type, int value_type)
{
	gt_pb_field f;

	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if ((f.num == 1 && f.type != key_type) || (f.num == 2 && f.type != value_type))
			return GT_EPROTO;
	}
	return GT_OK;
}
