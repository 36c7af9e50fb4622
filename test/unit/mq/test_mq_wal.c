/* test_mq_wal.c - record framing, torn/corrupt tail detection, write + recover, dead letters
 * (DEAD / LETTER / DLQ_TRIM / REPLAY records) across restarts, segment deletion and torn or
 * corrupt tails. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "gtpb/v1/mq.pb-c.h"
#include "mq_server.h"
#include "mq_wal.h"
#include "mq_wal_head.h"
#include "mq_wal_rec.h"

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
	mq_wal_rec_ops      ops = {r_topic,     r_msg, r_prod, r_ack, r_group,
	                           r_group_del, NULL,  NULL,   NULL,  NULL};
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

/* ---- dead letters: recovery wired into a real topic, as the broker does ---- */

typedef struct dlq_rec {
	mq_topic *t;
	int       originals, copies, trims;
} dlq_rec;

static int64_t
zero_now(void *arg)
{
	(void)arg;
	return 1;
}
static gt_clock zero_clock = {zero_now, NULL};

static mq_topic *
dl_topic(void)
{
	mq_topic_cfg cfg = {0};
	mq_topic    *t;

	cfg.partitions = 2;
	cfg.ack_timeout = 100;
	cfg.backoff_cap = 1000;
	cfg.nack_delay = 10;
	cfg.max_retries = 2; /* 3 deliveries */
	cfg.lease = 1000000;
	cfg.epoch = 7;
	cfg.clock = &zero_clock;
	assert_int_equal(mq_topic_new(&t, "t", &cfg), GT_OK);
	return t;
}

static gt_err
d_topic(void *a, uint32_t id, const char *name)
{
	(void)a;
	assert_int_equal(id, 0);
	assert_string_equal(name, "t");
	return GT_OK;
}
static gt_err
d_msg(void *a, uint32_t id, uint32_t part, uint64_t off, const uint8_t *m, size_t len, int64_t ts)
{
	(void)id;
	return mq_topic_restore(((dlq_rec *)a)->t, part, off, m, len, ts);
}
static gt_err
d_prod(void *a, uint32_t id, const char *p, uint64_t seq)
{
	(void)id;
	mq_topic_restore_producer(((dlq_rec *)a)->t, p, seq);
	return GT_OK;
}
static gt_err
d_ack(void *a, uint32_t id, const char *g, uint32_t part, uint64_t off)
{
	(void)id;
	return mq_topic_restore_done(((dlq_rec *)a)->t, g, part, off);
}
static gt_err
d_group(void *a, uint32_t id, const char *g)
{
	(void)id;
	return mq_topic_restore_group(((dlq_rec *)a)->t, g);
}
static gt_err
d_group_del(void *a, uint32_t id, const char *g)
{
	(void)id;
	mq_topic_remove_group(((dlq_rec *)a)->t, g);
	return GT_OK;
}
static gt_err
d_dead(void *a, uint32_t id, const mq_dead_view *d, int done)
{
	dlq_rec *r = a;
	(void)id;
	if (done) {
		r->originals++;
		assert_int_equal(
		    mq_topic_restore_done(r->t, d->group, d->id.partition, d->id.offset), GT_OK);
	} else {
		r->copies++;
	}
	return mq_topic_restore_dead(r->t, d);
}
static gt_err
d_attempt(void *a, uint32_t id, const char *g, uint32_t part, uint64_t off, unsigned attempts)
{
	(void)id;
	return mq_topic_restore_attempts(((dlq_rec *)a)->t, g, part, off, attempts);
}
static gt_err
d_part_end(void *a, uint32_t id, uint32_t part, uint64_t next)
{
	(void)id;
	return mq_topic_restore_end(((dlq_rec *)a)->t, part, next);
}
static gt_err
d_trim(void *a, uint32_t id, uint64_t below)
{
	(void)id;
	((dlq_rec *)a)->trims++;
	mq_topic_restore_dlq_trim(((dlq_rec *)a)->t, below);
	return GT_OK;
}

