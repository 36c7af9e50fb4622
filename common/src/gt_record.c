/* gt_record.c - the TelemetryRecord codec (see gt_record.h).
 *
 * Wire layout (proto/gtpb/v1/telemetry.proto): 1 timestamp_ns varint, 2 gpu_key, 3 hostname,
 * 4 gpu_index varint (int32: negative values are sign-extended to 10 bytes), 5 device, 6 uuid,
 * 7 model, 8 metrics entries {1 key, 2 value fixed64}, 9 labels entries {1 key, 2 value},
 * 10 gpu_id. Zero/empty scalars are omitted (proto3), also inside map entries, as protobuf-c
 * does. */
#include <stdlib.h>
#include <string.h>

#include "gt/gt_pb.h"
#include "gt/gt_record.h"

const gt_record_field gt_record_fields[] = {
    {1, "timestamp_ns", GT_RECORD_K_I64, -1},
    {2, "gpu_key", GT_RECORD_K_STR, GT_RECORD_GPU_KEY},
    {3, "hostname", GT_RECORD_K_STR, GT_RECORD_HOSTNAME},
    {4, "gpu_index", GT_RECORD_K_I32, -1},
    {5, "device", GT_RECORD_K_STR, GT_RECORD_DEVICE},
    {6, "uuid", GT_RECORD_K_STR, GT_RECORD_UUID},
    {7, "model", GT_RECORD_K_STR, GT_RECORD_MODEL},
    {8, "metrics", GT_RECORD_K_METRICS, -1},
    {9, "labels", GT_RECORD_K_LABELS, -1},
    {10, "gpu_id", GT_RECORD_K_STR, GT_RECORD_GPU_ID},
};
const size_t gt_record_nfields = sizeof(gt_record_fields) / sizeof(gt_record_fields[0]);

/* ---- encoder ---- */

static inline size_t
vlen(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *
vput(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Size of an optional string field (tag + length + bytes), 0 when empty. */
static inline size_t
str_size(const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return 0;
	n = strlen(s);
	return 1 + vlen(n) + n;
}

static inline uint8_t *
str_put(uint8_t *p, uint8_t tag, const char *s)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return p;
	n = strlen(s);
	*p++ = tag;
	p = vput(p, n);
	memcpy(p, s, n);
	return p + n;
}

static inline size_t
metric_entry_size(const Gtpb__V1__TelemetryRecord__MetricsEntry *e)
{
	return str_size(e->key) + (e->value != 0 ? 9 : 0);
}

static inline size_t
label_entry_size(const Gtpb__V1__TelemetryRecord__LabelsEntry *e)
{
	return str_size(e->key) + str_size(e->value);
}

size_t
gt_record_size(const Gtpb__V1__TelemetryRecord *r)
{
	size_t n = 0;

	if (r->timestamp_ns != 0)
		n += 1 + vlen((uint64_t)r->timestamp_ns);
	n += str_size(r->gpu_key) + str_size(r->hostname);
	if (r->gpu_index != 0)
		n += 1 + vlen((uint64_t)(int64_t)r->gpu_index);
	n += str_size(r->device) + str_size(r->uuid) + str_size(r->model);
	for (size_t i = 0; i < r->n_metrics; i++) {
		size_t e = metric_entry_size(r->metrics[i]);
		n += 1 + vlen(e) + e;
	}
	for (size_t i = 0; i < r->n_labels; i++) {
		size_t e = label_entry_size(r->labels[i]);
		n += 1 + vlen(e) + e;
	}
	return n + str_size(r->gpu_id);
}

size_t
gt_record_pack(const Gtpb__V1__TelemetryRecord *r, uint8_t *out)
{
	uint8_t *p = out;

	if (r->timestamp_ns != 0) {
		*p++ = 0x08;
		p = vput(p, (uint64_t)r->timestamp_ns);
	}
	p = str_put(p, 0x12, r->gpu_key);
	p = str_put(p, 0x1a, r->hostname);
	if (r->gpu_index != 0) {
		*p++ = 0x20;
		p = vput(p, (uint64_t)(int64_t)r->gpu_index);
	}
	p = str_put(p, 0x2a, r->device);
	p = str_put(p, 0x32, r->uuid);
	p = str_put(p, 0x3a, r->model);
	for (size_t i = 0; i < r->n_metrics; i++) {
		const Gtpb__V1__TelemetryRecord__MetricsEntry *e = r->metrics[i];
		size_t kn = e->key != NULL ? strlen(e->key) : 0; /* once: metric_entry_size */
		*p++ = 0x42;
		p = vput(p, (kn ? 1 + vlen(kn) + kn : 0) + (e->value != 0 ? 9 : 0));
		if (kn) {
			*p++ = 0x0a;
			p = vput(p, kn);
			memcpy(p, e->key, kn);
			p += kn;
		}
		if (e->value != 0) {
			*p++ = 0x11;
			memcpy(p, &e->value, 8); /* little-endian hosts (x86-64, arm64) */
			p += 8;
		}
	}
	for (size_t i = 0; i < r->n_labels; i++) {
		const Gtpb__V1__TelemetryRecord__LabelsEntry *e = r->labels[i];
		*p++ = 0x4a;
		p = vput(p, label_entry_size(e));
		p = str_put(p, 0x0a, e->key);
		p = str_put(p, 0x12, e->value);
	}
	p = str_put(p, 0x52, r->gpu_id);
	return (size_t)(p - out);
}

/* ---- decoder ---- */

static inline gt_record_str
wire_str(const uint8_t *p, size_t n)
{
	return (gt_record_str){(const char *)p, strnlen((const char *)p, n)};
}

/* One map entry (field 1 key: string; field 2 value: double for metrics, else string).
 * Missing fields are the defaults ("" and 0), as protobuf-c unpacks them. */
static inline gt_err
wire_entry(const uint8_t *p, const uint8_t *end, gt_record_entry *e)
{
	gt_pb_field f;

	e->key = e->value = (gt_record_str){"", 0};
	e->num = 0;
	while (p < end) {
		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.num == 1) {
			if (f.type != GT_PB_LEN)
				return GT_EPROTO;
			e->key = wire_str(f.p, f.len);
		} else if (f.num == 2) {
			if (e->is_metric) {
				if (f.type != GT_PB_I64)
					return GT_EPROTO;
				memcpy(&e->num, &f.u, sizeof(e->num));
			} else {
				if (f.type != GT_PB_LEN)
					return GT_EPROTO;
				e->value = wire_str(f.p, f.len);
			}
		}
	}
	return GT_OK;
}

