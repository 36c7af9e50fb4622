/* mq_wal_rec.c - WAL record framing, encoders and the validating decoder. */
#include <stdlib.h>
#include <string.h>

#include "gt/gt_hash.h"
#include "gt/gt_pb.h"
#include "mq_wal_rec.h"

#define LETTER_GONE 1 /* flags bit of DEAD/LETTER: the group was deleted since */

/* ---- framing ---- */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

gt_err
mq_wal_frame(gt_buf *buf, const void *payload, size_t len)
{
	uint8_t hdr[8];
	gt_err  rv;

	if (len > MQ_WAL_MAX_REC)
		return GT_EINVAL;
	put_u32(hdr, (uint32_t)len);
	put_u32(hdr + 4, gt_crc32c(0, payload, len));
	if ((rv = gt_buf_append(buf, hdr, 8)) != GT_OK)
		return rv;
	return gt_buf_append(buf, payload, len);
}

size_t
mq_wal_scan(const uint8_t *data, size_t len, gt_err (*fn)(void *, const uint8_t *, size_t),
            void *arg, gt_err *fn_err)
{
	size_t off = 0;

	if (fn_err)
		*fn_err = GT_OK;
	while (len - off >= 8) {
		uint32_t n = get_u32(data + off), crc = get_u32(data + off + 4);
		if (n == 0 || n > MQ_WAL_MAX_REC || n > len - off - 8)
			break;
		if (gt_crc32c(0, data + off + 8, n) != crc)
			break;
		if (fn != NULL) {
			gt_err rv = fn(arg, data + off + 8, n);
			if (rv != GT_OK) {
				if (fn_err)
					*fn_err = rv;
				break;
			}
		}
		off += 8 + n;
	}
	return off;
}

/* ---- encoders ---- */

static gt_err
put_var(gt_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	return gt_buf_append(b, tmp, gt_pb_put_varint(tmp, v));
}

static gt_err
put_str(gt_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	gt_err rv = put_var(b, n);
	return rv == GT_OK && n ? gt_buf_append(b, s, n) : rv;
}

/* Start a record: the frame header is reserved (filled by rec_end), then type and topic. */
static size_t
rec_begin(gt_buf *b, int type, uint32_t topic)
{
	size_t  at = b->len;
	uint8_t t = (uint8_t)type;

	gt_buf_reserve(b, 8);
	b->len += 8;
	gt_buf_append(b, &t, 1);
	put_var(b, topic);
	return at;
}

static gt_err
rec_end(gt_buf *b, size_t at)
{
	size_t n = b->len - at - 8;

	if (n > MQ_WAL_MAX_REC) {
		b->len = at;
		return GT_EINVAL;
	}
	put_u32((uint8_t *)b->data + at, (uint32_t)n);
	put_u32((uint8_t *)b->data + at + 4, gt_crc32c(0, b->data + at + 8, n));
	return GT_OK;
}