/* Recover dir into a fresh topic (r->t) and return the WAL (not started). */
static mq_wal *
dl_recover(const mq_wal_cfg *cfg, dlq_rec *r)
{
	mq_wal        *w;
	uint64_t       epoch;
	mq_wal_rec_ops ops = {d_topic,     d_msg,  d_prod, d_ack,     d_group,
	                      d_group_del, d_dead, d_trim, d_attempt, d_part_end};

	memset(r, 0, sizeof(*r));
	r->t = dl_topic();
	assert_int_equal(mq_wal_open(&w, cfg, &epoch), GT_OK);
	assert_int_equal(mq_wal_recover(w, &ops, r), GT_OK);
	return w;
}

typedef struct dl_list {
	size_t       n;
	mq_dead_view v[16];
	char         group[16][64], reason[16][1200];
	uint8_t      msg[16][64];
} dl_list;

static void
dl_visit(void *arg, const mq_dead_view *d)
{
	dl_list *l = arg;

	assert_true(l->n < 16);
	l->v[l->n] = *d;
	snprintf(l->group[l->n], sizeof(l->group[0]), "%s", d->group);
	snprintf(l->reason[l->n], sizeof(l->reason[0]), "%s", d->reason);
	assert_true(d->len <= sizeof(l->msg[0]));
	if (d->msg)
		memcpy(l->msg[l->n], d->msg, d->len);
	l->n++;
}

static void
dl_get(mq_topic *t, dl_list *l)
{
	memset(l, 0, sizeof(*l));
	mq_topic_dlq_each(t, 0, dl_visit, l);
}

static mq_dead_view
letter(const char *group, uint32_t part, uint64_t off, unsigned attempts, const char *reason,
       const char *msg, uint64_t dlq_off)
{
	mq_dead_view d;

	memset(&d, 0, sizeof(d));
	d.group = group;
	d.id.epoch = 7;
	d.id.partition = part;
	d.id.offset = off;
	d.attempts = attempts;
	d.reason = reason;
	d.msg = (const uint8_t *)msg;
	d.len = msg ? strlen(msg) : 0;
	d.dlq_offset = dlq_off;
	return d;
}

static void
assert_letter(const dl_list *l, size_t i, const char *group, int gone, uint32_t part, uint64_t off,
              unsigned attempts, const char *reason, const char *msg, uint64_t dlq_off)
{
	assert_string_equal(l->group[i], group);
	assert_int_equal(l->v[i].group_gone, gone);
	assert_int_equal(l->v[i].id.epoch, 7);
	assert_int_equal(l->v[i].id.partition, part);
	assert_int_equal(l->v[i].id.offset, off);
	assert_int_equal(l->v[i].attempts, attempts);
	assert_string_equal(l->reason[i], reason);
	if (msg == NULL) {
		assert_null(l->v[i].msg);
	} else {
		assert_int_equal(l->v[i].len, strlen(msg));
		assert_memory_equal(l->msg[i], msg, strlen(msg));
	}
	assert_int_equal(l->v[i].dlq_offset, dlq_off);
}

/* Messages "\x0a\x01<c>" (key = one char) at partition 0, offsets 0.. */
static void
dl_publish(mq_wal *w, uint64_t first, size_t n, char c0)
{
	static uint8_t      bytes[64][3];
	ProtobufCBinaryData msgs[64];
	mq_pos              pos[64];
	uint64_t            lsn;

	for (size_t i = 0; i < n; i++) {
		bytes[i][0] = 0x0a;
		bytes[i][1] = 1;
		bytes[i][2] = (uint8_t)(c0 + (char)i);
		msgs[i].data = bytes[i];
		msgs[i].len = 3;
		pos[i].partition = 0;
		pos[i].offset = first + i;
	}
	assert_int_equal(mq_wal_publish(w, 0, "t", "", 0, msgs, n, pos, &lsn, 5), GT_OK);
	assert_int_equal(mq_wal_wait(w, lsn), GT_OK);
}

/* One message "\x0a\x01<c>" at (part, off), from producer/seq ("", 0: none), made durable. */
static void
publish_one(mq_wal *w, const char *producer, uint64_t seq, uint32_t part, uint64_t off, char c)
{
	uint8_t             b[3] = {0x0a, 1, (uint8_t)c};
	ProtobufCBinaryData m = {3, b};
	mq_pos              pos = {part, off};
	uint64_t            lsn;

	assert_int_equal(mq_wal_publish(w, 0, "t", producer, seq, &m, 1, &pos, &lsn, 5), GT_OK);
	assert_int_equal(mq_wal_wait(w, lsn), GT_OK);
}

