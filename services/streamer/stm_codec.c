/* stm_codec.c - hand-written TelemetryRecord encoder (see stm_codec.h).
 *
 * Wire layout (proto/gtpb/v1/telemetry.proto): 1 timestamp_ns varint, 2 gpu_key, 3 hostname,
 * 4 gpu_index varint (int32: negative values are sign-extended to 10 bytes), 5 device, 6 uuid,
 * 7 model, 8 metrics entries {1 key, 2 value fixed64}, 9 labels entries {1 key, 2 value},
 * 10 gpu_id. Zero/empty scalars are omitted (proto3), also inside map entries, as protobuf-c
 * does. */
#include <string.h>

#include "stm_codec.h"

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
stm_codec_size(const Gtpb__V1__TelemetryRecord *r)
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
stm_codec_pack(const Gtpb__V1__TelemetryRecord *r, uint8_t *out)
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
		*p++ = 0x42;
		p = vput(p, metric_entry_size(e));
		p = str_put(p, 0x0a, e->key);
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