gt_err
mq_wal_enc_decl(gt_buf *b, int type, uint32_t topic, const char *name)
{
	size_t at = rec_begin(b, type, topic);

	put_str(b, name);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_publish(gt_buf *b, int type, uint32_t topic, const char *producer, uint64_t seq,
                   int64_t ts_ns, const ProtobufCBinaryData *msgs, size_t n, const mq_pos *pos,
                   uint64_t below)
{
	size_t   at = rec_begin(b, type, topic);
	uint64_t firsts[64];
	uint64_t seen = 0;
	unsigned nparts = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t p = pos[i].partition & 63;
		if (!(seen & (UINT64_C(1) << p))) {
			seen |= UINT64_C(1) << p;
			firsts[p] = pos[i].offset;
			nparts++;
		}
	}
	put_str(b, producer);
	put_var(b, seq);
	put_var(b, (uint64_t)ts_ns);
	put_var(b, nparts);
	for (unsigned p = 0; p < 64; p++)
		if (seen & (UINT64_C(1) << p)) {
			put_var(b, p);
			put_var(b, firsts[p]);
		}
	put_var(b, n);
	for (size_t i = 0; i < n; i++) {
		put_var(b, pos[i].partition);
		put_var(b, msgs[i].len);
		if (gt_buf_append(b, msgs[i].data, msgs[i].len) != GT_OK)
			break;
	}
	if (type == MQ_WAL_REPLAY)
		put_var(b, below);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_ack(gt_buf *b, uint32_t topic, const char *group, const mq_id *ids, size_t n)
{
	size_t at = rec_begin(b, MQ_WAL_ACK, topic), nruns_at, runs = 0;

	put_str(b, group);
	/* Runs of consecutive offsets in one partition: (partition, first, count). The run count
	 * is written last as a fixed 5-byte varint placeholder. */
	nruns_at = b->len;
	gt_buf_append(b, "\x80\x80\x80\x80\x00", 5);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && ids[j].partition == ids[i].partition &&
		       ids[j].offset == ids[j - 1].offset + 1)
			j++;
		put_var(b, ids[i].partition);
		put_var(b, ids[i].offset);
		put_var(b, j - i);
		runs++;
		i = j;
	}
	{
		uint8_t *p = (uint8_t *)b->data + nruns_at;
		uint64_t v = runs;
		for (int k = 0; k < 4; k++) {
			p[k] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		p[4] = (uint8_t)(v & 0x7f);
	}
	return rec_end(b, at);
}