static void
test_mq_wal_dead_letters_trim_and_replay_survive_restarts(void **state)
{
	char        *dir = gt_test_tmpdir("mq-wal-dlq");
	mq_wal_cfg   cfg = {dir, MQ_FSYNC_ALWAYS, GT_NS_PER_S, 1 << 20};
	mq_wal      *w;
	dlq_rec      r;
	dl_list      l;
	mq_dead_view d;
	mq_pos       rpos = {0, 4};
	uint64_t     lsn;
	char         longreason[1100];
	mq_fetch_out o;

	(void)state;
	memset(longreason, 'r', sizeof(longreason) - 1);
	longreason[sizeof(longreason) - 1] = 0; /* longer than any name buffer */
	w = dl_recover(&cfg, &r);
	mq_topic_free(r.t);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	dl_publish(w, 0, 4, 'a');
	d = letter("grp", 0, 1, 3, "max retries exceeded",
	           "\x0a\x01"
	           "b",
	           0);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	d = letter("grp", 0, 2, 1, longreason,
	           "\x0a\x01"
	           "c",
	           1);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	d = letter("grp", 0, 3, 2, "nack: dead letter", NULL, 2);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	/* Replay the oldest: its message is republished at offset 4. */
	assert_int_equal(mq_wal_replay(w, 0,
	                               (const uint8_t *)"\x0a\x01"
	                                                "b",
	                               3, &rpos, 1, &lsn),
	                 GT_OK);
	assert_int_equal(mq_wal_wait(w, lsn), GT_OK);
	mq_wal_close(w);

	w = dl_recover(&cfg, &r);
	assert_int_equal(r.originals, 3);
	assert_int_equal(r.trims, 1);
	dl_get(r.t, &l);
	assert_int_equal(l.n, 2);
	assert_letter(&l, 0, "grp", 0, 0, 2, 1, longreason,
	              "\x0a\x01"
	              "c",
	              1);
	assert_letter(&l, 1, "grp", 0, 0, 3, 2, "nack: dead letter", NULL, 2);
	/* The dead-lettered offsets are done for grp; the replayed message is back (offset 4). */
	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_fetch(r.t, "grp", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(o.n, 2); /* offsets 0 and 4 */
	mq_fetch_out_fini(&o);
	mq_topic_free(r.t);
	/* Purge, and the next letter continues the numbering after a restart. */
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_dlq_trim(w, 0, 3, &lsn), GT_OK);
	assert_int_equal(mq_wal_wait(w, lsn), GT_OK);
	mq_wal_close(w);
	w = dl_recover(&cfg, &r);
	dl_get(r.t, &l);
	assert_int_equal(l.n, 0);
	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_fetch(r.t, "grp", "c", 10, 1 << 20, &o), GT_OK);
	assert_int_equal(o.n, 2);
	assert_int_equal(
	    mq_topic_nack(r.t, "grp", (mq_id[]){{7, 0, 0}}, 1, 1, "x", &(size_t){0}, &(size_t){0}),
	    GT_OK);
	dl_get(r.t, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].dlq_offset, 3);
	mq_fetch_out_fini(&o);
	mq_topic_free(r.t);
	mq_wal_close(w);
	gt_test_rmrf(dir);
	free(dir);
}

static int
wal_files(const char *dir, uint64_t *seqs, int max)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	int            n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		unsigned long long s;
		if (sscanf(de->d_name, "wal-%llu.log", &s) == 1 && n < max)
			seqs[n++] = s;
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort */
		for (int k = i; k > 0 && seqs[k - 1] > seqs[k]; k--) {
			uint64_t x = seqs[k];
			seqs[k] = seqs[k - 1];
			seqs[k - 1] = x;
		}
	return n;
}

/* An empty WAL in cfg.dir, started, with topic 0 "t" and its group "grp" declared. */
static mq_wal *
dl_start(const mq_wal_cfg *cfg)
{
	dlq_rec r;
	mq_wal *w = dl_recover(cfg, &r);

	mq_topic_free(r.t);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	return w;
}

/* Deletes every segment of dir but the newest (as if every older one had been fully acked),
 * after checking that there were at least min. */
