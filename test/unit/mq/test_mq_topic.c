/* test_mq_topic.c - the topic engine under a fake clock: publish/fetch/ack, redelivery with
 * backoff, dead letters, validation before change, backpressure, dedup, codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gt/gt_mqmsg.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_codec.h"
#include "mq_topic.h"

typedef struct fake_clock {
	int64_t now;
} fake_clock;

static int64_t
fake_now(void *arg)
{
	return ((fake_clock *)arg)->now;
}

static fake_clock fc;
static gt_clock   clk = {fake_now, &fc};

/* The tests' usual topic settings (the fake clock reset to 1,000,000). */
static mq_topic_cfg
topic_cfg(uint64_t max_bytes)
{
	mq_topic_cfg cfg = {0};

	fc.now = 1000000;
	cfg.partitions = 4;
	cfg.max_bytes = max_bytes;
	cfg.ack_timeout = 100;
	cfg.backoff_cap = 100000;
	cfg.nack_delay = 10;
	cfg.max_retries = 2;
	cfg.lease = 1000000000;
	cfg.epoch = 42;
	cfg.clock = &clk;
	return cfg;
}

static mq_topic *
new_topic(uint64_t max_bytes)
{
	mq_topic_cfg cfg = topic_cfg(max_bytes);
	mq_topic    *t;

	assert_int_equal(mq_topic_new(&t, "t", &cfg), GT_OK);
	return t;
}

/* Encoded Message{key, payload="<i>"} into bufs[i]. */
static void
make_msgs(ProtobufCBinaryData *out, size_t n, const char *key, int first)
{
	for (size_t i = 0; i < n; i++) {
		Gtpb__V1__Message m = GTPB__V1__MESSAGE__INIT;
		char              pay[32];
		int               l = snprintf(pay, sizeof(pay), "%d", first + (int)i);
		m.key = (char *)key;
		m.payload.data = (uint8_t *)pay;
		m.payload.len = (size_t)l;
		out[i].len = gtpb__v1__message__get_packed_size(&m);
		out[i].data = malloc(out[i].len);
		gtpb__v1__message__pack(&m, out[i].data);
	}
}

static void
free_msgs(ProtobufCBinaryData *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].data);
}

/* The packed fetch output is byte for byte what protobuf-c packs for the same deliveries
 * (each one encoded by mq_delivery_put) in the raw FetchResponse. */
static void
same_as_protobuf_c(const mq_fetch_out *o, uint64_t epoch, const uint8_t *wire, size_t len)
{
	mq_raw_fetch         m;
	ProtobufCBinaryData *bd = calloc(o->n ? o->n : 1, sizeof(*bd));
	uint8_t             *want;

	assert_non_null(bd);
	mq_raw_fetch_init(&m);
	for (size_t i = 0; i < o->n; i++) {
		const mq_fetch_ref *f = &o->refs[i];
		bd[i].len = mq_delivery_size(f->epoch, f->partition, f->offset, f->attempt, f->len);
		bd[i].data = malloc(bd[i].len);
		assert_non_null(bd[i].data);
		mq_delivery_put(bd[i].data, f->epoch, f->partition, f->offset, f->attempt, f->msg,
		                f->len);
	}
	m.n_deliveries = o->n;
	m.deliveries = bd;
	m.epoch = epoch;
	assert_int_equal(protobuf_c_message_get_packed_size(&m.base), len);
	want = malloc(len ? len : 1);
	assert_non_null(want);
	protobuf_c_message_pack(&m.base, want);
	assert_memory_equal(want, wire, len);
	for (size_t i = 0; i < o->n; i++)
		free(bd[i].data);
	free(bd);
	free(want);
}

/* Decode the fetch output, packed as the FetchResponse a client reads: attempts[i],
 * offsets[i], payload ints. */
static size_t
decode(mq_fetch_out *o, mq_id *ids, unsigned *attempts, int *vals)
{
	size_t                   len = mq_fetch_out_packed_size(o, 7);
	uint8_t                 *wire = malloc(len ? len : 1);
	Gtpb__V1__FetchResponse *r;

	assert_non_null(wire);
	mq_fetch_out_pack(o, 7, wire);
	r = gtpb__v1__fetch_response__unpack(NULL, len, wire);
	assert_non_null(r);
	assert_int_equal(r->epoch, 7);
	assert_int_equal(r->n_deliveries, o->n);
	same_as_protobuf_c(o, 7, wire, len);
	for (size_t i = 0; i < o->n; i++) {
		Gtpb__V1__Delivery *d = r->deliveries[i];
		char                buf[32] = {0};
		assert_non_null(d);
		ids[i].epoch = d->id->epoch;
		ids[i].partition = d->id->partition;
		ids[i].offset = d->id->offset;
		attempts[i] = d->attempt;
		memcpy(buf, d->message->payload.data,
		       d->message->payload.len < 31 ? d->message->payload.len : 31);
		vals[i] = atoi(buf);
		assert_true(d->message->timestamp_ns > 0);
	}
	gtpb__v1__fetch_response__free_unpacked(r, NULL);
	free(wire);
	return o->n;
}