gt_err
gt_record_decode(gt_record_view *v, const uint8_t *buf, size_t len, gt_record_entry *kept,
                 size_t cap)
{
	const uint8_t *p, *end = buf + len;
	gt_pb_field    f;
	size_t         i, nk = 0;

	for (i = 0; i < GT_RECORD_NSTR; i++)
		v->str[i] = (gt_record_str){"", 0};
	v->timestamp_ns = 0;
	v->gpu_index = 0;
	v->n_metrics = v->n_labels = v->entry_bytes = 0;
	v->buf = buf;
	v->end = end;
	v->kept = kept;
	for (p = buf; p < end;) {
		const gt_record_field *d;
		gt_record_entry        tmp, *e;

		if (gt_pb_next_field(&p, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.num == 0 || f.num > gt_record_nfields)
			continue; /* unknown field: skipped */
		d = &gt_record_fields[f.num - 1];
		switch (d->kind) {
		case GT_RECORD_K_I64:
			if (f.type != GT_PB_VARINT)
				return GT_EPROTO;
			v->timestamp_ns = (int64_t)f.u;
			break;
		case GT_RECORD_K_I32:
			if (f.type != GT_PB_VARINT)
				return GT_EPROTO;
			v->gpu_index = (int32_t)(uint32_t)f.u;
			break;
		case GT_RECORD_K_STR:
			if (f.type != GT_PB_LEN)
				return GT_EPROTO;
			v->str[d->slot] = wire_str(f.p, f.len);
			break;
		case GT_RECORD_K_METRICS:
		case GT_RECORD_K_LABELS:
			e = nk < cap ? &kept[nk++] : &tmp;
			e->is_metric = d->kind == GT_RECORD_K_METRICS;
			if (f.type != GT_PB_LEN || wire_entry(f.p, f.p + f.len, e) != GT_OK)
				return GT_EPROTO;
			if (e->is_metric) {
				v->n_metrics++;
				v->entry_bytes += e->key.n + 1;
			} else {
				v->n_labels++;
				v->entry_bytes += e->key.n + e->value.n + 2;
			}
			break;
		}
	}
	v->n_kept = nk;
	return GT_OK;
}

void
gt_record_iter_init(gt_record_iter *it)
{
	it->i = 0;
	it->skip = 0;
	it->p = NULL;
}

int
gt_record_iter_next(const gt_record_view *v, gt_record_iter *it, gt_record_entry *e)
{
	const gt_record_field *d;
	gt_pb_field            f;

	if (it->i >= v->n_metrics + v->n_labels)
		return 0;
	if (it->i < v->n_kept) {
		*e = v->kept[it->i++];
		return 1;
	}
	if (it->p == NULL) { /* first entry past the kept ones: read the bytes again */
		it->p = v->buf;
		it->skip = v->n_kept;
	}
	while (it->p < v->end) {
		if (gt_pb_next_field(&it->p, v->end, &f) != GT_OK)
			return 0; /* not after a successful gt_record_decode */
		if (f.num == 0 || f.num > gt_record_nfields)
			continue;
		d = &gt_record_fields[f.num - 1];
		if (d->kind != GT_RECORD_K_METRICS && d->kind != GT_RECORD_K_LABELS)
			continue;
		if (it->skip > 0) {
			it->skip--;
			continue;
		}
		e->is_metric = d->kind == GT_RECORD_K_METRICS;
		wire_entry(f.p, f.p + f.len, e); /* checked by gt_record_decode */
		it->i++;
		return 1;
	}
	return 0;
}

/* ---- protobuf-c struct in one allocation ---- */

static char *
pb_str(char **a, gt_record_str s)
{
	char *d = *a;

	if (s.n > 0)
		memcpy(d, s.p, s.n);
	d[s.n] = '\0';
	*a += s.n + 1;
	return d;
}

Gtpb__V1__TelemetryRecord *
gt_record_pb_new_wire(const uint8_t *p, size_t len, gt_err *rvp)
{
	Gtpb__V1__TelemetryRecord               *pb;
	Gtpb__V1__TelemetryRecord__MetricsEntry *me, **mp;
	Gtpb__V1__TelemetryRecord__LabelsEntry  *le, **lp;
	gt_record_view                           v;
	gt_record_entry                          kept[32], e;
	gt_record_iter                           it;
	size_t                                   size, i, nm = 0, nl = 0;
	char                                    *a;
	gt_err                                   rv;

	if ((rv = gt_record_decode(&v, p, len, kept, 32)) != GT_OK)
		goto fail;
	size = sizeof(*pb) + v.n_metrics * (sizeof(*me) + sizeof(*mp)) +
	       v.n_labels * (sizeof(*le) + sizeof(*lp)) + v.entry_bytes;
	for (i = 0; i < GT_RECORD_NSTR; i++)
		size += v.str[i].n + 1;
	if ((pb = malloc(size)) == NULL) {
		rv = GT_ENOMEM;
		goto fail;
	}
	gtpb__v1__telemetry_record__init(pb);
	mp = (Gtpb__V1__TelemetryRecord__MetricsEntry **)(pb + 1);
	lp = (Gtpb__V1__TelemetryRecord__LabelsEntry **)(mp + v.n_metrics);
	me = (Gtpb__V1__TelemetryRecord__MetricsEntry *)(lp + v.n_labels);
	le = (Gtpb__V1__TelemetryRecord__LabelsEntry *)(me + v.n_metrics);
	a = (char *)(le + v.n_labels);
	pb->timestamp_ns = v.timestamp_ns;
	pb->gpu_index = v.gpu_index;
	pb->gpu_key = pb_str(&a, v.str[GT_RECORD_GPU_KEY]);
	pb->hostname = pb_str(&a, v.str[GT_RECORD_HOSTNAME]);
	pb->device = pb_str(&a, v.str[GT_RECORD_DEVICE]);
	pb->uuid = pb_str(&a, v.str[GT_RECORD_UUID]);
	pb->model = pb_str(&a, v.str[GT_RECORD_MODEL]);
	pb->gpu_id = pb_str(&a, v.str[GT_RECORD_GPU_ID]);
	gt_record_iter_init(&it);
	while (gt_record_iter_next(&v, &it, &e)) {
		if (e.is_metric) {
			gtpb__v1__telemetry_record__metrics_entry__init(&me[nm]);
			me[nm].key = pb_str(&a, e.key);
			me[nm].value = e.num;
			mp[nm] = &me[nm];
			nm++;
		} else {
			gtpb__v1__telemetry_record__labels_entry__init(&le[nl]);
			le[nl].key = pb_str(&a, e.key);
			le[nl].value = pb_str(&a, e.value);
			lp[nl] = &le[nl];
			nl++;
		}
	}
	pb->n_metrics = nm;
	pb->metrics = nm ? mp : NULL;
	pb->n_labels = nl;
	pb->labels = nl ? lp : NULL;
	if (rvp != NULL)
		*rvp = GT_OK;
	return pb;
fail:
	if (rvp != NULL)
		*rvp = rv;
	return NULL;
}

/* ---- TelemetryBatch ---- */

gt_err
gt_record_batch_put(gt_buf *b, const uint8_t *rec, size_t len)
{
	uint8_t hdr[11];
	size_t  hl = 0;
	gt_err  rv;

	hdr[hl++] = 0x0a; /* field 1 (records), length-delimited */
	hl += gt_pb_put_varint(hdr + hl, len);
	if ((rv = gt_buf_reserve(b, hl + len)) != GT_OK)
		return rv;
	gt_buf_append(b, hdr, hl);
	return gt_buf_append(b, rec, len);
}

gt_err
gt_record_batch_next(const uint8_t **pp, const uint8_t *end, const uint8_t **rec, size_t *len)
{
	gt_pb_field f;

	while (*pp < end) {
		if (gt_pb_next_field(pp, end, &f) != GT_OK)
			return GT_EPROTO;
		if (f.num != 1)
			continue;
		if (f.type != GT_PB_LEN)
			return GT_EPROTO;
		*rec = f.p;
		*len = f.len;
		return GT_OK;
	}
	return GT_ENOENT;
}