gt_err
mq_wal_enc_dead(gt_buf *b, int type, uint32_t topic, const mq_dead_view *d)
{
	size_t  at = rec_begin(b, type, topic);
	uint8_t flags = d->group_gone ? LETTER_GONE : 0;

	gt_buf_append(b, &flags, 1);
	put_str(b, d->group);
	put_var(b, d->id.epoch);
	put_var(b, d->id.partition);
	put_var(b, d->id.offset);
	put_var(b, d->attempts);
	put_var(b, d->dlq_offset);
	put_str(b, d->reason);
	put_var(b, d->msg ? (uint64_t)d->len + 1 : 0);
	if (d->msg != NULL && d->len > 0)
		gt_buf_append(b, d->msg, d->len);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_trim(gt_buf *b, uint32_t topic, uint64_t below)
{
	size_t at = rec_begin(b, MQ_WAL_DLQ_TRIM, topic);

	put_var(b, below);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_part_end(gt_buf *b, uint32_t topic, uint32_t part, uint64_t next)
{
	size_t at = rec_begin(b, MQ_WAL_PART_END, topic);

	put_var(b, part);
	put_var(b, next);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_producer(gt_buf *b, uint32_t topic, const char *producer, uint64_t seq)
{
	size_t at = rec_begin(b, MQ_WAL_PRODUCER, topic);

	put_str(b, producer);
	put_var(b, seq);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_attempt(gt_buf *b, uint32_t topic, const char *group, uint32_t part, uint64_t off,
                   unsigned attempts)
{
	size_t at = rec_begin(b, MQ_WAL_ATTEMPT, topic);

	put_str(b, group);
	put_var(b, part);
	put_var(b, off);
	put_var(b, attempts);
	return rec_end(b, at);
}

gt_err
mq_wal_enc_delivered(gt_buf *b, uint32_t topic, const char *group, const mq_run *runs, size_t n)
{
	size_t at = rec_begin(b, MQ_WAL_DELIVERED, topic);

	put_str(b, group);
	put_var(b, n);
	for (size_t i = 0; i < n; i++) {
		put_var(b, runs[i].partition);
		put_var(b, runs[i].offset);
		put_var(b, runs[i].count);
	}
	return rec_end(b, at);
}

/* ---- decoding ---- */

#define GETV(var)                                                                                  \
	do {                                                                                       \
		uint64_t v_;                                                                       \
		if (gt_pb_get_varint(&p, end, &v_) != GT_OK)                                       \
			return GT_ECORRUPT;                                                        \
		var = v_;                                                                          \
	} while (0)

/* A length-prefixed string into out (NUL-terminated). */
static gt_err
get_str(const uint8_t **p, const uint8_t *end, char *out, size_t outlen)
{
	uint64_t n;

	if (gt_pb_get_varint(p, end, &n) != GT_OK || n > (uint64_t)(end - *p) || n >= outlen)
		return GT_ECORRUPT;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
	return GT_OK;
}

int
mq_wal_letter_gone(uint8_t *pl, size_t len, const char *group)
{
	const uint8_t *p = pl + 1, *end = pl + len;
	size_t         flags_at;
	uint64_t       topic, gl;

	if (gt_pb_get_varint(&p, end, &topic) != GT_OK || p >= end)
		return 0;
	flags_at = (size_t)(p - pl);
	p++;
	if (gt_pb_get_varint(&p, end, &gl) != GT_OK || gl > (uint64_t)(end - p))
		return 0;
	if (gl != strlen(group) || memcmp(p, group, gl) != 0)
		return 0;
	pl[flags_at] |= LETTER_GONE;
	return 1;
}

static gt_err
dec_publish(mq_wal_dec *dec, const uint8_t *p, const uint8_t *end, mq_wal_rec *r)
{
	uint64_t nparts, part, off, ts;

	if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK)
		return GT_ECORRUPT;
	r->name = dec->name;
	GETV(r->seq);
	GETV(ts);
	r->ts_ns = (int64_t)ts;
	GETV(nparts);
	for (uint64_t i = 0; i < nparts; i++) {
		GETV(part);
		GETV(off);
		if (part >= 64)
			return GT_ECORRUPT;
		r->next[part] = off;
	}
	GETV(r->n);
	r->it = p;
	for (uint64_t i = 0; i < r->n; i++) { /* validate; mq_wal_rec_msg walks them again */
		uint64_t ml;
		GETV(part);
		GETV(ml);
		if (part >= 64 || ml > (uint64_t)(end - p))
			return GT_ECORRUPT;
		p += ml;
	}
	r->left = r->n;
	r->end = p;
	if (r->type == MQ_WAL_REPLAY)
		GETV(r->below);
	return GT_OK;
}

static gt_err
dec_ack(mq_wal_dec *dec, const uint8_t *p, const uint8_t *end, mq_wal_rec *r)
{
	uint64_t v;

	if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK)
		return GT_ECORRUPT;
	r->name = dec->name;
	GETV(r->n);
	r->it = p;
	for (uint64_t i = 0; i < r->n; i++) { /* validate; mq_wal_rec_run walks them again */
		GETV(v);
		GETV(v);
		GETV(v);
	}
	(void)v;
	r->end = p;
	r->left = r->n;
	return GT_OK;
}

static gt_err
dec_dead(mq_wal_dec *dec, const uint8_t *p, const uint8_t *end, mq_wal_rec *r)
{
	mq_dead_view *d = &r->dead;
	uint64_t      v, rl, ml;

	if (p >= end)
		return GT_ECORRUPT;
	d->group_gone = (*p++ & LETTER_GONE) != 0;
	if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK)
		return GT_ECORRUPT;
	r->name = d->group = dec->name;
	GETV(d->id.epoch);
	GETV(v);
	d->id.partition = (uint32_t)v;
	GETV(d->id.offset);
	GETV(v);
	d->attempts = (unsigned)v;
	GETV(d->dlq_offset);
	GETV(rl);
	if (rl > (uint64_t)(end - p))
		return GT_ECORRUPT;
	if (rl + 1 > dec->reason_cap) {
		char *nr = realloc(dec->reason, rl + 1);
		if (nr == NULL)
			return GT_ENOMEM;
		dec->reason = nr;
		dec->reason_cap = rl + 1;
	}
	memcpy(dec->reason, p, rl);
	dec->reason[rl] = 0;
	d->reason = dec->reason;
	p += rl;
	GETV(ml);
	if (ml > 0) {
		if (ml - 1 > (uint64_t)(end - p))
			return GT_ECORRUPT;
		d->msg = p;
		d->len = ml - 1;
		p += ml - 1;
	}
	return p == end ? GT_OK : GT_ECORRUPT;
}

gt_err
mq_wal_rec_decode(mq_wal_dec *dec, const uint8_t *p, size_t len, mq_wal_rec *r)
{
	const uint8_t *end = p + len;
	uint64_t       topic;

	memset(r, 0, sizeof(*r));
	if (len == 0)
		return GT_ECORRUPT;
	r->type = *p++;
	GETV(topic);
	r->topic = (uint32_t)topic;
	switch (r->type) {
	case MQ_WAL_TOPIC:
	case MQ_WAL_GROUP:
	case MQ_WAL_GROUP_DEL:
		if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK)
			return GT_ECORRUPT;
		r->name = dec->name;
		return GT_OK;
	case MQ_WAL_PUBLISH:
	case MQ_WAL_REPLAY:
		return dec_publish(dec, p, end, r);
	case MQ_WAL_ACK:
	case MQ_WAL_DELIVERED:
		return dec_ack(dec, p, end, r);
	case MQ_WAL_DEAD:
	case MQ_WAL_LETTER:
		return dec_dead(dec, p, end, r);
	case MQ_WAL_DLQ_TRIM:
		GETV(r->below);
		return GT_OK;
	case MQ_WAL_PART_END: {
		uint64_t part;
		GETV(part);
		GETV(r->off);
		if (part > UINT32_MAX)
			return GT_ECORRUPT;
		r->part = (uint32_t)part;
		return GT_OK;
	}
	case MQ_WAL_PRODUCER:
		if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK || dec->name[0] == 0)
			return GT_ECORRUPT;
		r->name = dec->name;
		GETV(r->seq);
		return p == end && r->seq > 0 ? GT_OK : GT_ECORRUPT;
	case MQ_WAL_ATTEMPT: {
		uint64_t part, att;
		if (get_str(&p, end, dec->name, sizeof(dec->name)) != GT_OK)
			return GT_ECORRUPT;
		r->name = dec->name;
		GETV(part);
		GETV(r->off);
		GETV(att);
		if (part > UINT32_MAX || att > UINT32_MAX)
			return GT_ECORRUPT;
		r->part = (uint32_t)part;
		r->attempts = (unsigned)att;
		return GT_OK;
	}
	default:
		return GT_ECORRUPT;
	}
}