static void
test_mq_topic_publish_fetch_ack_in_key_order_and_trim(void **state)
{
	mq_topic           *t = new_topic(0);
	ProtobufCBinaryData m[10];
	mq_pos              pos[10];
	mq_fetch_out        o;
	mq_id               ids[10];
	unsigned            att[10];
	int                 vals[10], dup;
	size_t              bad, acked;
	mq_topic_stats      st;

	(void)state;
	make_msgs(m, 10, "gpu-7", 0);
	assert_int_equal(mq_topic_publish(t, m, 10, NULL, 0, 123, pos, &dup, &bad), GT_OK);
	for (int i = 1; i < 10; i++) {
		assert_int_equal(pos[i].partition, pos[0].partition); /* one key, one partition */
		assert_int_equal(pos[i].offset, pos[i - 1].offset + 1);
	}
	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_fetch(t, "g", "c", 4, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vals[i], i);
		assert_int_equal(att[i], 1);
		assert_int_equal(ids[i].epoch, 42);
	}
	assert_int_equal(mq_topic_ack(t, "g", ids, 4, &acked, &bad), GT_OK);
	assert_int_equal(acked, 4);
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 6);
	mq_fetch_out_reset(&o);
	assert_int_equal(mq_topic_fetch(t, "g", "c", 100, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 6);
	assert_int_equal(vals[0], 4);
	assert_int_equal(mq_topic_ack(t, "g", ids, 6, &acked, &bad), GT_OK);
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 0);
	assert_int_equal(st.bytes, 0);
	mq_fetch_out_fini(&o);
	free_msgs(m, 10);
	mq_topic_free(t);
}

/* With a WAL (hold_new), a published batch is delivered only once committed (durable): a
 * consumer never sees an offset that a crash could give to another message. Commits may
 * arrive out of order; a later batch's commit covers the earlier ones (the log is written in
 * order). */
