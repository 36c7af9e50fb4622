/* bench_gw_ws: WebSocket fan-out of gt-gateway. Opens N clients subscribed to every GPU,
 * publishes records to gt-mq at a steady rate (timestamp = publish time), and measures, for
 * every (client, record) frame, publish -> arrival delay. The path is gt-mq -> gt-collector
 * (store, live PUB) -> gt-gateway (SUB, encode once per filter, queue per client) -> client.
 *
 *   bench_gw_ws --gw-port P --mq-url tcp://... [--clients 100] [--rate 5000] [--seconds 10]
 *               [--gpus 64]
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt/gt_rpc.h"
#include "gt/gt_time.h"
#include "gt_wsc.h"
#include "gtpb/v1/mq.pb-c.h"
#include "gtpb/v1/telemetry.pb-c.h"

static int      g_port, g_clients = 100, g_rate = 5000, g_seconds = 10, g_gpus = 64;
static const char *g_mq;
static gt_wsc **g_ws;
static int64_t *g_delay; /* ns, every reader's, merged */
static size_t   g_n;
static volatile int    g_stop;

#define READERS 2

typedef struct rd {
	int      lo;       /* clients lo, lo + READERS, ... */
	int64_t *delay;    /* ns, one per record frame */
	size_t   n, cap;
} rd;

/* Reads the clients of one reader until g_stop: each record frame's publish -> arrival delay
 * (kept per reader, merged at the end: no lock on the hot path). */