static void
keep_newest_segment(const char *dir, int min)
{
	uint64_t seqs[256];
	char     path[4200];
	int      n = wal_files(dir, seqs, 256);

	assert_true(n >= min);
	for (int i = 0; i < n - 1; i++) {
		snprintf(path, sizeof(path), "%s/wal-%016llu.log", dir,
		         (unsigned long long)seqs[i]);
		assert_int_equal(unlink(path), 0);
	}
}

static void
test_mq_wal_letters_relogged_at_segment_heads_survive_deletion(void **state)
{
	char        *dir = gt_test_tmpdir("mq-wal-dlq-heads");
	mq_wal_cfg   cfg = {dir, MQ_FSYNC_INTERVAL, GT_NS_PER_MS, 512};
	mq_wal      *w;
	dlq_rec      r;
	dl_list      l;
	mq_dead_view d;
	uint64_t     lsn;

	(void)state;
	w = dl_start(&cfg);
	assert_int_equal(mq_wal_group(w, 0, "other"), GT_OK);
	dl_publish(w, 0, 3, 'a');
	d = letter("grp", 0, 0, 4, "first",
	           "\x0a\x01"
	           "a",
	           0);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	d = letter("other", 0, 1, 4, "second",
	           "\x0a\x01"
	           "b",
	           1);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	d = letter("grp", 0, 2, 4, "third",
	           "\x0a\x01"
	           "c",
	           2);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	assert_int_equal(mq_wal_dlq_trim(w, 0, 1, &lsn), GT_OK); /* purged up to "first" */
	assert_int_equal(mq_wal_group_deleted(w, 0, "grp"), GT_OK);
	/* Traffic rolls segments (512-byte segments); each head re-logs the live letters. */
	for (int i = 0; i < 60; i++)
		dl_publish(w, 3 + (uint64_t)i * 8, 8, 'k');
	mq_wal_close(w);
	keep_newest_segment(dir, 5);
	w = dl_recover(&cfg, &r);
	assert_int_equal(r.originals, 0); /* only head copies were left */
	assert_true(r.copies >= 2);
	dl_get(r.t, &l);
	assert_int_equal(l.n, 2);
	assert_letter(&l, 0, "other", 0, 0, 1, 4, "second",
	              "\x0a\x01"
	              "b",
	              1);
	assert_letter(&l, 1, "grp", 1, 0, 2, 4, "third",
	              "\x0a\x01"
	              "c",
	              2);
	/* Numbering continues after the newest letter. */
	{
		mq_fetch_out o;
		mq_id        id;
		size_t       nn, bad;
		mq_fetch_out_init(&o);
		assert_int_equal(mq_topic_fetch(r.t, "other", "c", 1, 1 << 20, &o), GT_OK);
		assert_int_equal(o.n, 1);
		id.epoch = 7;
		id.partition = 0;
		id.offset = mq_topic_base(r.t, 0);
		assert_int_equal(mq_topic_nack(r.t, "other", &id, 1, 1, "x", &nn, &bad), GT_OK);
		assert_int_equal(nn, 1);
		mq_fetch_out_fini(&o);
	}
	dl_get(r.t, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[2].dlq_offset, 3);
	mq_topic_free(r.t);
	mq_wal_close(w);
	gt_test_rmrf(dir);
	free(dir);
}

/* Offsets never restart: after the segments holding a partition's messages are deleted (all
 * acked) and the broker restarts, the partition continues at its old end (segment heads carry
 * PART_END), so delivery ids are never reused within the epoch. */
static void
test_mq_wal_offsets_continue_after_segment_deletion(void **state)
{
	char      *dir = gt_test_tmpdir("mq-wal-ends");
	mq_wal_cfg cfg = {dir, MQ_FSYNC_INTERVAL, GT_NS_PER_MS, 512};
	mq_wal    *w;
	dlq_rec    r;

	(void)state;
	w = dl_start(&cfg);
	for (int i = 0; i < 8; i++) /* partition 0: offsets 0..63 */
		dl_publish(w, (uint64_t)i * 8, 8, 'a');
	for (int i = 0; i < 40; i++) /* then only partition 1, rolling several segments */
		publish_one(w, "", 0, 1, (uint64_t)i, 'z');
	mq_wal_close(w);
	keep_newest_segment(dir, 3);
	w = dl_recover(&cfg, &r);
	assert_int_equal(mq_topic_base(r.t, 0), 64); /* not 0: offsets 0..63 are taken */
	assert_true(mq_topic_base(r.t, 1) > 0);
	mq_topic_free(r.t);
	mq_wal_close(w);
	/* and again: the new newest segment's head carries the ends on */
	w = dl_recover(&cfg, &r);
	assert_int_equal(mq_topic_base(r.t, 0), 64);
	mq_topic_free(r.t);
	mq_wal_close(w);
	gt_test_rmrf(dir);
	free(dir);
}