static void
test_mq_topic_held_batches_delivered_only_once_committed(void **state)
{
	mq_topic_cfg        cfg = topic_cfg(0);
	mq_topic           *t;
	ProtobufCBinaryData a[3], b[2];
	mq_pos              pa[3], pb[2];
	mq_fetch_out        o;
	mq_id               ids[8];
	unsigned            att[8];
	int                 vals[8], dup;
	size_t              bad;

	(void)state;
	cfg.partitions = 2;
	cfg.hold_new = 1;
	assert_int_equal(mq_topic_new(&t, "t", &cfg), GT_OK);
	make_msgs(a, 3, "gpu-1", 0);
	make_msgs(b, 2, "gpu-1", 10);
	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_publish(t, a, 3, NULL, 0, 5, pa, &dup, &bad), GT_OK);
	assert_int_equal(mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(o.n, 0); /* stored, not yet durable */
	assert_int_equal(mq_topic_publish(t, b, 2, NULL, 0, 5, pb, &dup, &bad), GT_OK);
	mq_topic_commit(t, pa, 2); /* a partial commit shows just that much */
	assert_int_equal(mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 2);
	assert_int_equal(vals[0], 0);
	assert_int_equal(vals[1], 1);
	mq_fetch_out_reset(&o);
	mq_topic_commit(t, pb, 2); /* the later batch: everything before it is durable too */
	assert_int_equal(mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 3);
	assert_int_equal(vals[0], 2);
	assert_int_equal(vals[2], 11);
	mq_fetch_out_reset(&o);
	mq_topic_commit(t, pa, 3); /* late, older commits change nothing */
	assert_int_equal(mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(o.n, 0);
	mq_fetch_out_fini(&o);
	free_msgs(a, 3);
	free_msgs(b, 2);
	mq_topic_free(t);
}

static void
test_mq_topic_ack_validates_every_id_first(void **state)
{
	mq_topic           *t = new_topic(0);
	ProtobufCBinaryData m[3];
	mq_pos              pos[3];
	mq_fetch_out        o;
	mq_id               ids[4];
	unsigned            att[4];
	int                 vals[4], dup;
	size_t              bad, acked;
	mq_group_view       v;

	(void)state;
	make_msgs(m, 3, "k", 0);
	mq_topic_publish(t, m, 3, NULL, 0, 1, pos, &dup, &bad);
	mq_fetch_out_init(&o);
	mq_topic_fetch(t, "g", "c", 2, 1 << 20, &o);
	assert_int_equal(decode(&o, ids, att, vals), 2);
	/* Third message never delivered: the request fails and nothing is acked. */
	ids[2] = ids[1];
	ids[2].offset++;
	assert_int_equal(mq_topic_ack(t, "g", ids, 3, &acked, &bad), GT_ENOENT);
	assert_int_equal(bad, 2);
	assert_int_equal(mq_topic_group_view(t, 0, &v), GT_OK);
	assert_int_equal(v.pending, 2);
	free(v.consumers);
	ids[2] = ids[0];
	ids[2].epoch = 7;
	assert_int_equal(mq_topic_ack(t, "g", ids, 3, &acked, &bad), GT_ENOENT);
	assert_int_equal(mq_topic_ack(t, "nogroup", ids, 2, &acked, &bad), GT_ENOENT);
	assert_int_equal(mq_topic_ack(t, "g", ids, 2, &acked, &bad), GT_OK);
	assert_int_equal(acked, 2);
	assert_int_equal(mq_topic_ack(t, "g", ids, 2, &acked, &bad), GT_OK); /* idempotent */
	assert_int_equal(acked, 0);
	mq_fetch_out_fini(&o);
	free_msgs(m, 3);
	mq_topic_free(t);
}

static void
test_mq_topic_redelivery_backoff_then_dead_letter(void **state)
{
	mq_topic           *t = new_topic(0);
	ProtobufCBinaryData m[1];
	mq_pos              pos[1];
	mq_fetch_out        o;
	mq_id               ids[2];
	unsigned            att[2];
	int                 vals[2], dup;
	size_t              bad, replayed;
	mq_group_view       v;
	int64_t             t0;

	(void)state;
	make_msgs(m, 1, "k", 5);
	mq_topic_publish(t, m, 1, NULL, 0, 1, pos, &dup, &bad);
	mq_fetch_out_init(&o);
	t0 = fc.now;
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(o.n, 1);
	/* Not before the ack timeout (100). */
	fc.now = t0 + 99;
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(o.n, 0);
	fc.now = t0 + 100;
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(decode(&o, ids, att, vals), 1);
	assert_int_equal(att[0], 2);
	/* Second redelivery after 2 x 100. */
	fc.now = t0 + 100 + 199;
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(o.n, 0);
	fc.now = t0 + 300;
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(decode(&o, ids, att, vals), 1);
	assert_int_equal(att[0], 3);
	/* max_retries = 2: after the third delivery times out (4 x 100), the DLQ. */
	fc.now = t0 + 700;
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(o.n, 0);
	assert_int_equal(mq_topic_dlq_count(t), 1);
	assert_int_equal(mq_topic_group_view(t, 0, &v), GT_OK);
	assert_int_equal(v.dead_lettered, 1);
	assert_int_equal(v.pending, 0);
	assert_int_equal(v.redelivered, 2);
	free(v.consumers);
	/* Replay: back as a new offset, attempt 1. */
	assert_int_equal(mq_topic_dlq_replay(t, 0, &replayed, NULL, NULL), GT_OK);
	assert_int_equal(replayed, 1);
	assert_int_equal(mq_topic_dlq_count(t), 0);
	mq_fetch_out_reset(&o);
	mq_topic_fetch(t, "g", "c", 10, 1 << 20, &o);
	assert_int_equal(decode(&o, ids, att, vals), 1);
	assert_int_equal(att[0], 1);
	assert_int_equal(vals[0], 5);
	mq_fetch_out_fini(&o);
	free_msgs(m, 1);
	mq_topic_free(t);
}

static void
test_mq_topic_full_refuses_whole_batch(void **state)
{
	mq_topic           *t = new_topic(60);
	ProtobufCBinaryData m[8];
	mq_pos              pos[8];
	int                 dup;
	size_t              bad;
	mq_topic_stats      st;

	(void)state;
	make_msgs(m, 8, "k", 0);
	assert_int_equal(mq_topic_publish(t, m, 4, NULL, 0, 1, pos, &dup, &bad), GT_OK);
	assert_int_equal(mq_topic_publish(t, m + 4, 4, NULL, 0, 1, pos, &dup, &bad), GT_EFULL);
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 4);
	assert_int_equal(st.rejected_full, 1);
	free_msgs(m, 8);
	mq_topic_free(t);
}