static void *
reader(void *arg)
{
	rd *r = arg;
	int i;

	while (!g_stop) {
		for (i = r->lo; i < g_clients; i += READERS) {
			char *m;

			while ((m = gt_wsc_recv(g_ws[i], 0)) != NULL) {
				const char *p;

				if (strncmp(m, "{\"type\":\"record\"", 16) == 0 &&
				    (p = strstr(m, "\"timestamp_ns\":")) != NULL) {
					int64_t ts = strtoll(p + 15, NULL, 10), d = gt_now_ns() - ts;

					if (r->n == r->cap) {
						r->cap = r->cap ? r->cap * 2 : 1 << 20;
						r->delay = realloc(r->delay, r->cap * sizeof(*r->delay));
					}
					r->delay[r->n++] = d;
				}
				free(m);
			}
		}
		gt_sleep_ns(200 * GT_NS_PER_US);
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
publish(gt_rpc_client *cli, size_t n, uint64_t *seq, uint64_t *idx)
{
	Gtpb__V1__PublishRequest req = GTPB__V1__PUBLISH_REQUEST__INIT;
	Gtpb__V1__Message       *msgs = calloc(n, sizeof(*msgs)), **mp = calloc(n, sizeof(*mp));
	char (*keys)[32] = calloc(n, 32);
	gt_rpc_stub       stub;
	ProtobufCMessage *out = NULL;
	size_t            i;

	for (i = 0; i < n; i++) {
		Gtpb__V1__TelemetryRecord               r = GTPB__V1__TELEMETRY_RECORD__INIT;
		Gtpb__V1__TelemetryRecord__MetricsEntry me, *mep = &me;
		uint64_t                                k = (*idx)++;

		snprintf(keys[i], 32, "GPU-bench-%" PRIu64, k % (uint64_t)g_gpus);
		gtpb__v1__telemetry_record__metrics_entry__init(&me);
		me.key = "temperature";
		me.value = (double)(k % 90);
		r.timestamp_ns = gt_now_ns();
		r.gpu_key = keys[i];
		r.hostname = "bench";
		r.uuid = keys[i];
		r.model = "NVIDIA H100 80GB HBM3";
		r.device = "nvidia0";
		r.n_metrics = 1;
		r.metrics = &mep;
		gtpb__v1__message__init(&msgs[i]);
		msgs[i].key = keys[i];
		msgs[i].payload.len = gtpb__v1__telemetry_record__get_packed_size(&r);
		msgs[i].payload.data = malloc(msgs[i].payload.len);
		gtpb__v1__telemetry_record__pack(&r, msgs[i].payload.data);
		mp[i] = &msgs[i];
	}
	req.topic = "gpu-telemetry";
	req.messages = mp;
	req.n_messages = n;
	req.producer_id = "bench-gw-ws";
	req.sequence = ++*seq;
	req.omit_positions = 1;
	gt_rpc_stub_init(&stub, cli, &gtpb__v1__message_queue__descriptor, 5 * GT_NS_PER_S);
	if (gt_rpc_call_by_name(&stub, "Publish", &req.base, &out) == GT_OK)
		protobuf_c_message_free_unpacked(out, NULL);
	else
		fprintf(stderr, "publish: %s\n", stub.status.message);
	for (i = 0; i < n; i++)
		free(msgs[i].payload.data);
	free(msgs);
	free(mp);
	free(keys);
}

int
main(int argc, char **argv)
{
	gt_rpc_client *cli;
	pthread_t      th[READERS];
	rd             rds[READERS] = {{0}};
	uint64_t       seq = (uint64_t)gt_now_ns(), idx = 0, sent = 0;
	int64_t        t0, tick = 10 * GT_NS_PER_MS;
	int            i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--gw-port"))
			g_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--mq-url"))
			g_mq = argv[i + 1];
		else if (!strcmp(argv[i], "--clients"))
			g_clients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			g_rate = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			g_seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--gpus"))
			g_gpus = atoi(argv[i + 1]);
	}
	if (g_port <= 0 || g_mq == NULL) {
		fprintf(stderr, "usage: bench_gw_ws --gw-port P --mq-url URL [--clients N] [--rate R] "
		                "[--seconds S] [--gpus G]\n");
		return 2;
	}
	g_ws = calloc((size_t)g_clients, sizeof(*g_ws));
	for (i = 0; i < g_clients; i++) {
		char *m;

		if ((g_ws[i] = gt_wsc_open(g_port, "/ws", 0)) == NULL) {
			fprintf(stderr, "ws connect %d failed\n", i);
			return 1;
		}
		free(gt_wsc_recv(g_ws[i], GT_NS_PER_S)); /* hello */
		gt_wsc_send(g_ws[i], "{\"subscribe\":{\"gpus\":[\"*\"]}}");
		gt_wsc_send(g_ws[i], "{\"ping\":0}");
		while ((m = gt_wsc_recv(g_ws[i], GT_NS_PER_S)) != NULL && strstr(m, "pong") == NULL)
			free(m);
		free(m);
	}
	if (gt_rpc_client_open(&cli, g_mq, NULL) != GT_OK)
		return 1;
	for (i = 0; i < READERS; i++) {
		rds[i].lo = i;
		pthread_create(&th[i], NULL, reader, &rds[i]);
	}
	t0 = gt_mono_ns();
	while (gt_mono_ns() - t0 < (int64_t)g_seconds * GT_NS_PER_S) {
		int64_t  due = (gt_mono_ns() - t0) * g_rate / GT_NS_PER_S;
		uint64_t n = due > (int64_t)sent ? (uint64_t)due - sent : 0;

		if (n > 0) {
			publish(cli, n, &seq, &idx);
			sent += n;
		}
		gt_sleep_ns(tick);
	}
	gt_sleep_ns(2 * GT_NS_PER_S); /* let the tail arrive */
	g_stop = 1;
	for (i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		g_delay = realloc(g_delay, (g_n + rds[i].n + 1) * sizeof(*g_delay));
		memcpy(g_delay + g_n, rds[i].delay, rds[i].n * sizeof(*g_delay));
		g_n += rds[i].n;
		free(rds[i].delay);
	}
	qsort(g_delay, g_n, sizeof(*g_delay), cmp64);
	printf("clients %d  rate %d records/s  published %" PRIu64 "  frames %zu (expected %" PRIu64
	       ", %.1f%%)\n",
	       g_clients, g_rate, sent, g_n, sent * (uint64_t)g_clients,
	       sent ? 100.0 * (double)g_n / (double)(sent * (uint64_t)g_clients) : 0.0);
	if (g_n > 0)
		printf("publish -> WebSocket delay: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
		       (double)g_delay[g_n / 2] / 1e6, (double)g_delay[g_n * 99 / 100] / 1e6,
		       (double)g_delay[g_n - 1] / 1e6);
	for (i = 0; i < g_clients; i++)
		gt_wsc_close(g_ws[i]);
	gt_rpc_client_close(cli);
	free(g_ws);
	free(g_delay);
	return 0;
}