/* Producer sequences survive segment deletion: a producer's retry of a batch stored before
 * the segments holding its PUBLISH were deleted (all acked) is still recognised after any
 * number of restarts (segment heads carry each producer's last sequence), so it is not
 * stored a second time. */
static int
resend_is_duplicate(mq_topic *t, const char *producer, uint64_t seq)
{
	uint8_t             b[3] = {0x0a, 1, 'r'};
	ProtobufCBinaryData m = {3, b};
	mq_pos              pos;
	int                 dup = 0;
	size_t              bad = 0;

	assert_int_equal(mq_topic_publish(t, &m, 1, producer, seq, 5, &pos, &dup, &bad), GT_OK);
	return dup;
}

static void
test_mq_wal_producer_sequences_survive_segment_deletion(void **state)
{
	char      *dir = gt_test_tmpdir("mq-wal-producers");
	mq_wal_cfg cfg = {dir, MQ_FSYNC_INTERVAL, GT_NS_PER_MS, 512};
	mq_wal    *w;
	dlq_rec    r;

	(void)state;
	w = dl_start(&cfg);
	for (uint64_t seq = 40; seq <= 41; seq++)
		publish_one(w, "host-1-w0", seq, 0, seq - 40, 'p');
	for (int i = 0; i < 40; i++) /* other traffic rolls several segments */
		dl_publish(w, 2 + (uint64_t)i * 8, 8, 'a');
	mq_wal_close(w);
	keep_newest_segment(dir, 3);
	for (int restart = 0; restart < 2; restart++) {
		w = dl_recover(&cfg, &r);
		assert_true(resend_is_duplicate(r.t, "host-1-w0", 41));
		assert_true(resend_is_duplicate(r.t, "host-1-w0", 40));
		assert_false(resend_is_duplicate(r.t, "host-1-w1", 41)); /* another producer */
		mq_topic_free(r.t);
		if (restart == 0) { /* the next segment's head must carry them on */
			assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
			for (int i = 0; i < 20; i++)
				dl_publish(w, 400 + (uint64_t)i * 8, 8, 'b');
			mq_wal_close(w);
			keep_newest_segment(dir, 2);
		} else {
			mq_wal_close(w);
		}
	}
	gt_test_rmrf(dir);
	free(dir);
}

typedef struct prod_seen {
	int      n, recent;
	uint64_t seq_p0;
} prod_seen;

static gt_err
prod_scan(void *arg, const uint8_t *pl, size_t len)
{
	prod_seen *ps = arg;
	mq_wal_dec dec = {0};
	mq_wal_rec r;
	unsigned   i;

	assert_int_equal(mq_wal_rec_decode(&dec, pl, len, &r), GT_OK);
	assert_int_equal(r.type, MQ_WAL_PRODUCER);
	ps->n++;
	if (sscanf(r.name, "p%u", &i) == 1 && i >= 70000 - 100)
		ps->recent++;
	if (strcmp(r.name, "p0") == 0)
		ps->seq_p0 = r.seq;
	mq_wal_dec_fini(&dec);
	return GT_OK;
}

/* The head's producer table is bounded: beyond MQ_WAL_HEAD_MAX_PRODUCERS the least recently
 * updated half is forgotten, never a producer that just published. */