static void
test_mq_topic_dedup_and_malformed_message(void **state)
{
	mq_topic           *t = new_topic(0);
	ProtobufCBinaryData m[3];
	mq_pos              pos[3], pos2[3];
	int                 dup;
	size_t              bad;
	uint8_t             junk[] = {0x0a, 0x05, 'a'}; /* key claims 5 bytes, has 1 */
	mq_topic_stats      st;

	(void)state;
	make_msgs(m, 3, "", 0); /* no key: round-robin */
	assert_int_equal(mq_topic_publish(t, m, 3, "p", 1, 1, pos, &dup, &bad), GT_OK);
	assert_int_equal(dup, 0);
	assert_int_not_equal(pos[0].partition, pos[1].partition);
	assert_int_equal(mq_topic_publish(t, m, 3, "p", 1, 1, pos2, &dup, &bad), GT_OK);
	assert_int_equal(dup, 1);
	assert_memory_equal(pos, pos2, sizeof(pos));
	free(m[1].data);
	m[1].data = malloc(sizeof(junk));
	memcpy(m[1].data, junk, sizeof(junk));
	m[1].len = sizeof(junk);
	assert_int_equal(mq_topic_publish(t, m, 3, "p", 2, 1, pos, &dup, &bad), GT_EPROTO);
	assert_int_equal(bad, 1);
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.messages, 3);
	free_msgs(m, 3);
	mq_topic_free(t);
}

static void
test_mq_topic_idle_group_deleted_after_ttl(void **state)
{
	mq_topic_cfg        cfg = {0};
	mq_topic           *t;
	ProtobufCBinaryData m[5];
	mq_pos              pos[5];
	mq_fetch_out        o;
	int                 dup;
	size_t              bad;
	mq_topic_stats      st;

	(void)state;
	fc.now = 1000;
	cfg.partitions = 2;
	cfg.ack_timeout = 100;
	cfg.backoff_cap = 1000;
	cfg.nack_delay = 10;
	cfg.max_retries = 1;
	cfg.lease = 300;
	cfg.group_ttl = 1000;
	cfg.epoch = 1;
	cfg.clock = &clk;
	assert_int_equal(mq_topic_new(&t, "t", &cfg), GT_OK);
	make_msgs(m, 5, "k", 0);
	mq_fetch_out_init(&o);
	mq_topic_fetch(t, "gone", "c", 1, 1 << 20, &o); /* the group exists, then goes silent */
	assert_int_equal(mq_topic_publish(t, m, 5, NULL, 0, 1, pos, &dup, &bad), GT_OK);
	fc.now += 200;
	mq_topic_expire(t);
	assert_int_equal(mq_topic_groups(t), 1);
	fc.now += 200; /* lease over: no members */
	mq_topic_expire(t);
	assert_int_equal(mq_topic_groups(t), 1);
	fc.now += 1100; /* ttl over */
	mq_topic_expire(t);
	assert_int_equal(mq_topic_groups(t), 0);
	assert_false(mq_topic_has_group(t, "gone"));
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 5); /* no group left: kept for the next one */
	mq_fetch_out_fini(&o);
	free_msgs(m, 5);
	mq_topic_free(t);
}

static void
test_mq_codec_delivery_roundtrip_and_parse(void **state)
{
	uint8_t             msg[] = {0x0a, 0x01, 'k', 0x12, 0x02, 'h', 'i', 0x20, 0x07};
	gt_mqmsg            v;
	uint8_t             buf[128];
	size_t              n;
	Gtpb__V1__Delivery *d;

	(void)state;
	assert_int_equal(gt_mqmsg_parse(msg, sizeof(msg), &v), GT_OK);
	assert_int_equal(v.key_len, 1);
	assert_int_equal(v.payload_len, 2);
	assert_true(v.timestamp_ns != 0);
	n = mq_delivery_put(buf, 99, 3, 123456789, 2, msg, sizeof(msg));
	assert_int_equal(n, mq_delivery_size(99, 3, 123456789, 2, sizeof(msg)));
	d = gtpb__v1__delivery__unpack(NULL, n, buf);
	assert_non_null(d);
	assert_int_equal(d->id->epoch, 99);
	assert_int_equal(d->id->partition, 3);
	assert_int_equal(d->id->offset, 123456789);
	assert_int_equal(d->attempt, 2);
	assert_string_equal(d->message->key, "k");
	assert_int_equal(d->message->timestamp_ns, 7);
	gtpb__v1__delivery__free_unpacked(d, NULL);
	/* Wrong wire type for key; truncated varint; group wire types. */
	assert_int_equal(gt_mqmsg_parse((const uint8_t *)"\x08\x01", 2, &v), GT_EPROTO);
	assert_int_equal(gt_mqmsg_parse((const uint8_t *)"\x20\xff", 2, &v), GT_EPROTO);
	assert_int_equal(gt_mqmsg_parse((const uint8_t *)"\x0b", 1, &v), GT_EPROTO);
	assert_int_equal(gt_mqmsg_parse((const uint8_t *)"", 0, &v), GT_OK);
}

