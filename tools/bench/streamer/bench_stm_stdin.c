/* bench-stm-stdin: latency from a row written to gt-streamer's standard input (--csv -) to the
 * record stored by gt-collector, at a steady row rate.
 *
 *   bench-stm-stdin BIN_DIR [RATE=1000] [SECONDS=10] [LINGER=20ms]
 *
 * Starts gt-mq, gt-collector (live feed on) and gt-streamer --csv - on loopback (the streamer's
 * stdin is a FIFO this program writes to), writes RATE rows/s (wide format, 8 GPUs, a unique
 * source timestamp per row) for SECONDS, and subscribes to the collector's live feed, which
 * sends every record once it is stored: latency = feed arrival - write() of the row. The first
 * second is warm-up and not counted. Prints p50/p90/p99/max and how many rows arrived.
 */
#include <fcntl.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt/gt_time.h"
#include "gt_proc.h"
#include "gt_test.h"
#include "gtpb/v1/telemetry.pb-c.h"

#define BASE_MS 1764633600000LL

static int64_t   *sent, *got;
static long       nrows;
static atomic_int stop_rx;

static void *
rx_main(void *arg)
{
	nng_socket *sub = arg;

	while (!atomic_load(&stop_rx)) {
		nng_msg *m;
		if (nng_recvmsg(*sub, &m, 0) != 0)
			continue; /* receive timeout: check stop_rx */
		{
			int64_t                   now = gt_mono_ns();
			const char               *p = nng_msg_body(m);
			size_t                    len = nng_msg_len(m), kl = strnlen(p, len);
			Gtpb__V1__TelemetryBatch *b = NULL;

			if (kl < len)
				b = gtpb__v1__telemetry_batch__unpack(NULL, len - kl - 1,
				    (const uint8_t *)p + kl + 1);
			for (size_t i = 0; b && i < b->n_records; i++) {
				long idx = (long)(b->records[i]->timestamp_ns / 1000000 - BASE_MS);
				if (idx >= 0 && idx < nrows && got[idx] == 0)
					got[idx] = now;
			}
			if (b)
				gtpb__v1__telemetry_batch__free_unpacked(b, NULL);
		}
		nng_msg_free(m);
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static gt_proc *
start(const char *const *argv, const char *const *env)
{
	gt_proc *p;

	if (gt_proc_start(&p, argv, env) != GT_OK || gt_proc_wait_ready(p, 20 * GT_NS_PER_S) != GT_OK) {
		fprintf(stderr, "bench-stm-stdin: %s did not start\n", argv[0]);
		exit(1);
	}
	return p;
}

int
main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : NULL;
	double      rate = argc > 2 ? atof(argv[2]) : 1000;
	double      secs = argc > 3 ? atof(argv[3]) : 10;
	const char *linger = argc > 4 ? argv[4] : "20ms";
	char       *dir, fifo[600], data[600], mqf[300], lingf[64], env0[700];
	gt_proc    *mq, *col, *stm;
	char       *mq_url, *pub_url;
	nng_socket  sub;
	pthread_t   rx;
	int         fd;
	long        warm, n = 0, lost = 0;
	int64_t    *lat, t0;

	if (bin == NULL || rate <= 0 || secs <= 1) {
		fprintf(stderr, "usage: bench-stm-stdin BIN_DIR [RATE] [SECONDS>1] [LINGER]\n");
		return 2;
	}
	setenv("GT_BIN_DIR", bin, 1);
	signal(SIGPIPE, SIG_IGN);
	nrows = (long)(rate * secs);
	warm = (long)rate;
	sent = calloc((size_t)nrows, sizeof(*sent));
	got = calloc((size_t)nrows, sizeof(*got));
	lat = calloc((size_t)nrows, sizeof(*lat));
	dir = gt_test_tmpdir("bench-stm-stdin");
	snprintf(fifo, sizeof(fifo), "%s/stdin.fifo", dir);
	snprintf(data, sizeof(data), "%s/col", dir);
	if (mkfifo(fifo, 0600) != 0)
		return 1;
	{
		const char *a[] = {"gt-mq", "--port", "0", "--bind", "127.0.0.1", "--rpc-url",
		    "tcp://127.0.0.1:0", "--pub-url", "", NULL};
		mq = start(a, NULL);
		mq_url = gt_proc_ready_str(mq, "rpc_url");
	}
	{
		const char *a[] = {"gt-collector", "--api-port", "0", "--bind", "127.0.0.1", "--rpc-url",
		    "tcp://127.0.0.1:0", "--pub-url", "tcp://127.0.0.1:0", "--mq-url", mq_url,
		    "--data-dir", data, "--consumer", "bench", NULL};
		col = start(a, NULL);
		pub_url = gt_proc_ready_str(col, "pub_url");
	}
	if (nng_sub0_open(&sub) != 0 || nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
	    nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 100) != 0 || nng_dial(sub, pub_url, NULL, 0) != 0) {
		fprintf(stderr, "bench-stm-stdin: cannot subscribe to %s\n", pub_url);
		return 1;
	}
	pthread_create(&rx, NULL, rx_main, &sub);
	snprintf(mqf, sizeof(mqf), "--mq-url=%s", mq_url);
	snprintf(lingf, sizeof(lingf), "--linger=%s", linger);
	snprintf(env0, sizeof(env0), "STM_STDIN=%s", fifo);
	{
		const char *a[] = {"/bin/sh", "-c", "exec \"$GT_BIN_DIR/gt-streamer\" \"$@\" < \"$STM_STDIN\"",
		    "gt-streamer", "--csv=-", mqf, lingf, "--http-port=-1", "--rpc-url=", NULL};
		const char *e[] = {env0, NULL};
		if (gt_proc_start(&stm, a, e) != GT_OK)
			return 1;
		if ((fd = open(fifo, O_WRONLY)) < 0 || gt_proc_wait_ready(stm, 20 * GT_NS_PER_S) != GT_OK)
			return 1;
	}
	{
		const char h[] = "timestamp,gpu_id,hostname,uuid,temperature,power_draw\n";
		if (write(fd, h, sizeof(h) - 1) != (ssize_t)sizeof(h) - 1)
			return 1;
	}
	t0 = gt_mono_ns();
	for (long i = 0; i < nrows; i++) {
		char    row[160];
		int     len;
		int64_t due = t0 + (int64_t)((double)i * 1e9 / rate), now = gt_mono_ns();
		if (due > now)
			gt_sleep_ns(due - now);
		len = snprintf(row, sizeof(row), "%lld,%ld,bench-host,GPU-bench-%ld,%ld,%.2f\n",
		    BASE_MS + i, i % 8, i % 8, 30 + i % 50, 250.0 + (double)(i % 100));
		sent[i] = gt_mono_ns();
		if (write(fd, row, (size_t)len) != len)
			return 1;
	}
	{
		int64_t end = gt_mono_ns() + 10 * GT_NS_PER_S;
		while (gt_mono_ns() < end && got[nrows - 1] == 0)
			gt_sleep_ns(20 * GT_NS_PER_MS);
		gt_sleep_ns(200 * GT_NS_PER_MS);
	}
	close(fd);
	gt_proc_wait_exit(stm, 20 * GT_NS_PER_S);
	atomic_store(&stop_rx, 1);
	pthread_join(rx, NULL);
	for (long i = warm; i < nrows; i++) {
		if (got[i] == 0)
			lost++;
		else
			lat[n++] = got[i] - sent[i];
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp64);
	printf("rate %.0f rows/s for %.0f s, linger %s: %ld rows measured (after %ld warm-up), %ld "
	       "missing\n",
	    rate, secs, linger, n, warm, lost);
	if (n > 0)
		printf("row written -> record stored at the collector: p50 %.2f ms, p90 %.2f ms, p99 %.2f "
		       "ms, max %.2f ms\n",
		    (double)lat[n / 2] / 1e6, (double)lat[n * 90 / 100] / 1e6,
		    (double)lat[n * 99 / 100] / 1e6, (double)lat[n - 1] / 1e6);
	nng_close(sub);
	gt_proc_stop(col, SIGTERM, 20 * GT_NS_PER_S);
	gt_proc_stop(mq, SIGTERM, 20 * GT_NS_PER_S);
	gt_proc_free(stm);
	gt_proc_free(col);
	gt_proc_free(mq);
	gt_test_rmrf(dir);
	free(dir);
	free(mq_url);
	free(pub_url);
	free(sent);
	free(got);
	free(lat);
	return lost == 0 ? 0 : 1;
}
