/* col_fetch.c - FetchResponse -> delivery views, by hand on the wire format (mq.proto). */
#include <stdlib.h>
#include <string.h>

#include "col_fetch.h"
#include "gt/gt_mqmsg.h"
#include "gt/gt_pb.h"

/* DeliveryId { uint64 epoch = 1; uint32 partition = 2; uint64 offset = 3; } */
static gt_err
fetch_id(col_dlv *d, const uint8_t *p, const uint8_t *end)
{
	gt_pb_field f;

	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.num >= 1 && f.num <= 3 && f.type != GT_PB_VARINT)
			return GT_EPROTO;
		if (f.num == 1)
			d->epoch = f.u;
		else if (f.num == 2)
			d->partition = (uint32_t)f.u;
		else if (f.num == 3)
			d->offset = f.u;
	}
	d->has_id = 1;
	return GT_OK;
}

/* Delivery { DeliveryId id = 1; uint32 attempt = 2; Message message = 3; } */
static gt_err
fetch_delivery(col_dlv *d, const uint8_t *p, const uint8_t *end)
{
	gt_pb_field f;

	memset(d, 0, sizeof(*d));
	d->key = d->payload = (const uint8_t *)"";
	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		switch (f.num) {
		case 1:
			/* a repeated DeliveryId replaces the earlier one (protobuf-c does not merge
			 * proto3 scalars) */
			d->epoch = d->offset = 0;
			d->partition = 0;
			if (f.type != GT_PB_LEN || fetch_id(d, f.p, f.p + f.len) != GT_OK)
				return GT_EPROTO;
			break;
		case 2:
			if (f.type != GT_PB_VARINT)
				return GT_EPROTO;
			d->attempt = (uint32_t)f.u;
			break;
		case 3: {
			gt_mqmsg m;

			if (f.type != GT_PB_LEN || gt_mqmsg_parse(f.p, f.len, &m) != GT_OK)
				return GT_EPROTO;
			d->key = m.key ? m.key : (const uint8_t *)"";
			d->key_len = m.key_len;
			d->payload = m.payload ? m.payload : (const uint8_t *)"";
			d->payload_len = m.payload_len;
			d->has_msg = 1;
			break;
		}
		default:
			break;
		}
	}
	return GT_OK;
}

gt_err
col_fetch_parse(col_fetch *f, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	gt_pb_field    fl;

	f->n = 0;
	f->epoch = 0;
	while (p < end) {
		if (gt_pb_next_field(&p, end, &fl) != GT_OK)
			return GT_EPROTO;
		if (fl.num == 1) {
			if (fl.type != GT_PB_LEN)
				return GT_EPROTO;
			if (f->n == f->cap) {
				size_t   ncap = f->cap ? f->cap * 2 : 1024;
				col_dlv *nv = realloc(f->v, ncap * sizeof(*nv));

				if (nv == NULL)
					return GT_ENOMEM;
				f->v = nv;
				f->cap = ncap;
			}
			if (fetch_delivery(&f->v[f->n], fl.p, fl.p + fl.len) != GT_OK)
				return GT_EPROTO;
			f->n++;
		} else if (fl.num == 2) {
			if (fl.type != GT_PB_VARINT)
				return GT_EPROTO;
			f->epoch = fl.u;
		}
	}
	return GT_OK;
}

void
col_fetch_fini(col_fetch *f)
{
	free(f->v);
	memset(f, 0, sizeof(*f));
}