static gt_err
count_purged(void *arg, const char *group, uint32_t part, uint64_t from, uint64_t to)
{
	(void)group;
	(void)part;
	*(uint64_t *)arg += to - from;
	return GT_OK;
}

static void
test_mq_topic_purge_drops_pending_and_undelivered_for_every_group(void **state)
{
	mq_topic           *t = new_topic(0);
	ProtobufCBinaryData m[10];
	mq_pos              pos[10];
	mq_fetch_out        o;
	mq_id               ids[10];
	unsigned            att[10];
	int                 vals[10], dup;
	size_t              bad, acked;
	uint64_t            purged = 0, logged = 0;
	mq_topic_stats      st;

	(void)state;
	/* no group yet: the log is dropped outright */
	make_msgs(m, 10, "gpu-1", 0);
	assert_int_equal(mq_topic_publish(t, m, 3, NULL, 0, 123, pos, &dup, &bad), GT_OK);
	assert_int_equal(mq_topic_purge(t, &purged, count_purged, &logged), GT_OK);
	assert_int_equal(purged, 3);
	assert_int_equal(logged, 0);
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 0);
	assert_int_equal(st.bytes, 0);

	/* two groups: g1 has 4 pending, g2 has seen nothing */
	assert_int_equal(mq_topic_publish(t, m, 10, NULL, 0, 123, pos, &dup, &bad), GT_OK);
	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_restore_group(t, "g2"), GT_OK);
	assert_int_equal(mq_topic_fetch(t, "g1", "c", 4, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 4);
	assert_int_equal(mq_topic_purge(t, &purged, count_purged, &logged), GT_OK);
	assert_int_equal(purged, 10);
	assert_int_equal(logged, 20); /* each group's 10 offsets, pending or never delivered */
	mq_topic_stats_get(t, &st);
	assert_int_equal(st.retained, 0);
	assert_int_equal(st.bytes, 0);
	/* nothing to deliver or redeliver afterwards; a late ack of a purged delivery is fine */
	fc.now += 1000000;
	mq_fetch_out_reset(&o);
	assert_int_equal(mq_topic_fetch(t, "g1", "c", 100, 1 << 20, &o), GT_OK);
	assert_int_equal(o.n, 0);
	assert_int_equal(mq_topic_ack(t, "g1", ids, 4, &acked, &bad), GT_OK);
	assert_int_equal(acked, 0);
	/* new messages flow as before */
	assert_int_equal(mq_topic_publish(t, m, 2, NULL, 0, 123, pos, &dup, &bad), GT_OK);
	mq_fetch_out_reset(&o);
	assert_int_equal(mq_topic_fetch(t, "g1", "c", 100, 1 << 20, &o), GT_OK);
	assert_int_equal(decode(&o, ids, att, vals), 2);
	assert_int_equal(vals[0], 0);
	assert_int_equal(att[0], 1);
	mq_fetch_out_fini(&o);
	free_msgs(m, 10);
	mq_topic_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mq_topic_publish_fetch_ack_in_key_order_and_trim),
	    cmocka_unit_test(test_mq_topic_held_batches_delivered_only_once_committed),
	    cmocka_unit_test(test_mq_topic_purge_drops_pending_and_undelivered_for_every_group),
	    cmocka_unit_test(test_mq_topic_ack_validates_every_id_first),
	    cmocka_unit_test(test_mq_topic_redelivery_backoff_then_dead_letter),
	    cmocka_unit_test(test_mq_topic_full_refuses_whole_batch),
	    cmocka_unit_test(test_mq_topic_dedup_and_malformed_message),
	    cmocka_unit_test(test_mq_topic_idle_group_deleted_after_ttl),
	    cmocka_unit_test(test_mq_codec_delivery_roundtrip_and_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
