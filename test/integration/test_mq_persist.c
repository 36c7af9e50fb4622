/* test_mq_persist.c - gt-mq --persistence: kill -9 during a publish stream loses no
 * confirmed publish and no ack; torn/corrupted WAL tails are truncated and reported; fully
 * acked segments are deleted. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gt/gt_time.h"
#include "gt_test.h"
#include "test_mq_util.h"

#define BATCH 100

static int
count_segments(const char *dir, char *last, size_t lastlen)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	int            n = 0;

	if (d == NULL)
		return -1;
	if (last)
		last[0] = 0;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "wal-", 4) != 0)
			continue;
		n++;
		if (last && strcmp(de->d_name, last) > 0)
			snprintf(last, lastlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

typedef struct pub_ctx {
	tmq        *m;
	atomic_long confirmed; /* batches confirmed: seq 1..confirmed */
	atomic_int  stop;
} pub_ctx;

static void *
stream_publisher(void *arg)
{
	pub_ctx *c = arg;

	while (!atomic_load(&c->stop)) {
		long b = atomic_load(&c->confirmed);
		if (tmq_publish(c->m, "pt", "prod", (uint64_t)b + 1, (uint64_t)b * BATCH, BATCH, 13,
		                100, NULL) != GT_RPC_OK)
			break;
		atomic_store(&c->confirmed, b + 1);
	}
	return NULL;
}

static void
kill9_case(const char *fsync_flag)
{
	char       *dir = gt_test_tmpdir("mq-persist");
	char        pflag[512];
	const char *flags[] = {"--topics=pt", "--persistence",     pflag,
	                       fsync_flag,    "--ack-timeout=30s", NULL};
	tmq         m;
	pub_ctx     c;
	pthread_t   th;
	uint8_t    *seen;
	long        confirmed;
	size_t      acked_upto = 2000, got = 0, max_seq;
	int64_t     epoch1, epoch2;
	int         idle = 0;

	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	tmq_start(&m, flags);
	epoch1 = gt_proc_ready_int(m.proc, "epoch");
	/* The group exists, then 30 confirmed batches. */
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1, 0, &r), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	atomic_store(&c.confirmed, 0);
	atomic_store(&c.stop, 0);
	c.m = &m;
	for (int b = 0; b < 30; b++) {
		assert_int_equal(tmq_publish(&m, "pt", "prod", (uint64_t)b + 1, (uint64_t)b * BATCH,
		                             BATCH, 13, 100, NULL),
		                 GT_RPC_OK);
		atomic_store(&c.confirmed, b + 1);
	}
	/* Ack exactly seq 0..1999; hold 1000 more unacked. */
	{
		size_t n = 0;
		while (n < 3000) {
			Gtpb__V1__FetchResponse *r;
			Gtpb__V1__DeliveryId   **ids;
			size_t                   k = 0;
			assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 500, 100, &r), GT_RPC_OK);
			ids = calloc(r->n_deliveries + 1, sizeof(*ids));
			for (size_t i = 0; i < r->n_deliveries; i++)
				if (tmq_payload_seq(r->deliveries[i]->message) <
				    (int64_t)acked_upto)
					ids[k++] = r->deliveries[i]->id;
			n += r->n_deliveries;
			if (k)
				assert_int_equal(tmq_ack_ids(&m, "pt", "g", ids, k, NULL),
				                 GT_RPC_OK);
			free(ids);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		}
	}
	/* kill -9 in the middle of a publish stream. */
	tmq_timeout_ns = 2 * GT_NS_PER_S;
	pthread_create(&th, NULL, stream_publisher, &c);
	gt_sleep_ns(300 * GT_NS_PER_MS);
	kill(gt_proc_pid(m.proc), SIGKILL);
	pthread_join(th, NULL);
	confirmed = atomic_load(&c.confirmed);
	assert_true(confirmed > 30);
	tmq_kill(&m);
	tmq_timeout_ns = 10 * GT_NS_PER_S;

	/* Restart on the same directory. */
	tmq_start(&m, flags);
	epoch2 = gt_proc_ready_int(m.proc, "epoch");
	assert_int_equal(epoch1, epoch2);
	assert_int_equal(gt_proc_wait_log(m.proc, "wal.recovered", GT_NS_PER_S, NULL, NULL), GT_OK);
	max_seq = (size_t)(confirmed + 1) * BATCH; /* an unconfirmed last batch may have made it */
	seen = calloc(max_seq, 1);
	while (idle < 3) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1000, 100, &r), GT_RPC_OK);
		assert_int_equal(r->epoch, (uint64_t)epoch1);
		if (r->n_deliveries == 0)
			idle++;
		for (size_t i = 0; i < r->n_deliveries; i++) {
			int64_t s = tmq_payload_seq(r->deliveries[i]->message);
			assert_true(s >= (int64_t)acked_upto); /* acked ones never come back */
			assert_true((size_t)s < max_seq);
			assert_int_equal(seen[s], 0); /* stored once */
			assert_true(r->deliveries[i]->message->timestamp_ns > 0);
			seen[s] = 1;
			got++;
		}
		assert_int_equal(tmq_ack(&m, "pt", "g", "c", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	/* Every confirmed message that was not acked (incl. the 1000 pending ones) is back. */
	for (size_t s = acked_upto; s < (size_t)confirmed * BATCH; s++)
		assert_int_equal(seen[s], 1);
	/* A resend of the last confirmed batch is recognised. */
	{
		Gtpb__V1__PublishResponse *pr;
		assert_int_equal(tmq_publish(&m, "pt", "prod", (uint64_t)confirmed,
		                             (uint64_t)(confirmed - 1) * BATCH, BATCH, 13, 100,
		                             &pr),
		                 GT_RPC_OK);
		assert_true(pr->duplicate);
		protobuf_c_message_free_unpacked(&pr->base, NULL);
	}
	tmq_stop(&m);
	free(seen);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_mq_kill9_keeps_confirmed_publishes_and_acks(void **state)
{
	(void)state;
	kill9_case("--fsync=always");
}

static void
test_mq_kill9_with_fsync_interval_keeps_confirmed(void **state)
{
	(void)state;
	kill9_case("--fsync=interval");
}

static void
test_mq_torn_wal_tail_truncated_and_reported(void **state)
{
	char       *dir = gt_test_tmpdir("mq-torn");
	char        pflag[512], last[256], path[1024];
	const char *flags[] = {"--topics=pt", "--persistence", pflag, "--fsync=never", NULL};
	tmq         m;
	int         fd;
	size_t      got = 0;
	int         idle = 0;

	(void)state;
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	tmq_start(&m, flags);
	for (int b = 0; b < 5; b++)
		assert_int_equal(tmq_publish(&m, "pt", "p", (uint64_t)b + 1, (uint64_t)b * BATCH,
		                             BATCH, 5, 50, NULL),
		                 GT_RPC_OK);
	tmq_stop(&m);
	/* A torn record: a header announcing 1000 bytes, then 10 bytes; then garbage. */
	assert_true(count_segments(dir, last, sizeof(last)) >= 1);
	snprintf(path, sizeof(path), "%s/%s", dir, last);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\xe8\x03\x00\x00\x01\x02\x03\x04garbage!!", 18), 18);
	close(fd);
	tmq_start(&m, flags);
	assert_int_equal(gt_proc_wait_log(m.proc, "wal.truncated", GT_NS_PER_S, NULL, NULL), GT_OK);
	while (idle < 2) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1000, 50, &r), GT_RPC_OK);
		if (r->n_deliveries == 0)
			idle++;
		got += r->n_deliveries;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(got, 5 * BATCH);
	tmq_stop(&m);

	/* Flip a byte inside the last record: the CRC catches it, the record and what follows are
	 * dropped, the rest is served. */
	count_segments(dir, last, sizeof(last));
	snprintf(path, sizeof(path), "%s/%s", dir, last);
	{
		struct stat st;
		char        b;
		assert_int_equal(stat(path, &st), 0);
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		/* the newest segment holds the group declaration and acks only: corrupt the
		 * oldest data instead if it is small */
		assert_int_equal(pread(fd, &b, 1, st.st_size - 3), 1);
		b ^= 0x5a;
		assert_int_equal(pwrite(fd, &b, 1, st.st_size - 3), 1);
		close(fd);
	}
	tmq_start(&m, flags);
	assert_int_equal(gt_proc_wait_log(m.proc, "wal.truncated", GT_NS_PER_S, NULL, NULL), GT_OK);
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 10, 0, &r), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