static void
test_mq_wal_head_producers_bounded_keep_recent(void **state)
{
	mq_wal_head h = {0};
	gt_buf      b;
	prod_seen   ps = {0};
	char        name[32];

	(void)state;
	gt_buf_init(&b);
	for (unsigned i = 0; i < 70000; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		assert_int_equal(mq_wal_head_producer(&h, 0, name, 10 + i), GT_OK);
		if (i % 1000 == 0) /* p0 keeps publishing */
			assert_int_equal(mq_wal_head_producer(&h, 0, "p0", 100000 + i), GT_OK);
	}
	assert_int_equal(mq_wal_head_producer(&h, 0, "p0", 5), GT_OK); /* a maximum */
	assert_true(h.nprods <= MQ_WAL_HEAD_MAX_PRODUCERS);
	mq_wal_head_encode(&h, &b);
	assert_int_equal(mq_wal_scan((uint8_t *)b.data, b.len, prod_scan, &ps, NULL), b.len);
	assert_int_equal((size_t)ps.n, h.nprods);
	assert_int_equal(ps.recent, 100);
	assert_int_equal(ps.seq_p0, 100000 + 69000);
	gt_buf_fini(&b);
	mq_wal_head_fini(&h);
}

/* Write two letters, then damage the record of the second one: torn (cut short) or
 * corrupted (one byte flipped). Recovery keeps the first, drops the second, truncates. */
static void
dead_tail_case(int torn)
{
	char        *dir = gt_test_tmpdir("mq-wal-dlq-tail");
	mq_wal_cfg   cfg = {dir, MQ_FSYNC_ALWAYS, GT_NS_PER_S, 1 << 20};
	mq_wal      *w;
	dlq_rec      r;
	dl_list      l;
	mq_dead_view d;
	mq_wal_stats ws;
	uint64_t     seqs[8];
	char         path[4200];
	struct stat  st;
	int          fd;

	w = dl_recover(&cfg, &r);
	mq_topic_free(r.t);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	dl_publish(w, 0, 2, 'a');
	d = letter("grp", 0, 0, 1, "one",
	           "\x0a\x01"
	           "a",
	           0);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	d = letter("grp", 0, 1, 1, "two",
	           "\x0a\x01"
	           "b",
	           1);
	assert_int_equal(mq_wal_dead(w, 0, &d), GT_OK);
	mq_wal_close(w);
	assert_int_equal(wal_files(dir, seqs, 8), 1);
	snprintf(path, sizeof(path), "%s/wal-%016llu.log", dir, (unsigned long long)seqs[0]);
	assert_int_equal(stat(path, &st), 0);
	if (torn) {
		assert_int_equal(truncate(path, st.st_size - 4), 0);
	} else {
		char b;
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &b, 1, st.st_size - 6), 1); /* inside "two" */
		b ^= 0x20;
		assert_int_equal(pwrite(fd, &b, 1, st.st_size - 6), 1);
		close(fd);
	}
	w = dl_recover(&cfg, &r);
	mq_wal_stats_get(w, &ws);
	assert_true(ws.truncated > 0);
	dl_get(r.t, &l);
	assert_int_equal(l.n, 1);
	assert_letter(&l, 0, "grp", 0, 0, 0, 1, "one",
	              "\x0a\x01"
	              "a",
	              0);
	assert_int_equal(r.originals, 1);
	/* Offset 1 was not dead-lettered after all: it is delivered again. */
	{
		mq_fetch_out o;
		mq_fetch_out_init(&o);
		assert_int_equal(mq_topic_fetch(r.t, "grp", "c", 10, 1 << 20, &o), GT_OK);
		assert_int_equal(o.n, 1);
		mq_fetch_out_fini(&o);
	}
	mq_topic_free(r.t);
	mq_wal_close(w);
	assert_int_equal(stat(path, &st), 0);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_mq_wal_torn_dead_record_truncated(void **state)
{
	(void)state;
	dead_tail_case(1);
}

static void
test_mq_wal_corrupt_dead_record_truncated(void **state)
{
	(void)state;
	dead_tail_case(0);
}

/* Fetch from the recovered topic: the attempt of each delivery (up to 4). */
static size_t
dl_fetch_attempts(mq_topic *t, unsigned *att)
{
	mq_fetch_out o;
	size_t       n;

	mq_fetch_out_init(&o);
	assert_int_equal(mq_topic_fetch(t, "grp", "c", 10, 1 << 20, &o), GT_OK);
	n = o.n;
	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++)
		att[i] = o.refs[i].attempt;
	mq_fetch_out_fini(&o);
	return n;
}