int
mq_wal_rec_msg(mq_wal_rec *r, uint32_t *part, uint64_t *off, const uint8_t **msg, size_t *len)
{
	const uint8_t *p = r->it, *end = r->end;
	uint64_t       pt, ml;

	if (r->left == 0)
		return 0;
	/* validated by the decoder */
	gt_pb_get_varint(&p, end, &pt);
	gt_pb_get_varint(&p, end, &ml);
	*part = (uint32_t)pt;
	*off = r->next[pt]++;
	*msg = p;
	*len = (size_t)ml;
	r->it = p + ml;
	r->left--;
	return 1;
}

int
mq_wal_rec_run(mq_wal_rec *r, uint32_t *part, uint64_t *first, uint64_t *count)
{
	const uint8_t *p = r->it, *end = r->end;
	uint64_t       pt;

	if (r->left == 0)
		return 0;
	gt_pb_get_varint(&p, end, &pt);
	gt_pb_get_varint(&p, end, first);
	gt_pb_get_varint(&p, end, count);
	*part = (uint32_t)pt;
	r->it = p;
	r->left--;
	return 1;
}

void
mq_wal_dec_fini(mq_wal_dec *dec)
{
	free(dec->reason);
	dec->reason = NULL;
	dec->reason_cap = 0;
}