static void
test_mq_fully_acked_segments_deleted(void **state)
{
	char       *dir = gt_test_tmpdir("mq-gc");
	char        pflag[512];
	const char *flags[] = {"--topics=pt",      "--persistence",         pflag,
	                       "--fsync=interval", "--segment-bytes=65536", NULL};
	tmq         m;
	int         before, after = 0;
	size_t      got = 0;
	int64_t     deadline;

	(void)state;
	snprintf(pflag, sizeof(pflag), "--persistence-path=%s", dir);
	tmq_start(&m, flags);
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1, 0, &r), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	for (int b = 0; b < 40; b++) /* 40 x 100 x ~230 B = ~920 KB: about 14 segments */
		assert_int_equal(tmq_publish(&m, "pt", "p", (uint64_t)b + 1, (uint64_t)b * BATCH,
		                             BATCH, 5, 200, NULL),
		                 GT_RPC_OK);
	gt_sleep_ns(300 * GT_NS_PER_MS);
	before = count_segments(dir, NULL, 0);
	assert_true(before >= 5);
	while (got < 40 * BATCH) {
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1000, 100, &r), GT_RPC_OK);
		got += r->n_deliveries;
		assert_int_equal(tmq_ack(&m, "pt", "g", "c", r, NULL), GT_RPC_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	deadline = gt_mono_ns() + 5 * GT_NS_PER_S;
	while (gt_mono_ns() < deadline) {
		after = count_segments(dir, NULL, 0);
		if (after <= 2)
			break;
		gt_sleep_ns(50 * GT_NS_PER_MS);
	}
	assert_true(after <= 2);
	/* The log lines reach us through a reader thread, possibly after the files are gone. */
	while (gt_proc_count_log(m.proc, "wal.segment_deleted") < (size_t)(before - 2) &&
	       gt_mono_ns() < deadline + 5 * GT_NS_PER_S)
		gt_sleep_ns(20 * GT_NS_PER_MS);
	assert_true(gt_proc_count_log(m.proc, "wal.segment_deleted") >= (size_t)(before - 2));
	tmq_stop(&m);
	/* Nothing comes back after a restart: all acked. */
	tmq_start(&m, flags);
	{
		Gtpb__V1__FetchResponse *r;
		assert_int_equal(tmq_fetch(&m, "pt", "g", "c", 1000, 100, &r), GT_RPC_OK);
		assert_int_equal(r->n_deliveries, 0);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	tmq_stop(&m);
	gt_test_rmrf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_mq_kill9_with_fsync_interval_keeps_confirmed,
	                              tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_kill9_keeps_confirmed_publishes_and_acks,
	                              tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_torn_wal_tail_truncated_and_reported, tmq_cleanup),
	    cmocka_unit_test_teardown(test_mq_fully_acked_segments_deleted, tmq_cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