static void
test_mq_wal_attempts_survive_restart(void **state)
{
	char      *dir = gt_test_tmpdir("mq-wal-attempts");
	mq_wal_cfg cfg = {dir, MQ_FSYNC_ALWAYS, GT_NS_PER_S, 1 << 20};
	mq_wal    *w;
	dlq_rec    r;
	dl_list    l;
	unsigned   att[4];

	(void)state;
	w = dl_recover(&cfg, &r);
	mq_topic_free(r.t);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	dl_publish(w, 0, 3, 'a');
	/* Offset 0 was redelivered once (2 deliveries), offset 1 twice (3: the retries are
	 * used up), offset 2 was delivered once (not logged: first deliveries are not). */
	assert_int_equal(mq_wal_attempt(w, 0, "grp", 0, 0, 2), GT_OK);
	assert_int_equal(mq_wal_attempt(w, 0, "grp", 0, 1, 2), GT_OK);
	assert_int_equal(mq_wal_attempt(w, 0, "grp", 0, 1, 3), GT_OK);
	mq_wal_close(w);

	w = dl_recover(&cfg, &r);
	assert_int_equal(dl_fetch_attempts(r.t, att), 2);
	assert_int_equal(att[0], 3); /* offset 0: its last retry */
	assert_int_equal(att[1], 1); /* offset 2 */
	dl_get(r.t, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.group[0], "grp");
	assert_int_equal(l.v[0].id.offset, 1);
	assert_int_equal(l.v[0].attempts, 3);
	assert_string_equal(l.reason[0], "max retries exceeded");
	assert_true(l.v[0].len > 3); /* as stored: with the batch's timestamp appended */
	assert_memory_equal(l.msg[0],
	                    "\x0a\x01"
	                    "b",
	                    3);
	mq_topic_free(r.t);
	mq_wal_close(w);
	gt_test_rmrf(dir);
	free(dir);
}

/* DELIVERED records (first deliveries, as runs) restore attempt 1, so those messages come
 * back as attempt 2; a later ATTEMPT record of the same offset wins. */
static void
test_mq_wal_first_deliveries_survive_restart(void **state)
{
	char        *dir = gt_test_tmpdir("mq-wal-delivered");
	mq_wal_cfg   cfg = {dir, MQ_FSYNC_ALWAYS, GT_NS_PER_S, 1 << 20};
	mq_wal      *w;
	dlq_rec      r;
	unsigned     att[4];
	const mq_run runs[2] = {{0, 0, 1}, {0, 1, 2}}; /* offsets 0, 1, 2 */

	(void)state;
	w = dl_recover(&cfg, &r);
	mq_topic_free(r.t);
	assert_int_equal(mq_wal_start(w, NULL, NULL), GT_OK);
	assert_int_equal(mq_wal_topic(w, 0, "t"), GT_OK);
	assert_int_equal(mq_wal_group(w, 0, "grp"), GT_OK);
	dl_publish(w, 0, 4, 'a');
	assert_int_equal(mq_wal_delivered(w, 0, "grp", runs, 2), GT_OK);
	assert_int_equal(mq_wal_delivered(w, 0, "grp", runs, 0), GT_OK); /* nothing */
	assert_int_equal(mq_wal_attempt(w, 0, "grp", 0, 0, 2), GT_OK);
	mq_wal_close(w);

	w = dl_recover(&cfg, &r);
	assert_int_equal(dl_fetch_attempts(r.t, att), 4);
	assert_int_equal(att[0], 3); /* redelivered before: its ATTEMPT record */
	assert_int_equal(att[1], 2); /* delivered once before the restart */
	assert_int_equal(att[2], 2);
	assert_int_equal(att[3], 1); /* never delivered */
	mq_topic_free(r.t);
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
	    cmocka_unit_test(test_mq_wal_dead_letters_trim_and_replay_survive_restarts),
	    cmocka_unit_test(test_mq_wal_letters_relogged_at_segment_heads_survive_deletion),
	    cmocka_unit_test(test_mq_wal_offsets_continue_after_segment_deletion),
	    cmocka_unit_test(test_mq_wal_producer_sequences_survive_segment_deletion),
	    cmocka_unit_test(test_mq_wal_head_producers_bounded_keep_recent),
	    cmocka_unit_test(test_mq_wal_torn_dead_record_truncated),
	    cmocka_unit_test(test_mq_wal_corrupt_dead_record_truncated),
	    cmocka_unit_test(test_mq_wal_attempts_survive_restart),
	    cmocka_unit_test(test_mq_wal_first_deliveries_survive_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
