/* test_mq_wal.c - record framing, torn/corrupt tail detection, write + recover. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "mq_server.h"
#include "mq_wal.h"

static gt_err
count_cb(void *arg, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	(*(int *)arg)++;
	return GT_OK;
}

static void
test_mq_wal_frame_scan_stops_at_torn_or_corrupt_record(void **state)
{
	gt_buf b;
	int    n = 0;
	size_t valid, full;

	(void)state;
	gt_buf_init(&b);
	assert_int_equal(mq_wal_frame(&b, "hello", 5), GT_OK);
	assert_int_equal(mq_wal_frame(&b, "world!", 6), GT_OK);
	full = b.len;
	assert_int_equal(full, 8 + 5 + 8 + 6);
	assert_int_equal(mq_wal_scan((uint8_t *)b.data, b.len, count_cb, &n, NULL), full);
	assert_int_equal(n, 2);
	/* Torn: the last record cut short. */
	n = 0;
	valid = mq_wal_scan((uint8_t *)b.data, full - 2, count_cb, &n, NULL);
	assert_int_equal(valid, 13);
	assert_int_equal(n, 1);
	/* Corrupt: one payload byte flipped. */
	b.data[full - 1] ^= 1;
	n = 0;
	assert_int_equal(mq_wal_scan((uint8_t *)b.data, full, count_cb, &n, NULL), 13);
	/* A header alone, zero length and absurd length are not records. */
	assert_int_equal(mq_wal_scan((uint8_t *)"\0\0\0\0\0\0\0\0", 8, NULL, NULL, NULL), 0);
	assert_int_equal(mq_wal_scan((uint8_t *)"\xff\xff\xff\x7f\0\0\0\0", 8, NULL, NULL, NULL),
	                 0);
	gt_buf_fini(&b);
}

typedef struct rec_log {
	int      topics, groups, msgs, producers, acks;
	uint64_t last_off[8];
	uint64_t seq;
	int64_t  ts;
} rec_log;

static gt_err
r_topic(void *a, uint32_t id, const char *name)
{
	(void)id;
	assert_string_equal(name, "t");
	((rec_log *)a)->topics++;
	return GT_OK;
}
static gt_err
r_msg(void *a, uint32_t id, uint32_t part, uint64_t off, const uint8_t *m, size_t len, int64_t ts)
{
	rec_log *r = a;
	(void)id;
	(void)m;
	assert_int_equal(len, 3);
	r->msgs++;
	r->last_off[part] = off;
	r->ts = ts;
	return GT_OK;
}
static gt_err
r_prod(void *a, uint32_t id, const char *p, uint64_t seq)
{
	(void)id;
	assert_string_equal(p, "prod");
	((rec_log *)a)->producers++;
	((rec_log *)a)->seq = seq;
	return GT_OK;
}
static gt_err
r_ack(void *a, uint32_t id, const char *g, uint32_t part, uint64_t off)
{
	(void)id;
	(void)part;
	(void)off;
	assert_string_equal(g, "grp");
	((rec_log *)a)->acks++;
	return GT_OK;
}
static gt_err
r_group(void *a, uint32_t id, const char *g)
{
	(void)id;
	assert_string_equal(g, "grp");
	((rec_log *)a)->groups = 1; /* declarations repeat at every segment head */
	return GT_OK;
}

static gt_err
r_group_del(void *a, uint32_t id, const char *g)
{
	(void)id;
	assert_string_equal(g, "grp");
	((rec_log *)a)->groups = 0; /* set semantics, like the broker's */
	return GT_OK;
}

static void
test_mq_wal_write_then_recover_replays_everything(void **state)
{
	char               *dir = gt_test_tmpdir("mq-wal-unit");
	mq_wal_cfg          cfg = {dir, MQ_FSYNC_ALWAYS, GT_NS_PER_S, 1 << 20};
	mq_wal             *w;
	uint64_t            epoch, epoch2, lsn;
	ProtobufCBinaryData msgs[4] = {{3, (uint8_t *)"\x0a\x01x"},
	                               {3, (uint8_t *)"\x0a\x01y"},
	                               {3, (uint8_t *)"\x0a\x01z"},
	                               {3, (uint8_t *)"\x0a\x01w"}};
	mq_pos              pos[4] = {{0, 10}, {1, 5}, {0, 11}, {1, 6}};
	mq_id               ids[3] = {{1, 0, 10}, {1, 0, 11}, {1, 1, 5}};
	mq_wal_rec_ops      ops = {r_topic, r_msg, r_prod, r_ack, r_group, r_group_del};
	rec_log             rl = {0};
	mq_wal_stats        ws;

	(void)state;
	assert_int_equal(mq_wal_open(&w, &cfg, &epoch), GT_OK);
	assert_int_not_equal(epoch, 0);
	assert_int_equal(mq_wal_recover(w, &ops, &rl), GT_OK);
	assert_int_equal(rl.msgs, 0);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	assert_int_equal(mq_wal_publish(w, 0, "t", "prod", 9, msgs, 4, pos, &lsn, 777), GT_OK);
	assert_int_equal(mq_wal_wait(w, lsn), GT_OK);
	assert_int_equal(mq_wal_ack(w, 0, "grp", ids, 3), GT_OK);
	mq_wal_stats_get(w, &ws);
	assert_true(ws.fsyncs >= 1);
	mq_wal_close(w);

	assert_int_equal(mq_wal_open(&w, &cfg, &epoch2), GT_OK);
	assert_int_equal(epoch2, epoch); /* the epoch survives restarts */
	assert_int_equal(mq_wal_recover(w, &ops, &rl), GT_OK);
	assert_int_equal(rl.topics, 1);
	assert_int_equal(rl.groups, 1);
	assert_int_equal(rl.msgs, 4);
	assert_int_equal(rl.last_off[0], 11);
	assert_int_equal(rl.last_off[1], 6);
	assert_int_equal(rl.producers, 1);
	assert_int_equal(rl.seq, 9);
	assert_int_equal(rl.ts, 777);
	assert_int_equal(rl.acks, 3);
	/* A deleted group stays deleted after the next restart. */
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_group_deleted(w, 0, "grp"), GT_OK);
	mq_wal_close(w);
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(mq_wal_open(&w, &cfg, &epoch2), GT_OK);
	assert_int_equal(mq_wal_recover(w, &ops, &rl), GT_OK);
	assert_int_equal(rl.groups, 0); /* declared, then deleted */
	assert_int_equal(rl.msgs, 4);
	mq_wal_close(w);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mq_wal_frame_scan_stops_at_torn_or_corrupt_record),
	    cmocka_unit_test(test_mq_wal_write_then_recover_replays_everything),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
