/* gt_pb.c - protobuf wire-format varints and fields. */
#include <string.h>

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
		if (shift == 63 && b > 1)
			return GT_EPROTO;
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
gt_pb_next_field(const uint8_t **pp, const uint8_t *end, gt_pb_field *f)
{
	const uint8_t *p = *pp;
	uint64_t       tag, v;
	uint8_t        le[8] = {0};

	if (gt_pb_get_varint(&p, end, &tag) != GT_OK || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return GT_EPROTO;
	f->num = (uint32_t)(tag >> 3);
	f->type = (int)(tag & 7);
	f->u = 0;
	f->p = NULL;
	f->len = 0;
	switch (f->type) {
	case GT_PB_VARINT:
		if (gt_pb_get_varint(&p, end, &f->u) != GT_OK)
			return GT_EPROTO;
		break;
	case GT_PB_I64:
	case GT_PB_I32: {
		size_t n = f->type == GT_PB_I64 ? 8 : 4;

		if ((size_t)(end - p) < n)
			return GT_EPROTO;
		memcpy(le, p, n);
		for (v = 0; n > 0; n--)
			v = (v << 8) | le[n - 1];
		f->u = v;
		p += f->type == GT_PB_I64 ? 8 : 4;
		break;
	}
	case GT_PB_LEN:
		if (gt_pb_get_varint(&p, end, &v) != GT_OK || v > (uint64_t)(end - p))
			return GT_EPROTO;
		f->p = p;
		f->len = (size_t)v;
		p += v;
		break;
	default:
		return GT_EPROTO; /* 3, 4: groups; 6, 7: invalid */
	}
	*pp = p;
	return GT_OK;
}
